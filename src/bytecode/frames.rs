//! Frame layouts: variables become dense frame slots.
//!
//! Code that can run in one frame is found by following every edge that
//! stays in the frame (fall-through, jumps, TRY's catch label) but not calls.
//! Each connected group of instructions is one frame shape; every variable
//! name its instructions use gets a slot in it. A CALL's parameters get slots
//! in the callee's shape; an IMPORT's exports get slots in the importer's.

use super::{FrameLayout, Instr, Program};
use std::collections::HashMap;
use std::sync::Arc;
use ttvm_runtime::Atom;

/// Union by size with path halving: near-constant amortised per operation
/// on any shape of jumps (the layout numbers do not depend on which
/// instruction ends up the root).
struct UnionFind {
    parent: Vec<u32>,
    size: Vec<u32>,
}

impl UnionFind {
    fn new(n: u32) -> UnionFind {
        UnionFind {
            parent: (0..n).collect(),
            size: vec![1; n as usize],
        }
    }

    fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let grand = self.parent[self.parent[x as usize] as usize];
            self.parent[x as usize] = grand;
            x = grand;
        }
        x
    }

    fn union(&mut self, a: u32, b: u32) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return;
        }
        let (big, small) = if self.size[ra as usize] >= self.size[rb as usize] {
            (ra, rb)
        } else {
            (rb, ra)
        };
        self.parent[small as usize] = big;
        self.size[big as usize] += self.size[small as usize];
    }
}

/// Where an IMPORT's exports land in the importer's frame.
type Binds = Arc<[(Atom, u32)]>;

pub(super) fn assign_slots(p: &mut Program) {
    let n = p.code.len() as u32;
    let mut uf = UnionFind::new(n);
    for i in 0..n {
        let instr = &p.code[i as usize];
        if !instr.opcode().info().no_fallthrough && i + 1 < n {
            uf.union(i, i + 1);
        }
        // The in-frame successors besides fall-through: a jump's or
        // branch's target, a TRY's catch label.
        if let Some(t) = instr.label() {
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
    // Slot numbers by name per layout (a search of the names per use was
    // quadratic in the variables of a frame).
    let mut slots: Vec<HashMap<Atom, u32>> = (0..names.len()).map(|_| HashMap::new()).collect();
    fn slot(names: &mut Vec<Atom>, slots: &mut HashMap<Atom, u32>, name: &Atom) -> u32 {
        *slots.entry(name.clone()).or_insert_with(|| {
            names.push(name.clone());
            (names.len() - 1) as u32
        })
    }
    // One binds list per (module, importing layout), shared by every IMPORT
    // of it there: n IMPORTs of a module with e exports cost n + e, not n·e.
    let mut binds: HashMap<(u32, u32), Binds> = HashMap::new();
    for i in 0..n as usize {
        let layout = p.layout_of[i] as usize;
        let instr = &mut p.code[i];
        if let Some(v) = instr.var_mut() {
            v.slot = slot(&mut names[layout], &mut slots[layout], &v.name);
        } else if let Some(c) = instr.callee_mut() {
            let callee = p.layout_of[c.target as usize] as usize;
            c.param_slots = c
                .params
                .iter()
                .map(|a| slot(&mut names[callee], &mut slots[callee], a))
                .collect();
        }
        if let Instr::Import(m) = instr {
            let exports = &p.modules[m.module as usize].exports;
            m.binds = binds
                .entry((m.module, layout as u32))
                .or_insert_with(|| {
                    exports
                        .iter()
                        .map(|a| (a.clone(), slot(&mut names[layout], &mut slots[layout], a)))
                        .collect()
                })
                .clone();
        }
    }
    p.layouts = names
        .into_iter()
        .map(|names| FrameLayout {
            names: names.into(),
        })
        .collect();
}
