//! The harness behind gc-lower's benchmarks: the workloads, and the four forms each one runs in.
//!
//! A workload is a component (hand-written in `benches/workloads/*.wat`, or the C program
//! `benches/workloads/c-memory.c` built by clang-19: [`c_memory`]) whose exports take and return
//! scalars only, so that the host side of a call is the same small thing in every form:
//!
//! - [`Form::Native`]: the original component on wasmtime's component runtime;
//! - [`Form::Graph`]: `gc_lower::module_graph::lower_graph`, the module-graph form (each core module
//!   instantiated on its own), loaded by `gc_lower::module_graph::instantiate` on wasmtime's core API;
//! - [`Form::All`]: `gc_lower::lower` with [`ReifyMode::All`], on wasmtime's core API with GC;
//! - [`Form::Auto`]: the same with [`ReifyMode::Auto`].
//!
//! A lowered module exports `_initialize`, which builds every instance's state and must run
//! before any other export; its exports follow the component model's guest core ABI, so a
//! component export `sum-i32: func() -> u32` is the core export `sum-i32` of type
//! `[] -> [i32]`. [`Compiled::instantiate`] runs `_initialize`; [`Instance::call`] runs one
//! kernel.
//!
//! Every benchmark first calls [`Prepared::check`], which runs each kernel once in all four
//! forms on fresh instances and fails unless the results agree, so no benchmark ever times
//! wrong code.

use std::time::Duration;

use anyhow::{Context as _, Result, bail, ensure};
pub use gc_lower::ReifyMode;
pub use gc_lower::memory_access::MemoryAccess;
use wasmtime::component::{self, TypedFunc as CompFunc};
use wasmtime::{Config, Engine, Store, TypedFunc};

pub mod apps;
pub mod generate;

/// How a workload runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// The original component on wasmtime's component runtime.
    Native,
    /// The module graph (`gc-lower graph`) on wasmtime's core API.
    Graph,
    /// The lowered module (`--reify all`) on wasmtime's core API.
    All,
    /// The lowered module (`--reify auto`) on wasmtime's core API.
    Auto,
    /// The lowered module (`--reify all`) with the memory-access emitter that calls a helper
    /// per load and store ([`gc_lower::memory_access::MemoryAccess::Helper`]), to compare with.
    AllHelper,
    /// The lowered module (`--reify all`) with every load and store in a loop inline, calls or
    /// not ([`gc_lower::memory_access::MemoryAccess::InlineAllLoops`], the inline emitter
    /// before it kept to loops without calls), to compare with.
    AllEveryLoop,
}

impl Form {
    /// The four forms, in the order the tables list them.
    pub const ALL: [Form; 4] = [Form::Native, Form::Graph, Form::All, Form::Auto];

    /// [`Form::ALL`], [`Form::AllHelper`] and [`Form::AllEveryLoop`].
    pub const WITH_HELPER: [Form; 6] = [
        Form::Native,
        Form::Graph,
        Form::All,
        Form::Auto,
        Form::AllHelper,
        Form::AllEveryLoop,
    ];

    /// The short name used in benchmark ids: `native`, `graph`, `reify-all`, `reify-auto`.
    pub fn name(self) -> &'static str {
        match self {
            Form::Native => "native",
            Form::Graph => "graph",
            Form::All => "reify-all",
            Form::Auto => "reify-auto",
            Form::AllHelper => "reify-all-helper",
            Form::AllEveryLoop => "reify-all-every-loop",
        }
    }
}

/// The shape of a kernel's component function: no parameter or one `u32`; no result, a `u32`
/// or a `u64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sig {
    /// `func() -> u32`
    ToU32,
    /// `func(u32) -> u32`
    U32ToU32,
    /// `func() -> u64`
    ToU64,
    /// `func(u32)`
    U32ToUnit,
}

/// One timed call: export `export` of shape `sig` called with `arg` (ignored when the shape
/// takes no parameter).
#[derive(Debug, Clone, Copy)]
pub struct Kernel {
    /// The benchmark id within its workload.
    pub name: &'static str,
    /// The component export (and core export of the lowered module).
    pub export: &'static str,
    /// The export's shape.
    pub sig: Sig,
    /// The argument, when the shape has a parameter.
    pub arg: u32,
}

