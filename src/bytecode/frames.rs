//! Frame layouts: variables become dense frame slots.
//!
//! Code that can run in one frame is found by following every edge that
//! stays in the frame (fall-through, jumps, TRY's catch label) but not calls.
//! Each connected group of instructions is one frame shape; every variable
//! name its instructions use gets a slot in it. A CALL's parameters get slots
//! in the callee's shape; an IMPORT's exports get slots in the importer's.

use super::{FrameLayout, Instr, Program};
use ttvm_runtime::Atom;

struct UnionFind(Vec<u32>);

impl UnionFind {
    fn find(&mut self, mut x: u32) -> u32 {
        while self.0[x as usize] != x {
            let parent = self.0[self.0[x as usize] as usize];
            self.0[x as usize] = parent;
            x = parent;
        }
        x
    }

    fn union(&mut self, a: u32, b: u32) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            self.0[ra.max(rb) as usize] = ra.min(rb);
        }
    }
}

/// The in-frame successors of instruction `i` besides fall-through.
pub(super) fn jump_target(instr: &Instr) -> Option<u32> {
    match instr {
        Instr::Jmp(t) | Instr::Jz(t) | Instr::Jnz(t) | Instr::Try(t) => Some(t.0),
        _ => None,
    }
}

pub(super) fn assign_slots(p: &mut Program) {
    let n = p.code.len() as u32;
    let mut uf = UnionFind((0..n).collect());
    for i in 0..n {
        let instr = &p.code[i as usize];
        if !instr.opcode().info().no_fallthrough && i + 1 < n {
            uf.union(i, i + 1);
        }
        if let Some(t) = jump_target(instr) {
            uf.union(i, t);
        }
    }
    // Dense layout numbers, in code order.
    let mut layout_of_root = vec![u32::MAX; n as usize];
    let mut names: Vec<Vec<Atom>> = Vec::new();
    p.layout_of = (0..n)
        .map(|i| {
            let r = uf.find(i) as usize;
            if layout_of_root[r] == u32::MAX {
                layout_of_root[r] = names.len() as u32;
                names.push(Vec::new());
            }
            layout_of_root[r]
        })
        .collect();
    fn slot(names: &mut Vec<Atom>, name: &Atom) -> u32 {
        match names.iter().position(|n| n == name) {
            Some(i) => i as u32,
            None => {
                names.push(name.clone());
                (names.len() - 1) as u32
            }
        }
    }
    for i in 0..n as usize {
        let layout = p.layout_of[i] as usize;
        match &mut p.code[i] {
            Instr::Store(v)
            | Instr::Load(v)
            | Instr::Delete(v)
            | Instr::Capture(v)
            | Instr::Export(v) => v.slot = slot(&mut names[layout], &v.name),
            Instr::Call(c) | Instr::MakeFunction(c) | Instr::MakeLambda(c) => {
                let callee = p.layout_of[c.target as usize] as usize;
                c.param_slots = c
                    .params
                    .iter()
                    .map(|a| slot(&mut names[callee], a))
                    .collect();
            }
            Instr::Import(m) => {
                let exports = &p.modules[m.module as usize].exports;
                m.binds = exports
                    .iter()
                    .map(|a| (a.clone(), slot(&mut names[layout], a)))
                    .collect();
            }
            _ => {}
        }
    }
    p.layouts = names
        .into_iter()
        .map(|names| FrameLayout {
            names: names.into(),
        })
        .collect();
}
