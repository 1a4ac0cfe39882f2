//! Assembles every static module (emitted once), the runtime helpers, the trampolines and the
//! instantiation routine into one core module.
//!
//! # Index spaces of the output
//!
//! ```text
//! types     [runtime-structs rec group, if anything is reified] [mirrored and interned rec
//!           groups of the modules' types, vmctx structs, instance arrays]
//! funcs     [host imports] [defined funcs of module 0] [module 1] ... [glue, runtime helpers]
//!           (a runtime helper is added when first used)
//! globals   [per reified module: $instanceN for its one instance, or $instances:mN, an array
//!           of the vmctxs of its instances] [component-instance flags] [native globals]
//! memories  [native memories, in instantiation order]      tables: likewise
//! data      [segments of module 0] [module 1] ... [per reified module: initial lengths]
//!           (passive, except those an unreified module applies to its own memory in bounds)
//! elems     [segments of unreified modules] [one declarative segment for `ref.func`]
//! ```
//!
//! # Function types
//!
//! Core Wasm GC gives function types an identity beyond their signature: `call_indirect` and
//! `ref.cast` succeed when the callee's type is a subtype of the expected one, where types are
//! compared by rec group (iso-recursively, so equal groups of different modules are one type),
//! position in the group and finality. Each module's rec groups are therefore mirrored into the
//! output with the same shape ([`Lowerer::module_types`]), and the functions of an unreified
//! module keep their module's type. A reified function has the vmctx as an extra parameter and
//! is reached through a closure, whose function is an *entry thunk* of type
//! `(params.., anyref) -> results`; entry types mirror the module's rec groups too (the *entry
//! form*), so the cast in reified `call_indirect` checks exactly what the native check checks.
//! Glue functions have final types, each in a group of its own, as `canon lower`ed functions do.
//! Equal groups are emitted once; the engine would make them one type anyway. A module's Wasm
//! GC struct and array types, and its references to its types, are mirrored the same way (a
//! reference into its own rec group by the mirrored group's index, which keeps that group from
//! being shared); in a reified module's forms a reference to one of its function types (a
//! typed function reference) is a closure, as `funcref` is, and a group whose function types
//! take or return one is mirrored twice, as a mixed group is ([`Lowerer::module_types`]), so
//! that what the closures erase stays in the group's identity.
//!
//! ```wat
//! ;; input module (instantiated twice)      ;; output types
//! (rec (type $a (func (result i32)))        (rec (type (func (result i32)))          ;; $a
//!      (type $b (func (result i32))))            (type (func (result i32))))         ;; $b
//!                                           (rec (type (func (param anyref) (result i32)))
//!                                                (type (func (param anyref) (result i32))))
//!                                           ;; entry types of $a and $b
//! ```
//!
//! *Glue* functions are made on demand: closure entry thunks (`(params.., anyref) -> results`),
//! bound wrappers that call a reified function with a fixed instance's vmctx, the `Trap`
//! trampoline and the instantiation routine, exported as `_initialize`.
//!
//! # Instantiation
//!
//! The instantiation routine walks the runtime instances in initializer order. For a reified
//! instance it calls the instance's *constructor*, which allocates the vmctx
//! (`struct.new_default`), fills memories, tables, globals and dynamically bound imports,
//! materializes element segments and applies active element then data segments; the routine
//! stores the vmctx in the instance's slot and runs the start function — the order core wasm
//! gives. A constructor takes the vmctxs of the instances it imports from as parameters, so
//! constructors that are the same code are one function, and instances that repeat a pattern
//! (a module instantiated again and again, or an exporter and its importers) are built in a
//! loop over their instance arrays. An unreified instance
//! applies its (now passive) active segments with `table.init`/`memory.init` and runs its start
//! function. A trap anywhere traps the whole instantiation, as in wasmtime.
//!
//! So that start-up does not grow with straight-line code: instances share constructors and
//! runs of them are loops (above); a reified module whose active data
//! segments all have constant offsets into one memory gets one function that applies them
//! from a table in a loop (one call per instance); an unreified module's segments into its own
//! memory stay active in the output when they are all constant and in bounds; and the routine
//! is split into parts of about 4 KiB of code, each its own function.

use std::collections::BTreeSet;

use anyhow::{Context as _, Result, anyhow, bail};
use hashbrown::HashMap;
use multi_instance::{InstanceGraph, SharedState};
use runtime_structs::{Helper, TableKind};
use wasm_encoder as we;
use wasm_encoder::reencode::Reencode as _;
use wasmtime_environ::component::{
    CoreDef, RuntimeComponentInstanceIndex, RuntimeInstanceIndex, Trampoline, TrampolineIndex,
};
use wasmtime_environ::wasmparser as wp;
use wasmtime_environ::{
    EntityIndex, ModuleInternedTypeIndex, ModuleTranslation, PrimaryMap, SecondaryMap,
    StaticModuleIndex,
};

use crate::code::Sink;
use crate::error::{not_yet, unsupported};
use crate::front::Front;
use crate::host::HostInterface;
use crate::layout::Renumber;
use crate::layout::{
    FuncTarget, GlobalSlot, GlobalTarget, ImportedFunc, InstanceSlot, LateMemory, MAX_VMCTX_FIELDS,
    MemSlot, ModuleLayout, OutFunc, OutGlobal, OutType, StateTarget, TabSlot, TagSlot, Vmctx,
};
use crate::module_info::ModuleInfo;
use crate::names::InputNames;

/// The most tables a module may have (wasmparser's and the engines' limit).
const MAX_TABLES: usize = 100;

/// The number of instances of one module from which their vmctxs live in an array rather than
/// in a global each ([`InstanceSlot`]). A global costs nothing per call into the instance; an
/// array element costs the bound wrapper of every export an `array.get` (with a read barrier
/// on wasmtime): 200 000 calls into two instances of a module ran 1.16× the module graph with
/// arrays against 1.02× with globals. An array lets the instantiation routine build a run of
/// instances in a loop, which only matters when they are many: below this, the routine is a
/// call and a `global.set` per instance.
pub const INSTANCE_ARRAY_MIN: usize = 64;

/// A function slot of the output.
pub struct OutFunction {
    /// Its type.
    pub ty: OutType,
    /// The module and module type index that give it its identity as a function reference:
    /// a module's defined function, or a bound wrapper of one. `None` for glue, whose type is
    /// a final function type of its own rec group.
    pub origin: Option<(StaticModuleIndex, u32)>,
    /// Its body; `None` until encoded.
    pub body: Option<we::Function>,
    /// Its name, for the name section.
    pub name: String,
    /// Its local names, for the name section, sorted by local index.
    pub locals: Vec<(u32, String)>,
    /// Its label names, for the name section, sorted by label index.
    pub labels: Vec<(u32, String)>,
}

/// The lowering in progress: its inputs, its decisions (layouts, instance slots), the output
/// module being assembled, and what it has made on demand. Each group is its own struct, so a
/// phase names what it touches (`self.out.funcs`, `self.input.infos`).
pub struct Lowerer<'a, 'data> {
    /// What is lowered: read-only once laid out.
    pub(crate) input: Inputs<'a, 'data>,
    /// Where each static module's items went in the output.
    pub(crate) layouts: SecondaryMap<StaticModuleIndex, ModuleLayout>,
    /// Where each reified instance's vmctx lives once it is built.
    pub(crate) instance_slots: SecondaryMap<RuntimeInstanceIndex, Option<InstanceSlot>>,
    /// The output module's index spaces.
    pub(crate) out: OutputModule,
    /// Functions and globals made on demand, once each.
    pub(crate) made: Made,
    /// The resource machinery's state (see `resources.rs`).
    pub(crate) resources: ResourceState,
    /// The async ABI's state (see `tasks.rs`).
    pub(crate) tasks: crate::tasks::TaskState,
    /// While an instance's constructor is emitted: where its code finds the vmctxs of
    /// instances (see [`Lowerer::push_instance_vmctx`]).
    pub(crate) constructor_scope: Option<crate::code::ConstructorScope>,
    /// What kind of output is made, and how.
    pub(crate) settings: Settings,
    /// Warnings for the user (one line each, e.g. dropped DWARF), which [`crate::lower_with_warnings`]
    /// returns instead of printing: the library never writes to stderr.
    pub(crate) warnings: Vec<String>,
}

/// The inputs of a lowering.
pub(crate) struct Inputs<'a, 'data> {
    /// The translated component.
    pub(crate) front: &'a Front<'data>,
    /// Its core instances and what each instantiation's imports resolve to.
    pub(crate) graph: &'a InstanceGraph,
    /// What each static module holds (validated).
    pub(crate) infos: PrimaryMap<StaticModuleIndex, ModuleInfo<'data>>,
    /// The host interface: the output's imports and exports.
    pub(crate) host: &'a HostInterface,
    /// The names and metadata of each laid-out static module (see `crate::names`).
    pub(crate) names: HashMap<StaticModuleIndex, InputNames>,
}

/// The output module under construction: its index spaces in output order.
#[derive(Default)]
pub(crate) struct OutputModule {
    /// The output's types after the runtime-structs rec group, in order.
    pub(crate) types: Vec<we::SubType>,
    /// The sizes of the rec groups that `types` is made of, in order.
    pub(crate) groups: Vec<u32>,
    /// Interned rec groups of function types, by content: the index of their first type.
    pub(crate) interned: HashMap<Vec<TypeDef>, OutType>,
    /// Each module's types mirrored into the output, by form (see [`Lowerer::module_types`]).
    pub(crate) mirrors: HashMap<(StaticModuleIndex, TypeForm), Vec<OutType>>,
    /// The table kinds of reified tables of element types other than `funcref` and
    /// `externref`, by output element type ([`Lowerer::make_table_kinds`]).
    pub(crate) table_kinds: HashMap<we::ValType, TableKind>,
    /// The output type of each host import.
    pub(crate) import_types: Vec<OutType>,
    /// The defined functions, in index order after the imports.
    pub(crate) funcs: Vec<OutFunction>,
    /// The number of imported functions (the host imports).
    pub(crate) num_imported_funcs: u32,
    /// The globals: type, initializer and name.
    pub(crate) globals: Vec<(we::GlobalType, we::ConstExpr, String)>,
    /// The memories of unreified modules.
    pub(crate) memories: Vec<we::MemoryType>,
    /// The tables of unreified modules (and the module-graph form's `late` table), with their
    /// initializers.
    pub(crate) tables: Vec<(we::TableType, Option<we::ConstExpr>)>,
    /// The tags.
    pub(crate) tags: Vec<we::TagType>,
    /// The output tag of each tag a reified module defines, by (module, tag index): its
    /// parameters and the defining instance's identity ([`crate::layout::TagSlot`]).
    pub(crate) identity_tags: HashMap<(StaticModuleIndex, u32), u32>,
    /// The data segments' bytes.
    pub(crate) datas: Vec<Vec<u8>>,
    /// Output data segments that stay active: (output memory, offset) by segment index. The
    /// others are passive.
    pub(crate) active_datas: HashMap<u32, (u32, u32)>,
    /// The element segments.
    pub(crate) elems: Vec<we::ElementSegment<'static>>,
    /// The active segment of each static table of a reified module
    /// (`ModuleInfo::static_tables`, its segments merged into one), after `elems` in the
    /// element section: output table, offset (elements), and per element the output function
    /// or `None` for a null.
    pub(crate) static_elems: Vec<(u32, u32, Vec<Option<u32>>)>,
    /// Functions referenced by `ref.func` outside element segments, declared in one.
    pub(crate) declared: BTreeSet<u32>,
    /// The exports: name, kind, index.
    pub(crate) exports: Vec<(String, we::ExportKind, u32)>,
    /// Names of the data segments gc-lower adds (segment tables, data lengths), by index.
    pub(crate) glue_data_names: HashMap<u32, String>,
}

/// Functions and globals made on demand, each once, by what they are for.
#[derive(Default)]
pub(crate) struct Made {
    /// Whether [`Lowerer::finish_runtime`] ran.
    pub(crate) runtime_finished: bool,
    /// The runtime helpers (`gc-lower:i32.load`, …).
    pub(crate) helpers: HashMap<runtime_structs::Helper, OutFunc>,
    /// The trampolines of the component's canonical functions.
    pub(crate) trampolines: HashMap<TrampolineIndex, OutFunc>,
    /// The closure-table slot of the entry thunk of each function that closures call.
    pub(crate) entry_thunks: HashMap<FuncTarget, u32>,
    /// The closure table: a `funcref` table of every entry thunk, in slot order, which a
    /// closure's `i32` names (`runtime_structs::CLOSURE`), once created: its table index and
    /// its thunks.
    pub(crate) closure_table: Option<(u32, Vec<OutFunc>)>,
    /// The wrappers that bind a reified function to its instance.
    pub(crate) bound: HashMap<FuncTarget, OutFunc>,
    /// Specialized template functions: (template, binding, template function).
    pub(crate) template_funcs: HashMap<(&'static str, crate::layout::Binding, u32), OutFunc>,
    /// The function raising each trap reason (see [`Lowerer::trap_func`]).
    pub(crate) trap_funcs: HashMap<String, OutFunc>,
    /// The constructors of reified instances, by parameter types and body: instances whose
    /// constructors are the same code share one function.
    pub(crate) constructors: HashMap<(Vec<OutType>, Vec<u8>), OutFunc>,
    /// How many constructors each module has, for their names (`mN:new`, `mN:new.2`, …).
    pub(crate) constructors_of: HashMap<StaticModuleIndex, u32>,
    /// The flags global of each component instance (may leave, may enter).
    pub(crate) flags: HashMap<RuntimeComponentInstanceIndex, OutGlobal>,
    /// The `context.get`/`context.set` functions, by slot and whether they set.
    pub(crate) contexts: HashMap<(usize, bool), OutFunc>,
    /// The global that keeps the closure `ref.func` makes, by its function and instance
    /// (see [`Lowerer::closure_cache`]).
    pub(crate) closure_caches: HashMap<FuncTarget, OutGlobal>,
}

/// The resource machinery's state (see `resources.rs`).
#[derive(Default)]
pub(crate) struct ResourceState {
    /// The resources template's binding (its globals and lookup functions), once created.
    pub(crate) resource_binding: Option<crate::layout::Binding>,
    /// `(record, side, ends) -> count`, the resources template's import for a stream end's
    /// event delivery, reserved with the binding; [`Lowerer::finish_transmits`] gives its body.
    pub(crate) stream_delivered: Option<OutFunc>,
    /// `(table, set, head)`, the resources template's import that wakes one of the records waiting
    /// on a set for each of its events, reserved with the binding;
    /// [`Lowerer::finish_scheduler`] gives its body.
    pub(crate) wake: Option<OutFunc>,
    /// Set while an own handle moves from the host's table into the guest's.
    pub(crate) moving_from_host: Option<OutGlobal>,
    /// The handle table global of each component instance that has one, made on first use
    /// ([`Lowerer::handle_table`]).
    pub(crate) tables: HashMap<RuntimeComponentInstanceIndex, OutGlobal>,
}

/// What kind of output a lowering makes, and how.
pub(crate) struct Settings {
    /// Whether the runtime-structs rec group and helpers are in the output.
    pub(crate) gc: bool,
    /// How loads and stores on reified memories are emitted.
    pub(crate) memory_access: crate::memory_access::MemoryAccess,
    /// Which functions get fast paths outside loops.
    pub(crate) inline_accesses: crate::memory_access::InlineAccesses,
    /// Module-graph form only (see [`Lowerer::new_trampolines`]): functions of core instances,
    /// which the trampolines module calls through its `late` table.
    pub(crate) late: Option<LateFuncs>,
}

/// A kind of item that core instances import and export besides functions, for
/// [`Lowerer::defining_instance`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StateKind {
    Memory,
    Table,
    Global,
    Tag,
}

impl StateKind {
    fn word(self) -> &'static str {
        match self {
            StateKind::Memory => "memory",
            StateKind::Table => "table",
            StateKind::Global => "global",
            StateKind::Tag => "tag",
        }
    }
}

