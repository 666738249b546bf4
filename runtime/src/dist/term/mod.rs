//! ttvm values ↔ Erlang terms (issue 17, item 3): the mapping documented
//! in docs/DISTRIBUTION.md ("Term mapping"), both ways, and the guarded
//! decoder of the external term format.
//!
//! Terms are `eetf` 0.11's [`Term`] (what `erl_dist` 0.8 re-exports).
//!
//! In short: Int ↔ integer, Float ↔ float, Str ↔ binary, Bool ↔
//! `true`/`false`, Null ↔ `undefined`, List ↔ proper list, Object ↔ map
//! with binary keys; what ttvm has no kind for is a one-field object with
//! a `$` key (a "marker"): `{"$atom": "ok"}`, `{"$tuple": [...]}`,
//! `{"$bigint": "123…"}`, `{"$binary": [bytes]}` (a binary that is not
//! UTF-8), `{"$map": [[k, v], …]}` (a map with other keys); `{"$pid": n}`
//! sends the local PID `n` (an Int) as a PID. Remote PIDs and references
//! are handle values ([`RemotePid`], [`RemoteRef`]); an Erlang PID of this
//! node converts to its Int. Everything else is a [`TermError`].
//!
//! [`to_term`] and [`from_term`] recurse once per nesting level, at most
//! [`Limits::depth`] levels, and stop at [`Limits::elements`] elements
//! and [`Limits::bytes`] bytes of text, so a value shared into 2^40
//! elements or nested a million levels deep is refused after bounded work.
//! [`decode`] checks the bytes (`check.rs`) before `eetf` sees them.

mod check;
mod pid;
#[cfg(test)]
mod tests;

pub use check::MAX_BIG_BYTES;
pub use eetf::Term;
pub use pid::{RemotePid, RemoteRef};

use crate::value::{Object, Str, Value};
use eetf::{Atom, BigInteger, Binary, FixInteger, Float, List, Map, Tuple};
use std::fmt;
use std::sync::Arc;

/// The markers: a one-field object with one of these keys stands for an
/// Erlang term ttvm has no kind for.
pub const ATOM: &str = "$atom";
pub const TUPLE: &str = "$tuple";
pub const PID: &str = "$pid";
pub const MAP: &str = "$map";
pub const BIGINT: &str = "$bigint";
pub const BINARY: &str = "$binary";
const MARKERS: [&str; 6] = [ATOM, TUPLE, PID, MAP, BIGINT, BINARY];

/// Erlang atoms are at most 255 characters.
pub const MAX_ATOM_CHARS: usize = 255;

/// Bounds on one term (one message, one control message). Depth counts
/// the term's levels (a marker object is not a level of its own: a tuple
/// in a tuple is two levels, as in Erlang), in both directions, so a term
/// that decodes converts, and a value that converts encodes and decodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Nesting levels (a scalar alone is one level).
    pub depth: usize,
    /// Elements in all: every term counts one (a non-empty list's `[]`
    /// tail too, a map's keys and values), and so do the characters of a
    /// charlist and the bytes of a non-UTF-8 binary (decoding); every
    /// value the same way (encoding), so the two counts agree.
    pub elements: usize,
    /// Bytes: of an encoded term (decoding); a bound of a value's encoding
    /// (encoding), so a value that converts is never too large to decode.
    pub bytes: usize,
}

/// The limits [`to_term`], [`from_term`] and [`decode`] use.
pub const LIMITS: Limits = Limits {
    depth: 256,
    elements: 1 << 22,
    bytes: 64 << 20,
};

impl Default for Limits {
    fn default() -> Limits {
        LIMITS
    }
}

/// One step of the path to where a conversion failed.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    Index(usize),
    Key(String),
}

/// Why a value has no term form, or a term no value form, or bytes are
/// not a term: what, and where (`$[2].name`, as `JSON_STRINGIFY` says it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TermError {
    pub what: String,
    /// Innermost first (pushed as the error unwinds).
    path: Vec<Step>,
}

impl TermError {
    fn bad(what: impl Into<String>) -> TermError {
        TermError {
            what: what.into(),
            path: Vec::new(),
        }
    }

    fn at(mut self, step: Step) -> TermError {
        self.path.push(step);
        self
    }

