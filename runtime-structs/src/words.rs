//! Loads and stores on a reified memory's word array: the instruction sequences that the
//! helpers and gc-lower's inline emitter share.
//!
//! A reified memory's bytes are an `(array (mut i32))` ([`WORDS`]): byte `a` of the memory is
//! byte `a & 3` (little-endian) of element `a >> 2`. An access of `w` bytes (1, 2 or 4) at
//! address `a` reads element `a >> 2` shifted right by `8 * (a & 3)` bits and, when it crosses
//! into the next element (`(a & 3) + w > 4`), that element shifted left by the rest; an 8-byte
//! access is two 4-byte ones. A store of fewer than 4 bytes, or an unaligned one, replaces only
//! its bytes of the element(s) it covers (read, mask, write).
//!
//! ```wat
//! ;; (i32.load (local.get $a)), once checked: aligned, one array.get; unaligned, two
//! (if (result i32) (i32.and (local.get $a) (i32.const 3))
//!   (then
//!     (i32.or
//!       (i32.shr_u (array.get $words (local.get $w) (i32.shr_u (local.get $a) (i32.const 2)))
//!                  (i32.shl (local.get $a) (i32.const 3)))     ;; the shift counts mod 32
//!       (i32.shl (array.get $words (local.get $w)
//!                  (i32.add (i32.shr_u (local.get $a) (i32.const 2)) (i32.const 1)))
//!                (i32.sub (i32.const 0) (i32.shl (local.get $a) (i32.const 3))))))
//!   (else (array.get $words (local.get $w) (i32.shr_u (local.get $a) (i32.const 2)))))
//! ```
//!
//! 4- and 8-byte accesses test the alignment first, as above, so that an aligned one is its
//! `array.get`s (or `array.set`s) and nothing else: in loops this took `sum-i64` from 7.0 to
//! 5.5 times the module graph on wasmtime and `sum-i32` from 2.7 to 2.0 times on V8, where
//! shifting by zero and or-ing a zero cost a quarter of the access (BENCHMARKS.md, "Aligned
//! first"). Narrower accesses shift and mask anyway and keep one form. In the unaligned branch
//! of that test a 4-byte access reads (or writes) both of its elements without testing whether
//! it crosses: it must.
//!
//! The sequences check nothing: the caller has checked that the whole access lies below the
//! memory's bound (so every element they index exists, the next one included when the access
//! crosses into it) and leaves the effective address, which fits in `i32`, in a local — or,
//! in a loop whose array holds exactly the whole memory, lets the engine's array bounds check
//! be the memory's: it passes the element index separately ([`Addr`]), and a store writes its
//! highest element first, so that an access partly past the end traps before writing anything.
//!
//! Why words and not bytes: measured on wasmtime, V8 and JavaScriptCore (BENCHMARKS.md,
//! "Word arrays"), a 4-byte access on an `i8` array is four checked `array.get`s and costs
//! 4–20 times the native load in loops; on an `i32` array an aligned one is one.

use wasm_encoder::{BlockType, InstructionSink, ValType};

use crate::helpers::{LoadKind, StoreKind};
use crate::layout::WORDS;

/// Where an access's address is: an i32 local holding the effective address (`byte`), and
/// optionally an i32 local holding its element index (`byte >> 2` where the address fits in
/// 32 bits; the caller's index otherwise, for an address past 4 GiB, which then indexes past
/// any array).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Addr {
    /// The i32 local of the effective address; its low two bits place the access in its
    /// element. With `index` given, only those two bits are read: the local may hold any
    /// address that shares them (the address before an offset that is a multiple of 4).
    pub byte: u32,
    /// The i32 local of the element index, when not `byte >> 2`.
    pub index: Option<u32>,
}

impl From<u32> for Addr {
    /// The address in i32 local `byte`, its element index `byte >> 2`.
    fn from(byte: u32) -> Addr {
        Addr { byte, index: None }
    }
}

