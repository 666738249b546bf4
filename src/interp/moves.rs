//! Values moved whole: how the dispatch loop copies, moves, writes and
//! drops values on the operand stack and in variable slots
//! (docs/ARCHITECTURE.md, "The interpreter: values moved whole").
//!
//! A [`Value`] is 16 bytes: the tag byte, seven bytes of which only a
//! Bool uses one, and the payload word at 8. Moved by ordinary Rust code
//! whose variant the compiler does not know (`mem::replace`,
//! `Option::take`, a `clone()` returned through memory), it is copied in
//! pieces: the tag byte, bytes 1–7 as two overlapping 4-byte moves, the
//! payload word. The next op reads the same 16 bytes with one load (a
//! `LOAD` after a `STORE`, a `STORE` after a push), and a load cannot be
//! served from several pending smaller stores: it waits until they reach
//! the cache — a store-forwarding stall of about a dozen cycles, which no
//! instruction count shows. Under `perf record -e cpu-clock` these stalls
//! were about a third of n-body's interpreter time.
//!
//! So every value the loop writes to the stack or a slot is written by one
//! 16-byte store: a copy or a move is a 16-byte `memcpy` from where the
//! value is (plus the reference count for a heap value, [`retain`]); an
//! Int or a Float made in registers is written tag and payload together
//! ([`put_int`], [`put_float`]); an emptied slot gets a whole `None`
//! ([`put_none`]). Loads may be narrower (a smaller load inside one
//! larger store is forwarded).

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use ttvm_runtime::value::tag;
use ttvm_runtime::Value;

/// Bytes of a [`Value`] (the stack pointers step by one value).
pub(super) const VALUE_BYTES: usize = std::mem::size_of::<Value>();

const _: () = assert!(Value::TAG_OFFSET == 0 && Value::PAYLOAD_OFFSET == 8);
const _: () = assert!(std::mem::size_of::<Option<Value>>() == VALUE_BYTES);

/// The tag byte of `None::<Value>` (the niche the compiler chose).
const NONE_TAG: u8 = {
    const N: std::mem::ManuallyDrop<Option<Value>> = std::mem::ManuallyDrop::new(None);
    // SAFETY: byte 0 of an `Option<Value>` is its tag, initialised.
    unsafe { *(&N as *const std::mem::ManuallyDrop<Option<Value>>).cast::<u8>() }
};
const _: () = assert!(NONE_TAG > tag::LAST);

/// The frame's `size` slots at `lp` made empty, then the top
/// `params.len()` operands below `*sp` moved into the parameters' slots
/// (the last operand to the last parameter), `*sp` lowered past them.
///
/// # Safety
/// `lp` is valid for `size` slot writes (their old contents already
/// dropped or uninitialised), every parameter slot is below `size`, and
/// `params.len()` initialised operands are below `*sp`.
#[inline(always)]
pub(super) unsafe fn bind(
    lp: *mut Option<Value>,
    size: usize,
    params: &[u32],
    sp: &mut *mut Value,
) {
    // SAFETY: by the caller.
    unsafe {
        for j in 0..size {
            put_none(lp.add(j));
        }
        *sp = sp.sub(params.len());
        for (i, &slot) in params.iter().enumerate() {
            // A parameter named twice: the last operand wins (as in
            // `calls::call`), the earlier one is dropped.
            let cell = lp.add(slot as usize).cast::<Value>();
            let old = take_old(cell);
            move_to(cell, sp.add(i));
            drop_old(old);
        }
    }
}

/// [`bind`] for a frame whose slots are exactly its parameters' (each
/// once, no other slot: `CallSite::exact`): the operands move into them,
/// nothing is emptied or dropped first.
///
/// # Safety
/// `lp` is valid for writes of the frame's slots (their old contents
/// already dropped or uninitialised), `params` names each of them once,
/// and `params.len()` initialised operands are below `*sp`.
#[inline(always)]
pub(super) unsafe fn bind_exact(lp: *mut Option<Value>, params: &[u32], sp: &mut *mut Value) {
    // SAFETY: by the caller.
    unsafe {
        *sp = sp.sub(params.len());
        for (i, &slot) in params.iter().enumerate() {
            move_to(lp.add(slot as usize).cast::<Value>(), sp.add(i));
        }
    }
}

