//! The exception handlers in force in a process (SPEC §3.8), with every
//! operation on them O(1) amortised, however many handlers there are and
//! however deep the process is.
//!
//! Handlers are kept innermost last, so in frame order (a frame's handlers
//! go with it). TRY, END_TRY and raising only ever touch the current
//! frame's handlers: TRY replaces the handler its own TRY installed
//! earlier in this frame, END_TRY removes the handler of its owning TRY
//! and every later one, a raise takes the innermost. So a lookup never
//! looks past the current frame (looking through every frame's handlers
//! made a TRY per frame quadratic), and a frame with at most [`SCAN`]
//! handlers is simply searched. A frame with more (nested TRYs of one
//! function: as many as it has TRY instructions) gets an index from TRY
//! address to position; a handler it replaces from the middle is marked
//! removed instead of shifting the later ones (whose positions the index
//! holds), and the frame's handlers are compacted when removed ones
//! outnumber the live.

use std::collections::HashMap;

/// An installed exception handler.
#[derive(Clone, Debug)]
pub struct Handler {
    /// Program address of the TRY that installed it.
    pub try_pc: u32,
    /// Where the catch block starts (an address in the running tier's code).
    pub catch: u32,
    /// Operand stack height when the TRY ran.
    pub stack_len: u32,
    /// Number of frames when the TRY ran (the handler's frame is the last).
    pub depth: u32,
}

/// Handlers of one frame that are searched one by one; a frame with more
/// gets an [`Index`].
const SCAN: usize = 8;

/// `try_pc` of a handler that was replaced (only in an indexed frame,
/// never the innermost entry).
const REMOVED: u32 = u32::MAX;

/// Where the handlers of a frame with many are.
#[derive(Debug)]
struct Index {
    /// The frame (its depth).
    depth: u32,
    /// Position of the frame's first handler.
    start: usize,
    /// TRY address → position, for each of the frame's live handlers.
    at: HashMap<u32, usize>,
    /// Removed entries among the frame's.
    removed: usize,
}

/// The handlers of a process.
#[derive(Debug, Default)]
pub struct Handlers {
    /// Innermost last; the innermost is never a removed entry.
    list: Vec<Handler>,
    /// Indexes of frames with many handlers, innermost frame last; a frame
    /// has one only while it has handlers.
    index: Vec<Index>,
}

impl Handlers {
    /// The innermost handler.
    #[inline]
    pub fn last(&self) -> Option<&Handler> {
        self.list.last()
    }

