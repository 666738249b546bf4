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

/// Where compiled code finds a list's elements (the JIT's inline `INDEX`
/// and `LEN`, issue 15): byte offsets, from the address a `Value::List`'s
/// payload word holds (the `Arc`'s allocation), of the pointer to the
/// first element and of the length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListLayout {
    pub elems: i32,
    pub len: i32,
}

impl List {
    /// The offsets of [`ListLayout`], found once by looking at a list made
    /// for the purpose (Rust fixes neither `Vec`'s nor `Arc`'s field
    /// order, so they are measured, not assumed): the word that holds the
    /// elements' address and the one that holds the length (5, beside a
    /// capacity of at least 7 and reference counts of 1).
    pub fn layout() -> ListLayout {
        static LAYOUT: std::sync::OnceLock<ListLayout> = std::sync::OnceLock::new();
        *LAYOUT.get_or_init(|| {
            let mut items = Vec::with_capacity(7);
            items.resize(5, Value::Null);
            let elems = items.as_ptr() as usize;
            let v = Value::List(Arc::new(List(items)));
            // SAFETY: `Value` is 16 bytes, `repr(C, u8)`: the payload word
            // (the `Arc`'s pointer) is at offset 8.
            let base = unsafe { *((&v as *const Value as *const usize).add(1)) };
            let mut found = (None, None);
            for off in (0..64).step_by(8) {
                // SAFETY: an `Arc<List>` allocation holds two counters and
                // a `Vec` (5 words): 40 bytes are readable; the search
                // stops at the first two matches, within them.
                let word = unsafe { *((base + off) as *const usize) };
                if word == elems && found.0.is_none() {
                    found.0 = Some(off as i32);
                } else if word == 5 && found.1.is_none() {
                    found.1 = Some(off as i32);
                }
                if let (Some(elems), Some(len)) = found {
                    return ListLayout { elems, len };
                }
            }
            unreachable!("a list's element pointer and length are within its allocation")
        })
    }
}

#[cfg(test)]
mod layout_tests {
    use super::*;

    #[test]
    fn list_layout_reads_a_lists_elements() {
        let l = List::layout();
        let v = Value::list(vec![Value::Int(4), Value::Int(7), Value::Null]);
        // SAFETY: as in `List::layout`.
        unsafe {
            let base = *((&v as *const Value as *const usize).add(1));
            let len = *((base + l.len as usize) as *const usize);
            let elems = *((base + l.elems as usize) as *const *const Value);
            assert_eq!(len, 3);
            assert!(matches!(&*elems.add(1), Value::Int(7)));
        }
    }
}
