//! The contract between compiled code and the rest of the VM: the
//! environment block compiled code reads and writes (`#[repr(C)]`, fixed
//! offsets), the status words, and the runtime-helper table.
//!
//! While compiled code runs, the process's operand stack is held here as
//! raw parts (`sp`, `len`, `cap` of the context's `Vec<Value>`), so compiled
//! code pushes and pops with plain loads and stores. Every helper rebuilds
//! the `Vec` before it touches the context and takes it apart again before
//! it returns (see `engine::helpers`). Variable slots stay in the context's
//! `locals` vector; `locals` points at the current frame's first slot.
//! The frame and slot vectors are held as raw parts too, so compiled code
//! makes and removes call frames without a helper on the common path.

use super::addr::Dpc;
use std::ffi::c_void;
use ttvm_runtime::Value;

/// What compiled code sees of a running process.
#[repr(C)]
#[derive(Debug)]
pub struct JitEnv {
    /// Operand stack: pointer to the first value.
    pub sp: *mut Value,
    /// Operand stack: number of values.
    pub len: usize,
    /// Operand stack: capacity in values.
    pub cap: usize,
    /// The current frame's first variable slot.
    pub locals: *mut Option<Value>,
    /// Reductions left in this slice.
    pub budget: i64,
    /// Where to continue (a decoded address) after `CONTINUE`/`PREEMPT`.
    pub pc: Dpc,
    /// Number of frames of the process.
    pub frames: u32,
    /// Compiled code of the callee of the last call helper (0: none; go
    /// through the engine).
    pub target_fn: usize,
    /// Entry block of `target_fn` to start at.
    pub target_block: u32,
    /// Nested native calls of compiled code right now.
    pub native_depth: u32,
    /// Variable slots of every frame: the vector's raw parts, except that
    /// `lcap`, the slots compiled code may fill without a helper, is the
    /// capacity but never more than `lmax`: a frame made inline
    /// (`llen + size <= lcap`) is within the slot limit, and one that is
    /// not goes through the call helper, which raises `stack overflow`
    /// exactly where the interpreter does.
    pub lbase: *mut Option<Value>,
    pub llen: usize,
    pub lcap: usize,
    /// Frames: the vector's raw parts (its length is `frames`).
    pub fptr: *mut crate::exec::Frame,
    pub fcap: usize,
    /// Direct entries (see `lower::direct`) make calls from frames below
    /// this index only: the call depth limit, or the native stack's,
    /// whichever is nearer. Set where compiled code starts calling direct
    /// entries; they count the frames left below it.
    pub dlimit: u64,
    /// Depth of the innermost handler or pending capture (0: none): a RET
    /// from a frame deeper than this removes neither.
    pub hdepth: u32,
    /// The engine's side of the slice (context, program, process).
    pub host: *mut c_void,
    /// The process's limit on variable slots in all (`--max-frame-slots`),
    /// which `lcap` never passes. (After the fields above, so their
    /// offsets stay.)
    pub lmax: usize,
    /// The running process's PID (SELF, inline).
    pub pid: i64,
}

/// Byte offsets of [`JitEnv`]'s fields, as compiled code uses them.
pub mod off {
    use super::JitEnv;
    use std::mem::offset_of;
    pub const SP: i32 = offset_of!(JitEnv, sp) as i32;
    pub const LEN: i32 = offset_of!(JitEnv, len) as i32;
    pub const CAP: i32 = offset_of!(JitEnv, cap) as i32;
    pub const LOCALS: i32 = offset_of!(JitEnv, locals) as i32;
    pub const BUDGET: i32 = offset_of!(JitEnv, budget) as i32;
    pub const PC: i32 = offset_of!(JitEnv, pc) as i32;
    pub const FRAMES: i32 = offset_of!(JitEnv, frames) as i32;
    pub const TARGET_FN: i32 = offset_of!(JitEnv, target_fn) as i32;
    pub const TARGET_BLOCK: i32 = offset_of!(JitEnv, target_block) as i32;
    pub const NATIVE_DEPTH: i32 = offset_of!(JitEnv, native_depth) as i32;
    pub const LBASE: i32 = offset_of!(JitEnv, lbase) as i32;
    pub const LLEN: i32 = offset_of!(JitEnv, llen) as i32;
    pub const LCAP: i32 = offset_of!(JitEnv, lcap) as i32;
    pub const FPTR: i32 = offset_of!(JitEnv, fptr) as i32;
    pub const FCAP: i32 = offset_of!(JitEnv, fcap) as i32;
    pub const HDEPTH: i32 = offset_of!(JitEnv, hdepth) as i32;
    pub const DLIMIT: i32 = offset_of!(JitEnv, dlimit) as i32;
    pub const PID: i32 = offset_of!(JitEnv, pid) as i32;
}

