//! Front end: validate and translate a component with wasmtime-environ.
//!
//! `wasmtime_environ::component::Translator` (the same entry point wasmtime and jco use)
//! validates the component, inlines nested components, generates FACT adapter modules for
//! component-to-component calls, and flattens instantiation into a list of
//! `GlobalInitializer`s. gc-lower runs it with `concurrency_support` on only for components
//! that use the async constructs [`crate::tasks`] lowers (FACT's adapters then call its task
//! built-ins); the other async constructs are rejected by name.
//!
//! The translator validates everything but function bodies, which wasmtime validates later,
//! when it compiles them. gc-lower compiles nothing, so [`translate`] validates every body of
//! every core module before any later phase reads it: the rewrite and the instance graph may
//! then rely on every index in a body being in range and every operator being well typed.
//! [`translate_and_extend`] does the same and then lets a later phase add modules (the host
//! adapters of [`crate::exchange`]) while the component types can still grow: the component
//! is translated once.

use anyhow::{Context as _, Result};
use wasmtime_environ::EntityIndex;
use wasmtime_environ::component::CoreExport;

use crate::error::not_yet;
use wasmtime_environ::component::{
    ComponentTranslation, ComponentTypes, ComponentTypesBuilder, Translator,
};
use wasmtime_environ::wasmparser::{Validator, WasmFeatures};
use wasmtime_environ::{ModuleTranslation, PrimaryMap, ScopeVec, StaticModuleIndex, Tunables};

/// A translated component.
pub struct Front<'data> {
    /// Initializers, exports and trampolines of the (inlined) component.
    pub translation: ComponentTranslation,
    /// Every static core module: the component's own and FACT's adapter modules.
    pub modules: PrimaryMap<StaticModuleIndex, ModuleTranslation<'data>>,
    /// The component-level types that `translation` refers to.
    pub types: ComponentTypes,
    /// The number of resource table types in `types` (`TypeResourceTableIndex` values are
    /// `0..num_resource_tables`).
    pub num_resource_tables: usize,
    /// The number of future table types in `types` (`TypeFutureTableIndex` values are
    /// `0..num_future_tables`).
    pub num_future_tables: usize,
    /// The number of stream table types in `types` (`TypeStreamTableIndex` values are
    /// `0..num_stream_tables`).
    pub num_stream_tables: usize,
    /// The number of error-context table types in `types`
    /// (`TypeComponentLocalErrorContextTableIndex` values are `0..num_error_context_tables`).
    pub num_error_context_tables: usize,
    /// Whether the component uses the async ABI, translated with concurrency support
    /// ([`crate::tasks`]).
    pub uses_async: bool,
}

/// The wasm features gc-lower accepts in its input. Features the lowering cannot handle
/// (shared memory, memory64, async) are accepted here so that
/// later phases can name them in their error instead of a validator message.
pub fn input_features() -> WasmFeatures {
    WasmFeatures::default()
        | WasmFeatures::COMPONENT_MODEL
        | WasmFeatures::GC
        | WasmFeatures::FUNCTION_REFERENCES
        | WasmFeatures::MULTI_MEMORY
        | WasmFeatures::THREADS
        | WasmFeatures::MEMORY64
        | WasmFeatures::EXCEPTIONS
        | WasmFeatures::TAIL_CALL
        | WasmFeatures::EXTENDED_CONST
        | WasmFeatures::WIDE_ARITHMETIC
        | WasmFeatures::CM_ASYNC
        | WasmFeatures::CM_MORE_ASYNC_BUILTINS
        | WasmFeatures::CM_ERROR_CONTEXT
        | WasmFeatures::CM_MAP
        | WasmFeatures::CM_FIXED_LENGTH_LISTS
}

/// Validates and translates `component` (binary). `scope` owns the bytes of the adapter
/// modules that translation generates.
///
/// Errors: the validator's message for an invalid component or function body, or a nested
/// module or component that runs past the end of the input.
pub fn translate<'data>(
    component: &'data [u8],
    scope: &'data ScopeVec<u8>,
) -> Result<Front<'data>> {
    translate_and_extend(component, scope, |_| Ok(()))
}

