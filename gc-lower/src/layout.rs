//! The layouts every phase of the back end shares: typed indices of the output module, where
//! each static module's items went ([`ModuleLayout`]), the vmctx of a reified module
//! ([`Vmctx`]) and what a function reference or an imported item resolves to; and
//! [`Renumber`], which moves an unreified module's indices into the output's index spaces.

use anyhow::{Result, anyhow};
use runtime_structs::CLOSURE;
use wasm_encoder as we;
use wasm_encoder::reencode::{self, Reencode};
use wasmtime_environ::component::RuntimeInstanceIndex;
use wasmtime_environ::wasmparser as wp;

/// A function of the output module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OutFunc(pub u32);
/// A global of the output module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OutGlobal(pub u32);
/// A type of the output module: one of gc-lower's runtime types (`runtime_structs`, the
/// first rec group) or one the lowering adds after them (function types, vmctxs, arrays of
/// instances).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OutType(pub u32);

/// The most fields a vmctx struct may have: Wasm GC's limit on struct fields (wasmparser's
/// `MAX_WASM_STRUCT_FIELDS`, which engines share).
pub const MAX_VMCTX_FIELDS: usize = 10_000;

/// Where a reified instance's vmctx is kept once the instantiation routine has built it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstanceSlot {
    /// A global `(ref null $vmctx)` (`$instanceN`): the module is instantiated fewer than
    /// [`crate::assemble::INSTANCE_ARRAY_MIN`] times.
    Global(OutGlobal),
    /// Element `index` of the immutable global `(ref $array)` of type `ty`, `(array (mut (ref
    /// null $vmctx)))`, one per module instantiated at least
    /// [`crate::assemble::INSTANCE_ARRAY_MIN`] times (`$instances:mN`), so that
    /// the instantiation routine builds runs of instances of one module in a loop.
    Array {
        /// The global holding the array.
        global: OutGlobal,
        /// The array type.
        ty: OutType,
        /// The instance's element, in elements.
        index: u32,
    },
}

impl InstanceSlot {
    /// The instructions that push the vmctx (`[] -> [(ref null $vmctx)]`).
    pub fn push_vmctx(self) -> Vec<we::Instruction<'static>> {
        match self {
            InstanceSlot::Global(g) => vec![we::Instruction::GlobalGet(g.0)],
            InstanceSlot::Array { global, ty, index } => vec![
                we::Instruction::GlobalGet(global.0),
                we::Instruction::I32Const(index as i32),
                we::Instruction::ArrayGet(ty.0),
            ],
        }
    }
}

/// What a core function reference finally calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FuncTarget {
    /// An output function with the original signature (unreified module, host import,
    /// trampoline).
    Plain(OutFunc),
    /// A function of a reified module: called with `instance`'s vmctx as the last argument.
    Reified {
        /// The function, whose last parameter is the vmctx.
        func: OutFunc,
        /// The instance whose vmctx it takes.
        instance: RuntimeInstanceIndex,
    },
}

impl FuncTarget {
    /// The reified instance whose vmctx the function takes, or `None` for a plain function
    /// (a closure of it holds a null context).
    pub fn instance(self) -> Option<RuntimeInstanceIndex> {
        match self {
            FuncTarget::Plain(_) => None,
            FuncTarget::Reified { instance, .. } => Some(instance),
        }
    }
}

/// Where a memory or table of some instance lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StateTarget {
    /// A memory/table of the output module.
    Native(u32),
    /// The box in field `field` of `instance`'s vmctx.
    Boxed {
        /// The reified instance.
        instance: RuntimeInstanceIndex,
        /// The vmctx field holding the box.
        field: u32,
    },
    /// A memory of a core instance that the module-graph form's trampolines module, which is
    /// instantiated before every core instance, reaches through the accessor functions of
    /// `crate::module_graph` (loads, stores and `memory.copy` as calls through its `late`
    /// table).
    Late(LateMemory),
}

/// A memory that the module-graph form's trampolines module reaches late: an index into
/// [`crate::assemble::LateFuncs::memories`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LateMemory(pub u32);

