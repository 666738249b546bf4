//! Taking an element out of a list that is written back (issue 15, item 4).
//!
//! `LOAD l; LOAD j; INDEX; STORE b; … SET_FIELD … (on b) …; LOAD l; LOAD j;
//! LOAD b; SET_INDEX; STORE l` — n-body's update of a body, a particle in
//! a list of lists — reads an element, changes it and puts it back. Under
//! value semantics the INDEX shares the element with the list, so the
//! first change copies it (`make_mut`), and the SET_INDEX then frees the
//! old one: a copy and a free per update, though nobody can ever see the
//! old element again.
//!
//! Compiled code instead *takes* the element out: when the list is held
//! only by the variable `l` and the INDEX's own operand (its count is 2,
//! the operand loaded from `l` in the same block), the element is moved
//! onto the stack and its place in the list holds Null. That is sound
//! when nothing can see the list before the place is written again:
//! [`may_take`] checks, on the instructions of the frame, that every path
//! from the INDEX reaches, before any other read of `l`, either a write of
//! `l` (the list, held by `l` alone, is then freed: the hole dies with
//! it), the end of the frame (RET, THROW: `l` is dropped with the frame)
//! or the write-back `LOAD l; LOAD j; LOAD x; SET_INDEX` then `STORE l`
//! or `RET`, with `j` unchanged since the INDEX, which fills the hole (the
//! value written is whatever `x` holds, as it would have been; should the
//! SET_INDEX copy the list, the copy is filled and the holey original,
//! still in `l`, is overwritten or dropped with the frame). No handler of the frame
//! can look (a frame with a TRY has no takes), no `DUMP_SCOPE`, and not a
//! module's top level, whose variables a REPL session keeps after an
//! entry ends. Other frames cannot read `l`; other processes cannot hold
//! the list (its count). The interpreter takes by the same analysis (its
//! `IndexLocal` op, when the variable's reference is the list's only one;
//! not a list taken apart): both tiers run the same program text with the same
//! results, and a process that changes tiers inside such a path finds the
//! hole, which no instruction it runs before the write-back reads.
//!
//! A list taken apart is the other case ([`may_take_place`]): `LOAD l;
//! PUSH_INT k; INDEX` where `l` is read only at other constant places
//! until it dies — a tree node's or a pair's parts, each read once — takes
//! the part at `k` when the list is held by `l` (and the operand) only;
//! no write-back is needed, since nothing reads the hole before the list
//! dies with it. (A list that no variable holds, the operand's reference
//! its only one, is taken from without a search: `Lower::index`.)
//!
//! Like `Program::moves` this is decided from the program text alone;
//! the search is bounded ([`STEPS`]), beyond which nothing is taken.

use crate::bytecode::{Instr, Program};
use std::collections::HashSet;

/// Instructions visited by one search at most.
const STEPS: usize = 4096;

/// Whether the INDEX at `at`, whose list operand is variable `list`'s
/// value and whose index operand is variable `idx`'s, may take the element
/// out of the list (see the module text).
pub(crate) fn may_take(p: &Program, at: usize, list: u32, idx: u32) -> bool {
    let code = &p.code;
    if list == idx || !matches!(code.get(at), Some(Instr::Index(_))) {
        return false;
    }
    let is_load =
        |k: usize, slot: u32| matches!(code.get(k), Some(Instr::Load(v)) if v.slot == slot);
    let write_back = |k: usize| {
        is_load(k, list)
            && is_load(k + 1, idx)
            && matches!(code.get(k + 2), Some(Instr::Load(v)) if v.slot != list)
            && matches!(code.get(k + 3), Some(Instr::SetIndex(_)))
            && match code.get(k + 4) {
                Some(Instr::Store(v)) => v.slot == list,
                Some(i) => i.is_ret(),
                None => false,
            }
    };
    unseen_until_dead(p, at, list, Some(idx), write_back)
}

/// Whether the INDEX at `at` of variable `list`'s value at the constant
/// place `place` (`LOAD l; PUSH_INT place; INDEX`) may take the element
/// out: every path from it reaches a write of `list` or the end of the
/// frame before `list` is read other than at another constant place
/// (`LOAD l; PUSH_INT m; INDEX`, `m != place`) — a list taken apart
/// (a pair's or a tree node's parts read once each: `LOAD t; PUSH_INT 0;
/// INDEX; …; LOAD t; PUSH_INT 1; INDEX`). The hole is never read; the list
/// dies with it.
pub(super) fn may_take_place(p: &Program, at: usize, list: u32, place: i64) -> bool {
    let code = &p.code;
    if !matches!(code.get(at), Some(Instr::Index(_))) {
        return false;
    }
    let other_place = |k: usize| {
        matches!(code.get(k + 1), Some(Instr::PushInt(m)) if *m != place)
            && matches!(code.get(k + 2), Some(Instr::Index(_)))
    };
    unseen_until_dead(p, at, list, None, other_place)
}

