//! Inputs at the limits of what Wasm and the output may hold: many data segments, many
//! instances. The big inputs are generated here, not committed; each runs through
//! `gc-lower wast` (native wasmtime against the lowered output) in both reify modes, or must
//! be rejected with an error naming the limit.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the gc-lower crate lives in the workspace root")
        .to_path_buf()
}

fn gc_lower(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gc-lower"))
        .args(args)
        .current_dir(repo_root())
        .output()
        .expect("failed to run `gc-lower`")
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}

/// Runs `gc-lower wast FILE --reify REIFY` and checks that every assertion passed, none
/// failed and none was skipped.
fn assert_wast_passes(file: &Path, reify: &str) {
    let output = gc_lower(&["wast", path_str(file), "--reify", reify]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "`gc-lower wast --reify {reify}` exited with {}:\n{stdout}\n{stderr}",
        output.status
    );
    let last = stdout
        .lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .unwrap_or("");
    assert!(
        last.contains(" 0 failed, 0 skipped") && !last.starts_with("0 passed"),
        "`gc-lower wast --reify {reify}`: {last}\n{stdout}\n{stderr}"
    );
}

/// A memory of a module instantiated twice grown to 3 GiB, written and read at both ends, on
/// wasmtime: the lowered memory's array holds only what was touched, so one array of 3 GiB is
/// allocated, within wasmtime's 4 GiB GC heap.
#[test]
fn a_reified_memory_grows_to_3_gib() {
    let file = repo_root().join("tests/limits/grow-3gib.wast");
    for reify in ["auto", "all"] {
        assert_wast_passes(&file, reify);
    }
}

/// Strings ending at the very top of a 4 GiB memory, where the end of the range wraps to 0 as
/// a u32, transcoded from UTF-8 and from UTF-16 to UTF-16 and to UTF-8, valid and invalid, on
/// wasmtime. Only `--reify auto`: the app's memory grows to 65 536 pages, which a native memory
/// holds and a reified one (at most 4 GiB - 1 byte) does not.
#[test]
fn strings_at_the_top_of_a_4_gib_memory_are_transcoded() {
    assert_wast_passes(
        &repo_root().join("tests/limits/strings-at-4gib.wast"),
        "auto",
    );
}

/// The number of data segments of the generated module: one more than Wasm GC's limit on
/// struct fields, which a field per segment in the vmctx would pass.
const SEGMENTS: usize = 10_001;

