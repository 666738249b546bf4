//! Pre-decoding: the program's instructions become a flat array of compact
//! ops the dispatch loop runs directly.
//!
//! - Every basic block starts with a `Charge(cost)` op that does the
//!   reduction accounting of SPEC §4.6; jumps go to it.
//! - Common instructions get ops with their operands resolved (slots,
//!   decoded targets, call sites); the rest run through `Generic`, which
//!   executes the program's instruction with the complete semantics.
//! - Superinstructions fuse common sequences inside one block. A fused op
//!   stands at the position of the sequence's first instruction and the
//!   unfused ops stay behind it, so when a fused op's fast-path guard fails
//!   it simply runs its first instruction and continues one by one.

use super::picks::{covers, Pick};
use crate::bytecode::{Arith, Cmp};
use crate::bytecode::{Instr, Program};
use crate::exec::semantics::store_after;
use crate::exec::{Addr, Layout};
use ttvm_runtime::{Atom, Value};

/// A call site: everything a CALL needs, resolved.
#[derive(Debug)]
pub struct CallSite {
    /// Program address of the CALL itself.
    pub at: u32,
    /// Decoded address of the callee's entry.
    pub entry: u32,
    /// Program address of the callee's entry.
    pub target: u32,
    pub param_slots: Box<[u32]>,
    pub frame_size: u32,
    /// Decoded address of the op after the CALL (the return address: the
    /// loop does not work it out of its op pointer, a division per call).
    pub ret: u32,
    /// The callee's entry `Charge` folded into the call (see
    /// [`Op::Jmp`]): where its body starts and the charge's cost (0:
    /// nothing folded, `body` is `entry`).
    pub body: u32,
    pub cost: u32,
    /// The parameters' slots are the frame's slots, each once (a frame
    /// with no other slot, no parameter named twice): binding them moves
    /// the arguments in without emptying the slots first.
    pub exact: bool,
    /// Followed by RET: the frame is replaced, not stacked.
    pub tail: bool,
}

/// Where the second operand of a fused update comes from.
#[derive(Clone, Copy, Debug)]
pub enum Src {
    Const(u32),
    Local(u32),
}

