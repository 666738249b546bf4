//! Number operations. Floats follow IEEE 754 (`SQRT` of a negative number
//! is NaN, `LOG 0` is -inf); an operation whose result must be an Int
//! (`FLOOR`, `CEIL`, `ROUND`, `ABS` of an Int) raises when there is no
//! such Int — NaN, an infinity, or outside the i64 range — never
//! saturates (as `TO_INT` of a Float).

use super::{text, Args};
use crate::bytecode::Opcode;
use crate::exec::{error, OpResult};
use std::cmp::Ordering;
use ttvm_runtime::Value;

/// The most decimals `FORMAT` writes (an f64's exact expansion has at
/// most 1074 digits after the point).
pub const MAX_DECIMALS: i64 = 1100;

pub(super) fn call(op: Opcode, a: &mut Args<'_>) -> OpResult {
    use Opcode as O;
    let unary = |a: &mut Args<'_>, f: fn(f64) -> f64| {
        let x = a.num(0, "x")?;
        a.finish(Value::Float(f(x)))
    };
    match op {
        O::Sqrt => unary(a, f64::sqrt),
        O::Exp => unary(a, f64::exp),
        O::Log => unary(a, f64::ln),
        O::Sin => unary(a, f64::sin),
        O::Cos => unary(a, f64::cos),
        O::Atan2 => {
            let y = a.num(0, "y")?;
            let x = a.num(1, "x")?;
            a.finish(Value::Float(y.atan2(x)))
        }
        O::Pow => {
            let r = match (a.get(0), a.get(1)) {
                (Value::Int(x), Value::Int(y)) if *y >= 0 => {
                    Value::Int(wrapping_pow(*x, *y as u64))
                }
                _ => {
                    let x = a.num(0, "x")?;
                    let y = a.num(1, "y")?;
                    Value::Float(x.powf(y))
                }
            };
            a.finish(r)
        }
        O::Floor | O::Ceil | O::Round => {
            let r = match a.get(0) {
                Value::Int(n) => *n,
                _ => {
                    let x = a.num(0, "x")?;
                    let y = match op {
                        O::Floor => x.floor(),
                        O::Ceil => x.ceil(),
                        _ => x.round(),
                    };
                    to_int(a.name(), x, y)?
                }
            };
            a.finish(Value::Int(r))
        }
        O::Abs => {
            let r = match a.get(0) {
                Value::Int(n) => match n.checked_abs() {
                    Some(m) => Value::Int(m),
                    None => {
                        return error(
                            "out of range: ABS of -9223372036854775808 has no Int value \
                             (convert it with TO_FLOAT first)",
                        )
                    }
                },
                _ => Value::Float(a.num(0, "x")?.abs()),
            };
            a.finish(r)
        }
        O::Min | O::Max => min_max(op == O::Max, a),
        O::Format => format(a),
        _ => unreachable!("not a number operation: {op:?}"),
    }
}

/// `x` to the power `y`, wrapping as MUL does (SPEC §3.2): by squaring,
/// at most 64 steps whatever `y`.
fn wrapping_pow(mut x: i64, mut y: u64) -> i64 {
    let mut r: i64 = 1;
    while y > 0 {
        if y & 1 == 1 {
            r = r.wrapping_mul(x);
        }
        x = x.wrapping_mul(x);
        y >>= 1;
    }
    r
}

/// `x` (rounded to `y` by FLOOR/CEIL/ROUND) as an Int, or the range error.
fn to_int(name: &str, x: f64, y: f64) -> OpResult<i64> {
    // [-2^63, 2^63): every integral float in it converts exactly.
    if (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&y) {
        Ok(y as i64)
    } else {
        error(format!(
            "out of range: {name} of {} has no Int value (Ints lie between \
             -9223372036854775808 and 9223372036854775807)",
            Value::Float(x)
        ))
    }
}

