//! Encoded instructions being built, and what every emitter shares: where the vmctx comes
//! from (in a function body, or in an instance constructor: `ConstructorScope`), the scratch
//! locals of a function, and the width and sign of a load or store.

use runtime_structs::{LoadKind, StoreKind};
use wasm_encoder as we;
use wasmtime_environ::component::RuntimeInstanceIndex;
use wasmtime_environ::wasmparser as wp;

/// Where the vmctx of reified code comes from.
#[derive(Clone, Copy)]
pub enum VmctxSource {
    /// A local (the function's vmctx parameter, or the vmctx being built by an instance's
    /// constructor).
    Local(u32),
}

impl VmctxSource {
    /// Pushes the vmctx.
    pub fn push(self, out: &mut Sink) {
        match self {
            VmctxSource::Local(l) => out.push(we::Instruction::LocalGet(l)),
        }
    }
}

/// Scratch locals of one function, one per value type, allocated on first use.
pub struct Scratch {
    base: u32,
    /// Each local's type, and whether [`Scratch::get`] may hand it out again (`false` for a
    /// local from [`Scratch::fresh`], which its owner keeps live across other uses).
    locals: Vec<(we::ValType, bool)>,
}

impl Scratch {
    /// Scratch locals start at local index `base`.
    pub fn new(base: u32) -> Self {
        Scratch {
            base,
            locals: Vec::new(),
        }
    }

    /// The shared scratch local of type `ty`: its value lasts until the next use of a shared
    /// local of that type.
    pub fn get(&mut self, ty: we::ValType) -> u32 {
        self.shared(ty, 0)
    }

    /// The `n`th shared scratch local of type `ty` (the 0th is [`Scratch::get`]'s), for a
    /// sequence that needs several values of one type at once; as short-lived as that one.
    pub fn shared(&mut self, ty: we::ValType, n: usize) -> u32 {
        let mut seen = 0;
        for (i, l) in self.locals.iter().enumerate() {
            if *l == (ty, true) {
                if seen == n {
                    return self.base + i as u32;
                }
                seen += 1;
            }
        }
        for _ in seen..=n {
            self.locals.push((ty, true));
        }
        self.base + self.locals.len() as u32 - 1
    }

    /// A new scratch local of type `ty`, shared with no other use.
    pub fn fresh(&mut self, ty: we::ValType) -> u32 {
        self.locals.push((ty, false));
        self.base + self.locals.len() as u32 - 1
    }

    /// The types of the scratch locals, in order from `base`.
    pub fn types(&self) -> impl Iterator<Item = we::ValType> + '_ {
        self.locals.iter().map(|(ty, _)| *ty)
    }

    /// Whether no scratch local was allocated.
    pub fn is_empty(&self) -> bool {
        self.locals.is_empty()
    }
}

/// The kind and memory argument of a load (none for other instructions).
pub fn load_kind(op: &wp::Operator<'_>) -> Option<(LoadKind, wp::MemArg)> {
    use wp::Operator as O;
    Some(match *op {
        O::I32Load { memarg } => (LoadKind::I32Load, memarg),
        O::I64Load { memarg } => (LoadKind::I64Load, memarg),
        O::F32Load { memarg } => (LoadKind::F32Load, memarg),
        O::F64Load { memarg } => (LoadKind::F64Load, memarg),
        O::I32Load8S { memarg } => (LoadKind::I32Load8S, memarg),
        O::I32Load8U { memarg } => (LoadKind::I32Load8U, memarg),
        O::I32Load16S { memarg } => (LoadKind::I32Load16S, memarg),
        O::I32Load16U { memarg } => (LoadKind::I32Load16U, memarg),
        O::I64Load8S { memarg } => (LoadKind::I64Load8S, memarg),
        O::I64Load8U { memarg } => (LoadKind::I64Load8U, memarg),
        O::I64Load16S { memarg } => (LoadKind::I64Load16S, memarg),
        O::I64Load16U { memarg } => (LoadKind::I64Load16U, memarg),
        O::I64Load32S { memarg } => (LoadKind::I64Load32S, memarg),
        O::I64Load32U { memarg } => (LoadKind::I64Load32U, memarg),
        _ => return None,
    })
}

