//! Lowering of calls and returns in ordinary code (`Ordinary`'s `call`,
//! `call_function` and `ret` hooks): frames made and removed inline,
//! native calls between compiled functions.

use super::{Borrowed, Callee, FrameEnv, Item, Lower, Ordinary, VALUE_BYTES};
use crate::bytecode::{Instr, OptField};
use crate::exec::frame_layout as fl;
use crate::exec::native::{off, status, MAX_NATIVE_DEPTH};
use crate::jit::direct::FRAME_CALL_WEIGHT;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{I32, I64, I8};
use cranelift_codegen::ir::{self, BlockArg, InstBuilder};

impl<E: FrameEnv> Lower<'_, '_, '_, E> {
    /// Whether the LOAD at `at` can push its value borrowed — without a
    /// reference of its own, the variable keeping the one it has — and
    /// which instruction consumes it: a function value called right away
    /// (`LOAD f; CALL_FUNCTION`), a list or string measured or indexed
    /// (`LOAD l; LEN`, `LOAD l; LOAD i | PUSH_INT n; INDEX`), an object's
    /// field read by a constant name (`LOAD o; GET_FIELD name`,
    /// `HAS_FIELD name`), a value tested (`LOAD x; JZ | JNZ`: only its
    /// tag and payload are read, issue 15 item 4). Each only reads the value while the variable
    /// cannot change (the same block, no part's cut in between, the
    /// variable's slot not loaded again), so the clone at the LOAD and
    /// the drop after the consumer — two atomic operations on the
    /// value's count — are left out. Where the value leaves the virtual
    /// stack instead (a side exit, a helper that takes its operands, a
    /// direct frame leaving) it gets its reference then
    /// (`own_borrowed`). Not for a LOAD that moves (it costs no count
    /// already), nor in inline returns (which count nothing).
    pub(super) fn borrow_site(&self, at: u32) -> Option<u32> {
        if !E::BORROWS {
            return None;
        }
        let p = self.input.program;
        let i = at as usize;
        let Instr::Load(x) = p.code.get(i)? else {
            return None;
        };
        if p.moves_at(at) {
            return None;
        }
        let free =
            |j: usize| j < p.code.len() && !p.block_start[j] && E::cut(self) != Some(j as u32);
        if !free(i + 1) {
            return None;
        }
        let until = match &p.code[i + 1] {
            // Not a tail call: the frame's slots are dropped before it.
            Instr::CallFunction(_) if !p.tail_call(at + 1) => i + 1,
            Instr::Len(_) | Instr::Jz(_) | Instr::Jnz(_) => i + 1,
            Instr::GetField(OptField(Some(_))) | Instr::HasField(OptField(Some(_))) => i + 1,
            Instr::Load(y) if y.slot != x.slot => i + 2,
            Instr::PushInt(_) => i + 2,
            _ => return None,
        };
        if until == i + 2 && !(free(i + 2) && matches!(p.code[i + 2], Instr::Index(_))) {
            return None;
        }
        Some(until as u32)
    }

    /// LOAD of slot `slot` borrowed (`borrow_site`): an unset variable
    /// leaves at the LOAD (the interpreter raises), anything else is
    /// pushed as it is, uncounted, until the instruction at `until`.
    pub(super) fn load_borrowed(&mut self, slot: u32, dpc: u32, until: u32) {
        let s = slot as usize;
        let (tag, pay) = E::slot(self, s);
        let known = self.known[s];
        let none_tag = self.input.none_tag;
        if known == Some(none_tag) {
            self.exit_always(&[], dpc);
            return;
        }
        // The same SSA values on the stack already (an earlier LOAD of
        // the slot, owned): one of the two would be taken for the other.
        if self.stack.iter().any(|i| i.tag == tag && i.pay == pay) {
            return self.load(slot, dpc, false);
        }
        if let Instr::Load(y) = &self.input.program.code[until as usize - 1] {
            // The index from another variable holding the same value.
            if y.slot != slot && E::slot(self, y.slot as usize) == (tag, pay) {
                return self.load(slot, dpc, false);
            }
        }
        if known.is_none() {
            let unset = self.b.ins().icmp_imm(IntCC::Equal, tag, none_tag as i64);
            self.exit_if(unset, dpc);
        }
        self.stack.push(Item {
            tag,
            pay,
            known,
            slot: Some(slot),
        });
        self.borrowed = Some(Borrowed { tag, pay, until });
    }

    /// Whether `it` is the operand a LOAD pushed borrowed.
    pub(super) fn is_borrowed(&self, it: Item) -> bool {
        self.borrowed
            .is_some_and(|b| b.tag == it.tag && b.pay == it.pay)
    }

    /// `it` leaves the virtual operand stack for memory (or a leaving
    /// frame's buffer), where every value owns its reference: a borrowed
    /// one gets its own now.
    pub(super) fn own_borrowed(&mut self, it: Item) {
        if self.is_borrowed(it) {
            E::refcount(self, self.im.clone, it);
        }
    }
}

