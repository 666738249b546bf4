//! The live process view (docs/OBSERVING.md): a snapshot of every process
//! — PID, registered name, status, current function and source line,
//! mailbox length, reductions, links, monitors, trap_exit — and of the
//! schedulers' utilisation, taken while the program runs. Printed on
//! SIGUSR1 (the run goes on) and SIGQUIT (the run ends with status 131) by
//! `signals.rs`; shown live by `ttvm --top` (`top.rs`).
//!
//! The runtime reads each process in one critical section of its lock
//! (`runtime/src/node/observe.rs`, O1–O3); this module turns what it read
//! into rows: a decoded address into a source line and the frame into a
//! function name.

use crate::bytecode::Program;
use crate::exec::{Context, Dpc, FrameKind, Layout, Vm};
use crossbeam_channel::bounded;
use std::cmp::Reverse;
use std::sync::Arc;
use std::time::Duration;
use ttvm_runtime::node::Loads;
use ttvm_runtime::{Node, Pid, View, ViewStatus};

#[cfg(unix)]
mod signals;
pub mod top;

/// Exit status after SIGQUIT's snapshot (128 + SIGQUIT, as a shell reports
/// a process that SIGQUIT ended).
pub const EXIT_SIGQUIT: i32 = 131;
/// Exit status when `q` in `--top` ended the program (128 + SIGINT, as
/// for Ctrl-C).
pub const EXIT_TOP_QUIT: i32 = 130;

/// How long an observer waits for a snapshot: a one-scheduler run answers
/// between two slices (one very long instruction delays it).
pub const ANSWER_WAIT: Duration = Duration::from_secs(2);

/// Rows a printed snapshot lists at most (in PID order; the rest are
/// counted).
pub const DUMP_ROWS: usize = 10_000;

/// What the `ttvm` command watches during a run.
#[derive(Default)]
pub struct Watch {
    /// Print a snapshot on SIGUSR1, and on SIGQUIT then exit.
    pub signals: bool,
    /// `--top`: the live view.
    pub top: Option<top::Top>,
}

/// The VM's type of node.
pub(crate) type VmNode = Node<Box<Context>>;

/// What a snapshot reads of a process's execution state at rest.
#[derive(Clone, Copy, Debug)]
pub struct Raw {
    pc: Dpc,
    reductions: u64,
    /// The innermost frame: its kind and entry address.
    frame: Option<(FrameKind, u32)>,
}

/// A process's reductions: read at rest, or noted at its last preempted
/// slice.
fn reductions_of(v: &View<Raw>) -> u64 {
    v.state.map_or(v.note[1], |r| r.reductions)
}

#[allow(clippy::borrowed_box)] // the node's state type is `Box<Context>`
fn read(ctx: &Box<Context>) -> Raw {
    Raw {
        pc: ctx.pc,
        reductions: ctx.reductions,
        frame: ctx.frames.last().map(|f| (f.kind, f.entry)),
    }
}

/// One process's row.
#[derive(Clone, Debug)]
pub struct Row {
    pub pid: Pid,
    pub name: Option<String>,
    pub status: String,
    pub function: String,
    /// `file:line` of the instruction it is at.
    pub line: String,
    /// Messages waiting; `+` after it: at least (it is running).
    pub mailbox: String,
    pub reductions: u64,
    pub links: Vec<Pid>,
    pub monitors: Vec<Pid>,
    pub watchers: Vec<Pid>,
    pub trap_exit: bool,
}

/// A snapshot: rows (all, or those kept) and totals over every process.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub rows: Vec<Row>,
    /// Live processes seen.
    pub processes: usize,
    pub running: usize,
    pub runnable: usize,
    pub waiting: usize,
    /// Sum of reductions (a running process counts what it had at its
    /// last preempted slice) and of mailbox lengths.
    pub reductions: u64,
    pub messages_queued: usize,
    pub loads: Option<Loads>,
    /// Seconds since the program started.
    pub uptime: f64,
}

