//! Code memory, the JIT's side of the helper table (symbols, declarations
//! and Cranelift signatures derived from the rows' Rust types, the
//! `Imports` a function calls them through) and calling compiled code.
//! Every `unsafe` of the JIT tier is in this file.

mod fold;

use crate::exec::native::{for_each_helper, CompiledFn, Helpers, JitEnv};
use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::ir::types::{I32, I64, I8};
use cranelift_codegen::ir::{AbiParam, FuncRef, Signature, Type, UserFuncName};
use cranelift_codegen::isa::{CallConv, OwnedTargetIsa};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_codegen::Context as CodegenContext;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{default_libcall_names, FuncId, Linkage, Module, ModuleReloc};

/// The Cranelift type of a Rust type passed between compiled code and
/// Rust (`extern "C"`): helper arguments and results, and compiled
/// functions' own. A type without an implementation cannot be in a
/// helper's row (`exec::native::for_each_helper!`).
pub(super) trait AbiType {
    const IR: Type;
}

impl AbiType for u8 {
    const IR: Type = I8;
}
impl AbiType for u32 {
    const IR: Type = I32;
}
impl AbiType for u64 {
    const IR: Type = I64;
}
impl AbiType for i64 {
    const IR: Type = I64;
}
impl AbiType for crate::exec::Addr {
    const IR: Type = I32;
}
impl AbiType for crate::exec::Dpc {
    const IR: Type = I32;
}
impl<T> AbiType for *mut T {
    const IR: Type = I64;
}
impl<T> AbiType for *const T {
    const IR: Type = I64;
}

#[cfg(not(target_pointer_width = "64"))]
compile_error!("the JIT passes pointers as 64-bit integers");

/// The Cranelift signature of an `extern "C"` function pointer type, from
/// its Rust parameter and result types.
pub(super) trait NativeSig {
    fn signature(cc: CallConv) -> Signature;
}

macro_rules! native_sig {
    ($($a:ident),*) => {
        impl<$($a: AbiType,)* R: AbiType> NativeSig for unsafe extern "C" fn($($a),*) -> R {
            fn signature(cc: CallConv) -> Signature {
                let mut s = Signature::new(cc);
                s.params.extend([$(AbiParam::new($a::IR)),*]);
                s.returns.push(AbiParam::new(R::IR));
                s
            }
        }
        impl<$($a: AbiType),*> NativeSig for unsafe extern "C" fn($($a),*) {
            fn signature(cc: CallConv) -> Signature {
                let mut s = Signature::new(cc);
                s.params.extend([$(AbiParam::new($a::IR)),*]);
                s
            }
        }
    };
}
native_sig!(A);
native_sig!(A, B);
native_sig!(A, B, C);
native_sig!(A, B, C, D);
native_sig!(A, B, C, D, E);
native_sig!(A, B, C, D, E, F);

/// The type of `Imports`' field for a helper of a scope.
macro_rules! import_ty {
    (unit) => {
        FuncRef
    };
    (direct) => {
        Option<FuncRef>
    };
}

/// A helper of a scope as an ordinary unit imports it.
macro_rules! import_in_unit {
    (unit, $m:expr, $id:expr, $b:expr) => {
        $m.declare_func_in_func($id, $b.func)
    };
    (direct, $m:expr, $id:expr, $b:expr) => {
        None
    };
}

