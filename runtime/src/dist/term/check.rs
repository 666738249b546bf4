//! The guard in front of the term decoder: a walk over the bytes of
//! external-term-format terms that checks, before `eetf` decodes anything,
//! that decoding them is safe and bounded.
//!
//! `eetf` 0.11 trusts its input: it allocates what a length prefix says
//! before reading (`Vec::with_capacity(count)` of a list, tuple or map
//! header, `vec![0; size]` of a binary: 2^32 elements from a 6-byte
//! input), recurses once per nesting level (decoding, hashing, encoding
//! and dropping a term), and panics on some tags (an atom cache reference,
//! a distribution header: `unimplemented!()`) and on a bitstring whose
//! last-byte bit count is 0 or over 8 (a shift overflow). The walk here
//! is iterative and rejects, with a [`TermError`] saying what and where:
//!
//! - input over [`Limits::bytes`];
//! - a length prefix larger than the bytes left could hold (every
//!   element takes at least one byte), so every allocation the decoder
//!   makes is bounded by a constant times the input's size;
//! - nesting deeper than [`Limits::depth`];
//! - more than [`Limits::elements`] elements in all: every term counts
//!   one (a list's tail too, a map's keys and values), and so do the
//!   characters of a charlist and the bytes of a binary that is not UTF-8
//!   (each becomes a ttvm value) — the count `to_term` makes of a value,
//!   so a value that converts passes;
//! - an atom of more than 255 characters (Erlang's limit);
//! - an integer of more than [`MAX_BIG_BYTES`] bytes (its decimal text,
//!   `{"$bigint": …}`, costs time quadratic in its length);
//! - funs, compressed terms, atom cache references and distribution
//!   headers (none of them has a ttvm form, or they are not used on the
//!   connections ttvm makes), unknown tags and truncated input.

use super::{Limits, TermError};

/// Integers longer than this (in bytes of magnitude: 2^32768) are
/// refused.
pub const MAX_BIG_BYTES: usize = 4096;

pub(super) const VERSION: u8 = 131;

mod tag {
    pub const NEW_FLOAT: u8 = 70;
    pub const BIT_BINARY: u8 = 77;
    pub const COMPRESSED: u8 = 80;
    pub const ATOM_CACHE_REF: u8 = 82;
    pub const DIST_HEADER: u8 = 68;
    pub const NEW_PID: u8 = 88;
    pub const NEW_PORT: u8 = 89;
    pub const NEWER_REFERENCE: u8 = 90;
    pub const SMALL_INTEGER: u8 = 97;
    pub const INTEGER: u8 = 98;
    pub const FLOAT: u8 = 99;
    pub const ATOM: u8 = 100;
    pub const REFERENCE: u8 = 101;
    pub const PORT: u8 = 102;
    pub const PID: u8 = 103;
    pub const SMALL_TUPLE: u8 = 104;
    pub const LARGE_TUPLE: u8 = 105;
    pub const NIL: u8 = 106;
    pub const STRING: u8 = 107;
    pub const LIST: u8 = 108;
    pub const BINARY: u8 = 109;
    pub const SMALL_BIG: u8 = 110;
    pub const LARGE_BIG: u8 = 111;
    pub const NEW_FUN: u8 = 112;
    pub const EXPORT: u8 = 113;
    pub const NEW_REFERENCE: u8 = 114;
    pub const SMALL_ATOM: u8 = 115;
    pub const MAP: u8 = 116;
    pub const FUN: u8 = 117;
    pub const ATOM_UTF8: u8 = 118;
    pub const SMALL_ATOM_UTF8: u8 = 119;
    pub const V4_PORT: u8 = 120;
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// Latin-1 atoms with bytes over 127 (see [`to_utf8_atoms`]).
    latin1: Vec<Latin1Atom>,
}

/// Where a Latin-1 atom (`ATOM_EXT`, `SMALL_ATOM_EXT`) with a byte over
/// 127 is: its tag's position, and its text's start and length.
#[derive(Clone, Copy, Debug)]
pub(super) struct Latin1Atom {
    tag: usize,
    start: usize,
    len: usize,
}

