//! Connections to other nodes: made on first use (EPMD lookup, TCP
//! connect, the client-side handshake on a thread of their own), accepted
//! (the server-side handshake), and each established connection's writer
//! thread with its ticks and silence check. Moved out of `mod.rs`, which
//! keeps the node, SEND and the worker's write path.

use super::*;

impl Dist {
    /// The connection to `node`, or a new attempt to make one.
    /// `None`: the node could not be reached a moment ago; the message is
    /// dropped without a new attempt until [`RETRY_AFTER`] has passed (a
    /// sender of many messages to a node that is down starts one attempt
    /// per period, not one per message).
    pub(super) fn conn(self: &Arc<Self>, node: &str) -> Result<Option<Arc<Conn>>, SendError> {
        let mut conns = lock(&self.conns);
        if let Some(c) = conns.get(node) {
            match *lock(&c.failed) {
                None => return Ok(Some(c.clone())),
                Some(until) if Instant::now() < until => {
                    self.trace(|| {
                        format!("message to {node} dropped: it was unreachable just now")
                    });
                    return Ok(None);
                }
                Some(_) => {} // try again
            }
        }
        split_name(node)?;
        let c = Conn::new(node);
        conns.insert(node.to_string(), c.clone());
        drop(conns);
        let (d, c2) = (self.clone(), c.clone());
        let started = std::thread::Builder::new()
            .name("ttvm-dist-connect".into())
            .spawn(move || d.connect(c2));
        if let Err(e) = started {
            self.failed(&c, &format!("cannot start a thread: {e}"));
        }
        Ok(Some(c))
    }

