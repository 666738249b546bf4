//! A worker: one scheduler thread's own state and its queue operations
//! (W1–W3, Q1–Q2, P2–P6 of `README.md`). The run loop that drives workers
//! (`node/run.rs`) and the process operations (`node.rs`) use it through
//! the node's per-worker handle, `node::Sched`.

use super::{find_task, Shared, MAX_LIFO_RUNS};
use crate::process::{Entry, Own, Pid, Process};
use crate::sync::LockMode;
use crate::table::{Mark, Reclaimer, Table};
use crate::value::Value;
use crossbeam_deque::{Stealer, Worker as Deque};
use std::sync::Arc;

/// A scheduler thread's own state: its run queues (the local deque, the
/// LIFO slot, the one-worker queue), its garbage and quiescent-point mark,
/// the running process's own part and its counters. The node's per-worker
/// handle (`node::Sched`) holds one; it is made by the run loop
/// (`node/run.rs`) and used only on its thread.
pub struct Worker<'a, S> {
    /// The process table (for P2 lookups and P4 quiescent points).
    pub(crate) table: &'a Table<Process<S>>,
    /// The injector and idle state every worker shares.
    pub(crate) shared: &'a Shared<S>,
    pub(crate) local: Option<&'a Deque<Entry<S>>>,
    /// Messages sent by this worker (added to the node's count at the end).
    pub(crate) messages: std::cell::Cell<u64>,
    /// Reductions spent on this worker (likewise).
    pub(crate) reductions: std::cell::Cell<u64>,
    /// More than one worker: wake-ups must be announced.
    pub(crate) shared_queues: bool,
    /// The LIFO slot (only with more than one worker): the process this
    /// worker woke most recently runs next, on this core, without waking
    /// another worker. Bounded by `lifo_runs` so it cannot starve the queue.
    pub(crate) lifo: std::cell::Cell<Option<Entry<S>>>,
    /// W3: the nursery, children spawned by processes on this worker that
    /// have not run yet, with this worker's reduction count when each was
    /// spawned. Only this worker sees it: other workers cannot steal from
    /// it, and a worker with a non-empty nursery does not go idle. Entries
    /// older than `nursery_age` reductions move to the local queue.
    pub(crate) nursery: std::cell::RefCell<std::collections::VecDeque<(u64, Entry<S>)>>,
    pub(crate) nursery_age: u64,
    pub(crate) lifo_runs: std::cell::Cell<u32>,
    /// W4: this worker's reduction count when its stealable queue was
    /// last seen non-empty after being empty (`None`: empty at the last
    /// look), and how many reductions a backlog may last before a sleeper
    /// is woken to share it.
    pub(crate) backlog_since: std::cell::Cell<Option<u64>>,
    pub(crate) wake_after: u64,
    /// Exits waiting to be run by `kill` (a link cascade is a loop over this
    /// list, not a recursion: a chain of a million linked processes must not
    /// overflow the native stack), and whether a loop is draining it.
    pub(crate) cascade: std::cell::RefCell<Vec<(Arc<Process<S>>, Value)>>,
    pub(crate) draining: std::cell::Cell<bool>,
    /// The run queue when this is the only worker: nobody steals from it,
    /// so it needs no atomics.
    pub(crate) solo: std::cell::RefCell<std::collections::VecDeque<Entry<S>>>,
    /// This worker's garbage (P3, P4) and quiescent-point mark.
    pub(crate) reclaim: std::cell::RefCell<Reclaimer<Process<S>>>,
    pub(crate) marks: &'a [Mark],
    pub(crate) index: usize,
    /// The running process's mailbox and wait (R2 to R4), and how this
    /// worker takes process locks.
    pub(crate) own: std::cell::RefCell<Own>,
    pub(crate) locking: LockMode,
}

