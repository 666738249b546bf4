//! The client side of the network (issue 16, items 3, 4 and 6): the
//! `--allow-net` flag (docs/NETWORK.md, "Permissions"), DNS_RESOLVE and
//! the HTTP client, against a server this test starts on 127.0.0.1
//! (`common/http_server.rs`). Nothing here leaves the machine.

mod common;
#[path = "common/http_server.rs"]
mod http_server;

use common::Ttvm;
use http_server::Server;
use std::time::Duration;

fn ttvm(args: &[&str]) -> common::Captured {
    Ttvm::new().args(args).run()
}

/// Run program `src` (written to a scratch file) with `flags`.
fn run(name: &str, flags: &[&str], src: &str) -> common::Captured {
    let dir = common::scratch(&format!("net-client-{name}"));
    let path = dir.join(format!("{name}.ttvm"));
    std::fs::write(&path, src).unwrap();
    Ttvm::new()
        .args(flags)
        .arg(&path)
        .timeout(Duration::from_secs(60))
        .hang_means("a network operation hung")
        .run()
}

/// A program that runs `body` (instructions leaving one value) in TRY and
/// prints the value, or `caught: MESSAGE`.
fn try_print(body: &str) -> String {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!(
        "TRY h{n}\n{body}\nPRINT\nEND_TRY\nJMP done{n}\nLABEL h{n}\nCATCH\nGET_FIELD message\nPUSH_STR \"caught: \"\nSWAP\nCONCAT\nPRINT\nLABEL done{n}\n"
    )
}

/// Push `arg` (a Str literal), then the instructions `ops`.
fn with(arg: &str, ops: &str) -> String {
    format!("{}\n{ops}", lit(arg))
}

/// A Str literal for a .ttvm program.
fn lit(s: &str) -> String {
    format!("PUSH_STR {s:?}")
}

#[test]
fn allow_net_lists_are_checked_when_the_command_line_is_read() {
    for (list, why) in [
        (
            "--allow-net=127.0.0.1:99999",
            "has a port that is not a number",
        ),
        ("--allow-net=a,,b", "`` is empty"),
        ("--allow-net=http://example.com", "is a URL or path"),
        ("--allow-net=::1:80:x", "write an IPv6 address in brackets"),
    ] {
        let r = ttvm(&["--sandbox", list, "-e", "PUSH_INT 1 | PRINT"]);
        assert_eq!(r.status, Some(2), "{list}: {r:?}");
        assert!(r.stderr.contains(why), "{list}: {r:?}");
        assert!(r.stdout.is_empty(), "{list} ran: {r:?}");
    }
}

#[test]
fn allow_net_forms_are_accepted_and_add_up() {
    let r = ttvm(&[
        "--sandbox",
        "--allow-net=localhost,127.0.0.1:8080,[::1]:80,::1",
        "--allow-net=example.com:443",
        "-e",
        "PUSH_INT 1 | PRINT",
    ]);
    assert_eq!((r.status, r.stdout.as_str()), (Some(0), "1\n"), "{r:?}");
    assert!(r.stderr.is_empty(), "{r:?}");
    let r = Ttvm::new()
        .args(["repl", "--sandbox", "--allow-net"])
        .stdin("PUSH_INT 2\n")
        .run();
    assert_eq!(r.status, Some(0), "{r:?}");
    assert!(r.stdout.contains("[2]"), "{r:?}");
}

#[test]
fn allow_net_without_the_sandbox_warns_that_it_changes_nothing() {
    let r = ttvm(&["--allow-net=localhost", "-e", "PUSH_INT 1 | PRINT"]);
    assert_eq!((r.status, r.stdout.as_str()), (Some(0), "1\n"), "{r:?}");
    assert!(
        r.stderr
            .contains("--allow-net has effect only with --sandbox"),
        "{r:?}"
    );
}

