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
//! - `tests/c/pipe_source.c` and `tests/c/pipe_sink.c`, async components in the callback form
//!   whose bindings wit-bindgen's C generator makes from `tests/c/pipe.wit` (as
//!   `wit-bindgen c` would), composed with a `stream<u8>` between them: the sink's async
//!   export calls the source's through an async lower and reads what the source writes after
//!   returning the stream. The lowered output must return what the original returns on
//!   wasmtime (run there with wasmtime's async support), on wasmtime and on V8.
//! - `tests/c/upper.c`, a WASI 0.3 command whose bindings come from
//!   `tests/c/wasi-0.3/upper.wit`: its async `run` reads standard input from a stream the
//!   host passes in and writes standard output and error to streams it passes to the host.
//!   Lowered in both reify modes, it prints and exits as the original does on wasmtime-wasi's
//!   WASI 0.3, in the test and through `gc-lower run` with piped standard input.
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
    compile_sources(name, &[source], flags)
}

/// Compiles and links `sources` (C files and objects) with clang-19 against wasi-libc, with
/// `flags` added, and returns the core module; `name` names it in errors.
fn compile_sources(name: &str, sources: &[std::path::PathBuf], flags: &[&str]) -> Vec<u8> {
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
        .args(sources)
        .arg("-o")
        .arg(&out)
        .output()
        .expect("failed to run clang-19");
    assert!(
        output.status.success(),
        "clang-19 failed to build `{name}` (are lld-19, libclang-rt-19-dev-wasm32 and wasi-libc \
         installed?):\n{}",
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
    let mut wasi = WasiCtxBuilder::new();
    wasi.arg("wordfreq.wasm").args(case.args).envs(case.env);
    wasi.preopened_dir(dir, GUEST_DIR, FsPerms::ReadWrite)
        .expect("failed to preopen the data directory");
    run_captured(engine, component, wasi)
}

/// Runs `component` as a command ([`run_command`]) with `wasi`, standard output and error
/// captured (up to 4 MiB and 1 MiB).
fn run_captured(engine: &wasmtime::Engine, component: &Component, mut wasi: WasiCtxBuilder) -> Run {
    let stdout = MemoryOutputPipe::new(4 << 20);
    let stderr = MemoryOutputPipe::new(1 << 20);
    wasi.stdout(stdout.clone()).stderr(stderr.clone());
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
                library_component(name, &core)
            };
            let shout = library("shout", "shouter");
            let greeter = library("greeter", "greeting");
            Some(compose(&shout, &greeter))
        })
        .as_deref()
}

/// The component wit-component makes of `core`, a library module carrying its world; `name`
/// names it in errors.
fn library_component(name: &str, core: &[u8]) -> Vec<u8> {
    wit_component::ComponentEncoder::default()
        .validate(true)
        .module(core)
        .and_then(|mut encoder| encoder.encode())
        .unwrap_or_else(|e| panic!("`{name}` does not make a component: {e:?}"))
}

/// `(component (component $shout) (component $greeter) two instances of $shout, one of
/// $greeter importing their `demo:text/transform` as `left` and `right`, and the export of
/// its `demo:text/greeter`)`.
fn compose(shout: &[u8], greeter: &[u8]) -> Vec<u8> {
    const TRANSFORM: &str = "demo:text/transform";
    const GREETER: &str = "demo:text/greeter";
    let mut c = Composition::new(&[shout, greeter]);
    // Instances 0 and 1: $shout twice; 2 and 3: their `demo:text/transform`.
    c.instantiate(0, &[]);
    c.instantiate(0, &[]);
    c.alias_instance(0, TRANSFORM);
    c.alias_instance(1, TRANSFORM);
    // Instance 4: $greeter; 5: its `demo:text/greeter`, exported.
    c.instantiate(1, &[("demo:text/left", 2), ("demo:text/right", 3)]);
    c.alias_instance(4, GREETER);
    c.export_instance(GREETER, 5)
}

/// A component nesting binary components and wiring their instances, encoded with
/// wasm-encoder (wat cannot nest binary components). Instances are numbered in the order they
/// are made, by instantiation or alias.
struct Composition(wasm_encoder::Component);

