//! The mailbox side of a process: receiving (M1: by the worker that runs
//! it, without the lock) and delivering (S1, I3, timers: under the lock).
//! See the parent module for the state machine.

use super::*;

/// Move message `i` of `mailbox` onto the end of `out` as one plain 16-byte
/// copy. (Moving it as a `Value` made the compiler copy tag and payload
/// apart through the stack and read them back whole: a failed store-to-load
/// forwarding on every received message, ~10 % of a ping-pong round trip.)
#[inline]
fn move_out(mailbox: &mut VecDeque<Value>, i: usize, out: &mut Vec<Value>) {
    let Some(msg) = mailbox.get(i) else {
        return;
    };
    out.reserve(1);
    // SAFETY: a bitwise move of the message into the slot past the end of
    // `out` (reserved above), which then owns it; the deque's copy is
    // removed and forgotten right after, so it is dropped exactly once.
    // Nothing in between can panic.
    unsafe {
        let len = out.len();
        std::ptr::copy_nonoverlapping(msg as *const Value, out.as_mut_ptr().add(len), 1);
        out.set_len(len + 1);
    }
    std::mem::forget(match i {
        0 => mailbox.pop_front(),
        _ => mailbox.remove(i),
    });
}

/// The index of the first message of `mailbox` from `from` on that
/// `pattern` matches (any, when `None`).
fn find(mailbox: &VecDeque<Value>, pattern: Option<&Value>, from: usize) -> Option<usize> {
    match pattern {
        None => (mailbox.len() > from).then_some(from),
        Some(p) => mailbox
            .range(from..)
            .position(|x| matches(p, x))
            .map(|i| i + from),
    }
}

impl<S> Process<S> {
    /// The number of messages waiting in the mailbox, for the worker that
    /// runs this process (M1: it alone uses the mailbox then; a message
    /// that arrives during the slice is in the inbox until R4). For
    /// `--profile`'s peak mailbox length, at the start of a slice.
    ///
    /// # Safety
    /// The caller is the worker running this process (in its executor's
    /// `run_slice`).
    pub unsafe fn mailbox_len_running(&self) -> usize {
        // SAFETY: M1, by the caller's contract.
        unsafe { self.with_mailbox(|mb| mb.len()) }
    }

    /// The mailbox, to `f`.
    ///
    /// # Safety
    /// M1/M2: the caller is the worker running this process (between R2
    /// and R4/R5), or holds the lock while the process is not `Running`.
    pub(super) unsafe fn with_mailbox<R>(&self, f: impl FnOnce(&mut VecDeque<Value>) -> R) -> R {
        // SAFETY: by the contract, nobody else uses the mailbox meanwhile.
        self.mailbox.with_mut(|mb| f(unsafe { &mut *mb }))
    }

    /// R3, for the running process whose part is `own`: the oldest message
    /// matching `pattern` (pushed onto `out`); else the timeout if it fired
    /// (or `poll`); else the wait to register at R4 (recorded in `own`).
    /// Takes the lock only to drain the inbox when the hint says it holds
    /// something.
    pub(crate) fn receive_into(
        &self,
        own: &mut Own,
        pattern: Option<&Value>,
        poll: bool,
        deadline: Option<Instant>,
        out: &mut Vec<Value>,
    ) -> Got {
        match self.look(own, pattern, poll, deadline) {
            // SAFETY: M1 (`look` checked that `own` runs this process).
            Ok(i) => unsafe {
                self.with_mailbox(|mb| move_out(mb, i, out));
                Got::Message
            },
            Err(got) => got,
        }
    }

    /// R3 for a receive of any message without a timeout (RECEIVE): the
    /// oldest message, pushed onto `out` (true); else the wait, recorded
    /// in `own` (false). [`Process::receive_into`] without the pattern and
    /// timeout cases.
    #[inline]
    pub(crate) fn receive_any(&self, own: &mut Own, out: &mut Vec<Value>) -> bool {
        debug_assert_eq!(own.pid, self.pid, "a receive by a process not running");
        let locking = own.locking;
        // SAFETY: M1, as in `look`.
        let got = unsafe {
            self.with_mailbox(|mb| {
                if mb.is_empty() && self.has_mail.load(Ordering::Relaxed) {
                    self.drain_inbox(mb, locking);
                }
                let got = !mb.is_empty();
                if got {
                    move_out(mb, 0, out);
                }
                got
            })
        };
        // Its own timer's flag only (it has none): clear.
        own.timed_out = false;
        if !got {
            own.wait = Some(Wait::Receive {
                pattern: None,
                deadline: None,
            });
        }
        got
    }

    /// [`Process::receive_into`], with the message in the result.
    pub(crate) fn receive(
        &self,
        own: &mut Own,
        pattern: Option<&Value>,
        poll: bool,
        deadline: Option<Instant>,
    ) -> Received {
        match self.look(own, pattern, poll, deadline) {
            // SAFETY: M1 (`look` checked that `own` runs this process).
            Ok(i) => Received::Message(
                unsafe { self.with_mailbox(|mb| mb.remove(i)) }.expect("in range"),
            ),
            Err(Got::TimedOut) => Received::TimedOut,
            Err(_) => Received::Wait(None),
        }
    }

