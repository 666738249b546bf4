//! Term → value (see the module above: the mapping and its limits).

use super::*;

/// Term → value.
pub(super) struct Into_<'c, C> {
    pub(super) ctx: &'c C,
    pub(super) elements: usize,
}

/// A map's entries, ready to convert: fields of an object (UTF-8 binary
/// keys, sorted) or `[key, value]` pairs (sorted by the keys' canonical
/// encodings).
enum Entries {
    Fields(Vec<(String, Term)>),
    Pairs(Vec<(Term, Term)>),
}

/// As for [`Out`]: the recursion goes through small frames only
/// ([`Into_::value`], [`Into_::list`], [`Into_::map`]).
impl<C: NodeCtx> Into_<'_, C> {
    fn spend(&mut self, n: usize) -> Result<(), TermError> {
        if n > self.elements {
            return Err(too_many("a ttvm value"));
        }
        self.elements -= n;
        Ok(())
    }

    pub(super) fn value(&mut self, t: Term, depth: usize) -> Result<Value, TermError> {
        if depth > LIMITS.depth {
            return Err(too_deep());
        }
        self.spend(1)?;
        match t {
            Term::List(l) => self.list(l.elements, depth),
            Term::Tuple(t) => Ok(marker(TUPLE, self.list(t.elements, depth)?)),
            Term::Map(m) => self.map(m, depth),
            t => self.leaf(t),
        }
    }

    fn list(&mut self, items: Vec<Term>, depth: usize) -> Result<Value, TermError> {
        let mut out = Vec::with_capacity(items.len());
        for (i, t) in items.into_iter().enumerate() {
            out.push(self.value(t, depth + 1).map_err(|e| e.at(Step::Index(i)))?);
        }
        Ok(Value::list(out))
    }

    fn map(&mut self, m: Map, depth: usize) -> Result<Value, TermError> {
        match entries(m)? {
            Entries::Fields(fields) => {
                let mut o = Object::new();
                for (k, v) in fields {
                    let val = self
                        .value(v, depth + 1)
                        .map_err(|e| e.at(Step::Key(k.clone())))?;
                    o.set_with(&k, || Arc::from(k.as_str()), val);
                }
                Ok(Value::Object(Arc::new(o)))
            }
            Entries::Pairs(pairs) => {
                let mut out = Vec::with_capacity(pairs.len());
                for (i, (k, v)) in pairs.into_iter().enumerate() {
                    let kv = self
                        .value(k, depth + 1)
                        .map_err(|e| e.at(Step::Index(0)).at(Step::Index(i)))?;
                    let vv = self
                        .value(v, depth + 1)
                        .map_err(|e| e.at(Step::Index(1)).at(Step::Index(i)))?;
                    out.push(Value::list(vec![kv, vv]));
                }
                Ok(marker(MAP, Value::list(out)))
            }
        }
    }

    #[inline(never)]
    fn leaf(&mut self, t: Term) -> Result<Value, TermError> {
        Ok(match t {
            Term::Atom(a) => match a.name.as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                "undefined" => Value::Null,
                _ => marker(ATOM, Value::str(a.name)),
            },
            Term::FixInteger(i) => Value::Int(i64::from(i.value)),
            Term::BigInteger(b) => match i64::try_from(&b.value) {
                Ok(i) => Value::Int(i),
                Err(_) => marker(BIGINT, Value::str(b.value.to_string())),
            },
            Term::Float(f) => Value::Float(f.value),
            Term::Binary(b) => match String::from_utf8(b.bytes) {
                Ok(s) => Value::Str(Arc::new(Str::new(s))),
                Err(e) => {
                    let bytes = e.into_bytes();
                    self.spend(bytes.len())?;
                    marker(
                        BINARY,
                        Value::list(bytes.into_iter().map(|b| Value::Int(b.into())).collect()),
                    )
                }
            },
            Term::ByteList(l) => {
                self.spend(l.bytes.len())?;
                Value::list(l.bytes.into_iter().map(|b| Value::Int(b.into())).collect())
            }
            Term::Pid(p) => match self.ctx.as_local(&p) {
                Some(local) => Value::Int(local),
                None => self.ctx.remote_pid(&p),
            },
            Term::Reference(r) => self.ctx.reference(&r),
            Term::ImproperList(_) => {
                return Err(TermError::bad(
                    "an improper Erlang list (its tail is not []) has no ttvm form",
                ))
            }
            Term::BitBinary(b) => {
                return Err(TermError::bad(format!(
                    "an Erlang bitstring ({} bits, not whole bytes) has no ttvm form",
                    (b.bytes.len() * 8).saturating_sub(8) + usize::from(b.tail_bits_size)
                )))
            }
            Term::Port(p) => {
                return Err(TermError::bad(format!(
                    "an Erlang port (#Port<{}.{}>) has no ttvm form",
                    p.node.name, p.id
                )))
            }
            Term::ExternalFun(_) | Term::InternalFun(_) => {
                return Err(TermError::bad("an Erlang fun has no ttvm form"))
            }
            Term::List(_) | Term::Tuple(_) | Term::Map(_) => {
                unreachable!("Into_::value takes containers")
            }
        })
    }
}

/// How a map's entries convert (see [`Entries`]).
#[inline(never)]
fn entries(m: Map) -> Result<Entries, TermError> {
    let plain = m.map.keys().all(|k| match k {
        Term::Binary(b) => std::str::from_utf8(&b.bytes).is_ok(),
        _ => false,
    }) && !(m.map.len() == 1
        && m.map.keys().any(|k| match k {
            Term::Binary(b) => MARKERS.iter().any(|m| m.as_bytes() == b.bytes),
            _ => false,
        }));
    if plain {
        let mut fields: Vec<(String, Term)> = m
            .map
            .into_iter()
            .map(|(k, v)| match k {
                Term::Binary(b) => (String::from_utf8(b.bytes).unwrap_or_default(), v),
                _ => (String::new(), v),
            })
            .collect();
        // Erlang's order for binary keys (a map has none of its own).
        fields.sort_by(|a, b| a.0.cmp(&b.0));
        return Ok(Entries::Fields(fields));
    }
    // Other keys: [key, value] pairs, in the order of the keys' canonical
    // encodings (deterministic, even for maps in keys; Erlang's own order
    // is term order). Keys that are one Erlang term written two ways (a
    // charlist as STRING_EXT and as LIST_EXT, 5 as a small big) would be
    // one key going back: such a map (no Erlang node makes one) is
    // refused.
    let mut seen = std::collections::HashSet::with_capacity(m.map.len());
    for k in m.map.keys() {
        if !seen.insert(canonical(k)) {
            return Err(TermError::bad(format!(
                "a map with the key {} twice (written two ways)",
                crate::value::shown_text(&k.to_string(), 64)
            )));
        }
    }
    let mut pairs: Vec<(Vec<u8>, Term, Term)> = m
        .map
        .into_iter()
        .map(|(k, v)| (encode(&canonical(&k)).unwrap_or_default(), k, v))
        .collect();
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(Entries::Pairs(
        pairs.into_iter().map(|(_, k, v)| (k, v)).collect(),
    ))
}

/// `{key: inner}`.
fn marker(key: &str, inner: Value) -> Value {
    let mut o = Object::new();
    o.set_with(key, || Arc::from(key), inner);
    Value::Object(Arc::new(o))
}
