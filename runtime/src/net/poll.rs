//! The event loop: the `mio::Poll` a worker holds the right to (N0), and deadlines.

use super::*;

pub(super) struct Poller {
    pub(super) poll: Poll,
    pub(super) events: Events,
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
    pub(super) g: MutexGuard<'a, Poller>,
    pub(super) net: &'a Arc<NetShared>,
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
pub(super) fn expire(net: &NetShared, now: Instant) {
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
