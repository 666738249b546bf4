//! Leaving, returning and calling in direct entries (`lower::direct`):
//! the leaving buffer and the `leave` helper's descriptor (D2), RET and
//! the frame's end, direct calls (to direct entries, after inline
//! returns; D3 when a callee left), and ordinary code starting a chain
//! of direct calls (D4).

use super::direct::Direct;
use super::env::{FrameEnv, Ordinary};
use super::{Item, Lower};
use crate::bytecode::Callee as CallInstr;
use crate::exec::frame_layout as fl;
use crate::exec::native::{off, status, MAX_DIRECT_DEPTH};
use crate::jit::code::direct_sig;
use crate::jit::direct::{Desc, Place};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{I32, I64, I8};
use cranelift_codegen::ir::{self, BlockArg, InstBuilder};
use ttvm_runtime::value::tag::STR;

impl<'p> Lower<'_, '_, '_, Direct<'p>> {
    /// Put this frame's slots, then `items`, in the leaving buffer: its
    /// address.
    pub(super) fn fill_buffer(&mut self, items: &[Item]) -> ir::Value {
        let slot = self.mode.buf.expect("made first");
        let buf = self.b.ins().stack_addr(I64, slot, 0);
        for s in 0..self.v_tag.len() {
            let o = (s as i64 * super::VALUE_BYTES) as i32;
            let tag = match self.known[s] {
                Some(k) => self.b.ins().iconst(I8, k as i64),
                None => self.b.use_var(self.v_tag[s]),
            };
            let pay = self.b.use_var(self.v_pay[s]);
            self.b.ins().store(self.mf, tag, buf, o);
            self.b.ins().store(self.mf, pay, buf, o + 8);
        }
        let first = self.v_tag.len();
        for (i, &it) in items.iter().enumerate() {
            let o = ((first + i) as i64 * super::VALUE_BYTES) as i32;
            self.own_borrowed(it);
            let tag = self.tag_of(it);
            self.b.ins().store(self.mf, tag, buf, o);
            self.b.ins().store(self.mf, it.pay, buf, o + 8);
        }
        buf
    }

    /// The descriptor of this frame holding `items` operands.
    pub(super) fn desc(&self, items: usize) -> i64 {
        let p = self.plan();
        Desc::pack(p.target, p.size, p.stack_args, items) as i64
    }

    /// This (innermost) frame leaves compiled code with status `st` at
    /// decoded address `pc`: the `leave` helper writes it and makes the
    /// process's lengths its (D2 in src/jit/README.md).
    pub(super) fn direct_exit(&mut self, st: u32, pc: u32) {
        let items = self.stack.clone();
        let buf = self.fill_buffer(&items);
        let pos = self.mode.pos;
        let d = self.desc(items.len());
        let desc = self.b.ins().iconst(I64, d);
        let pc_st = self
            .b
            .ins()
            .iconst(I64, (pc as u64 | (st as u64) << 32) as i64);
        let budget = self.b.use_var(self.v_budget);
        let call = self.b.ins().call(
            self.im.leave.expect("a direct entry"),
            &[buf, pos, desc, pc_st, budget],
        );
        let st = self.b.inst_results(call)[0];
        self.return_left(st);
    }

    /// Return "left compiled code with status `st`" (an I64): the first
    /// value's tag is that of an unset variable, its payload `st`. The
    /// budget is in `env` then (the innermost frame put it there);
    /// returning a constant keeps it from living across the `leave`
    /// calls.
    pub(super) fn return_left(&mut self, st: ir::Value) {
        let t = self.b.ins().iconst(I8, self.input.none_tag as i64);
        let z = self.b.ins().iconst(I64, 0);
        let mut r = vec![t, st];
        if self.plan().rets > 1 {
            let z8 = self.b.ins().iconst(I8, 0);
            for _ in 1..self.plan().rets {
                r.extend([z8, z]);
            }
        }
        r.push(z);
        self.b.ins().return_(&r);
    }

    /// RET: the frame's operands are its results (`DirectPlan::rets` of
    /// them, the deepest first; a function returning none returns a Null
    /// its callers do not push).
    pub(super) fn direct_ret(&mut self, dpc: u32) {
        let n = self.plan().rets;
        let items = self.operands(n, dpc);
        if !self.stack.is_empty() {
            self.direct_bug("RET with operands beyond its results");
        }
        self.drop_slots();
        let mut r = Vec::with_capacity(2 * n + 1);
        for it in items {
            let tag = self.tag_of(it);
            r.extend([tag, it.pay]);
        }
        if n == 0 {
            let t = self.b.ins().iconst(I8, super::NULL as i64);
            let z = self.b.ins().iconst(I64, 0);
            r.extend([t, z]);
        }
        r.push(self.b.use_var(self.v_budget));
        self.b.ins().return_(&r);
    }

    /// The frame ends (RET, tail call): each slot's reference is dropped
    /// (the result and a tail call's arguments own theirs).
    pub(super) fn drop_slots(&mut self) {
        for s in 0..self.v_tag.len() {
            let known = self.known[s];
            if known.is_some_and(|k| !super::is_heap(k)) {
                continue;
            }
            let it = Item {
                tag: self.b.use_var(self.v_tag[s]),
                pay: self.b.use_var(self.v_pay[s]),
                known,
                slot: None,
            };
            self.drop_item(it);
        }
    }

    /// The signature of a direct entry of `n` arguments returning `rets`
    /// values.
    pub(super) fn sig_for(&mut self, n: usize, rets: usize) -> ir::SigRef {
        if let Some(&s) = self.mode.sigs.get(&(n, rets)) {
            return s;
        }
        let s = self.b.import_signature(direct_sig(n, rets));
        self.mode.sigs.insert((n, rets), s);
        s
    }

    /// CALL in a direct entry: to the callee's direct entry when it has
    /// one (else leave, and the interpreter makes the call). A CALL before
    /// RET is a tail call: the callee's frame takes this one's place.
    pub(super) fn direct_call(&mut self, at: u32, dpc: u32, c: &CallInstr) {
        let n = c.param_slots.len();
        let args = self.operands(n, dpc);
        self.direct_call_to(at, dpc, c.target, &c.param_slots, n, args, None);
    }

    /// A direct call of the function at `target` binding `binds` to
    /// `args` (owned). `value`: a CALL_FUNCTION of the function value `f`,
    /// whose captured variables are `args[stack_args..]` (loaded, not yet
    /// counted): a frame that leaves before the call has its operands as
    /// they were (the arguments, then `f`); once the call is made, the
    /// captures gain their reference and `f` is dropped.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn direct_call_to(
        &mut self,
        at: u32,
        dpc: u32,
        target: u32,
        binds: &[u32],
        stack_args: usize,
        args: Vec<Item>,
        value: Option<Item>,
    ) {
        let p = self.input.program;
        let n = args.len();
        let tail = p.tail_call(at);
        let mut restore = args[..stack_args].to_vec();
        restore.extend(value);
        let (same, size, own_rets) = {
            let plan = self.plan();
            (
                plan.target == target && plan.params[..] == binds[..],
                plan.size,
                plan.rets,
            )
        };
        let mut callee_plan = None;
        let cell = if same {
            None
        } else {
            match (self.input.callee)(target).and_then(|k| k.direct) {
                Some((cell, plan)) if plan.params[..] == binds[..] => {
                    callee_plan = Some(plan);
                    Some(cell)
                }
                _ => None,
            }
        };
        let rets = callee_plan.as_ref().map_or(own_rets, |c| c.rets);
        // The heights after a CALL_FUNCTION take it to return one value
        // (`frame_heights`), and a tail call returns the callee's values
        // as this frame's: a callee returning another number is called
        // by the interpreter (the planner refuses such tail CALLs).
        let fits = if tail {
            rets == own_rets
        } else {
            value.is_none() || rets == 1
        };
        if (!same && cell.is_none()) || !fits {
            // No direct entry there: the interpreter calls.
            self.unpop(&restore);
            self.exit_continue(dpc);
            return;
        }
        let callee = cell.map(|cell| {
            let a = self.b.ins().iconst(I64, cell as i64);
            let f = self.b.ins().load(I64, self.mf, a, 0);
            let none = self.b.ins().icmp_imm(IntCC::Equal, f, 0);
            let saved = self.stack.clone();
            self.unpop(&restore);
            self.exit_if(none, dpc);
            self.stack = saved;
            f
        });
        if let Some(f) = value {
            for &c in &args[stack_args..] {
                self.clone_item(c);
            }
            self.drop_item(f);
        }
        let sig = self.sig_for(n, rets);
        let pos = self.mode.pos;
        if tail {
            if !self.stack.is_empty() {
                self.direct_bug("a tail call with operands below");
            }
            self.drop_slots();
            let argv = self.direct_args(pos, &args);
            match callee {
                Some(f) => self.b.ins().return_call_indirect(sig, f, &argv),
                None => {
                    let this = self.im.this.expect("a direct entry");
                    self.b.ins().return_call(this, &argv)
                }
            };
            return;
        }
        // Where the callee returns without a call, try that inline first.
        let callee_plan = match callee_plan {
            Some(p) => p,
            None => self.plan().clone(),
        };
        // The join: each value returned (one pair for none), the budget.
        let pairs = rets.max(1);
        let join = self.b.create_block();
        for _ in 0..pairs {
            self.b.append_block_param(join, I8);
            self.b.append_block_param(join, I64);
        }
        self.b.append_block_param(join, I64);
        let call_blk = self.b.create_block();
        // The checked copy of a function that has an unchecked one runs
        // only at the end of a slice: it makes its calls without inline
        // attempts (less code to compile).
        let checked_only = {
            let d = &self.mode;
            !d.fast && d.fast_above != i64::MAX
        };
        if checked_only || !self.inline_returns(&callee_plan, &args, call_blk, join) {
            self.b.ins().jump(call_blk, &[]);
        }
        self.b.switch_to_block(call_blk);
        // One frame fewer left; the callee's operands above these; its
        // slots after this frame's.
        let below = self.stack.len() as i64;
        let step = (below << Place::SB_SHIFT) + ((size as i64) << Place::LB_SHIFT) - 1;
        let cpos = self.b.ins().iadd_imm(pos, step);
        let argv = self.direct_args(cpos, &args);
        let call = match callee {
            Some(f) => self.b.ins().call_indirect(sig, f, &argv),
            None => {
                let this = self.im.this.expect("a direct entry");
                self.b.ins().call(this, &argv)
            }
        };
        let r = self.b.inst_results(call).to_vec();
        let items = self.stack.clone();
        let after = self.input.dpc(at + 1);
        let results = self.after_direct_call(&r, |l| {
            let buf = l.fill_buffer(&items);
            let d = l.desc(items.len());
            let desc = l.b.ins().iconst(I64, d);
            let at_after =
                l.b.ins()
                    .iconst(I64, (at as u64 | (after as u64) << 32) as i64);
            let call = l.b.ins().call(
                l.im.leave_caller.expect("a direct entry"),
                &[buf, pos, desc, at_after, r[1]],
            );
            let st = l.b.inst_results(call)[0];
            l.return_left(st);
        });
        let budget = self.b.use_var(self.v_budget);
        let mut jargs: Vec<BlockArg> = results
            .iter()
            .flat_map(|it| [BlockArg::Value(it.tag), BlockArg::Value(it.pay)])
            .collect();
        jargs.push(BlockArg::Value(budget));
        self.b.ins().jump(join, &jargs);
        self.b.switch_to_block(join);
        let ps = self.b.block_params(join).to_vec();
        self.b.def_var(self.v_budget, ps[2 * pairs]);
        for k in 0..rets {
            self.stack.push(Item {
                tag: ps[2 * k],
                pay: ps[2 * k + 1],
                known: None,
                slot: None,
            });
        }
        self.direct_continue(at + 1);
    }
}

