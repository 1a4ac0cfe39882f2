//! Streams to and from the host: a WASI 0.3 program's standard I/O, native against lowered.
//!
//! ```sh
//! cargo build --release -p benches --bin wasi-stream
//! target/release/wasi-stream --mib 16 --runs 11
//! ```
//!
//! The program is `tests/c/upper.c` ([`benches::wasi_upper`]): its async `run` reads standard
//! input from the stream the host's `read-via-stream` returns, in reads of 4 KiB, and writes
//! each chunk upper-cased to the stream it passed to the host's `write-via-stream`. In the
//! lowered output both are bridged: each read and write goes through the exchange module's
//! memory and the host's own stream intrinsics. Each run instantiates the component with
//! wasmtime-wasi's WASI 0.3 ([`gc_lower::run::run_command`], on an engine of
//! [`gc_lower::run::async_config`]), standard input `--mib` MiB of text in memory and standard
//! output a memory pipe, and calls `run`; compilation is outside the time. The forms run in
//! turn (native, `--reify auto`, `--reify all`), `--runs` rounds; every run's output is checked
//! against the native one. Prints each form's median and fastest time in milliseconds, its
//! throughput, and the ratio of its median to the native median.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use gc_lower::ReifyMode;
use gc_lower::run::{Outcome, async_config, run_command};
use wasmtime::component::Component;
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::p2::pipe::{MemoryInputPipe, MemoryOutputPipe};

fn main() -> Result<()> {
    let usage = "usage: wasi-stream [--mib N] [--runs N]";
    let (mut mib, mut runs) = (16usize, 11usize);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = |args: &mut dyn Iterator<Item = String>| -> Result<usize> {
            args.next().context(usage)?.parse().context(usage)
        };
        match arg.as_str() {
            "--mib" => mib = value(&mut args)?,
            "--runs" => runs = value(&mut args)?,
            _ => bail!("{usage}"),
        }
    }
    ensure!(runs > 0, "{usage}");
    let Some(original) = benches::wasi_upper()? else {
        return Ok(());
    };
    let engine = wasmtime::Engine::new(&async_config())?;
    let mut forms = vec![("native", Component::new(&engine, &original)?)];
    for (name, reify) in [
        ("reify-auto", ReifyMode::Auto),
        ("reify-all", ReifyMode::All),
    ] {
        let options = gc_lower::Options {
            reify,
            ..Default::default()
        };
        let lowered = gc_lower::rewrap(&gc_lower::lower(&original, &options)?)?;
        forms.push((name, Component::new(&engine, &lowered)?));
    }
    let line = b"the quick brown fox jumps over the lazy dog, 0123456789.\n";
    let input: Vec<u8> = line.iter().copied().cycle().take(mib << 20).collect();
    let mut times = vec![Vec::new(); forms.len()];
    let mut expected = None;
    for _ in 0..runs {
        for (i, (name, component)) in forms.iter().enumerate() {
            let (time, output) = run(&engine, component, &input)?;
            let expected = expected.get_or_insert_with(|| output.clone());
            ensure!(
                output == *expected,
                "{name}: the output differs from native"
            );
            times[i].push(time);
        }
    }
    println!(
        "{mib} MiB through standard input and output, {runs} runs (median, fastest, MiB/s, median / native)"
    );
    let median = |t: &mut Vec<Duration>| {
        t.sort();
        t[t.len() / 2]
    };
    let native = median(&mut times[0]);
    for ((name, _), t) in forms.iter().zip(&mut times) {
        let m = median(t);
        println!(
            "{name:<12} {:>9.1} ms {:>9.1} ms {:>8.0} MiB/s {:>6.2}x",
            m.as_secs_f64() * 1e3,
            t[0].as_secs_f64() * 1e3,
            mib as f64 / m.as_secs_f64(),
            m.as_secs_f64() / native.as_secs_f64()
        );
    }
    Ok(())
}

/// One run of `component` as a WASI 0.3 command with `input` as its standard input: the time
/// from instantiation to `run`'s return, and what it wrote to standard output.
fn run(
    engine: &wasmtime::Engine,
    component: &Component,
    input: &[u8],
) -> Result<(Duration, Vec<u8>)> {
    let stdout = MemoryOutputPipe::new(input.len() + 4096);
    let mut wasi = WasiCtxBuilder::new();
    wasi.stdin(MemoryInputPipe::new(input.to_vec()))
        .stdout(stdout.clone())
        .arg("upper.wasm");
    let start = Instant::now();
    let outcome = run_command(engine, component, wasi.build())?;
    let time = start.elapsed();
    ensure!(
        matches!(outcome, Outcome::Exit(0)),
        "the run ended with {outcome:?}"
    );
    Ok((time, stdout.contents().to_vec()))
}
