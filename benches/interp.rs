//! Interpreter and JIT benchmarks (criterion): `cargo bench --bench interp`.
//! The counting loop and fib run both interpreted and with `--jit`
//! (everything compiled before the run, so compile time is included).
//!
//! Each benchmark assembles its program once, outside the timing loop, and
//! times `ttvm::run` on it with output thrown away. The programs are the
//! ones in `benches/programs/`, resized by text substitution where a group
//! compares sizes. See docs/PERFORMANCE.md for results.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::sync::Arc;

#[path = "common/mod.rs"]
mod common;
use common::{load, resize};
use std::time::Duration;

const COUNT: &str = include_str!("programs/count.ttvm");
const FIB: &str = include_str!("programs/fib30.ttvm");
const CLOSURES: &str = include_str!("programs/closures.ttvm");
const APPEND: &str = include_str!("programs/append.ttvm");
const CONCAT: &str = include_str!("programs/concat.ttvm");

fn run(program: &Arc<ttvm::Program>) {
    // One scheduler, not pinned: these programs run one process, and this
    // measures the interpreter (the `ttvm` command's default SMP start-up
    // is timed separately in docs/PERFORMANCE.md); unpinned, the OS can
    // move it off a core another job keeps busy.
    let config = ttvm::RunConfig {
        schedulers: 1,
        pin: false,
        ..Default::default()
    };
    common::run(program, config);
}

/// As [`run`], with every function compiled first (`--jit --jit-threshold 0`).
fn run_jit(program: &Arc<ttvm::Program>) {
    let config = ttvm::RunConfig {
        schedulers: 1,
        pin: false,
        jit: true,
        jit_threshold: 0,
        ..Default::default()
    };
    common::run(program, config);
}

/// The counting loop of count.ttvm (8 instructions per iteration) at 1e7
/// iterations; throughput is in instructions.
fn counting_loop(c: &mut Criterion) {
    let mut g = c.benchmark_group("count");
    g.sample_size(10);
    let n: u64 = 10_000_000;
    let p = load(
        "count.ttvm",
        &resize(COUNT, "PUSH_INT 100000000", &format!("PUSH_INT {n}")),
    );
    g.throughput(Throughput::Elements(8 * n));
    g.bench_function(BenchmarkId::new("loop", n), |b| b.iter(|| run(&p)));
    g.bench_function(BenchmarkId::new("loop_jit", n), |b| b.iter(|| run_jit(&p)));
    g.finish();
}

fn fib(c: &mut Criterion) {
    let mut g = c.benchmark_group("fib");
    for n in [25u32, 30] {
        if n >= 30 {
            g.sample_size(10);
        }
        let p = load(
            "fib.ttvm",
            &resize(FIB, "PUSH_INT 30\n", &format!("PUSH_INT {n}\n")),
        );
        g.bench_function(BenchmarkId::new("interp", n), |b| b.iter(|| run(&p)));
        g.bench_function(BenchmarkId::new("jit", n), |b| b.iter(|| run_jit(&p)));
    }
    g.finish();
}

/// 1,000,000 CALL_FUNCTIONs of a one-argument closure.
fn closures(c: &mut Criterion) {
    let mut g = c.benchmark_group("closures");
    g.sample_size(10);
    let p = load("closures.ttvm", CLOSURES);
    g.throughput(Throughput::Elements(1_000_000));
    g.bench_function("call_function_1e6", |b| b.iter(|| run(&p)));
    g.finish();
}

/// Building a list (APPEND) or a string (CONCAT) element by element at two
/// sizes: the time per element should not grow with the size.
fn building(c: &mut Criterion, group: &str, text: &str) {
    let mut g = c.benchmark_group(group);
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(3));
    for n in [10_000u64, 100_000] {
        let p = load(
            group,
            &resize(text, "PUSH_INT 100000\n", &format!("PUSH_INT {n}\n")),
        );
        g.throughput(Throughput::Elements(n));
        g.bench_function(BenchmarkId::from_parameter(n), |b| b.iter(|| run(&p)));
    }
    g.finish();
}

fn append(c: &mut Criterion) {
    building(c, "append", APPEND);
}

fn concat(c: &mut Criterion) {
    building(c, "concat", CONCAT);
}

/// Issue 15, item 3: APPEND, CONCAT, SET_INDEX and a map update in the
/// shapes of benches/programs/inplace/ (values computed in between, inside
/// a called function, in a spawned process's loop), at N and 10·N updates,
/// interpreted and JIT-compiled: the time should grow 10×, not 100×.
fn in_place(c: &mut Criterion) {
    const SHAPES: &[(&str, &str)] = &[
        (
            "append_computed",
            include_str!("programs/inplace/append_computed.ttvm"),
        ),
        (
            "append_function",
            include_str!("programs/inplace/append_function.ttvm"),
        ),
        (
            "append_process",
            include_str!("programs/inplace/append_process.ttvm"),
        ),
        (
            "concat_computed",
            include_str!("programs/inplace/concat_computed.ttvm"),
        ),
        (
            "concat_function",
            include_str!("programs/inplace/concat_function.ttvm"),
        ),
        (
            "concat_process",
            include_str!("programs/inplace/concat_process.ttvm"),
        ),
        (
            "set_index_computed",
            include_str!("programs/inplace/set_index_computed.ttvm"),
        ),
        (
            "set_index_function",
            include_str!("programs/inplace/set_index_function.ttvm"),
        ),
        (
            "set_index_process",
            include_str!("programs/inplace/set_index_process.ttvm"),
        ),
        (
            "set_field_computed",
            include_str!("programs/inplace/set_field_computed.ttvm"),
        ),
        (
            "set_field_function",
            include_str!("programs/inplace/set_field_function.ttvm"),
        ),
        (
            "set_field_process",
            include_str!("programs/inplace/set_field_process.ttvm"),
        ),
    ];
    let mut g = c.benchmark_group("in_place");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(2));
    for &(name, text) in SHAPES {
        for n in [20_000u64, 200_000] {
            let p = load(
                name,
                &resize(text, "\nPUSH_INT 20000\n", &format!("\nPUSH_INT {n}\n")),
            );
            g.throughput(Throughput::Elements(n));
            g.bench_function(BenchmarkId::new(name, n), |b| b.iter(|| run(&p)));
            g.bench_function(BenchmarkId::new(format!("{name}_jit"), n), |b| {
                b.iter(|| run_jit(&p))
            });
        }
    }
    g.finish();
}

criterion_group!(
    benches,
    counting_loop,
    fib,
    closures,
    append,
    concat,
    in_place
);
criterion_main!(benches);
