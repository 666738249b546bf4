//! The outline of one source file, for tools such as the language server:
//! where each instruction, label, target, variable and module path is, as
//! the assembler itself reads them. Lines that do not assemble contribute
//! nothing (their errors come from [`crate::load_source`]).

use super::parse;
use crate::bytecode::{escape, Instr, Opcode, OperandCursor, Shape, Token};
use std::ops::Range;

/// One assembled instruction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutlineInstr {
    pub opcode: Opcode,
    /// The mnemonic's bytes in the file.
    pub span: Range<usize>,
    /// 0-based line.
    pub line: u32,
}

/// A `LABEL name` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelDef {
    pub name: String,
    /// The name's bytes in the file.
    pub span: Range<usize>,
    /// The instruction index it names (in this file).
    pub index: u32,
}

/// How a name is used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UseKind {
    /// A jump, TRY, CALL, MAKE_FUNCTION or MAKE_LAMBDA target written as a
    /// label (numeric targets are not recorded).
    Target,
    /// `PUSH_STR name` right before `SPAWN`/`SPAWN_LINK`: a process body
    /// named by a label, a built-in or a file (SPEC §4.3).
    SpawnName,
    /// LOAD, CAPTURE, EXPORT: the variable is read.
    Read,
    /// STORE: the variable is written.
    Write,
    /// DELETE: the variable is forgotten.
    Delete,
    /// A parameter of CALL, MAKE_FUNCTION or MAKE_LAMBDA: a variable of the
    /// callee's frame, bound at the call.
    Param,
    /// The path of an IMPORT.
    ImportPath,
}

/// One use of a name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameUse {
    pub name: String,
    /// The name's bytes in the file (with quotes, for a quoted name).
    pub span: Range<usize>,
    /// The instruction index (in this file) holding it.
    pub instr: u32,
    pub kind: UseKind,
}

/// Everything an editor needs to know about where things are in a file.
#[derive(Clone, Debug, Default)]
pub struct Outline {
    pub instrs: Vec<OutlineInstr>,
    /// In file order.
    pub labels: Vec<LabelDef>,
    /// In file order.
    pub uses: Vec<NameUse>,
}

impl Outline {
    /// The label defined as `name`.
    pub fn label(&self, name: &str) -> Option<&LabelDef> {
        self.labels.iter().find(|l| l.name == name)
    }
}

/// Outline `text` (one file; nothing is imported).
pub fn outline(text: &str) -> Outline {
    let mut diags = Vec::new();
    let code = parse::assemble(text, &mut diags);
    let mut lines = Vec::new();
    let mut offset = 0;
    for raw in text.split('\n') {
        lines.push((offset, raw.strip_suffix('\r').unwrap_or(raw)));
        offset += raw.len() + 1;
    }
    let mut out = Outline::default();
    let mut labels: Vec<LabelDef> = code
        .label_spans
        .iter()
        .map(|(name, span)| LabelDef {
            name: name.clone(),
            span: span.clone(),
            index: code.labels[name],
        })
        .collect();
    labels.sort_by_key(|l| l.span.start);
    out.labels = labels;
    let mut uses = Vec::new();
    for (i, (instr, &(line, col))) in code.instrs.iter().zip(&code.locs).enumerate() {
        let (line_start, raw) = lines[line as usize - 1];
        let line_text = escape::strip_comment(raw);
        let opcode = instr.opcode();
        let at = col as usize - 1;
        let end = at + opcode.mnemonic().len();
        out.instrs.push(OutlineInstr {
            opcode,
            span: line_start + at..line_start + end,
            line: line - 1,
        });
        let mut cursor = OperandCursor::new(line_text, end, opcode.mnemonic());
        let mut push = |name: String, span: Range<usize>, kind| {
            uses.push(NameUse {
                name,
                span: line_start + span.start..line_start + span.end,
                instr: i as u32,
                kind,
            })
        };
        match opcode.info().shape {
            Shape::Var => {
                let kind = match opcode {
                    Opcode::Store => UseKind::Write,
                    Opcode::Delete => UseKind::Delete,
                    _ => UseKind::Read,
                };
                if let Ok(Some((tok, span))) = cursor.next_token() {
                    push(token_text(tok), span, kind);
                }
            }
            Shape::Target | Shape::Callee => {
                if let Ok(Some((Token::Bare(t), span))) = cursor.next_token() {
                    if !t.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '+') {
                        push(t, span, UseKind::Target);
                    }
                }
                while let Ok(Some((tok, span))) = cursor.next_token() {
                    push(token_text(tok), span, UseKind::Param);
                }
            }
            Shape::ModPath => {
                if let (Ok(Some((_, span))), Instr::Import(m)) = (cursor.next_token(), instr) {
                    push(m.path.clone(), span, UseKind::ImportPath);
                }
            }
            Shape::Text => {
                let spawned = matches!(
                    code.instrs.get(i + 1),
                    Some(Instr::Spawn(_) | Instr::SpawnLink(_))
                );
                if let (true, Instr::PushStr(s)) = (spawned, instr) {
                    push(
                        s.0.as_str().to_string(),
                        cursor.rest_span(),
                        UseKind::SpawnName,
                    );
                }
            }
            _ => {}
        }
    }
    out.uses = uses;
    out
}

fn token_text(tok: Token) -> String {
    match tok {
        Token::Bare(s) | Token::Quoted(s) => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outline_finds_labels_targets_variables_and_paths() {
        let text = "IMPORT \"lib/m\"\nPUSH_INT 3\nCALL sq n ; call\nSTORE r\n\
                    PUSH_STR sq\nSPAWN\nJMP 0\nLABEL sq\n  LOAD n\n  RET\nBOGUS\n";
        let o = outline(text);
        assert_eq!(o.instrs.len(), 9);
        assert_eq!(o.instrs[2].opcode, Opcode::Call);
        assert_eq!(&text[o.instrs[2].span.clone()], "CALL");
        assert_eq!(o.instrs[7].line, 8);
        assert_eq!(&text[o.instrs[7].span.clone()], "LOAD");
        let l = o.label("sq").unwrap();
        assert_eq!((l.index, &text[l.span.clone()]), (7, "sq"));
        let shown: Vec<_> = o
            .uses
            .iter()
            .map(|u| (u.kind, u.instr, &text[u.span.clone()], u.name.as_str()))
            .collect();
        assert_eq!(
            shown,
            [
                (UseKind::ImportPath, 0, "\"lib/m\"", "lib/m"),
                (UseKind::Target, 2, "sq", "sq"),
                (UseKind::Param, 2, "n", "n"),
                (UseKind::Write, 3, "r", "r"),
                (UseKind::SpawnName, 4, "sq", "sq"),
                (UseKind::Read, 7, "n", "n"),
            ]
        );
    }
}
