//! `ttvm --top` (docs/OBSERVING.md, "--top"): the process table, the
//! schedulers' utilisation and totals, drawn with ratatui on the terminal
//! (`/dev/tty`) and refreshed each second while the program runs.
//!
//! Decisions: `q` (or Ctrl-C) closes the view *and ends the program*
//! (status [`super::EXIT_TOP_QUIT`]); when the program ends, the view
//! closes by itself. The view owns the terminal while it is up, so the
//! program's stdout and stderr, when they are that terminal, are captured:
//! the output pane shows their last lines, and everything captured (up to
//! [`CAPTURE_MAX`] bytes) is written to the real streams when the view
//! closes. Redirected streams (a file, a pipe) are left alone. The
//! terminal is restored however the view ends: the program's end, `q`,
//! SIGQUIT, or a panic (a panic hook restores it first).

use super::{take, utilisation_text, Keep, Snapshot, Source, VmNode, EXIT_TOP_QUIT};
use crate::exec::vm::Io;
use crate::exec::Vm;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::crossterm::terminal::{self, EnterAlternateScreen, LeaveAlternateScreen};
use ratatui::crossterm::{cursor, execute};
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph, Row, Table};
use ratatui::Terminal;
use std::collections::VecDeque;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Once};
use std::thread::{Scope, ScopedJoinHandle};
use std::time::{Duration, Instant};
use ttvm_runtime::node::Loads;

/// The most output kept while the view is up (beyond it, later output is
/// counted and dropped: redirect stdout for a program that prints a lot).
pub const CAPTURE_MAX: usize = 64 << 20;

/// Lines the output pane keeps.
const PANE_LINES: usize = 200;

/// How often the view is refreshed.
const REFRESH: Duration = Duration::from_secs(1);

/// Whether the view holds the terminal (raw mode, alternate screen).
static VIEW_UP: AtomicBool = AtomicBool::new(false);

/// What the view captured of the program's streams, for [`before_exit`].
static CAPTURED: Mutex<Option<Arc<Captured>>> = Mutex::new(None);

/// The live view, prepared before the run ([`Top::prepare`]).
pub struct Top {
    title: String,
    captured: Arc<Captured>,
    /// The pane's title: which streams it shows.
    pane_title: String,
}

/// The program's captured output.
#[derive(Default)]
pub struct Captured {
    inner: Mutex<Capture>,
}

#[derive(Default)]
struct Capture {
    out: Vec<u8>,
    err: Vec<u8>,
    /// Bytes not kept (past [`CAPTURE_MAX`]).
    dropped: usize,
    /// The pane's last lines, and the line being written.
    lines: VecDeque<String>,
    partial: String,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Captured {
    fn add(&self, bytes: &[u8], err: bool) {
        let mut c = lock(&self.inner);
        let room = CAPTURE_MAX.saturating_sub(c.out.len() + c.err.len());
        let kept = bytes.len().min(room);
        c.dropped += bytes.len() - kept;
        if err {
            c.err.extend_from_slice(&bytes[..kept]);
        } else {
            c.out.extend_from_slice(&bytes[..kept]);
        }
        for piece in String::from_utf8_lossy(bytes).split_inclusive('\n') {
            let done = piece.ends_with('\n');
            // A very long line shows its first part only.
            if c.partial.len() < 1000 {
                let part = piece.trim_end_matches('\n');
                c.partial.push_str(part);
            }
            if done {
                let line = std::mem::take(&mut c.partial);
                if c.lines.len() == PANE_LINES {
                    c.lines.pop_front();
                }
                c.lines.push_back(line);
            }
        }
    }

    /// Write what was captured to the real streams, once.
    fn replay(&self) {
        let mut c = lock(&self.inner);
        let (out, err) = (std::mem::take(&mut c.out), std::mem::take(&mut c.err));
        let dropped = std::mem::take(&mut c.dropped);
        drop(c);
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(&out).and_then(|()| stdout.flush());
        let mut stderr = std::io::stderr().lock();
        let _ = stderr.write_all(&err);
        if dropped > 0 {
            let _ = writeln!(
                stderr,
                "ttvm --top: {dropped} bytes of the program's output were not kept (more than {} MiB while the view was up; redirect stdout to keep it all)",
                CAPTURE_MAX >> 20
            );
        }
        let _ = stderr.flush();
    }
}

/// A program stream that goes to the capture.
struct CaptureWriter {
    to: Arc<Captured>,
    err: bool,
}

impl Write for CaptureWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.to.add(buf, self.err);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Top {
    /// Check that there is a terminal to draw on and capture the program's
    /// streams that go to it. The error says what to do instead.
    pub fn prepare(title: &str, mut io: Io) -> Result<(Top, Io), String> {
        if let Err(e) = std::fs::OpenOptions::new().write(true).open("/dev/tty") {
            return Err(format!(
                "--top needs a terminal to draw on, and /dev/tty cannot be opened: {e}\n  help: run it in a terminal, or use SIGUSR1 (`kill -USR1 PID`) for a snapshot on stderr"
            ));
        }
        let captured = Arc::new(Captured::default());
        let (out, err) = (
            std::io::stdout().is_terminal(),
            std::io::stderr().is_terminal(),
        );
        let pane_title = match (out, err) {
            (true, true) => " program output ",
            (true, false) => " program output (stderr is redirected) ",
            (false, true) => " program stderr (stdout is redirected) ",
            (false, false) => " program output: redirected, not shown here ",
        }
        .to_string();
        if out {
            io.stdout = Box::new(CaptureWriter {
                to: captured.clone(),
                err: false,
            });
        }
        if err {
            io.stderr = Box::new(CaptureWriter {
                to: captured.clone(),
                err: true,
            });
        }
        *lock(&CAPTURED) = Some(captured.clone());
        Ok((
            Top {
                title: title.to_string(),
                captured,
                pane_title,
            },
            io,
        ))
    }

