//! The dispatch loop's register macros (`run.rs`): the hot state lives in
//! `run`'s locals, and these macros, defined inside `run` by one
//! `registers!` invocation that names those locals, read and write them
//! (macro hygiene: a macro defined out here sees a function's locals only
//! when they are passed to it). See `run`'s documentation for the state.

/// Defines, inside `run`, the macros its handlers use. `$d` is `$` (the
/// inner macros' own metavariables); the rest are `run`'s locals.
macro_rules! registers {
    ($d:tt, $ctx:ident, $code:ident, $vm:ident, $proc:ident, $tier:ident, $ops:ident, $ip:ident,
        $budget:expr, $st:expr, $sp:ident, $end:expr, $lp:ident, $nl:expr) => {
        // The stack's limit in bytes (read where needed: a value kept
        // across the loop would take a register from the hot ones).
        macro_rules! max_bytes {
            () => {
                $vm.config.max_stack.saturating_mul(VALUE_BYTES)
            };
        }
        macro_rules! pc {
            () => {
                ($ip as usize - $ops as usize) / std::mem::size_of::<Op>()
            };
        }
        // Operands on the stack (all frames'), from the registers.
        macro_rules! depth {
            () => {
                ($sp as usize - $st as usize) / VALUE_BYTES
            };
        }
        // Fewer than `n` operands on the stack.
        macro_rules! below {
            ($d n:expr) => {
                ($sp as usize) < ($st as usize) + $d n * VALUE_BYTES
            };
        }
        macro_rules! regs {
            () => {{
                $st = $ctx.stack.as_mut_ptr();
                // SAFETY: within (or one past) the stack's allocation.
                unsafe { $sp = $st.add($ctx.stack.len()) };
                // The stack's room: its allocation's end, or its limit
                // when that comes first (`charge!`).
                $end = ($st as usize)
                    .saturating_add($ctx.stack.capacity() * VALUE_BYTES)
                    .min(($st as usize).saturating_add(max_bytes!()));
                // The current frame's slots are the last ones (`push_frame`):
                // `locals.len() == base + nl` holds in the loop.
                let base = slow::frame_base($ctx);
                $nl = $ctx.locals.len().saturating_sub(base);
                $lp = $ctx.locals.as_mut_ptr().wrapping_add(base);
            }};
        }
        macro_rules! sync {
            () => {{
                // SAFETY: the values below `sp` are initialised (the inline
                // paths keep that), the capacity is `end - st`.
                unsafe { $ctx.stack.set_len(depth!()) }
            }};
        }
        // End the slice when the context already holds the stack (right
        // after an out-of-line call: the registers are stale then).
        macro_rules! end {
            ($d out:expr) => {{
                let out = $d out;
                // (`ctx.budget` is the slice's budget until here: nothing
                // the loop calls writes it, so no register keeps a copy.)
                if !PROFILE {
                    $ctx.reductions += ($ctx.budget - $budget) as u64;
                }
                $ctx.budget = $budget;
                return out;
            }};
        }
        // End the slice from the registers.
        macro_rules! leave {
            ($d out:expr) => {{
                let out = $d out;
                sync!();
                end!(out)
            }};
        }
        // Go on where an out-of-line path (`slow.rs`) says: its decoded
        // address with the registers read again from the context (no
        // register value is live across the call), or end the slice.
        macro_rules! resume {
            ($d go:expr) => {{
                match $d go {
                    Ok(to) => {
                        $ip = $ops.wrapping_add(to);
                        regs!();
                        continue;
                    }
                    Err(out) => end!(out),
                }
            }};
        }
        // The instruction with its complete semantics (`slow::generic`):
        // every op's slow path and error.
        macro_rules! generic {
            () => {{
                sync!();
                let pc = pc!();
                resume!(slow::generic($ctx, $code, $vm, $proc, pc))
            }};
        }
        // Room for one more value: there always is (a block's `charge!`
        // makes room for all its pushes, `run` for the rest of a block it
        // starts inside), so the pushes test nothing.
        macro_rules! room {
            () => {
                debug_assert!(
                    ($sp as usize) < ($st as usize) + $ctx.stack.capacity() * VALUE_BYTES,
                    "a push without room at decoded address {}",
                    pc!()
                )
            };
        }
        // Push a value.
        macro_rules! push {
            ($d v:expr) => {{
                let v: Value = $d v;
                room!();
                // SAFETY: `sp < end`: room for one more.
                unsafe {
                    $sp.write(v);
                    $sp = $sp.add(1);
                }
            }};
        }
        macro_rules! push_int {
            ($d n:expr) => {{
                let n: i64 = $d n;
                room!();
                // SAFETY: `sp < end`: room for one more.
                unsafe {
                    put_int($sp, n);
                    $sp = $sp.add(1);
                }
            }};
        }
        // Push a copy of the value at `$src` (evaluated after the stack has
        // room, so it may point into the stack), one 16-byte move.
        macro_rules! push_copy {
            ($d src:expr) => {{
                room!();
                let src: *const Value = $d src;
                // SAFETY: `sp < end`: room for one more; `src` holds a value.
                unsafe {
                    copy_to($sp, src);
                    $sp = $sp.add(1);
                }
            }};
        }
        // Push the element at `$src` (of a list held only by a variable)
        // moved out, Null left in its place (`Op::IndexLocal`'s take).
        macro_rules! take_to {
            ($d src:expr) => {{
                room!();
                let src: *mut Value = $d src;
                // SAFETY: `sp < end`: room for one more; `src` holds a
                // value, which the stack owns afterwards (one 16-byte
                // move), the place written whole with a Null.
                unsafe {
                    move_to($sp, src);
                    put_null(src);
                    $sp = $sp.add(1);
                }
            }};
        }
        // The variable slot `slot` of the current frame, or the generic path
        // (which reports an out-of-frame slot or an unset variable).
        macro_rules! slot {
            ($d slot:expr) => {{
                let slot = $d slot as usize;
                if slot >= $nl {
                    generic!()
                }
                // SAFETY: `slot < nl`: a slot of the current frame.
                unsafe { &mut *$lp.add(slot) }
            }};
        }
        // LOAD from slot `s` (a fused op whose fast path does not apply runs
        // its first instruction, a LOAD, this way and goes on unfused).
        macro_rules! load {
            ($d s:expr) => {{
                match slot!($d s) {
                    Some(v) => {
                        let v: *const Value = v;
                        push_copy!(v);
                        $ip = $ip.wrapping_add(1);
                        continue;
                    }
                    None => generic!(),
                }
            }};
        }
        // A unary operation on the top of the stack with its complete
        // definition; an error goes through the generic path (which raises it
        // with the operand left on the stack).
        macro_rules! unary {
            ($d f:expr) => {{
                if $sp == $st {
                    generic!()
                }
                // SAFETY: one operand below `sp`.
                let top = unsafe { &mut *$sp.sub(1) };
                match $d f(&*top) {
                    Ok(r) => {
                        let top: *mut Value = top;
                        // SAFETY: the old operand is read out, then replaced.
                        unsafe {
                            let old = take_old(top);
                            put(top, r);
                            drop_old(old);
                        }
                        $ip = $ip.wrapping_add(1);
                    }
                    Err(_) => generic!(),
                }
            }};
        }
        // A binary operation on the two top operands, as `unary!`.
        macro_rules! binary {
            ($d f:expr) => {{
                if below!(2) {
                    generic!()
                }
                // SAFETY: two operands below `sp`.
                let (a, b) = unsafe { (&*$sp.sub(2), &*$sp.sub(1)) };
                match $d f(a, b) {
                    Ok(r) => {
                        // SAFETY: as above; `b` is moved out and dropped once.
                        unsafe {
                            $sp = $sp.sub(1);
                            drop_at($sp);
                            let a = take_old($sp.sub(1));
                            put($sp.sub(1), r);
                            drop_old(a);
                        }
                        $ip = $ip.wrapping_add(1);
                    }
                    Err(_) => generic!(),
                }
            }};
        }
        // Enter a function inline (`calls::call`'s common case): a frame of
        // `size` empty slots, the top `n = params.len()` operands moved into
        // the parameters' slots. `false`, with nothing changed, when the case
        // is not the common one (operands missing, a limit reached, the slot
        // vector must grow, a tail call out of a frame with a handler or
        // pending captures): the out-of-line call does it or raises.
        // A tail call replaces the current frame in place.
        macro_rules! enter {
            ($d params:expr, $d size:expr, $d tail:expr, $d site:expr, $d target:expr, $d ret:expr, $d exact:expr) => {{
                let params: &[u32] = $d params;
                let exact: bool = $d exact;
                let n = params.len();
                let size = $d size as usize;
                let depth = $ctx.frames.len();
                let top = depth!() as u32;
                // The parameters' slots are the callee's (`Program::make_protos`
                // and the decoder take both from its layout).
                debug_assert!(params.iter().all(|&s| (s as usize) < size));
                if below!(n) {
                    false
                } else if $d tail {
                    // SAFETY: `depth >= 1` (a process always has a frame).
                    let f = unsafe { $ctx.frames.last_mut().unwrap_unchecked() };
                    let base = f.base as usize;
                    if depth > 1
                        && f.kind == FrameKind::Call
                        && $ctx
                            .handlers
                            .last()
                            .is_none_or(|h| (h.depth as usize) < depth)
                        && $ctx.captures.last().is_none_or(|c| (c.0 as usize) < depth)
                        && base + size <= $ctx.locals.capacity()
                        && base + size <= $vm.config.max_frame_slots
                    {
                        f.entry = $d target;
                        f.size = size as u32;
                        f.stack_base = top;
                        // SAFETY: the frame's `nl` slots are initialised and
                        // the last ones of the vector; the length is cut
                        // first, so each old value is dropped once. The new
                        // slots are within the capacity (checked).
                        unsafe {
                            $ctx.locals.set_len(base);
                            for j in 0..$nl {
                                drop_at($lp.add(j).cast());
                            }
                            if exact {
                                bind_exact($lp, params, &mut $sp);
                            } else {
                                bind($lp, size, params, &mut $sp);
                            }
                            $ctx.locals.set_len(base + size);
                        }
                        $nl = size;
                        true
                    } else {
                        false
                    }
                } else {
                    // (The current frame's slots are the vector's last.)
                    let nb = $ctx.locals.len();
                    // (The frame vector's room tested here, not by `push`:
                    // no call to grow it in the loop; `calls::call` grows.)
                    if depth < $vm.config.max_call_depth
                        && depth < $ctx.frames.capacity()
                        && nb + size <= $ctx.locals.capacity()
                        && nb + size <= $vm.config.max_frame_slots
                    {
                        // SAFETY: `depth < capacity`: the write is within the
                        // allocation, then counted.
                        unsafe {
                            $ctx.frames.as_mut_ptr().add(depth).write(Frame {
                                ret: $d ret,
                                call_site: $d site,
                                entry: $d target,
                                base: nb as u32,
                                size: size as u32,
                                stack_base: top,
                                kind: FrameKind::Call,
                            });
                            $ctx.frames.set_len(depth + 1);
                        }
                        // SAFETY: the new slots are within the capacity
                        // (checked), right after the current frame's.
                        unsafe {
                            $lp = $lp.add($nl);
                            if exact {
                                bind_exact($lp, params, &mut $sp);
                            } else {
                                bind($lp, size, params, &mut $sp);
                            }
                            $ctx.locals.set_len(nb + size);
                        }
                        $nl = size;
                        true
                    } else {
                        false
                    }
                }
            }};
        }
        // A closure's captured values into the new frame's slots
        // (`exec::bind_captures`: a parameter of the same name wins).
        macro_rules! bind_captures {
            ($d c:expr, $d p:expr) => {{
                let (c, p) = ($d c, $d p);
                for ((_, v), &s) in c.captured.iter().zip(c.capture_slots.iter()) {
                    // (`any`, not `contains`: the slice's `contains` is
                    // a call of its own; a closure has few parameters.)
                    if (s as usize) < $nl && !p.param_slots.iter().any(|&q| q == s) {
                        // SAFETY: `s < nl`: a callee slot, read out, then
                        // written.
                        unsafe {
                            let cell = $lp.add(s as usize);
                            let old = take_old(cell.cast());
                            copy_to(cell.cast(), v);
                            drop_old(old);
                        }
                    }
                }
            }};
        }
        // Before a list operation whose result the next op stores into slot
        // `x` (`u32::MAX`: none): when `x` holds the very list `l`, drop that
        // reference (the STORE overwrites it anyway), so the operation finds
        // the list unshared and changes it in place (`release_for_store`).
        macro_rules! release {
            ($d x:expr, $d l:expr) => {{
                let x = $d x as usize;
                if x < $nl {
                    // SAFETY: `x < nl`: a slot of the current frame.
                    let cell = unsafe { &mut *$lp.add(x) };
                    if matches!(cell, Some(Value::List(c)) if ttvm_runtime::value::List::ptr_eq(c, $d l)) {
                        let cell: *mut Option<Value> = cell;
                        // SAFETY: the slot's list dropped in place, the slot
                        // emptied whole (the STORE reads it in one piece).
                        unsafe {
                            drop_at(cell.cast());
                            put_none(cell);
                        }
                    }
                }
            }};
        }
        // `Op::IndexLocal`: element `index` of the List in `slot`, moved
        // out when `take` and the variable's reference is the only one.
        macro_rules! index_local {
            ($d slot:expr, $d index:expr, $d take:expr) => {{
                let (slot, index, take) = ($d slot, $d index, $d take);
                let k = match slot!(index) {
                    Some(Value::Int(k)) => *k as u64,
                    _ => load!(slot),
                };
                let v: *const Value = match slot!(slot) {
                    Some(Value::List(l)) if k < l.len() as u64 => {
                        if take {
                            if let Some(items) = l.get_mut() {
                                take_to!(&mut items[k as usize]);
                                $ip = $ip.wrapping_add(3);
                                continue;
                            }
                        }
                        &l[k as usize]
                    }
                    _ => load!(slot),
                };
                push_copy!(v);
                $ip = $ip.wrapping_add(3);
            }};
        }
        // Second reads from the stack (`picks.rs`): the value is `d`
        // below the top (the block put it there; else the generic path
        // runs the LOAD). `pick!` copies it; the fused ops read it in
        // place, or pick it and go on unfused.
        macro_rules! pick {
            ($d d:expr) => {{
                let d = $d d as usize;
                if below!(d + 1) {
                    generic!()
                }
                push_copy!($sp.wrapping_sub(d + 1));
                $ip = $ip.wrapping_add(1);
            }};
        }
        macro_rules! get_field_pick {
            ($d d:expr, $d k:expr) => {{
                let (d, k) = ($d d as usize, $d k as usize);
                if below!(d + 1) {
                    generic!()
                }
                // SAFETY: `d + 1` operands below `sp`.
                if let Value::Object(o) = unsafe { &*$sp.sub(d + 1) } {
                    let (name, site) = (&$code.atoms[k], &$code.sites[k]);
                    match site.read::<KINDS>(o, name).map(|f| f as *const Value) {
                        Some(f) => push_copy!(f),
                        None => push!(Value::Null),
                    }
                    $ip = $ip.wrapping_add(2);
                    continue;
                }
                pick!(d)
            }};
        }
        macro_rules! index_pick {
            ($d d:expr, $d index:expr) => {{
                let (d, index) = ($d d as usize, $d index);
                if below!(d + 1) {
                    generic!()
                }
                // SAFETY: `d + 1` operands below `sp`.
                let v = unsafe { &*$sp.sub(d + 1) };
                if let (Value::List(l), Some(Value::Int(k))) = (v, slot!(index)) {
                    if let Some(e) = l.get(*k as usize).filter(|_| *k >= 0) {
                        let e: *const Value = e;
                        push_copy!(e);
                        $ip = $ip.wrapping_add(3);
                        continue;
                    }
                }
                pick!(d)
            }};
        }
        // A jump to decoded address `$to` with its block's `Charge` of
        // `$cost` folded in (`Op::Jmp`; 0: none, `$to` is the op itself):
        // charged here when the budget and the stack's room allow (as
        // `charge!` does, without dispatching it), else the jump goes to
        // the `Charge`, which preempts or grows the stack. Not under
        // `--profile`, which counts each `Charge` it runs. (A cost of 0
        // needs no test of its own: both ways lead to `$to`, the budget
        // less 0.)
        macro_rules! goto {
            ($d to:expr, $d cost:expr) => {{
                let (to, cost): (u32, u32) = ($d to, $d cost);
                if !PROFILE
                    && $budget > 0
                    && ($sp as usize) + 2 * VALUE_BYTES * cost as usize <= $end
                {
                    $budget -= cost as i64;
                    $ip = $ops.wrapping_add(to as usize);
                } else {
                    $ip = $ops.wrapping_add(to as usize - (cost != 0) as usize);
                }
            }};
        }
        // A jump to decoded address `$to` known only at run time (a return
        // address, a function value's entry): a `Charge` there is run as
        // `goto!` folds one.
        macro_rules! goto_block {
            ($d to:expr) => {{
                let t = $ops.wrapping_add($d to as usize);
                $ip = t;
                if !PROFILE {
                    // SAFETY: a decoded address of `code` (as `ip`'s).
                    if let Op::Charge(cost) = unsafe { &*t } {
                        let cost = *cost;
                        if $budget > 0 && ($sp as usize) + 2 * VALUE_BYTES * cost as usize <= $end {
                            $budget -= cost as i64;
                            $ip = t.wrapping_add(1);
                        }
                    }
                }
            }};
        }
        // The reduction accounting at a block start (SPEC §4.6).
        macro_rules! charge {
            ($d cost:expr) => {{
                let cost = $d cost;
                if $budget <= 0 {
                    $ctx.pc = Dpc(pc!() as u32);
                    leave!(Control::Preempted);
                }
                $budget -= cost as i64;
                if PROFILE {
                    $ctx.reductions += cost as u64;
                }
                // No instruction grows the stack by more than two (the JIT
                // counts the same, `jit/direct.rs`): room for the whole
                // block is made here, one test, so its pushes test nothing.
                let need = $sp as usize + 2 * VALUE_BYTES * cost as usize;
                if need > $end {
                    // Over the limit, or the allocation grows (out of line).
                    sync!();
                    let pc = pc!();
                    resume!(slow::room($ctx, $vm, 2 * cost as usize, pc));
                }
                $ip = $ip.wrapping_add(1);
            }};
        }
        // A binary operator (the operator is part of the op: one dispatch).
        macro_rules! arith {
            ($d op:expr) => {{
                let op: Arith = $d op;
                if below!(2) {
                    generic!()
                }
                // SAFETY: two operands below `sp`; the result replaces
                // two numbers (nothing to drop).
                unsafe {
                    match (&*$sp.sub(2), &*$sp.sub(1)) {
                        (Value::Int(a), Value::Int(b)) => {
                            if let Some(r) = op.ints(*a, *b) {
                                $sp = $sp.sub(1);
                                put_int($sp.sub(1), r);
                                $ip = $ip.wrapping_add(1);
                                continue;
                            }
                        }
                        (Value::Float(a), Value::Float(b)) => {
                            if let Some(r) = op.floats(*a, *b) {
                                $sp = $sp.sub(1);
                                put_float($sp.sub(1), r);
                                $ip = $ip.wrapping_add(1);
                                continue;
                            }
                        }
                        _ => {}
                    }
                }
                binary!(|a, b| ops::arith(op, a, b))
            }};
        }
        // A comparison, as `arith!`.
        macro_rules! compare {
            ($d cmp:expr) => {{
                let cmp: Cmp = $d cmp;
                if below!(2) {
                    generic!()
                }
                // SAFETY: two operands below `sp`.
                let r = match unsafe { (&*$sp.sub(2), &*$sp.sub(1)) } {
                    (Value::Int(a), Value::Int(b)) => Some(cmp.ints(*a, *b)),
                    (a, b) => ops::compare(cmp, a, b).ok(),
                };
                let Some(r) = r else { generic!() };
                // SAFETY: as above; both operands are moved out once.
                unsafe {
                    $sp = $sp.sub(2);
                    drop_at($sp);
                    drop_at($sp.add(1));
                    put_int($sp, r as i64);
                    $sp = $sp.add(1);
                }
                $ip = $ip.wrapping_add(1);
            }};
        }
    };
}