    /// Where: `$`, `$[2]`, `$.name[0]`, `$["a b"]`.
    pub fn path(&self) -> String {
        let mut p = String::from("$");
        for s in self.path.iter().rev() {
            match s {
                Step::Index(i) => p.push_str(&format!("[{i}]")),
                Step::Key(k) => {
                    if !k.is_empty() && k.chars().all(|c| c.is_alphanumeric() || c == '_') {
                        p.push('.');
                        p.push_str(k);
                    } else {
                        p.push_str(&format!("[{k:?}]"));
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
}

impl fmt::Display for TermError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.what)
        } else {
            write!(f, "{} (at {})", self.what, self.path())
        }
    }
}

impl std::error::Error for TermError {}

/// What the conversion needs to know of the node it runs on; the
/// distribution layer implements it (a test double in the tests).
pub trait NodeCtx {
    /// This node's full name, `name@host`.
    fn node_name(&self) -> &str;
    /// This node's creation (a number that changes when a node of the
    /// same name starts again; from EPMD).
    fn creation(&self) -> u32;

    /// The Erlang PID of the local process `pid` (an Int): this node's
    /// name and creation, `id` the low 32 bits, `serial` the next 31.
    fn local_pid(&self, pid: i64) -> Result<eetf::Pid, TermError> {
        if pid < 0 {
            return Err(TermError::bad(format!(
                "{{\"$pid\": {pid}}}: a PID is not negative"
            )));
        }
        Ok(eetf::Pid {
            node: Atom::from(self.node_name()),
            id: pid as u32,
            serial: (pid >> 32) as u32,
            creation: self.creation(),
        })
    }

    /// The local process an Erlang PID names (its Int), if it names one:
    /// this node's name and creation.
    fn as_local(&self, pid: &eetf::Pid) -> Option<i64> {
        (pid.node.name == self.node_name()
            && pid.creation == self.creation()
            && pid.serial < (1 << 31))
            .then(|| (i64::from(pid.serial) << 32) | i64::from(pid.id))
    }

    /// The value for a PID of another node.
    fn remote_pid(&self, pid: &eetf::Pid) -> Value {
        RemotePid::from_term(pid).value()
    }

    /// The value for a reference.
    fn reference(&self, r: &eetf::Reference) -> Value {
        RemoteRef::from_term(r).value()
    }
}

/// The term a value is sent as.
pub fn to_term(v: &Value, ctx: &impl NodeCtx) -> Result<Term, TermError> {
    let mut out = Out {
        ctx,
        elements: LIMITS.elements,
        bytes: LIMITS.bytes,
    };
    out.term(v, 1)
}

/// [`to_term`], and a bound on the term's encoded size in bytes (each
/// part counted at the most it can take, as for [`Limits::bytes`]): what
/// the message weighs in its connection's queue.
pub fn to_term_sized(v: &Value, ctx: &impl NodeCtx) -> Result<(Term, usize), TermError> {
    let mut out = Out {
        ctx,
        elements: LIMITS.elements,
        bytes: LIMITS.bytes,
    };
    let t = out.term(v, 1)?;
    Ok((t, LIMITS.bytes - out.bytes))
}

/// The value a term is received as.
pub fn from_term(t: Term, ctx: &impl NodeCtx) -> Result<Value, TermError> {
    let mut into = Into_ {
        ctx,
        elements: LIMITS.elements,
    };
    into.value(t, 1)
}

/// The external-term-format bytes of a term (version byte first).
pub fn encode(t: &Term) -> Result<Vec<u8>, TermError> {
    let mut buf = Vec::new();
    t.encode(&mut buf)
        .map_err(|e| TermError::bad(format!("cannot encode the term: {e}")))?;
    Ok(buf)
}

/// The term in `bytes` (one term, version byte first, nothing after it),
/// checked before it is decoded (see `check.rs`): malformed, hostile or
/// over-[`LIMITS`] input is a [`TermError`], never a panic or an
/// unbounded allocation.
pub fn decode(bytes: &[u8]) -> Result<Term, TermError> {
    let mut budget = LIMITS.elements;
    let (n, latin1) = check::check_term(bytes, &LIMITS, &mut budget)?;
    if n != bytes.len() {
        return Err(TermError::bad(format!(
            "malformed term: {} bytes after its end",
            bytes.len() - n
        )));
    }
    decode_checked(bytes, &latin1)
}

/// Decodes checked bytes, Latin-1 atoms made UTF-8 first (`eetf` reads
/// them as UTF-8).
fn decode_checked(bytes: &[u8], latin1: &[check::Latin1Atom]) -> Result<Term, TermError> {
    let fixed;
    let bytes = if latin1.is_empty() {
        bytes
    } else {
        fixed = check::to_utf8_atoms(bytes, latin1);
        &fixed
    };
    Term::decode(bytes).map_err(|e| TermError::bad(format!("malformed term: {e}")))
}

/// Checks a frame's payload without decoding it: one or more terms, each
/// with its version byte, back to back (a pass-through message after its
/// `p` byte: the control message, then the message if the control message
/// has one), as [`decode`] checks one, sharing one budget of
/// [`Limits::elements`]; the byte ranges of the terms. Once it says yes,
/// `eetf` (or `erl_dist`, which decodes with it) can decode those bytes
/// safely.
pub fn check_terms(bytes: &[u8]) -> Result<Vec<std::ops::Range<usize>>, TermError> {
    Ok(checked_terms(bytes)?.into_iter().map(|(r, _)| r).collect())
}

type Checked = (std::ops::Range<usize>, Vec<check::Latin1Atom>);

fn checked_terms(bytes: &[u8]) -> Result<Vec<Checked>, TermError> {
    if bytes.is_empty() {
        return Err(TermError::bad("malformed term: no bytes"));
    }
    let mut budget = LIMITS.elements;
    let mut spans = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let (n, latin1) = check::check_term(&bytes[pos..], &LIMITS, &mut budget).map_err(|e| {
            if spans.is_empty() {
                e
            } else {
                TermError::bad(format!(
                    "{} (term {} of the frame)",
                    e.what,
                    spans.len() + 1
                ))
            }
        })?;
        spans.push((pos..pos + n, latin1));
        pos += n;
    }
    Ok(spans)
}

