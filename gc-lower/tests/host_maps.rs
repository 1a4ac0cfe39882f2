//! Maps at the host boundary: an export that takes a `map<string, u32>`, one that returns a
//! `map<u32, string>` (through a return area, with its entries in the guest's memory), and a
//! host import that returns a map the guest then reads. The same host serves the original
//! component on wasmtime's component runtime and the lowered output re-wrapped as a
//! component, in both reify modes (with `--reify all` the values cross through the exchange
//! memory and FACT's adapters); what each call returns must agree.

mod common;

use wasmtime::component::{Component, Linker, Val};
use wasmtime::{Engine, Store};

const COMPONENT: &str = r#"
(component
  (type $SU (map string u32))
  (type $US (map u32 string))
  (import "ns:host/maps" (instance $host
    (export "scores" (func (result $SU)))))
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
      (local.get $p)))
  (core instance $libc (instantiate $Libc))
  (alias core export $libc "memory" (core memory $memory))
  (alias core export $libc "realloc" (core func $realloc))
  (alias export $host "scores" (func $scores))
  (core func $scores' (canon lower (func $scores) (memory $memory) (realloc $realloc)))
  (core module $M
    (import "libc" "memory" (memory 1))
    (import "host" "scores" (func $scores (param i32)))
    ;; A hash of the entries at `p` (`n` of 12 bytes: a string's pointer and length, a u32)
    ;; with their keys' bytes.
    (func $hash (param $p i32) (param $n i32) (result i32)
      (local $h i32) (local $i i32) (local $k i32) (local $e i32)
      (local.set $h (local.get $n))
      (block $done
        (loop $each
          (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
          (local.set $e (i32.add (local.get $p) (i32.mul (local.get $i) (i32.const 12))))
          (local.set $k (i32.const 0))
          (block $key
            (loop $byte
              (br_if $key (i32.ge_u (local.get $k) (i32.load offset=4 (local.get $e))))
              (local.set $h (i32.add (i32.mul (local.get $h) (i32.const 31))
                (i32.load8_u (i32.add (i32.load (local.get $e)) (local.get $k)))))
              (local.set $k (i32.add (local.get $k) (i32.const 1)))
              (br $byte)))
          (local.set $h (i32.add (i32.mul (local.get $h) (i32.const 31))
            (i32.load offset=8 (local.get $e))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $each)))
      (local.get $h))
    (func (export "digest") (param i32 i32) (result i32)
      (call $hash (local.get 0) (local.get 1)))
    ;; invert (m): each entry's value as the key and its key as the value, at 64.
    (func (export "invert") (param $p i32) (param $n i32) (result i32)
      (local $i i32) (local $e i32) (local $q i32)
      (local.set $q (i32.const 256))
      (block $done
        (loop $each
          (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
          (local.set $e (i32.add (local.get $p) (i32.mul (local.get $i) (i32.const 12))))
          (i32.store (local.get $q) (i32.load offset=8 (local.get $e)))
          (i32.store offset=4 (local.get $q) (i32.load (local.get $e)))
          (i32.store offset=8 (local.get $q) (i32.load offset=4 (local.get $e)))
          (local.set $q (i32.add (local.get $q) (i32.const 12)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $each)))
      (i32.store (i32.const 64) (i32.const 256))
      (i32.store (i32.const 68) (local.get $n))
      (i32.const 64))
    ;; from-host (): the digest of the host's scores.
    (func (export "from-host") (result i32)
      (call $scores (i32.const 32))
      (call $hash (i32.load (i32.const 32)) (i32.load (i32.const 36)))))
  (core instance $m (instantiate $M
    (with "libc" (instance $libc))
    (with "host" (instance (export "scores" (func $scores'))))))
  (func (export "digest") (param "m" $SU) (result u32)
    (canon lift (core func $m "digest") (memory $memory) (realloc $realloc)))
  (func (export "invert") (param "m" $SU) (result $US)
    (canon lift (core func $m "invert") (memory $memory) (realloc $realloc)))
  (func (export "from-host") (result u32)
    (canon lift (core func $m "from-host") (memory $memory) (realloc $realloc))))
"#;

/// A `map<string, u32>` value.
fn scores(entries: &[(&str, u32)]) -> Val {
    Val::Map(
        entries
            .iter()
            .map(|(k, v)| (Val::String((*k).into()), Val::U32(*v)))
            .collect(),
    )
}

/// Runs the scenario on `component` (the original or a re-wrapped output) and says what each
/// call returned or that it failed.
fn run(engine: &Engine, component: &[u8]) -> Vec<String> {
    let component = Component::new(engine, component).expect("failed to compile");
    let mut linker = Linker::<()>::new(engine);
    linker
        .instance("ns:host/maps")
        .unwrap()
        .func_new("scores", |_, _, _, results| {
            results[0] = scores(&[("höst", 7), ("", 0), ("winter", 4_000_000_000)]);
            Ok(())
        })
        .unwrap();
    let mut store = Store::new(engine, ());
    let instance = linker
        .instantiate(&mut store, &component)
        .expect("failed to instantiate");
    let mut seen = Vec::new();
    let calls: [(&str, Vec<Val>); 5] = [
        ("digest", vec![scores(&[("a", 1), ("bé", 2)])]),
        ("digest", vec![scores(&[])]),
        (
            "invert",
            vec![scores(&[("one", 1), ("two", 2), ("two", 3)])],
        ),
        ("from-host", vec![]),
        ("invert", vec![scores(&[])]),
    ];
    for (name, args) in calls {
        let f = instance
            .get_func(&mut store, name)
            .unwrap_or_else(|| panic!("no `{name}`"));
        let mut results = vec![Val::Bool(false)];
        let outcome = f.call(&mut store, &args, &mut results);
        seen.push(match outcome {
            Ok(()) => format!("{name} -> {:?}", results[0]),
            Err(_) => format!("{name} fails"),
        });
    }
    seen
}

#[test]
fn maps_at_the_host_boundary_match_native() {
    let component = wat::parse_str(COMPONENT).expect("the test component parses");
    let engine = Engine::new(&gc_lower::run::config()).expect("failed to create the engine");
    let native = run(&engine, &component);
    assert!(native.iter().all(|l| !l.ends_with("fails")), "{native:#?}");
    for reify in [gc_lower::ReifyMode::Auto, gc_lower::ReifyMode::All] {
        let rewrapped = common::lowered_component(&component, reify);
        let lowered = run(&engine, &rewrapped);
        assert_eq!(lowered, native, "--reify {reify:?}");
    }
}
