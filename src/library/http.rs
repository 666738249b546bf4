//! The HTTP client (issue 16, item 4; docs/NETWORK.md, "HTTP client"):
//! HTTP_GET and HTTP_POST (TinyTotVM's forms: the body of a 2xx response)
//! and HTTP_REQUEST (any method, request headers, timeout; the response's
//! status, headers and body as an object).
//!
//! The protocol is the `ureq` crate's (blocking HTTP/1.1, no TLS: ttvm is
//! built without it, so `https://` URLs raise a clear error). A request
//! blocks, so these are `io` operations: each runs on one of the node's
//! I/O threads while its process waits (`exec/semantics/io.rs`).
//!
//! `--sandbox` is checked for every connection the request makes,
//! redirects included: the agent's resolver asks the policy with the
//! host and port of each URL before it looks the name up ([`Checked`]).
//! No proxy is used (the environment's `http_proxy` is ignored), so the
//! host checked is the host connected to.

use super::values::{list_value, object_value, text_value, ObjectFields};
use crate::exec::Raise;
use crate::permissions::NetPolicy;
use std::io;
use std::sync::Arc;
use std::time::Duration;
use ttvm_runtime::{Exception, Object, Str, Value};
use ureq::http::{self, Uri};
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};

/// A request's time limit unless it says otherwise: connecting,
/// redirects, sending and the whole response together.
pub const DEFAULT_TIMEOUT_MS: u64 = 30_000;
/// The longest time limit a request may ask for (a day).
pub const MAX_TIMEOUT_MS: u64 = 86_400_000;
/// The largest response body read unless the request says otherwise.
pub const DEFAULT_MAX_BODY: u64 = 16 << 20;
/// Redirects followed unless the request says otherwise.
pub const DEFAULT_REDIRECTS: u32 = 10;
/// The most redirects a request may ask to follow.
pub const MAX_REDIRECTS: u32 = 50;

/// One request, checked and ready to send.
#[derive(Clone, Debug)]
pub struct Request {
    /// The operation, for messages (`HTTP_GET`).
    pub op: &'static str,
    pub method: http::Method,
    pub url: String,
    pub uri: Uri,
    pub headers: Vec<(http::HeaderName, http::HeaderValue)>,
    pub body: Option<Vec<u8>>,
    pub timeout_ms: u64,
    pub redirects: u32,
    pub max_body: u64,
    /// The response body as a byte List instead of a Str.
    pub bytes: bool,
}

/// What came back.
#[derive(Clone, Debug)]
pub struct Response {
    pub status: u16,
    pub reason: String,
    /// Lower-case names; a header given several times has its values
    /// joined with `, ` (RFC 9110 §5.3).
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The URL of the response (after redirects).
    pub url: String,
}

impl Request {
    /// A request of `method` to `url` with the defaults.
    pub fn new(op: &'static str, method: http::Method, url: &str) -> Result<Request, String> {
        Ok(Request {
            op,
            method,
            url: url.to_string(),
            uri: parse_url(op, url)?,
            headers: Vec::new(),
            body: None,
            timeout_ms: DEFAULT_TIMEOUT_MS,
            redirects: DEFAULT_REDIRECTS,
            max_body: DEFAULT_MAX_BODY,
            bytes: false,
        })
    }

