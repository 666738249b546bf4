//! The process control block and its state machine.
//!
//! Every change of a process's scheduling state happens under its lock, in
//! one of the `transition_*` / `kill` functions below or the `deliver*`
//! ones (`mailbox.rs`); the steps are numbered as in `sched/README.md`. The invariant they keep: a process
//! is in at most one run queue, and is run by at most one worker, at a time
//! (it is in a queue exactly when its status is `Queued`).
//!
//! While a process runs, its worker holds its execution state ([`Own`])
//! and alone uses its mailbox, without the lock (M1); messages sent
//! meanwhile go to the process's inbox (under the lock), which a receive
//! drains only when the `has_mail` hint says it is not empty. So a receive
//! that finds its message, or finds nothing, takes no lock; the wait is
//! registered when the slice ends (R4), in the same critical section that
//! parks the process.

use crate::sync::{AtomicBool, AtomicU64, LockMode, Ordering, SpinLock, UnsafeCell};
use crate::value::Value;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

/// A process identifier. PIDs start at 1 and are never reused; 0 names no
/// process.
pub type Pid = i64;

/// A registered name: its text, shared by the registry and the holder's
/// bookkeeping, and freed when it is unregistered or the holder ends.
/// (Not an interned `Atom`: names come from run-time strings, and interned
/// atoms live as long as the program.)
pub type Name = Arc<str>;

/// What a waiting process waits for.
#[derive(Clone, Debug)]
pub enum Wait {
    /// A message (matching `pattern`, when given), until `deadline`.
    Receive {
        pattern: Option<Value>,
        deadline: Option<Instant>,
    },
    /// SLEEP until `deadline`.
    Sleep { deadline: Instant },
    /// A blocking operation, run on the node's I/O threads, whose
    /// completion `token` ends the wait (I2; no message does).
    Io { token: u64 },
}

impl Wait {
    pub fn deadline(&self) -> Option<Instant> {
        match self {
            Wait::Receive { deadline, .. } => *deadline,
            Wait::Sleep { deadline } => Some(*deadline),
            Wait::Io { .. } => None,
        }
    }

    /// Whether `msg` ends this wait.
    fn wants(&self, msg: &Value) -> bool {
        match self {
            Wait::Receive { pattern, .. } => pattern.as_ref().is_none_or(|p| matches(p, msg)),
            Wait::Sleep { .. } | Wait::Io { .. } => false,
        }
    }
}

/// A process as an observer sees it ([`crate::Node::observe_processes`]).
#[derive(Clone, Debug)]
pub struct View<T> {
    pub pid: Pid,
    pub name: Option<Name>,
    pub status: ViewStatus,
    /// Messages waiting. For a running process only those that arrived
    /// during its current slice (its worker holds the rest): a lower bound
    /// (`mailbox_exact` false).
    pub mailbox: usize,
    pub mailbox_exact: bool,
    pub links: Vec<Pid>,
    /// The processes it monitors.
    pub monitors: Vec<Pid>,
    /// The processes that monitor it.
    pub watchers: Vec<Pid>,
    pub trap_exit: bool,
    /// What the observer's function read from its execution state, when
    /// it was at rest (`None` while a worker runs it, or once it exits).
    pub state: Option<T>,
    /// [`Process::noted`]: the executor's note (the engine's: from its last
    /// preempted slice).
    pub note: [u64; 2],
}

/// What a process is doing, for observers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ViewStatus {
    /// A worker runs it right now.
    Running,
    /// In a run queue.
    Runnable,
    /// Waiting in a receive: for any message or a pattern, with the time
    /// left of its timeout, if it has one.
    Receive {
        pattern: bool,
        left: Option<std::time::Duration>,
    },
    /// In SLEEP, with the time left.
    Sleep { left: std::time::Duration },
    /// Waiting for a blocking operation on the node's I/O threads.
    Io,
    /// Ending (an exit signal arrived, or its exit is being processed).
    Exiting,
}

/// A process's scheduling state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    /// In exactly one run queue.
    Queued,
    /// A worker runs it (and holds its state and mailbox).
    Running,
    /// Parked until a message, a timer or a signal (`Meta::wait`).
    Waiting,
    /// Its exit is being processed; it takes no more messages.
    Exiting,
    /// Its links and watchers have been taken for notification (X1): a new
    /// link or monitor gets `noproc` instead.
    Exited,
}

