//! Moves: which `LOAD x` is the last use of `x` before `x` is written or
//! its frame ends (issue 15, item 3).
//!
//! Such a LOAD may take a heap value (list, string, object, …) out of the
//! variable instead of sharing it: the value on the stack is then held
//! once, and `APPEND`, `CONCAT`, `SET_INDEX`, `SET_FIELD` and the other
//! updates change it in place whatever runs before the result is stored
//! back (docs/LANGUAGE.md, "In place"). Both tiers read the answer from
//! [`Program::moves`](super::Program::moves): the interpreter's decoder,
//! the instruction semantics and the JIT's lowering of LOAD.
//!
//! The analysis is backward liveness over the instructions of one frame
//! layout (`frames.rs`), one variable at a time. A variable is *live* at an
//! instruction when some path in the frame from there reaches a read of it
//! (`LOAD`, `CAPTURE`, `EXPORT`) before a write (`STORE`, `DELETE`). The
//! edges are those that stay in the frame: fall-through (a CALL's too: the
//! callee returns to the instruction after it), jump and branch targets.
//! Exceptions: while a TRY's handler is installed, any instruction may
//! raise to its catch label, so a variable live at the catch label is live
//! after every instruction of the TRY's *region* — the instructions
//! reachable in the frame from the TRY without passing an END_TRY it owns
//! (a handler sees every variable it reads; a region found this way is
//! never smaller than where the handler can be in force, whatever the
//! jumps). Regions are found only for catch labels where some variable is
//! live, once each; past the budget a variable live at a catch label is
//! simply not moved anywhere in its layout.
//! Nothing else reads a frame's variables: calls bind parameters in the
//! callee's frame, closures copy what CAPTURE reads, a module's exports
//! are the values EXPORT read. `DUMP_SCOPE` reads every variable, so a
//! layout holding one has no moves; so do the top levels in a REPL
//! session, whose variables outlive each entry
//! ([`Program::keep_top_level_vars`](super::Program::keep_top_level_vars)).
//!
//! Cost: each variable's search visits the instructions where it is live
//! (and their predecessors), stopping at its writes; a total budget of
//! steps bounds pathological programs (huge frames with variables live
//! across all of them), after which the remaining variables simply do not
//! move (a copy is always correct).

use super::{Instr, Program};

/// Steps of the searches, over all variables: per instruction, and a
/// fixed allowance.
const STEPS_PER_INSTR: usize = 64;
const STEPS_BASE: usize = 1 << 22;

/// The in-frame successors of instruction `i`.
fn successors(code: &[Instr], i: usize) -> impl Iterator<Item = usize> + '_ {
    let instr = &code[i];
    let fall = (!instr.opcode().no_fallthrough() && i + 1 < code.len()).then_some(i + 1);
    let label = instr.label().map(|t| t as usize);
    fall.into_iter().chain(label)
}

