//! The `ttvm` command: flags → library calls → exit codes.

/// The allocator: mimalloc's thread-local heaps make the frees of a process
/// that ends on another scheduler than the one that spawned it cheap (with
/// glibc's malloc they contend for the spawner's arena lock). `no_thp`:
/// without it, huge pages made run times depend on the kernel's memory
/// state (skynet -S 1: 0.55 s or 2 s). Measurements in docs/PERFORMANCE.md,
/// "Spawn and exit on two schedulers".
///
/// Through [`Alloc`]: mimalloc's own `GlobalAlloc` calls the aligned entry
/// points for every request, which check the alignment before taking the
/// ordinary path (about 15 instructions more per allocation, measured on
/// binary-trees: one list per node); a request whose alignment every
/// `mi_malloc` block has calls `mi_malloc` itself.
#[global_allocator]
static GLOBAL: Alloc = Alloc;

/// mimalloc, with its unaligned entry points where they suffice.
struct Alloc;

/// The alignment every block `mi_malloc` returns has (mimalloc's
/// `MI_MAX_ALIGN_SIZE` on 64-bit targets: its small size classes are
/// multiples of two words), when the size is at least that alignment —
/// the rule `std`'s `System` allocator applies to `malloc`.
const MI_MIN_ALIGN: usize = 16;

#[inline]
fn plain(align: usize, size: usize) -> bool {
    align <= MI_MIN_ALIGN && align <= size
}

