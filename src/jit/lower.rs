//! Translation of one unit — the code of one frame layout — to Cranelift IR.
//!
//! One translator: [`Lower::instr`] and the files beside it (`arith`,
//! `vars`, `state`, `exits`) lower each instruction once, knowing only
//! the instruction, the function builder and the virtual operand stack.
//! What differs between the kinds of code made from it — where the
//! frame's values live, how code leaves, how it calls, how instructions
//! without an inline lowering run, whether reference counts apply — is
//! asked of the frame environment, `Lower`'s type parameter
//! ([`env::FrameEnv`]): [`Ordinary`] for a unit's function (`ordinary`,
//! `calls`, `facts`), `direct::Direct` for a direct entry (`direct`, `direct_calls`,
//! whose calls first try the callee's return paths inline, `inline`).
//!
//! Ordinary code:
//! - Every basic block of the unit (SPEC §4.6) is a Cranelift block; the
//!   function starts with a `br_table` on the entry index over the blocks
//!   the engine can enter (`regions::UnitPlan::entries`: first call, loop
//!   header reached in the interpreter, after a call, a catch block, …;
//!   not the blocks only the unit's own edges reach) and the resume
//!   points.
//! - Each block starts like the interpreter's `Charge`: preempt when the
//!   budget is ≤ 0, subtract the block's cost, check the operand-stack limit
//!   (and make room for the block's pushes, so pushes need no checks).
//! - Variable slots are Cranelift variables (tag, payload) written through
//!   to the frame's memory on every STORE, so memory is always current and
//!   the variables never need writing back.
//! - Within a block the operand stack is virtual (SSA values with what is
//!   known of their tags); it is flushed to memory before every helper
//!   call, at block ends and at exits.
//! - Fast paths are inline (Int/Float arithmetic, comparisons, truthiness,
//!   stack shuffles, variables, jumps); when a guard fails the code exits
//!   to the engine at that instruction and the interpreter runs it
//!   ("side exit"). Everything else calls the runtime helpers.

mod arith;
mod calls;
mod data;
mod direct;
mod direct_calls;
mod env;
mod exceptions;
mod inline;
mod lists;
mod math;
mod ordinary;
mod procs;
mod resume;
pub(super) use direct::translate_direct;
mod exits;
mod facts;
mod fields;
pub(super) use facts::successors;
mod state;
mod strings;
pub(super) mod takes;
mod values;
mod vars;

use env::{FrameEnv, Helper, Ordinary};

use super::code::Imports;
use super::UnitPlan;
use crate::bytecode::{Family, Instr, JitClass, Program};
use crate::exec::{Addr, Layout};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{I64, I8};
use cranelift_codegen::ir::{self, BlockArg, InstBuilder, MemFlags};
use cranelift_frontend::{FunctionBuilder, Variable};
use std::collections::HashMap;

/// Tags (see `ttvm_runtime::value::tag`).
const NULL: u8 = ttvm_runtime::value::tag::NULL;
const BOOL: u8 = ttvm_runtime::value::tag::BOOL;
const INT: u8 = ttvm_runtime::value::tag::INT;
const FLOAT: u8 = ttvm_runtime::value::tag::FLOAT;
const LIST: u8 = ttvm_runtime::value::tag::LIST;
const FIRST_HEAP: u8 = ttvm_runtime::value::tag::STR;
const HEAP_KINDS: u8 = ttvm_runtime::value::tag::LAST - FIRST_HEAP + 1;
/// A RET in a frame of more variables than this goes through the helper
/// (the inline RET drops each variable).
pub(super) const MAX_INLINE_RET_SLOTS: usize = 64;
/// A CALL of a function whose frame has more variables than this makes
/// the frame in the helper (inline, each variable is cleared).
pub(super) const MAX_INLINE_CALL_SLOTS: usize = 256;

/// The number of variables of the frame of the function at `target`.
pub(super) fn callee_slots(p: &Program, target: u32) -> usize {
    p.layout_of
        .get(target as usize)
        .map_or(0, |&l| p.layouts[l as usize].names.len())
}

/// Bytes per value (and per variable slot).
const VALUE_BYTES: i64 = 16;

