//! Links, monitors and exit signals across nodes: references in the
//! BEAM's form, `MONITOR`/`DEMONITOR`, `LINK`/`UNLINK`, `EXIT_PROCESS`
//! to a remote PID, and what a local process's exit sends to the other
//! nodes (docs/DISTRIBUTION.md, "Exit reasons"). Moved out of
//! `mod.rs`, which keeps the connections.

use super::*;

impl Dist {
    /// The Erlang reference of local reference `r`.
    pub(super) fn erl_ref(&self, r: i64) -> Reference {
        Reference {
            node: Atom::from(self.name.as_str()),
            id: vec![r as u64 as u32, ((r as u64) >> 32) as u32, 0],
            creation: self.creation_(),
        }
    }

    pub(super) fn creation_(&self) -> u32 {
        self.local.creation.get()
    }

    /// The local reference an Erlang reference of ours stands for.
    pub(super) fn local_ref(&self, r: &Reference) -> Option<i64> {
        (r.node.name == self.name && r.creation == self.creation_() && r.id.len() >= 2)
            .then(|| (u64::from(r.id[1]) << 32 | u64::from(r.id[0])) as i64)
    }

    /// Deliver monitor `r`'s DOWN, if nobody did yet.
    pub(super) fn fire(&self, r: i64, reason: Value) {
        let Some(m) = lock(&self.monitors).remove(&r) else {
            return;
        };
        let target = term::RemotePid::from_term(&m.target).value();
        self.trace(|| format!("down {} -> {} (ref {r}): {reason}", m.target, m.watcher));
        let msg = Value::list(vec![Value::str("DOWN"), Value::Int(r), target, reason]);
        self.io.push(Done::Remote(m.watcher, msg));
    }

    /// MONITOR of a process of another node, as reference `r`: DOWN comes
    /// with its exit reason, `noproc` when it did not exist, or
    /// `noconnection` when its node cannot be reached or the connection
    /// is lost first.
    pub fn monitor(
        self: &Arc<Self>,
        watcher: Pid,
        target: ErlPid,
        r: i64,
    ) -> Result<(), SendError> {
        let node = target.node.name.clone();
        self.trace(|| format!("monitor {watcher} -> {target} (ref {r})"));
        let me = term::NodeCtx::local_pid(&**self, watcher).map_err(|e| e.to_string())?;
        let ours = node == self.name;
        lock(&self.monitors).insert(
            r,
            RemoteMon {
                watcher,
                target: target.clone(),
            },
        );
        if ours {
            // A PID of an earlier run of this node: nobody has it.
            self.fire(r, Value::str("noproc"));
            return Ok(());
        }
        match self.conn(&node)? {
            Some(conn) => {
                self.enqueue(
                    &conn,
                    Message::monitor_p(me, PidOrAtom::Pid(target), self.erl_ref(r)),
                );
                // Lost or failed before the monitor was recorded: the scan
                // of `node_lost` may have missed it.
                let current = lock(&self.conns)
                    .get(&node)
                    .is_some_and(|c| Arc::ptr_eq(c, &conn));
                if !current || lock(&conn.failed).is_some() {
                    self.fire(r, Value::str("noconnection"));
                }
            }
            None => self.fire(r, Value::str("noconnection")),
        }
        Ok(())
    }

    /// DEMONITOR of `r` by `watcher`, when `r` is a monitor of a process of
    /// another node (else false: a local one). No DOWN of it is delivered
    /// after this (one already delivered stays in the mailbox).
    pub fn demonitor(&self, watcher: Pid, r: i64) -> bool {
        let m = {
            let mut monitors = lock(&self.monitors);
            match monitors.get(&r) {
                Some(m) if m.watcher == watcher => monitors.remove(&r),
                _ => None,
            }
        };
        let Some(m) = m else {
            return false;
        };
        let conn = lock(&self.conns).get(&m.target.node.name).cloned();
        if let (Some(conn), Ok(me)) = (conn, term::NodeCtx::local_pid(self, watcher)) {
            let msg = Message::demonitor_p(me, PidOrAtom::Pid(m.target), self.erl_ref(r));
            self.enqueue(&conn, msg);
        }
        true
    }

    /// A MONITOR_P from another node, on a worker: record it, then — if
    /// the target is not alive (`alive` asks the process table) — answer
    /// `noproc` at once. Recording first closes the race with the target's
    /// exit ([`Dist::local_exit`]): whoever takes the entry answers.
    pub(crate) fn watch(&self, pid: Pid, req: WatchReq, alive: impl Fn(Pid) -> bool) {
        let reference = req.reference.clone();
        lock(&self.watched)
            .entry(pid)
            .or_default()
            .push((req.watcher.clone(), req.reference));
        if pid > 0 && alive(pid) {
            return;
        }
        let taken = {
            let mut watched = lock(&self.watched);
            let taken = watched.get_mut(&pid).and_then(|l| {
                let i = l.iter().position(|(_, r)| *r == reference)?;
                Some(l.remove(i))
            });
            if watched.get(&pid).is_some_and(|l| l.is_empty()) {
                watched.remove(&pid);
            }
            taken
        };
        if let Some((watcher, reference)) = taken {
            let from = match &req.target {
                Ok(p) => self.proc_of(*p),
                Err(name) => PidOrAtom::Atom(Atom::from(name.as_str())),
            };
            self.exit_to_watcher(from, watcher, reference, Term::from(Atom::from("noproc")));
        }
    }

    pub(super) fn proc_of(&self, pid: Pid) -> PidOrAtom {
        match term::NodeCtx::local_pid(self, pid) {
            Ok(p) => PidOrAtom::Pid(p),
            Err(_) => PidOrAtom::Atom(Atom::from("undefined")),
        }
    }

