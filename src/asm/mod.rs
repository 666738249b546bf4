//! The assembler and loader: `.ttvm` text (the main file and every module it
//! imports or spawns, transitively) → one linked, analysed [`Program`].
//!
//! Every error in every file is collected; nothing runs if there is one.
//! Files are followed with an explicit work stack (not recursion), so an
//! import chain of any length cannot overflow the native stack.

mod diag;
mod files;
mod link;
mod outline;
mod parse;
mod session;

pub use diag::structured::{line_col, Diagnostic, Place, Severity};
pub use diag::{Diag, LoadError};
pub use files::MAX_SOURCE_BYTES;
pub use outline::{outline, LabelDef, NameUse, Outline, OutlineInstr, UseKind};
pub use session::{Entry, Session};

use crate::bytecode::{Instr, SourceFile};
use files::{Refused, Sandbox};
use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How to load a program.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// `--sandbox`: modules and spawned files only as `.ttvm` files inside
    /// the main program's folder (symlinks followed), besides the bundled
    /// `std/` modules.
    pub sandbox: bool,
}

/// Load and assemble the program in `path` and everything it imports.
pub fn load_file(path: &Path) -> Result<crate::Program, LoadError> {
    load_file_with(path, &LoadOptions::default())
}

/// [`load_file`] with options (`--sandbox`).
pub fn load_file_with(path: &Path, options: &LoadOptions) -> Result<crate::Program, LoadError> {
    let name = path.display().to_string();
    let mut loader = Loader::default();
    let bytes = files::read_source(path, &name, false).and_then(|bytes| {
        if options.sandbox {
            loader.sandbox = Some(Sandbox::for_main(path)?);
        }
        Ok(bytes)
    });
    match bytes {
        Ok(bytes) => {
            let key = canonical(path);
            loader.begin(key, name, path.to_path_buf(), bytes);
            loader.drive();
        }
        Err(r) => loader.errors.push_plain(r.message, r.help),
    }
    loader.finish()
}

/// Assemble a program held in memory; `name` is how messages show it and
/// imports resolve against the working directory.
pub fn load_source(name: &str, text: &str) -> Result<crate::Program, LoadError> {
    load_source_with(name, text, &LoadOptions::default())
}

/// Load a program given as text (`ttvm -e`, `ttvm -`): its imports and
/// spawned files are looked up from the working directory, which is also
/// the sandbox's folder.
pub fn load_source_with(
    name: &str,
    text: &str,
    options: &LoadOptions,
) -> Result<crate::Program, LoadError> {
    let mut loader = Loader::default();
    if options.sandbox {
        match Sandbox::for_main(Path::new(name)) {
            Ok(s) => loader.sandbox = Some(s),
            Err(r) => {
                loader.errors.push_plain(r.message, r.help);
                return Err(loader.errors);
            }
        }
    }
    loader.begin(
        format!("mem:{name}"),
        name.to_string(),
        PathBuf::from(name),
        text.as_bytes().to_vec(),
    );
    loader.drive();
    loader.finish()
}

