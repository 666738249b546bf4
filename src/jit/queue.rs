//! Background compilation (docs/JIT.md, "Hotness"; B1–B5 in README.md
//! beside this file): a queue of hot units and one compiler thread, as in
//! HotSpot, V8 and .NET's tiered compilation. A scheduler that finds a
//! unit hot queues it and goes on interpreting; the compiler thread
//! compiles it (under `Jit::mem`, T3, and publishes it, T4) and the next
//! header the interpreter reaches in the unit enters the code.
//!
//! The thread runs as long as the run's processes do ([`Jit::start_compiler`]
//! and the [`Compiler`] guard). At the end the queue stops: what is still
//! queued is dropped (nothing would run the code), an idle thread is
//! joined, and a compile in progress is not waited for — the thread
//! holds its own reference to the `Jit` (so the code memory stays until
//! it has finished) and ends by itself after that compile, writing
//! nothing more.

use super::compile::Why;
use super::{Jit, JitStats};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Native stack of the compiler thread. Cranelift and the lowering are
/// iterative; this is a margin (only the pages touched are committed).
const COMPILER_STACK_BYTES: usize = 64 << 20;

/// The compile queue of a run.
#[derive(Default)]
pub(super) struct Queue {
    /// A compiler thread serves the queue (B1): set when it starts, never
    /// cleared (a request after the end is dropped, B5). Relaxed: it only
    /// chooses between queueing and compiling on the spot, both correct.
    serving: AtomicBool,
    /// The run has ended (B5): a compile that finishes now writes no
    /// `--jit-dump` text. Relaxed, a hint (the output is flushed by then).
    stopped: AtomicBool,
    state: Mutex<State>,
    /// Signalled when a job is queued or the queue stops.
    ready: Condvar,
}

#[derive(Default)]
struct State {
    jobs: VecDeque<Job>,
    stop: bool,
    /// A job is being compiled.
    busy: bool,
    stats: Background,
}

/// One unit to compile.
struct Job {
    unit: usize,
    /// Hot, again without assumptions across blocks (E3), again by the
    /// second tier, or its direct entry.
    why: Why,
    since: Instant,
}

/// What `--stats` says of background compilation.
#[derive(Debug, Default, Clone)]
pub struct Background {
    /// Jobs the compiler thread finished (a unit and the direct entries
    /// compiled with it; a recompilation without assumptions).
    pub compiles: u64,
    /// Jobs still queued when the run ended (never compiled).
    pub left: u64,
    /// A job was being compiled when the run ended (not waited for).
    pub unfinished: bool,
    /// Time jobs spent in the queue before the thread took them: total
    /// and longest.
    pub waited: Duration,
    pub longest: Duration,
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A compiler thread serves the queue.
    #[inline]
    pub(super) fn serving(&self) -> bool {
        self.serving.load(Ordering::Relaxed)
    }

    /// The run has ended.
    pub(super) fn stopped(&self) -> bool {
        self.stopped.load(Ordering::Relaxed)
    }

    /// Queue a job (B2); never waits for a compile (the lock guards the
    /// queue only).
    fn push(&self, unit: usize, why: Why) {
        let mut s = self.lock();
        if s.stop {
            s.stats.left += 1;
            return;
        }
        // A direct entry is asked for at every few calls until it is
        // compiled: queued once (the job compiles it at most once,
        // `Unit::direct_tried`).
        if why == Why::Direct && s.jobs.iter().any(|j| j.unit == unit && j.why == why) {
            return;
        }
        s.jobs.push_back(Job {
            unit,
            why,
            since: Instant::now(),
        });
        drop(s);
        self.ready.notify_one();
    }