/// Pushes the element index of the access at `addr`, plus `plus` elements.
fn push_index(s: &mut InstructionSink<'_>, addr: Addr, plus: i32) {
    match addr.index {
        Some(index) => s.local_get(index),
        None => s.local_get(addr.byte).i32_const(2).i32_shr_u(),
    };
    if plus != 0 {
        s.i32_const(plus).i32_add();
    }
}

/// Pushes `8 * (addr & 3)` as a shift count (`addr << 3`: shifts count mod 32).
fn push_shift(s: &mut InstructionSink<'_>, addr: Addr) {
    s.local_get(addr.byte).i32_const(3).i32_shl();
}

/// Pushes `32 - 8 * (addr & 3)` as a shift count (mod 32), for the part of an access that
/// crosses into the next element (where `addr & 3` is not 0).
fn push_rest_shift(s: &mut InstructionSink<'_>, addr: Addr) {
    s.i32_const(0);
    push_shift(s, addr);
    s.i32_sub();
}

/// Pushes whether an access of `width` bytes at `addr` crosses into the next element.
fn push_crosses(s: &mut InstructionSink<'_>, addr: Addr, width: u32) {
    s.local_get(addr.byte)
        .i32_const(3)
        .i32_and()
        .i32_const(4 - width as i32)
        .i32_gt_u();
}

/// The mask of an access's `width` (1, 2 or 4) bytes in an i32.
fn mask(width: u32) -> i32 {
    match width {
        4 => -1,
        w => (1i32 << (8 * w)) - 1,
    }
}

/// What the caller knows of an access's alignment: whether its address is a multiple of its
/// width (of 4 for 8-byte accesses), so that it does not cross into the next element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Align {
    /// It is: no element is crossed into.
    Aligned,
    /// It is not (checked by the caller): a 4-byte access crosses into the next element.
    Unaligned,
    /// Not known: tested where it matters.
    Unknown,
}

/// Whether an access of `width` (1, 2 or 4) bytes may cross into the next element, so that
/// its sequence needs the second element (under a crossing test unless it must cross).
fn may_cross(width: u32, align: Align) -> bool {
    width > 1 && align != Align::Aligned
}

/// Whether an access of `width` bytes certainly crosses into the next element: a 4-byte one
/// known to be unaligned.
fn must_cross(width: u32, align: Align) -> bool {
    width == 4 && align == Align::Unaligned
}

/// Pushes the `width` (1, 2 or 4) bytes at `addr + 4 * word`, little-endian, zero-extended
/// to an i32 (`word` is 0, or 1 for the high half of an 8-byte access).
fn push_u32(
    s: &mut InstructionSink<'_>,
    words: u32,
    addr: Addr,
    word: i32,
    width: u32,
    align: Align,
) {
    s.local_get(words);
    push_index(s, addr, word);
    s.array_get(WORDS);
    if align == Align::Aligned && width == 4 {
        return;
    }
    push_shift(s, addr);
    s.i32_shr_u();
    let next = |s: &mut InstructionSink<'_>| {
        s.local_get(words);
        push_index(s, addr, word + 1);
        s.array_get(WORDS);
        push_rest_shift(s, addr);
        s.i32_shl();
    };
    if must_cross(width, align) {
        next(s);
        s.i32_or();
    } else if may_cross(width, align) {
        push_crosses(s, addr, width);
        s.if_(BlockType::Result(ValType::I32));
        next(s);
        s.else_().i32_const(0).end().i32_or();
    }
    if width < 4 {
        s.i32_const(mask(width)).i32_and();
    }
}