/// The functions of other core instances that the module-graph form's trampolines module calls
/// (`crate::module_graph`): it is instantiated before them, so it calls slot `k` of its exported
/// funcref table `late`, which the loader fills once the instance of entry `k` exists.
#[derive(Debug, Default)]
pub struct LateFuncs {
    /// The output index of the `late` table.
    pub table: u32,
    /// Entry `k`: who provides the function, and the name it exports it under.
    pub entries: Vec<(LateSource, String)>,
    /// The memories of core instances that gc-lower's own built-ins (the async runtime's event
    /// stores and stream copies) use, by [`LateMemory`]: the core instance export that first
    /// named each.
    pub memories: Vec<LateMemoryDef>,
    /// The stub that calls each entry, by entry.
    stubs: HashMap<(LateSource, String), OutFunc>,
    /// Each memory in `memories` by its defining core instance and index there.
    memory_of: HashMap<(RuntimeInstanceIndex, u32), LateMemory>,
}

/// Who provides a function that the module-graph form's trampolines module calls late.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LateSource {
    /// A core instance of the component.
    Instance(RuntimeInstanceIndex),
    /// The accessor instance over memories `dst` and `src` (`crate::module_graph`'s
    /// `memory.wasm`): its loads and stores act on `dst`, its `memory.copy` copies from `src`
    /// to `dst`.
    Accessor {
        /// The memory written by stores and copies, and read by loads.
        dst: LateMemory,
        /// The memory a copy reads.
        src: LateMemory,
    },
}

/// A memory reached late: the core instance export that provides it.
#[derive(Debug, Clone)]
pub struct LateMemoryDef {
    /// The exporting core instance (it may import the memory itself).
    pub instance: RuntimeInstanceIndex,
    /// The export's name.
    pub export: String,
}

/// Why [`plan_reified`] reifies a static module: the first of its rules that applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReifyReason {
    /// `--reify all` reifies every instantiated module.
    All,
    /// The module is instantiated this many times (two or more).
    Instantiated(usize),
    /// The module shares a memory, table, global or tag through this import with a module that was
    /// reified before it (the edge's importer or exporter, whichever the module is not). A
    /// memory forces its exporter only when the importer's instances import different memories.
    SharesState(multi_instance::StateEdge),
    /// The module calls, or is called by, a module reified before it, through this function
    /// import whose type passes function references.
    PassesFuncRefs(FuncRefEdge),
    /// The module has struct or array types with fields of function references, and a
    /// module was reified (this module, with such fields, is named): reified code holds
    /// function references as closures, in those fields too, and a struct or array type must
    /// be one type in every module that declares it.
    FuncRefFields(StaticModuleIndex),
}

/// A function import of `importer` (at `position` in its module's import list) satisfied by a
/// function that `exporter` exports, whose parameters or results hold function references.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FuncRefEdge {
    /// The instance whose import it is.
    pub importer: RuntimeInstanceIndex,
    /// The instance the import names.
    pub exporter: RuntimeInstanceIndex,
    /// The import's position in the importer's module import list.
    pub position: usize,
}

/// Decides which static modules are reified, and why (`None`: not reified): with `all`, every
/// instantiated module; otherwise
/// modules instantiated more than once, closed over sharing state with a reified instance. A
/// table or global shared with a reified instance forces both sides into one representation;
/// a memory only forces the importer (a box is reached through a vmctx), and the exporter only
/// when the importer's instances bind the import to different memories (otherwise the reified
/// importer reaches the native memory directly, [`MemSlot::Native`]). A function import whose
/// parameters or results hold function references forces both sides too: reified code passes
/// a function reference as a closure, native code as a `funcref`, and a native `funcref` cannot
/// carry the vmctx a closure needs.
///
/// `exchange` is the instance whose memory the host reads and writes directly (see
/// [`crate::host::HostInterface::memory_users`]); with `all` its module stays native when it is
/// instantiated once, so that memory is the one linear memory left.
///
/// `modules` and `types` (their core types) are those of the translation, finished or still
/// being extended ([`crate::front::Extension`]).
pub fn plan_reified<T>(
    modules: &PrimaryMap<StaticModuleIndex, ModuleTranslation<'_>>,
    types: &T,
    graph: &InstanceGraph,
    all: bool,
    exchange: Option<RuntimeInstanceIndex>,
) -> SecondaryMap<StaticModuleIndex, Option<ReifyReason>>
where
    T: std::ops::Index<ModuleInternedTypeIndex, Output = wasmtime_environ::WasmSubType> + ?Sized,
{
    let mut reified: SecondaryMap<StaticModuleIndex, Option<ReifyReason>> = SecondaryMap::new();
    let keep_native = exchange.map(|i| graph.instances[i].module);
    for (module, _) in modules.iter() {
        let m = graph.multiplicity(module);
        reified[module] = if all {
            let reify = m != multi_instance::Multiplicity::None
                && !(keep_native == Some(module) && m == multi_instance::Multiplicity::One);
            reify.then_some(ReifyReason::All)
        } else {
            (m == multi_instance::Multiplicity::Many)
                .then(|| ReifyReason::Instantiated(graph.instances_of[module].len()))
        };
    }
    let edges: Vec<_> = graph.state_edges(modules).collect();
    let funcref_calls = funcref_call_edges(modules, types, graph);
    let funcref_fields: Vec<StaticModuleIndex> = modules
        .iter()
        .filter(|(m, t)| {
            graph.multiplicity(*m) != multi_instance::Multiplicity::None
                && has_funcref_fields(t, types)
        })
        .map(|(m, _)| m)
        .collect();
    // Whether every instance of the importer's module binds the edge's import to the same
    // export: then a reified importer can reach a native memory directly (`MemSlot::Native`).
    let uniform = |e: &multi_instance::StateEdge| {
        let module = graph.instances[e.importer].module;
        let arg = &graph.instances[e.importer].args[e.position];
        graph.instances_of[module]
            .iter()
            .all(|&i| graph.instances[i].args[e.position] == *arg)
    };
    loop {
        let mut changed = false;
        for e in &edges {
            let a = graph.instances[e.importer].module;
            let b = graph.instances[e.exporter].module;
            let (ra, rb) = (reified[a].is_some(), reified[b].is_some());
            let (force_a, force_b) = match e.kind {
                // A memory box is reached only through a vmctx; a native memory can be reached
                // from reified code when the binding is the same for all instances.
                SharedState::Memory => (rb && !ra, ra && !rb && !uniform(e)),
                // A reified module's tag has an identity per instance, which only reified
                // code passes and checks (`TagSlot`).
                SharedState::Table | SharedState::Global | SharedState::Tag => {
                    (rb && !ra, ra && !rb)
                }
            };
            if force_a {
                reified[a] = Some(ReifyReason::SharesState(*e));
                changed = true;
            }
            if force_b {
                reified[b] = Some(ReifyReason::SharesState(*e));
                changed = true;
            }
        }
        for e in &funcref_calls {
            let a = graph.instances[e.importer].module;
            let b = graph.instances[e.exporter].module;
            match (reified[a].is_some(), reified[b].is_some()) {
                (true, false) => reified[b] = Some(ReifyReason::PassesFuncRefs(*e)),
                (false, true) => reified[a] = Some(ReifyReason::PassesFuncRefs(*e)),
                _ => continue,
            }
            changed = true;
        }
        // Fields of function references hold closures in reified code, and a struct or array
        // type is one type in every module that declares it (a module that declares one
        // reaching such a field has such a field itself): once a module is reified, every
        // module with such fields is, the one whose memory the host uses too (the exchange
        // handles a reified memory).
        if let Some(&with) = modules
            .keys()
            .find(|&m| reified[m].is_some())
            .and_then(|_| funcref_fields.first())
        {
            for &m in &funcref_fields {
                if reified[m].is_none() {
                    reified[m] = Some(ReifyReason::FuncRefFields(with));
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    reified
}

/// Whether one of `module`'s struct or array types has a field of the func hierarchy
/// (`funcref`, `nullfuncref`, a typed function reference).
fn has_funcref_fields<T>(module: &ModuleTranslation<'_>, types: &T) -> bool
where
    T: std::ops::Index<ModuleInternedTypeIndex, Output = wasmtime_environ::WasmSubType> + ?Sized,
{
    use wasmtime_environ::{WasmCompositeInnerType as C, WasmHeapTopType, WasmStorageType};
    let func = |s: &WasmStorageType| {
        matches!(s, WasmStorageType::Val(wasmtime_environ::WasmValType::Ref(r))
            if r.heap_type.top() == WasmHeapTopType::Func)
    };
    module.module.types.values().any(|t| {
        let Some(t) = t.as_module_type_index() else {
            return false;
        };
        match &types[t].composite_type.inner {
            C::Struct(s) => s.fields.iter().any(|f| func(&f.element_type)),
            C::Array(a) => func(&a.0.element_type),
            _ => false,
        }
    })
}

/// The function imports whose type passes function references (`funcref` or typed) as
/// parameters or results; the exporter is the instance the import names, which reaches the
/// defining module through its own edges when it re-exports.
fn funcref_call_edges<T>(
    modules: &PrimaryMap<StaticModuleIndex, ModuleTranslation<'_>>,
    types: &T,
    graph: &InstanceGraph,
) -> Vec<FuncRefEdge>
where
    T: std::ops::Index<ModuleInternedTypeIndex, Output = wasmtime_environ::WasmSubType> + ?Sized,
{
    use wasmtime_environ::{EntityType, WasmHeapTopType, WasmValType};
    let is_func_ref = |t: &WasmValType| matches!(t, WasmValType::Ref(r) if r.heap_type.top() == WasmHeapTopType::Func);
    let mut edges = Vec::new();
    for (importer, inst) in graph.instances.iter() {
        let imports = modules[inst.module].module.imports();
        for (position, ((_, _, ty), arg)) in imports.zip(&inst.args).enumerate() {
            let (EntityType::Function(ty), CoreDef::Export(export)) = (ty, arg) else {
                continue;
            };
            let Some(ty) = ty.as_module_type_index() else {
                continue;
            };
            let passes_funcs = types[ty]
                .composite_type
                .inner
                .as_func()
                .is_some_and(|f| f.params().iter().chain(f.results()).any(is_func_ref));
            if passes_funcs {
                edges.push(FuncRefEdge {
                    importer,
                    exporter: export.instance,
                    position,
                });
            }
        }
    }
    edges
}

/// Which view of a module's function types [`Lowerer::module_types`] mirrors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TypeForm {
    /// `funcref` becomes `(ref null $closure)` (the module is reified).
    pub closures: bool,
    /// The parameter appended to each type's own, if any.
    pub last: LastParam,
}

impl TypeForm {
    /// The unreified form: the module's types as it declares them.
    pub const PLAIN: TypeForm = TypeForm {
        closures: false,
        last: LastParam::None,
    };
}

/// The parameter a [`TypeForm`] appends to each function type's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LastParam {
    /// None: the module's own types.
    None,
    /// The entry form: an `anyref`, the closure's context.
    Context,
    /// The code form of a reified module with a static table: `(ref null $vmctx)` of this
    /// vmctx type, so that its functions, which the static table holds directly, keep their
    /// types' identity for `call_indirect`.
    Vmctx(OutType),
}

/// A type of the output as a member of its rec group, the key under which groups are
/// interned.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct TypeDef {
    is_final: bool,
    supertype: Option<SuperType>,
    inner: DefInner,
}

/// What a [`TypeDef`] defines: a function type, or a GC struct or array type. A reference to a type of the same rec group is by output index, so a group
/// holding one is not interned ([`Lowerer::rec_group`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum DefInner {
    Func {
        params: Vec<we::ValType>,
        results: Vec<we::ValType>,
    },
    Struct(Vec<we::FieldType>),
    Array(we::FieldType),
}

/// A supertype named inside its subtype's rec group (by position, so that equal groups are
/// equal keys) or outside it (by output type index).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum SuperType {
    InGroup(u32),
    Out(OutType),
}

fn func_sub_type(params: &[we::ValType], results: &[we::ValType]) -> we::SubType {
    sub_type(we::CompositeInnerType::Func(we::FuncType::new(
        params.iter().copied(),
        results.iter().copied(),
    )))
}

/// A final, unshared type without a supertype defining `inner`.
fn sub_type(inner: we::CompositeInnerType) -> we::SubType {
    we::SubType {
        is_final: true,
        supertype_idx: None,
        composite_type: we::CompositeType {
            inner,
            shared: false,
            descriptor: None,
            describes: None,
        },
    }
}

/// `ty` made nullable.
fn nullable(ty: wp::RefType) -> wp::RefType {
    wp::RefType::new(true, ty.heap_type()).unwrap_or(ty)
}

/// `(ref null $ty)`.
pub fn ref_null(ty: OutType) -> we::ValType {
    runtime_structs::ref_null(ty.0)
}

/// `(ref null eq)`: a tag's identity ([`TagSlot`]).
pub fn ref_null_eq() -> we::ValType {
    we::ValType::Ref(we::RefType::EQREF)
}

/// `anyref`.
pub const ANYREF: we::ValType = we::ValType::Ref(we::RefType::ANYREF);

/// The trap reason of a component instance calling out while it may not leave (see
/// [`Lowerer::trap_func`]).
pub const CANNOT_LEAVE: &str = "cannot-leave-component-instance";

/// The `Trap` codes that FACT's adapters raise through the `Trap` trampoline, but for its
/// debug assertions.
const FACT_TRAPS: [wasmtime_environ::Trap; 10] = {
    use wasmtime_environ::Trap as T;
    [
        T::CannotEnterComponent,
        T::CannotLeaveComponent,
        T::CannotBlockSyncTask,
        T::MemoryOutOfBounds,
        T::InvalidChar,
        T::StringOutOfBounds,
        T::ListOutOfBounds,
        T::InvalidDiscriminant,
        T::UnalignedPointer,
        T::UncaughtException,
    ]
};

/// Whether `v` is a reference to one of a module's function types (`func_types[i]`: whether
/// its type `i` is one).
fn typed_func_ref(v: wp::ValType, func_types: &[bool]) -> bool {
    matches!(v, wp::ValType::Ref(r) if r
        .type_index()
        .and_then(|i| i.as_module_index())
        .is_some_and(|i| func_types.get(i as usize).copied().unwrap_or(false)))
}

/// The trap reason of `trap`: wasmtime's message in kebab case ([`kebab`]: `invalid `char`
/// bit pattern` is `invalid-char-bit-pattern`).
pub(crate) fn trap_reason(trap: wasmtime_environ::Trap) -> String {
    kebab(&trap.to_string())
}

/// A message in kebab case, as trap reasons are named: lowercased, without wasmtime's `wasm
/// trap:` prefix, its words (runs of ASCII letters and digits) joined by `-`; `a/b` reads
/// `a-or-b` and apostrophes go (`it's` is `its`).
pub(crate) fn kebab(message: &str) -> String {
    let message = message.to_lowercase().replace("wasm trap:", "");
    let message = message.replace('/', " or ").replace('\'', "");
    let words: Vec<&str> = message
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    words.join("-")
}

impl<'a, 'data> Lowerer<'a, 'data> {
    /// Lays out the output: types, functions, globals, memories, tables, segments.
    pub fn new(
        front: &'a Front<'data>,
        graph: &'a InstanceGraph,
        host: &'a HostInterface,
        reified: &SecondaryMap<StaticModuleIndex, bool>,
    ) -> Result<Self> {
        Self::build(front, graph, host, reified, None)
    }

    fn build(
        front: &'a Front<'data>,
        graph: &'a InstanceGraph,
        host: &'a HostInterface,
        reified: &SecondaryMap<StaticModuleIndex, bool>,
        late: Option<LateFuncs>,
    ) -> Result<Self> {
        let mut infos = PrimaryMap::new();
        for (index, module) in front.modules.iter() {
            let info = ModuleInfo::parse(module.wasm)
                .with_context(|| format!("failed to read core module {}", index.as_u32()))?;
            let pushed = infos.push(info);
            debug_assert_eq!(pushed, index);
        }
        // The runtime types are needed by reified modules, by resource handle tables and by
        // the async ABI's task stack.
        let gc = front.uses_async
            || front.modules.keys().any(|m| reified[m])
            || front.translation.trampolines.values().any(|t| {
                matches!(
                    t,
                    Trampoline::ResourceNew { .. }
                        | Trampoline::ResourceRep { .. }
                        | Trampoline::ResourceDrop { .. }
                        | Trampoline::ResourceTransferOwn
                        | Trampoline::ResourceTransferBorrow
                        | Trampoline::EnterSyncCall
                        | Trampoline::ExitSyncCall
                        | Trampoline::ErrorContextTransfer
                )
            });
        let mut lw = Lowerer {
            input: Inputs {
                front,
                graph,
                infos,
                host,
                names: HashMap::new(),
            },
            layouts: SecondaryMap::new(),
            instance_slots: SecondaryMap::new(),
            out: OutputModule::default(),
            made: Made::default(),
            resources: ResourceState::default(),
            tasks: Default::default(),
            constructor_scope: None,
            settings: Settings {
                gc,
                memory_access: Default::default(),
                inline_accesses: Default::default(),
                late,
            },
            warnings: Vec::new(),
        };
        lw.layout(reified)?;
        Ok(lw)
    }

