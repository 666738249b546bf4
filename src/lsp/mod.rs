//! `ttvm lsp`: a language server for `.ttvm` on stdin/stdout.
//!
//! Features: the assembler's errors (and, once a document loads, the
//! loader's warnings) as diagnostics on open and on every change; hover
//! documentation for every opcode, from the op table; go to definition and
//! find references for labels (per file) and variables (per frame); opcode,
//! label and variable completion; document symbols for functions and
//! labels. The editor setup is in `editors/README.md`.
//!
//! Layout: `transport` (framing, bounded), `server` (the message loop and
//! the open documents), `analysis` (one document's outline and program),
//! and one file per feature.

mod analysis;
mod complete;
mod diagnostics;
mod hover;
mod navigate;
mod server;
mod text;
mod transport;
mod uri;

pub use hover::opcode_doc;
pub use server::serve;
pub use transport::MAX_MESSAGE;

/// Serve on stdin/stdout until the client says `exit` or closes the
/// connection; the exit status (0 after `shutdown` then `exit`).
pub fn run_stdio() -> i32 {
    let (connection, threads) = transport::stdio();
    let code = match serve(&connection) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ttvm lsp: {e}");
            1
        }
    };
    drop(connection);
    match threads.finish() {
        Ok(()) => code,
        Err(_) => 1,
    }
}
