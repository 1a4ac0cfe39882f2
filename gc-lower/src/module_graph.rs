//! The module-graph form (`gc-lower graph`): the component as *N core modules plus
//! metadata*, the baseline that the single-module output is measured against.
//!
//! Every static module is kept byte for byte and instantiated once per core instance, as a
//! component runtime would; what a component runtime provides natively is wasm here too:
//!
//! - `trampolines.wasm`, instantiated first: the component-instance flags globals (`flagsN`),
//!   resource handle tables and the resource built-ins, FACT's resource transfers and call
//!   scopes, lowered host imports (`tN`, one export per trampoline; `aN.P` for FACT's
//!   per-adapter task built-ins, which instance `N` imports at position `P`), the context
//!   intrinsics (`intrinsic.NAME`), and what the host calls in place of a core instance's
//!   function (`export:NAME`: destructors of exported resources, post-returns with their
//!   flags, and for an async component the tasks of lifts the host calls). For an async
//!   component it holds the single module's whole async runtime (`crate::tasks`, streams,
//!   futures, error contexts) and exports its task's may-block flag (`may-block`). It imports
//!   the host's functions under the guest core ABI's names, exactly as the single-module
//!   output does. Functions of core instances it needs (destructors, host adapters' entry
//!   points, callbacks, reallocs) are created after it, so it calls them through its exported
//!   funcref table `late`, which the loader fills as soon as their instance exists.
//! - `memory.wasm` (`accessor_module`): loads, stores and `memory.copy` over two imported
//!   memories, through which the trampolines module reaches the memories of core instances
//!   (`crate::layout::StateTarget::Late`), also through `late`: instantiated once per pair of
//!   memories used together, right after the later of the instances that export them.
//! - `start.wasm` (`start_module`), for an async component, the last step: its start
//!   function calls the trampolines module's `instantiated`, after which the host's calls may
//!   block (start functions run in a task that may not).
//! - `transcode.wasm`: the string transcoders (`transcode.wat`) over two imported memories,
//!   instantiated once per pair of memories right before the first instance that imports one
//!   of them (a FACT adapter module, which wasmtime-environ places after both memories exist).
//! - `moduleN.wasm`: static module `N` unchanged: the component's own modules, wasmtime-environ's
//!   FACT adapter modules and, when the host cannot share the guest's memory, the exchange
//!   modules of `crate::exchange`.
//!
//! `graph.json` says how to put them together:
//!
//! ```json
//! { "format": "gc-lower-graph", "version": 1,
//!   "modules": ["trampolines.wasm", "module0.wasm", ...],
//!   "steps": [
//!     { "instantiate": 0, "imports": [ { "module": "m", "name": "f", "from": "host" } ] },
//!     { "instantiate": 1, "imports": [ { "module": "", "name": "g",
//!                                        "from": { "instance": 0, "export": "t3" } } ] },
//!     { "late": 0, "from": { "instance": 1, "export": "dtor" } } ],
//!   "exports": [ { "name": "iface#f", "kind": "func", "from": { "instance": 1, "export": "f" } } ],
//!   "wit": "package ...", "component-type": "component-type.wasm" }
//! ```
//!
//! Instances are numbered by their `instantiate` step; `"from": "host"` imports the host's
//! function of the same module and name. A `late` step sets slot `late` of instance 0's table
//! `late` to a function of an earlier instance (a core instance or a `memory.wasm` one). The
//! exports are the guest core ABI of the world (`iface#f`, `cabi_post_iface#f`,
//! `memory`, `cabi_realloc`, `iface#[dtor]r`), as the single-module output of the `--reify`
//! mode given to [`lower_graph`] exports them (an exchange memory included), so one host
//! binding serves both forms. Loaders: [`instantiate`] (wasmtime's core API) and
//! [`JS_LOADER`] (any JavaScript engine).

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context as _, Result, bail};
use serde_json::{Value as Json, json};
use wasmtime_environ::EntityType;
use wasmtime_environ::component::{
    CoreDef, GlobalInitializer, InstantiateModule, RuntimeInstanceIndex, Trampoline,
};

use runtime_structs::{Helper, LoadKind, StoreKind};

use crate::assemble::{LateSource, Lowerer};
use crate::error::not_yet;
use crate::front::{Front, export_name};
use crate::host::ExportItem;
use crate::layout::{FuncTarget, LateMemory};

/// The JavaScript loader: `instantiateGraph(graph, getModule, imports)` (see the file).
pub const JS_LOADER: &str = include_str!("graph.mjs");

/// jco's `instantiateCore` for a module graph in the same directory (see
/// [`ModuleGraph::install_under_jco`]).
const JCO_SHIM: &str = r#"
import { instantiateGraph as gcLowerGraph } from './loader.mjs';
import { readFileSync as gcLowerRead } from 'node:fs';
const gcLowerFile = (name) => gcLowerRead(new URL(name, import.meta.url));
const instantiateCore = async (module, imports) => {
  if (!WebAssembly.Module.exports(module).some((e) => e.name === '_initialize')) {
    return WebAssembly.instantiate(module, imports);
  }
  const graph = JSON.parse(gcLowerFile('graph.json'));
  const exports = await gcLowerGraph(graph, (f) => WebAssembly.compile(gcLowerFile(f)), imports);
  return { exports: { ...exports, _initialize() {} } };
};
"#;