    /// Handlers in force, in all frames.
    pub fn len(&self) -> usize {
        self.list.len() - self.index.iter().map(|ix| ix.removed).sum::<usize>()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The index of the frame at `depth`, if it has one.
    fn index_of(&mut self, depth: u32) -> Option<&mut Index> {
        self.index.last_mut().filter(|ix| ix.depth == depth)
    }

    /// TRY: install `h` in its frame (the current one, `h.depth`) as the
    /// innermost handler, replacing the one the same TRY installed there
    /// earlier, if that is still in force.
    pub fn install(&mut self, h: Handler) {
        let depth = h.depth;
        let top = self.list.len();
        if let Some(ix) = self.index.last_mut().filter(|ix| ix.depth == depth) {
            match ix.at.get(&h.try_pc).copied() {
                // Already the innermost: replaced where it is.
                Some(pos) if pos + 1 == top => {
                    self.list[pos] = h;
                    return;
                }
                Some(pos) => {
                    self.list[pos].try_pc = REMOVED;
                    ix.removed += 1;
                }
                None => {}
            }
            ix.at.insert(h.try_pc, top);
            self.list.push(h);
            if ix.removed > SCAN && ix.removed > ix.at.len() {
                compact(&mut self.list, ix);
            }
            return;
        }
        let mine = self
            .list
            .iter()
            .rev()
            .take_while(|x| x.depth == depth)
            .position(|x| x.try_pc == h.try_pc);
        if let Some(k) = mine {
            self.list.remove(top - 1 - k);
        }
        self.list.push(h);
        let count = self
            .list
            .iter()
            .rev()
            .take_while(|x| x.depth == depth)
            .take(SCAN + 1)
            .count();
        if count > SCAN {
            let start = self.list.len() - count;
            let at = (start..self.list.len())
                .map(|pos| (self.list[pos].try_pc, pos))
                .collect();
            self.index.push(Index {
                depth,
                start,
                at,
                removed: 0,
            });
        }
    }

    /// END_TRY owned by the TRY at `try_pc`, in the current frame at
    /// `depth`: remove that TRY's handler, if it is in force, and every
    /// handler installed after it.
    pub fn end(&mut self, depth: u32, try_pc: u32) {
        let Some(ix) = self.index.last_mut().filter(|ix| ix.depth == depth) else {
            let mine = self
                .list
                .iter()
                .rev()
                .take_while(|x| x.depth == depth)
                .position(|x| x.try_pc == try_pc);
            if let Some(k) = mine {
                self.list.truncate(self.list.len() - 1 - k);
            }
            return;
        };
        let Some(pos) = ix.at.get(&try_pc).copied() else {
            return;
        };
        for h in self.list.drain(pos..) {
            if h.try_pc == REMOVED {
                ix.removed -= 1;
            } else {
                ix.at.remove(&h.try_pc);
            }
        }
        self.settle();
    }

    /// A raise: remove and return the innermost handler.
    pub fn pop(&mut self) -> Option<Handler> {
        let h = self.list.pop()?;
        if let Some(ix) = self.index_of(h.depth) {
            ix.at.remove(&h.try_pc);
            self.settle();
        }
        Some(h)
    }

    /// Every handler's catch address through `f` (the code they point into
    /// was decoded anew: a REPL entry, `src/engine/repl.rs`).
    pub fn remap_catch(&mut self, f: impl Fn(u32) -> u32) {
        for h in &mut self.list {
            h.catch = f(h.catch);
        }
    }

    /// Frames deeper than `depth` are gone: so are their handlers.
    pub fn leave_frames(&mut self, depth: u32) {
        while self.list.last().is_some_and(|h| h.depth > depth) {
            self.list.pop();
        }
        while self.index.last().is_some_and(|ix| ix.depth > depth) {
            self.index.pop();
        }
    }

    /// After the innermost entries of the current (indexed) frame went:
    /// drop removed entries now innermost, and the index when the frame
    /// has no handler left.
    fn settle(&mut self) {
        let Some(ix) = self.index.last_mut() else {
            return;
        };
        while self.list.len() > ix.start && self.list.last().is_some_and(|h| h.try_pc == REMOVED) {
            self.list.pop();
            ix.removed -= 1;
        }
        if self.list.len() <= ix.start {
            self.index.pop();
        }
    }
}

/// Drop the removed entries of the indexed frame `ix` (the current one:
/// its handlers are the last of `list`) and renumber the live ones.
fn compact(list: &mut Vec<Handler>, ix: &mut Index) {
    let mut to = ix.start;
    for from in ix.start..list.len() {
        if list[from].try_pc != REMOVED {
            list.swap(to, from);
            ix.at.insert(list[to].try_pc, to);
            to += 1;
        }
    }
    list.truncate(to);
    ix.removed = 0;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same operations on a plain list searched one by one, as the
    /// oracle.
    #[derive(Default)]
    struct Plain(Vec<Handler>);

    impl Plain {
        fn find(&self, depth: u32, pc: u32) -> Option<usize> {
            self.0
                .iter()
                .rposition(|h| h.depth == depth && h.try_pc == pc)
        }
        fn install(&mut self, h: Handler) {
            if let Some(i) = self.find(h.depth, h.try_pc) {
                self.0.remove(i);
            }
            self.0.push(h);
        }
        fn end(&mut self, depth: u32, pc: u32) {
            if let Some(i) = self.find(depth, pc) {
                self.0.truncate(i);
            }
        }
    }

    fn h(depth: u32, pc: u32, catch: u32) -> Handler {
        Handler {
            try_pc: pc,
            catch,
            stack_len: 0,
            depth,
        }
    }

    fn live(hs: &Handlers) -> Vec<(u32, u32, u32)> {
        hs.list
            .iter()
            .filter(|h| h.try_pc != REMOVED)
            .map(|h| (h.depth, h.try_pc, h.catch))
            .collect()
    }

    fn plain(p: &Plain) -> Vec<(u32, u32, u32)> {
        p.0.iter().map(|h| (h.depth, h.try_pc, h.catch)).collect()
    }

    /// Random operations on a few frames and TRY sites (enough to index
    /// frames, replace from the middle, compact and end across removed
    /// entries) agree with the plain list after every step.
    #[test]
    fn agrees_with_a_plain_list() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let (mut indexed, mut removed) = (0, 0);
        for round in 0..200 {
            let (mut a, mut b) = (Handlers::default(), Plain::default());
            let mut depth = 1u32;
            let sites = 4 + round % 40;
            for step in 0..2000u32 {
                match next(20) {
                    0 if depth < 6 => depth += 1,
                    1 if depth > 1 => {
                        depth -= 1;
                        a.leave_frames(depth);
                        b.0.retain(|h| h.depth <= depth);
                    }
                    2..=3 => {
                        let x = a.pop();
                        let y = b.0.pop();
                        assert_eq!(x.as_ref().map(|h| h.catch), y.map(|h| h.catch));
                        // A raise cuts the frames back to the handler's.
                        if let Some(hd) = x.map(|h| h.depth) {
                            depth = hd;
                            a.leave_frames(depth);
                            b.0.retain(|h| h.depth <= depth);
                        }
                    }
                    4..=6 => {
                        let pc = next(sites) as u32;
                        a.end(depth, pc);
                        b.end(depth, pc);
                    }
                    _ => {
                        let pc = next(sites) as u32;
                        a.install(h(depth, pc, step));
                        b.install(h(depth, pc, step));
                    }
                }
                assert_eq!(live(&a), plain(&b), "round {round} step {step}");
                indexed += a.index.len();
                let r: usize = a.index.iter().map(|ix| ix.removed).sum();
                removed += r;
                assert_eq!(a.len(), b.0.len());
                assert_eq!(
                    a.last().map(|h| (h.depth, h.try_pc)),
                    b.0.last().map(|h| (h.depth, h.try_pc))
                );
            }
        }
        // The cases that matter happened: indexed frames, removed entries.
        assert!(indexed > 10_000 && removed > 10_000);
    }

    /// Nested TRYs of one frame, all in force: each TRY and END_TRY costs
    /// O(1) (the whole run is linear), and a loop re-running them does not
    /// grow the list (removed entries are compacted away).
    #[test]
    fn many_handlers_in_one_frame() {
        let mut hs = Handlers::default();
        let n = 200_000u32;
        for pc in 0..n {
            hs.install(h(1, pc, pc));
        }
        assert_eq!(hs.len(), n as usize);
        for round in 0..3 {
            for pc in 0..n {
                hs.install(h(1, pc, round));
            }
            assert!(hs.list.len() <= 2 * n as usize + SCAN + 1);
        }
        assert_eq!(hs.len(), n as usize);
        hs.end(1, n / 2);
        assert_eq!(hs.len(), n as usize / 2);
        hs.end(1, 0);
        assert!(hs.is_empty() && hs.index.is_empty());
    }
}
