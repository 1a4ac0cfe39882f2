//! Names and metadata of the input's core modules, carried into the output.
//!
//! A backtrace or a profile of the output should name the program's functions, not gc-lower's
//! index spaces. Each static module is emitted once, so its defined functions keep the names of
//! its `name` section, prefixed with a readable *module label* (the module's own name, with
//! `#N` appended when another module has the same name, else `module{N}` with its static
//! index) and `!`, the separator wasmtime prints between a module
//! and a function; a function the input leaves unnamed is `m{N}:f{K}` (static module `N`,
//! function index `K`). gc-lower's own glue is named `gc-lower:…`; a canonical ABI trap is
//! raised in `gc-lower:trap:{reason}` (see [`crate::assemble::Lowerer::trap_func`]).
//!
//! ```text
//! ;; input: static module 2            ;; output name section
//! (module $libc                         (func $libc!malloc ...)
//!   (func $malloc ...)                  (func $m2:f1 ...)
//!   (func ...))                         (func $gc-lower:bound3:libc!malloc ...)
//! ```
//!
//! Local names follow their function; a reified function's locals at or above its vmctx
//! parameter move up by one, and the vmctx parameter is named `vmctx`. Label names follow
//! their block: the rewrite adds blocks of its own, so a label's output index is the ordinal
//! of the block that the rewrite of the input's block emitted ([`output_labels`]). The other index spaces
//! (types, tables, memories, globals, tags, element and data segments) are named the same way,
//! `label!name` or `label:memory0` ([`InputNames::item_name`]); where reified state lives in a
//! vmctx field, the field carries the item's name. `crate::name_section` writes them all.
//!
//! The inputs' `producers` sections are merged into one, with gc-lower added under
//! `processed-by`, as wasm-tools does. DWARF (`.debug_*` sections) describes code offsets that
//! the lowering changes, so it is dropped, with one line on stderr naming the module.
//!
//! Names and producers are never trusted: a malformed `name` or `producers` section (or a part
//! of one) is ignored, never an error. Names are metadata; the code is the same without them.

use hashbrown::{HashMap, HashSet};
use wasmtime_environ::wasmparser as wp;

/// An index space of a core module that the `name` section may name, besides functions and
/// locals (the extended name section's subsections).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ItemKind {
    /// Types (`type`).
    Type,
    /// Tables (`table`).
    Table,
    /// Memories (`memory`).
    Memory,
    /// Globals (`global`).
    Global,
    /// Element segments (`elem`).
    Elem,
    /// Data segments (`data`).
    Data,
    /// Tags (`tag`).
    Tag,
}

impl ItemKind {
    /// The word output names use for an unnamed item: `memory` in `libc:memory0`.
    pub fn word(self) -> &'static str {
        match self {
            ItemKind::Type => "type",
            ItemKind::Table => "table",
            ItemKind::Memory => "memory",
            ItemKind::Global => "global",
            ItemKind::Elem => "elem",
            ItemKind::Data => "data",
            ItemKind::Tag => "tag",
        }
    }
}

/// What the custom sections of one input core module say about it.
#[derive(Debug, Default)]
pub struct InputNames {
    /// The module's own name (the `name` section's module subsection).
    pub module: Option<String>,
    /// Function names, by function index (imported functions first).
    pub funcs: HashMap<u32, String>,
    /// Local names, by function index, then local index (parameters first).
    pub locals: HashMap<u32, Vec<(u32, String)>>,
    /// Label names, by function index, then label index (the ordinal of a `block`, `loop`,
    /// `if`, `try` or `try_table` among the function's, in code order).
    pub labels: HashMap<u32, Vec<(u32, String)>>,
    /// Names of the module's other index spaces, each by its index (imports first).
    pub items: HashMap<ItemKind, HashMap<u32, String>>,
    /// Field names, by type index, then field index.
    pub fields: HashMap<u32, HashMap<u32, String>>,
    /// The `producers` section, if well formed.
    pub producers: Option<wasm_metadata::Producers>,
    /// The names of its DWARF (`.debug_*`) sections, in order.
    pub dwarf: Vec<String>,
}

