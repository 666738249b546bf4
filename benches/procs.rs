//! Process benchmarks (criterion): `cargo bench --bench procs`.
//!
//! The workloads of SPEC §4 on one scheduler: spawning processes that exit
//! at once, a 1000-process ring, ping-pong round trips. Sizes are reduced
//! from benches/programs/*.ttvm by text substitution; throughput is per
//! process, hop or round trip. Memory per idle process is measured by the
//! release binary (see docs/PERFORMANCE.md), not here.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::sync::Arc;

const SPAWN: &str = include_str!("programs/spawn.ttvm");
const RING: &str = include_str!("programs/ring.ttvm");
const PINGPONG: &str = include_str!("programs/pingpong.ttvm");

fn load(name: &str, text: &str) -> Arc<ttvm::Program> {
    match ttvm::load_source(name, text) {
        Ok(p) => Arc::new(p),
        Err(e) => panic!("{}", e.render()),
    }
}

fn resize(text: &str, from: &str, to: &str) -> String {
    assert_eq!(text.matches(from).count(), 1, "{from:?} must occur once");
    text.replacen(from, to, 1)
}

fn run(program: &Arc<ttvm::Program>) {
    let io = ttvm::Io {
        stdout: Box::new(std::io::sink()),
        stderr: Box::new(std::io::sink()),
        stdin: Box::new(std::io::empty()),
    };
    let result = ttvm::run(program.clone(), ttvm::RunConfig::default(), io);
    assert_eq!(result.exit_code, 0);
}

fn procs(c: &mut Criterion) {
    let mut g = c.benchmark_group("procs");
    g.sample_size(10);

    let n = 100_000u64;
    let p = load("spawn.ttvm", &resize(SPAWN, "PUSH_INT 1000000", &format!("PUSH_INT {n}")));
    g.throughput(Throughput::Elements(n));
    g.bench_function(BenchmarkId::new("spawn_exit", n), |b| b.iter(|| run(&p)));

    let hops = 100_000u64;
    let p = load("ring.ttvm", &resize(RING, "PUSH_INT 1000000", &format!("PUSH_INT {hops}")));
    g.throughput(Throughput::Elements(hops));
    g.bench_function(BenchmarkId::new("ring_1000_hops", hops), |b| b.iter(|| run(&p)));

    let trips = 100_000u64;
    let p = load(
        "pingpong.ttvm",
        &resize(PINGPONG, "PUSH_INT 1000000", &format!("PUSH_INT {trips}")),
    );
    g.throughput(Throughput::Elements(trips));
    g.bench_function(BenchmarkId::new("ping_pong", trips), |b| b.iter(|| run(&p)));
    g.finish();
}

criterion_group!(benches, procs);
criterion_main!(benches);
