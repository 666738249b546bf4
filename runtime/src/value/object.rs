//! Objects: maps from string keys to values, in insertion order.
//!
//! Keys are compared by content (`Arc<str>`), not interned: a key made at
//! run time (`GET_FIELD` with no operand, a JSON document's keys) must not
//! grow the global atom table, which never shrinks. A field name written
//! in the program is an [`Atom`], whose text is shared with the key (no
//! copy of the text per object).
//!
//! Layout: the entries in insertion order (`Vec`), and, once an object has
//! more than [`SMALL`] fields, a hash index from key to entry position. A
//! small object (n-body's bodies, a tree node) is found by scanning its few
//! entries — the key's length, then its address (a field named in the
//! program shares the atom's text), then its bytes — which costs less than
//! hashing the key, and copying a small object (`SET_FIELD` on a shared
//! one) copies one `Vec`, not a hash table too (issue 15, item 4).
//! Deleting a field leaves a hole in the entries
//! (its value is `None`) instead of shifting the later ones, so get, set
//! and delete are O(1) on average however many fields there are; when the
//! holes outnumber the live fields the entries are compacted (O(n), at
//! most once per n deletions: amortised O(1); a small object without an
//! index compacts at [`SMALL`] holes, so a scan stays short). `live` counts
//! the fields.
//!
//! The index hashes with the standard library's `RandomState` (SipHash,
//! a random key per process): keys can come from untrusted input (JSON,
//! messages), and a fixed fast hash would let such input make every
//! lookup collide. It holds each live field's hash beside its position
//! (a `hashbrown::HashTable`, no copy of the key): a key is hashed once
//! per operation (a new field's lookup and insertion share the hash),
//! the table grows without hashing any key again, and a candidate is
//! compared by its hash before its text.

use super::{Atom, Str, Value};
use hashbrown::HashTable;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::Arc;

mod site;
pub use site::FieldSite;

/// A field key.
pub type Key = Arc<str>;

/// Byte offsets for compiled code's field reads ([`Object::layout`]):
/// from the address a `Value::Object`'s payload holds, of the pointer to
/// the entries and of their number; the size of an entry, and, within
/// one, the offsets of its key (an `Arc<str>`: two words, equal for the
/// same `Arc`) and its value (an `Option<Value>`: `None`, a hole, has the
/// tag byte no value has).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ObjectLayout {
    pub entries: i32,
    pub len: i32,
    pub entry_size: i32,
    pub key: i32,
    pub value: i32,
}

/// Holes below this are never compacted away (small objects stay cheap).
const MIN_COMPACT: usize = 16;

/// Objects of at most this many fields have no hash index (module
/// comment); the index is built when a field more is set.
pub const SMALL: usize = 8;

/// An object's fields, in insertion order. `Debug` is bounded (see
/// `display.rs`).
#[derive(Clone, Default)]
pub struct Object {
    /// In insertion order; `None` marks a deleted field (a hole).
    entries: Vec<(Key, Option<Value>)>,
    /// Key → position in `entries`, for the live fields only; `None` until
    /// the object has more than [`SMALL`] fields.
    index: Option<HashTable<Slot>>,
    /// The number of live fields.
    live: usize,
}

/// An index entry: a live field's key hash ([`key_hash`]) and position.
#[derive(Clone, Copy)]
struct Slot {
    hash: u64,
    pos: usize,
}

/// The hash of a key in an object's index: SipHash with a random key,
/// one per process (made at the first index); never 0 (a string keeps
/// its own, `Str::key_hash`, with 0 for "not yet").
#[inline]
pub(super) fn key_hash(key: &str) -> u64 {
    static STATE: std::sync::OnceLock<RandomState> = std::sync::OnceLock::new();
    STATE.get_or_init(RandomState::new).hash_one(key).max(1)
}

/// The index entry of `key` (hash `h`) among `entries`.
#[inline]
fn matches<'a>(
    entries: &'a [(Key, Option<Value>)],
    h: u64,
    key: &'a str,
) -> impl Fn(&Slot) -> bool + 'a {
    move |s: &Slot| s.hash == h && *entries[s.pos].0 == *key
}

impl Object {
    pub fn new() -> Object {
        Object::default()
    }