/// Links, monitors, the registered name and the inbox: most processes
/// have none of them (or never get a message while they run), so they are
/// allocated on first use.
#[derive(Debug, Default)]
pub(crate) struct Cold {
    /// The messages that arrived while the process runs (newer than those
    /// in its mailbox); empty while it does not.
    pub(crate) inbox: VecDeque<Value>,
    pub(crate) links: Vec<Pid>,
    /// Links this process removed (UNLINK) after the other end had exited
    /// (taken its links, X1): that end's exit signal along the old link
    /// is still on its way, and is dropped when it comes (K2, U3).
    pub(crate) unlinked: Vec<Pid>,
    /// Monitors this process holds: (ref, target).
    pub(crate) monitors: Vec<(i64, Pid)>,
    /// Monitors on this process: (ref, watcher).
    pub(crate) watchers: Vec<(i64, Pid)>,
    pub(crate) name: Option<Name>,
    /// The result of the blocking operation of I/O wait `token`, left by
    /// I3 until the process takes it (I4).
    pub(crate) io_done: Option<(u64, IoResult)>,
    /// The count of its blocking operation on its way (`io.rs`), given
    /// back at X1 if the process ends first.
    pub(crate) io_ticket: Option<Ticket>,
    /// The resources it owns (sockets: `net/`), closed when it ends (X1).
    pub(crate) owned: Vec<std::sync::Arc<dyn Owned>>,
}

/// A resource owned by a process (a socket), told when its owner ends.
pub trait Owned: Send + Sync + std::fmt::Debug {
    /// The resource's id (the handle's).
    fn id(&self) -> u64;
    /// Process `pid`, which owned it when it was added to its set, ended:
    /// close it if `pid` still owns it.
    fn owner_exited(&self, pid: Pid);
}

/// What a blocking operation run on an I/O thread gives back; the runtime
/// carries it to the process without looking inside.
pub type IoResult = Box<dyn std::any::Any + Send>;

/// A blocking operation counted as pending (`io.rs`): whoever first takes
/// the count back (its delivery, I3, or its process's end, X1) clears it,
/// exactly once.
pub(crate) type Ticket = std::sync::Arc<std::sync::atomic::AtomicBool>;

/// A process's bookkeeping (everything but its execution state).
#[derive(Debug)]
pub struct Meta {
    pub(crate) status: Status,
    pub(crate) trap_exit: bool,
    /// Set when the timer of the current receive fired.
    pub(crate) timed_out: bool,
    /// What it waits for, while `Waiting`.
    pub(crate) wait: Option<Wait>,
    /// Bumped at every wait, so a timer of an earlier wait is ignored.
    pub(crate) wait_token: u64,
    /// An exit signal that ends this process at its next stop.
    pub(crate) pending_exit: Option<Value>,
    /// It was killed while queued: a run queue still holds its (stale)
    /// entry, which keeps it allocated (Q2).
    pub(crate) stale_entry: bool,
    /// X1 left the table's count of this process to its stale entry (Q2):
    /// it was forgotten, and is taken back with `Arc::from_raw`.
    pub(crate) kept: bool,
    pub(crate) cold: Option<Box<Cold>>,
}

impl Meta {
    /// Links, monitors, name and inbox, allocated if need be.
    pub(crate) fn cold(&mut self) -> &mut Cold {
        self.cold.get_or_insert_with(Default::default)
    }

    pub(crate) fn name(&self) -> Option<&Name> {
        self.cold.as_ref().and_then(|c| c.name.as_ref())
    }

    fn inbox_is_empty(&self) -> bool {
        self.cold.as_ref().is_none_or(|c| c.inbox.is_empty())
    }

    /// Whether a message in the inbox ends `wait`.
    fn inbox_wants(&self, wait: &Wait) -> bool {
        self.cold
            .as_ref()
            .is_some_and(|c| c.inbox.iter().any(|msg| wait.wants(msg)))
    }

    /// Move the inbox to the end of `into`.
    fn drain_inbox(&mut self, into: &mut VecDeque<Value>) {
        if let Some(c) = self.cold.as_mut() {
            into.append(&mut c.inbox);
        }
    }
}

/// The lock-protected part of a process.
pub(crate) struct Inner<S> {
    pub(crate) meta: Meta,
    /// The execution state; `None` while a worker runs it or it exits.
    pub(crate) state: Option<S>,
}

