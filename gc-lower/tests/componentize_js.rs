//! A real component nobody here wrote the toolchain of: the componentize-js app of
//! `tests/js/app`, the `example:app` world of the Python app implemented in JavaScript.
//! componentize-js (npm, pinned in `tests/node/package.json`) splices bindings into
//! StarlingMonkey (SpiderMonkey compiled to wasm, about 12 MB) and pre-initializes it with
//! Wizer; the component's core modules are that engine, its WASI adapter and wit-component's
//! shims, each instantiated once, and it imports WASI interfaces (standard output and error,
//! environment, exit, I/O streams).
//!
//! The component is lowered with `--reify auto` and `--reify all` and put in module-graph form,
//! and every export is called with the same arguments on wasmtime's component runtime (the
//! original and each output re-wrapped) and on V8 (Node 24) and JavaScriptCore (Bun) after jco
//! transpile, with jco's WASI shim (the original, each output and the module graph). Every
//! result must equal the original's on wasmtime.

#[path = "common/app.rs"]
mod app;
mod common;

use std::path::Path;
use std::process::Command;

/// Builds the app into `dir/app.wasm` with `tests/node/componentize-js.mjs` (componentize-js is
/// among the packages `npm ci` installs there), and returns its bytes.
fn build_app(dir: &Path) -> Vec<u8> {
    let (node, _) = common::node_tools();
    let out = dir.join("app.wasm");
    let output = Command::new(node)
        .arg(common::repo_root().join("tests/node/componentize-js.mjs"))
        .arg(&out)
        .output()
        .expect("failed to run node");
    assert!(
        output.status.success(),
        "componentize-js failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::read(&out).expect("componentize-js wrote no component")
}

#[test]
fn componentize_js_app_runs_lowered_on_wasmtime_v8_and_javascriptcore() {
    let dir = tempfile::tempdir().expect("failed to create a temporary directory");
    let original = build_app(dir.path());
    app::assert_runs_lowered_everywhere(&original, |core, reify| {
        app::assert_names_carried(&original, core, reify, 100)
    });
}
