//! Shared by the host-boundary tests: the wasmtime engine and running a re-wrapped output on
//! V8 (Node) or JavaScriptCore (Bun) through jco.

use std::path::{Path, PathBuf};
use std::process::Command;

use wasmtime::Engine;

/// A wasmtime engine with the component model and what lowered output uses.
#[allow(dead_code, reason = "not every test crate uses every helper")]
pub fn engine() -> Engine {
    Engine::new(&gc_lower::run::config()).expect("failed to create the engine")
}

/// `component` lowered with `--reify reify` and re-wrapped into a component, as
/// `gc-lower IN --component` makes it; panics naming the step that fails.
#[allow(dead_code, reason = "not every test crate uses every helper")]
pub fn lowered_component(component: &[u8], reify: gc_lower::ReifyMode) -> Vec<u8> {
    let lowered = gc_lower::lower(
        component,
        &gc_lower::Options {
            reify,
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| panic!("--reify {reify:?}: failed to lower: {e:#}"));
    gc_lower::rewrap(&lowered)
        .unwrap_or_else(|e| panic!("--reify {reify:?}: failed to re-wrap: {e:#}"))
}

/// The workspace's root directory.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the gc-lower crate lives in the workspace root")
        .to_path_buf()
}

/// Node and jco from `tests/node`, installed with `npm ci` (as `.ci/run` does) unless every
/// package that `tests/node/package.json` pins is in `node_modules` at its pinned version (so
/// a checkout installed before a pin was added or changed is brought up to date).
pub fn node_tools() -> (PathBuf, PathBuf) {
    let dir = repo_root().join("tests/node");
    let modules = dir.join("node_modules");
    let bin = modules.join(".bin");
    if !bin.join("jco").exists() || !bin.join("node").exists() || !pins_installed(&dir) {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .status()
            .expect("failed to run `npm ci` in tests/node (is npm installed?)");
        assert!(status.success(), "`npm ci` in tests/node failed: {status}");
    }
    (bin.join("node"), bin.join("jco"))
}

/// Whether every dependency of `dir/package.json` is installed in `dir/node_modules` at the
/// version it pins.
fn pins_installed(dir: &Path) -> bool {
    let read = |path: PathBuf| -> Option<serde_json::Value> {
        serde_json::from_slice(&std::fs::read(path).ok()?).ok()
    };
    let Some(manifest) = read(dir.join("package.json")) else {
        return false;
    };
    let Some(pins) = manifest["dependencies"].as_object() else {
        return false;
    };
    pins.iter().all(|(name, pin)| {
        read(dir.join("node_modules").join(name).join("package.json"))
            .is_some_and(|installed| installed["version"] == *pin)
    })
}

/// Bun (JavaScriptCore): `GC_LOWER_BUN` if set (as for `gc-lower wast`), else the one
/// [`node_tools`] installs in `tests/node`.
pub fn bun() -> PathBuf {
    std::env::var_os("GC_LOWER_BUN").map_or_else(
        || repo_root().join("tests/node/node_modules/@oven/bun-linux-x64/bin/bun"),
        PathBuf::from,
    )
}

/// The JavaScript engine that runs a transpiled component.
#[allow(dead_code, reason = "not every test crate uses every engine")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsEngine {
    /// Node 24.
    V8,
    /// Bun.
    JavaScriptCore,
}

/// Transpiles `component` with jco, each import `(name, js)` of `hosts` mapped to a module
/// with that JS text, and runs `script` with Node, which gets the transpiled module's path as
/// its first argument and imports the hosts as `./<name>.js`. Returns what the script prints
/// on standard output, parsed as JSON.
#[allow(dead_code, reason = "not every test crate uses every helper")]
pub fn run_on_v8(component: &[u8], hosts: &[(&str, &str)], script: &str) -> serde_json::Value {
    run_on_v8_with(component, hosts, script, None)
}

/// [`run_on_v8`], and with `graph` the module graph runs under jco's bindings of `component`
/// (a re-wrapped single-module output of the same component). Imports that jco leaves to npm
/// packages (its WASI shim) resolve to `tests/node/node_modules`.
pub fn run_on_v8_with(
    component: &[u8],
    hosts: &[(&str, &str)],
    script: &str,
    graph: Option<&gc_lower::module_graph::ModuleGraph>,
) -> serde_json::Value {
    run_on_js(JsEngine::V8, component, hosts, script, graph)
}

/// [`run_on_v8_with`] with the script run by `engine` (jco runs on Node either way).
pub fn run_on_js(
    engine: JsEngine,
    component: &[u8],
    hosts: &[(&str, &str)],
    script: &str,
    graph: Option<&gc_lower::module_graph::ModuleGraph>,
) -> serde_json::Value {
    let (node, jco) = node_tools();
    let dir = tempfile::tempdir().expect("failed to create a temporary directory");
    let path = |name: &str| dir.path().join(name);
    std::fs::write(path("run.mjs"), script).unwrap();
    std::fs::write(path("package.json"), r#"{"type":"module"}"#).unwrap();
    std::os::unix::fs::symlink(
        repo_root().join("tests/node/node_modules"),
        path("node_modules"),
    )
    .expect("failed to link node_modules");
    std::fs::write(path("c.wasm"), component).unwrap();
    let mut transpile = Command::new(&node);
    transpile
        .arg(&jco)
        .arg("transpile")
        .arg(path("c.wasm"))
        .args([
            "--name",
            "component",
            "--no-typescript",
            "--quiet",
            "--multi-memory",
        ]);
    for (i, (name, js)) in hosts.iter().enumerate() {
        let file = format!("host{i}.js");
        std::fs::write(path(&file), js).unwrap();
        transpile.args(["--map", &format!("{name}=../{file}")]);
    }
    let output = transpile
        .arg("-o")
        .arg(path("c"))
        .output()
        .expect("failed to run jco");
    assert!(
        output.status.success(),
        "jco transpile: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    if let Some(graph) = graph {
        graph
            .install_under_jco(&path("c"), "component.js")
            .expect("failed to install the module graph");
    }
    let runner = match engine {
        JsEngine::V8 => node,
        JsEngine::JavaScriptCore => bun(),
    };
    let output = Command::new(&runner)
        .arg(path("run.mjs"))
        .arg(path("c/component.js"))
        .output()
        .unwrap_or_else(|e| panic!("failed to run {engine:?}'s `{}`: {e}", runner.display()));
    assert!(
        output.status.success(),
        "{engine:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the script prints JSON")
}