/// MIN/MAX: two numbers (compared exactly, mixed allowed; the chosen
/// operand is returned as it is, so an Int stays an Int; NaN if either is
/// NaN) or two strings (by code point). On a tie the first operand.
fn min_max(max: bool, a: &mut Args<'_>) -> OpResult {
    let (x, y) = (a.get(0), a.get(1));
    let nan = |v: &Value| matches!(v, Value::Float(f) if f.is_nan());
    let pick_second = match x.compare(y) {
        Some(_) if nan(x) || nan(y) => return a.finish(Value::Float(f64::NAN)),
        Some(Some(ord)) => {
            if max {
                ord == Ordering::Less
            } else {
                ord == Ordering::Greater
            }
        }
        _ => {
            return error(format!(
                "type error: {} cannot take {} and {} (two numbers, or two strings)",
                a.name(),
                x.type_name(),
                y.type_name()
            ))
        }
    };
    let r = a.take(pick_second as usize);
    a.finish(r)
}

/// FORMAT: exactly `decimals` digits after the point, rounded from the
/// float's exact binary value, halves to even (Rust's `{:.N}`):
/// `3.14159 2` → `3.14`, `2.5 0` → `2`, `1e21 1` → `1000000000000000000000.0`.
/// An Int is written exactly (`7 2` → `7.00`); inf and NaN as PRINT writes
/// them.
fn format(a: &mut Args<'_>) -> OpResult {
    let n = a.int(1, "decimals")?;
    if !(0..=MAX_DECIMALS).contains(&n) {
        return error(format!(
            "FORMAT needs 0 to {MAX_DECIMALS} decimals, got {n}"
        ));
    }
    let n = n as usize;
    let s = match a.get(0) {
        Value::Int(i) if n == 0 => i.to_string(),
        Value::Int(i) => format!("{i}.{}", "0".repeat(n)),
        Value::Float(x) if x.is_nan() => "NaN".to_string(),
        Value::Float(x) if x.is_infinite() => Value::Float(*x).to_string(),
        Value::Float(x) => format!("{x:.n$}"),
        _ => {
            return error(format!(
                "type error: FORMAT needs a number for `x`, got {}",
                a.get(0).type_name()
            ))
        }
    };
    a.finish(text(s))
}

#[cfg(test)]
mod tests {
    use super::super::run;
    use crate::bytecode::Opcode as O;
    use proptest::prelude::*;
    use ttvm_runtime::Value;

    fn shown(r: Result<Value, String>) -> String {
        match r {
            Ok(v) => format!("{}:{}", v.type_name(), v),
            Err(e) => format!("error: {e}"),
        }
    }

    fn f(x: f64) -> Value {
        Value::Float(x)
    }

    fn i(x: i64) -> Value {
        Value::Int(x)
    }

    #[test]
    fn float_functions() {
        assert_eq!(shown(run(O::Sqrt, vec![i(16)])), "Float:4");
        assert_eq!(shown(run(O::Sqrt, vec![f(-1.0)])), "Float:NaN");
        assert_eq!(shown(run(O::Log, vec![i(0)])), "Float:-inf");
        assert_eq!(shown(run(O::Exp, vec![i(0)])), "Float:1");
        assert_eq!(
            shown(run(O::Atan2, vec![i(1), i(1)])),
            format!("Float:{}", Value::Float(std::f64::consts::FRAC_PI_4))
        );
        assert_eq!(shown(run(O::Pow, vec![i(2), i(10)])), "Int:1024");
        assert_eq!(shown(run(O::Pow, vec![i(2), i(-1)])), "Float:0.5");
        assert_eq!(shown(run(O::Pow, vec![i(2), i(64)])), "Int:0");
        assert_eq!(shown(run(O::Pow, vec![i(-1), i(i64::MAX)])), "Int:-1");
        assert_eq!(
            shown(run(O::Pow, vec![f(2.0), f(0.5)])),
            format!("Float:{}", Value::Float(2f64.sqrt()))
        );
        assert!(shown(run(O::Sin, vec![Value::str("x")])).contains("needs a number"));
    }

