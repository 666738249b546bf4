//! The library's string, list and number operations in compiled code
//! (issue 15, item 1): SUBSTR, FIND, SPLIT, JOIN, REPLACE, TRIM, UPPER,
//! LOWER, STARTS_WITH, ENDS_WITH, CHR, ORD, REPEAT; SLICE, REVERSE, SORT,
//! CONTAINS, INDEX_OF, RANGE; POW, EXP, LOG, SIN, COS, ATAN2, FORMAT
//! (`library::pure`).
//!
//! Each is one call of the `value` helper on the operands the
//! code owns, written to a stack buffer: the helper runs the library's
//! own function (`library::call`, the interpreter's) on them outside the
//! process — no context round trip, no dispatch over every instruction —
//! and the result comes back in registers, its kind known where the
//! operation has one (ORD, FIND and INDEX_OF give Ints, SLICE and SPLIT
//! lists, …). The first operand changes in place when unshared (a LOAD
//! that moves it, or, in ordinary code, the variable the STORE right
//! after writes emptied while the operation runs, as the interpreter's
//! `release_for_store`). When the operation raises the helper leaves the
//! operands untouched and answers 0: ordinary code then runs the
//! instruction through the `library` helper in the process (which raises
//! the error, caught by a handler of the frame or not), and a direct
//! frame leaves at the instruction with its operands, for the
//! interpreter to raise. So functions using them get direct entries
//! (`jit::direct::library_helper`).

use super::direct::Direct;
use super::{Item, Lower, Ordinary, BOOL, FLOAT, INT, LIST, NULL, VALUE_BYTES};
use crate::bytecode::{Instr, Opcode};
use crate::jit::lower::env::FrameEnv;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{I32, I64, I8};
use cranelift_codegen::ir::{self, BlockArg, InstBuilder, StackSlotData, StackSlotKind};
use std::sync::{Arc, OnceLock};
use ttvm_runtime::value::tag::STR;
use ttvm_runtime::value::Str;

/// The kind of value a pure library operation always gives, where it has
/// one (POW gives an Int or a Float, REVERSE a list or a string).
fn result_kind(op: Opcode) -> Option<u8> {
    use Opcode as O;
    match op {
        O::Find | O::Ord | O::IndexOf => Some(INT),
        // REVERSE gives a list or a string (by characters).
        O::Split | O::Slice | O::Sort | O::Range => Some(LIST),
        O::Substr
        | O::Join
        | O::Replace
        | O::Trim
        | O::Upper
        | O::Lower
        | O::Chr
        | O::Repeat
        | O::Format => Some(STR),
        O::StartsWith | O::EndsWith | O::Contains => Some(BOOL),
        O::Exp | O::Log | O::Sin | O::Cos | O::Atan2 => Some(FLOAT),
        _ => None,
    }
}

