//! Run time of the componentize-js app (`tests/js/app`, StarlingMonkey, built by
//! [`benches::apps::js_app`]; skipped with a message when `npm ci` has not been run in
//! `tests/node`) on wasmtime, as the `python` bench measures the componentize-py app: the
//! original component against the lowered module re-wrapped, on wasmtime's component runtime
//! with wasmtime-wasi.
//!
//! Ids: `js-app/{call}/{native|reify-all|reify-auto|reify-all-helper}`. `sum` adds 10 000
//! non-negative numbers: componentize-js 0.23.0 aborts when an export returns a negative `s64`.

use criterion::{Criterion, criterion_group, criterion_main};

#[path = "common/app_forms.rs"]
mod app_forms;

fn js_app(c: &mut Criterion) {
    let Some(original) = benches::apps::js_app().expect("failed to build the componentize-js app")
    else {
        eprintln!(
            "componentize-js not installed (`npm ci` in tests/node): `js-app` is not measured"
        );
        return;
    };
    let calls = benches::apps::calls(|i| (i.wrapping_mul(2_654_435_761) >> 1) as i32);
    app_forms::bench(c, "js-app", &original, calls);
}

criterion_group! {
    name = js;
    config = app_forms::config();
    targets = js_app
}
criterion_main!(js);