/// For each instruction, whether it is a LOAD that moves (see the module
/// text). `skip_layout[l]`: no moves in layout `l`.
pub(super) fn moves(p: &Program, skip_layout: &[bool]) -> Vec<bool> {
    let code = &p.code;
    let n = code.len();
    let mut moves = vec![false; n];
    if n == 0 {
        return moves;
    }
    // Predecessors, compressed: preds[start[i]..start[i + 1]].
    let mut start = vec![0u32; n + 1];
    for i in 0..n {
        for s in successors(code, i) {
            start[s + 1] += 1;
        }
    }
    for i in 0..n {
        start[i + 1] += start[i];
    }
    let mut fill = start.clone();
    let mut preds = vec![0u32; start[n] as usize];
    for i in 0..n {
        for s in successors(code, i) {
            preds[fill[s] as usize] = i as u32;
            fill[s] += 1;
        }
    }
    // Per layout: whether it has a DUMP_SCOPE, and its catch labels.
    let layouts = p.layouts.len();
    let mut skip = skip_layout.to_vec();
    skip.resize(layouts, false);
    // Per layout: its TRYs (index) and their catch labels.
    let mut catches: Vec<Vec<(u32, u32)>> = vec![Vec::new(); layouts];
    // Reads (layout, slot, at) and, per instruction, the slot it writes.
    let mut reads: Vec<(u32, u32, u32)> = Vec::new();
    let mut writes = vec![u32::MAX; n];
    for (i, instr) in code.iter().enumerate() {
        let l = p.layout_of[i];
        match instr {
            Instr::Load(v) | Instr::Capture(v) | Instr::Export(v) => {
                reads.push((l, v.slot, i as u32))
            }
            Instr::Store(v) | Instr::Delete(v) => writes[i] = v.slot,
            Instr::DumpScope(_) => skip[l as usize] = true,
            Instr::Try(t) => catches[l as usize].push((i as u32, t.0)),
            _ => {}
        }
    }
    reads.sort_unstable();
    let mut budget = STEPS_PER_INSTR.saturating_mul(n).saturating_add(STEPS_BASE);
    // `live[i] == id`: the current variable is live on entry to `i`;
    // `after[i] == id`: it is live after `i` because a handler in force at
    // `i` reads it.
    let mut live = vec![0u32; n];
    let mut after = vec![0u32; n];
    let mut id = 0u32;
    let mut work: Vec<u32> = Vec::new();
    let mut regions = Regions::new(n);
    for group in reads.chunk_by(|a, b| (a.0, a.1) == (b.0, b.1)) {
        let (layout, slot) = (group[0].0, group[0].1);
        let any_load = group
            .iter()
            .any(|&(_, _, at)| matches!(code[at as usize], Instr::Load(_)));
        if skip[layout as usize] || !any_load {
            continue;
        }
        id += 1;
        work.clear();
        for &(_, _, at) in group {
            if live[at as usize] != id {
                live[at as usize] = id;
                work.push(at);
            }
        }
        let tries = &catches[layout as usize];
        let mut seeded = vec![false; tries.len()];
        let mut everywhere = false;
        loop {
            while let Some(i) = work.pop() {
                let i = i as usize;
                for &q in &preds[start[i] as usize..start[i + 1] as usize] {
                    let qi = q as usize;
                    if live[qi] == id || writes[qi] == slot {
                        continue;
                    }
                    if budget == 0 {
                        // Out of steps: this variable and the rest do not
                        // move.
                        return moves;
                    }
                    budget -= 1;
                    live[qi] = id;
                    work.push(q);
                }
            }
            // A handler that reads it: it is live after every instruction
            // of the TRY's region, and so before those that do not write it.
            let mut more = false;
            for (k, &(at, catch)) in tries.iter().enumerate() {
                if seeded[k] || live[catch as usize] != id {
                    continue;
                }
                seeded[k] = true;
                more = true;
                let Some(region) = regions.of(code, at, &mut budget) else {
                    everywhere = true;
                    break;
                };
                for &q in region {
                    let qi = q as usize;
                    after[qi] = id;
                    if live[qi] != id && writes[qi] != slot {
                        live[qi] = id;
                        work.push(q);
                    }
                }
            }
            if everywhere || !more {
                break;
            }
        }
        if everywhere {
            continue;
        }
        for &(_, _, at) in group {
            let at = at as usize;
            if matches!(code[at], Instr::Load(_))
                && after[at] != id
                && successors(code, at).all(|s| live[s] != id)
            {
                moves[at] = true;
            }
        }
    }
    moves
}

/// The regions of TRYs (see the module text), found when first asked.
struct Regions {
    found: std::collections::HashMap<u32, Option<Vec<u32>>>,
    seen: Vec<u32>,
    stamp: u32,
}

impl Regions {
    fn new(n: usize) -> Regions {
        Regions {
            found: std::collections::HashMap::new(),
            seen: vec![0; n],
            stamp: 0,
        }
    }

    /// The instructions reachable in the frame from the TRY at `at`
    /// without passing an END_TRY it owns (those END_TRYs included);
    /// `None` when the budget runs out.
    fn of(&mut self, code: &[Instr], at: u32, budget: &mut usize) -> Option<&[u32]> {
        if !self.found.contains_key(&at) {
            self.stamp += 1;
            let stamp = self.stamp;
            let mut region = Vec::new();
            let mut work = vec![at];
            self.seen[at as usize] = stamp;
            let mut out = false;
            'search: while let Some(i) = work.pop() {
                region.push(i);
                let ends =
                    matches!(code[i as usize], Instr::EndTry(super::Owner(Some(t))) if t == at);
                if ends {
                    continue;
                }
                for s in successors(code, i as usize) {
                    // The TRY's own catch edge is not a path in the region.
                    if i == at && code[at as usize].label() == Some(s as u32) {
                        continue;
                    }
                    if self.seen[s] == stamp {
                        continue;
                    }
                    if *budget == 0 {
                        out = true;
                        break 'search;
                    }
                    *budget -= 1;
                    self.seen[s] = stamp;
                    work.push(s as u32);
                }
            }
            self.found.insert(at, (!out).then_some(region));
        }
        self.found[&at].as_deref()
    }
}

