//! The copy of a stream's or future's items whose type is not flat (strings, lists, records,
//! variants, flags, handles, and what holds them) between two component instances' memories,
//! generated per pair of types as a [`Template`].
//!
//! wasmtime lifts such items from the writer's memory into host values and lowers them into
//! the reader's (`Val::load` and `Val::store` in `runtime/component/values.rs`, called by
//! `copy` in `concurrent/futures_and_streams.rs`). The generated template does the same in one
//! pass over each item, with the same results: scalars are copied (a `bool` arrives as 0 or 1,
//! a `char` is checked, flags keep only the bits of their flags), a discriminant out of range
//! traps, a string is checked as UTF-8 and copied into a block the reader's `realloc` gives
//! (`realloc(0, 0, 1, len)`), a list into one of `realloc(0, 0, align, len * size)`, an own
//! handle moves from the writer's table into the reader's. What wasmtime checks before it
//! stores anything (a string's or list's bounds) traps here where the access does.
//!
//! The template's memory 0 is the write site's memory and memory 1 the read site's; it imports
//! `realloc` (the reader's, called as the canonical ABI calls it: with the reader's context
//! slots cleared and its may-leave flag cleared, see `transmit.rs`) and the resources
//! template's `transfer-own` (and for error contexts, the error contexts' template's
//! `transfer`: an error context is lifted from the writer's table, which keeps its handle,
//! and lowered into the reader's as a new handle to the same message; for future and stream
//! ends, the transmit template's `transfer`: a readable end moves from the writer's table
//! into the reader's with the checks of wasmtime's `lift_index_to_transmit`). Exports: `copy-stream (src, dst, count, intra)` and
//! `copy-future (src, dst, intra)`, which check both addresses' alignment, refuse a copy within
//! one component instance (`intra`), then copy `count` (or one) items.
//!
//! Strings in any encoding on either side: UTF-8 to UTF-8 is checked and copied as above; any
//! other pair is lifted as wasmtime's `WasmStr` lifts the writer's encoding (alignment,
//! bounds, UTF-8 or unpaired surrogates) and lowered as its `lower_string` lowers the
//! reader's, with the same `realloc` calls.
//!
//! wasmtime lifts every item of a copy before it lowers any; the template lifts and lowers
//! value by value (each field, element or entry as it comes). The `realloc` calls are the
//! same when nothing traps, but where a value's lowering traps (its `realloc` result
//! misaligned or out of bounds) and a later value's lift would trap too (bad UTF-8, an
//! unknown handle, an end in a waitable set), the output traps at the first and wasmtime at
//! the second, without calling `realloc`; and a handle or end moved before such a trap has
//! left the writer's table, where wasmtime's lift of a later one fails first.
//!
//! Supported: every type but `borrow` handles, which are [`Unsupported`](crate::Unsupported)
//! when lowering.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Mutex, OnceLock};

use anyhow::Result;
use wasmtime_environ::component::{ComponentTypes, InterfaceType, StringEncoding};

use crate::error::not_yet;
use crate::template::Template;

/// The generated template for `text`, parsed once per process (templates are `'static`).
pub(crate) fn template(text: String) -> Result<&'static Template> {
    static CACHE: OnceLock<Mutex<HashMap<String, &'static Template>>> = OnceLock::new();
    let mut cache = CACHE
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(t) = cache.get(&text) {
        return Ok(t);
    }
    let name: &'static str = Box::leak(format!("payload{}", cache.len()).into_boxed_str());
    let wat: &'static str = Box::leak(text.clone().into_boxed_str());
    let parsed: &'static Template = Box::leak(Box::new(Template::parse(name, wat)?));
    cache.insert(text, parsed);
    Ok(parsed)
}

/// Whether items of `ty` need the generated copy: anything but numbers, `bool`, `char` and
/// nothing, which `transmit.wat` moves itself.
pub(crate) fn is_generic(ty: Option<InterfaceType>) -> bool {
    !matches!(
        ty,
        None | Some(
            InterfaceType::S8
                | InterfaceType::U8
                | InterfaceType::S16
                | InterfaceType::U16
                | InterfaceType::S32
                | InterfaceType::U32
                | InterfaceType::S64
                | InterfaceType::U64
                | InterfaceType::Float32
                | InterfaceType::Float64
                | InterfaceType::Bool
                | InterfaceType::Char
        )
    )
}

/// The string encodings of the two sides of a copy: the writer's (`src`, memory 0) and the
/// reader's (`dst`, memory 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Encodings {
    /// The writer's canonical options' string encoding.
    pub src: StringEncoding,
    /// The reader's.
    pub dst: StringEncoding,
}

/// The number by which the copy template's string functions name `encoding`.
fn encoding_code(encoding: StringEncoding) -> u32 {
    match encoding {
        StringEncoding::Utf8 => 0,
        StringEncoding::Utf16 => 1,
        StringEncoding::CompactUtf16 => 2,
    }
}

/// Fails with [`Unsupported`](crate::Unsupported) unless items of `ty` can be copied by the
/// generated template when both sides use `encoding`.
pub(crate) fn check_supported(
    types: &ComponentTypes,
    ty: InterfaceType,
    encoding: StringEncoding,
) -> Result<()> {
    let mut g = Gen::new(types);
    let encoding = Encodings {
        src: encoding,
        dst: encoding,
    };
    g.value(ty, ty, 0, 1, encoding)
}

/// Whether values of `a` and `b` have the same shape (the same type in two instances' views:
/// handles may name different resource tables).
pub(crate) fn same_shape(types: &ComponentTypes, a: InterfaceType, b: InterfaceType) -> bool {
    use InterfaceType as T;
    let opt = |x: Option<T>, y: Option<T>| match (x, y) {
        (None, None) => true,
        (Some(x), Some(y)) => same_shape(types, x, y),
        _ => false,
    };
    match (a, b) {
        (T::Record(x), T::Record(y)) => {
            let (x, y) = (&types[x].fields, &types[y].fields);
            x.len() == y.len()
                && x.iter()
                    .zip(y.iter())
                    .all(|(f, g)| same_shape(types, f.ty, g.ty))
        }
        (T::Tuple(x), T::Tuple(y)) => {
            let (x, y) = (&types[x].types, &types[y].types);
            x.len() == y.len()
                && x.iter()
                    .zip(y.iter())
                    .all(|(f, g)| same_shape(types, *f, *g))
        }
        (T::Variant(x), T::Variant(y)) => {
            let (x, y) = (&types[x].cases, &types[y].cases);
            x.len() == y.len() && x.values().zip(y.values()).all(|(f, g)| opt(*f, *g))
        }
        (T::Enum(x), T::Enum(y)) => types[x].names.len() == types[y].names.len(),
        (T::Flags(x), T::Flags(y)) => types[x].names.len() == types[y].names.len(),
        (T::Option(x), T::Option(y)) => same_shape(types, types[x].ty, types[y].ty),
        (T::Result(x), T::Result(y)) => {
            opt(types[x].ok, types[y].ok) && opt(types[x].err, types[y].err)
        }
        (T::List(x), T::List(y)) => same_shape(types, types[x].element, types[y].element),
        (T::Future(x), T::Future(y)) => opt(types[types[x].ty].payload, types[types[y].ty].payload),
        (T::Stream(x), T::Stream(y)) => opt(types[types[x].ty].payload, types[types[y].ty].payload),
        (T::Map(x), T::Map(y)) => {
            same_shape(types, types[x].key, types[y].key)
                && same_shape(types, types[x].value, types[y].value)
        }
        (T::FixedLengthList(x), T::FixedLengthList(y)) => {
            types[x].size == types[y].size && same_shape(types, types[x].element, types[y].element)
        }
        (T::Own(_), T::Own(_)) => true,
        (a, b) => std::mem::discriminant(&a) == std::mem::discriminant(&b),
    }
}

