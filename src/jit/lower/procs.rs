//! Process operations in ordinary code (issue 15): SELF inline, SEND to an
//! Int PID and a plain RECEIVE through helpers of their own, every other
//! process operation through the `process` helper (the complete semantics
//! of `exec::semantics::procs`, without the dispatch over every
//! instruction). Reductions are the block's, charged at its start as
//! everywhere; a RECEIVE that finds no message returns `STOP` with the
//! process waiting at the RECEIVE, which is an entry of the unit (a resume
//! point), so the process goes on there — in compiled code, or in the
//! interpreter — when a message or a timeout wakes it.
//!
//! Direct entries and inline returns never contain process operations
//! (their plans admit none).
//!
//! A process's end — RET from its bottom frame, HALT outside a module's
//! run — returns `STOP` with no outcome (the engine's `Halted`), without
//! the generic helper: a spawned body that runs a few blocks and ends
//! (skynet's nodes, workers, relays) paid ~200 instructions for the
//! generic helper's context round trip and dispatch at its end.

use super::{Lower, Ordinary, INT};
use crate::bytecode::Instr;
use crate::exec::frame_layout as fl;
use crate::exec::native::{off, status};
use crate::exec::semantics::procs;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{I32, I64};
use cranelift_codegen::ir::{self, InstBuilder};

impl Lower<'_, '_, '_, Ordinary> {
    /// A process instruction (`procs::handles`); `false` for any other.
    pub(super) fn process_op(&mut self, at: u32, dpc: u32, instr: &Instr) -> bool {
        match instr {
            Instr::SelfPid(_) => {
                let pid = self.env_load(I64, off::PID);
                self.push_int(pid);
            }
            Instr::Send(lit) => self.send(dpc, lit.0),
            Instr::Receive(_) => {
                let st = self.call_at(self.im.receive, at, dpc);
                self.check_status(st);
            }
            // Every other process operation: the one list of them is
            // `procs::handles`, what the helper's `exec_process` runs.
            i if procs::handles(i) => {
                let st = self.call_at(self.im.process, at, dpc);
                self.check_status(st);
            }
            _ => return false,
        }
        true
    }

    /// SEND: the message (and the PID, unless the instruction names it)
    /// from the virtual stack; a PID that is not an Int (a PID of another
    /// node, `[name, node]`, or a type error) leaves for the interpreter,
    /// which sends it or raises. The helper takes the
    /// message's reference and touches nothing of the process, so the
    /// virtual stack below stays in registers.
    fn send(&mut self, dpc: u32, lit: Option<i64>) {
        let (msg, to) = match lit {
            Some(to) => {
                let [msg] = self.operands_n::<1>(dpc);
                (msg, self.b.ins().iconst(I64, to))
            }
            None => {
                let [msg, pid] = self.operands_n::<2>(dpc);
                let ok = self.tag_is(pid, INT);
                self.guard(ok, dpc, &[msg, pid]);
                (msg, pid.pay)
            }
        };
        let tag = self.tag_of(msg);
        let tag = self.b.ins().uextend(I64, tag);
        let env = self.env;
        self.b.ins().call(self.im.send, &[env, to, tag, msg.pay]);
    }

    /// The tag of the current (top) frame's `FrameKind`.
    pub(super) fn top_frame_kind(&mut self) -> ir::Value {
        let frames = self.env_load(I32, off::FRAMES);
        let fptr = self.env_load(I64, off::FPTR);
        let frames64 = self.b.ins().uextend(I64, frames);
        let top = self.b.ins().iadd_imm(frames64, -1);
        let fo = self.b.ins().imul_imm(top, fl::SIZE);
        let fp = self.b.ins().iadd(fptr, fo);
        self.b.ins().load(I32, self.mf, fp, fl::KIND)
    }

    /// HALT: the process ends (`exec::semantics::calls::halt`), unless
    /// the current frame is a module's top-level run (the generic helper
    /// ends the module's run).
    pub(super) fn halt(&mut self, at: u32, dpc: u32) {
        self.flush();
        let kind = self.top_frame_kind();
        self.end_process_else_generic(at, dpc, kind, false);
    }

    /// The virtual stack flushed and `kind` the current frame's
    /// `FrameKind` tag: when the instruction at `at` ends the process —
    /// RET (`ret`) from the bottom frame of any process but PID 1 (whose
    /// RET there raises), HALT (`!ret`) anywhere but in a module's run —
    /// return `STOP` with no outcome (the engine's `Halted`: the process
    /// ends normally, its context with its values goes with it); otherwise
    /// run it through the generic helper. Control does not fall through.
    pub(super) fn end_process_else_generic(
        &mut self,
        at: u32,
        dpc: u32,
        kind: ir::Value,
        ret: bool,
    ) {
        let ends = if ret {
            let root = self
                .b
                .ins()
                .icmp_imm(IntCC::Equal, kind, fl::KIND_ROOT as i64);
            let pid = self.env_load(I64, off::PID);
            let not_main = self.b.ins().icmp_imm(IntCC::NotEqual, pid, 1);
            self.b.ins().band(root, not_main)
        } else {
            self.b
                .ins()
                .icmp_imm(IntCC::NotEqual, kind, fl::KIND_MODULE as i64)
        };
        let end = self.b.create_block();
        let other = self.b.create_block();
        self.b.set_cold_block(other);
        self.b.ins().brif(ends, end, &[], other, &[]);
        self.b.switch_to_block(end);
        // Where it ended, as the generic helper leaves it; the lengths and
        // the budget for the engine to take back.
        let d = self.b.ins().iconst(I32, dpc as i64);
        self.env_store(d, off::PC);
        self.save_state();
        self.ret_const(status::STOP);
        self.b.switch_to_block(other);
        self.generic_final(at, dpc);
    }
}
