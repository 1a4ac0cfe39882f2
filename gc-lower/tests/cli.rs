//! The `gc-lower` command line: help, output formats and destinations, and the errors for
//! inputs it cannot lower (which must leave no output file behind).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use wasmtime_environ::wasmparser::{Validator, WasmFeatures};

const EXAMPLE: &str = "examples/two-counters.wat";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the gc-lower crate lives in the workspace root")
        .to_path_buf()
}

/// `gc-lower ARGS...`, run in the workspace root.
fn gc_lower(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gc-lower"));
    cmd.args(args).current_dir(repo_root());
    cmd
}

fn run(args: &[&str]) -> Output {
    gc_lower(args).output().expect("failed to run `gc-lower`")
}

/// Runs `gc-lower ARGS...` with `input` on standard input.
fn run_with_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = gc_lower(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("failed to run `gc-lower`");
    child
        .stdin
        .take()
        .expect("standard input is piped")
        .write_all(input)
        .expect("failed to write `gc-lower`'s standard input");
    child
        .wait_with_output()
        .expect("failed to wait for `gc-lower`")
}

fn assert_success(output: &Output) {
    assert!(
        output.status.success(),
        "`gc-lower` exited with {}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Validates a lowered module with the features the output may use (Wasm GC included).
fn validate(module: &[u8]) {
    let features = WasmFeatures::default() | WasmFeatures::GC;
    if let Err(e) = Validator::new_with_features(features).validate_all(module) {
        panic!("the lowered module does not validate: {e}");
    }
    assert!(
        module.starts_with(b"\0asm\x01\0\0\0"),
        "the output is not a core module"
    );
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}

#[test]
fn help_mentions_vmctx() {
    let output = run(&["--help"]);
    assert_success(&output);
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(
        help.contains("vmctx"),
        "`--help` does not mention the vmctx:\n{help}"
    );
}

#[test]
fn lowers_example_to_file() {
    let dir = tempfile::tempdir().expect("failed to create a temporary directory");
    let out = dir.path().join("out.wasm");
    let output = run(&[EXAMPLE, "-o", path_str(&out)]);
    assert_success(&output);
    assert!(
        output.stdout.is_empty(),
        "`-o` must not write standard output"
    );
    let module = std::fs::read(&out).expect("failed to read the output file");
    validate(&module);
}

#[test]
fn lowers_example_with_reify_all() {
    let dir = tempfile::tempdir().expect("failed to create a temporary directory");
    let out = dir.path().join("out.wasm");
    let output = run(&[EXAMPLE, "--reify", "all", "-o", path_str(&out)]);
    assert_success(&output);
    validate(&std::fs::read(&out).expect("failed to read the output file"));
}

#[test]
fn writes_text_with_t() {
    let dir = tempfile::tempdir().expect("failed to create a temporary directory");
    let out = dir.path().join("out.wat");
    let output = run(&[EXAMPLE, "-t", "-o", path_str(&out)]);
    assert_success(&output);
    let text = std::fs::read_to_string(&out).expect("the text output is not UTF-8");
    assert!(
        text.starts_with("(module"),
        "the text output starts with `{}`",
        text.chars().take(40).collect::<String>()
    );
    let module = wat::parse_str(&text).expect("the text output does not parse");
    validate(&module);
}

#[test]
fn reads_stdin_and_writes_stdout() {
    let source = std::fs::read(repo_root().join(EXAMPLE)).expect("failed to read the example");
    let piped = run_with_stdin(&["-", "-o", "-"], &source);
    assert_success(&piped);
    validate(&piped.stdout);

    // Without `-o`, the module goes to standard output too.
    let default_out = run_with_stdin(&["-"], &source);
    assert_success(&default_out);
    assert_eq!(
        piped.stdout, default_out.stdout,
        "`-o -` and no `-o` differ"
    );

    // The same bytes as from the file: the lowering is deterministic.
    let from_file = run(&[EXAMPLE]);
    assert_success(&from_file);
    assert_eq!(
        piped.stdout, from_file.stdout,
        "lowering from stdin and from a file differ"
    );
}

#[test]
fn binary_and_text_input_agree() {
    let dir = tempfile::tempdir().expect("failed to create a temporary directory");
    let binary = wat::parse_file(repo_root().join(EXAMPLE)).expect("the example does not parse");
    let input = dir.path().join("two-counters.wasm");
    std::fs::write(&input, binary).expect("failed to write the binary component");
    let from_binary = run(&[path_str(&input)]);
    assert_success(&from_binary);
    let from_text = run(&[EXAMPLE]);
    assert_success(&from_text);
    assert_eq!(
        from_binary.stdout, from_text.stdout,
        "binary and text input lower differently"
    );
}

/// Lowers `source` to `out.wasm` and checks that gc-lower fails with status 1, prints an
/// error that contains each of `needles` (case-insensitively), and writes no file.
fn assert_rejected(file_name: &str, source: &[u8], needles: &[&str]) {
    let dir = tempfile::tempdir().expect("failed to create a temporary directory");
    let input = dir.path().join(file_name);
    std::fs::write(&input, source).expect("failed to write the input");
    let out = dir.path().join("out.wasm");
    let output = run(&[path_str(&input), "-o", path_str(&out)]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(1),
        "`gc-lower {file_name}`: stderr:\n{stderr}"
    );
    assert!(
        stderr.starts_with("error"),
        "no error message for `{file_name}`:\n{stderr}"
    );
    for needle in needles {
        assert!(
            stderr.to_lowercase().contains(&needle.to_lowercase()),
            "the error for `{file_name}` does not mention `{needle}`:\n{stderr}"
        );
    }
    assert!(
        !out.exists(),
        "`{}` was written despite the error",
        out.display()
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("failed to read the temporary directory")
        .map(|entry| entry.expect("failed to read a directory entry").file_name())
        .filter(|name| name != file_name)
        .collect();
    assert!(leftovers.is_empty(), "files left behind: {leftovers:?}");
}

#[test]
fn rejects_malformed_input() {
    assert_rejected(
        "broken.wat",
        b"(component (core module (func (result i32)",
        &["broken.wat"],
    );
    assert_rejected(
        "garbage.wasm",
        b"\0asm\x0d\0\x01\0\xff\xff",
        &["garbage.wasm"],
    );
}

#[test]
fn rejects_invalid_component() {
    let source = br#"
        (component
          (core module $M (func (export "f") (result i32) (i64.const 1)))
          (core instance (instantiate $M)))
    "#;
    assert_rejected("invalid.wat", source, &["invalid.wat", "type mismatch"]);
}

/// Every component in `tests/invalid` has a function body that wasmparser rejects; its
/// `;; expect:` line holds the validator's message. The default lowering and `gc-lower graph`
/// reject it with that message and the module and function it is in, before any lowering,
/// and write nothing.
#[test]
fn rejects_invalid_function_bodies() {
    let dir = repo_root().join("tests/invalid");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("failed to read `tests/invalid`")
        .map(|entry| entry.expect("failed to read a directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "wat"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "too few invalid inputs: {files:?}");
    for path in files {
        let source = std::fs::read_to_string(&path).expect("failed to read an invalid input");
        let expected = source
            .lines()
            .find_map(|line| line.strip_prefix(";; expect: "))
            .unwrap_or_else(|| panic!("`{}` has no `;; expect:` line", path.display()));
        let file_name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("UTF-8 name");
        let needles = [
            file_name,
            expected,
            "invalid core module",
            "function",
            "at offset",
        ];
        assert_rejected(file_name, source.as_bytes(), &needles);
        assert_graph_rejected(file_name, source.as_bytes(), &needles);
    }
}

/// Like [`assert_rejected`], for `gc-lower graph`: no output directory is created.
fn assert_graph_rejected(file_name: &str, source: &[u8], needles: &[&str]) {
    let dir = tempfile::tempdir().expect("failed to create a temporary directory");
    let input = dir.path().join(file_name);
    std::fs::write(&input, source).expect("failed to write the input");
    let out = dir.path().join("graph");
    let output = run(&["graph", path_str(&input), "-o", path_str(&out)]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(1),
        "`gc-lower graph {file_name}`: stderr:\n{stderr}"
    );
    for needle in needles {
        assert!(
            stderr.to_lowercase().contains(&needle.to_lowercase()),
            "the error of `gc-lower graph {file_name}` does not mention `{needle}`:\n{stderr}"
        );
    }
    assert!(
        !out.exists(),
        "`gc-lower graph {file_name}` created its output"
    );
}

#[test]
fn rejects_shared_memory() {
    let source = br#"
        (component
          (core module $M
            (memory 1 1 shared)
            (func (export "f") (result i32) (i32.load (i32.const 0))))
          (core instance $m (instantiate $M))
          (func (export "f") (result u32) (canon lift (core func $m "f"))))
    "#;
    assert_rejected("threads.wat", source, &["threads.wat", "shared memor"]);
}

#[test]
fn rejects_memory64() {
    let source = br#"
        (component
          (core module $M (memory i64 1))
          (core instance $m (instantiate $M)))
    "#;
    assert_rejected("memory64.wat", source, &["memory64.wat", "64-bit memories"]);
}

/// Tags of reified modules are supported (`tests/tags.wast`), but not instances of one module
/// importing tags defined by different modules.
#[test]
fn rejects_mixed_tag_imports_in_reified_modules() {
    let mixed = br#"
        (component
          (core module $A (tag (export "t")))
          (core module $B (tag (export "t")))
          (core module $M (import "x" "t" (tag)))
          (core instance $a (instantiate $A))
          (core instance $b (instantiate $B))
          (core instance (instantiate $M (with "x" (instance $a))))
          (core instance (instantiate $M (with "x" (instance $b)))))
    "#;
    assert_rejected(
        "mixed.wat",
        mixed,
        &["mixed.wat", "importing tag 0 from different modules"],
    );
}

#[test]
fn rejects_async() {
    // The async constructs not lowered yet are named as unsupported.
    let source = br#"
        (component
          (core func (canon thread.index)))
    "#;
    assert_rejected(
        "async.wat",
        source,
        &["async.wat", "async components", "`thread.index`"],
    );
}

/// A host function whose type holds an error context, in a component with no memory of its
/// own, lowers: its values cross through the exchange memory.
#[test]
fn lowers_error_contexts_at_the_host_boundary_without_a_memory() {
    let source = br#"
        (component
          (import "f" (func $f async (param "e" error-context)))
          (core func $f (canon lower (func $f)))
          (core module $M (import "" "f" (func (param i32))))
          (core instance (instantiate $M (with "" (instance (export "f" (func $f)))))))
    "#;
    let out = run_with_stdin(&["-", "-o", "-"], source);
    assert_success(&out);
    validate(&out.stdout);
    gc_lower::rewrap(&out.stdout).expect("the output re-wraps into a component");
}

/// The example behaves like the original: a script of the example followed by bare `invoke`s
/// (which the runner compares between native wasmtime and the lowered output) passes in both
/// reify modes.
#[test]
fn example_runs_like_native() {
    let dir = tempfile::tempdir().expect("failed to create a temporary directory");
    let mut script =
        std::fs::read_to_string(repo_root().join(EXAMPLE)).expect("failed to read the example");
    for call in [
        "left-step",
        "left-step",
        "right-step",
        "left-reverse",
        "left-step",
        "left-get",
        "right-get",
    ] {
        script.push_str(&format!("(invoke \"{call}\")\n"));
    }
    script.push_str("(invoke \"left-logged\" (s32.const 7))\n");
    script.push_str("(invoke \"right-logged\" (s32.const 9))\n");
    let path = dir.path().join("example.wast");
    std::fs::write(&path, script).expect("failed to write the script");
    for reify in ["auto", "all"] {
        let output = run(&["wast", "--reify", reify, path_str(&path)]);
        assert_success(&output);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            stdout.lines().last() == Some("9 passed, 0 failed, 0 skipped"),
            "--reify {reify}: {stdout}"
        );
    }
}

/// `gc-lower graph`: the example's module graph, read back and run by the library's wasmtime
/// loader, gives the results the original component gives on wasmtime's component runtime.
#[test]
fn graph_of_example_runs_like_native() {
    use wasmtime::component::{Component, Linker, Val};
    let dir = tempfile::tempdir().expect("failed to create a temporary directory");
    let out = dir.path().join("graph");
    assert_success(&run(&["graph", EXAMPLE, "-o", path_str(&out)]));
    for file in [
        "graph.json",
        "trampolines.wasm",
        "loader.mjs",
        "component-type.wasm",
    ] {
        assert!(out.join(file).is_file(), "`{file}` was not written");
    }
    let graph = gc_lower::module_graph::ModuleGraph::read(&out).expect("failed to read the graph");
    for (name, bytes) in &graph.modules {
        Validator::new_with_features(gc_lower::output_features())
            .validate_all(bytes)
            .unwrap_or_else(|e| panic!("`{name}` does not validate: {e}"));
    }

    let engine = wasmtime::Engine::new(&gc_lower::run::config()).expect("engine");
    let modules =
        gc_lower::module_graph::compile(&engine, &graph).expect("failed to compile the graph");
    let mut store = wasmtime::Store::new(&engine, ());
    let lowered = gc_lower::module_graph::instantiate(
        &mut store,
        &graph,
        &modules,
        &wasmtime::Linker::new(&engine),
    )
    .expect("failed to instantiate the graph");

    let source = std::fs::read(repo_root().join(EXAMPLE)).expect("failed to read the example");
    let component = Component::new(&engine, &source).expect("the example compiles");
    let mut native_store = wasmtime::Store::new(&engine, ());
    let native = Linker::new(&engine)
        .instantiate(&mut native_store, &component)
        .expect("the example instantiates");

    let calls: &[(&str, Option<i32>)] = &[
        ("left-step", None),
        ("left-step", None),
        ("right-step", None),
        ("left-logged", Some(5)),
        ("right-get", None),
        ("left-reverse", None),
        ("left-get", None),
    ];
    for (name, arg) in calls {
        let func = native.get_func(&mut native_store, name).expect("export");
        let args: Vec<Val> = arg.iter().map(|a| Val::S32(*a)).collect();
        let mut results = vec![Val::Bool(false); func.ty(&native_store).results().len()];
        func.call(&mut native_store, &args, &mut results)
            .expect("native call");
        let want: Vec<i32> = results
            .iter()
            .map(|v| match v {
                Val::S32(x) => *x,
                other => panic!("unexpected {other:?}"),
            })
            .collect();

        let f = lowered.get_func(name).expect("the graph exports it");
        let core_args: Vec<wasmtime::Val> = arg.iter().map(|a| wasmtime::Val::I32(*a)).collect();
        let mut core_results = vec![wasmtime::Val::I32(0); want.len()];
        f.call(&mut store, &core_args, &mut core_results)
            .expect("graph call");
        let got: Vec<i32> = core_results.iter().map(|v| v.unwrap_i32()).collect();
        assert_eq!(got, want, "`{name}`");
    }
}

#[test]
fn graph_of_invalid_input_writes_nothing() {
    let dir = tempfile::tempdir().expect("failed to create a temporary directory");
    let bad = dir.path().join("bad.wat");
    std::fs::write(&bad, "(component (core func (canon lower (func 9))))").unwrap();
    let out = dir.path().join("graph");
    let output = run(&["graph", path_str(&bad), "-o", path_str(&out)]);
    assert!(!output.status.success(), "an invalid component must fail");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("error:"), "no error message: {stderr}");
    assert!(
        !out.exists(),
        "a failed lowering must not create the output directory"
    );
}
/// A component for `gc-lower run --invoke`: its core module is instantiated twice (so
/// `--reify auto` reifies it), one function over strings at the root and one over lists in an
/// exported interface.
const INVOKE_COMPONENT: &str = r#"
(component
  (core module $M
    (memory (export "memory") 1)
    (global $heap (mut i32) (i32.const 1024))
    (global $calls (mut i32) (i32.const 0))
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $p i32)
      (local.set $p
        (i32.and
          (i32.add (global.get $heap) (i32.sub (local.get 2) (i32.const 1)))
          (i32.sub (i32.const 0) (local.get 2))))
      (global.set $heap (i32.add (local.get $p) (local.get 3)))
      (local.get $p))
    ;; prefix(s, n): the first n bytes of s.
    (func (export "prefix") (param $p i32) (param $len i32) (param $n i32) (result i32)
      (i32.store (i32.const 16) (local.get $p))
      (i32.store (i32.const 20)
        (select (local.get $n) (local.get $len) (i32.lt_u (local.get $n) (local.get $len))))
      (i32.const 16))
    ;; total(xs): (calls so far, sum of xs).
    (func (export "total") (param $p i32) (param $len i32) (result i32)
      (local $sum i64)
      (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
      (block $done
        (loop $next
          (br_if $done (i32.eqz (local.get $len)))
          (local.set $sum (i64.add (local.get $sum) (i64.extend_i32_u (i32.load (local.get $p)))))
          (local.set $p (i32.add (local.get $p) (i32.const 4)))
          (local.set $len (i32.sub (local.get $len) (i32.const 1)))
          (br $next)))
      (i32.store (i32.const 32) (global.get $calls))
      (i64.store (i32.const 40) (local.get $sum))
      (i32.const 32))
    (func (export "boom") unreachable))
  (core instance $a (instantiate $M))
  (core instance $b (instantiate $M))
  (func (export "prefix") (param "s" string) (param "n" u32) (result string)
    (canon lift (core func $a "prefix") (memory $a "memory") (realloc (func $a "realloc"))))
  (func $total (param "xs" (list u32)) (result (tuple u32 u64))
    (canon lift (core func $b "total") (memory $b "memory") (realloc (func $b "realloc"))))
  (func (export "boom") (canon lift (core func $a "boom")))
  (instance $ops (export "total" (func $total)))
  (export "demo:calc/ops" (instance $ops)))
"#;

/// `gc-lower run --invoke` prints the same results for the lowered core module, for the
/// component lowered on the fly (`--reify all`) and for the original component run as it is;
/// a call it cannot make is an error that names the function.
#[test]
fn run_invoke_matches_the_original() {
    let dir = tempfile::tempdir().expect("failed to create a temporary directory");
    let original = dir.path().join("demo.wat");
    std::fs::write(&original, INVOKE_COMPONENT).expect("failed to write the component");
    let lowered = dir.path().join("demo.lowered.wasm");
    assert_success(&run(&[path_str(&original), "-o", path_str(&lowered)]));
    // `boom` traps.
    for call in [
        r#"prefix("hello wörld, and more", 9)"#,
        r#"prefix("", 3)"#,
        "total([1, 2, 4000000000])",
        "total([])",
        "boom()",
    ] {
        let native = run(&["run", "--invoke", call, path_str(&original)]);
        assert!(
            native.status.success() != native.stdout.is_empty(),
            "`{call}` printed nothing or failed with output"
        );
        for how in [
            vec!["run", "--invoke", call, path_str(&lowered)],
            vec![
                "run",
                "--reify",
                "all",
                "--invoke",
                call,
                path_str(&original),
            ],
        ] {
            let output = run(&how);
            assert_eq!(output.status.code(), native.status.code(), "{how:?}");
            assert_eq!(
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&native.stdout),
                "{how:?}"
            );
        }
    }
    // Cutting `ö` in half makes the result invalid UTF-8: natively the host's lift of the
    // string fails (an error, status 1); lowered, the string crosses a reified memory through
    // the exchange memory, and the transcoder that copies it traps first (status 134).
    let call = r#"prefix("hello wörld", 8)"#;
    for file in [&original, &lowered] {
        let output = run(&["run", "--invoke", call, path_str(file)]);
        assert!(
            !output.status.success() && output.stdout.is_empty(),
            "{file:?}"
        );
    }
    for (call, message) in [
        ("missing()", "no function named `missing`"),
        ("prefix(1, 2)", "failed to read the arguments of `prefix`"),
        ("prefix(", "failed to parse `prefix(`"),
        ("", "is not a command"),
    ] {
        let output = if call.is_empty() {
            run(&["run", path_str(&lowered)])
        } else {
            run(&["run", "--invoke", call, path_str(&lowered)])
        };
        assert_eq!(output.status.code(), Some(1), "`{call}`");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(message), "`{call}`: {stderr}");
    }
}

