//! A parsed core module: the facts the rewrite and the fuser need, read once with wasmparser.
//!
//! Only what gc-lower can lower is accepted: unshared types, 32-bit unshared memories with
//! 64 KiB pages. Everything else is reported as
//! [`Unsupported`](crate::Unsupported) naming the feature.

use anyhow::{Context as _, Result, bail};
use wasmtime_environ::wasmparser::{
    self, CompositeInnerType, ConstExpr, Data, Element, Export, FuncType, FunctionBody, GlobalType,
    Import, MemoryType, Parser, Payload, TableType, TagType, TypeRef,
};

use crate::error::{not_yet, unsupported};

/// `t` in the text format, a reference to a module's type by its index (`(ref null 3)`),
/// for messages.
pub fn type_text(t: wasmparser::ValType) -> String {
    match t {
        wasmparser::ValType::Ref(r) => match r.heap_type() {
            wasmparser::HeapType::Concrete(i) | wasmparser::HeapType::Exact(i) => {
                let index = i
                    .as_module_index()
                    .map_or_else(|| format!("{i}"), |i| i.to_string());
                let null = if r.is_nullable() { "null " } else { "" };
                format!("(ref {null}{index})")
            }
            wasmparser::HeapType::Abstract { .. } => r.to_string(),
        },
        t => t.to_string(),
    }
}

/// A global defined by the module.
#[derive(Clone)]
pub struct DefinedGlobal<'a> {
    /// Its type.
    pub ty: GlobalType,
    /// Its initializer.
    pub init: ConstExpr<'a>,
}

/// Where a function type stands among the module's types, beyond its signature: what makes it
/// a distinct type under Wasm GC's canonicalization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeShape {
    /// Whether it is final (a plain `(type (func ..))` is).
    pub is_final: bool,
    /// Its declared supertype (a type index of the module).
    pub supertype: Option<u32>,
}

/// The index spaces and sections of one core module.
#[derive(Default)]
pub struct ModuleInfo<'a> {
    /// Types by type index: function types, and the struct and array types of Wasm GC.
    pub types: Vec<CompositeInnerType>,
    /// The finality and supertype of each type, by type index.
    pub type_shapes: Vec<TypeShape>,
    /// The rec groups, as ranges of type indices in order (a type outside an explicit `rec`
    /// is a group of its own).
    pub rec_groups: Vec<std::ops::Range<u32>>,
    /// Imports in order.
    pub imports: Vec<Import<'a>>,
    /// For each function (imports first) its type index.
    pub funcs: Vec<u32>,
    /// Tables (imports first).
    pub tables: Vec<TableType>,
    /// Initializer expressions of defined tables (`None`: filled with null).
    pub table_inits: Vec<Option<ConstExpr<'a>>>,
    /// Memories (imports first).
    pub memories: Vec<MemoryType>,
    /// Globals (imports first).
    pub globals: Vec<GlobalType>,
    /// Defined globals with their initializers.
    pub defined_globals: Vec<DefinedGlobal<'a>>,
    /// Tags (imports first).
    pub tags: Vec<TagType>,
    /// Exports.
    pub exports: Vec<Export<'a>>,
    /// The start function.
    pub start: Option<u32>,
    /// Element segments in order.
    pub elements: Vec<Element<'a>>,
    /// Data segments in order.
    pub datas: Vec<Data<'a>>,
    /// Bodies of the defined functions.
    pub bodies: Vec<FunctionBody<'a>>,
    /// Number of imported functions.
    pub num_imported_funcs: u32,
    /// Number of imported tables.
    pub num_imported_tables: u32,
    /// Number of imported memories.
    pub num_imported_memories: u32,
    /// Number of imported globals.
    pub num_imported_globals: u32,
    /// Number of imported tags.
    pub num_imported_tags: u32,
    /// For every function/table/memory/global/tag import, its position in `imports`.
    pub import_position: ImportPositions,
}

