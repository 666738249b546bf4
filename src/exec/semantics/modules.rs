//! Modules (SPEC §3.9): IMPORT runs a module once, in a frame of its own,
//! and binds its exports ([`calls::bind_exports`]; the end of the module's
//! run is `calls`'s too); EXPORT records a value for the running module.

use super::{calls, vars};
use crate::bytecode::Instr;
use crate::exec::vm::ModuleState;
use crate::exec::{error, Addr, Context, Control, Dpc, FrameKind, Layout, OpResult, Vm};

#[inline]
pub(super) fn exec(
    ctx: &mut Context,
    layout: &Layout,
    vm: &Vm,
    instr: &Instr,
    at: u32,
    decoded_next: u32,
) -> OpResult<Control> {
    match instr {
        Instr::Import(imp) => import(ctx, layout, vm, imp.module, at, decoded_next),
        Instr::Export(v) => {
            let x = vars::load(ctx, v.slot, &v.name)?;
            // A name the running module does not export (an EXPORT in a
            // function of another module, run during this one) binds nothing.
            if let Some((m, values)) = ctx.exports.last_mut() {
                let module = &vm.program.modules[*m as usize];
                if let Some(&i) = module.export_index.get(&v.name) {
                    values[i as usize] = Some(x);
                }
            } else if vm.program.module_of.get(at as usize) == Some(&0) {
                // The main program's own EXPORT: for SPAWN by name.
                super::spawn::publish_main(vm, &v.name, x);
            }
            Ok(Control::Next)
        }
        other => unreachable!("{} is not a module instruction", other.opcode().mnemonic()),
    }
}

/// IMPORT: run the module once (in a frame of its own), then bind its
/// exports here.
fn import(
    ctx: &mut Context,
    layout: &Layout,
    vm: &Vm,
    m: u32,
    at: u32,
    next: u32,
) -> OpResult<Control> {
    let state = vm.modules.lock().unwrap_or_else(|e| e.into_inner())[m as usize].clone();
    match state {
        ModuleState::Done(exports) => {
            calls::bind_exports(ctx, vm, at, &exports);
            Ok(Control::Jump(Dpc(next)))
        }
        ModuleState::Running => error(format!(
            "module {} is still being loaded",
            vm.program.files[vm.program.modules[m as usize].file as usize].name
        )),
        ModuleState::NotRun => {
            let start = vm.program.modules[m as usize].start;
            let size = vm.program.layout_at(start).names.len() as u32;
            let slot_limit = vm.config.max_frame_slots;
            if ctx.frames.len() >= vm.config.max_call_depth || ctx.slots_exceeded(size, slot_limit)
            {
                return error("stack overflow");
            }
            vm.modules.lock().unwrap_or_else(|e| e.into_inner())[m as usize] = ModuleState::Running;
            let n = vm.program.modules[m as usize].exports.len();
            ctx.exports.push((m, vec![None; n]));
            ctx.push_frame(next, at, start, size, FrameKind::Module(m), slot_limit);
            Ok(Control::Jump(layout.dpc(Addr(start))))
        }
    }
}
