use super::*;
use crate::value::Atom as Name;

/// The test double: node `ttvm@localhost`, creation 7.
pub(crate) struct Ctx;

impl NodeCtx for Ctx {
    fn node_name(&self) -> &str {
        "ttvm@localhost"
    }
    fn creation(&self) -> u32 {
        7
    }
}

fn obj(fields: &[(&str, Value)]) -> Value {
    let mut o = Object::new();
    for (k, v) in fields {
        o.set(&Name::new(k), v.clone());
    }
    Value::Object(Arc::new(o))
}

fn s(t: &str) -> Value {
    Value::str(t)
}

fn l(items: Vec<Value>) -> Value {
    Value::list(items)
}

fn atom_v(name: &str) -> Value {
    obj(&[(ATOM, s(name))])
}

fn tuple_v(items: Vec<Value>) -> Value {
    obj(&[(TUPLE, l(items))])
}

fn a(name: &str) -> Term {
    Term::from(eetf::Atom::from(name))
}

fn bin(t: &str) -> Term {
    Term::from(Binary::from(t.as_bytes()))
}

fn tup(items: Vec<Term>) -> Term {
    Term::from(Tuple::from(items))
}

fn remote() -> eetf::Pid {
    eetf::Pid {
        node: eetf::Atom::from("shell@localhost"),
        id: 90,
        serial: 0,
        creation: 3,
    }
}

/// value → term → bytes → term → value: the same value, and the same
/// kinds (EQ takes 1 for 1.0; `same` does not).
fn round(v: &Value) -> Value {
    let t = to_term(v, &Ctx).unwrap();
    let bytes = encode(&t).unwrap();
    let back = decode(&bytes).unwrap();
    from_term(back, &Ctx).unwrap()
}

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

fn assert_round(v: Value) {
    let back = round(&v);
    assert!(same(&v, &back), "{v} came back as {back}");
}

#[test]
fn every_kind_maps_to_its_term() {
    let cases: Vec<(Value, Term)> = vec![
        (Value::Null, a("undefined")),
        (Value::Bool(true), a("true")),
        (Value::Bool(false), a("false")),
        (Value::Int(5), Term::from(FixInteger::from(5))),
        (
            Value::Int(-(1 << 40)),
            Term::from(BigInteger::from(-(1i64 << 40))),
        ),
        (Value::Float(2.5), Term::from(Float { value: 2.5 })),
        (s("héllo"), bin("héllo")),
        (
            l(vec![Value::Int(1), s("x")]),
            Term::from(List::from(vec![Term::from(FixInteger::from(1)), bin("x")])),
        ),
        (atom_v("ok"), a("ok")),
        (
            tuple_v(vec![atom_v("ok"), Value::Int(1)]),
            tup(vec![a("ok"), Term::from(FixInteger::from(1))]),
        ),
        (
            obj(&[(PID, Value::Int(42))]),
            Term::from(eetf::Pid {
                node: eetf::Atom::from("ttvm@localhost"),
                id: 42,
                serial: 0,
                creation: 7,
            }),
        ),
        (
            obj(&[(BIGINT, s("-123456789012345678901234567890"))]),
            Term::from(BigInteger {
                value: "-123456789012345678901234567890".parse().unwrap(),
            }),
        ),
        (
            obj(&[(BINARY, l(vec![Value::Int(255), Value::Int(0)]))]),
            Term::from(Binary::from(vec![255u8, 0])),
        ),
        (
            obj(&[("name", s("Ann")), ("age", Value::Int(30))]),
            Term::from(Map::from([
                (bin("name"), bin("Ann")),
                (bin("age"), Term::from(FixInteger::from(30))),
            ])),
        ),
        (
            obj(&[(MAP, l(vec![l(vec![atom_v("k"), Value::Int(1)])]))]),
            Term::from(Map::from([(a("k"), Term::from(FixInteger::from(1)))])),
        ),
        (
            RemotePid::from_term(&remote()).value(),
            Term::from(remote()),
        ),
    ];
    for (v, t) in cases {
        assert_eq!(to_term(&v, &Ctx).unwrap(), t, "to_term of {v}");
    }
}

