//! What both execution tiers share: a process's execution context (operand
//! stack, frames, variable slots, handlers, pc, budget — all in memory the
//! runtime owns, so execution can stop at any block boundary and resume in
//! either tier), the semantics of value operations, the VM-wide state, the
//! two kinds of code address and the decoded layout ([`addr`]), the control
//! word ([`control`]) and the contract with compiled code ([`native`]).

pub mod addr;
pub mod context;
pub mod control;
pub mod handlers;
pub mod native;
pub mod ops;
pub mod semantics;
pub mod vm;

pub use addr::{Addr, Dpc, Layout};
pub use context::{frame_layout, live_contexts, Context, Frame, FrameKind};
pub use control::Control;
pub use handlers::{Handler, Handlers};
pub use vm::Vm;

use std::sync::Arc;
use ttvm_runtime::{Exception, Value};

/// A raised exception on its way to a handler.
pub type Raise = Arc<Exception>;

/// Result of an operation that may raise.
pub type OpResult<T = ()> = Result<T, Raise>;

/// Raise a runtime error with `message`.
#[cold]
pub fn error<T>(message: impl Into<String>) -> OpResult<T> {
    Err(Value::error(message))
}

/// Start a closure's frame (`locals`, from its first slot): the captured
/// variables, except where a parameter of the same name (bound already)
/// hides one.
pub fn bind_captures(locals: &mut [Option<Value>], c: &ttvm_runtime::Closure) {
    for ((_, v), &slot) in c.captured.iter().zip(c.capture_slots.iter()) {
        if slot != u32::MAX && !c.proto.param_slots.contains(&slot) {
            locals[slot as usize] = Some(v.clone());
        }
    }
}

/// The OS's reason for an I/O error, without Rust's " (os error N)" suffix.
pub fn os_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}
