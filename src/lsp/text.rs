//! Positions: byte offsets in a document ↔ LSP positions (0-based line and
//! a column counted in UTF-16 code units, or in bytes when the client
//! accepts UTF-8). Lines end at `\n`, as the assembler reads them; a `\r`
//! before it belongs to the line.

use lsp_types::{Position, Range};

/// How the client counts columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Utf16,
    Utf8,
}

/// Line starts of one text, for converting positions.
#[derive(Clone, Debug)]
pub struct LineIndex {
    starts: Vec<usize>,
    encoding: Encoding,
}

impl LineIndex {
    pub fn new(text: &str, encoding: Encoding) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts, encoding }
    }

    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// The byte offset where 0-based `line` starts (the end of the text for
    /// lines past it).
    pub fn line_start(&self, text: &str, line: u32) -> usize {
        self.starts
            .get(line as usize)
            .copied()
            .unwrap_or(text.len())
    }

    /// The position of byte `at` (clamped to the text and a char boundary).
    pub fn position(&self, text: &str, at: usize) -> Position {
        let mut at = at.min(text.len());
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        let line = self.starts.partition_point(|&s| s <= at) - 1;
        let before = &text[self.starts[line]..at];
        let character = match self.encoding {
            Encoding::Utf8 => before.len(),
            Encoding::Utf16 => before.chars().map(char::len_utf16).sum(),
        };
        Position::new(line as u32, character as u32)
    }

    pub fn range(&self, text: &str, span: std::ops::Range<usize>) -> Range {
        Range::new(
            self.position(text, span.start),
            self.position(text, span.end.max(span.start)),
        )
    }

    /// The byte offset of a position; a column past the end of its line
    /// means the line's end, a line past the text the text's end.
    pub fn offset(&self, text: &str, pos: Position) -> usize {
        let Some(&start) = self.starts.get(pos.line as usize) else {
            return text.len();
        };
        let end = self
            .starts
            .get(pos.line as usize + 1)
            .map_or(text.len(), |&next| next - 1);
        let mut units = 0usize;
        for (i, c) in text[start..end].char_indices() {
            if units >= pos.character as usize {
                return start + i;
            }
            units += match self.encoding {
                Encoding::Utf8 => c.len_utf8(),
                Encoding::Utf16 => c.len_utf16(),
            };
        }
        end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_round_trip_in_utf16_and_utf8() {
        let text = "a\n\u{1F600}b\r\nçx";
        let u16 = LineIndex::new(text, Encoding::Utf16);
        // `b` is after a surrogate pair: two UTF-16 units, four bytes.
        let b = text.find('b').unwrap();
        assert_eq!(u16.position(text, b), Position::new(1, 2));
        assert_eq!(u16.offset(text, Position::new(1, 2)), b);
        let x = text.find('x').unwrap();
        assert_eq!(u16.position(text, x), Position::new(2, 1));
        assert_eq!(u16.offset(text, Position::new(2, 1)), x);
        let u8 = LineIndex::new(text, Encoding::Utf8);
        assert_eq!(u8.position(text, x), Position::new(2, 2));
        assert_eq!(u8.offset(text, Position::new(2, 2)), x);
        // Past the end of a line or of the text.
        assert_eq!(u16.offset(text, Position::new(0, 9)), 1);
        assert_eq!(u16.offset(text, Position::new(7, 0)), text.len());
        assert_eq!(u16.position(text, 999), Position::new(2, 2));
    }
}
