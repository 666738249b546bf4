//! Lowering of direct entries (see `jit::direct` for what they are and
//! which functions have one): the `Direct` frame environment (`env`) and
//! its driver, `Lower::run_direct`; the instructions themselves are
//! lowered by the one translator (`Lower::instr`), and leaving, RET and
//! calls by `direct_calls.rs`.
//!
//! A direct entry is called with `(place, budget, args…)`:
//! - `place` packs where its frame goes (see `jit::direct::Place`): how many more
//!   frames the chain may make below the limit in `JitEnv::dlimit`
//!   (bits 0..16), the operand stack height below its arguments (bits
//!   16..40) and the index of its first variable slot (bits 40..64);
//! - `budget` is the reductions left;
//! - each argument is a (tag, payload) pair, bound to the parameter slots.
//!
//! It returns `(tag, payload)…, budget`: its results, a pair for each of
//! the `DirectPlan::rets` values every RET of the function returns (one
//! pair, a Null not pushed, for a function returning none), or, with the
//! first tag that of an unset variable (which no result has), the status
//! of leaving compiled code (`PREEMPT`, `CONTINUE`) in the first payload
//! and the whole state written to the process. The environment block is not passed: the
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

use super::env::{FrameEnv, Helper};
use super::{Input, Item, Lower, Unsupported, BOOL, FLOAT, INT, NULL};
use crate::bytecode::{Callee as CallInstr, Instr};
use crate::exec::native::status;
use crate::jit::code::{DeclareAs, Imports};
use crate::jit::direct::DirectPlan;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{I16, I32, I64, I8};
use cranelift_codegen::ir::{self, InstBuilder};
use cranelift_frontend::{FunctionBuilder, Variable};
use std::collections::HashMap;

/// The state of a direct entry's lowering.
pub(in crate::jit) struct Direct<'a> {
    pub(super) plan: &'a DirectPlan,
    /// The `place` argument (in the block being lowered, when the entry
    /// resumes frames: see `v_pos`).
    pub(super) pos: ir::Value,
    /// When the function has resume entries (`lower/resume.rs`): the
    /// variable holding `place`, which a resumed frame reads from its
    /// record; `pos` is read from it at every block start.
    pub(super) v_pos: Option<Variable>,
    /// The blocks it resumes frames at (`DirectPlan::resumes`).
    pub(super) resumes: Vec<u32>,
    /// Operand stack values across blocks.
    pub(super) stk_tag: Vec<Variable>,
    pub(super) stk_pay: Vec<Variable>,
    /// Imported signatures of direct entries, by argument count and
    /// values returned.
    pub(super) sigs: HashMap<(usize, usize), ir::SigRef>,
    /// Where a frame puts its slots and operands for the `leave` helpers.
    pub(super) buf: Option<ir::StackSlot>,
    /// Lowering the unchecked copy of the blocks (see `run_direct`).
    pub(super) fast: bool,
    /// The budget above which the unchecked copy runs.
    pub(super) fast_above: i64,
    /// The checked copy's blocks (the unchecked copy's are in
    /// `Lower::blocks` while it is lowered).
    pub(super) checked: HashMap<u32, ir::Block>,
    /// The lowering went wrong (a bug): the function is not compiled.
    pub(super) err: Option<String>,
    /// What each loop header may assume (see `HeaderFacts`).
    pub(super) headers: HeaderFacts,
}

/// The tags (slots, then operands) a loop header assumes, by its address.
type Facts = HashMap<u32, Vec<Option<u8>>>;

/// What the loop headers of a direct entry assume (docs/JIT.md, "Loop
/// headers of direct entries"). A header is entered from its loop's back
/// edges, which are lowered after it, so what holds there is found by a
/// fixed point over trial lowerings (`header_facts`): the first assumes
/// what its forward edges carry (`Trial` with nothing yet), each next one
/// the meet over every edge of the one before, until every edge into
/// every header carries at least what the header assumed; the final
/// lowering then assumes exactly that (`Final`).
#[derive(Clone)]
pub(super) enum HeaderFacts {
    /// A trial: assume the meet of the forward edges and of `Facts`
    /// (none: nothing met yet), and record what each header assumed.
    Trial(Facts, Facts),
    /// The fixed point: each header assumes its entry (none: nothing).
    Final(Facts),
}

