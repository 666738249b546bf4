//! ttvm-runtime: the "erts" of ttvm — values, and (as they land) processes,
//! mailboxes, signals, the registry, timers and schedulers. It knows nothing
//! of source text, bytecode or native code: the scheduler drives execution
//! through a trait.

pub mod value;

pub use value::{Atom, Closure, Exception, FuncProto, Object, Str, Value};
pub mod node;

pub use node::{Execute, Node, Outcome, Pid, RunEnd, Wait};
