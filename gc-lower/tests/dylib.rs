//! The dylib generator path end to end: `gc-lower dylib` generates the bindings of
//! `tests/dylib/calc.wit`, `gc-lower link` links them with the interpreter of
//! `tests/dylib/interpreter.wat` (a shared library implementing the `wit_dylib_*` interface)
//! into a component, and gc-lower lowers that in both reify modes. The linked component on
//! wasmtime's component runtime and the lowered, re-wrapped output answer the same calls with
//! the same results, traps and host calls; so does the re-wrapped output on V8 (`jco
//! transpile`, Node), with the host in JS. The command line also reports an interpreter that
//! lacks `wit_dylib_*` functions by name, and writes no output then.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, Store};

mod common;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/dylib")
        .join(name)
}

fn gc_lower(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gc-lower"))
        .args(args)
        .output()
        .expect("failed to run gc-lower")
}

/// Runs gc-lower and returns its output file, failing the test with its standard error if it
/// fails.
fn gc_lower_ok(args: &[&std::ffi::OsStr], out: &Path) -> Vec<u8> {
    let run = gc_lower(args);
    assert!(
        run.status.success(),
        "gc-lower {args:?} failed:\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    std::fs::read(out).expect("gc-lower wrote no output")
}

/// `gc-lower dylib` + `gc-lower link` of the interpreter at `interpreter` with the bindings of
/// `calc.wit`, in `dir`.
fn link(dir: &Path, interpreter: &Path) -> Output {
    let bindings = dir.join("bindings.so");
    gc_lower_ok(
        &[
            "dylib".as_ref(),
            data("calc.wit").as_os_str(),
            "--world".as_ref(),
            "calc".as_ref(),
            "-o".as_ref(),
            bindings.as_os_str(),
        ],
        &bindings,
    );
    gc_lower(&[
        "link".as_ref(),
        interpreter.as_os_str(),
        bindings.as_os_str(),
        "-o".as_ref(),
        dir.join("component.wasm").as_os_str(),
    ])
}

/// One call of an export.
enum Call {
    F(u32),
    Greet(String),
}

/// What one call gave: its result or that it trapped.
#[derive(Debug, PartialEq)]
enum Outcome {
    F(u32),
    Greet(String),
    Trap,
}

/// The calls: `f` over the edges of u32 (`scale` wraps), `greet` over empty, non-ASCII and
/// long strings, and one string longer than the interpreter's 64 KiB arena, which traps;
/// then more calls in a fresh instance.
fn calls() -> Vec<Call> {
    let mut calls: Vec<Call> = [0, 1, 41, 0x5555_5555, 0x5555_5556, u32::MAX]
        .map(Call::F)
        .into();
    for s in [
        String::new(),
        "world".to_string(),
        "wörld ✓".to_string(),
        "x".repeat(30_000),
        "y".repeat(70_000),
    ] {
        calls.push(Call::Greet(s));
    }
    calls.extend([Call::F(7), Call::Greet("again".to_string())]);
    calls
}

/// Runs [`calls`] on `component`, each in the current instance, which is replaced (in a new
/// store) after a trap, since a trapped instance cannot be entered again; returns the outcomes and
/// the arguments `scale` saw.
fn run(engine: &Engine, component: &[u8]) -> (Vec<Outcome>, Vec<u32>) {
    let component = Component::new(engine, component).expect("failed to compile");
    let mut linker = Linker::<Vec<u32>>::new(engine);
    linker
        .root()
        .func_wrap(
            "scale",
            |mut store: wasmtime::StoreContextMut<'_, Vec<u32>>, (x,): (u32,)| {
                store.data_mut().push(x);
                Ok((x.wrapping_mul(3),))
            },
        )
        .unwrap();
    let mut store = Store::new(engine, Vec::new());
    let mut instance = linker
        .instantiate(&mut store, &component)
        .expect("failed to instantiate");
    let mut outcomes = Vec::new();
    for call in calls() {
        let outcome = match &call {
            Call::F(x) => {
                let f = instance
                    .get_typed_func::<(u32,), (u32,)>(&mut store, "f")
                    .expect("no export `f`");
                f.call(&mut store, (*x,)).map(|(r,)| Outcome::F(r))
            }
            Call::Greet(s) => {
                let greet = instance
                    .get_typed_func::<(&str,), (String,)>(&mut store, "greet")
                    .expect("no export `greet`");
                greet.call(&mut store, (s,)).map(|(r,)| Outcome::Greet(r))
            }
        }
        .unwrap_or_else(|e| {
            assert!(
                e.downcast_ref::<wasmtime::Trap>().is_some(),
                "the call failed without a trap: {e:?}"
            );
            let log = std::mem::take(store.data_mut());
            store = Store::new(engine, log);
            instance = linker
                .instantiate(&mut store, &component)
                .expect("failed to instantiate again");
            Outcome::Trap
        });
        outcomes.push(outcome);
    }
    (outcomes, store.into_data())
}

