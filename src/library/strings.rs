//! String operations. Positions and lengths count characters (Unicode
//! scalar values), as `LEN` and `INDEX` do, never bytes: `"héllo" 1 3
//! SUBSTR` is `"éll"`. On ASCII text (which a `Str` knows it is) a
//! position is a byte offset, so those cases cost no scan.

use super::{text, too_long, Args};
use crate::bytecode::Opcode;
use crate::exec::ops::{MAX_LIST_LEN, MAX_STR_BYTES};
use crate::exec::{error, OpResult};
use ttvm_runtime::{Str, Value};

pub(super) fn call(op: Opcode, a: &mut Args<'_>) -> OpResult {
    use Opcode as O;
    match op {
        O::Substr => substr(a),
        O::Find => {
            let s = a.str(0, "s")?;
            let needle = a.str(1, "needle")?;
            let r = find(s, needle);
            a.finish(Value::Int(r))
        }
        O::Split => split(a),
        O::Join => join(a),
        O::Replace => replace(a),
        O::Trim => {
            let s = a.str(0, "s")?;
            let t = s.trim();
            if t.len() == s.len() {
                let v = a.take(0);
                return a.finish(v);
            }
            let r = text(t.to_string());
            a.finish(r)
        }
        O::Upper | O::Lower => {
            let s = a.str(0, "s")?;
            let r = if op == O::Upper {
                s.to_uppercase()
            } else {
                s.to_lowercase()
            };
            if r.len() > MAX_STR_BYTES {
                return too_long();
            }
            a.finish(text(r))
        }
        O::StartsWith | O::EndsWith => {
            let s = a.str(0, "s")?;
            let p = a.str(
                1,
                if op == O::StartsWith {
                    "prefix"
                } else {
                    "suffix"
                },
            )?;
            let r = if op == O::StartsWith {
                s.starts_with(p.as_str())
            } else {
                s.ends_with(p.as_str())
            };
            a.finish(Value::Bool(r))
        }
        O::Chr => {
            let n = a.int(0, "n")?;
            match u32::try_from(n).ok().and_then(char::from_u32) {
                Some(c) => a.finish(Value::char_str(c.encode_utf8(&mut [0; 4]))),
                None => error(format!(
                    "CHR: {n} is not a Unicode code point (0 to 1114111, \
                     without the surrogates 55296 to 57343)"
                )),
            }
        }
        O::Ord => {
            let s = a.str(0, "s")?;
            let mut chars = s.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => a.finish(Value::Int(c as i64)),
                _ => error(format!(
                    "ORD needs a 1-character string, got {} characters (use INDEX to take one)",
                    s.char_len()
                )),
            }
        }
        O::Repeat => {
            let s = a.str(0, "s")?;
            let n = a.int(1, "n")?;
            if n < 0 {
                return error(format!("REPEAT needs a count `n` of 0 or more, got {n}"));
            }
            if (s.len() as u128) * (n as u128) > MAX_STR_BYTES as u128 {
                return too_long();
            }
            let r = s.repeat(n as usize);
            a.finish(text(r))
        }
        _ => unreachable!("not a string operation: {op:?}"),
    }
}

/// Byte offset of character `i` of `s` (`i` ≤ its length), or `None`
/// past the end.
pub fn byte_of_char(s: &Str, i: usize) -> Option<usize> {
    if s.is_ascii() {
        return (i <= s.len()).then_some(i);
    }
    if i == 0 {
        return Some(0);
    }
    let mut k = 0;
    for (b, _) in s.char_indices() {
        if k == i {
            return Some(b);
        }
        k += 1;
    }
    (k == i).then_some(s.len())
}

/// Character position of the byte offset `b` of `s` (a char boundary).
fn char_of_byte(s: &Str, b: usize) -> usize {
    if s.is_ascii() {
        b
    } else {
        s[..b].chars().count()
    }
}

