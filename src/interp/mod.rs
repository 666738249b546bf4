//! The interpreter: a dispatch loop over pre-decoded ops ([`decode`]), with
//! the common ops inline and the rest in handlers grouped by op family.
//!
//! [`run_slice`] runs one process until its budget is spent at a block
//! boundary, it yields, waits, ends, or compiled code takes over (the
//! [`Control`] it returns says which); the whole state stays in the
//! [`Context`], so the next slice resumes exactly there.

pub mod decode;
mod trace;

pub use crate::exec::semantics::Proc;
pub use decode::Code;
pub(crate) use trace::DEBUG_VALUE_BYTES;

use crate::exec::ops;
use crate::exec::semantics::{self, calls, unwind, update_in_place};
use crate::exec::{Context, Control, Dpc, Vm};
use decode::{Op, Src};
use std::sync::atomic::{AtomicBool, Ordering};
use ttvm_runtime::Value;

/// Asked at header blocks when the program was decoded for a JIT: `true`
/// when compiled code should run the block at decoded address `pc` (the
/// hook counts hotness and compiles when a function gets hot).
pub trait TierUp {
    fn tier_up(&self, pc: Dpc) -> bool;
}

/// What the interpreter asks at header blocks of code decoded for a JIT
/// (the interpreter takes a `&Tier<dyn TierUp>`, which a `&Tier` of any hook
/// coerces to).
pub struct Tier<'a, H: ?Sized + TierUp> {
    /// Per decoded address: whether `hook` may answer `true` or want to
    /// count there (a cheap filter the interpreter reads first).
    pub watch: &'a [AtomicBool],
    pub hook: H,
}

/// Run `ctx` for one slice of `ctx.budget` reductions.
/// `tier` is asked at header blocks of code decoded for a JIT.
pub fn run_slice(
    ctx: &mut Context,
    code: &Code,
    vm: &Vm,
    proc: &mut Proc<'_>,
    tier: Option<&Tier<'_, dyn TierUp + '_>>,
) -> Control {
    if vm.config.debug || vm.config.trace {
        run::<true, false>(ctx, code, vm, proc, tier)
    } else if vm.profiler.is_some() {
        run_profiled(ctx, code, vm, proc, tier)
    } else {
        run::<false, false>(ctx, code, vm, proc, tier)
    }
}

/// `--profile`'s dispatch loop, out of line (the common case pays only
/// the test that chooses it).
#[cold]
#[inline(never)]
fn run_profiled(
    ctx: &mut Context,
    code: &Code,
    vm: &Vm,
    proc: &mut Proc<'_>,
    tier: Option<&Tier<'_, dyn TierUp + '_>>,
) -> Control {
    run::<false, true>(ctx, code, vm, proc, tier)
}

