//! VM-wide state shared by every process: the program, the configuration,
//! standard streams and the modules' run state.

use crate::bytecode::Program;
use std::io::{BufRead, BufWriter, Write};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;
use ttvm_runtime::Value;

/// Reductions per time slice unless `--reductions` says otherwise: the
/// budget of SPEC §4.6 a process runs for before it is preempted at the
/// next block start.
pub const DEFAULT_REDUCTIONS: i64 = 4000;

/// How to run a program (the CLI's options, as the library sees them).
#[derive(Clone, Debug)]
pub struct RunConfig {
    /// Reductions per time slice (`--reductions`, default
    /// [`DEFAULT_REDUCTIONS`]).
    pub reductions: i64,
    /// Call frames per process (`--max-call-depth`, default 1,000,000).
    pub max_call_depth: usize,
    /// Operand stack values per process (default 10,000,000).
    pub max_stack: usize,
    /// Variable slots of all of a process's frames together
    /// (`--max-frame-slots`, default [`DEFAULT_MAX_FRAME_SLOTS`]): a call
    /// or IMPORT that would pass it raises `stack overflow`.
    pub max_frame_slots: usize,
    /// `--sandbox`: file, environment and argument instructions raise
    /// `permission denied`.
    pub sandbox: bool,
    /// `--allow-net[=LIST]`: the network operations `--sandbox` still
    /// allows (`crate::permissions`; without `--sandbox` all are allowed).
    pub allow_net: crate::permissions::NetAllow,
    /// `--debug`: each instruction with PID and stack to stderr.
    pub debug: bool,
    /// `--trace`: each instruction executed, to stderr.
    pub trace: bool,
    /// `--stats`: a summary on stderr at exit.
    pub stats: bool,
    /// The program's arguments (after `--`), for `GET_ARGS`.
    pub args: Vec<String>,
    /// `--trace-procs`: process events to stderr.
    pub trace_procs: bool,
    /// Scheduler threads (`--smp`: one per core; `--no-smp`: 1; `-S N`).
    pub schedulers: usize,
    /// Pin each scheduler thread to a core (`--no-pin` turns it off).
    pub pin: bool,
    /// `--max-processes`: live processes allowed (default 1,048,576).
    pub max_processes: usize,
    /// Stop the whole run after this many reductions (fuzzing and tests);
    /// `None` runs to the end.
    pub reduction_limit: Option<u64>,
    /// `--jit`: compile hot code with Cranelift (off under `--debug`/`--trace`).
    pub jit: bool,
    /// `--jit-threshold N`: calls plus loop back-edges before a function is
    /// compiled; 0 compiles every function before the run starts.
    pub jit_threshold: u32,
    /// Tier up by cost (`ttvm` with `TTVM_JIT_TIER_FACTOR` set and no
    /// `--jit-threshold`, an experiment): a unit is
    /// compiled once the work interpreted in it outweighs its estimated
    /// compile cost (docs/JIT.md, "When a unit is compiled"); otherwise
    /// after `jit_threshold` entries.
    pub jit_cost_policy: bool,
    /// `--jit-dump`: the Cranelift IR of each compiled function to stderr.
    pub jit_dump: bool,
    /// `--jit-sync`: compile a hot unit on the scheduler thread that finds
    /// it hot, before the process goes on (deterministic tier-up, for
    /// tests); otherwise a compiler thread compiles it in the background
    /// while the process goes on interpreting (docs/JIT.md).
    pub jit_sync: bool,
    /// `--profile`: what to write at exit (`crate::profile`).
    pub profile: Option<crate::profile::Mode>,
    /// `--sname`/`--name`, `--cookie`, `--dist-listen`: run as a node of
    /// an Erlang cluster (docs/DISTRIBUTION.md); `None`: not distributed.
    pub dist: Option<crate::dist::DistFlags>,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            reductions: DEFAULT_REDUCTIONS,
            max_call_depth: 1_000_000,
            max_stack: 10_000_000,
            max_frame_slots: DEFAULT_MAX_FRAME_SLOTS,
            sandbox: false,
            allow_net: crate::permissions::NetAllow::Nothing,
            debug: false,
            trace: false,
            stats: false,
            args: Vec::new(),
            trace_procs: false,
            schedulers: default_schedulers(),
            pin: true,
            max_processes: 1 << 20,
            reduction_limit: None,
            jit: false,
            jit_threshold: DEFAULT_JIT_THRESHOLD,
            jit_cost_policy: false,
            jit_dump: false,
            jit_sync: false,
            profile: None,
            dist: None,
        }
    }
}

