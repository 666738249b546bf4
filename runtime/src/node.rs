//! The process system of one VM: the process table, mailboxes, links,
//! monitors, exit signals, the name registry, timers and the deterministic
//! single-thread FIFO run queue (SPEC §4).
//!
//! `Node<S>` is generic over a process's execution state `S`, which it
//! stores but never looks into: the scheduler hands it to an [`Execute`]
//! implementation one slice at a time.
//!
//! Delivery is immediate: a message or signal sent from one process to
//! another is applied to the target before the sender continues, so
//! messages and signals from one sender arrive in the order sent.

use crate::value::{Atom, Value};
use rustc_hash::FxHashMap;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

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

#[derive(Clone, Debug)]
enum Status {
    /// In the run queue, or running.
    Runnable,
    Waiting(Wait),
}

/// A process's bookkeeping (everything but its execution state).
#[derive(Debug)]
pub struct Meta {
    pub mailbox: VecDeque<Value>,
    links: Vec<Pid>,
    /// Monitors this process holds: (ref, target).
    monitors: Vec<(i64, Pid)>,
    /// Monitors on this process: (ref, watcher).
    watchers: Vec<(i64, Pid)>,
    pub trap_exit: bool,
    pub name: Option<Atom>,
    status: Status,
    /// Bumped at every wait, so stale timers are ignored.
    wait_token: u64,
    /// Set when a receive's timer fired.
    pub timed_out: bool,
    /// An exit signal that must end this process when it next stops
    /// (it was running when the signal arrived).
    pending_exit: Option<Value>,
}

impl Meta {
    fn new() -> Meta {
        Meta {
            mailbox: VecDeque::new(),
            links: Vec::new(),
            monitors: Vec::new(),
            watchers: Vec::new(),
            trap_exit: false,
            name: None,
            status: Status::Runnable,
            wait_token: 0,
            timed_out: false,
            pending_exit: None,
        }
    }
}

struct Entry<S> {
    meta: Meta,
    /// `None` while the process runs.
    state: Option<S>,
}

/// How a process's slice ended, as the executor reports it.
#[derive(Debug)]
pub enum Outcome {
    /// Budget spent or YIELD: back to the tail of the run queue.
    Preempted,
    /// Waiting (the executor called [`Node::wait`]).
    Waiting,
    /// The process ended with this reason ("normal", or an error message).
    Ended(Value),
    /// EXIT: the whole VM ends with this status.
    ExitVm(i32),
}

/// Runs processes' slices; implemented by the engine, so the runtime never
/// imports interpreter code.
pub trait Execute<S> {
    /// Run `pid` for one slice of `budget` reductions.
    fn run_slice(&mut self, node: &mut Node<S>, pid: Pid, state: &mut S, budget: i64) -> Outcome;
    /// Every process waits (for messages or timers): a good moment to
    /// flush output.
    fn idle(&mut self) {}
}

/// Counters for `--stats`.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub spawned: u64,
    pub peak_live: u64,
    pub messages: u64,
}

/// Errors of process operations (turned into exceptions by the caller).
pub type OpError = String;

/// How a run of the scheduler ended.
#[derive(Debug, PartialEq, Eq)]
pub enum RunEnd {
    /// Every process ended; PID 1's reason was "normal" (true) or not.
    AllEnded,
    /// EXIT n.
    Exit(i32),
    /// No process can run and no timer is pending, with PID 1 waiting.
    Deadlock,
}

/// Receives `--trace-procs` event lines.
pub type Tracer = Box<dyn Fn(&str) + Send>;

/// The process system.
pub struct Node<S> {
    procs: FxHashMap<Pid, Entry<S>>,
    next_pid: Pid,
    next_ref: i64,
    run_queue: VecDeque<Pid>,
    registry: FxHashMap<Atom, Pid>,
    timers: BinaryHeap<Reverse<(Instant, u64, Pid)>>,
    max_processes: usize,
    tracer: Option<Tracer>,
    pub stats: Stats,
    /// PID 1's exit reason, once it ended.
    pub main_reason: Option<Value>,
}

fn reason_text(v: &Value) -> String {
    v.to_string()
}

