//! The number operations of the library that are machine instructions
//! (the op table's `library_inline`): SQRT, FLOOR, CEIL, ROUND, ABS, MIN
//! and MAX. The interpreter runs them in `src/library/math.rs`; the
//! lowering here computes the same results for numbers and leaves
//! compiled code (a side exit, in every frame environment) for anything
//! else — a string for MIN/MAX, a value of no number kind, a result that
//! raises (FLOOR of NaN or of a Float beyond the Ints, ABS of the
//! smallest Int), MIN/MAX of an Int and a Float (compared exactly there):
//! the interpreter runs the instruction with its complete semantics.

use super::{FrameEnv, Item, Lower, FLOAT, INT};
use crate::bytecode::Instr;
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::types::{F64, I64, I8};
use cranelift_codegen::ir::{self, BlockArg, InstBuilder, MemFlags};

/// 2^63 as an f64: Floats in [-2^63, 2^63) have an Int value.
const TWO_63: f64 = 9_223_372_036_854_775_808.0;

impl<E: FrameEnv> Lower<'_, '_, '_, E> {
    /// Lower one of the `library_inline` operations.
    pub(super) fn math(&mut self, instr: &Instr, dpc: u32) {
        match instr {
            Instr::Sqrt(_) => {
                let [mut a] = self.operands_n::<1>(dpc);
                if !super::numeric(a.known) {
                    return self.exit_always(&[a], dpc);
                }
                let ops = [a];
                let x = self.as_f64(&mut a, dpc, &ops);
                let r = self.b.ins().sqrt(x);
                self.push_f64(r);
            }
            Instr::Floor(_) | Instr::Ceil(_) | Instr::Round(_) => self.rounded_int(instr, dpc),
            Instr::Abs(_) => self.abs(dpc),
            Instr::Min(_) => self.min_max(false, dpc),
            Instr::Max(_) => self.min_max(true, dpc),
            other => unreachable!("{} is not a number operation", other.opcode().mnemonic()),
        }
    }

    fn push_f64(&mut self, r: ir::Value) {
        let r = self.b.ins().bitcast(I64, MemFlags::new(), r);
        let it = self.item(FLOAT, r);
        self.stack.push(it);
    }

    /// FLOOR CEIL ROUND: an Int as it is; a Float rounded, when the result
    /// has an Int value (else the interpreter raises).
    fn rounded_int(&mut self, instr: &Instr, dpc: u32) {
        let [a] = self.operands_n::<1>(dpc);
        match a.known {
            Some(INT) => {
                self.stack.push(a);
                return;
            }
            Some(FLOAT) | None => {}
            Some(_) => return self.exit_always(&[a], dpc),
        }
        let is_int = self.tag_is(a, INT);
        let is_float = self.tag_is(a, FLOAT);
        let x = self.b.ins().bitcast(F64, MemFlags::new(), a.pay);
        let y = match instr {
            Instr::Floor(_) => self.b.ins().floor(x),
            Instr::Ceil(_) => self.b.ins().ceil(x),
            _ => {
                // Halves away from zero (f64::round): the integral part,
                // plus the sign when the fraction is at least a half (the
                // fraction x - trunc(x) is exact).
                let t = self.b.ins().trunc(x);
                let d = self.b.ins().fsub(x, t);
                let d = self.b.ins().fabs(d);
                let half = self.b.ins().f64const(0.5);
                let up = self.b.ins().fcmp(FloatCC::GreaterThanOrEqual, d, half);
                let one = self.b.ins().f64const(1.0);
                let sign = self.b.ins().fcopysign(one, x);
                let zero = self.b.ins().f64const(0.0);
                let adj = self.b.ins().select(up, sign, zero);
                self.b.ins().fadd(t, adj)
            }
        };
        let lo = self.b.ins().f64const(-TWO_63);
        let hi = self.b.ins().f64const(TWO_63);
        let ge = self.b.ins().fcmp(FloatCC::GreaterThanOrEqual, y, lo);
        let lt = self.b.ins().fcmp(FloatCC::LessThan, y, hi);
        let in_range = self.b.ins().band(ge, lt);
        let float_ok = self.b.ins().band(is_float, in_range);
        let ok = self.b.ins().bor(is_int, float_ok);
        self.guard(ok, dpc, &[a]);
        let n = self.b.ins().fcvt_to_sint_sat(I64, y);
        let r = match a.known {
            Some(FLOAT) => n,
            _ => self.b.ins().select(is_int, a.pay, n),
        };
        self.push_int(r);
    }

    /// ABS: an Int stays an Int (the smallest raises), a Float's sign
    /// cleared.
    fn abs(&mut self, dpc: u32) {
        let [a] = self.operands_n::<1>(dpc);
        if !super::numeric(a.known) {
            return self.exit_always(&[a], dpc);
        }
        let is_int = self.tag_is(a, INT);
        let is_float = self.tag_is(a, FLOAT);
        let min = self.b.ins().icmp_imm(IntCC::Equal, a.pay, i64::MIN);
        let bad_int = self.b.ins().band(is_int, min);
        let int_ok = self.b.ins().bxor_imm(bad_int, 1);
        let num = self.b.ins().bor(is_int, is_float);
        let ok = self.b.ins().band(num, int_ok);
        self.guard(ok, dpc, &[a]);
        let i = self.b.ins().iabs(a.pay);
        let f = self.b.ins().band_imm(a.pay, i64::MAX);
        let pay = match a.known {
            Some(INT) => i,
            Some(FLOAT) => f,
            _ => self.b.ins().select(is_int, i, f),
        };
        self.stack.push(Item {
            tag: a.tag,
            pay,
            known: a.known,
            slot: None,
        });
    }

    /// MIN MAX of two Ints or two Floats: the chosen operand as it is (the
    /// first on a tie), NaN when either is NaN.
    fn min_max(&mut self, max: bool, dpc: u32) {
        let [a, b] = self.operands_n::<2>(dpc);
        let kinds = (a.known, b.known);
        if !super::numeric(a.known)
            || !super::numeric(b.known)
            || kinds == (Some(INT), Some(FLOAT))
            || kinds == (Some(FLOAT), Some(INT))
        {
            return self.exit_always(&[a, b], dpc);
        }
        let int_possible = a.known != Some(FLOAT) && b.known != Some(FLOAT);
        let float_possible = a.known != Some(INT) && b.known != Some(INT);
        let join = self.b.create_block();
        self.b.append_block_param(join, I8);
        self.b.append_block_param(join, I64);
        let int_blk = self.b.create_block();
        let float_blk = self.b.create_block();
        let ia = self.tag_is(a, INT);
        let ib = self.tag_is(b, INT);
        let ints = self.b.ins().band(ia, ib);
        let fa = self.tag_is(a, FLOAT);
        let fb = self.tag_is(b, FLOAT);
        let floats = self.b.ins().band(fa, fb);
        let ok = self.b.ins().bor(ints, floats);
        self.guard(ok, dpc, &[a, b]);
        match (int_possible, float_possible) {
            (true, false) => {
                self.b.ins().jump(int_blk, &[]);
            }
            (false, true) => {
                self.b.ins().jump(float_blk, &[]);
            }
            _ => {
                self.b.ins().brif(ints, int_blk, &[], float_blk, &[]);
            }
        }
        // Two Ints: the second when it is smaller (MIN) or larger (MAX).
        self.b.switch_to_block(int_blk);
        let cc = if max {
            IntCC::SignedLessThan
        } else {
            IntCC::SignedGreaterThan
        };
        let second = self.b.ins().icmp(cc, a.pay, b.pay);
        let r = self.b.ins().select(second, b.pay, a.pay);
        let t = self.b.ins().iconst(I8, INT as i64);
        self.b
            .ins()
            .jump(join, &[BlockArg::Value(t), BlockArg::Value(r)]);
        // Two Floats: likewise, and NaN when either is NaN.
        self.b.switch_to_block(float_blk);
        let x = self.b.ins().bitcast(F64, MemFlags::new(), a.pay);
        let y = self.b.ins().bitcast(F64, MemFlags::new(), b.pay);
        let cc = if max {
            FloatCC::LessThan
        } else {
            FloatCC::GreaterThan
        };
        let second = self.b.ins().fcmp(cc, x, y);
        let r = self.b.ins().select(second, b.pay, a.pay);
        let nan = self.b.ins().fcmp(FloatCC::Unordered, x, y);
        let canonical = self.b.ins().iconst(I64, f64::NAN.to_bits() as i64);
        let r = self.b.ins().select(nan, canonical, r);
        let t = self.b.ins().iconst(I8, FLOAT as i64);
        self.b
            .ins()
            .jump(join, &[BlockArg::Value(t), BlockArg::Value(r)]);
        self.b.switch_to_block(join);
        let tag = self.b.block_params(join)[0];
        let pay = self.b.block_params(join)[1];
        let known = match (int_possible, float_possible) {
            (true, false) => Some(INT),
            (false, true) => Some(FLOAT),
            _ => None,
        };
        self.stack.push(Item {
            tag,
            pay,
            known,
            slot: None,
        });
    }
}
