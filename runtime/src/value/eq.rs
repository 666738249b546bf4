//! Structural equality (SPEC §3.3 `EQ`) and ordering (`LT` and friends).

use super::Value;
use rustc_hash::FxHashSet;
use std::cmp::Ordering;
use std::sync::Arc;

/// Shared container pairs compared before [`Value::equals`] starts
/// remembering which pairs it has seen (most comparisons end long before).
const REMEMBER_AFTER: usize = 256;

/// The pairs of containers (by address) an equality check has opened, so
/// that a pair met again (a value that shares a part with itself) is not
/// compared again: the answer is the conjunction of every pair's, so one
/// visit of each pair decides it.
///
/// Only pairs with a shared side are remembered: a pair is met twice only
/// if one of its sides, or of an enclosing pair's, is held by two
/// containers (or twice by one), so its reference count is at least 2.
/// Remembering those pairs keeps every other pair from being met twice
/// too, and unshared trees are compared without hashing.
struct Seen {
    opened: usize,
    pairs: Option<FxHashSet<(usize, usize)>>,
}

impl Seen {
    /// Whether the pair `(a, b)` is opened for the first time (compare its
    /// elements) rather than met again (its elements are compared already,
    /// or on the work list). The first [`REMEMBER_AFTER`] shared pairs are
    /// not remembered, so each pair is opened at most twice.
    #[inline]
    fn first<T: Counted>(&mut self, a: &T, b: &T) -> bool {
        if a.refs() == 1 && b.refs() == 1 {
            return true;
        }
        self.opened += 1;
        if self.opened <= REMEMBER_AFTER {
            return true;
        }
        let key = (a.addr(), b.addr());
        self.pairs
            .get_or_insert_with(FxHashSet::default)
            .insert(key)
    }
}

/// A counted heap part: its number of references and its address.
trait Counted {
    fn refs(&self) -> usize;
    fn addr(&self) -> usize;
}

impl<T> Counted for Arc<T> {
    fn refs(&self) -> usize {
        Arc::strong_count(self)
    }
    fn addr(&self) -> usize {
        Arc::as_ptr(self) as usize
    }
}

impl Counted for super::List {
    fn refs(&self) -> usize {
        self.strong_count()
    }
    fn addr(&self) -> usize {
        self.as_ptr() as usize
    }
}

impl Value {
    /// `EQ`: structural equality. Int and Float compare numerically (also
    /// inside lists); floats exactly (NaN ≠ NaN); other different types are
    /// never equal; objects are equal when they have the same fields with
    /// equal values, in any order.
    ///
    /// Iterative (one work list of pairs), so values nested millions of
    /// levels deep compare without deep native recursion; each pair of
    /// containers is compared once (see [`Seen`]), so values that share
    /// parts with themselves (2^40 leaves in 41 lists) compare in time
    /// proportional to their distinct parts, not their leaves.
    pub fn equals(&self, other: &Value) -> bool {
        // The first pair is not put on the work list: comparing two
        // numbers or strings then allocates nothing (the list's allocation
        // cost more than such a comparison).
        let mut work: Vec<(&Value, &Value)> = Vec::new();
        let mut first = Some((self, other));
        let mut seen = Seen {
            opened: 0,
            pairs: None,
        };
        while let Some((a, b)) = first.take().or_else(|| work.pop()) {
            let same = match (a, b) {
                (Value::Null, Value::Null) => true,
                (Value::Bool(a), Value::Bool(b)) => a == b,
                (Value::Int(a), Value::Int(b)) => a == b,
                (Value::Float(a), Value::Float(b)) => a == b,
                (Value::Int(a), Value::Float(b)) | (Value::Float(b), Value::Int(a)) => {
                    int_float_eq(*a, *b)
                }
                (Value::Str(a), Value::Str(b)) => Arc::ptr_eq(a, b) || a == b,
                (Value::List(a), Value::List(b)) => {
                    if !super::List::ptr_eq(a, b) {
                        if a.len() != b.len() {
                            return false;
                        }
                        if seen.first(a, b) {
                            work.extend(a.iter().zip(b.iter()));
                        }
                    }
                    true
                }
                (Value::Object(a), Value::Object(b)) => {
                    if !Arc::ptr_eq(a, b) {
                        if a.len() != b.len() {
                            return false;
                        }
                        if !seen.first(a, b) {
                            continue;
                        }
                        for (k, v) in a.iter() {
                            match b.get(k) {
                                Some(w) => work.push((v, w)),
                                None => return false,
                            }
                        }
                    }
                    true
                }
                (Value::Function(a), Value::Function(b)) => {
                    Arc::ptr_eq(a, b) || (a.entry == b.entry && a.params == b.params)
                }
                (Value::Closure(a), Value::Closure(b)) => {
                    if !Arc::ptr_eq(a, b) {
                        if a.proto.entry != b.proto.entry
                            || a.proto.params != b.proto.params
                            || a.captured.len() != b.captured.len()
                        {
                            return false;
                        }
                        if !seen.first(a, b) {
                            continue;
                        }
                        for ((n, v), (m, w)) in a.captured.iter().zip(b.captured.iter()) {
                            if n != m {
                                return false;
                            }
                            work.push((v, w));
                        }
                    }
                    true
                }
                (Value::Handle(a), Value::Handle(b)) => a.same(b),
                (Value::Exception(a), Value::Exception(b)) => {
                    if !Arc::ptr_eq(a, b) {
                        if a.message != b.message {
                            return false;
                        }
                        if seen.first(a, b) {
                            work.push((&a.value, &b.value));
                        }
                    }
                    true
                }
                _ => false,
            };
            if !same {
                return false;
            }
        }
        true
    }

