//! One analysed document: the assembler's outline of its text and the
//! program loaded from it (imports resolved beside the document's file), or
//! the load errors. Every feature of the server reads this.

use super::text::{Encoding, LineIndex};
use super::uri;
use crate::asm::{self, LabelDef, LoadError, NameUse, Outline, OutlineInstr, UseKind};
use crate::bytecode::Opcode;
use crate::Program;
use lsp_types::Uri;

pub struct Analysis {
    pub uri: Uri,
    pub text: String,
    pub index: LineIndex,
    pub outline: Outline,
    /// The whole program (the document is its main module, module 0), or
    /// why it does not load.
    pub loaded: Result<Program, LoadError>,
}

/// What is under the cursor.
pub enum Item<'a> {
    Opcode(&'a OutlineInstr),
    /// The `LABEL` keyword of a label line.
    LabelKeyword,
    Label(&'a LabelDef),
    Use(&'a NameUse),
}

impl Analysis {
    pub fn new(uri: Uri, text: String, encoding: Encoding) -> Analysis {
        let path = uri::to_path(&uri);
        // Loading under the document's own path makes its IMPORTs resolve
        // beside it, as `ttvm FILE` would.
        let name = match &path {
            Some(p) => p.display().to_string(),
            None => uri.as_str().to_string(),
        };
        let loaded = asm::load_source(&name, &text);
        Analysis {
            index: LineIndex::new(&text, encoding),
            outline: asm::outline(&text),
            uri,
            loaded,
            text,
        }
    }

    pub fn program(&self) -> Option<&Program> {
        self.loaded.as_ref().ok()
    }

    pub fn range(&self, span: std::ops::Range<usize>) -> lsp_types::Range {
        self.index.range(&self.text, span)
    }

    pub fn location(&self, span: std::ops::Range<usize>) -> lsp_types::Location {
        lsp_types::Location::new(self.uri.clone(), self.range(span))
    }

    pub fn offset(&self, pos: lsp_types::Position) -> usize {
        self.index.offset(&self.text, pos)
    }

    /// The name, mnemonic or keyword at byte `at` (a cursor just after a
    /// word is on it).
    pub fn item_at(&self, at: usize) -> Option<Item<'_>> {
        let on = |span: &std::ops::Range<usize>| span.start <= at && at <= span.end;
        if let Some(u) = self.outline.uses.iter().find(|u| on(&u.span)) {
            return Some(Item::Use(u));
        }
        if let Some(l) = self.outline.labels.iter().find(|l| on(&l.span)) {
            return Some(Item::Label(l));
        }
        if let Some(i) = self.outline.instrs.iter().find(|i| on(&i.span)) {
            return Some(Item::Opcode(i));
        }
        let line_start = self.text[..at.min(self.text.len())]
            .rfind('\n')
            .map_or(0, |i| i + 1);
        let line_end = self.text[line_start..]
            .find('\n')
            .map_or(self.text.len(), |i| line_start + i);
        let line = &self.text[line_start..line_end];
        let word_start = line_start + line.len() - line.trim_start_matches([' ', '\t']).len();
        let word = self.text[word_start..line_end]
            .split([' ', '\t', '\r'])
            .next()
            .unwrap_or("");
        let in_word = word_start <= at && at <= word_start + word.len();
        let is_label_line = self
            .outline
            .labels
            .iter()
            .any(|l| (line_start..line_end).contains(&l.span.start));
        (word == "LABEL" && in_word && is_label_line).then_some(Item::LabelKeyword)
    }

    /// The frame a variable use belongs to: the frame layout of its
    /// instruction (of the callee, for a parameter). `None` when the file
    /// does not load: then variables are matched by name in the whole file.
    pub fn scope(&self, u: &NameUse) -> Option<u32> {
        let p = self.program()?;
        let pc = if u.kind == UseKind::Param {
            p.code.get(u.instr as usize)?.callee()?.target
        } else {
            u.instr
        };
        p.layout_of.get(pc as usize).copied()
    }

    /// The uses of the same variable as `u`: same name and same frame.
    pub fn same_variable<'a>(&'a self, u: &NameUse) -> Vec<&'a NameUse> {
        let scope = self.scope(u);
        self.outline
            .uses
            .iter()
            .filter(|v| is_variable(v.kind) && v.name == u.name)
            .filter(|v| scope.is_none() || self.scope(v) == scope)
            .collect()
    }

    /// True for a label that is called, made into a function value or
    /// spawned: a function of the file.
    pub fn is_function(&self, label: &str) -> bool {
        self.outline.uses.iter().any(|u| {
            u.name == label
                && match u.kind {
                    UseKind::SpawnName => true,
                    UseKind::Target => matches!(
                        self.outline.instrs.get(u.instr as usize).map(|i| i.opcode),
                        Some(Opcode::Call | Opcode::MakeFunction | Opcode::MakeLambda)
                    ),
                    _ => false,
                }
        })
    }

    /// The uses naming a label (targets and spawned names).
    pub fn label_uses<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a NameUse> + 'a {
        self.outline
            .uses
            .iter()
            .filter(move |u| u.name == name && is_label_use(u.kind))
    }

    /// The name of the function whose frame is `scope` ("top level" for
    /// the file's first instruction's frame).
    pub fn frame_name(&self, scope: u32) -> Option<String> {
        let p = self.program()?;
        let labels = self
            .outline
            .labels
            .iter()
            .filter(|l| self.is_function(&l.name));
        for l in labels {
            if p.layout_of.get(l.index as usize) == Some(&scope) {
                return Some(format!("`{}`", l.name));
            }
        }
        (p.layout_of.first() == Some(&scope)).then(|| "the top level".to_string())
    }

    /// 1-based line of a byte offset.
    pub fn line_of(&self, at: usize) -> u32 {
        self.index.position(&self.text, at).line + 1
    }
}

pub fn is_variable(kind: UseKind) -> bool {
    matches!(
        kind,
        UseKind::Read | UseKind::Write | UseKind::Delete | UseKind::Param
    )
}

pub fn is_label_use(kind: UseKind) -> bool {
    matches!(kind, UseKind::Target | UseKind::SpawnName)
}
