//! Host operations: TinyTotVM's SET_ENV, FILE_SIZE, LIST_DIR, READ_BYTES,
//! WRITE_BYTES, EXEC, EXEC_CAPTURE, READ_CHAR, READ_INPUT, and SPEC
//! §3.10's READ_LINE, READ_FILE, WRITE_FILE, APPEND_FILE, FILE_EXISTS and
//! DELETE_FILE.
//!
//! Every blocking call is in one function of its own here; the ones the
//! op table marks `io` run on the node's I/O threads while their process
//! waits (`exec::semantics::io`). Errors say what failed, for which
//! path or program, and the OS reason: ``FILE_SIZE failed for `x`: No such
//! file or directory``. The caller checks `--sandbox` first (all of these
//! raise `permission denied` under it) and the operand types.
//!
//! Decisions (docs/LANGUAGE.md, "Host operations"):
//! - bytes are a List of Ints 0..=255 (READ_BYTES makes one, WRITE_BYTES
//!   and HASH take one); a file of more bytes than a list may have is an
//!   error before it is read;
//! - LIST_DIR gives the entry names sorted by their bytes (the OS order is
//!   arbitrary), without `.` and `..`; a name that is not UTF-8 shows its
//!   bad bytes as U+FFFD;
//! - EXEC runs the program directly (no shell), with ttvm's stdin, stdout
//!   and stderr (ttvm's buffered output is flushed first); EXEC_CAPTURE
//!   gives it an empty stdin and captures stdout and stderr, each up to the
//!   string limit (256 MiB; past it the program is killed and it is an
//!   error) and each required to be UTF-8; the status is the exit code, or
//!   128 + the signal number for a program ended by a signal (as a shell
//!   shows it);
//! - READ_CHAR reads one character (a whole UTF-8 sequence) of stdin, Null
//!   at the end; READ_INPUT reads stdin to its end (`""` when nothing is
//!   left); both raise on bytes that are not UTF-8.

use super::values::{list_value, text_value, too_long_message, ObjectFields};
use std::io::{BufRead, Read};
use ttvm_runtime::Value;

/// What host operations need of the VM besides their operands: its stdout
/// (flushed before a program writes to the same terminal) and its stdin.
pub trait Console {
    /// Write out what PRINT has buffered.
    fn flush_stdout(&self);
    /// Run `f` on the VM's stdin (locked meanwhile).
    fn with_stdin(&self, f: &mut dyn FnMut(&mut dyn BufRead));
}

fn reason(e: &std::io::Error) -> String {
    crate::exec::os_reason(e)
}

fn failed(op: &str, what: &str, e: &std::io::Error) -> String {
    format!("{op} failed for `{what}`: {}", reason(e))
}

/// SET_ENV: set variable `name` of ttvm's environment (seen by GET_ENV and
/// by programs EXEC runs afterwards).
pub fn set_env(name: &str, value: &str) -> Result<(), String> {
    if name.is_empty() || name.contains(['=', '\0']) {
        return Err(format!(
            "SET_ENV: invalid variable name `{}`: a name is not empty and has no `=` or NUL",
            name.escape_debug()
        ));
    }
    if value.contains('\0') {
        return Err(format!(
            "SET_ENV: the value for `{name}` contains a NUL character, which an environment cannot hold"
        ));
    }
    // Rust's own environment functions take a lock, so this cannot race
    // with GET_ENV or EXEC on another scheduler thread.
    std::env::set_var(name, value);
    Ok(())
}

/// READ_LINE: a line of stdin without its newline (and a `\r` before it),
/// or `None` at the end of input.
pub fn read_line(stdin: &mut dyn BufRead) -> Result<Option<String>, String> {
    let mut line = String::new();
    let n = stdin
        .read_line(&mut line)
        .map_err(|e| format!("READ_LINE failed: {}", reason(&e)))?;
    if n == 0 {
        return Ok(None);
    }
    if line.ends_with('\n') {
        line.pop();
        if line.ends_with('\r') {
            line.pop();
        }
    }
    Ok(Some(line))
}

