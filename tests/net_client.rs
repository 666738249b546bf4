//! The client side of the network (issue 16, items 3, 4 and 6): the
//! `--allow-net` flag (docs/NETWORK.md, "Permissions"), DNS_RESOLVE and
//! the HTTP client, against servers this test starts on 127.0.0.1.

mod common;

use common::Ttvm;

fn ttvm(args: &[&str]) -> common::Captured {
    Ttvm::new().args(args).run()
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