/// The module names (`name` section, module subsection) that more than one of the core
/// modules `wasms` carries: a component composed of two components that each hold a module
/// named `libc`, say. [`InputNames::parse_labelled`] gives those modules distinct labels.
pub fn duplicate_module_names<'a>(wasms: impl IntoIterator<Item = &'a [u8]>) -> HashSet<String> {
    let mut seen = HashSet::new();
    let mut duplicates = HashSet::new();
    for wasm in wasms {
        if let Some(name) = InputNames::parse(wasm).module
            && !seen.insert(name.clone())
        {
            duplicates.insert(name);
        }
    }
    duplicates
}

impl InputNames {
    /// [`InputNames::parse`] for static module `index`, whose label is made distinct when its
    /// module name is one of `duplicates` ([`duplicate_module_names`]): `libc#3` instead of
    /// `libc`, so that two modules' functions never share a name.
    pub fn parse_labelled(wasm: &[u8], index: u32, duplicates: &HashSet<String>) -> Self {
        let mut names = Self::parse(wasm);
        if let Some(name) = &names.module
            && duplicates.contains(name)
        {
            names.module = Some(format!("{name}#{index}"));
        }
        names
    }

    /// Reads the custom sections of the core module `wasm` (binary). A malformed section, or
    /// a malformed part of the `name` section, is skipped; parsing stops at the first
    /// malformed payload of the module.
    pub fn parse(wasm: &[u8]) -> Self {
        let mut names = Self::default();
        for payload in wp::Parser::new(0).parse_all(wasm) {
            let Ok(payload) = payload else { break };
            let wp::Payload::CustomSection(section) = payload else {
                continue;
            };
            match section.as_known() {
                wp::KnownCustom::Name(reader) => names.read_name_section(reader),
                wp::KnownCustom::Producers(_) => {
                    names.producers =
                        wasm_metadata::Producers::from_bytes(section.data(), section.data_offset())
                            .ok();
                }
                _ if section.name().starts_with(".debug_") => {
                    names.dwarf.push(section.name().to_string());
                }
                _ => {}
            }
        }
        names
    }

    fn read_name_section(&mut self, reader: wp::NameSectionReader<'_>) {
        for subsection in reader {
            let Ok(subsection) = subsection else { break };
            match subsection {
                wp::Name::Module { name, .. } => self.module = Some(name.to_string()),
                wp::Name::Function(map) => {
                    for naming in map.into_iter().map_while(Result::ok) {
                        self.funcs.insert(naming.index, naming.name.to_string());
                    }
                }
                wp::Name::Local(map) => self.locals.extend(indirect_names(map)),
                wp::Name::Label(map) => self.labels.extend(indirect_names(map)),
                wp::Name::Type(map) => self.read_items(ItemKind::Type, map),
                wp::Name::Table(map) => self.read_items(ItemKind::Table, map),
                wp::Name::Memory(map) => self.read_items(ItemKind::Memory, map),
                wp::Name::Global(map) => self.read_items(ItemKind::Global, map),
                wp::Name::Element(map) => self.read_items(ItemKind::Elem, map),
                wp::Name::Data(map) => self.read_items(ItemKind::Data, map),
                wp::Name::Tag(map) => self.read_items(ItemKind::Tag, map),
                wp::Name::Field(map) => self.fields.extend(indirect_names(map)),
                _ => {}
            }
        }
    }

    fn read_items(&mut self, kind: ItemKind, map: wp::NameMap<'_>) {
        let names = self.items.entry(kind).or_default();
        for naming in map.into_iter().map_while(Result::ok) {
            names.insert(naming.index, naming.name.to_string());
        }
    }

    /// The output name of item `item` of kind `kind` of static module `index`: `label!name`,
    /// or `label:{word}{K}` (`libc:memory0`) when the input does not name it.
    pub fn item_name(&self, index: u32, kind: ItemKind, item: u32) -> String {
        match self.items.get(&kind).and_then(|names| names.get(&item)) {
            Some(name) => format!("{}!{name}", self.label(index)),
            None => format!("{}:{}{item}", self.label(index), kind.word()),
        }
    }

    /// The input's name of item `item` of kind `kind`, if it has one.
    pub fn input_name(&self, kind: ItemKind, item: u32) -> Option<&str> {
        self.items
            .get(&kind)
            .and_then(|names| names.get(&item))
            .map(String::as_str)
    }

    /// The label of static module `index` in output names: its own name, else `module{N}`.
    pub fn label(&self, index: u32) -> String {
        match &self.module {
            Some(name) => name.clone(),
            None => format!("module{index}"),
        }
    }