    /// A lowerer for the module-graph form's trampolines module (`crate::module_graph`): no static
    /// module is laid out, the host imports come first as in [`Lowerer::new`], and functions of
    /// core instances are called through the exported funcref table `late`.
    pub fn new_trampolines(
        front: &'a Front<'data>,
        graph: &'a InstanceGraph,
        host: &'a HostInterface,
    ) -> Result<Self> {
        let mut lw = Self::build(
            front,
            graph,
            host,
            &SecondaryMap::new(),
            Some(LateFuncs::default()),
        )?;
        let table = lw.add_funcref_table();
        lw.out
            .exports
            .push(("late".into(), we::ExportKind::Table, table));
        lw.settings.late.as_mut().expect("module-graph form").table = table;
        Ok(lw)
    }

    /// A function that calls the function `name` that `source` exports through the `late`
    /// table (module-graph form).
    fn late_func(&mut self, source: LateSource, name: String, ty: OutType) -> OutFunc {
        let late = self.settings.late.as_mut().expect("module-graph form");
        let key = (source, name);
        if let Some(f) = late.stubs.get(&key) {
            return *f;
        }
        let k = late.entries.len() as u32;
        let table = late.table;
        late.entries.push(key.clone());
        let (params, _) = self.func_type_of(ty);
        let mut body = we::Function::new([]);
        let mut ins = body.instructions();
        for p in 0..params.len() as u32 {
            ins.local_get(p);
        }
        ins.i32_const(k as i32).call_indirect(table, ty.0).end();
        let f = self.add_func(ty, format!("late{k}:{}", key.1), body);
        let late = self.settings.late.as_mut().expect("module-graph form");
        late.stubs.insert(key, f);
        let minimum = late.entries.len() as u64;
        self.out.tables[table as usize].0.minimum = minimum;
        f
    }

    /// The memory `def` (an export of a core instance) as the module-graph form's trampolines
    /// module reaches it; one [`LateMemory`] per memory, whichever export names it.
    ///
    /// Errors: `def` is not a memory that a core instance exports.
    fn late_memory(&mut self, def: &CoreDef) -> Result<LateMemory> {
        let (defining, _, index) = self.defining_instance(def, StateKind::Memory, false)?;
        let CoreDef::Export(e) = def else {
            bail!("internal: a late memory that is not an export");
        };
        let export = crate::front::export_name(self.input.front, self.input.graph, e)?;
        let late = self.settings.late.as_mut().expect("module-graph form");
        if let Some(m) = late.memory_of.get(&(defining, index)) {
            return Ok(*m);
        }
        let m = LateMemory(late.memories.len() as u32);
        late.memories.push(LateMemoryDef {
            instance: e.instance,
            export,
        });
        late.memory_of.insert((defining, index), m);
        Ok(m)
    }

    /// `(addr i32, [value], offset i64) -> [value]`: the load or store `access` at `addr +
    /// offset` of late memory `m`, with the instruction's own traps (module-graph form).
    pub(crate) fn late_access(&mut self, m: LateMemory, access: Helper) -> Result<OutFunc> {
        use we::ValType::{I32, I64};
        let (params, results) = match access {
            Helper::Load(kind) => (vec![I32, I64], vec![kind.value_type()]),
            Helper::Store(kind) => (vec![I32, kind.value_type(), I64], vec![]),
            _ => bail!("internal: a late memory access that is not a load or store"),
        };
        let ty = self.func_type(&params, &results);
        let name = crate::module_graph::accessor_export(access)?.to_string();
        Ok(self.late_func(LateSource::Accessor { dst: m, src: m }, name, ty))
    }

    /// `(d i32, s i32, n i32)`: `memory.copy` from late memory `src` to late memory `dst`
    /// (module-graph form).
    pub(crate) fn late_copy(&mut self, dst: LateMemory, src: LateMemory) -> OutFunc {
        let i32 = we::ValType::I32;
        let ty = self.func_type(&[i32, i32, i32], &[]);
        let name = crate::module_graph::ACCESSOR_COPY.to_string();
        self.late_func(LateSource::Accessor { dst, src }, name, ty)
    }

    /// The first type index after the runtime-structs rec group.
    fn type_base(&self) -> u32 {
        if self.settings.gc {
            runtime_structs::NUM_TYPES
        } else {
            0
        }
    }

    /// Interns a final function type of its own rec group (what `(type (func ..))` declares).
    pub fn func_type(&mut self, params: &[we::ValType], results: &[we::ValType]) -> OutType {
        self.rec_group(
            vec![TypeDef {
                is_final: true,
                supertype: None,
                inner: DefInner::Func {
                    params: params.to_vec(),
                    results: results.to_vec(),
                },
            }],
            false,
        )
    }

    /// Interns a rec group of types; returns the index of its first type. Equal groups are
    /// one group, as the engine's canonicalization would make them anyway; a group whose
    /// types refer to each other (`self_referential`: by output index, which would make an
    /// equal key of a group that refers to this one from outside) is always a new group.
    fn rec_group(&mut self, defs: Vec<TypeDef>, self_referential: bool) -> OutType {
        if !self_referential && let Some(t) = self.out.interned.get(&defs) {
            return *t;
        }
        let base = self.type_base() + self.out.types.len() as u32;
        for def in &defs {
            let mut sub = match &def.inner {
                DefInner::Func { params, results } => func_sub_type(params, results),
                DefInner::Struct(fields) => {
                    sub_type(we::CompositeInnerType::Struct(we::StructType {
                        fields: fields.clone().into_boxed_slice(),
                    }))
                }
                DefInner::Array(field) => {
                    sub_type(we::CompositeInnerType::Array(we::ArrayType(*field)))
                }
            };
            sub.is_final = def.is_final;
            sub.supertype_idx = def.supertype.map(|s| match s {
                SuperType::InGroup(k) => base + k,
                SuperType::Out(t) => t.0,
            });
            self.out.types.push(sub);
        }
        self.out.groups.push(defs.len() as u32);
        if !self_referential {
            self.out.interned.insert(defs, OutType(base));
        }
        OutType(base)
    }

