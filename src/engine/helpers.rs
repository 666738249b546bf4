//! The engine's implementation of the runtime helpers compiled code calls
//! (`impl HelperImpl`: the `extern "C"` shims that call it, never
//! unwinding, are generated from the table in `exec::native`) and the
//! engine's side of running compiled code (`run_compiled`). Each helper
//! that touches the process takes back the vector lengths compiled code
//! changed (`in_context`), runs the complete semantics (`exec::semantics`) for
//! the instruction, and publishes the vectors again, so both tiers share
//! one implementation of every instruction.

use crate::bytecode::Instr;
use crate::exec::native::{status, HelperImpl, Helpers, JitEnv, MAX_NATIVE_DEPTH};
use crate::exec::semantics::{self, Proc};
use crate::exec::Control;
use crate::exec::{Addr, Context, Dpc, Layout, Raise, Vm};
use crate::jit::Jit;
use std::mem::ManuallyDrop;
use ttvm_runtime::Value;

mod leaving;
mod library;
mod run;

use leaving::Leaving;
use library::{library_owned, same_heap, text_bound};
use run::{hdepth, in_context, on_stack, parts};
pub(super) use run::{run_compiled, sync_in};

/// What the helpers need besides the environment block.
pub(super) struct Host<'a, 'p> {
    pub(super) ctx: *mut Context,
    /// The decoded program's layout (where a jump to an address lands).
    pub(super) layout: &'a Layout,
    pub(super) vm: &'a Vm,
    pub(super) proc: *mut Proc<'p>,
    pub(super) jit: &'a Jit,
    /// How the slice ended, when a helper returns `STOP`.
    pub(super) outcome: Option<Control>,
}

/// The most room the `reserve` helper makes beyond what it is asked for
/// (values).
const ROOM_AHEAD: usize = 32;

/// The helper table for the JIT.
pub(super) fn table() -> Helpers {
    Helpers::of::<Impls>()
}

/// The engine's implementation of the helpers (`exec::native`'s table).
/// Every helper is `unsafe`: compiled code calls it with the engine's
/// `JitEnv` (whose `host` points at a live [`Host`]), or, for `clone` and
/// `drop`, the tag and payload of a live value, and for `leave` and
/// `leave_caller` with a buffer holding what the descriptor says.
pub(super) struct Impls;

impl<'p> Host<'_, 'p> {
    fn proc(&mut self) -> &mut Proc<'p> {
        // SAFETY: the engine's `Proc` outlives the slice, and nothing else
        // uses it while a helper runs.
        unsafe { &mut *self.proc }
    }
}

/// An exception at decoded address `dpc`: unwind to a handler
/// (`CONTINUE` at its catch block) or end the process (`STOP`).
fn raise(host: &mut Host<'_, '_>, ctx: &mut Context, e: Raise, dpc: Dpc) -> u32 {
    ctx.pc = dpc;
    match semantics::raise(ctx, e, host.vm) {
        Ok(to) => {
            ctx.pc = to;
            status::CONTINUE
        }
        Err(e) => {
            host.outcome = Some(Control::Crashed(e));
            status::STOP
        }
    }
}

#[inline(always)]
fn flow(host: &mut Host<'_, '_>, ctx: &mut Context, f: Control, dpc: Dpc) -> u32 {
    match f {
        Control::Next => status::NEXT,
        Control::Jump(to) => {
            ctx.pc = to;
            status::CONTINUE
        }
        Control::Raise(e) => raise(host, ctx, e, dpc),
        Control::Continue => status::CONTINUE,
        Control::Interpret => status::INTERPRET,
        // `ctx.pc` is where it resumes (the instruction, or after SLEEP).
        Control::Waiting => status::WAIT,
        end => {
            host.outcome = Some(end);
            status::STOP
        }
    }
}

/// The bytes of a value from its tag and payload.
fn raw_value(tag: u64, pay: u64) -> [u64; 2] {
    // The tag is the first byte; the rest of the first word is padding.
    [u64::from_le_bytes([tag as u8, 0, 0, 0, 0, 0, 0, 0]), pay]
}

