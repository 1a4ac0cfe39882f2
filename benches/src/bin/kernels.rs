//! A quick side-by-side timing of the kernels on wasmtime, without criterion: every form of
//! [`Form::WITH_HELPER`] (the four of the tables plus `--reify all` with one helper call per
//! load and store and with every access in a loop inline), interleaved, best of N; then the
//! async ABI's workloads ([`ASYNC_WORKLOADS`]) in [`Form::ALL`], in a second table.
//!
//! ```sh
//! cargo run -p benches --bin kernels -- [--runs N] [--only WORKLOAD]
//! cargo run -p benches --bin kernels -- --sizes
//! ```
//!
//! `--sizes` prints the output size of each input with each emitter instead.
//!
//! Each kernel is checked against the native result first. Per kernel and form: one warm-up
//! call, then N runs (default 7), each a batch of calls lasting about 50 ms, forms interleaved
//! run by run so that a busy machine slows them alike; the figure is the best run's time per
//! call. Prints a Markdown table with the ratios of the reified forms to the module graph.
//! Wasmtime compiles the same machine code in the debug build (dependencies are optimized).

use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use benches::{
    ASYNC_WORKLOADS, Form, Kernel, MemoryAccess, Prepared, ReifyMode, WORKLOADS, Workload,
};

fn main() -> Result<()> {
    let mut runs = 7usize;
    let mut only = None;
    let mut args = std::env::args().skip(1).peekable();
    if std::env::args().any(|a| a == "-h" || a == "--help") {
        println!(
            "usage: kernels [--runs N] [--only WORKLOAD]\n       kernels --sizes\n\n\
                 Times every kernel of the workloads on wasmtime in each form, interleaved, best \
                 of N runs (default 7), and prints a Markdown table; `--sizes` prints each \
                 input's output size with each emitter instead."
        );
        return Ok(());
    }
    if args.peek().map(String::as_str) == Some("--sizes") {
        return sizes();
    }
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .with_context(|| format!("`{flag}` needs a value"))?;
        match flag.as_str() {
            "--runs" => runs = value.parse().context("`--runs` takes a number")?,
            "--only" => only = Some(value),
            _ => bail!("unknown option `{flag}`"),
        }
    }
    // Ratios: (column, numerator form, denominator form), by position in the forms.
    let graph = [
        ("all / graph", 2, 1),
        ("auto / graph", 3, 1),
        ("all-helper / graph", 4, 1),
        ("all-every-loop / graph", 5, 1),
        ("all / native", 2, 0),
    ];
    let printed = table(
        &benches::workloads()?,
        &Form::WITH_HELPER,
        &graph,
        runs,
        &only,
    )?;
    // The async ABI's workloads, in the four forms.
    let ratios = [
        ("all / graph", 2, 1),
        ("auto / graph", 3, 1),
        ("graph / native", 1, 0),
        ("all / native", 2, 0),
        ("auto / native", 3, 0),
    ];
    if printed {
        println!();
    }
    table(&ASYNC_WORKLOADS, &Form::ALL, &ratios, runs, &only)?;
    Ok(())
}

/// Times every kernel of `workloads` (the one named `only`, if given) in each of `forms`, each
/// checked against the native result first, and prints a Markdown table: a row per kernel with
/// its times and `ratios` of them, the header before the first row. Returns whether it printed
/// a row.
fn table(
    workloads: &[Workload],
    forms: &[Form],
    ratios: &[(&str, usize, usize)],
    runs: usize,
    only: &Option<String>,
) -> Result<bool> {
    let mut header = false;
    for w in workloads {
        if only.as_deref().is_some_and(|o| o != w.name) {
            continue;
        }
        if !header {
            let names: Vec<&str> = forms.iter().map(|f| f.name()).collect();
            let columns: Vec<&str> = ratios.iter().map(|r| r.0).collect();
            println!(
                "| workload | kernel | {} | {} |",
                names.join(" | "),
                columns.join(" | ")
            );
            println!("|---|---|{}", "---:|".repeat(forms.len() + ratios.len()));
            header = true;
        }
        let p = Prepared::with_forms(*w, forms)?;
        p.check()?;
        for k in w.kernels {
            let t = best_times(&p, k, forms, runs)?;
            let mut cells: Vec<String> = t.iter().map(|s| time(*s)).collect();
            cells.extend(
                ratios
                    .iter()
                    .map(|&(_, a, b)| format!("{:.2}×", t[a] / t[b])),
            );
            println!("| {} | {} | {} |", w.name, k.name, cells.join(" | "));
        }
    }
    Ok(header)
}

/// The best time per call (seconds) of kernel `k` in each of `forms`: one warm-up call, then
/// `runs` batches of about 50 ms, the forms interleaved batch by batch.
fn best_times(p: &Prepared, k: &Kernel, forms: &[Form], runs: usize) -> Result<Vec<f64>> {
    let mut instances = Vec::new();
    for &form in forms {
        let mut i = p.ready(form)?;
        let bound = i.bind(k)?;
        i.call(&bound, k.arg)?;
        // Calls per batch: about 50 ms.
        let start = Instant::now();
        i.call(&bound, k.arg)?;
        let one = start.elapsed().max(Duration::from_nanos(100));
        let batch = (Duration::from_millis(50).as_nanos() / one.as_nanos()).max(1) as u32;
        instances.push((i, bound, batch, f64::INFINITY));
    }
    for _ in 0..runs {
        for (i, bound, batch, best) in &mut instances {
            let start = Instant::now();
            for _ in 0..*batch {
                i.call(bound, k.arg)?;
            }
            let per = start.elapsed().as_secs_f64() / f64::from(*batch);
            *best = best.min(per);
        }
    }
    Ok(instances.iter().map(|x| x.3).collect())
}

/// `--sizes`: the output size of each workload (and the generated component of the lowering
/// benchmarks) with each memory-access emitter, in both reify modes.
fn sizes() -> Result<()> {
    println!("| input | mode | inline (bytes) | helper (bytes) | inline / helper |");
    println!("|---|---|---:|---:|---:|");
    for w in WORKLOADS.iter().copied().chain([benches::generated()]) {
        let bytes = benches::component_bytes(&w)?;
        for (name, mode) in [("all", ReifyMode::All), ("auto", ReifyMode::Auto)] {
            let inline = benches::lower_with(&bytes, mode, MemoryAccess::Inline)?.len();
            let helper = benches::lower_with(&bytes, mode, MemoryAccess::Helper)?.len();
            println!(
                "| {} | {name} | {inline} | {helper} | {:.2}× |",
                w.name,
                inline as f64 / helper as f64
            );
        }
    }
    Ok(())
}

fn time(seconds: f64) -> String {
    if seconds >= 1e-3 {
        format!("{:.2} ms", seconds * 1e3)
    } else {
        format!("{:.1} µs", seconds * 1e6)
    }
}
