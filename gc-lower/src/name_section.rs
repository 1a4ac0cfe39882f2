//! The output's `name` section (see [`crate::names`] for how names are chosen).
//!
//! Every subsection of the extended name section that the output can fill:
//!
//! | subsection | names |
//! |---|---|
//! | functions | `label!name` or `m{N}:f{K}`; host imports `module#name`; glue `gc-lower:…` |
//! | locals | the input's, shifted past a reified function's `vmctx` parameter |
//! | labels | the input's, at the block that the rewrite of the input's block emitted |
//! | types | the input's module types (`label!name`), gc-lower's runtime types (`gc-lower:membox`), each reified module's vmctx (`label:vmctx`) |
//! | tables, memories, globals, tags | an unreified module's (`label!name` or `label:memory0`); gc-lower's own globals |
//! | element and data segments | each module's (`label!name` or `label:data3`); gc-lower's own |
//! | fields | the runtime types' (`bytes`, `pages`, …) and each vmctx's, named after what they hold |
//!
//! A reified module's memories, tables and globals are vmctx fields, named in the fields
//! subsection.
//! Every map is written in increasing index order, as the format requires; where two modules
//! name one output item (a type both use), the first module's name is kept.

use std::collections::BTreeMap;

use wasm_encoder as we;

use crate::assemble::{Lowerer, OutFunction};
use crate::layout::{GlobalSlot, ImportedFunc, MemSlot, TabSlot};
use crate::names::ItemKind;

/// Names of one index space, by output index.
type Names = BTreeMap<u32, String>;

fn name_map(names: &Names) -> we::NameMap {
    let mut map = we::NameMap::new();
    for (index, name) in names {
        map.append(*index, name);
    }
    map
}

impl Lowerer<'_, '_> {
    /// The output's `name` section.
    pub(crate) fn name_section(&self) -> we::NameSection {
        let mut section = we::NameSection::new();

        let mut funcs = Names::new();
        for (i, (module, name, _)) in self.input.host.core_imports().into_iter().enumerate() {
            funcs.insert(i as u32, format!("{module}#{name}"));
        }
        for (i, f) in self.out.funcs.iter().enumerate() {
            funcs.insert(self.out.num_imported_funcs + i as u32, f.name.clone());
        }
        section.functions(&name_map(&funcs));

        section.locals(&self.per_function(|f| &f.locals));
        section.labels(&self.per_function(|f| &f.labels));

        let items = self.item_names();
        let get = |kind: ItemKind| items.get(&kind).cloned().unwrap_or_default();

        // Types and fields: the runtime types, then each module's.
        let mut types = Names::new();
        let mut fields: BTreeMap<u32, Names> = BTreeMap::new();
        if self.settings.gc {
            for (ty, name, field_names) in runtime_structs::type_names() {
                types.insert(ty, format!("gc-lower:{name}"));
                if !field_names.is_empty() {
                    fields.insert(
                        ty,
                        field_names
                            .into_iter()
                            .enumerate()
                            .map(|(f, n)| (f as u32, n))
                            .collect(),
                    );
                }
            }
        }
        for (&ty, name) in &get(ItemKind::Type) {
            types.entry(ty).or_insert_with(|| name.clone());
        }
        for (ty, name, field_names) in self.vmctx_names() {
            types.insert(ty, name);
            fields.insert(ty, field_names);
        }
        section.types(&name_map(&types));
        section.tables(&name_map(&get(ItemKind::Table)));
        section.memories(&name_map(&get(ItemKind::Memory)));

        let mut globals = Names::new();
        for (i, (_, _, name)) in self.out.globals.iter().enumerate() {
            globals.insert(i as u32, name.clone());
        }
        section.globals(&name_map(&globals));
        section.elements(&name_map(&get(ItemKind::Elem)));
        section.data(&name_map(&get(ItemKind::Data)));

        let mut field_map = we::IndirectNameMap::new();
        for (ty, names) in &fields {
            field_map.append(*ty, &name_map(names));
        }
        section.fields(&field_map);
        section.tags(&name_map(&get(ItemKind::Tag)));
        section
    }

    /// An indirect name map over the defined functions: `names` of each function that has any
    /// (its locals or labels, sorted by index), under its output function index.
    fn per_function(
        &self,
        names: impl Fn(&OutFunction) -> &[(u32, String)],
    ) -> we::IndirectNameMap {
        let mut out = we::IndirectNameMap::new();
        for (i, f) in self.out.funcs.iter().enumerate() {
            if !names(f).is_empty() {
                let mut map = we::NameMap::new();
                for (index, name) in names(f) {
                    map.append(*index, name);
                }
                out.append(self.out.num_imported_funcs + i as u32, &map);
            }
        }
        out
    }