impl Composition {
    /// Nests `components`, numbered from 0 in order.
    fn new(components: &[&[u8]]) -> Self {
        let mut c = wasm_encoder::Component::new();
        for nested in components {
            c.section(&wasm_encoder::RawSection {
                id: wasm_encoder::ComponentSectionId::Component.into(),
                data: nested,
            });
        }
        Composition(c)
    }

    /// An instance of nested component `component`, its imports given by `args` (name and
    /// instance index).
    fn instantiate(&mut self, component: u32, args: &[(&str, u32)]) {
        let mut instances = wasm_encoder::ComponentInstanceSection::new();
        instances.instantiate(
            component,
            args.iter()
                .map(|&(name, i)| (name, wasm_encoder::ComponentExportKind::Instance, i)),
        );
        self.0.section(&instances);
    }

    /// An instance aliasing the instance that instance `instance` exports as `name`.
    fn alias_instance(&mut self, instance: u32, name: &str) {
        let mut aliases = wasm_encoder::ComponentAliasSection::new();
        aliases.alias(wasm_encoder::Alias::InstanceExport {
            instance,
            kind: wasm_encoder::ComponentExportKind::Instance,
            name,
        });
        self.0.section(&aliases);
    }

    /// The component's binary, exporting instance `instance` as `name`.
    fn export_instance(mut self, name: &str, instance: u32) -> Vec<u8> {
        let mut exports = wasm_encoder::ComponentExportSection::new();
        exports.export(
            name,
            wasm_encoder::ComponentExportKind::Instance,
            instance,
            None,
        );
        self.0.section(&exports);
        self.0.finish()
    }
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

/// Two async C components with a stream between them, their bindings generated by
/// wit-bindgen's C generator (`wit-bindgen-c`, async callback form) from `tests/c/pipe.wit`:
/// `tests/c/pipe_source.c` returns a stream from its async export and writes it after
/// `task.return`; `tests/c/pipe_sink.c`, composed to import it, calls it through an async
/// lower and reads the stream, and the composition exports its async `demo:pipe/sink`.
fn pipe() -> Option<&'static [u8]> {
    static PIPE: OnceLock<Option<Vec<u8>>> = OnceLock::new();
    PIPE.get_or_init(|| {
        if !have_clang() {
            return None;
        }
        let wit = common::repo_root().join("tests/c/pipe.wit");
        let library = |name: &str, world: &str| bindgen_component(&wit, world, name);
        let source = library("pipe_source", "source-world");
        let sink = library("pipe_sink", "sink-world");
        Some(compose_pipe(&source, &sink))
    })
    .as_deref()
}

/// `tests/c/NAME.c` compiled as a library (no `main`) with the C bindings that wit-bindgen's
/// C generator (as `wit-bindgen c` would) makes for `world` of the WIT package at `wit` (a
/// file, or a directory with its dependencies in `deps/`), and made a component by
/// wit-component (with no WASI preview 1 adapter: the program imports only its world).
fn bindgen_component(wit: &Path, world: &str, name: &str) -> Vec<u8> {
    let mut resolve = wit_parser::Resolve::default();
    let package = resolve
        .push_path(wit)
        .unwrap_or_else(|e| panic!("`{}` does not parse: {e:?}", wit.display()))
        .0;
    let world = resolve.select_world(&[package], Some(world)).unwrap();
    let mut files = wit_bindgen_core::Files::default();
    wit_bindgen_c::Opts::default()
        .build()
        .generate(&mut resolve, world, &mut files)
        .unwrap_or_else(|e| panic!("wit-bindgen-c fails on `{name}`: {e:?}"));
    let dir = tempfile::tempdir().unwrap();
    let mut sources = vec![common::repo_root().join(format!("tests/c/{name}.c"))];
    for (file, text) in files.iter() {
        std::fs::write(dir.path().join(file), text).unwrap();
        if !file.ends_with(".h") {
            sources.push(dir.path().join(file));
        }
    }
    let include = format!("-I{}", dir.path().display());
    let core = compile_sources(
        name,
        &sources,
        &["-nostartfiles", "-Wl,--no-entry", &include],
    );
    library_component(name, &core)
}

