//! The plan of a lowering: what [`crate::lower`] will do with a component, without doing it.
//!
//! [`plan`] runs the lowering's own decisions — the translation, the instance graph, which
//! modules are reified ([`crate::assemble::plan_reified`]), whether the host boundary needs an
//! exchange memory ([`crate::exchange::exchange_reason`]) and the vmctx layout of each
//! reified module ([`crate::layout::Vmctx`]) — and stops before any code is rewritten. The
//! [`Plan`] says, for every static core module, its label (as the output's name section uses
//! it, see [`crate::names`]), size and number of instances, whether it is reified and why, and
//! what each field of a reified module's vmctx holds; and which functions cross the host
//! boundary, and how their values do.
//!
//! `gc-lower IN --plan` prints it for people; `--plan=json` prints it with serde_json, in this
//! shape (version 1; keys are kebab-case, every key is always present, `null` when it does not
//! apply):
//!
//! ```text
//! { "format": "gc-lower-plan", "version": 1, "reify": "auto",
//!   "modules": [
//!     { "index": 0, "label": "Counter", "role": "component", "size": 261, "instances": 2,
//!       "reified": true, "reason": { "kind": "instantiated", "times": 2 },
//!       "vmctx": { "fields": 4, "items": [
//!         { "field": 0, "item": "memory", "index": 0, "import": null, "export": null,
//!           "holds": { "kind": "memory-box" } }, ... ] } } ],
//!   "host": { "memory": { "kind": "none" },
//!             "imports": [ { "module": "$root", "name": "f", "type": "(func (param i32))",
//!                            "uses-memory": false, "handles": false, "exchange": false } ],
//!             "resource-intrinsics": [ { "module": "…", "name": "[resource-drop]r",
//!                                        "type": "(func (param i32))" } ],
//!             "exports": [ { "name": "g", "type": "(func (result i32))", "uses-memory": false,
//!                            "handles": false, "exchange": false, "post-return": null } ] } }
//! ```
//!
//! The variants of `reason`, `holds` and `host.memory` are told apart by their `kind`; see
//! [`Reason`], [`Holds`], [`HostMemory`] and [`ExchangeWhy`].

use anyhow::Result;
use serde::Serialize;
use wasmtime_environ::StaticModuleIndex;
use wasmtime_environ::component::{CoreDef, ExportItem};
use wasmtime_environ::wasmparser as wp;

use crate::ReifyMode;
use crate::assemble::{Lowerer, ReifyReason};
use crate::exchange::ExchangeReason;
use crate::layout::{FuncTarget, GlobalSlot, ImportedFunc, MemSlot, TabSlot};
use crate::module_info::ModuleInfo;

/// The value of [`Plan::format`].
pub const FORMAT: &str = "gc-lower-plan";
/// The value of [`Plan::version`]: it changes when a key changes meaning or goes away.
pub const VERSION: u32 = 1;

/// What lowering a component will do.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Plan {
    /// Always [`FORMAT`].
    pub format: &'static str,
    /// Always [`VERSION`].
    pub version: u32,
    /// The reify mode the plan was made with (`auto` or `all`).
    pub reify: ReifyMode,
    /// Every static core module, by static index: the component's own and the adapter modules
    /// the translation generates.
    pub modules: Vec<ModulePlan>,
    /// The host boundary.
    pub host: HostPlan,
}

/// One static core module.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ModulePlan {
    /// Its static index (`N` in the `m{N}:f{K}` names of the output).
    pub index: u32,
    /// Its label in the output's name section: its own module name (`name#N` when another
    /// module has the same name), else `module{N}`.
    pub label: String,
    /// Where it comes from.
    pub role: ModuleRole,
    /// Its size in bytes (the core module binary).
    pub size: usize,
    /// How many runtime instances the component makes of it (0: its code is not emitted).
    pub instances: usize,
    /// Whether its memories, tables and globals live in a vmctx per instance.
    pub reified: bool,
    /// Why it is reified, or why not.
    pub reason: Reason,
    /// Its vmctx layout, when it is reified.
    pub vmctx: Option<VmctxPlan>,
}

