//! A real component nobody here wrote the toolchain of: the componentize-py app of
//! `tests/python/app` (CPython and its standard library linked by wit-component as
//! shared-everything dynamic libraries: one instance defines the memory, the function table
//! and the stack pointer, a dozen others import them, and function pointers are table indices).
//!
//! componentize-py (PyPI, pinned in `tests/python/requirements.txt`) builds the component; it is
//! taken from `GC_LOWER_COMPONENTIZE_PY`, or installed into `tests/python/venv` when missing.
//! The component is lowered with `--reify auto` and `--reify all` and put in module-graph form,
//! and every export is called with the same arguments on:
//!
//! - wasmtime's component runtime with wasmtime-wasi: the original, and each single-module
//!   output re-wrapped;
//! - V8 (Node 24, jco transpile, jco's WASI shim): the original, each re-wrapped output, and
//!   the module graph through its JS loader under jco's bindings.
//!
//! Every result must equal the original's on wasmtime.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value as Json, json};
use wasmtime::Store;
use wasmtime::component::{Component, Linker, Val};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the gc-lower crate lives in the workspace root")
        .to_path_buf()
}

/// componentize-py: `GC_LOWER_COMPONENTIZE_PY`, or `tests/python/venv/bin/componentize-py`,
/// installed there (a venv and `pip install -r requirements.txt`) when missing.
fn componentize_py() -> PathBuf {
    if let Some(path) = std::env::var_os("GC_LOWER_COMPONENTIZE_PY") {
        return PathBuf::from(path);
    }
    let dir = repo_root().join("tests/python");
    let tool = dir.join("venv/bin/componentize-py");
    if !tool.exists() {
        let status = Command::new("python3")
            .args(["-m", "venv"])
            .arg(dir.join("venv"))
            .status()
            .expect("failed to run `python3 -m venv` (is python3 with venv installed?)");
        assert!(status.success(), "`python3 -m venv` failed: {status}");
        let status = Command::new(dir.join("venv/bin/pip"))
            .args(["install", "--quiet", "-r"])
            .arg(dir.join("requirements.txt"))
            .status()
            .expect("failed to run pip");
        assert!(
            status.success(),
            "`pip install componentize-py` failed: {status}"
        );
    }
    tool
}

/// Builds the app into `dir/app.wasm` and returns its bytes.
fn build_app(dir: &Path) -> Vec<u8> {
    let app = repo_root().join("tests/python/app");
    let out = dir.join("app.wasm");
    let output = Command::new(componentize_py())
        .arg("-d")
        .arg(app.join("app.wit"))
        .args(["-w", "app", "componentize", "app", "-p"])
        .arg(&app)
        .arg("-o")
        .arg(&out)
        .output()
        .expect("failed to run componentize-py");
    assert!(
        output.status.success(),
        "componentize-py failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::read(&out).expect("componentize-py wrote no component")
}

/// One call: the export, its arguments as wasmtime values and as JavaScript source, and
/// whether it returns a `result` (which jco turns into a return or a thrown `ComponentError`).
struct Call {
    export: &'static str,
    args: Vec<Val>,
    js_args: &'static str,
    result: bool,
}

fn item(name: &str, count: u32) -> Val {
    Val::Record(vec![
        ("name".into(), Val::String(name.into())),
        ("count".into(), Val::U32(count)),
    ])
}

fn calls() -> Vec<Call> {
    let s = |x: &str| Val::String(x.into());
    vec![
        Call {
            export: "greet",
            args: vec![s("wörld ✓")],
            js_args: r#"["wörld ✓"]"#,
            result: false,
        },
        Call {
            export: "greet",
            args: vec![s("")],
            js_args: r#"[""]"#,
            result: false,
        },
        Call {
            export: "sum",
            args: vec![Val::List(
                [1, 2, i32::MAX, -5, i32::MIN]
                    .into_iter()
                    .map(Val::S32)
                    .collect(),
            )],
            js_args: "[new Int32Array([1, 2, 2147483647, -5, -2147483648])]",
            result: false,
        },
        Call {
            export: "describe",
            args: vec![Val::List(vec![
                item("b", 3),
                item("a", 1),
                item("c", 1),
                item("ü", 0),
            ])],
            js_args: r#"[[{name: "b", count: 3}, {name: "a", count: 1}, {name: "c", count: 1}, {name: "ü", count: 0}]]"#,
            result: false,
        },
        Call {
            export: "parse",
            args: vec![s("-12345678901")],
            js_args: r#"["-12345678901"]"#,
            result: true,
        },
        Call {
            export: "parse",
            args: vec![s("x1")],
            js_args: r#"["x1"]"#,
            result: true,
        },
        Call {
            export: "fib",
            args: vec![Val::U32(200)],
            js_args: "[200]",
            result: false,
        },
    ]
}

/// A result as JSON: strings as they are, 64-bit integers as decimal strings (JS bigints),
/// lists as arrays, `result`s as `{"ok": …}` / `{"err": …}`.
fn to_json(v: &Val) -> Json {
    match v {
        Val::String(s) => json!(s),
        Val::S64(x) => json!(x.to_string()),
        Val::U64(x) => json!(x.to_string()),
        Val::S32(x) => json!(x),
        Val::U32(x) => json!(x),
        Val::List(items) => Json::Array(items.iter().map(to_json).collect()),
        Val::Result(Ok(v)) => json!({ "ok": v.as_deref().map(to_json) }),
        Val::Result(Err(v)) => json!({ "err": v.as_deref().map(to_json) }),
        other => panic!("no JSON form for {other:?}"),
    }
}

/// The host state of a WASI component: no arguments, environment or directories.
struct Wasi {
    ctx: wasmtime_wasi::WasiCtx,
    table: wasmtime::component::ResourceTable,
}

impl wasmtime_wasi::WasiView for Wasi {
    fn ctx(&mut self) -> wasmtime_wasi::WasiCtxView<'_> {
        wasmtime_wasi::WasiCtxView {
            ctx: &mut self.ctx,
            table: &mut self.table,
        }
    }
}