#[test]
fn every_kind_round_trips_through_bytes() {
    let values = vec![
        Value::Null,
        Value::Bool(true),
        Value::Bool(false),
        Value::Int(0),
        Value::Int(255),
        Value::Int(256),
        Value::Int(-1),
        Value::Int(i32::MAX.into()),
        Value::Int(i64::from(i32::MIN) - 1),
        Value::Int(i64::MAX),
        Value::Int(i64::MIN),
        Value::Float(0.1),
        Value::Float(-0.0),
        Value::Float(1.0),
        Value::Float(f64::MAX),
        Value::Float(f64::MIN_POSITIVE),
        s(""),
        s("añb→c 😀"),
        l(vec![]),
        l(vec![Value::Int(104), Value::Int(105)]),
        l(vec![Value::Null, l(vec![s("deep")]), Value::Float(3.5)]),
        obj(&[]),
        obj(&[("a", Value::Int(1)), ("b c", l(vec![]))]),
        obj(&[("", Value::Null)]),
        atom_v("ok"),
        atom_v("with space"),
        atom_v("ünïcödé"),
        atom_v(""),
        tuple_v(vec![]),
        tuple_v(vec![
            atom_v("ok"),
            obj(&[("x", tuple_v(vec![Value::Int(1)]))]),
        ]),
        obj(&[(BIGINT, s("123456789012345678901234567890"))]),
        obj(&[(BIGINT, s("-9223372036854775809"))]),
        obj(&[(BINARY, l(vec![Value::Int(0xff), Value::Int(0xfe)]))]),
        obj(&[(MAP, l(vec![]))]).clone(), // an empty $map is an empty map: below
        obj(&[(MAP, l(vec![l(vec![Value::Int(1), s("one")])]))]),
        obj(&[(
            MAP,
            l(vec![l(vec![
                tuple_v(vec![atom_v("a"), atom_v("b")]),
                Value::Null,
            ])]),
        )]),
        // A map whose one key is a marker's name keeps its shape.
        obj(&[(MAP, l(vec![l(vec![s(ATOM), s("ok")])]))]),
        RemotePid::from_term(&remote()).value(),
        RemoteRef::from_term(&eetf::Reference {
            node: eetf::Atom::from("shell@localhost"),
            id: vec![1, 2, 3],
            creation: 3,
        })
        .value(),
        // A PID of this node with another creation (an earlier run).
        RemotePid::from_term(&eetf::Pid {
            node: eetf::Atom::from("ttvm@localhost"),
            id: 1,
            serial: 0,
            creation: 6,
        })
        .value(),
    ];
    for v in values {
        if let Value::Object(o) = &v {
            if o.get(MAP)
                .is_some_and(|p| matches!(p, Value::List(l) if l.is_empty()))
            {
                assert!(same(&round(&v), &obj(&[])));
                continue;
            }
        }
        assert_round(v);
    }
}

#[test]
fn erlang_only_terms_come_back_exactly() {
    // term → value → term: the same term, for what Erlang sends.
    let terms = vec![
        a("ok"),
        a("nil"),
        tup(vec![a("ok"), bin("x")]),
        tup(vec![]),
        Term::from(BigInteger {
            value: "98765432109876543210".parse().unwrap(),
        }),
        Term::from(Binary::from(vec![0xc3u8, 0x28])),
        Term::from(Map::from([(a("k"), bin("v"))])),
        Term::from(Map::from([(bin("$tuple"), bin("v"))])),
        Term::from(Map::from([(bin("$atom"), bin("v")), (bin("x"), bin("y"))])),
        Term::from(Map::from([
            (Term::from(FixInteger::from(1)), a("one")),
            (bin("two"), a("two")),
        ])),
        Term::from(remote()),
    ];
    for t in terms {
        let v = from_term(t.clone(), &Ctx).unwrap();
        assert_eq!(to_term(&v, &Ctx).unwrap(), t, "{t} came back from {v}");
    }
}

#[test]
fn charlists_stay_lists_of_ints() {
    let t = Term::from(eetf::ByteList::from("hi"));
    let v = from_term(t, &Ctx).unwrap();
    assert!(same(&v, &l(vec![Value::Int(104), Value::Int(105)])));
    // and go back as the same list (Erlang's "hi").
    let bytes = value_to_bytes(&v, &Ctx).unwrap();
    assert_eq!(bytes, vec![131, 107, 0, 2, b'h', b'i']);
}

