//! What the per-instruction lowering does not decide: the *frame
//! environment* of the code being translated (in the manner of
//! wasmtime's `FuncEnvironment`, which tells cranelift-wasm's one
//! operator translator how the embedder lays out memories, tables and
//! calls).
//!
//! The lowering of an instruction (`Lower::instr` and the files beside
//! it: `arith`, `vars`, `state`, `exits`) is written once, generic over a
//! [`FrameEnv`]; it knows the instruction, the function builder and the
//! virtual operand stack. Everything that depends on *which kind of code*
//! is being made goes through the environment's hooks:
//!
//! - **where frame values live**: in the process's memory, mirrored in
//!   Cranelift variables ([`Ordinary`], `ordinary.rs`: slots written
//!   through on every STORE, the virtual stack flushed at block ends and
//!   before helpers, lengths and budget saved to `JitEnv`), or only in SSA
//!   values and Cranelift variables ([`Direct`](super::direct::Direct),
//!   `direct.rs`: nothing written until the frame leaves);
//! - **how to leave**: a side exit to the engine at the instruction (X1
//!   in src/jit/README.md), or the direct-leave chain (D2–D4);
//! - **how to call**: frames made in memory and native calls through the
//!   units' code cells, or direct calls in registers (with inline
//!   returns, `inline.rs`);
//! - **how to run what has no inline lowering**: a helper call
//!   (`for_each_helper!`), or — where the frame is not in memory — the
//!   `value` helper on owned operands for the few operations a direct
//!   entry's plan admits, or not at all;
//! - **whether reference counts apply** (a path lowered inline holds
//!   unboxed values only).
//!
//! A new instruction is lowered once, in terms of these hooks, and works
//! in every environment; a new environment (issue 15: process bodies,
//! frames that hold heap values) is one more implementation.

use super::{Item, Lower};
use crate::bytecode::Callee as CallInstr;
use cranelift_codegen::ir;

/// How an instruction that the op table says runs through a helper
/// (`JitClass`, or the fused in-place update) is to be run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Helper {
    /// The generic helper; control goes on after it.
    Generic,
    /// The generic helper, which writes this frame's variables.
    Writes,
    /// The generic helper; control never falls through.
    Ends,
    /// The generic helper, which may empty the variable the STORE after
    /// it writes (`exec::semantics::release_for_store`).
    Releases,
    /// The library helper (issue 14).
    Library,
    /// `LOAD x; <operand>; APPEND|CONCAT; STORE x` in place (the slot of
    /// `x`): the update helper.
    Update(u32),
}

/// The frame environment of a translation (see the module comment). The
/// hooks are associated functions given the whole lowering, so that an
/// environment can use the builder and the virtual stack as the
/// instruction lowering does; its own state is `Lower::mode`.
pub(super) trait FrameEnv: Sized {
    /// Arithmetic and comparisons on two operands of unknown kinds
    /// speculate Int (anything else leaves) instead of testing for both
    /// Ints and both Floats: for code whose exits cost little and that is
    /// tried on every call (inline returns, whose exit is the real call).
    const INT_ONLY: bool = false;
    /// A LOAD that is its variable's last use (`Program::moves`) takes a
    /// heap value out of the slot, as the interpreter does; an environment
    /// holding unboxed values only copies (which is always correct).
    const MOVES: bool = false;
    /// A LOAD whose value the next instruction only reads pushes it
    /// without a reference of its own (`Lower::borrow_site`): where values
    /// are counted, which is where LOADs move.
    const BORROWS: bool = Self::MOVES;
    /// `LOAD x; <operand>; APPEND|CONCAT; STORE x` is one helper call
    /// (`Helper::Update`, on the frame in memory); otherwise its four
    /// instructions are lowered one by one (the LOAD moves, so the update
    /// is in place all the same).
    const FUSES_UPDATES: bool = true;
    /// [`FrameEnv::interpret`] writes the virtual operand stack below its
    /// operands to memory: an instruction with a fast path and that way
    /// out writes it first on both (`Lower::value_op`).
    const FLUSH_FOR_INTERPRET: bool = false;
    /// SET_FIELD of a constant name tries the guarded in-place store
    /// (`Lower::write_field_fast`) before the `value` helper, and the
    /// helper is given the site's cell to teach it the field's position
    /// (direct entries and ordinary code; not inline returns, which
    /// count nothing).
    const GUARDED_FIELD_STORE: bool = false;

    // ---- where frame values live ----------------------------------------