#[cfg(not(target_endian = "little"))]
compile_error!("the JIT's value layout assumes a little-endian host");

thread_local! {
    /// The environment block of the compiled code running on this thread
    /// (null when none runs): direct entries do not carry it (D1 in
    /// src/jit/README.md).
    pub(super) static ENV: std::cell::Cell<*mut JitEnv> = const { std::cell::Cell::new(std::ptr::null_mut()) };
}

/// The running slice's environment block.
fn current_env() -> *mut JitEnv {
    ENV.with(|e| e.get())
}

fn update(host: &mut Host<'_, '_>, ctx: &mut Context, at: Addr, dpc: Dpc) -> u32 {
    let code = &host.vm.program.code[at.ix()..at.ix() + 4];
    let base = ctx.frame().base as usize;
    let operand = match &code[1] {
        Instr::Load(z) => ctx.locals[base + z.slot as usize].clone(),
        other => other.constant(),
    };
    let (Instr::Load(x), Some(concat)) = (&code[0], code[2].grow()) else {
        unreachable!("the JIT checked the pattern")
    };
    let done = operand.is_some_and(|v| {
        semantics::update_in_place(&mut ctx.locals[base + x.slot as usize], v, concat)
    });
    let mut st = status::NEXT;
    if !done {
        for i in 0..4 {
            let d = Dpc(dpc.0 + i);
            ctx.pc = d;
            let f = semantics::exec(ctx, host.layout, host.vm, host.proc(), at.0 + i);
            st = flow(host, ctx, f, d);
            if st != status::NEXT {
                break;
            }
        }
    }
    st
}

impl HelperImpl for Impls {
    /// Run instruction `at` (decoded address `dpc`) with the interpreter's
    /// semantics.
    #[inline]
    unsafe fn generic(env: *mut JitEnv, at: Addr, dpc: Dpc) -> u32 {
        // SAFETY: called by compiled code with the engine's `JitEnv`.
        unsafe {
            in_context(env, |_, host, ctx| {
                ctx.pc = dpc;
                let f = semantics::exec(ctx, host.layout, host.vm, host.proc(), at.0);
                flow(host, ctx, f, dpc)
            })
        }
    }

    /// CALL / CALL_FUNCTION: make the frame, then say where the callee's
    /// compiled code is.
    #[inline]
    unsafe fn call(env: *mut JitEnv, at: Addr, dpc: Dpc) -> u32 {
        // SAFETY: called by compiled code with the engine's `JitEnv`.
        unsafe {
            in_context(env, |env, host, ctx| {
                ctx.pc = dpc;
                match semantics::exec(ctx, host.layout, host.vm, host.proc(), at.0) {
                    Control::Jump(entry) => {
                        ctx.pc = entry;
                        env.target_fn = 0;
                        if env.native_depth < MAX_NATIVE_DEPTH {
                            if let Some((code, block)) = host.jit.entry(entry) {
                                env.target_fn = code;
                                env.target_block = block;
                                env.native_depth += 1;
                            }
                        }
                        status::NEXT
                    }
                    other => flow(host, ctx, other, dpc),
                }
            })
        }
    }

    /// One more reference to a heap value compiled code copies.
    #[inline]
    unsafe fn clone(tag: u64, pay: u64) {
        let raw = raw_value(tag, pay);
        // SAFETY: compiled code passes the tag and payload of a live value it
        // holds a reference to; `[u64; 2]` has `Value`'s size and alignment
        // and the tag byte at offset 0 (little-endian, checked below).
        let v = ManuallyDrop::new(unsafe { std::ptr::read(raw.as_ptr() as *const Value) });
        std::mem::forget(Value::clone(&v));
    }

    /// Drop a reference compiled code no longer holds (`value::drop_last`).
    #[inline]
    unsafe fn drop(tag: u64, pay: u64) {
        // SAFETY: compiled code passes a value it owns and will not use again.
        unsafe { ttvm_runtime::value::drop_last_raw(tag as u8, pay) }
    }