#[test]
fn local_pids_come_back_as_their_ints() {
    for n in [1i64, 42, (1 << 32) + 5, i64::MAX] {
        let out = obj(&[(PID, Value::Int(n))]);
        let back = round(&out);
        assert!(
            matches!(back, Value::Int(m) if m == n),
            "{n} came back as {back}"
        );
    }
    // Another node's PID is a handle, equal to another handle of it.
    let p = round(&RemotePid::from_term(&remote()).value());
    assert_eq!(p.type_name(), "Pid");
    assert!(p.equals(&RemotePid::from_term(&remote()).value()));
    let mut other = remote();
    other.id = 91;
    assert!(!p.equals(&RemotePid::from_term(&other).value()));
    assert_eq!(p.to_string(), "<shell@localhost.90.0>");
    assert!(to_term(&obj(&[(PID, Value::Int(-1))]), &Ctx).is_err());
}

#[test]
fn references_print_and_compare_by_what_they_name() {
    let r = eetf::Reference {
        node: eetf::Atom::from("shell@localhost"),
        id: vec![1, 2, 3],
        creation: 3,
    };
    let v = RemoteRef::from_term(&r).value();
    assert_eq!(v.to_string(), "#Ref<shell@localhost.3.2.1>");
    assert_eq!(v.type_name(), "Ref");
    assert!(v.equals(&RemoteRef::from_term(&r).value()));
    assert!(!v.equals(&RemotePid::from_term(&remote()).value()));
    // In a receive pattern, too.
    let msg = l(vec![s("reply"), RemoteRef::from_term(&r).value()]);
    assert!(l(vec![Value::Null, v]).matches_pattern(&msg));
}

fn err_of(v: &Value) -> String {
    to_term(v, &Ctx).unwrap_err().to_string()
}

#[test]
fn values_erlang_cannot_take_are_errors_with_where() {
    let e = err_of(&l(vec![Value::Int(1), Value::Float(f64::NAN)]));
    assert_eq!(
        e,
        "the Float NaN has no Erlang form (Erlang floats are finite) (at $[1])"
    );
    assert!(err_of(&obj(&[("k", Value::Float(f64::INFINITY))])).ends_with("(at $.k)"));
    let exc = Value::Exception(Value::error("boom"));
    assert!(err_of(&exc).starts_with("an Exception has no Erlang term form"));
    let e = err_of(&obj(&[(ATOM, Value::Int(1))]));
    assert_eq!(
        e,
        "{\"$atom\": …} needs a Str (the atom's name), got Int (at $[\"$atom\"])"
    );
    assert!(err_of(&atom_v(&"x".repeat(256))).contains("at most 255 characters"));
    assert!(to_term(&atom_v(&"é".repeat(255)), &Ctx).is_ok());
    assert!(err_of(&obj(&[(BIGINT, s("12a"))])).contains("needs decimal digits"));
    assert!(err_of(&obj(&[(BINARY, l(vec![Value::Int(256)]))])).contains("(at $[\"$binary\"][0])"));
    assert!(err_of(&obj(&[(MAP, l(vec![l(vec![Value::Int(1)])]))])).contains("[key, value]"));
    let dup = obj(&[(
        MAP,
        l(vec![
            l(vec![Value::Int(1), Value::Null]),
            l(vec![Value::Int(1), Value::Null]),
        ]),
    )]);
    assert!(err_of(&dup).contains("appears twice"));
}

#[test]
fn deep_and_huge_values_are_refused_after_bounded_work() {
    let mut deep = Value::Int(1);
    for _ in 0..1_000_000 {
        deep = l(vec![deep]);
    }
    assert!(err_of(&deep).starts_with("nested too deeply for an Erlang term: over 256 levels"));
    // 2^40 elements in 41 lists.
    let mut wide = l(vec![s("x")]);
    for _ in 0..40 {
        wide = l(vec![wide.clone(), wide]);
    }
    assert!(err_of(&wide).starts_with("too large for an Erlang term: over 4194304 elements"));
    let mut text = s(&"x".repeat(1 << 20));
    for _ in 0..7 {
        text = l(vec![text.clone(), text]);
    }
    assert!(err_of(&text).starts_with("too large for an Erlang term: over 67108864 bytes"));
    // At the limit, it goes (and decodes back).
    let mut ok = Value::Int(1);
    for _ in 0..LIMITS.depth - 1 {
        ok = l(vec![ok]);
    }
    assert_round(ok);
}

