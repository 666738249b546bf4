//! Host I/O (SPEC §3.10) that does not block: printing, environment,
//! arguments, clocks and EXIT; `--sandbox` turns environment and argument
//! access into `permission denied`. Stdin and files block: they run on the
//! I/O threads (`io.rs`, semantics in `library/host.rs`).

use crate::bytecode::Instr;
use crate::exec::{error, Context, Control, OpResult, Vm};
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
