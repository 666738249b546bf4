//! Links, monitors and exit signals at the process level (SPEC §4.5): each
//! step is one critical section under one process's lock, numbered as in
//! `sched/README.md` ("Links and monitors"). The rule that makes UNLINK and
//! DEMONITOR final: a signal that comes from a link or a monitor is applied
//! only if the receiver still holds that link or monitor, checked and
//! removed under the receiver's own lock in the same critical section that
//! applies it (K2, K3). UNLINK and DEMONITOR remove it from the caller's own
//! set first (U1, D1), so once they return nothing from it can arrive.

use super::{Inner, Kill, Meta, Pid, Process, Status};
use crate::sync::LockMode;
use crate::value::Value;

/// Where an exit signal comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// A linked process ended (X4): applied only if the link is still
    /// there (K2), which it removes.
    Link,
    /// LINK to a process that is not alive: `noproc`, like a link's.
    Noproc,
    /// EXIT_PROCESS: `"kill"` cannot be trapped; `"normal"` ends only a
    /// process that sends it to itself.
    Exit,
    /// A process of another node linked to this one ended, or its node
    /// was lost (`dist/`: the link was in the distribution's table, which
    /// removed it).
    RemoteLink,
    /// EXIT_PROCESS (Erlang's `exit/2`) from a process of another node.
    RemoteExit,
}

/// What an exit signal did to its target.
pub(crate) enum Signalled {
    /// Nothing: no such link any more (it was unlinked, or the target is
    /// exiting), or a `"normal"` reason the target ignores.
    Dropped,
    /// The target traps exits: `["EXIT", from, reason]` is in its mailbox.
    /// `wake`: the caller must queue it (S1). `msg`: a copy of the
    /// message, when asked for (to trace it).
    Trapped { wake: bool, msg: Option<Value> },
    /// It ends (K1).
    Killed(Kill),
}

/// Whether `v` is the Str `text` (exit reasons are compared as text; only
/// a Str prints as a bare word).
fn is_text(v: &Value, text: &str) -> bool {
    matches!(v, Value::Str(s) if s.as_str() == text)
}

/// Whether `msg` is `["DOWN", r, _, _]`.
fn is_down_for(msg: &Value, r: i64) -> bool {
    match msg {
        Value::List(l) => {
            l.len() == 4 && is_text(&l[0], "DOWN") && matches!(&l[1], Value::Int(x) if *x == r)
        }
        _ => false,
    }
}

/// Remove `pid` from `set`, keeping the order; whether it was there.
fn remove(set: &mut Vec<Pid>, pid: Pid) -> bool {
    match set.iter().position(|&l| l == pid) {
        Some(i) => {
            set.remove(i);
            true
        }
        None => false,
    }
}

impl Meta {
    pub(crate) fn has_link(&self, pid: Pid) -> bool {
        self.cold.as_ref().is_some_and(|c| c.links.contains(&pid))
    }

    /// Remove the link to `pid`; whether there was one.
    fn remove_link(&mut self, pid: Pid) -> bool {
        self.cold
            .as_mut()
            .is_some_and(|c| remove(&mut c.links, pid))
    }

    /// Whether an UNLINK left a mark for `pid` (U1), which it removes.
    fn remove_unlinked(&mut self, pid: Pid) -> bool {
        self.cold
            .as_mut()
            .is_some_and(|c| remove(&mut c.unlinked, pid))
    }

    fn is_unlinked(&self, pid: Pid) -> bool {
        self.cold
            .as_ref()
            .is_some_and(|c| c.unlinked.contains(&pid))
    }

    /// Remove monitor `r` that this process holds; its target, if held.
    fn remove_monitor(&mut self, r: i64) -> Option<Pid> {
        let c = self.cold.as_mut()?;
        let i = c.monitors.iter().position(|&(x, _)| x == r)?;
        // Their order is never observed (X2 only forgets them).
        Some(c.monitors.swap_remove(i).1)
    }
}

