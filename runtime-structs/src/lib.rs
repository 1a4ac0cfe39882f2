//! The Wasm GC layouts of reified instance state, and the helper functions that operate on them.
//!
//! gc-lower emits the code of a module once and gives each runtime instance of it a *vmctx*, a GC
//! struct holding that instance's memories, tables and shared globals. This crate owns how those
//! are represented, so that the rewriter, the fuser and the instantiation routine all derive their
//! view from one definition ([`layout`], in the spirit of wasmtime's `vmctxtypes.rs`).
//!
//! # Why these layouts
//!
//! - **A memory is a box around an array of words**, `$membox = (struct (field $words (mut
//!   (ref $words))) (field $pages (mut i32)) (field $max_pages i32) (field $bound (mut i64)))`
//!   with `$words = (array (mut i32))`, four bytes of the memory per element, little-endian
//!   ([`words`]): a 4-byte access is one `array.get` or `array.set` when aligned, where a byte
//!   array needed four (BENCHMARKS.md, "Word arrays"). Instances that import a memory hold the same box, so when the
//!   array is swapped for a longer one, every one of them sees it. The array holds the memory's
//!   bytes only up to the highest address accessed so far; the rest of the memory is zero. So
//!   `memory.grow` only raises `$pages`, a new memory starts with an empty array, and a memory
//!   costs what its program touches (rounded up geometrically), not what it declares. An access
//!   past `$bound` (the array's length, or the logical size if smaller) first extends the array
//!   geometrically (new length = `max(end rounded up to 4 KiB, min(2 * old_len, max_pages *
//!   65536, 65535 pages))` bytes, and at most `GEOMETRIC_GROWTH_CAP` while `end` is within it;
//!   copied with `array.copy`): extending it page by page would otherwise be quadratic. The
//!   inline accesses of a loop are the exception: before the loop runs, its memories' arrays
//!   are extended to the whole memory ([`Helper::MemoryWhole`]), so that no access inside it
//!   needs the slow path, a call in the loop that made loop kernels up to twice as slow.
//! - **A table is a box around an array of closures**, `$tablebox = (struct (field $elems (mut
//!   (ref $funcs))) (field $max i32))`, `$funcs = (array (mut (ref null $closure)))`. A closure
//!   `(struct (field $func i32) (field $ctx anyref))` pairs a function (its slot in the output's
//!   `funcref` table of entry thunks) with the vmctx it must be called with, since a shared
//!   function needs to know which instance it runs for. Table
//!   operations are rare next to memory accesses, so the array is always exactly the table's size.
//! - **A mutable global shared between instances is a box** `(struct (field (mut T)))`, one type
//!   per value type ([`BOX_I32`] … [`BOX_EXTERN`], see [`box_type_for`]).
//!
//! # Invariants
//!
//! - A memory's size is `$pages` pages of 65536 bytes. Byte `i < $pages * 65536` of the memory
//!   is byte `i & 3` of `$words[i >> 2]` when `i < 4 * array.len $words`; otherwise it is byte
//!   `(i & 0xffff) & 3` of element `(i & 0xffff) >> 2` of sparse page `$sparse[i >> 16]` when
//!   the memory has that page, and zero when not. Every sparse page lies wholly past
//!   `4 * array.len $words`: a page is made only that far past the array, and an array made
//!   while the memory has a page table ends on a page boundary and takes in the pages it
//!   reaches.
//!   Every byte of `$words` at or past `$pages * 65536` is zero: accesses are bounds-checked
//!   against the logical size, so nothing ever writes there. `4 * array.len $words` is a
//!   multiple of [`ARRAY_GRANULE`] (4 KiB), and `$bound = min(4 * array.len $words, $pages *
//!   65536)` always, in bytes.
//! - `$max_pages` is the memory type's maximum (65536 when it has none). A reified memory is at
//!   most [`MAX_MEMORY_BYTES`] long (one GC array).
//! - A table's size in elements is exactly `array.len $elems`; `table.grow` allocates a new array
//!   of the new size, copies and fills. `$max` is the table type's maximum as u32 (`0xffff_ffff`,
//!   -1 as an i32, when it has none).
//! - The rec group of [`rec_group`] is the first one of the output's type section, so the type
//!   index constants ([`WORDS`], [`MEMBOX`], …) are absolute type indices.
//!
//! # Helpers
//!
//! gc-lower emits loads and stores inline on the word array (its `memory_access` module, which
//! keeps the array and the bound in locals, from [`Helper::MemoryWhole`]); the other memory and table instructions,
//! and loads and stores when that emitter is not chosen, become calls to the helper functions
//! of [`helpers`]:
//! self-contained function bodies (they use only the types above, and the only function one
//! calls is a load's or store's own slow path) that check bounds exactly as core wasm does and
//! trap with `unreachable`. The rewriter leaves the
//! instruction's operands on the stack and pushes the box and, for memory accesses, the static
//! offset:
//!
//! ```wat
//! ;; core
//! (i32.load offset=4 (local.get $p))
//! ;; reified: the memory box comes from the vmctx, the offset becomes an i64 operand
//! (call $gc-lower:i32.load
//!   (local.get $p)
//!   (struct.get $vmctx $memory0 (local.get $vmctx))
//!   (i64.const 4))
//! ```
//!
//! `$gc-lower:i32.load` computes the effective address `zext(p) + 4` in i64 (no 32-bit wrap)
//! and reads the value from the word array ([`words`]: one `array.get` when the address is
//! aligned, two otherwise) when `ea + 4 <= $bound`; otherwise it
//! returns what `$gc-lower:i32.load:past-bound` does with the same arguments, which traps
//! unless `ea + 4 <= $pages * 65536` and extends the array before the load. The slow path is
//! out of line so that the fast path holds nothing across a call (on wasmtime it then saves
//! fewer callee-saved registers on every access; BENCHMARKS.md, "Helpers with the slow path
//! out of line").
//!
//! `memory.init` cannot be a self-contained helper (it names a data segment), so
//! [`Helper::MemoryInitCheck`] does the checks and returns the operands for an
//! `array.new_data $BYTES $seg` that the rewriter emits right after the call, followed by
//! [`Helper::MemoryInitWrite`], which writes those bytes into the memory's word array.

#![deny(missing_docs)]

pub mod helpers;
pub mod layout;
pub mod words;

pub use helpers::{
    ARRAY_GRANULE, GEOMETRIC_GROWTH_CAP, Helper, HelperFunc, LoadKind, MAX_MEMORY_BYTES,
    MAX_TABLE_ELEMENTS, PAGE_SIZE, SPARSE_FROM_BYTES, StoreKind, TableKind, all_helpers, helper,
};
pub use layout::{
    BOX_CLOSURE, BOX_EXTERN, BOX_F32, BOX_F64, BOX_I32, BOX_I64, BYTES, CLOSURE, EXTERN_TABLEBOX,
    EXTERNS, FUNCS, HANDLE_TABLE, HANDLES, MEMBOX, NUM_TYPES, SPARSE, TABLEBOX, WORDS,
    box_type_for, box_types, field, rec_group, ref_non_null, ref_null, type_names,
};
