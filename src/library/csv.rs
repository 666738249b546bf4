//! CSV_PARSE and CSV_WRITE, with the `csv` crate (RFC 4180: comma
//! separated, `"` quoting with `""` for a quote inside, `\n` or `\r\n`
//! record ends).
//!
//! Decisions (docs/LANGUAGE.md, "CSV"):
//! - CSV_PARSE gives a List of rows, each a List of Str fields, exactly as
//!   written (no trimming, no number conversion: `TO_INT` a field that
//!   should be a number); there is no header handling (the first row is a
//!   row); empty lines are skipped;
//! - every row must have as many fields as the first: a ragged text is
//!   malformed, and the error names the line; so is a quote left open at
//!   the end of the text;
//! - CSV_WRITE takes a List of rows, each a List of fields: a Str is written
//!   as is, an Int, Float or Bool as its PRINT text, Null as an empty field;
//!   fields are quoted only when needed; every row ends with `\n`, so
//!   CSV_PARSE of the result gives the rows back (as strings); rows must have
//!   equal lengths and at least one field.

use super::values::{list_value, text_value, too_long_message};
use ttvm_runtime::Value;

/// CSV_PARSE: the rows of `text`, or the error message.
pub fn parse(text: &str) -> Result<Value, String> {
    if let Some(line) = open_quote_line(text) {
        return Err(format!(
            "CSV_PARSE: malformed CSV at line {line}: a quoted field is not closed (a `\"` inside a quoted field is written `\"\"`)"
        ));
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(false)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                if rows.len() == crate::exec::ops::MAX_LIST_LEN {
                    return Err(format!(
                        "CSV_PARSE: more than {} rows (the most a list may have)",
                        crate::exec::ops::MAX_LIST_LEN
                    ));
                }
                let fields = record.iter().map(|f| text_value(f.to_string())).collect();
                rows.push(list_value(fields));
            }
            Err(e) => return Err(parse_error(&e)),
        }
    }
    Ok(list_value(rows))
}

fn parse_error(e: &csv::Error) -> String {
    let line = e.position().map(|p| p.line());
    let at = line.map_or(String::new(), |l| format!(" at line {l}"));
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!(
            "CSV_PARSE: malformed CSV{at}: a row of {len} fields where the first row has {expected_len} (every row must have as many fields)"
        ),
        _ => format!("CSV_PARSE: malformed CSV{at}: {e}"),
    }
}

/// The line where a quoted field opens that the text never closes.
fn open_quote_line(text: &str) -> Option<u64> {
    // Fields quote only at their start; inside a quoted field `""` is a
    // quote and a lone `"` closes it.
    let bytes = text.as_bytes();
    let mut line = 1u64;
    let mut at_field_start = true;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if at_field_start && b == b'"' {
            let start_line = line;
            i += 1;
            loop {
                match bytes.get(i) {
                    None => return Some(start_line),
                    Some(b'"') if bytes.get(i + 1) == Some(&b'"') => i += 2,
                    Some(b'"') => {
                        i += 1;
                        break;
                    }
                    Some(b'\n') => {
                        line += 1;
                        i += 1;
                    }
                    Some(_) => i += 1,
                }
            }
            at_field_start = false;
            continue;
        }
        match b {
            b'\n' => {
                line += 1;
                at_field_start = true;
            }
            b',' => at_field_start = true,
            _ => at_field_start = false,
        }
        i += 1;
    }
    None
}