/// The component-level types of `builder` translated so far: every type the translation refers
/// to. Until the types are finished, the top-level component type is missing and the core
/// module types are not in it (indexing one through it panics): index `builder` itself for
/// those.
pub fn component_types(builder: &mut ComponentTypesBuilder) -> &ComponentTypes {
    builder.resources_mut_and_types().1
}

/// Like [`translate`], and then runs `extend`, which may read the translation (every function
/// body validated) and add modules, instances and trampolines to it while the component types
/// can still be extended (FACT needs the builder), before the types are finished.
///
/// Errors: those of [`translate`], then those of `extend`.
pub fn translate_and_extend<'data>(
    component: &'data [u8],
    scope: &'data ScopeVec<u8>,
    extend: impl FnOnce(&mut Extension<'_, 'data>) -> Result<()>,
) -> Result<Front<'data>> {
    translate_with(component, scope, |ext| {
        reject_truncated(component)?;
        validate_bodies(ext.modules)?;
        extend(ext)
    })
}

/// Fails when a nested module or component section of `component` declares a size that runs
/// past the end of the input. wasmparser accepts such a section when the input ends right
/// after one of its inner sections, but the component is truncated.
fn reject_truncated(component: &[u8]) -> Result<()> {
    use wasmtime_environ::wasmparser::{Parser, Payload};
    for payload in Parser::new(0).parse_all(component) {
        let (Payload::ModuleSection {
            unchecked_range: range,
            ..
        }
        | Payload::ComponentSection {
            unchecked_range: range,
            ..
        }) = payload?
        else {
            continue;
        };
        if range.end > component.len() {
            anyhow::bail!(
                "malformed component: the nested module or component at offset {} declares \
                 {} bytes, but the input ends after {} (is the file truncated?)",
                range.start,
                range.len(),
                component.len() - range.start
            );
        }
    }
    Ok(())
}

/// What [`translate_and_extend`]'s `extend` may read and change before the component types are
/// finished.
pub struct Extension<'a, 'data> {
    /// The translation, whose initializers, trampolines and options may grow.
    pub translation: &'a mut ComponentTranslation,
    /// The static modules, which may grow.
    pub modules: &'a mut PrimaryMap<StaticModuleIndex, ModuleTranslation<'data>>,
    /// The types builder, for FACT and for translating added modules.
    pub types: &'a mut ComponentTypesBuilder,
    /// The tunables the component was translated with.
    pub tunables: &'a Tunables,
    /// Owns the bytes of added modules.
    pub scope: &'data ScopeVec<u8>,
    /// The component's validator: module types are tied to it.
    pub validator: &'a mut Validator,
}

impl<'data> Extension<'_, 'data> {
    /// Translates the core module `wasm` (binary) and adds it as the next static module.
    ///
    /// Errors: the validator's message when `wasm` is not a valid module (an internal error:
    /// added modules are generated).
    pub fn add_module(&mut self, wasm: Vec<u8>) -> Result<StaticModuleIndex> {
        let wasm: &'data [u8] = self.scope.push(wasm);
        let index = StaticModuleIndex::from_u32(self.modules.len() as u32);
        self.validator.reset();
        let module = wasmtime_environ::ModuleEnvironment::new(
            self.tunables,
            self.validator,
            self.types.module_types_builder_mut(),
            index,
        )
        .translate(wasmtime_environ::wasmparser::Parser::new(0), wasm)
        .map_err(anyhow::Error::from)
        .context("internal error: a generated module does not validate")?;
        let pushed = self.modules.push(module);
        debug_assert_eq!(pushed, index);
        Ok(index)
    }
}

