//! Canonical-ABI flattening of the host boundary's function types (`CanonicalABI.md`,
//! `flatten_functype`, synchronous, and `async` for the lower context): a component function
//! type becomes the core type the
//! guest core ABI gives it, and what its values need besides flat core values (memory,
//! resource handles). `MAX_FLAT_PARAMS` and `MAX_FLAT_RESULTS` are wasmtime-environ's.

use wasmtime_environ::component::{
    ComponentTypes, InterfaceType, MAX_FLAT_ASYNC_PARAMS, MAX_FLAT_PARAMS, MAX_FLAT_RESULTS,
    TypeFuncIndex,
};
use wasmtime_environ::wasmparser::{FuncType, ValType};

/// The direction a host function's values cross the boundary in, which decides where results
/// that do not fit in one flat value go (canonical ABI `flatten_functype`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Direction {
    /// An export: the guest returns a pointer to its results.
    Lift,
    /// An import: the guest passes a pointer to the return area as the last parameter.
    Lower,
}

/// What the values of a host function need besides flat core values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Uses {
    /// Values cross through linear memory (strings, lists, spilled values).
    pub(super) memory: bool,
    /// Resource handles or stream and future ends cross (they must move between the host's
    /// and the guest's tables).
    pub(super) handles: bool,
    /// Error contexts cross (handles too, which the host adapters turn into the host's
    /// error contexts and back through the guest core ABI's intrinsics).
    pub(super) error_contexts: bool,
}

/// Flattens the component function type `ty` into its core type (canonical ABI
/// `flatten_functype`, synchronous), and says what else its values need.
///
/// Errors: [`not_yet`] for types that are not supported yet (an `async` function type is
/// flattened as a sync one: its lifts and lowers at the boundary are sync).
pub(super) fn flatten_func(
    types: &ComponentTypes,
    ty: TypeFuncIndex,
    direction: Direction,
) -> anyhow::Result<(FuncType, Uses)> {
    // An `async` type lifted or lowered without `async` has the synchronous core type (an
    // `async` lowering's is `flatten_async_lower`'s).
    let (mut flat_params, mut flat_results, mut uses) = flat_values(types, ty)?;
    if flat_params.len() > MAX_FLAT_PARAMS {
        flat_params = vec![ValType::I32];
        uses.memory = true;
    }
    if flat_results.len() > MAX_FLAT_RESULTS {
        uses.memory = true;
        match direction {
            Direction::Lift => flat_results = vec![ValType::I32],
            Direction::Lower => {
                flat_params.push(ValType::I32);
                flat_results.clear();
            }
        }
    }
    Ok((FuncType::new(flat_params, flat_results), uses))
}

/// The core type of an `async` lowering of the component function type `ty` (canonical ABI
/// `flatten_functype` with `async` in the `lower` context): more than
/// `MAX_FLAT_ASYNC_PARAMS` (4) flat parameters become one pointer to them, any result makes a
/// trailing `i32` parameter (where the results are stored), and the one result is the `i32`
/// status (`RETURNED` is 2).
///
/// Errors: as [`flatten_func`].
pub(super) fn flatten_async_lower(
    types: &ComponentTypes,
    ty: TypeFuncIndex,
) -> anyhow::Result<(FuncType, Uses)> {
    let (mut flat_params, flat_results, mut uses) = flat_values(types, ty)?;
    if flat_params.len() > MAX_FLAT_ASYNC_PARAMS {
        flat_params = vec![ValType::I32];
        uses.memory = true;
    }
    if !flat_results.is_empty() {
        flat_params.push(ValType::I32);
        uses.memory = true;
    }
    Ok((FuncType::new(flat_params, [ValType::I32]), uses))
}

/// Whether the results of the component function type `ty` hold a string, a list or a map
/// (which the host allocates in memory with `realloc` when it returns them).
///
/// Errors: as [`flatten_func`].
pub(super) fn results_hold_memory(
    types: &ComponentTypes,
    ty: TypeFuncIndex,
) -> anyhow::Result<bool> {
    let mut uses = Uses::default();
    for ty in types[types[ty].results].types.iter() {
        check_type(types, ty, &mut uses)?;
    }
    Ok(uses.memory)
}

/// The flat core types of the parameters and of the results of the component function type
/// `ty` (canonical ABI `flatten_type` of each), before any is spilled to memory, and what
/// else its values need.
///
/// Errors: [`not_yet`] for types that are not supported yet ([`check_type`]).
fn flat_values(
    types: &ComponentTypes,
    ty: TypeFuncIndex,
) -> anyhow::Result<(Vec<ValType>, Vec<ValType>, Uses)> {
    let func = &types[ty];
    let params = &types[func.params].types;
    let results = &types[func.results].types;
    let mut uses = Uses::default();
    for ty in params.iter().chain(results.iter()) {
        check_type(types, ty, &mut uses)?;
    }
    let mut flat_params = Vec::new();
    for ty in params.iter() {
        flatten(types, ty, &mut flat_params);
    }
    let mut flat_results = Vec::new();
    for ty in results.iter() {
        flatten(types, ty, &mut flat_results);
    }
    Ok((flat_params, flat_results, uses))
}

