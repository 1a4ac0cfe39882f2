//! The scalar subset of the canonical ABI, as the host side of a guest core module sees it.
//!
//! The `wast` runner calls a lowered core module's exports directly, without wasmtime's
//! component runtime, when every parameter and result of the function is a *scalar shape*:
//! `bool`, the integers, `f32`/`f64`, `char`, `enum`, `flags`, and `record`/`tuple`/
//! `variant`/`option`/`result` built from those. Such values never touch linear memory as
//! long as the flattened signature has at most [`MAX_FLAT_PARAMS`] parameters and
//! [`MAX_FLAT_RESULTS`] result, so the call is plain core wasm:
//!
//! ```text
//! (func (export "f") (param "x" u8) (param "y" (option f32)) (result char))
//!   ⇒ core export "f": (param i32 i32 f32) (result i32)
//! ```
//!
//! [`Shape::flatten`], [`Shape::lower`] and [`Shape::lift`] follow `flatten_type`,
//! `lower_flat` and `lift_flat` of the component model's `CanonicalABI.md`: integers narrower
//! than 32 bits are zero- or sign-extended when lowered and truncated when lifted; a `char`
//! outside the Unicode scalar values and a discriminant past the last case trap when lifted;
//! variant payloads are joined (`i32`/`f32` → `i32`, anything else mixed → `i64`) and
//! coerced per case. Flags use one `i32` per 32 labels; undefined bits are ignored when lifted.
//! NaN payloads are passed through unchanged (the specification no longer canonicalizes them).

use wasmtime::component::{Type, Val};

pub use wasmtime_environ::component::{MAX_FLAT_PARAMS, MAX_FLAT_RESULTS};

impl FlatType {
    /// The type's name in wasm text: `i32`, `i64`, `f32`, `f64`.
    pub fn name(self) -> &'static str {
        match self {
            FlatType::I32 => "i32",
            FlatType::I64 => "i64",
            FlatType::F32 => "f32",
            FlatType::F64 => "f64",
        }
    }
}

impl FlatVal {
    /// `[type, text]`: the value's type name and its decimal text (a float's bits).
    pub fn to_text(self) -> (&'static str, String) {
        match self {
            FlatVal::I32(x) => ("i32", x.to_string()),
            FlatVal::I64(x) => ("i64", x.to_string()),
            FlatVal::F32(x) => ("f32", x.to_string()),
            FlatVal::F64(x) => ("f64", x.to_string()),
        }
    }

    /// The inverse of [`FlatVal::to_text`]; `None` for an unknown type or bad text.
    pub fn from_text(ty: &str, text: &str) -> Option<FlatVal> {
        Some(match ty {
            "i32" => FlatVal::I32(text.parse().ok()?),
            "i64" => FlatVal::I64(text.parse().ok()?),
            "f32" => FlatVal::F32(text.parse().ok()?),
            "f64" => FlatVal::F64(text.parse().ok()?),
            _ => return None,
        })
    }

    /// Whether the value is a NaN other than the positive canonical one (`0x7fc00000`,
    /// `0x7ff8000000000000`): one whose payload or sign a JavaScript number need not keep.
    pub fn is_nan_with_payload(&self) -> bool {
        match *self {
            FlatVal::F32(x) => f32::from_bits(x).is_nan() && x != 0x7fc0_0000,
            FlatVal::F64(x) => f64::from_bits(x).is_nan() && x != 0x7ff8_0000_0000_0000,
            _ => false,
        }
    }

    /// Whether two values are the same: floats by bits, any NaN the same as any NaN (a NaN's
    /// payload need not survive a JavaScript number).
    pub fn same(&self, other: &FlatVal) -> bool {
        match (self, other) {
            (FlatVal::F32(a), FlatVal::F32(b)) => {
                a == b || (f32::from_bits(*a).is_nan() && f32::from_bits(*b).is_nan())
            }
            (FlatVal::F64(a), FlatVal::F64(b)) => {
                a == b || (f64::from_bits(*a).is_nan() && f64::from_bits(*b).is_nan())
            }
            (a, b) => a == b,
        }
    }
}

/// A core value type of a flattened signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlatType {
    /// `i32`.
    I32,
    /// `i64`.
    I64,
    /// `f32`.
    F32,
    /// `f64`.
    F64,
}