fn canonical(path: &Path) -> String {
    std::fs::canonicalize(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

/// One assembled file, ready to link.
#[derive(Clone)]
struct Unit {
    file: SourceFile,
    /// The file's id in the error report.
    diag_file: usize,
    code: parse::Assembled,
    /// For each IMPORT of `code`, the module it names.
    import_modules: Vec<u32>,
    /// Labels of other modules (program addresses) that CALL,
    /// MAKE_FUNCTION, MAKE_LAMBDA and a spawned name may also name: the
    /// earlier entries of a REPL session (`session.rs`).
    outer: Option<Arc<HashMap<String, u32>>>,
}

/// A file whose IMPORTs, then SPAWNed files, are still being followed.
struct Pending {
    id: u32,
    unit: Unit,
    /// The folder its relative paths start from.
    dir: PathBuf,
    /// In its IMPORTs (on the import chain), else in its SPAWNs.
    importing: bool,
    /// The next IMPORT, or the next entry of `spawns`, to follow.
    next: usize,
}

#[derive(Default)]
struct Loader {
    /// Every file by id (its module number); `None` while pending, and for
    /// a file that could not be assembled (not UTF-8).
    units: Vec<Option<Unit>>,
    /// The name of each file by id, as messages show it.
    names: Vec<String>,
    /// Files being followed, innermost last.
    pending: Vec<Pending>,
    spawn_files: HashMap<String, u32>,
    /// Spawned names already reported as refused.
    refused_spawns: HashSet<String>,
    warnings: Vec<String>,
    by_key: HashMap<String, u32>,
    /// The import chain: for each file on it, its position in `chain`.
    chain: Vec<u32>,
    on_chain: HashMap<u32, usize>,
    sandbox: Option<Sandbox>,
    errors: LoadError,
}

/// An import cycle is shown with at most this many modules at each end.
const CYCLE_SHOWN: usize = 4;

impl Loader {
    /// Start a file: assemble it and put it on the work stack (its imports
    /// and spawned files are followed by [`Loader::drive`]). Returns its id.
    fn begin(&mut self, key: String, name: String, path: PathBuf, bytes: Vec<u8>) -> u32 {
        let id = self.units.len() as u32;
        self.units.push(None);
        self.names.push(name.clone());
        self.by_key.insert(key, id);
        let text = match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                self.not_utf8(name, e);
                return id;
            }
        };
        let diag_file = self.errors.add_file(name.clone(), text.clone());
        let mut diags = Vec::new();
        let code = parse::assemble(&text, &mut diags);
        for d in diags {
            self.errors.push(diag_file, d);
        }
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        self.on_chain.insert(id, self.chain.len());
        self.chain.push(id);
        self.pending.push(Pending {
            id,
            unit: Unit {
                file: SourceFile {
                    name,
                    path,
                    text: Arc::from(text),
                },
                diag_file,
                code,
                import_modules: Vec::new(),
                outer: None,
            },
            dir,
            importing: true,
            next: 0,
        });
        id
    }

    /// The error for a file that is not UTF-8, pointing at the first bad
    /// byte (its line is shown with the bad bytes replaced).
    fn not_utf8(&mut self, name: String, e: std::string::FromUtf8Error) {
        let valid = e.utf8_error().valid_up_to();
        let lossy = String::from_utf8_lossy(e.as_bytes()).into_owned();
        let at = lossy
            .char_indices()
            .map(|(i, _)| i)
            .find(|&i| i >= valid)
            .unwrap_or(valid.min(lossy.len()));
        let end = (at + lossy[at..].chars().next().map_or(0, char::len_utf8)).min(lossy.len());
        let f = self.errors.add_file(name, lossy);
        self.errors.push(
            f,
            Diag::error(at..end, "the file is not valid UTF-8")
                .with_help("ttvm source files must be UTF-8 text"),
        );
    }

    /// Follow every pending file's IMPORTs, then its SPAWNed files, depth
    /// first, until none is left.
    fn drive(&mut self) {
        while let Some(top) = self.pending.last_mut() {
            let at = top.next;
            if top.importing {
                if let Some((_, ipath, span)) = top.unit.code.imports.get(at) {
                    let (ipath, span) = (ipath.clone(), span.clone());
                    let (dir, diag_file) = (top.dir.clone(), top.unit.diag_file);
                    top.next += 1;
                    let depth = self.pending.len() - 1;
                    let m = self.import(&dir, &ipath, span, diag_file);
                    self.pending[depth].unit.import_modules.push(m);
                    continue;
                }
                top.importing = false;
                top.next = 0;
                let id = top.id;
                self.chain.pop();
                self.on_chain.remove(&id);
                continue;
            }
            if let Some((i, span)) = top.unit.code.spawns.get(at) {
                let Instr::PushStr(s) = &top.unit.code.instrs[*i] else {
                    unreachable!("spawns lists PUSH_STR instructions")
                };
                let name = s.0.as_str().to_string();
                let span = span.clone();
                let skip = top.unit.code.labels.contains_key(&name)
                    || top
                        .unit
                        .outer
                        .as_ref()
                        .is_some_and(|o| o.contains_key(&name));
                let (dir, diag_file) = (top.dir.clone(), top.unit.diag_file);
                top.next += 1;
                if !skip {
                    if let Some(warning) = self.spawned_file(&dir, &name, span, diag_file) {
                        // Only now, for a name that resolves to nothing: the
                        // closest label of the file, if one is close.
                        let labels = &self.pending[self.pending.len() - 1].unit.code.labels;
                        let hint = labels
                            .keys()
                            .map(String::as_str)
                            .chain(["hello_world", "counter"])
                            .map(|l| (strsim::jaro_winkler(&name, l), l))
                            .filter(|(score, _)| *score > 0.8)
                            .max_by(|a, b| a.0.total_cmp(&b.0))
                            .map(|(_, l)| format!("; did you mean `{l}`?"))
                            .unwrap_or_default();
                        self.warnings.push(format!("{warning}{hint}"));
                    }
                }
                continue;
            }
            let done = self.pending.pop().expect("a pending file");
            self.units[done.id as usize] = Some(done.unit);
        }
    }

    /// Resolve `IMPORT ipath` of a file in `dir`: the module's id, starting
    /// it if it is new, or `u32::MAX` after reporting why not.
    ///
    /// `.ttvm` is added to a path without an extension; then the importer's
    /// folder comes first, the working directory second. A path starting
    /// with `std/` that names no such file is a bundled module (`std/x` and
    /// `std/x.ttvm` both name bundled `x`), so a program can ship its own
    /// `std/` folder (TinyTotVM's layout) and still use the bundled ones.
    fn import(&mut self, dir: &Path, ipath: &str, span: Range<usize>, diag_file: usize) -> u32 {
        let file = if Path::new(ipath).extension().is_none() {
            format!("{ipath}.ttvm")
        } else {
            ipath.to_string()
        };
        let mut candidates = vec![dir.join(&file)];
        if candidates[0] != Path::new(&file) {
            candidates.push(PathBuf::from(&file));
        }
        let bundled = ipath
            .strip_prefix("std/")
            .map(|n| n.strip_suffix(".ttvm").unwrap_or(n));
        let Some(found) = files::first_existing(&candidates).cloned() else {
            if let Some(std_name) = bundled {
                if let Some(text) = crate::stdlib::source(std_name) {
                    return self.bundled(std_name, text, span, diag_file);
                }
            }
            let tried: Vec<String> = candidates
                .iter()
                .map(|p| format!("`{}`", p.display()))
                .collect();
            let mut help = format!("looked for {}", tried.join(", "));
            if bundled.is_some() {
                help.push_str(&format!(
                    ", then the bundled modules ({})",
                    crate::stdlib::names().join(", ")
                ));
            }
            if self.chain.len() > 1 {
                // Which imports led here, from the main program (long
                // chains keep their ends).
                let names: Vec<&str> = self
                    .chain
                    .iter()
                    .map(|&m| self.names[m as usize].as_str())
                    .collect();
                let shown = if names.len() > 2 * CYCLE_SHOWN {
                    let mut v = names[..CYCLE_SHOWN].to_vec();
                    v.push("…");
                    v.extend_from_slice(&names[names.len() - CYCLE_SHOWN..]);
                    v
                } else {
                    names
                };
                help.push_str(&format!("\nimported through: {}", shown.join(" → ")));
            }
            let message = if bundled.is_some() {
                format!("no module `{ipath}`: no such file and no bundled module")
            } else {
                format!("module `{ipath}` not found")
            };
            self.errors
                .push(diag_file, Diag::error(span, message).with_help(help));
            return u32::MAX;
        };
        let refused = |r: Refused| {
            let d = Diag::error(
                span.clone(),
                format!("cannot load module `{ipath}`: {}", r.message),
            );
            match r.help {
                Some(h) => d.with_help(h),
                None => d,
            }
        };
        let (key, open) = match self.admit(&found) {
            Ok(x) => x,
            Err(r) => {
                self.errors.push(diag_file, refused(r));
                return u32::MAX;
            }
        };
        if let Some(&existing) = self.by_key.get(&key) {
            return self.existing(existing, span, diag_file);
        }
        let shown = found.display().to_string();
        match files::read_source(&open, &shown, self.sandbox.is_some()) {
            Ok(bytes) => self.begin(key, shown, found, bytes),
            Err(r) => {
                self.errors.push(diag_file, refused(r));
                u32::MAX
            }
        }
    }

    /// The bundled module `std_name` (source `text`): its id, starting it if
    /// it is new.
    fn bundled(
        &mut self,
        std_name: &str,
        text: &'static str,
        span: Range<usize>,
        diag_file: usize,
    ) -> u32 {
        let key = format!("std:{std_name}");
        if let Some(&existing) = self.by_key.get(&key) {
            return self.existing(existing, span, diag_file);
        }
        self.begin(
            key,
            format!("<std>/{std_name}.ttvm"),
            PathBuf::from(format!("std/{std_name}.ttvm")),
            text.as_bytes().to_vec(),
        )
    }

    /// The key of a found file and the path to open, or why the sandbox
    /// refuses it.
    fn admit(&self, found: &Path) -> Result<(String, PathBuf), Refused> {
        match &self.sandbox {
            Some(sandbox) => {
                let real = sandbox.admit(found)?;
                Ok((real.display().to_string(), real))
            }
            None => Ok((canonical(found), found.to_path_buf())),
        }
    }

    /// An IMPORT of a module already started: its id, or an import cycle
    /// error when it is still on the import chain.
    fn existing(&mut self, id: u32, span: Range<usize>, diag_file: usize) -> u32 {
        let Some(&pos) = self.on_chain.get(&id) else {
            return id;
        };
        let cycle = &self.chain[pos..];
        let shown: Vec<&str> = if cycle.len() <= 2 * CYCLE_SHOWN {
            cycle
                .iter()
                .map(|&m| self.names[m as usize].as_str())
                .collect()
        } else {
            let head = cycle[..CYCLE_SHOWN].iter();
            let tail = cycle[cycle.len() - CYCLE_SHOWN..].iter();
            head.map(|&m| self.names[m as usize].as_str())
                .chain(std::iter::once("…"))
                .chain(tail.map(|&m| self.names[m as usize].as_str()))
                .collect()
        };
        let mut text = shown.join(" → ");
        text.push_str(" → ");
        text.push_str(&self.names[id as usize]);
        let help = if cycle.len() > 2 * CYCLE_SHOWN {
            format!(
                "modules may not import each other in a circle (this one has {} modules)",
                cycle.len()
            )
        } else {
            "modules may not import each other in a circle".to_string()
        };
        self.errors.push(
            diag_file,
            Diag::error(span, format!("import cycle: {text}")).with_help(help),
        );
        u32::MAX
    }

    /// SPAWN of a string literal naming no label of its file runs the file
    /// `s.ttvm` beside the program, in the working directory or in
    /// `examples/`: such files are loaded now, so their errors show before
    /// anything runs.
    /// Returns the warning for a name that is no label, no file and no
    /// built-in process.
    fn spawned_file(
        &mut self,
        dir: &Path,
        name: &str,
        span: Range<usize>,
        diag_file: usize,
    ) -> Option<String> {
        if name.is_empty()
            || self.spawn_files.contains_key(name)
            || self.refused_spawns.contains(name)
        {
            return None;
        }
        let file = format!("{name}.ttvm");
        let candidates = [
            dir.join(&file),
            PathBuf::from(&file),
            Path::new("examples").join(&file),
        ];
        let Some(found) = files::first_existing(&candidates).cloned() else {
            if matches!(name, "hello_world" | "counter") {
                return None;
            }
            let place = self.errors.file_line(diag_file, span.start);
            return Some(format!(
                "{place}: SPAWN \"{name}\" names no label, no file `{file}` and no built-in process; it will print `Spawned process: {name}`"
            ));
        };
        let refused = |r: Refused| {
            let d = Diag::error(
                span.clone(),
                format!("cannot load the file SPAWN \"{name}\" runs: {}", r.message),
            );
            match r.help {
                Some(h) => d.with_help(h),
                None => d,
            }
        };
        let loaded = self
            .admit(&found)
            .and_then(|(key, open)| match self.by_key.get(&key) {
                Some(&id) => Ok(id),
                None => {
                    let shown = found.display().to_string();
                    let bytes = files::read_source(&open, &shown, self.sandbox.is_some())?;
                    Ok(self.begin(key, shown, found.clone(), bytes))
                }
            });
        match loaded {
            Ok(id) => {
                self.spawn_files.insert(name.to_string(), id);
            }
            Err(r) => {
                self.refused_spawns.insert(name.to_string());
                self.errors.push(diag_file, refused(r));
            }
        }
        None
    }

    /// Add the built-in process bodies, then link every unit into one
    /// program.
    fn finish(mut self) -> Result<crate::Program, LoadError> {
        let builtin_module = self.begin(
            "builtin:procs".to_string(),
            "<builtin>".to_string(),
            PathBuf::from("<builtin>"),
            crate::stdlib::BUILTIN_PROCS.as_bytes().to_vec(),
        );
        self.drive();
        if self.units.iter().any(Option::is_none) {
            // A file that is not UTF-8 has nothing to link.
            return Err(self.errors);
        }
        let units = self.units.into_iter().map(|u| u.expect("loaded")).collect();
        link::link(
            units,
            self.errors,
            self.warnings,
            builtin_module,
            self.spawn_files,
        )
    }
}
