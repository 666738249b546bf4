//! Observing a run from another thread (docs/OBSERVING.md): a snapshot of
//! every process and the schedulers' load, read while the run goes on and
//! without stopping it. The steps (named as in `sched/README.md`):
//!
//! - **O1** Each process is read in one critical section of its own lock
//!   ([`Process::view`](crate::Process)): its row is consistent in itself
//!   (status, wait, mailbox length, links, monitors, name, trap_exit and
//!   what the observer reads of its execution state, at one moment). Rows
//!   of different processes are read one after another, not at one
//!   instant. A process that a worker runs right now has no readable
//!   execution state (its worker holds it, M1): the row has the executor's
//!   note from the end of its last preempted slice instead, and the messages
//!   that arrived during the current slice (the inbox) as a lower bound of
//!   its mailbox.
//! - **O2** A one-scheduler run takes process locks by plain stores (L1):
//!   no other thread may take them while it runs. An observer that cannot
//!   enter the gate ([`SoloGate::try_enter`](crate::sync)) queues its job
//!   (W1), sets `Idle`'s look flag (which the worker's one load between
//!   slices reads with the run's end) and announces it to an idle worker
//!   (W2, `notify_work`; the sleeper's S3 re-check sees `pending`), and the
//!   run's one worker runs it between two slices: then no process runs, and the snapshot is one instant. If
//!   the run ended before the job was queued, the observer runs it itself
//!   (it can enter the gate then); the run's end also runs what is left.
//! - **O3** Each worker adds the time it sleeps idle (S5) to its load
//!   counters, on the idle path only: utilisation = 1 − idle / elapsed.

use super::Node;
use crate::process::View;
use crate::sync::{lock, AtomicBool, AtomicU64, Mutex, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Work for a thread that may read process locks: run right away by the
/// observer, or between two slices by a one-scheduler run's worker (O2).
pub type Job<S> = Box<dyn FnOnce(&Node<S>) + Send>;

/// The node's observer state.
pub(crate) struct Observers<S> {
    /// Set exactly while `jobs` is not empty (both under `jobs`' lock).
    pending: AtomicBool,
    jobs: Mutex<Vec<Job<S>>>,
    /// The current (or last) run's load counters.
    loads: Mutex<Option<Arc<RunLoad>>>,
}

impl<S> Observers<S> {
    pub(crate) fn new() -> Observers<S> {
        Observers {
            pending: AtomicBool::new(false),
            jobs: Mutex::new(Vec::new()),
            loads: Mutex::new(None),
        }
    }
}

/// One run's load counters: one per worker.
pub(crate) struct RunLoad {
    started: Instant,
    pub(crate) workers: Vec<WorkerLoad>,
}

/// O3: a worker's idle time.
#[derive(Default)]
pub(crate) struct WorkerLoad {
    /// Nanoseconds slept idle, sleeps that ended.
    idle_ns: AtomicU64,
    /// When the current sleep began (nanoseconds since the run started,
    /// plus one), or 0 while awake.
    asleep_since: AtomicU64,
}

impl RunLoad {
    pub(crate) fn new(workers: usize) -> RunLoad {
        RunLoad {
            started: Instant::now(),
            workers: (0..workers).map(|_| WorkerLoad::default()).collect(),
        }
    }

    fn nanos(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.started).as_nanos() as u64
    }

    /// O3: worker `w` goes to sleep.
    pub(crate) fn sleeps(&self, w: usize) {
        let now = self.nanos(Instant::now());
        self.workers[w]
            .asleep_since
            .store(now + 1, Ordering::Relaxed);
    }

    /// O3: worker `w` woke up.
    pub(crate) fn wakes(&self, w: usize) {
        let now = self.nanos(Instant::now());
        let load = &self.workers[w];
        let since = load.asleep_since.swap(0, Ordering::Relaxed);
        if since != 0 {
            load.idle_ns
                .fetch_add(now.saturating_sub(since - 1), Ordering::Relaxed);
        }
    }
}

/// The schedulers' load: time since the run started, and how long each
/// worker has slept idle in it (the sleep going on included).
#[derive(Clone, Debug)]
pub struct Loads {
    pub elapsed: Duration,
    pub idle: Vec<Duration>,
}

