//! loom models of the scheduling protocols (see `sched/README.md`):
//! `RUSTFLAGS="--cfg loom" cargo test -p ttvm-runtime --release loom`.
//!
//! crossbeam-deque is not loom-aware, so the run queues are modelled by a
//! mutex-protected queue; the process state machine and the idle protocol are
//! the real code.

use crate::idle::{Idle, Woke};
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
