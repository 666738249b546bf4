//! Go to definition, find references and the document's symbols.
//!
//! Labels are per file (as the assembler resolves them). Variables are per
//! frame when the document loads — the frame layouts the loader computes
//! (docs/ARCHITECTURE.md, decision 1) — and per name in the whole file
//! when it does not. A variable's definitions are its STOREs and the
//! parameters that bind it in the same frame; failing those, the EXPORT of
//! an imported module that provides it; failing that, every STORE,
//! parameter and CAPTURE of that name in the file (a closure's captured
//! variables are set where the closure is made).

use super::analysis::{is_label_use, is_variable, Analysis, Item};
use super::uri;
use crate::asm::{self, LabelDef, NameUse, UseKind};
use crate::bytecode::{Instr, Opcode};
use lsp_types::{DocumentSymbol, Location, Range, SymbolKind};

pub fn definition(a: &Analysis, at: usize) -> Vec<Location> {
    match a.item_at(at) {
        Some(Item::Label(l)) => vec![a.location(l.span.clone())],
        Some(Item::Use(u)) if is_label_use(u.kind) => match a.outline.label(&u.name) {
            Some(l) => vec![a.location(l.span.clone())],
            None => spawned_file(a, u).into_iter().collect(),
        },
        Some(Item::Use(u)) if u.kind == UseKind::ImportPath => {
            imported_file(a, u).into_iter().collect()
        }
        Some(Item::Use(u)) => variable_definitions(a, u),
        _ => Vec::new(),
    }
}

pub fn references(a: &Analysis, at: usize, with_declaration: bool) -> Vec<Location> {
    let label = match a.item_at(at) {
        Some(Item::Label(l)) => l.name.as_str(),
        Some(Item::Use(u)) if is_label_use(u.kind) => u.name.as_str(),
        Some(Item::Use(u)) if is_variable(u.kind) => {
            return a
                .same_variable(u)
                .into_iter()
                .filter(|v| with_declaration || !matches!(v.kind, UseKind::Write | UseKind::Param))
                .map(|v| a.location(v.span.clone()))
                .collect();
        }
        _ => return Vec::new(),
    };
    let mut out = Vec::new();
    if with_declaration {
        if let Some(l) = a.outline.label(label) {
            out.push(a.location(l.span.clone()));
        }
    }
    out.extend(a.label_uses(label).map(|u| a.location(u.span.clone())));
    out
}

fn variable_definitions(a: &Analysis, u: &NameUse) -> Vec<Location> {
    let same: Vec<Location> = a
        .same_variable(u)
        .into_iter()
        .filter(|v| matches!(v.kind, UseKind::Write | UseKind::Param))
        .map(|v| a.location(v.span.clone()))
        .collect();
    if !same.is_empty() {
        return same;
    }
    if let Some(l) = exported(a, &u.name) {
        return vec![l];
    }
    a.outline
        .uses
        .iter()
        .filter(|v| v.name == u.name)
        .filter(|v| {
            matches!(v.kind, UseKind::Write | UseKind::Param)
                || a.outline.instrs.get(v.instr as usize).map(|i| i.opcode) == Some(Opcode::Capture)
        })
        .map(|v| a.location(v.span.clone()))
        .collect()
}

/// The EXPORT of `name` in a module the document imports.
fn exported(a: &Analysis, name: &str) -> Option<Location> {
    let p = a.program()?;
    let main = &p.modules[0];
    for instr in &p.code[main.start as usize..main.end as usize] {
        let Instr::Import(mp) = instr else { continue };
        let Some(m) = p.modules.get(mp.module as usize) else {
            continue;
        };
        if !m.exports.iter().any(|e| e.as_str() == name) {
            continue;
        }
        let file = &p.files[m.file as usize];
        let uri = uri::from_path(&std::fs::canonicalize(&file.path).ok()?)?;
        let outline = asm::outline(&file.text);
        let export = outline.uses.iter().find(|v| {
            v.name == name
                && outline.instrs.get(v.instr as usize).map(|i| i.opcode) == Some(Opcode::Export)
        })?;
        let index = super::text::LineIndex::new(&file.text, a.index.encoding());
        return Some(Location::new(
            uri,
            index.range(&file.text, export.span.clone()),
        ));
    }
    None
}

fn file_start(path: &std::path::Path) -> Option<Location> {
    let uri = uri::from_path(&std::fs::canonicalize(path).ok()?)?;
    Some(Location::new(uri, Range::default()))
}

fn imported_file(a: &Analysis, u: &NameUse) -> Option<Location> {
    let p = a.program()?;
    let Instr::Import(m) = p.code.get(u.instr as usize)? else {
        return None;
    };
    file_start(&p.files[p.modules.get(m.module as usize)?.file as usize].path)
}

fn spawned_file(a: &Analysis, u: &NameUse) -> Option<Location> {
    let p = a.program()?;
    let m = *p.spawn_files.get(&u.name)?;
    file_start(&p.files[p.modules[m as usize].file as usize].path)
}

/// The labels of the document: functions (called, made into function
/// values or spawned) at the top, each holding the labels after it that
/// run in its frame (when the file loads; up to the next function when it
/// does not); other labels at the top too, as constants.
#[allow(deprecated)] // DocumentSymbol::deprecated must be written.
pub fn symbols(a: &Analysis) -> Vec<DocumentSymbol> {
    let symbol = |l: &LabelDef, kind, range: Range| DocumentSymbol {
        name: l.name.clone(),
        detail: Some(format!("line {}", a.line_of(l.span.start))),
        kind,
        tags: None,
        deprecated: None,
        range,
        selection_range: a.range(l.span.clone()),
        children: None,
    };
    let same_frame = |f: &LabelDef, l: &LabelDef| match a.program() {
        Some(p) => p.layout_of.get(f.index as usize) == p.layout_of.get(l.index as usize),
        None => true,
    };
    // A function's range runs from its label's line to the line of the
    // label that ends it (or the end of the file).
    let close = |f: &mut DocumentSymbol, end: usize| {
        f.range.end = a.index.position(&a.text, end);
    };
    let mut out: Vec<DocumentSymbol> = Vec::new();
    let mut current: Option<(DocumentSymbol, &LabelDef)> = None;
    for l in &a.outline.labels {
        let function = a.is_function(&l.name);
        if let Some((mut f, def)) = current.take() {
            if function || !same_frame(def, l) {
                close(&mut f, line_start(a, l.span.start));
                out.push(f);
            } else {
                let s = symbol(l, SymbolKind::CONSTANT, a.range(l.span.clone()));
                f.children.get_or_insert_with(Vec::new).push(s);
                current = Some((f, def));
                continue;
            }
        }
        if function {
            let start = a.index.position(&a.text, line_start(a, l.span.start));
            current = Some((symbol(l, SymbolKind::FUNCTION, Range::new(start, start)), l));
        } else {
            out.push(symbol(l, SymbolKind::CONSTANT, a.range(l.span.clone())));
        }
    }
    if let Some((mut f, _)) = current {
        close(&mut f, a.text.len());
        out.push(f);
    }
    out
}

fn line_start(a: &Analysis, at: usize) -> usize {
    a.text[..at].rfind('\n').map_or(0, |i| i + 1)
}
