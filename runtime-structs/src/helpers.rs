//! Wasm helper functions that stand in for core memory and table instructions.
//!
//! The rewriter replaces each core memory/table instruction of a reified module with a `call` to
//! one of these helpers. The helpers are self-contained: their bodies name only the types of
//! [`rec_group`](crate::rec_group) (by absolute index), and the only function one calls is
//! another helper, a load's or store's slow path ([`Helper::callee`]), whose index the fuser
//! passes to [`helper`].
//!
//! Calling convention: parameters are in *stack order*. The rewriter leaves the instruction's own
//! operands on the stack, then pushes the box reference(s) and, for loads and stores, the static
//! memarg offset as an `i64.const`, then calls. Boxes are nullable references (`M` = `(ref null
//! $membox)`, `T` = `(ref null $tablebox)`, `C` = `(ref null $closure)`); a null box is a broken
//! rewriter invariant and traps with the engine's null-reference trap.
//!
//! Every trap a helper raises for a core wasm trap condition is `unreachable`, raised *before* any
//! state is modified (a memory's contents, and its box's array and bound), at exactly the
//! conditions of the core instruction (an access or range that
//! ends exactly at the end is fine, one byte/element further traps). Range arithmetic is done in
//! `i64`, so `addr + offset` and `d + n` never wrap.
//!
//! Known imprecisions against core wasm:
//! - a memory is one GC array, so it cannot reach 4 GiB: `memory.grow` returns -1 when the
//!   new size would exceed [`MAX_MEMORY_BYTES`], and [`Helper::MemoryNew`] traps for such a size;
//! - `table.grow` returns -1 beyond [`MAX_TABLE_ELEMENTS`] elements, where a core table without
//!   a maximum may grow further (as far as the host allows);
//! - an engine that cannot allocate a (large) GC array traps at the first access that needs it
//!   ([`Helper::MemoryTouch`]), or on entry to a loop whose accesses are inline
//!   ([`Helper::MemoryWhole`] extends the array to the whole memory), where core
//!   `memory.grow` would have returned -1.
//!
//! A memory's word array holds the bytes below the highest address accessed so far, rounded up
//! geometrically (its bound, [`field::MEMBOX_BOUND`], is the smaller of its length and the
//! memory's size); the rest of the memory is zero, except for the sparse pages that a load's or
//! store's slow path reads and writes instead of extending the array when the access is far past
//! it ([`SPARSE_FROM_BYTES`]; allocated on first write, moved into the array when it is extended
//! over them). Zero-length bulk operations extend nothing.
//! `memory.grow` only raises the size, and an access past the bound first extends the array
//! (geometrically), so a memory costs what its program touches, not what it declares, and
//! instantiating one costs its data segments. Loops whose accesses gc-lower emits inline first
//! extend the array to the whole memory ([`Helper::MemoryWhole`]).
//!
//! ```wat
//! ;; core
//! (i64.store16 offset=8 (local.get $p) (local.get $v))
//! ;; reified: operands stay, then the box and the offset
//! (call $gc-lower:i64.store16 (local.get $p) (local.get $v)
//!   (struct.get $vmctx $memory0 (local.get $vmctx)) (i64.const 8))
//! ```

use wasm_encoder::{BlockType, FuncType, Function, HeapType, InstructionSink, RefType, ValType};

use crate::layout::{
    BYTES, CLOSURE, EXTERN_TABLEBOX, EXTERNS, FUNCS, MEMBOX, SPARSE, TABLEBOX, WORDS, field,
    ref_non_null, ref_null,
};
use crate::words::{StoreValue, convert_store_value, push_load, push_store};

/// The largest logical memory size, in bytes, that a reified memory can have: the largest length
/// of one GC array (`u32::MAX` elements).
pub const MAX_MEMORY_BYTES: u64 = u32::MAX as u64;

/// The length, in bytes, past which an access does not double the word array while the end it
/// needs fits within it (16 383 pages): extending an array of 8 192 pages to hold a byte of
/// page 8 193 allocates 16 383 pages, not 16 384. V8 allocated no `i8` array of 1 GiB or more (its
/// largest was 2^30 - 25 bytes; its limit is in bytes, whatever the element type) and
/// JavaScriptCore none above 1 GiB, so a doubling past this would trap on
/// them where the size asked for still fits.
pub const GEOMETRIC_GROWTH_CAP: u64 = 16_383 * PAGE_SIZE as u64;

/// How far up an access must be before it may use the memory's sparse pages
/// ([`SPARSE`]) instead of extending the word array: an access (by a helper's
/// slow path) whose 64 KiB page starts at or past both this many bytes and twice the word
/// array's length in bytes reads and writes that page, allocated on its first write (a read of
/// a page never written is zero). So a few words written high in a large memory cost a page
/// each, not an array up to them; an access nearer the array, a bulk operation over the page,
/// or a loop with inline accesses on the memory extends the array instead, which then takes
/// the pages it covers in.
pub const SPARSE_FROM_BYTES: u64 = 16 << 20;

/// The elements of one sparse page: 64 KiB in [`WORDS`](crate::WORDS) elements of 4 bytes.
const SPARSE_PAGE_ELEMS: i32 = (PAGE_SIZE / 4) as i32;

/// The largest size, in elements, that `table.grow` lets a reified table reach.
pub const MAX_TABLE_ELEMENTS: u32 = 10_000_000;

/// The bytes in one wasm page.
pub const PAGE_SIZE: u32 = 65536;

/// The granule, in bytes, of a memory's word array: its length is always a multiple of this,
/// and an access that extends it rounds its end up to one. A granule smaller than a page keeps
/// the many small instances of a component that touch a few bytes each from paying a page each
/// (8 192 instances writing one word: 32 MiB of arrays at 4 KiB, 512 MiB at a page; BENCHMARKS.md,
/// "Array granule"). It divides [`PAGE_SIZE`], so a memory's size is a whole number of granules.
pub const ARRAY_GRANULE: u32 = 4096;

/// log2 of [`PAGE_SIZE`].
const PAGE_SHIFT: i64 = 16;

/// A core load instruction; one [`Helper::Load`] exists for each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LoadKind {
    /// `i32.load`
    I32Load,
    /// `i64.load`
    I64Load,
    /// `f32.load`
    F32Load,
    /// `f64.load`
    F64Load,
    /// `i32.load8_s`
    I32Load8S,
    /// `i32.load8_u`
    I32Load8U,
    /// `i32.load16_s`
    I32Load16S,
    /// `i32.load16_u`
    I32Load16U,
    /// `i64.load8_s`
    I64Load8S,
    /// `i64.load8_u`
    I64Load8U,
    /// `i64.load16_s`
    I64Load16S,
    /// `i64.load16_u`
    I64Load16U,
    /// `i64.load32_s`
    I64Load32S,
    /// `i64.load32_u`
    I64Load32U,
}

impl LoadKind {
    /// Every load kind.
    pub const ALL: [LoadKind; 14] = [
        LoadKind::I32Load,
        LoadKind::I64Load,
        LoadKind::F32Load,
        LoadKind::F64Load,
        LoadKind::I32Load8S,
        LoadKind::I32Load8U,
        LoadKind::I32Load16S,
        LoadKind::I32Load16U,
        LoadKind::I64Load8S,
        LoadKind::I64Load8U,
        LoadKind::I64Load16S,
        LoadKind::I64Load16U,
        LoadKind::I64Load32S,
        LoadKind::I64Load32U,
    ];

    /// The instruction's text-format name, e.g. `i32.load8_u`.
    pub fn name(self) -> &'static str {
        match self {
            LoadKind::I32Load => "i32.load",
            LoadKind::I64Load => "i64.load",
            LoadKind::F32Load => "f32.load",
            LoadKind::F64Load => "f64.load",
            LoadKind::I32Load8S => "i32.load8_s",
            LoadKind::I32Load8U => "i32.load8_u",
            LoadKind::I32Load16S => "i32.load16_s",
            LoadKind::I32Load16U => "i32.load16_u",
            LoadKind::I64Load8S => "i64.load8_s",
            LoadKind::I64Load8U => "i64.load8_u",
            LoadKind::I64Load16S => "i64.load16_s",
            LoadKind::I64Load16U => "i64.load16_u",
            LoadKind::I64Load32S => "i64.load32_s",
            LoadKind::I64Load32U => "i64.load32_u",
        }
    }

    /// The number of bytes read.
    pub fn width(self) -> u32 {
        match self {
            LoadKind::I32Load8S
            | LoadKind::I32Load8U
            | LoadKind::I64Load8S
            | LoadKind::I64Load8U => 1,
            LoadKind::I32Load16S
            | LoadKind::I32Load16U
            | LoadKind::I64Load16S
            | LoadKind::I64Load16U => 2,
            LoadKind::I32Load | LoadKind::F32Load | LoadKind::I64Load32S | LoadKind::I64Load32U => {
                4
            }
            LoadKind::I64Load | LoadKind::F64Load => 8,
        }
    }

    /// The type of the loaded value.
    pub fn value_type(self) -> ValType {
        match self {
            LoadKind::I32Load
            | LoadKind::I32Load8S
            | LoadKind::I32Load8U
            | LoadKind::I32Load16S
            | LoadKind::I32Load16U => ValType::I32,
            LoadKind::I64Load
            | LoadKind::I64Load8S
            | LoadKind::I64Load8U
            | LoadKind::I64Load16S
            | LoadKind::I64Load16U
            | LoadKind::I64Load32S
            | LoadKind::I64Load32U => ValType::I64,
            LoadKind::F32Load => ValType::F32,
            LoadKind::F64Load => ValType::F64,
        }
    }

    /// Whether a narrow load sign-extends.
    pub(crate) fn signed(self) -> bool {
        matches!(
            self,
            LoadKind::I32Load8S
                | LoadKind::I32Load16S
                | LoadKind::I64Load8S
                | LoadKind::I64Load16S
                | LoadKind::I64Load32S
        )
    }
}

