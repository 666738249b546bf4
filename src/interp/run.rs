//! The dispatch loop (`run`): the common ops inline, the rest through
//! `exec::semantics`; its register macros are in `registers.rs`.

use super::decode::{Op, Src};
use super::moves::{
    bind, bind_exact, check_counts, copy, copy_to, drop_at, drop_old, move_to, number,
    owns_nothing, put, put_float, put_int, put_none, put_null, take_old, VALUE_BYTES,
};
use super::{decode, keyed, slow, trace, Code, Proc, Tier, TierUp};
use crate::bytecode::{Arith, Cmp};
use crate::exec::ops;
use crate::exec::semantics::update_in_place;
use crate::exec::{Addr, Context, Control, Dpc, Frame, FrameKind, Vm};
use std::sync::atomic::Ordering;
use ttvm_runtime::value::Object;
use ttvm_runtime::Value;

/// `TRACE`: `--debug`/`--trace` lines before each instruction; `PROFILE`:
/// `--profile`'s hook before each op (`crate::profile::step`); `KINDS`:
/// field reads record the kinds of the values they give, for the JIT's
/// guarded loads (`FieldSite::read`; only when a JIT runs, chosen once
/// per slice by `run_slice`).
///
/// The loop keeps the hot state in locals the compiler can hold in
/// registers (docs/PERFORMANCE.md, "The interpreter's registers"): the
/// operand stack as raw pointers (`st` its start, `sp` one past its top,
/// `end` the end of its capacity), the current frame's variable slots
/// (`lp`, `nl` of them), and the budget. `ctx.stack`'s length is written
/// back (`sync!`) before anything out of line looks at the context, and
/// the pointers are read again (`regs!`) after anything that may have
/// changed it; the budget and the reductions are written back when the
/// slice ends (`leave!`; `end!` when an out-of-line call has just left
/// the stack in the context). No inline path can panic between the two, so a
/// value moved off the stack is never dropped twice.
/// The loop's state that a memory operand serves as well as a register
/// (compared against, seldom written): kept in memory by construction.
struct Cold {
    /// The operand stack's start.
    st: *mut Value,
    /// The address up to which the stack has room (`regs!`, `charge!`).
    end: usize,
    /// The current frame's slot count.
    nl: usize,
    /// The reductions left in the slice.
    budget: i64,
}

