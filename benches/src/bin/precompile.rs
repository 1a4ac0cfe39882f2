//! Compile time of a core module on wasmtime, with the engine settings of `gc-lower run`.
//!
//! ```sh
//! cargo build -p benches --bin precompile
//! farm-bench --vs 'target/debug/precompile B.wasm' -- target/debug/precompile A.wasm
//! target/debug/precompile --collector null A.wasm
//! target/debug/precompile -o A.cwasm A.wasm   # then: objdump -d A.cwasm
//! ```
//!
//! Compiles `MODULE` with `Engine::precompile_module` (Cranelift, `gc_lower::run::config`,
//! functions one after the other in this build) and prints its size in bytes, the size of the
//! compiled artifact in bytes and the time taken in seconds. `--collector null` compiles for
//! wasmtime's null collector instead of the deferred reference-counting one: the difference
//! is the cost of the read and write barriers that collector emits for every GC reference
//! loaded or stored. Timed as a whole process from outside (`farm-bench`), two commands side
//! by side. `-o FILE` also writes the compiled artifact (an ELF file whose function symbols
//! are `wasm[0]::function[N]::NAME`), to read the machine code with `objdump -d`.

use anyhow::{Context, Result, bail};

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let mut config = gc_lower::run::config();
    let mut module = None;
    let mut output = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--collector" => match args.next().as_deref() {
                Some("null") => {
                    config.collector(wasmtime::Collector::Null);
                }
                Some("drc") => {}
                other => bail!("--collector takes `null` or `drc`, not {other:?}"),
            },
            "-o" => output = Some(args.next().context("`-o` takes a file name")?),
            _ if module.is_none() => module = Some(arg),
            _ => bail!("usage: precompile [--collector null|drc] [-o FILE] MODULE"),
        }
    }
    let module = module.context("usage: precompile [--collector null|drc] [-o FILE] MODULE")?;
    let bytes = std::fs::read(&module).with_context(|| format!("failed to read `{module}`"))?;
    let engine = wasmtime::Engine::new(&config)?;
    let start = std::time::Instant::now();
    let compiled = engine.precompile_module(&bytes)?;
    println!(
        "{module}: {} bytes compiled to {} bytes in {:.2} s",
        bytes.len(),
        compiled.len(),
        start.elapsed().as_secs_f64()
    );
    if let Some(output) = output {
        std::fs::write(&output, &compiled)
            .with_context(|| format!("failed to write `{output}`"))?;
    }
    Ok(())
}