/// A core store instruction; one [`Helper::Store`] exists for each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StoreKind {
    /// `i32.store`
    I32Store,
    /// `i64.store`
    I64Store,
    /// `f32.store`
    F32Store,
    /// `f64.store`
    F64Store,
    /// `i32.store8`
    I32Store8,
    /// `i32.store16`
    I32Store16,
    /// `i64.store8`
    I64Store8,
    /// `i64.store16`
    I64Store16,
    /// `i64.store32`
    I64Store32,
}

impl StoreKind {
    /// Every store kind.
    pub const ALL: [StoreKind; 9] = [
        StoreKind::I32Store,
        StoreKind::I64Store,
        StoreKind::F32Store,
        StoreKind::F64Store,
        StoreKind::I32Store8,
        StoreKind::I32Store16,
        StoreKind::I64Store8,
        StoreKind::I64Store16,
        StoreKind::I64Store32,
    ];

    /// The instruction's text-format name, e.g. `i64.store16`.
    pub fn name(self) -> &'static str {
        match self {
            StoreKind::I32Store => "i32.store",
            StoreKind::I64Store => "i64.store",
            StoreKind::F32Store => "f32.store",
            StoreKind::F64Store => "f64.store",
            StoreKind::I32Store8 => "i32.store8",
            StoreKind::I32Store16 => "i32.store16",
            StoreKind::I64Store8 => "i64.store8",
            StoreKind::I64Store16 => "i64.store16",
            StoreKind::I64Store32 => "i64.store32",
        }
    }

    /// The number of bytes written.
    pub fn width(self) -> u32 {
        match self {
            StoreKind::I32Store8 | StoreKind::I64Store8 => 1,
            StoreKind::I32Store16 | StoreKind::I64Store16 => 2,
            StoreKind::I32Store | StoreKind::F32Store | StoreKind::I64Store32 => 4,
            StoreKind::I64Store | StoreKind::F64Store => 8,
        }
    }

    /// The type of the stored value operand.
    pub fn value_type(self) -> ValType {
        match self {
            StoreKind::I32Store | StoreKind::I32Store8 | StoreKind::I32Store16 => ValType::I32,
            StoreKind::I64Store
            | StoreKind::I64Store8
            | StoreKind::I64Store16
            | StoreKind::I64Store32 => ValType::I64,
            StoreKind::F32Store => ValType::F32,
            StoreKind::F64Store => ValType::F64,
        }
    }
}

/// The element kind of a reified table: which array and box types hold it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TableKind {
    /// A `funcref` table: `(ref null $closure)` elements in [`FUNCS`] behind a [`TABLEBOX`].
    Func,
    /// An `externref` table: `externref` elements in [`EXTERNS`] behind an [`EXTERN_TABLEBOX`].
    Extern,
    /// A table of another nullable reference type, `elem`, whose array `(array (mut elem))`
    /// and box (the fields of [`TABLEBOX`]) are types of the module that uses them, outside
    /// this rec group.
    Other {
        /// The element type.
        elem: ValType,
        /// The element array type.
        array: u32,
        /// The table box type.
        tablebox: u32,
    },
}

impl TableKind {
    /// Both kinds.
    pub const ALL: [TableKind; 2] = [TableKind::Func, TableKind::Extern];

    /// The element value type: `(ref null $closure)`, `externref`, or another's own.
    pub fn elem(self) -> ValType {
        match self {
            TableKind::Func => ref_null(CLOSURE),
            TableKind::Extern => ValType::Ref(RefType::EXTERNREF),
            TableKind::Other { elem, .. } => elem,
        }
    }

    /// The element array type: [`FUNCS`], [`EXTERNS`], or another's own.
    pub fn array(self) -> u32 {
        match self {
            TableKind::Func => FUNCS,
            TableKind::Extern => EXTERNS,
            TableKind::Other { array, .. } => array,
        }
    }

    /// The table box type: [`TABLEBOX`], [`EXTERN_TABLEBOX`] (same fields), or another's own.
    pub fn tablebox(self) -> u32 {
        match self {
            TableKind::Func => TABLEBOX,
            TableKind::Extern => EXTERN_TABLEBOX,
            TableKind::Other { tablebox, .. } => tablebox,
        }
    }

    /// The kind in helper names: `funcref`, `externref`, `array N` (its array type).
    pub fn label(self) -> String {
        match self {
            TableKind::Func => "funcref".to_string(),
            TableKind::Extern => "externref".to_string(),
            TableKind::Other { array, .. } => format!("array {array}"),
        }
    }

    /// `(ref null $box)` of [`Self::tablebox`].
    pub fn table_ref(self) -> ValType {
        ref_null(self.tablebox())
    }
}

/// One helper function. The signatures below are `(params) -> (results)` in stack order, with
/// `M` = `(ref null $membox)`, `T` = `(ref null $tablebox)`, `C` = `(ref null $closure)`.
/// Addresses and lengths of memories are in bytes, of tables in elements, sizes of memories in
/// pages of [`PAGE_SIZE`] bytes; all of them are u32 values in `i32`s.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Helper {
    /// `(addr i32, mem M, offset i64) -> value`: the load at effective address `addr + offset`
    /// (zero-extended, in i64; `offset` is the memarg's static u32 offset). Traps when
    /// `addr + offset + width > pages * 65536`.
    Load(LoadKind),
    /// `(addr i32, value V, mem M, offset i64)`: the store at `addr + offset`; an out-of-bounds
    /// store (even partly) traps and writes nothing.
    Store(StoreKind),
    /// [`Helper::Load`]'s slow path, same signature: the access ends past the box's bound, so
    /// the array is extended first ([`Helper::MemoryTouch`]'s code, inline). [`Helper::Load`]
    /// calls it out of line so that its own code holds nothing across that call and needs
    /// fewer callee-saved registers (on wasmtime 48, 3 saved and restored on every access
    /// instead of 5).
    LoadPastBound(LoadKind),
    /// [`Helper::Store`]'s slow path, same signature, as [`Helper::LoadPastBound`].
    StorePastBound(StoreKind),
    /// `(mem M) -> i32`: the size in pages.
    MemorySize,
    /// `(delta i32, mem M) -> i32`: grows by `delta` pages; returns the old size in pages, or -1
    /// (memory unchanged) when `old + delta` exceeds the maximum or [`MAX_MEMORY_BYTES`]. Only
    /// the logical size changes: the new pages are zero, beyond the word array until an access
    /// reaches them ([`Helper::MemoryTouch`]).
    MemoryGrow,
    /// `(d i32, val i32, n i32, mem M)`: `memory.fill`; traps when `d + n` exceeds the size in
    /// bytes.
    MemoryFill,
    /// `(d i32, s i32, n i32, dst M, src M)`: `memory.copy` (overlap-safe, also within one box);
    /// traps when either range is out of bounds.
    MemoryCopy,
    /// `(d i32, s i32, n i32, mem M, seg_len i32) -> (M, i32, i32, i32)`: the checks of
    /// `memory.init` against a data segment of `seg_len` bytes (0 once dropped), after which
    /// the memory holds `d .. d + n` ([`Helper::MemoryTouch`]); returns the box and `d s n`
    /// (`d` and `s` zero when `n` is) so that the caller follows with `array.new_data $BYTES
    /// $seg` and [`Helper::MemoryInitWrite`].
    MemoryInitCheck,
    /// `(mem M, d i32, bytes (ref $bytes))`: writes the bytes of the array at `d` of the memory,
    /// which already holds `d .. d + array.len` (the end of `memory.init` after
    /// [`Helper::MemoryInitCheck`]): whole elements where `d + i` is aligned, bytes elsewhere.
    MemoryInitWrite,
    /// `(i i32, t T) -> C`: `table.get`.
    TableGet(TableKind),
    /// `(i i32, v C, t T)`: `table.set`.
    TableSet(TableKind),
    /// `(t T) -> i32`: the size in elements.
    TableSize(TableKind),
    /// `(init C, delta i32, t T) -> i32`: `table.grow`; returns the old size, or -1 (table
    /// unchanged) when `old + delta` exceeds the maximum or [`MAX_TABLE_ELEMENTS`].
    TableGrow(TableKind),
    /// `(i i32, v C, n i32, t T)`: `table.fill`.
    TableFill(TableKind),
    /// `(d i32, s i32, n i32, dst T, src T)`: `table.copy`, overlap-safe.
    TableCopy(TableKind),
    /// `(d i32, s i32, n i32, t T, seg (ref null $funcs))`: `table.init` from a materialized
    /// passive element segment; a null `seg` is a dropped segment (length 0).
    TableInit(TableKind),
    /// `(d i32, s i32, n i32, dst T, src T')`: `table.copy` from a table of the second kind,
    /// whose element type is a subtype of the first's (validation ensures it), into one of
    /// the first (distinct tables: no overlap).
    TableCopyFrom(TableKind, TableKind),
    /// `(d i32, s i32, n i32, t T, seg (ref null $array'))`: `table.init` into a table of the
    /// first kind from a segment of the second, whose element type is a subtype of the
    /// first's.
    TableInitFrom(TableKind, TableKind),
    /// `(i i32, t T) -> (ref $closure)`: the element `call_indirect` calls; traps when `i` is out
    /// of bounds or the element is null. The caller checks the signature.
    TableGetForCall,
    /// `(pages i32, max_pages i32) -> (ref $membox)`: a new zeroed memory of `pages` pages (for
    /// the instantiation routine), with an empty word array; traps when `pages * 65536` exceeds
    /// [`MAX_MEMORY_BYTES`].
    MemoryNew,
    /// `(end i64, mem M) -> ((ref $words), i64)`: makes the word array hold bytes `0 .. end`
    /// of the memory and returns it with the box's new [`field::MEMBOX_BOUND`]; traps when `end`
    /// exceeds the size in bytes. The slow path of an inline load or store whose end passes the
    /// bound. The array grows geometrically: to `max(end rounded up to a granule, min(2 *
    /// old_len, max_pages * 65536, MAX_ARRAY_BYTES))` bytes (a granule is [`ARRAY_GRANULE`]),
    /// and no further than [`GEOMETRIC_GROWTH_CAP`] while `end` is within it.
    MemoryTouch,
    /// `(mem M) -> ((ref $words), i64)`: [`Helper::MemoryTouch`] of the whole memory: makes
    /// the word array hold all `pages * 65536` bytes and returns it with that size in bytes
    /// (the bound). Gives a function's inline accesses their array, before a loop that holds
    /// them and after what may replace it there.
    MemoryWhole,
    /// `(init C, size i32, max i32) -> (ref $tablebox)`: a new table of `size` elements set to
    /// `init` (for the instantiation routine); `max` as in [`field::TABLEBOX_MAX`].
    TableNew(TableKind),
}