/// A copy template's text, and what it needs bound beyond `realloc` and `transfer-own`.
pub(crate) struct CopyText {
    /// The template's WAT.
    pub text: String,
    /// Whether it calls its import `transfer-error-context` (`(handle, src table type, dst
    /// table type) -> handle`, the error contexts' template's `transfer`).
    pub error_contexts: bool,
    /// Whether it calls its import `transfer-future` (`(handle, src table type, dst table
    /// type) -> handle`, FACT's `future-transfer`).
    pub futures: bool,
    /// Whether it calls its import `transfer-stream` (likewise, `stream-transfer`).
    pub streams: bool,
}

/// The WAT of the copy template from the writer's item type `from` to the reader's `to` (of
/// the same shape), their strings in `encoding`.
///
/// Errors: [`Unsupported`](crate::Unsupported) for what the module docs list as unsupported.
pub(crate) fn copy_template(
    types: &ComponentTypes,
    from: InterfaceType,
    to: InterfaceType,
    encoding: Encodings,
) -> Result<CopyText> {
    let mut g = Gen::new(types);
    // Locals 0 and 1 are the item's addresses in memories 0 and 1.
    g.value(from, to, 0, 1, encoding)?;
    let abi = types.canonical_abi(&to);
    let (size, align) = (abi.size32, abi.align32);
    let mut wat = String::from(PRELUDE);
    wat.push_str(UTF8_CHECK);
    wat.push_str(UTF16_DECODE);
    wat.push_str(STRINGS);
    let locals = " i32".repeat((g.locals - 2) as usize);
    let _ = writeln!(
        wat,
        "  (func $copy (param i32 i32){}\n{}  )",
        if locals.is_empty() {
            String::new()
        } else {
            format!(" (local{locals})")
        },
        g.body
    );
    let _ = write!(
        wat,
        r#"
  ;; Both addresses aligned, no copy within one instance, then `count` items.
  (func (export "copy-stream") (param $src i32) (param $dst i32) (param $count i32)
    (param $intra i32)
    (local $i i32)
    (if (local.get $count)
      (then
        (if (i32.and (local.get $src) (i32.const {mask}))
          (then (call $unaligned_write)))
        (if (i32.and (local.get $dst) (i32.const {mask}))
          (then (call $unaligned_read)))))
    (if (local.get $intra) (then (call $intra)))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
        (call $copy
          (i32.add (local.get $src) (i32.mul (local.get $i) (i32.const {size})))
          (i32.add (local.get $dst) (i32.mul (local.get $i) (i32.const {size}))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each))))
  (func (export "copy-future") (param $src i32) (param $dst i32) (param $intra i32)
    (if (i32.and (local.get $src) (i32.const {mask})) (then (call $unaligned_write)))
    (if (i32.and (local.get $dst) (i32.const {mask})) (then (call $unaligned_read)))
    (if (local.get $intra) (then (call $intra)))
    (call $copy (local.get $src) (local.get $dst)))
)
"#,
        mask = align - 1,
    );
    Ok(CopyText {
        text: wat,
        error_contexts: g.error_contexts,
        futures: g.futures,
        streams: g.streams,
    })
}

/// The fixed part of every copy template: imports, memories, traps ([`UTF8_CHECK`] follows).
const PRELUDE: &str = r#"(module
  ;; The reader's `realloc`, the resources template's `transfer-own`, and the error contexts'
  ;; and the future and stream ends' `transfer` (the last three bound when called, or when a
  ;; later one is, to a function that traps).
  (import "env" "realloc" (func $realloc (param i32 i32 i32 i32) (result i32)))
  (import "env" "transfer-own" (func $transfer_own (param i32 i32 i32) (result i32)))
  (import "env" "transfer-error-context"
    (func $transfer_error_context (param i32 i32 i32) (result i32)))
  (import "env" "transfer-future" (func $transfer_future (param i32 i32 i32) (result i32)))
  (import "env" "transfer-stream" (func $transfer_stream (param i32 i32 i32) (result i32)))
  (memory 0)
  (memory 0)
  (func $unaligned_write (export "trap:write-pointer-not-aligned") unreachable)
  (func $unaligned_read (export "trap:read-pointer-not-aligned") unreachable)
  (func $intra
    (export
      "trap:cannot-read-from-and-write-to-intra-component-future-or-stream-with-non-numeric-payload")
    unreachable)
  (func $bad_char (export "trap:converted-integer-out-of-range-for-char") unreachable)
  (func $bad_case (export "trap:discriminant-out-of-range") unreachable)
  (func $too_long (export "trap:string-or-list-too-large") unreachable)
  (func $list_bounds (export "trap:list-pointer-or-length-out-of-bounds-of-memory") unreachable)
  (func $string_bounds (export "trap:string-pointer-or-length-out-of-bounds-of-memory") unreachable)
  (func $list_unaligned (export "trap:list-pointer-is-not-aligned") unreachable)
  (func $map_bounds (export "trap:map-pointer-or-length-out-of-bounds-of-memory") unreachable)
  (func $map_unaligned (export "trap:map-pointer-is-not-aligned") unreachable)
  (func $realloc_unaligned (export "trap:realloc-return-result-not-aligned") unreachable)

"#;

