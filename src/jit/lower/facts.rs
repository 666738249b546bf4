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
//! The facts are a fixed point, found by lowering the unit into scratch
//! functions: start optimistic (blocks whose only internal predecessors are
//! not yet reached assume nothing yet, and do not count), lower, meet the
//! facts of every edge into each block, repeat until nothing changes. A
//! block that no root reaches is then given no assumptions and the
//! iteration goes on; when the result is stable every internal edge into a
//! block carries at least what the block assumes, which is what makes the
//! assumptions sound. When it does not settle within a few rounds the unit
//! is compiled with no assumptions (as if every block were entered from the
//! engine).

use super::{lower_unit, Assumed, Input, Lower, Unsupported};
use crate::exec::native::status;
use crate::jit::code::Imports;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::I8;
use cranelift_codegen::ir::{self, InstBuilder};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use std::collections::{HashMap, HashSet};

/// An internal edge: the block it leaves (`None`: a resume entry, which
/// knows nothing), the block it enters, and the slot tags known along it.
pub(super) type Edge = (Option<u32>, u32, Vec<Option<u8>>);

/// Rounds of lowering before giving up on assumptions.
const MAX_ROUNDS: usize = 12;

impl Lower<'_, '_, '_> {
    /// Control goes from the current block to the unit's block `target`.
    pub(super) fn edge(&mut self, target: u32) {
        if self.direct.is_some() {
            return self.pass_stack(target);
        }
        self.edges.push((self.cur, target, self.known.clone()));
        // A variable with a known tag holds the same constant on every
        // path, so the target's block parameter for it disappears.
        for s in 0..self.known.len() {
            if let Some(k) = self.known[s] {
                if let Some(v) = self.tag_const(k) {
                    self.b.def_var(self.v_tag[s], v);
                }
            }
        }
    }

    fn tag_const(&self, k: u8) -> Option<ir::Value> {
        self.tag_consts
            .iter()
            .find(|(t, _)| *t == k)
            .map(|&(_, v)| v)
    }

    /// The engine's entry into block `start`: check that the slots have
    /// the tags the block assumes, then go on into it; otherwise let the
    /// interpreter run the block.
    pub(super) fn entry_guard(&mut self, stub: ir::Block, start: u32) {
        let assume = &self.assume[&start];
        self.b.switch_to_block(stub);
        let mut ok = None;
        for (s, k) in assume.clone().into_iter().enumerate() {
            let Some(k) = k else { continue };
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
        self.set_pc(self.input.entry[start as usize]);
        self.ret_const(status::INTERPRET);
    }
}

/// The slot tags each block may assume (only blocks that assume something).
pub(super) fn analyse(
    template: &ir::Function,
    im: &Imports,
    input: &Input<'_>,
) -> Result<Assumed, Unsupported> {
    let scratch = |assume: &Assumed| -> Result<Vec<Edge>, Unsupported> {
        let mut f = template.clone();
        let mut fctx = FunctionBuilderContext::new();
        let mut b = FunctionBuilder::new(&mut f, &mut fctx);
        lower_unit(&mut b, im, input, assume)
    };
    let mut assume = Assumed::new();
    let mut edges = scratch(&assume)?;
    // Blocks not reached yet from a block that is (optimistic start).
    let mut top: HashSet<u32> = edges.iter().map(|e| e.1).collect();
    let mut optimistic = true;
    for _ in 0..MAX_ROUNDS {
        let mut meet: HashMap<u32, Vec<Option<u8>>> = HashMap::new();
        for (from, to, facts) in &edges {
            if from.is_some_and(|f| top.contains(&f)) {
                continue;
            }
            match meet.get_mut(to) {
                None => {
                    meet.insert(*to, facts.clone());
                }
                Some(m) => {
                    for (a, b) in m.iter_mut().zip(facts) {
                        if *a != *b {
                            *a = None;
                        }
                    }
                }
            }
        }
        let new_top: HashSet<u32> = if optimistic {
            top.iter()
                .copied()
                .filter(|b| !meet.contains_key(b))
                .collect()
        } else {
            HashSet::new()
        };
        let new_assume: Assumed = meet
            .into_iter()
            .filter(|(b, m)| !new_top.contains(b) && m.iter().any(Option::is_some))
            .collect();
        if new_assume == assume && new_top == top {
            if top.is_empty() {
                return Ok(assume);
            }
            // What is left unreached gets entered from the engine only:
            // it assumes nothing, and its edges count from now on.
            optimistic = false;
            top.clear();
        } else {
            assume = new_assume;
            top = new_top;
        }
        edges = scratch(&assume)?;
    }
    Ok(Assumed::new())
}