/// READ_FILE: the file at `path` as text.
pub fn read_file(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| failed("READ_FILE", path, &e))
}

/// WRITE_FILE / APPEND_FILE (`append`): `text` to the file at `path`
/// (APPEND_FILE creates it when missing).
pub fn write_file(path: &str, text: &str, append: bool) -> Result<(), String> {
    use std::io::Write;
    let (op, result) = if append {
        let r = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(path)
            .and_then(|mut f| f.write_all(text.as_bytes()));
        ("APPEND_FILE", r)
    } else {
        ("WRITE_FILE", std::fs::write(path, text))
    };
    result.map_err(|e| failed(op, path, &e))
}

/// DELETE_FILE: remove the file at `path`.
pub fn delete_file(path: &str) -> Result<(), String> {
    std::fs::remove_file(path).map_err(|e| failed("DELETE_FILE", path, &e))
}

/// FILE_SIZE: the size in bytes of the file at `path` (following symlinks).
pub fn file_size(path: &str) -> Result<i64, String> {
    let meta = std::fs::metadata(path).map_err(|e| failed("FILE_SIZE", path, &e))?;
    Ok(meta.len().min(i64::MAX as u64) as i64)
}

/// LIST_DIR: the names in folder `path`, sorted.
pub fn list_dir(path: &str) -> Result<Value, String> {
    let entries = std::fs::read_dir(path).map_err(|e| failed("LIST_DIR", path, &e))?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| failed("LIST_DIR", path, &e))?;
        if names.len() == crate::exec::ops::MAX_LIST_LEN {
            return Err(format!(
                "LIST_DIR: `{path}` has more than {} entries (the most a list may have)",
                crate::exec::ops::MAX_LIST_LEN
            ));
        }
        names.push(entry.file_name());
    }
    names.sort();
    Ok(list_value(
        names
            .into_iter()
            .map(|n| text_value(n.to_string_lossy().into_owned()))
            .collect(),
    ))
}

/// READ_BYTES: the bytes of the file at `path`, as a List of Ints.
pub fn read_bytes(path: &str) -> Result<Value, String> {
    let max = crate::exec::ops::MAX_LIST_LEN as u64;
    let file = std::fs::File::open(path).map_err(|e| failed("READ_BYTES", path, &e))?;
    let size = file
        .metadata()
        .map_err(|e| failed("READ_BYTES", path, &e))?
        .len();
    let too_big = || {
        format!("READ_BYTES: `{path}` has more than {max} bytes (the most elements a list may have); read it as text with READ_FILE, or split it")
    };
    if size > max {
        return Err(too_big());
    }
    // Read at most one byte past the limit: a file may grow, or lie about
    // its size (`/proc`).
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| failed("READ_BYTES", path, &e))?;
    if bytes.len() as u64 > max {
        return Err(too_big());
    }
    Ok(list_value(
        bytes.into_iter().map(|b| Value::Int(b as i64)).collect(),
    ))
}

/// The bytes of a List of Ints 0..=255 (`op` names the operation in the
/// error).
pub fn bytes_of(v: &Value, op: &str) -> Result<Vec<u8>, String> {
    let Value::List(l) = v else {
        return Err(format!(
            "type error: {op} needs a List of bytes (Ints 0..=255), got {}",
            v.type_name()
        ));
    };
    l.iter()
        .enumerate()
        .map(|(i, b)| match b {
            Value::Int(n) if (0..=255).contains(n) => Ok(*n as u8),
            Value::Int(n) => Err(format!(
                "{op}: element {i} of the byte list is {n}, not a byte (0..=255)"
            )),
            other => Err(format!(
                "type error: {op} needs a List of bytes (Ints 0..=255), got {} at element {i}",
                other.type_name()
            )),
        })
        .collect()
}

