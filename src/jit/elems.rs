//! Kinds of list elements, read from the frame of the process that finds a
//! unit hot (issue 15, item 4; docs/JIT.md, "Kinds of list elements").
//!
//! A list `INDEX` gives a value of unknown kind, so the code after it tests
//! kinds: the arithmetic on a matrix's Floats, the field reads of a body
//! read out of a list, the INDEX of a row read out of a matrix. The
//! interpreter does not record what its INDEXes give (that cost the loop
//! without a JIT 7–11 %: docs/PERFORMANCE.md, "i15-nbody"); instead, when a
//! unit gets hot, the JIT looks at the values its INDEXes will read:
//!
//! - **Paths** ([`sites_of`]): each block of the unit is run on symbols —
//!   a `LOAD x` pushes the path `x`, `PUSH_INT k` the constant, an `INDEX`
//!   of a path `p` at `k` pushes `p[k]` (at anything else `p[*]`), a
//!   `GET_FIELD name` of `p` pushes `p.name`, DUP/SWAP/OVER move them,
//!   every other instruction pushes nothing known — so that each INDEX
//!   site knows the path of the list it reads, and each `STORE x` the path
//!   of what it stores in `x`.
//! - **The frame** ([`Jit::take_frame`]): the unit is hot in the
//!   interpreter, which leaves to the engine at the header block
//!   (`Jit::tier_up` answers "compiled code takes over" once); the engine
//!   gives this module the process's context, whose current frame is the
//!   unit's, before it asks for the unit to be compiled. Each site's path
//!   is followed from the frame's variables and from what the unit's
//!   STOREs put in them (the values a variable will hold: every row of
//!   `m` for `row = m[i]`, a value for a variable not set yet or moved out
//!   by its last LOAD), up to [`MAX_VALUES`] values per step, and the tags
//!   of the elements the INDEX would give go into the site's cell
//!   ([`FieldCell::kinds`], as a field read's helper records them).
//! - **The guard**: a site whose elements were all of one kind is compiled
//!   as a guarded load of that kind (`Jit::field_guards`,
//!   `Lower::index_with`); an element of another kind leaves at the INDEX,
//!   counted, and at the 16th the unit is compiled again without the guard
//!   (as a field read's, `kinds`). So a guess from one moment of the run
//!   costs at most one compilation more when the data change later.
//!
//! Nothing runs in the interpreter's loop: the frame is read once per unit,
//! when it gets hot. Sites of units compiled before they run (threshold 0)
//! or by the compiler thread from a frame that was not the unit's get no
//! kinds and stay as before.

use super::*;
use crate::exec::Context;
use ttvm_runtime::Value;

/// [`Unit::frame`]: the unit has no INDEX whose list has a path (or
/// element kinds are off, [`ELEM_KINDS_VAR`]): compiled when hot, as
/// always.
pub(super) const FRAME_NONE: u8 = 0;
/// It has one, and is not hot yet.
pub(super) const FRAME_COLD: u8 = 1;
/// It is hot: the next engine that sees a process at one of its blocks
/// reads the frame and asks for the compile ([`Jit::take_frame`]).
pub(super) const FRAME_WANTED: u8 = 2;
/// Read (or given up on): compiled when hot, as always.
pub(super) const FRAME_TAKEN: u8 = 3;

/// Environment variable that turns the element kinds off (`0`), for
/// measuring them.
pub const ELEM_KINDS_VAR: &str = "TTVM_JIT_ELEM_KINDS";

/// Values looked at per step of a path (and elements per site): a guess
/// from a sample of long lists is checked by the guard anyway.
const MAX_VALUES: usize = 4096;

/// Steps of a path (a row of a matrix of records' fields is three).
const MAX_STEPS: usize = 4;

/// How far a variable is followed through the STOREs that give it values
/// (a path of a variable stored from a path of another..., a node's child
/// passed to a recursive call).
const MAX_DEFS: usize = 6;

/// The paths followed for one site, at most (the STOREs of a variable
/// are followed per level, so their number grows with the depth).
const FUEL: usize = 512;

/// The STOREs of a variable followed (the first ones of the unit).
const MAX_DEF_PATHS: usize = 4;

/// One step from a value to another.
#[derive(Clone, Debug, PartialEq)]
enum Step {
    /// The element at a constant index.
    At(i64),
    /// Any element (the index is not a constant).
    Any,
    /// The field of a constant name.
    Field(ttvm_runtime::Atom),
}

/// A variable of the frame, then steps.
#[derive(Clone, Debug, PartialEq)]
struct Path {
    var: u32,
    steps: Vec<Step>,
}

