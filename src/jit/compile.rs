//! Compiling units and their direct entries (under `Jit::mem`), and their
//! IR for `--jit-dump` and the snapshot tests.

use super::code::Tier;
use super::*;

/// Why a unit is compiled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Why {
    /// It is hot (or everything is compiled first): its first code.
    Hot,
    /// Again, without assumptions across blocks (its entry checks keep
    /// failing).
    Generic,
    /// Again, by the second tier: its first-tier code keeps running.
    Second,
    /// Again (and its direct entry, if compiled), because a field read's
    /// kind guard in it kept failing (`kinds`).
    Kinds,
    /// Its direct entry only (the unit is compiled): its calls made it
    /// worth compiling (`Jit::hot_call`); on the compiler thread, so the
    /// process that asked goes on in the unit's code meanwhile.
    Direct,
}

impl Jit {
    pub(super) fn compile(&self, index: usize) {
        self.compile_unit(index, Why::Hot);
    }

    /// Compile unit `index` again, with no assumptions across blocks (on
    /// the compiler thread when there is one, `queue`). The old code stays
    /// in memory (a process may be running it) until the JIT goes.
    pub(super) fn compile_generic(&self, index: usize) {
        self.request(index, Why::Generic);
    }

    /// Compile unit `index` again with the second tier (once; on the
    /// compiler thread when there is one). Its first-tier code stays in
    /// memory; calls and entries from then on take the new code, as
    /// after a compilation without assumptions.
    pub(super) fn second_tier(&self, index: usize) {
        if !self.units[index].second.swap(true, Ordering::Relaxed) {
            self.request(index, Why::Second);
        }
    }

    /// Compile unit `index` (again, without assumptions: `generic`) and its
    /// direct entries worth compiling, here: on the compiler thread
    /// (`queue`) or, with `--jit-sync` and `--jit-threshold 0`, on the
    /// thread that asks.
    pub(super) fn compile_unit(&self, index: usize, cause: Why) {
        let u = &self.units[index];
        // T3: compile under the lock, after a second look.
        let mut guard = self.mem.lock().unwrap_or_else(|e| e.into_inner());
        match cause {
            Why::Direct => {
                if let Some(mem) = self.memory(&mut guard) {
                    self.try_direct(mem, index, None);
                }
                return;
            }
            Why::Generic => {
                if u.generic.swap(true, Ordering::Relaxed) {
                    return;
                }
            }
            Why::Hot => {
                if u.code.load(Ordering::Acquire) != 0 || u.failed.load(Ordering::Relaxed) {
                    return;
                }
            }
            Why::Second => {
                if u.failed.load(Ordering::Relaxed) {
                    return;
                }
            }
            Why::Kinds => {
                if u.failed.load(Ordering::Relaxed) || u.code.load(Ordering::Acquire) == 0 {
                    return;
                }
            }
        }
        let tier = if self.tiers && !u.second.load(Ordering::Relaxed) {
            Tier::First
        } else {
            Tier::Second
        };
        let Some(mem) = self.memory(&mut guard) else {
            self.give_up(u);
            return;
        };
        let name = self.unit_name(u);
        let slots = self.program.layouts[u.plan.layout as usize].names.len();
        let why = if u.plan.blocks.is_empty() && u.plan.cont.is_none() {
            Some("no code".to_string())
        } else if u.plan.size > MAX_UNIT_INSTRUCTIONS {
            Some(format!(
                "{} instructions (more than {MAX_UNIT_INSTRUCTIONS})",
                u.plan.size
            ))
        } else if slots > MAX_UNIT_SLOTS {
            Some(format!("{slots} variables (more than {MAX_UNIT_SLOTS})"))
        } else {
            None
        };
        if let Some(why) = why {
            self.give_up(u);
            if !u.plan.blocks.is_empty() || u.plan.cont.is_some() {
                self.stats_mut().fallbacks.push((name, why));
            }
            return;
        }
        let t0 = Instant::now();
        let callee = |target: u32| self.callee(target);
        let input = self.input(u, &callee);
        let result = self.generate(|| {
            mem.compile(&name, tier, self.dump.is_some(), |b, im| {
                lower::translate(b, im, &input)
            })
        });
        match result {
            Ok(c) => {
                // T4: publish (pairs with T5's Acquire), then the flags.
                u.code.store(c.code, Ordering::Release);
                u.first_tier.store(tier == Tier::First, Ordering::Relaxed);
                if !matches!(cause, Why::Generic) {
                    u.bytes
                        .store(c.bytes.min(u32::MAX as usize) as u32, Ordering::Relaxed);
                }
                let p = &*self.program;
                let l = &self.layout;
                let starts = u.plan.entries.iter().map(|&a| l.dpc(Addr(a)));
                let resumes = u.plan.resumes.iter().map(|&a| l.resume(Addr(a)));
                let cont = u.plan.cont.map(|a| l.dpc(Addr(a)));
                for dpc in starts.chain(resumes).chain(cont) {
                    self.compiled[dpc.ix()].store(true, Ordering::Release);
                }
                let label = match cause {
                    Why::Generic => format!("{name} again, without assumptions"),
                    Why::Kinds => format!("{name} again, with wider guards"),
                    _ => name.clone(),
                };
                let mut stats = self.stats_mut();
                if let Some(part) = u.plan.part {
                    // The first of its parts compiled says the unit is split.
                    let unit = format!(
                        "{} ({})",
                        p.function_name(part.unit_start),
                        p.location(part.unit_start)
                    );
                    if !stats.split.iter().any(|s| s.0 == unit) {
                        stats.split.push((unit, part.unit_size, part.count));
                    }
                }
                let line = (label, u.plan.size, c.bytes, t0.elapsed());
                if cause == Why::Second {
                    stats.second.push(line);
                } else {
                    stats.compiled.push(line);
                }
                stats.tiers = self.tiers;
                drop(stats);
                if cause == Why::Hot {
                    self.want_direct(mem, index, &name, &input);
                }
                // Its direct entry holds the same guards: compiled again.
                if cause == Why::Kinds && u.direct.load(Ordering::Acquire) != 0 {
                    u.direct_tried.store(false, Ordering::Relaxed);
                    self.try_direct(mem, index, Some((&name, &input)));
                }
            }
            // The first tier's code goes on serving.
            Err(e) if cause == Why::Second => {
                self.stats_mut().second_failed.push((name, e));
            }
            Err(e) => {
                self.give_up(u);
                self.stats_mut().fallbacks.push((name, e));
            }
        }
    }

