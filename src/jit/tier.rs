//! When a unit is compiled: the cost policy (docs/JIT.md, "When a unit is
//! compiled"), an experiment: on only when the environment variable
//! [`FACTOR_VAR`] is set (and no `--jit-threshold` is given).
//!
//! Compiling a unit costs about 400,000 machine instructions per bytecode
//! instruction (Cranelift's work, docs/PERFORMANCE.md), interpreting one
//! about 15–60. A unit that runs less than its compile cost is cheaper
//! left interpreted; one that runs longer pays it back. Without
//! `--jit-threshold`, a unit is compiled once the work interpreted in it
//! reaches its estimated compile cost times [`FACTOR`] (the ski-rental
//! rule: what is spent waiting is at most what compiling costs, so a short
//! run is never much slower than interpreting and a long one reaches
//! compiled speed early on). The work is measured, not estimated: the
//! reductions the interpreter charges between one header block and the
//! next are the first one's unit's ([`Work`]), so a loop is charged what
//! its passes run, a function what its calls run. The estimate of the
//! compile cost is [`UnitPlan::cost`], with closure-call sites weighed
//! for the candidate calls compiled at each ([`budget`]).

use super::{Jit, UnitPlan};
use crate::bytecode::{Instr, Program};
use crate::exec::Dpc;
use std::cell::Cell;
use std::sync::atomic::Ordering;

/// Instructions interpreted in a unit per unit of its estimated compile
/// cost before it is compiled. Measured (cachegrind, docs/PERFORMANCE.md,
/// "Tier-up by cost"): 4,500 and 9,000 compile the short programs' units
/// near their end (paying the compile without its gain); 18,000 leaves
/// them interpreted and delays a hot loop by well under 1 % of a
/// benchmark's run.
const FACTOR: u64 = 18_000;

/// Units whose estimated compile cost is below this are compiled after
/// `--jit-threshold` entries, as without the cost policy: they cost little
/// to compile, and waiting for them delays hot loops for nothing.
const MIN_COST: usize = 150;

/// Environment variable that sets [`MIN_COST`] (experiments).
pub const MIN_COST_VAR: &str = "TTVM_JIT_TIER_MIN_COST";

/// [`MIN_COST`], or the value of [`MIN_COST_VAR`].
pub(super) fn min_cost() -> usize {
    knob(MIN_COST_VAR, MIN_COST)
}

/// Environment variable that turns the cost policy on with its value as
/// the factor ([`FACTOR`] when it is not a number).
pub const FACTOR_VAR: &str = "TTVM_JIT_TIER_FACTOR";

/// What a CALL_FUNCTION adds to the estimate: its candidates' guards and
/// direct calls (about 3.5 KB of code per site, measured on
/// benches/checks/varied/closure_list.ttvm).
const CALL_FUNCTION_COST: usize = 40;

/// What compiled code coming back into an interpreted unit adds to its
/// work (a call the unit made into compiled code returned through the
/// engine): the way into and out of compiled code, about 300–400 machine
/// instructions, which a compiled caller would not pay.
const RETURN_WORK: u32 = 32;

/// Environment variable that sets [`RETURN_WORK`] (experiments).
pub const RETURN_VAR: &str = "TTVM_JIT_RETURN_WORK";

/// [`RETURN_WORK`], or the value of [`RETURN_VAR`].
pub(super) fn return_work() -> u32 {
    knob(RETURN_VAR, RETURN_WORK)
}

/// Two tiers (docs/JIT.md, "Two tiers"), an experiment: off unless the
/// environment variable [`SECOND_VAR`] is set to the number of entries
/// into a unit's first-tier code, per instruction of the unit, after
/// which the second tier compiles it again. The engine enters a unit's
/// code at every slice that starts in it and at every call from
/// interpreted code, so a loop that keeps running in it is counted once
/// per slice. Off because measured it made more programs slower than
/// faster: the first tier saves about 45 % of a compile, not enough to
/// pay for its slower code and for compiling twice
/// (docs/PERFORMANCE.md, "Cranelift 0.132 and a first tier").
const SECOND_FACTOR: u32 = 0;

/// Fewest entries before the second tier (for units of a few
/// instructions).
const SECOND_MIN: u32 = 256;

/// Environment variable that sets [`SECOND_FACTOR`] (0: one tier, every
/// unit compiled by the optimising code generator).
pub const SECOND_VAR: &str = "TTVM_JIT_SECOND_TIER";

/// [`SECOND_FACTOR`], or the value of [`SECOND_VAR`].
pub(super) fn second_factor() -> u32 {
    knob(SECOND_VAR, SECOND_FACTOR)
}

/// Entries into `plan`'s first-tier code at which it is compiled again.
pub(super) fn second_tier_at(plan: &UnitPlan, factor: u32) -> u32 {
    (plan.size as u64 * u64::from(factor)).clamp(u64::from(SECOND_MIN), u64::from(u32::MAX / 2))
        as u32
}

/// [`FACTOR`], or the value of [`FACTOR_VAR`].
pub(super) fn factor() -> u64 {
    knob(FACTOR_VAR, FACTOR)
}

/// The value of the tuning variable `name` (the JIT's experiments:
/// [`FACTOR_VAR`], [`SECOND_VAR`], `direct::HEAT_VAR`), or `default` when
/// it is unset; a value that is not a whole number in range is reported on
/// stderr (what was given, what is used instead) and `default` is used.
pub(crate) fn knob<T: std::str::FromStr + std::fmt::Display + Copy>(name: &str, default: T) -> T {
    let Some(v) = std::env::var_os(name) else {
        return default;
    };
    match v.to_str().and_then(|s| s.trim().parse().ok()) {
        Some(x) => x,
        None => {
            eprintln!(
                "ttvm: ignoring {name}={}: not a whole number from 0 up (using {default})",
                v.to_string_lossy()
            );
            default
        }
    }
}

