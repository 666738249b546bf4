//! The editor files in `editors/`: the VS Code extension's JSON files parse,
//! and its TextMate grammar is the one generated here from the op table
//! (`OPS`), so its opcode lists cannot drift. `TTVM_BLESS=1 cargo test
//! --test editors` rewrites the grammar after a change to the op table or
//! to [`grammar`].
//!
//! The grammar's regular expressions are kept to what both Oniguruma (VS
//! Code's engine) and the `regex` crate accept, so they are compiled and
//! tried on sample lines here.

use regex::Regex;
use serde_json::{json, Value};
use std::path::PathBuf;
use ttvm::bytecode::{Shape, OPS};

fn editors() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("editors")
}

fn read_json(rel: &str) -> Value {
    let path = editors().join(rel);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// The mnemonics of the ops whose shape is one of `shapes`, as one
/// alternation (longest first, so a prefix never wins).
fn ops_where(pred: impl Fn(&ttvm::bytecode::OpInfo) -> bool) -> String {
    let mut names: Vec<&str> = OPS.iter().filter(|o| pred(o)).map(|o| o.mnemonic).collect();
    names.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
    names.join("|")
}

fn is_control(op: &ttvm::bytecode::OpInfo) -> bool {
    matches!(
        op.section,
        "Control flow" | "Functions and closures" | "Exceptions"
    )
}

const LEAD: &str = "^[ \\t]*";
const NAME: &str = "(\"(?:[^\"\\\\]|\\\\.)*\"|[^ \\t;\"]+)";

/// The TextMate grammar of `.ttvm`.
fn grammar() -> Value {
    let targets = ops_where(|o| matches!(o.shape, Shape::Target | Shape::Callee));
    let variables = ops_where(|o| o.shape == Shape::Var);
    let fields = ops_where(|o| matches!(o.shape, Shape::Name | Shape::OptField));
    let control = ops_where(is_control);
    let other = ops_where(|o| !is_control(o));
    json!({
        "$schema": "https://raw.githubusercontent.com/martinring/tmlanguage/master/tmlanguage.json",
        "name": "ttvm",
        "scopeName": "source.ttvm",
        "fileTypes": ["ttvm"],
        "patterns": [
            {"include": "#comment"},
            {"include": "#label-definition"},
            {"include": "#target"},
            {"include": "#variable"},
            {"include": "#field"},
            {"include": "#import"},
            {"include": "#push-str-unquoted"},
            {"include": "#control"},
            {"include": "#opcode"},
            {"include": "#string"},
            {"include": "#boolean"},
            {"include": "#number"}
        ],
        "repository": {
            "comment": {
                "name": "comment.line.semicolon.ttvm",
                "match": ";.*$"
            },
            "string": {
                "name": "string.quoted.double.ttvm",
                "begin": "\"",
                "end": "\"",
                "patterns": [
                    {
                        "name": "constant.character.escape.ttvm",
                        "match": "\\\\(?:[ntr0\\\\\"]|u\\{[0-9A-Fa-f]{1,6}\\})"
                    },
                    {
                        "name": "invalid.illegal.escape.ttvm",
                        "match": "\\\\."
                    }
                ]
            },
            "label-definition": {
                "match": format!("{LEAD}(LABEL)[ \\t]+{NAME}"),
                "captures": {
                    "1": {"name": "storage.type.label.ttvm"},
                    "2": {"name": "entity.name.function.label.ttvm"}
                }
            },
            "target": {
                "match": format!("{LEAD}({targets})[ \\t]+([A-Za-z_][^ \\t;\"]*)((?:[ \\t]+[^ \\t;\"]+)*)"),
                "captures": {
                    "1": {"name": "keyword.control.ttvm"},
                    "2": {"name": "entity.name.function.ttvm"},
                    "3": {"name": "variable.parameter.ttvm"}
                }
            },
            "variable": {
                "match": format!("{LEAD}({variables})[ \\t]+{NAME}"),
                "captures": {
                    "1": {"name": "keyword.other.opcode.ttvm"},
                    "2": {"name": "variable.other.ttvm"}
                }
            },
            "field": {
                "match": format!("{LEAD}({fields})[ \\t]+{NAME}"),
                "captures": {
                    "1": {"name": "keyword.other.opcode.ttvm"},
                    "2": {"name": "variable.other.property.ttvm"}
                }
            },
            "import": {
                "match": format!("{LEAD}(IMPORT)[ \\t]+([^ \\t;\"]+)"),
                "captures": {
                    "1": {"name": "keyword.control.import.ttvm"},
                    "2": {"name": "string.unquoted.path.ttvm"}
                }
            },
            "push-str-unquoted": {
                "match": format!("{LEAD}(PUSH_STR)[ \\t]+([^ \\t;\"][^;]*)"),
                "captures": {
                    "1": {"name": "keyword.other.opcode.ttvm"},
                    "2": {"name": "string.unquoted.ttvm"}
                }
            },
            "control": {
                "match": format!("{LEAD}({control})\\b"),
                "captures": {"1": {"name": "keyword.control.ttvm"}}
            },
            "opcode": {
                "match": format!("{LEAD}({other})\\b"),
                "captures": {"1": {"name": "keyword.other.opcode.ttvm"}}
            },
            "boolean": {
                "name": "constant.language.boolean.ttvm",
                "match": "\\b(?:true|false)\\b"
            },
            "number": {
                "name": "constant.numeric.ttvm",
                "match": "[-+]?\\b[0-9][0-9_]*(?:\\.[0-9_]+)?(?:[eE][-+]?[0-9]+)?\\b"
            }
        }
    })
}

#[test]
fn the_grammar_is_generated_from_the_op_table() {
    let path = editors().join("vscode/syntaxes/ttvm.tmLanguage.json");
    let wanted = grammar();
    let current = std::fs::read_to_string(&path)
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok());
    if current.as_ref() == Some(&wanted) {
        return;
    }
    if std::env::var_os("TTVM_BLESS").is_some() {
        let text = serde_json::to_string_pretty(&wanted).unwrap() + "\n";
        std::fs::write(&path, text).expect("write the grammar");
        return;
    }
    panic!(
        "{} is out of date with the op table: run `TTVM_BLESS=1 cargo test --test editors`",
        path.display()
    );
}

