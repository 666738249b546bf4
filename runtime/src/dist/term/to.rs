//! Value → term (see the module above: the mapping and its limits).

use super::*;

/// Value → term.
pub(super) struct Out<'c, C> {
    pub(super) ctx: &'c C,
    pub(super) elements: usize,
    pub(super) bytes: usize,
}

/// The recursion goes through [`Out::term`], [`Out::list`] and
/// [`Out::object`] only, whose frames are small; everything else (the
/// leaves, the markers that hold no values, the errors) is in functions
/// that are not inlined into them, so the deepest value allowed converts
/// on a 2 MiB stack in a debug build.
impl<C: NodeCtx> Out<'_, C> {
    fn spend(&mut self, n: usize) -> Result<(), TermError> {
        if n > self.elements {
            return Err(too_many("an Erlang term"));
        }
        self.elements -= n;
        Ok(())
    }

    /// Bytes of the encoding (a bound: what each part can take at most).
    fn size(&mut self, n: usize) -> Result<(), TermError> {
        if n > self.bytes {
            return Err(too_big());
        }
        self.bytes -= n;
        Ok(())
    }

    /// Every value is one term (one element, as the check counts them
    /// when the bytes arrive; a non-empty list's `[]` tail another, a
    /// map's keys one each), so a value that converts passes the check.
    pub(super) fn term(&mut self, v: &Value, depth: usize) -> Result<Term, TermError> {
        if depth > LIMITS.depth {
            return Err(too_deep());
        }
        self.spend(1)?;
        match v {
            Value::List(items) => {
                if !items.is_empty() {
                    self.spend(1)?; // the tail
                }
                self.size(6)?;
                Ok(Term::from(List::from(bytes_safe(self.list(items, depth)?))))
            }
            Value::Object(o) => self.object(o, depth),
            _ => self.leaf(v),
        }
    }

    /// The elements' terms (of a list, or a `$tuple`).
    fn list(&mut self, items: &[Value], depth: usize) -> Result<Vec<Term>, TermError> {
        let mut elements = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            elements.push(
                self.term(item, depth + 1)
                    .map_err(|e| e.at(Step::Index(i)))?,
            );
        }
        Ok(elements)
    }

    fn object(&mut self, o: &Object, depth: usize) -> Result<Term, TermError> {
        if o.len() == 1 {
            if let Some((k, inner)) = o.iter().next() {
                if MARKERS.contains(&k) {
                    return self
                        .marker(k, inner, depth)
                        .map_err(|e| e.at(Step::Key(k.to_string())));
                }
            }
        }
        self.size(5)?;
        let mut map = std::collections::HashMap::with_capacity(o.len());
        for (k, val) in o.iter() {
            self.spend(1)?;
            self.size(5 + k.len())?;
            let t = self
                .term(val, depth + 1)
                .map_err(|e| e.at(Step::Key(k.to_string())))?;
            map.insert(Term::from(Binary::from(k.as_bytes())), t);
        }
        Ok(Term::from(Map::from(map)))
    }

    /// `{"$tuple": [...]}` and `{"$map": [...]}` hold values; the other
    /// markers are leaves (see the module's docs).
    fn marker(&mut self, key: &str, inner: &Value, depth: usize) -> Result<Term, TermError> {
        match (key, inner) {
            (TUPLE, Value::List(items)) => {
                self.size(5)?;
                Ok(Term::from(Tuple::from(self.list(items, depth)?)))
            }
            (MAP, Value::List(pairs)) => self.pairs(pairs, depth),
            _ => self.marker_leaf(key, inner),
        }
    }

    fn pairs(&mut self, pairs: &[Value], depth: usize) -> Result<Term, TermError> {
        self.size(5)?;
        let mut map = std::collections::HashMap::with_capacity(pairs.len());
        let mut seen = std::collections::HashSet::with_capacity(pairs.len());
        for (i, pair) in pairs.iter().enumerate() {
            let Value::List(kv) = pair else {
                return Err(not_a_pair(i));
            };
            let [k, val] = &kv[..] else {
                return Err(not_a_pair(i));
            };
            let kt = self
                .term(k, depth + 1)
                .map_err(|e| e.at(Step::Index(0)).at(Step::Index(i)))?;
            let vt = self
                .term(val, depth + 1)
                .map_err(|e| e.at(Step::Index(1)).at(Step::Index(i)))?;
            if !seen.insert(canonical(&kt)) || map.insert(kt, vt).is_some() {
                return Err(TermError::bad(
                    "a key appears twice in {\"$map\": …} (a map's keys are distinct)",
                )
                .at(Step::Index(i)));
            }
        }
        Ok(Term::from(Map::from(map)))
    }

    #[inline(never)]
    fn leaf(&mut self, v: &Value) -> Result<Term, TermError> {
        Ok(match v {
            Value::Null => {
                self.size(11)?;
                Term::from(Atom::from("undefined"))
            }
            Value::Bool(b) => {
                self.size(7)?;
                Term::from(Atom::from(if *b { "true" } else { "false" }))
            }
            Value::Int(i) => {
                self.size(11)?;
                int(*i)
            }
            Value::Float(f) => {
                if !f.is_finite() {
                    return Err(TermError::bad(format!(
                        "the Float {} has no Erlang form (Erlang floats are finite)",
                        v
                    )));
                }
                self.size(9)?;
                Term::from(Float { value: *f })
            }
            Value::Str(s) => {
                self.size(5 + s.as_str().len())?;
                Term::from(Binary::from(s.as_str().as_bytes()))
            }
            Value::Function(_) | Value::Closure(_) => {
                return Err(TermError::bad(format!(
                    "a {} has no Erlang term form (code does not travel between nodes)",
                    v.type_name()
                )))
            }
            Value::Exception(_) => {
                return Err(TermError::bad(
                    "an Exception has no Erlang term form (send its message or value: GET_FIELD message)",
                ))
            }
            Value::Handle(h) => {
                if let Some(p) = h.downcast::<RemotePid>() {
                    self.size(16 + p.node.len())?;
                    Term::from(p.to_term())
                } else if let Some(r) = h.downcast::<RemoteRef>() {
                    self.size(10 + r.node.len() + 4 * r.id.len())?;
                    Term::from(r.to_term())
                } else {
                    return Err(TermError::bad(format!(
                        "a {} cannot leave its node",
                        v.type_name()
                    )));
                }
            }
            Value::List(_) | Value::Object(_) => unreachable!("Out::term takes containers"),
        })
    }

    #[inline(never)]
    fn marker_leaf(&mut self, key: &str, inner: &Value) -> Result<Term, TermError> {
        let wrong = |needs: &str| {
            TermError::bad(format!(
                "{{\"{key}\": …}} needs {needs}, got {}",
                inner.type_name()
            ))
        };
        Ok(match key {
            ATOM => {
                let Value::Str(s) = inner else {
                    return Err(wrong("a Str (the atom's name)"));
                };
                self.size(3 + s.as_str().len())?;
                atom(s.as_str())?
            }
            TUPLE => return Err(wrong("a List (the elements)")),
            MAP => return Err(wrong("a List of [key, value] pairs")),
            PID => {
                let Value::Int(n) = inner else {
                    return Err(wrong("an Int (a local PID)"));
                };
                let pid = self.ctx.local_pid(*n)?;
                self.size(16 + pid.node.name.len())?;
                Term::from(pid)
            }
            BIGINT => {
                let Value::Str(s) = inner else {
                    return Err(wrong("a Str (decimal digits)"));
                };
                let digits = s.as_str();
                self.size(7 + digits.len() / 2)?;
                let ok = !digits.is_empty()
                    && digits.len() <= 2 * check::MAX_BIG_BYTES + 1
                    && digits
                        .strip_prefix('-')
                        .unwrap_or(digits)
                        .bytes()
                        .all(|b| b.is_ascii_digit());
                let n = ok
                    .then(|| digits.parse::<num_bigint::BigInt>().ok())
                    .flatten()
                    .ok_or_else(|| {
                        TermError::bad(format!(
                            "{{\"$bigint\": …}} needs decimal digits (at most {} of them), got {}",
                            2 * check::MAX_BIG_BYTES,
                            crate::value::shown_text(digits, 64)
                        ))
                    })?;
                match i64::try_from(&n) {
                    Ok(i) => int(i),
                    Err(_) => Term::from(BigInteger { value: n }),
                }
            }
            BINARY => {
                let Value::List(items) = inner else {
                    return Err(wrong("a List of byte values (Ints 0 to 255)"));
                };
                // A binary that is not UTF-8 is a list of byte values
                // when it arrives: its bytes count as elements.
                self.spend(items.len())?;
                self.size(5 + items.len())?;
                let mut bytes = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Value::Int(b @ 0..=255) => bytes.push(*b as u8),
                        _ => {
                            return Err(TermError::bad(format!(
                                "a byte value is an Int from 0 to 255, got {}",
                                crate::value::shown_text(&item.to_string(), 64)
                            ))
                            .at(Step::Index(i)))
                        }
                    }
                }
                Term::from(Binary::from(bytes))
            }
            _ => unreachable!("MARKERS lists every marker"),
        })
    }
}