/// Pushes the value of load `kind` at the checked address in i32 local `addr` of the memory
/// whose word array is in local `words`: the load's own result type. A 4- or 8-byte load
/// tests the address's alignment first, so that an aligned one is its `array.get`s alone
/// (measured in BENCHMARKS.md, "Aligned first").
pub fn push_load(s: &mut InstructionSink<'_>, kind: LoadKind, words: u32, addr: impl Into<Addr>) {
    let addr = addr.into();
    if kind.width() < 4 {
        load(s, kind, words, addr, Align::Unknown);
        return;
    }
    push_unaligned(s, addr);
    s.if_(BlockType::Result(kind.value_type()));
    load(s, kind, words, addr, Align::Unaligned);
    s.else_();
    load(s, kind, words, addr, Align::Aligned);
    s.end();
}

/// [`push_load`] at an address the caller has checked to be aligned: a multiple of the
/// access's width, or of 4 for 8-byte accesses (no element is crossed into).
pub fn push_load_aligned(
    s: &mut InstructionSink<'_>,
    kind: LoadKind,
    words: u32,
    addr: impl Into<Addr>,
) {
    load(s, kind, words, addr.into(), Align::Aligned);
}

/// Pushes whether the address in i32 local `addr` is not a multiple of 4.
fn push_unaligned(s: &mut InstructionSink<'_>, addr: Addr) {
    s.local_get(addr.byte).i32_const(3).i32_and();
}

fn load(s: &mut InstructionSink<'_>, kind: LoadKind, words: u32, addr: Addr, align: Align) {
    let width = kind.width();
    if width == 8 {
        push_u32(s, words, addr, 0, 4, align);
        s.i64_extend_i32_u();
        push_u32(s, words, addr, 1, 4, align);
        s.i64_extend_i32_u().i64_const(32).i64_shl().i64_or();
    } else {
        push_u32(s, words, addr, 0, width, align);
        if kind.signed() && width < 4 {
            // Sign-extends the low `8 * width` bits (without the sign-extension operators).
            let unused = 32 - 8 * width as i32;
            s.i32_const(unused).i32_shl().i32_const(unused).i32_shr_s();
        }
    }
    match kind {
        LoadKind::F32Load => {
            s.f32_reinterpret_i32();
        }
        LoadKind::F64Load => {
            s.f64_reinterpret_i64();
        }
        LoadKind::I64Load8S | LoadKind::I64Load16S | LoadKind::I64Load32S => {
            s.i64_extend_i32_s();
        }
        LoadKind::I64Load8U | LoadKind::I64Load16U | LoadKind::I64Load32U => {
            s.i64_extend_i32_u();
        }
        _ => {}
    }
}

/// Where a store's value is: an i32 local (stores of up to 4 bytes, the value already as its
/// low bytes: wrapped or reinterpreted) or an i64 local (8-byte stores, reinterpreted).
#[derive(Debug, Clone, Copy)]
pub enum StoreValue {
    /// An `i32` local.
    I32(u32),
    /// An `i64` local.
    I64(u32),
}

/// Converts the value of store `kind` on the stack to what [`push_store`] stores: an i32 whose
/// low bytes are the value (wrapped or reinterpreted) for stores of up to 4 bytes, or an i64
/// (reinterpreted) for 8-byte ones. Returns whether it is the i64.
pub fn convert_store_value(s: &mut InstructionSink<'_>, kind: StoreKind) -> bool {
    match kind {
        StoreKind::I32Store | StoreKind::I32Store8 | StoreKind::I32Store16 => false,
        StoreKind::F32Store => {
            s.i32_reinterpret_f32();
            false
        }
        StoreKind::I64Store8 | StoreKind::I64Store16 | StoreKind::I64Store32 => {
            s.i32_wrap_i64();
            false
        }
        StoreKind::I64Store => true,
        StoreKind::F64Store => {
            s.i64_reinterpret_f64();
            true
        }
    }
}

