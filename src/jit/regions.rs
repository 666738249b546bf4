//! What is compiled as one native function: a unit, or a part of a big
//! one.
//!
//! Cranelift's time and memory grow faster than the size of the function
//! it is given: every block of a unit is an entry, so values live from the
//! entry dispatch across the whole function, and register allocation,
//! among others, goes superlinear (a loop whose body has 4,000 branches,
//! 44,000 instructions, took 22 s and 660 MB to compile as one function).
//! So a unit whose estimated compile cost ([`MAX_PART_COST`]) is too high
//! is split into *parts* of contiguous code, each a native function of its
//! own with its own entry table, compiled when it is hot: the compile time
//! of a unit is then linear in its size, and one tier-up compiles at most
//! one part.
//!
//! Control that goes from one part to another (a jump, a fall-through, a
//! branch, the return from a call) leaves compiled code through the
//! engine, which enters the other part — compiled already, or compiled
//! then when it has become hot (the block it enters counts as a header),
//! or interpreted until then. Parts are cut at block starts where few
//! jumps cross; a block too big for one part is cut between two of its
//! instructions: the first part leaves there with its operands in memory
//! and the next part has an entry there (a *continuation*), like the
//! resume entry after a receive.

use super::lower;
use crate::bytecode::{Instr, JitClass, Program};

/// Compile cost a part may have (a plain instruction costs 1, see
/// [`weight`] and [`BLOCK_COST`]; about 1,000 instructions of ordinary
/// code). Measured on a loop body of branches compiled as one function
/// (cachegrind): the compile work per instruction grows by 7% from 265 to
/// 1,015 instructions, and by 31% more from there to 4,015.
pub(super) const MAX_PART_COST: usize = 1500;
/// Environment variable that sets the largest compile cost of a part in
/// place of [`MAX_PART_COST`]: for tests, which split small programs into
/// parts of a few instructions each to exercise the paths between them.
pub(super) const PART_COST_VAR: &str = "TTVM_JIT_PART_COST";

/// The largest compile cost of a part in this run.
fn max_part_cost() -> usize {
    std::env::var(PART_COST_VAR)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&c| c > 0)
        .unwrap_or(MAX_PART_COST)
}

/// What a block start adds to the cost: the preemption and stack checks,
/// and the block's entry.
const BLOCK_COST: usize = 3;
/// What a CALL adds (the frame made inline and the native call), besides
/// one store per variable of the callee's frame.
const CALL_COST: usize = 8;
/// Units of at most this many instructions, without loops or calls, are
/// compiled only for compiled callers.
const TINY: usize = 4;

/// What is compiled of one unit, or of one part of it.
#[derive(Debug)]
pub(crate) struct UnitPlan {
    /// The frame layout whose code this is.
    pub layout: u32,
    /// Program addresses of the block starts, ascending.
    pub blocks: Vec<u32>,
    /// The block starts the engine can enter ([`engine_entry`]), ascending:
    /// the first entries of the entry table. The other blocks are reached
    /// only by the unit's own jumps, branches and fall-through, so they need
    /// no entry (a smaller function for Cranelift: see docs/JIT.md).
    pub entries: Vec<u32>,
    /// Program addresses of its receives and SLEEPs: a process waiting in
    /// one resumes there (entries after the blocks in the entry table).
    pub resumes: Vec<u32>,
    /// Number of instructions.
    pub size: usize,
    /// Estimated compile cost ([`weight`] of its instructions, [`BLOCK_COST`]
    /// per block start): what the tier-up policy weighs against the work
    /// interpreted in it (`Jit::tier_up`).
    pub cost: usize,
    /// A few instructions, no loop, no call: compiling it pays only when
    /// compiled code calls it (see [`super::Jit::tier_up`]).
    pub tiny: bool,
    /// A part that starts in the middle of a block: the program address of
    /// its first instruction, where the previous part leaves (the last
    /// entry in the entry table).
    pub cont: Option<u32>,
    /// A part that ends in the middle of a block: the program address
    /// where it leaves for the next part.
    pub cut: Option<u32>,
    /// Which part of its unit this is, when the unit is split.
    pub part: Option<Part>,
}

