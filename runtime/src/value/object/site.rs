//! Field sites: the per-site inline cache of a field access with a name
//! written in the program ([`FieldSite`], issue 15, item 1), and the kinds
//! of the values read there.

use super::{Atom, Object, Value};

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
            let bit = 1u32 << (POS_BITS + v.map_or(super::super::tag::NULL, tag_of) as u32);
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
mod site_tests {
    use super::super::Key;
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
        use crate::value::tag::{FLOAT, INT, NULL};
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
