//! gc-lower's own cost: lowering time against wasmparser validation of the same input.
//!
//! Inputs: every hand-written workload ([`benches::WORKLOADS`]) and the generated component of
//! [`benches::generated`] (4000 functions in a module instantiated twice, 1000 in a module
//! instantiated once), whose lowered forms are first checked against the native run, and the
//! componentize-py app of [`benches::apps::python_app`] when componentize-py is installed (input
//! `python-app`; its lowered forms are checked by `gc-lower/tests/componentize_py.rs`). Ids:
//! `lower/{input}/{validate|graph|reify-all|reify-auto}` (`graph`:
//! `gc_lower::module_graph::lower_graph`). Output sizes are printed by the `summarize` binary.

use benches::{Form, Prepared, ReifyMode, WORKLOADS};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

fn config() -> Criterion {
    let (samples, warm_up, measurement) = benches::timing();
    Criterion::default()
        .sample_size(samples)
        .warm_up_time(warm_up)
        .measurement_time(measurement)
}

fn lowering(c: &mut Criterion) {
    let generated = benches::generated();
    Prepared::new(generated)
        .and_then(|p| p.check())
        .expect("a lowered form of the generated component disagrees with the native run");
    let mut inputs: Vec<(&str, Vec<u8>)> = WORKLOADS
        .iter()
        .copied()
        .chain([generated])
        .map(|w| {
            let bytes = benches::component_bytes(&w).expect("failed to parse the input");
            (w.name, bytes)
        })
        .collect();
    match benches::apps::python_app().expect("failed to build the componentize-py app") {
        Some(app) => inputs.push(("python-app", app)),
        None => eprintln!("componentize-py not found: `lower/python-app` is not measured"),
    }
    let mut group = c.benchmark_group("lower");
    for (name, bytes) in &inputs {
        group.bench_function(BenchmarkId::new(*name, "validate"), |b| {
            b.iter(|| benches::validate_component(bytes).expect("invalid input"))
        });
        group.bench_function(BenchmarkId::new(*name, Form::Graph.name()), |b| {
            b.iter(|| {
                gc_lower::module_graph::lower_graph(bytes, ReifyMode::Auto)
                    .expect("failed to lower")
            })
        });
        for (form, mode) in [(Form::All, ReifyMode::All), (Form::Auto, ReifyMode::Auto)] {
            group.bench_function(BenchmarkId::new(*name, form.name()), |b| {
                b.iter(|| benches::lower(bytes, mode).expect("failed to lower"))
            });
        }
    }
    group.finish();
}

criterion_group! {
    name = lower;
    config = config();
    targets = lowering
}
criterion_main!(lower);
