//! Issue 12, finding 1: what a program may load. Under `--sandbox`, IMPORT
//! and file SPAWN reach only `.ttvm` files inside the main program's folder
//! (symlinks followed) and the bundled `std/` modules, and a refused file
//! is never read, so nothing of it shows in a diagnostic. With or without
//! the sandbox, a source file that is not a regular file or is larger than
//! 64 MiB is refused before it is read whole.

mod common;

use common::{scratch, ttvm_in, Run};
use std::path::Path;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

/// The text of a file outside the program's folder that must never show.
const SECRET: &str = "SECRET-CONTENTS-1\nSECRET-CONTENTS-2\n";

/// `root/prog` holds the program; `root/outside` holds a secret `.ttvm`
/// file, a plain secret file and a well-formed program that prints
/// `outside ran`.
fn layout(name: &str) -> std::path::PathBuf {
    let root = scratch(name);
    std::fs::create_dir_all(root.join("prog/lib")).unwrap();
    std::fs::create_dir_all(root.join("outside")).unwrap();
    std::fs::write(root.join("outside/secret.ttvm"), SECRET).unwrap();
    std::fs::write(root.join("outside/secret"), SECRET).unwrap();
    std::fs::write(
        root.join("outside/w.ttvm"),
        "PUSH_STR \"outside ran\"\nPRINT\n",
    )
    .unwrap();
    std::fs::write(root.join("prog/notes.txt"), SECRET).unwrap();
    std::fs::write(
        root.join("prog/lib/ok.ttvm"),
        "PUSH_INT 5\nSTORE x\nEXPORT x\n",
    )
    .unwrap();
    std::fs::write(root.join("prog/lib/w.ttvm"), "PUSH_STR \"w ran\"\nPRINT\n").unwrap();
    root
}

fn run(root: &Path, flags: &[&str], main: &str) -> Run {
    std::fs::write(root.join("prog/main.ttvm"), main).unwrap();
    let mut args = flags.to_vec();
    args.push("prog/main.ttvm");
    ttvm_in(root, &args, LIMIT, "the loader hung")
}

fn assert_refused(r: &Run, what: &str) {
    assert_eq!(r.status, Some(3), "{what}: {r:?}");
    assert!(r.stderr.contains("--sandbox refuses"), "{what}: {r:?}");
    assert!(
        !r.stderr.contains("SECRET"),
        "{what} echoed the file: {r:?}"
    );
    assert!(!r.stdout.contains("ran"), "{what} ran: {r:?}");
}

#[test]
fn sandbox_refuses_imports_outside_the_program_folder() {
    let root = layout("sandbox-import-outside");
    let abs = root.join("outside/secret.ttvm");
    #[cfg(unix)]
    std::os::unix::fs::symlink("../outside/secret.ttvm", root.join("prog/link.ttvm")).unwrap();
    let mut imports = vec![
        "../outside/secret.ttvm".to_string(),
        "../outside/secret".to_string(),
        format!("\"{}\"", abs.display()),
        "lib/../../outside/secret.ttvm".to_string(),
    ];
    if cfg!(unix) {
        imports.push("link".to_string());
        imports.push("link.ttvm".to_string());
    }
    for import in &imports {
        let r = run(&root, &["--sandbox"], &format!("IMPORT {import}\n"));
        assert_refused(&r, import);
        // Without the sandbox the same file loads: its lines show as errors.
        let r = run(&root, &[], &format!("IMPORT {import}\n"));
        assert!(r.stderr.contains("SECRET-CONTENTS-1"), "{import}: {r:?}");
    }
}

#[test]
fn sandbox_refuses_spawned_files_outside_the_program_folder() {
    let root = layout("sandbox-spawn-outside");
    let abs = root.join("outside/w");
    for name in ["../outside/w".to_string(), abs.display().to_string()] {
        let main = format!("PUSH_STR \"{name}\"\nSPAWN\nPOP\n");
        let r = run(&root, &["--sandbox"], &main);
        assert_refused(&r, &name);
        assert!(r.stderr.contains(&format!("SPAWN \"{name}\"")), "{r:?}");
        let r = run(&root, &[], &main);
        assert_eq!((r.status, r.stdout.as_str()), (Some(0), "outside ran\n"));
    }
}

#[test]
fn sandbox_refuses_files_in_the_folder_that_are_not_ttvm() {
    let root = layout("sandbox-not-ttvm");
    let mut imports = vec!["notes.txt"];
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("notes.txt", root.join("prog/txt.ttvm")).unwrap();
        imports.push("txt");
    }
    for import in imports {
        let r = run(&root, &["--sandbox"], &format!("IMPORT {import}\n"));
        assert_refused(&r, import);
        assert!(r.stderr.contains("not a `.ttvm` file"), "{r:?}");
    }
}

