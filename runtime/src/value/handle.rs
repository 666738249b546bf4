//! Handles: values that name a resource outside the value world — a socket
//! today (`net/`), remote PIDs and references later (issue 17). A handle
//! is compared by identity (two handles are equal when they name the same
//! resource), prints as `#Kind<id description>` and can be sent in
//! messages like any value (it is an `Arc`: sending shares it).

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

    /// `#Kind<id description>`.
    pub fn write(&self, out: &mut dyn fmt::Write) -> fmt::Result {
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