/// A decoded op.
#[derive(Clone, Copy, Debug)]
pub enum Op {
    Charge(u32),
    /// `Charge` in code decoded for a JIT: first asks the tier-up hook.
    ChargeJit(u32),
    PushInt(i64),
    PushConst(u32),
    Dup,
    Pop,
    Swap,
    Over,
    Load(u32),
    /// A LOAD that is its variable's last use (`Program::moves`): a heap
    /// value is taken out of the variable.
    Move(u32),
    Store(u32),
    // The operators and comparisons, one op each (no second dispatch).
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// `ADD_F SUB_F MUL_F DIV_F`.
    ArithF(Arith),
    /// `EQ_F … LE_F`.
    CmpF(Cmp),
    Neg,
    Not,
    Len,
    Index,
    /// `APPEND`; the slot of the `STORE x` right after it in its block
    /// (`u32::MAX`: none): `x`'s reference to the list is dropped first,
    /// so a list stored back is changed in place (`release_for_store`).
    Append(u32),
    /// `SET_INDEX`, with the slot of a `STORE` after it as for `Append`.
    SetIndex(u32),
    ToFloat,
    /// `GET_FIELD name`, the name in [`Code::atoms`], the site's cache in
    /// [`Code::sites`] (same index).
    GetField(u32),
    /// `SET_FIELD name` (name and cache as for `GetField`); `store`: the
    /// slot of the `STORE` right after it in the same block (`u32::MAX`:
    /// none), which lets go of the object first when it holds it
    /// (`exec::semantics::release_for_store`).
    SetField {
        k: u32,
        store: u32,
    },
    /// A jump; the target block's `Charge` of `cost` folded in when
    /// `cost` is not 0 (`to` is then the op after it: the loop charges the
    /// block itself when the budget and the stack's room allow, else it
    /// jumps to the `Charge`, which preempts or grows the stack as it
    /// would have: [`Code::jump_to`]). The fused compare-and-branches'
    /// `cost`s are the same.
    Jmp {
        to: u32,
        cost: u32,
    },
    /// `GET_FIELD` (`false`) or `HAS_FIELD` (`true`) with the key on the
    /// stack (`keyed.rs`).
    ReadFieldRun(bool),
    /// `SET_FIELD` with the key on the stack, with the slot of the `STORE`
    /// after it (`u32::MAX`: none; `keyed.rs`).
    SetFieldRun(u32),
    Jz(u32),
    Jnz(u32),
    Call(u32),
    Ret,
    /// `CALL_FUNCTION` at program address `at`; `ret` the decoded
    /// address after it.
    CallFunction {
        tail: bool,
        at: u32,
        ret: u32,
    },
    /// `SEND` (the PID popped, or given).
    Send(Option<i64>),
    /// `RECEIVE` (no pattern, no timeout).
    Receive,
    /// `SQRT EXP LOG SIN COS` (`library::math`): the function of an Int
    /// or a Float on top, inline; anything else through `Library`'s path.
    FloatFn(fn(f64) -> f64),
    /// A library operation (`library::call`), with the opcode.
    Library(crate::bytecode::Opcode),
    /// Any other instruction: run the program's instruction at `orig`.
    Generic,
    // --- superinstructions ---
    /// `LOAD x; PUSH_INT k; ADD|SUB|…; STORE x`
    UpdateLocalInt {
        slot: u32,
        k: i64,
        op: Arith,
    },
    /// `LOAD x; PUSH_INT k; ADD|SUB|…`
    LoadArithInt {
        slot: u32,
        k: i64,
        op: Arith,
    },
    /// `LOAD x; PUSH_INT k; <cmp>; JZ|JNZ t` (`when`: see [`when`]).
    LoadCmpIntJump {
        slot: u32,
        k: i64,
        when: u8,
        target: u32,
        cost: u32,
    },
    /// `<cmp>; JZ|JNZ t`
    CmpJump {
        cmp: Cmp,
        jump_if: bool,
        when: u8,
        target: u32,
    },
    /// `LOAD y; ADD|SUB|MUL|DIV|MOD`: the right operand read from the
    /// variable (any operator, any operand below it).
    ArithLocal {
        op: Arith,
        slot: u32,
    },
    /// `LOAD y; <cmp>; JZ|JNZ t`: a compare-and-branch whose right operand
    /// is read from the variable.
    CmpLocalJump {
        slot: u32,
        cmp: Cmp,
        jump_if: bool,
        when: u8,
        target: u32,
        cost: u32,
    },
    /// `LOAD x; PUSH_* c | LOAD y; APPEND|CONCAT; STORE x` done in place.
    UpdateLocalInPlace {
        slot: u32,
        src: Src,
        concat: bool,
    },
    /// `LOAD a; LOAD b; <cmp>; JZ|JNZ t`: a compare-and-branch of two
    /// variables (`when` as for [`Op::LoadCmpIntJump`]), inline for two
    /// Ints; anything else runs the first LOAD and goes on unfused.
    CmpLocalsJump {
        a: u32,
        b: u32,
        when: u8,
        target: u32,
        cost: u32,
    },
    /// `LOAD l; LOAD i; LOAD v | PUSH_* c; SET_INDEX; STORE l`: element
    /// `i` of the List in `l` set in the variable, in place when the
    /// variable holds the list's only reference (else copied first, as
    /// SET_INDEX does), with no push, pop or count of the list. `take`:
    /// the `LOAD v` is `v`'s last use (a heap value moves out of `v`, as
    /// `Op::Move`). Not an Int index in range, not a List, an unset
    /// variable: the first LOAD runs and the rest goes on unfused.
    SetIndexLocal {
        slot: u32,
        index: u32,
        src: Src,
        take: bool,
    },
    // --- operands read in place from a variable ---
    // A LOAD (not a moving one) whose value the next op only reads: the
    // op reads it where the variable holds it, so a heap value's
    // reference count is not raised by the LOAD and lowered again by the
    // reader, and there is no dispatch in between. When the fast path
    // does not apply, the LOAD runs and the ops behind it go on unfused
    // (errors, wrong types, out-of-range indices as before).
    /// `LOAD x; GET_FIELD name` (`k` as for [`Op::GetField`]).
    GetFieldLocal {
        slot: u32,
        k: u32,
    },
    /// `LOAD x; LEN` on a List.
    LenLocal(u32),
    /// `LOAD l; LOAD i; INDEX`: element `i` of the List in `l`. `take`:
    /// the program puts the place back before anything reads `l`
    /// (`jit::may_take`), so when `l`'s reference is the list's only one
    /// the element is moved out, Null in its place, instead of shared
    /// (a body read from a list, changed and stored back is then changed
    /// in place, not copied).
    IndexLocal {
        slot: u32,
        index: u32,
        take: bool,
    },
    /// `LOAD l; PUSH_INT k; INDEX` (`0 <= k <= u32::MAX`). (No take of a
    /// list's parts, `jit::may_take_place`: measured, freeing the parts
    /// one list at a time cost binary-trees 4 % more instructions than the
    /// counts it saves.)
    IndexLocalInt {
        slot: u32,
        k: u32,
    },
    /// `LOAD f; CALL_FUNCTION` (not a tail call): the Function or Closure
    /// in `f` called without taking it out of the variable; `at` is the
    /// CALL_FUNCTION's program address, `ret` the decoded address after it.
    CallLocal {
        slot: u32,
        at: u32,
        ret: u32,
    },
    // --- second reads from the stack (`picks.rs`) ---
    /// A `LOAD x` whose value is already on the stack, `n` values below
    /// the top (the window's first `LOAD x` moved it there): a copy of it.
    Pick(u32),
    /// `Pick(depth); GET_FIELD name`: the field of the Object there, read
    /// in place (else the pick and GET_FIELD unfused).
    GetFieldPick {
        depth: u32,
        k: u32,
    },
    /// `Pick(depth); LOAD i; INDEX`: element `i` of the List there, read
    /// in place (else the pick and the rest unfused).
    IndexPick {
        depth: u32,
        index: u32,
    },
}

