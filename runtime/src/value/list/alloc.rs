//! Lists' allocation entries (issue 15): the small-block allocator a
//! binary registers ([`List::set_block_alloc`]) that new list blocks come
//! from, and the entry compiled code's `MAKE_LIST` of a small list calls
//! directly ([`List::list_block_entry`]).

use super::{Header, List, Value, ELEMS};
use crate::sync::AtomicUsize;
use std::alloc::{alloc, Layout};

/// An allocator entry for small blocks (`size` bytes, at most the limit
/// it was registered with): the block's address, or null when memory is
/// exhausted. See [`List::set_block_alloc`].
pub type BlockAlloc = unsafe extern "C" fn(size: usize) -> *mut u8;

/// An allocator entry for a new list of `n` elements (compiled code's
/// `MAKE_LIST`): a block of [`List::block_size`]`(n)` bytes from the
/// registered small-block allocator with its header written
/// ([`List::init_unwritten`]: count 1, length and capacity `n`), its
/// elements not; never null. See [`List::set_block_alloc`].
pub type ListAlloc = unsafe extern "C" fn(n: usize) -> *mut u8;

/// The entries registered with [`List::set_block_alloc`].
#[derive(Clone, Copy)]
struct BlockEntries {
    /// Null or a block.
    any: BlockAlloc,
    /// A list block with its header, never null (compiled code's
    /// `MAKE_LIST`).
    list: Option<ListAlloc>,
    /// The largest block either serves, in bytes.
    max: usize,
}

static BLOCK_ALLOC: std::sync::OnceLock<BlockEntries> = std::sync::OnceLock::new();

/// A new block of `layout` (a list's): through the registered small-block
/// entry when there is one and the block is small enough for it, else
/// the global allocator. Null when memory is exhausted.
#[inline]
pub(super) fn alloc_block(layout: Layout) -> *mut u8 {
    if let Some(e) = BLOCK_ALLOC.get() {
        if layout.size() <= e.max {
            // SAFETY: within the entry's limit (`List::set_block_alloc`).
            return unsafe { (e.any)(layout.size()) };
        }
    }
    // SAFETY: the layout is never zero-sized (the header).
    unsafe { alloc(layout) }
}

impl List {
    /// Register the global allocator's own entry for small blocks (the
    /// binary's allocator: mimalloc's `mi_malloc_small`, its size-class
    /// fast path), which every new list block of at most `max` bytes then
    /// comes from (issue 15: a tree's node, a pair, a tuple — one call
    /// into the allocator's small path instead of `GlobalAlloc::alloc`'s
    /// way through `mi_malloc`'s size test). Only the first registration
    /// counts; blocks are freed and grown through the global allocator as
    /// before. Without one (tests, a build on `System`), every block comes
    /// from the global allocator.
    ///
    /// `list`, when given, makes a whole list block from the same entry
    /// for compiled code ([`ListAlloc`]): its header written, never null
    /// (when memory is exhausted it does not return: it ends the process
    /// as `handle_alloc_error` does). Compiled code's `MAKE_LIST` of a
    /// small list calls it directly ([`List::list_block_entry`]) instead
    /// of a runtime helper that goes through this registration.
    ///
    /// # Safety
    /// `f` returns, for any `size` of at most `max` bytes, null or a block
    /// of at least `size` bytes aligned to at least 8 that the global
    /// allocator's `dealloc` accepts with the layout `(size, 8)` (the one a
    /// list's block is freed with); it may be called on any thread. `list`
    /// returns, for any `n` whose [`List::block_size`] is at most `max`,
    /// such a block of that size, never null, with its header written by
    /// [`List::init_unwritten`]; it is an `extern "C"` function of the
    /// platform's default calling convention, callable on any thread.
    pub unsafe fn set_block_alloc(f: BlockAlloc, list: Option<ListAlloc>, max: usize) {
        let _ = BLOCK_ALLOC.set(BlockEntries { any: f, list, max });
    }

    /// The bytes of a list block with room for `n` elements.
    #[inline(always)]
    pub const fn block_size(n: usize) -> usize {
        ELEMS + n * std::mem::size_of::<Value>()
    }

    /// Write the header of a new list block for `n` elements: count 1,
    /// length and capacity `n` (for a [`ListAlloc`]).
    ///
    /// # Safety
    /// `p` is a block of at least [`List::block_size`]`(n)` bytes aligned
    /// to 8, from the global allocator, that nothing else uses; `n` is
    /// within the language's list limit.
    #[inline(always)]
    pub unsafe fn init_unwritten(p: *mut u8, n: usize) {
        // SAFETY: per the contract, room and alignment for the header.
        unsafe {
            (p as *mut Header).write(Header {
                count: AtomicUsize::new(1),
                len: n,
                cap: n,
            })
        };
    }

