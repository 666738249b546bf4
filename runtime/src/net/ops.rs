//! A socket's process side: the operations a worker runs for its process
//! (accept, recv, send, options, close), completing at once or leaving a waiter.

use super::*;

impl Socket {
    pub(super) fn handle(self: &Arc<Socket>) -> Value {
        Value::Handle(Arc::new(Handle {
            id: self.id,
            resource: self.clone(),
        }))
    }

    /// The socket of a handle value, if it is one.
    pub fn of(v: &Value) -> Option<Arc<Socket>> {
        match v {
            Value::Handle(h) => h.downcast::<Socket>()?.me.upgrade(),
            _ => None,
        }
    }

    /// The handle for a message made under the socket's lock: the cached
    /// one while the socket is open (see `St::handle`).
    pub(super) fn handle_in(self: &Arc<Socket>, st: &mut St) -> Value {
        if st.closed {
            return self.handle();
        }
        st.handle.get_or_insert_with(|| self.handle()).clone()
    }

    /// The value that names this socket.
    pub fn value(self: &Arc<Socket>) -> Value {
        self.handle()
    }

    /// How the socket prints: `#Socket<7 tcp 127.0.0.1:4000>`.
    pub fn shown(&self) -> String {
        let mut d = String::new();
        let _ = self.describe(&mut d);
        format!("#Socket<{} {d}>", self.id)
    }

    pub fn owner(&self) -> Pid {
        self.owner.load(Ordering::SeqCst)
    }

    /// Ownership moves to `pid` (under that process's lock, after it was
    /// added to its set: `Sched::give_socket`).
    pub(crate) fn set_owner(&self, pid: Pid) {
        self.owner.store(pid, Ordering::SeqCst);
    }

    pub fn is_closed(&self) -> bool {
        lock(&self.st).closed
    }

    /// CLOSE (or its owner ended): no more operations; unsent bytes are
    /// still written out (in the background), then the descriptor goes.
    pub fn close_now(&self) {
        let mut st = lock(&self.st);
        if st.closed {
            return;
        }
        st.closed = true;
        st.handle = None;
        if self.kind == Kind::Stream
            && !st.wbuf.is_empty()
            && st.error.is_none()
            && !matches!(st.io, Io::None)
        {
            // Writable events finish the writing, then shut it (pump_write).
            for w in [st.reader.take(), st.writer.take()].into_iter().flatten() {
                let msg = self.closed_msg("TCP_RECV");
                self.complete(&mut st, w, NetDone::new(Err(NetError::Failed(msg))));
            }
            self.rearm(&mut st);
            return;
        }
        self.shut(&mut st);
    }

    /// Register a waiter for `op` and run `pump` at once (N1): finished
    /// now, or the process waits (at most `timeout`).
    pub(super) fn wait_for(
        self: &Arc<Socket>,
        op: Op,
        pid: Pid,
        timeout: Option<Duration>,
        park: &mut dyn FnMut() -> (u64, Ticket),
    ) -> Step {
        let mut st = lock(&self.st);
        self.wait_locked(&mut st, op, pid, timeout, park)
    }