/// Template text of `$get_utf16 (p, i, n)`, the code point at unit `i` of the `n` UTF-16
/// units at `p` of template memory 0 with the units it takes above bit 21, trapping in
/// `trap:unpaired-surrogate-found` as Rust's `decode_utf16` fails; and `$utf8_len (c)`, the
/// bytes of code point `c` in UTF-8. Shared by the copy templates and the error contexts'
/// template.
pub(crate) const UTF16_DECODE: &str = r#"  (func $unpaired (export "trap:unpaired-surrogate-found") unreachable)
  ;; The code point of the UTF-16 at unit `i` of the `n` units at `p` (memory 0), with the
  ;; units it takes above bit 21; traps at an unpaired surrogate (Rust's `decode_utf16`).
  (func $get_utf16 (param $p i32) (param $i i32) (param $n i32) (result i32)
    (local $u i32) (local $v i32)
    (local.set $u (i32.load16_u 0 (i32.add (local.get $p) (i32.shl (local.get $i) (i32.const 1)))))
    (if (i32.ne (i32.and (local.get $u) (i32.const 0xf800)) (i32.const 0xd800))
      (then (return (i32.or (local.get $u) (i32.const 0x20_0000)))))
    (if (i32.or (i32.ge_u (local.get $u) (i32.const 0xdc00))
          (i32.ge_u (i32.add (local.get $i) (i32.const 1)) (local.get $n)))
      (then (call $unpaired)))
    (local.set $v (i32.load16_u 0
      (i32.add (local.get $p) (i32.shl (i32.add (local.get $i) (i32.const 1)) (i32.const 1)))))
    (if (i32.ne (i32.and (local.get $v) (i32.const 0xfc00)) (i32.const 0xdc00))
      (then (call $unpaired)))
    (i32.or
      (i32.add (i32.const 0x10000)
        (i32.or (i32.shl (i32.and (local.get $u) (i32.const 0x3ff)) (i32.const 10))
          (i32.and (local.get $v) (i32.const 0x3ff))))
      (i32.const 0x40_0000)))

  ;; The bytes of code point `c` in UTF-8.
  (func $utf8_len (param $c i32) (result i32)
    (if (result i32) (i32.lt_u (local.get $c) (i32.const 0x80))
      (then (i32.const 1))
      (else (if (result i32) (i32.lt_u (local.get $c) (i32.const 0x800))
        (then (i32.const 2))
        (else (select (i32.const 3) (i32.const 4)
          (i32.lt_u (local.get $c) (i32.const 0x10000))))))))

"#;

/// Template text of `$lift_string` and `$lower_string`, the copy of a string in UTF-16 or
/// latin1+UTF-16 on either side (after [`UTF8_CHECK`] and [`UTF16_DECODE`], which it calls).
const STRINGS: &str = r#"
  ;; Strings in UTF-16 or latin1+UTF-16 on either side: lifted from memory 0 as wasmtime's
  ;; `WasmStr` lifts them and lowered into memory 1 as its `lower_string` lowers a string.
  ;; An encoding is 0 (UTF-8), 1 (UTF-16) or 2 (latin1+UTF-16); a source is read as units of
  ;; a kind: 0 UTF-8 bytes, 1 UTF-16 code units, 3 latin1 bytes.
  (func $unaligned_string (export "trap:string-pointer-not-aligned-to-2") unreachable)
  (func $too_large (export "trap:too-large-to-copy-into-wasm") unreachable)
  (func $byte_length (export "trap:byte-length-too-large") unreachable)
  (func $realloc_bounds (export "trap:realloc-return-beyond-end-of-memory") unreachable)

  ;; The kind of a source string of length word `n` in encoding `enc`.
  (func $kind (param $n i32) (param $enc i32) (result i32)
    (if (result i32) (i32.eq (local.get $enc) (i32.const 2))
      (then (select (i32.const 1) (i32.const 3) (i32.lt_s (local.get $n) (i32.const 0))))
      (else (local.get $enc))))

  ;; The code point at unit `i` of the `n` units of kind `kind` at `p` (memory 0), with the
  ;; units it takes above bit 21 (UTF-8 has been checked; UTF-16 is `$get_utf16`'s).
  (func $next (param $p i32) (param $i i32) (param $n i32) (param $kind i32) (result i32)
    (local $u i32) (local $more i32) (local $j i32)
    (if (i32.eq (local.get $kind) (i32.const 3))
      (then (return (i32.or (i32.load8_u 0 (i32.add (local.get $p) (local.get $i)))
        (i32.const 0x20_0000)))))
    (if (i32.eqz (local.get $kind))
      (then
        (local.set $u (i32.load8_u 0 (i32.add (local.get $p) (local.get $i))))
        (if (i32.lt_u (local.get $u) (i32.const 0x80))
          (then (return (i32.or (local.get $u) (i32.const 0x20_0000)))))
        (local.set $more (select (i32.const 1)
          (select (i32.const 2) (i32.const 3) (i32.lt_u (local.get $u) (i32.const 0xf0)))
          (i32.lt_u (local.get $u) (i32.const 0xe0))))
        (local.set $u (i32.and (local.get $u)
          (i32.shr_u (i32.const 0x7f) (i32.add (local.get $more) (i32.const 1)))))
        (local.set $j (i32.const 1))
        (block $done
          (loop $each
            (br_if $done (i32.gt_u (local.get $j) (local.get $more)))
            (local.set $u (i32.or (i32.shl (local.get $u) (i32.const 6))
              (i32.and (i32.load8_u 0 (i32.add (local.get $p)
                (i32.add (local.get $i) (local.get $j)))) (i32.const 0x3f))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $each)))
        (return (i32.or (local.get $u) (i32.shl (local.get $j) (i32.const 21))))))
    (call $get_utf16 (local.get $p) (local.get $i) (local.get $n)))

  ;; Lifts the string with pointer `p` and length word `n` of memory 0 in encoding `enc`
  ;; (`WasmStr::new`: aligned to 2 unless UTF-8, within memory 0; then `to_str`): returns
  ;; its length in UTF-8.
  (func $lift_string (param $p i32) (param $n i32) (param $enc i32) (result i32)
    (local $kind i32) (local $count i32) (local $bytes i64) (local $i i32) (local $c i32)
    (local $len i64)
    (local.set $kind (call $kind (local.get $n) (local.get $enc)))
    (local.set $count (select (i32.and (local.get $n) (i32.const 0x7fff_ffff)) (local.get $n)
      (i32.eq (local.get $enc) (i32.const 2))))
    (if (i32.and (i32.ne (local.get $enc) (i32.const 0)) (i32.and (local.get $p) (i32.const 1)))
      (then (call $unaligned_string)))
    (local.set $bytes (i64.shl (i64.extend_i32_u (local.get $count))
      (i64.extend_i32_u (i32.eq (local.get $kind) (i32.const 1)))))
    (if (i64.gt_u (i64.add (i64.extend_i32_u (local.get $p)) (local.get $bytes))
          (i64.const 0x1_0000_0000))
      (then (call $string_bounds)))
    (if (i64.ne (local.get $bytes) (i64.const 0))
      (then (drop (i32.load8_u 0
        (i32.sub (i32.add (local.get $p) (i32.wrap_i64 (local.get $bytes))) (i32.const 1)))))
      (else (if (local.get $p)
        (then (drop (i32.load8_u 0 (i32.sub (local.get $p) (i32.const 1))))))))
    (if (i32.eqz (local.get $kind))
      (then
        (call $utf8 (local.get $p) (local.get $count))
        (return (local.get $count))))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
        (local.set $c (call $next (local.get $p) (local.get $i) (local.get $count)
          (local.get $kind)))
        (local.set $len (i64.add (local.get $len) (i64.extend_i32_u
          (call $utf8_len (i32.and (local.get $c) (i32.const 0x1f_ffff))))))
        (local.set $i (i32.add (local.get $i) (i32.shr_u (local.get $c) (i32.const 21))))
        (br $each)))
    ;; Past `MAX_STRING_BYTE_LENGTH` in UTF-8: wasmtime's lowering refuses it (in UTF-8 and
    ;; UTF-16; latin1+UTF-16 would try a `realloc` of it first).
    (if (i64.gt_u (local.get $len) (i64.const 0x7fff_ffff)) (then (call $too_large)))
    (i32.wrap_i64 (local.get $len)))

  ;; The reader's `realloc (old, old size, align, size)`, its result checked as wasmtime's
  ;; `LowerContext::realloc` checks it: aligned, and `size` bytes within memory 1.
  (func $realloc_checked (param $old i32) (param $old_size i32) (param $align i32)
    (param $size i32) (result i32)
    (local $q i32)
    (local.set $q (call $realloc (local.get $old) (local.get $old_size) (local.get $align)
      (local.get $size)))
    (if (i32.and (local.get $q) (i32.sub (local.get $align) (i32.const 1)))
      (then (call $realloc_unaligned)))
    (if (i64.gt_u (i64.add (i64.extend_i32_u (local.get $q)) (i64.extend_i32_u (local.get $size)))
          (i64.const 0x1_0000_0000))
      (then (call $realloc_bounds)))
    (if (local.get $size)
      (then (drop (i32.load8_u 1
        (i32.sub (i32.add (local.get $q) (local.get $size)) (i32.const 1)))))
      (else (if (local.get $q)
        (then (drop (i32.load8_u 1 (i32.sub (local.get $q) (i32.const 1))))))))
    (local.get $q))

  ;; Writes code point `c` as UTF-8 at byte `j` of memory 1; returns the byte after it.
  (func $put_utf8 (param $j i32) (param $c i32) (result i32)
    (if (i32.lt_u (local.get $c) (i32.const 0x80))
      (then
        (i32.store8 1 (local.get $j) (local.get $c))
        (return (i32.add (local.get $j) (i32.const 1)))))
    (if (i32.lt_u (local.get $c) (i32.const 0x800))
      (then
        (i32.store8 1 (local.get $j)
          (i32.or (i32.const 0xc0) (i32.shr_u (local.get $c) (i32.const 6))))
        (i32.store8 1 offset=1 (local.get $j)
          (i32.or (i32.const 0x80) (i32.and (local.get $c) (i32.const 0x3f))))
        (return (i32.add (local.get $j) (i32.const 2)))))
    (if (i32.lt_u (local.get $c) (i32.const 0x10000))
      (then
        (i32.store8 1 (local.get $j)
          (i32.or (i32.const 0xe0) (i32.shr_u (local.get $c) (i32.const 12))))
        (i32.store8 1 offset=1 (local.get $j)
          (i32.or (i32.const 0x80)
            (i32.and (i32.shr_u (local.get $c) (i32.const 6)) (i32.const 0x3f))))
        (i32.store8 1 offset=2 (local.get $j)
          (i32.or (i32.const 0x80) (i32.and (local.get $c) (i32.const 0x3f))))
        (return (i32.add (local.get $j) (i32.const 3)))))
    (i32.store8 1 (local.get $j)
      (i32.or (i32.const 0xf0) (i32.shr_u (local.get $c) (i32.const 18))))
    (i32.store8 1 offset=1 (local.get $j)
      (i32.or (i32.const 0x80)
        (i32.and (i32.shr_u (local.get $c) (i32.const 12)) (i32.const 0x3f))))
    (i32.store8 1 offset=2 (local.get $j)
      (i32.or (i32.const 0x80)
        (i32.and (i32.shr_u (local.get $c) (i32.const 6)) (i32.const 0x3f))))
    (i32.store8 1 offset=3 (local.get $j)
      (i32.or (i32.const 0x80) (i32.and (local.get $c) (i32.const 0x3f))))
    (i32.add (local.get $j) (i32.const 4)))

  ;; Writes code point `c` as UTF-16 at unit `j` of the units at `q` (memory 1); returns the
  ;; unit after it.
  (func $put_utf16 (param $q i32) (param $j i32) (param $c i32) (result i32)
    (local $at i32)
    (local.set $at (i32.add (local.get $q) (i32.shl (local.get $j) (i32.const 1))))
    (if (i32.lt_u (local.get $c) (i32.const 0x10000))
      (then
        (i32.store16 1 (local.get $at) (local.get $c))
        (return (i32.add (local.get $j) (i32.const 1)))))
    (local.set $c (i32.sub (local.get $c) (i32.const 0x10000)))
    (i32.store16 1 (local.get $at)
      (i32.or (i32.const 0xd800) (i32.shr_u (local.get $c) (i32.const 10))))
    (i32.store16 1 offset=2 (local.get $at)
      (i32.or (i32.const 0xdc00) (i32.and (local.get $c) (i32.const 0x3ff))))
    (i32.add (local.get $j) (i32.const 2)))

  ;; Writes the code points of the source string (`count` units of `kind` at `p`, memory 0)
  ;; from unit `i` on as UTF-16 from unit `j` of the units at `q` (memory 1); returns the
  ;; unit after the last.
  (func $utf16_from (param $p i32) (param $i i32) (param $count i32) (param $kind i32)
    (param $q i32) (param $j i32) (result i32)
    (local $c i32)
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
        (local.set $c (call $next (local.get $p) (local.get $i) (local.get $count)
          (local.get $kind)))
        (local.set $j (call $put_utf16 (local.get $q) (local.get $j)
          (i32.and (local.get $c) (i32.const 0x1f_ffff))))
        (local.set $i (i32.add (local.get $i) (i32.shr_u (local.get $c) (i32.const 21))))
        (br $each)))
    (local.get $j))

  ;; Lowers the string lifted by `$lift_string` (pointer `p`, length word `n`, encoding
  ;; `enc`, `len` bytes in UTF-8) into memory 1 in encoding `to` as wasmtime's
  ;; `lower_string` does, with the same `realloc` calls, and stores its pointer and length
  ;; word at `dst`.
  (func $lower_string (param $p i32) (param $n i32) (param $enc i32) (param $len i32)
    (param $to i32) (param $dst i32)
    (local $kind i32) (local $count i32) (local $q i32) (local $i i32) (local $c i32)
    (local $j i32) (local $size i32) (local $worst i32) (local $k i32)
    (local.set $kind (call $kind (local.get $n) (local.get $enc)))
    (local.set $count (select (i32.and (local.get $n) (i32.const 0x7fff_ffff)) (local.get $n)
      (i32.eq (local.get $enc) (i32.const 2))))
    (block $stored
      ;; UTF-8: `realloc(0, 0, 1, len)`, each code point encoded.
      (if (i32.eqz (local.get $to))
        (then
          (if (i32.gt_u (local.get $len) (i32.const 0x7fff_ffff)) (then (call $too_large)))
          (local.set $q (call $realloc_checked (i32.const 0) (i32.const 0) (i32.const 1)
            (local.get $len)))
          (local.set $j (local.get $q))
          (block $done
            (loop $each
              (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
              (local.set $c (call $next (local.get $p) (local.get $i) (local.get $count)
                (local.get $kind)))
              (local.set $j (call $put_utf8 (local.get $j)
                (i32.and (local.get $c) (i32.const 0x1f_ffff))))
              (local.set $i (i32.add (local.get $i) (i32.shr_u (local.get $c) (i32.const 21))))
              (br $each)))
          (local.set $j (local.get $len))
          (br $stored)))
      ;; UTF-16: `realloc(0, 0, 2, 2 * len)`, the units, and a shrink when fewer.
      (if (i32.eq (local.get $to) (i32.const 1))
        (then
          (if (i32.gt_u (local.get $len) (i32.const 0x3fff_ffff)) (then (call $too_large)))
          (local.set $size (i32.shl (local.get $len) (i32.const 1)))
          (local.set $q (call $realloc_checked (i32.const 0) (i32.const 0) (i32.const 2)
            (local.get $size)))
          (local.set $j (call $utf16_from (local.get $p) (local.get $i) (local.get $count)
            (local.get $kind) (local.get $q) (i32.const 0)))
          (if (i32.lt_u (i32.shl (local.get $j) (i32.const 1)) (local.get $size))
            (then (local.set $q (call $realloc_checked (local.get $q) (local.get $size)
              (i32.const 2) (i32.shl (local.get $j) (i32.const 1))))))
          (br $stored)))
      ;; latin1+UTF-16: `realloc(0, 0, 2, len)` and latin1 while every code point fits a
      ;; byte; at the first that does not, `realloc(q, len, 2, 2 * len)`, the latin1 so far
      ;; widened, the rest in UTF-16, a shrink to the units, and the length tagged.
      (local.set $q (call $realloc_checked (i32.const 0) (i32.const 0) (i32.const 2)
        (local.get $len)))
      (block $done
        (loop $each
          (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
          (local.set $c (call $next (local.get $p) (local.get $i) (local.get $count)
            (local.get $kind)))
          (if (i32.lt_u (i32.and (local.get $c) (i32.const 0x1f_ffff)) (i32.const 0x100))
            (then
              (i32.store8 1 (i32.add (local.get $q) (local.get $j)) (local.get $c))
              (local.set $j (i32.add (local.get $j) (i32.const 1)))
              (local.set $i (i32.add (local.get $i) (i32.shr_u (local.get $c) (i32.const 21))))
              (br $each)))
          (if (i32.gt_u (local.get $len) (i32.const 0x3fff_ffff)) (then (call $byte_length)))
          (local.set $worst (i32.shl (local.get $len) (i32.const 1)))
          (local.set $q (call $realloc_checked (local.get $q) (local.get $len) (i32.const 2)
            (local.get $worst)))
          (local.set $k (local.get $j))
          (block $widened
            (loop $widen
              (br_if $widened (i32.eqz (local.get $k)))
              (local.set $k (i32.sub (local.get $k) (i32.const 1)))
              (i32.store16 1 (i32.add (local.get $q) (i32.shl (local.get $k) (i32.const 1)))
                (i32.load8_u 1 (i32.add (local.get $q) (local.get $k))))
              (br $widen)))
          (local.set $j (call $utf16_from (local.get $p) (local.get $i) (local.get $count)
            (local.get $kind) (local.get $q) (local.get $j)))
          (if (i32.gt_u (local.get $worst) (i32.shl (local.get $j) (i32.const 1)))
            (then (local.set $q (call $realloc_checked (local.get $q) (local.get $worst)
              (i32.const 2) (i32.shl (local.get $j) (i32.const 1))))))
          (local.set $j (i32.or (local.get $j) (i32.const 0x8000_0000)))
          (br $stored)))
      (if (i32.lt_u (local.get $j) (local.get $len))
        (then (local.set $q (call $realloc_checked (local.get $q) (local.get $len)
          (i32.const 2) (local.get $j))))))
    (i32.store 1 (local.get $dst) (local.get $q))
    (i32.store 1 offset=4 (local.get $dst) (local.get $j)))
"#;

/// Template text of `$utf8 (p, n)`, which traps in `trap:invalid-utf-8` unless the `n` bytes
/// at `p` of template memory 0 are UTF-8, as Rust's `str::from_utf8` decides (wasmtime's
/// lifting of a string); shared by the copy templates and the error contexts' template.
pub(crate) const UTF8_CHECK: &str = r#"  (func $bad_utf8 (export "trap:invalid-utf-8") unreachable)
  ;; Traps unless the `n` bytes at `p` of memory 0 are UTF-8 (Rust's `str::from_utf8`).
  (func $utf8 (param $p i32) (param $n i32)
    (local $i i32) (local $b i32) (local $more i32) (local $lo i32) (local $hi i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $b (i32.load8_u 0 (i32.add (local.get $p) (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $next (i32.lt_u (local.get $b) (i32.const 0x80)))
        ;; The continuation bytes a lead byte needs, and the range of the first.
        (local.set $lo (i32.const 0x80))
        (local.set $hi (i32.const 0xbf))
        (if (i32.lt_u (local.get $b) (i32.const 0xc2)) (then (call $bad_utf8)))
        (if (i32.lt_u (local.get $b) (i32.const 0xe0))
          (then (local.set $more (i32.const 1)))
          (else
            (if (i32.lt_u (local.get $b) (i32.const 0xf0))
              (then
                (local.set $more (i32.const 2))
                (if (i32.eq (local.get $b) (i32.const 0xe0))
                  (then (local.set $lo (i32.const 0xa0))))
                (if (i32.eq (local.get $b) (i32.const 0xed))
                  (then (local.set $hi (i32.const 0x9f)))))
              (else
                (if (i32.gt_u (local.get $b) (i32.const 0xf4)) (then (call $bad_utf8)))
                (local.set $more (i32.const 3))
                (if (i32.eq (local.get $b) (i32.const 0xf0))
                  (then (local.set $lo (i32.const 0x90))))
                (if (i32.eq (local.get $b) (i32.const 0xf4))
                  (then (local.set $hi (i32.const 0x8f))))))))
        (if (i32.gt_u (local.get $more) (i32.sub (local.get $n) (local.get $i)))
          (then (call $bad_utf8)))
        (local.set $b (i32.load8_u 0 (i32.add (local.get $p) (local.get $i))))
        (if (i32.or (i32.lt_u (local.get $b) (local.get $lo))
              (i32.gt_u (local.get $b) (local.get $hi)))
          (then (call $bad_utf8)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (local.set $more (i32.sub (local.get $more) (i32.const 1)))
        (block $cont
          (loop $each
            (br_if $cont (i32.eqz (local.get $more)))
            (local.set $b (i32.load8_u 0 (i32.add (local.get $p) (local.get $i))))
            (if (i32.ne (i32.and (local.get $b) (i32.const 0xc0)) (i32.const 0x80))
              (then (call $bad_utf8)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (local.set $more (i32.sub (local.get $more) (i32.const 1)))
            (br $each)))
        (br $next))))

"#;

/// The generator's state: the copy function's locals (all `i32`) and body, in flat text.
struct Gen<'a> {
    types: &'a ComponentTypes,
    locals: u32,
    body: String,
    /// Whether the body calls `$transfer_error_context`.
    error_contexts: bool,
    /// Whether the body calls `$transfer_future`.
    futures: bool,
    /// Whether the body calls `$transfer_stream`.
    streams: bool,
}

/// The byte size of a discriminant for `cases` cases (`DiscriminantSize::from_count`).
fn discriminant_size(cases: usize) -> u32 {
    if cases <= 1 << 8 {
        1
    } else if cases <= 1 << 16 {
        2
    } else {
        4
    }
}

impl<'a> Gen<'a> {
    fn new(types: &'a ComponentTypes) -> Self {
        Gen {
            types,
            error_contexts: false,
            futures: false,
            streams: false,
            locals: 2,
            body: String::new(),
        }
    }

    fn local(&mut self) -> u32 {
        self.locals += 1;
        self.locals - 1
    }

    fn line(&mut self, s: &str) {
        self.body.push_str("    ");
        self.body.push_str(s);
        self.body.push('\n');
    }

    /// A new local holding `base + offset`.
    fn at(&mut self, base: u32, offset: u32) -> u32 {
        if offset == 0 {
            return base;
        }
        let l = self.local();
        self.line(&format!(
            "(local.set {l} (i32.add (local.get {base}) (i32.const {offset})))"
        ));
        l
    }

    /// `bytes` (1, 2, 4 or 8) copied as they are, masked with `mask` when given.
    fn bits(&mut self, src: u32, dst: u32, bytes: u32, mask: Option<u32>) {
        let (load, store) = match bytes {
            1 => ("i32.load8_u", "i32.store8"),
            2 => ("i32.load16_u", "i32.store16"),
            4 => ("i32.load", "i32.store"),
            _ => ("i64.load", "i64.store"),
        };
        let value = format!("({load} 0 (local.get {src}))");
        let value = match mask {
            Some(m) => format!("(i32.and {value} (i32.const {m}))"),
            None => value,
        };
        self.line(&format!("({store} 1 (local.get {dst}) {value})"));
    }

    /// A discriminant of `bytes` bytes checked against `cases` and copied: the local that
    /// holds it.
    fn discriminant(&mut self, src: u32, dst: u32, bytes: u32, cases: usize) -> u32 {
        let (load, store) = match bytes {
            1 => ("i32.load8_u", "i32.store8"),
            2 => ("i32.load16_u", "i32.store16"),
            _ => ("i32.load", "i32.store"),
        };
        let d = self.local();
        self.line(&format!("(local.set {d} ({load} 0 (local.get {src})))"));
        self.line(&format!(
            "(if (i32.ge_u (local.get {d}) (i32.const {cases})) (then (call $bad_case)))"
        ));
        self.line(&format!("({store} 1 (local.get {dst}) (local.get {d}))"));
        d
    }

    /// A variant-like value: its discriminant, then the payload of its case (`cases`, the
    /// writer's and the reader's payload types).
    fn variant(
        &mut self,
        src: u32,
        dst: u32,
        cases: Vec<(Option<InterfaceType>, Option<InterfaceType>)>,
        payload_offset: u32,
        encoding: Encodings,
    ) -> Result<()> {
        let d = self.discriminant(src, dst, discriminant_size(cases.len()), cases.len());
        let (psrc, pdst) = (self.at(src, payload_offset), self.at(dst, payload_offset));
        for (k, case) in cases.into_iter().enumerate() {
            if let (Some(from), Some(to)) = case {
                self.line(&format!(
                    "(if (i32.eq (local.get {d}) (i32.const {k})) (then"
                ));
                self.value(from, to, psrc, pdst, encoding)?;
                self.line("))");
            }
        }
        Ok(())
    }

    /// Copies a value of the writer's type `from` at local `src` (memory 0) into one of the
    /// reader's type `to` at local `dst` (memory 1).
    fn value(
        &mut self,
        from: InterfaceType,
        to: InterfaceType,
        src: u32,
        dst: u32,
        encoding: Encodings,
    ) -> Result<()> {
        use InterfaceType as T;
        let types = self.types;
        match (from, to) {
            (T::Bool, T::Bool) => self.line(&format!(
                "(i32.store8 1 (local.get {dst}) \
                    (i32.ne (i32.load8_u 0 (local.get {src})) (i32.const 0)))"
            )),
            (T::S8 | T::U8, _) => self.bits(src, dst, 1, None),
            (T::S16 | T::U16, _) => self.bits(src, dst, 2, None),
            (T::S32 | T::U32 | T::Float32, _) => self.bits(src, dst, 4, None),
            (T::S64 | T::U64 | T::Float64, _) => self.bits(src, dst, 8, None),
            (T::Char, T::Char) => {
                let v = self.local();
                self.line(&format!("(local.set {v} (i32.load 0 (local.get {src})))"));
                self.line(&format!(
                    "(if (i32.or (i32.ge_u (local.get {v}) (i32.const 0x110000)) \
                     (i32.eq (i32.and (local.get {v}) (i32.const 0xfff800)) (i32.const 0xd800))) \
                     (then (call $bad_char)))"
                ));
                self.line(&format!("(i32.store 1 (local.get {dst}) (local.get {v}))"));
            }
            (T::Own(a), T::Own(b)) => self.line(&format!(
                "(i32.store 1 (local.get {dst}) (call $transfer_own (i32.load 0 (local.get {src})) \
                 (i32.const {}) (i32.const {})))",
                a.as_u32(),
                b.as_u32()
            )),
            (T::Enum(_), T::Enum(b)) => {
                let cases = types[b].names.len();
                self.discriminant(src, dst, discriminant_size(cases), cases);
            }
            (T::Flags(_), T::Flags(b)) => {
                let n = types[b].names.len() as u32;
                match n {
                    0 => {}
                    1..=8 => self.bits(src, dst, 1, Some((1u32 << n) - 1)),
                    9..=16 => self.bits(src, dst, 2, Some((1u32 << n) - 1)),
                    _ => {
                        for word in 0..n.div_ceil(32) {
                            let left = n - 32 * word;
                            let mask = if left >= 32 {
                                u32::MAX
                            } else {
                                (1 << left) - 1
                            };
                            let (s, d) = (self.at(src, 4 * word), self.at(dst, 4 * word));
                            self.bits(s, d, 4, Some(mask));
                        }
                    }
                }
            }
            (T::Record(a), T::Record(b)) => {
                let fields: Vec<_> = types[a]
                    .fields
                    .iter()
                    .zip(types[b].fields.iter())
                    .map(|(f, g)| (f.ty, g.ty))
                    .collect();
                self.fields(src, dst, fields, encoding)?;
            }
            (T::Tuple(a), T::Tuple(b)) => {
                let fields: Vec<_> = types[a]
                    .types
                    .iter()
                    .copied()
                    .zip(types[b].types.iter().copied())
                    .collect();
                self.fields(src, dst, fields, encoding)?;
            }
            (T::Variant(a), T::Variant(b)) => {
                let cases: Vec<_> = types[a]
                    .cases
                    .values()
                    .copied()
                    .zip(types[b].cases.values().copied())
                    .collect();
                let offset = types[b].info.payload_offset32;
                self.variant(src, dst, cases, offset, encoding)?;
            }
            (T::Option(a), T::Option(b)) => {
                let cases = vec![(None, None), (Some(types[a].ty), Some(types[b].ty))];
                let offset = types[b].info.payload_offset32;
                self.variant(src, dst, cases, offset, encoding)?;
            }
            (T::Result(a), T::Result(b)) => {
                let cases = vec![(types[a].ok, types[b].ok), (types[a].err, types[b].err)];
                let offset = types[b].info.payload_offset32;
                self.variant(src, dst, cases, offset, encoding)?;
            }
            (T::String, T::String)
                if encoding.src != StringEncoding::Utf8 || encoding.dst != StringEncoding::Utf8 =>
            {
                // Lifted as `WasmStr` lifts it (its length in UTF-8 found on the way), then
                // lowered as `lower_string` lowers it.
                let (p, n, len) = (self.local(), self.local(), self.local());
                self.line(&format!("(local.set {p} (i32.load 0 (local.get {src})))"));
                self.line(&format!(
                    "(local.set {n} (i32.load 0 offset=4 (local.get {src})))"
                ));
                let (from, to) = (encoding_code(encoding.src), encoding_code(encoding.dst));
                self.line(&format!(
                    "(local.set {len} (call $lift_string (local.get {p}) (local.get {n}) \
                     (i32.const {from})))"
                ));
                self.line(&format!(
                    "(call $lower_string (local.get {p}) (local.get {n}) (i32.const {from}) \
                     (local.get {len}) (i32.const {to}) (local.get {dst}))"
                ));
            }
            (T::String, T::String) => {
                let (p, n, q) = (self.local(), self.local(), self.local());
                self.line(&format!("(local.set {p} (i32.load 0 (local.get {src})))"));
                self.line(&format!(
                    "(local.set {n} (i32.load 0 offset=4 (local.get {src})))"
                ));
                // `WasmStr::new`'s bounds, then `str::from_utf8`.
                self.line(&format!(
                    "(if (i64.gt_u (i64.add (i64.extend_i32_u (local.get {p})) \
                     (i64.extend_i32_u (local.get {n}))) (i64.const 0x1_0000_0000)) \
                     (then (call $string_bounds)))"
                ));
                self.touch(0, p, n);
                self.line(&format!("(call $utf8 (local.get {p}) (local.get {n}))"));
                self.line(&format!(
                    "(if (i32.gt_u (local.get {n}) (i32.const 0x7fffffff)) (then (call $too_long)))"
                ));
                self.line(&format!(
                    "(local.set {q} \
                        (call $realloc_checked (i32.const 0) (i32.const 0) (i32.const 1) \
                        (local.get {n})))"
                ));
                self.line(&format!(
                    "(memory.copy 1 0 (local.get {q}) (local.get {p}) (local.get {n}))"
                ));
                self.line(&format!("(i32.store 1 (local.get {dst}) (local.get {q}))"));
                self.line(&format!(
                    "(i32.store 1 offset=4 (local.get {dst}) (local.get {n}))"
                ));
            }
            (T::List(a), T::List(b)) => {
                let (ea, eb) = (types[a].element, types[b].element);
                let abi = types.canonical_abi(&eb);
                let flat = !is_generic(Some(eb)) && !matches!(eb, T::Bool | T::Char);
                self.sequence(
                    src,
                    dst,
                    (abi.size32, abi.align32),
                    Entries::List(ea, eb),
                    flat,
                    encoding,
                )?;
            }
            // A list of (key, value) entries, as wasmtime's `load_map` and `lower_map` copy
            // one.
            (T::Map(a), T::Map(b)) => {
                let (ma, mb) = (&types[a], &types[b]);
                let entries = Entries::Map {
                    keys: (ma.key, mb.key),
                    values: (ma.value, mb.value),
                    value_offset: mb.value_offset32,
                };
                let abi = (mb.entry_abi.size32, mb.entry_abi.align32);
                self.sequence(src, dst, abi, entries, false, encoding)?;
            }
            (T::Borrow(_), _) => {
                return Err(not_yet("streams and futures of borrow handles"));
            }
            // A readable end moves from the writer's table into the reader's, as
            // `lift_index_to_transmit` and `lower_transmit_to_index` move it.
            (T::Future(a), T::Future(b)) => {
                self.futures = true;
                self.line(&format!(
                    "(i32.store 1 (local.get {dst}) (call $transfer_future \
                     (i32.load 0 (local.get {src})) (i32.const {}) (i32.const {})))",
                    a.as_u32(),
                    b.as_u32()
                ));
            }
            (T::Stream(a), T::Stream(b)) => {
                self.streams = true;
                self.line(&format!(
                    "(i32.store 1 (local.get {dst}) (call $transfer_stream \
                     (i32.load 0 (local.get {src})) (i32.const {}) (i32.const {})))",
                    a.as_u32(),
                    b.as_u32()
                ));
            }
            // Lifted from the writer's table (which keeps its handle) and lowered into the
            // reader's as a new handle to the same message, as `ErrorContext::lift_from_index`
            // and `lower_error_context_to_index` do.
            (T::ErrorContext(a), T::ErrorContext(b)) => {
                self.error_contexts = true;
                self.line(&format!(
                    "(i32.store 1 (local.get {dst}) (call $transfer_error_context \
                     (i32.load 0 (local.get {src})) (i32.const {}) (i32.const {})))",
                    a.as_u32(),
                    b.as_u32()
                ));
            }
            // `size` elements in a row, as a tuple of them.
            // `size` elements in a row, `k * element size` bytes in: numbers as bytes, any
            // other element in a loop (as FACT's `translate_fixed_length_list` copies one).
            (T::FixedLengthList(a), T::FixedLengthList(b)) => {
                let (ea, eb) = (types[a].element, types[b].element);
                let count = types[b].size;
                let size = types.canonical_abi(&eb).size32;
                if u64::from(count) * u64::from(size) > u64::from(u32::MAX) {
                    return Err(not_yet("fixed-length lists of 4 GiB or more"));
                }
                if !is_generic(Some(eb)) && !matches!(eb, T::Bool | T::Char) {
                    self.line(&format!(
                        "(memory.copy 1 0 (local.get {dst}) (local.get {src}) (i32.const {}))",
                        u64::from(count) * u64::from(size)
                    ));
                } else {
                    let (i, s, d) = (self.local(), self.local(), self.local());
                    self.line(&format!("(local.set {i} (i32.const 0))"));
                    self.line("(block (loop");
                    self.line(&format!(
                        "(br_if 1 (i32.ge_u (local.get {i}) (i32.const {count})))"
                    ));
                    for (at, base) in [(s, src), (d, dst)] {
                        self.line(&format!(
                            "(local.set {at} (i32.add (local.get {base}) \
                             (i32.mul (local.get {i}) (i32.const {size}))))"
                        ));
                    }
                    self.value(ea, eb, s, d, encoding)?;
                    self.line(&format!(
                        "(local.set {i} (i32.add (local.get {i}) (i32.const 1)))"
                    ));
                    self.line("(br 0)))");
                }
            }
            (from, to) => {
                anyhow::bail!("internal: a stream or future item of type {from:?} read as {to:?}")
            }
        }
        Ok(())
    }

    /// A list's or map's (pointer, length) at `src`: the entries (`abi`: size and alignment
    /// in bytes of each) checked within memory 0 and aligned, copied into a block of the
    /// reader's `realloc` (element by element, or as bytes when `flat`), and its pointer and
    /// length stored at `dst`, as wasmtime's `load_list` and `lower_list` (`load_map`,
    /// `lower_map`) do.
    fn sequence(
        &mut self,
        src: u32,
        dst: u32,
        abi: (u32, u32),
        entries: Entries,
        flat: bool,
        encoding: Encodings,
    ) -> Result<()> {
        let (size, align) = abi;
        let (p, n, q, bytes) = (self.local(), self.local(), self.local(), self.local());
        self.line(&format!("(local.set {p} (i32.load 0 (local.get {src})))"));
        self.line(&format!(
            "(local.set {n} (i32.load 0 offset=4 (local.get {src})))"
        ));
        // `load_list`: the bytes within memory 0 (past 4 GiB is past any 32-bit
        // memory; else touching the last byte, or the one before an empty list, traps
        // where the memory ends), then the alignment.
        // A block of 4 GiB or more (which `bytes` could not hold) is refused too: wasmtime's
        // `realloc` of it fails.
        self.line(&format!(
            "(if (i32.or (i64.gt_u (i64.add (i64.extend_i32_u (local.get {p})) \
                 (i64.mul (i64.extend_i32_u (local.get {n})) (i64.const {size}))) \
                 (i64.const 0x1_0000_0000)) \
                 (i64.gt_u (i64.mul (i64.extend_i32_u (local.get {n})) (i64.const {size})) \
                 (i64.const 0xffff_ffff))) (then (call {})))",
            entries.out_of_bounds()
        ));
        self.line(&format!(
            "(local.set {bytes} (i32.mul (local.get {n}) (i32.const {size})))"
        ));
        self.touch(0, p, bytes);
        self.line(&format!(
            "(if (i32.and (local.get {p}) (i32.const {})) (then (call {})))",
            align - 1,
            entries.unaligned()
        ));
        // `LowerContext::realloc`: the block aligned, and within memory 1.
        self.line(&format!(
            "(local.set {q} (call $realloc_checked (i32.const 0) (i32.const 0) \
                    (i32.const {align}) (local.get {bytes})))"
        ));
        if !flat {
            let (i, s, d) = (self.local(), self.local(), self.local());
            self.line(&format!("(local.set {i} (i32.const 0))"));
            self.line("(block (loop");
            self.line(&format!(
                "(br_if 1 (i32.ge_u (local.get {i}) (local.get {n})))"
            ));
            self.line(&format!(
                "(local.set {s} \
                        (i32.add (local.get {p}) (i32.mul (local.get {i}) (i32.const {size}))))"
            ));
            self.line(&format!(
                "(local.set {d} \
                        (i32.add (local.get {q}) (i32.mul (local.get {i}) (i32.const {size}))))"
            ));
            match entries {
                Entries::List(ea, eb) => self.value(ea, eb, s, d, encoding)?,
                Entries::Map {
                    keys,
                    values,
                    value_offset,
                } => {
                    self.value(keys.0, keys.1, s, d, encoding)?;
                    let (s, d) = (self.at(s, value_offset), self.at(d, value_offset));
                    self.value(values.0, values.1, s, d, encoding)?;
                }
            }
            self.line(&format!(
                "(local.set {i} (i32.add (local.get {i}) (i32.const 1)))"
            ));
            self.line("(br 0)))");
        } else {
            self.line(&format!(
                "(memory.copy 1 0 (local.get {q}) (local.get {p}) (local.get {bytes}))"
            ));
        }
        self.line(&format!("(i32.store 1 (local.get {dst}) (local.get {q}))"));
        self.line(&format!(
            "(i32.store 1 offset=4 (local.get {dst}) (local.get {n}))"
        ));
        Ok(())
    }

    /// Traps unless the `bytes` bytes at `at` (locals) lie within memory `memory`: touches
    /// the last of them, or for none the byte before `at` (`at` may be the memory's size).
    fn touch(&mut self, memory: u32, at: u32, bytes: u32) {
        self.line(&format!(
            "(if (local.get {bytes}) \
             (then (drop (i32.load8_u {memory} \
                (i32.sub (i32.add (local.get {at}) (local.get {bytes})) (i32.const 1))))) \
             (else (if (local.get {at}) \
                (then (drop (i32.load8_u {memory} (i32.sub (local.get {at}) (i32.const 1))))))))"
        ));
    }

    /// A record's or tuple's fields, at their canonical ABI offsets.
    fn fields(
        &mut self,
        src: u32,
        dst: u32,
        fields: Vec<(InterfaceType, InterfaceType)>,
        encoding: Encodings,
    ) -> Result<()> {
        let mut offset = 0;
        for (from, to) in fields {
            let at = self.types.canonical_abi(&to).next_field32(&mut offset);
            let (s, d) = (self.at(src, at), self.at(dst, at));
            self.value(from, to, s, d, encoding)?;
        }
        Ok(())
    }
}

/// What a list-like value holds: a list's elements (the writer's and the reader's type), or a
/// map's keys and values, each value `value_offset` bytes into its entry.
#[derive(Clone, Copy)]
enum Entries {
    List(InterfaceType, InterfaceType),
    Map {
        keys: (InterfaceType, InterfaceType),
        values: (InterfaceType, InterfaceType),
        value_offset: u32,
    },
}

impl Entries {
    /// The template function that traps for entries past the memory.
    fn out_of_bounds(self) -> &'static str {
        match self {
            Entries::List(..) => "$list_bounds",
            Entries::Map { .. } => "$map_bounds",
        }
    }

    /// The template function that traps for a misaligned pointer.
    fn unaligned(self) -> &'static str {
        match self {
            Entries::List(..) => "$list_unaligned",
            Entries::Map { .. } => "$map_unaligned",
        }
    }
}
