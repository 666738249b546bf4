//! Running a program: the runtime's scheduler drives the processes and the
//! engine runs each slice, in the interpreter or in compiled code, taking
//! turns at block boundaries (`Engine::run_tiers`; src/jit/README.md).

use super::helpers::{run_compiled, Host};
pub(super) use super::reports::{crash_report, deadlock_report, main_killed_report};
use super::RunResult;
use crate::bytecode::Program;
use crate::exec::native::status;
use crate::exec::semantics::Proc;
use crate::exec::vm::{Io, RunConfig};
use crate::exec::{Addr, Context, Control, Dpc, Vm};
use crate::interp::{self, Code, Tier, TierUp};
use crate::jit::{Jit, Resuming};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use ttvm_runtime::{node, Execute, Node, Process, RunEnd, Sched, SchedConfig, Value};

/// Native stack of the thread that runs the VM. Printing and comparing
/// values are iterative, but RECEIVE_MATCH's pattern matching
/// (`process::matches`) still recurses once per nesting level, so nesting
/// a million levels deep needs a few hundred megabytes; only the pages
/// touched are ever committed.
const VM_STACK_BYTES: usize = 1 << 30;

/// Run `program` to its end.
pub fn run(program: Arc<Program>, config: RunConfig, io: Io) -> RunResult {
    run_watched(program, config, io, crate::observe::Watch::default())
}

/// Run `program` to its end, with the process view `watch` asks for
/// (snapshots on SIGUSR1/SIGQUIT, `--top`; docs/OBSERVING.md).
pub fn run_watched(
    program: Arc<Program>,
    config: RunConfig,
    io: Io,
    watch: crate::observe::Watch,
) -> RunResult {
    let vm_thread = std::thread::Builder::new()
        .name("ttvm".to_string())
        .stack_size(VM_STACK_BYTES)
        .spawn(move || run_here(program, config, io, watch));
    match vm_thread {
        Ok(handle) => match handle.join() {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        },
        Err(e) => {
            eprintln!("error: cannot start the VM thread: {e}");
            RunResult {
                exit_code: crate::EXIT_ABNORMAL,
                hit_reduction_limit: false,
            }
        }
    }
}

