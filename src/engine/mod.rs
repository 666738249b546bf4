//! The engine: runs a loaded program. It is the only place that knows there
//! may be more than one execution tier; today every slice runs in the
//! interpreter.

mod driver;
mod helpers;

pub use driver::run;

pub use crate::exec::vm::{Io, RunConfig};

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunResult {
    /// The exit status the `ttvm` command returns (SPEC §4.6).
    pub exit_code: i32,
    /// True when [`RunConfig::reduction_limit`] stopped the run.
    pub hit_reduction_limit: bool,
}
