//! loom models of the scheduling protocols (see `sched/README.md`):
//! `RUSTFLAGS="--cfg loom" cargo test -p ttvm-runtime --release loom`.
//!
//! crossbeam-deque is not loom-aware, so the run queues are modelled by a
//! mutex-protected queue; the process state machine and the idle protocol are
//! the real code.

use crate::idle::{Idle, PollSleep, Woke};
use crate::process::{After, Kill, Own, Process, Received, SliceEnd, Start};
use crate::sync::SoloGate;
use crate::table::{Mark, Reclaimer, Table};
use crate::value::Value;
use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use loom::sync::{Arc, Mutex};
use std::collections::VecDeque;

/// R3/R4 vs S1: a message sent while the receiver is between "found
/// nothing" (R3, no lock) and "parked" (R4) is never lost, and the receiver
/// is queued exactly once — by the sender (S1) when it parked first, else by
/// its own worker at R4.
#[test]
fn send_races_wait() {
    loom::model(|| {
        let p = Arc::new(Process::new(1, (), None));
        let queued = Arc::new(AtomicUsize::new(0));
        let mut own = Own::default();
        let Start::Run(state) = p.transition_to_running(&mut own) else {
            panic!("a new process runs")
        };
        let (p2, q2) = (p.clone(), queued.clone());
        let sender = loom::thread::spawn(move || {
            if p2.deliver(Value::Int(7)) {
                q2.fetch_add(1, Ordering::SeqCst);
            }
        });
        let got = p.receive(&mut own, None, false, None);
        let received = matches!(got, Received::Message(_));
        if !received {
            let after = p.transition_after_slice(state, &mut own, SliceEnd::Waiting);
            if after == After::Requeue {
                queued.fetch_add(1, Ordering::SeqCst);
            }
        }
        sender.join().unwrap();
        let q = queued.load(Ordering::SeqCst);
        if received {
            assert_eq!(q, 0, "received at once: nobody queues it");
        } else {
            assert_eq!(q, 1, "the waiting receiver is queued exactly once");
            // And the message is there when it runs again.
            let Start::Run(_) = p.transition_to_running(&mut own) else {
                panic!("queued")
            };
            let got = p.receive(&mut own, None, false, None);
            assert!(matches!(got, Received::Message(Value::Int(7))));
        }
    });
}

/// S1 vs R3: messages sent while the receiver runs go to its inbox; a
/// receive sees them (the has_mail hint, or R4 under the lock) in the order
/// sent, and none is lost or duplicated.
#[test]
fn inbox_keeps_order() {
    loom::model(|| {
        let p = Arc::new(Process::new(1, (), None));
        let mut own = Own::default();
        let Start::Run(state) = p.transition_to_running(&mut own) else {
            panic!("a new process runs")
        };
        let p2 = p.clone();
        let sender = loom::thread::spawn(move || {
            p2.deliver(Value::Int(1));
            p2.deliver(Value::Int(2));
        });
        let mut seen = Vec::new();
        if let Received::Message(Value::Int(n)) = p.receive(&mut own, None, false, None) {
            seen.push(n);
        }
        sender.join().unwrap();
        let _ = p.transition_after_slice(state, &mut own, SliceEnd::Preempted);
        let Start::Run(_) = p.transition_to_running(&mut own) else {
            panic!("requeued")
        };
        while let Received::Message(Value::Int(n)) = p.receive(&mut own, None, true, None) {
            seen.push(n);
        }
        assert_eq!(seen, vec![1, 2]);
    });
}

