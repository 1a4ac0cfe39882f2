//! The `gc-lower` command line.

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand};

/// Lower a WebAssembly component into one self-contained core module.
///
/// Modules that the component instantiates several times are emitted once; each core
/// instance's memories, tables and globals become Wasm GC values in a vmctx struct that its
/// functions receive as an implicit extra parameter. The output speaks the component model's
/// guest core ABI and runs on any engine with Wasm GC; `wasm-tools component new` turns it back
/// into a component.
#[derive(Parser)]
#[command(name = "gc-lower", version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    lower: LowerOpts,
}

#[derive(Subcommand)]
enum Command {
    /// Run `.wast` scripts natively in wasmtime and lowered, and compare the results.
    Wast(gc_lower::wast::WastOpts),
    /// Run a lowered WASI command (or a component) on wasmtime, like `wasmtime run`.
    Run(gc_lower::run::RunOpts),
    /// Write the component in module-graph form: its core modules unchanged, a trampolines
    /// module, and `graph.json` saying how to instantiate them (the baseline the single-module
    /// output is measured against; loaders: `gc_lower::graph::instantiate` for wasmtime and
    /// `loader.mjs`, written alongside, for JavaScript engines).
    Graph(GraphOpts),
    /// Generate the bindings shared library (`dylink.0`) of a WIT world with wit-dylib: it
    /// implements the world over the `wit_dylib_*` functions an interpreter exports.
    Dylib(gc_lower::dylib::DylibOpts),
    /// Link shared libraries (an interpreter, `gc-lower dylib` bindings, a libc) into a
    /// component with wit-component's linker.
    Link(gc_lower::dylib::LinkOpts),
}

/// Options of `gc-lower graph`.
#[derive(clap::Args)]
struct GraphOpts {
    /// The component: a `.wasm` binary or `.wat` text; `-` reads standard input.
    input: PathBuf,
    /// The directory to write the graph into (created if missing).
    #[arg(short, long, value_name = "DIR")]
    output: PathBuf,
}

impl GraphOpts {
    fn run(self) -> Result<()> {
        let bytes = read_input(&self.input)?;
        let graph = gc_lower::graph::lower_graph(&bytes)
            .with_context(|| format!("failed to lower `{}`", self.input.display()))?;
        graph.write(&self.output)
    }
}

/// Options of the main job: lowering one component.
#[derive(clap::Args)]
struct LowerOpts {
    /// The component to lower: a `.wasm` binary or `.wat` text; `-` reads standard input.
    input: Option<PathBuf>,
    /// Where to write the core module; `-` (the default) writes standard output.
    #[arg(short, long, value_name = "OUT")]
    output: Option<PathBuf>,
    /// Write the WebAssembly text format instead of the binary format.
    #[arg(short = 't', long = "wat")]
    wat: bool,
    /// Which core modules get their state reified into Wasm GC values.
    #[arg(long, value_enum, default_value_t)]
    reify: gc_lower::ReifyMode,
    /// How loads and stores on reified memories are emitted (`helper`: one call per access,
    /// kept for measurements).
    #[arg(long, value_enum, default_value_t, hide = true)]
    memory_access: gc_lower::memory_access::MemoryAccess,
    /// Wrap the lowered core module back into a component (with wit-component, from its
    /// embedded WIT world), as `wasm-tools component new` would: for hosts that run
    /// components, such as `jco transpile` or `wasmtime run`.
    #[arg(long)]
    component: bool,
}

fn main() -> ExitCode {
    // The last resort: a panic that a fix has not reached yet is reported as an internal
    // error with status 1, never as Rust's panic message with status 101.
    let panic_message = std::sync::Arc::new(std::sync::Mutex::new(None::<String>));
    let recorder = panic_message.clone();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let what = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("panic");
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        if let Ok(mut message) = recorder.lock() {
            message.get_or_insert_with(|| format!("{what}{at}"));
        }
    }));
    match std::panic::catch_unwind(run) {
        Ok(code) => code,
        Err(_) => {
            let message = panic_message
                .lock()
                .ok()
                .and_then(|mut m| m.take())
                .unwrap_or_else(|| "panic".to_string());
            report(&format!("internal error: {message}"));
            ExitCode::from(1)
        }
    }
}