/// Which rows a snapshot keeps.
#[derive(Clone, Copy, Debug)]
pub enum Keep {
    /// The first `n` in PID order.
    First(usize),
    /// The `n` with the most reductions, most first.
    Top(usize),
}

/// What a row needs from the program, for rows of processes read during
/// the run.
pub(crate) struct Source<'a> {
    program: &'a Program,
    layout: &'a Layout,
    /// Labels by address, for a running process (whose frames cannot be
    /// read): the label at or before its last-known place.
    labels: Vec<(u32, Arc<str>)>,
}

impl<'a> Source<'a> {
    pub(crate) fn new(program: &'a Program, layout: &'a Layout) -> Source<'a> {
        let mut labels: Vec<(u32, Arc<str>)> = program
            .label_at
            .iter()
            .map(|(&a, l)| (a, l.clone()))
            .collect();
        labels.sort();
        Source {
            program,
            layout,
            labels,
        }
    }

    fn line_of(&self, pc: Dpc) -> String {
        match self.layout.get_addr(pc) {
            Some(a) => self.program.location(a.0),
            None => "<unknown>".to_string(),
        }
    }

    fn function_of(&self, pid: Pid, kind: FrameKind, entry: u32) -> String {
        let p = self.program;
        match kind {
            FrameKind::Root if pid == 1 => "<top-level>".to_string(),
            FrameKind::Root | FrameKind::Call => p.function_name(entry),
            FrameKind::Module(m) => format!(
                "<module:{}>",
                p.files[p.modules[m as usize].file as usize].name
            ),
        }
    }

    /// The label at or before `pc` in its module (`~label`), for a process
    /// whose frames cannot be read.
    fn near(&self, pc: Dpc) -> String {
        let Some(at) = self.layout.get_addr(pc) else {
            return "?".to_string();
        };
        let module = self.program.module_of.get(at.ix()).copied();
        let i = self.labels.partition_point(|(a, _)| *a <= at.0);
        match self.labels[..i].last() {
            Some((a, l)) if self.program.module_of.get(*a as usize).copied() == module => {
                format!("~{l}")
            }
            _ => "?".to_string(),
        }
    }

    fn row(&self, v: View<Raw>) -> Row {
        let (function, line, reductions) = match (&v.state, v.note) {
            (Some(r), _) => (
                match r.frame {
                    Some((kind, entry)) => self.function_of(v.pid, kind, entry),
                    None => "?".to_string(),
                },
                self.line_of(r.pc),
                r.reductions,
            ),
            // Running (or exiting): the note from its last preempted slice.
            (None, [pc, reductions]) if pc != u64::MAX => {
                let pc = Dpc(pc as u32);
                (self.near(pc), self.line_of(pc), reductions)
            }
            (None, _) => ("?".to_string(), "?".to_string(), 0),
        };
        Row {
            pid: v.pid,
            name: v.name.map(|n| n.to_string()),
            status: status_text(v.status),
            function,
            line,
            mailbox: if v.mailbox_exact {
                v.mailbox.to_string()
            } else {
                format!("{}+", v.mailbox)
            },
            reductions,
            links: v.links,
            monitors: v.monitors,
            watchers: v.watchers,
            trap_exit: v.trap_exit,
        }
    }
}

/// A status as one word (docs/OBSERVING.md): `running`, `runnable`,
/// `receive`, `receive/timeout:1.50s`, `match`, `match/timeout:…`,
/// `sleep:0.25s`, `io`, `exiting`.
fn status_text(s: ViewStatus) -> String {
    match s {
        ViewStatus::Running => "running".to_string(),
        ViewStatus::Runnable => "runnable".to_string(),
        ViewStatus::Receive { pattern, left } => {
            let what = if pattern { "match" } else { "receive" };
            match left {
                Some(t) => format!("{what}/timeout:{:.2}s", t.as_secs_f64()),
                None => what.to_string(),
            }
        }
        ViewStatus::Sleep { left } => format!("sleep:{:.2}s", left.as_secs_f64()),
        ViewStatus::Io => "io".to_string(),
        ViewStatus::Exiting => "exiting".to_string(),
    }
}