/// A core value of a flattened signature; floats are kept as bits so NaN payloads survive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlatVal {
    /// An `i32`.
    I32(i32),
    /// An `i64`.
    I64(i64),
    /// An `f32`, as its bits.
    F32(u32),
    /// An `f64`, as its bits.
    F64(u64),
}

impl FlatVal {
    /// The value's core type.
    pub fn ty(self) -> FlatType {
        match self {
            FlatVal::I32(_) => FlatType::I32,
            FlatVal::I64(_) => FlatType::I64,
            FlatVal::F32(_) => FlatType::F32,
            FlatVal::F64(_) => FlatType::F64,
        }
    }

    fn zero(ty: FlatType) -> FlatVal {
        match ty {
            FlatType::I32 => FlatVal::I32(0),
            FlatType::I64 => FlatVal::I64(0),
            FlatType::F32 => FlatVal::F32(0),
            FlatType::F64 => FlatVal::F64(0),
        }
    }
}

/// A component value type that flattens without linear memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    /// `bool`.
    Bool,
    /// `s8`.
    S8,
    /// `u8`.
    U8,
    /// `s16`.
    S16,
    /// `u16`.
    U16,
    /// `s32`.
    S32,
    /// `u32`.
    U32,
    /// `s64`.
    S64,
    /// `u64`.
    U64,
    /// `f32`.
    F32,
    /// `f64`.
    F64,
    /// `char`.
    Char,
    /// `record`: field names and shapes, in declaration order.
    Record(Vec<(String, Shape)>),
    /// `tuple`.
    Tuple(Vec<Shape>),
    /// `variant`: case names and payload shapes, in declaration order.
    Variant(Vec<(String, Option<Shape>)>),
    /// `enum`: case names.
    Enum(Vec<String>),
    /// `option<T>`: the variant `none | some(T)`.
    Option(Box<Shape>),
    /// `result<T, E>`: the variant `ok(T?) | error(E?)`.
    Result(Option<Box<Shape>>, Option<Box<Shape>>),
    /// `flags`: labels, bit 0 first.
    Flags(Vec<String>),
}

/// The flattened core signature of a component function whose types are all scalar shapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlatSig {
    /// The component-level parameter shapes.
    pub params: Vec<Shape>,
    /// The component-level result shapes.
    pub results: Vec<Shape>,
    /// The core parameters.
    pub flat_params: Vec<FlatType>,
    /// The core results (at most [`MAX_FLAT_RESULTS`]).
    pub flat_results: Vec<FlatType>,
}

impl FlatSig {
    /// The direct core signature of a function with these parameter and result types, or
    /// `None` if some type is not a scalar shape or the signature would spill to memory.
    pub fn new(params: &[Type], results: &[Type]) -> Option<FlatSig> {
        let params = params
            .iter()
            .map(Shape::from_type)
            .collect::<Option<Vec<_>>>()?;
        let results = results
            .iter()
            .map(Shape::from_type)
            .collect::<Option<Vec<_>>>()?;
        Self::from_shapes(params, results)
    }

    /// Like [`FlatSig::new`], from shapes.
    pub fn from_shapes(params: Vec<Shape>, results: Vec<Shape>) -> Option<FlatSig> {
        let mut flat_params = Vec::new();
        params.iter().for_each(|s| s.flatten(&mut flat_params));
        let mut flat_results = Vec::new();
        results.iter().for_each(|s| s.flatten(&mut flat_results));
        if flat_params.len() > MAX_FLAT_PARAMS || flat_results.len() > MAX_FLAT_RESULTS {
            return None;
        }
        Some(FlatSig {
            params,
            results,
            flat_params,
            flat_results,
        })
    }

    /// Lowers the arguments; an error means a value does not have the parameter's shape.
    pub fn lower_args(&self, args: &[Val]) -> Result<Vec<FlatVal>, String> {
        if args.len() != self.params.len() {
            return Err(format!(
                "expected {} arguments, got {}",
                self.params.len(),
                args.len()
            ));
        }
        let mut out = Vec::with_capacity(self.flat_params.len());
        for (shape, val) in self.params.iter().zip(args) {
            shape.lower(val, &mut out)?;
        }
        Ok(out)
    }

