//! Operand stack depth analysis, from the op table's stack effects.
//!
//! The operand stack is one per process and shared by caller and callee
//! (SPEC §3.6): a function may pop what its caller pushed, so depths are
//! known relative to the frame's *base* (the stack height when the frame
//! was entered, after a CALL's arguments were popped) and, in the main
//! program's top level, absolutely (its base is an empty stack).
//!
//! Two results ([`analyse`]):
//!
//! - `Program::min_depth`: for every instruction, a lower bound on the operand
//!   stack's (absolute) height whenever it runs. Sound for every way a
//!   process can reach code — every label is a possible process entry
//!   (`SPAWN "label"`), every function entry, module start and address 0
//!   is one with nothing assumed below it — so the JIT skips the underflow
//!   check of an instruction whose operands are surely there.
//! - [`warnings`]: what `ttvm check` reports — an instruction of the main
//!   program's top level that surely finds too few operands (the most it
//!   can have is less than it pops), and top-level code (of any module)
//!   that falls through into a function's entry.
//!
//! Within one frame the analysis follows fall-through, jumps, branches and
//! a TRY's catch label (with the exception pushed, on the stack as it was
//! at the TRY); a CALL's continuation gets the callee's net effect (found
//! by the same analysis of the callee's frame, to a fixed point over the
//! functions). What the table cannot say — the arity of a Function called
//! with CALL_FUNCTION or spawned, what an imported module's top level pops
//! — makes the depth unknown (an unbounded interval) from there on; where
//! paths join, intervals join; a bound that keeps moving in a loop is
//! widened to unbounded.

use super::{Family, Instr, Program, Warning};
use std::collections::{HashMap, HashSet};

/// A depth interval, relative to some base: `lo..=hi`, with `i64::MIN`
/// and `i64::MAX` as unbounded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Range {
    lo: i64,
    hi: i64,
}

const NEG: i64 = i64::MIN;
const POS: i64 = i64::MAX;

impl Range {
    const ZERO: Range = Range { lo: 0, hi: 0 };
    const ANY: Range = Range { lo: NEG, hi: POS };

    fn add(self, d: i64) -> Range {
        Range {
            lo: if self.lo == NEG { NEG } else { self.lo + d },
            hi: if self.hi == POS { POS } else { self.hi + d },
        }
    }

    fn plus(self, e: Range) -> Range {
        Range {
            lo: if self.lo == NEG || e.lo == NEG {
                NEG
            } else {
                self.lo + e.lo
            },
            hi: if self.hi == POS || e.hi == POS {
                POS
            } else {
                self.hi + e.hi
            },
        }
    }

    fn join(self, o: Range) -> Range {
        Range {
            lo: self.lo.min(o.lo),
            hi: self.hi.max(o.hi),
        }
    }
}

/// Visits of an instruction that change its interval before the moving
/// bound is made unbounded.
const WIDEN_AFTER: u32 = 6;
/// Rounds over the functions before the effects still changing are made
/// unbounded.
const MAX_ROUNDS: u32 = 8;

/// How an instruction changes the stack, for the analyses.
enum Step {
    /// Pops and pushes these (the table's numbers, the operand resolved).
    Fixed(u32, u32),
    /// A CALL: its arguments, then the callee's net effect.
    Call { args: u32, target: u32 },
    /// Pops an unknown number (at least one: the value spawned), then
    /// pushes.
    Dynamic(u32),
    /// CALL_FUNCTION: pops the Function and its arguments, then the
    /// callee does what it does.
    DynamicCall,
    /// IMPORT: the module's top level may pop what is below it; it leaves
    /// at most what it found (its run is cut back to its base).
    Import,
}

fn step(i: &Instr) -> Step {
    if let Instr::Import(_) = i {
        return Step::Import;
    }
    if i.opcode().family() == Family::Call {
        return match i.callee() {
            Some(c) => Step::Call {
                args: c.params.len() as u32,
                target: c.target,
            },
            None => Step::DynamicCall,
        };
    }
    match i.stack_effect() {
        Some((pops, pushes)) => Step::Fixed(pops, pushes),
        None => Step::Dynamic(i.opcode().info().pushes.max(0) as u32),
    }
}

/// The in-frame successors of instruction `at` other than a CALL's
/// continuation and a TRY's catch label: fall-through, a jump's or
/// branch's target.
fn successors(p: &Program, at: usize) -> impl Iterator<Item = usize> {
    let instr = &p.code[at];
    let next = (!instr.opcode().no_fallthrough() && at + 1 < p.code.len()).then_some(at + 1);
    next.into_iter().chain(instr.target().map(|t| t as usize))
}