/// The format name in `graph.json`.
const FORMAT: &str = "gc-lower-graph";

/// A component in module-graph form.
pub struct ModuleGraph {
    /// The module files (name, binary), in the order of `graph.json`'s `modules`.
    pub modules: Vec<(String, Vec<u8>)>,
    /// The contents of `graph.json`.
    pub description: Json,
    /// The `component-type` custom section payload (the WIT world as a component binary).
    pub component_type: Vec<u8>,
}

/// Lowers `component` (binary) into module-graph form.
///
/// The graph's host functions have the guest core ABI of [`crate::lower`]'s output with
/// `host_abi` as its [`crate::Options::reify`]: where that output passes the host's strings and
/// lists through an exchange memory (a reified memory among the reasons, see
/// [`crate::exchange`]), so does the graph, with the same `cabi_post_*` exports and the same
/// string encoding, so that host bindings made from either output's world drive both.
///
/// Errors: as [`crate::lower`] (an invalid component, an [`crate::Unsupported`] feature).
pub fn lower_graph(component: &[u8], host_abi: crate::ReifyMode) -> Result<ModuleGraph> {
    let scope = wasmtime_environ::ScopeVec::new();
    // Only the host interface (and its exchange) follows the plan; nothing is reified here.
    let prepared = crate::prepare(component, &scope, host_abi)?;
    let (front, graph, host) = (&prepared.front, &prepared.graph, &prepared.host);
    let mut lw = Lowerer::new_trampolines(front, graph, host)?;
    let mut b = Builder {
        front,
        graph,
        modules: vec![("trampolines.wasm".into(), Vec::new())],
        files: HashMap::new(),
        steps: Vec::new(),
        instance_of: HashMap::new(),
        runtime_steps: HashMap::new(),
        transcoders: HashMap::new(),
        accessor_file: None,
        trampoline_exports: HashMap::new(),
        flag_exports: HashMap::new(),
        may_block_export: None,
        intrinsic_exports: Default::default(),
    };
    let host_imports: Vec<Json> = host
        .core_imports()
        .iter()
        .map(|(module, name, _)| json!({ "module": module, "name": name, "from": "host" }))
        .collect();
    b.steps
        .push(json!({ "instantiate": 0, "imports": host_imports }));

    let mut next = RuntimeInstanceIndex::from_u32(0);
    for init in &front.translation.component.initializers {
        let GlobalInitializer::InstantiateModule(inst, _) = init else {
            continue;
        };
        let (m, args) = match inst {
            InstantiateModule::Static(m, args) => (*m, args),
            InstantiateModule::Import(..) => {
                return Err(not_yet("core modules imported by the component"));
            }
        };
        let mut imports = Vec::new();
        let module = &front.modules[m].module;
        for (pos, ((im, name, ty), arg)) in module.imports().zip(args.iter()).enumerate() {
            // FACT's per-adapter task built-ins (`[prepare-call]`, `[start-call]`): one
            // function per importing adapter, which the trampolines module exports.
            let from = match lw.adapter_import(next, pos)? {
                Some(f) => {
                    let name = format!("a{}.{pos}", next.as_u32());
                    lw.out
                        .exports
                        .push((name.clone(), wasm_encoder::ExportKind::Func, f.0));
                    json!({ "instance": 0, "export": name })
                }
                None => b.source(&mut lw, arg)?,
            };
            imports.push(json!({
                "module": im, "name": name, "kind": kind(&ty), "from": from,
            }));
        }
        let file = b.file(m);
        let step = b.steps.len();
        b.steps
            .push(json!({ "instantiate": file, "imports": imports }));
        b.instance_of.insert(next, step_instance(&b.steps, step));
        b.runtime_steps.insert(next, step);
        next = RuntimeInstanceIndex::from_u32(next.as_u32() + 1);
    }

    if let Some(first) = host.memory_users.first()
        && host.memory_users.iter().any(|u| u.memory != first.memory)
    {
        bail!("internal: host functions over different memories after the exchange phase");
    }
    let mut exports = Vec::new();
    for (name, item) in host.export_items() {
        let (kind, from) = match item {
            // A lift in a task of its own, or a post-return with its flags, as the
            // single-module output exports it; else the core instance's own function.
            ExportItem::Func(def) => match lw.host_export_wrapper(&name, def)? {
                Some(wrapper) => ("func", own_export(&mut lw, &name, wrapper)),
                None => ("func", b.source(&mut lw, def)?),
            },
            ExportItem::Realloc(def) => ("func", b.source(&mut lw, def)?),
            ExportItem::Memory(def) => ("memory", b.source(&mut lw, def)?),
            // gc-lower's own destructor, in the trampoline module.
            ExportItem::ResourceDtor(k) => {
                let Some(f) = lw.resource_dtor_export(k)? else {
                    continue;
                };
                ("func", own_export(&mut lw, &name, f))
            }
        };
        exports.push(json!({ "name": name, "kind": kind, "from": from }));
    }

    // Every function called late is known once the async runtime's dispatchers are made.
    lw.finish_runtime()?;
    // Late bindings of core instances' functions go right after the instance that defines
    // them. The accessor instance of a pair of memories goes right after the later of the
    // instances that export them, followed by its late bindings, so that start functions of
    // later instances reach them.
    let late = lw.settings.late.as_ref().expect("module-graph form");
    let mut after: HashMap<usize, Vec<Json>> = HashMap::new();
    let mut accessors: Vec<((LateMemory, LateMemory), Vec<Json>)> = Vec::new();
    for (k, (source, name)) in late.entries.iter().enumerate() {
        match *source {
            LateSource::Instance(instance) => {
                let step = b.runtime_steps[&instance];
                let from = json!({ "instance": b.instance_of[&instance], "export": name });
                after
                    .entry(step)
                    .or_default()
                    .push(json!({ "late": k, "from": from }));
            }
            LateSource::Accessor { dst, src } => {
                let place = match accessors.iter().position(|(pair, _)| *pair == (dst, src)) {
                    Some(p) => p,
                    None => {
                        accessors.push(((dst, src), Vec::new()));
                        accessors.len() - 1
                    }
                };
                accessors[place]
                    .1
                    .push(json!({ "late": k, "export": name }));
            }
        }
    }
    // Instance numbers so far count `b.steps`' instances; accessor `j` is numbered after
    // them until every step has its place.
    let num_instances = b.num_instances();
    let mut accessors_after: HashMap<usize, Vec<usize>> = HashMap::new();
    for (j, ((dst, src), _)) in accessors.iter().enumerate() {
        let step = [dst, src]
            .into_iter()
            .map(|m| b.runtime_steps[&late.memories[m.0 as usize].instance])
            .max()
            .expect("two memories");
        accessors_after.entry(step).or_default().push(j);
    }
    // The provisional number of each instance, in the final order.
    let mut order = Vec::new();
    let mut steps = Vec::new();
    let mut file = None;
    let mut originals = 0;
    for (i, step) in std::mem::take(&mut b.steps).into_iter().enumerate() {
        if step.get("instantiate").is_some() {
            order.push(originals);
            originals += 1;
        }
        steps.push(step);
        steps.extend(after.remove(&i).unwrap_or_default());
        for j in accessors_after.remove(&i).unwrap_or_default() {
            let ((dst, src), bindings) = &accessors[j];
            let instance = num_instances + j;
            let file = *file.get_or_insert_with(|| b.accessor_file());
            let memory = |m: LateMemory| {
                let def = &late.memories[m.0 as usize];
                json!({ "instance": b.instance_of[&def.instance], "export": def.export })
            };
            order.push(instance);
            steps.push(json!({
                "instantiate": file,
                "imports": [
                    { "module": "", "name": "dst", "kind": "memory", "from": memory(*dst) },
                    { "module": "", "name": "src", "kind": "memory", "from": memory(*src) },
                ],
            }));
            for binding in bindings {
                let from = json!({ "instance": instance, "export": binding["export"] });
                steps.push(json!({ "late": binding["late"], "from": from }));
            }
        }
    }
    // Accessors counted among the core instances' original numbers: renumber once.
    if order.iter().enumerate().any(|(new, old)| new != *old) {
        let number: HashMap<usize, usize> =
            order.iter().enumerate().map(|(n, o)| (*o, n)).collect();
        let renumber = |from: &mut Json| {
            if let Some(i) = from.get("instance").and_then(Json::as_u64) {
                from["instance"] = json!(number[&(i as usize)]);
            }
        };
        for step in &mut steps {
            let imports = step.get_mut("imports").and_then(Json::as_array_mut);
            for import in imports.into_iter().flatten() {
                if let Some(from) = import.get_mut("from") {
                    renumber(from);
                }
            }
            if step.get("late").is_some()
                && let Some(from) = step.get_mut("from")
            {
                renumber(from);
            }
        }
        for export in &mut exports {
            if let Some(from) = export.get_mut("from") {
                renumber(from);
            }
        }
    }

    if front.uses_async {
        // Start functions ran in a task that may not block; the host's calls may.
        let f = lw.instantiated();
        let name = "instantiated".to_string();
        lw.out
            .exports
            .push((name.clone(), wasm_encoder::ExportKind::Func, f.0));
        let file = b.modules.len();
        b.modules.push(("start.wasm".into(), start_module()));
        steps.push(json!({
            "instantiate": file,
            "imports": [ { "module": "", "name": "start", "kind": "func",
                           "from": { "instance": 0, "export": name } } ],
        }));
    }
    let trampolines = lw.finish(None)?;
    crate::validate_output(&trampolines)?;
    b.modules[0].1 = trampolines;
    let wit = print_wit(&host.component_type).unwrap_or_default();
    let description = json!({
        "format": FORMAT,
        "version": 1,
        "modules": b.modules.iter().map(|(name, _)| name.clone()).collect::<Vec<_>>(),
        "steps": steps,
        "exports": exports,
        "wit": wit,
        "component-type": "component-type.wasm",
    });
    Ok(ModuleGraph {
        modules: b.modules,
        description,
        component_type: host.component_type.1.clone(),
    })
}