/// An operand-stack value held in registers.
#[derive(Clone, Copy, Debug)]
struct Item {
    tag: ir::Value,
    pay: ir::Value,
    /// The tag, when known at compile time.
    known: Option<u8>,
    /// The variable slot it was loaded from, while that slot is unchanged.
    slot: Option<u32>,
}

fn is_heap(tag: u8) -> bool {
    tag.wrapping_sub(FIRST_HEAP) < HEAP_KINDS
}

/// The tag and payload of a constant that is not a heap value.
fn unboxed(v: &ttvm_runtime::Value) -> Option<(u8, i64)> {
    use ttvm_runtime::Value;
    match v {
        Value::Int(n) => Some((INT, *n)),
        Value::Float(f) => Some((FLOAT, f.to_bits() as i64)),
        Value::Bool(b) => Some((BOOL, *b as i64)),
        Value::Null => Some((NULL, 0)),
        _ => None,
    }
}

fn numeric(k: Option<u8>) -> bool {
    matches!(k, None | Some(INT) | Some(FLOAT))
}

/// Where a CALL's callee is compiled (or will be).
pub(super) struct Callee {
    /// Address of the callee unit's code cell (an `AtomicUsize`, 0 until
    /// compiled); it lives as long as the `Jit`.
    pub code_cell: usize,
    /// The callee's entry block index in its unit.
    pub block: u32,
    /// When the function can have a direct entry (`jit::direct`): the
    /// address of its cell (0 until compiled) and its plan (with the
    /// parameter slots it is for).
    pub direct: Option<(usize, crate::jit::direct::DirectPlan)>,
    /// How much its code has run (`Jit::heat`).
    pub heat: u64,
    /// Address of its unit's count of calls through memory frames (an
    /// `AtomicU32`, as long-lived as `code_cell`), and the mask of that
    /// count at whose zeros the `hot_call` helper weighs compiling its
    /// direct entry (`None`: not counted; docs/JIT.md, "Direct entries on
    /// heat").
    pub calls_cell: usize,
    pub hot_mask: Option<u32>,
}

/// What a translation needs from the program.
pub(super) struct Input<'a> {
    pub program: &'a Program,
    /// Where the program's instructions are in the decoded code.
    pub layout: &'a Layout,
    pub plan: &'a UnitPlan,
    pub max_stack: usize,
    pub max_call_depth: usize,
    pub max_frame_slots: usize,
    pub none_tag: u8,
    /// Carry tag facts across blocks (`facts`); off for a unit compiled
    /// again because its entry checks kept failing.
    pub assume: bool,
    /// The compiled code of the callee at a program address.
    pub callee: &'a dyn Fn(u32) -> Option<Callee>,
    /// What chains of direct calls use at most.
    pub bounds: crate::jit::direct::Bounds,
    /// The cache cells of the field reads with a constant name (`data`),
    /// which live as long as the `Jit`: program address → index.
    pub field_sites: &'a HashMap<u32, usize>,
    pub field_cells: &'a [crate::jit::FieldCell],
    /// Per field site (index as `field_sites`'): the tag its GET_FIELD is
    /// guarded for, or 0 (`jit::kinds`).
    pub field_guards: Vec<crate::jit::kinds::SitePlan>,
    /// The JIT's flag a failing guard raises (`jit::kinds`): an
    /// `AtomicU32` as long-lived as the `Jit`.
    pub kinds_pending: usize,
    /// The function values the program makes (`jit::direct::value_targets`).
    pub values: &'a [crate::jit::direct::ValueTarget],
    /// The arity each CALL_FUNCTION is taken to pass, where one fits.
    pub site_arity: &'a HashMap<u32, usize>,
    /// What the CALL_FUNCTION at a program address has called while
    /// interpreted (`interp::callees`).
    pub callees: Option<&'a crate::interp::callees::Callees>,
    /// When the unit's function can have a direct entry and entries are
    /// compiled on heat: the address of the unit's count of the calls its
    /// ordinary code makes to functions that can have direct entries (an
    /// `AtomicU32` as long-lived as the `Jit`), the function's entry, and
    /// the mask of the count at whose zeros the code asks `hot_call`
    /// about it (`Jit::hot_call`).
    pub work: Option<(usize, u32, u32)>,
}

