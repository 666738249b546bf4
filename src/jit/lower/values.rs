//! CALL_FUNCTION of Functions and Closures in compiled code (issue 15).
//!
//! Every MAKE_FUNCTION and MAKE_LAMBDA of the program has its prototype
//! made once, when the program is loaded (`jit::direct::value_targets`),
//! so the prototype's pointer names the instruction that made a function
//! value: its entry, its parameters and, for a closure, the variables it
//! captures. A CALL_FUNCTION whose arity is known (`frame_heights`) is
//! compiled as a guard on the callee — its tag is Function or Closure,
//! its prototype (a Function's payload, a Closure's `proto` field) is one
//! of the candidates of that arity, and a closure's capture slots are the
//! ones expected — followed by the call of that candidate, as a CALL of
//! its entry binding its parameters and its captured variables: the
//! captured values are loaded from the closure inline and passed as
//! further arguments (a direct entry's, or the slots of a frame made
//! inline), with no helper. When the guard fails (another function, a
//! value that is not a function, another arity) the call goes through the
//! call helper in ordinary code, and a direct frame leaves at the
//! CALL_FUNCTION, whose complete semantics the interpreter then runs.

use super::env::{FrameEnv, Ordinary};
use super::{callee_slots, Item, Lower, MAX_INLINE_CALL_SLOTS};
use crate::jit::direct::{candidates, ValueTarget};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{I32, I64, I8};
use cranelift_codegen::ir::{self, InstBuilder};
use std::sync::{Arc, OnceLock};
use ttvm_runtime::value::tag::{CLOSURE, FUNCTION};
use ttvm_runtime::{Closure, FuncProto, Value};

/// A shift and a power-of-two size such that `(p >> shift) & (size - 1)`
/// differs for each of `protos` (prototype pointers, distinct): the
/// smallest table found, at most 64 entries; `None` when no shift
/// separates them.
fn perfect_hash(protos: &[u64]) -> Option<(u32, u64)> {
    let mut size = protos.len().next_power_of_two() as u64;
    while size <= 64 {
        for shift in 3..48 {
            let mut seen = 0u64;
            let distinct = protos.iter().all(|&p| {
                let bit = 1u64 << ((p >> shift) & (size - 1));
                let fresh = seen & bit == 0;
                seen |= bit;
                fresh
            });
            if distinct {
                return Some((shift, size));
            }
        }
        size *= 2;
    }
    None
}

/// Where a closure's fields are, from the payload word of its value (the
/// `Arc`'s pointer), measured on a closure made for the purpose.
#[derive(Clone, Copy, Debug)]
pub(super) struct ClosureLayout {
    /// The `proto` field (an `Arc<FuncProto>`: the same word as a
    /// Function's payload).
    proto: i32,
    /// The captured values' pointer and count (`Box<[(Atom, Value)]>`).
    caps_ptr: i32,
    caps_len: i32,
    /// The capture slots' pointer (`Box<[u32]>`).
    slots_ptr: i32,
    /// Bytes per captured entry, and where its `Value` is in it.
    stride: i32,
    value: i32,
}

pub(super) fn closure_layout() -> ClosureLayout {
    static LAYOUT: OnceLock<ClosureLayout> = OnceLock::new();
    *LAYOUT.get_or_init(|| {
        let proto = Arc::new(FuncProto {
            target_text: Arc::from("probe"),
            entry: 0,
            params: Box::new([]),
            param_slots: Box::new([]),
            frame_size: 0,
        });
        let name = ttvm_runtime::Atom::new("x");
        let captured: Box<[(ttvm_runtime::Atom, Value)]> =
            (0..3).map(|i| (name.clone(), Value::Int(i))).collect();
        let slots: Box<[u32]> = vec![7u32, 8, 9].into();
        let caps_at = captured.as_ptr() as usize;
        let slots_at = slots.as_ptr() as usize;
        let value = (&captured[0].1 as *const Value as usize - caps_at) as i32;
        let stride = std::mem::size_of::<(ttvm_runtime::Atom, Value)>() as i32;
        let arc = Arc::new(Closure {
            proto,
            captured,
            capture_slots: slots,
        });
        let data = Arc::as_ptr(&arc) as usize;
        let v = Value::Closure(arc);
        // SAFETY: a `Value` is 16 bytes, `repr(C, u8)`: the payload word
        // (the `Arc`'s pointer) is at offset 8.
        let base = unsafe { *((&v as *const Value as *const usize).add(1)) };
        let at = (data - base) as i32;
        let word = |off: i32| -> usize {
            // SAFETY: `off` is within the closure's allocation (a field of
            // the `Closure` inside it).
            unsafe { *((base as isize + off as isize) as *const usize) }
        };
        let fat = |field: usize, ptr: usize| -> (i32, i32) {
            let off = at + field as i32;
            if word(off) == ptr {
                (off, off + 8)
            } else {
                (off + 8, off)
            }
        };
        let (caps_ptr, caps_len) = fat(std::mem::offset_of!(Closure, captured), caps_at);
        let (slots_ptr, _) = fat(std::mem::offset_of!(Closure, capture_slots), slots_at);
        let l = ClosureLayout {
            proto: at + std::mem::offset_of!(Closure, proto) as i32,
            caps_ptr,
            caps_len,
            slots_ptr,
            stride,
            value,
        };
        assert_eq!(word(l.caps_len), 3, "a closure's capture count");
        drop(v);
        l
    })
}