/// Variable slots a process's frames may hold in all, by default: 2^24
/// slots of 16 bytes, 256 MiB (a million frames of 16 variables).
pub const DEFAULT_MAX_FRAME_SLOTS: usize = 1 << 24;

/// Calls plus loop back-edges after which a function is compiled.
pub const DEFAULT_JIT_THRESHOLD: u32 = 1000;

/// Where a program's input and output go.
pub struct Io {
    pub stdout: Box<dyn Write + Send>,
    pub stderr: Box<dyn Write + Send>,
    pub stdin: Box<dyn BufRead + Send>,
}

impl Io {
    /// The process's real standard streams.
    pub fn std() -> Io {
        Io {
            stdout: Box::new(std::io::stdout()),
            stderr: Box::new(std::io::stderr()),
            stdin: Box::new(std::io::BufReader::new(std::io::stdin())),
        }
    }
}

/// The program's stdout under the line buffer: the first failed write is
/// remembered and everything after it is dropped, so the buffer above never
/// sees an error and the program goes on. A closed pipe (EPIPE: the reader
/// went away, as in `ttvm prog | head`) is quiet; any other failure is
/// reported once on stderr and makes the exit status
/// [`crate::EXIT_OUTPUT_ERROR`] (docs/LANGUAGE.md, Exit status).
pub struct OutputSink {
    inner: Box<dyn Write + Send>,
    failed: Option<OutputFailure>,
    /// A failure not reported yet.
    unreported: bool,
}

/// Why output was dropped.
#[derive(Debug)]
pub enum OutputFailure {
    /// The reader closed the pipe: not an error.
    ClosedPipe,
    Error(std::io::Error),
}

impl OutputSink {
    pub fn new(inner: Box<dyn Write + Send>) -> OutputSink {
        OutputSink {
            inner,
            failed: None,
            unreported: false,
        }
    }

    fn fail(&mut self, e: std::io::Error) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            self.failed = Some(OutputFailure::ClosedPipe);
        } else {
            self.failed = Some(OutputFailure::Error(e));
            self.unreported = true;
        }
    }

    /// The failure to report on stderr, once: `ttvm: error writing to
    /// stdout: REASON`.
    pub fn take_report(&mut self) -> Option<String> {
        if !std::mem::take(&mut self.unreported) {
            return None;
        }
        match &self.failed {
            Some(OutputFailure::Error(e)) => Some(format!(
                "ttvm: error writing to stdout: {}\n",
                crate::exec::os_reason(e)
            )),
            _ => None,
        }
    }

    /// Whether a write failed for a reason other than a closed pipe.
    pub fn has_error(&self) -> bool {
        matches!(self.failed, Some(OutputFailure::Error(_)))
    }
}

impl Write for OutputSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.failed.is_some() || buf.is_empty() {
            return Ok(buf.len());
        }
        match self.inner.write(buf) {
            Ok(0) => self.fail(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => return Err(e),
            Err(e) => self.fail(e),
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.failed.is_none() {
            if let Err(e) = self.inner.flush() {
                self.fail(e);
            }
        }
        Ok(())
    }
}

/// One scheduler per core.
pub fn default_schedulers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The run state of one module (SPEC §3.9: run once per program).
#[derive(Clone, Debug)]
pub enum ModuleState {
    NotRun,
    Running,
    /// The exported values, by export index (`Module::exports`).
    Done(Arc<[Option<Value>]>),
}

