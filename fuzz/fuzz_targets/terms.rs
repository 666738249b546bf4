//! Any bytes → the guarded Erlang term decoder and the conversion to
//! values (issue 17): see `oracle::terms` in `fuzz/src/oracle.rs`.
#![no_main]

#[path = "../src/oracle.rs"]
mod oracle;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    oracle::terms(data);
});
