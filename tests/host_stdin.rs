//! Issue 14: READ_CHAR and READ_INPUT on stdin that is not UTF-8 (the
//! golden harness feeds only text lines): a catchable error saying where,
//! in both tiers; what came before the bad bytes is read normally.

mod common;

fn run_with_stdin(flags: &[&str], src: &str, stdin: &[u8]) -> (Option<i32>, String, String) {
    let dir = common::scratch(&format!("host-stdin-{}", flags.len()));
    let path = dir.join("p.ttvm");
    std::fs::write(&path, src).unwrap();
    let mut args: Vec<&str> = flags.to_vec();
    let p = path.to_str().unwrap();
    args.push(p);
    let out = common::Ttvm::new().args(&args).stdin(stdin).run();
    (out.status, out.stdout, out.stderr)
}

const PROG: &str = "\
READ_CHAR
PRINT
TRY bad
READ_CHAR
PRINT
END_TRY
JMP next
LABEL bad
CATCH
GET_FIELD message
PRINT
LABEL next
READ_INPUT
PRINT
";

#[test]
fn bad_utf8_on_stdin_is_a_catchable_error() {
    for flags in [&[][..], &["--jit", "--jit-threshold", "0"][..]] {
        // `é`, then a lone continuation byte, then text.
        let (status, out, err) = run_with_stdin(flags, PROG, b"\xc3\xa9\x80rest\n");
        assert_eq!(status, Some(0), "{flags:?}: {err}");
        assert_eq!(
            out,
            "é\nREAD_CHAR: stdin is not UTF-8 text (a bad sequence starting with byte 0x80)\nrest\n\n",
            "{flags:?}"
        );
        // READ_INPUT names the first bad byte's offset in what it read.
        let (status, _, err) = run_with_stdin(flags, "READ_INPUT\nPRINT\n", b"ok\xff");
        assert_eq!(status, Some(1), "{flags:?}");
        assert!(
            err.contains("READ_INPUT: stdin is not UTF-8 text (byte 2 is invalid)"),
            "{flags:?}: {err}"
        );
    }
}
