//! Unit tests of direct-entry planning.

use super::*;

/// Operands an instruction pops and results it pushes, for the ones a
/// direct function may contain besides jumps, CALL and RET (others:
/// `None`): those the JIT lowers inline that stay in their block and
/// neither take nor make heap values (no string constant: PUSH_STR is a
/// helper op).
fn effect(i: &Instr) -> Option<(usize, usize)> {
    if !in_block(i) {
        return None;
    }
    i.stack_effect()
        .map(|(pops, pushes)| (pops as usize, pushes as usize))
}

/// The planner as it was before it used the depth analysis: it walked
/// the heights itself, with `effect` below.
fn walked_plan(p: &Program, target: u32, params: &[u32]) -> Result<DirectPlan, String> {
    let t = target as usize;
    if t >= p.code.len() || !p.block_start[t] {
        return Err("its entry is not a block start".into());
    }
    let layout = p.layout_of[t];
    let size = p.layouts[layout as usize].names.len() as u32;
    if !distinct(params) || params.iter().any(|&s| s >= size) {
        return Err("its parameters are not distinct variables".into());
    }
    let mut depth: HashMap<u32, usize> = HashMap::from([(target, 0)]);
    let mut work = vec![target];
    let mut need = 0;
    let mut calls = false;
    let mut count = 0;
    let mut preds: HashMap<u32, Vec<u32>> = HashMap::new();
    let mut enter = |depth: &mut HashMap<u32, usize>,
                     work: &mut Vec<u32>,
                     from: u32,
                     to: u32,
                     d: usize|
     -> Result<(), String> {
        preds.entry(to).or_default().push(from);
        let i = to as usize;
        if i >= p.code.len() || p.layout_of[i] != layout || !p.block_start[i] {
            return Err(format!("it leaves its code at {}", p.location(to)));
        }
        match depth.get(&to) {
            Some(&have) if have != d => Err(format!(
                "the operand stack height differs on paths into {}",
                p.location(to)
            )),
            Some(_) => Ok(()),
            None => {
                depth.insert(to, d);
                work.push(to);
                Ok(())
            }
        }
    };
    while let Some(start) = work.pop() {
        let mut d = depth[&start];
        need = need.max(d + 2 * p.block_cost[start as usize] as usize);
        let mut at = start;
        loop {
            let i = at as usize;
            if i >= p.code.len() || p.layout_of[i] != layout {
                return Err(format!("it leaves its code at {}", p.location(at)));
            }
            count += 1;
            if count > MAX_INSTRUCTIONS {
                return Err(format!("more than {MAX_INSTRUCTIONS} instructions"));
            }
            let instr = &p.code[i];
            let pops = |n: usize, d: usize| -> Result<usize, String> {
                d.checked_sub(n).ok_or_else(|| {
                    format!(
                        "{} at {} takes operands its caller pushed",
                        instr.opcode().mnemonic(),
                        p.location(at)
                    )
                })
            };
            match instr {
                Instr::Jmp(to) => {
                    enter(&mut depth, &mut work, start, to.0, d)?;
                    break;
                }
                Instr::Jz(to) | Instr::Jnz(to) => {
                    d = pops(1, d)?;
                    enter(&mut depth, &mut work, start, at + 1, d)?;
                    enter(&mut depth, &mut work, start, to.0, d)?;
                    break;
                }
                Instr::Ret(_) => {
                    if d != 1 {
                        return Err(format!(
                            "RET at {} returns {d} values, not one",
                            p.location(at)
                        ));
                    }
                    break;
                }
                Instr::Call(c) => {
                    let n = c.param_slots.len();
                    d = pops(n, d)?;
                    if !distinct(&c.param_slots) {
                        return Err(format!(
                            "the CALL at {} binds a variable twice",
                            p.location(at)
                        ));
                    }
                    if p.tail_call(at) {
                        if d != 0 {
                            return Err(format!(
                                "the tail call at {} leaves values below its arguments",
                                p.location(at)
                            ));
                        }
                    } else {
                        calls = true;
                        enter(&mut depth, &mut work, start, at + 1, d + 1)?;
                    }
                    break;
                }
                other => match effect(other) {
                    Some((pop, push)) => d = pops(pop, d)? + push,
                    None => {
                        return Err(format!(
                            "{} at {}",
                            other.opcode().mnemonic(),
                            p.location(at)
                        ))
                    }
                },
            }
            at += 1;
            if (at as usize) < p.code.len() && p.block_start[at as usize] {
                enter(&mut depth, &mut work, start, at, d)?;
                break;
            }
        }
    }
    if size > MAX_SLOTS {
        return Err(format!("{size} variables (more than {MAX_SLOTS})"));
    }
    if depth.values().any(|&d| d > MAX_HEIGHT) || need > 3 * MAX_HEIGHT {
        return Err(format!("more than {MAX_HEIGHT} operands at a block start"));
    }
    let mut blocks: Vec<u32> = depth.keys().copied().collect();
    blocks.sort_unstable();
    Ok(DirectPlan {
        target,
        params: params.to_vec(),
        size,
        blocks,
        depth,
        need,
        calls,
        preds,
        arity: HashMap::new(),
        stack_args: params.len(),
        recursive: false,
        rets: 1,
    })
}

