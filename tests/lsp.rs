//! `ttvm lsp`: scripted sessions with the built binary over its stdin and
//! stdout, as an editor would talk to it. Every read has a timeout, so a
//! server that stops answering fails the test instead of hanging it.

mod common;

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(30);

struct Client {
    child: Child,
    stdin: Option<ChildStdin>,
    from_server: Receiver<Value>,
    /// Notifications received while waiting for a response.
    queued: Vec<Value>,
    next_id: i64,
}

impl Client {
    fn start() -> Client {
        // A long-lived server on pipes: the child itself, its reads with
        // their own timeouts.
        let mut child = common::Ttvm::new()
            .arg("lsp")
            .command()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start ttvm lsp");
        let stdout = child.stdout.take().unwrap();
        let (tx, from_server) = mpsc::channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            loop {
                let mut len = None;
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(n) = line.strip_prefix("Content-Length: ") {
                        len = n.parse::<usize>().ok();
                    }
                }
                let mut body = vec![0; len.expect("a Content-Length header")];
                if r.read_exact(&mut body).is_err() {
                    return;
                }
                let v: Value = serde_json::from_slice(&body).expect("the server sends JSON");
                if tx.send(v).is_err() {
                    return;
                }
            }
        });
        let stdin = child.stdin.take();
        Client {
            child,
            stdin,
            from_server,
            queued: Vec::new(),
            next_id: 1,
        }
    }

    fn send(&mut self, v: Value) {
        let text = v.to_string();
        let stdin = self.stdin.as_mut().expect("stdin open");
        write!(stdin, "Content-Length: {}\r\n\r\n{text}", text.len()).unwrap();
        stdin.flush().unwrap();
    }

    fn recv(&mut self) -> Value {
        self.from_server
            .recv_timeout(TIMEOUT)
            .unwrap_or_else(|e| panic!("no message from the server within {TIMEOUT:?}: {e}"))
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// Send a request and wait for its response (its `result`).
    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let msg = self.recv();
            if msg.get("id") == Some(&json!(id)) {
                assert!(msg.get("error").is_none(), "{method} failed: {msg}");
                return msg["result"].clone();
            }
            self.queued.push(msg);
        }
    }

    /// The next notification of `method` (queued or new).
    fn notification(&mut self, method: &str) -> Value {
        if let Some(i) = self.queued.iter().position(|m| m["method"] == method) {
            return self.queued.remove(i)["params"].clone();
        }
        loop {
            let msg = self.recv();
            if msg["method"] == method {
                return msg["params"].clone();
            }
            self.queued.push(msg);
        }
    }

    fn initialize(&mut self) -> Value {
        let r = self.request(
            "initialize",
            json!({"processId": null, "rootUri": null, "capabilities": {}}),
        );
        self.notify("initialized", json!({}));
        r
    }

    /// Close stdin and wait (bounded) for the server to end.
    fn wait(&mut self) -> (ExitStatus, String) {
        self.stdin = None;
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let mut err = String::new();
                self.child
                    .stderr
                    .take()
                    .unwrap()
                    .read_to_string(&mut err)
                    .unwrap();
                return (status, err);
            }
            assert!(
                start.elapsed() < TIMEOUT,
                "the server did not exit within {TIMEOUT:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ttvm-lsp-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn file_uri(path: &Path) -> String {
    format!("file://{}", path.display())
}

fn pos(line: u32, character: u32) -> Value {
    json!({"line": line, "character": character})
}

fn range(l1: u32, c1: u32, l2: u32, c2: u32) -> Value {
    json!({"start": pos(l1, c1), "end": pos(l2, c2)})
}

fn at(uri: &str, line: u32, character: u32) -> Value {
    json!({"textDocument": {"uri": uri}, "position": pos(line, character)})
}

fn labels(items: &Value) -> Vec<String> {
    items
        .as_array()
        .expect("a list")
        .iter()
        .map(|i| i["label"].as_str().unwrap().to_string())
        .collect()
}

/// The document of the main session: two mistakes (lines 11 and 15).
const BROKEN: &str = "; a function, a loop and two mistakes
PUSH_INT 5
CALL square n
PRINT
PUSH_INT 3
STORE count
LABEL loop
  LOAD count
  JZ done
  LOAD count
  PUSH_INT 1
  SUBB
  STORE count
  JMP loop
LABEL done
PUSH_INT 12x
HALT
LABEL square
  LOAD n
  LOAD n
  MUL
  RET
";

