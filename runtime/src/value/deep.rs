//! Deeply nested values without deep recursion.
//!
//! A list nested a million levels deep is easy to build; dropping it the
//! ordinary way recurses once per level and overflows the native stack. The
//! containers' `Drop` impls instead move their children onto one work list
//! and release them in a loop: a child container that nothing else holds is
//! opened the same way, so no drop ever recurses more than one level.

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

/// Drop the values of `items`, which the caller then forgets (a list's
/// elements, when its last reference goes): a value that holds no others
/// is dropped at once, containers go to a work list released in a loop
/// (which is allocated only when there is one).
///
/// # Safety
/// The values are read out: the caller must not use or drop them again.
pub(super) unsafe fn release_slice(items: &mut [Value]) {
    let mut work = Vec::new();
    for v in items.iter_mut() {
        // SAFETY: each value is read once; the caller forgets them.
        let v = unsafe { std::ptr::read(v) };
        if is_container(&v) {
            work.push(v);
        } else {
            drop(v);
        }
    }
    if !work.is_empty() {
        release(work);
    }
}

/// Release `work` and everything only it holds, iteratively.
fn release(mut work: Vec<Value>) {
    while let Some(v) = work.pop() {
        match v {
            Value::List(l) => {
                // The last reference moves its containers onto `work`
                // (and drops the rest); another reference just counts
                // one fewer.
                l.release_into(&mut work);
            }
            Value::Object(a) => {
                if let Ok(mut o) = Arc::try_unwrap(a) {
                    work.extend(o.take_values());
                }
            }
            Value::Closure(a) => {
                if let Ok(mut c) = Arc::try_unwrap(a) {
                    let captured = std::mem::take(&mut c.captured);
                    work.extend(captured.into_vec().into_iter().map(|(_, v)| v));
                }
            }
            Value::Exception(a) => {
                if let Ok(mut e) = Arc::try_unwrap(a) {
                    work.push(std::mem::replace(&mut e.value, Value::Null));
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