/// A part of a split unit.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Part {
    /// 0-based.
    pub index: u32,
    /// Parts of the unit.
    pub count: u32,
    /// The unit's first block (what names it).
    pub unit_start: u32,
    /// The unit's instructions.
    pub unit_size: usize,
}

/// Every unit's plans.
pub(super) struct Plans {
    pub plans: Vec<UnitPlan>,
    /// Program address → entered from another part of its unit: counted
    /// toward its part's hotness like a header.
    pub part_entry: Vec<bool>,
    /// Program address → the plan whose code it is.
    pub plan_of: Vec<u32>,
}

/// Plan every unit of `p`: one plan per frame layout, or several parts for
/// a unit that is too big to compile as one function (but not above
/// `max_size` instructions or `max_slots` variables: such a unit stays
/// interpreted anyway).
pub(super) fn plans(p: &Program, max_size: usize, max_slots: usize) -> Plans {
    let cap = max_part_cost();
    let n = p.code.len();
    let mut blocks: Vec<Vec<u32>> = vec![Vec::new(); p.layouts.len()];
    let mut sizes = vec![0usize; p.layouts.len()];
    for i in 0..n {
        let l = p.layout_of[i] as usize;
        sizes[l] += 1;
        if p.block_start[i] {
            blocks[l].push(i as u32);
        }
    }
    let mut first_plan = Vec::with_capacity(p.layouts.len());
    let mut plans = Vec::with_capacity(p.layouts.len());
    let mut part_entry = vec![false; n];
    for (layout, blocks) in blocks.into_iter().enumerate() {
        let slots = p.layouts[layout].names.len();
        let size = sizes[layout];
        let cost: usize = blocks.iter().map(|&a| block_weight(p, a, slots)).sum();
        let starts = if size <= max_size && slots <= max_slots && cost > cap {
            split(p, &blocks, slots, cap)
        } else {
            blocks.first().copied().into_iter().collect()
        };
        let count = starts.len().max(1) as u32;
        let first = plans.len();
        first_plan.push(first as u32);
        let mut rest = &blocks[..];
        for (k, &s) in starts.iter().enumerate() {
            let end = starts.get(k + 1).copied().unwrap_or(u32::MAX);
            let here = rest.partition_point(|&a| a < end);
            let (mine, after) = rest.split_at(here);
            rest = after;
            let part = (count > 1).then(|| Part {
                index: k as u32,
                count,
                unit_start: blocks[0],
                unit_size: size,
            });
            plans.push(UnitPlan {
                layout: layout as u32,
                blocks: mine.to_vec(),
                entries: Vec::new(),
                resumes: Vec::new(),
                size: 0,
                cost: 0,
                tiny: false,
                cont: (!p.block_start[s as usize]).then_some(s),
                cut: starts
                    .get(k + 1)
                    .copied()
                    .filter(|&e| !p.block_start[e as usize]),
                part,
            });
        }
        if starts.is_empty() {
            plans.push(UnitPlan {
                layout: layout as u32,
                blocks: Vec::new(),
                entries: Vec::new(),
                resumes: Vec::new(),
                size: 0,
                cost: 0,
                tiny: false,
                cont: None,
                cut: None,
                part: None,
            });
        }
        if count > 1 {
            mark_entries(p, &starts, &plans[first..], &mut part_entry);
        }
    }
    // An instruction belongs to the part whose block (or continuation) it
    // is in; one without a block start in its unit (dead code right after
    // a HALT, say) to its unit's first plan.
    let mut plan_of: Vec<u32> = p
        .layout_of
        .iter()
        .map(|&l| first_plan[l as usize])
        .collect();
    for (u, plan) in plans.iter().enumerate() {
        let segments = plan.blocks.iter().copied().chain(plan.cont);
        for s in segments {
            let mut i = s as usize;
            loop {
                if p.layout_of[i] == plan.layout {
                    plan_of[i] = u as u32;
                }
                i += 1;
                if i >= n || p.block_start[i] || Some(i as u32) == plan.cut {
                    break;
                }
            }
        }
    }
    let mut busy = vec![false; plans.len()];
    for (i, instr) in p.code.iter().enumerate() {
        let u = plan_of[i] as usize;
        let plan = &mut plans[u];
        plan.size += 1;
        plan.cost += weight(p, i, p.layouts[plan.layout as usize].names.len())
            + if p.block_start[i] { BLOCK_COST } else { 0 };
        if instr.opcode().waits() {
            plan.resumes.push(i as u32);
        }
        let looping = instr.target().is_some_and(|t| t as usize <= i);
        if looping || instr.is_call() {
            busy[u] = true;
        }
    }
    let header = p.headers();
    let mut catch = vec![false; n];
    for instr in &p.code {
        if let Instr::Try(t) = instr {
            if let Some(c) = catch.get_mut(t.0 as usize) {
                *c = true;
            }
        }
    }
    for (u, plan) in plans.iter_mut().enumerate() {
        plan.tiny = plan.size <= TINY && !busy[u] && plan.part.is_none();
        let first = plan.blocks.first().copied();
        plan.entries = plan
            .blocks
            .iter()
            .copied()
            .filter(|&a| {
                let i = a as usize;
                Some(a) == first || header[i] || part_entry[i] || catch[i] || engine_entry(p, a)
            })
            .collect();
    }
    Plans {
        plans,
        part_entry,
        plan_of,
    }
}

