//! Direct entries holding heap values (issue 15, docs/JIT.md "Direct
//! calls") hand every reference on: a program whose direct frames make,
//! pass, return, hold across every kind of exit and drop lists, objects,
//! strings and function values (`tests/programs/jit/direct_heap.ttvm`),
//! and one calling closures (`closure_calls.ttvm`), leave no value behind after a run, interpreted, JIT-eager and
//! JIT-mixed. Live heap bytes are counted by a global allocator (one test
//! per binary, so nothing else allocates meanwhile); a reference leaked
//! per call would keep the program's trees and lists alive (hundreds of
//! kilobytes), a reference dropped twice frees a value still in use
//! (caught by the output check, or a crash).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::{Arc, Mutex};
use ttvm::{Io, RunConfig};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is passed on to `System` unchanged; only a counter is
// added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract for `alloc`, passed on unchanged.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        // SAFETY: `p` came from `alloc` above (i.e. from `System`) with `l`.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract for `alloc_zeroed`, passed on unchanged.
        unsafe { System.alloc_zeroed(l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new as isize - l.size() as isize, Ordering::Relaxed);
        // SAFETY: `p` came from `System` with `l`; `new` is the caller's
        // non-zero size, passed on unchanged.
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Output written into a shared buffer.
#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Sink {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn run(program: &Arc<ttvm::Program>, config: RunConfig) -> String {
    let out = Sink::default();
    let io = Io {
        stdout: Box::new(out.clone()),
        stderr: Box::new(std::io::sink()),
        stdin: Box::new(std::io::empty()),
    };
    let r = ttvm::run(program.clone(), config, io);
    assert_eq!(r.exit_code, 0);
    let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
    text
}

/// One test (one binary per allocator count): direct_heap.ttvm, then
/// the closure calls (issue 15: captured values passed to direct entries
/// as counted arguments, the function value dropped at the call, every
/// exit out of a guarded call; tests/programs/jit/closure_calls.ttvm),
/// list_build.ttvm (lists made and appended to inline) and SET_FIELD's
/// guarded store (tests/programs/jit/field_writes.ttvm) and borrowed
/// LOADs (tests/programs/jit/borrowed_loads.ttvm), and frames resumed in
/// direct code (resume_direct.ttvm, resume_procs.ttvm).
#[test]
fn direct_entries_holding_heap_values_leak_nothing() {
    leaks_nothing(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/programs/jit/direct_heap.ttvm"
    ));
    leaks_nothing(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/programs/jit/closure_calls.ttvm"
    ));
    // Lists made and changed inline and by the `value` helper in
    // ordinary code and direct entries (issue 15).
    leaks_nothing(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/programs/jit/list_build.ttvm"
    ));
    // SET_FIELD's guarded store and its exits (issue 15): the stored value
    // moves into the object, the old one is not on the heap; the helper
    // copies, drops and adds.
    leaks_nothing(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/programs/jit/field_writes.ttvm"
    ));
    // Borrowed LOADs (issue 15): values pushed without a reference of
    // their own get one wherever they leave the virtual stack (helpers'
    // raising paths, guarded calls that miss, direct frames leaving).
    leaks_nothing(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/programs/jit/borrowed_loads.ttvm"
    ));
    // Direct entries with run-time keys (SET_FIELD through the `value`
    // helper, GET_FIELD/HAS_FIELD/TO_STR… through the `data` helper) and
    // their exits (issue 15).
    leaks_nothing(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/programs/jit/field_keys_direct.ttvm"
    ));
    // INDEX taking an element out of a list that is written back (issue
    // 15, src/jit/lower/takes.rs): the element's reference moves, Null
    // holds its place, the write-back or the list's end lets go of both.
    leaks_nothing(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/programs/jit/list_take.ttvm"
    ));
    // Preempted direct frames resumed in direct code (docs/JIT.md,
    // "Resuming"): their slots and operands move from the process into
    // the direct entry and back when they leave again; a result goes to
    // the caller's operand stack.
    leaks_nothing(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/programs/jit/resume_direct.ttvm"
    ));
    leaks_nothing(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/programs/jit/resume_procs.ttvm"
    ));
    // INDEX taking a part out of a list read once at each place, or held
    // by its operand alone (issue 15, item 4, `takes::may_take_place`),
    // and `LOAD x; JZ|JNZ` borrowed: trees taken apart and shared, pairs
    // the caller still holds, every kind of value tested.
    leaks_nothing(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/programs/jit/list_parts.ttvm"
    ));
    leaks_nothing(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/programs/jit/tested_values.ttvm"
    ));
    // SET_FIELD's guarded store in ordinary code, and counting the
    // variable the next STORE overwrites (issue 15, item 4).
    leaks_nothing(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/programs/jit/field_writes_ordinary.ttvm"
    ));
    // SET_INDEX's guarded store (issue 15): the value moved into a list
    // held once, the old element (a row shared or not) dropped inline.
    leaks_nothing(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/programs/jit/set_index_inline.ttvm"
    ));
    // Lists a callee returns at once, made inline at the direct call
    // (issue 15, item 4): the result owned by the caller, every path that
    // makes the real call instead.
    leaks_nothing(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/programs/jit/returned_lists.ttvm"
    ));
}

fn leaks_nothing(path: &str) {
    let program = Arc::new(ttvm::asm::load_file(std::path::Path::new(path)).unwrap());
    let interpreted = RunConfig {
        schedulers: 1,
        ..RunConfig::default()
    };
    let eager = RunConfig {
        jit: true,
        jit_threshold: 0,
        schedulers: 1,
        ..RunConfig::default()
    };
    // Compiled on the scheduler thread: a unit still compiling on the
    // background compiler thread when a run ends is freed when that
    // compile ends, after this test has counted it as live.
    let mixed = RunConfig {
        jit: true,
        jit_threshold: 2,
        jit_sync: true,
        reductions: 7,
        schedulers: 1,
        ..RunConfig::default()
    };
    let expected = run(&program, interpreted.clone());
    for (name, config) in [
        ("interpreted", interpreted),
        ("eager", eager),
        ("mixed", mixed),
    ] {
        // A first run warms what lives as long as the process (interned
        // atoms, thread-locals); the next three must not grow.
        assert_eq!(run(&program, config.clone()), expected, "{name}");
        let before = LIVE.load(Ordering::Relaxed);
        for _ in 0..3 {
            assert_eq!(run(&program, config.clone()), expected, "{name}");
        }
        let grown = LIVE.load(Ordering::Relaxed) - before;
        eprintln!("{name}: {grown} bytes more live after three runs");
        assert!(
            grown < 16 * 1024,
            "{name}: {grown} bytes more live after three runs"
        );
    }
}