/// Two workers race for one process (a stale queue entry): it runs on at
/// most one of them.
#[test]
fn two_workers_race_for_one_process() {
    loom::model(|| {
        let p = Arc::new(Process::new(1, (), None));
        let runs = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let (p, runs) = (p.clone(), runs.clone());
                loom::thread::spawn(move || {
                    if let Start::Run(_) = p.transition_to_running(&mut Own::default()) {
                        runs.fetch_add(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    });
}

/// K1 vs R2: a kill racing a worker that pops the process ends it exactly
/// once — at once when it was still at rest, else when its slice returns.
#[test]
fn kill_races_pop() {
    loom::model(|| {
        let p = Arc::new(Process::new(1, (), None));
        let p2 = p.clone();
        let killer = loom::thread::spawn(move || matches!(p2.kill(Value::str("x")), Kill::Now(_)));
        let mut own = Own::default();
        let exits_here = match p.transition_to_running(&mut own) {
            Start::Run(state) => matches!(
                p.transition_after_slice(state, &mut own, SliceEnd::Preempted),
                After::Exit(_)
            ),
            Start::Exit(_) => true,
            Start::Skip(_) => false,
        };
        let exits_there = killer.join().unwrap();
        assert!(exits_here ^ exits_there, "exactly one side runs the exit");
    });
}

/// Q2: a process killed while queued stays allocated for its stale queue
/// entry: X1 parks the table's count in it unless the entry was already
/// popped, and exactly one side retires that count.
#[test]
fn stale_entry_keeps_process() {
    loom::model(|| {
        let p = std::sync::Arc::new(Process::new(1, (), None));
        let retired = Arc::new(AtomicUsize::new(0));
        let (p2, r2) = (p.clone(), retired.clone());
        let killer = loom::thread::spawn(move || {
            let Kill::Now(_) = p2.kill(Value::str("kill")) else {
                return false;
            };
            // X1: the table's count (modelled by a clone).
            if p2.keep_if_queued(p2.clone()).is_some() {
                r2.fetch_add(1, Ordering::SeqCst);
            }
            true
        });
        // The worker pops the entry (R2); a preempted slice requeues it
        // (a new entry), which is popped after the kill.
        let mut own = Own::default();
        let mut requeued = false;
        match p.transition_to_running(&mut own) {
            Start::Skip(Some(_kept)) => {
                retired.fetch_add(1, Ordering::SeqCst);
            }
            Start::Run(state) => {
                requeued = p.transition_after_slice(state, &mut own, SliceEnd::Preempted)
                    == After::Requeue;
            }
            _ => {}
        }
        let killed_at_rest = killer.join().unwrap();
        if requeued {
            if let Start::Skip(Some(_kept)) = p.transition_to_running(&mut own) {
                retired.fetch_add(1, Ordering::SeqCst);
            }
        }
        assert_eq!(retired.load(Ordering::SeqCst), killed_at_rest as usize);
        assert!(p.release_stale().is_none(), "nothing left parked");
    });
}

/// W1/W2 vs S1–S5: work pushed while a worker goes to sleep wakes it (loom
/// reports a deadlock if the wake-up is lost).
#[test]
fn push_races_sleep() {
    loom::model(|| {
        let idle = Arc::new(Idle::<()>::default());
        let queue = Arc::new(Mutex::new(VecDeque::new()));
        let (i2, q2) = (idle.clone(), queue.clone());
        let pusher = loom::thread::spawn(move || {
            q2.lock().unwrap().push_back(1); // W1
            i2.notify_work(); // W2
        });
        loop {
            if queue.lock().unwrap().pop_front().is_some() {
                break;
            }
            let has_work = || !queue.lock().unwrap().is_empty();
            // Two workers: the pusher is awake, so S4 never ends the run.
            let woke = idle.sleep(2, has_work, || None, || ());
            assert_eq!(woke, Woke::Look);
        }
        pusher.join().unwrap();
    });
}

/// W2' vs S2–S6: two pushes, two sleeping workers. The second push skips
/// its wake-up while the first one's sleeper has not looked yet (`waking`);
/// that sleeper clears the flag before it looks, so it sees the second
/// push, and a flag left set by a wake-up nobody took (the sleeper timed
/// out at the same moment) is cleared by the next sleeper at S2. Every
/// item is taken and nobody sleeps forever (loom reports a deadlock if a
/// wake-up is lost).
#[test]
fn pushes_share_one_wake_up() {
    loom::model(|| {
        let idle = Arc::new(Idle::<()>::default());
        let queue = Arc::new(Mutex::new(VecDeque::new()));
        let taken = Arc::new(AtomicUsize::new(0));
        let pushers: Vec<_> = (0..2)
            .map(|i| {
                let (i2, q2) = (idle.clone(), queue.clone());
                loom::thread::spawn(move || {
                    q2.lock().unwrap().push_back(i); // W1
                    i2.notify_work(); // W2, W2'
                })
            })
            .collect();
        // A worker: takes items until both are taken, then ends the run
        // (which wakes the other); `timed`: its sleep may time out.
        let worker = |idle: Arc<Idle<()>>,
                      queue: Arc<Mutex<VecDeque<i32>>>,
                      taken: Arc<AtomicUsize>,
                      timed: bool| {
            loop {
                if queue.lock().unwrap().pop_front().is_some()
                    && taken.fetch_add(1, Ordering::SeqCst) + 1 == 2
                {
                    idle.finish(|| ());
                    return;
                }
                if idle.is_done() {
                    return;
                }
                let has_work = || !queue.lock().unwrap().is_empty();
                let timeout = || timed.then_some(std::time::Duration::from_secs(1));
                // Four threads awake or asleep: S4 never ends the run here.
                if idle.sleep(4, has_work, timeout, || ()) == Woke::Done {
                    return;
                }
            }
        };
        let (i2, q2, t2) = (idle.clone(), queue.clone(), taken.clone());
        let other = loom::thread::spawn(move || worker(i2, q2, t2, true));
        worker(idle.clone(), queue.clone(), taken.clone(), false);
        other.join().unwrap();
        for p in pushers {
            p.join().unwrap();
        }
        assert_eq!(taken.load(Ordering::SeqCst), 2);
    });
}

/// The network poll's wake-up (an `eventfd` registered in the poll):
/// sticky — a wake given before the poll starts makes it return at once.
#[derive(Default)]
struct EventFd {
    set: Mutex<bool>,
    cv: loom::sync::Condvar,
}

impl EventFd {
    fn wake(&self) {
        *self.set.lock().unwrap() = true;
        self.cv.notify_one();
    }

    /// The poll, with no socket event to come: returns when woken.
    fn poll(&self) {
        let mut g = self.set.lock().unwrap();
        while !*g {
            g = self.cv.wait(g).unwrap();
        }
        *g = false;
    }
}

fn poll_idle<R: 'static>(fd: &Arc<EventFd>) -> Arc<Idle<R>> {
    let idle = Arc::new(Idle::<R>::default());
    let f = fd.clone();
    idle.set_poll_waker(std::sync::Arc::new(move || f.wake()));
    idle
}

/// A worker's offer of the network poll (S5''): `take` tries the poll
/// right (a mutex, as `Net::try_poll`), `wait` sleeps in the poll; after
/// a sleep, `right` says whether this worker polled (and so handles the
/// events).
struct PollOffer<'a> {
    fd: &'a EventFd,
    poll: &'a Mutex<()>,
    right: Option<loom::sync::MutexGuard<'a, ()>>,
}

impl<'a> PollOffer<'a> {
    fn new(fd: &'a EventFd, poll: &'a Mutex<()>) -> PollOffer<'a> {
        PollOffer {
            fd,
            poll,
            right: None,
        }
    }
}

impl PollSleep for PollOffer<'_> {
    fn take(&mut self) -> bool {
        self.right = self.poll.try_lock().ok();
        self.right.is_some()
    }

    fn wait(&mut self, _timeout: Option<std::time::Duration>) {
        self.fd.poll();
    }
}

/// W1/W2 vs S2–S5' (N0): the only worker, the last to go idle, sleeps in
/// the network poll (S5'') while work is pushed by another thread (an I/O
/// thread with its operation pending, I5, so S4 does not end the run).
/// W2 wakes it through the poll's waker, under the idle lock: before it
/// polls (the waker's event waits for the poll) or while it polls. loom
/// reports a deadlock if the wake-up is lost.
#[test]
fn push_races_poll_sleep() {
    loom::model(|| {
        let fd = Arc::new(EventFd::default());
        let idle = poll_idle::<()>(&fd);
        let poll = Mutex::new(());
        let queue = Arc::new(Mutex::new(VecDeque::new()));
        let (i2, q2) = (idle.clone(), queue.clone());
        let pusher = loom::thread::spawn(move || {
            q2.lock().unwrap().push_back(1); // W1
            i2.notify_work(); // W2
        });
        loop {
            if queue.lock().unwrap().pop_front().is_some() {
                break;
            }
            let has_work = || !queue.lock().unwrap().is_empty();
            let mut offer = PollOffer::new(&fd, &poll);
            let woke = idle.sleep_in(
                1,
                has_work,
                || Some(std::time::Duration::from_secs(1)),
                || (),
                Some(&mut offer),
            );
            assert_eq!(woke, Woke::Look);
        }
        pusher.join().unwrap();
    });
}

