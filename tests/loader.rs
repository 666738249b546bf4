//! Import resolution and exception unwinding, through the library.

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use ttvm::{Io, RunConfig};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ttvm-loader-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn run(path: &std::path::Path) -> (String, i32) {
    let program = ttvm::load_file(path).unwrap_or_else(|e| panic!("{}", e.render()));
    let out = Buf::default();
    let io = Io {
        stdout: Box::new(out.clone()),
        stderr: Box::new(std::io::sink()),
        stdin: Box::new(std::io::empty()),
    };
    let r = ttvm::run(Arc::new(program), RunConfig::default(), io);
    let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
    (text, r.exit_code)
}

#[test]
fn imports_resolve_beside_the_importer_and_run_once() {
    let dir = temp_dir("once");
    std::fs::create_dir_all(dir.join("lib")).unwrap();
    std::fs::write(
        dir.join("main.ttvm"),
        "IMPORT lib/a.ttvm\nIMPORT lib/a.ttvm\nLOAD x\nPRINT\nLOAD y\nPRINT\n",
    )
    .unwrap();
    // a imports b relative to its own folder and re-exports b's value.
    std::fs::write(
        dir.join("lib/a.ttvm"),
        "PUSH_STR \"a runs\"\nPRINT\nIMPORT b\nPUSH_INT 1\nSTORE x\nEXPORT x\nEXPORT y\n",
    )
    .unwrap();
    std::fs::write(dir.join("lib/b.ttvm"), "PUSH_INT 2\nSTORE y\nEXPORT y\n").unwrap();
    assert_eq!(
        run(&dir.join("main.ttvm")),
        ("a runs\n1\n2\n".to_string(), 0)
    );
}

#[test]
fn import_cycles_are_load_errors_showing_the_chain() {
    let dir = temp_dir("cycle");
    std::fs::write(dir.join("a.ttvm"), "IMPORT b.ttvm\n").unwrap();
    std::fs::write(dir.join("b.ttvm"), "IMPORT a.ttvm\n").unwrap();
    let err = ttvm::load_file(&dir.join("a.ttvm")).unwrap_err();
    let text = err.render();
    assert!(text.contains("import cycle"), "{text}");
    assert!(
        text.contains("a.ttvm → ") && text.contains("b.ttvm → "),
        "{text}"
    );
    assert_eq!(err.exit_code(), 3);
}

#[test]
fn missing_modules_name_the_paths_tried() {
    let dir = temp_dir("missing");
    std::fs::write(dir.join("a.ttvm"), "IMPORT nothere\n").unwrap();
    let text = ttvm::load_file(&dir.join("a.ttvm")).unwrap_err().render();
    assert!(text.contains("module `nothere` not found"), "{text}");
    assert!(text.contains("nothere.ttvm"), "{text}");
}

#[test]
fn unwinding_cuts_frames_and_stack_back_to_the_try() {
    let dir = temp_dir("unwind");
    let src = "\
PUSH_INT 7
TRY h
PUSH_INT 1
PUSH_INT 2
CALL f
END_TRY
JMP out
LABEL h
CATCH
GET_FIELD message
PRINT
PRINT        ; the 7 below the TRY is still there
LABEL out
HALT
LABEL f
PUSH_INT 3
CALL g
RET
LABEL g
PUSH_STR boom
THROW
";
    std::fs::write(dir.join("u.ttvm"), src).unwrap();
    assert_eq!(run(&dir.join("u.ttvm")), ("boom\n7\n".to_string(), 0));
}

