//! Peak memory of gc-lower while lowering a large generated component.
//!
//! ```sh
//! cargo run --release -p benches --bin lowering-peak -- [LIB_FUNCS [APP_FUNCS]]
//! cargo run --release -p benches --bin lowering-peak -- --python-app
//! ```
//!
//! Generates the component of `benches::generate::large_component` (by default with
//! `LIB_FUNCS` and `APP_FUNCS`, 4000 and 1000 functions) or, with `--python-app`, builds the
//! componentize-py app of `benches::apps::python_app`, writes it to a scratch file, and for each of
//! `validate`, `graph`, `reify-all` and `reify-auto` starts this program again on that file, so
//! that each measurement runs in a fresh process. The child reads the file, notes its resident
//! set (`VmRSS` of `/proc/self/status`), does the one operation, and reports its peak resident
//! set (`VmHWM`), both in KiB; the table gives both and their difference, with the wall time of
//! the operation. Linux only.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context as _, Result, bail};
use benches::ReifyMode;

const OPERATIONS: [&str; 4] = ["validate", "graph", "reify-all", "reify-auto"];

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        let [_, op, file] = args.as_slice() else {
            bail!("usage: lowering-peak --child OPERATION FILE");
        };
        return child(op, Path::new(file));
    }
    let bytes = if args.first().map(String::as_str) == Some("--python-app") {
        let bytes = benches::apps::python_app()?
            .context("componentize-py not found (see tests/python/README.md)")?;
        println!("componentize-py app: {} bytes", bytes.len());
        bytes
    } else {
        let number = |i: usize, default: usize| -> Result<usize> {
            args.get(i)
                .map(|s| s.parse().context("function counts are numbers"))
                .unwrap_or(Ok(default))
        };
        let (lib, app) = (
            number(0, benches::generate::LIB_FUNCS)?,
            number(1, benches::generate::APP_FUNCS)?,
        );
        let wat = benches::generate::large_component(lib, app);
        let bytes = wat::parse_str(&wat).context("failed to parse the generated component")?;
        println!(
            "generated component: {lib} + {app} functions, {} bytes",
            bytes.len()
        );
        bytes
    };
    let dir = tempfile::tempdir().context("failed to create a scratch directory")?;
    let file = dir.path().join("input.wasm");
    std::fs::write(&file, &bytes).context("failed to write the component")?;
    println!(
        "{:<12} {:>14} {:>14} {:>14} {:>10}",
        "operation", "before (KiB)", "peak (KiB)", "added (KiB)", "time (ms)"
    );
    let exe = std::env::current_exe().context("failed to find this program")?;
    for op in OPERATIONS {
        let out = Command::new(&exe)
            .args(["--child", op])
            .arg(&file)
            .output()
            .context("failed to run the measurement")?;
        if !out.status.success() {
            bail!(
                "`{op}` failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let text = String::from_utf8(out.stdout).context("the child printed invalid UTF-8")?;
        let fields: Vec<u64> = text
            .split_whitespace()
            .map(str::parse)
            .collect::<Result<_, _>>()
            .context("the child printed something else than numbers")?;
        let [before, peak, micros] = fields.as_slice() else {
            bail!("the child printed `{text}`");
        };
        println!(
            "{op:<12} {before:>14} {peak:>14} {:>14} {:>10.1}",
            peak.saturating_sub(*before),
            *micros as f64 / 1000.0
        );
    }
    Ok(())
}

/// Runs `op` on the component in `file`; prints VmRSS before, VmHWM after (KiB) and the time
/// taken (µs).
fn child(op: &str, file: &Path) -> Result<()> {
    let bytes = std::fs::read(file).context("failed to read the component")?;
    let before = status_kib("VmRSS")?;
    let start = Instant::now();
    let output_len = match op {
        "validate" => {
            benches::validate_component(&bytes)?;
            0
        }
        "graph" => gc_lower::module_graph::lower_graph(&bytes, ReifyMode::Auto)?
            .modules
            .len(),
        "reify-all" => benches::lower(&bytes, ReifyMode::All)?.len(),
        "reify-auto" => benches::lower(&bytes, ReifyMode::Auto)?.len(),
        _ => bail!("unknown operation `{op}`"),
    };
    let micros = start.elapsed().as_micros();
    let peak = status_kib("VmHWM")?;
    std::hint::black_box(output_len);
    println!("{before} {peak} {micros}");
    Ok(())
}

/// The value of `field` in `/proc/self/status`, in KiB.
fn status_kib(field: &str) -> Result<u64> {
    let status =
        std::fs::read_to_string("/proc/self/status").context("failed to read /proc/self/status")?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.trim().strip_suffix("kB")?.trim().parse().ok())
        .with_context(|| format!("no `{field}` in /proc/self/status"))
}
