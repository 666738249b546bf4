//! The library operations (issue 14): strings, numbers, lists, … — every
//! opcode flagged `lib` in the op table (`bytecode::ops`).
//!
//! Each operation is a pure function of its operands (no interpreter or
//! JIT types). Both tiers reach them through [`call`], which takes the
//! operands from the operand stack and leaves the result there: the
//! interpreter from its dispatch loop (decoded `Op::Library`) and from its
//! generic arm, compiled code through one helper call per instruction
//! with the opcode number (`engine::helpers::h_library`).
//!
//! The contract of every operation, which the tiers rely on:
//! - it pops exactly the table's `pops` operands and pushes its `pushes`
//!   results (the verifier and the JIT's stack accounting use the table);
//! - on error the operand stack is exactly as it was (nothing popped, no
//!   operand changed), so the caller can restore what it lent (see
//!   `exec::semantics::release_for_store`);
//! - it takes its first operand (the container) out of the stack and
//!   changes it in place when nothing else holds it (`Arc::make_mut`), so
//!   `LOAD x; …; OP; STORE x` does not copy `x` (the tiers drop the
//!   variable's reference first when the next instruction stores back).
//!
//! Adding a group: a module with a `call(op, &mut Args)` and one arm in
//! [`call`].

pub mod csv;
pub mod dns;
pub mod hash;
pub mod host;
pub mod http;
pub mod json;
pub mod lists;
pub mod math;
pub mod strings;
pub mod time;
pub mod values;

use crate::bytecode::{Opcode, OPS};
use crate::exec::{error, OpResult};
use std::sync::Arc;
use ttvm_runtime::value::List;
use ttvm_runtime::{Str, Value};

/// What a library operation may use besides its operands (host
/// operations consult it; pure ones ignore it).
#[derive(Clone, Copy, Default)]
pub struct Caps<'a> {
    /// `--sandbox`: host operations raise `permission denied`.
    pub sandbox: bool,
    /// The VM's standard streams, for EXEC, READ_CHAR and READ_INPUT
    /// (`None` in unit tests: those operations then raise).
    pub console: Option<&'a dyn host::Console>,
    /// `--sandbox` and `--allow-net`, for the network operations (`None`:
    /// `sandbox` alone decides, refusing every host under it).
    pub net: Option<&'a crate::permissions::NetPolicy>,
}

/// Run library operation `op` on the operand stack.
pub fn call(op: Opcode, stack: &mut Vec<Value>, caps: &Caps<'_>) -> OpResult {
    let info = op.info();
    if !info.library && !info.blocking {
        return crate::exec::error(format!("{} is not a library operation", info.mnemonic));
    }
    let Some(base) = stack.len().checked_sub(info.pops as usize) else {
        return crate::exec::error(format!("stack underflow in {}", info.mnemonic));
    };
    let mut args = Args { base, stack, op };
    use Opcode as O;
    match op {
        O::Substr
        | O::Find
        | O::Split
        | O::Join
        | O::Replace
        | O::Trim
        | O::Upper
        | O::Lower
        | O::StartsWith
        | O::EndsWith
        | O::Chr
        | O::Ord
        | O::Repeat => strings::call(op, &mut args),
        O::Sqrt
        | O::Pow
        | O::Exp
        | O::Log
        | O::Sin
        | O::Cos
        | O::Atan2
        | O::Floor
        | O::Ceil
        | O::Round
        | O::Abs
        | O::Min
        | O::Max
        | O::Format => math::call(op, &mut args),
        O::Slice | O::Reverse | O::Sort | O::Contains | O::IndexOf | O::Range | O::Extend => {
            lists::call(op, &mut args)
        }
        O::JsonParse
        | O::JsonStringify
        | O::CsvParse
        | O::CsvWrite
        | O::Hash
        | O::SetEnv
        | O::FileSize
        | O::ListDir
        | O::ReadBytes
        | O::WriteBytes
        | O::Exec
        | O::ExecCapture
        | O::ReadChar
        | O::ReadInput
        | O::ReadLine
        | O::ReadFile
        | O::WriteFile
        | O::AppendFile
        | O::FileExists
        | O::DeleteFile
        | O::FormatTime => formats_and_host(op, args.stack, caps),
        O::DnsResolve | O::HttpGet | O::HttpPost | O::HttpRequest => network(op, args.stack, caps),
        _ => crate::exec::error(format!("{} has no library function", info.mnemonic)),
    }
}

