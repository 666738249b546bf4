//! The engine's side of running compiled code: entering it, and the
//! environment block it runs with, published from the process's context
//! and taken back (around each entry, and around each helper that
//! touches the context).

use super::*;

impl<'a, 'p> Host<'a, 'p> {
    /// The helpers' view of a slice of `proc` running `ctx`.
    #[inline(always)]
    pub(in crate::engine) fn new(
        ctx: &mut Context,
        layout: &'a Layout,
        vm: &'a Vm,
        proc: &mut Proc<'p>,
        jit: &'a Jit,
    ) -> Self {
        Host {
            ctx: ctx as *mut Context,
            layout,
            vm,
            proc: proc as *mut Proc<'p>,
            jit,
            outcome: None,
        }
    }
}

/// Run compiled code `f` from entry `block` on the context and process of
/// `host` until it leaves; its status word (`status::CONTINUE`,
/// `INTERPRET`, `PREEMPT`, `WAIT`, or `STOP` with `host.outcome` saying
/// how the slice ended), with the state taken back into the context:
/// the vectors' lengths, `pc` (where the process goes on), the budget
/// and the reductions spent. Nothing else is made or moved per entry:
/// the engine tells the common ends (a process that waits, or is
/// preempted) by the status word alone (`Engine::run_tiers`).
#[inline(always)]
pub(in crate::engine) fn run_compiled(f: usize, block: u32, host: &mut Host<'_, '_>) -> u32 {
    // SAFETY: `host.ctx` is the slice's context, which nothing else uses
    // until compiled code returns.
    let budget0 = unsafe { (*host.ctx).budget };
    // SAFETY: as above, for the process.
    let pid = unsafe { (*host.proc).pid };
    let mut env = host.published_env(pid);
    // One pointer for compiled code, whether it is passed or (direct
    // entries) read back from `ENV`.
    let envp: *mut JitEnv = &mut env;
    let prev = ENV.with(|e| e.replace(envp));
    let st = crate::jit::enter(f, envp, block);
    ENV.with(|e| e.set(prev));
    // SAFETY: as above; compiled code has returned.
    let ctx = unsafe { &mut *host.ctx };
    sync_in(&env, ctx);
    ctx.pc = env.pc;
    ctx.reductions += (budget0 - ctx.budget).max(0) as u64;
    st
}

impl Host<'_, '_> {
    /// The environment block compiled code runs with for process `pid`:
    /// pointing at this host, with the context's vectors published
    /// ([`sync_out`]). `self.ctx` must be a context nothing else uses
    /// until compiled code returns.
    pub(in crate::engine) fn published_env(&mut self, pid: i64) -> JitEnv {
        let mut env = JitEnv {
            sp: std::ptr::null_mut(),
            len: 0,
            cap: 0,
            locals: std::ptr::null_mut(),
            budget: 0,
            pc: Dpc(0),
            frames: 0,
            target_fn: 0,
            target_block: 0,
            native_depth: 0,
            lbase: std::ptr::null_mut(),
            llen: 0,
            lcap: 0,
            fptr: std::ptr::null_mut(),
            fcap: 0,
            dlimit: 0,
            hdepth: 0,
            host: self as *mut Host<'_, '_> as *mut std::ffi::c_void,
            lmax: self.vm.config.max_frame_slots,
            pid,
        };
        // SAFETY: `self.ctx` is a live context that nothing else uses
        // until compiled code returns (the caller's contract).
        sync_out(&mut env, unsafe { &mut *self.ctx });
        env
    }
}

/// Publish the context's vectors to compiled code as raw parts (and the
/// other fields it reads). The vectors stay in `ctx`; while compiled code
/// runs, their lengths there are stale until [`sync_in`].
#[inline]
pub(super) fn sync_out(env: &mut JitEnv, ctx: &mut Context) {
    env.sp = ctx.stack.as_mut_ptr();
    env.len = ctx.stack.len();
    env.cap = ctx.stack.capacity();
    let base = ctx.frame().base as usize;
    env.hdepth = hdepth(ctx);
    env.lbase = ctx.locals.as_mut_ptr();
    env.llen = ctx.locals.len();
    env.lcap = ctx.locals.capacity().min(env.lmax);
    // `base` is at most `locals.len()` (a frame's slots are in the vector).
    env.locals = env.lbase.wrapping_add(base);
    env.fptr = ctx.frames.as_mut_ptr();
    env.frames = ctx.frames.len() as u32;
    env.fcap = ctx.frames.capacity();
    env.pc = ctx.pc;
    env.budget = ctx.budget;
}

