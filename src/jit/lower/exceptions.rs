//! Exceptions in ordinary compiled code (SPEC §3.8, issue 15): TRY and
//! END_TRY through helpers of their own that change only the process's
//! handlers (`try_install`, `try_end`: no vector taken back or published,
//! the virtual operand stack stays in registers), CATCH as nothing, and
//! the way back into compiled code after an exception:
//!
//! - **THROW** is a call of the `throw` helper with the value: for a
//!   handler of the same frame it cuts the operand stack back and pushes
//!   the exception without the generic helper's context round trip and
//!   dispatch; for one further out it unwinds as any raise.
//! - **Catch dispatch.** Whatever raised — THROW (the `throw` helper), an
//!   operation run by a helper, a callee called natively, an instruction
//!   run by `fault` — unwinding leaves the process at a catch block with
//!   the status `CONTINUE`. When the frame count is the one before the
//!   raise (the handler is this frame's) and `JitEnv::pc` is the start of
//!   one of this unit's catch blocks, the code goes on there, entered as
//!   the engine would enter it (its entry guard), instead of returning to
//!   the engine. One dispatch block per function, shared by every site.
//! - **Faults.** A guard that fails leaves at its instruction for the
//!   interpreter to run (X1 in src/jit/README.md). While a handler is in
//!   force (`JitEnv::hdepth`), the instruction is run by the `fault` helper
//!   instead, with its complete semantics: when it raises (a division by
//!   zero, an index out of bounds, a bad operand) the exception unwinds
//!   there, and the catch dispatch finds the catch block of this frame —
//!   or this function returns `CONTINUE` to its caller, whose own dispatch
//!   after the native call finds it in its frame. When it does not raise
//!   (a mixed-kind result), the process goes on at the next instruction
//!   through the engine, as after a side exit.
//!
//! Without a handler in force nothing changes: a failed guard leaves as
//! before, at the cost of one load and compare in its cold path.

use super::{FrameEnv, Lower, Ordinary};
use crate::bytecode::{Instr, Owner};
use crate::exec::native::{off, status};
use crate::exec::Dpc;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{I32, I64};
use cranelift_codegen::ir::{self, BlockArg, InstBuilder};

impl<E: FrameEnv> Lower<'_, '_, '_, E> {
    /// The frame count before a helper call, for the catch dispatch after
    /// it (only in a unit with catch blocks).
    pub(super) fn note_frames(&mut self) {
        self.frames_before = None;
        if self.catches.is_empty() {
            return;
        }
        let f = self.env_load(I32, off::FRAMES);
        let here = self.b.current_block().expect("in a block");
        self.frames_before = Some((here, f));
    }

    /// The frame count [`Lower::note_frames`] read in the current block.
    pub(super) fn frames_noted(&mut self) -> Option<ir::Value> {
        let (blk, f) = self.frames_before.take()?;
        (Some(blk) == self.b.current_block()).then_some(f)
    }

    /// The block status `st` goes to when it is not `NEXT`: the catch
    /// dispatch (given the frame count `frames0` before the raise), or the
    /// return.
    pub(super) fn status_target(
        &mut self,
        st: ir::Value,
        frames0: Option<ir::Value>,
    ) -> (ir::Block, Vec<BlockArg>) {
        match frames0.filter(|_| !self.catches.is_empty()) {
            Some(f) => (
                self.catch_dispatch(),
                vec![BlockArg::Value(st), BlockArg::Value(f)],
            ),
            None => (
                self.ret_block.expect("made first"),
                vec![BlockArg::Value(st)],
            ),
        }
    }

    /// Go on with status `st` (not `NEXT`): at a catch block of this frame
    /// when `st` is `CONTINUE` there, else return it.
    pub(super) fn ret_status(&mut self, st: ir::Value, frames0: ir::Value) {
        let (blk, args) = self.status_target(st, Some(frames0));
        self.b.ins().jump(blk, &args);
    }

    fn catch_dispatch(&mut self) -> ir::Block {
        if let Some(b) = self.catch_dispatch {
            return b;
        }
        let b = self.b.create_block();
        self.b.append_block_param(b, I32);
        self.b.append_block_param(b, I32);
        self.b.set_cold_block(b);
        self.catch_dispatch = Some(b);
        b
    }
}

