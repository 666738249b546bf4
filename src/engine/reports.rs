//! What stderr says when a run ends badly: a deadlock, the main process
//! ended by another's exit signal, a process crashed (driver.rs uses
//! them at the end of a run and of a slice).

use crate::bytecode::Program;
use crate::exec::vm::Vm;
use crate::exec::{Context, FrameKind};
use crate::interp::Code;
use ttvm_runtime::Node;

/// What stderr says when no process can wake the main process: where it
/// waits, and the other blocked processes (the first
/// [`DEADLOCK_LISTED`]).
pub(super) fn deadlock_report(node: &Node<Box<Context>>, code: &Code, program: &Program) -> String {
    let waits = |pid| {
        node.with_state(pid, |c| {
            c.map(|c| {
                let at = code.layout.addr(c.pc).0;
                let op = program.code[at as usize].opcode().mnemonic();
                format!("{op} at {}", program.location(at))
            })
            .unwrap_or_else(|| "an unknown place".to_string())
        })
    };
    let mut report = format!(
        "deadlock: process 1 waits in {} and no process can wake it\n",
        waits(1)
    );
    let (others, count) = node.other_live_pids(DEADLOCK_LISTED);
    if count > 0 {
        report.push_str(&format!("  blocked with it ({count}):\n"));
        for pid in others {
            let who = match node.name_of(pid) {
                Some(n) => format!("process {pid} ({n})"),
                None => format!("process {pid}"),
            };
            report.push_str(&format!("    {who} waits in {}\n", waits(pid)));
        }
        if count > DEADLOCK_LISTED {
            report.push_str(&format!("    … and {} more\n", count - DEADLOCK_LISTED));
        }
    }
    report
}

/// What stderr says when an exit signal from another process ended the
/// main process (its own crash has its crash report instead): who sent it,
/// along what, with which reason, and how to survive it.
pub(super) fn main_killed_report(k: &ttvm_runtime::node::MainKilled) -> String {
    use ttvm_runtime::node::KilledVia;
    // Display is bounded (`value/display.rs`): a huge reason is cut with `…`.
    let reason = &k.reason;
    match k.via {
        KilledVia::Link => format!(
            "error: the main process (1) was ended by an exit signal: process {} it was linked to ended with reason: {reason}\n  help: a process that should outlive a linked one sets `PUSH_BOOL true; TRAP_EXIT` and gets [\"EXIT\", pid, reason] messages instead\n",
            k.from
        ),
        KilledVia::Noproc => format!(
            "error: the main process (1) was ended by an exit signal: it linked to process {}, which was not alive (noproc)\n  help: check the PID; MONITOR reports a dead process with a DOWN message instead of ending the caller\n",
            k.from
        ),
        KilledVia::ExitProcess => format!(
            "error: the main process (1) was ended by EXIT_PROCESS from process {} with reason: {reason}\n",
            k.from
        ),
    }
}

