//! What is known of variable slots' tags across blocks.
//!
//! Within a block the lowering knows which tags its values have (after a
//! constant, a store, a passed guard). Across blocks it would know nothing,
//! because every block is also an entry from the engine with the slots read
//! from memory. This module carries the facts along the unit's *internal*
//! edges (fall-through, jumps, branches, the return to the block after a
//! native call): a block may assume what holds on every internal edge into
//! it, and its entry from the engine checks those tags first (a guard stub
//! in front of the block). When the check fails the code returns
//! `INTERPRET`, and the interpreter runs that block. So a loop counter is
//! checked to be an Int once, on entry, and not on every iteration.
//!
//! The facts are a fixed point, found by lowering the unit's blocks into
//! scratch functions: each block is lowered with the meet of the facts on
//! the internal edges into it seen so far (nothing known when none is), in
//! reverse postorder of the unit's jumps (so a block usually comes after
//! the blocks that lead to it), and the facts on its own edges are met
//! into its successors'. A pass lowers again only the blocks whose facts
//! changed since they were lowered; when a pass finds none, every
//! internal edge into a block carries at least what the block assumes,
//! which is what makes the assumptions sound. A unit without loops takes
//! one pass, a loop whose header learns something from its back edge two.
//! The meets only ever lose facts, so each block is lowered a few times at
//! most; when they have not settled after a few passes the unit is
//! compiled with no assumptions (as if every block were entered from the
//! engine). The cost is linear in the unit's size (an earlier version
//! lowered the whole unit once per step along the longest chain of
//! blocks, up to 13 times: the whole cost again for every unit deeper
//! than 12 blocks).

use super::{slots_of, Assumed, Input, Lower, Ordinary, Unsupported};
use crate::bytecode::{Instr, Program};
use crate::exec::native::status;
use crate::jit::code::Imports;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::I8;
use cranelift_codegen::ir::{self, InstBuilder};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use std::collections::HashMap;

/// An internal edge: the block it leaves (`None`: a resume entry, which
/// knows nothing), the block it enters, and the tags known along it of the
/// tracked slots (see [`tracked`]).
pub(super) type Edge = (Option<u32>, u32, Vec<Option<u8>>);

/// Slots whose tags are carried across blocks, at most: the ones a unit
/// (or part) uses most. Every block could assume the tag of every slot
/// (after a thousand STOREs of Ints, a thousand), and its entry guard
/// checks each: carrying them all would cost blocks × slots.
const MAX_TRACKED: usize = 32;

/// The slots whose tags are carried across the unit's blocks (ascending):
/// all of them when there are at most [`MAX_TRACKED`], else the ones its
/// LOADs and STOREs name most often.
pub(super) fn tracked(input: &Input<'_>) -> Vec<u32> {
    let slots = slots_of(input);
    if slots <= MAX_TRACKED {
        return (0..slots as u32).collect();
    }
    let p = input.program;
    let plan = input.plan;
    let mut uses = vec![0u32; slots];
    for start in plan.blocks.iter().copied().chain(plan.cont) {
        let mut i = start as usize;
        loop {
            if let Instr::Load(v) | Instr::Store(v) = &p.code[i] {
                uses[v.slot as usize] += 1;
            }
            i += 1;
            if i >= p.code.len() || p.block_start[i] {
                break;
            }
        }
    }
    let mut most: Vec<u32> = (0..slots as u32)
        .filter(|&s| uses[s as usize] > 0)
        .collect();
    most.sort_by_key(|&s| (std::cmp::Reverse(uses[s as usize]), s));
    most.truncate(MAX_TRACKED);
    most.sort_unstable();
    most
}

/// Slot tags per block (program address of its start).
type Facts = HashMap<u32, Vec<Option<u8>>>;

/// Passes over the blocks before giving up on assumptions.
const MAX_PASSES: usize = 12;

impl Lower<'_, '_, '_, Ordinary> {
    /// Control goes from the current block to the unit's block `target`
    /// (`FrameEnv::edge` of ordinary code): the facts along the edge.
    pub(super) fn facts_edge(&mut self, target: u32) {
        let facts = self.tracked.iter().map(|&s| self.known[s as usize]);
        self.edges.push((self.cur, target, facts.collect()));
        // A variable with a known tag holds the same constant on every
        // path, so the target's block parameter for it disappears.
        for i in 0..self.tracked.len() {
            let s = self.tracked[i] as usize;
            if let Some(k) = self.known[s] {
                if let Some(v) = self.tag_const(k) {
                    self.b.def_var(self.v_tag[s], v);
                }
            }
        }
    }

    /// The engine's entry into block `start`: check that the slots have
    /// the tags the block assumes, then go on into it; otherwise let the
    /// interpreter run the block (E1, E2 in src/jit/README.md).
    pub(super) fn entry_guard(&mut self, stub: ir::Block, start: u32) {
        let assume = &self.assume[&start];
        self.b.switch_to_block(stub);
        let mut ok = None;
        for (i, k) in assume.clone().into_iter().enumerate() {
            let Some(k) = k else { continue };
            let s = self.tracked[i] as usize;
            let tag = self.b.use_var(self.v_tag[s]);
            let c = self.b.ins().icmp_imm(IntCC::Equal, tag, k as i64);
            ok = Some(match ok {
                None => c,
                Some(o) => self.b.ins().band(o, c),
            });
            let v = match self.tag_const(k) {
                Some(v) => v,
                None => self.b.ins().iconst(I8, k as i64),
            };
            self.b.def_var(self.v_tag[s], v);
        }
        let blk = self.blocks[&start];
        let ok = ok.expect("a block with assumptions assumes something");
        let fail = self.b.create_block();
        self.b.set_cold_block(fail);
        self.b.ins().brif(ok, blk, &[], fail, &[]);
        self.b.switch_to_block(fail);
        self.save_state();
        self.set_pc(self.input.dpc(start));
        self.ret_const(status::INTERPRET);
    }
}