/// Whether `op` is a pure library operation compiled code may run on
/// values it owns, outside the process (`engine::helpers`'
/// `library_owned`, issue 15): the string operations, the list
/// operations but EXTEND (the `value` helper's) and the number operations
/// compiled code has no inline lowering for. They use nothing but their
/// operands (no [`Caps`]), never block and never panic on any operand;
/// on error they leave the operands as they were (the contract above).
pub fn pure(op: Opcode) -> bool {
    use Opcode as O;
    matches!(
        op,
        O::Substr
            | O::Find
            | O::Split
            | O::Join
            | O::Replace
            | O::Trim
            | O::Upper
            | O::Lower
            | O::StartsWith
            | O::EndsWith
            | O::Chr
            | O::Ord
            | O::Repeat
            | O::Pow
            | O::Exp
            | O::Log
            | O::Sin
            | O::Cos
            | O::Atan2
            | O::Format
            | O::Slice
            | O::Reverse
            | O::Sort
            | O::Contains
            | O::IndexOf
            | O::Range
    )
}

/// The opcode with table index `n` (compiled code passes the number).
pub fn opcode(n: u32) -> Option<Opcode> {
    OPS.get(n as usize).map(|i| i.opcode)
}

/// The operands of one library operation, still on the stack (`base` is
/// where the first is). Readers check types; [`Args::finish`] replaces
/// the operands with the result.
pub struct Args<'s> {
    stack: &'s mut Vec<Value>,
    base: usize,
    op: Opcode,
}

/// What a type error calls a kind of value (`a Str`, `an Int`).
fn article(kind: &str) -> &'static str {
    if kind.starts_with(['A', 'E', 'I', 'O', 'U']) {
        "an"
    } else {
        "a"
    }
}

impl Args<'_> {
    pub fn name(&self) -> &'static str {
        self.op.mnemonic()
    }

    /// Operand `i` (0 = the deepest).
    pub fn get(&self, i: usize) -> &Value {
        &self.stack[self.base + i]
    }

    /// `type error: OP needs <kind> for `<what>`, got <type>` (`what` is
    /// the operand's name in the op table's stack effect).
    #[cold]
    pub fn type_error<T>(&self, kind: &str, what: &str, i: usize) -> OpResult<T> {
        crate::exec::error(format!(
            "type error: {} needs {} {kind} for `{what}`, got {}",
            self.name(),
            article(kind),
            self.get(i).type_name()
        ))
    }

    pub fn str(&self, i: usize, what: &str) -> OpResult<&Str> {
        match self.get(i) {
            Value::Str(s) => Ok(s),
            _ => self.type_error("Str", what, i),
        }
    }

    pub fn int(&self, i: usize, what: &str) -> OpResult<i64> {
        match self.get(i) {
            Value::Int(n) => Ok(*n),
            _ => self.type_error("Int", what, i),
        }
    }

    /// A number (Int or Float) as an f64.
    pub fn num(&self, i: usize, what: &str) -> OpResult<f64> {
        match self.get(i) {
            Value::Int(n) => Ok(*n as f64),
            Value::Float(x) => Ok(*x),
            _ => crate::exec::error(format!(
                "type error: {} needs a number for `{what}`, got {}",
                self.name(),
                self.get(i).type_name()
            )),
        }
    }

    pub fn list(&self, i: usize, what: &str) -> OpResult<&List> {
        match self.get(i) {
            Value::List(l) => Ok(l),
            _ => self.type_error("List", what, i),
        }
    }

    /// Take operand `i` out of the stack (the caller finishes the
    /// operation, which must not fail from here on).
    pub fn take(&mut self, i: usize) -> Value {
        std::mem::replace(&mut self.stack[self.base + i], Value::Null)
    }

    /// Replace the operands with `result`.
    pub fn finish(&mut self, result: Value) -> OpResult {
        self.stack.truncate(self.base);
        self.stack.push(result);
        Ok(())
    }
}

