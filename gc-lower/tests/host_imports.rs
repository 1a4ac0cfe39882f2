//! Host imports and exports over reified memories, through the exchange memory: a component
//! whose core module (and the module that owns its memory) is instantiated twice imports
//! host functions over strings and lists and exports functions over strings. The same host
//! functions serve the original component on wasmtime's component runtime and the lowered
//! output re-wrapped as a component; results and the host's call log must agree. The re-wrapped
//! output also runs on V8 (`jco transpile`, Node), with the host written in JS.

mod common;

use common::{engine, run_on_v8};
use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, Store};

const COMPONENT: &str = r#"
(component
  (import "host" (instance $host
    (export "echo" (func (param "s" string) (result string)))
    (export "pair" (func (param "a" string) (param "b" (list u32)) (result (tuple string u64))))
    (export "log" (func (param "s" string)))))
  ;; Owns a memory and a bump allocator.
  (core module $Libc
    (memory (export "memory") 1)
    (global $heap (mut i32) (i32.const 1024))
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $p i32)
      (local.set $p
        (i32.and
          (i32.add (global.get $heap) (i32.sub (local.get 2) (i32.const 1)))
          (i32.sub (i32.const 0) (local.get 2))))
      (global.set $heap (i32.add (local.get $p) (local.get 3)))
      (block $ok
        (loop $grow
          (br_if $ok (i32.le_u (global.get $heap)
                                (i32.mul (memory.size) (i32.const 65536))))
          (if (i32.eq (memory.grow (i32.const 16)) (i32.const -1)) (then unreachable))
          (br $grow)))
      (local.get $p)))
  ;; run(s) = pair(echo(s), [calls, 20, 300]).0, logging it; `calls` counts per instance.
  (core module $M
    (import "libc" "memory" (memory 1))
    (import "host" "echo" (func $echo (param i32 i32 i32)))
    (import "host" "pair" (func $pair (param i32 i32 i32 i32 i32)))
    (import "host" "log" (func $log (param i32 i32)))
    (global $calls (mut i32) (i32.const 0))
    (func (export "run") (param $p i32) (param $n i32) (result i32)
      (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
      (call $echo (local.get $p) (local.get $n) (i32.const 16))
      (i32.store (i32.const 64) (global.get $calls))
      (i32.store (i32.const 68) (i32.const 20))
      (i32.store (i32.const 72) (i32.const 300))
      (call $pair (i32.load (i32.const 16)) (i32.load (i32.const 20))
                  (i32.const 64) (i32.const 3) (i32.const 32))
      (call $log (i32.load (i32.const 32)) (i32.load (i32.const 36)))
      (i32.const 32)))
  (core instance $l1 (instantiate $Libc))
  (core instance $l2 (instantiate $Libc))
  (core func $echo1 (canon lower (func $host "echo") (memory $l1 "memory") (realloc (func $l1 "realloc"))))
  (core func $pair1 (canon lower (func $host "pair") (memory $l1 "memory") (realloc (func $l1 "realloc"))))
  (core func $log1 (canon lower (func $host "log") (memory $l1 "memory")))
  (core func $echo2 (canon lower (func $host "echo") (memory $l2 "memory") (realloc (func $l2 "realloc")) string-encoding=utf16))
  (core func $pair2 (canon lower (func $host "pair") (memory $l2 "memory") (realloc (func $l2 "realloc")) string-encoding=utf16))
  (core func $log2 (canon lower (func $host "log") (memory $l2 "memory") string-encoding=utf16))
  (core instance $m1 (instantiate $M
    (with "libc" (instance $l1))
    (with "host" (instance (export "echo" (func $echo1)) (export "pair" (func $pair1)) (export "log" (func $log1))))))
  (core instance $m2 (instantiate $M
    (with "libc" (instance $l2))
    (with "host" (instance (export "echo" (func $echo2)) (export "pair" (func $pair2)) (export "log" (func $log2))))))
  (func (export "run1") (param "s" string) (result string)
    (canon lift (core func $m1 "run") (memory $l1 "memory") (realloc (func $l1 "realloc"))))
  (func (export "run2") (param "s" string) (result string)
    (canon lift (core func $m2 "run") (memory $l2 "memory") (realloc (func $l2 "realloc")) string-encoding=utf16))
)
"#;

