//! Lowering of direct entries (see `jit::direct` for what they are and
//! which functions have one).
//!
//! A direct entry is called with `(env, place, base, budget, args…)`:
//! - `place` is the index its frame will have (bits 32..) and the operand
//!   stack height below its arguments (bits 0..32);
//! - `base` is the index of its first variable slot in the process's slot
//!   vector;
//! - `budget` is the reductions left;
//! - each argument is a (tag, payload) pair, bound to the parameter slots.
//!
//! It returns `(status, tag, payload, budget)`: status `NEXT` with the
//! one result, or the status of leaving compiled code (`PREEMPT`,
//! `CONTINUE`) with the whole state written to the process.
//!
//! Blocks are charged and preempted exactly as by the interpreter. The
//! operand stack is SSA values within a block and Cranelift variables
//! across blocks (its height at every block start is known). Nothing is
//! written to memory on the way through. To leave, the innermost frame
//! makes room (the `spill` helper), writes its frame record, slots and
//! operands at its place and sets the process's lengths and `pc`; every
//! direct caller then writes the return address of the frame above it and
//! its own frame, slots and operands below the callee's arguments, and
//! passes the status on. The first caller, ordinary compiled code, writes
//! the return address of the outermost direct frame.
//!
//! The entry checks, failing which the frame leaves at once (and its
//! ordinary compiled code or the interpreter runs it from the start): the
//! arguments are unboxed (so no value here is ever counted), the operand
//! stack has room for every block (`DirectPlan::need`), and, for a
//! function that calls, the next frame is within the call depth limit and
//! the native stack's (`JitEnv::dlimit`).

use super::{Input, Item, Lower, Unsupported, BOOL, FLOAT, INT, NULL};
use crate::bytecode::Callee as CallInstr;
use crate::exec::frame_layout as fl;
use crate::exec::native::{off, status, MAX_DIRECT_DEPTH};
use crate::jit::code::{direct_sig, Imports};
use crate::jit::direct::DirectPlan;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{I32, I64, I8};
use cranelift_codegen::ir::{self, InstBuilder};
use cranelift_frontend::{FunctionBuilder, Variable};
use std::collections::HashMap;

/// The state of a direct entry's lowering.
pub(in crate::jit) struct Direct<'a> {
    plan: &'a DirectPlan,
    /// `place`: frame index << 32 | operand height below the arguments.
    pos: ir::Value,
    /// `base`: first variable slot.
    lb: ir::Value,
    /// Operand stack values across blocks.
    stk_tag: Vec<Variable>,
    stk_pay: Vec<Variable>,
    /// Imported signatures of direct entries, by argument count.
    sigs: HashMap<usize, ir::SigRef>,
    /// The lowering went wrong (a bug): the function is not compiled.
    err: Option<String>,
}

/// Build the direct entry of `plan`'s function in `b`.
pub(in crate::jit) fn translate_direct(
    b: &mut FunctionBuilder<'_>,
    im: &Imports,
    input: &Input<'_>,
    plan: &DirectPlan,
) -> Result<(), Unsupported> {
    let slots = plan.size as usize;
    let first = 4 + 2 * slots as u32;
    let depth = plan.max_depth() as u32;
    let d = Direct {
        plan,
        pos: ir::Value::from_u32(0),
        lb: ir::Value::from_u32(0),
        stk_tag: (0..depth)
            .map(|i| Variable::from_u32(first + 2 * i))
            .collect(),
        stk_pay: (0..depth)
            .map(|i| Variable::from_u32(first + 2 * i + 1))
            .collect(),
        sigs: HashMap::new(),
        err: None,
    };
    let assume = HashMap::new();
    let mut l = Lower::new(b, im, input, &assume, slots, Some(d));
    l.run_direct()?;
    match l.direct.and_then(|d| d.err) {
        Some(e) => Err(format!("direct entry: {e}")),
        None => Ok(()),
    }
}