    /// Lifts the core results; an error is a trap of the canonical ABI (or a core result of
    /// the wrong type).
    pub fn lift_results(&self, flat: &[FlatVal]) -> Result<Vec<Val>, String> {
        let mut src = flat.iter().copied();
        let vals = self
            .results
            .iter()
            .map(|s| s.lift(&mut src))
            .collect::<Result<Vec<_>, _>>()?;
        if src.next().is_some() {
            return Err("too many core results".to_string());
        }
        Ok(vals)
    }
}

/// Joins two flat types of variant payloads at the same position (`join` in the spec).
fn join(a: FlatType, b: FlatType) -> FlatType {
    match (a, b) {
        _ if a == b => a,
        (FlatType::I32, FlatType::F32) | (FlatType::F32, FlatType::I32) => FlatType::I32,
        _ => FlatType::I64,
    }
}

/// Bits of an `i32` zero-extended to `i64` (the spec's unsigned integers).
fn zext(x: i32) -> i64 {
    i64::from(x.cast_unsigned())
}

/// Coerces a payload value to the joined type of its position (`lower_flat_variant`).
fn widen(have: FlatVal, want: FlatType) -> FlatVal {
    match (have, want) {
        (FlatVal::F32(bits), FlatType::I32) => FlatVal::I32(bits.cast_signed()),
        (FlatVal::I32(x), FlatType::I64) => FlatVal::I64(zext(x)),
        (FlatVal::F32(bits), FlatType::I64) => FlatVal::I64(i64::from(bits)),
        (FlatVal::F64(bits), FlatType::I64) => FlatVal::I64(bits.cast_signed()),
        (v, _) => v,
    }
}

/// Coerces a joined value back to a payload's own type (`CoerceValueIter` of `lift_flat_variant`).
fn narrow(have: FlatVal, want: FlatType) -> FlatVal {
    #[expect(
        clippy::cast_possible_truncation,
        reason = "`wrap_i64_to_i32` of the spec"
    )]
    let wrap = |x: i64| x as i32;
    match (have, want) {
        (FlatVal::I32(x), FlatType::F32) => FlatVal::F32(x.cast_unsigned()),
        (FlatVal::I64(x), FlatType::I32) => FlatVal::I32(wrap(x)),
        (FlatVal::I64(x), FlatType::F32) => FlatVal::F32(wrap(x).cast_unsigned()),
        (FlatVal::I64(x), FlatType::F64) => FlatVal::F64(x.cast_unsigned()),
        (v, _) => v,
    }
}

/// Reads the next core value, which must have type `ty`.
fn next(src: &mut dyn Iterator<Item = FlatVal>, ty: FlatType) -> Result<FlatVal, String> {
    match src.next() {
        Some(v) if v.ty() == ty => Ok(v),
        Some(v) => Err(format!("expected a core `{ty:?}`, got {v:?}")),
        None => Err("too few core results".to_string()),
    }
}

fn next_i32(src: &mut dyn Iterator<Item = FlatVal>) -> Result<i32, String> {
    match next(src, FlatType::I32)? {
        FlatVal::I32(x) => Ok(x),
        _ => unreachable!("`next` checked the type"),
    }
}

fn next_i64(src: &mut dyn Iterator<Item = FlatVal>) -> Result<i64, String> {
    match next(src, FlatType::I64)? {
        FlatVal::I64(x) => Ok(x),
        _ => unreachable!("`next` checked the type"),
    }
}

/// The number of `i32`s that hold `n` flags.
fn flag_words(n: usize) -> usize {
    n.div_ceil(32)
}