/// Runs every call on a fresh instance of `component` on wasmtime with WASI; one JSON result
/// per call.
fn run_on_wasmtime(engine: &wasmtime::Engine, component: &[u8]) -> Vec<Json> {
    let component = Component::new(engine, component).expect("the component compiles");
    let mut linker: Linker<Wasi> = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).expect("WASI links");
    let wasi = Wasi {
        ctx: wasmtime_wasi::WasiCtx::builder().build(),
        table: wasmtime::component::ResourceTable::new(),
    };
    let mut store = Store::new(engine, wasi);
    let instance = linker
        .instantiate(&mut store, &component)
        .expect("the component instantiates");
    calls()
        .iter()
        .map(|call| {
            let func = instance
                .get_func(&mut store, call.export)
                .unwrap_or_else(|| panic!("no export `{}`", call.export));
            let mut results = vec![Val::Bool(false); func.ty(&store).results().len()];
            func.call(&mut store, &call.args, &mut results)
                .unwrap_or_else(|e| panic!("`{}` trapped: {e:?}", call.export));
            to_json(&results[0])
        })
        .collect()
}

/// The Node script: imports the transpiled module (argv[2]) and prints the JSON results.
fn v8_script() -> String {
    let mut calls_js = String::new();
    for call in calls() {
        let name = lower_camel(call.export);
        calls_js.push_str(&format!(
            "  [m.{name}, {}, {}],\n",
            call.js_args, call.result
        ));
    }
    format!(
        r#"
const m = await import(process.argv[2]);
const fmt = (v) => typeof v === 'bigint' ? v.toString()
  : Array.isArray(v) ? v.map(fmt) : v;
const out = [];
for (const [f, args, isResult] of [
{calls_js}]) {{
  try {{
    const v = fmt(f(...args));
    out.push(isResult ? {{ ok: v }} : v);
  }} catch (e) {{
    if (isResult && e && 'payload' in e) out.push({{ err: fmt(e.payload) }});
    else throw e;
  }}
}}
console.log(JSON.stringify(out));
"#
    )
}

