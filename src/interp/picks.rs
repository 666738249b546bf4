//! Second reads from the stack (the decoder's, for the dispatch loop).
//!
//! A stack machine reads a variable twice in one block to update it:
//! `LOAD b; LOAD b; GET_FIELD vx; …; SET_FIELD vx; STORE b` (a field
//! changed from its own value), `LOAD l; LOAD i; LOAD l; LOAD j; INDEX;
//! SET_INDEX; STORE l` (an element set from another). The second `LOAD`
//! is the variable's last use (`Program::moves`), but the first one
//! shares the value with the variable: one atomic count increment at the
//! first `LOAD`, one decrement when the second copy is consumed — two
//! `lock`ed instructions per update, on values that no other process can
//! hold.
//!
//! The value the first `LOAD` pushed is still on the stack when the
//! second runs, at a depth the block's instructions fix (every
//! instruction between pops and pushes only at the top). So the decoder
//! makes the *first* `LOAD` the moving one (the value leaves the
//! variable) and every later read of the variable in the window a *pick*
//! — a copy of that stack value ([`Op::Pick`]) or, fused with the op that
//! consumes it, a read of it in place ([`Op::GetFieldPick`],
//! [`Op::IndexPick`]) — so the update finds its value held once and
//! changes it in place, with no count operation at all.
//!
//! Why this is the program's meaning: the variable is read only by the
//! picks until it dies (the last pick is a moving `LOAD`, nothing in the
//! window writes it, reads it otherwise, or reorders the stack), and the
//! picks read the very value the variable held. The window is inside one
//! block, which has no TRY, END_TRY or call: a handler in force in it is
//! in force at the last pick too, where the variable is dead to every
//! handler (liveness, `bytecode/liveness.rs`, counts a handler's reads),
//! so an exception raised in the window finds the variable unread. A
//! process that enters the window mid-way (a slice resumed inside the
//! block, compiled code's side exit) finds the program's own state: the
//! value on the stack and in the variable; a pick then copies the stack's,
//! which is the same value, and the variable, dead, is overwritten or
//! dropped later. Not under `--debug`/`--trace` (no fused ops there).

use crate::bytecode::{Family, Instr, Program};

/// Instructions one window spans at most.
const WINDOW: usize = 24;

/// What the decoder does at each instruction.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Pick {
    /// Nothing special.
    No,
    /// A `LOAD` that moves (the first read of a window).
    Take,
    /// A `LOAD` that copies the value `n` places below the top (the
    /// first read's).
    At(u32),
}

/// For each instruction, its part in a window (see the module text).
pub(super) fn picks(p: &Program) -> Vec<Pick> {
    let n = p.code.len();
    let mut out = vec![Pick::No; n];
    let mut chain: Vec<(usize, u32)> = Vec::new();
    for a in 0..n {
        let Instr::Load(x) = &p.code[a] else {
            continue;
        };
        if p.moves_at(a as u32) || out[a] != Pick::No {
            continue;
        }
        chain.clear();
        // Values on the stack from the first read's up (itself included).
        let mut h: u32 = 1;
        for k in a + 1..n.min(a + 1 + WINDOW) {
            if p.block_start[k] {
                break;
            }
            let instr = &p.code[k];
            match instr {
                Instr::Load(v) if v.slot == x.slot => {
                    chain.push((k, h - 1));
                    if p.moves_at(k as u32) {
                        // The last read: the window is complete. Taken
                        // when a pick reads a container in place (else
                        // the value is likely a number, which a LOAD
                        // copies as cheaply and other fused ops read
                        // better).
                        if !chain.iter().any(|&(k, _)| reads_in_place(p, k)) {
                            break;
                        }
                        out[a] = Pick::Take;
                        for &(k, d) in &chain {
                            out[k] = Pick::At(d);
                        }
                        break;
                    }
                    h += 1;
                    continue;
                }
                Instr::Store(v) | Instr::Delete(v) if v.slot == x.slot => break,
                _ => {}
            }
            if !top_only(instr) {
                break;
            }
            let Some((pops, pushes)) = instr.stack_effect() else {
                break;
            };
            if pops >= h {
                // The first read's value is consumed: no window.
                break;
            }
            h = h - pops + pushes;
        }
    }
    out
}

/// Whether the pick at `k` is fused with a read of its value in place
/// (`GET_FIELD name`, `LOAD j; INDEX` right after it in the block: the
/// decoder's `Code::pick`).
pub(super) fn reads_in_place(p: &Program, k: usize) -> bool {
    let next = |d: usize| (k + d < p.code.len() && !p.block_start[k + d]).then(|| &p.code[k + d]);
    match (next(1), next(2)) {
        (Some(Instr::GetField(f)), _) => f.0.is_some(),
        (Some(Instr::Load(_)), Some(Instr::Index(_))) => true,
        _ => false,
    }
}

/// Whether `i` works only on the top of the stack (pops its operands,
/// pushes its results) and reads no variable but its own operand's: what
/// a window may hold besides the reads of its variable.
fn top_only(i: &Instr) -> bool {
    match i.opcode().family() {
        Family::Const
        | Family::Arith(_)
        | Family::ArithF(_)
        | Family::Cmp(_)
        | Family::CmpF(_)
        | Family::Grow { .. } => true,
        Family::Shuffle => !matches!(i, Instr::Swap(_)),
        Family::Var => matches!(i, Instr::Load(_) | Instr::Store(_)),
        Family::Jump | Family::Branch { .. } | Family::Call | Family::Ret => false,
        Family::Other => matches!(
            i,
            Instr::Index(_)
                | Instr::Len(_)
                | Instr::GetField(_)
                | Instr::SetField(_)
                | Instr::SetIndex(_)
                | Instr::Neg(_)
                | Instr::Not(_)
                | Instr::ToFloat(_)
        ),
    }
}

/// Whether a fused op starting at `i` and `len` instructions long would
/// cover a window's read past its first instruction (the fused op's fast
/// path would read the variable the window emptied: not fused).
pub(super) fn covers(picks: &[Pick], i: usize, len: usize) -> bool {
    (i + 1..i + len).any(|j| picks.get(j).is_some_and(|&k| k != Pick::No))
}