impl<E: FrameEnv> Lower<'_, '_, '_, E> {
    /// Branch on function value `f`: to the block of the candidate it was
    /// made by, else to `miss`. The blocks returned are not yet switched
    /// to.
    ///
    /// A Function's prototype is its payload, a Closure's is loaded from
    /// it; the prototype is compared with the candidates' — in a chain
    /// for one or two prototypes, else through a `br_table` on a few bits
    /// of the pointer chosen when the site is compiled so that every
    /// candidate's prototype has a bucket of its own (a perfect hash):
    /// one compare whatever the number of candidates (issue 15: a site
    /// calling six kinds of closure). A closure's captures are then one
    /// compare of their count: the CAPTUREs a candidate expects are the
    /// ones in its MAKE_LAMBDA's block right before it
    /// (`jit::direct::value_targets`), and a MAKE_LAMBDA takes every
    /// pending capture of its frame, those last, so a closure made there
    /// with that many captures has exactly those. Only where two
    /// MAKE_LAMBDAs of one prototype capture as many variables are the
    /// slots compared too.
    fn value_dispatch(
        &mut self,
        f: Item,
        cands: &[ValueTarget],
        miss: ir::Block,
    ) -> Vec<ir::Block> {
        let l = closure_layout();
        let tag = self.tag_of(f);
        let hits: Vec<ir::Block> = cands.iter().map(|_| self.b.create_block()).collect();
        let fns: Vec<usize> = (0..cands.len())
            .filter(|&i| cands[i].captures.is_none())
            .collect();
        let cls: Vec<usize> = (0..cands.len())
            .filter(|&i| cands[i].captures.is_some())
            .collect();
        if !fns.is_empty() {
            let is_fn = self.b.ins().icmp_imm(IntCC::Equal, tag, FUNCTION as i64);
            let fn_blk = self.b.create_block();
            let not_fn = self.b.create_block();
            self.b.ins().brif(is_fn, fn_blk, &[], not_fn, &[]);
            self.b.switch_to_block(fn_blk);
            self.proto_switch(f.pay, None, &fns, cands, &hits, miss);
            self.b.switch_to_block(not_fn);
        }
        if !cls.is_empty() {
            let is_cl = self.b.ins().icmp_imm(IntCC::Equal, tag, CLOSURE as i64);
            let load = self.b.create_block();
            self.b.ins().brif(is_cl, load, &[], miss, &[]);
            self.b.switch_to_block(load);
            let p = self.b.ins().load(I64, self.mf, f.pay, l.proto);
            self.proto_switch(p, Some(f), &cls, cands, &hits, miss);
        } else {
            self.b.ins().jump(miss, &[]);
        }
        hits
    }

    /// Branch on prototype word `proto` to `hits[i]` of candidate `i` of
    /// `which` (all Functions, or all Closures: then `closure` is the
    /// value, whose captures are checked), else to `miss`.
    fn proto_switch(
        &mut self,
        proto: ir::Value,
        closure: Option<Item>,
        which: &[usize],
        cands: &[ValueTarget],
        hits: &[ir::Block],
        miss: ir::Block,
    ) {
        // The candidates of each prototype.
        let mut groups: Vec<(u64, Vec<usize>)> = Vec::new();
        for &i in which {
            match groups.iter_mut().find(|g| g.0 == cands[i].proto) {
                Some(g) => g.1.push(i),
                None => groups.push((cands[i].proto, vec![i])),
            }
        }
        let protos: Vec<u64> = groups.iter().map(|g| g.0).collect();
        let table = if groups.len() > 2 {
            perfect_hash(&protos)
        } else {
            None
        };
        let blocks: Vec<ir::Block> = groups.iter().map(|_| self.b.create_block()).collect();
        match table {
            Some((shift, size)) => {
                let h = self.b.ins().ushr_imm(proto, shift as i64);
                let h = self.b.ins().band_imm(h, size as i64 - 1);
                let h = self.b.ins().ireduce(I32, h);
                let mut targets: Vec<ir::BlockCall> = (0..size)
                    .map(|_| self.b.func.dfg.block_call(miss, &[]))
                    .collect();
                for (g, &blk) in groups.iter().zip(&blocks) {
                    targets[((g.0 >> shift) & (size - 1)) as usize] =
                        self.b.func.dfg.block_call(blk, &[]);
                }
                let default = self.b.func.dfg.block_call(miss, &[]);
                let jt = self
                    .b
                    .create_jump_table(ir::JumpTableData::new(default, &targets));
                self.b.ins().br_table(h, jt);
                for (g, &blk) in groups.iter().zip(&blocks) {
                    self.b.switch_to_block(blk);
                    let is = self.b.ins().icmp_imm(IntCC::Equal, proto, g.0 as i64);
                    let found = self.b.create_block();
                    self.b.ins().brif(is, found, &[], miss, &[]);
                    self.b.switch_to_block(found);
                    self.capture_checks(&g.1, closure, cands, hits, miss);
                }
            }
            None => {
                for (g, &blk) in groups.iter().zip(&blocks) {
                    let is = self.b.ins().icmp_imm(IntCC::Equal, proto, g.0 as i64);
                    let next = self.b.create_block();
                    self.b.ins().brif(is, blk, &[], next, &[]);
                    self.b.switch_to_block(blk);
                    self.capture_checks(&g.1, closure, cands, hits, miss);
                    self.b.switch_to_block(next);
                }
                self.b.ins().jump(miss, &[]);
            }
        }
    }

    /// The candidates `members` of one prototype: a Function's is a hit;
    /// a closure's captures are checked (their count, and their slots
    /// where another MAKE_LAMBDA of the prototype captures as many
    /// variables), the next candidate tried when they differ.
    fn capture_checks(
        &mut self,
        members: &[usize],
        closure: Option<Item>,
        cands: &[ValueTarget],
        hits: &[ir::Block],
        miss: ir::Block,
    ) {
        let l = closure_layout();
        for (j, &i) in members.iter().enumerate() {
            let c = &cands[i];
            let next = if j + 1 == members.len() {
                miss
            } else {
                self.b.create_block()
            };
            match (&c.captures, closure) {
                (Some(slots), Some(f)) => {
                    let n = self.b.ins().load(I64, self.mf, f.pay, l.caps_len);
                    let ok = self.b.ins().icmp_imm(IntCC::Equal, n, slots.len() as i64);
                    let same_count = self
                        .input
                        .values
                        .iter()
                        .filter(|v| {
                            v.proto == c.proto
                                && v.captures.as_ref().is_some_and(|s| s.len() == slots.len())
                        })
                        .count();
                    if same_count > 1 && !slots.is_empty() {
                        let check = self.b.create_block();
                        self.b.ins().brif(ok, check, &[], next, &[]);
                        self.b.switch_to_block(check);
                        let sp = self.b.ins().load(I64, self.mf, f.pay, l.slots_ptr);
                        let mut ok = self.b.ins().iconst(I8, 1);
                        for (k, &s) in slots.iter().enumerate() {
                            let v = self.b.ins().load(I32, self.mf, sp, 4 * k as i32);
                            let e = self.b.ins().icmp_imm(IntCC::Equal, v, s as i64);
                            ok = self.b.ins().band(ok, e);
                        }
                        self.b.ins().brif(ok, hits[i], &[], next, &[]);
                    } else {
                        self.b.ins().brif(ok, hits[i], &[], next, &[]);
                    }
                }
                _ => {
                    self.b.ins().jump(hits[i], &[]);
                }
            }
            if next != miss {
                self.b.switch_to_block(next);
            }
        }
    }

    /// The values closure `f` captured that candidate `c` binds, loaded
    /// (not counted: the caller adds their references once it calls).
    fn capture_items(&mut self, f: Item, c: &ValueTarget) -> Vec<Item> {
        if c.from.is_empty() {
            return Vec::new();
        }
        let l = closure_layout();
        let base = self.b.ins().load(I64, self.mf, f.pay, l.caps_ptr);
        c.from
            .iter()
            .map(|&k| {
                let o = k as i32 * l.stride + l.value;
                let tag = self.b.ins().load(I8, self.mf, base, o);
                let pay = self.b.ins().load(I64, self.mf, base, o + 8);
                Item {
                    tag,
                    pay,
                    known: None,
                    slot: None,
                }
            })
            .collect()
    }

    /// The miss path of the CALL_FUNCTION at `at` when its candidates are
    /// what the interpreter saw it call: counted, so that a site that
    /// goes on to call others is compiled again for all of its arity
    /// (`interp::callees`, `Jit::field_guards_failed`).
    fn count_value_miss(&mut self, at: u32) {
        use crate::interp::callees::{Seen, MISS_PERIOD};
        let Some(site) = self.input.callees.and_then(|c| c.site(at)) else {
            return;
        };
        if matches!(site.seen(), Seen::Protos(_)) {
            let count = &site.misses as *const std::sync::atomic::AtomicU32 as usize;
            self.count_miss_at(count, MISS_PERIOD);
        }
    }

    /// The candidates a CALL_FUNCTION at `at` passing `arity` arguments
    /// is compiled to call directly, among those `ok` admits.
    fn value_candidates(
        &self,
        at: u32,
        arity: usize,
        ok: impl Fn(&Self, &ValueTarget) -> bool,
    ) -> Vec<ValueTarget> {
        let heat = |t: u32| (self.input.callee)(t).map_or(0, |c| c.heat);
        let seen = self.input.seen(at);
        candidates(self.input.values, Some(arity), &seen, heat, |c| ok(self, c))
    }
}