/// Copy the value at `src` to `dst` (one 16-byte move), counting a heap
/// value's new reference.
///
/// # Safety
/// `src` holds a value; `dst` is valid for a write and what it held is
/// already dropped or moved out (or needs no drop).
#[inline(always)]
pub(super) unsafe fn copy_to(dst: *mut Value, src: *const Value) {
    // SAFETY: by the caller.
    unsafe {
        retain(&*src);
        mov16(dst, src);
    }
}

/// Move the value at `src` to `dst` (one 16-byte move); `src` no longer
/// owns it.
///
/// # Safety
/// As for [`copy_to`]; the caller forgets the value at `src`.
#[inline(always)]
pub(super) unsafe fn move_to(dst: *mut Value, src: *const Value) {
    // SAFETY: by the caller.
    unsafe { mov16(dst, src) }
}

/// The 16 bytes at `src` to `dst`: a `memcpy` of one value, which the
/// optimiser makes one 16-byte load and one 16-byte store. (Unoptimised
/// builds check `copy_nonoverlapping`'s preconditions in calls that cost
/// more than the copy, a quarter of a call-heavy run: a plain read and
/// write there.)
///
/// # Safety
/// As for [`copy_to`]; `src` and `dst` do not overlap.
#[inline(always)]
unsafe fn mov16(dst: *mut Value, src: *const Value) {
    // SAFETY: by the caller.
    unsafe {
        #[cfg(not(debug_assertions))]
        std::ptr::copy_nonoverlapping(src, dst, 1);
        #[cfg(debug_assertions)]
        dst.write(src.read());
    }
}

/// Whether a heap value's payload points at its strong count (the first
/// word of its block: `Arc`'s inner block is `repr(C)` with the count
/// first, and a list's header starts with it): 0 not yet known, 1 yes,
/// 2 no. Set by [`check_counts`] before the loop runs; [`retain`] reads it
/// (one load of a constant, where the derived `clone` of every kind was
/// a jump table on the tag).
static COUNTS_INLINE: AtomicU8 = AtomicU8::new(0);

/// Find out once whether [`retain`] may count inline (see
/// [`COUNTS_INLINE`]): a list, a string and an object are cloned and
/// their first words read (as `ttvm_runtime::value::strong_count_offset`
/// does for a list, which compiled code relies on).
#[inline]
pub(super) fn check_counts() {
    if COUNTS_INLINE.load(Ordering::Relaxed) == 0 {
        check_counts_slow();
    }
}

#[cold]
#[inline(never)]
fn check_counts_slow() {
    let count = |v: &Value| {
        // SAFETY: `Value` is 16 bytes, `repr(C, u8)`: the payload word of
        // a heap value (its block's address) is at offset 8; every block
        // starts with at least one word.
        unsafe {
            let base = *(v as *const Value).cast::<usize>().add(1);
            *(base as *const usize)
        }
    };
    let ok = |v: Value| {
        let one = count(&v);
        let c = v.clone();
        let two = count(&v);
        drop(c);
        one == 1 && two == 2 && count(&v) == 1
    };
    let inline = ttvm_runtime::value::strong_count_offset() == Some(0)
        && ok(Value::list(Vec::new()))
        && ok(Value::str("x"))
        && ok(Value::Object(Default::default()));
    COUNTS_INLINE.store(if inline { 1 } else { 2 }, Ordering::Relaxed);
}

/// Count one more reference to `v` if it is a heap value (what its
/// `clone` does, without making the copy: [`copy_to`] copies the bits).
/// A number is one tag test; a heap value one atomic add at its count
/// (as `Arc::clone`: relaxed, aborting past `isize::MAX`).
#[inline(always)]
pub(super) fn retain(v: &Value) {
    // SAFETY: byte 0 of a value is its tag.
    let tag = unsafe { *(v as *const Value).cast::<u8>() };
    if tag <= tag::FLOAT {
        return;
    }
    if COUNTS_INLINE.load(Ordering::Relaxed) == 1 {
        // SAFETY: a heap value's payload word points at its block, whose
        // first word is the strong count (checked: `check_counts`); the
        // value holds a reference, so the block is alive.
        unsafe {
            let count = &*(*(v as *const Value).cast::<usize>().add(1) as *const AtomicUsize);
            if count.fetch_add(1, Ordering::Relaxed) > isize::MAX as usize {
                std::process::abort();
            }
        }
    } else {
        retain_slow(v)
    }
}