/// Build the direct entry of `plan`'s function in `b`.
pub(in crate::jit) fn translate_direct(
    b: &mut FunctionBuilder<'_>,
    im: &Imports,
    input: &Input<'_>,
    plan: &DirectPlan,
) -> Result<(), Unsupported> {
    let slots = plan.size as usize;
    let headers = header_facts(b.func, im, input, plan)?;
    let mut d = Direct::new(plan);
    d.headers = HeaderFacts::Final(headers);
    let none = HashMap::new();
    let mut l = Lower::new(b, im, input, &none, slots, d);
    l.run_direct()?;
    match l.mode.err {
        Some(e) => Err(format!("direct entry: {e}")),
        None => Ok(()),
    }
}

/// Trial lowerings before the loop headers assume nothing.
const MAX_TRIALS: usize = 4;

/// The tags each loop header of `plan`'s function may assume: a fixed
/// point of trial lowerings into copies of `template` (see
/// `HeaderFacts`); nothing for a function without loops, or when the
/// trials do not settle.
fn header_facts(
    template: &ir::Function,
    im: &Imports,
    input: &Input<'_>,
    plan: &DirectPlan,
) -> Result<Facts, Unsupported> {
    let heads: Vec<u32> = plan
        .blocks
        .iter()
        .copied()
        .filter(|h| {
            plan.preds
                .get(h)
                .is_some_and(|ps| ps.iter().any(|p| p >= h))
        })
        .collect();
    if heads.is_empty() {
        return Ok(Facts::new());
    }
    let slots = plan.size as usize;
    let none = HashMap::new();
    let mut seen = Facts::new();
    for _ in 0..MAX_TRIALS {
        let mut f = template.clone();
        let mut fctx = cranelift_frontend::FunctionBuilderContext::new();
        let mut b = FunctionBuilder::new(&mut f, &mut fctx);
        let mut d = Direct::new(plan);
        d.headers = HeaderFacts::Trial(seen.clone(), Facts::new());
        let mut l = Lower::new(&mut b, im, input, &none, slots, d);
        l.run_direct()?;
        if let Some(e) = l.mode.err.take() {
            return Err(format!("direct entry: {e}"));
        }
        let HeaderFacts::Trial(_, assumed) =
            std::mem::replace(&mut l.mode.headers, HeaderFacts::Final(Facts::new()))
        else {
            unreachable!("a trial stays a trial")
        };
        let mut settled = true;
        let mut next = Facts::new();
        for &h in &heads {
            let Some(a) = assumed.get(&h) else {
                settled = false;
                continue;
            };
            let all = l.meet_edges(h, a.len() - l.v_tag.len(), true);
            let holds = match &all {
                Some(m) => a.iter().zip(m).all(|(x, y)| x.is_none() || x == y),
                None => a.iter().all(Option::is_none),
            };
            settled &= holds;
            let mut m = a.clone();
            if let Some(all) = all {
                for (x, y) in m.iter_mut().zip(all) {
                    if *x != y {
                        *x = None;
                    }
                }
            }
            next.insert(h, m);
        }
        if settled {
            return Ok(assumed
                .into_iter()
                .filter(|(_, m)| m.iter().any(Option::is_some))
                .collect());
        }
        seen = next;
    }
    Ok(Facts::new())
}

