//! Framing of a TCP byte stream into packets (the socket option `packet`):
//! `raw` (whatever arrived, up to a count), `line` (up to and including a
//! newline) and `4` (a 4-byte big-endian length, then that many bytes).
//! Pure and bounded: a line or a length-prefixed packet longer than the
//! socket's `max_packet` is an error, so a peer cannot make the receiver
//! buffer without bound. The fuzz target `framing` drives it with any
//! bytes cut anywhere (`fuzz/fuzz_targets/framing.rs`).

/// How a stream is cut into packets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Packet {
    Raw,
    Line,
    Len4,
}

/// What went wrong with the peer's framing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// A line or packet longer than the limit.
    TooLong { limit: usize },
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::TooLong { limit } => {
                write!(
                    f,
                    "packet too long (more than {limit} bytes, the socket's max_packet)"
                )
            }
        }
    }
}

/// The receive buffer of one stream socket and its framing.
#[derive(Debug)]
pub struct Framer {
    pub packet: Packet,
    /// Packets deliver text (UTF-8; a raw read never ends inside a
    /// character) or bytes.
    pub text: bool,
    pub max_packet: usize,
    buf: Vec<u8>,
    /// Bytes of `buf` already handed out.
    start: usize,
}

impl Framer {
    pub fn new(packet: Packet, text: bool, max_packet: usize) -> Framer {
        Framer {
            packet,
            text,
            max_packet: max_packet.max(1),
            buf: Vec::new(),
            start: 0,
        }
    }

    /// Bytes received and not yet handed out.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Whether the buffer may take more bytes before a packet must come
    /// out of it (a reader stops reading the socket when it is full).
    pub fn wants_more(&self) -> bool {
        match self.packet {
            Packet::Raw => self.buffered() < self.max_packet,
            // One byte past the limit tells a too-long packet apart.
            _ => self.buffered() <= self.max_packet + 4,
        }
    }

    /// Append received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.start > 0 && self.start * 2 >= self.buf.len() {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete packet: at most `max` bytes in raw mode (0: all
    /// that is buffered); `eof` says no more bytes will come, so a last
    /// unfinished line (or a character cut by the end) is handed out as it
    /// is. `Ok(None)`: wait for more bytes.
    pub fn next(&mut self, max: usize, eof: bool) -> Result<Option<Vec<u8>>, FrameError> {
        let avail = &self.buf[self.start..];
        if avail.is_empty() {
            return Ok(None);
        }
        let take = match self.packet {
            Packet::Raw => {
                let mut n = if max == 0 {
                    avail.len()
                } else {
                    max.min(avail.len())
                };
                if self.text && !eof {
                    n = char_boundary(avail, n);
                    if n == 0 {
                        return Ok(None); // half a character: wait for the rest
                    }
                }
                n
            }
            Packet::Line => match memchr::memchr(b'\n', avail) {
                Some(i) if i < self.max_packet => i + 1,
                Some(_) => {
                    return Err(FrameError::TooLong {
                        limit: self.max_packet,
                    })
                }
                None if avail.len() > self.max_packet => {
                    return Err(FrameError::TooLong {
                        limit: self.max_packet,
                    })
                }
                None if eof => avail.len(),
                None => return Ok(None),
            },
            Packet::Len4 => {
                if avail.len() < 4 {
                    return Ok(None);
                }
                let len = u32::from_be_bytes([avail[0], avail[1], avail[2], avail[3]]) as usize;
                if len > self.max_packet {
                    return Err(FrameError::TooLong {
                        limit: self.max_packet,
                    });
                }
                if avail.len() < 4 + len {
                    return Ok(None);
                }
                self.start += 4;
                len
            }
        };
        let out = self.buf[self.start..self.start + take].to_vec();
        self.start += take;
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        }
        Ok(Some(out))
    }

    /// Frame `data` for sending (`4`: the length first; the others as is).
    pub fn frame(packet: Packet, data: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
        if packet == Packet::Len4 {
            let len = u32::try_from(data.len()).map_err(|_| {
                format!(
                    "a packet of {} bytes does not fit a 4-byte length",
                    data.len()
                )
            })?;
            out.extend_from_slice(&len.to_be_bytes());
        }
        out.extend_from_slice(data);
        Ok(())
    }
}

