//! Links, monitors and exit signals (SPEC §4.5): LINK, UNLINK, MONITOR,
//! DEMONITOR, TRAP_EXIT, EXIT_PROCESS, and what a process's end sends to
//! the processes linked to it and monitoring it. Methods of [`Sched`], like
//! every operation that may wake a process (see `node.rs`).

use super::Sched;
use crate::process::{Cold, Kill, Origin, Pid, Process, Signalled};
use crate::sync::{lock, Ordering};
use crate::table::Garbage;
use crate::value::Value;

/// `["DOWN", ref, pid, reason]`.
fn down_message(r: i64, pid: Pid, reason: Value) -> Value {
    Value::list(vec![
        Value::str("DOWN"),
        Value::Int(r),
        Value::Int(pid),
        reason,
    ])
}

impl<'a, S: Send> Sched<'a, S> {
    /// LINK (L1–L3). A dead target: `["EXIT", pid, "noproc"]` to a
    /// trapping caller, else the caller ends with `noproc`.
    pub fn link(&self, pid: Pid, other: Pid) {
        if pid == other {
            return;
        }
        self.node.trace(|| format!("link {pid} <-> {other}"));
        let Some(me) = self.w.proc(pid) else {
            return;
        };
        if !me.link_with(other, self.w.proc(other), self.w.locking) {
            self.signal(other, pid, &Value::str("noproc"), Origin::Noproc);
        }
    }

    /// UNLINK (U1, U2): once it returns, no exit signal along the link
    /// reaches `pid` (K2). A signal that came first may have ended it:
    /// the caller checks [`Sched::pending_exit`].
    pub fn unlink(&self, pid: Pid, other: Pid) {
        self.node.trace(|| format!("unlink {pid} <-> {other}"));
        if let Some(me) = self.w.proc(pid) {
            me.unlink_from(other, self.w.proc(other), self.w.locking);
        }
    }

    /// MONITOR (M1'–M3'): a new reference; a dead target gets DOWN
    /// `noproc` at once.
    pub fn monitor(&self, pid: Pid, target: Pid) -> i64 {
        let r = self.node.next_ref.fetch_add(1, Ordering::Relaxed) as i64;
        self.node
            .trace(|| format!("monitor {pid} -> {target} (ref {r})"));
        let watching = self
            .proc(pid)
            .is_some_and(|me| me.monitor_of(r, target, self.w.proc(target), self.w.locking));
        if !watching {
            self.send(target, pid, down_message(r, target, Value::str("noproc")));
        }
        r
    }

    /// DEMONITOR (D1, D2): remove the monitor and drop its DOWN if already
    /// queued; once it returns, no DOWN of it arrives (K3).
    pub fn demonitor(&self, pid: Pid, r: i64) {
        self.node.trace(|| format!("demonitor {pid} (ref {r})"));
        let running_here = self.w.own.borrow().pid == pid;
        let target = self
            .proc(pid)
            .and_then(|me| me.drop_monitor(r, running_here, self.w.locking));
        if let Some(t) = target.and_then(|t| self.w.proc(t)) {
            t.drop_watcher(r, self.w.locking);
        }
    }

    /// TRAP_EXIT.
    pub fn set_trap_exit(&self, pid: Pid, on: bool) {
        if let Some(p) = self.w.proc(pid) {
            p.with_meta(|m| m.trap_exit = on);
        }
    }

    /// EXIT_PROCESS: an exit signal with `reason` from `from` to `to`
    /// (SPEC §4.5).
    pub fn exit_signal(&self, from: Pid, to: Pid, reason: Value) {
        self.signal(from, to, &reason, Origin::Exit);
    }

    /// K2: an exit signal, applied under the target's lock (a link's only
    /// if the target still holds the link).
    fn signal(&self, from: Pid, to: Pid, reason: &Value, origin: Origin) {
        self.signal_from(from, None, to, reason, origin)
    }

    /// An exit signal from a process of another node (`dist/`): `link`
    /// for a linked process's end or a lost connection (the distribution
    /// removed the link), else Erlang's `exit/2`.
    pub(crate) fn remote_signal(&self, from: &Value, to: Pid, reason: &Value, link: bool) {
        let origin = if link {
            Origin::RemoteLink
        } else {
            Origin::RemoteExit
        };
        self.node
            .trace(|| format!("exit signal {from} -> {to}: {reason}"));
        self.signal_from(0, Some(from), to, reason, origin)
    }

    fn signal_from(
        &self,
        from: Pid,
        from_value: Option<&Value>,
        to: Pid,
        reason: &Value,
        origin: Origin,
    ) {
        let Some(p) = self.w.proc(to) else {
            return;
        };
        let tracing = self.node.tracer.is_some();
        match p.exit_signal_from(from, from_value, reason, origin, self.w.locking, tracing) {
            Signalled::Dropped => {}
            Signalled::Trapped { wake, msg } => {
                self.w.messages.set(self.w.messages.get() + 1);
                if let Some(msg) = msg {
                    self.node.trace(|| format!("send {from} -> {to}: {msg}"));
                }
                if wake {
                    self.w.schedule_woken(p);
                }
            }
            Signalled::Killed(kill) => {
                self.node
                    .trace(|| format!("exit signal {from} -> {to}: {reason}"));
                if to == 1 {
                    let mut killed = lock(&self.node.main_killed);
                    if killed.is_none() {
                        *killed = Some(super::MainKilled {
                            from,
                            reason: reason.clone(),
                            via: match origin {
                                Origin::Link | Origin::RemoteLink => super::KilledVia::Link,
                                Origin::Noproc => super::KilledVia::Noproc,
                                Origin::Exit | Origin::RemoteExit => super::KilledVia::ExitProcess,
                            },
                        });
                    }
                }
                self.killed(p, kill);
            }
        }
    }