impl<E: FrameEnv> Lower<'_, '_, '_, E> {
    /// A pure library operation through the `value` helper on its operands
    /// (owned), with `cell` (the variable slot the STORE after it writes,
    /// or none); when the helper answers that it raises, `slow` runs it
    /// with the operands back on the virtual stack and gives the result
    /// (tag, payload), or `None` when that path does not come back.
    fn library_owned_op(
        &mut self,
        op: Opcode,
        dpc: u32,
        cell: Option<ir::Value>,
        slow: impl FnOnce(&mut Self, &[Item]) -> Option<(ir::Value, ir::Value)>,
    ) {
        let n = op.info().pops as usize;
        // Both ways (the helper, or the slow path) must meet with the
        // same virtual stack below.
        if E::FLUSH_FOR_INTERPRET {
            self.flush_below(n);
        }
        let operands = self.operands(n, dpc);
        let join = self.b.create_block();
        self.b.append_block_param(join, I8);
        self.b.append_block_param(join, I64);
        let raised = self.b.create_block();
        self.b.set_cold_block(raised);
        let call_helper = self.b.create_block();
        if op == Opcode::Ord {
            // A 1-character ASCII string: its byte, inline.
            self.ord_inline(operands[0], None, join, call_helper);
        } else if op == Opcode::Chr {
            // A code point below 128: the shared string, inline.
            self.chr_inline(operands[0], join, call_helper);
        } else {
            self.b.ins().jump(call_helper, &[]);
        }
        self.b.switch_to_block(call_helper);
        let items = self.b.create_sized_stack_slot(StackSlotData::new(
            StackSlotKind::ExplicitSlot,
            (n.max(1) as i64 * VALUE_BYTES) as u32,
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
        let opn = self.b.ins().iconst(I32, op as i64);
        let nn = self.b.ins().iconst(I32, n as i64);
        let ip = self.b.ins().stack_addr(I64, items, 0);
        let outp = self.b.ins().stack_addr(I64, out, 0);
        let aux = self.b.ins().iconst(I64, 0);
        let cell = cell.unwrap_or_else(|| self.b.ins().iconst(I64, 0));
        let call = self
            .b
            .ins()
            .call(self.im.value, &[opn, nn, ip, aux, outp, cell]);
        let ok = self.b.inst_results(call)[0];
        let took = self.b.create_block();
        self.b.ins().brif(ok, took, &[], raised, &[]);
        self.b.switch_to_block(took);
        let tag = self.b.ins().stack_load(I8, out, 0);
        let pay = self.b.ins().stack_load(I64, out, 8);
        self.b
            .ins()
            .jump(join, &[BlockArg::Value(tag), BlockArg::Value(pay)]);
        self.b.switch_to_block(raised);
        let saved = self.stack.clone();
        if let Some((tag, pay)) = slow(self, &operands) {
            self.b
                .ins()
                .jump(join, &[BlockArg::Value(tag), BlockArg::Value(pay)]);
        }
        self.stack = saved;
        self.b.switch_to_block(join);
        let tag = self.b.block_params(join)[0];
        let pay = self.b.block_params(join)[1];
        let it = match result_kind(op) {
            Some(k) => self.item(k, pay),
            None => Item {
                tag,
                pay,
                known: None,
                slot: None,
            },
        };
        self.stack.push(it);
    }
}

/// Where compiled code finds an ASCII string's bytes: the offset, from
/// the payload word of a `Value::Str`, of the text's pointer (measured
/// once on a string made for the purpose, as `Str::layout` measures the
/// flag and the length: Rust fixes neither `Arc`'s nor `String`'s field
/// order).
fn text_ptr_offset() -> i32 {
    static AT: OnceLock<i32> = OnceLock::new();
    *AT.get_or_init(|| {
        let mut text = String::with_capacity(64);
        text.push_str("abcde");
        let arc = Arc::new(ttvm_runtime::Str::new(text));
        let ptr = arc.as_str().as_ptr() as usize;
        let v = ttvm_runtime::Value::Str(arc);
        // SAFETY: a `Value` is 16 bytes, `repr(C, u8)`: the payload word
        // (the `Arc`'s pointer) is at offset 8.
        let base = unsafe { *((&v as *const ttvm_runtime::Value as *const usize).add(1)) };
        // The `Arc`'s two counts, then the `Str`: every word is inside
        // the allocation.
        let words = (16 + std::mem::size_of::<ttvm_runtime::Str>()) / 8;
        let at = (0..words)
            .find(|&k| {
                // SAFETY: word `k` is within the allocation (above).
                unsafe { *((base + 8 * k) as *const usize) == ptr }
            })
            .expect("a string's text pointer is one of its words");
        drop(v);
        8 * at as i32
    })
}

impl<E: FrameEnv> Lower<'_, '_, '_, E> {
    /// ORD of `s` (owned), or with `index`, ORD of `s` INDEX `index`
    /// (`s` owned or borrowed): when `s` is an ASCII string (with one
    /// character, or with `index` an Int in bounds), the byte, inline,
    /// as the Int the operation gives, to `join` (parameters: tag,
    /// payload), `s` dropped; anything else goes to `other` with the
    /// operands untouched.
    fn ord_inline(&mut self, s: Item, index: Option<Item>, join: ir::Block, other: ir::Block) {
        let sl = Str::layout();
        let is_str = self.tag_is(s, STR);
        let is_str = match index {
            Some(i) => {
                let is_int = self.tag_is(i, INT);
                self.b.ins().band(is_str, is_int)
            }
            None => is_str,
        };
        let string = self.b.create_block();
        let ascii = self.b.create_block();
        let fast = self.b.create_block();
        self.b.ins().brif(is_str, string, &[], other, &[]);
        self.b.switch_to_block(string);
        let flag = self.b.ins().load(I8, self.mf, s.pay, sl.ascii);
        self.b.ins().brif(flag, ascii, &[], other, &[]);
        self.b.switch_to_block(ascii);
        let len = self.b.ins().load(I64, self.mf, s.pay, sl.len);
        let (ok, k) = match index {
            // Unsigned: a negative index is out of bounds too.
            Some(i) => (
                self.b.ins().icmp(IntCC::UnsignedLessThan, i.pay, len),
                i.pay,
            ),
            None => (
                self.b.ins().icmp_imm(IntCC::Equal, len, 1),
                self.b.ins().iconst(I64, 0),
            ),
        };
        self.b.ins().brif(ok, fast, &[], other, &[]);
        self.b.switch_to_block(fast);
        let text = self.b.ins().load(I64, self.mf, s.pay, text_ptr_offset());
        let at = self.b.ins().iadd(text, k);
        let byte = self.b.ins().uload8(I64, self.mf, at, 0);
        self.drop_item(s);
        let int = self.b.ins().iconst(I8, INT as i64);
        self.b
            .ins()
            .jump(join, &[BlockArg::Value(int), BlockArg::Value(byte)]);
    }

    /// Whether the INDEX at `at` is followed by an ORD it can run with
    /// (`LOAD s; LOAD i; INDEX; ORD`: the code point of a character,
    /// without making its 1-character string).
    pub(super) fn index_ord_site(&self, at: u32) -> bool {
        let p = self.input.program;
        let next = at as usize + 1;
        next < p.code.len()
            && matches!(p.code[next], Instr::Ord(_))
            && !p.block_start[next]
            && E::cut(self) != Some(next as u32)
    }

    /// `INDEX; ORD` (`index_ord_site`): an ASCII string's byte inline;
    /// anything else runs INDEX then ORD as apart (each leaving, or
    /// raising, at its own instruction).
    pub(super) fn index_ord(&mut self, at: u32, dpc: u32) {
        let [x, i] = self.operands_n::<2>(dpc);
        let join = self.b.create_block();
        self.b.append_block_param(join, I8);
        self.b.append_block_param(join, I64);
        let apart = self.b.create_block();
        self.b.set_cold_block(apart);
        self.ord_inline(x, Some(i), join, apart);
        self.b.switch_to_block(apart);
        let saved = self.stack.clone();
        self.unpop(&[x, i]);
        self.index(at, dpc);
        let ord_dpc = self.input.resume(at + 1);
        // When ORD raises: the environment's run of it (the generic
        // helper in ordinary code, leaving a direct frame).
        self.library_owned_op(Opcode::Ord, ord_dpc, None, |l, operands| {
            let pay = E::interpret(l, at + 1, ord_dpc, operands)?;
            let int = l.b.ins().iconst(I8, INT as i64);
            Some((int, pay))
        });
        let r = self.stack.pop().expect("ORD's result");
        let int = self.b.ins().iconst(I8, INT as i64);
        self.b
            .ins()
            .jump(join, &[BlockArg::Value(int), BlockArg::Value(r.pay)]);
        self.stack = saved;
        self.b.switch_to_block(join);
        let pay = self.b.block_params(join)[1];
        self.push_int(pay);
    }
}

