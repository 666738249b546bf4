//! Frames on an established distribution connection (after the
//! handshake): reading them with limits, their terms checked
//! (`term::check_terms`: nesting, sizes) before the recursive decoder
//! sees them.
//!
//! A frame is a 4-byte big-endian length and that many bytes; length 0 is
//! a tick (keep-alive). Without the atom-cache and fragment flags (we
//! announce neither) every other frame starts with the pass-through tag
//! 112, then the control message and the payload, each in the external
//! term format without its version byte… with it: `131` starts each term.

use erl_dist::message::Message;
use std::io::{ErrorKind, Read};

/// The longest frame accepted; a longer one closes the connection.
pub const MAX_FRAME: usize = 64 << 20;
/// The pass-through tag that starts a frame without a distribution header.
pub const PASS_THROUGH: u8 = 112;

/// What reading a frame gave.
#[derive(Debug)]
pub enum Frame {
    Tick,
    Msg(Box<Message>),
}

/// Why a connection was closed while reading.
#[derive(Debug)]
pub enum ReadError {
    /// The peer closed the connection (at a frame boundary).
    Closed,
    /// An I/O error (the reason text).
    Io(String),
    /// A frame this node refuses (the reason text).
    Malformed(String),
}

/// Read one frame (blocking).
pub fn read_frame(r: &mut impl Read, buf: &mut Vec<u8>) -> Result<Frame, ReadError> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::UnexpectedEof => return Err(ReadError::Closed),
        Err(e) => return Err(ReadError::Io(crate::net::reason(&e))),
    }
    let len = u32::from_be_bytes(len) as usize;
    if len == 0 {
        return Ok(Frame::Tick);
    }
    if len > MAX_FRAME {
        return Err(ReadError::Malformed(format!(
            "a frame of {len} bytes (the limit is {MAX_FRAME})"
        )));
    }
    buf.clear();
    buf.resize(len, 0);
    r.read_exact(buf).map_err(|e| match e.kind() {
        ErrorKind::UnexpectedEof => ReadError::Io("the connection ended inside a frame".into()),
        _ => ReadError::Io(crate::net::reason(&e)),
    })?;
    decode(buf).map(|m| Frame::Msg(Box::new(m)))
}

/// A frame's bytes (without the length) as a message.
pub fn decode(frame: &[u8]) -> Result<Message, ReadError> {
    let Some((&tag, rest)) = frame.split_first() else {
        return Err(ReadError::Malformed("an empty frame".into()));
    };
    if tag != PASS_THROUGH {
        return Err(ReadError::Malformed(format!(
            "a frame with tag {tag} (expected {PASS_THROUGH}: distribution headers are not used)"
        )));
    }
    // Checked before erl_dist's (recursive) decoder sees them: nesting,
    // sizes and element counts within `term::LIMITS`.
    super::term::check_terms(rest).map_err(|e| ReadError::Malformed(e.to_string()))?;
    let mut r = rest;
    let msg = match Message::read_from(&mut r) {
        Ok(m) => m,
        // A spawn request with its arguments in Erlang's string form.
        Err(e) => match super::spawn::with_args_as_list(rest) {
            Some(m) => {
                r = &[];
                m
            }
            None => return Err(ReadError::Malformed(e.to_string())),
        },
    };
    if !r.is_empty() {
        return Err(ReadError::Malformed(format!(
            "{} bytes after the message",
            r.len()
        )));
    }
    Ok(msg)
}

/// The frame's bytes for `msg` (length, tag, terms).
pub fn encode(msg: Message, out: &mut Vec<u8>) -> Result<(), String> {
    let start = out.len();
    out.extend_from_slice(&[0, 0, 0, 0, PASS_THROUGH]);
    msg.write_into(out).map_err(|e| e.to_string())?;
    let len = out.len() - start - 4;
    let len = u32::try_from(len).map_err(|_| format!("a message of {len} bytes is too long"))?;
    out[start..start + 4].copy_from_slice(&len.to_be_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use erl_dist::term::{Atom, Pid, Term};

    fn frame(msg: Message) -> Vec<u8> {
        let mut out = Vec::new();
        encode(msg, &mut out).unwrap();
        out
    }

    #[test]
    fn a_message_round_trips_through_a_frame() {
        let to = Pid::new("a@h", 5, 0, 7);
        let msg = Message::send(to, Term::from(Atom::from("hello")));
        let bytes = frame(msg.clone());
        let mut r = &bytes[..];
        let mut buf = Vec::new();
        match read_frame(&mut r, &mut buf).unwrap() {
            Frame::Msg(m) => assert_eq!(*m, msg),
            Frame::Tick => panic!("a tick"),
        }
        assert!(matches!(
            read_frame(&mut r, &mut buf),
            Err(ReadError::Closed)
        ));
    }

    #[test]
    fn deep_nesting_is_refused_without_recursion() {
        // A SEND control message, then a payload of a million nested lists.
        let ctrl = erl_dist::term::Tuple::from(vec![
            Term::from(erl_dist::term::FixInteger::from(2)),
            Term::from(Atom::from("")),
            Term::from(Pid::new("a@h", 1, 0, 1)),
        ]);
        let mut bytes = vec![0, 0, 0, 0, PASS_THROUGH];
        bytes.extend(crate::dist::term::encode(&Term::from(ctrl)).unwrap());
        bytes.push(131);
        for _ in 0..1_000_000 {
            bytes.extend_from_slice(&[108, 0, 0, 0, 1]);
        }
        bytes.push(106);
        let len = (bytes.len() - 4) as u32;
        bytes[..4].copy_from_slice(&len.to_be_bytes());
        let mut r = &bytes[..];
        let err = read_frame(&mut r, &mut Vec::new()).unwrap_err();
        assert!(matches!(&err, ReadError::Malformed(_)), "{err:?}");
    }

    #[test]
    fn garbage_and_huge_lengths_are_refused() {
        let mut r: &[u8] = &[0xff, 0xff, 0xff, 0xff];
        assert!(matches!(
            read_frame(&mut r, &mut Vec::new()),
            Err(ReadError::Malformed(_))
        ));
        let mut r: &[u8] = &[0, 0, 0, 3, 112, 131, 200];
        assert!(matches!(
            read_frame(&mut r, &mut Vec::new()),
            Err(ReadError::Malformed(_))
        ));
        let mut r: &[u8] = &[0, 0, 0, 2, 7, 7];
        assert!(matches!(
            read_frame(&mut r, &mut Vec::new()),
            Err(ReadError::Malformed(_))
        ));
        // A tuple claiming 4 billion elements in a short frame.
        let mut r: &[u8] = &[0, 0, 0, 7, 112, 131, 105, 0xff, 0xff, 0xff, 0xff];
        assert!(matches!(
            read_frame(&mut r, &mut Vec::new()),
            Err(ReadError::Malformed(_))
        ));
    }

    #[test]
    fn every_prefix_of_a_frame_fails_cleanly() {
        let msg = Message::reg_send(
            Pid::new("a@h", 1, 2, 3),
            Atom::from("srv"),
            Term::from(erl_dist::term::List::from(vec![
                Term::from(erl_dist::term::FixInteger::from(1)),
                Term::from(erl_dist::term::Binary::from(b"xy".to_vec())),
            ])),
        );
        let bytes = frame(msg);
        for cut in 5..bytes.len() - 1 {
            assert!(decode(&bytes[4..cut]).is_err(), "cut at {cut}");
        }
        assert!(decode(&bytes[4..]).is_ok());
    }
}