    /// HTTP_REQUEST's operand: an object with `url` and optionally
    /// `method`, `headers`, `body`, `timeout_ms`, `redirects`, `max_body`
    /// and `bytes`; any other field is an error (a misspelt field is not
    /// quietly ignored).
    pub fn from_object(o: &Object) -> Result<Request, String> {
        const OP: &str = "HTTP_REQUEST";
        const FIELDS: &str = "url, method, headers, body, timeout_ms, redirects, max_body, bytes";
        for (key, _) in o.iter() {
            if !FIELDS.split(", ").any(|f| f == key) {
                return Err(format!(
                    "HTTP_REQUEST: the request has a field `{key}` it does not know (fields: {FIELDS})"
                ));
            }
        }
        let url = match o.get("url") {
            Some(Value::Str(s)) => s.as_str().to_string(),
            Some(other) => return Err(field_type("url", "a Str", other)),
            None => return Err("HTTP_REQUEST: the request has no `url` field".to_string()),
        };
        let method = match o.get("method") {
            None => http::Method::GET,
            Some(Value::Str(m)) => method(m.as_str())?,
            Some(other) => return Err(field_type("method", "a Str", other)),
        };
        let mut req = Request::new(OP, method, &url)?;
        match o.get("headers") {
            None | Some(Value::Null) => {}
            Some(Value::Object(h)) => {
                for (name, value) in h.iter() {
                    let value = match value {
                        Value::Str(s) => s.as_str().to_string(),
                        Value::Int(n) => n.to_string(),
                        other => {
                            return Err(format!(
                                "HTTP_REQUEST: header `{name}` must be a Str or an Int, got {}",
                                other.type_name()
                            ))
                        }
                    };
                    req.headers.push(header(name, &value)?);
                }
            }
            Some(other) => return Err(field_type("headers", "an Object", other)),
        }
        req.body = match o.get("body") {
            None | Some(Value::Null) => None,
            Some(Value::Str(s)) => Some(s.as_str().as_bytes().to_vec()),
            Some(v @ Value::List(_)) => Some(super::host::bytes_of(v, OP)?),
            Some(other) => return Err(field_type("body", "a Str or a byte List", other)),
        };
        if let Some(v) = o.get("timeout_ms") {
            req.timeout_ms = int_field("timeout_ms", v, 1, MAX_TIMEOUT_MS)?;
        }
        if let Some(v) = o.get("redirects") {
            req.redirects = int_field("redirects", v, 0, MAX_REDIRECTS as u64)? as u32;
        }
        if let Some(v) = o.get("max_body") {
            req.max_body = int_field("max_body", v, 0, crate::exec::ops::MAX_STR_BYTES as u64)?;
        }
        match o.get("bytes") {
            None => {}
            Some(Value::Bool(b)) => req.bytes = *b,
            Some(other) => return Err(field_type("bytes", "a Bool", other)),
        }
        Ok(req)
    }

    /// `HTTP_GET http://host/path`: what messages start with.
    fn what(&self) -> String {
        format!("{} {}", self.op, shown(&self.url))
    }
}

fn field_type(field: &str, kind: &str, got: &Value) -> String {
    format!(
        "HTTP_REQUEST: the field `{field}` must be {kind}, got {}",
        got.type_name()
    )
}

fn int_field(field: &str, v: &Value, min: u64, max: u64) -> Result<u64, String> {
    match v {
        Value::Int(n) if *n >= min as i64 && *n as u64 <= max => Ok(*n as u64),
        Value::Int(n) => Err(format!(
            "HTTP_REQUEST: the field `{field}` must be from {min} to {max}, got {n}"
        )),
        other => Err(field_type(field, "an Int", other)),
    }
}

fn method(m: &str) -> Result<http::Method, String> {
    let upper = m.to_ascii_uppercase();
    match upper.as_str() {
        "GET" | "POST" | "PUT" | "DELETE" | "HEAD" | "OPTIONS" | "PATCH" => {
            http::Method::from_bytes(upper.as_bytes()).map_err(|e| e.to_string())
        }
        _ => Err(format!(
            "HTTP_REQUEST: method {:?} is not one of GET, POST, PUT, DELETE, HEAD, OPTIONS, PATCH",
            shown(m)
        )),
    }
}

fn header(name: &str, value: &str) -> Result<(http::HeaderName, http::HeaderValue), String> {
    let n = http::HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| format!("HTTP_REQUEST: {:?} is not a header name", shown(name)))?;
    let v = http::HeaderValue::from_str(value).map_err(|_| {
        format!(
            "HTTP_REQUEST: the value of header `{name}` holds a character a header cannot (a line break or a control character)"
        )
    })?;
    Ok((n, v))
}

