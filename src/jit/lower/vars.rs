//! Variables: LOAD and STORE. A slot's value lives in a pair of Cranelift
//! variables (tag, payload) and, in ordinary code, in the frame's memory,
//! written through on every STORE (`FrameEnv::write_slot`); in a frame of
//! many variables only the tracked ones (see `facts::tracked`) have
//! Cranelift variables, the others are read from memory where they are
//! used.

use super::{FrameEnv, Item, Lower, VALUE_BYTES};
use cranelift_codegen::ir::types::{I64, I8};
use cranelift_codegen::ir::{self, InstBuilder};

impl<E: FrameEnv> Lower<'_, '_, '_, E> {
    /// The value of variable slot `s` (`E::slot`).
    fn slot_value(&mut self, s: usize) -> (ir::Value, ir::Value) {
        E::slot(self, s)
    }

    /// The value of variable slot `s` from its Cranelift variables, or,
    /// for a slot not kept in them (`in_regs`), from the frame's memory,
    /// which is always current.
    pub(super) fn var_slot(&mut self, s: usize) -> (ir::Value, ir::Value) {
        if self.in_regs[s] {
            return (self.b.use_var(self.v_tag[s]), self.b.use_var(self.v_pay[s]));
        }
        let lp = self.b.use_var(self.v_lp);
        let o = (s as i64 * VALUE_BYTES) as i32;
        let tag = self.b.ins().load(I8, self.mf, lp, o);
        let pay = self.b.ins().load(I64, self.mf, lp, o + 8);
        (tag, pay)
    }

    pub(super) fn load(&mut self, slot: u32, dpc: u32) {
        let s = slot as usize;
        let (tag, pay) = self.slot_value(s);
        let known = self.known[s];
        let it = Item {
            tag,
            pay,
            known,
            slot: Some(slot),
        };
        if !E::load_checks(self, slot, it, dpc) {
            return;
        }
        self.stack.push(it);
    }

    pub(super) fn store(&mut self, slot: u32, dpc: u32) {
        let s = slot as usize;
        let [v] = self.operands_n::<1>(dpc);
        let (tag, pay) = self.slot_value(s);
        let old = Item {
            tag,
            pay,
            known: self.known[s],
            slot: None,
        };
        E::write_slot(self, s, v, old.known);
        // The old value is no longer held by the slot.
        if old.known != Some(self.input.none_tag) {
            self.drop_item(old);
        }
        self.known[s] = v.known;
        for it in &mut self.stack {
            if it.slot == Some(slot) {
                it.slot = None;
            }
        }
    }

    /// A STORE's new value `tag`, `pay` of slot `s` in its Cranelift
    /// variables, when it has them.
    pub(super) fn def_slot_vars(&mut self, s: usize, tag: ir::Value, pay: ir::Value) {
        if self.in_regs[s] {
            self.b.def_var(self.v_tag[s], tag);
            self.b.def_var(self.v_pay[s], pay);
        }
    }
}