    /// The object behind `o` to change in place when `o` is its only
    /// reference, found with a plain load of the strong count (what
    /// compiled code's field stores test) instead of `Arc::get_mut`'s or
    /// `Arc::make_mut`'s locked compare-and-swap; `None` when it is
    /// shared (copy it: `Arc::make_mut`).
    ///
    /// Sound because no `Weak` of an object is ever made (nothing in the
    /// project downgrades an `Arc<Object>`): a strong count of 1 is the
    /// only way to reach the object, and `o` is borrowed mutably. The
    /// acquire fence orders this use after every other holder's (their
    /// drops released the count).
    #[inline]
    pub fn unique_mut(o: &mut Arc<Object>) -> Option<&mut Object> {
        if Arc::strong_count(o) == 1 {
            std::sync::atomic::fence(std::sync::atomic::Ordering::Acquire);
            // SAFETY: the only reference (above), borrowed mutably for
            // the result's lifetime; the pointer is the `Arc`'s own.
            Some(unsafe { &mut *(Arc::as_ptr(o) as *mut Object) })
        } else {
            None
        }
    }

    /// The position of the live field `key` among the entries. A small
    /// object is scanned once: an entry of the key's length matches by
    /// the text's address (a field named in the program), else its last
    /// byte is compared before its bytes (fields of equal length such as
    /// `vx`/`vy`/`vz` differ there, so passing over them calls no
    /// `memcmp`).
    #[inline]
    fn find(&self, key: &str) -> Option<usize> {
        self.find_h(key, || key_hash(key))
    }

    /// [`Object::find`], with `hash` giving the key's hash ([`key_hash`])
    /// if the object has an index.
    #[inline]
    fn find_h(&self, key: &str, hash: impl FnOnce() -> u64) -> Option<usize> {
        match &self.index {
            Some(ix) => {
                let h = hash();
                ix.find(h, matches(&self.entries, h, key)).map(|s| s.pos)
            }
            None => {
                let kb = key.as_bytes();
                let last = kb.last();
                self.entries.iter().position(|(k, v)| {
                    let b = k.as_bytes();
                    b.len() == kb.len()
                        && (std::ptr::eq(b.as_ptr(), kb.as_ptr()) || (b.last() == last && b == kb))
                        && v.is_some()
                })
            }
        }
    }

    /// The live field at entry `pos` when its key is `key`'s very text
    /// (by address: a site's cached position, see [`FieldSite`]).
    #[inline]
    pub(super) fn at_cached(&self, pos: usize, key: &str) -> Option<&Value> {
        match self.entries.get(pos) {
            Some((k, Some(v)))
                if std::ptr::eq(k.as_ptr(), key.as_ptr()) && k.len() == key.len() =>
            {
                Some(v)
            }
            _ => None,
        }
    }

    /// As [`Object::at_cached`], to change the value in place.
    #[inline]
    fn at_cached_mut(&mut self, pos: usize, key: &str) -> Option<&mut Value> {
        match self.entries.get_mut(pos) {
            Some((k, Some(v)))
                if std::ptr::eq(k.as_ptr(), key.as_ptr()) && k.len() == key.len() =>
            {
                Some(v)
            }
            _ => None,
        }
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        let i = self.find(key)?;
        self.entries[i].1.as_ref()
    }

    /// [`Object::get`] of a run-time key (its hash kept in the string).
    pub fn get_str(&self, key: &Str) -> Option<&Value> {
        let i = self.find_h(key, || key.key_hash())?;
        self.entries[i].1.as_ref()
    }

    /// [`Object::contains`] of a run-time key.
    pub fn contains_str(&self, key: &Str) -> bool {
        self.find_h(key, || key.key_hash()).is_some()
    }

    /// The position of a live field among the entries (what compiled
    /// code's per-site cache of a field read holds, see [`ObjectLayout`]).
    pub fn position(&self, key: &str) -> Option<usize> {
        self.find(key)
    }