/// Everything the processes of one run share.
pub struct Vm {
    pub program: Arc<Program>,
    pub config: RunConfig,
    /// The standard streams, shared with the I/O threads that run blocking
    /// operations (`exec::semantics::io`).
    streams: Arc<Streams>,
    pub modules: Mutex<Vec<ModuleState>>,
    pub started: Instant,
    /// `--profile`'s collector (`crate::profile`), when profiling.
    pub profiler: Option<Arc<crate::profile::Profiler>>,
}

/// The VM's standard streams.
pub struct Streams {
    stdout: Mutex<BufWriter<OutputSink>>,
    stderr: Mutex<Box<dyn Write + Send>>,
    stdin: Mutex<Box<dyn BufRead + Send>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Vm {
    pub fn new(program: Arc<Program>, config: RunConfig, io: Io) -> Vm {
        let n = program.modules.len();
        Vm {
            program,
            config,
            streams: Arc::new(Streams {
                stdout: Mutex::new(BufWriter::with_capacity(
                    1 << 16,
                    OutputSink::new(io.stdout),
                )),
                stderr: Mutex::new(io.stderr),
                stdin: Mutex::new(io.stdin),
            }),
            modules: Mutex::new(vec![ModuleState::NotRun; n]),
            started: Instant::now(),
            profiler: None,
        }
    }

    /// The standard streams, for a blocking operation on an I/O thread.
    pub fn streams(&self) -> Arc<Streams> {
        self.streams.clone()
    }

    /// PRINT: one whole line, never interleaved with another. A failed
    /// write drops the output (see [`OutputSink`]); the program goes on.
    pub fn print_line(&self, text: &str) {
        self.streams.print_line(text)
    }

    /// A diagnostic line (or lines) to stderr; stdout is flushed first so
    /// the two streams read in order on a terminal.
    pub fn eprint(&self, text: &str) {
        self.streams.eprint(text)
    }

    pub fn flush(&self) {
        self.streams.flush()
    }

    /// Whether writing to stdout failed (other than a closed pipe).
    pub fn output_failed(&self) -> bool {
        lock(&self.streams.stdout).get_ref().has_error()
    }
}

impl Streams {
    /// PRINT's line ([`Vm::print_line`]).
    pub fn print_line(&self, text: &str) {
        let mut out = lock(&self.stdout);
        // The sink below the buffer never fails.
        let _ = out.write_all(text.as_bytes());
        let _ = out.write_all(b"\n");
        let report = out.get_mut().take_report();
        drop(out);
        self.report_output_error(report);
    }

    /// [`Vm::eprint`].
    pub fn eprint(&self, text: &str) {
        self.flush();
        let mut err = lock(&self.stderr);
        let _ = err.write_all(text.as_bytes());
        let _ = err.flush();
    }

    pub fn flush(&self) {
        let mut out = lock(&self.stdout);
        let _ = out.flush();
        let report = out.get_mut().take_report();
        drop(out);
        self.report_output_error(report);
    }

    fn report_output_error(&self, report: Option<String>) {
        if let Some(text) = report {
            let mut err = lock(&self.stderr);
            let _ = err.write_all(text.as_bytes());
            let _ = err.flush();
        }
    }
}

/// The VM's standard streams, as the library's host operations use them.
impl crate::library::host::Console for Streams {
    fn flush_stdout(&self) {
        self.flush();
    }

    fn with_stdin(&self, f: &mut dyn FnMut(&mut dyn BufRead)) {
        // Output written so far shows before the program waits for input.
        self.flush();
        let mut stdin = lock(&self.stdin);
        f(&mut **stdin);
    }
}

impl crate::library::host::Console for Vm {
    fn flush_stdout(&self) {
        self.streams.flush();
    }

    fn with_stdin(&self, f: &mut dyn FnMut(&mut dyn BufRead)) {
        self.streams.with_stdin(f)
    }
}