#[test]
fn a_scripted_session_gets_diagnostics_hover_definitions_completion_and_symbols() {
    let dir = temp_dir("session");
    let path = dir.join("prog.ttvm");
    std::fs::write(&path, BROKEN).unwrap();
    let uri = file_uri(&path);
    let mut c = Client::start();
    let init = c.initialize();
    let caps = &init["capabilities"];
    assert_eq!(caps["hoverProvider"], json!(true), "{init}");
    assert_eq!(caps["definitionProvider"], json!(true), "{init}");

    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "ttvm", "version": 1, "text": BROKEN}}),
    );
    let d = c.notification("textDocument/publishDiagnostics");
    assert_eq!(d["uri"], json!(uri));
    let diags = d["diagnostics"].as_array().unwrap();
    assert_eq!(diags.len(), 2, "{d}");
    assert_eq!(diags[0]["range"], range(11, 2, 11, 6), "{d}");
    assert_eq!(diags[0]["severity"], json!(1));
    assert_eq!(
        diags[0]["message"],
        json!("unknown opcode `SUBB`\nhelp: did you mean `SUB`?")
    );
    assert_eq!(diags[1]["range"], range(15, 9, 15, 12), "{d}");
    assert!(diags[1]["message"]
        .as_str()
        .unwrap()
        .starts_with("invalid integer `12x`"));

    // Hover over MUL: the op table's row.
    let h = c.request("textDocument/hover", at(&uri, 20, 3));
    let text = h["contents"]["value"].as_str().unwrap();
    let mul = ttvm::bytecode::OPS
        .iter()
        .find(|o| o.mnemonic == "MUL")
        .unwrap();
    assert!(text.contains(mul.summary), "{text}");
    assert!(text.contains(mul.section), "{text}");
    assert_eq!(h["range"], range(20, 2, 20, 5));

    // Definitions of labels: from a jump and from a call.
    let def = c.request("textDocument/definition", at(&uri, 13, 7));
    assert_eq!(def, json!([{"uri": uri, "range": range(6, 6, 6, 10)}]));
    let def = c.request("textDocument/definition", at(&uri, 2, 7));
    assert_eq!(def, json!([{"uri": uri, "range": range(17, 6, 17, 12)}]));

    // Completion: opcodes where a line starts, labels after JZ, variables
    // after LOAD.
    let items = labels(&c.request("textDocument/completion", at(&uri, 7, 2)));
    assert!(items.contains(&"PUSH_INT".to_string()), "{items:?}");
    assert_eq!(items.len(), ttvm::bytecode::OPS.len() + 1, "{items:?}");
    let items = labels(&c.request("textDocument/completion", at(&uri, 8, 5)));
    assert_eq!(items, ["loop", "done", "square"]);
    let items = labels(&c.request("textDocument/completion", at(&uri, 18, 7)));
    assert_eq!(items, ["count", "n"]);

    // Symbols: the function, and the labels before it.
    let s = c.request(
        "textDocument/documentSymbol",
        json!({"textDocument": {"uri": uri}}),
    );
    let names: Vec<(&str, u64)> = s
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap(), s["kind"].as_u64().unwrap()))
        .collect();
    assert_eq!(names, [("loop", 14), ("done", 14), ("square", 12)]);

    // References of a variable while the file does not load: by name.
    let mut params = at(&uri, 5, 7);
    params["context"] = json!({"includeDeclaration": true});
    let refs = c.request("textDocument/references", params);
    let lines: Vec<u64> = refs
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["range"]["start"]["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [5, 7, 9, 12]);

    // Fix both mistakes and add an END_TRY no TRY owns: one warning.
    let fixed = BROKEN
        .replace("SUBB", "SUB")
        .replace("12x", "12")
        .replace("HALT\n", "END_TRY\nHALT\n");
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": fixed}]}),
    );
    let d = c.notification("textDocument/publishDiagnostics");
    assert_eq!(d["version"], json!(2));
    assert_eq!(
        d["diagnostics"],
        json!([{
            "range": range(16, 0, 16, 7),
            "severity": 2,
            "source": "ttvm",
            "message": "END_TRY is not owned by any TRY and does nothing",
        }]),
        "{d}"
    );

    // Now the program loads: `n` is the parameter of `square`'s frame.
    let mut params = at(&uri, 19, 7);
    params["context"] = json!({"includeDeclaration": true});
    let refs = c.request("textDocument/references", params);
    let lines: Vec<u64> = refs
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["range"]["start"]["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [2, 19, 20]);
    let def = c.request("textDocument/definition", at(&uri, 20, 7));
    assert_eq!(def, json!([{"uri": uri, "range": range(2, 12, 2, 13)}]));

    // An incremental change brings an error back, at the right place.
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 3},
               "contentChanges": [{"range": range(11, 5, 11, 5), "text": "X"}]}),
    );
    let d = c.notification("textDocument/publishDiagnostics");
    let diags = d["diagnostics"].as_array().unwrap();
    assert_eq!(diags.len(), 1, "{d}");
    assert_eq!(diags[0]["range"], range(11, 2, 11, 6), "{d}");
    assert!(diags[0]["message"]
        .as_str()
        .unwrap()
        .starts_with("unknown opcode `SUBX`"));

    assert_eq!(c.request("shutdown", Value::Null), Value::Null);
    c.notify("exit", Value::Null);
    let (status, err) = c.wait();
    assert_eq!(status.code(), Some(0), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn imports_resolve_beside_the_document() {
    let dir = temp_dir("imports");
    std::fs::write(
        dir.join("lib.ttvm"),
        "PUSH_INT 7\nSTORE answer\nEXPORT answer\n",
    )
    .unwrap();
    std::fs::write(dir.join("bad.ttvm"), "PUSH_INT 1\nPUSH_INT\n").unwrap();
    let main = dir.join("main.ttvm");
    let text = "IMPORT lib\nLOAD answer\nPRINT\n";
    std::fs::write(&main, text).unwrap();
    let uri = file_uri(&main);
    let mut c = Client::start();
    c.initialize();
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "ttvm", "version": 1, "text": text}}),
    );
    let d = c.notification("textDocument/publishDiagnostics");
    assert_eq!(d["diagnostics"], json!([]), "{d}");
    // The imported variable's definition is the EXPORT in lib.ttvm.
    let def = c.request("textDocument/definition", at(&uri, 1, 6));
    let lib = std::fs::canonicalize(dir.join("lib.ttvm")).unwrap();
    assert_eq!(
        def,
        json!([{"uri": file_uri(&lib), "range": range(2, 7, 2, 13)}])
    );
    // The IMPORT's path leads to the file.
    let def = c.request("textDocument/definition", at(&uri, 0, 8));
    assert_eq!(
        def,
        json!([{"uri": file_uri(&lib), "range": range(0, 0, 0, 0)}])
    );

    // An error in an imported file shows on the IMPORT naming it.
    let text2 = "IMPORT lib\nIMPORT bad\n";
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": text2}]}),
    );
    let d = c.notification("textDocument/publishDiagnostics");
    let diags = d["diagnostics"].as_array().unwrap();
    assert_eq!(diags.len(), 1, "{d}");
    assert_eq!(diags[0]["range"], range(1, 7, 1, 10), "{d}");
    let message = diags[0]["message"].as_str().unwrap();
    assert!(
        message.contains("bad.ttvm:2:9: missing operand: PUSH_INT needs an integer"),
        "{message}"
    );
    let related = &diags[0]["relatedInformation"][0]["location"];
    let bad = std::fs::canonicalize(dir.join("bad.ttvm")).unwrap();
    assert_eq!(related["uri"], json!(file_uri(&bad)), "{d}");
    assert_eq!(related["range"]["start"], pos(1, 8), "{d}");

    assert_eq!(c.request("shutdown", Value::Null), Value::Null);
    c.notify("exit", Value::Null);
    assert_eq!(c.wait().0.code(), Some(0));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn protocol_errors_end_the_session_with_a_message() {
    // A header that is not one.
    let mut c = Client::start();
    c.stdin
        .as_mut()
        .unwrap()
        .write_all(b"Content-Length 12\r\n\r\n{}")
        .unwrap();
    let (status, err) = c.wait();
    assert_eq!(status.code(), Some(1));
    assert!(err.contains("malformed message header"), "{err}");

    // A body announced larger than the limit is refused, not allocated.
    let mut c = Client::start();
    c.stdin
        .as_mut()
        .unwrap()
        .write_all(b"Content-Length: 99999999999999\r\n\r\n")
        .unwrap();
    let (status, err) = c.wait();
    assert_eq!(status.code(), Some(1));
    assert!(err.contains("larger than the limit"), "{err}");

    // A body that is not JSON is skipped; the session goes on.
    let mut c = Client::start();
    c.stdin
        .as_mut()
        .unwrap()
        .write_all(b"Content-Length: 5\r\n\r\nhello")
        .unwrap();
    c.initialize();
    // Requests the server does not know get an error, not silence.
    c.send(json!({"jsonrpc": "2.0", "id": 99, "method": "textDocument/rename", "params": {}}));
    let r = c.recv();
    assert_eq!(r["id"], json!(99));
    assert_eq!(r["error"]["code"], json!(-32601), "{r}");
    // `exit` without `shutdown`: status 1, as the protocol says.
    c.notify("exit", Value::Null);
    let (status, err) = c.wait();
    assert_eq!(status.code(), Some(1));
    assert!(err.contains("not JSON-RPC"), "{err}");

    // The client goes away without `exit`.
    let mut c = Client::start();
    c.initialize();
    let (status, err) = c.wait();
    assert_eq!(status.code(), Some(1));
    assert!(err.contains("without `shutdown`"), "{err}");
}
