//! The engine side of `ttvm repl` (docs/REPL.md): one node whose main
//! process (PID 1) runs the entries one after another, in rounds.
//!
//! Each entry grows the program (`asm::Session`: appended, so every
//! earlier address stays valid) and is decoded anew; between rounds no
//! process runs, so the engine moves every process's decoded addresses
//! (pc, return addresses, catch addresses) to the new decoding. Then the
//! main process's bottom frame takes the entry's variable layout, filled
//! by name from the session's variables, and the node runs until the main
//! process reaches the end of the entry (or HALT), crashes, deadlocks or
//! EXITs. Spawned processes run whenever an entry runs and keep their
//! state in between.
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
use std::sync::{Arc, Mutex};
use ttvm_runtime::{node, Node, Pid, RunEnd, SchedConfig, Value};

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
    node: Node<Box<Context>>,
    config: RunConfig,
    current: Option<Generation>,
    /// Whether the main process was started (by the first entry that runs).
    started: bool,
    /// The main process's variables between entries.
    vars: BTreeMap<String, (ttvm_runtime::Atom, Value)>,
}

/// What one round is told about the main process's slices.
pub(super) struct Round {
    stopped: Mutex<Option<Stop>>,
}

/// Why the main process stopped an entry.
enum Stop {
    Done,
    Failed,
}

impl Round {
    /// The main process's slice ended with `out`: at the end of the entry
    /// (`Halted`) or with an error, end the round instead of the process.
    pub(super) fn main_stopped(
        &self,
        engine: &Engine<'_>,
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
        *self.stopped.lock().unwrap_or_else(|e| e.into_inner()) = Some(stop);
        Some(node::Outcome::ExitVm(0))
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
            node: Node::new(config.max_processes),
            config,
            current: None,
            started: false,
            vars: BTreeMap::new(),
        }
    }

    /// Run an entry `asm::Session::add` accepted.
    pub fn run(&mut self, entry: crate::asm::Entry) -> Outcome {
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
        let generation = Generation { program, code, vm };
        if entry.definition {
            self.current = Some(generation);
            return Outcome::Done;
        }
        let start = entry.start;
        let layout = generation.program.layout_at(start);
        let names: Vec<ttvm_runtime::Atom> = layout.names.to_vec();
        let locals: Vec<Option<Value>> = names
            .iter()
            .map(|n| self.vars.get(n.as_str()).map(|(_, v)| v.clone()))
            .collect();
        let pc = generation.code.layout.dpc(Addr(start));
        let root = Frame {
            ret: u32::MAX,
            call_site: start,
            entry: start,
            base: 0,
            size: names.len() as u32,
            stack_base: 0,
            kind: FrameKind::Root,
        };
        let before: Vec<Value>;
        if !self.started {
            self.started = true;
            let mut main = Context::boxed(pc, Addr(start), names.len() as u32);
            main.locals = locals;
            before = Vec::new();
            if let Err(e) = self.node.spawn_root(main) {
                generation
                    .vm
                    .eprint(&format!("error: cannot start the main process: {e}\n"));
                return Outcome::MainEnded;
            }
        } else {
            before = self.node.with_state_mut(1, |c| {
                let c = c.expect("the main process is at rest between entries");
                c.locals = locals;
                c.frames = vec![root];
                c.handlers = Handlers::default();
                c.captures.clear();
                c.exports.clear();
                c.pc = pc;
                c.stack.clone()
            });
            self.node.prepare_round();
        }
        let round = Round {
            stopped: Mutex::new(None),
        };
        let engine = Engine {
            code: &generation.code,
            vm: &generation.vm,
            jit: None,
            fresh: None,
            compiled: &[],
            limited: AtomicU64::new(0),
            hit_limit: AtomicBool::new(false),
            repl: Some(&round),
        };
        let sched = SchedConfig {
            schedulers: self.config.schedulers.max(1),
            budget: self.config.reductions,
            pin: false,
            stack_bytes: 64 << 20,
        };
        let (end, _) = self.node.run(&engine, &sched);
        let stopped = round
            .stopped
            .into_inner()
            .unwrap_or_else(|e| e.into_inner());
        let vm = &generation.vm;
        let outcome = match (end, stopped) {
            (RunEnd::Exit(_), Some(Stop::Done)) => Outcome::Done,
            (RunEnd::Exit(_), Some(Stop::Failed)) => Outcome::Failed,
            (RunEnd::Exit(n), None) => Outcome::Exit(n),
            (RunEnd::Deadlock, _) => {
                let report = deadlock_report(&self.node, &generation.code, &generation.program);
                vm.eprint(&format!(
                    "{report}  the entry was abandoned; the stack and variables are as before it\n"
                ));
                self.node.cancel_wait(1);
                Outcome::Failed
            }
            (RunEnd::AllEnded, _) => {
                match self.node.main_killed() {
                    Some(k) => vm.eprint(&main_killed_report(&k)),
                    None => vm.eprint("error: the main process ended\n"),
                }
                Outcome::MainEnded
            }
        };
        vm.flush();
        if matches!(outcome, Outcome::Done | Outcome::Failed) {
            let vars = &mut self.vars;
            self.node.with_state_mut(1, |c| {
                let Some(c) = c else { return };
                if outcome == Outcome::Done {
                    for (slot, name) in names.iter().enumerate() {
                        match c.locals.get(slot).cloned().flatten() {
                            Some(v) => {
                                vars.insert(name.as_str().to_string(), (name.clone(), v));
                            }
                            None => {
                                vars.remove(name.as_str());
                            }
                        }
                    }
                } else {
                    c.stack = before;
                }
                c.frames.truncate(1);
                c.locals.truncate(names.len());
                c.handlers = Handlers::default();
                c.exports.clear();
            });
        }
        self.current = Some(generation);
        outcome
    }

    /// The main process's operand stack (bottom first).
    pub fn stack(&self) -> Vec<Value> {
        self.node
            .with_state(1, |c| c.map(|c| c.stack.clone()).unwrap_or_default())
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
}
