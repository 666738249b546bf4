//! The process lock, the solo gate and observer jobs.

use super::*;

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