/// Take a snapshot of `node` keeping the rows `keep` says, waiting at most
/// [`ANSWER_WAIT`] for it; `None` when the run did not answer in time.
pub(crate) fn take(node: &VmNode, source: &Source<'_>, keep: Keep, vm: &Vm) -> Option<Snapshot> {
    let (tx, rx) = bounded(1);
    node.observe(Box::new(move |node: &VmNode| {
        let mut views: Vec<View<Raw>> = Vec::new();
        let mut totals = Snapshot::default();
        // Most reductions first (ties: lower PID first).
        let order = |v: &View<Raw>| (Reverse(reductions_of(v)), v.pid);
        node.observe_processes(read, |v| {
            totals.processes += 1;
            match v.status {
                ViewStatus::Running => totals.running += 1,
                ViewStatus::Runnable => totals.runnable += 1,
                ViewStatus::Receive { .. } | ViewStatus::Sleep { .. } | ViewStatus::Io => {
                    totals.waiting += 1
                }
                ViewStatus::Exiting => {}
            }
            totals.reductions += reductions_of(&v);
            totals.messages_queued += v.mailbox;
            match keep {
                Keep::First(n) if views.len() >= n => {}
                Keep::First(_) => views.push(v),
                Keep::Top(n) => {
                    views.push(v);
                    if views.len() >= 4 * n.max(1) {
                        views.sort_by_key(order);
                        views.truncate(n);
                    }
                }
            }
        });
        if let Keep::Top(n) = keep {
            views.sort_by_key(order);
            views.truncate(n);
        }
        totals.loads = node.loads();
        let _ = tx.send((views, totals));
    }));
    let (views, mut snapshot) = rx.recv_timeout(ANSWER_WAIT).ok()?;
    snapshot.rows = views.into_iter().map(|v| source.row(v)).collect();
    snapshot.uptime = vm.started.elapsed().as_secs_f64();
    Some(snapshot)
}

/// A list of PIDs for a table cell: `-` when empty, at most 4 then `…+N`.
pub fn pid_list(pids: &[Pid]) -> String {
    if pids.is_empty() {
        return "-".to_string();
    }
    let mut s = pids
        .iter()
        .take(4)
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(",");
    if pids.len() > 4 {
        s.push_str(&format!(",…+{}", pids.len() - 4));
    }
    s
}

/// A registered name for a table cell: `-` for none; a name with spaces or
/// control characters is quoted (Rust string escapes).
pub fn name_cell(name: Option<&str>) -> String {
    match name {
        None => "-".to_string(),
        Some(n)
            if !n.is_empty()
                && n.chars().all(|c| {
                    c.is_ascii_graphic() || (!c.is_ascii() && !c.is_control() && !c.is_whitespace())
                }) =>
        {
            ttvm_runtime::value::shown_text(n, 40).to_string()
        }
        Some(n) => format!("{:?}", ttvm_runtime::value::shown_text(n, 40).to_string()),
    }
}

/// The utilisation of each scheduler, as `#0 97.5%  #1 3.0%`.
pub fn utilisation_text(loads: &Loads, before: Option<&Loads>) -> String {
    loads
        .utilisation_since(before)
        .iter()
        .enumerate()
        .map(|(i, u)| format!("#{i} {:.1}%", u * 100.0))
        .collect::<Vec<_>>()
        .join("  ")
}

