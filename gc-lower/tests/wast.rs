//! Differential tests: `gc-lower wast` runs every component of a `.wast` script natively in
//! wasmtime and lowered, and compares the outcomes.
//!
//! The scripts are the project's own cases (`tests/*.wast`) and part of the component-model
//! spec tests shipped in the `wasm-tools` crate, which cargo fetches for the standalone
//! package `tests/spec-suite` (found with `cargo metadata`).
//!
//! Each script runs as its own trial under each of five configurations ([`CONFIGS`]), named
//! `CONFIG::FILE` (`all::tests/resources.wast`, `graph::spec/linking/alias.wast`), so a
//! failure names its script and `cargo test -p gc-lower --test wast -- resources.wast` runs
//! one. A trial fails when an assertion fails, when its runner has not finished within ten
//! minutes ([`SCRIPT_LIMIT`]: it is killed), and when its outcome differs from the one
//! recorded in `tests/wast-expected.txt`: its number of passed assertions and each skip
//! reason with its count. A change that turns passes into skips is seen there.
//! `BLESS=1 cargo test -p gc-lower --test wast` records the outcomes of the trials that ran
//! instead, and regenerates the table in `TESTING.md` from the whole file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, Once};

use libtest_mimic::{Arguments, Failed, Trial};

// Only the Node tools of the shared helpers are used here.
#[allow(dead_code)]
mod common;

use common::repo_root;

/// A configuration of `gc-lower wast` that every script runs under.
struct Config {
    /// Its name in trial names and in `tests/wast-expected.txt`.
    name: &'static str,
    /// What it checks, for `TESTING.md`.
    what: &'static str,
    reify: &'static str,
    engine: &'static str,
    output: &'static str,
    /// More options of `gc-lower wast`.
    extra: &'static [&'static str],
}

/// `--reify auto` on wasmtime; `--reify all` on every engine (wasmtime: re-wrapped component
/// and core module; V8 and JavaScriptCore: the core module with plain `WebAssembly` and the
/// re-wrapped component through jco, run by Node and by Bun; Chromium and Firefox: both
/// again in a headless page); the module-graph form on wasmtime, Node and Bun (its wasmtime
/// loader on the core side, its JS loader under jco's bindings on V8 and JavaScriptCore).
///
/// `--reify auto` runs twice: on wasmtime alone, and on every engine (`auto-js`). An
/// assertion that an engine cannot check (jco's lifting deviations, a proposal jco lacks) is
/// skipped on every engine of a run, so the wasmtime-only run keeps checking those on
/// wasmtime, and the other checks the same output on the JavaScript engines.
///
/// `--reify all --inline-accesses all` on wasmtime checks the fast paths that the default
/// emits only in functions with few loads and stores, in every function.
const CONFIGS: [Config; 5] = [
    Config {
        name: "auto",
        what: "`--reify auto`, wasmtime",
        reify: "auto",
        engine: "wasmtime",
        output: "single",
        extra: &[],
    },
    Config {
        name: "auto-js",
        what: "`--reify auto`, wasmtime, V8, JavaScriptCore, Chromium and SpiderMonkey",
        reify: "auto",
        engine: "all",
        output: "single",
        extra: &[],
    },
    Config {
        name: "all",
        what: "`--reify all`, wasmtime, V8, JavaScriptCore, Chromium and SpiderMonkey",
        reify: "all",
        engine: "all",
        output: "single",
        extra: &[],
    },
    Config {
        name: "inline",
        what: "`--reify all --inline-accesses all`, wasmtime",
        reify: "all",
        engine: "wasmtime",
        output: "single",
        extra: &["--inline-accesses", "all"],
    },
    Config {
        name: "graph",
        what: "module graph, wasmtime, V8 and JavaScriptCore",
        reify: "auto",
        engine: "all",
        output: "graph",
        extra: &[],
    },
];

/// The recorded outcomes: `tests/wast-expected.txt`.
const EXPECTED: &str = "tests/wast-expected.txt";

/// Spec test files, relative to `tests/component-model/test/` of the `wasm-tools` crate:
/// every file of a directory (`dir/*.wast`) or one file. Left out: `binary/binary.wast`,
/// whose three `assert_malformed` of async built-ins expect a validator with the async
/// feature off, which gc-lower's (it lowers async components) never is.
const SPEC_FILES: &[&str] = &[
    "linking/*.wast",
    "values/*.wast",
    "resources/*.wast",
    "validation/*.wast",
    "async/*.wast",
];

