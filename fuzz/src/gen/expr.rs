//! Expressions: push exactly one value, of any type or of a tracked
//! type; calls and function values; literals.

use super::vocab::{FIELDS, FLOATS, INTS, STRS};
use super::{escape, Gen, Routine, Ty, MAX_DEPTH};
use arbitrary::Result;

impl Gen<'_, '_> {
    /// Push the arguments of routine `j` and call it (it leaves one value).
    pub(super) fn call(&mut self, j: usize) -> Result<()> {
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

    /// Call function `j` as [`Gen::call_either`] and leave one value: of
    /// a function returning several, a list of them or the first.
    pub(super) fn call_value(&mut self, j: usize) -> Result<()> {
        self.call_either(j)?;
        self.collapse(self.routines[j].rets)
    }

    /// Make the `k` values on top one (a list of them, or the first).
    pub(super) fn collapse(&mut self, k: usize) -> Result<()> {
        if k > 1 {
            if self.u.arbitrary()? {
                self.emit(&format!("MAKE_LIST {k}"));
            } else {
                for _ in 1..k {
                    self.emit("POP");
                }
            }
        }
        Ok(())
    }

    /// Push the `k` values a function returns.
    pub(super) fn results(&mut self, k: usize, depth: u32) -> Result<()> {
        if k > 1 {
            self.shape("multi-return");
        }
        for _ in 0..k {
            self.expr(depth)?;
        }
        Ok(())
    }

    /// Call routine `j` with CALL, or as a Function or Closure value with
    /// CALL_FUNCTION (it leaves what `j` returns).
    pub(super) fn call_either(&mut self, j: usize) -> Result<()> {
        if self.u.arbitrary()? {
            self.call(j)
        } else {
            let r = self.routines[j].clone();
            self.args(&r)?;
            self.function_value(j)?;
            self.emit("CALL_FUNCTION");
            Ok(())
        }
    }

    pub(super) fn args(&mut self, r: &Routine) -> Result<()> {
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
    pub(super) fn function_value(&mut self, j: usize) -> Result<()> {
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

    /// A literal of any type, or a variable.
    pub(super) fn literal(&mut self) -> Result<()> {
        match self.u.int_in_range(0..=5)? {
            0 | 1 => self.int_literal(),
            2 => self.float_literal(),
            3 => self.str_literal(),
            4 => self.emit_one(&["TRUE", "FALSE", "NULL", "PUSH_BOOL true", "PUSH_BOOL false"]),
            _ => self.load(Ty::Any),
        }
    }

    pub(super) fn int_literal(&mut self) -> Result<()> {
        let n: i64 = match self.u.int_in_range(0..=3)? {
            0 => self.pick(INTS)?,
            1 => self.u.arbitrary()?,
            _ => self.u.int_in_range(-3..=12)?,
        };
        self.emit(&format!("PUSH_INT {n}"));
        Ok(())
    }

    pub(super) fn float_literal(&mut self) -> Result<()> {
        let f = self.pick(FLOATS)?;
        self.emit(&format!("PUSH_FLOAT {f}"));
        Ok(())
    }

    pub(super) fn str_literal(&mut self) -> Result<()> {
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
    pub(super) fn load(&mut self, ty: Ty) -> Result<()> {
        let vars = self.vars_of(ty);
        if vars.is_empty() {
            return match ty {
                Ty::Int => self.int_literal(),
                Ty::Float => self.float_literal(),
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
    pub(super) fn expr(&mut self, depth: u32) -> Result<()> {
        if depth >= MAX_DEPTH || self.full() {
            return self.literal();
        }
        let d = depth + 1;
        match self.u.int_in_range(0..=24)? {
            0..=3 => self.literal()?,
            4..=5 => self.typed(Ty::Int, depth)?,
            6..=7 => self.typed(Ty::Str, depth)?,
            8..=9 => self.typed(Ty::List, depth)?,
            10 => {
                self.typed(Ty::Obj, d)?;
                // A field read, by name or by a run-time key (Null when
                // missing).
                match self.u.int_in_range(0..=2)? {
                    0 => {}
                    1 => {
                        let f = self.pick(FIELDS)?;
                        self.emit(&format!("GET_FIELD {f}"));
                    }
                    _ => {
                        self.key(d)?;
                        self.emit("GET_FIELD");
                    }
                }
            }
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
                self.call_value(j)?;
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
            17 => self.emit_one(&["SELF", "WHEREIS srv", "WHEREIS log", "NODES"])?,
            18 => {
                self.pid_expr()?;
                // A monitor reference, or the PID's node (issue 17).
                let op = self.pick(&["MONITOR", "MONITOR", "MONITOR", "NODE"])?;
                self.emit(op);
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
                // Blocking host calls wait for an I/O thread, whose answer
                // comes at a wall-clock moment: only with timers (the `run`
                // target), not in the deterministic runs of `differential`
                // (a READ_LINE racing a RECEIVE_AFTER 0 in another process
                // printed in different orders under the interpreter alone).
                if self.opts.timers {
                    self.emit_one(&[
                        "READ_LINE",
                        "GET_ARGS",
                        "PUSH_STR HOME\nGET_ENV",
                        "PUSH_STR x.txt\nFILE_EXISTS",
                        "PUSH_STR x.txt\nREAD_FILE",
                    ])?;
                } else {
                    self.emit_one(&["GET_ARGS", "PUSH_STR HOME\nGET_ENV"])?;
                }
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

    /// Push a run-time field key: a field name's text, most often (then
    /// the key is the name's own text, `shared_key`), or any string.
    pub(super) fn key(&mut self, depth: u32) -> Result<()> {
        self.shape("run-time-key");
        if self.chance(4)? {
            self.typed(Ty::Str, depth)
        } else {
            let f = self.pick(FIELDS)?;
            self.emit(&format!("PUSH_STR {f}"));
            Ok(())
        }
    }

    /// Push one value of type `ty` (almost always: a division by zero or an
    /// index out of range still raise).
    pub(super) fn typed(&mut self, ty: Ty, depth: u32) -> Result<()> {
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
            (Ty::Int, 6) => match self.u.int_in_range(0..=3)? {
                0 => {
                    self.typed(Ty::Obj, d)?;
                    let f = self.pick(FIELDS)?;
                    self.emit(&format!("HAS_FIELD {f}"));
                }
                1 => {
                    self.typed(Ty::Obj, d)?;
                    self.key(d)?;
                    self.emit("HAS_FIELD");
                }
                _ => {
                    self.typed(Ty::Float, d)?;
                    self.typed(Ty::Float, d)?;
                    self.emit_one(&["LT_F", "GE_F", "EQ_F", "NE_F", "GT_F", "LE_F"])?;
                }
            },
            (Ty::Int, _) => {
                self.typed(Ty::Int, d)?;
                self.emit_one(&["NEG", "TO_INT", "TO_STR\nTO_INT"])?;
            }
            (Ty::Float, 2..=3) => {
                self.typed(Ty::Float, d)?;
                self.typed(Ty::Float, d)?;
                self.emit_one(&["ADD_F", "SUB_F", "MUL_F", "DIV_F"])?;
            }
            (Ty::Float, 4) => {
                self.typed(Ty::Int, d)?;
                self.emit("TO_FLOAT");
            }
            (Ty::Float, 5) => {
                self.typed(Ty::Float, d)?;
                self.emit_one(&["NEG", "SQRT", "PUSH_FLOAT 0.5\nMUL_F", "PUSH_INT 3\nADD_F"])?;
            }
            (Ty::Float, 6) => {
                // A Float field read back.
                self.emit("MAKE_OBJECT");
                self.typed(Ty::Float, d)?;
                let f = self.pick(FIELDS)?;
                self.emit(&format!("SET_FIELD {f}\nGET_FIELD {f}"));
            }
            (Ty::Float, _) => self.float_literal()?,
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
                // The keys of an object, or two lists joined (EXTEND: the
                // `value` helper in compiled code).
                if self.u.arbitrary::<bool>()? {
                    self.typed(Ty::Obj, d)?;
                    self.emit("KEYS");
                } else {
                    self.typed(Ty::List, d)?;
                    self.typed(Ty::List, d)?;
                    self.emit("EXTEND");
                }
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
                if self.u.arbitrary()? {
                    let f = self.pick(FIELDS)?;
                    self.emit(&format!("DELETE_FIELD {f}"));
                } else {
                    self.key(d)?;
                    self.emit("DELETE_FIELD");
                }
            }
            (Ty::Obj, _) => {
                self.typed(Ty::Obj, d)?;
                self.expr(d)?;
                if self.u.arbitrary()? {
                    let f = self.pick(FIELDS)?;
                    self.emit(&format!("SET_FIELD {f}"));
                } else {
                    self.key(d)?;
                    self.emit("SET_FIELD");
                }
            }
        }
        Ok(())
    }
}
