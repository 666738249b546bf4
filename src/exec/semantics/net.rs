//! Sockets (issue 16; docs/NETWORK.md): the op table's "Network" section.
//! The operands are checked here; the sockets, the event loop and the
//! waiting are the runtime's (`ttvm_runtime::net`, `node/net.rs`). An
//! operation that must wait parks its process (`Control::Waiting`) and
//! runs again at the same instruction when the socket is ready: then it
//! takes the result and replaces its operands with it, or raises its error.
//!
//! Errors are catchable exceptions naming the operation, the address and
//! the reason (`TCP_CONNECT 127.0.0.1:1: connection refused`); a timeout
//! of the `_AFTER` forms is their `null false` result instead.

use super::Proc;
use crate::bytecode::Opcode;
use crate::exec::{error, Context, Control, OpResult, Vm};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use ttvm_runtime::net::framing::Packet;
use ttvm_runtime::net::{
    addr_value, Active, NetError, NetResult, Opts, Socket, Step, MAX_PACKET_LIMIT,
};
use ttvm_runtime::Value;

/// The one place that decides whether a network operation may run: the
/// `--allow-net` policy (`src/permissions.rs`; without `--sandbox`
/// everything is allowed). Operations on a socket that exists need no
/// check: making it was allowed.
pub(crate) fn permit(vm: &Vm, what: &str, addr: &SocketAddr) -> OpResult {
    vm.config
        .check_net(what, &addr.ip().to_string(), Some(addr.port()))
}

pub(crate) fn exec(
    ctx: &mut Context,
    vm: &Vm,
    proc: &mut Proc<'_>,
    op: Opcode,
) -> OpResult<Control> {
    let name = op.mnemonic();
    let n = op.info().pops as usize;
    ctx.need(n, name)?;
    let base = ctx.stack.len() - n;
    // What the process waited for: a socket operation's result, or (a
    // TCP_CONNECT to a name) the name's address from an I/O thread.
    let looked_up = match proc.node.net_take(proc.me) {
        Some(Ok(done)) => {
            let results = finish(op, &ctx.stack[base..], done.result.clone())?;
            ctx.stack.truncate(base);
            ctx.stack.extend(results);
            return Ok(Control::Next);
        }
        Some(Err(other)) => Some(other),
        None => None,
    };
    let args: Vec<Value> = ctx.stack[base..].to_vec();
    let step = match named_host(op, &args) {
        Some(name) => match connect_by_name(op, &args, name, looked_up, vm, proc)? {
            Some(step) => step,
            None => return Ok(Control::Waiting),
        },
        None if looked_up.is_some() => {
            return error(format!(
                "{name}: internal error (a result that is not a socket operation's)"
            ))
        }
        None => start(op, &args, vm, proc)?,
    };
    let result = match step {
        Step::Ready(done) => {
            let done = proc.node.net_ready(proc.me, done);
            done.result.clone()
        }
        Step::Wait { token, ticket } => {
            proc.node.net_wait(proc.me, token, ticket);
            return Ok(Control::Waiting);
        }
    };
    let results = finish(op, &args, result)?;
    ctx.stack.truncate(base);
    ctx.stack.extend(results);
    Ok(Control::Next)
}

/// The values that replace the operands, or the error to raise.
fn finish(op: Opcode, args: &[Value], result: NetResult) -> OpResult<Vec<Value>> {
    use Opcode as O;
    let after = matches!(op, O::TcpAcceptAfter | O::TcpRecvAfter | O::UdpRecvAfter);
    match result {
        Ok(v) if after => Ok(vec![v, Value::Bool(true)]),
        Err(NetError::Timeout) if after => Ok(vec![Value::Null, Value::Bool(false)]),
        Ok(_) if op.info().pushes == 0 => Ok(Vec::new()),
        Ok(v) => Ok(vec![v]),
        Err(NetError::Failed(m)) => error(m),
        Err(NetError::Timeout) => {
            let at = match (args.first(), args.get(1)) {
                (Some(h), Some(p)) if op == O::TcpConnectOpts || op == O::TcpConnect => {
                    format!(" {h}:{p}")
                }
                _ => String::new(),
            };
            let ms = match args.get(2).and_then(|o| field(o, "timeout")) {
                Some(Value::Int(ms)) => format!(" after {ms} ms"),
                _ => String::new(),
            };
            error(format!("{}{at}: timeout{ms}", op.mnemonic()))
        }
    }
}

fn field<'a>(opts: &'a Value, key: &str) -> Option<&'a Value> {
    match opts {
        Value::Object(o) => o.get(key),
        _ => None,
    }
}

