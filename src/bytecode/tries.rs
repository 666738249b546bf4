//! TRY/END_TRY pairing, fixed at assembly time (SPEC §3.8).
//!
//! Taking the TRYs from the last in the file to the first: a TRY owns the
//! first not-yet-owned END_TRY between it and its catch label, if there is
//! one; otherwise the first not-yet-owned END_TRY after its catch label.
//! Pairing stays inside one module.
//!
//! "The first not-yet-owned END_TRY at or after k" is answered by
//! [`NextFree`], a union-find over positions, in near-constant amortised
//! time: pairing is linear in the module's length (a scan per TRY was
//! quadratic, 44 s for a 6.7 MB file).

use super::{Instr, Owner, Program, Warning};

/// For positions `0..=len` of a module, the first *free* position at or
/// after k (a not-yet-owned END_TRY, or `len`, which is always free).
/// Each set is a run of consecutive positions with the same answer, kept
/// at its root; taking a position joins its run with the next one. Union
/// by size with path halving.
struct NextFree {
    parent: Vec<u32>,
    size: Vec<u32>,
    answer: Vec<u32>,
    /// Parent links followed so far (what the tests count).
    steps: u64,
}

impl NextFree {
    fn new(len: usize, free: impl Fn(usize) -> bool) -> NextFree {
        let mut nf = NextFree {
            parent: (0..=len as u32).collect(),
            size: vec![1; len + 1],
            answer: (0..=len as u32).collect(),
            steps: 0,
        };
        for k in 0..len {
            if !free(k) {
                nf.take(k);
            }
        }
        nf
    }

    fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let grand = self.parent[self.parent[x as usize] as usize];
            self.parent[x as usize] = grand;
            x = grand;
            self.steps += 1;
        }
        x
    }

    /// The first free position at or after `k` (`k <= len`).
    fn next(&mut self, k: usize) -> usize {
        let r = self.find(k as u32);
        self.answer[r as usize] as usize
    }

    /// Mark `k < len` as no longer free.
    fn take(&mut self, k: usize) {
        let (a, b) = (self.find(k as u32), self.find(k as u32 + 1));
        if a == b {
            return;
        }
        let answer = self.answer[b as usize];
        let (big, small) = if self.size[a as usize] >= self.size[b as usize] {
            (a, b)
        } else {
            (b, a)
        };
        self.parent[small as usize] = big;
        self.size[big as usize] += self.size[small as usize];
        self.answer[big as usize] = answer;
    }
}

/// Pair every END_TRY with its TRY; returns the union-find steps taken.
pub(super) fn pair(p: &mut Program) -> u64 {
    let mut steps = 0;
    for m in 0..p.modules.len() {
        let (start, end) = (p.modules[m].start as usize, p.modules[m].end as usize);
        steps += pair_module(&mut p.code[start..end], start);
        for j in start..end {
            if matches!(p.code[j], Instr::EndTry(Owner(None))) {
                p.warnings.push(Warning::at(
                    p,
                    j as u32,
                    "END_TRY is not owned by any TRY and does nothing",
                ));
            }
        }
    }
    steps
}