/// `(component (component $source) (component $sink) an instance of $source, one of $sink
/// importing its `demo:pipe/source`, and the export of the sink's `demo:pipe/sink`)`.
fn compose_pipe(source: &[u8], sink: &[u8]) -> Vec<u8> {
    const SOURCE: &str = "demo:pipe/source";
    const SINK: &str = "demo:pipe/sink";
    let mut c = Composition::new(&[source, sink]);
    // Instance 0: $source; 1: its `demo:pipe/source`; 2: $sink; 3: its `demo:pipe/sink`.
    c.instantiate(0, &[]);
    c.alias_instance(0, SOURCE);
    c.instantiate(1, &[(SOURCE, 1)]);
    c.alias_instance(2, SINK);
    c.export_instance(SINK, 3)
}

/// The `(n, chunk)` arguments of `consume`, in order, in one instance: an empty stream, one
/// byte, reads and writes of different sizes that split each other, single bytes, and 1 MiB
/// in 4 KiB writes; odd lengths go through a subtask (the producer yields first).
const PIPE_CASES: [(u32, u32); 7] = [
    (0, 16),
    (1, 1),
    (1000, 7),
    (1001, 7),
    (3000, 1),
    (70_000, 1000),
    (1 << 20, 4096),
];

/// What `consume(n, _)` returns when it reads the bytes `pipe_source.c` writes: `n << 40`,
/// or the low 40 bits of their 64-bit FNV-1a hash (`tests/c/pipe.wit`).
fn expected_consume(n: u32) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for i in 0..n {
        let byte = i.wrapping_mul(31).wrapping_add(i >> 8).wrapping_add(n) as u8;
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3);
    }
    u64::from(n) << 40 | (hash & 0xff_ffff_ffff)
}

/// The `(n, chunk)` arguments of `cancel-produce`, after [`PIPE_CASES`]: odd lengths cancel
/// the producer before it returns, an even one returns first.
const CANCEL_CASES: [(u32, u32); 3] = [(1, 1), (2, 1), (7, 3)];

/// Calls `demo:pipe/sink#consume` of `component` with each of [`PIPE_CASES`], then
/// `cancel-produce` with each of [`CANCEL_CASES`], in one instance, on wasmtime with its
/// async support (`async` function types need it, also in the re-wrapped output, whose
/// export is a synchronous lift), through `call_async`.
fn run_pipe(component: &[u8]) -> Vec<u64> {
    use futures::executor::block_on;
    let engine =
        wasmtime::Engine::new(&gc_lower::run::async_config()).expect("failed to create the engine");
    let component = Component::new(&engine, component).expect("the component compiles");
    let mut store = wasmtime::Store::new(&engine, ());
    let instance = block_on(
        wasmtime::component::Linker::new(&engine).instantiate_async(&mut store, &component),
    )
    .expect("the component instantiates");
    let sink = instance
        .get_export_index(&mut store, None, "demo:pipe/sink")
        .expect("the component exports `demo:pipe/sink`");
    let consume = instance
        .get_export_index(&mut store, Some(&sink), "consume")
        .expect("`demo:pipe/sink` exports `consume`");
    let consume = instance
        .get_typed_func::<(u32, u32), (u64,)>(&mut store, &consume)
        .expect("`consume` takes two u32 and returns a u64");
    let cancel = instance
        .get_export_index(&mut store, Some(&sink), "cancel-produce")
        .expect("`demo:pipe/sink` exports `cancel-produce`");
    let cancel = instance
        .get_typed_func::<(u32, u32), (u32,)>(&mut store, &cancel)
        .expect("`cancel-produce` takes two u32 and returns a u32");
    let mut results: Vec<u64> = PIPE_CASES
        .iter()
        .map(|&args| {
            block_on(consume.call_async(&mut store, args))
                .unwrap_or_else(|e| panic!("`consume{args:?}` fails: {e:?}"))
                .0
        })
        .collect();
    for args in CANCEL_CASES {
        let state = block_on(cancel.call_async(&mut store, args))
            .unwrap_or_else(|e| panic!("`cancel-produce{args:?}` fails: {e:?}"))
            .0;
        results.push(u64::from(state));
    }
    results
}

