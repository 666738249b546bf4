//! JSON_PARSE and JSON_STRINGIFY: JSON text ↔ values, with `serde_json`
//! reading the text.
//!
//! Decisions (docs/LANGUAGE.md, "JSON"):
//! - an object keeps its keys in the order of the text; a repeated key keeps
//!   its first position and its last value;
//! - a number without a fraction or exponent that fits an i64 is an Int;
//!   any other number is a Float (so `1e2`, `1.0` and 2^63 are Floats);
//! - nesting deeper than 128 levels is an error (serde_json's limit), and
//!   so is an array of more elements than a list may have;
//! - stringify writes compact JSON (no spaces), keys in insertion order,
//!   Floats in the shortest form that reads back the same (`3.0`, `1e100`),
//!   so `JSON_PARSE` of the text gives an equal value of the same kinds;
//! - Functions, Closures and Exceptions have no JSON form, nor do NaN and
//!   the infinities: stringifying one is an error naming where it is
//!   (`$[2].name`).

use super::values::{fields, list_value, object_value, text_value, too_long_message, ObjectFields};
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;
use ttvm_runtime::Value;

/// The most elements a JSON array may have (a list's limit).
const MAX_ELEMENTS: usize = crate::exec::ops::MAX_LIST_LEN;
/// The longest text JSON_STRINGIFY makes (a string's limit).
const MAX_TEXT: usize = crate::exec::ops::MAX_STR_BYTES;

/// JSON_PARSE: the value of JSON `text`, or the error message.
pub fn parse(text: &str) -> Result<Value, String> {
    let mut de = serde_json::Deserializer::from_str(text);
    let v = Seed
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v))
        .map_err(|e| {
            format!(
                "JSON_PARSE: invalid JSON at line {}, column {}: {}",
                e.line(),
                e.column(),
                reason(&e)
            )
        })?;
    Ok(v)
}

/// serde_json's message without its own " at line L column C".
fn reason(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// Builds a [`Value`] straight from the parser's events (no intermediate
/// tree).
struct Seed;

impl<'de> DeserializeSeed<'de> for Seed {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(Seed)
    }
}

impl<'de> Visitor<'de> for Seed {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
        Ok(Value::Int(n))
    }
    fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
        Ok(i64::try_from(n).map_or(Value::Float(n as f64), Value::Int))
    }
    fn visit_f64<E>(self, x: f64) -> Result<Value, E> {
        Ok(Value::Float(x))
    }
    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(text_value(s.to_string()))
    }
    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(text_value(s))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(Seed)? {
            if items.len() == MAX_ELEMENTS {
                return Err(serde::de::Error::custom(format!(
                    "an array of more than {MAX_ELEMENTS} elements (the most a list may have)"
                )));
            }
            items.push(v);
        }
        Ok(list_value(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut fields = ObjectFields::default();
        while let Some(key) = map.next_key::<String>()? {
            let v = map.next_value_seed(Seed)?;
            fields.set(&key, v);
        }
        Ok(object_value(fields))
    }
}

/// One open List or Object while stringifying, and how far it is written.
enum Open<'a> {
    List(&'a [Value], usize),
    Object(Vec<(&'a str, &'a Value)>, usize),
}

/// JSON_STRINGIFY: the compact JSON text of `v`, or the error message.
///
/// Iterative (a value nested 100,000 deep cannot overflow the native
/// stack) and bounded: it stops with `string too long` once the text is
/// past the string limit, after work in proportion to that limit, however
/// large the value is through sharing.
pub fn stringify(v: &Value) -> Result<String, String> {
    stringify_within(v, MAX_TEXT)
}

