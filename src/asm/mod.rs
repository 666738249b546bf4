//! The assembler and loader: `.ttvm` text (the main file and every module it
//! imports, transitively) → one linked, analysed [`Program`].
//!
//! Every error in every file is collected; nothing runs if there is one.

mod diag;
mod outline;
mod parse;

pub use diag::structured::{line_col, Diagnostic, Place, Severity};
pub use diag::{Diag, LoadError};
pub use outline::{outline, LabelDef, NameUse, Outline, OutlineInstr, UseKind};

use crate::bytecode::{Instr, Loc, Module, Nil, Program, SourceFile};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Load and assemble the program in `path` and everything it imports.
pub fn load_file(path: &Path) -> Result<Program, LoadError> {
    let name = path.display().to_string();
    let mut loader = Loader::default();
    match std::fs::read(path) {
        Ok(bytes) => {
            let key = canonical(path);
            loader.load(key, name, path.to_path_buf(), bytes);
        }
        Err(e) => loader.errors.push_plain(format!(
            "cannot read `{name}`: {}",
            crate::exec::os_reason(&e)
        )),
    }
    loader.finish()
}

/// Assemble a program held in memory; `name` is how messages show it and
/// imports resolve against the working directory.
pub fn load_source(name: &str, text: &str) -> Result<Program, LoadError> {
    let mut loader = Loader::default();
    loader.load(
        format!("mem:{name}"),
        name.to_string(),
        PathBuf::from(name),
        text.as_bytes().to_vec(),
    );
    loader.finish()
}