    /// The output types of module `m`'s types in `form`: each rec group of the module mirrored
    /// into the output with the same shape (positions, finality, supertypes), so that the
    /// engine's type canonicalization and subtyping see exactly what they see natively.
    /// Mirrored once per module and form.
    ///
    /// In a form of a reified module (`form.closures`), a function reference, typed or not, is
    /// a closure, also in struct and array fields ([`plan_reified`] reifies every module with
    /// such fields once any module is).
    ///
    /// Errors: [`not_yet`] for continuation types; [`unsupported`] for a rec group identical
    /// to the runtime's own types.
    pub fn module_types(&mut self, m: StaticModuleIndex, form: TypeForm) -> Result<Vec<OutType>> {
        if let Some(types) = self.out.mirrors.get(&(m, form)) {
            return Ok(types.clone());
        }
        let mut out: Vec<OutType> = Vec::new();
        let runtime = runtime_structs::rec_group();
        // Whether each of the module's types is a function type.
        let func_types: Vec<bool> = self.input.infos[m]
            .types
            .iter()
            .map(|t| matches!(t, wp::CompositeInnerType::Func(_)))
            .collect();
        // Whether each of the module's struct and array types reaches a field of the func
        // hierarchy (a closure in a form with closures): has one, or a field or supertype
        // whose type does. This depends on the type alone (and the types it refers to), so
        // identical rec groups of two modules decide alike.
        let types = &self.input.infos[m].types;
        let shapes = &self.input.infos[m].type_shapes;
        let fields_of = |t: &wp::CompositeInnerType| -> Vec<wp::FieldType> {
            match t {
                wp::CompositeInnerType::Struct(st) => st.fields.to_vec(),
                wp::CompositeInnerType::Array(at) => vec![at.0],
                _ => Vec::new(),
            }
        };
        let mut reaches: Vec<bool> = types
            .iter()
            .map(|t| {
                fields_of(t).iter().any(|f| match f.element_type {
                    wp::StorageType::Val(wp::ValType::Ref(r)) => {
                        typed_func_ref(wp::ValType::Ref(r), &func_types)
                            || matches!(
                                r.heap_type(),
                                wp::HeapType::Abstract {
                                    ty: wp::AbstractHeapType::Func | wp::AbstractHeapType::NoFunc,
                                    ..
                                }
                            )
                    }
                    _ => false,
                })
            })
            .collect();
        loop {
            let mut changed = false;
            for (t, ty) in types.iter().enumerate() {
                if reaches[t] || func_types[t] {
                    continue;
                }
                let refers = fields_of(ty).iter().any(|f| match f.element_type {
                    wp::StorageType::Val(wp::ValType::Ref(r)) => r
                        .type_index()
                        .and_then(|i| i.as_module_index())
                        .is_some_and(|i| reaches.get(i as usize).copied().unwrap_or(false)),
                    _ => false,
                });
                let from_super = shapes
                    .get(t)
                    .and_then(|s| s.supertype)
                    .is_some_and(|s| reaches.get(s as usize).copied().unwrap_or(false));
                if refers || from_super {
                    reaches[t] = true;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        for group in self.input.infos[m].rec_groups.clone() {
            // The runtime's types are the output's own: a module declaring the same rec group
            // would have them too, and could read a closure's vmctx or make a closure of any
            // function with any vmctx, which core wasm does not let it do.
            if self.input.infos[m].rec_group_is(&group, &runtime) {
                return Err(unsupported(
                    "a rec group identical to gc-lower's runtime types (a closure, a memory box, \
                     ...) in a core module",
                ));
            }
            // A struct or array type's identity includes its rec group's, so in a form that
            // changes the function types (closures, an appended parameter) a group mixing them
            // is mirrored twice: its struct and array types are the unreified form's (the
            // group as the input declares it, so that their values keep their identity
            // between modules, reified or not), and its function types are the changed ones,
            // in a second group: a copy of the input's group (its identity: a reference inside
            // the group is not one to an identical group outside it), then the changed
            // function types, which refer to the group's struct and array types in the
            // unreified form. Two such second groups are one type exactly when the input's
            // groups are, as native canonicalization has it; the copy holds no value.
            let is_func = |t: u32| func_types[t as usize];
            let funcs = group.clone().any(is_func);
            // A typed function reference is a closure in a reified form, whatever its type,
            // and `nullfuncref` is `nullref`: a group whose function types take or return them
            // is mirrored twice too, so that its copy keeps the identity that the closures
            // erase (`(func (param (ref $f)))` and `(func (param (ref $g)))` are one changed
            // type, and distinct natively; so are `(func (param nullfuncref))` and
            // `(func (param nullref))`).
            let erased = |v: wp::ValType| {
                typed_func_ref(v, &func_types)
                    || matches!(v, wp::ValType::Ref(r) if matches!(
                        r.heap_type(),
                        wp::HeapType::Abstract { ty: wp::AbstractHeapType::NoFunc, .. }
                    ))
            };
            let erases_types = form.closures
                && group
                    .clone()
                    .any(|t| match &self.input.infos[m].types[t as usize] {
                        wp::CompositeInnerType::Func(ft) => {
                            ft.params().iter().chain(ft.results()).any(|&v| erased(v))
                        }
                        _ => false,
                    });
            let mixed = funcs
                && (group.clone().any(|t| !is_func(t)) || erases_types)
                && (form.closures || form.last != LastParam::None);
            // A form with closures gives fields of function references closures (every module
            // with such fields is reified once any module is, `plan_reified`), so a group
            // whose struct or array types reach such a field is mirrored twice too: the
            // group's copy for identity (closures erase which function type a typed reference
            // has, and `nullfuncref` is `nullref`), then its types in the form with closures
            // and no appended parameter (`values`), which hold the values in every form; a
            // form that appends a parameter takes them from that form, as a mixed group that
            // reaches none takes them from the unreified one.
            let values_form = TypeForm {
                closures: true,
                last: LastParam::None,
            };
            let field_group = form.closures && group.clone().any(|t| reaches[t as usize]);
            let twice = mixed || field_group;
            // The group's copy for identity: the unreified form's mirror, whose types the
            // copy refers to outside the group.
            let identity = if twice {
                Some(self.module_types(m, TypeForm::PLAIN)?)
            } else {
                None
            };
            // Where the group's struct and array types come from when they are not in the
            // second group: the unreified form (a mixed group whose types reach no field of a
            // function reference), or the values' form (a form that appends a parameter).
            let values = if !twice || (field_group && form == values_form) {
                None
            } else if field_group {
                Some(self.module_types(m, values_form)?)
            } else {
                identity.clone()
            };
            // The index the group's first type will have unless the group is interned, which
            // a group that refers to its own types never is.
            let base = self.type_base() + self.out.types.len() as u32;
            let mut self_referential = false;
            let mut defs = Vec::new();
            // The members of the new group, in passes: each member's input type, the form it
            // is mirrored in, and where its references go: `Some(k)` for the new group's
            // member `k`, `None` for a type already in the output (`external`).
            // The second group's members: the changed function types, and the struct and
            // array types too when they come from no other form.
            let second: Vec<u32> = group
                .clone()
                .filter(|&t| is_func(t) || values.is_none())
                .collect();
            type Pass<'p> = (
                Vec<u32>,
                TypeForm,
                Box<dyn Fn(u32) -> Option<u32> + 'p>,
                &'p [OutType],
            );
            let passes: Vec<Pass<'_>> = match &identity {
                None => vec![(
                    group.clone().collect(),
                    form,
                    Box::new(|i| group.contains(&i).then(|| i - group.start)),
                    &out,
                )],
                // A copy of the group as the input declares it (its identity, references
                // inside it kept inside), then the changed types, which refer to the group's
                // other types in the form the values have and to its own in this pass.
                Some(identity) => vec![
                    (
                        group.clone().collect(),
                        TypeForm::PLAIN,
                        Box::new(|i| group.contains(&i).then(|| i - group.start)),
                        identity,
                    ),
                    (
                        second.clone(),
                        form,
                        Box::new(|i| {
                            second
                                .iter()
                                .position(|&f| f == i)
                                .map(|j| group.len() as u32 + j as u32)
                        }),
                        &out,
                    ),
                ],
            };
            for (members, form, inside, external) in &passes {
                let form = *form;
                for &t in members {
                    let shape = self.input.infos[m].type_shapes[t as usize];
                    let types = &self.input.infos[m].types;
                    let mut map = |v: wp::ValType| -> Result<we::ValType> {
                        self.mirror_val_type(v, form.closures, |i| {
                            // A typed function reference is a closure, as `funcref` is.
                            if form.closures
                                && matches!(
                                    types.get(i as usize),
                                    Some(wp::CompositeInnerType::Func(_))
                                )
                            {
                                return Ok(runtime_structs::CLOSURE);
                            }
                            if let Some(k) = inside(i) {
                                self_referential = true;
                                Ok(base + k)
                            } else if group.contains(&i) {
                                // A struct or array type of a group mirrored twice, from its
                                // changed function types.
                                values.as_ref().map(|p| p[i as usize].0).ok_or_else(|| {
                                    anyhow!("internal: type {i} of a group is outside it")
                                })
                            } else {
                                external.get(i as usize).map(|o| o.0).ok_or_else(|| {
                                    anyhow!("internal: type {i} is referred to before its group")
                                })
                            }
                        })
                    };
                    // In a form with closures, a field of the func hierarchy holds a
                    // closure (`plan_reified` reifies every module with such fields once any
                    // module is, so that the type is one in all of them).
                    let mut field = |f: &wp::FieldType| -> Result<we::FieldType> {
                        Ok(we::FieldType {
                            element_type: match f.element_type {
                                wp::StorageType::I8 => we::StorageType::I8,
                                wp::StorageType::I16 => we::StorageType::I16,
                                wp::StorageType::Val(v) => we::StorageType::Val(map(v)?),
                            },
                            mutable: f.mutable,
                        })
                    };
                    let inner = match self.input.infos[m].types[t as usize].clone() {
                        wp::CompositeInnerType::Func(ft) => {
                            let mut params = ft
                                .params()
                                .iter()
                                .map(|&v| map(v))
                                .collect::<Result<Vec<_>>>()?;
                            let results = ft
                                .results()
                                .iter()
                                .map(|&v| map(v))
                                .collect::<Result<Vec<_>>>()?;
                            match form.last {
                                LastParam::None => {}
                                LastParam::Context => params.push(ANYREF),
                                LastParam::Vmctx(v) => params.push(ref_null(v)),
                            }
                            DefInner::Func { params, results }
                        }
                        wp::CompositeInnerType::Struct(st) => DefInner::Struct(
                            st.fields
                                .iter()
                                .map(&mut field)
                                .collect::<Result<Vec<_>>>()?,
                        ),
                        wp::CompositeInnerType::Array(at) => DefInner::Array(field(&at.0)?),
                        wp::CompositeInnerType::Cont(_) => {
                            return Err(not_yet(
                                "continuation types (stack switching) in core modules",
                            ));
                        }
                    };
                    // A supertype in the group is of the same kind, so in this pass too.
                    let supertype = match shape.supertype {
                        Some(s) if group.contains(&s) => {
                            Some(SuperType::InGroup(inside(s).ok_or_else(|| {
                                anyhow!("internal: supertype {s} of type {t} is not in its pass")
                            })?))
                        }
                        Some(s) => Some(SuperType::Out(*external.get(s as usize).ok_or_else(
                            || {
                                anyhow!(
                                    "internal: supertype {s} of type {t} is not defined before it"
                                )
                            },
                        )?)),
                        None => None,
                    };
                    defs.push(TypeDef {
                        is_final: shape.is_final,
                        supertype,
                        inner,
                    });
                }
            }
            drop(passes);
            let first = self.rec_group(defs, self_referential);
            debug_assert!(!self_referential || first.0 == base);
            for (k, t) in group.clone().enumerate() {
                out.push(match (&identity, &values) {
                    (None, _) => OutType(first.0 + k as u32),
                    (Some(_), Some(values)) if !is_func(t) => values[t as usize],
                    (Some(_), _) => {
                        let j = second.iter().position(|&f| f == t).expect("a member");
                        OutType(first.0 + (group.len() + j) as u32)
                    }
                });
            }
        }
        self.out.mirrors.insert((m, form), out.clone());
        Ok(out)
    }

    /// The entry type of module `m`'s type `t`: the type a closure's function has when it
    /// calls a function of that type (`(params.., anyref) -> results`), in the module's rec
    /// group shape, so that `ref.cast` to it succeeds exactly when `call_indirect` would.
    pub fn entry_type(&mut self, m: StaticModuleIndex, t: u32) -> Result<OutType> {
        let form = TypeForm {
            closures: self.layouts[m].reified,
            last: LastParam::Context,
        };
        self.form_type(m, t, form)
    }

    /// The type that `call_indirect` through a static table of reified module `m` checks for
    /// module type `t`: the type in the module's code form (its rec group mirrored, with the
    /// vmctx parameter appended), which the functions the table holds are declared with.
    pub fn static_call_type(&mut self, m: StaticModuleIndex, t: u32) -> Result<OutType> {
        let v = self.layouts[m]
            .vmctx
            .as_ref()
            .context("internal error: a static table in an unreified module")?;
        let form = TypeForm {
            closures: true,
            last: LastParam::Vmctx(v.ty),
        };
        self.form_type(m, t, form)
    }

    /// Module `m`'s type `t` in `form`, as an output type index.
    pub(crate) fn form_type(
        &mut self,
        m: StaticModuleIndex,
        t: u32,
        form: TypeForm,
    ) -> Result<OutType> {
        let types = self.module_types(m, form)?;
        types.get(t as usize).copied().ok_or_else(|| {
            anyhow!(
                "internal: type {t} of core module {} is out of range",
                m.as_u32()
            )
        })
    }

    /// Params and results of output type `ty` (a func type).
    pub fn func_type_of(&self, ty: OutType) -> (Vec<we::ValType>, Vec<we::ValType>) {
        let sub = &self.out.types[(ty.0 - self.type_base()) as usize];
        match &sub.composite_type.inner {
            we::CompositeInnerType::Func(f) => (f.params().to_vec(), f.results().to_vec()),
            _ => unreachable!("type {} is not a function type", ty.0),
        }
    }

    fn add_func_slot(&mut self, ty: OutType, name: String) -> OutFunc {
        let index = self.out.num_imported_funcs + self.out.funcs.len() as u32;
        self.out.funcs.push(OutFunction {
            ty,
            origin: None,
            body: None,
            name,
            locals: Vec::new(),
            labels: Vec::new(),
        });
        OutFunc(index)
    }

    /// The origin of function `f` (see [`OutFunction::origin`]).
    fn origin(&self, f: OutFunc) -> Option<(StaticModuleIndex, u32)> {
        let slot = f.0.checked_sub(self.out.num_imported_funcs)?;
        self.out.funcs[slot as usize].origin
    }

    /// Adds a glue function with its body; its output name is `name` prefixed with
    /// `gc-lower:` (once).
    pub fn add_func(&mut self, ty: OutType, name: String, body: we::Function) -> OutFunc {
        let f = self.reserve_func(ty, name);
        self.define_func(f, body);
        f
    }

    /// Adds a function of gc-lower's own whose body [`Self::define_func`] gives later: a
    /// dispatch over functions made after its callers.
    pub(crate) fn reserve_func(&mut self, ty: OutType, name: String) -> OutFunc {
        let name = match name.starts_with("gc-lower:") {
            true => name,
            false => format!("gc-lower:{name}"),
        };
        self.add_func_slot(ty, name)
    }

    /// Gives function `f` (from [`Self::reserve_func`]) its body.
    pub(crate) fn define_func(&mut self, f: OutFunc, body: we::Function) {
        self.out.funcs[(f.0 - self.out.num_imported_funcs) as usize].body = Some(body);
    }

    /// Adds a global.
    pub fn add_global(
        &mut self,
        ty: we::GlobalType,
        init: we::ConstExpr,
        name: String,
    ) -> OutGlobal {
        self.out.globals.push((ty, init, name));
        OutGlobal(self.out.globals.len() as u32 - 1)
    }

    fn layout(&mut self, reified: &SecondaryMap<StaticModuleIndex, bool>) -> Result<()> {
        // Host imports come first in the function index space.
        let mut import_types = Vec::new();
        for (_, _, ty) in self.input.host.core_imports() {
            let params: Vec<_> = ty
                .params()
                .iter()
                .map(|t| plain_val_type(*t))
                .collect::<Result<_>>()?;
            let results: Vec<_> = ty
                .results()
                .iter()
                .map(|t| plain_val_type(*t))
                .collect::<Result<_>>()?;
            import_types.push(self.func_type(&params, &results));
        }
        self.out.num_imported_funcs = import_types.len() as u32;
        self.out.import_types = import_types;
        if self.settings.late.is_some() {
            // The module-graph form's trampolines module holds no static module.
            return Ok(());
        }

        // Runtime helpers are added when first used (see `helper`).

        // Module types and function ranges, for every instantiated module.
        let modules: Vec<StaticModuleIndex> = self.input.front.modules.keys().collect();
        let duplicate_names =
            crate::names::duplicate_module_names(self.input.front.modules.values().map(|t| t.wasm));
        for &m in &modules {
            if self.input.graph.instances_of[m].is_empty() {
                continue;
            }
            let is_reified = reified[m];
            let mut layout = ModuleLayout {
                reified: is_reified,
                ..ModuleLayout::default()
            };
            layout.types = self.module_types(
                m,
                TypeForm {
                    closures: is_reified,
                    last: LastParam::None,
                },
            )?;
            // A reified module's signatures, with `funcref` as closures: its function types
            // as mirrored (struct and array types get an empty one, which nothing reads).
            let mut sigs = Vec::new();
            if is_reified {
                for (t, ty) in layout.types.iter().enumerate() {
                    sigs.push(match self.input.infos[m].types[t] {
                        wp::CompositeInnerType::Func(_) => self.func_type_of(*ty),
                        _ => (Vec::new(), Vec::new()),
                    });
                }
            }
            self.layouts[m] = layout;
            if is_reified {
                // Boxes of mutable globals that instances may share, and tables' arrays and
                // boxes, come before the vmctx type, whose fields name them (a type names only
                // earlier groups').
                self.make_table_kinds(m);
                for gt in self.input.infos[m].globals.clone() {
                    if gt.mutable
                        && let Ok(ty) = self.reified_global_type(m, &gt)
                    {
                        self.value_box(ty);
                    }
                }
                // The vmctx type is created now so that signatures can name it.
                let ty = OutType(self.type_base() + self.out.types.len() as u32);
                self.out.types.push(func_sub_type(&[], &[])); // placeholder, replaced below
                self.out.groups.push(1);
                self.layouts[m].vmctx = Some(Vmctx {
                    ty,
                    ..Vmctx::default()
                });
            }
            let names = InputNames::parse_labelled(
                self.input.front.modules[m].wasm,
                m.as_u32(),
                &duplicate_names,
            );
            if !names.dwarf.is_empty() {
                self.warnings.push(format!(
                    "dropping the DWARF debug info of core module `{}` ({}): the lowering \
                     moves its code",
                    names.label(m.as_u32()),
                    names.dwarf.join(", ")
                ));
            }
            let nimp = self.input.infos[m].num_imported_funcs as usize;
            let defined: Vec<u32> = self.input.infos[m].funcs[nimp..].to_vec();
            let mut defined_sigs = Vec::new();
            let mut first = None;
            if is_reified {
                self.layouts[m].static_tables = self.input.infos[m].static_tables()?;
            }
            // A reified module's functions that a static table holds are called by
            // `call_indirect` directly, so they keep their types' identity.
            let code_form = match &self.layouts[m].vmctx {
                Some(v) if self.layouts[m].static_tables.iter().any(Option::is_some) => {
                    Some(TypeForm {
                        closures: true,
                        last: LastParam::Vmctx(v.ty),
                    })
                }
                _ => None,
            };
            for (i, t) in defined.iter().enumerate() {
                // An unreified function keeps its module's type; a reified one is only called
                // directly and through its entry thunk, which carries the identity instead,
                // unless a static table holds it (`code_form`).
                let sig = match (&self.layouts[m].vmctx, code_form) {
                    (Some(_), Some(form)) => self.form_type(m, *t, form)?,
                    (Some(v), None) => {
                        let (mut p, r) = sigs[*t as usize].clone();
                        p.push(ref_null(v.ty));
                        self.func_type(&p, &r)
                    }
                    (None, _) => self.layouts[m].types[*t as usize],
                };
                defined_sigs.push(sig);
                let index = (nimp + i) as u32;
                let f = self.add_func_slot(sig, names.func_name(m.as_u32(), index));
                let num_params = self.input.infos[m].type_func(*t)?.params().len() as u32;
                let slot = &mut self.out.funcs[(f.0 - self.out.num_imported_funcs) as usize];
                slot.origin = Some((m, *t));
                slot.locals = names.local_names(index, num_params, is_reified);
                first.get_or_insert(f.0);
            }
            self.layouts[m].defined_sigs = defined_sigs;
            self.input.names.insert(m, names);
            self.layouts[m].func_base = first.unwrap_or(0);
        }

        // Instance slots, in instantiation order: a global per instance for a module
        // instantiated fewer than `INSTANCE_ARRAY_MIN` times, else an element of one array per
        // module, so that the instantiation routine can build runs of its instances in a loop.
        let instances: Vec<_> = self.input.graph.instances.keys().collect();
        let mut arrays: HashMap<StaticModuleIndex, (OutGlobal, OutType, u32)> = HashMap::new();
        for &i in &instances {
            let m = self.input.graph.instances[i].module;
            let Some(v) = &self.layouts[m].vmctx else {
                continue;
            };
            let vty = v.ty;
            let count = self.input.graph.instances_of[m].len();
            if count < INSTANCE_ARRAY_MIN {
                let ty = we::GlobalType {
                    val_type: ref_null(vty),
                    mutable: true,
                    shared: false,
                };
                let g = self.add_global(
                    ty,
                    we::ConstExpr::ref_null(we::HeapType::Concrete(vty.0)),
                    format!("instance{}", i.as_u32()),
                );
                self.instance_slots[i] = Some(InstanceSlot::Global(g));
                continue;
            }
            if !arrays.contains_key(&m) {
                // `(array (mut (ref null $vmctx)))`, a rec group of its own.
                let ty = OutType(self.type_base() + self.out.types.len() as u32);
                self.out
                    .types
                    .push(sub_type(we::CompositeInnerType::Array(we::ArrayType(
                        we::FieldType {
                            element_type: we::StorageType::Val(ref_null(vty)),
                            mutable: true,
                        },
                    ))));
                self.out.groups.push(1);
                let global_ty = we::GlobalType {
                    val_type: we::ValType::Ref(we::RefType {
                        nullable: false,
                        heap_type: we::HeapType::Concrete(ty.0),
                    }),
                    mutable: false,
                    shared: false,
                };
                let init = we::ConstExpr::extended([
                    we::Instruction::I32Const(count as i32),
                    we::Instruction::ArrayNewDefault(ty.0),
                ]);
                let g = self.add_global(global_ty, init, format!("instances:m{}", m.as_u32()));
                arrays.insert(m, (g, ty, 0));
            }
            let (global, ty, next) = arrays.get_mut(&m).expect("inserted above");
            self.instance_slots[i] = Some(InstanceSlot::Array {
                global: *global,
                ty: *ty,
                index: *next,
            });
            *next += 1;
        }
        for &m in &modules {
            if self.input.graph.instances_of[m].is_empty() {
                continue;
            }
            self.layouts[m].data_base = self.out.datas.len() as u32;
            for d in &self.input.infos[m].datas {
                self.out.datas.push(d.data.to_vec());
            }
        }
        // Unreified instances import state only from unreified ones (see `plan_reified`), so
        // laying them out in instantiation order always finds their imports in place.
        for &i in &instances {
            let m = self.input.graph.instances[i].module;
            if !self.layouts[m].reified {
                self.layout_native(m, i)?;
            }
        }
        for &m in &modules {
            if self.layouts[m].reified && !self.input.graph.instances_of[m].is_empty() {
                self.layout_vmctx(m)?;
            }
        }
        Ok(())
    }
    /// Maps a value type of a core module's type definitions to the output, a reference to
    /// the module's type `i` to one to output type `concrete(i)`. With `closures` (a reified
    /// module), `(ref null? func)` becomes `(ref null? $closure)` and `(ref null? nofunc)`
    /// `(ref null? none)`, as [`Renumber`] maps them in code; every other type maps to itself.
    ///
    /// Errors: [`not_yet`] for shared and exact references, and what `concrete` returns.
    pub fn mirror_val_type(
        &self,
        t: wp::ValType,
        closures: bool,
        mut concrete: impl FnMut(u32) -> Result<u32>,
    ) -> Result<we::ValType> {
        Ok(match t {
            wp::ValType::I32 => we::ValType::I32,
            wp::ValType::I64 => we::ValType::I64,
            wp::ValType::F32 => we::ValType::F32,
            wp::ValType::F64 => we::ValType::F64,
            wp::ValType::V128 => we::ValType::V128,
            wp::ValType::Ref(r) => {
                let heap_type = match r.heap_type() {
                    // A reified module's function references are closures, which are structs.
                    wp::HeapType::Abstract {
                        shared: false,
                        ty: wp::AbstractHeapType::Func,
                    } if closures => we::HeapType::Concrete(runtime_structs::CLOSURE),
                    // The bottom of the closures' hierarchy, as in code: `nullref`. A group
                    // whose function types take or return it keeps its identity in a copy
                    // (`Lowerer::module_types`).
                    wp::HeapType::Abstract {
                        shared: false,
                        ty: wp::AbstractHeapType::NoFunc,
                    } if closures => we::HeapType::Abstract {
                        shared: false,
                        ty: we::AbstractHeapType::None,
                    },
                    wp::HeapType::Concrete(i) => {
                        let i = i.as_module_index().with_context(|| {
                            format!("internal: reference type `{r}` names no module type")
                        })?;
                        we::HeapType::Concrete(concrete(i)?)
                    }
                    wp::HeapType::Exact(_) => {
                        return Err(not_yet(format!(
                            "exact reference type `{r}` (custom descriptors) in core modules"
                        )));
                    }
                    wp::HeapType::Abstract { shared: true, .. } => {
                        return Err(not_yet(format!(
                            "shared reference type `{r}` in core modules"
                        )));
                    }
                    ht @ wp::HeapType::Abstract { .. } => {
                        wasm_encoder::reencode::RoundtripReencoder
                            .heap_type(ht)
                            .map_err(|e| anyhow!("internal: heap type `{r}`: {e}"))?
                    }
                };
                we::ValType::Ref(we::RefType {
                    nullable: r.is_nullable(),
                    heap_type,
                })
            }
        })
    }

    fn layout_native(
        &mut self,
        m: StaticModuleIndex,
        instance: RuntimeInstanceIndex,
    ) -> Result<()> {
        let args = self.input.graph.instances[instance].args.clone();
        let info = &self.input.infos[m];
        let mut imported_funcs = Vec::new();
        let func_pos = info.import_position.funcs.clone();
        for pos in func_pos {
            imported_funcs.push(self.resolve_import(instance, pos)?);
        }
        let mut memories = Vec::new();
        for pos in self.input.infos[m].import_position.memories.clone() {
            match self.resolve_memory(&args[pos])? {
                StateTarget::Native(x) => memories.push(x),
                StateTarget::Boxed { .. } | StateTarget::Late(_) => {
                    bail!("internal: unreified instance imports a reified memory")
                }
            }
        }
        let defined_memories = self.input.infos[m].memories
            [self.input.infos[m].num_imported_memories as usize..]
            .to_vec();
        for mt in defined_memories {
            memories.push(self.out.memories.len() as u32);
            self.out.memories.push(we::MemoryType {
                minimum: mt.initial,
                maximum: mt.maximum,
                memory64: false,
                shared: false,
                page_size_log2: None,
            });
        }
        let mut tables = Vec::new();
        for pos in self.input.infos[m].import_position.tables.clone() {
            match self.resolve_table(&args[pos])? {
                StateTarget::Native(x) => tables.push(x),
                StateTarget::Boxed { .. } | StateTarget::Late(_) => {
                    bail!("internal: unreified instance imports a reified table")
                }
            }
        }
        let mut globals = Vec::new();
        for pos in self.input.infos[m].import_position.globals.clone() {
            match self.resolve_global(&args[pos])? {
                GlobalTarget::Native(g) => globals.push(g.0),
                GlobalTarget::Field { .. } => {
                    bail!("internal: unreified instance imports a reified global")
                }
            }
        }
        let mut tags = Vec::new();
        for pos in self.input.infos[m].import_position.tags.clone() {
            tags.push(self.resolve_tag(&args[pos])?);
        }
        let layout = &mut self.layouts[m];
        layout.imported_funcs = imported_funcs;
        layout.memories = memories;
        layout.globals = globals;
        layout.tags = tags;
        // Defined tables, globals and tags need the renumbering of their init expressions, so
        // they are added after the layout is in place.
        let info = &self.input.infos[m];
        let defined_tables: Vec<_> = info.tables[info.num_imported_tables as usize..]
            .iter()
            .cloned()
            .zip(info.table_inits.iter().cloned())
            .collect();
        let defined_globals = info.defined_globals.clone();
        let defined_tags = info.tags[info.num_imported_tags as usize..].to_vec();
        self.layouts[m].tables = tables;
        for (tt, init) in defined_tables {
            let init = match init {
                Some(e) => Some(self.native_const_expr(m, &e)?),
                None => None,
            };
            let element_type = self
                .renumber(m)
                .ref_type(tt.element_type)
                .map_err(|e| anyhow!("{e}"))?;
            let index = self.out.tables.len() as u32;
            self.out.tables.push((
                we::TableType {
                    element_type,
                    minimum: tt.initial,
                    maximum: tt.maximum,
                    table64: false,
                    shared: false,
                },
                init,
            ));
            self.layouts[m].tables.push(index);
        }
        for g in defined_globals {
            let init = self.native_const_expr(m, &g.init)?;
            let val_type = self
                .renumber(m)
                .val_type(g.ty.content_type)
                .map_err(|e| anyhow!("{e}"))?;
            let index = self.add_global(
                we::GlobalType {
                    val_type,
                    mutable: g.ty.mutable,
                    shared: false,
                },
                init,
                match self.input.names.get(&m) {
                    Some(names) => names.item_name(
                        m.as_u32(),
                        crate::names::ItemKind::Global,
                        self.layouts[m].globals.len() as u32,
                    ),
                    None => format!(
                        "instance{}:g{}",
                        instance.as_u32(),
                        self.layouts[m].globals.len()
                    ),
                },
            );
            self.layouts[m].globals.push(index.0);
        }
        for tag in defined_tags {
            let index = self.out.tags.len() as u32;
            self.out.tags.push(we::TagType {
                kind: we::TagKind::Exception,
                func_type_idx: self.layouts[m].types[tag.func_type_idx as usize].0,
            });
            self.layouts[m].tags.push(index);
        }
        self.keep_data_active(m);
        // Element segments become passive (or stay declarative) output segments.
        self.layouts[m].elem_base = self.out.elems.len() as u32;
        let elements = self.input.infos[m].elements.clone();
        for e in &elements {
            let seg = self.native_element(m, e)?;
            self.out.elems.push(seg);
        }
        Ok(())
    }

    /// Keeps the active data segments of unreified module `m` active in the output where that
    /// cannot be observed: for each memory the module defines, when every active segment into
    /// it has a constant offset and lies within the memory's initial size. Nothing can see such
    /// a memory before the module's instantiation (it is defined there), the segments cannot
    /// trap, and they keep their order; the output applies them when it is instantiated,
    /// which costs no code in the instantiation routine. Other segments are applied there.
    fn keep_data_active(&mut self, m: StaticModuleIndex) {
        let info = &self.input.infos[m];
        let nimp = info.num_imported_memories as usize;
        let mut keep = Vec::new();
        for mi in nimp..info.memories.len() {
            let size = info.memories[mi].initial.saturating_mul(65536);
            let mut segments = Vec::new();
            let mut all = true;
            for (d, seg) in info.datas.iter().enumerate() {
                let wp::DataKind::Active {
                    memory_index,
                    offset_expr,
                } = &seg.kind
                else {
                    continue;
                };
                if *memory_index as usize != mi {
                    continue;
                }
                let mut ops = offset_expr.get_operators_reader();
                let offset = match (ops.read(), ops.read(), ops.eof()) {
                    (Ok(wp::Operator::I32Const { value }), Ok(wp::Operator::End), true) => {
                        value as u32
                    }
                    _ => {
                        all = false;
                        break;
                    }
                };
                if u64::from(offset) + seg.data.len() as u64 > size {
                    all = false;
                    break;
                }
                segments.push((d as u32, offset));
            }
            if all {
                let mem = self.layouts[m].memories[mi];
                keep.extend(segments.into_iter().map(|(d, offset)| (d, (mem, offset))));
            }
        }
        let base = self.layouts[m].data_base;
        for (d, place) in keep {
            self.out.active_datas.insert(base + d, place);
        }
    }

    /// When every active data segment of reified module `m` has a constant offset and goes
    /// into the same memory reached through the vmctx, builds the function that applies them
    /// in a loop: their bytes are moved into one passive segment (the blob; each original
    /// output segment is left empty, which behaves as the dropped segment it is after
    /// instantiation) and their (offset, position in the blob, length) into a table segment
    /// read as an `(array (mut i32))`. Each segment is checked as `memory.init` checks it, in
    /// order, so a segment out of bounds traps after the ones before it were written, as in
    /// core wasm. The instantiation routine then costs one call per instance, not code per
    /// segment.
    fn data_init_loop(&mut self, m: StaticModuleIndex, v: &Vmctx) -> Result<Option<OutFunc>> {
        let info = &self.input.infos[m];
        let mut memory = None;
        let mut entries = Vec::new();
        for (d, seg) in info.datas.iter().enumerate() {
            let wp::DataKind::Active {
                memory_index,
                offset_expr,
            } = &seg.kind
            else {
                continue;
            };
            if *memory.get_or_insert(*memory_index) != *memory_index {
                return Ok(None);
            }
            let mut ops = offset_expr.get_operators_reader();
            let offset = match (ops.read(), ops.read(), ops.eof()) {
                (Ok(wp::Operator::I32Const { value }), Ok(wp::Operator::End), true) => value,
                _ => return Ok(None),
            };
            entries.push((d, offset));
        }
        let Some(memory) = memory else {
            return Ok(None);
        };
        let MemSlot::Field(memory_field) = v.memories[memory as usize] else {
            return Ok(None);
        };
        let mut blob = Vec::new();
        let mut table = Vec::with_capacity(12 * entries.len());
        for &(d, offset) in &entries {
            let out = (self.layouts[m].data_base as usize) + d;
            let bytes = std::mem::take(&mut self.out.datas[out]);
            table.extend_from_slice(&offset.to_le_bytes());
            table.extend_from_slice(&(blob.len() as u32).to_le_bytes());
            table.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
            blob.extend_from_slice(&bytes);
        }
        let blob_len = u32::try_from(blob.len())
            .map_err(|_| not_yet("active data segments of more than 4 GiB in a module"))?;
        let label = self
            .input
            .names
            .get(&m)
            .map_or_else(|| format!("module{}", m.as_u32()), |n| n.label(m.as_u32()));
        let blob_segment = self.out.datas.len() as u32;
        self.out.datas.push(blob);
        self.out
            .glue_data_names
            .insert(blob_segment, format!("gc-lower:{label}:active-data"));
        let table_segment = self.out.datas.len() as u32;
        self.out.datas.push(table);
        self.out
            .glue_data_names
            .insert(table_segment, format!("gc-lower:{label}:active-data-table"));
        let words = 3 * entries.len() as i32;

        let check = self.helper(runtime_structs::Helper::MemoryInitCheck);
        let write = self.helper(runtime_structs::Helper::MemoryInitWrite);
        let (vmctx, table_local, k) = (0, 1, 2);
        let mut body = we::Function::new([
            (1, ref_null(OutType(runtime_structs::HANDLES))),
            (1, we::ValType::I32),
        ]);
        let word = |body: &mut we::Function, i: i32| {
            body.instructions()
                .local_get(table_local)
                .local_get(k)
                .i32_const(i)
                .i32_add()
                .array_get(runtime_structs::HANDLES);
        };
        body.instructions()
            .i32_const(0)
            .i32_const(words)
            .array_new_data(runtime_structs::HANDLES, table_segment)
            .local_set(table_local)
            .block(we::BlockType::Empty)
            .loop_(we::BlockType::Empty)
            .local_get(k)
            .i32_const(words)
            .i32_ge_u()
            .br_if(1);
        word(&mut body, 0);
        word(&mut body, 1);
        word(&mut body, 2);
        body.instructions()
            .local_get(vmctx)
            .struct_get(v.ty.0, memory_field)
            .i32_const(blob_len as i32)
            .call(check.0)
            .array_new_data(runtime_structs::BYTES, blob_segment)
            .call(write.0)
            .local_get(k)
            .i32_const(3)
            .i32_add()
            .local_set(k)
            .br(0)
            .end()
            .end()
            .end();
        let ty = self.func_type(&[ref_null(v.ty)], &[]);
        let name = format!("m{}:data_init", m.as_u32());
        Ok(Some(self.add_func(ty, name, body)))
    }

    fn layout_vmctx(&mut self, m: StaticModuleIndex) -> Result<()> {
        let instances = self.input.graph.instances_of[m].clone();
        let mut v = self.layouts[m]
            .vmctx
            .take()
            .expect("reified module has a vmctx");
        let info = &self.input.infos[m];
        let nmem = info.memories.len();
        let mem_positions = info.import_position.memories.clone();
        for mi in 0..nmem {
            let f = v.add(ref_null(OutType(runtime_structs::MEMBOX)));
            let mut slot = MemSlot::Field(f);
            if let Some(&pos) = mem_positions.get(mi) {
                let mut targets = Vec::new();
                for &i in &instances {
                    let arg = self.input.graph.instances[i].args[pos].clone();
                    targets.push(self.resolve_memory(&arg)?);
                }
                if let StateTarget::Native(x) = targets[0]
                    && targets.iter().all(|t| *t == targets[0])
                {
                    slot = MemSlot::Native(x);
                }
            }
            v.memories.push(slot);
        }
        // Table `t` owns field `memories + t` (see `resolve_table`); a static table's stays
        // null.
        let static_tables = std::mem::take(&mut self.layouts[m].static_tables);
        let nimp_funcs = self.input.infos[m].num_imported_funcs;
        for (t, fixed) in static_tables.into_iter().enumerate() {
            let kind = self.table_kind(m, t as u32)?;
            let f = v.add(kind.table_ref());
            // A static table is an output table: one beyond the output's limit (the closure
            // table, made first, counted) keeps its box instead.
            let closure_table = usize::from(self.made.closure_table.is_none());
            let fits = self.out.tables.len() + closure_table < MAX_TABLES;
            if let Some(fixed) = fixed.filter(|_| fits) {
                let tt = self.input.infos[m].tables[t];
                // The closure table comes first, as it does without static tables: with it
                // after them, `call_indirect` through a reified table (the `calls` kernel) ran
                // 6% slower on wasmtime, in two pairs of runs (BENCHMARKS.md).
                self.closure_table();
                let table = self.add_funcref_table();
                let out = &mut self.out.tables[table as usize].0;
                out.minimum = tt.initial;
                out.maximum = tt.maximum;
                v.tables.push(TabSlot::Static(table));
                // Its contents, applied when the output is instantiated: the table is the
                // same in every instance and private to its module, and its segments cannot
                // trap, so when they are applied cannot be observed.
                let base = self.layouts[m].func_base;
                for (offset, items) in fixed.segments {
                    let funcs = items
                        .iter()
                        .map(|f| f.map(|f| base + f - nimp_funcs))
                        .collect();
                    self.out.static_elems.push((table, offset, funcs));
                }
            } else {
                v.tables.push(TabSlot::Field(f));
            }
        }
        // Globals: imported ones bound to one native global in every instance stay static.
        let info = &self.input.infos[m];
        let exported_globals: BTreeSet<u32> = info
            .exports
            .iter()
            .filter(|e| e.kind == wp::ExternalKind::Global)
            .map(|e| e.index)
            .collect();
        let global_positions = info.import_position.globals.clone();
        let globals = info.globals.clone();
        for (g, gt) in globals.iter().enumerate() {
            let ty = self.reified_global_type(m, gt)?;
            let slot = if let Some(&pos) = global_positions.get(g) {
                let mut targets = Vec::new();
                for &i in &instances {
                    targets.push(
                        self.resolve_global_static(&self.input.graph.instances[i].args[pos])?,
                    );
                }
                match targets[0] {
                    Some(out) if targets.iter().all(|t| *t == targets[0]) => {
                        GlobalSlot::Static(out)
                    }
                    _ if gt.mutable => {
                        let box_ty = self.value_box(ty);
                        GlobalSlot::Boxed {
                            field: v.add(ref_null(box_ty)),
                            box_ty,
                        }
                    }
                    _ => GlobalSlot::Value(v.add(ty)),
                }
            } else if gt.mutable && exported_globals.contains(&(g as u32)) {
                let box_ty = self.value_box(ty);
                GlobalSlot::Boxed {
                    field: v.add(ref_null(box_ty)),
                    box_ty,
                }
            } else {
                GlobalSlot::Value(v.add(ty))
            };
            v.globals.push(slot);
        }
        // Imported functions: static when every instance calls the same target.
        let func_positions = self.input.infos[m].import_position.funcs.clone();
        for pos in func_positions {
            let mut targets = Vec::new();
            for &i in &instances {
                targets.push(self.resolve_import(i, pos)?);
            }
            let imported = if targets.iter().all(|t| *t == targets[0]) {
                ImportedFunc::Static(targets[0])
            } else {
                ImportedFunc::Dynamic(v.add(ref_null(OutType(runtime_structs::CLOSURE))))
            };
            v.imported_funcs.push(imported);
        }
        let datas = &self.input.infos[m].datas;
        if !datas.is_empty() {
            v.datas = Some(v.add(ref_null(OutType(runtime_structs::HANDLES))));
            let mut lengths = Vec::with_capacity(4 * datas.len());
            for d in datas {
                let len = match d.kind {
                    wp::DataKind::Passive => d.data.len() as u32,
                    wp::DataKind::Active { .. } => 0,
                };
                lengths.extend_from_slice(&len.to_le_bytes());
            }
            v.data_lengths = self.out.datas.len() as u32;
            self.out.datas.push(lengths);
            let label = self
                .input
                .names
                .get(&m)
                .map_or_else(|| format!("module{}", m.as_u32()), |n| n.label(m.as_u32()));
            self.out
                .glue_data_names
                .insert(v.data_lengths, format!("gc-lower:{label}:data-lengths"));
            v.data_init = self.data_init_loop(m, &v)?;
        }
        for e in 0..self.input.infos[m].elements.len() {
            let kind = self.element_kind(m, e as u32)?;
            let f = v.add(ref_null(OutType(kind.array())));
            v.elems.push(f);
        }
        // Tags: the plan reifies every module that shares a tag with a reified one, so each
        // import is of a tag some reified module defines.
        let info = &self.input.infos[m];
        let (ntags, nimp_tags) = (info.tags.len(), info.num_imported_tags as usize);
        let tag_positions = info.import_position.tags.clone();
        for ti in 0..ntags {
            let slot = if let Some(&pos) = tag_positions.get(ti) {
                let mut definers = BTreeSet::new();
                for &i in &instances {
                    let (_, dm, dti) = self.defining_instance(
                        &self.input.graph.instances[i].args[pos],
                        StateKind::Tag,
                        false,
                    )?;
                    definers.insert((dm, dti));
                }
                let [(dm, dti)] = definers.into_iter().collect::<Vec<_>>()[..] else {
                    return Err(not_yet(format!(
                        "instances of core module {} importing tag {ti} from different modules",
                        m.as_u32()
                    )));
                };
                TagSlot::Field {
                    tag: self.identity_tag(dm, dti)?,
                    field: v.add(ref_null_eq()),
                }
            } else {
                TagSlot::Own {
                    tag: self.identity_tag(m, ti as u32)?,
                }
            };
            debug_assert!(ti >= nimp_tags || matches!(slot, TagSlot::Field { .. }));
            v.tags.push(slot);
        }
        self.layouts[m].tags = v.tags.iter().map(|t| t.tag()).collect();
        if v.fields.len() > MAX_VMCTX_FIELDS {
            return Err(crate::error::unsupported(format!(
                "modules whose vmctx needs more than {MAX_VMCTX_FIELDS} struct fields (Wasm GC's \
                 limit): core module {} reified with {} fields for its {} memories, {} tables, \
                 {} globals, {} imported functions and {} element segments",
                m.as_u32(),
                v.fields.len(),
                v.memories.len(),
                v.tables.len(),
                v.globals.len(),
                v.imported_funcs.len(),
                v.elems.len(),
            )));
        }
        let idx = (v.ty.0 - self.type_base()) as usize;
        debug_assert!(
            self.out.types[idx].is_final,
            "the vmctx placeholder is a group of its own"
        );
        self.out.types[idx] = sub_type(we::CompositeInnerType::Struct(we::StructType {
            fields: v.fields.clone().into(),
        }));
        v.changing = v.elems.iter().copied().collect();
        v.changing
            .extend(v.globals.iter().filter_map(|slot| match slot {
                GlobalSlot::Value(f) => Some(*f),
                _ => None,
            }));
        self.layouts[m].vmctx = Some(v);
        Ok(())
    }

    /// The reified form of a table or element segment of reified module `m` with elements
    /// of type `ty`: closures for `funcref`, `externref`s, or another nullable reference type
    /// with its array and box (which `make_table_kinds` made).
    ///
    /// Errors: [`not_yet`] for a non-nullable element type.
    pub fn ref_kind(&self, m: StaticModuleIndex, ty: wp::RefType) -> Result<TableKind> {
        let unsupported = |why: &str| {
            not_yet(format!(
                "tables of `{}` in modules instantiated more than once{why}",
                crate::module_info::type_text(wp::ValType::Ref(ty))
            ))
        };
        let mapped = self
            .renumber(m)
            .ref_type(ty)
            .map_err(|e| unsupported(&format!(" ({e})")))?;
        let elem = we::ValType::Ref(mapped);
        if elem == TableKind::Func.elem() {
            Ok(TableKind::Func)
        } else if elem == TableKind::Extern.elem() {
            Ok(TableKind::Extern)
        } else if !mapped.nullable {
            Err(unsupported(" (non-nullable elements)"))
        } else {
            self.out
                .table_kinds
                .get(&elem)
                .copied()
                .with_context(|| format!("internal: no table kind for `{ty}`"))
        }
    }

    /// [`Self::ref_kind`] of table `t` of reified module `m`.
    pub fn table_kind(&self, m: StaticModuleIndex, t: u32) -> Result<TableKind> {
        self.ref_kind(m, self.input.infos[m].table_type(t)?)
    }

    /// [`Self::ref_kind`] of element segment `e` of reified module `m`, of its element type
    /// made nullable: a segment's array holds its items, and `elem.drop` nulls the array, not
    /// its elements.
    pub fn element_kind(&self, m: StaticModuleIndex, e: u32) -> Result<TableKind> {
        self.ref_kind(m, nullable(self.input.infos[m].element_type(e)?))
    }

    /// Makes the array `(array (mut elem))` and box (the fields of the runtime's
    /// `$tablebox`) of every element type other than `funcref` and `externref` that reified
    /// module `m`'s tables and element segments have, before the vmctx types that name them.
    fn make_table_kinds(&mut self, m: StaticModuleIndex) {
        let info = &self.input.infos[m];
        let tys: Vec<wp::RefType> = (0..info.tables.len() as u32)
            .filter_map(|t| info.table_type(t).ok())
            .chain(
                (0..info.elements.len() as u32)
                    .filter_map(|e| info.element_type(e).ok().map(nullable)),
            )
            .collect();
        for ty in tys {
            let Ok(mapped) = self.renumber(m).ref_type(ty) else {
                continue;
            };
            let elem = we::ValType::Ref(mapped);
            if !mapped.nullable
                || elem == TableKind::Func.elem()
                || elem == TableKind::Extern.elem()
                || self.out.table_kinds.contains_key(&elem)
            {
                continue;
            }
            let field = |element_type| we::FieldType {
                element_type,
                mutable: true,
            };
            let array = self.rec_group(
                vec![TypeDef {
                    is_final: true,
                    supertype: None,
                    inner: DefInner::Array(field(we::StorageType::Val(elem))),
                }],
                false,
            );
            let tablebox = self.rec_group(
                vec![TypeDef {
                    is_final: true,
                    supertype: None,
                    inner: DefInner::Struct(vec![
                        field(we::StorageType::Val(runtime_structs::ref_non_null(array.0))),
                        we::FieldType {
                            element_type: we::StorageType::Val(we::ValType::I32),
                            mutable: false,
                        },
                    ]),
                }],
                false,
            );
            self.out.table_kinds.insert(
                elem,
                TableKind::Other {
                    elem,
                    array: array.0,
                    tablebox: tablebox.0,
                },
            );
        }
    }

    /// The box of a mutable global of type `ty` that several reified instances share:
    /// `(struct (field (mut ty)))`, the runtime's for scalars, `funcref` (as a closure) and
    /// `externref`, otherwise a type of its own group (boxes of one value type are one type).
    fn value_box(&mut self, ty: we::ValType) -> OutType {
        match runtime_structs::box_type_for(ty) {
            Some(t) => OutType(t),
            None => self.rec_group(
                vec![TypeDef {
                    is_final: true,
                    supertype: None,
                    inner: DefInner::Struct(vec![we::FieldType {
                        element_type: we::StorageType::Val(ty),
                        mutable: true,
                    }]),
                }],
                false,
            ),
        }
    }

    /// The value type of reified module `m`'s global of type `gt` in the output: a vmctx
    /// field's, which `struct.new_default` must be able to fill.
    ///
    /// Errors: [`not_yet`] for a non-nullable reference, and as [`Renumber`]'s `val_type`.
    pub fn reified_global_type(
        &self,
        m: StaticModuleIndex,
        gt: &wp::GlobalType,
    ) -> Result<we::ValType> {
        if let wp::ValType::Ref(r) = gt.content_type
            && !r.is_nullable()
        {
            return Err(not_yet(format!(
                "globals of non-nullable reference type `{}` in core modules whose state is \
                 reified",
                crate::module_info::type_text(gt.content_type)
            )));
        }
        self.renumber(m).val_type(gt.content_type).map_err(|e| {
            not_yet(format!(
                "global type `{}` in a reified module ({e})",
                crate::module_info::type_text(gt.content_type)
            ))
        })
    }

    /// A `Renumber` for module `m`.
    pub fn renumber(&self, m: StaticModuleIndex) -> Renumber<'_> {
        Renumber {
            layout: &self.layouts[m],
            num_imported_funcs: self.input.infos[m].num_imported_funcs,
            types: &self.input.infos[m].types,
        }
    }

