//! The process system of one VM (SPEC §4): the process table, the name
//! registry, timers, and every process operation — spawn, send, receive
//! primitives, links, monitors and exit signals — for any number of
//! scheduler threads.
//!
//! `Node<S>` is generic over a process's execution state `S`, which it
//! stores but never looks into. Operations that may wake a process are
//! methods of [`Sched`], a worker's handle, so a woken process goes to the
//! waker's own run queue.
//!
//! Delivery is immediate: a message or signal is applied to its target (under
//! the target's lock) before the sender continues, so messages and signals
//! from one sender arrive in the order sent.
//!
//! `run.rs` runs the processes on the schedulers' workers (`sched`, which
//! this module uses and which does not use it).

use crate::process::{Entry, Process};
pub use crate::sched::RunEnd;
use crate::sched::{Shared, Worker};
use crate::sync::{lock, AtomicU64, AtomicUsize, LockMode, Mutex, Ordering, SoloGate};
use crate::table::{Garbage, Table};
use crate::value::Value;
use rustc_hash::FxHashMap;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use crate::process::{matches, Got, Name, Pid, Received, Wait};

mod net;
mod observe;
mod rounds;
mod run;
mod signals;
mod spawn;

pub use spawn::{SpawnRefused, Spawner};

pub use observe::{Job, Loads};

/// How a process's slice ended, as the executor reports it.
#[derive(Debug)]
pub enum Outcome {
    /// Budget spent or YIELD: back to the tail of a run queue.
    Preempted,
    /// Waiting: the slice's last receive returned [`Received::Wait`], or it
    /// called [`Sched::sleep`]. (Anything else is treated as `Preempted`.)
    Waiting,
    /// The process ended with this reason ("normal", or an error message).
    Ended(Value),
    /// EXIT: the whole VM ends with this status.
    ExitVm(i32),
}

/// Runs processes' slices; implemented by the engine, so the runtime never
/// imports interpreter code. Shared by every scheduler thread.
pub trait Execute<S>: Sync {
    /// Run `pid` for one slice of `budget` reductions.
    fn run_slice(
        &self,
        sched: &Sched<'_, S>,
        me: &Process<S>,
        state: &mut S,
        budget: i64,
    ) -> Outcome;
    /// Every process waits (for messages or timers): a good moment to
    /// flush output.
    fn idle(&self) {}
}

/// Counters for `--stats`.
#[derive(Debug, Default)]
pub struct Stats {
    pub spawned: AtomicU64,
    pub peak_live: AtomicU64,
    pub messages: AtomicU64,
    /// Reductions spent, as executors report them through [`Sched::spent`].
    pub reductions: AtomicU64,
    /// The same, per scheduler (index = worker), filled as workers stop.
    pub worker_reductions: std::sync::Mutex<Vec<u64>>,
}

/// Errors of process operations (turned into exceptions by the caller).
pub type OpError = String;

/// Receives `--trace-procs` event lines.
pub type Tracer = Box<dyn Fn(&str) + Send + Sync>;

/// A [`Tracer`] the node shares with its distribution threads.
pub type SharedTracer = Arc<dyn Fn(&str) + Send + Sync>;

/// The process system.
pub struct Node<S> {
    /// The process table (lock-free lookups: `table.rs`).
    pub(crate) table: Table<Process<S>>,
    /// Garbage of workers that stopped, freed when the run ends.
    pub(crate) orphans: Mutex<Vec<Garbage<Process<S>>>>,
    next_pid: AtomicU64,
    next_ref: AtomicU64,
    live: AtomicUsize,
    /// Registered names (looked up by their text: a name looked up at run
    /// time is not kept anywhere unless registered).
    registry: Mutex<FxHashMap<Name, Pid>>,
    timers: Mutex<BinaryHeap<Reverse<(Instant, u64, Pid)>>>,
    /// The earliest timer, as nanoseconds since `epoch` (u64::MAX: none),
    /// so workers can skip the timer lock when nothing is due.
    next_timer: AtomicU64,
    epoch: Instant,
    max_processes: usize,
    tracer: Option<SharedTracer>,
    pub stats: Stats,
    /// PID 1's exit reason, once it ended.
    main_reason: Mutex<Option<Value>>,
    /// The exit signal that ended PID 1, if one did (the first).
    main_killed: Mutex<Option<MainKilled>>,
    pub(crate) shared: Shared<S>,
    /// The I/O threads for blocking operations (`io.rs`).
    pub(crate) io: crate::io::IoPool,
    /// The network event loop (`net/`), started with the first socket.
    pub(crate) net: std::sync::OnceLock<crate::net::Net>,
    net_start: std::sync::Mutex<()>,
    /// Erlang distribution (`dist/`), when the node was started with a
    /// name ([`Node::start_dist`]).
    pub(crate) dist: std::sync::OnceLock<Arc<crate::dist::Dist>>,
    /// Makes a process from a module and function name, for a spawn asked
    /// by another node ([`Node::set_spawner`]; `node/spawn.rs`).
    pub(crate) spawner: std::sync::OnceLock<Spawner<S>>,
    /// Lock elision (`sched/README.md`, "Locks"): a one-scheduler run
    /// takes process locks without atomics while no other thread uses them.
    solo: SoloGate,
    /// Snapshots and load counters for observers (`node/observe.rs`).
    pub(crate) observers: observe::Observers<S>,
}