impl Op {
    /// The op of an operator.
    fn arith(op: Arith) -> Op {
        match op {
            Arith::Add => Op::Add,
            Arith::Sub => Op::Sub,
            Arith::Mul => Op::Mul,
            Arith::Div => Op::Div,
            Arith::Mod => Op::Mod,
        }
    }

    /// The op of a comparison.
    fn cmp(cmp: Cmp) -> Op {
        match cmp {
            Cmp::Eq => Op::Eq,
            Cmp::Ne => Op::Ne,
            Cmp::Lt => Op::Lt,
            Cmp::Le => Op::Le,
            Cmp::Gt => Op::Gt,
            Cmp::Ge => Op::Ge,
        }
    }
}

/// A program decoded for the interpreter.
#[derive(Debug)]
pub struct Code {
    pub ops: Vec<Op>,
    /// Where each instruction's op is (the JIT's entries use the same).
    pub layout: Layout,
    pub calls: Vec<CallSite>,
    pub consts: Vec<Value>,
    /// Field names of `GetField`/`SetField` ops.
    pub atoms: Vec<Atom>,
    /// Their sites' caches (`FieldSite`), index for index (shared with
    /// the JIT, which reads the kinds they record: `Jit::set_field_sites`).
    pub sites: std::sync::Arc<[ttvm_runtime::value::FieldSite]>,
    /// The program address of each site's instruction, index for index
    /// (an instruction read by a fused op and by its own op has two).
    pub site_at: Vec<u32>,
    /// What each `CALL_FUNCTION` site has called (recorded with a JIT:
    /// `callees.rs`).
    pub callees: super::callees::Callees,
    /// Per program address: the cost of the `Charge` a jump there may
    /// fold in (0: none; [`Code::jump_to`]); emptied after decoding.
    folds: Vec<u32>,
}