/// Translates `component` and runs `extend` before the types are finished; function bodies are
/// not validated here ([`translate_and_extend`] does it first thing in `extend`).
fn translate_with<'data>(
    component: &'data [u8],
    scope: &'data ScopeVec<u8>,
    extend: impl FnOnce(&mut Extension<'_, 'data>) -> Result<()>,
) -> Result<Front<'data>> {
    let uses_async = match async_support(component) {
        Ok(uses_async) => uses_async,
        Err(unsupported) => {
            // Invalid input is reported as invalid, whatever it uses (the translator, which
            // validates everything else, runs only on components without async constructs),
            // with the async and threading proposals' features that the component model's own
            // async tests turn on.
            let features = input_features()
                | WasmFeatures::CM_ASYNC_STACKFUL
                | WasmFeatures::CM_MORE_ASYNC_BUILTINS
                | WasmFeatures::CM_THREADING
                | WasmFeatures::CM_FIXED_LENGTH_LISTS
                | WasmFeatures::CM_IMPLEMENTS;
            Validator::new_with_features(features)
                .validate_all(component)
                .context("failed to validate the component")?;
            return Err(unsupported);
        }
    };
    check_instance_budget(component)?;
    let mut tunables = tunables();
    // FACT's adapters then call the async ABI's built-ins (`crate::tasks`); without async
    // constructs they stay as they were, with no task bookkeeping.
    tunables.concurrency_support = uses_async;
    let mut validator = Validator::new_with_features(input_features());
    let mut types = ComponentTypesBuilder::new(&validator);
    let (mut translation, mut modules) =
        Translator::new(&tunables, &mut validator, &mut types, scope)
            .translate(component)
            .map_err(anyhow::Error::from)
            .context("failed to validate and translate the component")?;
    extend(&mut Extension {
        translation: &mut translation,
        modules: &mut modules,
        types: &mut types,
        tunables: &tunables,
        scope,
        validator: &mut validator,
    })?;
    let num_resource_tables = types.num_resource_tables();
    let num_future_tables = types.num_future_tables();
    let num_stream_tables = types.num_stream_tables();
    let num_error_context_tables = types.num_error_context_tables();
    let (types, _) = types.finish(&translation.component);
    Ok(Front {
        translation,
        modules,
        types,
        num_resource_tables,
        num_future_tables,
        num_stream_tables,
        num_error_context_tables,
        uses_async,
    })
}

/// Validates the function bodies of every module in `modules`, which the translator leaves for
/// a later compile step.
///
/// Errors: the validator's message, naming the module (its static index and, when its name
/// section has one, its name) and the function (its index and name).
fn validate_bodies(modules: &PrimaryMap<StaticModuleIndex, ModuleTranslation<'_>>) -> Result<()> {
    use wasmtime_environ::wasmparser::FuncToValidate;
    let mut allocs = Default::default();
    for (m, translation) in modules {
        for (def, input) in &translation.function_body_inputs {
            let to_validate = &input.validator;
            let func = FuncToValidate {
                resources: to_validate.resources.clone(),
                index: to_validate.index,
                ty: to_validate.ty,
                features: to_validate.features,
            };
            let mut validator = func.into_validator(allocs);
            let result = validator.validate(&input.body);
            allocs = validator.into_allocations();
            if let Err(e) = result {
                let module = &translation.module;
                let mut what = format!("core module {}", m.as_u32());
                if let Some(name) = module.name {
                    what += &format!(" (`{}`)", &module.strings[name]);
                }
                let index = module.func_index(def);
                what += &format!(", function {}", index.as_u32());
                if let Some(name) = translation.debuginfo.name_section.func_names.get(&index) {
                    what += &format!(" (`{name}`)");
                }
                return Err(anyhow::Error::from(e).context(format!("invalid {what}")));
            }
        }
    }
    Ok(())
}

/// The tunables of every translation: wasmtime's host defaults without concurrency support
/// (turned on for components that use the async constructs [`crate::tasks`] implements).
fn tunables() -> Tunables {
    let mut tunables = Tunables::default_host();
    tunables.concurrency_support = false;
    tunables
}