/// Whether a block of `plan` calls a function returning other than one
/// value.
fn calls_several(p: &Program, plan: &DirectPlan) -> bool {
    plan.blocks.iter().any(|&b| {
        let mut at = b as usize;
        loop {
            if let Instr::Call(c) = &p.code[at] {
                if p.returns.get(&c.target).is_some_and(|&n| n != 1) {
                    return true;
                }
            }
            at += 1;
            if at >= p.code.len() || p.block_start[at] {
                return false;
            }
        }
    })
}

/// The plans (and the functions refused) are the same as when the
/// planner walked the heights itself, for every CALL of every program
/// of the golden tests, the benchmarks and the examples.
#[test]
fn plans_match_the_former_height_walk() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    let mut dirs = vec![
        root.join("tests/programs"),
        root.join("benches"),
        root.join("examples"),
    ];
    while let Some(d) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|x| x == "ttvm") {
                files.push(path);
            }
        }
    }
    files.sort();
    let (mut ok, mut refused) = (0, 0);
    for f in &files {
        let Ok(p) = crate::asm::load_file(f) else {
            continue;
        };
        for (at, instr) in p.code.iter().enumerate() {
            let Instr::Call(c) = instr else { continue };
            let new = plan(&p, c.target, &c.param_slots);
            let old = walked_plan(&p, c.target, &c.param_slots);
            let place = format!("{} (CALL at {at})", f.display());
            match (new, old) {
                // Functions returning several values, and their callers,
                // are planned now; the walk took every RET and every
                // callee to be of one value.
                (Ok(n), _) if n.rets != 1 || calls_several(&p, &n) => ok += 1,
                (Ok(n), Ok(o)) => {
                    assert_eq!(n.target, o.target, "{place}");
                    assert_eq!(n.params, o.params, "{place}");
                    assert_eq!(n.size, o.size, "{place}");
                    assert_eq!(n.blocks, o.blocks, "{place}");
                    assert_eq!(n.depth, o.depth, "{place}");
                    assert_eq!(n.need, o.need, "{place}");
                    assert_eq!(n.calls, o.calls, "{place}");
                    assert_eq!(n.preds, o.preds, "{place}");
                    ok += 1;
                }
                (Err(n), Err(o)) => {
                    // A function with several problems may be refused
                    // for another of them: the analysis joins every
                    // path into a block, where the walk stopped at the
                    // first problem it met (a RET of the wrong count,
                    // an instruction it does not take); a CALL of a
                    // function returning two values is refused as such
                    // now (its heights after it are right); and a
                    // function the walk refused for returning other than
                    // one value is planned past its RETs now, so it is
                    // refused for what comes after them (a MONITOR, say).
                    assert!(
                        n == o
                            || n.starts_with("the operand stack height differs")
                            || n.contains("is of a function returning")
                            || o.ends_with("values, not one"),
                        "{place}: now {n}, before {o}"
                    );
                    refused += 1;
                }
                // CALL_FUNCTION is planned now (its arity inferred);
                // the walk refused it.
                (Ok(n), Err(_)) if !n.arity.is_empty() => ok += 1,
                (n, o) => panic!("{place}: now {n:?}, before {o:?}"),
            }
        }
    }
    eprintln!("{ok} planned, {refused} refused");
    assert!(ok > 20 && refused > 20, "{ok} planned, {refused} refused");
}