/// A URL from the program: `http://host[:port][/path][?query]`.
fn parse_url(op: &str, url: &str) -> Result<Uri, String> {
    let bad = |why: &str| Err(format!("{op}: bad URL {:?}: {why}", shown(url)));
    let uri: Uri = match url.parse() {
        Ok(u) => u,
        Err(e) => return bad(&e.to_string()),
    };
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") => return Err(no_tls(op, url)),
        Some(other) => {
            return bad(&format!(
                "the scheme is `{other}`; only http:// URLs are supported"
            ))
        }
        None => return bad("it has no scheme; write it as http://host/path"),
    }
    match uri.authority() {
        Some(a) if !a.host().is_empty() => {}
        _ => return bad("it has no host"),
    }
    if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
        return bad("user names and passwords in URLs are not supported; send an `authorization` header with HTTP_REQUEST");
    }
    Ok(uri)
}

fn no_tls(op: &str, url: &str) -> String {
    format!(
        "{op} {}: https is not supported (ttvm is built without TLS); use an http:// URL, or run a client such as `curl` with EXEC_CAPTURE",
        shown(url)
    )
}

/// A URL or name from the program, cut for a message.
fn shown(s: &str) -> String {
    let mut out: String = s.chars().take(200).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

/// A refused connection, carried through ureq as an I/O error.
#[derive(Debug)]
struct Denied(String);

impl std::fmt::Display for Denied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Denied {}

/// The resolver that asks the network policy first, for the first URL and
/// every redirect's.
#[derive(Debug)]
struct Checked {
    policy: NetPolicy,
    inner: DefaultResolver,
}

impl Resolver for Checked {
    fn resolve(
        &self,
        uri: &Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        if let Some(auth) = uri.authority() {
            let port = auth
                .port_u16()
                .unwrap_or(if uri.scheme_str() == Some("https") {
                    443
                } else {
                    80
                });
            if let Err(msg) = self.policy.check("connect to", auth.host(), Some(port)) {
                return Err(ureq::Error::Io(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    Denied(msg),
                )));
            }
        }
        self.inner.resolve(uri, config, timeout)
    }
}

/// Send `req` and read the whole response (within its time limit).
pub fn send(req: &Request, policy: &NetPolicy) -> Result<Response, String> {
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .max_redirects(req.redirects)
        .save_redirect_history(false)
        .timeout_global(Some(Duration::from_millis(req.timeout_ms)))
        .user_agent(concat!("ttvm/", env!("CARGO_PKG_VERSION")))
        .build();
    let agent = ureq::Agent::with_parts(
        config,
        DefaultConnector::default(),
        Checked {
            policy: policy.clone(),
            inner: DefaultResolver::default(),
        },
    );
    let mut builder = http::Request::builder()
        .method(req.method.clone())
        .uri(req.uri.clone());
    for (n, v) in &req.headers {
        builder = builder.header(n, v);
    }
    let result = match &req.body {
        Some(body) => builder
            .body(body.clone())
            .map_err(|e| format!("{}: {e}", req.what()))
            .and_then(|r| agent.run(r).map_err(|e| failure(req, e))),
        None => builder
            .body(())
            .map_err(|e| format!("{}: {e}", req.what()))
            .and_then(|r| agent.run(r).map_err(|e| failure(req, e))),
    };
    let mut resp = result?;
    use ureq::ResponseExt;
    let url = resp.get_uri().to_string();
    let status = resp.status();
    let mut headers: Vec<(String, String)> = Vec::new();
    for (name, value) in resp.headers() {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        match headers.iter_mut().find(|(n, _)| n == name.as_str()) {
            Some((_, v)) => {
                v.push_str(", ");
                v.push_str(&value);
            }
            None => headers.push((name.as_str().to_string(), value)),
        }
    }
    let body = resp
        .body_mut()
        .with_config()
        .limit(req.max_body)
        .read_to_vec()
        .map_err(|e| match e {
            ureq::Error::BodyExceedsLimit(_) => format!(
                "{}: the response body is larger than {} bytes (HTTP_REQUEST's `max_body` raises the limit)",
                req.what(),
                req.max_body
            ),
            e => failure(req, e),
        })?;
    Ok(Response {
        status: status.as_u16(),
        reason: status.canonical_reason().unwrap_or("").to_string(),
        headers,
        body,
        url,
    })
}