/// What the helper table generates on the JIT's side: the `Imports` of a
/// function being built, the helpers' declarations in the module (name
/// `ttvm_NAME`, signature from the row's Rust types) and their symbols.
macro_rules! jit_helpers {
    ($(
        $(#[doc = $doc:literal])*
        $scope:ident $name:ident($($arg:ident: $ty:ty),*) $(-> $ret:ty)?;
    )*) => {
        /// The helpers and the compiled-function signature, as one function
        /// being built refers to them. Helpers of scope `direct` are
        /// `Some` in direct entries only.
        pub(super) struct Imports {
            $(
                $(#[doc = $doc])*
                pub $name: import_ty!($scope),
            )*
            /// Signature of compiled functions, for `call_indirect`.
            pub sig: cranelift_codegen::ir::SigRef,
            /// The function being built, when it is a direct entry (for
            /// calls to itself).
            pub this: Option<FuncRef>,
        }

        /// The helpers as declared in the module.
        struct HelperIds {
            $($name: FuncId,)*
        }

        impl HelperIds {
            /// Declare every helper in `module` (as imports).
            fn declare(module: &mut JITModule) -> Result<HelperIds, String> {
                let cc = module.isa().default_call_conv();
                Ok(HelperIds {
                    $(
                        $name: module
                            .declare_function(
                                concat!("ttvm_", stringify!($name)),
                                Linkage::Import,
                                &<unsafe extern "C" fn($($ty),*) $(-> $ret)? as NativeSig>::signature(cc),
                            )
                            .map_err(|e| e.to_string())?,
                    )*
                })
            }

            /// The helpers and the compiled-function signature, declared in
            /// the function `b` builds.
            fn imports(
                &self,
                m: &mut JITModule,
                sig: &Signature,
                b: &mut FunctionBuilder<'_>,
            ) -> Imports {
                Imports {
                    $($name: import_in_unit!($scope, m, self.$name, b),)*
                    sig: b.import_signature(sig.clone()),
                    this: None,
                }
            }

            /// What a direct entry (declared as `id`) imports besides the
            /// rest: itself and the `direct` helpers.
            fn direct_imports(
                &self,
                m: &mut JITModule,
                id: FuncId,
                b: &mut FunctionBuilder<'_>,
                imports: &mut Imports,
            ) {
                imports.this = Some(m.declare_func_in_func(id, b.func));
                $(import_in_direct!($scope, imports.$name, m, self.$name, b);)*
            }
        }

        /// Give the JIT the helpers' addresses under their names.
        fn helper_symbols(jb: &mut JITBuilder, h: &Helpers) {
            $(jb.symbol(concat!("ttvm_", stringify!($name)), h.$name as *const u8);)*
        }
    };
}

/// A helper of a scope as a direct entry imports it besides the rest.
macro_rules! import_in_direct {
    (unit, $field:expr, $m:expr, $id:expr, $b:expr) => {};
    (direct, $field:expr, $m:expr, $id:expr, $b:expr) => {
        $field = Some($m.declare_func_in_func($id, $b.func))
    };
}

for_each_helper!(jit_helpers);

/// Declaring a Cranelift variable under the number the translator gave
/// it: Cranelift (since 0.122) numbers variables itself, in the order they
/// are declared, and the translator declares them in the order of its
/// numbering (`lower`: budget, length, limit, locals pointer, then the
/// slots' tag and payload, then a direct entry's stack), which this
/// checks.
pub(super) trait DeclareAs {
    fn declare_as(&mut self, v: cranelift_frontend::Variable, ty: Type);
}

impl DeclareAs for FunctionBuilder<'_> {
    fn declare_as(&mut self, v: cranelift_frontend::Variable, ty: Type) {
        let got = self.declare_var(ty);
        assert_eq!(
            got, v,
            "variables are declared in the order of their numbers"
        );
    }
}

/// Which code generator compiles a function (docs/JIT.md, "Two tiers").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Tier {
    /// Cheap to compile: Cranelift's single-pass register allocator, no
    /// optimisation passes. A unit's first compilation when tiers are on.
    First,
    /// The optimising one: egraph optimisations and the backtracking
    /// allocator. Direct entries, units that stay hot, and every unit
    /// when tiers are off.
    Second,
}

