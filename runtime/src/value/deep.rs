//! Deeply nested values without deep recursion.
//!
//! A list nested a million levels deep is easy to build; dropping it the
//! ordinary way recurses once per level and overflows the native stack. The
//! containers' `Drop` impls instead move their children onto one work list
//! and release them in a loop: a child container that nothing else holds is
//! opened the same way, so no drop ever recurses more than one level.

use super::Value;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

/// A list's elements (the heap part of `Value::List`). `Debug` is bounded
/// (see `display.rs`).
#[derive(Clone, Default)]
pub struct List(pub Vec<Value>);

impl Deref for List {
    type Target = Vec<Value>;
    fn deref(&self) -> &Vec<Value> {
        &self.0
    }
}

impl DerefMut for List {
    fn deref_mut(&mut self) -> &mut Vec<Value> {
        &mut self.0
    }
}

fn is_container(v: &Value) -> bool {
    matches!(
        v,
        Value::List(_) | Value::Object(_) | Value::Closure(_) | Value::Exception(_)
    )
}

impl Drop for List {
    fn drop(&mut self) {
        if self.0.iter().any(is_container) {
            release(std::mem::take(&mut self.0));
        }
    }
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

/// Release `work` and everything only it holds, iteratively.
fn release(mut work: Vec<Value>) {
    while let Some(v) = work.pop() {
        match v {
            Value::List(a) => {
                if let Ok(mut l) = Arc::try_unwrap(a) {
                    work.append(&mut l.0);
                }
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
    fn a_million_levels_drop_without_overflow() {
        let mut v = Value::list(vec![]);
        for _ in 0..1_000_000 {
            v = Value::list(vec![v, Value::Int(1)]);
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
