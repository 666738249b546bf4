//! SPAWN by name, on this node or another (issue 17, item 4;
//! docs/DISTRIBUTION.md, "Spawning on another node"): `SPAWN` and
//! `SPAWN_LINK` of `[node, module, function, args]`, Erlang's
//! `spawn(Node, Module, Function, Args)`.
//!
//! A function is named as Erlang names one: a module and a name that
//! module exports. Here a module is a file of the program (the main
//! program or a module it imports), named by its path without `.ttvm` or
//! by its file name alone; the name must be one the module `EXPORT`s, with
//! a Function or Closure value taking as many parameters as `args` has
//! elements. The same rule answers other nodes' requests ([`resolve`], the
//! node's spawner).
//!
//! On another node the SPAWN waits for the node's answer like a blocking
//! I/O operation: it runs again when the answer came, and pushes the new
//! PID (a `Pid` value) or raises the error. The operand stays on the
//! stack meanwhile.

use super::Proc;
use crate::bytecode::Program;
use crate::exec::vm::ModuleState;
use crate::exec::{error, Addr, Context, Control, Layout, OpResult, Vm};
use std::sync::Arc;
use ttvm_runtime::dist::spawn::SpawnResult;
use ttvm_runtime::dist::term::to_term;
use ttvm_runtime::node::SpawnRefused;
use ttvm_runtime::Value;

/// Whether the SPAWN operand `v` is the by-name form (a List).
pub(super) fn is_by_name(v: Option<&Value>) -> bool {
    matches!(v, Some(Value::List(_)))
}

/// SPAWN / SPAWN_LINK of `[node, module, function, args]` (on top of the
/// stack).
pub(super) fn by_name(
    ctx: &mut Context,
    layout: &Layout,
    vm: &Vm,
    proc: &mut Proc<'_>,
    link: bool,
    op: &str,
) -> OpResult<Control> {
    // The answer of another node, when this SPAWN waited for one.
    if let Some(done) = proc.node.take_io(proc.me) {
        let result: SpawnResult = match done.downcast::<SpawnResult>() {
            Ok(r) => *r,
            Err(_) => Err(format!("{op}: internal error: not a spawn's answer")),
        };
        let child = result.or_else(error)?;
        ctx.stack.pop();
        ctx.stack.push(child);
        return Ok(Control::Next);
    }
    let Some(Value::List(l)) = ctx.stack.last() else {
        return error(format!("stack underflow in {op}"));
    };
    let (node, module, function, args) = match &l[..] {
        [Value::Str(n), Value::Str(m), Value::Str(f), Value::List(a)] => (
            n.as_str().to_string(),
            m.as_str().to_string(),
            f.as_str().to_string(),
            a.to_vec(),
        ),
        _ => {
            return error(format!(
                "type error: {op} of a List needs [node, module, function, args] (three Strs and a List), got {}",
                ctx.stack.last().expect("checked")
            ))
        }
    };
    let what = format!("{module}:{function}/{}", args.len());
    for (part, name) in [("module", &module), ("function", &function)] {
        if name.is_empty() || name.chars().count() > 255 {
            return error(format!(
                "{op} on node {node}: the {part} name must be 1 to 255 characters (an Erlang atom), got {name:?}"
            ));
        }
    }
    let here = match proc.node.dist() {
        Some(d) => node == d.name(),
        None => node == super::dist::NO_NODE,
    };
    let me = proc.pid;
    if here {
        let state = resolve(vm, layout, &module, &function, args)
            .or_else(|r| error(format!("{op} of {what}: {}", r.message)))?;
        let child = proc.node.spawn(state, link.then_some(me)).or_else(error)?;
        ctx.stack.pop();
        ctx.stack.push(Value::Int(child));
        return Ok(Control::Next);
    }
    let Some(d) = proc.node.dist() else {
        return error(format!(
            "{op} of {what} on node {node}: this node is not distributed (start ttvm with --sname or --name to reach other nodes)"
        ));
    };
    ttvm_runtime::dist::split_name(&node)
        .or_else(|e| error(format!("{op} on node {node}: {e}")))?;
    let args = to_term(&Value::list(args), &**d)
        .or_else(|e| error(format!("{op} of {what} on node {node}: its arguments: {e}")))?;
    let d = d.clone();
    let r = proc.node.new_ref();
    let waiter = proc.node.start_wait(proc.me);
    d.spawn(me, &node, &module, &function, args, link, r, waiter);
    Ok(Control::Waiting)
}

