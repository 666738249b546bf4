//! Interned names (variables, fields, parameters): equal names share one
//! allocation, so comparing and hashing an atom is comparing a pointer.
//! An atom lives as long as the process (the table never shrinks), so
//! atoms are made only from program text, at load time; names that come
//! from run-time strings (process names: REGISTER, WHEREIS, …) are never
//! interned (`process::Name`).

use std::collections::HashSet;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, OnceLock};

/// An interned name. Two atoms are equal exactly when their texts are equal.
#[derive(Clone)]
pub struct Atom(Arc<str>);

fn interner() -> &'static Mutex<HashSet<Arc<str>>> {
    static INTERNER: OnceLock<Mutex<HashSet<Arc<str>>>> = OnceLock::new();
    INTERNER.get_or_init(Default::default)
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
        Atom(arc)
    }

    /// The text of the atom `name` if the program made one, without
    /// making one (a run-time string never grows the table): an object
    /// key made at run time with a field name's text shares the name's
    /// allocation (`object::shared_key`), so field sites' caches, which
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
}