impl Reader<'_> {
    fn left(&self) -> usize {
        self.bytes.len() - self.pos
    }

    fn truncated(&self) -> TermError {
        TermError::bad(format!(
            "malformed term: it ends early (at byte {} of {})",
            self.pos,
            self.bytes.len()
        ))
    }

    fn take(&mut self, n: usize) -> Result<&[u8], TermError> {
        if n > self.left() {
            return Err(self.truncated());
        }
        let s = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, TermError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<usize, TermError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]) as usize)
    }

    fn u32(&mut self) -> Result<usize, TermError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
    }

    /// A count of `n` elements of at least `min` bytes each: no more than
    /// the bytes left can hold.
    fn count(&self, n: usize, min: usize, what: &str) -> Result<usize, TermError> {
        if n.saturating_mul(min) > self.left() {
            return Err(TermError::bad(format!(
                "malformed term: a {what} of {n} elements in {} bytes (at byte {})",
                self.left(),
                self.pos
            )));
        }
        Ok(n)
    }

    /// The rest of an atom whose tag (at `at`) was read.
    fn atom_body(&mut self, tag: u8, at: usize) -> Result<(), TermError> {
        let len = match tag {
            tag::ATOM | tag::ATOM_UTF8 => self.u16()?,
            _ => self.u8()? as usize,
        };
        let start = self.pos;
        let text = self.take(len)?;
        let latin1 = matches!(tag, tag::ATOM | tag::SMALL_ATOM);
        let chars = match std::str::from_utf8(text) {
            Ok(t) if !latin1 => t.chars().count(),
            _ => len,
        };
        if chars > super::MAX_ATOM_CHARS {
            return Err(TermError::bad(format!(
                "malformed term: an atom of {chars} characters (at most {}) (at byte {at})",
                super::MAX_ATOM_CHARS
            )));
        }
        if latin1 && !text.is_ascii() {
            self.latin1.push(Latin1Atom {
                tag: at,
                start,
                len,
            });
        }
        Ok(())
    }

    /// The node name of a PID, port or reference: an atom, inline.
    fn atom(&mut self) -> Result<(), TermError> {
        let at = self.pos;
        match self.u8()? {
            t @ (tag::ATOM | tag::ATOM_UTF8 | tag::SMALL_ATOM | tag::SMALL_ATOM_UTF8) => {
                self.atom_body(t, at)
            }
            t => Err(TermError::bad(format!(
                "malformed term: a node name must be an atom, found tag {t} (at byte {at})"
            ))),
        }
    }
}