/// Issue 12, finding 11: `IMPORT foo` means `foo.ttvm` (docs/LANGUAGE.md):
/// beside the importer first, then in the working directory. A file named
/// just `foo` is never loaded for it.
#[test]
fn import_without_extension_loads_the_ttvm_file_not_the_bare_name() {
    let dir = temp_dir("order");
    std::fs::write(dir.join("foo"), "PUSH_STR \"bare foo\"\nPRINT\n").unwrap();
    std::fs::write(dir.join("foo.ttvm"), "PUSH_STR \"foo.ttvm\"\nPRINT\n").unwrap();
    std::fs::write(dir.join("a.ttvm"), "IMPORT foo\n").unwrap();
    assert_eq!(run(&dir.join("a.ttvm")), ("foo.ttvm\n".to_string(), 0));
    // Only the bare file: not found, and the message names what was tried.
    std::fs::write(dir.join("bare"), "PUSH_STR \"bare\"\nPRINT\n").unwrap();
    std::fs::write(dir.join("b.ttvm"), "IMPORT bare\n").unwrap();
    let text = ttvm::load_file(&dir.join("b.ttvm")).unwrap_err().render();
    assert!(text.contains("module `bare` not found"), "{text}");
    assert!(text.contains("bare.ttvm`"), "{text}");
    // With an extension the path is taken as written.
    std::fs::write(dir.join("c.ttvm"), "IMPORT \"foo\"\nIMPORT bare.ttvm\n").unwrap();
    std::fs::write(dir.join("bare.ttvm"), "PUSH_STR \"bare.ttvm\"\nPRINT\n").unwrap();
    assert_eq!(
        run(&dir.join("c.ttvm")),
        ("foo.ttvm\nbare.ttvm\n".to_string(), 0)
    );
}

/// An import chain of any length loads (files are followed with a work
/// stack; the unfixed loader recursed per file and overflowed the native
/// stack, aborting, at a few thousand files).
#[test]
fn a_long_import_chain_does_not_overflow_the_stack() {
    let dir = temp_dir("chain");
    let n = 20_000;
    for i in 0..n {
        let text = if i + 1 < n {
            format!("IMPORT m{}\n", i + 1)
        } else {
            "PUSH_INT 7\nSTORE x\nEXPORT x\n".to_string()
        };
        std::fs::write(dir.join(format!("m{i}.ttvm")), text).unwrap();
    }
    let p = ttvm::load_file(&dir.join("m0.ttvm")).unwrap_or_else(|e| panic!("{}", e.render()));
    assert_eq!(p.modules.len(), n + 1);
    // A cycle through the whole chain is one error whose chain is shortened.
    std::fs::write(dir.join(format!("m{}.ttvm", n - 1)), "IMPORT m0\n").unwrap();
    let text = ttvm::load_file(&dir.join("m0.ttvm")).unwrap_err().render();
    assert!(text.contains("import cycle: "), "{text}");
    assert!(text.contains(" → … → "), "{text}");
    assert!(
        text.contains(&format!("this one has {n} modules")),
        "{text}"
    );
    assert!(text.len() < 2000, "{text}");
}

/// A file with thousands of errors renders the first 200 in full and
/// counts the rest; a very long offending line is not echoed.
#[test]
fn diagnostics_are_capped_in_number_and_line_length() {
    let text: String = (0..1000).map(|i| format!("FOO{i}\n")).collect();
    let err = ttvm::asm::load_source("many.ttvm", &text).unwrap_err();
    let out = err.render();
    assert!(out.contains("unknown opcode `FOO199`"), "{out}");
    assert!(!out.contains("`FOO200`"), "{out}");
    assert!(
        out.contains("… and 800 more diagnostics not shown"),
        "{out}"
    );
    assert!(out.ends_with("1000 errors; nothing was run\n"), "{out}");
    assert!(out.len() < 100_000, "{}", out.len());

    let long = format!("PUSH_INT 1\nBADOP {}\nPRINT\n", "x".repeat(5000));
    let out = ttvm::asm::load_source("long.ttvm", &long)
        .unwrap_err()
        .render();
    assert!(
        out.contains("long.ttvm:2:1: error: unknown opcode `BADOP`"),
        "{out}"
    );
    assert!(out.contains("is not shown"), "{out}");
    assert!(!out.contains("xxxxxxxxxx"), "{out}");
}
