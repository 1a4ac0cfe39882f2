//! Resources at the root of the world: the world-level `use` of an imported interface's
//! resource, with root functions over it, and a resource the world declares itself. In WIT:
//!
//! ```wit
//! interface things { resource thing { constructor(x: u32); get: func() -> u32; } }
//! world w {
//!   import things;
//!   use things.{thing};
//!   resource counter { constructor(start: u32); bump: func() -> u32; }
//!   import make: func(x: u32) -> own<thing>;
//!   import consume: func(t: own<thing>) -> u32;
//!   export check: func(t: borrow<thing>) -> u32;
//!   export keep: func(t: own<thing>) -> u32;
//!   export run: func(x: u32) -> u32;
//!   export bogus: func() -> u32;
//! }
//! ```
//!
//! The component is written the way wit-component encodes such a world: the `use` is a root
//! import of the interface's resource (`(import "thing" (type (eq $thing)))`), the world's own
//! resource a root resource import. The same host serves the original component on wasmtime's
//! component runtime and the lowered output re-wrapped as a component; results, traps and the
//! host's log must agree. The re-wrapped output also runs on V8 (`jco transpile`, Node), with
//! the host written in JS.

mod common;

use std::collections::HashMap;

use common::{engine, run_on_v8};
use wasmtime::component::{Component, Linker, Resource, ResourceType};
use wasmtime::{Engine, Store};