    /// Selective-receive matching (SPEC §4.4), `self` being the pattern:
    /// equal (`EQ`), except that Null in the pattern matches anything, a
    /// List pattern matches a list of its length element by element (the
    /// same list matches itself), and an Object pattern matches an Object
    /// having each of its fields with a matching value.
    ///
    /// Iterative and comparing each pair of shared containers once, like
    /// [`Value::equals`], so neither depth nor self-sharing makes it
    /// recurse deeply or take exponential time.
    pub fn matches_pattern(&self, msg: &Value) -> bool {
        let mut work: Vec<(&Value, &Value)> = vec![(self, msg)];
        let mut seen = Seen {
            opened: 0,
            pairs: None,
        };
        while let Some((p, m)) = work.pop() {
            match (p, m) {
                (Value::Null, _) => {}
                (Value::List(p), Value::List(m)) => {
                    if super::List::ptr_eq(p, m) {
                        continue;
                    }
                    if p.len() != m.len() {
                        return false;
                    }
                    if seen.first(p, m) {
                        work.extend(p.iter().zip(m.iter()));
                    }
                }
                (Value::Object(p), Value::Object(m)) => {
                    if !seen.first(p, m) {
                        continue;
                    }
                    for (k, pv) in p.iter() {
                        match m.get(k) {
                            Some(mv) => work.push((pv, mv)),
                            None => return false,
                        }
                    }
                }
                _ => {
                    if !p.equals(m) {
                        return false;
                    }
                }
            }
        }
        true
    }

    /// `LT`/`GT`/…: numbers (mixed allowed) or two strings. `None` when the
    /// pair cannot be ordered by type; NaN compares false with everything,
    /// reported as `Some(None)`.
    pub fn compare(&self, other: &Value) -> Option<Option<Ordering>> {
        match (self, other) {
            (Value::Int(a), Value::Int(b)) => Some(Some(a.cmp(b))),
            (Value::Float(a), Value::Float(b)) => Some(a.partial_cmp(b)),
            (Value::Int(a), Value::Float(b)) => Some(int_float_cmp(*a, *b)),
            (Value::Float(a), Value::Int(b)) => Some(int_float_cmp(*b, *a).map(Ordering::reverse)),
            (Value::Str(a), Value::Str(b)) => Some(Some(a.as_str().cmp(b.as_str()))),
            _ => None,
        }
    }
}

/// Exact comparison of an i64 with an f64 (no rounding of large ints).
fn int_float_cmp(a: i64, b: f64) -> Option<Ordering> {
    if b.is_nan() {
        return None;
    }
    // Every i64 lies in [-2^63, 2^63); floats outside compare by sign.
    if b >= 9_223_372_036_854_775_808.0 {
        return Some(Ordering::Less);
    }
    if b < -9_223_372_036_854_775_808.0 {
        return Some(Ordering::Greater);
    }
    let t = b.trunc();
    let ti = t as i64; // exact: t is integral and in range
    match a.cmp(&ti) {
        Ordering::Equal => {
            if b > t {
                Some(Ordering::Less)
            } else if b < t {
                Some(Ordering::Greater)
            } else {
                Some(Ordering::Equal)
            }
        }
        other => Some(other),
    }
}

