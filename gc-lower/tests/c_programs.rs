//! Real C programs as input, compiled by the tests with clang against Debian's wasi-libc
//! (`wasm32-wasi`, preview 1) and made into components by wit-component.
//!
//! - `tests/c/wordfreq.c` (printf, malloc/realloc, string functions, qsort, arguments, an
//!   environment variable, a file read from a preopened directory, exit statuses) becomes a
//!   `wasi:cli/command` with the preview 1 command adapter that matches wasmtime. Lowered in
//!   both reify modes and re-wrapped, it runs on wasmtime with wasmtime-wasi next to the
//!   original: standard output, standard error and the exit status must be the same for
//!   every case, also through `gc-lower run`. On V8, the original and the re-wrapped output
//!   are `jco transpile`d and run by Node with jco's WASI shim, and must print the same and
//!   exit the same way.
//! - `tests/c/shout.c`, a library component instantiated twice, feeds both imports of
//!   `tests/c/greeter.c`; the composition passes strings between the three instances, and
//!   the lowered output must return what the original returns on wasmtime, on wasmtime and
//!   on V8.
//!
//! Needs `clang-19`, `lld-19`, `libclang-rt-19-dev-wasm32` and `wasi-libc` (Debian); without
//! `clang-19` the tests print why and pass, unless `GC_LOWER_REQUIRE_CLANG` is set (as
//! `.ci/run` does).

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use gc_lower::ReifyMode;
use gc_lower::run::{Outcome, run_command};
use wasmtime::component::Component;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

/// The guest's name for the preopened directory of the cases that read a file.
const GUEST_DIR: &str = "/data";

/// One run of the program.
struct Case {
    args: &'static [&'static str],
    env: &'static [(&'static str, &'static str)],
}

/// The cases: no arguments; words (many, so that the table grows); a file from the
/// preopened directory with the environment variable set; a file that does not exist (an
/// error on standard error and a failing status); an explicit failing status.
fn cases() -> Vec<Case> {
    vec![
        Case {
            args: &[],
            env: &[],
        },
        Case {
            args: &[
                "The cat and the hat",
                "THE END",
                "a b c d e f g h i j k l m n o p q r s t u v w x y z 0 1 2 3 4 5 6 7 8 9",
                "the",
            ],
            env: &[],
        },
        Case {
            args: &["-f", "/data/input.txt", "extra words, extra"],
            env: &[("WORDFREQ_GREETING", "hello from the environment")],
        },
        Case {
            args: &["-f", "/data/missing.txt", "still", "counted"],
            env: &[],
        },
        Case {
            args: &["-x", "7", "bye"],
            env: &[],
        },
    ]
}

/// The text of `/data/input.txt`: long enough for several reads and reallocations.
fn input_text() -> String {
    let mut text = String::new();
    for i in 0..300 {
        text.push_str(&format!(
            "Line {i}: the quick brown fox jumps over the lazy dog; fox number {}.\n",
            i % 7
        ));
    }
    text
}

/// What a run printed and how it ended.
#[derive(Debug, PartialEq, Eq)]
struct Run {
    stdout: String,
    stderr: String,
    /// The exit status, or the trap's message.
    end: Result<i32, String>,
}

/// Whether `clang-19` can be run; when it cannot, says why (once) and returns `false`,
/// unless the tests must not be skipped.
fn have_clang() -> bool {
    static HAVE: OnceLock<bool> = OnceLock::new();
    *HAVE.get_or_init(
        || match Command::new("clang-19").arg("--version").output() {
            Ok(out) if out.status.success() => true,
            _ if std::env::var_os("GC_LOWER_REQUIRE_CLANG").is_some() => {
                panic!("`clang-19` is required (GC_LOWER_REQUIRE_CLANG is set) but cannot be run")
            }
            _ => {
                eprintln!(
                    "skipping: `clang-19` not found; install Debian's clang-19 lld-19 \
                 libclang-rt-19-dev-wasm32 wasi-libc to run the C tests"
                );
                false
            }
        },
    )
}

