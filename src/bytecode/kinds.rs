//! What the tiers know of an instruction besides its operands: how control
//! flows out of it, its operator family, how the JIT compiles it and the
//! static facts of the op table (`ops.rs`, whose columns these are).

use super::operand::Shape;
use super::ops::{Opcode, OPS};

/// How control flows out of an instruction (the `control` column). Not
/// to be confused with `exec::Control`, the control word that says how one
/// execution of an instruction (or a slice) ended at run time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// Falls through to the next instruction.
    Next,
    /// Ends its basic block and falls through.
    Ends,
    /// Ends its basic block; a process can wait in it, and resumes at the
    /// instruction itself.
    Waits,
    /// Ends its basic block and never falls through.
    Leaves,
    /// Never falls through, without ending a block.
    Stops,
}

impl Flow {
    /// A basic block starts right after it (SPEC §4.6).
    pub const fn ends_block(self) -> bool {
        matches!(self, Flow::Ends | Flow::Waits | Flow::Leaves)
    }

    /// Control never reaches the next instruction.
    pub const fn no_fallthrough(self) -> bool {
        matches!(self, Flow::Leaves | Flow::Stops)
    }
}

/// The binary arithmetic operators (`arith`/`arith_f` families).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arith {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

/// The comparisons (`cmp`/`cmp_f` families).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
}

/// What the tiers know of an instruction's kind (the `family` column).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// Pushes a constant made from its operand.
    Const,
    /// An Int-or-Float arithmetic operator.
    Arith(Arith),
    /// An arithmetic operator on Floats.
    ArithF(Arith),
    /// A comparison (structural for EQ/NE).
    Cmp(Cmp),
    /// A numeric comparison (within the epsilon for EQ_F/NE_F).
    CmpF(Cmp),
    /// An unconditional jump to its target.
    Jump,
    /// A conditional jump: taken when the popped value's truth is `jump_if`.
    Branch {
        jump_if: bool,
    },
    /// `a b -- a'`: `b` added to the end of `a` (APPEND, or CONCAT's text).
    Grow {
        concat: bool,
    },
    /// Makes a frame and enters a function (CALL, CALL_FUNCTION).
    Call,
    /// Leaves the frame.
    Ret,
    /// Rearranges the operand stack (DUP POP SWAP OVER).
    Shuffle,
    /// Reads or writes a variable (LOAD STORE).
    Var,
    Other,
}

/// How the JIT compiles an instruction (the `jit` column).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JitClass {
    /// Its own lowering (`jit/lower.rs`).
    Inline,
    /// A call of the generic helper (the complete semantics, `exec::semantics`).
    Helper,
    /// The generic helper, which may write the frame's variables.
    HelperWrites,
    /// The generic helper, after which control never falls through.
    HelperEnds,
    /// The generic helper, which may empty the variable the STORE right
    /// after it writes (to update the value in place): it is read again.
    HelperReleases,
    /// A library operation (`src/library/`): one call of the library
    /// helper, which pops exactly `pops` values and pushes `pushes`.
    Library,
    /// A library operation (the interpreter runs it as `Library`) with a
    /// lowering of its own in the JIT (`jit/lower/math.rs`: the number
    /// operations that are machine instructions), which leaves compiled
    /// code for the operands it has no fast path for.
    LibraryInline,
    /// Its own lowering for the common case (a list's element or length,
    /// an object's field named by the operand: `jit/lower/fields.rs`), and
    /// a call of a helper for the rest (the generic one for a field
    /// named by a string on the stack); it takes heap values, so a function that contains it has no
    /// direct entry (whose frames hold unboxed values only).
    InlineHeap,
}

impl JitClass {
    /// Whether the JIT lowers it itself (`inline` or `library_inline`).
    pub fn is_inline(self) -> bool {
        matches!(self, JitClass::Inline | JitClass::LibraryInline)
    }
}

/// Static facts about an opcode.
#[derive(Debug)]
pub struct OpInfo {
    pub opcode: Opcode,
    pub mnemonic: &'static str,
    pub shape: Shape,
    /// `-1`: depends on the operand or on the value called.
    pub pops: i8,
    pub pushes: i8,
    pub ends_block: bool,
    pub no_fallthrough: bool,
    pub control: Flow,
    pub family: Family,
    pub jit: JitClass,
    /// A library operation (`src/library/`): the `jit` column's `library`.
    pub library: bool,
    /// A process operation (`rt` or `io` cost).
    pub process: bool,
    /// A blocking operation (`io` cost): it runs on an I/O thread while
    /// its process waits in it (`exec::semantics::io`).
    pub blocking: bool,
    pub section: &'static str,
    pub summary: &'static str,
}

impl Arith {
    /// The mnemonic of the operator (`float`: its `_F` form; MOD has none).
    pub fn mnemonic(self, float: bool) -> &'static str {
        let of = |f: fn(Arith) -> Family| OPS.iter().find(|o| o.family == f(self));
        float
            .then(|| of(Family::ArithF))
            .flatten()
            .or_else(|| of(Family::Arith))
            .map_or("?", |o| o.mnemonic)
    }
}

impl Cmp {
    /// The mnemonic of the comparison (`float`: its `_F` form).
    pub fn mnemonic(self, float: bool) -> &'static str {
        let f = if float {
            Family::CmpF(self)
        } else {
            Family::Cmp(self)
        };
        OPS.iter()
            .find(|o| o.family == f)
            .map_or("?", |o| o.mnemonic)
    }
}