#[test]
fn terms_ttvm_cannot_take_are_errors_with_where() {
    let improper = Term::from(eetf::ImproperList::from((
        vec![Term::from(FixInteger::from(1))],
        Term::from(FixInteger::from(2)),
    )));
    let e = from_term(Term::from(List::from(vec![a("x"), improper])), &Ctx).unwrap_err();
    assert_eq!(
        e.to_string(),
        "an improper Erlang list (its tail is not []) has no ttvm form (at $[1])"
    );
    let port = Term::from(eetf::Port {
        node: eetf::Atom::from("shell@localhost"),
        id: 5,
        creation: 1,
    });
    assert!(from_term(port, &Ctx)
        .unwrap_err()
        .to_string()
        .contains("port"));
    let bits = Term::from(eetf::BitBinary::from((vec![0xffu8], 3)));
    assert!(from_term(bits, &Ctx)
        .unwrap_err()
        .to_string()
        .contains("bitstring (3 bits"));
    let fun = Term::from(eetf::ExternalFun {
        module: eetf::Atom::from("m"),
        function: eetf::Atom::from("f"),
        arity: 0,
    });
    let in_map = Term::from(Map::from([(bin("f"), fun)]));
    assert_eq!(
        from_term(in_map, &Ctx).unwrap_err().to_string(),
        "an Erlang fun has no ttvm form (at $.f)"
    );
}

#[test]
fn reasons_are_atoms_both_ways() {
    assert_eq!(reason_to_term(&s("normal"), &Ctx), a("normal"));
    assert_eq!(
        reason_to_term(&Value::Exception(Value::error("boom")), &Ctx),
        a("boom")
    );
    let long = "x".repeat(300);
    assert_eq!(reason_to_term(&s(&long), &Ctx), bin(&long));
    assert_eq!(
        reason_to_term(&l(vec![Value::Float(f64::NAN)]), &Ctx),
        bin("[NaN]")
    );
    assert!(same(
        &reason_from_term(a("noconnection"), &Ctx),
        &s("noconnection")
    ));
    assert!(same(
        &reason_from_term(tup(vec![a("shutdown"), bin("x")]), &Ctx),
        &tuple_v(vec![atom_v("shutdown"), s("x")])
    ));
    let port = Term::from(eetf::Port {
        node: eetf::Atom::from("n@h"),
        id: 5,
        creation: 1,
    });
    assert!(matches!(reason_from_term(port, &Ctx), Value::Str(_)));
}

/// Hand-made hostile bytes: each is an error, quickly, without a large
/// allocation, deep recursion or a panic.
#[test]
fn hostile_bytes_are_errors() {
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (vec![], "ends early"),
        (vec![130, 97, 1], "version byte 130"),
        // A list of 2^32-1 elements in 6 bytes.
        (
            vec![131, 108, 255, 255, 255, 255],
            "a list of 4294967295 elements",
        ),
        (vec![131, 105, 255, 255, 255, 255], "a tuple of 4294967295"),
        (vec![131, 116, 255, 255, 255, 255], "a map of 4294967295"),
        // A binary of 4 GiB.
        (vec![131, 109, 255, 255, 255, 255, 0], "ends early"),
        (vec![131, 111, 255, 255, 255, 255, 0], "integer too large"),
        (vec![131, 82, 0], "atom cache"),
        (vec![131, 68, 0], "atom cache"),
        (vec![131, 80, 0, 0, 0, 1, 0], "compressed"),
        (
            vec![131, 77, 0, 0, 0, 1, 0, 0xff],
            "bitstring of 1 bytes with 0 bits",
        ),
        (vec![131, 77, 0, 0, 0, 1, 9, 0xff], "with 9 bits"),
        (vec![131, 113, 119, 1, b'm'], "fun"),
        (vec![131, 88, 97, 1], "node name must be an atom"),
        (vec![131, 97, 1, 97, 2], "2 bytes after its end"),
        (vec![131, 200], "unknown tag 200"),
    ];
    for (bytes, want) in cases {
        let e = decode(&bytes).unwrap_err().to_string();
        assert!(e.contains(want), "{bytes:?}: {e}");
    }
    // Nesting: 256 levels decode, 257 do not.
    let nested = |levels: usize| {
        let mut b = vec![131];
        for _ in 0..levels - 1 {
            b.extend([104, 1]);
        }
        b.push(106);
        b
    };
    assert!(decode(&nested(256)).is_ok());
    let e = decode(&nested(257)).unwrap_err().to_string();
    assert!(
        e.starts_with("term nested too deeply: over 256 levels"),
        "{e}"
    );
    let e = decode(&nested(1_000_000)).unwrap_err().to_string();
    assert!(e.starts_with("term nested too deeply"), "{e}");
}