/// The wasm features the spec tests of `async/` run with (their scripts have no `;;!`
/// lines; the directory's README runs them with these `wasmtime wast -W` options).
const ASYNC_FEATURES: &[&str] = &[
    "component-model-async",
    "component-model-async-builtins",
    "component-model-async-stackful",
    "component-model-threading",
    "exceptions",
];

/// The `wasm-tools` release whose spec tests are run; must match `tests/spec-suite/Cargo.toml`.
const WASM_TOOLS_VERSION: &str = "1.263.0";

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

/// What one script did under one configuration: its passed assertions, and its skip
/// reasons with their counts.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Outcome {
    passed: u64,
    skips: BTreeMap<String, u64>,
}

/// Outcomes by configuration name, then script label.
type Outcomes = BTreeMap<(String, String), Outcome>;

/// Reads `tests/wast-expected.txt`: lines `CONFIG<TAB>FILE<TAB>passed<TAB>N` and
/// `CONFIG<TAB>FILE<TAB>skipped<TAB>N<TAB>REASON`; `#` starts a comment.
fn parse_expected(text: &str) -> Result<Outcomes, String> {
    let mut outcomes = Outcomes::new();
    for (n, line) in text.lines().enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        let bad = || format!("{EXPECTED}:{}: malformed line `{line}`", n + 1);
        let (config, file, kind, count) = match fields[..] {
            [c, f, k, n, ..] => (c, f, k, n.parse::<u64>().map_err(|_| bad())?),
            _ => return Err(bad()),
        };
        let outcome = outcomes
            .entry((config.to_string(), file.to_string()))
            .or_default();
        match (kind, &fields[4..]) {
            ("passed", []) => outcome.passed = count,
            ("skipped", [reason]) => {
                outcome.skips.insert(reason.to_string(), count);
            }
            _ => return Err(bad()),
        }
    }
    Ok(outcomes)
}

/// Writes outcomes in the format [`parse_expected`] reads.
fn format_expected(outcomes: &Outcomes) -> String {
    let mut text = String::from(
        "# The outcome of every .wast script under each configuration of gc-lower/tests/wast.rs:\n\
         # its passed assertions, and each skip reason with its count (tab-separated).\n\
         # Regenerate with `BLESS=1 cargo test -p gc-lower --test wast`.\n",
    );
    for ((config, file), outcome) in outcomes {
        text.push_str(&format!("{config}\t{file}\tpassed\t{}\n", outcome.passed));
        for (reason, count) in &outcome.skips {
            text.push_str(&format!("{config}\t{file}\tskipped\t{count}\t{reason}\n"));
        }
    }
    text
}

/// The table of `TESTING.md`: per suite and configuration, the assertions passed and
/// skipped, and each skip reason with its count.
fn testing_md(outcomes: &Outcomes) -> String {
    let mut text = String::from(
        "# Testing: the `.wast` suites\n\n\
         Generated by `BLESS=1 cargo test -p gc-lower --test wast` from `tests/wast-expected.txt`\n\
         (see `gc-lower/tests/wast.rs`); every trial checks its script's line of that file, so\n\
         these figures are what CI checks. Failed assertions fail the test, so there are none.\n\
         A skip is an assertion not checked, with its reason: \"native run fails\" when wasmtime\n\
         itself does not satisfy the script, or the feature the lowering does not support.\n\n",
    );
    let suite = |file: &str| {
        if file.starts_with("spec/async/") {
            "component-model async spec tests (wasm-tools 1.263.0)"
        } else if file.starts_with("spec/") {
            "component-model spec tests (wasm-tools 1.263.0)"
        } else {
            "the project's `tests/*.wast`"
        }
    };
    for config in &CONFIGS {
        text.push_str(&format!("## `{}`: {}\n\n", config.name, config.what));
        text.push_str("| suite | scripts | passed | skipped |\n|---|---:|---:|---:|\n");
        let mut suites: BTreeMap<&str, (u64, u64, u64)> = BTreeMap::new();
        let mut reasons: BTreeMap<&str, u64> = BTreeMap::new();
        for ((c, file), outcome) in outcomes {
            if c != config.name {
                continue;
            }
            let entry = suites.entry(suite(file)).or_default();
            entry.0 += 1;
            entry.1 += outcome.passed;
            for (reason, count) in &outcome.skips {
                entry.2 += count;
                *reasons.entry(reason).or_default() += count;
            }
        }
        for (name, (scripts, passed, skipped)) in &suites {
            text.push_str(&format!("| {name} | {scripts} | {passed} | {skipped} |\n"));
        }
        if !reasons.is_empty() {
            text.push_str("\n| skip reason | assertions |\n|---|---:|\n");
            for (reason, count) in &reasons {
                let reason = reason.replace('|', "\\|");
                text.push_str(&format!("| {reason} | {count} |\n"));
            }
        }
        text.push('\n');
    }
    text
}

