//! The network permission policy (issue 16, item 6; docs/NETWORK.md,
//! "Permissions").
//!
//! Without `--sandbox` every network operation is allowed, as every file
//! and environment operation is. Under `--sandbox` each one raises a
//! catchable `permission denied: …` error unless `--allow-net` allows it,
//! Deno-style:
//!
//! - `--allow-net` alone allows every host and port;
//! - `--allow-net=LIST` allows what the comma-separated entries name: `host`
//!   (every port of it) or `host:port`. A host is a name (`example.com`,
//!   `localhost`), an IPv4 address (`127.0.0.1`) or an IPv6 address, in
//!   brackets when a port follows (`[::1]:8080`; `::1` alone is a host
//!   without a port). The flag may be given more than once: the entries
//!   add up.
//!
//! Matching is literal, never through name resolution: an entry
//! `localhost` allows connecting to `localhost`, not to `127.0.0.1`, and
//! `127.0.0.1` does not allow `localhost` (what a name resolves to can
//! change between the check and the use). Names compare without regard
//! to case and to a final dot; addresses compare as addresses (`::1`
//! equals `0:0:0:0:0:0:0:1`). An operation without a port (resolving a
//! name) is allowed when any entry names the host, with or without a port.
//!
//! Every network operation asks [`check_net`] (or [`RunConfig::check_net`])
//! before it touches the network, with what it does (`connect to`,
//! `listen on`, `resolve`, …), the host as the program gave it and the port.

use crate::exec::vm::RunConfig;
use crate::exec::OpResult;
use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use ttvm_runtime::Value;

/// What `--allow-net` allows under `--sandbox` (nothing unless given).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum NetAllow {
    /// No `--allow-net`: every network operation is refused.
    #[default]
    Nothing,
    /// `--allow-net` without a list: every host and port.
    Everything,
    /// `--allow-net=LIST`: the entries, in the order given.
    Only(Vec<NetRule>),
}

/// One `--allow-net` entry: a host and maybe a port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetRule {
    pub host: Host,
    /// `None`: every port.
    pub port: Option<u16>,
}

/// A host as an entry names it, or as a program gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Host {
    /// An IPv4 or IPv6 address.
    Addr(IpAddr),
    /// A host name, lower case, without a final dot.
    Name(String),
}

impl Host {
    /// The host a program named: brackets around an IPv6 address are
    /// taken off; anything that is not an address is a name (not checked:
    /// a name that cannot exist simply matches no entry).
    pub fn of(text: &str) -> Host {
        let bare = text
            .strip_prefix('[')
            .and_then(|t| t.strip_suffix(']'))
            .unwrap_or(text);
        match bare.parse::<IpAddr>() {
            Ok(a) => Host::Addr(a),
            Err(_) => Host::Name(normal_name(bare)),
        }
    }
}

fn normal_name(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Addr(a) => write!(f, "{a}"),
            Host::Name(n) => f.write_str(n),
        }
    }
}

/// `host` or `host:port`, with an IPv6 address in brackets when a port
/// follows (`[::1]:80`): the form `--allow-net` takes and errors show.
pub fn address(host: &str, port: Option<u16>) -> String {
    let host = host
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(host);
    match port {
        Some(p) if host.contains(':') => format!("[{host}]:{p}"),
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    }
}

impl fmt::Display for NetRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&address(&self.host.to_string(), self.port))
    }
}

impl NetAllow {
    /// Parse the value of `--allow-net=LIST` (`""`, from `--allow-net`
    /// alone, allows everything).
    pub fn parse(list: &str) -> Result<NetAllow, String> {
        if list.is_empty() {
            return Ok(NetAllow::Everything);
        }
        let mut rules = Vec::new();
        for entry in list.split(',') {
            rules.push(NetRule::parse(entry.trim())?);
        }
        Ok(NetAllow::Only(rules))
    }