/// Whether the block at `a` can be reached other than by its unit's own
/// jumps, branches and fall-through, so that the engine may enter it: true
/// unless the instruction before it is in the same frame layout and is a
/// jump or branch, an instruction after which control never falls
/// through, or one that does not end a block (the block starts at a
/// label). After a CALL, SEND, SPAWN, a receive or any other instruction
/// that ends a block and falls through, the process may go on through the
/// engine (a call returned through it, a helper answered `CONTINUE`, the
/// slice ended there), so those blocks stay entries; so does a loop's exit
/// after its backward branch (for the register allocator, see below). Headers (loop headers
/// and function entries), blocks entered from another part and catch
/// blocks are entries too (the caller adds them). A block that is not an
/// entry and where a slice starts (the process was preempted there, or
/// left compiled code for the interpreter just before it) runs
/// interpreted up to the next entry, as code not yet compiled does.
fn engine_entry(p: &Program, a: u32) -> bool {
    let i = a as usize;
    if i == 0 || p.layout_of[i - 1] != p.layout_of[i] {
        return true;
    }
    let prev = &p.code[i - 1];
    let op = prev.opcode();
    // A loop's exit after its backward branch stays an entry: reached only
    // from the loop, its values would be the loop's own, live out of both
    // edges of the loop's branch, and Cranelift's register allocator then
    // moves the loop-carried values on the back edge (count.ttvm: 3 more
    // instructions per iteration, +30%).
    if prev.branch().is_some_and(|(_, t)| (t as usize) < i) {
        return true;
    }
    let internal = prev.target().is_some() || op.no_fallthrough() || !op.ends_block();
    !internal
}

/// The compile cost of instruction `i` in a frame of `slots` variables:
/// 1, and for the instructions whose lowering handles every variable of
/// a frame, that many more.
fn weight(p: &Program, i: usize, slots: usize) -> usize {
    match &p.code[i] {
        // Every variable is dropped inline, or the helper returns.
        Instr::Ret(_) if slots > lower::MAX_INLINE_RET_SLOTS => 4,
        Instr::Ret(_) => 1 + slots,
        // Every variable is read again afterwards (the helper may have
        // written any).
        i if i.opcode().jit() == JitClass::HelperWrites => 1 + slots / 4,
        // The callee's variables are cleared inline (up to a limit).
        Instr::Call(c) => {
            let callee = lower::callee_slots(p, c.target);
            CALL_COST + callee.min(lower::MAX_INLINE_CALL_SLOTS) / 4
        }
        _ => 1,
    }
}

