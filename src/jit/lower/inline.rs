//! Inline returns: before a direct entry calls a function, it runs the
//! callee's code inline as far as the callee would return without making
//! a call of its own (the base case of a recursion, a small function). On
//! such a path the result is the callee's and the budget is charged as the
//! callee's blocks would have charged it; nothing else of the callee is
//! seen after its RET, so nothing needs writing. Anything else — a block
//! that calls (deeper than [`MAX_NEST`] frames), a loop, a guard that
//! fails, an instruction without an inline lowering, a block that would be
//! preempted — goes to the real call, which starts over from the arguments
//! and the budget as they were, so the results are exactly the call's.
//!
//! The callee's instructions are lowered by the one translator
//! (`Lower::instr`) in a third frame environment, [`Inline`]: the frame's
//! slots and operands are SSA values of the path being lowered (nothing
//! in memory or in Cranelift variables), leaving is a jump to the real
//! call, a jump or branch lowers its target block again on each path
//! (paths are lowered one at a time, so a block reached twice on one path
//! is a loop: the real call), a RET jumps to the caller's join with the
//! result, a CALL of a function with a direct entry is lowered inline in
//! turn, and nothing is counted: a path holds unboxed values only (its
//! arguments are tested, and it takes no list, object or string
//! operation), so leaving it for the real call drops nothing.

use super::direct::Direct;
use super::env::{FrameEnv, Helper};
use super::{Assumed, Input, Item, Lower, NULL};
use crate::bytecode::{Callee as CallInstr, Instr};
use crate::jit::code::Imports;
use crate::jit::direct::DirectPlan;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{I64, I8};
use cranelift_codegen::ir::{self, BlockArg, InstBuilder};
use cranelift_frontend::FunctionBuilder;

/// Instructions lowered inline per call site, at most.
const MAX_INLINE: usize = 96;
/// Nested calls lowered inline: the callee's own calls (to a function
/// with a direct entry) are tried inline too, this many frames deep in
/// all; a path that would go deeper makes the real call.
pub(super) const MAX_NEST: u32 = 3;

/// What one path through a frame lowered inline holds besides its
/// operands and the tags known (`Lower::stack`, `Lower::known`).
#[derive(Clone)]
struct Path {
    /// Each slot's (tag, payload); `None` while it is unset.
    slots: Vec<Option<(ir::Value, ir::Value)>>,
    /// The reductions left.
    budget: ir::Value,
    /// Blocks on this path so far (a loop goes to the call).
    seen: Vec<u32>,
    /// The chain has room for every frame lowered inline: `left` was
    /// tested against [`MAX_NEST`] on this path (at its first nested
    /// call, once for all of them).
    room: bool,
}

/// The frame environment of a callee lowered inline (one per frame).
pub(super) struct Inline<'p> {
    /// The direct entry's own plan (the function its calls to itself
    /// reach).
    own: &'p DirectPlan,
    path: Path,
    /// Frames above the direct entry's: 1 for the callee of the real call.
    level: u32,
    /// The real call: where every path that does not return inline goes.
    call: ir::Block,
    /// Where a RET goes, with (tag, payload) for each value the frame
    /// returns (one pair for none) and the budget.
    join: ir::Block,
    /// The values the frame returns (`DirectPlan::rets`).
    rets: usize,
    /// Instructions lowered inline for this call site so far.
    count: usize,
    /// The direct entry's `place` (the frames the chain may still make).
    pos: ir::Value,
    /// Lowered in the unchecked copy: no block start can be preempted.
    fast: bool,
    /// The lowering went wrong (a bug): the direct entry is not compiled.
    err: Option<String>,
}

