//! The GC types of reified instance state, declared once as data.
//!
//! One table (the `layouts!` invocation below) lists every type of the rec group in order, with
//! its fields. The macro derives everything else from it, so the three views can never disagree:
//!
//! - the type index constants ([`WORDS`], [`MEMBOX`], …) and [`NUM_TYPES`];
//! - the field index constants in [`field`];
//! - the wasm-encoder [`SubType`]s returned by [`rec_group`].
//!
//! The fuser emits [`rec_group`] as the FIRST rec group of the output's type section, so the type
//! index constants are absolute type indices of the output module. Every type is final and has no
//! supertype; all of them live in one rec group, so their identity does not depend on the types the
//! fuser adds after them.
//!
//! ```wat
//! (rec
//!   (type $words (array (mut i32)))                                        ;; 0  WORDS
//!   (type $membox (struct (field $words (mut (ref $words))) (field $pages (mut i32))
//!                         (field $max_pages i32) (field $bound (mut i64))
//!                         (field $sparse (mut (ref null $sparse)))))      ;; 1  MEMBOX
//!   (type $closure (struct (field $func i32) (field $ctx anyref)))          ;; 2  CLOSURE
//!   (type $funcs (array (mut (ref null $closure))))                         ;; 3  FUNCS
//!   (type $tablebox (struct (field $elems (mut (ref $funcs))) (field $max i32))) ;; 4 TABLEBOX
//!   (type $externs (array (mut externref)))                                 ;; 5  EXTERNS
//!   (type $extern_tablebox (struct (field $elems (mut (ref $externs)))
//!                                  (field $max i32)))                       ;; 6  EXTERN_TABLEBOX
//!   (type (struct (field (mut i32))))                                       ;; 7  BOX_I32
//!   (type (struct (field (mut i64))))                                       ;; 8  BOX_I64
//!   (type (struct (field (mut f32))))                                       ;; 9  BOX_F32
//!   (type (struct (field (mut f64))))                                       ;; 10 BOX_F64
//!   (type (struct (field (mut (ref null $closure)))))                       ;; 11 BOX_CLOSURE
//!   (type (struct (field (mut externref))))                                 ;; 12 BOX_EXTERN
//!   (type $handles (array (mut i32)))                                       ;; 13 HANDLES
//!   (type $handle_table (struct (field $slots (mut (ref $handles)))
//!                               (field $next (mut i32)) (field $len (mut i32)))))
//!                                                                           ;; 14 HANDLE_TABLE
//!   (type $bytes (array (mut i8)))                                         ;; 15 BYTES
//!   (type $sparse (array (mut (ref null $words))))                         ;; 16 SPARSE
//! ```

use wasm_encoder::{
    ArrayType, CompositeInnerType, CompositeType, FieldType, HeapType, RefType, StorageType,
    StructType, SubType, ValType,
};

/// A value type written the way the layout table spells it: `i32`, `anyref`,
/// `(ref $T)`, `(ref null $T)` where `$T` is a type index constant of this module.
macro_rules! val_type {
    (i32) => {
        ValType::I32
    };
    (i64) => {
        ValType::I64
    };
    (f32) => {
        ValType::F32
    };
    (f64) => {
        ValType::F64
    };
    (anyref) => {
        ValType::Ref(RefType::ANYREF)
    };
    (externref) => {
        ValType::Ref(RefType::EXTERNREF)
    };
    ((ref null $ty:ident)) => {
        ValType::Ref(RefType {
            nullable: true,
            heap_type: HeapType::Concrete($ty),
        })
    };
    ((ref $ty:ident)) => {
        ValType::Ref(RefType {
            nullable: false,
            heap_type: HeapType::Concrete($ty),
        })
    };
}

/// A storage type: the packed `i8`/`i16` or a `val_type!`.
macro_rules! storage_type {
    (i8) => {
        StorageType::I8
    };
    (i16) => {
        StorageType::I16
    };
    ($ty:tt) => {
        StorageType::Val(val_type!($ty))
    };
}

/// A field type: `(mut S)` or `S` (immutable).
macro_rules! field_type {
    ((mut $ty:tt)) => {
        FieldType {
            element_type: storage_type!($ty),
            mutable: true,
        }
    };
    ($ty:tt) => {
        FieldType {
            element_type: storage_type!($ty),
            mutable: false,
        }
    };
}

