//! Direct calls: which functions get a second compiled entry with a
//! register calling convention, and what their code may assume.
//!
//! A compiled unit's ordinary code keeps every frame in the process's
//! memory: a CALL writes a frame record and the callee's variable slots, a
//! RET reads them back, and the operand stack lives in memory between
//! blocks. That is what lets the engine enter and leave compiled code at
//! any block, but a call costs a few dozen stores and loads.
//!
//! A function whose code is simple enough also gets a *direct* entry (a
//! Cranelift function of the `tail` calling convention): its arguments,
//! result and the reduction budget travel in registers, its variables and
//! operands are SSA values, and nothing about its frame is written to
//! memory — unless it has to leave compiled code. Then (preemption at a
//! block start, a guard that fails, a call it cannot make natively) the
//! frame writes itself into the process at the place reserved for it, and
//! each direct caller on the way out writes its own frame below it, so the
//! engine finds exactly the state the interpreter would have made
//! (`lower::direct`).
//!
//! The places are known without writing anything: a direct function is
//! called with its frame's index, its first slot and the operand stack
//! height below its arguments, and passes the sums on to its callees.
//!
//! What makes a function eligible (checked here, statically, from its
//! entry): every path stays in its own frame layout and uses only
//! instructions the JIT lowers inline (constants, stack shuffles,
//! arithmetic, comparisons, logic, the number operations of the library,
//! LOAD, STORE, jumps, CALL, RET), the list, object and string operations
//! it lowers inline ([`heap_inline`]) or through the `value` helper
//! ([`value_helper`]), CALL_FUNCTION of an arity inferred from the code
//! (guarded calls of function values, `lower/values.rs`); the operand stack height is the same on every path
//! into a block and never goes below the frame's own operands; every RET
//! returns the same number of values (at most [`MAX_RETURNS`], returned in
//! registers); a tail call (CALL then RET) has nothing
//! below its arguments. A direct function holds counted values as
//! ordinary code does (arguments owned, the result owned, every slot and
//! operand one reference; docs/JIT.md, "Counted values").

use crate::bytecode::{frame_heights, surely_pops, Flow, Instr, OptField, Program};
use crate::interp::callees::Seen;
use std::collections::HashMap;

/// Instructions of a function beyond which it gets no direct entry.
const MAX_INSTRUCTIONS: usize = 2000;
/// Variable slots, and operand stack height at a block start, beyond which
/// a function gets no direct entry (they bound what a chain of direct
/// calls can use; see [`Bounds`]).
const MAX_SLOTS: u32 = 256;
const MAX_HEIGHT: usize = 256;
/// Values a direct entry returns at most (in registers: each a tag and a
/// payload, then the budget; Cranelift's `tail` convention returns up to
/// eight integers in registers on x86-64).
pub(crate) const MAX_RETURNS: usize = 3;

/// The fields of a direct entry's `place` argument.
pub(crate) struct Place;

impl Place {
    /// Bits 0..16: frames the chain may still make.
    pub const LEFT_MASK: i64 = 0xffff;
    /// Bits 16..40: operand stack height below the arguments.
    pub const SB_SHIFT: i64 = 16;
    pub const SB_MASK: i64 = 0xff_ffff;
    /// Bits 40..64: the first variable slot.
    pub const LB_SHIFT: i64 = 40;
    /// The largest stack height or slot index a field holds.
    pub const FIELD_MAX: usize = 0xff_ffff;
}

/// The fields of the descriptor a direct frame passes when it leaves
/// compiled code: its entry's program address (bits 0..32), its slots,
/// its parameters and the operands it holds.
pub(crate) struct Desc;

impl Desc {
    pub const SIZE_SHIFT: u64 = 32;
    pub const PARAMS_SHIFT: u64 = 41;
    pub const ITEMS_SHIFT: u64 = 50;
    pub const FIELD_MASK: u64 = 0x1ff;

    pub fn pack(target: u32, size: u32, params: usize, items: usize) -> u64 {
        debug_assert!(size as u64 <= Self::FIELD_MASK && params as u64 <= Self::FIELD_MASK);
        target as u64
            | (size as u64) << Self::SIZE_SHIFT
            | (params as u64) << Self::PARAMS_SHIFT
            | (items as u64) << Self::ITEMS_SHIFT
    }
}

