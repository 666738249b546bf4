//! Erlang distribution (issue 17): a ttvm node joins an Erlang cluster
//! with the BEAM's own protocol — EPMD registration, the handshake with
//! cookies, and messages in the external term format. The user's view is
//! docs/DISTRIBUTION.md; the term mapping is `term/`. This file keeps the
//! node, SEND and a worker's write path; `conn.rs` makes, accepts and
//! writes connections, `inbound.rs` reads them, `signals.rs` carries
//! links, monitors and exit signals.
//!
//! **Read on the schedulers, written by the sender's worker.** An
//! established connection's socket is read on the node's network event
//! loop (`net/`, N0: the worker holding the poll right, asleep in it or
//! looking between slices): on a readable event that worker reads what
//! the socket holds without blocking, decodes the frames, converts their
//! terms to values and hands each message to the workers through the I/O
//! pool's done list (as a socket's messages, N2/N3 in `sched/README.md`)
//! — and usually delivers it and runs the receiver itself, with no thread
//! hop between the socket and the process. SEND on a worker encodes the
//! frame into that worker's buffer for the connection; the worker writes
//! its buffers when the slice ends (before the process can run anywhere
//! else) with one non-blocking send, when nothing queued before them is
//! still unwritten ([`Conn::queued`]). What the socket does not take, and
//! what other threads send (connection threads), goes to the
//! connection's writer thread through a channel, in order; the writer
//! also sends a tick when the peer heard nothing from it for a while, and
//! closes a connection the peer has been silent on for [`SILENCE`]. A
//! process never waits for the network: SEND converts the message, queues
//! it and goes on (as the BEAM's does); a reply comes as any message, to a
//! receive that parks as usual. A listener thread accepts connections;
//! the handshake of each runs on a thread of its own, with timeouts.
//!
//! **Connections on first use.** The first SEND to a node creates its
//! connection entry (with the channel) and a thread that asks the node's
//! EPMD for its port (PORT_PLEASE2) and does the handshake; messages sent
//! meanwhile wait in the channel, in order, and go out once it is up, or
//! are dropped (with one line on stderr and a `--trace-procs` line) when
//! the node cannot be reached — the BEAM drops them silently.
//!
//! **Order.** Messages of one sender to one receiver go through one TCP
//! connection: a sender's frames wait in its worker's buffer for the
//! connection in the order sent, and leave (or go to the writer's queue,
//! after what waits there) before the sender's slice is over, so before
//! it can send from another worker; the socket is read by one worker at a
//! time (N0) and its messages are delivered by the done list in the order
//! read (N3), so they arrive in the order sent.
//!
//! **Safety.** A frame longer than [`wire::MAX_FRAME`], nested deeper than
//! `term::LIMITS` allow, or not decodable closes that connection only (one
//! line on stderr, a panic while handling it too); reading never touches a
//! process. The run
//! stays alive while the node is distributed: the node holds an I/O ticket
//! (I5), so a process waiting for a message from another node is not a
//! deadlock; the run ends when every process has ended (or at EXIT).

mod busy;
mod conn;
mod inbound;
mod signals;
pub mod spawn;

pub use busy::Busy;
use conn::connect_epmd;
pub mod term;
pub mod wire;