/// `string too long (over 256 MiB)`, as CONCAT raises it.
#[cold]
pub fn too_long<T>() -> OpResult<T> {
    crate::exec::error(format!(
        "string too long (over {} MiB)",
        crate::exec::ops::MAX_STR_BYTES >> 20
    ))
}

/// `list too long (over N elements)`, as APPEND raises it.
#[cold]
pub fn list_too_long<T>() -> OpResult<T> {
    crate::exec::error(format!(
        "list too long (over {} elements)",
        crate::exec::ops::MAX_LIST_LEN
    ))
}

/// A new string value.
pub fn text(s: String) -> Value {
    Value::Str(Arc::new(Str::new(s)))
}

/// Operand `i` (0 = the deepest) of the `n` on top of `stack`.
fn arg(stack: &[Value], n: usize, i: usize) -> &Value {
    &stack[stack.len() - n + i]
}

fn str_arg<'s>(
    stack: &'s [Value],
    n: usize,
    i: usize,
    op: Opcode,
    what: &str,
) -> OpResult<&'s str> {
    match arg(stack, n, i) {
        Value::Str(s) => Ok(s.as_str()),
        other => error(format!(
            "type error: {} needs a Str {what}, got {}",
            op.mnemonic(),
            other.type_name()
        )),
    }
}

