//! What `--stats` says of the JIT.

use std::time::Duration;

/// What `--stats` reports.
#[derive(Debug, Default, Clone)]
pub struct JitStats {
    /// Compiled units: name, instructions, machine-code bytes, time.
    pub compiled: Vec<(String, usize, usize, Duration)>,
    /// Units compiled first by the first tier (`code::Tier`): those in
    /// `compiled` and not in `second` run first-tier code.
    pub tiers: bool,
    /// Units compiled again by the second tier (their first-tier code
    /// kept running): name, instructions, machine-code bytes, time.
    pub second: Vec<(String, usize, usize, Duration)>,
    /// Units the second tier could not compile (their first-tier code
    /// goes on serving): name and why.
    pub second_failed: Vec<(String, String)>,
    /// Units that stay interpreted: name and why.
    pub fallbacks: Vec<(String, String)>,
    /// Units too big to compile as one function, split into parts
    /// (`regions`): name, instructions, parts. Listed when a part of one
    /// is first compiled.
    pub split: Vec<(String, usize, u32)>,
    /// Entries into compiled blocks whose variables did not have the tags
    /// the block assumes (the interpreter ran the block instead).
    pub entry_checks_failed: u64,
    /// Direct entries (`direct`) of compiled functions: name, and
    /// machine-code bytes and time, or why it has none.
    pub direct: Vec<(String, DirectOutcome)>,
    /// Times direct frames left compiled code (preempted, a guard failed,
    /// a call they could not make).
    pub direct_exits: u64,
    /// Preempted direct frames resumed in direct code (`resume`), and
    /// how many of those runs left compiled code other than preempted.
    pub resumed: u64,
    pub resume_misses: u64,
    /// Tiny units without code at the end (compiled only where compiled
    /// code calls them, see [`Jit::tier_up`]): name and instructions.
    pub tiny: Vec<(String, usize)>,
    /// Under the cost policy (`tier`), units that ran interpreted without
    /// becoming worth compiling: name, work interpreted, work at which
    /// they would have been compiled.
    pub cold: Vec<(String, u64, u64)>,
    /// Background compilation (`queue`), when a compiler thread served
    /// the run.
    pub background: Option<super::Background>,
}

/// A direct entry's machine-code bytes and compile time, or why the
/// function has none.
pub type DirectOutcome = Result<(usize, Duration), String>;

impl JitStats {
    /// One `--stats` paragraph.
    pub fn report(&self) -> String {
        let total: Duration = self.compiled.iter().map(|c| c.3).sum();
        let mut s = format!(
            "jit: functions compiled {}, fallbacks {}, compile time {:.3} ms, entry checks failed {}\n",
            self.compiled.len(),
            self.fallbacks.len(),
            total.as_secs_f64() * 1e3,
            self.entry_checks_failed
        );
        if let Some(b) = &self.background {
            let ms = |d: Duration| d.as_secs_f64() * 1e3;
            let exit = if b.unfinished {
                "; one in progress at the end (not waited for)"
            } else {
                ""
            };
            s.push_str(&format!(
                "jit: compiled in the background {}, still queued at the end {}, waited in the queue {:.3} ms (longest {:.3} ms){exit}\n",
                b.compiles,
                b.left,
                ms(b.waited),
                ms(b.longest)
            ));
        }
        for (name, n, bytes, t) in &self.compiled {
            s.push_str(&format!(
                "jit:   compiled {name}: {n} instructions, {bytes} bytes, {:.3} ms\n",
                t.as_secs_f64() * 1e3
            ));
        }
        if self.tiers {
            let t: Duration = self.second.iter().map(|c| c.3).sum();
            s.push_str(&format!(
                "jit: two tiers (first: single-pass register allocator, no optimisation; direct entries and units that stay hot: optimising): second tier {}, compile time {:.3} ms\n",
                self.second.len(),
                t.as_secs_f64() * 1e3
            ));
        }
        for (name, n, bytes, t) in &self.second {
            s.push_str(&format!(
                "jit:   second tier {name}: {n} instructions, {bytes} bytes, {:.3} ms\n",
                t.as_secs_f64() * 1e3
            ));
        }
        for (name, why) in &self.second_failed {
            s.push_str(&format!(
                "jit:   second tier failed for {name} (its first-tier code serves): {why}\n"
            ));
        }
        for (name, n, parts) in &self.split {
            s.push_str(&format!(
                "jit:   split {name}: {n} instructions, too big to compile as one function: {parts} parts, each compiled when it is hot\n"
            ));
        }
        for (name, why) in &self.fallbacks {
            s.push_str(&format!("jit:   interpreted {name}: {why}\n"));
        }
        for (name, n) in &self.tiny {
            let many = if *n == 1 { "" } else { "s" };
            s.push_str(&format!(
                "jit:   interpreted {name}: tiny ({n} instruction{many}, no loop, no call): compiled only where compiled code calls it\n"
            ));
        }
        for (name, work, budget) in &self.cold {
            s.push_str(&format!(
                "jit:   interpreted {name}: not run enough to pay for compiling it (work {work} of {budget})\n"
            ));
        }
        if !self.direct.is_empty() {
            s.push_str(&format!(
                "jit: direct entries {}, left compiled code {} times\n",
                self.direct.iter().filter(|d| d.1.is_ok()).count(),
                self.direct_exits
            ));
        }
        if self.resumed > 0 {
            s.push_str(&format!(
                "jit: direct frames resumed in direct code {} times, left other than preempted {} times\n",
                self.resumed, self.resume_misses
            ));
        }
        for (name, d) in &self.direct {
            match d {
                Ok((bytes, t)) => s.push_str(&format!(
                    "jit:   direct entry for {name}: {bytes} bytes, {:.3} ms\n",
                    t.as_secs_f64() * 1e3
                )),
                Err(why) => s.push_str(&format!("jit:   no direct entry for {name}: {why}\n")),
            }
        }
        s
    }
}