/// What a chain of direct calls can use at most, over every direct entry
/// of the program: per frame, operands below a call's arguments and
/// variable slots; and operand stack room at any block start.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Bounds {
    pub below: usize,
    pub slots: usize,
    pub need: usize,
}

impl Bounds {
    pub fn of<'a>(plans: impl Iterator<Item = &'a DirectPlan>) -> Bounds {
        plans.fold(Bounds::default(), |b, p| Bounds {
            below: b.below.max(p.max_depth()),
            slots: b.slots.max(p.size as usize),
            need: b.need.max(p.need),
        })
    }
}

/// A function that can be called directly, and what its lowering needs.
#[derive(Debug, Clone)]
pub(crate) struct DirectPlan {
    /// Program address of its entry (the CALL target).
    pub target: u32,
    /// The slots its arguments go to, in order (the CALL's parameters).
    pub params: Vec<u32>,
    /// Variable slots of its frame.
    pub size: u32,
    /// Its blocks' program addresses, ascending (the entry first).
    pub blocks: Vec<u32>,
    /// Operand stack height (above the frame's base) at each block start.
    pub depth: HashMap<u32, usize>,
    /// The most operand stack room any block asks for at its start, above
    /// the frame's base: height + 2 × cost, as the interpreter's charge
    /// checks it.
    pub need: usize,
    /// Whether it makes calls that add a frame (not tail calls).
    pub calls: bool,
    /// Each block's predecessors (blocks with an edge into it; the entry
    /// has the call besides).
    pub preds: HashMap<u32, Vec<u32>>,
    /// The arguments each CALL_FUNCTION passes (`frame_heights`' arity;
    /// compiled code calls only candidates of that arity).
    pub arity: HashMap<u32, usize>,
    /// How many of `params` come from the operand stack (the rest, of a
    /// closure's entry, are its captured variables).
    pub stack_args: usize,
    /// It calls itself (a CALL of its own entry that is not a tail call):
    /// a recursion, whose calls come from its own code.
    pub recursive: bool,
    /// The values every RET of the function returns (`Program::returns`;
    /// 1 unless that says otherwise), at most [`MAX_RETURNS`]: the direct
    /// entry returns them in registers (`code::direct_sig`).
    pub rets: usize,
}

/// Direct entries on heat (docs/JIT.md, "Direct entries on heat"): a
/// function's direct entry is compiled once what it would have saved so
/// far reaches what it costs to compile (the ski-rental rule), both
/// measured with cachegrind (docs/PERFORMANCE.md, "Direct entries: the
/// bar by compiled size"):
/// - compiling an entry costs 1,900–5,300 machine instructions per byte
///   of its function's compiled ordinary code (about 2,000–2,400 per byte
///   of the entry itself, which is 0.8–2.4 times as large), known when the
///   question is asked: the entry is compiled only after its unit;
/// - a call out of its code into a function's direct entry saves about
///   120 (floodfill's `bfs`: its loop runs a third fewer instructions in
///   its entry), a call into it, or out of it, through a memory frame
///   about [`FRAME_CALL_WEIGHT`] times that (fib: ~470).
///
/// So, counting calls in units of the first, the entry is compiled once
/// [`FRAME_CALL_WEIGHT`] × the calls into it through memory frames plus
/// the weighted calls out of its ordinary code reach
/// [`HOT_CALLS_PER_BYTE`] per byte of its compiled ordinary code (scaled
/// with `--jit-threshold`: at 2, a few calls, so the golden `jit-mixed`
/// mode compiles entries almost at once).
const HOT_CALLS_PER_BYTE: u64 = 17;
/// What a call through a memory frame (into the function, or out of it
/// to a function that can have a direct entry) counts, against 1 for a
/// call out of it into a compiled direct entry.
pub(crate) const FRAME_CALL_WEIGHT: u32 = 4;
/// Calls into a function, and calls out of one, between two questions
/// to `Jit::hot_call` (scaled as the counts are).
const ASK_CALLS: u64 = 16;
const ASK_WORK: u64 = 256;