/// A module with [`SEGMENTS`] data segments (the first half active, each writing its index as
/// an `i32` at 4 × index; the rest passive, each holding its index as an `i32`), instantiated
/// twice, with assertions on the memory contents, `memory.init` and `data.drop`.
fn many_segments_wast() -> String {
    let active = SEGMENTS / 2;
    let mut module = String::from("(core module $M\n  (memory 1)\n");
    for d in 0..SEGMENTS {
        let bytes: String = (d as u32)
            .to_le_bytes()
            .iter()
            .map(|b| format!("\\{b:02x}"))
            .collect();
        if d < active {
            writeln!(module, "  (data (i32.const {}) \"{bytes}\")", 4 * d).unwrap();
        } else {
            writeln!(module, "  (data \"{bytes}\")").unwrap();
        }
    }
    let last = SEGMENTS - 1;
    write!(
        module,
        r#"  (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "init") (param i32 i32) (memory.init {last} (local.get 0) (i32.const 0) (local.get 1)))
  (func (export "init-active") (param i32 i32) (memory.init 7 (local.get 0) (i32.const 0) (local.get 1)))
  (func (export "drop") (data.drop {last})))
"#
    )
    .unwrap();
    let mut wast = format!("(component\n{module}");
    wast.push_str(
        r#"  (core instance $a (instantiate $M))
  (core instance $b (instantiate $M))
  (func (export "load-a") (param "addr" u32) (result u32) (canon lift (core func $a "load")))
  (func (export "load-b") (param "addr" u32) (result u32) (canon lift (core func $b "load")))
  (func (export "init-a") (param "dst" u32) (param "len" u32) (canon lift (core func $a "init")))
  (func (export "init-b") (param "dst" u32) (param "len" u32) (canon lift (core func $b "init")))
  (func (export "init-active-a") (param "dst" u32) (param "len" u32) (canon lift (core func $a "init-active")))
  (func (export "drop-a") (canon lift (core func $a "drop")))
)
"#,
    );
    for d in [0, 1, 7, active / 2, active - 1] {
        for side in ["a", "b"] {
            writeln!(
                wast,
                "(assert_return (invoke \"load-{side}\" (u32.const {})) (u32.const {d}))",
                4 * d
            )
            .unwrap();
        }
    }
    let free = 4 * active + 64;
    writeln!(
        wast,
        "(assert_return (invoke \"load-a\" (u32.const {})) (u32.const 0))",
        4 * active
    )
    .unwrap();
    // An active segment is dropped once applied: only an empty `memory.init` of it passes.
    writeln!(
        wast,
        "(assert_return (invoke \"init-active-a\" (u32.const {free}) (u32.const 0)))"
    )
    .unwrap();
    writeln!(
        wast,
        "(assert_return (invoke \"init-a\" (u32.const {free}) (u32.const 4)))"
    )
    .unwrap();
    writeln!(
        wast,
        "(assert_return (invoke \"load-a\" (u32.const {free})) (u32.const {last}))"
    )
    .unwrap();
    writeln!(
        wast,
        "(assert_return (invoke \"load-b\" (u32.const {free})) (u32.const 0))"
    )
    .unwrap();
    writeln!(wast, "(assert_return (invoke \"drop-a\"))").unwrap();
    writeln!(
        wast,
        "(assert_return (invoke \"init-a\" (u32.const {free}) (u32.const 0)))"
    )
    .unwrap();
    // The other instance's copy of the segment is intact.
    writeln!(
        wast,
        "(assert_return (invoke \"init-b\" (u32.const {}) (u32.const 4)))",
        free + 4
    )
    .unwrap();
    writeln!(
        wast,
        "(assert_return (invoke \"load-b\" (u32.const {})) (u32.const {last}))",
        free + 4
    )
    .unwrap();
    // Last, since a trap leaves the component instance unusable.
    writeln!(wast, "(assert_trap (invoke \"init-a\" (u32.const {free}) (u32.const 4)) \"out of bounds memory access\")").unwrap();
    wast
}

#[test]
fn more_data_segments_than_struct_fields() {
    let dir = tempfile::tempdir().expect("failed to create a temporary directory");
    let file = dir.path().join("many-segments.wast");
    std::fs::write(&file, many_segments_wast()).expect("failed to write the script");
    assert_wast_passes(&file, "auto");
    assert_wast_passes(&file, "all");
}

/// Lowers `file` (relative to the workspace root) with `--reify REIFY` to a temporary file;
/// returns the output's status and standard error.
fn lower(file: &str, reify: &str) -> (Output, bool) {
    let dir = tempfile::tempdir().expect("failed to create a temporary directory");
    let out = dir.path().join("out.wasm");
    let output = gc_lower(&[file, "--reify", reify, "-o", path_str(&out)]);
    let written = out.exists();
    (output, written)
}

