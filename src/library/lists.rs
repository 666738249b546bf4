//! List operations. Operations that make a changed list (`REVERSE`,
//! `SORT`, `EXTEND`, `SLICE`) change their first operand in place when
//! nothing else holds it, so a loop of `LOAD l; …; OP; STORE l` is linear,
//! not quadratic.

use super::{list_too_long, Args};
use crate::bytecode::Opcode;
use crate::exec::ops::MAX_LIST_LEN;
use crate::exec::{error, OpResult};
use std::cmp::Ordering;
use ttvm_runtime::Value;

pub(super) fn call(op: Opcode, a: &mut Args<'_>) -> OpResult {
    use Opcode as O;
    match op {
        O::Slice => slice(a),
        O::Reverse => {
            if let Value::Str(s) = a.get(0) {
                let r: String = s.chars().rev().collect();
                return a.finish(super::text(r));
            }
            a.list(0, "list")?;
            let Value::List(mut l) = a.take(0) else {
                unreachable!("checked")
            };
            l.make_mut().reverse();
            a.finish(Value::List(l))
        }
        O::Sort => sort(a),
        O::Contains => {
            let found = match a.get(0) {
                Value::Str(s) => match a.get(1) {
                    Value::Str(t) => s.contains(t.as_str()),
                    _ => return a.type_error("Str", "v", 1),
                },
                _ => {
                    let l = a.list(0, "list")?;
                    let v = a.get(1);
                    l.iter().any(|x| x.equals(v))
                }
            };
            a.finish(Value::Bool(found))
        }
        O::IndexOf => {
            let l = a.list(0, "list")?;
            let v = a.get(1);
            let i = l.iter().position(|x| x.equals(v)).map_or(-1, |i| i as i64);
            a.finish(Value::Int(i))
        }
        O::Range => {
            let start = a.int(0, "start")?;
            let end = a.int(1, "end")?;
            let len = (end as i128 - start as i128).max(0);
            if len > MAX_LIST_LEN as i128 {
                return list_too_long();
            }
            let items = (start..end.max(start)).map(Value::Int).collect();
            a.finish(Value::list(items))
        }
        O::Extend => {
            let x = a.list(0, "a")?;
            let y = a.list(1, "b")?;
            if x.len() + y.len() > MAX_LIST_LEN {
                return list_too_long();
            }
            let Value::List(y) = a.take(1) else {
                unreachable!("checked")
            };
            let Value::List(mut x) = a.take(0) else {
                unreachable!("checked")
            };
            x.append_list(y);
            a.finish(Value::List(x))
        }
        _ => unreachable!("not a list operation: {op:?}"),
    }
}

/// `SLICE list start end`: elements `start` up to `end` (exclusive). A
/// negative position is an error (the index error INDEX raises); a
/// position past the end is the end, and `end <= start` gives `[]`.
fn slice(a: &mut Args<'_>) -> OpResult {
    let l = a.list(0, "list")?;
    let start = a.int(1, "start")?;
    let end = a.int(2, "end")?;
    let n = l.len();
    if let Some(bad) = [start, end].into_iter().find(|&i| i < 0) {
        return error(format!("index {bad} out of bounds for length {n}"));
    }
    let from = (start as u64).min(n as u64) as usize;
    let to = ((end as u64).min(n as u64) as usize).max(from);
    let Value::List(mut l) = a.take(0) else {
        unreachable!("checked")
    };
    l.keep_range(from, to);
    a.finish(Value::List(l))
}

/// What SORT sorts: numbers or strings.
#[derive(PartialEq)]
enum Kind {
    Number,
    Text,
}

/// `SORT`: stable. Numbers (Int and Float together, compared exactly; NaN
/// after every other number) or strings (by code point); any other mix
/// is a type error, found before anything moves.
fn sort(a: &mut Args<'_>) -> OpResult {
    let l = a.list(0, "list")?;
    let mut kind = None;
    for v in l.iter() {
        let k = match v {
            Value::Int(_) | Value::Float(_) => Kind::Number,
            Value::Str(_) => Kind::Text,
            other => {
                return error(format!(
                    "type error: SORT cannot order {} (a list of numbers, or of strings)",
                    other.type_name()
                ))
            }
        };
        match &kind {
            None => kind = Some(k),
            Some(first) if *first != k => {
                return error(
                    "type error: SORT cannot order numbers and strings together \
                     (convert with TO_STR or TO_FLOAT first)",
                )
            }
            Some(_) => {}
        }
    }
    let Value::List(mut l) = a.take(0) else {
        unreachable!("checked")
    };
    l.make_mut().sort_by(order);
    a.finish(Value::List(l))
}

/// The order SORT uses (the operands are checked to be comparable).
fn order(x: &Value, y: &Value) -> Ordering {
    let nan = |v: &Value| matches!(v, Value::Float(f) if f.is_nan());
    match (nan(x), nan(y)) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => x.compare(y).flatten().unwrap_or(Ordering::Equal),
    }
}

