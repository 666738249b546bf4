//! SIGUSR1 and SIGQUIT (docs/OBSERVING.md, "Signals"). The handler that
//! signal-hook installs only writes to its pipe; this thread reads the pipe
//! and asks the run for a snapshot like any observer (O1–O3 in
//! `runtime/src/node/observe.rs`), then prints it on stderr. SIGUSR1: the
//! run goes on. SIGQUIT: the program's buffered output is flushed and ttvm
//! exits with [`super::EXIT_SIGQUIT`].

use super::{dump_text, take, Keep, Source, VmNode, DUMP_ROWS, EXIT_SIGQUIT};
use crate::exec::Vm;
use signal_hook::consts::{SIGQUIT, SIGUSR1};
use signal_hook::iterator::{Handle, Signals};
use std::sync::Arc;
use std::thread::{Scope, ScopedJoinHandle};

/// The signal thread of a run.
pub(super) struct Watching<'scope> {
    handle: Handle,
    thread: Option<ScopedJoinHandle<'scope, ()>>,
}

impl Watching<'_> {
    /// End the thread (the run ended).
    pub(super) fn stop(mut self) {
        self.handle.close();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Watching<'_> {
    fn drop(&mut self) {
        // Also when the run panics: the scope waits for this thread.
        self.handle.close();
    }
}

/// Start watching for SIGUSR1 and SIGQUIT; `None` (with a warning) when
/// the handlers cannot be installed.
pub(super) fn start<'scope, 'env>(
    scope: &'scope Scope<'scope, 'env>,
    node: &'env VmNode,
    vm: &'env Arc<Vm>,
    source: &'env Source<'env>,
) -> Option<Watching<'scope>> {
    let mut signals = match Signals::new([SIGUSR1, SIGQUIT]) {
        Ok(s) => s,
        Err(e) => {
            vm.eprint(&format!(
                "warning: no process snapshots on SIGUSR1/SIGQUIT: cannot install the signal handlers: {e}\n"
            ));
            return None;
        }
    };
    let handle = signals.handle();
    let thread = std::thread::Builder::new()
        .name("ttvm-signals".to_string())
        .spawn_scoped(scope, move || {
            for signal in signals.forever() {
                let why = if signal == SIGQUIT {
                    "SIGQUIT"
                } else {
                    "SIGUSR1"
                };
                print(node, vm, source, why);
                if signal == SIGQUIT {
                    vm.eprint(&format!(
                        "ttvm: ended by SIGQUIT (exit status {EXIT_SIGQUIT})\n"
                    ));
                    super::top::before_exit(vm);
                    std::process::exit(EXIT_SIGQUIT);
                }
            }
        });
    match thread {
        Ok(t) => Some(Watching {
            handle,
            thread: Some(t),
        }),
        Err(e) => {
            handle.close();
            vm.eprint(&format!(
                "warning: no process snapshots on SIGUSR1/SIGQUIT: cannot start a thread: {e}\n"
            ));
            None
        }
    }
}

/// Print a snapshot on stderr (after the program's buffered output).
fn print(node: &VmNode, vm: &Vm, source: &Source<'_>, why: &str) {
    match take(node, source, Keep::First(DUMP_ROWS), vm) {
        Some(s) => vm.eprint(&dump_text(&s, why, DUMP_ROWS)),
        None => vm.eprint(&format!(
            "ttvm: no process snapshot ({why}): the run did not answer within {} s (a one-scheduler run answers between two time slices; one very long instruction delays it)\n",
            super::ANSWER_WAIT.as_secs()
        )),
    }
}