impl<S> Process<S> {
    /// LINK by this (running) process to `other_pid`, found as `other`
    /// (`None`: not in the table). L1: its own side first, so that from
    /// the moment the other side can name it, an exit of the other passes
    /// K2 — unless an UNLINK left a mark for the other (U3), which means
    /// the other has exited and its signal along the old link is still on
    /// its way (the mark will drop it): then `noproc` at once. L2: the
    /// other side, unless the other has exited (its links were taken at
    /// X1); then L3: undo L1. True when linked (or already linked: a link
    /// is there once, and a dying other's signal along it is on its way);
    /// false when the caller must get `noproc`.
    pub(crate) fn link_with(
        &self,
        other_pid: Pid,
        other: Option<&Process<S>>,
        locking: LockMode,
    ) -> bool {
        {
            // L1
            let mut g = self.inner.lock_as(locking);
            if g.meta.has_link(other_pid) {
                return true;
            }
            if g.meta.is_unlinked(other_pid) {
                return false;
            }
            g.meta.cold().links.push(other_pid);
        }
        // L2
        let linked = other.is_some_and(|o| {
            let mut g = o.inner.lock_as(locking);
            if g.meta.status == Status::Exited {
                return false;
            }
            if !g.meta.has_link(self.pid) {
                g.meta.cold().links.push(self.pid);
            }
            true
        });
        if !linked {
            // L3
            self.inner.lock_as(locking).meta.remove_link(other_pid);
        }
        linked
    }

    /// L4, SPAWN_LINK: the parent's side of the link to its new child,
    /// recorded before the child is in the table.
    pub(crate) fn add_child_link(&self, child: Pid, locking: LockMode) {
        self.inner.lock_as(locking).meta.cold().links.push(child);
    }

    /// UNLINK by this (running) process. U1: its own side, leaving a mark
    /// — from here on K2 drops an exit signal along this link. U2: the
    /// other's side, if the other has not exited. U3: then no signal along
    /// the link can come any more (the other's links no longer hold this
    /// process), so the mark goes; if the other had exited, its X4 is on
    /// its way (or came after U1) and K2 removes the mark.
    pub(crate) fn unlink_from(
        &self,
        other_pid: Pid,
        other: Option<&Process<S>>,
        locking: LockMode,
    ) {
        {
            // U1
            let mut g = self.inner.lock_as(locking);
            if !g.meta.remove_link(other_pid) {
                return; // not linked (or a signal along it came first)
            }
            g.meta.cold().unlinked.push(other_pid);
        }
        // U2
        let live = other.is_some_and(|o| {
            let mut g = o.inner.lock_as(locking);
            g.meta.remove_link(self.pid);
            g.meta.status != Status::Exited
        });
        if live {
            // U3
            self.inner.lock_as(locking).meta.remove_unlinked(other_pid);
        }
    }

    /// MONITOR `r` by this (running) process of `target_pid`, found as
    /// `target`. M1': recorded in its own monitors first (so that X3 finds
    /// it, K3), M2': then in the target's watchers, unless the target has
    /// exited; then M3': undone. False when the caller must send DOWN
    /// `noproc` itself.
    pub(crate) fn monitor_of(
        &self,
        r: i64,
        target_pid: Pid,
        target: Option<&Process<S>>,
        locking: LockMode,
    ) -> bool {
        self.inner
            .lock_as(locking)
            .meta
            .cold()
            .monitors
            .push((r, target_pid));
        let watching = target.is_some_and(|t| {
            let mut g = t.inner.lock_as(locking);
            if g.meta.status == Status::Exited {
                return false;
            }
            g.meta.cold().watchers.push((r, self.pid));
            true
        });
        if !watching {
            self.inner.lock_as(locking).meta.remove_monitor(r);
        }
        watching
    }

