//! Library operations (issue 14). Part B: JSON, CSV, HASH and TinyTotVM's
//! host operations, each a function of its operands.
//!
//! [`call_b`] runs one of them on the operand stack: it pops exactly the
//! table's `pops` operands and pushes its `pushes` results, and on error
//! leaves the stack as it was.

pub mod csv;
pub mod hash;
pub mod host;
pub mod json;
pub mod values;

use crate::bytecode::Opcode;
use crate::exec::{error, OpResult};
use ttvm_runtime::Value;

/// What a library operation may use besides its operands.
#[derive(Clone, Copy)]
pub struct Caps<'a> {
    /// `--sandbox`: host operations raise `permission denied`.
    pub sandbox: bool,
    /// The VM's standard streams, for EXEC, READ_CHAR and READ_INPUT.
    pub console: &'a dyn host::Console,
}

/// Whether `op` is one of part B's library operations.
pub fn is_part_b(op: Opcode) -> bool {
    use Opcode as O;
    matches!(
        op,
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
    )
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

/// Run part B library operation `op` on the operand stack.
pub fn call_b(op: Opcode, stack: &mut Vec<Value>, caps: &Caps<'_>) -> OpResult {
    use Opcode as O;
    let info = op.info();
    let n = info.pops as usize;
    if stack.len() < n {
        return error(format!("stack underflow in {}", info.mnemonic));
    }
    let host = !matches!(
        op,
        O::JsonParse | O::JsonStringify | O::CsvParse | O::CsvWrite | O::Hash
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
                    host::exec(caps.console, prog, &args).map(|c| Some(Value::Int(c)))
                } else {
                    host::exec_capture(prog, &args).map(Some)
                }
            })
        }
        O::ReadChar | O::ReadInput => {
            let mut r = Err(String::new());
            caps.console.with_stdin(&mut |stdin| {
                r = if op == O::ReadChar {
                    host::read_char(stdin).map(Some)
                } else {
                    host::read_input(stdin).map(|t| Some(values::text_value(t)))
                };
            });
            r
        }
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