impl Code {
    /// Decode `p`; `fuse` enables superinstructions (off under --debug/--trace);
    /// `jit` makes every header block (loop headers, function entries:
    /// [`Program::headers`]) ask the tier-up hook. Other blocks do not ask
    /// (one test and load less per block): the interpreter enters compiled
    /// code at the next header, or the engine at the next slice or return.
    pub fn new(p: &Program, fuse: bool, jit: bool) -> Code {
        let header = if jit { p.headers() } else { Vec::new() };
        let n = p.code.len();
        let layout = Layout::new(p);
        let mut code = Code {
            ops: Vec::with_capacity(layout.len()),
            layout,
            calls: Vec::new(),
            consts: Vec::new(),
            atoms: Vec::new(),
            sites: std::sync::Arc::from(Vec::new()),
            site_at: Vec::new(),
            callees: super::callees::Callees::new(p, jit),
            folds: (0..n)
                .map(|i| match p.block_start[i] && header.get(i) != Some(&true) {
                    true => p.block_cost[i],
                    false => 0,
                })
                .collect(),
        };
        let picks = if fuse {
            super::picks::picks(p)
        } else {
            Vec::new()
        };
        for i in 0..n {
            if p.block_start[i] {
                code.ops.push(if header.get(i) == Some(&true) {
                    Op::ChargeJit(p.block_cost[i])
                } else {
                    Op::Charge(p.block_cost[i])
                });
            }
            let op = match (picks.get(i), &p.code[i]) {
                (Some(Pick::Take), Instr::Load(v)) => Op::Move(v.slot),
                (Some(&Pick::At(d)), _) => code.pick(p, i, d),
                _ => fuse
                    .then(|| code.fuse(p, i, &picks))
                    .flatten()
                    .unwrap_or_else(|| code.decode(p, i)),
            };
            code.ops.push(op);
        }
        debug_assert_eq!(code.ops.len(), code.layout.len());
        code.folds = Vec::new();
        code.sites = code.atoms.iter().map(|_| Default::default()).collect();
        code
    }

    fn target(&self, t: u32) -> u32 {
        self.layout.dpc(Addr(t)).0
    }

    /// The decoded address after instruction `i`'s own op (a call's
    /// return address).
    fn after(&self, i: usize) -> u32 {
        self.layout.resume(Addr(i as u32)).0 + 1
    }

    /// A jump to program address `t` with the `Charge` of its block
    /// folded in (see [`Op::Jmp`]): the decoded address after the
    /// `Charge` and its cost; or `t`'s decoded address and 0 where there
    /// is none to fold (a `ChargeJit`, which asks the tier-up hook first;
    /// a block of cost 0; the end of the code).
    fn jump_to(&self, t: u32) -> (u32, u32) {
        let d = self.target(t);
        match self.folds.get(t as usize) {
            Some(&cost) if cost != 0 => (d + 1, cost),
            _ => (d, 0),
        }
    }

    /// A field site of the instruction at `at`: its name (its cache is
    /// made with the others at the end of `Code::new`).
    fn site(&mut self, name: &Atom, at: usize) -> u32 {
        self.atoms.push(name.clone());
        self.site_at.push(at as u32);
        (self.atoms.len() - 1) as u32
    }

    fn constant(&mut self, v: Value) -> u32 {
        self.consts.push(v);
        (self.consts.len() - 1) as u32
    }