/// `gc-lower run` runs components with `async` function types and their lowered output
/// (which keeps the types) through wasmtime's async support: a sync lift of an `async` type,
/// a callback lift that yields before it returns, and commands' `run`.
#[test]
fn run_invokes_async_functions() {
    let dir = tempfile::tempdir().expect("failed to create a temporary directory");
    let original = dir.path().join("async-type.wat");
    std::fs::write(
        &original,
        br#"(component
              (core module $M
                (import "" "task.return" (func $task.return (param i32)))
                (func (export "f") (result i32) i32.const 7)
                (func (export "g") (param $x i32) (result i32)
                  (global.set $x (local.get $x))
                  (i32.const 1 (; YIELD ;)))
                (global $x (mut i32) (i32.const 0))
                (func (export "g-cb") (param i32 i32 i32) (result i32)
                  (call $task.return (i32.mul (global.get $x) (i32.const 3)))
                  (i32.const 0 (; EXIT ;))))
              (core func $task.return (canon task.return (result u32)))
              (core instance $m (instantiate $M (with "" (instance
                (export "task.return" (func $task.return))))))
              (func (export "f") async (result u32) (canon lift (core func $m "f")))
              (func (export "g") async (param "x" u32) (result u32)
                (canon lift (core func $m "g") async (callback (core func $m "g-cb")))))"#,
    )
    .expect("failed to write the input");
    let lowered = dir.path().join("async-type.wasm");
    let output = run(&[path_str(&original), "-o", path_str(&lowered)]);
    assert!(output.status.success(), "{output:?}");
    for file in [&original, &lowered] {
        for (call, expected) in [("f()", "7"), ("g(14)", "42")] {
            let output = run(&["run", "--invoke", call, path_str(file)]);
            assert!(output.status.success(), "{file:?} `{call}`: {output:?}");
            let stdout = String::from_utf8_lossy(&output.stdout);
            assert_eq!(stdout.trim(), expected, "{file:?} `{call}`");
        }
    }
    // Commands with an `async` function type: `run` returns success (status 0), its error
    // (status 1, no message), or traps (status 134, the trap on standard error).
    for (name, body, status) in [
        ("ok", "i32.const 0", 0),
        ("err", "i32.const 1", 1),
        ("trap", "unreachable", 134),
    ] {
        let command = dir.path().join(format!("async-{name}.wat"));
        let text = format!(
            r#"(component
                 (core module $M
                   (func (export "run") (result i32) {body})
                   (func (export "f") (result i32) i32.const 7))
                 (core instance $m (instantiate $M))
                 (func $run (result (result)) (canon lift (core func $m "run")))
                 (instance $r (export "run" (func $run)))
                 (export "wasi:cli/run@0.2.6" (instance $r))
                 (func (export "f") async (result u32) (canon lift (core func $m "f"))))"#
        );
        std::fs::write(&command, text).expect("failed to write the input");
        let lowered = dir.path().join(format!("async-{name}.wasm"));
        let output = run(&[path_str(&command), "-o", path_str(&lowered)]);
        assert!(output.status.success(), "{output:?}");
        for file in [&command, &lowered] {
            let output = run(&["run", path_str(file)]);
            assert_eq!(output.status.code(), Some(status), "{file:?}: {output:?}");
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(
                stderr.contains("unreachable"),
                status == 134,
                "{file:?}: {stderr}"
            );
        }
    }
}