/// Positions in the import list of each imported item, per index space.
#[derive(Default)]
pub struct ImportPositions {
    /// By function index.
    pub funcs: Vec<usize>,
    /// By table index.
    pub tables: Vec<usize>,
    /// By memory index.
    pub memories: Vec<usize>,
    /// By global index.
    pub globals: Vec<usize>,
    /// By tag index.
    pub tags: Vec<usize>,
}

impl<'a> ModuleInfo<'a> {
    /// Parses `wasm`, a core module that has already been validated.
    pub fn parse(wasm: &'a [u8]) -> Result<Self> {
        let mut info = ModuleInfo::default();
        for payload in Parser::new(0).parse_all(wasm) {
            match payload.context("failed to parse a core module")? {
                Payload::TypeSection(s) => {
                    for group in s {
                        let group = group?;
                        let start = info.types.len() as u32;
                        for ty in group.into_types() {
                            let supertype =
                                match ty.supertype_idx {
                                    Some(index) => Some(index.as_module_index().context(
                                        "a supertype is not named by a module type index",
                                    )?),
                                    None => None,
                                };
                            info.type_shapes.push(TypeShape {
                                is_final: ty.is_final,
                                supertype,
                            });
                            if ty.composite_type.shared {
                                return Err(not_yet(
                                    "shared types (shared-everything threads) in core modules",
                                ));
                            }
                            info.types.push(ty.composite_type.inner);
                        }
                        info.rec_groups.push(start..info.types.len() as u32);
                    }
                }
                Payload::ImportSection(s) => {
                    for import in s.into_imports() {
                        let import = import?;
                        let pos = info.imports.len();
                        match import.ty {
                            TypeRef::Func(t) | TypeRef::FuncExact(t) => {
                                info.import_position.funcs.push(pos);
                                info.funcs.push(t);
                                info.num_imported_funcs += 1;
                            }
                            TypeRef::Table(t) => {
                                info.import_position.tables.push(pos);
                                info.tables.push(t);
                                info.num_imported_tables += 1;
                            }
                            TypeRef::Memory(m) => {
                                check_memory(&m)?;
                                info.import_position.memories.push(pos);
                                info.memories.push(m);
                                info.num_imported_memories += 1;
                            }
                            TypeRef::Global(g) => {
                                check_global(&g)?;
                                info.import_position.globals.push(pos);
                                info.globals.push(g);
                                info.num_imported_globals += 1;
                            }
                            TypeRef::Tag(t) => {
                                info.import_position.tags.push(pos);
                                info.tags.push(t);
                                info.num_imported_tags += 1;
                            }
                        }
                        info.imports.push(import);
                    }
                }
                Payload::FunctionSection(s) => {
                    for t in s {
                        info.funcs.push(t?);
                    }
                }
                Payload::TableSection(s) => {
                    for t in s {
                        let t = t?;
                        if t.ty.shared {
                            return Err(unsupported("shared tables"));
                        }
                        if t.ty.table64 {
                            return Err(unsupported("64-bit tables"));
                        }
                        info.tables.push(t.ty);
                        info.table_inits.push(match t.init {
                            wasmparser::TableInit::RefNull => None,
                            wasmparser::TableInit::Expr(e) => Some(e),
                        });
                    }
                }
                Payload::MemorySection(s) => {
                    for m in s {
                        let m = m?;
                        check_memory(&m)?;
                        info.memories.push(m);
                    }
                }
                Payload::TagSection(s) => {
                    for t in s {
                        info.tags.push(t?);
                    }
                }
                Payload::GlobalSection(s) => {
                    for g in s {
                        let g = g?;
                        check_global(&g.ty)?;
                        info.globals.push(g.ty);
                        info.defined_globals.push(DefinedGlobal {
                            ty: g.ty,
                            init: g.init_expr,
                        });
                    }
                }
                Payload::ExportSection(s) => {
                    for e in s {
                        info.exports.push(e?);
                    }
                }
                Payload::StartSection { func, .. } => info.start = Some(func),
                Payload::ElementSection(s) => {
                    for e in s {
                        info.elements.push(e?);
                    }
                }
                Payload::DataSection(s) => {
                    for d in s {
                        info.datas.push(d?);
                    }
                }
                Payload::CodeSectionEntry(body) => info.bodies.push(body),
                _ => {}
            }
        }
        Ok(info)
    }

