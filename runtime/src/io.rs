//! Blocking operations off the schedulers (the BEAM's dirty I/O
//! schedulers): a process that reads stdin, a file or a program's output
//! hands the blocking call to one of the node's I/O threads and waits, like
//! a process waiting in RECEIVE; other processes keep running, on one
//! scheduler too. The protocol (I1–I5) is in `sched/README.md`.
//!
//! The I/O threads are started on demand, up to [`IO_THREADS`], and are
//! never joined: a thread blocked on a read of a terminal nobody types in
//! must not keep the VM from ending. They touch no process: a finished
//! operation goes to the `done` list, and a worker delivers it between
//! slices (I3), as it fires timers.

use crate::process::{IoResult, Pid, Ticket};
use crate::sched::Idle;
use crate::sync::lock;
use crate::RunEnd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};

/// At most this many blocking operations run at once; more wait for a
/// thread (in order).
pub const IO_THREADS: usize = 16;

std::thread_local! {
    /// The calling thread is a scheduler worker ([`on_worker`]): its
    /// pushes to the done list need no W2 ([`IoShared::push_local`]).
    static ON_WORKER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The calling thread becomes a scheduler worker (`true`, at the start of
/// its loop) or stops being one (`false`, when the loop ends).
pub(crate) fn on_worker(on: bool) {
    ON_WORKER.with(|w| w.set(on));
}

/// A blocking operation, run on an I/O thread.
pub type IoJob = Box<dyn FnOnce() -> IoResult + Send>;

type Queued = (Pid, u64, Ticket, IoJob);

/// What the I/O threads and the network event loop hand to the workers (I2,
/// N2): a finished blocking operation of a waiting process, or a message
/// from a socket (active mode) for its owner.
pub(crate) enum Done {
    Io(Pid, u64, Ticket, IoResult),
    /// A socket's message to its owner; the last one of a socket that
    /// stopped being armed carries its ticket (N4), settled once delivered.
    Msg(Pid, crate::value::Value, Option<Ticket>),
    /// A message from another node to a local process (`dist/`).
    Remote(Pid, crate::value::Value),
    /// A message from another node to the process registered under this
    /// name (`dist/`, REG_SEND): dropped when nobody has the name.
    Named(std::sync::Arc<str>, crate::value::Value),
    /// A process of another node monitors a local one (`dist/`).
    Watch(Box<crate::dist::WatchReq>),
    /// A process of another node links to a local one (`dist/`).
    Link(Box<crate::dist::LinkReq>),
    /// An exit signal from a process of another node (`dist/`): to, from
    /// (its PID value), reason, along a link (else `exit/2`).
    Exit(Pid, crate::value::Value, crate::value::Value, bool),
    /// A process of another node asks for a process here (SPAWN_REQUEST).
    Spawn(Box<crate::dist::spawn::SpawnReq>),
    /// The answer to a SPAWN of a local process on another node.
    Spawned(Box<crate::dist::spawn::Replied>),
}

/// A process waiting for a result that another thread delivers
/// ([`crate::Sched::start_wait`]): the process, its wait's token, and the
/// ticket that keeps the run going meanwhile.
pub struct Waiter {
    pub(crate) pid: Pid,
    pub(crate) token: u64,
    pub(crate) ticket: Ticket,
}

/// What the I/O threads share with the node's workers.
pub(crate) struct IoShared {
    /// Finished operations, waiting for a worker (I2 → I3).
    done: Mutex<Vec<Done>>,
    /// `done` is not empty: workers look between slices without the lock.
    has_done: AtomicBool,
    /// Operations started and not yet delivered (I1 … I3): while there is
    /// one, the run is not over (S4).
    pending: AtomicUsize,
    /// Wakes a sleeping worker for a finished operation (W2).
    idle: Arc<Idle<RunEnd>>,
}

/// The node's I/O threads.
pub(crate) struct IoPool {
    shared: Arc<IoShared>,
    jobs: Mutex<Option<Sender<Queued>>>,
    queue: Arc<Mutex<Receiver<Queued>>>,
    /// Threads started, and threads waiting for a job.
    threads: AtomicUsize,
    free: Arc<AtomicUsize>,
    /// One worker delivers at a time (N3): a socket's messages reach its
    /// owner in the order they were read, even when two workers
    /// look at the list one after the other.
    delivering: Mutex<()>,
}

impl IoPool {
    pub(crate) fn new(idle: Arc<Idle<RunEnd>>) -> IoPool {
        let (tx, rx) = channel();
        IoPool {
            shared: Arc::new(IoShared {
                done: Mutex::new(Vec::new()),
                has_done: AtomicBool::new(false),
                pending: AtomicUsize::new(0),
                idle,
            }),
            jobs: Mutex::new(Some(tx)),
            queue: Arc::new(Mutex::new(rx)),
            threads: AtomicUsize::new(0),
            free: Arc::new(AtomicUsize::new(0)),
            delivering: Mutex::new(()),
        }
    }

    /// I1: run `job` for process `pid`'s wait `token` on an I/O thread;
    /// the process keeps the ticket (for X1). Errors only when no thread
    /// can be started at all.
    pub(crate) fn submit(&self, pid: Pid, token: u64, job: IoJob) -> Result<Ticket, String> {
        self.shared.pending.fetch_add(1, Ordering::SeqCst);
        let ticket: Ticket = Arc::new(AtomicBool::new(true));
        let sent = lock(&self.jobs)
            .as_ref()
            .is_some_and(|tx| tx.send((pid, token, ticket.clone(), job)).is_ok());
        if !sent {
            self.shared.pending.fetch_sub(1, Ordering::SeqCst);
            return Err("the I/O threads have stopped".to_string());
        }
        // A thread more when none is free (a free one takes the job).
        if self.free.load(Ordering::SeqCst) == 0
            && self.threads.fetch_add(1, Ordering::SeqCst) < IO_THREADS
        {
            let (queue, shared, free) =
                (self.queue.clone(), self.shared.clone(), self.free.clone());
            let started = std::thread::Builder::new()
                .name("ttvm-io".to_string())
                .spawn(move || io_thread(&queue, &shared, &free));
            if started.is_err() {
                self.threads.fetch_sub(1, Ordering::SeqCst);
                if self.threads.load(Ordering::SeqCst) == 0 {
                    lock(&self.jobs).take();
                    return Err("cannot start an I/O thread".to_string());
                }
            }
        }
        Ok(ticket)
    }

    /// Whether a finished operation waits for delivery (cheap; between
    /// slices).
    #[inline]
    pub(crate) fn has_done(&self) -> bool {
        self.shared.has_done.load(Ordering::SeqCst)
    }

    /// S3's look: the done list itself, under its lock (W1 is the push to
    /// it, which the flag only hints at).
    pub(crate) fn has_done_locked(&self) -> bool {
        !lock(&self.shared.done).is_empty()
    }

    /// I3: the finished operations, for a worker to deliver; the worker
    /// calls [`IoPool::delivered`] for each once the process has it.
    /// The right to deliver (I3, N3), if no other worker has it; that
    /// worker takes the list again before it lets go.
    pub(crate) fn try_deliver(&self) -> Option<std::sync::MutexGuard<'_, ()>> {
        self.delivering.try_lock().ok()
    }

    pub(crate) fn take_done(&self) -> Vec<Done> {
        let mut d = lock(&self.shared.done);
        self.shared.has_done.store(false, Ordering::SeqCst);
        std::mem::take(&mut *d)
    }

    /// What the network event loop shares with the workers (`net/`).
    pub(crate) fn shared(&self) -> Arc<IoShared> {
        self.shared.clone()
    }

    /// I3 done, or X1 of its process: one operation fewer pending, once
    /// per ticket (only after the process was queued or given the result,
    /// or ended, so S4 never sees neither).
    pub(crate) fn settle(&self, ticket: &Ticket) {
        self.shared.settle(ticket)
    }

    /// Operations started and not yet delivered.
    pub(crate) fn pending(&self) -> usize {
        self.shared.pending.load(Ordering::SeqCst)
    }

    /// The run is over: no more jobs; threads end when they are free.
    pub(crate) fn close(&self) {
        lock(&self.jobs).take();
    }

    /// A node run in rounds (`node/rounds.rs`) runs again after `close`:
    /// take jobs again, on a new queue. The closed queue's threads end at
    /// their next look (one still running a job looks at the new queue
    /// then, and serves it); new ones start on demand.
    pub(crate) fn reopen(&self) {
        let mut jobs = lock(&self.jobs);
        if jobs.is_some() {
            return;
        }
        let (tx, rx) = channel();
        *lock(&self.queue) = rx;
        *jobs = Some(tx);
        self.threads.store(0, Ordering::SeqCst);
    }
}

fn io_thread(queue: &Mutex<Receiver<Queued>>, shared: &IoShared, free: &AtomicUsize) {
    loop {
        free.fetch_add(1, Ordering::SeqCst);
        // Not free any more before the queue is let go: `reopen` swaps
        // the queue under its lock, so once a new round can submit, a
        // thread that saw the old queue closed no longer counts as free
        // (else the new round's first job would start no thread and wait
        // forever).
        let next = {
            let q = lock(queue);
            let next = q.recv();
            free.fetch_sub(1, Ordering::SeqCst);
            next
        };
        let Ok((pid, token, ticket, job)) = next else {
            return; // closed: the run is over
        };
        // I2: run it, then W1 (the done list) and W2. A panic in the job
        // is its result too (the process raises it): never a lost wait.
        let result = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)) {
            Ok(r) => r,
            Err(payload) => payload,
        };
        // The flag under the list's lock: whoever sees the list non-empty
        // (S3) then sees the flag too.
        shared.push(Done::Io(pid, token, ticket, result));
    }
}

