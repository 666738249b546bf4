//! Resuming preempted direct frames in direct code (docs/JIT.md,
//! "Resuming"): which block starts are resume entries (the loop headers of
//! each direct plan, `DirectPlan::resumes`), when the engine may use one
//! (`Jit::resumable`), the record it passes (`Record`), the trampolines
//! it calls direct entries through, and the counts `--stats` shows.
//!
//! The lowering of the entry is `lower/resume.rs`; the engine's side
//! (moving the frame into the record, and what it does when the frame
//! returns or leaves) is `engine/resume.rs`.

use super::code::{direct_sig, CodeMemory};
use super::{Jit, Unit};
use crate::exec::native::MAX_DIRECT_DEPTH;
use crate::exec::{Addr, Context, FrameKind, Layout};
use cranelift_codegen::ir::types::{I64, I8};
use cranelift_codegen::ir::{AbiParam, InstBuilder, MemFlags, Signature};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

/// The record a resumed frame's direct entry reads: at [`Record::PLACE`]
/// its real `place`, at [`Record::INDEX`] the index of its block among
/// the plan's resumes, then its slots and its operands (bottom first),
/// 16 bytes each, as the process held them.
pub(crate) struct Record;

impl Record {
    pub const PLACE: i32 = 0;
    pub const INDEX: i32 = 8;
    /// Bytes before the first value.
    pub const HEADER: usize = 16;
    /// How far up the record's address is in the `place` argument (above
    /// the `left` field, which is `Place::RESUME`).
    pub const ADDR_SHIFT: i64 = 16;

    /// The offset of value `i` (slots first, then operands).
    pub fn value(i: usize) -> i32 {
        (Self::HEADER + 16 * i) as i32
    }
}

/// The `left` field of `place` that marks a resumed frame (no chain has
/// that many frames left: at most `MAX_DIRECT_DEPTH`).
pub(crate) const RESUME_MARK: u64 = 0xffff;

/// A resumed run that left compiled code other than preempted (a guard, a
/// call it could not make, an exception) is a miss (the engine resumes
/// no frame in direct code for the rest of that slice); after [`MISSES`]
/// misses in a row of one unit, its frames go on in ordinary compiled
/// code again, as before resume entries (a frame that leaves every time
/// it is resumed: a guard that always fails, a callee without a direct
/// entry). Misses while callees are still being compiled end with their
/// compilation (a run that returns or is preempted resets the count).
const MISSES: u32 = 64;

/// A block start where a frame can resume in direct code, or one inside
/// a loop from where the interpreter runs to the loop's header.
#[derive(Clone, Copy, Debug)]
struct Entry {
    /// The unit whose direct plan it is in.
    unit: u32,
    /// Its index among the plan's resumes (`u32::MAX`: a block inside a
    /// loop, `DirectPlan::loop_bodies`).
    index: u32,
    /// The plan's operand stack height there.
    depth: u32,
}

/// What the engine does with a process at a block start (see
/// [`Jit::resumable`]).
pub(crate) enum Resuming {
    /// Nothing special: compiled code or the interpreter as usual.
    No,
    /// Resume its innermost frame in direct code here.
    Now(Resume),
    /// The interpreter runs the frame up to its loop's header (where it
    /// resumes), rather than its ordinary code, which would keep it to
    /// the end of the call.
    ToHeader,
}

/// What the JIT keeps for resuming (one field of `Jit`).
pub(super) struct Resumes {
    /// Decoded address → index in `entries` + 1 (0: none).
    at: Vec<u32>,
    entries: Vec<Entry>,
    /// Per unit: the trampoline its direct entry is called through (0:
    /// none yet), misses in a row, and resuming given up.
    tramp: Vec<AtomicUsize>,
    missed: Vec<AtomicU32>,
    off: Vec<AtomicBool>,
    /// Trampolines by argument count and values returned (compiled
    /// under `Jit::mem`).
    tramps: Mutex<HashMap<(usize, usize), usize>>,
    /// `--stats`: frames resumed in direct code, and resumed runs that
    /// left other than preempted.
    pub(super) total: AtomicU64,
    pub(super) misses: AtomicU64,
}

