//! Sockets owned by processes, on one event loop (issue 16; protocol N1–N5
//! in `sched/README.md`, user's view in docs/NETWORK.md).
//!
//! **The event loop.** One `mio::Poll` per node (made with the first
//! socket; no thread of its own). Every socket is registered once,
//! edge-triggered, for reading and writing, under its id as the token.
//! The workers poll it (N0): the one that goes idle holding the poll
//! right sleeps in it, and a busy one looks at it without waiting once
//! per slice's worth of reductions. Handling an event touches no process:
//! it locks the socket, notes the readiness and runs [`Socket::pump`],
//! which performs what the socket's owner or waiters asked for (accept,
//! read, connect, flush) and hands results and messages to the workers
//! through the I/O pool's done list (N2, the same list and W1/W2 as I2),
//! usually back to the worker that polled. A process that must wait for
//! a socket parks in `Wait::Io` like a blocking operation, and costs no
//! CPU.
//!
//! **Workers first.** An operation first runs on the worker, under the
//! socket's lock, with a *synchronous* waiter: if `pump` completes it at
//! once (data already there, a send that fits the buffer), the process goes
//! on without waiting. Otherwise the waiter becomes asynchronous — a wait
//! token and a ticket (N1) — still under the lock, so a readiness event
//! either happened before (and `pump` saw it) or finds the waiter.
//!
//! **Flow control.** Reading happens only for a waiter or while the socket
//! is active (`once`, `N`, `true`), so with `once`/`N` unread data stays in
//! the kernel and TCP slows the peer down. Sends go to a buffer of at most
//! [`SEND_BUFFER`] bytes past which the sender waits until writable events
//! have let it be written out: a slow reader bounds the sender's memory.

pub mod framing;

use crate::io::{Done, IoShared};
use crate::process::{Owned, Pid, Ticket};
use crate::value::{Handle, Object, Resource, Str, Value};
use framing::{Framer, Packet};
use mio::net::{TcpListener, TcpStream, UdpSocket};
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Registry, Token, Waker};
use rustc_hash::FxHashMap;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// A sender waits when this many bytes wait to be written.
pub const SEND_BUFFER: usize = 64 * 1024;
/// Bytes read from a socket at a time (a UDP datagram's largest size).
const READ_CHUNK: usize = 64 * 1024;

std::thread_local! {
    /// Where a thread pumping a stream reads into before the bytes go to
    /// the socket's framer: one zeroed buffer per thread, reused (a fresh
    /// zeroed 64 KiB per read was an eighth of an echo server's CPU time).
    static READ_BUF: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0u8; READ_CHUNK]);
}
/// The default `max_packet`: the longest line or length-prefixed packet,
/// and the most a raw read hands out at once.
pub const MAX_PACKET: usize = 1 << 20;
/// The largest `max_packet` an option may ask for.
pub const MAX_PACKET_LIMIT: usize = 64 << 20;
/// The waker's token (socket ids start at 1 and stay far below).
const WAKER: Token = Token(usize::MAX);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Active mode (docs/NETWORK.md): whether incoming data becomes messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Active {
    /// Passive: data waits for a receive.
    Off,
    /// One message, then passive (no notice).
    Once,
    /// N messages, then passive with a `["tcp_passive", sock]` message.
    N(u32),
    /// Every packet as a message (no flow control).
    On,
}

/// A socket's options (`SOCKET_SETOPTS`, the `*_OPTS` forms).
#[derive(Clone, Copy, Debug)]
pub struct Opts {
    pub active: Active,
    pub packet: Packet,
    /// Data as Str (UTF-8, bad bytes as U+FFFD) or as a List of byte Ints.
    pub binary: bool,
    pub max_packet: usize,
}

impl Default for Opts {
    fn default() -> Opts {
        Opts {
            active: Active::Off,
            packet: Packet::Raw,
            binary: false,
            max_packet: MAX_PACKET,
        }
    }
}

/// An error of a network operation: the message names the operation, the
/// address and the reason (`TCP_CONNECT 127.0.0.1:1: connection refused`).
#[derive(Clone, Debug, PartialEq)]
pub enum NetError {
    /// The operation's timeout ran out.
    Timeout,
    Failed(String),
}

/// A network operation's result.
pub type NetResult = Result<Value, NetError>;

