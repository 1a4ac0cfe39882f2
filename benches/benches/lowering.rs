//! gc-lower's own cost: lowering time against wasmparser validation of the same input, and
//! output size against the input's core modules.
//!
//! Inputs: every workload and a generated component ([`benches::generate`]) with 4000
//! functions in a module instantiated twice and 1000 in a module instantiated once. Ids:
//! `lower/{input}/{validate|reify-all|reify-auto}`. Before timing, a size table is printed
//! (bytes): the input component, the sum and count of the core modules it defines, and the
//! two lowered outputs.

use benches::{Form, Kernel, Prepared, ReifyMode, Sig, WORKLOADS, Workload};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

/// Functions in the generated component's module instantiated twice / once.
const LIB_FUNCS: usize = 4000;
const APP_FUNCS: usize = 1000;

fn config() -> Criterion {
    let (samples, warm_up, measurement) = benches::timing();
    Criterion::default()
        .sample_size(samples)
        .warm_up_time(warm_up)
        .measurement_time(measurement)
}

/// The generated component as a workload, with two calls to check the lowered forms by.
fn generated() -> Workload {
    let wat: &'static str =
        Box::leak(benches::generate::large_component(LIB_FUNCS, APP_FUNCS).into_boxed_str());
    const KERNELS: &[Kernel] = &[
        Kernel {
            name: "deep",
            export: "a-f3990",
            sig: Sig::U32ToU32,
            arg: 5,
        },
        Kernel {
            name: "app",
            export: "h999",
            sig: Sig::U32ToU32,
            arg: 77,
        },
    ];
    Workload {
        name: "generated",
        wat,
        setup: &[],
        kernels: KERNELS,
    }
}

fn lowering(c: &mut Criterion) {
    let gen_workload = generated();
    let check = Prepared::new(gen_workload).expect("failed to prepare the generated component");
    check
        .check()
        .expect("a lowered form of the generated component disagrees with the native run");
    drop(check);

    let inputs: Vec<Workload> = WORKLOADS.iter().copied().chain([gen_workload]).collect();
    println!(
        "{:<10} {:>10} {:>14} {:>8} {:>12} {:>12}",
        "input", "component", "core modules", "modules", "reify-all", "reify-auto"
    );
    let mut group = c.benchmark_group("lower");
    for w in &inputs {
        let bytes = benches::component_bytes(w).expect("failed to parse the input");
        let sizes = benches::core_module_sizes(&bytes).expect("failed to read the input");
        let all = benches::lower(&bytes, ReifyMode::All).expect("failed to lower");
        let auto = benches::lower(&bytes, ReifyMode::Auto).expect("failed to lower");
        println!(
            "{:<10} {:>10} {:>14} {:>8} {:>12} {:>12}",
            w.name,
            bytes.len(),
            sizes.iter().sum::<usize>(),
            sizes.len(),
            all.len(),
            auto.len()
        );
        group.bench_function(BenchmarkId::new(w.name, "validate"), |b| {
            b.iter(|| benches::validate_component(&bytes).expect("invalid input"))
        });
        for (form, mode) in [(Form::All, ReifyMode::All), (Form::Auto, ReifyMode::Auto)] {
            group.bench_function(BenchmarkId::new(w.name, form.name()), |b| {
                b.iter(|| benches::lower(&bytes, mode).expect("failed to lower"))
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
