//! The resume entry of a direct entry (docs/JIT.md, "Resuming"): a frame
//! of a function with a direct entry that was preempted (or left for the
//! interpreter) goes on in the direct code at a loop header, instead of
//! in the function's ordinary code until it returns.
//!
//! The engine (`engine/resume.rs`) moves the frame's slots and operands
//! out of the process into a record (`jit::resume::Record`: the frame's
//! real `place`, the index of the block among the plan's
//! `DirectPlan::resumes`, then the values, 16 bytes each, slots first)
//! and calls the direct entry through a trampoline with `place` =
//! `record address << 16 | Place::RESUME`. No direct call passes that
//! `left` (a chain has at most `MAX_DIRECT_DEPTH` frames), so the entry
//! tells a resumed frame by the test it makes anyway when it calls
//! (`left == 0`: leave), widened to both values in one compare, or by one
//! compare when it makes no calls. The cold path below takes the values
//! into the frame's variables (they own their references, as the
//! process's slots did), sets `place` (a Cranelift variable in such a
//! function, read at every block start) and jumps to the block, where
//! the block charges and may preempt as always. From there the frame is
//! an ordinary direct frame whose caller is the trampoline: it returns
//! its result, or leaves with the direct-leave chain (D2–D4).

use super::direct::{Direct, HeaderFacts};
use super::{Item, Lower};
use crate::exec::native::status;
use crate::jit::resume::Record;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{I64, I8};
use cranelift_codegen::ir::{self, InstBuilder};
use std::collections::HashMap;

impl Lower<'_, '_, '_, Direct<'_>> {
    /// The resume path, in the current (cold) block: `arg` is the `place`
    /// argument (the record's address above `Place::RESUME`); `checked`
    /// the blocks of the checked copy (a function with a loop has no
    /// other).
    pub(super) fn resume_entry(&mut self, arg: ir::Value, checked: &HashMap<u32, ir::Block>) {
        let mf = self.mf;
        let rec = self.b.ins().ushr_imm(arg, Record::ADDR_SHIFT);
        let place = self.b.ins().load(I64, mf, rec, Record::PLACE);
        let index = self.b.ins().load(I64, mf, rec, Record::INDEX);
        let v_pos = self.mode.v_pos.expect("a resumable function");
        self.b.def_var(v_pos, place);
        self.mode.pos = place;
        let slots = self.v_tag.len();
        for s in 0..slots {
            let o = Record::value(s);
            let tag = self.b.ins().load(I8, mf, rec, o);
            let pay = self.b.ins().load(I64, mf, rec, o + 8);
            self.b.def_var(self.v_tag[s], tag);
            self.b.def_var(self.v_pay[s], pay);
        }
        let resumes = self.mode.resumes.clone();
        for (k, &at) in resumes.iter().enumerate() {
            let pad = self.b.create_block();
            self.b.set_cold_block(pad);
            if k + 1 < resumes.len() {
                let here = self.b.ins().icmp_imm(IntCC::Equal, index, k as i64);
                let next = self.b.create_block();
                self.b.set_cold_block(next);
                self.b.ins().brif(here, pad, &[], next, &[]);
                self.b.switch_to_block(pad);
                self.resume_operands(rec, at, slots);
                self.resume_guard(at);
                self.b.ins().jump(checked[&at], &[]);
                self.b.switch_to_block(next);
            } else {
                self.b.ins().jump(pad, &[]);
                self.b.switch_to_block(pad);
                self.resume_operands(rec, at, slots);
                self.resume_guard(at);
                self.b.ins().jump(checked[&at], &[]);
            }
        }
    }

    /// The header `at` assumes tags of slots and operands (`HeaderFacts`,
    /// known along its loop's own edges): the resumed frame's must be
    /// those, else it leaves at once for its ordinary code (a miss).
    fn resume_guard(&mut self, at: u32) {
        let assume = match &self.mode.headers {
            HeaderFacts::Final(f) => f.get(&at).cloned(),
            HeaderFacts::Trial(..) => None,
        };
        let Some(assume) = assume else { return };
        let slots = self.v_tag.len();
        let mut ok = None;
        for (i, k) in assume.iter().enumerate() {
            let Some(k) = *k else { continue };
            let var = if i < slots {
                self.v_tag[i]
            } else {
                self.stack_var(i - slots).0
            };
            let tag = self.b.use_var(var);
            let c = self.b.ins().icmp_imm(IntCC::Equal, tag, k as i64);
            ok = Some(match ok {
                None => c,
                Some(o) => self.b.ins().band(o, c),
            });
        }
        let Some(ok) = ok else { return };
        let go = self.b.create_block();
        self.b.set_cold_block(go);
        let fail = self.b.create_block();
        self.b.set_cold_block(fail);
        self.b.ins().brif(ok, go, &[], fail, &[]);
        self.b.switch_to_block(fail);
        self.known.iter_mut().for_each(|k| *k = None);
        self.stack.clear();
        for i in 0..assume.len() - slots {
            let (t, p) = self.stack_var(i);
            let tag = self.b.use_var(t);
            let pay = self.b.use_var(p);
            self.stack.push(Item {
                tag,
                pay,
                known: None,
                slot: None,
            });
        }
        self.direct_exit(status::CONTINUE, self.input.dpc(at));
        self.stack.clear();
        self.b.switch_to_block(go);
    }

    /// The operands of block `at` from the record (after `slots` slots),
    /// into the variables of its stack height.
    fn resume_operands(&mut self, rec: ir::Value, at: u32, slots: usize) {
        let mf = self.mf;
        let h = self.plan().depth[&at];
        for i in 0..h {
            let o = Record::value(slots + i);
            let tag = self.b.ins().load(I8, mf, rec, o);
            let pay = self.b.ins().load(I64, mf, rec, o + 8);
            let (t, p) = self.stack_var(i);
            self.b.def_var(t, tag);
            self.b.def_var(p, pay);
        }
    }
}