/// A command with an `async` function type (so it runs with wasmtime's async support on)
/// that calls a blocking WASI 0.2 function, `[method]pollable.block` of a 1 ms clock
/// subscription, which wasmtime-wasi's synchronous bindings run on its Tokio runtime from
/// inside the asynchronous call: the original and the lowered core module exit with 0.
#[test]
fn run_blocks_in_wasi_0_2_with_async_on() {
    let dir = tempfile::tempdir().expect("failed to create a temporary directory");
    let original = dir.path().join("sleep.wat");
    std::fs::write(
        &original,
        br#"(component
              (import "wasi:io/poll@0.2.0" (instance $poll
                (export "pollable" (type (sub resource)))
                (export "[method]pollable.block" (func (param "self" (borrow 0))))))
              (alias export $poll "pollable" (type $pollable))
              (import "wasi:clocks/monotonic-clock@0.2.0" (instance $clock
                (alias outer 1 $pollable (type $p))
                (export "pollable" (type (eq $p)))
                (export "subscribe-duration" (func (param "when" u64) (result (own 1))))))
              (alias export $poll "[method]pollable.block" (func $block))
              (alias export $clock "subscribe-duration" (func $subscribe))
              (core func $block (canon lower (func $block)))
              (core func $subscribe (canon lower (func $subscribe)))
              (core func $drop (canon resource.drop $pollable))
              (core module $M
                (import "" "block" (func $block (param i32)))
                (import "" "subscribe" (func $subscribe (param i64) (result i32)))
                (import "" "drop" (func $drop (param i32)))
                (func (export "run") (result i32) (local $p i32)
                  (local.set $p (call $subscribe (i64.const 1000000)))
                  (call $block (local.get $p))
                  (call $drop (local.get $p))
                  (i32.const 0))
                (func (export "f") (result i32) i32.const 7))
              (core instance $m (instantiate $M (with "" (instance
                (export "block" (func $block))
                (export "subscribe" (func $subscribe))
                (export "drop" (func $drop))))))
              (func $run (result (result)) (canon lift (core func $m "run")))
              (instance $r (export "run" (func $run)))
              (export "wasi:cli/run@0.2.0" (instance $r))
              (func (export "f") async (result u32) (canon lift (core func $m "f"))))"#,
    )
    .expect("failed to write the input");
    let lowered = dir.path().join("sleep.wasm");
    let output = run(&[path_str(&original), "-o", path_str(&lowered)]);
    assert!(output.status.success(), "{output:?}");
    for file in [&original, &lowered] {
        let output = run(&["run", path_str(file)]);
        assert!(output.status.success(), "{file:?}: {output:?}");
    }
}

