//! Prints the tables of `BENCHMARKS.md` from the last `cargo bench -p benches` run.
//!
//! ```sh
//! cargo run --release -p benches --bin summarize
//! ```
//!
//! Reads criterion's estimates (`$CARGO_TARGET_DIR/criterion/{id}/new/estimates.json`, or
//! under `target/`) and prints, as Markdown: the run time of each kernel and the
//! instantiation time in each form with the ratios of the single-module forms to the module
//! graph and of the graph and `reify-auto` to native; gc-lower's lowering time with its ratio
//! to validation; and the sizes (bytes) of each input component, of the core modules it
//! defines (their sum and count), of the module graph (its files and `graph.json`) and of both
//! lowered outputs. Times are
//! criterion's median point estimates. Sizes are computed here, not read from the run.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use benches::{Form, ReifyMode, WORKLOADS};

fn main() -> Result<()> {
    let root = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target"))
        .join("criterion");
    let median = |id: &str| -> Result<f64> { median_ns(&root, id) };
    let forms = |prefix: &str| -> Result<Vec<f64>> {
        Form::ALL
            .iter()
            .map(|f| median(&format!("{prefix}/{}", f.name())))
            .collect()
    };

    // `t` is in `Form::ALL` order: native, graph, reify-all, reify-auto.
    let row = |t: &[f64]| {
        format!(
            "{} | {} | {} | {} | {} | {} | {} | {}",
            time(t[0]),
            time(t[1]),
            time(t[2]),
            time(t[3]),
            ratio(t[2], t[1]),
            ratio(t[3], t[1]),
            ratio(t[1], t[0]),
            ratio(t[3], t[0])
        )
    };
    let header = "native | graph | reify-all | reify-auto | all / graph | auto / graph | \
                  graph / native | auto / native |";
    println!("### wasmtime: run time per call\n");
    println!("| workload | kernel | {header}");
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let workloads = benches::workloads()?;
    for w in &workloads {
        for k in w.kernels {
            let t = forms(&format!("{}/{}", w.name, k.name))?;
            println!("| {} | {} | {} |", w.name, k.name, row(&t));
        }
    }

    println!(
        "\n### wasmtime: instantiation (new store, instantiate; `_initialize` or the graph's \
         loader)\n"
    );
    println!("| workload | {header}");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for w in &workloads {
        let t = forms(&format!("instantiate/{}", w.name))?;
        println!("| {} | {} |", w.name, row(&t));
    }

    let mut inputs: Vec<(&str, Vec<u8>)> = Vec::new();
    for w in WORKLOADS.iter().copied().chain([benches::generated()]) {
        inputs.push((w.name, benches::component_bytes(&w)?));
    }
    // The componentize-py app, when the last run measured it.
    if median("lower/python-app/validate").is_ok()
        && let Some(app) = benches::apps::python_app()?
    {
        inputs.push(("python-app", app));
    }
    println!("\n### gc-lower: lowering time vs wasmparser validation of the input\n");
    println!(
        "| input | validate | graph | reify-all | reify-auto | graph / validate | all / validate \
         | auto / validate |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (name, _) in &inputs {
        let v = median(&format!("lower/{name}/validate"))?;
        let g = median(&format!("lower/{name}/graph"))?;
        let a = median(&format!("lower/{name}/reify-all"))?;
        let u = median(&format!("lower/{name}/reify-auto"))?;
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            name,
            time(v),
            time(g),
            time(a),
            time(u),
            ratio(g, v),
            ratio(a, v),
            ratio(u, v)
        );
    }

    println!("\n### Sizes (bytes)\n");
    println!(
        "| input | component | core modules (sum) | core modules (count) | graph | reify-all | \
         reify-auto | graph / modules | all / modules | auto / modules |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (name, bytes) in &inputs {
        let sizes = benches::core_module_sizes(bytes)?;
        let sum: usize = sizes.iter().sum();
        let all = benches::lower(bytes, ReifyMode::All)?.len();
        let auto = benches::lower(bytes, ReifyMode::Auto)?.len();
        // Every module file of the graph, `graph.json` included.
        let g = gc_lower::module_graph::lower_graph(bytes, ReifyMode::Auto)?;
        let graph = g.modules.iter().map(|(_, m)| m.len()).sum::<usize>()
            + serde_json::to_string(&g.description)?.len();
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            name,
            bytes.len(),
            sum,
            sizes.len(),
            graph,
            all,
            auto,
            ratio(graph as f64, sum as f64),
            ratio(all as f64, sum as f64),
            ratio(auto as f64, sum as f64)
        );
    }
    Ok(())
}

/// Criterion's median point estimate for benchmark `id`, in nanoseconds.
fn median_ns(root: &Path, id: &str) -> Result<f64> {
    let path = root.join(id).join("new/estimates.json");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("no estimates for `{id}`: run `cargo bench -p benches` first"))?;
    let json: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("failed to parse `{}`", path.display()))?;
    json["median"]["point_estimate"]
        .as_f64()
        .with_context(|| format!("no median in `{}`", path.display()))
}

/// A duration given in nanoseconds, in the unit that suits it.
fn time(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.1} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

fn ratio(x: f64, base: f64) -> String {
    format!("{:.2}×", x / base)
}
