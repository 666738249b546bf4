//! Spawning a process on another node (issue 17, item 4) with the BEAM's
//! own control messages: SPAWN_REQUEST and SPAWN_REPLY (distribution flag
//! DFLAG_SPAWN, OTP 23), so a ttvm node spawns on a ttvm node or on an
//! Erlang node, and `erlang:spawn(TtvmNode, M, F, A)` works from Erlang.
//!
//! **Outgoing.** The spawning process waits like a blocking I/O operation
//! ([`crate::Sched::start_wait`]): the request goes out with a reference
//! made of a local reference number (as a monitor's), and the reader
//! thread that reads the reply hands the result to the worker through the
//! done list ([`Done::Spawned`]). A spawn-and-link asks the other node for
//! the link (the `link` option), and the link is recorded here when the
//! reply says it was made, by the reader thread, before it reads the next
//! frame: an exit signal of the new process (sent after the reply, on the
//! same connection) finds it. A lost connection, or a node that cannot be
//! reached, ends the wait with `noconnection`.
//!
//! **Incoming.** The reader converts the arguments, and a worker asks the
//! node's spawner (`node/spawn.rs`: the program resolves the module and
//! function) for the process. Its links and monitor are recorded and its
//! reply queued before it can run, so the reply goes out before anything
//! the process sends or its exit signal. A refusal is a SPAWN_REPLY with an
//! error atom (`undef`, `badarg`, `system_limit`, `notsup`), as the BEAM
//! answers, plus one line on this node's stderr saying why.

use super::{term, Dist};
use crate::io::{Done, Waiter};
use crate::process::Pid;
use crate::sync::lock;
use crate::value::Value;
use erl_dist::message::Message;
use erl_dist::term::{Atom, FixInteger, List, Mfa, Pid as ErlPid, PidOrAtom, Reference, Term};
use std::sync::Arc;

/// SPAWN_REPLY's flags: the link (and the monitor) asked for were made.
const FLAG_LINK: i32 = 1;
const FLAG_MONITOR: i32 = 2;

/// What a SPAWN on another node gives its process: the new process's PID
/// (a `Pid` value), or the error it raises.
pub type SpawnResult = Result<Value, String>;

/// A spawn a process of another node asked for (SPAWN_REQUEST).
pub struct SpawnReq {
    req_id: Reference,
    from: ErlPid,
    pub(crate) module: String,
    pub(crate) function: String,
    pub(crate) args: Vec<Value>,
    arity: usize,
    link: bool,
    monitor: bool,
}

impl SpawnReq {
    fn what(&self) -> String {
        format!("{}:{}/{}", self.module, self.function, self.arity)
    }
}

/// A spawn of ours waiting for its reply.
pub(crate) struct Pending {
    waiter: Waiter,
    node: String,
    /// `module:function/arity`, for messages.
    what: String,
}

/// The reply came (or the wait ended): the worker gives the process its
/// result ([`crate::Sched`], `node/spawn.rs`).
pub struct Replied {
    pub(crate) waiter: Waiter,
    pub(crate) result: SpawnResult,
    /// The new process, when it is linked to the waiter.
    pub(crate) linked: Option<ErlPid>,
}