#[test]
fn dylib_link_lower_run_matches_native() {
    let dir = tempfile::tempdir().unwrap();
    let run_link = link(dir.path(), &data("interpreter.wat"));
    assert!(
        run_link.status.success(),
        "gc-lower link failed:\n{}",
        String::from_utf8_lossy(&run_link.stderr)
    );
    let component = std::fs::read(dir.path().join("component.wasm")).unwrap();
    let engine = common::engine();
    let native = run(&engine, &component);
    // The interpreter answered (not everything trapped) and called the host.
    assert!(native.0.iter().any(|o| matches!(o, Outcome::Greet(_))));
    assert!(native.0.iter().any(|o| matches!(o, Outcome::F(_))));
    assert!(native.0.contains(&Outcome::Trap));
    assert!(matches!(native.0.last(), Some(Outcome::Greet(_))));
    assert!(!native.1.is_empty());
    for reify in [gc_lower::ReifyMode::Auto, gc_lower::ReifyMode::All] {
        let lowered = gc_lower::lower(
            &component,
            &gc_lower::Options {
                reify,
                ..Default::default()
            },
        )
        .unwrap_or_else(|e| panic!("--reify {reify:?}: failed to lower: {e:?}"));
        let rewrapped = gc_lower::rewrap(&lowered).expect("failed to re-wrap");
        let got = run(&engine, &rewrapped);
        assert_eq!(got, native, "--reify {reify:?}: the lowered output differs");
    }
}

/// `scale` for jco's `--map`: like the Rust host.
const HOST_JS: &str = r#"
export const calls = [];
export default function scale(x) { calls.push(x); return Math.imul(x, 3) >>> 0; }
"#;

/// [`calls`] in JS (`CALLS` is replaced by them as JSON, `[name, argument]` pairs); a trap
/// makes the next calls go to a fresh instance (the module imported again). Prints
/// `[outcomes, calls of scale]`.
const RUN_MJS: &str = r#"
const host = await import('./host0.js');
const calls = CALLS;
let instance = 0;
let m = await import(process.argv[2]);
const outcomes = [];
for (const [name, arg] of calls) {
  try {
    const r = m[name](arg);
    outcomes.push(name == 'f' ? { F: r } : { Greet: r });
  } catch (e) {
    if (!(e instanceof WebAssembly.RuntimeError)) throw e;
    outcomes.push('Trap');
    instance += 1;
    m = await import(`${process.argv[2]}?${instance}`);
  }
}
console.log(JSON.stringify([outcomes, host.calls]));
"#;

#[test]
fn dylib_lowered_runs_on_v8_like_native_wasmtime() {
    let dir = tempfile::tempdir().unwrap();
    let run_link = link(dir.path(), &data("interpreter.wat"));
    assert!(run_link.status.success());
    let component = std::fs::read(dir.path().join("component.wasm")).unwrap();
    let (outcomes, scaled) = run(&common::engine(), &component);
    let native = serde_json::json!([
        outcomes
            .iter()
            .map(|o| match o {
                Outcome::F(r) => serde_json::json!({ "F": r }),
                Outcome::Greet(s) => serde_json::json!({ "Greet": s }),
                Outcome::Trap => serde_json::json!("Trap"),
            })
            .collect::<Vec<_>>(),
        scaled,
    ]);
    let calls: Vec<_> = calls()
        .into_iter()
        .map(|c| match c {
            Call::F(x) => serde_json::json!(["f", x]),
            Call::Greet(s) => serde_json::json!(["greet", s]),
        })
        .collect();
    let script = RUN_MJS.replace("CALLS", &serde_json::to_string(&calls).unwrap());
    for reify in [gc_lower::ReifyMode::Auto, gc_lower::ReifyMode::All] {
        let lowered = gc_lower::lower(
            &component,
            &gc_lower::Options {
                reify,
                ..Default::default()
            },
        )
        .unwrap();
        let rewrapped = gc_lower::rewrap(&lowered).unwrap();
        let seen = common::run_on_v8(&rewrapped, &[("scale", HOST_JS)], &script);
        assert!(
            seen == native,
            "--reify {reify:?} on V8: outcomes or host calls differ"
        );
    }
}

#[test]
fn link_names_missing_and_mismatched_wit_dylib_functions() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(data("interpreter.wat")).unwrap();
    let text: String = text
        .lines()
        .filter(|l| !l.contains("\"wit_dylib_pop_u8\"") && !l.contains("\"wit_dylib_list_append\""))
        .map(|l| format!("{l}\n"))
        .collect();
    let mismatched = "(func (export \"wit_dylib_pop_u16\") (param i32) (result i32)";
    assert!(text.contains(mismatched));
    let text = text.replace(
        mismatched,
        "(func (export \"wit_dylib_pop_u16\") (param i32) (result i64)",
    );
    let interpreter = dir.path().join("interpreter.wat");
    std::fs::write(&interpreter, text).unwrap();
    let run = link(dir.path(), &interpreter);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    for needle in [
        "`bindings.so` imports `wit_dylib_list_append`, `wit_dylib_pop_u8`, which no library exports",
        "`bindings.so` imports `wit_dylib_pop_u16` as `(i32) -> (i32)`, but `interpreter.wat` exports it as `(i32) -> (i64)`",
    ] {
        assert!(stderr.contains(needle), "`{needle}` not in:\n{stderr}");
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!dir.path().join("component.wasm").exists());
}

#[test]
fn dylib_reports_an_unknown_world() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bindings.so");
    let run = gc_lower(&[
        "dylib".as_ref(),
        data("calc.wit").as_os_str(),
        "--world".as_ref(),
        "nope".as_ref(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("World `nope` not found"), "{stderr}");
    assert!(!out.exists());
}