    /// Make room for `n` more values on the operand stack, and for as
    /// many again (up to [`ROOM_AHEAD`]): compiled code that finds too
    /// little room at a block start makes it here, then leaves and enters
    /// the block again, so a stack grown by exactly each block's need
    /// would pay that round trip block after block. Only the stack is
    /// taken back and published.
    #[inline]
    unsafe fn reserve(env: *mut JitEnv, n: u64) {
        let n = n as usize;
        // SAFETY: called by compiled code with the engine's `JitEnv`.
        unsafe { on_stack(env, |_, _, ctx| ctx.stack.reserve(n + n.min(ROOM_AHEAD))) }
    }

    /// The operand stack limit was reached at the block at `dpc`.
    #[inline]
    unsafe fn overflow(env: *mut JitEnv, dpc: Dpc) -> u32 {
        // SAFETY: called by compiled code with the engine's `JitEnv`.
        unsafe {
            in_context(env, |_, host, ctx| {
                raise(host, ctx, Value::error("stack overflow"), dpc)
            })
        }
    }

    /// `LOAD x; <operand>; APPEND|CONCAT; STORE x` at `at`: in place on the
    /// variable when nothing else holds its value, else the four instructions
    /// one by one.
    #[inline]
    unsafe fn update(env: *mut JitEnv, at: Addr, dpc: Dpc) -> u32 {
        // SAFETY: called by compiled code with the engine's `JitEnv`.
        unsafe { in_context(env, |_, host, ctx| update(host, ctx, at, dpc)) }
    }

    /// Library operation number `op` (`library::call`) at program address
    /// `at`: no decoding, no interpreter dispatch.
    #[inline]
    unsafe fn library(env: *mut JitEnv, op: u32, at: Addr, dpc: Dpc) -> u32 {
        // SAFETY: called by compiled code with the engine's `JitEnv`.
        unsafe {
            in_context(env, |_, host, ctx| {
                let Some(op) = crate::library::opcode(op) else {
                    unreachable!("compiled code passes a table index")
                };
                match semantics::library(ctx, host.vm, at.0, op) {
                    Ok(()) => status::NEXT,
                    Err(e) => raise(host, ctx, e, dpc),
                }
            })
        }
    }

    /// SEND of a message compiled code gives up to an Int PID: what the
    /// interpreter's `Op::Send` does (`Sched::send`), without touching
    /// the process's vectors.
    #[inline]
    unsafe fn send(env: *mut JitEnv, to: i64, tag: u64, pay: u64) {
        let raw = raw_value(tag, pay);
        // SAFETY: compiled code passes a value it owns and will not use
        // again (the message popped from its operand stack).
        let msg = unsafe { std::ptr::read(raw.as_ptr() as *const Value) };
        // SAFETY: called by compiled code with the engine's `JitEnv`.
        let (_, host) = unsafe { parts(env) };
        let proc = host.proc();
        proc.node.send(proc.pid, to, msg);
    }

    /// A plain RECEIVE at `dpc`: the interpreter's `Op::Receive`
    /// (`Sched::receive_any`): the message on the operand stack, or the
    /// process waits here.
    ///
    /// Only the operand stack is taken back and published again (the one
    /// vector it touches), not the whole context as `in_context` does.
    #[inline]
    unsafe fn receive(env: *mut JitEnv, _at: Addr, dpc: Dpc) -> u32 {
        // SAFETY: called by compiled code with the engine's `JitEnv`.
        unsafe {
            on_stack(env, |env, host, ctx| {
                let proc = host.proc();
                if proc.node.receive_any(proc.me, &mut ctx.stack) {
                    status::NEXT
                } else {
                    // Resumes at this RECEIVE when woken.
                    env.pc = dpc;
                    status::WAIT
                }
            })
        }
    }

