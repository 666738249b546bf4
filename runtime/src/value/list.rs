//! Lists: one allocation per list (issue 15, item 4).
//!
//! A `Value::List`'s payload is a [`List`]: a pointer to one heap block
//! that holds the reference count, the length, the capacity and then the
//! elements themselves — where `Arc<Vec<Value>>` took two allocations (the
//! `Arc`'s block holding the `Vec`, and the `Vec`'s buffer) and two frees,
//! and reading an element took two dependent loads. binary-trees makes
//! and frees one small list per node, so this halves its allocator work.
//!
//! The count follows `Arc`'s protocol exactly (and sits, like `Arc`'s
//! strong count, in the block's first word, where compiled code counts
//! references inline: `strong_count_offset`): a clone is a relaxed
//! increment; a drop a release decrement, and the one that takes it to
//! zero fences (acquire) before it frees; a holder whose acquire load sees
//! 1 is the only holder (nothing else can make a new reference) and may
//! change the list in place. The loom model `list_count_protocol`
//! (`runtime/src/loom.rs`) checks it. Freeing a list releases its elements
//! without recursion or a work list (`deep::Releaser`: dead blocks are
//! linked through their count words).
//!
//! The allocation entries (the small-block allocator a binary registers,
//! compiled code's `MAKE_LIST` entry) are in `list/alloc.rs`.

use super::Value;
use crate::sync::{fence, AtomicUsize, Ordering};
use std::alloc::{dealloc, handle_alloc_error, realloc, Layout};
use std::ops::Deref;
use std::ptr::NonNull;

mod alloc;
use alloc::alloc_block;
pub use alloc::BlockAlloc;

/// The block's header; the elements follow it.
#[repr(C)]
struct Header {
    count: AtomicUsize,
    len: usize,
    cap: usize,
}

/// Byte offset of the first element from the start of the block.
const ELEMS: usize = std::mem::size_of::<Header>();
const _: () = assert!(ELEMS % std::mem::align_of::<Value>() == 0);
const _: () = assert!(std::mem::align_of::<Header>() >= std::mem::align_of::<Value>());

/// A counted reference to a list (the heap part of `Value::List`). `Debug`
/// is bounded (see `display.rs`).
pub struct List {
    ptr: NonNull<Header>,
}

// SAFETY: a list's elements are `Send + Sync` values; the count is atomic
// and a list is changed only by its only holder (`is_unique`), as with
// `Arc<Vec<Value>>`.
unsafe impl Send for List {}
unsafe impl Sync for List {}

/// Where compiled code finds a list's elements (the JIT's inline `INDEX`
/// and `LEN`, issue 15): byte offsets, from the address a `Value::List`'s
/// payload word holds (the list's block), of the first element (the
/// elements are inline: its address is the block's plus `elems`) and of
/// the length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListLayout {
    pub elems: i32,
    pub len: i32,
    /// The capacity (elements the block has room for).
    pub cap: i32,
    /// The reference count (an `AtomicUsize`; 1: the only holder).
    pub count: i32,
}

/// The most elements a block can have room for (its size stays within
/// `isize::MAX`; the language's limit is far below).
const MAX_CAP: usize = (isize::MAX as usize - ELEMS) / std::mem::size_of::<Value>();

#[inline]
fn layout_for(cap: usize) -> Layout {
    // One compare (it runs for every list made and freed; was a chain of
    // checked operations): capacities are at most the language's list
    // limit, far below `MAX_CAP`, but checked anyway.
    if cap > MAX_CAP {
        capacity_overflow();
    }
    let size = ELEMS + cap * std::mem::size_of::<Value>();
    // SAFETY: the size is within `isize::MAX` (`MAX_CAP`), the alignment a
    // power of two.
    unsafe { Layout::from_size_align_unchecked(size, std::mem::align_of::<Header>()) }
}

#[cold]
#[inline(never)]
fn capacity_overflow() -> ! {
    panic!("list capacity overflow")
}

impl List {
    /// The offsets of [`ListLayout`] (the header is `repr(C)`).
    pub fn layout() -> ListLayout {
        ListLayout {
            elems: ELEMS as i32,
            len: std::mem::offset_of!(Header, len) as i32,
            cap: std::mem::offset_of!(Header, cap) as i32,
            count: std::mem::offset_of!(Header, count) as i32,
        }
    }

