//! The text of values: PRINT's exact text (SPEC §2) and the bounded text
//! every diagnostic shows.
//!
//! One walker makes all of it, iteratively (values can be nested far deeper
//! than any native stack) and through a writer that stops it: a value that
//! shares itself (`l = [l, l]` forty times is 2^40 leaves in a few hundred
//! bytes) is never walked further than the text it is allowed to produce,
//! because every step of the walk writes at least one byte.
//!
//! - [`Value::write_text`]: the exact text, or [`TooLong`] past a limit
//!   (TO_STR, PRINT, CONCAT and the file writes use it with the 256 MiB
//!   string limit, and raise their documented error).
//! - `Display` (so `to_string()` and `format!`) and `Debug`, [`Value::shown`],
//!   [`shown_text`]: the text cut at a limit, ending with `…` when cut.
//!   `Display` uses [`MAX_SHOWN_BYTES`]: a crash report, trace, debug line,
//!   error message or thrown value's message never holds more of one value
//!   than that.

use super::{Object, Value};
use std::fmt::{self, Write};

/// A float as PRINT shows it: the shortest decimal that reads back as the same
/// number, never in exponent form, without a trailing `.0`; `inf`, `-inf`,
/// `NaN`.
pub fn format_float(f: f64, out: &mut impl Write) -> fmt::Result {
    // Rust's `Display` for f64 is exactly that: shortest round-trip digits,
    // positional notation, "3" for 3.0, "inf" and "NaN".
    write!(out, "{f}")
}

/// Nesting deeper than this prints as `…` (a documented rule from when
/// printing recursed per level; it also bounds the walker's own stack).
pub const MAX_PRINT_DEPTH: u32 = 1 << 17;

/// The most bytes of one value's text a diagnostic shows (crash reports,
/// `--trace`/`--debug`, `--trace-procs`, DUMP_SCOPE, runtime error
/// messages, the message of a thrown non-Str value): `Display` cuts there
/// and ends with `…`.
pub const MAX_SHOWN_BYTES: usize = 1 << 16;

/// The exact text would pass the limit given to [`Value::write_text`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TooLong;

/// A container being printed, and the index of its next element.
enum Open<'a> {
    List(&'a [Value], usize),
    /// The object, the entry position of its next field, whether a field
    /// was written already.
    Object(&'a Object, usize, bool),
}

/// Write the PRINT text of `v` to `out`, element by element, stopping at
/// the first error `out` reports.
fn walk(v: &Value, out: &mut impl Write) -> fmt::Result {
    walk_from(Some(v), Vec::new(), out)
}

/// The walk, from `next` (a value to print first) and the containers
/// `open` already started.
fn walk_from<'a>(
    mut next: Option<&'a Value>,
    mut open: Vec<Open<'a>>,
    out: &mut impl Write,
) -> fmt::Result {
    loop {
        if let Some(v) = next.take() {
            let deep = open.len() >= MAX_PRINT_DEPTH as usize;
            match v {
                Value::Null => out.write_str("null")?,
                Value::Bool(b) => out.write_str(if *b { "true" } else { "false" })?,
                Value::Int(i) => write!(out, "{i}")?,
                Value::Float(x) => format_float(*x, out)?,
                Value::Str(s) => out.write_str(s)?,
                Value::Function(p) => {
                    write!(out, "function@{} (", p.target_text)?;
                    write_params(out, &p.params)?;
                    out.write_char(')')?;
                }
                Value::List(_) | Value::Object(_) | Value::Closure(_) | Value::Exception(_)
                    if deep =>
                {
                    out.write_str("…")?
                }
                Value::List(items) => {
                    out.write_char('[')?;
                    open.push(Open::List(items, 0));
                }
                Value::Object(obj) => {
                    out.write_char('{')?;
                    open.push(Open::Object(obj, 0, false));
                }
                Value::Closure(c) => {
                    write!(out, "closure@{} (", c.proto.target_text)?;
                    write_params(out, &c.proto.params)?;
                    write!(out, ") [captured: {}]", c.captured.len())?;
                }
                Value::Exception(e) => {
                    out.write_str("Exception: ")?;
                    out.write_str(&e.message)?;
                }
                Value::Handle(h) => h.write(out)?,
            }
        }
        match open.last_mut() {
            None => return Ok(()),
            Some(Open::List(items, i)) => {
                let items: &'a [Value] = items;
                match items.get(*i) {
                    Some(item) => {
                        if *i > 0 {
                            out.write_str(", ")?;
                        }
                        *i += 1;
                        next = Some(item);
                    }
                    None => {
                        out.write_char(']')?;
                        open.pop();
                    }
                }
            }
            Some(Open::Object(obj, i, started)) => {
                let obj: &'a Object = obj;
                match obj.next_from(*i) {
                    Some((after, name, value)) => {
                        if *started {
                            out.write_str(", ")?;
                        }
                        *i = after;
                        *started = true;
                        out.write_str(name)?;
                        out.write_str(": ")?;
                        next = Some(value);
                    }
                    None => {
                        out.write_char('}')?;
                        open.pop();
                    }
                }
            }
        }
    }
}