/// The terms of a frame's payload ([`check_terms`]), decoded.
pub fn decode_all(bytes: &[u8]) -> Result<Vec<Term>, TermError> {
    checked_terms(bytes)?
        .into_iter()
        .map(|(s, latin1)| decode_checked(&bytes[s], &latin1))
        .collect()
}

/// A value as external-term-format bytes.
pub fn value_to_bytes(v: &Value, ctx: &impl NodeCtx) -> Result<Vec<u8>, TermError> {
    encode(&to_term(v, ctx)?)
}

/// The value of external-term-format bytes.
pub fn value_from_bytes(bytes: &[u8], ctx: &impl NodeCtx) -> Result<Value, TermError> {
    from_term(decode(bytes)?, ctx)
}

/// An exit reason as a term: a Str is an atom (`"normal"` → `normal`,
/// `"killed"`, `"noproc"`, …, as ttvm's reasons are Erlang's), an
/// Exception its message as an atom when it can be one (else a binary);
/// any other value as [`to_term`] maps it, or, when it has no term form,
/// its PRINT text as a binary (a reason always crosses).
pub fn reason_to_term(reason: &Value, ctx: &impl NodeCtx) -> Term {
    let text = match reason {
        Value::Str(s) => Some(s.as_str()),
        Value::Exception(e) => Some(e.message.as_str()),
        _ => None,
    };
    if let Some(t) = text {
        return if t.chars().count() <= MAX_ATOM_CHARS {
            Term::from(Atom::from(t))
        } else {
            Term::from(Binary::from(t.as_bytes()))
        };
    }
    to_term(reason, ctx).unwrap_or_else(|_| Term::from(Binary::from(reason.to_string().as_bytes())))
}

/// An exit reason from a term: an atom is a Str (`noconnection` →
/// `"noconnection"`); any other term as [`from_term`] maps it, or, when it
/// has no value form, its Erlang text as a Str.
pub fn reason_from_term(reason: Term, ctx: &impl NodeCtx) -> Value {
    if let Term::Atom(a) = reason {
        return Value::str(a.name);
    }
    match from_term(reason.clone(), ctx) {
        Ok(v) => v,
        Err(_) => Value::str(erlang_text(&reason)),
    }
}

