//! `--profile` (docs/PROFILING.md): per function calls, reductions, time
//! and self time; folded stacks for flame graphs; per process reductions,
//! messages and peak mailbox length.
//!
//! Off, it costs a test per slice (the engine's and the interpreter's,
//! which then picks its dispatch loop without the hook). On, the
//! interpreter runs a loop that calls [`step`] before every op: it keeps a
//! shadow call stack per process in step with the process's frames, and at
//! every change charges the reductions and the process's running time
//! since the last change to the function on top. Each slice's start and
//! end ([`resume`], [`pause`]) start and stop the process's clock and
//! catch up with frames that compiled code (`--jit`) made or removed,
//! which the interpreter's hook did not see.

use crate::bytecode::{Instr, Opcode, Program};
use crate::exec::{Addr, Context, Dpc, FrameKind, Vm};
use crate::interp::Code;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// What `--profile` writes at exit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The tables, on stderr.
    Table,
    /// Folded stacks (`a;b;c N`, N reductions) to this file.
    Folded(std::path::PathBuf),
}

/// The file `--profile=folded` writes without `=FILE`.
pub const DEFAULT_FOLDED: &str = "ttvm-profile.folded";

impl Mode {
    /// `--profile[=table|folded[=FILE]]`'s value.
    pub fn parse(text: &str) -> Result<Mode, String> {
        match text {
            "" | "table" => Ok(Mode::Table),
            "folded" => Ok(Mode::Folded(DEFAULT_FOLDED.into())),
            _ => match text.strip_prefix("folded=") {
                Some(f) if !f.is_empty() => Ok(Mode::Folded(f.into())),
                _ => Err(format!(
                    "`{text}` is not a profile form: use --profile (the table), --profile=folded or --profile=folded=FILE"
                )),
            },
        }
    }
}

/// The key of the main process's bottom frame (its top-level code).
const TOP_LEVEL: u32 = u32::MAX;

/// One function's totals.
#[derive(Clone, Debug, Default)]
pub struct FnStat {
    pub calls: u64,
    /// Reductions spent in the function itself.
    pub reductions: u64,
    /// Running time of its outermost activations, callees included.
    pub total_ns: u64,
    /// Running time in the function itself.
    pub self_ns: u64,
}

/// One process's totals.
#[derive(Clone, Debug)]
pub struct ProcStat {
    pub pid: i64,
    /// The function it started in.
    pub root: u32,
    pub reductions: u64,
    pub sent: u64,
    pub received: u64,
    pub peak_mailbox: usize,
}

#[derive(Default)]
struct Data {
    funcs: HashMap<u32, FnStat>,
    folded: HashMap<Vec<u32>, u64>,
    procs: Vec<ProcStat>,
}

/// The profile of a run: each process's part is added when its state goes.
pub struct Profiler {
    pub mode: Mode,
    data: Mutex<Data>,
}

impl Profiler {
    pub fn new(mode: Mode) -> Profiler {
        Profiler {
            mode,
            data: Mutex::new(Data::default()),
        }
    }

    fn data(&self) -> std::sync::MutexGuard<'_, Data> {
        self.data.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One activation on a process's shadow stack.
#[derive(Debug)]
struct Act {
    key: u32,
    /// The process's clock when it was entered.
    start_ns: u64,
}

/// A process's profile while it lives (in its [`Context`]).
pub struct ProcProf {
    prof: Arc<Profiler>,
    pid: i64,
    acts: Vec<Act>,
    /// The keys of `acts` (the folded stack).
    keys: Vec<u32>,
    /// Activations per key on the stack (a recursive function's time
    /// counts once, for its outermost activation).
    active: HashMap<u32, u32>,
    funcs: HashMap<u32, FnStat>,
    folded: HashMap<Vec<u32>, u64>,
    /// Running time before the current slice, and when it started.
    clock_ns: u64,
    resumed: Option<Instant>,
    /// The clock and the reductions when they were last charged.
    mark_ns: u64,
    mark_red: u64,
    /// The op before: a call (the next op at the top frame's entry is a
    /// new activation, a tail call too), a receive (at this address; a
    /// timeout receive's result is checked).
    prev_call: bool,
    prev_receive: Option<(u32, bool)>,
    sent: u64,
    received: u64,
    peak_mailbox: usize,
    reductions: u64,
    /// The function the process started in.
    root: u32,
}

impl std::fmt::Debug for ProcProf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ProcProf(pid {})", self.pid)
    }
}

impl ProcProf {
    fn new(prof: Arc<Profiler>, pid: i64, ctx: &Context) -> ProcProf {
        ProcProf {
            prof,
            pid,
            acts: Vec::new(),
            keys: Vec::new(),
            active: HashMap::new(),
            funcs: HashMap::new(),
            folded: HashMap::new(),
            clock_ns: 0,
            resumed: None,
            mark_ns: 0,
            mark_red: ctx.reductions,
            prev_call: false,
            prev_receive: None,
            sent: 0,
            received: 0,
            peak_mailbox: 0,
            reductions: ctx.reductions,
            root: ctx.frames.first().map_or(TOP_LEVEL, |f| key_of(pid, f)),
        }
    }

