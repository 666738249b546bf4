//! The JIT tier: compiles hot units of code to native code with Cranelift.
//!
//! A *unit* is the code of one frame layout (see `bytecode/frames.rs`):
//! the instructions that can run in one frame, found by following
//! fall-through, jumps and catch labels. It is what a function is in a
//! language without function boundaries. A unit is compiled into one
//! native function that can be entered at each of its basic blocks the
//! engine can reach (`regions::UnitPlan::entries`) and at its receives.
//!
//! Hotness: each unit counts entries into its *header* blocks (call
//! targets and loop headers — targets of backward jumps) while it runs in
//! the interpreter; at `--jit-threshold` it is queued for the compiler
//! thread (`queue`) and the process goes on interpreting until the code
//! is there; with `--jit-sync` it is compiled on the worker that noticed,
//! under a lock. Threshold 0 compiles every unit before the run. A unit
//! that cannot be compiled stays interpreted (`--stats` says why). A function that is called also gets a direct entry when its code
//! allows (`direct`: arguments and result in registers, no frame in memory
//! until it leaves compiled code).
//!
//! The protocols — tier-up across schedulers, entry guards, side exits, the
//! direct-leave chain, and which atomic pairs with which — are written
//! down in `README.md` beside this file.

mod code;
mod compile;
mod direct;
mod elems;
mod kinds;
mod lower;
mod queue;
mod regions;
mod resume;
mod stats;
mod tier;

pub(crate) use code::{enter, enter_resumed};
pub(crate) use direct::{Desc, Place};
pub(crate) use kinds::FieldCell;
// The interpreter takes elements out of lists by the same analysis.
pub(crate) use lower::takes::may_take;
pub use queue::{Background, Compiler};
pub(crate) use regions::UnitPlan;
pub(crate) use resume::{Record, Resume, Resuming, RESUME_MARK};
pub use stats::{DirectOutcome, JitStats};

use crate::bytecode::{Instr, OptField, Program};
use crate::exec::native::Helpers;
use crate::exec::{Addr, Dpc, Layout};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Why Cranelift panicked, from the panic's payload.
fn generator_failed(p: Box<dyn std::any::Any + Send>) -> String {
    let why = p
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    format!("the code generator failed: {why}")
}

/// A bit of the `data` helper's opcode argument: the helper takes the
/// operands (drops them) when it answers a result, instead of borrowing
/// them; when it answers that the instruction raises they stay compiled
/// code's. The comparisons' slow path uses it, so that no reference-count
/// code for two operands of unknown kinds is inlined at every comparison
/// site (docs/JIT.md, "Comparisons of other values").
pub const DATA_OWNED: u32 = 1 << 16;

/// Units larger than this stay in the interpreter.
const MAX_UNIT_INSTRUCTIONS: usize = 100_000;
/// Units with more variables than this stay in the interpreter (entering
/// compiled code loads every variable).
const MAX_UNIT_SLOTS: usize = 4096;

struct Unit {
    plan: UnitPlan,
    /// The compiled function's address, 0 until compiled.
    code: AtomicUsize,
    /// Compilation was tried and failed (or the unit is unsupported).
    failed: AtomicBool,
    /// Work seen at its header blocks while interpreted (entries, each
    /// weighted by `BlockRef::weight`).
    hot: AtomicU32,
    /// `hot` at which it is compiled (`Jit::tier_up`).
    budget: u32,
    /// It is compiled by the cost policy (`tier`): `hot` counts work, not
    /// entries.
    by_cost: bool,
    /// Failed entry checks of its compiled code.
    check_fails: AtomicU32,
    /// Compiled (again) without assumptions across blocks.
    generic: AtomicBool,
    /// The direct entry of the function called first in the program whose
    /// code this is (`direct`): whether it can have one (`None`: no CALL
    /// enters this unit).
    direct_plan: Option<Result<direct::DirectPlan, String>>,
    /// Its compiled direct entry, 0 until compiled.
    direct: AtomicUsize,
    /// Compiled code calls it (`Jit::want_direct`): its direct entry is
    /// worth compiling.
    wanted: AtomicBool,
    /// Its direct entry was compiled or refused (set under `Jit::mem`).
    direct_tried: AtomicBool,
    /// It was queued for the compiler thread (`queue`, B2): never again.
    queued: AtomicBool,
    /// Calls ordinary compiled code made to it through a memory frame
    /// while it had no direct entry (counted by that code, a hint: plain
    /// loads and stores; `Jit::hot_call`).
    calls: AtomicU32,
    /// Calls its own ordinary code made through memory frames to
    /// functions that can have direct entries (counted the same way):
    /// what its direct entry would make direct.
    work: AtomicU32,
    /// Its published code is the first tier's (`code::Tier`).
    first_tier: AtomicBool,
    /// Entries into its first-tier code (`Jit::entry`).
    runs: AtomicU32,
    /// `runs` at which it is compiled again by the second tier
    /// (`tier::second_tier_at`).
    second_at: u32,
    /// The second tier was asked for (its compilations from then on,
    /// also one without assumptions, are the second tier's).
    second: AtomicBool,
    /// Bytes of its compiled ordinary code, 0 until compiled (what its
    /// direct entry costs to compile, roughly: `DirectPlan::hot`).
    bytes: AtomicU32,
    /// Whether its INDEX sites' kinds are read from a frame when it gets
    /// hot (`elems`: `FRAME_NONE` … `FRAME_TAKEN`).
    frame: AtomicU8,
}