    /// Resolves what an import argument calls.
    pub fn resolve_func(&mut self, def: &CoreDef) -> Result<FuncTarget> {
        match def {
            CoreDef::Export(e) => {
                let (instance, item) = self.input.graph.resolve(&self.input.front.modules, e)?;
                let EntityIndex::Function(f) = item else {
                    bail!(
                        "core instance {} export is not a function",
                        instance.as_u32()
                    )
                };
                if self.settings.late.is_some() {
                    // Called through the `late` table: the type must be the function's own.
                    let m = self.input.graph.instances[instance].module;
                    let t = self.input.infos[m].funcs[f.as_u32() as usize];
                    let ty = self.module_types(m, TypeForm::PLAIN)?[t as usize];
                    let name = crate::front::export_name(self.input.front, self.input.graph, e)?;
                    let source = LateSource::Instance(e.instance);
                    return Ok(FuncTarget::Plain(self.late_func(source, name, ty)));
                }
                self.func_of_instance(instance, f.as_u32())
            }
            CoreDef::Trampoline(t) => Ok(FuncTarget::Plain(self.trampoline(*t)?)),
            CoreDef::InstanceFlags(_) => bail!("instance flags used as a function"),
            CoreDef::UnsafeIntrinsic(i) => {
                use wasmtime_environ::component::UnsafeIntrinsic;
                let (slot, set) = match i {
                    UnsafeIntrinsic::ContextGetI32_0 => (0, false),
                    UnsafeIntrinsic::ContextSetI32_0 => (0, true),
                    UnsafeIntrinsic::ContextGetI32_1 => (1, false),
                    UnsafeIntrinsic::ContextSetI32_1 => (1, true),
                    _ => return Err(not_yet("unsafe intrinsics")),
                };
                if !self.made.contexts.contains_key(&(slot, set)) {
                    let f = self.context_access(slot, set)?;
                    self.made.contexts.insert((slot, set), f);
                }
                Ok(FuncTarget::Plain(self.made.contexts[&(slot, set)]))
            }
            CoreDef::TaskMayBlock => bail!("the task's may-block flag used as a function"),
        }
    }