    fn decode(&mut self, p: &Program, i: usize) -> Op {
        let tail = p.tail_call(i as u32);
        let instr = &p.code[i];
        match instr.constant() {
            Some(Value::Int(n)) => return Op::PushInt(n),
            Some(v) => return Op::PushConst(self.constant(v)),
            None => {}
        }
        match (instr.arith(), instr.cmp()) {
            (Some((op, false)), _) => return Op::arith(op),
            (Some((op, true)), _) => return Op::ArithF(op),
            (_, Some((cmp, false))) => return Op::cmp(cmp),
            (_, Some((cmp, true))) => return Op::CmpF(cmp),
            _ => {}
        }
        if let Some(t) = instr.target() {
            return match instr.branch() {
                None => {
                    let (to, cost) = self.jump_to(t);
                    Op::Jmp { to, cost }
                }
                Some((false, _)) => Op::Jz(self.target(t)),
                Some((true, _)) => Op::Jnz(self.target(t)),
            };
        }
        match instr {
            Instr::Dup(_) => Op::Dup,
            Instr::Pop(_) => Op::Pop,
            Instr::Swap(_) => Op::Swap,
            Instr::Over(_) => Op::Over,
            Instr::Load(v) if p.moves_at(i as u32) => Op::Move(v.slot),
            Instr::Load(v) => Op::Load(v.slot),
            Instr::Store(v) => Op::Store(v.slot),
            Instr::Ret(_) => Op::Ret,
            Instr::Call(c) => {
                let frame_size = p.layout_at(c.target).names.len() as u32;
                let (body, cost) = self.jump_to(c.target);
                let mut slots = c.param_slots.to_vec();
                slots.sort_unstable();
                self.calls.push(CallSite {
                    at: i as u32,
                    entry: self.target(c.target),
                    target: c.target,
                    param_slots: c.param_slots.clone(),
                    frame_size,
                    ret: self.after(i),
                    body,
                    cost,
                    exact: slots.iter().copied().eq(0..frame_size),
                    tail,
                });
                Op::Call((self.calls.len() - 1) as u32)
            }
            Instr::CallFunction(_) => Op::CallFunction {
                tail,
                at: i as u32,
                ret: self.after(i),
            },
            Instr::Send(to) => Op::Send(to.0),
            Instr::Neg(_) => Op::Neg,
            Instr::Not(_) => Op::Not,
            Instr::Len(_) => Op::Len,
            Instr::Index(_) => Op::Index,
            Instr::Append(_) => Op::Append(store_after(p, i as u32).unwrap_or(u32::MAX)),
            Instr::SetIndex(_) => Op::SetIndex(store_after(p, i as u32).unwrap_or(u32::MAX)),
            Instr::ToFloat(_) => Op::ToFloat,
            Instr::GetField(f) => match &f.0 {
                Some(name) => Op::GetField(self.site(name, i)),
                None => Op::ReadFieldRun(false),
            },
            Instr::HasField(f) if f.0.is_none() => Op::ReadFieldRun(true),
            Instr::SetField(f) => match &f.0 {
                Some(name) => Op::SetField {
                    k: self.site(name, i),
                    store: crate::exec::semantics::store_after(p, i as u32).unwrap_or(u32::MAX),
                },
                None => Op::SetFieldRun(
                    crate::exec::semantics::store_after(p, i as u32).unwrap_or(u32::MAX),
                ),
            },
            Instr::Receive(_) => Op::Receive,
            Instr::Sqrt(_) => Op::FloatFn(f64::sqrt),
            Instr::Exp(_) => Op::FloatFn(f64::exp),
            Instr::Log(_) => Op::FloatFn(f64::ln),
            Instr::Sin(_) => Op::FloatFn(f64::sin),
            Instr::Cos(_) => Op::FloatFn(f64::cos),
            other if other.opcode().info().library => Op::Library(other.opcode()),
            _ => Op::Generic,
        }
    }

