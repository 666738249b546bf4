//! Any bytes → the socket framing parser (issue 16): see
//! `oracle::framing` in `fuzz/src/oracle.rs`.
#![no_main]

#[path = "../src/oracle.rs"]
mod oracle;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    oracle::framing(data);
});