impl Lower<'_, '_, '_, Ordinary> {
    /// The catch labels of TRYs of this unit's frame layout that start
    /// blocks of this unit (or part), ascending.
    pub(super) fn find_catches(&self) -> Vec<u32> {
        let p = self.input.program;
        let layout = self.input.plan.layout;
        let mut out: Vec<u32> = p
            .code
            .iter()
            .enumerate()
            .filter(|&(i, _)| p.layout_of[i] == layout)
            .filter_map(|(_, ins)| match ins {
                Instr::Try(t) => Some(t.0),
                _ => None,
            })
            .filter(|t| self.blocks.contains_key(t))
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// TRY, END_TRY and CATCH (`false` for any other instruction).
    pub(super) fn exception_op(&mut self, at: u32, instr: &Instr) -> bool {
        match instr {
            Instr::Try(t) => {
                // The height the interpreter records: the values in memory
                // and the virtual ones above them.
                let len = self.b.use_var(self.v_len);
                let height = self.b.ins().iadd_imm(len, self.stack.len() as i64);
                let a = self.b.ins().iconst(I32, at as i64);
                let c = self.b.ins().iconst(I32, self.input.dpc(t.0) as i64);
                let env = self.env;
                self.b.ins().call(self.im.try_install, &[env, a, c, height]);
            }
            Instr::EndTry(Owner(owner)) => {
                // An END_TRY no TRY owns does nothing.
                if let Some(t) = owner {
                    let t = self.b.ins().iconst(I32, *t as i64);
                    let env = self.env;
                    self.b.ins().call(self.im.try_end, &[env, t]);
                }
            }
            Instr::Catch(_) => {}
            _ => return false,
        }
        true
    }

    /// THROW: the value from the virtual stack, moved to the `throw`
    /// helper, the rest flushed (the handler's height counts values in
    /// memory); the helper unwinds — for a handler of this frame on the
    /// operand stack alone, without the generic helper's context round
    /// trip and dispatch — and the code goes on at the catch block when
    /// it is this frame's, else returns the status.
    pub(super) fn throw(&mut self, dpc: u32) {
        let [v] = self.operands_n::<1>(dpc);
        self.own_borrowed(v);
        self.flush();
        let tag = self.tag_of(v);
        let tag = self.b.ins().uextend(I64, tag);
        let d = self.b.ins().iconst(I32, dpc as i64);
        let env = self.env;
        let st = self.call_helper(self.im.throw, &[env, d, tag, v.pay]);
        match self.frames_noted() {
            Some(f) => self.ret_status(st, f),
            None => self.ret(st),
        }
    }

    /// Whether a side exit at `dpc` goes through the fault block (`dpc`
    /// is an instruction's own op, where a handler may catch what it
    /// raises), not a block's start.
    pub(super) fn faults_at(&self, dpc: u32) -> bool {
        let layout = self.input.layout;
        let Some(at) = layout.get_addr(Dpc(dpc)) else {
            return false;
        };
        layout.resume(at) == Dpc(dpc) && (at.0 as usize) < self.input.program.code.len()
    }

    /// The shared block that runs the instruction at `JitEnv::pc` through
    /// the `fault` helper when a handler is in force (else returns
    /// `CONTINUE`); its parameter is the frame count before.
    pub(super) fn fault_block(&mut self) -> ir::Block {
        if let Some(b) = self.fault_block {
            return b;
        }
        let b = self.b.create_block();
        self.b.append_block_param(b, I32);
        self.b.set_cold_block(b);
        self.fault_block = Some(b);
        b
    }

    /// Fill the shared blocks made while lowering (after every block, so
    /// that entering a catch block adds no predecessor to one already
    /// lowered with what it knows).
    pub(super) fn finish_exceptions(&mut self) {
        if let Some(b) = self.fault_block {
            self.b.switch_to_block(b);
            let frames0 = self.b.block_params(b)[0];
            let hd = self.env_load(I32, off::HDEPTH);
            let run = self.b.create_block();
            self.b.set_cold_block(run);
            let (r, rargs) = {
                let c = self.b.ins().iconst(I32, status::CONTINUE as i64);
                (
                    self.ret_block.expect("made first"),
                    vec![BlockArg::Value(c)],
                )
            };
            self.b.ins().brif(hd, run, &[], r, &rargs);
            self.b.switch_to_block(run);
            let env = self.env;
            let call = self.b.ins().call(self.im.fault, &[env]);
            let st = self.b.inst_results(call)[0];
            self.reload_state();
            let (to, args) = self.status_target(st, Some(frames0));
            self.b.ins().jump(to, &args);
        }
        if let Some(b) = self.catch_dispatch {
            self.b.switch_to_block(b);
            let st = self.b.block_params(b)[0];
            let frames0 = self.b.block_params(b)[1];
            let r = self.ret_block.expect("made first");
            let is_cont = self
                .b
                .ins()
                .icmp_imm(IntCC::Equal, st, status::CONTINUE as i64);
            let now = self.env_load(I32, off::FRAMES);
            let same = self.b.ins().icmp(IntCC::Equal, now, frames0);
            let here = self.b.ins().band(is_cont, same);
            let test = self.b.create_block();
            self.b
                .ins()
                .brif(here, test, &[], r, &[BlockArg::Value(st)]);
            self.b.switch_to_block(test);
            let pc = self.env_load(I32, off::PC);
            // The catch block's variables are read from memory, as the
            // engine's entry reads them.
            let lp = self.env_load(I64, off::LOCALS);
            self.b.def_var(self.v_lp, lp);
            for c in self.catches.clone() {
                let here = self.input.dpc(c);
                let is = self.b.ins().icmp_imm(IntCC::Equal, pc, here as i64);
                let go = self.b.create_block();
                let next = self.b.create_block();
                self.b.ins().brif(is, go, &[], next, &[]);
                self.b.switch_to_block(go);
                self.reload_locals();
                let entry = self.entries[&c];
                self.b.ins().jump(entry, &[]);
                self.b.switch_to_block(next);
            }
            self.b.ins().jump(r, &[BlockArg::Value(st)]);
        }
    }
}