/// Status words: the ABI encoding of [`crate::exec::Control`] between
/// compiled code, the helpers and the engine. Helpers return `NEXT`,
/// `CONTINUE`, `STOP` or `WAIT`; compiled functions return `CONTINUE`,
/// `STOP`, `WAIT`, `PREEMPT` or `INTERPRET` (`engine::helpers::run_compiled`
/// returns them to `Engine::run_tiers`, which tells a slice's end by the
/// word alone, and reads `Host::outcome` only on `STOP`).
pub mod status {
    /// Go on with the next instruction in compiled code.
    pub const NEXT: u32 = 0;
    /// The whole state is in memory; continue at `JitEnv::pc` (in whichever
    /// tier has code there).
    pub const CONTINUE: u32 = 1;
    /// The slice is over; the engine holds the outcome.
    pub const STOP: u32 = 2;
    /// The budget ran out at the block whose decoded address is
    /// `JitEnv::pc`; the process resumes there with a fresh budget.
    pub const PREEMPT: u32 = 3;
    /// The whole state is in memory; the interpreter runs the block at
    /// `JitEnv::pc` (its variables do not have the tags the compiled block
    /// assumes), and compiled code may take over again after it.
    pub const INTERPRET: u32 = 4;
    /// The slice is over: the process waits (in a receive, SLEEP, a
    /// blocking operation) and resumes at `JitEnv::pc` when woken. Told by
    /// the status word alone, without `Host::outcome` (writing a `Control`
    /// there and reading it back whole stalls store forwarding, on every
    /// slice of a message-passing process).
    pub const WAIT: u32 = 5;
}

/// A compiled function: `(env, entry block) -> status`.
pub type CompiledFn = unsafe extern "C" fn(*mut JitEnv, u32) -> u32;