    /// What function import `pos` of `instance` resolves to: its argument, or the function
    /// made for this import of a per-adapter task built-in (`adapter_import` in `tasks.rs`).
    pub fn resolve_import(
        &mut self,
        instance: RuntimeInstanceIndex,
        pos: usize,
    ) -> Result<FuncTarget> {
        if let Some(f) = self.adapter_import(instance, pos)? {
            return Ok(FuncTarget::Plain(f));
        }
        let def = self.input.graph.instances[instance].args[pos].clone();
        self.resolve_func(&def)
    }

    /// Function `f` (module index space) of `instance`.
    pub fn func_of_instance(
        &mut self,
        instance: RuntimeInstanceIndex,
        f: u32,
    ) -> Result<FuncTarget> {
        let m = self.input.graph.instances[instance].module;
        let nimp = self.input.infos[m].num_imported_funcs;
        if f < nimp {
            let pos = self.input.infos[m].import_position.funcs[f as usize];
            return self.resolve_import(instance, pos);
        }
        let func = OutFunc(self.layouts[m].func_base + (f - nimp));
        Ok(if self.layouts[m].reified {
            FuncTarget::Reified { func, instance }
        } else {
            FuncTarget::Plain(func)
        })
    }

    fn export_item(&self, def: &CoreDef) -> Result<(RuntimeInstanceIndex, EntityIndex)> {
        match def {
            CoreDef::Export(e) => self.input.graph.resolve(&self.input.front.modules, e),
            _ => Err(not_yet(
                "memories, tables or globals provided by the component runtime",
            )),
        }
    }

    /// Follows `def`, an item of kind `kind` that a core instance exports, through the
    /// imports it is bound to, to the instance whose module defines it — or, with
    /// `stop_at_reified`, to the first reified instance on the way, whose vmctx holds the item
    /// whether it defines or imports it. Returns that instance, its module and the item's
    /// index there. The one import-following resolver behind [`Self::resolve_memory`],
    /// [`Self::resolve_table`], [`Self::resolve_global`], [`Self::resolve_global_static`] and
    /// `resolve_tag`.
    ///
    /// Errors: `def` is not an export of a core instance, or not of kind `kind`.
    pub(crate) fn defining_instance(
        &self,
        def: &CoreDef,
        kind: StateKind,
        stop_at_reified: bool,
    ) -> Result<(RuntimeInstanceIndex, StaticModuleIndex, u32)> {
        let mut def = def.clone();
        loop {
            let (instance, item) = self.export_item(&def)?;
            let index = match (kind, item) {
                (StateKind::Memory, EntityIndex::Memory(i)) => i.as_u32(),
                (StateKind::Table, EntityIndex::Table(i)) => i.as_u32(),
                (StateKind::Global, EntityIndex::Global(i)) => i.as_u32(),
                (StateKind::Tag, EntityIndex::Tag(i)) => i.as_u32(),
                _ => bail!("export is not a {}", kind.word()),
            };
            let m = self.input.graph.instances[instance].module;
            let info = &self.input.infos[m];
            let (imported, positions) = match kind {
                StateKind::Memory => (info.num_imported_memories, &info.import_position.memories),
                StateKind::Table => (info.num_imported_tables, &info.import_position.tables),
                StateKind::Global => (info.num_imported_globals, &info.import_position.globals),
                StateKind::Tag => (info.num_imported_tags, &info.import_position.tags),
            };
            if index >= imported || (stop_at_reified && self.layouts[m].reified) {
                return Ok((instance, m, index));
            }
            def = self.input.graph.instances[instance].args[positions[index as usize]].clone();
        }
    }

    /// Resolves an imported memory: an imported memory is the one its import is bound to (the
    /// same box or native memory whether or not the importer is reified).
    pub fn resolve_memory(&mut self, def: &CoreDef) -> Result<StateTarget> {
        if self.settings.late.is_some() {
            return Ok(StateTarget::Late(self.late_memory(def)?));
        }
        let (instance, m, mi) = self.defining_instance(def, StateKind::Memory, false)?;
        if self.layouts[m].reified {
            let field = mi; // memory `i` owns field `i` of a vmctx
            return Ok(StateTarget::Boxed { instance, field });
        }
        Ok(StateTarget::Native(self.layouts[m].memories[mi as usize]))
    }

    /// Resolves an imported table: a reified instance holds the box of every table it has,
    /// defined or imported.
    pub fn resolve_table(&mut self, def: &CoreDef) -> Result<StateTarget> {
        let (instance, m, ti) = self.defining_instance(def, StateKind::Table, true)?;
        if self.layouts[m].reified {
            // A static table is never exported, so only boxed ones are reached here.
            let field = self.input.infos[m].memories.len() as u32 + ti;
            return Ok(StateTarget::Boxed { instance, field });
        }
        Ok(StateTarget::Native(self.layouts[m].tables[ti as usize]))
    }

    /// Resolves an imported global: a reified instance holds each of its globals in a slot of
    /// its vmctx layout (a value, a box or a static output global).
    pub fn resolve_global(&mut self, def: &CoreDef) -> Result<GlobalTarget> {
        if let CoreDef::InstanceFlags(ci) = def {
            return Ok(GlobalTarget::Native(self.flags_global(*ci)));
        }
        if let CoreDef::TaskMayBlock = def {
            return Ok(GlobalTarget::Native(self.task_globals().may_block));
        }
        let (instance, m, gi) = self.defining_instance(def, StateKind::Global, true)?;
        if let Some(v) = &self.layouts[m].vmctx {
            let Some(slot) = v.globals.get(gi as usize) else {
                bail!("internal: global of a reified module resolved before its layout");
            };
            return Ok(match *slot {
                GlobalSlot::Static(g) => GlobalTarget::Native(g),
                GlobalSlot::Value(field) => GlobalTarget::Field {
                    instance,
                    field,
                    boxed: false,
                },
                GlobalSlot::Boxed { field, .. } => GlobalTarget::Field {
                    instance,
                    field,
                    boxed: true,
                },
            });
        }
        Ok(GlobalTarget::Native(OutGlobal(
            self.layouts[m].globals[gi as usize],
        )))
    }

