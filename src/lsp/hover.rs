//! Hover text: every opcode's documentation, generated from the op table
//! (`OPS`: mnemonic, operand syntax, stack effect, section, summary), and
//! short facts about labels, variables and imported modules.

use super::analysis::{Analysis, Item};
use crate::asm::{NameUse, UseKind};
use crate::bytecode::{Instr, OpInfo, Shape};
use lsp_types::{Hover, HoverContents, MarkupContent, MarkupKind};

/// The documentation of one opcode, as Markdown.
pub fn opcode_doc(op: &OpInfo) -> String {
    let syntax = op.shape.syntax();
    let head = if syntax.is_empty() {
        op.mnemonic.to_string()
    } else {
        format!("{} {syntax}", op.mnemonic)
    };
    let count = |n: i8| {
        if n < 0 {
            "depends on the operand".to_string()
        } else {
            n.to_string()
        }
    };
    let mut facts = vec![
        format!("pops {}", count(op.pops)),
        format!("pushes {}", count(op.pushes)),
    ];
    if op.ends_block {
        facts.push("ends a basic block".into());
    }
    if op.no_fallthrough {
        facts.push("never falls through".into());
    }
    let operand = match op.shape {
        Shape::None | Shape::Owner => "no operand".to_string(),
        s => format!("operand `{}` ({})", s.syntax(), shape_words(s)),
    };
    format!(
        "```ttvm\n{head}\n```\n{}\n\n**{}** · {operand} · {}",
        op.summary,
        op.section,
        facts.join(" · ")
    )
}

fn shape_words(s: Shape) -> &'static str {
    match s {
        Shape::Int => "an integer",
        Shape::Float => "a number",
        Shape::Text => "a string: quoted with escapes, or the rest of the line",
        Shape::Bool => "`true` or `false`",
        Shape::Var => "a variable name",
        Shape::Name => "a field name",
        Shape::Target => "a label or instruction index",
        Shape::Callee => "a label or index, then parameter names",
        Shape::Count => "a count",
        Shape::OptInt => "optional: else popped",
        Shape::OptRef => "optional: else popped",
        Shape::OptName => "optional: else popped",
        Shape::OptField => "optional field name: else a Str popped from the top",
        Shape::ModPath => "a module path or `std/NAME`",
        Shape::None | Shape::Owner => "",
    }
}

const LABEL_DOC: &str = "```ttvm\nLABEL name\n```\nNames the next instruction: a target for \
jumps, `TRY`, `CALL`, `MAKE_FUNCTION`, `MAKE_LAMBDA` and `SPAWN`. Labels are local to their file.";

pub fn hover(a: &Analysis, at: usize) -> Option<Hover> {
    let (text, span) = match a.item_at(at)? {
        Item::Opcode(i) => (opcode_doc(i.opcode.info()), Some(i.span.clone())),
        Item::LabelKeyword => (LABEL_DOC.to_string(), None),
        Item::Label(l) => (label_doc(a, &l.name), Some(l.span.clone())),
        Item::Use(u) => (use_doc(a, u)?, Some(u.span.clone())),
    };
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value: text,
        }),
        range: span.map(|s| a.range(s)),
    })
}

fn lines(a: &Analysis, uses: &[&NameUse]) -> String {
    const SHOWN: usize = 8;
    let mut l: Vec<String> = uses
        .iter()
        .take(SHOWN)
        .map(|u| a.line_of(u.span.start).to_string())
        .collect();
    if uses.len() > SHOWN {
        l.push(format!("… ({} in all)", uses.len()));
    }
    l.join(", ")
}

fn label_doc(a: &Analysis, name: &str) -> String {
    let Some(def) = a.outline.label(name) else {
        return format!("`{name}`: no label of this file has this name");
    };
    let kind = if a.is_function(name) {
        "function"
    } else {
        "label"
    };
    let mut s = format!(
        "{kind} `{name}` (line {}, instruction {})",
        a.line_of(def.span.start),
        def.index
    );
    let uses: Vec<_> = a.label_uses(name).collect();
    if !uses.is_empty() {
        s.push_str(&format!("\n\nused on line {}", lines(a, &uses)));
    }
    s
}

fn use_doc(a: &Analysis, u: &NameUse) -> Option<String> {
    match u.kind {
        UseKind::Target => Some(label_doc(a, &u.name)),
        UseKind::SpawnName => Some(if a.outline.label(&u.name).is_some() {
            label_doc(a, &u.name)
        } else {
            let file = a.program().and_then(|p| {
                let m = p.modules.get(*p.spawn_files.get(&u.name)? as usize)?;
                p.files.get(m.file as usize)
            });
            match file {
                Some(f) => format!("process body: the file `{}`", f.path.display()),
                None => format!(
                    "process body `{}`: a built-in process, or no such label or file",
                    u.name
                ),
            }
        }),
        UseKind::ImportPath => {
            let p = a.program()?;
            let Instr::Import(m) = p.code.get(u.instr as usize)? else {
                return None;
            };
            let f = &p.files[p.modules.get(m.module as usize)?.file as usize];
            Some(format!("module `{}`: `{}`", u.name, f.name))
        }
        _ => {
            let uses = a.same_variable(u);
            let frame = a
                .scope(u)
                .and_then(|s| a.frame_name(s))
                .map_or(String::new(), |f| format!(" in the frame of {f}"));
            let writes: Vec<_> = uses
                .iter()
                .copied()
                .filter(|v| matches!(v.kind, UseKind::Write | UseKind::Param))
                .collect();
            let mut s = format!("variable `{}`{frame}", u.name);
            if u.kind == UseKind::Param {
                s.push_str(" (a parameter: bound by this call)");
            }
            if !writes.is_empty() {
                s.push_str(&format!("\n\nset on line {}", lines(a, &writes)));
            }
            s.push_str(&format!("\n\nused on line {}", lines(a, &uses)));
            Some(s)
        }
    }
}
