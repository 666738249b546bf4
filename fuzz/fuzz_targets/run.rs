//! Any bytes → assemble and, if that works, run sandboxed with a reduction
//! limit: never panics. See `fuzz/src/oracle.rs`.
#![no_main]

#[path = "../src/oracle.rs"]
mod oracle;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    oracle::run(data);
});