/// A term's Erlang text, cut at [`crate::value::MAX_SHOWN_BYTES`] with
/// `…` (a hostile 64 MiB reason must not become a 256 MiB text).
pub fn erlang_text(t: &Term) -> String {
    struct Cut(String);
    impl fmt::Write for Cut {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            let room = crate::value::MAX_SHOWN_BYTES.saturating_sub(self.0.len());
            if s.len() <= room {
                self.0.push_str(s);
                return Ok(());
            }
            let mut end = room;
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            self.0.push_str(&s[..end]);
            self.0.push('…');
            Err(fmt::Error)
        }
    }
    let mut out = Cut(String::new());
    let _ = fmt::write(&mut out, format_args!("{t}"));
    out.0
}

#[inline(never)]
fn too_deep() -> TermError {
    TermError::bad(format!(
        "nested too deeply for an Erlang term: over {} levels",
        LIMITS.depth
    ))
}

/// Value → term.
struct Out<'c, C> {
    ctx: &'c C,
    elements: usize,
    bytes: usize,
}

/// The recursion goes through [`Out::term`], [`Out::list`] and
/// [`Out::object`] only, whose frames are small; everything else (the
/// leaves, the markers that hold no values, the errors) is in functions
/// that are not inlined into them, so the deepest value allowed converts
/// on a 2 MiB stack in a debug build.
impl<C: NodeCtx> Out<'_, C> {
    fn spend(&mut self, n: usize) -> Result<(), TermError> {
        if n > self.elements {
            return Err(too_many("an Erlang term"));
        }
        self.elements -= n;
        Ok(())
    }

    /// Bytes of the encoding (a bound: what each part can take at most).
    fn size(&mut self, n: usize) -> Result<(), TermError> {
        if n > self.bytes {
            return Err(too_big());
        }
        self.bytes -= n;
        Ok(())
    }

    /// Every value is one term (one element, as the check counts them
    /// when the bytes arrive; a non-empty list's `[]` tail another, a
    /// map's keys one each), so a value that converts passes the check.
    fn term(&mut self, v: &Value, depth: usize) -> Result<Term, TermError> {
        if depth > LIMITS.depth {
            return Err(too_deep());
        }
        self.spend(1)?;
        match v {
            Value::List(items) => {
                if !items.is_empty() {
                    self.spend(1)?; // the tail
                }
                self.size(6)?;
                Ok(Term::from(List::from(bytes_safe(self.list(items, depth)?))))
            }
            Value::Object(o) => self.object(o, depth),
            _ => self.leaf(v),
        }
    }

    /// The elements' terms (of a list, or a `$tuple`).
    fn list(&mut self, items: &[Value], depth: usize) -> Result<Vec<Term>, TermError> {
        let mut elements = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            elements.push(
                self.term(item, depth + 1)
                    .map_err(|e| e.at(Step::Index(i)))?,
            );
        }
        Ok(elements)
    }

    fn object(&mut self, o: &Object, depth: usize) -> Result<Term, TermError> {
        if o.len() == 1 {
            if let Some((k, inner)) = o.iter().next() {
                if MARKERS.contains(&k) {
                    return self
                        .marker(k, inner, depth)
                        .map_err(|e| e.at(Step::Key(k.to_string())));
                }
            }
        }
        self.size(5)?;
        let mut map = std::collections::HashMap::with_capacity(o.len());
        for (k, val) in o.iter() {
            self.spend(1)?;
            self.size(5 + k.len())?;
            let t = self
                .term(val, depth + 1)
                .map_err(|e| e.at(Step::Key(k.to_string())))?;
            map.insert(Term::from(Binary::from(k.as_bytes())), t);
        }
        Ok(Term::from(Map::from(map)))
    }

    /// `{"$tuple": [...]}` and `{"$map": [...]}` hold values; the other
    /// markers are leaves (see the module's docs).
    fn marker(&mut self, key: &str, inner: &Value, depth: usize) -> Result<Term, TermError> {
        match (key, inner) {
            (TUPLE, Value::List(items)) => {
                self.size(5)?;
                Ok(Term::from(Tuple::from(self.list(items, depth)?)))
            }
            (MAP, Value::List(pairs)) => self.pairs(pairs, depth),
            _ => self.marker_leaf(key, inner),
        }
    }

    fn pairs(&mut self, pairs: &[Value], depth: usize) -> Result<Term, TermError> {
        self.size(5)?;
        let mut map = std::collections::HashMap::with_capacity(pairs.len());
        let mut seen = std::collections::HashSet::with_capacity(pairs.len());
        for (i, pair) in pairs.iter().enumerate() {
            let Value::List(kv) = pair else {
                return Err(not_a_pair(i));
            };
            let [k, val] = &kv[..] else {
                return Err(not_a_pair(i));
            };
            let kt = self
                .term(k, depth + 1)
                .map_err(|e| e.at(Step::Index(0)).at(Step::Index(i)))?;
            let vt = self
                .term(val, depth + 1)
                .map_err(|e| e.at(Step::Index(1)).at(Step::Index(i)))?;
            if !seen.insert(canonical(&kt)) || map.insert(kt, vt).is_some() {
                return Err(TermError::bad(
                    "a key appears twice in {\"$map\": …} (a map's keys are distinct)",
                )
                .at(Step::Index(i)));
            }
        }
        Ok(Term::from(Map::from(map)))
    }

    #[inline(never)]
    fn leaf(&mut self, v: &Value) -> Result<Term, TermError> {
        Ok(match v {
            Value::Null => {
                self.size(11)?;
                Term::from(Atom::from("undefined"))
            }
            Value::Bool(b) => {
                self.size(7)?;
                Term::from(Atom::from(if *b { "true" } else { "false" }))
            }
            Value::Int(i) => {
                self.size(11)?;
                int(*i)
            }
            Value::Float(f) => {
                if !f.is_finite() {
                    return Err(TermError::bad(format!(
                        "the Float {} has no Erlang form (Erlang floats are finite)",
                        v
                    )));
                }
                self.size(9)?;
                Term::from(Float { value: *f })
            }
            Value::Str(s) => {
                self.size(5 + s.as_str().len())?;
                Term::from(Binary::from(s.as_str().as_bytes()))
            }
            Value::Function(_) | Value::Closure(_) => {
                return Err(TermError::bad(format!(
                    "a {} has no Erlang term form (code does not travel between nodes)",
                    v.type_name()
                )))
            }
            Value::Exception(_) => {
                return Err(TermError::bad(
                    "an Exception has no Erlang term form (send its message or value: GET_FIELD message)",
                ))
            }
            Value::Handle(h) => {
                if let Some(p) = h.downcast::<RemotePid>() {
                    self.size(16 + p.node.len())?;
                    Term::from(p.to_term())
                } else if let Some(r) = h.downcast::<RemoteRef>() {
                    self.size(10 + r.node.len() + 4 * r.id.len())?;
                    Term::from(r.to_term())
                } else {
                    return Err(TermError::bad(format!(
                        "a {} cannot leave its node",
                        v.type_name()
                    )));
                }
            }
            Value::List(_) | Value::Object(_) => unreachable!("Out::term takes containers"),
        })
    }

    #[inline(never)]
    fn marker_leaf(&mut self, key: &str, inner: &Value) -> Result<Term, TermError> {
        let wrong = |needs: &str| {
            TermError::bad(format!(
                "{{\"{key}\": …}} needs {needs}, got {}",
                inner.type_name()
            ))
        };
        Ok(match key {
            ATOM => {
                let Value::Str(s) = inner else {
                    return Err(wrong("a Str (the atom's name)"));
                };
                self.size(3 + s.as_str().len())?;
                atom(s.as_str())?
            }
            TUPLE => return Err(wrong("a List (the elements)")),
            MAP => return Err(wrong("a List of [key, value] pairs")),
            PID => {
                let Value::Int(n) = inner else {
                    return Err(wrong("an Int (a local PID)"));
                };
                let pid = self.ctx.local_pid(*n)?;
                self.size(16 + pid.node.name.len())?;
                Term::from(pid)
            }
            BIGINT => {
                let Value::Str(s) = inner else {
                    return Err(wrong("a Str (decimal digits)"));
                };
                let digits = s.as_str();
                self.size(7 + digits.len() / 2)?;
                let ok = !digits.is_empty()
                    && digits.len() <= 2 * check::MAX_BIG_BYTES + 1
                    && digits
                        .strip_prefix('-')
                        .unwrap_or(digits)
                        .bytes()
                        .all(|b| b.is_ascii_digit());
                let n = ok
                    .then(|| digits.parse::<num_bigint::BigInt>().ok())
                    .flatten()
                    .ok_or_else(|| {
                        TermError::bad(format!(
                            "{{\"$bigint\": …}} needs decimal digits (at most {} of them), got {}",
                            2 * check::MAX_BIG_BYTES,
                            crate::value::shown_text(digits, 64)
                        ))
                    })?;
                match i64::try_from(&n) {
                    Ok(i) => int(i),
                    Err(_) => Term::from(BigInteger { value: n }),
                }
            }
            BINARY => {
                let Value::List(items) = inner else {
                    return Err(wrong("a List of byte values (Ints 0 to 255)"));
                };
                // A binary that is not UTF-8 is a list of byte values
                // when it arrives: its bytes count as elements.
                self.spend(items.len())?;
                self.size(5 + items.len())?;
                let mut bytes = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Value::Int(b @ 0..=255) => bytes.push(*b as u8),
                        _ => {
                            return Err(TermError::bad(format!(
                                "a byte value is an Int from 0 to 255, got {}",
                                crate::value::shown_text(&item.to_string(), 64)
                            ))
                            .at(Step::Index(i)))
                        }
                    }
                }
                Term::from(Binary::from(bytes))
            }
            _ => unreachable!("MARKERS lists every marker"),
        })
    }
}