/// Calls `run1`/`run2` of `component` with `inputs` and returns the results and the host's
/// log, or the error of the first call that fails.
fn run(engine: &Engine, component: &[u8], inputs: &[(&str, String)]) -> (Vec<String>, Vec<String>) {
    let component = Component::new(engine, component).expect("failed to compile");
    let mut linker = Linker::<Vec<String>>::new(engine);
    let mut host = linker.instance("host").unwrap();
    host.func_wrap("echo", |_, (s,): (String,)| Ok((format!("<{s}>"),)))
        .unwrap();
    host.func_wrap("pair", |_, (a, b): (String, Vec<u32>)| {
        let sum: u64 = b.iter().map(|&x| u64::from(x)).sum();
        Ok(((format!("{a}:{sum}:{}", a.chars().count()), sum),))
    })
    .unwrap();
    host.func_wrap(
        "log",
        |mut store: wasmtime::StoreContextMut<'_, Vec<String>>, (s,): (String,)| {
            store.data_mut().push(s);
            Ok(())
        },
    )
    .unwrap();
    let mut store = Store::new(engine, Vec::new());
    let instance = linker
        .instantiate(&mut store, &component)
        .expect("failed to instantiate");
    let mut results = Vec::new();
    for (export, input) in inputs {
        let f = instance
            .get_typed_func::<(&str,), (String,)>(&mut store, export)
            .expect("no such export");
        let (out,) = f.call(&mut store, (input,)).expect("call failed");
        results.push(out);
    }
    (results, store.into_data())
}

/// The calls: short and empty strings, 2 MiB strings, then many calls (the exchange memory's
/// allocations are released after each call). `RUN_MJS` makes the same list.
fn inputs() -> Vec<(&'static str, String)> {
    let big = "ab€".repeat(400_000); // 2 MiB of UTF-8
    let mut inputs = vec![
        ("run1", "hello".to_string()),
        ("run2", "wörld ✓".to_string()),
        ("run1", String::new()),
        ("run2", big.clone()),
        ("run1", big),
    ];
    for i in 0..200 {
        inputs.push((
            if i % 2 == 0 { "run1" } else { "run2" },
            format!("call {i}"),
        ));
    }
    inputs
}

/// The host of `host` in JS, for jco's `--map`: like the Rust host.
const HOST_JS: &str = r#"
export const calls = [];
export function echo(s) { return `<${s}>`; }
export function pair(a, b) {
  let sum = 0n;
  for (const x of b) sum += BigInt(x);
  return [`${a}:${sum}:${[...a].length}`, sum];
}
export function log(s) { calls.push(s); }
"#;

/// The calls of [`inputs`] in JS; prints `[results, log]`.
const RUN_MJS: &str = r#"
const host = await import('./host0.js');
const m = await import(process.argv[2]);
const big = 'ab€'.repeat(400000);
const inputs = [['run1', 'hello'], ['run2', 'wörld ✓'], ['run1', ''], ['run2', big], ['run1', big]];
for (let i = 0; i < 200; i++) inputs.push([i % 2 == 0 ? 'run1' : 'run2', `call ${i}`]);
const results = inputs.map(([f, s]) => m[f](s));
console.log(JSON.stringify([results, host.calls]));
"#;

#[test]
fn host_imports_over_reified_memories_match_native() {
    let component = wat::parse_str(COMPONENT).expect("the test component parses");
    let engine = engine();
    let inputs = inputs();
    let native = run(&engine, &component, &inputs);
    for reify in [gc_lower::ReifyMode::Auto, gc_lower::ReifyMode::All] {
        let rewrapped = common::lowered_component(&component, reify);
        let got = run(&engine, &rewrapped, &inputs);
        assert_eq!(got.0.len(), native.0.len());
        for (i, (a, b)) in got.0.iter().zip(&native.0).enumerate() {
            assert!(
                a == b,
                "--reify {reify:?}: result {i} differs ({} vs {} bytes)",
                a.len(),
                b.len()
            );
        }
        assert!(
            got.1 == native.1,
            "--reify {reify:?}: the host's log differs"
        );
    }
}

#[test]
fn host_imports_over_reified_memories_run_on_v8_like_native_wasmtime() {
    let component = wat::parse_str(COMPONENT).expect("the test component parses");
    let native = run(&engine(), &component, &inputs());
    for reify in [gc_lower::ReifyMode::Auto, gc_lower::ReifyMode::All] {
        let rewrapped = common::lowered_component(&component, reify);
        let seen = run_on_v8(&rewrapped, &[("host", HOST_JS)], RUN_MJS);
        let (results, log): (Vec<String>, Vec<String>) = serde_json::from_value(seen).unwrap();
        assert!(
            results == native.0,
            "--reify {reify:?} on V8: results differ"
        );
        assert!(
            log == native.1,
            "--reify {reify:?} on V8: the host's log differs"
        );
    }
}