/// A component and the kernels measured on it.
#[derive(Debug, Clone, Copy)]
pub struct Workload {
    /// The workload's name: its source is `benches/workloads/{name}.wat`, or `{name}.c` for
    /// [`c_memory`], which compiles it on each call.
    pub name: &'static str,
    /// The component, in the WebAssembly text format.
    pub wat: &'static str,
    /// Calls made once on a fresh instance before any kernel runs.
    pub setup: &'static [Kernel],
    /// The measured calls.
    pub kernels: &'static [Kernel],
    /// Whether the component uses the component model's async ABI: natively it then runs on
    /// an engine with wasmtime's concurrency support and the async features on, each call
    /// through `call_async` run to completion.
    pub concurrent: bool,
}

const fn kernel(name: &'static str, export: &'static str, sig: Sig, arg: u32) -> Kernel {
    Kernel {
        name,
        export,
        sig,
        arg,
    }
}

/// Memory-heavy kernels, each one pass over 1 MiB, in a module instantiated twice.
pub const MEMORY: Workload = Workload {
    name: "memory",
    wat: include_str!("../workloads/memory.wat"),
    setup: &[
        kernel("init", "init", Sig::U32ToUnit, 7),
        kernel("b-init", "b-init", Sig::U32ToUnit, 0),
    ],
    kernels: &[
        kernel("sum-i32", "sum-i32", Sig::ToU32, 0),
        kernel("sum-i64", "sum-i64", Sig::ToU64, 0),
        kernel("bytes", "bytes", Sig::ToU32, 0),
        kernel("copy-words", "copy-words", Sig::ToU32, 0),
        kernel("memory.copy", "copy-bulk", Sig::ToU32, 0),
        kernel("memory.fill", "fill", Sig::U32ToU32, 0xa5),
        kernel("fnv1a", "fnv1a", Sig::ToU32, 0),
        kernel("store-i32", "init", Sig::U32ToUnit, 7),
    ],
    concurrent: false,
};

/// Call-heavy kernels: 200 000 calls across instances, 100 000 `call_indirect`s through
/// another instance's table, 100 000 through an instance's own private table.
pub const CALLS: Workload = Workload {
    name: "calls",
    wat: include_str!("../workloads/calls.wat"),
    setup: &[],
    kernels: &[
        kernel("cross-instance", "cross", Sig::U32ToU32, 100_000),
        kernel("call_indirect", "indirect", Sig::U32ToU32, 100_000),
        kernel("call_indirect-own", "own-indirect", Sig::U32ToU32, 100_000),
    ],
    concurrent: false,
};

/// Canonical ABI between two components: 1000 round trips of a 64-byte string (UTF-8 on both
/// sides, and UTF-8 to UTF-16 and back), 1000 calls with a list of 16 records.
pub const CANON: Workload = Workload {
    name: "canon",
    wat: include_str!("../workloads/canon.wat"),
    setup: &[],
    kernels: &[
        kernel("string-roundtrip", "strings", Sig::U32ToU32, 1000),
        kernel("utf16-roundtrip", "strings16", Sig::U32ToU32, 1000),
        kernel("list-of-records", "records", Sig::U32ToU32, 1000),
    ],
    concurrent: false,
};

/// The hand-written workloads; [`workloads`] adds the C one.
pub const WORKLOADS: [Workload; 3] = [MEMORY, CALLS, CANON];

/// The async ABI: a `stream<u8>` of 1 MiB written in 4 KiB chunks by one component's callback
/// task and read in 4 KiB sync reads by another's (`benches/workloads/stream.wat`).
pub const STREAM: Workload = Workload {
    name: "stream",
    wat: include_str!("../workloads/stream.wat"),
    setup: &[],
    kernels: &[kernel("1mib-in-4kib-chunks", "stream", Sig::ToU32, 0)],
    concurrent: true,
};

/// The async ABI with many tasks at once: 1000 subtasks started and waited for on one
/// waitable set, each waiting on a set of its own for a subtask that yields once
/// (`benches/workloads/fanout.wat`): the scheduler's cost in the number of tasks and handles.
pub const FANOUT: Workload = Workload {
    name: "fanout",
    wat: include_str!("../workloads/fanout.wat"),
    setup: &[],
    kernels: &[kernel("1000-subtasks", "fanout", Sig::U32ToU32, 1000)],
    concurrent: true,
};

/// The workloads that use the async ABI: jco runs their original only with JSPI, so on V8
/// and JavaScriptCore `benches/v8/core.mjs` runs their lowered forms and module graph alone.
pub const ASYNC_WORKLOADS: [Workload; 2] = [STREAM, FANOUT];