fn normal() -> Value {
    Value::str("normal")
}

impl<S> Node<S> {
    pub fn new(max_processes: usize) -> Node<S> {
        Node {
            procs: FxHashMap::default(),
            next_pid: 1,
            next_ref: 1,
            run_queue: VecDeque::new(),
            registry: FxHashMap::default(),
            timers: BinaryHeap::new(),
            max_processes,
            tracer: None,
            stats: Stats::default(),
            main_reason: None,
        }
    }

    /// Print process events (`--trace-procs`) through `f`.
    pub fn set_tracer(&mut self, f: Tracer) {
        self.tracer = Some(f);
    }

    fn trace(&self, event: impl FnOnce() -> String) {
        if let Some(t) = &self.tracer {
            t(&event());
        }
    }

    /// Live processes.
    pub fn live(&self) -> usize {
        self.procs.len()
    }

    pub fn is_alive(&self, pid: Pid) -> bool {
        self.procs.contains_key(&pid)
    }

    /// Messages queued for `pid`.
    pub fn mailbox_len(&self, pid: Pid) -> usize {
        self.procs.get(&pid).map_or(0, |e| e.meta.mailbox.len())
    }

    pub fn meta(&self, pid: Pid) -> Option<&Meta> {
        self.procs.get(&pid).map(|e| &e.meta)
    }

    fn meta_mut(&mut self, pid: Pid) -> Option<&mut Meta> {
        self.procs.get_mut(&pid).map(|e| &mut e.meta)
    }

    /// Start a process with `state`, appended to the run queue; linked to
    /// `link` atomically when given.
    pub fn spawn(&mut self, state: S, link: Option<Pid>) -> Result<Pid, OpError> {
        if self.procs.len() >= self.max_processes {
            return Err("too many processes".to_string());
        }
        let pid = self.next_pid;
        self.next_pid += 1;
        let mut meta = Meta::new();
        if let Some(parent) = link {
            meta.links.push(parent);
            if let Some(p) = self.meta_mut(parent) {
                p.links.push(pid);
            }
        }
        self.procs.insert(
            pid,
            Entry {
                meta,
                state: Some(state),
            },
        );
        self.run_queue.push_back(pid);
        self.stats.spawned += 1;
        self.stats.peak_live = self.stats.peak_live.max(self.procs.len() as u64);
        self.trace(|| match link {
            Some(parent) => format!("spawn {pid} by {parent} (linked)"),
            None => format!("spawn {pid}"),
        });
        Ok(pid)
    }

    /// SEND: append `msg` to `to`'s mailbox (dropped if `to` is not alive)
    /// and wake it if it waits for such a message.
    pub fn send(&mut self, from: Pid, to: Pid, msg: Value) {
        self.stats.messages += 1;
        self.trace(|| format!("send {from} -> {to}: {msg}"));
        let Some(meta) = self.meta_mut(to) else {
            return;
        };
        let wake = match &meta.status {
            Status::Waiting(Wait::Receive { pattern, .. }) => {
                pattern.as_ref().is_none_or(|p| matches(p, &msg))
            }
            _ => false,
        };
        meta.mailbox.push_back(msg);
        if wake {
            self.make_runnable(to);
        }
    }

    fn make_runnable(&mut self, pid: Pid) {
        if let Some(meta) = self.meta_mut(pid) {
            if matches!(meta.status, Status::Waiting(_)) {
                meta.status = Status::Runnable;
                meta.wait_token += 1;
                self.run_queue.push_back(pid);
            }
        }
    }

    /// Take the oldest message of `pid` matching `pattern` (any message when
    /// `None`); the others keep their order.
    pub fn take_message(&mut self, pid: Pid, pattern: Option<&Value>) -> Option<Value> {
        let meta = self.meta_mut(pid)?;
        let i = match pattern {
            None => (!meta.mailbox.is_empty()).then_some(0)?,
            Some(p) => meta.mailbox.iter().position(|m| matches(p, m))?,
        };
        let msg = meta.mailbox.remove(i);
        if let Some(m) = &msg {
            self.trace(|| format!("receive {pid}: {m}"));
        }
        msg
    }