/// The plan of the function CALLed first in `src`.
fn plan_of(src: &str) -> Result<DirectPlan, String> {
    let p = crate::asm::load_source("t.ttvm", src).expect("assembles");
    let c = p
        .code
        .iter()
        .find_map(|i| match i {
            Instr::Call(c) => Some(c.clone()),
            _ => None,
        })
        .expect("a CALL");
    plan(&p, c.target, &c.param_slots)
}

const DIVMOD: &str = "
LABEL divmod
LOAD a
LOAD b
DIV
LOAD a
LOAD b
MOD
RET
";

/// Functions returning several values are planned with that count, and
/// so are their callers (issue 15, i15-multiret); more than
/// `MAX_RETURNS` are refused, and so is a tail call of a function
/// returning another count than its caller.
#[test]
fn several_values_returned() {
    let two = plan_of(&format!(
        "PUSH_INT 7\nPUSH_INT 2\nCALL divmod a b\nHALT\n{DIVMOD}"
    ))
    .expect("planned");
    assert_eq!(two.rets, 2);
    assert!(!two.recursive);
    let caller = plan_of(&format!(
        "PUSH_INT 7\nCALL f n\nHALT\nLABEL f\nLOAD n\nPUSH_INT 3\nCALL divmod a b\nADD\nRET\n{DIVMOD}"
    ))
    .expect("planned");
    assert_eq!(caller.rets, 1);
    assert_eq!(caller.depth.values().copied().max(), Some(2));
    let none = plan_of("PUSH_INT 7\nCALL f n\nHALT\nLABEL f\nLOAD n\nPOP\nRET\n").expect("planned");
    assert_eq!(none.rets, 0);
    let four =
        plan_of("PUSH_INT 7\nCALL f n\nHALT\nLABEL f\nLOAD n\nLOAD n\nLOAD n\nLOAD n\nRET\n");
    assert!(
        four.as_ref().is_err_and(|e| e.contains("returns 4 values")),
        "{four:?}"
    );
    let tail = plan_of(
        "PUSH_INT 7\nCALL f n\nHALT\nLABEL f\nLOAD n\nPUSH_INT 0\nEQ\nJZ t\nPUSH_INT 1\nRET\nLABEL t\nLOAD n\nCALL g m\nRET\nLABEL g\nLOAD m\nLOAD m\nRET\n",
    );
    assert!(
        tail.as_ref().is_err_and(|e| e.contains("tail call")),
        "{tail:?}"
    );
}

/// A recursion without loops counts its interpreted calls toward its
/// direct entry; one with a loop, or one that does not call itself,
/// counts only calls through memory frames.
#[test]
fn recursion_counts_interpreted_calls() {
    let fib = plan_of(
        "PUSH_INT 20\nCALL fib n\nHALT\nLABEL fib\nLOAD n\nPUSH_INT 2\nLT\nJZ r\nLOAD n\nRET\nLABEL r\nLOAD n\nPUSH_INT 1\nSUB\nCALL fib n\nLOAD n\nPUSH_INT 2\nSUB\nCALL fib n\nADD\nRET\n",
    )
    .expect("planned");
    assert!(fib.recursive && !fib.has_loops());
    assert_eq!(fib.counted_calls(5, 1000), 1005);
    let looping = plan_of(
        "PUSH_INT 20\nCALL f n\nHALT\nLABEL f\nPUSH_INT 0\nSTORE i\nLABEL l\nLOAD i\nLOAD n\nGE\nJNZ d\nLOAD i\nPUSH_INT 1\nADD\nSTORE i\nJMP l\nLABEL d\nLOAD n\nPUSH_INT 0\nEQ\nJNZ z\nLOAD n\nPUSH_INT 1\nSUB\nCALL f n\nPUSH_INT 1\nADD\nRET\nLABEL z\nPUSH_INT 0\nRET\n",
    )
    .expect("planned");
    assert!(looping.has_loops());
    assert_eq!(looping.counted_calls(5, 1000), 5);
    let plain = plan_of(&format!(
        "PUSH_INT 7\nPUSH_INT 2\nCALL divmod a b\nHALT\n{DIVMOD}"
    ))
    .expect("planned");
    assert_eq!(plain.counted_calls(5, 1000), 5);
}
