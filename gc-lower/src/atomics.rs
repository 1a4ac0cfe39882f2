//! Atomic instructions (the threads proposal's) on reified memories.
//!
//! gc-lower accepts only unshared memories (`crate::module_info`), and the output runs on one
//! thread, so an atomic access is its plain access plus the checks core wasm adds to it:
//!
//! - A load, store or read-modify-write traps with `unaligned atomic` when its effective
//!   address `addr + offset` is not a multiple of its width, checked before its bounds (as
//!   wasmtime 48 does: `align_atomic_addr` in `wasmtime-cranelift`, "we check alignment before
//!   we check out-of-bounds-ness"), then is the load or store helper's access
//!   (`runtime_structs::Helper::Load`/`Store`), which traps out of bounds as core wasm does.
//!   A read-modify-write loads, computes and stores; `cmpxchg` stores only when the loaded
//!   value equals the expected one wrapped to the access's width, and returns the loaded
//!   value (zero-extended) in every case.
//! - `memory.atomic.notify` and `memory.atomic.wait32/64` trap out of bounds when `addr +
//!   offset` passes 2³², then check alignment (4 bytes, or 8 for `wait64`) and bounds (a load
//!   whose value is dropped), as wasmtime's `validate_atomic_addr`; then `notify` returns 0
//!   (no thread waits on an unshared memory) and `wait` traps with `atomic wait on non-shared
//!   memory`, as the threads proposal specifies for unshared memories.
//! - `atomic.fence` has nothing to order and passes through.
//!
//! The helpers called here may swap a longer array into the memory's box, as any helper access
//! may: `crate::memory_access::stale_fast_locals` counts them as it counts calls.

use runtime_structs::{Helper, LoadKind, StoreKind};
use wasm_encoder as we;
use wasmtime_environ::wasmparser as wp;

use crate::code::{Scratch, Sink};
use crate::layout::OutFunc;

/// The arithmetic of a read-modify-write (`i32.atomic.rmw.add`, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RmwOp {
    /// `add`: old + operand, wrapping.
    Add,
    /// `sub`: old - operand, wrapping.
    Sub,
    /// `and`.
    And,
    /// `or`.
    Or,
    /// `xor`.
    Xor,
    /// `xchg`: the new value is the operand.
    Xchg,
}

/// An atomic instruction that accesses a memory, as [`emit`] lowers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Atomic {
    /// `iN.atomic.load*`: the plain load of that width, unsigned.
    Load(LoadKind),
    /// `iN.atomic.store*`.
    Store(StoreKind),
    /// `iN.atomic.rmw*.{op}`: `(addr, operand) -> old`.
    Rmw {
        /// The arithmetic.
        op: RmwOp,
        /// The unsigned load of the access's width, into its value type.
        load: LoadKind,
        /// The store of that width.
        store: StoreKind,
    },
    /// `iN.atomic.rmw*.cmpxchg`: `(addr, expected, replacement) -> old`.
    Cmpxchg {
        /// The unsigned load of the access's width, into its value type.
        load: LoadKind,
        /// The store of that width.
        store: StoreKind,
    },
    /// `memory.atomic.wait32` (`wide: false`) or `wait64`: `(addr, expected, timeout i64) ->
    /// i32`.
    Wait {
        /// `wait64`.
        wide: bool,
    },
    /// `memory.atomic.notify`: `(addr, count) -> i32`.
    Notify,
}

impl Atomic {
    /// The access's width in bytes: what its address must be a multiple of.
    pub fn width(self) -> u32 {
        match self {
            Atomic::Load(k) | Atomic::Rmw { load: k, .. } | Atomic::Cmpxchg { load: k, .. } => {
                k.width()
            }
            Atomic::Store(k) => k.width(),
            Atomic::Wait { wide: true } => 8,
            Atomic::Wait { wide: false } | Atomic::Notify => 4,
        }
    }

    /// Whether the values are `i64` (else `i32`).
    fn wide(self) -> bool {
        match self {
            Atomic::Load(k) | Atomic::Rmw { load: k, .. } | Atomic::Cmpxchg { load: k, .. } => {
                k.value_type() == we::ValType::I64
            }
            Atomic::Store(k) => k.value_type() == we::ValType::I64,
            Atomic::Wait { wide } => wide,
            Atomic::Notify => false,
        }
    }
}