#[test]
fn async_c_components_with_a_stream_lowered_run_like_the_original_on_wasmtime() {
    let Some(original) = pipe() else { return };
    let native = run_pipe(original);
    // The sink read every byte the source wrote, in order; the producer was cancelled
    // before it returned for odd lengths (4, `CANCELLED_BEFORE_RETURNED`), and returned for
    // even ones.
    for (&(n, _), &result) in PIPE_CASES.iter().zip(&native) {
        assert_eq!(result, expected_consume(n), "n = {n}: {native:x?}");
    }
    for (&(n, _), &state) in CANCEL_CASES.iter().zip(&native[PIPE_CASES.len()..]) {
        assert_eq!(state, if n % 2 == 1 { 4 } else { 2 }, "{native:x?}");
    }
    for reify in [ReifyMode::Auto, ReifyMode::All] {
        let got = run_pipe(&lower_and_rewrap(original, reify));
        assert!(
            got == native,
            "--reify {reify:?}: {got:x?}, natively {native:x?}"
        );
    }
}

/// A script that calls `sink.consume` of the transpiled component with [`PIPE_CASES`] and
/// `sink.cancelProduce` with [`CANCEL_CASES`], and prints the results as decimal strings
/// (JSON has no 64-bit integers); jco binds an `async` function type as a JavaScript async
/// function.
fn pipe_mjs() -> String {
    let cases = serde_json::to_string(&PIPE_CASES).unwrap();
    let cancels = serde_json::to_string(&CANCEL_CASES).unwrap();
    format!(
        "const m = await import(process.argv[2]);\n\
         const results = [];\n\
         for (const [n, chunk] of {cases}) results.push(String(await m.sink.consume(n, chunk)));\n\
         for (const [n, chunk] of {cancels})\n\
           results.push(String(await m.sink.cancelProduce(n, chunk)));\n\
         console.log(JSON.stringify(results));\n"
    )
}

#[test]
fn async_c_components_with_a_stream_lowered_run_like_the_original_on_v8() {
    let Some(original) = pipe() else { return };
    let native: Vec<String> = run_pipe(original).iter().map(u64::to_string).collect();
    for reify in [ReifyMode::Auto, ReifyMode::All] {
        let seen = common::run_on_v8(&lower_and_rewrap(original, reify), &[], &pipe_mjs());
        let got: Vec<String> = serde_json::from_value(seen).unwrap();
        assert!(
            got == native,
            "--reify {reify:?} on V8: {got:?}, natively {native:?}"
        );
    }
}

/// `tests/c/upper.c`, a WASI 0.3 command (`tests/c/wasi-0.3/upper.wit`): its standard input,
/// output and error are streams passed to and from the host, each with a future result.
fn upper() -> Option<&'static [u8]> {
    static UPPER: OnceLock<Option<Vec<u8>>> = OnceLock::new();
    UPPER
        .get_or_init(|| {
            have_clang().then(|| {
                let wit = common::repo_root().join("tests/c/wasi-0.3");
                bindgen_component(&wit, "upper", "upper")
            })
        })
        .as_deref()
}

/// The runs of `upper`: arguments and standard input. Empty input; a line; 100 000 bytes
/// (many reads of 4 KiB, and writes the host takes in parts) with `--fail`, which makes
/// `run` return an error after copying; 1 MiB.
fn upper_cases() -> Vec<(Vec<&'static str>, Vec<u8>)> {
    let text = input_text().into_bytes();
    let cycle = |n: usize| text.iter().copied().cycle().take(n).collect::<Vec<u8>>();
    vec![
        (vec![], vec![]),
        (vec!["one", "two words"], b"hello, world\n".to_vec()),
        (vec!["--fail"], cycle(100_000)),
        (vec!["big"], cycle(1 << 20)),
    ]
}