impl Dist {
    /// SPAWN of `module:function(args)` on `node` by local `me` (linked to
    /// it when `link`). `r` is a fresh local reference number; `args` a
    /// list term. `waiter` gets the new PID, or the error — always, so
    /// this never fails itself.
    #[allow(clippy::too_many_arguments)]
    pub fn spawn(
        self: &Arc<Self>,
        me: Pid,
        node: &str,
        module: &str,
        function: &str,
        args: Term,
        link: bool,
        r: i64,
        waiter: Waiter,
    ) {
        let args = match args {
            Term::List(l) => l,
            Term::ByteList(b) => List::from(b),
            other => List::from(vec![other]),
        };
        let what = format!("{module}:{function}/{}", args.elements.len());
        self.trace(|| format!("spawn {what} on {node} by {me} (ref {r})"));
        lock(&self.spawns).insert(
            r,
            Pending {
                waiter,
                node: node.to_string(),
                what,
            },
        );
        let my = match term::NodeCtx::local_pid(&**self, me) {
            Ok(p) => p,
            Err(e) => return self.spawn_ended(r, format!("SPAWN on node {node}: {e}")),
        };
        let conn = match self.conn(node) {
            Ok(Some(c)) => c,
            Ok(None) => return self.spawn_ended(r, unreachable(node)),
            Err(e) => return self.spawn_ended(r, format!("SPAWN on node {node}: {e}")),
        };
        let opts: Vec<Term> = if link {
            vec![Term::from(Atom::from("link"))]
        } else {
            Vec::new()
        };
        let mfa = Mfa {
            module: Atom::from(module),
            function: Atom::from(function),
            arity: FixInteger::from(args.elements.len() as i32),
        };
        // The group leader must be a PID: the spawning process's (a ttvm
        // process has none; docs/DISTRIBUTION.md says what that means).
        let msg =
            Message::spawn_request(self.erl_ref(r), my.clone(), my, mfa, List::from(opts), args);
        self.enqueue(&conn, msg);
        // Lost or failed before the request was recorded: the scan of
        // `spawns_lost` may have missed it.
        let current = lock(&self.conns)
            .get(node)
            .is_some_and(|c| Arc::ptr_eq(c, &conn));
        if !current || lock(&conn.failed).is_some() {
            self.spawn_ended(r, unreachable(node));
        }
    }

    /// End the wait of spawn `r` (if it still waits) with an error.
    fn spawn_ended(&self, r: i64, error: String) {
        let Some(p) = lock(&self.spawns).remove(&r) else {
            return;
        };
        self.trace(|| format!("spawn {} on {} (ref {r}): {error}", p.what, p.node));
        self.io.push(Done::Spawned(Box::new(Replied {
            waiter: p.waiter,
            result: Err(error),
            linked: None,
        })));
    }

    /// The connection to `node` is gone, or could not be made: every spawn
    /// waiting for that node's reply ends with `noconnection`.
    pub(super) fn spawns_lost(&self, node: &str) {
        let lost: Vec<i64> = lock(&self.spawns)
            .iter()
            .filter(|(_, p)| p.node == node)
            .map(|(r, _)| *r)
            .collect();
        for r in lost {
            self.spawn_ended(r, unreachable(node));
        }
    }

    /// SPAWN_REPLY from another node (on its reader thread).
    pub(super) fn spawn_reply(
        &self,
        req_id: &Reference,
        flags: FixInteger,
        result: PidOrAtom,
        peer: &str,
    ) {
        let pending = self
            .local_ref(req_id)
            .and_then(|r| lock(&self.spawns).remove(&r));
        let Some(p) = pending else {
            self.trace(|| format!("from {peer}: a spawn reply for no spawn of ours"));
            return;
        };
        let (result, linked) = match result {
            PidOrAtom::Pid(child) => {
                let linked = (flags.value & FLAG_LINK != 0).then(|| {
                    lock(&self.links)
                        .entry(p.waiter.pid)
                        .or_default()
                        .push(child.clone());
                    child.clone()
                });
                self.trace(|| format!("spawned {} on {peer}: {child}", p.what));
                (Ok(term::RemotePid::from_term(&child).value()), linked)
            }
            PidOrAtom::Atom(a) => (
                Err(format!(
                    "SPAWN on node {}: the node refused to spawn {}: {}{}",
                    p.node,
                    p.what,
                    a.name,
                    refusal_hint(&a.name)
                )),
                None,
            ),
        };
        self.io.push(Done::Spawned(Box::new(Replied {
            waiter: p.waiter,
            result,
            linked,
        })));
    }

    /// The process that spawned `child` (linked) ended before it got the
    /// reply: if its end did not tell `child` (the link was recorded
    /// after), tell it now.
    pub(crate) fn spawn_orphaned(&self, waiter: Pid, child: &ErlPid) {
        if !self.unlink_pair(waiter, child) {
            return;
        }
        if let Ok(me) = term::NodeCtx::local_pid(self, waiter) {
            let noproc = Term::from(Atom::from("noproc"));
            self.to_node(child, Message::exit(me, child.clone(), noproc));
        }
    }

