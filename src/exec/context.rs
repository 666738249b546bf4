//! A process's execution state. Both tiers read and write it; either can
//! stop a process at a block boundary and either can resume it.

use super::addr::{Addr, Dpc};
use super::handlers::Handlers;
use std::sync::atomic::{AtomicUsize, Ordering};
use ttvm_runtime::{Atom, Value};

/// Why a frame exists. `#[repr(u32)]`: compiled code reads the tag
/// (see [`frame_layout`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum FrameKind {
    /// The bottom frame of a process.
    Root,
    /// Made by CALL / CALL_FUNCTION.
    Call,
    /// A module's top-level run, made by IMPORT of module `n`.
    Module(u32),
}

/// One call frame. `#[repr(C)]`: compiled code makes and removes frames
/// (see [`frame_layout`]).
#[derive(Clone, Debug)]
#[repr(C)]
pub struct Frame {
    /// Where to continue after RET (a decoded address).
    pub ret: u32,
    /// The program address of the instruction that made this frame.
    pub call_site: u32,
    /// The program address the frame was entered at.
    pub entry: u32,
    /// First variable slot of this frame in [`Context::locals`].
    pub base: u32,
    /// Number of variable slots.
    pub size: u32,
    /// Operand stack height when the frame was made.
    pub stack_base: u32,
    pub kind: FrameKind,
}

/// Byte offsets of [`Frame`]'s fields, for compiled code.
pub mod frame_layout {
    use super::{Frame, FrameKind};
    use std::mem::offset_of;
    pub const SIZE: i64 = std::mem::size_of::<Frame>() as i64;
    pub const RET: i32 = offset_of!(Frame, ret) as i32;
    pub const CALL_SITE: i32 = offset_of!(Frame, call_site) as i32;
    pub const ENTRY: i32 = offset_of!(Frame, entry) as i32;
    pub const BASE: i32 = offset_of!(Frame, base) as i32;
    pub const FRAME_SIZE: i32 = offset_of!(Frame, size) as i32;
    pub const STACK_BASE: i32 = offset_of!(Frame, stack_base) as i32;
    /// The `FrameKind` tag (a `u32`).
    pub const KIND: i32 = offset_of!(Frame, kind) as i32;
    /// `FrameKind::Root`'s tag.
    pub const KIND_ROOT: u32 = 0;
    /// `FrameKind::Call`'s tag.
    pub const KIND_CALL: u32 = 1;
    /// `FrameKind::Module`'s tag.
    pub const KIND_MODULE: u32 = 2;
    const _: () = assert!(SIZE == 32);
    const _: () = assert!(std::mem::size_of::<FrameKind>() == 8);
}

#[cfg(test)]
mod tests {
    #[test]
    fn call_kind_tag() {
        let k = super::FrameKind::Call;
        // SAFETY: a `#[repr(u32)]` enum starts with its `u32` tag.
        let tag = unsafe { *(&k as *const super::FrameKind as *const u32) };
        assert_eq!(tag, super::frame_layout::KIND_CALL);
    }

    /// The tags compiled code tells a process's end by (`lower::procs`).
    #[test]
    fn root_and_module_kind_tags() {
        use super::frame_layout::{KIND_MODULE, KIND_ROOT};
        let tag = |k: super::FrameKind| {
            // SAFETY: a `#[repr(u32)]` enum starts with its `u32` tag.
            unsafe { *(&k as *const super::FrameKind as *const u32) }
        };
        assert_eq!(tag(super::FrameKind::Root), KIND_ROOT);
        assert_eq!(tag(super::FrameKind::Module(7)), KIND_MODULE);
    }
}

/// A process's execution context.
#[derive(Debug)]
pub struct Context {
    pub stack: Vec<Value>,
    /// Variable slots of every frame, one after another.
    pub locals: Vec<Option<Value>>,
    pub frames: Vec<Frame>,
    /// Handlers of every frame, innermost last.
    pub handlers: Handlers,
    /// CAPTUREd values waiting for MAKE_LAMBDA: (frame depth, name, value).
    pub captures: Vec<(u32, Atom, Value)>,
    /// EXPORTed values of the module runs in progress, innermost last:
    /// the module and its values by export index (`Module::exports`).
    pub exports: Vec<(u32, Vec<Option<Value>>)>,
    /// Next op to run (in either tier).
    pub pc: Dpc,
    /// Reductions left in this slice.
    pub budget: i64,
    /// Reductions spent in total.
    pub reductions: u64,
    /// This process's profile under `--profile` (`crate::profile`).
    pub prof: Option<Box<crate::profile::ProcProf>>,
}

