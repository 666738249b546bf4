//! The live process view (issue 18, item 6; docs/OBSERVING.md): a program
//! with known processes (`tests/process_view/known.ttvm`: a registered
//! server waiting in RECEIVE, a worker looping with trap_exit, the main
//! process linked to the worker, monitoring the server and waiting with a
//! timeout). The tests send SIGUSR1 and check the snapshot's rows, then
//! SIGQUIT and check the exit status (131), the last snapshot and that the
//! program's buffered output was written; and drive `ttvm --top` in a real
//! terminal under tmux, reading the screen with `tmux capture-pane -p`,
//! then press `q`. Every wait is bounded in count and time.
#![cfg(unix)]

mod common;

use common::Ttvm;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn program() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/process_view/known.ttvm")
}

/// A fresh scratch folder for one test.
fn scratch(name: &str) -> PathBuf {
    common::scratch(&format!("process-view-{name}"))
}

/// Wait (at most `limit`) until `path` exists.
fn wait_for_file(path: &Path, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if path.exists() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// Kills the child if a test fails before it ended.
struct Reap(Child);

impl Drop for Reap {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn signal(child: &Child, sig: i32) {
    // SAFETY: kill(2) on our own child's PID.
    let r = unsafe { libc::kill(child.id() as i32, sig) };
    assert_eq!(r, 0, "kill({}, {sig})", child.id());
}

/// A stream read to its end on a thread, into a shared string.
fn collect(mut from: impl Read + Send + 'static) -> Arc<Mutex<String>> {
    let text = Arc::new(Mutex::new(String::new()));
    let to = text.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 {
                break;
            }
            to.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    text
}

/// One row of a printed snapshot, by column.
#[derive(Debug)]
struct Row {
    pid: String,
    name: String,
    status: String,
    function: String,
    line: String,
    mailbox: String,
    reductions: u64,
    links: String,
    monitors: String,
    monitored_by: String,
    trap_exit: String,
}

/// The rows of each complete snapshot in `text` whose header names `why`.
fn snapshots(text: &str, why: &str) -> Vec<Vec<Row>> {
    let mut out = Vec::new();
    let mut rows: Option<Vec<Row>> = None;
    for line in text.lines() {
        if line.starts_with(&format!("=== ttvm process snapshot ({why})")) {
            rows = Some(Vec::new());
        } else if line == "=== end of snapshot ===" {
            if let Some(r) = rows.take() {
                out.push(r);
            }
        } else if let Some(r) = rows.as_mut() {
            let cells: Vec<&str> = line.split_whitespace().collect();
            if cells.len() == 11 && cells[0].parse::<u64>().is_ok() {
                r.push(Row {
                    pid: cells[0].into(),
                    name: cells[1].into(),
                    status: cells[2].into(),
                    function: cells[3].into(),
                    line: cells[4].into(),
                    mailbox: cells[5].into(),
                    reductions: cells[6].parse().expect("reductions"),
                    links: cells[7].into(),
                    monitors: cells[8].into(),
                    monitored_by: cells[9].into(),
                    trap_exit: cells[10].into(),
                });
            }
        }
    }
    out
}

/// What the known program's snapshot must show once all three processes
/// have started: `Err` says what is not (yet) so.
fn check_known(rows: &[Row]) -> Result<(), String> {
    let find = |pid: &str| {
        rows.iter()
            .find(|r| r.pid == pid)
            .ok_or(format!("no row for process {pid}"))
    };
    let (main, server, worker) = (find("1")?, find("2")?, find("3")?);
    let expect = |ok: bool, what: &str, row: &Row| {
        if ok {
            Ok(())
        } else {
            Err(format!("{what}: {row:?}"))
        }
    };
    expect(
        main.name == "-"
            && main.status.starts_with("receive/timeout:")
            && main.function == "<top-level>"
            && main.line.ends_with("known.ttvm:34")
            && main.mailbox == "0"
            && main.links == "3"
            && main.monitors == "2"
            && main.monitored_by == "-"
            && main.trap_exit == "no",
        "main: waiting in RECEIVE_AFTER (line 34), linked to 3, monitoring 2",
        main,
    )?;
    expect(
        server.name == "server"
            && server.status == "receive"
            && server.function == "server"
            && server.line.ends_with("known.ttvm:47")
            && server.mailbox == "0"
            && server.links == "-"
            && server.monitors == "-"
            && server.monitored_by == "1"
            && server.trap_exit == "no",
        "server: registered, waiting in RECEIVE (line 47), monitored by 1",
        server,
    )?;
    // Running right now (its last slice end is shown) or between slices.
    let line: u32 = worker
        .line
        .rsplit(':')
        .next()
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    expect(
        worker.name == "-"
            && (worker.status == "running" || worker.status == "runnable")
            && (worker.function == "worker" || worker.function == "~work_loop")
            && (56..=65).contains(&line)
            && worker.reductions > 0
            && worker.links == "1"
            && worker.trap_exit == "yes",
        "worker: looping in work_loop (lines 56-65), linked to 1, trapping exits",
        worker,
    )?;
    Ok(())
}

/// Run the known program with `flags`, send SIGUSR1 until a snapshot shows
/// every process as expected (at most 50 tries over about 10 s), then
/// SIGQUIT: exit status 131, a SIGQUIT snapshot, the buffered output written.
fn usr1_then_quit(flags: &[&str], name: &str) {
    let dir = scratch(name);
    let ready = dir.join("ready");
    let ttvm = Ttvm::new()
        .args(flags)
        .arg(program())
        .arg("--")
        .arg(&ready)
        .timeout(Duration::from_secs(10))
        .hang_means("ttvm did not exit within 10 s of SIGQUIT");
    let mut cmd = ttvm.command();
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = Reap(cmd.spawn().expect("start ttvm"));
    let stdout = collect(child.0.stdout.take().expect("stdout"));
    let stderr = collect(child.0.stderr.take().expect("stderr"));
    assert!(
        wait_for_file(&ready, Duration::from_secs(20)),
        "the program did not start within 20 s; stderr:\n{}",
        stderr.lock().unwrap()
    );
    let mut last = Err("no snapshot".to_string());
    for _ in 0..50 {
        signal(&child.0, libc::SIGUSR1);
        std::thread::sleep(Duration::from_millis(200));
        let text = stderr.lock().unwrap().clone();
        if let Some(rows) = snapshots(&text, "SIGUSR1").last() {
            last = check_known(rows);
            if last.is_ok() {
                break;
            }
        }
    }
    let text = stderr.lock().unwrap().clone();
    if let Err(e) = &last {
        panic!("no SIGUSR1 snapshot showed the known processes: {e}\nstderr:\n{text}");
    }
    assert!(
        text.contains("schedulers: ") && text.contains("utilisation since the run started: #0 "),
        "the snapshot shows the schedulers' utilisation:\n{text}"
    );
    // The run went on after SIGUSR1.
    assert!(
        child.0.try_wait().expect("try_wait").is_none(),
        "ttvm ended after SIGUSR1:\n{text}"
    );
    signal(&child.0, libc::SIGQUIT);
    let status = ttvm.wait(&mut child.0).expect("ttvm ends after SIGQUIT");
    // The reader threads see the end of the pipes.
    std::thread::sleep(Duration::from_millis(200));
    let err = stderr.lock().unwrap().clone();
    let out = stdout.lock().unwrap().clone();
    assert_eq!(
        status,
        Some(131),
        "exit status after SIGQUIT; stderr:\n{err}"
    );
    let quit = snapshots(&err, "SIGQUIT");
    assert_eq!(quit.len(), 1, "one SIGQUIT snapshot:\n{err}");
    check_known(&quit[0]).unwrap_or_else(|e| panic!("the SIGQUIT snapshot: {e}\n{err}"));
    assert!(
        err.contains("ttvm: ended by SIGQUIT (exit status 131)"),
        "{err}"
    );
    // The program's buffered output was flushed before the exit.
    assert_eq!(out, "started\n");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn snapshot_on_signals_with_two_schedulers() {
    usr1_then_quit(&["-S", "2"], "s2");
}

/// One scheduler elides process locks: the snapshot is taken by the run's
/// own worker between two slices (O2 in runtime/src/node/observe.rs).
#[test]
fn snapshot_on_signals_with_one_scheduler() {
    usr1_then_quit(&["--no-smp"], "s1");
}

#[test]
fn snapshot_on_signals_with_the_jit() {
    usr1_then_quit(&["-S", "2", "--jit"], "jit");
}

/// With one scheduler asleep (every process waits), the signal wakes it.
#[test]
fn snapshot_of_an_idle_one_scheduler_run() {
    let dir = scratch("idle");
    let mut child = Reap(
        Ttvm::new()
            .args([
                "--no-smp",
                "-e",
                "PUSH_STR \"ready\" | GET_ARGS | PUSH_INT 0 | INDEX | WRITE_FILE | PUSH_INT 20000 | RECEIVE_AFTER",
                "--",
            ])
            .arg(dir.join("ready"))
            .command()
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start ttvm"),
    );
    let stderr = collect(child.0.stderr.take().expect("stderr"));
    assert!(wait_for_file(&dir.join("ready"), Duration::from_secs(20)));
    // The file exists before WRITE_FILE (run on an I/O thread) has given
    // its result back: until then the process is shown waiting in `io`.
    let mut rows = None;
    for _ in 0..50 {
        signal(&child.0, libc::SIGUSR1);
        std::thread::sleep(Duration::from_millis(100));
        if let Some(r) = snapshots(&stderr.lock().unwrap(), "SIGUSR1").pop() {
            let waiting = r.first().is_some_and(|r| r.status != "io");
            rows = Some(r);
            if waiting {
                break;
            }
        }
    }
    let rows = rows.unwrap_or_else(|| panic!("no snapshot:\n{}", stderr.lock().unwrap()));
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0].status.starts_with("receive/timeout:"), "{rows:?}");
    assert_eq!(rows[0].line, "<-e>:7");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A tmux server of its own (a private socket), killed at the end.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn cmd(&self) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.socket, "-f", "/dev/null"]);
        c.env("TERM", "xterm-256color");
        c
    }

    fn run(&self, args: &[&str]) -> String {
        let out = self.cmd().args(args).output().expect("run tmux");
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "view"])
    }

    /// Read the screen until `ok` holds (at most `limit`); the last screen.
    fn wait_screen(&self, limit: Duration, ok: impl Fn(&str) -> bool) -> (bool, String) {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if ok(&s) {
                return (true, s);
            }
            if start.elapsed() > limit {
                return (false, s);
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd().arg("kill-server").output();
    }
}