impl Resumes {
    /// The resume entries of `units`' direct plans.
    pub(super) fn new(units: &[Unit], layout: &Layout) -> Resumes {
        let mut at = vec![0u32; layout.len()];
        let mut entries = Vec::new();
        for (u, unit) in units.iter().enumerate() {
            let Some(Ok(plan)) = &unit.direct_plan else {
                continue;
            };
            let heads = plan.resumes().into_iter().enumerate();
            let bodies = plan
                .loop_bodies()
                .into_iter()
                .map(|b| (u32::MAX as usize, b));
            for (index, b) in heads.chain(bodies) {
                let d = layout.dpc(Addr(b)).ix();
                // A block in two plans (two entries of one frame layout):
                // the first one's.
                if at[d] != 0 {
                    continue;
                }
                entries.push(Entry {
                    unit: u as u32,
                    index: index as u32,
                    depth: plan.depth[&b] as u32,
                });
                at[d] = entries.len() as u32;
            }
        }
        let n = units.len();
        Resumes {
            at,
            entries,
            tramp: (0..n).map(|_| AtomicUsize::new(0)).collect(),
            missed: (0..n).map(|_| AtomicU32::new(0)).collect(),
            off: (0..n).map(|_| AtomicBool::new(false)).collect(),
            tramps: Mutex::new(HashMap::new()),
            total: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }
}

/// A frame the engine can resume in direct code, and how.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Resume {
    /// The trampoline and the direct entry it calls.
    pub tramp: usize,
    pub code: usize,
    /// The frame's `place` (frames left, operand base, first slot).
    pub place: u64,
    /// `JitEnv::dlimit` for the run.
    pub dlimit: u64,
    /// The block's index among the plan's resumes.
    pub index: u32,
    /// The frame's operands at the block start, and its operand base.
    pub items: usize,
    pub sb: usize,
    /// The unit (for [`Jit::resumed`]).
    pub unit: u32,
    /// The values the function returns (`DirectPlan::rets`): what the
    /// engine pushes when the resumed frame returns.
    pub rets: usize,
}

impl Jit {
    /// Whether the process in `ctx` can go on at `ctx.pc` in direct code:
    /// a resume entry of a function whose direct entry is compiled, the
    /// innermost frame a call of that function holding its slots last,
    /// no handler of that frame in force, and room for a chain of direct
    /// calls below the limits, as where ordinary code starts one
    /// (`lower::direct_calls`, `enter_direct`).
    ///
    /// At a block inside a loop, with the same frame: `ToHeader`.
    #[inline]
    pub(crate) fn resumable(&self, ctx: &Context) -> Resuming {
        let r = &self.resume;
        match r.at.get(ctx.pc.ix()) {
            None | Some(0) => Resuming::No,
            Some(&i) => self.resumable_at(ctx, r.entries[i as usize - 1]),
        }
    }

    /// The tag of an unset variable, which a direct entry returns when it
    /// left compiled code.
    pub(crate) fn none_tag(&self) -> u8 {
        self.none_tag
    }

    fn resumable_at(&self, ctx: &Context, e: Entry) -> Resuming {
        match self.resumable_entry(ctx, e) {
            Some(r) if e.index != u32::MAX => Resuming::Now(r),
            Some(_) => Resuming::ToHeader,
            None => Resuming::No,
        }
    }

    fn resumable_entry(&self, ctx: &Context, e: Entry) -> Option<Resume> {
        let r = &self.resume;
        let u = e.unit as usize;
        if r.off[u].load(Ordering::Relaxed) {
            return None;
        }
        // T5 for the trampoline and the direct entry (published before
        // the trampoline, both under `Jit::mem`).
        let tramp = r.tramp[u].load(Ordering::Acquire);
        if tramp == 0 {
            return None;
        }
        let code = self.units[u].direct.load(Ordering::Acquire);
        let Some(Ok(plan)) = &self.units[u].direct_plan else {
            return None;
        };
        let frame = ctx.frames.last()?;
        let depth = ctx.frames.len();
        let (lb, size) = (frame.base as usize, frame.size as usize);
        if frame.kind != FrameKind::Call
            || frame.entry != plan.target
            || size != plan.size as usize
            || ctx.locals.len() != lb + size
            || ctx
                .handlers
                .last()
                .is_some_and(|h| h.depth as usize >= depth)
            || ctx.captures.last().is_some_and(|c| c.0 as usize >= depth)
        {
            return None;
        }
        let items = e.depth as usize;
        let sb = ctx.stack.len().checked_sub(items)?;
        // Room for the deepest chain, as `enter_direct` checks it.
        let deepest = MAX_DIRECT_DEPTH as usize;
        let b = self.bounds;
        let room_s = self
            .max_stack
            .min(super::Place::FIELD_MAX)
            .saturating_sub(deepest * b.below + b.need);
        let room_l = super::Place::FIELD_MAX
            .min(self.max_frame_slots)
            .saturating_sub(deepest * b.slots);
        if sb > room_s || lb > room_l {
            return None;
        }
        let f = depth - 1;
        let dlimit = (f + deepest).min(self.max_call_depth.saturating_sub(1));
        let left = dlimit.checked_sub(f)?;
        // A frame that calls needs one frame left (its callees' `place`
        // is one less); none is anyway rare (the call-depth limit).
        if left == 0 || left as u64 >= RESUME_MARK {
            return None;
        }
        let place = left as u64
            | (sb as u64) << super::Place::SB_SHIFT
            | (lb as u64) << super::Place::LB_SHIFT;
        Some(Resume {
            tramp,
            code,
            place,
            dlimit: dlimit as u64,
            index: e.index,
            items,
            sb,
            unit: e.unit,
            rets: plan.rets,
        })
    }

