//! ttvm-runtime: the "erts" of ttvm — values, and (as they land) processes,
//! mailboxes, signals, the registry, timers and schedulers. It knows nothing
//! of source text, bytecode or native code: the scheduler drives execution
//! through a trait.

pub mod value;

pub use value::{Atom, Closure, Exception, FuncProto, Object, Str, Value};
#[cfg(not(loom))]
pub mod node;
pub mod process;
#[cfg(not(loom))]
pub mod sched;
mod sync;

#[cfg(not(loom))]
pub use node::{Execute, Node, Outcome, RunEnd, Sched};
pub use process::{Pid, Process, Received, Wait};
#[cfg(not(loom))]
pub use sched::SchedConfig;