/// `SUBSTR s start len`: `start` must lie in 0..=length (else the index
/// error INDEX raises), `len` must not be negative; a `len` past the end
/// stops at the end.
fn substr(a: &mut Args<'_>) -> OpResult {
    let s = a.str(0, "s")?;
    let start = a.int(1, "start")?;
    let len = a.int(2, "len")?;
    let out_of_bounds = || {
        error(format!(
            "index {start} out of bounds for length {}",
            s.char_len()
        ))
    };
    if start < 0 {
        return out_of_bounds();
    }
    if len < 0 {
        return error(format!(
            "SUBSTR needs a length `len` of 0 or more, got {len}"
        ));
    }
    let Some(from) = byte_of_char(s, start as usize) else {
        return out_of_bounds();
    };
    let rest = &s[from..];
    let to = if s.is_ascii() {
        from + rest.len().min(len as usize)
    } else {
        from + rest
            .char_indices()
            .nth(len as usize)
            .map_or(rest.len(), |(b, _)| b)
    };
    let r = text(s[from..to].to_string());
    a.finish(r)
}

/// Character position of the first `needle` in `s`, or -1.
fn find(s: &Str, needle: &Str) -> i64 {
    match s.find(needle.as_str()) {
        Some(b) => char_of_byte(s, b) as i64,
        None => -1,
    }
}

fn split(a: &mut Args<'_>) -> OpResult {
    let s = a.str(0, "s")?;
    let sep = a.str(1, "sep")?;
    let parts: Vec<Value> = if sep.is_empty() {
        if s.char_len() > MAX_LIST_LEN {
            return super::list_too_long();
        }
        s.chars()
            .map(|c| Value::char_str(c.encode_utf8(&mut [0; 4])))
            .collect()
    } else {
        if s.matches(sep.as_str()).count() >= MAX_LIST_LEN {
            return super::list_too_long();
        }
        s.split(sep.as_str()).map(|p| text(p.to_string())).collect()
    };
    a.finish(Value::list(parts))
}

fn join(a: &mut Args<'_>) -> OpResult {
    let list = a.list(0, "list")?;
    let sep = a.str(1, "sep")?;
    let mut out = String::new();
    for (i, v) in list.iter().enumerate() {
        if i > 0 {
            if out.len() + sep.len() > MAX_STR_BYTES {
                return too_long();
            }
            out.push_str(sep);
        }
        let left = MAX_STR_BYTES - out.len();
        if v.write_text(&mut out, left).is_err() {
            return too_long();
        }
    }
    a.finish(text(out))
}

fn replace(a: &mut Args<'_>) -> OpResult {
    let s = a.str(0, "s")?;
    let from = a.str(1, "from")?;
    let to = a.str(2, "to")?;
    if from.is_empty() {
        return error("REPLACE needs a non-empty pattern (to insert text, use CONCAT or JOIN)");
    }
    let count = s.matches(from.as_str()).count();
    if count == 0 {
        let v = a.take(0);
        return a.finish(v);
    }
    let size = s.len() as u128 - (count * from.len()) as u128 + (count as u128) * to.len() as u128;
    if size > MAX_STR_BYTES as u128 {
        return too_long();
    }
    let r = s.replace(from.as_str(), to);
    a.finish(text(r))
}

#[cfg(test)]
mod tests {
    use super::super::run;
    use crate::bytecode::Opcode as O;
    use proptest::prelude::*;
    use ttvm_runtime::Value;

    fn s(x: &str) -> Value {
        Value::str(x)
    }

    fn shown(r: Result<Value, String>) -> String {
        match r {
            Ok(v) => v.to_string(),
            Err(e) => format!("error: {e}"),
        }
    }

    #[test]
    fn substr_counts_characters() {
        let r = |t: &str, a, b| shown(run(O::Substr, vec![s(t), Value::Int(a), Value::Int(b)]));
        assert_eq!(r("héllo wörld", 1, 3), "éll");
        assert_eq!(r("héllo", 3, 100), "lo");
        assert_eq!(r("héllo", 5, 1), "");
        assert_eq!(r("abc", 0, 0), "");
        assert_eq!(
            r("héllo", 6, 1),
            "error: index 6 out of bounds for length 5"
        );
        assert_eq!(
            r("abc", -1, 1),
            "error: index -1 out of bounds for length 3"
        );
        assert!(r("abc", 0, -1).contains("of 0 or more"));
    }