/// Where a static core module comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModuleRole {
    /// A core module of the component (or of a component nested in it).
    Component,
    /// An adapter module that wasmtime-environ's FACT generates between two components.
    Adapter,
    /// A module gc-lower adds for the host boundary: the exchange memory, the host adapters
    /// and their entry points (see [`crate::exchange`]).
    Host,
}

/// Why a module is reified or not: the rule of [`crate::assemble::plan_reified`] that decided it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(
    tag = "kind",
    rename_all = "kebab-case",
    rename_all_fields = "kebab-case"
)]
pub enum Reason {
    /// Not reified: never instantiated, so its code is not emitted.
    NotInstantiated,
    /// Not reified (`--reify auto`): instantiated once, sharing no state and passing no
    /// function references with a reified module.
    InstantiatedOnce,
    /// Not reified (`--reify all`): instantiated once, it holds the memory the host reads and
    /// writes (the guest's, in place, or the exchange memory), which stays the output's one
    /// linear memory.
    HostMemory,
    /// Reified by `--reify all`.
    All,
    /// Reified: instantiated `times` times (two or more).
    Instantiated {
        /// The number of instances.
        times: usize,
    },
    /// Reified: it shares `state` with module `with`, which is reified, through `import`.
    SharesState {
        /// What is shared.
        state: StateKind,
        /// The other module's static index.
        with: u32,
        /// The import through which it is shared.
        import: ImportName,
        /// Whether this module imports it (from an instance of `with`); otherwise `with`
        /// imports it from this module's instance. A memory reifies the module it comes from
        /// only when the importer's instances import different memories.
        imports: bool,
    },
    /// Reified: its struct or array types have fields of function references and a module
    /// is reified (module `with` is the first with such fields): reified code holds function
    /// references as closures, in those fields too, and a struct or array type must be one
    /// type in every module that declares it.
    FunctionReferenceFields {
        /// The other module's static index.
        with: u32,
    },
    /// Reified: it passes function references to or from module `with`, which is reified,
    /// through the function import `import` (reified code holds them as closures).
    PassesFunctionReferences {
        /// The other module's static index.
        with: u32,
        /// The function import whose type passes function references.
        import: ImportName,
        /// Whether this module imports the function (from an instance of `with`); otherwise
        /// `with` imports it from this module's instance.
        imports: bool,
    },
}

/// What two modules share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StateKind {
    /// A linear memory.
    Memory,
    /// A table.
    Table,
    /// A global.
    Global,
    /// An exception tag.
    Tag,
}

/// The module and field names of a core import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportName {
    /// The import's module name.
    pub module: String,
    /// The import's field name.
    pub name: String,
}

/// The vmctx struct of a reified module.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct VmctxPlan {
    /// The number of struct fields.
    pub fields: usize,
    /// Each memory, table, global, imported function, element segment and tag of the module,
    /// and its data segments, in field order; items without a field last.
    pub items: Vec<VmctxItem>,
}

/// One item of a reified module and where its instances keep it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct VmctxItem {
    /// The vmctx field, `None` when every instance reaches the item without one.
    pub field: Option<u32>,
    /// What the item is.
    pub item: ItemKind,
    /// Its index in the module's index space of its kind (`None` for the data segments, which
    /// share one field).
    pub index: Option<u32>,
    /// The import it comes from, when it is imported.
    pub import: Option<ImportName>,
    /// The module's first export of it, if any.
    pub export: Option<String>,
    /// What the field holds, or how the item is reached without one.
    pub holds: Holds,
}

/// The kind of a [`VmctxItem`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ItemKind {
    /// A memory.
    Memory,
    /// A table.
    Table,
    /// A global.
    Global,
    /// An imported function.
    Function,
    /// The data segments.
    Data,
    /// An element segment.
    ElementSegment,
    /// A tag.
    Tag,
}

