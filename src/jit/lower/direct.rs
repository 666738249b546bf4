//! Lowering of direct entries (see `jit::direct` for what they are and
//! which functions have one): the `Direct` frame environment (`env`) and
//! its driver, `Lower::run_direct`; the instructions themselves are
//! lowered by the one translator (`Lower::instr`).
//!
//! A direct entry is called with `(place, budget, args…)`:
//! - `place` packs where its frame goes (see [`Place`]): how many more
//!   frames the chain may make below the limit in `JitEnv::dlimit`
//!   (bits 0..16), the operand stack height below its arguments (bits
//!   16..40) and the index of its first variable slot (bits 40..64);
//! - `budget` is the reductions left;
//! - each argument is a (tag, payload) pair, bound to the parameter slots.
//!
//! It returns `(tag, payload, budget)`: the one result, or, with the tag
//! of an unset variable (which no result has), the status of leaving
//! compiled code (`PREEMPT`, `CONTINUE`) in the payload and the whole
//! state written to the process. The environment block is not passed: the
//! `leave` helpers that write the state find it in the thread-local the
//! engine sets (`engine::helpers`, D1 in src/jit/README.md).
//!
//! Blocks are charged and preempted exactly as by the interpreter. The
//! operand stack is SSA values within a block and Cranelift variables
//! across blocks (its height at every block start is known). Nothing is
//! written to memory on the way through. To leave, the innermost frame
//! makes room (the `leave` helper), writes its frame record, slots and
//! operands at its place and sets the process's lengths and `pc`; every
//! direct caller then writes the return address of the frame above it and
//! its own frame, slots and operands below the callee's arguments, and
//! passes the status on. The first caller, ordinary compiled code, writes
//! the return address of the outermost direct frame.
//!
//! The checks: ordinary code starts a chain of direct calls only when the
//! operand stack and the slot vector have room for the deepest chain
//! (`MAX_DIRECT_DEPTH` frames of the largest direct function) below the
//! operand stack and frame-slot limits and within the bits of `place`; so
//! a direct entry checks only, if it calls, that frames are left. Failing
//! that, it leaves at once, and its ordinary compiled code or the
//! interpreter runs it from the start.
//!
//! Values are counted as in ordinary code: arguments arrive owned, the
//! result leaves owned, every slot and operand owns one reference, RET and
//! tail calls drop the frame's slots; so a frame that leaves hands the
//! `leave` helpers exactly the references the frame they write holds.

use super::env::{FrameEnv, Helper, Ordinary};
use super::{Input, Item, Lower, Unsupported, BOOL, FLOAT, INT, NULL};
use crate::bytecode::{Callee as CallInstr, Instr};
use crate::exec::frame_layout as fl;
use crate::exec::native::{off, status, MAX_DIRECT_DEPTH};
use crate::jit::code::{direct_sig, Imports};
use crate::jit::direct::DirectPlan;
use crate::jit::direct::{Desc, Place};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{I16, I32, I64, I8};
use cranelift_codegen::ir::{self, BlockArg, InstBuilder};
use cranelift_frontend::{FunctionBuilder, Variable};
use std::collections::HashMap;
use ttvm_runtime::value::tag::STR;

/// The state of a direct entry's lowering.
pub(in crate::jit) struct Direct<'a> {
    pub(super) plan: &'a DirectPlan,
    /// The `place` argument.
    pub(super) pos: ir::Value,
    /// Operand stack values across blocks.
    stk_tag: Vec<Variable>,
    stk_pay: Vec<Variable>,
    /// Imported signatures of direct entries, by argument count.
    sigs: HashMap<usize, ir::SigRef>,
    /// Where a frame puts its slots and operands for the `leave` helpers.
    buf: Option<ir::StackSlot>,
    /// Lowering the unchecked copy of the blocks (see `run_direct`).
    pub(super) fast: bool,
    /// The budget above which the unchecked copy runs.
    fast_above: i64,
    /// The checked copy's blocks (the unchecked copy's are in
    /// `Lower::blocks` while it is lowered).
    checked: HashMap<u32, ir::Block>,
    /// The lowering went wrong (a bug): the function is not compiled.
    err: Option<String>,
}

/// Build the direct entry of `plan`'s function in `b`.
pub(in crate::jit) fn translate_direct(
    b: &mut FunctionBuilder<'_>,
    im: &Imports,
    input: &Input<'_>,
    plan: &DirectPlan,
) -> Result<(), Unsupported> {
    let slots = plan.size as usize;
    let d = Direct::new(plan);
    let none = HashMap::new();
    let mut l = Lower::new(b, im, input, &none, slots, d);
    l.run_direct()?;
    match l.mode.err {
        Some(e) => Err(format!("direct entry: {e}")),
        None => Ok(()),
    }
}

