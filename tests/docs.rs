//! docs/LANGUAGE.md's instruction table is generated from the op table; this
//! test fails when they differ (TTVM_BLESS=1 rewrites the document).

use ttvm::bytecode::reference::{fuzz_dict, instruction_table, BEGIN, END};

/// fuzz/ttvm.dict is generated from the op table too.
#[test]
fn fuzz_dictionary_matches_the_op_table() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/ttvm.dict");
    let have = std::fs::read_to_string(path).unwrap_or_default();
    let want = fuzz_dict();
    if have == want {
        return;
    }
    if std::env::var_os("TTVM_BLESS").is_some() {
        std::fs::write(path, want).expect("write fuzz/ttvm.dict");
        return;
    }
    panic!("fuzz/ttvm.dict is out of date: run `TTVM_BLESS=1 cargo test --test docs`; it should be:\n{want}");
}

#[test]
fn language_reference_matches_the_op_table() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/LANGUAGE.md");
    let doc = std::fs::read_to_string(path).expect("docs/LANGUAGE.md exists");
    let start = doc.find(BEGIN).expect("begin marker") + BEGIN.len();
    let end = doc.find(END).expect("end marker");
    let wanted = format!("\n{}\n", instruction_table().trim());
    if doc[start..end] == wanted {
        return;
    }
    if std::env::var_os("TTVM_BLESS").is_some() {
        let new = format!("{}{}{}", &doc[..start], wanted, &doc[end..]);
        std::fs::write(path, new).expect("write docs/LANGUAGE.md");
        return;
    }
    panic!("docs/LANGUAGE.md's instruction table is out of date: run `TTVM_BLESS=1 cargo test --test docs`");
}

/// The documents a user reads: the README, `docs/`, and the READMEs of the
/// folders they point into.
fn documents() -> Vec<std::path::PathBuf> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = vec![root.join("README.md")];
    for dir in [
        "docs",
        "editors",
        "tests",
        "benches",
        "runtime/src/sched",
        "src/jit",
    ] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "md") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Relative link targets of a Markdown text: `[text](target)`, without
/// web addresses, in-page anchors and the `#anchor` part.
fn relative_links(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let mut rest = line;
        while let Some(i) = rest.find("](") {
            rest = &rest[i + 2..];
            let Some(end) = rest.find(')') else { break };
            let target = rest[..end].split('#').next().unwrap_or("").trim();
            rest = &rest[end..];
            if target.is_empty() || target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            out.push((n + 1, target.to_string()));
        }
    }
    out
}

/// Issue 18, item 8: the docs stand alone — every relative link resolves to
/// a file or folder inside the repository, and no document sends the reader
/// to the project's planning folder (`../shared/`) or a scratch script.
#[test]
fn documentation_links_stay_inside_the_repository() {
    let root = std::fs::canonicalize(env!("CARGO_MANIFEST_DIR")).unwrap();
    let mut bad = Vec::new();
    for doc in documents() {
        let text = std::fs::read_to_string(&doc).unwrap();
        let dir = doc.parent().unwrap();
        for (line, target) in relative_links(&text) {
            match std::fs::canonicalize(dir.join(&target)) {
                Ok(p) if p.starts_with(&root) => {}
                Ok(p) => bad.push(format!(
                    "{}:{line}: `{target}` is outside the repository ({})",
                    doc.display(),
                    p.display()
                )),
                Err(e) => bad.push(format!(
                    "{}:{line}: `{target}` does not resolve: {e}",
                    doc.display()
                )),
            }
        }
        for (n, l) in text.lines().enumerate() {
            for outside in ["../shared/", "/work/notes", "/tmp/perf/"] {
                if l.contains(outside) {
                    bad.push(format!(
                        "{}:{}: points outside the repository (`{outside}`)",
                        doc.display(),
                        n + 1
                    ));
                }
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// Every integration test file is described in docs/TESTING.md's "Test
/// files" table.
#[test]
fn every_test_file_is_described() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let testing = std::fs::read_to_string(root.join("docs/TESTING.md")).unwrap();
    let mut missing = Vec::new();
    for e in std::fs::read_dir(root.join("tests")).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.ends_with(".rs") && !testing.contains(&format!("`{name}`")) {
            missing.push(name);
        }
    }
    missing.sort();
    assert!(
        missing.is_empty(),
        "docs/TESTING.md's \"Test files\" table does not describe: {}",
        missing.join(", ")
    );
}
