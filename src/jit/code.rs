//! Code memory and calling compiled code. Every `unsafe` of the JIT tier is
//! in this file.

use crate::exec::native::{CompiledFn, Helpers, JitEnv};
use cranelift_codegen::ir::types::{I32, I64, I8};
use cranelift_codegen::ir::{AbiParam, FuncRef, Signature, UserFuncName};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_codegen::Context as CodegenContext;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{default_libcall_names, FuncId, Linkage, Module};

/// The helpers and the compiled-function signature, as one function being
/// built refers to them.
pub(super) struct Imports {
    pub generic: FuncRef,
    pub call: FuncRef,
    pub clone: FuncRef,
    pub drop: FuncRef,
    pub reserve: FuncRef,
    pub overflow: FuncRef,
    pub update: FuncRef,
    pub library: FuncRef,
    /// The `leave` helpers (direct entries only).
    pub leave: Option<FuncRef>,
    pub leave_caller: Option<FuncRef>,
    /// Signature of compiled functions, for `call_indirect`.
    pub sig: cranelift_codegen::ir::SigRef,
    /// The function being built, when it is a direct entry (for calls to
    /// itself).
    pub this: Option<FuncRef>,
}

struct HelperIds {
    generic: FuncId,
    call: FuncId,
    clone: FuncId,
    drop: FuncId,
    reserve: FuncId,
    overflow: FuncId,
    update: FuncId,
    library: FuncId,
    leave: FuncId,
    leave_caller: FuncId,
}

/// The JIT's code memory: a Cranelift JIT module and the reusable
/// compilation contexts.
pub(super) struct CodeMemory {
    module: std::mem::ManuallyDrop<JITModule>,
    ctx: CodegenContext,
    fctx: FunctionBuilderContext,
    sig: Signature,
    helpers: HelperIds,
    count: u32,
}

// SAFETY: the module is only used under the `Jit`'s mutex; what it owns
// (code memory, declarations) has no thread affinity.
unsafe impl Send for CodeMemory {}

/// A compiled function and what `--jit-dump` shows of it.
pub(super) struct Compiled {
    pub code: usize,
    pub clif: Option<String>,
    pub bytes: usize,
}

impl CodeMemory {
    pub(super) fn new(h: &Helpers) -> Result<CodeMemory, String> {
        let mut flags = settings::builder();
        for (k, v) in [
            ("opt_level", "speed"),
            ("use_colocated_libcalls", "false"),
            ("is_pic", "false"),
            // Tail calls between direct entries need them.
            ("preserve_frame_pointers", "true"),
            // Cranelift's IR verifier checks every function before it is
            // compiled: on in debug builds (the tests, the fuzzers), off
            // in release builds (fib32 with --jit-threshold 0: 4.3 -> 3.4 ms
            // of compile time, best of 15, with the tag-facts passes).
            (
                "enable_verifier",
                if cfg!(debug_assertions) {
                    "true"
                } else {
                    "false"
                },
            ),
        ] {
            flags.set(k, v).map_err(|e| e.to_string())?;
        }
        let isa = cranelift_native::builder()
            .map_err(|e| format!("no native code for this host: {e}"))?
            .finish(settings::Flags::new(flags))
            .map_err(|e| e.to_string())?;
        let mut jb = JITBuilder::with_isa(isa, default_libcall_names());
        for (name, addr) in [
            ("ttvm_generic", h.generic),
            ("ttvm_call", h.call),
            ("ttvm_clone", h.clone),
            ("ttvm_drop", h.drop),
            ("ttvm_reserve", h.reserve),
            ("ttvm_overflow", h.overflow),
            ("ttvm_update", h.update),
            ("ttvm_library", h.library),
            ("ttvm_leave", h.leave),
            ("ttvm_leave_caller", h.leave_caller),
        ] {
            jb.symbol(name, addr as *const u8);
        }
        let mut module = JITModule::new(jb);
        let cc = module.isa().default_call_conv();
        let sig_of = |params: &[cranelift_codegen::ir::Type], ret: bool| {
            let mut s = Signature::new(cc);
            s.params.extend(params.iter().map(|&t| AbiParam::new(t)));
            if ret {
                s.returns.push(AbiParam::new(I32));
            }
            s
        };
        let mut declare = |name: &str, s: Signature| {
            module
                .declare_function(name, Linkage::Import, &s)
                .map_err(|e| e.to_string())
        };
        let helpers = HelperIds {
            generic: declare("ttvm_generic", sig_of(&[I64, I32, I32], true))?,
            call: declare("ttvm_call", sig_of(&[I64, I32, I32], true))?,
            clone: declare("ttvm_clone", sig_of(&[I64, I64], false))?,
            drop: declare("ttvm_drop", sig_of(&[I64, I64], false))?,
            reserve: declare("ttvm_reserve", sig_of(&[I64, I64], false))?,
            overflow: declare("ttvm_overflow", sig_of(&[I64, I32], true))?,
            update: declare("ttvm_update", sig_of(&[I64, I32, I32], true))?,
            library: declare("ttvm_library", sig_of(&[I64, I32, I32, I32], true))?,
            leave: declare("ttvm_leave", {
                let mut s = sig_of(&[I64, I64, I64, I64, I64], false);
                s.returns.push(AbiParam::new(I64));
                s
            })?,
            leave_caller: declare("ttvm_leave_caller", {
                let mut s = sig_of(&[I64, I64, I64, I64, I64], false);
                s.returns.push(AbiParam::new(I64));
                s
            })?,
        };
        let sig = sig_of(&[I64, I32], true);
        Ok(CodeMemory {
            ctx: module.make_context(),
            module: std::mem::ManuallyDrop::new(module),
            fctx: FunctionBuilderContext::new(),
            sig,
            helpers,
            count: 0,
        })
    }