    /// A process instruction with its complete semantics
    /// (`semantics::exec_process`).
    ///
    /// The process instructions (`procs::exec`) use the operand stack and
    /// `pc` alone: only the stack is taken back and published (as for
    /// RECEIVE), unless one raises, which unwinds the whole context.
    #[inline]
    unsafe fn process(env: *mut JitEnv, at: Addr, dpc: Dpc) -> u32 {
        // SAFETY: called by compiled code with the engine's `JitEnv`.
        unsafe {
            let mut raised = None;
            let st = on_stack(env, |env, host, ctx| {
                ctx.pc = dpc;
                let st = match semantics::exec_process(ctx, host.layout, host.vm, host.proc(), at.0)
                {
                    Control::Raise(e) => {
                        raised = Some(e);
                        status::NEXT
                    }
                    f => flow(host, ctx, f, dpc),
                };
                // Where a waiting process resumes (the receive, or after
                // SLEEP).
                env.pc = ctx.pc;
                st
            });
            match raised {
                None => st,
                Some(e) => in_context(env, |_, host, ctx| raise(host, ctx, e, dpc)),
            }
        }
    }

    /// TRY at `at`: the handler installed in the current frame. Only the
    /// handlers change (no vector of the process), so nothing is taken
    /// back or published but `hdepth`.
    #[inline]
    unsafe fn try_install(env: *mut JitEnv, at: Addr, catch: Dpc, height: u64) {
        // SAFETY: called by compiled code with the engine's `JitEnv`.
        let (env, host) = unsafe { parts(env) };
        // SAFETY: as in `in_context`; the handlers are not among the
        // vectors compiled code holds raw parts of.
        let ctx = unsafe { &mut *host.ctx };
        ctx.handlers.install(crate::exec::Handler {
            try_pc: at.0,
            catch: catch.0,
            stack_len: height as u32,
            depth: env.frames,
        });
        env.hdepth = hdepth(ctx);
    }

    /// END_TRY owned by the TRY at `owner`, in the current frame.
    #[inline]
    unsafe fn try_end(env: *mut JitEnv, owner: Addr) {
        // SAFETY: called by compiled code with the engine's `JitEnv`.
        let (env, host) = unsafe { parts(env) };
        // SAFETY: as in `try_install`.
        let ctx = unsafe { &mut *host.ctx };
        ctx.handlers.end(env.frames, owner.0);
        env.hdepth = hdepth(ctx);
    }

    /// THROW in ordinary compiled code (issue 15): the exception made of
    /// the value, and when the innermost handler is the current frame's
    /// (a TRY of this frame, compiled code's `JitEnv::frames`), the
    /// unwind the interpreter does there — the handler removed, the
    /// operand stack cut back to its height, the exception pushed, `pc`
    /// at its catch block — on the operand stack alone; otherwise the
    /// complete unwind (`raise`: frames left, or the process ends).
    #[inline]
    unsafe fn throw(env: *mut JitEnv, dpc: Dpc, tag: u64, pay: u64) -> u32 {
        let raw = raw_value(tag, pay);
        // SAFETY: compiled code gives up its reference to the value.
        let e = unsafe { std::ptr::read(raw.as_ptr() as *const Value) }.into_exception();
        // SAFETY: called by compiled code with the engine's `JitEnv`.
        let (frames, ctx) = unsafe {
            let (env, host) = parts(env);
            (env.frames, &mut *host.ctx)
        };
        if ctx.handlers.last().is_some_and(|h| h.depth == frames) {
            let h = ctx.handlers.pop().expect("the innermost handler");
            // SAFETY: as in `try_install` for the handlers; `on_stack`
            // takes back and publishes the operand stack.
            unsafe {
                on_stack(env, |env, _, ctx| {
                    ctx.stack.truncate(h.stack_len as usize);
                    ctx.stack.push(Value::Exception(e));
                    env.pc = Dpc(h.catch);
                    env.hdepth = hdepth(ctx);
                });
            }
            return status::CONTINUE;
        }
        // SAFETY: called by compiled code with the engine's `JitEnv`.
        unsafe { in_context(env, |_, host, ctx| raise(host, ctx, e, dpc)) }
    }

