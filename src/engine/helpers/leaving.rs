//! Where a direct frame is and what it writes when it leaves compiled
//! code (the `leave` and `leave_caller` helpers).

use super::*;

/// Where a direct frame is and what it writes when it leaves compiled code
/// (`jit::direct::Place` and `lower::direct`'s descriptor).
pub(super) struct Leaving {
    /// Frame index.
    pub(super) f: usize,
    /// Operand stack height below its arguments.
    pub(super) sb: usize,
    /// First variable slot.
    pub(super) lb: usize,
    /// Program address of its entry.
    pub(super) target: u32,
    /// Variable slots.
    pub(super) size: usize,
    /// Parameters.
    pub(super) params: usize,
    /// Operands it holds.
    pub(super) items: usize,
}

impl Leaving {
    pub(super) fn new(env: &JitEnv, place: u64, desc: u64) -> Leaving {
        use crate::jit::{Desc, Place};
        let left = place & Place::LEFT_MASK as u64;
        Leaving {
            f: env.dlimit.wrapping_sub(left) as usize,
            sb: ((place >> Place::SB_SHIFT) & Place::SB_MASK as u64) as usize,
            lb: (place >> Place::LB_SHIFT) as usize,
            target: desc as u32,
            size: ((desc >> Desc::SIZE_SHIFT) & Desc::FIELD_MASK) as usize,
            params: ((desc >> Desc::PARAMS_SHIFT) & Desc::FIELD_MASK) as usize,
            items: (desc >> Desc::ITEMS_SHIFT) as usize,
        }
    }

    /// Write the frame (all but its return address and call site, which
    /// the caller writes), its slots and its operands from `buf` (slots
    /// first, then operands, as 16-byte values) into the room reserved.
    ///
    /// # Safety
    /// `env`'s vectors have room for the frame, slots and operands, and
    /// `buf` holds `size + items` values of unboxed kinds or unset slots.
    pub(super) unsafe fn write(&self, env: &JitEnv, buf: *const u8) {
        use crate::exec::{Frame, FrameKind};
        // SAFETY: per the function's contract. The frame, slots and
        // operand places are past the lengths the vectors report (or
        // about to be counted by the innermost frame), and hold no value
        // that needs dropping: compiled code left them for this.
        unsafe {
            env.fptr.add(self.f).write(Frame {
                ret: 0,
                call_site: 0,
                entry: self.target,
                base: self.lb as u32,
                size: self.size as u32,
                stack_base: (self.sb + self.params) as u32,
                kind: FrameKind::Call,
            });
            // A few values each: word by word, not through `memcpy`.
            let buf = buf as *const [u64; 2];
            let slots = env.lbase.add(self.lb) as *mut [u64; 2];
            for i in 0..self.size {
                slots.add(i).write(buf.add(i).read());
            }
            let operands = env.sp.add(self.sb) as *mut [u64; 2];
            for i in 0..self.items {
                operands.add(i).write(buf.add(self.size + i).read());
            }
        }
    }
}