    /// An empty list with room for `cap` elements, counted once.
    #[inline]
    pub fn with_capacity(cap: usize) -> List {
        let layout = layout_for(cap);
        let p = alloc_block(layout) as *mut Header;
        let Some(ptr) = NonNull::new(p) else {
            handle_alloc_error(layout)
        };
        // SAFETY: a fresh block of the header's size and alignment at least.
        unsafe {
            ptr.as_ptr().write(Header {
                count: AtomicUsize::new(1),
                len: 0,
                cap,
            })
        };
        List { ptr }
    }

    /// An empty list.
    pub fn new() -> List {
        List::with_capacity(0)
    }

    /// A list of `items` (moved, one copy of the elements).
    pub fn from_vec(mut items: Vec<Value>) -> List {
        let n = items.len();
        let mut l = List::with_capacity(n);
        // SAFETY: room for `n`; the values move (the Vec forgets them).
        unsafe {
            std::ptr::copy_nonoverlapping(items.as_ptr(), l.elems_mut(), n);
            items.set_len(0);
            l.header_mut().len = n;
        }
        l
    }

    fn header(&self) -> &Header {
        // SAFETY: the block lives while this reference does.
        unsafe { self.ptr.as_ref() }
    }

    /// # Safety
    /// Only the only holder changes the header's `len`/`cap`.
    unsafe fn header_mut(&mut self) -> &mut Header {
        // SAFETY: the caller holds the list alone.
        unsafe { self.ptr.as_mut() }
    }

    fn elems(&self) -> *const Value {
        // SAFETY: the elements follow the header in the block.
        unsafe { (self.ptr.as_ptr() as *const u8).add(ELEMS) as *const Value }
    }

    fn elems_mut(&mut self) -> *mut Value {
        // SAFETY: as `elems`.
        unsafe { (self.ptr.as_ptr() as *mut u8).add(ELEMS) as *mut Value }
    }

    /// Whether this is the list's only reference (then it may change in
    /// place: nothing else can make a new one).
    #[inline]
    pub fn is_unique(&self) -> bool {
        self.header().count.load(Ordering::Acquire) == 1
    }

    /// The number of references (for tests and statistics).
    pub fn strong_count(&self) -> usize {
        self.header().count.load(Ordering::Relaxed)
    }

    /// Whether `a` and `b` are the same list.
    pub fn ptr_eq(a: &List, b: &List) -> bool {
        a.ptr == b.ptr
    }

    /// The block's address (identity).
    pub fn as_ptr(&self) -> *const u8 {
        self.ptr.as_ptr() as *const u8
    }

    /// The elements, to change in place, when this is the only reference.
    pub fn get_mut(&mut self) -> Option<&mut [Value]> {
        if self.is_unique() {
            let n = self.len();
            // SAFETY: the only holder; `n` initialised elements.
            Some(unsafe { std::slice::from_raw_parts_mut(self.elems_mut(), n) })
        } else {
            None
        }
    }

    /// Make this the only reference, copying the elements (sharing each)
    /// into a new list with room for `extra` more when the list is shared.
    /// The test inline (an APPEND or SET_INDEX in place pays one load and
    /// one branch, no call), the copy out of line.
    #[inline]
    fn unshare(&mut self, extra: usize) {
        if !self.is_unique() {
            self.copy_shared(extra);
        }
    }

    #[cold]
    #[inline(never)]
    fn copy_shared(&mut self, extra: usize) {
        let mut l = List::with_capacity(self.len() + extra);
        for v in self.iter() {
            l.push_unique(v.clone());
        }
        *self = l;
    }

    /// The elements, to change in place (copied first when shared, as
    /// `Arc::make_mut`).
    pub fn make_mut(&mut self) -> &mut [Value] {
        self.unshare(0);
        let n = self.len();
        // SAFETY: the only holder now.
        unsafe { std::slice::from_raw_parts_mut(self.elems_mut(), n) }
    }

    /// Append `v` (in place when this is the only reference; capacity
    /// doubles as a `Vec`'s does).
    pub fn push(&mut self, v: Value) {
        self.unshare(1);
        self.push_unique(v);
    }

