//! Strings: the text, and whether it is all ASCII, so that `LEN` and
//! `INDEX` (which count characters) are O(1) on ASCII text.

use std::fmt;
use std::ops::Deref;

/// The heap part of `Value::Str`.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Str {
    text: String,
    ascii: bool,
}

impl Str {
    pub fn new(text: String) -> Str {
        let ascii = text.is_ascii();
        Str { text, ascii }
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
}