/// Environment variable: the bar of direct entries on heat in percent of
/// [`HOT_CALLS_PER_BYTE`] (an experiment knob, like
/// `TTVM_JIT_TIER_FACTOR`; docs/PERFORMANCE.md, "Direct entries: the bar
/// by compiled size").
pub const HEAT_VAR: &str = "TTVM_JIT_DIRECT_HEAT";

/// `threshold` scaled by [`HEAT_VAR`] percent (at least 1 unless 0): what
/// `DirectPlan::hot` scales its bar with.
pub(crate) fn heat_threshold(threshold: u32) -> u32 {
    let pct: u64 = super::tier::knob(HEAT_VAR, 100);
    if threshold == 0 {
        return 0;
    }
    (threshold as u64 * pct / 100).clamp(1, u32::MAX as u64) as u32
}

/// `n` scaled by `threshold` against its default of 1,000, at least 1.
fn scaled(n: u64, threshold: u32) -> u64 {
    (n * threshold as u64 / 1000).max(1)
}

fn mask(n: u64, threshold: u32) -> u32 {
    (scaled(n, threshold).min(1 << 20) as u32).next_power_of_two() - 1
}

/// The mask of a callee's count of calls at whose zeros compiled code
/// asks `Jit::hot_call`.
pub(crate) fn calls_mask(threshold: u32) -> u32 {
    mask(ASK_CALLS, threshold)
}

/// The mask of a function's count of the calls its ordinary code makes
/// at whose zeros that code asks `Jit::hot_call` about the function.
pub(crate) fn work_mask(threshold: u32) -> u32 {
    mask(ASK_WORK, threshold).max(2 * FRAME_CALL_WEIGHT.next_power_of_two() - 1)
}

impl DirectPlan {
    /// Whether its direct entry is worth compiling after `calls` calls
    /// into it through memory frames and `work` weighted calls out of its
    /// ordinary code, whose compiled size is `bytes` (0: not compiled),
    /// at `--jit-threshold` `threshold` (see `HOT_CALLS_PER_BYTE`).
    pub fn hot(&self, calls: u32, work: u32, bytes: u32, threshold: u32) -> bool {
        if bytes == 0 {
            // Its unit is not compiled yet: asked again when it is.
            return false;
        }
        let need = HOT_CALLS_PER_BYTE * bytes as u64;
        let have = FRAME_CALL_WEIGHT as u64 * calls as u64 + work as u64;
        have >= scaled(need, threshold)
    }

    /// The calls that count toward its direct entry (`hot`): `frames`,
    /// made through memory frames by compiled code, and, for a function
    /// that calls itself and has no loop, `interpreted`, its unit's `hot`
    /// count — then exactly the calls into it made while it was
    /// interpreted, which come from the recursion itself and which its
    /// own ordinary code makes through memory frames once compiled
    /// (docs/JIT.md, "Direct entries on heat"). With a compiler thread
    /// that count goes on while the unit waits and compiles (fib: tens
    /// of thousands of calls), so a recursion's entry can be wanted when
    /// its unit is compiled and compiled in the same job.
    pub fn counted_calls(&self, frames: u32, interpreted: u32) -> u32 {
        if self.recursive && !self.has_loops() {
            frames.saturating_add(interpreted)
        } else {
            frames
        }
    }

    /// Whether a block of it has an edge into itself or an earlier block.
    pub fn has_loops(&self) -> bool {
        self.preds.iter().any(|(b, ps)| ps.iter().any(|q| q >= b))
    }

    /// The most values on the operand stack at any block start.
    pub fn max_depth(&self) -> usize {
        self.depth.values().copied().max().unwrap_or(0)
    }

