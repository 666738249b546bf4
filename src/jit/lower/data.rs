//! LEN and INDEX (the op table's `inline_heap`): a list's length and
//! element, and an ASCII string's length, are guarded loads — the tag
//! checked, the index checked against the length, the element cloned as
//! the runtime clones it (one more reference when it is a heap value) —
//! and anything else (other strings, a string's INDEX, an object, an index
//! of another kind or out of bounds) goes through the
//! `data` helper with the operands borrowed, which computes the result or
//! says that the instruction raises; then compiled code leaves at the
//! instruction and the interpreter raises the error with its exact text.
//! Neither path touches the virtual operand stack below the operands, so
//! what is known of it stays known.
//!
//! Where a list's length and elements are is given by the runtime
//! (`List::layout`): the payload of a `Value::List` points at the list's
//! one block, which holds the count, the length, the capacity and then
//! the elements.
//!
//! GET_FIELD and HAS_FIELD with a constant name have a cache per site
//! (a cell of the `Jit`, `Input::field_cell`): the position of the field
//! among the entries of the last object the site read (`Object::layout`).
//! The inline read checks that the position is within the entries, that
//! the entry's key is the name's own text (the same `Arc`: a field set by
//! name shares the atom's text) and that the entry is not a hole, then
//! loads the value: a known field is a guarded load. Anything else — a
//! miss, a key made at run time, an Exception, not an object — goes
//! through the `field` helper, which answers and updates the cell.
//!
//! SET_FIELD of a constant name in a direct entry has a cell too: on an
//! object held once whose cached entry is that field with a value that is
//! not on the heap, the new value is stored over it (a known field of an
//! unshared object is a guarded store); anything else goes through the
//! `value` helper, which also teaches the cell
//! (`Lower::write_field_fast`).

use super::env::Helper;
use super::{FrameEnv, Item, Lower, INT, LIST, VALUE_BYTES};
use crate::bytecode::{Instr, Opcode, OptField};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{I32, I64, I8};
use cranelift_codegen::ir::{self, BlockArg, InstBuilder, StackSlotData, StackSlotKind};
use std::sync::Arc;
use ttvm_runtime::value::{
    tag::{OBJECT, STR},
    List, Object, Str,
};