/// What a walk takes a CALL's callee to leave on the stack.
#[derive(Clone, Copy)]
enum Callees<'a> {
    /// The net effects found so far (absent: not known to return, so the
    /// continuation is not reached — yet).
    Found(&'a HashMap<u32, Range>),
    /// Exactly one value, whatever the callee (the direct-entry planner's
    /// assumption: a direct callee returns one value, and a call of any
    /// other leaves compiled code before the continuation runs there).
    /// A CALL_FUNCTION pops the arity the map gives its site (compiled
    /// code checks it at the call) and returns one value; a site absent
    /// from the map is not followed (its arity is being inferred), one
    /// mapped to `None` makes the height unknown.
    ReturnOne(&'a HashMap<usize, Option<u32>>),
}

impl Callees<'_> {
    fn effect(self, p: &Program, target: u32) -> Option<Range> {
        match self {
            Callees::Found(effects) => effects.get(&target).copied(),
            // A function known to return another number of values on
            // every path (`Program::returns`: `part` returning a memo and
            // a count) leaves that many: its callers' heights after the
            // call are right, and their CALL_FUNCTIONs' arities are
            // inferred (such a callee has no direct entry, so a direct
            // caller leaves at the call, `jit::direct::plan`).
            Callees::ReturnOne(_) => {
                let n = p.returns.get(&target).copied().unwrap_or(1) as i64;
                Some(Range { lo: n, hi: n })
            }
        }
    }
}

/// The result of walking one frame from its entry.
struct Walk {
    /// Depth interval (relative to the frame's base) at each reached
    /// instruction, before it runs.
    at: HashMap<usize, Range>,
    /// The join of the depths at its RETs (its net effect as a callee);
    /// `None` when no RET is reached.
    ret: Option<Range>,
}

/// Walk the frame entered at `entry` with depth `start`, with what each
/// callee leaves taken from `callees`.
///
/// `absolute`: the base is an empty stack (the main program's top level),
/// so an instruction that pops more than the most there can be surely
/// raises, and nothing after it is reached from it.
fn walk(p: &Program, entry: usize, start: Range, callees: Callees<'_>, absolute: bool) -> Walk {
    let mut at: HashMap<usize, Range> = HashMap::new();
    let mut changes: HashMap<usize, u32> = HashMap::new();
    let mut work = vec![entry];
    at.insert(entry, start);
    let mut ret: Option<Range> = None;
    let mut enter = |at: &mut HashMap<usize, Range>, work: &mut Vec<usize>, to: usize, r: Range| {
        if to >= p.code.len() {
            return;
        }
        match at.get(&to).copied() {
            None => {
                at.insert(to, r);
                work.push(to);
            }
            Some(old) => {
                let mut new = old.join(r);
                if new != old {
                    let n = changes.entry(to).or_insert(0);
                    *n += 1;
                    if *n > WIDEN_AFTER {
                        if new.lo < old.lo {
                            new.lo = NEG;
                        }
                        if new.hi > old.hi {
                            new.hi = POS;
                        }
                    }
                    at.insert(to, new);
                    work.push(to);
                }
            }
        }
    };
    while let Some(i) = work.pop() {
        let d = at[&i];
        let instr = &p.code[i];
        if instr.is_ret() {
            ret = Some(ret.map_or(d, |r| r.join(d)));
            continue;
        }
        if let Instr::Try(t) = instr {
            enter(&mut at, &mut work, t.0 as usize, d.add(1));
        }
        if absolute && d.hi != POS && d.hi < surely_pops(instr) as i64 {
            continue;
        }
        let after = match step(instr) {
            Step::Fixed(pops, pushes) => d.add(pushes as i64 - pops as i64),
            Step::Call { args, target } => {
                // The continuation, when the callee returns at all.
                if let Some(e) = callees.effect(p, target) {
                    enter(&mut at, &mut work, i + 1, d.add(-(args as i64)).plus(e));
                }
                continue;
            }
            // At least the Function or value spawned is popped.
            Step::Dynamic(pushes) => Range {
                lo: NEG,
                hi: d.add(pushes as i64 - 1).hi,
            },
            Step::DynamicCall => match callees {
                Callees::ReturnOne(arity) => match arity.get(&i) {
                    // The Function and its arguments popped, one result.
                    Some(Some(k)) => d.add(-(*k as i64)),
                    Some(None) => Range::ANY,
                    None => continue,
                },
                Callees::Found(_) => Range::ANY,
            },
            Step::Import => Range { lo: NEG, hi: d.hi },
        };
        for to in successors(p, i) {
            enter(&mut at, &mut work, to, after);
        }
    }
    Walk { at, ret }
}