/// What went wrong, for the program: `HTTP_GET http://…: connection
/// refused`, `… timed out after 30000 ms`, or the policy's `permission
/// denied: connect to …` as it is.
fn failure(req: &Request, e: ureq::Error) -> String {
    let what = req.what();
    match e {
        ureq::Error::Io(e) => {
            if let Some(d) = e.get_ref().and_then(|i| i.downcast_ref::<Denied>()) {
                return d.0.clone();
            }
            format!("{what}: {}", super::net_reason(&e))
        }
        ureq::Error::Timeout(_) => format!("{what}: timed out after {} ms", req.timeout_ms),
        ureq::Error::HostNotFound => format!(
            "{what}: cannot resolve `{}`",
            req.uri.host().unwrap_or_default()
        ),
        ureq::Error::BadUri(why) => format!("{what}: bad URL: {why}"),
        ureq::Error::TooManyRedirects => {
            format!("{what}: more than {} redirects", req.redirects)
        }
        ureq::Error::RedirectFailed => format!(
            "{what}: the server redirected a request with a body (307/308); send it to the new URL yourself (HTTP_REQUEST with `redirects` 0 shows the `location` header)"
        ),
        ureq::Error::Protocol(p) => format!("{what}: the server's answer is not HTTP/1.1: {p}"),
        ureq::Error::Http(h) => format!("{what}: {h}"),
        ureq::Error::Tls(_) => no_tls(req.op, &req.url),
        ureq::Error::ConnectionFailed => format!(
            "{what}: connection failed (a redirect to an https:// URL fails so: ttvm is built without TLS)"
        ),
        other => format!("{what}: {other}"),
    }
}

/// The response as an object: `{status, reason, headers, body, url}`;
/// the body a Str (UTF-8 text) or, with `bytes`, a List of Ints.
pub fn response_value(req: &Request, resp: Response) -> Result<Value, String> {
    let body = if req.bytes {
        list_value(resp.body.iter().map(|&b| Value::Int(b as i64)).collect())
    } else {
        text_value(String::from_utf8(resp.body).map_err(|e| {
            format!(
                "{}: the response body is not UTF-8 text (byte {} is invalid); HTTP_REQUEST with `bytes` true gives it as a List of Ints",
                req.what(),
                e.utf8_error().valid_up_to()
            )
        })?)
    };
    Ok(object(
        resp.status,
        resp.reason,
        &resp.headers,
        body,
        resp.url,
    ))
}

fn object(
    status: u16,
    reason: String,
    headers: &[(String, String)],
    body: Value,
    url: String,
) -> Value {
    let mut h = ObjectFields::default();
    for (n, v) in headers {
        h.set(n, text_value(v.clone()));
    }
    let mut fields = ObjectFields::default();
    fields.set("status", Value::Int(status as i64));
    fields.set("reason", text_value(reason));
    fields.set("headers", object_value(h));
    fields.set("body", body);
    fields.set("url", text_value(url));
    object_value(fields)
}

/// HTTP_GET and HTTP_POST's result: the body of a 2xx response as a Str.
/// Any other status raises `HTTP_GET URL: status 404 Not Found`, whose
/// `value` is the response object (its body as text, invalid UTF-8
/// replaced).
pub fn body_of_success(req: &Request, resp: Response) -> Result<Value, Raise> {
    if (200..300).contains(&resp.status) {
        return String::from_utf8(resp.body).map(text_value).map_err(|e| {
            Value::error(format!(
                "{}: the response body is not UTF-8 text (byte {} is invalid); HTTP_REQUEST with `bytes` true gives it as a List of Ints",
                req.what(),
                e.utf8_error().valid_up_to()
            ))
        });
    }
    let message = format!("{}: status {} {}", req.what(), resp.status, resp.reason);
    let body = text_value(String::from_utf8_lossy(&resp.body).into_owned());
    let value = object(resp.status, resp.reason, &resp.headers, body, resp.url);
    Err(Arc::new(Exception {
        message: Arc::new(Str::new(message.trim_end().to_string())),
        value,
    }))
}