impl Lower<'_, '_, '_, Ordinary> {
    /// CALL_FUNCTION in ordinary code: a guarded call of a candidate with
    /// its frame made inline (or its direct entry), else the call helper.
    pub(super) fn call_value(&mut self, at: u32, dpc: u32) {
        let p = self.input.program;
        let arity = self.input.site_arity.get(&at).copied();
        let cands = match arity {
            Some(k) if !p.tail_call(at) => self.value_candidates(at, k, |l, c| {
                callee_slots(p, c.target) <= MAX_INLINE_CALL_SLOTS
                    && (l.input.callee)(c.target).is_some()
            }),
            _ => Vec::new(),
        };
        let Some(k) = arity.filter(|_| !cands.is_empty()) else {
            return self.call(at, dpc);
        };
        self.flush_below(k + 1);
        let mut items = self.operands(k + 1, dpc);
        let f = items.pop().expect("the function");
        let args = items;
        let miss = self.b.create_block();
        let hits = self.value_dispatch(f, &cands, miss);
        let saved = (self.stack.clone(), self.known.clone());
        for (c, blk) in cands.iter().zip(hits) {
            self.b.switch_to_block(blk);
            self.stack = saved.0.clone();
            self.known = saved.1.clone();
            let mut a = args.clone();
            a.extend(self.capture_items(f, c));
            let callee = (self.input.callee)(c.target).expect("checked");
            self.call_frame(at, dpc, c.target, &c.binds, k, callee, a, Some(f));
        }
        self.b.switch_to_block(miss);
        self.count_value_miss(at);
        self.stack = saved.0;
        self.known = saved.1;
        self.unpop(&args);
        self.unpop(&[f]);
        self.call(at, dpc);
    }
}

