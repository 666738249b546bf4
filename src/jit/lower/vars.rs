//! Variables: LOAD and STORE. A slot's value lives in a pair of Cranelift
//! variables (tag, payload) and, in ordinary code, in the frame's memory,
//! written through on every STORE (`FrameEnv::write_slot`); in a frame of
//! many variables only the tracked ones (see `facts::tracked`) have
//! Cranelift variables, the others are read from memory where they are
//! used.

use super::{is_heap, FrameEnv, Item, Lower, FLOAT, VALUE_BYTES};
use cranelift_codegen::ir::condcodes::IntCC;
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

    /// LOAD; `moves`: it is the variable's last use (`Program::moves`).
    pub(super) fn load(&mut self, slot: u32, dpc: u32, moves: bool) {
        let s = slot as usize;
        let (tag, pay) = self.slot_value(s);
        let known = self.known[s];
        let it = Item {
            tag,
            pay,
            known,
            slot: Some(slot),
        };
        if moves && E::MOVES && known.is_none_or(is_heap) {
            self.move_out(slot, it, dpc);
            return;
        }
        if !E::load_checks(self, slot, it, dpc) {
            return;
        }
        self.stack.push(it);
    }

    /// A LOAD that is the variable's last use, of a value that may be a
    /// heap value: a heap value leaves the slot (which becomes unset) with
    /// the reference it had, so the stack holds it once, as in the
    /// interpreter (`exec::semantics::vars::take_heap`); an unboxed value
    /// is copied; an unset slot leaves at `dpc` (the interpreter raises).
    fn move_out(&mut self, slot: u32, it: Item, dpc: u32) {
        let s = slot as usize;
        if it.known.is_some() {
            // A heap value.
            self.unset_slot(s);
        } else {
            let rare = self
                .b
                .ins()
                .icmp_imm(IntCC::UnsignedGreaterThan, it.tag, FLOAT as i64);
            let heap = self.b.create_block();
            let cont = self.b.create_block();
            self.b.ins().brif(rare, heap, &[], cont, &[]);
            self.b.switch_to_block(heap);
            let none = self
                .b
                .ins()
                .icmp_imm(IntCC::Equal, it.tag, self.input.none_tag as i64);
            self.exit_if(none, dpc);
            self.unset_slot(s);
            self.b.ins().jump(cont, &[]);
            self.b.switch_to_block(cont);
        }
        // Unset or unboxed: nothing is assumed of the slot from here.
        self.known[s] = None;
        self.forget_fields_of(slot);
        for i in &mut self.stack {
            if i.slot == Some(slot) {
                i.slot = None;
            }
        }
        self.stack.push(Item { slot: None, ..it });
    }

    /// Make slot `s` unset (its value was moved out, not dropped).
    fn unset_slot(&mut self, s: usize) {
        let none_tag = self.input.none_tag;
        let tag = self.b.ins().iconst(I8, none_tag as i64);
        let pay = self.b.ins().iconst(I64, 0);
        let v = Item {
            tag,
            pay,
            known: Some(none_tag),
            slot: None,
        };
        E::write_slot(self, s, v, None);
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
        self.forget_fields_of(slot);
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