/// The text parser quotes the line it stopped in: a megabyte of NUL bytes is one line, which
/// the error shows cut short and escaped.
#[test]
fn error_output_is_capped_and_escaped() {
    let dir = tempfile::tempdir().expect("failed to create a temporary directory");
    let input = dir.path().join("zeros");
    std::fs::write(&input, vec![0u8; 1 << 20]).expect("failed to write the input");
    let out = dir.path().join("out.wasm");
    let output = gc_lower(&[path_str(&input), "-o", path_str(&out)])
        .env("RUST_BACKTRACE", "0")
        .env("RUST_LIB_BACKTRACE", "0")
        .output()
        .expect("failed to run `gc-lower`");
    assert_eq!(output.status.code(), Some(1));
    assert!(
        output.stderr.len() < 4096,
        "{} bytes of error output",
        output.stderr.len()
    );
    assert!(
        !output.stderr.contains(&0),
        "unescaped NUL bytes in the error"
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("zeros"));
}

/// An error with standard error closed still exits with status 1 (not a panic's 101).
#[test]
fn closed_stderr_exits_1() {
    let output = Command::new("sh")
        .args(["-c", "exec \"$0\" \"$@\" 2>&-"])
        .arg(env!("CARGO_BIN_EXE_gc-lower"))
        .arg("no-such-file.wat")
        .current_dir(repo_root())
        .output()
        .expect("failed to run `sh`");
    assert_eq!(output.status.code(), Some(1));
}