/// The lowered forms that `prepare-v8` writes and the app benches measure, by file or id
/// name: `--reify all` and `--reify auto` with the default emitter, and `--reify all` with one
/// helper call per load and store (the emitter before the inline one, kept to compare with).
pub const LOWERED_FORMS: [(&str, ReifyMode, MemoryAccess); 3] = [
    ("reify-all", ReifyMode::All, MemoryAccess::FastPath),
    ("reify-auto", ReifyMode::Auto, MemoryAccess::FastPath),
    ("reify-all-helper", ReifyMode::All, MemoryAccess::Helper),
];

/// Whether clang-19 can be run; when it cannot, says so on standard error for `what`.
fn have_clang(what: &str) -> bool {
    let found = std::process::Command::new("clang-19")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!(
            "{what}: clang-19 not found (Debian: clang-19 lld-19 libclang-rt-19-dev-wasm32 \
             wasi-libc), skipped"
        );
    }
    found
}

/// Compiles the C files `sources` with clang-19 against wasi-libc as a library module (no
/// entry point, no start files), with `flags` added; the core module's bytes.
fn compile_library(sources: &[std::path::PathBuf], flags: &[&str]) -> Result<Vec<u8>> {
    let dir = tempfile::tempdir()?;
    let out = dir.path().join("library.wasm");
    let output = std::process::Command::new("clang-19")
        .args([
            "--target=wasm32-wasi",
            "--sysroot=/usr",
            "-O2",
            "-Wall",
            "-Wextra",
            "-Werror",
        ])
        .args(["-nostartfiles", "-Wl,--no-entry"])
        .args(flags)
        .args(sources)
        .arg("-o")
        .arg(&out)
        .output()
        .context("failed to run clang-19")?;
    ensure!(
        output.status.success(),
        "clang-19 failed on {sources:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(std::fs::read(&out)?)
}

/// The WASI 0.3 command `tests/c/upper.c` (standard input copied to standard output
/// upper-cased, through the host's streams) as a component: its bindings made by
/// wit-bindgen's C generator from `tests/c/wasi-0.3/upper.wit`, compiled by clang-19, made a
/// component by wit-component. `None` when clang-19 cannot be run.
pub fn wasi_upper() -> Result<Option<Vec<u8>>> {
    if !have_clang("wasi-upper") {
        return Ok(None);
    }
    let c = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/c");
    let mut resolve = wit_parser::Resolve::default();
    let package = resolve.push_path(c.join("wasi-0.3"))?.0;
    let world = resolve.select_world(&[package], Some("upper"))?;
    let mut files = wit_bindgen_core::Files::default();
    wit_bindgen_c::Opts::default()
        .build()
        .generate(&mut resolve, world, &mut files)?;
    let dir = tempfile::tempdir()?;
    let mut sources = vec![c.join("upper.c")];
    for (file, text) in files.iter() {
        std::fs::write(dir.path().join(file), text)?;
        if !file.ends_with(".h") {
            sources.push(dir.path().join(file));
        }
    }
    let include = format!("-I{}", dir.path().display());
    let core = compile_library(&sources, &[&include])?;
    let component = wit_component::ComponentEncoder::default()
        .validate(true)
        .module(&core)?
        .encode()?;
    Ok(Some(component))
}

/// The `c-memory` workload: `benches/workloads/c-memory.c` (qsort, hashing, `memcpy` and
/// `memset` over buffers from `malloc`) built by clang-19 against wasi-libc as a library
/// module, instantiated twice in a component (the second instance is set up too, so the two
/// memories are both in use). `None`, with a message on standard error, when clang-19 cannot
/// be run; an error when it fails.
pub fn c_memory() -> Result<Option<Workload>> {
    const SETUP: &[Kernel] = &[
        kernel("setup", "setup", Sig::U32ToUnit, 7),
        kernel("b-setup", "b-setup", Sig::U32ToUnit, 11),
    ];
    const KERNELS: &[Kernel] = &[
        kernel("qsort", "sort", Sig::ToU32, 0),
        kernel("hash", "hash", Sig::ToU32, 0),
        kernel("memcpy", "copy", Sig::U32ToU32, 5),
    ];
    if !have_clang("c-memory") {
        return Ok(None);
    }
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("workloads/c-memory.c");
    let core = compile_library(&[source], &[])?;
    let module = wasmprinter::print_bytes(core)?;
    // The first line is `(module` and the module's name, which the component text replaces.
    let (first, fields) = module
        .split_once('\n')
        .context("wasmprinter printed one line")?;
    ensure!(
        first.starts_with("(module"),
        "wasmprinter printed `{first}`"
    );
    let mut wat = format!("(component\n  (core module $C\n{fields}\n");
    wat.push_str(
        r#"  (core instance $a (instantiate $C))
  (core instance $b (instantiate $C))
  (func (export "setup") (param "seed" u32) (canon lift (core func $a "setup")))
  (func (export "sort") (result u32) (canon lift (core func $a "sort")))
  (func (export "hash") (result u32) (canon lift (core func $a "hash")))
  (func (export "copy") (param "shift" u32) (result u32) (canon lift (core func $a "copy")))
  (func (export "b-setup") (param "seed" u32) (canon lift (core func $b "setup"))))
"#,
    );
    Ok(Some(Workload {
        name: "c-memory",
        wat: Box::leak(wat.into_boxed_str()),
        setup: SETUP,
        kernels: KERNELS,
        concurrent: false,
    }))
}