fn lower_camel(name: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in name.chars() {
        if c == '-' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// With `--reify auto` no module of the app is reified (none is instantiated twice): the
/// output keeps linear memories and funcref tables, and no global holds a vmctx (a nullable
/// reference set by the instantiation routine; the resource tables' globals are non-null).
fn assert_linear(core: &[u8]) {
    use wasmtime_environ::wasmparser::{Parser, Payload, ValType};
    let (mut memories, mut tables) = (0, 0);
    for payload in Parser::new(0).parse_all(core) {
        match payload.expect("the output parses") {
            Payload::MemorySection(s) => memories += s.count(),
            Payload::TableSection(s) => {
                for table in s {
                    assert!(table.expect("table").ty.element_type.is_func_ref());
                    tables += 1;
                }
            }
            Payload::GlobalSection(s) => {
                for global in s {
                    let ty = global.expect("global").ty.content_type;
                    assert!(
                        !matches!(ty, ValType::Ref(r) if r.is_nullable()),
                        "a global of type {ty:?}: a module is reified"
                    );
                }
            }
            _ => {}
        }
    }
    assert!(
        memories >= 1 && tables >= 1,
        "{memories} memories, {tables} tables"
    );
}

/// The names that the name sections of `wasm`'s core modules (nested ones included) give to
/// their defined functions (imported functions are named by the modules defining them).
fn function_names(wasm: &[u8]) -> Vec<String> {
    use wasmtime_environ::wasmparser::{KnownCustom, Name, Parser, Payload, TypeRef};
    let mut names = Vec::new();
    let mut imported_funcs = 0;
    for payload in Parser::new(0).parse_all(wasm) {
        match payload {
            Ok(Payload::Version { .. }) => imported_funcs = 0,
            Ok(Payload::ImportSection(reader)) => {
                for import in reader.into_imports().flatten() {
                    if matches!(import.ty, TypeRef::Func(_) | TypeRef::FuncExact(_)) {
                        imported_funcs += 1;
                    }
                }
            }
            Ok(Payload::CustomSection(section)) => {
                let KnownCustom::Name(reader) = section.as_known() else {
                    continue;
                };
                for subsection in reader.into_iter().flatten() {
                    if let Name::Function(map) = subsection {
                        names.extend(
                            map.into_iter()
                                .flatten()
                                .filter(|n| n.index >= imported_funcs)
                                .map(|n| n.name.to_string()),
                        );
                    }
                }
            }
            _ => {}
        }
    }
    names
}

/// At least 99% of the input modules' named functions appear in the output's name section
/// under their own names, after a module label and `!` (`libpython3.14.so!PyObject_Call`).
/// The count is over names, each output name matching as many input names as it occurs.
fn assert_names_carried(component: &[u8], core: &[u8], reify: gc_lower::ReifyMode) {
    let input = function_names(component);
    let mut output: HashMap<String, usize> = HashMap::new();
    for name in function_names(core) {
        if let Some((_, original)) = name.split_once('!')
            && !name.starts_with("gc-lower:")
        {
            *output.entry(original.to_string()).or_default() += 1;
        }
    }
    let mut wanted: HashMap<String, usize> = HashMap::new();
    for name in &input {
        *wanted.entry(name.clone()).or_default() += 1;
    }
    let found: usize = wanted
        .iter()
        .map(|(name, n)| (*n).min(output.get(name).copied().unwrap_or(0)))
        .sum();
    let total = input.len();
    println!("--reify {reify:?}: {found} of {total} named input functions named in the output");
    assert!(
        total > 1000,
        "the app's modules name only {total} functions"
    );
    assert!(
        found * 100 >= total * 99,
        "--reify {reify:?}: only {found} of {total} named input functions keep their names"
    );
}

#[test]
fn componentize_py_app_runs_lowered_on_wasmtime_and_v8() {
    let dir = tempfile::tempdir().expect("failed to create a temporary directory");
    let original = build_app(dir.path());
    let engine = common::engine();
    let expected = run_on_wasmtime(&engine, &original);
    assert_eq!(expected.len(), calls().len());
    println!("native wasmtime: {}", Json::Array(expected.clone()));

    let mut lowered = Vec::new();
    for reify in [gc_lower::ReifyMode::Auto, gc_lower::ReifyMode::All] {
        let core = gc_lower::lower(
            &original,
            &gc_lower::Options {
                reify,
                ..Default::default()
            },
        )
        .unwrap_or_else(|e| panic!("lowering ({reify:?}) failed: {e:?}"));
        if reify == gc_lower::ReifyMode::Auto {
            assert_linear(&core);
        }
        assert_names_carried(&original, &core, reify);
        let wrapped = gc_lower::rewrap(&core).expect("re-wrapping failed");
        let got = run_on_wasmtime(&engine, &wrapped);
        assert_eq!(got, expected, "wasmtime, --reify {reify:?}");
        lowered.push((format!("{reify:?}"), wrapped));
    }
    let graph = gc_lower::module_graph::lower_graph(&original).expect("graph lowering failed");

    let script = v8_script();
    let on_v8 = |component: &[u8], graph: Option<&gc_lower::module_graph::ModuleGraph>| {
        common::run_on_v8_with(component, &[], &script, graph)
    };
    assert_eq!(
        on_v8(&original, None),
        Json::Array(expected.clone()),
        "V8, the original"
    );
    for (reify, wrapped) in &lowered {
        assert_eq!(
            on_v8(wrapped, None),
            Json::Array(expected.clone()),
            "V8, --reify {reify}"
        );
    }
    // The graph runs under jco's bindings of the `--reify auto` output (the same guest ABI).
    assert_eq!(
        on_v8(&lowered[0].1, Some(&graph)),
        Json::Array(expected),
        "V8, the module graph"
    );
}