/// The slot tags each block may assume (only blocks that assume something).
pub(super) fn analyse(
    template: &ir::Function,
    im: &Imports,
    input: &Input<'_>,
) -> Result<Assumed, Unsupported> {
    let slots = slots_of(input);
    let order = order(input.program, &input.plan.blocks);
    let nothing = vec![None; tracked(input).len()];
    // Per block: the meet of the facts on the internal edges into it
    // lowered so far (none yet: absent), and the facts it was last
    // lowered with.
    let mut meet = Facts::new();
    let mut lowered = Facts::new();
    let no_assumptions = Assumed::new();
    for _ in 0..MAX_PASSES {
        let stale = |a: &u32, meet: &Facts, lowered: &Facts| {
            lowered.get(a) != Some(meet.get(a).unwrap_or(&nothing))
        };
        if !order.iter().any(|a| stale(a, &meet, &lowered)) {
            return Ok(meet
                .into_iter()
                .filter(|(_, m)| m.iter().any(Option::is_some))
                .collect());
        }
        let mut f = template.clone();
        let mut fctx = FunctionBuilderContext::new();
        let mut b = FunctionBuilder::new(&mut f, &mut fctx);
        let mut l = Lower::new(&mut b, im, input, &no_assumptions, slots, Ordinary);
        l.setup()?;
        take_edges(&mut l.edges, &mut meet);
        for &start in &order {
            if !stale(&start, &meet, &lowered) {
                continue;
            }
            let facts = meet.get(&start).unwrap_or(&nothing).clone();
            l.lower_block(start, Some(&facts))?;
            lowered.insert(start, facts);
            take_edges(&mut l.edges, &mut meet);
        }
    }
    Ok(Assumed::new())
}

/// Meet the facts of `edges` (emptied) into their targets'.
fn take_edges(edges: &mut Vec<Edge>, meet: &mut Facts) {
    for (_, to, facts) in edges.drain(..) {
        match meet.get_mut(&to) {
            None => {
                meet.insert(to, facts);
            }
            Some(m) => {
                for (a, b) in m.iter_mut().zip(facts) {
                    if *a != b {
                        *a = None;
                    }
                }
            }
        }
    }
}

/// The unit's `blocks` in reverse postorder of their jumps, branches,
/// fall-throughs and returns from calls, from the blocks nothing jumps to
/// (then from any block not reached yet, in address order).
fn order(p: &Program, blocks: &[u32]) -> Vec<u32> {
    let n = blocks.len();
    let index: HashMap<u32, usize> = blocks.iter().enumerate().map(|(i, &a)| (a, i)).collect();
    let succ: Vec<Vec<usize>> = blocks
        .iter()
        .map(|&a| {
            successors(p, a)
                .into_iter()
                .filter_map(|t| index.get(&t).copied())
                .collect()
        })
        .collect();
    let mut has_pred = vec![false; n];
    for &t in succ.iter().flatten() {
        has_pred[t] = true;
    }
    let roots = (0..n).filter(|&i| !has_pred[i]).chain(0..n);
    let mut seen = vec![false; n];
    let mut post = Vec::with_capacity(n);
    let mut stack: Vec<(usize, usize)> = Vec::new();
    for r in roots {
        if seen[r] {
            continue;
        }
        seen[r] = true;
        stack.push((r, 0));
        while let Some(top) = stack.last_mut() {
            let (b, i) = *top;
            match succ[b].get(i) {
                Some(&s) => {
                    top.1 += 1;
                    if !seen[s] {
                        seen[s] = true;
                        stack.push((s, 0));
                    }
                }
                None => {
                    post.push(b);
                    stack.pop();
                }
            }
        }
    }
    post.iter().rev().map(|&i| blocks[i]).collect()
}

/// Where control can go from the end of the block at `start` (program
/// addresses, in or out of the unit).
pub(in crate::jit) fn successors(p: &Program, start: u32) -> Vec<u32> {
    let mut at = start as usize;
    loop {
        let instr = &p.code[at];
        let op = instr.opcode();
        match (instr.target(), op.no_fallthrough()) {
            (Some(t), true) => return vec![t],
            (Some(t), false) => return vec![at as u32 + 1, t],
            (None, true) => return vec![],
            // Calls (a block of its own starts after every other block
            // ender: the loop below finds it).
            (None, false) if instr.is_call() => return vec![at as u32 + 1],
            (None, false) => {}
        }
        at += 1;
        if at >= p.code.len() {
            return vec![];
        }
        if p.block_start[at] {
            return vec![at as u32];
        }
    }
}
