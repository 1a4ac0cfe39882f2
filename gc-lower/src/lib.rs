//! gc-lower: lower a WebAssembly component into one self-contained core module whose
//! per-instance state (memories, tables, globals) is reified as Wasm GC values.
//!
//! The pipeline (see ARCHITECTURE.md in the repository): [`front`] translates the component with
//! wasmtime-environ; `multi_instance` builds the instance graph; [`assemble::plan_reified`] picks the modules to
//! reify; [`rewrite`] reencodes each static module once; [`assemble`] assembles one module with
//! the instantiation routine and the host interface; the result is validated before it is
//! returned.
#![deny(missing_docs)]

pub mod assemble;
pub mod atomics;
pub mod code;
pub mod dylib;
pub mod error;
pub mod error_context;
pub mod exceptions;
pub mod exchange;
pub mod front;
pub mod host;
pub mod instantiate;
pub mod layout;
pub mod memory_access;
pub mod module_graph;
pub mod module_info;
mod name_section;
pub mod names;
pub mod output;
pub mod payload;
pub mod plan;
pub mod resources;
pub mod rewrite;
#[cfg(feature = "runtime")]
pub mod run;
pub mod tasks;
pub mod template;
pub mod transcode;
pub mod transmit;
#[cfg(feature = "runtime")]
pub mod wast;

pub use error::{Unsupported, find_unsupported};

/// Which core modules get their state reified into GC values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[cfg_attr(feature = "runtime", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum ReifyMode {
    /// Reify only modules instantiated more than once and whatever shares a memory, table,
    /// mutable global or tag with them or passes function references to and from them through
    /// calls;
    /// every other module keeps native linear state (zero overhead).
    #[default]
    Auto,
    /// Reify every module: the output has no linear memory besides the exchange memory of the
    /// host interface, so engines without multi-memory can run it.
    All,
}

/// Options of one lowering.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Which modules to reify.
    pub reify: ReifyMode,
    /// How loads and stores on reified memories are emitted.
    pub memory_access: memory_access::MemoryAccess,
    /// Which functions get their loads and stores outside call-free loops inline, as a fast
    /// path (with [`memory_access::MemoryAccess::FastPath`], the default emitter).
    pub inline_accesses: memory_access::InlineAccesses,
}

/// Lowers the component in `component` (binary) into one core module (binary).
///
/// The output is validated with wasmparser before it is returned. Errors: invalid component
/// (the validator's message), or an [`Unsupported`] feature in the error chain.
pub fn lower(component: &[u8], options: &Options) -> anyhow::Result<Vec<u8>> {
    lower_with_warnings(component, options).map(|lowering| lowering.module)
}

/// A lowered core module with the warnings of its lowering.
#[derive(Debug)]
pub struct Lowering {
    /// The core module (binary), validated.
    pub module: Vec<u8>,
    /// One line per warning, without a `warning: ` prefix (e.g. an input module's DWARF debug
    /// info dropped because the lowering moves its code). Module names in them come from the
    /// input: escape them before printing to a terminal.
    pub warnings: Vec<String>,
}

/// Like [`lower`], and also returns the warnings that a command-line tool prints on stderr.
pub fn lower_with_warnings(component: &[u8], options: &Options) -> anyhow::Result<Lowering> {
    let scope = wasmtime_environ::ScopeVec::new();
    let Prepared {
        front,
        graph,
        host,
        reified,
        ..
    } = prepare(component, &scope, options.reify)?;
    let mut lowerer = assemble::Lowerer::new(&front, &graph, &host, &reified)?;
    lowerer.settings.memory_access = options.memory_access;
    lowerer.settings.inline_accesses = options.inline_accesses;
    let modules: Vec<_> = front.modules.keys().collect();
    for m in modules {
        if !graph.instances_of[m].is_empty() {
            lowerer.rewrite_module(m)?;
        }
    }
    lowerer.instantiate_and_export()?;
    let warnings = std::mem::take(&mut lowerer.warnings);
    let bytes = lowerer.finish(Some(&host.component_type))?;
    if let Err(e) = validate_output(&bytes) {
        // Keep the invalid module for inspection when asked to.
        if let Some(path) = std::env::var_os("GC_LOWER_DUMP_INVALID") {
            let _ = std::fs::write(path, &bytes);
        }
        return Err(e);
    }
    Ok(Lowering {
        module: bytes,
        warnings,
    })
}

