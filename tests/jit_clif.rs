//! CLIF snapshots of the JIT's lowering of core instructions (so a change
//! to the code it makes is seen and reviewed, `cargo insta review`).
//! The command-line face of the JIT is tested in tests/jit.rs.

use std::sync::Arc;

fn clif(src: &str, at: u32) -> String {
    let p = ttvm::load_source("snapshot.ttvm", src).expect("assembles");
    ttvm::engine::clif_of(Arc::new(p), at).expect("lowers")
}

#[test]
fn clif_counting_loop() {
    // LOAD/PUSH_INT/ADD/STORE with an Int guard, the Int compare and
    // branch, and the reduction check at the loop header.
    insta::assert_snapshot!(clif(
        "PUSH_INT 0\nSTORE i\nLABEL loop\nLOAD i\nPUSH_INT 1\nADD\nSTORE i\nLOAD i\nPUSH_INT 10\nLT\nJNZ loop\nHALT\n",
        0
    ));
}

#[test]
fn clif_float_arith_and_truthiness() {
    insta::assert_snapshot!(clif(
        "PUSH_FLOAT 1.5\nPUSH_FLOAT 2\nMUL_F\nNEG\nDUP\nPUSH_FLOAT 0.5\nGT_F\nJZ done\nPOP\nLABEL done\nHALT\n",
        0
    ));
}

#[test]
fn clif_stack_shuffles_and_helpers() {
    // SWAP/OVER stay in registers; PRINT and MAKE_LIST call the helper.
    insta::assert_snapshot!(clif(
        "PUSH_INT 1\nPUSH_INT 2\nSWAP\nOVER\nMAKE_LIST 3\nPRINT\nHALT\n",
        0
    ));
}

#[test]
fn clif_try_catch_in_a_loop() {
    // Issue 15: TRY and END_TRY are calls of `try_install` and `try_end`
    // with the virtual stack in registers (the TRY's height is the length
    // in memory plus the values above it), CATCH is nothing; the DIV's
    // division-by-zero exit goes through the shared fault block (the
    // `fault` helper while `hdepth` is not 0) and the catch dispatch, which
    // enters the catch block of this frame through its entry guard.
    insta::assert_snapshot!(clif(
        "PUSH_INT 0\nSTORE i\nLABEL loop\nPUSH_INT 7\nTRY h\nLOAD i\nPUSH_INT 3\nMOD\nPUSH_INT 1\nSWAP\nDIV\nPOP\nEND_TRY\nJMP next\nLABEL h\nCATCH\nPOP\nLABEL next\nPOP\nLOAD i\nPUSH_INT 1\nADD\nSTORE i\nLOAD i\nPUSH_INT 10\nLT\nJNZ loop\nHALT\n",
        0
    ));
}

#[test]
fn clif_float_sqrt() {
    // SQRT of a Float is the machine instruction; ADD of its result and
    // an Int promotes the Int (issue 15); FLOOR of an element of unknown
    // kind converts a Float in range, with a side exit otherwise.
    insta::assert_snapshot!(clif(
        "PUSH_FLOAT 2\nSTORE x\nLOAD x\nSQRT\nPUSH_INT 1\nADD\nFLOOR\nPRINT\nHALT\n",
        0
    ));
}

#[test]
fn clif_list_index() {
    // INDEX of a list at an Int: tag and bounds checks, the element's
    // load and clone; LEN's load; the `data` helper for anything else
    // (issue 15); a string's one character from the shared table, whose
    // address differs from run to run: shown as ADDR.
    let ir = clif(
        "MAKE_LIST 0\nPUSH_INT 5\nAPPEND\nSTORE xs\nLOAD xs\nPUSH_INT 0\nINDEX\nLOAD xs\nLEN\nADD\nPRINT\nHALT\n",
        0,
    );
    let addr = regex::Regex::new(r"0x[0-9a-f]{4}(_[0-9a-f]{4}){2,3}").unwrap();
    insta::assert_snapshot!(addr.replace_all(&ir, "ADDR"));
}

#[test]
fn clif_list_index_guarded_float() {
    // INDEX at sites whose elements were all Floats when the unit got hot
    // (docs/JIT.md, "Kinds of list elements"): the tag and bounds checks,
    // then one comparison of the element's tag with Float's and no clone;
    // the ADD of the two elements is one `fadd` with no kind tests. An
    // element of another kind (inline, or the `data` helper's answer — a
    // string's character —, dropped) counts a miss in the site's cell and
    // leaves at the INDEX. Addresses shown as ADDR.
    use ttvm_runtime::value::tag::FLOAT;
    let src = "PUSH_FLOAT 1.5\nPUSH_FLOAT 0.25\nMAKE_LIST 2\nSTORE xs\nLOAD xs\nPUSH_INT 0\nINDEX\nLOAD xs\nPUSH_INT 1\nINDEX\nADD\nPRINT\nHALT\n";
    let p = ttvm::load_source("snapshot.ttvm", src).expect("assembles");
    let ir = ttvm::engine::clif_of_seen(Arc::new(p), 0, &[(6, FLOAT), (9, FLOAT)]).expect("lowers");
    assert!(ir.contains("fadd"), "the Float ADD");
    let addr = regex::Regex::new(r"0x[0-9a-f]{4}(_[0-9a-f]{4}){2,3}").unwrap();
    insta::assert_snapshot!(addr.replace_all(&ir, "ADDR"));
}

