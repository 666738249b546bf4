//! JSON-RPC over stdin/stdout with `Content-Length` framing, as
//! `lsp_server::Connection::stdio` does it, but with a bound on the size of
//! one message: a header announcing more than [`MAX_MESSAGE`] bytes ends
//! the session with an error instead of allocating it. A body that is not a
//! JSON-RPC message is reported on stderr and skipped (the framing is
//! intact); a malformed header ends the session (it is not).

use crossbeam_channel::{bounded, Sender};
use lsp_server::{Connection, Message};
use std::io::{self, BufRead, Read, Write};
use std::thread;

/// The largest message accepted, in bytes (the size of a `didOpen` of a
/// source file at the loader's cap, with room for JSON escapes).
pub const MAX_MESSAGE: usize = 64 << 20;

/// The threads moving messages between the channels and stdio.
pub struct IoThreads {
    reader: thread::JoinHandle<Result<(), String>>,
    writer: thread::JoinHandle<io::Result<()>>,
}

impl IoThreads {
    /// Wait for the writer to send what is queued. The reader is joined only
    /// if it has ended (after `exit` or the end of input); otherwise it is
    /// blocked reading and the process ends with it.
    pub fn finish(self) -> Result<(), String> {
        let written = self.writer.join().unwrap_or(Ok(()));
        if self.reader.is_finished() {
            self.reader
                .join()
                .unwrap_or_else(|_| Err("the reader thread panicked".into()))?;
        }
        written.map_err(|e| format!("cannot write to the client: {e}"))
    }
}

/// A connection on this process's stdin and stdout.
pub fn stdio() -> (Connection, IoThreads) {
    let (to_writer, from_server) = bounded::<Message>(16);
    let writer = thread::Builder::new()
        .name("lsp-writer".into())
        .spawn(move || {
            let stdout = io::stdout();
            let mut out = stdout.lock();
            for msg in from_server {
                msg.write(&mut out)?;
            }
            out.flush()
        })
        .expect("spawn the writer thread");
    let (to_server, from_reader) = bounded::<Message>(16);
    let reader = thread::Builder::new()
        .name("lsp-reader".into())
        .spawn(move || read_loop(&mut io::stdin().lock(), &to_server))
        .expect("spawn the reader thread");
    (
        Connection {
            sender: to_writer,
            receiver: from_reader,
        },
        IoThreads { reader, writer },
    )
}

fn read_loop(input: &mut impl BufRead, to_server: &Sender<Message>) -> Result<(), String> {
    loop {
        let body = match read_frame(input, MAX_MESSAGE) {
            Ok(Some(body)) => body,
            Ok(None) => return Ok(()),
            Err(e) => {
                let e = format!("ttvm lsp: {e}; the connection cannot go on");
                eprintln!("{e}");
                return Err(e);
            }
        };
        let msg: Message = match serde_json::from_slice(&body) {
            Ok(m) => m,
            Err(e) => {
                eprintln!("ttvm lsp: ignoring a message that is not JSON-RPC ({e})");
                continue;
            }
        };
        let exit = matches!(&msg, Message::Notification(n) if n.method == "exit");
        if to_server.send(msg).is_err() || exit {
            return Ok(());
        }
    }
}

/// One framed body, `None` at the end of input before a header.
pub fn read_frame(input: &mut impl BufRead, max: usize) -> Result<Option<Vec<u8>>, String> {
    let mut size = None;
    let mut first = true;
    loop {
        let mut line = Vec::new();
        // A header line longer than this is not a header.
        let n = Read::take(&mut *input, 4096)
            .read_until(b'\n', &mut line)
            .map_err(|e| format!("cannot read from the client: {e}"))?;
        if n == 0 {
            if first {
                return Ok(None);
            }
            return Err("the input ended inside a message header".into());
        }
        first = false;
        let Some(line) = line.strip_suffix(b"\r\n") else {
            return Err(format!(
                "malformed message header {:?} (each header line ends with \\r\\n)",
                String::from_utf8_lossy(&line)
            ));
        };
        if line.is_empty() {
            break;
        }
        let text = String::from_utf8_lossy(line);
        let Some((name, value)) = text.split_once(':') else {
            return Err(format!(
                "malformed message header {text:?} (expected `Name: value`)"
            ));
        };
        if name.trim().eq_ignore_ascii_case("Content-Length") {
            let n: usize = value
                .trim()
                .parse()
                .map_err(|_| format!("malformed Content-Length {:?}", value.trim()))?;
            if n > max {
                return Err(format!(
                    "a message of {n} bytes is larger than the limit of {max} bytes"
                ));
            }
            size = Some(n);
        }
    }
    let size = size.ok_or("a message header has no Content-Length")?;
    let mut body = vec![0; size];
    input
        .read_exact(&mut body)
        .map_err(|e| format!("the input ended inside a message body: {e}"))?;
    Ok(Some(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_read_and_bounded() {
        let mut ok: &[u8] =
            b"Content-Length: 2\r\nContent-Type: x\r\n\r\n{}Content-Length: 1\r\n\r\n";
        assert_eq!(read_frame(&mut ok, 10).unwrap().unwrap(), b"{}");
        assert!(read_frame(&mut ok, 10)
            .unwrap_err()
            .contains("inside a message body"));
        let mut empty: &[u8] = b"";
        assert_eq!(read_frame(&mut empty, 10).unwrap(), None);
        let mut big: &[u8] = b"Content-Length: 99999999999\r\n\r\n";
        assert!(read_frame(&mut big, 10)
            .unwrap_err()
            .contains("larger than the limit"));
        let mut bad: &[u8] = b"Content-Length: 2\n\n{}";
        assert!(read_frame(&mut bad, 10)
            .unwrap_err()
            .contains("malformed message header"));
        let mut none: &[u8] = b"X: 1\r\n\r\n";
        assert!(read_frame(&mut none, 10)
            .unwrap_err()
            .contains("no Content-Length"));
        let mut long = vec![b'a'; 10_000];
        long.extend_from_slice(b"\r\n");
        assert!(read_frame(&mut long.as_slice(), 10)
            .unwrap_err()
            .contains("malformed"));
    }
}
