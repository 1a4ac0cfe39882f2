//! One call of an app component, repeated, on wasmtime with a `perf` map: where the time of a
//! lowered form goes.
//!
//! ```sh
//! cargo build -p benches --bin app-profile
//! perf record -g target/debug/app-profile APP.wasm --reify all --call fib --repeat 200
//! perf report --no-children
//! ```
//!
//! Lowers the component `APP.wasm` (a WASI app such as the componentize-py app, built by
//! [`benches::apps::python_app`]) with `--reify MODE` (`native` runs the component itself) and
//! `--memory-access` (the emitter of loads and stores; default `fast-path`; `inline` keeps helper calls outside loops without calls),
//! re-wraps it, instantiates it with wasmtime-wasi, checks the call's result against the
//! original's, then makes the call `--repeat` times (default 100). The engine writes
//! `/tmp/perf-PID.map` (wasmtime's `PerfMap` profiler), so `perf report` names the output's
//! functions. `--call` is one of the calls of [`benches::apps::calls`], by export name
//! (`greet`, `sum`, `describe`, `parse`, `fib`), or `all` for each in turn. Prints the time
//! per call in microseconds (the mean over the repeats, after one checked call).
//! `--compiler-inlining` turns on Cranelift's inlining of wasm calls
//! (`Config::compiler_inlining(Inlining::Yes)`, off by default in wasmtime 48), which could
//! inline the load and store helpers into their callers (BENCHMARKS.md, "What is left of the
//! gap").

use anyhow::{Context, Result, bail};
use gc_lower::ReifyMode;

fn main() -> Result<()> {
    let usage = "usage: app-profile APP.wasm [--reify all|auto|native] [--call EXPORT] [--repeat N] \
         [--memory-access KIND] [--compiler-inlining]";
    let mut args = std::env::args().skip(1);
    let (mut app, mut mode, mut export, mut repeat) =
        (None, "all".to_string(), "fib".to_string(), 100u32);
    let mut access = benches::MemoryAccess::default();
    let mut inlining = false;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--reify" => mode = args.next().context(usage)?,
            "--call" => export = args.next().context(usage)?,
            "--memory-access" => {
                access = match args.next().context(usage)?.as_str() {
                    "inline" => benches::MemoryAccess::Inline,
                    "helper" => benches::MemoryAccess::Helper,
                    "inline-all-loops" => benches::MemoryAccess::InlineAllLoops,
                    "fast-path" => benches::MemoryAccess::FastPath,
                    other => bail!("unknown --memory-access `{other}`"),
                }
            }
            "--repeat" => repeat = args.next().context(usage)?.parse()?,
            "--compiler-inlining" => inlining = true,
            _ if app.is_none() => app = Some(arg),
            _ => bail!("{usage}"),
        }
    }
    let app = app.context(usage)?;
    let original = std::fs::read(&app).with_context(|| format!("failed to read `{app}`"))?;
    let form = match mode.as_str() {
        "native" => original.clone(),
        "all" | "auto" => {
            let reify = if mode == "all" {
                ReifyMode::All
            } else {
                ReifyMode::Auto
            };
            gc_lower::rewrap(&benches::lower_with(&original, reify, access)?)?
        }
        other => bail!("--reify takes `all`, `auto` or `native`, not `{other}`"),
    };
    let calls: Vec<_> = benches::apps::calls(|i| i.wrapping_mul(2_654_435_761) as i32)
        .into_iter()
        .filter(|(_, name, _)| export == "all" || *name == export)
        .collect();
    if calls.is_empty() {
        bail!("no call named `{export}`");
    }
    let mut config = benches::config(benches::Form::Auto);
    config.wasm_component_model(true);
    config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    if inlining {
        config.compiler_inlining(wasmtime::Inlining::Yes);
    }
    let engine = wasmtime::Engine::new(&config)?;
    let (mut native_store, native) = benches::apps::instantiate(&engine, &original);
    let (mut store, instance) = benches::apps::instantiate(&engine, &form);
    for (_, name, call_args) in calls {
        let expected = {
            let func = native.get_func(&mut native_store, name).context("export")?;
            benches::apps::call(&mut native_store, func, &call_args)
        };
        let func = instance.get_func(&mut store, name).context("export")?;
        let got = benches::apps::call(&mut store, func, &call_args);
        if got != expected {
            bail!("`{name}` returned {got:?} where the original returns {expected:?}");
        }
        let start = std::time::Instant::now();
        for _ in 0..repeat {
            benches::apps::call(&mut store, func, &call_args);
        }
        println!(
            "{name} ({mode}): {:.1} µs per call",
            start.elapsed().as_secs_f64() * 1e6 / f64::from(repeat)
        );
    }
    Ok(())
}
