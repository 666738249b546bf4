//! When a unit is compiled: the cost policy (docs/JIT.md, "When a unit is
//! compiled"), an experiment: on only when the environment variable
//! [`FACTOR_VAR`] is set (and no `--jit-threshold` is given), because
//! measured on the repository's programs it made more of them slower than
//! the fixed threshold than it made faster (docs/PERFORMANCE.md, "Tier-up
//! by cost").
//!
//! Compiling a unit costs about 400,000 machine instructions per bytecode
//! instruction (Cranelift's work, docs/PERFORMANCE.md), interpreting one
//! about 15–60. A unit that runs less than its compile cost is cheaper
//! left interpreted; one that runs longer pays it back. Without
//! `--jit-threshold`, a unit is compiled once the work interpreted in it,
//! counted at its header blocks, reaches its estimated compile cost times
//! [`FACTOR`] (the ski-rental rule: what is spent waiting is at most what
//! compiling costs, so a short run is never much slower than interpreting
//! and a long one reaches compiled speed early on; [`FACTOR`] leans to
//! interpreting, as the estimate is rough). Each entry into a
//! header adds what one pass through it interprets ([`weights`]); the
//! estimate of the compile cost is [`UnitPlan::cost`], with closure-call
//! sites weighed for the candidate calls compiled at each ([`budget`]).

use super::UnitPlan;
use crate::bytecode::{Instr, Program};

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

/// What a call adds to the work of one entry into its callee: the
/// interpreter's CALL and RET cost about what 24 plain instructions do
/// (fib: ~540 machine instructions per call of ~11 instructions, ~15
/// per plain instruction).
const CALL_WORK: usize = 24;

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

/// The most one entry into a function weighs: its loops count at their
/// own headers.
const MAX_CALL_WEIGHT: usize = 64;

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

/// The instructions one pass through the loop whose header is at `h` and
/// whose furthest backward branch is at `j` interprets, estimated: the
/// blocks from `h` to `j`, each weighed by the chance that a pass reaches
/// it when every branch goes either way as often (a chain of tests that
/// dispatches on a value, an if/else, costs its first tests and one arm,
/// not every arm as the loop's length would say).
fn pass_work(p: &Program, h: usize, j: usize) -> u32 {
    let mut reach = vec![0f64; j - h + 1];
    reach[0] = 1.0;
    let mut work = 0f64;
    let mut a = h;
    while a <= j {
        let len = (p.block_cost[a] as usize).max(1);
        let here = reach[a - h].min(1.0);
        work += here * len as f64;
        let next = super::lower::successors(p, a as u32);
        if !next.is_empty() {
            let share = here / next.len() as f64;
            for t in next {
                let t = t as usize;
                if t > a && t <= j {
                    reach[t - h] += share;
                }
            }
        }
        a += len;
    }
    work.ceil().max(1.0) as u32
}

/// Program address → the instructions one entry there interprets, for
/// the blocks that count toward hotness: a loop header one pass through
/// its loop's body ([`pass_work`]), a function's entry its unit's size
/// (at most [`MAX_CALL_WEIGHT`]) and [`CALL_WORK`], any other block start
/// its block.
pub(super) fn weights(p: &Program, plan_of: &[u32], size_of: impl Fn(u32) -> usize) -> Vec<u32> {
    let n = p.code.len();
    let mut w: Vec<u32> = p.block_cost.clone();
    // Each loop header's furthest backward branch.
    let mut last = vec![0usize; n];
    for (j, instr) in p.code.iter().enumerate() {
        if let Some(t) = instr.target().filter(|&t| t as usize <= j) {
            last[t as usize] = last[t as usize].max(j);
        }
    }
    for (t, &j) in last.iter().enumerate() {
        if j >= t && p.code[j].target() == Some(t as u32) {
            w[t] = w[t].max(pass_work(p, t, j));
        }
    }
    for instr in &p.code {
        if let Some(c) = instr.callee().filter(|c| (c.target as usize) < n) {
            let t = c.target as usize;
            let body = size_of(plan_of[t]).min(MAX_CALL_WEIGHT) + CALL_WORK;
            w[t] = w[t].max(body as u32);
        }
    }
    w
}
