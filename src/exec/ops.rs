//! The semantics of value operations (SPEC §3.2, §3.3, §3.7), shared by
//! every tier. Fast paths for Int∘Int live in the tiers; these functions are
//! the complete definitions.

use super::{error, OpResult};
use std::cmp::Ordering;
use std::sync::Arc;
use ttvm_runtime::value::{FieldSite, Key};
use ttvm_runtime::{Atom, Object, Str, Value};

use crate::bytecode::Opcode;
pub use crate::bytecode::{Arith, Cmp};

impl Arith {
    /// Int∘Int with wrapping; `None` on division by zero.
    #[inline(always)]
    pub fn ints(self, a: i64, b: i64) -> Option<i64> {
        Some(match self {
            Arith::Add => a.wrapping_add(b),
            Arith::Sub => a.wrapping_sub(b),
            Arith::Mul => a.wrapping_mul(b),
            Arith::Div => {
                if b == 0 {
                    return None;
                }
                a.wrapping_div(b)
            }
            Arith::Mod => {
                if b == 0 {
                    return None;
                }
                a.wrapping_rem(b)
            }
        })
    }

    /// Float∘Float; `None` on division by zero.
    #[inline(always)]
    pub fn floats(self, a: f64, b: f64) -> Option<f64> {
        Some(match self {
            Arith::Add => a + b,
            Arith::Sub => a - b,
            Arith::Mul => a * b,
            Arith::Div => {
                if b == 0.0 {
                    return None;
                }
                a / b
            }
            Arith::Mod => {
                if b == 0.0 {
                    return None;
                }
                a % b
            }
        })
    }
}

#[cold]
fn type_error<T>(op: &str, a: &Value, b: &Value) -> OpResult<T> {
    error(format!(
        "type error: {op} cannot take {} and {}",
        a.type_name(),
        b.type_name()
    ))
}

#[cold]
fn division_by_zero<T>() -> OpResult<T> {
    error("division by zero")
}

fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    }
}

/// `ADD SUB MUL DIV MOD`: Int∘Int → Int (wrapping), else Float.
pub fn arith(op: Arith, a: &Value, b: &Value) -> OpResult<Value> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => match op.ints(*x, *y) {
            Some(r) => Ok(Value::Int(r)),
            None => division_by_zero(),
        },
        _ => match (as_f64(a), as_f64(b)) {
            (Some(x), Some(y)) => match op.floats(x, y) {
                Some(r) => Ok(Value::Float(r)),
                None => division_by_zero(),
            },
            _ => type_error(op.mnemonic(false), a, b),
        },
    }
}

/// `ADD_F SUB_F MUL_F DIV_F`: always a Float.
pub fn arith_f(op: Arith, a: &Value, b: &Value) -> OpResult<Value> {
    match (as_f64(a), as_f64(b)) {
        (Some(x), Some(y)) => match op.floats(x, y) {
            Some(r) => Ok(Value::Float(r)),
            None => division_by_zero(),
        },
        _ => type_error(op.mnemonic(true), a, b),
    }
}

/// `NEG`.
pub fn neg(a: &Value) -> OpResult<Value> {
    match a {
        Value::Int(i) => Ok(Value::Int(i.wrapping_neg())),
        Value::Float(f) => Ok(Value::Float(-f)),
        other => error(format!(
            "type error: {} cannot take {}",
            Opcode::Neg.mnemonic(),
            other.type_name()
        )),
    }
}

/// The longest string a program may build (CONCAT, TO_STR, PRINT of a
/// large value): beyond it the operation raises instead of exhausting memory.
pub const MAX_STR_BYTES: usize = 1 << 28;
/// The most elements a list may grow to by APPEND.
pub const MAX_LIST_LEN: usize = 1 << 26;

#[cold]
fn too_long<T>() -> OpResult<T> {
    error(format!(
        "string too long (over {} MiB)",
        MAX_STR_BYTES >> 20
    ))
}

/// Append the PRINT text of `v` to `out`, which already holds `have` bytes,
/// or raise `string too long` (after work bounded by the limit, however
/// large or self-sharing the value).
fn write_text(out: &mut impl std::fmt::Write, have: usize, v: &Value) -> OpResult {
    // An Int without `fmt`'s machinery (TO_STR of a number, a key made
    // of one: issue 15, run-time keys), the same text.
    if let Value::Int(n) = v {
        let mut buf = [0u8; 20];
        let t = int_text(*n, &mut buf);
        if t.len() > MAX_STR_BYTES.saturating_sub(have) || out.write_str(t).is_err() {
            return too_long();
        }
        return Ok(());
    }
    match v.write_text(out, MAX_STR_BYTES.saturating_sub(have)) {
        Ok(()) => Ok(()),
        Err(ttvm_runtime::value::TooLong) => too_long(),
    }
}

