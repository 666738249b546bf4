//! Assembling one source file: lines → instructions with module-local
//! targets still to be linked, and diagnostics for everything wrong.

use super::diag::Diag;
use crate::bytecode::{escape, tinytotvm_only, Instr, Opcode, OperandCursor, OperandError};
use std::collections::HashMap;
use std::ops::Range;

/// One assembled file, before linking.
#[derive(Clone)]
pub(super) struct Assembled {
    pub instrs: Vec<Instr>,
    /// Per instruction: (byte offset of the line start, line, column).
    pub locs: Vec<(u32, u32)>,
    /// Label → local instruction index.
    pub labels: HashMap<String, u32>,
    /// Label → the span of its name in its LABEL line.
    pub label_spans: HashMap<String, Range<usize>>,
    /// Per instruction with a target: the reference to resolve.
    pub targets: Vec<(usize, String, Range<usize>)>,
    /// IMPORTs: (instruction index, path, span in file).
    pub imports: Vec<(usize, String, Range<usize>)>,
    /// `PUSH_STR s` directly followed by `SPAWN`/`SPAWN_LINK`: (index of the
    /// PUSH_STR, span of its line), for the files a program spawns.
    pub spawns: Vec<(usize, Range<usize>)>,
    /// The number of lines (for the implicit end).
    pub line_count: u32,
}

/// Names longer than this get no "did you mean" hint: edit distances cost
/// the product of the lengths, and a source line may be 64 MiB long.
const MAX_SUGGESTED_LEN: usize = 64;

/// "Did you mean" searches per file for unknown labels (each compares the
/// name with every label): beyond it the hint is only how to define one.
pub(super) const LABEL_SUGGESTIONS_PER_FILE: u32 = 64;

/// Whether `a` and `b` may be within edit distance `max` (their lengths
/// differ by at most `max`), and short enough to compare.
fn comparable(a: &str, b: &str, max: usize) -> bool {
    a.len() <= MAX_SUGGESTED_LEN && b.len() <= MAX_SUGGESTED_LEN && a.len().abs_diff(b.len()) <= max
}

fn suggest(word: &str) -> Option<&'static str> {
    if word.len() > MAX_SUGGESTED_LEN {
        return None;
    }
    let upper = word.to_ascii_uppercase();
    if let Some(op) = Opcode::from_mnemonic(&upper) {
        return Some(op.mnemonic());
    }
    if upper == "LABEL" {
        return Some("LABEL");
    }
    crate::bytecode::OPS
        .iter()
        .filter(|o| comparable(&upper, o.mnemonic, 2.max(o.mnemonic.len() / 4)))
        .map(|o| (strsim::damerau_levenshtein(&upper, o.mnemonic), o.mnemonic))
        .filter(|&(d, m)| d <= 2.max(m.len() / 4))
        .min()
        .map(|(_, m)| m)
}