    /// The type of function `func` (imports first).
    ///
    /// Errors: an internal error for an index out of range (bodies are validated first).
    pub fn func_type(&self, func: u32) -> Result<&FuncType> {
        let ty = self
            .funcs
            .get(func as usize)
            .with_context(|| format!("internal error: function {func} is out of range"))?;
        self.type_func(*ty)
    }

    /// Whether the module's rec group `group` (a range of type indices) is `target`, a rec
    /// group whose types refer only to each other: the same types in the same order, finality
    /// and supertypes, references inside the group at the same positions. A group that
    /// refers to a type outside itself is not. (Wasm GC's canonicalization makes two such
    /// groups, and each of their types, one.)
    pub fn rec_group_is(
        &self,
        group: &std::ops::Range<u32>,
        target: &[wasm_encoder::SubType],
    ) -> bool {
        use wasm_encoder::reencode::{self, Reencode};
        /// Renumbers type indices relative to the group, noting any outside it.
        struct Relative {
            group: std::ops::Range<u32>,
            outside: bool,
        }
        impl Reencode for Relative {
            type Error = std::convert::Infallible;
            fn type_index(&mut self, i: u32) -> Result<u32, reencode::Error<Self::Error>> {
                if self.group.contains(&i) {
                    Ok(i - self.group.start)
                } else {
                    self.outside = true;
                    Ok(u32::MAX)
                }
            }
        }
        if group.len() != target.len() {
            return false;
        }
        let mut relative = Relative {
            group: group.clone(),
            outside: false,
        };
        for (t, expected) in group.clone().zip(target) {
            let (Some(inner), Some(shape)) =
                (self.types.get(t as usize), self.type_shapes.get(t as usize))
            else {
                return false;
            };
            let composite = wasmparser::CompositeType {
                inner: inner.clone(),
                shared: false,
                descriptor_idx: None,
                describes_idx: None,
            };
            let Ok(composite_type) = relative.composite_type(composite) else {
                return false;
            };
            let supertype_idx = shape
                .supertype
                .map(|s| relative.type_index(s).unwrap_or(u32::MAX));
            let sub = wasm_encoder::SubType {
                is_final: shape.is_final,
                supertype_idx,
                composite_type,
            };
            // `SubType` has no `PartialEq`; its `Debug` form shows every field.
            if relative.outside || format!("{sub:?}") != format!("{expected:?}") {
                return false;
            }
        }
        true
    }

    /// Function type `ty`.
    ///
    /// Errors: an internal error when `ty` is out of range or not a function type (validation
    /// rules both out wherever a function type is expected).
    pub fn type_func(&self, ty: u32) -> Result<&FuncType> {
        match self.types.get(ty as usize) {
            Some(CompositeInnerType::Func(f)) => Ok(f),
            _ => bail!("internal error: type {ty} is not a function type"),
        }
    }

    /// The element type of table `table` (imported or defined).
    pub fn table_type(&self, table: u32) -> Result<wasmparser::RefType> {
        let table = self
            .tables
            .get(table as usize)
            .with_context(|| format!("internal error: table {table} is out of range"))?;
        Ok(table.element_type)
    }

