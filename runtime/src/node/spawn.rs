//! Spawns across nodes, the workers' side (`dist/spawn.rs` is the
//! protocol's): a process asked for by another node is made by the node's
//! [`Spawner`] — the program resolves the module and function it names —
//! and a SPAWN of ours on another node gets its reply. Methods of
//! [`Sched`], as every operation that may wake a process.

use super::{Node, Sched};
use crate::dist::spawn::{Replied, SpawnReq};
use crate::value::Value;

/// Why a spawn by name was refused: the BEAM's error atom for the
/// requesting node (`undef`, `badarg`, …) and the reason in words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpawnRefused {
    pub reason: &'static str,
    pub message: String,
}

/// Makes the execution state of a process that runs `function` of
/// `module` with `args` (a spawn asked for by another node).
pub type Spawner<S> = Box<dyn Fn(&str, &str, Vec<Value>) -> Result<S, SpawnRefused> + Send + Sync>;

impl<S: Send> Node<S> {
    /// How this node makes a process that another node asks for by module
    /// and function name (before the run; without one, such requests are
    /// refused with `notsup`).
    pub fn set_spawner(&self, f: Spawner<S>) {
        let _ = self.spawner.set(f);
    }
}

impl<S: Send> Sched<'_, S> {
    /// A SPAWN_REQUEST from another node (between slices, as I3).
    pub(crate) fn spawn_requested(&self, mut req: SpawnReq) {
        let Some(d) = self.node.dist.get() else {
            return;
        };
        let args = std::mem::take(&mut req.args);
        let made = match self.node.spawner.get() {
            Some(make) => make(&req.module, &req.function, args),
            None => Err(SpawnRefused {
                reason: "notsup",
                message: "this node does not spawn processes for other nodes".into(),
            }),
        };
        match made {
            Ok(state) => {
                if let Err(e) = self.spawn_with(state, None, |pid| d.spawn_accepted(&req, pid)) {
                    d.spawn_refused(&req, "system_limit", &e);
                }
            }
            Err(r) => d.spawn_refused(&req, r.reason, &r.message),
        }
    }

    /// The reply to a SPAWN of ours on another node: the waiting process
    /// takes it when it runs again (I4).
    pub(crate) fn spawn_replied(&self, r: Replied) {
        match self.w.proc(r.waiter.pid) {
            Some(p) => {
                if p.complete_io(r.waiter.token, Box::new(r.result), self.w.locking) {
                    self.w.schedule(p);
                }
            }
            // It ended meanwhile: a process linked to it must hear of it.
            None => {
                if let (Some(child), Some(d)) = (&r.linked, self.node.dist.get()) {
                    d.spawn_orphaned(r.waiter.pid, child);
                }
            }
        }
        self.node.io.settle(&r.waiter.ticket);
    }
}