/// The payload words of the shared one-character ASCII strings
/// (`Value::char_str`, made once per run and never freed: the runtime's
/// table holds a reference to each), by byte: INDEX of an ASCII string
/// and CHR of a code point below 128 give one of these, inline, with one
/// more reference.
fn ascii_strs() -> &'static [u64; 128] {
    static T: OnceLock<[u64; 128]> = OnceLock::new();
    T.get_or_init(|| {
        let mut t = [0u64; 128];
        for (b, w) in t.iter_mut().enumerate() {
            let c = char::from(b as u8);
            let v = ttvm_runtime::Value::char_str(c.encode_utf8(&mut [0; 4]));
            // SAFETY: a `Value` is 16 bytes; only its payload word is read.
            let raw: [u64; 2] = unsafe { std::mem::transmute_copy(&v) };
            assert!(matches!(v, ttvm_runtime::Value::Str(_)));
            *w = raw[1];
            // The table keeps its reference: the word stays valid.
            drop(v);
        }
        t
    })
}

/// A string constant compared inline is at most this many bytes (two
/// words); a longer one goes to the `data` helper as any comparison.
const MAX_INLINE_EQ_BYTES: usize = 16;

impl<E: FrameEnv> Lower<'_, '_, '_, E> {
    /// The shared one-character string of the ASCII byte `byte` (an I64
    /// below 128), with one more reference, as a `(tag, payload)`.
    fn ascii_str(&mut self, byte: ir::Value) -> (ir::Value, ir::Value) {
        let table = self.b.ins().iconst(I64, ascii_strs().as_ptr() as i64);
        let off = self.b.ins().ishl_imm(byte, 3);
        let at = self.b.ins().iadd(table, off);
        let pay = self.b.ins().load(I64, self.mf, at, 0);
        let it = self.item(STR, pay);
        self.clone_item(it);
        let tag = self.b.ins().iconst(I8, STR as i64);
        (tag, pay)
    }

    /// INDEX of `x` at `i` (borrowed) where the list path did not apply:
    /// an ASCII string at an Int within its length gives the shared
    /// one-character string of its byte, inline; anything else is the
    /// `data` helper's (which leaves at `dpc` when INDEX raises). The
    /// result: `(tag, payload)`, a new reference.
    pub(super) fn index_other(&mut self, x: Item, i: Item, dpc: u32) -> (ir::Value, ir::Value) {
        let sl = Str::layout();
        let join = self.b.create_block();
        self.b.append_block_param(join, I8);
        self.b.append_block_param(join, I64);
        let string = self.b.create_block();
        let ascii = self.b.create_block();
        let fast = self.b.create_block();
        let helper = self.b.create_block();
        self.b.set_cold_block(helper);
        let is_str = self.tag_is(x, STR);
        let is_int = self.tag_is(i, INT);
        let both = self.b.ins().band(is_str, is_int);
        self.b.ins().brif(both, string, &[], helper, &[]);
        self.b.switch_to_block(string);
        let flag = self.b.ins().load(I8, self.mf, x.pay, sl.ascii);
        self.b.ins().brif(flag, ascii, &[], helper, &[]);
        self.b.switch_to_block(ascii);
        let len = self.b.ins().load(I64, self.mf, x.pay, sl.len);
        // Unsigned: a negative index is out of bounds too.
        let inside = self.b.ins().icmp(IntCC::UnsignedLessThan, i.pay, len);
        self.b.ins().brif(inside, fast, &[], helper, &[]);
        self.b.switch_to_block(fast);
        let text = self.b.ins().load(I64, self.mf, x.pay, text_ptr_offset());
        let at = self.b.ins().iadd(text, i.pay);
        let byte = self.b.ins().uload8(I64, self.mf, at, 0);
        let (tag, pay) = self.ascii_str(byte);
        self.b
            .ins()
            .jump(join, &[BlockArg::Value(tag), BlockArg::Value(pay)]);
        self.b.switch_to_block(helper);
        let (tag, pay) = self.data_helper(Opcode::Index, &[x, i], dpc);
        self.b
            .ins()
            .jump(join, &[BlockArg::Value(tag), BlockArg::Value(pay)]);
        self.b.switch_to_block(join);
        let tag = self.b.block_params(join)[0];
        let pay = self.b.block_params(join)[1];
        (tag, pay)
    }

    /// CHR of `n` (owned): an Int below 128 gives the shared
    /// one-character string, inline, to `join` (parameters: tag,
    /// payload); anything else goes to `other`.
    fn chr_inline(&mut self, n: Item, join: ir::Block, other: ir::Block) {
        let is_int = self.tag_is(n, INT);
        let int = self.b.create_block();
        let fast = self.b.create_block();
        self.b.ins().brif(is_int, int, &[], other, &[]);
        self.b.switch_to_block(int);
        // Unsigned: a negative code point goes to the helper (it raises).
        let ascii = self.b.ins().icmp_imm(IntCC::UnsignedLessThan, n.pay, 128);
        self.b.ins().brif(ascii, fast, &[], other, &[]);
        self.b.switch_to_block(fast);
        let (tag, pay) = self.ascii_str(n.pay);
        self.b
            .ins()
            .jump(join, &[BlockArg::Value(tag), BlockArg::Value(pay)]);
    }

    /// EQ or NE (the instruction at `at`) of `a` and `b` when one of them
    /// is a string constant of at most [`MAX_INLINE_EQ_BYTES`] bytes: the
    /// instruction right before is its `PUSH_STR` (`x; PUSH_STR; EQ`), or
    /// the one before a LOAD (`PUSH_STR; LOAD x; EQ`), in the same block,
    /// so the operand is that constant whatever the path. The other value
    /// is compared inline — not a string: not equal; the very same string
    /// (a value made from the constant): equal; else its length, then its
    /// bytes in at most four loads — and both are dropped: the result (0
    /// or 1). Without a constant operand: [`Lower::eq_strings`].
    ///
    /// And EQ or NE with an operand known to be Null (`x NULL EQ`): only
    /// Null equals Null, so the other's tag alone answers.
    pub(super) fn eq_const(&mut self, at: u32, a: Item, b: Item, dpc: u32) -> Option<ir::Value> {
        let p = self.input.program;
        let i = at as usize;
        let ne = match p.code[i].opcode() {
            Opcode::Eq => false,
            Opcode::Ne => true,
            _ => return None,
        };
        if a.known == Some(NULL) || b.known == Some(NULL) {
            let other = if b.known == Some(NULL) { a } else { b };
            let is = self.tag_is(other, NULL);
            let r = self.b.ins().uextend(I64, is);
            let r = if ne { self.b.ins().bxor_imm(r, 1) } else { r };
            self.drop_item(other);
            return Some(r);
        }
        let text = |k: usize| match p.code.get(k) {
            Some(Instr::PushStr(t)) => Some(t),
            _ => None,
        };
        let (konst, other, t) = if i >= 1 && !p.block_start[i] && text(i - 1).is_some() {
            (b, a, text(i - 1)?)
        } else if i >= 2
            && !p.block_start[i]
            && !p.block_start[i - 1]
            && matches!(p.code[i - 1], Instr::Load(_))
            && text(i - 2).is_some()
        {
            (a, b, text(i - 2)?)
        } else {
            return self.eq_strings(ne, at, a, b, dpc);
        };
        let bytes = t.0.as_str().as_bytes();
        if bytes.len() > MAX_INLINE_EQ_BYTES {
            return None;
        }
        let v = ttvm_runtime::Value::Str(t.0.clone());
        // SAFETY: a `Value` is 16 bytes; only its payload word is read.
        let raw: [u64; 2] = unsafe { std::mem::transmute_copy(&v) };
        drop(v);
        let sl = Str::layout();
        let join = self.b.create_block();
        self.b.append_block_param(join, I64);
        let string = self.b.create_block();
        let other_str = self.b.create_block();
        let same_len = self.b.create_block();
        let zero = self.b.ins().iconst(I64, 0);
        let one = self.b.ins().iconst(I64, 1);
        let is_str = self.tag_is(other, STR);
        self.b
            .ins()
            .brif(is_str, string, &[], join, &[BlockArg::Value(zero)]);
        self.b.switch_to_block(string);
        let same = self
            .b
            .ins()
            .icmp_imm(IntCC::Equal, other.pay, raw[1] as i64);
        self.b
            .ins()
            .brif(same, join, &[BlockArg::Value(one)], other_str, &[]);
        self.b.switch_to_block(other_str);
        let len = self.b.ins().load(I64, self.mf, other.pay, sl.len);
        let len_ok = self.b.ins().icmp_imm(IntCC::Equal, len, bytes.len() as i64);
        self.b
            .ins()
            .brif(len_ok, same_len, &[], join, &[BlockArg::Value(zero)]);
        self.b.switch_to_block(same_len);
        let r = if bytes.is_empty() {
            one
        } else {
            // The text's bytes in chunks of 8, 4, 2 and 1 (unaligned
            // loads within its length), each compared with the constant's.
            let text = self
                .b
                .ins()
                .load(I64, self.mf, other.pay, text_ptr_offset());
            let flags = ir::MemFlags::new().with_notrap().with_readonly();
            let mut diff: Option<ir::Value> = None;
            let mut o = 0usize;
            while o < bytes.len() {
                let left = bytes.len() - o;
                let w = [8, 4, 2, 1].into_iter().find(|&w| w <= left).expect("1");
                let mut k = [0u8; 8];
                k[..w].copy_from_slice(&bytes[o..o + w]);
                let want = u64::from_le_bytes(k) as i64;
                let got = match w {
                    8 => self.b.ins().load(I64, flags, text, o as i32),
                    4 => self.b.ins().uload32(flags, text, o as i32),
                    2 => self.b.ins().uload16(I64, flags, text, o as i32),
                    _ => self.b.ins().uload8(I64, flags, text, o as i32),
                };
                let d = self.b.ins().bxor_imm(got, want);
                diff = Some(match diff {
                    Some(x) => self.b.ins().bor(x, d),
                    None => d,
                });
                o += w;
            }
            let eq = self
                .b
                .ins()
                .icmp_imm(IntCC::Equal, diff.expect("a chunk"), 0);
            self.b.ins().uextend(I64, eq)
        };
        self.b.ins().jump(join, &[BlockArg::Value(r)]);
        self.b.switch_to_block(join);
        let r = self.b.block_params(join)[0];
        let r = if ne { self.b.ins().bxor_imm(r, 1) } else { r };
        self.drop_item(other);
        self.drop_const_str(konst);
        Some(r)
    }

    /// EQ or NE (`ne`, the instruction at `at`) of `a` and `b`, neither
    /// known to be anything but a string: when both are strings, the
    /// same string is equal, strings of different lengths are not, and
    /// two of one byte (the characters INDEX gives) compare that byte —
    /// all inline, both dropped; anything else is the `data` helper's (as
    /// `arith::compare_helper`: it takes the operands). The result (0 or
    /// 1); `None` (nothing emitted) where an operand is known to be of
    /// another kind.
    fn eq_strings(&mut self, ne: bool, at: u32, a: Item, b: Item, dpc: u32) -> Option<ir::Value> {
        if E::INT_ONLY || [a, b].iter().any(|it| it.known.is_some_and(|k| k != STR)) {
            return None;
        }
        let sl = Str::layout();
        let join = self.b.create_block();
        self.b.append_block_param(join, I64);
        let strs = self.b.create_block();
        let cmp_len = self.b.create_block();
        let one_byte = self.b.create_block();
        let bytes = self.b.create_block();
        let done = self.b.create_block();
        self.b.append_block_param(done, I64);
        let helper = self.b.create_block();
        self.b.set_cold_block(helper);
        let sa = self.tag_is(a, STR);
        let sb = self.tag_is(b, STR);
        let both = self.b.ins().band(sa, sb);
        self.b.ins().brif(both, strs, &[], helper, &[]);
        self.b.switch_to_block(strs);
        let one = self.b.ins().iconst(I64, 1);
        let zero = self.b.ins().iconst(I64, 0);
        let same = self.b.ins().icmp(IntCC::Equal, a.pay, b.pay);
        self.b
            .ins()
            .brif(same, done, &[BlockArg::Value(one)], cmp_len, &[]);
        self.b.switch_to_block(cmp_len);
        let la = self.b.ins().load(I64, self.mf, a.pay, sl.len);
        let lb = self.b.ins().load(I64, self.mf, b.pay, sl.len);
        let eq_len = self.b.ins().icmp(IntCC::Equal, la, lb);
        self.b
            .ins()
            .brif(eq_len, one_byte, &[], done, &[BlockArg::Value(zero)]);
        self.b.switch_to_block(one_byte);
        let is1 = self.b.ins().icmp_imm(IntCC::Equal, la, 1);
        self.b.ins().brif(is1, bytes, &[], helper, &[]);
        self.b.switch_to_block(bytes);
        let ta = self.b.ins().load(I64, self.mf, a.pay, text_ptr_offset());
        let tb = self.b.ins().load(I64, self.mf, b.pay, text_ptr_offset());
        let ba = self.b.ins().uload8(I64, self.mf, ta, 0);
        let bb = self.b.ins().uload8(I64, self.mf, tb, 0);
        let eq = self.b.ins().icmp(IntCC::Equal, ba, bb);
        let r = self.b.ins().uextend(I64, eq);
        self.b.ins().jump(done, &[BlockArg::Value(r)]);
        // Both strings: dropped here, the result as the instruction's.
        self.b.switch_to_block(done);
        let r = self.b.block_params(done)[0];
        let r = if ne { self.b.ins().bxor_imm(r, 1) } else { r };
        for it in [a, b] {
            self.drop_item(Item {
                known: Some(STR),
                ..it
            });
        }
        self.b.ins().jump(join, &[BlockArg::Value(r)]);
        self.b.switch_to_block(helper);
        let op = self.input.program.code[at as usize].opcode() as u32;
        let (_, r) = self.data_helper_with(op | crate::jit::DATA_OWNED, &[a, b], dpc);
        self.b.ins().jump(join, &[BlockArg::Value(r)]);
        self.b.switch_to_block(join);
        Some(self.b.block_params(join)[0])
    }

    /// Drop the reference a `PUSH_STR` operand holds: the program holds
    /// one more for as long as its code runs, so the count never reaches
    /// 0 here and one atomic decrement does (the `drop` helper where the
    /// count was not found).
    fn drop_const_str(&mut self, it: Item) {
        match ttvm_runtime::value::strong_count_offset() {
            Some(off) if !E::INT_ONLY && it.known == Some(STR) && !self.is_borrowed(it) => {
                let at = self.b.ins().iadd_imm(it.pay, off as i64);
                let one = self.b.ins().iconst(I64, 1);
                self.b.ins().atomic_rmw(
                    I64,
                    ir::MemFlags::trusted(),
                    ir::AtomicRmwOp::Sub,
                    at,
                    one,
                );
            }
            _ => self.drop_item(it),
        }
    }
}

