//! The run: every scheduler thread's loop — take a process (`Worker::
//! next_task`), run its slice through the executor (R2–R5), handle its end,
//! fire due timers, sleep when idle — and the end of the run. The worker's
//! own state and queues are `sched::Worker`; the protocol is
//! `sched/README.md`.

use super::observe::RunLoad;
use super::{Execute, Node, Outcome, Sched};
use crate::process::{After, Entry, Process, SliceEnd, Start};
use crate::sched::{pin, PollSleep, RunEnd, RunReport, SchedConfig, Woke, Worker};
use crate::sync::LockMode;
use crate::table::{Garbage, Mark};
use crossbeam_deque::{Steal, Stealer, Worker as Deque};
use std::time::{Duration, Instant};

/// W3: how long a spawned child may wait in its worker's nursery, in
/// slices' worth of that worker's reductions, before other workers may
/// steal it.
const NURSERY_SLICES: u64 = 2;

/// W4: how long this worker's stealable queue may stay non-empty, in
/// slices' worth of its reductions, before a sleeper is woken to share it.
const WAKE_AFTER_SLICES: u64 = 1;

/// The network poll offered to a worker going idle (S5''): taken only
/// if it is the last to go idle.
struct NetSleep<'a> {
    net: &'a crate::net::Net,
    right: Option<crate::net::PollRight<'a>>,
}

impl PollSleep for NetSleep<'_> {
    fn take(&mut self) -> bool {
        self.right = self.net.try_poll();
        self.right.is_some()
    }

    fn wait(&mut self, timeout: Option<Duration>) {
        if let Some(r) = &mut self.right {
            r.wait(timeout);
        }
    }
}

/// I5: how often an idle worker looks again while blocking operations are
/// on their way (a finished one wakes it at once; this only bounds a
/// wake-up that could not be given).
const IO_RECHECK: Duration = Duration::from_secs(1);