/// A block start, as the engine looks it up by decoded address.
#[derive(Clone, Copy, Debug)]
struct BlockRef {
    unit: u32,
    /// Index in the unit's entry table.
    index: u32,
    /// Entering it counts toward the unit's hotness.
    header: bool,
    /// It is a part's continuation (`regions`).
    cont: bool,
    /// What one entry adds to the unit's `hot`: 1 with a fixed
    /// `--jit-threshold`; under the cost policy the instructions one pass
    /// through it interprets (`tier_weights`).
    weight: u32,
}

/// Failed entry checks after which a unit is compiled again without
/// assumptions across blocks.
const MAX_CHECK_FAILS: u32 = 100;

/// Where `--jit-dump` text goes.
pub type DumpSink = Box<dyn Fn(&str) + Send + Sync>;

/// How the JIT of a run behaves (from the run's configuration).
pub struct JitConfig {
    /// `--jit-threshold`.
    pub threshold: u32,
    /// Compile a unit once the work interpreted in it outweighs its
    /// estimated compile cost (`Jit::tier_up`), instead of after
    /// `threshold` entries. `threshold` 0 still compiles everything first.
    pub cost_policy: bool,
    /// The operand stack limit.
    pub max_stack: usize,
    /// `--max-call-depth`.
    pub max_call_depth: usize,
    /// `--max-frame-slots`.
    pub max_frame_slots: usize,
    /// `--jit-dump`: where the IR goes.
    pub dump: Option<DumpSink>,
    /// Compile hot units on a compiler thread while the process goes on
    /// interpreting (`queue`, [`Jit::start_compiler`]); otherwise on the
    /// scheduler thread that finds them hot (`--jit-sync`). Off with
    /// `threshold` 0, which compiles everything before the run.
    pub background: bool,
}