fn stringify_within(v: &Value, limit: usize) -> Result<String, String> {
    let mut out: Vec<u8> = Vec::new();
    let mut open: Vec<Open<'_>> = Vec::new();
    let mut next = Some(v);
    loop {
        if let Some(v) = next.take() {
            match v {
                Value::Null => out.extend_from_slice(b"null"),
                Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
                Value::Int(n) => out.extend_from_slice(n.to_string().as_bytes()),
                Value::Float(x) => {
                    if !x.is_finite() {
                        return Err(format!(
                            "JSON_STRINGIFY: {} at {} has no JSON form (JSON numbers are finite)",
                            Value::Float(*x),
                            path(&open)
                        ));
                    }
                    serde_json::to_writer(&mut out, x).map_err(|e| e.to_string())?;
                }
                Value::Str(s) => {
                    serde_json::to_writer(&mut out, s.as_str()).map_err(|e| e.to_string())?
                }
                Value::List(l) => {
                    out.push(b'[');
                    open.push(Open::List(l, 0));
                }
                Value::Object(o) => {
                    out.push(b'{');
                    open.push(Open::Object(fields(o).collect(), 0));
                }
                other => {
                    return Err(format!(
                        "type error: JSON_STRINGIFY cannot take {} (at {}): only Null, Bool, Int, Float, Str, List and Object have a JSON form",
                        article_type(other),
                        path(&open)
                    ))
                }
            }
            if out.len() > limit {
                return Err(too_long_message());
            }
        }
        // The next element of the innermost open List or Object, or close it.
        let Some(top) = open.last_mut() else {
            break;
        };
        match top {
            Open::List(items, i) => {
                if *i < items.len() {
                    if *i > 0 {
                        out.push(b',');
                    }
                    next = Some(&items[*i]);
                    *i += 1;
                } else {
                    out.push(b']');
                    open.pop();
                }
            }
            Open::Object(fields, i) => {
                if *i < fields.len() {
                    if *i > 0 {
                        out.push(b',');
                    }
                    let (k, v) = fields[*i];
                    serde_json::to_writer(&mut out, k).map_err(|e| e.to_string())?;
                    out.push(b':');
                    next = Some(v);
                    *i += 1;
                } else {
                    out.push(b'}');
                    open.pop();
                }
            }
        }
    }
    Ok(String::from_utf8(out).expect("JSON text is UTF-8"))
}

/// `a Function`, `an Exception`.
fn article_type(v: &Value) -> String {
    let t = v.type_name();
    let a = if t.starts_with(['A', 'E', 'I', 'O', 'U']) {
        "an"
    } else {
        "a"
    };
    format!("{a} {t}")
}