    /// The output global that an imported global is bound to when it is one of the output's
    /// own globals (an unreified module's or a flags global); `None` when it lives in a vmctx.
    /// Unlike [`Self::resolve_global`] this needs no vmctx layout.
    pub fn resolve_global_static(&mut self, def: &CoreDef) -> Result<Option<OutGlobal>> {
        if let CoreDef::InstanceFlags(ci) = def {
            return Ok(Some(self.flags_global(*ci)));
        }
        if let CoreDef::TaskMayBlock = def {
            return Ok(Some(self.task_globals().may_block));
        }
        let (_, m, gi) = self.defining_instance(def, StateKind::Global, false)?;
        if self.layouts[m].reified {
            return Ok(None);
        }
        Ok(Some(OutGlobal(self.layouts[m].globals[gi as usize])))
    }

    /// The output tag of an unreified module's imported tag (defined by an unreified module:
    /// the plan reifies both sides of a tag that a reified module shares).
    fn resolve_tag(&mut self, def: &CoreDef) -> Result<u32> {
        let (_, m, ti) = self.defining_instance(def, StateKind::Tag, true)?;
        if self.layouts[m].reified {
            bail!("internal: an unreified module imports a tag of a reified one");
        }
        Ok(self.layouts[m].tags[ti as usize])
    }

    /// The output tag that stands for tag `ti` of reified module `m` in every instance: the
    /// tag's parameters, then the defining instance's identity (`(ref null eq)`, its vmctx;
    /// [`TagSlot`]). Made once per tag.
    fn identity_tag(&mut self, m: StaticModuleIndex, ti: u32) -> Result<u32> {
        if let Some(&tag) = self.out.identity_tags.get(&(m, ti)) {
            return Ok(tag);
        }
        let tt = *self.input.infos[m]
            .tags
            .get(ti as usize)
            .with_context(|| format!("internal: tag {ti} of core module {}", m.as_u32()))?;
        let ty = self.layouts[m].types[tt.func_type_idx as usize];
        let (mut params, results) = self.func_type_of(ty);
        params.push(ref_null_eq());
        let ty = self.func_type(&params, &results);
        let tag = self.out.tags.len() as u32;
        self.out.tags.push(we::TagType {
            kind: we::TagKind::Exception,
            func_type_idx: ty.0,
        });
        self.out.identity_tags.insert((m, ti), tag);
        Ok(tag)
    }

    /// The flags global of a component instance: `may_leave` (1 = may leave), as FACT adapters
    /// read and write it.
    pub fn flags_global(&mut self, ci: RuntimeComponentInstanceIndex) -> OutGlobal {
        if let Some(g) = self.made.flags.get(&ci) {
            return *g;
        }
        let g = self.add_global(
            we::GlobalType {
                val_type: we::ValType::I32,
                mutable: true,
                shared: false,
            },
            we::ConstExpr::i32_const(1),
            format!("flags{}", ci.as_u32()),
        );
        self.made.flags.insert(ci, g);
        g
    }

    /// The function that traps for `reason` (a kebab-case phrase, such as
    /// `cannot-leave-component-instance`): `(func unreachable)`, named
    /// `gc-lower:trap:{reason}`, created once per reason. Core wasm traps carry no message, so
    /// the canonical ABI's traps call it instead of executing `unreachable` themselves: the
    /// first frame of the trap's backtrace then names the reason, as wasmtime's message does.
    pub fn trap_func(&mut self, reason: &str) -> OutFunc {
        if let Some(f) = self.made.trap_funcs.get(reason) {
            return *f;
        }
        let ty = self.func_type(&[], &[]);
        let mut body = we::Function::new([]);
        body.instructions().unreachable().end();
        let f = self.add_func(ty, format!("trap:{reason}"), body);
        self.made.trap_funcs.insert(reason.to_string(), f);
        f
    }

    /// The output function for trampoline `t`.
    pub fn trampoline(&mut self, t: TrampolineIndex) -> Result<OutFunc> {
        if let Some(f) = self.made.trampolines.get(&t) {
            return Ok(*f);
        }
        // The exchange module's calls of the host's `async` lowerings and waitable
        // intrinsics are the output's imports themselves (`crate::exchange`).
        if let Some(f) = self.input.host.async_import_of(t) {
            return Ok(OutFunc(f));
        }
        let t_def = &self.input.front.translation.trampolines[t];
        let f = match t_def {
            Trampoline::LowerImport { .. }
                if self.input.host.adapted_lowerings.contains_key(&t) =>
            {
                // The guest calls the host adapter's entry instead (`crate::exchange`).
                let def = self.input.host.adapted_lowerings[&t].clone();
                let target = self.resolve_func(&def)?;
                self.plain_func(target)?
            }
            Trampoline::LowerImport { options, .. } => {
                let Some(i) = self.input.host.import_of(t) else {
                    bail!("internal: trampoline {} has no host import", t.as_u32())
                };
                // Like wasmtime's trampoline: the lowering instance must be allowed to leave
                // (it is not, for example, inside a post-return function called by an adapter).
                let instance = self.input.front.translation.component.options[*options].instance;
                let flags = self.flags_global(instance);
                let import = OutFunc(i as u32);
                let ty = self.out_func_type(import);
                let (params, _) = self.func_type_of(ty);
                let trap = self.trap_func(CANNOT_LEAVE);
                let mut body = we::Function::new([]);
                let mut ins = body.instructions();
                ins.global_get(flags.0)
                    .i32_eqz()
                    .if_(we::BlockType::Empty)
                    .call(trap.0)
                    .end();
                for p in 0..params.len() as u32 {
                    ins.local_get(p);
                }
                ins.call(import.0).end();
                let name = format!("lower-import{}", t.as_u32());
                self.add_func(ty, name, body)
            }
            Trampoline::Transcoder {
                op,
                from,
                from64,
                to,
                to64,
            } => {
                if *from64 || *to64 {
                    return Err(crate::error::unsupported("64-bit memories"));
                }
                let (op, from, to) = (*op, *from, *to);
                let from = self.resolve_memory(&crate::host::memory_def(
                    &self.input.front.translation.component,
                    from,
                )?)?;
                let to = self.resolve_memory(&crate::host::memory_def(
                    &self.input.front.translation.component,
                    to,
                )?)?;
                self.transcoder(op, from, to)?
            }
            Trampoline::Trap => {
                // FACT's adapters call it with a `Trap` code: each code it uses traps in the
                // function of its reason (an unknown code, without one).
                let ty = self.func_type(&[we::ValType::I32], &[]);
                let reasons: Vec<(i32, OutFunc)> = FACT_TRAPS
                    .iter()
                    .map(|&trap| (trap as i32, self.trap_func(&trap_reason(trap))))
                    .collect();
                let mut body = we::Function::new([]);
                let mut ins = body.instructions();
                for (code, f) in reasons {
                    ins.local_get(0)
                        .i32_const(code)
                        .i32_eq()
                        .if_(we::BlockType::Empty)
                        .call(f.0)
                        .end();
                }
                ins.unreachable().end();
                self.add_func(ty, "trap".into(), body)
            }
            Trampoline::ResourceNew { instance, ty } => self.resource_new(*instance, *ty)?,
            Trampoline::ResourceRep { ty, .. } => self.resource_rep(*ty)?,
            Trampoline::ResourceDrop { instance, ty } => self.resource_drop(*instance, *ty)?,
            Trampoline::ResourceTransferOwn | Trampoline::ResourceTransferBorrow => {
                let borrow = matches!(t_def, Trampoline::ResourceTransferBorrow);
                if self.input.host.host_transfers.contains(&t) {
                    self.host_resource_transfer(borrow)?
                } else {
                    self.resource_transfer(borrow)?
                }
            }
            Trampoline::EnterSyncCall if self.input.front.uses_async => {
                let enter = self.enter_sync_call()?;
                self.enter_sync_task(enter)?
            }
            Trampoline::ExitSyncCall if self.input.front.uses_async => {
                let exit = self.exit_sync_call()?;
                self.exit_sync_task(exit)?
            }
            Trampoline::EnterSyncCall => self.enter_sync_call()?,
            Trampoline::ExitSyncCall => self.exit_sync_call()?,
            Trampoline::TaskReturn {
                instance,
                results,
                options,
            } => {
                let (instance, results, options) = (*instance, *results, *options);
                let ty = self.trampoline_type(t)?;
                self.task_return(instance, results, options, ty)?
            }
            Trampoline::WaitableSetNew { .. }
            | Trampoline::WaitableSetDrop { .. }
            | Trampoline::WaitableJoin { .. }
            | Trampoline::SubtaskDrop { .. } => {
                let ty = self.trampoline_type(t)?;
                self.waitable_builtin(t_def, ty)?
                    .context("internal: a waitable built-in without its function")?
            }
            Trampoline::FutureNew { .. }
            | Trampoline::FutureRead { .. }
            | Trampoline::FutureWrite { .. }
            | Trampoline::FutureCancelRead { .. }
            | Trampoline::FutureCancelWrite { .. }
            | Trampoline::FutureDropReadable { .. }
            | Trampoline::FutureDropWritable { .. }
            | Trampoline::FutureTransfer
            | Trampoline::StreamNew { .. }
            | Trampoline::StreamRead { .. }
            | Trampoline::StreamWrite { .. }
            | Trampoline::StreamCancelRead { .. }
            | Trampoline::StreamCancelWrite { .. }
            | Trampoline::StreamDropReadable { .. }
            | Trampoline::StreamDropWritable { .. }
            | Trampoline::StreamTransfer => {
                let ty = self.trampoline_type(t)?;
                self.transmit_builtin(t_def, ty)?
                    .context("internal: a stream or future built-in without its function")?
            }
            Trampoline::ErrorContextNew { .. }
            | Trampoline::ErrorContextDebugMessage { .. }
            | Trampoline::ErrorContextDrop { .. }
            | Trampoline::ErrorContextTransfer => {
                let ty = self.trampoline_type(t)?;
                self.error_context_builtin(t, t_def, ty)?
                    .context("internal: an error-context built-in without its function")?
            }
            Trampoline::ThreadYield {
                instance,
                cancellable,
            } => {
                let (instance, cancellable) = (*instance, *cancellable);
                let ty = self.trampoline_type(t)?;
                self.thread_yield(instance, cancellable, ty)?
            }
            Trampoline::TaskCancel { instance } => {
                let instance = *instance;
                let ty = self.trampoline_type(t)?;
                self.task_cancel(instance, ty)?
            }
            Trampoline::BackpressureInc { instance } | Trampoline::BackpressureDec { instance } => {
                let delta = if matches!(t_def, Trampoline::BackpressureInc { .. }) {
                    1
                } else {
                    -1
                };
                let instance = *instance;
                let ty = self.trampoline_type(t)?;
                self.backpressure(instance, delta, ty)?
            }
            Trampoline::SubtaskCancel { instance, async_ } => {
                let (instance, async_) = (*instance, *async_);
                let ty = self.trampoline_type(t)?;
                self.subtask_cancel(instance, async_, ty)?
            }
            Trampoline::WaitableSetWait { instance, options }
            | Trampoline::WaitableSetPoll { instance, options } => {
                let wait = matches!(t_def, Trampoline::WaitableSetWait { .. });
                let (instance, options) = (*instance, *options);
                let ty = self.trampoline_type(t)?;
                self.waitable_set_check(instance, options, wait, ty)?
            }
            Trampoline::PrepareCall { .. }
            | Trampoline::SyncStartCall { .. }
            | Trampoline::AsyncStartCall { .. } => {
                bail!("internal: a per-adapter task built-in resolved without its import")
            }
            other => {
                let name = format!("{other:?}");
                let name = name.split([' ', '{', '(']).next().unwrap_or("").to_string();
                return Err(not_yet(format!("the `{name}` built-in")));
            }
        };
        self.made.trampolines.insert(t, f);
        Ok(f)
    }

    /// A function with `target`'s original signature (no vmctx parameter): `target` itself
    /// when plain, otherwise a wrapper that passes the bound instance's vmctx.
    pub fn plain_func(&mut self, target: FuncTarget) -> Result<OutFunc> {
        let FuncTarget::Reified { func, instance } = target else {
            let FuncTarget::Plain(f) = target else {
                unreachable!()
            };
            return Ok(f);
        };
        if let Some(f) = self.made.bound.get(&target) {
            return Ok(*f);
        }
        let (mut params, results) = self.func_type_of(self.out_func_type(func));
        params.pop();
        // The wrapper stands for the function: it takes its module's type.
        let origin = self.origin(func);
        // Only unreified code uses the wrapper (as a `funcref`), so it takes the module's type in
        // the plain form whatever the module's own form: a rec group that holds a `funcref`
        // elsewhere must be the same group as in the unreified modules that check it. The
        // function's own signature has no function reference here (the plan reifies both sides
        // of such an import), so the plain form has the wrapper's parameters, unless they
        // hold a struct or array type with fields of function references (of the closures
        // form), which the unreified code can only see through a supertype (it would have
        // such fields itself, and be reified): then the wrapper takes the closures form.
        let mut ty = self.origin_type(origin, TypeForm::PLAIN, &params, &results)?;
        if self.func_type_of(ty) != (params.clone(), results.clone()) {
            let closures = TypeForm {
                closures: true,
                last: LastParam::None,
            };
            ty = self.origin_type(origin, closures, &params, &results)?;
            if self.func_type_of(ty) != (params.clone(), results.clone()) {
                ty = self.func_type(&params, &results);
            }
        }
        let mut body = we::Function::new([]);
        for i in 0..params.len() as u32 {
            body.instruction(&we::Instruction::LocalGet(i));
        }
        for instruction in self.instance_slot(instance).push_vmctx() {
            body.instruction(&instruction);
        }
        body.instruction(&we::Instruction::Call(func.0));
        body.instruction(&we::Instruction::End);
        let f = self.add_func(
            ty,
            format!("bound{}:{}", instance.as_u32(), self.func_name(func)),
            body,
        );
        self.out.funcs[(f.0 - self.out.num_imported_funcs) as usize].origin = origin;
        self.made.bound.insert(target, f);
        Ok(f)
    }

    /// The type of a function made to stand for another (a bound wrapper, an entry thunk):
    /// module `m`'s type `t` in `form` when the function has that `origin`, so that it keeps
    /// the type identity `call_indirect` and `ref.cast` check; otherwise a final function type
    /// of its own of `params` and `results`.
    fn origin_type(
        &mut self,
        origin: Option<(StaticModuleIndex, u32)>,
        form: TypeForm,
        params: &[we::ValType],
        results: &[we::ValType],
    ) -> Result<OutType> {
        match origin {
            Some((m, t)) => self.form_type(m, t, form),
            None => Ok(self.func_type(params, results)),
        }
    }

    /// The output name of function `f`.
    pub(crate) fn func_name(&self, f: OutFunc) -> String {
        match f.0.checked_sub(self.out.num_imported_funcs) {
            Some(slot) => self.out.funcs[slot as usize].name.clone(),
            None => format!("import{}", f.0),
        }
    }

    /// The output type of function `f`.
    pub fn out_func_type(&self, f: OutFunc) -> OutType {
        if f.0 < self.out.num_imported_funcs {
            return self.out.import_types[f.0 as usize];
        }
        self.out.funcs[(f.0 - self.out.num_imported_funcs) as usize].ty
    }

