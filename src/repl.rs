//! `ttvm repl` (docs/REPL.md): read entries, run each in the session's
//! persistent main process (`engine::repl`), show the operand stack.
//!
//! On a terminal, lines are read with `rustyline` (editing, history kept
//! in the user's data folder when it can be written); from a pipe or a
//! file they are read as they come, without prompts, so a session can be
//! scripted.

use crate::engine::repl::{Outcome, Repl};
use crate::exec::vm::RunConfig;
use std::io::{BufRead, IsTerminal, Write};

/// How a session runs.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `--sandbox` for the loads and the host instructions.
    pub sandbox: bool,
    /// `--allow-net`: what the sandbox allows of the network.
    pub allow_net: crate::permissions::NetAllow,
    /// Scheduler threads (1: deterministic).
    pub schedulers: usize,
}

/// `ttvm -e` and REPL lines: `|` outside string literals separates
/// instructions (it becomes a line break).
pub fn bars_to_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let (mut quoted, mut escaped) = (false, false);
    for c in text.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '|' if !quoted => {
                out.push('\n');
                continue;
            }
            _ => {}
        }
        out.push(c);
    }
    out
}

const HELP: &str = "\
Each line is an entry: instructions separated by `|` (or one per line, ending
a line with `\\` to continue on the next). It runs in the session's main
process; the operand stack is shown after it. Variables, the stack, defined
functions and spawned processes stay from one entry to the next.
An entry that starts with `LABEL name` defines code and does not run: on one
line with `|`, or over several lines ended by an empty line. Later entries
CALL it, MAKE_FUNCTION it or SPAWN it by name.
An error (assembly or run time, or a deadlock) leaves the stack and the
variables as they were before the entry.
Commands: :stack  :vars  :procs  :help  :quit (also end of input)
";

/// Where the history is kept: `$XDG_DATA_HOME/ttvm/repl_history`, else
/// `~/.local/share/ttvm/repl_history`.
fn history_path() -> Option<std::path::PathBuf> {
    let data = std::env::var_os("XDG_DATA_HOME")
        .filter(|d| !d.is_empty())
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|h| !h.is_empty())
                .map(|h| std::path::Path::new(&h).join(".local/share"))
        })?;
    Some(data.join("ttvm").join("repl_history"))
}