/// What a vmctx field holds (or, for an item without a field, how it is reached).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(
    tag = "kind",
    rename_all = "kebab-case",
    rename_all_fields = "kebab-case"
)]
pub enum Holds {
    /// A box holding the memory's bytes (a GC array of `i32` words) and size, shared with the instances
    /// that import the memory, so that they see its growth.
    MemoryBox,
    /// Nothing (the field stays null): every instance imports the same native memory, output
    /// memory `memory`, which the code reaches directly.
    NativeMemory {
        /// The output memory's index.
        memory: u32,
    },
    /// A box holding the table (a GC array of `element`s: closures for `funcref`).
    TableBox {
        /// The table's element type, as the input declares it.
        element: String,
    },
    /// Nothing (the field stays null): the table holds the module's own functions, the same
    /// in every instance, and never changes; output table `table` holds those functions and
    /// `call_indirect` passes the caller's vmctx.
    StaticTable {
        /// The output table's index.
        table: u32,
    },
    /// The global's value.
    Value {
        /// The global's type, as the input declares it.
        #[serde(rename = "type")]
        ty: String,
        /// Whether it is mutable.
        mutable: bool,
    },
    /// A box holding the mutable global's value, shared by reference with the instances that
    /// import it.
    GlobalBox {
        /// The global's type, as the input declares it.
        #[serde(rename = "type")]
        ty: String,
    },
    /// No field: every instance imports the same native global, output global `global`.
    NativeGlobal {
        /// The output global's index.
        global: u32,
    },
    /// A closure: the instances import different functions.
    Closure,
    /// No field: every instance calls the same output function.
    Function {
        /// The output function's name (as in the output's name section).
        function: String,
        /// The instance whose vmctx the call passes, when the function is of a reified module.
        instance: Option<u32>,
    },
    /// The lengths in bytes of the module's `segments` data segments (an `i32` array; 0 once
    /// a segment is dropped or applied).
    DataLengths {
        /// The number of data segments.
        segments: usize,
    },
    /// The elements of the segment (a GC array of `element`s), null once it is dropped or
    /// applied.
    Elements {
        /// The element type: `funcref` or `externref`.
        element: String,
    },
    /// The identity of an imported tag: the vmctx of the instance that defines it, which
    /// output tag `tag` carries as its last parameter.
    TagIdentity {
        /// The output tag's index.
        tag: u32,
    },
    /// Nothing (no field): a tag the module defines, output tag `tag`, whose identity is the
    /// instance's own vmctx.
    OwnTag {
        /// The output tag's index.
        tag: u32,
    },
}

/// The host boundary.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct HostPlan {
    /// How values that cross it through linear memory do.
    pub memory: HostMemory,
    /// The functions the output imports from the host, in import order.
    pub imports: Vec<HostImportPlan>,
    /// The guest core ABI's resource intrinsics the output imports, after them.
    pub resource_intrinsics: Vec<ResourceIntrinsicPlan>,
    /// The functions the output exports to the host.
    pub exports: Vec<HostExportPlan>,
}

/// How values cross the host boundary through memory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(
    tag = "kind",
    rename_all = "kebab-case",
    rename_all_fields = "kebab-case"
)]
pub enum HostMemory {
    /// No value crosses through memory, and no resource handle crosses.
    None,
    /// In place: the output exports the memory that instance `instance` (of module `module`)
    /// exports as `export`, as `memory`, and its realloc as `cabi_realloc`; no copy.
    InPlace {
        /// The static module of the instance.
        module: u32,
        /// The runtime instance, in instantiation order.
        instance: u32,
        /// The instance's export name of the memory.
        export: String,
    },
    /// Through a separate exchange memory, defined by module `module` and exported as
    /// `memory`, with adapters that copy values between it and the guest's memories.
    Exchange {
        /// The static module defining the exchange memory.
        module: Option<u32>,
        /// Why the guest's memory cannot be used in place.
        reason: ExchangeWhy,
    },
}