#[test]
fn atomics_on_an_unshared_memory() {
    // Native memory (`auto`) and reified memory (`all`): both lower (the output is validated
    // before it is written; tests/atomics.wast compares what they do).
    for reify in ["auto", "all"] {
        let (output, written) = lower("tests/limits/atomics.wat", reify);
        assert!(
            output.status.success() && written,
            "`gc-lower --reify {reify}` failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// How each level of [`nested_twice`] reaches the component it instantiates twice.
#[derive(Clone, Copy)]
enum Reach {
    /// By its own index.
    Directly,
    /// Through an instance made of exports (`(instance (export "c" (component ..)))`) and an
    /// alias of that instance's export.
    InstanceOfExports,
    /// Through an instance of a wrapper component that exports it, and an alias of that
    /// instance's export.
    ExportOfInstance,
}

/// A component of `levels` nested components, each instantiating the one inside it twice
/// (reached as `reach` says); the innermost instantiates a core module once: 2^`levels` core
/// instances in a few kilobytes.
fn nested_twice(levels: u32, reach: Reach) -> String {
    let mut wat = String::from("(component $L0 (core module $m) (core instance (instantiate $m)))");
    for k in 1..=levels {
        let below = k - 1;
        let twice = "(instance (instantiate $c)) (instance (instantiate $c))";
        wat = match reach {
            Reach::Directly => format!(
                "(component $L{k}\n  {wat}\n  {})",
                twice.replace("$c", &format!("$L{below}"))
            ),
            Reach::InstanceOfExports => format!(
                "(component $L{k}\n  {wat}\n  (instance $b (export \"c\" (component $L{below})))\n  \
                 (alias export $b \"c\" (component $c))\n  {twice})"
            ),
            Reach::ExportOfInstance => format!(
                "(component $L{k}\n  (component $box {wat} (export \"c\" (component $L{below})))\n  \
                 (instance $b (instantiate $box))\n  (alias export $b \"c\" (component $c))\n  \
                 {twice})"
            ),
        };
    }
    wat
}

/// Lowers the text `wat` (written to a temporary file) with `--reify REIFY`.
fn lower_text(wat: &str, reify: &str) -> (Output, bool) {
    let dir = tempfile::tempdir().expect("failed to create a temporary directory");
    let input = dir.path().join("input.wat");
    std::fs::write(&input, wat).expect("failed to write the input");
    let out = dir.path().join("out.wasm");
    let output = gc_lower(&[path_str(&input), "--reify", reify, "-o", path_str(&out)]);
    let written = out.exists();
    (output, written)
}

fn assert_unsupported(output: &Output, written: bool, needles: &[&str]) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "stderr:\n{stderr}");
    assert!(!written, "output written despite the error");
    for needle in needles {
        assert!(stderr.contains(needle), "no `{needle}` in:\n{stderr}");
    }
}

#[test]
fn exponential_nesting_is_rejected_before_translation() {
    for reach in [
        Reach::Directly,
        Reach::InstanceOfExports,
        Reach::ExportOfInstance,
    ] {
        let wat = nested_twice(40, reach);
        let start = std::time::Instant::now();
        let (output, written) = lower_text(&wat, "auto");
        assert_unsupported(
            &output,
            written,
            &[
                "more than 100000 core instances",
                "creates 1099511627776",
                "are not supported",
            ],
        );
        // Translating it would not end; the count before translation ends at once.
        assert!(start.elapsed().as_secs() < 30, "took {:?}", start.elapsed());
        let (output, written) = lower_text(&nested_twice(17, reach), "all");
        assert_unsupported(&output, written, &["(this one creates 131072)"]);
    }
}

#[test]
fn instances_below_the_budget_lower() {
    for (reify, reach) in [
        ("auto", Reach::Directly),
        ("all", Reach::InstanceOfExports),
        ("auto", Reach::ExportOfInstance),
    ] {
        let (output, written) = lower_text(&nested_twice(12, reach), reify);
        assert!(
            output.status.success() && written,
            "4096 instances, `--reify {reify}`: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[test]
fn output_limits_are_named() {
    // 101 modules instantiated once each keep 101 native memories under `--reify auto`,
    // one more than a module may have.
    let mut wat = String::from("(component\n");
    for i in 0..101 {
        writeln!(
            wat,
            "  (core module $m{i} (memory 1)) (core instance (instantiate $m{i}))"
        )
        .unwrap();
    }
    wat.push(')');
    let (output, written) = lower_text(&wat, "auto");
    assert_unsupported(
        &output,
        written,
        &["more than 100 memories (this one needs 101"],
    );
    let (output, written) = lower_text(&wat, "all");
    assert!(
        output.status.success() && written,
        "`--reify all`: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn vmctx_field_limit_is_named() {
    // 10 001 mutable globals of a module instantiated twice would take a vmctx field each.
    let mut wat = String::from("(component\n  (core module $M\n");
    for _ in 0..10_001 {
        wat.push_str("    (global (mut i32) (i32.const 0))\n");
    }
    wat.push_str("  )\n  (core instance (instantiate $M))\n  (core instance (instantiate $M)))");
    let (output, written) = lower_text(&wat, "auto");
    assert_unsupported(
        &output,
        written,
        &["more than 10000 struct fields", "10001 globals"],
    );
}

/// 2^`levels` instances of one module (a memory, a data segment, a table with an element, a
/// start function that traps unless the segment was applied), and a top-level export `f`.
fn many_instances_with_start(levels: u32) -> String {
    let mut wat = String::from(
        r#"(component $L0
  (core module $m
    (memory 1) (global (mut i32) (i32.const 5)) (table 2 funcref)
    (func $f (result i32) global.get 0)
    (elem (i32.const 0) $f)
    (data (i32.const 8) "hello")
    (func $start
      (if (i32.ne (i32.load8_u (i32.const 8)) (i32.const 104)) (then unreachable))
      (global.set 0 (i32.add (global.get 0) (i32.const 1))))
    (start $start))
  (core instance (instantiate $m)))"#,
    );
    for k in 1..=levels {
        let below = k - 1;
        wat = format!(
            "(component $L{k}\n  {wat}\n  (instance (instantiate $L{below})) (instance \
             (instantiate $L{below})))"
        );
    }
    wat.pop();
    wat.push_str(
        r#"
  (core module $top (func (export "f") (result i32) i32.const 7))
  (core instance $t (instantiate $top))
  (func (export "f") (result u32) (canon lift (core func $t "f"))))"#,
    );
    wat
}

#[test]
fn many_instances_are_built_in_a_loop() {
    let dir = tempfile::tempdir().expect("failed to create a temporary directory");
    let input = dir.path().join("input.wat");
    std::fs::write(&input, many_instances_with_start(12)).expect("failed to write the input");
    let native = gc_lower(&["run", path_str(&input), "--invoke", "f()"]);
    assert!(
        native.status.success(),
        "native run: {}",
        String::from_utf8_lossy(&native.stderr)
    );
    for reify in ["auto", "all"] {
        let out = dir.path().join(format!("out-{reify}.wasm"));
        let output = gc_lower(&[path_str(&input), "--reify", reify, "-o", path_str(&out)]);
        assert!(
            output.status.success(),
            "`--reify {reify}`: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        // 4096 instances of one module: one constructor and a loop, not code per instance
        // (about 125 bytes each when the routine was straight-line).
        let size = std::fs::metadata(&out).expect("output written").len();
        assert!(size < 8 * 1024, "`--reify {reify}`: {size} bytes");
        let lowered = gc_lower(&["run", path_str(&out), "--invoke", "f()"]);
        assert_eq!(
            (lowered.status.code(), &lowered.stdout),
            (native.status.code(), &native.stdout),
            "`--reify {reify}`: {}",
            String::from_utf8_lossy(&lowered.stderr)
        );
    }
}

/// A module instantiated `count` times, with exports of its first, middle and last instances:
/// each instance counts its own calls and keeps its own memory.
fn many_instances_with_exports_wast(count: usize) -> String {
    let mut wast = String::from(
        r#"(component
  (core module $M
    (memory 1)
    (global $n (mut i32) (i32.const 0))
    (func (export "inc") (result i32)
      (global.set $n (i32.add (global.get $n) (i32.const 1)))
      (global.get $n))
    (func (export "store") (param i32) (i32.store (i32.const 0) (local.get 0)))
    (func (export "load") (result i32) (i32.load (i32.const 0))))
"#,
    );
    for k in 0..count {
        writeln!(wast, "  (core instance $i{k} (instantiate $M))").unwrap();
    }
    for (name, k) in [("a", 0), ("b", count / 2), ("c", count - 1)] {
        for (export, sig) in [
            ("inc", "(result u32)"),
            ("store", "(param \"v\" u32)"),
            ("load", "(result u32)"),
        ] {
            writeln!(
                wast,
                "  (func (export \"{name}-{export}\") {sig} (canon lift (core func $i{k} \"{export}\")))"
            )
            .unwrap();
        }
    }
    wast.push_str(")\n");
    for (call, result) in [
        ("a-inc", "1"),
        ("b-inc", "1"),
        ("a-inc", "2"),
        ("c-inc", "1"),
        ("b-inc", "2"),
    ] {
        writeln!(
            wast,
            "(assert_return (invoke \"{call}\") (u32.const {result}))"
        )
        .unwrap();
    }
    wast.push_str("(assert_return (invoke \"b-store\" (u32.const 7)))\n");
    for (call, result) in [("a-load", "0"), ("b-load", "7"), ("c-load", "0")] {
        writeln!(
            wast,
            "(assert_return (invoke \"{call}\") (u32.const {result}))"
        )
        .unwrap();
    }
    wast
}

#[test]
fn instances_in_an_array_are_called_through_their_exports() {
    // Past `gc_lower::assemble::INSTANCE_ARRAY_MIN` instances of one module, their vmctxs live
    // in an array; below it, in a global each. Both sides of the threshold.
    let dir = tempfile::tempdir().expect("failed to create a temporary directory");
    for count in [
        gc_lower::assemble::INSTANCE_ARRAY_MIN - 1,
        gc_lower::assemble::INSTANCE_ARRAY_MIN + 6,
    ] {
        let file = dir.path().join(format!("instances-{count}.wast"));
        std::fs::write(&file, many_instances_with_exports_wast(count))
            .expect("failed to write the script");
        assert_wast_passes(&file, "auto");
        assert_wast_passes(&file, "all");
    }
}

/// `pairs` exporters `$e{k}`, each with an importer `$i{k}` bound to its memory and to the
/// previous importer's `total` (the first to the exporter's `zero`), in initializer order
/// exporter, importer, exporter, …. Each importer's start function counts into its
/// exporter's memory, so `f`, the last importer's `total`, sums what every pair holds (the
/// counts squared: counts that went to the wrong instance change the sum). With
/// `imported_start`, a third module `$j{k}` per pair has its exporter's `mark` as its start
/// function, which counts into a second cell.
fn import_chained_instances(pairs: usize, imported_start: bool) -> String {
    let mut wat = String::from(
        r#"(component
  (core module $E
    (memory (export "m") 1)
    (data (i32.const 8) "\2a")
    (func (export "zero") (result i32) (i32.const 0))
    (func (export "mark") (i32.store (i32.const 4) (i32.add (i32.load (i32.const 4)) (i32.const 1)))))
  (core module $I
    (import "e" "m" (memory 1))
    (import "p" "total" (func $prev (result i32)))
    (func $start (i32.store (i32.const 0) (i32.add (i32.load (i32.const 0)) (i32.const 1))))
    (start $start)
    (func (export "total") (result i32)
      (i32.add
        (i32.add
          (i32.mul (i32.load (i32.const 0)) (i32.load (i32.const 0)))
          (i32.mul (i32.load (i32.const 4)) (i32.load (i32.const 4))))
        (i32.add (i32.load8_u (i32.const 8)) (call $prev)))))
  (core module $J
    (import "e" "mark" (func $mark))
    (start $mark))
"#,
    );
    for k in 0..pairs {
        writeln!(wat, "  (core instance $e{k} (instantiate $E))").unwrap();
        if imported_start {
            writeln!(
                wat,
                "  (core instance $j{k} (instantiate $J (with \"e\" (instance $e{k}))))"
            )
            .unwrap();
        }
        let prev = match k {
            0 => "(func $e0 \"zero\")".to_string(),
            k => format!("(func $i{} \"total\")", k - 1),
        };
        writeln!(wat, "  (core instance $p{k} (export \"total\" {prev}))").unwrap();
        writeln!(
            wat,
            "  (core instance $i{k} (instantiate $I (with \"e\" (instance $e{k})) (with \"p\" \
             (instance $p{k}))))"
        )
        .unwrap();
    }
    writeln!(
        wat,
        "  (func (export \"f\") (result u32) (canon lift (core func $i{} \"total\"))))",
        pairs - 1
    )
    .unwrap();
    wat
}

#[test]
fn import_chained_instances_are_built_in_a_loop() {
    let dir = tempfile::tempdir().expect("failed to create a temporary directory");
    // 300 pairs: under wasmparser's limit of 1 000 instances in a component, counting the
    // instances made of exports; with the imported start functions, 200 triples.
    for (pairs, imported_start) in [(300, false), (200, true)] {
        let input = dir.path().join(format!("chained-{imported_start}.wat"));
        std::fs::write(&input, import_chained_instances(pairs, imported_start))
            .expect("failed to write the input");
        let native = gc_lower(&["run", path_str(&input), "--invoke", "f()"]);
        assert!(
            native.status.success(),
            "native run: {}",
            String::from_utf8_lossy(&native.stderr)
        );
        for reify in ["auto", "all"] {
            let out = dir
                .path()
                .join(format!("out-{imported_start}-{reify}.wasm"));
            let output = gc_lower(&[path_str(&input), "--reify", reify, "-o", path_str(&out)]);
            assert!(
                output.status.success(),
                "`--reify {reify}`: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            if !imported_start {
                // Exporter and importer in one loop, each importer's constructor passed its
                // exporter and the previous importer: about 4 KiB in all (most of it the
                // memory helpers, larger since memories are word arrays), where code per
                // instance took 34 KiB.
                let size = std::fs::metadata(&out).expect("output written").len();
                assert!(size < 6 * 1024, "`--reify {reify}`: {size} bytes");
            }
            let lowered = gc_lower(&["run", path_str(&out), "--invoke", "f()"]);
            assert_eq!(
                (lowered.status.code(), &lowered.stdout),
                (native.status.code(), &native.stdout),
                "{pairs} pairs, imported start {imported_start}, `--reify {reify}`: {}",
                String::from_utf8_lossy(&lowered.stderr)
            );
        }
    }
}

/// A module instantiated twice whose element segments name `n` functions: an active
/// segment of all of them in order (one run of consecutive closure slots), one that mixes an
/// imported function, a null and a short run that starts past the segment's first element,
/// and a passive one in reverse order (no run). Each instance's table is read through
/// `call_indirect`, before and after `table.init` in one of them.
fn element_segments(n: u32) -> String {
    let value = |i: u32| i * 7 + 3;
    let mut wat = String::from(
        "(component\n  (core module $E (func (export \"imp\") (result i32) (i32.const -1)))\n",
    );
    wat.push_str("  (core instance $e (instantiate $E))\n  (core module $M\n");
    wat.push_str(
        "    (type $v (func (result i32)))\n    (import \"e\" \"imp\" (func $imp (result i32)))\n",
    );
    writeln!(wat, "    (table $t {} funcref)", 2 * n + 40).unwrap();
    for i in 0..n {
        writeln!(
            wat,
            "    (func $f{i} (result i32) (i32.const {}))",
            value(i)
        )
        .unwrap();
    }
    wat.push_str("    (elem (table $t) (i32.const 0) func");
    for i in 0..n {
        write!(wat, " $f{i}").unwrap();
    }
    writeln!(
        wat,
        ")\n    (elem (table $t) (i32.const {n}) funcref (ref.func $imp) (ref.null func) \
         (ref.func $f1) (ref.func $f2) (ref.func $f3) (ref.func $f4) (ref.func $f9))"
    )
    .unwrap();
    wat.push_str("    (elem $back func");
    for i in (0..n).rev().take(20) {
        write!(wat, " $f{i}").unwrap();
    }
    wat.push_str(
        ")\n    (func (export \"call\") (param i32) (result i32)
      (call_indirect $t (type $v) (local.get 0)))
    (func (export \"init\") (param i32 i32 i32)
      (table.init $t $back (local.get 0) (local.get 1) (local.get 2))))
  (core instance $a (instantiate $M (with \"e\" (instance $e))))
  (core instance $b (instantiate $M (with \"e\" (instance $e))))
  (func (export \"call-a\") (param \"i\" u32) (result s32) (canon lift (core func $a \"call\")))
  (func (export \"call-b\") (param \"i\" u32) (result s32) (canon lift (core func $b \"call\")))
  (func (export \"init-b\") (param \"d\" u32) (param \"s\" u32) (param \"n\" u32)
    (canon lift (core func $b \"init\")))
)\n",
    );
    let call = |wat: &mut String, side: &str, i: u32, v: i64| {
        writeln!(
            wat,
            "(assert_return (invoke \"call-{side}\" (u32.const {i})) (s32.const {v}))"
        )
        .unwrap();
    };
    for i in [0, 1, 2, n / 2, n - 2, n - 1] {
        call(&mut wat, "a", i, i64::from(value(i)));
        call(&mut wat, "b", i, i64::from(value(i)));
    }
    call(&mut wat, "a", n, -1);
    for (k, f) in [1, 2, 3, 4, 9].into_iter().enumerate() {
        call(&mut wat, "b", n + 2 + k as u32, i64::from(value(f)));
    }
    let d = n + 20;
    writeln!(
        wat,
        "(assert_return (invoke \"init-b\" (u32.const {d}) (u32.const 0) (u32.const 20)))"
    )
    .unwrap();
    for k in [0, 1, 19] {
        call(&mut wat, "b", d + k, i64::from(value(n - 1 - k)));
    }
    // Instance a's table is as it was: the null element, last (a trap ends the component).
    writeln!(
        wat,
        "(assert_trap (invoke \"call-a\" (u32.const {})) \"uninitialized element\")",
        n + 1
    )
    .unwrap();
    wat
}

#[test]
fn element_segments_are_built_in_a_loop() {
    let n = 600;
    let dir = tempfile::tempdir().expect("failed to create a temporary directory");
    let file = dir.path().join("element-segments.wast");
    std::fs::write(&file, element_segments(n)).expect("failed to write the script");
    for reify in ["auto", "all"] {
        assert_wast_passes(&file, reify);
    }
    // The module of the script's component, as a component of its own, to count the closures
    // its constructor builds in straight-line code: the passive segment's 20, the mixed
    // segment's 2 and one in each loop, where building every element apart took 626.
    let text = element_segments(n);
    let component = dir.path().join("element-segments.wat");
    std::fs::write(
        &component,
        &text[..text.find("(assert_").expect("assertions follow")],
    )
    .expect("failed to write the component");
    let output = gc_lower(&[path_str(&component), "-t"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let wat = String::from_utf8(output.stdout).expect("the text output is UTF-8");
    let closures = wat.matches("struct.new $gc-lower:closure").count();
    assert!(closures < 40, "{closures} closures built apart");
}

/// A module instantiated twice with `n` private tables (the output's limit is 100 tables), each
/// filled with one function that returns the table's number, called through each table.
fn many_static_tables(n: u32) -> String {
    let mut wat =
        String::from("(component\n  (core module $M\n    (type $v (func (result i32)))\n");
    for t in 0..n {
        writeln!(
            wat,
            "    (table $t{t} 1 funcref) (func $f{t} (result i32) (i32.const {t})) \
             (elem (table $t{t}) (i32.const 0) func $f{t})"
        )
        .unwrap();
    }
    wat.push_str("    (func (export \"call\") (param i32) (result i32)\n");
    // `call(k)` calls through table k: a chain of ifs, one per table.
    for t in 0..n {
        writeln!(
            wat,
            "      (if (i32.eq (local.get 0) (i32.const {t})) (then (return \
             (call_indirect $t{t} (type $v) (i32.const 0)))))"
        )
        .unwrap();
    }
    wat.push_str(
        "      (i32.const -1)))
  (core instance $a (instantiate $M))
  (core instance $b (instantiate $M))
  (func (export \"call-a\") (param \"t\" u32) (result s32) (canon lift (core func $a \"call\")))
  (func (export \"call-b\") (param \"t\" u32) (result s32) (canon lift (core func $b \"call\")))
)\n",
    );
    for t in [0, 1, n / 2, n - 2, n - 1] {
        for side in ["a", "b"] {
            writeln!(
                wat,
                "(assert_return (invoke \"call-{side}\" (u32.const {t})) (s32.const {t}))"
            )
            .unwrap();
        }
    }
    wat
}

/// Static tables are output tables: a module with as many tables as the output may hold keeps
/// the ones beyond that limit (the closure table counted) in boxes, instead of failing the
/// limit that the same module met before static tables.
#[test]
fn static_tables_stay_within_the_table_limit() {
    let dir = tempfile::tempdir().expect("failed to create a temporary directory");
    let file = dir.path().join("many-static-tables.wast");
    std::fs::write(&file, many_static_tables(100)).expect("failed to write the script");
    for reify in ["auto", "all"] {
        assert_wast_passes(&file, reify);
    }
}

/// A module instantiated twice whose private table is filled by `n` overlapping active
/// segments: later segments overwrite earlier ones, some with nulls, some leave gaps.
fn overlapping_segments(n: u32) -> String {
    let size = n + 8;
    let mut wat =
        String::from("(component\n  (core module $M\n    (type $v (func (result i32)))\n");
    writeln!(wat, "    (table $t {size} funcref)").unwrap();
    for f in 0..8 {
        writeln!(
            wat,
            "    (func $f{f} (result i32) (i32.const {}))",
            f * 11 + 1
        )
        .unwrap();
    }
    // Segment k writes elements k .. k + 3 (every third segment skipped, leaving gaps), with
    // a null in the middle of every fifth one.
    for k in (0..n).filter(|k| k % 3 != 2) {
        let item = |j: u32| match (k % 5, j) {
            (0, 1) => "(ref.null func)".to_string(),
            _ => format!("(ref.func $f{})", (k + j) % 8),
        };
        writeln!(
            wat,
            "    (elem (table $t) (i32.const {k}) funcref {} {} {})",
            item(0),
            item(1),
            item(2)
        )
        .unwrap();
    }
    wat.push_str(
        "    (func (export \"call\") (param i32) (result i32)
      (call_indirect $t (type $v) (local.get 0))))
  (core instance $a (instantiate $M))
  (core instance $b (instantiate $M))
  (func (export \"call-a\") (param \"i\" u32) (result s32) (canon lift (core func $a \"call\")))
  (func (export \"call-b\") (param \"i\" u32) (result s32) (canon lift (core func $b \"call\")))
)\n",
    );
    wat
}

/// The segments of a static table become one output segment holding the table's contents
/// after all of them: the elements match native wasmtime's, element by element (a null or a
/// gap traps; each trap in a fresh component instance), and the output has one active segment
/// for the table however many the input has.
#[test]
fn static_table_segments_are_merged() {
    let n = 60;
    let component = overlapping_segments(n);
    let mut wast = String::new();
    let body = component.replacen("(component", "(component definition $c", 1);
    wast.push_str(&body);
    // What each element holds follows core wasm's order of application
    // ([`expected_element`]); native wasmtime must agree too, since `gc-lower wast` skips an
    // assertion the native run fails, and a skip fails the test.
    for i in 0..n + 8 {
        writeln!(wast, "(component instance $i{i} $c)").unwrap();
        writeln!(
            wast,
            "(assert_return (invoke \"call-b\" (u32.const {i})) (s32.const {}))",
            expected_element(n, i).map_or(-1, i64::from)
        )
        .unwrap();
    }
    let dir = tempfile::tempdir().expect("failed to create a temporary directory");
    let file = dir.path().join("overlapping-segments.wast");
    // Nulls and gaps trap: those assertions become `assert_trap`s.
    let wast = wast
        .lines()
        .map(|line| match line.strip_suffix(" (s32.const -1))") {
            Some(head) => format!(
                "{} \"uninitialized element\")",
                head.replacen("assert_return", "assert_trap", 1)
            ),
            None => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&file, &wast).expect("failed to write the script");
    for reify in ["auto", "all"] {
        assert_wast_passes(&file, reify);
    }
    let component_file = dir.path().join("overlapping-segments.wat");
    std::fs::write(&component_file, &component).expect("failed to write the component");
    let output = gc_lower(&[path_str(&component_file), "--reify", "all", "-t"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).expect("the text output is UTF-8");
    let active = text
        .lines()
        .filter(|l| l.trim_start().starts_with("(elem") && l.contains("(i32.const"))
        .count();
    // The static table's one segment and the closure table's.
    assert!(active <= 2, "{active} active element segments:\n{text}");
}

/// Element `i` of [`overlapping_segments`]'s table after its segments, as core wasm applies
/// them in order: the value its function returns, `None` for a null or an element no segment
/// wrote.
fn expected_element(n: u32, i: u32) -> Option<u32> {
    let mut table: Vec<Option<u32>> = vec![None; (n + 8) as usize];
    for k in (0..n).filter(|k| k % 3 != 2) {
        for j in 0..3 {
            table[(k + j) as usize] = match (k % 5, j) {
                (0, 1) => None,
                _ => Some(((k + j) % 8) * 11 + 1),
            };
        }
    }
    table[i as usize]
}
