//! Run time of each workload's kernels, and instantiation time, in the four forms.
//!
//! Ids: `{workload}/{kernel}/{form}` and `instantiate/{workload}/{form}`, where form is
//! `native`, `graph`, `reify-all` or `reify-auto` (see [`benches::Form`]), the async ABI's
//! workloads ([`benches::ASYNC_WORKLOADS`]) included. Each kernel is checked against
//! the native result before it is timed.

use benches::{Form, Prepared};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

fn config() -> Criterion {
    let (samples, warm_up, measurement) = benches::timing();
    Criterion::default()
        .sample_size(samples)
        .warm_up_time(warm_up)
        .measurement_time(measurement)
}

fn prepared() -> Vec<Prepared> {
    let sync = benches::workloads().expect("failed to build the workloads");
    sync.into_iter()
        .chain(benches::ASYNC_WORKLOADS)
        .map(|w| {
            let p = Prepared::with_forms(w, &Form::ALL).expect("failed to prepare the workload");
            p.check()
                .expect("a lowered form disagrees with the native run");
            p
        })
        .collect()
}

fn kernels(c: &mut Criterion) {
    for p in prepared() {
        let mut group = c.benchmark_group(p.workload.name);
        for k in p.workload.kernels {
            for form in p.forms.iter().map(|c| c.form()) {
                let mut instance = p.ready(form).expect("failed to instantiate");
                let bound = instance.bind(k).expect("failed to find the export");
                group.bench_function(BenchmarkId::new(k.name, form.name()), |b| {
                    b.iter(|| instance.call(&bound, k.arg).expect("the kernel trapped"))
                });
            }
        }
        group.finish();
    }
}

fn instantiation(c: &mut Criterion) {
    let mut group = c.benchmark_group("instantiate");
    for p in prepared() {
        for compiled in &p.forms {
            group.bench_function(
                BenchmarkId::new(p.workload.name, compiled.form().name()),
                // The store is dropped outside the timed region.
                |b| {
                    b.iter_with_large_drop(|| {
                        compiled.instantiate().expect("failed to instantiate")
                    })
                },
            );
        }
    }
    group.finish();
}

criterion_group! {
    name = runtime;
    config = config();
    targets = kernels, instantiation
}
criterion_main!(runtime);