/// The JIT of one run.
pub struct Jit {
    program: Arc<Program>,
    /// Units are compiled by the first tier first (`code::Tier`).
    tiers: bool,
    /// Where the program's instructions are in the decoded code (the
    /// interpreter's layout: its block starts are the JIT's entries).
    layout: Layout,
    units: Vec<Unit>,
    /// Program address → the unit (or part, `regions`) whose code it is.
    plan_of: Vec<u32>,
    /// Decoded address → block start (None for other addresses).
    blocks: Vec<Option<BlockRef>>,
    /// Decoded address → the interpreter should ask `tier_up` there
    /// (cleared for the blocks of units that stay interpreted; never set
    /// for tiny units' unless every unit is compiled at once).
    watch: Vec<AtomicBool>,
    /// Decoded address → compiled code can be entered there (set for the
    /// blocks and resume points of compiled units; never cleared, as the
    /// code stays until the JIT goes).
    compiled: Vec<AtomicBool>,
    /// The code memory (Cranelift's module), made at the first compile
    /// ([`Jit::memory`]): a run that compiles nothing does not pay for it.
    mem: Mutex<Option<code::CodeMemory>>,
    /// What the code memory is made with.
    helpers: Helpers,
    /// The code memory could not be made: nothing is compiled.
    no_memory: AtomicBool,
    /// Units are compiled by the cost policy (`tier`).
    cost_policy: bool,
    /// What compiled code coming back into an interpreted unit adds to its
    /// work under the cost policy (`tier::return_work`).
    return_work: u32,
    /// `--jit-threshold` (0: every unit and every direct entry compiled
    /// calls compiled first; otherwise direct entries on heat,
    /// `direct::DirectPlan::heat`).
    threshold: u32,
    /// `threshold` scaled by [`direct::HEAT_VAR`] (percent), for the bar
    /// of direct entries on heat only (`direct::DirectPlan::hot`).
    heat_threshold: u32,
    max_stack: usize,
    max_call_depth: usize,
    max_frame_slots: usize,
    none_tag: u8,
    stats: Mutex<JitStats>,
    /// `JitStats::entry_checks_failed`.
    entry_checks_failed: AtomicU64,
    /// `JitStats::direct_exits`.
    direct_exits: AtomicU64,
    /// What chains of direct calls use at most.
    bounds: direct::Bounds,
    /// Where preempted direct frames resume in direct code (`resume`).
    resume: resume::Resumes,
    dump: Option<DumpSink>,
    /// Hot units are compiled on a compiler thread (`JitConfig::background`).
    background: bool,
    /// What the compiler thread compiles (`queue`).
    queue: queue::Queue,
    /// The per-site caches of field reads with a constant name
    /// (`lower/data.rs`): program address → its cell, which holds the
    /// position of the field in the last object read there (a hint,
    /// checked by the code that reads it; `u64::MAX` at first); and of
    /// list INDEXes, whose cells hold their elements' kinds (`elems`).
    field_sites: HashMap<u32, usize>,
    field_cells: Box<[FieldCell]>,
    /// The interpreter's field site caches, once given (`kinds`).
    interp_sites: std::sync::OnceLock<kinds::InterpSites>,
    /// What the interpreter records of the CALL_FUNCTION sites' callees
    /// (`Jit::set_callees`).
    callees: std::sync::OnceLock<crate::interp::callees::Callees>,
    /// Raised by compiled code when a field read's kind guard has failed
    /// `kinds::MISS_PERIOD` times more (`kinds`): a box, so that its
    /// address stays what the code was given.
    kinds_pending: Box<AtomicU32>,
    /// The function values the program makes (`direct::value_targets`):
    /// what a CALL_FUNCTION's callee is compared with.
    values: Vec<direct::ValueTarget>,
    /// The arity each CALL_FUNCTION is taken to pass, where one fits its
    /// frame's code (`bytecode::frame_heights`).
    site_arity: HashMap<u32, usize>,
}