    /// A function compiled code calls often gets its direct entry.
    unsafe fn hot_call(env: *mut JitEnv, target: Addr) {
        // SAFETY: called by compiled code with the engine's `JitEnv`.
        unsafe { parts(env) }.1.jit.hot_call(target.0);
    }

    /// The instruction at `JitEnv::pc`, where compiled code left, run
    /// with its complete semantics while a handler is in force: what the
    /// interpreter would do next, without leaving for it.
    #[inline]
    unsafe fn fault(env: *mut JitEnv) -> u32 {
        // SAFETY: called by compiled code with the engine's `JitEnv`.
        unsafe {
            in_context(env, |env, host, ctx| {
                // A field read's kind guard may be what failed
                // (`jit::kinds`): compiled code in a TRY does not leave.
                host.jit.poll_field_guards();
                let dpc = env.pc;
                ctx.pc = dpc;
                let at = host.layout.addr(dpc);
                if host.layout.resume(at) != dpc {
                    // A block's start: the engine enters it.
                    return status::CONTINUE;
                }
                let f = semantics::exec(ctx, host.layout, host.vm, host.proc(), at.0);
                match flow(host, ctx, f, dpc) {
                    status::NEXT => {
                        ctx.pc = host.layout.dpc(Addr(at.0 + 1));
                        status::CONTINUE
                    }
                    st => st,
                }
            })
        }
    }

    /// LEN or INDEX of borrowed operands (the slow path of their inline
    /// lowering): the result in `out`, or 0 when it raises.
    #[inline]
    unsafe fn data(op: u32, a_tag: u64, a_pay: u64, b_tag: u64, b_pay: u64, out: *mut u64) -> u32 {
        // `DATA_OWNED`: the operands are given, not lent, when there is a
        // result.
        let owned = op & crate::jit::DATA_OWNED != 0;
        let op = op & !crate::jit::DATA_OWNED;
        let (a, b) = (raw_value(a_tag, a_pay), raw_value(b_tag, b_pay));
        // SAFETY: compiled code passes values it holds (borrowed here: not
        // dropped) and a 16-byte, 8-aligned buffer.
        unsafe {
            let a = ManuallyDrop::new(std::ptr::read(a.as_ptr() as *const Value));
            let b = ManuallyDrop::new(std::ptr::read(b.as_ptr() as *const Value));
            use crate::bytecode::{Cmp, Opcode};
            use crate::exec::ops;
            let cmp = |c: Cmp| ops::compare(c, &a, &b).map(|r| Value::Int(r as i64));
            let r = match op {
                x if x == Opcode::Len as u32 => ops::len(&a),
                x if x == Opcode::Index as u32 => ops::index(&a, &b),
                // The comparisons of values compiled code has no inline
                // path for (strings, lists, Bools, Null, mixed kinds).
                x if x == Opcode::Eq as u32 => cmp(Cmp::Eq),
                x if x == Opcode::Ne as u32 => cmp(Cmp::Ne),
                x if x == Opcode::Gt as u32 => cmp(Cmp::Gt),
                x if x == Opcode::Lt as u32 => cmp(Cmp::Lt),
                x if x == Opcode::Ge as u32 => cmp(Cmp::Ge),
                x if x == Opcode::Le as u32 => cmp(Cmp::Le),
                // GET_FIELD and HAS_FIELD of a name on the stack (`b`).
                x if x == Opcode::GetField as u32 => {
                    ops::field_key(Opcode::GetField.mnemonic(), &b)
                        .and_then(|k| ops::get_field(&a, k))
                }
                x if x == Opcode::HasField as u32 => {
                    ops::field_key(Opcode::HasField.mnemonic(), &b)
                        .and_then(|k| ops::has_field(&a, k))
                }
                // The conversions of `a`.
                x if x == Opcode::ToStr as u32 => match &*a {
                    Value::Str(_) => Ok(Value::clone(&a)),
                    other => ops::text(other).map(Value::str),
                },
                x if x == Opcode::ToInt as u32 => ops::to_int(&a),
                x if x == Opcode::ToFloat as u32 => ops::to_float(&a),
                // KEYS of `a` (issue 15: not the generic helper).
                x if x == Opcode::Keys as u32 => ops::keys(&a),
                _ => unreachable!(
                    "compiled code passes LEN, INDEX, a comparison, a field read, a conversion or KEYS"
                ),
            };
            match r {
                Ok(v) => {
                    std::ptr::write(out as *mut Value, v);
                    if owned {
                        // SAFETY: compiled code gave up its references
                        // (`DATA_OWNED`), one per operand.
                        drop(ManuallyDrop::into_inner(a));
                        drop(ManuallyDrop::into_inner(b));
                    }
                    1
                }
                Err(_) => 0,
            }
        }
    }