/// The decimal text of `n` (its PRINT text), written at the end of `buf`.
fn int_text(n: i64, buf: &mut [u8; 20]) -> &str {
    let mut i = buf.len();
    let mut u = n.unsigned_abs();
    loop {
        i -= 1;
        buf[i] = b'0' + (u % 10) as u8;
        u /= 10;
        if u == 0 {
            break;
        }
    }
    if n < 0 {
        i -= 1;
        buf[i] = b'-';
    }
    std::str::from_utf8(&buf[i..]).unwrap_or_default()
}

/// The PRINT text of `v` (TO_STR, PRINT), bounded by [`MAX_STR_BYTES`].
pub fn text(v: &Value) -> OpResult<String> {
    let mut s = String::new();
    write_text(&mut s, 0, v)?;
    Ok(s)
}

/// `CONCAT`: the PRINT texts joined; reuses `a`'s storage when unshared.
pub fn concat(a: Value, b: &Value) -> OpResult<Value> {
    match a {
        Value::Str(mut s) => {
            if let Value::Str(t) = b {
                if s.len() + t.len() > MAX_STR_BYTES {
                    return too_long();
                }
                Arc::make_mut(&mut s).push_str(t);
            } else {
                let have = s.len();
                write_text(Arc::make_mut(&mut s), have, b)?;
            }
            Ok(Value::Str(s))
        }
        other => {
            let mut s = text(&other)?;
            let have = s.len();
            write_text(&mut s, have, b)?;
            Ok(Value::str(s))
        }
    }
}

impl Cmp {
    /// Whether an ordering satisfies this comparison (`None` = unordered).
    #[inline]
    pub fn holds(self, ord: Option<Ordering>) -> bool {
        match self {
            Cmp::Eq => ord == Some(Ordering::Equal),
            Cmp::Ne => ord != Some(Ordering::Equal),
            Cmp::Gt => ord == Some(Ordering::Greater),
            Cmp::Lt => ord == Some(Ordering::Less),
            Cmp::Ge => matches!(ord, Some(Ordering::Greater | Ordering::Equal)),
            Cmp::Le => matches!(ord, Some(Ordering::Less | Ordering::Equal)),
        }
    }

    /// Int∘Int.
    #[inline]
    pub fn ints(self, a: i64, b: i64) -> bool {
        match self {
            Cmp::Eq => a == b,
            Cmp::Ne => a != b,
            Cmp::Gt => a > b,
            Cmp::Lt => a < b,
            Cmp::Ge => a >= b,
            Cmp::Le => a <= b,
        }
    }
}

/// `EQ NE GT LT GE LE`.
pub fn compare(op: Cmp, a: &Value, b: &Value) -> OpResult<bool> {
    match op {
        Cmp::Eq => Ok(a.equals(b)),
        Cmp::Ne => Ok(!a.equals(b)),
        _ => match a.compare(b) {
            Some(ord) => Ok(op.holds(ord)),
            None => type_error(op.mnemonic(false), a, b),
        },
    }
}

/// `EQ_F NE_F GT_F …`: numeric only; EQ_F/NE_F within f64::EPSILON.
pub fn compare_f(op: Cmp, a: &Value, b: &Value) -> OpResult<bool> {
    let (Some(x), Some(y)) = (as_f64(a), as_f64(b)) else {
        return type_error(op.mnemonic(true), a, b);
    };
    Ok(match op {
        Cmp::Eq => (x - y).abs() < f64::EPSILON,
        Cmp::Ne => (x - y).abs() >= f64::EPSILON || (x - y).is_nan(),
        _ => op.holds(x.partial_cmp(&y)),
    })
}

/// `LEN`.
pub fn len(v: &Value) -> OpResult<Value> {
    Ok(Value::Int(match v {
        Value::List(l) => l.len() as i64,
        Value::Object(o) => o.len() as i64,
        Value::Str(s) => s.char_len() as i64,
        other => {
            return error(format!(
                "type error: {} cannot take {}",
                Opcode::Len.mnemonic(),
                other.type_name()
            ))
        }
    }))
}

