//! `gc-lower run`: run a lowered command on wasmtime with WASI, as `wasmtime run` runs a
//! component.
//!
//! A lowered core module speaks the guest core ABI and carries its WIT world, so
//! [`crate::rewrap`] turns it back into a component; that component (or one given directly)
//! is instantiated with wasmtime-wasi's implementation of `wasi:cli` and the interfaces it
//! builds on (io, clocks, random, filesystem, sockets): WASI 0.2 always, and WASI 0.3
//! (`wasi:cli@0.3.0`, streams and futures for standard I/O) as well when the component uses
//! the component model's async support. Either its `wasi:cli/run` export (0.2 or 0.3) is
//! called or, with `--invoke`, one export named in a
//! [WAVE](https://github.com/bytecodealliance/wasm-tools/tree/main/crates/wasm-wave) call
//! such as `greet("x", 3)`.
//!
//! What follows `wasmtime run` (its `src/commands/run.rs`): standard input, output and error
//! are the process's; the guest's first argument is the file's name as given; `--env NAME`
//! without a value copies the host's variable; `--dir HOST::GUEST` preopens a directory
//! read-write; a `run` that returns an error exits with status 1, an explicit
//! `wasi:cli/exit` with its status, and a trap with 134 (an abort) on Unix after printing the
//! trap; an invoked function's results are printed in WAVE, one line.
//!
//! What does not: no network access is granted (wasmtime's `-S inherit-network`), no
//! `--argv0`, no `wasi:http`.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use wasmtime::component::types::{ComponentExtern, ComponentFunc, ComponentItem};
use wasmtime::component::wasm_wave;
use wasmtime::component::{Component, ComponentExportIndex, Linker, ResourceTable, Val};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::p2::bindings::sync::Command;
use wasmtime_wasi::{FsPerms, I32Exit, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

/// Options of `gc-lower run`.
#[derive(clap::Args, Debug)]
pub struct RunOpts {
    /// Grant the guest access to the host directory HOST, seen as GUEST (default: HOST).
    #[arg(long = "dir", value_name = "HOST[::GUEST]", value_parser = parse_dir)]
    pub dirs: Vec<(PathBuf, String)>,
    /// Set an environment variable of the guest; `NAME` alone copies the host's value.
    #[arg(long = "env", value_name = "NAME[=VAL]", value_parser = parse_env)]
    pub envs: Vec<(String, Option<String>)>,
    /// Call this export instead of `wasi:cli/run`, with arguments written in WAVE, for
    /// example `--invoke 'greet("x", 3)'`; its results are printed in WAVE.
    #[arg(long, value_name = "CALL")]
    pub invoke: Option<String>,
    /// Which core modules get reified when FILE is a component to be lowered first (without
    /// this option a component runs as it is).
    #[arg(long, value_enum)]
    pub reify: Option<crate::ReifyMode>,
    /// The lowered core module (`.wasm` or `.wat`), or a component.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Arguments of the guest, after its first argument, which is FILE.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "ARGS"
    )]
    pub args: Vec<String>,
}

fn parse_dir(s: &str) -> Result<(PathBuf, String)> {
    match s.split_once("::") {
        Some((host, guest)) if !host.is_empty() && !guest.is_empty() => {
            Ok((PathBuf::from(host), guest.to_string()))
        }
        Some(_) => bail!("expected `HOST::GUEST` with both directories named"),
        None => Ok((PathBuf::from(s), s.to_string())),
    }
}

fn parse_env(s: &str) -> Result<(String, Option<String>)> {
    let (name, value) = match s.split_once('=') {
        Some((name, value)) => (name, Some(value.to_string())),
        None => (s, None),
    };
    if name.is_empty() {
        bail!("expected `NAME=VAL` or `NAME`");
    }
    Ok((name.to_string(), value))
}

