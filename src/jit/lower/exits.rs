//! Leaving compiled code: guards and exits (in every frame environment,
//! through `FrameEnv::exit`), then ordinary code's helper calls and their
//! statuses and the start of its blocks (SPEC §4.6 charging).

use super::{FrameEnv, Item, Lower, Ordinary, FIRST_HEAP, HEAP_KINDS, NULL};
use crate::exec::native::off;
use crate::exec::native::status;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{I32, I64, I8};
use cranelift_codegen::ir::{self, BlockArg, InstBuilder};

impl<E: FrameEnv> Lower<'_, '_, '_, E> {
    // ---- exits ------------------------------------------------------------

    /// When `cond` holds, leave compiled code at instruction `dpc` with the
    /// whole state in memory; the interpreter runs it.
    pub(super) fn exit_if(&mut self, cond: ir::Value, dpc: u32) {
        if let Some(exit) = E::exit_block(self, dpc) {
            let cont = self.b.create_block();
            self.b.ins().brif(cond, exit, &[], cont, &[]);
            self.b.switch_to_block(cont);
            return;
        }
        self.cold_if(cond, |l| {
            let saved = l.stack.clone();
            l.exit_continue(dpc);
            l.stack = saved;
        });
    }

    /// When `cond` holds, `leave` (in a cold block, which it must end);
    /// otherwise code goes on in a new block.
    pub(super) fn cold_if(&mut self, cond: ir::Value, leave: impl FnOnce(&mut Self)) {
        let cold = self.b.create_block();
        self.b.set_cold_block(cold);
        let cont = self.b.create_block();
        self.b.ins().brif(cond, cold, &[], cont, &[]);
        self.b.switch_to_block(cold);
        leave(self);
        self.b.switch_to_block(cont);
    }

    /// Leave at `dpc` now, the way the environment leaves (`E::exit`: X1
    /// or D2 in src/jit/README.md).
    pub(super) fn exit_continue(&mut self, dpc: u32) {
        E::exit(self, dpc);
    }

    /// Side exit when `ok` is false; otherwise go on with the guarded facts.
    pub(super) fn guard(&mut self, ok: ir::Value, dpc: u32, operands: &[Item]) {
        if self.const_of(ok).is_some_and(|c| c != 0) {
            return;
        }
        let bad = self.b.ins().icmp_imm(IntCC::Equal, ok, 0);
        let saved = self.stack.clone();
        self.unpop(operands);
        self.exit_if(bad, dpc);
        self.stack = saved;
    }

    /// The value of `v` when it is a constant (or AND/OR of constants).
    pub(super) fn const_of(&self, v: ir::Value) -> Option<i64> {
        use ir::{InstructionData as D, Opcode};
        let inst = self.b.func.dfg.value_def(v).inst()?;
        match self.b.func.dfg.insts[inst] {
            D::UnaryImm {
                opcode: Opcode::Iconst,
                imm,
            } => Some(imm.bits()),
            D::Binary {
                opcode: op @ (Opcode::Band | Opcode::Bor),
                args: [x, y],
            } => {
                let (x, y) = (self.const_of(x)?, self.const_of(y)?);
                Some(if op == Opcode::Band { x & y } else { x | y })
            }
            _ => None,
        }
    }

    /// After a helper: return its status unless it is `NEXT`.
    /// A `CONTINUE` after which this frame is at one of its catch blocks
    /// goes on there (`exceptions`).
    pub(super) fn check_status(&mut self, st: ir::Value) {
        let cont = self.b.create_block();
        let frames0 = self.frames_noted();
        let (r, args) = self.status_target(st, frames0);
        self.b.ins().brif(st, r, &args, cont, &[]);
        self.b.switch_to_block(cont);
    }

    /// Control goes on at block `target` (`E::jump`).
    pub(super) fn jump_to(&mut self, target: u32) {
        E::jump(self, target);
    }

    /// A jump to the function's block `target` (`FrameEnv::jump` of code
    /// whose blocks are Cranelift blocks).
    pub(super) fn jump_within(&mut self, target: u32) {
        match self.blocks.get(&target).copied() {
            Some(blk) => {
                self.edge(target);
                self.b.ins().jump(blk, &[]);
            }
            None => {
                // Not code of this unit: continue through the engine.
                let dpc = self.input.dpc(target);
                self.exit_continue(dpc);
            }
        }
    }

    /// Control goes from the current block to the unit's block `target`
    /// (`E::edge`).
    pub(super) fn edge(&mut self, target: u32) {
        E::edge(self, target);
    }

    pub(super) fn heap_test(&mut self, tag: ir::Value) -> ir::Value {
        let rel = self.b.ins().iadd_imm(tag, -(FIRST_HEAP as i64));
        self.b
            .ins()
            .icmp_imm(IntCC::UnsignedLessThan, rel, HEAP_KINDS as i64)
    }

    /// One more reference to `it` when it is a heap value
    /// (`E::refcount`).
    pub(super) fn clone_item(&mut self, it: Item) {
        E::refcount(self, self.im.clone, it);
    }

    /// One reference fewer.
    pub(super) fn drop_item(&mut self, it: Item) {
        if self.is_borrowed(it) {
            // The variable holds the reference (`calls::borrow_site`).
            return;
        }
        E::refcount(self, self.im.drop, it);
    }

    /// When `budget` is spent (≤ 0), `preempt` leaves compiled code (in a
    /// cold block); otherwise code goes on in a new block.
    pub(super) fn if_spent(&mut self, budget: ir::Value, preempt: impl FnOnce(&mut Self)) {
        let spent = self
            .b
            .ins()
            .icmp_imm(IntCC::SignedLessThanOrEqual, budget, 0);
        self.cold_if(spent, preempt);
    }

    /// The operands' known kinds have no fast path: put them back and leave
    /// at `dpc` (the interpreter runs the instruction); the rest of the
    /// block is lowered into a block nothing reaches.
    pub(super) fn exit_always(&mut self, operands: &[Item], dpc: u32) {
        // The dead rest sees the operands taken (and the one result
        // `dead_block` pushes), so its stack has the heights the plan of a
        // direct entry expects.
        let saved = self.stack.clone();
        self.unpop(operands);
        self.exit_continue(dpc);
        self.stack = saved;
        self.dead_block();
    }

    pub(super) fn dead_block(&mut self) {
        let dead = self.b.create_block();
        self.b.switch_to_block(dead);
        // Whatever the rest of the block pushes is never used.
        let z = self.b.ins().iconst(I64, 0);
        let it = self.item(NULL, z);
        self.stack.push(it);
    }
}