/// The printed snapshot (docs/OBSERVING.md, "The snapshot"): a header, the
/// schedulers' utilisation since the run started, one row per process in
/// PID order, and an end line.
pub fn dump_text(s: &Snapshot, why: &str, shown_max: usize) -> String {
    let mut out = format!(
        "=== ttvm process snapshot ({why}) at {:.3} s: {} processes ({} running, {} runnable, {} waiting) ===\n",
        s.uptime, s.processes, s.running, s.runnable, s.waiting
    );
    if let Some(l) = &s.loads {
        out.push_str(&format!(
            "schedulers: {}; utilisation since the run started: {}\n",
            l.idle.len(),
            utilisation_text(l, None)
        ));
    }
    out.push_str(&format!(
        "{:>7} {:<16} {:<24} {:<20} {:<24} {:>8} {:>12} {:<12} {:<12} {:<12} {}\n",
        "PID",
        "NAME",
        "STATUS",
        "FUNCTION",
        "LINE",
        "MAILBOX",
        "REDUCTIONS",
        "LINKS",
        "MONITORS",
        "MONITORED_BY",
        "TRAP_EXIT"
    ));
    for r in &s.rows {
        out.push_str(&format!(
            "{:>7} {:<16} {:<24} {:<20} {:<24} {:>8} {:>12} {:<12} {:<12} {:<12} {}\n",
            r.pid,
            name_cell(r.name.as_deref()),
            r.status,
            r.function,
            r.line,
            r.mailbox,
            r.reductions,
            pid_list(&r.links),
            pid_list(&r.monitors),
            pid_list(&r.watchers),
            if r.trap_exit { "yes" } else { "no" }
        ));
    }
    if s.processes > s.rows.len() {
        out.push_str(&format!(
            "… {} more processes not listed (at most {shown_max} are)\n",
            s.processes - s.rows.len()
        ));
    }
    out.push_str("=== end of snapshot ===\n");
    out
}

/// Run `body` (the run) with the watchers `watch` asks for: the signal
/// thread, the live view. They end when `body` returns.
pub(crate) fn during<R>(
    watch: Watch,
    node: &VmNode,
    vm: &Arc<Vm>,
    source: &Source<'_>,
    body: impl FnOnce() -> R,
) -> R {
    if !watch.signals && watch.top.is_none() {
        return body();
    }
    std::thread::scope(|scope| {
        #[cfg(unix)]
        let signals = if watch.signals {
            signals::start(scope, node, vm, source)
        } else {
            None
        };
        let top = watch.top.map(|t| t.start(scope, node, vm, source));
        let out = body();
        if let Some(t) = top {
            t.stop();
        }
        #[cfg(unix)]
        if let Some(s) = signals {
            s.stop();
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_one_word() {
        let cases = [
            (ViewStatus::Running, "running"),
            (ViewStatus::Runnable, "runnable"),
            (
                ViewStatus::Receive {
                    pattern: false,
                    left: None,
                },
                "receive",
            ),
            (
                ViewStatus::Receive {
                    pattern: true,
                    left: Some(Duration::from_millis(1500)),
                },
                "match/timeout:1.50s",
            ),
            (
                ViewStatus::Sleep {
                    left: Duration::from_millis(250),
                },
                "sleep:0.25s",
            ),
            (ViewStatus::Exiting, "exiting"),
        ];
        for (s, text) in cases {
            assert_eq!(status_text(s), text);
        }
    }

    #[test]
    fn cells_are_one_word() {
        assert_eq!(pid_list(&[]), "-");
        assert_eq!(pid_list(&[3, 1]), "3,1");
        assert_eq!(pid_list(&[1, 2, 3, 4, 5, 6]), "1,2,3,4,…+2");
        assert_eq!(name_cell(None), "-");
        assert_eq!(name_cell(Some("server")), "server");
        assert_eq!(name_cell(Some("my server")), "\"my server\"");
        assert_eq!(name_cell(Some("")), "\"\"");
    }

    #[test]
    fn utilisation_over_an_interval() {
        let at = |e: u64, idle: &[u64]| Loads {
            elapsed: Duration::from_secs(e),
            idle: idle.iter().map(|&i| Duration::from_secs(i)).collect(),
        };
        let now = at(10, &[2, 10]);
        assert_eq!(now.utilisation_since(None), vec![0.8, 0.0]);
        // Over the last 5 s: the first slept 1 s of them, the second 5.
        assert_eq!(now.utilisation_since(Some(&at(5, &[1, 5]))), vec![0.8, 0.0]);
        assert_eq!(utilisation_text(&now, None), "#0 80.0%  #1 0.0%");
    }
}
