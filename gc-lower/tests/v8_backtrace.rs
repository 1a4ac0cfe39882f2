//! V8's `Error.stack` of a trap in lowered output names the original functions, from the
//! output's name section, for a reified and an unreified module trapping two calls deep.
//!
//! (JavaScriptCore, in Bun, prints `at unknown` for every wasm frame whatever the name section
//! says, so it has no counterpart here.)

// Only the Node tools of the shared helpers are used here.
#[allow(dead_code)]
mod common;

use std::process::Command;

use gc_lower::{Options, ReifyMode};

/// Instantiates the core module FILE with plain `WebAssembly`, runs `_initialize`, calls
/// export NAME and prints the stack of what it throws.
const SCRIPT: &str = r#"
import { readFileSync } from 'node:fs';
const [file, name] = process.argv.slice(2);
const { instance } = await WebAssembly.instantiate(readFileSync(file), {});
instance.exports._initialize();
try {
  instance.exports[name]();
  console.log('no trap');
} catch (e) {
  console.log(String(e.stack));
}
"#;

/// The function names of the wasm frames of V8's stack trace, innermost first.
fn frames(stack: &str) -> Vec<String> {
    stack
        .lines()
        .filter_map(|line| line.trim().strip_prefix("at "))
        .filter(|frame| frame.contains("wasm://"))
        .map(|frame| frame.split(" (").next().unwrap_or(frame).to_string())
        .collect()
}

#[test]
fn v8_error_stack_names_the_original_functions() {
    let (node, _) = common::node_tools();
    let dir = tempfile::tempdir().expect("failed to create a temporary directory");
    let script = dir.path().join("trap.mjs");
    std::fs::write(&script, SCRIPT).expect("failed to write the script");
    let input =
        wat::parse_file(common::repo_root().join("tests/names/traps.wat")).expect("input parses");
    for reify in [ReifyMode::Auto, ReifyMode::All] {
        let output = gc_lower::lower(
            &input,
            &Options {
                reify,
                ..Default::default()
            },
        )
        .expect("the input lowers");
        let file = dir.path().join(format!("{reify:?}.wasm"));
        std::fs::write(&file, output).expect("failed to write the output");
        for (export, fail, middle) in [
            ("twice-run", "Twice!twice_fail", "Twice!twice_middle"),
            ("once-run", "Once!once_fail", "Once!once_middle"),
        ] {
            let run = Command::new(&node)
                .arg(&script)
                .arg(&file)
                .arg(export)
                .output()
                .expect("failed to run Node");
            let stdout = String::from_utf8_lossy(&run.stdout);
            assert!(
                run.status.success(),
                "{reify:?} `{export}`: {}",
                String::from_utf8_lossy(&run.stderr)
            );
            let frames = frames(&stdout);
            assert_eq!(
                frames.get(..2),
                Some(&[fail.to_string(), middle.to_string()][..]),
                "{reify:?} `{export}`:\n{stdout}"
            );
        }
    }
}