/// The report of a process that ended with an uncaught exception: reason,
/// where, the failing instruction, and the call stack (innermost first).
/// The reason is cut at [`ttvm_runtime::value::MAX_SHOWN_BYTES`] with `…`.
pub(crate) fn crash_report(
    vm: &Vm,
    code: &Code,
    ctx: &Context,
    pid: i64,
    name: Option<&str>,
    reason: &str,
) -> String {
    let p = &vm.program;
    let at = code.layout.get_addr(ctx.pc).map_or(0, |a| a.0);
    let who = match name {
        Some(n) => format!("process {pid} ({n})"),
        None => format!("process {pid}"),
    };
    // The message can be up to the string limit (a thrown value's text):
    // the report shows at most the diagnostic bound of it.
    let overflow = reason == "stack overflow";
    let reason = ttvm_runtime::value::shown_text(reason, ttvm_runtime::value::MAX_SHOWN_BYTES);
    let mut out = format!("error: {who} crashed: {reason}\n");
    let instr = p.code.get(at as usize).map(|i| {
        let ops = i.operand_text(&**p);
        if ops.is_empty() {
            i.opcode().mnemonic().to_string()
        } else {
            // A string literal can be as long as the program.
            let ops = ttvm_runtime::value::shown_text(&ops, crate::interp::DEBUG_VALUE_BYTES);
            format!("{} {ops}", i.opcode().mnemonic())
        }
    });
    out.push_str(&format!(
        "  at {}: {}\n",
        p.location(at),
        instr.unwrap_or_default()
    ));
    out.push_str("  call stack (innermost first):\n");
    // Repeated frames (a deep recursion) fold into one line with a count,
    // so the report stays short and shows what recursed.
    let mut shown = 0;
    let mut folded: Option<(String, u32, usize)> = None;
    let flush = |out: &mut String, f: Option<(String, u32, usize)>, shown: &mut usize| {
        let Some((name, at, n)) = f else { return };
        if *shown == CRASH_FRAMES_SHOWN {
            out.push_str("    …\n");
        }
        if *shown < CRASH_FRAMES_SHOWN {
            let times = if n > 1 {
                format!("  × {n}")
            } else {
                String::new()
            };
            out.push_str(&format!("    {name:<20} {}{times}\n", p.location(at)));
        }
        *shown += 1;
    };
    let mut here = at;
    for f in ctx.frames.iter().rev() {
        let name = match f.kind {
            FrameKind::Root if pid == 1 => "<top level>".to_string(),
            FrameKind::Root => format!("<process {}>", p.function_name(f.entry)),
            FrameKind::Module(m) => format!(
                "<module {}>",
                p.files[p.modules[m as usize].file as usize].name
            ),
            FrameKind::Call => p.function_name(f.entry),
        };
        folded = match folded.take() {
            Some((n, a, k)) if n == name && a == here => Some((n, a, k + 1)),
            other => {
                flush(&mut out, other, &mut shown);
                Some((name, here, 1))
            }
        };
        here = f.call_site;
    }
    flush(&mut out, folded, &mut shown);
    if shown > CRASH_FRAMES_SHOWN {
        out.push_str(&format!(
            "    … {} more entries\n",
            shown - CRASH_FRAMES_SHOWN
        ));
    }
    if let Some(note) = fell_into_function(p, ctx, pid, at) {
        out.push_str(&note);
    }
    if overflow {
        out.push_str(&format!(
            "  help: the process reached --max-call-depth ({} frames) or --max-frame-slots ({} variable slots); write the recursion as a tail call (`CALL` directly followed by `RET` replaces the frame) or a loop, or raise the limit\n",
            vm.config.max_call_depth, vm.config.max_frame_slots
        ));
    }
    out
}

/// When top-level code crashed inside a function's body it fell into
/// (no HALT or JMP before the function's LABEL), a note saying so: the
/// error itself (`undefined variable: n` for a parameter, `RET outside a
/// function`) does not. The function is the last CALL / MAKE_FUNCTION /
/// MAKE_LAMBDA target at or before the failing instruction in the same
/// module, entered by falling through from the instruction before it.
fn fell_into_function(
    p: &crate::bytecode::Program,
    ctx: &Context,
    pid: i64,
    at: u32,
) -> Option<String> {
    let frame = ctx.frames.last()?;
    let top_level = match frame.kind {
        FrameKind::Root => pid == 1,
        FrameKind::Module(_) => true,
        FrameKind::Call => false,
    };
    if !top_level {
        return None;
    }
    let module = p.module_of.get(at as usize)?;
    let entry = crate::bytecode::function_entries(p)
        .into_iter()
        .filter(|&e| e > 0 && e <= at && p.module_of.get(e as usize) == Some(module))
        .max()?;
    let before = &p.code[entry as usize - 1];
    if before.opcode().info().no_fallthrough {
        return None;
    }
    let name = p.function_name(entry);
    Some(format!(
        "  note: this is top-level code that ran on into the body of function `{name}` ({}) without calling it; end the top-level code with HALT (or jump over the function) before `LABEL {name}`\n",
        p.location(entry)
    ))
}

/// Entries (a folded run of frames is one) a crash report shows.
const CRASH_FRAMES_SHOWN: usize = 20;

/// How many other blocked processes a deadlock report lists.
const DEADLOCK_LISTED: usize = 10;