impl Jit {
    /// A JIT for `program`, whose decoded form is laid out as `layout`.
    pub fn new(program: Arc<Program>, layout: Layout, helpers: &Helpers, config: JitConfig) -> Jit {
        let JitConfig {
            threshold,
            cost_policy,
            max_stack,
            max_call_depth,
            max_frame_slots,
            dump,
            background,
        } = config;
        let cost_policy = cost_policy && threshold != 0 && tier::factor() != 0;
        let p = &*program;
        let header = p.headers();
        let regions::Plans {
            plans,
            part_entry,
            plan_of,
        } = regions::plans(p, MAX_UNIT_INSTRUCTIONS, MAX_UNIT_SLOTS);
        let factor = tier::factor();
        // Two tiers (`code::Tier`) but when everything is compiled first.
        let second_factor = if threshold == 0 {
            0
        } else {
            tier::second_factor()
        };
        let min_cost = tier::min_cost();
        // Units compiled by cost: not the tiny ones, not the cheap ones.
        let by_cost = |plan: &UnitPlan| cost_policy && !plan.tiny && plan.cost >= min_cost;
        let budget = |plan: &UnitPlan| {
            if by_cost(plan) {
                tier::budget(p, plan, factor)
            } else {
                threshold
            }
        };
        let frames = elems::initial_states(p, &plan_of, plans.len());
        let mut units: Vec<Unit> = plans
            .into_iter()
            .zip(frames)
            .map(|(plan, frame)| Unit {
                budget: budget(&plan),
                by_cost: by_cost(&plan),
                second_at: tier::second_tier_at(&plan, second_factor),
                plan,
                code: AtomicUsize::new(0),
                failed: AtomicBool::new(false),
                hot: AtomicU32::new(0),
                check_fails: AtomicU32::new(0),
                generic: AtomicBool::new(false),
                direct_plan: None,
                direct: AtomicUsize::new(0),
                wanted: AtomicBool::new(false),
                direct_tried: AtomicBool::new(false),
                queued: AtomicBool::new(false),
                calls: AtomicU32::new(0),
                work: AtomicU32::new(0),
                first_tier: AtomicBool::new(false),
                runs: AtomicU32::new(0),
                second: AtomicBool::new(false),
                bytes: AtomicU32::new(0),
                frame: AtomicU8::new(frame),
            })
            .collect();
        for instr in &p.code {
            if let Instr::Call(c) = instr {
                if let Some(&u) = plan_of.get(c.target as usize) {
                    let unit = &mut units[u as usize];
                    if unit.direct_plan.is_none() {
                        unit.direct_plan = Some(direct::plan(p, c.target, &c.param_slots));
                    }
                }
            }
        }
        // Function values: a function no CALL reaches gets the direct entry
        // a CALL_FUNCTION of the first function value made of it binds
        // (its parameters, then the captured variables it uses).
        let values = direct::value_targets(p);
        for v in &values {
            if let Some(&u) = plan_of.get(v.target as usize) {
                let unit = &mut units[u as usize];
                if unit.direct_plan.is_none() {
                    unit.direct_plan = Some(direct::plan(p, v.target, &v.binds).map(|mut d| {
                        d.stack_args = v.arity;
                        d
                    }));
                }
            }
        }
        let site_arity = if values.is_empty() {
            HashMap::new()
        } else {
            direct::site_arities(p)
        };
        // The entry table of each: its blocks the engine can enter
        // (`regions::UnitPlan::entries`), its resume points, its
        // continuation.
        let mut blocks = vec![None; layout.len()];
        // (Only the cost policy weighs entries.)
        let weights = if cost_policy {
            tier::weights(p, &plan_of, |u| units[u as usize].plan.size)
        } else {
            Vec::new()
        };
        for (u, unit) in units.iter().enumerate() {
            let plan = &unit.plan;
            // Block starts count toward hotness when they are headers or
            // entered from another part, a continuation always.
            let weight = |a: u32| {
                if by_cost(plan) {
                    weights[a as usize].max(1)
                } else {
                    1
                }
            };
            let starts = plan.entries.iter().map(|&a| {
                let i = a as usize;
                (
                    layout.dpc(Addr(a)),
                    header[i] || part_entry[i],
                    false,
                    weight(a),
                )
            });
            let resumes = plan
                .resumes
                .iter()
                .map(|&a| (layout.resume(Addr(a)), false, false, 1));
            let cont = plan
                .cont
                .map(|a| (layout.dpc(Addr(a)), true, true, weight(a)));
            for (index, (dpc, header, cont, weight)) in
                starts.chain(resumes).chain(cont).enumerate()
            {
                blocks[dpc.ix()] = Some(BlockRef {
                    unit: u as u32,
                    index: index as u32,
                    header,
                    cont,
                    weight,
                });
            }
        }
        // Tiny units are counted only where compiled code leaves for them
        // (the engine asks there), unless everything is compiled at once.
        let watch = blocks
            .iter()
            .map(|b| {
                AtomicBool::new(
                    b.is_some_and(|b| threshold == 0 || !units[b.unit as usize].plan.tiny),
                )
            })
            .collect();
        let bounds = direct::Bounds::of(
            units
                .iter()
                .filter_map(|u| u.direct_plan.as_ref()?.as_ref().ok()),
        );
        let compiled = blocks.iter().map(|_| AtomicBool::new(false)).collect();
        let resume = resume::Resumes::new(&units, &layout);
        let field_sites: HashMap<u32, usize> = p
            .code
            .iter()
            .enumerate()
            .filter(|(_, i)| {
                matches!(
                    i,
                    Instr::GetField(OptField(Some(_)))
                        | Instr::HasField(OptField(Some(_)))
                        | Instr::SetField(OptField(Some(_)))
                        | Instr::Index(_) // its elements' kinds (`elems`)
                )
            })
            .enumerate()
            .map(|(k, (at, _))| (at as u32, k))
            .collect();
        // The field cells raise the flag (`kinds`): its box is the Jit's.
        let kinds_pending = Box::new(AtomicU32::new(0));
        let flag = &*kinds_pending as *const AtomicU32 as usize;
        let field_cells = (0..field_sites.len())
            .map(|_| FieldCell::with_flag(flag))
            .collect();
        let jit = Jit {
            tiers: second_factor != 0,
            program,
            layout,
            units,
            plan_of,
            blocks,
            watch,
            compiled,
            mem: Mutex::new(None),
            helpers: *helpers,
            no_memory: AtomicBool::new(false),
            cost_policy,
            return_work: tier::return_work(),
            threshold,
            heat_threshold: direct::heat_threshold(threshold),
            max_stack,
            max_call_depth,
            max_frame_slots,
            none_tag: code::none_tag(),
            stats: Mutex::new(JitStats::default()),
            entry_checks_failed: AtomicU64::new(0),
            direct_exits: AtomicU64::new(0),
            bounds,
            resume,
            dump,
            background: background && threshold != 0,
            queue: queue::Queue::default(),
            field_sites,
            field_cells,
            interp_sites: std::sync::OnceLock::new(),
            callees: std::sync::OnceLock::new(),
            kinds_pending,
            values,
            site_arity,
        };
        // Compiled code tells an unset variable by this tag; it must not be
        // a value's.
        debug_assert!(jit.none_tag > ttvm_runtime::value::tag::LAST);
        if threshold == 0 {
            for u in 0..jit.units.len() {
                jit.compile(u);
            }
        }
        jit
    }