/// The module `name` names: its index in `p.modules`.
fn find_module(p: &Program, name: &str) -> Result<usize, SpawnRefused> {
    let undef = |message: String| SpawnRefused {
        reason: "undef",
        message,
    };
    let mut found = Vec::new();
    for (i, m) in p.modules.iter().enumerate() {
        if i as u32 == p.builtin_module {
            continue;
        }
        let file = &p.files[m.file as usize].name;
        // A bundled module's file is `<std>/NAME.ttvm`: `std/NAME`.
        let path = match file.strip_prefix("<std>/") {
            Some(rest) => format!("std/{rest}"),
            None => file.clone(),
        };
        let path = path.strip_suffix(".ttvm").unwrap_or(&path);
        let base = path.rsplit(['/', '\\']).next().unwrap_or(path);
        if name == path || name == base {
            found.push((i, file));
        }
    }
    match &found[..] {
        [(i, _)] => Ok(*i),
        [] => Err(undef(format!(
            "no module `{name}` in this node's program (a module is the main program or one it imports, named by its path without .ttvm or by its file name)"
        ))),
        many => Err(undef(format!(
            "`{name}` names more than one module of this node's program ({}): name it by its path",
            many.iter()
                .map(|(_, f)| f.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// The process that runs `function` of `module` with `args`: the node's
/// spawner (for other nodes) and SPAWN by name on this node.
pub(crate) fn resolve(
    vm: &Vm,
    layout: &Layout,
    module: &str,
    function: &str,
    args: Vec<Value>,
) -> Result<Box<Context>, SpawnRefused> {
    let undef = |message: String| SpawnRefused {
        reason: "undef",
        message,
    };
    let p = &vm.program;
    let m = find_module(p, module)?;
    let Some(i) = p.modules[m]
        .exports
        .iter()
        .position(|a| a.as_str() == function)
    else {
        return Err(undef(format!(
            "module `{module}` does not EXPORT `{function}`"
        )));
    };
    let exports = match &vm.modules.lock().unwrap_or_else(|e| e.into_inner())[m] {
        ModuleState::Done(e) => e.clone(),
        ModuleState::Running if m != 0 => {
            return Err(undef(format!(
                "module `{module}` is still being loaded on this node"
            )))
        }
        _ => Arc::from(Vec::new()),
    };
    let value = exports.get(i).cloned().flatten().ok_or_else(|| {
        undef(if m == 0 {
            format!("the program `{module}` has not run its `EXPORT {function}` yet")
        } else {
            format!("module `{module}` has not run on this node yet: its exports exist once a process IMPORTs it")
        })
    })?;
    let (entry, params, closure) = match &value {
        Value::Function(f) => (f.entry, &f.param_slots, None),
        Value::Closure(c) => (c.proto.entry, &c.proto.param_slots, Some(c)),
        other => {
            return Err(undef(format!(
                "`{module}:{function}` is a{} {}, not a Function",
                if other.type_name().starts_with(['A', 'E', 'I', 'O']) {
                    "n"
                } else {
                    ""
                },
                other.type_name()
            )))
        }
    };
    if params.len() != args.len() {
        return Err(undef(format!(
            "`{module}:{function}` takes {} argument(s), not {}",
            params.len(),
            args.len()
        )));
    }
    let size = p.layout_at(entry).names.len() as u32;
    let mut new = Context::boxed(layout.dpc(Addr(entry)), Addr(entry), size);
    for (&slot, v) in params.iter().zip(args) {
        new.locals[slot as usize] = Some(v);
    }
    if let Some(c) = closure {
        crate::exec::bind_captures(&mut new.locals, c);
    }
    Ok(new)
}

/// EXPORT in the main program's top-level code (no module running in the
/// frame): the value is published at once, for SPAWN by name — the main
/// program runs as long as the node, so its exports cannot wait for its
/// end as an imported module's do.
pub(super) fn publish_main(vm: &Vm, name: &ttvm_runtime::Atom, value: Value) {
    let module = &vm.program.modules[0];
    let Some(&i) = module.export_index.get(name) else {
        return;
    };
    let mut modules = vm.modules.lock().unwrap_or_else(|e| e.into_inner());
    let mut values = match &modules[0] {
        ModuleState::Done(e) => e.to_vec(),
        _ => vec![None; module.exports.len()],
    };
    values[i as usize] = Some(value);
    modules[0] = ModuleState::Done(Arc::from(values));
}