    /// Build a function with `build`, compile it and make it callable.
    pub(super) fn compile(
        &mut self,
        name: &str,
        dump: bool,
        build: impl FnOnce(&mut FunctionBuilder<'_>, &Imports) -> Result<(), String>,
    ) -> Result<Compiled, String> {
        let sig = self.sig.clone();
        self.compile_with(name, "unit", sig, false, dump, build)
    }

    /// Build and compile the direct entry of a function of `params`
    /// arguments (see `jit::direct`).
    pub(super) fn compile_direct(
        &mut self,
        name: &str,
        params: usize,
        dump: bool,
        build: impl FnOnce(&mut FunctionBuilder<'_>, &Imports) -> Result<(), String>,
    ) -> Result<Compiled, String> {
        let sig = direct_sig(params);
        self.compile_with(name, "direct", sig, true, dump, build)
    }

    fn compile_with(
        &mut self,
        name: &str,
        kind: &str,
        sig: Signature,
        this: bool,
        dump: bool,
        build: impl FnOnce(&mut FunctionBuilder<'_>, &Imports) -> Result<(), String>,
    ) -> Result<Compiled, String> {
        self.count += 1;
        let id = self
            .module
            .declare_function(&format!("ttvm_{kind}_{}", self.count), Linkage::Local, &sig)
            .map_err(|e| e.to_string())?;
        // A fresh builder context: a failed compilation may leave one behind.
        self.fctx = FunctionBuilderContext::new();
        self.module.clear_context(&mut self.ctx);
        self.ctx.func.signature = sig;
        self.ctx.func.name = UserFuncName::user(0, self.count);
        let clif = {
            let mut b = FunctionBuilder::new(&mut self.ctx.func, &mut self.fctx);
            let mut imports = imports(&mut self.module, &self.helpers, &self.sig, &mut b);
            if this {
                direct_imports(&mut self.module, &self.helpers, id, &mut b, &mut imports);
            }
            build(&mut b, &imports)?;
            b.seal_all_blocks();
            b.finalize();
            dump.then(|| format!("; {name}\n{}", self.ctx.func.display()))
        };
        self.ctx.set_disasm(dump);
        self.module
            .define_function(id, &mut self.ctx)
            .map_err(|e| format!("{e:?}"))?;
        let compiled = self.ctx.compiled_code();
        let bytes = compiled.map(|c| c.code_buffer().len()).unwrap_or(0);
        let clif = match (clif, compiled.and_then(|c| c.vcode.clone())) {
            (Some(ir), Some(asm)) => Some(format!("{ir}\n; machine code ({bytes} bytes)\n{asm}")),
            (ir, _) => ir,
        };
        self.module.clear_context(&mut self.ctx);
        self.module
            .finalize_definitions()
            .map_err(|e| e.to_string())?;
        let code = self.module.get_finalized_function(id) as usize;
        Ok(Compiled { code, clif, bytes })
    }

    /// The IR of a direct entry of `params` arguments `build` makes,
    /// without compiling it (for tests).
    pub(super) fn ir_only_direct(
        &mut self,
        params: usize,
        build: impl FnOnce(&mut FunctionBuilder<'_>, &Imports) -> Result<(), String>,
    ) -> Result<String, String> {
        self.count += 1;
        let sig = direct_sig(params);
        let id = self
            .module
            .declare_function(
                &format!("ttvm_direct_ir_{}", self.count),
                Linkage::Local,
                &sig,
            )
            .map_err(|e| e.to_string())?;
        self.ir_text(sig, Some(id), build)
    }

    /// The IR `build` makes, without compiling it (for tests and dumps).
    pub(super) fn ir_only(
        &mut self,
        build: impl FnOnce(&mut FunctionBuilder<'_>, &Imports) -> Result<(), String>,
    ) -> Result<String, String> {
        let sig = self.sig.clone();
        self.ir_text(sig, None, build)
    }

    /// The IR of a function of signature `sig` (`this`: a direct entry
    /// declared as that) that `build` makes.
    fn ir_text(
        &mut self,
        sig: Signature,
        this: Option<FuncId>,
        build: impl FnOnce(&mut FunctionBuilder<'_>, &Imports) -> Result<(), String>,
    ) -> Result<String, String> {
        self.fctx = FunctionBuilderContext::new();
        self.module.clear_context(&mut self.ctx);
        self.ctx.func.signature = sig;
        self.ctx.func.name = UserFuncName::user(0, 0);
        let mut b = FunctionBuilder::new(&mut self.ctx.func, &mut self.fctx);
        let mut imports = imports(&mut self.module, &self.helpers, &self.sig, &mut b);
        if let Some(id) = this {
            direct_imports(&mut self.module, &self.helpers, id, &mut b, &mut imports);
        }
        build(&mut b, &imports)?;
        b.seal_all_blocks();
        b.finalize();
        let text = self.ctx.func.display().to_string();
        self.module.clear_context(&mut self.ctx);
        Ok(text)
    }
}

/// What a direct entry (declared as `id`) imports besides the rest: itself
/// and the `leave` helpers.
fn direct_imports(
    m: &mut JITModule,
    h: &HelperIds,
    id: FuncId,
    b: &mut FunctionBuilder<'_>,
    imports: &mut Imports,
) {
    imports.this = Some(m.declare_func_in_func(id, b.func));
    imports.leave = Some(m.declare_func_in_func(h.leave, b.func));
    imports.leave_caller = Some(m.declare_func_in_func(h.leave_caller, b.func));
}

/// The helpers and the compiled-function signature, declared in the
/// function `b` builds.
fn imports(
    m: &mut JITModule,
    h: &HelperIds,
    sig: &Signature,
    b: &mut FunctionBuilder<'_>,
) -> Imports {
    Imports {
        generic: m.declare_func_in_func(h.generic, b.func),
        call: m.declare_func_in_func(h.call, b.func),
        clone: m.declare_func_in_func(h.clone, b.func),
        drop: m.declare_func_in_func(h.drop, b.func),
        reserve: m.declare_func_in_func(h.reserve, b.func),
        overflow: m.declare_func_in_func(h.overflow, b.func),
        update: m.declare_func_in_func(h.update, b.func),
        library: m.declare_func_in_func(h.library, b.func),
        leave: None,
        leave_caller: None,
        sig: b.import_signature(sig.clone()),
        this: None,
    }
}

/// The signature of a direct entry with `params` arguments: `(place,
/// budget, (tag, payload)…) -> (tag, payload, budget)`, in Cranelift's
/// `tail` convention (three results in registers, and tail calls). See
/// `lower::direct`.
pub(super) fn direct_sig(params: usize) -> Signature {
    let mut s = Signature::new(cranelift_codegen::isa::CallConv::Tail);
    s.params.push(AbiParam::new(I64));
    s.params.push(AbiParam::new(I64));
    for _ in 0..params {
        s.params.push(AbiParam::new(I8));
        s.params.push(AbiParam::new(I64));
    }
    for t in [I8, I64, I64] {
        s.returns.push(AbiParam::new(t));
    }
    s
}

impl Drop for CodeMemory {
    fn drop(&mut self) {
        // SAFETY: `module` is taken once, here, and never used again. The
        // code memory goes with the `Jit`, which the engine drops only after
        // every process has stopped running, so no compiled function is
        // running or will be called again.
        unsafe {
            let module = std::mem::ManuallyDrop::take(&mut self.module);
            module.free_memory();
        }
    }
}

/// The tag byte of `Option::<Value>::None` in a variable slot. `None` is
/// stored in a tag value no `Value` variant uses (the niche), and which one
/// is up to the compiler (stable Rust picks 10 today, nightly 255), so it
/// is read, not assumed.
pub(super) fn none_tag() -> u8 {
    let none: Option<ttvm_runtime::Value> = None;
    // SAFETY: `Option<Value>` is 16 bytes with `Value`'s `#[repr(C, u8)]`
    // tag byte at offset 0, which the niche representation of `None`
    // initialises (the rest may be uninitialised and is not read).
    unsafe { *(&none as *const Option<ttvm_runtime::Value> as *const u8) }
}

/// Run compiled function `f` from entry block `block`.
pub(crate) fn enter(f: usize, env: *mut JitEnv, block: u32) -> u32 {
    // SAFETY: `f` was returned by `CodeMemory::compile` (a finalized
    // function of signature `CompiledFn`) and its memory lives as long as
    // the `Jit`, which outlives every slice. `env` points at a valid
    // `JitEnv`, used by nothing else until the call returns, whose stack
    // parts and frame pointer describe the running process (set by the
    // engine), and `block` is an index of the unit's entry table
    // (out-of-range indices go to the first block).
    unsafe {
        let f: CompiledFn = std::mem::transmute::<usize, CompiledFn>(f);
        f(env, block)
    }
}