    /// R3's look: the index in the mailbox of the message to take, or
    /// what else the receive found.
    fn look(
        &self,
        own: &mut Own,
        pattern: Option<&Value>,
        poll: bool,
        deadline: Option<Instant>,
    ) -> Result<usize, Got> {
        debug_assert_eq!(own.pid, self.pid, "a receive by a process not running");
        let locking = own.locking;
        // SAFETY: M1: `own` is the part of the worker running this process
        // (R2 set its pid; the executor receives only during the slice).
        let found = unsafe {
            self.with_mailbox(|mb| {
                let mut found = find(mb, pattern, 0);
                if found.is_none() && self.has_mail.load(Ordering::Relaxed) {
                    let from = mb.len();
                    self.drain_inbox(mb, locking);
                    found = find(mb, pattern, from);
                }
                found
            })
        };
        if let Some(i) = found {
            own.timed_out = false;
            return Ok(i);
        }
        // Only a receive with a timeout can time out; the flag is its own
        // timer's (a SLEEP's timer never sets it).
        let timed_out = std::mem::take(&mut own.timed_out);
        if poll || (deadline.is_some() && timed_out) {
            return Err(Got::TimedOut);
        }
        own.wait = Some(Wait::Receive {
            pattern: pattern.cloned(),
            deadline,
        });
        Err(Got::Wait)
    }

    /// Move the inbox to the end of `into` (the running process's mailbox).
    fn drain_inbox(&self, into: &mut VecDeque<Value>, locking: LockMode) {
        let mut g = self.inner.lock_as(locking);
        g.meta.drain_inbox(into);
        self.has_mail.store(false, Ordering::Relaxed);
    }

    /// S1: deliver a message. Returns true when the caller must queue the
    /// process (it was parked waiting for such a message).
    #[cfg(any(test, loom))]
    pub(crate) fn deliver(&self, msg: Value) -> bool {
        self.deliver_as(msg, LockMode::ATOMIC)
    }

    /// S1, taking the lock in `locking`: to the mailbox, or to the inbox
    /// while the process runs.
    #[inline]
    pub(crate) fn deliver_as(&self, msg: Value, locking: LockMode) -> bool {
        let mut g = self.inner.lock_as(locking);
        self.deliver_locked(&mut g.meta, msg)
    }

    /// S1 under the lock (`m` is this process's bookkeeping, locked).
    #[inline(always)]
    pub(crate) fn deliver_locked(&self, m: &mut Meta, msg: Value) -> bool {
        match m.status {
            Status::Exiting | Status::Exited => false,
            Status::Waiting => {
                let wake = m.wait.as_ref().is_some_and(|w| w.wants(&msg));
                // SAFETY: M2: under the lock, and not running.
                unsafe { self.with_mailbox(|mb| mb.push_back(msg)) };
                if wake {
                    m.wait = None;
                    m.status = Status::Queued;
                }
                wake
            }
            Status::Running => {
                m.cold().inbox.push_back(msg);
                self.has_mail.store(true, Ordering::Relaxed);
                false
            }
            Status::Queued => {
                // SAFETY: M2: under the lock, and not running.
                unsafe { self.with_mailbox(|mb| mb.push_back(msg)) };
                false
            }
        }
    }

    /// I3: the blocking operation of I/O wait `token` finished with
    /// `result`. True when the caller must queue the process (it was parked
    /// in that wait); a running process finds the result at R4 or when it
    /// looks (I4); an ended one drops it.
    pub(crate) fn complete_io(&self, token: u64, result: IoResult, locking: LockMode) -> bool {
        let mut g = self.inner.lock_as(locking);
        let m = &mut g.meta;
        if matches!(m.status, Status::Exiting | Status::Exited) {
            return false;
        }
        m.cold().io_done = Some((token, result));
        if m.status == Status::Waiting
            && matches!(m.wait, Some(Wait::Io { token: t }) if t == token)
        {
            m.wait = None;
            m.status = Status::Queued;
            return true;
        }
        false
    }

    /// I4: the running process takes the result of its blocking operation,
    /// if it came (a process has at most one at a time: it waits for it).
    pub(crate) fn take_io(&self, locking: LockMode) -> Option<IoResult> {
        let mut g = self.inner.lock_as(locking);
        g.meta.cold.as_mut()?.io_done.take().map(|(_, r)| r)
    }

    /// T1: a timer of wait `token` fired. True when the caller must queue.
    pub(crate) fn fire_timer(&self, token: u64) -> bool {
        let mut g = self.inner.lock();
        let m = &mut g.meta;
        if m.wait_token != token || m.status != Status::Waiting {
            return false;
        }
        m.timed_out = matches!(m.wait, Some(Wait::Receive { .. }));
        m.wait = None;
        m.status = Status::Queued;
        true
    }

    /// Whether a timer armed for wait `token` can still end that wait.
    pub(crate) fn timer_is_live(&self, token: u64) -> bool {
        let g = self.inner.lock();
        g.meta.wait_token == token && g.meta.status == Status::Waiting
    }
}
