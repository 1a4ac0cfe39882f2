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
    /// output is measured against; loaders: `gc_lower::module_graph::instantiate` for wasmtime and
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
    /// Give the graph the host interface of the single module lowered with this `--reify`
    /// mode (an exchange memory where that module has one), so that host bindings made from
    /// either drive both.
    #[arg(long, value_enum, default_value_t)]
    reify: gc_lower::ReifyMode,
}

impl GraphOpts {
    fn run(self) -> Result<()> {
        let bytes = read_input(&self.input)?;
        let graph = gc_lower::module_graph::lower_graph(&bytes, self.reify)
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
    /// Emit the loads and stores on reified memories outside call-free loops inline, as a fast
    /// path with the rest in helpers, in functions with at most N of them (`all`: every
    /// function). A larger N makes a larger output; on the componentize-py app `all` ran
    /// faster on V8 and JavaScriptCore, the default faster on wasmtime (BENCHMARKS.md).
    #[arg(long, value_name = "N|all", default_value_t)]
    inline_accesses: gc_lower::memory_access::InlineAccesses,
    /// Wrap the lowered core module back into a component (with wit-component, from its
    /// embedded WIT world), as `wasm-tools component new` would: for hosts that run
    /// components, such as `jco transpile` or `wasmtime run`.
    #[arg(long)]
    component: bool,
    /// Print what the lowering will do instead of doing it: the core modules (label, size,
    /// instances), which are reified and why, each reified module's vmctx fields, and the host
    /// imports and exports. `--plan` prints text for people, `--plan=json` JSON for tools
    /// (`gc_lower::plan`). Honours `--reify`; writes no output file.
    #[arg(
        long,
        value_enum,
        value_name = "FORMAT",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "text",
        conflicts_with_all = ["output", "wat", "component"]
    )]
    plan: Option<PlanFormat>,
}