/// What a waiting network operation gives back through `Sched::take_io`:
/// its result and, for ACCEPT and CONNECT, the new socket — closed when
/// this is dropped before a process took it (its process ended first).
pub struct NetDone {
    pub result: NetResult,
    pub(crate) fresh: Option<Arc<Socket>>,
}

impl NetDone {
    /// A result that is a value.
    pub fn ok(v: Value) -> NetDone {
        NetDone::new(Ok(v))
    }

    fn new(result: NetResult) -> NetDone {
        NetDone {
            result,
            fresh: None,
        }
    }
}

impl Drop for NetDone {
    fn drop(&mut self) {
        if let Some(s) = self.fresh.take() {
            s.close_now();
        }
    }
}

/// The short reason of an OS error, as the messages show it.
pub fn reason(e: &std::io::Error) -> String {
    match e.kind() {
        ErrorKind::AddrInUse => return "address in use".into(),
        ErrorKind::ConnectionRefused => return "connection refused".into(),
        ErrorKind::ConnectionReset => return "connection reset".into(),
        ErrorKind::ConnectionAborted => return "connection aborted".into(),
        ErrorKind::AddrNotAvailable => return "address not available".into(),
        ErrorKind::PermissionDenied => return "permission denied".into(),
        ErrorKind::TimedOut => return "timeout".into(),
        ErrorKind::BrokenPipe => return "connection closed by the peer (broken pipe)".into(),
        _ => {}
    }
    match e.raw_os_error() {
        Some(24) | Some(23) => "too many open files".into(),
        Some(101) => "network unreachable".into(),
        Some(113) => "host unreachable".into(),
        _ => {
            let text = e.to_string();
            let text = match text.find(" (os error") {
                Some(i) => text[..i].to_string(),
                None => text,
            };
            text.to_lowercase()
        }
    }
}

/// What kind of socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Listener,
    Stream,
    Udp,
}

enum Io {
    Listener(TcpListener),
    Stream(TcpStream),
    Udp(UdpSocket),
    None,
}

/// What a waiter waits for.
#[derive(Debug)]
enum Op {
    Accept,
    /// A packet (raw: at most `max` bytes, 0 = any).
    Recv {
        max: usize,
    },
    RecvFrom,
    Connect,
    /// Room in the send buffer for these (framed) bytes.
    Send(Vec<u8>),
}

struct Waiter {
    pid: Pid,
    /// Synchronous (the worker that registered it is still in `pump`):
    /// the result goes to `St::sync_result`, not to the done list.
    sync: bool,
    token: u64,
    ticket: Option<Ticket>,
    seq: u64,
    op: Op,
}

/// A socket's mutable state, under its lock.
struct St {
    io: Io,
    /// CLOSE was called (or the owner ended): no operation works any more;
    /// `io` lives on until the send buffer is written out.
    closed: bool,
    readable: bool,
    /// An event said the peer's side ended (or the socket failed): the
    /// end is to be read even after a short read took the last bytes.
    read_closed: bool,
    writable: bool,
    opts: Opts,
    /// Counted as a wake-up source (N4): active, open, not at its end.
    armed: Option<Ticket>,
    framer: Framer,
    wbuf: Vec<u8>,
    wpos: usize,
    /// The read side ended (end of stream, reset, or SHUTDOWN read).
    eof: bool,
    /// `tcp_closed` was sent (active mode): nothing more to say.
    said_closed: bool,
    /// What broke the connection (reset, …): later sends raise it.
    error: Option<String>,
    /// SHUTDOWN write asked for: done once the buffer is written.
    shut_write: bool,
    connecting: bool,
    reader: Option<Waiter>,
    writer: Option<Waiter>,
    sync_result: Option<NetDone>,
    /// Active-mode messages of the current `pump`, pushed at its end.
    outbox: Vec<Value>,
    /// The socket's handle value for its active-mode messages, made once
    /// while it is open (one allocation per socket, not per message).
    /// It holds the socket, so it is dropped when the socket closes
    /// (`close_now`, `shut`): a closed socket is not kept alive by itself.
    handle: Option<Value>,
}

