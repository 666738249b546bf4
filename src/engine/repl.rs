//! The engine side of `ttvm repl` (docs/REPL.md): one node whose main
//! process (PID 1) runs the entries one after another.
//!
//! Each entry grows the program (`asm::Session`: appended, so every
//! earlier address stays valid) and is decoded anew. The node runs in
//! rounds on a background thread: a round runs until the REPL stops it for
//! the next entry, so spawned processes keep running while the user types.
//! Between rounds no process runs: the engine moves every process's
//! decoded addresses (pc, return addresses, catch addresses) to the new
//! decoding; the main process's bottom frame takes the entry's variable
//! layout, filled by name from the session's variables; and a new round
//! starts. When the main process reaches the end of the entry (or HALT) or
//! crashes, its slice does not end the process: the engine tidies its
//! frames, tells the REPL, and parks it (a SLEEP that never ends) while
//! the round goes on. A deadlock, an EXIT or the end of the main process
//! ends the round.
//!
//! What the main process keeps across entries: the operand stack and the
//! variables (by name). A failed entry (a run-time error, a deadlock)
//! leaves both as they were before it.

use super::driver::{crash_report, deadlock_report, main_killed_report, Engine};
use crate::bytecode::Program;
use crate::exec::vm::{Io, ModuleState, RunConfig};
use crate::exec::{Addr, Context, Control, Dpc, Frame, FrameKind, Handlers, Layout, Vm};
use crate::interp::Code;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use ttvm_runtime::{node, Node, Pid, Process, RunEnd, Sched, SchedConfig, Value};

/// The run end the REPL asks for when it stops a round (an EXIT of the
/// program cannot give it: EXIT's status is 0 to 255).
const STOPPED: RunEnd = RunEnd::Exit(i32::MIN);

/// How an entry went.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It ran to its end (or HALT), or only defined code.
    Done,
    /// It raised an error nobody caught, or deadlocked: reported on
    /// stderr; the stack and variables are as before it.
    Failed,
    /// EXIT n: the session ends with this status.
    Exit(i32),
    /// An exit signal ended the main process: the session is over (status 1).
    MainEnded,
}

/// The program of the current round and what runs it.
struct Generation {
    program: Arc<Program>,
    code: Code,
    vm: Vm,
}

/// A REPL session's node.
pub struct Repl {
    node: Arc<Node<Box<Context>>>,
    config: RunConfig,
    current: Option<Arc<Generation>>,
    /// Whether the main process was started (by the first entry that runs).
    started: bool,
    /// The main process's variables between entries.
    vars: BTreeMap<String, (ttvm_runtime::Atom, Value)>,
    /// The main process's operand stack when it last stopped.
    stack: Vec<Value>,
    /// The round running in the background.
    running: Option<(JoinHandle<RunEnd>, Arc<Round>)>,
}

/// What the main process's slices tell the REPL in one round.
pub(super) struct Round {
    state: Mutex<RoundState>,
    changed: Condvar,
    /// The main process's stack before the entry (a failed entry goes
    /// back to it).
    before: Vec<Value>,
}

#[derive(Default)]
struct RoundState {
    /// Why the main process stopped the entry, once it did.
    stopped: Option<Stop>,
    /// Its stack and bottom-frame variables then.
    stack: Vec<Value>,
    locals: Vec<Option<Value>>,
    /// The round's run ended.
    ended: bool,
}

/// Why the main process stopped an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stop {
    Done,
    Failed,
}

/// How long the parked main process "sleeps": until the next entry ends
/// the wait (`Node::cancel_wait`).
const PARKED: Duration = Duration::from_secs(365 * 24 * 3600);

impl Round {
    fn new(before: Vec<Value>) -> Arc<Round> {
        Arc::new(Round {
            state: Mutex::new(RoundState::default()),
            changed: Condvar::new(),
            before,
        })
    }

    fn lock(&self) -> MutexGuard<'_, RoundState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The main process's slice ended with `out`: at the end of the entry
    /// (`Halted`) or with an error, tidy its frames, tell the REPL and
    /// park it, instead of ending it.
    pub(super) fn main_stopped(
        &self,
        engine: &Engine<'_>,
        sched: &Sched<'_, Box<Context>>,
        me: &Process<Box<Context>>,
        ctx: &mut Context,
        out: &Control,
    ) -> Option<node::Outcome> {
        let stop = match out {
            Control::Halted => Stop::Done,
            Control::Crashed(e) => {
                engine.vm.eprint(&crash_report(
                    engine.vm,
                    engine.code,
                    ctx,
                    1,
                    None,
                    &e.message,
                ));
                Stop::Failed
            }
            Control::Killed(reason) => {
                engine
                    .vm
                    .eprint(&format!("error: the main process exited: {reason}\n"));
                Stop::Failed
            }
            _ => return None,
        };
        let size = ctx.frames.first().map_or(0, |f| f.size as usize);
        let locals = ctx.locals[..size.min(ctx.locals.len())].to_vec();
        if stop == Stop::Failed {
            ctx.stack = self.before.clone();
        }
        ctx.frames.truncate(1);
        ctx.locals.truncate(size);
        ctx.handlers = Handlers::default();
        ctx.exports.clear();
        // What the entry printed shows before the REPL's stack line.
        engine.vm.flush();
        {
            let mut st = self.lock();
            st.stopped = Some(stop);
            st.stack = ctx.stack.clone();
            st.locals = locals;
        }
        self.changed.notify_all();
        sched.sleep(me, Instant::now() + PARKED);
        Some(node::Outcome::Waiting)
    }
}