    /// Its loops: each header (a block with an edge into it from itself
    /// or a later block) and its natural loop (the blocks that reach the
    /// source of such an edge without passing the header, the header
    /// included).
    fn loops(&self) -> Vec<(u32, std::collections::BTreeSet<u32>)> {
        let mut out = Vec::new();
        for &h in &self.blocks {
            let tails: Vec<u32> = self
                .preds
                .get(&h)
                .into_iter()
                .flatten()
                .copied()
                .filter(|&q| q >= h)
                .collect();
            if tails.is_empty() {
                continue;
            }
            let mut body = std::collections::BTreeSet::from([h]);
            let mut work = tails;
            while let Some(b) = work.pop() {
                if body.insert(b) {
                    work.extend(self.preds.get(&b).into_iter().flatten().copied());
                }
            }
            out.push((h, body));
        }
        out
    }

    /// The loops a preempted frame of this function resumes in direct
    /// code (docs/JIT.md, "Resuming"): all of them. The direct entry
    /// knows the variables' tags across its loop headers as ordinary code
    /// does (`lower::direct::HeaderFacts`), and a resumed frame whose tags
    /// differ from what a header assumes leaves for its ordinary code.
    fn resumed_loops(&self) -> Vec<(u32, std::collections::BTreeSet<u32>)> {
        self.loops()
    }

    /// The blocks a preempted frame of this function resumes at in its
    /// direct entry: the headers of the loops of `resumed_loops`,
    /// ascending. A frame is preempted only at block starts, and in a
    /// loop at its header at least once per iteration (the back edge is
    /// a block start); a frame whose slice starts elsewhere in the loop is
    /// run by the interpreter up to the header (`loop_bodies`), so the
    /// entries stay few (each adds edges into its block, which the
    /// register allocator pays for).
    pub fn resumes(&self) -> Vec<u32> {
        self.resumed_loops().into_iter().map(|(h, _)| h).collect()
    }

    /// The blocks inside the loops of `resumed_loops` that are not their
    /// headers, ascending. A frame whose slice starts at one of them is
    /// run by the interpreter up to the next header, where it resumes in
    /// direct code (docs/JIT.md, "Resuming").
    pub fn loop_bodies(&self) -> Vec<u32> {
        let loops = self.resumed_loops();
        let heads: Vec<u32> = loops.iter().map(|l| l.0).collect();
        let mut inside = std::collections::BTreeSet::new();
        for (_, body) in loops {
            inside.extend(body);
        }
        inside.into_iter().filter(|b| !heads.contains(b)).collect()
    }
}

/// Whether a direct function may contain `i` besides jumps, CALL and RET:
/// the JIT lowers it inline, it stays in its block, its stack effect is
/// fixed (the op table's `jit`, `control` and `pops`/`pushes` columns),
/// and it neither takes nor makes heap values (no string constant:
/// PUSH_STR is a helper op).
fn in_block(i: &Instr) -> bool {
    let op = i.opcode();
    let lowered = op.jit().is_inline()
        || heap_inline(i)
        || borrowed_helper(i)
        || value_helper(i)
        || library_helper(i);
    lowered && op.info().control == Flow::Next && i.stack_effect().is_some()
}

/// The list, object and string instructions a direct entry lowers inline
/// (the op table's `inline_heap`, and a string constant): LEN, INDEX, and
/// GET_FIELD / HAS_FIELD of a constant name (the cached read), PUSH_STR
/// (one more reference to the program's string).
pub(crate) fn heap_inline(i: &Instr) -> bool {
    matches!(
        i,
        Instr::Len(_)
            | Instr::Index(_)
            | Instr::GetField(OptField(Some(_)))
            | Instr::HasField(OptField(Some(_)))
            | Instr::PushStr(_)
    )
}

/// The instructions every environment that counts references runs
/// through the `data` helper with their operands borrowed
/// (`Lower::borrowed_op`): GET_FIELD and HAS_FIELD of a name on the
/// stack, TO_STR, TO_INT, TO_FLOAT, KEYS (issue 15: functions using them
/// get direct entries; one that raises leaves at it, for the interpreter
/// to raise).
pub(crate) fn borrowed_helper(i: &Instr) -> bool {
    matches!(
        i,
        Instr::GetField(OptField(None))
            | Instr::HasField(OptField(None))
            | Instr::ToStr(_)
            | Instr::ToInt(_)
            | Instr::ToFloat(_)
            | Instr::Keys(_)
    )
}