impl Shape {
    /// The shape of `ty`, or `None` if `ty` needs memory or handles (strings, lists,
    /// resources, streams, …).
    pub fn from_type(ty: &Type) -> Option<Shape> {
        let boxed = |t: Option<Type>| match t {
            Some(t) => Shape::from_type(&t).map(|s| Some(Box::new(s))),
            None => Some(None),
        };
        Some(match ty {
            Type::Bool => Shape::Bool,
            Type::S8 => Shape::S8,
            Type::U8 => Shape::U8,
            Type::S16 => Shape::S16,
            Type::U16 => Shape::U16,
            Type::S32 => Shape::S32,
            Type::U32 => Shape::U32,
            Type::S64 => Shape::S64,
            Type::U64 => Shape::U64,
            Type::Float32 => Shape::F32,
            Type::Float64 => Shape::F64,
            Type::Char => Shape::Char,
            Type::Record(r) => Shape::Record(
                r.fields()
                    .map(|f| Some((f.name.to_string(), Shape::from_type(&f.ty)?)))
                    .collect::<Option<_>>()?,
            ),
            Type::Tuple(t) => Shape::Tuple(
                t.types()
                    .map(|t| Shape::from_type(&t))
                    .collect::<Option<_>>()?,
            ),
            Type::Variant(v) => Shape::Variant(
                v.cases()
                    .map(|c| {
                        let payload = match c.ty {
                            Some(t) => Some(Shape::from_type(&t)?),
                            None => None,
                        };
                        Some((c.name.to_string(), payload))
                    })
                    .collect::<Option<_>>()?,
            ),
            Type::Enum(e) => Shape::Enum(e.names().map(str::to_string).collect()),
            Type::Option(o) => Shape::Option(Box::new(Shape::from_type(&o.ty())?)),
            Type::Result(r) => Shape::Result(boxed(r.ok())?, boxed(r.err())?),
            Type::Flags(f) => Shape::Flags(f.names().map(str::to_string).collect()),
            _ => return None,
        })
    }

    /// The payload shapes of a variant-like shape (`variant`, `enum`, `option`, `result`).
    fn cases(&self) -> Option<Vec<Option<&Shape>>> {
        Some(match self {
            Shape::Variant(cases) => cases.iter().map(|(_, p)| p.as_ref()).collect(),
            Shape::Enum(names) => vec![None; names.len()],
            Shape::Option(t) => vec![None, Some(&**t)],
            Shape::Result(ok, err) => vec![ok.as_deref(), err.as_deref()],
            _ => return None,
        })
    }

    /// The joined payload types of a variant-like shape (without the discriminant).
    fn joined_payload(cases: &[Option<&Shape>]) -> Vec<FlatType> {
        let mut joined: Vec<FlatType> = Vec::new();
        for payload in cases.iter().flatten() {
            let mut flat = Vec::new();
            payload.flatten(&mut flat);
            for (i, ty) in flat.into_iter().enumerate() {
                match joined.get_mut(i) {
                    Some(j) => *j = join(*j, ty),
                    None => joined.push(ty),
                }
            }
        }
        joined
    }

    /// Appends the flattened core types of this shape to `out` (`flatten_type`).
    pub fn flatten(&self, out: &mut Vec<FlatType>) {
        match self {
            Shape::Bool
            | Shape::S8
            | Shape::U8
            | Shape::S16
            | Shape::U16
            | Shape::S32
            | Shape::U32
            | Shape::Char => out.push(FlatType::I32),
            Shape::S64 | Shape::U64 => out.push(FlatType::I64),
            Shape::F32 => out.push(FlatType::F32),
            Shape::F64 => out.push(FlatType::F64),
            Shape::Record(fields) => fields.iter().for_each(|(_, s)| s.flatten(out)),
            Shape::Tuple(types) => types.iter().for_each(|s| s.flatten(out)),
            Shape::Flags(names) => {
                out.extend(std::iter::repeat_n(FlatType::I32, flag_words(names.len())));
            }
            Shape::Variant(_) | Shape::Enum(_) | Shape::Option(_) | Shape::Result(..) => {
                let cases = self.cases().unwrap_or_default();
                out.push(FlatType::I32);
                out.extend(Self::joined_payload(&cases));
            }
        }
    }

