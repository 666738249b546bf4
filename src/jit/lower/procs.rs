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

use super::{Lower, Ordinary, INT};
use crate::bytecode::Instr;
use crate::exec::native::off;
use crate::exec::semantics::procs;
use cranelift_codegen::ir::types::I64;
use cranelift_codegen::ir::InstBuilder;

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
}
