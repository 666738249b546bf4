//! Host I/O (SPEC §3.10): printing, stdin, files, environment, arguments,
//! clocks, SLEEP and EXIT; `--sandbox` turns file, environment and argument
//! access into `permission denied`.

use crate::bytecode::Instr;
use crate::exec::{error, os_reason, Context, Control, OpResult, Vm};
use ttvm_runtime::Value;

fn sandboxed(vm: &Vm) -> OpResult {
    if vm.config.sandbox {
        return error("permission denied");
    }
    Ok(())
}

fn path_of(v: &Value, op: &str) -> OpResult<String> {
    match v {
        Value::Str(s) => Ok(s.to_string()),
        other => error(format!(
            "type error: {op} needs a Str path, got {}",
            other.type_name()
        )),
    }
}

fn io_error<T>(op: &str, path: &str, e: std::io::Error) -> OpResult<T> {
    error(format!("{op} failed for `{path}`: {}", os_reason(&e)))
}

/// A timeout or SLEEP duration: an Int ≥ 0 in milliseconds.
pub(crate) fn timeout_ms(v: &Value) -> OpResult<u64> {
    match v {
        Value::Int(ms) if *ms >= 0 => Ok(*ms as u64),
        _ => error("invalid timeout"),
    }
}

pub(crate) fn exec(ctx: &mut Context, vm: &Vm, instr: &Instr) -> OpResult<Control> {
    let op = instr.opcode().mnemonic();
    match instr {
        Instr::Print(_) => {
            let v = ctx.pop(op)?;
            match &v {
                Value::Str(s) => vm.print_line(s),
                other => vm.print_line(&crate::exec::ops::text(other)?),
            }
        }
        Instr::PrintErr(_) => {
            let v = ctx.pop(op)?;
            let text = match &v {
                Value::Str(s) => s.as_str().to_string(),
                other => crate::exec::ops::text(other)?,
            };
            vm.eprint(&format!("{text}\n"));
        }
        Instr::ReadLine(_) => {
            let line = vm
                .read_line()
                .or_else(|e| error(format!("READ_LINE failed: {}", os_reason(&e))))?;
            ctx.stack.push(line.map_or(Value::Null, Value::str));
        }
        Instr::ReadFile(_) => {
            ctx.need(1, op)?;
            sandboxed(vm)?;
            let path = path_of(&ctx.pop(op)?, op)?;
            let text = std::fs::read_to_string(&path).or_else(|e| io_error(op, &path, e))?;
            ctx.stack.push(Value::str(text));
        }
        Instr::WriteFile(_) | Instr::AppendFile(_) => {
            ctx.need(2, op)?;
            sandboxed(vm)?;
            let path = path_of(&ctx.pop(op)?, op)?;
            let content = ctx.pop(op)?;
            let text = match &content {
                Value::Str(s) => s.to_string(),
                other => crate::exec::ops::text(other)?,
            };
            let result = if matches!(instr, Instr::WriteFile(_)) {
                std::fs::write(&path, text)
            } else {
                use std::io::Write;
                std::fs::OpenOptions::new()
                    .append(true)
                    .create(true)
                    .open(&path)
                    .and_then(|mut f| f.write_all(text.as_bytes()))
            };
            result.or_else(|e| io_error(op, &path, e))?;
        }
        Instr::FileExists(_) => {
            ctx.need(1, op)?;
            sandboxed(vm)?;
            let path = path_of(&ctx.pop(op)?, op)?;
            ctx.stack
                .push(Value::Bool(std::path::Path::new(&path).exists()));
        }
        Instr::DeleteFile(_) => {
            ctx.need(1, op)?;
            sandboxed(vm)?;
            let path = path_of(&ctx.pop(op)?, op)?;
            std::fs::remove_file(&path).or_else(|e| io_error(op, &path, e))?;
        }
        Instr::GetEnv(_) => {
            ctx.need(1, op)?;
            sandboxed(vm)?;
            let name = path_of(&ctx.pop(op)?, op)?;
            let v = if name.is_empty() || name.contains(['=', '\0']) {
                Value::Null
            } else {
                std::env::var(&name).map_or(Value::Null, Value::str)
            };
            ctx.stack.push(v);
        }
        Instr::GetArgs(_) => {
            sandboxed(vm)?;
            let args = vm
                .config
                .args
                .iter()
                .map(|a| Value::str(a.as_str()))
                .collect();
            ctx.stack.push(Value::list(args));
        }
        Instr::GetTime(_) => {
            let secs = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64);
            ctx.stack.push(Value::Int(secs));
        }
        Instr::NowMs(_) => {
            ctx.stack
                .push(Value::Int(vm.started.elapsed().as_millis() as i64));
        }
        Instr::Exit(_) => {
            let v = ctx.pop(op)?;
            return match v {
                Value::Int(n) if (0..=255).contains(&n) => Ok(Control::Exit(n as i32)),
                _ => error("invalid exit code"),
            };
        }
        other => unreachable!("{} is not a host instruction", other.opcode().mnemonic()),
    }
    Ok(Control::Next)
}

/// DUMP_SCOPE: the current frame's variables, to stderr.
pub(crate) fn dump_scope(ctx: &Context, vm: &Vm, at: u32) {
    let f = ctx.frame();
    let layout = vm.program.layout_at(f.entry);
    let mut out = format!(
        "scope of {} at {}:\n",
        if f.kind == crate::exec::FrameKind::Root {
            "<top level>".to_string()
        } else {
            vm.program.function_name(f.entry)
        },
        vm.program.location(at)
    );
    let mut any = false;
    for (slot, name) in layout.names.iter().enumerate() {
        if let Some(Some(v)) = ctx.locals.get(f.base as usize + slot) {
            out.push_str(&format!("  {name} = {v}\n"));
            any = true;
        }
    }
    if !any {
        out.push_str("  (no variables)\n");
    }
    vm.eprint(&out);
}