/// WRITE_BYTES: write `bytes` to the file at `path` (created or replaced).
pub fn write_bytes(path: &str, bytes: &[u8]) -> Result<(), String> {
    std::fs::write(path, bytes).map_err(|e| failed("WRITE_BYTES", path, &e))
}

/// The arguments of EXEC / EXEC_CAPTURE: a List of Str.
pub fn args_of(v: &Value, op: &str) -> Result<Vec<String>, String> {
    let Value::List(l) = v else {
        return Err(format!(
            "type error: {op} needs a List of Str arguments, got {}",
            v.type_name()
        ));
    };
    l.iter()
        .enumerate()
        .map(|(i, a)| match a {
            Value::Str(s) => Ok(s.to_string()),
            other => Err(format!(
                "type error: {op} needs a List of Str arguments, got {} at element {i} (TO_STR converts)",
                other.type_name()
            )),
        })
        .collect()
}

fn command(op: &str, prog: &str, args: &[String]) -> Result<std::process::Command, String> {
    if prog.is_empty() {
        return Err(format!("{op}: the program name is empty"));
    }
    let mut c = std::process::Command::new(prog);
    c.args(args);
    Ok(c)
}

/// The status a shell would show: the exit code, or 128 + the signal.
fn status_code(s: std::process::ExitStatus) -> i64 {
    if let Some(code) = s.code() {
        return code as i64;
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = s.signal() {
            return 128 + sig as i64;
        }
    }
    -1
}

/// EXEC: run `prog` with `args` on ttvm's own streams and wait for it.
pub fn exec(console: &dyn Console, prog: &str, args: &[String]) -> Result<i64, String> {
    let mut c = command("EXEC", prog, args)?;
    console.flush_stdout();
    let status = c.status().map_err(|e| failed("EXEC", prog, &e))?;
    Ok(status_code(status))
}

/// EXEC_CAPTURE: run `prog` with `args`, an empty stdin, and capture its
/// output: `{stdout, stderr, exit_code}`.
pub fn exec_capture(prog: &str, args: &[String]) -> Result<Value, String> {
    use std::process::Stdio;
    let mut c = command("EXEC_CAPTURE", prog, args)?;
    c.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().map_err(|e| failed("EXEC_CAPTURE", prog, &e))?;
    let limit = crate::exec::ops::MAX_STR_BYTES as u64;
    let mut err_pipe = child.stderr.take().expect("piped stderr");
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let r = (&mut err_pipe).take(limit + 1).read_to_end(&mut buf);
        // Drain what is past the limit so the program is not blocked on
        // a full pipe while stdout is read.
        let _ = std::io::copy(&mut err_pipe, &mut std::io::sink());
        r.map(|_| buf)
    });
    let mut out = Vec::new();
    let out_read = child
        .stdout
        .take()
        .expect("piped stdout")
        .take(limit + 1)
        .read_to_end(&mut out);
    let over_out = out.len() as u64 > limit;
    if over_out || out_read.is_err() {
        let _ = child.kill();
    }
    let status = child.wait();
    let err = err_reader
        .join()
        .unwrap_or_else(|_| Err(std::io::Error::other("the stderr reader failed")));
    let status = status.map_err(|e| failed("EXEC_CAPTURE", prog, &e))?;
    out_read.map_err(|e| failed("EXEC_CAPTURE", prog, &e))?;
    let err = err.map_err(|e| failed("EXEC_CAPTURE", prog, &e))?;
    if over_out || err.len() as u64 > limit {
        return Err(format!(
            "EXEC_CAPTURE: the output of `{prog}` is longer than a string may be; {}",
            too_long_message()
        ));
    }
    let text = |bytes: Vec<u8>, stream: &str| {
        String::from_utf8(bytes).map_err(|e| {
            format!(
                "EXEC_CAPTURE: the {stream} of `{prog}` is not UTF-8 text (byte {} is invalid); EXEC lets it write to ttvm's own {stream} instead",
                e.utf8_error().valid_up_to()
            )
        })
    };
    let mut fields = ObjectFields::default();
    fields.set("stdout", text_value(text(out, "stdout")?));
    fields.set("stderr", text_value(text(err, "stderr")?));
    fields.set("exit_code", Value::Int(status_code(status)));
    Ok(super::values::object_value(fields))
}