    fn clock(&self) -> u64 {
        self.clock_ns + self.resumed.map_or(0, |t| t.elapsed().as_nanos() as u64)
    }

    /// Charge the time and reductions since the last mark to the top.
    fn account(&mut self, now: u64, reductions: u64) {
        let (dt, dr) = (now - self.mark_ns, reductions - self.mark_red);
        self.mark_ns = now;
        self.mark_red = reductions;
        self.reductions = reductions;
        let Some(top) = self.keys.last() else { return };
        let f = self.funcs.entry(*top).or_default();
        f.self_ns += dt;
        f.reductions += dr;
        if dr > 0 {
            match self.folded.get_mut(&self.keys[..]) {
                Some(n) => *n += dr,
                None => {
                    self.folded.insert(self.keys.clone(), dr);
                }
            }
        }
    }

    fn push(&mut self, key: u32, now: u64) {
        self.funcs.entry(key).or_default().calls += 1;
        *self.active.entry(key).or_default() += 1;
        self.acts.push(Act { key, start_ns: now });
        self.keys.push(key);
    }

    fn pop(&mut self, now: u64) {
        let Some(a) = self.acts.pop() else { return };
        self.keys.pop();
        let n = self.active.get_mut(&a.key).expect("on the stack");
        *n -= 1;
        if *n == 0 {
            self.funcs.entry(a.key).or_default().total_ns += now - a.start_ns;
        }
    }

    /// Bring the shadow stack in step with `ctx.frames`; `new_top`: the
    /// top frame is a new activation (a call just entered it).
    fn sync(&mut self, ctx: &Context, new_top: bool) {
        // The call (if one was pending) is accounted for now.
        self.prev_call = false;
        let now = self.clock();
        self.account(now, ctx.reductions);
        let depth = ctx.frames.len();
        let mut keep = self.acts.len().min(depth);
        if new_top && keep == depth {
            keep -= 1;
        }
        while keep > 0 && self.keys[keep - 1] != key_of(self.pid, &ctx.frames[keep - 1]) {
            keep -= 1;
        }
        while self.acts.len() > keep {
            self.pop(now);
        }
        for f in &ctx.frames[keep..] {
            self.push(key_of(self.pid, f), now);
        }
    }
}

fn key_of(pid: i64, f: &crate::exec::Frame) -> u32 {
    match f.kind {
        FrameKind::Root if pid == 1 => TOP_LEVEL,
        _ => f.entry,
    }
}

impl Drop for ProcProf {
    fn drop(&mut self) {
        let now = self.clock();
        let red = self.reductions.max(self.mark_red);
        self.account(now, red);
        while !self.acts.is_empty() {
            self.pop(now);
        }
        let mut d = self.prof.data();
        for (k, f) in self.funcs.drain() {
            let t = d.funcs.entry(k).or_default();
            t.calls += f.calls;
            t.reductions += f.reductions;
            t.total_ns += f.total_ns;
            t.self_ns += f.self_ns;
        }
        for (k, n) in self.folded.drain() {
            *d.folded.entry(k).or_default() += n;
        }
        d.procs.push(ProcStat {
            pid: self.pid,
            root: self.root,
            reductions: self.reductions,
            sent: self.sent,
            received: self.received,
            peak_mailbox: self.peak_mailbox,
        });
    }
}

/// A slice of `pid` starts (the engine, with `--profile`).
pub fn resume(ctx: &mut Context, prof: &Arc<Profiler>, pid: i64, mailbox: usize) {
    let mut p = match ctx.prof.take() {
        Some(p) => p,
        None => Box::new(ProcProf::new(prof.clone(), pid, ctx)),
    };
    p.peak_mailbox = p.peak_mailbox.max(mailbox);
    p.resumed = Some(Instant::now());
    p.sync(ctx, false);
    ctx.prof = Some(p);
}

/// A slice ends: catch up with the frames (compiled code's calls and
/// returns), charge the slice, stop the process's clock.
pub fn pause(ctx: &mut Context) {
    let Some(mut p) = ctx.prof.take() else { return };
    p.sync(ctx, false);
    if let Some(t) = p.resumed.take() {
        p.clock_ns += t.elapsed().as_nanos() as u64;
    }
    p.mark_ns = p.clock_ns;
    ctx.prof = Some(p);
}