    /// Make room for `extra` more elements (the only holder).
    pub fn reserve(&mut self, extra: usize) {
        self.unshare(extra);
        self.reserve_unique(extra);
    }

    #[inline]
    fn reserve_unique(&mut self, extra: usize) {
        let (len, cap) = (self.len(), self.header().cap);
        let want = len.checked_add(extra).expect("list capacity overflow");
        if want > cap {
            self.grow(want);
        }
    }

    #[cold]
    #[inline(never)]
    fn grow(&mut self, want: usize) {
        let cap = self.header().cap;
        let new_cap = want.max(cap.saturating_mul(2)).max(4);
        let old = layout_for(cap);
        let new = layout_for(new_cap);
        // SAFETY: the block was allocated with `old`; the only holder, so
        // nothing else has its address while it moves; the new size is
        // not zero.
        let p = unsafe { realloc(self.ptr.as_ptr() as *mut u8, old, new.size()) } as *mut Header;
        let Some(ptr) = NonNull::new(p) else {
            handle_alloc_error(new)
        };
        self.ptr = ptr;
        // SAFETY: the only holder.
        unsafe { self.header_mut().cap = new_cap };
    }

    #[inline]
    fn push_unique(&mut self, v: Value) {
        let n = self.len();
        if n == self.header().cap {
            self.grow(n + 1);
        }
        // SAFETY: the only holder, room for one more.
        unsafe {
            self.elems_mut().add(n).write(v);
            self.header_mut().len = n + 1;
        }
    }

    /// Shorten to `n` elements (the rest dropped), in place when the only
    /// reference.
    pub fn truncate(&mut self, n: usize) {
        if n >= self.len() {
            return;
        }
        self.unshare(0);
        let len = self.len();
        // SAFETY: the only holder: set the length first, then drop the
        // elements past it (a panic in a drop leaks, never double-drops).
        unsafe {
            self.header_mut().len = n;
            let tail = std::slice::from_raw_parts_mut(self.elems_mut().add(n), len - n);
            super::deep::release_slice(tail);
        }
    }

    /// Append `other`'s elements (moved when it is their only reference).
    pub fn append_list(&mut self, other: List) {
        self.reserve(other.len());
        for v in other.into_vec() {
            self.push_unique(v);
        }
    }

    /// Keep only the elements `from..to` (`from <= to <= len`), in place
    /// when this is the only reference.
    pub fn keep_range(&mut self, from: usize, to: usize) {
        if !self.is_unique() {
            *self = self[from..to].iter().cloned().collect();
            return;
        }
        self.truncate(to);
        if from == 0 {
            return;
        }
        let n = self.len();
        // SAFETY: the only holder: the first `from` elements are dropped,
        // the rest moved to the front, the length set before any drop
        // (a panic leaks, never double-drops).
        unsafe {
            self.header_mut().len = 0;
            let base = self.elems_mut();
            let head = std::slice::from_raw_parts_mut(base, from);
            super::deep::release_slice(head);
            std::ptr::copy(base.add(from), base, n - from);
            self.header_mut().len = n - from;
        }
    }

    /// The elements as a `Vec` (moved when this is the only reference,
    /// else shared one by one).
    pub fn into_vec(mut self) -> Vec<Value> {
        if !self.is_unique() {
            return self.to_vec();
        }
        let n = self.len();
        let mut v = Vec::with_capacity(n);
        // SAFETY: the only holder: the elements move out, the list keeps
        // none, and then frees its block alone.
        unsafe {
            std::ptr::copy_nonoverlapping(self.elems(), v.as_mut_ptr(), n);
            v.set_len(n);
            self.header_mut().len = 0;
        }
        v
    }

    /// One reference fewer; when it was the last, the dead block (after
    /// the acquire fence: every other holder's use of it happened before),
    /// whose elements the caller then releases ([`DeadList::free_with`]).
    #[inline]
    pub(super) fn release_ref(self) -> Option<DeadList> {
        let this = std::mem::ManuallyDrop::new(self);
        let count = &this.header().count;
        // The only holder lets go without a locked decrement (see `drop`).
        if count.load(Ordering::Acquire) != 1 && count.fetch_sub(1, Ordering::Release) != 1 {
            return None;
        }
        fence(Ordering::Acquire);
        Some(DeadList {
            ptr: this.ptr,
            next: std::marker::PhantomData,
        })
    }

