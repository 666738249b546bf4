//! Objects: fields in insertion order, keyed by interned names.

use super::{Atom, Value};
use indexmap::IndexMap;
use rustc_hash::FxBuildHasher;

/// An object's fields, in insertion order. `Debug` is bounded (see
/// `display.rs`).
#[derive(Clone, Default)]
pub struct Object {
    fields: IndexMap<Atom, Value, FxBuildHasher>,
}

impl Object {
    pub fn new() -> Object {
        Object::default()
    }

    pub fn get(&self, name: &Atom) -> Option<&Value> {
        self.fields.get(name)
    }

    pub fn contains(&self, name: &Atom) -> bool {
        self.fields.contains_key(name)
    }

    /// Set a field; an existing field keeps its position.
    pub fn set(&mut self, name: Atom, value: Value) {
        self.fields.insert(name, value);
    }

    /// Remove a field, keeping the order of the others.
    pub fn remove(&mut self, name: &Atom) {
        self.fields.shift_remove(name);
    }

    pub fn len(&self) -> usize {
        self.fields.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Remove every field, returning the values.
    pub fn take_values(&mut self) -> Vec<Value> {
        self.fields.drain(..).map(|(_, v)| v).collect()
    }

    /// The `i`-th field in insertion order.
    pub fn get_index(&self, i: usize) -> Option<(&Atom, &Value)> {
        self.fields.get_index(i)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Atom, &Value)> {
        self.fields.iter()
    }
}
