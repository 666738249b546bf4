//! Shared run-time keys (issue 15, "Shared run-time keys"): the key to
//! store for a field named by a run-time string ([`shared_key`]), the
//! program's field name's own text when there is one (found through the
//! atoms' filter, `Atom::may_be`, without the lock), and each thread's
//! table of the keys made last.

use super::atom::text_hash;
use super::{Atom, Key};

/// Run-time keys longer than this are never shared ([`shared_key`]).
const SHARED_KEY_MAX: usize = 64;

/// Slots of each thread's table of recent run-time keys ([`shared_key`]):
/// a power of two.
const SHARED_KEY_SLOTS: usize = 256;

/// After this many run-time keys in a row that are no field name's text
/// and missed the table, the next [`SKIP_RUN`] such keys are made without
/// it ([`shared_key`]).
const MISS_LIMIT: u32 = 32;
const SKIP_RUN: u32 = 1024;

/// Each thread's recent run-time keys ([`shared_key`]).
struct Recent {
    /// Direct-mapped by [`text_hash`].
    slots: Vec<Option<Key>>,
    /// Keys that are no name's text, missed in a row.
    misses: u32,
    /// Such keys still to make without the table.
    skip: u32,
}

thread_local! {
    static RECENT_KEYS: std::cell::RefCell<Recent> = std::cell::RefCell::new(Recent {
        slots: vec![None; SHARED_KEY_SLOTS],
        misses: 0,
        skip: 0,
    });
}

/// The key to store for a new field whose name is a run-time string `s`
/// (`SET_FIELD` with the key on the stack; issue 15, "Shared run-time
/// keys"): the text of the program's field name `s` when there is one
/// (`Atom::existing_text`), so that the object is found by address at a
/// `GET_FIELD s` site (its cache, the interpreter's and compiled code's,
/// compares the entry's key with the name's own text by address: a key
/// allocated anew per object missed every time), else a new key. A
/// small per-thread table of the keys made last (direct-mapped by a hash
/// of the text) answers a repeated key with one comparison of its bytes
/// and no allocation or lock; only texts of at most [`SHARED_KEY_MAX`]
/// bytes are kept. Which allocation a key shares is invisible to the
/// program (keys are immutable and compared by content).
///
/// Keys that are no name's text (most texts, proved by the atoms' filter,
/// [`Atom::may_be`], without the lock) never look in the atom table; and
/// when [`MISS_LIMIT`] of them in a row missed the table too (numbers
/// made strings, the words of a text: every key new), the next
/// [`SKIP_RUN`] are made directly, so a program of distinct keys pays a
/// hash and a counter per key, not a lookup that never hits.
pub fn shared_key(s: &str) -> Key {
    if s.len() > SHARED_KEY_MAX {
        return Key::from(s);
    }
    let h = text_hash(s);
    let name = Atom::may_be(h);
    let make = || {
        if name {
            Atom::existing_text(s).unwrap_or_else(|| Key::from(s))
        } else {
            Key::from(s)
        }
    };
    RECENT_KEYS
        .try_with(|t| {
            let mut t = t.borrow_mut();
            if !name && t.skip > 0 {
                t.skip -= 1;
                return Key::from(s);
            }
            let slot = (h ^ (h >> 16)) as usize & (SHARED_KEY_SLOTS - 1);
            if let Some(k) = &t.slots[slot] {
                if **k == *s {
                    let k = k.clone();
                    t.misses = 0;
                    return k;
                }
            }
            let k = make();
            if !name {
                t.misses += 1;
                if t.misses >= MISS_LIMIT {
                    t.misses = 0;
                    t.skip = SKIP_RUN;
                }
            }
            t.slots[slot] = Some(k.clone());
            k
        })
        .unwrap_or_else(|_| make())
}

#[cfg(test)]
mod shared_key_tests {
    use super::super::{FieldSite, Object, Value};
    use super::*;
    use std::sync::Arc;

    /// A run-time key with a field name's text shares the name's text (a
    /// site's cache finds it by address); other keys are their text, and
    /// the atom table does not grow.
    #[test]
    fn run_time_keys_share_a_field_names_text() {
        let a = Atom::new("shared_key_test_name");
        let before = Atom::interned();
        for _ in 0..3 {
            let k = shared_key("shared_key_test_name");
            assert!(Arc::ptr_eq(&k, &a.text()));
        }
        let k1 = shared_key("shared_key_not_an_atom");
        let k2 = shared_key("shared_key_not_an_atom");
        assert_eq!(&*k1, "shared_key_not_an_atom");
        assert_eq!(k1, k2);
        let long = "y".repeat(SHARED_KEY_MAX + 1);
        assert_eq!(&*shared_key(&long), long.as_str());
        assert_eq!(Atom::interned(), before);
        let mut o = Object::new();
        o.set_with(
            "shared_key_test_name",
            || shared_key("shared_key_test_name"),
            Value::Int(3),
        );
        let site = FieldSite::default();
        assert!(matches!(site.get(&o, &a), Some(Value::Int(3))));
        assert!(o.at_cached(0, a.as_str()).is_some());
    }

    /// Many distinct keys that are no name's text (the table skipped
    /// after a run of misses) keep their texts, and a name's text met
    /// meanwhile is still shared; repeated keys share again after.
    #[test]
    fn distinct_keys_skip_the_table_and_names_still_share() {
        let a = Atom::new("shared_key_skip_name");
        for i in 0..(3 * SKIP_RUN as usize) {
            let t = format!("{i}");
            assert_eq!(&*shared_key(&t), t.as_str());
            if i % 500 == 0 {
                assert!(Arc::ptr_eq(&shared_key("shared_key_skip_name"), &a.text()));
            }
        }
        let mut shared = 0;
        for _ in 0..(2 * SKIP_RUN as usize) {
            let k1 = shared_key("shared_key_repeated_run_time_text");
            let k2 = shared_key("shared_key_repeated_run_time_text");
            assert_eq!(&*k1, "shared_key_repeated_run_time_text");
            shared += Arc::ptr_eq(&k1, &k2) as usize;
        }
        assert!(shared > SKIP_RUN as usize, "{shared}");
    }
}
