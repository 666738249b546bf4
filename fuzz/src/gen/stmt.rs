//! One statement: leaves the stack as it found it.

use super::vocab::{FIELDS, NAMES, RAW, REASONS};
use super::{escape, Gen, Ty, MAX_BLOCKS, MAX_LOOP};
use arbitrary::Result;

impl Gen<'_, '_> {
    pub(super) fn stmt(&mut self) -> Result<()> {
        let nested = self.blocks < MAX_BLOCKS;
        match self.u.int_in_range(0..=34)? {
            0..=2 => {
                let ty = self.pick(&[
                    Ty::Any,
                    Ty::Int,
                    Ty::Int,
                    Ty::Float,
                    Ty::Str,
                    Ty::List,
                    Ty::Obj,
                ])?;
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
                // PRINT_ERR now and then: stderr, not compared, but run.
                let op = self.pick(&["POP", "POP", "POP", "PRINT_ERR"])?;
                self.emit(op);
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
                let (top, end, i) = self.loop_head(0)?;
                self.block(4)?;
                self.loop_tail(&top, &end, &i);
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
                match self
                    .current
                    .map(|i| (self.routines[i].function, self.routines[i].rets))
                {
                    Some((true, k)) => {
                        self.results(k, 1)?;
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
            28 | 29 if nested => self.higher_order()?,
            30 | 31 if nested => self.record_loop()?,
            32 | 33 if nested => self.list_loop()?,
            34 => self.multi_store()?,
            _ => {
                self.expr(0)?;
                self.emit("POP");
            }
        }
        Ok(())
    }

    /// A function value kept in a variable — or two of one arity in a
    /// list, taken in turn — and called in a counted loop: the shape of
    /// map and fold, where compiled code guards the callee of one
    /// CALL_FUNCTION site and calls it directly (issue 15), and where the
    /// callee changes from one turn to the next.
    fn higher_order(&mut self) -> Result<()> {
        let fs: Vec<usize> = self
            .callable()
            .filter(|&j| self.routines[j].function)
            .collect();
        if fs.is_empty() {
            self.expr(0)?;
            self.emit("POP");
            return Ok(());
        }
        let j = self.pick(&fs)?;
        let r = self.routines[j].clone();
        let v = self.fresh("fv");
        let list = self.u.arbitrary()?;
        self.function_value(j)?;
        if list {
            let same: Vec<usize> = fs
                .iter()
                .copied()
                .filter(|&k| {
                    let o = &self.routines[k];
                    o.params.len() == r.params.len()
                        && o.recursive == r.recursive
                        && o.rets == r.rets
                })
                .collect();
            let k = self.pick(&same)?;
            self.function_value(k)?;
            self.emit("MAKE_LIST 2");
        }
        self.emit(&format!("STORE {v}"));
        let (top, end, i) = self.loop_head(1)?;
        self.args(&r)?;
        self.emit(&format!("LOAD {v}"));
        if list {
            self.emit(&format!("LOAD {i}"));
            self.emit("PUSH_INT 2");
            self.emit("MOD");
            self.emit("INDEX");
        }
        self.emit("CALL_FUNCTION");
        self.collapse(r.rets)?;
        let op = self.pick(&["PRINT", "POP"])?;
        self.emit(op);
        self.loop_tail(&top, &end, &i);
        Ok(())
    }

    /// An object in a variable whose Float and Int fields a counted loop
    /// updates in place — by name or by run-time key — then printed: the
    /// shape of n-body's bodies, where compiled code reads a field of a
    /// kind its site has seen as a guarded load and stores in place
    /// (issue 15).
    fn record_loop(&mut self) -> Result<()> {
        self.shape("record-loop");
        let o = self.fresh("o");
        let fx = self.pick(FIELDS)?;
        let others: Vec<&str> = FIELDS.iter().copied().filter(|f| *f != fx).collect();
        let fy = self.pick(&others)?;
        self.emit("MAKE_OBJECT");
        if self.u.arbitrary()? {
            // Another field first: the site's position differs.
            self.expr(2)?;
            let f = self.pick(&others)?;
            self.emit(&format!("SET_FIELD {f}"));
        }
        self.typed(Ty::Float, 2)?;
        self.emit(&format!("SET_FIELD {fx}"));
        self.typed(Ty::Int, 2)?;
        self.emit(&format!("SET_FIELD {fy}"));
        self.emit(&format!("STORE {o}"));
        self.define(&o, Ty::Obj);
        let keyed = self.chance(3)?;
        let (get, set) = if keyed {
            self.shape("run-time-key");
            (
                format!("PUSH_STR {fx}\nGET_FIELD"),
                format!("PUSH_STR {fx}\nSET_FIELD"),
            )
        } else {
            (format!("GET_FIELD {fx}"), format!("SET_FIELD {fx}"))
        };
        let (top, end, i) = self.loop_head(1)?;
        self.emit(&format!("LOAD {o}"));
        self.emit(&format!("LOAD {o}"));
        self.emit(&get);
        self.typed(Ty::Float, 2)?;
        self.emit_one(&["ADD_F", "SUB_F", "MUL_F"])?;
        self.emit(&set);
        if self.u.arbitrary()? {
            self.emit("DUP");
            self.emit(&format!("GET_FIELD {fy}"));
            self.emit(&format!("LOAD {i}"));
            self.emit("ADD");
            self.emit(&format!("SET_FIELD {fy}"));
        }
        self.emit(&format!("STORE {o}"));
        self.loop_tail(&top, &end, &i);
        self.emit(&format!("LOAD {o}"));
        if self.u.arbitrary()? {
            self.emit(&get);
        }
        self.emit("PRINT");
        Ok(())
    }

    /// A small list in a variable that a counted loop grows (APPEND) and
    /// reads or sets by index in place, then printed: compiled code's
    /// inline `INDEX`, `LEN` and in-place stores (issue 15).
    fn list_loop(&mut self) -> Result<()> {
        self.shape("list-loop");
        let l = self.fresh("l");
        self.typed(Ty::List, 2)?;
        self.emit(&format!("STORE {l}"));
        self.define(&l, Ty::List);
        let (top, end, i) = self.loop_head(1)?;
        self.emit(&format!("LOAD {l}"));
        self.expr(2)?;
        self.emit("APPEND");
        self.emit(&format!("STORE {l}"));
        // An index in range: the last, or the counter modulo the length
        // (the list is not empty after the APPEND).
        let at = |me: &mut Self| -> Result<()> {
            if me.u.arbitrary()? {
                me.emit(&format!("LOAD {l}\nLEN\nPUSH_INT 1\nSUB"));
            } else {
                me.emit(&format!("LOAD {i}\nLOAD {l}\nLEN\nMOD"));
            }
            Ok(())
        };
        match self.u.int_in_range(0..=2)? {
            0 | 1 => {
                self.emit(&format!("LOAD {l}"));
                at(self)?;
                self.emit("INDEX");
                let op = self.pick(&["PRINT", "POP"])?;
                self.emit(op);
            }
            _ => {
                self.emit(&format!("LOAD {l}"));
                at(self)?;
                self.expr(2)?;
                self.emit("SET_INDEX");
                self.emit(&format!("STORE {l}"));
            }
        }
        self.loop_tail(&top, &end, &i);
        self.emit(&format!("LOAD {l}"));
        self.emit_one(&["PRINT", "LEN\nPRINT"])?;
        Ok(())
    }

    /// A call of a function returning several values, each stored in a
    /// variable (the shape of a pair returned in registers, issue 15).
    fn multi_store(&mut self) -> Result<()> {
        let fs: Vec<usize> = self
            .callable()
            .filter(|&j| self.routines[j].function && self.routines[j].rets > 1)
            .collect();
        if fs.is_empty() {
            self.expr(0)?;
            self.emit("POP");
            return Ok(());
        }
        self.shape("multi-store");
        let j = self.pick(&fs)?;
        self.call_either(j)?;
        for _ in 0..self.routines[j].rets {
            let v = self.var_name()?;
            self.emit(&format!("STORE {v}"));
            self.pid_vars.retain(|p| *p != v);
            self.define(&v, Ty::Any);
        }
        Ok(())
    }

    /// A counted loop's head: counter `i` from a number in `min..=MAX_LOOP`
    /// down to 0, written only here and in [`Gen::loop_tail`].
    pub(super) fn loop_head(&mut self, min: i64) -> Result<(String, String, String)> {
        let (top, end, i) = (self.fresh("L"), self.fresh("L"), self.fresh("i"));
        let n = self.u.int_in_range(min..=MAX_LOOP)?;
        self.emit(&format!("PUSH_INT {n}"));
        self.emit(&format!("STORE {i}"));
        self.label(&top);
        self.emit(&format!("LOAD {i}"));
        self.emit(&format!("JZ {end}"));
        self.loops += 1;
        Ok((top, end, i))
    }

    /// The end of a loop made by [`Gen::loop_head`].
    pub(super) fn loop_tail(&mut self, top: &str, end: &str, i: &str) {
        self.loops -= 1;
        self.emit(&format!("LOAD {i}"));
        self.emit("PUSH_INT 1");
        self.emit("SUB");
        self.emit(&format!("STORE {i}"));
        self.emit(&format!("JMP {top}"));
        self.label(end);
    }
}