    /// Free a block whose elements are gone.
    ///
    /// # Safety
    /// The last reference; no element left to drop.
    #[inline]
    unsafe fn free(ptr: NonNull<Header>) {
        // SAFETY: per the contract; the block was allocated with this
        // layout, whose capacity `layout_for` checked then (the check is
        // not repeated on every free).
        unsafe {
            let cap = ptr.as_ref().cap;
            std::ptr::drop_in_place(ptr.as_ptr());
            let size = ELEMS + cap * std::mem::size_of::<Value>();
            let layout = Layout::from_size_align_unchecked(size, std::mem::align_of::<Header>());
            dealloc(ptr.as_ptr() as *mut u8, layout);
        }
    }
}

/// A list block whose last reference went: nothing else can reach it, so
/// its count word is free to hold the link of a stack of dead blocks
/// waiting for their elements to be released (`deep::Releaser`: freeing
/// a tree of lists takes no work list and moves no value, and never
/// recurses). Dropping a `DeadList` without [`DeadList::free_with`]
/// leaks its block (it never frees twice).
pub(super) struct DeadList {
    ptr: NonNull<Header>,
    next: std::marker::PhantomData<*mut Header>,
}

impl DeadList {
    /// Link `next` below this block (in the dead count word).
    #[inline]
    pub(super) fn link(&mut self, next: Option<DeadList>) {
        let at = next.map_or(std::ptr::null_mut(), |d| d.ptr.as_ptr());
        // SAFETY: a dead block: this is its only handle.
        unsafe { self.ptr.as_ref() }
            .count
            .store(at as usize, Ordering::Relaxed);
    }

    /// The block linked below this one.
    #[inline]
    pub(super) fn next(&self) -> Option<DeadList> {
        // SAFETY: a dead block: this is its only handle; its count word
        // holds the link `link` stored (null when none).
        let at = unsafe { self.ptr.as_ref() }.count.load(Ordering::Relaxed) as *mut Header;
        NonNull::new(at).map(|ptr| DeadList {
            ptr,
            next: std::marker::PhantomData,
        })
    }

    /// Give each element that holds something (not a Null, Bool, Int or
    /// Float) to `each` (read out once), then free the block.
    #[inline]
    pub(super) fn free_with(self, mut each: impl FnMut(Value)) {
        let ptr = self.ptr;
        // SAFETY: a dead block: `len` initialised elements follow the
        // header; each is read out exactly once, the length set to 0
        // first (a panic in `each` leaks the rest, never drops twice).
        unsafe {
            let h = ptr.as_ptr();
            let n = (*h).len;
            (*h).len = 0;
            let elems = (h as *const u8).add(ELEMS) as *const Value;
            for i in 0..n {
                let v = elems.add(i);
                // Null, Bool, Int and Float own nothing: nothing to
                // release (a leaf `[null, null]` of a tree costs two tag
                // tests, not two values moved out and dropped).
                if !matches!(
                    &*v,
                    Value::Null | Value::Bool(_) | Value::Int(_) | Value::Float(_)
                ) {
                    each(std::ptr::read(v));
                }
            }
            List::free(ptr);
        }
    }
}

impl Default for List {
    fn default() -> List {
        List::new()
    }
}

impl Deref for List {
    type Target = [Value];
    #[inline]
    fn deref(&self) -> &[Value] {
        // SAFETY: `len` initialised elements follow the header; only the
        // only holder changes them (and not while this borrow lives).
        unsafe { std::slice::from_raw_parts(self.elems(), self.header().len) }
    }
}

impl Clone for List {
    #[inline]
    fn clone(&self) -> List {
        // Relaxed, as `Arc::clone`: a new reference is made from an
        // existing one, which keeps the block alive.
        let old = self.header().count.fetch_add(1, Ordering::Relaxed);
        if old > isize::MAX as usize {
            std::process::abort();
        }
        List { ptr: self.ptr }
    }
}