impl Lower<'_, '_, '_> {
    fn plan(&self) -> &DirectPlan {
        self.direct.as_ref().expect("a direct entry").plan
    }

    /// Something the plan promised does not hold: do not compile.
    pub(super) fn direct_bug(&mut self, what: &str) {
        let d = self.dstate();
        if d.err.is_none() {
            d.err = Some(what.to_string());
        }
    }

    fn run_direct(&mut self) -> Result<(), Unsupported> {
        let plan = self.plan();
        let target = plan.target;
        let need = plan.need;
        let calls = plan.calls;
        let params = plan.params.clone();
        let blocks = plan.blocks.clone();
        let depth_vars = plan.max_depth();
        for v in [self.v_budget, self.v_len, self.v_lim, self.v_lp] {
            self.b.declare_var(v, I64);
        }
        for s in 0..self.v_tag.len() {
            self.b.declare_var(self.v_tag[s], I8);
            self.b.declare_var(self.v_pay[s], I64);
        }
        for i in 0..depth_vars {
            let (t, p) = {
                let d = self.dstate();
                (d.stk_tag[i], d.stk_pay[i])
            };
            self.b.declare_var(t, I8);
            self.b.declare_var(p, I64);
        }
        let entry = self.b.create_block();
        self.b.append_block_params_for_function_params(entry);
        for &a in &blocks {
            let blk = self.b.create_block();
            self.blocks.insert(a, blk);
        }
        self.b.switch_to_block(entry);
        let args = self.b.block_params(entry).to_vec();
        self.env = args[0];
        {
            let d = self.dstate();
            d.pos = args[1];
            d.lb = args[2];
        }
        self.b.def_var(self.v_budget, args[3]);
        let zero = self.b.ins().iconst(I64, 0);
        for v in [self.v_len, self.v_lim, self.v_lp] {
            self.b.def_var(v, zero);
        }
        for k in [NULL, BOOL, INT, FLOAT, self.input.none_tag] {
            let v = self.b.ins().iconst(I8, k as i64);
            self.tag_consts.push((k, v));
        }
        let none = self.b.ins().iconst(I8, self.input.none_tag as i64);
        for s in 0..self.v_tag.len() {
            self.b.def_var(self.v_tag[s], none);
            self.b.def_var(self.v_pay[s], zero);
        }
        let zero8 = self.b.ins().iconst(I8, 0);
        for i in 0..depth_vars {
            let (t, p) = {
                let d = self.dstate();
                (d.stk_tag[i], d.stk_pay[i])
            };
            self.b.def_var(t, zero8);
            self.b.def_var(p, zero);
        }
        let leave = self.b.create_block();
        self.b.set_cold_block(leave);
        for (k, &slot) in params.iter().enumerate() {
            self.b.def_var(self.v_tag[slot as usize], args[4 + 2 * k]);
            self.b.def_var(self.v_pay[slot as usize], args[5 + 2 * k]);
        }
        // Every variable is defined before the first way out.
        for k in 0..params.len() {
            let tag = args[4 + 2 * k];
            let boxed = self
                .b
                .ins()
                .icmp_imm(IntCC::UnsignedGreaterThan, tag, FLOAT as i64);
            self.leave_if(boxed, leave);
        }
        // Operand stack room: the height below the arguments (the low
        // half of `place`) plus what the blocks need.
        let pos = args[1];
        let room = self.input.max_stack.saturating_sub(need);
        if room < u32::MAX as usize {
            let sb = self.b.ins().ireduce(I32, pos);
            let over = self
                .b
                .ins()
                .icmp_imm(IntCC::UnsignedGreaterThan, sb, room as i64);
            self.leave_if(over, leave);
        }
        if calls {
            let lim = self.env_load(I64, off::DLIMIT);
            let deep = self
                .b
                .ins()
                .icmp(IntCC::UnsignedGreaterThanOrEqual, pos, lim);
            self.leave_if(deep, leave);
        }
        let first = self.blocks[&target];
        self.b.ins().jump(first, &[]);
        self.b.switch_to_block(leave);
        self.stack.clear();
        self.direct_exit(status::CONTINUE, self.input.entry[target as usize]);

        let ret = self.b.create_block();
        self.b.append_block_param(ret, I32);
        self.ret_block = Some(ret);
        self.b.switch_to_block(ret);
        let st = self.b.block_params(ret)[0];
        let budget = self.b.use_var(self.v_budget);
        self.b.ins().return_(&[st, zero8, zero, budget]);

        for &start in &blocks {
            let blk = self.blocks[&start];
            self.b.switch_to_block(blk);
            let h = self.plan().depth[&start];
            let facts = self.facts_at(start, h);
            self.stack.clear();
            for i in 0..h {
                let (t, p) = {
                    let d = self.dstate();
                    (d.stk_tag[i], d.stk_pay[i])
                };
                let tag = self.b.use_var(t);
                let pay = self.b.use_var(p);
                let known = facts.as_ref().and_then(|f| f[self.v_tag.len() + i]);
                let tag = match known.and_then(|k| self.tag_const_of(k)) {
                    Some(c) => c,
                    None => tag,
                };
                self.stack.push(Item {
                    tag,
                    pay,
                    known,
                    slot: None,
                });
            }
            match &facts {
                Some(f) => self.known.copy_from_slice(&f[..self.v_tag.len()]),
                None => self.known.iter_mut().for_each(|k| *k = None),
            }
            self.cur = Some(start);
            self.direct_prologue(start);
            self.block_body(start)?;
        }
        Ok(())
    }

    /// What is known at the start of block `start` (of height `h`): the
    /// tags of the slots, then of the operands, met over every edge into
    /// it when all its predecessors are lowered already (blocks are
    /// lowered in address order, and nothing enters a direct entry but
    /// its edges and the call); `None` when something comes later.
    fn facts_at(&self, start: u32, h: usize) -> Option<Vec<Option<u8>>> {
        let plan = self.plan();
        let preds = plan.preds.get(&start).map(Vec::as_slice).unwrap_or(&[]);
        if preds.iter().any(|&p| p >= start) {
            return None;
        }
        let mut meet: Option<Vec<Option<u8>>> = None;
        if start == plan.target {
            // The call: parameters unknown, the other slots unset.
            let none = Some(self.input.none_tag);
            let mut f = vec![none; self.v_tag.len() + h];
            for &s in &plan.params {
                f[s as usize] = None;
            }
            meet = Some(f);
        }
        for (_, to, facts) in &self.edges {
            if *to != start {
                continue;
            }
            meet = Some(match meet {
                None => facts.clone(),
                Some(mut m) => {
                    for (a, b) in m.iter_mut().zip(facts) {
                        if *a != *b {
                            *a = None;
                        }
                    }
                    m
                }
            });
        }
        meet.filter(|m| m.len() == self.v_tag.len() + h)
    }

    fn tag_const_of(&self, k: u8) -> Option<ir::Value> {
        self.tag_consts
            .iter()
            .find(|(t, _)| *t == k)
            .map(|&(_, v)| v)
    }

    /// Go to `leave` when `cond` holds.
    fn leave_if(&mut self, cond: ir::Value, leave: ir::Block) {
        let next = self.b.create_block();
        self.b.ins().brif(cond, leave, &[], next, &[]);
        self.b.switch_to_block(next);
    }

    /// A block start: preempt when the budget is spent, then charge (the
    /// stack room was checked at entry for every block).
    fn direct_prologue(&mut self, start: u32) {
        let cost = self.input.program.block_cost[start as usize] as i64;
        let charge_pc = self.input.entry[start as usize];
        let budget = self.b.use_var(self.v_budget);
        let spent = self
            .b
            .ins()
            .icmp_imm(IntCC::SignedLessThanOrEqual, budget, 0);
        let preempt = self.b.create_block();
        self.b.set_cold_block(preempt);
        let cont = self.b.create_block();
        self.b.ins().brif(spent, preempt, &[], cont, &[]);
        self.b.switch_to_block(preempt);
        self.direct_exit(status::PREEMPT, charge_pc);
        self.b.switch_to_block(cont);
        let charged = self.b.ins().iadd_imm(budget, -cost);
        self.b.def_var(self.v_budget, charged);
    }

    /// Control goes to block `target` of the function: its operands go
    /// into the variables of its stack height.
    pub(super) fn pass_stack(&mut self, target: u32) {
        let Some(&want) = self.plan().depth.get(&target) else {
            return self.direct_bug("a jump out of the function");
        };
        if self.stack.len() != want {
            return self.direct_bug("operand stack heights differ");
        }
        let mut facts = self.known.clone();
        facts.extend(self.stack.iter().map(|it| it.known));
        self.edges.push((self.cur, target, facts));
        // A slot with a known tag holds that constant on every path.
        for s in 0..self.known.len() {
            if let Some(c) = self.known[s].and_then(|k| self.tag_const_of(k)) {
                self.b.def_var(self.v_tag[s], c);
            }
        }
        for (i, it) in self.stack.clone().into_iter().enumerate() {
            let tag = match it.known.and_then(|k| self.tag_const_of(k)) {
                Some(c) => c,
                None => self.tag_of(it),
            };
            let (t, p) = {
                let d = self.dstate();
                (d.stk_tag[i], d.stk_pay[i])
            };
            self.b.def_var(t, tag);
            self.b.def_var(p, it.pay);
        }
    }

    fn tag_of(&mut self, it: Item) -> ir::Value {
        match it.known {
            Some(k) => self.b.ins().iconst(I8, k as i64),
            None => it.tag,
        }
    }

    /// This (innermost) frame leaves compiled code with status `st` at
    /// decoded address `pc`: make room, set the process's lengths, write
    /// the frame, return.
    pub(super) fn direct_exit(&mut self, st: u32, pc: u32) {
        let (pos, lb, size) = {
            let d = self.dstate();
            (d.pos, d.lb, d.plan.size)
        };
        let depth = self.stack.len() as i64;
        let f = self.b.ins().ushr_imm(pos, 32);
        let sb = self.b.ins().band_imm(pos, 0xffff_ffff);
        let nf = self.b.ins().iadd_imm(f, 1);
        let nl = self.b.ins().iadd_imm(lb, size as i64);
        let ns = self.b.ins().iadd_imm(sb, depth);
        let env = self.env;
        self.b.ins().call(self.im.spill, &[env, nf, nl, ns]);
        let nf32 = self.b.ins().ireduce(I32, nf);
        self.env_store(nf32, off::FRAMES);
        self.env_store(nl, off::LLEN);
        self.env_store(ns, off::LEN);
        let lbase = self.env_load(I64, off::LBASE);
        let lo = self.b.ins().ishl_imm(lb, 4);
        let lp = self.b.ins().iadd(lbase, lo);
        self.env_store(lp, off::LOCALS);
        self.set_pc(pc);
        let budget = self.b.use_var(self.v_budget);
        self.env_store(budget, off::BUDGET);
        let items = self.stack.clone();
        self.write_frame(&items);
        self.direct_return_status(st);
    }

    fn direct_return_status(&mut self, st: u32) {
        let st = self.b.ins().iconst(I32, st as i64);
        let t = self.b.ins().iconst(I8, 0);
        let z = self.b.ins().iconst(I64, 0);
        let budget = self.b.use_var(self.v_budget);
        self.b.ins().return_(&[st, t, z, budget]);
    }

    /// Write this frame's record (all but its return address and call
    /// site, which its caller writes), its slots and `items`, its operands,
    /// at its place.
    fn write_frame(&mut self, items: &[Item]) {
        let (pos, lb, size, target, n) = {
            let d = self.dstate();
            (d.pos, d.lb, d.plan.size, d.plan.target, d.plan.params.len())
        };
        let f = self.b.ins().ushr_imm(pos, 32);
        let sb = self.b.ins().band_imm(pos, 0xffff_ffff);
        let fptr = self.env_load(I64, off::FPTR);
        let fo = self.b.ins().imul_imm(f, fl::SIZE);
        let fp = self.b.ins().iadd(fptr, fo);
        let base = self.b.ins().ireduce(I32, lb);
        let stack_base = self.b.ins().iadd_imm(sb, n as i64);
        let stack_base = self.b.ins().ireduce(I32, stack_base);
        let fields: [(i32, ir::Value); 5] = [
            (fl::ENTRY, self.b.ins().iconst(I32, target as i64)),
            (fl::BASE, base),
            (fl::FRAME_SIZE, self.b.ins().iconst(I32, size as i64)),
            (fl::STACK_BASE, stack_base),
            (fl::KIND, self.b.ins().iconst(I32, fl::KIND_CALL as i64)),
        ];
        for (o, v) in fields {
            self.b.ins().store(self.mf, v, fp, o);
        }
        let lbase = self.env_load(I64, off::LBASE);
        let lo = self.b.ins().ishl_imm(lb, 4);
        let lp = self.b.ins().iadd(lbase, lo);
        for s in 0..self.v_tag.len() {
            let o = (s as i64 * super::VALUE_BYTES) as i32;
            let tag = match self.known[s] {
                Some(k) => self.b.ins().iconst(I8, k as i64),
                None => self.b.use_var(self.v_tag[s]),
            };
            let pay = self.b.use_var(self.v_pay[s]);
            self.b.ins().store(self.mf, tag, lp, o);
            self.b.ins().store(self.mf, pay, lp, o + 8);
        }
        let sp = self.env_load(I64, off::SP);
        let so = self.b.ins().ishl_imm(sb, 4);
        let at = self.b.ins().iadd(sp, so);
        for (i, &it) in items.iter().enumerate() {
            let o = (i as i64 * super::VALUE_BYTES) as i32;
            let tag = self.tag_of(it);
            self.b.ins().store(self.mf, tag, at, o);
            self.b.ins().store(self.mf, it.pay, at, o + 8);
        }
    }

    /// RET: the one operand is the result.
    pub(super) fn direct_ret(&mut self, dpc: u32) {
        let [r] = self.operands_n::<1>(dpc);
        if !self.stack.is_empty() {
            self.direct_bug("RET with more than one operand");
        }
        let st = self.b.ins().iconst(I32, status::NEXT as i64);
        let tag = self.tag_of(r);
        let budget = self.b.use_var(self.v_budget);
        self.b.ins().return_(&[st, tag, r.pay, budget]);
    }

    fn sig_for(&mut self, n: usize) -> ir::SigRef {
        if let Some(&s) = self.dstate().sigs.get(&n) {
            return s;
        }
        let s = self.b.import_signature(direct_sig(n));
        self.dstate().sigs.insert(n, s);
        s
    }

    /// The arguments of a direct call: env, place, base, budget, values.
    fn direct_args(&mut self, pos: ir::Value, lb: ir::Value, args: &[Item]) -> Vec<ir::Value> {
        let budget = self.b.use_var(self.v_budget);
        let mut v = vec![self.env, pos, lb, budget];
        for &a in args {
            let tag = self.tag_of(a);
            v.push(tag);
            v.push(a.pay);
        }
        v
    }

    /// CALL in a direct entry: to the callee's direct entry when it has
    /// one (else leave, and the interpreter makes the call). A CALL before
    /// RET is a tail call: the callee's frame takes this one's place.
    pub(super) fn direct_call(&mut self, at: u32, dpc: u32, c: &CallInstr) {
        let p = self.input.program;
        let n = c.param_slots.len();
        let tail = matches!(
            p.code.get(at as usize + 1),
            Some(crate::bytecode::Instr::Ret(_))
        );
        let args = self.operands(n, dpc);
        let (same, size) = {
            let plan = self.plan();
            (
                plan.target == c.target && plan.params[..] == c.param_slots[..],
                plan.size,
            )
        };
        let cell = if same {
            None
        } else {
            match (self.input.callee)(c.target).and_then(|k| k.direct) {
                Some((cell, params)) if params[..] == c.param_slots[..] => Some(cell),
                _ => {
                    // No direct entry there: the interpreter calls.
                    self.unpop(&args);
                    self.exit_continue(dpc);
                    return;
                }
            }
        };
        let callee = cell.map(|cell| {
            let a = self.b.ins().iconst(I64, cell as i64);
            let f = self.b.ins().load(I64, self.mf, a, 0);
            let none = self.b.ins().icmp_imm(IntCC::Equal, f, 0);
            let saved = self.stack.clone();
            self.unpop(&args);
            self.exit_if(none, dpc);
            self.stack = saved;
            f
        });
        let sig = self.sig_for(n);
        let (pos, lb) = {
            let d = self.dstate();
            (d.pos, d.lb)
        };
        if tail {
            if !self.stack.is_empty() {
                self.direct_bug("a tail call with operands below");
            }
            let argv = self.direct_args(pos, lb, &args);
            match callee {
                Some(f) => self.b.ins().return_call_indirect(sig, f, &argv),
                None => {
                    let this = self.im.this.expect("a direct entry");
                    self.b.ins().return_call(this, &argv)
                }
            };
            return;
        }
        let below = self.stack.len() as i64;
        let cpos = self.b.ins().iadd_imm(pos, (1i64 << 32) + below);
        let clb = self.b.ins().iadd_imm(lb, size as i64);
        let argv = self.direct_args(cpos, clb, &args);
        let call = match callee {
            Some(f) => self.b.ins().call_indirect(sig, f, &argv),
            None => {
                let this = self.im.this.expect("a direct entry");
                self.b.ins().call(this, &argv)
            }
        };
        let r = self.b.inst_results(call).to_vec();
        let (st, tag, pay, budget) = (r[0], r[1], r[2], r[3]);
        self.b.def_var(self.v_budget, budget);
        let fail = self.b.create_block();
        self.b.set_cold_block(fail);
        let ok = self.b.create_block();
        self.b.ins().brif(st, fail, &[], ok, &[]);
        // The callee left: write its return address, then this frame.
        self.b.switch_to_block(fail);
        let f = self.b.ins().ushr_imm(pos, 32);
        let f1 = self.b.ins().iadd_imm(f, 1);
        let fptr = self.env_load(I64, off::FPTR);
        let fo = self.b.ins().imul_imm(f1, fl::SIZE);
        let fp = self.b.ins().iadd(fptr, fo);
        let after = self.input.entry[at as usize + 1];
        let ret_pc = self.b.ins().iconst(I32, after as i64);
        let site = self.b.ins().iconst(I32, at as i64);
        self.b.ins().store(self.mf, ret_pc, fp, fl::RET);
        self.b.ins().store(self.mf, site, fp, fl::CALL_SITE);
        let items = self.stack.clone();
        self.write_frame(&items);
        let t = self.b.ins().iconst(I8, 0);
        let z = self.b.ins().iconst(I64, 0);
        self.b.ins().return_(&[st, t, z, budget]);
        // The result.
        self.b.switch_to_block(ok);
        self.stack.push(Item {
            tag,
            pay,
            known: None,
            slot: None,
        });
        self.jump_to(at + 1);
    }

    /// Ordinary compiled code calls direct entry `f` (non-zero) of a
    /// callee with `args`, its frame made at the current depth `frames`
    /// with its slots from `llen`: go on after the call with the result,
    /// or pass on the status it left with.
    pub(super) fn enter_direct(
        &mut self,
        at: u32,
        f: ir::Value,
        frames: ir::Value,
        llen: ir::Value,
        args: &[Item],
    ) {
        self.save_state();
        let f64 = self.b.ins().uextend(I64, frames);
        let lim = self.b.ins().iadd_imm(f64, MAX_DIRECT_DEPTH as i64);
        let max = self
            .input
            .max_call_depth
            .saturating_sub(1)
            .min(u32::MAX as usize);
        let max = self.b.ins().iconst(I64, max as i64);
        let lim = self.b.ins().umin(lim, max);
        let lim = self.b.ins().ishl_imm(lim, 32);
        self.env_store(lim, off::DLIMIT);
        let hi = self.b.ins().ishl_imm(f64, 32);
        let len = self.b.use_var(self.v_len);
        let pos = self.b.ins().bor(hi, len);
        let sig = self.b.import_signature(direct_sig(args.len()));
        let argv = {
            let budget = self.b.use_var(self.v_budget);
            let mut v = vec![self.env, pos, llen, budget];
            for &a in args {
                let tag = self.tag_of(a);
                v.push(tag);
                v.push(a.pay);
            }
            v
        };
        let call = self.b.ins().call_indirect(sig, f, &argv);
        let r = self.b.inst_results(call).to_vec();
        let (st, tag, pay, budget) = (r[0], r[1], r[2], r[3]);
        let fail = self.b.create_block();
        self.b.set_cold_block(fail);
        let ok = self.b.create_block();
        self.b.ins().brif(st, fail, &[], ok, &[]);
        self.b.switch_to_block(fail);
        let fptr = self.env_load(I64, off::FPTR);
        let fo = self.b.ins().imul_imm(f64, fl::SIZE);
        let fp = self.b.ins().iadd(fptr, fo);
        let after = self.input.entry[at as usize + 1];
        let ret_pc = self.b.ins().iconst(I32, after as i64);
        let site = self.b.ins().iconst(I32, at as i64);
        self.b.ins().store(self.mf, ret_pc, fp, fl::RET);
        self.b.ins().store(self.mf, site, fp, fl::CALL_SITE);
        self.ret(st);
        self.b.switch_to_block(ok);
        self.b.def_var(self.v_budget, budget);
        self.push_mem(Item {
            tag,
            pay,
            known: None,
            slot: None,
        });
        self.jump_to(at + 1);
    }
}

impl<'a> Lower<'a, '_, '_> {
    fn dstate(&mut self) -> &mut Direct<'a> {
        self.direct.as_mut().expect("a direct entry")
    }
}