    pub(super) fn wait_locked(
        self: &Arc<Socket>,
        st: &mut St,
        op: Op,
        pid: Pid,
        timeout: Option<Duration>,
        park: &mut dyn FnMut() -> (u64, Ticket),
    ) -> Step {
        let writer = matches!(op, Op::Send(_));
        {
            let slot = if writer { &st.writer } else { &st.reader };
            if let Some(w) = slot {
                if w.ticket.as_ref().is_some_and(|t| t.load(Ordering::SeqCst)) {
                    let what = if writer { "sending" } else { "receiving" };
                    return Step::Ready(NetDone::new(Err(NetError::Failed(format!(
                        "{} is already {what} on {} (one process at a time)",
                        process_name(w.pid),
                        self.shown()
                    )))));
                }
            }
        }
        let seq = self.net.next_seq.fetch_add(1, Ordering::Relaxed);
        let w = Waiter {
            pid,
            sync: true,
            token: 0,
            ticket: None,
            seq,
            op,
        };
        if writer {
            st.writer = Some(w);
        } else {
            st.reader = Some(w);
        }
        self.pump(st);
        if let Some(done) = st.sync_result.take() {
            return Step::Ready(done);
        }
        if timeout == Some(Duration::ZERO) {
            let w = if writer {
                st.writer.take()
            } else {
                st.reader.take()
            };
            let connect = w.as_ref().is_some_and(|w| matches!(w.op, Op::Connect));
            if connect {
                self.shut(st);
            }
            return Step::Ready(NetDone::new(Err(NetError::Timeout)));
        }
        // N1: the waiter becomes asynchronous, still under the lock.
        let (token, ticket) = park();
        let slot = if writer {
            &mut st.writer
        } else {
            &mut st.reader
        };
        let w = slot.as_mut().expect("still waiting");
        w.sync = false;
        w.token = token;
        w.ticket = Some(ticket.clone());
        if let Some(t) = timeout {
            let at = Instant::now() + t;
            let mut d = lock(&self.net.deadlines);
            let earliest = d.peek().is_none_or(|Reverse((first, _, _))| at < *first);
            d.push(Reverse((at, self.id, seq)));
            drop(d);
            if earliest {
                let _ = self.net.waker.wake();
            }
        }
        Step::Wait { token, ticket }
    }

    pub(super) fn check_kind(&self, want: Kind, op: &str) -> Result<(), String> {
        if self.kind == want {
            return Ok(());
        }
        let what = match want {
            Kind::Listener => "a listening TCP socket (TCP_LISTEN)",
            Kind::Stream => "a TCP connection (TCP_CONNECT, TCP_ACCEPT)",
            Kind::Udp => "a UDP socket (UDP_OPEN)",
        };
        Err(format!("{op}: {} is not {what}", self.shown()))
    }

    pub(super) fn fail(msg: String) -> Step {
        Step::Ready(NetDone::new(Err(NetError::Failed(msg))))
    }

    /// TCP_ACCEPT.
    pub fn accept(
        self: &Arc<Socket>,
        pid: Pid,
        timeout: Option<Duration>,
        park: &mut dyn FnMut() -> (u64, Ticket),
    ) -> Step {
        if let Err(e) = self.check_kind(Kind::Listener, "TCP_ACCEPT") {
            return Self::fail(e);
        }
        let mut st = lock(&self.st);
        if st.closed {
            return Self::fail(self.closed_msg("TCP_ACCEPT"));
        }
        self.wait_locked(&mut st, Op::Accept, pid, timeout, park)
    }