/// What direct calls from either kind of code share.
impl<E: FrameEnv> Lower<'_, '_, '_, E> {
    /// PUSH_STR: one more reference to the program's string (the program
    /// outlives compiled code), in direct entries and ordinary code alike.
    pub(super) fn push_str_const(&mut self, t: &crate::bytecode::Text) {
        let v = ttvm_runtime::Value::Str(t.0.clone());
        // SAFETY: a `Value` is 16 bytes; only its payload word is read.
        let raw: [u64; 2] = unsafe { std::mem::transmute_copy(&v) };
        drop(v);
        let pay = self.b.ins().iconst(I64, raw[1] as i64);
        let it = self.item(STR, pay);
        self.clone_item(it);
        self.stack.push(it);
    }

    /// The arguments of a direct call: place, budget, values.
    pub(super) fn direct_args(&mut self, pos: ir::Value, args: &[Item]) -> Vec<ir::Value> {
        let budget = self.b.use_var(self.v_budget);
        let mut v = vec![pos, budget];
        for &a in args {
            let tag = self.tag_of(a);
            v.push(tag);
            v.push(a.pay);
        }
        v
    }

    /// After a direct call returned `(tag, pay)…, budget`: the results
    /// (`r` holds a pair for each, one pair for none, then the budget), in
    /// the block that goes on; when the callee left compiled code instead
    /// (the first tag is an unset variable's, the first payload the
    /// status), `leave` writes this frame's part and returns (D3, D4).
    pub(super) fn after_direct_call(
        &mut self,
        r: &[ir::Value],
        leave: impl FnOnce(&mut Self),
    ) -> Vec<Item> {
        let budget = *r.last().expect("the budget");
        self.b.def_var(self.v_budget, budget);
        let left = self
            .b
            .ins()
            .icmp_imm(IntCC::Equal, r[0], self.input.none_tag as i64);
        self.cold_if(left, leave);
        let rets = (r.len() - 1) / 2;
        (0..rets)
            .map(|k| Item {
                tag: r[2 * k],
                pay: r[2 * k + 1],
                known: None,
                slot: None,
            })
            .collect()
    }
}