// SAFETY: every request goes to mimalloc; the unaligned calls only where
// their blocks are aligned as asked (`plain`); frees of either kind go to
// `mi_free`, which takes both.
unsafe impl std::alloc::GlobalAlloc for Alloc {
    #[inline]
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        // SAFETY: see the impl.
        unsafe {
            if plain(layout.align(), layout.size()) {
                libmimalloc_sys::mi_malloc(layout.size()) as *mut u8
            } else {
                libmimalloc_sys::mi_malloc_aligned(layout.size(), layout.align()) as *mut u8
            }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        // SAFETY: see the impl.
        unsafe {
            if plain(layout.align(), layout.size()) {
                libmimalloc_sys::mi_zalloc(layout.size()) as *mut u8
            } else {
                libmimalloc_sys::mi_zalloc_aligned(layout.size(), layout.align()) as *mut u8
            }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: std::alloc::Layout) {
        // SAFETY: a block of this allocator.
        unsafe { libmimalloc_sys::mi_free(ptr as *mut std::ffi::c_void) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        // SAFETY: see the impl; `mi_realloc` of a block keeps at least
        // the alignment its new size class has.
        unsafe {
            let p = ptr as *mut std::ffi::c_void;
            if plain(layout.align(), new_size) {
                libmimalloc_sys::mi_realloc(p, new_size) as *mut u8
            } else {
                libmimalloc_sys::mi_realloc_aligned(p, new_size, layout.align()) as *mut u8
            }
        }
    }
}

mod cli;

use clap::{CommandFactory, Parser};
use cli::{allow_net, dist_flags, subcommand_first, Cli, Command, ReplArgs, RunArgs, TestArgs};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use ttvm::exec::vm::OutputSink;
use ttvm::{Io, RunConfig};

// mimalloc's entry for small blocks (at most `MI_SMALL_SIZE_MAX`, 128
// words): its size-class fast path without `mi_malloc`'s size test; in
// the library libmimalloc-sys builds (declared here: that crate names it
// only with its `extended` feature).
extern "C" {
    fn mi_malloc_small(size: usize) -> *mut u8;
}

/// A list block of `n` elements from `mi_malloc_small`, its header
/// written, never null: compiled code's `MAKE_LIST` calls it directly
/// (`List::list_block_entry`) and writes the elements. When memory is
/// exhausted the process ends as any failed allocation ends it
/// (`handle_alloc_error`).
unsafe extern "C" fn small_list(n: usize) -> *mut u8 {
    let size = ttvm_runtime::value::List::block_size(n);
    // SAFETY: as `mi_malloc_small` (at most its limit: the registration
    // below, `List::list_block_entry`).
    let p = unsafe { mi_malloc_small(size) };
    if p.is_null() {
        small_list_failed(n);
    }
    // SAFETY: a fresh block of that size, aligned to 8 at least.
    unsafe { ttvm_runtime::value::List::init_unwritten(p, n) };
    p
}

/// `small_list` found memory exhausted (out of line, from `n` alone: the
/// entry keeps one value across its call of the allocator, not two).
#[cold]
#[inline(never)]
fn small_list_failed(n: usize) -> ! {
    let size = ttvm_runtime::value::List::block_size(n);
    match std::alloc::Layout::from_size_align(size, 8) {
        Ok(layout) => std::alloc::handle_alloc_error(layout),
        Err(_) => std::process::abort(),
    }
}

fn main() -> ExitCode {
    // Small list blocks straight from mimalloc's small path (issue 15).
    // SAFETY: `mi_malloc_small` returns null or a block of at least
    // `size` bytes (at most 128 words), aligned to 8 at least, from the
    // global allocator (`Alloc`), whose `dealloc` (`mi_free`) and
    // `realloc` (`mi_realloc`) take it; it is thread-safe. `small_list`
    // makes list blocks from it, headers written, never null.
    unsafe {
        ttvm_runtime::value::List::set_block_alloc(
            mi_malloc_small,
            Some(small_list),
            128 * std::mem::size_of::<usize>(),
        )
    };
    let cli = match Cli::try_parse_from(subcommand_first(std::env::args_os().collect())) {
        Ok(cli) => cli,
        Err(e) => {
            if e.use_stderr() {
                let _ = e.print();
                return ExitCode::from(ttvm::EXIT_USAGE as u8);
            }
            // --help and --version: their text goes to stdout.
            let code = match e.print() {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    eprint_quiet(&format!(
                        "ttvm: error writing to stdout: {}\n",
                        ttvm::exec::os_reason(&e)
                    ));
                    ttvm::EXIT_OUTPUT_ERROR
                }
                _ => 0,
            };
            return ExitCode::from(code as u8);
        }
    };
    let code = match cli.command {
        Some(Command::Run(args)) => run(args),
        Some(Command::Check { file }) => check(&file),
        Some(Command::Dis { file }) => dis(&file),
        Some(Command::TestSpawnComprehensive(t)) => selftest(Some("test-spawn-comprehensive"), &t),
        Some(Command::TestSendReceiveComprehensive(t)) => {
            selftest(Some("test-send-receive-comprehensive"), &t)
        }
        Some(Command::TestRegisterWhereis(t)) => selftest(Some("test-register-whereis"), &t),
        Some(Command::TestSmpConcurrency(t)) => selftest(Some("test-smp-concurrency"), &t),
        Some(Command::Selftest(t)) => selftest(None, &t),
        Some(Command::Repl(r)) => repl(&r),
        Some(Command::Lsp) => ttvm::lsp::run_stdio(),
        Some(Command::Completions { shell }) => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "ttvm", &mut script);
            print_generated(&script, "the completion script")
        }
        Some(Command::Man { out_dir }) => man(out_dir),
        None => run(cli.run),
    };
    ExitCode::from(code.clamp(0, 255) as u8)
}

fn load(file: &std::path::Path, options: &ttvm::LoadOptions) -> Result<ttvm::Program, i32> {
    ttvm::load_file_with(file, options).map_err(|e| {
        eprint_quiet(&e.render());
        e.exit_code()
    })
}

/// The largest program `ttvm -` reads from stdin (as for files).
const MAX_STDIN_PROGRAM: u64 = 64 << 20;