    /// GET_FIELD / HAS_FIELD with a constant name on a borrowed operand
    /// (the slow path of their inline lowering): the site's cache learns
    /// the field's position; the result in `out`, or 0 when it raises.
    #[inline]
    unsafe fn field(
        op: u32,
        tag: u64,
        pay: u64,
        name: *const ttvm_runtime::Atom,
        cell: *const std::sync::atomic::AtomicU64,
        out: *mut u64,
    ) -> u32 {
        let raw = raw_value(tag, pay);
        // SAFETY: compiled code passes a value it holds (borrowed here),
        // an atom of the program and a cell of the `Jit` (both outlive
        // the code) and a 16-byte, 8-aligned buffer.
        unsafe {
            let obj = ManuallyDrop::new(std::ptr::read(raw.as_ptr() as *const Value));
            let name = &*name;
            if let Value::Object(o) = &*obj {
                if let Some(p) = o.position(name.as_str()) {
                    (*(cell as *const crate::jit::FieldCell)).learn(p as u64);
                }
            }
            let key = crate::exec::ops::FieldKey::Name(name);
            let r = if op == crate::bytecode::Opcode::GetField as u32 {
                crate::exec::ops::get_field(&obj, key)
            } else {
                crate::exec::ops::has_field(&obj, key)
            };
            match r {
                Ok(v) => {
                    if op == crate::bytecode::Opcode::GetField as u32 {
                        // The kinds the site gives (`jit::kinds`): the
                        // cell is a `FieldCell`, its position first.
                        let c = &*(cell as *const crate::jit::FieldCell);
                        c.note(*(&v as *const Value as *const u8));
                    }
                    std::ptr::write(out as *mut Value, v);
                    1
                }
                Err(_) => 0,
            }
        }
    }