use crate::io::{Done, IoShared};
use crate::net::{NetShared, Readable};
use crate::process::{Pid, Ticket};
use crate::sync::lock;
use crate::value::Value;
use erl_dist::epmd::{EpmdClient, EpmdError, NodeEntry};
use erl_dist::handshake::{
    ClientSideHandshake, HandshakeError, HandshakeStatus, ServerSideHandshake,
};
use erl_dist::message::Message;
use erl_dist::node::{LocalNode, NodeName, PeerNode};
use erl_dist::term::{Atom, Pid as ErlPid, PidOrAtom, Reference, Term};
use erl_dist::DistributionFlags;
use futures::executor::block_on;
use futures::io::AllowStdIo;
use rustc_hash::FxHashMap;
use std::cell::{Cell, RefCell};
use std::io::{BufWriter, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// EPMD's port when `ERL_EPMD_PORT` does not say another.
pub const DEFAULT_EPMD_PORT: u16 = 4369;
/// How long a handshake (or an EPMD request) may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// A tick goes out when nothing was written for this long (the BEAM's
/// `net_ticktime` 60 s, ticked four times per period).
const TICK: Duration = Duration::from_secs(15);
/// A connection on which nothing arrived for this long is gone (the
/// BEAM's `net_ticktime`, plus a margin).
const SILENCE: Duration = Duration::from_secs(75);
/// A worker's frames for one connection are written at once past this
/// many bytes, without waiting for the slice's end.
const PENDING_MAX: usize = 64 << 10;
/// After a failed connection attempt, messages to that node are dropped
/// for this long before the next SEND tries again.
const RETRY_AFTER: Duration = Duration::from_secs(1);
/// A connection whose queue holds more than this many bytes (each message
/// weighed by the bound on its encoded size, a worker's frames by their
/// length) is busy: a SEND to it waits
/// until the queue is back under it (the BEAM's `dist_buf_busy_limit`,
/// 1 MB by default; `busy.rs`).
pub const BUSY_LIMIT: usize = 1 << 20;

/// What starting a node needs (`ttvm --sname/--name`, `--cookie`).
pub struct DistConfig {
    /// The full node name, `alive@host`.
    pub name: String,
    pub cookie: String,
    /// The address the listener binds (loopback unless given).
    pub listen: IpAddr,
    /// EPMD's port (`ERL_EPMD_PORT`, else 4369).
    pub epmd_port: u16,
    /// Prints one line on stderr (the VM's own stderr).
    pub warn: Arc<dyn Fn(&str) + Send + Sync>,
}

/// What a SEND to another node could not do (a catchable error).
pub type SendError = String;

type Tracer = Arc<dyn Fn(&str) + Send + Sync>;

/// The distribution side of a node, started by [`Dist::start`].
pub struct Dist {
    name: String,
    local: LocalNode,
    cookie: String,
    epmd_port: u16,
    port: u16,
    listen: IpAddr,
    io: Arc<IoShared>,
    /// The node's network event loop: connections are read on it.
    net: Arc<NetShared>,
    /// What [`Conn::heard`] counts from.
    epoch: Instant,
    conns: Mutex<FxHashMap<String, Arc<Conn>>>,
    trace: Option<Tracer>,
    warn: Arc<dyn Fn(&str) + Send + Sync>,
    /// Monitors of processes of other nodes held by local processes: the
    /// local reference (an Int) → watcher and target. Whoever removes an
    /// entry delivers its DOWN, so there is exactly one.
    monitors: Mutex<FxHashMap<i64, RemoteMon>>,
    /// Local processes watched by processes of other nodes: PID → the
    /// watchers and their references. Whoever removes an entry sends its
    /// MONITOR_P_EXIT.
    watched: Mutex<FxHashMap<Pid, Vec<(ErlPid, Reference)>>>,
    /// Links between local processes and processes of other nodes: local
    /// PID → the remote partners. Whoever removes a pair sends (or
    /// delivers) the exit signal along it.
    links: Mutex<FxHashMap<Pid, Vec<ErlPid>>>,
    /// SPAWNs on other nodes waiting for their reply, by local reference
    /// number (`spawn.rs`).
    spawns: Mutex<FxHashMap<i64, spawn::Pending>>,
    /// Messages queued by SEND and not yet written (or dropped): the end
    /// of a run waits for them ([`Dist::flush`]).
    unsent: AtomicUsize,
    /// The registration with EPMD lasts as long as this connection.
    _epmd: TcpStream,
    /// Held for the node's life: a process waiting for a message from
    /// another node is not a deadlock (I5).
    _alive: Ticket,
}

/// One connection to another node (or the attempt to make one).
struct Conn {
    peer: String,
    tx: Sender<Out>,
    /// The writer's end, taken by whichever handshake (ours or the
    /// peer's) completes first.
    rx: Mutex<Option<Receiver<Out>>>,
    up: AtomicBool,
    stream: Mutex<Option<TcpStream>>,
    /// The attempt failed; until then, messages to the node are dropped.
    failed: Mutex<Option<Instant>>,
    /// What the writer's queue weighs (bytes, `busy.rs`: every item at
    /// least 1), counted up before an item goes into `tx` and down by the
    /// writer, holding `writing`, once it is flushed; and the senders
    /// waiting for it to go under [`BUSY_LIMIT`]. While it is not 0, a
    /// worker's frames go after what waits, through `tx`.
    queued: AtomicUsize,
    busy: Mutex<busy::Waiting>,
    /// Held by whoever writes to the socket: the writer thread for a
    /// whole batch (to its flush), a worker for one non-blocking write of
    /// its frames (`try_lock` only: a worker never waits).
    writing: Mutex<()>,
    /// The reading side, on the event loop (`Dist::read_ready`).
    read: Mutex<ReadSide>,
    /// When the peer was last heard from (ms since `Dist::epoch`).
    heard: AtomicU64,
}

/// A connection's socket as the event loop reads it.
#[derive(Default)]
struct ReadSide {
    /// The descriptor and its source id on the loop; `None` before the
    /// connection is up and after it ended.
    on: Option<(TcpStream, u64)>,
    /// Bytes read and not yet a whole frame.
    buf: Vec<u8>,
}

/// What the event loop calls when a connection's socket is readable.
struct ConnReader {
    dist: Arc<Dist>,
    conn: Arc<Conn>,
}

impl Readable for ConnReader {
    fn ready(&self, closed: bool) {
        READING.with(|r| r.set(true));
        self.dist.read_ready(&self.conn, closed);
        READING.with(|r| r.set(false));
    }
}

struct RemoteMon {
    watcher: Pid,
    target: ErlPid,
}

/// A process of another node asks to monitor a local one (MONITOR_P): the
/// delivering worker resolves the target ([`Dist::watch`]).
pub struct WatchReq {
    /// The local PID, or a registered name.
    pub(crate) target: Result<Pid, String>,
    watcher: ErlPid,
    reference: Reference,
}

/// A process of another node links to a local one (LINK): the delivering
/// worker checks the target ([`Dist::linked`]).
pub struct LinkReq {
    local: Pid,
    remote: ErlPid,
}

enum Out {
    /// A message and its weight in the queue (`busy.rs`).
    Msg(Box<Message>, usize),
    /// Encoded frames of this many messages (what a worker's
    /// non-blocking write left); they weigh their length.
    Frames(Vec<u8>, usize),
    Close,
}

impl Out {
    /// The messages it holds.
    fn messages(&self) -> usize {
        match self {
            Out::Msg(..) => 1,
            Out::Frames(_, n) => *n,
            Out::Close => 0,
        }
    }

    /// What it weighs in [`Conn::queued`].
    fn weight(&self) -> usize {
        match self {
            Out::Msg(_, size) => *size,
            Out::Frames(f, _) => f.len(),
            Out::Close => 0,
        }
    }
}

thread_local! {
    /// Set on a scheduler worker's thread ([`worker_thread`]): SEND's
    /// frames then wait in [`PENDING`] until the slice ends.
    static WORKER: Cell<bool> = const { Cell::new(false) };
    /// Set while the worker holding the poll right reads a connection
    /// ([`ConnReader`]): the messages it hands on it delivers itself
    /// next (`IoShared::push_local`).
    static READING: Cell<bool> = const { Cell::new(false) };
    /// The frames sent on this worker thread since its last
    /// [`Dist::flush_pending`], per connection, in the order sent, with
    /// their message counts.
    static PENDING: RefCell<Vec<Pending>> = const { RefCell::new(Vec::new()) };
}

/// A connection, the frames a worker has for it and their messages.
type Pending = (Arc<Conn>, Vec<u8>, usize);

/// The calling thread is a scheduler worker of a distributed node (`on`)
/// or stops being one: SENDs to other nodes made on it wait for
/// [`Dist::flush_pending`], which the worker calls at the end of each
/// slice and before it sleeps, instead of going through the writer
/// thread one by one.
pub(crate) fn worker_thread(on: bool) {
    WORKER.with(|w| w.set(on));
}

impl Conn {
    fn new(peer: &str) -> Arc<Conn> {
        let (tx, rx) = channel();
        Arc::new(Conn {
            peer: peer.to_string(),
            tx,
            rx: Mutex::new(Some(rx)),
            up: AtomicBool::new(false),
            stream: Mutex::new(None),
            failed: Mutex::new(None),
            queued: AtomicUsize::new(0),
            busy: Mutex::new(busy::Waiting::default()),
            writing: Mutex::new(()),
            read: Mutex::new(ReadSide::default()),
            heard: AtomicU64::new(0),
        })
    }

    fn close(&self) {
        let _ = self.tx.send(Out::Close);
        if let Some(s) = lock(&self.stream).as_ref() {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

/// The node name's parts (`alive@host`), checked as EPMD and the
/// handshake need them.
pub fn split_name(name: &str) -> Result<(&str, &str), String> {
    let (alive, host) = name
        .split_once('@')
        .ok_or_else(|| format!("node name `{name}` has no @host part (write it as name@host)"))?;
    if alive.is_empty() || host.is_empty() {
        return Err(format!(
            "node name `{name}` needs a name and a host (name@host)"
        ));
    }
    if !alive
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(format!(
            "node name `{name}`: the part before @ may hold only letters, digits, _ and -"
        ));
    }
    if host.len() > 255 || alive.len() > 255 {
        return Err(format!("node name `{name}` is too long"));
    }
    Ok((alive, host))
}

impl Dist {
    /// Start the node: listen, register with the local EPMD (starting
    /// `epmd -daemon` when none answers), accept connections.
    pub(crate) fn start(
        cfg: DistConfig,
        io: Arc<IoShared>,
        net: Arc<NetShared>,
        trace: Option<Tracer>,
    ) -> Result<Arc<Dist>, String> {
        let (alive, _host) = split_name(&cfg.name)?;
        let node_name: NodeName = cfg
            .name
            .parse()
            .map_err(|e| format!("node name `{}`: {e}", cfg.name))?;
        let listener = TcpListener::bind((cfg.listen, 0)).map_err(|e| {
            format!(
                "cannot listen for distribution on {}: {}",
                cfg.listen,
                crate::net::reason(&e)
            )
        })?;
        let port = listener
            .local_addr()
            .map_err(|e| format!("cannot listen for distribution: {}", crate::net::reason(&e)))?
            .port();
        let epmd = connect_epmd(cfg.epmd_port)?;
        let entry = NodeEntry::new(alive, port);
        let (epmd, creation) = block_on(EpmdClient::new(AllowStdIo::new(epmd)).register(entry))
            .map_err(|e| match e {
                EpmdError::RegisterNodeError { .. } => format!(
                    "the node name `{alive}` is already in use on this host (EPMD on port {} refused to register it); choose another --sname/--name",
                    cfg.epmd_port
                ),
                other => format!("cannot register with EPMD on port {}: {other}", cfg.epmd_port),
            })?;
        let epmd = epmd.into_inner();
        let _ = epmd.set_read_timeout(None);
        let mut local = LocalNode::new(node_name, creation);
        local.flags |= DistributionFlags::PUBLISHED
            | DistributionFlags::DIST_MONITOR
            | DistributionFlags::DIST_MONITOR_NAME
            | DistributionFlags::SPAWN;
        let dist = Arc::new(Dist {
            name: cfg.name.clone(),
            local,
            cookie: cfg.cookie,
            epmd_port: cfg.epmd_port,
            port,
            listen: cfg.listen,
            _alive: io.new_ticket(),
            io,
            net,
            epoch: Instant::now(),
            conns: Mutex::new(FxHashMap::default()),
            trace,
            warn: cfg.warn,
            unsent: AtomicUsize::new(0),
            monitors: Mutex::new(FxHashMap::default()),
            watched: Mutex::new(FxHashMap::default()),
            links: Mutex::new(FxHashMap::default()),
            spawns: Mutex::new(FxHashMap::default()),
            _epmd: epmd,
        });
        let d = dist.clone();
        std::thread::Builder::new()
            .name("ttvm-dist-accept".into())
            .spawn(move || d.accept_loop(listener))
            .map_err(|e| format!("cannot start the distribution listener thread: {e}"))?;
        dist.trace(|| {
            format!(
                "node {} up: listening on {}:{port}, creation {}",
                dist.name,
                dist.listen,
                creation.get()
            )
        });
        Ok(dist)
    }

    /// This node's name (`alive@host`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// This node's creation (from EPMD): PIDs of an earlier run of a node
    /// of the same name differ in it.
    pub fn creation(&self) -> u32 {
        self.local.creation.get()
    }

    /// The listener's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The nodes connected now, sorted.
    pub fn nodes(&self) -> Vec<String> {
        let mut v: Vec<String> = lock(&self.conns)
            .values()
            .filter(|c| c.up.load(Ordering::SeqCst))
            .map(|c| c.peer.clone())
            .collect();
        v.sort();
        v
    }

    fn trace(&self, event: impl FnOnce() -> String) {
        if let Some(t) = &self.trace {
            t(&format!("dist: {}", event()));
        }
    }

    /// SEND to a PID of another node: queue it on that node's connection
    /// (made on first use). `from` is the sender (for the trace).
    /// `size` is the message's weight (`term::to_term_sized`); `Some`:
    /// the connection is busy now, and the sender should wait
    /// ([`Dist::wait_busy`]).
    pub fn send(
        self: &Arc<Self>,
        from: Pid,
        to: ErlPid,
        msg: Term,
        size: usize,
    ) -> Result<Option<Busy>, SendError> {
        let node = to.node.name.clone();
        self.trace(|| format!("send {from} -> {to} (node {node})"));
        Ok(self
            .conn(&node)?
            .and_then(|conn| self.enqueue_sized(conn, Message::send(to, msg), size)))
    }

    /// SEND to the process registered as `name` on `node` (REG_SEND).
    pub fn send_named(
        self: &Arc<Self>,
        from: Pid,
        name: &str,
        node: &str,
        msg: Term,
        size: usize,
    ) -> Result<Option<Busy>, SendError> {
        self.trace(|| format!("send {from} -> {name} on node {node}"));
        let me = term::NodeCtx::local_pid(&**self, from).map_err(|e| e.to_string())?;
        Ok(self.conn(node)?.and_then(|conn| {
            self.enqueue_sized(conn, Message::reg_send(me, Atom::from(name), msg), size)
        }))
    }

    /// Queue a control message (a signal: small, never waits).
    fn enqueue(&self, conn: &Arc<Conn>, m: Message) {
        self.push_out(conn, m, busy::SIGNAL_WEIGHT);
    }

    /// Queue `m` (weighing `size`) for `conn`'s node. On a worker thread
    /// its frame waits in [`PENDING`] for the end of the slice
    /// ([`Dist::flush_pending`]); elsewhere (connection threads) it goes
    /// to the writer thread.
    fn push_out(&self, conn: &Arc<Conn>, m: Message, size: usize) {
        if !WORKER.with(Cell::get) {
            let size = size.max(1);
            self.unsent.fetch_add(1, Ordering::SeqCst);
            conn.queued.fetch_add(size, Ordering::SeqCst);
            if conn.tx.send(Out::Msg(Box::new(m), size)).is_err() {
                self.unsent.fetch_sub(1, Ordering::SeqCst);
                conn.queued.fetch_sub(size, Ordering::SeqCst);
            }
            return;
        }
        let full = PENDING.with(|p| {
            let mut p = p.borrow_mut();
            let i = match p.iter().position(|(c, ..)| Arc::ptr_eq(c, conn)) {
                Some(i) => i,
                None => {
                    p.push((conn.clone(), Vec::new(), 0));
                    p.len() - 1
                }
            };
            let (_, frames, n) = &mut p[i];
            let start = frames.len();
            match wire::encode(m, frames) {
                Ok(()) => {
                    *n += 1;
                    self.unsent.fetch_add(1, Ordering::SeqCst);
                }
                Err(e) => {
                    frames.truncate(start);
                    (self.warn)(&format!("ttvm: distribution: a message was not sent: {e}"));
                }
            }
            (frames.len() >= PENDING_MAX).then(|| p.remove(i))
        });
        if let Some((c, f, n)) = full {
            self.write_frames(&c, f, n);
        }
    }

    /// The end of a worker's slice (or the worker is about to sleep, or
    /// stops): the frames its processes sent go out, per connection in
    /// the order sent — written right here when the connection's writer
    /// has nothing waiting (one non-blocking write: a ping-pong message
    /// reaches the socket without waking the writer thread, and a
    /// slice's stream of messages goes out in one write), else handed to
    /// the writer.
    pub(crate) fn flush_pending(&self) {
        let pending = PENDING.with(|p| {
            let mut p = p.borrow_mut();
            (!p.is_empty()).then(|| std::mem::take(&mut *p))
        });
        for (conn, frames, n) in pending.into_iter().flatten() {
            self.write_frames(&conn, frames, n);
        }
    }

    /// Write `n` messages' `frames` to `conn`'s socket now if nothing
    /// waits before them and the socket takes them without blocking; what
    /// it does not take goes to the writer thread, which writes it before
    /// anything queued later. (Those bytes weigh in the queue, so a
    /// sender to a peer that reads nothing becomes busy, `busy.rs`.)
    fn write_frames(&self, conn: &Conn, frames: Vec<u8>, n: usize) {
        if frames.is_empty() {
            return;
        }
        let mut rest = &frames[..];
        // Holding `writing` with nothing queued: every message queued
        // before these is on the socket already.
        let guard = conn.writing.try_lock().ok();
        if guard.is_some()
            && conn.up.load(Ordering::SeqCst)
            && conn.queued.load(Ordering::SeqCst) == 0
        {
            if let Some(s) = lock(&conn.stream).as_ref() {
                rest = write_nonblocking(s, rest);
            }
            if rest.is_empty() {
                drop(guard);
                self.sent(n);
                return;
            }
        }
        let rest = if rest.len() == frames.len() {
            frames
        } else {
            rest.to_vec()
        };
        // Counted while `writing` is still held (when it is ours): a worker
        // that takes it next sees this queued and goes after it.
        let weight = rest.len();
        conn.queued.fetch_add(weight, Ordering::SeqCst);
        if conn.tx.send(Out::Frames(rest, n)).is_err() {
            conn.queued.fetch_sub(weight, Ordering::SeqCst);
            self.sent(n);
        }
        drop(guard);
    }

    /// The run is over: give the messages still queued up to `limit` to
    /// go out (a program that sends and ends at once still delivers, as
    /// an Erlang node stopped with `init:stop()` does). Messages to a node
    /// that cannot be reached are dropped meanwhile, so this ends early
    /// then.
    pub fn flush(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        while self.unsent.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        let left = self.unsent.load(Ordering::SeqCst);
        if left > 0 {
            (self.warn)(&format!(
                "ttvm: distribution: the run ended with {left} message(s) to other nodes not sent after {} ms",
                limit.as_millis()
            ));
        }
    }

    fn sent(&self, n: usize) {
        if n > 0 {
            self.unsent.fetch_sub(n, Ordering::SeqCst);
        }
    }
}

/// Write what `s` takes of `bytes` without blocking (`MSG_DONTWAIT`; a
/// worker never waits for the network); the rest. An error is left to
/// the writer thread, which meets it on its next write, or to the read
/// side.
fn write_nonblocking<'a>(s: &TcpStream, mut bytes: &'a [u8]) -> &'a [u8] {
    while !bytes.is_empty() {
        // SAFETY: the descriptor is `s`'s, open while it is borrowed; the
        // pointer and length are those of a live slice.
        let r = unsafe {
            libc::send(
                s.as_raw_fd(),
                bytes.as_ptr().cast(),
                bytes.len(),
                libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
            )
        };
        if r > 0 {
            bytes = &bytes[r as usize..];
        } else if r < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted
        {
            continue;
        } else {
            break;
        }
    }
    bytes
}

/// The term mapping (`term.rs`) asks the node for its name and creation.
impl term::NodeCtx for Dist {
    fn node_name(&self) -> &str {
        &self.name
    }

    fn creation(&self) -> u32 {
        self.local.creation.get()
    }
}

fn term_to_value(t: Term, dist: &Dist) -> Result<Value, String> {
    term::from_term(t, dist).map_err(|e| e.to_string())
}