/// `eetf` 0.11 writes a list whose elements are all small integers below
/// 256 as a string (`STRING_EXT`, one byte each), negative ones included:
/// `[-1, 5]` would arrive as `[255, 5]` (a fuzz finding). Negative ones
/// become bigs in such a list, which keeps it a `LIST_EXT` (Erlang reads a
/// small big as the same integer).
#[inline(never)]
fn bytes_safe(mut elements: Vec<Term>) -> Vec<Term> {
    let small = |t: &Term| matches!(t, Term::FixInteger(i) if i.value < 0x100);
    if elements.iter().all(small) {
        for t in elements.iter_mut() {
            if let Term::FixInteger(i) = t {
                if i.value < 0 {
                    *t = Term::from(BigInteger::from(i.value));
                }
            }
        }
    }
    elements
}

#[inline(never)]
fn not_a_pair(i: usize) -> TermError {
    TermError::bad("each element of {\"$map\": …} is a [key, value] List").at(Step::Index(i))
}

#[inline(never)]
fn too_many(what: &str) -> TermError {
    TermError::bad(format!(
        "too large for {what}: over {} elements",
        LIMITS.elements
    ))
}

#[inline(never)]
fn too_big() -> TermError {
    TermError::bad(format!(
        "too large for an Erlang term: over {} bytes encoded",
        LIMITS.bytes
    ))
}

