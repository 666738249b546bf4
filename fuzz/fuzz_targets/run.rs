//! Bytes → a program, run sandboxed with a reduction limit and a process
//! cap: never a panic, a hang or a leaked process. A first byte of 0x80 or
//! more makes a generated valid program from the rest (`fuzz/src/gen/`),
//! and one of 0xC0 or more runs it a second time on two schedulers;
//! otherwise the bytes are program text, repaired line by line. See
//! `fuzz/src/oracle.rs`.
#![no_main]

#[path = "../src/oracle.rs"]
mod oracle;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    oracle::run_input(data);
});