impl<'a> Direct<'a> {
    fn new(plan: &'a DirectPlan) -> Direct<'a> {
        let slots = plan.size as usize;
        let first = 4 + 2 * slots as u32;
        let depth = plan.max_depth() as u32;
        Direct {
            plan,
            pos: ir::Value::from_u32(0),
            v_pos: None,
            resumes: plan.resumes(),
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
            headers: HeaderFacts::Final(Facts::new()),
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
    pub(super) fn plan(&self) -> &'p DirectPlan {
        self.mode.plan
    }

    /// Something the plan promised does not hold: do not compile.
    pub(super) fn direct_bug(&mut self, what: &str) {
        let d = &mut self.mode;
        if d.err.is_none() {
            d.err = Some(what.to_string());
        }
    }

    pub(super) fn stack_var(&mut self, i: usize) -> (Variable, Variable) {
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
            self.b.declare_as(v, I64);
        }
        for s in 0..self.v_tag.len() {
            self.b.declare_as(self.v_tag[s], I8);
            self.b.declare_as(self.v_pay[s], I64);
        }
        for i in 0..depth_vars {
            let (t, p) = self.stack_var(i);
            self.b.declare_as(t, I8);
            self.b.declare_as(p, I64);
        }
        let resumable = !self.mode.resumes.is_empty();
        if resumable {
            let v = Variable::from_u32(4 + 2 * (self.v_tag.len() + depth_vars) as u32);
            self.b.declare_as(v, I64);
            self.mode.v_pos = Some(v);
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
        if let Some(v) = self.mode.v_pos {
            self.b.def_var(v, pos);
        }
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
        let resume = resumable.then(|| {
            let r = self.b.create_block();
            self.b.set_cold_block(r);
            r
        });
        match (calls, resumable) {
            (true, false) => {
                let left = self.b.ins().ireduce(I16, pos);
                let none_left = self.b.ins().icmp_imm(IntCC::Equal, left, 0);
                self.leave_if(none_left, leave);
            }
            // `left` is 0 (no frames left: leave) or `Place::RESUME` (a
            // resumed frame: its record) in one test, 1 + left <= 1 in
            // 16 bits.
            (true, true) => {
                let left = self.b.ins().ireduce(I16, pos);
                let up = self.b.ins().iadd_imm(left, 1);
                let special = self.b.ins().icmp_imm(IntCC::UnsignedLessThanOrEqual, up, 1);
                let which = self.b.create_block();
                self.b.set_cold_block(which);
                self.leave_if(special, which);
                let next = self.b.current_block().expect("switched to");
                self.b.switch_to_block(which);
                let is_resume = self.b.ins().icmp_imm(IntCC::Equal, up, 0);
                let resume = resume.expect("resumable");
                self.b.ins().brif(is_resume, resume, &[], leave, &[]);
                self.b.switch_to_block(next);
            }
            (false, true) => {
                let left = self.b.ins().ireduce(I16, pos);
                let up = self.b.ins().iadd_imm(left, 1);
                let is_resume = self.b.ins().icmp_imm(IntCC::Equal, up, 0);
                self.leave_if(is_resume, resume.expect("resumable"));
            }
            (false, false) => {}
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
        if let Some(r) = resume {
            self.b.switch_to_block(r);
            self.resume_entry(args[0], &checked);
        }

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
            if let Some(v) = self.mode.v_pos {
                self.mode.pos = self.b.use_var(v);
            }
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
    /// tags of the slots, then of the operands. A block that only earlier
    /// blocks enter (blocks are lowered in address order, and nothing
    /// enters a direct entry but its edges, the call and resumed frames)
    /// knows the meet over those edges; a loop header what `HeaderFacts`
    /// says.
    fn facts_at(&mut self, start: u32, h: usize) -> Option<Vec<Option<u8>>> {
        let plan = self.plan();
        let preds = plan.preds.get(&start).map(Vec::as_slice).unwrap_or(&[]);
        if !preds.iter().any(|&p| p >= start) {
            return self.meet_edges(start, h, false);
        }
        let slots = self.v_tag.len();
        match &mut self.mode.headers {
            HeaderFacts::Final(f) => f.get(&start).cloned(),
            HeaderFacts::Trial(seen, _) => {
                let prior = seen.get(&start).cloned();
                let forward = self.meet_edges(start, h, true);
                let facts = match (prior, forward) {
                    (Some(mut p), Some(f)) => {
                        for (x, y) in p.iter_mut().zip(f) {
                            if *x != y {
                                *x = None;
                            }
                        }
                        p
                    }
                    (Some(p), None) => p,
                    (None, Some(f)) => f,
                    (None, None) => vec![None; slots + h],
                };
                if let HeaderFacts::Trial(_, assumed) = &mut self.mode.headers {
                    assumed.insert(start, facts.clone());
                }
                Some(facts)
            }
        }
    }

    /// The meet of the tags along the edges into `start` lowered so far
    /// (and of the call's, at the function's first block); `None` when
    /// there is none or, unless `any`, when a later block enters it too.
    pub(super) fn meet_edges(&self, start: u32, h: usize, any: bool) -> Option<Vec<Option<u8>>> {
        let plan = self.plan();
        let preds = plan.preds.get(&start).map(Vec::as_slice).unwrap_or(&[]);
        if !any && preds.iter().any(|&p| p >= start) {
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
    /// callee that loops is left on its first block seen twice); a
    /// CALL_FUNCTION counts the most of any function value of its arity.
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
                match &p.code[at] {
                    crate::bytecode::Instr::Call(c) => {
                        if let Some(callee) = self.inline_plan(c.target) {
                            total += self.charges(&callee, levels - 1);
                        }
                    }
                    // The returning path of a function value called here
                    // is tried inline too (`direct_call_value`), without
                    // checks in the unchecked copy: the most any function
                    // value of the site's arity can charge.
                    crate::bytecode::Instr::CallFunction(_) => {
                        let k = plan.arity.get(&(at as u32)).copied();
                        total += self
                            .input
                            .values
                            .iter()
                            .filter(|v| k.is_none_or(|k| v.arity == k))
                            .filter_map(|v| self.inline_plan(v.target))
                            .map(|callee| self.charges(&callee, levels - 1))
                            .max()
                            .unwrap_or(0);
                    }
                    _ => {}
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
}