/// Lines from a terminal (with editing) or from a pipe.
enum Input {
    Terminal(Box<rustyline::DefaultEditor>),
    Plain(std::io::StdinLock<'static>),
}

impl Input {
    /// The next line, or None at the end of input.
    fn line(&mut self, prompt: &str) -> Option<String> {
        match self {
            Input::Terminal(ed) => match ed.readline(prompt) {
                Ok(l) => {
                    if !l.trim().is_empty() {
                        let _ = ed.add_history_entry(l.as_str());
                    }
                    Some(l)
                }
                // Ctrl-C: drop the line.
                Err(rustyline::error::ReadlineError::Interrupted) => Some(String::new()),
                Err(_) => None,
            },
            Input::Plain(stdin) => {
                let mut line = String::new();
                match stdin.read_line(&mut line) {
                    Ok(0) | Err(_) => None,
                    Ok(_) => {
                        while line.ends_with('\n') || line.ends_with('\r') {
                            line.pop();
                        }
                        Some(line)
                    }
                }
            }
        }
    }
}

/// The first word of an entry's text that is not blank or a comment.
fn starts_with_label(text: &str) -> bool {
    text.lines()
        .map(|l| l.split(';').next().unwrap_or("").trim())
        .find(|l| !l.is_empty())
        .is_some_and(|l| l.split_whitespace().next() == Some("LABEL"))
}

/// Run a session on stdin; the exit status.
pub fn run(options: &Options) -> i32 {
    let interactive = std::io::stdin().is_terminal();
    let mut input = if interactive {
        match rustyline::DefaultEditor::new() {
            Ok(mut ed) => {
                if let Some(p) = history_path() {
                    let _ = ed.load_history(&p);
                }
                Input::Terminal(Box::new(ed))
            }
            Err(_) => Input::Plain(std::io::stdin().lock()),
        }
    } else {
        Input::Plain(std::io::stdin().lock())
    };
    if interactive {
        say("ttvm repl — :help for help, :quit or Ctrl-D to leave\n");
    }
    let load = crate::LoadOptions {
        sandbox: options.sandbox,
    };
    let mut session = match crate::asm::Session::new(&load) {
        Ok(s) => s,
        Err(e) => {
            let _ = std::io::stderr().write_all(e.render().as_bytes());
            return e.exit_code();
        }
    };
    let config = RunConfig {
        schedulers: options.schedulers.max(1),
        sandbox: options.sandbox,
        allow_net: options.allow_net.clone(),
        pin: false,
        ..RunConfig::default()
    };
    let mut repl = Repl::new(config);
    let status = loop {
        let Some(line) = input.line("ttvm> ") else {
            break 0;
        };
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        if let Some(cmd) = trimmed.strip_prefix(':') {
            match cmd.trim() {
                "q" | "quit" | "exit" => break 0,
                "help" | "h" | "?" => say(HELP),
                "stack" | "s" => say(&format!("{}\n", show_stack(&repl))),
                "vars" | "v" => {
                    let vars = repl.vars();
                    if vars.is_empty() {
                        say("(no variables)\n");
                    }
                    for (name, v) in vars {
                        say(&format!("{name} = {}\n", v.shown(SHOWN_BYTES)));
                    }
                }
                "procs" | "p" => {
                    let procs = repl.processes();
                    if procs.is_empty() {
                        say("(no other processes)\n");
                    }
                    for (pid, name) in procs {
                        match name {
                            Some(n) => say(&format!("process {pid} ({n})\n")),
                            None => say(&format!("process {pid}\n")),
                        }
                    }
                }
                other => {
                    let _ = writeln!(
                        std::io::stderr(),
                        "error: unknown command `:{other}`; :help lists the commands"
                    );
                }
            }
            continue;
        }
        // Gather the entry: `\` at the end continues it; a definition
        // without `|` runs on to an empty line.
        let mut text = line.clone();
        while text.trim_end().ends_with('\\') {
            let cut = text.trim_end().len() - 1;
            text.truncate(cut);
            text.push('\n');
            match input.line("  ... ") {
                Some(l) => text.push_str(&l),
                None => break,
            }
        }
        if starts_with_label(&text) && !text.contains('|') {
            while let Some(l) = input.line("  ... ") {
                if l.trim().is_empty() {
                    break;
                }
                text.push('\n');
                text.push_str(&l);
            }
        }
        let entry = match session.add(&bars_to_lines(&text)) {
            Ok(e) => e,
            Err(e) => {
                let _ = std::io::stderr().write_all(e.render().as_bytes());
                continue;
            }
        };
        for w in &entry.warnings {
            let _ = writeln!(std::io::stderr(), "warning: {w}");
        }
        let definition = entry.definition;
        let labels: Vec<String> = {
            let m = &entry.program.modules[entry.module as usize];
            let mut v: Vec<(u32, String)> = m.labels.iter().map(|(k, &a)| (a, k.clone())).collect();
            v.sort();
            v.into_iter().map(|(_, k)| k).collect()
        };
        match repl.run(entry) {
            Outcome::Done if definition => say(&format!("defined: {}\n", labels.join(", "))),
            Outcome::Done | Outcome::Failed => say(&format!("{}\n", show_stack(&repl))),
            Outcome::Exit(n) => break n,
            Outcome::MainEnded => break crate::EXIT_ABNORMAL,
        }
    };
    if let (Input::Terminal(ed), Some(p)) = (&mut input, history_path()) {
        // A history that cannot be written is not worth a message.
        if let Some(dir) = p.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = ed.save_history(&p);
    }
    status
}

/// The most bytes of each value the REPL shows.
const SHOWN_BYTES: usize = 200;

fn show_stack(repl: &Repl) -> String {
    let shown: Vec<String> = repl
        .stack()
        .iter()
        .map(|v| v.shown(SHOWN_BYTES).to_string())
        .collect();
    format!("stack: [{}]", shown.join(", "))
}

/// Write to stdout (a closed pipe is quiet).
fn say(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}
