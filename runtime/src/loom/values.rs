//! Value reference counts (`value/list.rs`).

use super::*;

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

/// A list let go of by two threads at once (`List`'s `Drop`): a holder
/// whose acquire load sees the count 1 frees without the locked
/// decrement, the others decrement. In every interleaving the list is
/// freed exactly once, after both threads' reads, and the string it holds
/// is released exactly once (its count back to 1: no leak, no double
/// drop); a list of numbers (freed by the flat path) likewise.
#[test]
fn list_drop_unique() {
    loom::model(|| {
        let s = std::sync::Arc::new(crate::value::Str::from("x"));
        let l = crate::value::List::from_vec(vec![Value::Str(s.clone()), Value::Int(1)]);
        let n = crate::value::List::from_vec(vec![Value::Int(2), Value::Null]);
        let (l2, n2) = (l.clone(), n.clone());
        let t = loom::thread::spawn(move || {
            let ok = matches!(l2[1], Value::Int(1)) && matches!(n2[0], Value::Int(2));
            drop(l2);
            drop(n2);
            ok
        });
        let ok = matches!(l[0], Value::Str(_)) && n.len() == 2;
        drop(n);
        drop(l);
        assert!(t.join().unwrap() && ok);
        assert_eq!(std::sync::Arc::strong_count(&s), 1);
    });
}

/// `value::drop_last` (compiled code's drop of a count it read as 1)
/// racing a plain drop of the same list on another thread: whichever
/// finds the count 1 frees it (without a locked decrement), exactly once,
/// and the string it holds is released exactly once.
#[test]
fn list_drop_last() {
    loom::model(|| {
        let s = std::sync::Arc::new(crate::value::Str::from("x"));
        let l = Value::List(crate::value::List::from_vec(vec![Value::Str(s.clone())]));
        let l2 = l.clone();
        let t = loom::thread::spawn(move || drop(l2));
        crate::value::drop_last(l);
        t.join().unwrap();
        assert_eq!(std::sync::Arc::strong_count(&s), 1);
    });
}

/// `value::drop_last_raw` (compiled code's `drop` helper, from the value's
/// tag and payload words) on two threads at once, each letting go of one
/// reference to the same list: whichever finds the count 1 frees it,
/// exactly once, and the string it holds is released exactly once; a
/// string given to it (not a list) is dropped as usual.
#[test]
fn list_drop_last_raw() {
    /// The value's tag byte and payload word, its reference given up.
    fn raw(v: Value) -> (u8, u64) {
        let v = std::mem::ManuallyDrop::new(v);
        // SAFETY: a value is 16 bytes, the tag byte first, the payload at 8.
        let w = unsafe { std::ptr::read(&*v as *const Value as *const [u64; 2]) };
        (w[0] as u8, w[1])
    }
    loom::model(|| {
        let s = std::sync::Arc::new(crate::value::Str::from("x"));
        let l = Value::List(crate::value::List::from_vec(vec![
            Value::Str(s.clone()),
            Value::Int(1),
        ]));
        let (t2, p2) = raw(l.clone());
        // SAFETY: each reference is given up once.
        let t = loom::thread::spawn(move || unsafe { crate::value::drop_last_raw(t2, p2) });
        let (t1, p1) = raw(l);
        // SAFETY: (t1, p1) is the list's other reference, taken out of its
        // `Value` by `raw` and given up only here.
        unsafe { crate::value::drop_last_raw(t1, p1) };
        let (ts, ps) = raw(Value::Str(s.clone()));
        // SAFETY: (ts, ps) is the string's clone, taken out of its `Value`
        // by `raw` and given up only here.
        unsafe { crate::value::drop_last_raw(ts, ps) };
        t.join().unwrap();
        assert_eq!(std::sync::Arc::strong_count(&s), 1);
    });
}
