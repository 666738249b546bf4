//! The `ttvm` command's flags (clap's definitions, from which `--help`,
//! the completions and the manual pages are made) and the checks of how
//! they combine. Part of the binary (`main.rs`), not of the library.

use crate::eprint_quiet;
use clap::{Args, CommandFactory, Parser, Subcommand};
use std::path::PathBuf;

/// ttvm — run `.ttvm` stack-assembly programs with BEAM-style processes.
#[derive(Parser, Debug)]
#[command(
    name = "ttvm",
    version,
    about,
    args_conflicts_with_subcommands = true,
    args_override_self = true
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Option<Command>,
    #[command(flatten)]
    pub(crate) run: RunArgs,
}

#[derive(Subcommand, Debug)]
// Parsed once per run: the size of `Run`'s flags does not matter.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Command {
    /// Run a program (the same as `ttvm FILE`).
    Run(RunArgs),
    /// Assemble and verify a program without running it.
    Check {
        /// The program.
        file: PathBuf,
    },
    /// Disassemble a program: addresses, labels, blocks, source lines.
    Dis {
        /// The program.
        file: PathBuf,
    },
    /// Built-in test: spawning processes.
    #[command(name = "test-spawn-comprehensive")]
    TestSpawnComprehensive(TestArgs),
    /// Built-in test: sending and receiving messages.
    #[command(name = "test-send-receive-comprehensive")]
    TestSendReceiveComprehensive(TestArgs),
    /// Built-in test: the name registry.
    #[command(name = "test-register-whereis")]
    TestRegisterWhereis(TestArgs),
    /// Built-in test: many processes, rings, links and monitors.
    #[command(name = "test-smp-concurrency")]
    TestSmpConcurrency(TestArgs),
    /// Run every built-in test.
    Selftest(TestArgs),
    /// Interactive session: each entry runs in a persistent main process
    /// (docs/REPL.md).
    Repl(ReplArgs),
    /// Serve the Language Server Protocol on stdin/stdout (editors/README.md).
    Lsp,
    /// Print a shell completion script (e.g. `ttvm completions bash`).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) to stdout, or write one page per
    /// command to a folder.
    Man {
        /// Write `ttvm.1` and a `ttvm-COMMAND.1` per subcommand here.
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
}

/// How the built-in tests run. Each suite has its default: one scheduler,
/// and for `test-smp-concurrency` several (one per core, at least 4).
/// These flags may also come before the command (`ttvm --smp
/// test-smp-concurrency`).
#[derive(Args, Debug)]
pub(crate) struct TestArgs {
    /// One scheduler thread per core for every suite.
    #[arg(long, overrides_with = "no_smp")]
    smp: bool,
    /// One scheduler thread for every suite.
    #[arg(long, overrides_with = "smp", conflicts_with = "schedulers")]
    no_smp: bool,
    /// Number of scheduler threads for every suite (1 to 1024).
    #[arg(short = 'S', long, value_parser = clap::value_parser!(u16).range(1..=1024))]
    schedulers: Option<u16>,
    /// Compile hot code with the JIT.
    #[arg(long)]
    jit: bool,
}

impl TestArgs {
    pub(crate) fn options(&self) -> ttvm::selftest::Options {
        ttvm::selftest::Options {
            schedulers: match (self.no_smp, self.schedulers, self.smp) {
                (true, _, _) => Some(1),
                (false, Some(n), _) => Some(n as usize),
                (false, None, true) => Some(ttvm::exec::vm::default_schedulers()),
                (false, None, false) => None,
            },
            jit: self.jit,
        }
    }
}

/// How `ttvm repl` runs.
#[derive(Args, Debug)]
pub(crate) struct ReplArgs {
    /// Number of scheduler threads (1 to 1024; default 1: deterministic).
    #[arg(short = 'S', long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub(crate) schedulers: u64,
    /// File, environment and argument instructions raise `permission
    /// denied`; IMPORT and file SPAWN load only `.ttvm` files inside the
    /// working directory and bundled std/ modules.
    #[arg(long)]
    pub(crate) sandbox: bool,
    /// Under --sandbox, allow network operations: `--allow-net` allows
    /// every host and port, `--allow-net=HOST[:PORT],…` only those named
    /// (a host alone: every port; IPv6 with a port as `[::1]:80`); names
    /// and addresses match literally (docs/NETWORK.md, "Permissions").
    /// May be given more than once. Without --sandbox everything is allowed.
    #[arg(
        long,
        value_name = "HOST[:PORT],…",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "",
        action = clap::ArgAction::Append,
        value_parser = ttvm::permissions::NetAllow::parse
    )]
    pub(crate) allow_net: Vec<ttvm::permissions::NetAllow>,
}

