//! A padded markdown table.

use std::fmt::Write as _;

/// A markdown table whose columns are padded, so it reads as well on a
/// terminal as rendered.
pub struct Table {
    pub rows: Vec<Vec<String>>,
    /// Right-aligned columns (numbers).
    right: Vec<bool>,
}

impl Table {
    pub fn new(header: &[&str]) -> Table {
        Table {
            rows: vec![header.iter().map(|h| h.to_string()).collect()],
            // Every column but the first holds numbers.
            right: (0..header.len()).map(|i| i > 0).collect(),
        }
    }

    pub fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    pub fn render(&self, out: &mut String) {
        let n = self.right.len();
        let width: Vec<usize> = (0..n)
            .map(|i| {
                self.rows
                    .iter()
                    .map(|r| r[i].chars().count())
                    .max()
                    .unwrap_or(0)
                    .max(3)
            })
            .collect();
        let line = |out: &mut String, cells: &[String]| {
            out.push('|');
            for (i, c) in cells.iter().enumerate() {
                let w = width[i];
                let _ = if self.right[i] {
                    write!(out, " {c:>w$} |")
                } else {
                    write!(out, " {c:<w$} |")
                };
            }
            out.push('\n');
        };
        line(out, &self.rows[0]);
        out.push('|');
        for (w, &right) in width.iter().zip(&self.right) {
            out.push_str(&"-".repeat(w + if right { 1 } else { 2 }));
            out.push_str(if right { ":|" } else { "|" });
        }
        out.push('\n');
        for r in &self.rows[1..] {
            line(out, r);
        }
    }
}
