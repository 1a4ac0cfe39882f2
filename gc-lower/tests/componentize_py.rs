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

use std::collections::HashMap;
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
fn componentize_py_app_runs_lowered_on_wasmtime_v8_and_javascriptcore() {
    let dir = tempfile::tempdir().expect("failed to create a temporary directory");
    let original = build_app(dir.path());
    app::assert_runs_lowered_everywhere(&original, |core, reify| {
        assert_names_carried(&original, core, reify)
    });
}