    /// Where compiled code finds an object's entries (issue 15: a field
    /// read at a site whose cache names the entry's position is a guarded
    /// load). Measured once on an object made for the purpose: Rust fixes
    /// neither `Arc`'s nor `Vec`'s field order.
    pub fn layout() -> ObjectLayout {
        static LAYOUT: std::sync::OnceLock<ObjectLayout> = std::sync::OnceLock::new();
        *LAYOUT.get_or_init(|| {
            // 13 entries, 2 of them holes: the index holds 11, so the
            // entries' length (13) is the only word of 13 in the `Vec`.
            let mut o = Object::new();
            let names: Vec<String> = (0..13).map(|i| format!("f{i}")).collect();
            for n in &names {
                o.set_with(n, || Key::from(n.as_str()), Value::Null);
            }
            o.remove("f3");
            o.remove("f5");
            let n = o.entries.len();
            let elems = o.entries.as_ptr() as usize;
            let v = Value::Object(Arc::new(o));
            let Value::Object(arc) = &v else {
                unreachable!()
            };
            // SAFETY: `Value` is 16 bytes, `repr(C, u8)`: the payload word
            // (the `Arc`'s pointer) is at offset 8.
            let base = unsafe { *((&v as *const Value as *const usize).add(1)) };
            let vec_at = Arc::as_ptr(arc) as usize + std::mem::offset_of!(Object, entries) - base;
            let mut found = (None, None);
            for off in (vec_at..vec_at + 24).step_by(8) {
                // SAFETY: the three words of the `Vec` inside the allocation.
                let word = unsafe { *((base + off) as *const usize) };
                if word == elems {
                    found.0 = Some(off as i32);
                } else if word == n {
                    found.1 = Some(off as i32);
                }
            }
            let (Some(entries), Some(len)) = found else {
                unreachable!("a Vec holds its pointer and length")
            };
            type Entry = (Key, Option<Value>);
            ObjectLayout {
                entries,
                len,
                entry_size: std::mem::size_of::<Entry>() as i32,
                key: std::mem::offset_of!(Entry, 0) as i32,
                value: std::mem::offset_of!(Entry, 1) as i32,
            }
        })
    }

    pub fn contains(&self, key: &str) -> bool {
        self.find(key).is_some()
    }

    /// Set a field named by a program's atom (its text is shared); the
    /// field's entry position.
    pub fn set(&mut self, name: &Atom, value: Value) -> usize {
        self.set_with(name.as_str(), || name.text(), value)
    }

    /// Set a field; an existing field keeps its position, a new one goes
    /// last. `key` is made (allocated) only for a new field. The field's
    /// entry position (what a site's cache learns).
    pub fn set_with(&mut self, key: &str, make: impl FnOnce() -> Key, value: Value) -> usize {
        self.set_with_h(key, || key_hash(key), make, value)
    }

    /// [`Object::set_with`] of a run-time key (its hash kept in the
    /// string).
    pub fn set_with_str(&mut self, key: &Str, make: impl FnOnce() -> Key, value: Value) -> usize {
        self.set_with_h(key, || key.key_hash(), make, value)
    }

    fn set_with_h(
        &mut self,
        key: &str,
        hash: impl FnOnce() -> u64,
        make: impl FnOnce() -> Key,
        value: Value,
    ) -> usize {
        let at = self.entries.len();
        match &mut self.index {
            Some(ix) => {
                // One hash for the lookup and the insertion.
                let h = hash();
                if let Some(s) = ix.find(h, matches(&self.entries, h, key)) {
                    let i = s.pos;
                    self.entries[i].1 = Some(value);
                    return i;
                }
                ix.insert_unique(h, Slot { hash: h, pos: at }, |s| s.hash);
            }
            None => {
                if let Some(i) = self.find(key) {
                    self.entries[i].1 = Some(value);
                    return i;
                }
            }
        }
        self.entries.push((make(), Some(value)));
        self.live += 1;
        if self.index.is_none() && self.live > SMALL {
            let mut ix = HashTable::with_capacity(2 * self.live);
            for (i, (k, v)) in self.entries.iter().enumerate() {
                if v.is_some() {
                    let h = key_hash(k);
                    ix.insert_unique(h, Slot { hash: h, pos: i }, |s| s.hash);
                }
            }
            self.index = Some(ix);
        }
        at
    }

