//! Every program in `tests/programs` and `examples` that assembles, printed
//! back as source (`ttvm::bytecode::to_source`) and assembled again, is the
//! same program: the `roundtrip` fuzz oracle (`fuzz/src/oracle.rs`) over the
//! hand-written programs.

#[path = "../fuzz/src/oracle.rs"]
mod oracle;

use std::path::{Path, PathBuf};

fn ttvm_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.filter_map(|e| e.ok()) {
        let path = e.path();
        if path.is_dir() {
            ttvm_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "ttvm") {
            out.push(path);
        }
    }
}

#[test]
fn programs_and_examples_print_back_to_the_same_program() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    ttvm_files(&root.join("tests/programs"), &mut files);
    ttvm_files(&root.join("examples"), &mut files);
    files.sort();
    let mut checked = 0;
    let mut failed = Vec::new();
    for path in &files {
        let Ok(text) = std::fs::read_to_string(path) else {
            continue; // not UTF-8: the assembler rejects it
        };
        let name = path.display().to_string();
        match std::panic::catch_unwind(|| oracle::roundtrip_source(&name, &text)) {
            Ok(true) => checked += 1,
            Ok(false) => {}
            Err(_) => failed.push(name),
        }
    }
    assert!(
        failed.is_empty(),
        "not the same program:\n  {}",
        failed.join("\n  ")
    );
    assert!(
        checked >= 200,
        "only {checked} of {} programs assembled",
        files.len()
    );
}
