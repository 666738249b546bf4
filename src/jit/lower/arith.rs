//! Lowering of arithmetic, comparisons and their type guards.

use super::{numeric, FrameEnv, Item, Lower, FLOAT, INT};
use crate::bytecode::{Arith, Cmp};
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::types::{F64, I64, I8};
use cranelift_codegen::ir::{self, BlockArg, InstBuilder, MemFlags};

impl<E: FrameEnv> Lower<'_, '_, '_, E> {
    /// A guard proved `it` has tag `k`: so does its slot, if unchanged.
    pub(super) fn learn(&mut self, it: &mut Item, k: u8) {
        it.known = Some(k);
        if let Some(s) = it.slot {
            self.known[s as usize] = Some(k);
        }
    }

    /// Branch to `yes` when both are Ints, else to `no`: one test and
    /// branch each (cheaper than combining the tests).
    fn both_int(&mut self, a: Item, b: Item, yes: ir::Block, no: ir::Block) {
        let ta = self.tag_is(a, INT);
        let a_int = self.b.create_block();
        self.b.ins().brif(ta, a_int, &[], no, &[]);
        self.b.switch_to_block(a_int);
        let tb = self.tag_is(b, INT);
        self.b.ins().brif(tb, yes, &[], no, &[]);
    }

    /// Side exit at `dpc` unless both operands have tag `k`; then they
    /// (and their slots) are known to.
    fn guard_both(&mut self, a: &mut Item, b: &mut Item, k: u8, dpc: u32) {
        match (a.known, b.known) {
            // With one side's tag known to be `k`, only the other is
            // tested.
            (Some(x), None) if x == k => {
                let ok = self.tag_is(*b, k);
                self.guard(ok, dpc, &[*a, *b]);
            }
            (None, Some(x)) if x == k => {
                let ok = self.tag_is(*a, k);
                self.guard(ok, dpc, &[*a, *b]);
            }
            // Neither known: one test and branch each, to one exit
            // (cheaper than combining the tests).
            (None, None) => {
                let (exit, own) = match E::exit_block(self, dpc) {
                    Some(exit) => (exit, false),
                    None => (self.b.create_block(), true),
                };
                if own {
                    self.b.set_cold_block(exit);
                }
                for it in [*a, *b] {
                    let ok = self.tag_is(it, k);
                    let next = self.b.create_block();
                    self.b.ins().brif(ok, next, &[], exit, &[]);
                    self.b.switch_to_block(next);
                }
                if own {
                    let cont = self.b.current_block().expect("a block");
                    self.b.switch_to_block(exit);
                    let saved = self.stack.clone();
                    self.unpop(&[*a, *b]);
                    self.exit_continue(dpc);
                    self.stack = saved;
                    self.b.switch_to_block(cont);
                }
            }
            _ => {
                let ta = self.tag_is(*a, k);
                let tb = self.tag_is(*b, k);
                let ok = self.b.ins().band(ta, tb);
                self.guard(ok, dpc, &[*a, *b]);
            }
        }
        self.learn(a, k);
        self.learn(b, k);
    }

    pub(super) fn tag_is(&mut self, it: Item, k: u8) -> ir::Value {
        match it.known {
            Some(x) => self.b.ins().iconst(I8, (x == k) as i64),
            None => self.b.ins().icmp_imm(IntCC::Equal, it.tag, k as i64),
        }
    }

    /// ADD SUB MUL DIV MOD: Int∘Int or Float∘Float inline; mixed or other
    /// types leave through a side exit (the interpreter converts or raises).
    pub(super) fn arith(&mut self, op: Arith, dpc: u32) {
        let [mut a, mut b] = self.operands_n::<2>(dpc);
        let floats = a.known == Some(FLOAT) || b.known == Some(FLOAT);
        let ints = a.known == Some(INT) || b.known == Some(INT) || (E::INT_ONLY && !floats);
        if !numeric(a.known) || !numeric(b.known) || (ints && floats) {
            return self.exit_always(&[a, b], dpc);
        }
        if ints || (!floats && op == Arith::Mod) {
            // Speculate Int.
            self.guard_both(&mut a, &mut b, INT, dpc);
            let r = self.int_op(op, a.pay, b.pay, dpc, &[a, b]);
            self.push_int(r);
        } else if floats {
            self.guard_both(&mut a, &mut b, FLOAT, dpc);
            let r = self.float_op(op, a.pay, b.pay, dpc, &[a, b]);
            let it = self.item(FLOAT, r);
            self.stack.push(it);
        } else {
            // Both unknown: Int∘Int or Float∘Float, merged.
            let int_blk = self.b.create_block();
            let not_int = self.b.create_block();
            let float_blk = self.b.create_block();
            let join = self.b.create_block();
            self.b.append_block_param(join, I8);
            self.b.append_block_param(join, I64);
            self.both_int(a, b, int_blk, not_int);
            self.b.switch_to_block(not_int);
            let fa = self.tag_is(a, FLOAT);
            let fb = self.tag_is(b, FLOAT);
            let ok = self.b.ins().band(fa, fb);
            self.guard(ok, dpc, &[a, b]);
            self.b.ins().jump(float_blk, &[]);
            self.b.switch_to_block(float_blk);
            let r = self.float_op(op, a.pay, b.pay, dpc, &[a, b]);
            let t = self.b.ins().iconst(I8, FLOAT as i64);
            self.b
                .ins()
                .jump(join, &[BlockArg::Value(t), BlockArg::Value(r)]);
            self.b.switch_to_block(int_blk);
            let r = self.int_op(op, a.pay, b.pay, dpc, &[a, b]);
            let t = self.b.ins().iconst(I8, INT as i64);
            self.b
                .ins()
                .jump(join, &[BlockArg::Value(t), BlockArg::Value(r)]);
            self.b.switch_to_block(join);
            let tag = self.b.block_params(join)[0];
            let pay = self.b.block_params(join)[1];
            self.stack.push(Item {
                tag,
                pay,
                known: None,
                slot: None,
            });
        }
    }

    /// After an unconditional exit the rest of the instruction's code is
    /// unreachable; give it a block of its own.
    pub(super) fn int_op(
        &mut self,
        op: Arith,
        a: ir::Value,
        b: ir::Value,
        dpc: u32,
        operands: &[Item],
    ) -> ir::Value {
        match op {
            Arith::Add => self.b.ins().iadd(a, b),
            Arith::Sub => self.b.ins().isub(a, b),
            Arith::Mul => self.b.ins().imul(a, b),
            Arith::Div | Arith::Mod => {
                let zero = self.b.ins().icmp_imm(IntCC::NotEqual, b, 0);
                self.guard(zero, dpc, operands);
                // i64::MIN / -1 wraps (and x % -1 is 0): divide by 1 instead.
                let minus1 = self.b.ins().icmp_imm(IntCC::Equal, b, -1);
                let one = self.b.ins().iconst(I64, 1);
                let d = self.b.ins().select(minus1, one, b);
                if op == Arith::Div {
                    let q = self.b.ins().sdiv(a, d);
                    let n = self.b.ins().ineg(a);
                    self.b.ins().select(minus1, n, q)
                } else {
                    let r = self.b.ins().srem(a, d);
                    let z = self.b.ins().iconst(I64, 0);
                    self.b.ins().select(minus1, z, r)
                }
            }
        }
    }

    pub(super) fn float_op(
        &mut self,
        op: Arith,
        a: ir::Value,
        b: ir::Value,
        dpc: u32,
        operands: &[Item],
    ) -> ir::Value {
        let x = self.b.ins().bitcast(F64, MemFlags::new(), a);
        let y = self.b.ins().bitcast(F64, MemFlags::new(), b);
        let r = self.float_arith(op, x, y, dpc, operands);
        self.b.ins().bitcast(I64, MemFlags::new(), r)
    }

    pub(super) fn float_arith(
        &mut self,
        op: Arith,
        x: ir::Value,
        y: ir::Value,
        dpc: u32,
        operands: &[Item],
    ) -> ir::Value {
        match op {
            Arith::Add => self.b.ins().fadd(x, y),
            Arith::Sub => self.b.ins().fsub(x, y),
            Arith::Mul => self.b.ins().fmul(x, y),
            Arith::Div => {
                let zero = self.b.ins().f64const(0.0);
                let nz = self.b.ins().fcmp(FloatCC::NotEqual, y, zero);
                self.guard(nz, dpc, operands);
                self.b.ins().fdiv(x, y)
            }
            Arith::Mod => {
                // fmod is not inline: the interpreter does it.
                let f = self.b.ins().iconst(I8, 0);
                self.guard(f, dpc, operands);
                x
            }
        }
    }

    /// An Int or Float operand as an f64, with a side exit for others.
    pub(super) fn as_f64(&mut self, it: &mut Item, dpc: u32, operands: &[Item]) -> ir::Value {
        match it.known {
            Some(INT) => self.b.ins().fcvt_from_sint(F64, it.pay),
            Some(FLOAT) => self.b.ins().bitcast(F64, MemFlags::new(), it.pay),
            _ => {
                let is_int = self.tag_is(*it, INT);
                let is_float = self.tag_is(*it, FLOAT);
                let ok = self.b.ins().bor(is_int, is_float);
                self.guard(ok, dpc, operands);
                let i = self.b.ins().fcvt_from_sint(F64, it.pay);
                let f = self.b.ins().bitcast(F64, MemFlags::new(), it.pay);
                self.b.ins().select(is_int, i, f)
            }
        }
    }

    /// ADD_F SUB_F MUL_F DIV_F: numbers as Floats.
    pub(super) fn arith_f(&mut self, op: Arith, dpc: u32) {
        let [mut a, mut b] = self.operands_n::<2>(dpc);
        if !numeric(a.known) || !numeric(b.known) {
            return self.exit_always(&[a, b], dpc);
        }
        let ops = [a, b];
        let x = self.as_f64(&mut a, dpc, &ops);
        let y = self.as_f64(&mut b, dpc, &ops);
        let r = self.float_arith(op, x, y, dpc, &ops);
        let r = self.b.ins().bitcast(I64, MemFlags::new(), r);
        let it = self.item(FLOAT, r);
        self.stack.push(it);
    }

    pub(super) fn neg(&mut self, dpc: u32) {
        let [mut a] = self.operands_n::<1>(dpc);
        match a.known {
            Some(INT) => {
                let r = self.b.ins().ineg(a.pay);
                self.push_int(r);
            }
            Some(FLOAT) => {
                let r = self.b.ins().bxor_imm(a.pay, i64::MIN);
                let it = self.item(FLOAT, r);
                self.stack.push(it);
            }
            None => {
                let is_int = self.tag_is(a, INT);
                let is_float = self.tag_is(a, FLOAT);
                let ok = self.b.ins().bor(is_int, is_float);
                self.guard(ok, dpc, &[a]);
                let i = self.b.ins().ineg(a.pay);
                let f = self.b.ins().bxor_imm(a.pay, i64::MIN);
                let pay = self.b.ins().select(is_int, i, f);
                a.pay = pay;
                a.slot = None;
                self.stack.push(a);
            }
            Some(_) => self.exit_always(&[a], dpc),
        }
    }

    /// EQ NE GT LT GE LE: Int∘Int and Float∘Float inline; anything else
    /// through the helper (the result is always an Int).
    pub(super) fn compare(&mut self, icc: IntCC, fcc: FloatCC, at: u32, dpc: u32) {
        let [mut a, mut b] = self.operands_n::<2>(dpc);
        self.flush_below(0);
        let floats = a.known == Some(FLOAT) || b.known == Some(FLOAT);
        let ints = a.known == Some(INT) || b.known == Some(INT) || (E::INT_ONLY && !floats);
        if numeric(a.known) && numeric(b.known) && ints != floats {
            // One side's kind is known: speculate that both are of it,
            // with a side exit otherwise (the interpreter compares mixed
            // kinds), and learn the other's tag.
            let k = if ints { INT } else { FLOAT };
            self.guard_both(&mut a, &mut b, k, dpc);
            let c = if ints {
                self.b.ins().icmp(icc, a.pay, b.pay)
            } else {
                let x = self.b.ins().bitcast(F64, MemFlags::new(), a.pay);
                let y = self.b.ins().bitcast(F64, MemFlags::new(), b.pay);
                self.b.ins().fcmp(fcc, x, y)
            };
            let r = self.b.ins().uextend(I64, c);
            self.push_int(r);
            return;
        }
        if !numeric(a.known) || !numeric(b.known) {
            // The complete semantics (`E::interpret`: the helper, or
            // leaving compiled code).
            match E::interpret(self, at, dpc, &[a, b]) {
                Some(pay) => self.push_int(pay),
                None => self.dead_block(),
            }
            return;
        }
        let int_blk = self.b.create_block();
        let not_int = self.b.create_block();
        let float_blk = self.b.create_block();
        let slow = self.b.create_block();
        self.b.set_cold_block(slow);
        let join = self.b.create_block();
        self.b.append_block_param(join, I64);
        // With one side known, only its kind has a fast path.
        let int_possible = !(a.known == Some(FLOAT) || b.known == Some(FLOAT));
        let float_possible = !(a.known == Some(INT) || b.known == Some(INT));
        if int_possible {
            self.both_int(a, b, int_blk, not_int);
        } else {
            self.b.ins().jump(not_int, &[]);
        }
        self.b.switch_to_block(not_int);
        if float_possible {
            let fa = self.tag_is(a, FLOAT);
            let fb = self.tag_is(b, FLOAT);
            let both = self.b.ins().band(fa, fb);
            self.b.ins().brif(both, float_blk, &[], slow, &[]);
        } else {
            self.b.ins().jump(slow, &[]);
        }
        // Int∘Int
        self.b.switch_to_block(int_blk);
        let c = self.b.ins().icmp(icc, a.pay, b.pay);
        let r = self.b.ins().uextend(I64, c);
        self.b.ins().jump(join, &[BlockArg::Value(r)]);
        // Float∘Float
        self.b.switch_to_block(float_blk);
        let x = self.b.ins().bitcast(F64, MemFlags::new(), a.pay);
        let y = self.b.ins().bitcast(F64, MemFlags::new(), b.pay);
        let c = self.b.ins().fcmp(fcc, x, y);
        let r = self.b.ins().uextend(I64, c);
        self.b.ins().jump(join, &[BlockArg::Value(r)]);
        // Anything else: the helper.
        self.b.switch_to_block(slow);
        let saved = self.stack.clone();
        match E::interpret(self, at, dpc, &[a, b]) {
            Some(pay) => {
                self.b.ins().jump(join, &[BlockArg::Value(pay)]);
            }
            None => self.stack = saved,
        }
        self.b.switch_to_block(join);
        let r = self.b.block_params(join)[0];
        self.push_int(r);
    }

    /// EQ_F NE_F (within f64::EPSILON) and GT_F LT_F GE_F LE_F.
    pub(super) fn compare_f(&mut self, c: Cmp, dpc: u32) {
        let (fcc, eq) = match c {
            Cmp::Eq => (None, true),
            Cmp::Ne => (None, false),
            c => (Some(float_cc(c)), false),
        };
        let [mut a, mut b] = self.operands_n::<2>(dpc);
        if !numeric(a.known) || !numeric(b.known) {
            return self.exit_always(&[a, b], dpc);
        }
        let ops = [a, b];
        let x = self.as_f64(&mut a, dpc, &ops);
        let y = self.as_f64(&mut b, dpc, &ops);
        let c = match fcc {
            Some(cc) => self.b.ins().fcmp(cc, x, y),
            None => {
                let d = self.b.ins().fsub(x, y);
                let d = self.b.ins().fabs(d);
                let eps = self.b.ins().f64const(f64::EPSILON);
                let cc = if eq {
                    FloatCC::LessThan
                } else {
                    FloatCC::UnorderedOrGreaterThanOrEqual
                };
                self.b.ins().fcmp(cc, d, eps)
            }
        };
        let r = self.b.ins().uextend(I64, c);
        self.push_int(r);
    }
}

/// The Int condition of a comparison.
pub(super) fn int_cc(c: Cmp) -> IntCC {
    match c {
        Cmp::Eq => IntCC::Equal,
        Cmp::Ne => IntCC::NotEqual,
        Cmp::Gt => IntCC::SignedGreaterThan,
        Cmp::Lt => IntCC::SignedLessThan,
        Cmp::Ge => IntCC::SignedGreaterThanOrEqual,
        Cmp::Le => IntCC::SignedLessThanOrEqual,
    }
}

/// The Float condition of a comparison.
pub(super) fn float_cc(c: Cmp) -> FloatCC {
    match c {
        Cmp::Eq => FloatCC::Equal,
        Cmp::Ne => FloatCC::NotEqual,
        Cmp::Gt => FloatCC::GreaterThan,
        Cmp::Lt => FloatCC::LessThan,
        Cmp::Ge => FloatCC::GreaterThanOrEqual,
        Cmp::Le => FloatCC::LessThanOrEqual,
    }
}
