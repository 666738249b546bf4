//! Diagnostics, rendered with codespan-reporting: each error is shown as
//! `file:line:col: error: message`, then the source line with a caret.

use codespan_reporting::diagnostic::{Diagnostic, Label};
use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term::{self, termcolor::NoColor, Config, DisplayStyle};
use std::fmt;
use std::ops::Range;

use crate::bytecode::OperandError;

pub(super) mod structured;

/// One problem in one file (byte span into the file's text).
#[derive(Clone, Debug)]
pub struct Diag {
    pub span: Range<usize>,
    pub message: String,
    pub help: Option<String>,
    pub secondary: Vec<(Range<usize>, String)>,
    pub warning: bool,
}

impl Diag {
    pub fn error(span: Range<usize>, message: impl Into<String>) -> Diag {
        Diag {
            span,
            message: message.into(),
            help: None,
            secondary: Vec::new(),
            warning: false,
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Diag {
        self.help = Some(help.into());
        self
    }

    pub fn with_secondary(mut self, span: Range<usize>, note: impl Into<String>) -> Diag {
        self.secondary.push((span, note.into()));
        self
    }

    pub(super) fn from_operand(e: OperandError, line_start: usize) -> Diag {
        Diag {
            span: line_start + e.span.start..line_start + e.span.end,
            message: e.message,
            help: e.help,
            secondary: Vec::new(),
            warning: false,
        }
    }
}

/// Why a program could not be loaded: every error found, rendered.
#[derive(Debug)]
pub struct LoadError {
    files: SimpleFiles<String, String>,
    diags: Vec<(usize, Diag)>,
    /// Errors with no place in a file (e.g. the main file is missing), each
    /// with a hint.
    plain: Vec<(String, Option<String>)>,
}

impl Default for LoadError {
    fn default() -> Self {
        LoadError::new()
    }
}

impl LoadError {
    pub(super) fn new() -> LoadError {
        LoadError {
            files: SimpleFiles::new(),
            diags: Vec::new(),
            plain: Vec::new(),
        }
    }

    pub(super) fn add_file(&mut self, name: String, text: String) -> usize {
        self.files.add(name, text)
    }

    /// `name:line` of a byte offset in a file (for warnings, which are
    /// one line of text).
    pub(super) fn file_line(&self, file: usize, offset: usize) -> String {
        use codespan_reporting::files::Files;
        let name = self
            .files
            .name(file)
            .map(|n| n.to_string())
            .unwrap_or_default();
        match self.files.line_index(file, offset) {
            Ok(i) => format!("{name}:{}", i + 1),
            Err(_) => name,
        }
    }

    pub(super) fn push(&mut self, file: usize, diag: Diag) {
        self.diags.push((file, diag));
    }

    pub(super) fn push_plain(&mut self, message: String, help: Option<String>) {
        self.plain.push((message, help));
    }

    pub(super) fn is_empty(&self) -> bool {
        self.diags.is_empty() && self.plain.is_empty()
    }

    /// How many errors there are.
    pub fn count(&self) -> usize {
        self.diags.iter().filter(|(_, d)| !d.warning).count() + self.plain.len()
    }

    /// The exit status for a load error.
    pub fn exit_code(&self) -> i32 {
        crate::EXIT_LOAD_ERROR
    }

    /// Render every diagnostic as text (no colour).
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (message, help) in &self.plain {
            out.push_str("error: ");
            out.push_str(message);
            out.push('\n');
            if let Some(h) = help {
                out.push_str("  = help: ");
                out.push_str(h);
                out.push('\n');
            }
        }
        let mut diags: Vec<&(usize, Diag)> = self.diags.iter().collect();
        diags.sort_by_key(|(file, d)| (*file, d.span.start));
        let hidden = diags.len().saturating_sub(MAX_SHOWN);
        for (file, d) in diags.into_iter().take(MAX_SHOWN) {
            let mut labels = vec![Label::primary(*file, d.span.clone())];
            for (span, note) in &d.secondary {
                labels.push(Label::secondary(*file, span.clone()).with_message(note));
            }
            let base = if d.warning {
                Diagnostic::warning()
            } else {
                Diagnostic::error()
            };
            let mut diag = base.with_message(&d.message).with_labels(labels);
            if let Some(h) = &d.help {
                diag = diag.with_notes(vec![format!("help: {h}")]);
            }
            let short = Config {
                display_style: DisplayStyle::Short,
                ..Config::default()
            };
            out.push_str(&emit(&self.files, &short, &diag));
            if self.longest_line(*file, &d.span) > MAX_ECHOED_LINE {
                out.push_str(&format!(
                    "  (the source line is over {MAX_ECHOED_LINE} bytes long and is not shown)\n"
                ));
                if let Some(h) = &d.help {
                    out.push_str(&format!("  = help: {h}\n"));
                }
                continue;
            }
            let rich = emit(&self.files, &Config::default(), &diag);
            // The rich form's first line repeats the message: keep the rest.
            out.push_str(rich.split_once('\n').map(|x| x.1).unwrap_or(""));
        }
        if hidden > 0 {
            out.push_str(&format!(
                "… and {hidden} more diagnostics not shown (the first {MAX_SHOWN} are)\n"
            ));
        }
        let n = self.count();
        if n > 1 {
            out.push_str(&format!("{n} errors; nothing was run\n"));
        }
        out
    }
}

/// Diagnostics rendered in full; the rest are counted (a generated file
/// with a systematic mistake would otherwise print one per line).
const MAX_SHOWN: usize = 200;

/// Source lines longer than this are not echoed (only the message and
/// place are printed).
const MAX_ECHOED_LINE: usize = 1000;

impl LoadError {
    /// The length in bytes of the longest source line `span` touches.
    fn longest_line(&self, file: usize, span: &std::ops::Range<usize>) -> usize {
        let Ok(f) = self.files.get(file) else {
            return 0;
        };
        let text = f.source().as_bytes();
        let start = span.start.min(text.len());
        let end = span.end.clamp(start, text.len());
        let line_start = text[..start]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let line_end = text[end..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(text.len(), |i| end + i);
        text[line_start..line_end]
            .split(|&b| b == b'\n')
            .map(<[u8]>::len)
            .max()
            .unwrap_or(0)
    }
}

fn emit(files: &SimpleFiles<String, String>, config: &Config, diag: &Diagnostic<usize>) -> String {
    let mut buf = NoColor::new(Vec::new());
    if term::emit(&mut buf, config, files, diag).is_err() {
        return format!("error: {}\n", diag.message);
    }
    String::from_utf8_lossy(&buf.into_inner()).into_owned()
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

impl std::error::Error for LoadError {}