    pub(super) fn exit_to_watcher(
        &self,
        from: PidOrAtom,
        watcher: ErlPid,
        reference: Reference,
        reason: Term,
    ) {
        let node = watcher.node.name.clone();
        let conn = lock(&self.conns).get(&node).cloned();
        if let Some(conn) = conn {
            self.enqueue(
                &conn,
                Message::monitor_p_exit(from, watcher, reference, reason),
            );
        }
    }

    /// A local process ended (X1 done): the processes of other nodes that
    /// monitor it get its reason, and those linked to it an exit signal.
    pub(crate) fn local_exit(&self, pid: Pid, reason: &Value) {
        let watchers = lock(&self.watched).remove(&pid);
        let partners = lock(&self.links).remove(&pid);
        if watchers.is_none() && partners.is_none() {
            return;
        }
        let reason = term::reason_to_term(reason, self);
        for (watcher, reference) in watchers.unwrap_or_default() {
            self.exit_to_watcher(self.proc_of(pid), watcher, reference, reason.clone());
        }
        let Ok(me) = term::NodeCtx::local_pid(self, pid) else {
            return;
        };
        for partner in partners.unwrap_or_default() {
            self.to_node(
                &partner,
                Message::exit(me.clone(), partner.clone(), reason.clone()),
            );
        }
    }

    /// Queue `m` on the connection to `to`'s node, if there is one (a
    /// signal to a node not connected is moot: its processes already had
    /// `noconnection`).
    pub(super) fn to_node(&self, to: &ErlPid, m: Message) {
        let conn = lock(&self.conns).get(&to.node.name).cloned();
        if let Some(conn) = conn {
            self.enqueue(&conn, m);
        }
    }

    /// Remove the link `local` — `remote`; whether it was there.
    pub(super) fn unlink_pair(&self, local: Pid, remote: &ErlPid) -> bool {
        let mut links = lock(&self.links);
        let Some(list) = links.get_mut(&local) else {
            return false;
        };
        let Some(i) = list.iter().position(|p| p == remote) else {
            return false;
        };
        list.remove(i);
        if list.is_empty() {
            links.remove(&local);
        }
        true
    }

    /// An exit signal to local `to` from `from` (on a worker, through the
    /// done list).
    pub(super) fn exit_to_local(&self, to: Pid, from: &ErlPid, reason: Value, link: bool) {
        let from = term::RemotePid::from_term(from).value();
        self.io.push(Done::Exit(to, from, reason, link));
    }

    /// LINK of local `me` to a process of another node. Its node
    /// unreachable or lost first: the link's exit signal `noconnection`.
    pub fn link(self: &Arc<Self>, me: Pid, other: ErlPid) -> Result<(), SendError> {
        let node = other.node.name.clone();
        self.trace(|| format!("link {me} <-> {other}"));
        let my = term::NodeCtx::local_pid(&**self, me).map_err(|e| e.to_string())?;
        {
            let mut links = lock(&self.links);
            let list = links.entry(me).or_default();
            if list.contains(&other) {
                return Ok(());
            }
            list.push(other.clone());
        }
        if node == self.name {
            // A PID of an earlier run of this node.
            if self.unlink_pair(me, &other) {
                self.exit_to_local(me, &other, Value::str("noproc"), true);
            }
            return Ok(());
        }
        let conn = self.conn(&node)?;
        let reachable = match &conn {
            Some(conn) => {
                self.enqueue(conn, Message::link(my, other.clone()));
                lock(&self.conns)
                    .get(&node)
                    .is_some_and(|c| Arc::ptr_eq(c, conn))
                    && lock(&conn.failed).is_none()
            }
            None => false,
        };
        if !reachable && self.unlink_pair(me, &other) {
            self.exit_to_local(me, &other, Value::str("noconnection"), true);
        }
        Ok(())
    }

    /// UNLINK of local `me` and a process of another node (UNLINK_ID).
    pub fn unlink(&self, me: Pid, other: &ErlPid) {
        if !self.unlink_pair(me, other) {
            return;
        }
        if let Ok(my) = term::NodeCtx::local_pid(self, me) {
            let id = Term::from(erl_dist::term::FixInteger::from(1));
            self.to_node(other, Message::unlink_id(id, my, other.clone()));
        }
    }

    /// EXIT_PROCESS from local `me` to a process of another node (EXIT2).
    pub fn exit_process(
        self: &Arc<Self>,
        me: Pid,
        to: ErlPid,
        reason: &Value,
    ) -> Result<(), SendError> {
        let my = term::NodeCtx::local_pid(&**self, me).map_err(|e| e.to_string())?;
        let node = to.node.name.clone();
        if let Some(conn) = self.conn(&node)? {
            let reason = term::reason_to_term(reason, &**self);
            self.enqueue(&conn, Message::exit2(my, to, reason));
        }
        Ok(())
    }

    /// A LINK from another node, on a worker: record it, then — if the
    /// target is not alive — answer `noproc` along it at once (whoever
    /// removes the pair answers, as for monitors).
    pub(crate) fn linked(&self, req: LinkReq, alive: impl Fn(Pid) -> bool) {
        {
            let mut links = lock(&self.links);
            let list = links.entry(req.local).or_default();
            if !list.contains(&req.remote) {
                list.push(req.remote.clone());
            }
        }
        if req.local > 0 && alive(req.local) {
            return;
        }
        if self.unlink_pair(req.local, &req.remote) {
            let me = term::NodeCtx::local_pid(self, req.local.max(0));
            if let Ok(me) = me {
                let noproc = Term::from(Atom::from("noproc"));
                let to = req.remote.clone();
                self.to_node(&to, Message::exit(me, req.remote, noproc));
            }
        }
    }
}