/// The runtime helpers compiled code calls: one row per helper, the only
/// place a helper is declared. A row is
///
/// ```text
/// /// One line of doc.
/// SCOPE NAME(ARG: TYPE, …) -> RESULT;
/// ```
///
/// where SCOPE is `unit` (imported into every compiled function) or
/// `direct` (into direct entries only, see `lower::direct`). The table is
/// read by a macro given to it (wasmtime's `foreach_builtin_function!`
/// pattern), and generates:
///
/// - here: the [`Helpers`] struct (one typed `extern "C"` function
///   pointer per helper), the [`HelperImpl`] trait the engine implements
///   (one `unsafe fn` per row, with the row's Rust types), and the
///   `extern "C"` shims that call the implementation and fill [`Helpers`]
///   ([`Helpers::of`]);
/// - in `jit/code.rs`: the JIT's symbol list (`ttvm_NAME`), its import
///   declarations and Cranelift signatures, derived from the row's Rust
///   types (`code::AbiType`), and the `Imports` a function being built
///   calls them through (`im.NAME`).
///
/// So a helper whose implementation does not take exactly the row's types
/// does not compile, and neither does a row without an implementation.
/// Adding a helper is one row here, one `unsafe fn` in
/// `engine/helpers.rs`'s `impl HelperImpl`, and its calls in the lowering.
/// The order of the rows is the order of the declarations in the
/// Cranelift IR (`fn0`, `fn1`, …: unit rows first): add rows at the end of
/// their scope.
macro_rules! for_each_helper {
    ($mac:ident) => {
        $mac! {
            /// `(env, program address, decoded address) -> status`: run one
            /// instruction with its complete semantics (the interpreter's).
            unit generic(env: *mut $crate::exec::native::JitEnv, at: $crate::exec::Addr, dpc: $crate::exec::Dpc) -> u32;
            /// CALL or CALL_FUNCTION; on `NEXT` the frame is made and
            /// `target_fn`/`target_block` say where the callee's compiled code
            /// is (0: continue at `pc` through the engine).
            unit call(env: *mut $crate::exec::native::JitEnv, at: $crate::exec::Addr, dpc: $crate::exec::Dpc) -> u32;
            /// `(tag, payload)`: one more reference to a heap value.
            unit clone(tag: u64, pay: u64);
            /// `(tag, payload)`: drop a reference to a heap value.
            unit drop(tag: u64, pay: u64);
            /// `(env, n)`: make room for `n` more operand stack values.
            unit reserve(env: *mut $crate::exec::native::JitEnv, n: u64);
            /// `(env, decoded address) -> status`: raise `stack overflow` there.
            unit overflow(env: *mut $crate::exec::native::JitEnv, dpc: $crate::exec::Dpc) -> u32;
            /// `(env, program address, decoded address) -> status`: `LOAD x;
            /// <operand>; APPEND|CONCAT; STORE x`, in place when possible.
            unit update(env: *mut $crate::exec::native::JitEnv, at: $crate::exec::Addr, dpc: $crate::exec::Dpc) -> u32;
            /// `(env, opcode number, program address, decoded address) ->
            /// status`: a library operation (`library::call`).
            unit library(env: *mut $crate::exec::native::JitEnv, op: u32, at: $crate::exec::Addr, dpc: $crate::exec::Dpc) -> u32;
            /// `(opcode number, a tag, a payload, b tag, b payload, out) ->
            /// 1 | 0`: LEN (of `a`), INDEX (`a` at `b`), a comparison
            /// (`EQ NE GT LT GE LE` of `a` and `b`: `exec::ops::compare`),
            /// GET_FIELD or HAS_FIELD (of `a`, the name `b` on the stack) or
            /// TO_STR, TO_INT, TO_FLOAT, KEYS (of `a`)
            /// with the operands borrowed, for the operands compiled code
            /// has no inline path for (a string, an object): 1 and the result
            /// (tag, payload: a new reference) in `out[0..2]`, or 0 when
            /// the instruction raises (compiled code then leaves at it and
            /// the interpreter raises the error).
            unit data(op: u32, a_tag: u64, a_pay: u64, b_tag: u64, b_pay: u64, out: *mut u64) -> u32;
            /// `(opcode number, object tag, object payload, name, cache cell,
            /// out) -> 1 | 0`: GET_FIELD or HAS_FIELD with a constant name
            /// (`*const Atom`) on a borrowed operand, for what the inline
            /// read does not find (another object shape, a missing field,
            /// an Exception); sets the site's cache cell to the field's
            /// position; the result in `out` as for `data`, or 0 when it
            /// raises.
            unit field(op: u32, tag: u64, pay: u64, name: *const ttvm_runtime::Atom, cell: *const std::sync::atomic::AtomicU64, out: *mut u64) -> u32;
            /// `(opcode number, n, items, aux, out) -> 1 | 0`: MAKE_LIST,
            /// APPEND, SET_INDEX, CONCAT, MAKE_OBJECT, SET_FIELD or
            /// DELETE_FIELD (with the constant name `aux`, a `*const Atom`; MAKE_LIST's count
            /// is `n`) on the `n` values in `items` (16 bytes each, bottom
            /// first), for direct entries (`jit::direct`): 1 when it took
            /// the values (owned: in place when unshared) and wrote the
            /// result (a new reference) to `out`; 0 when the instruction
            /// raises, with the values untouched (compiled code then
            /// leaves at it holding them and the interpreter raises).
            /// Also EXTEND, and CONCAT of anything whose text is surely
            /// within the limit; and the pure library operations
            /// (`library::pure`: SUBSTR, SPLIT, ORD, SLICE, …; issue 15),
            /// run on the values outside the process, in ordinary code
            /// too (`engine::helpers::library_owned`). `cell`: 0, or the variable slot the
            /// STORE right after it writes (ordinary code): when that
            /// slot holds the very value of `items[0]`, it is emptied once
            /// the operation is known not to raise, so the value changes
            /// in place (`exec::semantics::release_for_store`).
            unit value(op: u32, n: u32, items: *mut u64, aux: u64, out: *mut u64, cell: *mut u64) -> u32;
            /// `(n) -> block`: a new list of `n` elements, counted once,
            /// whose elements compiled code writes next (`MAKE_LIST`,
            /// `List::alloc_unwritten`).
            unit list_new(n: u64) -> u64;
            /// `(env, to, message tag, message payload)`: SEND of a message
            /// (moved to the helper) to the Int PID `to`, which compiled
            /// code checked; never fails and never leaves (a message to a
            /// process that has ended is dropped, as interpreted).
            unit send(env: *mut $crate::exec::native::JitEnv, to: i64, tag: u64, pay: u64);
            /// `(env, program address, decoded address) -> status`: a plain
            /// RECEIVE: `NEXT` with the oldest message pushed on the operand
            /// stack, or `STOP` with the process waiting at the RECEIVE
            /// (it resumes there, in whichever tier has code).
            unit receive(env: *mut $crate::exec::native::JitEnv, at: $crate::exec::Addr, dpc: $crate::exec::Dpc) -> u32;
            /// `(env, program address, decoded address) -> status`: any
            /// other process operation (SPAWN, the selective and timed
            /// receives, LINK, MONITOR, …) with its complete semantics
            /// (`exec::semantics::procs`), as `generic` without the
            /// dispatch over every instruction.
            unit process(env: *mut $crate::exec::native::JitEnv, at: $crate::exec::Addr, dpc: $crate::exec::Dpc) -> u32;
            /// `(env, program address of the TRY, decoded address of its
            /// catch label, operand stack height)`: TRY, installing the
            /// handler in the current frame (`JitEnv::frames`) and setting
            /// `JitEnv::hdepth`; it touches none of the process's vectors.
            unit try_install(env: *mut $crate::exec::native::JitEnv, at: $crate::exec::Addr, catch: $crate::exec::Dpc, height: u64);
            /// `(env, program address of the owning TRY)`: END_TRY in the
            /// current frame, setting `JitEnv::hdepth`.
            unit try_end(env: *mut $crate::exec::native::JitEnv, owner: $crate::exec::Addr);
            /// `(env) -> status`: compiled code left at the instruction at
            /// `JitEnv::pc` (a guard failed) while a handler is in force:
            /// run it with its complete semantics; `CONTINUE` with `pc` at
            /// the catch block when it raised (or where control went), or
            /// at the next instruction when it did not; `STOP` when the
            /// process ends. At a block's start (a `Charge`) it runs
            /// nothing and answers `CONTINUE`.
            unit fault(env: *mut $crate::exec::native::JitEnv) -> u32;
            /// `(env, program address)`: ordinary compiled code called the
            /// function there through memory frames another so many times:
            /// compile its direct entry if it is worth it now
            /// (`Jit::hot_call`, `jit::direct::DirectPlan::hot`).
            unit hot_call(env: *mut $crate::exec::native::JitEnv, target: $crate::exec::Addr);
            /// `(env, decoded address, tag, payload) -> status`: THROW of
            /// the value (moved to the helper), the rest of the operand
            /// stack in memory: `CONTINUE` with `pc` at the catch block
            /// (when the innermost handler is the current frame's, without
            /// taking back or publishing any vector but the operand
            /// stack), or `STOP` when no handler catches it.
            unit throw(env: *mut $crate::exec::native::JitEnv, dpc: $crate::exec::Dpc, tag: u64, pay: u64) -> u32;
            /// `(buffer, place, descriptor, pc | status << 32, budget) ->
            /// status`: the innermost direct frame leaves compiled code.
            direct leave(buf: *const u8, place: u64, desc: u64, pc_st: u64, budget: i64) -> u64;
            /// `(buffer, place, descriptor, call site | return address << 32,
            /// status) -> status`: a direct caller of a frame that left
            /// writes itself.
            direct leave_caller(buf: *const u8, place: u64, desc: u64, at_after: u64, st: u64) -> u64;
        }
    };
}
pub(crate) use for_each_helper;