/// The atomic memory access `op` is, with its memory argument; `None` for any other operator
/// (`atomic.fence` included: it touches no memory).
pub fn atomic_access(op: &wp::Operator<'_>) -> Option<(Atomic, wp::MemArg)> {
    use LoadKind as L;
    use StoreKind as S;
    use wp::Operator as O;
    Some(match *op {
        O::I32AtomicLoad { memarg } => (Atomic::Load(L::I32Load), memarg),
        O::I64AtomicLoad { memarg } => (Atomic::Load(L::I64Load), memarg),
        O::I32AtomicLoad8U { memarg } => (Atomic::Load(L::I32Load8U), memarg),
        O::I32AtomicLoad16U { memarg } => (Atomic::Load(L::I32Load16U), memarg),
        O::I64AtomicLoad8U { memarg } => (Atomic::Load(L::I64Load8U), memarg),
        O::I64AtomicLoad16U { memarg } => (Atomic::Load(L::I64Load16U), memarg),
        O::I64AtomicLoad32U { memarg } => (Atomic::Load(L::I64Load32U), memarg),
        O::I32AtomicStore { memarg } => (Atomic::Store(S::I32Store), memarg),
        O::I64AtomicStore { memarg } => (Atomic::Store(S::I64Store), memarg),
        O::I32AtomicStore8 { memarg } => (Atomic::Store(S::I32Store8), memarg),
        O::I32AtomicStore16 { memarg } => (Atomic::Store(S::I32Store16), memarg),
        O::I64AtomicStore8 { memarg } => (Atomic::Store(S::I64Store8), memarg),
        O::I64AtomicStore16 { memarg } => (Atomic::Store(S::I64Store16), memarg),
        O::I64AtomicStore32 { memarg } => (Atomic::Store(S::I64Store32), memarg),
        O::MemoryAtomicNotify { memarg } => (Atomic::Notify, memarg),
        O::MemoryAtomicWait32 { memarg } => (Atomic::Wait { wide: false }, memarg),
        O::MemoryAtomicWait64 { memarg } => (Atomic::Wait { wide: true }, memarg),
        _ => {
            let (memarg, arith, load, store) = read_modify_write(op)?;
            let atomic = match arith {
                Some(op) => Atomic::Rmw { op, load, store },
                None => Atomic::Cmpxchg { load, store },
            };
            (atomic, memarg)
        }
    })
}

