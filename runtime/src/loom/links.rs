//! Links and monitors against exits (issue 12).

use super::*;

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