/// The work interpreted in `plan` at which it is compiled.
pub(super) fn budget(p: &Program, plan: &UnitPlan, factor: u64) -> u32 {
    let closure_calls = p
        .code
        .iter()
        .enumerate()
        .filter(|(i, instr)| {
            matches!(instr, Instr::CallFunction(_))
                && p.layout_of[*i] == plan.layout
                && plan_covers(p, plan, *i)
        })
        .count();
    let cost = (plan.cost + CALL_FUNCTION_COST * closure_calls) as u64;
    (cost * factor).min(u64::from(u32::MAX / 2)) as u32
}

/// Instruction `i` of `plan`'s layout is in `plan` (a part covers its
/// range of blocks).
fn plan_covers(p: &Program, plan: &UnitPlan, i: usize) -> bool {
    if plan.part.is_none() {
        return true;
    }
    let first = plan.cont.or(plan.blocks.first().copied());
    let last = plan.blocks.last().copied();
    match (first, last) {
        (Some(f), Some(l)) => {
            let end = plan
                .cut
                .map_or(l as usize + p.block_cost[l as usize] as usize, |c| {
                    c as usize
                });
            (f as usize) <= i && i < end
        }
        _ => false,
    }
}

/// No unit: a [`Work`] that measures nothing (the cost policy is off, or
/// the slice started where no unit compiled by cost is).
const NO_UNIT: u32 = u32::MAX;

/// The work a slice interprets, measured for the cost policy (one per
/// slice of the interpreter, on its thread): the unit whose header block
/// the interpreter passed last, or in which the slice started, and the
/// slice's budget then. The reductions charged from there to the next
/// header (or the slice's end) are that unit's work: the blocks it runs,
/// and those of the tiny units it calls, which have no headers of their
/// own; a unit's loop is charged pass by pass at its header.
pub struct Work {
    unit: Cell<u32>,
    mark: Cell<i64>,
}

impl Jit {
    /// The cost policy is on: the interpreter's hook measures the work
    /// of each slice ([`Work`]).
    #[inline]
    pub fn measures_work(&self) -> bool {
        self.cost_policy
    }

    /// The [`Work`] of a slice of the interpreter that starts at decoded
    /// address `pc` with `budget` reductions.
    #[inline]
    pub fn work_at(&self, pc: Dpc, budget: i64) -> Work {
        let unit = if self.cost_policy {
            self.unit_at(pc)
        } else {
            NO_UNIT
        };
        Work {
            unit: Cell::new(unit),
            mark: Cell::new(budget),
        }
    }

    /// The unit compiled by cost, not compiled yet, whose code is at
    /// decoded address `pc` ([`NO_UNIT`] if none).
    fn unit_at(&self, pc: Dpc) -> u32 {
        let Some(&u) = self
            .layout
            .get_addr(pc)
            .and_then(|a| self.plan_of.get(a.ix()))
        else {
            return NO_UNIT;
        };
        let unit = &self.units[u as usize];
        if unit.by_cost && unit.code.load(Ordering::Relaxed) == 0 {
            u
        } else {
            NO_UNIT
        }
    }

    /// The interpreter asks at the header block at `pc` with `budget`
    /// reductions left in its slice ([`Jit::tier_up`]): the work since
    /// the last header is charged to that header's unit first, and a unit
    /// compiled by cost counts only that (not its entries).
    #[inline]
    pub fn ask(&self, pc: Dpc, budget: i64, work: &Work) -> bool {
        if !self.cost_policy {
            return self.tier_up(pc, false);
        }
        let Some(Some(b)) = self.blocks.get(pc.ix()).copied() else {
            return false;
        };
        self.charge(work, budget);
        let u = &self.units[b.unit as usize];
        if !u.by_cost {
            work.unit.set(NO_UNIT);
            return self.tier_up(pc, false);
        }
        // T5: pairs with T4's Release (the unit may have been compiled
        // just now, by the charge).
        if u.code.load(Ordering::Acquire) != 0 {
            return true;
        }
        let failed = u.failed.load(Ordering::Relaxed);
        work.unit.set(if failed { NO_UNIT } else { b.unit });
        false
    }

    /// The interpreter passed the header block at `pc` with `budget`
    /// reductions left without asking (`work`'s unit is charged; the work
    /// from here is `pc`'s unit's).
    pub fn pass(&self, pc: Dpc, budget: i64, work: &Work) {
        if !self.cost_policy {
            return;
        }
        self.charge(work, budget);
        work.unit.set(self.unit_at(pc));
    }

    /// The work of `work`'s unit up to now, with `budget` reductions left
    /// in the slice: added to its count, and the unit compiled (or queued)
    /// when the count reaches its budget (compiled code then takes over at
    /// its next header, or the next slice that starts in it).
    #[inline]
    pub fn charge(&self, work: &Work, budget: i64) {
        let unit = work.unit.get();
        let spent = work.mark.get() - budget;
        work.mark.set(budget);
        if unit == NO_UNIT || spent <= 0 {
            return;
        }
        let u = &self.units[unit as usize];
        if u.code.load(Ordering::Relaxed) != 0 || u.failed.load(Ordering::Relaxed) {
            work.unit.set(NO_UNIT);
            return;
        }
        let w = spent.min(i64::from(u32::MAX / 2)) as u32;
        // T2: a count; no data is published with it. Work goes on being
        // counted while the unit waits in the queue (B2).
        if u.hot.fetch_add(w, Ordering::Relaxed).saturating_add(w) >= u.budget {
            self.request(unit as usize, super::compile::Why::Hot);
        }
    }
}