/// Where a global of some instance lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GlobalTarget {
    /// A global of the output module.
    Native(OutGlobal),
    /// A field of `instance`'s vmctx, holding the value or (`boxed`) a box shared by
    /// reference.
    Field {
        /// The reified instance.
        instance: RuntimeInstanceIndex,
        /// The vmctx field.
        field: u32,
        /// Whether the field holds a `BOX_*` reference rather than the value.
        boxed: bool,
    },
}

/// How reified code reaches a global of its module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GlobalSlot {
    /// Every instance uses the same output global.
    Static(OutGlobal),
    /// The value lives in a vmctx field.
    Value(u32),
    /// A `BOX_*` reference lives in a vmctx field.
    Boxed {
        /// The vmctx field.
        field: u32,
        /// The box type.
        box_ty: OutType,
    },
}

/// How reified code calls an imported function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportedFunc {
    /// Every instance calls the same target.
    Static(FuncTarget),
    /// A closure in a vmctx field.
    Dynamic(u32),
}

/// The vmctx struct of a reified module: one field per memory, table, per-instance global,
/// dynamically bound import and materialized element segment, and one field for the lengths
/// of all data segments.
///
/// Wasm GC allows at most [`MAX_VMCTX_FIELDS`] fields in a struct; a module that would need
/// more is rejected as unsupported, naming the limit.
#[derive(Debug, Default, Clone)]
pub struct Vmctx {
    /// The struct type.
    pub ty: OutType,
    /// Field types, in field order.
    pub fields: Vec<we::FieldType>,
    /// Each memory (imports first). Memory `i` always owns field `i`, `(ref null $membox)`,
    /// which stays null for a [`MemSlot::Native`] memory.
    pub memories: Vec<MemSlot>,
    /// Each table (imports first).
    pub tables: Vec<TabSlot>,
    /// Slot of each global (imports first).
    pub globals: Vec<GlobalSlot>,
    /// Each imported function.
    pub imported_funcs: Vec<ImportedFunc>,
    /// The field holding the instance's data segment lengths, when the module has data
    /// segments: `(ref null $handles)`, an `(array (mut i32))` whose element `d` is the length
    /// in bytes of data segment `d`, 0 once dropped or applied.
    pub datas: Option<u32>,
    /// The output data segment holding the initial lengths (little-endian `i32`s: a passive
    /// segment's length, 0 for an active one), from which each instance's array is made.
    pub data_lengths: u32,
    /// The function `(param (ref null $vmctx))` that applies every active data segment to an
    /// instance in a loop, when the module's active segments allow it (every one with a
    /// constant offset, into one memory reached through the vmctx).
    pub data_init: Option<OutFunc>,
    /// Field of each element segment: `(ref null $funcs)`, null once dropped or applied.
    pub elems: Vec<u32>,
    /// The fields that code changes after instantiation: globals held by value and element
    /// segments. The instance's constructor sets every other field once.
    pub changing: std::collections::HashSet<u32>,
    /// Each tag (imports first): see [`TagSlot`].
    pub tags: Vec<TagSlot>,
}

/// How the code of a reified module names one of its tags. Tags are generative: each
/// instance of a module that defines one has its own, which `catch` tells apart. Every instance
/// of a reified module shares its code, so a tag it defines becomes one output tag with an
/// extra last parameter, the *identity* of the instance that defines it (its vmctx, an
/// `eqref`): `throw` passes it, and a `catch` of the tag catches the output tag, compares the
/// identity with the one its instance names, and passes the exception on to the clauses after
/// it when they differ (`crate::exceptions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagSlot {
    /// A tag the module defines; its identity is this instance's vmctx.
    Own {
        /// The output tag.
        tag: u32,
    },
    /// An imported tag; its identity is the defining instance's vmctx, which the importing
    /// instance's constructor stores in a vmctx field.
    Field {
        /// The output tag (the defining module's).
        tag: u32,
        /// The field (`(ref null eq)`).
        field: u32,
    },
}

impl TagSlot {
    /// The output tag.
    pub fn tag(self) -> u32 {
        match self {
            TagSlot::Own { tag } | TagSlot::Field { tag, .. } => tag,
        }
    }
}