/// A script that does not parse fails the run: a lone `(component`, and a final directive
/// missing its `)` (which must not be dropped).
#[test]
fn wast_parse_errors_fail_the_run() {
    let dir = tempfile::tempdir().expect("failed to create a temporary directory");
    let scripts = [
        ("open.wast", "(component", "expected `)`"),
        (
            "tail.wast",
            "(component (core module))\n(assert_return (invoke \"x\")",
            "expected `)`",
        ),
        // Feature lines that wasmtime's harness would reject fail the script too.
        (
            "feature.wast",
            ";;! no_such_feature = true\n(component)",
            "unknown wasm feature `no_such_feature`",
        ),
        (
            "value.wast",
            ";;! gc = yes\n(component)",
            "`yes` is not `true` or `false`",
        ),
    ];
    for (name, text, message) in scripts {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("failed to write the script");
        let output = run(&["wast", path_str(&path)]);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(output.status.code(), Some(1), "`{name}`:\n{stdout}");
        assert!(
            stdout.contains(&format!("FAIL {}", path.display())) && stdout.contains(message),
            "`{name}` does not fail with {message:?}:\n{stdout}"
        );
    }
}

/// `gc-lower wast -W` takes wasmtime's feature names and `y`/`n`; anything else is a usage
/// error that names the option and the problem.
#[test]
fn wast_feature_options_are_checked() {
    let dir = tempfile::tempdir().expect("failed to create a temporary directory");
    let path = dir.path().join("empty.wast");
    std::fs::write(&path, "(component)").expect("failed to write the script");
    for (option, message) in [
        ("no-such-feature", "unknown wasm feature `no_such_feature`"),
        (
            "exceptions=maybe",
            "`maybe` is not y, n, yes, no, true or false",
        ),
    ] {
        let output = run(&["wast", "-W", option, path_str(&path)]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "`-W {option}`:\n{stderr}");
        assert!(
            stderr.contains("--wasm") && stderr.contains(message),
            "`-W {option}` does not fail with {message:?}:\n{stderr}"
        );
    }
    let output = run(&[
        "wast",
        "-W",
        "component-model-async",
        "-W",
        "exceptions=n",
        path_str(&path),
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
}

/// wit-parser's decoder panics on this valid component; gc-lower reports an error naming the
/// input, without the library's panic message.
#[test]
fn wit_decoder_panic_is_an_error() {
    let source =
        std::fs::read(repo_root().join("tests/unsupported/instance-type-with-resource.wat"))
            .expect("failed to read the input");
    assert_rejected("resource.wat", &source, &["resource.wat", "wit-parser"]);
    let output = run(&["tests/unsupported/instance-type-with-resource.wat"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("panicked at"),
        "a panic message:\n{stderr}"
    );
}

/// `-o` to something other than a regular file writes through it: `/dev/null`, a FIFO, a
/// symlink to `/dev/stdout`.
#[test]
fn output_writes_through_non_regular_files() {
    #[cfg(unix)]
    use std::os::unix::fs::FileTypeExt as _;
    let output = run(&[EXAMPLE, "-o", "/dev/null"]);
    assert_success(&output);
    #[cfg(unix)]
    assert!(
        std::fs::metadata("/dev/null")
            .expect("`/dev/null` exists")
            .file_type()
            .is_char_device(),
        "`/dev/null` was replaced"
    );

    let dir = tempfile::tempdir().expect("failed to create a temporary directory");
    let fifo = dir.path().join("fifo");
    let made = Command::new("mkfifo").arg(&fifo).status();
    if made.is_ok_and(|s| s.success()) {
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read(fifo).expect("failed to read the FIFO"))
        };
        assert_success(&run(&[EXAMPLE, "-o", path_str(&fifo)]));
        validate(&reader.join().expect("the FIFO reader panicked"));
        #[cfg(unix)]
        assert!(
            std::fs::symlink_metadata(&fifo)
                .expect("the FIFO exists")
                .file_type()
                .is_fifo(),
            "the FIFO was replaced"
        );
    }

    #[cfg(unix)]
    {
        let link = dir.path().join("stdout");
        std::os::unix::fs::symlink("/dev/stdout", &link).expect("failed to create a symlink");
        let output = run(&[EXAMPLE, "-o", path_str(&link)]);
        assert_success(&output);
        validate(&output.stdout);
        assert!(
            std::fs::symlink_metadata(&link)
                .expect("the symlink exists")
                .file_type()
                .is_symlink(),
            "the symlink was replaced"
        );
    }
}

/// A new output file honours the umask; an existing one keeps its mode; a read-only one is
/// not replaced.
#[cfg(unix)]
#[test]
fn output_file_modes() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().expect("failed to create a temporary directory");
    let mode = |path: &Path| {
        std::fs::metadata(path)
            .expect("the output exists")
            .permissions()
            .mode()
            & 0o777
    };

    let new = dir.path().join("new.wasm");
    let output = Command::new("sh")
        .args(["-c", "umask 027 && exec \"$0\" \"$@\""])
        .arg(env!("CARGO_BIN_EXE_gc-lower"))
        .args([EXAMPLE, "-o", path_str(&new)])
        .current_dir(repo_root())
        .output()
        .expect("failed to run `sh`");
    assert_success(&output);
    assert_eq!(mode(&new), 0o640, "the umask was not honoured");

    let existing = dir.path().join("existing.wasm");
    std::fs::write(&existing, "old").expect("failed to write a file");
    std::fs::set_permissions(&existing, std::fs::Permissions::from_mode(0o604))
        .expect("failed to set the mode");
    assert_success(&run(&[EXAMPLE, "-o", path_str(&existing)]));
    validate(&std::fs::read(&existing).expect("failed to read the output"));
    assert_eq!(mode(&existing), 0o604, "the existing mode was not kept");

    let read_only = dir.path().join("read-only.wasm");
    std::fs::write(&read_only, "old").expect("failed to write a file");
    std::fs::set_permissions(&read_only, std::fs::Permissions::from_mode(0o444))
        .expect("failed to set the mode");
    let output = run(&[EXAMPLE, "-o", path_str(&read_only)]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("read-only"));
    assert_eq!(std::fs::read(&read_only).expect("the file exists"), b"old");

    // Through a symlink, the file it points at is replaced and the symlink kept; a dangling
    // symlink is not written through.
    let link = dir.path().join("link.wasm");
    std::os::unix::fs::symlink("existing.wasm", &link).expect("failed to symlink");
    assert_success(&run(&[EXAMPLE, "-t", "-o", path_str(&link)]));
    assert!(
        std::fs::symlink_metadata(&link)
            .expect("the link exists")
            .is_symlink()
    );
    let text = std::fs::read_to_string(&existing).expect("failed to read the output");
    assert!(
        text.starts_with("(module"),
        "the symlink's target was not written"
    );
    let dangling = dir.path().join("dangling.wasm");
    std::os::unix::fs::symlink("nowhere/out.wasm", &dangling).expect("failed to symlink");
    let output = run(&[EXAMPLE, "-o", path_str(&dangling)]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("dangling symlink"));
}

