//! Inline returns: before a direct entry calls a function, it runs the
//! callee's code inline as far as the callee would return without making
//! a call of its own (the base case of a recursion, a small function). On
//! such a path the result is the callee's and the budget is charged as the
//! callee's blocks would have charged it; nothing else of the callee is
//! seen after its RET, so nothing needs writing. Anything else — a block
//! that calls, a loop, a guard that fails, an instruction not lowered
//! here, a block that would be preempted — goes to the real call, which
//! starts over from the arguments and the budget as they were, so the
//! results are exactly the call's.

use super::direct::Direct;
use super::{Item, Lower, BOOL, INT};
use crate::bytecode::{Arith, Instr};
use crate::jit::direct::DirectPlan;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{I64, I8};
use cranelift_codegen::ir::{self, BlockArg, InstBuilder};

/// Instructions lowered inline per call site, at most.
const MAX_INLINE: usize = 96;
/// Nested calls lowered inline: the callee's own calls (to a function
/// with a direct entry) are tried inline too, this many frames deep in
/// all; a path that would go deeper makes the real call.
pub(super) const MAX_NEST: u32 = 3;

/// One path through the callee being lowered inline.
#[derive(Clone)]
struct Path {
    slots: Vec<Option<Item>>,
    stack: Vec<Item>,
    budget: ir::Value,
    /// Blocks on this path so far (a loop goes to the call).
    seen: Vec<u32>,
    /// Frames above the caller's: 1 for the callee of the real call.
    level: u32,
}

impl Lower<'_, '_, '_, Direct<'_>> {
    /// Lower the callee of `plan`'s return paths from the current block:
    /// each ends in `join` (result tag, payload, budget) or `call`. `false`
    /// (and nothing lowered) when no path returns without calling.
    pub(super) fn inline_returns(
        &mut self,
        plan: &DirectPlan,
        args: &[Item],
        call: ir::Block,
        join: ir::Block,
    ) -> bool {
        let p = self.input.program;
        if !returns_inline(p, plan, &|t| self.inline_plan(t)) {
            return false;
        }
        let mut slots = vec![None; plan.size as usize];
        for (&s, &a) in plan.params.iter().zip(args) {
            slots[s as usize] = Some(Item { slot: None, ..a });
        }
        let path = Path {
            slots,
            stack: Vec::new(),
            budget: self.b.use_var(self.v_budget),
            seen: Vec::new(),
            level: 1,
        };
        let mut count = 0;
        self.inline_block(plan.target, path, call, join, &mut count);
        true
    }