#[cfg(not(loom))]
thread_local! {
    /// The node (its address) whose one-scheduler run this thread runs
    /// with its process locks elided, or 0.
    static SOLO_RUN: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// How PID 1 was ended by another process: [`Node::main_killed`].
#[derive(Clone, Debug)]
pub struct MainKilled {
    /// Where the signal came from (for `Noproc`: the PID it linked to).
    pub from: Pid,
    pub reason: Value,
    pub via: KilledVia,
}

/// The kind of exit signal that ended PID 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KilledVia {
    /// A process it was linked to ended.
    Link,
    /// It linked to a process that was not alive.
    Noproc,
    /// EXIT_PROCESS.
    ExitProcess,
}

impl<S: Send> Node<S> {
    pub fn new(max_processes: usize) -> Node<S> {
        let shared = Shared::new();
        let io = crate::io::IoPool::new(shared.idle.clone());
        Node {
            table: Table::new(),
            orphans: Mutex::new(Vec::new()),
            next_pid: AtomicU64::new(1),
            next_ref: AtomicU64::new(1),
            live: AtomicUsize::new(0),
            registry: Mutex::new(FxHashMap::default()),
            timers: Mutex::new(BinaryHeap::new()),
            next_timer: AtomicU64::new(u64::MAX),
            epoch: Instant::now(),
            max_processes,
            tracer: None,
            stats: Stats::default(),
            main_reason: Mutex::new(None),
            main_killed: Mutex::new(None),
            shared,
            io,
            net: std::sync::OnceLock::new(),
            net_start: std::sync::Mutex::new(()),
            dist: std::sync::OnceLock::new(),
            spawner: std::sync::OnceLock::new(),
            solo: SoloGate::default(),
            observers: observe::Observers::new(),
        }
    }

    /// L1: a run on this thread begins, with `workers` schedulers. A
    /// one-scheduler run takes process locks by plain stores (its worker
    /// runs on this thread) unless another thread uses them right now;
    /// every other run counts as such a user (L3) until `end_run`.
    pub(crate) fn begin_run(&self, workers: usize) -> LockMode {
        #[cfg(not(loom))]
        if workers == 1 && self.solo.try_solo() {
            SOLO_RUN.with(|r| r.set(self as *const Node<S> as usize));
            // SAFETY: L1–L3: until `end_run`, this thread is the only one
            // that touches process locks: the run's one worker runs here,
            // and other threads (other runs, `outside`) wait at the gate
            // until `end_run`.
            return unsafe { LockMode::solo() };
        }
        let _ = workers;
        self.solo.enter();
        LockMode::ATOMIC
    }

    /// L2: the run that `begin_run` gave `mode` ended.
    pub(crate) fn end_run(&self, mode: LockMode) {
        #[cfg(not(loom))]
        if mode.is_solo() {
            SOLO_RUN.with(|r| r.set(0));
            self.solo.end_solo();
            return;
        }
        let _ = mode;
        self.solo.leave();
    }