/// A decoded address of the old decoding, in the new one.
fn remap(old: &Layout, new: &Layout, d: u32) -> u32 {
    match old.get_addr(Dpc(d)) {
        Some(a) if old.dpc(a).0 == d => new.dpc(a).0,
        Some(a) => new.resume(a).0,
        None => d,
    }
}

impl Repl {
    /// `config`: the limits and schedulers of the session's node (its JIT,
    /// trace and debug settings are not used).
    pub fn new(config: RunConfig) -> Repl {
        Repl {
            node: Arc::new(Node::new(config.max_processes)),
            config,
            current: None,
            started: false,
            vars: BTreeMap::new(),
            stack: Vec::new(),
            running: None,
        }
    }

    /// Start a round of the current generation on a background thread.
    fn start_round(&mut self, before: Vec<Value>) -> Arc<Round> {
        let round = Round::new(before);
        let generation = self.current.clone().expect("a program");
        let (node, r) = (self.node.clone(), round.clone());
        let sched = SchedConfig {
            schedulers: self.config.schedulers.max(1),
            budget: self.config.reductions,
            pin: false,
            stack_bytes: 64 << 20,
        };
        let handle = std::thread::Builder::new()
            .name("ttvm-repl-round".to_string())
            .stack_size(256 << 20)
            .spawn(move || {
                let engine = Engine {
                    code: &generation.code,
                    vm: &generation.vm,
                    jit: None,
                    fresh: None,
                    compiled: &[],
                    limited: AtomicU64::new(0),
                    hit_limit: AtomicBool::new(false),
                    repl: Some(&r),
                };
                let (end, _) = node.run_shared(&engine, &sched);
                generation.vm.flush();
                r.lock().ended = true;
                r.changed.notify_all();
                end
            })
            .expect("start the REPL's round thread");
        self.running = Some((handle, round.clone()));
        round
    }

    /// Stop the round running in the background, if one is: how it ended
    /// when it ended otherwise than by this stop (an EXIT, the end of the
    /// main process).
    fn stop_round(&mut self) -> Option<RunEnd> {
        let (handle, _) = self.running.take()?;
        self.node.stop_run(STOPPED);
        let end = handle
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        (end != STOPPED).then_some(end)
    }

