//! The process state machine: receives, sends, kills and queue entries
//! racing each other (R1–R4, S1, K1, Q2).

use super::*;

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