impl Lower<'_, '_, '_, Ordinary> {
    /// A pure library operation in ordinary code: the `value` helper, and
    /// when it raises, the `library` helper in the process (which raises
    /// the error where the interpreter would).
    pub(super) fn library_ordinary(&mut self, at: u32, dpc: u32, instr: &Instr) {
        let store = crate::exec::semantics::store_after(self.input.program, at);
        let cell = store.map(|x| {
            let lp = self.b.use_var(self.v_lp);
            self.b.ins().iadd_imm(lp, x as i64 * VALUE_BYTES)
        });
        self.library_owned_op(instr.opcode(), dpc, cell, |l, operands| {
            l.unpop(operands);
            l.library(at, dpc, instr);
            Some(l.pop_mem_result())
        });
        if let Some(x) = store {
            self.reload_slot(x);
        }
    }
}

impl<'p> Lower<'_, '_, '_, Direct<'p>> {
    /// A pure library operation in a direct entry: the `value` helper, and
    /// when it raises, the frame leaves at it with its operands.
    pub(super) fn library_direct(&mut self, dpc: u32, instr: &Instr) {
        self.library_owned_op(instr.opcode(), dpc, None, |l, operands| {
            l.unpop(operands);
            l.exit_continue(dpc);
            None
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every pure library operation pushes one value, and the kinds
    /// claimed are the ones the library gives.
    #[test]
    fn pure_operations_push_one_value_of_their_kind() {
        let mut n = 0;
        for info in crate::bytecode::OPS.iter() {
            if !crate::library::pure(info.opcode) {
                continue;
            }
            n += 1;
            assert_eq!(info.pushes, 1, "{}", info.mnemonic);
            assert!(info.library, "{}", info.mnemonic);
        }
        assert!(n >= 26, "{n} pure operations");
        let stack = |v: Vec<ttvm_runtime::Value>| v;
        let caps = crate::library::Caps::default();
        let s = |t: &str| crate::library::text(t.to_string());
        use ttvm_runtime::Value as V;
        let cases: Vec<(Opcode, Vec<V>)> = vec![
            (Opcode::Ord, vec![s("é")]),
            (Opcode::Find, vec![s("abc"), s("c")]),
            (Opcode::Split, vec![s("a,b"), s(",")]),
            (Opcode::Substr, vec![s("héllo"), V::Int(1), V::Int(3)]),
            (Opcode::Chr, vec![V::Int(65)]),
            (Opcode::StartsWith, vec![s("abc"), s("a")]),
            (
                Opcode::Slice,
                vec![
                    V::List([V::Int(1)].into_iter().collect()),
                    V::Int(0),
                    V::Int(1),
                ],
            ),
            (Opcode::Sin, vec![V::Int(0)]),
            (Opcode::Format, vec![V::Float(1.5), V::Int(2)]),
        ];
        // REVERSE of a string is a string: its kind is not claimed.
        assert_eq!(result_kind(Opcode::Reverse), None);
        assert_eq!(result_kind(Opcode::Pow), None);
        for (op, args) in cases {
            let mut st = stack(args);
            crate::library::call(op, &mut st, &caps).expect("runs");
            let kind = result_kind(op).expect("a kind");
            assert_eq!(st.len(), 1);
            let got = match &st[0] {
                V::Int(_) => INT,
                V::Float(_) => FLOAT,
                V::Bool(_) => BOOL,
                V::Str(_) => STR,
                V::List(_) => LIST,
                _ => u8::MAX,
            };
            assert_eq!(got, kind, "{}", op.mnemonic());
        }
    }
}