impl Vmctx {
    /// The type of field `field` when it holds a reference that never changes after
    /// instantiation (a memory, table or global box, a bound import's closure, the data
    /// segment lengths), which a function may therefore load once, at entry, into a local:
    /// each load of a reference from the heap costs a read barrier on some engines
    /// (wasmtime's DRC collector), so loading it once makes the code smaller and faster.
    pub fn fixed_reference(&self, field: u32) -> Option<we::ValType> {
        if self.changing.contains(&field) {
            return None;
        }
        match self.fields.get(field as usize)?.element_type {
            we::StorageType::Val(ty @ we::ValType::Ref(_)) => Some(ty),
            _ => None,
        }
    }

    /// Adds a mutable field of type `ty`; returns its index.
    pub(crate) fn add(&mut self, ty: we::ValType) -> u32 {
        let index = self.fields.len() as u32;
        self.fields.push(we::FieldType {
            element_type: we::StorageType::Val(ty),
            mutable: true,
        });
        index
    }
}

/// How the code of a reified module reaches one of its memories.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemSlot {
    /// Through the box in this vmctx field.
    Field(u32),
    /// Directly: an imported memory that every instance binds to this native output memory.
    Native(u32),
}

/// How the code of a reified module reaches one of its tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TabSlot {
    /// Through the box in this vmctx field: `(ref null $tablebox)` or its `externref` form.
    Field(u32),
    /// Directly: output `funcref` table holding the module's functions themselves, the same
    /// in every instance (see `ModuleInfo::static_tables`). `call_indirect` through it passes
    /// the caller's vmctx.
    Static(u32),
}

impl TabSlot {
    /// The vmctx field of a boxed table; an internal error for a static one, which only
    /// `call_indirect` and `table.size` reach.
    pub fn field(self) -> Result<u32> {
        match self {
            TabSlot::Field(f) => Ok(f),
            TabSlot::Static(t) => Err(anyhow!(
                "internal error: static output table {t} reached as a boxed table"
            )),
        }
    }
}

/// Where a static module's items went in the output.
#[derive(Debug, Default, Clone)]
pub struct ModuleLayout {
    /// Whether its state is reified.
    pub reified: bool,
    /// Output index of its first defined function.
    pub func_base: u32,
    /// Output type of each module type: the module's rec groups mirrored into the output
    /// (func types, with `funcref` reified when `reified`; see [`crate::assemble::TypeForm`]).
    pub types: Vec<OutType>,
    /// Output type of each defined function as emitted (with the vmctx parameter when reified).
    pub defined_sigs: Vec<OutType>,
    /// Unreified: output index of each memory (imports resolved).
    pub memories: Vec<u32>,
    /// Unreified: output index of each table.
    pub tables: Vec<u32>,
    /// Unreified: output index of each global.
    pub globals: Vec<u32>,
    /// Output index of each tag.
    pub tags: Vec<u32>,
    /// Output index of the module's first data segment.
    pub data_base: u32,
    /// Unreified: output index of the module's first element segment.
    pub elem_base: u32,
    /// Unreified: static target of each imported function.
    pub imported_funcs: Vec<FuncTarget>,
    /// Reified: the vmctx layout.
    pub vmctx: Option<Vmctx>,
    /// Reified, until the vmctx is laid out: each table's [`crate::module_info::StaticTable`]
    /// when it is one.
    pub static_tables: Vec<Option<crate::module_info::StaticTable>>,
}

/// Renumbers a module's indices into the output's index spaces. Indices that have no static
/// output counterpart (state of reified modules) are errors: the body loop rewrites those
/// instructions before they get here.
pub struct Renumber<'l> {
    /// Where the module's items went.
    pub layout: &'l ModuleLayout,
    /// The module's number of imported functions.
    pub num_imported_funcs: u32,
    /// The module's types (a reified module's references to its function types are typed
    /// function references, which it does not support).
    pub types: &'l [wp::CompositeInnerType],
}

/// `items[index]`; an index out of range is an internal error (bodies are validated before the
/// rewrite, so every index in them is in range).
pub(crate) fn slot<T: Copy>(items: &[T], what: &str, index: u32) -> Result<T> {
    items.get(index as usize).copied().ok_or_else(|| {
        anyhow!("internal error: {what} {index} is out of range in a validated function body")
    })
}

fn missing(what: &str, index: u32) -> reencode::Error<String> {
    reencode::Error::UserError(format!("{what} {index}"))
}