impl Helper {
    /// The helper's function name, `gc-lower:` followed by the instruction it stands for, e.g.
    /// `gc-lower:i32.load8_u`, `gc-lower:memory.init_check`.
    pub fn name(self) -> String {
        let op = match self {
            Helper::Load(kind) | Helper::LoadPastBound(kind) => kind.name(),
            Helper::Store(kind) | Helper::StorePastBound(kind) => kind.name(),
            Helper::MemorySize => "memory.size",
            Helper::MemoryGrow => "memory.grow",
            Helper::MemoryFill => "memory.fill",
            Helper::MemoryCopy => "memory.copy",
            Helper::MemoryInitCheck => "memory.init_check",
            Helper::MemoryInitWrite => "memory.init_write",
            Helper::TableGet(_) => "table.get",
            Helper::TableSet(_) => "table.set",
            Helper::TableSize(_) => "table.size",
            Helper::TableGrow(_) => "table.grow",
            Helper::TableFill(_) => "table.fill",
            Helper::TableCopy(_) | Helper::TableCopyFrom(..) => "table.copy",
            Helper::TableInit(_) | Helper::TableInitFrom(..) => "table.init",
            Helper::TableGetForCall => "table.get_for_call",
            Helper::MemoryNew => "memory.new",
            Helper::MemoryTouch => "memory.touch",
            Helper::MemoryWhole => "memory.whole",
            Helper::TableNew(_) => "table.new",
        };
        match self {
            Helper::TableGet(TableKind::Extern)
            | Helper::TableSet(TableKind::Extern)
            | Helper::TableSize(TableKind::Extern)
            | Helper::TableGrow(TableKind::Extern)
            | Helper::TableFill(TableKind::Extern)
            | Helper::TableCopy(TableKind::Extern)
            | Helper::TableInit(TableKind::Extern)
            | Helper::TableNew(TableKind::Extern) => format!("gc-lower:{op}<externref>"),
            Helper::TableGet(TableKind::Other { array, .. })
            | Helper::TableSet(TableKind::Other { array, .. })
            | Helper::TableSize(TableKind::Other { array, .. })
            | Helper::TableGrow(TableKind::Other { array, .. })
            | Helper::TableFill(TableKind::Other { array, .. })
            | Helper::TableCopy(TableKind::Other { array, .. })
            | Helper::TableInit(TableKind::Other { array, .. })
            | Helper::TableNew(TableKind::Other { array, .. }) => {
                format!("gc-lower:{op}<array {array}>")
            }
            Helper::LoadPastBound(_) | Helper::StorePastBound(_) => {
                format!("gc-lower:{op}:past-bound")
            }
            Helper::TableCopyFrom(to, from) | Helper::TableInitFrom(to, from) => {
                format!("gc-lower:{op}<{} from {}>", to.label(), from.label())
            }
            _ => format!("gc-lower:{op}"),
        }
    }

    /// `table.copy` into a table of kind `to` from one of kind `from`: [`Helper::TableCopy`]
    /// when they are one kind, else [`Helper::TableCopyFrom`].
    pub fn table_copy(to: TableKind, from: TableKind) -> Helper {
        if to == from {
            Helper::TableCopy(to)
        } else {
            Helper::TableCopyFrom(to, from)
        }
    }

    /// `table.init` into a table of kind `to` from a segment array of kind `from`:
    /// [`Helper::TableInit`] when they are one kind, else [`Helper::TableInitFrom`].
    pub fn table_init(to: TableKind, from: TableKind) -> Helper {
        if to == from {
            Helper::TableInit(to)
        } else {
            Helper::TableInitFrom(to, from)
        }
    }

    /// The helper that this one calls, if any: a load or store calls its slow path. No other
    /// helper calls a function, and a slow path calls none.
    pub fn callee(self) -> Option<Helper> {
        match self {
            Helper::Load(kind) => Some(Helper::LoadPastBound(kind)),
            Helper::Store(kind) => Some(Helper::StorePastBound(kind)),
            _ => None,
        }
    }
}

/// A helper's signature and body, ready for the fuser's function, type and code sections.
#[derive(Clone, Debug)]
pub struct HelperFunc {
    /// The function's name for the name section, e.g. `gc-lower:i32.load8_u`.
    pub name: String,
    /// Parameter types, in stack order.
    pub params: Vec<ValType>,
    /// Result types.
    pub results: Vec<ValType>,
    /// The body: locals and instructions, ending with `end`.
    pub body: Function,
}

impl HelperFunc {
    /// The helper's function type.
    pub fn func_type(&self) -> FuncType {
        FuncType::new(self.params.iter().copied(), self.results.iter().copied())
    }
}

/// Every helper: each load and store kind, then the other variants in declaration order.
pub fn all_helpers() -> Vec<Helper> {
    let mut helpers = Vec::new();
    helpers.extend(LoadKind::ALL.into_iter().map(Helper::Load));
    helpers.extend(StoreKind::ALL.into_iter().map(Helper::Store));
    helpers.extend(LoadKind::ALL.into_iter().map(Helper::LoadPastBound));
    helpers.extend(StoreKind::ALL.into_iter().map(Helper::StorePastBound));
    helpers.extend([
        Helper::MemorySize,
        Helper::MemoryGrow,
        Helper::MemoryFill,
        Helper::MemoryCopy,
        Helper::MemoryInitCheck,
        Helper::MemoryInitWrite,
        Helper::TableGetForCall,
        Helper::MemoryNew,
        Helper::MemoryTouch,
        Helper::MemoryWhole,
    ]);
    for kind in TableKind::ALL {
        helpers.extend([
            Helper::TableGet(kind),
            Helper::TableSet(kind),
            Helper::TableSize(kind),
            Helper::TableGrow(kind),
            Helper::TableFill(kind),
            Helper::TableCopy(kind),
            Helper::TableInit(kind),
            Helper::TableNew(kind),
        ]);
    }
    helpers
}

