//! The interpreter apps measured by the `python` and `js` benches: the componentize-py app of
//! `tests/python/app` and the componentize-js app of `tests/js/app`, two implementations of the
//! `example:app` world, built now by their toolchains, and what running them on wasmtime's
//! component runtime with wasmtime-wasi takes (the apps import WASI, which has no core-level
//! host on wasmtime).

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context as _, Result, ensure};
use wasmtime::component::{Component, Func, Instance, Linker, ResourceTable, Val};
use wasmtime::{Engine, Store};

fn repo_root() -> Result<PathBuf> {
    Ok(PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("the benches crate lives in the workspace")?
        .to_path_buf())
}

/// Runs `command`, which writes a component to `out`, and returns the component.
fn build(mut command: Command, what: &str, out: &std::path::Path) -> Result<Vec<u8>> {
    let output = command
        .output()
        .with_context(|| format!("failed to run {what}"))?;
    ensure!(
        output.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(std::fs::read(out)?)
}

/// The componentize-py app of `tests/python/app` (CPython linked as shared-everything
/// libraries, about 18 MB), built now by componentize-py: `GC_LOWER_COMPONENTIZE_PY`, or
/// `tests/python/venv/bin/componentize-py` (where the tests install it), or `componentize-py`
/// on `PATH`. `None` when none is found; an error when the build fails.
pub fn python_app() -> Result<Option<Vec<u8>>> {
    let root = repo_root()?;
    let venv = root.join("tests/python/venv/bin/componentize-py");
    let tool = match std::env::var_os("GC_LOWER_COMPONENTIZE_PY") {
        Some(path) => PathBuf::from(path),
        None if venv.exists() => venv,
        None => {
            let found = Command::new("componentize-py")
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success());
            if !found {
                return Ok(None);
            }
            PathBuf::from("componentize-py")
        }
    };
    let app = root.join("tests/python/app");
    let dir = tempfile::tempdir()?;
    let out = dir.path().join("app.wasm");
    let mut command = Command::new(&tool);
    command
        .arg("-d")
        .arg(app.join("app.wit"))
        .args(["-w", "app", "componentize", "app", "-p"])
        .arg(&app)
        .arg("-o")
        .arg(&out);
    build(command, &format!("`{}`", tool.display()), &out).map(Some)
}

/// The componentize-js app of `tests/js/app` (StarlingMonkey, about 12 MB), built now by
/// `tests/node/componentize-js.mjs` with Node and componentize-js from `tests/node`. `None`
/// when `npm ci` has not been run there; an error when the componentize-js installed there is
/// not the version `tests/node/package.json` pins, or when the build fails.
pub fn js_app() -> Result<Option<Vec<u8>>> {
    const PACKAGE: &str = "@bytecodealliance/componentize-js";
    let root = repo_root()?;
    let node_modules = root.join("tests/node/node_modules");
    let node = node_modules.join(".bin/node");
    if !node.exists() || !node_modules.join(PACKAGE).exists() {
        return Ok(None);
    }
    let field = |path: PathBuf, key: &str| -> Result<serde_json::Value> {
        let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&path)?)?;
        Ok(json[key].clone())
    };
    let pinned = field(root.join("tests/node/package.json"), "dependencies")?[PACKAGE].clone();
    let installed = field(node_modules.join(PACKAGE).join("package.json"), "version")?;
    ensure!(
        pinned == installed,
        "tests/node has {PACKAGE} {installed} where package.json pins {pinned}: run `npm ci` there"
    );
    let dir = tempfile::tempdir()?;
    let out = dir.path().join("app.wasm");
    let mut command = Command::new(node);
    command
        .arg(root.join("tests/node/componentize-js.mjs"))
        .arg(&out);
    build(command, "componentize-js", &out).map(Some)
}

/// The host state of a WASI component: no arguments, environment or directories.
pub struct Wasi {
    ctx: wasmtime_wasi::WasiCtx,
    table: ResourceTable,
}

impl wasmtime_wasi::WasiView for Wasi {
    fn ctx(&mut self) -> wasmtime_wasi::WasiCtxView<'_> {
        wasmtime_wasi::WasiCtxView {
            ctx: &mut self.ctx,
            table: &mut self.table,
        }
    }
}

/// An instance of `component` with WASI, in its own store.
pub fn instantiate(engine: &Engine, component: &[u8]) -> (Store<Wasi>, Instance) {
    let component = Component::new(engine, component).expect("the component compiles");
    let mut linker: Linker<Wasi> = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).expect("WASI links");
    let wasi = Wasi {
        ctx: wasmtime_wasi::WasiCtx::builder().build(),
        table: ResourceTable::new(),
    };
    let mut store = Store::new(engine, wasi);
    let instance = linker
        .instantiate(&mut store, &component)
        .expect("the component instantiates");
    (store, instance)
}

/// Calls `func`, which returns one value.
pub fn call(store: &mut Store<Wasi>, func: Func, args: &[Val]) -> Val {
    let mut results = [Val::Bool(false)];
    func.call(&mut *store, args, &mut results)
        .expect("the call trapped");
    let [result] = results;
    result
}

/// The calls: label, export, arguments. `sum` gets the 10 000 numbers `numbers(i)` for `i` in
/// `0..10_000`.
pub fn calls(numbers: impl Fn(u32) -> i32) -> Vec<(&'static str, &'static str, Vec<Val>)> {
    let items = (0..100u32)
        .map(|i| {
            Val::Record(vec![
                (
                    "name".into(),
                    Val::String(format!("item-{}", (i * 37) % 100)),
                ),
                ("count".into(), Val::U32((i * 7919) % 50)),
            ])
        })
        .collect();
    let numbers = (0..10_000u32).map(|i| Val::S32(numbers(i))).collect();
    vec![
        (
            "greet",
            "greet",
            vec![Val::String(
                "wörld, a string that crosses the boundary".into(),
            )],
        ),
        ("sum (10 000 s32)", "sum", vec![Val::List(numbers)]),
        ("describe (100 records)", "describe", vec![Val::List(items)]),
        ("parse", "parse", vec![Val::String("-12345678901".into())]),
        ("fib (2000 loop iterations)", "fib", vec![Val::U32(2000)]),
    ]
}
