//! Issue 14: objects as maps with run-time keys stay O(1) per operation on
//! average — n distinct keys set, read and deleted (from the oldest, the
//! worst case for an order-keeping map that shifts on delete) cost about
//! n times one key's work, not n². Release build (`cargo test --release
//! --test map_scaling`): 250,000 and 1,000,000 keys; debug build: a
//! quarter of that.
//!
//! Not a timing assertion on one run: the CPU time of the run with 4n keys
//! is compared with the run with n keys (children's CPU time from
//! `getrusage`, steadier than wall time on a busy machine). Linear work
//! gives a ratio near 4 (a little more: bigger hash tables miss the cache
//! more); a quadratic step gives 16. The bound is 10.

mod common;

use common::{scratch, ttvm_in};
use std::time::Duration;

const PROGRAM: &str = r#"
GET_ARGS
PUSH_INT 0
INDEX
TO_INT
STORE n
MAKE_OBJECT
STORE m
PUSH_INT 0
STORE i
LABEL set
LOAD m
LOAD i
LOAD i
TO_STR
SET_FIELD
STORE m
LOAD i
PUSH_INT 1
ADD
STORE i
LOAD i
LOAD n
LT
JNZ set
LOAD m
LEN
PRINT
PUSH_INT 0
STORE sum
PUSH_INT 0
STORE i
LABEL get
LOAD m
LOAD i
TO_STR
GET_FIELD
LOAD sum
ADD
STORE sum
LOAD i
PUSH_INT 1
ADD
STORE i
LOAD i
LOAD n
LT
JNZ get
LOAD sum
PRINT
PUSH_INT 0
STORE i
LABEL del
LOAD m
LOAD i
TO_STR
DELETE_FIELD
STORE m
LOAD i
PUSH_INT 1
ADD
STORE i
LOAD i
LOAD n
LT
JNZ del
LOAD m
LEN
PRINT
"#;

/// CPU time (user + system) of the waited-for children so far.
fn children_cpu() -> Duration {
    // SAFETY: getrusage fills the struct it is given.
    let u = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        assert_eq!(libc::getrusage(libc::RUSAGE_CHILDREN, &mut u), 0);
        u
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(u.ru_utime) + tv(u.ru_stime)
}

fn run(n: u64, jit: bool) -> Duration {
    let dir = scratch(&format!("map-scaling-{n}-{jit}"));
    std::fs::write(dir.join("m.ttvm"), PROGRAM).unwrap();
    let arg = n.to_string();
    let mut args = vec!["--no-smp"];
    if jit {
        args.push("--jit");
    }
    args.extend(["m.ttvm", "--", &arg]);
    let before = children_cpu();
    let r = ttvm_in(
        &dir,
        &args,
        Duration::from_secs(300),
        "a map operation is not O(1)",
    );
    let cpu = children_cpu() - before;
    assert_eq!(r.status, Some(0), "{r:?}");
    assert_eq!(r.stdout, format!("{n}\n{}\n0\n", n * (n - 1) / 2));
    cpu
}

#[test]
fn a_million_keys_set_read_and_deleted_in_linear_time() {
    let n = if cfg!(debug_assertions) {
        62_500
    } else {
        250_000
    };
    for jit in [false, true] {
        let small = run(n, jit);
        let big = run(4 * n, jit);
        let ratio = big.as_secs_f64() / small.as_secs_f64().max(1e-3);
        assert!(
            ratio < 10.0,
            "jit: {jit}: {n} keys took {small:?}, {} keys {big:?}: {ratio:.1}x",
            4 * n
        );
    }
}