/// Builds the signature and body of helper `h`. `callee` gives the function index of
/// [`Helper::callee`], the one function the body calls (asked for only when there is one).
pub fn helper(h: Helper, callee: impl FnOnce(Helper) -> u32) -> HelperFunc {
    let m = ref_null(MEMBOX);
    let i32 = ValType::I32;
    let i64 = ValType::I64;
    let slow = h.callee().map(callee);
    let mut b = match h {
        Helper::Load(kind) | Helper::LoadPastBound(kind) => {
            let mut b = Body::new(vec![i32, m, i64], vec![kind.value_type()]);
            load(&mut b, kind, slow);
            b
        }
        Helper::Store(kind) | Helper::StorePastBound(kind) => {
            let mut b = Body::new(vec![i32, kind.value_type(), m, i64], vec![]);
            store(&mut b, kind, slow);
            b
        }
        Helper::MemorySize => {
            let mut b = Body::new(vec![m], vec![i32]);
            b.ins().local_get(0).struct_get(MEMBOX, field::MEMBOX_PAGES);
            b
        }
        Helper::MemoryGrow => {
            let mut b = Body::new(vec![i32, m], vec![i32]);
            memory_grow(&mut b);
            b
        }
        Helper::MemoryFill => {
            let mut b = Body::new(vec![i32, i32, i32, m], vec![]);
            memory_fill(&mut b);
            b
        }
        Helper::MemoryCopy => {
            let mut b = Body::new(vec![i32, i32, i32, m, m], vec![]);
            memory_copy(&mut b);
            b
        }
        Helper::MemoryInitCheck => {
            let mut b = Body::new(vec![i32, i32, i32, m, i32], vec![m, i32, i32, i32]);
            push_range_end(&mut b, 1, 2);
            b.ins().local_get(4).i64_extend_i32_u().i64_gt_u();
            trap_if(&mut b);
            check_range(&mut b, 0, 2, 3);
            // Zero bytes: `array.new_data` of none at 0, valid whatever the segment's length.
            b.ins()
                .local_get(2)
                .i32_eqz()
                .if_(BlockType::Empty)
                .i32_const(0)
                .local_set(0)
                .i32_const(0)
                .local_set(1)
                .else_();
            touch_range(&mut b, 0, 2, 3);
            b.ins().end();
            b.ins().local_get(3).local_get(0).local_get(1).local_get(2);
            b
        }
        Helper::MemoryInitWrite => {
            let mut b = Body::new(vec![m, i32, ref_non_null(BYTES)], vec![]);
            memory_init_write(&mut b);
            b
        }
        Helper::TableGet(kind) => {
            let (t, c) = (kind.table_ref(), kind.elem());
            let mut b = Body::new(vec![i32, t], vec![c]);
            let elems = b.local(ref_non_null(kind.array()));
            check_table_index(&mut b, kind, 0, 1, elems);
            b.ins()
                .local_get(elems)
                .local_get(0)
                .array_get(kind.array());
            b
        }
        Helper::TableSet(kind) => {
            let (t, c) = (kind.table_ref(), kind.elem());
            let mut b = Body::new(vec![i32, c, t], vec![]);
            let elems = b.local(ref_non_null(kind.array()));
            check_table_index(&mut b, kind, 0, 2, elems);
            b.ins()
                .local_get(elems)
                .local_get(0)
                .local_get(1)
                .array_set(kind.array());
            b
        }
        Helper::TableSize(kind) => {
            let t = kind.table_ref();
            let mut b = Body::new(vec![t], vec![i32]);
            b.ins()
                .local_get(0)
                .struct_get(kind.tablebox(), field::TABLEBOX_ELEMS)
                .array_len();
            b
        }
        Helper::TableGrow(kind) => {
            let (t, c) = (kind.table_ref(), kind.elem());
            let mut b = Body::new(vec![c, i32, t], vec![i32]);
            table_grow(&mut b, kind);
            b
        }
        Helper::TableFill(kind) => {
            let (t, c) = (kind.table_ref(), kind.elem());
            let mut b = Body::new(vec![i32, c, i32, t], vec![]);
            let elems = b.local(ref_non_null(kind.array()));
            load_elems(&mut b, kind, 3, elems);
            check_array_range(&mut b, 0, 2, elems);
            b.ins()
                .local_get(elems)
                .local_get(0)
                .local_get(1)
                .local_get(2)
                .array_fill(kind.array());
            b
        }
        Helper::TableCopy(kind) => table_copy(kind, kind),
        Helper::TableCopyFrom(to, from) => table_copy(to, from),
        Helper::TableInit(kind) => {
            let t = kind.table_ref();
            let mut b = Body::new(vec![i32, i32, i32, t, ref_null(kind.array())], vec![]);
            table_init(&mut b, kind, kind);
            b
        }
        Helper::TableInitFrom(to, from) => {
            let t = to.table_ref();
            let mut b = Body::new(vec![i32, i32, i32, t, ref_null(from.array())], vec![]);
            table_init(&mut b, to, from);
            b
        }
        Helper::TableGetForCall => {
            let t = ref_null(TABLEBOX);
            let mut b = Body::new(vec![i32, t], vec![ref_non_null(CLOSURE)]);
            let elems = b.local(ref_non_null(FUNCS));
            check_table_index(&mut b, TableKind::Func, 0, 1, elems);
            // A null element traps with `null reference`, which names it (a bound check's trap
            // is `unreachable`).
            b.ins()
                .local_get(elems)
                .local_get(0)
                .array_get(FUNCS)
                .ref_as_non_null();
            b
        }
        Helper::MemoryNew => {
            let mut b = Body::new(vec![i32, i32], vec![ref_non_null(MEMBOX)]);
            b.ins()
                .local_get(0)
                .i64_extend_i32_u()
                .i64_const(PAGE_SHIFT)
                .i64_shl()
                .i64_const(MAX_MEMORY_BYTES as i64)
                .i64_gt_u();
            trap_if(&mut b);
            b.ins()
                .i32_const(0)
                .array_new_default(WORDS)
                .local_get(0)
                .local_get(1)
                .i64_const(0)
                .ref_null(HeapType::Concrete(SPARSE))
                .struct_new(MEMBOX);
            b
        }
        Helper::MemoryTouch => {
            let mut b = Body::new(vec![i64, m], vec![ref_non_null(WORDS), i64]);
            touch(&mut b, 0, 1);
            b.ins()
                .local_get(1)
                .struct_get(MEMBOX, field::MEMBOX_WORDS)
                .local_get(1)
                .struct_get(MEMBOX, field::MEMBOX_BOUND);
            b
        }
        Helper::MemoryWhole => {
            let mut b = Body::new(vec![m], vec![ref_non_null(WORDS), i64]);
            let end = b.local(i64);
            push_memory_bytes(&mut b, 0);
            b.ins().local_set(end);
            touch(&mut b, end, 0);
            b.ins()
                .local_get(0)
                .struct_get(MEMBOX, field::MEMBOX_WORDS)
                .local_get(end);
            b
        }
        Helper::TableNew(kind) => {
            let c = kind.elem();
            let mut b = Body::new(vec![c, i32, i32], vec![ref_non_null(kind.tablebox())]);
            b.ins()
                .local_get(0)
                .local_get(1)
                .array_new(kind.array())
                .local_get(2)
                .struct_new(kind.tablebox());
            b
        }
    };
    b.ins().end();
    let mut body = Function::new_with_locals_types(b.locals);
    body.raw(b.code);
    HelperFunc {
        name: h.name(),
        params: b.params,
        results: b.results,
        body,
    }
}

/// The elements that `memory.fill` writes with `array.fill` before doubling them with
/// `array.copy`: V8 fills an array an element at a time (for an `i8` array about 25 times slower
/// than a linear memory's fill) but copies it at memory speed.
const FILL_PREFIX: i32 = 16;

/// The largest block, in elements, that `memory.fill` copies at once: the copies read from the
/// first `FILL_BLOCK` filled elements (32 KiB), which stay in the cache, so that a fill costs
/// about what a store of its bytes costs (doubling the whole filled part reads as many bytes
/// as it writes).
const FILL_BLOCK: i32 = 8192;

/// Loops over `i` (an i32 local) from its value up to the i32 local `end`, running `each` with
/// `i` and adding `step` to it, while `i < end` and `more` (if given) pushes a true condition.
fn loop_up(
    b: &mut Body,
    i: u32,
    end: u32,
    step: i32,
    more: Option<&dyn Fn(&mut Body)>,
    each: &dyn Fn(&mut Body),
) {
    b.ins()
        .block(BlockType::Empty)
        .loop_(BlockType::Empty)
        .local_get(i)
        .local_get(end)
        .i32_ge_u()
        .br_if(1);
    if let Some(more) = more {
        more(b);
        b.ins().i32_eqz().br_if(1);
    }
    each(b);
    b.ins()
        .local_get(i)
        .i32_const(step)
        .i32_add()
        .local_set(i)
        .br(0)
        .end()
        .end();
}

/// Loops over `i` (an i32 local) from its value down to the i32 local `start`, subtracting
/// `step` from it before running `each` with it, while `i > start`.
fn loop_down(b: &mut Body, i: u32, start: u32, step: i32, each: &dyn Fn(&mut Body)) {
    b.ins()
        .block(BlockType::Empty)
        .loop_(BlockType::Empty)
        .local_get(i)
        .local_get(start)
        .i32_le_u()
        .br_if(1)
        .local_get(i)
        .i32_const(step)
        .i32_sub()
        .local_set(i);
    each(b);
    b.ins().br(0).end().end();
}

/// `memory.fill` (d = param 0, value = 1, n = 2, box = 3): after the bounds check, the bytes
/// before the first aligned element and after the last whole one are stored one by one; the
/// whole elements between are filled with the byte repeated four times ([`fill_words`]). The
/// trap comes before any write; `n = 0` writes nothing.
fn memory_fill(b: &mut Body) {
    let (d, v, n, mem) = (0, 1, 2, 3);
    let words = b.local(ref_non_null(WORDS));
    let i = b.local(ValType::I32);
    let addr = b.local(ValType::I32);
    let count = b.local(ValType::I32);
    let pattern = b.local(ValType::I32);
    check_range(b, d, n, mem);
    return_if_zero(b, n);
    touch_range(b, d, n, mem);
    b.ins()
        .local_get(mem)
        .struct_get(MEMBOX, field::MEMBOX_WORDS)
        .local_set(words);
    let store_byte = |b: &mut Body| {
        b.ins().local_get(d).local_get(i).i32_add().local_set(addr);
        push_store(
            &mut b.ins(),
            StoreKind::I32Store8,
            words,
            addr,
            StoreValue::I32(v),
        );
    };
    // Bytes up to the first aligned address (or the end).
    loop_up(
        b,
        i,
        n,
        1,
        Some(&|b: &mut Body| {
            b.ins()
                .local_get(d)
                .local_get(i)
                .i32_add()
                .i32_const(3)
                .i32_and();
        }),
        &store_byte,
    );
    // Whole elements.
    b.ins()
        .local_get(n)
        .local_get(i)
        .i32_sub()
        .i32_const(2)
        .i32_shr_u()
        .local_set(count)
        .local_get(d)
        .local_get(i)
        .i32_add()
        .i32_const(2)
        .i32_shr_u()
        .local_set(addr)
        .local_get(v)
        .i32_const(0xff)
        .i32_and()
        .i32_const(0x0101_0101)
        .i32_mul()
        .local_set(pattern);
    fill_words(b, words, addr, pattern, count);
    b.ins()
        .local_get(i)
        .local_get(count)
        .i32_const(2)
        .i32_shl()
        .i32_add()
        .local_set(i);
    // The bytes after them.
    loop_up(b, i, n, 1, None, &store_byte);
}