    /// Appends the core values of `val` to `out` (`lower_flat`); an error means that `val`
    /// does not have this shape.
    pub fn lower(&self, val: &Val, out: &mut Vec<FlatVal>) -> Result<(), String> {
        let i32v = |x: i32| FlatVal::I32(x);
        match (self, val) {
            (Shape::Bool, Val::Bool(b)) => out.push(i32v(i32::from(*b))),
            (Shape::S8, Val::S8(x)) => out.push(i32v(i32::from(*x))),
            (Shape::U8, Val::U8(x)) => out.push(i32v(i32::from(*x))),
            (Shape::S16, Val::S16(x)) => out.push(i32v(i32::from(*x))),
            (Shape::U16, Val::U16(x)) => out.push(i32v(i32::from(*x))),
            (Shape::S32, Val::S32(x)) => out.push(i32v(*x)),
            (Shape::U32, Val::U32(x)) => out.push(i32v(x.cast_signed())),
            (Shape::S64, Val::S64(x)) => out.push(FlatVal::I64(*x)),
            (Shape::U64, Val::U64(x)) => out.push(FlatVal::I64(x.cast_signed())),
            (Shape::F32, Val::Float32(x)) => out.push(FlatVal::F32(x.to_bits())),
            (Shape::F64, Val::Float64(x)) => out.push(FlatVal::F64(x.to_bits())),
            (Shape::Char, Val::Char(c)) => out.push(i32v(u32::from(*c).cast_signed())),
            (Shape::Record(fields), Val::Record(vals)) if fields.len() == vals.len() => {
                for ((name, shape), (vname, v)) in fields.iter().zip(vals) {
                    if name != vname {
                        return Err(format!("expected record field `{name}`, got `{vname}`"));
                    }
                    shape.lower(v, out)?;
                }
            }
            (Shape::Tuple(types), Val::Tuple(vals)) if types.len() == vals.len() => {
                for (shape, v) in types.iter().zip(vals) {
                    shape.lower(v, out)?;
                }
            }
            (Shape::Flags(names), Val::Flags(set)) => {
                let mut words = vec![0u32; flag_words(names.len())];
                for flag in set {
                    let Some(bit) = names.iter().position(|n| n == flag) else {
                        return Err(format!("unknown flag `{flag}`"));
                    };
                    words[bit / 32] |= 1 << (bit % 32);
                }
                out.extend(words.into_iter().map(|w| i32v(w.cast_signed())));
            }
            _ => {
                let (index, payload) = self.case_of(val)?;
                let cases = self.cases().unwrap_or_default();
                let joined = Self::joined_payload(&cases);
                let mut flat = Vec::new();
                if let (Some(shape), Some(v)) = (cases.get(index).copied().flatten(), payload) {
                    shape.lower(v, &mut flat)?;
                }
                let index = i32::try_from(index).map_err(|_| "too many cases".to_string())?;
                out.push(i32v(index));
                for (i, want) in joined.iter().enumerate() {
                    out.push(match flat.get(i) {
                        Some(have) => widen(*have, *want),
                        None => FlatVal::zero(*want),
                    });
                }
            }
        }
        Ok(())
    }