#[test]
fn clif_field_read() {
    // GET_FIELD with a constant name: the object's tag, the site's cached
    // position checked against the entries, the entry's key against the
    // name's text, a hole; then the value's load and clone; the `field`
    // helper for anything else (issue 15).
    // The cell's, the name's and its text's addresses differ from run to
    // run: they are shown as ADDR.
    let ir = clif(
        "MAKE_OBJECT\nPUSH_INT 1\nSET_FIELD x\nGET_FIELD x\nPRINT\nHALT\n",
        0,
    );
    let addr = regex::Regex::new(r"0x[0-9a-f]{4}(_[0-9a-f]{4}){2,3}").unwrap();
    insta::assert_snapshot!(addr.replace_all(&ir, "ADDR"));
}

#[test]
fn clif_field_read_guarded_float() {
    // GET_FIELD at sites that have only read Floats (docs/JIT.md, "Kinds
    // of field reads"): the cached read, then one comparison of the
    // value's tag with Float's (a hole's fails it too) and no clone; the
    // SUB of the two reads is one `fsub` with no kind tests, and the STORE
    // writes Float's tag as a constant. A value of another kind (inline,
    // or the `field` helper's, dropped) counts a miss in the site's cell
    // (raising the JIT's flag at every 16th) and leaves at the GET_FIELD.
    // Addresses shown as ADDR.
    use ttvm_runtime::value::tag::FLOAT;
    let src = "MAKE_OBJECT\nPUSH_FLOAT 1.5\nSET_FIELD x\nPUSH_FLOAT 0.25\nSET_FIELD y\nSTORE a\nLOAD a\nGET_FIELD x\nLOAD a\nGET_FIELD y\nSUB\nSTORE d\nLOAD d\nPRINT\nHALT\n";
    let p = ttvm::load_source("snapshot.ttvm", src).expect("assembles");
    let ir = ttvm::engine::clif_of_seen(Arc::new(p), 0, &[(7, FLOAT), (9, FLOAT)]).expect("lowers");
    assert!(ir.contains("fsub"), "the Float SUB");
    let addr = regex::Regex::new(r"0x[0-9a-f]{4}(_[0-9a-f]{4}){2,3}").unwrap();
    insta::assert_snapshot!(addr.replace_all(&ir, "ADDR"));
}

#[test]
fn clif_direct_entry() {
    // A recursive function's direct entry: arguments and result in
    // registers, the unchecked and checked copies of its blocks, the
    // base case run inline before the recursive call, and the `leave`
    // paths that write the frame when it leaves compiled code.
    let src = "PUSH_INT 3\nCALL sum n\nPRINT\nHALT\nLABEL sum\nLOAD n\nJZ base\nLOAD n\nPUSH_INT 1\nSUB\nCALL sum n\nLOAD n\nADD\nRET\nLABEL base\nPUSH_INT 0\nRET\n";
    let p = ttvm::load_source("snapshot.ttvm", src).expect("assembles");
    insta::assert_snapshot!(ttvm::engine::direct_clif_of(Arc::new(p), 4).expect("lowers"));
}

#[test]
fn clif_direct_resume_entry() {
    // A direct entry with a loop (docs/JIT.md, "Resuming"): the entry's
    // test of `left` (no frames left: leave; `0xffff`: a resumed frame)
    // in one compare of `left + 1`; the resumed frame's cold path loads
    // its real `place`, the block's index and its slots from the record
    // the engine made and jumps to the loop header; `place` is a variable
    // read at each block start (the loop header's parameter).
    let src = "PUSH_INT 3\nCALL count n\nPRINT\nHALT\nLABEL count\nPUSH_INT 0\nSTORE s\nLABEL loop\nLOAD n\nJZ done\nLOAD s\nLOAD n\nCALL add a b\nSTORE s\nLOAD n\nPUSH_INT 1\nSUB\nSTORE n\nJMP loop\nLABEL done\nLOAD s\nRET\nLABEL add\nLOAD a\nLOAD b\nADD\nRET\n";
    let p = ttvm::load_source("snapshot.ttvm", src).expect("assembles");
    let ir = ttvm::engine::direct_clif_of(Arc::new(p), 4).expect("lowers");
    assert!(ir.contains("ushr_imm"), "the record's address");
    let addr = regex::Regex::new(r"0x[0-9a-f]{4}(_[0-9a-f]{4}){2,3}").unwrap();
    insta::assert_snapshot!(addr.replace_all(&ir, "ADDR"));
}