    /// Remove a field, keeping the order of the others; the value it had.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        self.remove_h(key, || key_hash(key))
    }

    /// [`Object::remove`] of a run-time key (its hash kept in the string).
    pub fn remove_str(&mut self, key: &Str) -> Option<Value> {
        self.remove_h(key, || key.key_hash())
    }

    fn remove_h(&mut self, key: &str, hash: impl FnOnce() -> u64) -> Option<Value> {
        let i = match &mut self.index {
            Some(ix) => {
                let h = hash();
                let found = ix.find_entry(h, matches(&self.entries, h, key)).ok()?;
                found.remove().0.pos
            }
            None => self.find_h(key, || 0)?,
        };
        let old = self.entries[i].1.take();
        self.live -= 1;
        let holes = self.entries.len() - self.live;
        let compact = match self.index {
            Some(_) => holes >= MIN_COMPACT && holes > self.live,
            None => holes >= SMALL,
        };
        if self.live == 0 {
            self.entries.clear();
        } else if compact {
            self.compact();
        }
        old
    }

    /// Drop the holes and renumber the index (no key hashed again).
    fn compact(&mut self) {
        if let Some(ix) = &mut self.index {
            // Each old position's new one (holes are not in the index).
            let mut to = Vec::with_capacity(self.entries.len());
            let mut n = 0;
            for (_, v) in &self.entries {
                to.push(n);
                n += v.is_some() as usize;
            }
            for s in ix.iter_mut() {
                s.pos = to[s.pos];
            }
        }
        self.entries.retain(|(_, v)| v.is_some());
    }

    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Remove every field, returning the values.
    pub fn take_values(&mut self) -> Vec<Value> {
        self.index = None;
        self.live = 0;
        self.entries.drain(..).filter_map(|(_, v)| v).collect()
    }

    /// The first field at or after entry position `pos`, and the position
    /// after it (a cursor over the fields in insertion order, O(1)
    /// amortised per field).
    pub fn next_from(&self, pos: usize) -> Option<(usize, &str, &Value)> {
        self.entries[pos.min(self.entries.len())..]
            .iter()
            .enumerate()
            .find_map(|(k, (key, v))| v.as_ref().map(|v| (pos + k + 1, &**key, v)))
    }

    /// The fields in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.entries
            .iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| (&**k, v)))
    }

    /// The keys in insertion order, shared.
    pub fn keys(&self) -> impl Iterator<Item = &Key> {
        self.entries
            .iter()
            .filter_map(|(k, v)| v.as_ref().map(|_| k))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> Key {
        Arc::from(s)
    }

    fn set(o: &mut Object, k: &str, v: i64) {
        o.set_with(k, || key(k), Value::Int(v));
    }

    fn keys(o: &Object) -> Vec<String> {
        o.iter().map(|(k, _)| k.to_string()).collect()
    }

    #[test]
    fn order_is_insertion_order_across_deletes() {
        let mut o = Object::new();
        for (i, k) in ["a", "b", "c", "d"].iter().enumerate() {
            set(&mut o, k, i as i64);
        }
        assert!(o.remove("b").is_some());
        assert!(o.remove("b").is_none());
        set(&mut o, "a", 9);
        set(&mut o, "b", 7);
        assert_eq!(keys(&o), ["a", "c", "d", "b"]);
        assert_eq!(o.len(), 4);
        assert!(matches!(o.get("a"), Some(Value::Int(9))));
        assert!(o.get("zz").is_none());
        let mut pos = 0;
        let mut seen = Vec::new();
        while let Some((next, k, _)) = o.next_from(pos) {
            seen.push(k.to_string());
            pos = next;
        }
        assert_eq!(seen, keys(&o));
    }

    #[test]
    fn many_deletes_compact_and_keep_lookups_right() {
        let mut o = Object::new();
        for i in 0..1000 {
            set(&mut o, &i.to_string(), i);
        }
        for i in (0..1000).filter(|i| i % 3 != 0) {
            assert!(o.remove(&i.to_string()).is_some());
        }
        assert!(o.entries.len() < 2 * o.len() + MIN_COMPACT);
        assert_eq!(o.len(), 334);
        for i in 0..1000 {
            assert_eq!(o.contains(&i.to_string()), i % 3 == 0, "{i}");
        }
        let ks: Vec<i64> = o.iter().map(|(k, _)| k.parse().unwrap()).collect();
        assert!(ks.windows(2).all(|w| w[0] < w[1]));
        for i in 0..1000 {
            o.remove(&i.to_string());
        }
        assert!(o.is_empty());
        assert!(o.entries.is_empty());
    }

    #[test]
    fn atom_keys_share_the_atom_text() {
        let a = Atom::new("shared_key_name");
        let mut o = Object::new();
        o.set(&a, Value::Int(1));
        let k = o.keys().next().unwrap().clone();
        assert!(Arc::ptr_eq(&k, &a.text()));
    }
}

