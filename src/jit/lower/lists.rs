//! Lists changed in place by compiled code (issue 15): APPEND to a list
//! held only here with room below its capacity, and SET_INDEX into a list
//! held once at an Int index within its length, are guarded stores; any
//! other case goes to the `value` helper (`Lower::value_op` in
//! `data.rs`), which copies a shared list or answers that the instruction
//! raises.

use super::{FrameEnv, Item, Lower, INT, LIST, VALUE_BYTES};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{I64, I8};
use cranelift_codegen::ir::{self, BlockArg, InstBuilder};
use ttvm_runtime::value::List;

impl<E: FrameEnv> Lower<'_, '_, '_, E> {
    /// A new list block of `n` elements for `MAKE_LIST`, counted once
    /// with its length and capacity `n`, its elements not yet written
    /// (the caller writes them at `ListLayout::elems` on). Where the
    /// runtime has a list entry for a block that size
    /// (`List::list_block_entry`: in the binary, mimalloc's small path
    /// with the header written, never null), compiled code calls it
    /// directly: the same call as the `list_new` helper's (one argument,
    /// one result, no test, no block of its own, so a site costs
    /// Cranelift what it did), without the runtime in between (issue 15:
    /// a tree's node, a pair, a tuple). Otherwise (a larger block; no
    /// registration: the test harness, a build on `System`) the
    /// `list_new` helper.
    pub(super) fn list_block(&mut self, n: usize) -> ir::Value {
        let k = self.b.ins().iconst(I64, n as i64);
        let Some(entry) = List::list_block_entry(n) else {
            let call = self.b.ins().call(self.im.list_new, &[k]);
            return self.b.inst_results(call)[0];
        };
        // `list_new`'s signature is the entry's: `(u64) -> u64` in the
        // platform's C convention.
        let sig = self.b.func.dfg.ext_funcs[self.im.list_new].signature;
        let f = self.b.ins().iconst(I64, entry as usize as i64);
        let call = self.b.ins().call_indirect(sig, f, &[k]);
        self.b.inst_results(call)[0]
    }

    /// SET_INDEX of `v` at `i` in `l` inline (issue 15): when `l` is a
    /// list whose count is `refs` (1: held only by this operand; 2: also
    /// by the variable the next STORE overwrites with the result, whose
    /// reference dies there — the interpreter's `release_for_store`) and
    /// `i` an Int within its length, `v` is moved into the place, the old
    /// element dropped, and control goes to `join` with the list (the
    /// same reference, now the result's); anything else — a shared list
    /// (copied by the helper), another kind, an index out of bounds or
    /// not an Int (the helper says it raises) — goes to `other`.
    pub(super) fn set_index_inline(
        &mut self,
        [l, i, v]: [Item; 3],
        refs: i64,
        join: ir::Block,
        other: ir::Block,
    ) {
        // An index known to be of another kind (its payload may not be a
        // word) never takes the inline store.
        if i.known.is_some_and(|k| k != INT) || self.b.func.dfg.value_type(i.pay) != I64 {
            self.b.ins().jump(other, &[]);
            return;
        }
        let layout = List::layout();
        let listed = self.b.create_block();
        let unique = self.b.create_block();
        let store = self.b.create_block();
        let is_list = self.tag_is(l, LIST);
        let is_int = self.tag_is(i, INT);
        let both = self.b.ins().band(is_list, is_int);
        self.b.ins().brif(both, listed, &[], other, &[]);
        self.b.switch_to_block(listed);
        // A plain load: an acquire load on x86-64, as `List::is_unique`.
        let count = self.b.ins().load(I64, self.mf, l.pay, layout.count);
        let once = self.b.ins().icmp_imm(IntCC::Equal, count, refs);
        self.b.ins().brif(once, unique, &[], other, &[]);
        self.b.switch_to_block(unique);
        let n = self.b.ins().load(I64, self.mf, l.pay, layout.len);
        // Unsigned: a negative index is out of bounds too.
        let inside = self.b.ins().icmp(IntCC::UnsignedLessThan, i.pay, n);
        self.b.ins().brif(inside, store, &[], other, &[]);
        self.b.switch_to_block(store);
        let off = self.b.ins().imul_imm(i.pay, VALUE_BYTES);
        let at = self.b.ins().iadd(l.pay, off);
        let ot = self.b.ins().load(I8, self.mf, at, layout.elems);
        let op = self.b.ins().load(I64, self.mf, at, layout.elems + 8);
        let tag = self.tag_of(v);
        self.b.ins().store(self.mf, tag, at, layout.elems);
        self.b.ins().store(self.mf, v.pay, at, layout.elems + 8);
        // The old element's reference, now nobody's (the list holds the
        // new one): one fewer. Its count cannot reach the list's, which
        // this code holds.
        self.drop_item(Item {
            tag: ot,
            pay: op,
            known: None,
            slot: None,
        });
        self.b.ins().jump(join, &[BlockArg::Value(l.pay)]);
    }

    /// APPEND of `v` to `x` inline when `x` is a list held only here (its
    /// count 1: nothing else can make a new reference) with room below
    /// its capacity and the language's limit: the element is moved into
    /// the next place and the length raised, and control goes to `join`
    /// with the list; otherwise to `other`.
    pub(super) fn append_inline(&mut self, x: Item, v: Item, join: ir::Block, other: ir::Block) {
        let layout = List::layout();
        let is_list = self.tag_is(x, LIST);
        let listed = self.b.create_block();
        let unique = self.b.create_block();
        let room = self.b.create_block();
        self.b.ins().brif(is_list, listed, &[], other, &[]);
        self.b.switch_to_block(listed);
        // A plain load: an acquire load on x86-64, as `List::is_unique`.
        let count = self.b.ins().load(I64, self.mf, x.pay, layout.count);
        let one = self.b.ins().icmp_imm(IntCC::Equal, count, 1);
        self.b.ins().brif(one, unique, &[], other, &[]);
        self.b.switch_to_block(unique);
        let len = self.b.ins().load(I64, self.mf, x.pay, layout.len);
        let cap = self.b.ins().load(I64, self.mf, x.pay, layout.cap);
        let max = self
            .b
            .ins()
            .iconst(I64, crate::exec::ops::MAX_LIST_LEN as i64);
        let lim = self.b.ins().umin(cap, max);
        let fits = self.b.ins().icmp(IntCC::UnsignedLessThan, len, lim);
        self.b.ins().brif(fits, room, &[], other, &[]);
        self.b.switch_to_block(room);
        let off = self.b.ins().imul_imm(len, VALUE_BYTES);
        let at = self.b.ins().iadd(x.pay, off);
        let tag = self.tag_of(v);
        self.b.ins().store(self.mf, tag, at, layout.elems);
        self.b.ins().store(self.mf, v.pay, at, layout.elems + 8);
        let len1 = self.b.ins().iadd_imm(len, 1);
        self.b.ins().store(self.mf, len1, x.pay, layout.len);
        self.b.ins().jump(join, &[BlockArg::Value(x.pay)]);
    }
}