impl<'a> Direct<'a> {
    fn new(plan: &'a DirectPlan) -> Direct<'a> {
        let slots = plan.size as usize;
        let first = 4 + 2 * slots as u32;
        let depth = plan.max_depth() as u32;
        Direct {
            plan,
            pos: ir::Value::from_u32(0),
            stk_tag: (0..depth)
                .map(|i| Variable::from_u32(first + 2 * i))
                .collect(),
            stk_pay: (0..depth)
                .map(|i| Variable::from_u32(first + 2 * i + 1))
                .collect(),
            sigs: HashMap::new(),
            buf: None,
            fast: false,
            fast_above: 0,
            checked: HashMap::new(),
            err: None,
        }
    }
}

/// A direct entry's frame environment: slots and operands in SSA values
/// and Cranelift variables, nothing in memory until the frame leaves
/// through the direct-leave chain (D2–D4), direct calls in registers,
/// the `value` helper for the list, object and string operations the plan
/// admits, reference counts as in ordinary code.
impl FrameEnv for Direct<'_> {
    const GUARDED_FIELD_STORE: bool = true;
    const MOVES: bool = true;
    const FUSES_UPDATES: bool = false;

    fn save_state(_: &mut Lower<'_, '_, '_, Self>) {}

    fn reload_state(_: &mut Lower<'_, '_, '_, Self>) {}

    /// The operands stay SSA values (Cranelift variables across blocks).
    fn flush_below(_: &mut Lower<'_, '_, '_, Self>, _keep: usize) {}

    fn operands_below(
        l: &mut Lower<'_, '_, '_, Self>,
        need: usize,
        _checked: bool,
        _dpc: u32,
    ) -> Vec<Item> {
        l.direct_bug("an operand below the frame's");
        let z = l.b.ins().iconst(I64, 0);
        let t = l.b.ins().iconst(I8, NULL as i64);
        let dummy = Item {
            tag: t,
            pay: z,
            known: None,
            slot: None,
        };
        vec![dummy; need]
    }

    /// Only the Cranelift variables.
    fn write_slot(l: &mut Lower<'_, '_, '_, Self>, s: usize, v: Item, _old_known: Option<u8>) {
        let tag = l.tag_of(v);
        l.def_slot_vars(s, tag, v.pay);
    }

    /// As in ordinary code: leave when unset (the interpreter raises
    /// `undefined variable`), one more reference to a heap value.
    fn load_checks(l: &mut Lower<'_, '_, '_, Self>, _slot: u32, it: Item, dpc: u32) -> bool {
        if it.known == Some(l.input.none_tag) {
            l.exit_always(&[], dpc);
            return false;
        }
        l.load_counted(it, dpc);
        true
    }

    /// Values are counted as in ordinary code: each slot and operand owns
    /// its reference, so leaving hands them to the frame written.
    fn refcount(l: &mut Lower<'_, '_, '_, Self>, f: ir::FuncRef, it: Item) {
        l.refcount_counted(f, it);
    }

    fn exit(l: &mut Lower<'_, '_, '_, Self>, dpc: u32) {
        l.direct_exit(status::CONTINUE, dpc);
    }

    fn edge(l: &mut Lower<'_, '_, '_, Self>, target: u32) {
        l.pass_stack(target);
    }

    /// The blocks are the plan's own (not a part's).
    fn cut(_: &Lower<'_, '_, '_, Self>) -> Option<u32> {
        None
    }

    fn call(l: &mut Lower<'_, '_, '_, Self>, at: u32, dpc: u32, c: &CallInstr) {
        l.direct_call(at, dpc, c);
    }

    fn call_function(l: &mut Lower<'_, '_, '_, Self>, at: u32, dpc: u32) {
        l.direct_call_value(at, dpc);
    }

    fn ret(l: &mut Lower<'_, '_, '_, Self>, _at: u32, dpc: u32) {
        l.direct_ret(dpc);
    }

    /// A string constant inline; the `value` helper for the list,
    /// object and string operations the plan admits
    /// (`direct::value_helper`); nothing else (the plan admits nothing
    /// else).
    fn helper(l: &mut Lower<'_, '_, '_, Self>, at: u32, dpc: u32, instr: &Instr, how: Helper) {
        match instr {
            Instr::PushStr(t) => l.push_str_const(t),
            i if crate::jit::direct::library_helper(i) => l.library_direct(dpc, i),
            i if crate::jit::direct::value_helper(i) => match super::data::value_shape(i) {
                Some(shape) => l.value_op(at, i, dpc, shape, None),
                None => l.direct_bug("a value operation without a shape"),
            },
            _ => {
                l.direct_bug("an instruction without a direct lowering");
                match how {
                    Helper::Ends => l.exit_continue(dpc),
                    _ => l.exit_always(&[], dpc),
                }
            }
        }
    }

    /// Leave; the interpreter runs it.
    fn interpret(
        l: &mut Lower<'_, '_, '_, Self>,
        _at: u32,
        dpc: u32,
        operands: &[Item],
    ) -> Option<ir::Value> {
        l.unpop(operands);
        l.exit_continue(dpc);
        None
    }
}

impl<'p> Lower<'_, '_, '_, Direct<'p>> {
    fn plan(&self) -> &'p DirectPlan {
        self.mode.plan
    }

    /// Something the plan promised does not hold: do not compile.
    pub(super) fn direct_bug(&mut self, what: &str) {
        let d = &mut self.mode;
        if d.err.is_none() {
            d.err = Some(what.to_string());
        }
    }

    fn stack_var(&mut self, i: usize) -> (Variable, Variable) {
        let d = &self.mode;
        (d.stk_tag[i], d.stk_pay[i])
    }

    fn run_direct(&mut self) -> Result<(), Unsupported> {
        let plan = self.plan();
        let target = plan.target;
        let calls = plan.calls;
        let params = plan.params.clone();
        let blocks = plan.blocks.clone();
        let depth_vars = plan.max_depth();
        for v in [self.v_budget, self.v_len, self.v_lim, self.v_lp] {
            self.b.declare_var(v, I64);
        }
        for s in 0..self.v_tag.len() {
            self.b.declare_var(self.v_tag[s], I8);
            self.b.declare_var(self.v_pay[s], I64);
        }
        for i in 0..depth_vars {
            let (t, p) = self.stack_var(i);
            self.b.declare_var(t, I8);
            self.b.declare_var(p, I64);
        }
        let values = self.v_tag.len() + self.plan().need;
        let buf = self.b.create_sized_stack_slot(ir::StackSlotData::new(
            ir::StackSlotKind::ExplicitSlot,
            (values as i64 * super::VALUE_BYTES) as u32,
            4,
        ));
        self.mode.buf = Some(buf);
        let entry = self.b.create_block();
        self.b.append_block_params_for_function_params(entry);
        for &a in &blocks {
            let blk = self.b.create_block();
            self.blocks.insert(a, blk);
        }
        self.b.switch_to_block(entry);
        let args = self.b.block_params(entry).to_vec();
        let pos = args[0];
        self.mode.pos = pos;
        self.b.def_var(self.v_budget, args[1]);
        let zero = self.b.ins().iconst(I64, 0);
        for v in [self.v_len, self.v_lim, self.v_lp] {
            self.b.def_var(v, zero);
        }
        // `env` is fetched where it is needed (leaving).
        self.env = zero;
        for k in [NULL, BOOL, INT, FLOAT, self.input.none_tag] {
            let v = self.b.ins().iconst(I8, k as i64);
            self.tag_consts.push((k, v));
        }
        let none = self.b.ins().iconst(I8, self.input.none_tag as i64);
        for s in 0..self.v_tag.len() {
            self.b.def_var(self.v_tag[s], none);
            self.b.def_var(self.v_pay[s], zero);
        }
        let zero8 = self.b.ins().iconst(I8, 0);
        for i in 0..depth_vars {
            let (t, p) = self.stack_var(i);
            self.b.def_var(t, zero8);
            self.b.def_var(p, zero);
        }
        for (k, &slot) in params.iter().enumerate() {
            self.b.def_var(self.v_tag[slot as usize], args[2 + 2 * k]);
            self.b.def_var(self.v_pay[slot as usize], args[3 + 2 * k]);
        }
        // Every variable is defined before the first way out.
        let leave = self.b.create_block();
        self.b.set_cold_block(leave);
        if calls {
            let left = self.b.ins().ireduce(I16, pos);
            let none_left = self.b.ins().icmp_imm(IntCC::Equal, left, 0);
            self.leave_if(none_left, leave);
        }
        // With more budget than all its blocks (and the blocks it may run
        // inline) can charge, no block start can preempt until the next
        // call returns: an unchecked copy of the blocks runs then, and
        // each return from a call goes on in it while the budget stays
        // above that. A function with a loop has only the checked copy.
        let checked = self.blocks.clone();
        let fast_above = self.unchecked_limit();
        let fast_blocks: HashMap<u32, ir::Block> = match fast_above {
            Some(_) => blocks.iter().map(|&a| (a, self.b.create_block())).collect(),
            None => HashMap::new(),
        };
        {
            let d = &mut self.mode;
            d.checked = checked.clone();
            d.fast_above = fast_above.unwrap_or(i64::MAX);
        }
        match fast_above {
            Some(c) => {
                let budget = self.b.use_var(self.v_budget);
                let ok = self.b.ins().icmp_imm(IntCC::SignedGreaterThan, budget, c);
                self.b
                    .ins()
                    .brif(ok, fast_blocks[&target], &[], checked[&target], &[]);
            }
            None => {
                self.b.ins().jump(checked[&target], &[]);
            }
        }
        self.b.switch_to_block(leave);
        self.stack.clear();
        self.direct_exit(status::CONTINUE, self.input.dpc(target));

        let ret = self.b.create_block();
        self.b.append_block_param(ret, I32);
        self.ret_block = Some(ret);
        self.b.switch_to_block(ret);
        let st = self.b.block_params(ret)[0];
        let st = self.b.ins().uextend(I64, st);
        self.return_left(st);

        let mut copies = vec![(false, checked)];
        if !fast_blocks.is_empty() {
            copies.insert(0, (true, fast_blocks));
        }
        for (fast, map) in copies {
            self.blocks = map;
            self.mode.fast = fast;
            self.lower_copy(&blocks)?;
        }
        Ok(())
    }

    /// Lower one copy of the blocks (into `self.blocks`).
    fn lower_copy(&mut self, blocks: &[u32]) -> Result<(), Unsupported> {
        for &start in blocks {
            let blk = self.blocks[&start];
            self.b.switch_to_block(blk);
            let h = self.plan().depth[&start];
            let facts = self.facts_at(start, h);
            self.stack.clear();
            for i in 0..h {
                let (t, p) = self.stack_var(i);
                let tag = self.b.use_var(t);
                let pay = self.b.use_var(p);
                let known = facts.as_ref().and_then(|f| f[self.v_tag.len() + i]);
                let tag = match known.and_then(|k| self.tag_const(k)) {
                    Some(c) => c,
                    None => tag,
                };
                self.stack.push(Item {
                    tag,
                    pay,
                    known,
                    slot: None,
                });
            }
            match &facts {
                Some(f) => self.known.copy_from_slice(&f[..self.v_tag.len()]),
                None => self.known.iter_mut().for_each(|k| *k = None),
            }
            self.cur = Some(start);
            self.direct_prologue(start);
            self.block_body(start)?;
        }
        Ok(())
    }

    /// What is known at the start of block `start` (of height `h`): the
    /// tags of the slots, then of the operands, met over every edge into
    /// it when all its predecessors are lowered already (blocks are
    /// lowered in address order, and nothing enters a direct entry but
    /// its edges and the call); `None` when something comes later.
    fn facts_at(&self, start: u32, h: usize) -> Option<Vec<Option<u8>>> {
        let plan = self.plan();
        let preds = plan.preds.get(&start).map(Vec::as_slice).unwrap_or(&[]);
        if preds.iter().any(|&p| p >= start) {
            return None;
        }
        let mut meet: Option<Vec<Option<u8>>> = None;
        if start == plan.target {
            // The call: parameters unknown, the other slots unset.
            let none = Some(self.input.none_tag);
            let mut f = vec![none; self.v_tag.len() + h];
            for &s in &plan.params {
                f[s as usize] = None;
            }
            meet = Some(f);
        }
        for (_, to, facts) in &self.edges {
            if *to != start {
                continue;
            }
            meet = Some(match meet {
                None => facts.clone(),
                Some(mut m) => {
                    for (a, b) in m.iter_mut().zip(facts) {
                        if *a != *b {
                            *a = None;
                        }
                    }
                    m
                }
            });
        }
        meet.filter(|m| m.len() == self.v_tag.len() + h)
    }

    /// Go to `leave` when `cond` holds.
    fn leave_if(&mut self, cond: ir::Value, leave: ir::Block) {
        let next = self.b.create_block();
        self.b.ins().brif(cond, leave, &[], next, &[]);
        self.b.switch_to_block(next);
    }

    /// The budget above which the function's blocks, and what they may
    /// run inline, cannot spend it before a call returns (`None` when it
    /// loops).
    fn unchecked_limit(&self) -> Option<i64> {
        let plan = self.plan();
        let loops = plan.preds.iter().any(|(b, ps)| ps.iter().any(|q| q >= b));
        if loops {
            return None;
        }
        Some(self.charges(plan, super::inline::MAX_NEST + 1))
    }

    /// The most `plan`'s blocks, and the callees' run inline `levels - 1`
    /// frames deep, can charge (each block once: no loops here, and a
    /// callee that loops is left on its first block seen twice).
    fn charges(&self, plan: &DirectPlan, levels: u32) -> i64 {
        let p = self.input.program;
        let mut total: i64 = plan
            .blocks
            .iter()
            .map(|&b| p.block_cost[b as usize] as i64)
            .sum();
        if levels <= 1 {
            return total;
        }
        for &b in &plan.blocks {
            let mut at = b as usize;
            loop {
                if let crate::bytecode::Instr::Call(c) = &p.code[at] {
                    if let Some(callee) = self.inline_plan(c.target) {
                        total += self.charges(&callee, levels - 1);
                    }
                }
                at += 1;
                if at >= p.code.len() || p.block_start[at] {
                    break;
                }
            }
        }
        total
    }

    /// The budget charged, after a call returned: go on at block `target`
    /// in the unchecked copy while the budget allows, else in the checked
    /// one.
    pub(super) fn direct_continue(&mut self, target: u32) {
        if !self.mode.fast {
            return self.jump_to(target);
        }
        self.pass_stack(target);
        let (above, checked) = {
            let d = &self.mode;
            (d.fast_above, d.checked[&target])
        };
        let fast = self.blocks[&target];
        let budget = self.b.use_var(self.v_budget);
        let ok = self
            .b
            .ins()
            .icmp_imm(IntCC::SignedGreaterThan, budget, above);
        self.b.ins().brif(ok, fast, &[], checked, &[]);
    }

    /// A block start: preempt when the budget is spent, then charge (the
    /// chain's start checked the stack room for every block). The
    /// unchecked copy only charges.
    fn direct_prologue(&mut self, start: u32) {
        let cost = self.input.program.block_cost[start as usize] as i64;
        let charge_pc = self.input.dpc(start);
        let budget = self.b.use_var(self.v_budget);
        if self.mode.fast {
            let charged = self.b.ins().iadd_imm(budget, -cost);
            self.b.def_var(self.v_budget, charged);
            return;
        }
        self.if_spent(budget, |l| l.direct_exit(status::PREEMPT, charge_pc));
        let charged = self.b.ins().iadd_imm(budget, -cost);
        self.b.def_var(self.v_budget, charged);
    }

    /// Control goes to block `target` of the function: its operands go
    /// into the variables of its stack height.
    pub(super) fn pass_stack(&mut self, target: u32) {
        let Some(&want) = self.plan().depth.get(&target) else {
            return self.direct_bug("a jump out of the function");
        };
        if self.stack.len() != want {
            return self.direct_bug("operand stack heights differ");
        }
        let mut facts = self.known.clone();
        facts.extend(self.stack.iter().map(|it| it.known));
        self.edges.push((self.cur, target, facts));
        // A slot with a known tag holds that constant on every path.
        for s in 0..self.known.len() {
            if let Some(c) = self.known[s].and_then(|k| self.tag_const(k)) {
                self.b.def_var(self.v_tag[s], c);
            }
        }
        for (i, it) in self.stack.clone().into_iter().enumerate() {
            let tag = match it.known.and_then(|k| self.tag_const(k)) {
                Some(c) => c,
                None => self.tag_of(it),
            };
            let (t, p) = self.stack_var(i);
            self.b.def_var(t, tag);
            self.b.def_var(p, it.pay);
        }
    }

    /// Put this frame's slots, then `items`, in the leaving buffer: its
    /// address.
    fn fill_buffer(&mut self, items: &[Item]) -> ir::Value {
        let slot = self.mode.buf.expect("made first");
        let buf = self.b.ins().stack_addr(I64, slot, 0);
        for s in 0..self.v_tag.len() {
            let o = (s as i64 * super::VALUE_BYTES) as i32;
            let tag = match self.known[s] {
                Some(k) => self.b.ins().iconst(I8, k as i64),
                None => self.b.use_var(self.v_tag[s]),
            };
            let pay = self.b.use_var(self.v_pay[s]);
            self.b.ins().store(self.mf, tag, buf, o);
            self.b.ins().store(self.mf, pay, buf, o + 8);
        }
        let first = self.v_tag.len();
        for (i, &it) in items.iter().enumerate() {
            let o = ((first + i) as i64 * super::VALUE_BYTES) as i32;
            self.own_borrowed(it);
            let tag = self.tag_of(it);
            self.b.ins().store(self.mf, tag, buf, o);
            self.b.ins().store(self.mf, it.pay, buf, o + 8);
        }
        buf
    }

    /// The descriptor of this frame holding `items` operands.
    fn desc(&self, items: usize) -> i64 {
        let p = self.plan();
        Desc::pack(p.target, p.size, p.stack_args, items) as i64
    }

    /// This (innermost) frame leaves compiled code with status `st` at
    /// decoded address `pc`: the `leave` helper writes it and makes the
    /// process's lengths its (D2 in src/jit/README.md).
    pub(super) fn direct_exit(&mut self, st: u32, pc: u32) {
        let items = self.stack.clone();
        let buf = self.fill_buffer(&items);
        let pos = self.mode.pos;
        let d = self.desc(items.len());
        let desc = self.b.ins().iconst(I64, d);
        let pc_st = self
            .b
            .ins()
            .iconst(I64, (pc as u64 | (st as u64) << 32) as i64);
        let budget = self.b.use_var(self.v_budget);
        let call = self.b.ins().call(
            self.im.leave.expect("a direct entry"),
            &[buf, pos, desc, pc_st, budget],
        );
        let st = self.b.inst_results(call)[0];
        self.return_left(st);
    }

    /// Return "left compiled code with status `st`" (an I64). The budget
    /// is in `env` then (the innermost frame put it there); returning a
    /// constant keeps it from living across the `leave` calls.
    fn return_left(&mut self, st: ir::Value) {
        let t = self.b.ins().iconst(I8, self.input.none_tag as i64);
        let z = self.b.ins().iconst(I64, 0);
        self.b.ins().return_(&[t, st, z]);
    }

    /// RET: the one operand is the result.
    pub(super) fn direct_ret(&mut self, dpc: u32) {
        let [r] = self.operands_n::<1>(dpc);
        if !self.stack.is_empty() {
            self.direct_bug("RET with more than one operand");
        }
        self.drop_slots();
        let tag = self.tag_of(r);
        let budget = self.b.use_var(self.v_budget);
        self.b.ins().return_(&[tag, r.pay, budget]);
    }

    /// The frame ends (RET, tail call): each slot's reference is dropped
    /// (the result and a tail call's arguments own theirs).
    fn drop_slots(&mut self) {
        for s in 0..self.v_tag.len() {
            let known = self.known[s];
            if known.is_some_and(|k| !super::is_heap(k)) {
                continue;
            }
            let it = Item {
                tag: self.b.use_var(self.v_tag[s]),
                pay: self.b.use_var(self.v_pay[s]),
                known,
                slot: None,
            };
            self.drop_item(it);
        }
    }

    /// PUSH_STR: one more reference to the program's string (the program
    /// outlives compiled code).
    fn push_str_const(&mut self, t: &crate::bytecode::Text) {
        let v = ttvm_runtime::Value::Str(t.0.clone());
        // SAFETY: a `Value` is 16 bytes; only its payload word is read.
        let raw: [u64; 2] = unsafe { std::mem::transmute_copy(&v) };
        drop(v);
        let pay = self.b.ins().iconst(I64, raw[1] as i64);
        let it = self.item(STR, pay);
        self.clone_item(it);
        self.stack.push(it);
    }

    fn sig_for(&mut self, n: usize) -> ir::SigRef {
        if let Some(&s) = self.mode.sigs.get(&n) {
            return s;
        }
        let s = self.b.import_signature(direct_sig(n));
        self.mode.sigs.insert(n, s);
        s
    }

    /// CALL in a direct entry: to the callee's direct entry when it has
    /// one (else leave, and the interpreter makes the call). A CALL before
    /// RET is a tail call: the callee's frame takes this one's place.
    pub(super) fn direct_call(&mut self, at: u32, dpc: u32, c: &CallInstr) {
        let n = c.param_slots.len();
        let args = self.operands(n, dpc);
        self.direct_call_to(at, dpc, c.target, &c.param_slots, n, args, None);
    }

    /// A direct call of the function at `target` binding `binds` to
    /// `args` (owned). `value`: a CALL_FUNCTION of the function value `f`,
    /// whose captured variables are `args[stack_args..]` (loaded, not yet
    /// counted): a frame that leaves before the call has its operands as
    /// they were (the arguments, then `f`); once the call is made, the
    /// captures gain their reference and `f` is dropped.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn direct_call_to(
        &mut self,
        at: u32,
        dpc: u32,
        target: u32,
        binds: &[u32],
        stack_args: usize,
        args: Vec<Item>,
        value: Option<Item>,
    ) {
        let p = self.input.program;
        let n = args.len();
        let tail = p.tail_call(at);
        let mut restore = args[..stack_args].to_vec();
        restore.extend(value);
        let (same, size) = {
            let plan = self.plan();
            (
                plan.target == target && plan.params[..] == binds[..],
                plan.size,
            )
        };
        let mut callee_plan = None;
        let cell = if same {
            None
        } else {
            match (self.input.callee)(target).and_then(|k| k.direct) {
                Some((cell, plan)) if plan.params[..] == binds[..] => {
                    callee_plan = Some(plan);
                    Some(cell)
                }
                _ => {
                    // No direct entry there: the interpreter calls.
                    self.unpop(&restore);
                    self.exit_continue(dpc);
                    return;
                }
            }
        };
        let callee = cell.map(|cell| {
            let a = self.b.ins().iconst(I64, cell as i64);
            let f = self.b.ins().load(I64, self.mf, a, 0);
            let none = self.b.ins().icmp_imm(IntCC::Equal, f, 0);
            let saved = self.stack.clone();
            self.unpop(&restore);
            self.exit_if(none, dpc);
            self.stack = saved;
            f
        });
        if let Some(f) = value {
            for &c in &args[stack_args..] {
                self.clone_item(c);
            }
            self.drop_item(f);
        }
        let sig = self.sig_for(n);
        let pos = self.mode.pos;
        if tail {
            if !self.stack.is_empty() {
                self.direct_bug("a tail call with operands below");
            }
            self.drop_slots();
            let argv = self.direct_args(pos, &args);
            match callee {
                Some(f) => self.b.ins().return_call_indirect(sig, f, &argv),
                None => {
                    let this = self.im.this.expect("a direct entry");
                    self.b.ins().return_call(this, &argv)
                }
            };
            return;
        }
        // Where the callee returns without a call, try that inline first.
        let callee_plan = match callee_plan {
            Some(p) => p,
            None => self.plan().clone(),
        };
        let join = self.b.create_block();
        self.b.append_block_param(join, I8);
        self.b.append_block_param(join, I64);
        self.b.append_block_param(join, I64);
        let call_blk = self.b.create_block();
        // The checked copy of a function that has an unchecked one runs
        // only at the end of a slice: it makes its calls without inline
        // attempts (less code to compile).
        let checked_only = {
            let d = &self.mode;
            !d.fast && d.fast_above != i64::MAX
        };
        if checked_only || !self.inline_returns(&callee_plan, &args, call_blk, join) {
            self.b.ins().jump(call_blk, &[]);
        }
        self.b.switch_to_block(call_blk);
        // One frame fewer left; the callee's operands above these; its
        // slots after this frame's.
        let below = self.stack.len() as i64;
        let step = (below << Place::SB_SHIFT) + ((size as i64) << Place::LB_SHIFT) - 1;
        let cpos = self.b.ins().iadd_imm(pos, step);
        let argv = self.direct_args(cpos, &args);
        let call = match callee {
            Some(f) => self.b.ins().call_indirect(sig, f, &argv),
            None => {
                let this = self.im.this.expect("a direct entry");
                self.b.ins().call(this, &argv)
            }
        };
        let r = self.b.inst_results(call).to_vec();
        let items = self.stack.clone();
        let after = self.input.dpc(at + 1);
        let result = self.after_direct_call(&r, |l| {
            let buf = l.fill_buffer(&items);
            let d = l.desc(items.len());
            let desc = l.b.ins().iconst(I64, d);
            let at_after =
                l.b.ins()
                    .iconst(I64, (at as u64 | (after as u64) << 32) as i64);
            let call = l.b.ins().call(
                l.im.leave_caller.expect("a direct entry"),
                &[buf, pos, desc, at_after, r[1]],
            );
            let st = l.b.inst_results(call)[0];
            l.return_left(st);
        });
        let budget = self.b.use_var(self.v_budget);
        self.b.ins().jump(
            join,
            &[
                BlockArg::Value(result.tag),
                BlockArg::Value(result.pay),
                BlockArg::Value(budget),
            ],
        );
        self.b.switch_to_block(join);
        let ps = self.b.block_params(join).to_vec();
        self.b.def_var(self.v_budget, ps[2]);
        self.stack.push(Item {
            tag: ps[0],
            pay: ps[1],
            known: None,
            slot: None,
        });
        self.direct_continue(at + 1);
    }
}

