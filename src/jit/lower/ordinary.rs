//! Ordinary compiled code (`env::Ordinary`): a unit's function, entered
//! by the engine at any of its blocks, with the frame in the process's
//! memory. Slots are written through on every STORE, the virtual operand
//! stack is flushed at block ends and before helper calls, the budget and
//! the stack's length are saved to `JitEnv` around helpers and exits, a
//! guard that fails leaves to the engine at its instruction (X1), and
//! calls make their frames in memory (`calls`).

use super::env::{FrameEnv, Helper, Ordinary};
use super::{
    callee_slots, facts, Item, Lower, Unsupported, BOOL, FLOAT, INT, MAX_INLINE_CALL_SLOTS,
    MAX_INLINE_RET_SLOTS, NULL, VALUE_BYTES,
};
use crate::bytecode::{Callee as CallInstr, Instr};
use crate::exec::native::status;
use crate::jit::code::DeclareAs;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{I32, I64, I8};
use cranelift_codegen::ir::{self, InstBuilder};

impl FrameEnv for Ordinary {
    const MOVES: bool = true;
    const GUARDED_FIELD_STORE: bool = true;
    /// `LOAD x; <operand>; APPEND|CONCAT; STORE x` is lowered one by one:
    /// the LOAD moves (or the `value` helper empties `x`, `value_op`), so
    /// the update is in place without the generic update helper.
    const FUSES_UPDATES: bool = false;
    const FLUSH_FOR_INTERPRET: bool = true;

    fn save_state(l: &mut Lower<'_, '_, '_, Self>) {
        let len = l.b.use_var(l.v_len);
        let budget = l.b.use_var(l.v_budget);
        l.env_store(len, crate::exec::native::off::LEN);
        l.env_store(budget, crate::exec::native::off::BUDGET);
    }

    fn reload_state(l: &mut Lower<'_, '_, '_, Self>) {
        l.reload_state_mem();
    }

    fn flush_below(l: &mut Lower<'_, '_, '_, Self>, keep: usize) {
        let n = l.stack.len().saturating_sub(keep);
        let below: Vec<Item> = l.stack.drain(..n).collect();
        for it in below {
            l.push_mem(it);
        }
    }

    fn operands_below(
        l: &mut Lower<'_, '_, '_, Self>,
        need: usize,
        checked: bool,
        dpc: u32,
    ) -> Vec<Item> {
        let mut from_mem = Vec::with_capacity(need);
        if checked {
            let len = l.b.use_var(l.v_len);
            let short =
                l.b.ins()
                    .icmp_imm(IntCC::UnsignedLessThan, len, need as i64);
            l.exit_if(short, dpc);
        }
        let len = l.b.use_var(l.v_len);
        let new_len = l.b.ins().iadd_imm(len, -(need as i64));
        let base = l.addr_of_top(new_len);
        for i in 0..need {
            let o = (i as i64 * VALUE_BYTES) as i32;
            let tag = l.b.ins().load(I8, l.mf, base, o);
            let pay = l.b.ins().load(I64, l.mf, base, o + 8);
            from_mem.push(Item {
                tag,
                pay,
                known: None,
                slot: None,
            });
        }
        l.b.def_var(l.v_len, new_len);
        from_mem
    }

    fn write_slot(l: &mut Lower<'_, '_, '_, Self>, s: usize, v: Item, old_known: Option<u8>) {
        // Write-through: memory is always current.
        let lp = l.b.use_var(l.v_lp);
        let o = (s as i64 * VALUE_BYTES) as i32;
        let tag = l.tag_of(v);
        if v.known.is_none() || v.known != old_known {
            l.b.ins().store(l.mf, tag, lp, o);
        }
        l.b.ins().store(l.mf, v.pay, lp, o + 8);
        l.def_slot_vars(s, tag, v.pay);
    }

    fn load_checks(l: &mut Lower<'_, '_, '_, Self>, _slot: u32, it: Item, dpc: u32) -> bool {
        l.load_counted(it, dpc);
        true
    }

    fn refcount(l: &mut Lower<'_, '_, '_, Self>, f: ir::FuncRef, it: Item) {
        l.refcount_counted(f, it);
    }