impl FrameEnv for Inline<'_> {
    const INT_ONLY: bool = true;

    fn save_state(_: &mut Lower<'_, '_, '_, Self>) {}

    fn reload_state(_: &mut Lower<'_, '_, '_, Self>) {}

    fn flush_below(_: &mut Lower<'_, '_, '_, Self>, _keep: usize) {}

    /// Below the callee's own operands: the real call.
    fn operands_below(
        l: &mut Lower<'_, '_, '_, Self>,
        need: usize,
        _checked: bool,
        _dpc: u32,
    ) -> Vec<Item> {
        l.go_call();
        let dead = l.b.create_block();
        l.b.switch_to_block(dead);
        let z = l.b.ins().iconst(I64, 0);
        let t = l.b.ins().iconst(I8, NULL as i64);
        let dummy = Item {
            tag: t,
            pay: z,
            known: None,
            slot: None,
        };
        vec![dummy; need]
    }

    /// The path's value (an unset slot's is never used: its LOAD goes to
    /// the call).
    fn slot(l: &mut Lower<'_, '_, '_, Self>, s: usize) -> (ir::Value, ir::Value) {
        match l.mode.path.slots[s] {
            Some(v) => v,
            None => {
                let t = l.b.ins().iconst(I8, l.input.none_tag as i64);
                let z = l.b.ins().iconst(I64, 0);
                (t, z)
            }
        }
    }

    fn write_slot(l: &mut Lower<'_, '_, '_, Self>, s: usize, v: Item, _old_known: Option<u8>) {
        l.mode.path.slots[s] = Some((v.tag, v.pay));
    }

    /// A slot is unset exactly where its tag is known to be the unset
    /// one (nothing else is unknown on a path): the call raises it.
    fn load_checks(l: &mut Lower<'_, '_, '_, Self>, _slot: u32, it: Item, dpc: u32) -> bool {
        if it.known == Some(l.input.none_tag) {
            l.exit_always(&[], dpc);
            return false;
        }
        true
    }

    fn refcount(_: &mut Lower<'_, '_, '_, Self>, _f: ir::FuncRef, _it: Item) {}

    fn exit(l: &mut Lower<'_, '_, '_, Self>, _dpc: u32) {
        l.go_call();
    }

    /// Every exit is the real call.
    fn exit_block(l: &mut Lower<'_, '_, '_, Self>, _dpc: u32) -> Option<ir::Block> {
        Some(l.mode.call)
    }

    /// Blocks are lowered per path: nothing is carried along edges.
    fn edge(_: &mut Lower<'_, '_, '_, Self>, _target: u32) {}

    fn cut(_: &Lower<'_, '_, '_, Self>) -> Option<u32> {
        None
    }

    /// Go on at block `target` on this path (the real call when it is not
    /// a block start).
    fn jump(l: &mut Lower<'_, '_, '_, Self>, target: u32) {
        if !l.input.program.block_start[target as usize] {
            return l.go_call();
        }
        l.inline_block(target);
    }

    /// Each side is a path of its own.
    fn branch(l: &mut Lower<'_, '_, '_, Self>, truth: ir::Value, on_true: u32, on_false: u32) {
        let yes = l.b.create_block();
        let no = l.b.create_block();
        l.b.ins().brif(truth, yes, &[], no, &[]);
        let saved = (l.stack.clone(), l.known.clone(), l.mode.path.clone());
        l.b.switch_to_block(yes);
        Self::jump(l, on_true);
        (l.stack, l.known, l.mode.path) = saved;
        l.b.switch_to_block(no);
        Self::jump(l, on_false);
    }

    fn call(l: &mut Lower<'_, '_, '_, Self>, at: u32, _dpc: u32, c: &CallInstr) {
        l.inline_call(at, c);
    }

    fn call_function(l: &mut Lower<'_, '_, '_, Self>, _at: u32, _dpc: u32) {
        l.go_call();
    }

    /// The frame's operands are its results (anything else: the call).
    fn ret(l: &mut Lower<'_, '_, '_, Self>, _at: u32, dpc: u32) {
        let n = l.mode.rets;
        if l.stack.len() != n {
            return l.go_call();
        }
        let rs = l.operands(n, dpc);
        let mut args = Vec::with_capacity(2 * n + 1);
        for r in rs {
            let tag = l.tag_of(r);
            args.extend([BlockArg::Value(tag), BlockArg::Value(r.pay)]);
        }
        if n == 0 {
            let t = l.b.ins().iconst(I8, NULL as i64);
            let z = l.b.ins().iconst(I64, 0);
            args.extend([BlockArg::Value(t), BlockArg::Value(z)]);
        }
        let (join, budget) = (l.mode.join, l.mode.path.budget);
        args.push(BlockArg::Value(budget));
        l.b.ins().jump(join, &args);
    }

    /// No helpers (the call), but for a list returned right away by the
    /// frame the real call makes ([`returned_list`]): allocated inline
    /// from the path's unboxed values, it becomes the result, owned by
    /// the direct entry as the real call's would be.
    fn helper(l: &mut Lower<'_, '_, '_, Self>, at: u32, dpc: u32, instr: &Instr, how: Helper) {
        if let Instr::MakeList(c) = instr {
            let p = l.input.program;
            if l.mode.level == 1
                && l.mode.rets == 1
                && l.stack.len() == c.0 as usize
                && returned_list(p, at)
            {
                if let Some(shape) = super::data::value_shape(instr) {
                    return l.value_op(at, instr, dpc, shape, None);
                }
            }
        }
        match how {
            Helper::Ends => l.go_call(),
            _ => l.exit_always(&[], dpc),
        }
    }

    fn interpret(
        l: &mut Lower<'_, '_, '_, Self>,
        _at: u32,
        _dpc: u32,
        operands: &[Item],
    ) -> Option<ir::Value> {
        l.unpop(operands);
        l.go_call();
        None
    }

    /// At most [`MAX_INLINE`] instructions per call site; no list, object
    /// or string operation (a path holds unboxed values only, so nothing
    /// on it is counted and leaving for the real call drops nothing).
    fn before_instr(l: &mut Lower<'_, '_, '_, Self>, at: u32) -> bool {
        l.mode.count += 1;
        let instr = &l.input.program.code[at as usize];
        if l.mode.count > MAX_INLINE || crate::jit::direct::heap_inline(instr) {
            l.go_call();
            return false;
        }
        true
    }
}

impl Lower<'_, '_, '_, Direct<'_>> {
    /// Lower the callee of `plan`'s return paths from the current block:
    /// each ends in `join` (each result's tag and payload, the budget) or
    /// `call`. `false`
    /// (and nothing lowered) when no path returns without calling.
    pub(super) fn inline_returns(
        &mut self,
        plan: &DirectPlan,
        args: &[Item],
        call: ir::Block,
        join: ir::Block,
    ) -> bool {
        let p = self.input.program;
        let own = self.mode.plan;
        if !returns_inline(p, plan, &|t| inline_plan(self.input, own, t)) {
            return false;
        }
        let mode = Inline {
            own,
            path: Path {
                slots: Vec::new(),
                budget: self.b.use_var(self.v_budget),
                seen: Vec::new(),
                room: false,
            },
            level: 1,
            call,
            join,
            rets: plan.rets,
            count: 0,
            pos: self.mode.pos,
            fast: self.mode.fast,
            err: None,
        };
        let done = lower_inline(self.b, self.im, self.input, self.assume, plan, args, mode);
        if let Some(e) = done.err {
            self.direct_bug(&e);
        }
        true
    }

    /// The plan of the function at `target` when it has a direct entry
    /// (this function's own, or its callee's).
    pub(super) fn inline_plan(&self, target: u32) -> Option<DirectPlan> {
        inline_plan(self.input, self.mode.plan, target)
    }
}

/// Lower the frame of `plan`'s function, called with `args`, inline in
/// environment `mode` (its path's slots are set here): the environment
/// after.
fn lower_inline<'p>(
    b: &mut FunctionBuilder<'_>,
    im: &Imports,
    input: &Input<'_>,
    assume: &Assumed,
    plan: &DirectPlan,
    args: &[Item],
    mut mode: Inline<'p>,
) -> Inline<'p> {
    mode.path.slots = vec![None; plan.size as usize];
    let mut l = Lower::new(b, im, input, assume, plan.size as usize, mode);
    // Only unboxed values on a path: an argument that may be a heap value
    // is tested, and the real call takes it (it owns the reference).
    for &a in args {
        match a.known {
            Some(k) if !super::is_heap(k) => {}
            Some(_) => {
                l.go_call();
                return l.mode;
            }
            None => {
                let boxed =
                    l.b.ins()
                        .icmp_imm(IntCC::UnsignedGreaterThan, a.tag, super::FLOAT as i64);
                let next = l.b.create_block();
                l.b.ins().brif(boxed, l.mode.call, &[], next, &[]);
                l.b.switch_to_block(next);
            }
        }
    }
    let unset = Some(input.none_tag);
    l.known.iter_mut().for_each(|k| *k = unset);
    for (&s, &a) in plan.params.iter().zip(args) {
        l.mode.path.slots[s as usize] = Some((a.tag, a.pay));
        l.known[s as usize] = a.known;
    }
    l.inline_block(plan.target);
    l.mode
}

impl Lower<'_, '_, '_, Inline<'_>> {
    fn go_call(&mut self) {
        self.b.ins().jump(self.mode.call, &[]);
    }

    /// Lower block `start` of the frame on the current path, and the
    /// blocks after it.
    fn inline_block(&mut self, start: u32) {
        if self.mode.path.seen.contains(&start) {
            return self.go_call();
        }
        self.mode.path.seen.push(start);
        // The block's charge, as its prologue would do it (the unchecked
        // copy has the budget for it).
        let budget = self.mode.path.budget;
        if !self.mode.fast {
            let spent = self
                .b
                .ins()
                .icmp_imm(IntCC::SignedLessThanOrEqual, budget, 0);
            let body = self.b.create_block();
            self.b.ins().brif(spent, self.mode.call, &[], body, &[]);
            self.b.switch_to_block(body);
        }
        let cost = self.input.program.block_cost[start as usize] as i64;
        self.mode.path.budget = self.b.ins().iadd_imm(budget, -cost);
        self.cur = Some(start);
        if let Err(e) = self.block_body(start) {
            self.mode.err.get_or_insert(e);
        }
    }

    /// CALL in a frame lowered inline: the callee lowered inline too
    /// (its result is this frame's for a tail call), or the real call.
    fn inline_call(&mut self, at: u32, c: &CallInstr) {
        let p = self.input.program;
        let n = c.param_slots.len();
        let tail = p.tail_call(at);
        let level = if tail {
            self.mode.level
        } else {
            self.mode.level + 1
        };
        let Some(callee) = inline_plan(self.input, self.mode.own, c.target) else {
            return self.go_call();
        };
        let have = self.stack.len();
        if level > MAX_NEST
            || have < n
            || (tail && (have != n || callee.rets != self.mode.rets))
            || callee.params[..] != c.param_slots[..]
        {
            return self.go_call();
        }
        // A callee none of whose paths returns within the frames left to
        // nest (each ends in the real call) is not lowered: it would only
        // add tests before the call (binary-trees' `make` one level down,
        // whose leaf list is made inline only in the real call's frame).
        let levels = MAX_NEST + 1 - level;
        let own = self.mode.own;
        if !returns_within(p, &callee, &|t| inline_plan(self.input, own, t), levels) {
            return self.go_call();
        }
        if level > self.mode.level && !self.mode.path.room {
            // The frames it makes must be within the chain's limit, as a
            // real call would check: once per path, for the deepest
            // nesting (a chain with fewer frames left makes the call).
            let left = self
                .b
                .ins()
                .band_imm(self.mode.pos, crate::jit::Place::LEFT_MASK);
            let ok =
                self.b
                    .ins()
                    .icmp_imm(IntCC::UnsignedGreaterThanOrEqual, left, MAX_NEST as i64);
            let next = self.b.create_block();
            self.b.ins().brif(ok, next, &[], self.mode.call, &[]);
            self.b.switch_to_block(next);
            self.mode.path.room = true;
        }
        let args = self.stack.split_off(have - n);
        let back = if tail {
            // Its result is this frame's.
            self.mode.join
        } else {
            let back = self.b.create_block();
            for _ in 0..callee.rets.max(1) {
                self.b.append_block_param(back, I8);
                self.b.append_block_param(back, I64);
            }
            self.b.append_block_param(back, I64);
            back
        };
        let mode = Inline {
            own: self.mode.own,
            path: Path {
                slots: Vec::new(),
                budget: self.mode.path.budget,
                seen: Vec::new(),
                room: self.mode.path.room,
            },
            level,
            call: self.mode.call,
            join: back,
            rets: callee.rets,
            count: self.mode.count,
            pos: self.mode.pos,
            fast: self.mode.fast,
            err: None,
        };
        let done = lower_inline(
            self.b,
            self.im,
            self.input,
            self.assume,
            &callee,
            &args,
            mode,
        );
        self.mode.count = done.count;
        if let Some(e) = done.err {
            self.mode.err.get_or_insert(e);
        }
        if tail {
            return;
        }
        self.b.switch_to_block(back);
        let ps = self.b.block_params(back).to_vec();
        self.mode.path.budget = *ps.last().expect("the budget");
        for k in 0..callee.rets {
            self.stack.push(Item {
                tag: ps[2 * k],
                pay: ps[2 * k + 1],
                known: None,
                slot: None,
            });
        }
        self.jump_to(at + 1);
    }
}

/// The plan of the function at `target` when it has a direct entry
/// (`own`, the direct entry's, or its callee's).
fn inline_plan(input: &Input<'_>, own: &DirectPlan, target: u32) -> Option<DirectPlan> {
    if own.target == target {
        return Some(own.clone());
    }
    (input.callee)(target)
        .and_then(|k| k.direct)
        .map(|(_, plan)| plan)
}

/// Whether some path from the function's entry reaches a RET through
/// blocks without a call, or with calls to functions that may (else
/// inlining it only adds code).
fn returns_inline(
    p: &crate::bytecode::Program,
    plan: &DirectPlan,
    plan_of: &dyn Fn(u32) -> Option<DirectPlan>,
) -> bool {
    returns_within(p, plan, plan_of, MAX_NEST)
}

fn returns_within(
    p: &crate::bytecode::Program,
    plan: &DirectPlan,
    plan_of: &dyn Fn(u32) -> Option<DirectPlan>,
    levels: u32,
) -> bool {
    let mut work = vec![plan.target];
    let mut seen = Vec::new();
    let mut count = 0;
    while let Some(start) = work.pop() {
        if seen.contains(&start) {
            continue;
        }
        seen.push(start);
        let mut at = start as usize;
        loop {
            count += 1;
            if count > MAX_INLINE {
                return false;
            }
            let instr = &p.code[at];
            match instr {
                Instr::Ret(_) => return true,
                // The list a frame the real call makes returns (see
                // `Inline::helper`); any other list, object or string
                // operation sends the path to the call.
                Instr::MakeList(_) if levels == MAX_NEST && returned_list(p, at as u32) => {}
                _ if heap_op(instr) => break,
                Instr::Call(c) if levels > 1 => {
                    let returns = plan_of(c.target)
                        .is_some_and(|q| returns_within(p, &q, plan_of, levels - 1));
                    if !returns {
                        break;
                    }
                }
                _ if instr.is_call() => break,
                _ => {}
            }
            if let Some(t) = instr.target() {
                work.push(t);
                if instr.branch().is_some() {
                    work.push(at as u32 + 1);
                }
                break;
            }
            at += 1;
            if at >= p.code.len() {
                break;
            }
            if p.block_start[at] {
                work.push(at as u32);
                break;
            }
        }
    }
    false
}

/// Whether the instruction at `at` is a MAKE_LIST of at most
/// `data::MAX_INLINE_LIST` values whose list the frame returns at once
/// (a RET right after it, in the same block: nothing can leave the path
/// between the allocation and the return, so the list is never dropped
/// on the way to the real call).
fn returned_list(p: &crate::bytecode::Program, at: u32) -> bool {
    let at = at as usize;
    matches!(&p.code[at], Instr::MakeList(c) if c.0 as usize <= super::data::MAX_INLINE_LIST)
        && at + 1 < p.code.len()
        && !p.block_start[at + 1]
        && matches!(p.code[at + 1], Instr::Ret(_))
}

/// An instruction a path cannot take (a list, object or string operation,
/// or a helper's): the path goes to the real call there.
fn heap_op(i: &Instr) -> bool {
    use crate::jit::direct as d;
    d::heap_inline(i) || d::value_helper(i) || d::borrowed_helper(i) || d::library_helper(i)
}
