//! String literals: `"..."` with `\n \t \r \\ \" \0` and `\u{hex}`.

/// Parse a literal at the start of `text` (which begins with `"`). Returns
/// the decoded string and the number of bytes consumed, or an error as
/// (byte offset, length, message).
pub fn parse_string_literal(text: &str) -> Result<(String, usize), (usize, usize, String)> {
    debug_assert!(text.starts_with('"'));
    let mut out = String::new();
    let mut chars = text.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((out, i + 1)),
            '\\' => {
                let Some((j, e)) = chars.next() else {
                    break;
                };
                match e {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    '\\' => out.push('\\'),
                    '"' => out.push('"'),
                    '0' => out.push('\0'),
                    'u' => {
                        let rest = &text[j + 1..];
                        let bad = |len: usize| {
                            (i, len.max(2), "invalid unicode escape: write `\\u{hex}` with 1 to 6 hex digits naming a Unicode scalar value".to_string())
                        };
                        if !rest.starts_with('{') {
                            return Err(bad(2));
                        }
                        let Some(close) = rest.find('}') else {
                            return Err(bad(rest.len() + 2));
                        };
                        let hex = &rest[1..close];
                        let code = (1..=6)
                            .contains(&hex.len())
                            .then(|| u32::from_str_radix(hex, 16).ok())
                            .flatten()
                            .and_then(char::from_u32);
                        match code {
                            Some(ch) => out.push(ch),
                            None => return Err(bad(close + 3)),
                        }
                        // Skip the `{hex}` characters.
                        for _ in 0..rest[..=close].chars().count() {
                            chars.next();
                        }
                    }
                    other => {
                        return Err((
                            i,
                            1 + other.len_utf8(),
                            format!("unknown escape `\\{other}`: use \\n \\t \\r \\\\ \\\" \\0 or \\u{{hex}}"),
                        ))
                    }
                }
            }
            c => out.push(c),
        }
    }
    Err((
        0,
        text.len(),
        "unterminated string literal: add the closing `\"`".to_string(),
    ))
}

/// Quote a string so that [`parse_string_literal`] reads it back.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The part of a line before its comment: a `;` outside a string literal.
pub fn strip_comment(line: &str) -> &str {
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
        } else if c == ';' {
            return &line[..i];
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_decode() {
        let (s, n) = parse_string_literal(r#""a\nb\t\r\\\"\0\u{1F600}z" rest"#).unwrap();
        assert_eq!(s, "a\nb\t\r\\\"\0\u{1F600}z");
        assert_eq!(n, 26);
    }

    #[test]
    fn bad_literals_are_errors() {
        assert!(parse_string_literal("\"abc").is_err());
        assert!(parse_string_literal("\"a\\q\"").is_err());
        assert!(parse_string_literal("\"\\u{110000}\"").is_err());
        assert!(parse_string_literal("\"\\u{}\"").is_err());
        assert!(parse_string_literal("\"\\u12\"").is_err());
        assert!(parse_string_literal("\"\\").is_err());
    }

    #[test]
    fn comments_skip_strings() {
        assert_eq!(strip_comment(r#"PUSH_STR "a;b" ; c"#), r#"PUSH_STR "a;b" "#);
        assert_eq!(
            strip_comment(r#"PUSH_STR "a\";b" ; c"#),
            r#"PUSH_STR "a\";b" "#
        );
        assert_eq!(strip_comment("ADD ; sum"), "ADD ");
    }

    proptest::proptest! {
        #[test]
        fn quote_round_trips(s in "\\PC*") {
            let q = quote(&s);
            let (back, n) = parse_string_literal(&q).unwrap();
            proptest::prop_assert_eq!(back, s);
            proptest::prop_assert_eq!(n, q.len());
        }
    }
}
