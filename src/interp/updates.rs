//! More of the dispatch loop's macros (`run.rs`, defined inside `run` by
//! one `updates!` invocation, as `registers!`): the in-place updates
//! `SET_INDEX` and `SET_FIELD` (moved here from `run.rs` unchanged: the
//! expansion is the same code).

/// Defines, inside `run`, the macros below; the arguments as for
/// `registers!`.
macro_rules! updates {
    ($d:tt, $code:ident, $ip:ident, $sp:ident, $lp:ident, $nl:expr) => {
        // `SET_INDEX`, with the slot of the `STORE` after it (`x`): on a
        // List and an Int in range the element is replaced, in place when
        // unshared (after `release!`); anything else through the generic
        // path.
        macro_rules! set_index {
            ($d x:expr) => {{
                let x = $d x;
                if below!(3) {
                    generic!()
                }
                // SAFETY: three operands below `sp`.
                match unsafe { (&mut *$sp.sub(3), &*$sp.sub(2)) } {
                    (Value::List(l), &Value::Int(k)) if k >= 0 && (k as u64) < l.len() as u64 => {
                        release!(x, l);
                        // (The uniqueness test inline: `make_mut` is a
                        // call, made only for a shared list.)
                        let items: *mut Value = match l.get_mut() {
                            Some(items) => items.as_mut_ptr(),
                            None => l.make_mut().as_mut_ptr(),
                        };
                        // SAFETY: `k` is in range of the (now unshared)
                        // list's elements; the value moves into the
                        // element once (one 16-byte move), the old one is
                        // read out and dropped once; the index is an Int
                        // (nothing to drop).
                        unsafe {
                            $sp = $sp.sub(2);
                            let e: *mut Value = items.add(k as usize);
                            let old = take_old(e);
                            move_to(e, $sp.add(1));
                            drop_old(old);
                        }
                        $ip = $ip.wrapping_add(1);
                    }
                    _ => generic!(),
                }
            }};
        }
        // `Op::SetIndexLocal`: `l[i] = v` on the List in slot `slot`, in
        // the variable (`make_mut` copies a shared list first, as
        // SET_INDEX does); anything else runs the first LOAD and goes on
        // unfused.
        macro_rules! set_index_local {
            ($d slot:expr, $d index:expr, $d src:expr, $d take:expr) => {{
                let (slot, index, src, take) = ($d slot, $d index, $d src, $d take);
                let k = match slot!(index) {
                    Some(Value::Int(k)) => *k as u64,
                    _ => load!(slot),
                };
                let v: *mut Value = match src {
                    Src::Const(c) => (&$code.consts[c as usize] as *const Value).cast_mut(),
                    Src::Local(s) => match slot!(s) {
                        Some(v) => v,
                        None => load!(slot),
                    },
                };
                match slot!(slot) {
                    Some(Value::List(l)) if k < l.len() as u64 => {
                        // (The uniqueness test inline, as `set_index!`.)
                        let items: *mut Value = match l.get_mut() {
                            Some(items) => items.as_mut_ptr(),
                            None => l.make_mut().as_mut_ptr(),
                        };
                        // SAFETY: `k` is in range of the (now unshared)
                        // list's elements; `v` is another variable's slot
                        // (`src != slot`, the decoder) or a constant,
                        // never the element. The old element is read
                        // out, the value copied in (or, `take`, moved: a
                        // heap value leaves its variable; a constant is
                        // never taken), the old one dropped once.
                        unsafe {
                            let e: *mut Value = items.add(k as usize);
                            let old = take_old(e);
                            if take {
                                let heap = !owns_nothing(&*v);
                                move_to(e, v);
                                if heap {
                                    put_none(v.cast());
                                }
                            } else {
                                copy_to(e, v);
                            }
                            drop_old(old);
                        }
                        $ip = $ip.wrapping_add(5);
                    }
                    _ => load!(slot),
                }
            }};
        }
        // `SET_FIELD name` (`k`, as `Op::SetField`), with the slot of the
        // `STORE` after it: `obj v -- obj'` on an object with room;
        // anything else (and every error) through the generic path.
        macro_rules! set_field {
            ($d k:expr, $d store:expr) => {{
                let (k, store) = ($d k as usize, $d store);
                if below!(2) {
                    generic!()
                }
                let (name, site) = (&$code.atoms[k], &$code.sites[k]);
                // SAFETY: two operands below `sp`.
                let Value::Object(o) = (unsafe { &mut *$sp.sub(2) }) else {
                    generic!()
                };
                if !ops::has_room(o, name) {
                    generic!()
                }
                // The STORE after it overwrites `store`: when that holds
                // this very object, let go of it first (in place).
                if (store as usize) < $nl {
                    // SAFETY: `store < nl`: a slot of the current frame.
                    let cell = unsafe { &mut *$lp.add(store as usize) };
                    if matches!(cell, Some(Value::Object(x)) if std::sync::Arc::ptr_eq(x, o)) {
                        let cell: *mut Option<Value> = cell;
                        // SAFETY: as in `release!`.
                        unsafe {
                            drop_at(cell.cast());
                            put_none(cell);
                        }
                    }
                }
                // Held once (a plain load of the count, no locked
                // compare-and-swap) with the field where the site's cache
                // says: the value moved over the old one (one 16-byte
                // store; the old value read out first, dropped after).
                if let Some(place) = Object::unique_mut(o).and_then(|ob| site.cached_mut(ob, name))
                {
                    let place: *mut Value = place;
                    // SAFETY: the value below `sp`, moved into the field
                    // once; the field's old value is read out and dropped
                    // once.
                    unsafe {
                        $sp = $sp.sub(1);
                        let old = take_old(place);
                        move_to(place, $sp);
                        drop_old(old);
                    }
                    $ip = $ip.wrapping_add(1);
                    continue;
                }
                // SAFETY: the value below `sp`, moved out once; `o` is the
                // operand under it.
                let v = unsafe {
                    $sp = $sp.sub(1);
                    $sp.read()
                };
                ops::set_field_at(o, name, site, v);
                $ip = $ip.wrapping_add(1);
            }};
        }
    };
}