    /// X1 in src/jit/README.md.
    fn exit(l: &mut Lower<'_, '_, '_, Self>, dpc: u32) {
        // At a part's continuation (`regions`) the engine would enter this
        // code again: the interpreter runs the instruction.
        let cont = l.input.plan.cont.map(|c| l.input.dpc(c));
        if cont == Some(dpc) {
            l.flush();
            l.save_state();
            l.set_pc(dpc);
            l.ret_const(status::INTERPRET);
        } else {
            // One jump to the function's exit for as many operands; while
            // a handler is in force the instruction runs in the `fault`
            // helper from there (`exceptions`).
            l.shared_exit(dpc);
        }
    }

    fn edge(l: &mut Lower<'_, '_, '_, Self>, target: u32) {
        l.facts_edge(target);
    }

    fn cut(l: &Lower<'_, '_, '_, Self>) -> Option<u32> {
        l.input.plan.cut
    }

    fn call(l: &mut Lower<'_, '_, '_, Self>, at: u32, dpc: u32, c: &CallInstr) {
        let p = l.input.program;
        let tail = p.tail_call(at);
        let distinct = crate::jit::direct::distinct(&c.param_slots);
        // Making the frame inline clears each of its variables.
        let small = callee_slots(p, c.target) <= MAX_INLINE_CALL_SLOTS;
        match (l.input.callee)(c.target) {
            Some(callee) if !tail && distinct && small => l.call_inline(at, dpc, c, callee),
            _ => l.call(at, dpc),
        }
    }

    fn call_function(l: &mut Lower<'_, '_, '_, Self>, at: u32, dpc: u32) {
        l.call_value(at, dpc);
    }

    fn ret(l: &mut Lower<'_, '_, '_, Self>, at: u32, dpc: u32) {
        if l.v_tag.len() > MAX_INLINE_RET_SLOTS {
            // Dropping every variable inline would cost as much code as
            // the frame has variables, at every RET (but a process's
            // bottom frame ends the process without the helper, `procs`).
            l.flush();
            let kind = l.top_frame_kind();
            l.end_process_else_generic(at, dpc, kind, true);
        } else {
            l.ret_inline(at, dpc);
        }
    }

    fn helper(l: &mut Lower<'_, '_, '_, Self>, at: u32, dpc: u32, instr: &Instr, how: Helper) {
        let value = match how {
            // A MAKE_LIST of many values: the generic helper takes them
            // from memory.
            Helper::Generic | Helper::Releases | Helper::Library => super::data::value_shape(instr)
                .filter(|_| crate::jit::direct::value_helper(instr))
                .filter(|_| !matches!(instr, Instr::MakeList(c) if c.0 as usize > super::data::MAX_INLINE_LIST)),
            _ => None,
        };
        if let Some(shape) = value {
            // Lists, objects and strings made and changed without the
            // generic helper (`Lower::value_op`).
            // MAKE_LIST and MAKE_OBJECT take no value a variable holds.
            let store = crate::exec::semantics::store_after(l.input.program, at)
                .filter(|_| !matches!(instr, Instr::MakeList(_) | Instr::MakeObject(_)));
            let cell = store.map(|x| {
                let lp = l.b.use_var(l.v_lp);
                l.b.ins().iadd_imm(lp, x as i64 * VALUE_BYTES)
            });
            l.value_op(at, instr, dpc, shape, cell);
            if let Some(x) = store {
                l.reload_slot(x);
            }
            return;
        }
        if let (Helper::Generic, Instr::PushStr(t)) = (how, instr) {
            // A string constant: one more reference, inline, as in direct
            // entries (through the generic helper's context round trip it
            // cost ~400 instructions per PUSH_STR).
            return l.push_str_const(t);
        }
        if let (Helper::Ends, Instr::Throw(_)) = (how, instr) {
            // THROW through a helper of its own (`exceptions`).
            return l.throw(dpc);
        }
        if let (Helper::Ends, Instr::Halt(_)) = (how, instr) {
            // HALT ends the process without a helper (`procs`).
            return l.halt(at, dpc);
        }
        match how {
            Helper::Generic if l.process_op(at, dpc, instr) => {}
            Helper::Generic if l.exception_op(at, instr) => {}
            Helper::Generic => l.generic(at, dpc, false),
            Helper::Writes => l.generic(at, dpc, true),
            Helper::Ends => l.generic_final(at, dpc),
            Helper::Releases => {
                l.generic(at, dpc, false);
                l.reload_released(at);
            }
            // The string, list and number operations outside the process
            // (`strings`); the others (host, formats) in it.
            Helper::Library if crate::jit::direct::library_helper(instr) => {
                l.library_ordinary(at, dpc, instr)
            }
            Helper::Library => l.library(at, dpc, instr),
            Helper::Update(slot) => {
                let st = l.call_at(l.im.update, at, dpc);
                l.check_status(st);
                l.reload_slot(slot);
            }
        }
    }

