//! Completion: opcodes (from the op table) and `LABEL` where a line's first
//! word goes; labels where a target goes (JMP, JZ, JNZ, TRY, CALL,
//! MAKE_FUNCTION, MAKE_LAMBDA); variable names where a variable goes (LOAD,
//! STORE, DELETE, CAPTURE, EXPORT, and the parameters after a CALL's
//! target). Variable names are offered from the whole file.

use super::analysis::{is_variable, Analysis};
use super::hover::opcode_doc;
use crate::bytecode::{escape, Opcode, Shape, OPS};
use lsp_types::{CompletionItem, CompletionItemKind, Documentation, MarkupContent, MarkupKind};

pub fn completion(a: &Analysis, at: usize) -> Vec<CompletionItem> {
    let at = at.min(a.text.len());
    let line_start = a.text[..at].rfind('\n').map_or(0, |i| i + 1);
    let before = &a.text[line_start..at];
    let code = escape::strip_comment(before);
    if code.len() < before.len() {
        return Vec::new(); // in a comment
    }
    let code = code.trim_start_matches([' ', '\t']);
    let Some(split) = code.find([' ', '\t']) else {
        return opcodes();
    };
    let (first, rest) = code.split_at(split);
    let tokens = rest.split([' ', '\t']).filter(|w| !w.is_empty()).count();
    // The operand being written: 0 for the first.
    let operand = if rest.ends_with([' ', '\t']) {
        tokens
    } else {
        tokens - 1
    };
    let Some(op) = Opcode::from_mnemonic(first) else {
        return Vec::new();
    };
    match (op.info().shape, operand) {
        (Shape::Target | Shape::Callee, 0) => labels(a),
        (Shape::Callee, _) | (Shape::Var, 0) => variables(a),
        _ => Vec::new(),
    }
}

fn opcodes() -> Vec<CompletionItem> {
    let mut items: Vec<CompletionItem> = OPS
        .iter()
        .map(|op| CompletionItem {
            label: op.mnemonic.to_string(),
            kind: Some(CompletionItemKind::KEYWORD),
            detail: Some(match op.shape.syntax() {
                "" => op.section.to_string(),
                s => format!("{} {s} — {}", op.mnemonic, op.section),
            }),
            documentation: Some(markdown(opcode_doc(op))),
            ..CompletionItem::default()
        })
        .collect();
    items.push(CompletionItem {
        label: "LABEL".into(),
        kind: Some(CompletionItemKind::KEYWORD),
        detail: Some("LABEL name — names the next instruction".into()),
        ..CompletionItem::default()
    });
    items
}

fn labels(a: &Analysis) -> Vec<CompletionItem> {
    a.outline
        .labels
        .iter()
        .map(|l| {
            let function = a.is_function(&l.name);
            CompletionItem {
                label: l.name.clone(),
                kind: Some(if function {
                    CompletionItemKind::FUNCTION
                } else {
                    CompletionItemKind::CONSTANT
                }),
                detail: Some(format!(
                    "{} on line {}",
                    if function { "function" } else { "label" },
                    a.line_of(l.span.start)
                )),
                ..CompletionItem::default()
            }
        })
        .collect()
}

fn variables(a: &Analysis) -> Vec<CompletionItem> {
    let mut names: Vec<&str> = a
        .outline
        .uses
        .iter()
        .filter(|u| is_variable(u.kind))
        .map(|u| u.name.as_str())
        .collect();
    names.sort_unstable();
    names.dedup();
    names
        .into_iter()
        .map(|n| CompletionItem {
            label: n.to_string(),
            kind: Some(CompletionItemKind::VARIABLE),
            ..CompletionItem::default()
        })
        .collect()
}

fn markdown(value: String) -> Documentation {
    Documentation::MarkupContent(MarkupContent {
        kind: MarkupKind::Markdown,
        value,
    })
}
