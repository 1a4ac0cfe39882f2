//! Writes the inputs of the V8 benchmark (`benches/v8/run.mjs`).
//!
//! ```sh
//! cargo run --release -p benches --bin prepare-v8 -- [DIR]
//! ```
//!
//! For every workload (the `c-memory` one when clang-19 is installed), into DIR (default
//! `benches/v8/out`): `{workload}.native.wasm`, the
//! original component; `{workload}.reify-all.wasm` and `{workload}.reify-auto.wasm`, the
//! lowered module (and `{workload}.reify-all-helper.wasm`, `--reify all` with one helper call
//! per load and store) re-wrapped into a component (`gc_lower::rewrap`, as `gc-lower IN
//! --component` does) so that `jco transpile` accepts it; `{workload}.graph/`, the module
//! graph (`gc-lower graph`), which `run.mjs` instantiates with its JS loader under jco's
//! bindings of the `reify-auto` form; the same four forms of the componentize-py app
//! (`python-app.*`, for `python.mjs`) when componentize-py is installed and of the
//! componentize-js app (`js-app.*`, for `python.mjs --app js`) when `npm ci` has installed
//! componentize-js in `tests/node`, each app also as `{app}.reify-all-inline.wasm`
//! (`--reify all --inline-accesses all`); and `workloads.json`: per workload, its setup calls and kernels (`export`, `sig`, `arg`) with the result of each kernel on
//! wasmtime's native component runtime (`expected`, a decimal string), after checking that the
//! lowered forms agree on wasmtime.

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use benches::{Kernel, Prepared, Sig};
use serde_json::{Value, json};

fn main() -> Result<()> {
    let arg = std::env::args().nth(1);
    match arg.as_deref() {
        Some("-h" | "--help") => {
            println!(
                "usage: prepare-v8 [DIR]\n\nWrites the inputs of benches/v8/run.mjs into DIR \
                 (default benches/v8/out)."
            );
            return Ok(());
        }
        Some(option) if option.starts_with('-') => {
            anyhow::bail!("unknown option `{option}` (usage: prepare-v8 [DIR])")
        }
        _ => {}
    }
    let dir = arg
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("benches/v8/out"));
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("failed to create `{}`", dir.display()))?;
    let mut manifest = Vec::new();
    for w in benches::workloads()? {
        let bytes = benches::component_bytes(&w)?;
        let expected = Prepared::new(w)?.check()?;
        let write = |form: &str, data: &[u8]| -> Result<()> {
            let path = dir.join(format!("{}.{form}.wasm", w.name));
            std::fs::write(&path, data)
                .with_context(|| format!("failed to write `{}`", path.display()))
        };
        write("native", &bytes)?;
        for (form, mode, access) in benches::LOWERED_FORMS {
            let lowered = benches::lower_with(&bytes, mode, access)?;
            write(form, &gc_lower::rewrap(&lowered)?)?;
        }
        gc_lower::module_graph::lower_graph(&bytes, gc_lower::ReifyMode::Auto)?
            .write(&dir.join(format!("{}.graph", w.name)))?;
        let kernel = |k: &Kernel, expected: Option<u64>| -> Value {
            let sig = match k.sig {
                Sig::ToU32 => "() -> u32",
                Sig::U32ToU32 => "(u32) -> u32",
                Sig::ToU64 => "() -> u64",
                Sig::U32ToUnit => "(u32)",
            };
            let mut v = json!({ "name": k.name, "export": k.export, "sig": sig, "arg": k.arg });
            if let Some(e) = expected {
                v["expected"] = json!(e.to_string());
            }
            v
        };
        manifest.push(json!({
            "name": w.name,
            "setup": w.setup.iter().map(|k| kernel(k, None)).collect::<Vec<_>>(),
            "kernels": w.kernels.iter().zip(&expected)
                .map(|(k, e)| kernel(k, Some(*e))).collect::<Vec<_>>(),
        }));
        println!("{}: written", w.name);
    }
    // The componentize-py and componentize-js apps, for `python.mjs`, when their toolchains
    // are installed.
    type Build = fn() -> Result<Option<Vec<u8>>>;
    let apps: [(&str, Build, &str); 2] = [
        (
            "python-app",
            benches::apps::python_app,
            "componentize-py not found",
        ),
        (
            "js-app",
            benches::apps::js_app,
            "componentize-js not installed in tests/node",
        ),
    ];
    for (app, build, missing) in apps {
        let Some(bytes) = build()? else {
            println!("{app}: {missing}, skipped");
            continue;
        };
        std::fs::write(dir.join(format!("{app}.native.wasm")), &bytes)?;
        for (form, mode, access) in benches::LOWERED_FORMS {
            let lowered = benches::lower_with(&bytes, mode, access)?;
            std::fs::write(
                dir.join(format!("{app}.{form}.wasm")),
                gc_lower::rewrap(&lowered)?,
            )?;
        }
        // And with fast paths in every function (`--inline-accesses all`), the form that
        // runs faster on V8 and JavaScriptCore.
        let options = gc_lower::Options {
            reify: gc_lower::ReifyMode::All,
            inline_accesses: gc_lower::memory_access::InlineAccesses::All,
            ..Default::default()
        };
        std::fs::write(
            dir.join(format!("{app}.reify-all-inline.wasm")),
            gc_lower::rewrap(&gc_lower::lower(&bytes, &options)?)?,
        )?;
        gc_lower::module_graph::lower_graph(&bytes, gc_lower::ReifyMode::Auto)?
            .write(&dir.join(format!("{app}.graph")))?;
        println!("{app}: written");
    }
    let path = dir.join("workloads.json");
    std::fs::write(&path, serde_json::to_string_pretty(&manifest)?)
        .with_context(|| format!("failed to write `{}`", path.display()))?;
    println!("{}", path.display());
    Ok(())
}