/// How long one script may run under one configuration before its trial fails (a runner that
/// hangs, as an output that spins or waits forever would make it, fails by name instead of
/// holding the test run until its time runs out).
const SCRIPT_LIMIT: std::time::Duration = std::time::Duration::from_secs(600);

/// Runs `command` and collects its output, as `Command::output` does, killing it (and
/// failing) when it has not exited within `limit`.
fn output_within(
    mut command: Command,
    limit: std::time::Duration,
) -> Result<std::process::Output, Failed> {
    use std::io::Read;
    use std::os::unix::process::CommandExt;
    use std::process::Stdio;
    // A process group of its own, so that a kill reaches the engines it runs (Node, Bun, a
    // browser), where an output that spins would be spinning.
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("failed to run `gc-lower wast`: {e}"))?;
    // The pipes are drained meanwhile, so that a full pipe does not stop the child.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child
            .try_wait()
            .map_err(|e| format!("failed to wait for `gc-lower wast`: {e}"))?
        {
            break status;
        }
        if start.elapsed() > limit {
            let _ = Command::new("kill")
                .args(["-KILL", &format!("-{}", child.id())])
                .status();
            let _ = child.kill();
            let _ = child.wait();
            let stdout = stdout.join().unwrap_or_default();
            let stderr = stderr.join().unwrap_or_default();
            return Err(format!(
                "`gc-lower wast` did not finish within {} s and was killed (with its process \
                 group); its output so far:\n{}\n{}",
                limit.as_secs(),
                String::from_utf8_lossy(&stdout),
                String::from_utf8_lossy(&stderr)
            )
            .into());
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    Ok(std::process::Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

/// Runs one script (`label`: its name in trials; `spec/async/` ones get [`ASYNC_FEATURES`])
/// under one configuration: fails when an assertion fails or the runner
/// does, and returns what it did.
fn run_script(config: &Config, label: &str, file: &Path) -> Result<Outcome, Failed> {
    if config.engine != "wasmtime" {
        static NODE_TOOLS: Once = Once::new();
        NODE_TOOLS.call_once(|| {
            // Node, jco and Bun at the versions `tests/node` pins (`npm ci` otherwise).
            common::node_tools();
        });
    }
    let mut command = Command::new(env!("CARGO_BIN_EXE_gc-lower"));
    command
        .arg("wast")
        .arg("--json")
        .args(["--reify", config.reify])
        .args(["--engine", config.engine])
        .args(["--output", config.output])
        .args(config.extra)
        .args(
            ASYNC_FEATURES
                .iter()
                .filter(|_| label.starts_with("spec/async/"))
                .flat_map(|feature| ["-W", feature]),
        )
        .arg(file)
        .current_dir(repo_root());
    let output = output_within(command, SCRIPT_LIMIT)?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report: serde_json::Value = stdout
        .lines()
        .find(|line| line.starts_with("{\"") && line.contains("\"file\""))
        .and_then(|line| serde_json::from_str(line).ok())
        .ok_or_else(|| format!("no report from `gc-lower wast`:\n{stdout}\n{stderr}"))?;
    let count = |key: &str| report[key].as_u64().unwrap_or(0);
    if count("failed") > 0 || !output.status.success() {
        let failures: Vec<String> = report["failures"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f.as_str().map(str::to_string))
            .collect();
        return Err(format!(
            "{} failed (exit {}):\n{}\n{stderr}",
            count("failed"),
            output.status,
            failures.join("\n")
        )
        .into());
    }
    let mut outcome = Outcome {
        passed: count("passed"),
        skips: BTreeMap::new(),
    };
    for skip in report["skips"].as_array().into_iter().flatten() {
        let reason = skip["reason"].as_str().unwrap_or_default().to_string();
        *outcome.skips.entry(reason).or_default() += skip["count"].as_u64().unwrap_or(0);
    }
    Ok(outcome)
}

/// How `observed` differs from `expected`, one line each.
fn differences(expected: &Outcome, observed: &Outcome) -> Vec<String> {
    let mut lines = Vec::new();
    if expected.passed != observed.passed {
        lines.push(format!(
            "passed: {} recorded, {} now",
            expected.passed, observed.passed
        ));
    }
    let reasons: std::collections::BTreeSet<&String> =
        expected.skips.keys().chain(observed.skips.keys()).collect();
    for reason in reasons {
        let (e, o) = (
            expected.skips.get(reason).copied().unwrap_or(0),
            observed.skips.get(reason).copied().unwrap_or(0),
        );
        if e != o {
            lines.push(format!("skipped {o} (recorded {e}): {reason}"));
        }
    }
    lines
}

fn main() {
    let args = Arguments::from_args();
    let bless = std::env::var_os("BLESS").is_some_and(|v| v == "1");
    let expected_path = repo_root().join(EXPECTED);
    let expected = match std::fs::read_to_string(&expected_path) {
        Ok(text) => parse_expected(&text).unwrap_or_else(|e| panic!("{e}")),
        Err(_) if bless => Outcomes::new(),
        Err(e) => panic!("failed to read `{EXPECTED}`: {e}"),
    };
    let expected = Arc::new(expected);
    let observed = Arc::new(Mutex::new(Outcomes::new()));

    let mut scripts: Vec<(String, PathBuf)> = wast_files_in(&repo_root().join("tests"))
        .into_iter()
        .map(|path| {
            let name = path.file_name().expect("a file").to_string_lossy();
            (format!("tests/{name}"), path)
        })
        .collect();
    assert!(!scripts.is_empty(), "no `.wast` files in `tests/`");
    let spec_root = wasm_tools_dir().join("tests/component-model/test");
    for path in spec_files() {
        let relative = path
            .strip_prefix(&spec_root)
            .expect("spec files are under the spec root")
            .display();
        scripts.push((format!("spec/{relative}"), path));
    }

    let mut trials = Vec::new();
    for config in &CONFIGS {
        for (label, path) in &scripts {
            let (label, path) = (label.clone(), path.clone());
            let (expected, observed) = (expected.clone(), observed.clone());
            let name = format!("{}::{label}", config.name);
            trials.push(Trial::test(name, move || {
                let outcome = run_script(config, &label, &path)?;
                let key = (config.name.to_string(), label.clone());
                observed
                    .lock()
                    .expect("no trial panics holding the lock")
                    .insert(key.clone(), outcome.clone());
                if bless {
                    return Ok(());
                }
                let recorded = expected.get(&key).cloned().unwrap_or_default();
                let lines = differences(&recorded, &outcome);
                if lines.is_empty() {
                    Ok(())
                } else {
                    Err(format!(
                        "the outcome differs from `{EXPECTED}` (record it with `BLESS=1 cargo \
                         test -p gc-lower --test wast`):\n{}",
                        lines.join("\n")
                    )
                    .into())
                }
            }));
        }
    }
    trials.push(Trial::test("expected_file_round_trips", || {
        let mut outcomes = Outcomes::new();
        outcomes.insert(
            ("all".into(), "tests/a.wast".into()),
            Outcome {
                passed: 3,
                skips: [("native run fails".to_string(), 2)].into(),
            },
        );
        let parsed = parse_expected(&format_expected(&outcomes))?;
        if parsed != outcomes {
            return Err(format!("{parsed:?} is not {outcomes:?}").into());
        }
        if parse_expected("all\ttests/a.wast\tpassed").is_ok() {
            return Err("a line without a count parses".into());
        }
        Ok(())
    }));
    trials.push(Trial::test("manifest_path_of_package", || {
        manifest_path_of_package();
        Ok(())
    }));

    let conclusion = libtest_mimic::run(&args, trials);
    if bless {
        let mut merged = (*expected).clone();
        for (key, outcome) in observed.lock().expect("trials are done").iter() {
            merged.insert(key.clone(), outcome.clone());
        }
        std::fs::write(&expected_path, format_expected(&merged))
            .unwrap_or_else(|e| panic!("failed to write `{EXPECTED}`: {e}"));
        std::fs::write(repo_root().join("TESTING.md"), testing_md(&merged))
            .unwrap_or_else(|e| panic!("failed to write `TESTING.md`: {e}"));
    }
    conclusion.exit();
}

fn manifest_path_of_package() {
    let json = r#"{"packages":[{"name":"wasm-tools","version":"1.0.0","id":"a","targets":[{"src_path":"x"}],"manifest_path":"/old/Cargo.toml"},{"name":"wasm-tools","version":"1.263.0","id":"b","dependencies":[],"manifest_path":"/r/wasm-tools-1.263.0/Cargo.toml"}]}"#;
    assert_eq!(
        package_manifest_path(json, "wasm-tools", "1.263.0"),
        Some(PathBuf::from("/r/wasm-tools-1.263.0/Cargo.toml"))
    );
    assert_eq!(package_manifest_path(json, "wasm-tools", "2.0.0"), None);
}
