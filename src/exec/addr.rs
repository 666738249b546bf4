//! The two kinds of code address, and the decoded layout that maps one to
//! the other.
//!
//! A *program address* ([`Addr`]) is an instruction's index in
//! `Program::code`: what the assembler, the op table, diagnostics and the
//! JIT's units speak of. A *decoded address* ([`Dpc`]) is an index in the
//! decoded code both tiers run from (`interp::Code::ops`, the JIT's entry
//! table): what a process's `pc`, a frame's return address, a handler's
//! catch address and `JitEnv::pc` hold. The decoded code has one extra op,
//! the block's `Charge`, in front of every block start, so the two differ;
//! [`Layout`] is the one place that knows by how much.

use crate::bytecode::Program;

/// A program address: an instruction's index in `Program::code`.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Addr(pub u32);

/// A decoded address: an index in the decoded code (see the module).
#[repr(transparent)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Dpc(pub u32);

impl Addr {
    /// As an index into the program's per-instruction tables.
    #[inline(always)]
    pub fn ix(self) -> usize {
        self.0 as usize
    }
}

impl Dpc {
    /// As an index into the decoded code's per-op tables.
    #[inline(always)]
    pub fn ix(self) -> usize {
        self.0 as usize
    }

    /// The next decoded address.
    #[inline(always)]
    pub fn next(self) -> Dpc {
        Dpc(self.0 + 1)
    }
}

/// Where each instruction is in the decoded code, and back: built once
/// from the program's block starts, consulted by the decoder, the
/// interpreter, the engine and the JIT.
#[derive(Clone, Debug, Default)]
pub struct Layout {
    /// Program address → decoded address (its block's `Charge` when it
    /// starts one); one more entry for the end of the code.
    entry: Vec<Dpc>,
    /// Decoded address → program address (a `Charge` has its block's).
    orig: Vec<Addr>,
    /// Program address → whether it starts a block (has a `Charge`).
    block_start: Vec<bool>,
}

impl Layout {
    /// The decoded layout of `p`: a `Charge` op before every block start,
    /// then one op per instruction.
    pub fn new(p: &Program) -> Layout {
        let n = p.code.len();
        let mut entry = Vec::with_capacity(n + 1);
        let mut orig = Vec::with_capacity(n + n / 2);
        for (i, &start) in p.block_start.iter().enumerate().take(n) {
            entry.push(Dpc(orig.len() as u32));
            if start {
                orig.push(Addr(i as u32));
            }
            orig.push(Addr(i as u32));
        }
        entry.push(Dpc(orig.len() as u32));
        Layout {
            entry,
            orig,
            block_start: p.block_start[..n].to_vec(),
        }
    }

    /// Where control enters instruction `at` by a jump, call, fall-through
    /// or branch: its block's `Charge` when it starts a block, else its own
    /// op. `at` may be the end of the code (one past the last instruction).
    #[inline(always)]
    pub fn dpc(&self, at: Addr) -> Dpc {
        self.entry[at.ix()]
    }

    /// Instruction `at`'s own op (after its block's `Charge`, if any):
    /// where a process waiting in a RECEIVE or SLEEP resumes, and the
    /// address a fused op or a side exit names.
    #[inline]
    pub fn resume(&self, at: Addr) -> Dpc {
        Dpc(self.entry[at.ix()].0 + self.block_start[at.ix()] as u32)
    }

    /// The instruction whose op (or whose block's `Charge`) is at `d`.
    #[inline(always)]
    pub fn addr(&self, d: Dpc) -> Addr {
        self.orig[d.ix()]
    }

    /// [`Layout::addr`], or `None` past the end.
    #[inline]
    pub fn get_addr(&self, d: Dpc) -> Option<Addr> {
        self.orig.get(d.ix()).copied()
    }

    /// Ops in the decoded code.
    pub fn len(&self) -> usize {
        self.orig.len()
    }

    /// Whether the decoded code is empty.
    pub fn is_empty(&self) -> bool {
        self.orig.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interp::decode::Op;
    use crate::interp::Code;

    /// The layout is the decoder's: a `Charge` exactly at the decoded
    /// address of each block start, the instruction's own op at
    /// `resume`, and `addr` inverting both.
    #[test]
    fn layout_matches_the_decoded_code() {
        let src = "PUSH_INT 0\nSTORE i\nLABEL loop\nLOAD i\nPUSH_INT 1\nADD\nSTORE i\n\
                   LOAD i\nPUSH_INT 10\nLT\nJNZ loop\nRECEIVE\nPRINT\nCALL f\nHALT\n\
                   LABEL f\nPUSH_INT 1\nRET\n";
        let p = crate::load_source("t.ttvm", src).expect("assembles");
        for jit in [false, true] {
            let code = Code::new(&p, true, jit);
            let l = &code.layout;
            assert_eq!(l.len(), code.ops.len());
            for at in 0..p.code.len() as u32 {
                let (d, r) = (l.dpc(Addr(at)), l.resume(Addr(at)));
                assert_eq!(l.addr(d), Addr(at));
                assert_eq!(l.addr(r), Addr(at));
                let charge = matches!(code.ops[d.ix()], Op::Charge(_) | Op::ChargeJit(_));
                assert_eq!(charge, p.block_start[at as usize], "instruction {at}");
                assert_eq!(r.0, d.0 + p.block_start[at as usize] as u32);
                assert_eq!(l.dpc(Addr(at + 1)), r.next(), "instruction {at}");
            }
            assert_eq!(l.dpc(Addr(p.code.len() as u32)).ix(), code.ops.len());
            assert_eq!(l.get_addr(Dpc(code.ops.len() as u32)), None);
        }
    }
}