/// Contexts alive in this OS process (for leak tests).
static LIVE: AtomicUsize = AtomicUsize::new(0);

/// How many process contexts exist right now, in every VM of this OS process.
pub fn live_contexts() -> usize {
    LIVE.load(Ordering::Relaxed)
}

impl Drop for Context {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Context {
    /// A context ready to run from `pc` in a root frame of `size` slots.
    pub fn new(pc: Dpc, entry: Addr, size: u32) -> Context {
        *Context::boxed(pc, entry, size)
    }

    /// [`Context::new`], built in its box (no copy of the context).
    pub fn boxed(pc: Dpc, entry: Addr, size: u32) -> Box<Context> {
        LIVE.fetch_add(1, Ordering::Relaxed);
        let mut c = Box::new(Context {
            stack: Vec::new(),
            locals: Vec::new(),
            frames: Vec::new(),
            handlers: Handlers::default(),
            captures: Vec::new(),
            exports: Vec::new(),
            pc,
            budget: 0,
            reductions: 0,
            prof: None,
        });
        c.locals.resize(size as usize, None);
        c.frames.push(Frame {
            ret: u32::MAX,
            call_site: entry.0,
            entry: entry.0,
            base: 0,
            size,
            stack_base: 0,
            kind: FrameKind::Root,
        });
        c
    }

    /// The current frame.
    #[inline]
    pub fn frame(&self) -> &Frame {
        self.frames.last().expect("a process always has a frame")
    }

    /// Remove the current frame and everything that belongs to it.
    pub fn pop_frame(&mut self) -> Frame {
        let f = self.frames.pop().expect("a process always has a frame");
        self.locals.truncate(f.base as usize);
        let depth = self.frames.len() as u32;
        self.handlers.leave_frames(depth);
        while self.captures.last().is_some_and(|c| c.0 > depth) {
            self.captures.pop();
        }
        f
    }

    /// Push a frame of `size` empty slots. `slot_limit` is the process's
    /// limit on slots in all (`--max-frame-slots`), which the caller has
    /// checked; the slot vector grows by doubling, but not past it.
    pub fn push_frame(
        &mut self,
        ret: u32,
        call_site: u32,
        entry: u32,
        size: u32,
        kind: FrameKind,
        slot_limit: usize,
    ) {
        let base = self.locals.len() as u32;
        self.reserve_slots(base as usize + size as usize, slot_limit);
        self.locals.resize(base as usize + size as usize, None);
        let stack_base = self.stack.len() as u32;
        self.frames.push(Frame {
            ret,
            call_site,
            entry,
            base,
            size,
            stack_base,
            kind,
        });
    }

    /// Make room for `len` variable slots in all: the vector grows by
    /// doubling, but its capacity stays within `slot_limit` (unless `len`
    /// itself is past it), so a process's slots never take more memory
    /// than the limit allows.
    pub fn reserve_slots(&mut self, len: usize, slot_limit: usize) {
        let cap = self.locals.capacity();
        if len > cap {
            let want = cap.saturating_mul(2).clamp(len, slot_limit.max(len));
            self.locals.reserve_exact(want - self.locals.len());
        }
    }

    /// Whether a frame of `size` more slots would take the process past
    /// `slot_limit` slots in all (then the call raises `stack overflow`).
    #[inline]
    pub fn slots_exceeded(&self, size: u32, slot_limit: usize) -> bool {
        self.locals.len() + size as usize > slot_limit
    }

    /// Pop one operand, or raise `stack underflow in <op>`.
    #[inline]
    pub fn pop(&mut self, op: &str) -> super::OpResult<Value> {
        match self.stack.pop() {
            Some(v) => Ok(v),
            None => underflow(op),
        }
    }

    /// Make sure `n` operands are there.
    #[inline]
    pub fn need(&self, n: usize, op: &str) -> super::OpResult {
        if self.stack.len() < n {
            return underflow(op);
        }
        Ok(())
    }
}

#[cold]
fn underflow<T>(op: &str) -> super::OpResult<T> {
    super::error(format!("stack underflow in {op}"))
}