    /// Run Cranelift (`compile`), which reports bad input by panicking in
    /// places: a panic is a failure to compile (the code stays
    /// interpreted). `--jit-dump` gets the IR of what compiled (unless the
    /// run has ended: the compiler thread finishing a compile then writes
    /// nothing, B5).
    pub(super) fn generate(
        &self,
        compile: impl FnOnce() -> Result<code::Compiled, String>,
    ) -> Result<code::Compiled, String> {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(compile))
            .unwrap_or_else(|p| Err(generator_failed(p)));
        if let (
            Some(dump),
            Ok(code::Compiled {
                clif: Some(clif), ..
            }),
        ) = (&self.dump, &result)
        {
            if !self.queue.stopped() {
                dump(clif);
            }
        }
        result
    }

    /// Unit `index` is compiled: the direct entries worth compiling now
    /// are compiled (under `Jit::mem`). A direct entry only serves calls
    /// from compiled code, and costs about as much to compile as its
    /// unit, so it is compiled once its function is *wanted* and its unit
    /// is compiled: wanted when ordinary compiled code has called it often
    /// enough through memory frames, given what its own code calls
    /// (`Jit::hot_call`, docs/JIT.md, "Direct entries on heat"), or when
    /// a direct entry calls it (which would
    /// leave compiled code at each such call otherwise). With every unit
    /// compiled first (threshold 0) every function compiled code calls is
    /// wanted at once. A function reached only from interpreted code (a
    /// loop entered at its header from the interpreter) costs no second
    /// compilation. A function that cannot have one says why at once.
    fn want_direct(
        &self,
        mem: &mut code::CodeMemory,
        index: usize,
        name: &str,
        input: &lower::Input<'_>,
    ) {
        let u = &self.units[index];
        if let Some(Err(why)) = &u.direct_plan {
            if !u.direct_tried.swap(true, Ordering::Relaxed) {
                self.stats_mut()
                    .direct
                    .push((name.to_string(), Err(why.clone())));
            }
        }
        if self.threshold == 0 {
            let starts = u.plan.blocks.iter().copied().chain(u.plan.cont);
            self.want_callees(mem, index, starts);
        }
        // A recursion whose calls while it was interpreted already make
        // its direct entry worth compiling (`DirectPlan::counted_calls`).
        if let Some(Ok(plan)) = &u.direct_plan {
            let bytes = u.bytes.load(Ordering::Relaxed);
            if self.threshold != 0
                && plan.hot(self.calls_of(u, plan), 0, bytes, self.heat_threshold)
            {
                u.wanted.store(true, Ordering::Relaxed);
            }
        }
        if u.wanted.load(Ordering::Relaxed) {
            self.try_direct(mem, index, Some((name, input)));
        }
    }

    /// The functions the code from the blocks `starts` calls (CALL, and
    /// the function values a CALL_FUNCTION may call directly) are wanted,
    /// and their direct entries compiled where their units are (all but
    /// `index`'s, whose caller does that).
    fn want_callees(
        &self,
        mem: &mut code::CodeMemory,
        index: usize,
        starts: impl Iterator<Item = u32>,
    ) {
        let p = &*self.program;
        let mut callees: Vec<usize> = Vec::new();
        for start in starts {
            let mut at = start as usize;
            while at < p.code.len() {
                let targets: Vec<u32> = match &p.code[at] {
                    Instr::Call(c) => vec![c.target],
                    // The function values it may call directly.
                    Instr::CallFunction(_) => direct::candidates(
                        &self.values,
                        self.site_arity.get(&(at as u32)).copied(),
                        &self.seen(at as u32),
                        |t| self.heat(t),
                        |_| true,
                    )
                    .iter()
                    .map(|v| v.target)
                    .collect(),
                    _ => Vec::new(),
                };
                for target in targets {
                    if let Some(&t) = self.plan_of.get(target as usize) {
                        if !callees.contains(&(t as usize)) {
                            callees.push(t as usize);
                        }
                    }
                }
                at += 1;
                if at >= p.code.len() || p.block_start[at] {
                    break;
                }
            }
        }
        for t in callees {
            let tu = &self.units[t];
            tu.wanted.store(true, Ordering::Relaxed);
            if t != index && tu.code.load(Ordering::Acquire) != 0 {
                self.try_direct(mem, t, None);
            }
        }
    }

    /// Ordinary compiled code called the function at program address
    /// `target` through memory frames, or the function's own ordinary
    /// code made calls, so many times more (the `hot_call` helper): when
    /// those calls and the calls its own ordinary code made
    /// (`Unit::work`) make its direct entry worth
    /// compiling (`DirectPlan::hot`), it is wanted, and compiled now if
    /// its unit is compiled (else when it is). Runs on the thread of the
    /// compiled caller, in the middle of its code: compiling adds code and
    /// changes none that runs. (Not on the background compiler thread:
    /// the entry is compiled here, unless that thread is compiling, which
    /// this does not wait for.)
    pub fn hot_call(&self, target: u32) {
        let Some(&t) = self.plan_of.get(target as usize) else {
            return;
        };
        let u = &self.units[t as usize];
        let Some(Ok(plan)) = &u.direct_plan else {
            return;
        };
        let calls = self.calls_of(u, plan);
        let work = u.work.load(Ordering::Relaxed);
        let bytes = u.bytes.load(Ordering::Relaxed);
        if u.direct_tried.load(Ordering::Relaxed)
            || !plan.hot(calls, work, bytes, self.heat_threshold)
        {
            return;
        }
        u.wanted.store(true, Ordering::Relaxed);
        if u.code.load(Ordering::Acquire) == 0 {
            return;
        }
        // With a compiler thread, it compiles the entry (queued once,
        // `Queue::push`) and the caller goes on in ordinary code: a
        // process never waits for Cranelift.
        if self.queue.serving() {
            self.request(t as usize, Why::Direct);
            return;
        }
        // The compiler thread may hold `mem` for a whole compile: then do
        // not wait for it (the caller asks again after more calls).
        let mut guard = match self.mem.try_lock() {
            Ok(g) => g,
            Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return,
        };
        if let Some(mem) = self.memory(&mut guard) {
            self.try_direct(mem, t as usize, None);
        }
    }

    /// The calls into unit `u`'s function that count toward its direct
    /// entry (`DirectPlan::counted_calls`; its `hot` count is one of
    /// entries only without the cost policy).
    fn calls_of(&self, u: &Unit, plan: &direct::DirectPlan) -> u32 {
        let frames = u.calls.load(Ordering::Relaxed);
        if u.by_cost {
            return frames;
        }
        plan.counted_calls(frames, u.hot.load(Ordering::Relaxed))
    }

    /// Compile the direct entry of unit `t` once (under `Jit::mem`);
    /// `this`: its name and lowering input when they are at hand.
    fn try_direct(
        &self,
        mem: &mut code::CodeMemory,
        t: usize,
        this: Option<(&str, &lower::Input<'_>)>,
    ) {
        let u = &self.units[t];
        if !matches!(u.direct_plan, Some(Ok(_))) || u.direct_tried.swap(true, Ordering::Relaxed) {
            return;
        }
        match this {
            Some((name, input)) => self.compile_direct(mem, u, name, input),
            None => {
                let name = self.unit_name(u);
                let callee = |target: u32| self.callee(target);
                let input = self.input(u, &callee);
                self.compile_direct(mem, u, &name, &input);
            }
        }
    }

    /// Compile the direct entry of unit `u`, if it can have one.
    fn compile_direct(
        &self,
        mem: &mut code::CodeMemory,
        u: &Unit,
        name: &str,
        input: &lower::Input<'_>,
    ) {
        let plan = match &u.direct_plan {
            Some(Ok(plan)) => plan,
            Some(Err(why)) => {
                self.stats_mut()
                    .direct
                    .push((name.to_string(), Err(why.clone())));
                return;
            }
            None => return,
        };
        let t0 = Instant::now();
        let result = self.generate(|| {
            mem.compile_direct(
                name,
                (plan.params.len(), plan.rets),
                self.dump.is_some(),
                |b, im| lower::translate_direct(b, im, input, plan),
            )
        });
        match result {
            Ok(c) => {
                // T4 for the direct entry.
                u.direct.store(c.code, Ordering::Release);
                self.stats_mut()
                    .direct
                    .push((name.to_string(), Ok((c.bytes, t0.elapsed()))));
                self.enable_resume(mem, u);
                // Its callees are called from direct code now.
                if self.threshold != 0 {
                    let index = self.plan_of[plan.target as usize] as usize;
                    self.want_callees(mem, index, plan.blocks.iter().copied());
                }
            }
            Err(why) => {
                self.stats_mut().direct.push((name.to_string(), Err(why)));
            }
        }
    }

    /// The unit's name in `--stats` and `--jit-dump`.
    pub(super) fn unit_name(&self, u: &Unit) -> String {
        let p = &*self.program;
        let name = |a: u32| format!("{} ({})", p.function_name(a), p.location(a));
        let first = u.plan.cont.or(u.plan.blocks.first().copied());
        match (u.plan.part, first) {
            (Some(part), Some(a)) => format!(
                "{}, part {} of {} at {}",
                name(part.unit_start),
                part.index + 1,
                part.count,
                p.location(a)
            ),
            (None, Some(a)) => name(a),
            (_, None) => format!("layout {}", u.plan.layout),
        }
    }

    /// The Cranelift IR of the direct entry of the function at program
    /// address `at` (a CALL target), without compiling it.
    pub fn direct_ir_of(&self, at: u32) -> Result<String, String> {
        self.ir_at(at, |mem, u, input| {
            let plan = match &u.direct_plan {
                Some(Ok(plan)) if plan.target == at => plan,
                Some(Err(why)) => return Err(why.clone()),
                _ => return Err(format!("no CALL enters {at}")),
            };
            mem.ir_only_direct((plan.params.len(), plan.rets), |b, im| {
                lower::translate_direct(b, im, input, plan)
            })
        })
    }

    /// The Cranelift IR of the unit whose code starts at program address
    /// `at`, without compiling it (for snapshot tests and `--jit-dump`).
    pub fn ir_of(&self, at: u32) -> Result<String, String> {
        self.ir_at(at, |mem, _, input| {
            mem.ir_only(|b, im| lower::translate(b, im, input))
        })
    }

    /// `make` the IR of something of the unit at program address `at`.
    fn ir_at(
        &self,
        at: u32,
        make: impl FnOnce(&mut code::CodeMemory, &Unit, &lower::Input<'_>) -> Result<String, String>,
    ) -> Result<String, String> {
        let plan = *self
            .plan_of
            .get(at as usize)
            .ok_or_else(|| format!("no instruction {at}"))?;
        let u = &self.units[plan as usize];
        let mut guard = self.mem.lock().unwrap_or_else(|e| e.into_inner());
        let mem = self.memory(&mut guard).ok_or("no code memory")?;
        let callee = |target: u32| self.callee(target);
        let input = self.input(u, &callee);
        make(mem, u, &input)
    }
}
