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
//! - V8 (Node 24) and JavaScriptCore (Bun), after jco transpile, with jco's WASI shim: the
//!   original, each re-wrapped output, and the module graph through its JS loader under jco's
//!   bindings.
//!
//! Every result must equal the original's on wasmtime.

#[path = "common/app.rs"]
mod app;
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

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

#[test]
fn componentize_py_app_runs_lowered_on_wasmtime_v8_and_javascriptcore() {
    let dir = tempfile::tempdir().expect("failed to create a temporary directory");
    let original = build_app(dir.path());
    app::assert_runs_lowered_everywhere(&original, |core, reify| {
        app::assert_names_carried(&original, core, reify, 1000)
    });
}
