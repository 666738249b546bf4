//! PIDs and references of other nodes as ttvm values: handles
//! (`value/handle.rs`) whose resource is a [`RemotePid`] or a
//! [`RemoteRef`]. Local PIDs stay Ints (SPEC: PIDs are Ints); an Erlang
//! PID that names a process of this node converts back to that Int.
//!
//! Two such values are `EQ` when they name the same process or reference
//! (node, numbers and creation), however they were made: each conversion
//! of an incoming term makes a new handle, and a process that receives
//! the same remote PID twice must find it equal (a `RECEIVE_MATCH`
//! pattern, `CONTAINS`, `INDEX_OF`).

use crate::value::{Handle, Resource, Value};
use std::any::Any;
use std::fmt;
use std::sync::Arc;

/// A PID of another node (or of an earlier run of this node's name: a
/// different creation). Prints `<node@host.42.0>`: Erlang's `<N.42.0>`
/// with the node's name in place of its local number N.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RemotePid {
    /// The node's full name (`name@host`).
    pub node: Arc<str>,
    pub id: u32,
    pub serial: u32,
    pub creation: u32,
}

/// A reference made by another node (`make_ref()`, a monitor's
/// reference). Prints `#Ref<node@host.3.2.1>` (Erlang's `#Ref<N.3.2.1>`:
/// the id words last first).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RemoteRef {
    pub node: Arc<str>,
    /// The id words, as the term carries them (1 to 5 in practice).
    pub id: Box<[u32]>,
    pub creation: u32,
}

fn handle(resource: Arc<dyn Resource>) -> Value {
    // The id is not used: these resources decide equality and printing
    // themselves.
    Value::Handle(Arc::new(Handle { id: 0, resource }))
}

impl RemotePid {
    pub fn from_term(pid: &eetf::Pid) -> RemotePid {
        RemotePid {
            node: Arc::from(pid.node.name.as_str()),
            id: pid.id,
            serial: pid.serial,
            creation: pid.creation,
        }
    }

    pub fn to_term(&self) -> eetf::Pid {
        eetf::Pid {
            node: eetf::Atom::from(&*self.node),
            id: self.id,
            serial: self.serial,
            creation: self.creation,
        }
    }

    /// The value naming this PID.
    pub fn value(self) -> Value {
        handle(Arc::new(self))
    }

    /// The remote PID a value names, if it is one.
    pub fn of(v: &Value) -> Option<&RemotePid> {
        match v {
            Value::Handle(h) => h.downcast::<RemotePid>(),
            _ => None,
        }
    }
}

impl RemoteRef {
    pub fn from_term(r: &eetf::Reference) -> RemoteRef {
        RemoteRef {
            node: Arc::from(r.node.name.as_str()),
            id: r.id.clone().into_boxed_slice(),
            creation: r.creation,
        }
    }

    pub fn to_term(&self) -> eetf::Reference {
        eetf::Reference {
            node: eetf::Atom::from(&*self.node),
            id: self.id.to_vec(),
            creation: self.creation,
        }
    }

    /// The value naming this reference.
    pub fn value(self) -> Value {
        handle(Arc::new(self))
    }

    /// The remote reference a value names, if it is one.
    pub fn of(v: &Value) -> Option<&RemoteRef> {
        match v {
            Value::Handle(h) => h.downcast::<RemoteRef>(),
            _ => None,
        }
    }
}

impl Resource for RemotePid {
    fn kind(&self) -> &'static str {
        "Pid"
    }

    fn describe(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        write!(out, "{}.{}.{}", self.node, self.id, self.serial)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn same_as(&self, other: &dyn Resource) -> Option<bool> {
        Some(other.as_any().downcast_ref::<RemotePid>() == Some(self))
    }

    fn write_whole(&self, out: &mut dyn fmt::Write) -> Option<fmt::Result> {
        Some(write!(out, "<{}.{}.{}>", self.node, self.id, self.serial))
    }
}

impl Resource for RemoteRef {
    fn kind(&self) -> &'static str {
        "Ref"
    }

    fn describe(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        out.write_str(&self.node)?;
        for w in self.id.iter().rev() {
            write!(out, ".{w}")?;
        }
        Ok(())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn same_as(&self, other: &dyn Resource) -> Option<bool> {
        Some(other.as_any().downcast_ref::<RemoteRef>() == Some(self))
    }

    fn write_whole(&self, out: &mut dyn fmt::Write) -> Option<fmt::Result> {
        let mut s = String::from("#Ref<");
        let r = self.describe(&mut s);
        s.push('>');
        Some(r.and_then(|()| out.write_str(&s)))
    }
}