/// A socket: a TCP listener, a TCP connection or a UDP socket.
pub struct Socket {
    pub id: u64,
    pub kind: Kind,
    /// The owning process (only the owner gets active-mode messages, may
    /// give the socket away, and closes it by ending).
    owner: AtomicI64,
    pub local: SocketAddr,
    pub peer: Option<SocketAddr>,
    net: Arc<NetShared>,
    st: Mutex<St>,
    /// Itself, to make handles and find the `Arc` from a handle.
    me: std::sync::Weak<Socket>,
}

impl fmt::Debug for Socket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.describe(f)
    }
}

impl Resource for Socket {
    fn kind(&self) -> &'static str {
        "Socket"
    }

    fn describe(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        match self.kind {
            Kind::Listener => write!(out, "tcp listen {}", self.local),
            Kind::Stream => match self.peer {
                Some(p) => write!(out, "tcp {} -> {p}", self.local),
                None => write!(out, "tcp {}", self.local),
            },
            Kind::Udp => write!(out, "udp {}", self.local),
        }
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

impl Owned for Socket {
    fn id(&self) -> u64 {
        self.id
    }

    fn owner_exited(&self, pid: Pid) {
        if self.owner.load(Ordering::SeqCst) == pid {
            self.close_now();
        }
    }
}

/// A host and port as the language shows them: `["127.0.0.1", 4000]`.
pub fn addr_value(a: &SocketAddr) -> Value {
    Value::list(vec![
        Value::str(a.ip().to_string()),
        Value::Int(a.port() as i64),
    ])
}

/// What the event loop shares with the workers.
pub(crate) struct NetShared {
    io: Arc<IoShared>,
    registry: Registry,
    waker: Arc<Waker>,
    /// The event loop and its events buffer: held by one worker at a time
    /// (N0), asleep in it or polling between slices.
    poll: Mutex<Poller>,
    sockets: Mutex<FxHashMap<u64, Arc<Socket>>>,
    next_id: AtomicU64,
    next_seq: AtomicU64,
    /// Waiters' deadlines: (when, socket id, waiter seq).
    deadlines: Mutex<BinaryHeap<Reverse<(Instant, u64, u64)>>>,
    /// Descriptors of other parts of the runtime read on this loop
    /// (distribution connections, `dist/`): token → what to call when
    /// one is readable ([`NetShared::add_source`]).
    sources: Mutex<FxHashMap<u64, Arc<dyn Readable>>>,
    /// The active-mode data messages' tags, one shared string each
    /// (a message clones a count, not a new string).
    tcp_tag: Value,
    udp_tag: Value,
}

/// A descriptor read on the event loop by another part of the runtime
/// (a distribution connection, `dist/`): [`Readable::ready`] runs on the
/// worker holding the poll right (N0), one call at a time, when the
/// descriptor became readable or was closed (`closed`: the peer's end or
/// an error was announced). Edge-triggered: it reads until it would
/// block — or, unless `closed`, until a read fills less than its buffer
/// (every later arrival brings its own event, as N2 uses). Like N2 it
/// touches no process: what it reads goes to the done list.
pub(crate) trait Readable: Send + Sync {
    fn ready(&self, closed: bool);
}

/// The node's network layer.
pub struct Net {
    shared: Arc<NetShared>,
}

impl Net {
    /// Make the event loop (no thread: idle and busy workers poll it,
    /// N0) and tell the idle protocol how to wake a worker asleep in it.
    pub(crate) fn start(io: Arc<IoShared>) -> Result<Net, String> {
        let why =
            |e: std::io::Error| format!("cannot start the network event loop: {}", reason(&e));
        let poll = Poll::new().map_err(why)?;
        let registry = poll.registry().try_clone().map_err(why)?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER).map_err(why)?);
        let w = waker.clone();
        io.idle().set_poll_waker(Arc::new(move || {
            let _ = w.wake();
        }));
        let shared = Arc::new(NetShared {
            io,
            registry,
            waker,
            poll: Mutex::new(Poller {
                poll,
                events: Events::with_capacity(1024),
            }),
            sockets: Mutex::new(FxHashMap::default()),
            next_id: AtomicU64::new(1),
            next_seq: AtomicU64::new(1),
            deadlines: Mutex::new(BinaryHeap::new()),
            sources: Mutex::new(FxHashMap::default()),
            tcp_tag: Value::str("tcp"),
            udp_tag: Value::str("udp"),
        });
        Ok(Net { shared })
    }

    /// What other parts of the runtime need to put descriptors on this
    /// loop ([`NetShared::add_source`]).
    pub(crate) fn shared(&self) -> Arc<NetShared> {
        self.shared.clone()
    }

    /// N0: the network poll, if no other worker holds it (a worker asleep
    /// in it, or one handling its events).
    pub(crate) fn try_poll(&self) -> Option<PollRight<'_>> {
        let g = self.shared.poll.try_lock().ok()?;
        Some(PollRight {
            g,
            net: &self.shared,
        })
    }

    /// Close every socket (the run is over).
    pub(crate) fn close_all(&self) {
        let all: Vec<Arc<Socket>> = lock(&self.shared.sockets).values().cloned().collect();
        for s in all {
            s.close_now();
        }
    }

    fn new_socket(
        &self,
        kind: Kind,
        io: Io,
        owner: Pid,
        peer: Option<SocketAddr>,
        opts: Opts,
        connecting: bool,
    ) -> Result<Arc<Socket>, std::io::Error> {
        new_socket(&self.shared, kind, io, owner, peer, opts, connecting)
    }

    /// TCP_LISTEN: a listening socket on `addr` owned by `owner`.
    pub fn listen(
        &self,
        addr: SocketAddr,
        backlog: u32,
        opts: Opts,
        owner: Pid,
    ) -> Result<Arc<Socket>, String> {
        let fail = |e: std::io::Error| format!("TCP_LISTEN {addr}: {}", reason(&e));
        let l = bind_listener(addr, backlog).map_err(fail)?;
        self.new_socket(Kind::Listener, Io::Listener(l), owner, None, opts, false)
            .map_err(fail)
    }

    /// UDP_OPEN: a UDP socket bound to `addr`.
    pub fn udp_open(
        &self,
        addr: SocketAddr,
        opts: Opts,
        owner: Pid,
    ) -> Result<Arc<Socket>, String> {
        let fail = |e: std::io::Error| format!("UDP_OPEN {addr}: {}", reason(&e));
        let u = UdpSocket::bind(addr).map_err(fail)?;
        let s = self
            .new_socket(Kind::Udp, Io::Udp(u), owner, None, opts, false)
            .map_err(fail)?;
        // An active UDP socket reads at once.
        s.kick();
        Ok(s)
    }

    /// TCP_CONNECT: start connecting to `addr`; the process waits for the
    /// connection (at most `timeout`).
    pub fn connect(
        &self,
        addr: SocketAddr,
        opts: Opts,
        timeout: Option<Duration>,
        pid: Pid,
        park: &mut dyn FnMut() -> (u64, Ticket),
    ) -> Step {
        let fail = |e: std::io::Error| {
            Step::Ready(NetDone::new(Err(NetError::Failed(format!(
                "TCP_CONNECT {addr}: {}",
                reason(&e)
            )))))
        };
        let stream = match TcpStream::connect(addr) {
            Ok(s) => s,
            Err(e) => return fail(e),
        };
        let s = match self.new_socket(
            Kind::Stream,
            Io::Stream(stream),
            pid,
            Some(addr),
            opts,
            true,
        ) {
            Ok(s) => s,
            Err(e) => return fail(e),
        };
        s.wait_for(Op::Connect, pid, timeout, park)
    }
}