fn run_here(
    program: Arc<Program>,
    config: RunConfig,
    io: Io,
    watch: crate::observe::Watch,
) -> RunResult {
    let top = watch.top.is_some();
    let fuse = !(config.debug || config.trace);
    // --debug and --trace show every instruction: they run interpreted.
    let jit_on = config.jit && fuse;
    let code = Code::new(&program, fuse, jit_on);
    let profile = config.profile.clone();
    let mut vm = Vm::new(program.clone(), config, io);
    vm.profiler = profile.map(|m| Arc::new(crate::profile::Profiler::new(m)));
    let vm = Arc::new(vm);
    let jit = jit_on.then(|| {
        let dump: Option<crate::jit::DumpSink> = if vm.config.jit_dump {
            let vm = vm.clone();
            Some(Box::new(move |text: &str| vm.eprint(&format!("{text}\n"))))
        } else {
            None
        };
        Arc::new(Jit::new(
            program.clone(),
            code.layout.clone(),
            &super::helpers::table(),
            crate::jit::JitConfig {
                threshold: vm.config.jit_threshold,
                cost_policy: vm.config.jit_cost_policy,
                max_stack: vm.config.max_stack,
                max_call_depth: vm.config.max_call_depth,
                max_frame_slots: vm.config.max_frame_slots,
                dump,
                background: !vm.config.jit_sync,
            },
        ))
    });
    // What the interpreter's field reads give, for the JIT's guards.
    if let Some(jit) = &jit {
        jit.set_field_sites(code.sites.clone(), &code.site_at);
        jit.set_callees(code.callees.clone());
    }
    let mut node: Node<Box<Context>> = Node::new(vm.config.max_processes);
    if vm.config.trace_procs {
        let vm = vm.clone();
        node.set_tracer(Box::new(move |event| {
            vm.eprint(&format!("[procs] {event}\n"))
        }));
    }
    if let Some(flags) = &vm.config.dist {
        let warn_vm = vm.clone();
        let warn: Arc<dyn Fn(&str) + Send + Sync> =
            Arc::new(move |line: &str| warn_vm.eprint(&format!("{line}\n")));
        if let Err(e) = crate::dist::start(&node, flags, warn) {
            vm.eprint(&format!("error: distribution: {e}\n"));
            vm.flush();
            return RunResult {
                exit_code: crate::EXIT_USAGE,
                hit_reduction_limit: false,
            };
        }
        // Other nodes spawn by module and function name (issue 17).
        let (spawn_vm, layout) = (vm.clone(), code.layout.clone());
        node.set_spawner(Box::new(move |module, function, args| {
            crate::exec::semantics::spawn::resolve(&spawn_vm, &layout, module, function, args)
        }));
    }
    let size = program.layout_at(0).names.len() as u32;
    let main = Box::new(Context::new(code.layout.dpc(Addr(0)), Addr(0), size));
    node.spawn_root(main).expect("the first process");
    let fresh = jit.as_deref().map(|jit| Tier {
        watch: jit.watch(),
        hook: Fresh(jit),
    });
    let engine = Engine {
        code: &code,
        vm: &vm,
        jit: jit.as_deref(),
        fresh: fresh.as_ref(),
        compiled: jit.as_deref().map_or(&[], |j| j.compiled()),
        limited: AtomicU64::new(0),
        hit_limit: AtomicBool::new(false),
        repl: None,
    };
    let schedulers = vm.config.schedulers.max(1);
    let sched = SchedConfig {
        schedulers,
        budget: vm.config.reductions,
        pin: vm.config.pin,
        stack_bytes: if schedulers <= 64 {
            VM_STACK_BYTES
        } else {
            VM_STACK_BYTES / 4
        },
    };
    let source = crate::observe::Source::new(&program, &code.layout);
    // The JIT's compiler thread, if it has one, runs as long as the
    // processes do (src/jit/queue.rs, B1 and B5 in src/jit/README.md).
    let compiler = jit.as_ref().and_then(Jit::start_compiler);
    let (end, report) =
        crate::observe::during(watch, &node, &vm, &source, || node.run(&engine, &sched));
    drop(compiler);
    // Messages to other nodes still on their way go out first (bounded).
    if let Some(d) = node.dist() {
        d.flush(std::time::Duration::from_secs(5));
    }
    let hit_limit = engine.hit_limit.load(Ordering::Relaxed);
    let mut exit_code = match end {
        _ if hit_limit => crate::EXIT_ABNORMAL,
        RunEnd::Exit(n) => n,
        RunEnd::Deadlock => {
            let report = deadlock_report(&node, &code, &program);
            vm.eprint(&report);
            crate::EXIT_DEADLOCK
        }
        RunEnd::AllEnded => match node.main_reason() {
            Some(Value::Str(s)) if s.as_str() == "normal" => 0,
            _ => {
                if let Some(k) = node.main_killed() {
                    vm.eprint(&main_killed_report(&k));
                }
                crate::EXIT_ABNORMAL
            }
        },
    };
    vm.flush();
    if exit_code == 0 && vm.output_failed() {
        exit_code = crate::EXIT_OUTPUT_ERROR;
    }
    if vm.config.stats {
        let unpinned = if vm.config.pin && report.unpinned > 0 {
            format!(" ({} not pinned to a core)", report.unpinned)
        } else {
            String::new()
        };
        let per = node
            .stats
            .worker_reductions
            .lock()
            .map(|v| v.clone())
            .unwrap_or_default();
        let per = if per.len() > 1 {
            let each: Vec<String> = per.iter().map(|n| n.to_string()).collect();
            format!(" (per scheduler {})", each.join(" / "))
        } else {
            String::new()
        };
        vm.eprint(&format!(
            "stats: schedulers {schedulers}{unpinned}; processes spawned {}, peak live {}; messages sent {}; reductions {}{per}; time {:.3} ms\n",
            node.stats.spawned.load(Ordering::Relaxed),
            node.stats.peak_live.load(Ordering::Relaxed),
            node.stats.messages.load(Ordering::Relaxed),
            node.stats.reductions.load(Ordering::Relaxed),
            vm.started.elapsed().as_secs_f64() * 1e3
        ));
        if let Some(jit) = &jit {
            vm.eprint(&jit.stats().report());
        }
    }
    if let Some(p) = &vm.profiler {
        // Every process's profile is added when its state goes.
        drop(node);
        let compiled = |entry: u32| {
            jit.as_ref().is_some_and(|j| {
                j.compiled()
                    .get(code.layout.dpc(Addr(entry)).ix())
                    .is_some_and(|c| c.load(Ordering::Relaxed))
            })
        };
        let eprint = |t: &str| vm.eprint(t);
        if let Err(e) = crate::profile::finish(p, &program, jit.is_some(), &compiled, &eprint) {
            vm.eprint(&e);
            if exit_code == 0 {
                exit_code = crate::EXIT_OUTPUT_ERROR;
            }
        }
    }
    if top {
        // What the view captured of the program's streams, to them.
        crate::observe::top::before_exit(&vm);
    }
    // The code memory goes only now (or when the compiler thread ends, if
    // it is finishing a compile the run no longer needs, B5): no compiled
    // code runs any more.
    drop(jit);
    RunResult {
        exit_code,
        hit_reduction_limit: hit_limit,
    }
}