/// The largest `n' <= n` that does not end inside a UTF-8 character of
/// `bytes` (bytes that are not UTF-8 count as characters of one byte;
/// they become U+FFFD when the packet is made text). When the first
/// character alone is longer than `n`: the whole character if it is all
/// there, else 0 (wait for the rest).
fn char_boundary(bytes: &[u8], n: usize) -> usize {
    let cont = |b: u8| b & 0xC0 == 0x80;
    let mut i = n;
    if i < bytes.len() {
        let mut k = 0;
        while i > 0 && k < 3 && cont(bytes[i]) {
            i -= 1;
            k += 1;
        }
        if cont(bytes[i]) {
            return n; // not UTF-8 here: cut as asked
        }
        if i == 0 {
            let len = utf8_len(bytes[0]);
            return if bytes.len() >= len { len } else { 0 };
        }
        return i;
    }
    // Everything buffered: the last character may be incomplete.
    let mut j = i;
    let mut k = 0;
    while j > 0 && k < 4 {
        j -= 1;
        k += 1;
        if !cont(bytes[j]) {
            let need = utf8_len(bytes[j]);
            return if need > 1 && j + need > i { j } else { i };
        }
    }
    i
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xF0..=0xF7 => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(f: &mut Framer, eof: bool) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while let Ok(Some(p)) = f.next(0, eof) {
            out.push(p);
        }
        out
    }

    #[test]
    fn lines_come_whole_whatever_the_cuts() {
        let mut f = Framer::new(Packet::Line, true, 100);
        f.push(b"ab");
        assert_eq!(f.next(0, false), Ok(None));
        f.push(b"c\nde\nf");
        assert_eq!(
            all(&mut f, false),
            vec![b"abc\n".to_vec(), b"de\n".to_vec()]
        );
        assert_eq!(all(&mut f, true), vec![b"f".to_vec()]);
    }

    #[test]
    fn length_prefixed_packets() {
        let mut out = Vec::new();
        Framer::frame(Packet::Len4, b"hello", &mut out).unwrap();
        Framer::frame(Packet::Len4, b"", &mut out).unwrap();
        let mut f = Framer::new(Packet::Len4, false, 100);
        for b in &out {
            f.push(&[*b]);
        }
        assert_eq!(all(&mut f, false), vec![b"hello".to_vec(), Vec::new()]);
    }

    #[test]
    fn too_long_is_an_error_not_a_buffer() {
        let mut f = Framer::new(Packet::Len4, false, 10);
        f.push(&[0, 0, 0, 11]);
        assert!(f.next(0, false).is_err());
        let mut f = Framer::new(Packet::Line, false, 4);
        f.push(b"abcdef");
        assert!(f.next(0, false).is_err());
    }

    #[test]
    fn raw_text_never_cuts_a_character() {
        let mut f = Framer::new(Packet::Raw, true, 100);
        f.push("aé".as_bytes());
        f.push(&"€".as_bytes()[..1]);
        assert_eq!(f.next(0, false), Ok(Some("aé".as_bytes().to_vec())));
        assert_eq!(f.next(0, false), Ok(None));
        f.push(&"€".as_bytes()[1..]);
        assert_eq!(f.next(0, false), Ok(Some("€".as_bytes().to_vec())));
        let mut f = Framer::new(Packet::Raw, true, 100);
        f.push("éa".as_bytes());
        assert_eq!(f.next(1, false), Ok(Some("é".as_bytes().to_vec())));
        assert_eq!(f.next(1, false), Ok(Some(b"a".to_vec())));
    }
}