impl Reencode for Renumber<'_> {
    type Error = String;

    fn type_index(&mut self, ty: u32) -> Result<u32, reencode::Error<String>> {
        self.layout
            .types
            .get(ty as usize)
            .map(|t| t.0)
            .ok_or_else(|| missing("type", ty))
    }

    fn function_index(&mut self, f: u32) -> Result<u32, reencode::Error<String>> {
        if f >= self.num_imported_funcs {
            return Ok(self.layout.func_base + f - self.num_imported_funcs);
        }
        match self.layout.imported_funcs.get(f as usize) {
            Some(FuncTarget::Plain(o)) => Ok(o.0),
            _ => Err(missing("function", f)),
        }
    }

    fn global_index(&mut self, g: u32) -> Result<u32, reencode::Error<String>> {
        if self.layout.reified {
            return Err(missing("global of a reified module:", g));
        }
        self.layout
            .globals
            .get(g as usize)
            .copied()
            .ok_or_else(|| missing("global", g))
    }

    fn memory_index(&mut self, m: u32) -> Result<u32, reencode::Error<String>> {
        if self.layout.reified {
            // Only memories that every instance reaches directly keep native instructions.
            return match self
                .layout
                .vmctx
                .as_ref()
                .map(|v| v.memories.get(m as usize))
            {
                Some(Some(MemSlot::Native(x))) => Ok(*x),
                _ => Err(missing("memory of a reified module:", m)),
            };
        }
        self.layout
            .memories
            .get(m as usize)
            .copied()
            .ok_or_else(|| missing("memory", m))
    }

    fn table_index(&mut self, t: u32) -> Result<u32, reencode::Error<String>> {
        if self.layout.reified {
            return Err(missing("table of a reified module:", t));
        }
        self.layout
            .tables
            .get(t as usize)
            .copied()
            .ok_or_else(|| missing("table", t))
    }

    fn tag_index(&mut self, t: u32) -> Result<u32, reencode::Error<String>> {
        self.layout
            .tags
            .get(t as usize)
            .copied()
            .ok_or_else(|| missing("tag", t))
    }

    fn data_index(&mut self, d: u32) -> Result<u32, reencode::Error<String>> {
        Ok(self.layout.data_base + d)
    }

    fn element_index(&mut self, e: u32) -> Result<u32, reencode::Error<String>> {
        if self.layout.reified {
            return Err(missing("element segment of a reified module:", e));
        }
        Ok(self.layout.elem_base + e)
    }

    fn heap_type(&mut self, ht: wp::HeapType) -> Result<we::HeapType, reencode::Error<String>> {
        if self.layout.reified {
            match ht {
                wp::HeapType::Abstract {
                    shared: false,
                    ty: wp::AbstractHeapType::Func,
                } => {
                    return Ok(we::HeapType::Concrete(CLOSURE));
                }
                wp::HeapType::Abstract {
                    ty: wp::AbstractHeapType::NoFunc,
                    ..
                } => {
                    return Ok(we::HeapType::Abstract {
                        shared: false,
                        ty: we::AbstractHeapType::None,
                    });
                }
                wp::HeapType::Concrete(i)
                    if i.as_module_index()
                        .and_then(|i| self.types.get(i as usize))
                        .is_some_and(|t| !matches!(t, wp::CompositeInnerType::Func(_))) => {}
                // A typed function reference is a closure, as `funcref` is
                // (`crate::assemble::Lowerer::module_types`).
                wp::HeapType::Concrete(_) => {
                    return Ok(we::HeapType::Concrete(CLOSURE));
                }
                wp::HeapType::Exact(_) => {
                    return Err(reencode::Error::UserError(
                        "exact references (custom descriptors) in a reified module".into(),
                    ));
                }
                _ => {}
            }
        }
        reencode::utils::heap_type(self, ht)
    }
}

/// What a template's free parts stand for in one use.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Binding {
    /// Memory `i` of the template.
    pub memories: Vec<StateTarget>,
    /// The output types of the template's struct and array types, which it declares first.
    pub types: Vec<u32>,
    /// The template's imported functions.
    pub imports: Vec<OutFunc>,
    /// The template's imported globals (by index), as output global indices.
    pub globals: Vec<u32>,
}
