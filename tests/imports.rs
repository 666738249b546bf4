//! Issue 14, item 7: `IMPORT std/x` (or `std/x.ttvm`) loads a file
//! `std/x.ttvm` beside the importer or in the working directory when one
//! exists (TinyTotVM's layout: a program ships its own `std/` folder), and
//! the bundled module only otherwise. A missing module's error lists each
//! path tried once, the bundled module included.

mod common;

use common::{scratch, ttvm_in, Run};
use std::path::Path;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

fn run(cwd: &Path, args: &[&str]) -> Run {
    ttvm_in(cwd, args, LIMIT, "the loader hung")
}

/// `prog/std/math.ttvm` exports `abs` as a function printing `own abs`.
fn own_math(dir: &Path) {
    std::fs::create_dir_all(dir.join("std")).unwrap();
    std::fs::write(
        dir.join("std/math.ttvm"),
        "MAKE_FUNCTION own_abs x\nSTORE abs\nEXPORT abs\nHALT\nLABEL own_abs\nPUSH_STR \"own abs\"\nPRINT\nRET\n",
    )
    .unwrap();
}

const CALL_ABS: &str = "PUSH_INT -3\nLOAD abs\nCALL_FUNCTION\n";

#[test]
fn a_std_file_beside_the_program_comes_before_the_bundled_module() {
    let root = scratch("imports-beside");
    std::fs::create_dir_all(root.join("prog")).unwrap();
    own_math(&root.join("prog"));
    for import in ["std/math", "std/math.ttvm", "\"std/math.ttvm\""] {
        std::fs::write(
            root.join("prog/main.ttvm"),
            format!("IMPORT {import}\n{CALL_ABS}"),
        )
        .unwrap();
        // Run from the root: the file is found beside the program.
        let r = run(&root, &["prog/main.ttvm"]);
        assert_eq!(
            (r.status, r.stdout.as_str()),
            (Some(0), "own abs\n"),
            "{import}: {r:?}"
        );
        // The sandbox lets a program load files in its own folder.
        let r = run(&root, &["--sandbox", "prog/main.ttvm"]);
        assert_eq!(
            (r.status, r.stdout.as_str()),
            (Some(0), "own abs\n"),
            "{import}: {r:?}"
        );
    }
}

#[test]
fn a_std_file_in_the_working_directory_comes_before_the_bundled_module() {
    // TinyTotVM's examples/ import std/x.ttvm and are run from the folder
    // that holds std/.
    let root = scratch("imports-cwd");
    std::fs::create_dir_all(root.join("examples")).unwrap();
    own_math(&root);
    std::fs::write(
        root.join("examples/main.ttvm"),
        format!("IMPORT std/math.ttvm\n{CALL_ABS}"),
    )
    .unwrap();
    let r = run(&root, &["examples/main.ttvm"]);
    assert_eq!(
        (r.status, r.stdout.as_str()),
        (Some(0), "own abs\n"),
        "{r:?}"
    );
    // Under the sandbox the working directory's file is outside the
    // program's folder: refused like any other file there, not silently
    // replaced by the bundled module.
    let r = run(&root, &["--sandbox", "examples/main.ttvm"]);
    assert_eq!(r.status, Some(3), "{r:?}");
    assert!(r.stderr.contains("--sandbox refuses"), "{r:?}");
}

#[test]
fn without_a_file_std_names_the_bundled_module_with_or_without_extension() {
    let root = scratch("imports-bundled");
    for import in ["std/math", "std/math.ttvm"] {
        std::fs::write(
            root.join("main.ttvm"),
            format!("IMPORT {import}\n{CALL_ABS}PRINT\n"),
        )
        .unwrap();
        let r = run(&root, &["main.ttvm"]);
        assert_eq!(
            (r.status, r.stdout.as_str()),
            (Some(0), "3\n"),
            "{import}: {r:?}"
        );
        let r = run(&root, &["--sandbox", "main.ttvm"]);
        assert_eq!(
            (r.status, r.stdout.as_str()),
            (Some(0), "3\n"),
            "{import}: {r:?}"
        );
    }
}

#[test]
fn a_missing_std_module_lists_each_path_tried_once() {
    let root = scratch("imports-missing");
    std::fs::create_dir_all(root.join("prog")).unwrap();
    std::fs::write(root.join("prog/main.ttvm"), "IMPORT std/nothere.ttvm\n").unwrap();
    let r = run(&root, &["prog/main.ttvm"]);
    assert_eq!(r.status, Some(3), "{r:?}");
    let e = &r.stderr;
    assert!(
        e.contains("no module `std/nothere.ttvm`: no such file and no bundled module"),
        "{e}"
    );
    let help = e
        .lines()
        .find(|l| l.contains("help:"))
        .expect("a help line");
    assert!(
        help.ends_with(
            "looked for `prog/std/nothere.ttvm`, `std/nothere.ttvm`, then the bundled modules (std/math, std/supervisor)"
        ),
        "{e}"
    );
    // Run from the program's folder the two file paths are one: shown once.
    let r = run(&root.join("prog"), &["main.ttvm"]);
    let help = r
        .stderr
        .lines()
        .find(|l| l.contains("help:"))
        .expect("a help line");
    assert!(
        help.ends_with(
            "looked for `std/nothere.ttvm`, then the bundled modules (std/math, std/supervisor)"
        ),
        "{r:?}"
    );
}

#[test]
fn an_own_std_module_and_the_bundled_one_are_distinct_modules() {
    // prog/std/util.ttvm is the program's; std/math stays bundled.
    let root = scratch("imports-mixed");
    std::fs::create_dir_all(root.join("std")).unwrap();
    std::fs::write(
        root.join("std/util.ttvm"),
        "IMPORT std/math\nPUSH_STR \"util runs\"\nPRINT\nEXPORT abs\n",
    )
    .unwrap();
    std::fs::write(
        root.join("main.ttvm"),
        format!("IMPORT std/util\nIMPORT std/util.ttvm\n{CALL_ABS}PRINT\n"),
    )
    .unwrap();
    let r = run(&root, &["main.ttvm"]);
    assert_eq!(
        (r.status, r.stdout.as_str()),
        (Some(0), "util runs\n3\n"),
        "{r:?}"
    );
}