fn int(i: i64) -> Term {
    match i32::try_from(i) {
        Ok(small) => Term::from(FixInteger::from(small)),
        Err(_) => Term::from(BigInteger::from(i)),
    }
}

fn atom(name: &str) -> Result<Term, TermError> {
    let n = name.chars().count();
    if n > MAX_ATOM_CHARS {
        return Err(TermError::bad(format!(
            "an Erlang atom has at most {MAX_ATOM_CHARS} characters, this name has {n}"
        )));
    }
    Ok(Term::from(Atom::from(name)))
}

/// Term → value.
struct Into_<'c, C> {
    ctx: &'c C,
    elements: usize,
}

/// A map's entries, ready to convert: fields of an object (UTF-8 binary
/// keys, sorted) or `[key, value]` pairs (sorted by the keys' canonical
/// encodings).
enum Entries {
    Fields(Vec<(String, Term)>),
    Pairs(Vec<(Term, Term)>),
}

/// As for [`Out`]: the recursion goes through small frames only
/// ([`Into_::value`], [`Into_::list`], [`Into_::map`]).
impl<C: NodeCtx> Into_<'_, C> {
    fn spend(&mut self, n: usize) -> Result<(), TermError> {
        if n > self.elements {
            return Err(too_many("a ttvm value"));
        }
        self.elements -= n;
        Ok(())
    }

    fn value(&mut self, t: Term, depth: usize) -> Result<Value, TermError> {
        if depth > LIMITS.depth {
            return Err(too_deep());
        }
        self.spend(1)?;
        match t {
            Term::List(l) => self.list(l.elements, depth),
            Term::Tuple(t) => Ok(marker(TUPLE, self.list(t.elements, depth)?)),
            Term::Map(m) => self.map(m, depth),
            t => self.leaf(t),
        }
    }

    fn list(&mut self, items: Vec<Term>, depth: usize) -> Result<Value, TermError> {
        let mut out = Vec::with_capacity(items.len());
        for (i, t) in items.into_iter().enumerate() {
            out.push(self.value(t, depth + 1).map_err(|e| e.at(Step::Index(i)))?);
        }
        Ok(Value::list(out))
    }

    fn map(&mut self, m: Map, depth: usize) -> Result<Value, TermError> {
        match entries(m)? {
            Entries::Fields(fields) => {
                let mut o = Object::new();
                for (k, v) in fields {
                    let val = self
                        .value(v, depth + 1)
                        .map_err(|e| e.at(Step::Key(k.clone())))?;
                    o.set_with(&k, || Arc::from(k.as_str()), val);
                }
                Ok(Value::Object(Arc::new(o)))
            }
            Entries::Pairs(pairs) => {
                let mut out = Vec::with_capacity(pairs.len());
                for (i, (k, v)) in pairs.into_iter().enumerate() {
                    let kv = self
                        .value(k, depth + 1)
                        .map_err(|e| e.at(Step::Index(0)).at(Step::Index(i)))?;
                    let vv = self
                        .value(v, depth + 1)
                        .map_err(|e| e.at(Step::Index(1)).at(Step::Index(i)))?;
                    out.push(Value::list(vec![kv, vv]));
                }
                Ok(marker(MAP, Value::list(out)))
            }
        }
    }

    #[inline(never)]
    fn leaf(&mut self, t: Term) -> Result<Value, TermError> {
        Ok(match t {
            Term::Atom(a) => match a.name.as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                "undefined" => Value::Null,
                _ => marker(ATOM, Value::str(a.name)),
            },
            Term::FixInteger(i) => Value::Int(i64::from(i.value)),
            Term::BigInteger(b) => match i64::try_from(&b.value) {
                Ok(i) => Value::Int(i),
                Err(_) => marker(BIGINT, Value::str(b.value.to_string())),
            },
            Term::Float(f) => Value::Float(f.value),
            Term::Binary(b) => match String::from_utf8(b.bytes) {
                Ok(s) => Value::Str(Arc::new(Str::new(s))),
                Err(e) => {
                    let bytes = e.into_bytes();
                    self.spend(bytes.len())?;
                    marker(
                        BINARY,
                        Value::list(bytes.into_iter().map(|b| Value::Int(b.into())).collect()),
                    )
                }
            },
            Term::ByteList(l) => {
                self.spend(l.bytes.len())?;
                Value::list(l.bytes.into_iter().map(|b| Value::Int(b.into())).collect())
            }
            Term::Pid(p) => match self.ctx.as_local(&p) {
                Some(local) => Value::Int(local),
                None => self.ctx.remote_pid(&p),
            },
            Term::Reference(r) => self.ctx.reference(&r),
            Term::ImproperList(_) => {
                return Err(TermError::bad(
                    "an improper Erlang list (its tail is not []) has no ttvm form",
                ))
            }
            Term::BitBinary(b) => {
                return Err(TermError::bad(format!(
                    "an Erlang bitstring ({} bits, not whole bytes) has no ttvm form",
                    (b.bytes.len() * 8).saturating_sub(8) + usize::from(b.tail_bits_size)
                )))
            }
            Term::Port(p) => {
                return Err(TermError::bad(format!(
                    "an Erlang port (#Port<{}.{}>) has no ttvm form",
                    p.node.name, p.id
                )))
            }
            Term::ExternalFun(_) | Term::InternalFun(_) => {
                return Err(TermError::bad("an Erlang fun has no ttvm form"))
            }
            Term::List(_) | Term::Tuple(_) | Term::Map(_) => {
                unreachable!("Into_::value takes containers")
            }
        })
    }
}