    /// A passive receive's checks (the socket's kind, open, not in active
    /// mode): the socket's state, locked, for the wait.
    pub(super) fn passive(
        &self,
        want: Kind,
        op: &str,
    ) -> Result<std::sync::MutexGuard<'_, St>, String> {
        self.check_kind(want, op)?;
        let st = lock(&self.st);
        if st.closed {
            return Err(self.closed_msg(op));
        }
        if st.opts.active != Active::Off {
            return Err(format!(
                "{op}: {} is in active mode (its data comes as messages); SOCKET_SETOPTS {{active: false}} first",
                self.shown()
            ));
        }
        Ok(st)
    }

    /// TCP_RECV: a packet (raw: up to `max` bytes), null at the end.
    pub fn recv(
        self: &Arc<Socket>,
        max: usize,
        pid: Pid,
        timeout: Option<Duration>,
        park: &mut dyn FnMut() -> (u64, Ticket),
    ) -> Step {
        let mut st = match self.passive(Kind::Stream, "TCP_RECV") {
            Ok(st) => st,
            Err(e) => return Self::fail(e),
        };
        self.wait_locked(&mut st, Op::Recv { max }, pid, timeout, park)
    }

    /// UDP_RECV: `[host, port, data]`.
    pub fn recv_from(
        self: &Arc<Socket>,
        pid: Pid,
        timeout: Option<Duration>,
        park: &mut dyn FnMut() -> (u64, Ticket),
    ) -> Step {
        let mut st = match self.passive(Kind::Udp, "UDP_RECV") {
            Ok(st) => st,
            Err(e) => return Self::fail(e),
        };
        self.wait_locked(&mut st, Op::RecvFrom, pid, timeout, park)
    }

    /// TCP_SEND: into the send buffer; waits while the buffer is full.
    pub fn send(
        self: &Arc<Socket>,
        data: &[u8],
        pid: Pid,
        park: &mut dyn FnMut() -> (u64, Ticket),
    ) -> Step {
        if let Err(e) = self.check_kind(Kind::Stream, "TCP_SEND") {
            return Self::fail(e);
        }
        let mut st = lock(&self.st);
        if st.closed {
            return Self::fail(self.closed_msg("TCP_SEND"));
        }
        if let Some(err) = &st.error {
            return Self::fail(format!("TCP_SEND {}: {err}", self.peer_text()));
        }
        let mut framed = Vec::with_capacity(data.len() + 4);
        if let Err(e) = Framer::frame(st.opts.packet, data, &mut framed) {
            return Self::fail(format!("TCP_SEND: {e}"));
        }
        self.wait_locked(&mut st, Op::Send(framed), pid, None, park)
    }

    /// UDP_SEND: one datagram to `to`.
    pub fn send_to(&self, to: SocketAddr, data: &[u8]) -> Result<(), String> {
        self.check_kind(Kind::Udp, "UDP_SEND")?;
        let st = lock(&self.st);
        if st.closed {
            return Err(self.closed_msg("UDP_SEND"));
        }
        let Io::Udp(u) = &st.io else {
            return Err(self.closed_msg("UDP_SEND"));
        };
        match u.send_to(data, to) {
            Ok(_) => Ok(()),
            // A full socket buffer drops the datagram, as the network may.
            Err(e) if e.kind() == ErrorKind::WouldBlock => Ok(()),
            Err(e) => Err(format!("UDP_SEND {to}: {}", reason(&e))),
        }
    }

    /// TCP_SHUTDOWN: `read`, `write` (after the buffered bytes) or both.
    pub fn shutdown(self: &Arc<Socket>, read: bool, write: bool) -> Result<(), String> {
        self.check_kind(Kind::Stream, "TCP_SHUTDOWN")?;
        let mut st = lock(&self.st);
        if st.closed {
            return Err(self.closed_msg("TCP_SHUTDOWN"));
        }
        if read {
            if let Io::Stream(s) = &st.io {
                let _ = s.shutdown(Shutdown::Read);
            }
            st.eof = true;
            st.said_closed = true;
        }
        if write {
            st.shut_write = true;
        }
        self.pump(&mut st);
        Ok(())
    }

    /// SOCKET_SETOPTS.
    pub fn set_opts(self: &Arc<Socket>, f: impl FnOnce(&mut Opts)) {
        let mut st = lock(&self.st);
        let mut o = st.opts;
        f(&mut o);
        if o.packet != st.opts.packet
            || o.binary != st.opts.binary
            || o.max_packet != st.opts.max_packet
        {
            st.framer.packet = o.packet;
            st.framer.text = !o.binary;
            st.framer.max_packet = o.max_packet.max(1);
        }
        st.opts = o;
        // Buffered data, and data the kernel holds, may go out now. Not
        // `readable = true`: readiness stays noted until a read returns
        // `WouldBlock`, and data arriving after that brings an event of
        // its own (N2), so a forced read here would only find nothing —
        // one `recvfrom` wasted per message of an active-once socket.
        self.pump(&mut st);
    }

    pub fn opts(&self) -> Opts {
        lock(&self.st).opts
    }
}