    /// The connection attempt of `conn` (its own thread).
    pub(super) fn connect(self: Arc<Self>, conn: Arc<Conn>) {
        self.trace(|| format!("connecting to {}", conn.peer));
        match self.dial(&conn) {
            Ok((stream, peer)) => {
                let rx = lock(&conn.rx).take();
                match rx {
                    Some(rx) => self.run(conn, stream, peer, rx),
                    // The peer's own connection to us came first.
                    None => {
                        let _ = stream.shutdown(Shutdown::Both);
                    }
                }
            }
            Err(Dial::Ongoing) => {
                // Both nodes connected at once and the peer's attempt
                // wins (its name is greater): it completes on the
                // accepting side, which takes the channel.
                let deadline = Instant::now() + HANDSHAKE_TIMEOUT;
                while Instant::now() < deadline {
                    if conn.up.load(Ordering::SeqCst) || lock(&conn.rx).is_none() {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                self.failed(
                    &conn,
                    "the other node's own connection attempt did not complete",
                );
            }
            Err(Dial::Failed(reason)) => self.failed(&conn, &reason),
            Err(Dial::Superseded) => {
                self.trace(|| format!("attempt to {} dropped: connected meanwhile", conn.peer))
            }
        }
    }

    /// Whether another connection took `conn`'s place (or its channel).
    pub(super) fn superseded(&self, conn: &Arc<Conn>) -> bool {
        lock(&conn.rx).is_none()
            || !lock(&self.conns)
                .get(&conn.peer)
                .is_some_and(|c| Arc::ptr_eq(c, conn))
    }

    /// A connection attempt failed: drop what waited in it — observably —
    /// and what comes for [`RETRY_AFTER`]; the next SEND after that tries
    /// again.
    pub(super) fn failed(&self, conn: &Arc<Conn>, reason: &str) {
        *lock(&conn.failed) = Some(Instant::now() + RETRY_AFTER);
        let dropped = lock(&conn.rx)
            .take()
            .map_or(0, |rx| rx.try_iter().map(|o| o.messages()).sum());
        self.sent(dropped);
        self.release(conn);
        (self.warn)(&format!(
            "ttvm: distribution: cannot connect to node {}: {reason}; {dropped} message(s) to it dropped",
            conn.peer
        ));
        self.trace(|| {
            format!(
                "cannot connect to {}: {reason}; {dropped} dropped",
                conn.peer
            )
        });
        self.spawns_lost(&conn.peer);
    }

    /// EPMD lookup, TCP connect, client-side handshake.
    pub(super) fn dial(&self, conn: &Arc<Conn>) -> Result<(TcpStream, PeerNode), Dial> {
        let node = conn.peer.as_str();
        let (alive, host) = split_name(node).map_err(Dial::Failed)?;
        let addr = resolve(host, self.epmd_port).map_err(Dial::Failed)?;
        let epmd = TcpStream::connect_timeout(&addr, HANDSHAKE_TIMEOUT).map_err(|e| {
            Dial::Failed(format!(
                "no EPMD answers at {addr} ({})",
                crate::net::reason(&e)
            ))
        })?;
        set_timeouts(&epmd, Some(HANDSHAKE_TIMEOUT));
        let entry = block_on(EpmdClient::new(AllowStdIo::new(epmd)).get_node(alive))
            .map_err(|e| Dial::Failed(format!("asking EPMD at {addr}: {e}")))?
            .ok_or_else(|| {
                Dial::Failed(format!(
                    "no node named `{alive}` is registered with EPMD at {addr}"
                ))
            })?;
        let at = SocketAddr::new(addr.ip(), entry.port);
        let stream = TcpStream::connect_timeout(&at, HANDSHAKE_TIMEOUT)
            .map_err(|e| Dial::Failed(format!("connecting to {at}: {}", crate::net::reason(&e))))?;
        set_timeouts(&stream, Some(HANDSHAKE_TIMEOUT));
        let _ = stream.set_nodelay(true);
        let mut hs =
            ClientSideHandshake::new(AllowStdIo::new(stream), self.local.clone(), &self.cookie);
        let status = block_on(hs.execute_send_name(erl_dist::LOWEST_DISTRIBUTION_PROTOCOL_VERSION))
            .map_err(|e| Dial::Failed(handshake_reason(node, e, false)))?;
        match status {
            HandshakeStatus::Nok => return Err(Dial::Ongoing),
            HandshakeStatus::NotAllowed => {
                return Err(Dial::Failed(format!(
                    "node {node} does not allow the connection"
                )))
            }
            _ => {}
        }
        // The peer's own connection to us came up meanwhile: stop before
        // the handshake completes (a completed one would replace the
        // peer's side of that connection, leaving each node holding a
        // different one).
        if self.superseded(conn) {
            return Err(Dial::Superseded);
        }
        let (stream, peer) = block_on(hs.execute_rest(true))
            .map_err(|e| Dial::Failed(handshake_reason(node, e, true)))?;
        Ok((stream.into_inner(), peer))
    }

    pub(super) fn accept_loop(self: Arc<Self>, listener: TcpListener) {
        for stream in listener.incoming() {
            let stream = match stream {
                Ok(s) => s,
                Err(e) => {
                    self.trace(|| format!("accept: {}", crate::net::reason(&e)));
                    // Out of descriptors and the like: do not spin.
                    std::thread::sleep(Duration::from_millis(50));
                    continue;
                }
            };
            let d = self.clone();
            let _ = std::thread::Builder::new()
                .name("ttvm-dist-in".into())
                .spawn(move || d.accept(stream));
        }
    }

    /// Server-side handshake of an accepted connection (its own thread).
    pub(super) fn accept(self: Arc<Self>, stream: TcpStream) {
        let from = stream
            .peer_addr()
            .map_or_else(|_| "?".to_string(), |a| a.to_string());
        set_timeouts(&stream, Some(HANDSHAKE_TIMEOUT));
        let _ = stream.set_nodelay(true);
        let mut hs =
            ServerSideHandshake::new(AllowStdIo::new(stream), self.local.clone(), &self.cookie);
        let name = match block_on(hs.execute_recv_name()) {
            Ok(Some(n)) => n.to_string(),
            Ok(None) => {
                (self.warn)(&format!(
                    "ttvm: distribution: refused a connection from {from}: it asked for a dynamic node name (not supported)"
                ));
                let _ = block_on(hs.execute_rest(HandshakeStatus::NotAllowed));
                return;
            }
            Err(e) => {
                (self.warn)(&format!(
                    "ttvm: distribution: refused a connection from {from}: not a distribution handshake ({e})"
                ));
                return;
            }
        };
        let status = {
            let conns = lock(&self.conns);
            match conns.get(&name) {
                // Our own attempt to that node is under way: the greater
                // name's attempt wins (as in the BEAM).
                Some(c) if !c.up.load(Ordering::SeqCst) && lock(&c.rx).is_some() => {
                    if self.name > name {
                        HandshakeStatus::Nok
                    } else {
                        HandshakeStatus::OkSimultaneous
                    }
                }
                _ => HandshakeStatus::Ok,
            }
        };
        let refused = status == HandshakeStatus::Nok;
        match block_on(hs.execute_rest(status)) {
            Ok((stream, peer)) => {
                let stream = stream.into_inner();
                let (conn, rx) = {
                    let mut conns = lock(&self.conns);
                    let conn = conns
                        .entry(name.clone())
                        .or_insert_with(|| Conn::new(&name))
                        .clone();
                    let rx = lock(&conn.rx).take();
                    match rx {
                        Some(rx) => (conn, rx),
                        None => {
                            // A connection we hold is stale (the peer
                            // connects again only when it lost it).
                            let fresh = Conn::new(&name);
                            conns.insert(name.clone(), fresh.clone());
                            conn.close();
                            let rx = lock(&fresh.rx).take().expect("a new connection's channel");
                            (fresh, rx)
                        }
                    }
                };
                self.run(conn, stream, peer, rx);
            }
            Err(_) if refused => {}
            Err(HandshakeError::CookieMismatch) => (self.warn)(&format!(
                "ttvm: distribution: refused a connection from node {name} ({from}): its cookie differs from ours"
            )),
            Err(e) => (self.warn)(&format!(
                "ttvm: distribution: the handshake with node {name} ({from}) failed: {e}"
            )),
        }
    }

    /// An established connection: the event loop reads it
    /// ([`Dist::read_ready`]), and this thread is its writer.
    pub(super) fn run(
        self: Arc<Self>,
        conn: Arc<Conn>,
        stream: TcpStream,
        peer: PeerNode,
        rx: Receiver<Out>,
    ) {
        let _ = peer;
        // A peer that has not taken a byte for SILENCE while we had
        // something to write is gone (what waits for it is dropped with
        // the connection, not kept without bound); so is one silent for
        // as long (the writer looks, `write_loop`).
        set_timeouts(&stream, Some(SILENCE));
        let (reader, writer) = match (stream.try_clone(), stream.try_clone()) {
            (Ok(r), Ok(w)) => (r, w),
            (Err(e), _) | (_, Err(e)) => {
                self.down(&conn, &format!("cannot use the connection: {e}"));
                return;
            }
        };
        *lock(&conn.stream) = Some(writer);
        conn.heard.store(self.now_ms(), Ordering::SeqCst);
        conn.up.store(true, Ordering::SeqCst);
        self.trace(|| format!("connected to {}", conn.peer));
        {
            // Registered under the read side's lock: its first event (at
            // once, when bytes are already there) waits for `on`.
            let mut rs = lock(&conn.read);
            let fd = reader.as_raw_fd();
            let src = Arc::new(ConnReader {
                dist: self.clone(),
                conn: conn.clone(),
            });
            match self.net.add_source(fd, src) {
                Ok(id) => rs.on = Some((reader, id)),
                Err(e) => {
                    drop(rs);
                    self.down(
                        &conn,
                        &format!(
                            "cannot read the connection on the event loop: {}",
                            crate::net::reason(&e)
                        ),
                    );
                    return;
                }
            }
        }
        let reason = self.write_loop(&conn, stream, &rx);
        self.down(&conn, &reason);
        // What was still queued is lost with the connection.
        self.sent(rx.try_iter().map(|o| o.messages()).sum());
        self.release(&conn);
    }

    pub(super) fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Whether the peer has said nothing (not even a tick) for
    /// [`SILENCE`].
    pub(super) fn silent(&self, conn: &Conn) -> bool {
        self.now_ms()
            .saturating_sub(conn.heard.load(Ordering::SeqCst))
            > SILENCE.as_millis() as u64
    }

    pub(super) fn write_loop(&self, conn: &Conn, stream: TcpStream, rx: &Receiver<Out>) -> String {
        let silent = || format!("the peer said nothing for {} s", SILENCE.as_secs());
        let mut w = BufWriter::with_capacity(64 << 10, stream);
        let mut frame = Vec::new();
        loop {
            let first = match rx.recv_timeout(TICK) {
                Ok(o) => o,
                Err(RecvTimeoutError::Timeout) => {
                    if self.silent(conn) {
                        return silent();
                    }
                    // A tick (workers may have written meanwhile: an extra
                    // tick costs 4 bytes), never inside a worker's frames.
                    let _writing = lock(&conn.writing);
                    if conn.queued.load(Ordering::SeqCst) > 0 {
                        continue;
                    }
                    if let Err(e) = w.write_all(&[0; 4]).and_then(|_| w.flush()) {
                        return crate::net::reason(&e);
                    }
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => return "closed".into(),
            };
            // The batch is written holding `writing`, and counted off
            // `queued` only once flushed: a worker writes its own frames
            // only when nothing queued before them is still unwritten.
            let writing = lock(&conn.writing);
            let mut next = Some(first);
            let mut batch = 0;
            let mut weight = 0;
            let mut end = None;
            while let Some(out) = next {
                if matches!(out, Out::Close) {
                    end = Some("closed".to_string());
                    break;
                }
                batch += out.messages();
                weight += out.weight();
                let written = match out {
                    Out::Close => Ok(()),
                    Out::Frames(frames, _) => w.write_all(&frames),
                    Out::Msg(m, _) => {
                        frame.clear();
                        match wire::encode(*m, &mut frame) {
                            Ok(()) => w.write_all(&frame),
                            Err(e) => {
                                (self.warn)(&format!(
                                    "ttvm: distribution: a message was not sent: {e}"
                                ));
                                Ok(())
                            }
                        }
                    }
                };
                if let Err(e) = written {
                    end = Some(crate::net::reason(&e));
                    break;
                }
                next = rx.try_recv().ok();
            }
            let flushed = w.flush();
            self.sent(batch);
            self.drained(conn, weight);
            drop(writing);
            if let Some(reason) = end {
                return reason;
            }
            if let Err(e) = flushed {
                return crate::net::reason(&e);
            }
            if self.silent(conn) {
                return silent();
            }
        }
    }
}

pub(super) enum Dial {
    /// The peer has its own attempt to connect to us under way, and it
    /// wins.
    Ongoing,
    /// The peer's connection to us came up while we dialled.
    Superseded,
    Failed(String),
}

pub(super) fn handshake_reason(node: &str, e: HandshakeError, challenged: bool) -> String {
    match e {
        HandshakeError::CookieMismatch => {
            format!("node {node}'s cookie differs from ours (the handshake's digests do not match)")
        }
        HandshakeError::Io(io) if challenged => format!(
            "node {node} closed the connection during the handshake ({}): most likely its cookie differs from ours",
            crate::net::reason(&io)
        ),
        HandshakeError::AlreadyActive => format!("node {node} says it is already connected to us"),
        other => format!("the handshake with node {node} failed: {other}"),
    }
}

pub(super) fn set_timeouts(s: &TcpStream, t: Option<Duration>) {
    let _ = s.set_read_timeout(t);
    let _ = s.set_write_timeout(t);
}

pub(super) fn resolve(host: &str, port: u16) -> Result<SocketAddr, String> {
    let mut addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve host `{host}`: {}", crate::net::reason(&e)))?
        .collect();
    // IPv4 first, as the BEAM's inet_tcp does.
    addrs.sort_by_key(|a| !a.is_ipv4());
    addrs
        .into_iter()
        .next()
        .ok_or_else(|| format!("host `{host}` has no address"))
}

/// A connection to the local EPMD, starting `epmd -daemon` (as `erl`
/// does) when none answers.
pub(super) fn connect_epmd(port: u16) -> Result<TcpStream, String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let try_connect = || TcpStream::connect_timeout(&addr, Duration::from_secs(2));
    let connected = try_connect().or_else(|_| {
        let status = std::process::Command::new("epmd")
            .arg("-daemon")
            .env("ERL_EPMD_PORT", port.to_string())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .map_err(|e| {
                format!(
                    "no EPMD answers on port {port}, and `epmd -daemon` could not be started ({}): install Erlang's epmd (Debian: apt-get install erlang-base) or start one yourself",
                    crate::net::reason(&e)
                )
            })?;
        if !status.success() {
            return Err(format!(
                "no EPMD answers on port {port}, and `epmd -daemon` failed ({status})"
            ));
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match try_connect() {
                Ok(s) => return Ok(s),
                Err(e) if Instant::now() >= deadline => {
                    return Err(format!(
                        "started `epmd -daemon`, but nothing answers on port {port} ({})",
                        crate::net::reason(&e)
                    ))
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    })?;
    set_timeouts(&connected, Some(HANDSHAKE_TIMEOUT));
    Ok(connected)
}
