//! Bytecode: the op table, the loaded program, and the analyses that run once
//! at load time (frame slots, basic blocks and their costs, TRY/END_TRY
//! pairing, function values), plus the disassembler.

mod blocks;
mod depth;
mod disasm;
pub mod escape;
mod frames;
mod kinds;
mod liveness;
mod operand;
mod ops;
pub mod reference;
mod source;
mod tinytotvm;
mod tries;
mod warning;

pub use depth::{frame_heights, function_entries, surely_pops, FrameHeights};
pub use disasm::disassemble;
pub use kinds::{Arith, Cmp, Family, Flow, JitClass, OpInfo};
pub use operand::*;
pub use ops::{Instr, Opcode, OPS};
pub use source::{module_source, to_source};
pub use tinytotvm::{tinytotvm_only, TINYTOTVM_ONLY};
pub use warning::Warning;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use ttvm_runtime::{Atom, FuncProto};

/// A source file of the program.
#[derive(Clone, Debug)]
pub struct SourceFile {
    /// The path as shown in messages.
    pub name: String,
    /// The resolved path (for finding files beside it).
    pub path: PathBuf,
    pub text: Arc<str>,
}

/// Where an instruction came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Loc {
    pub file: u32,
    /// 1-based line.
    pub line: u32,
    /// 1-based column of the mnemonic.
    pub col: u32,
}

/// One loaded module (the main program is module 0). Its code occupies
/// `start..=end` of [`Program::code`]; `end` is an implicit HALT that ends
/// the module's run when execution falls off the end of the file.
#[derive(Debug)]
pub struct Module {
    pub file: u32,
    pub start: u32,
    pub end: u32,
    /// Labels, by name, as program-wide instruction indices.
    pub labels: HashMap<String, u32>,
    /// Names this module publishes with EXPORT, in the order of their
    /// first EXPORT in the text (an IMPORT's binds follow this order).
    pub exports: Vec<Atom>,
    /// Name → its index in `exports`.
    pub export_index: HashMap<Atom, u32>,
}

/// The variables of one frame shape: every name used by code that can run in
/// the same frame gets a dense slot.
#[derive(Debug, Default)]
pub struct FrameLayout {
    /// Slot → variable name.
    pub names: Box<[Atom]>,
}

impl FrameLayout {
    /// The slot of `name`, if code of this frame uses it.
    pub fn slot_of(&self, name: &Atom) -> Option<u32> {
        self.names.iter().position(|n| n == name).map(|i| i as u32)
    }
}

/// A verified, immutable program: instructions of all modules with resolved
/// targets and slots, and everything the tiers need to run them.
#[derive(Debug)]
pub struct Program {
    pub code: Vec<Instr>,
    pub locs: Vec<Loc>,
    pub files: Vec<SourceFile>,
    pub modules: Vec<Module>,
    /// For each instruction, the module holding it.
    pub module_of: Vec<u32>,
    /// For each instruction, its frame layout.
    pub layout_of: Vec<u32>,
    pub layouts: Vec<FrameLayout>,
    /// For each instruction, whether a basic block starts there.
    pub block_start: Vec<bool>,
    /// For each block start, the block's length in instructions (else 0).
    pub block_cost: Vec<u32>,
    /// For each instruction, a lower bound on the operand stack height
    /// whenever it runs (`depth.rs`).
    pub min_depth: Vec<u32>,
    /// For each function entry whose every RET returns the same number of
    /// values (the depth analysis's net effect of a call, when exact and
    /// not negative), that number (`depth.rs`; `frame_heights` takes a
    /// CALL of it to leave that many).
    pub returns: HashMap<u32, u32>,
    /// For each instruction, whether it is a LOAD that is its variable's
    /// last use, which takes a heap value out of the variable instead of
    /// sharing it (`liveness.rs`; both tiers read it).
    pub moves: Vec<bool>,
    /// The first label naming each instruction, if any.
    pub label_at: HashMap<u32, Arc<str>>,
    /// Warnings found while loading (`ttvm check` shows them).
    pub warnings: Vec<Warning>,
    /// The module holding the built-in process bodies (SPEC §4.3).
    pub builtin_module: u32,
    /// Files named by `PUSH_STR s; SPAWN`, loaded as modules: s → module.
    pub spawn_files: HashMap<String, u32>,
}