/// The instructions a direct entry runs through the `value` helper, on
/// values it owns (in place when unshared): MAKE_LIST, MAKE_OBJECT,
/// APPEND, SET_INDEX, CONCAT, EXTEND, SET_FIELD and DELETE_FIELD of a
/// constant name or of a key on the stack (MAKE_LIST of a few values and APPEND to an
/// unshared list with room are inline, `lower/data.rs`).
pub(crate) fn value_helper(i: &Instr) -> bool {
    matches!(
        i,
        Instr::MakeList(_)
            | Instr::MakeObject(_)
            | Instr::Append(_)
            | Instr::SetIndex(_)
            | Instr::Concat(_)
            | Instr::Extend(_)
            | Instr::SetField(_)
            | Instr::DeleteField(_)
    )
}

/// The library's string, list and number operations a direct entry runs
/// through the `value` helper on values it owns (`library::pure`:
/// SUBSTR, SPLIT, ORD, SLICE, …; `lower/strings.rs`); one that raises
/// leaves at it, for the interpreter to raise (issue 15).
pub(crate) fn library_helper(i: &Instr) -> bool {
    crate::library::pure(i.opcode())
}

/// Whether no slot is listed twice (a CALL binding a variable twice is
/// left to the interpreter's order of binding).
pub(crate) fn distinct(slots: &[u32]) -> bool {
    let mut s = slots.to_vec();
    s.sort_unstable();
    s.windows(2).all(|w| w[0] != w[1])
}