/// `JitEnv::hdepth`: the depth of the innermost handler or pending
/// capture (0: none).
#[inline]
pub(super) fn hdepth(ctx: &Context) -> u32 {
    ctx.handlers
        .last()
        .map_or(0, |h| h.depth)
        .max(ctx.captures.last().map_or(0, |c| c.0))
}

/// Take back the lengths compiled code changed.
#[inline]
pub(in crate::engine) fn sync_in(env: &JitEnv, ctx: &mut Context) {
    debug_assert!(ctx.stack.as_mut_ptr() == env.sp && ctx.stack.capacity() == env.cap);
    debug_assert!(
        ctx.locals.as_mut_ptr() == env.lbase && ctx.locals.capacity().min(env.lmax) == env.lcap
    );
    debug_assert!(ctx.frames.as_mut_ptr() == env.fptr && ctx.frames.capacity() == env.fcap);
    // SAFETY: compiled code works in the vectors' own buffers (it never
    // reallocates them: only helpers do, between `sync_in` and
    // `sync_out`) and keeps every element below the length it reports
    // initialised: it writes a value, slot or frame before counting it,
    // and it takes ownership of (or drops) what it uncounts. (Direct
    // frames leaving compiled code set the lengths first and write the
    // frames below on their way out, all before compiled code returns
    // here.)
    unsafe {
        ctx.stack.set_len(env.len);
        ctx.locals.set_len(env.llen);
        ctx.frames.set_len(env.frames as usize);
    }
    ctx.budget = env.budget;
}

/// # Safety
/// `env` is the `JitEnv` the engine passed to compiled code, whose `host`
/// points at a live `Host`.
pub(super) unsafe fn parts<'e>(env: *mut JitEnv) -> (&'e mut JitEnv, &'e mut Host<'e, 'e>) {
    // SAFETY: per the function's contract; the engine holds no reference
    // to either while compiled code runs.
    unsafe {
        let env = &mut *env;
        let host = &mut *(env.host as *mut Host<'e, 'e>);
        (env, host)
    }
}

/// What every helper that touches the process does around its work: take
/// back the lengths compiled code changed, run `f` on the context, and
/// publish the vectors again (they may have moved).
///
/// # Safety
/// As for [`parts`].
#[inline]
pub(super) unsafe fn in_context<R>(
    env: *mut JitEnv,
    f: impl FnOnce(&mut JitEnv, &mut Host<'_, '_>, &mut Context) -> R,
) -> R {
    // SAFETY: per the function's contract.
    let (env, host) = unsafe { parts(env) };
    // SAFETY: the context outlives the slice; compiled code holds no
    // reference to it, only raw parts of its vectors, taken back here.
    let ctx = unsafe { &mut *host.ctx };
    sync_in(env, ctx);
    let r = f(env, host, ctx);
    sync_out(env, ctx);
    r
}

/// What a helper that touches only the operand stack does around its
/// work: take back the stack's length, run `f`, and publish the stack
/// again (it may have moved); the other vectors stay as compiled code
/// has them. `f` may set other fields of the environment block.
///
/// # Safety
/// As for [`parts`]; `f` uses no vector of the context but the stack.
#[inline]
pub(super) unsafe fn on_stack<R>(
    env: *mut JitEnv,
    f: impl FnOnce(&mut JitEnv, &mut Host<'_, '_>, &mut Context) -> R,
) -> R {
    // SAFETY: per the function's contract.
    let (env, host) = unsafe { parts(env) };
    // SAFETY: as in `in_context`.
    let ctx = unsafe { &mut *host.ctx };
    debug_assert!(ctx.stack.as_mut_ptr() == env.sp && ctx.stack.capacity() == env.cap);
    // SAFETY: as in `sync_in`, for the operand stack alone.
    unsafe { ctx.stack.set_len(env.len) };
    let r = f(env, host, ctx);
    env.sp = ctx.stack.as_mut_ptr();
    env.len = ctx.stack.len();
    env.cap = ctx.stack.capacity();
    r
}