    /// A pick at `i` (`picks.rs`): the copy of the value `d` below the
    /// top, fused with the op that consumes it when that only reads it
    /// (`GET_FIELD name`, `LOAD j; INDEX` in the same block).
    fn pick(&mut self, p: &Program, i: usize, d: u32) -> Op {
        let next =
            |k: usize| (i + k < p.code.len() && !p.block_start[i + k]).then(|| &p.code[i + k]);
        match (next(1), next(2)) {
            (Some(Instr::GetField(f)), _) => match &f.0 {
                Some(name) => Op::GetFieldPick {
                    depth: d,
                    k: self.site(name, i + 1),
                },
                None => Op::Pick(d),
            },
            (Some(Instr::Load(j)), Some(Instr::Index(_))) => Op::IndexPick {
                depth: d,
                index: j.slot,
            },
            _ => Op::Pick(d),
        }
    }

    /// A superinstruction starting at `i`, if the sequence there fits one
    /// (none that would read a variable a pick window emptied, `picks`).
    fn fuse(&mut self, p: &Program, i: usize, picks: &[Pick]) -> Option<Op> {
        // The instructions after the first must not start blocks.
        let window = |len: usize| -> Option<&[Instr]> {
            if i + len > p.code.len()
                || (i + 1..i + len).any(|j| p.block_start[j])
                || covers(picks, i, len)
            {
                None
            } else {
                Some(&p.code[i..i + len])
            }
        };
        // The fused Int updates take the operators that cannot raise.
        let arith = |ins: &Instr| match ins.arith() {
            Some((op @ (Arith::Add | Arith::Sub | Arith::Mul), false)) => Some(op),
            _ => None,
        };
        let cmp = |ins: &Instr| ins.cmp().filter(|c| !c.1).map(|c| c.0);
        let branch = Instr::branch;
        // A list element set from variables or a constant, in the
        // variable (`Op::SetIndexLocal`).
        if let Some([Instr::Load(l), Instr::Load(k), val, Instr::SetIndex(_), Instr::Store(y)]) =
            window(5)
        {
            if l.slot == y.slot && k.slot != l.slot {
                let src = match val {
                    Instr::Load(v) if v.slot != l.slot => {
                        Some((Src::Local(v.slot), p.moves_at(i as u32 + 2)))
                    }
                    Instr::Load(_) => None,
                    other => other
                        .constant()
                        .map(|c| (Src::Const(self.constant(c)), false)),
                };
                if let Some((src, take)) = src {
                    return Some(Op::SetIndexLocal {
                        slot: l.slot,
                        index: k.slot,
                        src,
                        take,
                    });
                }
            }
        }
        if let Some([Instr::Load(x), Instr::PushInt(k), op, Instr::Store(y)]) = window(4) {
            if let (Some(op), true) = (arith(op), x.slot == y.slot) {
                let (op, k) = add_for_sub(op, *k);
                return Some(Op::UpdateLocalInt {
                    slot: x.slot,
                    k,
                    op,
                });
            }
        }
        if let Some([Instr::Load(x), Instr::PushInt(k), c, b]) = window(4) {
            if let (Some(cmp), Some((jump_if, t))) = (cmp(c), branch(b)) {
                let (target, cost) = self.jump_to(t);
                return Some(Op::LoadCmpIntJump {
                    slot: x.slot,
                    k: *k,
                    when: when(cmp, jump_if),
                    target,
                    cost,
                });
            }
        }
        if let Some([Instr::Load(a), Instr::Load(b), c, br]) = window(4) {
            if let (Some(cmp), Some((jump_if, t))) = (cmp(c), branch(br)) {
                let (target, cost) = self.jump_to(t);
                return Some(Op::CmpLocalsJump {
                    a: a.slot,
                    b: b.slot,
                    when: when(cmp, jump_if),
                    target,
                    cost,
                });
            }
        }
        if let Some([Instr::Load(x), mid, upd, Instr::Store(y)]) = window(4) {
            let concat = upd.grow();
            let src = match mid {
                Instr::Load(z) if z.slot != x.slot => Some(Src::Local(z.slot)),
                other => other.constant().map(|v| Src::Const(self.constant(v))),
            };
            if let (Some(concat), Some(src), true) = (concat, src, x.slot == y.slot) {
                return Some(Op::UpdateLocalInPlace {
                    slot: x.slot,
                    src,
                    concat,
                });
            }
        }
        if let Some([Instr::Load(x), Instr::PushInt(k), op]) = window(3) {
            if let Some(op) = arith(op) {
                let (op, k) = add_for_sub(op, *k);
                return Some(Op::LoadArithInt {
                    slot: x.slot,
                    k,
                    op,
                });
            }
        }
        // Operands read from a variable: a LOAD (not a moving one: that
        // takes a heap value out of the variable) right before an
        // operator or a compare-and-branch, whatever is below it.
        if let Some([Instr::Load(y), c, b]) = window(3) {
            if let (Some(cmp), Some((jump_if, t)), false) =
                (cmp(c), branch(b), p.moves_at(i as u32))
            {
                let (target, cost) = self.jump_to(t);
                return Some(Op::CmpLocalJump {
                    slot: y.slot,
                    cmp,
                    jump_if,
                    when: when(cmp, jump_if),
                    target,
                    cost,
                });
            }
        }
        if let Some([Instr::Load(y), op]) = window(2) {
            if let (Some((op, false)), false) = (op.arith(), p.moves_at(i as u32)) {
                return Some(Op::ArithLocal { op, slot: y.slot });
            }
        }
        if let Some([c, b]) = window(2) {
            if let (Some(cmp), Some((jump_if, t))) = (cmp(c), branch(b)) {
                return Some(Op::CmpJump {
                    cmp,
                    jump_if,
                    when: when(cmp, jump_if),
                    target: self.target(t),
                });
            }
        }
        // Operands read in place (see `Op::GetFieldLocal`): never for a
        // moving LOAD (its value leaves the variable).
        if p.moves_at(i as u32) {
            return None;
        }
        if let Some([Instr::Load(l), ix, Instr::Index(_)]) = window(3) {
            match ix {
                Instr::Load(y) => {
                    return Some(Op::IndexLocal {
                        slot: l.slot,
                        index: y.slot,
                        take: crate::jit::may_take(p, i + 2, l.slot, y.slot),
                    })
                }
                Instr::PushInt(k) => {
                    if let Ok(k) = u32::try_from(*k) {
                        return Some(Op::IndexLocalInt { slot: l.slot, k });
                    }
                }
                _ => {}
            }
        }
        match window(2) {
            Some([Instr::Load(x), Instr::GetField(f)]) => {
                f.0.as_ref().map(|name| Op::GetFieldLocal {
                    slot: x.slot,
                    k: self.site(name, i + 1),
                })
            }
            Some([Instr::Load(x), Instr::Len(_)]) => Some(Op::LenLocal(x.slot)),
            Some([Instr::Load(x), Instr::CallFunction(_)]) if !p.tail_call(i as u32 + 1) => {
                Some(Op::CallLocal {
                    slot: x.slot,
                    at: i as u32 + 1,
                    ret: self.after(i) + 1,
                })
            }
            _ => None,
        }
    }
}