/// Compiles `tests/c/NAME.c` with clang-19 against wasi-libc, with `flags` added, and returns
/// the core module.
fn compile(name: &str, flags: &[&str]) -> Vec<u8> {
    let source = common::repo_root().join(format!("tests/c/{name}.c"));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join(format!("{name}.wasm"));
    let output = Command::new("clang-19")
        .args([
            "--target=wasm32-wasi",
            "--sysroot=/usr",
            "-O2",
            "-Wall",
            "-Wextra",
            "-Werror",
        ])
        .args(flags)
        .arg(&source)
        .arg("-o")
        .arg(&out)
        .output()
        .expect("failed to run clang-19");
    assert!(
        output.status.success(),
        "clang-19 failed to build `{}` (are lld-19, libclang-rt-19-dev-wasm32 and wasi-libc \
         installed?):\n{}",
        source.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::read(&out).unwrap()
}

/// The C program as a `wasi:cli/command` component, built once per test process; `None`
/// when clang is missing (see [`have_clang`]).
fn component() -> Option<&'static [u8]> {
    static COMPONENT: OnceLock<Option<Vec<u8>>> = OnceLock::new();
    COMPONENT
        .get_or_init(|| {
            if !have_clang() {
                return None;
            }
            let core = compile("wordfreq", &[]);
            let component = wit_component::ComponentEncoder::default()
                .validate(true)
                .module(&core)
                .expect("wit-component reads the module")
                .adapter(
                    wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME,
                    wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER,
                )
                .expect("wit-component takes the command adapter")
                .encode()
                .expect("wit-component makes a component");
            Some(component)
        })
        .as_deref()
}

/// A directory holding `input.txt`, preopened as [`GUEST_DIR`].
fn data_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("input.txt"), input_text()).unwrap();
    dir
}

/// Runs `component` on wasmtime with WASI for `case`.
fn run_on_wasmtime(
    engine: &wasmtime::Engine,
    component: &Component,
    case: &Case,
    dir: &Path,
) -> Run {
    let stdout = MemoryOutputPipe::new(1 << 20);
    let stderr = MemoryOutputPipe::new(1 << 20);
    let mut wasi = WasiCtxBuilder::new();
    wasi.stdout(stdout.clone())
        .stderr(stderr.clone())
        .arg("wordfreq.wasm")
        .args(case.args)
        .envs(case.env);
    wasi.preopened_dir(dir, GUEST_DIR, FsPerms::ReadWrite)
        .expect("failed to preopen the data directory");
    let end = match run_command(engine, component, wasi.build()).expect("failed to run") {
        Outcome::Exit(code) => Ok(code),
        Outcome::Trap(err) => Err(format!("{err:#}")),
        Outcome::Returned(_) => unreachable!("`run_command` does not invoke"),
    };
    let text = |pipe: &MemoryOutputPipe| String::from_utf8_lossy(&pipe.contents()).into_owned();
    Run {
        stdout: text(&stdout),
        stderr: text(&stderr),
        end,
    }
}