pub(super) struct Engine<'a> {
    pub(super) code: &'a Code,
    pub(super) vm: &'a Vm,
    pub(super) jit: Option<&'a Jit>,
    /// What the interpreter asks at header blocks in a slice that starts
    /// interpreted (the JIT itself: nothing to remember between the tiers).
    pub(super) fresh: Option<&'a Tier<'a, Fresh<'a>>>,
    /// [`Jit::compiled`] (empty without the JIT).
    pub(super) compiled: &'a [AtomicBool],
    /// Reductions of a run with a reduction limit.
    pub(super) limited: AtomicU64,
    pub(super) hit_limit: AtomicBool,
    /// A REPL round: how the main process's slices end (`repl.rs`).
    pub(super) repl: Option<&'a super::repl::Round>,
}

impl Execute<Box<Context>> for Engine<'_> {
    fn run_slice(
        &self,
        node: &Sched<'_, Box<Context>>,
        me: &Process<Box<Context>>,
        ctx: &mut Box<Context>,
        budget: i64,
    ) -> node::Outcome {
        ctx.budget = budget;
        let before = ctx.reductions;
        let pid = me.pid;
        if let Some(p) = &self.vm.profiler {
            profile_slice_start(p, me, ctx);
        }
        let mut proc = Proc { pid, node, me };
        // With or without the JIT, a slice starts in the interpreter unless
        // compiled code can take over where the process resumes; only when
        // it can, or the interpreter reaches compiled code (or compiles a
        // hot unit), does the engine switch between the tiers.
        // A filter only (T5 in src/jit/README.md): `Jit::entry` acquires
        // the code itself.
        let compiled = self
            .compiled
            .get(ctx.pc.ix())
            .is_some_and(|c| c.load(Ordering::Relaxed));
        let out = if compiled {
            self.run_tiers(ctx, &mut proc)
        } else {
            let tier = self.fresh.map(|t| t as _);
            match interp::run_slice(ctx, self.code, self.vm, &mut proc, tier) {
                Control::Continue => self.run_tiers(ctx, &mut proc),
                out => end_of(out),
            }
        };
        let spent = ctx.reductions - before;
        node.spent(spent);
        if self.vm.profiler.is_some() {
            profile_slice_end(ctx);
        }
        if let Some(limit) = self.vm.config.reduction_limit {
            // Only a limited run shares a counter between workers.
            if self.limited.fetch_add(spent, Ordering::Relaxed) + spent >= limit {
                self.hit_limit.store(true, Ordering::Relaxed);
                return node::Outcome::ExitVm(crate::EXIT_ABNORMAL);
            }
        }
        let out = match out {
            End::Preempted => {
                // For observers of a process that runs (docs/OBSERVING.md):
                // where it is and its reductions as of its last preempted
                // slice. Not at a wait: a waiting process is at rest and
                // read whole, and message passing pays nothing.
                me.note(ctx.pc.0 as u64, ctx.reductions);
                return node::Outcome::Preempted;
            }
            End::Waiting => return node::Outcome::Waiting,
            End::Other(out) => out,
        };
        if let Some(round) = self.repl.filter(|_| pid == 1) {
            if let Some(o) = round.main_stopped(self, node, me, ctx, &out) {
                return o;
            }
        }
        // The tiers go on after the ends of an instruction (`Next`, `Jump`,
        // `Raise`) and after `Interpret`; were one to reach here, the
        // process would resume at `ctx.pc` as after preemption.
        debug_assert!(
            !matches!(
                out,
                Control::Next | Control::Jump(_) | Control::Raise(_) | Control::Interpret
            ),
            "not a slice end: {out:?}"
        );
        match out {
            Control::Preempted
            | Control::Yielded
            | Control::Continue
            | Control::Next
            | Control::Jump(_)
            | Control::Raise(_)
            | Control::Interpret => node::Outcome::Preempted,
            Control::Waiting => node::Outcome::Waiting,
            Control::Halted => node::Outcome::Ended(Value::str("normal")),
            Control::Killed(reason) => node::Outcome::Ended(*reason),
            Control::Exit(n) => node::Outcome::ExitVm(n),
            Control::Crashed(e) => {
                let name = node.name_of(pid).map(|a| a.to_string());
                self.vm.eprint(&crash_report(
                    self.vm,
                    self.code,
                    ctx,
                    pid,
                    name.as_deref(),
                    &e.message,
                ));
                node::Outcome::Ended(Value::Str(e.message.clone()))
            }
        }
    }

    fn idle(&self) {
        self.vm.flush();
    }
}