/// A process: its PID, its mailbox and its lock-protected state.
pub struct Process<S> {
    pub pid: Pid,
    /// A hint for the running process's receives: messages arrived in the
    /// inbox since it last looked. Written under the lock (so never stale
    /// to a reader that holds it); read without it, where a stale `false`
    /// only defers a message to R4, which looks under the lock.
    has_mail: AtomicBool,
    /// Whether it holds a registered name (written under the lock with
    /// the name, read without it at X0).
    named: AtomicBool,
    /// The mailbox, oldest first (M1, M2): while the process is `Running`
    /// only its worker uses it, without the lock; else only under the lock.
    mailbox: UnsafeCell<VecDeque<Value>>,
    /// Two words the executor writes for observers, without a lock (the
    /// engine: where the process was and its reductions when its last
    /// slice was preempted; [`Process::note`]). Read by snapshots of a process that runs
    /// right now, whose execution state only its worker may read.
    note: [AtomicU64; 2],
    pub(crate) inner: SpinLock<Inner<S>>,
}

// SAFETY: the mailbox is used under the lock, or by the one worker that
// runs the process (M1, M2: the status changes under the lock, so the
// uses are ordered); everything else is behind the lock or atomic.
unsafe impl<S: Send> Sync for Process<S> {}
unsafe impl<S: Send> Send for Process<S> {}

/// The running process's own part, held by its worker from R2 to R4: its
/// PID (0 between slices), its receive's timeout flag and the wait its
/// slice ends in.
#[derive(Debug, Default)]
pub struct Own {
    pub(crate) pid: Pid,
    pub(crate) timed_out: bool,
    pub(crate) wait: Option<Wait>,
    /// How this worker takes process locks.
    pub(crate) locking: LockMode,
}

/// A run-queue entry: a process, without a reference count (Q1).
///
/// An entry exists exactly while its process is `Queued`, or — once — as a
/// stale entry after it was killed while queued (`Meta::stale_entry`); in
/// both cases the process stays allocated (Q2), so the entry may be
/// dereferenced until it is popped and handed to R2.
pub(crate) struct Entry<S>(std::ptr::NonNull<Process<S>>);

// SAFETY: an entry is a shared reference to a `Process<S>`, which is Sync
// when `S: Send` (its state is behind a mutex).
unsafe impl<S: Send> Send for Entry<S> {}

impl<S> Entry<S> {
    /// An entry for `p`, which the caller has just made `Queued` (or
    /// created `Queued`), under the process's lock or before publishing it.
    pub(crate) fn new(p: &Process<S>) -> Entry<S> {
        Entry(std::ptr::NonNull::from(p))
    }

    /// The process.
    ///
    /// # Safety
    /// The entry must not have been handed to R2 (`transition_to_running`)
    /// or [`Process::release_stale`] yet, and the reference must not be
    /// used after that.
    pub(crate) unsafe fn get<'a>(&self) -> &'a Process<S> {
        // SAFETY: Q2, by the caller's contract.
        unsafe { self.0.as_ref() }
    }
}

/// What a worker does with a process it took from a queue.
pub(crate) enum Start<S> {
    Run(S),
    Exit(Value),
    /// Not queued after all (killed while queued): drop the entry; retire
    /// the table's count if X1 left it here (Q2).
    Skip(Option<Arc<Process<S>>>),
}

/// What a receive found.
#[derive(Debug)]
pub enum Received {
    Message(Value),
    TimedOut,
    /// Nothing yet: the slice must end with `Outcome::Waiting`; the wait
    /// (and its timer, if the receive has a timeout) is registered when it
    /// does. The payload is always `None` (kept for the API's shape).
    Wait(Option<(Instant, u64)>),
}

/// What a receive found, the message (if any) having been pushed onto the
/// caller's stack: see [`crate::Sched::receive_to`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Got {
    Message,
    TimedOut,
    /// Nothing yet: as [`Received::Wait`].
    Wait,
}

/// What an exit signal did.
pub(crate) enum Kill {
    /// The process was at rest and is now exiting: run its exit.
    Now(Value),
    /// It is running; it ends when its slice returns.
    Pending,
    /// It was already exiting.
    Ignored,
}

