//! Component values of `.wast` scripts: script constants to wasmtime values, a script
//! expectation matched against a result, and the comparison of a native result with a
//! lowered one.
//!
//! Floats match when their bits are equal or both are NaN (payloads are not specified across
//! engines); flags match as sets; resources match when both sides hold one (handles of two
//! stores cannot be compared).

use std::collections::BTreeSet;

use wasmtime::component::Val;
use wast::component::WastVal;
use wast::core::{NanPattern, WastArgCore, WastRetCore};
use wast::{WastArg, WastRet};

/// Converts an argument of an `invoke`: a component value, or a float that the parser read
/// as a core constant (`f32.const` / `f64.const` are spelled the same in both).
pub fn arg(a: &WastArg<'_>) -> Result<Val, String> {
    match a {
        WastArg::Component(v) => Ok(val(v)),
        WastArg::Core(WastArgCore::F32(x)) => Ok(Val::Float32(f32::from_bits(x.bits))),
        WastArg::Core(WastArgCore::F64(x)) => Ok(Val::Float64(f64::from_bits(x.bits))),
        other => Err(format!("core argument {other:?} to a component function")),
    }
}

/// Checks a result against an expected result of `assert_return` (see [`arg`] for floats).
pub fn matches_ret(expected: &WastRet<'_>, actual: &Val) -> Result<(), String> {
    let float = match (expected, actual) {
        (WastRet::Component(e), _) => return matches(e, actual),
        (WastRet::Core(WastRetCore::F32(p)), Val::Float32(a)) => match p {
            NanPattern::Value(e) => same_f32(f32::from_bits(e.bits), *a),
            NanPattern::CanonicalNan | NanPattern::ArithmeticNan => a.is_nan(),
        },
        (WastRet::Core(WastRetCore::F64(p)), Val::Float64(a)) => match p {
            NanPattern::Value(e) => same_f64(f64::from_bits(e.bits), *a),
            NanPattern::CanonicalNan | NanPattern::ArithmeticNan => a.is_nan(),
        },
        _ => false,
    };
    if float {
        Ok(())
    } else {
        Err(format!("expected {expected:?}, got {actual:?}"))
    }
}

/// Converts a script constant into a wasmtime value.
pub fn val(v: &WastVal<'_>) -> Val {
    let boxed = |v: &Option<Box<WastVal<'_>>>| v.as_deref().map(|v| Box::new(val(v)));
    match v {
        WastVal::Bool(b) => Val::Bool(*b),
        WastVal::U8(x) => Val::U8(*x),
        WastVal::S8(x) => Val::S8(*x),
        WastVal::U16(x) => Val::U16(*x),
        WastVal::S16(x) => Val::S16(*x),
        WastVal::U32(x) => Val::U32(*x),
        WastVal::S32(x) => Val::S32(*x),
        WastVal::U64(x) => Val::U64(*x),
        WastVal::S64(x) => Val::S64(*x),
        WastVal::F32(x) => Val::Float32(f32::from_bits(x.bits)),
        WastVal::F64(x) => Val::Float64(f64::from_bits(x.bits)),
        WastVal::Char(c) => Val::Char(*c),
        WastVal::String(s) => Val::String((*s).to_string()),
        WastVal::List(vs) => Val::List(vs.iter().map(val).collect()),
        WastVal::Record(fields) => Val::Record(
            fields
                .iter()
                .map(|(n, v)| ((*n).to_string(), val(v)))
                .collect(),
        ),
        WastVal::Tuple(vs) => Val::Tuple(vs.iter().map(val).collect()),
        WastVal::Variant(name, payload) => Val::Variant((*name).to_string(), boxed(payload)),
        WastVal::Enum(name) => Val::Enum((*name).to_string()),
        WastVal::Option(v) => Val::Option(boxed(v)),
        WastVal::Result(Ok(v)) => Val::Result(Ok(boxed(v))),
        WastVal::Result(Err(v)) => Val::Result(Err(boxed(v))),
        WastVal::Flags(names) => Val::Flags(names.iter().map(|n| (*n).to_string()).collect()),
    }
}

fn same_f32(a: f32, b: f32) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

fn same_f64(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

fn same_payload(a: &Option<Box<Val>>, b: &Option<Box<Val>>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => same(a, b),
        (None, None) => true,
        _ => false,
    }
}

fn same_all(a: &[Val], b: &[Val]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(a, b)| same(a, b))
}