impl Path {
    fn then(&self, s: Step) -> Option<Path> {
        (self.steps.len() < MAX_STEPS).then(|| {
            let mut p = self.clone();
            p.steps.push(s);
            p
        })
    }
}

/// What the symbolic run knows of an operand.
#[derive(Clone, Debug)]
enum Sym {
    Path(Path),
    Int(i64),
    Other,
}

/// The INDEX sites of a unit and the paths its STOREs store.
#[derive(Debug, Default)]
struct Sites {
    /// (program address of the INDEX, the list's path, the step it takes).
    sites: Vec<(u32, Path, Step)>,
    /// Variable → the paths stored in it (`None`: something else too).
    defs: HashMap<u32, Vec<Option<Path>>>,
}

/// The INDEX sites of the code from the block starts `starts` (a unit's:
/// `ours` tells its instructions, `cut` where a part of one ends) and its
/// STOREs' paths: each block run on symbols from an empty stack (what is
/// below is unknown).
fn sites_of(
    p: &Program,
    starts: impl Iterator<Item = u32>,
    cut: Option<u32>,
    ours: impl Fn(usize) -> bool,
) -> Sites {
    let mut out = Sites::default();
    let pop = |s: &mut Vec<Sym>| s.pop().unwrap_or(Sym::Other);
    for start in starts {
        let mut stack: Vec<Sym> = Vec::new();
        let mut at = start as usize;
        while at < p.code.len() && ours(at) {
            let push: Vec<Sym> = match &p.code[at] {
                Instr::Load(v) => vec![Sym::Path(Path {
                    var: v.slot,
                    steps: Vec::new(),
                })],
                Instr::PushInt(k) => vec![Sym::Int(*k)],
                Instr::Store(v) => {
                    let d = match pop(&mut stack) {
                        Sym::Path(x) => Some(x),
                        _ => None,
                    };
                    out.defs.entry(v.slot).or_default().push(d);
                    vec![]
                }
                Instr::Index(_) => {
                    let step = match pop(&mut stack) {
                        Sym::Int(k) => Step::At(k),
                        _ => Step::Any,
                    };
                    match pop(&mut stack) {
                        Sym::Path(x) => {
                            let next = x.then(step.clone());
                            out.sites.push((at as u32, x, step));
                            vec![next.map_or(Sym::Other, Sym::Path)]
                        }
                        _ => vec![Sym::Other],
                    }
                }
                Instr::GetField(OptField(Some(name))) => match pop(&mut stack) {
                    Sym::Path(x) => vec![x
                        .then(Step::Field(name.clone()))
                        .map_or(Sym::Other, Sym::Path)],
                    _ => vec![Sym::Other],
                },
                // A call of the unit's own function (a recursion) stores
                // its arguments in the parameters as a STORE does: the
                // values a parameter will hold (`node[1]` for `walk(node)`).
                Instr::Call(c) if ours(c.target as usize) => {
                    for &slot in c.param_slots.iter().rev() {
                        let d = match pop(&mut stack) {
                            Sym::Path(x) => Some(x),
                            _ => None,
                        };
                        out.defs.entry(slot).or_default().push(d);
                    }
                    stack.clear();
                    vec![]
                }
                Instr::Dup(_) => {
                    let a = pop(&mut stack);
                    vec![a.clone(), a]
                }
                Instr::Swap(_) => {
                    let b = pop(&mut stack);
                    let a = pop(&mut stack);
                    vec![b, a]
                }
                Instr::Over(_) => {
                    let b = pop(&mut stack);
                    let a = pop(&mut stack);
                    vec![a.clone(), b, a]
                }
                instr => match instr.stack_effect() {
                    Some((pops, pushes)) => {
                        for _ in 0..pops {
                            pop(&mut stack);
                        }
                        vec![Sym::Other; pushes as usize]
                    }
                    // Not known before running: nothing below is.
                    None => {
                        stack.clear();
                        vec![]
                    }
                },
            };
            stack.extend(push);
            at += 1;
            if cut == Some(at as u32) || p.block_start.get(at).is_none_or(|&b| b) {
                break;
            }
        }
    }
    out
}

/// The values `path` leads to from `frame` (at most [`MAX_VALUES`]): its
/// variable's value, and the values the unit's STOREs put in the variable
/// ([`MAX_DEFS`] levels deep, [`FUEL`] paths: `node = node[1]`, or
/// `walk(node[1])` in `walk`, samples the nodes a walk will meet,
/// `row = m[i]` every row) — what the site will read later,
/// not only now.
fn values_of<'v>(
    path: &Path,
    frame: &'v [Option<Value>],
    defs: &HashMap<u32, Vec<Option<Path>>>,
    depth: usize,
    fuel: &mut usize,
) -> Vec<&'v Value> {
    let mut cur: Vec<&Value> = frame
        .get(path.var as usize)
        .and_then(Option::as_ref)
        .into_iter()
        .collect();
    if depth < MAX_DEFS {
        for d in defs
            .get(&path.var)
            .into_iter()
            .flatten()
            .flatten()
            .take(MAX_DEF_PATHS)
        {
            if cur.len() >= MAX_VALUES || *fuel == 0 {
                break;
            }
            *fuel -= 1;
            cur.extend(values_of(d, frame, defs, depth + 1, fuel));
        }
    }
    for s in &path.steps {
        cur = step(&cur, s);
    }
    cur
}

