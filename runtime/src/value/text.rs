//! Strings: the text, and whether it is all ASCII, so that `LEN` and
//! `INDEX` (which count characters) are O(1) on ASCII text.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};

/// The heap part of `Value::Str`.
#[derive(Default)]
pub struct Str {
    text: String,
    ascii: bool,
    /// The text's hash in objects' field indexes (`object::key_hash`,
    /// never 0), kept once asked for: a string used as a run-time key
    /// more than once (`HAS_FIELD` then `GET_FIELD`, `GET_FIELD` then
    /// `SET_FIELD`) is hashed once. 0: not yet. Shared strings may be
    /// read by several threads: each writes the same value.
    hash: AtomicU64,
}

impl Clone for Str {
    fn clone(&self) -> Str {
        Str {
            text: self.text.clone(),
            ascii: self.ascii,
            hash: AtomicU64::new(self.hash.load(Ordering::Relaxed)),
        }
    }
}

// Compared, ordered and hashed by the text (and the flag, which follows
// from it), as the derived impls did before the cached hash.
impl PartialEq for Str {
    fn eq(&self, other: &Str) -> bool {
        self.text == other.text
    }
}

impl Eq for Str {}

impl PartialOrd for Str {
    fn partial_cmp(&self, other: &Str) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Str {
    fn cmp(&self, other: &Str) -> std::cmp::Ordering {
        self.text.cmp(&other.text)
    }
}

impl Hash for Str {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.text.hash(state);
        self.ascii.hash(state);
    }
}

impl Str {
    pub fn new(text: String) -> Str {
        let ascii = text.is_ascii();
        Str {
            text,
            ascii,
            hash: AtomicU64::new(0),
        }
    }

    /// The text's hash as an object's field key (`object::key_hash`),
    /// computed at the first call and kept.
    #[inline]
    pub fn key_hash(&self) -> u64 {
        match self.hash.load(Ordering::Relaxed) {
            0 => {
                let h = super::object::key_hash(&self.text);
                self.hash.store(h, Ordering::Relaxed);
                h
            }
            h => h,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the text is all ASCII (known, not scanned: then character
    /// positions are byte offsets).
    pub fn is_ascii(&self) -> bool {
        self.ascii
    }

    /// Append text (CONCAT in place).
    pub fn push_str(&mut self, s: &str) {
        self.ascii &= s.is_ascii();
        self.text.push_str(s);
        *self.hash.get_mut() = 0;
    }

    /// The number of characters.
    pub fn char_len(&self) -> usize {
        if self.ascii {
            self.text.len()
        } else {
            self.text.chars().count()
        }
    }

    /// The `i`-th character, as a string slice.
    pub fn char_at(&self, i: usize) -> Option<&str> {
        if self.ascii {
            return self.text.get(i..i + 1);
        }
        let (start, c) = self.text.char_indices().nth(i)?;
        Some(&self.text[start..start + c.len_utf8()])
    }
}

/// Where compiled code finds an ASCII string's length (`Str::layout`):
/// offsets from the start of the `Arc`'s allocation (what a `Value::Str`'s
/// payload word holds) of the flag `ascii` (a byte, 1 when the text is all
/// ASCII) and of the text's length in bytes (a word).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StrLayout {
    pub ascii: i32,
    pub len: i32,
}

impl Str {
    /// The offsets of [`StrLayout`], found once on a string made for the
    /// purpose (Rust fixes neither `Arc`'s nor `String`'s field order):
    /// the flag's by `offset_of!` past the `Arc`'s counters, the length's
    /// as the word that holds 5 in a string of 5 bytes and capacity 64.
    pub fn layout() -> StrLayout {
        static LAYOUT: std::sync::OnceLock<StrLayout> = std::sync::OnceLock::new();
        *LAYOUT.get_or_init(|| {
            let mut text = String::with_capacity(64);
            text.push_str("abcde");
            let arc = std::sync::Arc::new(Str::new(text));
            let data = std::sync::Arc::as_ptr(&arc) as usize;
            let v = super::Value::Str(arc);
            // SAFETY: `Value` is 16 bytes, `repr(C, u8)`: the payload word
            // (the `Arc`'s pointer) is at offset 8.
            let base = unsafe { *((&v as *const super::Value as *const usize).add(1)) };
            let at = (data - base) as i32;
            let ascii = at + std::mem::offset_of!(Str, ascii) as i32;
            let text_at = at + std::mem::offset_of!(Str, text) as i32;
            for k in 0..3 {
                let off = text_at + 8 * k;
                // SAFETY: a `String` is three words within the allocation.
                let word = unsafe { *((base + off as usize) as *const usize) };
                if word == 5 {
                    return StrLayout { ascii, len: off };
                }
            }
            unreachable!("a string's length is one of its three words")
        })
    }
}

impl Deref for Str {
    type Target = str;
    fn deref(&self) -> &str {
        &self.text
    }
}

impl fmt::Write for Str {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.push_str(s);
        Ok(())
    }
}

impl fmt::Debug for Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.text, f)
    }
}

impl fmt::Display for Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl From<String> for Str {
    fn from(text: String) -> Str {
        Str::new(text)
    }
}

impl From<&str> for Str {
    fn from(text: &str) -> Str {
        Str::new(text.to_string())
    }
}

impl PartialEq<&str> for Str {
    fn eq(&self, other: &&str) -> bool {
        self.text == *other
    }
}

impl PartialEq<str> for Str {
    fn eq(&self, other: &str) -> bool {
        self.text == other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn characters_are_counted_not_bytes() {
        let mut s = Str::from("héllo");
        assert_eq!(s.char_len(), 5);
        assert_eq!(s.char_at(1), Some("é"));
        assert_eq!(s.char_at(5), None);
        let mut a = Str::from("abc");
        assert_eq!(a.char_at(2), Some("c"));
        a.push_str("ü");
        assert_eq!(a.char_len(), 4);
        assert_eq!(a.char_at(3), Some("ü"));
        s.push_str("!");
        assert_eq!(s.as_str(), "héllo!");
    }

    /// The kept key hash is the text's, and follows a change of it.
    #[test]
    fn the_key_hash_follows_the_text() {
        let mut s = Str::from("ab");
        let h = s.key_hash();
        assert_ne!(h, 0);
        assert_eq!(h, s.key_hash());
        assert_eq!(h, Str::from("ab").key_hash());
        assert_eq!(h, s.clone().key_hash());
        s.push_str("c");
        assert_eq!(s.key_hash(), Str::from("abc").key_hash());
        assert_ne!(s.key_hash(), h);
        assert_eq!(s, Str::from("abc"));
    }
}

#[cfg(test)]
mod layout_tests {
    use super::*;
    use crate::Value;

    /// What compiled code reads at `Str::layout`'s offsets is the flag and
    /// the byte length, for strings of every size and kind.
    #[test]
    fn layout_reads_the_flag_and_the_length() {
        let l = Str::layout();
        for text in [
            "",
            "a",
            "hello",
            "héllo",
            "日本語のテキスト",
            &"x".repeat(1000),
        ] {
            let v = Value::str(text);
            // SAFETY: the payload word of a `Value` (offset 8) is the
            // `Arc`'s pointer; the offsets are within its allocation.
            let (flag, len) = unsafe {
                let base = *((&v as *const Value as *const usize).add(1));
                (
                    *((base + l.ascii as usize) as *const u8),
                    *((base + l.len as usize) as *const usize),
                )
            };
            assert_eq!(flag != 0, text.is_ascii(), "{text:?}");
            assert_eq!(len, text.len(), "{text:?}");
        }
    }
}
