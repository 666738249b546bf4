//! A REPL session's program (`ttvm repl`, docs/REPL.md): each entry is
//! assembled as a module of its own, appended after everything loaded
//! before it, so the code of earlier entries and of the modules they
//! imported keeps its program addresses (the function values, return
//! addresses and process bodies that refer to them stay valid). An entry
//! may CALL, MAKE_FUNCTION, MAKE_LAMBDA or SPAWN (by name) a label of an
//! earlier entry; a later definition of a name replaces the earlier one
//! for the entries after it.

use super::{link, LoadError, LoadOptions, Loader, Sandbox};
use crate::Program;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

/// The program of a REPL session, grown one entry at a time.
pub struct Session {
    loader: Loader,
    /// The built-in process bodies' module, once loaded (with the first
    /// entry).
    builtin: Option<u32>,
    /// The labels of every entry so far (program addresses), the latest
    /// definition of a name winning.
    scope: HashMap<String, u32>,
    /// Entries accepted so far.
    count: usize,
}

/// An entry added to the session's program.
pub struct Entry {
    /// The whole program so far, this entry included.
    pub program: Arc<Program>,
    /// The entry's module and its first instruction.
    pub module: u32,
    pub start: u32,
    /// The entry starts with a LABEL: it defines code for later entries
    /// and is not run.
    pub definition: bool,
    /// Warnings about this entry (not repeated for earlier ones).
    pub warnings: Vec<String>,
}

impl Session {
    /// A session whose imports and spawned files are looked up from the
    /// working directory (under `--sandbox`, only inside it).
    pub fn new(options: &LoadOptions) -> Result<Session, LoadError> {
        let mut loader = Loader::default();
        if options.sandbox {
            match Sandbox::for_main(std::path::Path::new("<repl>")) {
                Ok(s) => loader.sandbox = Some(s),
                Err(r) => {
                    loader.errors.push_plain(r.message, r.help);
                    return Err(loader.errors);
                }
            }
        }
        Ok(Session {
            loader,
            builtin: None,
            scope: HashMap::new(),
            count: 0,
        })
    }

    /// Assemble `text` as the next entry and link the grown program. On an
    /// error the session is as it was before.
    pub fn add(&mut self, text: &str) -> Result<Entry, LoadError> {
        let l = &mut self.loader;
        let (units, warnings) = (l.units.len(), l.warnings.len());
        let (spawn_files, refused) = (l.spawn_files.clone(), l.refused_spawns.clone());
        l.errors = LoadError::new();
        let name = format!("<repl:{}>", self.count + 1);
        let id = l.begin(
            format!("repl:{}", self.count + 1),
            name.clone(),
            PathBuf::from(&name),
            text.as_bytes().to_vec(),
        );
        if let Some(p) = l.pending.last_mut().filter(|p| p.id == id) {
            p.unit.outer = Some(Arc::new(self.scope.clone()));
        }
        l.drive();
        if self.builtin.is_none() {
            let b = l.begin(
                "builtin:procs".to_string(),
                "<builtin>".to_string(),
                PathBuf::from("<builtin>"),
                crate::stdlib::BUILTIN_PROCS.as_bytes().to_vec(),
            );
            l.drive();
            self.builtin = Some(b);
        }
        let linked = if l.units.iter().any(Option::is_none) {
            Err(std::mem::take(&mut l.errors))
        } else {
            let all = l.units.iter().map(|u| u.clone().expect("loaded")).collect();
            link::link(
                all,
                std::mem::take(&mut l.errors),
                l.warnings[warnings..].to_vec(),
                self.builtin.expect("loaded"),
                l.spawn_files.clone(),
            )
        };
        let mut program = match linked {
            Ok(p) => p,
            Err(e) => {
                // Back to the session before this entry.
                l.units.truncate(units);
                l.names.truncate(units);
                l.by_key.retain(|_, m| (*m as usize) < units);
                l.spawn_files = spawn_files;
                l.refused_spawns = refused;
                l.warnings.truncate(warnings);
                if self.builtin.is_some_and(|b| b as usize >= units) {
                    self.builtin = None;
                }
                return Err(e);
            }
        };
        // The top level's variables outlive each entry: none is moved out.
        program.keep_top_level_vars();
        self.count += 1;
        let m = &program.modules[id as usize];
        let start = m.start;
        // An entry's own labels, then the earlier entries' (for a SPAWN of
        // a name at run time, which looks in the module, then module 0).
        for (name, &at) in &m.labels {
            self.scope.insert(name.clone(), at);
        }
        let definition = m.labels.values().any(|&at| at == start) && m.end > start;
        for (name, &at) in &self.scope {
            program.modules[0].labels.entry(name.clone()).or_insert(at);
        }
        // Load-time warnings about this entry and the files it loaded only.
        let warnings = program
            .warnings
            .iter()
            .filter(|w| w.loc.is_none_or(|l| l.file as usize >= units))
            .map(|w| w.to_string())
            .collect();
        Ok(Entry {
            program: Arc::new(program),
            module: id,
            start,
            definition,
            warnings,
        })
    }
}