    /// A list, object or string operation of a direct entry on owned
    /// values (see the helper table): each case first checks, on the
    /// borrowed values, that the operation cannot raise, so that on 0 the
    /// values stay compiled code's; then takes them, so an unshared list,
    /// object or string is changed in place.
    #[inline]
    unsafe fn value(
        op: u32,
        n: u32,
        items: *mut u64,
        aux: u64,
        out: *mut u64,
        cell: *mut u64,
    ) -> u32 {
        use crate::bytecode::Opcode;
        use crate::exec::ops;
        let items = items as *mut Value;
        let cell = cell as *mut Option<Value>;
        // SAFETY: `cell` is 0 or a variable slot of the running frame
        // (an `Option<Value>`, 16 bytes); compiled code reads it again
        // after this call. Called only once the operation cannot raise.
        let release = || unsafe {
            if !cell.is_null() && (*cell).as_ref().is_some_and(|v| same_heap(v, &*items)) {
                drop((*cell).take());
            }
        };
        // SAFETY: compiled code passes `n` values it owns in a buffer of
        // 16-byte, 8-aligned places, and a 16-byte result buffer. They are
        // only read (`take`) once the operation is known not to raise, and
        // then belong to this function; `aux` is an atom of the program
        // (which outlives the code) for SET_FIELD of a name (0 for a key
        // on the stack, the third operand), whose `n` of 3 means a
        // third place holding the address of a cell of the `Jit` (which
        // outlives the code too) instead of a value.
        unsafe {
            let at = |k: usize| &*items.add(k);
            let take = |k: usize| std::ptr::read(items.add(k));
            let r = match op {
                x if x == Opcode::MakeList as u32 => {
                    Value::List((0..n as usize).map(&take).collect())
                }
                x if x == Opcode::MakeObject as u32 => ops::new_object(),
                x if x == Opcode::Append as u32 => {
                    if !matches!(at(0), Value::List(l) if l.len() < ops::MAX_LIST_LEN) {
                        return 0;
                    }
                    release();
                    match ops::append(take(0), take(1)) {
                        Ok(v) => v,
                        Err(_) => unreachable!("checked: a list with room"),
                    }
                }
                x if x == Opcode::SetIndex as u32 => {
                    let ok = match (at(0), at(1)) {
                        (Value::List(l), Value::Int(i)) => (0..l.len() as i64).contains(i),
                        _ => false,
                    };
                    if !ok {
                        return 0;
                    }
                    release();
                    let i = take(1);
                    match ops::set_index(take(0), &i, take(2)) {
                        Ok(v) => v,
                        Err(_) => unreachable!("checked: a list, an index in bounds"),
                    }
                }
                x if x == Opcode::Concat as u32 => {
                    // Two strings, or a string and a number, Bool or Null
                    // (at most 64 bytes of text): surely within the limit.
                    let ok = match (text_bound(at(0)), text_bound(at(1))) {
                        (Some(a), Some(b)) => a + b <= ops::MAX_STR_BYTES,
                        _ => false,
                    };
                    if !ok {
                        return 0;
                    }
                    release();
                    let b = take(1);
                    match ops::concat(take(0), &b) {
                        Ok(v) => v,
                        Err(_) => unreachable!("checked: the texts within the limit"),
                    }
                }
                x if x == Opcode::Extend as u32 => {
                    let ok = match (at(0), at(1)) {
                        (Value::List(a), Value::List(b)) => a.len() + b.len() <= ops::MAX_LIST_LEN,
                        _ => false,
                    };
                    if !ok {
                        return 0;
                    }
                    release();
                    let (Value::List(mut a), Value::List(b)) = (take(0), take(1)) else {
                        unreachable!("checked: two lists")
                    };
                    a.append_list(b);
                    Value::List(a)
                }
                x if x == Opcode::SetField as u32 && aux == 0 => {
                    // The key on the stack (`obj v key`, issue 15): a Str,
                    // and an object with room for it, else the
                    // interpreter raises.
                    let ok = match at(2) {
                        Value::Str(k) => ops::can_set_field(at(0), ops::FieldKey::Run(k)).is_ok(),
                        _ => false,
                    };
                    if !ok {
                        return 0;
                    }
                    release();
                    let key = take(2);
                    let Value::Str(k) = &key else {
                        unreachable!("checked: a Str key")
                    };
                    match ops::set_field(take(0), ops::FieldKey::Run(k), take(1)) {
                        Ok(v) => v,
                        Err(_) => unreachable!("checked by can_set_field"),
                    }
                }
                x if x == Opcode::SetField as u32 => {
                    let name = &*(aux as *const ttvm_runtime::Atom);
                    let key = ops::FieldKey::Name(name);
                    if ops::can_set_field(at(0), key).is_err() {
                        return 0;
                    }
                    release();
                    let Value::Object(mut o) = take(0) else {
                        unreachable!("checked by can_set_field: an Object")
                    };
                    let p = std::sync::Arc::make_mut(&mut o).set(name, take(1));
                    // n = 3: the site's cell follows the operands (a word):
                    // it learns the field's position for the guarded store.
                    if n == 3 {
                        let cell = *(items.add(2) as *const u64) as *const crate::jit::FieldCell;
                        (*cell).learn(p as u64);
                    }
                    Value::Object(o)
                }
                x if x == Opcode::DeleteField as u32 => {
                    // An object, and the name `aux` or a Str key on the
                    // stack (n = 2), else the interpreter raises. A
                    // missing key leaves the object as it is.
                    let ok = matches!(at(0), Value::Object(_))
                        && (aux != 0 || matches!(at(1), Value::Str(_)));
                    if !ok {
                        return 0;
                    }
                    release();
                    let r = if aux != 0 {
                        let name = &*(aux as *const ttvm_runtime::Atom);
                        ops::delete_field(take(0), ops::FieldKey::Name(name))
                    } else {
                        let key = take(1);
                        let Value::Str(k) = &key else {
                            unreachable!("checked: a Str key")
                        };
                        ops::delete_field(take(0), ops::FieldKey::Run(k))
                    };
                    match r {
                        Ok(v) => v,
                        Err(_) => unreachable!("checked: an Object"),
                    }
                }
                // The pure library operations (issue 15), after the
                // others: their check costs those nothing.
                _ => {
                    return match crate::library::opcode(op).filter(|&o| crate::library::pure(o)) {
                        Some(lib) => library_owned(lib, n, items, out, cell),
                        None => 0,
                    }
                }
            };
            std::ptr::write(out as *mut Value, r);
        }
        1
    }