/// Fills `n` elements (i32 local) of the word array in local `words` from element `d` (i32
/// local) with the i32 in local `v`: the first `min(n, FILL_PREFIX)` with `array.fill`, then
/// copies of the start of the filled part after its end with `array.copy`, doubling it up to
/// blocks of `FILL_BLOCK` elements, until `n` are written. The range is in bounds; `n` may be 0.
///
/// ```wat
/// (local.set $done (select (local.get $n) (i32.const 16) (i32.lt_u (local.get $n) (i32.const 16))))
/// (array.fill $words (local.get $words) (local.get $d) (local.get $v) (local.get $done))
/// (block (loop
///   (br_if 1 (i32.ge_u (local.get $done) (local.get $n)))
///   (local.set $chunk (min (local.get $done) (i32.const 8192)
///     (i32.sub (local.get $n) (local.get $done))))
///   (array.copy $words $words (local.get $words) (i32.add (local.get $d) (local.get $done))
///     (local.get $words) (local.get $d) (local.get $chunk))
///   (local.set $done (i32.add (local.get $done) (local.get $chunk)))
///   (br 0)))
/// ```
fn fill_words(b: &mut Body, words: u32, d: u32, v: u32, n: u32) {
    let done = b.local(ValType::I32);
    let chunk = b.local(ValType::I32);
    let rest = b.local(ValType::I32);
    b.ins()
        .local_get(n)
        .i32_const(FILL_PREFIX)
        .local_get(n)
        .i32_const(FILL_PREFIX)
        .i32_lt_u()
        .select()
        .local_set(done)
        .local_get(words)
        .local_get(d)
        .local_get(v)
        .local_get(done)
        .array_fill(WORDS)
        .block(BlockType::Empty)
        .loop_(BlockType::Empty)
        .local_get(done)
        .local_get(n)
        .i32_ge_u()
        .br_if(1)
        // chunk = min(done, FILL_BLOCK, n - done)
        .local_get(done)
        .i32_const(FILL_BLOCK)
        .local_get(done)
        .i32_const(FILL_BLOCK)
        .i32_lt_u()
        .select()
        .local_tee(chunk)
        .local_get(n)
        .local_get(done)
        .i32_sub()
        .local_tee(rest)
        .local_get(chunk)
        .local_get(rest)
        .i32_lt_u()
        .select()
        .local_set(chunk)
        .local_get(words)
        .local_get(d)
        .local_get(done)
        .i32_add()
        .local_get(words)
        .local_get(d)
        .local_get(chunk)
        .array_copy(WORDS, WORDS)
        .local_get(done)
        .local_get(chunk)
        .i32_add()
        .local_set(done)
        .br(0)
        .end()
        .end();
}

/// `memory.copy` (d = param 0, s = 1, n = 2, dst box = 3, src box = 4), overlap-safe: both
/// ranges are checked, then extended, before anything is written. The bytes before `d`'s first
/// aligned element and after the last whole one are copied one by one; the whole elements
/// between with `array.copy` when `d` and `s` have the same alignment, and otherwise one by
/// one, each assembled from the (unaligned) source as an `i32.load` would. Everything is
/// copied upwards when `d <= s` and downwards otherwise (then the tail first), so an
/// overlapping copy within one memory reads every byte before it is overwritten.
fn memory_copy(b: &mut Body) {
    let (d, s, n, dst, src) = (0, 1, 2, 3, 4);
    let to = b.local(ref_non_null(WORDS));
    let from = b.local(ref_non_null(WORDS));
    let i = b.local(ValType::I32);
    let head = b.local(ValType::I32);
    let tail = b.local(ValType::I32);
    let at = b.local(ValType::I32);
    let value = b.local(ValType::I32);
    let zero = b.local(ValType::I32);
    check_range(b, d, n, dst);
    check_range(b, s, n, src);
    return_if_zero(b, n);
    touch_range(b, d, n, dst);
    touch_range(b, s, n, src);
    b.ins()
        .local_get(dst)
        .struct_get(MEMBOX, field::MEMBOX_WORDS)
        .local_set(to)
        .local_get(src)
        .struct_get(MEMBOX, field::MEMBOX_WORDS)
        .local_set(from);
    let copy_byte = |b: &mut Body| {
        b.ins().local_get(s).local_get(i).i32_add().local_set(at);
        push_load(&mut b.ins(), LoadKind::I32Load8U, from, at);
        b.ins()
            .local_get(d)
            .local_get(i)
            .i32_add()
            .local_set(at)
            .local_set(value);
        push_store(
            &mut b.ins(),
            StoreKind::I32Store8,
            to,
            at,
            StoreValue::I32(value),
        );
    };
    // The element at (aligned) `d + i` = the four bytes at `s + i`.
    let copy_word = |b: &mut Body| {
        b.ins().local_get(s).local_get(i).i32_add().local_set(at);
        push_load(&mut b.ins(), LoadKind::I32Load, from, at);
        b.ins()
            .local_set(value)
            .local_get(to)
            .local_get(d)
            .local_get(i)
            .i32_add()
            .i32_const(2)
            .i32_shr_u()
            .local_get(value)
            .array_set(WORDS);
    };
    let upwards = |b: &mut Body, start: u32, end: u32| {
        b.ins().local_get(start).local_set(i);
        loop_up(b, i, end, 1, None, &copy_byte);
    };
    let downwards = |b: &mut Body, start: u32, end: u32| {
        b.ins().local_get(end).local_set(i);
        loop_down(b, i, start, 1, &copy_byte);
    };
    // head = the bytes before d's first aligned element (at most n), tail = where the last
    // whole element ends.
    b.ins()
        .i32_const(0)
        .local_get(d)
        .i32_sub()
        .i32_const(3)
        .i32_and()
        .local_tee(head)
        .local_get(n)
        .local_get(head)
        .local_get(n)
        .i32_lt_u()
        .select()
        .local_tee(head)
        .local_get(n)
        .local_get(head)
        .i32_sub()
        .i32_const(-4)
        .i32_and()
        .i32_add()
        .local_set(tail);
    // The whole elements: one `array.copy` when the alignments agree, else element by element
    // (`up` says in which direction).
    let words_copy = |b: &mut Body, up: bool| {
        b.ins()
            .local_get(d)
            .local_get(s)
            .i32_xor()
            .i32_const(3)
            .i32_and()
            .i32_eqz()
            .if_(BlockType::Empty)
            .local_get(to)
            .local_get(d)
            .local_get(head)
            .i32_add()
            .i32_const(2)
            .i32_shr_u()
            .local_get(from)
            .local_get(s)
            .local_get(head)
            .i32_add()
            .i32_const(2)
            .i32_shr_u()
            .local_get(tail)
            .local_get(head)
            .i32_sub()
            .i32_const(2)
            .i32_shr_u()
            .array_copy(WORDS, WORDS)
            .else_();
        if up {
            b.ins().local_get(head).local_set(i);
            loop_up(b, i, tail, 4, None, &copy_word);
        } else {
            b.ins().local_get(tail).local_set(i);
            loop_down(b, i, head, 4, &copy_word);
        }
        b.ins().end();
    };
    b.ins()
        .local_get(d)
        .local_get(s)
        .i32_le_u()
        .if_(BlockType::Empty);
    upwards(b, zero, head);
    words_copy(b, true);
    upwards(b, tail, n);
    b.ins().else_();
    downwards(b, tail, n);
    words_copy(b, false);
    downwards(b, zero, head);
    b.ins().end();
}

/// `(mem M, d i32, bytes (ref $bytes))`: writes the byte array `bytes` at `d` of the memory, whose word
/// array already holds `d .. d + len`: a whole element (four bytes assembled) where `d + i` is
/// aligned and four bytes are left, a byte elsewhere.
fn memory_init_write(b: &mut Body) {
    let (mem, d, bytes) = (0, 1, 2);
    let words = b.local(ref_non_null(WORDS));
    let n = b.local(ValType::I32);
    let i = b.local(ValType::I32);
    let at = b.local(ValType::I32);
    let value = b.local(ValType::I32);
    b.ins()
        .local_get(mem)
        .struct_get(MEMBOX, field::MEMBOX_WORDS)
        .local_set(words)
        .local_get(bytes)
        .array_len()
        .local_set(n)
        .block(BlockType::Empty)
        .loop_(BlockType::Empty)
        .local_get(i)
        .local_get(n)
        .i32_ge_u()
        .br_if(1)
        .local_get(d)
        .local_get(i)
        .i32_add()
        .local_tee(at)
        .i32_const(3)
        .i32_and()
        .i32_eqz()
        .local_get(n)
        .local_get(i)
        .i32_sub()
        .i32_const(4)
        .i32_ge_u()
        .i32_and()
        .if_(BlockType::Empty)
        .local_get(words)
        .local_get(at)
        .i32_const(2)
        .i32_shr_u();
    for k in 0..4 {
        b.ins().local_get(bytes).local_get(i);
        if k != 0 {
            b.ins().i32_const(k).i32_add();
        }
        b.ins().array_get_u(BYTES);
        if k != 0 {
            b.ins().i32_const(8 * k).i32_shl().i32_or();
        }
    }
    b.ins()
        .array_set(WORDS)
        .local_get(i)
        .i32_const(4)
        .i32_add()
        .local_set(i)
        .else_()
        .local_get(bytes)
        .local_get(i)
        .array_get_u(BYTES)
        .local_set(value);
    push_store(
        &mut b.ins(),
        StoreKind::I32Store8,
        words,
        at,
        StoreValue::I32(value),
    );
    b.ins()
        .local_get(i)
        .i32_const(1)
        .i32_add()
        .local_set(i)
        .end()
        .br(0)
        .end()
        .end();
}

/// A helper under construction: its signature, the locals allocated so far and the code.
struct Body {
    params: Vec<ValType>,
    results: Vec<ValType>,
    locals: Vec<ValType>,
    code: Vec<u8>,
}

impl Body {
    fn new(params: Vec<ValType>, results: Vec<ValType>) -> Body {
        Body {
            params,
            results,
            locals: Vec::new(),
            code: Vec::new(),
        }
    }

    /// Allocates a local of type `ty` and returns its index.
    fn local(&mut self, ty: ValType) -> u32 {
        let index = self.params.len() + self.locals.len();
        self.locals.push(ty);
        u32::try_from(index).expect("helpers have few locals")
    }