    /// The output names of the items that the modules' layouts place in the output's own
    /// index spaces: an unreified module's defined tables, memories and tags (its globals are
    /// named when they are added), a reified module's static tables, each module's types and
    /// data segments, an unreified module's element segments, and gc-lower's own data
    /// segments.
    fn item_names(&self) -> BTreeMap<ItemKind, Names> {
        let mut out: BTreeMap<ItemKind, Names> = BTreeMap::new();
        let mut modules: Vec<_> = self.input.names.keys().copied().collect();
        modules.sort();
        for m in modules {
            let names = &self.input.names[&m];
            let layout = &self.layouts[m];
            let info = &self.input.infos[m];
            let index = m.as_u32();
            let mut put = |kind: ItemKind, out_index: u32, item: u32| {
                out.entry(kind)
                    .or_default()
                    .entry(out_index)
                    .or_insert_with(|| names.item_name(index, kind, item));
            };
            // Types only where the input names them: a type is shared by every module that
            // uses its shape.
            for (t, &ty) in layout.types.iter().enumerate() {
                if names.input_name(ItemKind::Type, t as u32).is_some() {
                    put(ItemKind::Type, ty.0, t as u32);
                }
            }
            for d in 0..info.datas.len() as u32 {
                put(ItemKind::Data, layout.data_base + d, d);
            }
            if layout.reified {
                // A static table is an output table of its own.
                for (ti, slot) in layout
                    .vmctx
                    .iter()
                    .flat_map(|v| v.tables.iter().enumerate())
                {
                    if let TabSlot::Static(table) = *slot {
                        put(ItemKind::Table, table, ti as u32);
                    }
                }
                continue;
            }
            let defined = |imported: u32, all: usize| imported as usize..all;
            for mi in defined(info.num_imported_memories, info.memories.len()) {
                put(ItemKind::Memory, layout.memories[mi], mi as u32);
            }
            for ti in defined(info.num_imported_tables, info.tables.len()) {
                put(ItemKind::Table, layout.tables[ti], ti as u32);
            }
            for gi in defined(info.num_imported_tags, info.tags.len()) {
                put(ItemKind::Tag, layout.tags[gi], gi as u32);
            }
            for e in 0..info.elements.len() as u32 {
                put(ItemKind::Elem, layout.elem_base + e, e);
            }
        }
        if let Some((table, _)) = &self.made.closure_table {
            out.entry(ItemKind::Table)
                .or_default()
                .insert(*table, "gc-lower:closures".into());
        }
        let data = out.entry(ItemKind::Data).or_default();
        for (&segment, name) in &self.out.glue_data_names {
            data.insert(segment, name.clone());
        }
        out
    }

    /// Each reified module's vmctx type, its name (`label:vmctx`) and its fields' names,
    /// after what they hold: the input's name of the memory, table, global, imported function
    /// or element segment, else `memory0`, `table0`, `global0`, `import:f0`, `elem0`; and
    /// `data-lengths`.
    fn vmctx_names(&self) -> Vec<(u32, String, Names)> {
        let mut out = Vec::new();
        let mut modules: Vec<_> = self.input.names.keys().copied().collect();
        modules.sort();
        for m in modules {
            let Some(v) = &self.layouts[m].vmctx else {
                continue;
            };
            let names = &self.input.names[&m];
            let item = |kind: ItemKind, i: usize| match names.input_name(kind, i as u32) {
                Some(name) => name.to_string(),
                None => format!("{}{i}", kind.word()),
            };
            let mut fields = Names::new();
            for (mi, slot) in v.memories.iter().enumerate() {
                if let MemSlot::Field(f) = slot {
                    fields.insert(*f, item(ItemKind::Memory, mi));
                }
            }
            for (ti, slot) in v.tables.iter().enumerate() {
                if let TabSlot::Field(f) = slot {
                    fields.insert(*f, item(ItemKind::Table, ti));
                }
            }
            for (gi, slot) in v.globals.iter().enumerate() {
                if let GlobalSlot::Value(f) | GlobalSlot::Boxed { field: f, .. } = slot {
                    fields.insert(*f, item(ItemKind::Global, gi));
                }
            }
            for (fi, slot) in v.imported_funcs.iter().enumerate() {
                if let ImportedFunc::Dynamic(f) = slot {
                    let name = match names.funcs.get(&(fi as u32)) {
                        Some(name) => format!("import:{name}"),
                        None => format!("import:f{fi}"),
                    };
                    fields.insert(*f, name);
                }
            }
            for (e, &f) in v.elems.iter().enumerate() {
                fields.insert(f, item(ItemKind::Elem, e));
            }
            if let Some(f) = v.datas {
                fields.insert(f, "data-lengths".to_string());
            }
            out.push((v.ty.0, format!("{}:vmctx", names.label(m.as_u32())), fields));
        }
        out
    }
}
