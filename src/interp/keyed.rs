//! Field operations with the key on the stack (`GET_FIELD`, `HAS_FIELD`,
//! `SET_FIELD` without an operand: maps keyed by run-time strings, issue
//! 14), done by the dispatch loop without the generic path: an Object and
//! a Str key (and, for `SET_FIELD`, room for a new field) are the whole
//! case; anything else returns `false` with nothing changed, and the
//! generic path runs the instruction (and raises its error). Out of line:
//! the loop's arm is a test and a call.

use super::moves::drop_at;
use crate::exec::ops;
use std::sync::Arc;
use ttvm_runtime::Value;

/// `GET_FIELD` (`has`: `HAS_FIELD`) on `obj key` below `sp`: the two
/// operands replaced by the field (Null when missing) or by 1/0; the
/// caller lowers `sp` by one.
///
/// # Safety
/// Two initialised operands are below `sp`; on `true` the key's place is
/// no longer owned (dropped here).
#[inline(never)]
pub(super) unsafe fn read(has: bool, sp: *mut Value) -> bool {
    // SAFETY: by the caller.
    unsafe {
        let (obj, key) = (&*sp.sub(2), &*sp.sub(1));
        let (Value::Object(o), Value::Str(k)) = (obj, key) else {
            return false;
        };
        let r = if has {
            Value::Int(o.contains_str(k) as i64)
        } else {
            o.get_str(k).cloned().unwrap_or(Value::Null)
        };
        drop_at(sp.sub(1));
        let old = std::mem::replace(&mut *sp.sub(2), r);
        drop(old);
        true
    }
}

/// `SET_FIELD` on `obj v key` below `sp`: the field set (in place when
/// the object is unshared once the `STORE` after it, into `store`, lets
/// go of it, as the generic path's `release_for_store`), `obj'` left
/// where `obj` was; the caller lowers `sp` by two.
///
/// # Safety
/// Three initialised operands are below `sp`; `store` is null or the
/// current frame's slot of the `STORE` right after the instruction. On
/// `true` the places of `v` and the key are no longer owned.
#[inline(never)]
pub(super) unsafe fn set(sp: *mut Value, store: *mut Option<Value>) -> bool {
    // SAFETY: by the caller.
    unsafe {
        let key = &*sp.sub(1);
        let (Value::Object(o), Value::Str(k)) = (&mut *sp.sub(3), key) else {
            return false;
        };
        if o.len() >= ops::MAX_FIELDS && !o.contains_str(k) {
            return false;
        }
        if !store.is_null() && matches!(&*store, Some(Value::Object(x)) if Arc::ptr_eq(x, o)) {
            *store = None;
        }
        let v = sp.sub(2).read();
        Arc::make_mut(o).set_with_str(k, || ttvm_runtime::value::shared_key(k.as_str()), v);
        drop_at(sp.sub(1));
        true
    }
}
