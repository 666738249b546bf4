//! Running a node in rounds (the REPL, `src/engine/repl.rs`): a host runs
//! the node until the executor ends the run (`Outcome::ExitVm`) or it
//! deadlocks, changes the processes' execution states while no worker runs
//! (the code they run grew), and runs the node again. Between rounds
//! nothing runs: the processes keep their states, mailboxes, links and
//! timers.
//!
//! A run that ends leaves the processes that were queued without a queue
//! entry (the run's queues are dropped, `run.rs`); [`Node::prepare_round`]
//! queues them again. None of this is used by an ordinary run.

use super::Node;
use crate::process::{Entry, Pid, Status};

impl<S: Send> Node<S> {
    /// Before another [`Node::run`] of a node whose run ended with
    /// `RunEnd::Exit` or `RunEnd::Deadlock`: the run may start again, and
    /// every process that is `Queued` goes back in a run queue.
    pub fn prepare_round(&self) {
        self.shared.idle.reset();
        // The run's end closed the I/O threads' queue.
        self.io.reopen();
        let end = self.next_pid.load(crate::sync::Ordering::Acquire) as Pid;
        self.outside(|| {
            for pid in 1..end {
                let Some(p) = self.get(pid) else { continue };
                let g = p.inner.lock();
                if g.meta.status == Status::Queued && !g.meta.stale_entry {
                    // Q1/Q2: the process is in the table (it keeps it
                    // allocated) and `Queued` with no other entry: the
                    // previous run's entries were dropped.
                    self.shared.injector.push(Entry::new(&p));
                }
            }
        });
    }

    /// Between rounds: end the wait of `pid` (a receive or a sleep that
    /// would never end) so that it runs again at its `pc` in the next
    /// round. False when it is not waiting.
    pub fn cancel_wait(&self, pid: Pid) -> bool {
        self.outside(|| {
            let Some(p) = self.get(pid) else { return false };
            let mut g = p.inner.lock();
            let m = &mut g.meta;
            if m.status != Status::Waiting {
                return false;
            }
            // A timer of this wait is ignored from now on.
            m.wait_token += 1;
            m.wait = None;
            m.timed_out = false;
            m.status = Status::Queued;
            true
        })
    }

    /// Between rounds: `f` on the execution state of `pid`, which may
    /// change it (None when the process is gone or not at rest).
    pub fn with_state_mut<R>(&self, pid: Pid, f: impl FnOnce(Option<&mut S>) -> R) -> R {
        self.outside(|| match self.get(pid) {
            Some(p) => f(p.inner.lock().state.as_mut()),
            None => f(None),
        })
    }

    /// The live processes, in PID order.
    pub fn live_pids(&self) -> Vec<Pid> {
        let end = self.next_pid.load(crate::sync::Ordering::Acquire) as Pid;
        self.outside(|| (1..end).filter(|&pid| self.get(pid).is_some()).collect())
    }
}

impl<S: Send> Node<S> {
    /// [`Node::run`] with process locks taken atomically even on one
    /// scheduler (no lock elision, `sched/README.md` "Locks"), so that
    /// another thread may look at the processes (`live_pids`, `name_of`)
    /// while it runs, without waiting for its end.
    pub fn run_shared<E: crate::Execute<S>>(
        &self,
        exec: &E,
        config: &crate::SchedConfig,
    ) -> (crate::RunEnd, crate::sched::RunReport) {
        // L3: a user of the locks for the whole run: `begin_run` cannot
        // make it a solo run.
        self.solo.enter();
        struct Leave<'a>(&'a crate::sync::SoloGate);
        impl Drop for Leave<'_> {
            fn drop(&mut self) {
                self.0.leave();
            }
        }
        let _leave = Leave(&self.solo);
        self.run(exec, config)
    }

    /// End the current run from another thread: every worker stops after
    /// its slice (sleeping ones wake), and the run returns `end` unless it
    /// had already ended otherwise.
    pub fn stop_run(&self, end: crate::RunEnd) {
        self.shared.idle.finish(move || end);
    }
}