/// The kind and memory argument of a store (none for other instructions).
pub fn store_kind(op: &wp::Operator<'_>) -> Option<(StoreKind, wp::MemArg)> {
    use wp::Operator as O;
    Some(match *op {
        O::I32Store { memarg } => (StoreKind::I32Store, memarg),
        O::I64Store { memarg } => (StoreKind::I64Store, memarg),
        O::F32Store { memarg } => (StoreKind::F32Store, memarg),
        O::F64Store { memarg } => (StoreKind::F64Store, memarg),
        O::I32Store8 { memarg } => (StoreKind::I32Store8, memarg),
        O::I32Store16 { memarg } => (StoreKind::I32Store16, memarg),
        O::I64Store8 { memarg } => (StoreKind::I64Store8, memarg),
        O::I64Store16 { memarg } => (StoreKind::I64Store16, memarg),
        O::I64Store32 { memarg } => (StoreKind::I64Store32, memarg),
        _ => return None,
    })
}

/// Encoded instructions of a function body or an instantiation routine being built.
#[derive(Default)]
pub struct Sink(pub Vec<u8>);

impl Sink {
    /// Appends one instruction.
    pub fn push(&mut self, ins: we::Instruction<'_>) {
        we::Encode::encode(&ins, &mut self.0);
    }

    /// Appends instructions, in order.
    pub fn extend<'a>(&mut self, ins: impl IntoIterator<Item = we::Instruction<'a>>) {
        for i in ins {
            self.push(i);
        }
    }
}

/// While a reified instance's constructor body is emitted: where that body (and only it, the
/// sink at address `sink`: functions made on the way have bodies of their own) finds the
/// vmctxs of instances.
pub(crate) struct ConstructorScope {
    /// The address of the body's sink, compared and never dereferenced.
    pub(crate) sink: usize,
    /// The instance under construction.
    pub(crate) own: RuntimeInstanceIndex,
    /// The local holding its vmctx.
    pub(crate) own_local: u32,
    /// The other instances the body reads: the vmctx of `sources[p]` is parameter `p`.
    pub(crate) sources: std::cell::RefCell<Vec<RuntimeInstanceIndex>>,
}

/// `op` with the relative depth of its branch mapped by `f`, for the branches that name one
/// label (`br`, `br_if`, `br_on_null`, `br_on_non_null`, `br_on_cast`, `br_on_cast_fail`); any
/// other operator unchanged (a `br_table`'s targets and a `try_table`'s catch labels are the
/// caller's to map).
pub fn map_branch_depth<'a>(op: &wp::Operator<'a>, f: impl Fn(u32) -> u32) -> wp::Operator<'a> {
    use wp::Operator as O;
    match op.clone() {
        O::Br { relative_depth } => O::Br {
            relative_depth: f(relative_depth),
        },
        O::BrIf { relative_depth } => O::BrIf {
            relative_depth: f(relative_depth),
        },
        O::BrOnNull { relative_depth } => O::BrOnNull {
            relative_depth: f(relative_depth),
        },
        O::BrOnNonNull { relative_depth } => O::BrOnNonNull {
            relative_depth: f(relative_depth),
        },
        O::BrOnCast {
            relative_depth,
            from_ref_type,
            to_ref_type,
        } => O::BrOnCast {
            relative_depth: f(relative_depth),
            from_ref_type,
            to_ref_type,
        },
        O::BrOnCastFail {
            relative_depth,
            from_ref_type,
            to_ref_type,
        } => O::BrOnCastFail {
            relative_depth: f(relative_depth),
            from_ref_type,
            to_ref_type,
        },
        other => other,
    }
}
