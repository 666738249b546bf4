//! Processes: PIDs, SEND/SENDNAMED, request/reply servers, mailbox
//! drains, receive patterns and SPAWN.

use super::vocab::{FIELDS, NAMES};
use super::{Gen, Ty};
use arbitrary::Result;

impl Gen<'_, '_> {
    /// An expression that is, usually, a PID.
    pub(super) fn pid_expr(&mut self) -> Result<()> {
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

    pub(super) fn send(&mut self) -> Result<()> {
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
    pub(super) fn serve(&mut self) -> Result<()> {
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
    pub(super) fn request(&mut self) -> Result<()> {
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
    pub(super) fn drain(&mut self) -> Result<()> {
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
    pub(super) fn pattern(&mut self) -> Result<()> {
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
    pub(super) fn receive(&mut self) -> Result<()> {
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

    /// Push the PID of a new process.
    pub(super) fn spawn(&mut self) -> Result<()> {
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
}
