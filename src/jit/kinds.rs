//! Kinds of field reads (issue 15; docs/JIT.md, "Kinds of field reads").
//!
//! A `GET_FIELD` of a constant name whose site has only ever given Floats
//! (or only Ints) is compiled as a guarded load of a value of that kind
//! (`lower/fields.rs`, `Lower::read_field`): the tag is checked once, and
//! the value is a known Float (Int) for the rest of the block and, stored
//! in a variable, across blocks (`lower/facts.rs`), so the arithmetic on
//! it tests nothing.
//!
//! What a site has given is recorded in two places, read together when a
//! unit is compiled (a snapshot per compilation: `Jit::field_guards`):
//! the interpreter's site cache (`FieldSite::kinds`, shared with the JIT
//! by [`Jit::set_field_sites`]) and the JIT's own cell for the site
//! ([`FieldCell::kinds`], which the `field` helper, the slow path of the
//! compiled read, records in).
//!
//! A guard that fails leaves compiled code at the `GET_FIELD` like any
//! side exit (the interpreter reads the field, and its site records the
//! new kind). Compiled code counts the failures in the cell
//! ([`FieldCell::misses`]); at every [`MISS_PERIOD`]-th it raises the
//! JIT's flag ([`Jit::kinds_pending`]), which the engine's next entry into
//! compiled code sees ([`Jit::entry`]): the site is marked
//! [`NO_GUARD`] for good and the units whose code holds it (its own, and
//! those whose direct entries run it) are compiled again, without the
//! guard there. So a site is recompiled for at most once: no loop of
//! guards failing and compilations guarding again.
//!
//! List `INDEX` sites have cells too (`Jit::field_sites` holds every
//! INDEX): the kinds of the elements each site would read are put in them
//! from the frame of the process that finds its unit hot (`elems`; the
//! interpreter records nothing). A site whose elements have all been of
//! one kind of [`INDEX_KINDS`] is compiled as a guarded load of that kind
//! (`Lower::index_with`, lower/data.rs): a matrix row is a known List, its
//! element a known Float, a body read out of a list a known Object; the
//! failures are counted and end the guard as a field read's.

use super::compile::Why;
use super::*;
use ttvm_runtime::value::FieldSite;

/// The cache cell of a field read or write with a constant name in
/// compiled code (`lower/data.rs`): 16 bytes the `Jit` owns for as long as
/// its code lives.
#[repr(C)]
#[derive(Debug)]
pub struct FieldCell {
    /// The field's position in the last object the site read or wrote
    /// (`u64::MAX` at first): a hint compiled code loads (offset 0) and
    /// checks.
    pub pos: AtomicU64,
    /// Bit `t`: the `field` helper answered a value of tag `t` here;
    /// [`NO_GUARD`]: the site's guard failed too often.
    pub kinds: AtomicU32,
    /// Failures of the site's kind guard (counted by compiled code with
    /// plain loads and stores: a hint).
    pub misses: AtomicU32,
    /// How often the helper found the field at another position than the
    /// cell's (a site meeting objects of several layouts): at
    /// [`MOVE_LIMIT`] the site is marked [`MOVED`] and the JIT's flag
    /// raised, so that its units are compiled again with a scan.
    pub moves: AtomicU32,
    /// The address of the JIT's flag (`Jit::kinds_pending`), or 0.
    pub flag: usize,
}

impl FieldCell {
    /// Where [`FieldCell::misses`] is, for compiled code.
    pub const MISSES: i32 = 12;

    pub fn new() -> FieldCell {
        FieldCell::with_flag(0)
    }

    /// A cell that raises the flag at `flag` (an `AtomicU32` that
    /// outlives it) when its site is found to meet several layouts.
    pub fn with_flag(flag: usize) -> FieldCell {
        FieldCell {
            pos: AtomicU64::new(u64::MAX),
            kinds: AtomicU32::new(0),
            misses: AtomicU32::new(0),
            moves: AtomicU32::new(0),
            flag,
        }
    }

    /// The helper found the field at entry `p`: the next object of the
    /// same layout hits; a site whose position keeps changing is marked
    /// [`MOVED`] (it meets objects of several layouts) and the JIT's flag
    /// raised ([`Jit::field_guards_failed`] compiles its units again).
    #[inline]
    pub fn learn(&self, p: u64) {
        let old = self.pos.load(Ordering::Relaxed);
        if old != p {
            if old != u64::MAX && self.moves.fetch_add(1, Ordering::Relaxed) + 1 == MOVE_LIMIT {
                self.kinds.fetch_or(MOVED, Ordering::Relaxed);
                if self.flag != 0 {
                    // SAFETY: the flag outlives the cell (`with_flag`).
                    unsafe { &*(self.flag as *const AtomicU32) }.store(1, Ordering::Relaxed);
                }
            }
            self.pos.store(p, Ordering::Relaxed);
        }
    }