impl<E: FrameEnv> Lower<'_, '_, '_, E> {
    /// LEN: a list's length, or an ASCII string's (its bytes are its
    /// characters: `Str::layout`), inline; anything else through the
    /// helper.
    pub(super) fn len(&mut self, dpc: u32) {
        let [x] = self.operands_n::<1>(dpc);
        let layout = List::layout();
        let sl = Str::layout();
        let join = self.b.create_block();
        self.b.append_block_param(join, I64);
        let fast = self.b.create_block();
        let not_list = self.b.create_block();
        let string = self.b.create_block();
        let ascii = self.b.create_block();
        let slow = self.b.create_block();
        self.b.set_cold_block(slow);
        let is_list = self.tag_is(x, LIST);
        self.b.ins().brif(is_list, fast, &[], not_list, &[]);
        self.b.switch_to_block(fast);
        let n = self.b.ins().load(I64, self.mf, x.pay, layout.len);
        self.b.ins().jump(join, &[BlockArg::Value(n)]);
        self.b.switch_to_block(not_list);
        let is_str = self.tag_is(x, STR);
        self.b.ins().brif(is_str, string, &[], slow, &[]);
        self.b.switch_to_block(string);
        let flag = self.b.ins().load(I8, self.mf, x.pay, sl.ascii);
        self.b.ins().brif(flag, ascii, &[], slow, &[]);
        self.b.switch_to_block(ascii);
        let n = self.b.ins().load(I64, self.mf, x.pay, sl.len);
        self.b.ins().jump(join, &[BlockArg::Value(n)]);
        self.b.switch_to_block(slow);
        let (_, pay) = self.data_helper(Opcode::Len, &[x], dpc);
        self.b.ins().jump(join, &[BlockArg::Value(pay)]);
        self.b.switch_to_block(join);
        let n = self.b.block_params(join)[0];
        self.drop_item(x);
        self.push_int(n);
    }

    /// INDEX: a list's element at an Int in bounds inline (cloned),
    /// anything else through the helper.
    pub(super) fn index(&mut self, dpc: u32) {
        let [x, i] = self.operands_n::<2>(dpc);
        let layout = List::layout();
        let join = self.b.create_block();
        self.b.append_block_param(join, I8);
        self.b.append_block_param(join, I64);
        let checked = self.b.create_block();
        let fast = self.b.create_block();
        let slow = self.b.create_block();
        self.b.set_cold_block(slow);
        let is_list = self.tag_is(x, LIST);
        let is_int = self.tag_is(i, INT);
        let both = self.b.ins().band(is_list, is_int);
        self.b.ins().brif(both, checked, &[], slow, &[]);
        self.b.switch_to_block(checked);
        let n = self.b.ins().load(I64, self.mf, x.pay, layout.len);
        // Unsigned: a negative index is out of bounds too.
        let inside = self.b.ins().icmp(IntCC::UnsignedLessThan, i.pay, n);
        self.b.ins().brif(inside, fast, &[], slow, &[]);
        self.b.switch_to_block(fast);
        // The elements are inline in the list's block.
        let elems = self.b.ins().iadd_imm(x.pay, layout.elems as i64);
        let off = self.b.ins().imul_imm(i.pay, VALUE_BYTES);
        let at = self.b.ins().iadd(elems, off);
        let tag = self.b.ins().load(I8, self.mf, at, 0);
        let pay = self.b.ins().load(I64, self.mf, at, 8);
        let elem = Item {
            tag,
            pay,
            known: None,
            slot: None,
        };
        self.clone_item(elem);
        self.b
            .ins()
            .jump(join, &[BlockArg::Value(tag), BlockArg::Value(pay)]);
        self.b.switch_to_block(slow);
        let (tag, pay) = self.data_helper(Opcode::Index, &[x, i], dpc);
        self.b
            .ins()
            .jump(join, &[BlockArg::Value(tag), BlockArg::Value(pay)]);
        self.b.switch_to_block(join);
        let tag = self.b.block_params(join)[0];
        let pay = self.b.block_params(join)[1];
        self.drop_item(x);
        self.drop_item(i);
        self.stack.push(Item {
            tag,
            pay,
            known: None,
            slot: None,
        });
    }

    /// GET_FIELD and HAS_FIELD: with a constant name, the cached read
    /// (module comment); with the name on the stack, the generic helper.
    pub(super) fn read_field(&mut self, at: u32, dpc: u32, instr: &Instr) {
        let (name, get) = match instr {
            Instr::GetField(OptField(Some(n))) => (n, true),
            Instr::HasField(OptField(Some(n))) => (n, false),
            _ => return E::helper(self, at, dpc, instr, Helper::Generic),
        };
        let Some(cell) = self.input.field_cell(at) else {
            return E::helper(self, at, dpc, instr, Helper::Generic);
        };
        let [x] = self.operands_n::<1>(dpc);
        let lay = Object::layout();
        // The name's text as an entry's key holds it (two words).
        let text = name.text();
        // SAFETY: an `Arc<str>` is two words; they are only compared.
        let key: [i64; 2] = unsafe { std::mem::transmute_copy(&text) };
        drop::<Arc<str>>(text);
        let join = self.b.create_block();
        self.b.append_block_param(join, I8);
        self.b.append_block_param(join, I64);
        let slow = self.b.create_block();
        self.b.set_cold_block(slow);
        let in_bounds = self.b.create_block();
        let same_key = self.b.create_block();
        let live = self.b.create_block();
        let fast = self.b.create_block();
        let is_obj = self.tag_is(x, OBJECT);
        self.b.ins().brif(is_obj, in_bounds, &[], slow, &[]);
        self.b.switch_to_block(in_bounds);
        let n = self.b.ins().load(I64, self.mf, x.pay, lay.len);
        let cell_at = self.b.ins().iconst(I64, cell as i64);
        let pos = self.b.ins().load(I64, self.mf, cell_at, 0);
        let inside = self.b.ins().icmp(IntCC::UnsignedLessThan, pos, n);
        self.b.ins().brif(inside, same_key, &[], slow, &[]);
        self.b.switch_to_block(same_key);
        let entries = self.b.ins().load(I64, self.mf, x.pay, lay.entries);
        let off = self.b.ins().imul_imm(pos, lay.entry_size as i64);
        let e = self.b.ins().iadd(entries, off);
        let k0 = self.b.ins().load(I64, self.mf, e, lay.key);
        let k1 = self.b.ins().load(I64, self.mf, e, lay.key + 8);
        let m0 = self.b.ins().icmp_imm(IntCC::Equal, k0, key[0]);
        let m1 = self.b.ins().icmp_imm(IntCC::Equal, k1, key[1]);
        let m = self.b.ins().band(m0, m1);
        self.b.ins().brif(m, live, &[], slow, &[]);
        self.b.switch_to_block(live);
        let vt = self.b.ins().load(I8, self.mf, e, lay.value);
        let hole = self
            .b
            .ins()
            .icmp_imm(IntCC::Equal, vt, self.input.none_tag as i64);
        self.b.ins().brif(hole, slow, &[], fast, &[]);
        self.b.switch_to_block(fast);
        if get {
            let vp = self.b.ins().load(I64, self.mf, e, lay.value + 8);
            let v = Item {
                tag: vt,
                pay: vp,
                known: None,
                slot: None,
            };
            self.clone_item(v);
            self.b
                .ins()
                .jump(join, &[BlockArg::Value(vt), BlockArg::Value(vp)]);
        } else {
            let t = self.b.ins().iconst(I8, INT as i64);
            let one = self.b.ins().iconst(I64, 1);
            self.b
                .ins()
                .jump(join, &[BlockArg::Value(t), BlockArg::Value(one)]);
        }
        self.b.switch_to_block(slow);
        let (t, p) = self.field_helper(instr.opcode(), x, name, cell, dpc);
        self.b
            .ins()
            .jump(join, &[BlockArg::Value(t), BlockArg::Value(p)]);
        self.b.switch_to_block(join);
        let tag = self.b.block_params(join)[0];
        let pay = self.b.block_params(join)[1];
        self.drop_item(x);
        if get {
            self.stack.push(Item {
                tag,
                pay,
                known: None,
                slot: None,
            });
        } else {
            self.push_int(pay);
        }
    }

    /// SET_FIELD of a constant name in a direct entry (issue 15): the
    /// guarded store. When `obj` is an object held once (strong count 1:
    /// no `Weak` of an object exists, so it is unique, as `Arc::get_mut`
    /// would find), the site's cached position (`cell`) is within its
    /// entries, that entry's key is the name's own text and its value is
    /// live and not a heap value (nothing to drop), `v` is stored over it
    /// and control goes to `join` with the object (the same reference, now
    /// the result's); anything else goes to `slow` (the `value` helper,
    /// which copies a shared object, adds a new field and teaches the
    /// cell). Only where the runtime found the strong count
    /// (`strong_count_offset`).
    pub(super) fn write_field_fast(
        &mut self,
        obj: Item,
        v: Item,
        name: &ttvm_runtime::Atom,
        cell: usize,
        join: ir::Block,
        slow: ir::Block,
    ) {
        let count_at = ttvm_runtime::value::strong_count_offset().expect("checked by the caller");
        let lay = Object::layout();
        let text = name.text();
        // SAFETY: an `Arc<str>` is two words; they are only compared.
        let key: [i64; 2] = unsafe { std::mem::transmute_copy(&text) };
        drop::<Arc<str>>(text);
        let unique = self.b.create_block();
        let in_bounds = self.b.create_block();
        let same_key = self.b.create_block();
        let store = self.b.create_block();
        let is_obj = self.tag_is(obj, OBJECT);
        self.b.ins().brif(is_obj, unique, &[], slow, &[]);
        self.b.switch_to_block(unique);
        let count = self.b.ins().load(I64, self.mf, obj.pay, count_at);
        let once = self.b.ins().icmp_imm(IntCC::Equal, count, 1);
        self.b.ins().brif(once, in_bounds, &[], slow, &[]);
        self.b.switch_to_block(in_bounds);
        let n = self.b.ins().load(I64, self.mf, obj.pay, lay.len);
        let cell_at = self.b.ins().iconst(I64, cell as i64);
        let pos = self.b.ins().load(I64, self.mf, cell_at, 0);
        let inside = self.b.ins().icmp(IntCC::UnsignedLessThan, pos, n);
        self.b.ins().brif(inside, same_key, &[], slow, &[]);
        self.b.switch_to_block(same_key);
        let entries = self.b.ins().load(I64, self.mf, obj.pay, lay.entries);
        let off = self.b.ins().imul_imm(pos, lay.entry_size as i64);
        let e = self.b.ins().iadd(entries, off);
        let k0 = self.b.ins().load(I64, self.mf, e, lay.key);
        let k1 = self.b.ins().load(I64, self.mf, e, lay.key + 8);
        let m0 = self.b.ins().icmp_imm(IntCC::Equal, k0, key[0]);
        let m1 = self.b.ins().icmp_imm(IntCC::Equal, k1, key[1]);
        let m = self.b.ins().band(m0, m1);
        // The old value: live (not the hole's tag) and not on the heap.
        let vt = self.b.ins().load(I8, self.mf, e, lay.value);
        let hole = self
            .b
            .ins()
            .icmp_imm(IntCC::Equal, vt, self.input.none_tag as i64);
        let heap = self.heap_test(vt);
        let bad = self.b.ins().bor(hole, heap);
        let good = self.b.ins().bxor_imm(bad, 1);
        let ok = self.b.ins().band(m, good);
        self.b.ins().brif(ok, store, &[], slow, &[]);
        self.b.switch_to_block(store);
        let t = self.tag_of(v);
        self.b.ins().store(self.mf, t, e, lay.value);
        self.b.ins().store(self.mf, v.pay, e, lay.value + 8);
        let ot = self.b.ins().iconst(I8, OBJECT as i64);
        self.b
            .ins()
            .jump(join, &[BlockArg::Value(ot), BlockArg::Value(obj.pay)]);
    }

    /// Call the `field` helper: the result (a new reference), or leave at
    /// `dpc` with the operand back on the stack when it raises.
    fn field_helper(
        &mut self,
        op: Opcode,
        x: Item,
        name: &ttvm_runtime::Atom,
        cell: usize,
        dpc: u32,
    ) -> (ir::Value, ir::Value) {
        let slot = self.out_slot();
        let out = self.b.ins().stack_addr(I64, slot, 0);
        let opn = self.b.ins().iconst(I32, op as i64);
        let t = self.tag_of(x);
        let t = self.b.ins().uextend(I64, t);
        let name = self
            .b
            .ins()
            .iconst(I64, name as *const ttvm_runtime::Atom as i64);
        let cell = self.b.ins().iconst(I64, cell as i64);
        let call = self
            .b
            .ins()
            .call(self.im.field, &[opn, t, x.pay, name, cell, out]);
        let ok = self.b.inst_results(call)[0];
        self.guard(ok, dpc, &[x]);
        let tag = self.b.ins().stack_load(I8, slot, 0);
        let pay = self.b.ins().stack_load(I64, slot, 8);
        (tag, pay)
    }

    /// A 16-byte stack slot for a helper's result.
    fn out_slot(&mut self) -> ir::StackSlot {
        self.b.create_sized_stack_slot(StackSlotData::new(
            StackSlotKind::ExplicitSlot,
            VALUE_BYTES as u32,
            3,
        ))
    }

    /// Call the `data` helper for `op` on `operands` (borrowed): its
    /// result (a new reference), or, when the instruction raises, leave
    /// at `dpc` with the operands back on the stack.
    fn data_helper(&mut self, op: Opcode, operands: &[Item], dpc: u32) -> (ir::Value, ir::Value) {
        let slot = self.out_slot();
        let out = self.b.ins().stack_addr(I64, slot, 0);
        let opn = self.b.ins().iconst(I32, op as i64);
        let mut args = vec![opn];
        for k in 0..2 {
            match operands.get(k) {
                Some(&it) => {
                    let t = self.tag_of(it);
                    args.push(self.b.ins().uextend(I64, t));
                    args.push(it.pay);
                }
                None => {
                    let z = self.b.ins().iconst(I64, 0);
                    args.push(z);
                    args.push(z);
                }
            }
        }
        args.push(out);
        let call = self.b.ins().call(self.im.data, &args);
        let ok = self.b.inst_results(call)[0];
        self.guard(ok, dpc, operands);
        let tag = self.b.ins().stack_load(I8, slot, 0);
        let pay = self.b.ins().stack_load(I64, slot, 8);
        (tag, pay)
    }
}