    /// Put `pid` to sleep until a message (or the deadline) wakes it. The
    /// executor returns [`Outcome::Waiting`] right after.
    pub fn wait(&mut self, pid: Pid, wait: Wait) {
        let deadline = match &wait {
            Wait::Receive { deadline, .. } => *deadline,
            Wait::Sleep { deadline } => Some(*deadline),
        };
        if let Some(meta) = self.meta_mut(pid) {
            meta.wait_token += 1;
            meta.timed_out = false;
            let token = meta.wait_token;
            meta.status = Status::Waiting(wait);
            if let Some(d) = deadline {
                self.timers.push(Reverse((d, token, pid)));
            }
        }
    }

    /// The timeout of the receive `pid` waited in has fired (clears it).
    pub fn take_timed_out(&mut self, pid: Pid) -> bool {
        self.meta_mut(pid)
            .is_some_and(|m| std::mem::take(&mut m.timed_out))
    }

    /// Fire due timers; returns the time until the next one, if any.
    fn fire_timers(&mut self, now: Instant) -> Option<Duration> {
        while let Some(Reverse((at, token, pid))) = self.timers.peek().cloned() {
            if at > now {
                return Some(at - now);
            }
            self.timers.pop();
            if let Some(meta) = self.meta_mut(pid) {
                if meta.wait_token == token && matches!(meta.status, Status::Waiting(_)) {
                    meta.timed_out = true;
                    meta.status = Status::Runnable;
                    meta.wait_token += 1;
                    self.run_queue.push_back(pid);
                }
            }
        }
        None
    }

    /// REGISTER.
    pub fn register(&mut self, pid: Pid, name: Atom) -> Result<(), OpError> {
        if let Some(&holder) = self.registry.get(&name) {
            return Err(format!(
                "name {name} is already registered to process {holder}"
            ));
        }
        let meta = self.meta_mut(pid).ok_or("process is not alive")?;
        if let Some(old) = &meta.name {
            return Err(format!("process {pid} is already registered as {old}"));
        }
        meta.name = Some(name.clone());
        self.trace(|| format!("register {pid} as {name}"));
        self.registry.insert(name, pid);
        Ok(())
    }

    /// UNREGISTER.
    pub fn unregister(&mut self, name: &Atom) -> Result<(), OpError> {
        let pid = self
            .registry
            .remove(name)
            .ok_or_else(|| format!("no process registered as {name}"))?;
        if let Some(m) = self.meta_mut(pid) {
            m.name = None;
        }
        self.trace(|| format!("unregister {name} (was {pid})"));
        Ok(())
    }

    /// WHEREIS: the PID, or 0.
    pub fn whereis(&self, name: &Atom) -> Pid {
        self.registry.get(name).copied().unwrap_or(0)
    }

    /// LINK. A dead target: `["EXIT", pid, "noproc"]` to a trapping caller,
    /// else the caller ends with `noproc`.
    pub fn link(&mut self, pid: Pid, other: Pid) {
        if pid == other {
            return;
        }
        self.trace(|| format!("link {pid} <-> {other}"));
        if !self.is_alive(other) {
            self.exit_signal(other, pid, Value::str("noproc"), true);
            return;
        }
        for (a, b) in [(pid, other), (other, pid)] {
            if let Some(m) = self.meta_mut(a) {
                if !m.links.contains(&b) {
                    m.links.push(b);
                }
            }
        }
    }

    /// UNLINK.
    pub fn unlink(&mut self, pid: Pid, other: Pid) {
        self.trace(|| format!("unlink {pid} <-> {other}"));
        for (a, b) in [(pid, other), (other, pid)] {
            if let Some(m) = self.meta_mut(a) {
                m.links.retain(|&l| l != b);
            }
        }
    }

    /// MONITOR: a new reference; a dead target gets DOWN `noproc` at once.
    pub fn monitor(&mut self, pid: Pid, target: Pid) -> i64 {
        let r = self.next_ref;
        self.next_ref += 1;
        self.trace(|| format!("monitor {pid} -> {target} (ref {r})"));
        if self.is_alive(target) {
            if let Some(m) = self.meta_mut(pid) {
                m.monitors.push((r, target));
            }
            if let Some(m) = self.meta_mut(target) {
                m.watchers.push((r, pid));
            }
        } else {
            let down = down_message(r, target, Value::str("noproc"));
            self.send(target, pid, down);
        }
        r
    }