/// A read-modify-write's memory argument, arithmetic (`None` for `cmpxchg`), and the plain
/// unsigned load and the store of its width and value type.
fn read_modify_write(
    op: &wp::Operator<'_>,
) -> Option<(wp::MemArg, Option<RmwOp>, LoadKind, StoreKind)> {
    use RmwOp::*;
    use wp::Operator as O;
    // Per value type and width: the load and store.
    const I32: (LoadKind, StoreKind) = (LoadKind::I32Load, StoreKind::I32Store);
    const I64: (LoadKind, StoreKind) = (LoadKind::I64Load, StoreKind::I64Store);
    const I32_8: (LoadKind, StoreKind) = (LoadKind::I32Load8U, StoreKind::I32Store8);
    const I32_16: (LoadKind, StoreKind) = (LoadKind::I32Load16U, StoreKind::I32Store16);
    const I64_8: (LoadKind, StoreKind) = (LoadKind::I64Load8U, StoreKind::I64Store8);
    const I64_16: (LoadKind, StoreKind) = (LoadKind::I64Load16U, StoreKind::I64Store16);
    const I64_32: (LoadKind, StoreKind) = (LoadKind::I64Load32U, StoreKind::I64Store32);
    macro_rules! table {
        ($($name:ident => $op:expr, $w:expr;)*) => {
            match *op {
                $(O::$name { memarg } => Some((memarg, $op, $w.0, $w.1)),)*
                _ => None,
            }
        };
    }
    table! {
        I32AtomicRmwAdd => Some(Add), I32; I64AtomicRmwAdd => Some(Add), I64;
        I32AtomicRmw8AddU => Some(Add), I32_8; I32AtomicRmw16AddU => Some(Add), I32_16;
        I64AtomicRmw8AddU => Some(Add), I64_8; I64AtomicRmw16AddU => Some(Add), I64_16;
        I64AtomicRmw32AddU => Some(Add), I64_32;
        I32AtomicRmwSub => Some(Sub), I32; I64AtomicRmwSub => Some(Sub), I64;
        I32AtomicRmw8SubU => Some(Sub), I32_8; I32AtomicRmw16SubU => Some(Sub), I32_16;
        I64AtomicRmw8SubU => Some(Sub), I64_8; I64AtomicRmw16SubU => Some(Sub), I64_16;
        I64AtomicRmw32SubU => Some(Sub), I64_32;
        I32AtomicRmwAnd => Some(And), I32; I64AtomicRmwAnd => Some(And), I64;
        I32AtomicRmw8AndU => Some(And), I32_8; I32AtomicRmw16AndU => Some(And), I32_16;
        I64AtomicRmw8AndU => Some(And), I64_8; I64AtomicRmw16AndU => Some(And), I64_16;
        I64AtomicRmw32AndU => Some(And), I64_32;
        I32AtomicRmwOr => Some(Or), I32; I64AtomicRmwOr => Some(Or), I64;
        I32AtomicRmw8OrU => Some(Or), I32_8; I32AtomicRmw16OrU => Some(Or), I32_16;
        I64AtomicRmw8OrU => Some(Or), I64_8; I64AtomicRmw16OrU => Some(Or), I64_16;
        I64AtomicRmw32OrU => Some(Or), I64_32;
        I32AtomicRmwXor => Some(Xor), I32; I64AtomicRmwXor => Some(Xor), I64;
        I32AtomicRmw8XorU => Some(Xor), I32_8; I32AtomicRmw16XorU => Some(Xor), I32_16;
        I64AtomicRmw8XorU => Some(Xor), I64_8; I64AtomicRmw16XorU => Some(Xor), I64_16;
        I64AtomicRmw32XorU => Some(Xor), I64_32;
        I32AtomicRmwXchg => Some(Xchg), I32; I64AtomicRmwXchg => Some(Xchg), I64;
        I32AtomicRmw8XchgU => Some(Xchg), I32_8; I32AtomicRmw16XchgU => Some(Xchg), I32_16;
        I64AtomicRmw8XchgU => Some(Xchg), I64_8; I64AtomicRmw16XchgU => Some(Xchg), I64_16;
        I64AtomicRmw32XchgU => Some(Xchg), I64_32;
        I32AtomicRmwCmpxchg => None, I32; I64AtomicRmwCmpxchg => None, I64;
        I32AtomicRmw8CmpxchgU => None, I32_8; I32AtomicRmw16CmpxchgU => None, I32_16;
        I64AtomicRmw8CmpxchgU => None, I64_8; I64AtomicRmw16CmpxchgU => None, I64_16;
        I64AtomicRmw32CmpxchgU => None, I64_32;
    }
}

/// The functions [`emit`] calls for one access, each present exactly when it calls it
/// ([`Atomic::helpers`], [`Atomic::traps`]): the helpers of the access's load and store kinds
/// and the traps (`gc-lower:trap:{reason}`), so that the output holds no function it never
/// calls.
pub struct AtomicFuncs {
    /// `Helper::Load` of the access's load kind (for `wait` or `notify`: the plain load of its
    /// width, to check bounds; none for a store).
    pub load: Option<OutFunc>,
    /// `Helper::Store` of its store kind (stores, read-modify-writes and `cmpxchg`).
    pub store: Option<OutFunc>,
    /// `unaligned atomic` (accesses wider than a byte).
    pub unaligned: Option<OutFunc>,
    /// `out of bounds memory access` (`wait`, `notify`).
    pub out_of_bounds: Option<OutFunc>,
    /// `atomic wait on non-shared memory` (`wait`).
    pub wait_non_shared: Option<OutFunc>,
}

impl Atomic {
    /// The helpers [`emit`] calls for this access: its load if it reads, its store if it
    /// writes.
    pub fn helpers(self) -> (Option<Helper>, Option<Helper>) {
        match self {
            Atomic::Load(k) => (Some(Helper::Load(k)), None),
            Atomic::Store(k) => (None, Some(Helper::Store(k))),
            Atomic::Rmw { load, store, .. } | Atomic::Cmpxchg { load, store } => {
                (Some(Helper::Load(load)), Some(Helper::Store(store)))
            }
            Atomic::Wait { .. } | Atomic::Notify => {
                (Some(Helper::Load(bounds_load(self.width()))), None)
            }
        }
    }

    /// Which traps [`emit`] calls for this access: `(unaligned, out of bounds, wait on an
    /// unshared memory)`.
    pub fn traps(self) -> (bool, bool, bool) {
        let wait = matches!(self, Atomic::Wait { .. });
        let checked_address = wait || self == Atomic::Notify;
        (self.width() > 1, checked_address, wait)
    }
}