fn int_float_eq(a: i64, b: f64) -> bool {
    int_float_cmp(a, b) == Some(Ordering::Equal)
}

#[cfg(test)]
mod tests {
    use super::super::{Atom, Object};
    use super::*;

    #[test]
    fn numbers_compare_across_int_and_float() {
        assert!(Value::Int(1).equals(&Value::Float(1.0)));
        assert!(!Value::Float(f64::NAN).equals(&Value::Float(f64::NAN)));
        assert!(!Value::Bool(true).equals(&Value::Int(1)));
        assert!(Value::list(vec![Value::Int(1)]).equals(&Value::list(vec![Value::Float(1.0)])));
        assert!(!Value::Int(i64::MAX).equals(&Value::Float(i64::MAX as f64)));
        assert_eq!(
            Value::Int(2).compare(&Value::Float(2.5)),
            Some(Some(Ordering::Less))
        );
        assert_eq!(Value::Int(2).compare(&Value::Float(f64::NAN)), Some(None));
        assert_eq!(Value::Int(2).compare(&Value::str("x")), None);
        assert_eq!(
            Value::str("abc").compare(&Value::str("abd")),
            Some(Some(Ordering::Less))
        );
    }

    #[test]
    fn deep_values_compare_without_recursion() {
        let (mut a, mut b) = (Value::Int(1), Value::Float(1.0));
        for _ in 0..1_000_000 {
            a = Value::list(vec![a]);
            b = Value::list(vec![b]);
        }
        assert!(a.equals(&b));
        assert!(!a.equals(&Value::list(vec![Value::Int(1)])));
    }

    /// `l = [l, l]`, `n` times over `[leaf]`: 2^n leaves in n + 1 lists.
    fn dag(n: u32, leaf: Value) -> Value {
        let mut l = Value::list(vec![leaf]);
        for _ in 0..n {
            l = Value::list(vec![l.clone(), l]);
        }
        l
    }

    /// Two separately built values that share parts with themselves:
    /// 2^60 leaf pairs, compared by their 61 distinct pairs of lists.
    #[test]
    fn self_sharing_values_compare_by_their_distinct_parts() {
        assert!(dag(60, Value::Int(1)).equals(&dag(60, Value::Float(1.0))));
        assert!(!dag(60, Value::Int(1)).equals(&dag(60, Value::Int(2))));
        assert!(!dag(60, Value::Int(1)).equals(&dag(59, Value::Int(1))));
        // Objects, closures' captures and exceptions' values the same way.
        let obj = |v: Value| {
            let mut o = Object::new();
            o.set(&Atom::new("a"), v.clone());
            o.set(&Atom::new("b"), v);
            Value::Object(Arc::new(o))
        };
        let (mut a, mut b) = (Value::Int(1), Value::Int(1));
        for _ in 0..60 {
            a = obj(a);
            b = obj(b);
        }
        assert!(a.equals(&b));
        let exc = |v: Value| {
            Value::Exception(Arc::new(crate::value::Exception {
                message: Arc::new("e".into()),
                value: Value::list(vec![v.clone(), v]),
            }))
        };
        let (mut a, mut b) = (Value::Int(1), Value::Int(1));
        for _ in 0..60 {
            a = exc(a);
            b = exc(b);
        }
        assert!(a.equals(&b));
        let c = b;
        assert!(!a.equals(&exc(c)));
    }

    #[test]
    fn patterns_match_by_the_rules() {
        let msg = Value::list(vec![Value::str("DOWN"), Value::Int(3), Value::str("x")]);
        let pat = Value::list(vec![Value::str("DOWN"), Value::Float(3.0), Value::Null]);
        assert!(pat.matches_pattern(&msg));
        let wrong = Value::list(vec![Value::str("DOWN"), Value::Int(4), Value::Null]);
        assert!(!wrong.matches_pattern(&msg));
        assert!(!Value::list(vec![Value::Null]).matches_pattern(&msg));
        assert!(Value::Null.matches_pattern(&Value::Int(1)));
        let mut o = Object::new();
        o.set(&Atom::new("a"), Value::Int(1));
        o.set(&Atom::new("b"), Value::str("y"));
        let mut p = Object::new();
        p.set(&Atom::new("a"), Value::Null);
        let (o, p) = (Value::Object(Arc::new(o)), Value::Object(Arc::new(p)));
        assert!(p.matches_pattern(&o));
        assert!(!o.matches_pattern(&p));
        // NaN: a list matches itself (same list), an object field does not.
        let nan = Value::list(vec![Value::Float(f64::NAN)]);
        assert!(nan.matches_pattern(&nan));
        let mut n = Object::new();
        n.set(&Atom::new("x"), Value::Float(f64::NAN));
        let n = Value::Object(Arc::new(n));
        assert!(!n.matches_pattern(&n));
    }

