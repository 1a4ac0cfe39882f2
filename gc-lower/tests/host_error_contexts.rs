//! Error contexts at the host boundary: made by the component and returned to the host (one
//! dropped by the component right after an `async` export's `task.return`), passed
//! back in by the host, passed to a host import and returned by it, and kept alive by the
//! component's handles only. The same host serves the original component on wasmtime's
//! component runtime and the lowered output re-wrapped as a component, in both reify modes;
//! what each call returns, and which calls fail, must agree.
//!
//! The component drops only the handles it made: wasmtime 48 does not count a handle that it
//! lowers into a component's table from the host (`lower_error_context_to_index`), so
//! dropping one would free an error context that other handles still name, natively and in
//! the re-wrapped output alike (README).

mod common;

use futures::executor::block_on;
use wasmtime::component::{Component, ErrorContext, Linker, Val};
use wasmtime::{Config, Engine, Store};

const COMPONENT: &str = r#"
(component
  (import "ns:host/errors" (instance $errors
    (export "echo" (func (param "e" error-context) (result error-context)))))
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
  (alias export $errors "echo" (func $echo))
  (core func $echo' (canon lower (func $echo)))
  (core func $new (canon error-context.new (memory $memory)))
  (core func $message (canon error-context.debug-message (memory $memory) (realloc $realloc)))
  (core func $drop (canon error-context.drop))
  (core func $task-return (canon task.return (result error-context)))
  (core module $M
    (import "libc" "memory" (memory 1))
    (import "host" "echo" (func $echo (param i32) (result i32)))
    (import "ec" "new" (func $new (param i32 i32) (result i32)))
    (import "ec" "message" (func $message (param i32 i32)))
    (import "ec" "drop" (func $drop (param i32)))
    (import "ec" "task-return" (func $task_return (param i32)))
    ;; The handles `make` returned, kept until `forget`.
    (global $kept (mut i32) (i32.const 0))
    (global $count (mut i32) (i32.const 0))
    ;; make (ptr, len) -> handle, kept at 64 + 4 * count.
    (func $make (export "make") (param i32 i32) (result i32)
      (local $h i32)
      (local.set $h (call $new (local.get 0) (local.get 1)))
      (i32.store (i32.add (i32.const 64) (i32.shl (global.get $count) (i32.const 2)))
        (local.get $h))
      (global.set $count (i32.add (global.get $count) (i32.const 1)))
      (local.get $h))
    ;; make-async (ptr, len): `make`, its handle returned by `task.return`.
    (func (export "make-async") (param i32 i32) (result i32)
      (call $task_return (call $make (local.get 0) (local.get 1)))
      (i32.const 0))
    ;; make-async-dropped (ptr, len): a new error context returned by `task.return`, its
    ;; handle dropped right after (wasmtime has lifted it by then).
    (func (export "make-async-dropped") (param i32 i32) (result i32)
      (local $h i32)
      (local.set $h (call $new (local.get 0) (local.get 1)))
      (call $task_return (local.get $h))
      (call $drop (local.get $h))
      (i32.const 0))
    (func (export "callback") (param i32 i32 i32) (result i32) unreachable)
    ;; read (handle) -> (message, handle).
    (func (export "read") (param $h i32) (result i32)
      (call $message (local.get $h) (i32.const 16))
      (i32.store (i32.const 24) (local.get $h))
      (i32.const 16))
    ;; round-trip (ptr, len) -> (message, handle): a new error context passed to the host
    ;; and back.
    (func (export "round-trip") (param i32 i32) (result i32)
      (local $b i32)
      (local.set $b (call $echo (call $new (local.get 0) (local.get 1))))
      (call $message (local.get $b) (i32.const 16))
      (i32.store (i32.const 24) (local.get $b))
      (i32.const 16))
    ;; echo-kept () -> (message, handle): the first kept error context through the host.
    (func (export "echo-kept") (result i32)
      (local $b i32)
      (local.set $b (call $echo (i32.load (i32.const 64))))
      (call $message (local.get $b) (i32.const 16))
      (i32.store (i32.const 24) (local.get $b))
      (i32.const 16))
    ;; forget (): drops every kept handle.
    (func (export "forget")
      (block $done
        (loop $each
          (br_if $done (i32.eqz (global.get $count)))
          (global.set $count (i32.sub (global.get $count) (i32.const 1)))
          (call $drop (i32.load (i32.add (i32.const 64)
            (i32.shl (global.get $count) (i32.const 2)))))
          (br $each)))))
  (core instance $m (instantiate $M
    (with "libc" (instance $libc))
    (with "host" (instance (export "echo" (func $echo'))))
    (with "ec" (instance
      (export "new" (func $new)) (export "message" (func $message))
      (export "drop" (func $drop)) (export "task-return" (func $task-return))))))
  (type $read (tuple string u32))
  (func (export "make") (param "s" string) (result error-context)
    (canon lift (core func $m "make") (memory $memory) (realloc $realloc)))
  (func (export "make-async") async (param "s" string) (result error-context)
    (canon lift (core func $m "make-async") async (callback (func $m "callback"))
      (memory $memory) (realloc $realloc)))
  (func (export "make-async-dropped") async (param "s" string) (result error-context)
    (canon lift (core func $m "make-async-dropped") async (callback (func $m "callback"))
      (memory $memory) (realloc $realloc)))
  (func (export "read") (param "e" error-context) (result $read)
    (canon lift (core func $m "read") (memory $memory) (realloc $realloc)))
  (func (export "round-trip") (param "s" string) (result $read)
    (canon lift (core func $m "round-trip") (memory $memory) (realloc $realloc)))
  (func (export "echo-kept") (result $read)
    (canon lift (core func $m "echo-kept") (memory $memory) (realloc $realloc)))
  (func (export "forget") (canon lift (core func $m "forget"))))
"#;

/// A wasmtime engine with error contexts on.
fn engine() -> Engine {
    let mut config: Config = gc_lower::run::config();
    config
        .concurrency_support(true)
        .wasm_component_model_async(true)
        .wasm_component_model_error_context(true);
    Engine::new(&config).expect("failed to create the engine")
}

/// Runs the scenario on `component` (the original or a re-wrapped output) and says what each
/// step returned or that it failed; `make-async` and what reads its result only `with_async`.
fn run(engine: &Engine, component: &[u8], with_async: bool) -> Vec<String> {
    let component = Component::new(engine, component).expect("failed to compile");
    let mut linker = Linker::<()>::new(engine);
    linker
        .instance("ns:host/errors")
        .unwrap()
        .func_wrap("echo", |_, (e,): (ErrorContext,)| Ok((e,)))
        .unwrap();
    let mut store = Store::new(engine, ());
    let instance =
        block_on(linker.instantiate_async(&mut store, &component)).expect("failed to instantiate");
    let func = |store: &mut Store<()>, name: &str| {
        instance
            .get_func(&mut *store, name)
            .unwrap_or_else(|| panic!("no `{name}`"))
    };
    let (make, make_async, make_async_dropped, read, round_trip, echo_kept, forget) = (
        func(&mut store, "make"),
        func(&mut store, "make-async"),
        func(&mut store, "make-async-dropped"),
        func(&mut store, "read"),
        func(&mut store, "round-trip"),
        func(&mut store, "echo-kept"),
        func(&mut store, "forget"),
    );
    let mut seen = Vec::new();
    let mut call =
        |store: &mut Store<()>, f: wasmtime::component::Func, name: &str, args: &[Val]| {
            let mut results = vec![Val::Bool(false); f.ty(&*store).results().len()];
            let outcome = block_on(f.call_async(&mut *store, args, &mut results));
            let seen_now = match &outcome {
                Ok(()) => format!(
                    "{name} -> {}",
                    results.iter().map(show).collect::<Vec<_>>().join(", ")
                ),
                Err(_) => format!("{name} fails"),
            };
            seen.push(seen_now);
            outcome.ok().map(|()| results)
        };
    let string = |s: &str| Val::String(s.into());
    let e1 = call(&mut store, make, "make boom", &[string("boom")]).expect("make")[0].clone();
    let e2 = call(&mut store, make, "make ünï", &[string("ünïcødé ✓")]).expect("make")[0].clone();
    let e3 = with_async.then(|| {
        call(
            &mut store,
            make_async_dropped,
            "make-async-dropped",
            &[string("gone")],
        );
        call(&mut store, make_async, "make-async", &[string("later")]).expect("make")[0].clone()
    });
    call(&mut store, read, "read e1", std::slice::from_ref(&e1));
    call(&mut store, read, "read e2", std::slice::from_ref(&e2));
    if let Some(e3) = &e3 {
        call(&mut store, read, "read e3", std::slice::from_ref(e3));
    }
    call(&mut store, read, "read e1", std::slice::from_ref(&e1));
    call(
        &mut store,
        round_trip,
        "round-trip",
        &[string("through the host")],
    );
    call(&mut store, round_trip, "round-trip", &[string("")]);
    call(&mut store, echo_kept, "echo-kept", &[]);
    call(&mut store, read, "read e2", std::slice::from_ref(&e2));
    // Once the component drops its handles, the host's values name nothing.
    call(&mut store, forget, "forget", &[]);
    call(
        &mut store,
        read,
        "read e1 after forget",
        std::slice::from_ref(&e1),
    );
    // The instance may have trapped; a new error context still works in a new store in
    // both, which the other tests cover.
    seen
}

/// A result as both hosts show it: a string quoted, a tuple's items joined by spaces.
fn show(v: &Val) -> String {
    match v {
        Val::ErrorContext(_) => "error-context".into(),
        Val::String(s) => format!("{s:?}"),
        Val::U32(n) => n.to_string(),
        Val::Tuple(items) => items.iter().map(show).collect::<Vec<_>>().join(" "),
        other => panic!("unexpected result {other:?}"),
    }
}

#[test]
fn error_contexts_at_the_host_boundary_match_native() {
    let component = wat::parse_str(COMPONENT).expect("the test component parses");
    let engine = engine();
    let native = run(&engine, &component, true);
    assert!(
        native.iter().any(|l| l.contains("through the host"))
            && native.iter().any(|l| l.starts_with("read e3 -> \"later\""))
            && native
                .iter()
                .any(|l| l == "make-async-dropped -> error-context"),
        "{native:#?}"
    );
    for reify in [gc_lower::ReifyMode::Auto, gc_lower::ReifyMode::All] {
        let rewrapped = common::lowered_component(&component, reify);
        let lowered = run(&engine, &rewrapped, true);
        assert_eq!(lowered, native, "--reify {reify:?}");
    }
}

/// The JS host of `ns:host/errors`, for jco's `--map`.
const ERRORS_JS: &str = "export function echo(e) { return e; }\n";

/// The scenario of [`run`] in JS, printing what it saw as one JSON array.
const RUN_MJS: &str = r#"
const m = await import(process.argv[2]);
const seen = [];
const show = (v) => v === undefined ? '' : Array.isArray(v)
  ? v.map(show).join(' ') : typeof v === 'string' ? JSON.stringify(v)
  : String(v);
const call = (name, f, ...args) => {
  try { const r = f(...args); seen.push(`${name} -> ${show(r)}`); return r; }
  catch (e) { seen.push(`${name} fails`); }
};
// jco gives the host an error context as a number.
const made = (name, s, f = m.make) => {
  try { const e = f(s); seen.push(`${name} -> error-context`); return e; }
  catch (e) { seen.push(`${name} fails`); }
};
const e1 = made('make boom', 'boom');
const e2 = made('make ünï', 'ünïcødé ✓');
call('read e1', m.read, e1);
call('read e2', m.read, e2);
call('read e1', m.read, e1);
call('round-trip', m.roundTrip, 'through the host');
call('round-trip', m.roundTrip, '');
call('echo-kept', m.echoKept);
call('read e2', m.read, e2);
call('forget', m.forget);
call('read e1 after forget', m.read, e1);
console.log(JSON.stringify(seen));
"#;

#[test]
fn error_contexts_at_the_host_boundary_run_on_v8_like_native_wasmtime() {
    let component = wat::parse_str(COMPONENT).expect("the test component parses");
    // jco calls an `async` export only with JSPI, which `run_on_v8` does not turn on: the
    // script leaves out `make-async` and what reads its result.
    let native = run(&engine(), &component, false);
    let hosts = [("ns:host/errors", ERRORS_JS)];
    for reify in [gc_lower::ReifyMode::Auto, gc_lower::ReifyMode::All] {
        let rewrapped = common::lowered_component(&component, reify);
        let seen = common::run_on_v8(&rewrapped, &hosts, RUN_MJS);
        let seen: Vec<String> = serde_json::from_value(seen).unwrap();
        assert_eq!(seen, native, "--reify {reify:?} on V8");
        // The module graph, under jco's bindings of the re-wrapped single module.
        let graph = gc_lower::module_graph::lower_graph(&component, reify).unwrap();
        let seen = common::run_on_v8_with(&rewrapped, &hosts, RUN_MJS, Some(&graph));
        let seen: Vec<String> = serde_json::from_value(seen).unwrap();
        assert_eq!(seen, native, "module graph, --reify {reify:?} on V8");
    }
}
