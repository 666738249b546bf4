//! The diagnostics of a [`LoadError`] as data, for tools such as the
//! language server: the same errors the renderer prints, each with its file,
//! byte span, 1-based line and column, message and hint.

use super::LoadError;
use std::ops::Range;

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// A place in one source file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    /// The file as messages show it.
    pub file: String,
    /// Which file: 0 is the file loaded first (the main file), then the
    /// files it imports, in the order they were loaded.
    pub file_index: usize,
    /// Byte range in the file's text.
    pub span: Range<usize>,
    /// 1-based line and column (in characters, as the rendered text shows
    /// them) of the span's start.
    pub line: u32,
    pub col: u32,
    /// The same for the span's end (exclusive).
    pub end_line: u32,
    pub end_col: u32,
}

/// One diagnostic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Where; `None` for errors with no place in a file (an unreadable main
    /// file).
    pub place: Option<Place>,
    pub message: String,
    /// The `help:` line, if any.
    pub hint: Option<String>,
    /// Secondary places with their notes (e.g. "first defined here").
    pub related: Vec<(Place, String)>,
}

/// 1-based (line, column in characters) of byte `at` in `text`; `at` is
/// clamped to the text and to a character boundary.
pub fn line_col(text: &str, at: usize) -> (u32, u32) {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let line = text[..line_start].matches('\n').count() + 1;
    let col = text[line_start..at].chars().count() + 1;
    (line as u32, col as u32)
}

impl LoadError {
    /// Every diagnostic, in the order the renderer prints them: errors with
    /// no place first, then by file and position.
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        let mut out: Vec<Diagnostic> = self
            .plain
            .iter()
            .map(|(m, hint)| Diagnostic {
                severity: Severity::Error,
                place: None,
                message: m.clone(),
                hint: hint.clone(),
                related: Vec::new(),
            })
            .collect();
        let mut diags: Vec<_> = self.diags.iter().collect();
        diags.sort_by_key(|(file, d)| (*file, d.span.start));
        for (file, d) in diags {
            out.push(Diagnostic {
                severity: if d.warning {
                    Severity::Warning
                } else {
                    Severity::Error
                },
                place: self.place(*file, d.span.clone()),
                message: d.message.clone(),
                hint: d.help.clone(),
                related: d
                    .secondary
                    .iter()
                    .filter_map(|(span, note)| {
                        Some((self.place(*file, span.clone())?, note.clone()))
                    })
                    .collect(),
            });
        }
        out
    }

    /// The text of a file the diagnostics refer to.
    pub fn source(&self, file_index: usize) -> Option<&str> {
        self.files.get(file_index).ok().map(|f| f.source().as_str())
    }

    fn place(&self, file_index: usize, span: Range<usize>) -> Option<Place> {
        let f = self.files.get(file_index).ok()?;
        let text = f.source();
        let (line, col) = line_col(text, span.start);
        let (end_line, end_col) = line_col(text, span.end.max(span.start));
        Some(Place {
            file: f.name().clone(),
            file_index,
            span,
            line,
            col,
            end_line,
            end_col,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters_and_clamps() {
        let text = "ab\nçd e\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 3), (2, 1));
        // `d` is byte 5 (ç is two bytes) but the second character.
        assert_eq!(line_col(text, 5), (2, 2));
        // Inside ç: back to its start.
        assert_eq!(line_col(text, 4), (2, 1));
        assert_eq!(line_col(text, 99), (3, 1));
    }

    #[test]
    fn diagnostics_carry_what_the_renderer_prints() {
        let e = crate::load_source("t.ttvm", "PUSH_INT 1\nADDD\nLABEL a\nLABEL a\n")
            .expect_err("two errors");
        let d = e.diagnostics();
        assert_eq!(d.len(), 2, "{d:?}");
        let p = d[0].place.as_ref().unwrap();
        assert_eq!(d[0].message, "unknown opcode `ADDD`");
        assert_eq!(d[0].hint.as_deref(), Some("did you mean `ADD`?"));
        assert_eq!((p.file.as_str(), p.file_index), ("t.ttvm", 0));
        assert_eq!((p.line, p.col, p.end_line, p.end_col), (2, 1, 2, 5));
        assert_eq!(p.span, 11..15);
        assert_eq!(d[1].message, "duplicate label `a`");
        assert_eq!(d[1].related.len(), 1);
        assert_eq!(d[1].related[0].0.line, 3);
        assert_eq!(d[1].related[0].1, "first defined here");
        // The renderer shows the same places.
        let text = e.render();
        assert!(
            text.contains("t.ttvm:2:1: error: unknown opcode `ADDD`"),
            "{text}"
        );
        assert!(
            text.contains("t.ttvm:4:7: error: duplicate label `a`"),
            "{text}"
        );
        assert_eq!(e.source(0), Some("PUSH_INT 1\nADDD\nLABEL a\nLABEL a\n"));
    }
}