/// The lowered output of `component`, re-wrapped into a component.
fn lower_and_rewrap(component: &[u8], reify: ReifyMode) -> Vec<u8> {
    let lowered = gc_lower::lower(
        component,
        &gc_lower::Options {
            reify,
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| panic!("--reify {reify:?}: failed to lower the C program: {e:?}"));
    gc_lower::rewrap(&lowered)
        .unwrap_or_else(|e| panic!("--reify {reify:?}: failed to re-wrap: {e:?}"))
}

#[test]
fn c_program_lowered_runs_like_the_original_on_wasmtime() {
    let Some(original) = component() else { return };
    let engine = common::engine();
    let dir = data_dir();
    let native = Component::new(&engine, original).expect("the original compiles");
    let expected: Vec<Run> = cases()
        .iter()
        .map(|case| run_on_wasmtime(&engine, &native, case, dir.path()))
        .collect();
    // The cases must exercise what they claim to.
    assert!(
        expected[2]
            .stdout
            .contains("greeting: HELLO FROM THE ENVIRONMENT")
    );
    assert!(expected[3].stderr.contains("missing.txt"));
    assert!(expected.iter().any(|run| run.end == Ok(0)));
    assert!(expected.iter().any(|run| run.end == Ok(1)));
    for reify in [ReifyMode::Auto, ReifyMode::All] {
        let rewrapped = lower_and_rewrap(original, reify);
        let lowered = Component::new(&engine, &rewrapped).expect("the re-wrapped output compiles");
        for (i, (case, want)) in cases().iter().zip(&expected).enumerate() {
            let got = run_on_wasmtime(&engine, &lowered, case, dir.path());
            assert_eq!(got, *want, "--reify {reify:?}, case {i} ({:?})", case.args);
        }
    }
}

/// `gc-lower run` passes arguments, environment variables and a preopened directory, and
/// exits with the guest's status: the lowered core module, the component lowered on the fly
/// (`--reify all`) and the original component print the same and exit the same way. Each
/// file is named `wordfreq.wasm` (in its own directory), the guest's first argument.
#[test]
fn gc_lower_run_runs_the_c_program_like_the_original() {
    let Some(original) = component() else { return };
    let work = tempfile::tempdir().unwrap();
    let data = data_dir();
    for (sub, bytes) in [
        ("original", original.to_vec()),
        (
            "lowered",
            gc_lower::lower(original, &gc_lower::Options::default()).expect("failed to lower"),
        ),
    ] {
        std::fs::create_dir(work.path().join(sub)).unwrap();
        std::fs::write(work.path().join(sub).join("wordfreq.wasm"), bytes).unwrap();
    }
    let dir = format!("{}::{GUEST_DIR}", data.path().display());
    for case in cases() {
        let run = |sub: &str, extra: &[&str]| {
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_gc-lower"));
            cmd.current_dir(work.path().join(sub))
                .arg("run")
                .args(extra)
                .args(["--dir", &dir]);
            for (name, value) in case.env {
                cmd.arg("--env").arg(format!("{name}={value}"));
            }
            let output = cmd
                .arg("wordfreq.wasm")
                .args(case.args)
                .output()
                .expect("failed to run `gc-lower run`");
            Run {
                stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
                end: output
                    .status
                    .code()
                    .ok_or_else(|| "killed by a signal".to_string()),
            }
        };
        let native = run("original", &[]);
        assert!(
            native.stdout.starts_with("program: wordfreq.wasm,"),
            "{native:?}"
        );
        assert_eq!(
            run("lowered", &[]),
            native,
            "lowered core module, {:?}",
            case.args
        );
        assert_eq!(
            run("original", &["--reify", "all"]),
            native,
            "--reify all, {:?}",
            case.args
        );
    }
}

/// Runs the transpiled component `c/component.js` as a command: arguments, environment and
/// preopens from the JSON in `process.argv[3]`, through the shim's setters.
const RUN_MJS: &str = r#"
import { cli, filesystem } from '@bytecodealliance/preview2-shim';
const setup = JSON.parse(process.argv[3]);
cli._setArgs(setup.args);
cli._setEnv(setup.env);
filesystem._setPreopens(setup.preopens);
const m = await import(process.argv[2]);
m.run.run();
"#;

/// Transpiles `component` with jco into a directory under `tests/node` (so that its imports
/// of `@bytecodealliance/preview2-shim` resolve) and runs every case with Node.
fn run_on_v8(component: &[u8], dir: &Path) -> Vec<Run> {
    let (node, jco) = common::node_tools();
    let work = tempfile::Builder::new()
        .prefix(".tmp-c-wasi")
        .tempdir_in(common::repo_root().join("tests/node"))
        .unwrap();
    let path = |name: &str| work.path().join(name);
    std::fs::write(path("run.mjs"), RUN_MJS).unwrap();
    std::fs::write(path("package.json"), r#"{"type":"module"}"#).unwrap();
    std::fs::write(path("c.wasm"), component).unwrap();
    let output = Command::new(&node)
        .arg(&jco)
        .arg("transpile")
        .arg(path("c.wasm"))
        .args([
            "--name",
            "component",
            "--no-typescript",
            "--quiet",
            "--multi-memory",
            "-o",
        ])
        .arg(path("c"))
        .output()
        .expect("failed to run jco");
    assert!(
        output.status.success(),
        "jco transpile: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    cases()
        .iter()
        .map(|case| {
            let mut args = vec!["wordfreq.wasm"];
            args.extend(case.args);
            let env: serde_json::Map<_, _> = case
                .env
                .iter()
                .map(|(k, v)| (k.to_string(), serde_json::Value::from(*v)))
                .collect();
            let setup = serde_json::json!({
                "args": args,
                "env": env,
                "preopens": { GUEST_DIR: dir.to_str().unwrap() },
            });
            let output = Command::new(&node)
                .arg(path("run.mjs"))
                .arg(path("c/component.js"))
                .arg(setup.to_string())
                .output()
                .expect("failed to run node");
            Run {
                stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
                end: output
                    .status
                    .code()
                    .ok_or_else(|| "killed by a signal".to_string()),
            }
        })
        .collect()
}

#[test]
fn c_program_lowered_runs_like_the_original_on_v8() {
    let Some(original) = component() else { return };
    let dir = data_dir();
    let expected = run_on_v8(original, dir.path());
    assert!(
        expected[2]
            .stdout
            .contains("greeting: HELLO FROM THE ENVIRONMENT")
    );
    assert!(expected.iter().any(|run| run.end == Ok(1)));
    for reify in [ReifyMode::Auto, ReifyMode::All] {
        let rewrapped = lower_and_rewrap(original, reify);
        let got = run_on_v8(&rewrapped, dir.path());
        for (i, (got, want)) in got.iter().zip(&expected).enumerate() {
            assert_eq!(got, want, "--reify {reify:?} on V8, case {i}");
        }
    }
}

/// Two C library components composed: `tests/c/shout.c` (upper-cases a string, tagged with
/// its instance's call count) instantiated twice, feeding the imports `demo:text/left` and
/// `demo:text/right` of `tests/c/greeter.c`, whose `demo:text/greeter` the composition
/// exports. Each core module is made a component with its world from `tests/c/text.wit`
/// (the canonical ABI is written by hand in the C sources, as wit-bindgen would generate it).
fn composed() -> Option<&'static [u8]> {
    static COMPOSED: OnceLock<Option<Vec<u8>>> = OnceLock::new();
    COMPOSED
        .get_or_init(|| {
            if !have_clang() {
                return None;
            }
            let mut resolve = wit_parser::Resolve::default();
            let package = resolve
                .push_path(common::repo_root().join("tests/c/text.wit"))
                .expect("tests/c/text.wit parses")
                .0;
            let library = |name: &str, world: &str| {
                let mut core = compile(name, &["-nostartfiles", "-Wl,--no-entry"]);
                let world = resolve.select_world(&[package], Some(world)).unwrap();
                wit_component::embed_component_metadata(
                    &mut core,
                    &resolve,
                    world,
                    wit_component::StringEncoding::UTF8,
                )
                .unwrap();
                wit_component::ComponentEncoder::default()
                    .validate(true)
                    .module(&core)
                    .and_then(|mut encoder| encoder.encode())
                    .unwrap_or_else(|e| panic!("`{name}` does not make a component: {e:?}"))
            };
            let shout = library("shout", "shouter");
            let greeter = library("greeter", "greeting");
            Some(compose(&shout, &greeter))
        })
        .as_deref()
}

/// `(component (component $shout) (component $greeter) two instances of $shout, one of
/// $greeter importing their `demo:text/transform` as `left` and `right`, and the export of
/// its `demo:text/greeter`)`, encoded with wasm-encoder (wat cannot nest binary components).
fn compose(shout: &[u8], greeter: &[u8]) -> Vec<u8> {
    use wasm_encoder::{
        Alias, ComponentAliasSection, ComponentExportKind, ComponentExportSection,
        ComponentInstanceSection, ComponentSectionId, RawSection,
    };
    const TRANSFORM: &str = "demo:text/transform";
    const GREETER: &str = "demo:text/greeter";
    let mut c = wasm_encoder::Component::new();
    for nested in [shout, greeter] {
        c.section(&RawSection {
            id: ComponentSectionId::Component.into(),
            data: nested,
        });
    }
    // Instances 0 and 1: $shout twice.
    let mut instances = ComponentInstanceSection::new();
    instances.instantiate(0, Vec::<(&str, ComponentExportKind, u32)>::new());
    instances.instantiate(0, Vec::<(&str, ComponentExportKind, u32)>::new());
    c.section(&instances);
    // Instances 2 and 3: their `demo:text/transform`.
    let mut aliases = ComponentAliasSection::new();
    for instance in [0, 1] {
        aliases.alias(Alias::InstanceExport {
            instance,
            kind: ComponentExportKind::Instance,
            name: TRANSFORM,
        });
    }
    c.section(&aliases);
    // Instance 4: $greeter.
    let mut instances = ComponentInstanceSection::new();
    instances.instantiate(
        1,
        [
            ("demo:text/left", ComponentExportKind::Instance, 2),
            ("demo:text/right", ComponentExportKind::Instance, 3),
        ],
    );
    c.section(&instances);
    // Instance 5: its `demo:text/greeter`, exported.
    let mut aliases = ComponentAliasSection::new();
    aliases.alias(Alias::InstanceExport {
        instance: 4,
        kind: ComponentExportKind::Instance,
        name: GREETER,
    });
    c.section(&aliases);
    let mut exports = ComponentExportSection::new();
    exports.export(GREETER, ComponentExportKind::Instance, 5, None);
    c.section(&exports);
    c.finish()
}

/// The strings `run` gets, in order, in one instance: short, empty, non-ASCII, long.
fn greeter_inputs() -> Vec<String> {
    vec![
        "hello".to_string(),
        String::new(),
        "wörld ✓".to_string(),
        "abc ".repeat(50_000),
        "x".to_string(),
    ]
}

/// Calls `demo:text/greeter#run` of `component` with each of [`greeter_inputs`], in one
/// instance, on wasmtime.
fn run_greeter(engine: &wasmtime::Engine, component: &[u8]) -> Vec<String> {
    let component = Component::new(engine, component).expect("the component compiles");
    let mut store = wasmtime::Store::new(engine, ());
    let instance = wasmtime::component::Linker::new(engine)
        .instantiate(&mut store, &component)
        .expect("the component instantiates");
    let greeter = instance
        .get_export_index(&mut store, None, "demo:text/greeter")
        .expect("the component exports `demo:text/greeter`");
    let run = instance
        .get_export_index(&mut store, Some(&greeter), "run")
        .expect("`demo:text/greeter` exports `run`");
    let run = instance
        .get_typed_func::<(&str,), (String,)>(&mut store, &run)
        .expect("`run` takes and returns a string");
    greeter_inputs()
        .iter()
        .map(|input| run.call(&mut store, (input,)).expect("`run` succeeds").0)
        .collect()
}

#[test]
fn composed_c_components_lowered_run_like_the_original_on_wasmtime() {
    let Some(original) = composed() else { return };
    let engine = common::engine();
    let native = run_greeter(&engine, original);
    // Each instance of shout.c counts its own calls: `left` twice per call, `right` once.
    assert!(
        native[0].starts_with("[1] HELLO! | [2] HELLO?! | [1] HELLO!"),
        "{native:?}"
    );
    for reify in [ReifyMode::Auto, ReifyMode::All] {
        let got = run_greeter(&engine, &lower_and_rewrap(original, reify));
        assert!(got == native, "--reify {reify:?}: results differ");
    }
}

/// Calls `greeter.run` of the transpiled component with the strings of [`greeter_inputs`].
const GREETER_MJS: &str = r#"
const m = await import(process.argv[2]);
const inputs = ['hello', '', 'wörld ✓', 'abc '.repeat(50000), 'x'];
console.log(JSON.stringify(inputs.map((s) => m.greeter.run(s))));
"#;

#[test]
fn composed_c_components_lowered_run_like_the_original_on_v8() {
    let Some(original) = composed() else { return };
    let native = run_greeter(&common::engine(), original);
    for reify in [ReifyMode::Auto, ReifyMode::All] {
        let seen = common::run_on_v8(&lower_and_rewrap(original, reify), &[], GREETER_MJS);
        let got: Vec<String> = serde_json::from_value(seen).unwrap();
        assert!(got == native, "--reify {reify:?} on V8: results differ");
    }
}