    /// SPAWN_REQUEST from another node (on its reader thread): check it and
    /// hand it to a worker.
    pub(super) fn spawn_request(
        &self,
        req_id: Reference,
        from: ErlPid,
        mfa: Mfa,
        opts: List,
        args: List,
        peer: &str,
    ) {
        let (mut link, mut monitor) = (false, false);
        for o in &opts.elements {
            match o {
                Term::Atom(a) if a.name == "link" => link = true,
                Term::Atom(a) if a.name == "monitor" => monitor = true,
                // {monitor, Options} (OTP 24).
                Term::Tuple(t) if matches!(t.elements.first(), Some(Term::Atom(a)) if a.name == "monitor") => {
                    monitor = true
                }
                // Other options (priority, heap sizes, …) have no meaning
                // here; the requesting node checked them.
                _ => {}
            }
        }
        let args = match term::from_term(Term::List(args), self) {
            Ok(Value::List(l)) => l.into_vec(),
            Ok(other) => vec![other],
            Err(e) => {
                let req = SpawnReq {
                    req_id,
                    from,
                    module: mfa.module.name,
                    function: mfa.function.name,
                    args: Vec::new(),
                    arity: mfa.arity.value.max(0) as usize,
                    link,
                    monitor,
                };
                let why = format!("its arguments have no ttvm value: {e}");
                return self.spawn_refused(&req, "badarg", &why);
            }
        };
        self.trace(|| {
            format!(
                "from {peer}: spawn {}:{}/{} for {from}",
                mfa.module.name,
                mfa.function.name,
                args.len()
            )
        });
        self.io.push(Done::Spawn(Box::new(SpawnReq {
            req_id,
            from,
            module: mfa.module.name,
            function: mfa.function.name,
            arity: args.len(),
            args,
            link,
            monitor,
        })));
    }

    /// A worker made the process `pid` that `req` asked for; it has not run
    /// yet. Record its link and monitor, and queue the reply before
    /// anything the process can send.
    pub(crate) fn spawn_accepted(&self, req: &SpawnReq, pid: Pid) {
        let Ok(me) = term::NodeCtx::local_pid(self, pid) else {
            return;
        };
        let conn = lock(&self.conns).get(&req.from.node.name).cloned();
        let Some(conn) = conn else {
            // The requesting node is gone already: what it linked is
            // broken (its processes had `noconnection`).
            if req.link {
                let from = term::RemotePid::from_term(&req.from).value();
                self.io
                    .push(Done::Exit(pid, from, Value::str("noconnection"), true));
            }
            return;
        };
        let mut flags = 0;
        if req.link {
            lock(&self.links)
                .entry(pid)
                .or_default()
                .push(req.from.clone());
            flags |= FLAG_LINK;
        }
        if req.monitor {
            lock(&self.watched)
                .entry(pid)
                .or_default()
                .push((req.from.clone(), req.req_id.clone()));
            flags |= FLAG_MONITOR;
        }
        self.trace(|| format!("spawned {} as {pid} for {}", req.what(), req.from));
        let reply = Message::spawn_reply(
            req.req_id.clone(),
            req.from.clone(),
            FixInteger::from(flags),
            PidOrAtom::Pid(me),
        );
        self.enqueue(&conn, reply);
    }

    /// The spawn `req` asked for is refused: the BEAM's error atom to the
    /// requester, and why on this node's stderr.
    pub(crate) fn spawn_refused(&self, req: &SpawnReq, reason: &str, why: &str) {
        (self.warn)(&format!(
            "ttvm: distribution: refused to spawn {} for {} (node {}): {why}",
            req.what(),
            term::RemotePid::from_term(&req.from).value(),
            req.from.node.name
        ));
        let reply = Message::spawn_reply(
            req.req_id.clone(),
            req.from.clone(),
            FixInteger::from(0),
            PidOrAtom::Atom(Atom::from(reason)),
        );
        self.to_node(&req.from, reply);
    }
}

fn unreachable(node: &str) -> String {
    format!("SPAWN on node {node}: the node cannot be reached (noconnection)")
}

