//! PRINT text of values (SPEC §2).

use super::Value;
use std::fmt::{self, Write};

/// A float as PRINT shows it: the shortest decimal that reads back as the same
/// number, never in exponent form, without a trailing `.0`; `inf`, `-inf`,
/// `NaN`.
pub fn format_float(f: f64, out: &mut impl Write) -> fmt::Result {
    // Rust's `Display` for f64 is exactly that: shortest round-trip digits,
    // positional notation, "3" for 3.0, "inf" and "NaN".
    write!(out, "{f}")
}

/// Nesting deeper than this prints as `…`: printing recurses once per level,
/// and a value can be nested far deeper than any native stack.
pub const MAX_PRINT_DEPTH: u32 = 1 << 17;

thread_local! {
    static DEPTH: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Run `f` one nesting level deeper, or print `…` past the limit.
fn nested(
    f: &mut fmt::Formatter<'_>,
    body: impl FnOnce(&mut fmt::Formatter<'_>) -> fmt::Result,
) -> fmt::Result {
    let d = DEPTH.with(|d| d.get());
    if d >= MAX_PRINT_DEPTH {
        return f.write_str("…");
    }
    DEPTH.with(|c| c.set(d + 1));
    let r = body(f);
    DEPTH.with(|c| c.set(d));
    r
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::List(_) | Value::Object(_) | Value::Closure(_) | Value::Exception(_) => {
                nested(f, |f| self.fmt_inner(f))
            }
            _ => self.fmt_inner(f),
        }
    }
}

impl Value {
    fn fmt_inner(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => format_float(*x, f),
            Value::Str(s) => f.write_str(s),
            Value::List(items) => {
                f.write_char('[')?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_char(']')
            }
            Value::Object(obj) => {
                f.write_char('{')?;
                for (i, (name, value)) in obj.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{name}: {value}")?;
                }
                f.write_char('}')
            }
            Value::Function(p) => {
                write!(f, "function@{} (", p.target_text)?;
                write_params(f, &p.params)?;
                f.write_char(')')
            }
            Value::Closure(c) => {
                write!(f, "closure@{} (", c.proto.target_text)?;
                write_params(f, &c.proto.params)?;
                write!(f, ") [captured: {}]", c.captured.len())
            }
            Value::Exception(e) => write!(f, "Exception: {}", e.message),
        }
    }
}

fn write_params(f: &mut fmt::Formatter<'_>, params: &[super::Atom]) -> fmt::Result {
    for (i, p) in params.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        f.write_str(p.as_str())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{Atom, Closure, FuncProto, Object};
    use super::*;
    use std::sync::Arc;

    fn float(f: f64) -> String {
        Value::Float(f).to_string()
    }

    #[test]
    fn floats_print_shortest_without_exponent() {
        assert_eq!(float(3.0), "3");
        assert_eq!(float(3.14), "3.14");
        assert_eq!(float(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(float(f64::INFINITY), "inf");
        assert_eq!(float(f64::NEG_INFINITY), "-inf");
        assert_eq!(float(f64::NAN), "NaN");
        assert_eq!(float(1e21), "1000000000000000000000");
        assert_eq!(float(1e-7), "0.0000001");
        assert_eq!(float(-2.5), "-2.5");
    }

    proptest::proptest! {
        #[test]
        fn float_text_round_trips(f in proptest::num::f64::NORMAL | proptest::num::f64::SUBNORMAL | proptest::num::f64::ZERO) {
            let text = float(f);
            proptest::prop_assert!(!text.contains('e'));
            proptest::prop_assert!(!text.ends_with(".0"));
            proptest::prop_assert_eq!(text.parse::<f64>().unwrap(), f);
        }
    }

    #[test]
    fn deep_nesting_prints_an_ellipsis_past_the_limit() {
        // The VM prints on threads with large stacks; so does this test.
        std::thread::Builder::new()
            .stack_size(256 << 20)
            .spawn(deep_nesting_check)
            .unwrap()
            .join()
            .unwrap();
    }

    fn deep_nesting_check() {
        let mut v = Value::Int(7);
        for _ in 0..(MAX_PRINT_DEPTH + 5) {
            v = Value::list(vec![v]);
        }
        let text = v.to_string();
        assert!(text.starts_with("[[[") && text.contains('…') && !text.contains('7'));
        let mut w = Value::Int(7);
        for _ in 0..3 {
            w = Value::list(vec![w]);
        }
        assert_eq!(w.to_string(), "[[[7]]]");
    }

    #[test]
    fn composite_values_print_by_the_rules() {
        let inner = Value::list(vec![Value::str("x")]);
        let list = Value::list(vec![
            Value::Int(1),
            Value::str("two"),
            Value::Float(3.5),
            inner,
        ]);
        assert_eq!(list.to_string(), "[1, two, 3.5, [x]]");
        let mut obj = Object::new();
        obj.set(Atom::new("name"), Value::str("Ann"));
        obj.set(Atom::new("age"), Value::Int(30));
        assert_eq!(
            Value::Object(Arc::new(obj)).to_string(),
            "{name: Ann, age: 30}"
        );
        let proto = Arc::new(FuncProto {
            target_text: Arc::from("add"),
            entry: 3,
            params: vec![Atom::new("a"), Atom::new("b")].into(),
            param_slots: vec![0, 1].into(),
            frame_size: 2,
        });
        assert_eq!(
            Value::Function(proto.clone()).to_string(),
            "function@add (a, b)"
        );
        let clo = Closure {
            proto,
            captured: vec![(Atom::new("k"), Value::Int(1))].into(),
            capture_slots: vec![u32::MAX].into(),
        };
        assert_eq!(
            Value::Closure(Arc::new(clo)).to_string(),
            "closure@add (a, b) [captured: 1]"
        );
        assert_eq!(Value::Null.to_string(), "null");
        assert_eq!(Value::Bool(true).to_string(), "true");
        assert_eq!(
            Value::Exception(Value::error("bad")).to_string(),
            "Exception: bad"
        );
    }
}