/// [`WORKLOADS`], then [`c_memory`] when clang-19 is there.
pub fn workloads() -> Result<Vec<Workload>> {
    let mut all = WORKLOADS.to_vec();
    all.extend(c_memory()?);
    Ok(all)
}

/// The generated component of the lowering benchmarks ([`generate::large_component`] with
/// [`generate::LIB_FUNCS`] and [`generate::APP_FUNCS`] functions), with two calls to check
/// its lowered forms by: a chain of about 4000 calls in the module instantiated twice, and a
/// call from the module instantiated once into it.
pub fn generated() -> Workload {
    const KERNELS: &[Kernel] = &[
        kernel("deep", "a-f3990", Sig::U32ToU32, 5),
        kernel("app", "h999", Sig::U32ToU32, 77),
    ];
    let wat = generate::large_component(generate::LIB_FUNCS, generate::APP_FUNCS);
    Workload {
        name: "generated",
        wat: Box::leak(wat.into_boxed_str()),
        setup: &[],
        kernels: KERNELS,
        concurrent: false,
    }
}

/// The engine configuration of each form: gc-lower's one wasmtime configuration
/// ([`gc_lower::run::config`]: the component model, Wasm GC with wasmtime's default deferred
/// reference-counting collector, and the proposals that [`gc_lower::output_features`] lists) for
/// every form, so that the forms differ only in what runs.
///
/// `GC_LOWER_BENCH_COLLECTOR=null` selects wasmtime's null collector instead (no read or write
/// barriers, nothing is ever freed: for workloads that allocate little, such as `calls` and
/// `memory`), to measure what the collector's barriers cost the reified forms.
/// `GC_LOWER_BENCH_PERFMAP=1` turns on wasmtime's `PerfMap` profiler, so that `perf record`
/// of a benchmark names the compiled functions (`/tmp/perf-PID.map`).
pub fn config(form: Form) -> Config {
    config_for(form, false)
}

