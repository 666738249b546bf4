//! The term mapping (docs/DISTRIBUTION.md, "Term mapping") against the
//! real Erlang, without distribution: `erl -noshell` reads the bytes ttvm
//! encodes (`binary_to_term`), checks each term with an Erlang predicate
//! and writes it back (`term_to_binary`), which must convert to the value
//! ttvm sent; and Erlang's own terms (`term_to_binary`) must convert to
//! the documented values, or to the documented errors, and go back to
//! Erlang as the same terms (`=:=`).
//!
//! Skipped, saying so, when `erl` is not installed (`apt-get install -y
//! erlang-base`; `.ci/run` installs it).

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use ttvm_runtime::dist::term::{self, NodeCtx, RemotePid, RemoteRef};
use ttvm_runtime::value::{Atom, Object, Value};

struct Ctx;

impl NodeCtx for Ctx {
    fn node_name(&self) -> &str {
        "ttvm@localhost"
    }
    fn creation(&self) -> u32 {
        7
    }
}

fn have_erl() -> bool {
    let ok = Command::new("erl")
        .args(["-noshell", "-eval", "halt()."])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("skipped: erl not installed (apt-get install -y erlang-base)");
    }
    ok
}

/// Runs the Erlang expressions in `script` (a `file:script` file) and
/// returns what it printed; fails the test when it does not end well
/// within 120 s.
fn erl(dir: &Path, script: &str) -> String {
    let path = dir.join("check.script");
    std::fs::write(&path, script).unwrap();
    let eval = format!(
        "case file:script(\"{}\") of {{ok, _}} -> halt(0); E -> io:format(\"script failed: ~p~n\", [E]), halt(1) end.",
        path.display()
    );
    let mut child = Command::new("erl")
        .args(["-noshell", "-eval", &eval])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("erl did not end within 120 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "erl failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn obj(fields: &[(&str, Value)]) -> Value {
    let mut o = Object::new();
    for (k, v) in fields {
        o.set(&Atom::new(k), v.clone());
    }
    Value::Object(Arc::new(o))
}

fn s(t: &str) -> Value {
    Value::str(t)
}

fn l(items: Vec<Value>) -> Value {
    Value::list(items)
}

fn int(i: i64) -> Value {
    Value::Int(i)
}

fn atom(name: &str) -> Value {
    obj(&[("$atom", s(name))])
}

fn tuple(items: Vec<Value>) -> Value {
    obj(&[("$tuple", l(items))])
}

/// Equal and of the same kinds (`EQ` takes 1 for 1.0; this does not).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| same(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, p)| y.get(k).is_some_and(|q| same(p, q)))
        }
        (Value::Int(_), Value::Float(_)) | (Value::Float(_), Value::Int(_)) => false,
        (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits(),
        _ => a.equals(b),
    }
}

/// An Erlang binary literal of these bytes.
fn erl_bin(bytes: &[u8]) -> String {
    let parts: Vec<String> = bytes.iter().map(|b| b.to_string()).collect();
    format!("<<{}>>", parts.join(","))
}

