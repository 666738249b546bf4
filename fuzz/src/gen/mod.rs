//! A structure-aware generator of valid `.ttvm` programs, driven by fuzzer
//! bytes through `arbitrary::Unstructured`. Shared by the `run` target
//! (generated mode), the `differential` target and `tests/fuzz_corpus.rs`.
//!
//! Every program it makes assembles (the oracles assert it). Expressions
//! push exactly one value and statements leave the stack as they found it,
//! so most generated code runs far instead of failing at its first
//! instruction; runtime errors (type errors, bad PIDs, undefined variables,
//! uncaught throws) still happen, as they should.
//!
//! Shape of a program: the main process's body, `HALT`, then routines
//! `r0`, `r1`, …: functions (return one value; some recursive with a
//! bounded countdown) and process bodies. Routine `i` only calls or spawns
//! routines `j > i` (and a recursive one itself), and every loop counts a
//! variable nothing else writes down from at most [`MAX_LOOP`], so every
//! program ends or waits; the reduction limit covers the rest.
//!
//! What the code uses: literals of every type, arithmetic, comparison and
//! logic (Float arithmetic on Floats too), stack shuffles, variables,
//! if/else, counted loops, lists, objects,
//! strings, CALL/CALL_FUNCTION of functions and closures (CAPTURE,
//! MAKE_LAMBDA; function values kept in variables and lists and called in
//! counted loops, the callee changing between turns), functions returning
//! two or three values (collapsed, or stored one by one), field reads and
//! writes by name and by run-time key, loops that update an object's
//! Float and Int fields or grow, read and set a small list in place
//! (what the JIT compiles inline: issue 15), tail calls, TRY/THROW/CATCH/END_TRY, SPAWN/SPAWN_LINK of
//! function values, closures, labels and built-in names, SEND/SENDNAMED,
//! RECEIVE/RECEIVE_MATCH/RECEIVE_AFTER/RECEIVE_MATCH_AFTER (request/reply
//! servers, mailbox drains), LINK/UNLINK/MONITOR/DEMONITOR/TRAP_EXIT/
//! EXIT_PROCESS, REGISTER/UNREGISTER/WHEREIS, YIELD, sandboxed host calls,
//! EXIT, plus a few raw stack-unbalancing instructions.
//!
//! Files: this one holds the generator's state ([`Gen`]) and its small
//! helpers; `program.rs` the routines and their bodies, `stmt.rs` one
//! statement, `expr.rs` expressions (typed or not), calls and literals,
//! `process.rs` process operations (send, receive, serve, spawn), and
//! `vocab.rs` the pools of names and literals.

#![allow(dead_code)]

mod expr;
mod process;
mod program;
mod stmt;
mod vocab;

use arbitrary::{Result, Unstructured};
use std::fmt::Write;

/// Iterations of a generated loop, at most.
pub const MAX_LOOP: i64 = 12;
/// Instructions per generated program, roughly (generation stops adding
/// statements past it).
const MAX_INSTRS: usize = 800;
/// Expression nesting.
const MAX_DEPTH: u32 = 4;
/// Statement nesting (if, loop, try).
const MAX_BLOCKS: u32 = 3;

/// What the generated program may use.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Wall-clock waits: SLEEP and receive timeouts of 1–3 ms (at most 3
    /// such sites, never inside a loop or a function). Off, every timeout is 0 (a poll),
    /// which keeps a one-scheduler run deterministic for the differential
    /// target.
    pub timers: bool,
}

/// A generated program.
#[derive(Clone, Debug)]
pub struct Generated {
    pub source: String,
    /// The statuses its `EXIT` instructions give (valid codes only).
    pub exit_codes: Vec<i32>,
    /// The shapes of code it made, of those `tests/fuzz_corpus.rs` checks
    /// the generator makes (see [`Gen::shape`]).
    pub shapes: Vec<&'static str>,
}

#[derive(Clone, Debug)]
struct Routine {
    label: String,
    params: Vec<String>,
    /// A function returns values; a process body is only spawned.
    function: bool,
    /// The values a function returns: 1, or 2 or 3 (never for a recursive
    /// one). Every RET of it returns that many.
    rets: usize,
    /// A function of one parameter `n` that calls itself with `n - 1`.
    recursive: bool,
}