    /// `f` uses process locks, from any thread (L3).
    fn outside<R>(&self, f: impl FnOnce() -> R) -> R {
        #[cfg(not(loom))]
        if SOLO_RUN.with(|r| r.get()) == self as *const Node<S> as usize {
            return f(); // the one-scheduler run's own worker
        }
        self.solo.enter();
        struct Leave<'a>(&'a SoloGate);
        impl Drop for Leave<'_> {
            fn drop(&mut self) {
                self.0.leave();
            }
        }
        let _leave = Leave(&self.solo);
        f()
    }

    /// Print process events (`--trace-procs`) through `f`.
    pub fn set_tracer(&mut self, f: Tracer) {
        self.tracer = Some(Arc::from(f));
    }

    /// Make this node a distributed one (`ttvm --sname/--name`, before
    /// the run): listen, register with EPMD, accept connections
    /// (`dist/`). An error says what failed and how to fix it.
    pub fn start_dist(&self, cfg: crate::dist::DistConfig) -> Result<(), OpError> {
        // Its connections are read on the network event loop (`net/`).
        let net = self.net()?.shared();
        let d = crate::dist::Dist::start(cfg, self.io.shared(), net, self.tracer.clone())?;
        self.dist
            .set(d)
            .map_err(|_| "the node is already distributed".to_string())
    }

    /// A new monitor reference (unique in the run), for a monitor of a
    /// process of another node (`dist/`).
    pub fn new_ref(&self) -> i64 {
        self.next_ref.fetch_add(1, Ordering::Relaxed) as i64
    }

    /// The node's distribution, when it has one.
    pub fn dist(&self) -> Option<&Arc<crate::dist::Dist>> {
        self.dist.get()
    }

    pub(crate) fn trace(&self, event: impl FnOnce() -> String) {
        if let Some(t) = &self.tracer {
            t(&event());
        }
    }

    /// A process, from any thread (P5; workers use `Worker::proc`).
    pub(crate) fn get(&self, pid: Pid) -> Option<Arc<Process<S>>> {
        self.table.get_outside(pid as u64)
    }

    /// Live processes.
    pub fn live(&self) -> usize {
        self.live.load(Ordering::Acquire)
    }

    pub fn is_alive(&self, pid: Pid) -> bool {
        self.get(pid).is_some()
    }

    /// PID 1's exit reason, once it ended.
    pub fn main_reason(&self) -> Option<Value> {
        lock(&self.main_reason).clone()
    }

    /// The exit signal that ended PID 1, when an exit signal did (not its
    /// own crash or end): so a run can say who ended it and how.
    pub fn main_killed(&self) -> Option<MainKilled> {
        lock(&self.main_killed).clone()
    }

    /// WHEREIS: the PID, or 0.
    pub fn whereis(&self, name: &str) -> Pid {
        lock(&self.registry).get(name).copied().unwrap_or(0)
    }

    /// The live processes other than PID 1, in PID order: the first `max`
    /// of them and how many there are. For reports after a run (a
    /// deadlock): it looks up every PID ever given out.
    pub fn other_live_pids(&self, max: usize) -> (Vec<Pid>, usize) {
        let end = self.next_pid.load(Ordering::Acquire) as Pid;
        let mut first = Vec::new();
        let mut count = 0;
        self.outside(|| {
            for pid in 2..end {
                if self.get(pid).is_some() {
                    if first.len() < max {
                        first.push(pid);
                    }
                    count += 1;
                }
            }
        });
        (first, count)
    }

    /// How many names are registered.
    pub fn registered(&self) -> usize {
        lock(&self.registry).len()
    }

    /// The registered name of `pid`.
    pub fn name_of(&self, pid: Pid) -> Option<Name> {
        self.outside(|| self.get(pid)?.with_meta(|m| m.name().cloned()))
    }

    /// Run `f` on the execution state of `pid`, if it is at rest.
    pub fn with_state<R>(&self, pid: Pid, f: impl FnOnce(Option<&S>) -> R) -> R {
        self.outside(|| match self.get(pid) {
            Some(p) => p.with_state(f),
            None => f(None),
        })
    }

    /// Start the first process before the schedulers run.
    pub fn spawn_root(&self, state: S) -> Result<Pid, OpError> {
        let p = self.insert(state, None)?;
        // SAFETY: just inserted; the table keeps it alive.
        let pid = unsafe { p.get() }.pid;
        self.shared.injector.push(p);
        Ok(pid)
    }

    /// R1: a new process, in the table and `Queued`; its queue entry.
    /// With `parent` (SPAWN_LINK, run by the parent), the link is in both
    /// processes' sets before the child is in the table (L4): nobody can
    /// end the child before its exit signal would reach the parent (K2
    /// drops a link's signal the receiver does not hold).
    fn insert(
        &self,
        state: S,
        parent: Option<(&Process<S>, LockMode)>,
    ) -> Result<Entry<S>, OpError> {
        // Count first, so concurrent spawns cannot overshoot the limit.
        let live = self.live.fetch_add(1, Ordering::AcqRel);
        if live >= self.max_processes {
            self.live.fetch_sub(1, Ordering::AcqRel);
            return Err("too many processes".to_string());
        }
        let pid = self.next_pid.fetch_add(1, Ordering::Relaxed) as Pid;
        let p = Arc::new(Process::new(pid, state, parent.map(|(pp, _)| pp.pid)));
        let entry = Entry::new(&p);
        if let Some((pp, locking)) = parent {
            pp.add_child_link(pid, locking);
        }
        if self.table.insert(pid as u64, p).is_err() {
            if let Some((pp, locking)) = parent {
                pp.unlink_from(pid, None, locking);
            }
            self.live.fetch_sub(1, Ordering::AcqRel);
            return Err("too many processes (PIDs exhausted)".to_string());
        }
        self.stats.spawned.fetch_add(1, Ordering::Relaxed);
        if live as u64 + 1 > self.stats.peak_live.load(Ordering::Relaxed) {
            self.stats
                .peak_live
                .fetch_max(live as u64 + 1, Ordering::Relaxed);
        }
        Ok(entry)
    }

    pub(crate) fn add_timer(&self, at: Instant, token: u64, pid: Pid) {
        let mut t = lock(&self.timers);
        t.push(Reverse((at, token, pid)));
        let first = t.peek().map_or(u64::MAX, |r| self.nanos(r.0 .0));
        self.next_timer.store(first, Ordering::Release);
    }

    fn nanos(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.epoch)
            .as_nanos()
            .min(u64::MAX as u128 - 1) as u64
    }

    /// Whether any timer is pending.
    pub(crate) fn has_timers(&self) -> bool {
        self.next_timer.load(Ordering::Acquire) != u64::MAX
    }

    /// Time until the earliest timer that can still fire (zero when due),
    /// if any. Timers whose wait already ended are dropped from the top of
    /// the heap here, so they neither delay the end of the run nor wake
    /// idle workers for nothing.
    pub(crate) fn next_timer_in(&self, now: Instant) -> Option<Duration> {
        let n = self.next_timer.load(Ordering::Acquire);
        if n == u64::MAX {
            return None;
        }
        let due = n.saturating_sub(self.nanos(now));
        if due == 0 {
            return Some(Duration::ZERO);
        }
        let mut t = lock(&self.timers);
        while let Some(Reverse((_, token, pid))) = t.peek().cloned() {
            let live = self.get(pid).is_some_and(|p| p.timer_is_live(token));
            if live {
                break;
            }
            t.pop();
        }
        let first = t.peek().map_or(u64::MAX, |r| self.nanos(r.0 .0));
        self.next_timer.store(first, Ordering::Release);
        (first != u64::MAX).then(|| Duration::from_nanos(first.saturating_sub(self.nanos(now))))
    }

    /// Pop the due timers; returns the processes to queue.
    pub(crate) fn due_timers(&self, now: Instant) -> Vec<Arc<Process<S>>> {
        let mut woken = Vec::new();
        let mut t = lock(&self.timers);
        while let Some(Reverse((at, token, pid))) = t.peek().cloned() {
            if at > now {
                break;
            }
            t.pop();
            if let Some(p) = self.get(pid) {
                if p.fire_timer(token) {
                    woken.push(p);
                }
            }
        }
        let first = t.peek().map_or(u64::MAX, |r| self.nanos(r.0 .0));
        self.next_timer.store(first, Ordering::Release);
        woken
    }

    /// Discard every process (the blocked-forever ones at the end).
    pub(crate) fn clear(&self) {
        let drained = self.table.drain();
        self.live.fetch_sub(drained.len(), Ordering::AcqRel);
        drop(drained);
        lock(&self.registry).clear();
        lock(&self.timers).clear();
        self.next_timer.store(u64::MAX, Ordering::Release);
    }
}