impl RunOpts {
    /// Runs the file; the process's exit status is the guest's.
    pub fn run(self) -> Result<ExitCode> {
        let bytes = std::fs::read(&self.file)
            .with_context(|| format!("failed to read `{}`", self.file.display()))?;
        let bytes = wat::parse_bytes(&bytes).with_context(|| {
            format!(
                "failed to parse `{}` as WebAssembly text",
                self.file.display()
            )
        })?;
        let component = self.component_bytes(&bytes)?;
        let mut wasi = WasiCtxBuilder::new();
        wasi.inherit_stdio();
        wasi.arg(self.file.to_string_lossy());
        wasi.args(&self.args);
        for (name, value) in &self.envs {
            match value {
                Some(value) => wasi.env(name, value),
                None => match std::env::var(name) {
                    Ok(value) => wasi.env(name, value),
                    Err(_) => &mut wasi,
                },
            };
        }
        for (host, guest) in &self.dirs {
            wasi.preopened_dir(host, guest, FsPerms::ReadWrite)
                .map_err(anyhow::Error::from)
                .with_context(|| format!("failed to open directory `{}`", host.display()))?;
        }
        // The component model's async support (`async` function types, kept in the lowered
        // output) needs wasmtime's concurrency support, and then its asynchronous API.
        let engine = if crate::front::uses_async(&component) {
            Engine::new(&async_config())
                .map_err(anyhow::Error::from)
                .context("failed to create the wasmtime engine")?
        } else {
            engine()?
        };
        let component = Component::new(&engine, &component)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("failed to compile `{}`", self.file.display()))?;
        let outcome = match &self.invoke {
            None => run_command(&engine, &component, wasi.build()),
            Some(call) => invoke(&engine, &component, wasi.build(), call),
        }?;
        match outcome {
            Outcome::Exit(code) => Ok(exit_code(code)),
            Outcome::Returned(results) => {
                writeln!(std::io::stdout(), "{results}")
                    .context("failed to write standard output")?;
                Ok(ExitCode::SUCCESS)
            }
            Outcome::Trap(err) => {
                // A closed standard error must not turn the trap into a panic.
                let _ = writeln!(std::io::stderr(), "error: {err:?}");
                Ok(ExitCode::from(if cfg!(unix) { 134 } else { 3 }))
            }
        }
    }

    /// The component to run: FILE re-wrapped when it is a core module, lowered first when
    /// `--reify` asks for it.
    fn component_bytes(&self, bytes: &[u8]) -> Result<Vec<u8>> {
        let is_component = wasmtime_environ::wasmparser::Parser::is_component(bytes);
        if !is_component && !wasmtime_environ::wasmparser::Parser::is_core_wasm(bytes) {
            bail!(
                "`{}` is not a WebAssembly module or component",
                self.file.display()
            );
        }
        let module = match (is_component, self.reify) {
            (true, None) => return Ok(bytes.to_vec()),
            (true, Some(reify)) => crate::lower(
                bytes,
                &crate::Options {
                    reify,
                    ..Default::default()
                },
            )
            .with_context(|| format!("failed to lower `{}`", self.file.display()))?,
            (false, Some(_)) => bail!(
                "`--reify` lowers a component, but `{}` is a core module",
                self.file.display()
            ),
            (false, None) => bytes.to_vec(),
        };
        crate::rewrap(&module)
            .with_context(|| format!("failed to wrap `{}` into a component", self.file.display()))
    }
}

/// A process exit status from a guest's `i32` one (statuses outside 0..=255 become 1).
fn exit_code(code: i32) -> ExitCode {
    u8::try_from(code).map_or(ExitCode::FAILURE, ExitCode::from)
}

/// The wasmtime configuration that runs gc-lower's output and the components it comes from:
/// the component model (and its `map` type), Wasm GC with wasmtime's default deferred
/// reference-counting collector (the null collector caps objects at 64 MiB), and the
/// proposals lowered output and the spec suites use (function references, reference types,
/// multi-memory, threads, exceptions, tail calls). wasmtime's concurrency support (the
/// runtime of component-model async) is off: a store with it on carries its scheduler;
/// [`async_config`] turns it on for components that use the component model's async
/// support, as `gc-lower wast` does for scripts that use async. Every runner, test and
/// benchmark starts from it; a caller that wants a core-only engine turns the component
/// model off.
pub fn config() -> Config {
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .wasm_component_model_map(true)
        .wasm_component_model_fixed_length_lists(true)
        .wasm_gc(true)
        .wasm_function_references(true)
        .wasm_reference_types(true)
        .wasm_multi_memory(true)
        .wasm_threads(true)
        .wasm_tail_call(true)
        .wasm_exceptions(true)
        .concurrency_support(false)
        .collector(wasmtime::Collector::DeferredReferenceCounting);
    config
}

/// [`config`] with wasmtime's concurrency support and the component model's async and
/// error-context features on, for components that use the component model's async support (`async` function types,
/// async lifts and lowers, async built-ins), whose calls then go through wasmtime's
/// asynchronous API ([`run_command`] and [`invoke`] do so on such an engine).
pub fn async_config() -> Config {
    let mut config = config();
    config
        .concurrency_support(true)
        .wasm_component_model_async(true)
        .wasm_component_model_error_context(true);
    config
}