/// `x - k` is `x + (-k)` in wrapping arithmetic: the fused Int updates
/// run only ADD and MUL (one test instead of a switch on the operator).
fn add_for_sub(op: Arith, k: i64) -> (Arith, i64) {
    match op {
        Arith::Sub => (Arith::Add, k.wrapping_neg()),
        op => (op, k),
    }
}

/// When a fused compare-and-branch jumps, as a mask of orderings: bit
/// `o + 1` is set when it jumps for `a.cmp(b)` = `o` (-1, 0, 1). The
/// dispatch loop tests the bit instead of switching on the comparison.
pub fn when(cmp: Cmp, jump_if: bool) -> u8 {
    let holds = match cmp {
        Cmp::Lt => 0b001,
        Cmp::Le => 0b011,
        Cmp::Eq => 0b010,
        Cmp::Ne => 0b101,
        Cmp::Gt => 0b100,
        Cmp::Ge => 0b110,
    };
    if jump_if {
        holds
    } else {
        holds ^ 0b111
    }
}

/// Whether a fused compare-and-branch with mask `when` jumps for `a`, `b`.
#[inline(always)]
pub fn jumps(when: u8, a: i64, b: i64) -> bool {
    let o = (a > b) as u32 + 1 - (a < b) as u32;
    (when >> o) & 1 != 0
}