    fn ins(&mut self) -> InstructionSink<'_> {
        InstructionSink::new(&mut self.code)
    }
}

/// `if (cond) unreachable`, consuming the i32 condition on the stack.
fn trap_if(b: &mut Body) {
    b.ins().if_(BlockType::Empty).unreachable().end();
}

/// Pushes `start + n` as an i64, both i32 locals zero-extended.
fn push_range_end(b: &mut Body, start: u32, n: u32) {
    b.ins()
        .local_get(start)
        .i64_extend_i32_u()
        .local_get(n)
        .i64_extend_i32_u()
        .i64_add();
}

/// Pushes the logical size in bytes, as an i64, of the memory box in local `mem`.
fn push_memory_bytes(b: &mut Body, mem: u32) {
    b.ins()
        .local_get(mem)
        .struct_get(MEMBOX, field::MEMBOX_PAGES)
        .i64_extend_i32_u()
        .i64_const(PAGE_SHIFT)
        .i64_shl();
}

/// Traps unless the byte range `start .. start + n` (i32 locals) lies inside the memory in
/// local `mem`, and makes its word array hold the range ([`touch`]).
fn touch_range(b: &mut Body, start: u32, n: u32, mem: u32) {
    let end = b.local(ValType::I64);
    push_range_end(b, start, n);
    b.ins().local_set(end);
    touch(b, end, mem);
}

/// Traps unless the byte range `start .. start + n` (i32 locals) lies inside the memory in
/// local `mem`, extending nothing.
fn check_range(b: &mut Body, start: u32, n: u32, mem: u32) {
    push_range_end(b, start, n);
    push_memory_bytes(b, mem);
    b.ins().i64_gt_u();
    trap_if(b);
}

/// Returns from the helper when the i32 local `n` is zero: a zero-length bulk operation that
/// passed its bounds checks writes nothing, and must not extend an array (nor reach
/// `array.fill`/`array.copy` at an index past a shorter array).
fn return_if_zero(b: &mut Body, n: u32) {
    b.ins()
        .local_get(n)
        .i32_eqz()
        .if_(BlockType::Empty)
        .return_()
        .end();
}

/// The largest array a memory gets: 65 535 pages, the largest multiple of a page that one
/// GC array holds (the logical size never exceeds [`MAX_MEMORY_BYTES`]).
const MAX_ARRAY_BYTES: i64 = (MAX_MEMORY_BYTES as i64) & !(PAGE_SIZE as i64 - 1);

/// Traps unless the i64 in local `end` is at most the size in bytes of the memory box in local
/// `mem`, and makes the box's word array hold bytes `0 .. end` of the memory. Nothing happens
/// when `end` is within the box's bound; otherwise the array is replaced by a longer copy
/// ([`Helper::MemoryTouch`] gives the new length) and the bound updated:
///
/// ```wat
/// (if (i64.gt_u (local.get $end) (struct.get $membox $bound (local.get $mem)))
///   (then
///     (if (i64.gt_u (local.get $end) (size in bytes)) (then unreachable))
///     (local.set $new (array.new_default $bytes (new length)))
///     (array.copy $bytes $bytes (local.get $new) (i32.const 0) (old array) (i32.const 0)
///       (i32.wrap_i64 (struct.get $membox $bound (local.get $mem))))
///     (struct.set $membox $bytes (local.get $mem) (local.get $new))
///     (struct.set $membox $bound (local.get $mem) (min (new length) (size in bytes)))))
/// ```
fn touch(b: &mut Body, end: u32, mem: u32) {
    let size = b.local(ValType::I64);
    let new_len = b.local(ValType::I64);
    let cap = b.local(ValType::I64);
    let needed = b.local(ValType::I64);
    let new_words = b.local(ref_non_null(WORDS));
    let first_page = b.local(ValType::I32);
    b.ins()
        .local_get(end)
        .local_get(mem)
        .struct_get(MEMBOX, field::MEMBOX_BOUND)
        .i64_gt_u()
        .if_(BlockType::Empty);
    push_memory_bytes(b, mem);
    b.ins().local_tee(size).local_get(end).i64_lt_u();
    trap_if(b);
    // new_len = 2 * old_len, capped at max_pages * 65536, at MAX_ARRAY_BYTES and (while end is
    // within it) at GEOMETRIC_GROWTH_CAP; at least end rounded up to a granule (which is at
    // most the size, a whole number of pages and so of granules).
    push_twice_array_bytes(b, mem);
    b.ins()
        .local_set(new_len)
        .local_get(mem)
        .struct_get(MEMBOX, field::MEMBOX_MAX_PAGES)
        .i64_extend_i32_u()
        .i64_const(PAGE_SHIFT)
        .i64_shl()
        .local_set(cap);
    min_u64(b, new_len, cap);
    b.ins().i64_const(MAX_ARRAY_BYTES).local_set(cap);
    min_u64(b, new_len, cap);
    b.ins()
        .local_get(end)
        .i64_const(GEOMETRIC_GROWTH_CAP as i64)
        .i64_le_u()
        .if_(BlockType::Empty)
        .i64_const(GEOMETRIC_GROWTH_CAP as i64)
        .local_set(cap)
        .end();
    min_u64(b, new_len, cap);
    b.ins()
        .local_get(end)
        .i64_const(i64::from(ARRAY_GRANULE) - 1)
        .i64_add()
        .i64_const(!(i64::from(ARRAY_GRANULE) - 1))
        .i64_and()
        .local_set(needed);
    // new_len = max(new_len, needed)
    b.ins()
        .local_get(needed)
        .local_get(new_len)
        .local_get(needed)
        .local_get(new_len)
        .i64_gt_u()
        .select()
        .local_set(new_len);
    // With sparse pages the array ends at a page boundary (a multiple of a granule, at most
    // the caps above, which are whole pages), so that each page it reaches lies wholly inside.
    b.ins()
        .local_get(mem)
        .struct_get(MEMBOX, field::MEMBOX_SPARSE)
        .ref_is_null()
        .i32_eqz()
        .if_(BlockType::Empty)
        .local_get(new_len)
        .i64_const(i64::from(PAGE_SIZE) - 1)
        .i64_add()
        .i64_const(!(i64::from(PAGE_SIZE) - 1))
        .i64_and()
        .local_set(new_len)
        .end()
        // The page where the old array ends: no sparse page lies below it.
        .local_get(mem)
        .struct_get(MEMBOX, field::MEMBOX_WORDS)
        .array_len()
        .i32_const(SPARSE_PAGE_ELEMS.trailing_zeros() as i32)
        .i32_shr_u()
        .local_set(first_page);
    b.ins()
        .local_get(new_len)
        .i64_const(2)
        .i64_shr_u()
        .i32_wrap_i64()
        .array_new_default(WORDS)
        .local_tee(new_words)
        .i32_const(0)
        .local_get(mem)
        .struct_get(MEMBOX, field::MEMBOX_WORDS)
        .i32_const(0)
        // Only the elements below the bound (a whole number of them) need copying: the rest
        // is zero in both arrays.
        .local_get(mem)
        .struct_get(MEMBOX, field::MEMBOX_BOUND)
        .i64_const(2)
        .i64_shr_u()
        .i32_wrap_i64()
        .array_copy(WORDS, WORDS);
    fold_sparse(b, mem, new_words, first_page, new_len);
    b.ins()
        .local_get(mem)
        .local_get(new_words)
        .struct_set(MEMBOX, field::MEMBOX_WORDS)
        .local_get(mem);
    min_u64(b, new_len, size);
    b.ins()
        .local_get(new_len)
        .struct_set(MEMBOX, field::MEMBOX_BOUND)
        .end();
}

/// Moves the sparse pages of the memory box in local `mem` that the new word array in local
/// `new_words` reaches (pages `first_page ..` up to the array's end, the i64 local `new_len` in
/// bytes, a whole number of pages when there are sparse pages) into that array, and clears
/// their slots. Nothing when the memory has no sparse pages.
fn fold_sparse(b: &mut Body, mem: u32, new_words: u32, first_page: u32, new_len: u32) {
    let sparse = b.local(ref_non_null(SPARSE));
    let page = b.local(ref_non_null(WORDS));
    b.ins()
        .block(BlockType::Empty)
        .local_get(mem)
        .struct_get(MEMBOX, field::MEMBOX_SPARSE)
        .br_on_null(0)
        .local_set(sparse)
        .loop_(BlockType::Empty)
        .local_get(first_page)
        .local_get(new_len)
        .i64_const(PAGE_SHIFT)
        .i64_shr_u()
        .i32_wrap_i64()
        .i32_ge_u()
        .br_if(1)
        .block(BlockType::Empty)
        .local_get(sparse)
        .local_get(first_page)
        .array_get(SPARSE)
        .br_on_null(0)
        .local_set(page)
        .local_get(new_words)
        .local_get(first_page)
        .i32_const(SPARSE_PAGE_ELEMS)
        .i32_mul()
        .local_get(page)
        .i32_const(0)
        .i32_const(SPARSE_PAGE_ELEMS)
        .array_copy(WORDS, WORDS)
        .local_get(sparse)
        .local_get(first_page)
        .ref_null(HeapType::Concrete(WORDS))
        .array_set(SPARSE)
        .end()
        .local_get(first_page)
        .i32_const(1)
        .i32_add()
        .local_set(first_page)
        .br(0)
        .end()
        .end();
}

/// Sets local `elems` to the element array of the table box in local `table`.
fn load_elems(b: &mut Body, kind: TableKind, table: u32, elems: u32) {
    b.ins()
        .local_get(table)
        .struct_get(kind.tablebox(), field::TABLEBOX_ELEMS)
        .local_set(elems);
}