/// Why the host boundary goes through the exchange memory ([`ExchangeReason`]). Functions are
/// named by their core import or export name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(
    tag = "kind",
    rename_all = "kebab-case",
    rename_all_fields = "kebab-case"
)]
pub enum ExchangeWhy {
    /// `function` passes resource handles, stream or future ends or error contexts, which
    /// always go through adapters.
    Handles {
        /// The function.
        function: String,
    },
    /// The memory `function` uses is not a core export.
    UnresolvedMemory {
        /// The function.
        function: String,
    },
    /// The memory `function` uses belongs to module `module`, which is reified.
    ReifiedMemory {
        /// The function.
        function: String,
        /// The static module whose memory it is.
        module: u32,
    },
    /// `first` and `other` use different memories.
    SeveralMemories {
        /// One function.
        first: String,
        /// Another function.
        other: String,
    },
    /// `first` and `other` use different string encodings.
    Encodings {
        /// One function.
        first: String,
        /// Another function.
        other: String,
    },
    /// `first` and `other` use different realloc functions.
    Reallocs {
        /// One function.
        first: String,
        /// Another function.
        other: String,
    },
    /// `function` is an `async` callback lift, which the host reaches through an adapter
    /// that runs its task to the end.
    AsyncLift {
        /// The function.
        function: String,
    },
    /// `function` is a host import that the component lowers `async`, which reaches the
    /// host through an adapter that calls it as a sync lowering.
    AsyncLower {
        /// The function.
        function: String,
    },
}

/// A function the output imports from the host.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct HostImportPlan {
    /// The core import's module name.
    pub module: String,
    /// The core import's field name.
    pub name: String,
    /// Its core type, in the text format.
    #[serde(rename = "type")]
    pub ty: String,
    /// Whether values cross through linear memory (strings, lists, spilled values).
    pub uses_memory: bool,
    /// Whether resource handles or stream or future ends cross.
    pub handles: bool,
    /// Whether the guest calls it through the host adapters and the exchange memory.
    pub exchange: bool,
}

/// A resource intrinsic the output imports from the host.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ResourceIntrinsicPlan {
    /// The core import's module name.
    pub module: String,
    /// The core import's field name (`[resource-new]r`, `[resource-rep]r`, `[resource-drop]r`).
    pub name: String,
    /// Its core type, in the text format.
    #[serde(rename = "type")]
    pub ty: String,
}

/// A function the output exports to the host.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct HostExportPlan {
    /// The core export name.
    pub name: String,
    /// Its core type, in the text format.
    #[serde(rename = "type")]
    pub ty: String,
    /// Whether values cross through linear memory (strings, lists, spilled values).
    pub uses_memory: bool,
    /// Whether resource handles or stream or future ends cross.
    pub handles: bool,
    /// Whether the host calls it through the host adapters and the exchange memory.
    pub exchange: bool,
    /// The export name of its post-return function, if it has one.
    pub post_return: Option<String>,
}

