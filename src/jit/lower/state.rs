//! The state compiled code keeps in registers and how it is read and
//! written back: the `env` block, variables, and the virtual operand
//! stack (shared by every frame environment; what ordinary code keeps in
//! memory besides is at the end).

use super::{FrameEnv, Item, Lower, Ordinary, INT, VALUE_BYTES};
use crate::exec::native::off;
use cranelift_codegen::ir::types::{I32, I64, I8};
use cranelift_codegen::ir::{self, BlockArg, InstBuilder};

impl<E: FrameEnv> Lower<'_, '_, '_, E> {
    // ---- state ------------------------------------------------------------

    pub(super) fn env_load(&mut self, ty: ir::Type, offset: i32) -> ir::Value {
        self.b.ins().load(ty, self.mf, self.env, offset)
    }

    pub(super) fn env_store(&mut self, v: ir::Value, offset: i32) {
        self.b.ins().store(self.mf, v, self.env, offset);
    }

    /// Read the operand stack length, the budget, the stack's room and the
    /// frame's slots back from `env` (after a helper may have changed
    /// them); in a loop without helper calls they stay in registers.
    /// Everything else compiled code reads from `env` where it uses it (the
    /// stack and frame pointers): fewer values live across loops.
    pub(super) fn reload_state(&mut self) {
        E::reload_state(self);
    }

    /// Write what compiled code keeps in registers back (`E::save_state`).
    pub(super) fn save_state(&mut self) {
        E::save_state(self);
    }

    pub(super) fn ret(&mut self, st: ir::Value) {
        let r = self.ret_block.expect("made first");
        self.b.ins().jump(r, &[BlockArg::Value(st)]);
    }

    pub(super) fn ret_const(&mut self, st: u32) {
        let v = self.b.ins().iconst(I32, st as i64);
        self.ret(v);
    }

    // ---- the operand stack -------------------------------------------------

    /// Write the virtual stack to where operands live between blocks.
    pub(super) fn flush(&mut self) {
        E::flush_below(self, 0);
    }

    /// Write all but the top `keep` virtual values there.
    pub(super) fn flush_below(&mut self, keep: usize) {
        E::flush_below(self, keep);
    }

    pub(super) fn item(&mut self, known: u8, pay: ir::Value) -> Item {
        let tag = self.b.ins().iconst(I8, known as i64);
        Item {
            tag,
            pay,
            known: Some(known),
            slot: None,
        }
    }

    /// The tag constant made in the entry block for `k`, if one was.
    pub(super) fn tag_const(&self, k: u8) -> Option<ir::Value> {
        self.tag_consts
            .iter()
            .find(|(t, _)| *t == k)
            .map(|&(_, v)| v)
    }

    /// The tag of `it` as a value (a constant when it is known).
    pub(super) fn tag_of(&mut self, it: Item) -> ir::Value {
        match it.known {
            Some(k) => self.b.ins().iconst(I8, k as i64),
            None => it.tag,
        }
    }

    pub(super) fn push_int(&mut self, pay: ir::Value) {
        let it = self.item(INT, pay);
        self.stack.push(it);
    }

    /// The top `k` operands as registers (bottom first); the ones not in
    /// registers come from where the frame's operands live
    /// (`E::operands_below`: in memory, with a side exit at `dpc` when
    /// there are too few, the interpreter raises the underflow — unless
    /// the depth analysis says they are surely there).
    pub(super) fn operands(&mut self, k: usize, dpc: u32) -> Vec<Item> {
        let have = self.stack.len().min(k);
        let need = k - have;
        let checked = (self.sure as usize) < k;
        self.sure = self.sure.saturating_sub(k as u32);
        let mut from_mem = if need > 0 {
            E::operands_below(self, need, checked, dpc)
        } else {
            Vec::new()
        };
        let top = self.stack.split_off(self.stack.len() - have);
        from_mem.extend(top);
        from_mem
    }

    /// Put operands back (for a helper or a side exit that needs them in
    /// place).
    pub(super) fn unpop(&mut self, items: &[Item]) {
        self.stack.extend_from_slice(items);
    }
}

/// Ordinary code: the frame in memory (see `ordinary`).
impl Lower<'_, '_, '_, Ordinary> {
    pub(super) fn reload_state_mem(&mut self) {
        let len = self.env_load(I64, off::LEN);
        let budget = self.env_load(I64, off::BUDGET);
        self.b.def_var(self.v_len, len);
        self.b.def_var(self.v_budget, budget);
        self.reload_lim();
        let lp = self.env_load(I64, off::LOCALS);
        self.b.def_var(self.v_lp, lp);
    }

    pub(super) fn reload_lim(&mut self) {
        let cap = self.env_load(I64, off::CAP);
        let max = self.b.ins().iconst(I64, self.input.max_stack as i64);
        let lim = self.b.ins().umin(cap, max);
        self.b.def_var(self.v_lim, lim);
    }

    /// Read every variable slot of the frame kept in registers from
    /// memory (the others are read where they are used).
    pub(super) fn reload_locals(&mut self) {
        let lp = self.b.use_var(self.v_lp);
        for s in 0..self.v_tag.len() {
            self.known[s] = None;
            if !self.in_regs[s] {
                continue;
            }
            let o = (s as i64 * VALUE_BYTES) as i32;
            let t = self.b.ins().load(I8, self.mf, lp, o);
            let p = self.b.ins().load(I64, self.mf, lp, o + 8);
            self.b.def_var(self.v_tag[s], t);
            self.b.def_var(self.v_pay[s], p);
        }
    }

    /// Read one variable slot from memory (a helper changed it).
    pub(super) fn reload_slot(&mut self, s: u32) {
        self.known[s as usize] = None;
        if !self.in_regs[s as usize] {
            return;
        }
        let lp = self.b.use_var(self.v_lp);
        let o = (s as i64 * VALUE_BYTES) as i32;
        let t = self.b.ins().load(I8, self.mf, lp, o);
        let p = self.b.ins().load(I64, self.mf, lp, o + 8);
        self.b.def_var(self.v_tag[s as usize], t);
        self.b.def_var(self.v_pay[s as usize], p);
        self.known[s as usize] = None;
    }

    pub(super) fn set_pc(&mut self, dpc: u32) {
        let v = self.b.ins().iconst(I32, dpc as i64);
        self.env_store(v, off::PC);
    }

    // ---- the operand stack -------------------------------------------------

    pub(super) fn addr_of_top(&mut self, len: ir::Value) -> ir::Value {
        let sp = self.env_load(I64, off::SP);
        let byte = self.b.ins().ishl_imm(len, 4);
        self.b.ins().iadd(sp, byte)
    }

    pub(super) fn push_mem(&mut self, it: Item) {
        self.own_borrowed(it);
        let len = self.b.use_var(self.v_len);
        let a = self.addr_of_top(len);
        let tag = match it.known {
            Some(k) => self.b.ins().iconst(I8, k as i64),
            None => it.tag,
        };
        self.b.ins().store(self.mf, tag, a, 0);
        self.b.ins().store(self.mf, it.pay, a, 8);
        let len = self.b.ins().iadd_imm(len, 1);
        self.b.def_var(self.v_len, len);
    }
}