/// ttvm → Erlang: each value, the Erlang predicate its term must pass
/// (`T` is the term), and the value it must come back as.
fn outgoing() -> Vec<(Value, String, Value)> {
    let remote_pid = RemotePid {
        node: "shell@localhost".into(),
        id: 90,
        serial: 0,
        creation: 3,
    }
    .value();
    let remote_ref = RemoteRef {
        node: "shell@localhost".into(),
        id: vec![1, 2, 3].into(),
        creation: 3,
    }
    .value();
    let mut deep = int(1);
    for _ in 0..term::LIMITS.depth - 1 {
        deep = l(vec![deep]);
    }
    let mut cases: Vec<(Value, String)> = vec![
        (Value::Null, "T =:= undefined".into()),
        (Value::Bool(true), "T =:= true".into()),
        (Value::Bool(false), "T =:= false".into()),
        (int(0), "T =:= 0".into()),
        (int(255), "T =:= 255".into()),
        (int(256), "T =:= 256".into()),
        (int(-1), "T =:= -1".into()),
        (int(i32::MAX.into()), "T =:= 2147483647".into()),
        (int(i64::from(i32::MIN) - 1), "T =:= -2147483649".into()),
        (int(i64::MAX), "T =:= 9223372036854775807".into()),
        (int(i64::MIN), "T =:= -9223372036854775808".into()),
        (Value::Float(0.1), "T =:= 0.1".into()),
        (Value::Float(1.0), "is_float(T) andalso T == 1".into()),
        (Value::Float(-2.5e300), "T =:= -2.5e300".into()),
        (s(""), "T =:= <<>>".into()),
        (
            s("héllo → 😀"),
            format!("T =:= {}", erl_bin("héllo → 😀".as_bytes())),
        ),
        (
            l(vec![int(1), s("x"), Value::Null]),
            "T =:= [1, <<\"x\">>, undefined]".into(),
        ),
        (l(vec![]), "T =:= []".into()),
        (l(vec![int(104), int(105)]), "T =:= \"hi\"".into()),
        (l(vec![int(-1), int(5)]), "T =:= [-1, 5]".into()),
        (
            obj(&[("a", int(1)), ("b c", l(vec![]))]),
            "T =:= #{<<\"a\">> => 1, <<\"b c\">> => []}".into(),
        ),
        (obj(&[]), "T =:= #{}".into()),
        (atom("ok"), "T =:= ok".into()),
        (atom("with space"), "T =:= 'with space'".into()),
        (
            atom("ünï"),
            format!("T =:= binary_to_atom({}, utf8)", erl_bin("ünï".as_bytes())),
        ),
        (tuple(vec![]), "T =:= {}".into()),
        (
            tuple(vec![atom("ok"), obj(&[("x", tuple(vec![int(1)]))])]),
            "T =:= {ok, #{<<\"x\">> => {1}}}".into(),
        ),
        (
            obj(&[("$bigint", s("123456789012345678901234567890"))]),
            "T =:= 123456789012345678901234567890".into(),
        ),
        (
            obj(&[("$bigint", s("-9223372036854775809"))]),
            "T =:= -9223372036854775809".into(),
        ),
        (
            obj(&[("$binary", l(vec![int(255), int(254)]))]),
            "T =:= <<255, 254>>".into(),
        ),
        (
            obj(&[(
                "$map",
                // In the order they come back: by the keys' encodings.
                l(vec![
                    l(vec![int(1), s("one")]),
                    l(vec![tuple(vec![atom("a"), atom("b")]), Value::Null]),
                ]),
            )]),
            "T =:= #{{a, b} => undefined, 1 => <<\"one\">>}".into(),
        ),
        (
            obj(&[("$map", l(vec![l(vec![s("$atom"), s("x")])]))]),
            "T =:= #{<<\"$atom\">> => <<\"x\">>}".into(),
        ),
        (
            remote_pid,
            "is_pid(T) andalso node(T) =:= 'shell@localhost'".into(),
        ),
        (
            remote_ref,
            "is_reference(T) andalso node(T) =:= 'shell@localhost'".into(),
        ),
        (
            l((0..100_000).map(int).collect()),
            "T =:= lists:seq(0, 99999)".into(),
        ),
        (
            tuple((0..300).map(int).collect()),
            "T =:= list_to_tuple(lists:seq(0, 299))".into(),
        ),
        (
            s(&"x".repeat(1 << 20)),
            "T =:= binary:copy(<<\"x\">>, 1048576)".into(),
        ),
        (deep, "is_list(T)".into()),
    ];
    let mut out: Vec<(Value, String, Value)> = cases
        .drain(..)
        .map(|(v, check)| (v.clone(), check, v))
        .collect();
    // A local PID goes as a PID and comes back as its Int.
    out.push((
        obj(&[("$pid", int(42))]),
        "is_pid(T) andalso node(T) =:= 'ttvm@localhost'".into(),
        int(42),
    ));
    out.push((
        obj(&[("$pid", int((1 << 32) + 3))]),
        "is_pid(T) andalso node(T) =:= 'ttvm@localhost'".into(),
        int((1 << 32) + 3),
    ));
    out
}