#[cfg(test)]
mod tests {
    use super::super::run;
    use crate::bytecode::Opcode as O;
    use proptest::prelude::*;
    use ttvm_runtime::Value;

    fn shown(r: Result<Value, String>) -> String {
        match r {
            Ok(v) => v.to_string(),
            Err(e) => format!("error: {e}"),
        }
    }

    fn ints(xs: &[i64]) -> Value {
        Value::list(xs.iter().map(|&x| Value::Int(x)).collect())
    }

    #[test]
    fn slice_clamps_and_rejects_negatives() {
        let sl = |a, b| {
            shown(run(
                O::Slice,
                vec![ints(&[0, 1, 2, 3]), Value::Int(a), Value::Int(b)],
            ))
        };
        assert_eq!(sl(1, 3), "[1, 2]");
        assert_eq!(sl(2, 100), "[2, 3]");
        assert_eq!(sl(3, 1), "[]");
        assert_eq!(sl(9, 10), "[]");
        assert_eq!(sl(-1, 2), "error: index -1 out of bounds for length 4");
    }

    #[test]
    fn sort_checks_kinds_first() {
        let mixed = Value::list(vec![
            Value::Int(3),
            Value::Float(1.5),
            Value::Int(-2),
            Value::Float(f64::NAN),
            Value::Int(0),
        ]);
        assert_eq!(shown(run(O::Sort, vec![mixed])), "[-2, 0, 1.5, 3, NaN]");
        let words = Value::list(vec![Value::str("b"), Value::str("B"), Value::str("a")]);
        assert_eq!(shown(run(O::Sort, vec![words])), "[B, a, b]");
        let bad = Value::list(vec![Value::Int(1), Value::str("a")]);
        assert!(shown(run(O::Sort, vec![bad])).contains("numbers and strings"));
        let bad = Value::list(vec![Value::Int(1), Value::Null]);
        assert!(shown(run(O::Sort, vec![bad])).contains("cannot order Null"));
    }

    #[test]
    fn the_rest() {
        assert_eq!(shown(run(O::Reverse, vec![ints(&[1, 2, 3])])), "[3, 2, 1]");
        assert_eq!(shown(run(O::Reverse, vec![Value::str("héj")])), "jéh");
        assert_eq!(
            shown(run(O::Contains, vec![ints(&[1, 2]), Value::Float(2.0)])),
            "true"
        );
        assert_eq!(
            shown(run(O::Contains, vec![Value::str("abc"), Value::str("bc")])),
            "true"
        );
        assert_eq!(
            shown(run(O::IndexOf, vec![ints(&[5, 6, 6]), Value::Int(6)])),
            "1"
        );
        assert_eq!(
            shown(run(O::IndexOf, vec![ints(&[5]), Value::Int(7)])),
            "-1"
        );
        assert_eq!(
            shown(run(O::Range, vec![Value::Int(-1), Value::Int(3)])),
            "[-1, 0, 1, 2]"
        );
        assert_eq!(
            shown(run(O::Range, vec![Value::Int(3), Value::Int(1)])),
            "[]"
        );
        assert!(shown(run(
            O::Range,
            vec![Value::Int(i64::MIN), Value::Int(i64::MAX)]
        ))
        .contains("list too long"));
        assert_eq!(
            shown(run(O::Extend, vec![ints(&[1]), ints(&[2, 3])])),
            "[1, 2, 3]"
        );
        assert!(
            shown(run(O::Extend, vec![ints(&[1]), Value::Int(2)])).contains("needs a List for `b`")
        );
    }

    #[test]
    fn unshared_lists_change_in_place() {
        let mut stack = vec![ints(&[3, 1, 2])];
        let before = match &stack[0] {
            Value::List(l) => l.as_ptr(),
            _ => unreachable!(),
        };
        super::super::call(O::Sort, &mut stack, &Default::default()).unwrap();
        match &stack[0] {
            Value::List(l) => assert_eq!(l.as_ptr(), before),
            _ => unreachable!(),
        }
    }

    proptest! {
        /// SORT is stable: equal numbers (1 and 1.0) keep their order, and
        /// the result is ordered.
        #[test]
        fn sort_is_stable(xs in proptest::collection::vec((0i64..5, any::<bool>()), 0..40)) {
            let vals: Vec<Value> = xs.iter().map(|&(x, f)| if f { Value::Float(x as f64) } else { Value::Int(x) }).collect();
            let Ok(Value::List(sorted)) = run(O::Sort, vec![Value::list(vals)]) else { panic!() };
            let mut want: Vec<(i64, bool)> = xs.clone();
            want.sort_by_key(|&(x, _)| x);
            let got: Vec<(i64, bool)> = sorted.iter().map(|v| match v {
                Value::Int(x) => (*x, false),
                Value::Float(x) => (*x as i64, true),
                _ => unreachable!(),
            }).collect();
            prop_assert_eq!(got, want);
        }
    }
}