/// Replaces the `width` (1, 2 or 4) bytes at `addr + 4 * word` with the low bytes of the i32
/// that `value` pushes.
fn store_u32(
    s: &mut InstructionSink<'_>,
    (words, addr, word): (u32, Addr, i32),
    width: u32,
    align: Align,
    value: &dyn Fn(&mut InstructionSink<'_>),
) {
    let m = mask(width);
    if width == 4 && align != Align::Unaligned {
        // Aligned (known, or tested here): the element is the value.
        if align == Align::Unknown {
            push_unaligned(s, addr);
            s.i32_eqz().if_(BlockType::Empty);
        }
        s.local_get(words);
        push_index(s, addr, word);
        value(s);
        s.array_set(WORDS);
        if align == Align::Unknown {
            s.else_();
            store_u32(s, (words, addr, word), width, Align::Unaligned, value);
            s.end();
        }
        return;
    }
    let masked = |s: &mut InstructionSink<'_>| {
        value(s);
        if width < 4 {
            s.i32_const(m).i32_and();
        }
    };
    // The element it crosses into first, so that a store whose second element lies past the
    // array traps before writing anything:
    // next = (next & !(m >> rest)) | ((value & m) >> rest)
    let next = |s: &mut InstructionSink<'_>| {
        s.local_get(words);
        push_index(s, addr, word + 1);
        s.local_get(words);
        push_index(s, addr, word + 1);
        s.array_get(WORDS).i32_const(m);
        push_rest_shift(s, addr);
        s.i32_shr_u().i32_const(-1).i32_xor().i32_and();
        masked(s);
        push_rest_shift(s, addr);
        s.i32_shr_u().i32_or().array_set(WORDS);
    };
    if must_cross(width, align) {
        next(s);
    } else if may_cross(width, align) {
        push_crosses(s, addr, width);
        s.if_(BlockType::Empty);
        next(s);
        s.end();
    }
    // element = (element & !(m << shift)) | ((value & m) << shift)
    s.local_get(words);
    push_index(s, addr, word);
    s.local_get(words);
    push_index(s, addr, word);
    s.array_get(WORDS).i32_const(m);
    push_shift(s, addr);
    s.i32_shl().i32_const(-1).i32_xor().i32_and();
    masked(s);
    push_shift(s, addr);
    s.i32_shl().i32_or().array_set(WORDS);
}

/// Stores `value` as store `kind` at the checked address in i32 local `addr` of the memory
/// whose word array is in local `words`. A 4-byte store sets its element alone when aligned;
/// an 8-byte one tests the alignment once for both of its elements.
pub fn push_store(
    s: &mut InstructionSink<'_>,
    kind: StoreKind,
    words: u32,
    addr: impl Into<Addr>,
    value: StoreValue,
) {
    let addr = addr.into();
    if kind.width() < 8 {
        store(s, kind, (words, addr), value, Align::Unknown);
        return;
    }
    push_unaligned(s, addr);
    s.if_(BlockType::Empty);
    store(s, kind, (words, addr), value, Align::Unaligned);
    s.else_();
    store(s, kind, (words, addr), value, Align::Aligned);
    s.end();
}

/// [`push_store`] at an address the caller has checked to be aligned: a multiple of the
/// access's width, or of 4 for 8-byte accesses (no element is crossed into).
pub fn push_store_aligned(
    s: &mut InstructionSink<'_>,
    kind: StoreKind,
    words: u32,
    addr: impl Into<Addr>,
    value: StoreValue,
) {
    store(s, kind, (words, addr.into()), value, Align::Aligned);
}

fn store(
    s: &mut InstructionSink<'_>,
    kind: StoreKind,
    (words, addr): (u32, Addr),
    value: StoreValue,
    align: Align,
) {
    let width = kind.width();
    match value {
        StoreValue::I32(v) => {
            store_u32(s, (words, addr, 0), width.min(4), align, &|s| {
                s.local_get(v);
            });
        }
        StoreValue::I64(v) => {
            // The high half first: its elements are the higher ones.
            store_u32(s, (words, addr, 1), 4, align, &|s| {
                s.local_get(v).i64_const(32).i64_shr_u().i32_wrap_i64();
            });
            store_u32(s, (words, addr, 0), 4, align, &|s| {
                s.local_get(v).i32_wrap_i64();
            });
        }
    }
}
