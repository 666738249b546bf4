//! The `value` helper's pure library operations on values compiled code
//! owns (no context round trip).

use super::*;

thread_local! {
    /// The operand vector `library_owned` lends to `library::call` (kept
    /// between calls: no allocation per operation).
    static SCRATCH: std::cell::Cell<Vec<Value>> = const { std::cell::Cell::new(Vec::new()) };
}

/// An upper bound on the bytes of `v`'s PRINT text when it is small and
/// cheap to tell (a string's length; an Int, Bool or Null has at most 20
/// characters, a Float at most 400: its digits without an exponent),
/// else `None`.
pub(super) fn text_bound(v: &Value) -> Option<usize> {
    match v {
        Value::Str(s) => Some(s.len()),
        Value::Int(_) | Value::Bool(_) | Value::Null => Some(20),
        Value::Float(_) => Some(400),
        _ => None,
    }
}

/// A pure library operation of the `value` helper on owned values (see
/// the helper table), run on a per-thread operand vector: no context
/// round trip.
///
/// # Safety
/// As the `value` helper's: `n` values compiled code owns at `items`,
/// a 16-byte result buffer at `out`, `cell` 0 or a variable slot of
/// the running frame.
#[inline]
pub(super) unsafe fn library_owned(
    op: crate::bytecode::Opcode,
    n: u32,
    items: *mut Value,
    out: *mut u64,
    cell: *mut Option<Value>,
) -> u32 {
    let n = n as usize;
    let mut stack = SCRATCH.with(|s| s.take());
    stack.clear();
    // SAFETY: compiled code passes `n` (the operation's pops) values
    // it owns in 16-byte, 8-aligned places, a 16-byte result buffer,
    // and `cell`: 0 or a variable slot of the running frame (an
    // `Option<Value>`), which compiled code reads again after this
    // call. The values move to `stack` and, when the operation
    // raises (leaving its operands as they were: `library`'s
    // contract), back to `items`, untouched.
    unsafe {
        stack.extend((0..n).map(|k| std::ptr::read(items.add(k))));
        // The variable the STORE after it writes holds the first
        // operand: drop its reference, so an unshared value changes
        // in place (`exec::semantics::release_for_store`).
        let released =
            n > 0 && !cell.is_null() && (*cell).as_ref().is_some_and(|v| same_heap(v, &stack[0]));
        if released {
            drop((*cell).take());
        }
        let r = crate::library::call(op, &mut stack, &crate::library::Caps::default());
        let st = match r {
            Ok(()) => {
                let v = stack.pop().expect("a library operation pushes its result");
                std::ptr::write(out as *mut Value, v);
                1
            }
            Err(_) => {
                if released {
                    *cell = Some(stack[0].clone());
                }
                for k in (0..n).rev() {
                    let v = stack.pop().expect("the operands, as they were");
                    std::ptr::write(items.add(k), v);
                }
                0
            }
        };
        debug_assert!(stack.is_empty());
        SCRATCH.with(|s| s.set(stack));
        st
    }
}

/// Whether `a` and `b` are the same list, object or string (one block).
pub(super) fn same_heap(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::List(x), Value::List(y)) => ttvm_runtime::value::List::ptr_eq(x, y),
        (Value::Object(x), Value::Object(y)) => std::sync::Arc::ptr_eq(x, y),
        (Value::Str(x), Value::Str(y)) => std::sync::Arc::ptr_eq(x, y),
        _ => false,
    }
}