/// Exports `f` from the trampolines module as what the host calls `name`: under
/// `export:{name}`, apart from the trampolines module's own exports (`late`, `tN`, ...).
/// Returns its `from`.
fn own_export(lw: &mut Lowerer<'_, '_>, name: &str, f: crate::layout::OutFunc) -> Json {
    let export = format!("export:{name}");
    lw.out
        .exports
        .push((export.clone(), wasm_encoder::ExportKind::Func, f.0));
    json!({ "instance": 0, "export": export })
}

/// The kind of an import, as `graph.json` names it.
fn kind(ty: &EntityType) -> &'static str {
    match ty {
        EntityType::Function(_) => "func",
        EntityType::Memory(_) => "memory",
        EntityType::Table(_) => "table",
        EntityType::Global(_) => "global",
        EntityType::Tag(_) => "tag",
    }
}

/// The instance number of `steps[step]`: the number of `instantiate` steps before it.
fn step_instance(steps: &[Json], step: usize) -> usize {
    steps[..step]
        .iter()
        .filter(|s| s.get("instantiate").is_some())
        .count()
}

struct Builder<'a, 'data> {
    front: &'a Front<'data>,
    graph: &'a multi_instance::InstanceGraph,
    modules: Vec<(String, Vec<u8>)>,
    /// Module file of each static module (or of `transcode.wasm`, under `None`).
    files: HashMap<Option<wasmtime_environ::StaticModuleIndex>, usize>,
    steps: Vec<Json>,
    /// Instance number of each core instance of the component.
    instance_of: HashMap<RuntimeInstanceIndex, usize>,
    /// Step of each core instance of the component.
    runtime_steps: HashMap<RuntimeInstanceIndex, usize>,
    /// Instance of `transcode.wasm` of each (source, destination) memory pair.
    transcoders: HashMap<(String, String), usize>,
    /// The module file of `memory.wasm` ([`accessor_module`]), once added.
    accessor_file: Option<usize>,
    trampoline_exports: HashMap<u32, String>,
    flag_exports: HashMap<u32, String>,
    /// The trampolines module's export of the task's may-block flag, once made.
    may_block_export: Option<String>,
    /// The trampolines module's exports of the unsafe intrinsics made so far.
    intrinsic_exports: std::collections::HashSet<String>,
}