/// How a map's entries convert (see [`Entries`]).
#[inline(never)]
fn entries(m: Map) -> Result<Entries, TermError> {
    let plain = m.map.keys().all(|k| match k {
        Term::Binary(b) => std::str::from_utf8(&b.bytes).is_ok(),
        _ => false,
    }) && !(m.map.len() == 1
        && m.map.keys().any(|k| match k {
            Term::Binary(b) => MARKERS.iter().any(|m| m.as_bytes() == b.bytes),
            _ => false,
        }));
    if plain {
        let mut fields: Vec<(String, Term)> = m
            .map
            .into_iter()
            .map(|(k, v)| match k {
                Term::Binary(b) => (String::from_utf8(b.bytes).unwrap_or_default(), v),
                _ => (String::new(), v),
            })
            .collect();
        // Erlang's order for binary keys (a map has none of its own).
        fields.sort_by(|a, b| a.0.cmp(&b.0));
        return Ok(Entries::Fields(fields));
    }
    // Other keys: [key, value] pairs, in the order of the keys' canonical
    // encodings (deterministic, even for maps in keys; Erlang's own order
    // is term order). Keys that are one Erlang term written two ways (a
    // charlist as STRING_EXT and as LIST_EXT, 5 as a small big) would be
    // one key going back: such a map (no Erlang node makes one) is
    // refused.
    let mut seen = std::collections::HashSet::with_capacity(m.map.len());
    for k in m.map.keys() {
        if !seen.insert(canonical(k)) {
            return Err(TermError::bad(format!(
                "a map with the key {} twice (written two ways)",
                crate::value::shown_text(&k.to_string(), 64)
            )));
        }
    }
    let mut pairs: Vec<(Vec<u8>, Term, Term)> = m
        .map
        .into_iter()
        .map(|(k, v)| (encode(&canonical(&k)).unwrap_or_default(), k, v))
        .collect();
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(Entries::Pairs(
        pairs.into_iter().map(|(_, k, v)| (k, v)).collect(),
    ))
}