/// Runs `component` as a WASI 0.3 command through [`run_command`] (wasmtime-wasi's WASI 0.3,
/// on an engine with wasmtime's async support) with `args` after its name and `stdin`.
fn run_upper(component: &[u8], args: &[&str], stdin: &[u8]) -> Run {
    let engine =
        wasmtime::Engine::new(&gc_lower::run::async_config()).expect("failed to create the engine");
    let component = Component::new(&engine, component).expect("the component compiles");
    let mut wasi = WasiCtxBuilder::new();
    wasi.stdin(wasmtime_wasi::p2::pipe::MemoryInputPipe::new(
        stdin.to_vec(),
    ))
    .arg("upper.wasm")
    .args(args);
    run_captured(&engine, &component, wasi)
}

#[test]
fn wasi_0_3_program_lowered_runs_like_the_original_on_wasmtime() {
    let Some(original) = upper() else { return };
    for (args, stdin) in upper_cases() {
        let native = run_upper(original, &args, &stdin);
        // The case exercises what it claims to: every byte went through, upper-cased.
        let copied = String::from_utf8_lossy(&stdin).to_ascii_uppercase();
        assert_eq!(
            native.stdout,
            format!(
                "args:{}\n{copied}",
                args.iter().map(|a| format!(" {a}")).collect::<String>()
            ),
            "{args:?}"
        );
        assert_eq!(native.stderr, format!("upper: {} bytes\n", stdin.len()));
        assert_eq!(native.end, Ok(i32::from(args.contains(&"--fail"))));
        for reify in [ReifyMode::Auto, ReifyMode::All] {
            let got = run_upper(&lower_and_rewrap(original, reify), &args, &stdin);
            assert!(
                got == native,
                "--reify {reify:?}, {args:?}: {:?}, {} bytes out; natively {:?}, {} bytes",
                got.end,
                got.stdout.len(),
                native.end,
                native.stdout.len()
            );
        }
    }
}

/// `gc-lower run` runs a WASI 0.3 command with the process's standard input, output and
/// error (Tokio's, in wasmtime-wasi) and its exit status: the lowered core module and the
/// component lowered on the fly (`--reify all`) print and exit as the original does.
#[test]
fn gc_lower_run_runs_the_wasi_0_3_program_like_the_original() {
    use std::io::Write as _;
    let Some(original) = upper() else { return };
    let work = tempfile::tempdir().unwrap();
    let lowered = gc_lower::lower(original, &gc_lower::Options::default()).unwrap();
    std::fs::write(work.path().join("upper.wasm"), original).unwrap();
    std::fs::write(work.path().join("upper.lowered.wasm"), lowered).unwrap();
    for (args, stdin) in upper_cases() {
        let run = |file: &str, extra: &[&str]| {
            let mut child = Command::new(env!("CARGO_BIN_EXE_gc-lower"))
                .current_dir(work.path())
                .arg("run")
                .args(extra)
                .arg(file)
                .args(&args)
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("failed to run `gc-lower run`");
            let mut input = child.stdin.take().unwrap();
            let bytes = stdin.clone();
            let writer = std::thread::spawn(move || input.write_all(&bytes));
            let output = child.wait_with_output().unwrap();
            writer
                .join()
                .unwrap()
                .expect("failed to write standard input");
            (
                String::from_utf8_lossy(&output.stdout).into_owned(),
                String::from_utf8_lossy(&output.stderr).into_owned(),
                output.status.code(),
            )
        };
        let native = run("upper.wasm", &[]);
        assert!(native.0.starts_with("args:"), "{args:?}: {native:?}");
        assert_eq!(
            native.0.len(),
            stdin.len() + 6 + args.iter().map(|a| a.len() + 1).sum::<usize>()
        );
        assert_eq!(run("upper.lowered.wasm", &[]), native, "lowered, {args:?}");
        assert_eq!(
            run("upper.wasm", &["--reify", "all"]),
            native,
            "--reify all, {args:?}"
        );
    }
}