/// The instruction's name is looked up only for the error (it was
/// computed on every call: ~19 instructions per INDEX).
fn index_of(i: &Value, len: usize, op: Opcode) -> OpResult<usize> {
    match i {
        Value::Int(i) if *i >= 0 && (*i as u64) < len as u64 => Ok(*i as usize),
        Value::Int(i) => error(format!("index {i} out of bounds for length {len}")),
        other => error(format!(
            "type error: {} needs an Int index, got {}",
            op.mnemonic(),
            other.type_name()
        )),
    }
}

/// `INDEX`.
pub fn index(x: &Value, i: &Value) -> OpResult<Value> {
    match x {
        Value::List(l) => Ok(l[index_of(i, l.len(), Opcode::Index)?].clone()),
        Value::Str(s) => {
            let k = index_of(i, s.char_len(), Opcode::Index)?;
            Ok(Value::char_str(s.char_at(k).unwrap_or_default()))
        }
        other => type_error(Opcode::Index.mnemonic(), other, i),
    }
}

/// `APPEND`: reuses the list's storage when unshared.
pub fn append(list: Value, v: Value) -> OpResult<Value> {
    match list {
        Value::List(mut l) => {
            if l.len() >= MAX_LIST_LEN {
                return error(format!("list too long (over {MAX_LIST_LEN} elements)"));
            }
            l.push(v);
            Ok(Value::List(l))
        }
        other => type_error(Opcode::Append.mnemonic(), &other, &v),
    }
}

/// `SET_INDEX`.
pub fn set_index(list: Value, i: &Value, v: Value) -> OpResult<Value> {
    match list {
        Value::List(mut l) => {
            let k = index_of(i, l.len(), Opcode::SetIndex)?;
            l.make_mut()[k] = v;
            Ok(Value::List(l))
        }
        other => error(format!(
            "type error: SET_INDEX needs a List, got {}",
            other.type_name()
        )),
    }
}

fn not_object<T>(op: &str, v: &Value) -> OpResult<T> {
    error(format!(
        "type error: {op} needs an Object, got {}",
        v.type_name()
    ))
}

/// A field key: the instruction's operand (a name in the program), or a
/// Str popped from the stack (SPEC extension, issue 14: keys are strings
/// only, compared by content).
#[derive(Clone, Copy)]
pub enum FieldKey<'a> {
    Name(&'a Atom),
    Run(&'a Arc<Str>),
}

impl FieldKey<'_> {
    pub fn as_str(&self) -> &str {
        match self {
            FieldKey::Name(a) => a.as_str(),
            FieldKey::Run(s) => s.as_str(),
        }
    }

    /// The key to store for a new field (a name's text is shared).
    fn key(&self) -> Key {
        match self {
            FieldKey::Name(a) => a.text(),
            // Shares a field name's text when it is one (issue 15).
            FieldKey::Run(s) => ttvm_runtime::value::shared_key(s.as_str()),
        }
    }

    // The object's operations by this key: a run-time key's index hash
    // is kept in its string (`Str::key_hash`: hashed once however often
    // it is used).

    fn get<'o>(&self, o: &'o Object) -> Option<&'o Value> {
        match self {
            FieldKey::Name(a) => o.get(a.as_str()),
            FieldKey::Run(s) => o.get_str(s),
        }
    }

    fn contained_in(&self, o: &Object) -> bool {
        match self {
            FieldKey::Name(a) => o.contains(a.as_str()),
            FieldKey::Run(s) => o.contains_str(s),
        }
    }

    fn set_in(&self, o: &mut Object, v: Value) {
        match self {
            FieldKey::Name(a) => o.set_with(a.as_str(), || a.text(), v),
            FieldKey::Run(s) => o.set_with_str(s, || self.key(), v),
        };
    }

    fn remove_from(&self, o: &mut Object) -> Option<Value> {
        match self {
            FieldKey::Name(a) => o.remove(a.as_str()),
            FieldKey::Run(s) => o.remove_str(s),
        }
    }
}

/// A run-time key: a Str, else a type error that says how to make one.
pub fn field_key<'a>(op: &str, key: &'a Value) -> OpResult<FieldKey<'a>> {
    match key {
        Value::Str(s) => Ok(FieldKey::Run(s)),
        other => error(format!(
            "type error: {op} needs a Str key, got {} (object keys are strings: \
             convert with TO_STR)",
            other.type_name()
        )),
    }
}