    #[test]
    fn rounding_to_ints() {
        assert_eq!(shown(run(O::Floor, vec![f(-2.5)])), "Int:-3");
        assert_eq!(shown(run(O::Ceil, vec![f(-2.5)])), "Int:-2");
        assert_eq!(shown(run(O::Round, vec![f(2.5)])), "Int:3");
        assert_eq!(shown(run(O::Round, vec![f(-2.5)])), "Int:-3");
        assert_eq!(shown(run(O::Round, vec![i(7)])), "Int:7");
        assert!(shown(run(O::Floor, vec![f(f64::NAN)])).contains("out of range: FLOOR of NaN"));
        assert!(shown(run(O::Ceil, vec![f(f64::INFINITY)])).contains("of inf"));
        assert!(shown(run(O::Round, vec![f(9.3e18)])).contains("no Int value"));
        assert_eq!(
            shown(run(O::Floor, vec![f(-(2f64.powi(63)))])),
            "Int:-9223372036854775808"
        );
        assert_eq!(shown(run(O::Abs, vec![i(-3)])), "Int:3");
        assert_eq!(shown(run(O::Abs, vec![f(-0.5)])), "Float:0.5");
        assert!(shown(run(O::Abs, vec![i(i64::MIN)])).contains("out of range"));
    }

    #[test]
    fn min_max_keep_the_operand() {
        assert_eq!(shown(run(O::Min, vec![i(2), f(1.5)])), "Float:1.5");
        assert_eq!(shown(run(O::Max, vec![i(2), f(1.5)])), "Int:2");
        assert_eq!(shown(run(O::Max, vec![i(1), f(1.0)])), "Int:1");
        assert_eq!(shown(run(O::Min, vec![f(f64::NAN), i(1)])), "Float:NaN");
        assert_eq!(
            shown(run(O::Min, vec![Value::str("b"), Value::str("a")])),
            "Str:a"
        );
        assert!(shown(run(O::Min, vec![i(1), Value::str("a")])).contains("cannot take Int and Str"));
    }

    #[test]
    fn format_decimals() {
        let fmt = |v: Value, n: i64| shown(run(O::Format, vec![v, i(n)]));
        assert_eq!(fmt(f(3.14659), 2), "Str:3.15");
        assert_eq!(fmt(f(2.5), 0), "Str:2");
        assert_eq!(fmt(f(0.125), 2), "Str:0.12");
        assert_eq!(fmt(f(1.005), 2), "Str:1.00");
        assert_eq!(fmt(f(-0.0), 1), "Str:-0.0");
        assert_eq!(fmt(i(7), 2), "Str:7.00");
        assert_eq!(fmt(i(-7), 0), "Str:-7");
        assert_eq!(fmt(f(f64::INFINITY), 2), "Str:inf");
        assert_eq!(fmt(f(f64::NAN), 2), "Str:NaN");
        assert!(fmt(f(1.0), -1).contains("0 to 1100 decimals"));
        assert!(fmt(Value::str("1"), 1).contains("needs a number"));
    }

    proptest! {
        /// FORMAT's text parses back to the float rounded to that many
        /// decimals: within half a unit of the last digit, and as close as
        /// any decimal with that many digits.
        #[test]
        fn format_rounds_correctly(x in -1e9f64..1e9, n in 0i64..12) {
            let Ok(Value::Str(s)) = run(O::Format, vec![Value::Float(x), Value::Int(n)]) else {
                panic!("FORMAT failed");
            };
            let back: f64 = s.parse().unwrap();
            let unit = 10f64.powi(-(n as i32));
            prop_assert!((back - x).abs() <= unit / 2.0 + 1e-6 * x.abs().max(1.0) * f64::EPSILON * 1e6);
            let digits = s.split('.').nth(1).map_or(0, str::len);
            prop_assert_eq!(digits as i64, n);
        }
    }
}