fn write_params(out: &mut impl Write, params: &[super::Atom]) -> fmt::Result {
    for (i, p) in params.iter().enumerate() {
        if i > 0 {
            out.write_str(", ")?;
        }
        out.write_str(p.as_str())?;
    }
    Ok(())
}

/// A writer that takes at most `left` more bytes: past that it refuses
/// (and remembers that it did), so the walk stops.
struct Exact<'w, W: Write> {
    out: &'w mut W,
    left: usize,
    over: bool,
}

impl<W: Write> Write for Exact<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if s.len() > self.left {
            self.over = true;
            return Err(fmt::Error);
        }
        self.left -= s.len();
        self.out.write_str(s)
    }
}

/// A writer that takes at most `left` more bytes: it writes what fits (up
/// to a character boundary), then refuses (and remembers that it cut), so
/// the walk stops.
struct Cut<'w, W: Write> {
    out: &'w mut W,
    left: usize,
    cut: bool,
}

impl<W: Write> Write for Cut<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if s.len() <= self.left {
            self.left -= s.len();
            return self.out.write_str(s);
        }
        let mut k = self.left;
        while !s.is_char_boundary(k) {
            k -= 1;
        }
        self.out.write_str(&s[..k])?;
        self.left = 0;
        self.cut = true;
        Err(fmt::Error)
    }
}

/// Run `write` on a [`Cut`] of `out` with `limit` bytes; `…` after it
/// when it was cut.
fn cut_at<W: Write>(
    out: &mut W,
    limit: usize,
    write: impl FnOnce(&mut Cut<'_, W>) -> fmt::Result,
) -> fmt::Result {
    let mut w = Cut {
        out,
        left: limit,
        cut: false,
    };
    match write(&mut w) {
        Ok(()) => Ok(()),
        Err(_) if w.cut => out.write_str("…"),
        Err(e) => Err(e),
    }
}

impl Value {
    /// Append the exact PRINT text of `self` to `out`, writing at most
    /// `limit` bytes; past that, `Err(TooLong)` with `out` holding a prefix.
    /// The work is bounded by `limit`, however large the value. `out` must
    /// not fail (a `String` or `Str`); if it does, that is reported as
    /// `TooLong` too.
    pub fn write_text(&self, out: &mut impl Write, limit: usize) -> Result<(), TooLong> {
        let mut w = Exact {
            out,
            left: limit,
            over: false,
        };
        let r = walk(self, &mut w);
        debug_assert!(r.is_ok() || w.over, "a text sink failed");
        r.map_err(|_| TooLong)
    }

    /// The PRINT text cut at `limit` bytes (at a character boundary), then
    /// `…` if it was cut: for text that must exist whatever the value (a
    /// diagnostic, a thrown value's message).
    pub fn shown(&self, limit: usize) -> Shown<'_> {
        Shown { value: self, limit }
    }
}

/// [`Value::shown`]'s text, as `Display`.
pub struct Shown<'a> {
    value: &'a Value,
    limit: usize,
}

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        cut_at(f, self.limit, |w| walk(self.value, w))
    }
}

/// Text that is already a string (an exception message), cut like
/// [`Value::shown`]'s.
pub fn shown_text(text: &str, limit: usize) -> impl fmt::Display + '_ {
    struct ShownText<'a>(&'a str, usize);
    impl fmt::Display for ShownText<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            cut_at(f, self.1, |w| w.write_str(self.0))
        }
    }
    ShownText(text, limit)
}

/// A value's text for people: cut at [`MAX_SHOWN_BYTES`].
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.shown(MAX_SHOWN_BYTES).fmt(f)
    }
}

/// Debug output is bounded the same way: its type, then its text cut at
/// [`MAX_SHOWN_BYTES`] (strings quoted).
impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Str(s) => write!(f, "Str({:?})", shown_text(s, MAX_SHOWN_BYTES).to_string()),
            other => write!(f, "{}({other})", other.type_name()),
        }
    }
}

