//! The engine: runs a loaded program. It is the only place that knows there
//! may be more than one execution tier: a slice starts in the interpreter
//! unless compiled code starts where the process resumes (driver.rs).

mod driver;
mod helpers;
pub mod repl;
mod reports;
mod resume;

pub use driver::{run, run_watched};

/// The Cranelift IR the JIT makes for the code around program address
/// `at` (its unit), without running anything: for `--jit-dump`-style
/// inspection and the CLIF snapshot tests.
pub fn clif_of(program: std::sync::Arc<crate::Program>, at: u32) -> Result<String, String> {
    jit_of(program).ir_of(at)
}

/// [`clif_of`] after the field reads at the program addresses of `seen`
/// have given values of those tags (`value::tag`): the code the JIT makes
/// for them once they have (docs/JIT.md, "Kinds of field reads").
pub fn clif_of_seen(
    program: std::sync::Arc<crate::Program>,
    at: u32,
    seen: &[(u32, u8)],
) -> Result<String, String> {
    let jit = jit_of(program);
    for &(site, tag) in seen {
        jit.note_field_kind(site, tag);
    }
    jit.ir_of(at)
}

/// The Cranelift IR of the direct entry (docs/JIT.md, "Direct calls") of
/// the function at program address `at`, without running anything.
pub fn direct_clif_of(program: std::sync::Arc<crate::Program>, at: u32) -> Result<String, String> {
    jit_of(program).direct_ir_of(at)
}

/// A JIT for `program` that compiles nothing by itself.
fn jit_of(program: std::sync::Arc<crate::Program>) -> crate::jit::Jit {
    let config = RunConfig::default();
    let code = crate::interp::Code::new(&program, true, true);
    crate::jit::Jit::new(
        program,
        code.layout.clone(),
        &helpers::table(),
        crate::jit::JitConfig {
            threshold: u32::MAX,
            cost_policy: false,
            max_stack: config.max_stack,
            max_call_depth: config.max_call_depth,
            max_frame_slots: config.max_frame_slots,
            dump: None,
            background: false,
        },
    )
}

pub use crate::exec::vm::{Io, RunConfig};

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunResult {
    /// The exit status the `ttvm` command returns (SPEC §4.6).
    pub exit_code: i32,
    /// True when [`RunConfig::reduction_limit`] stopped the run.
    pub hit_reduction_limit: bool,
}
