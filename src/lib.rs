//! ttvm: a virtual machine for the `.ttvm` stack-assembly language.
//!
//! The flow: text ──[`asm`]──▶ [`bytecode::Program`] (analysed, immutable)
//! ──[`engine`]──▶ the interpreter ([`interp`]) and the Cranelift JIT
//! (`jit`), tier by tier, with what both share in [`exec`] and values and
//! processes from the `ttvm-runtime` crate (docs/ARCHITECTURE.md).
//!
//! The library entry points are [`load_file`], [`load_source`] and [`run`].

pub mod asm;
pub mod bytecode;
pub mod dist;
pub mod engine;
pub mod exec;
pub mod interp;
pub mod jit;
pub mod library;
pub mod lsp;
pub mod observe;
pub mod permissions;
pub mod profile;
pub mod repl;
pub mod selftest;
pub mod stdlib;

pub use asm::{load_file, load_file_with, load_source, load_source_with, LoadError, LoadOptions};
pub use bytecode::Program;
pub use engine::{run, Io, RunConfig, RunResult};

/// Exit status for assembly and load errors (SPEC §4.6).
pub const EXIT_LOAD_ERROR: i32 = 3;
/// Exit status for command-line errors.
pub const EXIT_USAGE: i32 = 2;
/// Exit status when the main process ends abnormally.
pub const EXIT_ABNORMAL: i32 = 1;
/// Exit status when the main process is blocked forever.
pub const EXIT_DEADLOCK: i32 = 4;
/// Exit status when writing to stdout failed (other than a closed pipe) and
/// the run would otherwise have ended with 0.
pub const EXIT_OUTPUT_ERROR: i32 = 5;
