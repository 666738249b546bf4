//! The complete semantics of every instruction, run from the program's
//! instruction itself, below both tiers: the interpreter's dispatch loop
//! inlines the hot cases and comes here for everything else and every slow
//! path; compiled code reaches it through the runtime helpers
//! (`engine/helpers.rs`), without going through the interpreter.
//!
//! One file per op family, following the op table's sections (SPEC §3,
//! §4); this file only dispatches an instruction to its family and holds
//! the glue they share (`push`, `binary`, `unary`):
//!
//! | file | instructions |
//! |---|---|
//! | [`stack`] | §3.1 constant pushes, DUP POP SWAP OVER |
//! | [`arith`] | §3.2 the arithmetic operators, NEG, CONCAT |
//! | [`compare`] | §3.3 the comparisons, NOT AND OR |
//! | [`vars`] | §3.4 STORE LOAD DELETE DUMP_SCOPE (and reading a variable) |
//! | [`jumps`] | §3.5 JMP JZ JNZ HALT |
//! | [`calls`] | §3.6 calls, returns, closures; the end of a module's run |
//! | [`data`] | §3.7 lists, objects, strings, conversions |
//! | [`library`] | the library operations (`src/library/`) |
//! | [`exceptions`] | §3.8 TRY THROW CATCH END_TRY; unwinding to a handler |
//! | [`modules`] | §3.9 IMPORT EXPORT |
//! | [`host`] | §3.10 host I/O |
//! | [`procs`] | §4 the process operations |
//! | [`in_place`] | updates in place when the result is stored back |
//!
//! Decoded addresses (where a jump goes) come from the decoded program's
//! [`Layout`].

mod arith;
pub(crate) mod calls;
mod compare;
mod data;
mod dist;
mod exceptions;
mod host;
mod in_place;
mod io;
mod jumps;
mod library;
mod modules;
mod net;
pub(crate) mod procs;
pub(crate) mod spawn;
mod stack;
pub(crate) mod vars;

pub(crate) use exceptions::{raise, unwind};
pub(crate) use in_place::{release_for_store, store_after, update_in_place};
pub(crate) use library::library;

/// The process being run, and the process system it lives in.
pub struct Proc<'a> {
    pub pid: i64,
    pub node: &'a ttvm_runtime::Sched<'a, Box<Context>>,
    /// The running process itself (its mailbox, for receives).
    pub me: &'a ttvm_runtime::Process<Box<Context>>,
}

use crate::bytecode::Instr;
use crate::exec::{Addr, Context, Control, Layout, OpResult, Vm};
use ttvm_runtime::Value;

/// Execute the instruction at program address `at` (the decoded op at
/// `ctx.pc`) with its complete semantics. Exceptions are returned
/// (`Control::Raise`), not unwound.
pub(crate) fn exec(
    ctx: &mut Context,
    layout: &Layout,
    vm: &Vm,
    proc: &mut Proc<'_>,
    at: u32,
) -> Control {
    let instr = &vm.program.code[at as usize];
    match step(ctx, layout, vm, proc, instr, at) {
        Ok(flow) => flow,
        Err(e) => Control::Raise(e),
    }
}

/// Execute the process instruction (SPEC §4) at program address `at` with
/// its complete semantics: [`exec`] without the dispatch over every
/// instruction (compiled code's `process` helper; any other instruction
/// goes through [`exec`]).
pub(crate) fn exec_process(
    ctx: &mut Context,
    layout: &Layout,
    vm: &Vm,
    proc: &mut Proc<'_>,
    at: u32,
) -> Control {
    let instr = &vm.program.code[at as usize];
    if !procs::handles(instr) {
        return exec(ctx, layout, vm, proc, at);
    }
    match procs::exec(ctx, layout, vm, proc, instr, at) {
        Ok(flow) => flow,
        Err(e) => Control::Raise(e),
    }
}

fn push(ctx: &mut Context, v: Value) -> OpResult<Control> {
    ctx.stack.push(v);
    Ok(Control::Next)
}

fn binary(ctx: &mut Context, name: &str) -> OpResult<(Value, Value)> {
    ctx.need(2, name)?;
    let b = ctx.stack.pop().expect("checked");
    let a = ctx.stack.pop().expect("checked");
    Ok((a, b))
}

