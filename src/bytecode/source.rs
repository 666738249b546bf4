//! A loaded program printed back as `.ttvm` source that assembles to the same
//! module: every label, every instruction with its operands, targets as
//! labels (or as module-local indices where no label can be written as a
//! target), strings and names quoted where a bare word would not read back.
//!
//! Unlike [`disassemble`](super::disassemble) (addresses, block costs, source
//! lines), the output is meant to be assembled again; the `roundtrip` fuzz
//! target and `tests/roundtrip.rs` check that it is the same module.

use super::{Name, Operand, Program};
use std::collections::HashMap;
use std::fmt::Write;

/// The main module (module 0) of `p` as source text.
pub fn to_source(p: &Program) -> String {
    module_source(p, 0)
}

/// Module `m` of `p` as source text. Targets are written relative to the
/// module, so the text assembles on its own (its IMPORTs and spawned files
/// still resolve against the folder the module is assembled in).
pub fn module_source(p: &Program, m: usize) -> String {
    let module = &p.modules[m];
    let (start, end) = (module.start, module.end);
    // Every label of the module, by position, in name order.
    let mut at: HashMap<u32, Vec<&str>> = HashMap::new();
    for (name, &pc) in &module.labels {
        at.entry(pc).or_default().push(name);
    }
    for names in at.values_mut() {
        names.sort_unstable();
    }
    let target = |t: u32| -> String {
        at.get(&t)
            .and_then(|names| names.iter().find(|n| target_word(n)))
            .map(|n| n.to_string())
            .unwrap_or_else(|| (t - start).to_string())
    };
    let mut out = String::new();
    // `end` is the implicit HALT the loader appends; a label may name it.
    for pc in start..=end {
        for name in at.get(&pc).into_iter().flatten() {
            let _ = writeln!(out, "LABEL {}", label_text(name));
        }
        if pc == end {
            break;
        }
        let instr = &p.code[pc as usize];
        let operands = if let Some(t) = instr.label() {
            target(t)
        } else if let Some(c) = instr.callee() {
            let mut s = target(c.target);
            for param in c.params.iter() {
                s.push(' ');
                s.push_str(&Name(param.clone()).text(p));
            }
            s
        } else {
            instr.operand_text(p)
        };
        out.push_str(instr.opcode().mnemonic());
        if !operands.is_empty() {
            out.push(' ');
            out.push_str(&operands);
        }
        out.push('\n');
    }
    out
}

/// True when `name` reads back as the same bare word in a LABEL line: no
/// blank, quote, comment or control character.
fn bare_word(name: &str) -> bool {
    !name.is_empty() && !name.contains([' ', '\t', '"', ';']) && !name.chars().any(char::is_control)
}

/// True when `name` can be written as a jump or call target: a bare word
/// that the assembler does not take for an instruction index.
fn target_word(name: &str) -> bool {
    bare_word(name) && !name.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '+')
}

fn label_text(name: &str) -> String {
    if bare_word(name) {
        name.to_string()
    } else {
        super::escape::quote(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same(src: &str) -> String {
        let p = crate::load_source("t.ttvm", src).unwrap_or_else(|e| panic!("{}", e.render()));
        let text = to_source(&p);
        let q = crate::load_source("t.ttvm", &text).unwrap_or_else(|e| panic!("{}", e.render()));
        assert_eq!(p.code.len(), q.code.len());
        for (a, b) in p.code.iter().zip(&q.code) {
            assert_eq!(format!("{a:?}"), format!("{b:?}"), "{text}");
        }
        assert_eq!(p.modules[0].labels, q.modules[0].labels);
        assert_eq!(to_source(&q), text, "printing is not stable");
        text
    }

    #[test]
    fn labels_targets_and_operands_read_back() {
        let text = same(
            "LABEL \"a b\"\nLABEL top\nPUSH_INT -9223372036854775808\nPUSH_FLOAT nan\n\
             PUSH_FLOAT -inf\nLABEL 1x\nPUSH_FLOAT 1e300\nPUSH_STR  hello ; world\nSTORE \"x y\"\n\
             JMP 0\nJZ 3\nCALL f a \"b c\"\nMAKE_LAMBDA f\nSEND 1\nREGISTER \"n;m\"\n\
             LABEL f\nTRY top\nEND_TRY\nRET\nLABEL end",
        );
        assert!(text.starts_with("LABEL \"a b\"\nLABEL top\n"), "{text}");
        assert!(text.contains("JMP top\n"), "{text}");
        // No label at index 3 can be written as a target: `1x` reads as a
        // number, so the index stays.
        assert!(text.contains("JZ 3\n"), "{text}");
        assert!(text.contains("PUSH_STR \"hello\"\n"), "{text}");
        assert!(text.ends_with("RET\nLABEL end\n"), "{text}");
    }

    #[test]
    fn empty_program() {
        assert_eq!(same(""), "");
        assert_eq!(same("LABEL only"), "LABEL only\n");
    }
}