    /// D1, DEMONITOR's own part, one critical section: remove monitor `r`
    /// and drop its DOWN if one is queued (in the inbox, and in the
    /// mailbox unless another worker runs this process; `running_here`:
    /// this worker runs it). From here on K3 drops that DOWN. Returns the
    /// monitor's target, if it was still held (D2 removes the watcher).
    pub(crate) fn drop_monitor(
        &self,
        r: i64,
        running_here: bool,
        locking: LockMode,
    ) -> Option<Pid> {
        let mut g = self.inner.lock_as(locking);
        let target = g.meta.remove_monitor(r);
        if let Some(c) = g.meta.cold.as_mut() {
            c.inbox.retain(|m| !is_down_for(m, r));
        }
        if running_here || g.meta.status != Status::Running {
            // SAFETY: M1 (this worker runs it) or M2 (locked, not running).
            unsafe { self.with_mailbox(|mb| mb.retain(|m| !is_down_for(m, r))) };
        }
        target
    }

    /// D2 and X2: forget watcher `r` of this process.
    pub(crate) fn drop_watcher(&self, r: i64, locking: LockMode) {
        let mut g = self.inner.lock_as(locking);
        if let Some(c) = g.meta.cold.as_mut() {
            c.watchers.retain(|&(x, _)| x != r);
        }
    }

    /// K3 (X3): the DOWN `msg` of monitor `r`, delivered to this watcher
    /// only if it still holds the monitor, which it removes — in one
    /// critical section, so a DEMONITOR (D1) comes wholly before (and drops
    /// the DOWN) or after (and finds nothing). `None`: dropped; else
    /// whether the caller must queue the watcher (S1).
    pub(crate) fn down(&self, r: i64, msg: Value, locking: LockMode) -> Option<bool> {
        let mut g = self.inner.lock_as(locking);
        g.meta.remove_monitor(r)?;
        Some(self.deliver_locked(&mut g.meta, msg))
    }

    /// K2: an exit signal from `from` with `reason`, applied to this
    /// process in one critical section: for a link's, the link is checked
    /// and removed first (no link: dropped — an UNLINK came first, U1);
    /// then a trapping process gets `["EXIT", from, reason]` (a copy of it
    /// in the result when `want_msg`), `"normal"` is ignored (except from
    /// itself by EXIT_PROCESS), and anything else ends it (K1; EXIT_PROCESS
    /// `"kill"` untrappably, as `"killed"`).
    #[cfg_attr(not(loom), allow(dead_code))] // the loom models' entry
    pub(crate) fn exit_signal(
        &self,
        from: Pid,
        reason: &Value,
        origin: Origin,
        locking: LockMode,
        want_msg: bool,
    ) -> Signalled {
        self.exit_signal_from(from, None, reason, origin, locking, want_msg)
    }

    /// [`Process::exit_signal`], from a process of another node: `from`
    /// is 0 and `from_value` its PID value, for the EXIT message.
    pub(crate) fn exit_signal_from(
        &self,
        from: Pid,
        from_value: Option<&Value>,
        reason: &Value,
        origin: Origin,
        locking: LockMode,
        want_msg: bool,
    ) -> Signalled {
        let mut g = self.inner.lock_as(locking);
        if matches!(g.meta.status, Status::Exiting | Status::Exited) {
            return Signalled::Dropped;
        }
        if origin == Origin::Link && !g.meta.remove_link(from) {
            // Unlinked (U1) or never linked; a mark U1 left is done.
            g.meta.remove_unlinked(from);
            return Signalled::Dropped;
        }
        let end = if matches!(origin, Origin::Exit | Origin::RemoteExit) && is_text(reason, "kill")
        {
            Value::str("killed")
        } else if g.meta.trap_exit {
            let from = from_value.cloned().unwrap_or(Value::Int(from));
            let msg = Value::list(vec![Value::str("EXIT"), from, reason.clone()]);
            let copy = want_msg.then(|| msg.clone());
            let wake = self.deliver_locked(&mut g.meta, msg);
            return Signalled::Trapped { wake, msg: copy };
        } else if is_text(reason, "normal") {
            if origin == Origin::Exit && from == self.pid {
                reason.clone()
            } else {
                return Signalled::Dropped;
            }
        } else {
            reason.clone()
        };
        let inner: &mut Inner<S> = &mut g;
        let (kill, state) = Self::kill_locked(inner, end);
        drop(g);
        drop(state);
        Signalled::Killed(kill)
    }
}