impl Builder<'_, '_> {
    /// The module file of static module `m`, added on first use.
    fn file(&mut self, m: wasmtime_environ::StaticModuleIndex) -> usize {
        if let Some(f) = self.files.get(&Some(m)) {
            return *f;
        }
        let f = self.modules.len();
        self.modules.push((
            format!("module{}.wasm", m.as_u32()),
            self.front.modules[m].wasm.to_vec(),
        ));
        self.files.insert(Some(m), f);
        f
    }

    /// The module file of `memory.wasm`, added on first use.
    fn accessor_file(&mut self) -> usize {
        if let Some(f) = self.accessor_file {
            return f;
        }
        let f = self.modules.len();
        self.modules
            .push(("memory.wasm".into(), accessor_module().to_vec()));
        self.accessor_file = Some(f);
        f
    }

    /// The number of instances so far.
    fn num_instances(&self) -> usize {
        self.steps
            .iter()
            .filter(|s| s.get("instantiate").is_some())
            .count()
    }

    /// Where the item `def` comes from: `{"instance": i, "export": name}`.
    fn source(&mut self, lw: &mut Lowerer<'_, '_>, def: &CoreDef) -> Result<Json> {
        Ok(match def {
            CoreDef::Export(e) => {
                let name = export_name(self.front, self.graph, e)?;
                let instance = *self
                    .instance_of
                    .get(&e.instance)
                    .context("internal: an export of a core instance not created yet")?;
                json!({ "instance": instance, "export": name })
            }
            CoreDef::InstanceFlags(ci) => {
                let name = match self.flag_exports.get(&ci.as_u32()) {
                    Some(name) => name.clone(),
                    None => {
                        let g = lw.flags_global(*ci);
                        let name = format!("flags{}", ci.as_u32());
                        lw.out
                            .exports
                            .push((name.clone(), wasm_encoder::ExportKind::Global, g.0));
                        self.flag_exports.insert(ci.as_u32(), name.clone());
                        name
                    }
                };
                json!({ "instance": 0, "export": name })
            }
            CoreDef::Trampoline(t) => {
                if let Trampoline::Transcoder {
                    op,
                    from,
                    to,
                    from64,
                    to64,
                } = &self.front.translation.trampolines[*t]
                {
                    if *from64 || *to64 {
                        return Err(crate::error::unsupported("64-bit memories"));
                    }
                    let component = &self.front.translation.component;
                    let from = self.source(lw, &crate::host::memory_def(component, *from)?)?;
                    let to = self.source(lw, &crate::host::memory_def(component, *to)?)?;
                    let instance = self.transcoder(from, to)?;
                    return Ok(json!({ "instance": instance, "export": op.desc() }));
                }
                let name = match self.trampoline_exports.get(&t.as_u32()) {
                    Some(name) => name.clone(),
                    None => {
                        let f = lw.trampoline(*t)?;
                        let name = format!("t{}", t.as_u32());
                        lw.out
                            .exports
                            .push((name.clone(), wasm_encoder::ExportKind::Func, f.0));
                        self.trampoline_exports.insert(t.as_u32(), name.clone());
                        name
                    }
                };
                json!({ "instance": 0, "export": name })
            }
            // `context.get` and `context.set` of slots 0 and 1 (as the single module has them;
            // others are rejected there, by name).
            CoreDef::UnsafeIntrinsic(i) => {
                let name = format!("intrinsic.{}", i.name());
                if !self.intrinsic_exports.contains(&name) {
                    let FuncTarget::Plain(f) = lw.resolve_func(def)? else {
                        bail!("internal: an intrinsic that needs a vmctx");
                    };
                    lw.out
                        .exports
                        .push((name.clone(), wasm_encoder::ExportKind::Func, f.0));
                    self.intrinsic_exports.insert(name.clone());
                }
                json!({ "instance": 0, "export": name })
            }
            CoreDef::TaskMayBlock => {
                let name = match &self.may_block_export {
                    Some(name) => name.clone(),
                    None => {
                        let g = lw.task_globals().may_block;
                        let name = "may-block".to_string();
                        lw.out
                            .exports
                            .push((name.clone(), wasm_encoder::ExportKind::Global, g.0));
                        self.may_block_export = Some(name.clone());
                        name
                    }
                };
                json!({ "instance": 0, "export": name })
            }
        })
    }