    /// Several `--allow-net` flags together.
    pub fn merge(flags: impl IntoIterator<Item = NetAllow>) -> NetAllow {
        let mut all = NetAllow::Nothing;
        for flag in flags {
            all = match (all, flag) {
                (NetAllow::Everything, _) | (_, NetAllow::Everything) => NetAllow::Everything,
                (NetAllow::Nothing, other) | (other, NetAllow::Nothing) => other,
                (NetAllow::Only(mut a), NetAllow::Only(b)) => {
                    a.extend(b);
                    NetAllow::Only(a)
                }
            };
        }
        all
    }

    /// Whether `host` (as a program gave it) at `port` is allowed (`None`:
    /// no port, as when resolving a name: any entry for the host allows it).
    pub fn allows(&self, host: &str, port: Option<u16>) -> bool {
        match self {
            NetAllow::Nothing => false,
            NetAllow::Everything => true,
            NetAllow::Only(rules) => {
                let host = Host::of(host);
                rules.iter().any(|r| {
                    r.host == host && (r.port.is_none() || port.is_none() || r.port == port)
                })
            }
        }
    }
}

impl NetRule {
    /// One entry of `--allow-net=LIST`.
    pub fn parse(entry: &str) -> Result<NetRule, String> {
        let bad = |why: &str| {
            Err(format!(
                "--allow-net: `{entry}` {why} (entries are `host` or `host:port`, e.g. `localhost`, `127.0.0.1:8080`, `[::1]:80`, separated by commas)"
            ))
        };
        if entry.is_empty() {
            return bad("is empty");
        }
        if entry.contains("://") || entry.contains('/') {
            return bad("is a URL or path: give the host and maybe a port only");
        }
        let (host, port) = if let Some(rest) = entry.strip_prefix('[') {
            let Some((inside, after)) = rest.split_once(']') else {
                return bad("has `[` without `]`");
            };
            let Ok(addr) = inside.parse::<Ipv6Addr>() else {
                return bad("has no IPv6 address inside its brackets");
            };
            let port = match after {
                "" => None,
                _ => match after.strip_prefix(':') {
                    Some(p) => Some(p),
                    None => return bad("has something other than `:PORT` after `]`"),
                },
            };
            (Host::Addr(IpAddr::V6(addr)), port)
        } else if let Ok(addr) = entry.parse::<Ipv6Addr>() {
            (Host::Addr(IpAddr::V6(addr)), None)
        } else if entry.matches(':').count() > 1 {
            return bad(
                "is not an address: write an IPv6 address in brackets before a port, as `[::1]:80`",
            );
        } else {
            let (host, port) = match entry.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (entry, None),
            };
            let host = match host.parse::<IpAddr>() {
                Ok(a) => Host::Addr(a),
                Err(_) => {
                    if !valid_name(host) {
                        return bad("is not a host name or address");
                    }
                    Host::Name(normal_name(host))
                }
            };
            (host, port)
        };
        let port = match port {
            None => None,
            Some(p) => match p.parse::<u16>() {
                Ok(n) if p.bytes().all(|b| b.is_ascii_digit()) => Some(n),
                _ => return bad("has a port that is not a number from 0 to 65535"),
            },
        };
        Ok(NetRule { host, port })
    }
}

/// A host name as DNS allows it (letters, digits, `-`, `_`, dots between
/// non-empty labels of at most 63 bytes; at most 253 bytes).
fn valid_name(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// The error of a refused operation: `permission denied: connect to
/// 127.0.0.1:80 (run with --allow-net=127.0.0.1:80)`.
pub fn denied_message(what: &str, host: &str, port: Option<u16>) -> String {
    let shown = address(host, port);
    // A host from the program may hold anything: show it quoted unless it
    // looks like a name or an address.
    let plain = shown
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b".-_:[]%".contains(&b));
    if plain && !shown.is_empty() {
        format!("permission denied: {what} {shown} (run with --allow-net={shown})")
    } else {
        format!("permission denied: {what} {shown:?} (not a host --allow-net can name)")
    }
}

/// The policy an operation off the schedulers (an I/O thread) checks
/// with: `--sandbox` and `--allow-net`, owned so it can travel with the job.
#[derive(Clone, Debug, Default)]
pub struct NetPolicy {
    pub sandbox: bool,
    pub allow: NetAllow,
}

