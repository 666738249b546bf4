//! The process control block and its state machine.
//!
//! Every change of a process's scheduling state happens under its lock, in
//! one of the `transition_*` / `deliver` / `kill` functions below; the steps
//! are numbered as in `sched/README.md`. The invariant they keep: a process
//! is in at most one run queue, and is run by at most one worker, at a time
//! (it is in a queue exactly when its status is `Queued`).

use crate::sync::{lock, Mutex};
use crate::value::{Atom, Value};
use std::collections::VecDeque;
use std::time::Instant;

/// A process identifier. PIDs start at 1 and are never reused; 0 names no
/// process.
pub type Pid = i64;

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
}

impl Wait {
    pub fn deadline(&self) -> Option<Instant> {
        match self {
            Wait::Receive { deadline, .. } => *deadline,
            Wait::Sleep { deadline } => Some(*deadline),
        }
    }

    /// Whether `msg` ends this wait.
    fn wants(&self, msg: &Value) -> bool {
        match self {
            Wait::Receive { pattern, .. } => pattern.as_ref().is_none_or(|p| matches(p, msg)),
            Wait::Sleep { .. } => false,
        }
    }
}

/// A process's scheduling state.
#[derive(Clone, Debug)]
pub(crate) enum Status {
    /// In exactly one run queue.
    Queued,
    /// A worker runs it. `wait` is set when the slice is about to end in a
    /// wait; `woken` when something ended that wait before it began.
    Running { wait: Option<Wait>, woken: bool },
    /// Parked until a message, a timer or a signal.
    Waiting(Wait),
    /// Its exit is being processed; it takes no more messages.
    Exiting,
    /// Its links and watchers have been taken for notification (X1): a new
    /// link or monitor gets `noproc` instead.
    Exited,
}

/// A process's bookkeeping (everything but its execution state).
#[derive(Debug)]
pub struct Meta {
    pub(crate) mailbox: VecDeque<Value>,
    pub(crate) links: Vec<Pid>,
    /// Monitors this process holds: (ref, target).
    pub(crate) monitors: Vec<(i64, Pid)>,
    /// Monitors on this process: (ref, watcher).
    pub(crate) watchers: Vec<(i64, Pid)>,
    pub(crate) trap_exit: bool,
    pub(crate) name: Option<Atom>,
    pub(crate) status: Status,
    /// Bumped at every wait, so a timer of an earlier wait is ignored.
    pub(crate) wait_token: u64,
    /// Set when the timer of the current receive fired.
    pub(crate) timed_out: bool,
    /// An exit signal that ends this process at its next stop.
    pub(crate) pending_exit: Option<Value>,
}

/// The lock-protected part of a process.
pub(crate) struct Inner<S> {
    pub(crate) meta: Meta,
    /// The execution state; `None` while a worker runs it or it exits.
    pub(crate) state: Option<S>,
}

/// A process: its PID and its lock-protected state.
pub struct Process<S> {
    pub pid: Pid,
    pub(crate) inner: Mutex<Inner<S>>,
}

/// What a worker does with a process it took from a queue.
pub(crate) enum Start<S> {
    Run(S),
    Exit(Value),
    /// Not queued after all (already exiting): drop it.
    Skip,
}

/// What a receive found.
#[derive(Debug)]
pub enum Received {
    Message(Value),
    TimedOut,
    /// Nothing yet: the process now waits; with a timer (deadline, token)
    /// to arm when the receive has a timeout.
    Wait(Option<(Instant, u64)>),
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
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum After {
    /// Put it back in a run queue.
    Requeue,
    /// It waits; nothing to do.
    Parked,
    /// It must exit (a signal arrived during the slice).
    Exit,
}

/// How a slice ended, as the scheduler sees it.
pub(crate) enum SliceEnd {
    Preempted,
    Waiting,
}

impl<S> Process<S> {
    pub(crate) fn new(pid: Pid, state: S, links: Vec<Pid>) -> Process<S> {
        Process {
            pid,
            inner: Mutex::new(Inner {
                meta: Meta {
                    mailbox: VecDeque::new(),
                    links,
                    monitors: Vec::new(),
                    watchers: Vec::new(),
                    trap_exit: false,
                    name: None,
                    // R1: a new process starts queued; the spawner queues it.
                    status: Status::Queued,
                    wait_token: 0,
                    timed_out: false,
                    pending_exit: None,
                },
                state: Some(state),
            }),
        }
    }

    /// R2: a worker took the process from a queue.
    pub(crate) fn transition_to_running(&self) -> Start<S> {
        let mut g = lock(&self.inner);
        if !matches!(g.meta.status, Status::Queued) {
            return Start::Skip;
        }
        if let Some(reason) = g.meta.pending_exit.take() {
            g.meta.status = Status::Exiting;
            return Start::Exit(reason);
        }
        match g.state.take() {
            Some(s) => {
                g.meta.status = Status::Running {
                    wait: None,
                    woken: false,
                };
                Start::Run(s)
            }
            None => Start::Skip,
        }
    }

