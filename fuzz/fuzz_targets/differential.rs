//! The same program (generated, or text) with one scheduler under the
//! interpreter and under the JIT: the same stdout and exit status. See
//! `fuzz/src/oracle.rs`.
#![no_main]

#[path = "../src/oracle.rs"]
mod oracle;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    oracle::differential(data);
});