/// S5'/S5'' with S5 and E2: two workers, both offering the network poll,
/// go idle while an I/O thread pushes one item (its operation pending, so
/// S4 never ends the run). The last to go idle sleeps in the poll, the
/// other on the condition variable; W2 prefers the condition variable's
/// sleeper, else the poll's; whoever takes the item ends the run (E2),
/// which must wake the other wherever it sleeps. Nobody sleeps forever
/// (loom reports a deadlock).
#[test]
fn poll_sleeper_and_condvar_sleeper() {
    loom::model(|| {
        let fd = Arc::new(EventFd::default());
        let idle = poll_idle::<()>(&fd);
        let poll = Arc::new(Mutex::new(()));
        let queue = Arc::new(Mutex::new(VecDeque::new()));
        let (i2, q2) = (idle.clone(), queue.clone());
        let pusher = loom::thread::spawn(move || {
            q2.lock().unwrap().push_back(1); // W1
            i2.notify_work(); // W2
        });
        let worker = |idle: Arc<Idle<()>>,
                      queue: Arc<Mutex<VecDeque<i32>>>,
                      fd: Arc<EventFd>,
                      poll: Arc<Mutex<()>>| loop {
            if queue.lock().unwrap().pop_front().is_some() {
                idle.finish(|| ()); // E2: the last process ended
                return;
            }
            let has_work = || !queue.lock().unwrap().is_empty();
            let mut offer = PollOffer::new(&fd, &poll);
            let woke = idle.sleep_in(
                2,
                has_work,
                || Some(std::time::Duration::from_secs(1)),
                || (),
                Some(&mut offer),
            );
            if woke == Woke::Done {
                return;
            }
        };
        let (i3, q3, f3, p3) = (idle.clone(), queue.clone(), fd.clone(), poll.clone());
        let other = loom::thread::spawn(move || worker(i3, q3, f3, p3));
        worker(idle.clone(), queue.clone(), fd.clone(), poll.clone());
        other.join().unwrap();
        pusher.join().unwrap();
    });
}

/// S5'' (the poll goes to the last worker to go idle) vs a socket event:
/// two workers go idle in either order, both offering the poll, while the
/// kernel makes the poll ready (the event is sticky, as epoll's
/// readiness). Only the last to go idle sleeps in the poll, so whatever
/// the order, when both sleep one of them is in the poll and the event
/// is seen; the worker that handles it ends the run (E2), waking the
/// other. An armed socket keeps the run going meanwhile (I5: a timeout,
/// so S4 does not end it). loom reports a deadlock when both sleep on
/// the condition variable (checked: it does when `take` is skipped).
#[test]
fn last_idle_worker_polls() {
    loom::model(|| {
        let fd = Arc::new(EventFd::default());
        let idle = poll_idle::<()>(&fd);
        let poll = Arc::new(Mutex::new(()));
        let f2 = fd.clone();
        let kernel = loom::thread::spawn(move || f2.wake()); // readiness
        let worker = |idle: Arc<Idle<()>>, fd: Arc<EventFd>, poll: Arc<Mutex<()>>| loop {
            let mut offer = PollOffer::new(&fd, &poll);
            let woke = idle.sleep_in(
                2,
                || false,
                || Some(std::time::Duration::from_secs(1)),
                || (),
                Some(&mut offer),
            );
            if woke == Woke::Done {
                return;
            }
            if offer.right.is_some() {
                // N2: the event handled; its process ran and ended (E2).
                idle.finish(|| ());
                return;
            }
        };
        let (i3, f3, p3) = (idle.clone(), fd.clone(), poll.clone());
        let other = loom::thread::spawn(move || worker(i3, f3, p3));
        worker(idle.clone(), fd.clone(), poll.clone());
        other.join().unwrap();
        kernel.join().unwrap();
    });
}

/// S4 vs S5': the poll sleeper is the last worker to go idle, while a
/// blocking operation is pending (I5: a timeout, so it does not end the
/// run). The operation's result wakes the other worker (W2 prefers the
/// condition variable), which delivers it and settles the operation; its
/// process then waits forever, so this worker, now the last to go idle
/// with nothing pending, ends the run (S4: a deadlock) and must wake the
/// worker asleep in the poll, which would otherwise never return.
#[test]
fn last_sleeper_wakes_poll_sleeper() {
    loom::model(|| {
        let fd = Arc::new(EventFd::default());
        let idle = poll_idle::<&str>(&fd);
        let poll = Arc::new(Mutex::new(()));
        let queue = Arc::new(Mutex::new(VecDeque::new()));
        let pending = Arc::new(AtomicBool::new(true));
        let (i2, q2) = (idle.clone(), queue.clone());
        let io_thread = loom::thread::spawn(move || {
            q2.lock().unwrap().push_back(1); // I2: W1
            i2.notify_work(); // W2
        });
        let worker = |idle: Arc<Idle<&'static str>>,
                      queue: Arc<Mutex<VecDeque<i32>>>,
                      pending: Arc<AtomicBool>,
                      fd: Arc<EventFd>,
                      poll: Arc<Mutex<()>>| loop {
            if queue.lock().unwrap().pop_front().is_some() {
                // I3: delivered, then settled (I5).
                pending.store(false, Ordering::SeqCst);
            }
            let has_work = || !queue.lock().unwrap().is_empty();
            let timeout = || {
                pending
                    .load(Ordering::SeqCst)
                    .then_some(std::time::Duration::from_secs(1))
            };
            let mut offer = PollOffer::new(&fd, &poll);
            let woke = idle.sleep_in(2, has_work, timeout, || "deadlock", Some(&mut offer));
            if woke == Woke::Done {
                return;
            }
        };
        let (i3, q3, p3, f3, o3) = (
            idle.clone(),
            queue.clone(),
            pending.clone(),
            fd.clone(),
            poll.clone(),
        );
        let other = loom::thread::spawn(move || worker(i3, q3, p3, f3, o3));
        worker(
            idle.clone(),
            queue.clone(),
            pending.clone(),
            fd.clone(),
            poll.clone(),
        );
        other.join().unwrap();
        io_thread.join().unwrap();
        assert_eq!(idle.take_result(), Some("deadlock"));
    });
}