    /// A new list of `n` elements for compiled code to write (MAKE_LIST).
    #[inline]
    unsafe fn list_new(n: u64) -> u64 {
        // SAFETY: compiled code writes the `n` elements right after this
        // call, before anything reads the list, and owns its reference.
        unsafe { ttvm_runtime::value::List::alloc_unwritten(n as usize) as u64 }
    }

    /// The innermost direct frame leaves compiled code with status `st` at
    /// decoded address `pc` (`pc_st`: `pc | st << 32`): make room for it, write
    /// it (see [`Leaving`]) and make the process's lengths, `pc` and budget its;
    /// the status. D2 in src/jit/README.md.
    #[inline]
    unsafe fn leave(buf: *const u8, place: u64, desc: u64, pc_st: u64, budget: i64) -> u64 {
        let env = current_env();
        // SAFETY: only compiled code of the slice that set `ENV` calls this;
        // `buf` holds what `desc` says.
        unsafe {
            let l = Leaving::new(&*env, place, desc);
            in_context(env, |_, host, ctx| {
                host.jit.direct_exit();
                let more = |want: usize, len: usize| want.saturating_sub(len);
                ctx.frames.reserve(more(l.f + 1, ctx.frames.len()));
                // Within the slot limit: the chain started only with room
                // for its deepest frames below it (`lower::direct`).
                ctx.reserve_slots(l.lb + l.size, host.vm.config.max_frame_slots);
                ctx.stack.reserve(more(l.sb + l.items, ctx.stack.len()));
            });
            let env = &mut *env;
            l.write(env, buf);
            env.frames = l.f as u32 + 1;
            env.llen = l.lb + l.size;
            env.len = l.sb + l.items;
            env.locals = env.lbase.add(l.lb);
            env.pc = Dpc(pc_st as u32);
            env.budget = budget;
        }
        pc_st >> 32
    }

    /// A direct frame's callee left compiled code with status `st`, which it
    /// called at program address `at` and returns to decoded address `after`
    /// (`at_after`: `at | after << 32`): write the callee frame's return address
    /// and call site, and this frame (see [`Leaving`]); the status. D3 in
    /// src/jit/README.md.
    #[inline]
    unsafe fn leave_caller(buf: *const u8, place: u64, desc: u64, at_after: u64, st: u64) -> u64 {
        let env = current_env();
        // SAFETY: as for `h_leave`, which the innermost frame called first:
        // the vectors have room for every frame of the chain.
        unsafe {
            let env = &*env;
            let l = Leaving::new(env, place, desc);
            let callee = env.fptr.add(l.f + 1);
            (*callee).ret = (at_after >> 32) as u32;
            (*callee).call_site = at_after as u32;
            l.write(env, buf);
        }
        st
    }
}