/// Whether `component` uses the component model's async support, and whether gc-lower lowers
/// what it uses: `async` function types, `canon lift` with `async` and a callback, `canon
/// lower` with `async` and the built-ins `lowered_async_construct` lists are lowered
/// ([`crate::tasks`] says with which limits); every other async construct is rejected.
///
/// Errors: [`NotYet`](crate::NotYet) `async components`, naming the first async construct in
/// the binary that is not lowered ([`async_construct`]); malformed input is left to the
/// validator.
fn async_support(component: &[u8]) -> Result<bool> {
    use wasmtime_environ::wasmparser::{Parser, Payload};
    let reject = |what: String| {
        Err(crate::error::not_yet(format!(
            "async components (first async construct: {what})"
        )))
    };
    let mut uses_async = false;
    for payload in Parser::new(0).parse_all(component) {
        // Malformed input is reported by the validator with a better message.
        let Ok(payload) = payload else {
            return Ok(uses_async);
        };
        match payload {
            Payload::ComponentCanonicalSection(section) => {
                for func in section {
                    let Ok(func) = func else {
                        return Ok(uses_async);
                    };
                    if let Some(what) = async_construct(&func) {
                        if !lowered_async_construct(&func) {
                            return reject(what);
                        }
                        uses_async = true;
                    }
                }
            }
            Payload::ComponentTypeSection(section) => {
                for ty in section {
                    if ty.is_ok_and(|ty| has_async_type(&ty)) {
                        uses_async = true;
                    }
                }
            }
            _ => {}
        }
    }
    Ok(uses_async)
}

/// Whether `component` uses the component model's async support (any `async` function type,
/// `stream` or `future` type, async lift or lower, or async built-in); malformed input counts
/// as what it holds before the error.
pub fn uses_async(component: &[u8]) -> bool {
    !matches!(async_support(component), Ok(false))
}

/// Whether component type `ty` is or declares an `async` function type or a `stream` or
/// `future` type, at any depth of instance and component type declarations (where WIT
/// interfaces' functions are): their ends are handles of the async runtime
/// ([`crate::transmit`]), even in sync functions.
fn has_async_type(ty: &wasmtime_environ::wasmparser::ComponentType<'_>) -> bool {
    use wasmtime_environ::wasmparser::{
        ComponentDefinedType, ComponentType, ComponentTypeDeclaration, InstanceTypeDeclaration,
    };
    match ty {
        ComponentType::Func(f) => f.async_,
        ComponentType::Defined(
            ComponentDefinedType::Future(_) | ComponentDefinedType::Stream(_),
        ) => true,
        ComponentType::Component(decls) => decls.iter().any(|d| match d {
            ComponentTypeDeclaration::Type(t) => has_async_type(t),
            _ => false,
        }),
        ComponentType::Instance(decls) => decls.iter().any(|d| match d {
            InstanceTypeDeclaration::Type(t) => has_async_type(t),
            _ => false,
        }),
        _ => false,
    }
}

/// Whether async construct `func` is one that [`crate::tasks`] lowers: a lift with `async`
/// and a callback, an `async` lower, `task.return`, `context.get`, `context.set`, the
/// waitable-set built-ins, `waitable.join`, `subtask.drop`, `subtask.cancel`, `task.cancel`,
/// `backpressure.inc`, `backpressure.dec`, `thread.yield`, the stream and future built-ins
/// and the error-context built-ins.
fn lowered_async_construct(func: &wasmtime_environ::wasmparser::CanonicalFunction) -> bool {
    use wasmtime_environ::wasmparser::{CanonicalFunction as C, CanonicalOption as O};
    match func {
        C::Lift { options, .. } => options.iter().any(|o| matches!(o, O::Callback(_))),
        C::Lower { .. }
        | C::TaskReturn { .. }
        | C::ContextGet { .. }
        | C::ContextSet { .. }
        | C::WaitableSetNew
        | C::WaitableSetWait { .. }
        | C::WaitableSetPoll { .. }
        | C::WaitableSetDrop
        | C::WaitableJoin
        | C::SubtaskDrop
        | C::SubtaskCancel { .. }
        | C::TaskCancel
        | C::BackpressureInc
        | C::BackpressureDec
        | C::ThreadYield { .. }
        | C::FutureNew { .. }
        | C::FutureRead { .. }
        | C::FutureWrite { .. }
        | C::FutureCancelRead { .. }
        | C::FutureCancelWrite { .. }
        | C::FutureDropReadable { .. }
        | C::FutureDropWritable { .. }
        | C::StreamNew { .. }
        | C::StreamRead { .. }
        | C::StreamWrite { .. }
        | C::StreamCancelRead { .. }
        | C::StreamCancelWrite { .. }
        | C::StreamDropReadable { .. }
        | C::StreamDropWritable { .. }
        | C::ErrorContextNew { .. }
        | C::ErrorContextDebugMessage { .. }
        | C::ErrorContextDrop => true,
        _ => false,
    }
}

