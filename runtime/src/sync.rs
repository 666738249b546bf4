//! The runtime's synchronisation primitives, in one place so that loom can
//! replace them (`RUSTFLAGS="--cfg loom"`) when the protocols are model
//! checked.

#[cfg(loom)]
pub(crate) use loom::cell::UnsafeCell;
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{
    fence, AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering,
};
#[cfg(loom)]
pub(crate) use loom::sync::{Condvar, Mutex, MutexGuard};

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{
    fence, AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering,
};
#[cfg(not(loom))]
pub(crate) use std::sync::{Condvar, Mutex, MutexGuard};

/// `std`'s `UnsafeCell` with loom's interface (loom checks the accesses).
#[cfg(not(loom))]
#[derive(Debug, Default)]
pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    pub(crate) fn new(data: T) -> UnsafeCell<T> {
        UnsafeCell(std::cell::UnsafeCell::new(data))
    }

    #[inline(always)]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

/// Lock `m`; a poisoned lock (a panic while held) is still usable, since
/// every critical section leaves the data consistent before it can panic.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A lock for the short critical sections of the process state machine:
/// taking it is one compare-and-swap, releasing it a plain release store —
/// one atomic read-modify-write per critical section instead of a mutex's
/// two. A waiter spins briefly, then yields its time slice until the lock
/// is free (there is no queue of sleeping waiters to wake, which is what
/// lets the release be a plain store). Used for each process's lock (see
/// `sched/README.md`, "Locks").
pub(crate) struct SpinLock<T> {
    locked: AtomicBool,
    data: std::cell::UnsafeCell<T>,
}

// SAFETY: the lock gives one thread at a time access to the data (the
// acquire/release pair orders the accesses), like a mutex.
unsafe impl<T: Send> Send for SpinLock<T> {}
unsafe impl<T: Send> Sync for SpinLock<T> {}

/// Access to a [`SpinLock`]'s data; releases it when dropped (also while
/// unwinding).
pub(crate) struct SpinGuard<'a, T> {
    lock: &'a SpinLock<T>,
}

impl<T> SpinLock<T> {
    pub(crate) fn new(data: T) -> SpinLock<T> {
        SpinLock {
            locked: AtomicBool::new(false),
            data: std::cell::UnsafeCell::new(data),
        }
    }

    #[inline]
    pub(crate) fn lock(&self) -> SpinGuard<'_, T> {
        if self
            .locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.lock_contended();
        }
        SpinGuard { lock: self }
    }

    /// Lock in `mode`: [`SpinLock::lock`], or without a read-modify-write
    /// when `mode` says no other thread can touch this lock (the release is
    /// the same plain store either way).
    #[inline]
    pub(crate) fn lock_as(&self, mode: LockMode) -> SpinGuard<'_, T> {
        if !mode.solo {
            return self.lock();
        }
        // `LockMode::solo`'s contract: this thread is the only one.
        debug_assert!(
            !self.locked.load(Ordering::Relaxed),
            "a lock taken twice by its only thread"
        );
        self.locked.store(true, Ordering::Relaxed);
        SpinGuard { lock: self }
    }

    #[cold]
    fn lock_contended(&self) {
        let mut spins = 0u32;
        loop {
            while self.locked.load(Ordering::Relaxed) {
                spin(&mut spins);
            }
            if self
                .locked
                .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                return;
            }
        }
    }
}

/// How a worker takes process locks (`SpinLock::lock_as`): by
/// compare-and-swap, or — when no other thread can touch any of them (a
/// one-scheduler run, see `sched/README.md`, "Locks") — by plain stores.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct LockMode {
    solo: bool,
}

impl LockMode {
    /// Locks taken by compare-and-swap.
    pub(crate) const ATOMIC: LockMode = LockMode { solo: false };

    /// Locks taken by plain stores.
    ///
    /// # Safety
    /// While locks are taken in this mode, no other thread may take, hold
    /// or otherwise touch them (or the data they guard).
    pub(crate) unsafe fn solo() -> LockMode {
        LockMode { solo: true }
    }

    pub(crate) fn is_solo(self) -> bool {
        self.solo
    }
}

/// Times a lock's waiter spins before it starts yielding its time slice.
#[cfg(not(loom))]
const SPINS_BEFORE_YIELD: u32 = 64;

/// Wait a little for a lock: spin, then yield the time slice (the holder
/// may have been preempted).
#[cfg(not(loom))]
fn spin(spins: &mut u32) {
    if *spins < SPINS_BEFORE_YIELD {
        *spins += 1;
        std::hint::spin_loop();
    } else {
        std::thread::yield_now();
    }
}

/// The gate of lock elision (`sched/README.md`, L1–L3): bit 0 is set
/// while a one-scheduler run takes process locks by plain stores (the
/// *solo* user); the rest counts, 2 each, the other users of process locks
/// in progress. The solo user and the others never overlap.
#[derive(Debug, Default)]
pub(crate) struct SoloGate(AtomicUsize);

const SOLO: usize = 1;

impl SoloGate {
    /// L1: become the solo user, if there is no user now.
    pub(crate) fn try_solo(&self) -> bool {
        self.0
            .compare_exchange(0, SOLO, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    /// L2: the solo user is done.
    pub(crate) fn end_solo(&self) {
        self.0.fetch_and(!SOLO, Ordering::Release);
    }

    /// L3: count as a user; while there is a solo user, wait for it first.
    pub(crate) fn enter(&self) {
        while self.0.fetch_add(2, Ordering::Acquire) & SOLO != 0 {
            self.0.fetch_sub(2, Ordering::Relaxed);
            while self.0.load(Ordering::Relaxed) & SOLO != 0 {
                yield_now();
            }
        }
    }

    /// L3 without waiting (O2): count as a user unless there is a solo
    /// user now; true when counted (then `leave` when done).
    pub(crate) fn try_enter(&self) -> bool {
        if self.0.fetch_add(2, Ordering::Acquire) & SOLO != 0 {
            self.0.fetch_sub(2, Ordering::Relaxed);
            return false;
        }
        true
    }

    /// L3: a user that entered is done.
    pub(crate) fn leave(&self) {
        self.0.fetch_sub(2, Ordering::Release);
    }
}

/// Give up the time slice.
pub(crate) fn yield_now() {
    #[cfg(loom)]
    loom::thread::yield_now();
    #[cfg(not(loom))]
    std::thread::yield_now();
}

#[cfg(loom)]
fn spin(_: &mut u32) {
    loom::thread::yield_now();
}

impl<T> std::ops::Deref for SpinGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the lock.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T> std::ops::DerefMut for SpinGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the lock, and `&mut self` makes this the
        // only reference through it.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T> Drop for SpinGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.lock.locked.store(false, Ordering::Release);
    }
}