/// The layout table's interpreter. Entries:
///
/// - `array NAME = FIELD;`
/// - `struct NAME { FIELD_CONST: FIELD, ... }` — each field gets its own index constant;
/// - `boxes FIELD_CONST { NAME: VALTYPE, ... }` — a family of single-field structs
///   `(struct (field (mut VALTYPE)))` sharing one field index constant.
///
/// Internal rules (`@...`) walk the entries with an accumulated index expression, since
/// `macro_rules!` cannot count otherwise.
macro_rules! layouts {
    // ---- type index constants ----
    (@types $idx:expr;) => {
        /// The number of types in [`rec_group`]; the first type index the fuser may use for its own
        /// types.
        pub const NUM_TYPES: u32 = $idx;
    };
    (@types $idx:expr; $(#[$doc:meta])* array $name:ident = $f:tt; $($rest:tt)*) => {
        $(#[$doc])*
        pub const $name: u32 = $idx;
        layouts!(@types $idx + 1; $($rest)*);
    };
    (@types $idx:expr; $(#[$doc:meta])* struct $name:ident { $($body:tt)* } $($rest:tt)*) => {
        $(#[$doc])*
        pub const $name: u32 = $idx;
        layouts!(@types $idx + 1; $($rest)*);
    };
    (@types $idx:expr; $(#[$doc:meta])* boxes $fname:ident { } $($rest:tt)*) => {
        layouts!(@types $idx; $($rest)*);
    };
    (@types $idx:expr; $(#[$doc:meta])* boxes $fname:ident {
        $(#[$bdoc:meta])* $name:ident : $vty:tt $(, $($more:tt)*)?
    } $($rest:tt)*) => {
        $(#[$bdoc])*
        pub const $name: u32 = $idx;
        layouts!(@types $idx + 1; boxes $fname { $($($more)*)? } $($rest)*);
    };

    // ---- field index constants ----
    (@fields) => {};
    (@fields $(#[$doc:meta])* array $name:ident = $f:tt; $($rest:tt)*) => {
        layouts!(@fields $($rest)*);
    };
    (@fields $(#[$doc:meta])* struct $name:ident {
        $($(#[$fdoc:meta])* $fname:ident : $fty:tt),* $(,)?
    } $($rest:tt)*) => {
        layouts!(@field_list 0; $($(#[$fdoc])* $fname),*);
        layouts!(@fields $($rest)*);
    };
    (@fields $(#[$doc:meta])* boxes $fname:ident { $($body:tt)* } $($rest:tt)*) => {
        $(#[$doc])*
        pub const $fname: u32 = 0;
        layouts!(@fields $($rest)*);
    };
    (@field_list $idx:expr;) => {};
    (@field_list $idx:expr; $(#[$fdoc:meta])* $fname:ident $(, $($rest:tt)*)?) => {
        $(#[$fdoc])*
        pub const $fname: u32 = $idx;
        layouts!(@field_list $idx + 1; $($($rest)*)?);
    };

    // ---- wasm-encoder types ----
    (@subtypes $v:ident;) => {};
    (@subtypes $v:ident; $(#[$doc:meta])* array $name:ident = $f:tt; $($rest:tt)*) => {
        $v.push(sub_type(CompositeInnerType::Array(ArrayType(field_type!($f)))));
        layouts!(@subtypes $v; $($rest)*);
    };
    (@subtypes $v:ident; $(#[$doc:meta])* struct $name:ident {
        $($(#[$fdoc:meta])* $fname:ident : $fty:tt),* $(,)?
    } $($rest:tt)*) => {
        $v.push(sub_type(CompositeInnerType::Struct(StructType {
            fields: Box::new([$(field_type!($fty)),*]),
        })));
        layouts!(@subtypes $v; $($rest)*);
    };
    (@subtypes $v:ident; $(#[$doc:meta])* boxes $fname:ident {
        $($(#[$bdoc:meta])* $name:ident : $vty:tt),* $(,)?
    } $($rest:tt)*) => {
        $(
            $v.push(sub_type(CompositeInnerType::Struct(StructType {
                fields: Box::new([field_type!((mut $vty))]),
            })));
        )*
        layouts!(@subtypes $v; $($rest)*);
    };

    // ---- the boxes' value types ----
    (@boxed $v:ident;) => {};
    (@boxed $v:ident; $(#[$doc:meta])* array $name:ident = $f:tt; $($rest:tt)*) => {
        layouts!(@boxed $v; $($rest)*);
    };
    (@boxed $v:ident; $(#[$doc:meta])* struct $name:ident { $($body:tt)* } $($rest:tt)*) => {
        layouts!(@boxed $v; $($rest)*);
    };
    (@boxed $v:ident; $(#[$doc:meta])* boxes $fname:ident {
        $($(#[$bdoc:meta])* $name:ident : $vty:tt),* $(,)?
    } $($rest:tt)*) => {
        $( $v.push(($name, val_type!($vty))); )*
        layouts!(@boxed $v; $($rest)*);
    };

    // ---- names ----
    (@names $v:ident;) => {};
    (@names $v:ident; $(#[$doc:meta])* array $name:ident = $f:tt; $($rest:tt)*) => {
        $v.push(($name, stringify!($name).to_lowercase(), Vec::new()));
        layouts!(@names $v; $($rest)*);
    };
    (@names $v:ident; $(#[$doc:meta])* struct $name:ident {
        $($(#[$fdoc:meta])* $fname:ident : $fty:tt),* $(,)?
    } $($rest:tt)*) => {
        $v.push((
            $name,
            stringify!($name).to_lowercase(),
            vec![$(field_name(stringify!($name), stringify!($fname))),*],
        ));
        layouts!(@names $v; $($rest)*);
    };
    (@names $v:ident; $(#[$doc:meta])* boxes $fname:ident {
        $($(#[$bdoc:meta])* $name:ident : $vty:tt),* $(,)?
    } $($rest:tt)*) => {
        $( $v.push(($name, stringify!($name).to_lowercase(), vec!["value".to_string()])); )*
        layouts!(@names $v; $($rest)*);
    };

    // ---- entry point ----
    ($($table:tt)*) => {
        layouts!(@types 0; $($table)*);

        /// Field indices of the struct types in [`rec_group`], for `struct.get`/`struct.set`.
        pub mod field {
            layouts!(@fields $($table)*);
        }

        /// The types of the rec group, in index order: `rec_group()[i]` is type `i`.
        pub fn rec_group() -> Vec<SubType> {
            let mut types = Vec::with_capacity(NUM_TYPES as usize);
            layouts!(@subtypes types; $($table)*);
            types
        }

        /// Every type of the rec group with its name and its fields' names (struct types),
        /// for the output's `name` section: the constant in lower case (`membox`), and each
        /// field's constant without the type's prefix (`MEMBOX_PAGES` → `pages`; a box's one
        /// field is `value`). In index order.
        #[expect(
            clippy::vec_init_then_push,
            reason = "the pushes come from walking the layout table"
        )]
        pub fn type_names() -> Vec<(u32, String, Vec<String>)> {
            let mut names = Vec::new();
            layouts!(@names names; $($table)*);
            names
        }

        /// Every box type of the rec group with the value type its single mutable field
        /// ([`field::BOX_VALUE`]) holds, in index order.
        #[expect(
            clippy::vec_init_then_push,
            reason = "the pushes come from walking the layout table"
        )]
        pub fn box_types() -> Vec<(u32, ValType)> {
            let mut boxes = Vec::new();
            layouts!(@boxed boxes; $($table)*);
            boxes
        }
    };
}

layouts! {
    /// `(array (mut i32))`: the bytes of one linear memory, four per element: byte `a` of the
    /// memory is byte `a & 3` (little-endian) of element `a >> 2` (see [`crate::words`]).
    ///
    /// The array covers the bytes written or read so far, not the whole memory: it may be
    /// shorter than the memory's logical size ([`field::MEMBOX_PAGES`] pages of 65536 bytes),
    /// and every byte of the memory past its end is zero unless a sparse page holds it (see
    /// [`field::MEMBOX_SPARSE`]). It may also be longer; every element
    /// past the logical size is zero.
    array WORDS = (mut i32);

    /// A linear memory: `(struct (field $words (mut (ref $words))) (field $pages (mut i32))
    /// (field $max_pages i32) (field $bound (mut i64)) (field $sparse (mut (ref null
    /// $sparse))))`.
    ///
    /// Every instance that imports a memory holds the same box, so a `memory.grow` or a first
    /// access that swaps in a longer word array is seen by all of them.
    struct MEMBOX {
        /// `(mut (ref $words))`: the word array, holding bytes `0 .. 4 * array.len` of the
        /// memory (a multiple of [`ARRAY_GRANULE`](crate::ARRAY_GRANULE) bytes); the memory's
        /// bytes past it are zero, or on a sparse page (the `$sparse` field).
        MEMBOX_WORDS: (mut (ref WORDS)),
        /// `(mut i32)`: the logical size in pages of 65536 bytes (what `memory.size` returns).
        MEMBOX_PAGES: (mut i32),
        /// `i32`: the memory type's maximum in pages, as u32; 65536 when the type has none.
        MEMBOX_MAX_PAGES: i32,
        /// `(mut i64)`: `min(4 * array.len $words, $pages * 65536)`, in bytes: an access that ends
        /// at or below it reads and writes the array directly; one that ends past it either
        /// extends the array first ([`Helper::MemoryTouch`](crate::Helper::MemoryTouch)) or
        /// traps. It could be derived from the other fields; it is kept because it makes the
        /// helpers' fast path (every load and store outside inline loops) one comparison with
        /// one field instead of two comparisons and three reads.
        MEMBOX_BOUND: (mut i64),
        /// `(mut (ref null $sparse))`: the pages written past the word array's end far from it
        /// (null until the first): see [`SPARSE`](crate::SPARSE). Every page it holds lies wholly past
        /// `4 * array.len $words`; extending the word array moves the pages it then covers
        /// into it.
        MEMBOX_SPARSE: (mut (ref null SPARSE)),
    }

    /// A table element: `(struct (field $func i32) (field $ctx anyref))`, a function paired
    /// with the vmctx (or other context) it must be called with. Immutable.
    ///
    /// The function is a slot of the output's closure table (a `funcref` table of entry
    /// thunks), called with `call_indirect`, whose signature check is the one a cast would make:
    /// a function reference read from a GC object costs wasmtime a call into the runtime
    /// (`get_interned_func_ref`), an `i32` costs nothing.
    struct CLOSURE {
        /// `i32`: the function's slot in the output's closure table.
        CLOSURE_FUNC: i32,
        /// `anyref`: the context passed as the function's last parameter.
        CLOSURE_CTX: anyref,
    }

    /// `(array (mut (ref null $closure)))`: the elements of one table, or a materialized passive
    /// element segment.
    array FUNCS = (mut (ref null CLOSURE));

    /// A table: `(struct (field $elems (mut (ref $funcs))) (field $max i32))`.
    ///
    /// The table's size in elements is exactly `array.len` of `$elems`.
    struct TABLEBOX {
        /// `(mut (ref $funcs))`: the elements; `table.grow` swaps in a new, exactly sized array.
        TABLEBOX_ELEMS: (mut (ref FUNCS)),
        /// `i32`: the table type's maximum in elements, as u32; `0xffff_ffff` (-1) when it has
        /// none.
        TABLEBOX_MAX: i32,
    }

    /// `(array (mut externref))`: the elements of one `externref` table, or a materialized passive
    /// element segment of `externref`s.
    array EXTERNS = (mut externref);

    /// An `externref` table: `(struct (field $elems (mut (ref $externs))) (field $max i32))`, with
    /// the same fields and invariants as [`TABLEBOX`].
    struct EXTERN_TABLEBOX {
        /// `(mut (ref $externs))`: the elements.
        EXTERN_TABLEBOX_ELEMS: (mut (ref EXTERNS)),
        /// `i32`: the maximum in elements, as u32; `0xffff_ffff` (-1) when there is none.
        EXTERN_TABLEBOX_MAX: i32,
    }

    /// The only field of every `BOX_*` type, `(mut T)`: the value of a mutable global that is
    /// shared between instances (exported by one, imported by another) and so is held by
    /// reference, in a box `(struct (field (mut T)))`.
    boxes BOX_VALUE {
        /// `(struct (field (mut i32)))`.
        BOX_I32: i32,
        /// `(struct (field (mut i64)))`.
        BOX_I64: i64,
        /// `(struct (field (mut f32)))`.
        BOX_F32: f32,
        /// `(struct (field (mut f64)))`.
        BOX_F64: f64,
        /// `(struct (field (mut (ref null $closure))))`: a reified `funcref` global.
        BOX_CLOSURE: (ref null CLOSURE),
        /// `(struct (field (mut externref)))`.
        BOX_EXTERN: externref,
    }

    /// `(array (mut i32))`: the slots of a resource handle table, eight `i32`s per slot
    /// (kind, resource table type, rep, the kind's extra word, and a waitable set's list of
    /// waiting tasks and first slot with an event; `resources.wat`), a growable stack of
    /// `i32`s, or the lengths in bytes of a reified instance's data segments.
    array HANDLES = (mut i32);

    /// A component instance's resource handle table: `(struct (field $slots (mut (ref
    /// $handles))) (field $next (mut i32)) (field $len (mut i32)))`, after wasmtime's
    /// `HandleTable` (`runtime/vm/component/handle_table.rs`): handle `h` is slot `h - 1`,
    /// `$next` heads the free list, `$len` slots are in use or free.
    struct HANDLE_TABLE {
        /// `(mut (ref $handles))`: the slots; replaced by a longer array when full.
        HANDLE_TABLE_SLOTS: (mut (ref HANDLES)),
        /// `(mut i32)`: the first free slot.
        HANDLE_TABLE_NEXT: (mut i32),
        /// `(mut i32)`: the number of slots ever allocated.
        HANDLE_TABLE_LEN: (mut i32),
    }

    /// `(array (mut i8))`: the bytes of a data segment (or part of one), made by
    /// `array.new_data` for `memory.init` on a reified memory, which
    /// [`Helper::MemoryInitWrite`](crate::Helper::MemoryInitWrite) copies into the memory's
    /// [`WORDS`].
    array BYTES = (mut i8);

    /// `(array (mut (ref null $words)))`: a memory's sparse pages, indexed by page number
    /// (`addr >> 16`), each a [`WORDS`] of 16 384 elements (64 KiB) or null (zero). An access
    /// far past the word array's end (see
    /// [`SPARSE_FROM_BYTES`](crate::SPARSE_FROM_BYTES)) reads and writes these instead of
    /// extending the array to reach it, so a few words written high in a large memory cost a
    /// page each. Its length is the memory's maximum in pages.
    array SPARSE = (mut (ref null WORDS));
}

/// The name of field constant `field` of struct `ty`: without the `{ty}_` prefix, in lower
/// case.
fn field_name(ty: &str, field: &str) -> String {
    field
        .strip_prefix(ty)
        .and_then(|f| f.strip_prefix('_'))
        .unwrap_or(field)
        .to_lowercase()
}

fn sub_type(inner: CompositeInnerType) -> SubType {
    SubType {
        is_final: true,
        supertype_idx: None,
        composite_type: CompositeType {
            inner,
            shared: false,
            descriptor: None,
            describes: None,
        },
    }
}

/// The box type (one of the `BOX_*` constants) that holds a shared mutable global of value type
/// `ty`, where `ty` is already reified (a `funcref` global has become `(ref null $closure)`).
///
/// The match is exact: `None` for `v128`, for non-nullable references and for reference types
/// without a box.
pub fn box_type_for(ty: ValType) -> Option<u32> {
    box_types()
        .into_iter()
        .find(|(_, boxed)| *boxed == ty)
        .map(|(index, _)| index)
}

/// `(ref null $ty)` for a type index of this rec group (or any other concrete type index).
pub fn ref_null(ty: u32) -> ValType {
    ValType::Ref(RefType {
        nullable: true,
        heap_type: HeapType::Concrete(ty),
    })
}

/// `(ref $ty)`, non-nullable, for a type index of this rec group (or any other concrete type
/// index).
pub fn ref_non_null(ty: u32) -> ValType {
    ValType::Ref(RefType {
        nullable: false,
        heap_type: HeapType::Concrete(ty),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_follow_the_table() {
        assert_eq!(
            [
                WORDS,
                MEMBOX,
                CLOSURE,
                FUNCS,
                TABLEBOX,
                EXTERNS,
                EXTERN_TABLEBOX,
                BOX_I32,
                BOX_I64,
                BOX_F32,
                BOX_F64,
                BOX_CLOSURE,
                BOX_EXTERN,
                HANDLES,
                HANDLE_TABLE,
                BYTES,
                SPARSE,
            ],
            [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]
        );
        assert_eq!(NUM_TYPES, 17);
        assert_eq!(rec_group().len(), NUM_TYPES as usize);
        assert_eq!(
            [
                field::MEMBOX_WORDS,
                field::MEMBOX_PAGES,
                field::MEMBOX_MAX_PAGES,
                field::MEMBOX_BOUND,
                field::MEMBOX_SPARSE,
                field::CLOSURE_FUNC,
                field::CLOSURE_CTX,
                field::TABLEBOX_ELEMS,
                field::TABLEBOX_MAX,
                field::EXTERN_TABLEBOX_ELEMS,
                field::EXTERN_TABLEBOX_MAX,
                field::BOX_VALUE,
            ],
            [0, 1, 2, 3, 4, 0, 1, 0, 1, 0, 1, 0]
        );
    }

    #[test]
    fn boxes() {
        assert_eq!(box_type_for(ValType::I32), Some(BOX_I32));
        assert_eq!(box_type_for(ValType::F64), Some(BOX_F64));
        assert_eq!(box_type_for(ref_null(CLOSURE)), Some(BOX_CLOSURE));
        assert_eq!(box_type_for(ValType::EXTERNREF), Some(BOX_EXTERN));
        assert_eq!(box_type_for(ref_non_null(CLOSURE)), None);
        assert_eq!(box_type_for(ValType::FUNCREF), None);
        assert_eq!(box_type_for(ValType::V128), None);
    }
}
