//! Links, monitors and exit signals (SPEC §4.5): LINK, UNLINK, MONITOR,
//! DEMONITOR, TRAP_EXIT, EXIT_PROCESS, and what a process's end sends to
//! the processes linked to it and monitoring it. Methods of [`Sched`], like
//! every operation that may wake a process (see `node.rs`).

use super::Sched;
use crate::process::{Kill, Pid, Process, Status};
use crate::sync::{lock, Ordering};
use crate::table::Garbage;
use crate::value::Value;

fn normal() -> Value {
    Value::str("normal")
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

impl<'a, S: Send> Sched<'a, S> {
    /// LINK. A dead target: `["EXIT", pid, "noproc"]` to a trapping caller,
    /// else the caller ends with `noproc`.
    pub fn link(&self, pid: Pid, other: Pid) {
        if pid == other {
            return;
        }
        self.node.trace(|| format!("link {pid} <-> {other}"));
        let linked = self.proc(other).is_some_and(|o| {
            o.with_meta(|m| {
                if m.status == Status::Exited {
                    return false;
                }
                if !m.has_link(pid) {
                    m.cold().links.push(pid);
                }
                true
            })
        });
        if !linked {
            self.exit_signal(other, pid, Value::str("noproc"), true);
            return;
        }
        if let Some(me) = self.proc(pid) {
            me.with_meta(|m| {
                if !m.has_link(other) {
                    m.cold().links.push(other);
                }
            });
        }
    }

    /// UNLINK.
    pub fn unlink(&self, pid: Pid, other: Pid) {
        self.node.trace(|| format!("unlink {pid} <-> {other}"));
        for (a, b) in [(pid, other), (other, pid)] {
            if let Some(p) = self.proc(a) {
                p.with_meta(|m| {
                    if let Some(c) = m.cold.as_mut() {
                        c.links.retain(|&l| l != b);
                    }
                });
            }
        }
    }

    /// MONITOR: a new reference; a dead target gets DOWN `noproc` at once.
    pub fn monitor(&self, pid: Pid, target: Pid) -> i64 {
        let r = self.node.next_ref.fetch_add(1, Ordering::Relaxed) as i64;
        self.node
            .trace(|| format!("monitor {pid} -> {target} (ref {r})"));
        let watching = self.proc(target).is_some_and(|t| {
            t.with_meta(|m| {
                if m.status == Status::Exited {
                    return false;
                }
                m.cold().watchers.push((r, pid));
                true
            })
        });
        if watching {
            if let Some(me) = self.proc(pid) {
                me.with_meta(|m| m.cold().monitors.push((r, target)));
            }
        } else {
            self.send(target, pid, down_message(r, target, Value::str("noproc")));
        }
        r
    }

    /// DEMONITOR: remove the monitor and drop its DOWN if already queued.
    pub fn demonitor(&self, pid: Pid, r: i64) {
        self.node.trace(|| format!("demonitor {pid} (ref {r})"));
        let running_here = self.own.borrow().pid == pid;
        let target = self.proc(pid).and_then(|me| {
            me.retain_messages(running_here, |msg| !is_down_for(msg, r));
            me.with_meta(|m| {
                let c = m.cold.as_mut()?;
                let i = c.monitors.iter().position(|&(x, _)| x == r)?;
                Some(c.monitors.remove(i).1)
            })
        });
        if let Some(t) = target.and_then(|t| self.proc(t)) {
            t.with_meta(|m| {
                if let Some(c) = m.cold.as_mut() {
                    c.watchers.retain(|&(x, _)| x != r);
                }
            });
        }
    }

    /// TRAP_EXIT.
    pub fn set_trap_exit(&self, pid: Pid, on: bool) {
        if let Some(p) = self.proc(pid) {
            p.with_meta(|m| m.trap_exit = on);
        }
    }

    /// An exit signal with `reason` from `from` to `to` (SPEC §4.5). `link`
    /// says it comes from a link (a dying linked process) rather than from
    /// EXIT_PROCESS.
    pub fn exit_signal(&self, from: Pid, to: Pid, reason: Value, link: bool) {
        let Some(p) = self.proc(to) else {
            return;
        };
        let text = reason.to_string();
        if !link && text == "kill" {
            self.node
                .trace(|| format!("exit signal {from} -> {to}: kill"));
            return self.kill(p, Value::str("killed"));
        }
        if p.with_meta(|m| m.trap_exit) {
            self.send(
                from,
                to,
                Value::list(vec![Value::str("EXIT"), Value::Int(from), reason]),
            );
            return;
        }
        if text == "normal" {
            if !link && from == to {
                self.kill(p, normal());
            }
            return;
        }
        self.node
            .trace(|| format!("exit signal {from} -> {to}: {text}"));
        self.kill(p, reason);
    }

    fn kill(&self, p: &Process<S>, reason: Value) {
        let Kill::Now(reason) = p.kill(reason) else {
            return;
        };
        self.cascade.borrow_mut().push((self.arc(p), reason));
        if self.draining.replace(true) {
            return; // an outer kill is draining the list
        }
        loop {
            let next = self.cascade.borrow_mut().pop();
            let Some((q, r)) = next else { break };
            self.finish_exit(&q, r);
        }
        self.draining.set(false);
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
        // The live count drops before the table entry goes: whoever finds
        // the process gone (a MONITOR answering `noproc` at once, a DOWN)
        // also finds its count gone, so a SPAWN made then finds room.
        // (Dropping it after the removal let a racing MONITOR deliver DOWN
        // first: `--max-processes 2` spawns failed.)
        self.node.live.fetch_sub(1, Ordering::AcqRel);
        // X1: out of the table and the registry first, so the name is free
        // before anyone hears of the exit.
        self.node.table.remove(pid as u64, |g| {
            // Q2: a stale queue entry keeps the table's count parked.
            let g = match g {
                Garbage::Item(arc) => match p.keep_if_queued(arc) {
                    Some(arc) => Garbage::Item(arc),
                    None => return,
                },
                g => g,
            };
            self.reclaim.borrow_mut().retire(g)
        });
        // From here on, LINK and MONITOR see it gone and answer noproc
        // themselves; before, they were recorded and are notified below.
        let (cold, mailbox) = p.take_for_exit();
        let crate::process::Cold {
            inbox,
            links,
            monitors,
            watchers,
            name,
        } = cold.map(|c| *c).unwrap_or_default();
        drop(inbox);
        drop(mailbox);
        if let Some(name) = name {
            let mut reg = lock(&self.node.registry);
            if reg.get(&name) == Some(&pid) {
                reg.remove(&name);
            }
        }
        // X2: monitors it held.
        for (r, target) in monitors {
            if let Some(t) = self.proc(target) {
                t.with_meta(|m| {
                    if let Some(c) = m.cold.as_mut() {
                        c.watchers.retain(|&(x, _)| x != r);
                    }
                });
            }
        }
        // X3: DOWN to its watchers.
        for (r, watcher) in watchers {
            if let Some(w) = self.proc(watcher) {
                w.with_meta(|m| {
                    if let Some(c) = m.cold.as_mut() {
                        c.monitors.retain(|&(x, _)| x != r);
                    }
                });
            }
            self.node
                .trace(|| format!("down {pid} -> {watcher} (ref {r}): {reason}"));
            self.send(pid, watcher, down_message(r, pid, reason.clone()));
        }
        // X4: exit signals along its links.
        for other in links {
            if let Some(o) = self.proc(other) {
                o.with_meta(|m| {
                    if let Some(c) = m.cold.as_mut() {
                        c.links.retain(|&l| l != pid);
                    }
                });
            }
            self.exit_signal(pid, other, reason.clone(), true);
        }
    }
}