    /// The recursive definition `matches_pattern` replaces (it was
    /// `process::matches`), as the oracle.
    fn matches_recursive(pattern: &Value, msg: &Value) -> bool {
        match (pattern, msg) {
            (Value::Null, _) => true,
            (Value::List(p), Value::List(m)) => {
                crate::value::List::ptr_eq(p, m)
                    || (p.len() == m.len()
                        && p.iter().zip(m.iter()).all(|(a, b)| matches_recursive(a, b)))
            }
            (Value::Object(p), Value::Object(m)) => p
                .iter()
                .all(|(k, pv)| m.get(k).is_some_and(|mv| matches_recursive(pv, mv))),
            _ => pattern.equals(msg),
        }
    }

    fn small_value() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            (0i64..3).prop_map(Value::Int),
            (0i64..3).prop_map(|i| Value::Float(i as f64)),
            Just(Value::Float(f64::NAN)),
            prop_oneof![Just("a"), Just("b")].prop_map(Value::str),
        ];
        leaf.prop_recursive(4, 24, 3, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..3).prop_map(Value::list),
                proptest::collection::vec((0usize..3, inner), 0..3).prop_map(|fields| {
                    let mut o = Object::new();
                    for (k, v) in fields {
                        o.set(&Atom::new(["x", "y", "z"][k]), v);
                    }
                    Value::Object(Arc::new(o))
                }),
            ]
        })
    }

    proptest::proptest! {
        #[test]
        fn matching_agrees_with_the_recursive_definition(p in small_value(), m in small_value()) {
            proptest::prop_assert_eq!(p.matches_pattern(&m), matches_recursive(&p, &m));
            proptest::prop_assert_eq!(p.matches_pattern(&p), matches_recursive(&p, &p));
        }
    }

    /// A pattern and a message that share themselves into 2^60 leaves.
    #[test]
    fn self_sharing_patterns_match_by_their_distinct_parts() {
        assert!(dag(60, Value::Null).matches_pattern(&dag(60, Value::Int(1))));
        assert!(dag(60, Value::Float(1.0)).matches_pattern(&dag(60, Value::Int(1))));
        assert!(!dag(60, Value::Int(2)).matches_pattern(&dag(60, Value::Int(1))));
        let mut deep = (Value::Null, Value::Int(5));
        for _ in 0..1_000_000 {
            deep = (Value::list(vec![deep.0]), Value::list(vec![deep.1]));
        }
        assert!(deep.0.matches_pattern(&deep.1));
    }

    /// Wide values: each pair is compared, not skipped, before and after
    /// the pairs start being remembered.
    #[test]
    fn many_distinct_pairs_are_all_compared() {
        let row = |k: i64| Value::list((0..4).map(|i| Value::Int(i * k)).collect());
        let a = Value::list((0..2000).map(row).collect());
        let mut rows: Vec<Value> = (0..2000).map(row).collect();
        assert!(a.equals(&Value::list(rows.clone())));
        rows[1999] = Value::list(vec![
            Value::Int(0),
            Value::Int(1),
            Value::Int(2),
            Value::Int(4),
        ]);
        assert!(!a.equals(&Value::list(rows)));
    }

    #[test]
    fn objects_are_equal_in_any_field_order() {
        let mut a = Object::new();
        a.set(&Atom::new("x"), Value::Int(1));
        a.set(&Atom::new("y"), Value::Int(2));
        let mut b = Object::new();
        b.set(&Atom::new("y"), Value::Float(2.0));
        b.set(&Atom::new("x"), Value::Int(1));
        assert!(Value::Object(Arc::new(a.clone())).equals(&Value::Object(Arc::new(b))));
        let mut c = a.clone();
        c.set(&Atom::new("z"), Value::Null);
        assert!(!Value::Object(Arc::new(a)).equals(&Value::Object(Arc::new(c))));
    }
}