/// `TRACE`: `--debug`/`--trace` lines before each instruction; `PROFILE`:
/// `--profile`'s hook before each op (`crate::profile::step`).
#[inline(always)]
fn run<const TRACE: bool, const PROFILE: bool>(
    ctx: &mut Context,
    code: &Code,
    vm: &Vm,
    proc: &mut Proc<'_>,
    tier: Option<&Tier<'_, dyn TierUp + '_>>,
) -> Control {
    let mut pc = ctx.pc.ix();
    let mut base = ctx.frame().base as usize;
    let max_stack = vm.config.max_stack;
    macro_rules! raise {
        ($e:expr) => {{
            let e = $e;
            ctx.pc = Dpc(pc as u32);
            match unwind(ctx, e, vm) {
                Ok(to) => {
                    pc = to as usize;
                    base = ctx.frame().base as usize;
                    continue;
                }
                Err(e) => return Control::Crashed(e),
            }
        }};
    }
    macro_rules! tryv {
        ($e:expr) => {
            match $e {
                Ok(v) => v,
                Err(e) => raise!(e),
            }
        };
    }
    macro_rules! generic {
        () => {{
            ctx.pc = Dpc(pc as u32);
            match semantics::exec(
                ctx,
                &code.layout,
                vm,
                proc,
                code.layout.addr(Dpc(pc as u32)).0,
            ) {
                Control::Next => pc += 1,
                Control::Jump(to) => {
                    pc = to.ix();
                    base = ctx.frame().base as usize;
                }
                Control::Raise(e) => raise!(e),
                out => return out,
            }
            continue;
        }};
    }
    // The reduction accounting at a block start (SPEC §4.6).
    macro_rules! charge {
        ($cost:expr) => {{
            let cost = $cost;
            if ctx.budget <= 0 {
                ctx.pc = Dpc(pc as u32);
                return Control::Preempted;
            }
            ctx.budget -= cost as i64;
            ctx.reductions += cost as u64;
            // No instruction grows the stack by more than two.
            if ctx.stack.len() + 2 * cost as usize > max_stack {
                raise!(Value::error("stack overflow"));
            }
            pc += 1;
        }};
    }
    loop {
        let op = code.ops[pc];
        if TRACE && !matches!(op, Op::Charge(_) | Op::ChargeJit(_)) {
            trace::step(ctx, code, vm, proc, pc);
        }
        if PROFILE {
            let charge = matches!(op, Op::Charge(_) | Op::ChargeJit(_));
            crate::profile::step(ctx, code, vm, pc, charge);
        }
        match op {
            Op::Charge(cost) => charge!(cost),
            Op::ChargeJit(cost) => {
                // A header block of code decoded for a JIT first asks
                // whether compiled code takes over here (before charging:
                // compiled code charges). T1, X3 (src/jit/README.md).
                if let Some(t) = tier {
                    let watched = t.watch.get(pc).is_some_and(|w| w.load(Ordering::Relaxed));
                    if watched && t.hook.tier_up(Dpc(pc as u32)) {
                        ctx.pc = Dpc(pc as u32);
                        return Control::Continue;
                    }
                }
                charge!(cost)
            }
            Op::PushInt(n) => {
                push_int(&mut ctx.stack, n);
                pc += 1;
            }
            Op::PushConst(k) => {
                ctx.stack.push(code.consts[k as usize].clone());
                pc += 1;
            }
            Op::Dup => {
                let Some(v) = ctx.stack.last() else {
                    generic!()
                };
                ctx.stack.push(v.clone());
                pc += 1;
            }
            Op::Pop => {
                let Some(v) = ctx.stack.pop() else { generic!() };
                discard(v);
                pc += 1;
            }
            Op::Swap => {
                let n = ctx.stack.len();
                if n < 2 {
                    generic!()
                }
                ctx.stack.swap(n - 1, n - 2);
                pc += 1;
            }
            Op::Over => {
                let n = ctx.stack.len();
                if n < 2 {
                    generic!()
                }
                let v = ctx.stack[n - 2].clone();
                ctx.stack.push(v);
                pc += 1;
            }
            Op::Load(slot) => match &ctx.locals[base + slot as usize] {
                Some(v) => {
                    let v = v.clone();
                    ctx.stack.push(v);
                    pc += 1;
                }
                None => generic!(),
            },
            // A last use: an Int is copied as by LOAD; anything else goes
            // through `take_heap` (a heap value leaves the variable).
            Op::Move(slot) => match &mut ctx.locals[base + slot as usize] {
                Some(Value::Int(n)) => {
                    let n = *n;
                    push_int(&mut ctx.stack, n);
                    pc += 1;
                }
                cell => match semantics::vars::take_heap(cell) {
                    Some(v) => {
                        ctx.stack.push(v);
                        pc += 1;
                    }
                    None => generic!(),
                },
            },
            Op::Store(slot) => {
                let Some(v) = ctx.stack.pop() else { generic!() };
                if let Some(old) = ctx.locals[base + slot as usize].replace(v) {
                    discard(old);
                }
                pc += 1;
            }
            Op::Arith(op) => {
                let n = ctx.stack.len();
                if n < 2 {
                    generic!()
                }
                if let (Value::Int(a), Value::Int(b)) = (&ctx.stack[n - 2], &ctx.stack[n - 1]) {
                    if let Some(r) = op.ints(*a, *b) {
                        // SAFETY: n ≥ 2; both are Ints (nothing to drop).
                        unsafe {
                            ctx.stack.set_len(n - 1);
                            put_int(ctx.stack.as_mut_ptr().add(n - 2), r);
                        }
                        pc += 1;
                        continue;
                    }
                }
                let b = ctx.stack.pop().expect("checked");
                let a = ctx.stack.pop().expect("checked");
                let r = tryv!(ops::arith(op, &a, &b));
                ctx.stack.push(r);
                pc += 1;
            }
            Op::Cmp(cmp) => {
                let n = ctx.stack.len();
                if n < 2 {
                    generic!()
                }
                let r = if let (Value::Int(a), Value::Int(b)) =
                    (&ctx.stack[n - 2], &ctx.stack[n - 1])
                {
                    cmp.ints(*a, *b)
                } else {
                    tryv!(ops::compare(cmp, &ctx.stack[n - 2], &ctx.stack[n - 1]))
                };
                ctx.stack.pop();
                ctx.stack[n - 2] = Value::Int(r as i64);
                pc += 1;
            }
            Op::Jmp(t) => pc = t as usize,
            Op::Jz(t) => {
                let Some(v) = ctx.stack.pop() else { generic!() };
                pc = if v.is_truthy() { pc + 1 } else { t as usize };
                discard(v);
            }
            Op::Jnz(t) => {
                let Some(v) = ctx.stack.pop() else { generic!() };
                pc = if v.is_truthy() { t as usize } else { pc + 1 };
                discard(v);
            }
            Op::Call(site) => {
                ctx.pc = Dpc(pc as u32);
                let site = &code.calls[site as usize];
                tryv!(calls::call(
                    ctx,
                    vm,
                    code.layout.addr(Dpc(pc as u32)).0,
                    site.target,
                    &site.param_slots,
                    site.frame_size,
                    site.tail,
                    pc as u32 + 1
                ));
                pc = site.entry as usize;
                base = ctx.frame().base as usize;
            }
            Op::CallFunction { tail } => {
                ctx.pc = Dpc(pc as u32);
                let entry = tryv!(calls::call_function(
                    ctx,
                    vm,
                    &code.layout,
                    code.layout.addr(Dpc(pc as u32)).0,
                    tail,
                    pc as u32 + 1
                ));
                pc = entry as usize;
                base = ctx.frame().base as usize;
            }
            Op::Ret => {
                ctx.pc = Dpc(pc as u32);
                match calls::ret(ctx, &code.layout, vm, proc) {
                    Control::Jump(to) => {
                        pc = to.ix();
                        base = ctx.frame().base as usize;
                    }
                    Control::Raise(e) => raise!(e),
                    Control::Next => pc += 1,
                    out => return out,
                }
            }
            Op::Generic => generic!(),
            Op::Library(op) => {
                ctx.pc = Dpc(pc as u32);
                let at = code.layout.addr(Dpc(pc as u32)).0;
                tryv!(semantics::library(ctx, vm, at, op));
                pc += 1;
            }
            Op::Send(lit) => {
                // The message and (unless given) an Int PID: else the
                // generic path raises the error.
                let to = match (lit, ctx.stack.as_slice()) {
                    (Some(to), [.., _]) => to,
                    (None, [.., _, Value::Int(to)]) => {
                        let to = *to;
                        discard(ctx.stack.pop().expect("checked"));
                        to
                    }
                    _ => generic!(),
                };
                let msg = ctx.stack.pop().expect("checked");
                proc.node.send(proc.pid, to, msg);
                pc += 1;
            }
            Op::Receive => {
                if !proc.node.receive_any(proc.me, &mut ctx.stack) {
                    // Resumes at this RECEIVE when woken.
                    ctx.pc = Dpc(pc as u32);
                    return Control::Waiting;
                }
                pc += 1;
            }
            Op::UpdateLocalInt { slot, k, op } => {
                let cell = &mut ctx.locals[base + slot as usize];
                match cell {
                    Some(Value::Int(a)) if op.ints(*a, k).is_some() => {
                        *a = op.ints(*a, k).unwrap_or_default();
                        pc += 4;
                    }
                    _ => generic!(),
                }
            }
            Op::LoadArithInt { slot, k, op } => match &ctx.locals[base + slot as usize] {
                Some(Value::Int(a)) if op.ints(*a, k).is_some() => {
                    let r = op.ints(*a, k).unwrap_or_default();
                    push_int(&mut ctx.stack, r);
                    pc += 3;
                }
                _ => generic!(),
            },
            Op::LoadCmpIntJump {
                slot,
                k,
                cmp,
                jump_if,
                target,
            } => match &ctx.locals[base + slot as usize] {
                Some(Value::Int(a)) => {
                    pc = if cmp.ints(*a, k) == jump_if {
                        target as usize
                    } else {
                        pc + 4
                    };
                }
                _ => generic!(),
            },
            Op::CmpJump {
                cmp,
                jump_if,
                target,
            } => {
                let n = ctx.stack.len();
                if n < 2 {
                    generic!()
                }
                let r = if let (Value::Int(a), Value::Int(b)) =
                    (&ctx.stack[n - 2], &ctx.stack[n - 1])
                {
                    cmp.ints(*a, *b)
                } else {
                    match ops::compare(cmp, &ctx.stack[n - 2], &ctx.stack[n - 1]) {
                        Ok(r) => r,
                        Err(_) => generic!(),
                    }
                };
                ctx.stack.truncate(n - 2);
                pc = if r == jump_if {
                    target as usize
                } else {
                    pc + 2
                };
            }
            Op::UpdateLocalInPlace { slot, src, concat } => {
                let operand = match src {
                    Src::Const(k) => code.consts[k as usize].clone(),
                    Src::Local(s) => match &ctx.locals[base + s as usize] {
                        Some(v) => v.clone(),
                        None => generic!(),
                    },
                };
                if !update_in_place(&mut ctx.locals[base + slot as usize], operand, concat) {
                    generic!()
                }
                pc += 4;
            }
        }
    }
}

