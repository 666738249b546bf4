//! A tiny HTTP/1.1 server on 127.0.0.1 for the HTTP client's tests: one
//! thread per connection, a fixed set of paths, every read and the whole
//! server bounded in time. Stopped when dropped.
//!
//! - `/hello`: 200, body `hello`, header `x-test: yes`
//! - `/echo`: 200, body `METHOD|x-req header|request body`
//! - `/missing`: 404, body `no such page`
//! - `/slow`: waits 2 s (or until the server stops), then 200 `late`
//! - `/bytes`: 200, the body bytes 255 0 65 (not UTF-8)
//! - `/redirect`: 302 to `/hello`
//! - `/redirect-localhost`: 302 to `http://localhost:PORT/hello`
//! - `/redirect-loop`: 302 to itself

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The longest a server lives, whatever the test does.
const LIFETIME: Duration = Duration::from_secs(120);

pub struct Server {
    pub port: u16,
    stop: Arc<AtomicBool>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

impl Server {
    pub fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        std::thread::spawn(move || {
            let start = Instant::now();
            while !flag.load(Ordering::SeqCst) && start.elapsed() < LIFETIME {
                match listener.accept() {
                    Ok((s, _)) => {
                        let flag = flag.clone();
                        std::thread::spawn(move || {
                            let _ = serve(s, port, &flag);
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Server { port, stop }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

fn serve(s: TcpStream, port: u16, stop: &AtomicBool) -> std::io::Result<()> {
    s.set_nonblocking(false)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut r = BufReader::new(s.try_clone()?);
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or("").to_string();
        let path = parts.next().unwrap_or("").to_string();
        let (mut length, mut x_req) = (0usize, String::new());
        loop {
            let mut h = String::new();
            if r.read_line(&mut h)? == 0 {
                return Ok(());
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((name, value)) = h.split_once(':') {
                match name.trim().to_ascii_lowercase().as_str() {
                    "content-length" => length = value.trim().parse().unwrap_or(0),
                    "x-req" => x_req = value.trim().to_string(),
                    _ => {}
                }
            }
        }
        let mut body = vec![0u8; length.min(1 << 20)];
        r.read_exact(&mut body)?;
        let (status, extra, reply): (&str, String, Vec<u8>) = match path.as_str() {
            "/hello" => ("200 OK", "x-test: yes\r\n".into(), b"hello".to_vec()),
            "/echo" => (
                "200 OK",
                String::new(),
                format!("{method}|{x_req}|{}", String::from_utf8_lossy(&body)).into_bytes(),
            ),
            "/slow" => {
                let t = Instant::now();
                while t.elapsed() < Duration::from_secs(2) && !stop.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(10));
                }
                ("200 OK", String::new(), b"late".to_vec())
            }
            "/bytes" => ("200 OK", String::new(), vec![255, 0, 65]),
            "/redirect" => ("302 Found", "location: /hello\r\n".into(), Vec::new()),
            "/redirect-localhost" => (
                "302 Found",
                format!("location: http://localhost:{port}/hello\r\n"),
                Vec::new(),
            ),
            "/redirect-loop" => (
                "302 Found",
                "location: /redirect-loop\r\n".into(),
                Vec::new(),
            ),
            _ => ("404 Not Found", String::new(), b"no such page".to_vec()),
        };
        let mut w = &s;
        write!(
            w,
            "HTTP/1.1 {status}\r\ncontent-length: {}\r\n{extra}\r\n",
            reply.len()
        )?;
        if method != "HEAD" {
            w.write_all(&reply)?;
        }
        w.flush()?;
    }
}