/// A list's elements for `Debug`: bounded like a value's.
impl fmt::Debug for super::List {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        cut_at(f, MAX_SHOWN_BYTES, |w| {
            w.write_char('[')?;
            walk_from(None, vec![Open::List(self, 0)], w)
        })
    }
}

/// An object's fields for `Debug`: bounded like a value's.
impl fmt::Debug for Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        cut_at(f, MAX_SHOWN_BYTES, |w| {
            w.write_char('{')?;
            walk_from(None, vec![Open::Object(self, 0, false)], w)
        })
    }
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
        assert_eq!(float(3.25), "3.25");
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

    /// Printing walks iteratively: no large native stack needed.
    #[test]
    fn deep_nesting_prints_an_ellipsis_past_the_limit() {
        let mut v = Value::Int(7);
        for _ in 0..(MAX_PRINT_DEPTH + 5) {
            v = Value::list(vec![v]);
        }
        let mut text = String::new();
        v.write_text(&mut text, 1 << 20).unwrap();
        let depth = MAX_PRINT_DEPTH as usize;
        assert_eq!(text.len(), 2 * depth + "…".len());
        assert!(text.starts_with("[[[") && text.contains('…') && !text.contains('7'));
        let mut w = Value::Int(7);
        for _ in 0..3 {
            w = Value::list(vec![w]);
        }
        assert_eq!(w.to_string(), "[[[7]]]");
    }

    /// `l = [l, l]`, `n` times over `[leaf]`: 2^n leaves in n + 1 lists.
    fn dag(n: u32, leaf: Value) -> Value {
        let mut l = Value::list(vec![leaf]);
        for _ in 0..n {
            l = Value::list(vec![l.clone(), l]);
        }
        l
    }

    /// A value that shares itself into 2^40 leaves: the exact text stops at
    /// its limit, the shown text is cut with `…`; both after doing work
    /// in proportion to the limit only.
    #[test]
    fn a_shared_value_is_never_walked_past_the_limit() {
        let v = dag(40, Value::Int(1));
        let mut text = String::new();
        assert_eq!(v.write_text(&mut text, 1 << 20), Err(TooLong));
        assert!(text.len() <= 1 << 20 && text.starts_with("[[[[[["));
        let shown = v.to_string();
        assert_eq!(shown.len(), MAX_SHOWN_BYTES + "…".len());
        assert!(shown.ends_with('…'));
        assert!(format!("{:?}", v).len() < MAX_SHOWN_BYTES + 16);
        // Empty strings as leaves: every list still writes its brackets.
        let e = dag(40, Value::str(""));
        assert!(e.to_string().ends_with('…'));
        let small = dag(2, Value::Int(1));
        assert_eq!(small.to_string(), "[[[1], [1]], [[1], [1]]]");
        let mut exact = String::new();
        small.write_text(&mut exact, 24).unwrap();
        assert_eq!(exact, "[[[1], [1]], [[1], [1]]]");
        assert_eq!(small.write_text(&mut String::new(), 23), Err(TooLong));
    }

    #[test]
    fn cutting_keeps_whole_characters() {
        let v = Value::str("ab€cd");
        assert_eq!(v.shown(3).to_string(), "ab…");
        assert_eq!(v.shown(5).to_string(), "ab€…");
        assert_eq!(v.shown(7).to_string(), "ab€cd");
        assert_eq!(shown_text("ab€cd", 4).to_string(), "ab…");
        assert_eq!(shown_text("abc", 3).to_string(), "abc");
        assert_eq!(shown_text("", 0).to_string(), "");
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
        obj.set(&Atom::new("name"), Value::str("Ann"));
        obj.set(&Atom::new("age"), Value::Int(30));
        obj.set(&Atom::new("tags"), Value::list(vec![]));
        assert_eq!(
            Value::Object(Arc::new(obj)).to_string(),
            "{name: Ann, age: 30, tags: []}"
        );
        assert_eq!(Value::Object(Arc::new(Object::new())).to_string(), "{}");
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
        assert_eq!(Value::Bool(false).to_string(), "false");
        assert_eq!(
            Value::Exception(Value::error("bad")).to_string(),
            "Exception: bad"
        );
        assert_eq!(format!("{:?}", Value::str("a\"b")), "Str(\"a\\\"b\")");
        assert_eq!(format!("{:?}", Value::Int(3)), "Int(3)");
    }
}