/// W3 vs S1–S5: children in a worker's nursery are invisible to other
/// workers (no W2 when they are spawned); when they grow old their worker
/// moves them to its queue with W1 and W2 and may then stay busy with a
/// long process. The other worker, going to sleep meanwhile, either sees
/// the moved child at S3 or is woken for it (loom reports a deadlock if the
/// wake-up is lost); every child runs exactly once.
#[test]
fn nursery_spill_races_sleep() {
    loom::model(|| {
        let idle = Arc::new(Idle::<()>::default());
        let queue = Arc::new(Mutex::new(VecDeque::new()));
        let ran = Arc::new(AtomicUsize::new(0));
        let (i2, q2, r2) = (idle.clone(), queue.clone(), ran.clone());
        let spawner = loom::thread::spawn(move || {
            let mut nursery = VecDeque::from([1u32, 2]);
            // The oldest child runs here; the next one has grown too old
            // and moves to the queue (W1, W2).
            nursery.pop_front().unwrap();
            r2.fetch_add(1, Ordering::SeqCst);
            q2.lock().unwrap().push_back(nursery.pop_front().unwrap());
            i2.notify_work();
            // ... and this worker stays busy with a long process.
        });
        loop {
            if queue.lock().unwrap().pop_front().is_some() {
                ran.fetch_add(1, Ordering::SeqCst);
                break;
            }
            let has_work = || !queue.lock().unwrap().is_empty();
            // Two workers, the spawner busy: S4 never ends the run here.
            let woke = idle.sleep(2, has_work, || None, || ());
            assert_eq!(woke, Woke::Look);
        }
        spawner.join().unwrap();
        assert_eq!(ran.load(Ordering::SeqCst), 2);
    });
}

/// W4 vs S2–S6: a worker pushes to its own queue without W2 (woken
/// processes, a preempted one), runs what it can, and between slices wakes
/// a sleeper only when its queue is still not empty (`check_backlog`);
/// then it stays busy (a long process). The other worker, asleep, must
/// not sleep forever with an entry left in the busy worker's queue: either
/// the busy worker's check sees the entry and wakes it (W2 after W1, as
/// `push_races_sleep`), or the entry was already taken (by either). loom
/// reports a deadlock when the check does not wake.
#[test]
fn backlog_wakes_sleeper() {
    loom::model(|| {
        let idle = Arc::new(Idle::<()>::default());
        let queue = Arc::new(Mutex::new(VecDeque::new()));
        let taken = Arc::new(AtomicUsize::new(0));
        let (i2, q2, t2) = (idle.clone(), queue.clone(), taken.clone());
        let busy = loom::thread::spawn(move || {
            q2.lock().unwrap().push_back(1); // W1, no W2 (W4)
            if q2.lock().unwrap().pop_front().is_some() {
                t2.fetch_add(1, Ordering::SeqCst); // runs it itself
            }
            q2.lock().unwrap().push_back(2); // W1, no W2 (W4)
                                             // W4: between slices, a backlog wakes a sleeper (the
                                             // threshold is reached: this worker then runs a long slice).
            if !q2.lock().unwrap().is_empty() {
                i2.notify_work();
            }
        });
        // The sleeper: only it can take entry 2 (the busy worker never
        // pops again), so it stops once it has.
        loop {
            if queue.lock().unwrap().pop_front().is_some()
                && taken.fetch_add(1, Ordering::SeqCst) + 1 == 2
            {
                break;
            }
            let has_work = || !queue.lock().unwrap().is_empty();
            // Two workers, the other busy: S4 never ends the run here.
            let woke = idle.sleep(2, has_work, || None, || ());
            assert_eq!(woke, Woke::Look);
        }
        busy.join().unwrap();
        assert_eq!(taken.load(Ordering::SeqCst), 2);
    });
}

/// W4 vs S3/S4: a worker handling socket events pushes a message to the
/// done list without W2 (`push_local`), then goes on with its loop:
/// it delivers the list before it can sleep (its own S3 reads the list),
/// and the other worker, idle, may take the list too (S3 sees it) but can
/// never end the run (S4) while the message is undelivered: the pusher is
/// awake. Exactly one delivery; the run ends by the deliverer's E2.
#[test]
fn worker_push_needs_no_wake() {
    loom::model(|| {
        let idle = Arc::new(Idle::<&str>::default());
        let done = Arc::new(Mutex::new(Vec::new()));
        let has_done = Arc::new(AtomicBool::new(false));
        let delivered = Arc::new(AtomicUsize::new(0));
        let worker = |idle: Arc<Idle<&'static str>>,
                      done: Arc<Mutex<Vec<i32>>>,
                      has_done: Arc<AtomicBool>,
                      delivered: Arc<AtomicUsize>,
                      pusher: bool| {
            if pusher {
                // N2 on a worker: W1 (the list, its flag under its lock).
                let mut d = done.lock().unwrap();
                d.push(7);
                has_done.store(true, Ordering::SeqCst);
            }
            loop {
                if has_done.load(Ordering::SeqCst) {
                    let mut d = done.lock().unwrap();
                    has_done.store(false, Ordering::SeqCst);
                    let got = std::mem::take(&mut *d);
                    drop(d);
                    if !got.is_empty() {
                        // N3: delivered; the owner's exit ends the run (E2).
                        delivered.fetch_add(got.len(), Ordering::SeqCst);
                        idle.finish(|| "delivered");
                        return;
                    }
                }
                let has_work = || !done.lock().unwrap().is_empty();
                let woke = idle.sleep(2, has_work, || None, || "ended undelivered");
                if woke == Woke::Done {
                    return;
                }
            }
        };
        let (i2, d2, h2, v2) = (
            idle.clone(),
            done.clone(),
            has_done.clone(),
            delivered.clone(),
        );
        let other = loom::thread::spawn(move || worker(i2, d2, h2, v2, false));
        worker(
            idle.clone(),
            done.clone(),
            has_done.clone(),
            delivered.clone(),
            true,
        );
        other.join().unwrap();
        assert_eq!(delivered.load(Ordering::SeqCst), 1);
        assert_eq!(idle.take_result(), Some("delivered"));
    });
}

/// I2/I3/I5 vs S1–S5: a blocking operation finishes on an I/O thread (W1:
/// the done list and its flag, W2) while the only worker, whose process
/// waits for it, goes idle. The worker either sees the result at S3 or is
/// woken for it, and while the operation is pending S4 never ends the run
/// (the pending count acts as a timer that is not due: I5).
#[test]
fn io_completion_races_sleep() {
    loom::model(|| {
        let idle = Arc::new(Idle::<&str>::default());
        let done = Arc::new(Mutex::new(Vec::new()));
        let has_done = Arc::new(AtomicBool::new(false));
        let pending = Arc::new(AtomicUsize::new(1)); // I1: counted at submit
        let (i2, d2, h2) = (idle.clone(), done.clone(), has_done.clone());
        let io_thread = loom::thread::spawn(move || {
            let mut d = d2.lock().unwrap();
            d.push(42); // I2: the result (W1), its flag under the same lock
            h2.store(true, Ordering::SeqCst);
            drop(d);
            i2.notify_work(); // W2
        });
        loop {
            if has_done.load(Ordering::SeqCst) {
                let got = std::mem::take(&mut *done.lock().unwrap());
                if !got.is_empty() {
                    assert_eq!(got, vec![42]); // I3: delivered, then settled
                    pending.fetch_sub(1, Ordering::SeqCst);
                    break;
                }
            }
            // S3 looks at the list itself, under its lock.
            let has_work = || !done.lock().unwrap().is_empty();
            let timeout = || {
                (pending.load(Ordering::SeqCst) > 0).then_some(std::time::Duration::from_secs(1))
            };
            let woke = idle.sleep(1, has_work, timeout, || "ended with an operation pending");
            assert_eq!(woke, Woke::Look);
        }
        io_thread.join().unwrap();
    });
}