fn sock(v: &Value, op: Opcode) -> OpResult<Arc<Socket>> {
    Socket::of(v).map_or_else(
        || {
            error(format!(
                "type error: {} needs a Socket, got {}",
                op.mnemonic(),
                v.type_name()
            ))
        },
        Ok,
    )
}

fn port(v: &Value, op: Opcode) -> OpResult<u16> {
    match v {
        Value::Int(p) if (0..=65535).contains(p) => Ok(*p as u16),
        Value::Int(p) => error(format!("{}: port {p} is not in 0..=65535", op.mnemonic())),
        other => error(format!(
            "type error: {} needs an Int port, got {}",
            op.mnemonic(),
            other.type_name()
        )),
    }
}

/// The host name TCP_CONNECT was given, when it is a name to resolve
/// (not an address, not `localhost`).
fn named_host(op: Opcode, a: &[Value]) -> Option<&str> {
    if !matches!(op, Opcode::TcpConnect | Opcode::TcpConnectOpts) {
        return None;
    }
    match a.first() {
        Some(Value::Str(s)) if s.as_str() != "localhost" => {
            let bare = s.as_str().trim_start_matches('[').trim_end_matches(']');
            bare.parse::<IpAddr>().is_err().then_some(s.as_str())
        }
        _ => None,
    }
}

/// TCP_CONNECT to a host name: first the name is resolved on an I/O thread
/// (`getaddrinfo` blocks; the process waits, `None`), then, when the
/// instruction runs again with the address (`looked_up`), the connection to the first
/// one starts as for an address. The permission (`--allow-net`) is the
/// name's, as given; the `timeout` option counts from the connection's
/// start (the resolver has its own).
fn connect_by_name(
    op: Opcode,
    a: &[Value],
    name: &str,
    looked_up: Option<ttvm_runtime::IoResult>,
    vm: &Vm,
    proc: &mut Proc<'_>,
) -> OpResult<Option<Step>> {
    let port = port(&a[1], op)?;
    let what = format!("{} {name}:{port}", op.mnemonic());
    if let Some(done) = looked_up {
        let ip = match done.downcast::<Result<IpAddr, String>>() {
            Ok(r) => (*r).or_else(error)?,
            Err(_) => return error(format!("{what}: internal error in the I/O thread")),
        };
        return connect(op, a, SocketAddr::new(ip, port), proc).map(Some);
    }
    vm.config.check_net("connect to", name, Some(port))?;
    // Bad options fail before any lookup.
    let mut o = Opts::default();
    options(a.get(2).unwrap_or(&Value::Null), op, CONNECT_KEYS, &mut o)?;
    if name.len() > 253
        || name.is_empty()
        || name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '/')
    {
        return error(format!(
            "{what}: `{}` is not a host name or an IP address",
            name.escape_debug()
        ));
    }
    let bare = name.to_string();
    let job = Box::new(move || -> ttvm_runtime::IoResult {
        let first: Result<IpAddr, String> =
            crate::library::dns::lookup(&what, &bare).map(|addrs| addrs[0]);
        Box::new(first)
    });
    proc.node.start_io(proc.me, job).or_else(error)?;
    Ok(None)
}