impl<S: Send> Node<S> {
    /// Run every process to the end on `config.schedulers` threads (the
    /// calling thread is worker 0).
    pub fn run<E: Execute<S>>(&self, exec: &E, config: &SchedConfig) -> (RunEnd, RunReport) {
        let n = config.schedulers.max(1);
        let workers: Vec<Deque<Entry<S>>> = (0..n).map(|_| Deque::new_fifo()).collect();
        let stealers: Vec<Stealer<Entry<S>>> = workers.iter().map(Deque::stealer).collect();
        let cores = if config.pin {
            core_affinity::get_core_ids().unwrap_or_default()
        } else {
            Vec::new()
        };
        let unpinned = std::sync::atomic::AtomicUsize::new(0);
        // The workers that run (a thread that cannot start is not one).
        let started = std::sync::atomic::AtomicUsize::new(n);
        let marks: Vec<Mark> = (0..n).map(|_| Mark::new()).collect();
        let marks = &marks[..];
        let locking = self.begin_run(n);
        let loads = self.start_loads(n);
        let loads = &*loads;
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
                let (stealers, cores, unpinned, started) = (&stealers, &cores, &unpinned, &started);
                let spawned = std::thread::Builder::new()
                    .name(format!("ttvm-sched-{i}"))
                    .stack_size(config.stack_bytes)
                    .spawn_scoped(scope, move || {
                        pin(i, cores, unpinned);
                        self.work(
                            i, exec, config, local, stealers, marks, started, locking, loads,
                        )
                    });
                if let Err(e) = spawned {
                    // Fewer threads still run everything correctly (S4
                    // and S5'' count the workers that run).
                    started.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                    self.trace(|| format!("scheduler {i} could not start: {e}"));
                }
            }
            pin(0, &cores, &unpinned);
            self.work(
                0, exec, config, first, &stealers, marks, &started, locking, loads,
            );
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
        self.io.close();
        // The run is over: its sockets close. Their unsent bytes may take
        // a while to go out (`close_all` lingers): what the program printed
        // shows first.
        if let Some(net) = self.net.get() {
            exec.idle();
            net.close_all();
        }
        if end == RunEnd::AllEnded {
            // Whatever is left is blocked forever: discard it.
            self.clear();
        }
        drop(end_run);
        // O2: observers' jobs queued while the run ended (taken under
        // their lock: a job queued after this finds the gate open).
        self.outside(|| self.run_jobs());
        (
            end,
            RunReport {
                unpinned: unpinned.into_inner(),
            },
        )
    }

    /// One worker's loop; `locking` says how it takes process locks;
    /// `started` counts the workers that run.
    #[allow(clippy::too_many_arguments)]
    fn work<E: Execute<S>>(
        &self,
        index: usize,
        exec: &E,
        config: &SchedConfig,
        local: Deque<Entry<S>>,
        stealers: &[Stealer<Entry<S>>],
        marks: &[Mark],
        started: &std::sync::atomic::AtomicUsize,
        locking: LockMode,
        loads: &RunLoad,
    ) {
        let mut sched = Sched {
            node: self,
            w: Worker::new(
                &self.table,
                &self.shared,
                &local,
                marks,
                index,
                locking,
                NURSERY_SLICES * config.budget.max(1) as u64,
                WAKE_AFTER_SLICES * config.budget.max(1) as u64,
            ),
        };
        sched.w.go_online();
        // Its pushes to the done list need no W2 (W4).
        crate::io::on_worker(true);
        // SENDs to other nodes wait for the slice's end (`dist/`).
        let dist = self.dist.get();
        if dist.is_some() {
            crate::dist::worker_thread(true);
        }
        let mut woken = false;
        // N0: this worker's reduction count at which it next looks at the
        // network poll while busy.
        let mut next_poll = 0u64;
        let poll_every = config.budget.max(1) as u64;
        let mut rng =
            0x9E37_79B9_7F4A_7C15u64 ^ (index as u64 + 1).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        loop {
            // P4: between slices this worker holds no borrowed process.
            sched.w.quiesce();
            // One load: the run's end, or (O2) an observer's job queued
            // during a one-scheduler run.
            if self.shared.idle.attention() {
                if self.shared.idle.is_done() {
                    break;
                }
                self.run_jobs();
            }
            if self.has_timers() && self.next_timer_in(Instant::now()) == Some(Duration::ZERO) {
                for p in self.due_timers(Instant::now()) {
                    sched.w.schedule(&p);
                }
            }
            // N0: a busy worker looks at the event loop once per slice's
            // worth of its reductions (an idle one sleeps in it), so
            // sockets are served while every worker runs.
            if sched.w.reductions.get() >= next_poll {
                next_poll = sched.w.reductions.get() + poll_every;
                if let Some(mut right) = self.net.get().and_then(|n| n.try_poll()) {
                    right.wait(Some(Duration::ZERO));
                    right.handle();
                }
            }
            if self.io.has_done() {
                sched.deliver_io();
            }
            // W4: a backlog that outlasts a slice wakes a sleeper.
            sched.w.check_backlog();
            let task = sched.w.next_task(&local, stealers, &mut rng);
            match task {
                Some(p) => {
                    // W2' (`sched/README.md`): a woken worker that found
                    // work passes the wake-up on when more is waiting, as
                    // the pushes it stood for would have.
                    if std::mem::take(&mut woken) && self.work_waits(stealers, index) {
                        self.shared.idle.notify_work();
                    }
                    self.run_one(&sched, exec, p, config.budget)
                }
                None => {
                    // What handling events and delivering sent to other
                    // nodes (a remote monitor's answer) goes out before
                    // this worker may sleep.
                    if let Some(d) = dist {
                        d.flush_pending();
                    }
                    exec.idle();
                    if self.next_timer_in(Instant::now()) == Some(Duration::ZERO) {
                        continue;
                    }
                    // I5: a blocking operation on its way counts as a timer
                    // that is not due: the run is not over, and this worker
                    // looks again when it finishes (W2) or after a while.
                    let timeout = || match self.next_timer_in(Instant::now()) {
                        None if self.io.pending() > 0 => Some(IO_RECHECK),
                        t => t,
                    };
                    let has_work = || {
                        !self.shared.injector.is_empty()
                            || stealers.iter().any(|s| !s.is_empty())
                            || self.jobs_pending()
                            || self.io.has_done_locked()
                    };
                    let all_idle = || {
                        if self.live() == 0 || !self.is_alive(1) {
                            RunEnd::AllEnded
                        } else {
                            RunEnd::Deadlock
                        }
                    };
                    sched.w.go_offline();
                    loads.sleeps(index);
                    // S5' (N0): the last worker to go idle sleeps in the
                    // network poll (S5''), and handles its events on
                    // waking.
                    let workers = started.load(std::sync::atomic::Ordering::SeqCst);
                    let mut poll = self.net.get().map(|net| NetSleep { net, right: None });
                    let woke = match &mut poll {
                        Some(p) => {
                            self.shared
                                .idle
                                .sleep_in(workers, has_work, timeout, all_idle, Some(p))
                        }
                        None => self.shared.idle.sleep(workers, has_work, timeout, all_idle),
                    };
                    loads.wakes(index);
                    sched.w.go_online();
                    if let Some(mut r) = poll.and_then(|p| p.right) {
                        r.handle();
                    }
                    if woke == Woke::Done {
                        break;
                    }
                    woken = true;
                }
            }
        }
        if let Some(d) = dist {
            d.flush_pending();
            crate::dist::worker_thread(false);
        }
        crate::io::on_worker(false);
        // Q2: the stale entries this worker still holds.
        let mut left: Vec<Entry<S>> = sched.w.solo.get_mut().drain(..).collect();
        left.extend(sched.w.lifo.take());
        left.extend(sched.w.nursery.get_mut().drain(..).map(|(_, e)| e));
        while let Some(e) = local.pop() {
            left.push(e);
        }
        for e in left {
            // SAFETY: Q2: not handed to R2.
            if let Some(kept) = unsafe { e.get() }.release_stale() {
                sched.w.reclaim.get_mut().retire(Garbage::Item(kept));
            }
        }
        sched.w.go_offline();
        let garbage = std::mem::take(sched.w.reclaim.get_mut()).into_garbage();
        crate::sync::lock(&self.orphans).extend(garbage);
        self.stats
            .messages
            .fetch_add(sched.w.messages.get(), std::sync::atomic::Ordering::Relaxed);
        self.stats.reductions.fetch_add(
            sched.w.reductions.get(),
            std::sync::atomic::Ordering::Relaxed,
        );
        let mut per = crate::sync::lock(&self.stats.worker_reductions);
        if per.len() <= index {
            per.resize(index + 1, 0);
        }
        per[index] += sched.w.reductions.get();
    }

    /// W2'': whether processes wait that no awake worker will see to —
    /// in the injector, or in another worker's queue — for worker `me`
    /// just woken (lock-free looks at queue lengths). Its own queue and
    /// the done list are left out: it delivers and pops them itself, and
    /// its backlog check (W4) wakes another when they outlast a slice.
    fn work_waits(&self, stealers: &[Stealer<Entry<S>>], me: usize) -> bool {
        !self.shared.injector.is_empty()
            || stealers
                .iter()
                .enumerate()
                .any(|(i, s)| i != me && !s.is_empty())
    }

    fn run_one<E: Execute<S>>(&self, sched: &Sched<'_, S>, exec: &E, entry: Entry<S>, budget: i64) {
        // SAFETY: Q2: the entry is handed to R2 right here; after R2 the
        // process is ours (Running) until R4/R5, and after that it is not
        // freed before this worker's next quiescent point (P4): it is either
        // still in the table, or was removed and retired by X1.
        let p = unsafe { entry.get() };
        let state = match p.transition_to_running(&mut sched.w.own.borrow_mut()) {
            Start::Skip(None) => return,
            Start::Skip(Some(kept)) => {
                return sched.w.reclaim.borrow_mut().retire(Garbage::Item(kept));
            }
            Start::Exit(reason) => return self.exited(sched, p, reason),
            Start::Run(state) => state,
        };
        let mut state = state;
        let outcome = exec.run_slice(sched, p, &mut state, budget);
        // The slice's SENDs to other nodes go out (or queue for the
        // writer) while the process is still running here: before it can
        // run on another worker and send more (order per sender, `dist/`).
        if let Some(d) = self.dist.get() {
            d.flush_pending();
        }
        let end = match outcome {
            Outcome::Preempted => SliceEnd::Preempted,
            Outcome::Waiting => SliceEnd::Waiting,
            Outcome::Ended(reason) => {
                p.transition_to_exiting(&mut sched.w.own.borrow_mut());
                drop(state);
                return self.exited(sched, p, reason);
            }
            Outcome::ExitVm(code) => {
                let own = &mut sched.w.own.borrow_mut();
                p.transition_after_slice(state, own, SliceEnd::Preempted);
                self.shared.idle.finish(|| RunEnd::Exit(code));
                return;
            }
        };
        let after = p.transition_after_slice(state, &mut sched.w.own.borrow_mut(), end);
        match after {
            After::Requeue => sched.w.requeue(p),
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