/// A translated component with its instance graph, host interface and reification plan.
pub(crate) struct Prepared<'data> {
    pub(crate) front: front::Front<'data>,
    pub(crate) graph: multi_instance::InstanceGraph,
    pub(crate) host: host::HostInterface,
    pub(crate) reified: wasmtime_environ::SecondaryMap<wasmtime_environ::StaticModuleIndex, bool>,
    /// Why each reified module is reified (`None` for the others).
    pub(crate) reasons: wasmtime_environ::SecondaryMap<
        wasmtime_environ::StaticModuleIndex,
        Option<assemble::ReifyReason>,
    >,
    /// Why the host functions go through the exchange memory, when they do.
    pub(crate) exchange: Option<exchange::ExchangeReason>,
}

/// Translates `component`, builds its instance graph and host interface, and plans which
/// modules to reify with `reify` (the module-graph form uses only the host interface that
/// this plan gives). The component is translated once,
/// and all of this runs on that translation before its types are finished: when the host
/// cannot use the guest's memory in place ([`exchange::exchange_reason`], decided with the plan
/// the component would have without adapters), the host adapters are added to that
/// translation ([`exchange`]), the instance graph and the host interface gain them, and the
/// plan is recomputed over the module list that includes them.
pub(crate) fn prepare<'data>(
    component: &'data [u8],
    scope: &'data wasmtime_environ::ScopeVec<u8>,
    reify: ReifyMode,
) -> anyhow::Result<Prepared<'data>> {
    use anyhow::Context as _;
    let mut prepared = None;
    let front = front::translate_and_extend(component, scope, |ext| {
        let mut graph = instance_graph(&ext.translation.component, ext.modules)?;
        let num_resource_tables = ext.types.num_resource_tables();
        let mut host = host::host_interface(
            component,
            ext.translation,
            front::component_types(ext.types),
            num_resource_tables,
        )
        .context("failed to build the host interface")?;
        let mut reasons = plan(ext.modules, &*ext.types, &graph, &host, reify);
        let exchange =
            exchange::exchange_reason(ext.modules, &graph, &host, &reified_modules(&reasons));
        if exchange.is_some() {
            let adapters = exchange::add_host_adapters(ext, &host, &mut graph)
                .context("failed to add host adapters")?;
            check_instance_count(&graph)?;
            // The host's resource tables are numbered after the component's
            // (`HostResource::host_table`): the adapters must add none.
            anyhow::ensure!(
                ext.types.num_resource_tables() == num_resource_tables,
                "internal error: the host adapters added resource tables"
            );
            host.adapt(component, adapters)
                .context("failed to build the host interface")?;
            reasons = plan(ext.modules, &*ext.types, &graph, &host, reify);
        }
        prepared = Some((graph, host, reasons, exchange));
        Ok(())
    })?;
    let (graph, host, reasons, exchange) =
        prepared.context("internal error: the translation skipped its extension")?;
    Ok(Prepared {
        front,
        graph,
        host,
        reified: reified_modules(&reasons),
        reasons,
        exchange,
    })
}

/// The instance graph of a translated component.
///
/// Errors: [`Unsupported`] when it has more than [`front::MAX_CORE_INSTANCES`] core instances
/// (the count before translation does not see every way to instantiate a component).
fn instance_graph(
    component: &wasmtime_environ::component::Component,
    modules: &wasmtime_environ::PrimaryMap<
        wasmtime_environ::StaticModuleIndex,
        wasmtime_environ::ModuleTranslation<'_>,
    >,
) -> anyhow::Result<multi_instance::InstanceGraph> {
    let graph = multi_instance::InstanceGraph::build(component, modules)
        .map_err(|e| error::not_yet(format!("{e:#}")))?;
    check_instance_count(&graph)?;
    Ok(graph)
}

