//! A program's shape: its routines, the body of each (the main process,
//! functions, recursive functions, process bodies and servers), statement
//! lists and blocks, and where wall-clock waits may go.

use super::vocab::VARS;
use super::{Gen, Routine, Ty};
use arbitrary::Result;

impl Gen<'_, '_> {
    pub(super) fn program(&mut self) -> Result<()> {
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
            // Functions returning several values (issue 15: a direct
            // entry returns up to three in registers).
            let rets = if function && !recursive && self.chance(3)? {
                self.u.int_in_range(2..=3)?
            } else {
                1
            };
            self.routines.push(Routine {
                label: format!("r{i}"),
                params,
                function,
                rets,
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

    pub(super) fn body(&mut self, routine: Option<usize>) -> Result<()> {
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
            let (top, end, i) = self.loop_head(1)?;
            self.serve()?;
            self.block(2)?;
            self.loop_tail(&top, &end, &i);
        }
        self.stmts(6)?;
        if r.function {
            // A tail call (of a function returning as many values), or
            // the values.
            let callees: Vec<usize> = self
                .callable()
                .filter(|&j| self.routines[j].function && self.routines[j].rets == r.rets)
                .collect();
            if !callees.is_empty() && self.chance(4)? {
                // A tail call, maybe of a Function or Closure value.
                let j = self.pick(&callees)?;
                self.call_either(j)?;
            } else {
                self.results(r.rets, 0)?;
            }
            self.emit("RET");
        } else if self.u.arbitrary()? {
            self.emit("RET");
        } else {
            self.emit("HALT");
        }
        Ok(())
    }

    pub(super) fn stmts(&mut self, max: u32) -> Result<()> {
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
    pub(super) fn block(&mut self, max: u32) -> Result<()> {
        self.blocks += 1;
        self.scopes.push(Vec::new());
        let pids = self.pid_vars.len();
        self.stmts(max)?;
        self.scopes.pop();
        self.pid_vars.truncate(pids);
        self.blocks -= 1;
        Ok(())
    }

    pub(super) fn var_name(&mut self) -> Result<String> {
        Ok(self.pick(VARS)?.to_string())
    }

    /// Whether a wall-clock wait may go here: with timers, at most 3 sites,
    /// outside loops, in the main process or a process body (never in a
    /// function, which a loop or a recursion could run thousands of times),
    /// so each process waits at most ~9 ms in all.
    pub(super) fn may_wait(&self) -> bool {
        let in_function = self.current.is_some_and(|i| self.routines[i].function);
        self.opts.timers && self.loops == 0 && self.timed_sites < 3 && !in_function
    }

    /// A timeout: 0 (a poll) or, with timers, a short wait at a few sites
    /// outside loops.
    pub(super) fn timeout(&mut self) -> Result<()> {
        if self.may_wait() && self.chance(3)? {
            self.timed_sites += 1;
            let ms = self.u.int_in_range(1..=3)?;
            self.emit(&format!("PUSH_INT {ms}"));
        } else {
            self.emit("PUSH_INT 0");
        }
        Ok(())
    }
}
