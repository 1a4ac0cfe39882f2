//! Differential tests: `gc-lower wast` runs every component of a `.wast` script natively in
//! wasmtime and lowered, and compares the outcomes.
//!
//! The scripts are the project's own cases (`tests/*.wast`) and part of the component-model
//! spec tests shipped in the `wasm-tools` crate, which cargo fetches for the standalone
//! package `tests/spec-suite` (found with `cargo metadata`). Both reify modes must pass.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Spec test files, relative to `tests/component-model/test/` of the `wasm-tools` crate:
/// every file of a directory (`dir/*.wast`) or one file.
const SPEC_FILES: &[&str] = &["linking/*.wast", "values/*.wast", "resources/*.wast"];

/// The `wasm-tools` release whose spec tests are run; must match `tests/spec-suite/Cargo.toml`.
const WASM_TOOLS_VERSION: &str = "1.263.0";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the gc-lower crate lives in the workspace root")
        .to_path_buf()
}

/// The `.wast` files of `dir`, sorted.
fn wast_files_in(dir: &Path) -> Vec<PathBuf> {
    let entries = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("failed to read `{}`: {e}", dir.display()));
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("failed to read a directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "wast"))
        .collect();
    files.sort();
    files
}

/// The directory of the `wasm-tools` crate, as cargo resolved (and fetched) it for
/// `tests/spec-suite`.
fn wasm_tools_dir() -> PathBuf {
    let manifest = repo_root().join("tests/spec-suite/Cargo.toml");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--locked",
            "--manifest-path",
        ])
        .arg(&manifest)
        .output()
        .expect("failed to run `cargo metadata`");
    assert!(
        output.status.success(),
        "`cargo metadata` for `{}` failed:\n{}",
        manifest.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let json = String::from_utf8(output.stdout).expect("`cargo metadata` printed invalid UTF-8");
    let manifest_path = package_manifest_path(&json, "wasm-tools", WASM_TOOLS_VERSION)
        .unwrap_or_else(|| {
            panic!("`cargo metadata` does not list `wasm-tools` {WASM_TOOLS_VERSION}")
        });
    manifest_path
        .parent()
        .expect("a manifest path has a parent directory")
        .to_path_buf()
}

/// Finds `manifest_path` of the package `name`@`version` in `cargo metadata` JSON output.
///
/// Cargo writes the fields of a package in a fixed order (`name`, `version`, …,
/// `manifest_path`), and none of the nested objects before `manifest_path` has a field of
/// that name, so the first `manifest_path` after the package's opening is its own. Only the
/// escapes JSON allows in a path (`\\`, `\"`, `\/`) are decoded.
fn package_manifest_path(json: &str, name: &str, version: &str) -> Option<PathBuf> {
    let opening = format!(r#"{{"name":"{name}","version":"{version}","#);
    let start = json.find(&opening)?;
    let key = r#""manifest_path":""#;
    let value_start = start + json[start..].find(key)? + key.len();
    let mut path = String::new();
    let mut chars = json[value_start..].chars();
    loop {
        match chars.next()? {
            '"' => return Some(PathBuf::from(path)),
            '\\' => path.push(chars.next()?),
            c => path.push(c),
        }
    }
}

fn spec_files() -> Vec<PathBuf> {
    let test_dir = wasm_tools_dir().join("tests/component-model/test");
    let mut files = Vec::new();
    for pattern in SPEC_FILES {
        match pattern.strip_suffix("/*.wast") {
            Some(dir) => files.extend(wast_files_in(&test_dir.join(dir))),
            None => files.push(test_dir.join(pattern)),
        }
    }
    for file in &files {
        assert!(file.is_file(), "spec test `{}` is missing", file.display());
    }
    files
}

/// The counts of the runner's summary line, `N passed, N failed, N skipped`.
#[derive(Debug, PartialEq, Eq)]
struct Summary {
    passed: u64,
    failed: u64,
    skipped: u64,
}

fn parse_summary(line: &str) -> Option<Summary> {
    let mut parts = line.trim().split(", ");
    let mut count = |label: &str| -> Option<u64> {
        parts
            .next()?
            .strip_suffix(label)?
            .strip_suffix(' ')?
            .parse()
            .ok()
    };
    let summary = Summary {
        passed: count("passed")?,
        failed: count("failed")?,
        skipped: count("skipped")?,
    };
    parts.next().is_none().then_some(summary)
}

/// Makes sure Node, Bun and jco are installed in `tests/node/node_modules` (`npm ci`, as
/// `.ci/run` does), so the JavaScript side runs on a fresh clone too.
fn ensure_node_tools() {
    let dir = repo_root().join("tests/node");
    if dir.join("node_modules/.bin/jco").exists()
        && dir.join("node_modules/.bin/node").exists()
        && dir
            .join("node_modules/@oven/bun-linux-x64/bin/bun")
            .exists()
    {
        return;
    }
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&dir)
        .status()
        .expect("failed to run `npm ci` in tests/node (is npm installed?)");
    assert!(status.success(), "`npm ci` in tests/node failed: {status}");
}