/// A code generator for this host with `opt_level` and
/// `regalloc_algorithm`.
fn code_generator(opt_level: &str, regalloc: &str) -> Result<OwnedTargetIsa, String> {
    let mut flags = settings::builder();
    for (k, v) in [
        ("opt_level", opt_level),
        ("regalloc_algorithm", regalloc),
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
    cranelift_native::builder()
        .map_err(|e| format!("no native code for this host: {e}"))?
        .finish(settings::Flags::new(flags))
        .map_err(|e| e.to_string())
}

/// The JIT's code memory: a Cranelift JIT module and the reusable
/// compilation contexts.
pub(super) struct CodeMemory {
    module: std::mem::ManuallyDrop<JITModule>,
    /// The first tier's code generator (`Tier::First`): the single-pass
    /// register allocator, no optimisation.
    first: OwnedTargetIsa,
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
        let isa = code_generator("speed", "backtracking")?;
        let first = code_generator("none", "single_pass")?;
        let mut jb = JITBuilder::with_isa(isa, default_libcall_names());
        helper_symbols(&mut jb, h);
        let mut module = JITModule::new(jb);
        let helpers = HelperIds::declare(&mut module)?;
        let sig = <CompiledFn as NativeSig>::signature(module.isa().default_call_conv());
        Ok(CodeMemory {
            first,
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
        tier: Tier,
        dump: bool,
        build: impl FnOnce(&mut FunctionBuilder<'_>, &Imports) -> Result<(), String>,
    ) -> Result<Compiled, String> {
        let sig = self.sig.clone();
        self.compile_tier(name, "unit", sig, false, tier, dump, build)
    }

    /// Build and compile the direct entry of a function of `params`
    /// arguments returning `rets` values (see `jit::direct`).
    pub(super) fn compile_direct(
        &mut self,
        name: &str,
        (params, rets): (usize, usize),
        dump: bool,
        build: impl FnOnce(&mut FunctionBuilder<'_>, &Imports) -> Result<(), String>,
    ) -> Result<Compiled, String> {
        let sig = direct_sig(params, rets);
        self.compile_tier(name, "direct", sig, true, Tier::Second, dump, build)
    }

    /// Build and compile a function of signature `sig` (by the
    /// optimising code generator).
    pub(super) fn compile_with(
        &mut self,
        name: &str,
        kind: &str,
        sig: Signature,
        this: bool,
        dump: bool,
        build: impl FnOnce(&mut FunctionBuilder<'_>, &Imports) -> Result<(), String>,
    ) -> Result<Compiled, String> {
        self.compile_tier(name, kind, sig, this, Tier::Second, dump, build)
    }

    /// Build a function of signature `sig` with `build` (`this`: a direct
    /// entry, which calls itself), compile it with `tier`'s code
    /// generator and make it callable.
    #[allow(clippy::too_many_arguments)]
    fn compile_tier(
        &mut self,
        name: &str,
        kind: &str,
        sig: Signature,
        this: bool,
        tier: Tier,
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
            let mut imports = self.helpers.imports(&mut self.module, &self.sig, &mut b);
            if this {
                self.helpers
                    .direct_imports(&mut self.module, id, &mut b, &mut imports);
            }
            build(&mut b, &imports)?;
            b.seal_all_blocks();
            b.finalize();
            if fold_branches() {
                fold::constant_branches(&mut self.ctx.func);
            }
            dump.then(|| format!("; {name}\n{}", self.ctx.func.display()))
        };
        self.ctx.set_disasm(dump);
        match tier {
            Tier::Second => self
                .module
                .define_function(id, &mut self.ctx)
                .map_err(|e| format!("{e:?}"))?,
            Tier::First => {
                // What `JITModule::define_function` does, with the first
                // tier's code generator instead of the module's.
                let isa = &*self.first;
                let align = self
                    .ctx
                    .compile(isa, &mut ControlPlane::default())
                    .map_err(|e| format!("{:?}", e.inner))?
                    .buffer
                    .alignment as u64;
                let align = align
                    .max(isa.function_alignment().minimum as u64)
                    .max(isa.symbol_alignment());
                let code = self.ctx.compiled_code().ok_or("no code")?;
                let relocs: Vec<ModuleReloc> = code
                    .buffer
                    .relocs()
                    .iter()
                    .map(|r| ModuleReloc::from_mach_reloc(r, &self.ctx.func, id))
                    .collect();
                self.module
                    .define_function_bytes(id, align, code.code_buffer(), &relocs)
                    .map_err(|e| format!("{e:?}"))?
            }
        }
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

    /// The host's calling convention (of units, helpers and trampolines).
    pub(super) fn call_conv(&self) -> CallConv {
        self.module.isa().default_call_conv()
    }

    /// The IR of a direct entry of `params` arguments `build` makes,
    /// without compiling it (for tests).
    pub(super) fn ir_only_direct(
        &mut self,
        (params, rets): (usize, usize),
        build: impl FnOnce(&mut FunctionBuilder<'_>, &Imports) -> Result<(), String>,
    ) -> Result<String, String> {
        self.count += 1;
        let sig = direct_sig(params, rets);
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
        let mut imports = self.helpers.imports(&mut self.module, &self.sig, &mut b);
        if let Some(id) = this {
            self.helpers
                .direct_imports(&mut self.module, id, &mut b, &mut imports);
        }
        build(&mut b, &imports)?;
        b.seal_all_blocks();
        b.finalize();
        let text = self.ctx.func.display().to_string();
        self.module.clear_context(&mut self.ctx);
        Ok(text)
    }
}

/// Environment variable that turns off the folding of branches on
/// constants (`fold`) when it is `0`: for measuring what it saves.
pub(super) const FOLD_VAR: &str = "TTVM_JIT_FOLD";

/// Whether compiled functions get their branches on constants folded
/// (`fold`) before Cranelift: yes unless `TTVM_JIT_FOLD=0`. The snapshot
/// tests' IR (`ir_only`) is the translator's, unfolded.
fn fold_branches() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var(FOLD_VAR).map_or(true, |v| v != "0"))
}

/// The signature of a direct entry with `params` arguments: `(place,
/// budget, (tag, payload)…) -> (tag, payload, budget)`, in Cranelift's
/// `tail` convention (three results in registers, and tail calls). See
/// `lower::direct`.
pub(super) fn direct_sig(params: usize, rets: usize) -> Signature {
    let mut s = Signature::new(cranelift_codegen::isa::CallConv::Tail);
    s.params.push(AbiParam::new(I64));
    s.params.push(AbiParam::new(I64));
    for _ in 0..params {
        s.params.push(AbiParam::new(I8));
        s.params.push(AbiParam::new(I64));
    }
    // Each value returned (one pair for none: its tag tells a frame that
    // left), then the budget.
    for _ in 0..rets.max(1) {
        s.returns.push(AbiParam::new(I8));
        s.returns.push(AbiParam::new(I64));
    }
    s.returns.push(AbiParam::new(I64));
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

/// Resume a direct frame (`jit::resume`): call direct entry `f` through
/// the resume trampoline `tramp` with `place` and `budget`; its first
/// value's tag and payload, the budget, then the other values' tags and
/// payloads (up to `direct::MAX_RETURNS` values).
pub(crate) fn enter_resumed(
    tramp: usize,
    f: usize,
    place: u64,
    budget: i64,
) -> [u64; 1 + 2 * super::direct::MAX_RETURNS] {
    let mut out = [0u64; 1 + 2 * super::direct::MAX_RETURNS];
    // SAFETY: `tramp` was compiled by `jit::resume::build_trampoline` for
    // the argument count of `f`'s direct entry (a finalized function of
    // this signature), and both live as long as the `Jit`. `place` points
    // at the record the engine made for the frame (`jit::resume::Record`),
    // alive until the call returns; `ENV` and the `JitEnv` describe the
    // process (set by the engine) for the `leave` helpers.
    unsafe {
        let t = std::mem::transmute::<usize, unsafe extern "C" fn(u64, u64, i64, *mut u64)>(tramp);
        t(f as u64, place, budget, out.as_mut_ptr());
    }
    out
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
