//! The comparison workloads (`cargo bench --bench compare`,
//! benches/compare/workloads.rs) stay runnable without Erlang or Lua:
//! every workload's files exist and its size substitutions match its .ttvm
//! program, and the real-program .ttvm workloads of issue 15 print the
//! known result at a small size, interpreted and JIT-compiled. (The
//! Erlang and Lua versions print the same text; the harness compares all
//! of them when it runs.)

mod common;

use common::Ttvm;
use std::path::Path;

#[allow(dead_code)]
#[path = "../benches/compare/workloads.rs"]
mod workloads;

use workloads::WORKLOADS;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

#[test]
fn every_workload_has_its_files_and_its_substitutions_match() {
    let root = Path::new(ROOT);
    for w in WORKLOADS {
        let erl = root.join(format!("benches/erlang/{}.erl", w.erl_module));
        assert!(erl.exists(), "{}: {} is missing", w.name, erl.display());
        if let Some(lua) = w.lua {
            let lua = root.join(format!("benches/lua/{lua}.lua"));
            assert!(lua.exists(), "{}: {} is missing", w.name, lua.display());
        }
        let Ok(text) = std::fs::read_to_string(root.join(w.ttvm)) else {
            // Not written: the harness skips it with a note.
            continue;
        };
        for (from, _) in w.quick_subs.iter().chain(w.full_subs) {
            assert!(
                text.contains(from),
                "{}: substitution {from:?} not found in {}",
                w.name,
                w.ttvm
            );
        }
    }
}

/// `program` with `from` replaced by `to`, run with `flags`: its stdout.
fn run_at_size(program: &str, from: &str, to: &str, flags: &[&str]) -> String {
    let text = std::fs::read_to_string(Path::new(ROOT).join(program)).expect("reads");
    assert!(text.contains(from), "{program}: {from:?} not found");
    let name = Path::new(program).file_name().expect("file name");
    // A folder per program: the tests run in parallel, and one removing a
    // shared folder made another's write fail (NotFound).
    let dir = std::env::temp_dir().join(format!(
        "ttvm-bench-programs-{}-{}",
        std::process::id(),
        name.to_string_lossy()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, text.replace(from, to)).expect("writes");
    let out = Ttvm::new().args(flags).arg(&path).run();
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_dir(&dir);
    assert_eq!(
        out.status,
        Some(0),
        "{program} {flags:?}: {:?}\n{}",
        out.note,
        out.stderr
    );
    out.stdout
}

fn check(program: &str, from: &str, to: &str, expected: &str) {
    for flags in [
        &["--no-jit", "-S", "1"][..],
        &["--jit", "--jit-threshold", "0", "-S", "1"][..],
        &["--jit", "-S", "2"][..],
    ] {
        assert_eq!(
            run_at_size(program, from, to, flags),
            expected,
            "{program} at {to:?} with {flags:?}"
        );
    }
}

#[test]
fn binary_trees_prints_the_standard_lines() {
    check(
        "benches/programs/binarytrees.ttvm",
        "PUSH_INT 18\nSTORE n",
        "PUSH_INT 4\nSTORE n",
        "stretch tree of depth 7\t check: 255\n\
         64\t trees of depth 4\t check: 1984\n\
         16\t trees of depth 6\t check: 2032\n\
         long lived tree of depth 6\t check: 127\n",
    );
}

#[test]
fn fannkuch_prints_the_checksum_and_the_most_flips() {
    // The Benchmarks Game's published output for 7.
    check(
        "benches/programs/fannkuch.ttvm",
        "PUSH_INT 9\nSTORE n",
        "PUSH_INT 7\nSTORE n",
        "228\nPfannkuchen(7) = 16\n",
    );
}

#[test]
fn n_body_prints_the_energy_before_and_after() {
    // The Benchmarks Game's published output for 1000.
    check(
        "benches/programs/nbody.ttvm",
        "PUSH_INT 500000\nSTORE n",
        "PUSH_INT 1000\nSTORE n",
        "-0.169075164\n-0.169087605\n",
    );
}

#[test]
fn spectral_norm_prints_nine_decimals() {
    // The Benchmarks Game's published output for 100.
    check(
        "benches/programs/spectralnorm.ttvm",
        "PUSH_INT 800\nSTORE n",
        "PUSH_INT 100\nSTORE n",
        "1.274219991\n",
    );
}

#[test]
fn word_frequency_prints_the_top_ten() {
    // From a straightforward model (Python) of the algorithm.
    check(
        "benches/programs/wordfreq.ttvm",
        "PUSH_INT 1000000\nSTORE n",
        "PUSH_INT 1000\nSTORE n",
        "1000 words, 62 distinct\nand 36\nthe 35\nfor 34\na 33\nin 33\nit 31\nis 30\n\
         that 29\nwas 28\nto 27\n",
    );
}

#[test]
fn map_filter_fold_sums_the_kept_elements() {
    // sum(x*k+1 for k in 1..3 for x in 1..100 if (x*k+1) % 3 != 0)
    check(
        "benches/programs/mapfilter.ttvm",
        "PUSH_INT 1000\nSTORE n\nPUSH_INT 15000\nSTORE rounds",
        "PUSH_INT 100\nSTORE n\nPUSH_INT 3\nSTORE rounds",
        "25449\n",
    );
}

#[test]
fn map_reduce_combines_the_workers_results() {
    check(
        "benches/programs/mapreduce.ttvm",
        "PUSH_INT 800000\nSTORE n",
        "PUSH_INT 800\nSTORE n",
        "800 numbers, 85680 steps, longest 319\n",
    );
}