/// CSV_WRITE: the CSV text of `rows`, or the error message.
pub fn write(rows: &Value) -> Result<String, String> {
    let Value::List(rows) = rows else {
        return Err(format!(
            "type error: CSV_WRITE needs a List of rows, got {}",
            rows.type_name()
        ));
    };
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .flexible(true)
        .from_writer(Vec::new());
    let mut width = None;
    let mut fields: Vec<String> = Vec::new();
    for (r, row) in rows.iter().enumerate() {
        let Value::List(row) = row else {
            return Err(format!(
                "type error: CSV_WRITE needs each row to be a List of fields, got {} at row {r}",
                row.type_name()
            ));
        };
        if row.is_empty() {
            return Err(format!(
                "CSV_WRITE: row {r} has no fields (a CSV row has at least one; write [\"\"] for an empty one)"
            ));
        }
        match width {
            None => width = Some(row.len()),
            Some(w) if w != row.len() => {
                return Err(format!(
                    "CSV_WRITE: row {r} has {} fields where row 0 has {w} (every row must have as many fields)",
                    row.len()
                ))
            }
            _ => {}
        }
        fields.clear();
        for (c, f) in row.iter().enumerate() {
            fields.push(match f {
                Value::Str(s) => s.to_string(),
                Value::Null => String::new(),
                Value::Int(_) | Value::Float(_) | Value::Bool(_) => f.to_string(),
                other => {
                    return Err(format!(
                        "type error: CSV_WRITE needs Str, Int, Float, Bool or Null fields, got {} at row {r}, field {c}",
                        other.type_name()
                    ))
                }
            });
        }
        writer
            .write_record(&fields)
            .map_err(|e| format!("CSV_WRITE: {e}"))?;
        if writer.get_ref().len() > crate::exec::ops::MAX_STR_BYTES {
            return Err(too_long_message());
        }
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| format!("CSV_WRITE: {}", e.error()))?;
    if bytes.len() > crate::exec::ops::MAX_STR_BYTES {
        return Err(too_long_message());
    }
    Ok(String::from_utf8(bytes).expect("CSV of strings is UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_reads_quoted_fields_and_skips_empty_lines() {
        let v = parse("name,note\r\nAnn,\"hi, \"\"you\"\"\"\n\nBo,\"two\nlines\"\n").unwrap();
        assert_eq!(
            v.to_string(),
            "[[name, note], [Ann, hi, \"you\"], [Bo, two\nlines]]"
        );
        assert_eq!(parse("").unwrap().to_string(), "[]");
        assert_eq!(parse("a").unwrap().to_string(), "[[a]]");
        assert_eq!(parse(" a , b ").unwrap().to_string(), "[[ a ,  b ]]");
    }

    #[test]
    fn parse_errors_name_the_line() {
        let e = parse("a,b\nc,d\ne\n").unwrap_err();
        assert_eq!(e, "CSV_PARSE: malformed CSV at line 3: a row of 1 fields where the first row has 2 (every row must have as many fields)");
        let e = parse("a,b\nc,\"d\n\ne,f\n").unwrap_err();
        assert!(
            e.starts_with("CSV_PARSE: malformed CSV at line 2: a quoted field is not closed"),
            "{e}"
        );
        // A quote inside an unquoted field is data, not an opening.
        assert_eq!(parse("a\"b,c\n").unwrap().to_string(), "[[a\"b, c]]");
    }

    #[test]
    fn write_quotes_when_needed_and_round_trips() {
        let rows = parse("name,note\nAnn,\"hi, \"\"you\"\"\"\nBo,\"two\nlines\"\n,x\n").unwrap();
        let text = write(&rows).unwrap();
        assert_eq!(
            text,
            "name,note\nAnn,\"hi, \"\"you\"\"\"\nBo,\"two\nlines\"\n,x\n"
        );
        // A row of one empty field is quoted, so it is not an empty line.
        let one_empty = Value::list(vec![Value::list(vec![Value::str("")])]);
        assert_eq!(write(&one_empty).unwrap(), "\"\"\n");
        assert!(parse("\"\"\n").unwrap().equals(&one_empty));
        assert!(parse(&text).unwrap().equals(&rows));
        let mixed = Value::list(vec![Value::list(vec![
            Value::Int(1),
            Value::Float(2.5),
            Value::Bool(true),
            Value::Null,
        ])]);
        assert_eq!(write(&mixed).unwrap(), "1,2.5,true,\n");
        assert_eq!(write(&Value::list(vec![])).unwrap(), "");
    }

    #[test]
    fn write_refuses_bad_rows() {
        let row = |n: usize| Value::list(vec![Value::str("x"); n]);
        let e = write(&Value::list(vec![row(2), row(3)])).unwrap_err();
        assert_eq!(
            e,
            "CSV_WRITE: row 1 has 3 fields where row 0 has 2 (every row must have as many fields)"
        );
        assert!(write(&Value::list(vec![row(0)]))
            .unwrap_err()
            .contains("row 0 has no fields"));
        let e = write(&Value::list(vec![Value::list(vec![Value::list(vec![])])])).unwrap_err();
        assert_eq!(e, "type error: CSV_WRITE needs Str, Int, Float, Bool or Null fields, got List at row 0, field 0");
        assert!(write(&Value::Int(1))
            .unwrap_err()
            .contains("needs a List of rows, got Int"));
        let e = write(&Value::list(vec![Value::Int(1)])).unwrap_err();
        assert!(e.contains("got Int at row 0"), "{e}");
    }
}
