//! The process side of sockets (`net/`): starting the event loop, waiting
//! for a socket (N1), taking a result (I4), owning sockets (ownership
//! moves under the new owner's lock: N5).

use super::{Node, OpError, Sched};
use crate::net::{Net, NetDone, Socket, Step};
use crate::process::{Pid, Process, Status, Ticket, Wait};
use std::sync::atomic::Ordering;
use std::sync::Arc;

impl<S: Send> Node<S> {
    /// The network layer, started on first use.
    pub fn net(&self) -> Result<&Net, OpError> {
        if let Some(n) = self.net.get() {
            return Ok(n);
        }
        let _guard = crate::sync::lock(&self.net_start);
        if let Some(n) = self.net.get() {
            return Ok(n);
        }
        let n = Net::start(self.io.shared())?;
        Ok(self.net.get_or_init(|| n))
    }
}

impl<S: Send> Sched<'_, S> {
    /// N1's token and ticket for the running process `me`, for a socket
    /// operation that must wait (`Step::Wait`); no process lock is taken
    /// (it runs under the socket's lock).
    pub fn net_park(&self) -> (u64, Ticket) {
        let token = self.node.next_ref.fetch_add(1, Ordering::Relaxed);
        (token, self.node.io.shared().new_ticket())
    }

    /// N1, after the socket's lock: `me` waits for `token`; its slice must
    /// end with `Outcome::Waiting`, and when it runs again
    /// [`Sched::net_take`] gives the result.
    pub fn net_wait(&self, me: &Process<S>, token: u64, ticket: Ticket) {
        let mut own = self.w.own.borrow_mut();
        assert_eq!(own.pid, me.pid, "net_wait by a process not running here");
        me.with_meta(|m| m.cold().io_ticket = Some(ticket));
        self.node
            .trace(|| format!("net {} waits (token {token})", me.pid));
        own.wait = Some(Wait::Io { token });
    }

    /// I4 for a socket operation: its result, once it came; a socket it
    /// made (ACCEPT, CONNECT) now belongs to `me`.
    pub fn net_take(&self, me: &Process<S>) -> Option<Result<NetDone, crate::IoResult>> {
        let r = self.take_io(me)?;
        Some(match r.downcast::<NetDone>() {
            Ok(mut done) => {
                if let Some(s) = done.fresh.take() {
                    self.adopt(me, s);
                }
                Ok(*done)
            }
            Err(other) => Err(other),
        })
    }

    /// A result that came at once ([`Step::Ready`]): as [`Sched::net_take`].
    pub fn net_ready(&self, me: &Process<S>, mut done: NetDone) -> NetDone {
        if let Some(s) = done.fresh.take() {
            self.adopt(me, s);
        }
        done
    }

    /// `me` owns `sock` (made by it): closed when `me` ends.
    pub fn adopt(&self, me: &Process<S>, sock: Arc<Socket>) {
        sock.set_owner(me.pid);
        me.with_meta(|m| m.cold().owned.push(sock));
    }

    /// SOCKET_OWNER: the owner `me` gives `sock` to `to` (N5): added to
    /// `to`'s set and made its owner under `to`'s lock, so `to`'s exit
    /// (X1, under the same lock) either comes later and closes it, or came
    /// first and the transfer fails.
    pub fn give_socket(&self, me: &Process<S>, sock: &Arc<Socket>, to: Pid) -> Result<(), OpError> {
        if sock.owner() != me.pid {
            return Err(format!(
                "SOCKET_OWNER: {} belongs to process {}, not to this one (only the owner gives it away)",
                sock.shown(),
                sock.owner()
            ));
        }
        if to == me.pid {
            return Ok(());
        }
        let target = self
            .w
            .proc(to)
            .ok_or_else(|| format!("SOCKET_OWNER: process {to} is not alive"))?;
        let given = target.with_meta(|m| {
            if matches!(m.status, Status::Exiting | Status::Exited) {
                return false;
            }
            m.cold().owned.push(sock.clone());
            sock.set_owner(to);
            true
        });
        if !given {
            return Err(format!("SOCKET_OWNER: process {to} is not alive"));
        }
        me.with_meta(|m| m.cold().owned.retain(|r| r.id() != sock.id));
        self.node
            .trace(|| format!("socket {} -> owner {to}", sock.shown()));
        Ok(())
    }

    /// SOCKET_CLOSE: close it, and forget it in its owner's set.
    pub fn close_socket(&self, sock: &Arc<Socket>) {
        sock.close_now();
        let owner = sock.owner();
        if let Some(p) = self.w.proc(owner) {
            p.with_meta(|m| {
                if let Some(c) = m.cold.as_mut() {
                    c.owned.retain(|r| r.id() != sock.id);
                }
            });
        }
    }

    /// Run a socket operation for `me` (`op` gets the park function).
    pub fn net_op(&self, op: impl FnOnce(&mut dyn FnMut() -> (u64, Ticket)) -> Step) -> Step {
        let mut park = || self.net_park();
        op(&mut park)
    }
}