#[inline(always)]
pub(super) fn run<const TRACE: bool, const PROFILE: bool, const KINDS: bool>(
    ctx: &mut Context,
    code: &Code,
    vm: &Vm,
    proc: &mut Proc<'_>,
    tier: Option<&Tier<'_, dyn TierUp + '_>>,
) -> Control {
    let ops = code.ops.as_ptr();
    // The next op, as a pointer (`pc!()` is its decoded address).
    let mut ip: *const Op = ops.wrapping_add(ctx.pc.ix());
    // (The limits are read from `vm.config` where used, and the slice's
    // starting budget from `ctx.budget` at its end: fewer values live
    // across the loop, so the hot ones keep their registers.)
    let mut sp: *mut Value;
    let mut lp: *mut Option<Value>;
    // The stack's start, its room, the frame's slot count and the budget
    // stay in memory (`Cold`): the register allocator places only `ip`,
    // `sp` and `lp` (and what an arm computes).
    let mut cold = Cold {
        st: std::ptr::null_mut(),
        end: 0,
        nl: 0,
        budget: ctx.budget,
    };
    // (Its address escapes here, so LLVM cannot make its fields values
    // of their own: each use is a memory operand, as a spilled value's.)
    std::hint::black_box(&mut cold);
    registers!(
        $, ctx, code, vm, proc, tier, ops, ip, cold.budget, cold.st, sp, cold.end, lp, cold.nl
    );
    updates!($, code, ip, sp, lp, cold.nl);
    check_counts();
    regs!();
    // Started inside a block (a process resumed in a RECEIVE, compiled
    // code's side exit): room for the rest of the block, as its `Charge`
    // would have made (pushes do not test, `room!`).
    if let Some(rest) = code.ops.get(pc!()..) {
        let is_charge = |o: &Op| matches!(o, Op::Charge(_) | Op::ChargeJit(_));
        if !rest.first().is_some_and(is_charge) {
            let n = rest.iter().take_while(|o| !is_charge(o)).count();
            ctx.stack.reserve(2 * n);
            regs!();
        }
    }
    loop {
        debug_assert!(pc!() < code.ops.len());
        // SAFETY: every decoded target, return address and fall-through is
        // an op of `code` (each module ends with a HALT; fused ops skip
        // only ops of their own block).
        // (A reference: the match copies only the fields an arm uses.)
        let op = unsafe { &*ip };
        if TRACE && !matches!(op, Op::Charge(_) | Op::ChargeJit(_)) {
            sync!();
            trace::step(ctx, code, vm, proc, pc!());
        }
        if PROFILE {
            let charge = matches!(op, Op::Charge(_) | Op::ChargeJit(_));
            sync!();
            crate::profile::step(ctx, code, vm, pc!(), charge);
        }
        match *op {
            Op::Charge(cost) => charge!(cost),
            Op::ChargeJit(cost) => {
                // A header block of code decoded for a JIT first asks
                // whether compiled code takes over here (before charging:
                // compiled code charges). T1, X3 (src/jit/README.md).
                if let Some(t) = tier {
                    let watched = t
                        .watch
                        .get(pc!())
                        .is_some_and(|w| w.load(Ordering::Relaxed));
                    if watched && t.hook.tier_up(Dpc(pc!() as u32)) {
                        ctx.pc = Dpc(pc!() as u32);
                        leave!(Control::Continue);
                    }
                }
                charge!(cost)
            }
            Op::PushInt(n) => {
                push_int!(n);
                ip = ip.wrapping_add(1);
            }
            Op::PushConst(k) => {
                push_copy!(&code.consts[k as usize]);
                ip = ip.wrapping_add(1);
            }
            Op::Dup => {
                if sp == cold.st {
                    generic!()
                }
                // (One operand below `sp`.)
                push_copy!(sp.wrapping_sub(1));
                ip = ip.wrapping_add(1);
            }
            Op::Pop => {
                if sp == cold.st {
                    generic!()
                }
                // SAFETY: one operand below `sp`, moved out once.
                unsafe {
                    sp = sp.sub(1);
                    drop_at(sp);
                }
                ip = ip.wrapping_add(1);
            }
            Op::Swap => {
                if below!(2) {
                    generic!()
                }
                // SAFETY: two operands below `sp`.
                unsafe { std::ptr::swap(sp.sub(1), sp.sub(2)) };
                ip = ip.wrapping_add(1);
            }
            Op::Over => {
                if below!(2) {
                    generic!()
                }
                // (Two operands below `sp`.)
                push_copy!(sp.wrapping_sub(2));
                ip = ip.wrapping_add(1);
            }
            Op::Load(s) => load!(s),
            // A last use: a number is copied as by LOAD, a heap value
            // leaves the variable (`vars::take_heap`), both as one 16-byte
            // move; the emptied slot is written whole.
            Op::Move(s) => {
                let cell: *mut Option<Value> = match slot!(s) {
                    None => generic!(),
                    cell => cell,
                };
                room!();
                // SAFETY: `cell` holds a value (checked; the stack's growth
                // does not move the slots); `sp < end`. A heap value is
                // owned by the stack afterwards, the slot emptied.
                unsafe {
                    let v = cell.cast::<Value>();
                    let heap = !owns_nothing(&*v);
                    move_to(sp, v);
                    if heap {
                        put_none(cell);
                    }
                    sp = sp.add(1);
                }
                ip = ip.wrapping_add(1);
            }
            Op::Store(s) => {
                if sp == cold.st {
                    generic!()
                }
                let cell: *mut Option<Value> = slot!(s);
                // SAFETY: one operand below `sp`, moved into the slot once
                // (one 16-byte move) after its old contents are read out.
                unsafe {
                    sp = sp.sub(1);
                    let old = take_old(cell.cast());
                    move_to(cell.cast(), sp);
                    drop_old(old);
                }
                ip = ip.wrapping_add(1);
            }
            Op::Add => arith!(Arith::Add),
            Op::Sub => arith!(Arith::Sub),
            Op::Mul => arith!(Arith::Mul),
            Op::Div => arith!(Arith::Div),
            Op::Mod => arith!(Arith::Mod),
            Op::ArithF(op) => {
                if below!(2) {
                    generic!()
                }
                // SAFETY: as for `Arith`.
                unsafe {
                    if let (Some(a), Some(b)) = (number(&*sp.sub(2)), number(&*sp.sub(1))) {
                        if let Some(r) = op.floats(a, b) {
                            sp = sp.sub(1);
                            put_float(sp.sub(1), r);
                            ip = ip.wrapping_add(1);
                            continue;
                        }
                    }
                }
                generic!()
            }
            Op::Eq => compare!(Cmp::Eq),
            Op::Ne => compare!(Cmp::Ne),
            Op::Lt => compare!(Cmp::Lt),
            Op::Le => compare!(Cmp::Le),
            Op::Gt => compare!(Cmp::Gt),
            Op::Ge => compare!(Cmp::Ge),
            Op::CmpF(cmp) => {
                if below!(2) {
                    generic!()
                }
                // SAFETY: two operands below `sp`.
                let (a, b) = unsafe { (&*sp.sub(2), &*sp.sub(1)) };
                if let (Some(_), Some(_)) = (number(a), number(b)) {
                    if let Ok(r) = ops::compare_f(cmp, a, b) {
                        // SAFETY: as above: two numbers (nothing to drop).
                        unsafe {
                            sp = sp.sub(1);
                            put_int(sp.sub(1), r as i64);
                        }
                        ip = ip.wrapping_add(1);
                        continue;
                    }
                }
                generic!()
            }
            Op::Neg => unary!(ops::neg),
            Op::Not => unary!(|a: &Value| Ok::<_, ()>(Value::Bool(!a.is_truthy()))),
            Op::Len => unary!(ops::len),
            Op::ToFloat => unary!(ops::to_float),
            Op::Index => {
                // A List and an Int in range: the element, inline.
                if !below!(2) {
                    // SAFETY: two operands below `sp`.
                    if let (Value::List(l), Value::Int(k)) = unsafe { (&*sp.sub(2), &*sp.sub(1)) } {
                        if let Some(v) = l.get(*k as usize).filter(|_| *k >= 0) {
                            let v: *const Value = v;
                            // SAFETY: the Int needs no drop; the list is
                            // read out, then replaced by the element (its
                            // reference counted first) and dropped once.
                            unsafe {
                                sp = sp.sub(1);
                                let l = take_old(sp.sub(1));
                                copy_to(sp.sub(1), v);
                                drop_old(l);
                            }
                            ip = ip.wrapping_add(1);
                            continue;
                        }
                    }
                }
                binary!(ops::index)
            }
            Op::Append(x) => {
                // A List under the length limit: pushed to, in place when
                // unshared (after `release!`).
                if below!(2) {
                    generic!()
                }
                // SAFETY: two operands below `sp`.
                match unsafe { &mut *sp.sub(2) } {
                    Value::List(l) if l.len() < ops::MAX_LIST_LEN => {
                        release!(x, l);
                        // SAFETY: the value moves into the list, once.
                        let v = unsafe {
                            sp = sp.sub(1);
                            sp.read()
                        };
                        l.push(v);
                        ip = ip.wrapping_add(1);
                    }
                    _ => generic!(),
                }
            }
            Op::SetIndex(x) => set_index!(x),
            Op::GetField(k) => {
                let (name, site) = (&code.atoms[k as usize], &code.sites[k as usize]);
                // An Object: the field (Null when missing) inline.
                if sp != cold.st {
                    // SAFETY: one operand below `sp`.
                    let top = unsafe { &mut *sp.sub(1) };
                    if let Value::Object(o) = top {
                        let f: Option<*const Value> =
                            site.read::<KINDS>(o, name).map(|f| f as *const Value);
                        let top: *mut Value = top;
                        // SAFETY: the object is read out, then replaced by
                        // the field (its reference counted first) and
                        // dropped once.
                        unsafe {
                            let o = take_old(top);
                            match f {
                                Some(f) => copy_to(top, f),
                                None => top.write(Value::Null),
                            }
                            drop_old(o);
                        }
                        ip = ip.wrapping_add(1);
                        continue;
                    }
                }
                unary!(|obj: &Value| ops::get_field_at(obj, name, site))
            }
            // `obj v -- obj'` on an object with room; anything else (and
            // every error) through the generic path.
            Op::SetField { k, store } => set_field!(k, store),
            Op::Jmp { to, cost } => goto!(to, cost),
            Op::ReadFieldRun(has) => {
                // SAFETY: two operands below `sp` (checked); on success the
                // key is dropped and the object replaced by the result.
                if below!(2) || !unsafe { keyed::read(has, sp) } {
                    generic!()
                }
                sp = sp.wrapping_sub(1);
                ip = ip.wrapping_add(1);
            }
            Op::SetFieldRun(store) => {
                let cell: *mut Option<Value> = if (store as usize) < cold.nl {
                    lp.wrapping_add(store as usize)
                } else {
                    std::ptr::null_mut()
                };
                // SAFETY: three operands below `sp` (checked); `cell` is
                // the STORE's slot in the current frame; on success the
                // value and the key are moved out or dropped.
                if below!(3) || !unsafe { keyed::set(sp, cell) } {
                    generic!()
                }
                sp = sp.wrapping_sub(2);
                ip = ip.wrapping_add(1);
            }
            Op::Jz(t) => {
                if sp == cold.st {
                    generic!()
                }
                // SAFETY: one operand below `sp`, dropped in place once.
                let truthy = unsafe {
                    sp = sp.sub(1);
                    let truthy = (*sp).is_truthy();
                    drop_at(sp);
                    truthy
                };
                ip = if truthy {
                    ip.wrapping_add(1)
                } else {
                    ops.wrapping_add(t as usize)
                };
            }
            Op::Jnz(t) => {
                if sp == cold.st {
                    generic!()
                }
                // SAFETY: one operand below `sp`, dropped in place once.
                let truthy = unsafe {
                    sp = sp.sub(1);
                    let truthy = (*sp).is_truthy();
                    drop_at(sp);
                    truthy
                };
                ip = if truthy {
                    ops.wrapping_add(t as usize)
                } else {
                    ip.wrapping_add(1)
                };
            }
            Op::Call(site) => {
                debug_assert!((site as usize) < code.calls.len());
                // SAFETY: the decoder made `site` an index of `code.calls`.
                let site = unsafe { code.calls.get_unchecked(site as usize) };
                if enter!(
                    &site.param_slots,
                    site.frame_size,
                    site.tail,
                    site.at,
                    site.target,
                    site.ret,
                    site.exact
                ) {
                    goto!(site.body, site.cost);
                    continue;
                }
                sync!();
                let pc = pc!();
                resume!(slow::call(ctx, vm, site, pc))
            }
            Op::CallFunction { tail, at, ret } => {
                // A Function or a Closure on top: entered inline when
                // `enter!` can (a closure's captures bound after).
                if sp != cold.st {
                    // SAFETY: one operand below `sp`.
                    let f = unsafe { &*sp.sub(1) };
                    let callee = match f {
                        Value::Function(p) => Some((&**p, None)),
                        Value::Closure(c) => Some((&*c.proto, Some(&**c))),
                        _ => None,
                    };
                    if let Some((p, closure)) = callee {
                        if KINDS {
                            code.callees.note(at, p as *const _ as usize);
                        }
                        let entry = code.layout.dpc(Addr(p.entry));
                        // SAFETY: the function value moves off the stack
                        // (owned once); `enter!` sees only the arguments.
                        let f = unsafe {
                            sp = sp.sub(1);
                            sp.read()
                        };
                        if enter!(&p.param_slots, p.frame_size, tail, at, p.entry, ret, false) {
                            if let Some(c) = closure {
                                bind_captures!(c, p);
                            }
                            drop(f);
                            goto_block!(entry.ix());
                            continue;
                        }
                        // SAFETY: the slot it came from (nothing else
                        // moved the stack).
                        unsafe {
                            sp.write(f);
                            sp = sp.add(1);
                        }
                    }
                }
                sync!();
                let pc = pc!();
                resume!(slow::call_function(ctx, code, vm, (tail, at, ret), pc))
            }
            Op::Ret => {
                // Out of a CALL frame without handlers or captures of its
                // own: inline (`Context::pop_frame`'s common case).
                let depth = ctx.frames.len();
                // SAFETY: a process always has a frame.
                let f = unsafe { ctx.frames.last().unwrap_unchecked() };
                if f.kind == FrameKind::Call
                    && ctx
                        .handlers
                        .last()
                        .is_none_or(|h| (h.depth as usize) < depth)
                    && ctx.captures.last().is_none_or(|c| (c.0 as usize) < depth)
                {
                    let (ret, base) = (f.ret, f.base as usize);
                    // SAFETY: the frame's `nl` slots are the vector's
                    // last; the length is cut first, so each is dropped
                    // once. A CALL frame is never the bottom one.
                    unsafe {
                        ctx.locals.set_len(base);
                        for j in 0..cold.nl {
                            drop_at(lp.add(j).cast());
                        }
                        ctx.frames.set_len(depth - 1);
                        let nb = ctx.frames.last().unwrap_unchecked().base as usize;
                        cold.nl = base - nb;
                        lp = lp.sub(cold.nl);
                    }
                    goto_block!(ret);
                    continue;
                }
                sync!();
                let pc = pc!();
                resume!(slow::ret(ctx, code, vm, proc, pc))
            }
            Op::Generic => generic!(),
            Op::FloatFn(f) => {
                if sp != cold.st {
                    // SAFETY: one operand below `sp`; a number (nothing
                    // to drop) is replaced by the result.
                    unsafe {
                        if let Some(x) = number(&*sp.sub(1)) {
                            put_float(sp.sub(1), f(x));
                            ip = ip.wrapping_add(1);
                            continue;
                        }
                    }
                }
                generic!()
            }
            Op::Library(op) => {
                sync!();
                let pc = pc!();
                resume!(slow::library(ctx, code, vm, op, pc))
            }
            Op::Send(lit) => {
                // The message and (unless given) an Int PID: else the
                // generic path raises the error.
                let to = match lit {
                    Some(to) if sp != cold.st => to,
                    // SAFETY: two operands below `sp`; an Int PID has
                    // nothing to drop.
                    None if !below!(2) => match unsafe { &*sp.sub(1) } {
                        Value::Int(to) => {
                            let to = *to;
                            sp = sp.wrapping_sub(1);
                            to
                        }
                        _ => generic!(),
                    },
                    _ => generic!(),
                };
                // SAFETY: one operand below `sp`, moved out once.
                let msg = unsafe {
                    sp = sp.sub(1);
                    sp.read()
                };
                sync!();
                let pc = pc!();
                proc.node.send(proc.pid, to, msg);
                // (From the context: no register live across the send.)
                ip = ops.wrapping_add(pc + 1);
                regs!();
            }
            Op::Receive => {
                sync!();
                let pc = pc!();
                if !proc.node.receive_any(proc.me, &mut ctx.stack) {
                    // Resumes at this RECEIVE when woken.
                    ctx.pc = Dpc(pc as u32);
                    end!(Control::Waiting);
                }
                ip = ops.wrapping_add(pc + 1);
                regs!();
            }
            // ADD or MUL (the decoder made SUB an ADD).
            Op::UpdateLocalInt { slot, k, op } => match slot!(slot) {
                Some(Value::Int(a)) => {
                    *a = if op == Arith::Add {
                        a.wrapping_add(k)
                    } else {
                        a.wrapping_mul(k)
                    };
                    ip = ip.wrapping_add(4);
                }
                _ => generic!(),
            },
            Op::LoadArithInt { slot, k, op } => match slot!(slot) {
                Some(Value::Int(a)) => {
                    let r = if op == Arith::Add {
                        a.wrapping_add(k)
                    } else {
                        a.wrapping_mul(k)
                    };
                    push_int!(r);
                    ip = ip.wrapping_add(3);
                }
                _ => generic!(),
            },
            Op::LoadCmpIntJump {
                slot,
                k,
                when,
                target,
                cost,
            } => match slot!(slot) {
                Some(Value::Int(a)) => {
                    if decode::jumps(when, *a, k) {
                        goto!(target, cost)
                    } else {
                        ip = ip.wrapping_add(4)
                    }
                }
                _ => generic!(),
            },
            Op::CmpJump {
                cmp,
                jump_if,
                when,
                target,
            } => {
                if below!(2) {
                    generic!()
                }
                // SAFETY: two operands below `sp`.
                let jump = match unsafe { (&*sp.sub(2), &*sp.sub(1)) } {
                    (Value::Int(a), Value::Int(b)) => Some(decode::jumps(when, *a, *b)),
                    (a, b) => ops::compare(cmp, a, b).ok().map(|r| r == jump_if),
                };
                let Some(jump) = jump else { generic!() };
                // SAFETY: as above; both operands are moved out once.
                unsafe {
                    sp = sp.sub(2);
                    drop_at(sp);
                    drop_at(sp.add(1));
                }
                ip = if jump {
                    ops.wrapping_add(target as usize)
                } else {
                    ip.wrapping_add(2)
                };
            }
            Op::ArithLocal { op, slot } => {
                // Two Ints or two Floats (the right one in the variable)
                // with a result: inline; anything else runs the LOAD and
                // then the operator unfused.
                if sp != cold.st {
                    // SAFETY: one operand below `sp`.
                    let a = unsafe { &*sp.sub(1) };
                    // (The result written whole: the next op reads it
                    // in one piece.)
                    match (a, slot!(slot)) {
                        (Value::Int(x), Some(Value::Int(b))) => {
                            if let Some(r) = op.ints(*x, *b) {
                                // SAFETY: the operand is a number.
                                unsafe { put_int(sp.sub(1), r) };
                                ip = ip.wrapping_add(2);
                                continue;
                            }
                        }
                        (Value::Float(x), Some(Value::Float(b))) => {
                            if let Some(r) = op.floats(*x, *b) {
                                // SAFETY: the operand is a number.
                                unsafe { put_float(sp.sub(1), r) };
                                ip = ip.wrapping_add(2);
                                continue;
                            }
                        }
                        _ => {}
                    }
                }
                load!(slot)
            }
            Op::CmpLocalJump {
                slot,
                cmp,
                jump_if,
                when,
                target,
                cost,
            } => {
                if sp == cold.st {
                    load!(slot)
                }
                // SAFETY: one operand below `sp`.
                let a = unsafe { &*sp.sub(1) };
                let jump = match (a, slot!(slot)) {
                    (Value::Int(a), Some(Value::Int(b))) => Some(decode::jumps(when, *a, *b)),
                    (a, Some(b)) => ops::compare(cmp, a, b).ok().map(|r| r == jump_if),
                    (_, None) => None,
                };
                let Some(jump) = jump else { load!(slot) };
                // SAFETY: as above; the operand is moved out once.
                unsafe {
                    sp = sp.sub(1);
                    drop_at(sp);
                }
                if jump {
                    goto!(target, cost)
                } else {
                    ip = ip.wrapping_add(3)
                }
            }
            // Operands read in place from a variable (decode.rs): on any
            // other case the LOAD runs and the ops behind it unfused.
            Op::GetFieldLocal { slot, k } => {
                let (name, site) = (&code.atoms[k as usize], &code.sites[k as usize]);
                let f: Option<*const Value> = match slot!(slot) {
                    Some(Value::Object(o)) => {
                        site.read::<KINDS>(o, name).map(|f| f as *const Value)
                    }
                    _ => load!(slot),
                };
                match f {
                    Some(f) => push_copy!(f),
                    None => push!(Value::Null),
                }
                ip = ip.wrapping_add(2);
            }
            Op::LenLocal(slot) => {
                let n = match slot!(slot) {
                    Some(Value::List(l)) => l.len() as i64,
                    _ => load!(slot),
                };
                push_int!(n);
                ip = ip.wrapping_add(2);
            }
            Op::IndexLocal { slot, index, take } => index_local!(slot, index, take),
            Op::IndexLocalInt { slot, k } => {
                let v: *const Value = match slot!(slot) {
                    Some(Value::List(l)) if (k as usize) < l.len() => &l[k as usize],
                    _ => load!(slot),
                };
                push_copy!(v);
                ip = ip.wrapping_add(3);
            }
            Op::CallLocal { slot, at, ret } => {
                // As `CallFunction` (not a tail call: the caller's frame,
                // and with it the variable, stays while the callee's
                // slots are bound).
                let callee: *const Value = match slot!(slot) {
                    Some(v @ (Value::Function(_) | Value::Closure(_))) => v,
                    _ => load!(slot),
                };
                // SAFETY: the caller's slot; `enter!` neither drops nor
                // moves the caller's slots (it writes the new frame's,
                // within the vector's capacity).
                let (p, closure) = match unsafe { &*callee } {
                    Value::Function(p) => (&**p, None),
                    Value::Closure(c) => (&*c.proto, Some(&**c)),
                    _ => unreachable!("matched above"),
                };
                if KINDS {
                    code.callees.note(at, p as *const _ as usize);
                }
                let entry = code.layout.dpc(Addr(p.entry));
                if !enter!(&p.param_slots, p.frame_size, false, at, p.entry, ret, false) {
                    load!(slot)
                }
                if let Some(c) = closure {
                    bind_captures!(c, p);
                }
                goto_block!(entry.ix());
            }
            Op::CmpLocalsJump {
                a,
                b,
                when,
                target,
                cost,
            } => {
                // Not two Ints (or an unset variable): `load!(a)` runs the
                // first LOAD and goes on with the four instructions unfused,
                // whichever operand failed.
                let x = match slot!(a) {
                    Some(Value::Int(x)) => *x,
                    _ => load!(a),
                };
                let y = match slot!(b) {
                    Some(Value::Int(y)) => *y,
                    _ => load!(a),
                };
                if decode::jumps(when, x, y) {
                    goto!(target, cost)
                } else {
                    ip = ip.wrapping_add(4)
                }
            }
            Op::SetIndexLocal {
                slot,
                index,
                src,
                take,
            } => set_index_local!(slot, index, src, take),
            // Second reads from the stack (`picks.rs`, `registers.rs`).
            Op::Pick(d) => pick!(d),
            Op::GetFieldPick { depth, k } => get_field_pick!(depth, k),
            Op::IndexPick { depth, index } => index_pick!(depth, index),
            Op::UpdateLocalInPlace { slot, src, concat } => {
                let operand = match src {
                    Src::Const(k) => copy(&code.consts[k as usize]),
                    Src::Local(s) => match slot!(s) {
                        Some(v) => copy(v),
                        None => generic!(),
                    },
                };
                if !update_in_place(slot!(slot), operand, concat) {
                    generic!()
                }
                ip = ip.wrapping_add(4);
            }
        }
    }
}