/// A wasmtime engine of [`config`].
pub fn engine() -> Result<Engine> {
    Engine::new(&config())
        .map_err(anyhow::Error::from)
        .context("failed to create the wasmtime engine")
}

/// The store's data: the WASI context and the table of the resources it hands out.
struct Host {
    ctx: WasiCtx,
    table: ResourceTable,
}

impl WasiView for Host {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.ctx,
            table: &mut self.table,
        }
    }
}

/// How a run ended without a host error.
#[derive(Debug)]
pub enum Outcome {
    /// The guest returned (status 0 for success, 1 for `run`'s error) or called
    /// `wasi:cli/exit` with this status.
    Exit(i32),
    /// The guest trapped; the error says where and why.
    Trap(anyhow::Error),
    /// An invoked function returned these results, written in WAVE.
    Returned(String),
}

/// A store of `wasi` and a linker with WASI 0.2 and, on an engine with wasmtime's
/// concurrency support, WASI 0.3.
fn store_and_linker(engine: &Engine, wasi: WasiCtx) -> Result<(Store<Host>, Linker<Host>)> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
        .map_err(anyhow::Error::from)
        .context("failed to add WASI 0.2 to the linker")?;
    if engine.get_concurrency_support() {
        wasmtime_wasi::p3::add_to_linker(&mut linker)
            .map_err(anyhow::Error::from)
            .context("failed to add WASI 0.3 to the linker")?;
    }
    let store = Store::new(
        engine,
        Host {
            ctx: wasi,
            table: ResourceTable::new(),
        },
    );
    Ok((store, linker))
}

/// Sorts a failed call: an explicit exit status, a trap, or another error (such as invalid
/// UTF-8 in a lifted string), which stays an error as in `wasmtime run`.
fn outcome_of_error(err: wasmtime::Error) -> Result<Outcome> {
    if let Some(exit) = err.downcast_ref::<I32Exit>() {
        Ok(Outcome::Exit(exit.0))
    } else if err.downcast_ref::<wasmtime::Trap>().is_some() {
        Ok(Outcome::Trap(err.into()))
    } else {
        Err(err.into())
    }
}

/// Instantiates `component` as a `wasi:cli/command` with `wasi` and calls its `run`.
///
/// Errors: the component is not a command, an import is missing, or the call fails other
/// than by a trap or an exit, which are an [`Outcome`].
pub fn run_command(engine: &Engine, component: &Component, wasi: WasiCtx) -> Result<Outcome> {
    let is_command = component
        .component_type()
        .exports(engine)
        .any(|(name, _)| name.starts_with("wasi:cli/run@"));
    if !is_command {
        bail!(
            "the component is not a command: it exports no `wasi:cli/run` \
             (`--invoke` calls one of its functions)"
        );
    }
    if !engine.get_concurrency_support()
        && component
            .component_type()
            .exports(engine)
            .any(|(name, _)| name.starts_with("wasi:cli/run@0.3."))
    {
        bail!(
            "the component is a WASI 0.3 command, which needs an engine with wasmtime's \
             concurrency support (`async_config`)"
        );
    }
    let (mut store, linker) = store_and_linker(engine, wasi)?;
    if engine.get_concurrency_support() {
        return run_command_async(store, linker, component);
    }
    let command = Command::instantiate(&mut store, component, &linker)
        .map_err(anyhow::Error::from)
        .context("failed to instantiate the component as a `wasi:cli/command`")?;
    Ok(match command.wasi_cli_run().call_run(&mut store) {
        Ok(Ok(())) => Outcome::Exit(0),
        Ok(Err(())) => Outcome::Exit(1),
        Err(err) => outcome_of_error(err).context("failed to run the command")?,
    })
}

/// Runs `future` (a call through wasmtime's asynchronous API) to completion on this thread,
/// with wasmtime-wasi's Tokio runtime as the ambient one: WASI 0.3's standard I/O and
/// sockets are Tokio's and need its handle, and WASI 0.2's synchronous functions, linked
/// with `add_to_linker_sync`, block on that runtime themselves (`in_tokio`), which they may
/// not do inside its `block_on`.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    wasmtime_wasi::runtime::with_ambient_tokio_runtime(|| futures::executor::block_on(future))
}