    /// DEMONITOR: remove the monitor and drop its DOWN if already queued.
    pub fn demonitor(&mut self, pid: Pid, r: i64) {
        self.trace(|| format!("demonitor {pid} (ref {r})"));
        let mut target = None;
        if let Some(m) = self.meta_mut(pid) {
            if let Some(i) = m.monitors.iter().position(|&(x, _)| x == r) {
                target = Some(m.monitors.remove(i).1);
            }
            m.mailbox.retain(|msg| !is_down_for(msg, r));
        }
        if let Some(t) = target {
            if let Some(m) = self.meta_mut(t) {
                m.watchers.retain(|&(x, _)| x != r);
            }
        }
    }

    /// TRAP_EXIT.
    pub fn set_trap_exit(&mut self, pid: Pid, on: bool) {
        if let Some(m) = self.meta_mut(pid) {
            m.trap_exit = on;
        }
    }

    /// An exit signal with `reason` from `from` to `to` (SPEC §4.5). `link`
    /// says it comes from a link (a dying linked process) rather than from
    /// EXIT_PROCESS.
    pub fn exit_signal(&mut self, from: Pid, to: Pid, reason: Value, link: bool) {
        let Some(meta) = self.meta(to) else {
            return;
        };
        let text = reason_text(&reason);
        let trapping = meta.trap_exit;
        if !link && text == "kill" {
            self.trace(|| format!("exit signal {from} -> {to}: kill"));
            return self.kill(to, Value::str("killed"));
        }
        if trapping {
            self.send(
                from,
                to,
                Value::list(vec![Value::str("EXIT"), Value::Int(from), reason]),
            );
            return;
        }
        if text == "normal" {
            if !link && from == to {
                self.kill(to, normal());
            }
            return;
        }
        self.trace(|| format!("exit signal {from} -> {to}: {text}"));
        self.kill(to, reason);
    }

    /// End `pid` by a signal: at once when it is not running, else when its
    /// slice returns.
    fn kill(&mut self, pid: Pid, reason: Value) {
        let Some(entry) = self.procs.get_mut(&pid) else {
            return;
        };
        if entry.state.is_none() {
            // Running right now: it stops at its next check.
            if entry.meta.pending_exit.is_none() {
                entry.meta.pending_exit = Some(reason);
            }
            return;
        }
        let entry = self.procs.remove(&pid).expect("present");
        self.run_queue.retain(|&p| p != pid);
        self.finish_exit(pid, entry.meta, reason);
    }

    /// A signal that must end the running process `pid`, if one arrived.
    pub fn pending_exit(&mut self, pid: Pid) -> Option<Value> {
        self.meta_mut(pid).and_then(|m| m.pending_exit.take())
    }

    /// `pid` ended with `reason`: free its name, send DOWN to monitors and
    /// exit signals along its links.
    fn finish_exit(&mut self, pid: Pid, meta: Meta, reason: Value) {
        self.trace(|| format!("exit {pid}: {reason}"));
        if pid == 1 {
            self.main_reason = Some(reason.clone());
        }
        if let Some(name) = &meta.name {
            self.registry.remove(name);
        }
        for &(r, target) in &meta.monitors {
            if let Some(m) = self.meta_mut(target) {
                m.watchers.retain(|&(x, _)| x != r);
            }
        }
        for &(r, watcher) in &meta.watchers {
            if let Some(m) = self.meta_mut(watcher) {
                m.monitors.retain(|&(x, _)| x != r);
            }
            self.trace(|| format!("down {pid} -> {watcher} (ref {r}): {reason}"));
            self.send(pid, watcher, down_message(r, pid, reason.clone()));
        }
        for &other in &meta.links {
            if let Some(m) = self.meta_mut(other) {
                m.links.retain(|&l| l != pid);
            }
            self.exit_signal(pid, other, reason.clone(), true);
        }
    }

