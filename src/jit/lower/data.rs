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
//! An INDEX site whose elements were all of one kind when its unit got
//! hot (`jit::elems`) is a guarded load of that kind (`Lower::index_with`).
//!
//! Where a list's length and elements are is given by the runtime
//! (`List::layout`): the payload of a `Value::List` points at the list's
//! one block, which holds the count, the length, the capacity and then
//! the elements.

use super::{FrameEnv, Item, Lower, INT, LIST, VALUE_BYTES};
use crate::bytecode::{Instr, Opcode, OptField};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{I32, I64, I8};
use cranelift_codegen::ir::{self, BlockArg, InstBuilder, StackSlotData, StackSlotKind};
use ttvm_runtime::value::{
    tag::{OBJECT, STR},
    List, Str,
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

    /// INDEX: a list's element at an Int in bounds inline (cloned, or
    /// taken out of a list that only this code holds when nothing can read
    /// the place again: `takes`), anything else through the helper.
    pub(super) fn index(&mut self, pc: u32, dpc: u32) {
        let [x, i] = self.operands_n::<2>(dpc);
        // How many references the list has when only this code holds it,
        // so that the element may be taken out (moved, Null in its
        // place) instead of cloned (`takes`; counted environments only):
        // - the operands are variables' values loaded in this block and
        //   the place is written back before anything reads the list: 2
        //   (the variable's and the operand's; 1 when the LOAD pushed it
        //   borrowed, `calls::load_borrowed`: the variable's is then the
        //   operand's too);
        // - `LOAD l; PUSH_INT k; INDEX` where `l` is never read at `k`
        //   again before it dies (`takes::may_take_place`): the same;
        // - the operand is the list a LOAD right before moved out of its
        //   variable (its last use): 1 — the list dies when the operand is
        //   dropped right after, with the hole. (Not any owned operand: a
        //   list read out of another, `m[i][j]`, is all but always shared,
        //   and the test would cost every such read.)
        let counted = E::MOVES && ttvm_runtime::value::strong_count_offset().is_some();
        let only = if self.is_borrowed(x) { 1 } else { 2 };
        let prog = self.input.program;
        let at = pc as usize;
        // The list operand as `LOAD l` right before the index's push (a
        // constant or a variable), in the same block: `(l, whether the
        // LOAD moved, the constant)`.
        let loaded = match prog.code.get(at.wrapping_sub(2)..=at) {
            Some(
                [Instr::Load(v), push @ (Instr::PushInt(_) | Instr::Load(_)), Instr::Index(_)],
            ) if !prog.block_start[at] && !prog.block_start[at - 1] => {
                let k = match push {
                    Instr::PushInt(k) => Some(*k),
                    _ => None,
                };
                Some((v.slot, prog.moves_at(at as u32 - 2), k))
            }
            _ => None,
        };
        let take = if !counted {
            None
        } else if match (x.slot, i.slot) {
            (Some(l), Some(j)) => super::takes::may_take(prog, at, l, j),
            _ => false,
        } {
            Some(only)
        } else {
            match loaded {
                Some((l, false, Some(k)))
                    if x.slot == Some(l) && super::takes::may_take_place(prog, at, l, k) =>
                {
                    Some(only)
                }
                // The LOAD moved the list out of its variable: the operand
                // holds the variable's reference, nothing else may.
                Some((_, true, _)) if x.slot.is_none() && !self.is_borrowed(x) => Some(1),
                _ => None,
            }
        };
        // The one kind of element the site was found to give when its unit
        // got hot (`jit::elems`, `jit::kinds`; not in inline returns,
        // whose code is their callers').
        let guard = if E::GUARDED_FIELD_STORE {
            self.input.field_guard(pc).zip(self.input.field_cell(pc))
        } else {
            None
        };
        self.index_with(x, i, dpc, take, guard)
    }

    /// INDEX of `x` at `i` (popped), the element taken when the list's
    /// count is `take` (see [`Lower::index`]).
    ///
    /// With a `guard` (a tag and the site's cell: the elements the site
    /// would read were all of that kind, `jit::elems`), the element's tag is
    /// compared with it once, on the inline path and after the helper,
    /// and the element is known to be of that kind from then on (a Float
    /// is a number the arithmetic tests nothing of, an Object one the
    /// field reads do not test); an element of another kind leaves at the
    /// INDEX, the failure counted in the cell (as a field read's guard,
    /// `Lower::read_field`).
    fn index_with(
        &mut self,
        x: Item,
        i: Item,
        dpc: u32,
        take: Option<i64>,
        guard: Option<(u8, usize)>,
    ) {
        let layout = List::layout();
        let join = self.b.create_block();
        self.b.append_block_param(join, I8);
        self.b.append_block_param(join, I64);
        let checked = self.b.create_block();
        let fast = self.b.create_block();
        let slow = self.b.create_block();
        self.b.set_cold_block(slow);
        // Where an element of another kind goes (a guarded load).
        let miss = guard.map(|_| {
            let m = self.b.create_block();
            self.b.set_cold_block(m);
            m
        });
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
        if let (Some((k, _)), Some(miss)) = (guard, miss) {
            let ok = self.b.ins().icmp_imm(IntCC::Equal, tag, k as i64);
            let good = self.b.create_block();
            self.b.ins().brif(ok, good, &[], miss, &[]);
            self.b.switch_to_block(good);
        }
        let pay = self.b.ins().load(I64, self.mf, at, 8);
        let elem = Item {
            tag,
            pay,
            known: guard.map(|(k, _)| k),
            slot: None,
        };
        if let Some(only) = take {
            let taken = self.b.create_block();
            let shared = self.b.create_block();
            let count = self.b.ins().load(I64, self.mf, x.pay, layout.count);
            let two = self.b.ins().icmp_imm(IntCC::Equal, count, only);
            self.b.ins().brif(two, taken, &[], shared, &[]);
            self.b.switch_to_block(taken);
            let null = self
                .b
                .ins()
                .iconst(I8, ttvm_runtime::value::tag::NULL as i64);
            let zero = self.b.ins().iconst(I64, 0);
            self.b.ins().store(self.mf, null, at, 0);
            self.b.ins().store(self.mf, zero, at, 8);
            self.b
                .ins()
                .jump(join, &[BlockArg::Value(tag), BlockArg::Value(pay)]);
            self.b.switch_to_block(shared);
        }
        self.clone_item(elem);
        self.b
            .ins()
            .jump(join, &[BlockArg::Value(tag), BlockArg::Value(pay)]);
        self.b.switch_to_block(slow);
        // A string's character inline, else the `data` helper (`strings`).
        let (tag, pay) = self.index_other(x, i, dpc);
        match (guard, miss) {
            (Some((k, cell)), Some(miss)) => {
                // The helper's answer of another kind: dropped, and the
                // interpreter runs the INDEX again.
                let ok = self.b.ins().icmp_imm(IntCC::Equal, tag, k as i64);
                let other = self.b.create_block();
                self.b.set_cold_block(other);
                self.b.ins().brif(
                    ok,
                    join,
                    &[BlockArg::Value(tag), BlockArg::Value(pay)],
                    other,
                    &[],
                );
                self.b.switch_to_block(other);
                self.drop_item(Item {
                    tag,
                    pay,
                    known: None,
                    slot: None,
                });
                self.b.ins().jump(miss, &[]);
                self.b.switch_to_block(miss);
                self.count_miss(cell);
                let saved = self.stack.clone();
                self.unpop(&[x, i]);
                self.exit_continue(dpc);
                self.stack = saved;
            }
            _ => {
                self.b
                    .ins()
                    .jump(join, &[BlockArg::Value(tag), BlockArg::Value(pay)]);
            }
        }
        self.b.switch_to_block(join);
        let tag = self.b.block_params(join)[0];
        let pay = self.b.block_params(join)[1];
        self.drop_item(x);
        self.drop_item(i);
        match guard {
            Some((k, _)) => {
                let it = self.item(k, pay);
                self.stack.push(it);
            }
            None => self.stack.push(Item {
                tag,
                pay,
                known: None,
                slot: None,
            }),
        }
    }

    /// An instruction of `n` operands (1 or 2) the `data` helper runs on
    /// them borrowed (a field read with the name on the stack, TO_STR,
    /// TO_INT, TO_FLOAT): the result pushed, the operands dropped; when
    /// it raises, compiled code leaves at `dpc` with the operands on the
    /// stack, and the interpreter raises the error.
    pub(super) fn borrowed_op(&mut self, op: Opcode, n: usize, dpc: u32) {
        let operands: Vec<Item> = if n == 2 {
            self.operands_n::<2>(dpc).to_vec()
        } else {
            self.operands_n::<1>(dpc).to_vec()
        };
        let (tag, pay) = self.data_helper(op, &operands, dpc);
        for &it in &operands {
            self.drop_item(it);
        }
        self.stack.push(Item {
            tag,
            pay,
            known: None,
            slot: None,
        });
    }

    /// A 16-byte stack slot for a helper's result.
    pub(super) fn out_slot(&mut self) -> ir::StackSlot {
        self.b.create_sized_stack_slot(StackSlotData::new(
            StackSlotKind::ExplicitSlot,
            VALUE_BYTES as u32,
            3,
        ))
    }

    /// Call the `data` helper for `op` on `operands` (borrowed): its
    /// result (a new reference), or, when the instruction raises, leave
    /// at `dpc` with the operands back on the stack.
    pub(super) fn data_helper(
        &mut self,
        op: Opcode,
        operands: &[Item],
        dpc: u32,
    ) -> (ir::Value, ir::Value) {
        self.data_helper_with(op as u32, operands, dpc)
    }

    /// [`Lower::data_helper`] with the opcode argument as given (it may
    /// carry `jit::DATA_OWNED`).
    pub(super) fn data_helper_with(
        &mut self,
        op: u32,
        operands: &[Item],
        dpc: u32,
    ) -> (ir::Value, ir::Value) {
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

/// What the `value` helper is given for an instruction it runs: how many
/// operands, the constant name (`aux`) and the result's tag.
#[derive(Clone, Copy, Debug)]
pub(super) struct ValueShape {
    n: usize,
    aux: i64,
    known: u8,
}

/// The shape of an instruction `value_op` lowers (the ones
/// `jit::direct::value_helper` names), else `None`.
pub(super) fn value_shape(instr: &Instr) -> Option<ValueShape> {
    let (n, aux, known) = match instr {
        Instr::MakeList(c) => (c.0 as usize, 0, LIST),
        Instr::MakeObject(_) => (0, 0, OBJECT),
        Instr::Append(_) | Instr::Extend(_) => (2, 0, LIST),
        Instr::Concat(_) => (2, 0, STR),
        Instr::SetIndex(_) => (3, 0, LIST),
        Instr::SetField(OptField(Some(a))) => (2, a as *const ttvm_runtime::Atom as i64, OBJECT),
        // The key on the stack (`obj v key`): `aux` 0.
        Instr::SetField(OptField(None)) => (3, 0, OBJECT),
        // DELETE_FIELD of a name (`aux`) or of the key on the stack.
        Instr::DeleteField(OptField(Some(a))) => (1, a as *const ttvm_runtime::Atom as i64, OBJECT),
        Instr::DeleteField(OptField(None)) => (2, 0, OBJECT),
        _ => return None,
    };
    Some(ValueShape { n, aux, known })
}

/// MAKE_LIST of at most this many elements allocates its block
/// (`Lower::list_block`) and writes its elements inline; a longer one
/// calls the `value` helper.
pub(super) const MAX_INLINE_LIST: usize = 16;

impl<E: FrameEnv> Lower<'_, '_, '_, E> {
    /// MAKE_LIST, MAKE_OBJECT, APPEND, SET_INDEX, CONCAT, EXTEND and
    /// SET_FIELD of a constant name (`jit::direct::value_helper`), on
    /// operands the code owns, in every environment:
    ///
    /// - MAKE_LIST of a few values: the block is allocated (the
    ///   allocator's small-block entry called directly, or the `list_new`
    ///   helper: `Lower::list_block`), and the elements are written
    ///   inline, moved from the operand stack;
    /// - APPEND to a list held only here (its count 1) with room: the
    ///   element written inline and the length raised;
    /// - SET_INDEX into a list held once (or also by the variable the
    ///   next STORE overwrites) at an Int within its length: the value
    ///   stored over the element, the old one dropped (`lists.rs`);
    /// - the rest: the `value` helper on the owned operands (in place when
    ///   unshared). `cell`: the address of the variable slot the STORE
    ///   right after writes (ordinary code), emptied by the helper when it
    ///   holds the same value, so the value changes in place
    ///   (`exec::semantics::release_for_store`). When the helper answers
    ///   that it does not take the case (the instruction raises, or
    ///   `CONCAT` of a list), the environment runs the instruction
    ///   ([`FrameEnv::interpret`]: the generic helper in ordinary code, a
    ///   way out of a direct entry).
    pub(super) fn value_op(
        &mut self,
        at: u32,
        instr: &Instr,
        dpc: u32,
        shape: ValueShape,
        cell: Option<ir::Value>,
    ) {
        const L: u8 = LIST;
        let ValueShape { n, aux, known } = shape;
        if matches!(instr, Instr::MakeList(_)) && n <= MAX_INLINE_LIST {
            let operands = self.operands(n, dpc);
            let block = self.list_block(n);
            let elems = List::layout().elems;
            for (k, &it) in operands.iter().enumerate() {
                let o = elems + (k as i64 * VALUE_BYTES) as i32;
                let tag = self.tag_of(it);
                self.b.ins().store(self.mf, tag, block, o);
                self.b.ins().store(self.mf, it.pay, block, o + 8);
            }
            let it = self.item(L, block);
            self.stack.push(it);
            return;
        }
        // Both ways (the helper, or the environment's run of the
        // instruction) must meet with the same virtual stack below.
        if E::FLUSH_FOR_INTERPRET {
            self.flush_below(n);
        }
        let operands = self.operands(n, dpc);
        let join = self.b.create_block();
        self.b.append_block_param(join, I64);
        let slow = self.b.create_block();
        self.b.set_cold_block(slow);
        let call_helper = self.b.create_block();
        // SET_FIELD name (direct entries and ordinary code): the site's
        // cell, for the guarded store and for the helper to teach.
        let field = match instr {
            Instr::SetField(OptField(Some(a))) if E::GUARDED_FIELD_STORE => {
                self.input.field_cell(at).map(|c| (a, c))
            }
            _ => None,
        };
        match field {
            Some((a, c)) if ttvm_runtime::value::strong_count_offset().is_some() => {
                // `LOAD o; …; SET_FIELD name; STORE o`: the variable's
                // reference dies at the STORE, which writes the same
                // object back, so an object held by `o` and this operand
                // only is as good as unshared (the interpreter drops `o`'s
                // reference first: `exec::semantics::release_for_store`).
                let o = operands[0];
                let refs = match (
                    o.slot,
                    crate::exec::semantics::store_after(self.input.program, at),
                ) {
                    (Some(s), Some(x)) if s == x && !self.is_borrowed(o) => 2,
                    _ => 1,
                };
                let scan = self.input.field_scan(at);
                self.write_field_fast([o, operands[1]], a, c, scan, refs, [join, call_helper]);
            }
            _ if matches!(instr, Instr::Append(_)) => {
                self.append_inline(operands[0], operands[1], join, call_helper);
            }
            // SET_INDEX in the environments that count (not inline
            // returns): the guarded store into a list held once, with the
            // same reckoning of the variable the next STORE overwrites as
            // SET_FIELD's.
            _ if matches!(instr, Instr::SetIndex(_))
                && E::GUARDED_FIELD_STORE
                && ttvm_runtime::value::strong_count_offset().is_some() =>
            {
                let l = operands[0];
                let refs = match (
                    l.slot,
                    crate::exec::semantics::store_after(self.input.program, at),
                ) {
                    (Some(s), Some(x)) if s == x => 2,
                    _ => 1,
                };
                if self.is_borrowed(l) {
                    self.b.ins().jump(call_helper, &[]);
                } else {
                    self.set_index_inline([l, operands[1], operands[2]], refs, join, call_helper);
                }
            }
            _ => {
                self.b.ins().jump(call_helper, &[]);
            }
        }
        self.b.switch_to_block(call_helper);
        let slots = n.max(1) + field.is_some() as usize;
        let items = self.b.create_sized_stack_slot(StackSlotData::new(
            StackSlotKind::ExplicitSlot,
            (slots as i64 * VALUE_BYTES) as u32,
            3,
        ));
        let out = self.b.create_sized_stack_slot(StackSlotData::new(
            StackSlotKind::ExplicitSlot,
            VALUE_BYTES as u32,
            3,
        ));
        for (k, &it) in operands.iter().enumerate() {
            let o = (k as i64 * VALUE_BYTES) as i32;
            let tag = self.tag_of(it);
            self.b.ins().stack_store(tag, items, o);
            self.b.ins().stack_store(it.pay, items, o + 8);
        }
        if let Some((_, c)) = field {
            let c = self.b.ins().iconst(I64, c as i64);
            self.b
                .ins()
                .stack_store(c, items, (n as i64 * VALUE_BYTES) as i32);
        }
        let opn = self.b.ins().iconst(I32, instr.opcode() as i64);
        let nn = self
            .b
            .ins()
            .iconst(I32, (n + field.is_some() as usize) as i64);
        let ip = self.b.ins().stack_addr(I64, items, 0);
        let aux = self.b.ins().iconst(I64, aux);
        let op = self.b.ins().stack_addr(I64, out, 0);
        let cell = cell.unwrap_or_else(|| self.b.ins().iconst(I64, 0));
        let call = self
            .b
            .ins()
            .call(self.im.value, &[opn, nn, ip, aux, op, cell]);
        let ok = self.b.inst_results(call)[0];
        let took = self.b.create_block();
        self.b.ins().brif(ok, took, &[], slow, &[]);
        self.b.switch_to_block(took);
        let pay = self.b.ins().stack_load(I64, out, 8);
        self.b.ins().jump(join, &[BlockArg::Value(pay)]);
        self.b.switch_to_block(slow);
        let saved = self.stack.clone();
        if let Some(pay) = E::interpret(self, at, dpc, &operands) {
            self.b.ins().jump(join, &[BlockArg::Value(pay)]);
        }
        self.stack = saved;
        self.b.switch_to_block(join);
        let pay = self.b.block_params(join)[0];
        let it = self.item(known, pay);
        self.stack.push(it);
    }
}