/// Drop `v`, doing nothing inline for a Null, Bool, Int or Float (the
/// compiler calls `Value`'s drop glue out of line, and it dispatches on
/// the tag again through a jump table).
#[inline(always)]
fn discard(v: Value) {
    match v {
        Value::Null | Value::Bool(_) | Value::Int(_) | Value::Float(_) => std::mem::forget(v),
        v => drop(v),
    }
}

/// Push `Value::Int(n)` (see [`put_int`]).
#[inline(always)]
fn push_int(stack: &mut Vec<Value>, n: i64) {
    stack.reserve(1);
    let len = stack.len();
    // SAFETY: there is room for one more (reserved above), which `put_int`
    // initialises.
    unsafe {
        put_int(stack.as_mut_ptr().add(len), n);
        stack.set_len(len + 1);
    }
}

/// Write `Value::Int(n)` to `p` as one 16-byte store (x86-64). Written as
/// tag and payload apart, an Int is read back whole by the next op that
/// moves it (SEND, STORE), and that 16-byte load cannot be served from two
/// pending stores: a failed store-to-load forwarding, ~6 % of a ring hop.
///
/// # Safety
/// `p` is valid for a write of a `Value`, and what it holds (if anything)
/// needs no drop.
#[inline(always)]
unsafe fn put_int(p: *mut Value, n: i64) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE2 is part of x86-64; the bytes are a valid Int: the tag
    // byte first (the padding after it zero), the payload at 8.
    unsafe {
        use std::arch::x86_64::{_mm_set_epi64x, _mm_storeu_si128};
        const _: () = assert!(Value::TAG_OFFSET == 0 && Value::PAYLOAD_OFFSET == 8);
        let tag = ttvm_runtime::value::tag::INT as i64;
        _mm_storeu_si128(p.cast(), _mm_set_epi64x(n, tag));
    }
    #[cfg(not(target_arch = "x86_64"))]
    // SAFETY: by the caller.
    unsafe {
        p.write(Value::Int(n))
    }
}