/// Ordinary code starting a chain of direct calls (D4).
impl Lower<'_, '_, '_, Ordinary> {
    /// Ordinary compiled code calls direct entry `f` (non-zero) of a
    /// callee with `args`, its frame made at the current depth `frames`
    /// with its slots from `llen`, when the stack and slot vector have
    /// room for the deepest chain (else `inline`): go on after the call
    /// with the result, or pass on the status it left with.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn enter_direct(
        &mut self,
        at: u32,
        f: ir::Value,
        frames: ir::Value,
        llen: ir::Value,
        args: &[Item],
        rets: usize,
        inline: ir::Block,
    ) {
        let bounds = self.input.bounds;
        let deepest = MAX_DIRECT_DEPTH as usize;
        let len = self.b.use_var(self.v_len);
        // The operand stack: below the limit and within its field.
        let most = (deepest * bounds.below + bounds.need) as i64;
        let room = (self.input.max_stack.min(Place::FIELD_MAX) as i64).saturating_sub(most);
        let over_s = self.b.ins().icmp_imm(IntCC::SignedGreaterThan, len, room);
        // The slots: within their field and the frame-slot limit (so no
        // direct call passes it: near it the chain does not start, and the
        // calls made instead raise the interpreter's `stack overflow`).
        let room_l = (Place::FIELD_MAX.min(self.input.max_frame_slots))
            .saturating_sub(deepest * bounds.slots) as i64;
        let over_l = self
            .b
            .ins()
            .icmp_imm(IntCC::SignedGreaterThan, llen, room_l);
        let over = self.b.ins().bor(over_s, over_l);
        let go = self.b.create_block();
        self.b.ins().brif(over, inline, &[], go, &[]);
        self.b.switch_to_block(go);
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
        self.env_store(lim, off::DLIMIT);
        let left = self.b.ins().isub(lim, f64);
        let sb = self.b.ins().ishl_imm(len, Place::SB_SHIFT);
        let lb = self.b.ins().ishl_imm(llen, Place::LB_SHIFT);
        let pos = self.b.ins().bor(left, sb);
        let pos = self.b.ins().bor(pos, lb);
        let sig = self.b.import_signature(direct_sig(args.len(), rets));
        let argv = self.direct_args(pos, args);
        let call = self.b.ins().call_indirect(sig, f, &argv);
        let r = self.b.inst_results(call).to_vec();
        let results = self.after_direct_call(&r, |l| {
            let fptr = l.env_load(I64, off::FPTR);
            let fo = l.b.ins().imul_imm(f64, fl::SIZE);
            let fp = l.b.ins().iadd(fptr, fo);
            let after = l.input.dpc(at + 1);
            let ret_pc = l.b.ins().iconst(I32, after as i64);
            let site = l.b.ins().iconst(I32, at as i64);
            l.b.ins().store(l.mf, ret_pc, fp, fl::RET);
            l.b.ins().store(l.mf, site, fp, fl::CALL_SITE);
            let st = l.b.ins().ireduce(I32, r[1]);
            // Left at an instruction: while a handler is in force, it runs
            // in the `fault` helper and a catch block of this frame takes
            // what it raises (`exceptions`).
            let cont =
                l.b.ins()
                    .icmp_imm(IntCC::Equal, st, status::CONTINUE as i64);
            let fault = l.fault_block();
            let r = l.ret_block.expect("made first");
            l.b.ins().brif(
                cont,
                fault,
                &[BlockArg::Value(frames)],
                r,
                &[BlockArg::Value(st)],
            );
        });
        // A function returning none returned a Null that is not pushed.
        for it in results.into_iter().take(rets) {
            self.push_mem(it);
        }
        self.jump_to(at + 1);
    }
}