/// [`run_command`] on an engine with wasmtime's concurrency support: instantiation and the
/// call of `wasi:cli/run`'s `run` (WASI 0.2's, or 0.3's `async` one) go through wasmtime's
/// asynchronous API, run to completion here ([`block_on`]).
fn run_command_async(
    mut store: Store<Host>,
    linker: Linker<Host>,
    component: &Component,
) -> Result<Outcome> {
    let instance = block_on(linker.instantiate_async(&mut store, component))
        .map_err(anyhow::Error::from)
        .context("failed to instantiate the component as a `wasi:cli/command`")?;
    let run_interface = component
        .component_type()
        .exports(store.engine())
        .find(|(name, _)| {
            name.starts_with("wasi:cli/run@0.2.") || name.starts_with("wasi:cli/run@0.3.")
        })
        .map(|(name, _)| name.to_string())
        .context(
            "the component is not a WASI 0.2 or 0.3 command: it exports no \
             `wasi:cli/run@0.2` or `wasi:cli/run@0.3`",
        )?;
    let interface = instance
        .get_export_index(&mut store, None, &run_interface)
        .context("internal error: `wasi:cli/run` not found")?;
    let run = instance
        .get_export_index(&mut store, Some(&interface), "run")
        .with_context(|| format!("`{run_interface}` exports no `run`"))?;
    let run = instance
        .get_typed_func::<(), (Result<(), ()>,)>(&mut store, &run)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("`{run_interface}#run` does not have the type of `run`"))?;
    Ok(match block_on(run.call_async(&mut store, ())) {
        Ok((Ok(()),)) => Outcome::Exit(0),
        Ok((Err(()),)) => Outcome::Exit(1),
        Err(err) => outcome_of_error(err).context("failed to run the command")?,
    })
}

/// Instantiates `component` with WASI and calls the export that `call` (WAVE, like
/// `wasmtime run --invoke`) names, with its arguments.
///
/// The name is looked up among the component's exported functions and those of its exported
/// instances; it must match exactly one.
pub fn invoke(
    engine: &Engine,
    component: &Component,
    wasi: WasiCtx,
    call: &str,
) -> Result<Outcome> {
    let call = wasm_wave::untyped::UntypedFuncCall::parse(call)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("failed to parse `{call}` as a WAVE function call"))?;
    let name = call.name();
    let mut found = Vec::new();
    find_funcs(
        engine,
        component.component_type().exports(engine),
        &mut Vec::new(),
        name,
        &mut found,
    );
    let (path, ty) = match found.len() {
        0 => bail!("the component exports no function named `{name}`"),
        1 => found.remove(0),
        _ => bail!(
            "several exports are named `{name}`: {}",
            found
                .iter()
                .map(|(path, _)| format!("`{}`", path.join("#")))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let param_types: Vec<_> = ty.params().map(|(_, ty)| ty).collect();
    let params: Vec<Val> = call
        .to_wasm_params(&param_types)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("failed to read the arguments of `{name}`"))?;
    let (mut store, linker) = store_and_linker(engine, wasi)?;
    let concurrent = engine.get_concurrency_support();
    let instance = if concurrent {
        block_on(linker.instantiate_async(&mut store, component))
    } else {
        linker.instantiate(&mut store, component)
    }
    .map_err(anyhow::Error::from)
    .context("failed to instantiate the component")?;
    let mut index: Option<ComponentExportIndex> = None;
    for part in &path {
        index = Some(
            instance
                .get_export_index(&mut store, index.as_ref(), part)
                .with_context(|| format!("internal error: export `{part}` not found"))?,
        );
    }
    let func = index
        .and_then(|index| instance.get_func(&mut store, index))
        .with_context(|| format!("internal error: `{name}` is not a function"))?;
    let mut results = vec![Val::Bool(false); ty.results().len()];
    let called = if concurrent {
        block_on(func.call_async(&mut store, &params, &mut results))
    } else {
        func.call(&mut store, &params, &mut results)
    };
    Ok(match called {
        Ok(()) => Outcome::Returned(wasm_wave::wasm::DisplayFuncResults(&results).to_string()),
        Err(err) => outcome_of_error(err).with_context(|| format!("failed to call `{name}`"))?,
    })
}

/// Collects the functions named `name` among `exports`, recursing into instances; `path` is
/// the instance names leading to `exports`.
fn find_funcs<'a>(
    engine: &Engine,
    exports: impl Iterator<Item = (&'a str, ComponentExtern<'a>)>,
    path: &mut Vec<String>,
    name: &str,
    found: &mut Vec<(Vec<String>, ComponentFunc)>,
) {
    for (export, item) in exports {
        match item.ty {
            ComponentItem::ComponentFunc(func) if export == name => {
                let mut full = path.clone();
                full.push(export.to_string());
                found.push((full, func));
            }
            ComponentItem::ComponentInstance(instance) => {
                path.push(export.to_string());
                find_funcs(engine, instance.exports(engine), path, name, found);
                path.pop();
            }
            _ => {}
        }
    }
}
