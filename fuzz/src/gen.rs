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
//! logic, stack shuffles, variables, if/else, counted loops, lists, objects,
//! strings, CALL/CALL_FUNCTION of functions and closures (CAPTURE,
//! MAKE_LAMBDA), tail calls, TRY/THROW/CATCH/END_TRY, SPAWN/SPAWN_LINK of
//! function values, closures, labels and built-in names, SEND/SENDNAMED,
//! RECEIVE/RECEIVE_MATCH/RECEIVE_AFTER/RECEIVE_MATCH_AFTER (request/reply
//! servers, mailbox drains), LINK/UNLINK/MONITOR/DEMONITOR/TRAP_EXIT/
//! EXIT_PROCESS, REGISTER/UNREGISTER/WHEREIS, YIELD, sandboxed host calls,
//! EXIT, plus a few raw stack-unbalancing instructions.

#![allow(dead_code)]

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
}

#[derive(Clone, Debug)]
struct Routine {
    label: String,
    params: Vec<String>,
    /// A function returns one value; a process body is only spawned.
    function: bool,
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
    };
    g.program()?;
    Ok(Generated {
        source: g.out,
        exit_codes: g.exit_codes,
    })
}

const VARS: &[&str] = &["a", "b", "c", "d", "\"x y\"", "e"];
const FIELDS: &[&str] = &["f", "g", "message", "value", "\"k;k\""];
const NAMES: &[&str] = &["srv", "log", "\"two words\""];
const REASONS: &[&str] = &["normal", "kill", "boom", "shutdown", ""];
const INTS: &[i64] = &[
    0,
    1,
    -1,
    2,
    3,
    7,
    10,
    100,
    255,
    256,
    -7,
    i64::MAX,
    i64::MIN,
    i64::MAX - 1,
    1 << 32,
];
const FLOATS: &[&str] = &[
    "0.0", "-0.0", "1.5", "-2.25", "3", "1e300", "-1e-300", "inf", "-inf", "nan", "0.1",
];
const STRS: &[&str] = &[
    "",
    "x",
    "hello",
    "42",
    "-3",
    "3.5",
    "1e2",
    "a;b",
    "q\"t",
    "back\\slash",
    "new\nline",
    "tab\tx",
    "é☃😀",
    "\0nul",
    "normal",
    "EXIT",
    "DOWN",
    "srv",
];
/// Raw instructions that ignore the generator's stack discipline.
const RAW: &[&str] = &[
    "DUP",
    "POP",
    "SWAP",
    "OVER",
    "ADD",
    "SUB",
    "MUL",
    "DIV",
    "MOD",
    "NEG",
    "CONCAT",
    "EQ",
    "LT",
    "NOT",
    "LEN",
    "INDEX",
    "APPEND",
    "KEYS",
    "TO_STR",
    "TO_INT",
    "MAKE_LIST 2",
    "MAKE_OBJECT",
    "SET_FIELD f",
    "CALL_FUNCTION",
    "SELF",
    "NULL",
    "PUSH_INT 0",
    "PUSH_STR \"s\"",
    "SEND",
    "LINK",
    "MONITOR",
    "TRAP_EXIT",
    "WHEREIS",
    "THROW",
    "YIELD",
    "END_TRY",
    "CATCH",
];

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

    /// Routines the current code may call or spawn.
    fn callable(&self) -> std::ops::Range<usize> {
        match self.current {
            None => 0..self.routines.len(),
            Some(i) => i + 1..self.routines.len(),
        }
    }

    fn program(&mut self) -> Result<()> {
        let n = self.u.int_in_range(0..=5)?;
        for i in 0..n {
            let function = self.u.arbitrary()?;
            let recursive = function && self.chance(3)?;
            let params = if recursive {
                vec!["n".to_string()]
            } else {
                let k = self.u.int_in_range(0..=2)?;
                ["p", "q"][..k].iter().map(|s| s.to_string()).collect()
            };
            self.routines.push(Routine {
                label: format!("r{i}"),
                params,
                function,
                recursive,
            });
        }
        // The main process.
        self.body(None)?;
        self.emit("HALT");
        for i in 0..self.routines.len() {
            self.body(Some(i))?;
        }
        Ok(())
    }

    fn body(&mut self, routine: Option<usize>) -> Result<()> {
        self.current = routine;
        self.scopes = vec![Vec::new()];
        self.pid_vars.clear();
        self.loops = 0;
        self.blocks = 0;
        let Some(i) = routine else {
            if self.chance(4)? {
                self.emit("IMPORT std/math");
                for f in ["abs", "max", "min", "pow"] {
                    self.define(f, Ty::Any);
                }
                self.math = true;
            }
            if self.chance(3)? {
                self.emit("PUSH_BOOL true");
                self.emit("TRAP_EXIT");
            }
            // Segments, most in a TRY that prints what it catches, so one
            // runtime error does not end the main process's run.
            let segments = self.u.int_in_range(1..=8)?;
            for _ in 0..segments {
                if self.full() {
                    break;
                }
                if self.chance(4)? {
                    self.stmts(4)?;
                    continue;
                }
                let (catch, end) = (self.fresh("L"), self.fresh("L"));
                self.emit(&format!("TRY {catch}"));
                self.block(6)?;
                self.emit("END_TRY");
                self.emit(&format!("JMP {end}"));
                self.label(&catch);
                self.emit("CATCH");
                self.emit("PRINT");
                self.label(&end);
            }
            return Ok(());
        };
        let r = self.routines[i].clone();
        self.label(&r.label);
        for p in &r.params {
            self.define(p, Ty::Any);
        }
        if r.recursive {
            // if n <= 0 return <expr> else <expr> (op) r(n - 1)
            let rec = self.fresh("L");
            self.emit("LOAD n");
            self.emit("PUSH_INT 0");
            self.emit("LE");
            self.emit(&format!("JZ {rec}"));
            self.expr(1)?;
            self.emit("RET");
            self.label(&rec);
            self.stmts(2)?;
            let tail: bool = self.u.arbitrary()?;
            if !tail {
                self.expr(1)?;
            }
            self.emit("LOAD n");
            self.emit("PUSH_INT 1");
            self.emit("SUB");
            self.emit(&format!("CALL {} n", r.label));
            if !tail {
                let op = self.pick(&["ADD", "CONCAT", "MAKE_LIST 2", "SWAP\nPOP"])?;
                self.emit(op);
            }
            self.emit("RET");
            return Ok(());
        }
        if !r.function && self.u.arbitrary()? {
            // A server: maybe registered, answers requests in a loop.
            if self.chance(3)? {
                self.emit("REGISTER srv");
            }
            self.stmts(2)?;
            let (top, end, i) = (self.fresh("L"), self.fresh("L"), self.fresh("i"));
            let n = self.u.int_in_range(1..=MAX_LOOP)?;
            self.emit(&format!("PUSH_INT {n}"));
            self.emit(&format!("STORE {i}"));
            self.label(&top);
            self.emit(&format!("LOAD {i}"));
            self.emit(&format!("JZ {end}"));
            self.loops += 1;
            self.serve()?;
            self.block(2)?;
            self.loops -= 1;
            self.emit(&format!("LOAD {i}"));
            self.emit("PUSH_INT 1");
            self.emit("SUB");
            self.emit(&format!("STORE {i}"));
            self.emit(&format!("JMP {top}"));
            self.label(&end);
        }
        self.stmts(6)?;
        if r.function {
            // A tail call, or a value.
            let callees: Vec<usize> = self
                .callable()
                .filter(|&j| self.routines[j].function)
                .collect();
            if !callees.is_empty() && self.chance(4)? {
                let j = self.pick(&callees)?;
                if self.u.arbitrary()? {
                    self.call(j)?;
                } else {
                    // A tail call of a Function or Closure value.
                    let r = self.routines[j].clone();
                    self.args(&r)?;
                    self.function_value(j)?;
                    self.emit("CALL_FUNCTION");
                }
            } else {
                self.expr(0)?;
            }
            self.emit("RET");
        } else if self.u.arbitrary()? {
            self.emit("RET");
        } else {
            self.emit("HALT");
        }
        Ok(())
    }

    fn stmts(&mut self, max: u32) -> Result<()> {
        let n = self.u.int_in_range(0..=max)?;
        for _ in 0..n {
            if self.full() {
                break;
            }
            self.stmt()?;
        }
        Ok(())
    }

    /// A block of statements whose new variables are forgotten after it.
    fn block(&mut self, max: u32) -> Result<()> {
        self.blocks += 1;
        self.scopes.push(Vec::new());
        let pids = self.pid_vars.len();
        self.stmts(max)?;
        self.scopes.pop();
        self.pid_vars.truncate(pids);
        self.blocks -= 1;
        Ok(())
    }

    fn var_name(&mut self) -> Result<String> {
        Ok(self.pick(VARS)?.to_string())
    }

    /// Whether a wall-clock wait may go here: with timers, at most 3 sites,
    /// outside loops, in the main process or a process body (never in a
    /// function, which a loop or a recursion could run thousands of times),
    /// so each process waits at most ~9 ms in all.
    fn may_wait(&self) -> bool {
        let in_function = self.current.is_some_and(|i| self.routines[i].function);
        self.opts.timers && self.loops == 0 && self.timed_sites < 3 && !in_function
    }

    /// A timeout: 0 (a poll) or, with timers, a short wait at a few sites
    /// outside loops.
    fn timeout(&mut self) -> Result<()> {
        if self.may_wait() && self.chance(3)? {
            self.timed_sites += 1;
            let ms = self.u.int_in_range(1..=3)?;
            self.emit(&format!("PUSH_INT {ms}"));
        } else {
            self.emit("PUSH_INT 0");
        }
        Ok(())
    }

    fn stmt(&mut self) -> Result<()> {
        let nested = self.blocks < MAX_BLOCKS;
        match self.u.int_in_range(0..=27)? {
            0..=2 => {
                let ty = self.pick(&[Ty::Any, Ty::Int, Ty::Int, Ty::Str, Ty::List, Ty::Obj])?;
                self.typed(ty, 0)?;
                let v = self.var_name()?;
                self.emit(&format!("STORE {v}"));
                self.pid_vars.retain(|p| *p != v);
                self.define(&v, ty);
            }
            3..=4 => {
                self.expr(0)?;
                self.emit("PRINT");
            }
            5 => {
                self.expr(0)?;
                self.emit("POP");
            }
            6 if nested => {
                // if/else
                let (els, end) = (self.fresh("L"), self.fresh("L"));
                self.expr(1)?;
                let jump = self.pick(&["JZ", "JNZ"])?;
                self.emit(&format!("{jump} {els}"));
                self.block(3)?;
                self.emit(&format!("JMP {end}"));
                self.label(&els);
                self.block(3)?;
                self.label(&end);
            }
            7 if nested => {
                // A counted loop: the counter is written only here.
                let (top, end, i) = (self.fresh("L"), self.fresh("L"), self.fresh("i"));
                let n = self.u.int_in_range(0..=MAX_LOOP)?;
                self.emit(&format!("PUSH_INT {n}"));
                self.emit(&format!("STORE {i}"));
                self.label(&top);
                self.emit(&format!("LOAD {i}"));
                self.emit(&format!("JZ {end}"));
                self.loops += 1;
                self.block(4)?;
                self.loops -= 1;
                self.emit(&format!("LOAD {i}"));
                self.emit("PUSH_INT 1");
                self.emit("SUB");
                self.emit(&format!("STORE {i}"));
                self.emit(&format!("JMP {top}"));
                self.label(&end);
            }
            8 if nested => {
                // TRY … END_TRY JMP out; LABEL catch; CATCH …
                let (catch, end) = (self.fresh("L"), self.fresh("L"));
                self.emit(&format!("TRY {catch}"));
                self.block(3)?;
                self.emit("END_TRY");
                self.emit(&format!("JMP {end}"));
                self.label(&catch);
                self.emit("CATCH");
                match self.u.int_in_range(0..=3)? {
                    0 => self.emit("PRINT"),
                    1 => {
                        let f = self.pick(&["message", "value"])?;
                        self.emit(&format!("GET_FIELD {f}"));
                        self.emit("PRINT");
                    }
                    2 => self.emit("THROW"), // re-raise to the enclosing handler
                    _ => self.emit("POP"),
                }
                self.block(2)?;
                self.label(&end);
            }
            9 if self.u.arbitrary()? => {
                // A conditional throw.
                let skip = self.fresh("L");
                self.expr(1)?;
                self.emit(&format!("JZ {skip}"));
                self.expr(1)?;
                self.emit("THROW");
                self.label(&skip);
            }
            10..=11 => self.send()?,
            12 => {
                if self.u.arbitrary()? {
                    let name = self.pick(NAMES)?;
                    let op = self.pick(&["REGISTER", "UNREGISTER"])?;
                    self.emit(&format!("{op} {name}"));
                } else {
                    self.expr(1)?;
                    self.emit_one(&["REGISTER", "UNREGISTER"])?;
                }
            }
            13 => {
                let op = self.pick(&["LINK", "UNLINK", "DEMONITOR"])?;
                if self.chance(3)? {
                    let n = self.u.int_in_range(0..=4)?;
                    self.emit(&format!("{op} {n}"));
                } else {
                    self.pid_expr()?;
                    self.emit(op);
                }
            }
            14 => {
                if self.chance(4)? {
                    self.expr(1)?;
                } else {
                    self.emit_one(&["TRUE", "FALSE"])?;
                }
                self.emit("TRAP_EXIT");
            }
            15 => {
                self.pid_expr()?;
                let reason = escape(self.pick(REASONS)?);
                self.emit(&format!("PUSH_STR {reason}"));
                self.emit("EXIT_PROCESS");
            }
            16 => self.emit("YIELD"),
            17 if self.may_wait() => {
                self.timed_sites += 1;
                let ms = self.u.int_in_range(0..=3)?;
                self.emit(&format!("PUSH_INT {ms}"));
                self.emit("SLEEP");
            }
            18 => self.serve()?,
            19 | 26 => self.request()?,
            20 if nested => self.drain()?,
            21 => {
                if self.u.arbitrary()? {
                    let v = self.var_name()?;
                    self.emit(&format!("DELETE {v}"));
                    self.forget(&v);
                } else {
                    self.emit("DUMP_SCOPE");
                }
            }
            22 if self.chance(3)? => {
                // End the process early, sometimes.
                let skip = self.fresh("L");
                self.expr(1)?;
                self.emit(&format!("JZ {skip}"));
                match self.current.map(|i| self.routines[i].function) {
                    Some(true) => {
                        self.expr(1)?;
                        self.emit("RET");
                    }
                    _ => self.emit_one(&["HALT", "RET"])?,
                }
                self.label(&skip);
            }
            23 if self.chance(8)? => {
                let code = self.pick(&[0i64, 1, 3, 4, 7, 255, 256, -1])?;
                if (0..=255).contains(&code) {
                    self.exit_codes.push(code as i32);
                }
                self.emit(&format!("PUSH_INT {code}"));
                self.emit("EXIT");
            }
            24 if self.chance(3)? => {
                let op = self.pick(RAW)?;
                self.emit(op);
            }
            25 | 27 => {
                // Spawn and remember the PID.
                self.spawn()?;
                let p = self.fresh("pid");
                self.emit(&format!("STORE {p}"));
                self.define(&p, Ty::Int);
                self.pid_vars.push(p);
            }
            _ => {
                self.expr(0)?;
                self.emit("POP");
            }
        }
        Ok(())
    }

    /// An expression that is, usually, a PID.
    fn pid_expr(&mut self) -> Result<()> {
        match self.u.int_in_range(0..=5)? {
            0..=2 if !self.pid_vars.is_empty() => {
                let p = self.pick(&self.pid_vars.clone())?;
                self.emit(&format!("LOAD {p}"));
            }
            0 | 3 => self.emit("SELF"),
            1 => {
                let name = self.pick(NAMES)?;
                self.emit(&format!("WHEREIS {name}"));
            }
            2 => {
                let n = self.u.int_in_range(0..=6)?;
                self.emit(&format!("PUSH_INT {n}"));
            }
            4 => self.spawn()?,
            _ => self.expr(2)?,
        }
        Ok(())
    }

    fn send(&mut self) -> Result<()> {
        match self.u.int_in_range(0..=4)? {
            0 => {
                self.expr(1)?;
                let n = self.u.int_in_range(1..=4)?;
                self.emit(&format!("SEND {n}"));
            }
            1 => {
                self.expr(1)?;
                let name = self.pick(NAMES)?;
                self.emit(&format!("SENDNAMED {name}"));
            }
            2 => {
                self.expr(1)?;
                self.expr(2)?;
                self.emit("SENDNAMED");
            }
            _ => {
                self.expr(1)?;
                self.pid_expr()?;
                self.emit("SEND");
            }
        }
        Ok(())
    }

    /// Receive one message into a variable and, when it is `[pid, v]`,
    /// answer `pid` (a request/reply server step; a bad message is caught).
    fn serve(&mut self) -> Result<()> {
        let m = self.fresh("m");
        self.receive()?;
        self.emit(&format!("STORE {m}"));
        self.define(&m, Ty::Any);
        let (catch, end) = (self.fresh("L"), self.fresh("L"));
        self.emit(&format!("TRY {catch}"));
        self.emit(&format!("LOAD {m}"));
        self.emit("PUSH_INT 1");
        self.emit("INDEX");
        if self.u.arbitrary()? {
            self.expr(2)?;
            self.emit_one(&["ADD", "CONCAT", "EQ", "MAKE_LIST 2"])?;
        }
        self.emit(&format!("LOAD {m}"));
        self.emit("PUSH_INT 0");
        self.emit("INDEX");
        self.emit("SEND");
        self.emit("END_TRY");
        self.emit(&format!("JMP {end}"));
        self.label(&catch);
        self.emit("CATCH");
        self.emit("POP");
        self.label(&end);
        Ok(())
    }

    /// Send `[self, v]` to a process and, sometimes, wait for the answer.
    fn request(&mut self) -> Result<()> {
        self.emit("SELF");
        self.expr(2)?;
        self.emit("MAKE_LIST 2");
        self.pid_expr()?;
        self.emit("SEND");
        match self.u.int_in_range(0..=3)? {
            0 => {}
            // Wait for the answer (forever if nobody answers).
            1 => self.emit("RECEIVE\nPRINT"),
            _ => {
                self.receive()?;
                self.emit_one(&["PRINT", "POP"])?;
            }
        }
        Ok(())
    }

    /// Print every message already in the mailbox (polling receives).
    fn drain(&mut self) -> Result<()> {
        let (top, end) = (self.fresh("L"), self.fresh("L"));
        let bound = self.fresh("i");
        // Bounded too: a process may keep sending to itself.
        self.emit("PUSH_INT 20");
        self.emit(&format!("STORE {bound}"));
        self.label(&top);
        self.emit(&format!("LOAD {bound}"));
        self.emit(&format!("JZ {end}"));
        self.emit(&format!("LOAD {bound}"));
        self.emit("PUSH_INT 1");
        self.emit("SUB");
        self.emit(&format!("STORE {bound}"));
        let with_pattern = self.chance(3)?;
        if with_pattern {
            self.pattern()?;
        }
        self.emit("PUSH_INT 0");
        self.emit(if with_pattern {
            "RECEIVE_MATCH_AFTER"
        } else {
            "RECEIVE_AFTER"
        });
        let got = self.fresh("L");
        self.emit(&format!("JNZ {got}"));
        self.emit("POP");
        self.emit(&format!("JMP {end}"));
        self.label(&got);
        self.emit("PRINT");
        self.emit(&format!("JMP {top}"));
        self.label(&end);
        Ok(())
    }

    /// A selective-receive pattern (SPEC §4.4).
    fn pattern(&mut self) -> Result<()> {
        match self.u.int_in_range(0..=4)? {
            0 => {
                // ["DOWN", null, null, null] / ["EXIT", null, null]
                if self.u.arbitrary()? {
                    self.emit("PUSH_STR DOWN");
                    for _ in 0..3 {
                        self.emit("NULL");
                    }
                    self.emit("MAKE_LIST 4");
                } else {
                    self.emit("PUSH_STR EXIT");
                    self.emit("NULL");
                    self.emit("NULL");
                    self.emit("MAKE_LIST 3");
                }
            }
            1 => {
                self.emit("NULL");
                self.expr(3)?;
                self.emit("MAKE_LIST 2");
            }
            2 => {
                self.emit("MAKE_OBJECT");
                self.expr(3)?;
                let f = self.pick(FIELDS)?;
                self.emit(&format!("SET_FIELD {f}"));
            }
            3 => self.emit("NULL"),
            _ => self.expr(2)?,
        }
        Ok(())
    }

    /// Push one received message (or null on a timeout).
    fn receive(&mut self) -> Result<()> {
        // A blocking receive in the main process often waits forever (a
        // deadlock, exit status 4): rarer there.
        let blocking = if self.current.is_none() { 16 } else { 5 };
        match self.u.int_in_range(0..=blocking)? {
            0 => self.emit("RECEIVE"),
            1 => {
                self.pattern()?;
                self.emit("RECEIVE_MATCH");
            }
            2 => {
                self.pattern()?;
                self.timeout()?;
                self.emit("RECEIVE_MATCH_AFTER");
                self.emit("POP");
            }
            _ => {
                self.timeout()?;
                self.emit("RECEIVE_AFTER");
                self.emit("POP");
            }
        }
        Ok(())
    }

    /// Push the arguments of routine `j` and call it (it leaves one value).
    fn call(&mut self, j: usize) -> Result<()> {
        let r = self.routines[j].clone();
        self.args(&r)?;
        let mut line = format!("CALL {}", r.label);
        for p in &r.params {
            line.push(' ');
            line.push_str(p);
        }
        self.emit(&line);
        Ok(())
    }

    fn args(&mut self, r: &Routine) -> Result<()> {
        if r.recursive {
            if self.chance(8)? {
                self.expr(3)?;
            } else {
                let n = self.u.int_in_range(0..=40)?;
                self.emit(&format!("PUSH_INT {n}"));
            }
            return Ok(());
        }
        for _ in &r.params {
            self.expr(3)?;
        }
        Ok(())
    }

    /// Push a Function or Closure value of routine `j` (arguments not
    /// included).
    fn function_value(&mut self, j: usize) -> Result<()> {
        let r = self.routines[j].clone();
        let params: String = r.params.iter().map(|p| format!(" {p}")).collect();
        let vars = self.in_scope();
        if !vars.is_empty() && self.u.arbitrary()? {
            let k = self.u.int_in_range(1..=vars.len().min(3))?;
            for _ in 0..k {
                let v = self.pick(&vars)?;
                self.emit(&format!("CAPTURE {v}"));
            }
            self.emit(&format!("MAKE_LAMBDA {}{params}", r.label));
        } else {
            self.emit(&format!("MAKE_FUNCTION {}{params}", r.label));
        }
        Ok(())
    }

    /// Push the PID of a new process.
    fn spawn(&mut self) -> Result<()> {
        let op = if self.chance(3)? {
            "SPAWN_LINK"
        } else {
            "SPAWN"
        };
        let targets: Vec<usize> = self.callable().collect();
        if targets.is_empty() || self.chance(6)? {
            let name = self.pick(&["counter", "hello_world", "nobody"])?;
            self.emit(&format!("PUSH_STR {name}"));
        } else {
            let j = self.pick(&targets)?;
            let r = self.routines[j].clone();
            if r.params.is_empty() && self.u.arbitrary()? {
                // From the label, in an empty frame.
                self.emit(&format!("PUSH_STR {}", r.label));
            } else {
                self.args(&r)?;
                self.function_value(j)?;
            }
        }
        self.emit(op);
        Ok(())
    }

    /// A literal of any type, or a variable.
    fn literal(&mut self) -> Result<()> {
        match self.u.int_in_range(0..=5)? {
            0 | 1 => self.int_literal(),
            2 => {
                let f = self.pick(FLOATS)?;
                self.emit(&format!("PUSH_FLOAT {f}"));
                Ok(())
            }
            3 => self.str_literal(),
            4 => self.emit_one(&["TRUE", "FALSE", "NULL", "PUSH_BOOL true", "PUSH_BOOL false"]),
            _ => self.load(Ty::Any),
        }
    }

    fn int_literal(&mut self) -> Result<()> {
        let n: i64 = match self.u.int_in_range(0..=3)? {
            0 => self.pick(INTS)?,
            1 => self.u.arbitrary()?,
            _ => self.u.int_in_range(-3..=12)?,
        };
        self.emit(&format!("PUSH_INT {n}"));
        Ok(())
    }

    fn str_literal(&mut self) -> Result<()> {
        let s = if self.chance(4)? {
            let s: String = self.u.arbitrary()?;
            s.chars().take(12).collect()
        } else {
            self.pick(STRS)?.to_string()
        };
        self.emit(&format!("PUSH_STR {}", escape(&s)));
        Ok(())
    }

    /// LOAD a variable of type `ty` (any variable for [`Ty::Any`]), or push
    /// a literal of that type when there is none.
    fn load(&mut self, ty: Ty) -> Result<()> {
        let vars = self.vars_of(ty);
        if vars.is_empty() {
            return match ty {
                Ty::Int => self.int_literal(),
                Ty::Str => self.str_literal(),
                Ty::List => {
                    self.emit("MAKE_LIST 0");
                    Ok(())
                }
                Ty::Obj => {
                    self.emit("MAKE_OBJECT");
                    Ok(())
                }
                Ty::Any => self.int_literal(),
            };
        }
        let v = self.pick(&vars)?;
        self.emit(&format!("LOAD {v}"));
        Ok(())
    }

    /// Push exactly one value, of any type.
    fn expr(&mut self, depth: u32) -> Result<()> {
        if depth >= MAX_DEPTH || self.full() {
            return self.literal();
        }
        let d = depth + 1;
        match self.u.int_in_range(0..=24)? {
            0..=3 => self.literal()?,
            4..=5 => self.typed(Ty::Int, depth)?,
            6..=7 => self.typed(Ty::Str, depth)?,
            8..=9 => self.typed(Ty::List, depth)?,
            10 => self.typed(Ty::Obj, depth)?,
            11 => {
                // Anything goes: any two values, any operator.
                self.expr(d)?;
                self.expr(d)?;
                let op = self.pick(&[
                    "ADD", "SUB", "MUL", "DIV", "MOD", "ADD_F", "SUB_F", "MUL_F", "DIV_F",
                    "CONCAT", "EQ", "NE", "GT", "LT", "GE", "LE", "EQ_F", "NE_F", "GT_F", "LT_F",
                    "GE_F", "LE_F", "AND", "OR", "INDEX", "APPEND",
                ])?;
                self.emit(op);
            }
            12 => {
                self.expr(d)?;
                self.emit_one(&["NEG", "NOT", "TO_STR", "TO_INT", "TO_FLOAT", "LEN", "KEYS"])?;
            }
            13..=14 => {
                let fs: Vec<usize> = self
                    .callable()
                    .filter(|&j| self.routines[j].function)
                    .collect();
                if fs.is_empty() {
                    return self.literal();
                }
                let j = self.pick(&fs)?;
                if self.u.arbitrary()? {
                    self.call(j)?;
                } else {
                    let r = self.routines[j].clone();
                    self.args(&r)?;
                    self.function_value(j)?;
                    self.emit("CALL_FUNCTION");
                }
            }
            15 => {
                let targets: Vec<usize> = self.callable().collect();
                if targets.is_empty() {
                    return self.literal();
                }
                let j = self.pick(&targets)?;
                self.function_value(j)?;
            }
            16 => self.spawn()?,
            17 => self.emit_one(&["SELF", "WHEREIS srv", "WHEREIS log"])?,
            18 => {
                self.pid_expr()?;
                self.emit("MONITOR");
            }
            19 => self.receive()?,
            20 => {
                // A value, or the exception its computation raised.
                let (catch, end) = (self.fresh("L"), self.fresh("L"));
                self.emit(&format!("TRY {catch}"));
                self.expr(d)?;
                self.emit("END_TRY");
                self.emit(&format!("JMP {end}"));
                self.label(&catch);
                self.emit("CATCH");
                if self.u.arbitrary()? {
                    let f = self.pick(&["message", "value"])?;
                    self.emit(&format!("GET_FIELD {f}"));
                }
                self.label(&end);
            }
            21 => {
                self.expr(d)?;
                match self.u.int_in_range(0..=2)? {
                    0 => self.emit("DUP\nMAKE_LIST 2"),
                    1 => {
                        self.expr(d)?;
                        self.emit("SWAP\nMAKE_LIST 2");
                    }
                    _ => {
                        self.expr(d)?;
                        self.emit("OVER\nMAKE_LIST 3");
                    }
                }
            }
            22 if self.chance(3)? => {
                self.emit_one(&[
                    "READ_LINE",
                    "GET_ARGS",
                    "PUSH_STR HOME\nGET_ENV",
                    "PUSH_STR x.txt\nFILE_EXISTS",
                    "PUSH_STR x.txt\nREAD_FILE",
                ])?;
            }
            23 if self.math && self.current.is_none() => {
                // A function of the bundled module std/math.
                let (f, n) = self.pick(&[("abs", 1), ("max", 2), ("min", 2), ("pow", 2)])?;
                for _ in 0..n {
                    self.typed(Ty::Int, d)?;
                }
                self.emit(&format!("LOAD {f}"));
                self.emit("CALL_FUNCTION");
            }
            _ => self.load(Ty::Any)?,
        }
        Ok(())
    }

    /// Push one value of type `ty` (almost always: a division by zero or an
    /// index out of range still raise).
    fn typed(&mut self, ty: Ty, depth: u32) -> Result<()> {
        if depth >= MAX_DEPTH || self.full() {
            return self.load(ty);
        }
        let d = depth + 1;
        let pick = self.u.int_in_range(0..=7)?;
        match (ty, pick) {
            (_, 0..=1) => self.load(ty)?,
            (Ty::Any, _) => self.expr(depth)?,
            (Ty::Int, 2..=3) => {
                self.typed(Ty::Int, d)?;
                self.typed(Ty::Int, d)?;
                self.emit_one(&["ADD", "SUB", "MUL", "EQ", "NE", "LT", "GE"])?;
            }
            (Ty::Int, 4) => {
                self.typed(Ty::Int, d)?;
                let n = self.pick(&[1i64, 2, 3, 7, -1, 10])?;
                self.emit(&format!("PUSH_INT {n}"));
                self.emit_one(&["DIV", "MOD"])?;
            }
            (Ty::Int, 5) => {
                let t = self.pick(&[Ty::Str, Ty::List, Ty::Obj])?;
                self.typed(t, d)?;
                self.emit("LEN");
            }
            (Ty::Int, 6) => {
                self.typed(Ty::Obj, d)?;
                let f = self.pick(FIELDS)?;
                self.emit(&format!("HAS_FIELD {f}"));
            }
            (Ty::Int, _) => {
                self.typed(Ty::Int, d)?;
                self.emit_one(&["NEG", "TO_INT", "TO_STR\nTO_INT"])?;
            }
            (Ty::Str, 2..=3) => {
                self.expr(d)?;
                self.expr(d)?;
                self.emit("CONCAT");
            }
            (Ty::Str, 4..=5) => {
                self.expr(d)?;
                self.emit("TO_STR");
            }
            (Ty::Str, _) => {
                // A character of a non-empty string.
                self.typed(Ty::Str, d)?;
                self.emit("PUSH_STR \"·\"\nCONCAT");
                self.emit("PUSH_INT 0\nINDEX");
            }
            (Ty::List, 2..=3) => {
                let n = self.u.int_in_range(0..=4)?;
                for _ in 0..n {
                    self.expr(d)?;
                }
                self.emit(&format!("MAKE_LIST {n}"));
            }
            (Ty::List, 4) => {
                self.typed(Ty::List, d)?;
                self.expr(d)?;
                self.emit("APPEND");
            }
            (Ty::List, 5) => {
                // Replace the first element of a non-empty list.
                self.typed(Ty::List, d)?;
                self.expr(d)?;
                self.emit("APPEND");
                self.emit("PUSH_INT 0");
                self.expr(d)?;
                self.emit("SET_INDEX");
            }
            (Ty::List, 6) => {
                self.typed(Ty::Obj, d)?;
                self.emit("KEYS");
            }
            (Ty::List, _) => {
                // An element of a list of lists.
                self.typed(Ty::List, d)?;
                self.emit("MAKE_LIST 1\nPUSH_INT 0\nINDEX");
            }
            (Ty::Obj, 2..=4) => {
                self.emit("MAKE_OBJECT");
                let n = self.u.int_in_range(0..=3)?;
                for _ in 0..n {
                    self.expr(d)?;
                    let f = self.pick(FIELDS)?;
                    self.emit(&format!("SET_FIELD {f}"));
                }
            }
            (Ty::Obj, 5) => {
                self.typed(Ty::Obj, d)?;
                let f = self.pick(FIELDS)?;
                self.emit(&format!("DELETE_FIELD {f}"));
            }
            (Ty::Obj, _) => {
                self.typed(Ty::Obj, d)?;
                self.expr(d)?;
                let f = self.pick(FIELDS)?;
                self.emit(&format!("SET_FIELD {f}"));
            }
        }
        Ok(())
    }
}

/// What the generator knows of a value's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ty {
    Any,
    Int,
    Str,
    List,
    Obj,
}

/// A string literal for PUSH_STR.
fn escape(s: &str) -> String {
    ttvm::bytecode::escape::quote(s)
}