/// What the helper table generates on this side of the contract.
macro_rules! declare_helpers {
    ($(
        $(#[doc = $doc:literal])*
        $scope:ident $name:ident($($arg:ident: $ty:ty),*) $(-> $ret:ty)?;
    )*) => {
        /// The runtime helpers compiled code calls, as typed `extern "C"`
        /// function pointers (see [`for_each_helper!`]). The engine fills
        /// it in ([`Helpers::of`]); the JIT only knows the signatures.
        #[derive(Clone, Copy, Debug)]
        pub struct Helpers {
            $(
                $(#[doc = $doc])*
                pub $name: unsafe extern "C" fn($($ty),*) $(-> $ret)?,
            )*
        }

        /// The implementation of every helper, with the row's Rust types.
        ///
        /// # Safety
        /// Each is called only by compiled code, with arguments that keep
        /// the helper's documented contract (`engine::helpers`).
        pub trait HelperImpl {
            $(
                $(#[doc = $doc])*
                ///
                /// # Safety
                /// Called by compiled code only (see the trait).
                unsafe fn $name($($arg: $ty),*) $(-> $ret)?;
            )*
        }

        /// The `extern "C"` functions compiled code calls: each calls its
        /// implementation (a panic in one aborts the process; helpers
        /// report errors as status words).
        mod shims {
            use super::HelperImpl;
            $(
                $(#[doc = $doc])*
                pub(super) unsafe extern "C" fn $name<H: HelperImpl>($($arg: $ty),*) $(-> $ret)? {
                    // SAFETY: compiled code keeps the helper's contract.
                    unsafe { H::$name($($arg),*) }
                }
            )*
        }

        impl Helpers {
            /// The table of implementation `H`.
            pub fn of<H: HelperImpl>() -> Helpers {
                Helpers {
                    $($name: shims::$name::<H>,)*
                }
            }
        }
    };
}
for_each_helper!(declare_helpers);

/// Native calls of compiled code allowed before a call goes through the
/// engine instead (which starts the callee on a fresh native stack).
pub const MAX_NATIVE_DEPTH: u32 = 2000;

/// Nested direct calls allowed on one native stack before a direct entry
/// leaves compiled code (and the engine starts over on a fresh stack).
pub const MAX_DIRECT_DEPTH: u32 = 4000;