    /// The closure-table slot that a closure of `target` holds: the slot of its entry thunk
    /// `(params.., ctx anyref) -> results`, made on first use, which for a reified target casts
    /// `ctx` to the vmctx type and for a plain one ignores it. Thunks depend only on the
    /// function, not on the bound instance.
    pub fn closure_slot(&mut self, target: FuncTarget) -> Result<u32> {
        let (func, vmctx_ty) = match target {
            FuncTarget::Plain(f) => (f, None),
            FuncTarget::Reified { func, instance } => {
                let m = self.input.graph.instances[instance].module;
                (func, self.layouts[m].vmctx.as_ref().map(|v| v.ty))
            }
        };
        let key = FuncTarget::Plain(func);
        if let Some(&slot) = self.made.entry_thunks.get(&key) {
            return Ok(slot);
        }
        let (mut params, results) = self.func_type_of(self.out_func_type(func));
        if vmctx_ty.is_some() {
            params.pop();
        }
        let n = params.len() as u32;
        params.push(ANYREF);
        // The thunk's type is what `call_indirect` in reified code checks: the entry form of
        // the function's own type. Only reified code calls it, so it takes the entry form with
        // closures whatever the function's own module is (see `plain_func` for why the
        // signature matches).
        let entry = TypeForm {
            closures: true,
            last: LastParam::Context,
        };
        let ty = self.origin_type(self.origin(func), entry, &params, &results)?;
        let mut body = we::Function::new([]);
        let mut ins = body.instructions();
        for i in 0..n {
            ins.local_get(i);
        }
        if let Some(vt) = vmctx_ty {
            ins.local_get(n)
                .ref_cast_nullable(we::HeapType::Concrete(vt.0));
        }
        ins.call(func.0).end();
        let f = self.add_func(ty, format!("entry:{}", self.func_name(func)), body);
        let (_, thunks) = self.closure_table();
        let slot = thunks.len() as u32;
        thunks.push(f);
        self.made.entry_thunks.insert(key, slot);
        Ok(slot)
    }

    /// A new `funcref` table of the output, empty and without maximum (its size is set once
    /// its elements are known); its index.
    fn add_funcref_table(&mut self) -> u32 {
        let table = self.out.tables.len() as u32;
        self.out.tables.push((
            we::TableType {
                element_type: we::RefType::FUNCREF,
                table64: false,
                minimum: 0,
                maximum: None,
                shared: false,
            },
            None,
        ));
        table
    }

    /// The closure table (a `funcref` table of every entry thunk, in slot order): its table
    /// index and its thunks, created empty on first use.
    pub fn closure_table(&mut self) -> (u32, &mut Vec<OutFunc>) {
        if self.made.closure_table.is_none() {
            let table = self.add_funcref_table();
            self.made.closure_table = Some((table, Vec::new()));
        }
        let (table, thunks) = self.made.closure_table.as_mut().expect("created above");
        (*table, thunks)
    }

    /// Emits code that pushes a `(ref $closure)` for `target`; `ctx` pushes the vmctx of a
    /// reified target's instance.
    pub fn emit_closure(&mut self, ins: &mut Sink, target: FuncTarget) -> Result<()> {
        let slot = self.closure_slot(target)?;
        ins.push(we::Instruction::I32Const(slot as i32));
        self.push_closure_ctx(ins, target.instance());
        ins.push(we::Instruction::StructNew(runtime_structs::CLOSURE));
        Ok(())
    }

    /// The global, `(mut (ref null closure))`, null until first set, that keeps the closure
    /// of `target` (a function and the instance whose vmctx it is called with; closures of
    /// one function share a closure-table slot whatever their instance, so the slot cannot be
    /// the key). A closure is immutable and no instruction tells two with the same function
    /// and vmctx apart (a `funcref` cannot be compared), so the first one `ref.func` makes
    /// serves every later one, which then allocates nothing.
    pub fn closure_cache(&mut self, target: FuncTarget) -> OutGlobal {
        if let Some(g) = self.made.closure_caches.get(&target) {
            return *g;
        }
        let n = self.made.closure_caches.len();
        let g = self.add_global(
            we::GlobalType {
                val_type: runtime_structs::ref_null(runtime_structs::CLOSURE),
                mutable: true,
                shared: false,
            },
            we::ConstExpr::ref_null(we::HeapType::Concrete(runtime_structs::CLOSURE)),
            format!("gc-lower:closure{n}"),
        );
        self.made.closure_caches.insert(target, g);
        g
    }

    /// Pushes the closure of `target`: the one its cache global keeps
    /// ([`Lowerer::closure_cache`]), made by `make` (which pushes it) the first time. Only for
    /// a closure that is the same value wherever and whenever the code runs: a function of a
    /// module instantiated once, called with that instance's vmctx, or a function of an
    /// instance made before the code's, which every instance of the code's module imports.
    pub fn cached_closure(&mut self, out: &mut Sink, target: FuncTarget, make: Sink) {
        let cache = self.closure_cache(target);
        // One read of the global when it is set (on wasmtime, one read barrier):
        // (block (result (ref $closure)) (br_on_non_null 0 (global.get $cache))
        //   make (global.set $cache) (ref.as_non_null (global.get $cache)))
        out.push(we::Instruction::Block(we::BlockType::Result(
            runtime_structs::ref_non_null(runtime_structs::CLOSURE),
        )));
        out.push(we::Instruction::GlobalGet(cache.0));
        out.push(we::Instruction::BrOnNonNull(0));
        out.0.extend(make.0);
        out.push(we::Instruction::GlobalSet(cache.0));
        out.push(we::Instruction::GlobalGet(cache.0));
        out.push(we::Instruction::RefAsNonNull);
        out.push(we::Instruction::End);
    }

    /// Pushes a closure's context: the vmctx of reified instance `instance`, or for an
    /// unreified function (`None`) a null.
    pub fn push_closure_ctx(&self, ins: &mut Sink, instance: Option<RuntimeInstanceIndex>) {
        match instance {
            None => ins.push(we::Instruction::RefNull(we::HeapType::Abstract {
                shared: false,
                ty: we::AbstractHeapType::None,
            })),
            Some(instance) => self.push_instance_vmctx(ins, instance),
        }
    }

    /// The function of a runtime helper.
    pub fn helper(&mut self, h: runtime_structs::Helper) -> OutFunc {
        debug_assert!(self.settings.gc, "runtime helpers need the runtime types");
        if let Some(f) = self.made.helpers.get(&h) {
            return *f;
        }
        let hf = runtime_structs::helper(h, |callee| self.helper(callee).0);
        let ty = self.func_type(&hf.params, &hf.results);
        let f = self.add_func(ty, hf.name.clone(), hf.body);
        self.made.helpers.insert(h, f);
        f
    }

    /// A constant expression of an unreified module, renumbered.
    pub fn native_const_expr(
        &mut self,
        m: StaticModuleIndex,
        e: &wp::ConstExpr<'_>,
    ) -> Result<we::ConstExpr> {
        let mut out = Vec::new();
        let mut reader = e.get_operators_reader();
        while !reader.eof() {
            let op = reader.read()?;
            match op {
                wp::Operator::End => {}
                wp::Operator::RefFunc { function_index } => {
                    let target = self.module_func(m, None, function_index)?;
                    let f = self.plain_func(target)?;
                    self.out.declared.insert(f.0);
                    out.push(we::Instruction::RefFunc(f.0));
                }
                op => {
                    let ins = self
                        .renumber(m)
                        .instruction(op)
                        .map_err(|e| anyhow!("{e}"))?;
                    out.push(ins);
                }
            }
        }
        Ok(we::ConstExpr::extended(out))
    }

    /// Function `f` (module index space) of module `m`, seen from `instance` (`None` for an
    /// unreified module, whose only instance is implied).
    pub fn module_func(
        &mut self,
        m: StaticModuleIndex,
        instance: Option<RuntimeInstanceIndex>,
        f: u32,
    ) -> Result<FuncTarget> {
        let layout = &self.layouts[m];
        let nimp = self.input.infos[m].num_imported_funcs;
        if f < nimp {
            if let Some(v) = &layout.vmctx {
                return match v.imported_funcs[f as usize] {
                    ImportedFunc::Static(t) => Ok(t),
                    ImportedFunc::Dynamic(_) => {
                        let instance = instance.expect("reified module function needs an instance");
                        self.func_of_instance(instance, f)
                    }
                };
            }
            return Ok(layout.imported_funcs[f as usize]);
        }
        let func = OutFunc(layout.func_base + (f - nimp));
        Ok(match (layout.reified, instance) {
            (true, Some(instance)) => FuncTarget::Reified { func, instance },
            (true, None) => bail!("internal: reified function without an instance"),
            (false, _) => FuncTarget::Plain(func),
        })
    }

    fn native_element(
        &mut self,
        m: StaticModuleIndex,
        e: &wp::Element<'_>,
    ) -> Result<we::ElementSegment<'static>> {
        let elements = match &e.items {
            wp::ElementItems::Functions(r) => {
                let mut fs = Vec::new();
                for f in r.clone() {
                    let target = self.module_func(m, None, f?)?;
                    let f = self.plain_func(target)?;
                    self.out.declared.insert(f.0);
                    fs.push(f.0);
                }
                we::Elements::Functions(fs.into())
            }
            wp::ElementItems::Expressions(ty, r) => {
                let ty = self.renumber(m).ref_type(*ty).map_err(|e| anyhow!("{e}"))?;
                let mut es = Vec::new();
                for ex in r.clone() {
                    es.push(self.native_const_expr(m, &ex?)?);
                }
                we::Elements::Expressions(ty, es.into())
            }
        };
        let mode = match e.kind {
            wp::ElementKind::Declared => we::ElementMode::Declared,
            _ => we::ElementMode::Passive,
        };
        Ok(we::ElementSegment { mode, elements })
    }

    /// Gives the async runtime's dispatch functions their bodies (the scheduler's resume and
    /// wake, the transmits' copy), once every built-in that they dispatch to is made; at most
    /// once, and [`Self::finish`] calls it if no one did. The module-graph form calls it first to
    /// learn every function its trampolines module calls late.
    pub fn finish_runtime(&mut self) -> Result<()> {
        if !self.made.runtime_finished {
            self.made.runtime_finished = true;
            self.finish_scheduler()?;
            self.finish_transmits()?;
        }
        Ok(())
    }

    /// Encodes the output module.
    pub fn finish(mut self, component_type: Option<&(String, Vec<u8>)>) -> Result<Vec<u8>> {
        self.finish_runtime()?;
        self.check_limits()?;
        let mut module = we::Module::new();
        let mut types = we::TypeSection::new();
        if self.settings.gc {
            types.ty().rec(runtime_structs::rec_group());
        }
        let mut next = 0;
        for &size in &self.out.groups {
            let group = &self.out.types[next..next + size as usize];
            match group {
                [t] => types.ty().subtype(t),
                _ => types.ty().rec(group.iter().cloned()),
            };
            next += size as usize;
        }
        module.section(&types);

        let mut imports = we::ImportSection::new();
        for (i, (module, name, _)) in self.input.host.core_imports().into_iter().enumerate() {
            let ty = self.out_func_type(OutFunc(i as u32));
            imports.import(&module, &name, we::EntityType::Function(ty.0));
        }
        module.section(&imports);

        let mut functions = we::FunctionSection::new();
        for f in &self.out.funcs {
            functions.function(f.ty.0);
        }
        module.section(&functions);

        // The closure table holds exactly its thunks, put there by an active segment (the last
        // element segment, after the renumbered modules' ones).
        let closure_table = self.made.closure_table.clone();
        if let Some((table, thunks)) = &closure_table {
            let n = thunks.len() as u64;
            let t = &mut self.out.tables[*table as usize].0;
            t.minimum = n;
            t.maximum = Some(n);
        }
        let mut tables = we::TableSection::new();
        for (t, init) in &self.out.tables {
            match init {
                Some(e) => tables.table_with_init(*t, e),
                None => tables.table(*t),
            };
        }
        module.section(&tables);

        let mut memories = we::MemorySection::new();
        for m in &self.out.memories {
            memories.memory(*m);
        }
        module.section(&memories);

        let mut tags = we::TagSection::new();
        for t in &self.out.tags {
            tags.tag(*t);
        }
        if !self.out.tags.is_empty() {
            module.section(&tags);
        }

        let mut globals = we::GlobalSection::new();
        for (t, init, _) in &self.out.globals {
            globals.global(*t, init);
        }
        module.section(&globals);

        let mut exports = we::ExportSection::new();
        for (name, kind, index) in &self.out.exports {
            exports.export(name, *kind, *index);
        }
        module.section(&exports);

        let mut elems = we::ElementSection::new();
        for e in &self.out.elems {
            elems.segment(e.clone());
        }
        for (table, offset, items) in &self.out.static_elems {
            let funcs: Option<Vec<u32>> = items.iter().copied().collect();
            let exprs: Vec<we::ConstExpr>;
            let elements = match &funcs {
                Some(funcs) => we::Elements::Functions(funcs.as_slice().into()),
                None => {
                    exprs = items
                        .iter()
                        .map(|item| match item {
                            Some(f) => we::ConstExpr::ref_func(*f),
                            None => we::ConstExpr::ref_null(we::HeapType::FUNC),
                        })
                        .collect();
                    we::Elements::Expressions(we::RefType::FUNCREF, exprs.as_slice().into())
                }
            };
            elems.active(
                Some(*table),
                &we::ConstExpr::i32_const(*offset as i32),
                elements,
            );
        }
        if let Some((table, thunks)) = &closure_table {
            let funcs: Vec<u32> = thunks.iter().map(|f| f.0).collect();
            elems.active(
                Some(*table),
                &we::ConstExpr::i32_const(0),
                we::Elements::Functions(funcs.into()),
            );
        }
        let declared: Vec<u32> = std::mem::take(&mut self.out.declared).into_iter().collect();
        if !declared.is_empty() {
            elems.declared(we::Elements::Functions(declared.into()));
        }
        module.section(&elems);

        module.section(&we::DataCountSection {
            count: self.out.datas.len() as u32,
        });

        let mut code = we::CodeSection::new();
        for f in &self.out.funcs {
            let body = f
                .body
                .as_ref()
                .ok_or_else(|| anyhow!("internal: function `{}` has no body", f.name))?;
            code.function(body);
        }
        module.section(&code);

        let mut data = we::DataSection::new();
        for (i, d) in self.out.datas.iter().enumerate() {
            match self.out.active_datas.get(&(i as u32)) {
                Some(&(mem, offset)) => {
                    data.active(
                        mem,
                        &we::ConstExpr::i32_const(offset as i32),
                        d.iter().copied(),
                    );
                }
                None => {
                    data.passive(d.iter().copied());
                }
            }
        }
        module.section(&data);

        module.section(&self.name_section());
        let mut modules: Vec<_> = self.input.names.iter().collect();
        modules.sort_by_key(|(m, _)| **m);
        module.section(&crate::names::producers_section(
            modules.iter().filter_map(|(_, n)| n.producers.as_ref()),
        ));

        if let Some((name, data)) = component_type {
            module.section(&we::CustomSection {
                name: name.as_str().into(),
                data: data.as_slice().into(),
            });
        }
        Ok(module.finish())
    }
}

impl Lowerer<'_, '_> {
    /// Checks the output's index spaces against the limits that validators and engines share
    /// (wasmparser's `limits.rs`), so that an input whose output would pass one is reported as
    /// unsupported, naming the limit, rather than as an invalid output.
    fn check_limits(&self) -> Result<()> {
        let num_types = self.out.types.len()
            + if self.settings.gc {
                runtime_structs::NUM_TYPES as usize
            } else {
                0
            };
        let counts = [
            ("types", num_types, 1_000_000),
            (
                "functions",
                self.out.num_imported_funcs as usize + self.out.funcs.len(),
                1_000_000,
            ),
            ("globals", self.out.globals.len(), 1_000_000),
            ("memories", self.out.memories.len(), 100),
            ("tables", self.out.tables.len(), MAX_TABLES),
            ("data segments", self.out.datas.len(), 100_000),
            (
                "element segments",
                self.out.elems.len()
                    + self.out.static_elems.len()
                    + usize::from(self.made.closure_table.is_some())
                    + usize::from(!self.out.declared.is_empty()),
                100_000,
            ),
        ];
        for (what, count, limit) in counts {
            if count > limit {
                let hint = if what == "memories" || what == "tables" {
                    "; `--reify all` keeps memories and tables in GC values instead"
                } else {
                    ""
                };
                return Err(crate::error::unsupported(format!(
                    "components whose lowered module needs more than {limit} {what} (this one \
                     needs {count}{hint})"
                )));
            }
        }
        Ok(())
    }
}

/// A host-boundary value type (always a number) in wasm-encoder's terms.
pub fn plain_val_type(t: wp::ValType) -> Result<we::ValType> {
    Ok(match t {
        wp::ValType::I32 => we::ValType::I32,
        wp::ValType::I64 => we::ValType::I64,
        wp::ValType::F32 => we::ValType::F32,
        wp::ValType::F64 => we::ValType::F64,
        other => bail!("unexpected host-boundary type `{other}`"),
    })
}