    /// The instance of `transcode.wasm` over memories `from` and `to`, created on first use.
    fn transcoder(&mut self, from: Json, to: Json) -> Result<usize> {
        let key = (from.to_string(), to.to_string());
        if let Some(i) = self.transcoders.get(&key) {
            return Ok(*i);
        }
        let file = match self.files.get(&None) {
            Some(f) => *f,
            None => {
                let f = self.modules.len();
                self.modules
                    .push(("transcode.wasm".into(), transcode_module()?));
                self.files.insert(None, f);
                f
            }
        };
        let instance = self.num_instances();
        self.steps.push(json!({
            "instantiate": file,
            "imports": [
                { "module": "", "name": "from", "kind": "memory", "from": from },
                { "module": "", "name": "to", "kind": "memory", "from": to },
            ],
        }));
        self.transcoders.insert(key, instance);
        Ok(instance)
    }
}

/// `transcode.wat` with its two memories imported (`"" "from"`, `"" "to"`).
fn transcode_module() -> Result<Vec<u8>> {
    static MODULE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    if let Some(bytes) = MODULE.get() {
        return Ok(bytes.clone());
    }
    let text = include_str!("transcode.wat");
    let defined = "  (memory 0)\n  (memory 0)\n";
    if !text.contains(defined) {
        bail!("internal: transcode.wat does not define its two memories as expected");
    }
    let text = text.replacen(
        defined,
        "  (import \"\" \"from\" (memory 0))\n  (import \"\" \"to\" (memory 0))\n",
        1,
    );
    let bytes = wat::parse_str(&text).context("internal: transcode.wat with imported memories")?;
    Ok(MODULE.get_or_init(|| bytes).clone())
}

/// The export of `memory.wasm` ([`accessor_module`]) that does load or store `access`: the
/// instruction's name (`i32.load8_u`, `f64.store`).
///
/// Errors: internal, when `access` is neither a load nor a store.
pub(crate) fn accessor_export(access: Helper) -> Result<&'static str> {
    match access {
        Helper::Load(kind) => Ok(kind.name()),
        Helper::Store(kind) => Ok(kind.name()),
        _ => bail!("internal: a late memory access that is not a load or store"),
    }
}

/// The export of `memory.wasm` that copies between its two memories.
pub(crate) const ACCESSOR_COPY: &str = "memory.copy";

