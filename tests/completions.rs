//! `ttvm completions SHELL` and `ttvm man`: generated from the command-line
//! definition, so every subcommand and flag is in them (fish writes long
//! flags without their dashes, so flags are looked for by name).

mod common;

use common::{Captured, Ttvm};
use std::process::Command;

fn ttvm(args: &[&str]) -> Captured {
    Ttvm::new().args(args).run()
}

fn stdout(args: &[&str]) -> String {
    let out = ttvm(args);
    assert_eq!(out.status, Some(0), "ttvm {args:?}: {}", out.stderr);
    out.stdout
}

#[test]
fn completions_cover_every_subcommand_and_flag() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = stdout(&["completions", shell]);
        for word in [
            "check",
            "dis",
            "lsp",
            "completions",
            "selftest",
            "max-call-depth",
            "jit-threshold",
            "no-smp",
        ] {
            assert!(script.contains(word), "{shell}: no `{word}` in\n{script}");
        }
    }
    let out = ttvm(&["completions", "tcsh"]);
    assert_eq!(out.status, Some(2));
    let err = out.stderr;
    assert!(err.contains("possible values: bash"), "{err}");
}

#[test]
fn the_bash_script_parses() {
    let dir = std::env::temp_dir().join(format!("ttvm-completions-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("ttvm.bash");
    std::fs::write(&file, stdout(&["completions", "bash"])).unwrap();
    let status = Command::new("bash")
        .arg("-n")
        .arg(&file)
        .status()
        .expect("run bash");
    assert!(status.success());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_manual_page_is_roff_naming_every_subcommand_and_flag() {
    let page = stdout(&["man"]);
    assert!(page.contains(".TH ttvm 1"), "{page}");
    for word in [
        "ttvm\\-check",
        "ttvm\\-lsp",
        "ttvm\\-completions",
        "\\-\\-sandbox",
        "\\-\\-max\\-call\\-depth",
    ] {
        assert!(page.contains(word), "no `{word}` in\n{page}");
    }

    let dir = std::env::temp_dir().join(format!("ttvm-man-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    stdout(&["man", "--out-dir", dir.to_str().unwrap()]);
    let mut pages: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    assert!(pages.contains(&"ttvm.1".to_string()), "{pages:?}");
    assert!(pages.contains(&"ttvm-lsp.1".to_string()), "{pages:?}");
    assert!(pages.contains(&"ttvm-check.1".to_string()), "{pages:?}");
    let _ = std::fs::remove_dir_all(&dir);

    // A folder that cannot be made: a clear error, not a panic.
    let out = ttvm(&["man", "--out-dir", "/dev/null/x"]);
    assert_eq!(out.status, Some(1));
    let err = out.stderr;
    assert!(
        err.starts_with("error: cannot write the manual pages"),
        "{err}"
    );
}

#[test]
fn writing_to_a_full_device_is_an_error() {
    let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
        return; // not on this system
    };
    let out = Ttvm::new()
        .args(["completions", "bash"])
        .stdout_to(full)
        .run();
    assert_eq!(out.status, Some(1));
    let err = out.stderr;
    assert!(err.contains("cannot write the completion script"), "{err}");
}