#[test]
fn sandbox_allows_the_program_folder_and_std() {
    let root = layout("sandbox-allowed");
    let main = "\
IMPORT lib/ok
IMPORT \"lib/../lib/ok.ttvm\"
IMPORT std/math
LOAD x
PRINT
PUSH_STR \"lib/w\"
SPAWN
POP
";
    let r = run(&root, &["--sandbox", "--no-smp"], main);
    assert_eq!(
        (r.status, r.stdout.as_str()),
        (Some(0), "5\nw ran\n"),
        "{r:?}"
    );
}

#[test]
fn sandbox_refusal_is_decided_before_reading_so_no_device_is_opened() {
    // A FIFO outside the folder: opening it would block forever.
    let root = layout("sandbox-fifo-outside");
    if !mkfifo(&root.join("outside/pipe.ttvm")) {
        return;
    }
    let r = run(&root, &["--sandbox"], "IMPORT ../outside/pipe.ttvm\n");
    assert_refused(&r, "a FIFO outside");
}

/// Make a FIFO; false where there is no `mkfifo`.
fn mkfifo(path: &Path) -> bool {
    std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn sources_that_are_not_regular_files_are_refused_without_reading() {
    let root = layout("not-regular");
    let fifo = root.join("prog/pipe.ttvm");
    let have_fifo = mkfifo(&fifo);
    std::fs::create_dir_all(root.join("prog/dir.ttvm")).unwrap();
    // As the main program: a FIFO would block the read for ever, /dev/zero
    // would be read until memory runs out.
    let mut mains = vec![("prog/dir.ttvm", "a directory")];
    if have_fifo {
        mains.push(("prog/pipe.ttvm", "a FIFO"));
    }
    if Path::new("/dev/zero").exists() {
        mains.push(("/dev/zero", "a character device"));
    }
    for (main, kind) in &mains {
        for cmd in [&["check"][..], &[][..], &["--sandbox"][..]] {
            let mut args = cmd.to_vec();
            args.push(main);
            let r = ttvm_in(&root, &args, LIMIT, "it read a file that never ends");
            assert_eq!(r.status, Some(3), "{args:?}: {r:?}");
            assert!(
                r.stderr
                    .contains(&format!("is not a regular file (it is {kind})")),
                "{args:?}: {r:?}"
            );
        }
    }
    // As a module and as a spawned file.
    let mut imports = vec![("IMPORT dir\n", "a directory")];
    if have_fifo {
        imports.push(("IMPORT pipe\n", "a FIFO"));
        imports.push(("PUSH_STR pipe\nSPAWN\n", "a FIFO"));
    }
    for (main, kind) in imports {
        for flags in [&[][..], &["--sandbox"][..]] {
            let r = run(&root, flags, main);
            assert_eq!(r.status, Some(3), "{main}: {r:?}");
            assert!(
                r.stderr
                    .contains(&format!("is not a regular file (it is {kind})")),
                "{main}: {r:?}"
            );
        }
    }
}

#[test]
fn sources_over_64_mib_are_refused_before_reading() {
    let root = layout("too-large");
    // Sparse: 64 MiB + 1 bytes of NULs, which the unfixed loader read whole
    // and echoed as one 64 MiB source line.
    let big = std::fs::File::create(root.join("prog/big.ttvm")).unwrap();
    big.set_len((64 << 20) + 1).unwrap();
    drop(big);
    let r = ttvm_in(&root, &["check", "prog/big.ttvm"], LIMIT, "hung");
    assert_eq!(r.status, Some(3), "{r:?}");
    assert!(
        r.stderr
            .contains("is larger than the 64 MiB a source file may have"),
        "{r:?}"
    );
    assert!(r.stderr.len() < 1000, "{}", r.stderr.len());
    let r = run(&root, &["--sandbox"], "IMPORT big\n");
    assert_eq!(r.status, Some(3), "{r:?}");
    assert!(r.stderr.contains("larger than the 64 MiB"), "{r:?}");
    // A /proc file reports size 0 and may be endless: the read stops at
    // the cap.
    if Path::new("/proc/self/pagemap").exists() {
        let r = ttvm_in(&root, &["check", "/proc/self/pagemap"], LIMIT, "hung");
        assert_eq!(r.status, Some(3), "{r:?}");
        assert!(r.stderr.contains("larger than the 64 MiB"), "{r:?}");
    }
}