fn run(args: RunArgs) -> i32 {
    let options = ttvm::LoadOptions {
        sandbox: args.sandbox,
    };
    let loaded = match (&args.eval, &args.file) {
        (Some(text), _) => {
            ttvm::load_source_with("<-e>", &ttvm::repl::bars_to_lines(text), &options).map_err(
                |e| {
                    eprint_quiet(&e.render());
                    e.exit_code()
                },
            )
        }
        (None, Some(file)) if file.as_os_str() == "-" => {
            use std::io::Read;
            let mut text = String::new();
            match std::io::stdin()
                .take(MAX_STDIN_PROGRAM + 1)
                .read_to_string(&mut text)
            {
                Ok(n) if n as u64 > MAX_STDIN_PROGRAM => {
                    eprint_quiet(&format!(
                        "error: the program on stdin is larger than {} MiB\n",
                        MAX_STDIN_PROGRAM >> 20
                    ));
                    return ttvm::EXIT_LOAD_ERROR;
                }
                Ok(_) => ttvm::load_source_with("<stdin>", &text, &options).map_err(|e| {
                    eprint_quiet(&e.render());
                    e.exit_code()
                }),
                Err(e) => {
                    eprint_quiet(&format!(
                        "error: cannot read the program from stdin: {}\n",
                        ttvm::exec::os_reason(&e)
                    ));
                    return ttvm::EXIT_LOAD_ERROR;
                }
            }
        }
        (None, Some(file)) => load(file, &options),
        (None, None) => {
            eprint_quiet("error: no program given\n\nUsage: ttvm [OPTIONS] FILE [-- ARGS…]\n       ttvm -e 'PUSH_INT 1 | PRINT'\n       ttvm - < prog.ttvm\nFor more information, try '--help'.\n");
            return ttvm::EXIT_USAGE;
        }
    };
    let program = match loaded {
        Ok(p) => p,
        Err(code) => return code,
    };
    // Load-time warnings (what `ttvm check` prints) show before the run.
    for w in &program.warnings {
        eprint_quiet(&format!("warning: {w}\n"));
    }
    let dist = match dist_flags(&args) {
        Ok(d) => d,
        Err(e) => {
            eprint_quiet(&format!("error: {e}\n"));
            return ttvm::EXIT_USAGE;
        }
    };
    let config = RunConfig {
        reductions: args.reductions,
        max_call_depth: args.max_call_depth as usize,
        max_frame_slots: args.max_frame_slots as usize,
        sandbox: args.sandbox,
        allow_net: allow_net(args.sandbox, &args.allow_net),
        debug: args.debug,
        trace: args.trace,
        stats: args.stats,
        trace_procs: args.trace_procs,
        schedulers: match (args.no_smp, args.schedulers) {
            (true, _) => 1,
            (false, Some(n)) => n as usize,
            (false, None) => ttvm::exec::vm::default_schedulers(),
        },
        pin: !args.no_pin,
        max_processes: args.max_processes as usize,
        args: args.args,
        jit: args.jit && !args.no_jit,
        jit_threshold: args
            .jit_threshold
            .unwrap_or(ttvm::exec::vm::DEFAULT_JIT_THRESHOLD),
        // The cost policy is an experiment, off unless asked for
        // (docs/JIT.md, "When a unit is compiled").
        jit_cost_policy: args.jit_threshold.is_none()
            && std::env::var_os("TTVM_JIT_TIER_FACTOR").is_some(),
        jit_dump: args.jit_dump,
        jit_sync: args.jit_sync,
        profile: args.profile,
        dist,
        ..RunConfig::default()
    };
    // SIGUSR1 prints a process snapshot on stderr; SIGQUIT prints one and
    // exits with status 131 (docs/OBSERVING.md).
    let mut watch = ttvm::observe::Watch {
        signals: true,
        top: None,
    };
    let mut io = Io::std();
    if args.top {
        let title = match (&args.eval, &args.file) {
            (Some(_), _) => "-e".to_string(),
            (None, Some(f)) => f.display().to_string(),
            (None, None) => String::new(),
        };
        match ttvm::observe::top::Top::prepare(&title, io) {
            Ok((top, with_capture)) => {
                watch.top = Some(top);
                io = with_capture;
            }
            Err(e) => {
                eprint_quiet(&format!("error: {e}\n"));
                return ttvm::EXIT_USAGE;
            }
        }
    }
    ttvm::engine::run_watched(Arc::new(program), config, io, watch).exit_code
}

