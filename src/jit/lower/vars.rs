//! Variables: LOAD and STORE. A slot's value lives in a pair of Cranelift
//! variables (tag, payload) and in the frame's memory, written through on
//! every STORE; in a frame of many variables only the tracked ones (see
//! `facts::tracked`) have Cranelift variables, the others are read from
//! memory where they are used.

use super::{is_heap, Item, Lower, FLOAT, VALUE_BYTES};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{I64, I8};
use cranelift_codegen::ir::{self, InstBuilder};

impl Lower<'_, '_, '_> {
    /// The value of variable slot `s`: from its Cranelift variables, or,
    /// for a slot not kept in them (`in_regs`), from the frame's memory,
    /// which is always current.
    fn slot_value(&mut self, s: usize) -> (ir::Value, ir::Value) {
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
        match known {
            _ if self.direct.is_some() => {
                // Unboxed or unset: leave when unset (the interpreter
                // raises `undefined variable`).
                if known.is_none() && !self.direct_param(slot) {
                    let none = self
                        .b
                        .ins()
                        .icmp_imm(IntCC::Equal, tag, self.input.none_tag as i64);
                    self.exit_if(none, dpc);
                } else if known == Some(self.input.none_tag) {
                    return self.exit_always(&[], dpc);
                }
            }
            Some(k) => {
                if is_heap(k) {
                    self.clone_item(it);
                }
            }
            None => {
                // One test for the rare cases: an unset variable (the
                // interpreter raises `undefined variable`) or a heap value
                // (one more reference). Tags 0..=3 are the unboxed kinds.
                let rare = self
                    .b
                    .ins()
                    .icmp_imm(IntCC::UnsignedGreaterThan, tag, FLOAT as i64);
                let cold = self.b.create_block();
                self.b.set_cold_block(cold);
                let cont = self.b.create_block();
                self.b.ins().brif(rare, cold, &[], cont, &[]);
                self.b.switch_to_block(cold);
                let none = self
                    .b
                    .ins()
                    .icmp_imm(IntCC::Equal, tag, self.input.none_tag as i64);
                self.exit_if(none, dpc);
                let t = self.b.ins().uextend(I64, tag);
                self.b.ins().call(self.im.clone, &[t, pay]);
                self.b.ins().jump(cont, &[]);
                self.b.switch_to_block(cont);
            }
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
        let lp = self.b.use_var(self.v_lp);
        let o = (s as i64 * VALUE_BYTES) as i32;
        let tag = match v.known {
            Some(k) => self.b.ins().iconst(I8, k as i64),
            None => v.tag,
        };
        let memory = self.direct.is_none();
        if memory && (v.known.is_none() || v.known != old.known) {
            self.b.ins().store(self.mf, tag, lp, o);
        }
        if memory {
            self.b.ins().store(self.mf, v.pay, lp, o + 8);
        }
        if self.in_regs[s] {
            self.b.def_var(self.v_tag[s], tag);
            self.b.def_var(self.v_pay[s], v.pay);
        }
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
}