impl Input<'_> {
    /// The decoded address control enters instruction `at` at (its
    /// block's `Charge` when it starts one): `Layout::dpc`.
    pub fn dpc(&self, at: u32) -> u32 {
        self.layout.dpc(Addr(at)).0
    }

    /// What the CALL_FUNCTION at `at` has called while interpreted.
    pub fn seen(&self, at: u32) -> crate::interp::callees::Seen {
        match self.callees {
            Some(c) => c.seen(at),
            None => crate::interp::callees::Seen::Nothing,
        }
    }

    /// The address of the cache cell of the field read at `at`.
    pub fn field_cell(&self, at: u32) -> Option<usize> {
        let k = *self.field_sites.get(&at)?;
        Some(&self.field_cells[k] as *const crate::jit::FieldCell as usize)
    }

    /// The tag the GET_FIELD at `at` is guarded for (`jit::kinds`).
    pub fn field_guard(&self, at: u32) -> Option<u8> {
        let k = *self.field_sites.get(&at)?;
        Some(self.field_guards[k].guard).filter(|&t| t != 0)
    }

    /// Whether the field site at `at` has met objects of several layouts
    /// (its code scans the entries when the cached position misses).
    pub fn field_scan(&self, at: u32) -> bool {
        self.field_sites
            .get(&at)
            .is_some_and(|&k| self.field_guards[k].scan)
    }

    /// Instruction `at`'s own op: `Layout::resume`.
    pub fn resume(&self, at: u32) -> u32 {
        self.layout.resume(Addr(at)).0
    }
}

/// Why a unit cannot be compiled.
pub(super) type Unsupported = String;

/// Build the body of the unit's function in `b` (which holds only the
/// imports so far).
pub(super) fn translate(
    b: &mut FunctionBuilder<'_>,
    im: &Imports,
    input: &Input<'_>,
) -> Result<(), Unsupported> {
    let assume = if input.assume {
        facts::analyse(b.func, im, input)?
    } else {
        Assumed::new()
    };
    let mut l = Lower::new(b, im, input, &assume, slots_of(input), Ordinary);
    l.run()
}

/// The number of variable slots of the unit's frame.
fn slots_of(input: &Input<'_>) -> usize {
    input.program.layouts[input.plan.layout as usize]
        .names
        .len()
}

/// Slot tags known at block starts (program address of the block → one
/// entry per tracked slot, see `facts::tracked`), for blocks where any is
/// known.
type Assumed = HashMap<u32, Vec<Option<u8>>>;

struct Lower<'a, 'b, 'c, E: FrameEnv> {
    b: &'a mut FunctionBuilder<'b>,
    im: &'a Imports,
    input: &'a Input<'c>,
    /// What this lowering may assume at block starts (see `facts`).
    assume: &'a Assumed,
    /// Internal edges taken so far, with what was known along them.
    edges: Vec<facts::Edge>,
    /// The block being lowered (`None`: a resume entry).
    cur: Option<u32>,
    /// Tag constants made in the entry block (so that variables holding a
    /// known tag get the same value on every path).
    tag_consts: Vec<(u8, ir::Value)>,
    env: ir::Value,
    v_budget: Variable,
    /// Operand stack length (values in memory).
    v_len: Variable,
    /// The operand stack's room: its capacity or `max_stack`, the smaller.
    v_lim: Variable,
    /// The current frame's first variable slot (`JitEnv::locals`).
    v_lp: Variable,
    v_tag: Vec<Variable>,
    v_pay: Vec<Variable>,
    stack: Vec<Item>,
    /// Slot tags known in the current block.
    known: Vec<Option<u8>>,
    /// The slots whose tags are carried across blocks (`facts::tracked`).
    tracked: Vec<u32>,
    /// Per slot: its value is kept in Cranelift variables (loaded on
    /// entry). In a frame of more than [`MAX_INLINE_RET_SLOTS`] variables
    /// only the tracked slots are: the others are read from memory where
    /// they are used (a thousand variables loaded on entry and each used
    /// once, far into the function, would all be live across it).
    in_regs: Vec<bool>,
    /// Program address of a block start → its Cranelift block.
    blocks: HashMap<u32, ir::Block>,
    /// Returns its one parameter (a status word).
    ret_block: Option<ir::Block>,
    /// The shared exits of block starts (`exits`): preempt, make room.
    prologue_exits: Option<(ir::Block, ir::Block)>,
    /// The shared side exits of ordinary code (`exits::shared_exit`), by
    /// whether they go through the `fault` block and how many operands
    /// they write.
    side_exits: Vec<(bool, usize, ir::Block)>,
    /// Where an inline RET goes on in a block of this function (`calls`),
    /// once made: its parameter is the return address.
    ret_dispatch: Option<ir::Block>,
    mf: MemFlags,
    /// The frame environment (`env`): what differs between ordinary
    /// units and direct entries, and its state.
    mode: E,
    /// Program address of a block start → where the engine enters it
    /// (its entry guard, or the block).
    entries: HashMap<u32, ir::Block>,
    /// Values surely on the operand stack (in memory or virtual) at this
    /// point of the current instruction (`Program::min_depth`): operands
    /// within it are popped without an underflow check.
    sure: u32,
    /// The unit's catch blocks (`exceptions`): program addresses.
    catches: Vec<u32>,
    /// Where a status goes on to a catch block of this frame (parameters:
    /// the status, the frame count before the raise), once made.
    catch_dispatch: Option<ir::Block>,
    /// Where a side exit runs its instruction through the `fault` helper
    /// while a handler is in force (parameter: the frame count), once made.
    fault_block: Option<ir::Block>,
    /// The frame count read before the last helper call, and the block
    /// it was read in (`exceptions`).
    frames_before: Option<(ir::Block, ir::Value)>,
    /// An operand a LOAD pushed without its own reference, for the
    /// instruction at `until` that only reads it (`calls::borrow_site`).
    borrowed: Option<Borrowed>,
    /// Fields read in the current block, by the variable holding the
    /// object, while it holds it (`fields`, `Lower::field_value`).
    field_vals: Vec<fields::FieldValue>,
}

