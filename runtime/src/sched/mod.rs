//! Schedulers: one worker thread per scheduler (pinned to a core when
//! possible), each with a local FIFO run queue; a global injector; idle
//! workers steal in batches from a random victim, then sleep without lost
//! wake-ups. The protocol is written down in `README.md` beside this file.
//!
//! With one scheduler the run is deterministic (SPEC §4.6): one FIFO queue,
//! new and woken processes at its tail.

mod idle;

pub use idle::{Idle, IdleState, Woke};

use crate::node::{Execute, Node, Outcome, RunEnd, Sched};
use crate::process::{After, Entry, Own, Process, SliceEnd, Start};
use crate::sync::LockMode;
use crate::table::{Garbage, Mark};
use crossbeam_deque::{Injector, Steal, Stealer, Worker};
use std::time::{Duration, Instant};

/// Processes a worker runs from its LIFO slot in a row while others wait
/// in the queues; then the queue gets a turn (so ping-pong stays on one
/// core without starving the rest).
const MAX_LIFO_RUNS: u32 = 3;

/// The run queues and idle state every worker shares.
pub(crate) struct Shared<S> {
    pub(crate) injector: Injector<Entry<S>>,
    pub(crate) idle: Idle<RunEnd>,
}

impl<S> Shared<S> {
    pub(crate) fn new() -> Shared<S> {
        Shared {
            injector: Injector::new(),
            idle: Idle::default(),
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

impl<S: Send> Node<S> {
    /// Run every process to the end on `config.schedulers` threads (the
    /// calling thread is worker 0).
    pub fn run<E: Execute<S>>(&self, exec: &E, config: &SchedConfig) -> (RunEnd, RunReport) {
        let n = config.schedulers.max(1);
        let workers: Vec<Worker<Entry<S>>> = (0..n).map(|_| Worker::new_fifo()).collect();
        let stealers: Vec<Stealer<Entry<S>>> = workers.iter().map(Worker::stealer).collect();
        let cores = if config.pin {
            core_affinity::get_core_ids().unwrap_or_default()
        } else {
            Vec::new()
        };
        let unpinned = std::sync::atomic::AtomicUsize::new(0);
        let marks: Vec<Mark> = (0..n).map(|_| Mark::new()).collect();
        let marks = &marks[..];
        let locking = self.begin_run(n);
        // L2 also when a worker panics (the panic goes on after).
        struct EndRun<'a, S: Send>(&'a Node<S>, LockMode);
        impl<S: Send> Drop for EndRun<'_, S> {
            fn drop(&mut self) {
                self.0.end_run(self.1);
            }
        }
        let end_run = EndRun(self, locking);
        std::thread::scope(|scope| {
            let mut workers = workers.into_iter().enumerate();
            let (_, first) = workers.next().expect("one worker");
            for (i, local) in workers {
                let (stealers, cores, unpinned) = (&stealers, &cores, &unpinned);
                let spawned = std::thread::Builder::new()
                    .name(format!("ttvm-sched-{i}"))
                    .stack_size(config.stack_bytes)
                    .spawn_scoped(scope, move || {
                        pin(i, cores, unpinned);
                        self.work(i, exec, config, local, stealers, marks, locking)
                    });
                if let Err(e) = spawned {
                    // Fewer threads still run everything correctly.
                    self.trace(|| format!("scheduler {i} could not start: {e}"));
                }
            }
            pin(0, &cores, &unpinned);
            self.work(0, exec, config, first, &stealers, marks, locking);
        });
        // Entries left in the injector (Q2), then what the workers retired:
        // every worker has stopped.
        while let Steal::Success(e) = self.shared.injector.steal() {
            // SAFETY: Q2: not handed to R2.
            let kept = unsafe { e.get() }.release_stale();
            crate::sync::lock(&self.orphans).extend(kept.map(Garbage::Item));
        }
        drop(std::mem::take(&mut *crate::sync::lock(&self.orphans)));
        let end = self.shared.idle.take_result().unwrap_or(RunEnd::AllEnded);
        if end == RunEnd::AllEnded {
            // Whatever is left is blocked forever: discard it.
            self.clear();
        }
        drop(end_run);
        (
            end,
            RunReport {
                unpinned: unpinned.into_inner(),
            },
        )
    }

    /// One worker's loop; `locking` says how it takes process locks.
    #[allow(clippy::too_many_arguments)]
    fn work<E: Execute<S>>(
        &self,
        index: usize,
        exec: &E,
        config: &SchedConfig,
        local: Worker<Entry<S>>,
        stealers: &[Stealer<Entry<S>>],
        marks: &[Mark],
        locking: LockMode,
    ) {
        let workers = marks.len();
        let mut sched = Sched {
            node: self,
            local: Some(&local),
            messages: Default::default(),
            reductions: Default::default(),
            shared_queues: workers > 1,
            lifo: Default::default(),
            wake_deferred: Default::default(),
            lifo_runs: Default::default(),
            cascade: Default::default(),
            draining: Default::default(),
            own: std::cell::RefCell::new(Own {
                locking,
                ..Own::default()
            }),
            locking,
            solo: Default::default(),
            reclaim: Default::default(),
            marks,
            index,
        };
        sched.go_online();
        let mut rng =
            0x9E37_79B9_7F4A_7C15u64 ^ (index as u64 + 1).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        loop {
            // P4: between slices this worker holds no borrowed process.
            sched.quiesce();
            if self.shared.idle.is_done() {
                break;
            }
            if self.has_timers() && self.next_timer_in(Instant::now()) == Some(Duration::ZERO) {
                for p in self.due_timers(Instant::now()) {
                    sched.schedule(&p);
                }
            }
            let task = if workers == 1 {
                let next = sched.solo.borrow_mut().pop_front();
                next.or_else(|| find_task(&local, &self.shared.injector, stealers, index, &mut rng))
            } else {
                match sched.lifo.take() {
                    // At most MAX_LIFO_RUNS slot runs in a row while others
                    // wait in the queue; then the queue gets a turn.
                    Some(p)
                        if sched.lifo_runs.get() < MAX_LIFO_RUNS
                            || (local.is_empty() && self.shared.injector.is_empty()) =>
                    {
                        sched.lifo_runs.set(sched.lifo_runs.get() + 1);
                        Some(p)
                    }
                    Some(p) => {
                        sched.lifo_runs.set(0);
                        sched.push(p);
                        find_task(&local, &self.shared.injector, stealers, index, &mut rng)
                    }
                    None => {
                        sched.lifo_runs.set(0);
                        find_task(&local, &self.shared.injector, stealers, index, &mut rng)
                    }
                }
            };
            match task {
                Some(p) => {
                    self.run_one(&sched, exec, p, config.budget);
                    // W3: the slice spawned processes: wake a sleeper once
                    // (not once per SPAWN) to share them.
                    if sched.wake_deferred.replace(false) {
                        self.shared.idle.notify_work();
                    }
                }
                None => {
                    exec.idle();
                    if self.next_timer_in(Instant::now()) == Some(Duration::ZERO) {
                        continue;
                    }
                    let timeout = || self.next_timer_in(Instant::now());
                    let has_work = || {
                        !self.shared.injector.is_empty() || stealers.iter().any(|s| !s.is_empty())
                    };
                    let all_idle = || {
                        if self.live() == 0 || !self.is_alive(1) {
                            RunEnd::AllEnded
                        } else {
                            RunEnd::Deadlock
                        }
                    };
                    sched.go_offline();
                    let woke = self.shared.idle.sleep(workers, has_work, timeout, all_idle);
                    sched.go_online();
                    if woke == Woke::Done {
                        break;
                    }
                }
            }
        }
        // Q2: the stale entries this worker still holds.
        let mut left: Vec<Entry<S>> = sched.solo.get_mut().drain(..).collect();
        left.extend(sched.lifo.take());
        while let Some(e) = local.pop() {
            left.push(e);
        }
        for e in left {
            // SAFETY: Q2: not handed to R2.
            if let Some(kept) = unsafe { e.get() }.release_stale() {
                sched.reclaim.get_mut().retire(Garbage::Item(kept));
            }
        }
        sched.go_offline();
        let garbage = std::mem::take(sched.reclaim.get_mut()).into_garbage();
        crate::sync::lock(&self.orphans).extend(garbage);
        self.stats
            .messages
            .fetch_add(sched.messages.get(), std::sync::atomic::Ordering::Relaxed);
        self.stats
            .reductions
            .fetch_add(sched.reductions.get(), std::sync::atomic::Ordering::Relaxed);
    }

    fn run_one<E: Execute<S>>(&self, sched: &Sched<'_, S>, exec: &E, entry: Entry<S>, budget: i64) {
        // SAFETY: Q2: the entry is handed to R2 right here; after R2 the
        // process is ours (Running) until R4/R5, and after that it is not
        // freed before this worker's next quiescent point (P4): it is either
        // still in the table, or was removed and retired by X1.
        let p = unsafe { entry.get() };
        let state = match p.transition_to_running(&mut sched.own.borrow_mut()) {
            Start::Skip(None) => return,
            Start::Skip(Some(kept)) => {
                return sched.reclaim.borrow_mut().retire(Garbage::Item(kept));
            }
            Start::Exit(reason) => return self.exited(sched, p, reason),
            Start::Run(state) => state,
        };
        let mut state = state;
        let end = match exec.run_slice(sched, p, &mut state, budget) {
            Outcome::Preempted => SliceEnd::Preempted,
            Outcome::Waiting => SliceEnd::Waiting,
            Outcome::Ended(reason) => {
                p.transition_to_exiting(&mut sched.own.borrow_mut());
                drop(state);
                return self.exited(sched, p, reason);
            }
            Outcome::ExitVm(code) => {
                let own = &mut sched.own.borrow_mut();
                p.transition_after_slice(state, own, SliceEnd::Preempted);
                self.shared.idle.finish(|| RunEnd::Exit(code));
                return;
            }
        };
        let after = p.transition_after_slice(state, &mut sched.own.borrow_mut(), end);
        match after {
            After::Requeue => sched.requeue(p),
            After::Parked(None) => {}
            After::Parked(Some((deadline, token))) => self.add_timer(deadline, token, p.pid),
            After::Exit(reason) => self.exited(sched, p, reason),
        }
    }

    fn exited(&self, sched: &Sched<'_, S>, p: &Process<S>, reason: crate::value::Value) {
        sched.finish_exit(p, reason);
        if self.live() == 0 {
            self.shared.idle.finish(|| RunEnd::AllEnded);
        }
    }
}

fn pin(i: usize, cores: &[core_affinity::CoreId], unpinned: &std::sync::atomic::AtomicUsize) {
    let ok = cores
        .get(i)
        .is_some_and(|c| core_affinity::set_for_current(*c));
    if !ok {
        unpinned.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// The next process to run: our own queue, then the injector, then a batch
/// stolen from a random other worker.
fn find_task<T>(
    local: &Worker<T>,
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
