//! Snapshot tests of `gc-lower IN --plan`: the text and JSON plans of `examples/two-counters.wat`
//! and of `tests/plan/shared-memory.wat` (modules sharing memories, a table and a global, with
//! the host boundary through the exchange memory), and the text plan of
//! `tests/plan/static-tables.wat` (which tables are static), must equal the files checked in under
//! `tests/plan/`; and of the output's shape, in both reify modes: its text with every function
//! body left out ([`shape`]: the types with the vmctx layouts, imports, function signatures,
//! tables, memories, globals, exports, element and data segments). `BLESS=1 cargo test -p gc-lower --test plan` rewrites those files from the
//! current output instead; review the change with `git diff`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the gc-lower crate lives in the workspace root")
        .to_path_buf()
}

/// Runs `gc-lower ARGS` in the repository root, with `stdin` on standard input.
fn gc_lower(args: &[&str], stdin: Option<&[u8]>) -> Output {
    use std::io::Write as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_gc-lower"))
        .args(args)
        .current_dir(repo_root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("failed to run `gc-lower`");
    let mut pipe = child.stdin.take().expect("stdin is piped");
    if let Some(bytes) = stdin {
        pipe.write_all(bytes).expect("failed to write stdin");
    }
    drop(pipe);
    child
        .wait_with_output()
        .expect("failed to wait for `gc-lower`")
}

/// The standard output of a successful `gc-lower ARGS`.
fn stdout_of(args: &[&str]) -> String {
    let out = gc_lower(args, None);
    assert!(
        out.status.success(),
        "`gc-lower {}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("the plan is UTF-8")
}

/// The lines of `expected` and `actual` as a diff: `-` for lines only in `expected`, `+` for
/// lines only in `actual`, and up to three common lines around each change (a longest common
/// subsequence; the files are small).
fn diff(expected: &str, actual: &str) -> String {
    const CONTEXT: usize = 3;
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = actual.lines().collect();
    // lcs[i][j]: the length of the longest common subsequence of a[i..] and b[j..].
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut lines: Vec<(char, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            lines.push((' ', a[i]));
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            lines.push(('-', a[i]));
            i += 1;
        } else {
            lines.push(('+', b[j]));
            j += 1;
        }
    }
    let changed: Vec<usize> = (0..lines.len()).filter(|&k| lines[k].0 != ' ').collect();
    let near = |k: usize| changed.iter().any(|&c| c.abs_diff(k) <= CONTEXT);
    let mut out = String::new();
    let mut skipped = false;
    for (k, (tag, line)) in lines.iter().enumerate() {
        if near(k) {
            out += &format!("{tag} {line}\n");
            skipped = false;
        } else if !skipped {
            out += "  ...\n";
            skipped = true;
        }
    }
    out
}

/// Compares `actual` with the checked-in `tests/plan/{name}`, or rewrites it when `BLESS` is
/// set.
fn snapshot(name: &str, actual: &str) {
    let path = repo_root().join("tests/plan").join(name);
    if std::env::var_os("BLESS").is_some() {
        std::fs::write(&path, actual).expect("failed to write the snapshot");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "failed to read `{}` ({e}); run with BLESS=1 to create it",
            path.display()
        )
    });
    if expected != actual {
        panic!(
            "the plan differs from `{}` (- expected, + actual; run with BLESS=1 to accept \
             it):\n{}",
            path.display(),
            diff(&expected, actual)
        );
    }
}

#[test]
fn two_counters() {
    let input = "examples/two-counters.wat";
    snapshot("two-counters.txt", &stdout_of(&[input, "--plan"]));
    snapshot("two-counters.json", &stdout_of(&[input, "--plan=json"]));
}

#[test]
fn shared_memory() {
    let input = "tests/plan/shared-memory.wat";
    snapshot("shared-memory.txt", &stdout_of(&[input, "--plan"]));
    snapshot("shared-memory.json", &stdout_of(&[input, "--plan=json"]));
    snapshot(
        "shared-memory.all.txt",
        &stdout_of(&[input, "--plan=text", "--reify", "all"]),
    );
}