    /// Write what compiled code keeps in registers (the operand stack's
    /// length, the budget) to where the engine reads it.
    fn save_state(l: &mut Lower<'_, '_, '_, Self>);
    /// Read it back (after a helper may have changed it).
    fn reload_state(l: &mut Lower<'_, '_, '_, Self>);
    /// Write all but the top `keep` values of the virtual operand stack to
    /// where the frame's operands live between blocks.
    fn flush_below(l: &mut Lower<'_, '_, '_, Self>, keep: usize);
    /// `need` operands below the virtual stack's, popped from where they
    /// live (bottom first); `checked`: their presence is not proven
    /// (`Program::min_depth`), leave at `dpc` when they are not there.
    fn operands_below(
        l: &mut Lower<'_, '_, '_, Self>,
        need: usize,
        checked: bool,
        dpc: u32,
    ) -> Vec<Item>;
    /// The value (tag, payload) of variable slot `s`: by default its
    /// Cranelift variables (or, in ordinary code, its memory when it has
    /// none, `Lower::var_slot`).
    fn slot(l: &mut Lower<'_, '_, '_, Self>, s: usize) -> (ir::Value, ir::Value) {
        l.var_slot(s)
    }
    /// A STORE of `v` into slot `s`, whose old tag was `old_known`: write
    /// it where the slot lives.
    fn write_slot(l: &mut Lower<'_, '_, '_, Self>, s: usize, v: Item, old_known: Option<u8>);
    /// LOAD's checks of the value `it` of slot `slot` (an unset variable
    /// leaves at `dpc`; a heap value gains a reference): `false` when it
    /// surely leaves (the rest of the block is dead).
    fn load_checks(l: &mut Lower<'_, '_, '_, Self>, slot: u32, it: Item, dpc: u32) -> bool;

    // ---- reference counts -----------------------------------------------

    /// Call `f(tag, payload)` (clone or drop) when `it` is a heap value.
    fn refcount(l: &mut Lower<'_, '_, '_, Self>, f: ir::FuncRef, it: Item);

    // ---- how to leave ---------------------------------------------------

    /// Leave compiled code now at decoded address `dpc` with the virtual
    /// stack as it is; the interpreter runs the instruction there.
    fn exit(l: &mut Lower<'_, '_, '_, Self>, dpc: u32);
    /// A block that leaves at `dpc` whatever the virtual stack holds, when
    /// the environment has one (guards then branch to it directly instead
    /// of to a block of their own that leaves).
    fn exit_block(_l: &mut Lower<'_, '_, '_, Self>, _dpc: u32) -> Option<ir::Block> {
        None
    }
    /// Control goes on at block `target`: by default a jump to its
    /// Cranelift block, or out of the function when it has none
    /// (`Lower::jump_within`).
    fn jump(l: &mut Lower<'_, '_, '_, Self>, target: u32) {
        l.jump_within(target);
    }
    /// A conditional branch on `truth` (an i8 0/1) to block `on_true` or
    /// `on_false` (by default `Lower::branch_within`).
    fn branch(l: &mut Lower<'_, '_, '_, Self>, truth: ir::Value, on_true: u32, on_false: u32) {
        l.branch_within(truth, on_true, on_false);
    }
    /// Control goes from the current block to the function's block
    /// `target` (what is known along the edge, and where the operands go).
    fn edge(l: &mut Lower<'_, '_, '_, Self>, target: u32);
    /// Where the code of the block being lowered stops short of its end
    /// (a part's cut, `regions`), if anywhere.
    fn cut(l: &Lower<'_, '_, '_, Self>) -> Option<u32>;

    // ---- how to call ----------------------------------------------------

    /// CALL at `at` (ends the block).
    fn call(l: &mut Lower<'_, '_, '_, Self>, at: u32, dpc: u32, c: &CallInstr);
    /// CALL_FUNCTION at `at` (ends the block).
    fn call_function(l: &mut Lower<'_, '_, '_, Self>, at: u32, dpc: u32);
    /// RET at `at` (ends the block).
    fn ret(l: &mut Lower<'_, '_, '_, Self>, at: u32, dpc: u32);

    // ---- what has no inline lowering --------------------------------------

    /// Before the instruction at `at` is lowered (wasmtime's
    /// `before_translate_operator`): `false` when the environment ends the
    /// code here instead (it has ended the current block).
    fn before_instr(_l: &mut Lower<'_, '_, '_, Self>, _at: u32) -> bool {
        true
    }

    /// Run instruction `at` (`instr`) as `how` says.
    fn helper(
        l: &mut Lower<'_, '_, '_, Self>,
        at: u32,
        dpc: u32,
        instr: &crate::bytecode::Instr,
        how: Helper,
    );
    /// Run instruction `at` with its complete semantics on `operands`
    /// (put back on the virtual stack first), for its one result: the
    /// result's payload, or `None` when control does not come back here
    /// (it left compiled code; the virtual stack then holds the operands).
    fn interpret(
        l: &mut Lower<'_, '_, '_, Self>,
        at: u32,
        dpc: u32,
        operands: &[Item],
    ) -> Option<ir::Value>;
}

/// Ordinary compiled code: the unit's frame in the process's memory,
/// side exits to the engine, helper calls, native calls through memory
/// frames (`ordinary.rs`, `calls.rs`).
pub(super) struct Ordinary;