    /// Record that the site gave a value of tag `tag` (the `field`
    /// helper).
    #[inline]
    pub fn note(&self, tag: u8) {
        let bit = 1u32 << tag;
        if self.kinds.load(Ordering::Relaxed) & bit == 0 {
            self.kinds.fetch_or(bit, Ordering::Relaxed);
        }
    }
}

impl Default for FieldCell {
    fn default() -> Self {
        Self::new()
    }
}

/// [`FieldCell::kinds`]: the site is compiled without a kind guard.
pub const NO_GUARD: u32 = 1 << 31;

/// [`FieldCell::kinds`]: the site's cached position has changed
/// [`MOVE_LIMIT`] times (it meets objects of several layouts).
pub const MOVED: u32 = 1 << 30;

/// [`FieldCell::kinds`]: the units holding the [`MOVED`] site have been
/// asked to compile again (once).
const RESCANNED: u32 = 1 << 29;

/// Changes of a cell's position after which its site is [`MOVED`]: a
/// site that meets one odd object now and then is not worth compiling
/// its units again.
pub const MOVE_LIMIT: u32 = 64;

/// How a field site is compiled ([`Jit::field_guards`]), read once per
/// compilation.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SitePlan {
    /// The tag a GET_FIELD is guarded for (`FLOAT`, `INT`), or 0.
    pub guard: u8,
    /// The site has met objects of several layouts: its code scans the
    /// entries when the cached position misses.
    pub scan: bool,
}

/// The tag bits of [`FieldCell::kinds`].
const TAGS: u32 = 0xffff;

/// The kinds a list `INDEX` site is guarded for when its elements have
/// all been of one of them (as a field read's for Float and Int): the
/// numbers, Bools, and the strings, lists and objects whose tests the
/// code after it then skips (a GET_FIELD of a known Object tests no tag,
/// an INDEX of a known List neither).
const INDEX_KINDS: u32 = {
    use ttvm_runtime::value::tag::*;
    1 << BOOL | 1 << INT | 1 << FLOAT | 1 << STR | 1 << LIST | 1 << OBJECT
};

/// Failures of a site's guard after which (and after every so many more)
/// compiled code raises the JIT's flag: a power of two.
pub const MISS_PERIOD: u32 = 16;

/// The interpreter's site caches, and for each of the JIT's field sites
/// the interpreter's sites of the same instruction.
pub(super) struct InterpSites {
    sites: Arc<[FieldSite]>,
    of: Vec<Vec<u32>>,
}

impl Jit {
    /// The interpreter's field site caches (`interp::Code::sites`) and the
    /// program address of each (`Code::site_at`): what they record of the
    /// kinds read is read when a unit is compiled. Once; until then (and
    /// without it) only the JIT's own cells count.
    pub fn set_field_sites(&self, sites: Arc<[FieldSite]>, site_at: &[u32]) {
        let mut of = vec![Vec::new(); self.field_cells.len()];
        for (i, at) in site_at.iter().enumerate() {
            if let Some(&k) = self.field_sites.get(at) {
                if i < sites.len() {
                    of[k].push(i as u32);
                }
            }
        }
        let _ = self.interp_sites.set(InterpSites { sites, of });
    }

    /// The interpreter's records of what each CALL_FUNCTION site calls
    /// (`interp::Code::callees`): read when a site is compiled. Once.
    pub fn set_callees(&self, callees: crate::interp::callees::Callees) {
        let _ = self.callees.set(callees);
    }

    /// What the CALL_FUNCTION at `at` has called while interpreted.
    pub(super) fn seen(&self, at: u32) -> crate::interp::callees::Seen {
        match self.callees.get() {
            Some(c) => c.seen(at),
            None => crate::interp::callees::Seen::Nothing,
        }
    }

    /// The field read at program address `at` gave a value of tag `tag`
    /// (as the `field` helper records it; for tests).
    pub fn note_field_kind(&self, at: u32, tag: u8) {
        if let Some(&k) = self.field_sites.get(&at) {
            self.field_cells[k].note(tag);
        }
    }