/// Assemble `text`. Errors are pushed to `diags` (all of them).
pub(super) fn assemble(text: &str, diags: &mut Vec<Diag>) -> Assembled {
    let mut out = Assembled {
        instrs: Vec::new(),
        locs: Vec::new(),
        labels: HashMap::new(),
        label_spans: HashMap::new(),
        targets: Vec::new(),
        imports: Vec::new(),
        spawns: Vec::new(),
        line_count: 0,
    };
    // The span of the last instruction's line, when it was a PUSH_STR.
    let mut last_push_str: Option<Range<usize>> = None;
    let mut offset = 0usize;
    for (lineno, raw) in text.split('\n').enumerate() {
        let line_start = offset;
        offset += raw.len() + 1;
        out.line_count = lineno as u32 + 1;
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let line = escape::strip_comment(raw);
        let trimmed = line.trim_start_matches([' ', '\t']);
        if trimmed.trim_end().is_empty() {
            continue;
        }
        let col = line.len() - trimmed.len();
        let word_len = trimmed.find([' ', '\t']).unwrap_or(trimmed.len());
        let word = &trimmed[..word_len];
        let span_of = |r: Range<usize>| line_start + r.start..line_start + r.end;
        let word_span = span_of(col..col + word_len);

        if word == "LABEL" {
            let mut cursor = OperandCursor::new(line, col + word_len, "LABEL");
            match parse_label(&mut cursor) {
                Ok((name, span)) => {
                    if let Some(first) = out.label_spans.get(&name) {
                        diags.push(
                            Diag::error(span_of(span), format!("duplicate label `{name}`"))
                                .with_secondary(first.clone(), "first defined here")
                                .with_help("rename one of the labels"),
                        );
                    } else {
                        out.label_spans.insert(name.clone(), span_of(span));
                        out.labels.insert(name, out.instrs.len() as u32);
                    }
                }
                Err(e) => diags.push(Diag::from_operand(e, line_start)),
            }
            continue;
        }

        let Some(opcode) = Opcode::from_mnemonic(word) else {
            let upper = word.to_ascii_uppercase();
            let diag = if let Some(instead) = tinytotvm_only(&upper) {
                Diag::error(
                    word_span,
                    format!("`{word}` is a TinyTotVM opcode that is not part of ttvm"),
                )
                .with_help(instead)
            } else {
                let d = Diag::error(word_span, format!("unknown opcode `{word}`"));
                match suggest(word) {
                    Some(s) => d.with_help(format!("did you mean `{s}`?")),
                    None => d.with_help("see docs/LANGUAGE.md for the instruction set"),
                }
            };
            diags.push(diag);
            continue;
        };

        let mut cursor = OperandCursor::new(line, col + word_len, opcode.mnemonic());
        let parsed = Instr::parse(opcode, &mut cursor).and_then(|instr| {
            if cursor.at_end() {
                Ok(instr)
            } else {
                let span = cursor.rest_span();
                let takes = match opcode.info().shape {
                    crate::bytecode::Shape::None | crate::bytecode::Shape::Owner => {
                        "takes no operand".to_string()
                    }
                    s => format!("takes one operand ({})", s.syntax()),
                };
                Err(OperandError::new(
                    span,
                    format!("unexpected extra operand: {} {takes}", opcode.mnemonic()),
                ))
            }
        });
        match parsed {
            Ok(instr) => {
                let index = out.instrs.len();
                if let Some(t) = cursor.target.take() {
                    out.targets.push((index, t.text, span_of(t.span)));
                }
                if let Some((path, span)) = cursor.import.take() {
                    out.imports.push((index, path, span_of(span)));
                }
                let line_span = span_of(col..line.trim_end().len());
                match (&instr, last_push_str.take()) {
                    (Instr::Spawn(_) | Instr::SpawnLink(_), Some(s)) => {
                        out.spawns.push((index - 1, s));
                    }
                    (Instr::PushStr(_), _) => last_push_str = Some(line_span),
                    _ => {}
                }
                out.instrs.push(instr);
                out.locs.push((lineno as u32 + 1, col as u32 + 1));
            }
            Err(e) => diags.push(Diag::from_operand(e, line_start)),
        }
    }
    out
}

fn parse_label(cursor: &mut OperandCursor<'_>) -> Result<(String, Range<usize>), OperandError> {
    let (tok, span) = cursor.expect("a label name")?;
    let name = match tok {
        crate::bytecode::Token::Bare(s) | crate::bytecode::Token::Quoted(s) => s,
    };
    if name.is_empty() {
        return Err(OperandError::new(span, "a label name cannot be empty"));
    }
    if name.bytes().all(|b| b.is_ascii_digit()) {
        return Err(
            OperandError::new(span, format!("label `{name}` is a number"))
                .with_help("numbers name instruction indices; start a label with a letter"),
        );
    }
    if !cursor.at_end() {
        let rest = cursor.rest_span();
        return Err(OperandError::new(
            rest,
            "unexpected extra operand: LABEL takes one name",
        ));
    }
    Ok((name, span))
}

/// Resolve a target reference against a module's labels and length.
/// `suggestions` is how many more unknown labels of this file may get a
/// "did you mean" search; one that does uses one up.
pub(super) fn resolve_target(
    text: &str,
    span: Range<usize>,
    labels: &HashMap<String, u32>,
    len: u32,
    suggestions: &mut u32,
) -> Result<u32, Diag> {
    if text.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '+') {
        let n = crate::bytecode::parse_int(text, &(0..0)).map_err(|_| {
            Diag::error(span.clone(), format!("invalid instruction index `{text}`"))
        })?;
        if n < 0 || n > len as i64 {
            return Err(Diag::error(
                span,
                format!("instruction index {n} is out of range: the file has {len} instructions"),
            )
            .with_help(format!("numeric targets lie between 0 and {len}")));
        }
        return Ok(n as u32);
    }
    labels.get(text).copied().ok_or_else(|| {
        let near = if *suggestions > 0 && text.len() <= MAX_SUGGESTED_LEN {
            *suggestions -= 1;
            labels
                .keys()
                .filter(|l| comparable(l, text, 2.max(l.len() / 3)))
                .map(|l| (strsim::levenshtein(l, text), l))
                .filter(|(d, l)| *d <= 2.max(l.len() / 3))
                .min()
        } else {
            None
        };
        let d = Diag::error(span, format!("unknown label `{text}`"));
        match near {
            Some((_, l)) => d.with_help(format!("did you mean `{l}`?")),
            None => d.with_help(format!("define it with `LABEL {text}`")),
        }
    })
}