/// What the BEAM's error atoms mean for a SPAWN (the refusing node says
/// more on its stderr when it is a ttvm node).
fn refusal_hint(atom: &str) -> &'static str {
    match atom {
        "undef" => " (no such function there: a ttvm node spawns only a Function its program EXPORTs; that node's stderr says why)",
        "badarg" => " (arguments it cannot take)",
        "system_limit" => " (it has too many processes)",
        "notsup" => " (it does not spawn for other nodes)",
        _ => "",
    }
}

/// A SPAWN_REQUEST whose argument list Erlang wrote in its string form
/// (`[1, 2]` as bytes): `erl_dist` reads only a proper list there (and
/// `eetf` writes such a list in the string form again), so the message is
/// made from its parts here. `None`: not such a frame.
pub(crate) fn with_args_as_list(rest: &[u8]) -> Option<Message> {
    let mut r = rest;
    let Ok(Term::Tuple(ctrl)) = Term::decode(&mut r) else {
        return None;
    };
    let Ok(Term::ByteList(args)) = Term::decode(&mut r) else {
        return None;
    };
    if !r.is_empty() {
        return None;
    }
    let mut parts = ctrl.elements.into_iter();
    let op = match parts.next()? {
        Term::FixInteger(i) => i.value,
        _ => return None,
    };
    let arity = match op {
        29 => 6,
        30 => 7,
        _ => return None,
    };
    if parts.len() != arity - 1 {
        return None;
    }
    let req_id: Reference = parts.next()?.try_into().ok()?;
    let from_pid: ErlPid = parts.next()?.try_into().ok()?;
    let group_leader: ErlPid = parts.next()?.try_into().ok()?;
    let Term::Tuple(mfa) = parts.next()? else {
        return None;
    };
    let [module, function, arity] = <[Term; 3]>::try_from(mfa.elements).ok()?;
    let mfa = Mfa {
        module: module.try_into().ok()?,
        function: function.try_into().ok()?,
        arity: arity.try_into().ok()?,
    };
    let opt_list: List = parts.next()?.try_into().ok()?;
    let arg_list = List::from(args);
    Some(match parts.next() {
        None => Message::spawn_request(req_id, from_pid, group_leader, mfa, opt_list, arg_list),
        Some(token) => Message::spawn_request_tt(
            req_id,
            from_pid,
            group_leader,
            mfa,
            opt_list,
            arg_list,
            token,
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::wire;

    /// `erlang:spawn(N, m, f, [1, 2])` writes the arguments in the string
    /// form, which `erl_dist` alone refuses: the frame is read anyway.
    #[test]
    fn a_spawn_request_with_byte_arguments_is_read() {
        let from = ErlPid::new("e@h", 90, 0, 1);
        let req = Reference {
            node: Atom::from("e@h"),
            id: vec![1, 2, 3],
            creation: 1,
        };
        let mfa = Term::from(erl_dist::term::Tuple::from(vec![
            Term::from(Atom::from("m")),
            Term::from(Atom::from("f")),
            Term::from(FixInteger::from(2)),
        ]));
        let ctrl = Term::from(erl_dist::term::Tuple::from(vec![
            Term::from(FixInteger::from(29)),
            Term::from(req.clone()),
            Term::from(from.clone()),
            Term::from(from.clone()),
            mfa,
            Term::from(List::from(vec![Term::from(Atom::from("monitor"))])),
        ]));
        let mut frame = vec![wire::PASS_THROUGH];
        ctrl.encode(&mut frame).unwrap();
        Term::from(eetf::ByteList::from(vec![1u8, 2]))
            .encode(&mut frame)
            .unwrap();
        match wire::decode(&frame).expect("read") {
            Message::SpawnRequest(m) => {
                assert_eq!(m.req_id, req);
                assert_eq!(m.mfa.function.name, "f");
                assert_eq!(
                    m.arg_list.elements,
                    vec![
                        Term::from(FixInteger::from(1)),
                        Term::from(FixInteger::from(2))
                    ]
                );
            }
            other => panic!("{other:?}"),
        }
    }
}