/// Traps unless the element range `start .. start + n` lies inside the array in local `array`.
fn check_array_range(b: &mut Body, start: u32, n: u32, array: u32) {
    push_range_end(b, start, n);
    b.ins()
        .local_get(array)
        .array_len()
        .i64_extend_i32_u()
        .i64_gt_u();
    trap_if(b);
}

/// Loads the elements of the table in local `table` into local `elems` and traps unless the
/// index in local `index` is in bounds.
fn check_table_index(b: &mut Body, kind: TableKind, index: u32, table: u32, elems: u32) {
    b.ins()
        .local_get(table)
        .struct_get(kind.tablebox(), field::TABLEBOX_ELEMS)
        .local_tee(elems)
        .array_len()
        .local_get(index)
        .i32_le_u();
    trap_if(b);
}

/// Bounds-checks an access of `width` bytes at `addr + offset` (params 0 and 2 of loads, 0 and 3
/// of stores, the box in `mem`), then leaves the word array in local `words` and the effective
/// address in the i32 local `ea`. Past the box's bound, the fast path ([`AccessPath::Fast`])
/// returns what the slow path does; the slow path ([`AccessPath::Slow`]) traps past the
/// memory's size, makes the access on the sparse pages and returns when it is far past the
/// array ([`push_is_far`]), and otherwise extends the array.
fn prepare_access(
    b: &mut Body,
    (addr, mem, offset): (u32, u32, u32),
    width: u32,
    path: AccessPath<'_>,
    words: u32,
    ea: u32,
) {
    let ea64 = b.local(ValType::I64);
    let end = b.local(ValType::I64);
    b.ins()
        .local_get(addr)
        .i64_extend_i32_u()
        .local_get(offset)
        .i64_add()
        .local_tee(ea64)
        .i64_const(i64::from(width))
        .i64_add()
        .local_set(end);
    match path {
        // The fast path: one null check of the box, the bound compared, and past it the call
        // of the slow path with the same arguments, whose result is returned as it is.
        AccessPath::Fast(slow) => {
            let boxed = b.local(ref_non_null(MEMBOX));
            b.ins()
                .local_get(mem)
                .ref_as_non_null()
                .local_tee(boxed)
                .struct_get(MEMBOX, field::MEMBOX_BOUND)
                .local_get(end)
                .i64_lt_u()
                .if_(BlockType::Empty);
            for param in 0..b.params.len() as u32 {
                b.ins().local_get(param);
            }
            b.ins().call(slow).return_().end();
            b.ins().local_get(boxed);
        }
        AccessPath::Slow(far) => {
            // Past the memory's size: trap. Far past the array: the sparse pages.
            push_memory_bytes(b, mem);
            b.ins().local_get(end).i64_lt_u();
            trap_if(b);
            push_is_far(b, mem, ea64);
            b.ins().if_(BlockType::Empty);
            far(b, ea64);
            b.ins().return_().end();
            touch(b, end, mem);
            b.ins().local_get(mem);
        }
    }
    b.ins()
        .struct_get(MEMBOX, field::MEMBOX_WORDS)
        .local_set(words)
        .local_get(ea64)
        .i32_wrap_i64()
        .local_set(ea);
}

/// Which body of a load or store [`prepare_access`] begins.
enum AccessPath<'a> {
    /// The fast path, which calls this function (the slow path) past the bound.
    Fast(u32),
    /// The slow path, which emits the access on the sparse pages with this (given the i64
    /// local holding the effective address) where the access is far past the array.
    Slow(&'a dyn Fn(&mut Body, u32)),
}