/// `eetf` 0.11 writes a list whose elements are all small integers below
/// 256 as a string (`STRING_EXT`, one byte each), negative ones included:
/// `[-1, 5]` would arrive as `[255, 5]` (a fuzz finding). Negative ones
/// become bigs in such a list, which keeps it a `LIST_EXT` (Erlang reads a
/// small big as the same integer).
#[inline(never)]
fn bytes_safe(mut elements: Vec<Term>) -> Vec<Term> {
    let small = |t: &Term| matches!(t, Term::FixInteger(i) if i.value < 0x100);
    if elements.iter().all(small) {
        for t in elements.iter_mut() {
            if let Term::FixInteger(i) = t {
                if i.value < 0 {
                    *t = Term::from(BigInteger::from(i.value));
                }
            }
        }
    }
    elements
}

#[inline(never)]
fn not_a_pair(i: usize) -> TermError {
    TermError::bad("each element of {\"$map\": …} is a [key, value] List").at(Step::Index(i))
}

#[inline(never)]
fn too_big() -> TermError {
    TermError::bad(format!(
        "too large for an Erlang term: over {} bytes encoded",
        LIMITS.bytes
    ))
}

fn int(i: i64) -> Term {
    match i32::try_from(i) {
        Ok(small) => Term::from(FixInteger::from(small)),
        Err(_) => Term::from(BigInteger::from(i)),
    }
}

fn atom(name: &str) -> Result<Term, TermError> {
    let n = name.chars().count();
    if n > MAX_ATOM_CHARS {
        return Err(TermError::bad(format!(
            "an Erlang atom has at most {MAX_ATOM_CHARS} characters, this name has {n}"
        )));
    }
    Ok(Term::from(Atom::from(name)))
}