/// Pair the END_TRYs of one module's `code`, which starts at program index
/// `start` (TRY targets and owners are program indices).
fn pair_module(code: &mut [Instr], start: usize) -> u64 {
    let len = code.len();
    let tries: Vec<(usize, usize)> = code
        .iter()
        .enumerate()
        .filter_map(|(i, instr)| match instr {
            // Targets stay inside the module (0..=len); clamp anyway.
            Instr::Try(t) => Some((i, (t.0 as usize).saturating_sub(start).min(len))),
            _ => None,
        })
        .collect();
    if tries.is_empty() {
        return 0;
    }
    let mut free = NextFree::new(len, |k| matches!(code[k], Instr::EndTry(Owner(None))));
    for &(t, catch) in tries.iter().rev() {
        let (lo, hi) = (t.min(catch), t.max(catch));
        let between = free.next(lo + 1);
        let owned = if between < hi {
            between
        } else {
            free.next(catch)
        };
        if owned < len {
            code[owned] = Instr::EndTry(Owner(Some((start + t) as u32)));
            free.take(owned);
        }
    }
    free.steps
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The rule as the loader applied it before: a scan per TRY.
    fn pair_by_scanning(code: &mut [Instr], start: usize) {
        let end = start + code.len();
        let tries: Vec<(usize, usize)> = (0..code.len())
            .filter_map(|i| match &code[i] {
                Instr::Try(t) => Some((start + i, t.0 as usize)),
                _ => None,
            })
            .collect();
        let free = |code: &[Instr], j: usize| matches!(code[j - start], Instr::EndTry(Owner(None)));
        for &(t, catch) in tries.iter().rev() {
            let (lo, hi) = (t.min(catch), t.max(catch));
            let between = (lo + 1..hi).find(|&j| free(code, j));
            let owned = between.or_else(|| (catch.max(start)..end).find(|&j| free(code, j)));
            if let Some(j) = owned {
                code[j - start] = Instr::EndTry(Owner(Some(t as u32)));
            }
        }
    }

    fn owners(code: &[Instr]) -> Vec<Option<u32>> {
        code.iter()
            .filter_map(|i| match i {
                Instr::EndTry(Owner(o)) => Some(*o),
                _ => None,
            })
            .collect()
    }

    /// Instructions from a shape: 0 = NOP-like, 1 = END_TRY, 2+k = TRY to
    /// position k (mod len+1), at program offset `start`.
    fn build(shape: &[u8], start: usize) -> Vec<Instr> {
        let len = shape.len();
        shape
            .iter()
            .map(|&s| match s {
                0 => Instr::Pop(super::super::Nil),
                1 => Instr::EndTry(Owner(None)),
                k => Instr::Try(super::super::Target(
                    (start + (k as usize - 2) % (len + 1)) as u32,
                )),
            })
            .collect()
    }

    proptest! {
        /// The union-find pairing is the scanning rule's, exactly.
        #[test]
        fn same_pairing_as_the_scan(shape in proptest::collection::vec(0u8..40, 0..60), start in 0usize..5) {
            let mut fast = build(&shape, start);
            let mut slow = fast.clone();
            pair_module(&mut fast, start);
            pair_by_scanning(&mut slow, start);
            prop_assert_eq!(owners(&fast), owners(&slow));
        }
    }

    /// Work grows linearly: 100,000 nested TRY/END_TRY pairs and 100,000
    /// sequential ones (the shapes that made the scan quadratic) take a
    /// bounded number of union-find steps per instruction.
    #[test]
    fn pairing_work_is_linear() {
        let n = 100_000;
        let mut src = String::new();
        for i in 0..n {
            src.push_str(&format!("TRY h{i}\n"));
        }
        for _ in 0..n {
            src.push_str("END_TRY\n");
        }
        for i in 0..n {
            src.push_str(&format!("TRY s{i}\nEND_TRY\nLABEL s{i}\n"));
        }
        src.push_str("HALT\n");
        for i in 0..n {
            src.push_str(&format!("LABEL h{i}\n"));
        }
        src.push_str("CATCH\n");
        let mut p = crate::load_source("tries.ttvm", &src).unwrap_or_else(|e| panic!("{e}"));
        let paired = p.code.clone();
        for i in p.code.iter_mut() {
            if let Instr::EndTry(o) = i {
                o.0 = None;
            }
        }
        let steps = pair(&mut p);
        assert_eq!(owners(&p.code), owners(&paired));
        assert!(owners(&p.code).iter().all(Option::is_some));
        let instrs = p.code.len() as u64;
        assert!(
            steps <= 4 * instrs,
            "{steps} steps for {instrs} instructions"
        );
    }
}
