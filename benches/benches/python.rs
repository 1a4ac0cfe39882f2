//! Run time of the componentize-py app (`tests/python/app`, built by
//! [`benches::apps::python_app`]; skipped with a message when componentize-py is not installed)
//! on wasmtime: the original component against the lowered module re-wrapped
//! (`gc_lower::rewrap`), both on wasmtime's component runtime with wasmtime-wasi (the app
//! imports WASI, which has no core-level host on wasmtime, so the module graph is measured
//! only by `benches/v8/python.mjs`, on V8 and under Bun).
//!
//! Ids: `python-app/{call}/{native|reify-all|reify-auto|reify-all-helper}`; `reify-all-helper`
//! is `--reify all` with one helper call per load and store
//! ([`benches::MemoryAccess::Helper`], the emitter before the inline one, kept to compare
//! with). Every call's result in each form is checked against the original's before anything
//! is timed. The body is shared with the `js` bench (`common/app_forms.rs`).

use criterion::{Criterion, criterion_group, criterion_main};

#[path = "common/app_forms.rs"]
mod app_forms;

fn python_app(c: &mut Criterion) {
    let Some(original) =
        benches::apps::python_app().expect("failed to build the componentize-py app")
    else {
        eprintln!("componentize-py not found: `python-app` is not measured");
        return;
    };
    let calls = benches::apps::calls(|i| i.wrapping_mul(2_654_435_761) as i32);
    app_forms::bench(c, "python-app", &original, calls);
}

criterion_group! {
    name = python;
    config = app_forms::config();
    targets = python_app
}
criterion_main!(python);