    /// The registered name of `pid`.
    pub fn name_of(&self, pid: Pid) -> Option<&Atom> {
        self.meta(pid).and_then(|m| m.name.as_ref())
    }

    /// The execution state of `pid` (None while it runs).
    pub fn state(&self, pid: Pid) -> Option<&S> {
        self.procs.get(&pid).and_then(|e| e.state.as_ref())
    }

    /// What `pid` waits for, if it waits.
    pub fn waiting(&self, pid: Pid) -> Option<&Wait> {
        match &self.meta(pid)?.status {
            Status::Waiting(w) => Some(w),
            Status::Runnable => None,
        }
    }

    /// Run every process to the end (the deterministic scheduler): FIFO run
    /// queue, `budget` reductions per slice.
    pub fn run(&mut self, exec: &mut impl Execute<S>, budget: i64) -> RunEnd {
        loop {
            while let Some(pid) = self.run_queue.pop_front() {
                // Timers fire between slices too, so a busy process cannot
                // hold back a sleeping one.
                if self.timers.peek().is_some_and(|t| t.0 .0 <= Instant::now()) {
                    self.fire_timers(Instant::now());
                }
                let Some(entry) = self.procs.get_mut(&pid) else {
                    continue;
                };
                let Some(mut state) = entry.state.take() else {
                    continue;
                };
                let outcome = exec.run_slice(self, pid, &mut state, budget);
                let pending = self.pending_exit(pid);
                let outcome = match (outcome, pending) {
                    (Outcome::ExitVm(n), _) => return RunEnd::Exit(n),
                    (Outcome::Ended(r), _) => Outcome::Ended(r),
                    (_, Some(r)) => Outcome::Ended(r),
                    (o, None) => o,
                };
                match outcome {
                    Outcome::Preempted => {
                        self.procs.get_mut(&pid).expect("alive").state = Some(state);
                        self.run_queue.push_back(pid);
                    }
                    Outcome::Waiting => {
                        self.procs.get_mut(&pid).expect("alive").state = Some(state);
                    }
                    Outcome::Ended(reason) => {
                        let entry = self.procs.remove(&pid).expect("alive");
                        drop(state);
                        self.finish_exit(pid, entry.meta, reason);
                    }
                    Outcome::ExitVm(_) => unreachable!(),
                }
            }
            match self.fire_timers(Instant::now()) {
                _ if !self.run_queue.is_empty() => continue,
                Some(wait) => {
                    exec.idle();
                    std::thread::sleep(wait)
                }
                None => break,
            }
        }
        if self.is_alive(1) {
            return RunEnd::Deadlock;
        }
        // Everyone else is blocked forever: discard them.
        self.procs.clear();
        self.registry.clear();
        RunEnd::AllEnded
    }
}

/// `["DOWN", ref, pid, reason]`.
fn down_message(r: i64, pid: Pid, reason: Value) -> Value {
    Value::list(vec![
        Value::str("DOWN"),
        Value::Int(r),
        Value::Int(pid),
        reason,
    ])
}

fn is_down_for(msg: &Value, r: i64) -> bool {
    match msg {
        Value::List(l) => {
            l.len() == 4
                && matches!(&l[0], Value::Str(s) if s.as_str() == "DOWN")
                && matches!(&l[1], Value::Int(x) if *x == r)
        }
        _ => false,
    }
}

/// Selective-receive matching (SPEC §4.4): equal, except that Null in the
/// pattern matches anything, a List pattern matches element by element and
/// an Object pattern matches an Object having each of its fields.
pub fn matches(pattern: &Value, msg: &Value) -> bool {
    match (pattern, msg) {
        (Value::Null, _) => true,
        (Value::List(p), Value::List(m)) => {
            Arc::ptr_eq(p, m)
                || (p.len() == m.len() && p.iter().zip(m.iter()).all(|(a, b)| matches(a, b)))
        }
        (Value::Object(p), Value::Object(m)) => p
            .iter()
            .all(|(k, pv)| m.get(k).is_some_and(|mv| matches(pv, mv))),
        _ => pattern.equals(msg),
    }
}

#[cfg(test)]
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
}