/// Which tables become static tables: only the one module of `tests/plan/static-tables.wat`
/// that meets every condition; each other module breaks one and keeps a table box.
#[test]
fn static_tables() {
    let input = "tests/plan/static-tables.wat";
    snapshot("static-tables.txt", &stdout_of(&[input, "--plan"]));
}

/// The shape of the output module `wat` (printed by `gc-lower -t`): its module-level lines,
/// the types inside rec groups, and each function's first line (its name, type and
/// signature), without bodies, locals or custom sections (the WIT world, `producers`).
fn shape(wat: &str) -> String {
    let mut out = String::new();
    // What the module-level item being read is: a rec group (its types are kept), a
    // function or a custom section (nothing inside is kept, nor its closing line).
    let mut keep_inside = false;
    let mut in_skipped = false;
    for line in wat.lines() {
        let indent = line.len() - line.trim_start().len();
        let item = line.trim_start();
        if indent <= 2 && item == ")" {
            if !in_skipped && indent == 2 {
                out += line;
                out.push('\n');
            }
            in_skipped = false;
            keep_inside = false;
            if indent == 0 {
                out += line;
                out.push('\n');
            }
            continue;
        }
        if indent <= 2 {
            keep_inside = item.starts_with("(rec");
            let custom = item.starts_with("(@custom") || item.starts_with("(@producers");
            in_skipped = item.starts_with("(func") || custom;
            if custom {
                continue;
            }
        } else if !(keep_inside && indent == 4) {
            continue;
        }
        out += line;
        out.push('\n');
    }
    out
}

#[test]
fn output_shapes() {
    for (input, name) in [
        ("examples/two-counters.wat", "two-counters"),
        ("tests/plan/shared-memory.wat", "shared-memory"),
    ] {
        for mode in ["auto", "all"] {
            let wat = stdout_of(&[input, "--reify", mode, "-t", "-o", "-"]);
            snapshot(&format!("{name}.{mode}.shape.wat"), &shape(&wat));
        }
    }
}

#[test]
fn json_agrees_with_the_text_and_the_library() {
    let input = "tests/plan/shared-memory.wat";
    let json: serde_json::Value =
        serde_json::from_str(&stdout_of(&[input, "--plan=json"])).expect("the plan is JSON");
    assert_eq!(json["format"], "gc-lower-plan");
    assert_eq!(json["version"], 1);
    assert_eq!(json["reify"], "auto");
    let reified: Vec<&str> = json["modules"]
        .as_array()
        .expect("modules is an array")
        .iter()
        .filter(|m| m["reified"] == true)
        .map(|m| m["label"].as_str().expect("labels are strings"))
        .collect();
    assert_eq!(reified, ["Tab", "App", "Peek", "module5"]);
    assert_eq!(json["host"]["memory"]["kind"], "exchange");

    let bytes = wat::parse_file(repo_root().join(input)).expect("the component parses");
    let plan = gc_lower::plan::plan(&bytes, gc_lower::ReifyMode::Auto).expect("plan");
    assert_eq!(
        serde_json::to_value(&plan).expect("the plan serializes"),
        json
    );
}

#[test]
fn standard_input_and_errors() {
    let bytes = std::fs::read(repo_root().join("examples/two-counters.wat")).unwrap();
    let out = gc_lower(&["-", "--plan"], Some(&bytes));
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("plan for standard input with --reify auto\n"),
        "{text}"
    );
    let from_file = stdout_of(&["examples/two-counters.wat", "--plan"]);
    assert_eq!(
        text.lines().skip(1).collect::<Vec<_>>(),
        from_file.lines().skip(1).collect::<Vec<_>>()
    );

    // The plan is printed, never written to a file.
    let out = gc_lower(
        &["examples/two-counters.wat", "--plan", "-o", "x.wasm"],
        None,
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot be used with"),
        "{out:?}"
    );
    assert!(!repo_root().join("x.wasm").exists());

    // An input that does not lower has no plan either, and says why.
    let out = gc_lower(
        &["-", "--plan"],
        Some(b"(component (core module $m (memory 1 1 shared)) (core instance (instantiate $m)))"),
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("failed to plan the lowering of `-`") && stderr.contains("shared"),
        "{stderr}"
    );
}
