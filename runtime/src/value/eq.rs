//! Structural equality (SPEC §3.3 `EQ`) and ordering (`LT` and friends).

use super::Value;
use std::cmp::Ordering;
use std::sync::Arc;

impl Value {
    /// `EQ`: structural equality. Int and Float compare numerically (also
    /// inside lists); floats exactly (NaN ≠ NaN); other different types are
    /// never equal; objects are equal when they have the same fields with
    /// equal values, in any order.
    ///
    /// Iterative (one work list of pairs), so values nested millions of
    /// levels deep compare without deep native recursion.
    pub fn equals(&self, other: &Value) -> bool {
        let mut work: Vec<(&Value, &Value)> = vec![(self, other)];
        while let Some((a, b)) = work.pop() {
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
                    if !Arc::ptr_eq(a, b) {
                        if a.len() != b.len() {
                            return false;
                        }
                        work.extend(a.iter().zip(b.iter()));
                    }
                    true
                }
                (Value::Object(a), Value::Object(b)) => {
                    if !Arc::ptr_eq(a, b) {
                        if a.len() != b.len() {
                            return false;
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
                        for ((n, v), (m, w)) in a.captured.iter().zip(b.captured.iter()) {
                            if n != m {
                                return false;
                            }
                            work.push((v, w));
                        }
                    }
                    true
                }
                (Value::Exception(a), Value::Exception(b)) => {
                    if !Arc::ptr_eq(a, b) {
                        if a.message != b.message {
                            return false;
                        }
                        work.push((&a.value, &b.value));
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
        assert!(!Value::Int(i64::MAX).equals(&Value::Float(9_223_372_036_854_775_808.0)));
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

    #[test]
    fn objects_are_equal_in_any_field_order() {
        let mut a = Object::new();
        a.set(Atom::new("x"), Value::Int(1));
        a.set(Atom::new("y"), Value::Int(2));
        let mut b = Object::new();
        b.set(Atom::new("y"), Value::Float(2.0));
        b.set(Atom::new("x"), Value::Int(1));
        assert!(Value::Object(Arc::new(a.clone())).equals(&Value::Object(Arc::new(b))));
        let mut c = a.clone();
        c.set(Atom::new("z"), Value::Null);
        assert!(!Value::Object(Arc::new(a)).equals(&Value::Object(Arc::new(c))));
    }
}