/// The values one step from `xs` leads to: elements of lists, fields of
/// objects (at most [`MAX_VALUES`], spread over the lists).
fn step<'v>(xs: &[&'v Value], s: &Step) -> Vec<&'v Value> {
    let per = (MAX_VALUES / xs.len().max(1)).max(8);
    let mut out = Vec::new();
    for x in xs {
        match (x, s) {
            (Value::List(l), Step::At(k)) => {
                out.extend(usize::try_from(*k).ok().and_then(|k| l.get(k)))
            }
            (Value::List(l), Step::Any) => out.extend(l.iter().take(per)),
            (Value::Object(o), Step::Field(name)) => out.extend(o.get(name.as_str())),
            _ => {}
        }
        if out.len() >= MAX_VALUES {
            break;
        }
    }
    out
}

/// The tag bits of what an INDEX taking `s` gives of the lists (and
/// strings) in `xs`: 0 when nothing is known.
fn index_kinds(xs: &[&Value], s: &Step) -> u32 {
    let strings = xs.iter().any(|x| matches!(x, Value::Str(_)));
    let elems = step(xs, s);
    let bits = elems.iter().fold(0u32, |m, v| m | 1 << tag(v));
    bits | if strings {
        1 << ttvm_runtime::value::tag::STR
    } else {
        0
    }
}

/// A value's tag (`value::tag`).
fn tag(v: &Value) -> u8 {
    use ttvm_runtime::value::tag::*;
    match v {
        Value::Null => NULL,
        Value::Bool(_) => BOOL,
        Value::Int(_) => INT,
        Value::Float(_) => FLOAT,
        Value::Str(_) => STR,
        Value::List(_) => LIST,
        Value::Object(_) => OBJECT,
        Value::Function(_) => FUNCTION,
        Value::Closure(_) => CLOSURE,
        Value::Exception(_) => EXCEPTION,
        Value::Handle(_) => HANDLE,
    }
}

/// Per unit, its [`Unit::frame`] state at the start: whether it has an
/// INDEX (and element kinds are on).
pub(super) fn initial_states(p: &Program, plan_of: &[u32], units: usize) -> Vec<u8> {
    let mut s = vec![FRAME_NONE; units];
    if tier::knob(ELEM_KINDS_VAR, 1u32) == 0 {
        return s;
    }
    for (at, i) in p.code.iter().enumerate() {
        if let (Instr::Index(_), Some(&u)) = (i, plan_of.get(at)) {
            if let Some(x) = s.get_mut(u as usize) {
                *x = FRAME_COLD;
            }
        }
    }
    s
}

impl Jit {
    /// Unit `u` is hot (`Jit::tier_up`): whether the interpreter should
    /// leave to the engine first, so that its INDEX sites' kinds are read
    /// from the frame ([`Jit::take_frame`]) before it is compiled. Once
    /// per unit; should no engine take it (it always does at once), the
    /// unit is compiled without them after twice its budget.
    pub(super) fn wants_frame(&self, u: &Unit) -> bool {
        match u.frame.load(Ordering::Relaxed) {
            FRAME_COLD => {
                let _ = u.frame.compare_exchange(
                    FRAME_COLD,
                    FRAME_WANTED,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                );
                true
            }
            FRAME_WANTED => {
                if u.hot.load(Ordering::Relaxed) / 2 < u.budget {
                    return true;
                }
                // Overdue: compiled without them.
                let _ = u.frame.compare_exchange(
                    FRAME_WANTED,
                    FRAME_TAKEN,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                );
                false
            }
            _ => false,
        }
    }

    /// The engine found no compiled code at `ctx.pc`: if that is a block
    /// of a unit that is hot and wants its INDEX sites' kinds
    /// ([`Jit::wants_frame`]), read them from `ctx`'s current frame and
    /// ask for the unit's compile; `true` when its code is there now.
    #[inline]
    pub fn take_frame(&self, ctx: &Context) -> bool {
        let Some(Some(b)) = self.blocks.get(ctx.pc.ix()).copied() else {
            return false;
        };
        let u = &self.units[b.unit as usize];
        u.frame.load(Ordering::Relaxed) == FRAME_WANTED && self.take_frame_of(b.unit as usize, ctx)
    }

