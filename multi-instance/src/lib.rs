//! The instance graph of a component: static core modules, the runtime core instances made of
//! them in initializer order, what feeds each instance's imports, and how many times each
//! module is instantiated.
//!
//! wasmtime-environ's `component::Translator` inlines nested components and hands back one
//! flat list of `GlobalInitializer`s. Every `InstantiateModule` in it creates the next
//! `RuntimeInstanceIndex` (the n-th instantiation is instance n); its arguments are
//! `CoreDef`s in the order of the module's imports. This crate reads that list into an
//! [`InstanceGraph`] and answers the questions the lowering asks of it:
//!
//! - [`InstanceGraph::multiplicity`]: is a module instantiated never, once, or several times
//!   (a module instantiated several times must have its state reified to be emitted once);
//! - [`InstanceGraph::state_edges`]: which instances share a memory, table, global or tag
//!   through an import (instances that share state must agree on its representation);
//! - [`InstanceGraph::resolve`]: which instance and item a `CoreExport` finally names.
//!
//! Instantiating a module that the root component imports (`InstantiateModule::Import`) has
//! no static module to emit, and is reported as unsupported by the caller.
#![deny(missing_docs)]

use anyhow::{Result, bail};
use wasmtime_environ::component::{
    Component, CoreDef, CoreExport, ExportItem, GlobalInitializer, InstantiateModule,
    RuntimeComponentInstanceIndex, RuntimeInstanceIndex,
};
use wasmtime_environ::{
    EntityIndex, EntityType, ModuleTranslation, PrimaryMap, SecondaryMap, StaticModuleIndex,
};

/// How many times a static module is instantiated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Multiplicity {
    /// Never instantiated: its code is dead.
    #[default]
    None,
    /// Exactly one runtime instance.
    One,
    /// Two or more runtime instances.
    Many,
}

/// One runtime core instance.
#[derive(Debug, Clone)]
pub struct CoreInstance {
    /// The static module it instantiates.
    pub module: StaticModuleIndex,
    /// What feeds each import, in the order of the module's imports.
    pub args: Vec<CoreDef>,
    /// The component instance it belongs to; `None` for FACT adapter modules.
    pub component_instance: Option<RuntimeComponentInstanceIndex>,
}

/// Runtime core instances of a component, in instantiation order.
#[derive(Debug, Default)]
pub struct InstanceGraph {
    /// Every runtime core instance, indexed in initializer order.
    pub instances: PrimaryMap<RuntimeInstanceIndex, CoreInstance>,
    /// Runtime instances of each static module, in order.
    pub instances_of: SecondaryMap<StaticModuleIndex, Vec<RuntimeInstanceIndex>>,
}

/// The kind of state an import shares between two instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SharedState {
    /// A linear memory.
    Memory,
    /// A table.
    Table,
    /// A global (mutable or not).
    Global,
    /// An exception tag (generative: each instance of its defining module has its own).
    Tag,
}

/// An import of `importer` satisfied by state defined or re-exported by `exporter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateEdge {
    /// The instance whose import is satisfied.
    pub importer: RuntimeInstanceIndex,
    /// The instance whose export satisfies it.
    pub exporter: RuntimeInstanceIndex,
    /// What is shared.
    pub kind: SharedState,
    /// The position of the import in the importer's module import list (an index into
    /// [`CoreInstance::args`]).
    pub position: usize,
}

impl InstanceGraph {
    /// Reads the `InstantiateModule` initializers of `component`.
    ///
    /// Errors when the component instantiates a core module imported by the root component, or
    /// when an instantiation's arguments do not match the module's imports.
    pub fn build(
        component: &Component,
        modules: &PrimaryMap<StaticModuleIndex, ModuleTranslation<'_>>,
    ) -> Result<Self> {
        let mut graph = InstanceGraph::default();
        for init in &component.initializers {
            let GlobalInitializer::InstantiateModule(inst, component_instance) = init else {
                continue;
            };
            match inst {
                InstantiateModule::Static(module, args) => {
                    graph.add_instance(modules, *module, args.to_vec(), *component_instance)?;
                }
                InstantiateModule::Import(..) => {
                    bail!("instantiating a core module imported by the root component")
                }
            }
        }
        Ok(graph)
    }