/// The compile cost of the block at `start`.
fn block_weight(p: &Program, start: u32, slots: usize) -> usize {
    let s = start as usize;
    let end = s + p.block_cost[s] as usize;
    BLOCK_COST + (s..end).map(|i| weight(p, i, slots)).sum::<usize>()
}

/// Where the parts of a unit with `blocks` (ascending) start: the first
/// block, then block starts or, inside a block too big for a part,
/// instruction addresses. Greedy: a part takes blocks while they fit in
/// `cap` ([`MAX_PART_COST`]); when the next one does not, the part ends at the
/// block start, among those where it is at least half full, that the
/// fewest jumps, branches and fall-throughs cross (the latest of those),
/// so that a loop tends to stay in one part.
fn split(p: &Program, blocks: &[u32], slots: usize, cap: usize) -> Vec<u32> {
    let cross = crossings(p, blocks);
    let mut starts = vec![blocks[0]];
    // The current part's cost, and its blocks after the first (index in
    // `blocks`, cost before it): where it may end.
    let mut acc = 0;
    let mut cands: Vec<(usize, usize)> = Vec::new();
    for (j, &a) in blocks.iter().enumerate() {
        let c = block_weight(p, a, slots);
        while acc > 0 && acc + c > cap {
            let at = cands
                .iter()
                .copied()
                .chain([(j, acc)])
                .filter(|&(_, before)| 2 * before >= cap)
                .min_by_key(|&(k, _)| (cross[k], std::cmp::Reverse(k)))
                .unwrap_or((j, acc));
            starts.push(blocks[at.0]);
            acc -= at.1;
            cands.retain(|&(k, _)| k > at.0);
            for cand in &mut cands {
                cand.1 -= at.1;
            }
        }
        if c > cap {
            // Too big for a part on its own (and the part before ends
            // before it): cut inside it.
            cands.clear();
            acc = BLOCK_COST;
            let s = a as usize;
            for i in s..s + p.block_cost[s] as usize {
                let w = weight(p, i, slots);
                if acc + w > cap && i > s && cuttable(p, i) {
                    starts.push(i as u32);
                    acc = 0;
                }
                acc += w;
            }
            continue;
        }
        if acc > 0 {
            cands.push((j, acc));
        }
        acc += c;
    }
    starts
}

/// Whether a part may start at instruction `i`, inside a block: not at a
/// receive or SLEEP (whose resume entry is there) nor inside a fused
/// `LOAD x; …; STORE x` update.
fn cuttable(p: &Program, i: usize) -> bool {
    !p.code[i].opcode().waits()
        && (1..=3).all(|k| i < k || lower::in_place_update(p, (i - k) as u32).is_none())
}

/// For each block of `blocks` (ascending): how many control-flow edges
/// between the unit's blocks cross a cut right before it.
fn crossings(p: &Program, blocks: &[u32]) -> Vec<usize> {
    let index = |a: u32| blocks.binary_search(&a).ok();
    let mut diff = vec![0isize; blocks.len() + 1];
    for (j, &a) in blocks.iter().enumerate() {
        for t in lower::successors(p, a) {
            if let Some(k) = index(t) {
                let (lo, hi) = (j.min(k), j.max(k));
                if lo < hi {
                    diff[lo + 1] += 1;
                    diff[hi + 1] -= 1;
                }
            }
        }
    }
    let mut run = 0;
    diff.iter()
        .take(blocks.len())
        .map(|d| {
            run += d;
            run as usize
        })
        .collect()
}

/// Mark the block starts and continuations of `parts` (one unit's,
/// starting at `starts`) that are entered from another of its parts.
fn mark_entries(p: &Program, starts: &[u32], parts: &[UnitPlan], entry: &mut [bool]) {
    let part_of = |a: u32| starts.partition_point(|&s| s <= a).checked_sub(1);
    for (k, part) in parts.iter().enumerate() {
        if let Some(c) = part.cont {
            entry[c as usize] = true;
        }
        for &a in &part.blocks {
            for t in lower::successors(p, a) {
                let i = t as usize;
                if i < p.code.len() && p.layout_of[i] == part.layout && part_of(t) != Some(k) {
                    entry[i] = true;
                }
            }
        }
    }
}
