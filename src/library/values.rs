//! Making and reading values for the JSON, CSV and host operations.

use std::sync::Arc;
use ttvm_runtime::{Object, Str, Value};

pub fn text_value(s: String) -> Value {
    Value::Str(Arc::new(Str::new(s)))
}

pub fn list_value(items: Vec<Value>) -> Value {
    Value::list(items)
}

/// The fields of an object being built, in insertion order.
#[derive(Default)]
pub struct ObjectFields(Object);

impl ObjectFields {
    /// Set a field (an existing one keeps its position). Keys are compared
    /// by content, never interned: a JSON document's keys do not grow the
    /// atom table.
    pub fn set(&mut self, key: &str, v: Value) {
        self.0.set_with(key, || Arc::from(key), v);
    }
}

pub fn object_value(fields: ObjectFields) -> Value {
    Value::Object(Arc::new(fields.0))
}

/// An object's fields in insertion order.
pub fn fields(o: &Object) -> impl Iterator<Item = (&str, &Value)> {
    o.iter()
}

/// `string too long (over 256 MiB)`, as CONCAT raises it.
pub fn too_long_message() -> String {
    format!(
        "string too long (over {} MiB)",
        crate::exec::ops::MAX_STR_BYTES >> 20
    )
}