/// How many program instructions a fused op covers (1 for plain ops).
pub fn width(op: &Op) -> u32 {
    match op {
        Op::UpdateLocalInt { .. }
        | Op::LoadCmpIntJump { .. }
        | Op::UpdateLocalInPlace { .. }
        | Op::CmpLocalsJump { .. } => 4,
        Op::SetIndexLocal { .. } => 5,
        Op::LoadArithInt { .. } | Op::CmpLocalJump { .. } => 3,
        Op::IndexLocal { .. } | Op::IndexLocalInt { .. } => 3,
        Op::CmpJump { .. }
        | Op::ArithLocal { .. }
        | Op::GetFieldLocal { .. }
        | Op::LenLocal(_)
        | Op::CallLocal { .. }
        | Op::GetFieldPick { .. } => 2,
        Op::IndexPick { .. } => 3,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every folded jump (a JMP, a fused loop branch, a CALL's entry)
    /// lands right after a `Charge` of the cost it carries; an unfolded
    /// one on its target's own first op; a `ChargeJit` (code for a JIT)
    /// is never folded. A call site's `exact` holds when its parameters
    /// are its frame's slots.
    #[test]
    fn folded_jumps_carry_their_blocks_charge() {
        let src = "PUSH_INT 0\nSTORE i\nLABEL loop\nLOAD i\nPUSH_INT 1\nADD\nSTORE i\n\
                   LOAD i\nPUSH_INT 10\nLT\nJNZ loop\nPUSH_INT 3\nCALL f n\nPUSH_INT 1\n\
                   PUSH_INT 2\nCALL g a b\nJMP end\nLABEL end\nHALT\n\
                   LABEL f\nLOAD n\nRET\nLABEL g\nLOAD a\nSTORE c\nLOAD c\nRET\n";
        let p = crate::load_source("t.ttvm", src).expect("assembles");
        for jit in [false, true] {
            let code = Code::new(&p, true, jit);
            let check = |to: u32, cost: u32| {
                if cost == 0 {
                    return;
                }
                assert!(to >= 1, "jit {jit}");
                match code.ops[to as usize - 1] {
                    Op::Charge(c) => assert_eq!(c, cost, "jit {jit}"),
                    other => panic!("jit {jit}: folded jump after {other:?}"),
                }
            };
            let mut folded = 0;
            for op in &code.ops {
                match *op {
                    Op::Jmp { to, cost }
                    | Op::LoadCmpIntJump {
                        target: to, cost, ..
                    }
                    | Op::CmpLocalJump {
                        target: to, cost, ..
                    }
                    | Op::CmpLocalsJump {
                        target: to, cost, ..
                    } => {
                        check(to, cost);
                        folded += (cost != 0) as u32;
                    }
                    _ => {}
                }
            }
            for site in &code.calls {
                check(site.body, site.cost);
                assert_eq!(site.body, site.entry + (site.cost != 0) as u32);
                folded += (site.cost != 0) as u32;
            }
            assert_eq!(
                code.calls.iter().map(|c| c.exact).collect::<Vec<_>>(),
                [true, false]
            );
            // Without a JIT the loop's branch, the JMP and both entries
            // fold; with one, the loop header and the entries ask the
            // tier-up hook (`ChargeJit`), so only the JMP's target folds.
            assert_eq!(folded, if jit { 1 } else { 4 }, "jit {jit}");
        }
    }
}