#[cfg(test)]
mod layout_tests {
    use super::*;

    #[test]
    fn object_layout_finds_a_field_by_position() {
        let l = Object::layout();
        let name = Atom::new("size");
        let mut o = Object::new();
        o.set(&Atom::new("a"), Value::Int(1));
        o.set(&name, Value::Int(42));
        let pos = o.position("size").expect("a field");
        let v = Value::Object(Arc::new(o));
        // SAFETY: as in `Object::layout`.
        unsafe {
            let base = *((&v as *const Value as *const usize).add(1));
            assert_eq!(*((base + l.len as usize) as *const usize), 2);
            let entries = *((base + l.entries as usize) as *const usize);
            let e = entries + pos * l.entry_size as usize;
            let key = *((e + l.key as usize) as *const [usize; 2]);
            assert_eq!(
                key,
                std::mem::transmute_copy::<Arc<str>, [usize; 2]>(&name.text())
            );
            assert!(matches!(
                &*((e + l.value as usize) as *const Value),
                Value::Int(42)
            ));
        }
    }
}

#[cfg(test)]
mod small_tests {
    use super::*;

    /// Small objects (no index) and their change to indexed ones agree
    /// with a plain model on every step: gets, order, lengths.
    #[test]
    fn small_and_indexed_objects_agree_with_a_model() {
        let mut o = Object::new();
        let mut model: Vec<(String, i64)> = Vec::new();
        let mut x: u64 = 7;
        for step in 0..5000i64 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let k = format!("k{}", (x >> 33) % 14);
            if (x >> 20) % 3 == 0 {
                let had = model.iter().position(|(m, _)| *m == k);
                let got = o.remove(&k);
                assert_eq!(got.is_some(), had.is_some());
                if let Some(p) = had {
                    model.remove(p);
                }
            } else {
                o.set_with(&k, || Arc::from(k.as_str()), Value::Int(step));
                match model.iter_mut().find(|(m, _)| *m == k) {
                    Some(e) => e.1 = step,
                    None => model.push((k, step)),
                }
            }
            assert_eq!(o.len(), model.len());
            let seen: Vec<(String, i64)> = o
                .iter()
                .map(|(k, v)| match v {
                    Value::Int(i) => (k.to_string(), *i),
                    _ => unreachable!(),
                })
                .collect();
            assert_eq!(seen, model);
            for (k, v) in &model {
                assert!(matches!(o.get(k), Some(Value::Int(i)) if i == v));
                assert_eq!(
                    o.position(k).map(|p| o.entries[p].0.to_string()),
                    Some(k.clone())
                );
            }
            assert!(o.entries.len() <= o.len() + MIN_COMPACT.max(SMALL) + 1);
        }
    }
}

#[cfg(test)]
mod index_tests {
    use super::super::shared_key;
    use super::*;

    /// Objects with an index agree with a model through sets, removes
    /// (with compactions) and copies, keys made at run time or shared.
    #[test]
    fn indexed_objects_agree_with_a_model() {
        let mut o = Object::new();
        let mut model = std::collections::BTreeMap::new();
        let mut x: u64 = 11;
        for step in 0..20_000i64 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let k = format!("{}", (x >> 33) % 300);
            if (x >> 20) % 4 == 0 {
                assert_eq!(o.remove(&k).is_some(), model.remove(&k).is_some());
            } else {
                o.set_with(&k, || shared_key(&k), Value::Int(step));
                model.insert(k, step);
            }
            if step % 997 == 0 {
                let copy = o.clone();
                o = copy;
            }
            assert_eq!(o.len(), model.len());
        }
        for i in 0..300 {
            let k = i.to_string();
            let got = o.get(&k).map(|v| match v {
                Value::Int(n) => *n,
                _ => unreachable!(),
            });
            assert_eq!(got, model.get(&k).copied(), "{k}");
            if let Some(p) = o.position(&k) {
                assert_eq!(&*o.entries[p].0, k.as_str());
            }
        }
    }
}