    /// Start the view's thread.
    pub(super) fn start<'scope, 'env>(
        self,
        scope: &'scope Scope<'scope, 'env>,
        node: &'env VmNode,
        vm: &'env Arc<Vm>,
        source: &'env Source<'env>,
    ) -> Viewing<'scope> {
        let done = Arc::new(AtomicBool::new(false));
        let stop = done.clone();
        let thread = std::thread::Builder::new()
            .name("ttvm-top".to_string())
            .spawn_scoped(scope, move || {
                if let Err(e) = self.show(node, vm, source, &stop) {
                    restore();
                    vm.eprint(&format!("ttvm --top: the view failed: {e}\n"));
                }
                restore();
            });
        let thread = match thread {
            Ok(t) => Some(t),
            Err(e) => {
                vm.eprint(&format!("ttvm --top: cannot start the view: {e}\n"));
                None
            }
        };
        Viewing { done, thread }
    }

    /// The view's loop: draw, then wait for a key until the next refresh.
    fn show(
        &self,
        node: &VmNode,
        vm: &Vm,
        source: &Source<'_>,
        done: &AtomicBool,
    ) -> std::io::Result<()> {
        let tty = std::fs::OpenOptions::new().write(true).open("/dev/tty")?;
        let mut term = Terminal::new(CrosstermBackend::new(tty))?;
        take_terminal(term.backend_mut())?;
        let mut before: Option<(Loads, u64, Instant)> = None;
        while !done.load(Ordering::Acquire) {
            // The program's buffered output, into the pane.
            vm.flush();
            let rows = term.size()?.height.saturating_sub(HEADER + PANE + 3).max(1);
            let snapshot = take(node, source, Keep::Top(rows as usize), vm);
            let now = Instant::now();
            term.draw(|f| self.draw(f, snapshot.as_ref(), before.as_ref()))?;
            if let Some(s) = &snapshot {
                if let Some(l) = &s.loads {
                    before = Some((l.clone(), s.reductions, now));
                }
            }
            let until = now + REFRESH;
            while !done.load(Ordering::Acquire) && Instant::now() < until {
                if !event::poll(Duration::from_millis(50))? {
                    continue;
                }
                if let Event::Key(k) = event::read()? {
                    let ctrl_c =
                        k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL);
                    if k.kind == KeyEventKind::Press
                        && (matches!(k.code, KeyCode::Char('q') | KeyCode::Char('Q')) || ctrl_c)
                    {
                        before_exit(vm);
                        std::process::exit(EXIT_TOP_QUIT);
                    }
                }
            }
        }
        Ok(())
    }

    fn draw(
        &self,
        f: &mut ratatui::Frame<'_>,
        s: Option<&Snapshot>,
        before: Option<&(Loads, u64, Instant)>,
    ) {
        let [head, table, pane] = Layout::vertical([
            Constraint::Length(HEADER),
            Constraint::Min(3),
            Constraint::Length(PANE + 2),
        ])
        .areas(f.area());
        let bold = Style::default().add_modifier(Modifier::BOLD);
        let Some(s) = s else {
            f.render_widget(
                Paragraph::new(vec![
                    Line::styled(format!("ttvm --top  {}   q: quit", self.title), bold),
                    Line::from(
                        "(the run did not answer: a one-scheduler run answers between two slices)",
                    ),
                ]),
                head,
            );
            return;
        };
        let rate = match before {
            Some((_, r, at)) if at.elapsed().as_secs_f64() > 0.0 => format!(
                " ({:.0}/s)",
                s.reductions.saturating_sub(*r) as f64 / at.elapsed().as_secs_f64()
            ),
            _ => String::new(),
        };
        let mut lines = vec![
            Line::styled(
                format!(
                    "ttvm --top  {}  up {:.1} s   q: quit (ends the program)",
                    self.title, s.uptime
                ),
                bold,
            ),
            Line::from(format!(
                "processes {} (running {}, runnable {}, waiting {})   reductions {}{rate}   messages queued {}",
                s.processes, s.running, s.runnable, s.waiting, s.reductions, s.messages_queued
            )),
        ];
        lines.push(Line::from(match &s.loads {
            Some(l) => format!(
                "schedulers {}: utilisation {}",
                l.idle.len(),
                utilisation_text(l, before.map(|b| &b.0))
            ),
            None => "schedulers: not started".to_string(),
        }));
        f.render_widget(Paragraph::new(lines), head);
        let header = Row::new([
            "PID",
            "NAME",
            "STATUS",
            "FUNCTION",
            "LINE",
            "MAILBOX",
            "REDUCTIONS",
            "LINKS",
            "MONITORS",
            "TRAP",
        ])
        .style(bold);
        let rows = s.rows.iter().map(|r| {
            Row::new([
                r.pid.to_string(),
                super::name_cell(r.name.as_deref()),
                r.status.clone(),
                r.function.clone(),
                short_line(&r.line),
                r.mailbox.clone(),
                r.reductions.to_string(),
                super::pid_list(&r.links),
                super::pid_list(&r.monitors),
                if r.trap_exit { "yes" } else { "no" }.to_string(),
            ])
        });
        let widths = [
            Constraint::Length(7),
            Constraint::Length(14),
            Constraint::Length(22),
            Constraint::Length(18),
            Constraint::Length(26),
            Constraint::Length(8),
            Constraint::Length(12),
            Constraint::Length(10),
            Constraint::Length(10),
            Constraint::Length(5),
        ];
        let title = format!(
            " processes by reductions ({} of {}) ",
            s.rows.len(),
            s.processes
        );
        f.render_widget(
            Table::new(rows, widths)
                .header(header)
                .block(Block::bordered().title(title)),
            table,
        );
        let c = lock(&self.captured.inner);
        let shown: Vec<Line> = c
            .lines
            .iter()
            .skip(c.lines.len().saturating_sub(PANE as usize))
            .map(|l| Line::from(l.clone()))
            .collect();
        drop(c);
        f.render_widget(
            Paragraph::new(shown).block(Block::bordered().title(self.pane_title.as_str())),
            pane,
        );
    }
}

