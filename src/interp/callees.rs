//! What each `CALL_FUNCTION` site has called, recorded by the interpreter
//! when a JIT runs (its `KINDS` loop), for the JIT to compile the site for
//! the prototypes it has met instead of every function value of its arity
//! in the program (`jit::direct::candidates`; docs/JIT.md, "Function
//! values").
//!
//! A site keeps up to [`SEEN`] prototype addresses in the order first met;
//! one more makes it megamorphic (the JIT then chooses as without
//! feedback). The first slot is tested first, so a site that keeps calling
//! one function pays one load and one compare per call.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;

use crate::bytecode::Program;

/// How many prototypes a site remembers (the JIT's `MAX_CANDIDATES`).
pub const SEEN: usize = 8;

/// A site's record: prototype addresses (`FuncProto`'s), 0 for an empty
/// slot; [`MANY`] in the last slot when more than [`SEEN`] were met.
#[derive(Debug, Default)]
pub struct CalleeSite {
    protos: [AtomicUsize; SEEN],
    /// Calls compiled code made here of a function value it was not
    /// compiled for (counted by that code with a plain load and store: a
    /// hint, like the field caches' misses; `jit::kinds`).
    pub misses: AtomicU32,
    /// The site's record proved too narrow: the JIT compiles it as
    /// without one ([`Seen::Many`]).
    widened: AtomicBool,
}

/// Misses of a compiled site after which (and after every so many more)
/// its code raises the JIT's flag (as a field guard's: a power of two).
pub const MISS_PERIOD: u32 = 16;

/// The last slot's mark of a site that met more prototypes than it keeps.
const MANY: usize = usize::MAX;

/// What a site has met.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// Not run by the interpreter yet.
    Nothing,
    /// These prototypes (addresses), in the order first met.
    Protos(Vec<usize>),
    /// More than [`SEEN`].
    Many,
}

impl CalleeSite {
    /// The site called the function value of prototype address `proto`.
    #[inline]
    pub fn note(&self, proto: usize) {
        if self.protos[0].load(Ordering::Relaxed) == proto {
            return;
        }
        self.note_more(proto);
    }

    #[cold]
    #[inline(never)]
    fn note_more(&self, proto: usize) {
        for slot in &self.protos {
            // Relaxed: a record is a hint for compiling; two schedulers
            // meeting new prototypes at once each take an empty slot.
            match slot.compare_exchange(0, proto, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return,
                Err(v) if v == proto || v == MANY => return,
                Err(_) => {}
            }
        }
        self.protos[SEEN - 1].store(MANY, Ordering::Relaxed);
    }

    /// Compiled code called other function values here [`MISS_PERIOD`]
    /// times: from now on the site is compiled as without a record.
    /// Whether this call widened it (once).
    pub fn widen(&self) -> bool {
        self.misses.load(Ordering::Relaxed) >= MISS_PERIOD
            && !self.widened.swap(true, Ordering::Relaxed)
    }

    /// What the site has met so far.
    pub fn seen(&self) -> Seen {
        if self.widened.load(Ordering::Relaxed) {
            return Seen::Many;
        }
        let mut out = Vec::new();
        for slot in &self.protos {
            match slot.load(Ordering::Relaxed) {
                0 => break,
                MANY => return Seen::Many,
                p => out.push(p),
            }
        }
        if out.is_empty() {
            Seen::Nothing
        } else {
            Seen::Protos(out)
        }
    }
}

/// The records of a program's `CALL_FUNCTION` sites.
#[derive(Debug, Clone, Default)]
pub struct Callees {
    /// Per program address: the index of its site's record, or
    /// `u32::MAX` (empty when no JIT runs: nothing is recorded).
    of: Arc<[u32]>,
    sites: Arc<[CalleeSite]>,
}

impl Callees {
    /// Records for every `CALL_FUNCTION` of `p` when `jit`; none without.
    pub fn new(p: &Program, jit: bool) -> Callees {
        if !jit {
            return Callees::default();
        }
        let mut n = 0u32;
        let of: Vec<u32> = p
            .code
            .iter()
            .map(|i| match i {
                crate::bytecode::Instr::CallFunction(_) => {
                    n += 1;
                    n - 1
                }
                _ => u32::MAX,
            })
            .collect();
        Callees {
            of: Arc::from(of),
            sites: (0..n).map(|_| CalleeSite::default()).collect(),
        }
    }

    /// The `CALL_FUNCTION` at program address `at` called prototype
    /// address `proto` (interpreted, with a JIT).
    #[inline]
    pub fn note(&self, at: u32, proto: usize) {
        if let Some(&k) = self.of.get(at as usize) {
            if let Some(site) = self.sites.get(k as usize) {
                site.note(proto);
            }
        }
    }

    /// The record of the `CALL_FUNCTION` at `at`.
    pub fn site(&self, at: u32) -> Option<&CalleeSite> {
        self.of
            .get(at as usize)
            .and_then(|&k| self.sites.get(k as usize))
    }

    /// What the `CALL_FUNCTION` at `at` has met.
    pub fn seen(&self, at: u32) -> Seen {
        self.site(at).map_or(Seen::Nothing, CalleeSite::seen)
    }

    /// Every site's program address and record.
    pub fn sites(&self) -> impl Iterator<Item = (u32, &CalleeSite)> {
        self.of
            .iter()
            .enumerate()
            .filter_map(|(at, &k)| Some((at as u32, self.sites.get(k as usize)?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_site_remembers_what_it_met_in_order_then_many() {
        let s = CalleeSite::default();
        assert_eq!(s.seen(), Seen::Nothing);
        s.note(0x100);
        s.note(0x100);
        s.note(0x200);
        s.note(0x100);
        assert_eq!(s.seen(), Seen::Protos(vec![0x100, 0x200]));
        for p in 3..=SEEN {
            s.note(p * 0x100);
        }
        assert_eq!(
            s.seen(),
            Seen::Protos((1..=SEEN).map(|p| p * 0x100).collect())
        );
        s.note(0x100 * (SEEN + 1));
        assert_eq!(s.seen(), Seen::Many);
        s.note(0x100);
        assert_eq!(s.seen(), Seen::Many);
    }

    #[test]
    fn a_site_that_misses_often_is_widened_once() {
        let s = CalleeSite::default();
        s.note(0x100);
        s.misses.store(MISS_PERIOD - 1, Ordering::Relaxed);
        assert!(!s.widen());
        assert_eq!(s.seen(), Seen::Protos(vec![0x100]));
        s.misses.store(MISS_PERIOD, Ordering::Relaxed);
        assert!(s.widen());
        assert!(!s.widen());
        assert_eq!(s.seen(), Seen::Many);
    }
}