/// How an error names canonical function `func` when it belongs to the component model's
/// async support: `canon lift` with `async` (with or without a callback) or `canon lower`
/// with `async`, or a built-in by its text-format name (`task.return`, `waitable-set.wait`,
/// `stream.read`, `thread.yield`, …, as the `wast` crate spells them); `None` for the
/// synchronous canonical functions (lift, lower, the resource built-ins).
fn async_construct(func: &wasmtime_environ::wasmparser::CanonicalFunction) -> Option<String> {
    use wasmtime_environ::wasmparser::{CanonicalFunction as C, CanonicalOption as O};
    match func {
        C::Lift { options, .. } => {
            let callback = options.iter().any(|o| matches!(o, O::Callback(_)));
            let async_ = options.iter().any(|o| matches!(o, O::Async));
            match (async_, callback) {
                (_, true) => Some("`canon lift` with `async` and a callback".to_string()),
                (true, false) => {
                    Some("`canon lift` with `async` and no callback (stackful)".to_string())
                }
                (false, false) => None,
            }
        }
        C::Lower { options, .. } => options
            .iter()
            .any(|o| matches!(o, O::Async))
            .then(|| "`canon lower` with `async`".to_string()),
        C::ResourceNew { .. } | C::ResourceDrop { .. } | C::ResourceRep { .. } => None,
        C::ThreadAvailableParallelism => {
            Some("the built-in `thread.available_parallelism`".to_string())
        }
        other => {
            // The variant's name, `WaitableSetWait` say, split into its words: the first
            // (two for `WaitableSet` and `ErrorContext`) name the built-in's family.
            let debug = format!("{other:?}");
            let variant: String = debug
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            let mut words: Vec<String> = Vec::new();
            for c in variant.chars() {
                if c.is_ascii_uppercase() || words.is_empty() {
                    words.push(String::new());
                }
                words.last_mut()?.push(c.to_ascii_lowercase());
            }
            let family = match words.as_slice() {
                [a, b, ..]
                    if (a == "waitable" && b == "set") || (a == "error" && b == "context") =>
                {
                    2
                }
                _ => 1,
            };
            if words.len() <= family {
                return Some(format!("the built-in `{variant}`"));
            }
            Some(format!(
                "the built-in `{}.{}`",
                words[..family].join("-"),
                words[family..].join("-")
            ))
        }
    }
}

/// The most core instances a component may create at run time for gc-lower to lower it.
///
/// The translator inlines every nested component instantiation before gc-lower sees the
/// component, so a component that instantiates a nested component twice at each of a few dozen
/// levels (a few kilobytes of text) would take exponential time and memory there; and each
/// reified instance becomes a global and a few instructions of the instantiation routine of
/// the output, whose limits (a million globals, a function body of 7.6 MB) come long before.
pub const MAX_CORE_INSTANCES: u64 = 100_000;

/// Rejects `component` when it would create more than [`MAX_CORE_INSTANCES`] core instances
/// ([`count_core_instances`]), before the translator inlines it.
///
/// Errors: [`Unsupported`](crate::Unsupported), naming the count and the limit.
pub fn check_instance_budget(component: &[u8]) -> Result<()> {
    let count = count_core_instances(component);
    if count > MAX_CORE_INSTANCES {
        return Err(crate::error::unsupported(format!(
            "components that create more than {MAX_CORE_INSTANCES} core instances (this one \
             creates {}{count})",
            if count == u64::MAX { "at least " } else { "" }
        )));
    }
    Ok(())
}