/// JSON, CSV, HASH and TinyTotVM's host operations (`json`, `csv`, `hash`,
/// `host`): the functions there take plain operands and give the result
/// or an error message; this checks the sandbox and the operand types,
/// then replaces the operands with the result (none for SET_ENV and
/// WRITE_BYTES), leaving the stack as it was on error.
fn formats_and_host(op: Opcode, stack: &mut Vec<Value>, caps: &Caps<'_>) -> OpResult {
    use Opcode as O;
    let info = op.info();
    let n = info.pops as usize;
    // READ_LINE reads the VM's own stdin, which --sandbox allows (SPEC §3.10).
    let host = !matches!(
        op,
        O::JsonParse
            | O::JsonStringify
            | O::CsvParse
            | O::CsvWrite
            | O::Hash
            | O::FormatTime
            | O::ReadLine
    );
    if host && caps.sandbox {
        return error("permission denied");
    }
    let s: &[Value] = stack;
    let result: Result<Option<Value>, String> = match op {
        O::JsonParse => json::parse(str_arg(s, n, 0, op, "of JSON text")?).map(Some),
        O::JsonStringify => json::stringify(arg(s, n, 0)).map(|t| Some(values::text_value(t))),
        O::CsvParse => csv::parse(str_arg(s, n, 0, op, "of CSV text")?).map(Some),
        O::CsvWrite => csv::write(arg(s, n, 0)).map(|t| Some(values::text_value(t))),
        O::Hash => hash::hash(arg(s, n, 0)).map(|t| Some(values::text_value(t))),
        O::FormatTime => match arg(s, n, 0) {
            Value::Int(ts) => time::format_time(*ts, str_arg(s, n, 1, op, "strftime pattern")?)
                .map(|t| Some(values::text_value(t))),
            other => {
                return error(format!(
                    "type error: FORMAT_TIME needs an Int timestamp (Unix seconds), got {}",
                    other.type_name()
                ))
            }
        },
        O::SetEnv => {
            let name = str_arg(s, n, 0, op, "variable name")?;
            let value = str_arg(s, n, 1, op, "value")?;
            host::set_env(name, value).map(|()| None)
        }
        O::FileSize => host::file_size(str_arg(s, n, 0, op, "path")?).map(|n| Some(Value::Int(n))),
        O::ListDir => host::list_dir(str_arg(s, n, 0, op, "path")?).map(Some),
        O::ReadBytes => host::read_bytes(str_arg(s, n, 0, op, "path")?).map(Some),
        O::WriteBytes => {
            let path = str_arg(s, n, 1, op, "path")?;
            host::bytes_of(arg(s, n, 0), "WRITE_BYTES")
                .and_then(|bytes| host::write_bytes(path, &bytes))
                .map(|()| None)
        }
        O::Exec | O::ExecCapture => {
            let prog = str_arg(s, n, 0, op, "program")?;
            host::args_of(arg(s, n, 1), op.mnemonic()).and_then(|args| {
                if op == O::Exec {
                    let console = caps.console.ok_or_else(no_console)?;
                    host::exec(console, prog, &args).map(|c| Some(Value::Int(c)))
                } else {
                    host::exec_capture(prog, &args).map(Some)
                }
            })
        }
        O::ReadChar | O::ReadInput | O::ReadLine => {
            let mut r = Err(no_console());
            let console = caps.console.ok_or_else(no_console).or_else(error)?;
            console.with_stdin(&mut |stdin| {
                r = match op {
                    O::ReadChar => host::read_char(stdin).map(Some),
                    O::ReadInput => host::read_input(stdin).map(|t| Some(values::text_value(t))),
                    _ => host::read_line(stdin)
                        .map(|l| Some(l.map_or(Value::Null, values::text_value))),
                };
            });
            r
        }
        O::ReadFile => {
            host::read_file(str_arg(s, n, 0, op, "path")?).map(|t| Some(values::text_value(t)))
        }
        O::WriteFile | O::AppendFile => {
            let path = str_arg(s, n, 1, op, "path")?;
            let text = match arg(s, n, 0) {
                Value::Str(t) => t.to_string(),
                other => crate::exec::ops::text(other)?,
            };
            host::write_file(path, &text, op == O::AppendFile).map(|()| None)
        }
        O::FileExists => {
            let path = str_arg(s, n, 0, op, "path")?;
            Ok(Some(Value::Bool(std::path::Path::new(path).exists())))
        }
        O::DeleteFile => host::delete_file(str_arg(s, n, 0, op, "path")?).map(|()| None),
        _ => return error(format!("{} is not a library operation", info.mnemonic)),
    };
    match result {
        Ok(v) => {
            stack.truncate(stack.len() - n);
            stack.extend(v);
            Ok(())
        }
        Err(message) => error(message),
    }
}

/// DNS_RESOLVE and the HTTP operations (`dns.rs`, `http.rs`): each host
/// is checked against the network policy where it is used (for HTTP, at
/// every connection, redirects included).
fn network(op: Opcode, stack: &mut Vec<Value>, caps: &Caps<'_>) -> OpResult {
    use Opcode as O;
    let n = op.info().pops as usize;
    let refuse_all;
    let policy = match caps.net {
        Some(p) => p,
        None => {
            refuse_all = crate::permissions::NetPolicy {
                sandbox: caps.sandbox,
                allow: crate::permissions::NetAllow::Nothing,
            };
            &refuse_all
        }
    };
    let s: &[Value] = stack;
    let result: OpResult<Value> = match op {
        O::DnsResolve => {
            dns::resolve(str_arg(s, n, 0, op, "host name")?, policy).or_else(error)
        }
        O::HttpGet | O::HttpPost => {
            let url = str_arg(s, n, 0, op, "URL")?;
            let (name, method) = match op {
                O::HttpGet => ("HTTP_GET", ::ureq::http::Method::GET),
                _ => ("HTTP_POST", ::ureq::http::Method::POST),
            };
            let mut req = http::Request::new(name, method, url).or_else(error)?;
            if op == O::HttpPost {
                req.body = Some(match arg(s, n, 1) {
                    Value::Str(t) => t.as_str().as_bytes().to_vec(),
                    v @ Value::List(_) => host::bytes_of(v, name).or_else(error)?,
                    other => {
                        return error(format!(
                            "type error: HTTP_POST needs a Str or a byte List body, got {}",
                            other.type_name()
                        ))
                    }
                });
            }
            let resp = http::send(&req, policy).or_else(error)?;
            http::body_of_success(&req, resp)
        }
        O::HttpRequest => match arg(s, n, 0) {
            Value::Object(o) => {
                let req = http::Request::from_object(o).or_else(error)?;
                let resp = http::send(&req, policy).or_else(error)?;
                http::response_value(&req, resp).or_else(error)
            }
            other => error(format!(
                "type error: HTTP_REQUEST needs an Object request ({{url, method, headers, body, timeout_ms, …}}), got {}",
                other.type_name()
            )),
        },
        _ => error(format!("{} is not a network operation", op.mnemonic())),
    };
    let v = result?;
    stack.truncate(stack.len() - n);
    stack.push(v);
    Ok(())
}