/// N1–N4 vs S2–S5: a socket's readiness (the poller thread) races with a
/// process that looks at the socket and then waits, its worker going idle.
/// Passive (`active` false): the process tries the operation under the
/// socket's lock and, finding nothing, registers its waiter and a ticket
/// (N1) in the same critical section; the poller, under the same lock,
/// either came first (the process finds the data at once) or finds the
/// waiter and hands it the result through the done list (N2: W1, W2).
/// Active: the socket is armed (its ticket counted at creation, N4); the
/// poller's message that disarms it carries the ticket, which the worker
/// settles after delivering it. Either way the worker gets the data, and
/// S4 never ends the run while it is on its way. (The first version let
/// the poller settle the ticket right after its push: loom found the
/// worker's S3 reading the empty list, then the settled count, and
/// ending the run.)
fn readiness_races_sleep(active: bool) {
    loom::model(move || {
        struct Sock {
            readable: bool,
            waiter: bool,
            armed: bool,
        }
        let idle = Arc::new(Idle::<&str>::default());
        let done = Arc::new(Mutex::new(Vec::new()));
        let has_done = Arc::new(AtomicBool::new(false));
        let pending = Arc::new(AtomicUsize::new(active as usize));
        let sock = Arc::new(Mutex::new(Sock {
            readable: false,
            waiter: false,
            armed: active,
        }));
        let (i2, d2, h2, p2, s2) = (
            idle.clone(),
            done.clone(),
            has_done.clone(),
            pending.clone(),
            sock.clone(),
        );
        let poller = loom::thread::spawn(move || {
            let mut s = s2.lock().unwrap();
            s.readable = true;
            let hand = s.waiter || s.armed;
            if hand {
                // N2: the result (or the message) goes to the done list.
                let mut d = d2.lock().unwrap();
                d.push(7);
                h2.store(true, Ordering::SeqCst);
                drop(d);
                s.readable = false;
                if s.armed {
                    // active once: disarmed; the ticket travels with the
                    // message and is settled once it is delivered (N4).
                    s.armed = false;
                }
                s.waiter = false;
            }
            drop(s);
            drop(p2);
            if hand {
                i2.notify_work(); // W2
            }
        });
        let mut got_now = false;
        if !active {
            let mut s = sock.lock().unwrap();
            if s.readable {
                got_now = true; // the data was there: no wait
                s.readable = false;
            } else {
                // N1: the waiter and its ticket, under the socket's lock.
                s.waiter = true;
                pending.fetch_add(1, Ordering::SeqCst);
            }
        }
        while !got_now {
            if has_done.load(Ordering::SeqCst) {
                let got = std::mem::take(&mut *done.lock().unwrap());
                if !got.is_empty() {
                    assert_eq!(got, vec![7]);
                    // I3 / N3: settled after the delivery (the waiter's
                    // ticket, or the armed socket's, carried by its last
                    // message).
                    pending.fetch_sub(1, Ordering::SeqCst);
                    break;
                }
            }
            let has_work = || !done.lock().unwrap().is_empty();
            let timeout = || {
                (pending.load(Ordering::SeqCst) > 0).then_some(std::time::Duration::from_secs(1))
            };
            let woke = idle.sleep(1, has_work, timeout, || {
                "ended with a socket's data on its way"
            });
            assert_eq!(woke, Woke::Look);
        }
        poller.join().unwrap();
    });
}

#[test]
fn socket_readiness_races_sleep() {
    readiness_races_sleep(false);
}

#[test]
fn active_socket_message_races_sleep() {
    readiness_races_sleep(true);
}

/// An item of the table that records when it is freed.
struct Item(Arc<AtomicBool>);