/// Plans the lowering of `component` (binary) with `reify`, as [`crate::lower`] would do it,
/// without rewriting any code.
///
/// Errors: those of [`crate::lower`] that arise before code is rewritten: an invalid component,
/// an [`crate::Unsupported`] feature (such as exceptions in a reified module, or a vmctx over
/// [`crate::layout::MAX_VMCTX_FIELDS`] fields).
pub fn plan(component: &[u8], reify: ReifyMode) -> Result<Plan> {
    let scope = wasmtime_environ::ScopeVec::new();
    let prepared = crate::prepare(component, &scope, reify)?;
    let (front, graph, host) = (&prepared.front, &prepared.graph, &prepared.host);
    let lowerer = Lowerer::new(front, graph, host, &prepared.reified)?;
    let host_component = host
        .exchange
        .and_then(|i| graph.instances[i].component_instance);

    let mut modules = Vec::new();
    let duplicate_names =
        crate::names::duplicate_module_names(front.modules.values().map(|t| t.wasm));
    for (m, translation) in front.modules.iter() {
        let instances = &graph.instances_of[m];
        let role = if instances.is_empty() {
            ModuleRole::Component
        } else if instances
            .iter()
            .all(|&i| graph.instances[i].component_instance.is_none())
        {
            ModuleRole::Adapter
        } else if host_component.is_some()
            && instances
                .iter()
                .all(|&i| graph.instances[i].component_instance == host_component)
        {
            ModuleRole::Host
        } else {
            ModuleRole::Component
        };
        let reason = match prepared.reasons[m] {
            _ if instances.is_empty() => Reason::NotInstantiated,
            None if reify == ReifyMode::All => Reason::HostMemory,
            None => Reason::InstantiatedOnce,
            Some(ReifyReason::All) => Reason::All,
            Some(ReifyReason::Instantiated(times)) => Reason::Instantiated { times },
            Some(ReifyReason::SharesState(edge)) => {
                let (imports, with) = other_side(graph, m, edge.importer, edge.exporter);
                Reason::SharesState {
                    state: match edge.kind {
                        multi_instance::SharedState::Memory => StateKind::Memory,
                        multi_instance::SharedState::Table => StateKind::Table,
                        multi_instance::SharedState::Global => StateKind::Global,
                        multi_instance::SharedState::Tag => StateKind::Tag,
                    },
                    with,
                    import: import_name(front, graph, edge.importer, edge.position),
                    imports,
                }
            }
            Some(ReifyReason::FuncRefFields(with)) => Reason::FunctionReferenceFields {
                with: with.as_u32(),
            },
            Some(ReifyReason::PassesFuncRefs(edge)) => {
                let (imports, with) = other_side(graph, m, edge.importer, edge.exporter);
                Reason::PassesFunctionReferences {
                    with,
                    import: import_name(front, graph, edge.importer, edge.position),
                    imports,
                }
            }
        };
        let vmctx = if instances.is_empty() {
            None
        } else {
            vmctx_plan(&lowerer, m)
        };
        modules.push(ModulePlan {
            index: m.as_u32(),
            label: crate::names::InputNames::parse_labelled(
                translation.wasm,
                m.as_u32(),
                &duplicate_names,
            )
            .label(m.as_u32()),
            role,
            size: translation.wasm.len(),
            instances: instances.len(),
            reified: prepared.reified[m],
            reason,
            vmctx,
        });
    }

    let memory = match (&prepared.exchange, host.memory_users.first()) {
        (Some(why), _) => HostMemory::Exchange {
            module: host.exchange.map(|i| graph.instances[i].module.as_u32()),
            reason: exchange_why(why),
        },
        (None, Some(user)) => match &user.memory {
            CoreDef::Export(export) => HostMemory::InPlace {
                module: graph.instances[export.instance].module.as_u32(),
                instance: export.instance.as_u32(),
                // An item its module does not export keeps its index.
                export: graph
                    .export_name(&front.modules, export)
                    .unwrap_or_else(|| match &export.item {
                        ExportItem::Index(index) => format!("{index:?}"),
                        ExportItem::Name(name) => name.clone(),
                    }),
            },
            _ => HostMemory::None,
        },
        (None, None) => HostMemory::None,
    };
    let host_plan = HostPlan {
        memory,
        imports: host
            .imports
            .iter()
            .map(|i| HostImportPlan {
                module: i.module.clone(),
                name: i.name.clone(),
                ty: i.ty.to_string(),
                uses_memory: i.uses_memory,
                handles: i.has_handles,
                exchange: i.adapted,
            })
            .collect(),
        resource_intrinsics: host
            .resource_imports
            .iter()
            .map(|i| ResourceIntrinsicPlan {
                module: i.module.clone(),
                name: i.name.clone(),
                ty: i.intrinsic.ty().to_string(),
            })
            .collect(),
        exports: host
            .exports
            .iter()
            .map(|e| HostExportPlan {
                name: e.name.clone(),
                ty: e.ty.to_string(),
                uses_memory: e.uses_memory,
                handles: e.has_handles,
                exchange: e.adapted,
                post_return: e.post_return.as_ref().map(|_| e.post_return_name()),
            })
            .collect(),
    };
    Ok(Plan {
        format: FORMAT,
        version: VERSION,
        reify,
        modules,
        host: host_plan,
    })
}