fn bind_listener(addr: SocketAddr, backlog: u32) -> std::io::Result<TcpListener> {
    // std binds with a backlog of 128; a smaller or larger one is set by
    // listening again on the bound socket (listen(2) may be called twice).
    let l = std::net::TcpListener::bind(addr)?;
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: a plain listen(2) on a socket this function owns.
        let r = unsafe { libc_listen(l.as_raw_fd(), backlog.min(65535) as i32) };
        if r != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    l.set_nonblocking(true)?;
    Ok(TcpListener::from_std(l))
}

#[cfg(unix)]
extern "C" {
    #[link_name = "listen"]
    fn libc_listen(fd: i32, backlog: i32) -> i32;
}

fn new_socket(
    net: &Arc<NetShared>,
    kind: Kind,
    io: Io,
    owner: Pid,
    peer: Option<SocketAddr>,
    opts: Opts,
    connecting: bool,
) -> Result<Arc<Socket>, std::io::Error> {
    let id = net.next_id.fetch_add(1, Ordering::Relaxed);
    let token = Token(id as usize);
    let local = match &io {
        Io::Listener(l) => l.local_addr()?,
        Io::Stream(s) => s.local_addr()?,
        Io::Udp(u) => u.local_addr()?,
        Io::None => unreachable!("a new socket has its descriptor"),
    };
    let s = Arc::new_cyclic(|me| Socket {
        me: me.clone(),
        id,
        kind,
        owner: AtomicI64::new(owner),
        local,
        peer,
        net: net.clone(),
        st: Mutex::new(St {
            io,
            closed: false,
            readable: false,
            read_closed: false,
            writable: false,
            opts,
            armed: None,
            framer: Framer::new(opts.packet, !opts.binary, opts.max_packet),
            wbuf: Vec::new(),
            wpos: 0,
            eof: false,
            said_closed: false,
            error: None,
            shut_write: false,
            connecting,
            reader: None,
            writer: None,
            sync_result: None,
            outbox: Vec::new(),
            handle: None,
        }),
    });
    // In the table before it is registered: its first event (which may
    // come at once) must find it.
    lock(&net.sockets).insert(id, s.clone());
    let registered = {
        let mut st = lock(&s.st);
        match &mut st.io {
            Io::Listener(l) => net.registry.register(l, token, Interest::READABLE),
            Io::Stream(t) => {
                net.registry
                    .register(t, token, Interest::READABLE | Interest::WRITABLE)
            }
            Io::Udp(u) => net
                .registry
                .register(u, token, Interest::READABLE | Interest::WRITABLE),
            Io::None => Ok(()),
        }
    };
    if let Err(e) = registered {
        lock(&net.sockets).remove(&id);
        return Err(e);
    }
    Ok(s)
}