fn run() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Wast(opts)) => opts.run(),
        Some(Command::Graph(opts)) => opts.run().map(|()| ExitCode::SUCCESS),
        Some(Command::Dylib(opts)) => opts.run().and_then(write_dylib_output),
        Some(Command::Link(opts)) => opts.run().and_then(write_dylib_output),
        Some(Command::Run(opts)) => opts.run(),
        None => cli.lower.run().map(|()| ExitCode::SUCCESS),
    };
    match result {
        Ok(code) => code,
        // A reader that stopped early (`gc-lower x.wasm -t | head`) is not an error.
        Err(err)
            if err.chain().any(|e| {
                e.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::SUCCESS
        }
        Err(err) => {
            report(&format!("{err:?}"));
            ExitCode::from(1)
        }
    }
}

/// Writes `error: {message}` to standard error, made printable with
/// [`gc_lower::error::printable`] (an error may quote a huge line of binary input), ignoring
/// write failures (a closed standard error must not turn an error into a panic).
fn report(message: &str) {
    let out = format!("error: {}\n", gc_lower::error::printable(message));
    let _ = std::io::stderr().write_all(out.as_bytes());
}

impl LowerOpts {
    fn run(self) -> Result<()> {
        let Some(input) = self.input else {
            anyhow::bail!("no input component given (try `gc-lower --help`)");
        };
        let bytes = read_input(&input)?;
        let options = gc_lower::Options {
            reify: self.reify,
            memory_access: self.memory_access,
        };
        let gc_lower::Lowering {
            mut module,
            warnings,
        } = gc_lower::lower_with_warnings(&bytes, &options)
            .with_context(|| format!("failed to lower `{}`", input.display()))?;
        for warning in warnings {
            // A closed stderr must not turn a warning into a failure.
            let _ = writeln!(
                std::io::stderr(),
                "warning: {}",
                gc_lower::error::printable(&warning)
            );
        }
        if self.component {
            module = gc_lower::rewrap(&module)?;
        }
        let out = if self.wat {
            wasmprinter::print_bytes(&module)
                .context("failed to print the lowered module as text")?
                .into_bytes()
        } else {
            module
        };
        write_output(self.output.as_deref(), &out)
    }
}

/// Writes what `gc-lower dylib` or `gc-lower link` produced, atomically.
fn write_dylib_output(out: gc_lower::dylib::Output) -> Result<ExitCode> {
    write_output(out.path.as_deref(), &out.bytes).map(|()| ExitCode::SUCCESS)
}

/// Reads `path` (`-` for standard input); text (`.wat`) is parsed into binary.
fn read_input(path: &Path) -> Result<Vec<u8>> {
    let bytes = if path == Path::new("-") {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .context("failed to read standard input")?;
        buf
    } else {
        std::fs::read(path).with_context(|| format!("failed to read `{}`", path.display()))?
    };
    let bytes = wat::parse_bytes(&bytes)
        .with_context(|| format!("failed to parse `{}` as WebAssembly text", path.display()))?;
    Ok(bytes.into_owned())
}

/// Writes `bytes` to standard output for `-` or no path, else to the file `path` with
/// [`gc_lower::output::write_file`]: atomically, through a device or FIFO, keeping an
/// existing file's mode.
fn write_output(path: Option<&Path>, bytes: &[u8]) -> Result<()> {
    match path {
        Some(p) if p != Path::new("-") => gc_lower::output::write_file(p, bytes),
        _ => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(bytes)
                .and_then(|()| stdout.flush())
                .context("failed to write standard output")
        }
    }
}