/// `memory.wasm`: how the trampolines module, instantiated before every core instance, reaches
/// a core instance's memory (`StateTarget::Late`). It imports two memories, `"" "dst"` and
/// `"" "src"`, and exports:
///
/// - for each load, `(addr i32, offset i64) -> value`, and for each store, `(addr i32, value,
///   offset i64)`, named as the instruction ([`accessor_export`]): the access at `addr + offset`
///   of `dst` (`offset` is the instruction's static offset, so the sum never wraps), trapping
///   out of bounds as the instruction does;
/// - [`ACCESSOR_COPY`], `(d i32, s i32, n i32)`: `memory.copy` of `n` bytes from `src` at `s`
///   to `dst` at `d`.
///
/// The graph instantiates it once per pair of memories used together (a memory's loads and
/// stores use the pair of it with itself), after every core instance, and binds the functions
/// the trampolines module uses to its `late` table.
fn accessor_module() -> &'static [u8] {
    static MODULE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    MODULE.get_or_init(|| {
        let mut text = String::from(
            "(module\n  (import \"\" \"dst\" (memory $dst 0))\n  \
             (import \"\" \"src\" (memory $src 0))\n",
        );
        // The effective address; past 4 GiB the access traps as its instruction would, with
        // an address no memory reaches.
        let address = "(local.set $ea (i64.add (i64.extend_i32_u (local.get $addr)) \
                       (local.get $offset)))";
        for kind in LoadKind::ALL {
            let (name, ty) = (kind.name(), val_type_text(kind.value_type()));
            text.push_str(&format!(
                "  (func (export \"{name}\") (param $addr i32) (param $offset i64) \
                 (result {ty}) (local $ea i64)\n    {address}\n    \
                 (if (i64.gt_u (local.get $ea) (i64.const 0xffffffff)) (then \
                 (drop ({name} $dst offset=0xffffffff (i32.const -1))) (unreachable)))\n    \
                 ({name} $dst (i32.wrap_i64 (local.get $ea))))\n"
            ));
        }
        for kind in StoreKind::ALL {
            let (name, ty) = (kind.name(), val_type_text(kind.value_type()));
            text.push_str(&format!(
                "  (func (export \"{name}\") (param $addr i32) (param $value {ty}) \
                 (param $offset i64) (local $ea i64)\n    {address}\n    \
                 (if (i64.gt_u (local.get $ea) (i64.const 0xffffffff)) (then \
                 ({name} $dst offset=0xffffffff (i32.const -1) (local.get $value)) \
                 (unreachable)))\n    \
                 ({name} $dst (i32.wrap_i64 (local.get $ea)) (local.get $value)))\n"
            ));
        }
        text.push_str(&format!(
            "  (func (export \"{ACCESSOR_COPY}\") (param $d i32) (param $s i32) (param $n i32)\n    \
             (memory.copy $dst $src (local.get $d) (local.get $s) (local.get $n))))\n"
        ));
        wat::parse_str(&text).expect("memory.wasm is valid text")
    })
}

/// `start.wasm`: a module whose start function calls its one import, `"" "start"` (`() ->
/// ()`); instantiating it is how a graph step calls a function.
fn start_module() -> Vec<u8> {
    wat::parse_str(r#"(module (import "" "start" (func $start)) (start $start))"#)
        .expect("start.wasm is valid text")
}

/// The text format's name of a numeric value type.
fn val_type_text(ty: wasm_encoder::ValType) -> &'static str {
    match ty {
        wasm_encoder::ValType::I64 => "i64",
        wasm_encoder::ValType::F32 => "f32",
        wasm_encoder::ValType::F64 => "f64",
        _ => "i32",
    }
}

/// The WIT text of a `component-type` custom section, for `graph.json`.
fn print_wit(component_type: &(String, Vec<u8>)) -> Result<String> {
    let mut module = wasm_encoder::Module::new();
    module.section(&wasm_encoder::CustomSection {
        name: component_type.0.as_str().into(),
        data: component_type.1.as_slice().into(),
    });
    let (_, bindgen) = wit_component::metadata::decode(&module.finish())?;
    let package = bindgen.resolve.worlds[bindgen.world]
        .package
        .context("world without a package")?;
    let mut printer = wit_component::WitPrinter::default();
    printer.print(&bindgen.resolve, package, &[])?;
    Ok(printer.output.to_string())
}

impl ModuleGraph {
    /// Writes the module files, `component-type.wasm`, `graph.json` and the JS loader
    /// (`loader.mjs`) into `dir`, creating it, with [`crate::output::write_dir`]: a symlink
    /// in `dir` is replaced, never followed, and a failure leaves `dir` as it was.
    ///
    /// Errors: a file cannot be written.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let description = serde_json::to_string_pretty(&self.description)?;
        let files = self
            .modules
            .iter()
            .map(|(name, bytes)| (name.as_str(), bytes.as_slice()))
            .chain([
                ("component-type.wasm", self.component_type.as_slice()),
                ("loader.mjs", JS_LOADER.as_bytes()),
                ("graph.json", description.as_bytes()),
            ]);
        crate::output::write_dir(dir, files)
    }

    /// Makes the bindings that `jco transpile` wrote into `dir` (ES module `bindings`, the
    /// default instantiation mode) for the single-module output of the same component run this
    /// graph instead: writes the graph into `dir` and replaces jco's `instantiateCore` with one
    /// that hands the lowered core module's imports (the module exporting `_initialize`) to
    /// the JS loader, and instantiates wit-component's small shim modules as they are. Both
    /// forms speak the same guest core ABI, so jco's lifting and lowering serve the graph.
    ///
    /// Errors: a file cannot be written, or `bindings` does not define `instantiateCore` as
    /// jco 1.x does (`const instantiateCore = WebAssembly.instantiate;`).
    pub fn install_under_jco(&self, dir: &Path, bindings: &str) -> Result<()> {
        self.write(dir)?;
        let path = dir.join(bindings);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("failed to read `{}`", path.display()))?;
        let default = "const instantiateCore = WebAssembly.instantiate;";
        if !text.contains(default) {
            bail!(
                "`{}` does not define `instantiateCore` as jco does",
                path.display()
            );
        }
        std::fs::write(&path, text.replacen(default, JCO_SHIM, 1))
            .with_context(|| format!("failed to write `{}`", path.display()))
    }

    /// Reads a graph that [`ModuleGraph::write`] wrote into `dir`.
    ///
    /// Errors: a file is missing, or `graph.json` is not a gc-lower graph.
    pub fn read(dir: &Path) -> Result<ModuleGraph> {
        let path = dir.join("graph.json");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("failed to read `{}`", path.display()))?;
        let description: Json = serde_json::from_str(&text)
            .with_context(|| format!("`{}` is not JSON", path.display()))?;
        if description["format"] != FORMAT {
            bail!("`{}` is not a gc-lower module graph", path.display());
        }
        let mut modules = Vec::new();
        for name in description["modules"].as_array().into_iter().flatten() {
            let name = name.as_str().context("a module name is not a string")?;
            let bytes = std::fs::read(dir.join(name))
                .with_context(|| format!("failed to read `{}`", dir.join(name).display()))?;
            modules.push((name.to_string(), bytes));
        }
        let component_type = std::fs::read(dir.join("component-type.wasm")).unwrap_or_default();
        Ok(ModuleGraph {
            modules,
            description,
            component_type,
        })
    }
}