    /// Lower block `start` of the callee on `path`, and the blocks after
    /// it.
    fn inline_block(
        &mut self,
        start: u32,
        mut path: Path,
        call: ir::Block,
        join: ir::Block,
        count: &mut usize,
    ) {
        let p = self.input.program;
        if path.seen.contains(&start) {
            self.b.ins().jump(call, &[]);
            return;
        }
        path.seen.push(start);
        // The block's charge, as its prologue would do it (the unchecked
        // copy has the budget for it).
        if !self.mode.fast {
            let spent = self
                .b
                .ins()
                .icmp_imm(IntCC::SignedLessThanOrEqual, path.budget, 0);
            let body = self.b.create_block();
            self.b.ins().brif(spent, call, &[], body, &[]);
            self.b.switch_to_block(body);
        }
        let cost = p.block_cost[start as usize] as i64;
        path.budget = self.b.ins().iadd_imm(path.budget, -cost);
        let mut at = start;
        loop {
            *count += 1;
            if *count > MAX_INLINE {
                self.b.ins().jump(call, &[]);
                return;
            }
            let s = &mut path.stack;
            let instr = &p.code[at as usize];
            'op: {
                if let Some(v) = instr.constant() {
                    // A string: the real call.
                    let Some((k, bits)) = super::unboxed(&v) else {
                        return self.go_call(call);
                    };
                    let v = self.b.ins().iconst(I64, bits);
                    s.push(self.inline_item(k, v));
                    break 'op;
                }
                // Int operators that cannot raise, and Int comparisons.
                let int_op = match (instr.arith(), instr.cmp()) {
                    (Some((op @ (Arith::Add | Arith::Sub | Arith::Mul), false)), _) => Some(Ok(op)),
                    (_, Some((c, false))) => Some(Err(c)),
                    _ => None,
                };
                if let Some(op) = int_op {
                    let (Some(b), Some(a)) = (s.pop(), s.pop()) else {
                        return self.go_call(call);
                    };
                    for it in [a, b] {
                        if !self.inline_int(it, call) {
                            return;
                        }
                    }
                    let r = match op {
                        Ok(Arith::Add) => self.b.ins().iadd(a.pay, b.pay),
                        Ok(Arith::Sub) => self.b.ins().isub(a.pay, b.pay),
                        Ok(_) => self.b.ins().imul(a.pay, b.pay),
                        Err(c) => {
                            let c = self.b.ins().icmp(super::arith::int_cc(c), a.pay, b.pay);
                            self.b.ins().uextend(I64, c)
                        }
                    };
                    let it = self.inline_item(INT, r);
                    path.stack.push(it);
                    break 'op;
                }
                if let Some(t) = instr.target() {
                    let Some((jump_if, _)) = instr.branch() else {
                        return self.inline_next(t, path, call, join, count);
                    };
                    let Some(a) = s.pop() else {
                        return self.go_call(call);
                    };
                    let truth = self.truthy(a);
                    let (on_true, on_false) = if jump_if { (t, at + 1) } else { (at + 1, t) };
                    let yes = self.b.create_block();
                    let no = self.b.create_block();
                    self.b.ins().brif(truth, yes, &[], no, &[]);
                    self.b.switch_to_block(yes);
                    self.inline_next(on_true, path.clone(), call, join, count);
                    self.b.switch_to_block(no);
                    return self.inline_next(on_false, path, call, join, count);
                }
                match instr {
                    Instr::Load(v) => match path.slots[v.slot as usize] {
                        Some(it) => path.stack.push(it),
                        // Unset: the call raises it.
                        None => return self.go_call(call),
                    },
                    Instr::Store(v) => {
                        let Some(it) = s.pop() else {
                            return self.go_call(call);
                        };
                        path.slots[v.slot as usize] = Some(it);
                    }
                    Instr::Dup(_) | Instr::Pop(_) | Instr::Swap(_) | Instr::Over(_) => {
                        if !shuffle(instr, s) {
                            return self.go_call(call);
                        }
                    }
                    Instr::Not(_) => {
                        let Some(a) = s.pop() else {
                            return self.go_call(call);
                        };
                        let t = self.truthy(a);
                        let f = self.b.ins().bxor_imm(t, 1);
                        let f = self.b.ins().uextend(I64, f);
                        let it = self.inline_item(BOOL, f);
                        path.stack.push(it);
                    }
                    Instr::Call(c) => {
                        let n = c.param_slots.len();
                        let tail = p.tail_call(at);
                        let level = if tail { path.level } else { path.level + 1 };
                        let Some(callee) = self.inline_plan(c.target) else {
                            return self.go_call(call);
                        };
                        if level > MAX_NEST
                            || s.len() < n
                            || (tail && s.len() != n)
                            || callee.params[..] != c.param_slots[..]
                        {
                            return self.go_call(call);
                        }
                        if level > path.level {
                            // The frame it makes must be within the chain's
                            // limit, as a real call would check.
                            let pos = self.mode.pos;
                            let left = self.b.ins().band_imm(pos, crate::jit::Place::LEFT_MASK);
                            let ok = self.b.ins().icmp_imm(
                                IntCC::UnsignedGreaterThanOrEqual,
                                left,
                                level as i64,
                            );
                            let next = self.b.create_block();
                            self.b.ins().brif(ok, next, &[], call, &[]);
                            self.b.switch_to_block(next);
                        }
                        let args = path.stack.split_off(path.stack.len() - n);
                        let mut slots = vec![None; callee.size as usize];
                        for (&slot, &a) in callee.params.iter().zip(&args) {
                            slots[slot as usize] = Some(Item { slot: None, ..a });
                        }
                        let inner = Path {
                            slots,
                            stack: Vec::new(),
                            budget: path.budget,
                            seen: Vec::new(),
                            level,
                        };
                        if tail {
                            // Its result is this frame's.
                            return self.inline_block(callee.target, inner, call, join, count);
                        }
                        let back = self.b.create_block();
                        self.b.append_block_param(back, I8);
                        self.b.append_block_param(back, I64);
                        self.b.append_block_param(back, I64);
                        self.inline_block(callee.target, inner, call, back, count);
                        self.b.switch_to_block(back);
                        let ps = self.b.block_params(back).to_vec();
                        path.budget = ps[2];
                        path.stack.push(Item {
                            tag: ps[0],
                            pay: ps[1],
                            known: None,
                            slot: None,
                        });
                        return self.inline_next(at + 1, path, call, join, count);
                    }
                    Instr::Ret(_) => {
                        let (Some(r), true) = (s.pop(), s.is_empty()) else {
                            return self.go_call(call);
                        };
                        let tag = match r.known {
                            Some(k) => self.b.ins().iconst(I8, k as i64),
                            None => r.tag,
                        };
                        self.b.ins().jump(
                            join,
                            &[
                                BlockArg::Value(tag),
                                BlockArg::Value(r.pay),
                                BlockArg::Value(path.budget),
                            ],
                        );
                        return;
                    }
                    // Calls, and what has no inline lowering here.
                    _ => return self.go_call(call),
                }
            }
            at += 1;
            if p.block_start[at as usize] {
                return self.inline_next(at, path, call, join, count);
            }
        }
    }

    /// Go on at block `target` of the callee (the real call when it is not
    /// a block of the function).
    fn inline_next(
        &mut self,
        target: u32,
        path: Path,
        call: ir::Block,
        join: ir::Block,
        count: &mut usize,
    ) {
        if !self.input.program.block_start[target as usize] {
            return self.go_call(call);
        }
        self.inline_block(target, path, call, join, count);
    }

    fn go_call(&mut self, call: ir::Block) {
        self.b.ins().jump(call, &[]);
    }

    fn inline_item(&mut self, k: u8, pay: ir::Value) -> Item {
        Item {
            tag: self.b.ins().iconst(I8, k as i64),
            pay,
            known: Some(k),
            slot: None,
        }
    }

    /// Make sure `it` is an Int (else the real call): `false` when it
    /// surely is not (the block is ended).
    fn inline_int(&mut self, it: Item, call: ir::Block) -> bool {
        match it.known {
            Some(INT) => true,
            Some(_) => {
                self.b.ins().jump(call, &[]);
                false
            }
            None => {
                let ok = self.b.ins().icmp_imm(IntCC::Equal, it.tag, INT as i64);
                let next = self.b.create_block();
                self.b.ins().brif(ok, next, &[], call, &[]);
                self.b.switch_to_block(next);
                true
            }
        }
    }
}

/// DUP POP SWAP OVER on the inline stack; `false` when it is too short.
fn shuffle(i: &Instr, s: &mut Vec<Item>) -> bool {
    let n = s.len();
    match i {
        Instr::Dup(_) if n >= 1 => s.push(s[n - 1]),
        Instr::Pop(_) if n >= 1 => {
            s.pop();
        }
        Instr::Swap(_) if n >= 2 => s.swap(n - 1, n - 2),
        Instr::Over(_) if n >= 2 => s.push(s[n - 2]),
        _ => return false,
    }
    true
}

impl Lower<'_, '_, '_, Direct<'_>> {
    /// The plan of the function at `target` when it has a direct entry
    /// (this function's own, or its callee's).
    pub(super) fn inline_plan(&self, target: u32) -> Option<DirectPlan> {
        let own = self.mode.plan;
        if own.target == target {
            return Some(own.clone());
        }
        (self.input.callee)(target)
            .and_then(|k| k.direct)
            .map(|(_, plan)| plan)
    }
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
