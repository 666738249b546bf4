//! Translation of one unit — the code of one frame layout — to Cranelift IR.
//!
//! - Every basic block of the unit (SPEC §4.6) is a Cranelift block and an
//!   entry: the function starts with a `br_table` on the entry block index,
//!   so the engine can enter at any block start (first call, loop header
//!   reached in the interpreter, resume after preemption, after a call).
//! - Each block starts like the interpreter's `Charge`: preempt when the
//!   budget is ≤ 0, subtract the block's cost, check the operand-stack limit
//!   (and make room for the block's pushes, so pushes need no checks).
//! - Variable slots are Cranelift variables (tag, payload) written through
//!   to the frame's memory on every STORE, so memory is always current and
//!   the variables never need writing back.
//! - Within a block the operand stack is virtual (SSA values with what is
//!   known of their tags); it is flushed to memory before every helper
//!   call, at block ends and at exits.
//! - Fast paths are inline (Int/Float arithmetic, comparisons, truthiness,
//!   stack shuffles, variables, jumps); when a guard fails the code exits
//!   to the engine at that instruction and the interpreter runs it
//!   ("side exit"). Everything else calls the runtime helpers.

use super::code::Imports;
use super::UnitPlan;
use crate::bytecode::{Instr, Program};
use crate::exec::frame_layout as fl;
use crate::exec::native::{off, status, MAX_NATIVE_DEPTH};
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::types::{F64, I32, I64, I8};
use cranelift_codegen::ir::{self, BlockArg, InstBuilder, MemFlags};
use cranelift_frontend::{FunctionBuilder, Variable};
use std::collections::HashMap;

/// Tags (see `ttvm_runtime::value::tag`).
const NULL: u8 = ttvm_runtime::value::tag::NULL;
const BOOL: u8 = ttvm_runtime::value::tag::BOOL;
const INT: u8 = ttvm_runtime::value::tag::INT;
const FLOAT: u8 = ttvm_runtime::value::tag::FLOAT;
const FIRST_HEAP: u8 = ttvm_runtime::value::tag::STR;
const HEAP_KINDS: u8 = ttvm_runtime::value::tag::EXCEPTION - FIRST_HEAP + 1;
/// Bytes per value (and per variable slot).
const VALUE_BYTES: i64 = 16;

/// An operand-stack value held in registers.
#[derive(Clone, Copy, Debug)]
struct Item {
    tag: ir::Value,
    pay: ir::Value,
    /// The tag, when known at compile time.
    known: Option<u8>,
    /// The variable slot it was loaded from, while that slot is unchanged.
    slot: Option<u32>,
}

fn is_heap(tag: u8) -> bool {
    tag.wrapping_sub(FIRST_HEAP) < HEAP_KINDS
}

fn numeric(k: Option<u8>) -> bool {
    matches!(k, None | Some(INT) | Some(FLOAT))
}

/// Where a CALL's callee is compiled (or will be).
pub(super) struct Callee {
    /// Address of the callee unit's code cell (an `AtomicUsize`, 0 until
    /// compiled); it lives as long as the `Jit`.
    pub code_cell: usize,
    /// The callee's entry block index in its unit.
    pub block: u32,
}

/// What a translation needs from the program.
pub(super) struct Input<'a> {
    pub program: &'a Program,
    /// Program address → decoded address.
    pub entry: &'a [u32],
    pub plan: &'a UnitPlan,
    pub max_stack: usize,
    pub max_call_depth: usize,
    pub none_tag: u8,
    /// The compiled code of the callee at a program address.
    pub callee: &'a dyn Fn(u32) -> Option<Callee>,
}

/// Why a unit cannot be compiled.
pub(super) type Unsupported = String;

/// Build the body of the unit's function in `b`.
pub(super) fn translate(
    b: &mut FunctionBuilder<'_>,
    im: &Imports,
    input: &Input<'_>,
) -> Result<(), Unsupported> {
    let slots = input.program.layouts[input.plan.layout as usize]
        .names
        .len();
    let mut l = Lower {
        b,
        im,
        input,
        env: ir::Value::from_u32(0),
        v_budget: Variable::from_u32(0),
        v_len: Variable::from_u32(1),
        v_tag: (0..slots)
            .map(|s| Variable::from_u32(2 + 2 * s as u32))
            .collect(),
        v_pay: (0..slots)
            .map(|s| Variable::from_u32(3 + 2 * s as u32))
            .collect(),
        stack: Vec::new(),
        known: vec![None; slots],
        blocks: HashMap::new(),
        ret_block: None,
        mf: MemFlags::trusted(),
    };
    l.run()
}

struct Lower<'a, 'b, 'c> {
    b: &'a mut FunctionBuilder<'b>,
    im: &'a Imports,
    input: &'a Input<'c>,
    env: ir::Value,
    v_budget: Variable,
    /// Operand stack length (values in memory).
    v_len: Variable,
    v_tag: Vec<Variable>,
    v_pay: Vec<Variable>,
    stack: Vec<Item>,
    /// Slot tags known in the current block.
    known: Vec<Option<u8>>,
    /// Program address of a block start → its Cranelift block.
    blocks: HashMap<u32, ir::Block>,
    /// Returns its one parameter (a status word).
    ret_block: Option<ir::Block>,
    mf: MemFlags,
}

