//! A socket's event side: readiness noted, then `pump` performs what the
//! owner or waiters asked for (accept, read, connect, flush) and hands results to the workers.

use super::*;

impl Socket {
    pub(super) fn on_event(self: &Arc<Socket>, readable: bool, writable: bool, read_closed: bool) {
        let mut st = lock(&self.st);
        if matches!(st.io, Io::None) {
            return;
        }
        st.readable |= readable;
        st.read_closed |= read_closed;
        st.writable |= writable;
        self.pump(&mut st);
    }

    /// Look again at what can be done (after options changed).
    pub(crate) fn kick(self: &Arc<Socket>) {
        let mut st = lock(&self.st);
        // Edge-triggered: readiness may have been used up by nobody; try.
        st.readable = true;
        self.pump(&mut st);
    }

    pub(super) fn time_out(self: &Arc<Socket>, seq: u64) {
        let mut st = lock(&self.st);
        for slot in [0, 1] {
            let w = if slot == 0 {
                &mut st.reader
            } else {
                &mut st.writer
            };
            if w.as_ref().is_some_and(|w| w.seq == seq) {
                let w = w.take().expect("checked");
                let connect = matches!(w.op, Op::Connect);
                self.complete(&mut st, w, NetDone::new(Err(NetError::Timeout)));
                if connect {
                    // A connection that did not come in time is abandoned.
                    self.shut(&mut st);
                }
            }
        }
    }

    /// Hand a waiter its result (N2, or the synchronous result).
    pub(super) fn complete(&self, st: &mut St, w: Waiter, done: NetDone) {
        if w.sync {
            st.sync_result = Some(done);
            return;
        }
        let ticket = w.ticket.expect("an asynchronous waiter has a ticket");
        // A pump runs on a worker (N0–N2), which delivers before it
        // sleeps: no W2 (W4).
        self.net
            .io
            .push_local(Done::Io(w.pid, w.token, ticket, Box::new(done)));
    }

    /// A message to the owner (active mode).
    /// A message to the owner (active mode), pushed at the end of this
    /// `pump` ([`Socket::rearm`]).
    pub(super) fn tell(&self, st: &mut St, msg: Value) {
        st.outbox.push(msg);
    }

    pub(super) fn data_value(&self, st: &St, bytes: Vec<u8>) -> Value {
        if st.opts.binary {
            Value::list(bytes.into_iter().map(|b| Value::Int(b as i64)).collect())
        } else {
            match String::from_utf8(bytes) {
                Ok(s) => Value::Str(Arc::new(Str::new(s))),
                Err(e) => Value::str(String::from_utf8_lossy(e.as_bytes()).into_owned()),
            }
        }
    }

    pub(super) fn active_allows(st: &St) -> bool {
        st.opts.active != Active::Off && !st.closed
    }

    /// One message sent in active mode: count it down.
    pub(super) fn used_active(self: &Arc<Socket>, st: &mut St) {
        match st.opts.active {
            Active::Once => st.opts.active = Active::Off,
            Active::N(n) if n <= 1 => {
                st.opts.active = Active::Off;
                let tag = if self.kind == Kind::Udp {
                    "udp_passive"
                } else {
                    "tcp_passive"
                };
                self.tell(st, Value::list(vec![Value::str(tag), self.handle()]));
            }
            Active::N(n) => st.opts.active = Active::N(n - 1),
            _ => {}
        }
    }

    /// Everything the socket can do now: N2's step, run under its lock by
    /// the worker handling an event (N0, N2) and by workers (after a
    /// request).
    pub(super) fn pump(self: &Arc<Socket>, st: &mut St) {
        self.pump_write(st);
        match self.kind {
            Kind::Listener => self.pump_accept(st),
            Kind::Stream => self.pump_stream(st),
            Kind::Udp => self.pump_udp(st),
        }
        self.rearm(st);
    }