/// Checks the term that starts at `bytes[0]` (the version byte, 131) and
/// returns its length in bytes and where its Latin-1 atoms with non-ASCII
/// text are; `elements` is the budget left, shared by the terms of one
/// frame.
pub(super) fn check_term(
    bytes: &[u8],
    limits: &Limits,
    elements: &mut usize,
) -> Result<(usize, Vec<Latin1Atom>), TermError> {
    if bytes.len() > limits.bytes {
        return Err(TermError::bad(format!(
            "term too large: {} bytes (the limit is {})",
            bytes.len(),
            limits.bytes
        )));
    }
    let mut r = Reader {
        bytes,
        pos: 0,
        latin1: Vec::new(),
    };
    match r.u8()? {
        VERSION => {}
        v => {
            return Err(TermError::bad(format!(
                "malformed term: version byte {v}, expected 131"
            )))
        }
    }
    // Terms still to read at each open nesting level, innermost last.
    let mut pending: Vec<usize> = vec![1];
    let mut spend = |n: usize, r: &Reader| -> Result<(), TermError> {
        if n > *elements {
            return Err(TermError::bad(format!(
                "term too large: over {} elements (at byte {})",
                limits.elements, r.pos
            )));
        }
        *elements -= n;
        Ok(())
    };
    while let Some(top) = pending.last_mut() {
        if *top == 0 {
            pending.pop();
            continue;
        }
        *top -= 1;
        spend(1, &r)?;
        let at = r.pos;
        let children = match r.u8()? {
            tag::SMALL_INTEGER => {
                r.take(1)?;
                0
            }
            tag::INTEGER => {
                r.take(4)?;
                0
            }
            tag::NEW_FLOAT => {
                r.take(8)?;
                0
            }
            tag::FLOAT => {
                r.take(31)?;
                0
            }
            tag::NIL => 0,
            t @ (tag::ATOM | tag::ATOM_UTF8 | tag::SMALL_ATOM | tag::SMALL_ATOM_UTF8) => {
                r.atom_body(t, at)?;
                0
            }
            tag::BINARY => {
                let n = r.u32()?;
                let b = r.take(n)?;
                if std::str::from_utf8(b).is_err() {
                    // Becomes a list of byte values.
                    spend(n, &r)?;
                }
                0
            }
            tag::BIT_BINARY => {
                let n = r.u32()?;
                let bits = r.u8()?;
                if (n > 0 && !(1..=8).contains(&bits)) || (n == 0 && bits != 0) {
                    return Err(TermError::bad(format!(
                        "malformed term: a bitstring of {n} bytes with {bits} bits in its last byte (at byte {at})"
                    )));
                }
                r.take(n)?;
                0
            }
            tag::STRING => {
                let n = r.u16()?;
                r.take(n)?;
                // The characters, and the tail a non-empty list has.
                spend(n + usize::from(n > 0), &r)?;
                0
            }
            tag::LIST => {
                let n = r.u32()?;
                r.count(n, 1, "list")? + 1 // and the tail
            }
            tag::SMALL_TUPLE => {
                let n = r.u8()? as usize;
                r.count(n, 1, "tuple")?
            }
            tag::LARGE_TUPLE => {
                let n = r.u32()?;
                r.count(n, 1, "tuple")?
            }
            tag::MAP => {
                let n = r.u32()?;
                r.count(n, 2, "map")? * 2
            }
            t @ (tag::SMALL_BIG | tag::LARGE_BIG) => {
                let n = if t == tag::SMALL_BIG {
                    r.u8()? as usize
                } else {
                    r.u32()?
                };
                if n > MAX_BIG_BYTES {
                    return Err(TermError::bad(format!(
                        "integer too large: {n} bytes (the limit is {MAX_BIG_BYTES}) (at byte {at})"
                    )));
                }
                r.take(1 + n)?;
                0
            }
            tag::PID => {
                r.atom()?;
                r.take(9)?;
                0
            }
            tag::NEW_PID => {
                r.atom()?;
                r.take(12)?;
                0
            }
            tag::PORT => {
                r.atom()?;
                r.take(5)?;
                0
            }
            tag::NEW_PORT => {
                r.atom()?;
                r.take(8)?;
                0
            }
            tag::V4_PORT => {
                r.atom()?;
                r.take(12)?;
                0
            }
            tag::REFERENCE => {
                r.atom()?;
                r.take(5)?;
                0
            }
            t @ (tag::NEW_REFERENCE | tag::NEWER_REFERENCE) => {
                let n = r.u16()?;
                if !(1..=5).contains(&n) {
                    return Err(TermError::bad(format!(
                        "malformed term: a reference of {n} words (1 to 5) (at byte {at})"
                    )));
                }
                r.atom()?;
                r.take(if t == tag::NEW_REFERENCE { 1 } else { 4 })?;
                r.take(4 * n)?;
                0
            }
            tag::NEW_FUN | tag::EXPORT | tag::FUN => {
                return Err(TermError::bad(format!(
                    "an Erlang fun has no ttvm form (at byte {at})"
                )))
            }
            tag::COMPRESSED => {
                return Err(TermError::bad(format!(
                    "compressed terms are not accepted (at byte {at})"
                )))
            }
            t @ (tag::ATOM_CACHE_REF | tag::DIST_HEADER) => {
                return Err(TermError::bad(format!(
                    "malformed term: tag {t} (atom cache) is not used on ttvm's connections (at byte {at})"
                )))
            }
            t => {
                return Err(TermError::bad(format!(
                    "malformed term: unknown tag {t} (at byte {at})"
                )))
            }
        };
        if children > 0 {
            if pending.len() >= limits.depth {
                return Err(TermError::bad(format!(
                    "term nested too deeply: over {} levels (at byte {at})",
                    limits.depth
                )));
            }
            pending.push(children);
        }
    }
    Ok((r.pos, r.latin1))
}

/// The term's bytes with its Latin-1 atoms that have non-ASCII text
/// rewritten as UTF-8 atoms (`ATOM_UTF8_EXT`): `eetf` reads Latin-1 atoms
/// as UTF-8 and fails on them, and `term_to_binary` in Erlang before OTP
/// 26 writes an atom such as `'ünï'` in Latin-1.
pub(super) fn to_utf8_atoms(bytes: &[u8], atoms: &[Latin1Atom]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + atoms.iter().map(|a| a.len + 2).sum::<usize>());
    let mut pos = 0;
    for a in atoms {
        out.extend_from_slice(&bytes[pos..a.tag]);
        let text: String = bytes[a.start..a.start + a.len]
            .iter()
            .map(|&b| char::from(b))
            .collect();
        out.push(tag::ATOM_UTF8);
        // At most 2 × 255 bytes (longer atoms are refused).
        out.extend_from_slice(&(text.len() as u16).to_be_bytes());
        out.extend_from_slice(text.as_bytes());
        pos = a.start + a.len;
    }
    out.extend_from_slice(&bytes[pos..]);
    out
}
