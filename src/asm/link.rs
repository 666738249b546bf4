//! Linking: every assembled unit laid out one after another in one
//! [`Program`], targets resolved, then the load-time analyses.

use super::diag::LoadError;
use super::parse;
use super::Unit;
use crate::bytecode::{Instr, Loc, Module, Nil, Program};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Link `units` (module 0 is the main program) into one program.
pub(super) fn link(
    units: Vec<Unit>,
    mut errors: LoadError,
    warnings: Vec<String>,
    builtin_module: u32,
    spawn_files: HashMap<String, u32>,
) -> Result<Program, LoadError> {
    let mut p = Program {
        code: Vec::new(),
        locs: Vec::new(),
        files: Vec::new(),
        modules: Vec::new(),
        module_of: Vec::new(),
        layout_of: Vec::new(),
        layouts: Vec::new(),
        block_start: Vec::new(),
        block_cost: Vec::new(),
        min_depth: Vec::new(),
        returns: Default::default(),
        moves: Vec::new(),
        label_at: HashMap::new(),
        warnings: warnings
            .into_iter()
            .map(crate::bytecode::Warning::plain)
            .collect(),
        builtin_module,
        spawn_files,
    };
    // Lay the modules out one after another.
    let mut starts = Vec::new();
    let mut next = 0u32;
    for u in &units {
        starts.push(next);
        next += u.code.instrs.len() as u32 + 1;
    }
    for (mi, u) in units.into_iter().enumerate() {
        let start = starts[mi];
        let len = u.code.instrs.len() as u32;
        let mut code = u.code.instrs;
        let mut suggestions = parse::LABEL_SUGGESTIONS_PER_FILE;
        for (i, text, span) in &u.code.targets {
            // A REPL entry may call a function an earlier entry defined
            // (only calls: a jump stays within its module's frame).
            let outer = u
                .outer
                .as_ref()
                .filter(|_| code[*i].callee().is_some() && !u.code.labels.contains_key(text));
            if let Some(&t) = outer.and_then(|o| o.get(text)) {
                set_target(&mut code[*i], t);
                continue;
            }
            match parse::resolve_target(text, span.clone(), &u.code.labels, len, &mut suggestions) {
                Ok(t) => set_target(&mut code[*i], start + t),
                Err(d) => errors.push(u.diag_file, d),
            }
        }
        for ((i, _, _), &m) in u.code.imports.iter().zip(&u.import_modules) {
            if let Instr::Import(mp) = &mut code[*i] {
                mp.module = m;
            }
        }
        let exports = exported_names(&code);
        code.push(Instr::Halt(Nil));
        p.locs.extend(u.code.locs.iter().map(|&(line, col)| Loc {
            file: mi as u32,
            line,
            col,
        }));
        p.locs.push(Loc {
            file: mi as u32,
            line: u.code.line_count,
            col: 1,
        });
        p.module_of
            .extend(std::iter::repeat_n(mi as u32, code.len()));
        p.code.extend(code);
        let labels: HashMap<String, u32> = u
            .code
            .labels
            .into_iter()
            .map(|(k, v)| (k, v + start))
            .collect();
        let mut sorted: Vec<_> = labels.iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(b.0));
        for (name, &at) in sorted {
            p.label_at
                .entry(at)
                .or_insert_with(|| Arc::from(name.as_str()));
        }
        p.modules.push(Module {
            file: mi as u32,
            start,
            end: start + len,
            labels,
            export_index: exports
                .iter()
                .enumerate()
                .map(|(i, a)| (a.clone(), i as u32))
                .collect(),
            exports,
        });
        p.files.push(u.file);
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    p.finish();
    Ok(p)
}

fn set_target(instr: &mut Instr, t: u32) {
    if let Some(x) = instr.label_mut() {
        *x = t;
    } else if let Some(c) = instr.callee_mut() {
        c.target = t;
    }
}

/// The names a module EXPORTs, each once, in order of first appearance.
fn exported_names(code: &[Instr]) -> Vec<ttvm_runtime::Atom> {
    let mut seen = HashSet::new();
    let mut names: Vec<ttvm_runtime::Atom> = Vec::new();
    for i in code {
        if let Instr::Export(v) = i {
            if seen.insert(&v.name) {
                names.push(v.name.clone());
            }
        }
    }
    names
}