/// Before each op the profiling interpreter runs (`pc`: its decoded address).
#[inline(never)]
pub fn step(ctx: &mut Context, code: &Code, vm: &Vm, pc: usize, charge: bool) {
    let Some(mut p) = ctx.prof.take() else { return };
    let top = ctx.frames.last().expect("a frame");
    let new_top = p.prev_call && code.layout.dpc(Addr(top.entry)).ix() == pc;
    if new_top || ctx.frames.len() != p.acts.len() {
        p.sync(ctx, new_top);
    }
    if !charge {
        let at = code.layout.addr(Dpc(pc as u32)).0;
        if let Some((r, timeout)) = p.prev_receive.take() {
            let got = !timeout || matches!(ctx.stack.last(), Some(ttvm_runtime::Value::Bool(true)));
            if r != at && got {
                p.received += 1;
            }
        }
        let instr = &vm.program.code[at as usize];
        p.prev_call = matches!(instr.opcode(), Opcode::Call | Opcode::CallFunction);
        match instr {
            Instr::Send(_) | Instr::SendNamed(_) => p.sent += 1,
            Instr::Receive(_) | Instr::ReceiveMatch(_) => p.prev_receive = Some((at, false)),
            Instr::ReceiveAfter(_) | Instr::ReceiveMatchAfter(_) => {
                p.prev_receive = Some((at, true))
            }
            _ => {}
        }
    }
    ctx.prof = Some(p);
}

/// The name of a function key.
fn name_of(p: &Program, key: u32) -> String {
    if key == TOP_LEVEL {
        return "<top level>".to_string();
    }
    if let Some(l) = p.label_at.get(&key) {
        return l.to_string();
    }
    match p.modules.iter().find(|m| m.start == key) {
        Some(m) => format!("<module {}>", p.files[m.file as usize].name),
        None => p.function_name(key),
    }
}

/// How many processes the process table shows.
pub const PROCESSES_SHOWN: usize = 10;

/// Write the profile (every process's state has gone): the tables to
/// stderr through `eprint`, or the folded stacks to their file.
/// `compiled(entry)`: whether the JIT compiled the function at `entry`.
pub fn finish(
    prof: &Profiler,
    program: &Program,
    jit: bool,
    compiled: &dyn Fn(u32) -> bool,
    eprint: &dyn Fn(&str),
) -> Result<(), String> {
    let d = prof.data();
    match &prof.mode {
        Mode::Folded(path) => {
            let mut lines: Vec<String> = d
                .folded
                .iter()
                .map(|(k, n)| {
                    let names: Vec<String> = k.iter().map(|&f| name_of(program, f)).collect();
                    format!("{} {n}", names.join(";"))
                })
                .collect();
            lines.sort();
            let mut text = lines.join("\n");
            text.push('\n');
            std::fs::write(path, text).map_err(|e| {
                format!(
                    "error: cannot write the profile to {}: {}\n",
                    path.display(),
                    crate::exec::os_reason(&e)
                )
            })?;
            eprint(&format!(
                "profile: {} stacks written to {} (flame graph: inferno-flamegraph {} > profile.svg)\n",
                lines.len(),
                path.display(),
                path.display()
            ));
            Ok(())
        }
        Mode::Table => {
            let mut funcs: Vec<(&u32, &FnStat)> = d.funcs.iter().collect();
            funcs.sort_by(|a, b| {
                b.1.self_ns
                    .cmp(&a.1.self_ns)
                    .then(b.1.reductions.cmp(&a.1.reductions))
            });
            let ms = |ns: u64| ns as f64 / 1e6;
            let mut out = String::from(
                "profile: functions by self time (calls counted in interpreted code; see docs/PROFILING.md)\n",
            );
            out.push_str(&format!(
                "  {:<28} {:>10} {:>12} {:>10} {:>10}  {}\n",
                "function", "calls", "reductions", "time ms", "self ms", "tier"
            ));
            for (&k, f) in funcs {
                let tier = if jit && compiled(if k == TOP_LEVEL { 0 } else { k }) {
                    "compiled"
                } else {
                    "interpreted"
                };
                let name = name_of(program, k);
                let name = ttvm_runtime::value::shown_text(&name, 28).to_string();
                out.push_str(&format!(
                    "  {:<28} {:>10} {:>12} {:>10.3} {:>10.3}  {tier}\n",
                    name,
                    f.calls,
                    f.reductions,
                    ms(f.total_ns),
                    ms(f.self_ns)
                ));
            }
            let mut procs = d.procs.clone();
            procs.sort_by(|a, b| b.reductions.cmp(&a.reductions).then(a.pid.cmp(&b.pid)));
            out.push_str(&format!(
                "profile: processes by reductions ({} of {})\n",
                procs.len().min(PROCESSES_SHOWN),
                procs.len()
            ));
            out.push_str(&format!(
                "  {:>8} {:<24} {:>12} {:>9} {:>9} {:>12}\n",
                "pid", "started in", "reductions", "msgs in", "msgs out", "peak mailbox"
            ));
            for s in procs.iter().take(PROCESSES_SHOWN) {
                out.push_str(&format!(
                    "  {:>8} {:<24} {:>12} {:>9} {:>9} {:>12}\n",
                    s.pid,
                    name_of(program, s.root),
                    s.reductions,
                    s.received,
                    s.sent,
                    s.peak_mailbox
                ));
            }
            eprint(&out);
            Ok(())
        }
    }
}
