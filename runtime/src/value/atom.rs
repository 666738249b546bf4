//! Interned names (variables, fields, parameters): equal names share one
//! allocation, so comparing and hashing an atom is comparing a pointer.
//! An atom lives as long as the process (the table never shrinks), so
//! atoms are made only from program text, at load time; names that come
//! from run-time strings (process names: REGISTER, WHEREIS, …) are never
//! interned (`process::Name`).

use std::collections::HashSet;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// An interned name. Two atoms are equal exactly when their texts are equal.
#[derive(Clone)]
pub struct Atom(Arc<str>);

fn interner() -> &'static Mutex<HashSet<Arc<str>>> {
    static INTERNER: OnceLock<Mutex<HashSet<Arc<str>>>> = OnceLock::new();
    INTERNER.get_or_init(Default::default)
}

/// Words of the filter of atom texts ([`Atom::may_be`]): 16,384 bits
/// (2 KiB), two per atom: a program of 1,000 names passes about 1.4 %
/// of other texts.
const FILTER_WORDS: usize = 256;

/// A Bloom filter over the texts of every atom made: two bits per text,
/// chosen by [`text_hash`]. Bits are only ever set (the table never
/// shrinks), so a clear bit proves a text is no atom's.
static FILTER: [AtomicU64; FILTER_WORDS] = [const { AtomicU64::new(0) }; FILTER_WORDS];

/// The hash of a text that [`Atom::may_be`] (and `keys::shared_key`'s
/// table of recent keys) use: FNV-1a over the bytes (names are short).
#[inline]
pub fn text_hash(s: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for &b in s.as_bytes() {
        h = (h ^ b as u32).wrapping_mul(0x0100_0193);
    }
    h
}

/// The filter's two bits for the hash `h`: (word, bit) twice, from the
/// hash's low 14 bits and its high 14.
#[inline]
fn filter_bits(h: u32) -> [(usize, u64); 2] {
    const _: () = assert!(FILTER_WORDS * 64 == 1 << 14);
    let bit = |x: u32| (x as usize >> 6, 1u64 << (x & 63));
    [bit(h & 0x3fff), bit(h >> 18)]
}

impl Atom {
    /// The atom for `name` (made once per distinct text, at load time).
    pub fn new(name: &str) -> Atom {
        let mut set = interner().lock().unwrap_or_else(|e| e.into_inner());
        if let Some(existing) = set.get(name) {
            return Atom(existing.clone());
        }
        let arc: Arc<str> = Arc::from(name);
        set.insert(arc.clone());
        // Set while the table is held: whoever reads the bits and then
        // takes the table finds the atom.
        for (w, b) in filter_bits(text_hash(name)) {
            FILTER[w].fetch_or(b, Ordering::Relaxed);
        }
        Atom(arc)
    }

    /// Whether a text of hash `h` ([`text_hash`]) may be an atom's:
    /// `false` proves it is not (two loads, no lock), `true` may be wrong
    /// (under 1 % of other texts with a few hundred atoms). A run-time key
    /// that is no field name's text (a number made a string, a word of
    /// the input) skips [`Atom::existing_text`]'s lock and hash.
    #[inline]
    pub fn may_be(h: u32) -> bool {
        filter_bits(h)
            .iter()
            .all(|&(w, b)| FILTER[w].load(Ordering::Relaxed) & b != 0)
    }

    /// The text of the atom `name` if the program made one, without
    /// making one (a run-time string never grows the table): an object
    /// key made at run time with a field name's text shares the name's
    /// allocation (`keys::shared_key`), so field sites' caches, which
    /// compare keys by address, hit on it.
    ///
    /// Never waits: when another thread holds the table (schedulers
    /// making keys at the same time), the answer is `None` and the key
    /// keeps its own allocation — sharing is only a speed-up, so a
    /// program's maps never serialize on this lock.
    pub fn existing_text(name: &str) -> Option<Arc<str>> {
        let set = match interner().try_lock() {
            Ok(set) => set,
            Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return None,
        };
        set.get(name).cloned()
    }

    /// How many distinct atoms exist (for tests: a run must not add any).
    pub fn interned() -> usize {
        interner().lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The shared text (an object field key made from this atom).
    pub fn text(&self) -> Arc<str> {
        self.0.clone()
    }

    /// A number identifying this atom while the program runs.
    pub fn id(&self) -> usize {
        Arc::as_ptr(&self.0) as *const u8 as usize
    }
}

impl PartialEq for Atom {
    #[inline]
    fn eq(&self, other: &Atom) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Atom {}

impl Hash for Atom {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.id().hash(state)
    }
}

impl PartialOrd for Atom {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Atom {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.cmp(&other.0)
    }
}

impl fmt::Debug for Atom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", &*self.0)
    }
}

impl fmt::Display for Atom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_names_are_one_atom() {
        let a = Atom::new("name");
        let b = Atom::new(&String::from("name"));
        assert_eq!(a, b);
        assert_eq!(a.id(), b.id());
        assert_ne!(a, Atom::new("other"));
    }

    /// Every atom's text passes the filter; most other texts do not.
    #[test]
    fn the_filter_knows_every_atom() {
        let names: Vec<String> = (0..300).map(|i| format!("filter_name_{i}")).collect();
        for n in &names {
            Atom::new(n);
        }
        for n in &names {
            assert!(Atom::may_be(text_hash(n)), "{n}");
            assert!(Atom::existing_text(n).is_some());
        }
        let passed = (0..10_000)
            .filter(|i| Atom::may_be(text_hash(&i.to_string())))
            .count();
        assert!(passed < 2_000, "{passed} of 10000 numbers pass the filter");
    }
}