/// The number of core instances instantiating `component` creates, counted on the binary
/// without translating it (saturating at `u64::MAX`).
///
/// Each component definition costs the core instances it instantiates itself (`(core instance
/// (instantiate ..))`) plus, for each component instance it creates, the cost of the
/// instantiated component; a nested component costs nothing until it is instantiated. The
/// component and component-instance index spaces are followed through nested definitions,
/// outer aliases, exports, instance exports and instances made of exports, so a component
/// reached through any of them costs what it instantiates.
///
/// Known imprecisions: an imported component or instance counts as none (the host provides
/// it; the translator does not inline it), and the adapter modules that the translator adds
/// are not counted; the instance graph's own count is checked again after translation.
/// Malformed input stops the count (the validator reports it).
pub fn count_core_instances(component: &[u8]) -> u64 {
    use std::collections::HashMap;
    use std::rc::Rc;
    use wasmtime_environ::wasmparser::{
        ComponentAlias, ComponentExternalKind, ComponentInstance, ComponentOuterAliasKind,
        ComponentTypeRef, Instance, Parser, Payload,
    };
    /// What a component instance exports by name, of what the count follows.
    type Exports = HashMap<String, Item>;
    /// An exported component or component instance.
    #[derive(Clone)]
    enum Item {
        Component(Rc<Definition>),
        Instance(Rc<Exports>),
    }
    /// A component: the core instances one instantiation of it creates, and the components
    /// and instances its instances export.
    #[derive(Default)]
    struct Definition {
        cost: u64,
        exports: Rc<Exports>,
    }
    /// One component definition being read: its component and component-instance index
    /// spaces, its own cost so far and its exports. `None` for a nested core module.
    #[derive(Default)]
    struct Scope {
        components: Vec<Rc<Definition>>,
        instances: Vec<Rc<Exports>>,
        cost: u64,
        exports: Exports,
    }
    let mut stack: Vec<Option<Scope>> = vec![Some(Scope::default())];
    let mut result = 0;
    for payload in Parser::new(0).parse_all(component) {
        let Ok(payload) = payload else { break };
        match payload {
            Payload::End(_) => {
                if let Some(Some(done)) = stack.pop() {
                    let definition = Definition {
                        cost: done.cost,
                        exports: Rc::new(done.exports),
                    };
                    match stack.last_mut() {
                        Some(Some(parent)) => parent.components.push(Rc::new(definition)),
                        Some(None) => {}
                        None => result = definition.cost,
                    }
                }
                continue;
            }
            Payload::ModuleSection { .. } => {
                stack.push(None);
                continue;
            }
            Payload::ComponentSection { .. } => {
                stack.push(Some(Scope::default()));
                continue;
            }
            _ => {}
        }
        let Some(Some(scope)) = stack.last() else {
            continue;
        };
        // Component `index` of the scope `count` levels out.
        let outer = |count: u32, index: u32| -> Rc<Definition> {
            stack
                .len()
                .checked_sub(1 + count as usize)
                .and_then(|i| stack[i].as_ref())
                .and_then(|scope| scope.components.get(index as usize))
                .cloned()
                .unwrap_or_default()
        };
        let component = |index: u32| -> Rc<Definition> {
            scope
                .components
                .get(index as usize)
                .cloned()
                .unwrap_or_default()
        };
        let instance = |index: u32| -> Rc<Exports> {
            scope
                .instances
                .get(index as usize)
                .cloned()
                .unwrap_or_default()
        };
        let export = |instance: &Exports, name: &str| instance.get(name).cloned();
        let mut cost = 0u64;
        let mut new_components = Vec::new();
        let mut new_instances = Vec::new();
        let mut new_exports = Vec::new();
        match payload {
            Payload::InstanceSection(reader) => {
                cost = reader
                    .into_iter()
                    .filter(|i| matches!(i, Ok(Instance::Instantiate { .. })))
                    .count() as u64;
            }
            Payload::ComponentInstanceSection(reader) => {
                for created in reader {
                    let Ok(created) = created else { break };
                    match created {
                        ComponentInstance::Instantiate {
                            component_index, ..
                        } => {
                            let definition = component(component_index);
                            cost = cost.saturating_add(definition.cost);
                            new_instances.push(definition.exports.clone());
                        }
                        ComponentInstance::FromExports(exports) => {
                            let mut made = Exports::new();
                            for e in exports.iter() {
                                let item = match e.kind {
                                    ComponentExternalKind::Component => {
                                        Item::Component(component(e.index))
                                    }
                                    ComponentExternalKind::Instance => {
                                        Item::Instance(instance(e.index))
                                    }
                                    _ => continue,
                                };
                                made.insert(e.name.name.to_string(), item);
                            }
                            new_instances.push(Rc::new(made));
                        }
                    }
                }
            }
            Payload::ComponentAliasSection(reader) => {
                for alias in reader {
                    let Ok(alias) = alias else { break };
                    match alias {
                        ComponentAlias::Outer {
                            kind: ComponentOuterAliasKind::Component,
                            count,
                            index,
                        } => new_components.push(outer(count, index)),
                        ComponentAlias::InstanceExport {
                            kind: ComponentExternalKind::Component,
                            instance_index,
                            name,
                        } => new_components.push(match export(&instance(instance_index), name) {
                            Some(Item::Component(definition)) => definition,
                            _ => Rc::default(),
                        }),
                        ComponentAlias::InstanceExport {
                            kind: ComponentExternalKind::Instance,
                            instance_index,
                            name,
                        } => new_instances.push(match export(&instance(instance_index), name) {
                            Some(Item::Instance(exports)) => exports,
                            _ => Rc::default(),
                        }),
                        _ => {}
                    }
                }
            }
            Payload::ComponentImportSection(reader) => {
                for import in reader {
                    let Ok(import) = import else { break };
                    match import.ty {
                        ComponentTypeRef::Component(_) => new_components.push(Rc::default()),
                        ComponentTypeRef::Instance(_) => new_instances.push(Rc::default()),
                        _ => {}
                    }
                }
            }
            Payload::ComponentExportSection(reader) => {
                for e in reader {
                    let Ok(e) = e else { break };
                    let item = match e.kind {
                        ComponentExternalKind::Component => {
                            let definition = component(e.index);
                            new_components.push(definition.clone());
                            Item::Component(definition)
                        }
                        ComponentExternalKind::Instance => {
                            let exports = instance(e.index);
                            new_instances.push(exports.clone());
                            Item::Instance(exports)
                        }
                        _ => continue,
                    };
                    new_exports.push((e.name.name.to_string(), item));
                }
            }
            _ => {}
        }
        if let Some(Some(scope)) = stack.last_mut() {
            scope.cost = scope.cost.saturating_add(cost);
            scope.components.extend(new_components);
            scope.instances.extend(new_instances);
            scope.exports.extend(new_exports);
        }
    }
    result
}

