//! The body of the `python` and `js` benches: an app component in every form, each call timed
//! in each form after its result is checked against the original's.

use criterion::{BenchmarkId, Criterion};
use wasmtime::Engine;
use wasmtime::component::Val;

/// The criterion settings of [`benches::timing`].
pub fn config() -> Criterion {
    let (samples, warm_up, measurement) = benches::timing();
    Criterion::default()
        .sample_size(samples)
        .warm_up_time(warm_up)
        .measurement_time(measurement)
}

/// Benchmarks `calls` (label, export, arguments) on `original` and its lowered forms, under
/// `group/{label}/{native|reify-all|reify-auto|reify-all-helper}`. Panics when a form's
/// result differs from the original's.
pub fn bench(
    c: &mut Criterion,
    group: &str,
    original: &[u8],
    calls: Vec<(&'static str, &'static str, Vec<Val>)>,
) {
    let mut config = benches::config(benches::Form::Auto);
    config.wasm_component_model(true);
    let engine = Engine::new(&config).expect("engine");
    let mut forms = vec![("native", original.to_vec())];
    for (name, mode, access) in benches::LOWERED_FORMS {
        let lowered = benches::lower_with(original, mode, access).expect("lowering failed");
        forms.push((
            name,
            gc_lower::rewrap(&lowered).expect("re-wrapping failed"),
        ));
    }
    let mut instances: Vec<_> = forms
        .iter()
        .map(|(name, bytes)| (*name, benches::apps::instantiate(&engine, bytes)))
        .collect();
    let mut group = c.benchmark_group(group);
    for (label, export, args) in calls {
        let mut expected = None;
        for (form, (store, instance)) in &mut instances {
            let func = instance.get_func(&mut *store, export).expect("export");
            let got = benches::apps::call(store, func, &args);
            match &expected {
                None => expected = Some(got),
                Some(e) => assert_eq!(&got, e, "`{export}` in form {form}"),
            }
            group.bench_function(BenchmarkId::new(label, *form), |b| {
                b.iter(|| benches::apps::call(store, func, &args))
            });
        }
    }
    group.finish();
}
