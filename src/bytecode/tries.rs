//! TRY/END_TRY pairing, fixed at assembly time (SPEC §3.8).
//!
//! Taking the TRYs from the last in the file to the first: a TRY owns the
//! first not-yet-owned END_TRY between it and its catch label, if there is
//! one; otherwise the first not-yet-owned END_TRY after its catch label.
//! Pairing stays inside one module.

use super::{Instr, Owner, Program, Warning};

pub(super) fn pair(p: &mut Program) {
    for m in 0..p.modules.len() {
        let (start, end) = (p.modules[m].start as usize, p.modules[m].end as usize);
        let tries: Vec<(usize, usize)> = (start..end)
            .filter_map(|i| match &p.code[i] {
                Instr::Try(t) => Some((i, t.0 as usize)),
                _ => None,
            })
            .collect();
        let is_free_end_try =
            |p: &Program, j: usize| matches!(p.code[j], Instr::EndTry(Owner(None)));
        for &(t, catch) in tries.iter().rev() {
            let (lo, hi) = (t.min(catch), t.max(catch));
            let between = (lo + 1..hi).find(|&j| is_free_end_try(p, j));
            let owned =
                between.or_else(|| (catch.max(start)..end).find(|&j| is_free_end_try(p, j)));
            if let Some(j) = owned {
                p.code[j] = Instr::EndTry(Owner(Some(t as u32)));
            }
        }
        for j in start..end {
            if is_free_end_try(p, j) {
                p.warnings.push(Warning::at(
                    p,
                    j as u32,
                    "END_TRY is not owned by any TRY and does nothing",
                ));
            }
        }
    }
}
