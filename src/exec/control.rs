//! The control word: how an instruction, a stretch of compiled code or a
//! slice ended, and so what runs next. One vocabulary for the interpreter's
//! handlers and loop, the helpers, compiled code's return (as the status
//! words of `native::status`, its ABI encoding) and the engine.

use super::addr::Dpc;
use super::Raise;
use ttvm_runtime::Value;

/// How something ended (see the module). An instruction ends with one of
/// the first three (or a slice end); a tier hands over with `Continue` or
/// `Interpret`; the slice ends with one of the rest.
#[derive(Debug)]
pub enum Control {
    /// Go on with the next instruction (status `NEXT`).
    Next,
    /// Go on at this decoded address (a jump, call or return; status
    /// `CONTINUE` with `JitEnv::pc` set).
    Jump(Dpc),
    /// An exception: unwind to the innermost handler.
    Raise(Raise),
    /// The whole state is in the context: go on at `ctx.pc`, in whichever
    /// tier has code there (status `CONTINUE`; from the interpreter:
    /// compiled code takes over at the header block at `ctx.pc`, asked of
    /// its tier-up hook).
    Continue,
    /// The interpreter runs the block at `ctx.pc` first (compiled code's
    /// entry check failed there; status `INTERPRET`).
    Interpret,
    /// The budget ran out at a block boundary; resume with a fresh budget
    /// (status `PREEMPT`).
    Preempted,
    /// YIELD: the slice ended by request.
    Yielded,
    /// Waiting in a receive or SLEEP (registered with the node).
    Waiting,
    /// The process ended normally (HALT, end of code, RET from its bottom).
    Halted,
    /// An exception no handler caught; the context is left as it was at the
    /// failing instruction (`ctx.pc`) for the crash report.
    Crashed(Raise),
    /// EXIT: end the whole VM with this status.
    Exit(i32),
    /// Ended by an exit signal (no crash report). Boxed: the reason is the
    /// only payload wider than a word, and a `Control` of two words is
    /// returned in registers (the exits of compiled code and the
    /// interpreter's handlers move one for every instruction they run).
    Killed(Box<Value>),
}

// Two words: returned in registers, and as cheap to move as `u128`.
const _: () = assert!(std::mem::size_of::<Control>() == 16);