/// A module graph instantiated in a wasmtime store: its guest-core-ABI exports by name.
#[cfg(feature = "runtime")]
pub struct GraphInstance {
    /// Every export of `graph.json`, by name.
    pub exports: HashMap<String, wasmtime::Extern>,
}

#[cfg(feature = "runtime")]
impl GraphInstance {
    /// The exported function `name`, if any.
    pub fn get_func(&self, name: &str) -> Option<wasmtime::Func> {
        self.exports.get(name).and_then(|e| e.clone().into_func())
    }

    /// The exported memory `name`, if any.
    pub fn get_memory(&self, name: &str) -> Option<wasmtime::Memory> {
        self.exports.get(name).and_then(|e| e.clone().into_memory())
    }
}

/// Compiles the modules of `graph` for `engine` (once each, however often they are
/// instantiated).
///
/// Errors: a module does not compile (the engine lacks a feature the module uses, such as
/// Wasm GC for `trampolines.wasm`).
#[cfg(feature = "runtime")]
pub fn compile(engine: &wasmtime::Engine, graph: &ModuleGraph) -> Result<Vec<wasmtime::Module>> {
    graph
        .modules
        .iter()
        .map(|(name, bytes)| {
            wasmtime::Module::new(engine, bytes)
                .map_err(anyhow::Error::from)
                .with_context(|| format!("failed to compile `{name}`"))
        })
        .collect()
}

/// Instantiates `graph` (compiled by [`compile`]) in `store`: each step in order, host
/// imports from `host` (the guest core ABI names, as for the single-module output).
///
/// Errors: a host import is missing from `host`, `graph.json` is malformed, or an
/// instantiation traps (a start function, an out-of-bounds segment).
#[cfg(feature = "runtime")]
pub fn instantiate<T: 'static>(
    store: &mut wasmtime::Store<T>,
    graph: &ModuleGraph,
    modules: &[wasmtime::Module],
    host: &wasmtime::Linker<T>,
) -> Result<GraphInstance> {
    let d = &graph.description;
    let mut instances: Vec<wasmtime::Instance> = Vec::new();
    let lookup = |store: &mut wasmtime::Store<T>,
                  instances: &[wasmtime::Instance],
                  from: &Json|
     -> Result<wasmtime::Extern> {
        let i = from["instance"].as_u64().context("malformed `from`")? as usize;
        let name = from["export"].as_str().context("malformed `from`")?;
        let instance = instances.get(i).context("`from` names a later instance")?;
        instance
            .get_export(&mut *store, name)
            .with_context(|| format!("instance {i} has no export `{name}`"))
    };
    for step in d["steps"].as_array().context("`steps` missing")? {
        if let Some(file) = step.get("instantiate") {
            let file = file.as_u64().context("malformed `instantiate`")? as usize;
            let module = modules.get(file).context("no such module")?;
            let mut imports = Vec::new();
            for import in step["imports"].as_array().context("`imports` missing")? {
                let from = &import["from"];
                let item = if from == "host" {
                    let (m, n) = (
                        import["module"].as_str().unwrap_or_default(),
                        import["name"].as_str().unwrap_or_default(),
                    );
                    host.get(&mut *store, m, n)
                        .map_err(anyhow::Error::from)
                        .with_context(|| format!("the host does not provide `{m}` `{n}`"))?
                } else {
                    lookup(store, &instances, from)?
                };
                imports.push(item);
            }
            let instance = wasmtime::Instance::new(&mut *store, module, &imports)
                .map_err(anyhow::Error::from)
                .with_context(|| format!("failed to instantiate `{}`", graph.modules[file].0))?;
            instances.push(instance);
        } else if let Some(k) = step.get("late") {
            let k = k.as_u64().context("malformed `late`")?;
            let func = lookup(store, &instances, &step["from"])?
                .into_func()
                .context("a late binding is not a function")?;
            let table = instances[0]
                .get_table(&mut *store, "late")
                .context("`trampolines.wasm` has no `late` table")?;
            table.set(&mut *store, k, wasmtime::Ref::Func(Some(func)))?;
        } else {
            bail!("unknown step {step}");
        }
    }
    let mut exports = HashMap::new();
    for export in d["exports"].as_array().context("`exports` missing")? {
        let name = export["name"].as_str().context("malformed export")?;
        exports.insert(
            name.to_string(),
            lookup(store, &instances, &export["from"])?,
        );
    }
    Ok(GraphInstance { exports })
}