/// The deepest terms the limits let through (lists, tuples and maps
/// nested [`LIMITS`]`.depth` levels) decode, convert both ways, encode and
/// drop on a 2 MiB native stack (a thread's default), in a debug build.
#[test]
fn the_deepest_terms_fit_a_small_stack() {
    let t = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(|| {
            for kind in 0..3 {
                let mut t = a("leaf");
                for level in 1..LIMITS.depth {
                    t = match (kind + level) % 3 {
                        0 => Term::from(List::from(vec![t])),
                        1 => tup(vec![t]),
                        _ => Term::from(Map::from([(Term::from(FixInteger::from(1)), t)])),
                    };
                }
                let b = encode(&t).unwrap();
                let back = decode(&b).unwrap();
                assert_eq!(back, t);
                let v = from_term(back, &Ctx).unwrap();
                let again = to_term(&v, &Ctx).unwrap();
                assert_eq!(again, t);
                // One more level is refused both ways.
                let deeper = Term::from(List::from(vec![t]));
                assert!(decode(&encode(&deeper).unwrap()).is_err());
                assert!(to_term(&l(vec![v]), &Ctx).is_err());
            }
        })
        .unwrap();
    t.join().unwrap();
}

#[test]
fn element_budget_counts_charlists_and_raw_binaries() {
    // A frame of two terms shares one budget.
    let one = encode(&Term::from(eetf::ByteList::from("abc"))).unwrap();
    let mut two = one.clone();
    two.extend(&one);
    assert_eq!(decode_all(&two).unwrap().len(), 2);
    assert!(decode_all(&[131, 97, 1, 130]).is_err());
}

#[test]
fn maps_with_marker_keys_keep_their_shape_and_come_back_sorted() {
    let m = Term::from(Map::from([(bin("b"), a("x")), (bin("a"), a("y"))]));
    let v = from_term(m, &Ctx).unwrap();
    assert_eq!(v.to_string(), "{a: {$atom: y}, b: {$atom: x}}");
    let m = Term::from(Map::from([(bin("$pid"), Term::from(FixInteger::from(1)))]));
    let v = from_term(m.clone(), &Ctx).unwrap();
    assert_eq!(v.to_string(), "{$map: [[$pid, 1]]}");
    assert_eq!(to_term(&v, &Ctx).unwrap(), m);
}

#[test]
fn map_keys_written_two_ways_are_refused() {
    let two = |a: Term, b: Term| Term::from(Map::from([(a, bin("x")), (b, bin("y"))]));
    let cases = [
        two(
            Term::from(eetf::ByteList::from("ab")),
            Term::from(List::from(vec![
                Term::from(FixInteger::from(97)),
                Term::from(FixInteger::from(98)),
            ])),
        ),
        two(
            Term::from(FixInteger::from(5)),
            Term::from(BigInteger::from(5i64)),
        ),
    ];
    for m in cases {
        let e = from_term(m, &Ctx).unwrap_err().to_string();
        assert!(e.contains("twice (written two ways)"), "{e}");
    }
}

/// `term_to_binary` before OTP 26 writes atoms that fit Latin-1 in
/// Latin-1 (`SMALL_ATOM_EXT`), which `eetf` reads as UTF-8 and fails on
/// (found by tests/erlang_terms.rs with `'ünï'`).
#[test]
fn latin1_atoms_decode() {
    let t = decode(&[131, 115, 3, 0xfc, b'n', 0xef]).unwrap();
    assert_eq!(t, a("ünï"));
    let t = decode(&[131, 100, 0, 2, 0xe9, b'x']).unwrap();
    assert_eq!(t, a("éx"));
    // In a tuple, and as a PID's node name, after other atoms.
    let mut b = vec![131, 104, 3, 119, 2, b'o', b'k', 115, 1, 0xe9];
    b.extend([88, 115, 3, b'n', 0xe9, b'h']);
    b.extend([0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2]);
    let t = decode(&b).unwrap();
    let want_pid = Term::from(eetf::Pid {
        node: eetf::Atom::from("néh"),
        id: 1,
        serial: 0,
        creation: 2,
    });
    assert_eq!(t, tup(vec![a("ok"), a("é"), want_pid]));
    // A frame's second term too.
    let mut frame = vec![131, 97, 1];
    frame.extend([131, 115, 1, 0xff]);
    assert_eq!(decode_all(&frame).unwrap()[1], a("ÿ"));
    // Erlang's limit: 255 characters.
    let mut long = vec![131, 118, 1, 0];
    long.extend(std::iter::repeat_n(b'x', 256));
    assert!(decode(&long)
        .unwrap_err()
        .to_string()
        .contains("an atom of 256 characters"));
    let mut ok = vec![131, 118, 1, 254];
    ok.extend("é".repeat(255).as_bytes());
    assert!(decode(&ok).is_ok());
}