impl<'p> Lower<'_, '_, '_, super::direct::Direct<'p>> {
    /// CALL_FUNCTION in a direct entry: a guarded direct call of a
    /// candidate (with its captured values as arguments), else the frame
    /// leaves at the CALL_FUNCTION.
    pub(super) fn direct_call_value(&mut self, at: u32, dpc: u32) {
        let Some(k) = self.mode.plan.arity.get(&at).copied() else {
            self.direct_bug("a CALL_FUNCTION of unknown arity");
            return self.exit_continue(dpc);
        };
        let me = (self.mode.plan.target, self.mode.plan.params.clone());
        let cands = self.value_candidates(at, k, |l, c| {
            (c.target == me.0 && c.binds == me.1)
                || (l.input.callee)(c.target)
                    .and_then(|k| k.direct)
                    .is_some_and(|(_, plan)| plan.params == c.binds)
        });
        let mut items = self.operands(k + 1, dpc);
        let f = items.pop().expect("the function");
        let args = items;
        if cands.is_empty() {
            self.unpop(&args);
            self.unpop(&[f]);
            return self.exit_continue(dpc);
        }
        let miss = self.b.create_block();
        let hits = self.value_dispatch(f, &cands, miss);
        let saved = (self.stack.clone(), self.known.clone());
        for (c, blk) in cands.iter().zip(hits) {
            self.b.switch_to_block(blk);
            self.stack = saved.0.clone();
            self.known = saved.1.clone();
            let mut a = args.clone();
            a.extend(self.capture_items(f, c));
            self.direct_call_to(at, dpc, c.target, &c.binds, k, a, Some(f));
        }
        self.b.switch_to_block(miss);
        self.count_value_miss(at);
        self.stack = saved.0;
        self.known = saved.1;
        self.unpop(&args);
        self.unpop(&[f]);
        self.exit_continue(dpc);
    }
}