/// READ_CHAR: the next character of stdin, Null at the end.
pub fn read_char(stdin: &mut dyn BufRead) -> Result<Value, String> {
    let mut first = [0u8; 1];
    if read_fully(stdin, &mut first)? == 0 {
        return Ok(Value::Null);
    }
    let len = match first[0] {
        0x00..=0x7f => 1,
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        b => return Err(not_utf8("READ_CHAR", b)),
    };
    let mut buf = [first[0], 0, 0, 0];
    let got = read_fully(stdin, &mut buf[1..len])?;
    match std::str::from_utf8(&buf[..1 + got]) {
        Ok(s) if got == len - 1 => Ok(text_value(s.to_string())),
        _ => Err(not_utf8("READ_CHAR", first[0])),
    }
}

fn not_utf8(op: &str, b: u8) -> String {
    format!("{op}: stdin is not UTF-8 text (a bad sequence starting with byte 0x{b:02x})")
}

/// Read into `buf` until it is full or the input ends: how many bytes.
fn read_fully(r: &mut dyn BufRead, buf: &mut [u8]) -> Result<usize, String> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("READ_CHAR failed: {}", reason(&e))),
        }
    }
    Ok(n)
}

/// READ_INPUT: the rest of stdin.
pub fn read_input(stdin: &mut dyn BufRead) -> Result<String, String> {
    let limit = crate::exec::ops::MAX_STR_BYTES as u64;
    let mut bytes = Vec::new();
    stdin
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("READ_INPUT failed: {}", reason(&e)))?;
    if bytes.len() as u64 > limit {
        return Err(format!(
            "READ_INPUT: stdin is longer than a string may be; {}",
            too_long_message()
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "READ_INPUT: stdin is not UTF-8 text (byte {} is invalid)",
            e.utf8_error().valid_up_to()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_char_reads_whole_characters() {
        let mut input: &[u8] = "aé€😀".as_bytes();
        let mut got = Vec::new();
        while let Value::Str(s) = read_char(&mut input).unwrap() {
            got.push(s.to_string());
        }
        assert_eq!(got, ["a", "é", "€", "😀"]);
        let mut bad: &[u8] = &[b'x', 0xff];
        assert!(read_char(&mut bad).is_ok());
        assert!(read_char(&mut bad).unwrap_err().contains("byte 0xff"));
        let mut cut: &[u8] = &[0xe2, 0x82];
        assert!(read_char(&mut cut).unwrap_err().contains("not UTF-8"));
    }

    #[test]
    fn read_input_reads_to_the_end() {
        let mut input: &[u8] = b"two\nlines";
        assert_eq!(read_input(&mut input).unwrap(), "two\nlines");
        assert_eq!(read_input(&mut input).unwrap(), "");
        let mut bad: &[u8] = &[b'o', b'k', 0xc3];
        assert!(read_input(&mut bad)
            .unwrap_err()
            .contains("byte 2 is invalid"));
    }

    #[test]
    fn bytes_are_lists_of_small_ints() {
        let ok = Value::list(vec![Value::Int(0), Value::Int(255)]);
        assert_eq!(bytes_of(&ok, "WRITE_BYTES").unwrap(), [0, 255]);
        let e = bytes_of(
            &Value::list(vec![Value::Int(1), Value::Int(-1)]),
            "WRITE_BYTES",
        );
        assert_eq!(
            e.unwrap_err(),
            "WRITE_BYTES: element 1 of the byte list is -1, not a byte (0..=255)"
        );
        let e = bytes_of(&Value::list(vec![Value::str("a")]), "WRITE_BYTES").unwrap_err();
        assert!(e.contains("got Str at element 0"), "{e}");
    }
}
