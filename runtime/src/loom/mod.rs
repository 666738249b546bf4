//! loom models of the scheduling protocols (see `sched/README.md`):
//! `RUSTFLAGS="--cfg loom" cargo test -p ttvm-runtime --release loom`.
//!
//! crossbeam-deque is not loom-aware, so the run queues are modelled by a
//! mutex-protected queue; the process state machine and the idle protocol are
//! the real code.

use crate::idle::{Idle, PollSleep, Woke};
use crate::process::{After, Kill, Own, Process, Received, SliceEnd, Start};
use crate::sync::SoloGate;
use crate::table::{Mark, Reclaimer, Table};
use crate::value::Value;
use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use loom::sync::{Arc, Mutex};
use std::collections::VecDeque;

mod idle;
mod links;
mod locks;
mod process;
mod table;
mod values;