/// Where the value being written is: `$`, `$[2]`, `$.name[0]` (a key
/// that is not a plain word is quoted: `$["a b"]`). The innermost open
/// container's counter is already past the element being written.
fn path(open: &[Open<'_>]) -> String {
    let mut p = String::from("$");
    for o in open {
        match o {
            Open::List(_, i) => p.push_str(&format!("[{}]", i.saturating_sub(1))),
            Open::Object(fields, i) => {
                let k = fields[i.saturating_sub(1)].0;
                if !k.is_empty() && k.chars().all(|c| c.is_alphanumeric() || c == '_') {
                    p.push('.');
                    p.push_str(k);
                } else {
                    p.push('[');
                    p.push_str(&serde_json::to_string(k).unwrap_or_default());
                    p.push(']');
                }
            }
        }
        if p.len() > 1024 {
            p.push('…');
            break;
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn round(text: &str) -> String {
        stringify(&parse(text).unwrap()).unwrap()
    }

    #[test]
    fn parse_keeps_kinds_and_key_order() {
        let v = parse(r#"{"b": 1, "a": [true, null, 2.5, "x\u00e9"], "c": {}}"#).unwrap();
        assert_eq!(v.to_string(), "{b: 1, a: [true, null, 2.5, xé], c: {}}");
        assert!(matches!(parse("1").unwrap(), Value::Int(1)));
        assert!(matches!(parse("1.0").unwrap(), Value::Float(_)));
        assert!(matches!(parse("1e2").unwrap(), Value::Float(_)));
        assert!(matches!(
            parse("-9223372036854775808").unwrap(),
            Value::Int(i64::MIN)
        ));
        assert!(matches!(
            parse("9223372036854775808").unwrap(),
            Value::Float(_)
        ));
        assert_eq!(round(r#"{"a":1,"a":2,"b":3}"#), r#"{"a":2,"b":3}"#);
    }

    #[test]
    fn parse_errors_name_line_and_column() {
        let e = parse("{\n  \"a\": 1,\n  \"b\": x\n}").unwrap_err();
        assert_eq!(
            e,
            "JSON_PARSE: invalid JSON at line 3, column 8: expected value"
        );
        let e = parse("[1, 2").unwrap_err();
        assert!(
            e.starts_with("JSON_PARSE: invalid JSON at line 1, column 5: EOF"),
            "{e}"
        );
        let e = parse("1 2").unwrap_err();
        assert!(e.contains("trailing characters"), "{e}");
        let deep = "[".repeat(200);
        let e = parse(&deep).unwrap_err();
        assert!(e.contains("recursion limit exceeded"), "{e}");
    }

    #[test]
    fn stringify_round_trips_every_json_kind() {
        for text in [
            "null",
            "true",
            "-7",
            "3.0",
            "0.1",
            "1e100",
            "-0.0",
            r#""a\"b\\c\n\u0001é""#,
            "[]",
            "{}",
            r#"[1,[2,[3,{"k":[]}]],"x"]"#,
            r#"{"z":1,"a":{"b":[null,false]},"":2}"#,
        ] {
            let once = round(text);
            assert_eq!(round(&once), once, "{text}");
            assert!(
                parse(&once).unwrap().equals(&parse(text).unwrap()),
                "{text}"
            );
        }
        assert_eq!(round("3.0"), "3.0");
        assert_eq!(round(r#"{"a" : [1 , 2]}"#), r#"{"a":[1,2]}"#);
    }

    #[test]
    fn stringify_refuses_values_without_a_json_form() {
        let v = parse(r#"{"a":[1,2,{"b c":0}]}"#).unwrap();
        assert!(stringify(&v).is_ok());
        let nan = Value::list(vec![Value::Int(1), Value::Float(f64::NAN)]);
        let e = stringify(&nan).unwrap_err();
        assert_eq!(
            e,
            "JSON_STRINGIFY: NaN at $[1] has no JSON form (JSON numbers are finite)"
        );
        let inf = Value::Float(f64::INFINITY);
        assert!(stringify(&inf)
            .unwrap_err()
            .contains("inf at $ has no JSON form"));
        let exc = Value::Exception(Value::error("boom"));
        let e = stringify(&Value::list(vec![exc])).unwrap_err();
        assert!(
            e.starts_with("type error: JSON_STRINGIFY cannot take an Exception (at $[0])"),
            "{e}"
        );
    }

    /// A value of every kind that has a JSON form, nested a few levels.
    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::Int),
            any::<f64>()
                .prop_filter("finite", |x| x.is_finite())
                .prop_map(Value::Float),
            ".{0,12}".prop_map(Value::str),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::list),
                proptest::collection::vec((".{0,6}", inner), 0..6).prop_map(|fields| {
                    let mut o = ObjectFields::default();
                    for (k, v) in fields {
                        o.set(&k, v);
                    }
                    object_value(o)
                }),
            ]
        })
    }

    /// The kinds of `v`'s parts, in order (EQ would take Int 1 for 1.0).
    fn kinds(v: &Value, out: &mut Vec<&'static str>) {
        out.push(v.type_name());
        match v {
            Value::List(l) => l.iter().for_each(|x| kinds(x, out)),
            Value::Object(o) => o.iter().for_each(|(_, x)| kinds(x, out)),
            _ => {}
        }
    }

    proptest! {
        /// JSON_PARSE of JSON_STRINGIFY's text gives an equal value of the
        /// same kinds (Ints stay Ints, Floats stay Floats, key order kept),
        /// and stringifying that again gives the same text.
        #[test]
        fn every_kind_round_trips(v in json_value()) {
            let text = stringify(&v).unwrap();
            let back = parse(&text).unwrap();
            prop_assert!(back.equals(&v), "{text}");
            let (mut a, mut b) = (Vec::new(), Vec::new());
            kinds(&v, &mut a);
            kinds(&back, &mut b);
            prop_assert_eq!(a, b);
            prop_assert_eq!(stringify(&back).unwrap(), text);
        }
    }

    #[test]
    fn stringify_is_iterative_and_bounded() {
        // 100,000 levels: no native recursion.
        let mut v = Value::Int(0);
        for _ in 0..100_000 {
            v = Value::list(vec![v]);
        }
        let text = stringify(&v).unwrap();
        assert_eq!(text.len(), 200_001);
        // 2^40 elements through sharing: stops at the string limit.
        let mut v = Value::str("x".repeat(1000));
        for _ in 0..40 {
            v = Value::list(vec![v.clone(), v]);
        }
        assert!(stringify_within(&v, 1 << 20)
            .unwrap_err()
            .contains("string too long"));
    }
}