    #[test]
    fn find_split_join_replace() {
        assert_eq!(shown(run(O::Find, vec![s("añb→c"), s("→")])), "3");
        assert_eq!(shown(run(O::Find, vec![s("abc"), s("x")])), "-1");
        assert_eq!(shown(run(O::Find, vec![s("abc"), s("")])), "0");
        assert_eq!(
            shown(run(O::Split, vec![s("a,b,,c"), s(",")])),
            "[a, b, , c]"
        );
        assert_eq!(shown(run(O::Split, vec![s("hé!"), s("")])), "[h, é, !]");
        assert_eq!(shown(run(O::Split, vec![s(""), s(",")])), "[]");
        let l = Value::list(vec![s("a"), Value::Int(1), Value::Float(2.5)]);
        assert_eq!(shown(run(O::Join, vec![l, s("-")])), "a-1-2.5");
        assert_eq!(
            shown(run(O::Replace, vec![s("a.b.c"), s("."), s("::")])),
            "a::b::c"
        );
        assert!(shown(run(O::Replace, vec![s("a"), s(""), s("x")])).contains("non-empty"));
    }

    #[test]
    fn case_trim_chr_ord_repeat() {
        assert_eq!(shown(run(O::Upper, vec![s("straße")])), "STRASSE");
        assert_eq!(shown(run(O::Lower, vec![s("ÀB")])), "àb");
        assert_eq!(shown(run(O::Trim, vec![s(" \t x y \n")])), "x y");
        assert_eq!(shown(run(O::Chr, vec![Value::Int(8364)])), "€");
        assert!(shown(run(O::Chr, vec![Value::Int(0xD800)])).contains("not a Unicode"));
        assert!(shown(run(O::Chr, vec![Value::Int(-1)])).contains("not a Unicode"));
        assert_eq!(shown(run(O::Ord, vec![s("€")])), "8364");
        assert!(shown(run(O::Ord, vec![s("ab")])).contains("got 2 characters"));
        assert_eq!(
            shown(run(O::Repeat, vec![s("ab"), Value::Int(3)])),
            "ababab"
        );
        assert!(shown(run(O::Repeat, vec![s("ab"), Value::Int(1 << 40)])).contains("too long"));
        assert!(shown(run(O::Repeat, vec![s("ab"), Value::Int(-1)])).contains("0 or more"));
        assert_eq!(shown(run(O::StartsWith, vec![s("hé"), s("h")])), "true");
        assert_eq!(shown(run(O::EndsWith, vec![s("hé"), s("h")])), "false");
    }

    proptest! {
        /// SUBSTR and FIND agree with a character-by-character model on
        /// text mixing ASCII, 2-, 3- and 4-byte characters.
        #[test]
        fn positions_are_characters(
            chars in proptest::collection::vec(prop::sample::select(vec!['a', 'b', 'é', '→', '😀', ' ']), 0..20),
            start in 0usize..22,
            len in 0usize..22,
        ) {
            let t: String = chars.iter().collect();
            let r = run(O::Substr, vec![s(&t), Value::Int(start as i64), Value::Int(len as i64)]);
            if start > chars.len() {
                prop_assert!(r.is_err());
            } else {
                let want: String = chars[start..].iter().take(len).collect();
                prop_assert_eq!(shown(r), want.clone());
                if !want.is_empty() {
                    let at = run(O::Find, vec![s(&t), s(&want)]).unwrap();
                    let first = (0..=chars.len() - want.chars().count())
                        .find(|&i| chars[i..].iter().take(want.chars().count()).collect::<String>() == want)
                        .unwrap();
                    prop_assert_eq!(at.to_string(), first.to_string());
                }
            }
        }
    }
}