    /// Per field site of the JIT (its cell's index): the tag a
    /// `GET_FIELD` there is compiled to guard for (`FLOAT` or `INT`), or 0
    /// for none; whether the site has met objects of several layouts (in
    /// compiled code: [`MOVED`]). Read once per compilation, so that every lowering of the
    /// unit (the facts' passes and the final one) sees the same.
    pub(super) fn field_guards(&self) -> Vec<SitePlan> {
        use ttvm_runtime::value::tag::{FLOAT, INT};
        let interp = self.interp_sites.get();
        // The cells of list INDEX sites (guarded for any one kind of
        // [`INDEX_KINDS`]).
        let mut index = vec![false; self.field_cells.len()];
        for (&at, &k) in &self.field_sites {
            index[k] = matches!(self.program.code[at as usize], Instr::Index(_));
        }
        self.field_cells
            .iter()
            .enumerate()
            .map(|(k, c)| {
                let own = c.kinds.load(Ordering::Relaxed);
                // Moved, or on its way (a quarter of the changes): the
                // scan now, so that sites moving at different rates do not
                // each compile the unit again; the cell remembers it.
                let moved = own & MOVED != 0 || c.moves.load(Ordering::Relaxed) >= MOVE_LIMIT / 4;
                if moved && own & RESCANNED == 0 {
                    c.kinds.fetch_or(RESCANNED, Ordering::Relaxed);
                }
                let plan = |guard| SitePlan { guard, scan: moved };
                if own & NO_GUARD != 0 {
                    return plan(0);
                }
                let seen = interp.map_or(0, |s| {
                    s.of[k]
                        .iter()
                        .fold(0u32, |m, &i| m | u32::from(s.sites[i as usize].kinds()))
                }) | (own & TAGS);
                plan(if seen == 1 << FLOAT {
                    FLOAT
                } else if seen == 1 << INT {
                    INT
                } else if index[k] && seen.is_power_of_two() && seen & INDEX_KINDS != 0 {
                    seen.trailing_zeros() as u8
                } else {
                    0
                })
            })
            .collect()
    }

    /// Field reads' kind guards that keep failing: see to them if
    /// compiled code raised the flag (one load otherwise). The engine asks
    /// at each entry into compiled code ([`Jit::entry`]) and the `fault`
    /// helper at each side exit it runs in place (in a TRY compiled code
    /// does not leave).
    #[inline]
    pub fn poll_field_guards(&self) {
        if self.kinds_pending.load(Ordering::Relaxed) != 0 {
            self.field_guards_failed();
        }
    }

    /// The units whose code holds the instruction at `at`: its unit and
    /// the direct entries whose blocks hold it (pushed onto `out`).
    fn units_holding(&self, at: u32, out: &mut Vec<usize>) {
        let p = &*self.program;
        if let Some(&u) = self.plan_of.get(at as usize) {
            out.push(u as usize);
        }
        let mut start = at as usize;
        while start > 0 && !p.block_start[start] {
            start -= 1;
        }
        for (i, u) in self.units.iter().enumerate() {
            if let Some(Ok(plan)) = &u.direct_plan {
                if plan.blocks.contains(&(start as u32)) {
                    out.push(i);
                }
            }
        }
    }

    /// Compiled code raised the flag ([`FieldCell::misses`]): the sites
    /// whose guards failed [`MISS_PERIOD`] times lose their guards, the
    /// CALL_FUNCTION sites that kept calling function values they were
    /// not compiled for are widened (`interp::callees`), and the units
    /// whose code holds them are compiled again.
    #[cold]
    pub(super) fn field_guards_failed(&self) {
        if self.kinds_pending.swap(0, Ordering::Relaxed) == 0 {
            return;
        }
        let mut again: Vec<usize> = Vec::new();
        for (&at, &k) in &self.field_sites {
            let c = &self.field_cells[k];
            // A site meeting several layouts: compiled again with a scan.
            let rescan = c.kinds.load(Ordering::Relaxed) & MOVED != 0
                && c.kinds.fetch_or(RESCANNED, Ordering::Relaxed) & RESCANNED == 0;
            let unguard = c.misses.load(Ordering::Relaxed) >= MISS_PERIOD
                && c.kinds.fetch_or(NO_GUARD, Ordering::Relaxed) & NO_GUARD == 0;
            if !rescan && !unguard {
                continue;
            }
            self.units_holding(at, &mut again);
        }
        // CALL_FUNCTION sites compiled for what the interpreter saw them
        // call that keep calling others: compiled again for every
        // candidate of their arity (`interp::callees`).
        if let Some(callees) = self.callees.get() {
            for (at, site) in callees.sites() {
                if site.widen() {
                    self.units_holding(at, &mut again);
                }
            }
        }
        again.sort_unstable();
        again.dedup();
        for u in again {
            let unit = &self.units[u];
            if unit.code.load(Ordering::Acquire) != 0 && !unit.failed.load(Ordering::Relaxed) {
                self.request(u, Why::Kinds);
            }
        }
    }
}
