//! Branches on constants, folded before Cranelift sees the function.
//!
//! The translator tests kinds with `tag_is` and friends, which give a
//! constant when the operand's kind is known (`Item::known`, the facts
//! carried across blocks): `brif` on such a test still names both
//! successors, and Cranelift 0.132 neither folds a `brif` whose condition
//! is a constant nor removes what only its dead edge reaches — the dead
//! path (an ASCII string's character where the operand is known to be a
//! list, a helper call where both operands are known to be Ints, …) is
//! optimised, register-allocated and emitted like live code. Here each
//! `brif` whose condition evaluates to a constant becomes a `jump` along
//! the edge it takes; Cranelift's unreachable-code pass (the first of
//! `Context::optimize`) then drops every block nothing reaches any more,
//! and `remove_constant_phis` the block parameters that became constant.
//! Nothing changes at run time but the code's size: the edge not taken
//! was never taken.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{Function, InstructionData, Opcode, Value, ValueDef};

/// How deep the evaluation of a condition goes (through `band`, `bor`,
/// comparisons and extensions) before it gives up.
const MAX_DEPTH: u32 = 8;

/// The value of `v` when it is a constant the evaluation can see through,
/// zero-extended from its type's width.
fn constant(func: &Function, v: Value, depth: u32) -> Option<u64> {
    if depth > MAX_DEPTH {
        return None;
    }
    let v = func.dfg.resolve_aliases(v);
    let ValueDef::Result(inst, 0) = func.dfg.value_def(v) else {
        return None;
    };
    let bits = func.dfg.value_type(v).bits();
    if bits == 0 || bits > 64 {
        return None;
    }
    let mask = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let c = |x: Value| constant(func, x, depth + 1);
    let r = match func.dfg.insts[inst] {
        InstructionData::UnaryImm {
            opcode: Opcode::Iconst,
            imm,
        } => imm.bits() as u64,
        InstructionData::Binary { opcode, args } => match opcode {
            // One known side may decide alone.
            Opcode::Band => match (c(args[0]), c(args[1])) {
                (Some(0), _) | (_, Some(0)) => 0,
                (Some(a), Some(b)) => a & b,
                _ => return None,
            },
            Opcode::Bor => match (c(args[0]), c(args[1])) {
                (Some(a), _) if a & mask == mask => mask,
                (_, Some(b)) if b & mask == mask => mask,
                (Some(a), Some(b)) => a | b,
                _ => return None,
            },
            Opcode::Bxor => c(args[0])? ^ c(args[1])?,
            _ => return None,
        },
        InstructionData::BinaryImm64 { opcode, arg, imm } => {
            let a = c(arg)?;
            let k = imm.bits() as u64;
            match opcode {
                Opcode::BandImm => a & k,
                Opcode::BorImm => a | k,
                Opcode::BxorImm => a ^ k,
                _ => return None,
            }
        }
        InstructionData::IntCompare { cond, args, .. } => {
            let w = func.dfg.value_type(args[0]).bits();
            compare(cond, c(args[0])?, c(args[1])?, w)? as u64
        }
        InstructionData::IntCompareImm { cond, arg, imm, .. } => {
            let w = func.dfg.value_type(arg).bits();
            compare(cond, c(arg)?, imm.bits() as u64, w)? as u64
        }
        InstructionData::Unary {
            opcode: Opcode::Uextend | Opcode::Ireduce,
            arg,
        } => c(arg)?,
        _ => return None,
    };
    Some(r & mask)
}

/// `a cond b` for two values of `w` bits (zero-extended in `a` and `b`).
fn compare(cond: IntCC, a: u64, b: u64, w: u32) -> Option<bool> {
    if w == 0 || w > 64 {
        return None;
    }
    let mask = if w == 64 { u64::MAX } else { (1u64 << w) - 1 };
    let (ua, ub) = (a & mask, b & mask);
    let sx = |x: u64| ((x << (64 - w)) as i64) >> (64 - w);
    let (sa, sb) = (sx(ua), sx(ub));
    Some(match cond {
        IntCC::Equal => ua == ub,
        IntCC::NotEqual => ua != ub,
        IntCC::UnsignedLessThan => ua < ub,
        IntCC::UnsignedLessThanOrEqual => ua <= ub,
        IntCC::UnsignedGreaterThan => ua > ub,
        IntCC::UnsignedGreaterThanOrEqual => ua >= ub,
        IntCC::SignedLessThan => sa < sb,
        IntCC::SignedLessThanOrEqual => sa <= sb,
        IntCC::SignedGreaterThan => sa > sb,
        IntCC::SignedGreaterThanOrEqual => sa >= sb,
    })
}