/// The values an instruction surely pops (the op table's `pops` column,
/// the operand resolved; a CALL's arguments; at least the Function or the
/// value spawned for the dynamic ones).
pub fn surely_pops(i: &Instr) -> u32 {
    match step(i) {
        Step::Fixed(pops, _) => pops,
        Step::Call { args, .. } => args,
        Step::Dynamic(_) | Step::DynamicCall => 1,
        Step::Import => 0,
    }
}

/// Operand stack heights in one frame, relative to its base (the height
/// when the frame was entered, its arguments popped), with every callee
/// taken to return exactly one value: what the direct-entry planner
/// (`jit/direct.rs`) builds on. See [`frame_heights`].
pub struct FrameHeights {
    at: HashMap<usize, Range>,
    /// The arity inferred for each CALL_FUNCTION reached (see
    /// [`frame_heights`]).
    arity: HashMap<u32, u32>,
}

impl FrameHeights {
    /// The height before instruction `at` runs, when it is the same number
    /// on every path of the frame that reaches it; `None` when `at` is not
    /// reached from the entry, or the paths into it differ, or the height
    /// is unknown there (after a dynamic-arity op).
    pub fn exact(&self, at: u32) -> Option<i64> {
        let r = self.at.get(&(at as usize))?;
        (r.lo == r.hi && r.lo != NEG && r.hi != POS).then_some(r.lo)
    }

    /// The arguments the CALL_FUNCTION at `at` is taken to pass (what the
    /// heights after it assume), when one arity fits the frame's code.
    pub fn arity(&self, at: u32) -> Option<u32> {
        self.arity.get(&at).copied()
    }
}

/// The heights in the frame entered at `entry` (a CALL's target), from the
/// op table's stack effects: the same walk as the program's analysis
/// (fall-through, jumps, branches, a TRY's catch label, a CALL's
/// continuation), starting at height 0, with each callee leaving one value.
///
/// The arity of each CALL_FUNCTION (what it pops besides the Function) is
/// inferred from the frame's own code: sites are taken in address order,
/// and a site gets the largest arity (at most its height less the
/// Function) for which every instruction reached has one height on every
/// path and every RET returns one value — the arity the rest of the
/// function is written for (`fold`'s `acc x f CALL_FUNCTION STORE acc`
/// in a loop can only be 2). A site no arity fits makes the height
/// unknown after it, as before. Compiled code that relies on an arity
/// checks it at the call (issue 15: direct entries calling closures).
pub fn frame_heights(p: &Program, entry: u32) -> FrameHeights {
    let mut arity: HashMap<usize, Option<u32>> = HashMap::new();
    let run = |arity: &HashMap<usize, Option<u32>>| {
        walk(
            p,
            entry as usize,
            Range::ZERO,
            Callees::ReturnOne(arity),
            false,
        )
    };
    // What an arity breaks: instructions whose height differs on paths
    // into them (or goes below the base), RETs not returning one value.
    let broken = |w: &Walk| {
        w.at.values()
            .filter(|r| !(r.lo == r.hi && r.lo != NEG && r.hi != POS && r.lo >= 0))
            .count()
            + usize::from(w.ret.is_some_and(|r| r.lo != 1 || r.hi != 1))
    };
    // Bounded: each round settles one site, with at most `MAX_TRIES`
    // walks of the frame in all.
    const MAX_TRIES: u32 = 256;
    let mut tries = 0;
    let mut w = run(&arity);
    // A frame bigger than the JIT plans direct entries for is walked once
    // (each inference is a walk of the frame).
    const MAX_INFER: usize = 4_000;
    let infer = w.at.len() <= MAX_INFER;
    for _ in 0..if infer { 64 } else { 0 } {
        let mut open: Vec<usize> = w
            .at
            .keys()
            .copied()
            .filter(|&i| matches!(step(&p.code[i]), Step::DynamicCall) && !arity.contains_key(&i))
            .collect();
        if open.is_empty() {
            break;
        }
        open.sort_unstable();
        let site = open[0];
        let r = w.at[&site];
        // The arity that breaks least (the largest of those: in the usual
        // shape every operand pushed for the call is an argument).
        let mut chosen: Option<(usize, u32)> = None;
        if r.lo == r.hi && r.lo >= 1 && r.hi != POS {
            for k in (0..r.lo.min(256) as u32).rev() {
                tries += 1;
                if tries > MAX_TRIES {
                    break;
                }
                arity.insert(site, Some(k));
                let b = broken(&run(&arity));
                if chosen.is_none_or(|(best, _)| b < best) {
                    chosen = Some((b, k));
                }
                if b == 0 {
                    break;
                }
            }
        }
        arity.insert(site, chosen.map(|(_, k)| k));
        w = run(&arity);
    }
    // Sites left (past the rounds, or in a big frame): unknown arity, the
    // height unknown after them, as for every analysis before.
    loop {
        let open: Vec<usize> = w
            .at
            .keys()
            .copied()
            .filter(|&i| matches!(step(&p.code[i]), Step::DynamicCall) && !arity.contains_key(&i))
            .collect();
        if open.is_empty() {
            break;
        }
        for i in open {
            arity.insert(i, None);
        }
        w = run(&arity);
    }
    let arity = arity
        .into_iter()
        .filter_map(|(i, k)| Some((i as u32, k?)))
        .collect();
    FrameHeights { at: w.at, arity }
}

