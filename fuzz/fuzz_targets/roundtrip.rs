//! Any program the assembler accepts, printed back as source and assembled
//! again, is the same program. See `fuzz/src/oracle.rs`.
#![no_main]

#[path = "../src/oracle.rs"]
mod oracle;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    oracle::roundtrip(data);
});