fn unary(
    ctx: &mut Context,
    name: &str,
    f: impl FnOnce(&Value) -> OpResult<Value>,
) -> OpResult<Control> {
    let a = ctx.pop(name)?;
    let r = f(&a)?;
    push(ctx, r)
}

fn step(
    ctx: &mut Context,
    layout: &Layout,
    vm: &Vm,
    proc: &mut Proc<'_>,
    instr: &Instr,
    at: u32,
) -> OpResult<Control> {
    // Computed only by the families that need them (the generic path of
    // the interpreter comes here for every instruction without a fast op).
    let decoded_next = || layout.dpc(Addr(at + 1)).0;
    // Error texts name the instruction by its mnemonic.
    let name = || instr.opcode().mnemonic();
    match instr {
        // §3.1
        Instr::PushInt(_)
        | Instr::PushFloat(_)
        | Instr::PushStr(_)
        | Instr::PushBool(_)
        | Instr::True(_)
        | Instr::False(_)
        | Instr::Null(_)
        | Instr::Dup(_)
        | Instr::Pop(_)
        | Instr::Swap(_)
        | Instr::Over(_) => stack::exec(ctx, instr, name()),
        // §3.2
        Instr::Add(_)
        | Instr::Sub(_)
        | Instr::Mul(_)
        | Instr::Div(_)
        | Instr::Mod(_)
        | Instr::AddF(_)
        | Instr::SubF(_)
        | Instr::MulF(_)
        | Instr::DivF(_)
        | Instr::Neg(_)
        | Instr::Concat(_) => arith::exec(ctx, instr, name()),
        // §3.3
        Instr::Eq(_)
        | Instr::Ne(_)
        | Instr::Gt(_)
        | Instr::Lt(_)
        | Instr::Ge(_)
        | Instr::Le(_)
        | Instr::EqF(_)
        | Instr::NeF(_)
        | Instr::GtF(_)
        | Instr::LtF(_)
        | Instr::GeF(_)
        | Instr::LeF(_)
        | Instr::Not(_)
        | Instr::And(_)
        | Instr::Or(_) => compare::exec(ctx, instr, name()),
        // §3.4
        Instr::Store(_) | Instr::Load(_) | Instr::Delete(_) | Instr::DumpScope(_) => {
            vars::exec(ctx, vm, instr, at, name())
        }
        // §3.5
        Instr::Jmp(_) | Instr::Jz(_) | Instr::Jnz(_) | Instr::Halt(_) => {
            jumps::exec(ctx, layout, vm, instr, decoded_next(), name())
        }
        // §3.6
        Instr::Call(_)
        | Instr::Ret(_)
        | Instr::MakeFunction(_)
        | Instr::Capture(_)
        | Instr::MakeLambda(_)
        | Instr::CallFunction(_) => calls::exec(ctx, layout, vm, proc, instr, at, decoded_next()),
        // §3.7
        Instr::MakeList(_)
        | Instr::Len(_)
        | Instr::Index(_)
        | Instr::Append(_)
        | Instr::SetIndex(_)
        | Instr::MakeObject(_)
        | Instr::SetField(_)
        | Instr::GetField(_)
        | Instr::HasField(_)
        | Instr::DeleteField(_)
        | Instr::Keys(_)
        | Instr::ToStr(_)
        | Instr::ToInt(_)
        | Instr::ToFloat(_) => data::exec(ctx, vm, instr, at, name()),
        // Issue 14: library operations, one arm per group (`library::call`).
        Instr::Substr(_)
        | Instr::Find(_)
        | Instr::Split(_)
        | Instr::Join(_)
        | Instr::Replace(_)
        | Instr::Trim(_)
        | Instr::Upper(_)
        | Instr::Lower(_)
        | Instr::StartsWith(_)
        | Instr::EndsWith(_)
        | Instr::Chr(_)
        | Instr::Ord(_)
        | Instr::Repeat(_) => library(ctx, vm, at, instr.opcode()).map(|_| Control::Next),
        Instr::Sqrt(_)
        | Instr::Pow(_)
        | Instr::Exp(_)
        | Instr::Log(_)
        | Instr::Sin(_)
        | Instr::Cos(_)
        | Instr::Atan2(_)
        | Instr::Floor(_)
        | Instr::Ceil(_)
        | Instr::Round(_)
        | Instr::Abs(_)
        | Instr::Min(_)
        | Instr::Max(_)
        | Instr::Format(_) => library(ctx, vm, at, instr.opcode()).map(|_| Control::Next),
        Instr::Slice(_)
        | Instr::Reverse(_)
        | Instr::Sort(_)
        | Instr::Contains(_)
        | Instr::IndexOf(_)
        | Instr::Range(_)
        | Instr::Extend(_) => library(ctx, vm, at, instr.opcode()).map(|_| Control::Next),
        // §3.8
        Instr::Try(_) | Instr::Throw(_) | Instr::Catch(_) | Instr::EndTry(_) => {
            exceptions::exec(ctx, layout, instr, at, name())
        }
        // §3.9
        Instr::Import(_) | Instr::Export(_) => {
            modules::exec(ctx, layout, vm, instr, at, decoded_next())
        }
        // §3.10
        Instr::ReadLine(_)
        | Instr::ReadFile(_)
        | Instr::WriteFile(_)
        | Instr::AppendFile(_)
        | Instr::FileExists(_)
        | Instr::DeleteFile(_)
        | Instr::FileSize(_)
        | Instr::ListDir(_)
        | Instr::ReadBytes(_)
        | Instr::WriteBytes(_)
        | Instr::Exec(_)
        | Instr::ExecCapture(_)
        | Instr::ReadChar(_)
        | Instr::ReadInput(_)
        | Instr::DnsResolve(_)
        | Instr::HttpGet(_)
        | Instr::HttpPost(_)
        | Instr::HttpRequest(_) => io::exec(ctx, vm, proc, instr.opcode()),
        // Issue 16: sockets
        Instr::TcpListen(_)
        | Instr::TcpListenOpts(_)
        | Instr::TcpAccept(_)
        | Instr::TcpAcceptAfter(_)
        | Instr::TcpConnect(_)
        | Instr::TcpConnectOpts(_)
        | Instr::TcpSend(_)
        | Instr::TcpRecv(_)
        | Instr::TcpRecvAfter(_)
        | Instr::TcpShutdown(_)
        | Instr::UdpBind(_)
        | Instr::UdpOpen(_)
        | Instr::UdpSend(_)
        | Instr::UdpRecv(_)
        | Instr::UdpRecvAfter(_)
        | Instr::SocketClose(_)
        | Instr::SocketSetopts(_)
        | Instr::SocketOwner(_)
        | Instr::SocketLocal(_)
        | Instr::SocketPeer(_) => net::exec(ctx, vm, proc, instr.opcode()),
        Instr::Print(_)
        | Instr::PrintErr(_)
        | Instr::GetEnv(_)
        | Instr::GetArgs(_)
        | Instr::GetTime(_)
        | Instr::NowMs(_)
        | Instr::Exit(_) => host::exec(ctx, vm, instr),
        // Issue 14, part B: JSON, CSV, HASH, TinyTotVM's host operations.
        Instr::JsonParse(_)
        | Instr::JsonStringify(_)
        | Instr::CsvParse(_)
        | Instr::CsvWrite(_)
        | Instr::Hash(_)
        | Instr::FormatTime(_) => library(ctx, vm, at, instr.opcode()).map(|_| Control::Next),
        Instr::SetEnv(_) => library(ctx, vm, at, instr.opcode()).map(|_| Control::Next),
        // §4
        Instr::SelfPid(_)
        | Instr::Yield(_)
        | Instr::Spawn(_)
        | Instr::SpawnLink(_)
        | Instr::Send(_)
        | Instr::SendNamed(_)
        | Instr::Receive(_)
        | Instr::ReceiveMatch(_)
        | Instr::ReceiveAfter(_)
        | Instr::ReceiveMatchAfter(_)
        | Instr::Sleep(_)
        | Instr::Register(_)
        | Instr::Unregister(_)
        | Instr::Whereis(_)
        | Instr::Link(_)
        | Instr::Unlink(_)
        | Instr::Monitor(_)
        | Instr::Demonitor(_)
        | Instr::TrapExit(_)
        | Instr::ExitProcess(_)
        | Instr::NodeOf(_)
        | Instr::Nodes(_) => procs::exec(ctx, layout, vm, proc, instr, at),
    }
}