/// Fails with [`Unsupported`] when `graph` has more than [`front::MAX_CORE_INSTANCES`] core
/// instances, the host adapters' included.
fn check_instance_count(graph: &multi_instance::InstanceGraph) -> anyhow::Result<()> {
    let count = graph.instances.len() as u64;
    if count > front::MAX_CORE_INSTANCES {
        return Err(error::unsupported(format!(
            "components that create more than {} core instances (this one creates {count})",
            front::MAX_CORE_INSTANCES
        )));
    }
    Ok(())
}

/// Which modules to reify, and why: [`assemble::plan_reified`] with the instance of the memory the
/// host reads and writes kept native.
fn plan(
    modules: &wasmtime_environ::PrimaryMap<
        wasmtime_environ::StaticModuleIndex,
        wasmtime_environ::ModuleTranslation<'_>,
    >,
    types: &wasmtime_environ::component::ComponentTypesBuilder,
    graph: &multi_instance::InstanceGraph,
    host: &host::HostInterface,
    reify: ReifyMode,
) -> wasmtime_environ::SecondaryMap<
    wasmtime_environ::StaticModuleIndex,
    Option<assemble::ReifyReason>,
> {
    let exchange = host
        .memory_users
        .first()
        .and_then(|user| match &user.memory {
            wasmtime_environ::component::CoreDef::Export(export) => Some(export.instance),
            _ => None,
        });
    assemble::plan_reified(modules, types, graph, reify == ReifyMode::All, exchange)
}

/// Whether each module is reified, from [`plan`]'s reasons.
fn reified_modules(
    reasons: &wasmtime_environ::SecondaryMap<
        wasmtime_environ::StaticModuleIndex,
        Option<assemble::ReifyReason>,
    >,
) -> wasmtime_environ::SecondaryMap<wasmtime_environ::StaticModuleIndex, bool> {
    let mut reified = wasmtime_environ::SecondaryMap::new();
    for (module, reason) in reasons.iter() {
        reified[module] = reason.is_some();
    }
    reified
}

/// The wasm features the output may use: Wasm GC (and what it builds on), multi-memory, bulk
/// memory, tail calls, extended constant expressions, the atomic instructions of threads on
/// unshared memories (an input's shared memory is rejected, so the output has none), and the
/// instructions of wide arithmetic (`i64.add128`, …), kept as the input has them.
pub fn output_features() -> wasmtime_environ::wasmparser::WasmFeatures {
    use wasmtime_environ::wasmparser::WasmFeatures as F;
    F::WASM2
        | F::THREADS
        | F::GC
        | F::FUNCTION_REFERENCES
        | F::MULTI_MEMORY
        | F::TAIL_CALL
        | F::EXTENDED_CONST
        | F::EXCEPTIONS
        | F::WIDE_ARITHMETIC
}

/// Validates a lowered module with [`output_features`].
pub fn validate_output(bytes: &[u8]) -> anyhow::Result<()> {
    use anyhow::Context as _;
    wasmtime_environ::wasmparser::Validator::new_with_features(output_features())
        .validate_all(bytes)
        .map(|_| ())
        .context("internal error: the lowered module does not validate")
}

/// Wraps a core module produced by [`lower`] back into a component with wit-component, using
/// the `component-type` custom section that [`lower`] embedded.
pub fn rewrap(core_module: &[u8]) -> anyhow::Result<Vec<u8>> {
    use anyhow::Context as _;
    wit_component::ComponentEncoder::default()
        .validate(true)
        .module(core_module)
        .context("failed to read the lowered module's component metadata")?
        .encode()
        .context("failed to wrap the lowered module into a component")
}