    fn interpret(
        l: &mut Lower<'_, '_, '_, Self>,
        at: u32,
        dpc: u32,
        operands: &[Item],
    ) -> Option<ir::Value> {
        l.unpop(operands);
        l.generic(at, dpc, false);
        let (_, pay) = l.pop_mem_result();
        Some(pay)
    }
}

impl<E: FrameEnv> Lower<'_, '_, '_, E> {
    /// LOAD's checks where values are counted: an unset variable leaves
    /// at `dpc` (the interpreter raises), a heap value gains a reference.
    pub(super) fn load_counted(&mut self, it: Item, dpc: u32) {
        match it.known {
            Some(k) => {
                if super::is_heap(k) {
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
                    .icmp_imm(IntCC::UnsignedGreaterThan, it.tag, FLOAT as i64);
                let cold = self.b.create_block();
                self.b.set_cold_block(cold);
                let cont = self.b.create_block();
                self.b.ins().brif(rare, cold, &[], cont, &[]);
                self.b.switch_to_block(cold);
                let none = self
                    .b
                    .ins()
                    .icmp_imm(IntCC::Equal, it.tag, self.input.none_tag as i64);
                self.exit_if(none, dpc);
                self.count_ref(self.im.clone, it);
                self.b.ins().jump(cont, &[]);
                self.b.switch_to_block(cont);
            }
        }
    }

    /// `f` (clone or drop) of `it` when it is a heap value, where values
    /// are counted.
    pub(super) fn refcount_counted(&mut self, f: ir::FuncRef, it: Item) {
        let mode = drop_mode();
        let drop = f == self.im.drop;
        match it.known {
            Some(k) if !super::is_heap(k) => {}
            Some(_) if drop && mode == DropMode::AddAll => {
                let done = self.b.create_block();
                self.drop_heap(it, done);
                self.b.switch_to_block(done);
            }
            Some(_) => self.count_ref(f, it),
            None => {
                let heap = self.heap_test(it.tag);
                let call = self.b.create_block();
                self.b.set_cold_block(call);
                let cont = self.b.create_block();
                self.b.ins().brif(heap, call, &[], cont, &[]);
                self.b.switch_to_block(call);
                match mode {
                    DropMode::Add | DropMode::AddAll if drop => self.drop_heap(it, cont),
                    DropMode::Call if drop => {
                        let t = self.b.ins().uextend(I64, it.tag);
                        self.b.ins().call(f, &[t, it.pay]);
                        self.b.ins().jump(cont, &[]);
                    }
                    _ => {
                        self.count_ref(f, it);
                        self.b.ins().jump(cont, &[]);
                    }
                }
                self.b.switch_to_block(cont);
            }
        }
    }

    /// Drop a reference to the heap value `it`, then go on at `cont` (the
    /// current block ends): one locked add of -1 to its count; when the
    /// count was 1 (nothing else holds the value, so nothing else can
    /// read or change the count) it is put back to 1 and the `drop`
    /// helper frees the value as the runtime does. Two blocks per site
    /// where the compare-and-swap of [`Lower::count_ref`] takes four
    /// (docs/JIT.md, "Drops of values of unknown kinds").
    pub(super) fn drop_heap(&mut self, it: Item, cont: ir::Block) {
        let f = self.im.drop;
        let Some(off) = ttvm_runtime::value::strong_count_offset() else {
            let t = self.b.ins().uextend(I64, it.tag);
            self.b.ins().call(f, &[t, it.pay]);
            self.b.ins().jump(cont, &[]);
            return;
        };
        let at = self.count_at(it.pay, off);
        let flags = ir::MemFlags::trusted();
        let minus = self.b.ins().iconst(I64, -1);
        let old = self
            .b
            .ins()
            .atomic_rmw(I64, flags, ir::AtomicRmwOp::Add, at, minus);
        let last = self.b.ins().icmp_imm(IntCC::Equal, old, 1);
        let slow = self.b.create_block();
        self.b.set_cold_block(slow);
        self.b.ins().brif(last, slow, &[], cont, &[]);
        self.b.switch_to_block(slow);
        let one = self.b.ins().iconst(I64, 1);
        self.b.ins().store(flags, one, at, 0);
        let t = self.b.ins().uextend(I64, it.tag);
        self.b.ins().call(f, &[t, it.pay]);
        self.b.ins().jump(cont, &[]);
    }

    /// The address of the strong count of the heap part at `pay`, `off`
    /// bytes into it (`ttvm_runtime::value::strong_count_offset`).
    fn count_at(&mut self, pay: ir::Value, off: i32) -> ir::Value {
        if off == 0 {
            pay
        } else {
            self.b.ins().iadd_imm(pay, off as i64)
        }
    }

    /// One reference more (`f` is the `clone` helper) or fewer (`drop`)
    /// to the heap value `it`. Inline where the runtime found the strong
    /// count (`ttvm_runtime::value::strong_count_offset`): a clone is one
    /// atomic add, as `Arc::clone`; a drop that leaves other references is
    /// one compare-and-swap of a count above 1 (so it never reaches 0
    /// inline); the last reference, or a count that changed under the
    /// swap, goes to the helper, which drops the value as the runtime does.
    pub(super) fn count_ref(&mut self, f: ir::FuncRef, it: Item) {
        let Some(off) = ttvm_runtime::value::strong_count_offset() else {
            let t = self.b.ins().uextend(I64, it.tag);
            self.b.ins().call(f, &[t, it.pay]);
            return;
        };
        let at = self.count_at(it.pay, off);
        let flags = ir::MemFlags::trusted();
        if f == self.im.clone {
            let one = self.b.ins().iconst(I64, 1);
            self.b
                .ins()
                .atomic_rmw(I64, flags, ir::AtomicRmwOp::Add, at, one);
            return;
        }
        let old = self.b.ins().load(I64, flags, at, 0);
        let shared = self.b.ins().icmp_imm(IntCC::UnsignedGreaterThan, old, 1);
        let swap = self.b.create_block();
        let slow = self.b.create_block();
        self.b.set_cold_block(slow);
        let done = self.b.create_block();
        self.b.ins().brif(shared, swap, &[], slow, &[]);
        self.b.switch_to_block(swap);
        let new = self.b.ins().iadd_imm(old, -1);
        let seen = self.b.ins().atomic_cas(flags, at, old, new);
        let same = self.b.ins().icmp(IntCC::Equal, seen, old);
        self.b.ins().brif(same, done, &[], slow, &[]);
        self.b.switch_to_block(slow);
        let t = self.b.ins().uextend(I64, it.tag);
        self.b.ins().call(f, &[t, it.pay]);
        self.b.ins().jump(done, &[]);
        self.b.switch_to_block(done);
    }
}