    /// Adds the next instance: `module` instantiated with `args` (one per import, in import
    /// order) in `component_instance`, as an `InstantiateModule` initializer appended to the
    /// component does. Returns its index, which is the next runtime instance index.
    ///
    /// Errors when `args` does not have one entry per import of `module`.
    pub fn add_instance(
        &mut self,
        modules: &PrimaryMap<StaticModuleIndex, ModuleTranslation<'_>>,
        module: StaticModuleIndex,
        args: Vec<CoreDef>,
        component_instance: Option<RuntimeComponentInstanceIndex>,
    ) -> Result<RuntimeInstanceIndex> {
        let expected = modules[module].module.imports().len();
        if args.len() != expected {
            bail!(
                "instantiation of module {} has {} arguments for {expected} imports",
                module.as_u32(),
                args.len()
            );
        }
        let index = self.instances.push(CoreInstance {
            module,
            args,
            component_instance,
        });
        self.instances_of[module].push(index);
        Ok(index)
    }

    /// How many times `module` is instantiated.
    pub fn multiplicity(&self, module: StaticModuleIndex) -> Multiplicity {
        match self.instances_of[module].len() {
            0 => Multiplicity::None,
            1 => Multiplicity::One,
            _ => Multiplicity::Many,
        }
    }

    /// Every memory, table, global and tag import between two runtime instances.
    pub fn state_edges<'a>(
        &'a self,
        modules: &'a PrimaryMap<StaticModuleIndex, ModuleTranslation<'_>>,
    ) -> impl Iterator<Item = StateEdge> + 'a {
        self.instances.iter().flat_map(move |(importer, inst)| {
            let imports = modules[inst.module].module.imports();
            imports
                .zip(&inst.args)
                .enumerate()
                .filter_map(move |(position, ((_, _, ty), arg))| {
                    let kind = match ty {
                        EntityType::Memory(_) => SharedState::Memory,
                        EntityType::Table(_) => SharedState::Table,
                        EntityType::Global(_) => SharedState::Global,
                        EntityType::Tag(_) => SharedState::Tag,
                        _ => return None,
                    };
                    let CoreDef::Export(export) = arg else {
                        return None;
                    };
                    Some(StateEdge {
                        importer,
                        exporter: export.instance,
                        kind,
                        position,
                    })
                })
        })
    }

    /// Resolves `export` to the instance and the item (in that instance's module index space)
    /// it names. Only the named instance's export list is consulted: an item the instance
    /// itself imports is returned as the import's index, to be followed by the caller.
    pub fn resolve(
        &self,
        modules: &PrimaryMap<StaticModuleIndex, ModuleTranslation<'_>>,
        export: &CoreExport<EntityIndex>,
    ) -> Result<(RuntimeInstanceIndex, EntityIndex)> {
        let item = match &export.item {
            ExportItem::Index(i) => *i,
            ExportItem::Name(name) => {
                let module = &modules[self.instances[export.instance].module].module;
                let found = module
                    .exports
                    .iter()
                    .find(|(n, _)| module.strings[**n] == *name.as_str())
                    .map(|(_, i)| *i);
                match found {
                    Some(i) => i,
                    None => bail!(
                        "core instance {} has no export `{name}`",
                        export.instance.as_u32()
                    ),
                }
            }
        };
        Ok((export.instance, item))
    }

    /// The name under which core instance `export.instance` exports the item `export`
    /// refers to: the inverse of [`InstanceGraph::resolve`] for an item referred to by index.
    /// `None` when its module does not export it.
    pub fn export_name(
        &self,
        modules: &PrimaryMap<StaticModuleIndex, ModuleTranslation<'_>>,
        export: &CoreExport<EntityIndex>,
    ) -> Option<String> {
        match &export.item {
            ExportItem::Name(name) => Some(name.clone()),
            ExportItem::Index(index) => {
                let module = &modules[self.instances[export.instance].module].module;
                module
                    .exports
                    .iter()
                    .find(|(_, i)| *i == index)
                    .map(|(name, _)| module.strings[*name].to_string())
            }
        }
    }
}
