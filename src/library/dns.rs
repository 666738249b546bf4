//! DNS_RESOLVE (issue 16, item 3; docs/NETWORK.md, "Name resolution"):
//! a host name to the list of its addresses, through the system's
//! resolver (`getaddrinfo`, as `std::net::ToSocketAddrs` calls it). That
//! call blocks, so DNS_RESOLVE is an `io` operation: it runs on one of the
//! node's I/O threads while its process waits (`exec/semantics/io.rs`).

use crate::permissions::NetPolicy;
use std::net::{IpAddr, ToSocketAddrs};
use ttvm_runtime::Value;

/// The longest name DNS allows (RFC 1035: 253 characters of text).
const MAX_NAME: usize = 253;

/// The addresses of `name` as Strs (`127.0.0.1`, `::1`), each once, in
/// the order the resolver gives them (RFC 6724's preference: the first
/// is the one to try first). An address given as the name resolves to
/// itself. Errors: an empty or malformed name, `permission denied`, and
/// names that do not resolve (with the resolver's reason).
pub fn resolve(name: &str, policy: &NetPolicy) -> Result<Value, String> {
    let bare = name
        .strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .unwrap_or(name);
    if bare.is_empty() {
        return Err("DNS_RESOLVE: the host name is empty".to_string());
    }
    if bare.len() > MAX_NAME
        || bare
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '/')
    {
        return Err(format!(
            "DNS_RESOLVE: {:?} is not a host name (names are like `example.com` or `localhost`, at most {MAX_NAME} characters)",
            shown(name)
        ));
    }
    policy.check("resolve", bare, None)?;
    let addrs = lookup("DNS_RESOLVE", bare)?;
    Ok(Value::list(
        addrs.iter().map(|a| Value::str(a.to_string())).collect(),
    ))
}

/// The addresses of the host name `bare` (without brackets), each once,
/// in the resolver's order; blocks, so it runs on an I/O thread. `what`
/// names the operation in errors. DNS_RESOLVE, and TCP_CONNECT given a
/// name (`exec/semantics/net.rs`).
pub fn lookup(what: &str, bare: &str) -> Result<Vec<IpAddr>, String> {
    let found: Vec<IpAddr> = match bare.parse::<IpAddr>() {
        Ok(addr) => vec![addr],
        Err(_) => (bare, 0u16)
            .to_socket_addrs()
            .map_err(|e| format!("{what}: cannot resolve `{bare}`: {}", super::net_reason(&e)))?
            .map(|a| a.ip())
            .collect(),
    };
    let mut addrs: Vec<IpAddr> = Vec::with_capacity(found.len());
    for a in found {
        if !addrs.contains(&a) {
            addrs.push(a);
        }
    }
    if addrs.is_empty() {
        return Err(format!("{what}: `{bare}` has no addresses"));
    }
    Ok(addrs)
}

/// A name from the program, cut for an error message.
fn shown(name: &str) -> String {
    let mut s: String = name.chars().take(80).collect();
    if s.len() < name.len() {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::permissions::NetAllow;

    fn open() -> NetPolicy {
        NetPolicy::default()
    }

    fn texts(v: Value) -> Vec<String> {
        match v {
            Value::List(l) => l.iter().map(|v| v.to_string()).collect(),
            other => panic!("not a list: {other}"),
        }
    }

    #[test]
    fn addresses_resolve_to_themselves() {
        assert_eq!(texts(resolve("127.0.0.1", &open()).unwrap()), ["127.0.0.1"]);
        assert_eq!(texts(resolve("[::1]", &open()).unwrap()), ["::1"]);
    }

    #[test]
    fn localhost_resolves_to_loopback_addresses() {
        let addrs = texts(resolve("localhost", &open()).unwrap());
        assert!(!addrs.is_empty());
        for a in &addrs {
            let ip: IpAddr = a.parse().unwrap();
            assert!(ip.is_loopback(), "{a}");
        }
    }

    #[test]
    fn bad_names_and_unknown_names_are_errors() {
        let e = resolve("", &open()).unwrap_err();
        assert!(e.contains("empty"), "{e}");
        let e = resolve("a b", &open()).unwrap_err();
        assert!(e.contains("is not a host name"), "{e}");
        let e = resolve(&"x".repeat(300), &open()).unwrap_err();
        assert!(e.contains('…'), "{e}");
        // RFC 6761: `.invalid` never resolves.
        let e = resolve("no-such-host.invalid", &open()).unwrap_err();
        assert!(
            e.starts_with("DNS_RESOLVE: cannot resolve `no-such-host.invalid`: "),
            "{e}"
        );
    }

    #[test]
    fn the_sandbox_asks_allow_net() {
        let mut p = NetPolicy {
            sandbox: true,
            allow: NetAllow::Nothing,
        };
        assert_eq!(
            resolve("localhost", &p).unwrap_err(),
            "permission denied: resolve localhost (run with --allow-net=localhost)"
        );
        p.allow = NetAllow::parse("localhost:8080").unwrap();
        assert!(resolve("localhost", &p).is_ok());
        assert!(resolve("127.0.0.1", &p).is_err());
    }
}
