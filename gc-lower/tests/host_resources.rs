//! Resources at the host boundary: a resource the component defines and exports in an
//! interface (constructor, method on a borrow, a static function consuming an own handle,
//! destructors run by the guest and by the host), and a resource the host defines and the
//! component imports (returned own, borrowed by a method, passed back own, dropped by the
//! guest). The same host serves the original component on wasmtime's component runtime and the
//! lowered output re-wrapped as a component; results, traps and the host's log must agree. The
//! re-wrapped output also runs on V8 (`jco transpile`, Node), with the host written in JS.

mod common;

use common::{engine, run_on_v8};
use wasmtime::component::{Component, Linker, Resource, ResourceAny, ResourceType};
use wasmtime::{Engine, Store};

const COMPONENT: &str = r#"
(component
  (import "ns:host/files" (instance $files
    (export "file" (type $file (sub resource)))
    (export "open" (func (param "name" string) (result (own $file))))
    (export "[method]file.read" (func (param "self" (borrow $file)) (result string)))
    (export "close" (func (param "f" (own $file)) (result u32)))))
  (alias export $files "file" (type $file))

  ;; A counter resource, defined here and exported in `ns:guest/counters`.
  (component $Counters
    ;; The destructor counts drops in a global the main module reads.
    (core module $D
      (global $dropped (export "dropped") (mut i32) (i32.const 0))
      (func (export "dtor") (param i32)
        (global.set $dropped (i32.add (global.get $dropped) (i32.const 1)))))
    (core instance $d (instantiate $D))
    (type $counter' (resource (rep i32) (dtor (func $d "dtor"))))
    (export $counter "counter" (type $counter'))
    (core func $new (canon resource.new $counter'))
    (core func $rep (canon resource.rep $counter'))
    (core func $drop (canon resource.drop $counter'))
    ;; A counter's rep is the address of its value.
    (core module $M
      (import "r" "new" (func $new (param i32) (result i32)))
      (import "r" "rep" (func $rep (param i32) (result i32)))
      (import "r" "drop" (func $drop (param i32)))
      (import "d" "dropped" (global $dropped (mut i32)))
      (memory 1)
      (global $next (mut i32) (i32.const 16))
      (func (export "ctor") (param $start i32) (result i32)
        (local $p i32)
        (local.set $p (global.get $next))
        (global.set $next (i32.add (local.get $p) (i32.const 4)))
        (i32.store (local.get $p) (local.get $start))
        (call $new (local.get $p)))
      (func (export "bump") (param $p i32) (result i32)
        (i32.store (local.get $p) (i32.add (i32.load (local.get $p)) (i32.const 1)))
        (i32.load (local.get $p)))
      (func (export "take") (param $h i32) (result i32)
        (local $v i32)
        (local.set $v (i32.load (call $rep (local.get $h))))
        (call $drop (local.get $h))
        (local.get $v))
      (func (export "dropped") (result i32) (global.get $dropped)))
    (core instance $m (instantiate $M
      (with "r" (instance (export "new" (func $new)) (export "rep" (func $rep)) (export "drop" (func $drop))))
      (with "d" (instance $d))))
    (func (export "[constructor]counter") (param "start" u32) (result (own $counter))
      (canon lift (core func $m "ctor")))
    (func (export "[method]counter.bump") (param "self" (borrow $counter)) (result u32)
      (canon lift (core func $m "bump")))
    (func (export "[static]counter.take") (param "c" (own $counter)) (result u32)
      (canon lift (core func $m "take")))
    (func (export "dropped") (result u32) (canon lift (core func $m "dropped"))))
  (instance $counters (instantiate $Counters))
  (export "ns:guest/counters" (instance $counters))

  ;; A user of the host's files, instantiated twice.
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
      (if (i32.gt_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536)))
        (then (drop (memory.grow (i32.const 1)))))
      (local.get $p)))
  (core func $file.drop (canon resource.drop $file))
  (core module $U
    (import "libc" "memory" (memory 1))
    (import "f" "open" (func $open (param i32 i32) (result i32)))
    (import "f" "read" (func $read (param i32 i32)))
    (import "f" "close" (func $close (param i32) (result i32)))
    (import "f" "drop" (func $drop (param i32)))
    ;; Opens `name` twice, reads the first, closes it (own to the host), drops the second.
    (func (export "run") (param $p i32) (param $n i32) (result i32)
      (local $a i32) (local $b i32)
      (local.set $a (call $open (local.get $p) (local.get $n)))
      (local.set $b (call $open (local.get $p) (local.get $n)))
      (call $read (local.get $a) (i32.const 8))
      (drop (call $close (local.get $a)))
      (call $drop (local.get $b))
      (i32.const 8))
    ;; Reads a handle it does not have.
    (func (export "bogus") (param $p i32) (param $n i32) (result i32)
      (call $read (i32.const 77) (i32.const 8))
      (i32.const 8)))
  (core instance $l1 (instantiate $Libc))
  (core instance $l2 (instantiate $Libc))
  (core func $open1 (canon lower (func $files "open") (memory $l1 "memory") (realloc (func $l1 "realloc"))))
  (core func $read1 (canon lower (func $files "[method]file.read") (memory $l1 "memory") (realloc (func $l1 "realloc"))))
  (core func $close (canon lower (func $files "close")))
  (core func $open2 (canon lower (func $files "open") (memory $l2 "memory") (realloc (func $l2 "realloc"))))
  (core func $read2 (canon lower (func $files "[method]file.read") (memory $l2 "memory") (realloc (func $l2 "realloc"))))
  (core instance $u1 (instantiate $U
    (with "libc" (instance $l1))
    (with "f" (instance (export "open" (func $open1)) (export "read" (func $read1))
                        (export "close" (func $close)) (export "drop" (func $file.drop))))))
  (core instance $u2 (instantiate $U
    (with "libc" (instance $l2))
    (with "f" (instance (export "open" (func $open2)) (export "read" (func $read2))
                        (export "close" (func $close)) (export "drop" (func $file.drop))))))
  (func (export "run1") (param "name" string) (result string)
    (canon lift (core func $u1 "run") (memory $l1 "memory") (realloc (func $l1 "realloc"))))
  (func (export "run2") (param "name" string) (result string)
    (canon lift (core func $u2 "run") (memory $l2 "memory") (realloc (func $l2 "realloc"))))
  (func (export "bogus") (param "name" string) (result string)
    (canon lift (core func $u1 "bogus") (memory $l1 "memory") (realloc (func $l1 "realloc"))))
)
"#;

/// The host's state: a log of what the guest did with files.
#[derive(Default)]
struct Host {
    log: Vec<String>,
    next: u32,
}

/// A host file (its handle's rep is its id).
struct File;

/// Runs the scenario on `component` and returns everything observable: results (or the fact
/// that a call trapped) and the host's log.
fn run(engine: &Engine, component: &[u8]) -> Vec<String> {
    let component = Component::new(engine, component).expect("failed to compile");
    let mut linker = Linker::<Host>::new(engine);
    let mut files = linker.instance("ns:host/files").unwrap();
    files
        .resource("file", ResourceType::host::<File>(), |mut store, rep| {
            store.data_mut().log.push(format!("dtor {rep}"));
            Ok(())
        })
        .unwrap();
    files
        .func_wrap("open", |mut store, (name,): (String,)| {
            let host = store.data_mut();
            host.next += 1;
            host.log.push(format!("open {name} as {}", host.next));
            Ok((Resource::<File>::new_own(host.next),))
        })
        .unwrap();
    files
        .func_wrap("[method]file.read", |_, (f,): (Resource<File>,)| {
            Ok((format!("contents of {}", f.rep()),))
        })
        .unwrap();
    files
        .func_wrap("close", |mut store, (f,): (Resource<File>,)| {
            store.data_mut().log.push(format!("close {}", f.rep()));
            Ok((f.rep(),))
        })
        .unwrap();
    let mut store = Store::new(engine, Host::default());
    let instance = linker
        .instantiate(&mut store, &component)
        .expect("failed to instantiate");
    let mut seen = Vec::new();

    for export in ["run1", "run2", "run1"] {
        let f = instance
            .get_typed_func::<(&str,), (String,)>(&mut store, export)
            .unwrap();
        let (out,) = f.call(&mut store, ("a.txt",)).expect("call failed");
        seen.push(format!("{export} -> {out}"));
    }

    let counters = instance
        .get_export_index(&mut store, None, "ns:guest/counters")
        .expect("the interface is exported");
    let func = |store: &mut Store<Host>, name: &str| {
        let index = instance
            .get_export_index(&mut *store, Some(&counters), name)
            .unwrap_or_else(|| panic!("no `{name}`"));
        instance.get_func(&mut *store, index).unwrap()
    };
    let ctor = func(&mut store, "[constructor]counter")
        .typed::<(u32,), (ResourceAny,)>(&store)
        .unwrap();
    let bump = func(&mut store, "[method]counter.bump")
        .typed::<(ResourceAny,), (u32,)>(&store)
        .unwrap();
    let take = func(&mut store, "[static]counter.take")
        .typed::<(ResourceAny,), (u32,)>(&store)
        .unwrap();
    let dropped = func(&mut store, "dropped")
        .typed::<(), (u32,)>(&store)
        .unwrap();
    let (c1,) = ctor.call(&mut store, (10,)).unwrap();
    let (c2,) = ctor.call(&mut store, (100,)).unwrap();
    for c in [c1, c1, c2] {
        let (v,) = bump.call(&mut store, (c,)).unwrap();
        seen.push(format!("bump -> {v}"));
    }
    let (v,) = take.call(&mut store, (c1,)).unwrap();
    seen.push(format!("take -> {v}"));
    seen.push(format!(
        "dropped: {}",
        dropped.call(&mut store, ()).unwrap().0
    ));
    c2.resource_drop(&mut store).unwrap();
    seen.push(format!(
        "dropped: {}",
        dropped.call(&mut store, ()).unwrap().0
    ));
    // A handle the host dropped is gone: using it fails on the host side, in both forms.
    seen.push(format!(
        "bump dropped: {}",
        bump.call(&mut store, (c2,)).is_err()
    ));

    // A handle the guest never had: the guest traps.
    let bogus = instance
        .get_typed_func::<(&str,), (String,)>(&mut store, "bogus")
        .unwrap();
    seen.push(format!(
        "bogus traps: {}",
        bogus.call(&mut store, ("x",)).is_err()
    ));

    seen.extend(std::mem::take(&mut store.data_mut().log));
    seen
}

#[test]
fn resources_at_the_host_boundary_match_native() {
    let component = wat::parse_str(COMPONENT).expect("the test component parses");
    let engine = engine();
    let native = run(&engine, &component);
    assert!(native.iter().any(|l| l == "dropped: 2"), "{native:#?}");
    for reify in [gc_lower::ReifyMode::Auto, gc_lower::ReifyMode::All] {
        let rewrapped = common::lowered_component(&component, reify);
        let lowered = run(&engine, &rewrapped);
        assert_eq!(lowered, native, "--reify {reify:?}");
    }
}

/// The JS host of `ns:host/files`, for jco's `--map`: logs like the Rust host.
const FILES_JS: &str = r#"
let next = 0;
export const log = [];
export class File {
  constructor(id) { this.id = id; }
  read() { return `contents of ${this.id}`; }
  [Symbol.dispose]() { log.push(`dtor ${this.id}`); }
}
export function open(name) { next += 1; log.push(`open ${name} as ${next}`); return new File(next); }
export function close(f) { log.push(`close ${f.id}`); return f.id; }
"#;

/// The scenario of [`run`] in JS, printing what it saw as one JSON array.
const RUN_MJS: &str = r#"
const files = await import('./host0.js');
const m = await import(process.argv[2]);
const seen = [];
for (const e of ['run1', 'run2', 'run1']) seen.push(`${e} -> ${m[e]('a.txt')}`);
const counters = m['ns:guest/counters'];
const Counter = counters.Counter;
const c1 = new Counter(10), c2 = new Counter(100);
for (const c of [c1, c1, c2]) seen.push(`bump -> ${c.bump()}`);
seen.push(`take -> ${Counter.take(c1)}`);
seen.push(`dropped: ${counters.dropped()}`);
c2[Symbol.dispose]();
seen.push(`dropped: ${counters.dropped()}`);
let failed = false;
try { c2.bump(); } catch { failed = true; }
seen.push(`bump dropped: ${failed}`);
failed = false;
try { m.bogus('x'); } catch { failed = true; }
seen.push(`bogus traps: ${failed}`);
console.log(JSON.stringify([...seen, ...files.log]));
"#;

#[test]
fn resources_at_the_host_boundary_run_on_v8_like_native_wasmtime() {
    let component = wat::parse_str(COMPONENT).expect("the test component parses");
    let native = run(&engine(), &component);
    for reify in [gc_lower::ReifyMode::Auto, gc_lower::ReifyMode::All] {
        let rewrapped = common::lowered_component(&component, reify);
        let seen = run_on_v8(&rewrapped, &[("ns:host/files", FILES_JS)], RUN_MJS);
        let seen: Vec<String> = serde_json::from_value(seen).unwrap();
        assert_eq!(seen, native, "--reify {reify:?} on V8");
    }
}
