//! Values: 16 bytes, `#[repr(C, u8)]` (a one-byte tag, then an 8-byte payload).
//!
//! Ints, floats, bools and null are unboxed; every other kind is a pointer to
//! an immutable, reference-counted heap part, so copying a value (LOAD, DUP,
//! STORE, SEND) is O(1) and never deep-copies. Values cannot form cycles
//! (they are immutable), so reference counting frees everything.
//!
//! The layout is part of the contract with compiled code: the tag is the
//! first byte and the payload starts at offset 8 (see [`Value::TAG_OFFSET`]).

mod atom;
mod deep;
mod display;
mod eq;
mod handle;
mod keys;
mod list;
mod object;
mod text;

pub use atom::Atom;
pub use display::{format_float, shown_text, Shown, TooLong, MAX_PRINT_DEPTH, MAX_SHOWN_BYTES};
pub use handle::{Handle, Resource};
pub use keys::shared_key;
pub use list::{BlockAlloc, List, ListLayout};
pub use object::{FieldSite, Key, Object, ObjectLayout};
pub use text::{Str, StrLayout};

use std::sync::Arc;

/// A value of the `.ttvm` language.
///
/// `Display` and `Debug` show a value's text cut at [`MAX_SHOWN_BYTES`];
/// the exact text is [`Value::write_text`], with a limit.
#[repr(C, u8)]
#[derive(Clone)]
pub enum Value {
    Null = 0,
    Bool(bool) = 1,
    Int(i64) = 2,
    Float(f64) = 3,
    Str(Arc<Str>) = 4,
    List(List) = 5,
    Object(Arc<Object>) = 6,
    Function(Arc<FuncProto>) = 7,
    Closure(Arc<Closure>) = 8,
    Exception(Arc<Exception>) = 9,
    /// A resource outside the value world (a socket): compared by
    /// identity, printed `#Kind<id …>` (`handle.rs`).
    Handle(Arc<Handle>) = 10,
}

const _: () = assert!(std::mem::size_of::<Value>() == 16);
const _: () = assert!(std::mem::size_of::<Option<Value>>() == 16);

/// The tag bytes, as compiled code sees them.
pub mod tag {
    pub const NULL: u8 = 0;
    pub const BOOL: u8 = 1;
    pub const INT: u8 = 2;
    pub const FLOAT: u8 = 3;
    pub const STR: u8 = 4;
    pub const LIST: u8 = 5;
    pub const OBJECT: u8 = 6;
    pub const FUNCTION: u8 = 7;
    pub const CLOSURE: u8 = 8;
    pub const EXCEPTION: u8 = 9;
    pub const HANDLE: u8 = 10;
    /// The last tag a value uses (compiled code treats `STR..=LAST` as
    /// heap values).
    pub const LAST: u8 = HANDLE;
}

/// A function value's static part, made once when the program is loaded and
/// shared by every `MAKE_FUNCTION`/`MAKE_LAMBDA` that names it.
#[derive(Debug)]
pub struct FuncProto {
    /// How the target prints: its label name, or its instruction index.
    pub target_text: Arc<str>,
    /// The entry address in the loaded program (instruction index).
    pub entry: u32,
    /// Parameter names, in order (the top of stack binds to the last).
    pub params: Box<[Atom]>,
    /// Each parameter's variable slot in the callee's frame.
    pub param_slots: Box<[u32]>,
    /// The number of variable slots of the callee's frame.
    pub frame_size: u32,
}

/// A closure: a function plus the variables it captured when it was made.
#[derive(Debug)]
pub struct Closure {
    pub proto: Arc<FuncProto>,
    pub captured: Box<[(Atom, Value)]>,
    /// Each captured variable's slot in the callee's frame (`u32::MAX` when
    /// the callee never uses it).
    pub capture_slots: Box<[u32]>,
}

/// An exception: a message, and the value that was thrown.
pub struct Exception {
    pub message: Arc<Str>,
    pub value: Value,
}

impl std::fmt::Debug for Exception {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exception")
            .field(
                "message",
                &shown_text(&self.message, MAX_SHOWN_BYTES).to_string(),
            )
            .field("value", &self.value)
            .finish()
    }
}

/// Where compiled code counts references inline (issue 15): the byte
/// offset, from the address a heap value's payload holds (its `Arc`'s
/// allocation), of the strong count, when checking a value made for the
/// purpose finds it there (the first word: `Arc` keeps its counts before
/// the data, `repr(C)`); `None` otherwise, and compiled code calls the
/// runtime for every count.
pub fn strong_count_offset() -> Option<i32> {
    static OFFSET: std::sync::OnceLock<Option<i32>> = std::sync::OnceLock::new();
    *OFFSET.get_or_init(|| {
        let v = Value::list(Vec::new());
        // SAFETY: `Value` is 16 bytes, `repr(C, u8)`: the payload word
        // (the `Arc`'s pointer) is at offset 8; the allocation starts with
        // at least one word.
        let count = || unsafe {
            let base = *((&v as *const Value as *const usize).add(1));
            *(base as *const usize)
        };
        let one = count();
        let c = v.clone();
        let two = count();
        drop(c);
        (one == 1 && two == 2 && count() == 1).then_some(0)
    })
}

/// Let go of `v`, most likely its last reference (compiled code's drop of
/// a value whose count it read as 1, issue 15, item 4): a list whose
/// count is 1 (acquire, as [`List::is_unique`]) is freed without the
/// locked decrement — nothing else holds it or can make a reference, and
/// every other holder's use happened before; anything else is dropped as
/// usual.
#[inline]
pub fn drop_last(v: Value) {
    match v {
        Value::List(l) => l.release_last(),
        other => drop(other),
    }
}