/// The name under which core instance `e.instance` exports the item `e` refers to.
///
/// Errors: the item is referred to by index and its module does not export it.
pub fn export_name(
    front: &Front<'_>,
    graph: &multi_instance::InstanceGraph,
    e: &CoreExport<EntityIndex>,
) -> Result<String> {
    graph.export_name(&front.modules, e).ok_or_else(|| {
        not_yet(format!(
            "an item of core instance {} that its module does not export",
            e.instance.as_u32()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The error of `async_support` for the component in `wat`.
    fn rejection(wat: &str) -> String {
        let bytes = wat::parse_str(wat).expect("valid text");
        let err = async_support(&bytes).expect_err("an async component");
        assert!(crate::find_unsupported(&err).is_some(), "{err:#}");
        format!("{err:#}")
    }

    /// Whether `async_support` lowers the component in `wat` and finds it uses async.
    fn lowered_async(wat: &str) -> bool {
        async_support(&wat::parse_str(wat).expect("valid text")).expect("lowered")
    }

    /// An invalid component is reported as invalid even when it uses async constructs,
    /// which the lowering does not support.
    #[test]
    fn invalid_async_components_are_invalid() {
        let bytes = wat::parse_str(
            r#"(component
                 (import "f" (func $f))
                 (core func (canon lower (func $f) async)))"#,
        )
        .expect("valid text");
        let scope = ScopeVec::new();
        let Err(err) = translate(&bytes, &scope) else {
            panic!("an invalid component translated");
        };
        assert!(crate::find_unsupported(&err).is_none(), "{err:#}");
        assert!(
            format!("{err:#}").contains("requires an async function type"),
            "{err:#}"
        );
    }

    /// The first async construct of the binary that is not lowered is named: a built-in by
    /// its text-format name, or a stackful lift.
    #[test]
    fn names_the_first_async_construct() {
        assert!(
            rejection("(component (core func (canon thread.index)))")
                .contains("the built-in `thread.index`")
        );
        assert!(
            rejection(
                r#"(component
                     (core func (canon backpressure.inc))
                     (core func (canon thread.index)))"#
            )
            .contains("the built-in `thread.index`")
        );
        assert!(
            rejection(
                r#"(component
                     (core func (canon task.return (result u32)))
                     (core func (canon error-context.drop))
                     (core func (canon thread.index)))"#
            )
            .contains("the built-in `thread.index`")
        );
        assert!(
            rejection(
                r#"(component
                     (core module $m (func (export "f")))
                     (core instance $i (instantiate $m))
                     (func (export "f") async (canon lift (core func $i "f") async)))"#
            )
            .contains("no callback (stackful)")
        );
    }

    /// `async` function types, callback lifts, `async` lowers, `task.return`,
    /// `context.get`/`set`, the waitable-set built-ins, `waitable.join`, `subtask.drop`,
    /// `subtask.cancel`, `task.cancel`, `backpressure.inc`/`dec`, `thread.yield`, the stream
    /// and future built-ins and the error-context built-ins are lowered (`crate::tasks`,
    /// `crate::transmit`, `crate::error_context`); a component without them does not use
    /// async.
    #[test]
    fn lowers_tasks_and_waitables() {
        assert!(lowered_async(r#"(component (import "f" (func async)))"#));
        assert!(lowered_async(
            r#"(component
                 (import "f" (func $f async))
                 (core func (canon lower (func $f) async))
                 (core func (canon task.return (result u32)))
                 (core func (canon context.get i32 0))
                 (core func (canon context.set i32 1)))"#
        ));
        assert!(lowered_async(
            r#"(component
                 (core module $m (memory (export "m") 1))
                 (core instance $i (instantiate $m))
                 (core func (canon error-context.new (memory $i "m")))
                 (core func (canon error-context.debug-message (memory $i "m")))
                 (core func (canon error-context.drop)))"#
        ));
        assert!(lowered_async(
            r#"(component
                 (core module $m (memory (export "m") 1))
                 (core instance $i (instantiate $m))
                 (core func (canon waitable-set.new))
                 (core func (canon waitable-set.wait (memory $i "m")))
                 (core func (canon waitable-set.poll (memory $i "m")))
                 (core func (canon waitable-set.drop))
                 (core func (canon waitable.join))
                 (core func (canon subtask.drop))
                 (core func (canon subtask.cancel))
                 (core func (canon subtask.cancel async))
                 (core func (canon task.cancel))
                 (core func (canon backpressure.inc))
                 (core func (canon backpressure.dec))
                 (core func (canon thread.yield)))"#
        ));
        assert!(lowered_async(
            r#"(component
                 (type $f (future u8))
                 (core module $m (memory (export "m") 1))
                 (core instance $i (instantiate $m))
                 (core func (canon future.new $f))
                 (core func (canon future.read $f async (memory $i "m")))
                 (core func (canon future.write $f async (memory $i "m")))
                 (core func (canon future.cancel-read $f async))
                 (core func (canon future.cancel-write $f async))
                 (core func (canon future.drop-readable $f))
                 (core func (canon future.drop-writable $f)))"#
        ));
        assert!(lowered_async(
            r#"(component
                 (type $s (stream u8))
                 (core module $m (memory (export "m") 1))
                 (core instance $i (instantiate $m))
                 (core func (canon stream.new $s))
                 (core func (canon stream.read $s async (memory $i "m")))
                 (core func (canon stream.write $s (memory $i "m")))
                 (core func (canon stream.cancel-read $s async))
                 (core func (canon stream.cancel-write $s))
                 (core func (canon stream.drop-readable $s))
                 (core func (canon stream.drop-writable $s)))"#
        ));
        assert!(!lowered_async(r#"(component (import "f" (func)))"#));
        // An interface's `async` function, inside an instance type.
        assert!(lowered_async(
            r#"(component (import "i" (instance (export "f" (func async)))))"#
        ));
        assert!(lowered_async(
            r#"(component (type (component (import "i" (instance (export "f" (func async)))))))"#
        ));
    }
}