/// `--profile`: a slice of `me` starts. Out of line, so that without
/// profiling the slice pays only the test.
#[cold]
#[inline(never)]
fn profile_slice_start(
    p: &Arc<crate::profile::Profiler>,
    me: &Process<Box<Context>>,
    ctx: &mut Context,
) {
    // SAFETY: this worker runs `me` (we are in its slice).
    let mailbox = unsafe { me.mailbox_len_running() };
    crate::profile::resume(ctx, p, me.pid, mailbox);
}

/// `--profile`: the slice ends (out of line, as the start).
#[cold]
#[inline(never)]
fn profile_slice_end(ctx: &mut Context) {
    crate::profile::pause(ctx);
}

impl Engine<'_> {
    /// The rest of a slice that runs compiled code: from `ctx.pc`, where
    /// compiled code starts (or the interpreter asked it to), the tiers take
    /// turns until the slice ends.
    ///
    /// Compiled code's status word says how it left; the common ends of
    /// a slice of a process that waits or is preempted every time (a
    /// server, a pipeline stage, a ring node) are told by it alone,
    /// without a `Control` made and matched.
    #[inline(never)]
    fn run_tiers(&self, ctx: &mut Context, proc: &mut Proc<'_>) -> End {
        let Some(jit) = self.jit else {
            unreachable!("compiled code without a JIT")
        };
        // A process whose operand stack never grew (a fresh one) gets room
        // for a block's pushes before compiled code starts, instead of
        // compiled code leaving to make it and entering again: once per
        // process, which spawn-heavy programs pay per process.
        if ctx.stack.capacity() < FRESH_ROOM {
            fresh_room(ctx);
        }
        // A block the interpreter runs before compiled code takes over
        // again (`NO_PC`: none), and whether compiled code just left for
        // `ctx.pc`.
        let mut skip = NO_PC;
        let mut left = false;
        let mut resume = true;
        loop {
            if skip == NO_PC {
                // A preempted direct frame at a loop header goes on in its
                // direct entry; elsewhere in the loop, the interpreter runs
                // it up to the header (docs/JIT.md, "Resuming"). Not after
                // a resumed frame left other than preempted in this slice.
                let resuming = if resume {
                    jit.resumable(ctx)
                } else {
                    Resuming::No
                };
                match resuming {
                    Resuming::Now(r) => {
                        let layout = &self.code.layout;
                        match super::resume::run_resumed(r, ctx, layout, self.vm, proc, jit) {
                            (Control::Continue, missed) => {
                                resume = !missed;
                                left = true;
                                continue;
                            }
                            (out, _) => return end_of(out),
                        }
                    }
                    Resuming::ToHeader => skip = ctx.pc,
                    Resuming::No => {}
                }
            }
            if skip == NO_PC {
                match jit.entry(ctx.pc) {
                    Some((f, block)) => {
                        let mut host = Host::new(ctx, &self.code.layout, self.vm, proc, jit);
                        match run_compiled(f, block, &mut host) {
                            status::WAIT => return End::Waiting,
                            status::PREEMPT => return End::Preempted,
                            status::CONTINUE => {
                                left = true;
                                continue;
                            }
                            // The interpreter runs this block, without
                            // going straight back to compiled code.
                            status::INTERPRET => {
                                jit.entry_check_failed(ctx.pc);
                                skip = ctx.pc;
                            }
                            _ => {
                                let out = host.outcome.take();
                                return end_of(out.unwrap_or(Control::Halted));
                            }
                        }
                    }
                    // Compiled code left for code that is not compiled (it
                    // called it, say): counted here, with the caller
                    // compiled. Tiny units count only so; the interpreter
                    // does not ask at them.
                    None if left => {
                        left = false;
                        if jit.tier_up(ctx.pc, true) {
                            continue;
                        }
                        skip = ctx.pc;
                    }
                    // A hot unit whose INDEX sites' kinds are read from
                    // this frame before it is compiled (`jit::elems`).
                    None => {
                        if jit.take_frame(ctx) {
                            continue;
                        }
                    }
                }
            }
            let tier = Tier {
                watch: jit.watch(),
                hook: Hook {
                    jit,
                    skip: Cell::new(skip),
                },
            };
            let out = interp::run_slice(ctx, self.code, self.vm, proc, Some(&tier));
            skip = NO_PC;
            left = false;
            match out {
                Control::Continue => continue,
                out => return end_of(out),
            }
        }
    }
}