#[derive(Args, Debug)]
pub(crate) struct RunArgs {
    /// The program to run (`-`: read it from stdin).
    pub(crate) file: Option<PathBuf>,
    /// Run this program text instead of a file: instructions separated by
    /// `|` (outside string literals) or newlines, e.g.
    /// `ttvm -e 'PUSH_INT 1 | PUSH_INT 2 | ADD | PRINT'`.
    #[arg(
        short = 'e',
        long = "eval",
        value_name = "PROGRAM",
        conflicts_with = "file"
    )]
    pub(crate) eval: Option<String>,
    /// Arguments for the program (read with GET_ARGS).
    #[arg(last = true)]
    pub(crate) args: Vec<String>,
    /// One scheduler thread per core, pinned, stealing work (the default).
    #[arg(long, overrides_with = "no_smp")]
    pub(crate) smp: bool,
    /// One scheduler thread: deterministic FIFO scheduling.
    #[arg(long, overrides_with = "smp", conflicts_with = "schedulers")]
    pub(crate) no_smp: bool,
    /// Number of scheduler threads (1 to 1024; default: one per core).
    #[arg(short = 'S', long, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub(crate) schedulers: Option<u64>,
    /// Do not pin scheduler threads to cores.
    #[arg(long)]
    pub(crate) no_pin: bool,
    /// Print each instruction with PID and stack to stderr.
    #[arg(long)]
    pub(crate) debug: bool,
    /// Print each instruction executed to stderr.
    #[arg(long)]
    pub(crate) trace: bool,
    /// Print process events (spawn, exit, link, monitor, send, receive) to stderr.
    #[arg(long)]
    pub(crate) trace_procs: bool,
    /// Live processes allowed; beyond it SPAWN raises `too many processes`.
    #[arg(long, default_value_t = 1 << 20, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    pub(crate) max_processes: u64,
    /// Print a summary (processes, messages, reductions, time) to stderr at exit.
    #[arg(long)]
    pub(crate) stats: bool,
    /// File, environment and argument instructions raise `permission denied`;
    /// IMPORT and file SPAWN load only `.ttvm` files inside the program's folder
    /// and bundled std/ modules.
    #[arg(long)]
    pub(crate) sandbox: bool,
    /// Under --sandbox, allow network operations: `--allow-net` allows
    /// every host and port, `--allow-net=HOST[:PORT],…` only those named
    /// (a host alone: every port; IPv6 with a port as `[::1]:80`); names
    /// and addresses match literally (docs/NETWORK.md, "Permissions").
    /// May be given more than once. Without --sandbox everything is allowed.
    #[arg(
        long,
        value_name = "HOST[:PORT],…",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "",
        action = clap::ArgAction::Append,
        value_parser = ttvm::permissions::NetAllow::parse
    )]
    pub(crate) allow_net: Vec<ttvm::permissions::NetAllow>,
    /// Run as a node of an Erlang cluster with this short name (NAME, or
    /// NAME@HOST with a host without dots): the node registers with the
    /// local EPMD and talks the Erlang distribution protocol
    /// (docs/DISTRIBUTION.md).
    #[arg(long, value_name = "NAME", conflicts_with = "name")]
    pub(crate) sname: Option<String>,
    /// The same with a long name: NAME@HOST, or NAME on this machine's
    /// full host name.
    #[arg(long, value_name = "NAME[@HOST]")]
    pub(crate) name: Option<String>,
    /// The distribution cookie; default: the one in ~/.erlang.cookie
    /// (created as erl does when missing). Nodes connect only when their
    /// cookies are equal.
    #[arg(long, value_name = "COOKIE")]
    pub(crate) cookie: Option<String>,
    /// The address the distribution listener binds (default 127.0.0.1:
    /// only nodes on this machine can connect; 0.0.0.0 for every
    /// interface).
    #[arg(long, value_name = "ADDR")]
    pub(crate) dist_listen: Option<std::net::IpAddr>,
    /// Under --sandbox, allow distribution (--sname/--name); without it a
    /// sandboxed run refuses to start as a node.
    #[arg(long)]
    pub(crate) allow_dist: bool,
    /// Reductions per time slice.
    #[arg(long, default_value_t = ttvm::exec::vm::DEFAULT_REDUCTIONS, value_parser = clap::value_parser!(i64).range(1..))]
    pub(crate) reductions: i64,
    /// Call frames allowed per process before `stack overflow`.
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    pub(crate) max_call_depth: u64,
    /// Variable slots (16 bytes each) all of a process's frames may hold
    /// before a call raises `stack overflow`.
    #[arg(long, default_value_t = ttvm::exec::vm::DEFAULT_MAX_FRAME_SLOTS as u64, value_parser = clap::value_parser!(u64).range(1..=1 << 30))]
    pub(crate) max_frame_slots: u64,
    /// Compile hot functions to native code with Cranelift.
    #[arg(long, overrides_with = "no_jit")]
    pub(crate) jit: bool,
    /// Run everything in the interpreter (the default).
    #[arg(long, overrides_with = "jit")]
    pub(crate) no_jit: bool,
    /// Calls plus loop back-edges before a function is compiled (0: compile
    /// everything before running). Implies nothing without --jit.
    /// Default 1000.
    #[arg(long)]
    pub(crate) jit_threshold: Option<u32>,
    /// Print the Cranelift IR of each compiled function to stderr.
    #[arg(long)]
    pub(crate) jit_dump: bool,
    /// Compile a hot function on the scheduler thread that finds it hot,
    /// before the process goes on (deterministic tier-up, for tests). By
    /// default a compiler thread compiles it in the background while the
    /// process goes on interpreting.
    #[arg(long)]
    pub(crate) jit_sync: bool,
    /// Show the processes live in the terminal, refreshed each second
    /// (docs/OBSERVING.md); `q` ends the view and the program (status 130).
    /// The program's stdout/stderr, when they are the terminal, are shown in
    /// a pane and written out when the view closes.
    #[arg(long)]
    pub(crate) top: bool,
    /// Profile the run (docs/PROFILING.md): `--profile` prints at exit a
    /// table per function (calls, reductions, time, self time, tier) and
    /// per process; `--profile=folded[=FILE]` writes folded stacks for a
    /// flame graph (default file: ttvm-profile.folded).
    #[arg(
        long,
        value_name = "FORM",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "table",
        value_parser = ttvm::profile::Mode::parse
    )]
    pub(crate) profile: Option<ttvm::profile::Mode>,
}