/// A LOAD's value on the virtual operand stack that the variable still
/// owns (the reference is not counted): dropping it is nothing, and
/// writing it out of the virtual stack (a flush, a leaving frame's
/// buffer) gives it its own reference first.
#[derive(Clone, Copy, Debug)]
struct Borrowed {
    tag: ir::Value,
    pay: ir::Value,
    /// The instruction that consumes it; the mark ends after it.
    until: u32,
}

impl<'a, 'b, 'c, E: FrameEnv> Lower<'a, 'b, 'c, E> {
    fn new(
        b: &'a mut FunctionBuilder<'b>,
        im: &'a Imports,
        input: &'a Input<'c>,
        assume: &'a Assumed,
        slots: usize,
        mode: E,
    ) -> Self {
        Lower {
            b,
            im,
            input,
            assume,
            edges: Vec::new(),
            cur: None,
            tag_consts: Vec::new(),
            env: ir::Value::from_u32(0),
            v_budget: Variable::from_u32(0),
            v_len: Variable::from_u32(1),
            v_lim: Variable::from_u32(2),
            v_lp: Variable::from_u32(3),
            v_tag: (0..slots)
                .map(|s| Variable::from_u32(4 + 2 * s as u32))
                .collect(),
            v_pay: (0..slots)
                .map(|s| Variable::from_u32(5 + 2 * s as u32))
                .collect(),
            stack: Vec::new(),
            known: vec![None; slots],
            tracked: Vec::new(),
            in_regs: vec![true; slots],
            blocks: HashMap::new(),
            ret_block: None,
            prologue_exits: None,
            side_exits: Vec::new(),
            ret_dispatch: None,
            mf: MemFlags::trusted(),
            mode,
            entries: HashMap::new(),
            sure: 0,
            catches: Vec::new(),
            catch_dispatch: None,
            fault_block: None,
            frames_before: None,
            borrowed: None,
            field_vals: Vec::new(),
        }
    }
}