    /// The element type of element segment `elem` (`funcref` for a list of functions).
    pub fn element_type(&self, elem: u32) -> Result<wasmparser::RefType> {
        let segment = self
            .elements
            .get(elem as usize)
            .with_context(|| format!("internal error: element segment {elem} is out of range"))?;
        Ok(match &segment.items {
            wasmparser::ElementItems::Functions(_) => wasmparser::RefType::FUNCREF,
            wasmparser::ElementItems::Expressions(ty, _) => *ty,
        })
    }

    /// The module's defined tables that every instance of it holds the same functions in, for
    /// good, by table index (`None` for the others and for imported tables).
    ///
    /// A table qualifies when its element type is `funcref`, its initial size is at most
    /// `runtime_structs::MAX_TABLE_ELEMENTS`, it has no initializer expression,
    /// no export names it, the only instructions that name it are `call_indirect`,
    /// `return_call_indirect` and `table.size`, and every active element segment into it has
    /// an `i32.const` offset, lies within the table's initial size and holds only the
    /// module's own (defined) functions and nulls. Such a table's contents depend on the
    /// module alone, not on the instance, and only the module's own code calls through it, so
    /// one output table can stand for it in every instance, with the caller's vmctx passed to
    /// the function called (clang and rustc's `__indirect_function_table` of a module that does
    /// not export it has this shape).
    ///
    /// Errors: the operator reader's, for a malformed body.
    pub fn static_tables(&self) -> Result<Vec<Option<StaticTable>>> {
        use wasmparser::{ElementKind, Operator as O};
        let nimp = self.num_imported_tables as usize;
        let mut tables: Vec<Option<StaticTable>> = self
            .tables
            .iter()
            .enumerate()
            .map(|(t, tt)| {
                // A table beyond the runtime's limit keeps its box, where instantiating it
                // traps as before (V8 rejects a module that declares such a table).
                let candidate = t >= nimp
                    && tt.element_type == wasmparser::RefType::FUNCREF
                    && !tt.table64
                    && !tt.shared
                    && tt.initial <= u64::from(runtime_structs::MAX_TABLE_ELEMENTS)
                    && self.table_inits[t - nimp].is_none();
                candidate.then(|| StaticTable {
                    segments: Vec::new(),
                })
            })
            .collect();
        if tables.iter().all(Option::is_none) {
            return Ok(tables);
        }
        for e in &self.exports {
            if e.kind == wasmparser::ExternalKind::Table
                && let Some(t) = tables.get_mut(e.index as usize)
            {
                *t = None;
            }
        }
        for seg in &self.elements {
            let ElementKind::Active {
                table_index,
                offset_expr,
            } = &seg.kind
            else {
                continue;
            };
            let t = table_index.unwrap_or(0) as usize;
            let Some(Some(table)) = tables.get_mut(t) else {
                continue;
            };
            let items = self.static_items(&seg.items)?;
            let offset = const_i32(offset_expr);
            let fits = |offset: u32, items: &Vec<Option<u32>>| {
                u64::from(offset) + items.len() as u64 <= self.tables[t].initial
            };
            match (offset, items) {
                (Some(offset), Some(items)) if fits(offset, &items) => {
                    table.segments.push((offset, items));
                }
                _ => tables[t] = None,
            }
        }
        for body in &self.bodies {
            let mut reader = body.get_operators_reader()?;
            while !reader.eof() {
                let named = match reader.read()? {
                    O::CallIndirect { .. } | O::ReturnCallIndirect { .. } | O::TableSize { .. } => {
                        continue;
                    }
                    O::TableGet { table }
                    | O::TableSet { table }
                    | O::TableFill { table }
                    | O::TableGrow { table }
                    | O::TableInit { table, .. } => [Some(table), None],
                    O::TableCopy {
                        dst_table,
                        src_table,
                    } => [Some(dst_table), Some(src_table)],
                    O::TableAtomicGet { table_index, .. }
                    | O::TableAtomicSet { table_index, .. }
                    | O::TableAtomicRmwXchg { table_index, .. }
                    | O::TableAtomicRmwCmpxchg { table_index, .. } => [Some(table_index), None],
                    _ => continue,
                };
                for t in named.into_iter().flatten() {
                    if let Some(slot) = tables.get_mut(t as usize) {
                        *slot = None;
                    }
                }
            }
        }
        Ok(tables
            .into_iter()
            .map(|t| t.map(StaticTable::merged))
            .collect())
    }