/// Says what the values of `ty` need: sets `uses.memory` when it holds a string, a list or
/// a map, `uses.handles` when it holds
/// a resource handle, a stream or future end or an error context, `uses.error_contexts` for
/// the last.
pub(super) fn check_type(
    types: &ComponentTypes,
    ty: &InterfaceType,
    uses: &mut Uses,
) -> anyhow::Result<()> {
    match *ty {
        InterfaceType::Bool
        | InterfaceType::S8
        | InterfaceType::U8
        | InterfaceType::S16
        | InterfaceType::U16
        | InterfaceType::S32
        | InterfaceType::U32
        | InterfaceType::S64
        | InterfaceType::U64
        | InterfaceType::Float32
        | InterfaceType::Float64
        | InterfaceType::Char
        | InterfaceType::Flags(_)
        | InterfaceType::Enum(_) => Ok(()),
        InterfaceType::String => {
            uses.memory = true;
            Ok(())
        }
        InterfaceType::List(i) => {
            uses.memory = true;
            check_type(types, &types[i].element, uses)
        }
        InterfaceType::Map(i) => {
            uses.memory = true;
            check_type(types, &types[i].key, uses)?;
            check_type(types, &types[i].value, uses)
        }
        InterfaceType::Own(_) | InterfaceType::Borrow(_) => {
            uses.handles = true;
            Ok(())
        }
        // Stream and future ends are handles too: they go through the host adapters, where
        // FACT's transfer of one passes it to the host or traps at a named limit
        // (`crate::transmit`'s `transfer`).
        InterfaceType::Future(_) | InterfaceType::Stream(_) => {
            uses.handles = true;
            Ok(())
        }
        InterfaceType::ErrorContext(_) => {
            uses.handles = true;
            uses.error_contexts = true;
            Ok(())
        }
        InterfaceType::Record(i) => types[i]
            .fields
            .iter()
            .try_for_each(|field| check_type(types, &field.ty, uses)),
        InterfaceType::Tuple(i) => types[i]
            .types
            .iter()
            .try_for_each(|ty| check_type(types, ty, uses)),
        InterfaceType::Variant(i) => types[i]
            .cases
            .values()
            .flatten()
            .try_for_each(|ty| check_type(types, ty, uses)),
        InterfaceType::Option(i) => check_type(types, &types[i].ty, uses),
        InterfaceType::Result(i) => {
            let result = &types[i];
            result
                .ok
                .iter()
                .chain(result.err.iter())
                .try_for_each(|ty| check_type(types, ty, uses))
        }
        InterfaceType::FixedLengthList(i) => check_type(types, &types[i].element, uses),
    }
}

/// Appends the flat core types of `ty` (canonical ABI `flatten_type`) to `out`.
///
/// The caller has checked `ty` with [`check_type`].
fn flatten(types: &ComponentTypes, ty: &InterfaceType, out: &mut Vec<ValType>) {
    match *ty {
        InterfaceType::Bool
        | InterfaceType::S8
        | InterfaceType::U8
        | InterfaceType::S16
        | InterfaceType::U16
        | InterfaceType::S32
        | InterfaceType::U32
        | InterfaceType::Char
        | InterfaceType::Enum(_)
        | InterfaceType::Own(_)
        | InterfaceType::Borrow(_)
        | InterfaceType::Future(_)
        | InterfaceType::Stream(_)
        | InterfaceType::ErrorContext(_) => out.push(ValType::I32),
        InterfaceType::S64 | InterfaceType::U64 => out.push(ValType::I64),
        InterfaceType::Float32 => out.push(ValType::F32),
        InterfaceType::Float64 => out.push(ValType::F64),
        InterfaceType::String | InterfaceType::List(_) | InterfaceType::Map(_) => {
            out.extend([ValType::I32, ValType::I32]);
        }
        InterfaceType::Flags(i) => {
            let words = types[i].names.len().div_ceil(32);
            out.extend(std::iter::repeat_n(ValType::I32, words));
        }
        InterfaceType::Record(i) => {
            for field in types[i].fields.iter() {
                flatten(types, &field.ty, out);
            }
        }
        InterfaceType::Tuple(i) => {
            for ty in types[i].types.iter() {
                flatten(types, ty, out);
            }
        }
        // Past `MAX_FLAT_PARAMS` values the function passes its values through memory
        // whatever they are, so a long list stops there (one may hold 2^28 elements).
        InterfaceType::FixedLengthList(i) => {
            let list = &types[i];
            for _ in 0..list.size {
                if out.len() > MAX_FLAT_PARAMS {
                    break;
                }
                flatten(types, &list.element, out);
            }
        }
        InterfaceType::Variant(i) => flatten_variant(types, types[i].cases.values().copied(), out),
        InterfaceType::Option(i) => flatten_variant(types, [None, Some(types[i].ty)], out),
        InterfaceType::Result(i) => {
            let result = &types[i];
            flatten_variant(types, [result.ok, result.err], out);
        }
    }
}

/// Canonical ABI `flatten_variant`: the `i32` discriminant, then the case payloads joined
/// position by position.
fn flatten_variant(
    types: &ComponentTypes,
    cases: impl IntoIterator<Item = Option<InterfaceType>>,
    out: &mut Vec<ValType>,
) {
    let mut joined: Vec<ValType> = Vec::new();
    let mut case_flat = Vec::new();
    for case in cases.into_iter().flatten() {
        case_flat.clear();
        flatten(types, &case, &mut case_flat);
        for (i, ty) in case_flat.iter().enumerate() {
            match joined.get_mut(i) {
                Some(slot) => *slot = join(*slot, *ty),
                None => joined.push(*ty),
            }
        }
    }
    out.push(ValType::I32);
    out.extend(joined);
}

/// Canonical ABI `join` of two flat types that share a variant payload position.
fn join(a: ValType, b: ValType) -> ValType {
    match (a, b) {
        _ if a == b => a,
        (ValType::I32, ValType::F32) | (ValType::F32, ValType::I32) => ValType::I32,
        _ => ValType::I64,
    }
}