    fn stats_mut(&self) -> std::sync::MutexGuard<'_, JitStats> {
        self.stats.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What was compiled and what fell back.
    pub fn stats(&self) -> JitStats {
        let mut s = self.stats_mut().clone();
        s.entry_checks_failed = self.entry_checks_failed.load(Ordering::Relaxed);
        s.direct_exits = self.direct_exits.load(Ordering::Relaxed);
        s.resumed = self.resume.total.load(Ordering::Relaxed);
        s.resume_misses = self.resume.misses.load(Ordering::Relaxed);
        self.queue.report(&mut s);
        s.tiny = self
            .units
            .iter()
            .filter(|u| {
                // The builtin module's process bodies are not the program's.
                let builtin = u.plan.blocks.first().is_some_and(|&a| {
                    self.program.module_of.get(a as usize).copied()
                        == Some(self.program.builtin_module)
                });
                u.plan.tiny
                    && !builtin
                    && !u.plan.blocks.is_empty()
                    && u.code.load(Ordering::Acquire) == 0
                    && !u.failed.load(Ordering::Relaxed)
            })
            .map(|u| (self.unit_name(u), u.plan.size))
            .collect();
        // Compiled functions whose direct entry was never wanted: called
        // too little for one to pay for its compile (`DirectPlan::hot`).
        for u in &self.units {
            if matches!(u.direct_plan, Some(Ok(_)))
                && u.code.load(Ordering::Acquire) != 0
                && u.direct.load(Ordering::Acquire) == 0
                && !u.direct_tried.load(Ordering::Relaxed)
            {
                s.direct.push((
                    self.unit_name(u),
                    Err("not called often enough to pay for compiling one".to_string()),
                ));
            }
        }
        if self.cost_policy {
            s.cold = self
                .units
                .iter()
                .filter(|u| {
                    // (A unit queued for the compiler thread was worth it:
                    // the background line counts it.)
                    u.by_cost
                        && u.hot.load(Ordering::Relaxed) > 0
                        && u.code.load(Ordering::Acquire) == 0
                        && !u.failed.load(Ordering::Relaxed)
                        && !u.queued.load(Ordering::Relaxed)
                })
                .map(|u| {
                    let work = u.hot.load(Ordering::Relaxed);
                    (self.unit_name(u), u64::from(work), u64::from(u.budget))
                })
                .collect();
        }
        s
    }

    /// Direct frames left compiled code (counted once per exit, however
    /// many frames it writes).
    pub fn direct_exit(&self) {
        self.direct_exits.fetch_add(1, Ordering::Relaxed);
    }