fn canonical(path: &Path) -> String {
    std::fs::canonicalize(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

struct Unit {
    file: SourceFile,
    /// The file's id in the error report.
    diag_file: usize,
    code: parse::Assembled,
    /// For each IMPORT of `code`, the module it names.
    import_modules: Vec<u32>,
}

struct Loader {
    units: Vec<Option<Unit>>,
    spawn_files: HashMap<String, u32>,
    warnings: Vec<String>,
    by_key: HashMap<String, u32>,
    stack: Vec<u32>,
    errors: LoadError,
}

impl Default for Loader {
    fn default() -> Self {
        Loader {
            units: Vec::new(),
            spawn_files: HashMap::new(),
            warnings: Vec::new(),
            by_key: HashMap::new(),
            stack: Vec::new(),
            errors: LoadError::new(),
        }
    }
}

impl Loader {
    /// Assemble one file and, depth first, what it imports. Returns its id.
    fn load(&mut self, key: String, name: String, path: PathBuf, bytes: Vec<u8>) -> u32 {
        let id = self.units.len() as u32;
        self.units.push(None);
        self.by_key.insert(key, id);
        let text = match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                let valid = e.utf8_error().valid_up_to();
                let lossy = String::from_utf8_lossy(e.as_bytes()).into_owned();
                let at = lossy
                    .char_indices()
                    .map(|(i, _)| i)
                    .find(|&i| i >= valid)
                    .unwrap_or(valid.min(lossy.len()));
                let f = self.errors.add_file(name.clone(), lossy.clone());
                let end =
                    (at + lossy[at..].chars().next().map_or(0, char::len_utf8)).min(lossy.len());
                self.errors.push(
                    f,
                    Diag::error(at..end, "the file is not valid UTF-8")
                        .with_help("ttvm source files must be UTF-8 text"),
                );
                return id;
            }
        };
        let diag_file = self.errors.add_file(name.clone(), text.clone());
        let mut diags = Vec::new();
        let code = parse::assemble(&text, &mut diags);
        for d in diags {
            self.errors.push(diag_file, d);
        }
        self.stack.push(id);
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let mut import_modules = Vec::new();
        for (_, ipath, span) in &code.imports {
            let m = self.import(&dir, ipath, span.clone(), diag_file);
            import_modules.push(m);
        }
        self.stack.pop();
        self.load_spawned_files(&dir, &code);
        self.units[id as usize] = Some(Unit {
            file: SourceFile {
                name,
                path,
                text: Arc::from(text),
            },
            diag_file,
            code,
            import_modules,
        });
        id
    }

    fn import(
        &mut self,
        dir: &Path,
        ipath: &str,
        span: std::ops::Range<usize>,
        diag_file: usize,
    ) -> u32 {
        let (key, name, path, bytes) = if let Some(std_name) = ipath.strip_prefix("std/") {
            match crate::stdlib::source(std_name) {
                Some(text) => (
                    format!("std:{std_name}"),
                    format!("<std>/{std_name}.ttvm"),
                    PathBuf::from(format!("std/{std_name}.ttvm")),
                    text.as_bytes().to_vec(),
                ),
                None => {
                    self.errors.push(
                        diag_file,
                        Diag::error(span, format!("no bundled module `{ipath}`")).with_help(
                            format!("bundled modules: {}", crate::stdlib::names().join(", ")),
                        ),
                    );
                    return u32::MAX;
                }
            }
        } else {
            let mut candidates = vec![dir.join(ipath), PathBuf::from(ipath)];
            if Path::new(ipath).extension().is_none() {
                candidates.push(dir.join(format!("{ipath}.ttvm")));
                candidates.push(PathBuf::from(format!("{ipath}.ttvm")));
            }
            let Some(found) = candidates.iter().find(|p| p.is_file()) else {
                self.errors.push(
                    diag_file,
                    Diag::error(span, format!("module `{ipath}` not found")).with_help(format!(
                        "looked for {}",
                        candidates
                            .iter()
                            .map(|p| format!("`{}`", p.display()))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                );
                return u32::MAX;
            };
            let bytes = match std::fs::read(found) {
                Ok(b) => b,
                Err(e) => {
                    self.errors.push(
                        diag_file,
                        Diag::error(
                            span,
                            format!(
                                "cannot read module `{}`: {}",
                                found.display(),
                                crate::exec::os_reason(&e)
                            ),
                        ),
                    );
                    return u32::MAX;
                }
            };
            (
                canonical(found),
                found.display().to_string(),
                found.clone(),
                bytes,
            )
        };
        if let Some(&existing) = self.by_key.get(&key) {
            if let Some(pos) = self.stack.iter().position(|&m| m == existing) {
                let mut chain: Vec<String> = self.stack[pos..]
                    .iter()
                    .map(|&m| self.unit_name(m))
                    .collect();
                chain.push(self.unit_name(existing));
                self.errors.push(
                    diag_file,
                    Diag::error(span, format!("import cycle: {}", chain.join(" → ")))
                        .with_help("modules may not import each other in a circle"),
                );
                return u32::MAX;
            }
            return existing;
        }
        self.load(key, name, path, bytes)
    }

    /// SPAWN of a string literal naming no label runs the file `s.ttvm`
    /// beside the program, in the working directory or in `examples/`: such
    /// files are loaded now, so their errors show before anything runs.
    fn load_spawned_files(&mut self, dir: &Path, code: &parse::Assembled) {
        for w in code.instrs.windows(2) {
            let (Instr::PushStr(s), Instr::Spawn(_) | Instr::SpawnLink(_)) = (&w[0], &w[1]) else {
                continue;
            };
            let name = s.0.as_str();
            if code.labels.contains_key(name)
                || self.spawn_files.contains_key(name)
                || name.is_empty()
            {
                continue;
            }
            let file = format!("{name}.ttvm");
            let candidates = [
                dir.join(&file),
                PathBuf::from(&file),
                Path::new("examples").join(&file),
            ];
            let Some(found) = candidates.iter().find(|p| p.is_file()) else {
                if !matches!(name, "hello_world" | "counter") {
                    self.warnings.push(format!(
                        "SPAWN \"{name}\" names no label, no file `{file}` and no built-in process; it will print `Spawned process: {name}`"
                    ));
                }
                continue;
            };
            let key = canonical(found);
            let id = match self.by_key.get(&key) {
                Some(&id) => id,
                None => match std::fs::read(found) {
                    Ok(bytes) => self.load(key, found.display().to_string(), found.clone(), bytes),
                    Err(_) => continue,
                },
            };
            self.spawn_files.insert(name.to_string(), id);
        }
    }

    fn unit_name(&self, id: u32) -> String {
        match &self.units[id as usize] {
            Some(u) => u.file.name.clone(),
            // Still being assembled: find its key.
            None => self
                .by_key
                .iter()
                .find(|(_, &v)| v == id)
                .map(|(k, _)| k.trim_start_matches("mem:").to_string())
                .unwrap_or_default(),
        }
    }

    /// Link every unit into one program, resolving targets.
    fn finish(mut self) -> Result<Program, LoadError> {
        let builtin_module = self.load(
            "builtin:procs".to_string(),
            "<builtin>".to_string(),
            PathBuf::from("<builtin>"),
            crate::stdlib::BUILTIN_PROCS.as_bytes().to_vec(),
        );
        if self.units.iter().any(Option::is_none) {
            // A file that is not UTF-8 has nothing to link.
            return Err(self.errors);
        }
        let mut p = Program {
            code: Vec::new(),
            locs: Vec::new(),
            files: Vec::new(),
            modules: Vec::new(),
            module_of: Vec::new(),
            layout_of: Vec::new(),
            layouts: Vec::new(),
            block_start: Vec::new(),
            block_cost: Vec::new(),
            label_at: HashMap::new(),
            warnings: std::mem::take(&mut self.warnings)
                .into_iter()
                .map(crate::bytecode::Warning::plain)
                .collect(),
            builtin_module,
            spawn_files: std::mem::take(&mut self.spawn_files),
        };
        let units: Vec<Unit> = self.units.into_iter().map(|u| u.expect("loaded")).collect();
        // Lay the modules out one after another.
        let mut starts = Vec::new();
        let mut next = 0u32;
        for u in &units {
            starts.push(next);
            next += u.code.instrs.len() as u32 + 1;
        }
        for (mi, u) in units.into_iter().enumerate() {
            let start = starts[mi];
            let len = u.code.instrs.len() as u32;
            let mut code = u.code.instrs;
            for (i, text, span) in &u.code.targets {
                match parse::resolve_target(text, span.clone(), &u.code.labels, len) {
                    Ok(t) => set_target(&mut code[*i], start + t),
                    Err(d) => self.errors.push(u.diag_file, d),
                }
            }
            for ((i, _, _), &m) in u.code.imports.iter().zip(&u.import_modules) {
                if let Instr::Import(mp) = &mut code[*i] {
                    mp.module = m;
                }
            }
            let exports = exported_names(&code);
            code.push(Instr::Halt(Nil));
            p.locs.extend(u.code.locs.iter().map(|&(line, col)| Loc {
                file: mi as u32,
                line,
                col,
            }));
            p.locs.push(Loc {
                file: mi as u32,
                line: u.code.line_count,
                col: 1,
            });
            p.module_of
                .extend(std::iter::repeat_n(mi as u32, code.len()));
            p.code.extend(code);
            let labels: HashMap<String, u32> = u
                .code
                .labels
                .into_iter()
                .map(|(k, v)| (k, v + start))
                .collect();
            let mut sorted: Vec<_> = labels.iter().collect();
            sorted.sort_by(|a, b| a.0.cmp(b.0));
            for (name, &at) in sorted {
                p.label_at
                    .entry(at)
                    .or_insert_with(|| Arc::from(name.as_str()));
            }
            p.modules.push(Module {
                file: mi as u32,
                start,
                end: start + len,
                labels,
                exports,
            });
            p.files.push(u.file);
        }
        if !self.errors.is_empty() {
            return Err(self.errors);
        }
        p.finish();
        Ok(p)
    }
}

fn set_target(instr: &mut Instr, t: u32) {
    match instr {
        Instr::Jmp(x) | Instr::Jz(x) | Instr::Jnz(x) | Instr::Try(x) => x.0 = t,
        Instr::Call(c) | Instr::MakeFunction(c) | Instr::MakeLambda(c) => c.target = t,
        _ => {}
    }
}

fn exported_names(code: &[Instr]) -> Vec<ttvm_runtime::Atom> {
    let mut names: Vec<ttvm_runtime::Atom> = Vec::new();
    for i in code {
        if let Instr::Export(v) = i {
            if !names.contains(&v.name) {
                names.push(v.name.clone());
            }
        }
    }
    names
}
