//! The instruction table of `docs/LANGUAGE.md`, generated from the op table
//! so the documentation cannot drift (a test compares them).

use super::OPS;

/// Markers around the generated part of `docs/LANGUAGE.md`.
pub const BEGIN: &str =
    "<!-- BEGIN GENERATED: instruction table (cargo test regenerates with TTVM_BLESS=1) -->";
pub const END: &str = "<!-- END GENERATED -->";

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