    /// Compiled code's entry check failed at the block at decoded address
    /// `pc` (see `lower::facts`). A unit whose checks keep failing has
    /// types its compiled paths do not predict: it is compiled again
    /// without assumptions across blocks, so it stops bouncing between
    /// the tiers.
    ///
    /// A part's continuation (`regions`) returns `INTERPRET` too, when its
    /// first instruction leaves compiled code (leaving there to the
    /// engine would enter the continuation again): not a failed check.
    pub fn entry_check_failed(&self, pc: Dpc) {
        let b = self.blocks.get(pc.ix()).copied().flatten();
        if b.is_some_and(|b| b.cont) {
            return;
        }
        self.entry_checks_failed.fetch_add(1, Ordering::Relaxed);
        let Some(b) = b else {
            return;
        };
        let u = &self.units[b.unit as usize];
        // E3: exactly one caller sees the MAX_CHECK_FAILS-th failure.
        if u.check_fails.fetch_add(1, Ordering::Relaxed) + 1 == MAX_CHECK_FAILS {
            self.compile_generic(b.unit as usize);
        }
    }

    /// Compiled code for the block starting at decoded address `pc`:
    /// (function, entry index).
    #[inline]
    pub fn entry(&self, pc: Dpc) -> Option<(usize, u32)> {
        self.poll_field_guards();
        let b = (*self.blocks.get(pc.ix())?)?;
        let u = &self.units[b.unit as usize];
        // T5: pairs with T4's Release.
        let code = u.code.load(Ordering::Acquire);
        if code == 0 {
            return None;
        }
        // First-tier code that keeps being entered is compiled again by
        // the second tier (exactly one caller sees the count reach it).
        if u.first_tier.load(Ordering::Relaxed)
            && u.runs.fetch_add(1, Ordering::Relaxed) + 1 == u.second_at
        {
            self.second_tier(b.unit as usize);
        }
        Some((code, b.index))
    }

    /// Decoded address → compiled code may start there: one load for the
    /// engine to tell that a slice starts interpreted. Where it is set,
    /// [`Jit::entry`] gives the code (or `None` in the moment before the
    /// code is published).
    pub fn compiled(&self) -> &[AtomicBool] {
        &self.compiled
    }

    /// Where the interpreter should call [`Jit::tier_up`].
    pub fn watch(&self) -> &[AtomicBool] {
        &self.watch
    }

