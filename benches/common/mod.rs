//! What the criterion suites share: loading a program once, resizing it by
//! text substitution, and running it with output thrown away.

use std::sync::Arc;

/// Assemble `text` (panics with the diagnostics if it does not assemble).
pub fn load(name: &str, text: &str) -> Arc<ttvm::Program> {
    match ttvm::load_source(name, text) {
        Ok(p) => Arc::new(p),
        Err(e) => panic!("{}", e.render()),
    }
}

/// Replace exactly one occurrence of `from` (so a typo in a benchmark can't
/// silently time the wrong program).
pub fn resize(text: &str, from: &str, to: &str) -> String {
    assert_eq!(text.matches(from).count(), 1, "{from:?} must occur once");
    text.replacen(from, to, 1)
}

/// Run `program` under `config`, discarding its output; it must succeed.
pub fn run(program: &Arc<ttvm::Program>, config: ttvm::RunConfig) {
    let io = ttvm::Io {
        stdout: Box::new(std::io::sink()),
        stderr: Box::new(std::io::sink()),
        stdin: Box::new(std::io::empty()),
    };
    let result = ttvm::run(program.clone(), config, io);
    assert_eq!(result.exit_code, 0);
}