struct Gen<'a, 'b> {
    u: &'a mut Unstructured<'b>,
    opts: Options,
    out: String,
    instrs: usize,
    next_id: u32,
    routines: Vec<Routine>,
    /// The routine being generated (`None`: the main process).
    current: Option<usize>,
    exit_codes: Vec<i32>,
    timed_sites: u32,
    /// Variables defined on every path to here, per open block.
    scopes: Vec<Vec<(String, Ty)>>,
    /// Variables that hold a PID (a subset of the scope's).
    pid_vars: Vec<String>,
    loops: u32,
    blocks: u32,
    /// The main process imported `std/math` (abs, max, min, pow).
    math: bool,
    shapes: std::collections::BTreeSet<&'static str>,
}

/// Generate a program from `u`.
pub fn generate(u: &mut Unstructured<'_>, opts: Options) -> Result<Generated> {
    let mut g = Gen {
        u,
        opts,
        out: String::new(),
        instrs: 0,
        next_id: 0,
        routines: Vec::new(),
        current: None,
        exit_codes: Vec::new(),
        timed_sites: 0,
        scopes: vec![Vec::new()],
        pid_vars: Vec::new(),
        loops: 0,
        blocks: 0,
        math: false,
        shapes: Default::default(),
    };
    g.program()?;
    Ok(Generated {
        source: g.out,
        exit_codes: g.exit_codes,
        shapes: g.shapes.into_iter().collect(),
    })
}

impl Gen<'_, '_> {
    fn emit(&mut self, line: &str) {
        self.out.push_str(line);
        self.out.push('\n');
        self.instrs += 1;
    }

    /// Emit one of `lines`.
    fn emit_one(&mut self, lines: &[&str]) -> Result<()> {
        let line = self.pick(lines)?;
        self.emit(line);
        Ok(())
    }

    fn fresh(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}{}", self.next_id)
    }

    fn label(&mut self, name: &str) {
        let _ = writeln!(self.out, "LABEL {name}");
    }

    fn pick<T: Clone>(&mut self, items: &[T]) -> Result<T> {
        Ok(items[self.u.choose_index(items.len())?].clone())
    }

    fn chance(&mut self, in_n: u32) -> Result<bool> {
        Ok(self.u.int_in_range(0..=in_n - 1)? == 0)
    }

    fn full(&self) -> bool {
        self.instrs >= MAX_INSTRS || self.u.is_empty()
    }

    fn in_scope(&self) -> Vec<String> {
        self.vars_of(Ty::Any)
    }

    /// The variables defined here whose value has type `ty` (any type for
    /// [`Ty::Any`]), each once.
    fn vars_of(&self, ty: Ty) -> Vec<String> {
        let mut seen: Vec<(&String, Ty)> = Vec::new();
        for (name, t) in self.scopes.iter().rev().flat_map(|s| s.iter().rev()) {
            if !seen.iter().any(|(n, _)| *n == name) {
                seen.push((name, *t));
            }
        }
        seen.into_iter()
            .filter(|(_, t)| ty == Ty::Any || *t == ty)
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// `name` now holds a value of type `ty` (after the current block its
    /// type is only known when it was the same before).
    fn define(&mut self, name: &str, ty: Ty) {
        for (n, t) in self.scopes.iter_mut().flatten() {
            if n == name && *t != ty {
                *t = Ty::Any;
            }
        }
        self.scopes
            .last_mut()
            .expect("a scope")
            .push((name.to_string(), ty));
    }

    fn forget(&mut self, name: &str) {
        for s in &mut self.scopes {
            s.retain(|(n, _)| n != name);
        }
        self.pid_vars.retain(|p| p != name);
    }

    /// Note that the program has code of shape `name` (for the test that
    /// the generator makes every shape it claims to).
    fn shape(&mut self, name: &'static str) {
        self.shapes.insert(name);
    }

    /// Routines the current code may call or spawn.
    fn callable(&self) -> std::ops::Range<usize> {
        match self.current {
            None => 0..self.routines.len(),
            Some(i) => i + 1..self.routines.len(),
        }
    }
}

/// What the generator knows of a value's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ty {
    Any,
    Int,
    Float,
    Str,
    List,
    Obj,
}

/// A string literal for PUSH_STR.
fn escape(s: &str) -> String {
    ttvm::bytecode::escape::quote(s)
}