impl Drop for List {
    /// The last reference frees the list. A holder that sees the count 1
    /// (acquire, as [`List::is_unique`]) is the only one: nothing else can
    /// make a new reference, and every other holder's use happened before,
    /// so it frees without the locked decrement (most lists freed are
    /// held once: a tree's nodes, temporaries); otherwise one reference
    /// fewer, as `Arc` (release; the last one fences).
    #[inline]
    fn drop(&mut self) {
        if self.header().count.fetch_sub(1, Ordering::Release) == 1 {
            self.drop_slow();
        }
    }
}

impl List {
    /// Let go of this reference, likely the last ([`super::drop_last`]):
    /// when the count is 1 (acquire) the list is freed without the locked
    /// decrement; otherwise as `drop`. (Not `Drop` itself: the extra test
    /// inlined at every drop in the interpreter's loop cost it 6 % more
    /// instructions on binary-trees.)
    #[inline]
    pub fn release_last(self) {
        let mut this = std::mem::ManuallyDrop::new(self);
        if this.header().count.load(Ordering::Acquire) == 1 {
            // SAFETY: the only holder (as `is_unique`), after an acquire
            // load: freed here, without `drop_slow`'s call (this runs in
            // compiled code's `drop` helper only, not in the interpreter's
            // loop).
            unsafe { List::free_unique(this.ptr) };
        } else {
            // SAFETY: taken once, not used after.
            drop(unsafe { std::mem::ManuallyDrop::take(&mut this) });
        }
    }

    /// Compiled code's drop of a list's reference, most likely the last
    /// (`value::drop_last_raw`; `block` is the list value's payload word):
    /// as [`List::release_last`], from the block's address, so that the
    /// `drop` helper needs no frame of its own (it used to rebuild the
    /// `Value` in memory and test its tag twice).
    ///
    /// # Safety
    /// `block` is the payload of a `Value::List` whose reference the
    /// caller gives up and does not use again.
    #[inline]
    pub unsafe fn release_payload(block: usize) {
        // SAFETY: per the contract, a live list block.
        let ptr = unsafe { NonNull::new_unchecked(block as *mut Header) };
        // SAFETY: as `release_last`: the only holder after an acquire
        // load; otherwise one reference fewer as `drop`.
        unsafe {
            if ptr.as_ref().count.load(Ordering::Acquire) == 1 {
                List::free_unique(ptr);
            } else {
                List::release_shared(ptr);
            }
        }
    }

    /// [`List::release_payload`] of a list others hold too.
    #[inline(never)]
    unsafe fn release_shared(ptr: NonNull<Header>) {
        drop(List { ptr });
    }

    /// The last reference went (kept out of line, as `Arc`'s, so that the
    /// drop of a value stays small where it is inlined): the block and
    /// everything only it holds are freed.
    ///
    /// Most lists freed hold no heap value at all (a tree's leaf, a node
    /// taken apart by compiled code's `INDEX`, a row of numbers): one test
    /// of each element's tag, then the block goes back to the allocator.
    /// This function stays small (no callee-saved registers to save) and
    /// leaves every other case to [`List::drop_nested`].
    #[inline(never)]
    fn drop_slow(&mut self) {
        fence(Ordering::Acquire);
        // SAFETY: the last reference: `len` initialised elements follow
        // the header and nothing else can read them.
        unsafe { List::free_unique(self.ptr) }
    }

    /// Free the list at `ptr` and what only it holds, its last reference
    /// known to be the caller's (its count 1, seen after an acquire).
    ///
    /// # Safety
    /// `ptr` is a live list block whose one reference the caller gives up;
    /// the caller's view of it happens after every other holder's use.
    #[inline]
    unsafe fn free_unique(ptr: NonNull<Header>) {
        // SAFETY: per the contract.
        unsafe {
            let h = ptr.as_ptr();
            let n = (*h).len;
            let elems = (h as *const u8).add(ELEMS) as *const Value;
            let mut i = 0;
            while i < n && is_unboxed(&*elems.add(i)) {
                i += 1;
            }
            if i == n {
                List::free(ptr);
                return;
            }
            List::drop_nested(ptr, i);
        }
    }

