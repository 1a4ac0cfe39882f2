//! The benchmark workloads agree across forms: each kernel of every workload (the `.wat` ones
//! and the C program `c-memory`, built by clang-19) returns in the graph and in both lowered
//! forms what the original component returns on wasmtime's native component runtime, so that
//! the timings compare the same work. `GC_LOWER_REQUIRE_CLANG` (set by `.ci/run`) makes a
//! missing clang-19 a failure rather than a skip. The async ABI's workloads run in the forms that
//! run them.

#[test]
fn every_workload_gives_the_native_results_in_every_form() {
    let workloads = benches::workloads().expect("failed to build the workloads");
    if std::env::var_os("GC_LOWER_REQUIRE_CLANG").is_some() {
        assert!(
            workloads.iter().any(|w| w.name == "c-memory"),
            "GC_LOWER_REQUIRE_CLANG is set but the c-memory workload was not built"
        );
    }
    for workload in workloads {
        let prepared = benches::Prepared::new(workload)
            .unwrap_or_else(|e| panic!("failed to prepare `{}`: {e:?}", workload.name));
        let native = prepared
            .check()
            .unwrap_or_else(|e| panic!("`{}`: {e:?}", workload.name));
        println!("{}: {native:?}", workload.name);
    }
}

/// The async ABI's workloads agree across the four forms.
#[test]
fn every_async_workload_gives_the_native_results() {
    for workload in benches::ASYNC_WORKLOADS {
        let prepared = benches::Prepared::with_forms(workload, &benches::Form::ALL)
            .unwrap_or_else(|e| panic!("failed to prepare `{}`: {e:?}", workload.name));
        let native = prepared
            .check()
            .unwrap_or_else(|e| panic!("`{}`: {e:?}", workload.name));
        println!("{}: {native:?}", workload.name);
    }
}