/// Function entries: the targets of CALL, MAKE_FUNCTION and MAKE_LAMBDA.
pub fn function_entries(p: &Program) -> Vec<u32> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for c in p.code.iter().filter_map(Instr::callee) {
        if (c.target as usize) < p.code.len() && seen.insert(c.target) {
            out.push(c.target);
        }
    }
    out
}

/// The net effect of calling each function (relative to the frame's base
/// after its arguments are popped), for the ones that can return.
fn effects(p: &Program, entries: &[u32]) -> HashMap<u32, Range> {
    let mut effects: HashMap<u32, Range> = HashMap::new();
    for round in 0.. {
        let mut changed = false;
        for &f in entries {
            let w = walk(p, f as usize, Range::ZERO, Callees::Found(&effects), false);
            let Some(new) = w.ret else { continue };
            let old = effects.get(&f).copied();
            let mut new = old.map_or(new, |o| o.join(new));
            if Some(new) != old {
                if round >= MAX_ROUNDS {
                    new = Range::ANY;
                }
                effects.insert(f, new);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    effects
}

/// The program's depth facts: per instruction, a lower bound on the
/// operand stack height whenever it runs (0 for code never reached); and
/// `ttvm check`'s warnings.
pub(super) fn analyse(p: &Program) -> (Vec<u32>, Vec<Warning>, HashMap<u32, u32>) {
    let entries = function_entries(p);
    let effects = effects(p, &entries);
    let min = lower_bounds(p, &entries, &effects);
    // The functions that return one number of values on every path.
    let returns = effects
        .iter()
        .filter(|(_, r)| r.lo == r.hi && r.lo >= 0 && r.hi < u32::MAX as i64)
        .map(|(&f, r)| (f, r.lo as u32))
        .collect();
    (min, warnings(p, &entries, &effects), returns)
}

fn lower_bounds(p: &Program, entries: &[u32], effects: &HashMap<u32, Range>) -> Vec<u32> {
    let n = p.code.len();
    // Every place a process or frame can start, with nothing assumed
    // below it: address 0, module starts, labels, function entries.
    let mut roots: Vec<usize> = vec![0];
    roots.extend(p.modules.iter().map(|m| m.start as usize));
    roots.extend(p.label_at.keys().map(|&l| l as usize));
    roots.extend(
        p.modules
            .iter()
            .flat_map(|m| m.labels.values().map(|&l| l as usize)),
    );
    roots.extend(entries.iter().map(|&e| e as usize));
    // One pass over the whole code: absolute lower bounds, joined by
    // their minimum.
    let mut min: Vec<Option<i64>> = vec![None; n];
    let mut changes = vec![0u32; n];
    let mut work = Vec::new();
    for r in roots {
        if r < n && min[r] != Some(0) {
            min[r] = Some(0);
            work.push(r);
        }
    }
    let mut lower = |min: &mut Vec<Option<i64>>, work: &mut Vec<usize>, to: usize, v: i64| {
        if to >= n {
            return;
        }
        let v = v.max(0);
        match min[to] {
            Some(old) if old <= v => {}
            Some(_) => {
                changes[to] += 1;
                min[to] = Some(if changes[to] > WIDEN_AFTER { 0 } else { v });
                work.push(to);
            }
            None => {
                min[to] = Some(v);
                work.push(to);
            }
        }
    };
    while let Some(i) = work.pop() {
        let d = min[i].expect("reached");
        let instr = &p.code[i];
        if let Instr::Try(t) = instr {
            lower(&mut min, &mut work, t.0 as usize, d + 1);
        }
        // What surely is on the stack after the instruction ran (it
        // raised otherwise).
        let after = match step(instr) {
            Step::Fixed(pops, pushes) => d.max(pops as i64) - pops as i64 + pushes as i64,
            Step::Call { args, target } => {
                if let Some(e) = effects.get(&target) {
                    let left = d.max(args as i64) - args as i64;
                    let v = if e.lo == NEG { 0 } else { left + e.lo };
                    lower(&mut min, &mut work, i + 1, v);
                }
                continue;
            }
            Step::Dynamic(pushes) => pushes as i64,
            Step::DynamicCall | Step::Import => 0,
        };
        for to in successors(p, i) {
            lower(&mut min, &mut work, to, after);
        }
    }
    min.into_iter()
        .map(|m| m.map_or(0, |v| v.min(u32::MAX as i64) as u32))
        .collect()
}

/// `ttvm check`'s depth warnings (see the module header).
fn warnings(p: &Program, entries: &[u32], effects: &HashMap<u32, Range>) -> Vec<Warning> {
    let mut out = Vec::new();
    if p.code.is_empty() {
        return out;
    }
    let is_entry: HashSet<u32> = entries.iter().copied().collect();
    // Sure underflows in the main program's top level: its base is an
    // empty stack, so the most it can hold is `hi`.
    let main = walk(p, 0, Range::ZERO, Callees::Found(effects), true);
    let mut sure: Vec<(usize, u32, i64)> = main
        .at
        .iter()
        .filter_map(|(&i, r)| {
            let pops = surely_pops(&p.code[i]);
            (r.hi != POS && r.hi < pops as i64).then_some((i, pops, r.hi.max(0)))
        })
        .collect();
    sure.sort_unstable();
    for (i, pops, have) in sure {
        let m = p.code[i].opcode().mnemonic();
        out.push(Warning::at(
            p,
            i as u32,
            format!(
                "stack underflow: {m} pops {pops} value{} but at most {have} {} on the stack here",
                if pops == 1 { "" } else { "s" },
                if have == 1 { "is" } else { "are" },
            ),
        ));
    }
    // Top-level code that falls through into a function's entry.
    let mut falls = Vec::new();
    for (m, module) in p.modules.iter().enumerate() {
        if m as u32 == p.builtin_module {
            continue;
        }
        let w = if m == 0 {
            main.at.keys().copied().collect::<Vec<_>>()
        } else {
            walk(
                p,
                module.start as usize,
                Range::ZERO,
                Callees::Found(effects),
                false,
            )
            .at
            .into_keys()
            .collect()
        };
        for i in w {
            let next = i + 1;
            let falls_in = !p.code[i].opcode().no_fallthrough()
                && next < p.code.len()
                && is_entry.contains(&(next as u32))
                && p.module_of[next] as usize == m
                // A label at the very end names the implicit HALT.
                && next != module.end as usize;
            if falls_in {
                falls.push(next);
            }
        }
    }
    falls.sort_unstable();
    falls.dedup();
    for next in falls {
        out.push(Warning::at(
            p,
            next as u32,
            format!(
                "top-level code falls through into function `{}`: end it with HALT or jump over the function",
                p.function_name(next as u32)
            ),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    /// The arity `frame_heights` infers for each CALL_FUNCTION of the
    /// frame entered at `entry` (program address → arity).
    fn arities(src: &str, entry: u32) -> Vec<(u32, Option<u32>)> {
        let p = crate::load_source("d.ttvm", src).unwrap_or_else(|e| panic!("{}", e.render()));
        let h = super::frame_heights(&p, entry);
        (0..p.code.len() as u32)
            .filter(|&a| matches!(p.code[a as usize], crate::bytecode::Instr::CallFunction(_)))
            .map(|a| (a, h.arity(a)))
            .collect()
    }

    /// A CALL_FUNCTION's arity is what the rest of its frame is written
    /// for: fold's `acc x f CALL_FUNCTION STORE acc` in a loop can only be
    /// 2; a result returned (RET returns one value) fixes it too; where
    /// nothing after it tells, every operand pushed is an argument; a
    /// site after which no arity gives one height has none.
    #[test]
    fn call_function_arities() {
        let fold = "LABEL fold\nPUSH_INT 0\nSTORE i\nLABEL top\nLOAD i\nPUSH_INT 3\nLT\nJZ done\nLOAD acc\nLOAD i\nLOAD f\nCALL_FUNCTION\nSTORE acc\nLOAD i\nPUSH_INT 1\nADD\nSTORE i\nJMP top\nLABEL done\nLOAD acc\nRET\n";
        assert_eq!(arities(fold, 0), [(9, Some(2))]);
        // `n (n - 1) self self CALL_FUNCTION MUL RET`: 2 (3 would leave
        // MUL one operand).
        let fact =
            "LOAD n\nLOAD n\nPUSH_INT 1\nSUB\nLOAD self\nLOAD self\nCALL_FUNCTION\nMUL\nRET\n";
        assert_eq!(arities(fact, 0), [(6, Some(2))]);
        // Nothing after it tells: all three operands below the Function.
        let open = "PUSH_INT 1\nPUSH_INT 2\nPUSH_INT 3\nLOAD f\nCALL_FUNCTION\nPRINT\nHALT\n";
        assert_eq!(arities(open, 0), [(4, Some(3))]);
        // Only the Function on the stack: no arguments.
        let none = "LOAD f\nCALL_FUNCTION\nRET\n";
        assert_eq!(arities(none, 0), [(1, Some(0))]);
    }

    /// A callee that returns two values on every path (`Program::returns`)
    /// leaves two: the heights after the CALL are right, so a later
    /// CALL_FUNCTION's arity is inferred (it was none: the frame's
    /// heights went below its base, each callee taken to return one).
    #[test]
    fn arities_after_a_call_returning_two_values() {
        let src = "PUSH_INT 7\nCALL divmod n\nSTORE r\nSTORE q\nLOAD q\nLOAD f\nCALL_FUNCTION\nPRINT\nHALT\nLABEL divmod\nLOAD n\nPUSH_INT 2\nDIV\nLOAD n\nPUSH_INT 2\nMOD\nRET\n";
        let p = crate::load_source("d.ttvm", src).unwrap_or_else(|e| panic!("{}", e.render()));
        assert_eq!(p.returns.get(&9), Some(&2));
        assert_eq!(arities(src, 0), [(6, Some(1))]);
        let h = super::frame_heights(&p, 0);
        assert_eq!(h.exact(2), Some(2));
        assert_eq!(h.exact(4), Some(0));
    }

    fn min_depth(src: &str) -> Vec<u32> {
        let p = crate::load_source("d.ttvm", src).unwrap_or_else(|e| panic!("{}", e.render()));
        let n = p.modules[0].end as usize;
        p.min_depth[..n].to_vec()
    }

    #[test]
    fn straight_line_depths() {
        assert_eq!(
            min_depth("PUSH_INT 1\nPUSH_INT 2\nADD\nPRINT\nHALT\n"),
            [0, 1, 2, 1, 0]
        );
    }

    /// A label can start a process (`SPAWN "l"`): nothing is assumed
    /// there, whatever the path into it pushed.
    #[test]
    fn a_label_knows_nothing() {
        assert_eq!(min_depth("PUSH_INT 1\nLABEL l\nPOP\nHALT\n"), [0, 0, 0]);
        assert_eq!(
            min_depth("PUSH_INT 1\nPUSH_INT 2\nPOP\nPOP\nHALT\n"),
            [0, 1, 2, 1, 0]
        );
    }

    /// A call's continuation has what the callee leaves; CALL_FUNCTION's
    /// nothing known; a callee taking its caller's operands leaves less.
    #[test]
    fn calls() {
        assert_eq!(
            min_depth("PUSH_INT 1\nCALL f\nADD\nPRINT\nHALT\nLABEL f\nPUSH_INT 2\nRET\n"),
            [0, 1, 2, 1, 0, 0, 1]
        );
        assert_eq!(
            min_depth("PUSH_INT 1\nPUSH_INT 1\nCALL g\nPRINT\nHALT\nLABEL g\nADD\nRET\n"),
            [0, 1, 2, 1, 0, 0, 1]
        );
        assert_eq!(
            min_depth(
                "PUSH_INT 1\nMAKE_FUNCTION f\nCALL_FUNCTION\nPOP\nHALT\nLABEL f\nPUSH_INT 2\nRET\n"
            ),
            [0, 1, 2, 0, 0, 0, 1]
        );
    }
}
