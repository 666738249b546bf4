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
//! lookup collide.

use super::{Atom, Value};
use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::sync::Arc;

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
    index: Option<HashMap<Key, usize, RandomState>>,
    /// The number of live fields.
    live: usize,
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
        match &self.index {
            Some(ix) => ix.get(key).copied(),
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
    fn at_cached(&self, pos: usize, key: &str) -> Option<&Value> {
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
        if let Some(i) = self.find(key) {
            self.entries[i].1 = Some(value);
            return i;
        }
        let at = self.entries.len();
        let key = make();
        if let Some(ix) = &mut self.index {
            ix.insert(key.clone(), self.entries.len());
        }
        self.entries.push((key, Some(value)));
        self.live += 1;
        if self.index.is_none() && self.live > SMALL {
            let mut ix = HashMap::with_capacity_and_hasher(self.live, RandomState::new());
            for (i, (k, v)) in self.entries.iter().enumerate() {
                if v.is_some() {
                    ix.insert(k.clone(), i);
                }
            }
            self.index = Some(ix);
        }
        at
    }

    /// Remove a field, keeping the order of the others; the value it had.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let i = match &mut self.index {
            Some(ix) => ix.remove(key)?,
            None => self.find(key)?,
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

    /// Drop the holes and renumber the index.
    fn compact(&mut self) {
        self.entries.retain(|(_, v)| v.is_some());
        if let Some(ix) = &mut self.index {
            for (i, (k, _)) in self.entries.iter().enumerate() {
                if let Some(at) = ix.get_mut(&**k) {
                    *at = i;
                }
            }
        }
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

/// Run-time keys longer than this are never shared ([`shared_key`]).
const SHARED_KEY_MAX: usize = 64;

/// Slots of each thread's table of recent run-time keys ([`shared_key`]):
/// a power of two.
const SHARED_KEY_SLOTS: usize = 256;

thread_local! {
    static RECENT_KEYS: std::cell::RefCell<Vec<Option<Key>>> =
        std::cell::RefCell::new(vec![None; SHARED_KEY_SLOTS]);
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
pub fn shared_key(s: &str) -> Key {
    if s.len() > SHARED_KEY_MAX {
        return Key::from(s);
    }
    // FNV-1a over the bytes (keys are short).
    let mut h: u32 = 0x811c_9dc5;
    for &b in s.as_bytes() {
        h = (h ^ b as u32).wrapping_mul(0x0100_0193);
    }
    let slot = (h ^ (h >> 16)) as usize & (SHARED_KEY_SLOTS - 1);
    RECENT_KEYS
        .try_with(|t| {
            let mut t = t.borrow_mut();
            if let Some(k) = &t[slot] {
                if **k == *s {
                    return k.clone();
                }
            }
            let k = Atom::existing_text(s).unwrap_or_else(|| Key::from(s));
            t[slot] = Some(k.clone());
            k
        })
        .unwrap_or_else(|_| Atom::existing_text(s).unwrap_or_else(|| Key::from(s)))
}

/// A per-site inline cache of a field access with a name written in the
/// program (issue 15, item 1): the entry position where the field was
/// found last time. An object with the same fields in the same order (any
/// object built the same way: the common case of a record type) has the
/// field at the same position, so the access is one bounds check, one
/// comparison of the key's address and a load; any other object (another
/// order, holes, a hash index, a missing field) takes the general lookup
/// and the cache learns the new position. Never wrong, only slower: the
/// guard compares the entry's key with the name's own text.
///
/// The interpreter keeps one per `GET_FIELD`/`SET_FIELD` site (its
/// decoded code is shared by every scheduler: the word is an atomic,
/// read and written relaxed — any position is a valid guess).
///
/// The same word records the kinds of the values a read there has given
/// (issue 15, "Kinds of field reads"): bit `tag` of [`FieldSite::kinds`]
/// for each value tag seen (Null for a missing field). The JIT reads it
/// when it compiles the site: a site that has only given Floats (or only
/// Ints) becomes a guarded load of a known kind. A hint as well: a bit
/// lost to a race only makes the JIT speculate, and its guard checks.
#[derive(Debug, Default)]
pub struct FieldSite(std::sync::atomic::AtomicU32);

/// Bits of a [`FieldSite`]'s word that hold the position (the rest, from
/// bit `POS_BITS` up, one bit per value tag: tags are below 11).
const POS_BITS: u32 = 21;
const POS_MASK: u32 = (1 << POS_BITS) - 1;

/// The tag byte of a value (`Value` is `repr(C, u8)`).
#[inline]
fn tag_of(v: &Value) -> u8 {
    // SAFETY: a `repr(C, u8)` enum starts with its one-byte tag.
    unsafe { *(v as *const Value as *const u8) }
}

impl FieldSite {
    #[inline]
    fn word(&self) -> u32 {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }

    #[inline]
    fn pos(&self) -> usize {
        (self.word() & POS_MASK) as usize
    }

    #[inline]
    fn learn(&self, pos: usize) {
        // A position beyond the mask is only a guess that misses.
        let w = self.word();
        self.0.store(
            (w & !POS_MASK) | (pos.min(POS_MASK as usize) as u32),
            std::sync::atomic::Ordering::Relaxed,
        )
    }

    /// Record the kind bit `bit` (not in the word yet): the first read of
    /// a kind at this site.
    #[cold]
    #[inline(never)]
    fn note(&self, bit: u32) {
        self.0.fetch_or(bit, std::sync::atomic::Ordering::Relaxed);
    }

    /// The kinds of the values reads at this site have given: bit `t` set
    /// for each value tag `t` seen (`value::tag`; Null for a missing
    /// field).
    pub fn kinds(&self) -> u16 {
        (self.word() >> POS_BITS) as u16
    }

    /// `o`'s field `name` (a program's atom), through the cache, the
    /// value's kind recorded ([`FieldSite::read`] with `KINDS`).
    #[inline]
    pub fn get<'a>(&self, o: &'a Object, name: &Atom) -> Option<&'a Value> {
        self.read::<true>(o, name)
    }

    /// `o`'s field `name` (a program's atom), through the cache; with
    /// `KINDS` the kind of the value read is recorded for the JIT
    /// ([`FieldSite::kinds`]). Without a JIT nothing reads the kinds, so
    /// the interpreter chooses `KINDS = false` once per slice and its
    /// field reads pay nothing for them (a tag, a shift and a test each).
    #[inline]
    pub fn read<'a, const KINDS: bool>(&self, o: &'a Object, name: &Atom) -> Option<&'a Value> {
        let key = name.as_str();
        let w = self.word();
        if let Some(v) = o.at_cached((w & POS_MASK) as usize, key) {
            if KINDS {
                let bit = 1u32 << (POS_BITS + tag_of(v) as u32);
                if w & bit == 0 {
                    self.note(bit);
                }
            }
            return Some(v);
        }
        let v = o.find(key).and_then(|p| {
            self.learn(p);
            o.entries[p].1.as_ref()
        });
        if KINDS {
            let bit = 1u32 << (POS_BITS + v.map_or(super::tag::NULL, tag_of) as u32);
            if w & bit == 0 {
                self.note(bit);
            }
        }
        v
    }

    /// Set `o`'s field `name` to `v`: in place through the cache when the
    /// field exists at the cached position, else as [`Object::set`].
    #[inline]
    pub fn set(&self, o: &mut Object, name: &Atom, v: Value) {
        let key = name.as_str();
        let p = self.pos();
        if let Some(place) = o.at_cached_mut(p, key) {
            let old = std::mem::replace(place, v);
            drop(old);
            return;
        }
        self.learn(o.set(name, v));
    }

    /// The place of `o`'s field `name` when the site's cached position
    /// holds it (the interpreter's in-place `SET_FIELD` writes the new
    /// value there itself); `None`: use [`FieldSite::set`].
    #[inline]
    pub fn cached_mut<'a>(&self, o: &'a mut Object, name: &Atom) -> Option<&'a mut Value> {
        o.at_cached_mut(self.pos(), name.as_str())
    }

    /// Whether `o` has the field `name` (through the cache).
    #[inline]
    pub fn has(&self, o: &Object, name: &Atom) -> bool {
        self.get(o, name).is_some()
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
mod site_tests {
    use super::*;

    /// A site's cache follows objects of other field orders, holes and
    /// hash indexes, and never answers with another field.
    #[test]
    fn a_site_answers_like_a_lookup_whatever_the_object() {
        let names: Vec<Atom> = (0..12).map(|i| Atom::new(&format!("site_f{i}"))).collect();
        let site = FieldSite::default();
        let put = FieldSite::default();
        let mut objs = Vec::new();
        for (n, rot) in [(3usize, 0usize), (3, 1), (7, 2), (12, 5), (9, 0)] {
            let mut o = Object::new();
            for k in 0..n {
                let a = &names[(k + rot) % n];
                o.set(a, Value::Int(((k + rot) % n) as i64));
            }
            objs.push(o);
        }
        objs[2].remove("site_f1");
        for round in 0..3 {
            for o in objs.iter_mut() {
                for (i, a) in names.iter().enumerate() {
                    let want = o.get(a.as_str()).map(|v| match v {
                        Value::Int(x) => *x,
                        _ => unreachable!(),
                    });
                    let got = site.get(o, a).map(|v| match v {
                        Value::Int(x) => *x,
                        _ => unreachable!(),
                    });
                    assert_eq!(got, want, "round {round} field {i}");
                    assert_eq!(site.has(o, a), want.is_some());
                    if round == 1 && want.is_some() {
                        put.set(o, a, Value::Int(100 + i as i64));
                        assert!(
                            matches!(o.get(a.as_str()), Some(Value::Int(x)) if *x == 100 + i as i64)
                        );
                    }
                }
            }
        }
        // A run-time key with the same text is the same field.
        let mut o = Object::new();
        o.set_with("site_f0", || Key::from("site_f0"), Value::Int(1));
        assert!(matches!(site.get(&o, &names[0]), Some(Value::Int(1))));
        put.set(&mut o, &names[0], Value::Int(2));
        assert_eq!(o.len(), 1);
        assert!(matches!(o.get("site_f0"), Some(Value::Int(2))));
    }

    /// Kinds are recorded by `read::<true>` (and `get`) only; both read
    /// the same values and teach the cache the same positions.
    #[test]
    fn kinds_only_when_asked() {
        use super::super::tag::{FLOAT, INT, NULL};
        let (a, b, c) = (
            Atom::new("kind_a"),
            Atom::new("kind_b"),
            Atom::new("kind_c"),
        );
        let mut o = Object::new();
        o.set(&a, Value::Int(1));
        o.set(&b, Value::Float(2.0));
        let site = FieldSite::default();
        assert!(matches!(site.read::<false>(&o, &b), Some(Value::Float(_))));
        assert!(matches!(site.read::<false>(&o, &b), Some(Value::Float(_))));
        assert!(site.read::<false>(&o, &c).is_none());
        assert_eq!(site.kinds(), 0);
        assert!(matches!(site.read::<true>(&o, &a), Some(Value::Int(1))));
        assert_eq!(site.kinds(), 1 << INT);
        assert!(matches!(site.get(&o, &b), Some(Value::Float(_))));
        assert_eq!(site.kinds(), (1 << INT) | (1 << FLOAT));
        assert!(site.read::<true>(&o, &c).is_none());
        assert_eq!(site.kinds(), (1 << INT) | (1 << FLOAT) | (1 << NULL));
    }
}

#[cfg(test)]
mod shared_key_tests {
    use super::*;

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
}