/// [`drop_last`] of the value with tag byte `tag` and payload word `pay`
/// (compiled code's `drop` helper): a list goes to
/// [`List::release_payload`] without the value being rebuilt in memory;
/// anything else is dropped as usual (rebuilt on the stack and dropped in
/// place, as before: an out-of-line function of its own for that path
/// was one more call per string or object dropped, sternbrocot +0.35 %).
///
/// # Safety
/// `(tag, pay)` are the tag and payload of a live value whose reference
/// the caller gives up and does not use again.
#[inline]
pub unsafe fn drop_last_raw(tag: u8, pay: u64) {
    if tag == tag::LIST {
        // SAFETY: a list's payload, given up (the contract).
        unsafe { List::release_payload(pay as usize) }
    } else {
        let raw = [u64::from_le_bytes([tag, 0, 0, 0, 0, 0, 0, 0]), pay];
        // SAFETY: the caller's value: `[u64; 2]` has `Value`'s size and
        // alignment, the tag byte first (little-endian).
        drop(unsafe { std::ptr::read(raw.as_ptr() as *const Value) });
    }
}

impl Value {
    /// Offset of the tag byte inside a value.
    pub const TAG_OFFSET: usize = 0;
    /// Offset of the payload inside a value.
    pub const PAYLOAD_OFFSET: usize = 8;

    /// A new string value.
    pub fn str(s: impl Into<String>) -> Value {
        Value::Str(Arc::new(Str::new(s.into())))
    }

    /// A one-character string (`INDEX` of a string, `CHR`): an ASCII
    /// character is a shared value from a table made once per run (one
    /// count increment instead of two allocations and two frees; a
    /// tokenizer reads one per character). The table keeps a reference, so
    /// an in-place update (`CONCAT` onto it) sees the value shared and
    /// copies: no program can tell.
    pub fn char_str(c: &str) -> Value {
        if let &[b] = c.as_bytes() {
            if b.is_ascii() {
                static ASCII: std::sync::OnceLock<Vec<Arc<Str>>> = std::sync::OnceLock::new();
                let table = ASCII.get_or_init(|| {
                    (0u8..128)
                        .map(|b| Arc::new(Str::new(char::from(b).to_string())))
                        .collect()
                });
                return Value::Str(table[b as usize].clone());
            }
        }
        Value::str(c)
    }

    /// A new list value.
    pub fn list(items: Vec<Value>) -> Value {
        Value::List(List::from_vec(items))
    }

    /// Truthiness: `Int 0`, `Bool false` and `Null` are false; all else true.
    #[inline]
    pub fn is_truthy(&self) -> bool {
        !matches!(self, Value::Null | Value::Bool(false) | Value::Int(0))
    }

    /// The type's name, as error messages show it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "Null",
            Value::Bool(_) => "Bool",
            Value::Int(_) => "Int",
            Value::Float(_) => "Float",
            Value::Str(_) => "Str",
            Value::List(_) => "List",
            Value::Object(_) => "Object",
            Value::Function(_) => "Function",
            Value::Closure(_) => "Closure",
            Value::Exception(_) => "Exception",
            Value::Handle(h) => h.resource.kind(),
        }
    }

    /// Turn a raised value into an Exception (SPEC §3.8): a Str becomes an
    /// Exception with that message, an Exception stays as is, anything else
    /// becomes an Exception whose message is its PRINT text — cut at
    /// [`MAX_SHOWN_BYTES`] with `…` (`Display`), so that a list sharing
    /// itself into 2^40 elements costs a bounded message, and a crash
    /// reason stays short enough for the processes it reaches to print.
    pub fn into_exception(self) -> Arc<Exception> {
        match self {
            Value::Exception(e) => e,
            Value::Str(s) => Arc::new(Exception {
                message: s.clone(),
                value: Value::Str(s),
            }),
            other => Arc::new(Exception {
                message: Arc::new(Str::new(other.to_string())),
                value: other,
            }),
        }
    }

    /// An exception made from a runtime error message.
    pub fn error(message: impl Into<String>) -> Arc<Exception> {
        let message = Arc::new(Str::new(message.into()));
        Arc::new(Exception {
            value: Value::Str(message.clone()),
            message,
        })
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::str(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_tag_then_payload() {
        let v = Value::Int(0x1122_3344_5566_7788);
        // SAFETY: Value is repr(C, u8): a u8 tag at offset 0 and the payload
        // at offset 8; reading plain bytes of it is sound.
        let bytes: [u8; 16] = unsafe { std::mem::transmute(v) };
        assert_eq!(bytes[Value::TAG_OFFSET], tag::INT);
        assert_eq!(
            i64::from_ne_bytes(bytes[8..16].try_into().unwrap()),
            0x1122_3344_5566_7788
        );
    }

    #[test]
    fn truthiness_follows_the_spec() {
        assert!(!Value::Int(0).is_truthy());
        assert!(!Value::Bool(false).is_truthy());
        assert!(!Value::Null.is_truthy());
        assert!(Value::Float(0.0).is_truthy());
        assert!(Value::str("").is_truthy());
        assert!(Value::list(vec![]).is_truthy());
        assert!(Value::Object(Arc::new(Object::new())).is_truthy());
    }

    #[test]
    fn raising_converts_values_to_exceptions() {
        let e = Value::str("boom").into_exception();
        assert_eq!(*e.message, "boom");
        let e = Value::Int(42).into_exception();
        assert_eq!(*e.message, "42");
        assert!(matches!(e.value, Value::Int(42)));
        let again = Value::Exception(e.clone()).into_exception();
        assert!(Arc::ptr_eq(&e, &again));
    }
}