/// The most fields an object may have.
pub const MAX_FIELDS: usize = MAX_LIST_LEN;

/// Whether SET_FIELD of `key` on `obj` succeeds (an Object with room).
pub fn can_set_field(obj: &Value, key: FieldKey<'_>) -> OpResult {
    match obj {
        Value::Object(o) if o.len() >= MAX_FIELDS && !key.contained_in(o) => {
            error(format!("object too large (over {MAX_FIELDS} fields)"))
        }
        Value::Object(_) => Ok(()),
        other => not_object(Opcode::SetField.mnemonic(), other),
    }
}

/// `SET_FIELD`: in place when nothing else holds the object.
pub fn set_field(obj: Value, key: FieldKey<'_>, v: Value) -> OpResult<Value> {
    can_set_field(&obj, key)?;
    match obj {
        Value::Object(mut o) => {
            key.set_in(Arc::make_mut(&mut o), v);
            Ok(Value::Object(o))
        }
        other => not_object(Opcode::SetField.mnemonic(), &other),
    }
}

/// `GET_FIELD name` at a site with a cache (issue 15): as [`get_field`].
#[inline]
pub fn get_field_at(obj: &Value, name: &Atom, site: &FieldSite) -> OpResult<Value> {
    match obj {
        Value::Object(o) => Ok(site.get(o, name).cloned().unwrap_or(Value::Null)),
        _ => get_field(obj, FieldKey::Name(name)),
    }
}

/// Whether `SET_FIELD name` on `o` stays within [`MAX_FIELDS`].
#[inline]
pub fn has_room(o: &Object, name: &Atom) -> bool {
    o.len() < MAX_FIELDS || o.contains(name.as_str())
}

/// `SET_FIELD name` at a site with a cache, on an object with room
/// ([`has_room`]): in place when nothing else holds it.
#[inline]
pub fn set_field_at(o: &mut Arc<Object>, name: &Atom, site: &FieldSite, v: Value) {
    site.set(Arc::make_mut(o), name, v);
}

/// `GET_FIELD`: Null when missing; `message`/`value` of an Exception.
pub fn get_field(obj: &Value, key: FieldKey<'_>) -> OpResult<Value> {
    match obj {
        Value::Object(o) => Ok(key.get(o).cloned().unwrap_or(Value::Null)),
        Value::Exception(e) => Ok(match key.as_str() {
            "message" => Value::Str(e.message.clone()),
            "value" => e.value.clone(),
            _ => Value::Null,
        }),
        other => not_object(Opcode::GetField.mnemonic(), other),
    }
}

/// `HAS_FIELD`.
pub fn has_field(obj: &Value, key: FieldKey<'_>) -> OpResult<Value> {
    match obj {
        Value::Object(o) => Ok(Value::Int(key.contained_in(o) as i64)),
        Value::Exception(_) => Ok(Value::Int(
            matches!(key.as_str(), "message" | "value") as i64
        )),
        other => not_object(Opcode::HasField.mnemonic(), other),
    }
}

/// `DELETE_FIELD`: in place when nothing else holds the object.
pub fn delete_field(obj: Value, key: FieldKey<'_>) -> OpResult<Value> {
    match obj {
        Value::Object(mut o) => {
            if key.contained_in(&o) {
                key.remove_from(Arc::make_mut(&mut o));
            }
            Ok(Value::Object(o))
        }
        other => not_object(Opcode::DeleteField.mnemonic(), &other),
    }
}

/// `KEYS`.
pub fn keys(obj: &Value) -> OpResult<Value> {
    match obj {
        Value::Object(o) => Ok(Value::list(o.iter().map(|(k, _)| Value::str(k)).collect())),
        other => not_object(Opcode::Keys.mnemonic(), other),
    }
}

/// A new empty object.
pub fn new_object() -> Value {
    Value::Object(Arc::new(Object::new()))
}

/// `TO_INT`.
pub fn to_int(v: &Value) -> OpResult<Value> {
    let fail = || error(format!("cannot convert {v} to Int"));
    match v {
        Value::Int(i) => Ok(Value::Int(*i)),
        Value::Float(f) => {
            let t = f.trunc();
            if (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&t) {
                Ok(Value::Int(t as i64))
            } else {
                fail()
            }
        }
        Value::Str(s) => {
            let t = s.trim();
            let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return fail();
            }
            t.parse::<i64>().map(Value::Int).or_else(|_| fail())
        }
        _ => fail(),
    }
}