#[test]
fn dns_resolve_gives_the_addresses_and_catchable_errors() {
    let src = [
        try_print(&with("127.0.0.1", "DNS_RESOLVE")),
        try_print(&with("[::1]", "DNS_RESOLVE")),
        try_print(&with(
            "localhost",
            "DNS_RESOLVE\nPUSH_STR \"127.0.0.1\"\nCONTAINS",
        )),
        try_print(&with("no-such-host.invalid", "DNS_RESOLVE")),
        try_print(&with("", "DNS_RESOLVE")),
    ]
    .concat();
    let r = run("dns", &[], &src);
    assert_eq!(r.status, Some(0), "{r:?}");
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines[..3], ["[127.0.0.1]", "[::1]", "true"], "{r:?}");
    assert!(
        lines[3].starts_with("caught: DNS_RESOLVE: cannot resolve `no-such-host.invalid`: "),
        "{r:?}"
    );
    assert_eq!(lines[4], "caught: DNS_RESOLVE: the host name is empty");
    // Under the sandbox: refused unless --allow-net names the host.
    let src = try_print(&with("localhost", "DNS_RESOLVE\nLEN\nPUSH_INT 0\nGT"));
    let r = run("dns-sandbox", &["--sandbox"], &src);
    assert_eq!(
        r.stdout, "caught: permission denied: resolve localhost (run with --allow-net=localhost)\n",
        "{r:?}"
    );
    let r = run(
        "dns-allowed",
        &["--sandbox", "--allow-net=localhost:80"],
        &src,
    );
    assert_eq!(r.stdout, "1\n", "{r:?}");
}

#[test]
fn http_get_and_post_give_the_body_of_a_2xx_response() {
    let s = Server::start();
    let src = [
        try_print(&with(&s.url("/hello"), "HTTP_GET")),
        try_print(&format!(
            "{}\n{}\nHTTP_POST",
            lit(&s.url("/echo")),
            lit("data")
        )),
        // A redirect is followed.
        try_print(&with(&s.url("/redirect"), "HTTP_GET")),
        // A byte List body.
        try_print(&format!(
            "{}\nPUSH_INT 104\nPUSH_INT 105\nMAKE_LIST 2\nHTTP_POST",
            lit(&s.url("/echo"))
        )),
    ]
    .concat();
    for flags in [&[][..], &["--jit", "--jit-threshold", "0"], &["-S", "1"]] {
        let r = run("get-post", flags, &src);
        assert_eq!(r.status, Some(0), "{flags:?}: {r:?}");
        assert_eq!(
            r.stdout, "hello\nPOST||data\nhello\nPOST||hi\n",
            "{flags:?}: {r:?}"
        );
    }
}

#[test]
fn a_status_other_than_2xx_raises_with_the_response_as_the_value() {
    let s = Server::start();
    let src = format!(
        "TRY h\n{}\nHTTP_GET\nPRINT\nEND_TRY\nHALT\nLABEL h\nCATCH\nDUP\nGET_FIELD message\nPRINT\nGET_FIELD value\nDUP\nGET_FIELD status\nPRINT\nGET_FIELD body\nPRINT\n",
        lit(&s.url("/missing"))
    );
    let r = run("status", &[], &src);
    assert_eq!(r.status, Some(0), "{r:?}");
    assert_eq!(
        r.stdout,
        format!(
            "HTTP_GET {}: status 404 Not Found\n404\nno such page\n",
            s.url("/missing")
        ),
        "{r:?}"
    );
}