    /// [`List::free_unique`] of a list whose first heap value is at
    /// `first`.
    #[inline(never)]
    unsafe fn drop_nested(ptr: NonNull<Header>, first: usize) {
        // SAFETY: as `free_unique`.
        unsafe {
            let h = ptr.as_ptr();
            let n = (*h).len;
            let elems = (h as *mut u8).add(ELEMS) as *mut Value;
            // A tree's node, a cons cell: straight to the dead-block chain
            // (kept out of `free_unique`: inlined there, it made that
            // function save five registers on every call).
            let nested = super::deep::is_container(&*elems.add(first))
                || (first + 1..n).any(|i| super::deep::is_container(&*elems.add(i)));
            if !nested {
                // Nothing nested (a row of strings): each element's drop is
                // one level deep, so they are dropped in place and the
                // block freed, without the work of `deep::Releaser`. The
                // length is 0 first (a panicking drop leaks, never drops
                // twice).
                (*h).len = 0;
                for i in first..n {
                    let v = elems.add(i);
                    if !is_unboxed(&*v) {
                        std::ptr::drop_in_place(v);
                    }
                }
                List::free(ptr);
                return;
            }
        }
        super::deep::free_dead(DeadList {
            ptr,
            next: std::marker::PhantomData,
        });
    }
}

/// A value without a heap part (its drop does nothing).
#[inline(always)]
fn is_unboxed(v: &Value) -> bool {
    matches!(
        v,
        Value::Null | Value::Bool(_) | Value::Int(_) | Value::Float(_)
    )
}

impl FromIterator<Value> for List {
    fn from_iter<I: IntoIterator<Item = Value>>(iter: I) -> List {
        let iter = iter.into_iter();
        let mut l = List::with_capacity(iter.size_hint().0);
        let mut n = 0;
        let mut cap = l.header().cap;
        let mut at = l.elems_mut();
        for v in iter {
            if n == cap {
                // SAFETY: the only holder: publish the length before growing.
                unsafe { l.header_mut().len = n };
                l.grow(n + 1);
                cap = l.header().cap;
                // SAFETY: the block moved; `n` elements are in it.
                at = unsafe { l.elems_mut().add(n) };
            }
            // SAFETY: the only holder, room for one more at `at`; the
            // length is published after each write (a panicking iterator
            // leaves a consistent list behind).
            unsafe {
                at.write(v);
                at = at.add(1);
                n += 1;
                l.header_mut().len = n;
            }
        }
        l
    }
}

impl From<Vec<Value>> for List {
    fn from(v: Vec<Value>) -> List {
        List::from_vec(v)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn push_grows_in_place_and_shares_on_write() {
        let mut a = List::new();
        for i in 0..100 {
            a.push(Value::Int(i));
        }
        assert_eq!(a.len(), 100);
        let b = a.clone();
        assert_eq!(a.strong_count(), 2);
        a.push(Value::Int(100));
        assert_eq!((a.len(), b.len()), (101, 100));
        assert!(!List::ptr_eq(&a, &b));
        assert_eq!(b.strong_count(), 1);
        a.truncate(3);
        assert!(matches!(
            a[..],
            [Value::Int(0), Value::Int(1), Value::Int(2)]
        ));
        let v = b.into_vec();
        assert_eq!(v.len(), 100);
    }

    #[test]
    fn elements_are_released_once() {
        let s = Value::Str(Arc::new("x".into()));
        let Value::Str(arc) = &s else { unreachable!() };
        let arc = arc.clone();
        let l = List::from_vec(vec![s.clone(), s, Value::Int(1)]);
        let l2 = l.clone();
        assert_eq!(Arc::strong_count(&arc), 3);
        drop(l);
        assert_eq!(Arc::strong_count(&arc), 3);
        let mut l2 = l2;
        l2.make_mut()[0] = Value::Null;
        assert_eq!(Arc::strong_count(&arc), 2);
        drop(l2);
        assert_eq!(Arc::strong_count(&arc), 1);
    }

    #[test]
    fn layout_reads_a_lists_elements() {
        let l = List::layout();
        let v = Value::list(vec![Value::Int(4), Value::Int(7), Value::Null]);
        // SAFETY: `Value` is 16 bytes, `repr(C, u8)`: the payload word (the
        // block's address) is at offset 8; the header and elements follow.
        unsafe {
            let base = *((&v as *const Value as *const usize).add(1));
            let len = *((base + l.len as usize) as *const usize);
            let elems = (base + l.elems as usize) as *const Value;
            assert_eq!(len, 3);
            assert!(matches!(&*elems.add(1), Value::Int(7)));
        }
    }
}