/// Replace every `brif` of `func` whose condition is a constant by a
/// `jump` along the edge it takes (with that edge's arguments): how many.
pub(super) fn constant_branches(func: &mut Function) -> usize {
    let mut folded = 0;
    let blocks: Vec<_> = func.layout.blocks().collect();
    for block in blocks {
        let Some(inst) = func.layout.last_inst(block) else {
            continue;
        };
        let InstructionData::Brif { arg, blocks, .. } = func.dfg.insts[inst] else {
            continue;
        };
        let Some(k) = constant(func, arg, 0) else {
            continue;
        };
        let taken = if k != 0 { blocks[0] } else { blocks[1] };
        func.dfg.insts[inst] = InstructionData::Jump {
            opcode: Opcode::Jump,
            destination: taken,
        };
        folded += 1;
    }
    folded
}

#[cfg(test)]
mod tests {
    use super::*;
    use cranelift_codegen::ir::types::{I64, I8};
    use cranelift_codegen::ir::{AbiParam, InstBuilder, Signature, UserFuncName};
    use cranelift_codegen::isa::CallConv;
    use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};

    /// `f(x) = if (K1 & K2) == want { x } else { x + 1 }` with the
    /// condition built from constants, and one more `brif` on `x` itself.
    fn build(k1: i64, k2: i64) -> Function {
        let mut sig = Signature::new(CallConv::SystemV);
        sig.params.push(AbiParam::new(I64));
        sig.returns.push(AbiParam::new(I64));
        let mut func = Function::with_name_signature(UserFuncName::user(0, 0), sig);
        let mut ctx = FunctionBuilderContext::new();
        let mut b = FunctionBuilder::new(&mut func, &mut ctx);
        let entry = b.create_block();
        let yes = b.create_block();
        let no = b.create_block();
        let other = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        let x = b.block_params(entry)[0];
        let a = b.ins().iconst(I8, k1);
        let c = b.ins().iconst(I8, k2);
        let both = b.ins().band(a, c);
        let is = b.ins().icmp_imm(IntCC::Equal, both, 1);
        let wide = b.ins().uextend(I64, is);
        b.ins().brif(wide, yes, &[], no, &[]);
        b.switch_to_block(yes);
        b.ins().brif(x, other, &[], no, &[]);
        b.switch_to_block(other);
        b.ins().return_(&[x]);
        b.switch_to_block(no);
        let y = b.ins().iadd_imm(x, 1);
        b.ins().return_(&[y]);
        b.seal_all_blocks();
        b.finalize();
        func
    }

    fn jumps(func: &Function) -> usize {
        func.layout
            .blocks()
            .filter_map(|blk| func.layout.last_inst(blk))
            .filter(|&i| func.dfg.insts[i].opcode() == Opcode::Jump)
            .count()
    }

    #[test]
    fn a_constant_condition_becomes_a_jump_along_its_edge() {
        let mut f = build(1, 1);
        assert_eq!(constant_branches(&mut f), 1);
        assert_eq!(jumps(&f), 1);
        let entry = f.layout.entry_block().unwrap();
        let last = f.layout.last_inst(entry).unwrap();
        let InstructionData::Jump { destination, .. } = f.dfg.insts[last] else {
            panic!("not a jump");
        };
        // `yes` is the second block created.
        assert_eq!(destination.block(&f.dfg.value_lists).as_u32(), 1);
        let mut f = build(1, 0);
        assert_eq!(constant_branches(&mut f), 1);
        let last = f.layout.last_inst(entry).unwrap();
        let InstructionData::Jump { destination, .. } = f.dfg.insts[last] else {
            panic!("not a jump");
        };
        assert_eq!(destination.block(&f.dfg.value_lists).as_u32(), 2);
    }

    #[test]
    fn a_branch_on_a_variable_stays() {
        let mut f = build(1, 1);
        constant_branches(&mut f);
        let brifs = f
            .layout
            .blocks()
            .filter_map(|blk| f.layout.last_inst(blk))
            .filter(|&i| f.dfg.insts[i].opcode() == Opcode::Brif)
            .count();
        assert_eq!(brifs, 1);
    }

    #[test]
    fn comparisons_follow_their_width_and_sign() {
        assert_eq!(compare(IntCC::SignedLessThan, 0xff, 0, 8), Some(true));
        assert_eq!(compare(IntCC::UnsignedLessThan, 0xff, 0, 8), Some(false));
        assert_eq!(compare(IntCC::SignedLessThanOrEqual, 0, 0, 64), Some(true));
        assert_eq!(
            compare(IntCC::UnsignedGreaterThan, u64::MAX, 1, 64),
            Some(true)
        );
    }
}