/// A scheduler thread's handle on the node: process operations, with a
/// woken process going to this worker's run queue.
pub struct Sched<'a, S> {
    pub node: &'a Node<S>,
    /// The worker's own state and queues.
    pub(crate) w: Worker<'a, S>,
}

impl<'a, S: Send> Sched<'a, S> {
    /// Count `n` reductions spent on this worker (for `--stats`).
    pub fn spent(&self, n: u64) {
        self.w.spent(n);
    }

    /// P2: a process, borrowed until this worker's next quiescent point
    /// ([`Worker::proc`]).
    pub(crate) fn proc(&self, pid: Pid) -> Option<&Process<S>> {
        self.w.proc(pid)
    }

    /// SPAWN: start a process, queued at the tail; linked to `link` first
    /// when given (SPAWN_LINK), so the link exists before the child runs.
    pub fn spawn(&self, state: S, link: Option<Pid>) -> Result<Pid, OpError> {
        self.spawn_with(state, link, |_| {})
    }

    /// [`Sched::spawn`], with `before(pid)` run once the process is in the
    /// table and before it can run (a spawn asked by another node records
    /// its links and monitors, and queues its reply, there).
    pub(crate) fn spawn_with(
        &self,
        state: S,
        link: Option<Pid>,
        before: impl FnOnce(Pid),
    ) -> Result<Pid, OpError> {
        let node = self.node;
        let parent = link
            .and_then(|l| self.w.proc(l))
            .map(|pp| (pp, self.w.locking));
        let p = node.insert(state, parent)?;
        // SAFETY: just inserted and queued by nobody yet.
        let pid = unsafe { p.get() }.pid;
        node.trace(|| match link {
            Some(parent) => format!("spawn {pid} by {parent} (linked)"),
            None => format!("spawn {pid}"),
        });
        before(pid);
        self.w.push_spawned(p);
        Ok(pid)
    }