/// What a network operation did on the worker.
pub enum Step {
    /// Finished: the process goes on.
    Ready(NetDone),
    /// The process waits for I/O wait `token` (N1); its ticket is kept
    /// until then.
    Wait { token: u64, ticket: Ticket },
}

struct Poller {
    poll: Poll,
    events: Events,
}

impl NetShared {
    /// Read descriptor `fd` on this loop (edge-triggered, readable):
    /// `src.ready()` runs on the worker holding the poll right when it is
    /// readable (at once if it is already). The id, for
    /// [`NetShared::remove_source`].
    pub(crate) fn add_source(&self, fd: RawFd, src: Arc<dyn Readable>) -> std::io::Result<u64> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        // In the table before it is registered: its first event finds it.
        lock(&self.sources).insert(id, src);
        let r = self
            .registry
            .register(&mut SourceFd(&fd), Token(id as usize), Interest::READABLE);
        if let Err(e) = r {
            lock(&self.sources).remove(&id);
            return Err(e);
        }
        Ok(id)
    }

    /// Stop reading `fd` (source `id`); before `fd` is closed.
    pub(crate) fn remove_source(&self, id: u64, fd: RawFd) {
        let _ = self.registry.deregister(&mut SourceFd(&fd));
        lock(&self.sources).remove(&id);
    }
}

/// The right to poll the event loop (N0), held by one worker at a time.
pub(crate) struct PollRight<'a> {
    g: MutexGuard<'a, Poller>,
    net: &'a Arc<NetShared>,
}