impl Lower<'_, '_, '_, Ordinary> {
    /// CALL / CALL_FUNCTION: the helper makes the frame; the callee's
    /// compiled code is called natively when it has some, and when it
    /// returns to this frame at the instruction after the call, compiled
    /// code goes on there.
    pub(super) fn call(&mut self, at: u32, dpc: u32) {
        let frames = self.env_load(I32, off::FRAMES);
        let st = self.call_at(self.im.call, at, dpc);
        self.check_status(st);
        let env = self.env;
        let f = self.env_load(I64, off::TARGET_FN);
        let native = self.b.create_block();
        let via_engine = self.b.create_block();
        self.b.ins().brif(f, native, &[], via_engine, &[]);
        self.b.switch_to_block(via_engine);
        self.ret_const(status::CONTINUE);
        self.b.switch_to_block(native);
        let blk = self.env_load(I32, off::TARGET_BLOCK);
        let call = self.b.ins().call_indirect(self.im.sig, f, &[env, blk]);
        let r = self.b.inst_results(call)[0];
        let depth = self.env_load(I32, off::NATIVE_DEPTH);
        let depth = self.b.ins().iadd_imm(depth, -1);
        self.env_store(depth, off::NATIVE_DEPTH);
        self.after_native_call(at, r, frames);
    }

    /// After a native call: go on at the block after the call when the
    /// callee returned to this frame there; otherwise pass the status up.
    pub(super) fn after_native_call(&mut self, at: u32, r: ir::Value, frames: ir::Value) {
        self.reload_state();
        let pc = self.env_load(I32, off::PC);
        let now = self.env_load(I32, off::FRAMES);
        let after = self.input.dpc(at + 1);
        let c1 = self
            .b
            .ins()
            .icmp_imm(IntCC::Equal, r, status::CONTINUE as i64);
        let c2 = self.b.ins().icmp_imm(IntCC::Equal, pc, after as i64);
        let c3 = self.b.ins().icmp(IntCC::Equal, now, frames);
        let c = self.b.ins().band(c1, c2);
        let c = self.b.ins().band(c, c3);
        match self.blocks.get(&(at + 1)).copied() {
            Some(next) => {
                self.edge(at + 1);
                // An exception the callee raised and this frame catches:
                // on to the catch block (`exceptions`).
                let (r_blk, args) = self.status_target(r, Some(frames));
                self.b.ins().brif(c, next, &[], r_blk, &args);
            }
            None => self.ret_status(r, frames),
        }
    }

    /// CALL with the frame made inline (the interpreter's `calls::call`
    /// for a non-tail call): the slot and frame vectors have room, the
    /// depth limit is not reached. Otherwise the helper does it.
    pub(super) fn call_inline(
        &mut self,
        at: u32,
        dpc: u32,
        c: &crate::bytecode::Callee,
        callee: Callee,
    ) {
        let n = c.param_slots.len();
        self.flush_below(n);
        let args = self.operands(n, dpc);
        self.call_frame(at, dpc, c.target, &c.param_slots, n, callee, args, None);
    }

    /// A call of the function at `target` binding `binds` to `args`
    /// (owned), its frame made inline when there is room (else the call
    /// helper makes it). `value`: a CALL_FUNCTION of the function value
    /// `f`, whose captured variables are `args[stack_args..]` (loaded, not
    /// yet counted): on the way to the helper the operands go back as they
    /// were (the arguments, then `f`); on the fast path the captures gain
    /// their reference and `f` is dropped.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn call_frame(
        &mut self,
        at: u32,
        dpc: u32,
        target: u32,
        binds: &[u32],
        stack_args: usize,
        callee: Callee,
        args: Vec<Item>,
        value: Option<Item>,
    ) {
        let p = self.input.program;
        let n = stack_args;
        let size = p.layouts[p.layout_of[target as usize] as usize].names.len() as i64;
        let frames = self.env_load(I32, off::FRAMES);
        let fcap = self.env_load(I64, off::FCAP);
        let llen = self.env_load(I64, off::LLEN);
        let lcap = self.env_load(I64, off::LCAP);
        let depth_ok = self.b.ins().icmp_imm(
            IntCC::UnsignedLessThan,
            frames,
            self.input.max_call_depth.min(u32::MAX as usize) as i64,
        );
        let frames64 = self.b.ins().uextend(I64, frames);
        let room_f = self.b.ins().icmp(IntCC::UnsignedLessThan, frames64, fcap);
        let need = self.b.ins().iadd_imm(llen, size);
        let room_l = self
            .b
            .ins()
            .icmp(IntCC::UnsignedLessThanOrEqual, need, lcap);
        let ok = self.b.ins().band(depth_ok, room_f);
        let ok = self.b.ins().band(ok, room_l);
        let fast = self.b.create_block();
        let slow = self.b.create_block();
        self.b.set_cold_block(slow);
        self.b.ins().brif(ok, fast, &[], slow, &[]);

        self.b.switch_to_block(slow);
        let saved = self.stack.clone();
        self.unpop(&args[..n]);
        if let Some(f) = value {
            self.unpop(&[f]);
        }
        self.call(at, dpc);
        self.stack = saved;

        self.b.switch_to_block(fast);
        if let Some(f) = value {
            for &c in &args[n..] {
                self.clone_item(c);
            }
            self.drop_item(f);
        }
        // A callee with a direct entry is called through it (its cell is
        // read like the code cell below: T5).
        if let Some((cell, plan)) = &callee.direct {
            if plan.params[..] == binds[..] {
                let a = self.b.ins().iconst(I64, *cell as i64);
                let f = self.b.ins().load(I64, self.mf, a, 0);
                let direct = self.b.create_block();
                let inline = self.b.create_block();
                self.b.ins().brif(f, direct, &[], inline, &[]);
                self.b.switch_to_block(direct);
                // A call out of this function counts toward its own direct
                // entry: one through a memory frame weighs more than one
                // into a direct entry (what its entry would save on each,
                // `direct::FRAME_CALL_WEIGHT`; docs/JIT.md, "Direct entries
                // on heat").
                // A call of the function itself counts once, as a call
                // into it (its entry saves the one frame).
                let work = self.input.work.filter(|w| w.1 != target);
                if let Some((cell, own, mask)) = work {
                    self.count_and_ask(cell, own, mask, 1);
                }
                self.enter_direct(at, f, frames, llen, &args, plan.rets, inline);
                self.b.switch_to_block(inline);
                if let Some((cell, own, mask)) = work {
                    self.count_and_ask(cell, own, mask, FRAME_CALL_WEIGHT);
                }
                self.count_call(target, &callee);
            }
        }
        // The frame.
        let fptr = self.env_load(I64, off::FPTR);
        let fo = self.b.ins().imul_imm(frames64, fl::SIZE);
        let fp = self.b.ins().iadd(fptr, fo);
        let len = self.b.use_var(self.v_len);
        let stack_base = self.b.ins().iadd_imm(len, n as i64);
        let stack_base = self.b.ins().ireduce(I32, stack_base);
        let base = self.b.ins().ireduce(I32, llen);
        let after = self.input.dpc(at + 1);
        let fields: [(i32, ir::Value); 7] = [
            (fl::RET, self.b.ins().iconst(I32, after as i64)),
            (fl::CALL_SITE, self.b.ins().iconst(I32, at as i64)),
            (fl::ENTRY, self.b.ins().iconst(I32, target as i64)),
            (fl::BASE, base),
            (fl::FRAME_SIZE, self.b.ins().iconst(I32, size)),
            (fl::STACK_BASE, stack_base),
            (fl::KIND, self.b.ins().iconst(I32, fl::KIND_CALL as i64)),
        ];
        for (o, v) in fields {
            self.b.ins().store(self.mf, v, fp, o);
        }
        let frames1 = self.b.ins().iadd_imm(frames, 1);
        self.env_store(frames1, off::FRAMES);
        // The slots: parameters bound, the rest empty.
        let lbase = self.env_load(I64, off::LBASE);
        let lo = self.b.ins().ishl_imm(llen, 4);
        let new_lp = self.b.ins().iadd(lbase, lo);
        let none = self.b.ins().iconst(I8, self.input.none_tag as i64);
        for slot in 0..size as u32 {
            if !binds.contains(&slot) {
                let o = (slot as i64 * VALUE_BYTES) as i32;
                self.b.ins().store(self.mf, none, new_lp, o);
            }
        }
        for (it, &slot) in args.iter().zip(binds.iter()) {
            let o = (slot as i64 * VALUE_BYTES) as i32;
            let tag = match it.known {
                Some(k) => self.b.ins().iconst(I8, k as i64),
                None => it.tag,
            };
            self.b.ins().store(self.mf, tag, new_lp, o);
            self.b.ins().store(self.mf, it.pay, new_lp, o + 8);
        }
        self.env_store(need, off::LLEN);
        self.env_store(new_lp, off::LOCALS);
        self.save_state();
        // Call its compiled code, or let the engine go on at its entry.
        // T5: a plain load of the cell `Jit::compile_unit` publishes with
        // Release (src/jit/README.md).
        let nd = self.env_load(I32, off::NATIVE_DEPTH);
        let cell = self.b.ins().iconst(I64, callee.code_cell as i64);
        let f = self.b.ins().load(I64, self.mf, cell, 0);
        let shallow = self
            .b
            .ins()
            .icmp_imm(IntCC::UnsignedLessThan, nd, MAX_NATIVE_DEPTH as i64);
        let have = self.b.ins().icmp_imm(IntCC::NotEqual, f, 0);
        let go = self.b.ins().band(shallow, have);
        let native = self.b.create_block();
        let engine = self.b.create_block();
        self.b.ins().brif(go, native, &[], engine, &[]);
        self.b.switch_to_block(engine);
        self.set_pc(self.input.dpc(target));
        self.ret_const(status::CONTINUE);
        self.b.switch_to_block(native);
        let nd1 = self.b.ins().iadd_imm(nd, 1);
        self.env_store(nd1, off::NATIVE_DEPTH);
        let blk = self.b.ins().iconst(I32, callee.block as i64);
        let env = self.env;
        let call = self.b.ins().call_indirect(self.im.sig, f, &[env, blk]);
        let r = self.b.inst_results(call)[0];
        self.env_store(nd, off::NATIVE_DEPTH);
        self.after_native_call(at, r, frames);
    }

    /// Add `add` to the count at `cell` (a plain load and store: a hint,
    /// like the field caches), and where it passes a zero of its `mask` ask the
    /// `hot_call` helper whether the direct entry of the function at
    /// `target` is worth compiling now (it compiles it then; calls find
    /// it in its cell from there on).
    fn count_and_ask(&mut self, cell: usize, target: u32, mask: u32, add: u32) {
        let a = self.b.ins().iconst(I64, cell as i64);
        let n = self.b.ins().load(I32, self.mf, a, 0);
        let n = self.b.ins().iadd_imm(n, add as i64);
        self.b.ins().store(self.mf, n, a, 0);
        // The count passed a multiple of `mask + 1` (`add` is at most
        // that: `direct::work_mask`).
        let low = self.b.ins().band_imm(n, mask as i64);
        let ask = self
            .b
            .ins()
            .icmp_imm(IntCC::UnsignedLessThan, low, add as i64);
        let compile = self.b.create_block();
        self.b.set_cold_block(compile);
        let on = self.b.create_block();
        self.b.ins().brif(ask, compile, &[], on, &[]);
        self.b.switch_to_block(compile);
        let t = self.b.ins().iconst(I32, target as i64);
        let env = self.env;
        self.b.ins().call(self.im.hot_call, &[env, t]);
        self.b.ins().jump(on, &[]);
        self.b.switch_to_block(on);
    }

    /// A call through a memory frame of a function that could have a
    /// direct entry: counted in the callee's unit (`Callee::hot_mask`).
    fn count_call(&mut self, target: u32, callee: &Callee) {
        if let Some(mask) = callee.hot_mask {
            self.count_and_ask(callee.calls_cell, target, mask, 1);
        }
    }

    /// RET from a call frame that holds no handler or capture, inline:
    /// drop the frame's variables and the frame, continue at its return
    /// address. Other RETs go through the helper.
    pub(super) fn ret_inline(&mut self, at: u32, dpc: u32) {
        self.flush();
        let frames = self.env_load(I32, off::FRAMES);
        let fptr = self.env_load(I64, off::FPTR);
        let frames64 = self.b.ins().uextend(I64, frames);
        let top = self.b.ins().iadd_imm(frames64, -1);
        let fo = self.b.ins().imul_imm(top, fl::SIZE);
        let fp = self.b.ins().iadd(fptr, fo);
        let kind = self.b.ins().load(I32, self.mf, fp, fl::KIND);
        let hd = self.env_load(I32, off::HDEPTH);
        let is_call = self
            .b
            .ins()
            .icmp_imm(IntCC::Equal, kind, fl::KIND_CALL as i64);
        let no_h = self.b.ins().icmp(IntCC::UnsignedLessThan, hd, frames);
        let ok = self.b.ins().band(is_call, no_h);
        let fast = self.b.create_block();
        let slow = self.b.create_block();
        self.b.set_cold_block(slow);
        self.b.ins().brif(ok, fast, &[], slow, &[]);
        self.b.switch_to_block(slow);
        // From a process's bottom frame the process ends (`lower::procs`).
        self.end_process_else_generic(at, dpc, kind, true);
        self.b.switch_to_block(fast);
        let ret = self.b.ins().load(I32, self.mf, fp, fl::RET);
        let base = self.b.ins().load(I32, self.mf, fp, fl::BASE);
        for s in 0..self.v_tag.len() {
            let it = Item {
                tag: self.b.use_var(self.v_tag[s]),
                pay: self.b.use_var(self.v_pay[s]),
                known: self.known[s],
                slot: None,
            };
            self.drop_item(it);
        }
        let base64 = self.b.ins().uextend(I64, base);
        self.env_store(base64, off::LLEN);
        let frames1 = self.b.ins().iadd_imm(frames, -1);
        self.env_store(frames1, off::FRAMES);
        let caller = self.b.ins().iadd_imm(fp, -fl::SIZE);
        let cbase = self.b.ins().load(I32, self.mf, caller, fl::BASE);
        let cbase = self.b.ins().uextend(I64, cbase);
        let lbase = self.env_load(I64, off::LBASE);
        let lo = self.b.ins().ishl_imm(cbase, 4);
        let clp = self.b.ins().iadd(lbase, lo);
        self.env_store(clp, off::LOCALS);
        self.env_store(ret, off::PC);
        // Returning to a block of this unit (the caller is the same
        // function: recursion), go on there as the engine would enter it,
        // without leaving compiled code.
        let p = self.input.program;
        let returns: Vec<u32> = self
            .input
            .plan
            .blocks
            .iter()
            .copied()
            .filter(|&a| {
                a > 0
                    && p.layout_of[a as usize - 1] == self.input.plan.layout
                    && p.code[a as usize - 1].is_call()
            })
            .collect();
        if returns.is_empty() {
            self.save_state();
            self.ret_const(status::CONTINUE);
            return;
        }
        // One dispatch on the return address, shared by every RET of the
        // function (a chain of tests at each RET would be code of RETs x
        // call sites).
        self.b.def_var(self.v_lp, clp);
        let dispatch = match self.ret_dispatch {
            Some(d) => d,
            None => {
                let d = self.b.create_block();
                self.b.append_block_param(d, I32);
                self.ret_dispatch = Some(d);
                self.b.ins().jump(d, &[BlockArg::Value(ret)]);
                self.b.switch_to_block(d);
                let ret = self.b.block_params(d)[0];
                for a in returns {
                    let here = self.input.dpc(a);
                    let is = self.b.ins().icmp_imm(IntCC::Equal, ret, here as i64);
                    let go = self.b.create_block();
                    let next = self.b.create_block();
                    self.b.ins().brif(is, go, &[], next, &[]);
                    self.b.switch_to_block(go);
                    self.reload_locals();
                    let entry = self.entries[&a];
                    self.b.ins().jump(entry, &[]);
                    self.b.switch_to_block(next);
                }
                self.save_state();
                self.ret_const(status::CONTINUE);
                return;
            }
        };
        self.b.ins().jump(dispatch, &[BlockArg::Value(ret)]);
    }
}
