//! The disassembler: addresses, labels, operands, source lines, block
//! boundaries with their costs, and each END_TRY's owner.

use super::{Instr, Owner, Program};
use std::fmt::Write;

/// The whole program as text (`ttvm dis`).
pub fn disassemble(p: &Program) -> String {
    let mut out = String::new();
    let mut labels: Vec<(u32, &str)> = p
        .modules
        .iter()
        .flat_map(|m| m.labels.iter().map(|(name, &at)| (at, name.as_str())))
        .collect();
    labels.sort();
    // The labels of each pc, from the sorted list (one pass, not a search
    // of all labels per instruction).
    for (mi, m) in p.modules.iter().enumerate() {
        if mi as u32 == p.builtin_module {
            continue;
        }
        let file = &p.files[m.file as usize];
        let _ = writeln!(out, "; module {mi}: {}", file.name);
        let mut next_label = labels.partition_point(|&(at, _)| at < m.start);
        for pc in m.start..=m.end {
            while let Some(&(at, name)) = labels.get(next_label) {
                if at > pc {
                    break;
                }
                if at == pc {
                    let _ = writeln!(out, "LABEL {name}");
                }
                next_label += 1;
            }
            let instr = &p.code[pc as usize];
            let mut text = instr.opcode().mnemonic().to_string();
            let operands = instr.operand_text(p);
            if !operands.is_empty() {
                text.push(' ');
                text.push_str(&operands);
            }
            let block = if p.block_start[pc as usize] {
                format!("{:>3}", p.block_cost[pc as usize])
            } else {
                "   ".to_string()
            };
            let loc = p.locs[pc as usize];
            let source = if pc == m.end {
                "(end of file)".to_string()
            } else {
                format!("{}:{}", file.name, loc.line)
            };
            let _ = write!(out, "{:>6} {block}  {text:<32} ; {source}", pc - m.start);
            if let Instr::EndTry(Owner(owner)) = instr {
                match owner {
                    Some(t) => {
                        let _ = write!(out, "  (pairs with TRY at {})", t - m.start);
                    }
                    None => out.push_str("  (owned by no TRY: does nothing)"),
                }
            }
            out.push('\n');
        }
    }
    out
}