    /// R4: the slice ended; the worker gives the state back.
    pub(crate) fn transition_after_slice(&self, state: S, end: SliceEnd) -> (After, Option<Value>) {
        let mut g = lock(&self.inner);
        if let Some(reason) = g.meta.pending_exit.take() {
            g.meta.status = Status::Exiting;
            return (After::Exit, Some(reason));
        }
        g.state = Some(state);
        let status = std::mem::replace(&mut g.meta.status, Status::Queued);
        match (end, status) {
            (
                SliceEnd::Waiting,
                Status::Running {
                    wait: Some(w),
                    woken: false,
                },
            ) => {
                g.meta.status = Status::Waiting(w);
                (After::Parked, None)
            }
            // Preempted, or woken between registering the wait and now.
            _ => (After::Requeue, None),
        }
    }

    /// R5: the slice ended the process itself (HALT, crash, …).
    pub(crate) fn transition_to_exiting(&self) {
        let mut g = lock(&self.inner);
        g.meta.pending_exit = None;
        g.meta.status = Status::Exiting;
    }

    /// R3 for receives: take a matching message, or report the timeout, or
    /// register the wait — all under one lock.
    pub(crate) fn receive(
        &self,
        pattern: Option<&Value>,
        poll: bool,
        deadline: Option<Instant>,
    ) -> Received {
        let mut g = lock(&self.inner);
        let m = &mut g.meta;
        let found = match pattern {
            None => (!m.mailbox.is_empty()).then_some(0),
            Some(p) => m.mailbox.iter().position(|x| matches(p, x)),
        };
        if let Some(i) = found {
            m.timed_out = false;
            return Received::Message(m.mailbox.remove(i).expect("in range"));
        }
        // Only a receive with a timeout can time out; the flag is its own
        // timer's (a SLEEP's timer never sets it).
        let timed_out = std::mem::take(&mut m.timed_out);
        if poll || (deadline.is_some() && timed_out) {
            return Received::TimedOut;
        }
        m.wait_token += 1;
        let wait = Wait::Receive {
            pattern: pattern.cloned(),
            deadline,
        };
        m.status = Status::Running {
            wait: Some(wait),
            woken: false,
        };
        Received::Wait(deadline.map(|d| (d, m.wait_token)))
    }

    /// R3: the running process is about to wait (the executor calls this,
    /// then ends its slice). Returns the wait's token, for its timer.
    pub(crate) fn register_wait(&self, wait: Wait) -> u64 {
        let mut g = lock(&self.inner);
        let m = &mut g.meta;
        m.wait_token += 1;
        m.timed_out = false;
        // A message that arrived after the receive looked at the mailbox
        // but before this registration must not be lost: the wait is over
        // before it begins.
        let woken = m.mailbox.iter().any(|msg| wait.wants(msg));
        m.status = Status::Running {
            wait: Some(wait),
            woken,
        };
        m.wait_token
    }

    /// S1: deliver a message. Returns true when the caller must queue the
    /// process (it was parked waiting for such a message).
    pub(crate) fn deliver(&self, msg: Value) -> bool {
        let mut g = lock(&self.inner);
        let m = &mut g.meta;
        if matches!(m.status, Status::Exiting | Status::Exited) {
            return false;
        }
        let wake = match &mut m.status {
            Status::Waiting(w) => w.wants(&msg),
            Status::Running {
                wait: Some(w),
                woken,
            } => {
                if w.wants(&msg) {
                    *woken = true;
                }
                false
            }
            _ => false,
        };
        m.mailbox.push_back(msg);
        if wake {
            m.status = Status::Queued;
        }
        wake
    }

    /// T1: a timer of wait `token` fired. True when the caller must queue.
    pub(crate) fn fire_timer(&self, token: u64) -> bool {
        let mut g = lock(&self.inner);
        let m = &mut g.meta;
        if m.wait_token != token {
            return false;
        }
        let receive = |w: &Wait| matches!(w, Wait::Receive { .. });
        match &mut m.status {
            Status::Waiting(w) => {
                m.timed_out = receive(w);
                m.status = Status::Queued;
                true
            }
            Status::Running {
                wait: Some(w),
                woken,
            } => {
                m.timed_out = receive(w);
                *woken = true;
                false
            }
            _ => false,
        }
    }

    /// Whether a timer armed for wait `token` can still end that wait.
    pub(crate) fn timer_is_live(&self, token: u64) -> bool {
        let g = lock(&self.inner);
        g.meta.wait_token == token
            && matches!(
                g.meta.status,
                Status::Waiting(_) | Status::Running { wait: Some(_), .. }
            )
    }