impl Program {
    /// The *header* instructions: targets of backward jumps (loop headers)
    /// and of CALL, MAKE_FUNCTION and MAKE_LAMBDA (function entries). The
    /// JIT counts hotness there, and only there does the interpreter ask
    /// whether compiled code takes over.
    pub fn headers(&self) -> Vec<bool> {
        let n = self.code.len();
        let mut header = vec![false; n];
        for (i, instr) in self.code.iter().enumerate() {
            if let Some(t) = instr.target().filter(|&t| t as usize <= i) {
                header[t as usize] = true;
            }
            if let Some(c) = instr.callee().filter(|c| (c.target as usize) < n) {
                header[c.target as usize] = true;
            }
        }
        header
    }

    /// Whether the call at `at` is a tail call (followed by RET).
    pub fn tail_call(&self, at: u32) -> bool {
        self.code.get(at as usize + 1).is_some_and(Instr::is_ret)
    }

    /// `file:line` of an instruction.
    pub fn location(&self, pc: u32) -> String {
        match self.locs.get(pc as usize) {
            Some(loc) => format!("{}:{}", self.files[loc.file as usize].name, loc.line),
            None => "<unknown>".to_string(),
        }
    }

    /// The name of the function entered at `entry`, for call stacks.
    pub fn function_name(&self, entry: u32) -> String {
        match self.label_at.get(&entry) {
            Some(l) => l.to_string(),
            None => format!("@{entry}"),
        }
    }

    /// A label of the module holding `pc`, then of the main module.
    pub fn find_label(&self, from_pc: u32, name: &str) -> Option<u32> {
        let m = self.module_of.get(from_pc as usize).copied().unwrap_or(0);
        self.modules[m as usize]
            .labels
            .get(name)
            .or_else(|| self.modules[0].labels.get(name))
            .copied()
    }

    /// The frame layout a call to `entry` uses.
    pub fn layout_at(&self, entry: u32) -> &FrameLayout {
        &self.layouts[self.layout_of[entry as usize] as usize]
    }

    /// The source line text of an instruction (for reports).
    pub fn source_line(&self, pc: u32) -> Option<&str> {
        let loc = self.locs.get(pc as usize)?;
        self.files[loc.file as usize]
            .text
            .lines()
            .nth(loc.line.saturating_sub(1) as usize)
    }

    /// Run the load-time analyses over freshly assembled code.
    pub(crate) fn finish(&mut self) {
        frames::assign_slots(self);
        blocks::compute(self);
        tries::pair(self);
        self.make_protos();
        let (min_depth, warnings, returns) = depth::analyse(self);
        self.min_depth = min_depth;
        self.returns = returns;
        self.warnings.extend(warnings);
        self.moves = liveness::moves(self, &[]);
    }

    /// Whether the LOAD at `at` moves its variable's heap value out
    /// (`liveness.rs`).
    #[inline]
    pub fn moves_at(&self, at: u32) -> bool {
        self.moves.get(at as usize).copied().unwrap_or(false)
    }

    /// A REPL session keeps the top level's variables after each entry's
    /// end: no LOAD of a module's top level moves.
    pub fn keep_top_level_vars(&mut self) {
        let mut skip = vec![false; self.layouts.len()];
        for m in &self.modules {
            if let Some(&l) = self.layout_of.get(m.start as usize) {
                skip[l as usize] = true;
            }
        }
        self.moves = liveness::moves(self, &skip);
    }

    /// Build the function value of every MAKE_FUNCTION / MAKE_LAMBDA / CALL.
    fn make_protos(&mut self) {
        let mut cache: HashMap<(u32, Box<[Atom]>), Arc<FuncProto>> = HashMap::new();
        for i in 0..self.code.len() {
            let Some(c) = self.code[i].callee() else {
                continue;
            };
            let (target, params, param_slots) = (c.target, c.params.clone(), c.param_slots.clone());
            let frame_size = self.layout_at(target).names.len() as u32;
            let target_text: Arc<str> = match self.label_at.get(&target) {
                Some(l) => l.clone(),
                None => {
                    let m = &self.modules[self.module_of[target as usize] as usize];
                    Arc::from((target - m.start).to_string())
                }
            };
            let proto = cache
                .entry((target, params.clone()))
                .or_insert_with(|| {
                    Arc::new(FuncProto {
                        target_text,
                        entry: target,
                        params,
                        param_slots,
                        frame_size,
                    })
                })
                .clone();
            if let Some(c) = self.code[i].callee_mut() {
                c.proto = Some(proto);
            }
        }
    }
}

impl NameView for Program {
    fn label_at(&self, index: u32) -> Option<&str> {
        self.label_at.get(&index).map(|s| &**s)
    }
}