impl<'a, S: Send> Worker<'a, S> {
    /// A worker's state at the start of a run: worker `index` of
    /// `marks.len()`, with local queue `local`, taking process locks as
    /// `locking` says; `nursery_age` and `wake_after` are W3's and W4's
    /// thresholds in this worker's reductions.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        table: &'a Table<Process<S>>,
        shared: &'a Shared<S>,
        local: &'a Deque<Entry<S>>,
        marks: &'a [Mark],
        index: usize,
        locking: LockMode,
        nursery_age: u64,
        wake_after: u64,
    ) -> Worker<'a, S> {
        Worker {
            table,
            shared,
            local: Some(local),
            messages: Default::default(),
            reductions: Default::default(),
            shared_queues: marks.len() > 1,
            lifo: Default::default(),
            nursery: Default::default(),
            nursery_age,
            lifo_runs: Default::default(),
            backlog_since: Default::default(),
            wake_after,
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
        }
    }

    /// The next process to run: with one worker the head of its FIFO
    /// queue (then the injector); with several, the LIFO slot — at most
    /// [`MAX_LIFO_RUNS`] times in a row while others wait in the queues —,
    /// then the local queue, the injector, and a batch stolen from a
    /// random other worker. `local` is this worker's deque. Children in the
    /// nursery (W3) run before the local queue and the rest.
    #[inline]
    pub(crate) fn next_task(
        &self,
        local: &Deque<Entry<S>>,
        stealers: &[Stealer<Entry<S>>],
        rng: &mut u64,
    ) -> Option<Entry<S>> {
        let injector = &self.shared.injector;
        if !self.shared_queues {
            let next = self.solo.borrow_mut().pop_front();
            return next.or_else(|| find_task(local, injector, stealers, self.index, rng));
        }
        let find = |rng: &mut u64| {
            if let Some(p) = self.nursery_next() {
                return Some(p);
            }
            find_task(local, injector, stealers, self.index, rng)
        };
        match self.lifo.take() {
            // At most MAX_LIFO_RUNS slot runs in a row while others
            // wait in the queue; then the queue gets a turn.
            Some(p)
                if self.lifo_runs.get() < MAX_LIFO_RUNS
                    || (local.is_empty()
                        && injector.is_empty()
                        && self.nursery.borrow().is_empty()) =>
            {
                self.lifo_runs.set(self.lifo_runs.get() + 1);
                Some(p)
            }
            Some(p) => {
                self.lifo_runs.set(0);
                self.push(p);
                find(rng)
            }
            None => {
                self.lifo_runs.set(0);
                find(rng)
            }
        }
    }

    /// W3: the nursery's oldest child, unless it has waited longer than
    /// `nursery_age` reductions of this worker: then the whole nursery
    /// moves to the local queue (where others may steal it; one W2) and
    /// the queue's head runs.
    fn nursery_next(&self) -> Option<Entry<S>> {
        let mut n = self.nursery.borrow_mut();
        let &(born, _) = n.front()?;
        if self.reductions.get().saturating_sub(born) <= self.nursery_age {
            return n.pop_front().map(|(_, p)| p);
        }
        let old: Vec<Entry<S>> = n.drain(..).map(|(_, p)| p).collect();
        drop(n);
        let w = self.local?;
        for p in old {
            w.push(p);
        }
        self.shared.idle.notify_work();
        w.pop()
    }

    /// SPAWN's queueing of the new process's entry `p`.
    pub(crate) fn push_spawned(&self, p: Entry<S>) {
        match (self.shared_queues, self.local) {
            // W3: into this worker's nursery, without W2 (this worker is
            // awake and runs the child itself).
            (true, Some(_)) => {
                let born = self.reductions.get();
                self.nursery.borrow_mut().push_back((born, p));
            }
            _ => self.push(p),
        }
    }

    /// P2: a process, borrowed without a lock or a count until this
    /// worker's next quiescent point (which needs `&mut self`).
    pub(crate) fn proc(&self, pid: Pid) -> Option<&Process<S>> {
        let p = self.table.lookup(pid as u64);
        // SAFETY: P2/P4: what a worker finds stays allocated until its next
        // quiescent point, and `quiesce` takes `&mut self`, so this borrow
        // ends first.
        (!p.is_null()).then(|| unsafe { &*p })
    }

    /// An owning handle on a process found by [`Worker::proc`].
    pub(crate) fn arc(&self, p: &Process<S>) -> Arc<Process<S>> {
        // SAFETY: every `Process` is created inside an `Arc` by
        // `Node::insert` (`Process::new` is crate-private and used nowhere
        // else outside tests), and `p` is alive (borrowed), so the count is
        // positive while we add ours.
        unsafe {
            Arc::increment_strong_count(p as *const Process<S>);
            Arc::from_raw(p as *const Process<S>)
        }
    }

    /// P4: a quiescent point (between slices): no borrowed process is held.
    pub(crate) fn quiesce(&mut self) {
        let (table, marks, me) = (self.table, self.marks, self.index);
        self.reclaim.get_mut().quiesce(table, marks, me);
    }

    /// P6: going idle, and back.
    pub(crate) fn go_offline(&mut self) {
        let (table, marks, me) = (self.table, self.marks, self.index);
        self.reclaim.get_mut().go_offline(table, marks, me);
    }

    pub(crate) fn go_online(&mut self) {
        let (table, marks, me) = (self.table, self.marks, self.index);
        self.reclaim.get_mut().go_online(table, marks, me);
    }

    /// Count `n` reductions spent on this worker (for `--stats`).
    pub fn spent(&self, n: u64) {
        self.reductions.set(self.reductions.get() + n);
    }

    /// Queue `p`, woken by a message or timer. With several workers it
    /// takes the LIFO slot (message ping-pong stays on one core); whatever
    /// held the slot moves to the queue, where others may steal it.
    pub(crate) fn schedule_woken(&self, p: &Process<S>) {
        if !self.shared_queues || self.local.is_none() {
            return self.schedule(p);
        }
        if let Some(old) = self.lifo.replace(Some(Entry::new(p))) {
            self.push(old);
        }
    }

    /// A process this worker preempted goes back in the queue (W1; no W2,
    /// as every push to this worker's own queue: W4). When nothing else
    /// waits in this worker's queue or LIFO slot, this worker runs it next
    /// itself, so it is no backlog: W4's clock starts again (else a lone
    /// busy process — a spawner whose children run from the nursery
    /// between its slices — kept the queue non-empty at every look and
    /// woke the other worker once a slice, to steal it: 1,000,000 spawns
    /// with `-S 2` made 1,100 context switches instead of 14).
    pub(crate) fn requeue(&self, p: &Process<S>) {
        if let (true, Some(w)) = (self.shared_queues, self.local) {
            let slot = self.lifo.take();
            let alone = slot.is_none() && w.is_empty();
            self.lifo.set(slot);
            if alone {
                self.backlog_since.set(None);
            }
        }
        self.schedule(p)
    }

    /// Queue `p` (its status is already `Queued`).
    pub(crate) fn schedule(&self, p: &Process<S>) {
        self.push(Entry::new(p))
    }

    /// W1: push a queue entry. Into this worker's own queue without W2
    /// (W4: this worker is awake and pops its queue before it can sleep;
    /// [`Worker::check_backlog`] wakes a sleeper when the queue stays
    /// non-empty); into the injector (no local queue) with W2.
    pub(crate) fn push(&self, p: Entry<S>) {
        if !self.shared_queues {
            // One worker: its own FIFO queue (SPEC §4.6 order); nobody to wake.
            return self.solo.borrow_mut().push_back(p);
        }
        match self.local {
            Some(w) => w.push(p),
            None => {
                self.shared.injector.push(p);
                self.shared.idle.notify_work();
            }
        }
    }

    /// W4, between slices: when this worker's stealable queue has stayed
    /// non-empty for `wake_after` of its reductions (a slice's worth),
    /// wake one sleeper to steal from it (W2); a queue that empties in
    /// time wakes nobody. So a burst of short processes (a readiness
    /// batch, a broadcast) stays on the core that woke them, and work
    /// that outlasts a slice still spreads, one slice later than before.
    #[inline]
    pub(crate) fn check_backlog(&self) {
        let Some(w) = self.local.filter(|_| self.shared_queues) else {
            return;
        };
        if w.is_empty() {
            self.backlog_since.set(None);
            return;
        }
        let now = self.reductions.get();
        match self.backlog_since.get() {
            None => self.backlog_since.set(Some(now)),
            Some(t) if now.saturating_sub(t) >= self.wake_after => {
                // Once per `wake_after` while it lasts (W2' merges the
                // rest while a woken sleeper has not looked yet).
                self.backlog_since.set(Some(now));
                self.shared.idle.notify_work();
            }
            Some(_) => {}
        }
    }
}
