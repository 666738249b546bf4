//! Deeply nested values without deep recursion.
//!
//! A list nested a million levels deep is easy to build; dropping it the
//! ordinary way recurses once per level and overflows the native stack. The
//! containers' `Drop` impls instead move their children onto one work list
//! and release them in a loop ([`Releaser`]): a child container that nothing
//! else holds is opened the same way, so no drop ever recurses more than one
//! level. Lists whose last reference goes are chained through their own
//! (dead) count words instead of a work list.

use super::list::DeadList;
use super::Value;
use std::sync::Arc;

pub(super) fn is_container(v: &Value) -> bool {
    matches!(
        v,
        Value::List(_) | Value::Object(_) | Value::Closure(_) | Value::Exception(_)
    )
}

impl Drop for super::Object {
    fn drop(&mut self) {
        if self.iter().any(|(_, v)| is_container(v)) {
            release(self.take_values());
        }
    }
}

impl Drop for super::Closure {
    fn drop(&mut self) {
        if self.captured.iter().any(|(_, v)| is_container(v)) {
            let captured = std::mem::take(&mut self.captured);
            release(captured.into_vec().into_iter().map(|(_, v)| v).collect());
        }
    }
}

impl Drop for super::Exception {
    fn drop(&mut self) {
        if is_container(&self.value) {
            release(vec![std::mem::replace(&mut self.value, Value::Null)]);
        }
    }
}

/// Drop the values of `items`, which the caller then forgets (elements
/// cut off a list), and everything only they hold.
///
/// # Safety
/// The values are read out: the caller must not use or drop them again.
pub(super) unsafe fn release_slice(items: &mut [Value]) {
    let mut r = Releaser::default();
    for v in items.iter_mut() {
        // SAFETY: each value is read once; the caller forgets them.
        r.put(unsafe { std::ptr::read(v) });
    }
    r.run();
}

/// Free the dead list block `d` and everything only it holds.
pub(super) fn free_dead(mut d: DeadList) {
    d.link(None);
    let mut r = Releaser {
        lists: Some(d),
        others: Vec::new(),
    };
    r.run();
}

/// Release `work` and everything only it holds, iteratively (`work`
/// itself serves as the work list).
fn release(work: Vec<Value>) {
    Releaser {
        lists: None,
        others: work,
    }
    .run();
}

/// Values being let go of, released in a loop (no recursion, whatever
/// the nesting): a list whose last reference goes joins `lists`, a stack
/// of dead blocks linked through their count words (so a tree of lists
/// is freed without a work list and without moving its elements); an
/// object, closure or exception waits in `others` (a `Vec`, allocated
/// only when one turns up, or the one given to [`release`]) until its
/// fields are opened the same way; every other value is dropped at once.
#[derive(Default)]
pub(super) struct Releaser {
    lists: Option<DeadList>,
    others: Vec<Value>,
}

impl Releaser {
    /// Let go of `v`.
    #[inline]
    fn put(&mut self, v: Value) {
        match v {
            Value::List(l) => {
                if let Some(mut d) = l.release_ref() {
                    d.link(self.lists.take());
                    self.lists = Some(d);
                }
            }
            Value::Object(_) | Value::Closure(_) | Value::Exception(_) => self.others.push(v),
            v => drop(v),
        }
    }

    /// Release everything put, and everything only that held.
    fn run(&mut self) {
        loop {
            if let Some(d) = self.lists.take() {
                self.lists = d.next();
                d.free_with(|v| self.put(v));
                continue;
            }
            let Some(v) = self.others.pop() else {
                return;
            };
            match v {
                // The last reference opens the container (its fields are
                // put; the emptied container's own drop then finds no
                // container left in it); another reference just counts
                // one fewer.
                Value::Object(a) => {
                    if let Ok(mut o) = Arc::try_unwrap(a) {
                        for c in o.take_values() {
                            self.put(c);
                        }
                    }
                }
                Value::Closure(a) => {
                    if let Ok(mut c) = Arc::try_unwrap(a) {
                        let captured = std::mem::take(&mut c.captured);
                        for (_, v) in captured.into_vec() {
                            self.put(v);
                        }
                    }
                }
                Value::Exception(a) => {
                    if let Ok(mut e) = Arc::try_unwrap(a) {
                        self.put(std::mem::replace(&mut e.value, Value::Null));
                    }
                }
                // A list given to `release`: onto the stack of dead
                // blocks when this was its last reference.
                list @ Value::List(_) => self.put(list),
                other => drop(other),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freeing_a_tree_releases_each_part_once() {
        // A tree of lists with objects, a closure's worth of values and
        // strings in it, a subtree still held outside, and a string
        // shared by every leaf: freeing the tree leaves the held subtree
        // whole and counts the string down once per leaf.
        let s = Arc::new(crate::value::Str::from("leaf"));
        let leaf =
            |s: &Arc<crate::value::Str>| Value::list(vec![Value::Str(s.clone()), Value::Null]);
        let mut o = crate::value::Object::new();
        o.set_with("l", || "l".into(), leaf(&s));
        let held = Value::list(vec![leaf(&s), Value::Object(Arc::new(o))]);
        let tree = Value::list(vec![
            held.clone(),
            Value::list(vec![leaf(&s), leaf(&s), Value::Int(3)]),
            Value::Exception(Arc::new(crate::value::Exception {
                message: Arc::new("e".into()),
                value: leaf(&s),
            })),
        ]);
        assert_eq!(Arc::strong_count(&s), 6);
        drop(tree);
        assert_eq!(Arc::strong_count(&s), 3);
        let Value::List(l) = &held else {
            unreachable!()
        };
        assert_eq!(l.strong_count(), 1);
        assert!(matches!(&l[0], Value::List(leaf) if matches!(leaf[0], Value::Str(_))));
        drop(held);
        assert_eq!(Arc::strong_count(&s), 1);
        // Cutting elements off a list releases them the same way.
        let mut cut = crate::value::List::from_vec(vec![leaf(&s), leaf(&s), leaf(&s)]);
        cut.truncate(1);
        cut.keep_range(1, 1);
        assert_eq!((cut.len(), Arc::strong_count(&s)), (0, 1));
    }

    #[test]
    fn ten_million_levels_drop_without_overflow() {
        // Lists (one block each), with an object every 1,000 levels and a
        // level shared twice every 10,000 (freed when its second holder
        // goes).
        let mut v = Value::list(vec![]);
        for i in 0..10_000_000u32 {
            v = if i % 1000 == 0 {
                let mut o = crate::value::Object::new();
                o.set_with("inner", || "inner".into(), v);
                Value::Object(Arc::new(o))
            } else if i % 10_000 == 1 {
                Value::list(vec![v.clone(), v])
            } else {
                Value::list(vec![v, Value::Int(1)])
            };
        }
        drop(v);
        let mut e = Value::Null;
        for _ in 0..200_000 {
            e = Value::Exception(Arc::new(crate::value::Exception {
                message: Arc::new("deep".into()),
                value: Value::list(vec![e]),
            }));
        }
        drop(e);
    }
}