/// What happens after a slice.
#[derive(Debug)]
pub(crate) enum After {
    /// Put it back in a run queue.
    Requeue,
    /// It waits; arm a timer (deadline, wait token) if given.
    Parked(Option<(Instant, u64)>),
    /// It must exit (a signal arrived during the slice).
    Exit(Value),
}

impl PartialEq for After {
    fn eq(&self, other: &After) -> bool {
        match (self, other) {
            (After::Requeue, After::Requeue) => true,
            (After::Parked(a), After::Parked(b)) => a == b,
            (After::Exit(a), After::Exit(b)) => a.equals(b),
            _ => false,
        }
    }
}

/// How a slice ended, as the scheduler sees it.
pub(crate) enum SliceEnd {
    Preempted,
    /// In the wait recorded in [`Own::wait`].
    Waiting,
}

impl<S> Process<S> {
    pub(crate) fn new(pid: Pid, state: S, link: Option<Pid>) -> Process<S> {
        Process {
            pid,
            has_mail: AtomicBool::new(false),
            named: AtomicBool::new(false),
            mailbox: UnsafeCell::new(VecDeque::new()),
            note: [AtomicU64::new(u64::MAX), AtomicU64::new(0)],
            inner: SpinLock::new(Inner {
                meta: Meta {
                    // R1: a new process starts queued; the spawner queues it.
                    status: Status::Queued,
                    trap_exit: false,
                    timed_out: false,
                    wait: None,
                    wait_token: 0,
                    pending_exit: None,
                    stale_entry: false,
                    kept: false,
                    cold: link.map(|l| {
                        Box::new(Cold {
                            links: vec![l],
                            ..Cold::default()
                        })
                    }),
                },
                state: Some(state),
            }),
        }
    }

    /// R2: a worker took the process from a queue. On `Run`, the worker
    /// alone uses the mailbox until R4 (M1).
    pub(crate) fn transition_to_running(&self, own: &mut Own) -> Start<S> {
        let mut g = self.inner.lock_as(own.locking);
        if g.meta.status != Status::Queued {
            // Q2: this was the stale entry of a process killed while queued.
            g.meta.stale_entry = false;
            return Start::Skip(self.take_kept(&mut g.meta));
        }
        if let Some(reason) = g.meta.pending_exit.take() {
            g.meta.status = Status::Exiting;
            return Start::Exit(reason);
        }
        match g.state.take() {
            Some(s) => {
                let m = &mut g.meta;
                m.status = Status::Running;
                debug_assert!(m.inbox_is_empty() && own.wait.is_none());
                own.pid = self.pid;
                own.timed_out = std::mem::take(&mut m.timed_out);
                own.wait = None;
                self.has_mail.store(false, Ordering::Relaxed);
                Start::Run(s)
            }
            None => Start::Skip(None),
        }
    }

    /// Q2: a stale entry dropped without being run (the run ended): what
    /// X1 parked here, to retire.
    pub(crate) fn release_stale(&self) -> Option<Arc<Process<S>>> {
        let mut g = self.inner.lock();
        if g.meta.status == Status::Queued {
            return None;
        }
        g.meta.stale_entry = false;
        self.take_kept(&mut g.meta)
    }

    /// The table's count that X1 forgot here (Q2), if any.
    fn take_kept(&self, m: &mut Meta) -> Option<Arc<Process<S>>> {
        // SAFETY: `kept` is set only by `keep_if_queued`, which forgot one
        // strong count of the `Arc` this process lives in; it is taken back
        // once (the flag is cleared under the same lock).
        std::mem::take(&mut m.kept).then(|| unsafe { Arc::from_raw(self as *const Process<S>) })
    }

    /// Q2, at X1: the table's count `arc` of this process, which has just
    /// been removed from the table. Parked here while a stale entry still
    /// points to it (its popper retires it); else returned, to retire now.
    pub(crate) fn keep_if_queued(&self, arc: Arc<Process<S>>) -> Option<Arc<Process<S>>> {
        let mut g = self.inner.lock();
        if g.meta.stale_entry {
            assert!(std::ptr::eq(Arc::as_ptr(&arc), self), "its own count");
            g.meta.kept = true;
            std::mem::forget(arc);
            None
        } else {
            Some(arc)
        }
    }