/// [`config`], with wasmtime's concurrency support and the component model's async features
/// on for the native form of a workload that uses the async ABI (`concurrent`).
pub fn config_for(form: Form, concurrent: bool) -> Config {
    let mut config = gc_lower::run::config();
    if concurrent && form == Form::Native {
        config
            .concurrency_support(true)
            .wasm_component_model_async(true)
            .wasm_component_model_more_async_builtins(true);
    }
    if std::env::var("GC_LOWER_BENCH_COLLECTOR").as_deref() == Ok("null") {
        config.collector(wasmtime::Collector::Null);
    }
    if std::env::var("GC_LOWER_BENCH_PERFMAP").as_deref() == Ok("1") {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    config
}

/// The component binary of a workload.
pub fn component_bytes(workload: &Workload) -> Result<Vec<u8>> {
    wat::parse_str(workload.wat).with_context(|| format!("failed to parse `{}`", workload.name))
}

/// Lowers `component` (binary) with `mode`.
pub fn lower(component: &[u8], mode: ReifyMode) -> Result<Vec<u8>> {
    lower_with(component, mode, MemoryAccess::default())
}

/// Lowers `component` (binary) with `mode` and the memory-access emitter `access`.
pub fn lower_with(component: &[u8], mode: ReifyMode, access: MemoryAccess) -> Result<Vec<u8>> {
    gc_lower::lower(
        component,
        &gc_lower::Options {
            reify: mode,
            memory_access: access,
            ..Default::default()
        },
    )
}

/// A workload compiled in one form, ready to be instantiated many times.
pub struct Compiled {
    form: Form,
    engine: Engine,
    code: Code,
}

/// Pre-instantiated code: imports resolved (there are none), types checked once. A module
/// graph is compiled once; its loader resolves imports per instantiation.
enum Code {
    Component(component::InstancePre<()>),
    Module(wasmtime::InstancePre<()>),
    Graph(gc_lower::module_graph::ModuleGraph, Vec<wasmtime::Module>),
}

impl Compiled {
    /// Compiles `component` (binary) in `form`, lowering it first for the lowered forms.
    pub fn new(component: &[u8], form: Form) -> Result<Compiled> {
        Compiled::new_for(component, form, false)
    }

    /// [`Compiled::new`], natively with the async ABI's engine settings when `concurrent`
    /// ([`config_for`]).
    pub fn new_for(component: &[u8], form: Form, concurrent: bool) -> Result<Compiled> {
        let engine = Engine::new(&config_for(form, concurrent)).map_err(anyhow::Error::from)?;
        let code = match form {
            Form::Native => {
                let c = component::Component::new(&engine, component)
                    .map_err(anyhow::Error::from)
                    .context("failed to compile the component")?;
                let pre = component::Linker::new(&engine)
                    .instantiate_pre(&c)
                    .map_err(anyhow::Error::from)?;
                Code::Component(pre)
            }
            Form::Graph => {
                let graph = gc_lower::module_graph::lower_graph(component, ReifyMode::Auto)?;
                let modules = gc_lower::module_graph::compile(&engine, &graph)?;
                Code::Graph(graph, modules)
            }
            Form::All | Form::Auto | Form::AllHelper | Form::AllEveryLoop => {
                let (mode, access) = match form {
                    Form::All => (ReifyMode::All, MemoryAccess::FastPath),
                    Form::AllHelper => (ReifyMode::All, MemoryAccess::Helper),
                    Form::AllEveryLoop => (ReifyMode::All, MemoryAccess::InlineAllLoops),
                    _ => (ReifyMode::Auto, MemoryAccess::FastPath),
                };
                let lowered = lower_with(component, mode, access)?;
                let m = wasmtime::Module::new(&engine, &lowered)
                    .map_err(anyhow::Error::from)
                    .context("failed to compile the lowered module")?;
                let pre = wasmtime::Linker::new(&engine)
                    .instantiate_pre(&m)
                    .map_err(anyhow::Error::from)?;
                Code::Module(pre)
            }
        };
        Ok(Compiled { form, engine, code })
    }

    /// The form this was compiled in.
    pub fn form(&self) -> Form {
        self.form
    }

    /// A new instance in a new store: the component instantiated by wasmtime, or the lowered
    /// module instantiated (it has no imports) and its `_initialize` run. Both forms are
    /// pre-instantiated (`InstancePre`), as an embedder that instantiates often would do.
    pub fn instantiate(&self) -> Result<Instance> {
        let mut store = Store::new(&self.engine, ());
        let inner = match &self.code {
            Code::Component(pre) => {
                let instance = if self.engine.get_concurrency_support() {
                    futures::executor::block_on(pre.instantiate_async(&mut store))
                } else {
                    pre.instantiate(&mut store)
                };
                Inner::Component(instance.map_err(anyhow::Error::from)?)
            }
            Code::Module(pre) => {
                let instance = pre.instantiate(&mut store).map_err(anyhow::Error::from)?;
                let init = instance
                    .get_typed_func::<(), ()>(&mut store, "_initialize")
                    .map_err(anyhow::Error::from)?;
                init.call(&mut store, ()).map_err(anyhow::Error::from)?;
                Inner::Module(instance)
            }
            Code::Graph(graph, modules) => {
                let linker = wasmtime::Linker::new(&self.engine);
                Inner::Graph(gc_lower::module_graph::instantiate(
                    &mut store, graph, modules, &linker,
                )?)
            }
        };
        Ok(Instance { store, inner })
    }
}

/// An instance of a workload in its own store.
pub struct Instance {
    store: Store<()>,
    inner: Inner,
}

enum Inner {
    Component(component::Instance),
    Module(wasmtime::Instance),
    Graph(gc_lower::module_graph::GraphInstance),
}

/// A kernel's export, resolved and typed once so that timing covers only the call.
pub enum Bound {
    /// Native `func() -> u32`.
    NativeToU32(CompFunc<(), (u32,)>),
    /// Native `func(u32) -> u32`.
    NativeU32ToU32(CompFunc<(u32,), (u32,)>),
    /// Native `func() -> u64`.
    NativeToU64(CompFunc<(), (u64,)>),
    /// Native `func(u32)`.
    NativeU32ToUnit(CompFunc<(u32,), ()>),
    /// Lowered `[] -> [i32]`.
    CoreToU32(TypedFunc<(), i32>),
    /// Lowered `[i32] -> [i32]`.
    CoreU32ToU32(TypedFunc<i32, i32>),
    /// Lowered `[] -> [i64]`.
    CoreToU64(TypedFunc<(), i64>),
    /// Lowered `[i32] -> []`.
    CoreU32ToUnit(TypedFunc<i32, ()>),
}

impl Instance {
    /// Resolves the export of `kernel`. Errors: no such export, or another type.
    pub fn bind(&mut self, kernel: &Kernel) -> Result<Bound> {
        let store = &mut self.store;
        let name = kernel.export;
        let bound = match &self.inner {
            Inner::Component(i) => match kernel.sig {
                Sig::ToU32 => Bound::NativeToU32(i.get_typed_func(&mut *store, name)?),
                Sig::U32ToU32 => Bound::NativeU32ToU32(i.get_typed_func(&mut *store, name)?),
                Sig::ToU64 => Bound::NativeToU64(i.get_typed_func(&mut *store, name)?),
                Sig::U32ToUnit => Bound::NativeU32ToUnit(i.get_typed_func(&mut *store, name)?),
            },
            Inner::Module(i) => match kernel.sig {
                Sig::ToU32 => Bound::CoreToU32(i.get_typed_func(&mut *store, name)?),
                Sig::U32ToU32 => Bound::CoreU32ToU32(i.get_typed_func(&mut *store, name)?),
                Sig::ToU64 => Bound::CoreToU64(i.get_typed_func(&mut *store, name)?),
                Sig::U32ToUnit => Bound::CoreU32ToUnit(i.get_typed_func(&mut *store, name)?),
            },
            Inner::Graph(g) => {
                let f = g
                    .get_func(name)
                    .with_context(|| format!("the module graph has no export `{name}`"))?;
                match kernel.sig {
                    Sig::ToU32 => Bound::CoreToU32(f.typed(&*store)?),
                    Sig::U32ToU32 => Bound::CoreU32ToU32(f.typed(&*store)?),
                    Sig::ToU64 => Bound::CoreToU64(f.typed(&*store)?),
                    Sig::U32ToUnit => Bound::CoreU32ToUnit(f.typed(&*store)?),
                }
            }
        };
        Ok(bound)
    }

    /// Calls `bound` with `arg`; the result as a `u64` (0 for no result).
    pub fn call(&mut self, bound: &Bound, arg: u32) -> Result<u64> {
        let s = &mut self.store;
        if s.engine().get_concurrency_support() {
            // As wasmtime's own harness runs the async ABI: the call runs to completion under
            // the store's event loop.
            use futures::executor::block_on;
            let r = match bound {
                Bound::NativeToU32(f) => u64::from(block_on(f.call_async(&mut *s, ()))?.0),
                Bound::NativeU32ToU32(f) => u64::from(block_on(f.call_async(&mut *s, (arg,)))?.0),
                Bound::NativeToU64(f) => block_on(f.call_async(&mut *s, ()))?.0,
                Bound::NativeU32ToUnit(f) => {
                    block_on(f.call_async(&mut *s, (arg,)))?;
                    0
                }
                _ => bail!("internal: a core function on a component engine"),
            };
            return Ok(r);
        }
        let r = match bound {
            Bound::NativeToU32(f) => u64::from(f.call(&mut *s, ())?.0),
            Bound::NativeU32ToU32(f) => u64::from(f.call(&mut *s, (arg,))?.0),
            Bound::NativeToU64(f) => f.call(&mut *s, ())?.0,
            Bound::NativeU32ToUnit(f) => {
                f.call(&mut *s, (arg,))?;
                0
            }
            // The lowered module's `i32`/`i64` carry the `u32`/`u64` bit patterns.
            Bound::CoreToU32(f) => u64::from(f.call(&mut *s, ())? as u32),
            Bound::CoreU32ToU32(f) => u64::from(f.call(&mut *s, arg as i32)? as u32),
            Bound::CoreToU64(f) => f.call(&mut *s, ())? as u64,
            Bound::CoreU32ToUnit(f) => {
                f.call(&mut *s, arg as i32)?;
                0
            }
        };
        Ok(r)
    }

    /// Binds and calls `kernel` once.
    pub fn run(&mut self, kernel: &Kernel) -> Result<u64> {
        let bound = self.bind(kernel)?;
        self.call(&bound, kernel.arg)
            .with_context(|| format!("`{}` failed", kernel.export))
    }
}

/// The workload compiled in every form.
pub struct Prepared {
    /// The workload.
    pub workload: Workload,
    /// One compilation per form, in the order given (by default [`Form::ALL`]).
    pub forms: Vec<Compiled>,
}

impl Prepared {
    /// Parses, lowers and compiles `workload` in every form of [`Form::ALL`].
    pub fn new(workload: Workload) -> Result<Prepared> {
        Prepared::with_forms(workload, &Form::ALL)
    }

    /// Parses, lowers and compiles `workload` in each of `forms`.
    pub fn with_forms(workload: Workload, forms: &[Form]) -> Result<Prepared> {
        let bytes = component_bytes(&workload)?;
        let forms = forms
            .iter()
            .map(|&f| {
                Compiled::new_for(&bytes, f, workload.concurrent)
                    .with_context(|| format!("form `{}` failed", f.name()))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Prepared { workload, forms })
    }

    /// A fresh instance of the workload in `form` with its setup calls done.
    pub fn ready(&self, form: Form) -> Result<Instance> {
        let compiled = self
            .forms
            .iter()
            .find(|c| c.form == form)
            .context("form not compiled")?;
        let mut instance = compiled.instantiate()?;
        for k in self.workload.setup {
            instance.run(k)?;
        }
        Ok(instance)
    }

    /// Runs every kernel once in every form, each on a fresh instance, and fails unless the
    /// lowered forms give the native result. Returns the native results, in kernel order.
    pub fn check(&self) -> Result<Vec<u64>> {
        let mut expected = Vec::new();
        for k in self.workload.kernels {
            let mut results = Vec::new();
            let forms: Vec<Form> = self.forms.iter().map(|c| c.form).collect();
            for &form in &forms {
                let r = self
                    .ready(form)
                    .and_then(|mut i| i.run(k))
                    .with_context(|| {
                        format!(
                            "`{}` / `{}` in form `{}`",
                            self.workload.name,
                            k.name,
                            form.name()
                        )
                    })?;
                results.push(r);
            }
            if results.iter().any(|r| *r != results[0]) {
                let all: Vec<String> = forms
                    .iter()
                    .zip(&results)
                    .map(|(f, r)| format!("{} {r}", f.name()))
                    .collect();
                bail!(
                    "`{}` / `{}`: {}",
                    self.workload.name,
                    k.name,
                    all.join(", ")
                );
            }
            expected.push(results[0]);
        }
        Ok(expected)
    }
}

/// The byte lengths of the core modules that `component` (binary) defines, nested components
/// included; each module section counts once however often it is instantiated.
pub fn core_module_sizes(component: &[u8]) -> Result<Vec<usize>> {
    use wasmtime_environ::wasmparser::{Parser, Payload};
    let mut sizes = Vec::new();
    for payload in Parser::new(0).parse_all(component) {
        if let Payload::ModuleSection {
            unchecked_range, ..
        } = payload?
        {
            sizes.push(unchecked_range.len());
        }
    }
    ensure!(!sizes.is_empty(), "the component defines no core module");
    Ok(sizes)
}

/// Validates `component` (binary) with wasmparser and the features gc-lower accepts, as
/// `wasm-tools validate` would.
pub fn validate_component(component: &[u8]) -> Result<()> {
    wasmtime_environ::wasmparser::Validator::new_with_features(gc_lower::front::input_features())
        .validate_all(component)?;
    Ok(())
}

/// The criterion settings every benchmark uses: 10 samples, 1 s of warm-up, 3 s of
/// measurement per benchmark.
pub fn timing() -> (usize, Duration, Duration) {
    (10, Duration::from_secs(1), Duration::from_secs(3))
}