    #[cold]
    #[inline(never)]
    fn take_frame_of(&self, unit: usize, ctx: &Context) -> bool {
        let u = &self.units[unit];
        if u.frame
            .compare_exchange(
                FRAME_WANTED,
                FRAME_TAKEN,
                Ordering::Relaxed,
                Ordering::Relaxed,
            )
            .is_err()
        {
            return false;
        }
        let f = ctx.frame();
        let (base, size) = (f.base as usize, f.size as usize);
        let ours = self.program.layout_of.get(f.entry as usize) == Some(&u.plan.layout);
        if let (true, Some(frame)) = (ours, ctx.locals.get(base..base + size)) {
            self.note_elems(unit, frame);
        }
        self.request(unit, super::compile::Why::Hot);
        u.code.load(Ordering::Acquire) != 0
    }

    /// The kinds of the elements unit `unit`'s INDEX sites would read from
    /// `frame` (the unit's frame), into their cells.
    fn note_elems(&self, unit: usize, frame: &[Option<Value>]) {
        let p = &*self.program;
        let plan = &self.units[unit].plan;
        let starts = plan.blocks.iter().copied().chain(plan.cont);
        let ours = |at: usize| self.plan_of.get(at) == Some(&(unit as u32));
        let s = sites_of(p, starts, plan.cut, ours);
        for (at, path, st) in &s.sites {
            let Some(&k) = self.field_sites.get(at) else {
                continue;
            };
            let mut fuel = FUEL;
            let xs = values_of(path, frame, &s.defs, 0, &mut fuel);
            let bits = index_kinds(&xs, st);
            if bits != 0 {
                self.field_cells[k].kinds.fetch_or(bits, Ordering::Relaxed);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn program(src: &str) -> Program {
        crate::load_source("t.ttvm", src).expect("assembles")
    }

    /// The paths of the INDEX sites of the whole program (one unit).
    fn paths(src: &str) -> Sites {
        let p = program(src);
        let starts = (0..p.code.len() as u32).filter(|&a| p.block_start[a as usize]);
        sites_of(&p, starts, None, |_| true)
    }

    #[test]
    fn rows_of_a_matrix_and_fields_of_records() {
        let s = paths(
            "LOAD m\nLOAD i\nINDEX\nSTORE row\nLOAD row\nLOAD j\nINDEX\nPOP\n\
             LOAD bs\nPUSH_INT 2\nINDEX\nGET_FIELD pos\nLOAD k\nINDEX\nPOP\nHALT\n",
        );
        let shown: Vec<String> = s
            .sites
            .iter()
            .map(|(_, p, st)| format!("{} {:?} {:?}", p.var, p.steps, st))
            .collect();
        assert_eq!(shown.len(), 4, "{shown:?}");
        assert!(matches!(s.sites[2].2, Step::At(2)));
        assert_eq!(s.sites[3].1.steps.len(), 2, "{shown:?}");
        // `row` is stored from `m[*]`.
        assert_eq!(s.defs.values().flatten().flatten().count(), 1);
    }

    #[test]
    fn kinds_from_values() {
        let floats = Value::List(ttvm_runtime::value::List::from_vec(vec![
            Value::Float(1.0),
            Value::Float(2.0),
        ]));
        let m = Value::List(ttvm_runtime::value::List::from_vec(vec![
            floats.clone(),
            floats,
        ]));
        let frame = vec![Some(m), None];
        let defs = HashMap::from([(
            1,
            vec![Some(Path {
                var: 0,
                steps: vec![Step::Any],
            })],
        )]);
        // `row[j]` with `row` unset: through its STORE from `m[*]`.
        let row = Path {
            var: 1,
            steps: Vec::new(),
        };
        let xs = values_of(&row, &frame, &defs, 0, &mut 8);
        assert_eq!(
            index_kinds(&xs, &Step::Any),
            1 << ttvm_runtime::value::tag::FLOAT
        );
        let mixed = Value::List(ttvm_runtime::value::List::from_vec(vec![
            Value::Int(1),
            Value::str("a"),
        ]));
        let frame = vec![Some(mixed)];
        let x = Path {
            var: 0,
            steps: Vec::new(),
        };
        let xs = values_of(&x, &frame, &HashMap::new(), 0, &mut 8);
        assert_eq!(
            index_kinds(&xs, &Step::At(1)),
            1 << ttvm_runtime::value::tag::STR
        );
        assert_eq!(index_kinds(&xs, &Step::At(5)), 0);
        assert_eq!(index_kinds(&xs, &Step::Any).count_ones(), 2);
    }
}
