//! Any bytes → the assembler: never panics; errors render. See
//! `fuzz/src/oracle.rs`.
#![no_main]

#[path = "../src/oracle.rs"]
mod oracle;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    oracle::assemble(data);
});