impl IoShared {
    /// I2 / N2: W1 (the done list, and its flag under the list's lock:
    /// whoever sees the list non-empty, S3, then sees the flag too), then
    /// W2.
    pub(crate) fn push(&self, item: Done) {
        let mut done = lock(&self.done);
        done.push(item);
        self.has_done.store(true, Ordering::SeqCst);
        drop(done);
        self.idle.notify_work();
    }

    /// N2 by a worker — the poll holder handling events, or a process's
    /// socket operation (N1) — for an item that worker delivers itself
    /// before it can sleep (`work`: its next look at the done list, N3,
    /// comes before it runs or sleeps, and its S3 reads the list): W1
    /// only (W4 in `sched/README.md`). W2 would wake another worker just
    /// to race the pusher for the list and take the woken processes to
    /// the other core (a futex wake-up and two context switches per
    /// readiness batch, or per message from another node). Called off a
    /// worker (a socket closed by a dropped result, `NetDone`), it does W2
    /// as [`IoShared::push`].
    pub(crate) fn push_local(&self, item: Done) {
        if !ON_WORKER.with(std::cell::Cell::get) {
            return self.push(item);
        }
        let mut done = lock(&self.done);
        done.push(item);
        self.has_done.store(true, Ordering::SeqCst);
    }