/// Whether two results are the same value (see the module documentation).
pub fn same(a: &Val, b: &Val) -> bool {
    match (a, b) {
        (Val::Float32(a), Val::Float32(b)) => same_f32(*a, *b),
        (Val::Float64(a), Val::Float64(b)) => same_f64(*a, *b),
        (Val::List(a), Val::List(b))
        | (Val::Tuple(a), Val::Tuple(b))
        | (Val::FixedLengthList(a), Val::FixedLengthList(b)) => same_all(a, b),
        (Val::Record(a), Val::Record(b)) => {
            a.len() == b.len()
                && a.iter()
                    .zip(b)
                    .all(|((na, a), (nb, b))| na == nb && same(a, b))
        }
        (Val::Variant(na, a), Val::Variant(nb, b)) => na == nb && same_payload(a, b),
        (Val::Option(a), Val::Option(b)) => same_payload(a, b),
        (Val::Result(Ok(a)), Val::Result(Ok(b))) | (Val::Result(Err(a)), Val::Result(Err(b))) => {
            same_payload(a, b)
        }
        (Val::Flags(a), Val::Flags(b)) => {
            a.iter().collect::<BTreeSet<_>>() == b.iter().collect::<BTreeSet<_>>()
        }
        (Val::Resource(a), Val::Resource(b)) => a.owned() == b.owned(),
        _ => a == b,
    }
}

/// Whether two result lists are the same values.
pub fn same_results(a: &[Val], b: &[Val]) -> bool {
    same_all(a, b)
}

/// Checks that `actual` is the value the script expects; the error says what differs.
pub fn matches(expected: &WastVal<'_>, actual: &Val) -> Result<(), String> {
    let payload = |e: &Option<Box<WastVal<'_>>>, a: &Option<Box<Val>>, case: &str| match (e, a) {
        (Some(e), Some(a)) => matches(e, a).map_err(|m| format!("in case `{case}`: {m}")),
        (None, None) => Ok(()),
        _ => Err(format!(
            "payload of case `{case}` differs: expected {e:?}, got {a:?}"
        )),
    };
    let ok = match (expected, actual) {
        (WastVal::F32(e), Val::Float32(a)) => same_f32(f32::from_bits(e.bits), *a),
        (WastVal::F64(e), Val::Float64(a)) => same_f64(f64::from_bits(e.bits), *a),
        (WastVal::List(e), Val::List(a)) | (WastVal::Tuple(e), Val::Tuple(a)) => {
            if e.len() != a.len() {
                return Err(format!("expected {} elements, got {}", e.len(), a.len()));
            }
            for (i, (e, a)) in e.iter().zip(a).enumerate() {
                matches(e, a).map_err(|m| format!("element {i}: {m}"))?;
            }
            true
        }
        (WastVal::Record(e), Val::Record(a)) => {
            if e.len() != a.len() {
                return Err(format!("expected {} fields, got {}", e.len(), a.len()));
            }
            for ((en, e), (an, a)) in e.iter().zip(a) {
                if en != an {
                    return Err(format!("expected field `{en}`, got `{an}`"));
                }
                matches(e, a).map_err(|m| format!("field `{en}`: {m}"))?;
            }
            true
        }
        (WastVal::Variant(en, e), Val::Variant(an, a)) => {
            if en != an {
                return Err(format!("expected case `{en}`, got `{an}`"));
            }
            return payload(e, a, en);
        }
        (WastVal::Option(e), Val::Option(a)) => return payload(e, a, "some"),
        (WastVal::Result(Ok(e)), Val::Result(Ok(a))) => return payload(e, a, "ok"),
        (WastVal::Result(Err(e)), Val::Result(Err(a))) => return payload(e, a, "error"),
        (WastVal::Flags(e), Val::Flags(a)) => {
            e.iter().copied().collect::<BTreeSet<_>>()
                == a.iter().map(String::as_str).collect::<BTreeSet<_>>()
        }
        _ => same(&val(expected), actual),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("expected {:?}, got {actual:?}", val(expected)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_val(text: &str, f: impl FnOnce(&WastVal<'_>)) {
        let buf = wast::parser::ParseBuffer::new(text).expect("lexes");
        let v: WastVal<'_> = wast::parser::parse(&buf).expect("parses");
        f(&v);
    }

    #[test]
    fn script_values_match() {
        parse_val(
            "record.const (field \"a\" u8.const 1) (field \"b\" f32.const nan)",
            |e| {
                let actual = Val::Record(vec![
                    ("a".into(), Val::U8(1)),
                    ("b".into(), Val::Float32(-f32::NAN)),
                ]);
                assert_eq!(matches(e, &actual), Ok(()));
                let wrong = Val::Record(vec![
                    ("a".into(), Val::U8(2)),
                    ("b".into(), Val::Float32(0.0)),
                ]);
                assert!(matches(e, &wrong).is_err());
            },
        );
        parse_val("flags.const \"b\" \"a\"", |e| {
            assert_eq!(
                matches(e, &Val::Flags(vec!["a".into(), "b".into()])),
                Ok(())
            );
        });
        parse_val("f64.const -0", |e| {
            assert!(matches(e, &Val::Float64(0.0)).is_err());
        });
    }
}
