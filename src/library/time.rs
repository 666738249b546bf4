//! FORMAT_TIME (`ts fmt -- s`, TinyTotVM's stack order): a Unix timestamp
//! in seconds, in UTC, formatted by a strftime pattern (`chrono`'s
//! specifiers: `%Y-%m-%d %H:%M:%S`, `%F`, `%T`, `%a`, `%b`, `%j`, `%s`,
//! `%%`, …). There is no local time zone: the text is UTC (`%Z` is `UTC`).
//! An unknown specifier, or a timestamp outside chrono's years (about
//! ±262,000), is an error.

use chrono::format::{Item, StrftimeItems};
use chrono::DateTime;
use std::fmt::Write;

/// The longest pattern taken (a pattern's output is a few times its size).
const MAX_PATTERN: usize = 4096;

pub fn format_time(ts: i64, pattern: &str) -> Result<String, String> {
    if pattern.len() > MAX_PATTERN {
        return Err(format!(
            "FORMAT_TIME: the pattern is {} bytes long (at most {MAX_PATTERN})",
            pattern.len()
        ));
    }
    let items: Vec<Item<'_>> = StrftimeItems::new(pattern).collect();
    if items.iter().any(|i| matches!(i, Item::Error)) {
        return Err(format!(
            "FORMAT_TIME: `{}` has a `%` that is not a strftime specifier (`%Y-%m-%d %H:%M:%S` is one pattern; `%%` is a `%`)",
            pattern.escape_debug()
        ));
    }
    let Some(t) = DateTime::from_timestamp(ts, 0) else {
        return Err(format!(
            "FORMAT_TIME: {ts} is out of the range of dates it can show"
        ));
    };
    let mut out = String::new();
    write!(out, "{}", t.format_with_items(items.into_iter())).map_err(|_| {
        format!(
            "FORMAT_TIME: cannot format {ts} by `{}`",
            pattern.escape_debug()
        )
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_in_utc() {
        assert_eq!(
            format_time(0, "%Y-%m-%d %H:%M:%S").unwrap(),
            "1970-01-01 00:00:00"
        );
        assert_eq!(
            format_time(1_700_000_000, "%F %T %a %b %j %Z").unwrap(),
            "2023-11-14 22:13:20 Tue Nov 318 UTC"
        );
        assert_eq!(format_time(-1, "%F %T").unwrap(), "1969-12-31 23:59:59");
        assert_eq!(format_time(86_400, "100%% %s").unwrap(), "100% 86400");
        assert_eq!(format_time(5, "").unwrap(), "");
    }

    #[test]
    fn refuses_bad_patterns_and_times() {
        assert!(format_time(0, "%Q")
            .unwrap_err()
            .contains("not a strftime specifier"));
        assert!(format_time(0, "50%")
            .unwrap_err()
            .contains("not a strftime specifier"));
        assert!(format_time(i64::MAX, "%F")
            .unwrap_err()
            .contains("out of the range"));
    }
}