impl<E: FrameEnv> Lower<'_, '_, '_, E> {
    /// The instructions of the block at `start`, after its prologue (or
    /// from a continuation), up to the block's end or the part's cut.
    fn block_body(&mut self, start: u32) -> Result<(), Unsupported> {
        let p = self.input.program;
        let mut at = start;
        self.field_vals.clear();
        loop {
            if Some(at) == E::cut(self) {
                // The next part goes on from here (`regions`).
                self.exit_continue(self.input.dpc(at));
                return Ok(());
            }
            if !E::before_instr(self, at) {
                return Ok(());
            }
            let instr = &p.code[at as usize];
            let width = self.instr(at, instr)?;
            if self.borrowed.is_some_and(|b| b.until < at + width.max(1)) {
                self.borrowed = None;
            }
            if width == 0 {
                return Ok(());
            }
            at += width;
            if at as usize >= p.code.len() {
                return Err(format!("code runs past the end at {at}"));
            }
            if p.block_start[at as usize] {
                // Fall through into the next block.
                self.flush();
                self.jump_to(at);
                return Ok(());
            }
        }
    }

    // ---- instructions -------------------------------------------------------

    /// Lower the instruction at `at` (and, for a fused sequence, the ones
    /// after it): how many instructions it covered, 0 when the block ends.
    fn instr(&mut self, at: u32, instr: &Instr) -> Result<u32, Unsupported> {
        let p = self.input.program;
        let dpc = self.input.resume(at);
        self.sure = p.min_depth.get(at as usize).copied().unwrap_or(0);
        self.forget_field_values(at, instr);
        if let Some(slot) = in_place_update(p, at).filter(|_| E::FUSES_UPDATES) {
            // `LOAD x; <operand>; APPEND|CONCAT; STORE x` in place.
            E::helper(self, at, dpc, instr, Helper::Update(slot));
            return Ok(4);
        }
        let op = instr.opcode();
        if !E::INT_ONLY
            && matches!(
                instr,
                Instr::ToStr(_) | Instr::ToInt(_) | Instr::ToFloat(_) | Instr::Keys(_)
            )
        {
            // A conversion or KEYS: the `data` helper on the operand
            // borrowed, not the generic helper's context round trip.
            self.borrowed_op(op, 1, dpc);
            return Ok(1);
        }
        let how = match op.jit() {
            JitClass::Inline | JitClass::LibraryInline | JitClass::InlineHeap => None,
            JitClass::Helper => Some(Helper::Generic),
            // DELETE, IMPORT: the helper writes this frame's variables.
            JitClass::HelperWrites => Some(Helper::Writes),
            JitClass::HelperEnds => Some(Helper::Ends),
            // In place when stored back: the helper may empty the variable
            // the STORE after it writes (`exec::semantics::release_for_store`).
            JitClass::HelperReleases => Some(Helper::Releases),
            // Issue 14: one call of the library helper.
            JitClass::Library => Some(Helper::Library),
        };
        if let Some(how) = how {
            // How it runs is the environment's (a helper call, or none).
            E::helper(self, at, dpc, instr, how);
            return Ok(if how == Helper::Ends { 0 } else { 1 });
        }
        if let Some(v) = instr.constant() {
            let Some((k, bits)) = unboxed(&v) else {
                return Err(format!("{} has no inline lowering", op.mnemonic()));
            };
            let v = self.b.ins().iconst(I64, bits);
            let it = self.item(k, v);
            self.stack.push(it);
            return Ok(1);
        }
        match op.family() {
            Family::Arith(a) => self.arith(a, dpc),
            Family::ArithF(a) => self.arith_f(a, dpc),
            Family::Cmp(c) => self.compare(arith::int_cc(c), arith::float_cc(c), at, dpc),
            Family::CmpF(c) => self.compare_f(c, dpc),
            Family::Jump => {
                self.flush();
                self.jump_to(instr.target().expect("a jump's target"));
                return Ok(0);
            }
            Family::Branch { jump_if } => {
                let t = instr.target().expect("a branch's target");
                let [a] = self.operands_n::<1>(dpc);
                let truth = self.branch_truth(a);
                self.drop_item(a);
                self.flush();
                let (on_true, on_false) = if jump_if { (t, at + 1) } else { (at + 1, t) };
                E::branch(self, truth, on_true, on_false);
                return Ok(0);
            }
            _ => return self.inline_other(at, dpc, instr),
        }
        Ok(1)
    }

    /// The instructions with an inline lowering of their own (the `jit`
    /// column's `inline`) not lowered by family in [`Lower::instr`].
    fn inline_other(&mut self, at: u32, dpc: u32, instr: &Instr) -> Result<u32, Unsupported> {
        match instr {
            Instr::Dup(_) => {
                let [a] = self.operands_n::<1>(dpc);
                self.clone_item(a);
                self.stack.push(a);
                self.stack.push(a);
            }
            Instr::Pop(_) => {
                let [a] = self.operands_n::<1>(dpc);
                self.drop_item(a);
            }
            Instr::Swap(_) => {
                let [a, b] = self.operands_n::<2>(dpc);
                self.stack.push(b);
                self.stack.push(a);
            }
            Instr::Over(_) => {
                let [a, b] = self.operands_n::<2>(dpc);
                self.clone_item(a);
                self.stack.push(a);
                self.stack.push(b);
                self.stack.push(a);
            }
            Instr::Neg(_) => self.neg(dpc),
            Instr::Sqrt(_)
            | Instr::Floor(_)
            | Instr::Ceil(_)
            | Instr::Round(_)
            | Instr::Abs(_)
            | Instr::Min(_)
            | Instr::Max(_) => self.math(instr, dpc),
            Instr::Len(_) => self.len(dpc),
            // `INDEX; ORD`: a character's code point (`strings`).
            Instr::Index(_) if self.index_ord_site(at) => {
                self.index_ord(at, dpc);
                return Ok(2);
            }
            Instr::Index(_) => self.index(at, dpc),
            Instr::GetField(_) | Instr::HasField(_) => self.read_field(at, dpc, instr),
            Instr::Not(_) => {
                let [a] = self.operands_n::<1>(dpc);
                let t = self.truthy(a);
                self.drop_item(a);
                let f = self.b.ins().bxor_imm(t, 1);
                let f = self.b.ins().uextend(I64, f);
                let it = self.item(BOOL, f);
                self.stack.push(it);
            }
            Instr::And(_) | Instr::Or(_) => {
                let [a, b] = self.operands_n::<2>(dpc);
                let ta = self.truthy(a);
                let tb = self.truthy(b);
                self.drop_item(a);
                self.drop_item(b);
                let r = if matches!(instr, Instr::And(_)) {
                    self.b.ins().band(ta, tb)
                } else {
                    self.b.ins().bor(ta, tb)
                };
                let r = self.b.ins().uextend(I64, r);
                let it = self.item(BOOL, r);
                self.stack.push(it);
            }
            Instr::Load(v) => match self.borrow_site(at) {
                Some(until) => self.load_borrowed(v.slot, dpc, until),
                None => self.load(v.slot, dpc, self.input.program.moves_at(at)),
            },
            Instr::Store(v) => self.store(v.slot, dpc),
            Instr::Call(c) => {
                E::call(self, at, dpc, c);
                return Ok(0);
            }
            Instr::CallFunction(_) => {
                E::call_function(self, at, dpc);
                return Ok(0);
            }
            Instr::Ret(_) => {
                E::ret(self, at, dpc);
                return Ok(0);
            }
            other => {
                return Err(format!(
                    "{} is `inline` in the op table but has no lowering",
                    other.opcode().mnemonic()
                ))
            }
        }
        Ok(1)
    }

    fn operands_n<const K: usize>(&mut self, dpc: u32) -> [Item; K] {
        let v = self.operands(K, dpc);
        v.try_into().expect("K operands")
    }

    /// A branch on `truth` to the function's blocks (`FrameEnv::branch` of
    /// code whose blocks are Cranelift blocks).
    pub(super) fn branch_within(&mut self, truth: ir::Value, on_true: u32, on_false: u32) {
        let (yes, yes_out) = self.branch_target(on_true);
        let (no, no_out) = self.branch_target(on_false);
        self.b.ins().brif(truth, yes, &[], no, &[]);
        // A target outside this function (`regions`): continue there
        // through the engine.
        let outs = [(yes, yes_out), (no, no_out)];
        for (blk, target) in outs.into_iter().filter_map(|(b, t)| Some((b, t?))) {
            self.b.switch_to_block(blk);
            self.exit_continue(self.input.dpc(target));
        }
    }

    /// The block a branch to `target` goes to: the target's (an edge), or,
    /// for a target outside this function, a new block that the caller
    /// fills with the exit to it once the branch is made (`Some(target)`).
    fn branch_target(&mut self, target: u32) -> (ir::Block, Option<u32>) {
        match self.blocks.get(&target).copied() {
            Some(b) => {
                self.edge(target);
                (b, None)
            }
            None => (self.b.create_block(), Some(target)),
        }
    }

    /// Truthiness of a JZ's or JNZ's operand. Of a value of unknown kind
    /// by tests in the order of their likelihood, each a compare and a
    /// branch, instead of [`Lower::truthy`]'s five compares and a select
    /// (about 15 machine instructions on every path): any kind above Int
    /// (a list or null test's list, a string, a Float) is true after one;
    /// an Int is its payload after two; Null and a Bool, the rest.
    fn branch_truth(&mut self, a: Item) -> ir::Value {
        if a.known.is_some() {
            return self.truthy(a);
        }
        let join = self.b.create_block();
        self.b.append_block_param(join, I8);
        let one = self.b.ins().iconst(I8, 1);
        let above = self
            .b
            .ins()
            .icmp_imm(IntCC::UnsignedGreaterThan, a.tag, INT as i64);
        let small = self.b.create_block();
        self.b
            .ins()
            .brif(above, join, &[BlockArg::Value(one)], small, &[]);
        self.b.switch_to_block(small);
        let is_int = self.b.ins().icmp_imm(IntCC::Equal, a.tag, INT as i64);
        let int = self.b.create_block();
        let other = self.b.create_block();
        self.b.ins().brif(is_int, int, &[], other, &[]);
        self.b.switch_to_block(int);
        let nz = self.b.ins().icmp_imm(IntCC::NotEqual, a.pay, 0);
        self.b.ins().jump(join, &[BlockArg::Value(nz)]);
        // Null (false; its payload is not defined) or a Bool (its low
        // byte).
        self.b.switch_to_block(other);
        let low = self.b.ins().band_imm(a.pay, 0xff);
        let nz = self.b.ins().icmp_imm(IntCC::NotEqual, low, 0);
        let not_null = self.b.ins().icmp_imm(IntCC::NotEqual, a.tag, NULL as i64);
        let t = self.b.ins().band(not_null, nz);
        self.b.ins().jump(join, &[BlockArg::Value(t)]);
        self.b.switch_to_block(join);
        self.b.block_params(join)[0]
    }

    /// Truthiness (SPEC §2) as an i8 0/1.
    fn truthy(&mut self, a: Item) -> ir::Value {
        match a.known {
            Some(INT) => self.b.ins().icmp_imm(IntCC::NotEqual, a.pay, 0),
            Some(BOOL) => {
                let low = self.b.ins().band_imm(a.pay, 0xff);
                self.b.ins().icmp_imm(IntCC::NotEqual, low, 0)
            }
            Some(NULL) => self.b.ins().iconst(I8, 0),
            Some(_) => self.b.ins().iconst(I8, 1),
            None => {
                // Truthy: any kind above Int (Float, Str, List, ...), or
                // an Int that is not 0 or a Bool whose byte is not 0 (a
                // Bool's payload is its low byte), never Null (whose
                // payload is not defined). One select and three compares
                // (was: three kinds tested and combined, ~27 machine
                // instructions on every test of a value of unknown kind).
                let low = self.b.ins().band_imm(a.pay, 0xff);
                let is_int = self.b.ins().icmp_imm(IntCC::Equal, a.tag, INT as i64);
                let m = self.b.ins().select(is_int, a.pay, low);
                let nz = self.b.ins().icmp_imm(IntCC::NotEqual, m, 0);
                let not_null = self.b.ins().icmp_imm(IntCC::NotEqual, a.tag, NULL as i64);
                let scalar = self.b.ins().band(not_null, nz);
                let above = self
                    .b
                    .ins()
                    .icmp_imm(IntCC::UnsignedGreaterThan, a.tag, INT as i64);
                self.b.ins().bor(above, scalar)
            }
        }
    }
}

/// `LOAD x; <push constant | LOAD y>; APPEND|CONCAT; STORE x` inside one
/// block (the interpreter's `UpdateLocalInPlace`): the slot of `x`.
pub(super) fn in_place_update(p: &Program, at: u32) -> Option<u32> {
    let i = at as usize;
    if i + 4 > p.code.len() || (i + 1..i + 4).any(|j| p.block_start[j]) {
        return None;
    }
    let [Instr::Load(x), mid, upd, Instr::Store(y)] = &p.code[i..i + 4] else {
        return None;
    };
    let src_ok = match mid {
        Instr::Load(z) => z.slot != x.slot,
        other => other.opcode().family() == Family::Const,
    };
    let upd_ok = upd.grow().is_some();
    (src_ok && upd_ok && x.slot == y.slot).then_some(x.slot)
}