/// [`retain`] by each kind's own `clone`.
#[inline(never)]
fn retain_slow(v: &Value) {
    std::mem::forget(v.clone())
}

/// A copy of `v` (its bits and, for a heap value, a counted reference;
/// the compiler's `Clone` is an out-of-line call that switches on the tag
/// and returns the copy through memory in pieces).
#[inline(always)]
pub(super) fn copy(v: &Value) -> Value {
    retain(v);
    // SAFETY: the reference is counted (or there is none): the bits are
    // a value of their own.
    unsafe { std::ptr::read(v) }
}

/// Write `v` to `p`: an Int or a Float from registers in one store (a
/// result returned through memory was written there in pieces).
///
/// # Safety
/// As for [`put_int`].
#[inline(always)]
pub(super) unsafe fn put(p: *mut Value, v: Value) {
    // SAFETY: by the caller.
    unsafe {
        match v {
            Value::Int(n) => put_int(p, n),
            Value::Float(f) => put_float(p, f),
            v => p.write(v),
        }
    }
}

/// Write a Null (tag and payload, one 16-byte store) over a place whose
/// old contents were moved out.
///
/// # Safety
/// `p` is valid for a write.
#[inline(always)]
pub(super) unsafe fn put_null(p: *mut Value) {
    // SAFETY: by the caller.
    unsafe { put_bits(p, tag::NULL, 0) }
}

/// Write an empty slot (`None`) to `p` as one 16-byte store.
///
/// # Safety
/// `p` is valid for a write; what it held is dropped or moved out.
#[inline(always)]
pub(super) unsafe fn put_none(p: *mut Option<Value>) {
    // SAFETY: the bytes of `None`: its tag, the rest unused.
    unsafe { put_bits(p.cast(), NONE_TAG, 0) }
}

/// A value's 16 bytes as they are, in one SIMD register on x86-64 (a
/// value read out of a place that is about to be overwritten).
/// (Unoptimised builds: the value's own type, read without the
/// unaligned read's precondition checks, see [`mov16`].)
#[cfg(all(target_arch = "x86_64", not(debug_assertions)))]
type Bits = std::mem::MaybeUninit<std::arch::x86_64::__m128i>;
#[cfg(any(not(target_arch = "x86_64"), debug_assertions))]
type Bits = std::mem::MaybeUninit<Value>;

const _: () = assert!(std::mem::size_of::<Bits>() == VALUE_BYTES);

/// The old contents of a stack place or a slot, read out (one 16-byte
/// load) before the place is overwritten, to be dropped after
/// ([`drop_old`]). Read as a `Value` instead, the compiler keeps it in
/// pieces on the machine stack and the drop reads it back whole.
pub(super) struct Old {
    heap: bool,
    bits: Bits,
}

/// Read out the value at `p` (a `Value`, or a slot: `None` owns nothing).
///
/// # Safety
/// `p` holds a value (or `None`); the caller overwrites it and drops the
/// result with [`drop_old`] exactly once.
#[inline(always)]
pub(super) unsafe fn take_old(p: *const Value) -> Old {
    // SAFETY: by the caller; byte 0 is the tag.
    unsafe {
        let tag = *p.cast::<u8>();
        Old {
            heap: tag > tag::FLOAT && tag != NONE_TAG,
            #[cfg(all(target_arch = "x86_64", not(debug_assertions)))]
            bits: p.cast::<Bits>().read_unaligned(),
            #[cfg(any(not(target_arch = "x86_64"), debug_assertions))]
            bits: p.cast::<Bits>().read(),
        }
    }
}