    /// N4: an active socket that can still say something counts as a
    /// wake-up source (the run is not over, nor a deadlock).
    /// The messages of this `pump` go out (N2); a socket that stops
    /// being armed hands its ticket to its last message, which the worker
    /// delivering it settles (N3) — settled before the push, an idle
    /// worker could see neither the message nor the ticket (S4).
    pub(super) fn rearm(&self, st: &mut St) {
        let want = !matches!(st.io, Io::None)
            && !st.closed
            && st.opts.active != Active::Off
            && (!st.eof || !st.said_closed)
            && self.kind != Kind::Listener;
        let mut last_ticket = None;
        match (&st.armed, want) {
            (None, true) => st.armed = Some(self.net.io.new_ticket()),
            (Some(_), false) => {
                let t = st.armed.take().expect("checked");
                if st.outbox.is_empty() {
                    // Nothing on its way: nobody to wake.
                    self.net.io.settle(&t);
                } else {
                    last_ticket = Some(t);
                }
            }
            _ => {}
        }
        if st.outbox.is_empty() {
            return;
        }
        let owner = self.owner();
        let n = st.outbox.len();
        for (i, msg) in std::mem::take(&mut st.outbox).into_iter().enumerate() {
            let ticket = if i + 1 == n { last_ticket.take() } else { None };
            self.net.io.push_local(Done::Msg(owner, msg, ticket));
        }
    }