/// An OS error's reason as network messages give it: `connection
/// refused`, `connection reset by peer` (lower case, no error number).
pub(crate) fn net_reason(e: &std::io::Error) -> String {
    let r = crate::exec::os_reason(e);
    let mut c = r.chars();
    match c.next() {
        Some(first)
            if first.is_ascii_uppercase() && !c.next().is_some_and(|n| n.is_ascii_uppercase()) =>
        {
            first.to_ascii_lowercase().to_string() + &r[1..]
        }
        _ => r,
    }
}

fn no_console() -> String {
    "EXEC, READ_LINE, READ_CHAR and READ_INPUT need the VM's standard streams (a library test has none)"
        .to_string()
}

/// For tests: run `op` on `operands`; the result, or the error message
/// (checking the stack was left as it was on error).
#[cfg(test)]
pub(crate) fn run(op: Opcode, operands: Vec<Value>) -> Result<Value, String> {
    let mut stack = operands.clone();
    match call(op, &mut stack, &Caps::default()) {
        Ok(()) => {
            assert_eq!(stack.len(), 1, "{op:?} leaves one result");
            Ok(stack.pop().expect("one"))
        }
        Err(e) => {
            assert_eq!(stack.len(), operands.len(), "{op:?} restores the stack");
            for (a, b) in stack.iter().zip(&operands) {
                assert_eq!(
                    format!("{a:?}"),
                    format!("{b:?}"),
                    "{op:?} restores the operands"
                );
            }
            Err(e.message.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_library_op_has_a_function() {
        for info in OPS.iter().filter(|i| i.library) {
            assert!(
                info.pops >= 0 && (0..=1).contains(&info.pushes),
                "{}",
                info.mnemonic
            );
            // Nulls are the wrong type for every operation but
            // JSON_STRINGIFY (`null`): a type error, never "has no library
            // function", and the stack unchanged.
            let operands = vec![Value::Null; info.pops as usize];
            if info.opcode == Opcode::JsonStringify {
                assert_eq!(run(info.opcode, operands).unwrap().to_string(), "null");
                continue;
            }
            let e = run(info.opcode, operands).unwrap_err();
            assert!(!e.contains("no library function"), "{}: {e}", info.mnemonic);
            assert!(e.contains(info.mnemonic), "{}: {e}", info.mnemonic);
            // Too few operands: underflow.
            if info.pops > 0 {
                let e = run(info.opcode, vec![]).unwrap_err();
                assert_eq!(e, format!("stack underflow in {}", info.mnemonic));
            }
        }
    }

    #[test]
    fn other_ops_are_refused() {
        let mut s = vec![Value::Int(1)];
        assert!(call(Opcode::Print, &mut s, &Caps::default()).is_err());
        assert_eq!(s.len(), 1);
    }
}