    /// A resumed run of unit `unit` ended: `missed` when it left compiled
    /// code other than preempted. Counts for `--stats`, and turns
    /// resuming off for a unit whose resumed frames keep leaving.
    pub(crate) fn resumed(&self, unit: u32, missed: bool) {
        let r = &self.resume;
        let u = unit as usize;
        r.total.fetch_add(1, Ordering::Relaxed);
        if missed {
            r.misses.fetch_add(1, Ordering::Relaxed);
            // A count (T6); a stale `off` costs one more resume.
            if r.missed[u].fetch_add(1, Ordering::Relaxed) + 1 >= MISSES {
                r.off[u].store(true, Ordering::Relaxed);
            }
        } else if r.missed[u].load(Ordering::Relaxed) != 0 {
            r.missed[u].store(0, Ordering::Relaxed);
        }
    }

    /// Unit `u`'s direct entry was just compiled (under `Jit::mem`): when
    /// its plan has resume entries, publish the trampoline of its arity
    /// (compiled now if it is the first of that arity).
    pub(super) fn enable_resume(&self, mem: &mut CodeMemory, unit: &Unit) {
        let Some(u) = self.units.iter().position(|x| std::ptr::eq(x, unit)) else {
            return;
        };
        let Some(Ok(plan)) = &unit.direct_plan else {
            return;
        };
        if plan.resumes().is_empty() {
            return;
        }
        let n = plan.params.len();
        let rets = plan.rets;
        let mut tramps = self.resume.tramps.lock().unwrap_or_else(|e| e.into_inner());
        let tramp = match tramps.get(&(n, rets)) {
            Some(&t) => t,
            None => {
                let dump = self.dump.is_some();
                let built = self.generate(|| {
                    mem.compile_with(
                        &format!("resume trampoline ({n} arguments)"),
                        "resume",
                        trampoline_sig(mem),
                        false,
                        dump,
                        |b, _| {
                            build_trampoline(b, n, rets);
                            Ok(())
                        },
                    )
                });
                match built {
                    Ok(c) => {
                        tramps.insert((n, rets), c.code);
                        c.code
                    }
                    // No trampoline: the frames go on in ordinary code.
                    Err(_) => return,
                }
            }
        };
        // T4: after the direct entry's cell (Release), pairs with the
        // Acquire in `resumable`.
        self.resume.tramp[u].store(tramp, Ordering::Release);
    }
}

/// `(direct entry, place, budget, out)`: the trampoline's signature, in
/// the host's calling convention (`code::enter_resumed` calls it).
fn trampoline_sig(mem: &CodeMemory) -> Signature {
    let mut s = Signature::new(mem.call_conv());
    for _ in 0..4 {
        s.params.push(AbiParam::new(I64));
    }
    s
}

/// Call the direct entry (of `n` arguments, returning `rets` values) with
/// `place` and `budget` and zero arguments (a resumed frame takes its
/// values from its record), and store at `out` its first value's tag and
/// payload, the budget, then the other values' tags and payloads
/// (`code::enter_resumed`).
fn build_trampoline(b: &mut cranelift_frontend::FunctionBuilder<'_>, n: usize, rets: usize) {
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    let p = b.block_params(entry).to_vec();
    let (f, place, budget, out) = (p[0], p[1], p[2], p[3]);
    let sig = b.import_signature(direct_sig(n, rets));
    let mut args = vec![place, budget];
    let t0 = b.ins().iconst(I8, 0);
    let z = b.ins().iconst(I64, 0);
    for _ in 0..n {
        args.push(t0);
        args.push(z);
    }
    let call = b.ins().call_indirect(sig, f, &args);
    let r = b.inst_results(call).to_vec();
    let mf = MemFlags::trusted();
    let pairs = rets.max(1);
    let tag = b.ins().uextend(I64, r[0]);
    b.ins().store(mf, tag, out, 0);
    b.ins().store(mf, r[1], out, 8);
    b.ins().store(mf, r[2 * pairs], out, 16);
    for k in 1..pairs {
        let tag = b.ins().uextend(I64, r[2 * k]);
        let o = 8 * (1 + 2 * k as i32);
        b.ins().store(mf, tag, out, o);
        b.ins().store(mf, r[2 * k + 1], out, o + 8);
    }
    b.ins().return_(&[]);
}