impl Loads {
    /// Each worker's utilisation (0 to 1) between `before` and this.
    pub fn utilisation_since(&self, before: Option<&Loads>) -> Vec<f64> {
        let (e0, i0) = match before {
            Some(b) if b.idle.len() == self.idle.len() && b.elapsed <= self.elapsed => {
                (b.elapsed, b.idle.clone())
            }
            _ => (Duration::ZERO, vec![Duration::ZERO; self.idle.len()]),
        };
        let span = (self.elapsed - e0).as_secs_f64();
        self.idle
            .iter()
            .zip(i0)
            .map(|(i, i0)| {
                if span <= 0.0 {
                    return 0.0;
                }
                let idle = i.saturating_sub(i0).as_secs_f64();
                (1.0 - idle / span).clamp(0.0, 1.0)
            })
            .collect()
    }
}

/// Leaves the gate (L3) when dropped.
struct Leave<'a>(&'a crate::sync::SoloGate);

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        self.0.leave();
    }
}

impl<S: Send> Node<S> {
    /// Run `job` where it may read process locks (O2): here and now, unless
    /// a one-scheduler run holds them; then that run's worker runs it
    /// between two slices (a slice in one very long instruction answers
    /// late: the caller waits for the job's answer with a timeout).
    pub fn observe(&self, job: Job<S>) {
        if self.solo.try_enter() {
            let _leave = Leave(&self.solo);
            return job(self);
        }
        {
            let mut jobs = lock(&self.observers.jobs);
            jobs.push(job);
            // For the workers' between-slices check; set first, so a
            // worker that sees `pending` (S3) also sees it.
            self.shared.idle.look();
            self.observers.pending.store(true, Ordering::SeqCst);
        }
        // W2: a sleeping worker wakes (its S3 re-check sees `pending`).
        self.shared.idle.notify_work();
        // The run may have ended before the job was queued.
        if self.solo.try_enter() {
            let _leave = Leave(&self.solo);
            self.run_jobs();
        }
    }

    /// Whether jobs wait (exact under the jobs' lock). SeqCst: the idle
    /// worker's S3 re-check pairs with `observe`'s W2 as for queued work.
    #[inline]
    pub(crate) fn jobs_pending(&self) -> bool {
        self.observers.pending.load(Ordering::SeqCst)
    }

    /// Run the queued jobs, on a thread that may read process locks.
    pub(crate) fn run_jobs(&self) {
        let jobs = {
            let mut jobs = lock(&self.observers.jobs);
            // A job queued after this sets both again.
            self.shared.idle.looked();
            self.observers.pending.store(false, Ordering::SeqCst);
            std::mem::take(&mut *jobs)
        };
        for job in jobs {
            job(self);
        }
    }

    /// O1: every live process, in PID order, to `each`; `read` reads what
    /// the caller needs of a process's execution state while it is at rest.
    /// Call it from a job ([`Node::observe`]). It looks up every PID ever
    /// given out (a lock-free lookup each).
    pub fn observe_processes<T>(
        &self,
        mut read: impl FnMut(&S) -> T,
        mut each: impl FnMut(View<T>),
    ) {
        let end = self.next_pid.load(Ordering::Acquire) as crate::Pid;
        let now = Instant::now();
        self.outside(|| {
            for pid in 1..end {
                if let Some(p) = self.get(pid) {
                    each(p.view(now, &mut read));
                }
            }
        });
    }

    /// The schedulers' load in the current (or last) run, if one started.
    pub fn loads(&self) -> Option<Loads> {
        let run = lock(&self.observers.loads).clone()?;
        let now = Instant::now();
        let now_ns = run.nanos(now);
        let idle = run
            .workers
            .iter()
            .map(|w| {
                let since = w.asleep_since.load(Ordering::Relaxed);
                let current = if since == 0 {
                    0
                } else {
                    now_ns.saturating_sub(since - 1)
                };
                Duration::from_nanos(w.idle_ns.load(Ordering::Relaxed) + current)
            })
            .collect();
        Some(Loads {
            elapsed: now.saturating_duration_since(run.started),
            idle,
        })
    }

    /// A run begins with `workers` schedulers: its load counters.
    pub(crate) fn start_loads(&self, workers: usize) -> Arc<RunLoad> {
        let run = Arc::new(RunLoad::new(workers));
        *lock(&self.observers.loads) = Some(run.clone());
        run
    }
}
