//! Erlang distribution (issue 17): a ttvm node joins an Erlang cluster
//! with the BEAM's own protocol — EPMD registration, the handshake with
//! cookies, and messages in the external term format. The user's view is
//! docs/DISTRIBUTION.md; the term mapping is `term.rs`.
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
mod signals;
pub mod spawn;

pub use busy::Busy;
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

    /// The connection to `node`, or a new attempt to make one.
    /// `None`: the node could not be reached a moment ago; the message is
    /// dropped without a new attempt until [`RETRY_AFTER`] has passed (a
    /// sender of many messages to a node that is down starts one attempt
    /// per period, not one per message).
    fn conn(self: &Arc<Self>, node: &str) -> Result<Option<Arc<Conn>>, SendError> {
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
    fn connect(self: Arc<Self>, conn: Arc<Conn>) {
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
    fn superseded(&self, conn: &Arc<Conn>) -> bool {
        lock(&conn.rx).is_none()
            || !lock(&self.conns)
                .get(&conn.peer)
                .is_some_and(|c| Arc::ptr_eq(c, conn))
    }

    /// A connection attempt failed: drop what waited in it — observably —
    /// and what comes for [`RETRY_AFTER`]; the next SEND after that tries
    /// again.
    fn failed(&self, conn: &Arc<Conn>, reason: &str) {
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
    fn dial(&self, conn: &Arc<Conn>) -> Result<(TcpStream, PeerNode), Dial> {
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

    fn accept_loop(self: Arc<Self>, listener: TcpListener) {
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
    fn accept(self: Arc<Self>, stream: TcpStream) {
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
    fn run(self: Arc<Self>, conn: Arc<Conn>, stream: TcpStream, peer: PeerNode, rx: Receiver<Out>) {
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

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Whether the peer has said nothing (not even a tick) for
    /// [`SILENCE`].
    fn silent(&self, conn: &Conn) -> bool {
        self.now_ms()
            .saturating_sub(conn.heard.load(Ordering::SeqCst))
            > SILENCE.as_millis() as u64
    }

    fn write_loop(&self, conn: &Conn, stream: TcpStream, rx: &Receiver<Out>) -> String {
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

    /// The event loop found `conn`'s socket readable (on the worker
    /// holding the poll right, N0): read what it holds without blocking
    /// (edge-triggered: until it would block), and hand each whole
    /// frame's message on (`incoming`: the done list, N2). The end of the
    /// stream, an error or a frame this node refuses ends the connection
    /// (its socket leaves the loop first). Unless `closed` (the event
    /// announced the peer's end or an error), a read that fills less
    /// than its room ends the look: the next arrival brings its own
    /// event.
    fn read_ready(&self, conn: &Arc<Conn>, closed: bool) {
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
    fn frames(&self, conn: &Conn, buf: &mut Vec<u8>) -> Result<(), String> {
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
    fn malformed(&self, conn: &Conn, e: &str) -> String {
        (self.warn)(&format!(
            "ttvm: distribution: closed the connection to node {}: it sent {e}",
            conn.peer
        ));
        format!("malformed frame: {e}")
    }

    /// The connection is gone: forget it, stop its writer.
    fn down(&self, conn: &Arc<Conn>, reason: &str) {
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
    fn node_lost(&self, node: &str) {
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
    fn incoming(&self, msg: Message, peer: &str) {
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
    fn remote_exit(&self, from: ErlPid, to: ErlPid, reason: Term, link: bool) {
        let Some(local) = term::NodeCtx::as_local(self, &to) else {
            return;
        };
        if link && !self.unlink_pair(local, &from) {
            return; // unlinked meanwhile, or never linked
        }
        let reason = term::reason_from_term(reason, self);
        self.exit_to_local(local, &from, reason, link);
    }

    fn deliver(&self, to: ErlPid, t: Term, peer: &str) {
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

    fn deliver_named(&self, name: String, t: Term, peer: &str) {
        if let Some(v) = self.value_of(t, peer) {
            self.push_done(Done::Named(Arc::from(name.as_str()), v));
        }
    }

    /// A message from another node to the done list: without waking
    /// another worker when the worker reading the connection delivers it
    /// itself next (`IoShared::push_local`).
    fn push_done(&self, item: Done) {
        if READING.with(Cell::get) {
            self.io.push_local(item);
        } else {
            self.io.push(item);
        }
    }

    fn value_of(&self, t: Term, peer: &str) -> Option<Value> {
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

enum Dial {
    /// The peer has its own attempt to connect to us under way, and it
    /// wins.
    Ongoing,
    /// The peer's connection to us came up while we dialled.
    Superseded,
    Failed(String),
}

fn handshake_reason(node: &str, e: HandshakeError, challenged: bool) -> String {
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

/// Read into `buf`'s spare room without blocking (`MSG_DONTWAIT`: the
/// socket stays blocking for its writer thread); the bytes read.
fn recv_nonblocking(fd: RawFd, buf: &mut Vec<u8>) -> std::io::Result<usize> {
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

fn set_timeouts(s: &TcpStream, t: Option<Duration>) {
    let _ = s.set_read_timeout(t);
    let _ = s.set_write_timeout(t);
}

fn resolve(host: &str, port: u16) -> Result<SocketAddr, String> {
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
fn connect_epmd(port: u16) -> Result<TcpStream, String> {
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