/// Whether module `m` is on the importing side of an edge from `importer` to `exporter`, and
/// the static index of the module on the other side.
fn other_side(
    graph: &multi_instance::InstanceGraph,
    m: StaticModuleIndex,
    importer: wasmtime_environ::component::RuntimeInstanceIndex,
    exporter: wasmtime_environ::component::RuntimeInstanceIndex,
) -> (bool, u32) {
    let (a, b) = (
        graph.instances[importer].module,
        graph.instances[exporter].module,
    );
    if a == m {
        (true, b.as_u32())
    } else {
        (false, a.as_u32())
    }
}

/// The name of import `position` of instance `instance`'s module.
fn import_name(
    front: &crate::front::Front<'_>,
    graph: &multi_instance::InstanceGraph,
    instance: wasmtime_environ::component::RuntimeInstanceIndex,
    position: usize,
) -> ImportName {
    let module = &front.modules[graph.instances[instance].module].module;
    match module.imports().nth(position) {
        Some((module, name, _)) => ImportName {
            module: module.to_string(),
            name: name.to_string(),
        },
        None => ImportName {
            module: String::new(),
            name: format!("import {position}"),
        },
    }
}

fn exchange_why(why: &ExchangeReason) -> ExchangeWhy {
    match why.clone() {
        ExchangeReason::Handles(function) => ExchangeWhy::Handles { function },
        ExchangeReason::UnresolvedMemory(function) => ExchangeWhy::UnresolvedMemory { function },
        ExchangeReason::ReifiedMemory(function, module) => ExchangeWhy::ReifiedMemory {
            function,
            module: module.as_u32(),
        },
        ExchangeReason::SeveralMemories(first, other) => {
            ExchangeWhy::SeveralMemories { first, other }
        }
        ExchangeReason::Encodings(first, other) => ExchangeWhy::Encodings { first, other },
        ExchangeReason::Reallocs(first, other) => ExchangeWhy::Reallocs { first, other },
        ExchangeReason::AsyncLift(function) => ExchangeWhy::AsyncLift { function },
        ExchangeReason::AsyncLower(function) => ExchangeWhy::AsyncLower { function },
    }
}