/// Drop what [`take_old`] read out (nothing inline for a number or
/// `None`).
#[inline(always)]
pub(super) fn drop_old(o: Old) {
    if o.heap {
        drop_bits(o.bits)
    }
}

/// A heap value's drop from its bits, out of line.
#[inline(never)]
fn drop_bits(b: Bits) {
    // SAFETY: `take_old` read a heap value's bits out of a place that no
    // longer owns it: this is its only owner.
    drop(unsafe { b.as_ptr().cast::<Value>().read() })
}

/// Drop the value at `p` where it is (nothing inline for a number or
/// `None`); the caller forgets the place's contents afterwards. The test
/// is on the tag byte and the heap case a call of its own (a `match` with
/// `drop` in one arm was folded into one call of `Value`'s drop glue
/// whatever the tag: a call for every number dropped).
///
/// # Safety
/// `p` holds a value (or `None`) that nothing else owns.
#[inline(always)]
pub(super) unsafe fn drop_at(p: *mut Value) {
    // SAFETY: by the caller; byte 0 is the tag.
    unsafe {
        let tag = *p.cast::<u8>();
        if tag > tag::FLOAT && tag != NONE_TAG {
            drop_heap_at(p)
        }
    }
}

/// The drop of a heap value in place, out of line.
///
/// # Safety
/// As for [`drop_at`].
#[inline(never)]
unsafe fn drop_heap_at(p: *mut Value) {
    // SAFETY: by the caller.
    unsafe { std::ptr::drop_in_place(p) }
}

/// An Int or a Float as an `f64` (the `_F` operators' operands).
#[inline(always)]
pub(super) fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    }
}

/// Whether `v` is a Null, Bool, Int or Float (by its tag byte).
#[inline(always)]
pub(super) fn owns_nothing(v: &Value) -> bool {
    // SAFETY: a `Value`'s first byte is its tag (`Value::TAG_OFFSET`).
    let tag = unsafe { *(v as *const Value).cast::<u8>() };
    tag <= tag::FLOAT
}

/// Write `Value::Float(f)` to `p` as one 16-byte store (see [`put_int`]).
///
/// # Safety
/// As for [`put_int`].
#[inline(always)]
pub(super) unsafe fn put_float(p: *mut Value, f: f64) {
    // SAFETY: the bytes of a Float.
    unsafe { put_bits(p, tag::FLOAT, f.to_bits() as i64) }
}

/// Write `Value::Int(n)` to `p` as one 16-byte store. Written as tag and
/// payload apart, an Int is read back whole by the next op that moves it
/// (SEND, STORE), and that 16-byte load cannot be served from two pending
/// stores: a failed store-to-load forwarding, ~6 % of a ring hop.
///
/// # Safety
/// `p` is valid for a write of a `Value`, and what it holds (if anything)
/// needs no drop.
#[inline(always)]
pub(super) unsafe fn put_int(p: *mut Value, n: i64) {
    // SAFETY: the bytes of an Int.
    unsafe { put_bits(p, tag::INT, n) }
}

/// The tag byte (the padding after it zero) and the payload word, as one
/// 16-byte store on x86-64.
///
/// # Safety
/// `p` is valid for 16 bytes of writes, and the bytes are a valid value of
/// the slot's type (a number's tag and payload, or `None`'s tag).
#[inline(always)]
unsafe fn put_bits(p: *mut Value, tag: u8, payload: i64) {
    // (Unoptimised builds call each intrinsic: two plain stores there.)
    #[cfg(all(target_arch = "x86_64", not(debug_assertions)))]
    // SAFETY: SSE2 is part of x86-64; by the caller.
    unsafe {
        use std::arch::x86_64::{_mm_set_epi64x, _mm_storeu_si128};
        _mm_storeu_si128(p.cast(), _mm_set_epi64x(payload, tag as i64));
    }
    #[cfg(any(not(target_arch = "x86_64"), debug_assertions))]
    // SAFETY: by the caller.
    unsafe {
        p.cast::<[u64; 2]>().write([
            u64::from_ne_bytes([tag, 0, 0, 0, 0, 0, 0, 0]),
            payload as u64,
        ])
    }
}