impl Lower<'_, '_, '_> {
    fn run(&mut self) -> Result<(), Unsupported> {
        let p = self.input.program;
        let plan = self.input.plan;
        // Declare the variables.
        for v in [self.v_budget, self.v_len] {
            self.b.declare_var(v, I64);
        }
        for s in 0..self.v_tag.len() {
            self.b.declare_var(self.v_tag[s], I8);
            self.b.declare_var(self.v_pay[s], I64);
        }
        let entry = self.b.create_block();
        self.b.append_block_params_for_function_params(entry);
        for &a in &plan.blocks {
            let blk = self.b.create_block();
            self.blocks.insert(a, blk);
        }
        let ret = self.b.create_block();
        self.b.append_block_param(ret, I32);
        self.ret_block = Some(ret);

        // Entry: load the state, dispatch on the entry block index.
        self.b.switch_to_block(entry);
        self.env = self.b.block_params(entry)[0];
        let which = self.b.block_params(entry)[1];
        self.reload_state();
        self.reload_locals();
        let resume_blocks: Vec<ir::Block> =
            plan.resumes.iter().map(|_| self.b.create_block()).collect();
        let mut targets: Vec<ir::BlockCall> = plan
            .blocks
            .iter()
            .map(|a| {
                let blk = self.blocks[a];
                self.b.func.dfg.block_call(blk, &[])
            })
            .collect();
        for &blk in &resume_blocks {
            targets.push(self.b.func.dfg.block_call(blk, &[]));
        }
        let first = self.blocks[&plan.blocks[0]];
        let default = self.b.func.dfg.block_call(first, &[]);
        let jt = self
            .b
            .create_jump_table(ir::JumpTableData::new(default, &targets));
        self.b.ins().br_table(which, jt);

        self.b.switch_to_block(ret);
        let st = self.b.block_params(ret)[0];
        self.b.ins().return_(&[st]);

        // A process that waited in a receive or SLEEP resumes at the
        // instruction itself (its block was charged already); these all
        // end their block.
        for (&at, &blk) in plan.resumes.iter().zip(&resume_blocks) {
            self.b.switch_to_block(blk);
            self.stack.clear();
            self.known.iter_mut().for_each(|k| *k = None);
            let dpc = self.input.entry[at as usize] + p.block_start[at as usize] as u32;
            self.generic(at, dpc, false);
            self.jump_to(at + 1);
        }

        for &start in &plan.blocks {
            let blk = self.blocks[&start];
            self.b.switch_to_block(blk);
            self.stack.clear();
            self.known.iter_mut().for_each(|k| *k = None);
            self.block_prologue(start);
            let mut at = start;
            loop {
                let instr = &p.code[at as usize];
                let width = self.instr(at, instr)?;
                if width == 0 {
                    break;
                }
                at += width;
                if at as usize >= p.code.len() {
                    return Err(format!("code runs past the end at {at}"));
                }
                if p.block_start[at as usize] {
                    // Fall through into the next block.
                    self.flush();
                    self.jump_to(at);
                    break;
                }
            }
        }
        Ok(())
    }

    // ---- state ------------------------------------------------------------

    fn env_load(&mut self, ty: ir::Type, offset: i32) -> ir::Value {
        self.b.ins().load(ty, self.mf, self.env, offset)
    }

    fn env_store(&mut self, v: ir::Value, offset: i32) {
        self.b.ins().store(self.mf, v, self.env, offset);
    }

    /// Read the operand stack length and the budget back from `env` (after
    /// a helper may have changed them). Everything else compiled code reads
    /// from `env` where it uses it (the stack and frame pointers, the
    /// capacity): fewer values live across loops, fewer spills.
    fn reload_state(&mut self) {
        let len = self.env_load(I64, off::LEN);
        let budget = self.env_load(I64, off::BUDGET);
        self.b.def_var(self.v_len, len);
        self.b.def_var(self.v_budget, budget);
    }

    /// Write what compiled code keeps in registers back to `env`.
    fn save_state(&mut self) {
        let len = self.b.use_var(self.v_len);
        let budget = self.b.use_var(self.v_budget);
        self.env_store(len, off::LEN);
        self.env_store(budget, off::BUDGET);
    }

    /// Read every variable slot of the frame from memory.
    fn reload_locals(&mut self) {
        let lp = self.env_load(I64, off::LOCALS);
        for s in 0..self.v_tag.len() {
            let o = (s as i64 * VALUE_BYTES) as i32;
            let t = self.b.ins().load(I8, self.mf, lp, o);
            let p = self.b.ins().load(I64, self.mf, lp, o + 8);
            self.b.def_var(self.v_tag[s], t);
            self.b.def_var(self.v_pay[s], p);
            self.known[s] = None;
        }
    }

    /// Read one variable slot from memory (a helper changed it).
    fn reload_slot(&mut self, s: u32) {
        let lp = self.env_load(I64, off::LOCALS);
        let o = (s as i64 * VALUE_BYTES) as i32;
        let t = self.b.ins().load(I8, self.mf, lp, o);
        let p = self.b.ins().load(I64, self.mf, lp, o + 8);
        self.b.def_var(self.v_tag[s as usize], t);
        self.b.def_var(self.v_pay[s as usize], p);
        self.known[s as usize] = None;
    }

    fn ret(&mut self, st: ir::Value) {
        let r = self.ret_block.expect("made first");
        self.b.ins().jump(r, &[BlockArg::Value(st)]);
    }

    fn ret_const(&mut self, st: u32) {
        let v = self.b.ins().iconst(I32, st as i64);
        self.ret(v);
    }

    fn set_pc(&mut self, dpc: u32) {
        let v = self.b.ins().iconst(I32, dpc as i64);
        self.env_store(v, off::PC);
    }

    // ---- the operand stack -------------------------------------------------

    fn addr_of_top(&mut self, len: ir::Value) -> ir::Value {
        let sp = self.env_load(I64, off::SP);
        let byte = self.b.ins().ishl_imm(len, 4);
        self.b.ins().iadd(sp, byte)
    }

    fn push_mem(&mut self, it: Item) {
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

    /// Write the virtual stack to memory.
    fn flush(&mut self) {
        let items = std::mem::take(&mut self.stack);
        for it in items {
            self.push_mem(it);
        }
    }

    /// Write all but the top `keep` virtual values to memory.
    fn flush_below(&mut self, keep: usize) {
        let n = self.stack.len().saturating_sub(keep);
        let below: Vec<Item> = self.stack.drain(..n).collect();
        for it in below {
            self.push_mem(it);
        }
    }

    fn item(&mut self, known: u8, pay: ir::Value) -> Item {
        let tag = self.b.ins().iconst(I8, known as i64);
        Item {
            tag,
            pay,
            known: Some(known),
            slot: None,
        }
    }

    fn push_int(&mut self, pay: ir::Value) {
        let it = self.item(INT, pay);
        self.stack.push(it);
    }

    /// The top `k` operands as registers (bottom first); the ones not in
    /// registers are popped from memory, with a side exit at `dpc` when
    /// there are too few (the interpreter raises the underflow).
    fn operands(&mut self, k: usize, dpc: u32) -> Vec<Item> {
        let have = self.stack.len().min(k);
        let need = k - have;
        let mut from_mem = Vec::with_capacity(need);
        if need > 0 {
            let len = self.b.use_var(self.v_len);
            let short = self
                .b
                .ins()
                .icmp_imm(IntCC::UnsignedLessThan, len, need as i64);
            self.exit_if(short, dpc);
            let len = self.b.use_var(self.v_len);
            let new_len = self.b.ins().iadd_imm(len, -(need as i64));
            let base = self.addr_of_top(new_len);
            for i in 0..need {
                let o = (i as i64 * VALUE_BYTES) as i32;
                let tag = self.b.ins().load(I8, self.mf, base, o);
                let pay = self.b.ins().load(I64, self.mf, base, o + 8);
                from_mem.push(Item {
                    tag,
                    pay,
                    known: None,
                    slot: None,
                });
            }
            self.b.def_var(self.v_len, new_len);
        }
        let top = self.stack.split_off(self.stack.len() - have);
        from_mem.extend(top);
        from_mem
    }

    /// Put operands back (for a helper or a side exit that needs them in
    /// place).
    fn unpop(&mut self, items: &[Item]) {
        self.stack.extend_from_slice(items);
    }

    // ---- exits ------------------------------------------------------------

    /// When `cond` holds, leave compiled code at instruction `dpc` with the
    /// whole state in memory; the interpreter runs it.
    fn exit_if(&mut self, cond: ir::Value, dpc: u32) {
        let cold = self.b.create_block();
        self.b.set_cold_block(cold);
        let cont = self.b.create_block();
        self.b.ins().brif(cond, cold, &[], cont, &[]);
        self.b.switch_to_block(cold);
        let saved = self.stack.clone();
        self.exit_continue(dpc);
        self.stack = saved;
        self.b.switch_to_block(cont);
    }

    /// Leave at `dpc` now.
    fn exit_continue(&mut self, dpc: u32) {
        self.flush();
        self.save_state();
        self.set_pc(dpc);
        self.ret_const(status::CONTINUE);
    }

    /// Side exit when `ok` is false; otherwise go on with the guarded facts.
    fn guard(&mut self, ok: ir::Value, dpc: u32, operands: &[Item]) {
        let bad = self.b.ins().icmp_imm(IntCC::Equal, ok, 0);
        let saved = self.stack.clone();
        self.unpop(operands);
        self.exit_if(bad, dpc);
        self.stack = saved;
    }

    /// After a helper: return its status unless it is `NEXT`.
    fn check_status(&mut self, st: ir::Value) {
        let cont = self.b.create_block();
        let r = self.ret_block.expect("made first");
        self.b.ins().brif(st, r, &[BlockArg::Value(st)], cont, &[]);
        self.b.switch_to_block(cont);
    }

    fn jump_to(&mut self, target: u32) {
        match self.blocks.get(&target) {
            Some(&blk) => {
                self.b.ins().jump(blk, &[]);
            }
            None => {
                // Not code of this unit: continue through the engine.
                let dpc = self.input.entry[target as usize];
                self.exit_continue(dpc);
            }
        }
    }

    // ---- helpers ------------------------------------------------------------

    /// Call a status-returning helper with the state saved and reloaded.
    fn call_helper(&mut self, f: ir::FuncRef, args: &[ir::Value]) -> ir::Value {
        self.save_state();
        let call = self.b.ins().call(f, args);
        let st = self.b.inst_results(call)[0];
        self.reload_state();
        st
    }

    /// Run instruction `at` through the generic helper (virtual stack
    /// flushed first); returns unless the status is `NEXT`.
    fn generic(&mut self, at: u32, dpc: u32, writes_locals: bool) {
        self.flush();
        let a = self.b.ins().iconst(I32, at as i64);
        let d = self.b.ins().iconst(I32, dpc as i64);
        let env = self.env;
        let st = self.call_helper(self.im.generic, &[env, a, d]);
        self.check_status(st);
        if writes_locals {
            self.reload_locals();
        }
    }

    /// A generic instruction after which control never falls through.
    fn generic_final(&mut self, at: u32, dpc: u32) {
        self.flush();
        let a = self.b.ins().iconst(I32, at as i64);
        let d = self.b.ins().iconst(I32, dpc as i64);
        let env = self.env;
        let st = self.call_helper(self.im.generic, &[env, a, d]);
        self.ret(st);
    }

    /// Pop the one value a helper left on the memory stack.
    fn pop_mem_result(&mut self) -> (ir::Value, ir::Value) {
        let len = self.b.use_var(self.v_len);
        let new_len = self.b.ins().iadd_imm(len, -1);
        let a = self.addr_of_top(new_len);
        let tag = self.b.ins().load(I8, self.mf, a, 0);
        let pay = self.b.ins().load(I64, self.mf, a, 8);
        self.b.def_var(self.v_len, new_len);
        (tag, pay)
    }

    fn heap_test(&mut self, tag: ir::Value) -> ir::Value {
        let rel = self.b.ins().iadd_imm(tag, -(FIRST_HEAP as i64));
        self.b
            .ins()
            .icmp_imm(IntCC::UnsignedLessThan, rel, HEAP_KINDS as i64)
    }

    /// Call `f(tag, payload)` when the value is on the heap.
    fn refcount(&mut self, f: ir::FuncRef, it: Item) {
        match it.known {
            Some(k) if !is_heap(k) => {}
            Some(_) => {
                let t = self.b.ins().uextend(I64, it.tag);
                self.b.ins().call(f, &[t, it.pay]);
            }
            None => {
                let heap = self.heap_test(it.tag);
                let call = self.b.create_block();
                self.b.set_cold_block(call);
                let cont = self.b.create_block();
                self.b.ins().brif(heap, call, &[], cont, &[]);
                self.b.switch_to_block(call);
                let t = self.b.ins().uextend(I64, it.tag);
                self.b.ins().call(f, &[t, it.pay]);
                self.b.ins().jump(cont, &[]);
                self.b.switch_to_block(cont);
            }
        }
    }

    fn clone_item(&mut self, it: Item) {
        self.refcount(self.im.clone, it);
    }

    fn drop_item(&mut self, it: Item) {
        self.refcount(self.im.drop, it);
    }

    // ---- blocks -------------------------------------------------------------

    /// SPEC §4.6 at a block start, exactly as the interpreter's `Charge`.
    fn block_prologue(&mut self, start: u32) {
        let p = self.input.program;
        let cost = p.block_cost[start as usize] as i64;
        let charge_pc = self.input.entry[start as usize];
        // Preempt when the budget is spent.
        let budget = self.b.use_var(self.v_budget);
        let spent = self
            .b
            .ins()
            .icmp_imm(IntCC::SignedLessThanOrEqual, budget, 0);
        let preempt = self.b.create_block();
        self.b.set_cold_block(preempt);
        let cont = self.b.create_block();
        self.b.ins().brif(spent, preempt, &[], cont, &[]);
        self.b.switch_to_block(preempt);
        self.save_state();
        self.set_pc(charge_pc);
        self.ret_const(status::PREEMPT);
        self.b.switch_to_block(cont);
        let budget = self.b.ins().iadd_imm(budget, -cost);
        self.b.def_var(self.v_budget, budget);
        // The stack limit, and room for this block's pushes.
        let len = self.b.use_var(self.v_len);
        let cap = self.env_load(I64, off::CAP);
        let max = self.b.ins().iconst(I64, self.input.max_stack as i64);
        let lim = self.b.ins().umin(cap, max);
        let want = self.b.ins().iadd_imm(len, 2 * cost);
        let over = self.b.ins().icmp(IntCC::UnsignedGreaterThan, want, lim);
        let slow = self.b.create_block();
        self.b.set_cold_block(slow);
        let body = self.b.create_block();
        self.b.ins().brif(over, slow, &[], body, &[]);
        self.b.switch_to_block(slow);
        let max = self.b.ins().iconst(I64, self.input.max_stack as i64);
        let too_deep = self.b.ins().icmp(IntCC::UnsignedGreaterThan, want, max);
        let raise = self.b.create_block();
        self.b.set_cold_block(raise);
        let grow = self.b.create_block();
        self.b.set_cold_block(grow);
        self.b.ins().brif(too_deep, raise, &[], grow, &[]);
        self.b.switch_to_block(raise);
        let d = self.b.ins().iconst(I32, charge_pc as i64);
        let env = self.env;
        let st = self.call_helper(self.im.overflow, &[env, d]);
        self.ret(st);
        self.b.switch_to_block(grow);
        let n = self.b.ins().iconst(I64, 2 * cost);
        self.save_state();
        self.b.ins().call(self.im.reserve, &[env, n]);
        self.reload_state();
        self.b.ins().jump(body, &[]);
        self.b.switch_to_block(body);
    }

    // ---- instructions -------------------------------------------------------

    /// Lower the instruction at `at` (and, for a fused sequence, the ones
    /// after it): how many instructions it covered, 0 when the block ends.
    fn instr(&mut self, at: u32, instr: &Instr) -> Result<u32, Unsupported> {
        let p = self.input.program;
        let dpc = self.input.entry[at as usize] + p.block_start[at as usize] as u32;
        if let Some(slot) = in_place_update(p, at) {
            // `LOAD x; <operand>; APPEND|CONCAT; STORE x` in place.
            self.flush();
            let a = self.b.ins().iconst(I32, at as i64);
            let d = self.b.ins().iconst(I32, dpc as i64);
            let env = self.env;
            let st = self.call_helper(self.im.update, &[env, a, d]);
            self.check_status(st);
            self.reload_slot(slot);
            return Ok(4);
        }
        match instr {
            // §3.1
            Instr::PushInt(n) => {
                let v = self.b.ins().iconst(I64, *n);
                self.push_int(v);
            }
            Instr::PushFloat(f) => {
                let v = self.b.ins().iconst(I64, f.to_bits() as i64);
                let it = self.item(FLOAT, v);
                self.stack.push(it);
            }
            Instr::PushBool(x) => self.push_bool_const(*x),
            Instr::True(_) => self.push_bool_const(true),
            Instr::False(_) => self.push_bool_const(false),
            Instr::Null(_) => {
                let v = self.b.ins().iconst(I64, 0);
                let it = self.item(NULL, v);
                self.stack.push(it);
            }
            Instr::PushStr(_) => self.generic(at, dpc, false),
            Instr::Dup(_) => {
                let [a] = self.operands_n::<1>(dpc);
                self.clone_item(a);
                self.stack.push(a);
                self.stack.push(a);
            }
            Instr::Pop(_) => {
                let [a] = self.operands_n::<1>(dpc);
                self.drop_item(a);
            }
            Instr::Swap(_) => {
                let [a, b] = self.operands_n::<2>(dpc);
                self.stack.push(b);
                self.stack.push(a);
            }
            Instr::Over(_) => {
                let [a, b] = self.operands_n::<2>(dpc);
                self.clone_item(a);
                self.stack.push(a);
                self.stack.push(b);
                self.stack.push(a);
            }
            // §3.2
            Instr::Add(_) => self.arith(Arith::Add, dpc),
            Instr::Sub(_) => self.arith(Arith::Sub, dpc),
            Instr::Mul(_) => self.arith(Arith::Mul, dpc),
            Instr::Div(_) => self.arith(Arith::Div, dpc),
            Instr::Mod(_) => self.arith(Arith::Mod, dpc),
            Instr::AddF(_) => self.arith_f(Arith::Add, dpc),
            Instr::SubF(_) => self.arith_f(Arith::Sub, dpc),
            Instr::MulF(_) => self.arith_f(Arith::Mul, dpc),
            Instr::DivF(_) => self.arith_f(Arith::Div, dpc),
            Instr::Neg(_) => self.neg(dpc),
            Instr::Concat(_) => self.generic(at, dpc, false),
            // §3.3
            Instr::Eq(_) => self.compare(IntCC::Equal, FloatCC::Equal, at, dpc),
            Instr::Ne(_) => self.compare(IntCC::NotEqual, FloatCC::NotEqual, at, dpc),
            Instr::Gt(_) => self.compare(IntCC::SignedGreaterThan, FloatCC::GreaterThan, at, dpc),
            Instr::Lt(_) => self.compare(IntCC::SignedLessThan, FloatCC::LessThan, at, dpc),
            Instr::Ge(_) => self.compare(
                IntCC::SignedGreaterThanOrEqual,
                FloatCC::GreaterThanOrEqual,
                at,
                dpc,
            ),
            Instr::Le(_) => self.compare(
                IntCC::SignedLessThanOrEqual,
                FloatCC::LessThanOrEqual,
                at,
                dpc,
            ),
            Instr::EqF(_) => self.compare_f(None, true, dpc),
            Instr::NeF(_) => self.compare_f(None, false, dpc),
            Instr::GtF(_) => self.compare_f(Some(FloatCC::GreaterThan), false, dpc),
            Instr::LtF(_) => self.compare_f(Some(FloatCC::LessThan), false, dpc),
            Instr::GeF(_) => self.compare_f(Some(FloatCC::GreaterThanOrEqual), false, dpc),
            Instr::LeF(_) => self.compare_f(Some(FloatCC::LessThanOrEqual), false, dpc),
            Instr::Not(_) => {
                let [a] = self.operands_n::<1>(dpc);
                let t = self.truthy(a);
                self.drop_item(a);
                let f = self.b.ins().bxor_imm(t, 1);
                let f = self.b.ins().uextend(I64, f);
                let it = self.item(BOOL, f);
                self.stack.push(it);
            }
            Instr::And(_) | Instr::Or(_) => {
                let [a, b] = self.operands_n::<2>(dpc);
                let ta = self.truthy(a);
                let tb = self.truthy(b);
                self.drop_item(a);
                self.drop_item(b);
                let r = if matches!(instr, Instr::And(_)) {
                    self.b.ins().band(ta, tb)
                } else {
                    self.b.ins().bor(ta, tb)
                };
                let r = self.b.ins().uextend(I64, r);
                let it = self.item(BOOL, r);
                self.stack.push(it);
            }
            // §3.4
            Instr::Load(v) => self.load(v.slot, dpc),
            Instr::Store(v) => self.store(v.slot, dpc),
            Instr::Delete(_) => self.generic(at, dpc, true),
            Instr::DumpScope(_) => self.generic(at, dpc, false),
            // §3.5
            Instr::Jmp(t) => {
                self.flush();
                self.jump_to(t.0);
                return Ok(0);
            }
            Instr::Jz(t) | Instr::Jnz(t) => {
                let [a] = self.operands_n::<1>(dpc);
                let truth = self.truthy(a);
                self.drop_item(a);
                self.flush();
                let (on_true, on_false) = if matches!(instr, Instr::Jz(_)) {
                    (at + 1, t.0)
                } else {
                    (t.0, at + 1)
                };
                let yes = self.branch_target(on_true);
                let no = self.branch_target(on_false);
                self.b.ins().brif(truth, yes, &[], no, &[]);
                return Ok(0);
            }
            Instr::Halt(_) => {
                self.generic_final(at, dpc);
                return Ok(0);
            }
            // §3.6
            Instr::Call(c) => {
                let tail = matches!(p.code.get(at as usize + 1), Some(Instr::Ret(_)));
                let distinct = {
                    let mut s = c.param_slots.to_vec();
                    s.sort_unstable();
                    s.windows(2).all(|w| w[0] != w[1])
                };
                match (self.input.callee)(c.target) {
                    Some(callee) if !tail && distinct => self.call_inline(at, dpc, c, callee),
                    _ => self.call(at, dpc),
                }
                return Ok(0);
            }
            Instr::CallFunction(_) => {
                self.call(at, dpc);
                return Ok(0);
            }
            Instr::Ret(_) => {
                self.ret_inline(at, dpc);
                return Ok(0);
            }
            Instr::MakeFunction(_) | Instr::Capture(_) | Instr::MakeLambda(_) => {
                self.generic(at, dpc, false)
            }
            // §3.7
            Instr::MakeList(_)
            | Instr::Len(_)
            | Instr::Index(_)
            | Instr::Append(_)
            | Instr::SetIndex(_)
            | Instr::MakeObject(_)
            | Instr::SetField(_)
            | Instr::GetField(_)
            | Instr::HasField(_)
            | Instr::DeleteField(_)
            | Instr::Keys(_)
            | Instr::ToStr(_)
            | Instr::ToInt(_)
            | Instr::ToFloat(_) => self.generic(at, dpc, false),
            // §3.8
            Instr::Try(_) | Instr::Catch(_) | Instr::EndTry(_) => self.generic(at, dpc, false),
            Instr::Throw(_) => {
                self.generic_final(at, dpc);
                return Ok(0);
            }
            // §3.9: IMPORT binds exports into this frame's variables.
            Instr::Import(_) => self.generic(at, dpc, true),
            Instr::Export(_) => self.generic(at, dpc, false),
            // §3.10
            Instr::Print(_)
            | Instr::ReadLine(_)
            | Instr::ReadFile(_)
            | Instr::WriteFile(_)
            | Instr::AppendFile(_)
            | Instr::FileExists(_)
            | Instr::DeleteFile(_)
            | Instr::GetEnv(_)
            | Instr::GetArgs(_)
            | Instr::GetTime(_)
            | Instr::NowMs(_)
            | Instr::Sleep(_) => self.generic(at, dpc, false),
            Instr::Exit(_) => {
                self.generic_final(at, dpc);
                return Ok(0);
            }
            // §4
            Instr::Spawn(_)
            | Instr::SpawnLink(_)
            | Instr::SelfPid(_)
            | Instr::Send(_)
            | Instr::SendNamed(_)
            | Instr::Receive(_)
            | Instr::ReceiveMatch(_)
            | Instr::ReceiveAfter(_)
            | Instr::ReceiveMatchAfter(_)
            | Instr::Yield(_)
            | Instr::Register(_)
            | Instr::Unregister(_)
            | Instr::Whereis(_)
            | Instr::Link(_)
            | Instr::Unlink(_)
            | Instr::Monitor(_)
            | Instr::Demonitor(_)
            | Instr::TrapExit(_)
            | Instr::ExitProcess(_) => self.generic(at, dpc, false),
        }
        Ok(1)
    }

    fn operands_n<const K: usize>(&mut self, dpc: u32) -> [Item; K] {
        let v = self.operands(K, dpc);
        v.try_into().expect("K operands")
    }

    fn push_bool_const(&mut self, x: bool) {
        let v = self.b.ins().iconst(I64, x as i64);
        let it = self.item(BOOL, v);
        self.stack.push(it);
    }

    fn branch_target(&mut self, target: u32) -> ir::Block {
        match self.blocks.get(&target) {
            Some(&b) => b,
            None => {
                let b = self.b.create_block();
                let cur = self.b.current_block().expect("in a block");
                self.b.switch_to_block(b);
                let dpc = self.input.entry[target as usize];
                self.exit_continue(dpc);
                self.b.switch_to_block(cur);
                b
            }
        }
    }

    /// Truthiness (SPEC §2) as an i8 0/1.
    fn truthy(&mut self, a: Item) -> ir::Value {
        match a.known {
            Some(INT) => self.b.ins().icmp_imm(IntCC::NotEqual, a.pay, 0),
            Some(BOOL) => {
                let low = self.b.ins().band_imm(a.pay, 0xff);
                self.b.ins().icmp_imm(IntCC::NotEqual, low, 0)
            }
            Some(NULL) => self.b.ins().iconst(I8, 0),
            Some(_) => self.b.ins().iconst(I8, 1),
            None => {
                let is_int = self.b.ins().icmp_imm(IntCC::Equal, a.tag, INT as i64);
                let is_bool = self.b.ins().icmp_imm(IntCC::Equal, a.tag, BOOL as i64);
                let is_null = self.b.ins().icmp_imm(IntCC::Equal, a.tag, NULL as i64);
                let zero = self.b.ins().icmp_imm(IntCC::Equal, a.pay, 0);
                let low = self.b.ins().band_imm(a.pay, 0xff);
                let low_zero = self.b.ins().icmp_imm(IntCC::Equal, low, 0);
                let f1 = self.b.ins().band(is_int, zero);
                let f2 = self.b.ins().band(is_bool, low_zero);
                let f = self.b.ins().bor(f1, f2);
                let f = self.b.ins().bor(f, is_null);
                self.b.ins().bxor_imm(f, 1)
            }
        }
    }

    fn load(&mut self, slot: u32, dpc: u32) {
        let s = slot as usize;
        let tag = self.b.use_var(self.v_tag[s]);
        let pay = self.b.use_var(self.v_pay[s]);
        let known = self.known[s];
        let it = Item {
            tag,
            pay,
            known,
            slot: Some(slot),
        };
        match known {
            Some(k) => {
                if is_heap(k) {
                    self.clone_item(it);
                }
            }
            None => {
                // One test for the rare cases: an unset variable (the
                // interpreter raises `undefined variable`) or a heap value
                // (one more reference). Tags 0..=3 are the unboxed kinds.
                let rare = self
                    .b
                    .ins()
                    .icmp_imm(IntCC::UnsignedGreaterThan, tag, FLOAT as i64);
                let cold = self.b.create_block();
                self.b.set_cold_block(cold);
                let cont = self.b.create_block();
                self.b.ins().brif(rare, cold, &[], cont, &[]);
                self.b.switch_to_block(cold);
                let none = self
                    .b
                    .ins()
                    .icmp_imm(IntCC::Equal, tag, self.input.none_tag as i64);
                self.exit_if(none, dpc);
                let t = self.b.ins().uextend(I64, tag);
                self.b.ins().call(self.im.clone, &[t, pay]);
                self.b.ins().jump(cont, &[]);
                self.b.switch_to_block(cont);
            }
        }
        self.stack.push(it);
    }

    fn store(&mut self, slot: u32, dpc: u32) {
        let s = slot as usize;
        let [v] = self.operands_n::<1>(dpc);
        let old = Item {
            tag: self.b.use_var(self.v_tag[s]),
            pay: self.b.use_var(self.v_pay[s]),
            known: self.known[s],
            slot: None,
        };
        let lp = self.env_load(I64, off::LOCALS);
        let o = (s as i64 * VALUE_BYTES) as i32;
        let tag = match v.known {
            Some(k) => self.b.ins().iconst(I8, k as i64),
            None => v.tag,
        };
        if v.known.is_none() || v.known != old.known {
            self.b.ins().store(self.mf, tag, lp, o);
        }
        self.b.def_var(self.v_tag[s], tag);
        self.b.ins().store(self.mf, v.pay, lp, o + 8);
        self.b.def_var(self.v_pay[s], v.pay);
        // The old value is no longer held by the slot.
        if old.known != Some(self.input.none_tag) {
            self.drop_item(old);
        }
        self.known[s] = v.known;
        for it in &mut self.stack {
            if it.slot == Some(slot) {
                it.slot = None;
            }
        }
    }

    /// A guard proved `it` has tag `k`: so does its slot, if unchanged.
    fn learn(&mut self, it: &mut Item, k: u8) {
        it.known = Some(k);
        if let Some(s) = it.slot {
            self.known[s as usize] = Some(k);
        }
    }

    fn tag_is(&mut self, it: Item, k: u8) -> ir::Value {
        match it.known {
            Some(x) => self.b.ins().iconst(I8, (x == k) as i64),
            None => self.b.ins().icmp_imm(IntCC::Equal, it.tag, k as i64),
        }
    }

    /// ADD SUB MUL DIV MOD: Int∘Int or Float∘Float inline; mixed or other
    /// types leave through a side exit (the interpreter converts or raises).
    fn arith(&mut self, op: Arith, dpc: u32) {
        let [mut a, mut b] = self.operands_n::<2>(dpc);
        let ints = a.known == Some(INT) || b.known == Some(INT);
        let floats = a.known == Some(FLOAT) || b.known == Some(FLOAT);
        if !numeric(a.known) || !numeric(b.known) || (ints && floats) {
            self.unpop(&[a, b]);
            self.exit_continue(dpc);
            self.dead_block();
            return;
        }
        if ints || (!floats && op == Arith::Mod) {
            // Speculate Int.
            let ta = self.tag_is(a, INT);
            let tb = self.tag_is(b, INT);
            let ok = self.b.ins().band(ta, tb);
            self.guard(ok, dpc, &[a, b]);
            self.learn(&mut a, INT);
            self.learn(&mut b, INT);
            let r = self.int_op(op, a.pay, b.pay, dpc, &[a, b]);
            self.push_int(r);
        } else if floats {
            let ta = self.tag_is(a, FLOAT);
            let tb = self.tag_is(b, FLOAT);
            let ok = self.b.ins().band(ta, tb);
            self.guard(ok, dpc, &[a, b]);
            self.learn(&mut a, FLOAT);
            self.learn(&mut b, FLOAT);
            let r = self.float_op(op, a.pay, b.pay, dpc, &[a, b]);
            let it = self.item(FLOAT, r);
            self.stack.push(it);
        } else {
            // Both unknown: Int∘Int or Float∘Float, merged.
            let int_blk = self.b.create_block();
            let not_int = self.b.create_block();
            let float_blk = self.b.create_block();
            let join = self.b.create_block();
            self.b.append_block_param(join, I8);
            self.b.append_block_param(join, I64);
            let ta = self.tag_is(a, INT);
            let tb = self.tag_is(b, INT);
            let both = self.b.ins().band(ta, tb);
            self.b.ins().brif(both, int_blk, &[], not_int, &[]);
            self.b.switch_to_block(not_int);
            let fa = self.tag_is(a, FLOAT);
            let fb = self.tag_is(b, FLOAT);
            let ok = self.b.ins().band(fa, fb);
            self.guard(ok, dpc, &[a, b]);
            self.b.ins().jump(float_blk, &[]);
            self.b.switch_to_block(float_blk);
            let r = self.float_op(op, a.pay, b.pay, dpc, &[a, b]);
            let t = self.b.ins().iconst(I8, FLOAT as i64);
            self.b
                .ins()
                .jump(join, &[BlockArg::Value(t), BlockArg::Value(r)]);
            self.b.switch_to_block(int_blk);
            let r = self.int_op(op, a.pay, b.pay, dpc, &[a, b]);
            let t = self.b.ins().iconst(I8, INT as i64);
            self.b
                .ins()
                .jump(join, &[BlockArg::Value(t), BlockArg::Value(r)]);
            self.b.switch_to_block(join);
            let tag = self.b.block_params(join)[0];
            let pay = self.b.block_params(join)[1];
            self.stack.push(Item {
                tag,
                pay,
                known: None,
                slot: None,
            });
        }
    }

    /// After an unconditional exit the rest of the instruction's code is
    /// unreachable; give it a block of its own.
    fn dead_block(&mut self) {
        let dead = self.b.create_block();
        self.b.switch_to_block(dead);
        // Whatever the rest of the block pushes is never used.
        let z = self.b.ins().iconst(I64, 0);
        let it = self.item(NULL, z);
        self.stack.push(it);
    }

    fn int_op(
        &mut self,
        op: Arith,
        a: ir::Value,
        b: ir::Value,
        dpc: u32,
        operands: &[Item],
    ) -> ir::Value {
        match op {
            Arith::Add => self.b.ins().iadd(a, b),
            Arith::Sub => self.b.ins().isub(a, b),
            Arith::Mul => self.b.ins().imul(a, b),
            Arith::Div | Arith::Mod => {
                let zero = self.b.ins().icmp_imm(IntCC::NotEqual, b, 0);
                self.guard(zero, dpc, operands);
                // i64::MIN / -1 wraps (and x % -1 is 0): divide by 1 instead.
                let minus1 = self.b.ins().icmp_imm(IntCC::Equal, b, -1);
                let one = self.b.ins().iconst(I64, 1);
                let d = self.b.ins().select(minus1, one, b);
                if op == Arith::Div {
                    let q = self.b.ins().sdiv(a, d);
                    let n = self.b.ins().ineg(a);
                    self.b.ins().select(minus1, n, q)
                } else {
                    let r = self.b.ins().srem(a, d);
                    let z = self.b.ins().iconst(I64, 0);
                    self.b.ins().select(minus1, z, r)
                }
            }
        }
    }

    fn float_op(
        &mut self,
        op: Arith,
        a: ir::Value,
        b: ir::Value,
        dpc: u32,
        operands: &[Item],
    ) -> ir::Value {
        let x = self.b.ins().bitcast(F64, MemFlags::new(), a);
        let y = self.b.ins().bitcast(F64, MemFlags::new(), b);
        let r = self.float_arith(op, x, y, dpc, operands);
        self.b.ins().bitcast(I64, MemFlags::new(), r)
    }

    fn float_arith(
        &mut self,
        op: Arith,
        x: ir::Value,
        y: ir::Value,
        dpc: u32,
        operands: &[Item],
    ) -> ir::Value {
        match op {
            Arith::Add => self.b.ins().fadd(x, y),
            Arith::Sub => self.b.ins().fsub(x, y),
            Arith::Mul => self.b.ins().fmul(x, y),
            Arith::Div => {
                let zero = self.b.ins().f64const(0.0);
                let nz = self.b.ins().fcmp(FloatCC::NotEqual, y, zero);
                self.guard(nz, dpc, operands);
                self.b.ins().fdiv(x, y)
            }
            Arith::Mod => {
                // fmod is not inline: the interpreter does it.
                let f = self.b.ins().iconst(I8, 0);
                self.guard(f, dpc, operands);
                x
            }
        }
    }

    /// An Int or Float operand as an f64, with a side exit for others.
    fn as_f64(&mut self, it: &mut Item, dpc: u32, operands: &[Item]) -> ir::Value {
        match it.known {
            Some(INT) => self.b.ins().fcvt_from_sint(F64, it.pay),
            Some(FLOAT) => self.b.ins().bitcast(F64, MemFlags::new(), it.pay),
            _ => {
                let is_int = self.tag_is(*it, INT);
                let is_float = self.tag_is(*it, FLOAT);
                let ok = self.b.ins().bor(is_int, is_float);
                self.guard(ok, dpc, operands);
                let i = self.b.ins().fcvt_from_sint(F64, it.pay);
                let f = self.b.ins().bitcast(F64, MemFlags::new(), it.pay);
                self.b.ins().select(is_int, i, f)
            }
        }
    }

    /// ADD_F SUB_F MUL_F DIV_F: numbers as Floats.
    fn arith_f(&mut self, op: Arith, dpc: u32) {
        let [mut a, mut b] = self.operands_n::<2>(dpc);
        if !numeric(a.known) || !numeric(b.known) {
            self.unpop(&[a, b]);
            self.exit_continue(dpc);
            self.dead_block();
            return;
        }
        let ops = [a, b];
        let x = self.as_f64(&mut a, dpc, &ops);
        let y = self.as_f64(&mut b, dpc, &ops);
        let r = self.float_arith(op, x, y, dpc, &ops);
        let r = self.b.ins().bitcast(I64, MemFlags::new(), r);
        let it = self.item(FLOAT, r);
        self.stack.push(it);
    }

    fn neg(&mut self, dpc: u32) {
        let [mut a] = self.operands_n::<1>(dpc);
        match a.known {
            Some(INT) => {
                let r = self.b.ins().ineg(a.pay);
                self.push_int(r);
            }
            Some(FLOAT) => {
                let r = self.b.ins().bxor_imm(a.pay, i64::MIN);
                let it = self.item(FLOAT, r);
                self.stack.push(it);
            }
            None => {
                let is_int = self.tag_is(a, INT);
                let is_float = self.tag_is(a, FLOAT);
                let ok = self.b.ins().bor(is_int, is_float);
                self.guard(ok, dpc, &[a]);
                let i = self.b.ins().ineg(a.pay);
                let f = self.b.ins().bxor_imm(a.pay, i64::MIN);
                let pay = self.b.ins().select(is_int, i, f);
                a.pay = pay;
                a.slot = None;
                self.stack.push(a);
            }
            Some(_) => {
                self.unpop(&[a]);
                self.exit_continue(dpc);
                self.dead_block();
            }
        }
    }

    /// EQ NE GT LT GE LE: Int∘Int and Float∘Float inline; anything else
    /// through the helper (the result is always an Int).
    fn compare(&mut self, icc: IntCC, fcc: FloatCC, at: u32, dpc: u32) {
        let [a, b] = self.operands_n::<2>(dpc);
        self.flush_below(0);
        if a.known == Some(INT) && b.known == Some(INT) {
            let c = self.b.ins().icmp(icc, a.pay, b.pay);
            let r = self.b.ins().uextend(I64, c);
            self.push_int(r);
            return;
        }
        if !numeric(a.known) || !numeric(b.known) {
            self.unpop(&[a, b]);
            self.generic(at, dpc, false);
            let (_, pay) = self.pop_mem_result();
            self.push_int(pay);
            return;
        }
        let int_blk = self.b.create_block();
        let not_int = self.b.create_block();
        let float_blk = self.b.create_block();
        let slow = self.b.create_block();
        self.b.set_cold_block(slow);
        let join = self.b.create_block();
        self.b.append_block_param(join, I64);
        // With one side known, only its kind has a fast path.
        let int_possible = !(a.known == Some(FLOAT) || b.known == Some(FLOAT));
        let float_possible = !(a.known == Some(INT) || b.known == Some(INT));
        if int_possible {
            let ta = self.tag_is(a, INT);
            let tb = self.tag_is(b, INT);
            let both = self.b.ins().band(ta, tb);
            self.b.ins().brif(both, int_blk, &[], not_int, &[]);
        } else {
            self.b.ins().jump(not_int, &[]);
        }
        self.b.switch_to_block(not_int);
        if float_possible {
            let fa = self.tag_is(a, FLOAT);
            let fb = self.tag_is(b, FLOAT);
            let both = self.b.ins().band(fa, fb);
            self.b.ins().brif(both, float_blk, &[], slow, &[]);
        } else {
            self.b.ins().jump(slow, &[]);
        }
        // Int∘Int
        self.b.switch_to_block(int_blk);
        let c = self.b.ins().icmp(icc, a.pay, b.pay);
        let r = self.b.ins().uextend(I64, c);
        self.b.ins().jump(join, &[BlockArg::Value(r)]);
        // Float∘Float
        self.b.switch_to_block(float_blk);
        let x = self.b.ins().bitcast(F64, MemFlags::new(), a.pay);
        let y = self.b.ins().bitcast(F64, MemFlags::new(), b.pay);
        let c = self.b.ins().fcmp(fcc, x, y);
        let r = self.b.ins().uextend(I64, c);
        self.b.ins().jump(join, &[BlockArg::Value(r)]);
        // Anything else: the helper.
        self.b.switch_to_block(slow);
        self.unpop(&[a, b]);
        self.generic(at, dpc, false);
        let (_, pay) = self.pop_mem_result();
        self.b.ins().jump(join, &[BlockArg::Value(pay)]);
        self.b.switch_to_block(join);
        let r = self.b.block_params(join)[0];
        self.push_int(r);
    }

    /// EQ_F NE_F (within f64::EPSILON) and GT_F LT_F GE_F LE_F.
    fn compare_f(&mut self, fcc: Option<FloatCC>, eq: bool, dpc: u32) {
        let [mut a, mut b] = self.operands_n::<2>(dpc);
        if !numeric(a.known) || !numeric(b.known) {
            self.unpop(&[a, b]);
            self.exit_continue(dpc);
            self.dead_block();
            return;
        }
        let ops = [a, b];
        let x = self.as_f64(&mut a, dpc, &ops);
        let y = self.as_f64(&mut b, dpc, &ops);
        let c = match fcc {
            Some(cc) => self.b.ins().fcmp(cc, x, y),
            None => {
                let d = self.b.ins().fsub(x, y);
                let d = self.b.ins().fabs(d);
                let eps = self.b.ins().f64const(f64::EPSILON);
                let cc = if eq {
                    FloatCC::LessThan
                } else {
                    FloatCC::UnorderedOrGreaterThanOrEqual
                };
                self.b.ins().fcmp(cc, d, eps)
            }
        };
        let r = self.b.ins().uextend(I64, c);
        self.push_int(r);
    }

    /// CALL / CALL_FUNCTION: the helper makes the frame; the callee's
    /// compiled code is called natively when it has some, and when it
    /// returns to this frame at the instruction after the call, compiled
    /// code goes on there.
    fn call(&mut self, at: u32, dpc: u32) {
        self.flush();
        let frames = self.env_load(I32, off::FRAMES);
        let a = self.b.ins().iconst(I32, at as i64);
        let d = self.b.ins().iconst(I32, dpc as i64);
        let env = self.env;
        let st = self.call_helper(self.im.call, &[env, a, d]);
        self.check_status(st);
        let f = self.env_load(I64, off::TARGET_FN);
        let native = self.b.create_block();
        let via_engine = self.b.create_block();
        self.b.ins().brif(f, native, &[], via_engine, &[]);
        self.b.switch_to_block(via_engine);
        self.ret_const(status::CONTINUE);
        self.b.switch_to_block(native);
        let blk = self.env_load(I32, off::TARGET_BLOCK);
        let call = self.b.ins().call_indirect(self.im.sig, f, &[env, blk]);
        let r = self.b.inst_results(call)[0];
        let depth = self.env_load(I32, off::NATIVE_DEPTH);
        let depth = self.b.ins().iadd_imm(depth, -1);
        self.env_store(depth, off::NATIVE_DEPTH);
        self.after_native_call(at, r, frames);
    }
}