    /// The next job, or `None` when the run has ended (B3).
    fn take(&self) -> Option<Job> {
        let mut s = self.lock();
        loop {
            if s.stop {
                return None;
            }
            if let Some(job) = s.jobs.pop_front() {
                let waited = job.since.elapsed();
                s.stats.waited += waited;
                s.stats.longest = s.stats.longest.max(waited);
                s.busy = true;
                return Some(job);
            }
            s = self.ready.wait(s).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// The job taken last is done (counted unless the run ended first:
    /// then [`Queue::stop`] counted it unfinished).
    fn done(&self) {
        let mut s = self.lock();
        s.busy = false;
        if !s.stop {
            s.stats.compiles += 1;
        }
    }

    /// The run ended (B5): the jobs still queued are dropped and the thread
    /// told to stop; whether it is compiling (then it stops after that
    /// compile).
    fn stop(&self) -> bool {
        let mut s = self.lock();
        self.stopped.store(true, Ordering::Relaxed);
        s.stop = true;
        s.stats.left += s.jobs.len() as u64;
        s.jobs.clear();
        s.stats.unfinished = s.busy;
        let busy = s.busy;
        drop(s);
        self.ready.notify_all();
        busy
    }

    /// Its `--stats` figures, when a compiler thread served it.
    pub(super) fn report(&self, into: &mut JitStats) {
        if self.serving() {
            into.background = Some(self.lock().stats.clone());
        }
    }
}

/// The compiler thread of a run ([`Jit::start_compiler`]). Dropping it
/// (at the end of the run, also by unwinding) stops the queue (B5).
pub struct Compiler {
    jit: Arc<Jit>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Compiler {
    fn drop(&mut self) {
        let busy = self.jit.queue.stop();
        if let Some(t) = self.thread.take() {
            if !busy {
                // Idle or about to see the stop: it ends at once. (A panic
                // of the thread was a bug already reported as a fallback.)
                let _ = t.join();
            }
            // Else it ends after its compile, holding its own `Arc<Jit>`.
        }
    }
}

impl Jit {
    /// Start the compiler thread of `jit`, when it compiles in the
    /// background (not with `--jit-sync` or `--jit-threshold 0`). Until
    /// the returned guard is dropped, hot units are queued for it; without
    /// a thread (none could be started) they are compiled where found hot.
    pub fn start_compiler(jit: &Arc<Jit>) -> Option<Compiler> {
        if !jit.background {
            return None;
        }
        let me = jit.clone();
        let thread = std::thread::Builder::new()
            .name("ttvm-jit".to_string())
            .stack_size(COMPILER_STACK_BYTES)
            .spawn(move || me.serve())
            .ok()?;
        jit.queue.serving.store(true, Ordering::Relaxed);
        Some(Compiler {
            jit: jit.clone(),
            thread: Some(thread),
        })
    }

    /// The compiler thread: compile what is queued until the run ends.
    fn serve(&self) {
        while let Some(job) = self.queue.take() {
            // `generate` catches Cranelift's panics; this catches any other
            // (a bug), so the thread goes on and the run ends normally.
            let compiled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                self.compile_unit(job.unit, job.why)
            }));
            if let Err(p) = compiled {
                let u = &self.units[job.unit];
                let why = super::generator_failed(p);
                let _guard = self.mem.lock().unwrap_or_else(|e| e.into_inner());
                self.give_up(u);
                self.stats_mut().fallbacks.push((self.unit_name(u), why));
            }
            self.queue.done();
        }
    }

    /// Unit `index` is hot (or its entry checks keep failing: `generic`):
    /// queue it when a compiler thread serves the queue, else compile it
    /// here. A unit is queued once (`Unit::queued`, B2); a recompilation
    /// is requested once already (E3).
    pub(super) fn request(&self, index: usize, why: Why) {
        if !self.queue.serving() {
            self.compile_unit(index, why);
            return;
        }
        let u = &self.units[index];
        if why == Why::Hot
            && (u.queued.load(Ordering::Relaxed) || u.queued.swap(true, Ordering::Relaxed))
        {
            return;
        }
        self.queue.push(index, why);
    }
}
