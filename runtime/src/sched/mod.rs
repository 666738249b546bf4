//! Schedulers: one worker thread per scheduler (pinned to a core when
//! possible), each with a local FIFO run queue ([`Worker`]); a global
//! injector; idle workers steal in batches from a random victim, then
//! sleep without lost wake-ups ([`Idle`]). The protocol is written down in
//! `README.md` beside this file. This module knows nothing of the node:
//! the loop that runs the node's processes on workers is `node/run.rs`.
//!
//! With one scheduler the run is deterministic (SPEC §4.6): one FIFO queue,
//! new and woken processes at its tail.

mod idle;
mod worker;

pub use idle::{Idle, IdleState, PollSleep, Woke};
pub(crate) use worker::Worker;

use crate::process::Entry;
use crossbeam_deque::{Injector, Steal, Stealer, Worker as Deque};

/// Processes a worker runs from its LIFO slot in a row while others wait
/// in the queues; then the queue gets a turn (so ping-pong stays on one
/// core without starving the rest).
const MAX_LIFO_RUNS: u32 = 3;

/// How a run ended.
#[derive(Debug, PartialEq, Eq)]
pub enum RunEnd {
    /// Every process ended (or the rest are blocked forever with PID 1 gone).
    AllEnded,
    /// EXIT n.
    Exit(i32),
    /// No process can run and no timer is pending, with PID 1 waiting.
    Deadlock,
}

/// The run queues and idle state every worker shares.
pub(crate) struct Shared<S> {
    pub(crate) injector: Injector<Entry<S>>,
    pub(crate) idle: std::sync::Arc<Idle<RunEnd>>,
}

impl<S> Shared<S> {
    pub(crate) fn new() -> Shared<S> {
        Shared {
            injector: Injector::new(),
            idle: Default::default(),
        }
    }
}

/// How to run the schedulers.
#[derive(Clone, Debug)]
pub struct SchedConfig {
    /// Scheduler threads (≥ 1).
    pub schedulers: usize,
    /// Reductions per slice.
    pub budget: i64,
    /// Pin each worker to a core.
    pub pin: bool,
    /// Native stack of each worker thread.
    pub stack_bytes: usize,
}

/// What the run did, besides its end.
#[derive(Debug, Default)]
pub struct RunReport {
    /// Workers that could not be pinned (more schedulers than cores, or
    /// pinning not permitted).
    pub unpinned: usize,
}

/// Pin the calling thread (worker `i`) to core `i`, counting failures.
pub(crate) fn pin(
    i: usize,
    cores: &[core_affinity::CoreId],
    unpinned: &std::sync::atomic::AtomicUsize,
) {
    let ok = cores
        .get(i)
        .is_some_and(|c| core_affinity::set_for_current(*c));
    if !ok {
        unpinned.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// The next process to run: our own queue, then the injector, then a batch
/// stolen from a random other worker.
pub(crate) fn find_task<T>(
    local: &Deque<T>,
    injector: &Injector<T>,
    stealers: &[Stealer<T>],
    me: usize,
    rng: &mut u64,
) -> Option<T> {
    if let Some(t) = local.pop() {
        return Some(t);
    }
    loop {
        let mut retry = false;
        match injector.steal_batch_and_pop(local) {
            Steal::Success(t) => return Some(t),
            Steal::Retry => retry = true,
            Steal::Empty => {}
        }
        let n = stealers.len();
        if n > 1 {
            *rng ^= *rng << 13;
            *rng ^= *rng >> 7;
            *rng ^= *rng << 17;
            let start = (*rng % n as u64) as usize;
            for k in 0..n {
                let v = (start + k) % n;
                if v == me {
                    continue;
                }
                match stealers[v].steal_batch_and_pop(local) {
                    Steal::Success(t) => return Some(t),
                    Steal::Retry => retry = true,
                    Steal::Empty => {}
                }
            }
        }
        if !retry {
            return None;
        }
    }
}
