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

    /// ADD SUB MUL DIV MOD: Int∘Int inline, and any other pair of numbers
    /// as Floats (an Int promoted, as the interpreter does); other types,
    /// and MOD of a Float (fmod), leave through a side exit (the
    /// interpreter raises).
    ///
    /// With one operand known to be an Int and the other a variable of
    /// unknown kind, the code speculates that both are Ints (a side exit
    /// otherwise) so that the variable is known to be an Int afterwards
    /// and the result too: a loop counter keeps its facts (`facts`).
    /// Any other operand of unknown kind (an element, a call's result) is
    /// tested for both kinds and the result's kind is known only at run
    /// time.
    pub(super) fn arith(&mut self, op: Arith, dpc: u32) {
        let [mut a, mut b] = self.operands_n::<2>(dpc);
        let floats = a.known == Some(FLOAT) || b.known == Some(FLOAT);
        let ints = a.known == Some(INT) || b.known == Some(INT) || (E::INT_ONLY && !floats);
        if !numeric(a.known) || !numeric(b.known) || (op == Arith::Mod && floats) {
            return self.exit_always(&[a, b], dpc);
        }
        // The operand of unknown kind beside a known Int comes from a
        // variable (or the code speculates Ints anyway).
        let unknown_is_var = [a, b]
            .iter()
            .all(|it| it.known.is_some() || it.slot.is_some());
        let speculate_int =
            !floats && (op == Arith::Mod || (ints && (E::INT_ONLY || unknown_is_var)));
        if a.known == Some(INT) && b.known == Some(INT) || speculate_int {
            self.guard_both(&mut a, &mut b, INT, dpc);
            let r = self.int_op(op, a.pay, b.pay, dpc, &[a, b]);
            self.push_int(r);
        } else if floats {
            // A Float and a number: the other promoted when an Int.
            let ops = [a, b];
            let x = self.as_f64(&mut a, dpc, &ops);
            let y = self.as_f64(&mut b, dpc, &ops);
            let r = self.float_arith(op, x, y, dpc, &ops);
            let r = self.b.ins().bitcast(I64, MemFlags::new(), r);
            let it = self.item(FLOAT, r);
            self.stack.push(it);
        } else {
            // Kinds known only at run time: Int∘Int, or two numbers as
            // Floats, merged.
            let int_blk = self.b.create_block();
            let not_int = self.b.create_block();
            let join = self.b.create_block();
            self.b.append_block_param(join, I8);
            self.b.append_block_param(join, I64);
            self.both_int(a, b, int_blk, not_int);
            self.b.switch_to_block(not_int);
            let ops = [a, b];
            let (x, y) = self.float_pair(a, b, false, dpc, &ops, None);
            let r = self.float_arith(op, x, y, dpc, &ops);
            let r = self.b.ins().bitcast(I64, MemFlags::new(), r);
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

    /// Two operands, not both Ints, as f64s: both Floats on the fast
    /// path; otherwise (a cold block) each converted when it is a number
    /// (`num_f64`, `exact` for comparisons). When that fails: to `slow`
    /// when given, else a side exit at `dpc`. Code goes on in a block with
    /// the two f64s.
    pub(super) fn float_pair(
        &mut self,
        a: Item,
        b: Item,
        exact: bool,
        dpc: u32,
        operands: &[Item],
        slow: Option<ir::Block>,
    ) -> (ir::Value, ir::Value) {
        let fa = self.tag_is(a, FLOAT);
        let fb = self.tag_is(b, FLOAT);
        let both = self.b.ins().band(fa, fb);
        let mixed = self.b.create_block();
        self.b.set_cold_block(mixed);
        let go = self.b.create_block();
        self.b.append_block_param(go, F64);
        self.b.append_block_param(go, F64);
        let x = self.b.ins().bitcast(F64, MemFlags::new(), a.pay);
        let y = self.b.ins().bitcast(F64, MemFlags::new(), b.pay);
        self.b.ins().brif(
            both,
            go,
            &[BlockArg::Value(x), BlockArg::Value(y)],
            mixed,
            &[],
        );
        self.b.switch_to_block(mixed);
        let (x, ok_x) = self.num_f64(a, exact);
        let (y, ok_y) = self.num_f64(b, exact);
        let ok = self.b.ins().band(ok_x, ok_y);
        let args = [BlockArg::Value(x), BlockArg::Value(y)];
        match slow {
            Some(slow) => {
                self.b.ins().brif(ok, go, &args, slow, &[]);
            }
            None => {
                self.guard(ok, dpc, operands);
                self.b.ins().jump(go, &args);
            }
        }
        self.b.switch_to_block(go);
        (self.b.block_params(go)[0], self.b.block_params(go)[1])
    }

    /// `it` as an f64 when it is a number, and an i8 that says whether it
    /// is one (a constant when its kind is known). `exact`: an Int counts
    /// only when the f64 holds it exactly (|n| ≤ 2^53), for comparisons,
    /// which compare an Int and a Float exactly (`Value::compare`).
    pub(super) fn num_f64(&mut self, it: Item, exact: bool) -> (ir::Value, ir::Value) {
        let is_int = self.tag_is(it, INT);
        let is_float = self.tag_is(it, FLOAT);
        let i = self.b.ins().fcvt_from_sint(F64, it.pay);
        let f = self.b.ins().bitcast(F64, MemFlags::new(), it.pay);
        let x = match it.known {
            Some(INT) => i,
            Some(FLOAT) => f,
            _ => self.b.ins().select(is_int, i, f),
        };
        let int_ok = if exact && it.known != Some(FLOAT) {
            let limit = 1i64 << 53;
            let off = self.b.ins().iadd_imm(it.pay, limit);
            let fits = self
                .b
                .ins()
                .icmp_imm(IntCC::UnsignedLessThanOrEqual, off, 2 * limit);
            self.b.ins().band(is_int, fits)
        } else {
            is_int
        };
        let ok = self.b.ins().bor(int_ok, is_float);
        (x, ok)
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

    /// An Int or Float operand as an f64, with a side exit for others (a
    /// Float on the fast path, an Int converted in a cold block).
    pub(super) fn as_f64(&mut self, it: &mut Item, dpc: u32, operands: &[Item]) -> ir::Value {
        match it.known {
            Some(INT) => self.b.ins().fcvt_from_sint(F64, it.pay),
            Some(FLOAT) => self.b.ins().bitcast(F64, MemFlags::new(), it.pay),
            _ => {
                let is_float = self.tag_is(*it, FLOAT);
                let f = self.b.ins().bitcast(F64, MemFlags::new(), it.pay);
                let conv = self.b.create_block();
                self.b.set_cold_block(conv);
                let go = self.b.create_block();
                self.b.append_block_param(go, F64);
                self.b
                    .ins()
                    .brif(is_float, go, &[BlockArg::Value(f)], conv, &[]);
                self.b.switch_to_block(conv);
                let is_int = self.tag_is(*it, INT);
                self.guard(is_int, dpc, operands);
                let i = self.b.ins().fcvt_from_sint(F64, it.pay);
                self.b.ins().jump(go, &[BlockArg::Value(i)]);
                self.b.switch_to_block(go);
                self.b.block_params(go)[0]
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

    /// EQ NE GT LT GE LE: Int∘Int and any two numbers as Floats inline
    /// (an Int and a Float are compared exactly, `Value::compare`: as
    /// Floats when the Int converts exactly, |n| ≤ 2^53, through the
    /// helper otherwise); anything else through the helper (the result is
    /// always an Int).
    pub(super) fn compare(&mut self, icc: IntCC, fcc: FloatCC, at: u32, dpc: u32) {
        let [mut a, mut b] = self.operands_n::<2>(dpc);
        // The values below stay in registers where the slow path is the
        // `data` helper (it borrows only the operands, and its raising
        // exit writes the virtual stack like any exit); where it is
        // `E::interpret`, both paths must agree on what is in memory.
        if E::INT_ONLY {
            self.flush_below(0);
        }
        let floats = a.known == Some(FLOAT) || b.known == Some(FLOAT);
        let ints = a.known == Some(INT) || b.known == Some(INT) || (E::INT_ONLY && !floats);
        let unknown_is_var = [a, b]
            .iter()
            .all(|it| it.known.is_some() || it.slot.is_some());
        let both_known = a.known.is_some() && b.known.is_some();
        let same = both_known && a.known == b.known;
        let speculate = numeric(a.known)
            && numeric(b.known)
            && ((same && (ints || floats)) || (ints && !floats && (E::INT_ONLY || unknown_is_var)));
        if speculate {
            // Both of one kind (known, or one side's kind is known and the
            // other is a variable): speculate that both are of it, with a
            // side exit otherwise (the interpreter compares mixed kinds),
            // and learn the other's tag.
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
            if !E::INT_ONLY {
                // Strings, lists, Bools, Null: the `data` helper compares
                // them borrowed (`exec::ops::compare`), without the generic
                // helper's context round trip; a comparison that raises
                // leaves at the instruction.
                let r = self.compare_helper(at, a, b, dpc);
                self.push_int(r);
                return;
            }
            // The complete semantics (`E::interpret`: leaving the path).
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
        // With one side known to be a Float, only the Float path.
        if !floats {
            self.both_int(a, b, int_blk, not_int);
        } else {
            self.b.ins().jump(not_int, &[]);
        }
        self.b.switch_to_block(not_int);
        let (x, y) = self.float_pair(a, b, true, dpc, &[a, b], Some(slow));
        self.b.ins().jump(float_blk, &[]);
        // Int∘Int
        self.b.switch_to_block(int_blk);
        let c = self.b.ins().icmp(icc, a.pay, b.pay);
        let r = self.b.ins().uextend(I64, c);
        self.b.ins().jump(join, &[BlockArg::Value(r)]);
        // Two numbers as Floats.
        self.b.switch_to_block(float_blk);
        let c = self.b.ins().fcmp(fcc, x, y);
        let r = self.b.ins().uextend(I64, c);
        self.b.ins().jump(join, &[BlockArg::Value(r)]);
        // Anything else: the helper.
        self.b.switch_to_block(slow);
        let saved = self.stack.clone();
        if !E::INT_ONLY {
            let r = self.compare_helper(at, a, b, dpc);
            self.b.ins().jump(join, &[BlockArg::Value(r)]);
            self.stack = saved;
        } else {
            match E::interpret(self, at, dpc, &[a, b]) {
                Some(pay) => {
                    self.b.ins().jump(join, &[BlockArg::Value(pay)]);
                }
                None => self.stack = saved,
            }
        }
        self.b.switch_to_block(join);
        let r = self.b.block_params(join)[0];
        self.push_int(r);
    }

    /// EQ NE GT LT GE LE of `a` and `b` through the `data` helper: the
    /// result (0 or 1). The helper takes the operands when it answers (`jit::DATA_OWNED`: no inline drops of two
    /// values of unknown kinds at every comparison site, which made the
    /// integer path of `qsort_lists` 7% slower through the code's size);
    /// when the comparison raises (`LT` of a string and an Int), compiled
    /// code leaves at `dpc` with the operands, still its own, on the stack.
    fn compare_helper(&mut self, at: u32, a: Item, b: Item, dpc: u32) -> ir::Value {
        // EQ/NE with a string constant or Null: inline (`strings`).
        if let Some(r) = self.eq_const(at, a, b, dpc) {
            return r;
        }
        let op = self.input.program.code[at as usize].opcode() as u32;
        let (_, r) = self.data_helper_with(op | crate::jit::DATA_OWNED, &[a, b], dpc);
        r
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