/// What an Erlang term becomes: a value, or an error saying this.
enum Want {
    Is(Value),
    /// Any value of this type (a PID or reference of the Erlang node).
    Kind(&'static str),
    Error(&'static str),
}

/// Erlang → ttvm: each Erlang expression (its `term_to_binary`) and what
/// it must become.
fn incoming() -> Vec<(&'static str, Want)> {
    use Want::*;
    let tuple300 = tuple((1..=300).map(int).collect());
    vec![
        ("undefined", Is(Value::Null)),
        ("true", Is(Value::Bool(true))),
        ("ok", Is(atom("ok"))),
        ("nil", Is(atom("nil"))),
        ("'Quoted Atom'", Is(atom("Quoted Atom"))),
        ("42", Is(int(42))),
        ("-70000", Is(int(-70000))),
        ("(1 bsl 63) - 1", Is(int(i64::MAX))),
        ("-(1 bsl 63)", Is(int(i64::MIN))),
        (
            "1 bsl 64",
            Is(obj(&[("$bigint", s("18446744073709551616"))])),
        ),
        (
            "-(1 bsl 63) - 1",
            Is(obj(&[("$bigint", s("-9223372036854775809"))])),
        ),
        ("1.5e300", Is(Value::Float(1.5e300))),
        ("2.0", Is(Value::Float(2.0))),
        ("<<\"text\">>", Is(s("text"))),
        ("<<\"é\"/utf8>>", Is(s("é"))),
        (
            "<<255, 0>>",
            Is(obj(&[("$binary", l(vec![int(255), int(0)]))])),
        ),
        ("\"abc\"", Is(l(vec![int(97), int(98), int(99)]))),
        ("[]", Is(l(vec![]))),
        (
            "[1, [2, <<\"x\">>], {}]",
            Is(l(vec![int(1), l(vec![int(2), s("x")]), tuple(vec![])])),
        ),
        ("{ok, <<\"x\">>}", Is(tuple(vec![atom("ok"), s("x")]))),
        ("list_to_tuple(lists:seq(1, 300))", Is(tuple300)),
        ("lists:seq(1, 70000)", Is(l((1..=70000).map(int).collect()))),
        (
            "#{<<\"b\">> => 2, <<\"a\">> => [1]}",
            Is(obj(&[("a", l(vec![int(1)])), ("b", int(2))])),
        ),
        ("#{}", Is(obj(&[]))),
        (
            "#{name => <<\"Ann\">>}",
            Is(obj(&[("$map", l(vec![l(vec![atom("name"), s("Ann")])]))])),
        ),
        (
            "#{<<\"$tuple\">> => 1}",
            Is(obj(&[("$map", l(vec![l(vec![s("$tuple"), int(1)])]))])),
        ),
        ("self()", Kind("Pid")),
        ("make_ref()", Kind("Ref")),
        ("[1 | 2]", Error("an improper Erlang list")),
        ("<<1:3>>", Error("an Erlang bitstring (3 bits")),
        ("fun() -> ok end", Error("an Erlang fun has no ttvm form")),
        ("fun lists:seq/2", Error("an Erlang fun has no ttvm form")),
        ("hd(erlang:ports())", Error("an Erlang port")),
        (
            "lists:foldl(fun(_, A) -> [A] end, [], lists:seq(1, 300))",
            Error("term nested too deeply: over 256 levels"),
        ),
        ("1 bsl 40000", Error("integer too large: 5001 bytes")),
        (
            "{compressed, lists:duplicate(1000, 0)}",
            Error("compressed terms are not accepted"),
        ),
    ]
}

#[test]
fn every_kind_crosses_to_erlang_and_back() {
    if !have_erl() {
        return;
    }
    let dir = common::scratch("erlang_terms_out");
    let cases = outgoing();
    let mut script = String::from("Dir = \"") + &dir.display().to_string() + "\",\n";
    script.push_str("Checks = [\n");
    for (i, (v, check, _)) in cases.iter().enumerate() {
        let bytes = term::value_to_bytes(v, &Ctx).unwrap_or_else(|e| panic!("{v}: {e}"));
        std::fs::write(dir.join(format!("in_{i}.bin")), bytes).unwrap();
        script.push_str(&format!(
            "  {{{i}, fun(T) -> {check} end}}{}\n",
            if i + 1 < cases.len() { "," } else { "" }
        ));
    }
    script.push_str(
        "],\n\
         lists:foreach(fun({I, Check}) ->\n\
           N = integer_to_list(I),\n\
           {ok, B} = file:read_file(Dir ++ \"/in_\" ++ N ++ \".bin\"),\n\
           T = binary_to_term(B),\n\
           case Check(T) of\n\
             true -> ok;\n\
             false -> io:format(\"case ~p: unexpected term ~P~n\", [I, T, 20])\n\
           end,\n\
           ok = file:write_file(Dir ++ \"/out_\" ++ N ++ \".bin\", term_to_binary(T))\n\
         end, Checks),\n\
         io:format(\"done~n\").\n",
    );
    let printed = erl(&dir, &script);
    assert_eq!(printed, "done\n", "Erlang's checks failed");
    for (i, (v, _, back)) in cases.iter().enumerate() {
        let bytes = std::fs::read(dir.join(format!("out_{i}.bin"))).unwrap();
        let got = term::value_from_bytes(&bytes, &Ctx).unwrap_or_else(|e| panic!("{v}: {e}"));
        assert!(same(&got, back), "case {i}: {v} came back as {got}");
    }
}

#[test]
fn erlang_terms_become_the_documented_values_and_go_back_the_same() {
    if !have_erl() {
        return;
    }
    let dir = common::scratch("erlang_terms_in");
    let cases = incoming();
    let mut script = String::from("Dir = \"") + &dir.display().to_string() + "\",\n";
    script.push_str("Terms = [\n");
    for (i, (expr, _)) in cases.iter().enumerate() {
        script.push_str(&format!(
            "  {{{i}, {expr}}}{}\n",
            if i + 1 < cases.len() { "," } else { "" }
        ));
    }
    script.push_str(
        "],\n\
         lists:foreach(fun({I, T}) ->\n\
           B = case T of\n\
             {compressed, X} -> term_to_binary(X, [compressed]);\n\
             _ -> term_to_binary(T)\n\
           end,\n\
           ok = file:write_file(Dir ++ \"/erl_\" ++ integer_to_list(I) ++ \".bin\", B)\n\
         end, Terms).\n",
    );
    erl(&dir, &script);
    // Back to Erlang: each converted value, encoded by ttvm, decodes to
    // the term Erlang sent (=:=).
    let mut back = Vec::new();
    for (i, (expr, want)) in cases.iter().enumerate() {
        let bytes = std::fs::read(dir.join(format!("erl_{i}.bin"))).unwrap();
        let got = term::value_from_bytes(&bytes, &Ctx);
        match (want, got) {
            (Want::Is(w), Ok(v)) => {
                assert!(same(&v, w), "{expr} became {v}, expected {w}");
                back.push(i);
            }
            (Want::Kind(k), Ok(v)) => {
                assert_eq!(v.type_name(), *k, "{expr} became {v}");
                back.push(i);
            }
            (Want::Error(e), Err(got)) => {
                assert!(got.to_string().contains(e), "{expr}: {got}, expected {e}");
                continue;
            }
            (_, Ok(v)) => panic!("{expr} became {v}, expected an error"),
            (_, Err(e)) => panic!("{expr}: {e}"),
        }
        let v = term::value_from_bytes(&bytes, &Ctx).unwrap();
        let again = term::value_to_bytes(&v, &Ctx).unwrap_or_else(|e| panic!("{expr}: {e}"));
        std::fs::write(dir.join(format!("back_{i}.bin")), again).unwrap();
    }
    let list: Vec<String> = back.iter().map(|i| i.to_string()).collect();
    let script = format!(
        "Dir = \"{}\",\n\
         lists:foreach(fun(I) ->\n\
           N = integer_to_list(I),\n\
           {{ok, A}} = file:read_file(Dir ++ \"/erl_\" ++ N ++ \".bin\"),\n\
           {{ok, B}} = file:read_file(Dir ++ \"/back_\" ++ N ++ \".bin\"),\n\
           case binary_to_term(A) =:= binary_to_term(B) of\n\
             true -> ok;\n\
             false -> io:format(\"case ~p: ~P came back as ~P~n\", [I, binary_to_term(A), 20, binary_to_term(B), 20])\n\
           end\n\
         end, [{}]),\n\
         io:format(\"done~n\").\n",
        dir.display(),
        list.join(", ")
    );
    assert_eq!(erl(&dir, &script), "done\n");
}