    /// SEND: append `msg` to `to`'s mailbox (dropped if `to` is not alive).
    pub fn send(&self, from: Pid, to: Pid, msg: Value) {
        self.w.messages.set(self.w.messages.get() + 1);
        self.node.trace(|| format!("send {from} -> {to}: {msg}"));
        // Neither a lock nor a count: P2 for the lookup, Q1 for the entry.
        if let Some(p) = self.w.proc(to) {
            if p.deliver_as(msg, self.w.locking) {
                self.w.schedule_woken(p);
            }
        }
    }

    /// RECEIVE and friends, for the running process `me`: the oldest
    /// message matching `pattern` (any when `None`), leaving the others in
    /// order; else the timeout if it fired (or `ms` is 0); else the process
    /// starts waiting, and its slice must end with [`Outcome::Waiting`].
    /// `me` must be the process this worker is running (else this panics).
    /// The wait is registered when the slice ends (R4), in the critical
    /// section that parks the process, so no message can slip between the
    /// look and the wait.
    pub fn receive(
        &self,
        me: &Process<S>,
        pattern: Option<&Value>,
        timeout_ms: Option<u64>,
    ) -> Received {
        let deadline = timeout_ms.map(|ms| Instant::now() + Duration::from_millis(ms));
        let mut own = self.w.own.borrow_mut();
        assert_eq!(own.pid, me.pid, "receive by a process not running here");
        let got = me.receive(&mut own, pattern, timeout_ms == Some(0), deadline);
        if let Received::Message(m) = &got {
            self.node.trace(|| format!("receive {}: {m}", me.pid));
        }
        got
    }

    /// [`Sched::receive`], pushing the message onto `out` (the process's
    /// stack) instead of returning it: the interpreter's fast path.
    pub fn receive_to(
        &self,
        me: &Process<S>,
        pattern: Option<&Value>,
        timeout_ms: Option<u64>,
        out: &mut Vec<Value>,
    ) -> Got {
        let deadline = timeout_ms.map(|ms| Instant::now() + Duration::from_millis(ms));
        let mut own = self.w.own.borrow_mut();
        assert_eq!(own.pid, me.pid, "receive by a process not running here");
        let got = me.receive_into(&mut own, pattern, timeout_ms == Some(0), deadline, out);
        if got == Got::Message {
            if let Some(m) = out.last() {
                self.node.trace(|| format!("receive {}: {m}", me.pid));
            }
        }
        got
    }