/// The vmctx layout of module `m` as the lowerer laid it out, if it is reified.
fn vmctx_plan(lowerer: &Lowerer<'_, '_>, m: StaticModuleIndex) -> Option<VmctxPlan> {
    let v = lowerer.layouts[m].vmctx.as_ref()?;
    let info = &lowerer.input.infos[m];
    let mut items = Vec::new();
    let mut item = |field: Option<u32>, item: ItemKind, index: Option<u32>, holds: Holds| {
        let (positions, kind) = match item {
            ItemKind::Memory => (&info.import_position.memories, wp::ExternalKind::Memory),
            ItemKind::Table => (&info.import_position.tables, wp::ExternalKind::Table),
            ItemKind::Global => (&info.import_position.globals, wp::ExternalKind::Global),
            ItemKind::Function => (&info.import_position.funcs, wp::ExternalKind::Func),
            ItemKind::Tag => (&info.import_position.tags, wp::ExternalKind::Tag),
            ItemKind::Data | ItemKind::ElementSegment => {
                items.push(VmctxItem {
                    field,
                    item,
                    index,
                    import: None,
                    export: None,
                    holds,
                });
                return;
            }
        };
        let import = index
            .and_then(|i| positions.get(i as usize))
            .map(|&pos| ImportName {
                module: info.imports[pos].module.to_string(),
                name: info.imports[pos].name.to_string(),
            });
        let export = index.and_then(|i| first_export(info, kind, i));
        items.push(VmctxItem {
            field,
            item,
            index,
            import,
            export,
            holds,
        });
    };
    for (i, slot) in v.memories.iter().enumerate() {
        let (field, holds) = match *slot {
            MemSlot::Field(f) => (f, Holds::MemoryBox),
            // Memory `i` owns field `i` either way (see `Vmctx::memories`).
            MemSlot::Native(memory) => (i as u32, Holds::NativeMemory { memory }),
        };
        item(Some(field), ItemKind::Memory, Some(i as u32), holds);
    }
    for (t, slot) in v.tables.iter().enumerate() {
        let element = info
            .tables
            .get(t)
            .map(|tt| tt.element_type.to_string())
            .unwrap_or_default();
        let (field, holds) = match *slot {
            TabSlot::Field(f) => (f, Holds::TableBox { element }),
            // Table `t` owns a field either way (see `Lowerer::resolve_table`).
            TabSlot::Static(table) => (
                v.memories.len() as u32 + t as u32,
                Holds::StaticTable { table },
            ),
        };
        item(Some(field), ItemKind::Table, Some(t as u32), holds);
    }
    for (g, slot) in v.globals.iter().enumerate() {
        let gt = info.globals.get(g);
        let ty = gt.map(|gt| gt.content_type.to_string()).unwrap_or_default();
        let (field, holds) = match *slot {
            GlobalSlot::Static(out) => (None, Holds::NativeGlobal { global: out.0 }),
            GlobalSlot::Value(f) => (
                Some(f),
                Holds::Value {
                    ty,
                    mutable: gt.is_some_and(|gt| gt.mutable),
                },
            ),
            GlobalSlot::Boxed { field, .. } => (Some(field), Holds::GlobalBox { ty }),
        };
        item(field, ItemKind::Global, Some(g as u32), holds);
    }
    for (f, imported) in v.imported_funcs.iter().enumerate() {
        let (field, holds) = match *imported {
            ImportedFunc::Dynamic(field) => (Some(field), Holds::Closure),
            ImportedFunc::Static(target) => {
                let (func, instance) = match target {
                    FuncTarget::Plain(func) => (func, None),
                    FuncTarget::Reified { func, instance } => (func, Some(instance.as_u32())),
                };
                (
                    None,
                    Holds::Function {
                        function: lowerer.func_name(func),
                        instance,
                    },
                )
            }
        };
        item(field, ItemKind::Function, Some(f as u32), holds);
    }
    if let Some(field) = v.datas {
        item(
            Some(field),
            ItemKind::Data,
            None,
            Holds::DataLengths {
                segments: info.datas.len(),
            },
        );
    }
    for (e, &field) in v.elems.iter().enumerate() {
        let element = info.element_type(e as u32).map_or_else(
            |_| "funcref".to_string(),
            |t| crate::module_info::type_text(wasmtime_environ::wasmparser::ValType::Ref(t)),
        );
        item(
            Some(field),
            ItemKind::ElementSegment,
            Some(e as u32),
            Holds::Elements { element },
        );
    }
    for (t, slot) in v.tags.iter().enumerate() {
        let (field, holds) = match *slot {
            crate::layout::TagSlot::Own { tag } => (None, Holds::OwnTag { tag }),
            crate::layout::TagSlot::Field { tag, field } => {
                (Some(field), Holds::TagIdentity { tag })
            }
        };
        item(field, ItemKind::Tag, Some(t as u32), holds);
    }
    items.sort_by_key(|i| i.field.unwrap_or(u32::MAX));
    Some(VmctxPlan {
        fields: v.fields.len(),
        items,
    })
}

/// The name of the module's first export of item `index` of `kind`.
fn first_export(info: &ModuleInfo<'_>, kind: wp::ExternalKind, index: u32) -> Option<String> {
    info.exports
        .iter()
        .find(|e| e.kind == kind && e.index == index)
        .map(|e| e.name.to_string())
}