    /// K1: an exit signal that ends the process. A process at rest (queued
    /// or waiting) becomes `Exiting` at once and its state is dropped; the
    /// caller then runs its exit (a queue still holding it skips it, R2). A
    /// running process gets the signal as pending: its worker ends it when
    /// the slice returns (or the executor sees it sooner).
    pub(crate) fn kill(&self, reason: Value) -> Kill {
        let mut g = lock(&self.inner);
        match g.meta.status {
            Status::Exiting | Status::Exited => Kill::Ignored,
            Status::Running { .. } => {
                if g.meta.pending_exit.is_none() {
                    g.meta.pending_exit = Some(reason);
                }
                Kill::Pending
            }
            Status::Queued | Status::Waiting(_) => {
                g.meta.status = Status::Exiting;
                g.meta.pending_exit = None;
                let state = g.state.take();
                drop(g);
                drop(state);
                Kill::Now(reason)
            }
        }
    }

    /// Run `f` on the bookkeeping, under the lock.
    pub(crate) fn with_meta<R>(&self, f: impl FnOnce(&mut Meta) -> R) -> R {
        f(&mut lock(&self.inner).meta)
    }

    /// Run `f` on the execution state, if it is at rest.
    pub fn with_state<R>(&self, f: impl FnOnce(Option<&S>) -> R) -> R {
        f(lock(&self.inner).state.as_ref())
    }
}

/// Selective-receive matching (SPEC §4.4): equal, except that Null in the
/// pattern matches anything, a List pattern matches element by element and
/// an Object pattern matches an Object having each of its fields.
pub fn matches(pattern: &Value, msg: &Value) -> bool {
    match (pattern, msg) {
        (Value::Null, _) => true,
        (Value::List(p), Value::List(m)) => {
            std::sync::Arc::ptr_eq(p, m)
                || (p.len() == m.len() && p.iter().zip(m.iter()).all(|(a, b)| matches(a, b)))
        }
        (Value::Object(p), Value::Object(m)) => p
            .iter()
            .all(|(k, pv)| m.get(k).is_some_and(|mv| matches(pv, mv))),
        _ => pattern.equals(msg),
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_by_the_rules() {
        let msg = Value::list(vec![
            Value::str("DOWN"),
            Value::Int(3),
            Value::Int(7),
            Value::str("x"),
        ]);
        let pat = Value::list(vec![
            Value::str("DOWN"),
            Value::Int(3),
            Value::Null,
            Value::Null,
        ]);
        assert!(matches(&pat, &msg));
        let wrong = Value::list(vec![
            Value::str("DOWN"),
            Value::Int(4),
            Value::Null,
            Value::Null,
        ]);
        assert!(!matches(&wrong, &msg));
        assert!(!matches(&Value::list(vec![Value::Null]), &msg));
        assert!(matches(&Value::Null, &Value::Int(1)));
        assert!(matches(&Value::Int(1), &Value::Float(1.0)));
    }

    #[test]
    fn a_message_racing_a_wait_is_not_lost() {
        let p = Process::new(1, (), vec![]);
        let Start::Run(s) = p.transition_to_running() else {
            panic!()
        };
        p.register_wait(Wait::Receive {
            pattern: None,
            deadline: None,
        });
        // The message arrives after the wait was registered but before the
        // worker parked the process: it must be requeued, not parked.
        assert!(!p.deliver(Value::Int(1)));
        assert_eq!(
            p.transition_after_slice(s, SliceEnd::Waiting).0,
            After::Requeue
        );
    }

    #[test]
    fn a_message_before_the_wait_registration_is_not_lost() {
        let p = Process::new(1, (), vec![]);
        let Start::Run(s) = p.transition_to_running() else {
            panic!()
        };
        // The receive found nothing; the message arrives; then the wait.
        assert!(!p.deliver(Value::Int(1)));
        p.register_wait(Wait::Receive {
            pattern: None,
            deadline: None,
        });
        assert_eq!(
            p.transition_after_slice(s, SliceEnd::Waiting).0,
            After::Requeue
        );
    }

    #[test]
    fn a_parked_process_is_queued_once() {
        let p = Process::new(1, (), vec![]);
        let Start::Run(s) = p.transition_to_running() else {
            panic!()
        };
        p.register_wait(Wait::Receive {
            pattern: None,
            deadline: None,
        });
        assert_eq!(
            p.transition_after_slice(s, SliceEnd::Waiting).0,
            After::Parked
        );
        assert!(p.deliver(Value::Int(1)));
        assert!(!p.deliver(Value::Int(2)), "already queued");
        assert!(matches!(p.kill(Value::str("x")), Kill::Now(_)));
        assert!(matches!(p.transition_to_running(), Start::Skip), "exiting");
    }
}