impl Lower<'_, '_, '_, Ordinary> {
    pub(super) fn run(&mut self) -> Result<(), Unsupported> {
        self.setup()?;
        for &start in &self.input.plan.blocks {
            let assume = self.assume;
            self.lower_block(start, assume.get(&start).map(Vec::as_slice))?;
        }
        self.finish_prologue_exits();
        self.finish_side_exits();
        self.finish_exceptions();
        Ok(())
    }

    /// The function's entry (state loaded, dispatch on the entry index),
    /// the entry guards, the return block and the resume entries; then
    /// every block is lowered with [`Lower::lower_block`].
    pub(super) fn setup(&mut self) -> Result<(), Unsupported> {
        let plan = self.input.plan;
        self.tracked = facts::tracked(self.input);
        if self.v_tag.len() > MAX_INLINE_RET_SLOTS {
            self.in_regs.iter_mut().for_each(|r| *r = false);
            for &s in &self.tracked {
                self.in_regs[s as usize] = true;
            }
        }
        // Declare the variables.
        for v in [self.v_budget, self.v_len, self.v_lim, self.v_lp] {
            self.b.declare_as(v, I64);
        }
        for s in 0..self.v_tag.len() {
            self.b.declare_as(self.v_tag[s], I8);
            self.b.declare_as(self.v_pay[s], I64);
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
        for k in [NULL, BOOL, INT, FLOAT, self.input.none_tag] {
            let v = self.b.ins().iconst(I8, k as i64);
            self.tag_consts.push((k, v));
        }
        let resume_blocks: Vec<ir::Block> =
            plan.resumes.iter().map(|_| self.b.create_block()).collect();
        // Blocks with assumptions are entered through a guard. Only the
        // blocks the engine can enter are in the table (`regions`): the
        // others are reached by the unit's own edges alone.
        let dispatch: Vec<ir::Block> = plan
            .entries
            .iter()
            .map(|a| match self.assume.get(a) {
                Some(_) => self.b.create_block(),
                None => self.blocks[a],
            })
            .collect();
        self.entries = plan
            .entries
            .iter()
            .copied()
            .zip(dispatch.iter().copied())
            .collect();
        self.catches = self.find_catches();
        let mut targets: Vec<ir::BlockCall> = dispatch
            .iter()
            .map(|&blk| self.b.func.dfg.block_call(blk, &[]))
            .collect();
        for &blk in &resume_blocks {
            targets.push(self.b.func.dfg.block_call(blk, &[]));
        }
        let cont = plan.cont.map(|at| (at, self.b.create_block()));
        if let Some((_, blk)) = cont {
            targets.push(self.b.func.dfg.block_call(blk, &[]));
        }
        // The default is a block call of its own (one shared with a
        // target would be corrupted when the SSA builder adds arguments).
        let first = dispatch
            .first()
            .or(resume_blocks.first())
            .copied()
            .or(cont.map(|c| c.1))
            .expect("an entry");
        let default = self.b.func.dfg.block_call(first, &[]);
        let jt = self
            .b
            .create_jump_table(ir::JumpTableData::new(default, &targets));
        self.b.ins().br_table(which, jt);

        self.b.switch_to_block(ret);
        let st = self.b.block_params(ret)[0];
        self.b.ins().return_(&[st]);

        for (&a, &stub) in plan.entries.iter().zip(&dispatch) {
            if stub != self.blocks[&a] {
                self.entry_guard(stub, a);
            }
        }

        // A process that waited in a receive or SLEEP resumes at the
        // instruction itself (its block was charged already); these all
        // end their block.
        for (&at, &blk) in plan.resumes.iter().zip(&resume_blocks) {
            self.b.switch_to_block(blk);
            self.stack.clear();
            self.known.iter_mut().for_each(|k| *k = None);
            self.cur = None;
            let dpc = self.input.resume(at);
            let instr = &self.input.program.code[at as usize];
            if !self.process_op(at, dpc, instr) {
                self.generic(at, dpc, false);
            }
            self.jump_to(at + 1);
        }
        if let Some((at, blk)) = cont {
            self.lower_cont(blk, at)?;
        }
        Ok(())
    }

    /// Lower the block at `start`, knowing the tags `known` of the tracked
    /// slots at its start (`None`: nothing).
    pub(super) fn lower_block(
        &mut self,
        start: u32,
        known: Option<&[Option<u8>]>,
    ) -> Result<(), Unsupported> {
        let blk = self.blocks[&start];
        self.b.switch_to_block(blk);
        self.stack.clear();
        self.known.iter_mut().for_each(|k| *k = None);
        if let Some(k) = known {
            for (&s, &k) in self.tracked.iter().zip(k) {
                self.known[s as usize] = k;
            }
        }
        self.cur = Some(start);
        self.block_prologue(start);
        self.block_body(start)
    }

    /// A library operation: one call of the library helper with the
    /// opcode number (virtual stack flushed first).
    pub(super) fn library(&mut self, at: u32, dpc: u32, instr: &Instr) {
        self.flush();
        let op = self.b.ins().iconst(I32, instr.opcode() as i64);
        let a = self.b.ins().iconst(I32, at as i64);
        let d = self.b.ins().iconst(I32, dpc as i64);
        let env = self.env;
        let st = self.call_helper(self.im.library, &[env, op, a, d]);
        self.check_status(st);
        self.reload_released(at);
    }

    /// After a helper that may have emptied the variable the next
    /// instruction stores into (`exec::semantics::release_for_store`): read that
    /// variable from memory again.
    fn reload_released(&mut self, at: u32) {
        if let Some(slot) = crate::exec::semantics::store_after(self.input.program, at) {
            self.reload_slot(slot);
        }
    }
}

/// How compiled code drops a heap value of unknown kind (`TTVM_JIT_DROP`,
/// for measuring): one locked add (the default), the compare-and-swap
/// of `count_ref` (`cas`), the helper alone (`call`), or the locked add
/// for values of known kinds too (`add-all`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum DropMode {
    Add,
    Cas,
    Call,
    AddAll,
}

pub(super) fn drop_mode() -> DropMode {
    static M: std::sync::OnceLock<DropMode> = std::sync::OnceLock::new();
    *M.get_or_init(|| match std::env::var("TTVM_JIT_DROP").as_deref() {
        Ok("cas") => DropMode::Cas,
        Ok("call") => DropMode::Call,
        Ok("add-all") => DropMode::AddAll,
        _ => DropMode::Add,
    })
}