/// See [`FRESH_ROOM`]; out of line (once per process).
#[cold]
#[inline(never)]
fn fresh_room(ctx: &mut Context) {
    ctx.stack.reserve(FRESH_ROOM);
}

/// The common ends are told by the tag alone: moving the whole `Control`
/// right after the interpreter wrote only its tag byte is a load that store
/// forwarding cannot serve (a stall on every slice of a message-passing
/// process).
#[inline(always)]
fn end_of(out: Control) -> End {
    match out {
        Control::Preempted | Control::Yielded => End::Preempted,
        Control::Waiting => End::Waiting,
        out => End::Other(out),
    }
}

/// How a slice ended: a [`Control`] that ends a slice, with the common
/// cases told apart without moving it (see [`end_of`]). Not a vocabulary
/// of its own: the engine's register-sized view of the control word.
enum End {
    Preempted,
    Waiting,
    Other(Control),
}

/// The interpreter's tier-up hook of a slice that starts interpreted:
/// compiled code has not run in it yet.
pub(super) struct Fresh<'a>(&'a Jit);

impl TierUp for Fresh<'_> {
    fn tier_up(&self, pc: Dpc) -> bool {
        self.0.tier_up(pc, false)
    }
}

/// The interpreter's tier-up hook while the tiers take turns.
struct Hook<'a> {
    jit: &'a Jit,
    /// A block the interpreter runs before compiled code takes over again
    /// (`NO_PC`: none).
    skip: Cell<Dpc>,
}

/// No block to interpret first.
const NO_PC: Dpc = Dpc(u32::MAX);

/// The operand stack (values) a process has before compiled code starts
/// in it (`Engine::run_tiers`): room for the pushes of a block of up to
/// eight instructions (compiled code makes room for twice a block's
/// instructions, as the interpreter does).
const FRESH_ROOM: usize = 16;

impl TierUp for Hook<'_> {
    fn tier_up(&self, pc: Dpc) -> bool {
        if self.skip.get() == pc {
            self.skip.set(NO_PC);
            return false;
        }
        self.jit.tier_up(pc, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The JIT of `src` with `threshold`, and the program's decoded form.
    fn jit_of(src: &str, threshold: u32) -> (Arc<Program>, Code, Jit) {
        let program = Arc::new(crate::load_source("t.ttvm", src).expect("assembles"));
        let code = Code::new(&program, true, true);
        let config = RunConfig::default();
        let jit = Jit::new(
            program.clone(),
            code.layout.clone(),
            &super::super::helpers::table(),
            crate::jit::JitConfig {
                threshold,
                cost_policy: false,
                max_stack: config.max_stack,
                max_call_depth: config.max_call_depth,
                max_frame_slots: config.max_frame_slots,
                dump: None,
                background: false,
            },
        );
        (program, code, jit)
    }

    const LOOP_AND_RECEIVE: &str = "PUSH_INT 0\nSTORE i\nLABEL loop\nLOAD i\nPUSH_INT 1\nADD\nSTORE i\nLOAD i\nPUSH_INT 10\nLT\nJNZ loop\nSELF\nPUSH_INT 5\nSWAP\nSEND\nRECEIVE\nPRINT\nHALT\n";

    /// What the engine reads at a slice start: set exactly where there is
    /// compiled code to enter, the resume point after a RECEIVE included.
    #[test]
    fn compiled_is_set_where_compiled_code_starts() {
        let (program, code, jit) = jit_of(LOOP_AND_RECEIVE, 0);
        let compiled = jit.compiled();
        assert_eq!(compiled.len(), code.ops.len());
        for (pc, c) in compiled.iter().enumerate() {
            let set = c.load(Ordering::Relaxed);
            assert_eq!(
                set,
                jit.entry(Dpc(pc as u32)).is_some(),
                "decoded address {pc}"
            );
        }
        let at = program
            .code
            .iter()
            .position(|i| matches!(i, crate::bytecode::Instr::Receive(_)))
            .expect("a RECEIVE");
        // A process waiting there resumes at the RECEIVE's own op.
        let resume = code.layout.resume(Addr(at as u32));
        assert!(compiled[resume.ix()].load(Ordering::Relaxed));
    }

    /// Before anything is compiled, every slice starts interpreted.
    #[test]
    fn compiled_is_clear_before_compiling() {
        let (_, _, jit) = jit_of(LOOP_AND_RECEIVE, 1000);
        assert!(jit.compiled().iter().all(|c| !c.load(Ordering::Relaxed)));
    }
}