#[cfg(all(test, feature = "runtime"))]
mod tests {
    use wasmtime::{Engine, Instance, Memory, MemoryType, Module, Store, Val};

    /// `memory.wasm` over two memories of one page each, the first holding bytes 1, 2, 3, ...
    fn accessor() -> (Store<()>, Instance, Memory, Memory) {
        let engine = Engine::default();
        let module = Module::new(&engine, super::accessor_module()).expect("memory.wasm compiles");
        let mut store = Store::new(&engine, ());
        let dst = Memory::new(&mut store, MemoryType::new(1, None)).unwrap();
        let src = Memory::new(&mut store, MemoryType::new(1, None)).unwrap();
        let bytes: Vec<u8> = (1..=255u8).cycle().take(65536).collect();
        dst.write(&mut store, 0, &bytes).unwrap();
        let instance = Instance::new(&mut store, &module, &[dst.into(), src.into()]).unwrap();
        (store, instance, dst, src)
    }

    /// Calls export `name` of the accessor: its results, or the trap's message.
    fn call(
        store: &mut Store<()>,
        instance: &Instance,
        name: &str,
        args: &[Val],
    ) -> Result<Vec<Val>, String> {
        let f = instance.get_func(&mut *store, name).expect(name);
        let mut results = vec![Val::I32(0); f.ty(&*store).results().len()];
        f.call(&mut *store, args, &mut results)
            .map(|()| results)
            .map_err(|e| format!("{e:?}"))
    }

    #[test]
    fn loads_and_stores_act_on_dst_at_addr_plus_offset() {
        let (mut store, instance, dst, _) = accessor();
        let got = call(
            &mut store,
            &instance,
            "i32.load",
            &[Val::I32(1), Val::I64(2)],
        )
        .unwrap();
        // Bytes 4, 5, 6, 7 at address 3, little-endian.
        assert_eq!(got[0].unwrap_i32(), 0x0706_0504);
        let got = call(
            &mut store,
            &instance,
            "i64.load8_s",
            &[Val::I32(200), Val::I64(0)],
        );
        assert_eq!(got.unwrap()[0].unwrap_i64(), 201u8 as i8 as i64);
        call(
            &mut store,
            &instance,
            "i32.store16",
            &[Val::I32(10), Val::I32(0x1_abcd), Val::I64(65524)],
        )
        .unwrap();
        let mut two = [0u8; 2];
        dst.read(&store, 65534, &mut two).unwrap();
        assert_eq!(two, [0xcd, 0xab]);
    }

    #[test]
    fn out_of_bounds_and_wrapping_accesses_trap_and_write_nothing() {
        let (mut store, instance, dst, _) = accessor();
        let before = dst.data(&store).to_vec();
        for (name, args) in [
            ("i32.load", vec![Val::I32(65533), Val::I64(0)]),
            ("i64.load", vec![Val::I32(8), Val::I64(65530)]),
            // `addr + offset` past 4 GiB: no wrap to a small address.
            ("i32.load", vec![Val::I32(-4), Val::I64(8)]),
            ("i32.store", vec![Val::I32(-4), Val::I32(7), Val::I64(8)]),
            (
                "i64.store",
                vec![Val::I32(65532), Val::I64(-1), Val::I64(0)],
            ),
        ] {
            let err = call(&mut store, &instance, name, &args).expect_err(name);
            assert!(err.contains("out of bounds memory access"), "{name}: {err}");
        }
        assert!(
            dst.data(&store) == before.as_slice(),
            "a trapping store wrote"
        );
    }

    #[test]
    fn memory_copy_goes_from_src_to_dst() {
        let (mut store, instance, dst, src) = accessor();
        src.write(&mut store, 100, b"stream items").unwrap();
        let args = [Val::I32(65530), Val::I32(100), Val::I32(6)];
        call(&mut store, &instance, super::ACCESSOR_COPY, &args).unwrap();
        assert_eq!(&dst.data(&store)[65530..], b"stream");
        let args = [Val::I32(65531), Val::I32(100), Val::I32(6)];
        let err = call(&mut store, &instance, super::ACCESSOR_COPY, &args).unwrap_err();
        assert!(err.contains("out of bounds memory access"), "{err}");
    }
}
