//! The read side of a connection: the event loop's readable events,
//! frames decoded and handed on as messages, links' and monitors' control
//! messages, and what happens when a connection or a node is lost. Moved
//! out of `mod.rs`.

use super::*;

impl Dist {
    /// The event loop found `conn`'s socket readable (on the worker
    /// holding the poll right, N0): read what it holds without blocking
    /// (edge-triggered: until it would block), and hand each whole
    /// frame's message on (`incoming`: the done list, N2). The end of the
    /// stream, an error or a frame this node refuses ends the connection
    /// (its socket leaves the loop first). Unless `closed` (the event
    /// announced the peer's end or an error), a read that fills less
    /// than its room ends the look: the next arrival brings its own
    /// event.
    pub(super) fn read_ready(&self, conn: &Arc<Conn>, closed: bool) {
        let mut rs = lock(&conn.read);
        let Some(fd) = rs.on.as_ref().map(|(s, _)| s.as_raw_fd()) else {
            return;
        };
        let mut heard = false;
        let end = loop {
            let buf = &mut rs.buf;
            if buf.capacity() - buf.len() < 16 << 10 {
                buf.reserve(64 << 10);
            }
            let room = buf.capacity() - buf.len();
            let r = recv_nonblocking(fd, buf);
            match r {
                Ok(0) => {
                    break Some(if rs.buf.is_empty() {
                        "closed by the peer".to_string()
                    } else {
                        "the connection ended inside a frame".to_string()
                    })
                }
                Ok(n) => {
                    heard = true;
                    if let Err(reason) = self.frames(conn, &mut rs.buf) {
                        break Some(reason);
                    }
                    if n < room && !closed {
                        break None;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break None,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => break Some(crate::net::reason(&e)),
            }
        };
        if heard {
            conn.heard.store(self.now_ms(), Ordering::SeqCst);
        }
        if let Some(reason) = end {
            let on = rs.on.take();
            rs.buf = Vec::new();
            drop(rs);
            if let Some((stream, id)) = on {
                self.net.remove_source(id, fd);
                drop(stream);
            }
            self.down(conn, &reason);
        }
    }

    /// The whole frames at the start of `buf`, handed on; what is left
    /// of `buf` is the start of the next frame. `Err`: the reason to
    /// close the connection.
    pub(super) fn frames(&self, conn: &Conn, buf: &mut Vec<u8>) -> Result<(), String> {
        let mut pos = 0;
        let mut need = 0;
        let res = loop {
            let Some(head) = buf.get(pos..pos + 4) else {
                break Ok(());
            };
            let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
            if len == 0 {
                pos += 4; // a tick
                continue;
            }
            if len > wire::MAX_FRAME {
                break Err(self.malformed(
                    conn,
                    &format!("a frame of {len} bytes (the limit is {})", wire::MAX_FRAME),
                ));
            }
            let Some(frame) = buf.get(pos + 4..pos + 4 + len) else {
                need = 4 + len;
                break Ok(());
            };
            // A panic in the decoder or a conversion (a bug, or input its
            // checks missed) closes this connection only, like a
            // malformed frame.
            let step = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                wire::decode(frame).map(|m| self.incoming(m, &conn.peer))
            }));
            let step = step.unwrap_or_else(|p| {
                let what = p
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| p.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                Err(wire::ReadError::Malformed(format!(
                    "a frame this node could not handle (panic: {what})"
                )))
            });
            match step {
                Ok(()) => pos += 4 + len,
                Err(wire::ReadError::Malformed(e)) => break Err(self.malformed(conn, &e)),
                Err(wire::ReadError::Closed) => break Err("closed by the peer".to_string()),
                Err(wire::ReadError::Io(e)) => break Err(e),
            }
        };
        buf.drain(..pos);
        // Room for the whole of a long frame, read in as it comes.
        if need > buf.capacity() {
            buf.reserve(need - buf.len());
        }
        res
    }

    /// The peer sent what `e` says: one line on stderr; the reason.
    pub(super) fn malformed(&self, conn: &Conn, e: &str) -> String {
        (self.warn)(&format!(
            "ttvm: distribution: closed the connection to node {}: it sent {e}",
            conn.peer
        ));
        format!("malformed frame: {e}")
    }

    /// The connection is gone: forget it, stop its writer.
    pub(super) fn down(&self, conn: &Arc<Conn>, reason: &str) {
        let was_up = conn.up.swap(false, Ordering::SeqCst);
        let current = {
            let mut conns = lock(&self.conns);
            let current = conns.get(&conn.peer).is_some_and(|c| Arc::ptr_eq(c, conn));
            if current {
                conns.remove(&conn.peer);
            }
            current
        };
        conn.close();
        self.release(conn);
        if was_up {
            self.trace(|| format!("connection to {} down: {reason}", conn.peer));
        }
        if current {
            self.node_lost(&conn.peer);
        }
    }

    /// The connection to `node` is gone (or could not be made): every
    /// monitor of a process there gets DOWN `noconnection`, and what that
    /// node's processes watched here is forgotten.
    pub(super) fn node_lost(&self, node: &str) {
        self.spawns_lost(node);
        let lost: Vec<i64> = lock(&self.monitors)
            .iter()
            .filter(|(_, m)| m.target.node.name == node)
            .map(|(r, _)| *r)
            .collect();
        for r in lost {
            self.fire(r, Value::str("noconnection"));
        }
        let mut watched = lock(&self.watched);
        for list in watched.values_mut() {
            list.retain(|(w, _)| w.node.name != node);
        }
        watched.retain(|_, l| !l.is_empty());
        drop(watched);
        let mut broken = Vec::new();
        {
            let mut links = lock(&self.links);
            for (local, list) in links.iter_mut() {
                list.retain(|p| {
                    let here = p.node.name == node;
                    if here {
                        broken.push((*local, p.clone()));
                    }
                    !here
                });
            }
            links.retain(|_, l| !l.is_empty());
        }
        for (local, partner) in broken {
            self.exit_to_local(local, &partner, Value::str("noconnection"), true);
        }
    }

    /// A message from another node.
    pub(super) fn incoming(&self, msg: Message, peer: &str) {
        match msg {
            Message::Send(m) => self.deliver(m.to_pid, m.message, peer),
            Message::SendTt(m) => self.deliver(m.to_pid, m.message, peer),
            Message::SendSender(m) => self.deliver(m.to_pid, m.message, peer),
            Message::SendSenderTt(m) => self.deliver(m.to_pid, m.message, peer),
            Message::RegSend(m) => self.deliver_named(m.to_name.name, m.message, peer),
            Message::RegSendTt(m) => self.deliver_named(m.to_name.name, m.message, peer),
            Message::MonitorPExit(m) => match self.local_ref(&m.reference) {
                Some(r) => self.fire(r, term::reason_from_term(m.reason, self)),
                None => self.trace(|| format!("from {peer}: a DOWN for a reference not ours")),
            },
            Message::MonitorP(m) => {
                let target = match m.to_proc {
                    PidOrAtom::Pid(p) => match term::NodeCtx::as_local(self, &p) {
                        Some(local) => Ok(local),
                        None => Ok(0),
                    },
                    PidOrAtom::Atom(a) => Err(a.name),
                };
                let req = WatchReq {
                    target,
                    watcher: m.from_pid,
                    reference: m.reference,
                };
                self.io.push(Done::Watch(Box::new(req)));
            }
            Message::Link(m) => match term::NodeCtx::as_local(self, &m.to_pid) {
                Some(local) => {
                    let req = LinkReq {
                        local,
                        remote: m.from_pid,
                    };
                    self.io.push(Done::Link(Box::new(req)));
                }
                // Not a process of this run: it is not alive.
                None => {
                    let noproc = Term::from(Atom::from("noproc"));
                    let to = m.from_pid.clone();
                    self.to_node(&to, Message::exit(m.to_pid, m.from_pid, noproc));
                }
            },
            Message::Exit(m) => self.remote_exit(m.from_pid, m.to_pid, m.reason, true),
            Message::ExitTt(m) => self.remote_exit(m.from_pid, m.to_pid, m.reason, true),
            Message::PayloadExit(m) => self.remote_exit(m.from_pid, m.to_pid, m.reason, true),
            Message::PayloadExitTt(m) => self.remote_exit(m.from_pid, m.to_pid, m.reason, true),
            Message::Exit2(m) => self.remote_exit(m.from_pid, m.to_pid, m.reason, false),
            Message::Exit2Tt(m) => self.remote_exit(m.from_pid, m.to_pid, m.reason, false),
            Message::PayloadExit2(m) => self.remote_exit(m.from_pid, m.to_pid, m.reason, false),
            Message::PayloadExit2Tt(m) => self.remote_exit(m.from_pid, m.to_pid, m.reason, false),
            Message::UnlinkId(m) => {
                if let Some(local) = term::NodeCtx::as_local(self, &m.to_pid) {
                    self.unlink_pair(local, &m.from_pid);
                }
                self.to_node(
                    &m.from_pid.clone(),
                    Message::unlink_id_ack(m.id, m.to_pid, m.from_pid),
                );
            }
            Message::Unlink(m) => {
                if let Some(local) = term::NodeCtx::as_local(self, &m.to_pid) {
                    self.unlink_pair(local, &m.from_pid);
                }
            }
            Message::UnlinkIdAck(_) => {}
            Message::SpawnRequest(m) => {
                self.spawn_request(m.req_id, m.from_pid, m.mfa, m.opt_list, m.arg_list, peer)
            }
            Message::SpawnRequestTt(m) => {
                self.spawn_request(m.req_id, m.from_pid, m.mfa, m.opt_list, m.arg_list, peer)
            }
            Message::SpawnReply(m) => self.spawn_reply(&m.req_id, m.flags, m.result, peer),
            Message::SpawnReplyTt(m) => self.spawn_reply(&m.req_id, m.flags, m.result, peer),
            Message::DemonitorP(m) => {
                let mut watched = lock(&self.watched);
                for list in watched.values_mut() {
                    list.retain(|(w, r)| !(*w == m.from_pid && *r == m.reference));
                }
                watched.retain(|_, l| !l.is_empty());
            }
            other => self.trace(|| format!("from {peer}: ignored (not supported yet): {other:?}")),
        }
    }

    /// EXIT (along a link: only if the link is still here, which it
    /// removes) or EXIT2 (`exit/2`) from a process of another node.
    pub(super) fn remote_exit(&self, from: ErlPid, to: ErlPid, reason: Term, link: bool) {
        let Some(local) = term::NodeCtx::as_local(self, &to) else {
            return;
        };
        if link && !self.unlink_pair(local, &from) {
            return; // unlinked meanwhile, or never linked
        }
        let reason = term::reason_from_term(reason, self);
        self.exit_to_local(local, &from, reason, link);
    }

    pub(super) fn deliver(&self, to: ErlPid, t: Term, peer: &str) {
        let Some(pid) = term::NodeCtx::as_local(self, &to) else {
            self.trace(|| {
                format!("from {peer}: message to {to}, not a process of this node, dropped")
            });
            return;
        };
        if let Some(v) = self.value_of(t, peer) {
            self.push_done(Done::Remote(pid, v));
        }
    }

    pub(super) fn deliver_named(&self, name: String, t: Term, peer: &str) {
        if let Some(v) = self.value_of(t, peer) {
            self.push_done(Done::Named(Arc::from(name.as_str()), v));
        }
    }

    /// A message from another node to the done list: without waking
    /// another worker when the worker reading the connection delivers it
    /// itself next (`IoShared::push_local`).
    pub(super) fn push_done(&self, item: Done) {
        if READING.with(Cell::get) {
            self.io.push_local(item);
        } else {
            self.io.push(item);
        }
    }

    pub(super) fn value_of(&self, t: Term, peer: &str) -> Option<Value> {
        match term_to_value(t, self) {
            Ok(v) => Some(v),
            Err(e) => {
                (self.warn)(&format!(
                    "ttvm: distribution: a message from node {peer} was dropped: {e}"
                ));
                None
            }
        }
    }
}

/// Read into `buf`'s spare room without blocking (`MSG_DONTWAIT`: the
/// socket stays blocking for its writer thread); the bytes read.
pub(super) fn recv_nonblocking(fd: RawFd, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    let spare = buf.spare_capacity_mut();
    // SAFETY: `fd` is open (its stream is held by the caller's read side);
    // the pointer and length are those of `buf`'s spare capacity, which
    // recv writes at most `spare.len()` bytes into.
    let r = unsafe {
        libc::recv(
            fd,
            spare.as_mut_ptr().cast(),
            spare.len(),
            libc::MSG_DONTWAIT,
        )
    };
    if r < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let n = r as usize;
    // SAFETY: recv initialised the first `n` bytes of the spare room.
    unsafe { buf.set_len(buf.len() + n) };
    Ok(n)
}
