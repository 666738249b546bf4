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