    /// The items of an element segment as defined functions and nulls, or `None` when one is
    /// anything else (an imported function, another constant expression).
    fn static_items(
        &self,
        items: &wasmparser::ElementItems<'_>,
    ) -> Result<Option<Vec<Option<u32>>>> {
        let nimp = self.num_imported_funcs;
        let mut out = Vec::new();
        match items {
            wasmparser::ElementItems::Functions(r) => {
                for f in r.clone() {
                    let f = f?;
                    if f < nimp {
                        return Ok(None);
                    }
                    out.push(Some(f));
                }
            }
            wasmparser::ElementItems::Expressions(_, r) => {
                for e in r.clone() {
                    let mut ops = e?.get_operators_reader();
                    let item = match (ops.read()?, ops.read()?) {
                        (
                            wasmparser::Operator::RefFunc { function_index },
                            wasmparser::Operator::End,
                        ) if function_index >= nimp => Some(function_index),
                        (wasmparser::Operator::RefNull { .. }, wasmparser::Operator::End) => None,
                        _ => return Ok(None),
                    };
                    out.push(item);
                }
            }
        }
        Ok(Some(out))
    }

    /// Number of defined functions.
    pub fn num_defined_funcs(&self) -> u32 {
        self.funcs.len() as u32 - self.num_imported_funcs
    }
}

fn check_memory(m: &MemoryType) -> Result<()> {
    if m.shared {
        return Err(unsupported("shared memories"));
    }
    if m.memory64 {
        return Err(unsupported("64-bit memories (memory64)"));
    }
    if m.page_size_log2.is_some_and(|p| p != 16) {
        return Err(unsupported("custom page sizes"));
    }
    Ok(())
}

fn check_global(g: &GlobalType) -> Result<()> {
    if g.shared {
        return Err(unsupported("shared globals"));
    }
    if matches!(g.content_type, wasmparser::ValType::V128) {
        bail!(not_yet("v128 globals"));
    }
    Ok(())
}

/// A table that [`ModuleInfo::static_tables`] found to hold the same functions in every
/// instance, for good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticTable {
    /// The active segments that fill it, in order: the offset (elements) and, per element,
    /// the function (a defined function's index in the module) or `None` for a null. Once
    /// [`ModuleInfo::static_tables`] returns, one segment: the table's contents after all of
    /// them, applied in order (a later one overwrites an earlier one), from the first element
    /// one writes to the last; none when no segment writes to the table.
    pub segments: Vec<(u32, Vec<Option<u32>>)>,
}

impl StaticTable {
    /// The table with its segments merged into one (see [`StaticTable::segments`]).
    fn merged(self) -> StaticTable {
        let start = self.segments.iter().map(|(o, _)| *o).min();
        let end = self
            .segments
            .iter()
            .map(|(o, items)| *o as usize + items.len())
            .max();
        let (Some(start), Some(end)) = (start, end) else {
            return self;
        };
        let mut contents = vec![None; end - start as usize];
        for (offset, items) in &self.segments {
            let at = (offset - start) as usize;
            contents[at..at + items.len()].copy_from_slice(items);
        }
        StaticTable {
            segments: vec![(start, contents)],
        }
    }
}

/// The value of a constant expression that is one `i32.const`.
fn const_i32(e: &ConstExpr<'_>) -> Option<u32> {
    let mut ops = e.get_operators_reader();
    match (ops.read().ok()?, ops.read().ok()?) {
        (wasmparser::Operator::I32Const { value }, wasmparser::Operator::End) => Some(value as u32),
        _ => None,
    }
}