/// `file:line` with the file's folders left out (the table is narrow).
fn short_line(line: &str) -> String {
    match line.rsplit_once(['/', '\\']) {
        Some((_, tail)) => tail.to_string(),
        None => line.to_string(),
    }
}

/// Lines of the header and of the output pane (inside its border).
const HEADER: u16 = 3;
const PANE: u16 = 5;

/// The view's thread of a run.
pub(super) struct Viewing<'scope> {
    done: Arc<AtomicBool>,
    thread: Option<ScopedJoinHandle<'scope, ()>>,
}

impl Viewing<'_> {
    /// The program ended: close the view, then write what it captured.
    pub(super) fn stop(mut self) {
        self.done.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Viewing<'_> {
    fn drop(&mut self) {
        // Also when the run panics: the scope waits for the thread.
        self.done.store(true, Ordering::Release);
    }
}

/// Raw mode and the alternate screen; the panic hook that gives them back.
fn take_terminal(tty: &mut impl Write) -> std::io::Result<()> {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
    });
    terminal::enable_raw_mode()?;
    VIEW_UP.store(true, Ordering::SeqCst);
    execute!(tty, EnterAlternateScreen, cursor::Hide)?;
    Ok(())
}

/// Give the terminal back, if the view holds it.
fn restore() {
    if !VIEW_UP.swap(false, Ordering::SeqCst) {
        return;
    }
    if let Ok(mut tty) = std::fs::OpenOptions::new().write(true).open("/dev/tty") {
        let _ = execute!(tty, LeaveAlternateScreen, cursor::Show);
    }
    let _ = terminal::disable_raw_mode();
}

/// Before ttvm exits while the view may be up (`q`, SIGQUIT) or after it
/// closed: flush the program's output, give the terminal back and write
/// what was captured.
pub(crate) fn before_exit(vm: &Vm) {
    vm.flush();
    restore();
    if let Some(c) = lock(&CAPTURED).take() {
        c.replay();
    }
}
