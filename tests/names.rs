//! Run-time process names are not kept (issue 12, finding 6): a run that
//! looks up, registers, sends to and unregisters 20,000 distinct names
//! (and lets 2,000 processes end holding one) adds no interned atom — the
//! interned-name table, which lives as long as the process, holds only the
//! program's own names. Before the fix every such name was interned for
//! good (the table grew by about three atoms per round; by hand, 200,000
//! rounds with 1,000-character names: peak RSS 275 MB, now 4 MB).
//! One test per binary: no other VM interns atoms meanwhile.

use std::io::Write;
use std::sync::{Arc, Mutex};
use ttvm_runtime::Atom;

#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn run_time_names_are_not_interned() {
    let program = Arc::new(
        ttvm::load_source("churn.ttvm", include_str!("names/churn.ttvm"))
            .unwrap_or_else(|e| panic!("{}", e.render())),
    );
    for (schedulers, jit) in [(1, false), (4, false), (2, true)] {
        let before = Atom::interned();
        let out = Shared::default();
        let io = ttvm::Io {
            stdout: Box::new(out.clone()),
            stderr: Box::new(std::io::sink()),
            stdin: Box::new(std::io::empty()),
        };
        let config = ttvm::RunConfig {
            schedulers,
            jit,
            args: ["20000", "100"].map(String::from).to_vec(),
            ..Default::default()
        };
        let r = ttvm::run(program.clone(), config, io);
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        assert_eq!(r.exit_code, 0, "-S {schedulers}: {text}");
        assert_eq!(
            text.trim_end(),
            "names: 20000 rounds, errors 0",
            "-S {schedulers}"
        );
        assert_eq!(
            Atom::interned(),
            before,
            "-S {schedulers} (jit {jit}): run-time names were interned"
        );
    }
}