/// Every `match`, `begin` and `end` in the grammar, by rule.
fn regexes(v: &Value, rule: &str, out: &mut Vec<(String, Regex)>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("match" | "begin" | "end", Value::String(s)) => {
                        let re = Regex::new(s)
                            .unwrap_or_else(|e| panic!("rule {rule}: bad regex {s:?}: {e}"));
                        out.push((rule.to_string(), re));
                    }
                    _ => regexes(x, k, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| regexes(x, rule, out)),
        _ => {}
    }
}

fn rule(g: &Value, name: &str) -> Regex {
    Regex::new(g["repository"][name]["match"].as_str().unwrap()).unwrap()
}

#[test]
fn the_grammar_highlights_what_the_assembler_reads() {
    let g = read_json("vscode/syntaxes/ttvm.tmLanguage.json");
    assert_eq!(g["scopeName"], json!("source.ttvm"));
    let mut all = Vec::new();
    regexes(&g, "", &mut all);
    assert!(all.len() >= 14, "{}", all.len());

    // Every opcode is highlighted, by exactly one of the two opcode rules,
    // and nothing that is not an opcode is.
    let (control, opcode) = (rule(&g, "control"), rule(&g, "opcode"));
    for op in OPS {
        let line = format!("  {} ; x", op.mnemonic);
        let hits: Vec<_> = [&control, &opcode]
            .iter()
            .filter_map(|r| r.captures(&line))
            .map(|c| c[1].to_string())
            .collect();
        assert_eq!(hits, [op.mnemonic], "{line}");
    }
    for word in ["ADDX", "PUSH_INTEGER", "add", "LABELS", "HTTP_FETCH"] {
        assert!(!control.is_match(word) && !opcode.is_match(word), "{word}");
    }

    let caps = |name: &str, line: &str| -> Vec<String> {
        let c = rule(&g, name)
            .captures(line)
            .unwrap_or_else(|| panic!("{name} does not match {line:?}"));
        c.iter()
            .skip(1)
            .map(|m| m.map_or(String::new(), |m| m.as_str().to_string()))
            .collect()
    };
    assert_eq!(
        caps("label-definition", "LABEL loop ; top"),
        ["LABEL", "loop"]
    );
    assert_eq!(
        caps("label-definition", "LABEL \"a b\""),
        ["LABEL", "\"a b\""]
    );
    assert_eq!(caps("target", "  JMP loop"), ["JMP", "loop", ""]);
    assert_eq!(
        caps("target", "CALL add a b ; sum"),
        ["CALL", "add", " a b"]
    );
    assert_eq!(
        caps("target", "MAKE_LAMBDA f x"),
        ["MAKE_LAMBDA", "f", " x"]
    );
    assert!(rule(&g, "target").captures("JMP 12").is_none());
    assert_eq!(caps("variable", "  STORE count"), ["STORE", "count"]);
    assert_eq!(caps("variable", "EXPORT answer"), ["EXPORT", "answer"]);
    assert_eq!(caps("field", "GET_FIELD name"), ["GET_FIELD", "name"]);
    assert_eq!(caps("import", "IMPORT std/list"), ["IMPORT", "std/list"]);
    assert_eq!(
        caps("push-str-unquoted", "PUSH_STR hi there ; c"),
        ["PUSH_STR", "hi there "]
    );
    assert!(rule(&g, "push-str-unquoted")
        .captures("PUSH_STR \"q\"")
        .is_none());
    assert_eq!(
        rule(&g, "comment")
            .find("PUSH_INT 1 ; one")
            .unwrap()
            .as_str(),
        "; one"
    );
    let number = rule(&g, "number");
    for n in ["42", "-7", "1_000", "3.25", "1e10", "-2.5E-3"] {
        assert_eq!(number.find(&format!("PUSH_FLOAT {n}")).unwrap().as_str(), n);
    }
    let escape = Regex::new(
        g["repository"]["string"]["patterns"][0]["match"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    for e in ["\\n", "\\t", "\\\"", "\\\\", "\\0", "\\u{1F600}"] {
        assert_eq!(escape.find(e).map(|m| m.as_str()), Some(e), "{e}");
    }
    assert!(escape.find("\\q").is_none());
}

#[test]
fn the_extension_files_parse_and_agree() {
    let pkg = read_json("vscode/package.json");
    let lang = &pkg["contributes"]["languages"][0];
    assert_eq!(lang["id"], json!("ttvm"));
    assert_eq!(lang["extensions"], json!([".ttvm"]));
    let grammar = &pkg["contributes"]["grammars"][0];
    assert_eq!(grammar["scopeName"], json!("source.ttvm"));
    for file in [
        lang["configuration"].as_str().unwrap(),
        grammar["path"].as_str().unwrap(),
        pkg["main"].as_str().unwrap(),
    ] {
        let path = editors().join("vscode").join(file);
        assert!(
            path.is_file(),
            "package.json names {file}, which is missing"
        );
    }
    let conf = read_json("vscode/language-configuration.json");
    assert_eq!(conf["comments"]["lineComment"], json!(";"));
    // The client starts `ttvm lsp`.
    let client = std::fs::read_to_string(editors().join("vscode/extension.js")).unwrap();
    assert!(client.contains("'lsp'"), "{client}");
    assert!(client.contains("vscode-languageclient/node"), "{client}");
}