/// Whether the function entered at `target` with arguments bound to
/// `params` can have a direct entry, and its plan if so.
///
/// The operand stack heights are the depth analysis's
/// ([`bytecode::frame_heights`](crate::bytecode::frame_heights), from the
/// op table's stack effects, each callee taken to return one value, each CALL_FUNCTION to pass its inferred arity); this
/// walk checks what the code may contain and collects its blocks.
pub(crate) fn plan(p: &Program, target: u32, params: &[u32]) -> Result<DirectPlan, String> {
    let t = target as usize;
    if t >= p.code.len() || !p.block_start[t] {
        return Err("its entry is not a block start".into());
    }
    let layout = p.layout_of[t];
    let size = p.layouts[layout as usize].names.len() as u32;
    if !distinct(params) || params.iter().any(|&s| s >= size) {
        return Err("its parameters are not distinct variables".into());
    }
    // The values it returns: what every RET of it returns, as the depth
    // analysis found (one when it found no one number: a RET returning
    // another is refused below).
    let rets = p.returns.get(&target).map_or(1, |&n| n as usize);
    if rets > MAX_RETURNS {
        return Err(format!(
            "it returns {rets} values (more than {MAX_RETURNS})"
        ));
    }
    let heights = frame_heights(p, target);
    let mut depth: HashMap<u32, usize> = HashMap::new();
    let mut work = vec![target];
    let mut need = 0;
    let mut calls = false;
    let mut recursive = false;
    let mut count = 0;
    let mut preds: HashMap<u32, Vec<u32>> = HashMap::new();
    let mut arity: HashMap<u32, usize> = HashMap::new();
    // A block start's height, the same on every path into it.
    let height_at = |depth: &mut HashMap<u32, usize>, to: u32| -> Result<usize, String> {
        match heights.exact(to) {
            Some(d) if d >= 0 => {
                depth.insert(to, d as usize);
                Ok(d as usize)
            }
            _ => Err(format!(
                "the operand stack height differs on paths into {}",
                p.location(to)
            )),
        }
    };
    height_at(&mut depth, target)?;
    let mut enter = |depth: &mut HashMap<u32, usize>,
                     work: &mut Vec<u32>,
                     from: u32,
                     to: u32|
     -> Result<(), String> {
        preds.entry(to).or_default().push(from);
        let i = to as usize;
        if i >= p.code.len() || p.layout_of[i] != layout || !p.block_start[i] {
            return Err(format!("it leaves its code at {}", p.location(to)));
        }
        if !depth.contains_key(&to) {
            height_at(depth, to)?;
            work.push(to);
        }
        Ok(())
    };
    while let Some(start) = work.pop() {
        need = need.max(depth[&start] + 2 * p.block_cost[start as usize] as usize);
        let mut at = start;
        loop {
            let i = at as usize;
            if i >= p.code.len() || p.layout_of[i] != layout {
                return Err(format!("it leaves its code at {}", p.location(at)));
            }
            count += 1;
            if count > MAX_INSTRUCTIONS {
                return Err(format!("more than {MAX_INSTRUCTIONS} instructions"));
            }
            let instr = &p.code[i];
            let eligible = matches!(
                instr,
                Instr::Jmp(_)
                    | Instr::Jz(_)
                    | Instr::Jnz(_)
                    | Instr::Ret(_)
                    | Instr::Call(_)
                    | Instr::CallFunction(_)
            ) || in_block(instr);
            if !eligible {
                return Err(format!(
                    "{} at {}",
                    instr.opcode().mnemonic(),
                    p.location(at)
                ));
            }
            // The height before it; exact, as its block start's is.
            let Some(d) = heights.exact(at) else {
                return Err(format!(
                    "the operand stack height differs on paths into {}",
                    p.location(start)
                ));
            };
            if d < surely_pops(instr) as i64 {
                return Err(format!(
                    "{} at {} takes operands its caller pushed",
                    instr.opcode().mnemonic(),
                    p.location(at)
                ));
            }
            match instr {
                Instr::Jmp(to) => {
                    enter(&mut depth, &mut work, start, to.0)?;
                    break;
                }
                Instr::Jz(to) | Instr::Jnz(to) => {
                    enter(&mut depth, &mut work, start, at + 1)?;
                    enter(&mut depth, &mut work, start, to.0)?;
                    break;
                }
                Instr::Ret(_) => {
                    if d != rets as i64 {
                        return Err(format!(
                            "RET at {} returns {d} values, not {}",
                            p.location(at),
                            count_word(rets)
                        ));
                    }
                    break;
                }
                Instr::Call(c) => {
                    if !distinct(&c.param_slots) {
                        return Err(format!(
                            "the CALL at {} binds a variable twice",
                            p.location(at)
                        ));
                    }
                    // A callee returning more values than a direct
                    // entry can (`Program::returns`) has none, so every
                    // call of it would leave this one.
                    let n = p.returns.get(&c.target).map_or(1, |&n| n as usize);
                    if n > MAX_RETURNS {
                        return Err(format!(
                            "the CALL at {} is of a function returning {n} values",
                            p.location(at)
                        ));
                    }
                    if p.tail_call(at) {
                        if d != c.param_slots.len() as i64 {
                            return Err(format!(
                                "the tail call at {} leaves values below its arguments",
                                p.location(at)
                            ));
                        }
                        // The callee's frame takes this one's place and
                        // its results are this one's (a Cranelift tail
                        // call returns what the callee returns).
                        if n != rets {
                            return Err(format!(
                                "the tail call at {} is of a function returning {n} values, this one {rets}",
                                p.location(at)
                            ));
                        }
                    } else {
                        calls = true;
                        recursive |= c.target == target && c.param_slots[..] == params[..];
                        enter(&mut depth, &mut work, start, at + 1)?;
                    }
                    break;
                }
                Instr::CallFunction(_) => {
                    let Some(k) = heights.arity(at) else {
                        return Err(format!(
                            "no one arity fits the CALL_FUNCTION at {}",
                            p.location(at)
                        ));
                    };
                    arity.insert(at, k as usize);
                    if p.tail_call(at) {
                        if d != k as i64 + 1 {
                            return Err(format!(
                                "the tail call at {} leaves values below its arguments",
                                p.location(at)
                            ));
                        }
                        // A function value is taken to return one value
                        // (`frame_heights`).
                        if rets != 1 {
                            return Err(format!(
                                "the tail call at {} is of a function value, this one returns {rets} values",
                                p.location(at)
                            ));
                        }
                    } else {
                        calls = true;
                        enter(&mut depth, &mut work, start, at + 1)?;
                    }
                    break;
                }
                _ => {}
            }
            at += 1;
            if (at as usize) < p.code.len() && p.block_start[at as usize] {
                enter(&mut depth, &mut work, start, at)?;
                break;
            }
        }
    }
    if size > MAX_SLOTS {
        return Err(format!("{size} variables (more than {MAX_SLOTS})"));
    }
    if depth.values().any(|&d| d > MAX_HEIGHT) || need > 3 * MAX_HEIGHT {
        return Err(format!("more than {MAX_HEIGHT} operands at a block start"));
    }
    let mut blocks: Vec<u32> = depth.keys().copied().collect();
    blocks.sort_unstable();
    Ok(DirectPlan {
        target,
        params: params.to_vec(),
        size,
        blocks,
        depth,
        need,
        calls,
        preds,
        arity,
        stack_args: params.len(),
        recursive,
        rets,
    })
}