#[test]
fn clif_field_write() {
    // SET_FIELD with a constant name in a direct entry (issue 15): the
    // object's tag, its strong count (held once), the site's cached
    // position against the entries, the entry's key against the name's
    // text, the old value neither a hole nor on the heap; then the store
    // of the new value's tag and payload over it. The `value` helper (with
    // the site's cell after the operands) for anything else. Addresses
    // (the cell, the name's text, the atom) shown as ADDR.
    let src = "MAKE_OBJECT\nPUSH_FLOAT 1.0\nSET_FIELD vx\nPUSH_FLOAT 0.5\nCALL kick b dv\nPRINT\nHALT\nLABEL kick\nLOAD b\nLOAD b\nGET_FIELD vx\nLOAD dv\nADD_F\nSET_FIELD vx\nRET\n";
    let p = ttvm::load_source("snapshot.ttvm", src).expect("assembles");
    let ir = ttvm::engine::direct_clif_of(Arc::new(p), 7).expect("lowers");
    assert!(ir.contains("store"), "the guarded store");
    let addr = regex::Regex::new(r"0x[0-9a-f]{4}(_[0-9a-f]{4}){2,3}").unwrap();
    insta::assert_snapshot!(addr.replace_all(&ir, "ADDR"));
}

#[test]
fn clif_list_take() {
    // INDEX of a list that is written back (issue 15, src/jit/lower/takes.rs)
    // in a direct entry: the list's tag and the index's, the index against
    // the length, the element's tag and payload; then the list's count
    // against 2 (held by `l` and the operand only): Null stored over the
    // element, which moves out uncounted; otherwise the element cloned.
    // Then the list operand dropped and, at the write-back, SET_INDEX's
    // guarded store (its count 1: the take left it with the variable's
    // reference, moved by the LOAD before RET), else the `value` helper.
    let src = "PUSH_INT 1\nMAKE_LIST 1\nMAKE_LIST 1\nPUSH_INT 0\nCALL put l j\nPRINT\nHALT\nLABEL put\nLOAD l\nLOAD j\nINDEX\nSTORE b\nLOAD l\nLOAD j\nLOAD b\nSET_INDEX\nRET\n";
    let p = ttvm::load_source("snapshot.ttvm", src).expect("assembles");
    let ir = ttvm::engine::direct_clif_of(Arc::new(p), 7).expect("lowers");
    assert!(ir.contains("icmp_imm eq"), "the count test");
    let addr = regex::Regex::new(r"0x[0-9a-f]{4}(_[0-9a-f]{4}){2,3}").unwrap();
    insta::assert_snapshot!(addr.replace_all(&ir, "ADDR"));
}

#[test]
fn clif_list_store() {
    // SET_INDEX in a direct entry (issue 15): the list's tag and the
    // index's, the list's count against 1 (the LOAD moved it out of `l`,
    // which the STORE after overwrites), the index against the length;
    // then the old element's tag and payload loaded, the value's stored
    // over them and the old one dropped (a heap value's count, in a cold
    // block). The `value` helper for anything else.
    let src = "PUSH_INT 1\nMAKE_LIST 1\nPUSH_INT 0\nPUSH_INT 7\nCALL put l i v\nPRINT\nHALT\nLABEL put\nLOAD l\nLOAD i\nLOAD v\nSET_INDEX\nSTORE l\nLOAD l\nRET\n";
    let p = ttvm::load_source("snapshot.ttvm", src).expect("assembles");
    let ir = ttvm::engine::direct_clif_of(Arc::new(p), 7).expect("lowers");
    assert!(ir.contains("icmp_imm eq"), "the count test");
    let addr = regex::Regex::new(r"0x[0-9a-f]{4}(_[0-9a-f]{4}){2,3}").unwrap();
    insta::assert_snapshot!(addr.replace_all(&ir, "ADDR"));
}

#[test]
fn clif_closure_call() {
    // A direct entry calling a closure (issue 15): the callee's tag
    // (Closure), its prototype against the candidate's (the MAKE_LAMBDA's),
    // its capture slots against the expected ones, the captured value
    // loaded from the closure and passed as a second argument of the
    // callee's direct entry (its return tried inline first); any other
    // callee leaves at the CALL_FUNCTION. Addresses (the prototype, the
    // callee's cell) differ from run to run: shown as ADDR.
    let src = "PUSH_INT 5\nSTORE k\nPUSH_INT 1\nCAPTURE k\nMAKE_LAMBDA add_k x\nCALL apply x f\nPRINT\nHALT\nLABEL apply\nLOAD x\nLOAD f\nCALL_FUNCTION\nPUSH_INT 1\nADD\nRET\nLABEL add_k\nLOAD x\nLOAD k\nADD\nRET\n";
    let p = ttvm::load_source("snapshot.ttvm", src).expect("assembles");
    let ir = ttvm::engine::direct_clif_of(Arc::new(p), 8).expect("lowers");
    assert!(ir.contains("call_indirect"), "a direct call of the closure");
    let addr = regex::Regex::new(r"0x[0-9a-f]{4}(_[0-9a-f]{4}){2,3}").unwrap();
    insta::assert_snapshot!(addr.replace_all(&ir, "ADDR"));
}
