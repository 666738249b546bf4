//! Starting a distributed node from the command line (issue 17;
//! docs/DISTRIBUTION.md): the node's full name from `--sname`/`--name`,
//! the cookie from `--cookie` or `~/.erlang.cookie` (created as `erl`
//! does), EPMD's port from `ERL_EPMD_PORT`. The protocol itself is the
//! runtime's (`ttvm_runtime::dist`).

use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// What the flags asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DistFlags {
    /// `--sname NAME` (short host name) or `--name NAME[@HOST]` (long).
    pub name: NodeNameFlag,
    /// `--cookie C`; else `~/.erlang.cookie`.
    pub cookie: Option<String>,
    /// `--dist-listen ADDR` (default 127.0.0.1).
    pub listen: IpAddr,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeNameFlag {
    Short(String),
    Long(String),
}

/// The node's full name, `alive@host`: `--sname` adds this machine's
/// short host name (up to the first dot), `--name` its full host name,
/// unless the flag already has a host.
pub fn full_name(flag: &NodeNameFlag) -> Result<String, String> {
    let (given, short, opt) = match flag {
        NodeNameFlag::Short(n) => (n, true, "--sname"),
        NodeNameFlag::Long(n) => (n, false, "--name"),
    };
    let name = match given.split_once('@') {
        Some((_, host)) => {
            if short && host.contains('.') {
                return Err(format!(
                    "{opt} {given}: a short name's host has no dots (use --name for `{host}`)"
                ));
            }
            given.clone()
        }
        None => {
            let host = hostname()?;
            let host = if short {
                host.split('.').next().unwrap_or(&host).to_string()
            } else {
                host
            };
            format!("{given}@{host}")
        }
    };
    ttvm_runtime::dist::split_name(&name).map_err(|e| format!("{opt}: {e}"))?;
    Ok(name)
}

fn hostname() -> Result<String, String> {
    let text = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| {
            std::process::Command::new("hostname")
                .output()
                .ok()
                .and_then(|o| String::from_utf8(o.stdout).ok())
        })
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    text.ok_or_else(|| {
        "cannot tell this machine's host name: give it in the node name (--sname name@host)"
            .to_string()
    })
}

/// EPMD's port: `ERL_EPMD_PORT` when set (as `erl` and `epmd` read it),
/// else 4369.
pub fn epmd_port() -> Result<u16, String> {
    match std::env::var("ERL_EPMD_PORT") {
        Ok(p) => p
            .trim()
            .parse::<u16>()
            .ok()
            .filter(|&p| p > 0)
            .ok_or_else(|| {
                format!("ERL_EPMD_PORT is `{p}`: it must be a port number (1 to 65535)")
            }),
        Err(_) => Ok(ttvm_runtime::dist::DEFAULT_EPMD_PORT),
    }
}

/// The cookie: the flag's, else the one in `~/.erlang.cookie`, which is
/// created when missing as `erl` creates it — 20 random upper-case
/// letters, readable by its owner only (mode 0400). Like `erl`, a cookie
/// file that others may read is refused.
pub fn cookie(flag: Option<&str>) -> Result<String, String> {
    if let Some(c) = flag {
        if c.is_empty() {
            return Err("--cookie needs a non-empty cookie".into());
        }
        return Ok(c.to_string());
    }
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .ok_or("no --cookie given and HOME is not set (where ~/.erlang.cookie lives)")?;
    cookie_file(&PathBuf::from(home).join(".erlang.cookie"))
}

/// Read (or create) the cookie file at `path`.
pub fn cookie_file(path: &Path) -> Result<String, String> {
    match std::fs::read(path) {
        Ok(bytes) => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                if let Ok(m) = std::fs::metadata(path) {
                    if m.permissions().mode() & 0o077 != 0 {
                        return Err(format!(
                            "cookie file {} must be accessible by its owner only (chmod 400 it), as erl requires",
                            path.display()
                        ));
                    }
                }
            }
            let text = String::from_utf8(bytes)
                .map_err(|_| format!("cookie file {} is not text", path.display()))?;
            let c = text.trim_end_matches(['\n', '\r', ' ', '\t']).to_string();
            if c.is_empty() {
                return Err(format!("cookie file {} is empty", path.display()));
            }
            Ok(c)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let c = random_cookie()?;
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o400);
            }
            let mut f = opts.open(path).map_err(|e| {
                format!(
                    "cannot create cookie file {}: {}",
                    path.display(),
                    crate::exec::os_reason(&e)
                )
            })?;
            f.write_all(c.as_bytes()).map_err(|e| {
                format!(
                    "cannot write cookie file {}: {}",
                    path.display(),
                    crate::exec::os_reason(&e)
                )
            })?;
            Ok(c)
        }
        Err(e) => Err(format!(
            "cannot read cookie file {}: {}",
            path.display(),
            crate::exec::os_reason(&e)
        )),
    }
}

fn random_cookie() -> Result<String, String> {
    let mut bytes = [0u8; 20];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes))
        .map_err(|e| format!("cannot make a random cookie: {e} (give one with --cookie)"))?;
    // A letter per random byte (modulo 26: the first 22 letters come
    // up 10/256 of the time instead of 9.85/256, which costs a cookie
    // under 0.1 bit of its ~94).
    Ok(bytes.iter().map(|&b| (b'A' + (b % 26)) as char).collect())
}

/// Start `node`'s distribution as `flags` say; `warn` prints a line on
/// the VM's stderr.
pub fn start<S: Send>(
    node: &ttvm_runtime::Node<S>,
    flags: &DistFlags,
    warn: std::sync::Arc<dyn Fn(&str) + Send + Sync>,
) -> Result<(), String> {
    let name = full_name(&flags.name)?;
    let cfg = ttvm_runtime::dist::DistConfig {
        cookie: cookie(flags.cookie.as_deref())?,
        listen: flags.listen,
        epmd_port: epmd_port()?,
        warn,
        name,
    };
    node.start_dist(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(
            full_name(&NodeNameFlag::Short("a@h".into())).unwrap(),
            "a@h"
        );
        assert!(full_name(&NodeNameFlag::Short("a@h.example.com".into())).is_err());
        assert_eq!(
            full_name(&NodeNameFlag::Long("a@h.example.com".into())).unwrap(),
            "a@h.example.com"
        );
        assert!(full_name(&NodeNameFlag::Short("a b".into())).is_err());
        let short = full_name(&NodeNameFlag::Short("x".into())).unwrap();
        assert!(short.starts_with("x@") && !short.contains('.'), "{short}");
    }

    #[test]
    fn a_missing_cookie_file_is_created_owner_only() {
        let dir = std::env::temp_dir().join(format!("ttvm-cookie-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join(".erlang.cookie");
        let _ = std::fs::remove_file(&path);
        let c = cookie_file(&path).unwrap();
        assert_eq!(c.len(), 20);
        assert!(c.bytes().all(|b| b.is_ascii_uppercase()), "{c}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o400);
        }
        assert_eq!(cookie_file(&path).unwrap(), c, "read back the same");
        let _ = std::fs::remove_file(&path);
        let _ = std::fs::remove_dir(&dir);
    }
}