    /// The case index and payload of a variant-like value.
    fn case_of<'v>(&self, val: &'v Val) -> Result<(usize, Option<&'v Val>), String> {
        fn position<'a>(
            mut names: impl Iterator<Item = &'a String>,
            name: &str,
        ) -> Result<usize, String> {
            names
                .position(|n| n == name)
                .ok_or_else(|| format!("unknown case `{name}`"))
        }
        match (self, val) {
            (Shape::Variant(cases), Val::Variant(name, payload)) => {
                let index = position(cases.iter().map(|(n, _)| n), name)?;
                if cases[index].1.is_some() != payload.is_some() {
                    return Err(format!("payload of case `{name}` does not match its type"));
                }
                Ok((index, payload.as_deref()))
            }
            (Shape::Enum(names), Val::Enum(name)) => Ok((position(names.iter(), name)?, None)),
            (Shape::Option(_), Val::Option(None)) => Ok((0, None)),
            (Shape::Option(_), Val::Option(Some(v))) => Ok((1, Some(&**v))),
            (Shape::Result(ok, _), Val::Result(Ok(v))) if ok.is_some() == v.is_some() => {
                Ok((0, v.as_deref()))
            }
            (Shape::Result(_, err), Val::Result(Err(v))) if err.is_some() == v.is_some() => {
                Ok((1, v.as_deref()))
            }
            _ => Err(format!("value {val:?} does not have shape {self:?}")),
        }
    }

    /// Reads this shape's core values from `src` and lifts them (`lift_flat`); an error is a
    /// trap of the canonical ABI, or core values of the wrong types.
    pub fn lift(&self, src: &mut dyn Iterator<Item = FlatVal>) -> Result<Val, String> {
        #[expect(
            clippy::cast_possible_truncation,
            reason = "lifting truncates narrow integers"
        )]
        let val = match self {
            Shape::Bool => Val::Bool(next_i32(src)? != 0),
            Shape::S8 => Val::S8(next_i32(src)? as i8),
            Shape::U8 => Val::U8(next_i32(src)? as u8),
            Shape::S16 => Val::S16(next_i32(src)? as i16),
            Shape::U16 => Val::U16(next_i32(src)? as u16),
            Shape::S32 => Val::S32(next_i32(src)?),
            Shape::U32 => Val::U32(next_i32(src)?.cast_unsigned()),
            Shape::S64 => Val::S64(next_i64(src)?),
            Shape::U64 => Val::U64(next_i64(src)?.cast_unsigned()),
            Shape::F32 => match next(src, FlatType::F32)? {
                FlatVal::F32(bits) => Val::Float32(f32::from_bits(bits)),
                _ => unreachable!("`next` checked the type"),
            },
            Shape::F64 => match next(src, FlatType::F64)? {
                FlatVal::F64(bits) => Val::Float64(f64::from_bits(bits)),
                _ => unreachable!("`next` checked the type"),
            },
            Shape::Char => {
                let x = next_i32(src)?.cast_unsigned();
                Val::Char(
                    char::from_u32(x)
                        .ok_or_else(|| format!("invalid `char` bit pattern {x:#x}"))?,
                )
            }
            Shape::Record(fields) => Val::Record(
                fields
                    .iter()
                    .map(|(name, s)| Ok((name.clone(), s.lift(src)?)))
                    .collect::<Result<_, String>>()?,
            ),
            Shape::Tuple(types) => Val::Tuple(
                types
                    .iter()
                    .map(|s| s.lift(src))
                    .collect::<Result<_, _>>()?,
            ),
            Shape::Flags(names) => {
                let mut set = Vec::new();
                let mut word = 0u32;
                for (bit, name) in names.iter().enumerate() {
                    if bit % 32 == 0 {
                        word = next_i32(src)?.cast_unsigned();
                    }
                    if word & (1 << (bit % 32)) != 0 {
                        set.push(name.clone());
                    }
                }
                Val::Flags(set)
            }
            Shape::Variant(_) | Shape::Enum(_) | Shape::Option(_) | Shape::Result(..) => {
                let cases = self.cases().unwrap_or_default();
                let discriminant = next_i32(src)?.cast_unsigned();
                let joined = Self::joined_payload(&cases);
                let flat = joined
                    .iter()
                    .map(|ty| next(src, *ty))
                    .collect::<Result<Vec<_>, _>>()?;
                let index = usize::try_from(discriminant).unwrap_or(usize::MAX);
                let Some(payload_shape) = cases.get(index) else {
                    return Err(format!("invalid variant discriminant {discriminant}"));
                };
                let payload = match payload_shape {
                    Some(shape) => {
                        let mut want = Vec::new();
                        shape.flatten(&mut want);
                        let mut coerced = flat
                            .iter()
                            .zip(want)
                            .map(|(have, want)| narrow(*have, want));
                        Some(Box::new(shape.lift(&mut coerced)?))
                    }
                    None => None,
                };
                match self {
                    Shape::Variant(cases) => Val::Variant(cases[index].0.clone(), payload),
                    Shape::Enum(names) => Val::Enum(names[index].clone()),
                    Shape::Option(_) => Val::Option(payload),
                    _ if index == 0 => Val::Result(Ok(payload)),
                    _ => Val::Result(Err(payload)),
                }
            }
        };
        Ok(val)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(shape: &Shape, val: Val) -> Vec<FlatVal> {
        let mut flat = Vec::new();
        shape.lower(&val, &mut flat).expect("value has the shape");
        let mut types = Vec::new();
        shape.flatten(&mut types);
        assert_eq!(
            flat.iter().map(|v| v.ty()).collect::<Vec<_>>(),
            types,
            "{shape:?}"
        );
        let mut src = flat.iter().copied();
        assert_eq!(shape.lift(&mut src).expect("lifts"), val, "{shape:?}");
        assert!(src.next().is_none());
        flat
    }

    #[test]
    fn scalars_round_trip() {
        assert_eq!(round_trip(&Shape::S8, Val::S8(-2)), [FlatVal::I32(-2)]);
        assert_eq!(round_trip(&Shape::U8, Val::U8(0xfe)), [FlatVal::I32(0xfe)]);
        assert_eq!(
            round_trip(&Shape::U16, Val::U16(0xffff)),
            [FlatVal::I32(0xffff)]
        );
        assert_eq!(
            round_trip(&Shape::U32, Val::U32(u32::MAX)),
            [FlatVal::I32(-1)]
        );
        assert_eq!(
            round_trip(&Shape::U64, Val::U64(u64::MAX)),
            [FlatVal::I64(-1)]
        );
        assert_eq!(
            round_trip(&Shape::Char, Val::Char('☃')),
            [FlatVal::I32(0x2603)]
        );
        assert_eq!(round_trip(&Shape::Bool, Val::Bool(true)), [FlatVal::I32(1)]);
        round_trip(&Shape::F64, Val::Float64(-0.5));
        let flags = Shape::Flags((0..33).map(|i| format!("f{i}")).collect());
        let flat = round_trip(
            &flags,
            Val::Flags(vec!["f0".into(), "f31".into(), "f32".into()]),
        );
        assert_eq!(flat, [FlatVal::I32(i32::MIN | 1), FlatVal::I32(1)]);
    }

    #[test]
    fn variants_join_and_coerce() {
        let shape = Shape::Variant(vec![
            ("a".into(), Some(Shape::F32)),
            ("b".into(), Some(Shape::Tuple(vec![Shape::U32, Shape::F64]))),
            ("c".into(), None),
        ]);
        let mut types = Vec::new();
        shape.flatten(&mut types);
        // `f32` joins `u32` as `i32`; `f64` alone stays `f64`.
        assert_eq!(types, [FlatType::I32, FlatType::I32, FlatType::F64]);
        let flat = round_trip(
            &shape,
            Val::Variant("a".into(), Some(Box::new(Val::Float32(1.5)))),
        );
        assert_eq!(
            flat,
            [
                FlatVal::I32(0),
                FlatVal::I32(1.5f32.to_bits().cast_signed()),
                FlatVal::F64(0)
            ]
        );
        round_trip(&shape, Val::Variant("c".into(), None));
        let payload = Val::Tuple(vec![Val::U32(7), Val::Float64(2.0)]);
        round_trip(&shape, Val::Variant("b".into(), Some(Box::new(payload))));

        let result = Shape::Result(Some(Box::new(Shape::F32)), Some(Box::new(Shape::S64)));
        let flat = round_trip(&result, Val::Result(Ok(Some(Box::new(Val::Float32(-1.0))))));
        assert_eq!(
            flat,
            [
                FlatVal::I32(0),
                FlatVal::I64(i64::from((-1.0f32).to_bits()))
            ]
        );
        round_trip(&result, Val::Result(Err(Some(Box::new(Val::S64(-3))))));
        let option = Shape::Option(Box::new(Shape::Enum(vec!["x".into(), "y".into()])));
        round_trip(&option, Val::Option(Some(Box::new(Val::Enum("y".into())))));
        round_trip(&option, Val::Option(None));
    }

    #[test]
    fn lifting_traps() {
        let bad_char = Shape::Char.lift(&mut [FlatVal::I32(0xd800)].into_iter());
        assert!(bad_char.unwrap_err().contains("invalid `char`"));
        let e = Shape::Enum(vec!["x".into()]);
        assert!(e.lift(&mut [FlatVal::I32(1)].into_iter()).is_err());
        // Narrow integers are truncated, undefined flag bits ignored.
        assert_eq!(
            Shape::S8.lift(&mut [FlatVal::I32(0x1ff)].into_iter()),
            Ok(Val::S8(-1))
        );
        let flags = Shape::Flags(vec!["a".into()]);
        assert_eq!(
            flags.lift(&mut [FlatVal::I32(3)].into_iter()),
            Ok(Val::Flags(vec!["a".into()]))
        );
    }

    #[test]
    fn signatures_that_spill_are_refused() {
        let params = vec![Shape::U64; MAX_FLAT_PARAMS + 1];
        assert!(FlatSig::from_shapes(params, vec![]).is_none());
        let results = vec![Shape::Tuple(vec![Shape::U8, Shape::U8])];
        assert!(FlatSig::from_shapes(vec![], results).is_none());
        let sig = FlatSig::from_shapes(
            vec![Shape::U8, Shape::Option(Box::new(Shape::F32))],
            vec![Shape::Char],
        )
        .expect("direct signature");
        assert_eq!(
            sig.flat_params,
            [FlatType::I32, FlatType::I32, FlatType::F32]
        );
        assert_eq!(sig.flat_results, [FlatType::I32]);
    }
}