impl Lower<'_, '_, '_> {
    /// After a native call: go on at the block after the call when the
    /// callee returned to this frame there; otherwise pass the status up.
    fn after_native_call(&mut self, at: u32, r: ir::Value, frames: ir::Value) {
        self.reload_state();
        let pc = self.env_load(I32, off::PC);
        let now = self.env_load(I32, off::FRAMES);
        let after = self.input.entry[at as usize + 1];
        let c1 = self
            .b
            .ins()
            .icmp_imm(IntCC::Equal, r, status::CONTINUE as i64);
        let c2 = self.b.ins().icmp_imm(IntCC::Equal, pc, after as i64);
        let c3 = self.b.ins().icmp(IntCC::Equal, now, frames);
        let c = self.b.ins().band(c1, c2);
        let c = self.b.ins().band(c, c3);
        match self.blocks.get(&(at + 1)).copied() {
            Some(next) => {
                let r_blk = self.ret_block.expect("made first");
                self.b
                    .ins()
                    .brif(c, next, &[], r_blk, &[BlockArg::Value(r)]);
            }
            None => self.ret(r),
        }
    }

    /// CALL with the frame made inline (the interpreter's `calls::call`
    /// for a non-tail call): the slot and frame vectors have room, the
    /// depth limit is not reached. Otherwise the helper does it.
    fn call_inline(&mut self, at: u32, dpc: u32, c: &crate::bytecode::Callee, callee: Callee) {
        let p = self.input.program;
        let n = c.param_slots.len();
        let size = p.layouts[p.layout_of[c.target as usize] as usize]
            .names
            .len() as i64;
        self.flush_below(n);
        let args = self.operands(n, dpc);
        let frames = self.env_load(I32, off::FRAMES);
        let fcap = self.env_load(I64, off::FCAP);
        let llen = self.env_load(I64, off::LLEN);
        let lcap = self.env_load(I64, off::LCAP);
        let depth_ok = self.b.ins().icmp_imm(
            IntCC::UnsignedLessThan,
            frames,
            self.input.max_call_depth.min(u32::MAX as usize) as i64,
        );
        let frames64 = self.b.ins().uextend(I64, frames);
        let room_f = self.b.ins().icmp(IntCC::UnsignedLessThan, frames64, fcap);
        let need = self.b.ins().iadd_imm(llen, size);
        let room_l = self
            .b
            .ins()
            .icmp(IntCC::UnsignedLessThanOrEqual, need, lcap);
        let ok = self.b.ins().band(depth_ok, room_f);
        let ok = self.b.ins().band(ok, room_l);
        let fast = self.b.create_block();
        let slow = self.b.create_block();
        self.b.set_cold_block(slow);
        self.b.ins().brif(ok, fast, &[], slow, &[]);

        self.b.switch_to_block(slow);
        let saved = self.stack.clone();
        self.unpop(&args);
        self.call(at, dpc);
        self.stack = saved;

        self.b.switch_to_block(fast);
        // The frame.
        let fptr = self.env_load(I64, off::FPTR);
        let fo = self.b.ins().imul_imm(frames64, fl::SIZE);
        let fp = self.b.ins().iadd(fptr, fo);
        let len = self.b.use_var(self.v_len);
        let stack_base = self.b.ins().iadd_imm(len, n as i64);
        let stack_base = self.b.ins().ireduce(I32, stack_base);
        let base = self.b.ins().ireduce(I32, llen);
        let after = self.input.entry[at as usize + 1];
        let fields: [(i32, ir::Value); 7] = [
            (fl::RET, self.b.ins().iconst(I32, after as i64)),
            (fl::CALL_SITE, self.b.ins().iconst(I32, at as i64)),
            (fl::ENTRY, self.b.ins().iconst(I32, c.target as i64)),
            (fl::BASE, base),
            (fl::FRAME_SIZE, self.b.ins().iconst(I32, size)),
            (fl::STACK_BASE, stack_base),
            (fl::KIND, self.b.ins().iconst(I32, fl::KIND_CALL as i64)),
        ];
        for (o, v) in fields {
            self.b.ins().store(self.mf, v, fp, o);
        }
        let frames1 = self.b.ins().iadd_imm(frames, 1);
        self.env_store(frames1, off::FRAMES);
        // The slots: parameters bound, the rest empty.
        let lbase = self.env_load(I64, off::LBASE);
        let lo = self.b.ins().ishl_imm(llen, 4);
        let new_lp = self.b.ins().iadd(lbase, lo);
        let none = self.b.ins().iconst(I8, self.input.none_tag as i64);
        for slot in 0..size as u32 {
            if !c.param_slots.contains(&slot) {
                let o = (slot as i64 * VALUE_BYTES) as i32;
                self.b.ins().store(self.mf, none, new_lp, o);
            }
        }
        for (it, &slot) in args.iter().zip(c.param_slots.iter()) {
            let o = (slot as i64 * VALUE_BYTES) as i32;
            let tag = match it.known {
                Some(k) => self.b.ins().iconst(I8, k as i64),
                None => it.tag,
            };
            self.b.ins().store(self.mf, tag, new_lp, o);
            self.b.ins().store(self.mf, it.pay, new_lp, o + 8);
        }
        self.env_store(need, off::LLEN);
        self.env_store(new_lp, off::LOCALS);
        self.save_state();
        // Call its compiled code, or let the engine go on at its entry.
        let nd = self.env_load(I32, off::NATIVE_DEPTH);
        let cell = self.b.ins().iconst(I64, callee.code_cell as i64);
        let f = self.b.ins().load(I64, self.mf, cell, 0);
        let shallow = self
            .b
            .ins()
            .icmp_imm(IntCC::UnsignedLessThan, nd, MAX_NATIVE_DEPTH as i64);
        let have = self.b.ins().icmp_imm(IntCC::NotEqual, f, 0);
        let go = self.b.ins().band(shallow, have);
        let native = self.b.create_block();
        let engine = self.b.create_block();
        self.b.ins().brif(go, native, &[], engine, &[]);
        self.b.switch_to_block(engine);
        self.set_pc(self.input.entry[c.target as usize]);
        self.ret_const(status::CONTINUE);
        self.b.switch_to_block(native);
        let nd1 = self.b.ins().iadd_imm(nd, 1);
        self.env_store(nd1, off::NATIVE_DEPTH);
        let blk = self.b.ins().iconst(I32, callee.block as i64);
        let env = self.env;
        let call = self.b.ins().call_indirect(self.im.sig, f, &[env, blk]);
        let r = self.b.inst_results(call)[0];
        self.env_store(nd, off::NATIVE_DEPTH);
        self.after_native_call(at, r, frames);
    }

    /// RET from a call frame that holds no handler or capture, inline:
    /// drop the frame's variables and the frame, continue at its return
    /// address. Other RETs go through the helper.
    fn ret_inline(&mut self, at: u32, dpc: u32) {
        self.flush();
        let frames = self.env_load(I32, off::FRAMES);
        let fptr = self.env_load(I64, off::FPTR);
        let frames64 = self.b.ins().uextend(I64, frames);
        let top = self.b.ins().iadd_imm(frames64, -1);
        let fo = self.b.ins().imul_imm(top, fl::SIZE);
        let fp = self.b.ins().iadd(fptr, fo);
        let kind = self.b.ins().load(I32, self.mf, fp, fl::KIND);
        let hd = self.env_load(I32, off::HDEPTH);
        let is_call = self
            .b
            .ins()
            .icmp_imm(IntCC::Equal, kind, fl::KIND_CALL as i64);
        let no_h = self.b.ins().icmp(IntCC::UnsignedLessThan, hd, frames);
        let ok = self.b.ins().band(is_call, no_h);
        let fast = self.b.create_block();
        let slow = self.b.create_block();
        self.b.set_cold_block(slow);
        self.b.ins().brif(ok, fast, &[], slow, &[]);
        self.b.switch_to_block(slow);
        self.generic_final(at, dpc);
        self.b.switch_to_block(fast);
        let ret = self.b.ins().load(I32, self.mf, fp, fl::RET);
        let base = self.b.ins().load(I32, self.mf, fp, fl::BASE);
        for s in 0..self.v_tag.len() {
            let it = Item {
                tag: self.b.use_var(self.v_tag[s]),
                pay: self.b.use_var(self.v_pay[s]),
                known: self.known[s],
                slot: None,
            };
            self.drop_item(it);
        }
        let base64 = self.b.ins().uextend(I64, base);
        self.env_store(base64, off::LLEN);
        let frames1 = self.b.ins().iadd_imm(frames, -1);
        self.env_store(frames1, off::FRAMES);
        let caller = self.b.ins().iadd_imm(fp, -fl::SIZE);
        let cbase = self.b.ins().load(I32, self.mf, caller, fl::BASE);
        let cbase = self.b.ins().uextend(I64, cbase);
        let lbase = self.env_load(I64, off::LBASE);
        let lo = self.b.ins().ishl_imm(cbase, 4);
        let clp = self.b.ins().iadd(lbase, lo);
        self.env_store(clp, off::LOCALS);
        self.env_store(ret, off::PC);
        self.save_state();
        self.ret_const(status::CONTINUE);
    }
}