#[cfg(test)]
mod tests {
    /// The source lines (trimmed) of the LOADs that move, in order.
    fn moving(text: &str) -> Vec<String> {
        let p =
            crate::asm::load_source("t.ttvm", text).unwrap_or_else(|e| panic!("{}", e.render()));
        (0..p.code.len())
            .filter(|&i| p.moves[i])
            .map(|i| {
                format!(
                    "{}:{}",
                    p.locs[i].line,
                    p.source_line(i as u32).unwrap().trim()
                )
            })
            .collect()
    }

    #[test]
    fn last_use_before_a_store_moves() {
        let m = moving("MAKE_LIST 0\nSTORE x\nLOAD x\nLOAD x\nAPPEND\nSTORE x\nLOAD x\nPRINT\n");
        assert_eq!(m, ["4:LOAD x", "7:LOAD x"]);
    }

    #[test]
    fn a_read_on_the_next_turn_of_a_loop_keeps_it() {
        // x is read at the loop head: the body's LOAD is not its last use;
        // y is stored before the back edge reads it: its LOAD moves.
        let m = moving(
            "MAKE_LIST 0\nSTORE x\nLABEL top\nLOAD x\nPRINT\nLOAD x\nSTORE y\nLOAD y\nSTORE z\nJMP top\n",
        );
        assert_eq!(m, ["8:LOAD y"]);
    }

    #[test]
    fn a_read_on_another_branch_keeps_it() {
        let m = moving(
            "MAKE_LIST 0\nSTORE x\nLOAD x\nPUSH_INT 1\nJZ other\nSTORE y\nHALT\nLABEL other\nSTORE y\nLOAD x\nPRINT\n",
        );
        assert_eq!(m, ["10:LOAD x"]);
    }

    #[test]
    fn a_variable_a_handler_reads_never_moves_in_that_frame() {
        let text = "MAKE_LIST 0\nSTORE x\nMAKE_LIST 0\nSTORE z\nTRY h\nLOAD x\nSTORE y\nLOAD z\nSTORE w\nEND_TRY\nHALT\nLABEL h\nCATCH\nLOAD x\nPRINT\n";
        // x is read in the handler: no LOAD of it in the TRY's region
        // moves; the handler's own is its last use. z is not read there.
        assert_eq!(moving(text), ["8:LOAD z", "14:LOAD x"]);
    }

    #[test]
    fn outside_a_try_region_a_variable_the_handler_reads_moves() {
        // The handler goes back to the loop, which reads acc: acc is live
        // in the region (TRY .. END_TRY) but its LOAD after END_TRY is a
        // last use before the STORE.
        let text = "MAKE_LIST 0\nSTORE acc\nLABEL top\nTRY bad\nLOAD acc\nLEN\nPOP\nEND_TRY\nLOAD acc\nPUSH_INT 1\nPOP\nPUSH_INT 1\nAPPEND\nSTORE acc\nJMP top\nLABEL bad\nCATCH\nPOP\nJMP top\n";
        assert_eq!(moving(text), ["9:LOAD acc"]);
        // A jump out of the region without END_TRY keeps the handler in
        // force: the region follows it.
        let text = "MAKE_LIST 0\nSTORE acc\nTRY bad\nJMP away\nEND_TRY\nHALT\nLABEL away\nLOAD acc\nSTORE b\nHALT\nLABEL bad\nCATCH\nLOAD acc\nPRINT\n";
        assert_eq!(moving(text), ["13:LOAD acc"]);
    }

    #[test]
    fn capture_export_and_dump_scope_read() {
        let m = moving("MAKE_LIST 0\nSTORE x\nLOAD x\nPOP\nCAPTURE x\nMAKE_LAMBDA f\nPOP\nHALT\nLABEL f\nRET\n");
        assert!(m.is_empty(), "{m:?}");
        let m = moving("MAKE_LIST 0\nSTORE x\nLOAD x\nPOP\nEXPORT x\n");
        assert!(m.is_empty(), "{m:?}");
        let m = moving("MAKE_LIST 0\nSTORE x\nLOAD x\nSTORE y\nDUMP_SCOPE\n");
        assert!(m.is_empty(), "{m:?}");
    }

    #[test]
    fn frames_are_separate() {
        // The caller's x is dead after its LOAD; the callee's own x is not
        // the caller's.
        let m = moving(
            "MAKE_LIST 0\nSTORE x\nLOAD x\nCALL f x\nPRINT\nHALT\nLABEL f\nLOAD x\nLOAD x\nAPPEND\nRET\n",
        );
        assert_eq!(m, ["3:LOAD x", "9:LOAD x"]);
    }
}
