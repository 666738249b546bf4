//! Erlang distribution (issue 17).

pub mod term;
