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
//!
//! **Files.** This file: the types, the node's [`Net`] and making sockets;
//! `poll.rs`: the event loop and deadlines; `pump.rs`: a socket's event
//! side (`pump` and what it performs); `ops.rs`: its process side (the
//! operations a worker runs for its process); `framing.rs`: packets.

pub mod framing;
mod ops;
mod poll;
pub(crate) use poll::PollRight;
use poll::Poller;
mod pump;

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
/// How long the end of a run keeps writing what closed sockets still
/// hold ([`Net::close_all`]).
pub const LINGER: Duration = Duration::from_secs(10);
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

    /// Close every socket (the run is over), then write out what closed
    /// streams still hold (SOCKET_CLOSE promises that unsent bytes are
    /// still sent): the run's end polls the event loop itself, since no
    /// worker does any more, for at most [`LINGER`]; what a peer has not
    /// taken by then is dropped with a line on stderr, so a peer that
    /// never reads cannot keep the VM from ending.
    pub(crate) fn close_all(&self) {
        let all: Vec<Arc<Socket>> = lock(&self.shared.sockets).values().cloned().collect();
        for s in all {
            s.close_now();
        }
        let end = Instant::now() + LINGER;
        loop {
            // Only closed streams with unsent bytes are left (`close_now`
            // shut the others; `pump_write` shuts these once written).
            if lock(&self.shared.sockets).is_empty() {
                return;
            }
            let now = Instant::now();
            if now >= end {
                break;
            }
            match self.try_poll() {
                Some(mut right) => {
                    right.wait(Some((end - now).min(Duration::from_millis(100))));
                    right.handle();
                }
                // A worker thread of an earlier round may still be
                // letting go of it.
                None => std::thread::sleep(Duration::from_millis(1)),
            }
        }
        let left: Vec<Arc<Socket>> = lock(&self.shared.sockets).values().cloned().collect();
        for s in left {
            let mut st = lock(&s.st);
            let unsent = st.wbuf.len() - st.wpos;
            eprintln!(
                "ttvm: {unsent} unsent bytes to {} dropped: the peer did not read them within {} s of the program's end",
                s.peer_text(),
                LINGER.as_secs()
            );
            s.shut(&mut st);
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

fn process_name(pid: Pid) -> String {
    format!("process {pid}")
}

/// An object's option fields, for the `*_OPTS` forms and SOCKET_SETOPTS.
pub fn object_field<'a>(o: &'a Object, key: &str) -> Option<&'a Value> {
    o.get(key)
}
