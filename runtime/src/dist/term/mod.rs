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
mod from;
mod pid;
#[cfg(test)]
mod tests;
mod to;

pub use check::MAX_BIG_BYTES;
pub use eetf::Term;
pub use pid::{RemotePid, RemoteRef};

use from::Into_;
use to::Out;

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

#[inline(never)]
fn too_many(what: &str) -> TermError {
    TermError::bad(format!(
        "too large for {what}: over {} elements",
        LIMITS.elements
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