/// Ordinary code: helper calls and block starts (see `ordinary`).
impl Lower<'_, '_, '_, Ordinary> {
    // ---- side exits ----------------------------------------------------------

    /// Leave at `dpc` with the virtual operands written to memory (X1):
    /// one jump to the function's shared exit for that many operands,
    /// with the address, the stack's length, the budget and the operands
    /// as arguments. Every side exit of a function used to write its
    /// operands, the lengths and the address inline (10–25 instructions
    /// each, one per guard of every instruction that can leave: docs/JIT.md,
    /// "Shared side exits"); the path at run time is the same but for a
    /// jump.
    pub(super) fn shared_exit(&mut self, dpc: u32) {
        let fault = self.faults_at(dpc);
        let items: Vec<Item> = self.stack.drain(..).collect();
        let mut args = Vec::with_capacity(3 + 2 * items.len());
        args.push(self.b.ins().iconst(I32, dpc as i64));
        args.push(self.b.use_var(self.v_len));
        args.push(self.b.use_var(self.v_budget));
        for it in &items {
            self.own_borrowed(*it);
            let tag = self.tag_of(*it);
            let pay = if self.b.func.dfg.value_type(it.pay) == I64 {
                it.pay
            } else {
                self.b.ins().bitcast(I64, ir::MemFlags::new(), it.pay)
            };
            args.push(tag);
            args.push(pay);
        }
        let n = items.len();
        let blk = match self.side_exits.iter().find(|e| e.0 == fault && e.1 == n) {
            Some(e) => e.2,
            None => {
                let blk = self.b.create_block();
                self.b.set_cold_block(blk);
                self.b.append_block_param(blk, I32);
                self.b.append_block_param(blk, I64);
                self.b.append_block_param(blk, I64);
                for _ in 0..n {
                    self.b.append_block_param(blk, I8);
                    self.b.append_block_param(blk, I64);
                }
                self.side_exits.push((fault, n, blk));
                blk
            }
        };
        let args: Vec<BlockArg> = args.into_iter().map(BlockArg::Value).collect();
        self.b.ins().jump(blk, &args);
    }

    /// The code of the shared side exits: write the operands above the
    /// stack's length, the lengths and the address; then, for an exit at
    /// an instruction, the `fault` block (which runs it when a handler is
    /// in force), else `CONTINUE`.
    pub(super) fn finish_side_exits(&mut self) {
        for (fault, n, blk) in std::mem::take(&mut self.side_exits) {
            self.b.switch_to_block(blk);
            let ps = self.b.block_params(blk).to_vec();
            let (pc, len, budget) = (ps[0], ps[1], ps[2]);
            if n > 0 {
                let base = self.addr_of_top(len);
                for i in 0..n {
                    let o = (i as i64 * super::VALUE_BYTES) as i32;
                    self.b.ins().store(self.mf, ps[3 + 2 * i], base, o);
                    self.b.ins().store(self.mf, ps[4 + 2 * i], base, o + 8);
                }
            }
            let len = self.b.ins().iadd_imm(len, n as i64);
            self.env_store(len, off::LEN);
            self.env_store(budget, off::BUDGET);
            self.env_store(pc, off::PC);
            if fault {
                let frames = self.env_load(I32, off::FRAMES);
                let f = self.fault_block();
                self.b.ins().jump(f, &[BlockArg::Value(frames)]);
            } else {
                self.ret_const(status::CONTINUE);
            }
        }
    }

    // ---- helpers ------------------------------------------------------------

    /// Call a status-returning helper with the state saved and reloaded.
    pub(super) fn call_helper(&mut self, f: ir::FuncRef, args: &[ir::Value]) -> ir::Value {
        self.note_frames();
        self.save_state();
        let call = self.b.ins().call(f, args);
        let st = self.b.inst_results(call)[0];
        self.reload_state();
        st
    }

    /// Run instruction `at` through the generic helper (virtual stack
    /// flushed first); returns unless the status is `NEXT`.
    pub(super) fn generic(&mut self, at: u32, dpc: u32, writes_locals: bool) {
        let st = self.call_at(self.im.generic, at, dpc);
        self.check_status(st);
        if writes_locals {
            self.reload_locals();
        }
    }

    /// A generic instruction after which control never falls through.
    pub(super) fn generic_final(&mut self, at: u32, dpc: u32) {
        let st = self.call_at(self.im.generic, at, dpc);
        // THROW: on to the catch block when it is this frame's.
        match self.frames_noted() {
            Some(f) => self.ret_status(st, f),
            None => self.ret(st),
        }
    }

    /// Flush the virtual stack and call helper `f(env, at, dpc)`: its status.
    pub(super) fn call_at(&mut self, f: ir::FuncRef, at: u32, dpc: u32) -> ir::Value {
        self.flush();
        let a = self.b.ins().iconst(I32, at as i64);
        let d = self.b.ins().iconst(I32, dpc as i64);
        let env = self.env;
        self.call_helper(f, &[env, a, d])
    }

    /// Pop the one value a helper left on the memory stack.
    pub(super) fn pop_mem_result(&mut self) -> (ir::Value, ir::Value) {
        let len = self.b.use_var(self.v_len);
        let new_len = self.b.ins().iadd_imm(len, -1);
        let a = self.addr_of_top(new_len);
        let tag = self.b.ins().load(I8, self.mf, a, 0);
        let pay = self.b.ins().load(I64, self.mf, a, 8);
        self.b.def_var(self.v_len, new_len);
        (tag, pay)
    }

    // ---- blocks -------------------------------------------------------------

    /// SPEC §4.6 at a block start, exactly as the interpreter's `Charge`.
    ///
    /// The cold paths — preempting when the budget is spent, and making
    /// room on the operand stack (or raising `stack overflow`) when the
    /// block's pushes may not fit — are the same for every block but for
    /// the block's address and cost, and at a block start nothing is on
    /// the virtual stack: each block only jumps to one shared block of the
    /// function with those (`prologue_exits`, emitted at the end by
    /// [`Lower::finish_prologue_exits`]). Per block that is two jumps
    /// instead of three cold blocks with two helper calls: less code for
    /// Cranelift (issue 15, compile cost), the same path at run time.
    pub(super) fn block_prologue(&mut self, start: u32) {
        let p = self.input.program;
        let cost = p.block_cost[start as usize] as i64;
        let charge_pc = self.input.dpc(start);
        let (preempt, room) = self.prologue_exits();
        let budget = self.b.use_var(self.v_budget);
        let len = self.b.use_var(self.v_len);
        // Preempt when the budget is spent.
        self.if_spent(budget, |l| {
            let pc = l.b.ins().iconst(I32, charge_pc as i64);
            let args = [pc, len, budget].map(BlockArg::Value);
            l.b.ins().jump(preempt, &args);
        });
        let charged = self.b.ins().iadd_imm(budget, -cost);
        // The stack limit, and room for this block's pushes.
        let lim = self.b.use_var(self.v_lim);
        let want = self.b.ins().iadd_imm(len, 2 * cost);
        let over = self.b.ins().icmp(IntCC::UnsignedGreaterThan, want, lim);
        self.cold_if(over, |l| {
            let pc = l.b.ins().iconst(I32, charge_pc as i64);
            let n = l.b.ins().iconst(I64, 2 * cost);
            let args = [pc, len, budget, n].map(BlockArg::Value);
            l.b.ins().jump(room, &args);
        });
        self.b.def_var(self.v_budget, charged);
    }

    /// The function's two shared block-start exits (made at first use):
    /// *preempt* `(pc, len, budget)` and *room* `(pc, len, budget, n)`,
    /// where `budget` is not yet charged and `n` is twice the block's cost.
    fn prologue_exits(&mut self) -> (ir::Block, ir::Block) {
        if let Some(b) = self.prologue_exits {
            return b;
        }
        let preempt = self.b.create_block();
        let room = self.b.create_block();
        self.b.set_cold_block(preempt);
        self.b.set_cold_block(room);
        self.b.append_block_param(preempt, I32);
        self.b.append_block_param(room, I32);
        for _ in 0..2 {
            self.b.append_block_param(preempt, I64);
        }
        for _ in 0..3 {
            self.b.append_block_param(room, I64);
        }
        self.prologue_exits = Some((preempt, room));
        (preempt, room)
    }

    /// The code of the shared block-start exits, when a block used them.
    pub(super) fn finish_prologue_exits(&mut self) {
        let Some((preempt, room)) = self.prologue_exits else {
            return;
        };
        // The budget is spent: the process resumes at the block with a
        // fresh budget, in whichever tier.
        self.b.switch_to_block(preempt);
        let [pc, len, budget] = [0, 1, 2].map(|i| self.b.block_params(preempt)[i]);
        self.env_store(len, off::LEN);
        self.env_store(budget, off::BUDGET);
        self.env_store(pc, off::PC);
        self.ret_const(status::PREEMPT);

        self.b.switch_to_block(room);
        let [pc, len, budget, n] = [0, 1, 2, 3].map(|i| self.b.block_params(room)[i]);
        let want = self.b.ins().iadd(len, n);
        let max = self.b.ins().iconst(I64, self.input.max_stack as i64);
        let too_deep = self.b.ins().icmp(IntCC::UnsignedGreaterThan, want, max);
        let raise = self.b.create_block();
        self.b.set_cold_block(raise);
        let grow = self.b.create_block();
        self.b.set_cold_block(grow);
        self.b.ins().brif(too_deep, raise, &[], grow, &[]);
        // Charged, then `stack overflow`, as interpreted.
        self.b.switch_to_block(raise);
        let cost = self.b.ins().ushr_imm(n, 1);
        let charged = self.b.ins().isub(budget, cost);
        self.env_store(len, off::LEN);
        self.env_store(charged, off::BUDGET);
        let env = self.env;
        let call = self.b.ins().call(self.im.overflow, &[env, pc]);
        let st = self.b.inst_results(call)[0];
        self.ret(st);
        // Make room and enter the block again (uncharged): no helper call
        // in the block's own path, so loops keep their values in registers.
        self.b.switch_to_block(grow);
        self.env_store(len, off::LEN);
        self.env_store(budget, off::BUDGET);
        self.b.ins().call(self.im.reserve, &[env, n]);
        self.env_store(pc, off::PC);
        self.ret_const(status::CONTINUE);
    }

    /// The entry of a part that starts at `at`, in the middle of a block
    /// (`regions`): the previous part charged the block and made room on
    /// the stack for it, and left at `at` with nothing in registers. The
    /// room is checked again all the same (this is an entry, and compiled
    /// code pushes without checks): when it is short, the code makes room
    /// and enters again — or, were the rest of the block to go beyond the
    /// stack limit (it cannot, the block start checked that), lets the
    /// interpreter run it. Then the rest of the block.
    pub(super) fn lower_cont(&mut self, blk: ir::Block, at: u32) -> Result<(), String> {
        let p = self.input.program;
        self.b.switch_to_block(blk);
        self.stack.clear();
        self.known.iter_mut().for_each(|k| *k = None);
        self.cur = None;
        let rest = (at as usize..p.code.len())
            .take_while(|&i| i == at as usize || !p.block_start[i])
            .count() as i64;
        let dpc = self.input.dpc(at);
        let len = self.b.use_var(self.v_len);
        let lim = self.b.use_var(self.v_lim);
        let want = self.b.ins().iadd_imm(len, 2 * rest);
        let over = self.b.ins().icmp(IntCC::UnsignedGreaterThan, want, lim);
        self.cold_if(over, |l| {
            let max = l.b.ins().iconst(I64, l.input.max_stack as i64);
            let beyond = l.b.ins().icmp(IntCC::UnsignedGreaterThan, want, max);
            let n = l.b.ins().iconst(I64, 2 * rest);
            l.save_state();
            let env = l.env;
            l.b.ins().call(l.im.reserve, &[env, n]);
            l.set_pc(dpc);
            let again = l.b.ins().iconst(I32, status::CONTINUE as i64);
            let interpret = l.b.ins().iconst(I32, status::INTERPRET as i64);
            let st = l.b.ins().select(beyond, interpret, again);
            l.ret(st);
        });
        self.block_body(at)
    }
}