fn any_value() -> impl proptest::strategy::Strategy<Value = Value> {
    use proptest::prelude::*;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::Float),
        ".{0,8}".prop_map(|t: String| Value::str(t)),
        "[a-z_ é]{0,6}".prop_map(|t: String| atom_v(&t)),
        (any::<u64>(), 1u64..u64::MAX, any::<bool>()).prop_map(|(hi, lo, neg)| {
            let n = num_bigint::BigInt::from(hi) * num_bigint::BigInt::from(u64::MAX)
                + num_bigint::BigInt::from(lo);
            let n = if neg { -n } else { n };
            obj(&[(BIGINT, s(&n.to_string()))])
        }),
        proptest::collection::vec(128i64..256, 1..5)
            .prop_map(|b| obj(&[(BINARY, l(b.into_iter().map(Value::Int).collect()))])),
        (any::<u32>(), any::<u32>(), any::<u32>()).prop_map(|(id, serial, creation)| {
            RemotePid {
                node: "n@h".into(),
                id,
                serial,
                creation,
            }
            .value()
        }),
    ];
    leaf.prop_recursive(5, 40, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(l),
            proptest::collection::vec(inner.clone(), 0..4).prop_map(tuple_v),
            proptest::collection::vec(("[a-c é]{0,2}", inner.clone()), 0..4).prop_map(|fields| {
                let mut o = Object::new();
                for (k, v) in fields {
                    o.set_with(&k, || Arc::from(k.as_str()), v);
                }
                Value::Object(Arc::new(o))
            }),
            proptest::collection::vec((inner.clone(), inner), 1..3).prop_map(|pairs| {
                // Distinct keys: a pair's key is its position, in a tuple.
                let pairs = pairs
                    .into_iter()
                    .enumerate()
                    .map(|(i, (k, v))| l(vec![tuple_v(vec![Value::Int(i as i64), k]), v]))
                    .collect();
                obj(&[(MAP, l(pairs))])
            }),
        ]
    })
}

/// `{"$bigint": …}` that fits an Int, `{"$binary": …}` that is UTF-8, a
/// `$map` whose keys are all strings: the direct forms they come back as
/// are compared by `same` through the term instead.
fn via_term_equal(a: &Value, b: &Value) -> bool {
    let c = |v| to_term(v, &Ctx).ok().map(|t| canonical(&t));
    c(a) == c(b)
}

proptest::proptest! {
    #[test]
    fn random_values_round_trip(v in any_value()) {
        let back = round(&v);
        proptest::prop_assert!(same(&v, &back) || via_term_equal(&v, &back), "{} came back as {}", v, back);
        // And again: a value that came back is a fixed point.
        let again = round(&back);
        proptest::prop_assert!(same(&back, &again), "{} came back as {}", back, again);
    }
}

#[test]
fn a_huge_unconvertible_reason_is_cut() {
    let bits = Term::from(eetf::BitBinary::from((vec![7u8; 1 << 20], 3)));
    let v = reason_from_term(Term::from(List::from(vec![bits])), &Ctx);
    let Value::Str(t) = v else { panic!("{v}") };
    assert!(t.as_str().len() <= crate::value::MAX_SHOWN_BYTES + 3);
    assert!(t.as_str().ends_with('…'));
}