    /// R4: the slice ended; the worker gives the state back, and the
    /// mailbox (the inbox goes to its end), registering the wait the slice
    /// ended in: the process parks unless a message it wants arrived
    /// meanwhile (then it is requeued).
    pub(crate) fn transition_after_slice(&self, state: S, own: &mut Own, end: SliceEnd) -> After {
        let wait = own.wait.take();
        own.pid = 0;
        let mut g = self.inner.lock_as(own.locking);
        let m = &mut g.meta;
        if let Some(reason) = m.pending_exit.take() {
            // Its messages go at X1.
            m.status = Status::Exiting;
            drop(g);
            drop(state);
            return After::Exit(reason);
        }
        // The older messages did not end the wait (the receive looked at
        // them); did one that arrived since?
        let woken = match (&end, &wait) {
            (SliceEnd::Waiting, Some(Wait::Io { token })) => m
                .cold
                .as_ref()
                .is_some_and(|c| c.io_done.as_ref().is_some_and(|d| d.0 == *token)),
            (SliceEnd::Waiting, Some(w)) => m.inbox_wants(w),
            _ => true,
        };
        if !m.inbox_is_empty() {
            // SAFETY: M1: this worker still runs the process.
            unsafe { self.with_mailbox(|mb| m.drain_inbox(mb)) };
        }
        let after = match wait {
            Some(w) if !woken => {
                m.wait_token += 1;
                m.timed_out = false;
                let timer = w.deadline().map(|d| (d, m.wait_token));
                m.wait = Some(w);
                m.status = Status::Waiting;
                After::Parked(timer)
            }
            // Preempted, or a message it waits for arrived meanwhile.
            _ => {
                m.status = Status::Queued;
                After::Requeue
            }
        };
        g.state = Some(state);
        drop(g);
        after
    }

    /// R5: the slice ended the process itself (HALT, crash, …); its
    /// messages go at X1.
    pub(crate) fn transition_to_exiting(&self, own: &mut Own) {
        let mut g = self.inner.lock_as(own.locking);
        g.meta.pending_exit = None;
        g.meta.status = Status::Exiting;
        drop(g);
        own.wait = None;
        own.pid = 0;
    }

    /// X1: the exiting process's links, monitors, name and inbox, and its
    /// mailbox, taken under the lock; from now on it is `Exited` (LINK and
    /// MONITOR answer noproc themselves).
    pub(crate) fn take_for_exit(&self) -> (Option<Box<Cold>>, VecDeque<Value>) {
        let mut g = self.inner.lock();
        debug_assert_eq!(g.meta.status, Status::Exiting);
        g.meta.status = Status::Exited;
        let cold = g.meta.cold.take();
        // SAFETY: M2: under the lock, and the process is not running.
        let mailbox = unsafe { self.with_mailbox(std::mem::take) };
        (cold, mailbox)
    }

    /// K1: an exit signal that ends the process. A process at rest (queued
    /// or waiting) becomes `Exiting` at once and its state is dropped; the
    /// caller then runs its exit (a queue still holding it skips it, R2). A
    /// running process gets the signal as pending: its worker ends it when
    /// the slice returns (or the executor sees it sooner).
    #[cfg(any(test, loom))]
    pub(crate) fn kill(&self, reason: Value) -> Kill {
        let mut g = self.inner.lock();
        let (kill, state) = Self::kill_locked(&mut g, reason);
        drop(g);
        drop(state);
        kill
    }

    /// K1 under the lock: what the signal did, and the execution state of
    /// a process it ended at rest (for the caller to drop after unlocking).
    pub(crate) fn kill_locked(g: &mut Inner<S>, reason: Value) -> (Kill, Option<S>) {
        match g.meta.status {
            Status::Exiting | Status::Exited => (Kill::Ignored, None),
            Status::Running => {
                if g.meta.pending_exit.is_none() {
                    g.meta.pending_exit = Some(reason);
                }
                (Kill::Pending, None)
            }
            Status::Queued | Status::Waiting => {
                // Q2: a queued process keeps its queue entry (now stale).
                g.meta.stale_entry = g.meta.status == Status::Queued;
                g.meta.status = Status::Exiting;
                g.meta.pending_exit = None;
                g.meta.wait = None;
                (Kill::Now(reason), g.state.take())
            }
        }
    }