impl NetPolicy {
    /// The policy of a run.
    pub fn of(config: &RunConfig) -> NetPolicy {
        NetPolicy {
            sandbox: config.sandbox,
            allow: config.allow_net.clone(),
        }
    }

    /// [`check_net`]'s rule; the error is the message.
    pub fn check(&self, what: &str, host: &str, port: Option<u16>) -> Result<(), String> {
        if !self.sandbox || self.allow.allows(host, port) {
            Ok(())
        } else {
            Err(denied_message(what, host, port))
        }
    }
}

/// May the program `what` (`"connect to"`, `"listen on"`, `"resolve"`, …)
/// `host` at `port`? Without `--sandbox`, always; under it, when
/// `--allow-net` allows it. The error is catchable (TRY/CATCH).
pub fn check_net(config: &RunConfig, what: &str, host: &str, port: Option<u16>) -> OpResult {
    if !config.sandbox || config.allow_net.allows(host, port) {
        return Ok(());
    }
    Err(Value::error(denied_message(what, host, port)))
}

impl RunConfig {
    /// [`check_net`] on this configuration.
    pub fn check_net(&self, what: &str, host: &str, port: Option<u16>) -> OpResult {
        check_net(self, what, host, port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allow(list: &str) -> NetAllow {
        NetAllow::parse(list).unwrap()
    }

    fn sandboxed(list: Option<&str>) -> RunConfig {
        RunConfig {
            sandbox: true,
            allow_net: list.map_or(NetAllow::Nothing, allow),
            ..RunConfig::default()
        }
    }

    fn message(r: OpResult) -> String {
        match r {
            Ok(()) => panic!("allowed"),
            Err(e) => e.message.as_str().to_string(),
        }
    }

    #[test]
    fn without_the_sandbox_everything_is_allowed() {
        let c = RunConfig::default();
        assert!(check_net(&c, "connect to", "example.com", Some(80)).is_ok());
        assert!(check_net(&c, "resolve", "anything", None).is_ok());
    }

    #[test]
    fn under_the_sandbox_nothing_is_allowed_without_allow_net() {
        let c = sandboxed(None);
        assert_eq!(
            message(check_net(&c, "connect to", "127.0.0.1", Some(80))),
            "permission denied: connect to 127.0.0.1:80 (run with --allow-net=127.0.0.1:80)"
        );
        assert_eq!(
            message(c.check_net("connect to", "::1", Some(80))),
            "permission denied: connect to [::1]:80 (run with --allow-net=[::1]:80)"
        );
        assert_eq!(
            message(c.check_net("resolve", "example.com", None)),
            "permission denied: resolve example.com (run with --allow-net=example.com)"
        );
        assert_eq!(
            message(c.check_net("connect to", "a b\n", Some(1))),
            "permission denied: connect to \"a b\\n:1\" (not a host --allow-net can name)"
        );
    }

    #[test]
    fn allow_net_alone_allows_everything() {
        let c = sandboxed(Some(""));
        assert!(c.check_net("listen on", "0.0.0.0", Some(0)).is_ok());
        assert!(c.check_net("resolve", "example.com", None).is_ok());
    }

    #[test]
    fn host_entries_allow_every_port_and_host_port_entries_one() {
        let c = sandboxed(Some("localhost, 127.0.0.1:8080,[::1]:80,Example.COM."));
        assert!(c.check_net("connect to", "localhost", Some(1)).is_ok());
        assert!(c.check_net("connect to", "LOCALHOST.", Some(65535)).is_ok());
        assert!(c.check_net("connect to", "127.0.0.1", Some(8080)).is_ok());
        assert!(c.check_net("connect to", "127.0.0.1", Some(8081)).is_err());
        assert!(c.check_net("connect to", "::1", Some(80)).is_ok());
        assert!(c.check_net("connect to", "[::1]", Some(80)).is_ok());
        assert!(c
            .check_net("connect to", "0:0:0:0:0:0:0:1", Some(80))
            .is_ok());
        assert!(c.check_net("connect to", "::1", Some(81)).is_err());
        assert!(c.check_net("connect to", "example.com", Some(443)).is_ok());
        assert!(c
            .check_net("connect to", "www.example.com", Some(443))
            .is_err());
        // Literal matching: no resolution either way.
        assert!(c.check_net("connect to", "127.0.0.2", Some(8080)).is_err());
        assert!(sandboxed(Some("127.0.0.1"))
            .check_net("connect to", "localhost", Some(80))
            .is_err());
        // Without a port (resolving): any entry for the host.
        assert!(c.check_net("resolve", "127.0.0.1", None).is_ok());
        assert!(c.check_net("resolve", "example.com", None).is_ok());
        assert!(c.check_net("resolve", "example.org", None).is_err());
    }

    #[test]
    fn bare_ipv6_and_ipv4_entries() {
        let c = sandboxed(Some("::1,10.0.0.1"));
        assert!(c.check_net("connect to", "::1", Some(9)).is_ok());
        assert!(c.check_net("connect to", "10.0.0.1", Some(9)).is_ok());
        assert!(c.check_net("connect to", "10.0.0.2", Some(9)).is_err());
    }

    #[test]
    fn flags_add_up() {
        let a = NetAllow::merge([allow("a.test"), allow("b.test:1")]);
        assert!(a.allows("a.test", Some(5)));
        assert!(a.allows("b.test", Some(1)));
        assert!(!a.allows("b.test", Some(2)));
        assert_eq!(
            NetAllow::merge([allow("a.test"), allow("")]),
            NetAllow::Everything
        );
        assert_eq!(NetAllow::merge([]), NetAllow::Nothing);
    }

    #[test]
    fn bad_entries_say_what_is_wrong() {
        for (list, why) in [
            ("a,,b", "`` is empty"),
            ("host:", "has a port that is not a number"),
            ("host:99999", "has a port that is not a number"),
            ("host:+1", "has a port that is not a number"),
            ("[::1", "has `[` without `]`"),
            ("[1.2.3.4]:80", "no IPv6 address inside its brackets"),
            ("[::1]80", "other than `:PORT` after `]`"),
            ("::1:80:x", "write an IPv6 address in brackets"),
            ("exa mple.com", "is not a host name or address"),
            ("a..b", "is not a host name or address"),
            ("http://x", "is a URL or path"),
            ("x/y", "is a URL or path"),
        ] {
            let e = NetAllow::parse(list).unwrap_err();
            assert!(e.contains(why), "{list}: {e}");
            assert!(e.starts_with("--allow-net: `"), "{e}");
        }
    }

    proptest::proptest! {
        /// Any text: an entry or an error, never a panic; an entry prints
        /// as a form that parses back to itself.
        #[test]
        fn any_entry_parses_or_says_why(entry in "[a-zA-Z0-9:.\\[\\]/%,_-]{0,24}") {
            match NetRule::parse(&entry) {
                Ok(rule) => proptest::prop_assert_eq!(NetRule::parse(&rule.to_string()), Ok(rule)),
                Err(e) => proptest::prop_assert!(e.starts_with("--allow-net: `"), "{}", e),
            }
        }

        /// Whatever the program gives as a host, checking it never panics.
        #[test]
        fn any_host_can_be_checked(host in "\\PC{0,40}", port in proptest::option::of(proptest::num::u16::ANY)) {
            let c = sandboxed(Some("localhost,[::1]:80,10.0.0.1"));
            let _ = c.check_net("connect to", &host, port);
        }
    }

    #[test]
    fn rules_print_as_they_are_written() {
        let NetAllow::Only(rules) = allow("[::1]:80,LocalHost:9,1.2.3.4,::2") else {
            panic!()
        };
        let shown: Vec<String> = rules.iter().map(|r| r.to_string()).collect();
        assert_eq!(shown, ["[::1]:80", "localhost:9", "1.2.3.4", "::2"]);
    }
}