/// A count of values in a message ("one" as the messages said before
/// functions returning several values had direct entries).
fn count_word(n: usize) -> String {
    match n {
        1 => "one".into(),
        n => n.to_string(),
    }
}

/// Candidates per CALL_FUNCTION site beyond which the others go through
/// the call helper (a site of more than two prototypes finds its
/// candidate through a table on the prototype's pointer, `lower/values.rs`:
/// one compare however many there are; each costs its call's code).
pub(crate) const MAX_CANDIDATES: usize = 8;

/// A function value the program can make: what a CALL_FUNCTION's callee
/// is compared with — its prototype (made once, when the program is
/// loaded, for each target and parameter list: the pointer names the
/// entry and parameters), its kind and a closure's capture slots — and
/// how a call of it binds the callee's frame.
#[derive(Debug, Clone)]
pub(crate) struct ValueTarget {
    /// The payload word of its `Value::Function` (the prototype's `Arc`):
    /// equal to a Function's payload and to a Closure's `proto` field.
    pub proto: u64,
    /// The prototype's address (`Arc::as_ptr`), as the interpreter
    /// records the callees of a site (`interp::callees`).
    pub proto_at: usize,
    /// The callee's entry.
    pub target: u32,
    /// Its parameters' slots.
    pub arity: usize,
    /// A closure: the capture slots a closure made there has
    /// (`Closure::capture_slots`: the CAPTUREs right before the
    /// MAKE_LAMBDA; compiled code checks them at the call).
    pub captures: Option<Vec<u32>>,
    /// The slots a call binds: the parameters, then the captured
    /// variables the callee uses that are not parameters (a variable
    /// captured twice: the later one, as `exec::bind_captures` binds).
    pub binds: Vec<u32>,
    /// For each capture bound, its index in `Closure::captured`.
    pub from: Vec<usize>,
}

/// Every function value the program makes whose callee's frame can be
/// made by compiled code (distinct parameters, an entry in the code).
pub(crate) fn value_targets(p: &Program) -> Vec<ValueTarget> {
    let mut out = Vec::new();
    let mut seen: std::collections::HashSet<(u64, Option<Vec<u32>>)> =
        std::collections::HashSet::new();
    for (at, instr) in p.code.iter().enumerate() {
        let (c, closure) = match instr {
            Instr::MakeFunction(c) => (c, false),
            Instr::MakeLambda(c) => (c, true),
            _ => continue,
        };
        let Some(proto) = &c.proto else { continue };
        let t = c.target as usize;
        if t >= p.code.len() || !distinct(&c.param_slots) {
            continue;
        }
        let v = ttvm_runtime::Value::Function(proto.clone());
        // SAFETY: a `Value` is 16 bytes (`repr(C, u8)`); only its payload
        // word, the `Arc`'s pointer, is read.
        let raw: [u64; 2] = unsafe { std::mem::transmute_copy(&v) };
        drop(v);
        let mut binds = c.param_slots.to_vec();
        let mut from = Vec::new();
        let captures = if closure {
            // The CAPTUREs of this frame right before it in its block
            // (the ones a MAKE_LAMBDA takes, in the usual shape): a
            // closure made there has them last, so when it has as many
            // captures as these it has exactly these (compiled code
            // compares the count, `lower/values.rs`). Not across a block
            // start: control may come there with other captures pending.
            let mut names = Vec::new();
            let mut i = at;
            while i > 0 && !p.block_start[i] {
                match &p.code[i - 1] {
                    Instr::Capture(v) if p.layout_of[i - 1] == p.layout_of[at] => {
                        names.push(v.name.clone())
                    }
                    _ => break,
                }
                i -= 1;
            }
            names.reverse();
            let layout = &p.layouts[p.layout_of[t] as usize];
            let slots: Vec<u32> = names
                .iter()
                .map(|n| layout.slot_of(n).unwrap_or(u32::MAX))
                .collect();
            for (k, &s) in slots.iter().enumerate() {
                if s == u32::MAX || c.param_slots.contains(&s) {
                    continue;
                }
                match binds[c.param_slots.len()..].iter().position(|&b| b == s) {
                    Some(j) => from[j] = k,
                    None => {
                        binds.push(s);
                        from.push(k);
                    }
                }
            }
            Some(slots)
        } else {
            None
        };
        // Prototypes are shared by the MAKE_FUNCTIONs and MAKE_LAMBDAs of
        // one target and parameters: one candidate per prototype, kind
        // and captures.
        if !seen.insert((raw[1], captures.clone())) {
            continue;
        }
        out.push(ValueTarget {
            proto: raw[1],
            proto_at: std::sync::Arc::as_ptr(proto) as usize,
            target: c.target,
            arity: c.param_slots.len(),
            captures,
            binds,
            from,
        });
    }
    out
}

