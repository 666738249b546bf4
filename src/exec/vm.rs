//! VM-wide state shared by every process: the program, the configuration,
//! standard streams and the modules' run state.

use crate::bytecode::Program;
use std::io::{BufRead, BufWriter, Write};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;
use ttvm_runtime::{Atom, Value};

/// How to run a program (the CLI's options, as the library sees them).
#[derive(Clone, Debug)]
pub struct RunConfig {
    /// Reductions per time slice (`--reductions`, default 4000).
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
    /// `--jit-dump`: the Cranelift IR of each compiled function to stderr.
    pub jit_dump: bool,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            reductions: 4000,
            max_call_depth: 1_000_000,
            max_stack: 10_000_000,
            max_frame_slots: DEFAULT_MAX_FRAME_SLOTS,
            sandbox: false,
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
            jit_dump: false,
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

/// One scheduler per core.
pub fn default_schedulers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The run state of one module (SPEC §3.9: run once per program).
#[derive(Clone, Debug)]
pub enum ModuleState {
    NotRun,
    Running,
    Done(Arc<[(Atom, Value)]>),
}

/// Everything the processes of one run share.
pub struct Vm {
    pub program: Arc<Program>,
    pub config: RunConfig,
    stdout: Mutex<BufWriter<Box<dyn Write + Send>>>,
    stderr: Mutex<Box<dyn Write + Send>>,
    stdin: Mutex<Box<dyn BufRead + Send>>,
    pub modules: Mutex<Vec<ModuleState>>,
    pub started: Instant,
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
            stdout: Mutex::new(BufWriter::with_capacity(1 << 16, io.stdout)),
            stderr: Mutex::new(io.stderr),
            stdin: Mutex::new(io.stdin),
            modules: Mutex::new(vec![ModuleState::NotRun; n]),
            started: Instant::now(),
        }
    }

    /// PRINT: one whole line, never interleaved with another.
    pub fn print_line(&self, text: &str) {
        let mut out = lock(&self.stdout);
        let _ = out.write_all(text.as_bytes());
        let _ = out.write_all(b"\n");
    }

    /// A diagnostic line (or lines) to stderr; stdout is flushed first so
    /// the two streams read in order on a terminal.
    pub fn eprint(&self, text: &str) {
        self.flush();
        let mut err = lock(&self.stderr);
        let _ = err.write_all(text.as_bytes());
        let _ = err.flush();
    }

    pub fn flush(&self) {
        let _ = lock(&self.stdout).flush();
    }

    /// READ_LINE: a line without its newline, or None at end of input.
    pub fn read_line(&self) -> std::io::Result<Option<String>> {
        self.flush();
        let mut line = String::new();
        let n = lock(&self.stdin).read_line(&mut line)?;
        if n == 0 {
            return Ok(None);
        }
        if line.ends_with('\n') {
            line.pop();
            if line.ends_with('\r') {
                line.pop();
            }
        }
        Ok(Some(line))
    }
}