/// How `--plan` prints the plan.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum PlanFormat {
    /// Text for people.
    Text,
    /// JSON for tools (the shape is documented in `gc_lower::plan`).
    Json,
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
        if let Some(format) = self.plan {
            let plan = gc_lower::plan::plan(&bytes, self.reify)
                .with_context(|| format!("failed to plan the lowering of `{}`", input.display()))?;
            let text = match format {
                PlanFormat::Text => plan_text(&plan, &input),
                PlanFormat::Json => {
                    serde_json::to_string_pretty(&plan).context("failed to print the plan")? + "\n"
                }
            };
            return write_output(None, text.as_bytes());
        }
        let options = gc_lower::Options {
            reify: self.reify,
            memory_access: self.memory_access,
            inline_accesses: self.inline_accesses,
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

/// The plan as text for people: one line per module, with its reason, its vmctx fields
/// indented below it, then the host boundary.
fn plan_text(plan: &gc_lower::plan::Plan, input: &Path) -> String {
    use gc_lower::plan::{
        ExchangeWhy, Holds, HostMemory, ImportName, ItemKind, ModuleRole, Reason, StateKind,
    };
    use std::fmt::Write as _;

    let label = |m: u32| {
        plan.modules.get(m as usize).map_or_else(
            || format!("module {m}"),
            |p| format!("module {m} `{}`", shown(&p.label)),
        )
    };
    let import = |i: &ImportName| format!("\"{}\" \"{}\"", shown(&i.module), shown(&i.name));
    let state = |s: StateKind| match s {
        StateKind::Memory => "memory",
        StateKind::Table => "table",
        StateKind::Global => "global",
        StateKind::Tag => "tag",
    };
    let mut out = String::new();
    let source = if input == Path::new("-") {
        "standard input".to_string()
    } else {
        format!("`{}`", shown(&input.display().to_string()))
    };
    let reify = match plan.reify {
        gc_lower::ReifyMode::Auto => "auto",
        gc_lower::ReifyMode::All => "all",
    };
    let _ = writeln!(out, "plan for {source} with --reify {reify}");
    let instantiated = plan.modules.iter().filter(|m| m.instances > 0).count();
    let reified = plan.modules.iter().filter(|m| m.reified).count();
    let _ = writeln!(
        out,
        "\ncore modules: {} ({instantiated} instantiated, {reified} reified)",
        plan.modules.len()
    );
    for m in &plan.modules {
        let role = match m.role {
            ModuleRole::Component => "",
            ModuleRole::Adapter => ", a FACT adapter module",
            ModuleRole::Host => ", host adapters",
        };
        let instances = match m.instances {
            1 => "1 instance".to_string(),
            n => format!("{n} instances"),
        };
        let reason = match &m.reason {
            Reason::NotInstantiated => "not emitted: never instantiated".to_string(),
            Reason::InstantiatedOnce => {
                "native: instantiated once, shares nothing with a reified module".to_string()
            }
            Reason::HostMemory => {
                "native: holds the memory the host reads and writes, the output's one linear \
                 memory"
                    .to_string()
            }
            Reason::All => "reified: --reify all".to_string(),
            Reason::Instantiated { times } => format!("reified: instantiated {times} times"),
            Reason::SharesState {
                state: s,
                with,
                import: i,
                imports: true,
            } => format!(
                "reified: imports {} {} from reified {}",
                state(*s),
                import(i),
                label(*with)
            ),
            Reason::SharesState {
                state: s,
                with,
                import: i,
                imports: false,
            } => {
                let differ = if *s == StateKind::Memory {
                    ", whose instances import different memories"
                } else {
                    ""
                };
                format!(
                    "reified: reified {} imports its {} as {}{differ}",
                    label(*with),
                    state(*s),
                    import(i)
                )
            }
            Reason::FunctionReferenceFields { .. } => {
                "reified: its struct or array types have fields of function references, and a \
                 module is reified"
                    .to_string()
            }
            Reason::PassesFunctionReferences {
                with,
                import: i,
                imports: true,
            } => format!(
                "reified: passes function references to and from reified {} through its \
                 import {}",
                label(*with),
                import(i)
            ),
            Reason::PassesFunctionReferences {
                with,
                import: i,
                imports: false,
            } => format!(
                "reified: passes function references to and from reified {}, which imports \
                 its function as {}",
                label(*with),
                import(i)
            ),
        };
        let _ = writeln!(
            out,
            "  {}: {} bytes, {instances}{role}; {reason}",
            label(m.index),
            m.size
        );
        let Some(vmctx) = &m.vmctx else { continue };
        let fields = match vmctx.fields {
            1 => "1 field".to_string(),
            n => format!("{n} fields"),
        };
        let _ = writeln!(out, "    vmctx: {fields}");
        for item in &vmctx.items {
            let field = match item.field {
                Some(f) => format!("field {f}"),
                None => "no field".to_string(),
            };
            let mut what = match (item.item, item.index) {
                (ItemKind::Memory, Some(i)) => format!("memory {i}"),
                (ItemKind::Table, Some(i)) => format!("table {i}"),
                (ItemKind::Global, Some(i)) => format!("global {i}"),
                (ItemKind::Function, Some(i)) => format!("function {i}"),
                (ItemKind::ElementSegment, Some(i)) => format!("element segment {i}"),
                (ItemKind::Tag, Some(i)) => format!("tag {i}"),
                (ItemKind::Data, _) => "data segments".to_string(),
                (_, None) => "?".to_string(),
            };
            if let Some(i) = &item.import {
                let _ = write!(what, " (import {})", import(i));
            }
            if let Some(e) = &item.export {
                let _ = write!(what, " (export \"{}\")", shown(e));
            }
            let holds = match &item.holds {
                Holds::MemoryBox => "a box of the memory's bytes and size".to_string(),
                Holds::NativeMemory { memory } => {
                    format!("null: every instance imports output memory {memory}, reached directly")
                }
                Holds::TableBox { element } => format!("a box of the table ({element})"),
                Holds::StaticTable { table } => format!(
                    "null: the same functions in every instance, for good; output table {table}, \
                     called with the caller's vmctx"
                ),
                Holds::Value { ty, mutable } => {
                    format!("the value ({}{ty})", if *mutable { "mut " } else { "" })
                }
                Holds::GlobalBox { ty } => format!("a box of the value (mut {ty}), shared"),
                Holds::NativeGlobal { global } => {
                    format!("every instance imports output global {global}")
                }
                Holds::Closure => "a closure: the instances import different functions".into(),
                Holds::Function { function, instance } => {
                    let with = instance
                        .map(|i| format!(" with instance {i}'s vmctx"))
                        .unwrap_or_default();
                    format!("every instance calls `{}`{with}", shown(function))
                }
                Holds::DataLengths { segments } => {
                    format!("the lengths of its {segments} data segments")
                }
                Holds::Elements { element } => {
                    format!("the segment's elements ({element}), null once dropped or applied")
                }
                Holds::TagIdentity { tag } => {
                    format!("the defining instance's vmctx, the identity output tag {tag} carries")
                }
                Holds::OwnTag { tag } => {
                    format!("output tag {tag}, carrying the instance's own vmctx as identity")
                }
            };
            let _ = writeln!(out, "      {field:<9} {what}: {holds}");
        }
    }

    let memory = match &plan.host.memory {
        HostMemory::None => "no value crosses it through memory".to_string(),
        HostMemory::InPlace {
            module,
            instance,
            export,
        } => format!(
            "in place: the output exports memory \"{}\" of instance {instance} ({}) as \
             `memory`",
            shown(export),
            label(*module)
        ),
        HostMemory::Exchange { module, reason } => {
            let defined = module
                .map(|m| format!(" of {}", label(m)))
                .unwrap_or_default();
            let why = match reason {
                ExchangeWhy::Handles { function } => {
                    format!("`{}` passes handles", shown(function))
                }
                ExchangeWhy::UnresolvedMemory { function } => {
                    format!("the memory of `{}` is not a core export", shown(function))
                }
                ExchangeWhy::ReifiedMemory { function, module } => format!(
                    "the memory of `{}` belongs to reified {}",
                    shown(function),
                    label(*module)
                ),
                ExchangeWhy::SeveralMemories { first, other } => format!(
                    "`{}` and `{}` use different memories",
                    shown(first),
                    shown(other)
                ),
                ExchangeWhy::Encodings { first, other } => format!(
                    "`{}` and `{}` use different string encodings",
                    shown(first),
                    shown(other)
                ),
                ExchangeWhy::Reallocs { first, other } => format!(
                    "`{}` and `{}` use different realloc functions",
                    shown(first),
                    shown(other)
                ),
                ExchangeWhy::AsyncLift { function } => {
                    format!("`{}` is an async callback lift", shown(function))
                }
                ExchangeWhy::AsyncLower { function } => {
                    format!("`{}` is an import lowered async", shown(function))
                }
            };
            format!("through the exchange memory{defined}, because {why}")
        }
    };
    let _ = writeln!(out, "\nhost boundary: {memory}");
    let flags = |uses_memory: bool, handles: bool, exchange: bool| {
        let mut f = Vec::new();
        if uses_memory {
            f.push("values in memory");
        }
        if handles {
            f.push("handles");
        }
        if exchange {
            f.push("through the exchange memory");
        }
        if f.is_empty() {
            String::new()
        } else {
            format!("; {}", f.join(", "))
        }
    };
    let _ = writeln!(out, "  imports: {}", plan.host.imports.len());
    for i in &plan.host.imports {
        let _ = writeln!(
            out,
            "    \"{}\" \"{}\": {}{}",
            shown(&i.module),
            shown(&i.name),
            i.ty,
            flags(i.uses_memory, i.handles, i.exchange)
        );
    }
    if !plan.host.resource_intrinsics.is_empty() {
        let _ = writeln!(
            out,
            "  resource intrinsics: {}",
            plan.host.resource_intrinsics.len()
        );
        for i in &plan.host.resource_intrinsics {
            let _ = writeln!(
                out,
                "    \"{}\" \"{}\": {}",
                shown(&i.module),
                shown(&i.name),
                i.ty
            );
        }
    }
    let _ = writeln!(out, "  exports: {}", plan.host.exports.len());
    for e in &plan.host.exports {
        let post = e
            .post_return
            .as_ref()
            .map(|p| format!("; post-return \"{}\"", shown(p)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "    \"{}\": {}{}{post}",
            shown(&e.name),
            e.ty,
            flags(e.uses_memory, e.handles, e.exchange)
        );
    }
    out
}

/// `name` (from the input) with control characters escaped, for a terminal.
fn shown(name: &str) -> String {
    name.chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}