/// The arity of every CALL_FUNCTION of the program where one fits the
/// code of its frame (`bytecode::frame_heights` from each function entry
/// and each top level; a site seen from two entries with different
/// arities has none).
pub(crate) fn site_arities(p: &Program) -> HashMap<u32, usize> {
    let mut roots: Vec<u32> = vec![0];
    roots.extend(p.modules.iter().map(|m| m.start));
    roots.extend(crate::bytecode::function_entries(p));
    let mut sites: HashMap<u32, Vec<u32>> = HashMap::new();
    for (at, i) in p.code.iter().enumerate() {
        if matches!(i, Instr::CallFunction(_)) {
            sites.entry(p.layout_of[at]).or_default().push(at as u32);
        }
    }
    let mut out: HashMap<u32, Option<usize>> = HashMap::new();
    for r in roots {
        let Some(here) = p.layout_of.get(r as usize).and_then(|l| sites.get(l)) else {
            continue;
        };
        let h = frame_heights(p, r);
        for &at in here {
            if let Some(k) = h.arity(at) {
                let e = out.entry(at).or_insert(Some(k as usize));
                if *e != Some(k as usize) {
                    *e = None;
                }
            }
        }
    }
    out.into_iter().filter_map(|(a, k)| Some((a, k?))).collect()
}

/// The function values a CALL_FUNCTION passing `arity` arguments (any,
/// when not known) is compiled to call directly: those of that arity,
/// that `keep` admits and, where the interpreter has recorded what the
/// site called (`seen`: some prototypes, not more than it keeps), only
/// those — a site compiled for every function value of its arity makes
/// a call sequence per candidate, code that costs compiling and rarely
/// runs; the most used first (`heat`: how often the callee's code has been
/// entered; the first made in the program among equals), at most
/// [`MAX_CANDIDATES`].
pub(crate) fn candidates(
    all: &[ValueTarget],
    arity: Option<usize>,
    seen: &Seen,
    heat: impl Fn(u32) -> u64,
    keep: impl Fn(&ValueTarget) -> bool,
) -> Vec<ValueTarget> {
    let met = |v: &ValueTarget| match seen {
        Seen::Protos(ps) => ps.contains(&v.proto_at),
        Seen::Nothing | Seen::Many => true,
    };
    let mut c: Vec<(u64, usize)> = all
        .iter()
        .enumerate()
        .filter(|(_, v)| arity.is_none_or(|k| v.arity == k) && met(v) && keep(v))
        .map(|(i, v)| (heat(v.target), i))
        .collect();
    c.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    c.into_iter()
        .take(MAX_CANDIDATES)
        .map(|(_, i)| all[i].clone())
        .collect()
}

#[cfg(test)]
mod tests;