impl PollRight<'_> {
    /// Wait for events at most `timeout` (`None`: until one comes),
    /// shortened to the earliest waiter's deadline; zero: just look.
    /// The events are kept for [`PollRight::handle`].
    pub(crate) fn wait(&mut self, timeout: Option<Duration>) {
        let deadline = {
            let d = lock(&self.net.deadlines);
            d.peek()
                .map(|Reverse((at, _, _))| at.saturating_duration_since(Instant::now()))
        };
        let timeout = match (timeout, deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let Poller { poll, events } = &mut *self.g;
        if let Err(e) = poll.poll(events, timeout) {
            events.clear();
            if e.kind() != ErrorKind::Interrupted {
                // Nothing to do but try again a little later.
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }

    /// N2 for the events [`PollRight::wait`] got, then the waiters whose
    /// deadline passed. Results and messages go to the done list.
    pub(crate) fn handle(&mut self) {
        let net = self.net;
        for ev in self.g.events.iter() {
            if ev.token() == WAKER {
                continue;
            }
            let s = lock(&net.sockets).get(&(ev.token().0 as u64)).cloned();
            if let Some(s) = s {
                let closed = ev.is_read_closed() || ev.is_error();
                let readable = ev.is_readable() || closed;
                let writable = ev.is_writable() || ev.is_write_closed() || ev.is_error();
                s.on_event(readable, writable, closed);
            } else {
                let src = lock(&net.sources).get(&(ev.token().0 as u64)).cloned();
                if let Some(src) = src {
                    src.ready(ev.is_read_closed() || ev.is_error());
                }
            }
        }
        self.g.events.clear();
        let due = lock(&net.deadlines)
            .peek()
            .is_some_and(|Reverse((at, _, _))| *at <= Instant::now());
        if due {
            expire(net, Instant::now());
        }
    }
}

/// The waiters whose deadline passed get `NetError::Timeout`.
fn expire(net: &NetShared, now: Instant) {
    loop {
        let (id, seq) = {
            let mut d = lock(&net.deadlines);
            match d.peek() {
                Some(Reverse((at, id, seq))) if *at <= now => {
                    let r = (*id, *seq);
                    d.pop();
                    r
                }
                _ => return,
            }
        };
        let s = lock(&net.sockets).get(&id).cloned();
        if let Some(s) = s {
            s.time_out(seq);
        }
    }
}

impl Socket {
    fn handle(self: &Arc<Socket>) -> Value {
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
    fn handle_in(self: &Arc<Socket>, st: &mut St) -> Value {
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

    fn on_event(self: &Arc<Socket>, readable: bool, writable: bool, read_closed: bool) {
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

    fn time_out(self: &Arc<Socket>, seq: u64) {
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
    fn complete(&self, st: &mut St, w: Waiter, done: NetDone) {
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
    fn tell(&self, st: &mut St, msg: Value) {
        st.outbox.push(msg);
    }

    fn data_value(&self, st: &St, bytes: Vec<u8>) -> Value {
        if st.opts.binary {
            Value::list(bytes.into_iter().map(|b| Value::Int(b as i64)).collect())
        } else {
            match String::from_utf8(bytes) {
                Ok(s) => Value::Str(Arc::new(Str::new(s))),
                Err(e) => Value::str(String::from_utf8_lossy(e.as_bytes()).into_owned()),
            }
        }
    }

    fn active_allows(st: &St) -> bool {
        st.opts.active != Active::Off && !st.closed
    }

    /// One message sent in active mode: count it down.
    fn used_active(self: &Arc<Socket>, st: &mut St) {
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
    fn pump(self: &Arc<Socket>, st: &mut St) {
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
    fn rearm(&self, st: &mut St) {
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

    fn pump_write(self: &Arc<Socket>, st: &mut St) {
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

    fn peer_text(&self) -> String {
        match self.peer {
            Some(p) => p.to_string(),
            None => self.local.to_string(),
        }
    }

    fn closed_msg(&self, op: &str) -> String {
        format!("{op} {}: socket closed", self.peer_text())
    }

    fn pump_accept(self: &Arc<Socket>, st: &mut St) {
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

    fn pump_stream(self: &Arc<Socket>, st: &mut St) {
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
    fn broken(self: &Arc<Socket>, st: &mut St, why: String) {
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

    fn pump_udp(self: &Arc<Socket>, st: &mut St) {
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
    fn shut(&self, st: &mut St) {
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
    fn wait_for(
        self: &Arc<Socket>,
        op: Op,
        pid: Pid,
        timeout: Option<Duration>,
        park: &mut dyn FnMut() -> (u64, Ticket),
    ) -> Step {
        let mut st = lock(&self.st);
        self.wait_locked(&mut st, op, pid, timeout, park)
    }

    fn wait_locked(
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

    fn check_kind(&self, want: Kind, op: &str) -> Result<(), String> {
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

    fn fail(msg: String) -> Step {
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
    fn passive(&self, want: Kind, op: &str) -> Result<std::sync::MutexGuard<'_, St>, String> {
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

fn process_name(pid: Pid) -> String {
    format!("process {pid}")
}

/// An object's option fields, for the `*_OPTS` forms and SOCKET_SETOPTS.
pub fn object_field<'a>(o: &'a Object, key: &str) -> Option<&'a Value> {
    o.get(key)
}
