//! The engine's side of resuming a direct frame in direct code
//! (docs/JIT.md, "Resuming"; `jit::resume` decides where and when): the
//! innermost frame is taken out of the process into a record, the
//! function's direct entry goes on from it at the loop header, and what
//! comes back is put where the interpreter would have it: the result on
//! the caller's operand stack with the process at the return address, or,
//! when the frame left compiled code again (preempted, a guard, a call
//! it cannot make), the frames the direct-leave chain wrote, with the
//! resumed frame's own return address and call site put back.

use super::helpers::{sync_in, Host, ENV};
use crate::exec::native::{status, JitEnv};
use crate::exec::semantics::Proc;
use crate::exec::{Context, Control, Dpc, Layout, Vm};
use crate::jit::{Jit, Record, Resume, RESUME_MARK};
use std::mem::MaybeUninit;
use ttvm_runtime::Value;

/// Run the innermost frame of `ctx`, which `r` says can resume at
/// `ctx.pc` (`Jit::resumable`), in its direct entry; the state is in
/// `ctx` when it returns: `Continue` (at the caller's return address, or
/// where the frame left compiled code) or `Preempted`; and whether it
/// left compiled code other than preempted (a *miss*: the engine then
/// does not resume in direct code again in this slice, and the frame
/// goes on in ordinary code as it did before resume entries — so a
/// callee that direct code cannot call yet gets called, counted and
/// compiled from ordinary code).
pub(super) fn run_resumed(
    r: Resume,
    ctx: &mut Context,
    layout: &Layout,
    vm: &Vm,
    proc: &mut Proc<'_>,
    jit: &Jit,
) -> (Control, bool) {
    let budget0 = ctx.budget;
    // `Jit::resumable` checked: a call frame whose slots are the last of
    // the slot vector, with at least `items` operands.
    let Some(frame) = ctx.frames.pop() else {
        unreachable!("a resumable frame")
    };
    let f = ctx.frames.len();
    let lb = frame.base as usize;
    let size = frame.size as usize;
    debug_assert!(ctx.locals.len() == lb + size && ctx.stack.len() == r.sb + r.items);
    // The record: header, then the slots and operands, moved (the record
    // owns their references until the direct entry takes them).
    let words = Record::HEADER / 16 + size + r.items;
    let mut rec: Vec<MaybeUninit<[u64; 2]>> = Vec::with_capacity(words);
    rec.push(MaybeUninit::new([r.place, r.index as u64]));
    // SAFETY: `Option<Value>` and `Value` are 16 bytes (tag byte first,
    // as compiled code reads them); the slots `lb..lb + size` and the
    // operands `sb..` are initialised and the last of their vectors, and
    // their lengths are cut to exclude them before anything else runs, so
    // each value is owned by the record alone (copying a `None`'s
    // uninitialised padding as `MaybeUninit` is fine).
    unsafe {
        let dst = rec.as_mut_ptr().add(1) as *mut u8;
        std::ptr::copy_nonoverlapping(ctx.locals.as_ptr().add(lb) as *const u8, dst, 16 * size);
        std::ptr::copy_nonoverlapping(
            ctx.stack.as_ptr().add(r.sb) as *const u8,
            dst.add(16 * size),
            16 * r.items,
        );
        ctx.locals.set_len(lb);
        ctx.stack.set_len(r.sb);
        rec.set_len(words);
    }
    let pid = proc.pid;
    let mut host = Host::new(ctx, layout, vm, proc, jit);
    let mut env = host.published_env(pid);
    env.dlimit = r.dlimit;
    let envp: *mut JitEnv = &mut env;
    let prev = ENV.with(|e| e.replace(envp));
    let mark = (rec.as_ptr() as u64) << Record::ADDR_SHIFT | RESUME_MARK;
    debug_assert!((mark >> Record::ADDR_SHIFT) as usize == rec.as_ptr() as usize);
    let out = crate::jit::enter_resumed(r.tramp, r.code, mark, budget0);
    let [tag, pay, budget] = [out[0], out[1], out[2]];
    ENV.with(|e| e.set(prev));
    drop(rec);
    // SAFETY: as above; compiled code has returned.
    let ctx = unsafe { &mut *host.ctx };
    sync_in(&env, ctx);
    let (out, missed) = if tag as u8 == jit.none_tag() {
        // It left: the chain wrote its frames (D2, D3) with this one's
        // return address and call site blank (its caller, D4, is here).
        ctx.pc = env.pc;
        if let Some(fr) = ctx.frames.get_mut(f) {
            fr.ret = frame.ret;
            fr.call_site = frame.call_site;
        }
        let st = pay as u32;

        let missed = st != status::PREEMPT;
        jit.resumed(r.unit, missed);
        if missed {
            (Control::Continue, true)
        } else {
            (Control::Preempted, false)
        }
    } else {
        // It returned: RET, as the interpreter does it (the frame is gone
        // already, its slots dropped by the direct code).
        jit.resumed(r.unit, false);
        // Its values, the first one's where the trampoline put it (a
        // function returning none returned a Null that is not pushed).
        for k in 0..r.rets {
            let (tag, pay) = match k {
                0 => (tag, pay),
                k => (out[1 + 2 * k], out[2 + 2 * k]),
            };
            let raw = [u64::from_le_bytes([tag as u8, 0, 0, 0, 0, 0, 0, 0]), pay];
            // SAFETY: the direct entry returned values it owns (tag and
            // payload of a live `Value`, 16 bytes with the tag byte first).
            let v: Value = unsafe { std::ptr::read(raw.as_ptr() as *const Value) };
            ctx.stack.push(v);
        }
        ctx.budget = budget as i64;
        ctx.pc = Dpc(frame.ret);
        (Control::Continue, false)
    };
    ctx.reductions += (budget0 - ctx.budget).max(0) as u64;
    (out, missed)
}