    /// REGISTER / UNREGISTER: `f` on the registered name, under the lock.
    pub(crate) fn with_name<R>(&self, f: impl FnOnce(&mut Option<Name>) -> R) -> R {
        let mut g = self.inner.lock();
        let slot = &mut g.meta.cold().name;
        let r = f(slot);
        self.named.store(slot.is_some(), Ordering::Relaxed);
        r
    }

    /// X0: the registered name of an exiting process, if it may have one
    /// (the `named` hint: its own REGISTER happened before its exit).
    pub(crate) fn exiting_name(&self) -> Option<Name> {
        if !self.named.load(Ordering::Relaxed) {
            return None;
        }
        self.inner.lock().meta.name().cloned()
    }

    /// Run `f` on the bookkeeping, under the lock.
    pub(crate) fn with_meta<R>(&self, f: impl FnOnce(&mut Meta) -> R) -> R {
        f(&mut self.inner.lock().meta)
    }

    /// The executor's note for observers: two words, each a plain relaxed
    /// store. A reader may see the two words of consecutive notes mixed.
    #[inline]
    pub fn note(&self, a: u64, b: u64) {
        self.note[0].store(a, Ordering::Relaxed);
        self.note[1].store(b, Ordering::Relaxed);
    }

    /// The last note (`u64::MAX, 0` before the first).
    pub fn noted(&self) -> [u64; 2] {
        [
            self.note[0].load(Ordering::Relaxed),
            self.note[1].load(Ordering::Relaxed),
        ]
    }

    /// O1: this process as a snapshot sees it, read in one critical section
    /// of its lock (`node/observe.rs`); `f` reads its execution state when
    /// it is at rest (queued or waiting: no worker holds it).
    pub(crate) fn view<T>(&self, now: Instant, f: impl FnOnce(&S) -> T) -> View<T> {
        let g = self.inner.lock();
        let m = &g.meta;
        let inbox = m.cold.as_ref().map_or(0, |c| c.inbox.len());
        let running = m.status == Status::Running;
        let status = match m.status {
            _ if m.pending_exit.is_some() => ViewStatus::Exiting,
            Status::Running => ViewStatus::Running,
            Status::Queued => ViewStatus::Runnable,
            Status::Exiting | Status::Exited => ViewStatus::Exiting,
            Status::Waiting => match &m.wait {
                Some(Wait::Receive { pattern, deadline }) => ViewStatus::Receive {
                    pattern: pattern.is_some(),
                    left: deadline.map(|d| d.saturating_duration_since(now)),
                },
                Some(Wait::Sleep { deadline }) => ViewStatus::Sleep {
                    left: deadline.saturating_duration_since(now),
                },
                Some(Wait::Io { .. }) => ViewStatus::Io,
                None => ViewStatus::Runnable,
            },
        };
        let mailbox = if running {
            inbox
        } else {
            // SAFETY: M2: under the lock, and not running.
            inbox + unsafe { self.with_mailbox(|mb| mb.len()) }
        };
        let cold = m.cold.as_deref();
        View {
            pid: self.pid,
            name: cold.and_then(|c| c.name.clone()),
            status,
            mailbox,
            mailbox_exact: !running,
            links: cold.map_or_else(Vec::new, |c| c.links.clone()),
            monitors: cold.map_or_else(Vec::new, |c| c.monitors.iter().map(|m| m.1).collect()),
            watchers: cold.map_or_else(Vec::new, |c| c.watchers.iter().map(|w| w.1).collect()),
            trap_exit: m.trap_exit,
            state: g.state.as_ref().map(f),
            note: self.noted(),
        }
    }

    /// Run `f` on the execution state, if it is at rest.
    pub(crate) fn with_state<R>(&self, f: impl FnOnce(Option<&S>) -> R) -> R {
        f(self.inner.lock().state.as_ref())
    }
}

/// Selective-receive matching (SPEC §4.4): equal, except that Null in the
/// pattern matches anything, a List pattern matches element by element and
/// an Object pattern matches an Object having each of its fields.
/// ([`Value::matches_pattern`]: iterative, and each pair of shared parts
/// is compared once, so a message that shares itself cannot make a
/// receive take exponential time or recurse deeply.)
pub fn matches(pattern: &Value, msg: &Value) -> bool {
    pattern.matches_pattern(msg)
}

mod links;
mod mailbox;

pub(crate) use links::{Origin, Signalled};

#[cfg(all(test, not(loom)))]
mod tests;
