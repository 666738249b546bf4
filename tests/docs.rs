//! docs/LANGUAGE.md's instruction table is generated from the op table; this
//! test fails when they differ (TTVM_BLESS=1 rewrites the document).

use ttvm::bytecode::reference::{fuzz_dict, instruction_table, BEGIN, END};

/// fuzz/ttvm.dict is generated from the op table too.
#[test]
fn fuzz_dictionary_matches_the_op_table() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/ttvm.dict");
    let have = std::fs::read_to_string(path).unwrap_or_default();
    let want = fuzz_dict();
    if have == want {
        return;
    }
    if std::env::var_os("TTVM_BLESS").is_some() {
        std::fs::write(path, want).expect("write fuzz/ttvm.dict");
        return;
    }
    panic!("fuzz/ttvm.dict is out of date: run `TTVM_BLESS=1 cargo test --test docs`; it should be:\n{want}");
}

#[test]
fn language_reference_matches_the_op_table() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/LANGUAGE.md");
    let doc = std::fs::read_to_string(path).expect("docs/LANGUAGE.md exists");
    let start = doc.find(BEGIN).expect("begin marker") + BEGIN.len();
    let end = doc.find(END).expect("end marker");
    let wanted = format!("\n{}\n", instruction_table().trim());
    if doc[start..end] == wanted {
        return;
    }
    if std::env::var_os("TTVM_BLESS").is_some() {
        let new = format!("{}{}{}", &doc[..start], wanted, &doc[end..]);
        std::fs::write(path, new).expect("write docs/LANGUAGE.md");
        return;
    }
    panic!("docs/LANGUAGE.md's instruction table is out of date: run `TTVM_BLESS=1 cargo test --test docs`");
}
