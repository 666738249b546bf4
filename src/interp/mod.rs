//! The interpreter: a dispatch loop over pre-decoded ops ([`decode`]), with
//! the common ops inline and the rest in handlers grouped by op family.
//!
//! [`run_slice`] runs one process until its budget is spent at a block
//! boundary, it yields, waits, ends, or compiled code takes over (the
//! [`Control`] it returns says which); the whole state stays in the
//! [`Context`], so the next slice resumes exactly there.

pub mod callees;
pub mod decode;
mod keyed;
mod moves;
mod picks;
#[macro_use]
mod registers;
#[macro_use]
mod updates;
mod run;
mod slow;
mod trace;

pub use crate::exec::semantics::Proc;
pub use decode::Code;
pub(crate) use trace::DEBUG_VALUE_BYTES;

use crate::exec::{Context, Control, Dpc, Vm};
use run::run;
use std::sync::atomic::AtomicBool;

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
///
/// Each copy of the dispatch loop is a function of its own (none inline
/// here): the registers of one are allocated without the others' code
/// beside it (docs/PERFORMANCE.md, "i15-disp").
pub fn run_slice(
    ctx: &mut Context,
    code: &Code,
    vm: &Vm,
    proc: &mut Proc<'_>,
    tier: Option<&Tier<'_, dyn TierUp + '_>>,
) -> Control {
    if vm.config.debug || vm.config.trace {
        run_traced(ctx, code, vm, proc, tier)
    } else if vm.profiler.is_some() {
        run_profiled(ctx, code, vm, proc, tier)
    } else if tier.is_some() {
        run_kinds(ctx, code, vm, proc, tier)
    } else {
        run_plain(ctx, code, vm, proc)
    }
}

/// The dispatch loop without a JIT (the tier is known to be absent, so
/// its header-block test compiles to the plain `Charge`).
#[inline(never)]
fn run_plain(ctx: &mut Context, code: &Code, vm: &Vm, proc: &mut Proc<'_>) -> Control {
    run::<false, false, false>(ctx, code, vm, proc, None)
}

/// `--debug`/`--trace`'s dispatch loop, out of line.
#[cold]
#[inline(never)]
fn run_traced(
    ctx: &mut Context,
    code: &Code,
    vm: &Vm,
    proc: &mut Proc<'_>,
    tier: Option<&Tier<'_, dyn TierUp + '_>>,
) -> Control {
    run::<true, false, true>(ctx, code, vm, proc, tier)
}

/// The dispatch loop when a JIT runs: field reads record the kinds of
/// the values they give, for its guarded loads.
#[inline(never)]
fn run_kinds(
    ctx: &mut Context,
    code: &Code,
    vm: &Vm,
    proc: &mut Proc<'_>,
    tier: Option<&Tier<'_, dyn TierUp + '_>>,
) -> Control {
    run::<false, false, true>(ctx, code, vm, proc, tier)
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
    run::<false, true, true>(ctx, code, vm, proc, tier)
}