    /// The code memory in `slot` (the guard of [`Jit::mem`]), made now if
    /// this is the first compile; `None` when it cannot be made (then
    /// every unit stays interpreted, and the stats say why once).
    fn memory<'g>(
        &self,
        slot: &'g mut Option<code::CodeMemory>,
    ) -> Option<&'g mut code::CodeMemory> {
        if slot.is_none() && !self.no_memory.load(Ordering::Relaxed) {
            match code::CodeMemory::new(&self.helpers) {
                Ok(m) => *slot = Some(m),
                Err(e) => {
                    self.no_memory.store(true, Ordering::Relaxed);
                    for u in &self.units {
                        self.give_up(u);
                    }
                    self.stats_mut()
                        .fallbacks
                        .push(("every function".to_string(), e));
                }
            }
        }
        slot.as_mut()
    }

    /// Unit `u` stays interpreted: stop asking at its blocks (T1, T2 in
    /// README.md).
    fn give_up(&self, u: &Unit) {
        u.failed.store(true, Ordering::Relaxed);
        for &a in &u.plan.blocks {
            self.watch[self.layout.dpc(Addr(a)).ix()].store(false, Ordering::Relaxed);
        }
    }

    /// The interpreter reached the block at decoded address `pc` (or the
    /// engine, where compiled code left for it: `from_compiled`): count
    /// hotness, compile when hot (or queue the unit for the compiler
    /// thread, `queue`); `true` when compiled code should take over there.
    ///
    /// A tiny unit (a few instructions, no loop, no call) is counted only
    /// when `from_compiled` (compiled code just called it; the interpreter
    /// does not ask at its blocks, see `watch`): entering compiled code
    /// costs more than interpreting it, unless the caller is compiled
    /// already and would otherwise leave compiled code to call it.
    pub fn tier_up(&self, pc: Dpc, from_compiled: bool) -> bool {
        let Some(Some(b)) = self.blocks.get(pc.ix()).copied() else {
            return false;
        };
        let u = &self.units[b.unit as usize];
        if u.code.load(Ordering::Acquire) != 0 {
            return true;
        }
        if u.failed.load(Ordering::Relaxed) || (u.plan.tiny && !from_compiled) {
            return false;
        }
        // Under the cost policy, compiled code coming into this
        // interpreted unit counts what compiling it would save on the way
        // out of and back into compiled code (`tier::return_work`): at a
        // call from compiled code, and where a call it made into compiled
        // code returns (not a header).
        let crossing = if from_compiled && u.by_cost {
            self.return_work
        } else {
            0
        };
        let w = if b.header {
            b.weight + crossing
        } else if crossing != 0 {
            self.return_work
        } else {
            return false;
        };
        // T2: a count; no data is published with it. Entries go on being
        // counted while the unit waits in the queue (B2).
        if u.hot.fetch_add(w, Ordering::Relaxed).saturating_add(w) < u.budget {
            return false;
        }
        // The engine reads the frame first (`elems`), then compiles.
        if self.wants_frame(u) {
            return true;
        }
        // Compiled here (`--jit-sync`), or queued: the process goes on
        // interpreting and enters the code at a header once it is there.
        self.request(b.unit as usize, compile::Why::Hot);
        u.code.load(Ordering::Acquire) != 0
    }

    /// What translating unit `u` needs.
    fn input<'a>(
        &'a self,
        u: &'a Unit,
        callee: &'a dyn Fn(u32) -> Option<lower::Callee>,
    ) -> lower::Input<'a> {
        lower::Input {
            program: &self.program,
            layout: &self.layout,
            plan: &u.plan,
            max_stack: self.max_stack,
            max_call_depth: self.max_call_depth,
            max_frame_slots: self.max_frame_slots,
            none_tag: self.none_tag,
            assume: !u.generic.load(Ordering::Relaxed),
            callee,
            bounds: self.bounds,
            field_sites: &self.field_sites,
            field_cells: &self.field_cells,
            field_guards: self.field_guards(),
            kinds_pending: &*self.kinds_pending as *const AtomicU32 as usize,
            values: &self.values,
            site_arity: &self.site_arity,
            callees: self.callees.get(),
            work: match &u.direct_plan {
                Some(Ok(plan)) if self.threshold != 0 => Some((
                    &u.work as *const AtomicU32 as usize,
                    plan.target,
                    direct::work_mask(self.threshold),
                )),
                _ => None,
            },
        }
    }

    /// How much the code of the function at `target` has run: entries
    /// counted toward compiling it, and more than any count once it is
    /// compiled (which candidates a CALL_FUNCTION is compiled for).
    fn heat(&self, target: u32) -> u64 {
        let Some(&u) = self.plan_of.get(target as usize) else {
            return 0;
        };
        let u = &self.units[u as usize];
        let hot = u.hot.load(Ordering::Relaxed) as u64;
        if u.code.load(Ordering::Relaxed) != 0 {
            hot + (1 << 32)
        } else {
            hot
        }
    }

    /// Where the code of the function at program address `target` is.
    fn callee(&self, target: u32) -> Option<lower::Callee> {
        if target as usize >= self.program.code.len() {
            return None;
        }
        let pc = self.layout.dpc(Addr(target));
        let b = (*self.blocks.get(pc.ix())?)?;
        let u = &self.units[b.unit as usize];
        let direct = match &u.direct_plan {
            Some(Ok(plan)) if plan.target == target => {
                Some((&u.direct as *const AtomicUsize as usize, plan.clone()))
            }
            _ => None,
        };
        // Calls are counted toward compiling the direct entry, but with
        // every unit compiled first (threshold 0).
        let hot_mask = match &direct {
            Some(_) if self.threshold != 0 => Some(direct::calls_mask(self.threshold)),
            _ => None,
        };
        Some(lower::Callee {
            code_cell: &u.code as *const AtomicUsize as usize,
            block: b.index,
            direct,
            heat: self.heat(target),
            calls_cell: &u.calls as *const AtomicU32 as usize,
            hot_mask,
        })
    }
}