    /// RECEIVE (any message, no timeout), for the running process `me`:
    /// the oldest message, pushed onto `out` (true); else the process
    /// starts waiting (false), and its slice must end with
    /// [`Outcome::Waiting`]. [`Sched::receive_to`]'s common case.
    #[inline]
    pub fn receive_any(&self, me: &Process<S>, out: &mut Vec<Value>) -> bool {
        let mut own = self.w.own.borrow_mut();
        assert_eq!(own.pid, me.pid, "receive by a process not running here");
        let got = me.receive_any(&mut own, out);
        if got {
            if let Some(m) = out.last() {
                self.node.trace(|| format!("receive {}: {m}", me.pid));
            }
        }
        got
    }

    /// I1: run the blocking operation `job` for the running process `me`
    /// on an I/O thread; its slice must end with [`Outcome::Waiting`], and
    /// when the process runs again [`Sched::take_io`] gives the result.
    pub fn start_io(&self, me: &Process<S>, job: crate::io::IoJob) -> Result<(), OpError> {
        let token = self.node.next_ref.fetch_add(1, Ordering::Relaxed);
        let mut own = self.w.own.borrow_mut();
        assert_eq!(own.pid, me.pid, "start_io by a process not running here");
        let ticket = self.node.io.submit(me.pid, token, job)?;
        me.with_meta(|m| m.cold().io_ticket = Some(ticket));
        self.node
            .trace(|| format!("io {} started (token {token})", me.pid));
        own.wait = Some(Wait::Io { token });
        Ok(())
    }

    /// I1 without a job: the running process `me` waits for a result that
    /// another thread delivers with the token and ticket returned (`dist/`:
    /// a SPAWN on another node waits for the node's reply); its slice must
    /// end with [`Outcome::Waiting`], and [`Sched::take_io`] gives the
    /// result when it runs again.
    pub fn start_wait(&self, me: &Process<S>) -> crate::io::Waiter {
        let token = self.node.next_ref.fetch_add(1, Ordering::Relaxed);
        let mut own = self.w.own.borrow_mut();
        assert_eq!(own.pid, me.pid, "start_wait by a process not running here");
        let ticket = self.node.io.shared().new_ticket();
        me.with_meta(|m| m.cold().io_ticket = Some(ticket.clone()));
        self.node
            .trace(|| format!("{} waits for another node (token {token})", me.pid));
        own.wait = Some(Wait::Io { token });
        crate::io::Waiter {
            pid: me.pid,
            token,
            ticket,
        }
    }

    /// I4: the result of the running process's blocking operation, once it
    /// finished (else `None`: start one with [`Sched::start_io`]).
    pub fn take_io(&self, me: &Process<S>) -> Option<crate::IoResult> {
        me.take_io(self.w.locking)
    }

    /// A message from another node (`dist/`) to local `pid`, as S1
    /// (dropped when `pid` is not alive).
    fn deliver_remote(&self, pid: Pid, msg: Value) {
        if let Some(p) = self.w.proc(pid) {
            self.w.messages.set(self.w.messages.get() + 1);
            let wake = {
                let mut g = p.inner.lock_as(self.w.locking);
                p.deliver_locked(&mut g.meta, msg)
            };
            if wake {
                self.w.schedule_woken(p);
            }
        }
    }

