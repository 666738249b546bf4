//! Handles: values that name a resource outside the value world — a socket
//! (`net/`), a PID or reference of another node (`dist/term/`, issue 17).
//! Two handles are equal when they name the same resource: by default when
//! their ids are equal (a socket), or as the resource says
//! ([`Resource::same_as`]: two remote PIDs naming the same process are
//! equal however they were made). A handle prints as `#Kind<id
//! description>` unless the resource prints itself ([`Resource::write_whole`])
//! and can be sent in messages like any value (it is an `Arc`: sending
//! shares it).

use std::any::Any;
use std::fmt;
use std::sync::Arc;

/// What a handle names. The resource decides how it prints and what its
/// kind is called; the runtime and the engine look inside it only through
/// [`Resource::as_any`].
pub trait Resource: Send + Sync + 'static {
    /// The kind's name, as `type_name` and the printed form show it
    /// (`Socket`).
    fn kind(&self) -> &'static str;
    /// The text after the id in `#Kind<id …>` (e.g. `tcp 127.0.0.1:4000`).
    fn describe(&self, out: &mut dyn fmt::Write) -> fmt::Result;
    fn as_any(&self) -> &dyn Any;
    /// Whether this resource and `other` name the same thing; `None` (the
    /// default) leaves it to the handles' ids.
    fn same_as(&self, _other: &dyn Resource) -> Option<bool> {
        None
    }
    /// The whole printed form, when it is not `#Kind<id description>`
    /// (a remote PID prints `<node@host.42.0>`); `None` (the default) for
    /// that form.
    fn write_whole(&self, _out: &mut dyn fmt::Write) -> Option<fmt::Result> {
        None
    }
}

/// A handle value's heap part: the resource's id (unique in the VM) and
/// the resource.
pub struct Handle {
    pub id: u64,
    pub resource: Arc<dyn Resource>,
}

impl Handle {
    /// The resource as a `T`, when it is one.
    pub fn downcast<T: Resource>(&self) -> Option<&T> {
        self.resource.as_any().downcast_ref::<T>()
    }

    /// `EQ` of two handles: the resource decides, or the ids.
    pub fn same(&self, other: &Handle) -> bool {
        match self.resource.same_as(&*other.resource) {
            Some(same) => same,
            None => self.id == other.id,
        }
    }

    /// `#Kind<id description>`, or the resource's own form.
    pub fn write(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        if let Some(r) = self.resource.write_whole(out) {
            return r;
        }
        write!(out, "#{}<{}", self.resource.kind(), self.id)?;
        let mut d = String::new();
        self.resource.describe(&mut d)?;
        if !d.is_empty() {
            out.write_char(' ')?;
            out.write_str(&d)?;
        }
        out.write_char('>')
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f)
    }
}