/// Two equal maps as keys: `eetf` hashes a map in its iteration order,
/// so its `HashMap` may keep both; the canonical form finds them.
#[test]
fn equal_maps_as_keys_are_one_key() {
    let inner = |order: bool| {
        let mut o = Object::new();
        let (a, b) = if order { ("a", "b") } else { ("b", "a") };
        o.set_with(a, || Arc::from(a), Value::Int(1));
        o.set_with(b, || Arc::from(b), Value::Int(1));
        Value::Object(Arc::new(o))
    };
    for _ in 0..20 {
        let dup = obj(&[(
            MAP,
            l(vec![
                l(vec![inner(true), Value::Null]),
                l(vec![inner(false), Value::Null]),
            ]),
        )]);
        assert!(err_of(&dup).contains("appears twice"));
    }
    let m1 = to_term(&inner(true), &Ctx).unwrap();
    let m2 = to_term(&inner(false), &Ctx).unwrap();
    assert_eq!(canonical(&m1), canonical(&m2));
}

/// A fuzz finding: maps used as keys of a map came back in an order that
/// changed from one conversion to the next (sorted by their encodings,
/// which follow `eetf`'s `HashMap` order). Fifty conversions give one text.
#[test]
fn map_keys_that_are_maps_come_back_in_one_order() {
    let input = include_bytes!(
        "../../../../fuzz/regressions/terms/map_keys_that_are_maps_came_back_in_another_order"
    );
    let first = value_from_bytes(&input[1..], &Ctx).unwrap().to_string();
    for _ in 0..50 {
        let again = value_from_bytes(&input[1..], &Ctx).unwrap();
        assert_eq!(again.to_string(), first);
        // and through ttvm's own encoding
        let back = value_from_bytes(&value_to_bytes(&again, &Ctx).unwrap(), &Ctx).unwrap();
        assert_eq!(back.to_string(), first);
    }
}

/// The element counts of `to_term` and of the check agree: the largest
/// value that converts passes the check when its bytes arrive, one more
/// element does not convert.
#[test]
fn a_value_that_converts_passes_the_check() {
    let n = LIMITS.elements;
    // A flat list: itself, its elements and its tail.
    let flat = |k: usize| l(vec![Value::Int(7); k]);
    assert!(decode(&value_to_bytes(&flat(n - 2), &Ctx).unwrap()).is_ok());
    assert!(to_term(&flat(n - 1), &Ctx).is_err());
    // Charlists (STRING_EXT): a list of k lists of 3 small ints.
    let chars = |k: usize| {
        let one = l(vec![Value::Int(97), Value::Int(98), Value::Int(99)]);
        l(vec![one; k])
    };
    let k = (n - 2) / 5;
    assert!(decode(&value_to_bytes(&chars(k), &Ctx).unwrap()).is_ok());
    assert!(to_term(&chars(k + 1), &Ctx).is_err());
    // Empty lists, tuples, objects, raw binaries.
    let mixed = |k: usize| {
        let part = l(vec![
            l(vec![]),
            tuple_v(vec![Value::Null]),
            obj(&[("k", Value::Int(1))]),
            obj(&[(BINARY, l(vec![Value::Int(255)]))]),
        ]);
        l(vec![part; k])
    };
    // Each part: 1 + tail 1 + [] 1 + tuple 2 + object 3 + binary 2 = 10.
    let k = (n - 2) / 10;
    assert!(decode(&value_to_bytes(&mixed(k), &Ctx).unwrap()).is_ok());
    assert!(to_term(&mixed(k + 1), &Ctx).is_err());
}

/// A fuzz finding: eetf wrote `[-1, 5]` as the string `[255, 5]`.
#[test]
fn lists_of_negative_small_ints_keep_their_sign() {
    for items in [
        vec![-1i64, 5],
        vec![-33554433],
        vec![0, -128, 255],
        vec![-1; 70_000],
    ] {
        let v = l(items.iter().map(|&i| Value::Int(i)).collect());
        assert_round(v);
    }
    let input = include_bytes!(
        "../../../../fuzz/regressions/terms/eetf_encodes_a_list_of_negative_small_ints_as_bytes"
    );
    let v = value_from_bytes(&input[1..], &Ctx).unwrap();
    assert!(same(&round(&v), &v));
    // References: 1 to 5 words, as Erlang has them.
    let refs = |n: u16| {
        let mut b = vec![131, 90];
        b.extend(n.to_be_bytes());
        b.extend([119, 3, b'a', b'@', b'b', 0, 0, 0, 1]);
        b.extend(std::iter::repeat_n(0u8, 4 * usize::from(n)));
        b
    };
    assert!(decode(&refs(5)).is_ok());
    assert!(decode(&refs(6))
        .unwrap_err()
        .to_string()
        .contains("a reference of 6 words"));
    assert!(decode(&refs(0)).is_err());
}
