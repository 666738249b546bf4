//! Idle workers, wake-ups and the network poll (W1–W4, S1–S6, N0–N3, I3–I5).

use super::*;

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