#[test]
fn http_request_gives_status_headers_and_body() {
    let s = Server::start();
    let req = |json: String| try_print(&format!("{}\nJSON_PARSE\nHTTP_REQUEST", lit(&json)));
    let src = [
        req(format!(
            r#"{{"method": "put", "url": "{}", "headers": {{"x-req": "abc"}}, "body": "b"}}"#,
            s.url("/echo")
        )) + "",
        // The whole response object of a 404: no error.
        format!(
            "{}\nJSON_PARSE\nHTTP_REQUEST\nDUP\nGET_FIELD status\nPRINT\nDUP\nGET_FIELD reason\nPRINT\nGET_FIELD body\nPRINT\n",
            lit(&format!(r#"{{"url": "{}"}}"#, s.url("/missing")))
        ),
        format!(
            "{}\nJSON_PARSE\nHTTP_REQUEST\nGET_FIELD headers\nGET_FIELD x-test\nPRINT\n",
            lit(&format!(r#"{{"url": "{}"}}"#, s.url("/hello")))
        ),
        // `redirects` 0: the 302 itself, with its location.
        format!(
            "{}\nJSON_PARSE\nHTTP_REQUEST\nDUP\nGET_FIELD status\nPRINT\nGET_FIELD headers\nGET_FIELD location\nPRINT\n",
            lit(&format!(r#"{{"url": "{}", "redirects": 0}}"#, s.url("/redirect")))
        ),
        // Bytes.
        format!(
            "{}\nJSON_PARSE\nHTTP_REQUEST\nGET_FIELD body\nPRINT\n",
            lit(&format!(r#"{{"url": "{}", "bytes": true}}"#, s.url("/bytes")))
        ),
        req(format!(r#"{{"url": "{}", "bytes": false}}"#, s.url("/bytes"))),
        req(format!(r#"{{"url": "{}", "tiemout_ms": 5}}"#, s.url("/hello"))),
        req(format!(r#"{{"url": "{}", "redirects": 3}}"#, s.url("/redirect-loop"))),
        req(format!(r#"{{"url": "{}", "max_body": 2}}"#, s.url("/hello"))),
        req(format!(r#"{{"url": "{}", "method": "BREW"}}"#, s.url("/hello"))),
    ]
    .concat();
    let r = run("request", &[], &src);
    assert_eq!(r.status, Some(0), "{r:?}");
    let lines: Vec<&str> = r.stdout.lines().collect();
    let hello = s.url("/hello");
    let expect = [
        "{status: 200, reason: OK, headers: {content-length: 9}, body: PUT|abc|b, url: ".to_string()
            + &s.url("/echo")
            + "}",
        "404".into(),
        "Not Found".into(),
        "no such page".into(),
        "yes".into(),
        "302".into(),
        "/hello".into(),
        "[255, 0, 65]".into(),
        format!("caught: HTTP_REQUEST {}: the response body is not UTF-8 text (byte 0 is invalid); HTTP_REQUEST with `bytes` true gives it as a List of Ints", s.url("/bytes")),
        "caught: HTTP_REQUEST: the request has a field `tiemout_ms` it does not know (fields: url, method, headers, body, timeout_ms, redirects, max_body, bytes)".into(),
        format!("caught: HTTP_REQUEST {}: more than 3 redirects", s.url("/redirect-loop")),
        format!("caught: HTTP_REQUEST {hello}: the response body is larger than 2 bytes (HTTP_REQUEST's `max_body` raises the limit)"),
        "caught: HTTP_REQUEST: method \"BREW\" is not one of GET, POST, PUT, DELETE, HEAD, OPTIONS, PATCH".into(),
    ];
    assert_eq!(lines, expect, "{r:?}");
}

#[test]
fn refused_timed_out_and_bad_urls_are_catchable_errors() {
    let s = Server::start();
    // A port nothing listens on: bind one, note it, close it.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let refused = format!("http://127.0.0.1:{closed}/");
    let src = [
        try_print(&with(&refused, "HTTP_GET")),
        try_print(&format!(
            "{}\nJSON_PARSE\nHTTP_REQUEST",
            lit(&format!(
                r#"{{"url": "{}", "timeout_ms": 300}}"#,
                s.url("/slow")
            ))
        )),
        try_print(&with("https://127.0.0.1/", "HTTP_GET")),
        try_print(&with("ftp://127.0.0.1/", "HTTP_GET")),
        try_print(&with("127.0.0.1/x", "HTTP_GET")),
        try_print("PUSH_INT 5\nHTTP_GET"),
    ]
    .concat();
    let r = run("errors", &[], &src);
    assert_eq!(r.status, Some(0), "{r:?}");
    // The timeout is the request's, not the server's 2 s.
    assert!(r.elapsed < Duration::from_millis(1900), "{r:?}");
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 6, "{r:?}");
    assert_eq!(
        lines[0],
        format!("caught: HTTP_GET {refused}: connection refused")
    );
    assert_eq!(
        lines[1],
        format!(
            "caught: HTTP_REQUEST {}: timed out after 300 ms",
            s.url("/slow")
        )
    );
    assert_eq!(lines[2], "caught: HTTP_GET https://127.0.0.1/: https is not supported (ttvm is built without TLS); use an http:// URL, or run a client such as `curl` with EXEC_CAPTURE");
    assert_eq!(lines[3], "caught: HTTP_GET: bad URL \"ftp://127.0.0.1/\": the scheme is `ftp`; only http:// URLs are supported");
    assert!(
        lines[4].starts_with("caught: HTTP_GET: bad URL \"127.0.0.1/x\""),
        "{r:?}"
    );
    assert_eq!(
        lines[5],
        "caught: type error: HTTP_GET needs a Str URL, got Int"
    );
}

#[test]
fn the_sandbox_refuses_hosts_allow_net_does_not_name_redirects_included() {
    let s = Server::start();
    let p = s.port;
    let src = [
        try_print(&with(&s.url("/hello"), "HTTP_GET")),
        try_print(&with(&s.url("/redirect"), "HTTP_GET")),
        try_print(&with(&s.url("/redirect-localhost"), "HTTP_GET")),
    ]
    .concat();
    let r = run("sandbox-none", &["--sandbox"], &src);
    let denied = format!(
        "caught: permission denied: connect to 127.0.0.1:{p} (run with --allow-net=127.0.0.1:{p})"
    );
    assert_eq!(r.stdout, format!("{denied}\n{denied}\n{denied}\n"), "{r:?}");
    let allow = format!("--allow-net=127.0.0.1:{p}");
    let r = run("sandbox-some", &["--sandbox", &allow], &src);
    assert_eq!(
        r.stdout,
        format!("hello\nhello\ncaught: permission denied: connect to localhost:{p} (run with --allow-net=localhost:{p})\n"),
        "{r:?}"
    );
    // Another port of the same host is not allowed.
    let other = format!("--allow-net=127.0.0.1:{}", p.wrapping_add(1).max(1));
    let r = run("sandbox-port", &["--sandbox", &other], &src);
    assert!(r.stdout.starts_with(&denied), "{r:?}");
    for flags in [&["--sandbox", "--allow-net"][..], &[]] {
        let r = run("sandbox-all", flags, &src);
        assert_eq!(r.stdout, "hello\nhello\nhello\n", "{flags:?}: {r:?}");
    }
}

/// The request waits on an I/O thread: with one scheduler, a counting
/// process finishes while the server takes 2 s to answer.
#[test]
fn a_slow_request_does_not_stop_other_processes() {
    let s = Server::start();
    let src = format!(
        "MAKE_FUNCTION counter\nSPAWN\nPOP\n{}\nHTTP_GET\nPRINT\nHALT\nLABEL counter\nPUSH_INT 0\nSTORE i\nLABEL loop\nLOAD i\nPUSH_INT 1\nADD\nSTORE i\nLOAD i\nPUSH_INT 200000\nLT\nJNZ loop\nPUSH_STR \"counted\"\nPRINT\nRET\n",
        lit(&s.url("/slow"))
    );
    for flags in [&["-S", "1"][..], &["--no-smp", "--jit"]] {
        let r = run("slow", flags, &src);
        assert_eq!(r.status, Some(0), "{flags:?}: {r:?}");
        assert_eq!(r.stdout, "counted\nlate\n", "{flags:?}: {r:?}");
    }
}

/// A name of this machine the resolver turns into 127.0.0.1 first (the
/// address TCP_CONNECT tries), if there is one: its host name usually is.
fn loopback_name() -> Option<String> {
    use std::net::{IpAddr, Ipv4Addr, ToSocketAddrs};
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let host = host.trim().to_string();
    let first = (host.as_str(), 0u16).to_socket_addrs().ok()?.next()?;
    (first.ip() == IpAddr::V4(Ipv4Addr::LOCALHOST)).then_some(host)
}

#[test]
fn tcp_connect_resolves_host_names_off_the_scheduler() {
    // A name that does not resolve: a catchable error naming it.
    let src = try_print(&format!(
        "{}\nPUSH_INT 80\nTCP_CONNECT",
        lit("no-such-host.invalid")
    ));
    let r = run("connect-invalid", &[], &src);
    assert!(
        r.stdout.starts_with(
            "caught: TCP_CONNECT no-such-host.invalid:80: cannot resolve `no-such-host.invalid`: "
        ),
        "{r:?}"
    );
    // Under the sandbox the permission is the name's, as given.
    let src = try_print(&format!("{}\nPUSH_INT 80\nTCP_CONNECT", lit("db.example")));
    let r = run("connect-sandbox", &["--sandbox"], &src);
    assert_eq!(
        r.stdout,
        "caught: permission denied: connect to db.example:80 (run with --allow-net=db.example:80)\n",
        "{r:?}"
    );
    let Some(name) = loopback_name() else {
        eprintln!("skipped the connection by name: this machine's host name does not resolve to 127.0.0.1 first");
        return;
    };
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let reader = std::thread::spawn(move || {
        use std::io::Read;
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut got = String::new();
        s.read_to_string(&mut got).unwrap();
        got
    });
    let src = format!(
        "{}\nPUSH_INT {port}\nTCP_CONNECT\nDUP\nPUSH_STR \"hello by name\"\nTCP_SEND\nSOCKET_CLOSE\nPUSH_STR \"sent\"\nPRINT\n",
        lit(&name)
    );
    let allow = format!("--allow-net={name}:{port}");
    let r = run("connect-name", &["--sandbox", &allow], &src);
    assert_eq!(r.stdout, "sent\n", "{r:?}");
    assert_eq!(reader.join().unwrap(), "hello by name");
}
