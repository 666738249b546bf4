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
//!
//! (Split from data.rs, which keeps lists and strings.)

use super::env::Helper;
use super::{FrameEnv, Item, Lower, INT};
use crate::bytecode::{Instr, JitClass, Opcode, OptField};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{I32, I64, I8};
use cranelift_codegen::ir::{self, BlockArg, InstBuilder};
use std::sync::Arc;
use ttvm_runtime::value::{tag::OBJECT, Object};

impl<E: FrameEnv> Lower<'_, '_, '_, E> {
    /// The address of entry `pos` of `obj` and whether its key is the
    /// name whose text is `key` (compared by address: [`KeyWord`]).
    fn entry_at(&mut self, obj: ir::Value, pos: ir::Value, key: KeyWord) -> (ir::Value, ir::Value) {
        let lay = Object::layout();
        let entries = self.b.ins().load(I64, self.mf, obj, lay.entries);
        let off = self.b.ins().imul_imm(pos, lay.entry_size as i64);
        let e = self.b.ins().iadd(entries, off);
        let k = self.b.ins().load(I64, self.mf, e, lay.key + key.off);
        (e, self.b.ins().icmp_imm(IntCC::Equal, k, key.ptr))
    }

    /// The entry of the field `key` ([`key_word`]) in the object `obj`,
    /// from the current block: the position the site's cell names when it
    /// is within the object's entries and the entry's key is the name's
    /// text. Else, at a site that has met objects of several layouts
    /// (`scan`: shapes, AST nodes, records built in other orders;
    /// `jit::kinds::SCAN`), the entries of an object of at most
    /// [`SCAN_MAX`] are scanned for the key by address and the position
    /// found is the cell's new hint; not found, a longer object, or a site
    /// without `scan`: `slow`. Returns the entry's address, in the block
    /// where control continues (the value may be a hole), and without
    /// `scan` whether the key matched there (the caller branches on it,
    /// or on it and its own tests at once); with `scan` it did.
    fn site_entry(
        &mut self,
        obj: ir::Value,
        cell: usize,
        key: KeyWord,
        scan: bool,
        slow: ir::Block,
    ) -> (ir::Value, Option<ir::Value>) {
        let lay = Object::layout();
        let cached = self.b.create_block();
        let n = self.b.ins().load(I64, self.mf, obj, lay.len);
        let cell_at = self.b.ins().iconst(I64, cell as i64);
        let pos = self.b.ins().load(I64, self.mf, cell_at, 0);
        let inside = self.b.ins().icmp(IntCC::UnsignedLessThan, pos, n);
        if !scan {
            self.b.ins().brif(inside, cached, &[], slow, &[]);
            self.b.switch_to_block(cached);
            let (e, m) = self.entry_at(obj, pos, key);
            return (e, Some(m));
        }
        let scan = self.b.create_block();
        let scan_start = self.b.create_block();
        let head = self.b.create_block();
        self.b.append_block_param(head, I64);
        let body = self.b.create_block();
        let next = self.b.create_block();
        let learn = self.b.create_block();
        for blk in [scan, scan_start, head, body, next, learn] {
            self.b.set_cold_block(blk);
        }
        let found = self.b.create_block();
        self.b.append_block_param(found, I64);
        self.b.ins().brif(inside, cached, &[], scan, &[]);
        self.b.switch_to_block(cached);
        let (e, m) = self.entry_at(obj, pos, key);
        self.b
            .ins()
            .brif(m, found, &[BlockArg::Value(e)], scan, &[]);
        // The scan: the cached position missed.
        self.b.switch_to_block(scan);
        let short = self
            .b
            .ins()
            .icmp_imm(IntCC::UnsignedLessThanOrEqual, n, SCAN_MAX);
        self.b.ins().brif(short, scan_start, &[], slow, &[]);
        self.b.switch_to_block(scan_start);
        let entries = self.b.ins().load(I64, self.mf, obj, lay.entries);
        let zero = self.b.ins().iconst(I64, 0);
        self.b.ins().jump(head, &[BlockArg::Value(zero)]);
        self.b.switch_to_block(head);
        let i = self.b.block_params(head)[0];
        let more = self.b.ins().icmp(IntCC::UnsignedLessThan, i, n);
        self.b.ins().brif(more, body, &[], slow, &[]);
        self.b.switch_to_block(body);
        let off = self.b.ins().imul_imm(i, lay.entry_size as i64);
        let e = self.b.ins().iadd(entries, off);
        let k = self.b.ins().load(I64, self.mf, e, lay.key + key.off);
        let m = self.b.ins().icmp_imm(IntCC::Equal, k, key.ptr);
        self.b.ins().brif(m, learn, &[], next, &[]);
        self.b.switch_to_block(next);
        let i1 = self.b.ins().iadd_imm(i, 1);
        self.b.ins().jump(head, &[BlockArg::Value(i1)]);
        self.b.switch_to_block(learn);
        // The next object of this layout hits (a hint: a plain store).
        self.b.ins().store(self.mf, i, cell_at, 0);
        self.b.ins().jump(found, &[BlockArg::Value(e)]);
        self.b.switch_to_block(found);
        (self.b.block_params(found)[0], None)
    }

    /// GET_FIELD and HAS_FIELD: with a constant name, the cached read
    /// (module comment); with the name on the stack, the generic helper.
    ///
    /// A GET_FIELD whose site has only given Floats (or only Ints) so far
    /// (`jit::kinds`; ordinary code and direct entries) is a guarded
    /// load of that kind: the value's tag is compared once, on the inline
    /// path and after the helper, and the value is known to be of that
    /// kind from then on; any other value leaves at the GET_FIELD (the
    /// guard's failures counted in the site's cell).
    pub(super) fn read_field(&mut self, at: u32, dpc: u32, instr: &Instr) {
        let (name, get) = match instr {
            Instr::GetField(OptField(Some(n))) => (n, true),
            Instr::HasField(OptField(Some(n))) => (n, false),
            // The name on the stack: the `data` helper, borrowing both.
            _ if !E::INT_ONLY => return self.borrowed_op(instr.opcode(), 2, dpc),
            _ => return E::helper(self, at, dpc, instr, Helper::Generic),
        };
        let Some(cell) = self.input.field_cell(at) else {
            return E::helper(self, at, dpc, instr, Helper::Generic);
        };
        // (Not in inline returns: their code is in their callers'.)
        let guard = if get && E::GUARDED_FIELD_STORE {
            self.input.field_guard(at)
        } else {
            None
        };
        let [x] = self.operands_n::<1>(dpc);
        // The same field of the object the same variable holds, read
        // before in this block: that value again.
        let remember = match x.slot {
            Some(s) if get && E::GUARDED_FIELD_STORE => {
                if let Some(v) = self.field_value(s, name) {
                    if guard.is_none() || v.known == guard {
                        self.clone_item(v);
                        self.drop_item(x);
                        self.stack.push(Item { slot: None, ..v });
                        return;
                    }
                }
                Some(s)
            }
            _ => None,
        };
        let lay = Object::layout();
        let key = key_word(name);
        let join = self.b.create_block();
        self.b.append_block_param(join, I8);
        self.b.append_block_param(join, I64);
        let slow = self.b.create_block();
        self.b.set_cold_block(slow);
        let in_bounds = self.b.create_block();
        let fast = self.b.create_block();
        // Where a value of another kind goes (a guarded read).
        let miss = guard.map(|_| {
            let m = self.b.create_block();
            self.b.set_cold_block(m);
            m
        });
        let is_obj = self.tag_is(x, OBJECT);
        self.b.ins().brif(is_obj, in_bounds, &[], slow, &[]);
        self.b.switch_to_block(in_bounds);
        let scan = self.input.field_scan(at);
        let (e, m) = self.site_entry(x.pay, cell, key, scan, slow);
        if let Some(m) = m {
            let same = self.b.create_block();
            self.b.ins().brif(m, same, &[], slow, &[]);
            self.b.switch_to_block(same);
        }
        let vt = self.b.ins().load(I8, self.mf, e, lay.value);
        match (guard, miss) {
            (Some(k), Some(miss)) => {
                // One comparison: a hole's tag is not `k` either (it then
                // goes to the miss and the interpreter reads Null).
                let ok = self.b.ins().icmp_imm(IntCC::Equal, vt, k as i64);
                self.b.ins().brif(ok, fast, &[], miss, &[]);
            }
            _ => {
                let hole = self
                    .b
                    .ins()
                    .icmp_imm(IntCC::Equal, vt, self.input.none_tag as i64);
                self.b.ins().brif(hole, slow, &[], fast, &[]);
            }
        }
        self.b.switch_to_block(fast);
        if get {
            let vp = self.b.ins().load(I64, self.mf, e, lay.value + 8);
            if guard.is_none() {
                let v = Item {
                    tag: vt,
                    pay: vp,
                    known: None,
                    slot: None,
                };
                self.clone_item(v);
            }
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
        let args = [BlockArg::Value(t), BlockArg::Value(p)];
        match (guard, miss) {
            (Some(k), Some(miss)) => {
                // The helper's answer of another kind: dropped, and the
                // interpreter reads the field again.
                let ok = self.b.ins().icmp_imm(IntCC::Equal, t, k as i64);
                let other = self.b.create_block();
                self.b.set_cold_block(other);
                self.b.ins().brif(ok, join, &args, other, &[]);
                self.b.switch_to_block(other);
                self.drop_item(Item {
                    tag: t,
                    pay: p,
                    known: None,
                    slot: None,
                });
                self.b.ins().jump(miss, &[]);
                self.b.switch_to_block(miss);
                self.count_miss(cell);
                let saved = self.stack.clone();
                self.unpop(&[x]);
                self.exit_continue(dpc);
                self.stack = saved;
            }
            _ => {
                self.b.ins().jump(join, &args);
            }
        }
        self.b.switch_to_block(join);
        let tag = self.b.block_params(join)[0];
        let pay = self.b.block_params(join)[1];
        self.drop_item(x);
        match guard {
            Some(k) => {
                let it = self.item(k, pay);
                self.stack.push(it);
            }
            None if get => self.stack.push(Item {
                tag,
                pay,
                known: None,
                slot: None,
            }),
            None => self.push_int(pay),
        }
        if let Some(s) = remember {
            let v = *self.stack.last().expect("the value just pushed");
            self.field_vals.push(FieldValue {
                slot: s,
                key: key.ptr,
                value: v,
            });
        }
    }

    /// The value of field `name` of the object variable `slot` holds,
    /// read earlier in this block, if it still holds it.
    fn field_value(&self, slot: u32, name: &ttvm_runtime::Atom) -> Option<Item> {
        let key = key_word(name).ptr;
        self.field_vals
            .iter()
            .rev()
            .find(|f| f.slot == slot && f.key == key)
            .map(|f| f.value)
    }

    /// Variable `slot` is written (STORE) or emptied (a moving LOAD): the
    /// fields read of the object it held are forgotten.
    pub(super) fn forget_fields_of(&mut self, slot: u32) {
        self.field_vals.retain(|f| f.slot != slot);
    }

    /// Before instruction `at`: an instruction that writes variables
    /// other than by STORE (DELETE, IMPORT, the in-place updates that
    /// store back, the block's end) makes every field read forgotten.
    /// Nothing else changes an object a variable holds: a value is
    /// changed in place only when held once, and a variable holding it is
    /// a second holder, except the variable the STORE right after the
    /// change writes (which forgets it there).
    pub(super) fn forget_field_values(&mut self, at: u32, instr: &Instr) {
        if self.field_vals.is_empty() {
            return;
        }
        let writes = matches!(
            instr.opcode().jit(),
            JitClass::HelperWrites | JitClass::HelperEnds
        ) || super::in_place_update(self.input.program, at).is_some();
        if writes {
            self.field_vals.clear();
        }
    }

    /// A field read's kind guard failed: one more in its cell's count,
    /// and at every `MISS_PERIOD`-th the JIT's flag raised (`jit::kinds`).
    pub(super) fn count_miss(&mut self, cell: usize) {
        use crate::jit::kinds::MISS_PERIOD;
        use crate::jit::FieldCell;
        self.count_miss_at(cell + FieldCell::MISSES as usize, MISS_PERIOD);
    }

    /// Add one to the `u32` count at address `count` (a plain load and
    /// store: a hint) and raise the JIT's flag at every `period`-th (a
    /// power of two): `Jit::field_guards_failed` looks at the sites then.
    pub(super) fn count_miss_at(&mut self, count: usize, period: u32) {
        let at = self.b.ins().iconst(I64, count as i64);
        let n = self.b.ins().load(I32, self.mf, at, 0);
        let n = self.b.ins().iadd_imm(n, 1);
        self.b.ins().store(self.mf, n, at, 0);
        let low = self.b.ins().band_imm(n, (period - 1) as i64);
        let raise = self.b.create_block();
        let go = self.b.create_block();
        self.b.set_cold_block(raise);
        self.b.ins().brif(low, go, &[], raise, &[]);
        self.b.switch_to_block(raise);
        let flag = self.b.ins().iconst(I64, self.input.kinds_pending as i64);
        let one = self.b.ins().iconst(I32, 1);
        self.b.ins().store(self.mf, one, flag, 0);
        self.b.ins().jump(go, &[]);
        self.b.switch_to_block(go);
    }

    /// SET_FIELD of a constant name (issue 15): the guarded store of `v`
    /// into `obj`. When `obj` is an object held once (strong count 1 — no `Weak` of an
    /// object exists, so it is unique, as `Arc::get_mut` would find — or
    /// `refs`, 2, when the other reference is the variable the next STORE
    /// overwrites with the result), the site's cached position (`cell`) is within its
    /// entries, that entry's key is the name's own text and its value is
    /// live and not a heap value (nothing to drop), `v` is stored over it
    /// and control goes to `join` with the object (the same reference, now
    /// the result's); anything else goes to `slow` (the `value` helper,
    /// which copies a shared object, adds a new field and teaches the
    /// cell). Only where the runtime found the strong count
    /// (`strong_count_offset`).
    pub(super) fn write_field_fast(
        &mut self,
        [obj, v]: [Item; 2],
        name: &ttvm_runtime::Atom,
        cell: usize,
        scan: bool,
        refs: i64,
        [join, slow]: [ir::Block; 2],
    ) {
        let count_at = ttvm_runtime::value::strong_count_offset().expect("checked by the caller");
        let lay = Object::layout();
        let key = key_word(name);
        let unique = self.b.create_block();
        let in_bounds = self.b.create_block();
        let store = self.b.create_block();
        let is_obj = self.tag_is(obj, OBJECT);
        self.b.ins().brif(is_obj, unique, &[], slow, &[]);
        self.b.switch_to_block(unique);
        let count = self.b.ins().load(I64, self.mf, obj.pay, count_at);
        let once = self.b.ins().icmp_imm(IntCC::Equal, count, refs);
        self.b.ins().brif(once, in_bounds, &[], slow, &[]);
        self.b.switch_to_block(in_bounds);
        let (e, m) = self.site_entry(obj.pay, cell, key, scan, slow);
        // The old value: live (not the hole's tag) and not on the heap.
        let vt = self.b.ins().load(I8, self.mf, e, lay.value);
        let hole = self
            .b
            .ins()
            .icmp_imm(IntCC::Equal, vt, self.input.none_tag as i64);
        let heap = self.heap_test(vt);
        let bad = self.b.ins().bor(hole, heap);
        match m {
            Some(m) => {
                let good = self.b.ins().bxor_imm(bad, 1);
                let ok = self.b.ins().band(m, good);
                self.b.ins().brif(ok, store, &[], slow, &[]);
            }
            None => {
                self.b.ins().brif(bad, slow, &[], store, &[]);
            }
        }
        self.b.switch_to_block(store);
        let t = self.tag_of(v);
        self.b.ins().store(self.mf, t, e, lay.value);
        self.b.ins().store(self.mf, v.pay, e, lay.value + 8);
        self.b.ins().jump(join, &[BlockArg::Value(obj.pay)]);
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
}

/// A field read in the current block (`Lower::field_vals`): the value
/// of the field whose key's address is `key` of the object variable
/// `slot` holds (as long as it holds it: the value's reference is the
/// object's, cloned for each reader).
#[derive(Clone, Copy, Debug)]
pub(super) struct FieldValue {
    slot: u32,
    key: i64,
    value: Item,
}

/// The most entries of an object whose entries compiled code scans for a
/// field when its site's cached position misses ([`Lower::site_entry`]):
/// a small object has at most `SMALL` fields and a few holes.
const SCAN_MAX: i64 = 16;

/// Which word of an object entry's key (an `Arc<str>`: the address of
/// its allocation and the text's length, in an order Rust does not fix)
/// holds the address, and the address of a field name's text's: an
/// entry whose key has that address holds the name's own text (the atom
/// keeps it alive, so no other allocation is there), and with it the same
/// length. One load and compare, not two.
#[derive(Clone, Copy, Debug)]
struct KeyWord {
    off: i32,
    ptr: i64,
}

/// The name's [`KeyWord`].
fn key_word(name: &ttvm_runtime::Atom) -> KeyWord {
    let text = name.text();
    let data = text.as_ptr() as i64;
    // SAFETY: an `Arc<str>` is two words; they are only compared.
    let words: [i64; 2] = unsafe { std::mem::transmute_copy(&text) };
    drop::<Arc<str>>(text);
    // The address word points at the allocation, just before the text
    // (the counts); the length is no address.
    let near = |w: i64| (data.wrapping_sub(w) as u64) <= 64;
    let off = if near(words[0]) { 0 } else { 8 };
    debug_assert!(
        near(words[off as usize / 8]),
        "an Arc<str> holds its address"
    );
    KeyWord {
        off,
        ptr: words[off as usize / 8],
    }
}
