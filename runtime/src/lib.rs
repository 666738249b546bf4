#![cfg_attr(loom, allow(dead_code, unused_imports))]
//! ttvm-runtime: the "erts" of ttvm — values, processes, mailboxes,
//! signals, the registry, timers and schedulers (protocols in
//! `sched/README.md`). It knows nothing of source text, bytecode or native
//! code: the scheduler drives execution through a trait (`Execute`).

pub mod value;

pub use value::{Atom, Closure, Exception, FuncProto, Object, Str, Value};
#[cfg(not(loom))]
pub mod dist;
#[cfg(loom)]
#[path = "sched/idle.rs"]
mod idle;
#[cfg(not(loom))]
pub mod io;
#[cfg(all(test, loom))]
mod loom;
#[cfg(not(loom))]
pub mod net;
#[cfg(not(loom))]
pub mod node;
pub mod process;
#[cfg(not(loom))]
pub mod sched;
mod sync;
pub(crate) mod table;

#[cfg(not(loom))]
pub use node::{Execute, Node, Outcome, RunEnd, Sched};
pub use process::{Got, IoResult, Name, Pid, Process, Received, View, ViewStatus, Wait};
#[cfg(not(loom))]
pub use sched::SchedConfig;