/// Process operations: what they cost is the runtime's.
pub(super) fn process_op(i: &Instr) -> bool {
    matches!(
        i,
        Instr::Spawn(_)
            | Instr::SpawnLink(_)
            | Instr::Send(_)
            | Instr::SendNamed(_)
            | Instr::Receive(_)
            | Instr::ReceiveMatch(_)
            | Instr::ReceiveAfter(_)
            | Instr::ReceiveMatchAfter(_)
            | Instr::Sleep(_)
            | Instr::Yield(_)
            | Instr::Link(_)
            | Instr::Monitor(_)
            | Instr::ExitProcess(_)
    )
}

/// Instructions a process can wait in (it resumes at the instruction).
pub(super) fn waits(i: &Instr) -> bool {
    matches!(
        i,
        Instr::Receive(_)
            | Instr::ReceiveMatch(_)
            | Instr::ReceiveAfter(_)
            | Instr::ReceiveMatchAfter(_)
            | Instr::Sleep(_)
    )
}

/// `LOAD x; <push constant | LOAD y>; APPEND|CONCAT; STORE x` inside one
/// block (the interpreter's `UpdateLocalInPlace`): the slot of `x`.
pub(super) fn in_place_update(p: &Program, at: u32) -> Option<u32> {
    let i = at as usize;
    if i + 4 > p.code.len() || (i + 1..i + 4).any(|j| p.block_start[j]) {
        return None;
    }
    let [Instr::Load(x), mid, upd, Instr::Store(y)] = &p.code[i..i + 4] else {
        return None;
    };
    let src_ok = match mid {
        Instr::Load(z) => z.slot != x.slot,
        Instr::PushInt(_)
        | Instr::PushFloat(_)
        | Instr::PushStr(_)
        | Instr::PushBool(_)
        | Instr::True(_)
        | Instr::False(_)
        | Instr::Null(_) => true,
        _ => false,
    };
    let upd_ok = matches!(upd, Instr::Append(_) | Instr::Concat(_));
    (src_ok && upd_ok && x.slot == y.slot).then_some(x.slot)
}

/// The arithmetic operators, as the JIT lowers them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Arith {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}
