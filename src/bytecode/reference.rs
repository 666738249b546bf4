//! The instruction table of `docs/LANGUAGE.md`, generated from the op table
//! so the documentation cannot drift (a test compares them).

use super::{OPS, TINYTOTVM_ONLY};

/// Markers around the generated part of `docs/LANGUAGE.md`.
pub const BEGIN: &str =
    "<!-- BEGIN GENERATED: instruction table (cargo test regenerates with TTVM_BLESS=1) -->";
pub const END: &str = "<!-- END GENERATED -->";

/// The syntax tokens of `fuzz/ttvm.dict` besides the mnemonics.
const FUZZ_TOKENS: &[&str] = &[
    "LABEL ",
    "\\x0a",
    "\\x0d\\x0a",
    " ",
    "\\x09",
    ";",
    "\\x22",
    "\\x5c\\x22",
    "\\x5cu{",
    "}",
    "\\x5cn",
    "_",
    "-9223372036854775808",
    "9223372036854775807",
    "1e308",
    "inf",
    "nan",
    "true",
    "false",
    "std/",
];

/// `fuzz/ttvm.dict`, the libFuzzer dictionary: every mnemonic of the op
/// table, the syntax tokens, and the TinyTotVM opcodes rejected with a pointer to what to use
/// (a test compares the file with this; `TTVM_BLESS=1` rewrites it).
pub fn fuzz_dict() -> String {
    let mut ops: Vec<&str> = OPS.iter().map(|o| o.mnemonic).collect();
    ops.sort_unstable();
    let mut out =
        String::from("# libFuzzer dictionary for ttvm (generated from the op table by `cargo test --test docs`, TTVM_BLESS=1): every opcode, plus syntax tokens.\n");
    let rejected = TINYTOTVM_ONLY.iter().map(|(m, _)| m);
    for t in ops.iter().chain(FUZZ_TOKENS).chain(rejected) {
        out.push('"');
        out.push_str(t);
        out.push_str("\"\n");
    }
    out
}

/// The instruction reference, as Markdown.
pub fn instruction_table() -> String {
    let mut out = String::new();
    let mut section = "";
    for op in OPS {
        if op.section != section {
            section = op.section;
            out.push_str(&format!("\n### {section}\n\n| instruction | stack and meaning | ends a block |\n|---|---|---|\n"));
        }
        let syntax = op.shape.syntax();
        let head = if syntax.is_empty() {
            format!("`{}`", op.mnemonic)
        } else {
            format!("`{} {}`", op.mnemonic, syntax)
        };
        let block = if op.ends_block { "yes" } else { "" };
        out.push_str(&format!(
            "| {head} | {} | {block} |\n",
            op.summary.replace('|', "\\|")
        ));
    }
    out
}
