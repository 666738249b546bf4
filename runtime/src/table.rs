//! The process table, without locks (steps P1–P6 of `sched/README.md`).
//!
//! PIDs are dense and never reused, so a PID's slot is found by indexing a
//! three-level radix tree (directory → middle block → segment of slots); a
//! slot holds one strong count of the process's `Arc`, published with a
//! release store and read with an acquire load. A removed process (and a
//! segment whose PIDs have all ended) is *retired*, and freed only once
//! every worker has passed a quiescent point since (quiescent-state-based
//! reclamation): a worker's lookups borrow the process until its next
//! quiescent point (between slices), with no atomic read-modify-write.
//! Lookups from outside the workers announce themselves in `outside` and
//! clone the `Arc`.

use crate::sync::{fence, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::collections::VecDeque;
use std::sync::Arc;

#[cfg(not(loom))]
const BITS: u32 = 12;
#[cfg(loom)]
const BITS: u32 = 1;
const FAN: usize = 1 << BITS;
const MASK: u64 = FAN as u64 - 1;

/// PIDs below this have a slot: 2^36 (68 billion) with 12 bits per level.
pub(crate) const CAPACITY: u64 = 1 << (3 * BITS);

/// A quiescent-point mark meaning "holds no reference" (an idle worker).
pub(crate) const OFFLINE: u64 = u64::MAX;

/// Retired items are sealed into a batch (one epoch bump) this many at a
/// time, or when the worker goes idle.
#[cfg(not(loom))]
const BATCH: usize = 64;
#[cfg(loom)]
const BATCH: usize = 1;

/// A level of the tree: `FAN` pointers, in the block itself (a lookup
/// follows three pointers, not six: boxed slices added one per level).
type Slots<X> = [AtomicPtr<X>; FAN];

/// A new block, all null (and zero).
///
/// # Safety
/// All zero bits must be a valid `B` (true of std's atomics; loom's are
/// built one by one instead, see below).
#[cfg(not(loom))]
unsafe fn zeroed<B>(_loom: impl FnOnce() -> B) -> Box<B> {
    // (`Box::new_zeroed` needs Rust 1.92.)
    let layout = std::alloc::Layout::new::<B>();
    assert!(layout.size() > 0);
    // SAFETY: a non-zero size; all zero bits is a `B` by the caller's
    // contract; the block is allocated as `Box` allocates one.
    unsafe {
        let p = std::alloc::alloc_zeroed(layout).cast::<B>();
        if p.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        Box::from_raw(p)
    }
}

#[cfg(loom)]
unsafe fn zeroed<B>(loom: impl FnOnce() -> B) -> Box<B> {
    Box::new(loom())
}

fn null_slots<X>() -> Slots<X> {
    std::array::from_fn(|_| AtomicPtr::new(std::ptr::null_mut()))
}

/// A block of `FAN` slots; retired when all its PIDs have ended.
pub(crate) struct Segment<T> {
    slots: Slots<T>,
    ended: AtomicUsize,
}

struct Mid<T> {
    segments: Slots<Segment<T>>,
}

/// Something removed from the table, to be freed after a grace period.
pub(crate) enum Garbage<T> {
    Item(#[allow(dead_code)] Arc<T>),
    Segment(#[allow(dead_code)] Box<Segment<T>>),
}

/// The table: PID → `Arc<T>`.
pub(crate) struct Table<T> {
    top: Box<Slots<Mid<T>>>,
    /// The global epoch, bumped once per sealed batch of garbage.
    epoch: AtomicU64,
    /// Lookups in progress outside the workers (P5).
    outside: AtomicUsize,
}

// SAFETY: the table owns `Arc<T>`s (shared across threads): it is Send and
// Sync when `Arc<T>` is.
unsafe impl<T: Send + Sync> Send for Table<T> {}
unsafe impl<T: Send + Sync> Sync for Table<T> {}

/// Get the child at `slot`, creating it if absent (racing creators agree on
/// one: the losers free theirs).
fn child<C>(slot: &AtomicPtr<C>, make: impl FnOnce() -> Box<C>) -> &C {
    let p = slot.load(Ordering::Acquire);
    if !p.is_null() {
        // SAFETY: published with release below, freed only by Drop or by
        // retirement after a grace period (segments).
        return unsafe { &*p };
    }
    let new = Box::into_raw(make());
    match slot.compare_exchange(
        std::ptr::null_mut(),
        new,
        Ordering::AcqRel,
        Ordering::Acquire,
    ) {
        // SAFETY: just published.
        Ok(_) => unsafe { &*new },
        Err(winner) => {
            // SAFETY: `new` was never shared.
            drop(unsafe { Box::from_raw(new) });
            // SAFETY: as above.
            unsafe { &*winner }
        }
    }
}

fn split(pid: u64) -> (usize, usize, usize) {
    (
        (pid >> (2 * BITS)) as usize,
        ((pid >> BITS) & MASK) as usize,
        (pid & MASK) as usize,
    )
}

impl<T> Table<T> {
    pub(crate) fn new() -> Table<T> {
        Table {
            // SAFETY: null pointers are all zero bits.
            top: unsafe { zeroed(null_slots) },
            epoch: AtomicU64::new(1),
            outside: AtomicUsize::new(0),
        }
    }

    fn segment(&self, pid: u64) -> Option<&Segment<T>> {
        if pid >= CAPACITY {
            return None;
        }
        let (t, m, _) = split(pid);
        let mid = self.top[t].load(Ordering::Acquire);
        if mid.is_null() {
            return None;
        }
        // SAFETY: middle blocks live as long as the table.
        let seg = unsafe { &*mid }.segments[m].load(Ordering::Acquire);
        // SAFETY: a segment is freed only after a grace period (P4), and
        // the caller is a worker between quiescent points or an announced
        // outside reader.
        (!seg.is_null()).then(|| unsafe { &*seg })
    }

    /// P1: publish `item` under `pid` (a fresh PID). Fails past CAPACITY.
    pub(crate) fn insert(&self, pid: u64, item: Arc<T>) -> Result<(), Arc<T>> {
        if pid >= CAPACITY {
            return Err(item);
        }
        let (t, m, s) = split(pid);
        // SAFETY (both): null pointers and a zero count are all zero bits.
        let mid = child(&self.top[t], || unsafe {
            zeroed(|| Mid {
                segments: null_slots(),
            })
        });
        let seg = child(&mid.segments[m], || unsafe {
            zeroed(|| Segment {
                slots: null_slots(),
                ended: AtomicUsize::new(0),
            })
        });
        seg.slots[s].store(Arc::into_raw(item) as *mut T, Ordering::Release);
        Ok(())
    }

    /// P2: the item under `pid`, or null. The pointer stays valid until the
    /// caller's next quiescent point (a worker) or until it ends its
    /// announced lookup (`outside`).
    pub(crate) fn lookup(&self, pid: u64) -> *const T {
        match self.segment(pid) {
            Some(seg) => seg.slots[(pid & MASK) as usize].load(Ordering::Acquire),
            None => std::ptr::null(),
        }
    }

    /// P5: a lookup from outside the workers: clone the item.
    pub(crate) fn get_outside(&self, pid: u64) -> Option<Arc<T>> {
        self.outside.fetch_add(1, Ordering::SeqCst);
        // Pairs with the fence in `collect`: either it sees us announced, or
        // we see its unlink.
        fence(Ordering::SeqCst);
        let p = self.lookup(pid);
        let got = (!p.is_null()).then(|| {
            // SAFETY: announced in `outside`, so not freed yet (P4); the
            // slot's count keeps it alive while we add ours.
            unsafe {
                Arc::increment_strong_count(p);
                Arc::from_raw(p)
            }
        });
        self.outside.fetch_sub(1, Ordering::SeqCst);
        got
    }

    /// P3: take `pid` out; returns what the caller must retire.
    pub(crate) fn remove(&self, pid: u64, mut retire: impl FnMut(Garbage<T>)) {
        let Some(seg) = self.segment(pid) else {
            return;
        };
        let p = seg.slots[(pid & MASK) as usize].swap(std::ptr::null_mut(), Ordering::SeqCst);
        if p.is_null() {
            return;
        }
        // SAFETY: the slot's strong count, now ours.
        retire(Garbage::Item(unsafe { Arc::from_raw(p) }));
        if seg.ended.fetch_add(1, Ordering::AcqRel) + 1 == FAN {
            // Every PID of the segment has been used and has ended.
            let (t, m, _) = split(pid);
            // SAFETY: non-null (we found the segment through it).
            let mid = unsafe { &*self.top[t].load(Ordering::Acquire) };
            let s = mid.segments[m].swap(std::ptr::null_mut(), Ordering::SeqCst);
            if !s.is_null() {
                // SAFETY: unlinked; retired, freed after a grace period.
                retire(Garbage::Segment(unsafe { Box::from_raw(s) }));
            }
        }
    }

    /// Take every item out (no worker may be running); returns them.
    pub(crate) fn drain(&self) -> Vec<Arc<T>> {
        let mut out = Vec::new();
        for mid in self.top.iter() {
            let mid = mid.load(Ordering::Acquire);
            if mid.is_null() {
                continue;
            }
            // SAFETY: middle blocks live as long as the table.
            for seg in unsafe { &*mid }.segments.iter() {
                let seg = seg.load(Ordering::Acquire);
                if seg.is_null() {
                    continue;
                }
                // SAFETY: no worker runs, so nothing is being retired.
                for slot in unsafe { &*seg }.slots.iter() {
                    let p = slot.swap(std::ptr::null_mut(), Ordering::SeqCst);
                    if !p.is_null() {
                        // SAFETY: the slot's count, now ours.
                        out.push(unsafe { Arc::from_raw(p) });
                    }
                }
            }
        }
        // Outside readers that found an item before it was taken finish
        // their clone before we may drop the table's count.
        while self.outside.load(Ordering::SeqCst) != 0 {
            std::hint::spin_loop();
        }
        out
    }
}

impl<T> Drop for Table<T> {
    fn drop(&mut self) {
        for mid in self.top.iter() {
            let mid = mid.load(Ordering::Acquire);
            if mid.is_null() {
                continue;
            }
            // SAFETY: exclusive access: nothing else can reach the table.
            let mid = unsafe { Box::from_raw(mid) };
            for seg in mid.segments.iter() {
                let seg = seg.load(Ordering::Acquire);
                if seg.is_null() {
                    continue;
                }
                // SAFETY: as above.
                let seg = unsafe { Box::from_raw(seg) };
                for slot in seg.slots.iter() {
                    let p = slot.load(Ordering::Acquire);
                    if !p.is_null() {
                        // SAFETY: the slot's count.
                        drop(unsafe { Arc::from_raw(p) });
                    }
                }
            }
        }
    }
}

/// One worker's side of the reclamation: its quiescent-point mark (shared
/// with the other workers) and the garbage it retired.
pub(crate) struct Reclaimer<T> {
    pending: Vec<Garbage<T>>,
    /// Sealed batches: (epoch tag, garbage), oldest first.
    sealed: VecDeque<(u64, Vec<Garbage<T>>)>,
}

impl<T> Default for Reclaimer<T> {
    fn default() -> Self {
        Reclaimer {
            pending: Vec::new(),
            sealed: VecDeque::new(),
        }
    }
}

/// A worker's quiescent-point mark: the epoch it saw at its last quiescent
/// point, or OFFLINE. (Padded: each is written by its own worker.)
#[repr(align(128))]
pub(crate) struct Mark(pub(crate) AtomicU64);

impl Mark {
    pub(crate) fn new() -> Mark {
        Mark(AtomicU64::new(OFFLINE))
    }
}

impl<T> Reclaimer<T> {
    pub(crate) fn retire(&mut self, g: Garbage<T>) {
        self.pending.push(g);
    }

    fn seal(&mut self, table: &Table<T>) -> u64 {
        // P3 → P4: the bump comes after the unlinks of everything pending
        // (program order, SeqCst); a worker that sees this epoch or a later
        // one at a quiescent point can no longer find any of them.
        let tag = table.epoch.fetch_add(1, Ordering::SeqCst) + 1;
        self.sealed
            .push_back((tag, std::mem::take(&mut self.pending)));
        tag
    }

    /// P4: a quiescent point of worker `me`: it holds no reference found
    /// by a lookup. Announce it, then free what every worker has passed.
    pub(crate) fn quiesce(&mut self, table: &Table<T>, marks: &[Mark], me: usize) {
        let seen = if self.pending.len() >= BATCH {
            self.seal(table)
        } else {
            table.epoch.load(Ordering::Acquire)
        };
        marks[me].0.store(seen, Ordering::Release);
        if !self.sealed.is_empty() {
            self.collect(table, marks);
        }
    }

    /// Free the sealed batches whose tag every online worker has seen,
    /// unless an outside lookup is in progress.
    fn collect(&mut self, table: &Table<T>, marks: &[Mark]) {
        // Pairs with the fences of `go_online` and `get_outside` (a store
        // buffering pattern): either we see their announcement, or they see
        // our unlinks (made before this fence).
        fence(Ordering::SeqCst);
        let min = marks
            .iter()
            .map(|m| m.0.load(Ordering::SeqCst))
            .min()
            .unwrap_or(OFFLINE);
        if table.outside.load(Ordering::SeqCst) != 0 {
            return;
        }
        while self.sealed.front().is_some_and(|&(tag, _)| tag <= min) {
            drop(self.sealed.pop_front());
        }
    }

    /// P6: the worker goes idle (or stops): seal what it retired and mark
    /// itself offline, holding no reference.
    pub(crate) fn go_offline(&mut self, table: &Table<T>, marks: &[Mark], me: usize) {
        if !self.pending.is_empty() {
            self.seal(table);
        }
        marks[me].0.store(OFFLINE, Ordering::SeqCst);
        if !self.sealed.is_empty() {
            self.collect(table, marks);
        }
    }

    /// P6: the worker is back: announce the current epoch before any
    /// lookup. The fence orders the announcement before the lookups, so a
    /// reclaimer that still read OFFLINE unlinked its garbage before them.
    pub(crate) fn go_online(&mut self, table: &Table<T>, marks: &[Mark], me: usize) {
        marks[me]
            .0
            .store(table.epoch.load(Ordering::SeqCst), Ordering::SeqCst);
        fence(Ordering::SeqCst);
    }

    /// Everything still retired (the worker stopped): to be freed once
    /// every worker has stopped.
    pub(crate) fn into_garbage(mut self) -> Vec<Garbage<T>> {
        let mut all = std::mem::take(&mut self.pending);
        for (_, batch) in self.sealed.drain(..) {
            all.extend(batch);
        }
        all
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn segments_are_created_and_retired() {
        let t = Table::<u64>::new();
        let marks = [Mark::new()];
        let mut r = Reclaimer::default();
        r.go_online(&t, &marks, 0);
        let n = 3 * FAN as u64 + 5;
        for pid in 1..n {
            assert!(t.insert(pid, Arc::new(pid)).is_ok());
        }
        assert!(t.insert(CAPACITY, Arc::new(0)).is_err());
        assert!(t.lookup(0).is_null() && t.lookup(n).is_null());
        assert!(t.lookup(u64::MAX).is_null());
        // SAFETY: nothing was removed.
        assert_eq!(unsafe { *t.lookup(FAN as u64) }, FAN as u64);
        let mut garbage = 0;
        let mut segments = 0;
        for pid in 1..n {
            t.remove(pid, |g| {
                garbage += 1;
                segments += matches!(g, Garbage::Segment(_)) as usize;
                r.retire(g);
            });
            r.quiesce(&t, &marks, 0);
        }
        // PID 0 is never used, so only the 2nd and 3rd segments filled up.
        assert_eq!(segments, 2);
        assert_eq!(garbage, n as usize - 1 + 2);
        assert!(t.lookup(FAN as u64).is_null());
        assert_eq!(t.get_outside(5), None);
        assert!(t.drain().is_empty());
    }
}
