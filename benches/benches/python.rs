//! Run time of the componentize-py app (`tests/python/app`, built by [`benches::python_app`];
//! skipped with a message when componentize-py is not installed) on wasmtime: the original
//! component against the lowered module re-wrapped (`gc_lower::rewrap`), both on wasmtime's
//! component runtime with wasmtime-wasi (the app imports WASI, which has no core-level host on
//! wasmtime, so the module graph is measured on V8 only: `benches/v8/python.mjs`).
//!
//! Ids: `python-app/{call}/{native|reify-all|reify-auto|reify-all-helper}`; `reify-all-helper`
//! is `--reify all` with one helper call per load and store
//! ([`MemoryAccess::Helper`], the emitter before the inline one, kept to compare with). Every
//! call's result in each form is checked against the original's before anything is timed.

use benches::{MemoryAccess, ReifyMode};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use wasmtime::component::{Component, Func, Linker, ResourceTable, Val};
use wasmtime::{Engine, Store};

fn config() -> Criterion {
    let (samples, warm_up, measurement) = benches::timing();
    Criterion::default()
        .sample_size(samples)
        .warm_up_time(warm_up)
        .measurement_time(measurement)
}

struct Wasi {
    ctx: wasmtime_wasi::WasiCtx,
    table: ResourceTable,
}

impl wasmtime_wasi::WasiView for Wasi {
    fn ctx(&mut self) -> wasmtime_wasi::WasiCtxView<'_> {
        wasmtime_wasi::WasiCtxView {
            ctx: &mut self.ctx,
            table: &mut self.table,
        }
    }
}

/// The calls: name, export, arguments (the same as `python.mjs`).
fn calls() -> Vec<(&'static str, &'static str, Vec<Val>)> {
    let items = (0..100u32)
        .map(|i| {
            Val::Record(vec![
                (
                    "name".into(),
                    Val::String(format!("item-{}", (i * 37) % 100)),
                ),
                ("count".into(), Val::U32((i * 7919) % 50)),
            ])
        })
        .collect();
    let numbers = (0..10_000u32)
        .map(|i| Val::S32(i.wrapping_mul(2_654_435_761) as i32))
        .collect();
    vec![
        (
            "greet",
            "greet",
            vec![Val::String(
                "wörld, a string that crosses the boundary".into(),
            )],
        ),
        ("sum (10 000 s32)", "sum", vec![Val::List(numbers)]),
        ("describe (100 records)", "describe", vec![Val::List(items)]),
        ("parse", "parse", vec![Val::String("-12345678901".into())]),
        ("fib (2000 loop iterations)", "fib", vec![Val::U32(2000)]),
    ]
}

/// An instance of `component` with WASI, in its own store.
fn instantiate(engine: &Engine, component: &[u8]) -> (Store<Wasi>, wasmtime::component::Instance) {
    let component = Component::new(engine, component).expect("the component compiles");
    let mut linker: Linker<Wasi> = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).expect("WASI links");
    let wasi = Wasi {
        ctx: wasmtime_wasi::WasiCtx::builder().build(),
        table: ResourceTable::new(),
    };
    let mut store = Store::new(engine, wasi);
    let instance = linker
        .instantiate(&mut store, &component)
        .expect("the component instantiates");
    (store, instance)
}

fn call(store: &mut Store<Wasi>, func: Func, args: &[Val]) -> Val {
    let mut results = [Val::Bool(false)];
    func.call(&mut *store, args, &mut results)
        .expect("the call trapped");
    let [result] = results;
    result
}

fn python_app(c: &mut Criterion) {
    let Some(original) = benches::python_app().expect("failed to build the componentize-py app")
    else {
        eprintln!("componentize-py not found: `python-app` is not measured");
        return;
    };
    let mut config = benches::config(benches::Form::Auto);
    config.wasm_component_model(true);
    let engine = Engine::new(&config).expect("engine");
    let mut forms = vec![("native", original.clone())];
    for (name, mode, access) in [
        ("reify-all", ReifyMode::All, MemoryAccess::Inline),
        ("reify-auto", ReifyMode::Auto, MemoryAccess::Inline),
        ("reify-all-helper", ReifyMode::All, MemoryAccess::Helper),
    ] {
        let lowered = benches::lower_with(&original, mode, access).expect("lowering failed");
        forms.push((
            name,
            gc_lower::rewrap(&lowered).expect("re-wrapping failed"),
        ));
    }
    let mut instances: Vec<_> = forms
        .iter()
        .map(|(name, bytes)| (*name, instantiate(&engine, bytes)))
        .collect();
    let mut group = c.benchmark_group("python-app");
    for (label, export, args) in calls() {
        let mut expected = None;
        for (form, (store, instance)) in &mut instances {
            let func = instance.get_func(&mut *store, export).expect("export");
            let got = call(store, func, &args);
            match &expected {
                None => expected = Some(got),
                Some(e) => assert_eq!(&got, e, "`{export}` in form {form}"),
            }
            group.bench_function(BenchmarkId::new(label, *form), |b| {
                b.iter(|| call(store, func, &args))
            });
        }
    }
    group.finish();
}

criterion_group! {
    name = python;
    config = config();
    targets = python_app
}
criterion_main!(python);