/// Runs `gc-lower wast --reify <reify> --engine <engine> --output <output>` over the
/// project's cases and the spec tests.
fn run_wast(reify: &str, engine: &str, form: &str) {
    if engine != "wasmtime" {
        ensure_node_tools();
    }
    let mut files = wast_files_in(&repo_root().join("tests"));
    assert!(!files.is_empty(), "no `.wast` files in `tests/`");
    files.extend(spec_files());

    let output = Command::new(env!("CARGO_BIN_EXE_gc-lower"))
        .arg("wast")
        .args(["--reify", reify, "--engine", engine, "--output", form])
        .args(&files)
        .current_dir(repo_root())
        .output()
        .expect("failed to run `gc-lower wast`");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");

    let last = stdout
        .lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .unwrap_or("");
    let summary = parse_summary(last).unwrap_or_else(|| {
        panic!("the last line is not `N passed, N failed, N skipped`: `{last}`")
    });
    assert_eq!(
        summary.failed, 0,
        "`gc-lower wast --reify {reify} --engine {engine} --output {form}`: {summary:?}"
    );
    assert!(
        summary.passed > 0,
        "`gc-lower wast --reify {reify} --engine {engine} --output {form}` passed nothing: {summary:?}"
    );
    assert!(
        output.status.success(),
        "`gc-lower wast --reify {reify} --engine {engine} --output {form}` exited with {}",
        output.status
    );
}

#[test]
fn wast_reify_auto() {
    run_wast("auto", "wasmtime", "single");
}

/// `--reify all` on every engine: wasmtime (re-wrapped component and core module), V8 and
/// JavaScriptCore (the re-wrapped component through jco, run by Node and by Bun).
#[test]
fn wast_reify_all_on_every_engine() {
    run_wast("all", "all", "single");
}

/// The module-graph form (`gc-lower graph`) on every engine: its wasmtime loader on the core
/// side, its JS loader under jco's bindings on V8 and JavaScriptCore.
#[test]
fn wast_graph_on_every_engine() {
    run_wast("auto", "all", "graph");
}

#[test]
fn summary_line() {
    assert_eq!(
        parse_summary("12 passed, 0 failed, 3 skipped"),
        Some(Summary {
            passed: 12,
            failed: 0,
            skipped: 3
        })
    );
    assert_eq!(parse_summary("1 passed, 2 failed"), None);
    assert_eq!(parse_summary("1 passed, 2 failed, 3 skipped, 4 more"), None);
    assert_eq!(
        parse_summary("FAIL tests/a.wast (1 passed, 2 failed, 0 skipped)"),
        None
    );
}

#[test]
fn manifest_path_of_package() {
    let json = r#"{"packages":[{"name":"wasm-tools","version":"1.0.0","id":"a","targets":[{"src_path":"x"}],"manifest_path":"/old/Cargo.toml"},{"name":"wasm-tools","version":"1.263.0","id":"b","dependencies":[],"manifest_path":"/r/wasm-tools-1.263.0/Cargo.toml"}]}"#;
    assert_eq!(
        package_manifest_path(json, "wasm-tools", "1.263.0"),
        Some(PathBuf::from("/r/wasm-tools-1.263.0/Cargo.toml"))
    );
    assert_eq!(package_manifest_path(json, "wasm-tools", "2.0.0"), None);
}