    /// The node's idle workers (N0: the poll waker is set on them).
    pub(crate) fn idle(&self) -> &Idle<RunEnd> {
        &self.idle
    }

    /// I1 / N1: one wake-up source more that keeps the run going (an
    /// operation on its way, or an armed socket); its ticket gives it back
    /// once ([`IoPool::settle`]).
    pub(crate) fn new_ticket(&self) -> Ticket {
        self.pending.fetch_add(1, Ordering::SeqCst);
        Arc::new(AtomicBool::new(true))
    }

    /// The same as [`IoPool::settle`].
    pub(crate) fn settle(&self, ticket: &Ticket) {
        if ticket.swap(false, Ordering::SeqCst) {
            self.pending.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// A node run in rounds (the REPL) closes its pool at each round's end
    /// and reopens it at the next: a job of the new round must find a
    /// thread, even while the old round's threads are still ending. (An
    /// ending thread once stayed counted as free until after it had let go
    /// of the queue, so a job submitted just after `reopen` started no
    /// thread and waited forever: a REPL entry with a file operation hung
    /// about 2 times in 25 under load.)
    #[test]
    fn a_reopened_pool_serves_the_next_rounds_jobs() {
        let pool = IoPool::new(Arc::new(Idle::default()));
        for round in 0..2_000u64 {
            let ticket = pool
                .submit(1, round, Box::new(move || Box::new(round) as IoResult))
                .expect("the pool takes jobs");
            let deadline = Instant::now() + Duration::from_secs(10);
            while !pool.has_done_locked() {
                assert!(
                    Instant::now() < deadline,
                    "round {round}: the job found no I/O thread"
                );
                std::thread::yield_now();
            }
            let done = pool.take_done();
            assert_eq!(done.len(), 1);
            pool.settle(&ticket);
            pool.close();
            pool.reopen();
        }
        assert_eq!(pool.pending(), 0);
    }
}