/// One form of each term, for comparing terms (map keys above all) as
/// Erlang does: lists of small ints as lists, integers as small ones when
/// they fit, -0.0 as 0.0, and maps as their pairs sorted by their
/// canonical encodings, in an improper list ending in the atom `'#map'`
/// (no value makes an improper list). `eetf`'s own `==` and hash of a map
/// depend on its `HashMap`'s iteration order, so two equal maps used as
/// keys can look different to it.
pub fn canonical(t: &Term) -> Term {
    match t {
        Term::ByteList(b) => Term::from(List::from(
            b.bytes
                .iter()
                .map(|&x| Term::from(FixInteger::from(x)))
                .collect::<Vec<_>>(),
        )),
        Term::BigInteger(b) => match i32::try_from(&b.value) {
            Ok(i) => Term::from(FixInteger::from(i)),
            Err(_) => t.clone(),
        },
        Term::Float(f) if f.value == 0.0 => Term::from(Float { value: 0.0 }),
        Term::List(l) => Term::from(List::from(
            l.elements.iter().map(canonical).collect::<Vec<_>>(),
        )),
        Term::ImproperList(l) => Term::from(eetf::ImproperList::from((
            l.elements.iter().map(canonical).collect::<Vec<_>>(),
            canonical(&l.last),
        ))),
        Term::Tuple(x) => Term::from(Tuple::from(
            x.elements.iter().map(canonical).collect::<Vec<_>>(),
        )),
        Term::Map(m) => {
            let mut pairs: Vec<(Vec<u8>, Term)> = m
                .map
                .iter()
                .map(|(k, v)| {
                    let pair = Term::from(Tuple::from(vec![canonical(k), canonical(v)]));
                    (encode(&pair).unwrap_or_default(), pair)
                })
                .collect();
            pairs.sort_by(|a, b| a.0.cmp(&b.0));
            Term::from(eetf::ImproperList::from((
                pairs.into_iter().map(|(_, p)| p).collect::<Vec<_>>(),
                Term::from(Atom::from("#map")),
            )))
        }
        _ => t.clone(),
    }
}

/// `{key: inner}`.
fn marker(key: &str, inner: Value) -> Value {
    let mut o = Object::new();
    o.set_with(key, || Arc::from(key), inner);
    Value::Object(Arc::new(o))
}