/// What direct calls from either kind of code share.
impl<E: FrameEnv> Lower<'_, '_, '_, E> {
    /// The arguments of a direct call: place, budget, values.
    fn direct_args(&mut self, pos: ir::Value, args: &[Item]) -> Vec<ir::Value> {
        let budget = self.b.use_var(self.v_budget);
        let mut v = vec![pos, budget];
        for &a in args {
            let tag = self.tag_of(a);
            v.push(tag);
            v.push(a.pay);
        }
        v
    }

    /// After a direct call returned `(tag, pay, budget)`: the result, in
    /// the block that goes on; when the callee left compiled code instead,
    /// `leave` writes this frame's part and returns (D3, D4).
    fn after_direct_call(&mut self, r: &[ir::Value], leave: impl FnOnce(&mut Self)) -> Item {
        let (tag, pay, budget) = (r[0], r[1], r[2]);
        self.b.def_var(self.v_budget, budget);
        let left = self
            .b
            .ins()
            .icmp_imm(IntCC::Equal, tag, self.input.none_tag as i64);
        self.cold_if(left, leave);
        Item {
            tag,
            pay,
            known: None,
            slot: None,
        }
    }
}

/// Ordinary code starting a chain of direct calls (D4).
impl Lower<'_, '_, '_, Ordinary> {
    /// Ordinary compiled code calls direct entry `f` (non-zero) of a
    /// callee with `args`, its frame made at the current depth `frames`
    /// with its slots from `llen`, when the stack and slot vector have
    /// room for the deepest chain (else `inline`): go on after the call
    /// with the result, or pass on the status it left with.
    pub(super) fn enter_direct(
        &mut self,
        at: u32,
        f: ir::Value,
        frames: ir::Value,
        llen: ir::Value,
        args: &[Item],
        inline: ir::Block,
    ) {
        let bounds = self.input.bounds;
        let deepest = MAX_DIRECT_DEPTH as usize;
        let len = self.b.use_var(self.v_len);
        // The operand stack: below the limit and within its field.
        let most = (deepest * bounds.below + bounds.need) as i64;
        let room = (self.input.max_stack.min(Place::FIELD_MAX) as i64).saturating_sub(most);
        let over_s = self.b.ins().icmp_imm(IntCC::SignedGreaterThan, len, room);
        // The slots: within their field and the frame-slot limit (so no
        // direct call passes it: near it the chain does not start, and the
        // calls made instead raise the interpreter's `stack overflow`).
        let room_l = (Place::FIELD_MAX.min(self.input.max_frame_slots))
            .saturating_sub(deepest * bounds.slots) as i64;
        let over_l = self
            .b
            .ins()
            .icmp_imm(IntCC::SignedGreaterThan, llen, room_l);
        let over = self.b.ins().bor(over_s, over_l);
        let go = self.b.create_block();
        self.b.ins().brif(over, inline, &[], go, &[]);
        self.b.switch_to_block(go);
        self.save_state();
        let f64 = self.b.ins().uextend(I64, frames);
        let lim = self.b.ins().iadd_imm(f64, MAX_DIRECT_DEPTH as i64);
        let max = self
            .input
            .max_call_depth
            .saturating_sub(1)
            .min(u32::MAX as usize);
        let max = self.b.ins().iconst(I64, max as i64);
        let lim = self.b.ins().umin(lim, max);
        self.env_store(lim, off::DLIMIT);
        let left = self.b.ins().isub(lim, f64);
        let sb = self.b.ins().ishl_imm(len, Place::SB_SHIFT);
        let lb = self.b.ins().ishl_imm(llen, Place::LB_SHIFT);
        let pos = self.b.ins().bor(left, sb);
        let pos = self.b.ins().bor(pos, lb);
        let sig = self.b.import_signature(direct_sig(args.len()));
        let argv = self.direct_args(pos, args);
        let call = self.b.ins().call_indirect(sig, f, &argv);
        let r = self.b.inst_results(call).to_vec();
        let result = self.after_direct_call(&r, |l| {
            let fptr = l.env_load(I64, off::FPTR);
            let fo = l.b.ins().imul_imm(f64, fl::SIZE);
            let fp = l.b.ins().iadd(fptr, fo);
            let after = l.input.dpc(at + 1);
            let ret_pc = l.b.ins().iconst(I32, after as i64);
            let site = l.b.ins().iconst(I32, at as i64);
            l.b.ins().store(l.mf, ret_pc, fp, fl::RET);
            l.b.ins().store(l.mf, site, fp, fl::CALL_SITE);
            let st = l.b.ins().ireduce(I32, r[1]);
            // Left at an instruction: while a handler is in force, it runs
            // in the `fault` helper and a catch block of this frame takes
            // what it raises (`exceptions`).
            let cont =
                l.b.ins()
                    .icmp_imm(IntCC::Equal, st, status::CONTINUE as i64);
            let fault = l.fault_block();
            let r = l.ret_block.expect("made first");
            l.b.ins().brif(
                cont,
                fault,
                &[BlockArg::Value(frames)],
                r,
                &[BlockArg::Value(st)],
            );
        });
        self.push_mem(result);
        self.jump_to(at + 1);
    }
}