/// The unsigned load of `width` bytes into an `i32` or `i64`.
fn bounds_load(width: u32) -> LoadKind {
    match width {
        1 => LoadKind::I32Load8U,
        2 => LoadKind::I32Load16U,
        4 => LoadKind::I32Load,
        _ => LoadKind::I64Load,
    }
}

/// Emits `atomic` at `memarg` on the reified memory whose box `push_box` pushes, with its
/// operands on the stack as core wasm has them and its result left as core wasm leaves it.
/// Uses the shared scratch locals of `scratch` (the first three of a type at most).
pub fn emit(
    out: &mut Sink,
    atomic: Atomic,
    memarg: wp::MemArg,
    push_box: &Sink,
    funcs: &AtomicFuncs,
    scratch: &mut Scratch,
) {
    use we::Instruction as I;
    let wide = atomic.wide();
    let vt = if wide {
        we::ValType::I64
    } else {
        we::ValType::I32
    };
    // Locals: the address (i32), then values of the access's type (after the address when
    // both are i32).
    let addr = scratch.shared(we::ValType::I32, 0);
    let first = if wide { 0 } else { 1 };
    let val = |scratch: &mut Scratch, n: usize| scratch.shared(vt, first + n);
    let offset = memarg.offset as i64;
    let call_with_box = |out: &mut Sink, f: OutFunc, offset: i64| {
        out.0.extend_from_slice(&push_box.0);
        out.push(I::I64Const(offset));
        out.push(I::Call(f.0));
    };
    // `addr` on the stack: traps unless `addr + offset` is a multiple of the width.
    let check_alignment = |out: &mut Sink, offset: i64| {
        let width = atomic.width();
        if width > 1 {
            out.push(I::I32Const(offset as i32));
            out.push(I::I32Add);
            out.push(I::I32Const(width as i32 - 1));
            out.push(I::I32And);
            out.push(I::If(we::BlockType::Empty));
            out.push(I::Call(funcs.unaligned.expect("a wide access's trap").0));
            out.push(I::End);
        } else {
            out.push(I::Drop);
        }
    };
    let load_func = || funcs.load.expect("a reading atomic has a load helper");
    let store = || funcs.store.expect("a writing atomic has a store helper");
    match atomic {
        Atomic::Load(_) => {
            out.push(I::LocalTee(addr));
            check_alignment(out, offset);
            out.push(I::LocalGet(addr));
            call_with_box(out, load_func(), offset);
        }
        Atomic::Store(_) => {
            let v = val(scratch, 0);
            out.push(I::LocalSet(v));
            out.push(I::LocalTee(addr));
            check_alignment(out, offset);
            out.push(I::LocalGet(addr));
            out.push(I::LocalGet(v));
            call_with_box(out, store(), offset);
        }
        Atomic::Rmw { op, .. } => {
            let (v, old) = (val(scratch, 0), val(scratch, 1));
            out.push(I::LocalSet(v));
            out.push(I::LocalTee(addr));
            check_alignment(out, offset);
            out.push(I::LocalGet(addr));
            out.push(I::LocalGet(addr));
            call_with_box(out, load_func(), offset);
            let arith = match (op, wide) {
                (RmwOp::Add, false) => Some(I::I32Add),
                (RmwOp::Sub, false) => Some(I::I32Sub),
                (RmwOp::And, false) => Some(I::I32And),
                (RmwOp::Or, false) => Some(I::I32Or),
                (RmwOp::Xor, false) => Some(I::I32Xor),
                (RmwOp::Add, true) => Some(I::I64Add),
                (RmwOp::Sub, true) => Some(I::I64Sub),
                (RmwOp::And, true) => Some(I::I64And),
                (RmwOp::Or, true) => Some(I::I64Or),
                (RmwOp::Xor, true) => Some(I::I64Xor),
                (RmwOp::Xchg, _) => None,
            };
            match arith {
                Some(ins) => {
                    out.push(I::LocalTee(old));
                    out.push(I::LocalGet(v));
                    out.push(ins);
                }
                None => {
                    out.push(I::LocalSet(old));
                    out.push(I::LocalGet(v));
                }
            }
            call_with_box(out, store(), offset);
            out.push(I::LocalGet(old));
        }
        Atomic::Cmpxchg { load, .. } => {
            let (expected, replacement, old) = (val(scratch, 0), val(scratch, 1), val(scratch, 2));
            out.push(I::LocalSet(replacement));
            out.push(I::LocalSet(expected));
            out.push(I::LocalTee(addr));
            check_alignment(out, offset);
            out.push(I::LocalGet(addr));
            call_with_box(out, load_func(), offset);
            out.push(I::LocalTee(old));
            out.push(I::LocalGet(expected));
            // The expected value wrapped to the access's width.
            let bits = load.width() * 8;
            match (wide, bits) {
                (false, 32) | (true, 64) => {}
                (false, _) => {
                    out.push(I::I32Const(((1u64 << bits) - 1) as i32));
                    out.push(I::I32And);
                }
                (true, _) => {
                    out.push(I::I64Const(((1u64 << bits) - 1) as i64));
                    out.push(I::I64And);
                }
            }
            out.push(if wide { I::I64Eq } else { I::I32Eq });
            out.push(I::If(we::BlockType::Empty));
            out.push(I::LocalGet(addr));
            out.push(I::LocalGet(replacement));
            call_with_box(out, store(), offset);
            out.push(I::End);
            out.push(I::LocalGet(old));
        }
        Atomic::Wait { .. } | Atomic::Notify => {
            if let Atomic::Wait { .. } = atomic {
                out.push(I::Drop); // timeout
            }
            out.push(I::Drop); // expected value or count
            // `addr + offset` past 2^32 traps first (wasmtime's `uadd_overflow_trap`).
            let ea = scratch.shared(we::ValType::I64, 0);
            out.push(I::I64ExtendI32U);
            out.push(I::I64Const(offset));
            out.push(I::I64Add);
            out.push(I::LocalTee(ea));
            out.push(I::I64Const(u32::MAX as i64));
            out.push(I::I64GtU);
            out.push(I::If(we::BlockType::Empty));
            out.push(I::Call(
                funcs.out_of_bounds.expect("the address check's trap").0,
            ));
            out.push(I::End);
            out.push(I::LocalGet(ea));
            out.push(I::I32WrapI64);
            out.push(I::LocalTee(addr));
            check_alignment(out, 0);
            out.push(I::LocalGet(addr));
            call_with_box(out, load_func(), 0);
            out.push(I::Drop);
            if let Atomic::Wait { .. } = atomic {
                out.push(I::Call(funcs.wait_non_shared.expect("the wait's trap").0));
            }
            out.push(I::I32Const(0));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_atomic_access_is_classified() {
        let wat = r#"(module (memory 1 1)
          (func (param i32 i32 i64)
            (drop (i32.atomic.rmw8.cmpxchg_u (local.get 0) (local.get 1) (local.get 1)))
            (drop (i64.atomic.rmw32.xchg_u (local.get 0) (local.get 2)))
            (drop (i64.atomic.rmw16.sub_u offset=6 (local.get 0) (local.get 2)))
            (drop (memory.atomic.wait64 (local.get 0) (local.get 2) (local.get 2)))
            (i64.atomic.store32 (local.get 0) (local.get 2))
            atomic.fence))"#;
        let bytes = wat::parse_str(wat).unwrap();
        let mut found = Vec::new();
        for payload in wp::Parser::new(0).parse_all(&bytes) {
            if let wp::Payload::CodeSectionEntry(body) = payload.unwrap() {
                for op in body.get_operators_reader().unwrap() {
                    let op = op.unwrap();
                    if let Some((a, m)) = atomic_access(&op) {
                        found.push((a, a.width(), m.offset));
                    }
                }
            }
        }
        use LoadKind as L;
        use StoreKind as S;
        assert_eq!(
            found,
            [
                (
                    Atomic::Cmpxchg {
                        load: L::I32Load8U,
                        store: S::I32Store8
                    },
                    1,
                    0
                ),
                (
                    Atomic::Rmw {
                        op: RmwOp::Xchg,
                        load: L::I64Load32U,
                        store: S::I64Store32
                    },
                    4,
                    0
                ),
                (
                    Atomic::Rmw {
                        op: RmwOp::Sub,
                        load: L::I64Load16U,
                        store: S::I64Store16
                    },
                    2,
                    6
                ),
                (Atomic::Wait { wide: true }, 8, 0),
                (Atomic::Store(S::I64Store32), 4, 0),
            ]
        );
    }
}