/// `graph -o DIR` replaces a symlink planted in `DIR` instead of writing through it, and a
/// failure leaves `DIR` as it was.
#[cfg(unix)]
#[test]
fn graph_output_directory_is_safe() {
    let dir = tempfile::tempdir().expect("failed to create a temporary directory");
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "untouched").expect("failed to write a file");
    let out = dir.path().join("graph");
    std::fs::create_dir(&out).expect("failed to create a directory");
    std::os::unix::fs::symlink(&victim, out.join("loader.mjs")).expect("failed to symlink");
    assert_success(&run(&["graph", EXAMPLE, "-o", path_str(&out)]));
    assert_eq!(
        std::fs::read(&victim).expect("the file exists"),
        b"untouched"
    );
    let loader = std::fs::symlink_metadata(out.join("loader.mjs")).expect("the loader exists");
    assert!(loader.is_file(), "the planted symlink is still there");

    // `graph.json` cannot be written over a directory: nothing else is written either.
    let out = dir.path().join("blocked");
    std::fs::create_dir_all(out.join("graph.json")).expect("failed to create a directory");
    let output = run(&["graph", EXAMPLE, "-o", path_str(&out)]);
    assert_eq!(output.status.code(), Some(1));
    let entries: Vec<_> = std::fs::read_dir(&out)
        .expect("failed to read the directory")
        .map(|e| e.expect("failed to read an entry").file_name())
        .collect();
    assert_eq!(entries, ["graph.json"], "the directory changed");
}
