//! The process table: lookups racing retirement (P2–P6).

use super::*;

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