    /// I3: deliver the blocking operations that finished (between slices).
    pub(crate) fn deliver_io(&self) {
        let Some(_delivering) = self.node.io.try_deliver() else {
            return; // another worker delivers, and takes the list again
        };
        loop {
            let batch = self.node.io.take_done();
            if batch.is_empty() {
                break;
            }
            for done in batch {
                match done {
                    crate::io::Done::Io(pid, token, ticket, result) => {
                        if let Some(p) = self.w.proc(pid) {
                            if p.complete_io(token, result, self.w.locking) {
                                self.w.schedule(p);
                            }
                        }
                        // After the process was queued (or holds the result):
                        // S4 never sees neither.
                        self.node.io.settle(&ticket);
                    }
                    // A process of another node monitors one of ours.
                    crate::io::Done::Watch(req) => {
                        let pid = match &req.target {
                            Ok(p) => *p,
                            Err(name) => self.node.whereis(name),
                        };
                        if let Some(d) = self.node.dist.get() {
                            d.watch(pid, *req, |p| self.w.proc(p).is_some());
                        }
                    }
                    crate::io::Done::Link(req) => {
                        if let Some(d) = self.node.dist.get() {
                            d.linked(*req, |p| self.w.proc(p).is_some());
                        }
                    }
                    // Another node asks for a process here, or answers
                    // such a request of ours (`node/spawn.rs`).
                    crate::io::Done::Spawn(req) => self.spawn_requested(*req),
                    crate::io::Done::Spawned(reply) => self.spawn_replied(*reply),
                    crate::io::Done::Exit(to, from, reason, link) => {
                        self.remote_signal(&from, to, &reason, link);
                    }
                    // A message from another node to a registered name.
                    crate::io::Done::Named(name, msg) => {
                        let pid = self.node.whereis(&name);
                        self.node
                            .trace(|| format!("from another node -> {name} ({pid}): {msg}"));
                        self.deliver_remote(pid, msg);
                    }
                    crate::io::Done::Remote(pid, msg) => {
                        self.node
                            .trace(|| format!("from another node -> {pid}: {msg}"));
                        self.deliver_remote(pid, msg);
                    }
                    // N3: a socket's message to its owner, as S1.
                    crate::io::Done::Msg(pid, msg, ticket) => {
                        if let Some(p) = self.w.proc(pid) {
                            self.node.trace(|| format!("socket -> {pid}: {msg}"));
                            self.w.messages.set(self.w.messages.get() + 1);
                            // S1 (`deliver_locked` rather than `deliver_as`:
                            // a second caller of `deliver_as` made it an
                            // out-of-line call on SEND's path, +23
                            // instructions per message on the ring).
                            let wake = {
                                let mut g = p.inner.lock_as(self.w.locking);
                                p.deliver_locked(&mut g.meta, msg)
                            };
                            if wake {
                                self.w.schedule_woken(p);
                            }
                        }
                        // N4: after the owner has it (or is gone).
                        if let Some(t) = ticket {
                            self.node.io.settle(&t);
                        }
                    }
                }
            }
        }
    }

    /// SLEEP: the running process `me` waits until `deadline` (its slice
    /// must end with [`Outcome::Waiting`]).
    pub fn sleep(&self, me: &Process<S>, deadline: Instant) {
        let mut own = self.w.own.borrow_mut();
        assert_eq!(own.pid, me.pid, "sleep by a process not running here");
        own.wait = Some(Wait::Sleep { deadline });
    }

    /// REGISTER: `pid` (the running process) takes `name`. The registry
    /// and the process share one copy of the text, freed by UNREGISTER or
    /// when the process ends (X1).
    pub fn register(&self, pid: Pid, name: &str) -> Result<(), OpError> {
        let p = self.w.proc(pid).ok_or("process is not alive")?;
        let mut reg = lock(&self.node.registry);
        if let Some(&holder) = reg.get(name) {
            return Err(format!(
                "name {name} is already registered to process {holder}"
            ));
        }
        let name: Name = Arc::from(name);
        p.with_name(|n| match n {
            Some(old) => Err(format!("process {pid} is already registered as {old}")),
            None => {
                *n = Some(name.clone());
                Ok(())
            }
        })?;
        reg.insert(name.clone(), pid);
        drop(reg);
        self.node.trace(|| format!("register {pid} as {name}"));
        Ok(())
    }

    /// UNREGISTER.
    pub fn unregister(&self, name: &str) -> Result<(), OpError> {
        let pid = lock(&self.node.registry)
            .remove(name)
            .ok_or_else(|| format!("no process registered as {name}"))?;
        if let Some(p) = self.w.proc(pid) {
            p.with_name(|n| *n = None);
        }
        self.node.trace(|| format!("unregister {name} (was {pid})"));
        Ok(())
    }

    /// WHEREIS.
    pub fn whereis(&self, name: &str) -> Pid {
        self.node.whereis(name)
    }
}

impl<'a, S> std::ops::Deref for Sched<'a, S> {
    type Target = Node<S>;
    fn deref(&self) -> &Node<S> {
        self.node
    }
}
