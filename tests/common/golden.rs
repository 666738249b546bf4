//! The golden-program format (tests/README.md): finding the programs and
//! parsing the expectations written in them (or in a sidecar
//! `NAME.expect`), once for every test that reads them.

use std::path::{Path, PathBuf};

/// Expectations parsed from a program (or its sidecar).
#[derive(Debug, Clone, Default)]
pub struct Expect {
    pub flags: Vec<String>,
    pub prog_args: Vec<String>,
    /// `--` appeared in `;! args:` (program args follow the file path).
    pub dashdash: bool,
    pub stdin: Option<String>,
    pub exit: i32,
    pub stderr: Vec<String>,
    pub stdout: Vec<String>,
    /// `;! stdout: ignore` — stdout is not compared (and not blessed).
    pub ignore_stdout: bool,
    /// `;! modes: a b` — only these modes; empty = all.
    pub modes: Vec<String>,
}

pub struct Case {
    /// The program to run.
    pub program: PathBuf,
    /// The file holding the expectations (the program or its sidecar).
    pub expect_file: PathBuf,
    /// Path relative to the crate root, for reports and filtering.
    pub rel: String,
    pub expect: Expect,
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn collect(dir: &Path, recursive: bool, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            if recursive {
                collect(&p, true, out);
            }
        } else if p.extension().is_some_and(|e| e == "ttvm") {
            out.push(p);
        }
    }
}

pub fn sidecar(program: &Path) -> PathBuf {
    program.with_extension("expect")
}

/// Text of a file with invalid UTF-8 replaced, split into lines without
/// their `\n`/`\r\n`.
pub fn lines_of(bytes: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(bytes)
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l).to_string())
        .collect()
}

/// Parse the `;>` and `;!` lines; `modes` are the mode names `;! modes:`
/// may use (empty: any).
pub fn parse_expect(text_lines: &[String], modes: &[&str]) -> Result<Expect, String> {
    let mut e = Expect::default();
    let mut stdin_lines: Vec<String> = Vec::new();
    let mut saw_stdin = false;
    for (i, line) in text_lines.iter().enumerate() {
        let t = line.trim_start();
        if let Some(rest) = t.strip_prefix(";>") {
            e.stdout
                .push(rest.strip_prefix(' ').unwrap_or(rest).to_string());
        } else if let Some(rest) = t.strip_prefix(";!") {
            let rest = rest.trim_start();
            let (key, value) = match rest.split_once(':') {
                Some((k, v)) => (k.trim(), v.strip_prefix(' ').unwrap_or(v)),
                None => return Err(format!("line {}: `;!` without `key:`", i + 1)),
            };
            match key {
                "args" => {
                    let mut words = value.split_whitespace();
                    for w in words.by_ref() {
                        if w == "--" {
                            e.dashdash = true;
                            break;
                        }
                        e.flags.push(w.to_string());
                    }
                    e.prog_args.extend(words.map(str::to_string));
                }
                "stdin" => {
                    saw_stdin = true;
                    stdin_lines.push(value.to_string());
                }
                "exit" => {
                    e.exit = value
                        .trim()
                        .parse()
                        .map_err(|_| format!("line {}: bad exit status {value:?}", i + 1))?;
                }
                "stderr" => e.stderr.push(value.trim_end().to_string()),
                "stdout" => match value.trim() {
                    "ignore" => e.ignore_stdout = true,
                    other => return Err(format!("line {}: unknown `;! stdout: {other}`", i + 1)),
                },
                "modes" => e.modes = value.split_whitespace().map(str::to_string).collect(),
                other => return Err(format!("line {}: unknown directive `;! {other}:`", i + 1)),
            }
        }
    }
    if saw_stdin {
        let mut s = String::new();
        for l in &stdin_lines {
            s.push_str(l);
            s.push('\n');
        }
        e.stdin = Some(s);
    }
    for m in &e.modes {
        if !modes.is_empty() && !modes.contains(&m.as_str()) {
            return Err(format!("unknown mode `{m}` in `;! modes:`"));
        }
    }
    Ok(e)
}

/// Every golden program (`tests/programs/**`, `examples/*`) with its
/// expectations, but those marked `; golden: skip`; `filter`: only paths
/// containing it. Also the errors found reading or parsing them.
pub fn discover(filter: Option<&str>, modes: &[&str]) -> (Vec<Case>, Vec<String>) {
    let root = root();
    let mut files = Vec::new();
    collect(&root.join("tests/programs"), true, &mut files);
    collect(&root.join("examples"), false, &mut files);
    let mut cases = Vec::new();
    let mut errors = Vec::new();
    for program in files {
        let rel = program
            .strip_prefix(&root)
            .unwrap_or(&program)
            .to_string_lossy()
            .replace('\\', "/");
        if let Some(f) = filter {
            if !rel.contains(f) {
                continue;
            }
        }
        let bytes = match std::fs::read(&program) {
            Ok(b) => b,
            Err(e) => {
                errors.push(format!("{rel}: cannot read: {e}"));
                continue;
            }
        };
        let side = sidecar(&program);
        let expect_file = if side.exists() { side } else { program.clone() };
        let text_lines = if expect_file == program {
            lines_of(&bytes)
        } else {
            match std::fs::read(&expect_file) {
                Ok(b) => lines_of(&b),
                Err(e) => {
                    errors.push(format!("{rel}: cannot read sidecar: {e}"));
                    continue;
                }
            }
        };
        if expect_file == program
            && text_lines
                .first()
                .is_some_and(|l| l.trim() == "; golden: skip")
        {
            continue;
        }
        match parse_expect(&text_lines, modes) {
            Ok(expect) => cases.push(Case {
                program,
                expect_file,
                rel,
                expect,
            }),
            Err(e) => errors.push(format!("{rel}: bad expectations: {e}")),
        }
    }
    (cases, errors)
}