    /// Run an entry `asm::Session::add` accepted.
    pub fn run(&mut self, entry: crate::asm::Entry) -> Outcome {
        match self.stop_round() {
            Some(RunEnd::Exit(n)) => return Outcome::Exit(n),
            Some(_) if self.started && !self.node.is_alive(1) => {
                self.report_main_end();
                return Outcome::MainEnded;
            }
            _ => {}
        }
        let program = entry.program;
        let code = Code::new(&program, true, false);
        let io = Io {
            stdout: Box::new(std::io::stdout()),
            stderr: Box::new(std::io::stderr()),
            // The session reads its own stdin: READ_LINE sees end of input.
            stdin: Box::new(std::io::empty()),
        };
        let vm = Vm::new(program.clone(), self.config.clone(), io);
        if let Some(old) = &self.current {
            // Modules already run stay run.
            let old_states = old.vm.modules.lock().unwrap_or_else(|e| e.into_inner());
            let mut states = vm.modules.lock().unwrap_or_else(|e| e.into_inner());
            for (i, s) in old_states.iter().enumerate() {
                if let ModuleState::Done(_) = s {
                    states[i] = s.clone();
                }
            }
            drop(states);
            drop(old_states);
            let (ol, nl) = (&old.code.layout, &code.layout);
            for pid in self.node.live_pids() {
                self.node.with_state_mut(pid, |c| {
                    let Some(c) = c else { return };
                    c.pc = Dpc(remap(ol, nl, c.pc.0));
                    for f in &mut c.frames {
                        if f.ret != u32::MAX {
                            f.ret = remap(ol, nl, f.ret);
                        }
                    }
                    c.handlers.remap_catch(|d| remap(ol, nl, d));
                });
            }
        }
        let start = entry.start;
        self.current = Some(Arc::new(Generation { program, code, vm }));
        let generation = self.current.clone().expect("just set");
        if entry.definition {
            if self.started {
                // The other processes go on running.
                self.node.prepare_round();
                self.start_round(Vec::new());
            }
            return Outcome::Done;
        }
        let layout = generation.program.layout_at(start);
        let names: Vec<ttvm_runtime::Atom> = layout.names.to_vec();
        let locals: Vec<Option<Value>> = names
            .iter()
            .map(|n| self.vars.get(n.as_str()).map(|(_, v)| v.clone()))
            .collect();
        let pc = generation.code.layout.dpc(Addr(start));
        let before = self.stack.clone();
        if !self.started {
            self.started = true;
            let mut main = Context::boxed(pc, Addr(start), names.len() as u32);
            main.locals = locals;
            if let Err(e) = self.node.spawn_root(main) {
                generation
                    .vm
                    .eprint(&format!("error: cannot start the main process: {e}\n"));
                return Outcome::MainEnded;
            }
        } else {
            // Parked (or, after a deadlock, queued where it waited).
            self.node.cancel_wait(1);
            let root = Frame {
                ret: u32::MAX,
                call_site: start,
                entry: start,
                base: 0,
                size: names.len() as u32,
                stack_base: 0,
                kind: FrameKind::Root,
            };
            self.node.with_state_mut(1, |c| {
                let c = c.expect("the main process is at rest between entries");
                c.locals = locals;
                c.frames = vec![root];
                c.handlers = Handlers::default();
                c.captures.clear();
                c.exports.clear();
                c.stack = before.clone();
                c.pc = pc;
            });
            self.node.prepare_round();
        }
        let round = self.start_round(before);
        let (stopped, st_stack, st_locals) = {
            let mut st = round.lock();
            while st.stopped.is_none() && !st.ended {
                st = round.changed.wait(st).unwrap_or_else(|e| e.into_inner());
            }
            (
                st.stopped,
                std::mem::take(&mut st.stack),
                std::mem::take(&mut st.locals),
            )
        };
        if let Some(stop) = stopped {
            self.stack = st_stack;
            if stop == Stop::Done {
                for (slot, name) in names.iter().enumerate() {
                    match st_locals.get(slot).cloned().flatten() {
                        Some(v) => {
                            self.vars
                                .insert(name.as_str().to_string(), (name.clone(), v));
                        }
                        None => {
                            self.vars.remove(name.as_str());
                        }
                    }
                }
                return Outcome::Done;
            }
            return Outcome::Failed;
        }
        // The round ended before the main process stopped the entry.
        let (handle, _) = self.running.take().expect("the round");
        let end = handle
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        let vm = &generation.vm;
        match end {
            RunEnd::Deadlock => {
                let report = deadlock_report(&self.node, &generation.code, &generation.program);
                vm.eprint(&format!(
                    "{report}  the entry was abandoned; the stack and variables are as before it\n"
                ));
                self.node.cancel_wait(1);
                let stack = self.stack.clone();
                self.node.with_state_mut(1, |c| {
                    if let Some(c) = c {
                        c.stack = stack;
                        c.frames.truncate(1);
                        c.locals.truncate(names.len());
                        c.handlers = Handlers::default();
                        c.exports.clear();
                    }
                });
                Outcome::Failed
            }
            RunEnd::Exit(n) => Outcome::Exit(n),
            RunEnd::AllEnded => {
                self.report_main_end();
                Outcome::MainEnded
            }
        }
    }

    fn report_main_end(&self) {
        let text = match self.node.main_killed() {
            Some(k) => main_killed_report(&k),
            None => "error: the main process ended\n".to_string(),
        };
        match &self.current {
            Some(g) => g.vm.eprint(&text),
            None => eprint!("{text}"),
        }
    }

    /// The main process's operand stack (bottom first) after the last entry.
    pub fn stack(&self) -> Vec<Value> {
        self.stack.clone()
    }

    /// The main process's variables, by name.
    pub fn vars(&self) -> Vec<(String, Value)> {
        self.vars
            .iter()
            .map(|(k, (_, v))| (k.clone(), v.clone()))
            .collect()
    }

    /// The live processes other than the main one: PID and registered name.
    pub fn processes(&self) -> Vec<(Pid, Option<String>)> {
        self.node
            .live_pids()
            .into_iter()
            .filter(|&p| p != 1)
            .map(|p| (p, self.node.name_of(p).map(|n| n.to_string())))
            .collect()
    }

    /// End the session: stop the round running in the background.
    pub fn finish(&mut self) {
        let _ = self.stop_round();
    }
}

impl Drop for Repl {
    fn drop(&mut self) {
        self.finish();
    }
}
