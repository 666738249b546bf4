//! Modules bundled with ttvm, for `IMPORT std/NAME`.

/// (name, source) of every bundled module.
static MODULES: &[(&str, &str)] = &[
    ("math", include_str!("math.ttvm")),
    ("supervisor", include_str!("supervisor.ttvm")),
];

/// The source of bundled module `name`.
pub fn source(name: &str) -> Option<&'static str> {
    MODULES.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

/// The names of all bundled modules.
pub fn names() -> Vec<String> {
    MODULES.iter().map(|(n, _)| format!("std/{n}")).collect()
}

/// The built-in process bodies (`hello_world`, `counter`, `default`).
pub const BUILTIN_PROCS: &str = include_str!("builtin_procs.ttvm");