/// The search both kinds of take share: from the instruction after `at`,
/// every path reaches a write of `list`, a RET or a THROW before a LOAD of
/// `list` that `read_ok` does not accept, without a change of `idx` (when
/// given); within the frame of `at`, which is not a module's top level
/// and has no TRY or DUMP_SCOPE; at most [`STEPS`] instructions.
fn unseen_until_dead(
    p: &Program,
    at: usize,
    list: u32,
    idx: Option<u32>,
    read_ok: impl Fn(usize) -> bool,
) -> bool {
    let code = &p.code;
    let n = code.len();
    let layout = p.layout_of[at];
    if p.modules
        .iter()
        .any(|m| p.layout_of.get(m.start as usize) == Some(&layout))
    {
        return false;
    }
    let mut seen: HashSet<usize> = HashSet::new();
    let mut work = vec![at + 1];
    while let Some(k) = work.pop() {
        if !seen.insert(k) {
            continue;
        }
        if seen.len() > STEPS || k >= n || p.layout_of[k] != layout {
            return false;
        }
        let instr = &code[k];
        match instr {
            Instr::Load(v) if v.slot == list => {
                if read_ok(k) {
                    if idx.is_some() {
                        // The write-back fills the hole: this path is done.
                        continue;
                    }
                } else {
                    return false;
                }
            }
            Instr::Capture(v) | Instr::Export(v) if v.slot == list => return false,
            Instr::Store(v) | Instr::Delete(v) if v.slot == list => continue,
            Instr::Store(v) | Instr::Delete(v) if Some(v.slot) == idx => return false,
            Instr::DumpScope(_) | Instr::Try(_) | Instr::Halt(_) => return false,
            Instr::Throw(_) => continue,
            _ if instr.is_ret() => continue,
            _ => {}
        }
        if !instr.opcode().no_fallthrough() {
            work.push(k + 1);
        }
        if let Some(t) = instr.label() {
            work.push(t as usize);
        }
    }
    // No handler of this frame can see the hole, nor DUMP_SCOPE.
    !code
        .iter()
        .zip(&p.layout_of)
        .any(|(i, &l)| l == layout && matches!(i, Instr::Try(_) | Instr::DumpScope(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The INDEXes of `text` that may take, by their variables' names.
    fn takes(text: &str) -> Vec<usize> {
        let p =
            crate::asm::load_source("t.ttvm", text).unwrap_or_else(|e| panic!("{}", e.render()));
        let mut out = Vec::new();
        for at in 2..p.code.len() {
            if let (Instr::Load(l), Instr::Load(j), Instr::Index(_)) =
                (&p.code[at - 2], &p.code[at - 1], &p.code[at])
            {
                if may_take(&p, at, l.slot, j.slot) {
                    out.push(at);
                }
            }
        }
        out
    }

    const HEAD: &str =
        "PUSH_INT 0\nCALL f j\nHALT\nLABEL f\nPUSH_INT 1\nPUSH_INT 2\nMAKE_LIST 2\nSTORE l\n";

    #[test]
    fn written_back_takes() {
        let t = format!(
            "{HEAD}LOAD l\nLOAD j\nINDEX\nSTORE b\nLOAD b\nPUSH_INT 1\nADD\nSTORE b\n\
             LOAD l\nLOAD j\nLOAD b\nSET_INDEX\nSTORE l\nLOAD l\nRET\n"
        );
        assert_eq!(takes(&t).len(), 1);
    }

    #[test]
    fn a_read_before_the_write_back_keeps_it() {
        let t = format!(
            "{HEAD}LOAD l\nLOAD j\nINDEX\nSTORE b\nLOAD l\nLEN\nPOP\n\
             LOAD l\nLOAD j\nLOAD b\nSET_INDEX\nSTORE l\nLOAD l\nRET\n"
        );
        assert!(takes(&t).is_empty());
    }

    #[test]
    fn another_index_or_a_changed_index_keeps_it() {
        let t = format!(
            "{HEAD}LOAD l\nLOAD j\nINDEX\nSTORE b\nPUSH_INT 0\nSTORE j\n\
             LOAD l\nLOAD j\nLOAD b\nSET_INDEX\nSTORE l\nLOAD l\nRET\n"
        );
        assert!(takes(&t).is_empty());
    }

    #[test]
    fn a_branch_that_reads_keeps_it() {
        let t = format!(
            "{HEAD}LOAD l\nLOAD j\nINDEX\nSTORE b\nLOAD b\nJZ other\n\
             LOAD l\nLOAD j\nLOAD b\nSET_INDEX\nSTORE l\nLOAD l\nRET\n\
             LABEL other\nLOAD l\nRET\n"
        );
        assert!(takes(&t).is_empty());
    }

    #[test]
    fn a_frame_with_a_try_or_a_top_level_keeps_it() {
        let t = format!(
            "{HEAD}TRY h\nLOAD l\nLOAD j\nINDEX\nSTORE b\n\
             LOAD l\nLOAD j\nLOAD b\nSET_INDEX\nSTORE l\nEND_TRY\nLOAD l\nRET\nLABEL h\nLOAD l\nRET\n"
        );
        assert!(takes(&t).is_empty());
        let top = "PUSH_INT 1\nMAKE_LIST 1\nSTORE l\nPUSH_INT 0\nSTORE j\nLOAD l\nLOAD j\nINDEX\nSTORE b\n\
                   LOAD l\nLOAD j\nLOAD b\nSET_INDEX\nSTORE l\nHALT\n";
        assert!(takes(top).is_empty());
    }

    #[test]
    fn a_loop_that_writes_back_each_turn_takes() {
        let t = format!(
            "{HEAD}LABEL top\nLOAD j\nPUSH_INT 2\nLT\nJZ done\nLOAD l\nLOAD j\nINDEX\nSTORE b\n\
             LOAD l\nLOAD j\nLOAD b\nPUSH_INT 1\nADD\nSET_INDEX\nSTORE l\n\
             LOAD l\nLOAD j\nLOAD b\nSET_INDEX\nSTORE l\nLOAD j\nPUSH_INT 1\nADD\nSTORE j\nJMP top\n\
             LABEL done\nLOAD l\nRET\n"
        );
        // The first write-back pushes a computed value: not the pattern.
        assert!(takes(&t).is_empty());
        let t = format!(
            "{HEAD}LABEL top\nLOAD j\nPUSH_INT 2\nLT\nJZ done\nLOAD l\nLOAD j\nINDEX\nSTORE b\n\
             LOAD l\nLOAD j\nLOAD b\nSET_INDEX\nSTORE l\nLOAD j\nPUSH_INT 1\nADD\nSTORE j\nJMP top\n\
             LABEL done\nLOAD l\nRET\n"
        );
        assert_eq!(takes(&t).len(), 1);
    }

    /// The `LOAD l; PUSH_INT k; INDEX`es of `text` that may take, as
    /// their places.
    fn place_takes(text: &str) -> Vec<i64> {
        let p =
            crate::asm::load_source("t.ttvm", text).unwrap_or_else(|e| panic!("{}", e.render()));
        let mut out = Vec::new();
        for at in 2..p.code.len() {
            if let (Instr::Load(l), Instr::PushInt(k), Instr::Index(_)) =
                (&p.code[at - 2], &p.code[at - 1], &p.code[at])
            {
                if may_take_place(&p, at, l.slot, *k) {
                    out.push(*k);
                }
            }
        }
        out
    }

    const TREE: &str = "PUSH_INT 0\nCALL f j\nHALT\nLABEL f\nNULL\nNULL\nMAKE_LIST 2\nSTORE t\n";

    #[test]
    fn parts_read_once_each_are_taken() {
        // check(tree) of binary-trees: [0] then [1], each read once.
        let t = format!(
            "{TREE}LOAD t\nPUSH_INT 0\nINDEX\nSTORE left\nLOAD left\nJZ leaf\n\
             LOAD left\nPOP\nLOAD t\nPUSH_INT 1\nINDEX\nRET\nLABEL leaf\nPUSH_INT 1\nRET\n"
        );
        assert_eq!(place_takes(&t), vec![0, 1]);
        // The list overwritten after the read: taken.
        let t = format!("{TREE}LOAD t\nPUSH_INT 1\nINDEX\nSTORE t\nLOAD t\nRET\n");
        assert_eq!(place_takes(&t), vec![1]);
    }

    #[test]
    fn a_place_read_again_or_the_list_used_keeps_it() {
        // The same place again (a loop, or straight after).
        let t = format!("{TREE}LABEL top\nLOAD t\nPUSH_INT 0\nINDEX\nJZ top\nPUSH_INT 0\nRET\n");
        assert!(place_takes(&t).is_empty());
        let t = format!("{TREE}LOAD t\nPUSH_INT 0\nINDEX\nPOP\nLOAD t\nPUSH_INT 0\nINDEX\nRET\n");
        assert_eq!(place_takes(&t), vec![0], "only the second read takes");
        // The list itself read (returned, measured, passed on) on one path.
        for tail in [
            "LOAD t\nRET\n",
            "LOAD t\nLEN\nRET\n",
            "LOAD t\nCALL g x\nRET\nLABEL g\nLOAD x\nRET\n",
        ] {
            let t = format!(
                "{TREE}LOAD t\nPUSH_INT 0\nINDEX\nJZ other\nPUSH_INT 1\nRET\nLABEL other\n{tail}"
            );
            assert!(place_takes(&t).is_empty(), "{tail}");
        }
        // Captured by a closure, or a frame with a TRY, or the top level.
        let t = format!(
            "{TREE}LOAD t\nPUSH_INT 0\nINDEX\nPOP\nCAPTURE t\nMAKE_LAMBDA g\nRET\nLABEL g\nPUSH_INT 1\nRET\n"
        );
        assert!(place_takes(&t).is_empty());
        let t = format!(
            "{TREE}TRY h\nLOAD t\nPUSH_INT 0\nINDEX\nPOP\nEND_TRY\nPUSH_INT 1\nRET\nLABEL h\nLOAD t\nRET\n"
        );
        assert!(place_takes(&t).is_empty());
        let top = "NULL\nNULL\nMAKE_LIST 2\nSTORE t\nLOAD t\nPUSH_INT 0\nINDEX\nPOP\nHALT\n";
        assert!(place_takes(top).is_empty());
    }
}