/// An IP address (`localhost` is 127.0.0.1; TCP_CONNECT resolves other
/// names itself, `connect_by_name`).
fn host(v: &Value, op: Opcode) -> OpResult<IpAddr> {
    let Value::Str(s) = v else {
        return error(format!(
            "type error: {} needs a Str host, got {}",
            op.mnemonic(),
            v.type_name()
        ));
    };
    let s = s.as_str();
    if s == "localhost" {
        return Ok(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    s.trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .or_else(|_| {
            error(format!(
                "{}: `{}` is not an IP address (use 127.0.0.1, ::1, 0.0.0.0 or localhost)",
                op.mnemonic(),
                s.escape_debug()
            ))
        })
}

fn addr(h: &Value, p: &Value, op: Opcode) -> OpResult<SocketAddr> {
    Ok(SocketAddr::new(host(h, op)?, port(p, op)?))
}

fn timeout(v: &Value, op: Opcode) -> OpResult<Option<Duration>> {
    match v {
        Value::Null => Ok(None),
        Value::Int(ms) if *ms >= 0 => Ok(Some(Duration::from_millis(*ms as u64))),
        _ => error(format!(
            "{}: invalid timeout (an Int of milliseconds >= 0, or null for none)",
            op.mnemonic()
        )),
    }
}

fn data(v: &Value, op: Opcode) -> OpResult<Vec<u8>> {
    match v {
        Value::Str(s) => Ok(s.as_str().as_bytes().to_vec()),
        Value::List(_) => crate::library::host::bytes_of(v, op.mnemonic()).or_else(error),
        other => error(format!(
            "type error: {} sends a Str or a List of bytes, got {}",
            op.mnemonic(),
            other.type_name()
        )),
    }
}

/// What an options object may hold, per operation.
const LISTEN_KEYS: &[&str] = &["backlog", "active", "packet", "binary", "max_packet"];
const CONNECT_KEYS: &[&str] = &["timeout", "active", "packet", "binary", "max_packet"];
const SETOPTS_KEYS: &[&str] = &["active", "packet", "binary", "max_packet"];
const UDP_KEYS: &[&str] = &["active", "binary"];

/// Apply the options object `v` (null: none) to `o`.
fn options(v: &Value, op: Opcode, allowed: &[&str], o: &mut Opts) -> OpResult {
    let obj = match v {
        Value::Null => return Ok(()),
        Value::Object(obj) => obj,
        other => {
            return error(format!(
                "type error: {} needs an Object of options (or null), got {}",
                op.mnemonic(),
                other.type_name()
            ))
        }
    };
    let bad = |key: &str, what: &str| -> OpResult {
        error(format!("{}: option `{key}` must be {what}", op.mnemonic()))
    };
    for (key, val) in obj.iter() {
        if !allowed.contains(&key) {
            return error(format!(
                "{}: unknown option `{}` (known: {})",
                op.mnemonic(),
                key.escape_debug(),
                allowed.join(", ")
            ));
        }
        match key {
            "active" => {
                o.active = match val {
                    Value::Bool(false) => Active::Off,
                    Value::Bool(true) => Active::On,
                    Value::Str(s) if s.as_str() == "once" => Active::Once,
                    Value::Int(n) if *n > 0 && *n <= u32::MAX as i64 => Active::N(*n as u32),
                    _ => return bad(key, "false, true, \"once\" or an Int N > 0"),
                }
            }
            "packet" => {
                o.packet = match val {
                    Value::Str(s) if s.as_str() == "raw" => Packet::Raw,
                    Value::Str(s) if s.as_str() == "line" => Packet::Line,
                    Value::Int(0) => Packet::Raw,
                    Value::Int(4) => Packet::Len4,
                    _ => return bad(key, "\"raw\", \"line\" or 4 (a 4-byte length prefix)"),
                }
            }
            "binary" => match val {
                Value::Bool(b) => o.binary = *b,
                _ => return bad(key, "a Bool"),
            },
            "max_packet" => match val {
                Value::Int(n) if *n >= 1 && *n as usize <= MAX_PACKET_LIMIT => {
                    o.max_packet = *n as usize
                }
                _ => return bad(key, &format!("an Int in 1..={MAX_PACKET_LIMIT}")),
            },
            // Read by their operation.
            "backlog" => match val {
                Value::Int(n) if (0..=65535).contains(n) => {}
                _ => return bad(key, "an Int in 0..=65535"),
            },
            "timeout" => match val {
                Value::Null => {}
                Value::Int(n) if *n >= 0 => {}
                _ => return bad(key, "an Int of milliseconds >= 0, or null"),
            },
            _ => {}
        }
    }
    Ok(())
}

/// TCP_CONNECT to the address `at` (allowed already): start connecting.
fn connect(op: Opcode, a: &[Value], at: SocketAddr, proc: &mut Proc<'_>) -> OpResult<Step> {
    let opts_v = a.get(2).unwrap_or(&Value::Null);
    let mut o = Opts::default();
    options(opts_v, op, CONNECT_KEYS, &mut o)?;
    let t = match field(opts_v, "timeout") {
        Some(v) => timeout(v, op)?,
        None => None,
    };
    let net = proc.node.net().or_else(error)?;
    let pid = proc.pid;
    Ok(proc.node.net_op(|park| net.connect(at, o, t, pid, park)))
}

/// Run the operation until it finishes or must wait.
fn start(op: Opcode, a: &[Value], vm: &Vm, proc: &mut Proc<'_>) -> OpResult<Step> {
    use Opcode as O;
    let pid = proc.pid;
    let sched = proc.node;
    let ready = |v: Value| Ok(Step::Ready(ttvm_runtime::net::NetDone::ok(v)));
    let net = || sched.net().or_else(error);
    match op {
        O::TcpListen | O::TcpListenOpts => {
            let (at, opts_v) = match op {
                O::TcpListen => (
                    SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port(&a[0], op)?),
                    &Value::Null,
                ),
                _ => (addr(&a[0], &a[1], op)?, &a[2]),
            };
            permit(vm, "listen on", &at)?;
            let mut o = Opts::default();
            options(opts_v, op, LISTEN_KEYS, &mut o)?;
            let backlog = match field(opts_v, "backlog") {
                Some(Value::Int(n)) => *n as u32,
                _ => 128,
            };
            let s = net()?.listen(at, backlog, o, pid).or_else(error)?;
            sched.adopt(proc.me, s.clone());
            ready(s.value())
        }
        O::UdpBind | O::UdpOpen => {
            let (at, opts_v) = match op {
                O::UdpBind => (
                    SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port(&a[0], op)?),
                    &Value::Null,
                ),
                _ => (addr(&a[0], &a[1], op)?, &a[2]),
            };
            permit(vm, "bind", &at)?;
            let mut o = Opts::default();
            options(opts_v, op, UDP_KEYS, &mut o)?;
            let s = net()?.udp_open(at, o, pid).or_else(error)?;
            sched.adopt(proc.me, s.clone());
            ready(s.value())
        }
        O::TcpConnect | O::TcpConnectOpts => {
            let at = addr(&a[0], &a[1], op)?;
            permit(vm, "connect to", &at)?;
            connect(op, a, at, proc)
        }
        O::TcpAccept | O::TcpAcceptAfter => {
            let s = sock(&a[0], op)?;
            let t = if op == O::TcpAcceptAfter {
                timeout(&a[1], op)?
            } else {
                None
            };
            Ok(sched.net_op(|park| s.accept(pid, t, park)))
        }
        O::TcpSend => {
            let s = sock(&a[0], op)?;
            let bytes = data(&a[1], op)?;
            Ok(sched.net_op(|park| s.send(&bytes, pid, park)))
        }
        O::TcpRecv | O::TcpRecvAfter => {
            let s = sock(&a[0], op)?;
            let max = match &a[1] {
                Value::Int(n) if *n >= 0 => *n as usize,
                _ => {
                    return error(format!(
                        "{}: the byte count must be an Int >= 0 (0: whatever arrived)",
                        op.mnemonic()
                    ))
                }
            };
            let t = if op == O::TcpRecvAfter {
                timeout(&a[2], op)?
            } else {
                None
            };
            Ok(sched.net_op(|park| s.recv(max, pid, t, park)))
        }
        O::UdpRecv | O::UdpRecvAfter => {
            let s = sock(&a[0], op)?;
            let t = if op == O::UdpRecvAfter {
                timeout(&a[1], op)?
            } else {
                None
            };
            Ok(sched.net_op(|park| s.recv_from(pid, t, park)))
        }
        O::UdpSend => {
            let s = sock(&a[0], op)?;
            let to = addr(&a[1], &a[2], op)?;
            permit(vm, "send to", &to)?;
            let bytes = data(&a[3], op)?;
            s.send_to(to, &bytes).or_else(error)?;
            ready(Value::Null)
        }
        O::TcpShutdown => {
            let s = sock(&a[0], op)?;
            let (r, w) = match &a[1] {
                Value::Str(h) if h.as_str() == "read" => (true, false),
                Value::Str(h) if h.as_str() == "write" => (false, true),
                Value::Str(h) if h.as_str() == "both" => (true, true),
                _ => return error("TCP_SHUTDOWN: how must be \"read\", \"write\" or \"both\""),
            };
            s.shutdown(r, w).or_else(error)?;
            ready(Value::Null)
        }
        O::SocketClose => {
            let s = sock(&a[0], op)?;
            sched.close_socket(&s);
            ready(Value::Null)
        }
        O::SocketSetopts => {
            let s = sock(&a[0], op)?;
            let keys = if s.kind == ttvm_runtime::net::Kind::Udp {
                UDP_KEYS
            } else {
                SETOPTS_KEYS
            };
            let mut o = s.opts();
            options(&a[1], op, keys, &mut o)?;
            if s.is_closed() {
                return error(format!("SOCKET_SETOPTS: {} is closed", s.shown()));
            }
            s.set_opts(|cur| *cur = o);
            ready(Value::Null)
        }
        O::SocketOwner => {
            let s = sock(&a[0], op)?;
            let to = match &a[1] {
                Value::Int(p) => *p,
                other => {
                    return error(format!(
                        "type error: SOCKET_OWNER needs a pid (Int), got {}",
                        other.type_name()
                    ))
                }
            };
            sched.give_socket(proc.me, &s, to).or_else(error)?;
            ready(Value::Null)
        }
        O::SocketLocal => {
            let s = sock(&a[0], op)?;
            ready(addr_value(&s.local))
        }
        O::SocketPeer => {
            let s = sock(&a[0], op)?;
            match &s.peer {
                Some(p) => ready(addr_value(p)),
                None => error(format!("SOCKET_PEER: {} has no peer", s.shown())),
            }
        }
        _ => error(format!("{} is not a network operation", op.mnemonic())),
    }
}