impl Drop for Item {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// P2–P4, P6 vs P3: a worker that looks a process up (coming online first,
/// as after an idle sleep) can use it until its next quiescent point, while
/// another worker removes, retires and tries to free it.
#[test]
fn lookup_races_retire() {
    loom::model(|| {
        let table = Arc::new(Table::<Item>::new());
        let marks = Arc::new(vec![Mark::new(), Mark::new()]);
        let freed = Arc::new(AtomicBool::new(false));
        assert!(table
            .insert(1, std::sync::Arc::new(Item(freed.clone())))
            .is_ok());
        let (t2, m2, f2) = (table.clone(), marks.clone(), freed.clone());
        let reader = loom::thread::spawn(move || {
            let mut r = Reclaimer::<Item>::default();
            r.go_online(&t2, &m2, 1);
            if !t2.lookup(1).is_null() {
                // Found: it stays allocated until our quiescent point.
                assert!(!f2.load(Ordering::SeqCst), "freed while borrowed");
            }
            r.quiesce(&t2, &m2, 1);
            // It stops (or goes idle): it holds nothing any more.
            r.go_offline(&t2, &m2, 1);
        });
        let mut r = Reclaimer::<Item>::default();
        r.go_online(&table, &marks, 0);
        table.remove(1, |g| r.retire(g));
        r.quiesce(&table, &marks, 0);
        r.quiesce(&table, &marks, 0);
        reader.join().unwrap();
        r.quiesce(&table, &marks, 0);
        assert!(freed.load(Ordering::SeqCst), "freed once the reader passed");
    });
}

/// P5 vs P3/P4: a lookup from outside the workers clones the process
/// before the table's count can be dropped.
#[test]
fn outside_lookup_races_retire() {
    loom::model(|| {
        let table = Arc::new(Table::<Item>::new());
        let marks = Arc::new(vec![Mark::new()]);
        let freed = Arc::new(AtomicBool::new(false));
        assert!(table
            .insert(1, std::sync::Arc::new(Item(freed.clone())))
            .is_ok());
        let (t2, f2) = (table.clone(), freed.clone());
        let outside = loom::thread::spawn(move || {
            if let Some(item) = t2.get_outside(1) {
                assert!(!f2.load(Ordering::SeqCst), "freed while held");
                drop(item);
            }
        });
        let mut r = Reclaimer::<Item>::default();
        r.go_online(&table, &marks, 0);
        table.remove(1, |g| r.retire(g));
        r.quiesce(&table, &marks, 0);
        r.quiesce(&table, &marks, 0);
        outside.join().unwrap();
        drop(r.into_garbage());
        assert!(freed.load(Ordering::SeqCst));
    });
}

/// The process lock: two threads' critical sections never overlap, and
/// each sees the other's writes (acquire/release).
#[test]
fn spin_lock_excludes() {
    loom::model(|| {
        let lock = Arc::new(crate::sync::SpinLock::new(()));
        let counter = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let (lock, counter) = (lock.clone(), counter.clone());
                loom::thread::spawn(move || {
                    let _g = lock.lock();
                    // A read and a write that another holder must not split.
                    let n = counter.load(Ordering::Relaxed);
                    counter.store(n + 1, Ordering::Relaxed);
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(counter.load(Ordering::Relaxed), 2);
    });
}

/// L1–L3: a one-scheduler run that became the solo user of process locks
/// (and so takes them by plain stores) never overlaps another thread's use
/// of them; a run that could not become solo is such a user itself.
#[test]
fn solo_gate_excludes() {
    loom::model(|| {
        let gate = Arc::new(SoloGate::default());
        // Stands for what process locks guard.
        let data = Arc::new(loom::cell::UnsafeCell::new(0));
        let (g2, d2) = (gate.clone(), data.clone());
        let other = loom::thread::spawn(move || {
            g2.enter();
            // SAFETY: the model checks that nobody else writes meanwhile.
            d2.with_mut(|p| unsafe { *p += 1 });
            g2.leave();
        });
        let solo = gate.try_solo();
        if solo {
            // SAFETY: as above.
            data.with_mut(|p| unsafe { *p += 1 });
            gate.end_solo();
        }
        other.join().unwrap();
        // SAFETY: both threads are done.
        let n = data.with(|p| unsafe { *p });
        assert_eq!(n, 1 + solo as i32);
    });
}

/// O2 (`node/observe.rs`): an observer's job during a one-scheduler run.
/// The observer runs it itself when it can enter the gate, else queues it
/// (W1, W2) and the solo worker runs it between slices or wakes from its
/// idle sleep for it (S3 sees `pending`); if the run ended first, the
/// observer's second `try_enter` or the run's end runs it. The job runs
/// exactly once, and never while the solo worker uses process locks
/// (loom checks the cell's accesses).
#[test]
fn observer_job_during_solo_run() {
    loom::model(|| {
        let gate = Arc::new(SoloGate::default());
        let idle = Arc::new(Idle::<()>::default());
        let jobs = Arc::new(Mutex::new(0usize));
        let pending = Arc::new(AtomicBool::new(false));
        // Stands for what process locks guard; counts the job's runs.
        let data = Arc::new(loom::cell::UnsafeCell::new(0usize));
        let run_jobs = {
            let (jobs, pending, data, idle) =
                (jobs.clone(), pending.clone(), data.clone(), idle.clone());
            move || {
                let n = {
                    let mut j = jobs.lock().unwrap();
                    idle.looked();
                    pending.store(false, Ordering::SeqCst);
                    std::mem::take(&mut *j)
                };
                if n > 0 {
                    // SAFETY: the model checks that nobody else uses it
                    // meanwhile (two non-solo users may both look for
                    // jobs; only the one that took it touches the cell).
                    data.with_mut(|p| unsafe { *p += n });
                }
            }
        };
        let observer = {
            let (gate, idle, jobs, pending) =
                (gate.clone(), idle.clone(), jobs.clone(), pending.clone());
            let run_jobs = run_jobs.clone();
            loom::thread::spawn(move || {
                if gate.try_enter() {
                    *jobs.lock().unwrap() += 1;
                    run_jobs();
                    gate.leave();
                    return;
                }
                {
                    let mut j = jobs.lock().unwrap();
                    *j += 1;
                    idle.look();
                    pending.store(true, Ordering::SeqCst);
                }
                idle.notify_work();
                if gate.try_enter() {
                    run_jobs();
                    gate.leave();
                }
            })
        };
        // The run: solo if it can be, with one worker.
        if gate.try_solo() {
            loop {
                // The between-slices check (node/run.rs).
                if idle.attention() {
                    if idle.is_done() {
                        break;
                    }
                    run_jobs();
                }
                // A slice: uses what the locks guard.
                // SAFETY: as above.
                data.with_mut(|p| unsafe { *p += 0 });
                let has_work = || pending.load(Ordering::SeqCst);
                if idle.sleep(1, has_work, || None, || ()) == Woke::Done {
                    break;
                }
            }
            gate.end_solo();
        } else {
            gate.enter();
            gate.leave();
        }
        // The run's end: takes the jobs under their lock, so either it
        // sees a job queued before, or that job's observer enters the gate
        // afterwards (the run ended before) and runs it itself.
        gate.enter();
        run_jobs();
        gate.leave();
        observer.join().unwrap();
        // SAFETY: both threads are done.
        assert_eq!(data.with(|p| unsafe { *p }), 1, "the job ran once");
    });
}

// ---------------------------------------------------------------------
// Links and monitors against exits (issue 12): K2/K3 vs U1, D1, L1–L3,
// M1'–M3' (`sched/README.md`, "Links and monitors").

use crate::process::{Origin, Signalled};
use crate::sync::LockMode;

const T: i64 = 1;
const D: i64 = 2;

/// A process `D` that ends with `reason` on another thread: K1 at rest,
/// X1's `take_for_exit`, then X3 (DOWN to each watcher that still holds
/// the monitor, K3) and X4 (an exit signal along each link, K2). Returns
/// what each of its signals to `T` did.
fn die(t: &Process<()>, d: &Process<()>, reason: &Value) -> (Vec<bool>, Vec<Option<bool>>) {
    let Kill::Now(_) = d.kill(reason.clone()) else {
        panic!("D is at rest")
    };
    let (cold, _mailbox) = d.take_for_exit();
    let cold = cold.map(|c| *c).unwrap_or_default();
    let downs = cold
        .watchers
        .iter()
        .map(|&(r, w)| {
            assert_eq!(w, T);
            let msg = Value::list(vec![
                Value::str("DOWN"),
                Value::Int(r),
                Value::Int(D),
                reason.clone(),
            ]);
            t.down(r, msg, LockMode::ATOMIC)
        })
        .collect();
    let exits = cold
        .links
        .iter()
        .map(|&l| {
            assert_eq!(l, T);
            !matches!(
                t.exit_signal(D, reason, Origin::Link, LockMode::ATOMIC, false),
                Signalled::Dropped
            )
        })
        .collect();
    (exits, downs)
}

/// The messages of the running process `p`, in order (its mailbox and
/// inbox).
fn drain(p: &Process<()>, own: &mut Own) -> Vec<Value> {
    let mut all = Vec::new();
    while let Received::Message(m) = p.receive(own, None, true, None) {
        all.push(m);
    }
    all
}

/// No UNLINK mark is left (U3, K2).
fn no_marks(p: &Process<()>) -> bool {
    p.with_meta(|m| m.cold.as_ref().is_none_or(|c| c.unlinked.is_empty()))
}

fn is_list_of(msg: &Value, head: &str) -> bool {
    matches!(msg, Value::List(l) if matches!(&l[0], Value::Str(s) if s.as_str() == head))
}

/// U1 vs K2: `T` (running) UNLINKs `D` while `D` ends. Either the exit
/// signal came first — then `T`, not trapping, finds it pending right
/// after UNLINK (and stops there); trapping, it has the EXIT before the
/// mark it sends itself after UNLINK — or it is dropped: nothing from the
/// link reaches `T` after UNLINK returned.
#[test]
fn unlink_races_exit() {
    for trap in [false, true] {
        loom::model(move || {
            let t = Arc::new(Process::new(T, (), Some(D)));
            let d = Arc::new(Process::new(D, (), Some(T)));
            t.with_meta(|m| m.trap_exit = trap);
            let mut own = Own::default();
            let Start::Run(_state) = t.transition_to_running(&mut own) else {
                panic!("T runs")
            };
            let (t2, d2) = (t.clone(), d.clone());
            let dying = loom::thread::spawn(move || die(&t2, &d2, &Value::str("boom")).0);
            t.unlink_from(D, Some(&d), LockMode::ATOMIC);
            let killed_at_unlink = t.with_meta(|m| m.pending_exit.take()).is_some();
            t.deliver(Value::str("mark"));
            let applied = dying.join().unwrap().iter().filter(|&&a| a).count();
            let msgs = drain(&t, &mut own);
            let mark = msgs
                .iter()
                .position(|m| matches!(m, Value::Str(s) if s.as_str() == "mark"))
                .expect("the mark");
            let exits: Vec<usize> = (0..msgs.len())
                .filter(|&i| is_list_of(&msgs[i], "EXIT"))
                .collect();
            assert!(
                t.with_meta(|m| m.pending_exit.is_none()),
                "no exit signal after UNLINK returned"
            );
            assert!(no_marks(&t), "U1's mark is gone once D's exit is done");
            if trap {
                assert!(!killed_at_unlink);
                assert_eq!(exits.len(), applied, "an applied signal is an EXIT");
                assert!(exits.iter().all(|&i| i < mark), "no EXIT after UNLINK");
            } else {
                assert!(exits.is_empty());
                assert_eq!(killed_at_unlink, applied == 1, "applied before UNLINK");
            }
        });
    }
}

/// D1 vs K3: `T` (running) DEMONITORs while `D` ends: once DEMONITOR
/// returned, no DOWN of that monitor is in `T`'s mailbox (a queued one
/// was dropped) or arrives later.
#[test]
fn demonitor_races_exit() {
    loom::model(|| {
        let t = Arc::new(Process::new(T, (), None));
        let d = Arc::new(Process::new(D, (), None));
        let mut own = Own::default();
        let Start::Run(_state) = t.transition_to_running(&mut own) else {
            panic!("T runs")
        };
        assert!(t.monitor_of(7, D, Some(&d), LockMode::ATOMIC));
        let (t2, d2) = (t.clone(), d.clone());
        let dying = loom::thread::spawn(move || die(&t2, &d2, &Value::str("boom")).1);
        if let Some(target) = t.drop_monitor(7, true, LockMode::ATOMIC) {
            assert_eq!(target, D);
            d.drop_watcher(7, LockMode::ATOMIC);
        }
        let downs = dying.join().unwrap();
        assert!(downs.len() <= 1);
        let msgs = drain(&t, &mut own);
        assert!(
            !msgs.iter().any(|m| is_list_of(m, "DOWN")),
            "no DOWN after DEMONITOR returned"
        );
    });
}

/// L1–L3 vs X1/K2: `T` (trapping, running) UNLINKs `D` and LINKs it again
/// while `D` ends. After the mark `T` sends itself between the two, it
/// gets exactly one EXIT: along the new link, or `noproc` when `D` had
/// already exited — never both, never none; before the mark at most one
/// (the old link's, if it came before UNLINK).
#[test]
fn relink_races_exit() {
    loom::model(|| {
        let t = Arc::new(Process::new(T, (), Some(D)));
        let d = Arc::new(Process::new(D, (), Some(T)));
        t.with_meta(|m| m.trap_exit = true);
        let mut own = Own::default();
        let Start::Run(_state) = t.transition_to_running(&mut own) else {
            panic!("T runs")
        };
        let (t2, d2) = (t.clone(), d.clone());
        let dying = loom::thread::spawn(move || die(&t2, &d2, &Value::str("boom")).0);
        t.unlink_from(D, Some(&d), LockMode::ATOMIC);
        t.deliver(Value::str("mark"));
        if !t.link_with(D, Some(&d), LockMode::ATOMIC) {
            let noproc = t.exit_signal(
                D,
                &Value::str("noproc"),
                Origin::Noproc,
                LockMode::ATOMIC,
                false,
            );
            assert!(matches!(noproc, Signalled::Trapped { .. }));
        }
        dying.join().unwrap();
        let msgs = drain(&t, &mut own);
        let mark = msgs
            .iter()
            .position(|m| matches!(m, Value::Str(s) if s.as_str() == "mark"))
            .expect("the mark");
        let before = msgs[..mark]
            .iter()
            .filter(|m| is_list_of(m, "EXIT"))
            .count();
        let after = msgs[mark..]
            .iter()
            .filter(|m| is_list_of(m, "EXIT"))
            .count();
        assert!(before <= 1);
        assert_eq!(after, 1, "exactly one EXIT for the new link: {msgs:?}");
        assert!(!t.with_meta(|m| m.has_link(D)), "the link went with D");
        assert!(no_marks(&t), "U1's mark is gone once D's exit is done");
    });
}

/// M1'–M3' vs X1/K3: a MONITOR racing its target's end gets exactly one
/// DOWN: the target's (it was a watcher when the target exited) or
/// `noproc` (it was not).
#[test]
fn monitor_races_exit() {
    loom::model(|| {
        let t = Arc::new(Process::new(T, (), None));
        let d = Arc::new(Process::new(D, (), None));
        let mut own = Own::default();
        let Start::Run(_state) = t.transition_to_running(&mut own) else {
            panic!("T runs")
        };
        let (t2, d2) = (t.clone(), d.clone());
        let dying = loom::thread::spawn(move || die(&t2, &d2, &Value::str("boom")).1);
        if !t.monitor_of(7, D, Some(&d), LockMode::ATOMIC) {
            t.deliver(Value::list(vec![
                Value::str("DOWN"),
                Value::Int(7),
                Value::Int(D),
                Value::str("noproc"),
            ]));
        }
        let downs = dying.join().unwrap();
        assert!(
            downs.iter().all(|d| d.is_some()),
            "a watcher's DOWN is delivered"
        );
        let msgs = drain(&t, &mut own);
        let n = msgs.iter().filter(|m| is_list_of(m, "DOWN")).count();
        assert_eq!(n, 1, "exactly one DOWN: {msgs:?}");
    });
}

/// A list's count (`value/list.rs`, the protocol of `Arc`): a list shared
/// by two threads, one of which reads its copy and drops it while the
/// other changes its own — in place only when its acquire load sees it is
/// the only holder (after the reader's release decrement), else on a copy.
/// In every interleaving the reader sees the elements it was given, the
/// writer its changes, and the element the list holds is released exactly
/// once (its `Arc`'s count is back to 1 at the end: no leak, no double
/// drop). The elements are plain memory, which loom does not check for
/// races; what it checks is that the count orders the accesses.
#[test]
fn list_count_protocol() {
    loom::model(|| {
        let s = std::sync::Arc::new(crate::value::Str::from("x"));
        let l = crate::value::List::from_vec(vec![Value::Str(s.clone()), Value::Int(1)]);
        let reader = l.clone();
        let t = loom::thread::spawn(move || {
            let ok = reader.len() == 2 && matches!(reader[1], Value::Int(1));
            drop(reader);
            ok
        });
        let mut l = l;
        l.push(Value::Int(2));
        l.make_mut()[1] = Value::Int(5);
        assert!(matches!(
            l[..],
            [Value::Str(_), Value::Int(5), Value::Int(2)]
        ));
        assert!(t.join().unwrap());
        assert_eq!(l.strong_count(), 1);
        drop(l);
        assert_eq!(std::sync::Arc::strong_count(&s), 1);
    });
}

/// Freeing a tree of lists through the chain of dead blocks
/// (`value::deep::Releaser`): an inner list held by the outer one and by
/// another thread, both let go of at once. Whichever drop is last frees
/// the inner list (its count word then links it into that thread's
/// chain, after the acquire fence), exactly once, and the string both
/// share is released exactly once too.
#[test]
fn list_free_chain() {
    loom::model(|| {
        let s = std::sync::Arc::new(crate::value::Str::from("x"));
        let inner = crate::value::List::from_vec(vec![Value::Str(s.clone()), Value::Null]);
        let outer = Value::list(vec![Value::List(inner.clone()), Value::list(vec![])]);
        let t = loom::thread::spawn(move || {
            let ok = matches!(inner[0], Value::Str(_));
            drop(inner);
            ok
        });
        drop(outer);
        assert!(t.join().unwrap());
        assert_eq!(std::sync::Arc::strong_count(&s), 1);
    });
}

/// N2 by the worker holding the poll right with `IoShared::push_local`
/// (a message read from a distribution connection): W1 without W2, since
/// that worker looks at the done list itself next. Two workers: A reads
/// and pushes quietly, then loops as `work` does (deliver, else sleep);
/// B is going to sleep, or holds the right to deliver (N3) and is about
/// to let it go after finding the list empty. The item is delivered
/// exactly once, by whoever holds the right once it is there, and nobody
/// sleeps forever (loom reports a deadlock if the skipped W2 were
/// needed); the one that delivers it ends the run (E2).
#[test]
fn quiet_push_by_the_poll_holder() {
    loom::model(|| {
        let idle = Arc::new(Idle::<()>::default());
        let done = Arc::new(Mutex::new(Vec::new()));
        let has_done = Arc::new(AtomicBool::new(false));
        let delivering = Arc::new(Mutex::new(()));
        let delivered = Arc::new(AtomicUsize::new(0));
        let worker = |idle: Arc<Idle<()>>,
                      done: Arc<Mutex<Vec<i32>>>,
                      has_done: Arc<AtomicBool>,
                      delivering: Arc<Mutex<()>>,
                      delivered: Arc<AtomicUsize>,
                      reads: bool| {
            if reads {
                // push_local: W1 and the flag under the list's lock.
                let mut d = done.lock().unwrap();
                d.push(7);
                has_done.store(true, Ordering::SeqCst);
            }
            loop {
                if has_done.load(Ordering::SeqCst) {
                    // N3: one deliverer at a time, which takes the list
                    // again until it is empty.
                    if let Ok(_right) = delivering.try_lock() {
                        let mut any = false;
                        loop {
                            let got = {
                                let mut d = done.lock().unwrap();
                                has_done.store(false, Ordering::SeqCst);
                                std::mem::take(&mut *d)
                            };
                            if got.is_empty() {
                                break;
                            }
                            any = true;
                            delivered.fetch_add(got.len(), Ordering::SeqCst);
                        }
                        if any {
                            idle.finish(|| ()); // E2: its process ran and ended
                            return;
                        }
                    } else {
                        // The holder takes the list again before it lets
                        // go; this worker looks again (S3 sees the list),
                        // after the holder has run.
                        loom::thread::yield_now();
                    }
                }
                let has_work = || !done.lock().unwrap().is_empty();
                // Two workers, and the run ends only by E2 here.
                let woke = idle.sleep(2, has_work, || None, || ());
                if woke == Woke::Done {
                    return;
                }
            }
        };
        let (i2, d2, h2, r2, n2) = (
            idle.clone(),
            done.clone(),
            has_done.clone(),
            delivering.clone(),
            delivered.clone(),
        );
        let b = loom::thread::spawn(move || worker(i2, d2, h2, r2, n2, false));
        worker(
            idle.clone(),
            done.clone(),
            has_done.clone(),
            delivering.clone(),
            delivered.clone(),
            true,
        );
        b.join().unwrap();
        assert_eq!(delivered.load(Ordering::SeqCst), 1);
    });
}