/// `ttvm repl`, on a thread with room for deep recursion (as `ttvm::run`).
fn repl(args: &ReplArgs) -> i32 {
    let options = ttvm::repl::Options {
        sandbox: args.sandbox,
        allow_net: allow_net(args.sandbox, &args.allow_net),
        schedulers: args.schedulers as usize,
    };
    match std::thread::Builder::new()
        .name("ttvm".to_string())
        .stack_size(1 << 30)
        .spawn(move || ttvm::repl::run(&options))
    {
        Ok(h) => h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
        Err(e) => {
            eprint_quiet(&format!("error: cannot start the REPL thread: {e}\n"));
            ttvm::EXIT_ABNORMAL
        }
    }
}

fn check(file: &std::path::Path) -> i32 {
    match load(file, &ttvm::LoadOptions::default()) {
        Ok(p) => {
            for w in &p.warnings {
                eprint_quiet(&format!("warning: {w}\n"));
            }
            write_stdout(&format!(
                "{}: ok ({} instructions in {} module{})\n",
                file.display(),
                p.code.len() - p.modules.len() - builtin_len(&p),
                p.modules.len() - 1,
                if p.modules.len() == 2 { "" } else { "s" }
            ))
        }
        Err(code) => code,
    }
}

fn dis(file: &std::path::Path) -> i32 {
    match load(file, &ttvm::LoadOptions::default()) {
        Ok(p) => write_stdout(&ttvm::bytecode::disassemble(&p)),
        Err(code) => code,
    }
}

/// Instructions of the built-in process bodies linked into every program.
fn builtin_len(p: &ttvm::Program) -> usize {
    let m = &p.modules[p.builtin_module as usize];
    (m.end - m.start) as usize
}

/// The built-in test commands: PASS/FAIL per case, status 1 on any failure.
fn selftest(command: Option<&str>, args: &TestArgs) -> i32 {
    let mut out = OutputSink::new(Box::new(std::io::stdout()));
    let passed = ttvm::selftest::run(command, args.options(), &mut out);
    match finish_output(&mut out) {
        0 if passed => 0,
        0 => 1,
        failed => failed,
    }
}

/// `ttvm man`: the pages, generated from the command-line definition.
fn man(out_dir: Option<PathBuf>) -> i32 {
    let cmd = Cli::command().disable_help_subcommand(true);
    let result = match &out_dir {
        Some(dir) => std::fs::create_dir_all(dir).and_then(|()| clap_mangen::generate_to(cmd, dir)),
        None => {
            let mut page = Vec::new();
            match clap_mangen::Man::new(cmd).render(&mut page) {
                Ok(()) => return print_generated(&page, "the manual page"),
                Err(e) => Err(e),
            }
        }
    };
    match (result, out_dir) {
        (Ok(()), Some(dir)) => {
            println!("wrote the manual pages to {}", dir.display());
            0
        }
        (Ok(()), None) => 0,
        (Err(e), _) => {
            eprintln!("error: cannot write the manual pages: {e}");
            1
        }
    }
}

/// Write generated text to stdout: a closed pipe is quiet, any other
/// write error is reported.
fn print_generated(bytes: &[u8], what: &str) -> i32 {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => 0,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => 0,
        Err(e) => {
            eprintln!("error: cannot write {what}: {e}");
            1
        }
    }
}

/// Write `text` to stdout (see [`finish_output`]).
fn write_stdout(text: &str) -> i32 {
    let mut out = OutputSink::new(Box::new(std::io::stdout()));
    // The sink never fails: it remembers the failure.
    let _ = out.write_all(text.as_bytes());
    finish_output(&mut out)
}

/// Flush `out`; a closed pipe is quiet (0), another failure is reported on
/// stderr and gives `EXIT_OUTPUT_ERROR`.
fn finish_output(out: &mut OutputSink) -> i32 {
    let _ = out.flush();
    if let Some(report) = out.take_report() {
        eprint_quiet(&report);
    }
    if out.has_error() {
        ttvm::EXIT_OUTPUT_ERROR
    } else {
        0
    }
}

/// Write to stderr; if that fails there is nowhere to say so (and
/// `eprint!` would panic).
fn eprint_quiet(text: &str) {
    let _ = std::io::stderr().write_all(text.as_bytes());
}