const COMPONENT: &str = r#"
(component
  (import "ns:host/things" (instance $things
    (export "thing" (type $thing (sub resource)))
    (export "[constructor]thing" (func (param "x" u32) (result (own $thing))))
    (export "[method]thing.get" (func (param "self" (borrow $thing)) (result u32)))))
  (alias export $things "thing" (type $thing'))
  ;; The world's `use ns:host/things.{thing}`.
  (import "thing" (type $thing (eq $thing')))
  ;; The world's own resource.
  (import "counter" (type $counter (sub resource)))
  (import "[constructor]counter" (func $counter.new (param "start" u32) (result (own $counter))))
  (import "[method]counter.bump" (func $counter.bump (param "self" (borrow $counter)) (result u32)))
  (import "make" (func $make (param "x" u32) (result (own $thing))))
  (import "consume" (func $consume (param "t" (own $thing)) (result u32)))

  (core func $thing.new (canon lower (func $things "[constructor]thing")))
  (core func $thing.get (canon lower (func $things "[method]thing.get")))
  (core func $thing.drop (canon resource.drop $thing))
  (core func $make (canon lower (func $make)))
  (core func $consume (canon lower (func $consume)))
  (core func $counter.new (canon lower (func $counter.new)))
  (core func $counter.bump (canon lower (func $counter.bump)))
  (core func $counter.drop (canon resource.drop $counter))

  ;; Instantiated twice; each instance counts its calls.
  (core module $M
    (import "things" "new" (func $new (param i32) (result i32)))
    (import "things" "get" (func $get (param i32) (result i32)))
    (import "things" "drop" (func $drop (param i32)))
    (import "root" "make" (func $make (param i32) (result i32)))
    (import "root" "consume" (func $consume (param i32) (result i32)))
    (import "root" "counter-new" (func $counter.new (param i32) (result i32)))
    (import "root" "counter-bump" (func $counter.bump (param i32) (result i32)))
    (import "root" "counter-drop" (func $counter.drop (param i32)))
    (global $calls (mut i32) (i32.const 0))
    (func $tick (result i32)
      (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
      (i32.mul (global.get $calls) (i32.const 1000)))
    ;; Reads a borrowed thing and ends the borrow, as the guest must for an imported resource.
    (func (export "check") (param $t i32) (result i32)
      (local $v i32)
      (local.set $v (call $get (local.get $t)))
      (call $drop (local.get $t))
      (i32.add (call $tick) (local.get $v)))
    ;; Reads an owned thing and drops it (the host's destructor runs).
    (func (export "keep") (param $t i32) (result i32)
      (local $v i32)
      (local.set $v (call $get (local.get $t)))
      (call $drop (local.get $t))
      (i32.add (call $tick) (i32.mul (local.get $v) (i32.const 2))))
    ;; Makes a thing at the root and one through the interface's constructor, reads both,
    ;; hands the first back to the host, drops the second; bumps a counter of its own twice.
    (func (export "run") (param $x i32) (result i32)
      (local $a i32) (local $b i32) (local $c i32) (local $v i32)
      (local.set $a (call $make (local.get $x)))
      (local.set $b (call $new (i32.add (local.get $x) (i32.const 1))))
      (local.set $v (i32.add (call $get (local.get $a)) (call $get (local.get $b))))
      (local.set $v (i32.add (local.get $v) (call $consume (local.get $a))))
      (call $drop (local.get $b))
      (local.set $c (call $counter.new (local.get $x)))
      (drop (call $counter.bump (local.get $c)))
      (local.set $v (i32.add (local.get $v) (call $counter.bump (local.get $c))))
      (call $counter.drop (local.get $c))
      (i32.add (call $tick) (local.get $v)))
    ;; Reads a handle it does not have.
    (func (export "bogus") (result i32)
      (call $get (i32.const 99))))
  (core instance $things' (export "new" (func $thing.new)) (export "get" (func $thing.get))
                          (export "drop" (func $thing.drop)))
  (core instance $root (export "make" (func $make)) (export "consume" (func $consume))
                       (export "counter-new" (func $counter.new))
                       (export "counter-bump" (func $counter.bump))
                       (export "counter-drop" (func $counter.drop)))
  (core instance $m1 (instantiate $M (with "things" (instance $things')) (with "root" (instance $root))))
  (core instance $m2 (instantiate $M (with "things" (instance $things')) (with "root" (instance $root))))
  (func (export "check") (param "t" (borrow $thing)) (result u32) (canon lift (core func $m1 "check")))
  (func (export "keep") (param "t" (own $thing)) (result u32) (canon lift (core func $m2 "keep")))
  (func (export "run") (param "x" u32) (result u32) (canon lift (core func $m1 "run")))
  (func (export "bogus") (result u32) (canon lift (core func $m2 "bogus")))
)
"#;

/// The host's state: a log of what the guest did, and the counters' values by id.
#[derive(Default)]
struct Host {
    log: Vec<String>,
    counters: HashMap<u32, u32>,
    next: u32,
}

/// A host thing (its handle's rep is its value).
struct Thing;

/// A host counter (its handle's rep is its id in [`Host::counters`]).
struct Counter;

/// Runs the scenario on `component` and returns everything observable: results (or the fact
/// that a call trapped) and the host's log.
fn run(engine: &Engine, component: &[u8]) -> Vec<String> {
    let component = Component::new(engine, component).expect("failed to compile");
    let mut linker = Linker::<Host>::new(engine);
    let mut things = linker.instance("ns:host/things").unwrap();
    things
        .resource("thing", ResourceType::host::<Thing>(), |mut store, rep| {
            store.data_mut().log.push(format!("dtor thing {rep}"));
            Ok(())
        })
        .unwrap();
    things
        .func_wrap("[constructor]thing", |mut store, (x,): (u32,)| {
            store.data_mut().log.push(format!("new thing {x}"));
            Ok((Resource::<Thing>::new_own(x),))
        })
        .unwrap();
    things
        .func_wrap("[method]thing.get", |_, (t,): (Resource<Thing>,)| {
            Ok((t.rep(),))
        })
        .unwrap();
    let mut root = linker.root();
    root.resource(
        "counter",
        ResourceType::host::<Counter>(),
        |mut store, id| {
            let host = store.data_mut();
            let value = host.counters.remove(&id).unwrap_or_default();
            host.log.push(format!("dtor counter {id} at {value}"));
            Ok(())
        },
    )
    .unwrap();
    root.func_wrap("[constructor]counter", |mut store, (start,): (u32,)| {
        let host = store.data_mut();
        host.next += 1;
        host.counters.insert(host.next, start);
        host.log
            .push(format!("new counter {} at {start}", host.next));
        Ok((Resource::<Counter>::new_own(host.next),))
    })
    .unwrap();
    root.func_wrap(
        "[method]counter.bump",
        |mut store, (c,): (Resource<Counter>,)| {
            let value = store.data_mut().counters.get_mut(&c.rep());
            let value = value.ok_or_else(|| wasmtime::format_err!("no counter {}", c.rep()))?;
            *value += 1;
            Ok((*value,))
        },
    )
    .unwrap();
    root.func_wrap("make", |mut store, (x,): (u32,)| {
        store.data_mut().log.push(format!("make {x}"));
        Ok((Resource::<Thing>::new_own(x * 10),))
    })
    .unwrap();
    root.func_wrap("consume", |mut store, (t,): (Resource<Thing>,)| {
        store.data_mut().log.push(format!("consume {}", t.rep()));
        Ok((t.rep() + 1,))
    })
    .unwrap();
    let mut store = Store::new(engine, Host::default());
    let instance = linker
        .instantiate(&mut store, &component)
        .expect("failed to instantiate");
    let mut seen = Vec::new();

    let run = instance
        .get_typed_func::<(u32,), (u32,)>(&mut store, "run")
        .unwrap();
    for x in [5, 7] {
        let (v,) = run.call(&mut store, (x,)).expect("run failed");
        seen.push(format!("run {x} -> {v}"));
    }
    let check = instance
        .get_typed_func::<(Resource<Thing>,), (u32,)>(&mut store, "check")
        .unwrap();
    for rep in [42, 43] {
        let (v,) = check
            .call(&mut store, (Resource::new_borrow(rep),))
            .expect("check failed");
        seen.push(format!("check {rep} -> {v}"));
    }
    let keep = instance
        .get_typed_func::<(Resource<Thing>,), (u32,)>(&mut store, "keep")
        .unwrap();
    let (v,) = keep
        .call(&mut store, (Resource::new_own(9),))
        .expect("keep failed");
    seen.push(format!("keep 9 -> {v}"));

    // A handle the guest never had: the guest traps.
    let bogus = instance
        .get_typed_func::<(), (u32,)>(&mut store, "bogus")
        .unwrap();
    seen.push(format!(
        "bogus traps: {}",
        bogus.call(&mut store, ()).is_err()
    ));

    seen.extend(std::mem::take(&mut store.data_mut().log));
    seen
}

#[test]
fn resources_at_the_root_of_the_world_match_native() {
    let component = wat::parse_str(COMPONENT).expect("the test component parses");
    let engine = engine();
    let native = run(&engine, &component);
    assert!(
        native.iter().any(|l| l == "bogus traps: true"),
        "{native:#?}"
    );
    for reify in [gc_lower::ReifyMode::Auto, gc_lower::ReifyMode::All] {
        let rewrapped = common::lowered_component(&component, reify);
        let lowered = run(&engine, &rewrapped);
        assert_eq!(lowered, native, "--reify {reify:?}");
    }
}

/// The JS host, for jco's `--map`, logging like the Rust host: `ns:host/things` (with the
/// state the other modules share), and the root imports `counter`, `make` and `consume`.
const THINGS_JS: &str = r#"
export const log = [];
export const state = { next: 0, counters: new Map() };
export class Thing {
  constructor(x) { this.rep = x; log.push(`new thing ${x}`); }
  static wrap(rep) { const t = Object.create(Thing.prototype); t.rep = rep; return t; }
  get() { return this.rep; }
  [Symbol.dispose]() { log.push(`dtor thing ${this.rep}`); }
}
"#;
const COUNTER_JS: &str = r#"
import { log, state } from './host0.js';
export default class Counter {
  constructor(start) {
    state.next += 1;
    this.id = state.next;
    state.counters.set(this.id, start);
    log.push(`new counter ${this.id} at ${start}`);
  }
  bump() { const v = state.counters.get(this.id) + 1; state.counters.set(this.id, v); return v; }
  [Symbol.dispose]() {
    const v = state.counters.get(this.id) ?? 0;
    state.counters.delete(this.id);
    log.push(`dtor counter ${this.id} at ${v}`);
  }
}
"#;
const MAKE_JS: &str = r#"
import { log, Thing } from './host0.js';
export default function make(x) { log.push(`make ${x}`); return Thing.wrap(x * 10); }
"#;
const CONSUME_JS: &str = r#"
import { log } from './host0.js';
export default function consume(t) { log.push(`consume ${t.rep}`); return t.rep + 1; }
"#;

/// The scenario of [`run`] in JS, printing what it saw as one JSON array.
const RUN_MJS: &str = r#"
const things = await import('./host0.js');
const m = await import(process.argv[2]);
const seen = [];
for (const x of [5, 7]) seen.push(`run ${x} -> ${m.run(x)}`);
for (const rep of [42, 43]) seen.push(`check ${rep} -> ${m.check(things.Thing.wrap(rep))}`);
seen.push(`keep 9 -> ${m.keep(things.Thing.wrap(9))}`);
let failed = false;
try { m.bogus(); } catch { failed = true; }
seen.push(`bogus traps: ${failed}`);
console.log(JSON.stringify([...seen, ...things.log]));
"#;

#[test]
fn resources_at_the_root_of_the_world_run_on_v8_like_native_wasmtime() {
    let component = wat::parse_str(COMPONENT).expect("the test component parses");
    let native = run(&engine(), &component);
    let hosts = [
        ("ns:host/things", THINGS_JS),
        ("counter", COUNTER_JS),
        ("make", MAKE_JS),
        ("consume", CONSUME_JS),
    ];
    for reify in [gc_lower::ReifyMode::Auto, gc_lower::ReifyMode::All] {
        let rewrapped = common::lowered_component(&component, reify);
        let seen = run_on_v8(&rewrapped, &hosts, RUN_MJS);
        let seen: Vec<String> = serde_json::from_value(seen).unwrap();
        assert_eq!(seen, native, "--reify {reify:?} on V8");
    }
}

/// A callback-lifted export that takes a borrow of the host's `thing`, yields, and reads the
/// thing in its callback: the borrow the host lent lives in the task's scope until the task
/// returns (`check-later`, which drops it first), and returning while the guest still holds
/// it traps (`keep-later`).
const ASYNC_COMPONENT: &str = r#"
(component
  (import "ns:host/things" (instance $things
    (export "thing" (type $thing (sub resource)))
    (export "[method]thing.get" (func (param "self" (borrow $thing)) (result u32)))))
  (alias export $things "thing" (type $thing'))
  (import "thing" (type $thing (eq $thing')))
  (core func $thing.get (canon lower (func $things "[method]thing.get")))
  (core func $thing.drop (canon resource.drop $thing))
  (core func $ret (canon task.return (result u32)))
  (core module $M
    (import "" "get" (func $get (param i32) (result i32)))
    (import "" "drop" (func $drop (param i32)))
    (import "" "ret" (func $ret (param i32)))
    (global $t (mut i32) (i32.const 0))
    (global $keep (mut i32) (i32.const 0))
    (func (export "later") (param i32) (result i32)
      (global.set $t (local.get 0))
      (global.set $keep (i32.const 0))
      (i32.const 1))
    (func (export "keep") (param i32) (result i32)
      (global.set $t (local.get 0))
      (global.set $keep (i32.const 1))
      (i32.const 1))
    (func (export "cb") (param i32 i32 i32) (result i32)
      (local $v i32)
      (local.set $v (call $get (global.get $t)))
      (if (i32.eqz (global.get $keep)) (then (call $drop (global.get $t))))
      (call $ret (i32.add (local.get $v) (i32.const 1)))
      (i32.const 0)))
  (core instance $m (instantiate $M (with "" (instance
    (export "get" (func $thing.get)) (export "drop" (func $thing.drop))
    (export "ret" (func $ret))))))
  (func (export "check-later") async (param "t" (borrow $thing)) (result u32)
    (canon lift (core func $m "later") async (callback (func $m "cb"))))
  (func (export "keep-later") async (param "t" (borrow $thing)) (result u32)
    (canon lift (core func $m "keep") async (callback (func $m "cb")))))
"#;

/// Calls `check-later` with borrows of things 42 and 7, then `keep-later` with 5, on
/// wasmtime with its async support: each call's result, or its error.
fn run_async(component: &[u8]) -> Vec<String> {
    use futures::executor::block_on;
    let engine =
        wasmtime::Engine::new(&gc_lower::run::async_config()).expect("failed to create the engine");
    let component = Component::new(&engine, component).expect("failed to compile");
    let mut linker = Linker::<()>::new(&engine);
    let mut things = linker.instance("ns:host/things").unwrap();
    things
        .resource("thing", ResourceType::host::<Thing>(), |_, _| Ok(()))
        .unwrap();
    things
        .func_wrap("[method]thing.get", |_, (t,): (Resource<Thing>,)| {
            Ok((t.rep(),))
        })
        .unwrap();
    let mut store = Store::new(&engine, ());
    let instance =
        block_on(linker.instantiate_async(&mut store, &component)).expect("failed to instantiate");
    let mut seen = Vec::new();
    for (name, rep) in [("check-later", 42), ("check-later", 7), ("keep-later", 5)] {
        let f = instance
            .get_typed_func::<(Resource<Thing>,), (u32,)>(&mut store, name)
            .unwrap();
        match block_on(f.call_async(&mut store, (Resource::new_borrow(rep),))) {
            Ok((v,)) => seen.push(format!("{name} {rep} -> {v}")),
            Err(e) => seen.push(format!("{name} {rep} traps: {}", trap_reason(&e))),
        }
    }
    seen
}

/// Whether `e` is the scope check's trap, in wasmtime's words or the lowering's.
fn trap_reason(e: &wasmtime::Error) -> &'static str {
    let text = format!("{e:?}");
    if text.contains("borrow handles still remain") || text.contains("borrow-handles-still-remain")
    {
        "borrow handles still remain"
    } else {
        panic!("an unexpected error: {text}")
    }
}

#[test]
fn async_exports_hold_a_host_borrow_until_they_return() {
    let component = wat::parse_str(ASYNC_COMPONENT).expect("the test component parses");
    let native = run_async(&component);
    assert_eq!(
        native,
        [
            "check-later 42 -> 43",
            "check-later 7 -> 8",
            "keep-later 5 traps: borrow handles still remain"
        ],
        "the original on wasmtime"
    );
    for reify in [gc_lower::ReifyMode::Auto, gc_lower::ReifyMode::All] {
        let rewrapped = common::lowered_component(&component, reify);
        assert_eq!(run_async(&rewrapped), native, "--reify {reify:?}");
    }
}
