//! A bound on what waits in a connection's queue (issue 17): the BEAM's
//! `dist_buf_busy_limit` in spirit. The queue is what waits for the
//! connection's writer thread: a message queued there is weighed by the
//! bound on its encoded size (`term::to_term_sized`), the frames a
//! worker's non-blocking write left (`Dist::write_frames`) by their
//! length — bytes either way; a worker's frames still in its buffer for
//! the slice (at most 64 KiB per connection) are not counted. When the
//! connection's queue weighs more than [`BUSY_LIMIT`] after a SEND, the
//! sender waits — like a process in a blocking I/O operation, costing
//! nothing — until the writer has written enough to bring it back under
//! the limit, or the connection is gone. So a fast sender to a peer that
//! reads slowly, or not at all, is slowed down to the peer's pace instead
//! of the node's memory growing: a connection holds at most the limit,
//! plus one message per waiting sender. Signals (links, monitors, exits,
//! spawn replies) are counted but never wait, as on the BEAM.

use super::{Conn, Dist, BUSY_LIMIT};
use crate::io::{Done, Waiter};
use crate::sync::lock;
use erl_dist::message::Message;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// What a control message without a payload weighs in the queue.
pub(super) const SIGNAL_WEIGHT: usize = 64;

/// The senders waiting for a busy connection.
#[derive(Default)]
pub(super) struct Waiting {
    /// The connection is gone: nobody waits for it any more.
    closed: bool,
    senders: Vec<Waiter>,
}

/// A connection that was busy after a SEND, for its sender to wait on
/// ([`Dist::wait_busy`]).
pub struct Busy(Arc<Conn>);

impl Dist {
    /// Queue message `m`, weighing `size`; `Some` when the connection is
    /// busy now.
    pub(super) fn enqueue_sized(&self, conn: Arc<Conn>, m: Message, size: usize) -> Option<Busy> {
        self.push_out(&conn, m, size);
        (conn.queued.load(Ordering::SeqCst) > BUSY_LIMIT).then_some(Busy(conn))
    }

    /// The sender (whose wait `waiter` is) waits until the busy connection
    /// is under the limit again, or gone; then it runs again.
    pub fn wait_busy(&self, busy: Busy, waiter: Waiter) {
        let conn = busy.0;
        let mut waiting = lock(&conn.busy);
        // Under the lock the writer takes to wake the senders: it either
        // sees this one or has brought the queue under the limit first.
        if !waiting.closed && conn.queued.load(Ordering::SeqCst) > BUSY_LIMIT {
            self.trace(|| {
                format!(
                    "{} waits: the connection to {} is busy",
                    waiter.pid, conn.peer
                )
            });
            waiting.senders.push(waiter);
            return;
        }
        drop(waiting);
        self.resume(waiter);
    }

    fn resume(&self, w: Waiter) {
        self.io
            .push(Done::Io(w.pid, w.token, w.ticket, Box::new(())));
    }

    /// The writer wrote messages weighing `weight`: wake the senders when
    /// the queue is under the limit.
    pub(super) fn drained(&self, conn: &Conn, weight: usize) {
        if weight == 0 {
            return;
        }
        let left = conn.queued.fetch_sub(weight, Ordering::SeqCst) - weight;
        if left > BUSY_LIMIT {
            return;
        }
        let senders = std::mem::take(&mut lock(&conn.busy).senders);
        for w in senders {
            self.resume(w);
        }
    }

    /// The connection is gone (or never came up): its senders go on, and
    /// none waits for it again.
    pub(super) fn release(&self, conn: &Conn) {
        let senders = {
            let mut waiting = lock(&conn.busy);
            waiting.closed = true;
            std::mem::take(&mut waiting.senders)
        };
        for w in senders {
            self.resume(w);
        }
    }
}
