//! The assembler's errors and the loader's warnings as LSP diagnostics.
//!
//! Errors in the document are shown where they are. An error in a file the
//! document imports (or spawns by name) is shown on the IMPORT (or
//! `PUSH_STR`) that names that file — or, for a file reached through
//! another module, on the document's first IMPORT — with the error's own
//! place as related information. Warnings come from a program that loads,
//! so they appear once the document has no errors.

use super::analysis::Analysis;
use super::text::{Encoding, LineIndex};
use super::uri;
use crate::asm::{self, Place, Severity, UseKind};
use lsp_types::{Diagnostic, DiagnosticRelatedInformation, DiagnosticSeverity, Location, Range};
use std::path::Path;

/// Every diagnostic of the document.
pub fn diagnostics(a: &Analysis) -> Vec<Diagnostic> {
    match &a.loaded {
        Err(e) => e
            .diagnostics()
            .into_iter()
            .map(|d| error(a, e, d))
            .collect(),
        Ok(p) => p
            .warnings
            .iter()
            .filter(|w| w.loc.is_none_or(|l| l.file == 0))
            .map(|w| {
                let range = match w.loc {
                    Some(l) => instruction_range(a, l.line, l.col),
                    None => Range::default(),
                };
                diagnostic(range, DiagnosticSeverity::WARNING, w.message.clone(), None)
            })
            .collect(),
    }
}

fn diagnostic(
    range: Range,
    severity: DiagnosticSeverity,
    message: String,
    related: Option<Vec<DiagnosticRelatedInformation>>,
) -> Diagnostic {
    Diagnostic {
        range,
        severity: Some(severity),
        source: Some("ttvm".into()),
        message,
        related_information: related,
        ..Diagnostic::default()
    }
}

/// The mnemonic at 1-based `line` and byte column `col` (as a [`Loc`]
/// gives them), or the start of that line.
///
/// [`Loc`]: crate::bytecode::Loc
fn instruction_range(a: &Analysis, line: u32, col: u32) -> Range {
    let at = a.index.line_start(&a.text, line.saturating_sub(1)) + col.saturating_sub(1) as usize;
    match a.outline.instrs.iter().find(|i| i.span.start == at) {
        Some(i) => a.range(i.span.clone()),
        None => a.range(at..at),
    }
}

fn error(a: &Analysis, e: &asm::LoadError, d: asm::Diagnostic) -> Diagnostic {
    let severity = match d.severity {
        Severity::Error => DiagnosticSeverity::ERROR,
        Severity::Warning => DiagnosticSeverity::WARNING,
    };
    let mut message = d.message;
    if let Some(h) = &d.hint {
        message.push_str("\nhelp: ");
        message.push_str(h);
    }
    let Some(place) = d.place else {
        return diagnostic(Range::default(), severity, message, None);
    };
    if place.file_index == 0 {
        let related: Vec<_> = d
            .related
            .iter()
            .map(|(p, note)| DiagnosticRelatedInformation {
                location: a.location(p.span.clone()),
                message: note.clone(),
            })
            .collect();
        return diagnostic(
            a.range(place.span.clone()),
            severity,
            message,
            (!related.is_empty()).then_some(related),
        );
    }
    // In another file: show it on what brought that file in.
    let message = format!("{}:{}:{}: {message}", place.file, place.line, place.col);
    let related = location_in(e, &place, a.index.encoding()).map(|location| {
        vec![DiagnosticRelatedInformation {
            location,
            message: "the error is here".into(),
        }]
    });
    diagnostic(anchor(a, &place.file), severity, message, related)
}

/// Where in the document to show an error of the file `name`.
fn anchor(a: &Analysis, name: &str) -> Range {
    let shown = name.replace("<std>/", "std/");
    let file_refs = || {
        a.outline
            .uses
            .iter()
            .filter(|u| matches!(u.kind, UseKind::ImportPath | UseKind::SpawnName))
    };
    let names = |u: &asm::NameUse| {
        let p = Path::new(&shown);
        p.ends_with(&u.name) || p.ends_with(format!("{}.ttvm", u.name))
    };
    file_refs()
        .find(|u| names(u))
        .or_else(|| file_refs().find(|u| u.kind == UseKind::ImportPath))
        .map_or_else(Range::default, |u| a.range(u.span.clone()))
}

/// A place in another file as an LSP location, when that file has a path.
fn location_in(e: &asm::LoadError, place: &Place, encoding: Encoding) -> Option<Location> {
    let path = Path::new(&place.file);
    let uri = uri::from_path(&std::fs::canonicalize(path).ok()?)?;
    let text = e.source(place.file_index)?;
    let index = LineIndex::new(text, encoding);
    Some(Location::new(uri, index.range(text, place.span.clone())))
}
