//! Basic blocks and their reduction costs (SPEC §4.6).
//!
//! A block starts at instruction 0 (of every module), at every label and
//! jump target, at every function entry, and right after every instruction
//! the op table marks `ends_block`. A block's cost is its length.

use super::Program;

pub(super) fn compute(p: &mut Program) {
    let n = p.code.len();
    let mut start = vec![false; n];
    for m in &p.modules {
        start[m.start as usize] = true;
    }
    for &l in p.label_at.keys() {
        if (l as usize) < n {
            start[l as usize] = true;
        }
    }
    for (i, instr) in p.code.iter().enumerate() {
        let info = instr.opcode().info();
        if info.ends_block && i + 1 < n {
            start[i + 1] = true;
        }
        let target = instr.callee().map(|c| c.target).or(instr.label());
        if let Some(t) = target {
            start[t as usize] = true;
        }
    }
    let mut cost = vec![0u32; n];
    let mut i = 0;
    while i < n {
        let mut j = i + 1;
        while j < n && !start[j] {
            j += 1;
        }
        cost[i] = (j - i) as u32;
        i = j;
    }
    p.block_start = start;
    p.block_cost = cost;
}
