//! Load-time warnings: the text `ttvm check` prints, and, when a warning is
//! about one instruction, where that instruction is (for editors).

use super::{Loc, Program};
use std::fmt;

/// One warning found while loading.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    /// The instruction it is about, when there is one.
    pub loc: Option<Loc>,
    /// What is wrong, without a location.
    pub message: String,
    /// The line `ttvm check` prints after `warning: ` (with `file:line: `
    /// in front when the warning has a place).
    pub text: String,
}

impl Warning {
    /// A warning about the instruction at `pc`.
    pub fn at(p: &Program, pc: u32, message: impl Into<String>) -> Warning {
        let message = message.into();
        Warning {
            loc: p.locs.get(pc as usize).copied(),
            text: format!("{}: {message}", p.location(pc)),
            message,
        }
    }

    /// A warning with no place in a file.
    pub fn plain(message: impl Into<String>) -> Warning {
        let message = message.into();
        Warning {
            loc: None,
            text: message.clone(),
            message,
        }
    }
}

impl From<String> for Warning {
    fn from(message: String) -> Warning {
        Warning::plain(message)
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}