impl<'a> AccessPath<'a> {
    fn new(slow: Option<u32>, far: &'a dyn Fn(&mut Body, u32)) -> AccessPath<'a> {
        slow.map_or(AccessPath::Slow(far), AccessPath::Fast)
    }
}

/// A load's body: with `slow`, the fast path that calls function `slow` past the bound; without,
/// the slow path, which extends the array there.
fn load(b: &mut Body, kind: LoadKind, slow: Option<u32>) {
    let words = b.local(ref_non_null(WORDS));
    let ea = b.local(ValType::I32);
    let far = |b: &mut Body, ea64: u32| sparse_load(b, kind, 1, ea64);
    let path = AccessPath::new(slow, &far);
    prepare_access(b, (0, 1, 2), kind.width(), path, words, ea);
    push_load(&mut b.ins(), kind, words, ea);
}

/// A store's body, fast or slow path as in [`load`].
fn store(b: &mut Body, kind: StoreKind, slow: Option<u32>) {
    let words = b.local(ref_non_null(WORDS));
    let ea = b.local(ValType::I32);
    let far = |b: &mut Body, ea64: u32| sparse_store(b, kind, (1, 2), ea64);
    let path = AccessPath::new(slow, &far);
    prepare_access(b, (0, 2, 3), kind.width(), path, words, ea);
    // The value as an i32 (its low bytes) or, for 8 bytes, an i64.
    let i32_value = b.local(ValType::I32);
    let i64_value = b.local(ValType::I64);
    b.ins().local_get(1);
    let value = if convert_store_value(&mut b.ins(), kind) {
        b.ins().local_set(i64_value);
        StoreValue::I64(i64_value)
    } else {
        b.ins().local_set(i32_value);
        StoreValue::I32(i32_value)
    };
    push_store(&mut b.ins(), kind, words, ea, value);
}

/// Pushes whether the access at the i64 local `ea64` of the memory box in local `mem` is far
/// enough past the word array to use the sparse pages: its page starts at or past
/// [`SPARSE_FROM_BYTES`] and twice the array's length in bytes.
fn push_is_far(b: &mut Body, mem: u32, ea64: u32) {
    let page_start = |b: &mut Body| {
        b.ins()
            .local_get(ea64)
            .i64_const(!(i64::from(PAGE_SIZE) - 1))
            .i64_and();
    };
    page_start(b);
    b.ins().i64_const(SPARSE_FROM_BYTES as i64).i64_ge_u();
    page_start(b);
    push_twice_array_bytes(b, mem);
    b.ins().i64_ge_u().i32_and();
}

/// Pushes twice the length in bytes of the word array of the memory box in local `mem`, as an
/// i64: what a geometric extension makes it.
fn push_twice_array_bytes(b: &mut Body, mem: u32) {
    b.ins()
        .local_get(mem)
        .struct_get(MEMBOX, field::MEMBOX_WORDS)
        .array_len()
        .i64_extend_i32_u()
        .i64_const(3)
        .i64_shl();
}

/// Emits `for i in 0..width` around `each(b, a)`, where `a` is an i64 local holding `ea64 + i`
/// and `i` an i32 local (the byte's index in the access).
fn each_byte(b: &mut Body, width: u32, ea64: u32, each: &dyn Fn(&mut Body, u32, u32)) {
    let i = b.local(ValType::I32);
    let a = b.local(ValType::I64);
    b.ins().i32_const(0).local_set(i).loop_(BlockType::Empty);
    b.ins()
        .local_get(ea64)
        .local_get(i)
        .i64_extend_i32_u()
        .i64_add()
        .local_set(a);
    each(b, a, i);
    b.ins()
        .local_get(i)
        .i32_const(1)
        .i32_add()
        .local_tee(i)
        .i32_const(width as i32)
        .i32_lt_u()
        .br_if(0)
        .end();
}

/// Pushes the index, within its sparse page, of the word holding byte address `a` (an i64
/// local), as an i32.
fn push_in_page(b: &mut Body, a: u32) {
    b.ins()
        .local_get(a)
        .i32_wrap_i64()
        .i32_const(SPARSE_PAGE_ELEMS * 4 - 1)
        .i32_and()
        .i32_const(2)
        .i32_shr_u();
}

/// Pushes `8 * (a & 3)` for the i64 local `a`, as an i32 shift count (mod 32).
fn push_byte_shift(b: &mut Body, a: u32) {
    b.ins().local_get(a).i32_wrap_i64().i32_const(3).i32_shl();
}

/// Pushes the page number of byte address `a` (an i64 local) as an i32.
fn push_page(b: &mut Body, a: u32) {
    b.ins()
        .local_get(a)
        .i64_const(PAGE_SHIFT)
        .i64_shr_u()
        .i32_wrap_i64();
}

/// Pushes the value of load `kind` at the i64 local `ea64` of the memory box in local `mem`,
/// read byte by byte from its sparse pages (a page never written reads as zero). The caller has
/// checked that the access lies inside the memory.
fn sparse_load(b: &mut Body, kind: LoadKind, mem: u32, ea64: u32) {
    let width = kind.width();
    let value = b.local(ValType::I64);
    let sparse = b.local(ref_non_null(SPARSE));
    b.ins()
        .block(BlockType::Empty)
        .local_get(mem)
        .struct_get(MEMBOX, field::MEMBOX_SPARSE)
        .br_on_null(0)
        .local_set(sparse);
    each_byte(b, width, ea64, &|b, a, i| {
        // value |= byte(a) << (8 * i), where the byte's page exists.
        b.ins().block(BlockType::Empty).local_get(sparse);
        push_page(b, a);
        b.ins().array_get(SPARSE).br_on_null(0);
        push_in_page(b, a);
        b.ins().array_get(WORDS);
        push_byte_shift(b, a);
        b.ins()
            .i32_shr_u()
            .i32_const(0xff)
            .i32_and()
            .i64_extend_i32_u()
            .local_get(i)
            .i64_extend_i32_u()
            .i64_const(3)
            .i64_shl()
            .i64_shl()
            .local_get(value)
            .i64_or()
            .local_set(value)
            .end();
    });
    b.ins().end().local_get(value);
    // The `8 * width` low bits of `value`, as the load's result.
    let unused = 64 - 8 * width as i64;
    if kind.signed() {
        b.ins()
            .i64_const(unused)
            .i64_shl()
            .i64_const(unused)
            .i64_shr_s();
    }
    convert_bits(b, kind.value_type(), false);
}

/// Converts a value of type `ty` on the stack to its bits as an i64 (zero-extended for 32-bit
/// types) when `to_bits`, and such bits back to a value of type `ty` otherwise.
fn convert_bits(b: &mut Body, ty: ValType, to_bits: bool) {
    let mut s = b.ins();
    match (ty, to_bits) {
        (ValType::I32, true) => s.i64_extend_i32_u(),
        (ValType::I32, false) => s.i32_wrap_i64(),
        (ValType::F32, true) => s.i32_reinterpret_f32().i64_extend_i32_u(),
        (ValType::F32, false) => s.i32_wrap_i64().f32_reinterpret_i32(),
        (ValType::F64, true) => s.i64_reinterpret_f64(),
        (ValType::F64, false) => s.f64_reinterpret_i64(),
        _ => &mut s,
    };
}

/// Writes the value of store `kind` (local `value` of the store's value type) at the i64 local
/// `ea64` of the memory box in local `mem`, byte by byte into its sparse pages, allocating the
/// page table and the pages written on first use. The caller has checked that the access lies
/// inside the memory.
fn sparse_store(b: &mut Body, kind: StoreKind, (value, mem): (u32, u32), ea64: u32) {
    let bits = b.local(ValType::I64);
    let sparse = b.local(ref_non_null(SPARSE));
    let page = b.local(ref_non_null(WORDS));
    b.ins().local_get(value);
    convert_bits(b, kind.value_type(), true);
    b.ins().local_set(bits);
    // The page table, made on the first write: one slot per page the memory may reach.
    b.ins()
        .block(BlockType::Result(ref_non_null(SPARSE)))
        .local_get(mem)
        .struct_get(MEMBOX, field::MEMBOX_SPARSE)
        .br_on_non_null(0)
        .local_get(mem)
        .local_get(mem)
        .struct_get(MEMBOX, field::MEMBOX_MAX_PAGES)
        .array_new_default(SPARSE)
        .local_tee(sparse)
        .struct_set(MEMBOX, field::MEMBOX_SPARSE)
        .local_get(sparse)
        .end()
        .local_set(sparse);
    each_byte(b, kind.width(), ea64, &|b, a, i| {
        // The byte's page, made on its first write.
        b.ins()
            .block(BlockType::Result(ref_non_null(WORDS)))
            .local_get(sparse);
        push_page(b, a);
        b.ins()
            .array_get(SPARSE)
            .br_on_non_null(0)
            .local_get(sparse);
        push_page(b, a);
        b.ins()
            .i32_const(SPARSE_PAGE_ELEMS)
            .array_new_default(WORDS)
            .local_tee(page)
            .array_set(SPARSE)
            .local_get(page)
            .end()
            .local_set(page);
        // word = (word & !(0xff << shift)) | (byte i of bits << shift)
        b.ins().local_get(page);
        push_in_page(b, a);
        b.ins().local_get(page);
        push_in_page(b, a);
        b.ins().array_get(WORDS).i32_const(0xff);
        push_byte_shift(b, a);
        b.ins()
            .i32_shl()
            .i32_const(-1)
            .i32_xor()
            .i32_and()
            .local_get(bits)
            .local_get(i)
            .i64_extend_i32_u()
            .i64_const(3)
            .i64_shl()
            .i64_shr_u()
            .i32_wrap_i64()
            .i32_const(0xff)
            .i32_and();
        push_byte_shift(b, a);
        b.ins().i32_shl().i32_or().array_set(WORDS);
    });
}

/// `(delta i32, mem M) -> i32`.
fn memory_grow(b: &mut Body) {
    let (delta, mem) = (0, 1);
    let old = b.local(ValType::I32);
    let new = b.local(ValType::I64);
    let size = b.local(ValType::I64);
    let len = b.local(ValType::I64);
    // new = old + delta (pages, u64); -1 beyond the maximum.
    b.ins()
        .local_get(mem)
        .struct_get(MEMBOX, field::MEMBOX_PAGES)
        .local_tee(old)
        .i64_extend_i32_u()
        .local_get(delta)
        .i64_extend_i32_u()
        .i64_add()
        .local_tee(new)
        .local_get(mem)
        .struct_get(MEMBOX, field::MEMBOX_MAX_PAGES)
        .i64_extend_i32_u()
        .i64_gt_u()
        // ... or beyond what one array can hold.
        .local_get(new)
        .i64_const(PAGE_SHIFT)
        .i64_shl()
        .local_tee(size)
        .i64_const(MAX_MEMORY_BYTES as i64)
        .i64_gt_u()
        .i32_or()
        .if_(BlockType::Empty)
        .i32_const(-1)
        .return_()
        .end();
    // The new pages are zero past the array; only the size and the bound change.
    b.ins()
        .local_get(mem)
        .local_get(new)
        .i32_wrap_i64()
        .struct_set(MEMBOX, field::MEMBOX_PAGES)
        .local_get(mem)
        .struct_get(MEMBOX, field::MEMBOX_WORDS)
        .array_len()
        .i64_extend_i32_u()
        .i64_const(2)
        .i64_shl()
        .local_set(len);
    b.ins().local_get(mem);
    min_u64(b, len, size);
    b.ins()
        .local_get(len)
        .struct_set(MEMBOX, field::MEMBOX_BOUND)
        .local_get(old);
}

/// `local[x] = min_u(local[x], local[y])` for i64 locals.
fn min_u64(b: &mut Body, x: u32, y: u32) {
    b.ins()
        .local_get(y)
        .local_get(x)
        .local_get(y)
        .local_get(x)
        .i64_lt_u()
        .select()
        .local_set(x);
}

/// `(init C, delta i32, t T) -> i32`.
fn table_grow(b: &mut Body, kind: TableKind) {
    let (init, delta, table) = (0, 1, 2);
    let old_elems = b.local(ref_non_null(kind.array()));
    let old = b.local(ValType::I32);
    let new = b.local(ValType::I64);
    let new_elems = b.local(ref_non_null(kind.array()));
    b.ins()
        .local_get(table)
        .struct_get(kind.tablebox(), field::TABLEBOX_ELEMS)
        .local_tee(old_elems)
        .array_len()
        .local_set(old)
        // Growing by 0 always succeeds and needs no new array.
        .local_get(delta)
        .i32_eqz()
        .if_(BlockType::Empty)
        .local_get(old)
        .return_()
        .end()
        .local_get(old)
        .i64_extend_i32_u()
        .local_get(delta)
        .i64_extend_i32_u()
        .i64_add()
        .local_tee(new)
        .local_get(table)
        .struct_get(kind.tablebox(), field::TABLEBOX_MAX)
        .i64_extend_i32_u()
        .i64_gt_u()
        .local_get(new)
        .i64_const(i64::from(MAX_TABLE_ELEMENTS))
        .i64_gt_u()
        .i32_or()
        .if_(BlockType::Empty)
        .i32_const(-1)
        .return_()
        .end()
        .local_get(init)
        .local_get(new)
        .i32_wrap_i64()
        .array_new(kind.array())
        .local_tee(new_elems)
        .i32_const(0)
        .local_get(old_elems)
        .i32_const(0)
        .local_get(old)
        .array_copy(kind.array(), kind.array())
        .local_get(table)
        .local_get(new_elems)
        .struct_set(kind.tablebox(), field::TABLEBOX_ELEMS)
        .local_get(old);
}

/// `(d i32, s i32, n i32, t T, seg (ref null $funcs))`.
/// `table.copy` into a table of kind `to` from one of kind `from` (the same, or one whose
/// elements are a subtype of `to`'s).
fn table_copy(to: TableKind, from: TableKind) -> Body {
    let (i32, dst_t, src_t) = (ValType::I32, to.table_ref(), from.table_ref());
    let mut b = Body::new(vec![i32, i32, i32, dst_t, src_t], vec![]);
    let dst = b.local(ref_non_null(to.array()));
    let src = b.local(ref_non_null(from.array()));
    load_elems(&mut b, to, 3, dst);
    load_elems(&mut b, from, 4, src);
    check_array_range(&mut b, 0, 2, dst);
    check_array_range(&mut b, 1, 2, src);
    b.ins()
        .local_get(dst)
        .local_get(0)
        .local_get(src)
        .local_get(1)
        .local_get(2)
        .array_copy(to.array(), from.array());
    b
}

/// `table.init` into a table of kind `kind` from a segment array of kind `segment` (the same,
/// or one whose elements are a subtype of `kind`'s).
fn table_init(b: &mut Body, kind: TableKind, segment: TableKind) {
    let (d, s, n, table, seg) = (0, 1, 2, 3, 4);
    let elems = b.local(ref_non_null(kind.array()));
    let seg_len = b.local(ValType::I32);
    // A dropped segment (null) has length 0.
    b.ins()
        .local_get(seg)
        .ref_is_null()
        .i32_eqz()
        .if_(BlockType::Empty)
        .local_get(seg)
        .array_len()
        .local_set(seg_len)
        .end();
    push_range_end(b, s, n);
    b.ins().local_get(seg_len).i64_extend_i32_u().i64_gt_u();
    trap_if(b);
    load_elems(b, kind, table, elems);
    check_array_range(b, d, n, elems);
    // Nothing to copy (and `seg` may be null).
    b.ins()
        .local_get(n)
        .i32_eqz()
        .if_(BlockType::Empty)
        .return_()
        .end()
        .local_get(elems)
        .local_get(d)
        .local_get(seg)
        .local_get(s)
        .local_get(n)
        .array_copy(kind.array(), segment.array());
}