    /// K1 done: run the exit of a process it ended at rest.
    fn killed(&self, p: &Process<S>, kill: Kill) {
        let Kill::Now(reason) = kill else {
            return;
        };
        self.w.cascade.borrow_mut().push((self.w.arc(p), reason));
        if self.w.draining.replace(true) {
            return; // an outer kill is draining the list
        }
        loop {
            let next = self.w.cascade.borrow_mut().pop();
            let Some((q, r)) = next else { break };
            self.finish_exit(&q, r);
        }
        self.w.draining.set(false);
    }

    /// A signal that must end the running process `pid`, if one arrived.
    pub fn pending_exit(&self, me: &Process<S>) -> Option<Value> {
        me.with_meta(|m| m.pending_exit.take())
    }

    /// X1–X4: `p` (status Exiting, state taken) ended with `reason`: free
    /// its name, send DOWN to monitors and exit signals along its links.
    pub(crate) fn finish_exit(&self, p: &Process<S>, reason: Value) {
        let pid = p.pid;
        self.node.trace(|| format!("exit {pid}: {reason}"));
        if pid == 1 {
            *lock(&self.node.main_reason) = Some(reason.clone());
        }
        // X0: its registered name is free before anything can show that
        // it ended (the table entry, `Exited`): whoever hears of the end —
        // even a MONITOR answering `noproc` — can take the name.
        let name_freed = match p.exiting_name() {
            Some(name) => {
                self.free_name(&name, pid);
                true
            }
            None => false,
        };
        // The live count drops before the table entry goes: whoever finds
        // the process gone (a MONITOR answering `noproc` at once, a DOWN)
        // also finds its count gone, so a SPAWN made then finds room.
        // (Dropping it after the removal let a racing MONITOR deliver DOWN
        // first: `--max-processes 2` spawns failed.)
        self.node.live.fetch_sub(1, Ordering::AcqRel);
        // X1: out of the table.
        self.node.table.remove(pid as u64, |g| {
            // Q2: a stale queue entry keeps the table's count parked.
            let g = match g {
                Garbage::Item(arc) => match p.keep_if_queued(arc) {
                    Some(arc) => Garbage::Item(arc),
                    None => return,
                },
                g => g,
            };
            self.w.reclaim.borrow_mut().retire(g)
        });
        // From here on, LINK and MONITOR see it gone and answer noproc
        // themselves; before, they were recorded and are notified below.
        let (cold, mailbox) = p.take_for_exit();
        drop(mailbox);
        // Most processes never had links, monitors, a name or an inbox.
        if let Some(cold) = cold {
            self.notify_exit(pid, *cold, &reason, name_freed);
        }
        // Processes of other nodes that monitor it (issue 17).
        if let Some(d) = self.node.dist.get() {
            d.local_exit(pid, &reason);
        }
    }

    /// The registry forgets `name` if `pid` holds it.
    fn free_name(&self, name: &str, pid: Pid) {
        let mut reg = lock(&self.node.registry);
        if reg.get(name) == Some(&pid) {
            reg.remove(name);
        }
    }

    /// X2–X4 for the process `pid` that ended with `reason`
    /// and had `cold`.
    fn notify_exit(&self, pid: Pid, cold: Cold, reason: &Value, name_freed: bool) {
        let Cold {
            inbox,
            links,
            monitors,
            watchers,
            name,
            // its UNLINKs' marks: what they wait for no longer matters
            unlinked: _,
            // a finished blocking operation nobody will take
            io_done: _,
            io_ticket,
            owned,
        } = cold;
        // Its sockets close (before its exit is heard of: a peer sees the
        // connection end no later than a monitor sees the DOWN).
        for r in owned {
            r.owner_exited(pid);
        }
        if let Some(t) = io_ticket {
            // Its blocking operation no longer keeps the run going.
            self.node.io.settle(&t);
        }
        drop(inbox);
        if let (Some(name), false) = (name, name_freed) {
            // (Only if the `named` hint was stale; X0 frees it otherwise.)
            self.free_name(&name, pid);
        }
        // X2: monitors it held.
        for (r, target) in monitors {
            if let Some(t) = self.w.proc(target) {
                t.drop_watcher(r, self.w.locking);
            }
        }
        // X3: DOWN to its watchers that still hold the monitor (K3).
        for (r, watcher) in watchers {
            let Some(w) = self.w.proc(watcher) else {
                continue;
            };
            let msg = down_message(r, pid, reason.clone());
            let traced = self.node.tracer.is_some().then(|| msg.clone());
            let Some(wake) = w.down(r, msg, self.w.locking) else {
                continue; // demonitored (D1 came first)
            };
            self.w.messages.set(self.w.messages.get() + 1);
            if let Some(msg) = traced {
                self.node
                    .trace(|| format!("down {pid} -> {watcher} (ref {r}): {reason}"));
                self.node
                    .trace(|| format!("send {pid} -> {watcher}: {msg}"));
            }
            if wake {
                self.w.schedule_woken(w);
            }
        }
        // X4: exit signals along its links, to those that still hold them
        // (K2).
        for other in links {
            self.signal(pid, other, reason, Origin::Link);
        }
    }
}