    /// The output name of function `func` of static module `index`: `label!name`, or
    /// `m{N}:f{K}` when the input does not name it.
    pub fn func_name(&self, index: u32, func: u32) -> String {
        match self.funcs.get(&func) {
            Some(name) => format!("{}!{name}", self.label(index)),
            None => format!("m{index}:f{func}"),
        }
    }

    /// The output local names of function `func`, which has `num_params` parameters and, when
    /// `reified`, a vmctx parameter after them; sorted by local index.
    pub fn local_names(&self, func: u32, num_params: u32, reified: bool) -> Vec<(u32, String)> {
        let mut out: Vec<(u32, String)> = self
            .locals
            .get(&func)
            .into_iter()
            .flatten()
            .map(|(i, name)| {
                let i = if reified && *i >= num_params {
                    i.saturating_add(1)
                } else {
                    *i
                };
                (i, name.clone())
            })
            .collect();
        if reified {
            out.push((num_params, "vmctx".into()));
        }
        out.sort_by_key(|(i, _)| *i);
        out.dedup_by_key(|(i, _)| *i);
        out
    }
}

/// The output's `producers` section: every input's fields merged, and gc-lower under
/// `processed-by`.
pub fn producers_section<'a>(
    inputs: impl IntoIterator<Item = &'a wasm_metadata::Producers>,
) -> wasm_encoder::ProducersSection {
    let mut merged = wasm_metadata::Producers::empty();
    for p in inputs {
        merged.merge(p);
    }
    merged.add("processed-by", "gc-lower", env!("CARGO_PKG_VERSION"));
    let mut section = wasm_encoder::ProducersSection::new();
    for (field, values) in merged.iter() {
        let mut out = wasm_encoder::ProducersField::new();
        for (name, version) in values.iter() {
            out.value(name, version);
        }
        section.field(field, &out);
    }
    section
}

/// The names of an indirect name map (locals, labels, fields): each outer index with its
/// inner `(index, name)` pairs, collected as `C`. Stops at the first malformed entry.
fn indirect_names<C: FromIterator<(u32, String)>>(
    map: wp::IndirectNameMap<'_>,
) -> impl Iterator<Item = (u32, C)> + '_ {
    map.into_iter().map_while(Result::ok).map(|outer| {
        let inner = outer
            .names
            .into_iter()
            .map_while(Result::ok)
            .map(|n| (n.index, n.name.to_string()))
            .collect();
        (outer.index, inner)
    })
}

/// Whether `op` opens a label: `block`, `loop`, `if`, `try`, `try_table` (the name section's
/// label index counts these in code order).
pub fn opens_label(op: &wp::Operator<'_>) -> bool {
    matches!(
        op,
        wp::Operator::Block { .. }
            | wp::Operator::Loop { .. }
            | wp::Operator::If { .. }
            | wp::Operator::Try { .. }
            | wp::Operator::TryTable { .. }
    )
}

/// The output label names of one rewritten function. `names` are the input's, by input label
/// index; `emitted[k]` is the byte range of the output `body` (its instructions, without the
/// locals) that the rewrite of the input's `k`-th label-opening instruction wrote, and the first
/// label-opening instruction in that range is the output's. Sorted by output label index; a
/// label whose block cannot be found (a body that does not parse) is left out.
pub fn output_labels(
    names: &[(u32, String)],
    emitted: &[std::ops::Range<usize>],
    body: &[u8],
) -> Vec<(u32, String)> {
    let mut opened = Vec::new();
    let mut reader = wp::OperatorsReader::new(wp::BinaryReader::new(body, 0));
    while !reader.eof() {
        match reader.read_with_offset() {
            Ok((op, offset)) => {
                if opens_label(&op) {
                    opened.push(offset);
                }
            }
            Err(_) => break,
        }
    }
    let mut out: Vec<(u32, String)> = names
        .iter()
        .filter_map(|(label, name)| {
            let range = emitted.get(*label as usize)?;
            let first = opened.partition_point(|&offset| offset < range.start);
            let offset = *opened.get(first)?;
            range
                .contains(&offset)
                .then(|| (first as u32, name.clone()))
        })
        .collect();
    out.sort_by_key(|(i, _)| *i);
    out.dedup_by_key(|(i, _)| *i);
    out
}