/// `TO_FLOAT`.
pub fn to_float(v: &Value) -> OpResult<Value> {
    match v {
        Value::Int(i) => Ok(Value::Float(*i as f64)),
        Value::Float(f) => Ok(Value::Float(*f)),
        Value::Str(s) => s
            .trim()
            .parse::<f64>()
            .map(Value::Float)
            .or_else(|_| error(format!("cannot convert {v} to Float"))),
        _ => error(format!("cannot convert {v} to Float")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_arithmetic_wraps_and_never_panics() {
        assert_eq!(Arith::Div.ints(i64::MIN, -1), Some(i64::MIN));
        assert_eq!(Arith::Mod.ints(i64::MIN, -1), Some(0));
        assert_eq!(Arith::Add.ints(i64::MAX, 1), Some(i64::MIN));
        assert_eq!(Arith::Mod.ints(-7, 2), Some(-1));
        assert_eq!(Arith::Div.ints(-7, 2), Some(-3));
        assert_eq!(Arith::Div.ints(1, 0), None);
    }

    #[test]
    fn mixed_arithmetic_gives_floats() {
        let r = arith(Arith::Add, &Value::Int(1), &Value::Float(0.5)).unwrap();
        assert!(matches!(r, Value::Float(f) if f == 1.5));
        assert!(arith(Arith::Mod, &Value::Float(1.0), &Value::Float(0.0)).is_err());
        let e = arith(Arith::Add, &Value::str("a"), &Value::Int(1)).unwrap_err();
        assert_eq!(*e.message, "type error: ADD cannot take Str and Int");
    }

    /// An Int's text (TO_STR, CONCAT) is `fmt`'s, at every magnitude.
    #[test]
    fn int_texts_are_the_print_texts() {
        let mut x: i64 = 1;
        let mut ns = vec![0, -1, 9, 10, -10, 99, 100, i64::MAX, i64::MIN, i64::MIN + 1];
        for _ in 0..64 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ns.extend([x, x >> 17, -(x >> 40), x % 1000]);
        }
        for n in ns {
            let mut buf = [0u8; 20];
            assert_eq!(int_text(n, &mut buf), n.to_string());
            assert_eq!(text(&Value::Int(n)).unwrap(), n.to_string());
            let c = concat(Value::str("k"), &Value::Int(n)).unwrap();
            assert_eq!(text(&c).unwrap(), format!("k{n}"));
        }
    }

    #[test]
    fn conversions() {
        assert!(matches!(
            to_int(&Value::Float(-2.7)).unwrap(),
            Value::Int(-2)
        ));
        assert!(matches!(
            to_int(&Value::str(" 42 ")).unwrap(),
            Value::Int(42)
        ));
        let e = to_int(&Value::str("4x")).unwrap_err();
        assert_eq!(*e.message, "cannot convert 4x to Int");
        assert!(to_int(&Value::Float(f64::NAN)).is_err());
        assert!(to_int(&Value::Bool(true)).is_err());
    }

    #[test]
    fn doubling_strings_and_shared_lists_stop_at_the_limit() {
        let mut s = Value::str("x".repeat(1 << 20));
        let mut err = None;
        for _ in 0..20 {
            match concat(s.clone(), &s) {
                Ok(v) => s = v,
                Err(e) => {
                    err = Some(e);
                    break;
                }
            }
        }
        assert!(err.unwrap().message.starts_with("string too long"));
        // 2^40 elements when printed, built from 40 shared levels.
        let mut l = Value::list(vec![Value::str("abcdefgh")]);
        for _ in 0..40 {
            l = Value::list(vec![l.clone(), l]);
        }
        assert!(text(&l).is_err());
    }

    #[test]
    fn concat_reuses_unshared_strings() {
        let a = Value::str("ab");
        let ptr = match &a {
            Value::Str(s) => Arc::as_ptr(s),
            _ => unreachable!(),
        };
        let r = concat(a, &Value::Int(1)).unwrap();
        match &r {
            Value::Str(s) => {
                assert_eq!(s.as_str(), "ab1");
                assert_eq!(Arc::as_ptr(s), ptr);
            }
            _ => panic!("not a string"),
        }
    }
}