    pub(super) fn pump_write(self: &Arc<Socket>, st: &mut St) {
        if self.kind != Kind::Stream {
            return;
        }
        if st.connecting {
            // Decided when the connection is writable and its waiter is
            // there (an event before the waiter leaves `writable` set).
            if !st.writable || st.reader.is_none() {
                return;
            }
            let Io::Stream(s) = &st.io else { return };
            let outcome = match s.take_error() {
                Ok(Some(e)) | Err(e) => Err(e),
                Ok(None) => match s.peer_addr() {
                    Ok(_) => Ok(()),
                    Err(e) if e.kind() == ErrorKind::NotConnected => return, // not yet
                    Err(e) => Err(e),
                },
            };
            st.connecting = false;
            if let Some(w) = st.reader.take() {
                match outcome {
                    Ok(()) => {
                        let done = NetDone {
                            result: Ok(self.handle()),
                            fresh: Some(self.clone()),
                        };
                        self.complete(st, w, done);
                    }
                    Err(e) => {
                        let peer = self.peer.map_or_else(String::new, |p| p.to_string());
                        let msg = format!("TCP_CONNECT {peer}: {}", reason(&e));
                        self.complete(st, w, NetDone::new(Err(NetError::Failed(msg))));
                        self.shut(st);
                        return;
                    }
                }
            }
        }
        // Write out the buffer.
        while st.writable && st.wpos < st.wbuf.len() && st.error.is_none() {
            let Io::Stream(s) = &mut st.io else { return };
            match s.write(&st.wbuf[st.wpos..]) {
                Ok(0) => st.writable = false,
                Ok(n) => st.wpos += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => st.writable = false,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    st.error = Some(reason(&e));
                    st.wbuf = Vec::new();
                    st.wpos = 0;
                }
            }
        }
        if st.wpos == st.wbuf.len() && st.wpos > 0 {
            st.wbuf.clear();
            st.wpos = 0;
            if st.wbuf.capacity() > SEND_BUFFER {
                st.wbuf.shrink_to(SEND_BUFFER);
            }
        }
        let flushed = st.wbuf.is_empty();
        if flushed && st.shut_write {
            st.shut_write = false;
            if let Io::Stream(s) = &st.io {
                let _ = s.shutdown(Shutdown::Write);
            }
        }
        // A sender waiting for room.
        if st.writer.is_some() {
            if let Some(err) = st.error.clone() {
                let w = st.writer.take().expect("checked");
                let msg = format!("TCP_SEND {}: {err}", self.peer_text());
                self.complete(st, w, NetDone::new(Err(NetError::Failed(msg))));
            } else if st.closed {
                let w = st.writer.take().expect("checked");
                self.complete(
                    st,
                    w,
                    NetDone::new(Err(NetError::Failed(self.closed_msg("TCP_SEND")))),
                );
            } else if st.wbuf.len() - st.wpos < SEND_BUFFER {
                let w = st.writer.take().expect("checked");
                if let Op::Send(bytes) = &w.op {
                    st.wbuf.extend_from_slice(bytes);
                }
                self.complete(st, w, NetDone::new(Ok(Value::Null)));
                // Try to write it right away.
                self.pump_write(st);
            }
        }
        // A closed socket whose buffer is out (or broken) goes away.
        if st.closed && (st.wbuf.is_empty() || st.error.is_some()) {
            self.shut(st);
        }
    }

    pub(super) fn peer_text(&self) -> String {
        match self.peer {
            Some(p) => p.to_string(),
            None => self.local.to_string(),
        }
    }

    pub(super) fn closed_msg(&self, op: &str) -> String {
        format!("{op} {}: socket closed", self.peer_text())
    }

    pub(super) fn pump_accept(self: &Arc<Socket>, st: &mut St) {
        while st.readable && st.reader.is_some() && !st.closed {
            let Io::Listener(l) = &st.io else { return };
            match l.accept() {
                Ok((stream, peer)) => {
                    let w = st.reader.take().expect("checked");
                    let opts = st.opts;
                    match new_socket(
                        &self.net,
                        Kind::Stream,
                        Io::Stream(stream),
                        w.pid,
                        Some(peer),
                        opts,
                        false,
                    ) {
                        Ok(s) => {
                            // Data may be there already (and no new edge).
                            s.kick();
                            let done = NetDone {
                                result: Ok(s.handle()),
                                fresh: Some(s),
                            };
                            self.complete(st, w, done);
                        }
                        Err(e) => {
                            let msg = format!("TCP_ACCEPT {}: {}", self.local, reason(&e));
                            self.complete(st, w, NetDone::new(Err(NetError::Failed(msg))));
                        }
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => st.readable = false,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::ConnectionAborted => {}
                Err(e) => {
                    // EMFILE and friends: the connection stays queued; the
                    // acceptor hears why.
                    let w = st.reader.take().expect("checked");
                    let msg = format!("TCP_ACCEPT {}: {}", self.local, reason(&e));
                    self.complete(st, w, NetDone::new(Err(NetError::Failed(msg))));
                }
            }
        }
    }

    pub(super) fn pump_stream(self: &Arc<Socket>, st: &mut St) {
        if st.connecting {
            return;
        }
        loop {
            // Hand out what is buffered, to a waiter or as a message.
            let want_reader = st.reader.as_ref().and_then(|w| match w.op {
                Op::Recv { max } => Some(max),
                _ => None,
            });
            let active = Self::active_allows(st);
            if want_reader.is_none() && !active {
                return;
            }
            let max = want_reader.unwrap_or(0);
            match st.framer.next(max, st.eof) {
                Ok(Some(bytes)) => {
                    let v = self.data_value(st, bytes);
                    if want_reader.is_some() {
                        let w = st.reader.take().expect("checked");
                        self.complete(st, w, NetDone::new(Ok(v)));
                    } else {
                        let msg = vec![self.net.tcp_tag.clone(), self.handle_in(st), v];
                        self.tell(st, Value::list(msg));
                        self.used_active(st);
                    }
                    continue;
                }
                Ok(None) => {}
                Err(e) => {
                    self.broken(st, e.to_string());
                    continue;
                }
            }
            if st.eof {
                if let Some(w) = st.reader.take() {
                    // End of stream: null (or the error that ended it).
                    let r = match &st.error {
                        Some(err) => Err(NetError::Failed(format!(
                            "TCP_RECV {}: {err}",
                            self.peer_text()
                        ))),
                        None => Ok(Value::Null),
                    };
                    self.complete(st, w, NetDone::new(r));
                } else if active && !st.said_closed {
                    st.said_closed = true;
                    self.tell(
                        st,
                        Value::list(vec![Value::str("tcp_closed"), self.handle()]),
                    );
                }
                return;
            }
            if !st.readable || !st.framer.wants_more() {
                return;
            }
            let Io::Stream(s) = &mut st.io else { return };
            let read = READ_BUF.with_borrow_mut(|buf| {
                let r = s.read(buf);
                if let Ok(n) = r {
                    st.framer.push(&buf[..n]);
                }
                r.map(|n| (n, n < buf.len()))
            });
            match read {
                Ok((0, _)) => st.eof = true,
                // A short read took everything the kernel held: bytes that
                // arrive later bring an event of their own (edge-triggered
                // epoll signals every arrival), so the next read waits for
                // it instead of finding nothing (`WouldBlock`) — one
                // `recvfrom` less per message (tokio does the same). Not
                // when the peer's end was already announced: it came with
                // these bytes, no event will repeat it, and it is read next.
                Ok((_, true)) if !st.read_closed => st.readable = false,
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => st.readable = false,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    let why = reason(&e);
                    self.broken(st, why);
                }
            }
        }
    }

    /// The connection broke (reset, bad framing): active owners get
    /// `["tcp_error", sock, reason]`, then `tcp_closed`; a waiting receive
    /// raises it.
    pub(super) fn broken(self: &Arc<Socket>, st: &mut St, why: String) {
        if st.error.is_none() {
            st.error = Some(why.clone());
        }
        st.eof = true;
        st.framer = Framer::new(st.opts.packet, !st.opts.binary, st.opts.max_packet);
        if st.reader.is_none() && Self::active_allows(st) {
            self.tell(
                st,
                Value::list(vec![
                    Value::str("tcp_error"),
                    self.handle(),
                    Value::str(why),
                ]),
            );
        }
    }

    pub(super) fn pump_udp(self: &Arc<Socket>, st: &mut St) {
        while st.readable && !st.closed && (st.reader.is_some() || Self::active_allows(st)) {
            let Io::Udp(u) = &st.io else { return };
            let got = READ_BUF
                .with_borrow_mut(|b| u.recv_from(b).map(|(n, from)| (b[..n].to_vec(), from)));
            match got {
                Ok((bytes, from)) => {
                    let data = self.data_value(st, bytes);
                    let host = Value::str(from.ip().to_string());
                    let port = Value::Int(from.port() as i64);
                    if let Some(w) = st.reader.take() {
                        let v = Value::list(vec![host, port, data]);
                        self.complete(st, w, NetDone::new(Ok(v)));
                    } else {
                        let h = self.handle_in(st);
                        self.tell(
                            st,
                            Value::list(vec![
                                self.net.udp_tag.clone(),
                                h,
                                Value::list(vec![host, port]),
                                data,
                            ]),
                        );
                        self.used_active(st);
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => st.readable = false,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    // ICMP errors of earlier sends show up here: skip them.
                    if let Some(w) = st.reader.take() {
                        let msg = format!("UDP_RECV {}: {}", self.local, reason(&e));
                        self.complete(st, w, NetDone::new(Err(NetError::Failed(msg))));
                    }
                }
            }
        }
    }

    /// Release the descriptor and forget the socket: waiters get an error,
    /// the wake-up count is given back.
    pub(super) fn shut(&self, st: &mut St) {
        st.closed = true;
        st.handle = None;
        let io = std::mem::replace(&mut st.io, Io::None);
        match io {
            Io::Listener(mut l) => {
                let _ = self.net.registry.deregister(&mut l);
            }
            Io::Stream(mut s) => {
                let _ = self.net.registry.deregister(&mut s);
            }
            Io::Udp(mut u) => {
                let _ = self.net.registry.deregister(&mut u);
            }
            Io::None => {}
        }
        for w in [st.reader.take(), st.writer.take()].into_iter().flatten() {
            let msg = self.closed_msg(match w.op {
                Op::Accept => "TCP_ACCEPT",
                Op::Recv { .. } => "TCP_RECV",
                Op::RecvFrom => "UDP_RECV",
                Op::Connect => "TCP_CONNECT",
                Op::Send(_) => "TCP_SEND",
            });
            self.complete(st, w, NetDone::new(Err(NetError::Failed(msg))));
        }
        self.rearm(st);
        lock(&self.net.sockets).remove(&self.id);
    }
}