fn tmux_present() -> bool {
    Command::new("tmux")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `ttvm --top` in a real terminal (a tmux pane, 150×40): the table shows
/// the known processes, sorted by reductions (the worker first); `q` ends
/// the view and the program with status 130, the terminal is given back
/// and the program's output, captured while the view was up, is written.
#[test]
fn top_shows_the_processes_in_a_terminal() {
    if !tmux_present() {
        eprintln!("skipped: tmux is not installed (apt-get install -y tmux)");
        return;
    }
    let dir = scratch("top");
    let ready = dir.join("ready");
    let tmux = Tmux {
        socket: format!("ttvm-test-{}", std::process::id()),
    };
    let line = format!(
        "'{}' --top '{}' -- '{}'; echo \"EXIT=$?\"; sleep 60",
        common::binary().to_string_lossy(),
        program().display(),
        ready.display()
    );
    tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "view",
        "-x",
        "150",
        "-y",
        "40",
        &line,
    ]);
    assert!(
        wait_for_file(&ready, Duration::from_secs(20)),
        "the program did not start; screen:\n{}",
        tmux.screen()
    );
    let shows_all = |s: &str| {
        let row = |pid: &str, words: &[&str]| {
            s.lines().any(|l| {
                let cells: Vec<&str> = l.trim_matches(['│', ' ']).split_whitespace().collect();
                cells.first() == Some(&pid) && words.iter().all(|w| cells.contains(w))
            })
        };
        s.contains("ttvm --top")
            && s.contains("processes 3 (")
            && s.contains("schedulers ")
            && s.contains("utilisation #0 ")
            && row("2", &["server", "receive", "known.ttvm:47"])
            && row("3", &["yes", "1"])
            && s.lines()
                .any(|l| l.contains("receive/timeout:") && l.contains("<top-level>"))
    };
    let (ok, screen) = tmux.wait_screen(Duration::from_secs(15), shows_all);
    assert!(ok, "the view does not show the known processes:\n{screen}");
    // Sorted by reductions: the worker (3) is the first row.
    let first = screen
        .lines()
        .skip_while(|l| !l.contains("PID"))
        .nth(1)
        .unwrap_or_default()
        .to_string();
    assert!(
        first.trim_matches(['│', ' ']).starts_with('3'),
        "the worker is the first row:\n{screen}"
    );
    tmux.run(&["send-keys", "-t", "view", "q"]);
    let (ok, screen) = tmux.wait_screen(Duration::from_secs(10), |s| s.contains("EXIT="));
    assert!(ok, "ttvm did not end after q:\n{screen}");
    assert!(
        screen.contains("EXIT=130"),
        "q ends the program with 130:\n{screen}"
    );
    // The terminal is back (no view left on it) and the captured output
    // was written to it.
    assert!(!screen.contains("processes by reductions"), "{screen}");
    assert!(
        screen.contains("started"),
        "the program's output:\n{screen}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