    /// For compiled code's `MAKE_LIST` of `n` elements: the registered
    /// [`ListAlloc`] ([`List::set_block_alloc`]), when there is one and
    /// a block of `n` elements is within its limit. The caller writes the
    /// `n` elements (`ListLayout::elems` on) of the block it returns
    /// before anything else sees it, and then owns the one reference, as
    /// `alloc_unwritten`'s.
    pub fn list_block_entry(n: usize) -> Option<ListAlloc> {
        let e = BLOCK_ALLOC.get()?;
        let size = ELEMS.checked_add(n.checked_mul(std::mem::size_of::<Value>())?)?;
        match e.list {
            Some(f) if size <= e.max => Some(f),
            _ => None,
        }
    }

    /// A list of `n` elements that the caller writes (compiled code's
    /// `MAKE_LIST`, issue 15): the block's address, its count 1, its length
    /// and capacity `n`, its elements not yet written.
    ///
    /// # Safety
    /// The caller writes all `n` elements (`ListLayout::elems` on, 16
    /// bytes each, valid `Value`s it gives up) before anything reads or
    /// drops the list, and then owns the one reference, as the payload of
    /// a `Value::List`.
    pub unsafe fn alloc_unwritten(n: usize) -> *mut u8 {
        let mut l = std::mem::ManuallyDrop::new(List::with_capacity(n));
        // SAFETY: the only holder; the caller writes the elements.
        unsafe { l.header_mut().len = n };
        l.ptr.as_ptr() as *mut u8
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::alloc::handle_alloc_error;
    use std::ptr::NonNull;

    thread_local! {
        /// Blocks `counting_block` handed out on this thread.
        static BLOCKS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }

    /// A small-block entry that counts its calls and takes its blocks from
    /// the global allocator (as `set_block_alloc` requires).
    unsafe extern "C" fn counting_block(size: usize) -> *mut u8 {
        BLOCKS.with(|b| b.set(b.get() + 1));
        // SAFETY: never zero-sized (a list's header at least).
        unsafe { std::alloc::alloc(Layout::from_size_align(size, 8).unwrap()) }
    }

    /// A list block of `n` elements from `counting_block`, its header
    /// written, never null (as `set_block_alloc`'s `list`).
    unsafe extern "C" fn counting_list(n: usize) -> *mut u8 {
        let size = List::block_size(n);
        // SAFETY: as `counting_block`.
        let p = unsafe { counting_block(size) };
        if p.is_null() {
            handle_alloc_error(Layout::from_size_align(size, 8).unwrap());
        }
        // SAFETY: a fresh block of that size.
        unsafe { List::init_unwritten(p, n) };
        p
    }

    #[test]
    fn small_blocks_come_from_the_registered_entry() {
        // SAFETY: `counting_block` keeps the contract (the global
        // allocator's blocks), `counting_list` too and never returns null.
        // The registration stays for the process: other tests' lists then
        // come from it too, which is sound.
        unsafe { List::set_block_alloc(counting_block, Some(counting_list), 256) };
        let count = || BLOCKS.with(|b| b.get());
        // 24 + 2 * 16 bytes: from the entry, and it holds a list.
        let mut a = List::from_vec(vec![Value::Int(1), Value::Null]);
        assert_eq!(count(), 1);
        // Grown (through the global allocator's realloc) and freed.
        for i in 0..40 {
            a.push(Value::Int(i));
        }
        assert_eq!(a.len(), 42);
        assert!(matches!(a[41], Value::Int(39)));
        drop(a);
        assert_eq!(count(), 1);
        // A block above the limit (24 + 100 * 16 bytes) comes from the
        // global allocator.
        let big = List::with_capacity(100);
        assert_eq!(count(), 1);
        drop(big);
        // Compiled code's `MAKE_LIST` block, written by the caller.
        // SAFETY: both elements are written before the list is used.
        let v = unsafe {
            let p = List::alloc_unwritten(2);
            let e = p.add(List::layout().elems as usize) as *mut Value;
            e.write(Value::Int(7));
            e.add(1).write(Value::str("x"));
            List {
                ptr: NonNull::new(p as *mut Header).unwrap(),
            }
        };
        assert_eq!(count(), 2);
        assert_eq!(v.len(), 2);
        assert!(matches!(v[0], Value::Int(7)));
        drop(v);
        // Compiled code's own `MAKE_LIST`: the list entry for blocks
        // within the limit (24 + 2 * 16 bytes), none above it (24 + 15 *
        // 16); its block written as compiled code writes it, then read,
        // shared and freed as any list.
        assert!(List::list_block_entry(15).is_none());
        assert_eq!(List::block_size(2), 56);
        let f = List::list_block_entry(2).expect("registered");
        // SAFETY: both elements are written before the list is used, as
        // compiled code does.
        let w = unsafe {
            let p = f(2);
            let e = p.add(List::layout().elems as usize) as *mut Value;
            e.write(Value::str("y"));
            e.add(1).write(Value::list(vec![Value::Int(3)]));
            List {
                ptr: NonNull::new(p as *mut Header).unwrap(),
            }
        };
        assert_eq!(count(), 4);
        let shared = w.clone();
        assert_eq!((w.len(), shared.strong_count()), (2, 2));
        assert!(matches!(&w[1], Value::List(inner) if inner.len() == 1));
        drop(w);
        let mut grown = shared;
        grown.push(Value::Null);
        assert_eq!(grown.len(), 3);
        drop(grown);
    }
}