/// Flags before a subcommand (`ttvm --smp test-smp-concurrency`): clap
/// takes the first word after the top-level flags for the program's FILE,
/// so when that word names a subcommand and no such file exists, the
/// subcommand moves to the front and the flags follow it (the subcommand
/// then accepts them or says clearly that it does not).
pub(crate) fn subcommand_first(mut argv: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let cmd = Cli::command();
    let takes_value = |word: &str| {
        cmd.get_arguments().any(|a| {
            a.get_action().takes_values()
                && !a.is_positional()
                && (word
                    .strip_prefix("--")
                    .is_some_and(|l| a.get_long() == Some(l))
                    || (word.len() == 2
                        && word.strip_prefix('-').and_then(|c| c.chars().next()) == a.get_short()))
        })
    };
    let mut i = 1;
    while i < argv.len() {
        let Some(word) = argv[i].to_str() else {
            return argv;
        };
        if word == "--" {
            return argv;
        }
        if word.starts_with('-') && word != "-" {
            i += if takes_value(word) { 2 } else { 1 };
            continue;
        }
        if i > 1 && cmd.find_subcommand(word).is_some() && !std::path::Path::new(word).exists() {
            let sub = argv.remove(i);
            argv.insert(1, sub);
        }
        return argv;
    }
    argv
}

/// The distribution flags (docs/DISTRIBUTION.md): none without
/// `--sname`/`--name`; under `--sandbox` only with `--allow-dist`.
pub(crate) fn dist_flags(args: &RunArgs) -> Result<Option<ttvm::dist::DistFlags>, String> {
    use ttvm::dist::{DistFlags, NodeNameFlag};
    let name = match (&args.sname, &args.name) {
        (Some(n), _) => NodeNameFlag::Short(n.clone()),
        (None, Some(n)) => NodeNameFlag::Long(n.clone()),
        (None, None) => {
            for (given, flag) in [
                (args.cookie.is_some(), "--cookie"),
                (args.dist_listen.is_some(), "--dist-listen"),
            ] {
                if given {
                    return Err(format!(
                        "{flag} has effect only with --sname or --name (which make this run a node of an Erlang cluster)"
                    ));
                }
            }
            if args.allow_dist {
                eprint_quiet("warning: --allow-dist has effect only with --sname or --name\n");
            }
            return Ok(None);
        }
    };
    if args.sandbox && !args.allow_dist {
        return Err(
            "distribution is off under --sandbox: add --allow-dist to run as a node (--sname/--name)"
                .to_string(),
        );
    }
    if !args.sandbox && args.allow_dist {
        eprint_quiet("warning: --allow-dist has effect only with --sandbox (without it distribution is allowed)\n");
    }
    Ok(Some(DistFlags {
        name,
        cookie: args.cookie.clone(),
        listen: args
            .dist_listen
            .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)),
    }))
}

/// The `--allow-net` flags together; given without `--sandbox` they
/// change nothing, which a warning says.
pub(crate) fn allow_net(
    sandbox: bool,
    flags: &[ttvm::permissions::NetAllow],
) -> ttvm::permissions::NetAllow {
    if !sandbox && !flags.is_empty() {
        eprint_quiet(
            "warning: --allow-net has effect only with --sandbox (without it every network operation is allowed)\n",
        );
    }
    ttvm::permissions::NetAllow::merge(flags.iter().cloned())
}
