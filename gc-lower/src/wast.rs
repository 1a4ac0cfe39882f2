//! `gc-lower wast`: the differential runner (native wasmtime component vs lowered output).
//!
//! Every component of a `.wast` script runs three ways (five with the JavaScript engines),
//! and every assertion is checked on each of them:
//!
//! 1. **native**: wasmtime's component runtime. Its result is checked against the script;
//!    an assertion that the native run does not satisfy is *skipped* ("native run fails"):
//!    the runner tests the lowering, not wasmtime.
//! 2. **lowered, re-wrapped**: [`crate::lower`], then [`crate::rewrap`], run by the same
//!    engine. The outcome must equal the native one: the same values, or a trap on both sides
//!    for the same reason (the lowered trap's reason, from its `gc-lower:trap:{reason}` frame
//!    or the reified-state helper it stopped in, must be what wasmtime's message says, up to
//!    a few differences of wording; see `lowered_trap_reason`). Instantiation must trap iff
//!    the native instantiation traps.
//! 3. **lowered, core**: the lowered core module alone, on an engine without the component
//!    model, when it has no imports; functions whose types are all scalar shapes (see
//!    `wast/abi.rs`) are called through their guest-ABI export, and their results lifted by the
//!    runner itself (traps compared as on side 2). This is how an engine without a component
//!    runtime (a browser) sees the output.
//! 4. **JavaScript, core** (`--engine node|jsc|chromium|spidermonkey|all`, single-module
//!    output): the same core module and calls on V8 (Node), JavaScriptCore (Bun), and in a
//!    headless browser page on Chromium's V8 and Firefox's SpiderMonkey, instantiated with
//!    plain `WebAssembly` (`wast/node.rs`, its core driver); a NaN argument with a payload,
//!    which a JavaScript number need not keep, ends the checks of that instance.
//! 5. **JavaScript, component**: the re-wrapped component `jco transpile`d, run by the same
//!    engines (`wast/node.rs`; in the browsers, its core modules inlined and the JavaScript
//!    imported by the page). On sides 4 and 5 a trap must meet a native trap, but its
//!    reason is not compared: the JavaScript engines word their traps themselves.
//!
//! A component whose lowering reports [`crate::Unsupported`] has its assertions skipped with
//! that reason; any other lowering error fails them. `assert_invalid` and `assert_malformed`
//! pass when wasmtime rejects the input and [`crate::lower`] fails. Assertions
//! (`assert_return`, `assert_trap`, `assert_invalid`, `assert_malformed`, bare `invoke`) are
//! what is counted.
//!
//! A script's leading `;;!` lines (`;;! multi_memory = true`, wasmtime's test-config names)
//! set the features of its engines, as wasmtime's harness does, after the command line's
//! `-W NAME[=y|n]` options (wasmtime's `-W` names); one that V8 and JavaScriptCore lack (wide
//! arithmetic, …) keeps the script off the JavaScript engines. The component-model async
//! features turn on wasmtime's concurrency support: the native side then instantiates with
//! `instantiate_async` and calls with `call_async` (its event loop runs each call to the end
//! and traps on a deadlock), and the spectest host gains its asynchronous functions. A panic
//! inside wasmtime's component runtime is that call's native failure, not the end of the run.
//! An assertion whose lowering is skipped is counted under "native run fails" when the native
//! run does not satisfy it, and under the lowering's reason only when it does.
//!
//! Every script gets the host that wasmtime's own wast harness links into component tests
//! (`host-return-two`, the `host` instance with `resource1`, …; see `wast/spectest.rs`), for
//! the native and the re-wrapped lowered components alike, so scripts written for `wasmtime
//! wast` that import it run unchanged.
//!
//! Known imprecisions: `invoke` reaches root exports only (as in wasmtime's own runner);
//! `register` makes an instance's exported core modules and resources importable, nothing
//! else; threads, `assert_exception`, `assert_suspension` and `assert_exhaustion` are
//! counted as skipped. `assert_unlinkable` passes when the component does not link natively
//! (with the expected message) and its re-wrapped lowering does not instantiate either.

mod abi;
mod node;

pub use self::node::CORE_LOGIC;
mod spectest;
mod values;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::rc::Rc;

use anyhow::Context as _;
use wasmtime::component::{self, Val};
use wasmtime::{Config, Engine, Store};
use wast::parser::{self, ParseBuffer};
use wast::token::Span;
use wast::{QuoteWat, Wast, WastDirective, WastExecute, WastInvoke, WastRet, Wat};

use self::abi::{FlatSig, FlatType, FlatVal};
use self::node::{JsEngine, NodeInst, NodeTools};
use crate::assemble::kebab;

/// Skip reason of an assertion that the native run does not satisfy.
const NATIVE_FAILS: &str = "native run fails";
/// Skip reason of a directive that the `wast` crate cannot parse (newer text syntax).
const UNREADABLE: &str = "directive not readable by the `wast` parser";

/// Options of `gc-lower wast`.
#[derive(clap::Args, Debug)]
pub struct WastOpts {
    /// The `.wast` scripts to run.
    pub files: Vec<PathBuf>,
    /// Which core modules the lowering reifies.
    #[arg(long, value_enum, default_value_t)]
    pub reify: crate::ReifyMode,
    /// How loads and stores on reified memories are emitted (`helper`: one call per access,
    /// kept for measurements).
    #[arg(long, value_enum, default_value_t, hide = true)]
    pub memory_access: crate::memory_access::MemoryAccess,
    /// Which functions get their loads and stores outside loops inline (as `gc-lower
    /// --inline-accesses`).
    #[arg(long, value_name = "N|all", default_value_t)]
    pub inline_accesses: crate::memory_access::InlineAccesses,
    /// Print every directive with its outcome on each side.
    #[arg(long)]
    pub verbose: bool,
    /// Report as JSON lines instead of text: one object per script (`file`, `passed`,
    /// `failed`, `skipped`, `skips`: `[{"reason", "count"}]`, `failures`: the failed
    /// assertions' messages), then one with the totals (`passed`, `failed`, `skipped`).
    #[arg(long)]
    pub json: bool,
    /// Capture wasm backtraces in traps (slower; makes messages longer).
    #[arg(long)]
    pub backtrace: bool,
    /// Which engines run the lowered output besides wasmtime's core API: `wasmtime` (the
    /// re-wrapped component in wasmtime), `node` (for components without imports, the lowered
    /// core module with plain `WebAssembly` and the re-wrapped component `jco transpile`d,
    /// both run by Node's V8), `jsc` (the same run by Bun's JavaScriptCore), `chromium` and
    /// `spidermonkey` (the lowered core module in a headless page of Debian's `chromium` or
    /// `firefox-esr`, found at `GC_LOWER_CHROMIUM` / `GC_LOWER_FIREFOX`), or `all` (every one
    /// of them that is installed, all of them under `CI`; the JavaScript engines' answers must
    /// agree).
    #[arg(long, value_enum, default_value_t)]
    pub engine: EngineChoice,
    /// Which output the core and V8 sides run: the single module (`single`) or the module
    /// graph of `gc-lower graph` (`graph`), instantiated by `gc_lower::module_graph::instantiate` on
    /// wasmtime and by its JS loader under jco's bindings on V8. The re-wrapped side always
    /// runs the single module; an assertion that neither graph side could check (the core side
    /// needs scalar types and no imports, the JavaScript side `--engine node|jsc|all`) is skipped.
    #[arg(long, value_enum, default_value_t)]
    pub output: OutputForm,
    /// Turns a wasm feature on or off for every script, before its own `;;!` lines, as
    /// `wasmtime wast -W` does: `NAME[=y|n]`, with wasmtime's names
    /// (`component-model-async`, `component-model-async-stackful`, `exceptions`, …; `_` for
    /// `-` also accepted). The component-model async features also turn on wasmtime's
    /// concurrency support, and the native runs go through `call_async`. Repeatable.
    #[arg(short = 'W', long = "wasm", value_name = "NAME[=y|n]", value_parser = parse_feature)]
    pub features: Vec<(String, bool)>,
}

/// Parses a `-W` option: `NAME`, `NAME=y|yes|true` or `NAME=n|no|false`.
fn parse_feature(text: &str) -> Result<(String, bool), String> {
    let (name, on) = match text.split_once('=') {
        None => (text, true),
        Some((name, "y" | "yes" | "true")) => (name, true),
        Some((name, "n" | "no" | "false")) => (name, false),
        Some((_, other)) => return Err(format!("`{other}` is not y, n, yes, no, true or false")),
    };
    set_feature(&mut Config::new(), name, on).map_err(|e| e.to_string())?;
    Ok((name.replace('-', "_"), on))
}

/// The output form that `gc-lower wast` checks on its core and V8 sides.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OutputForm {
    /// One core module ([`crate::lower`]).
    #[default]
    Single,
    /// The module graph ([`crate::module_graph::lower_graph`]).
    Graph,
}

/// Skip reason of an assertion that no side running the module graph could check.
const GRAPH_UNCHECKED: &str = "graph output not run: the core side needs scalar types and no imports (JavaScript: --engine node, jsc or all)";

/// The engines `gc-lower wast` runs the lowered output on.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EngineChoice {
    /// wasmtime: the re-wrapped component, and the core module through the core API.
    #[default]
    Wasmtime,
    /// wasmtime as above, and V8: the re-wrapped component transpiled by jco, run by Node.
    Node,
    /// wasmtime as above, and JavaScriptCore: the transpiled component run by Bun.
    Jsc,
    /// wasmtime as above, and Chromium's V8 (headless, driven by puppeteer-core): the core
    /// module in a page.
    Chromium,
    /// wasmtime as above, and Firefox ESR's SpiderMonkey (headless, driven by puppeteer-core
    /// over WebDriver BiDi): the core module in a page.
    Spidermonkey,
    /// Every engine: wasmtime, V8 and JavaScriptCore, and the browsers that are installed
    /// (every one of them under `CI`, where a missing browser is an error).
    All,
}

impl WastOpts {
    /// Runs every script; the exit code is non-zero if any assertion failed.
    pub fn run(self) -> anyhow::Result<ExitCode> {
        let engines = Engines::new(self.backtrace, &self.features)?;
        let node = match self.engine {
            EngineChoice::Wasmtime => None,
            EngineChoice::Node => Some(NodeTools::find(&[JsEngine::Node])?),
            EngineChoice::Jsc => Some(NodeTools::find(&[JsEngine::Bun])?),
            EngineChoice::Chromium | EngineChoice::Spidermonkey
                if self.output == OutputForm::Graph =>
            {
                anyhow::bail!(
                    "`--output graph` runs on wasmtime, Node and Bun: the browsers do not load \
                     the module graph's files"
                )
            }
            EngineChoice::Chromium => Some(NodeTools::find(&[JsEngine::Chromium])?),
            EngineChoice::Spidermonkey => Some(NodeTools::find(&[JsEngine::SpiderMonkey])?),
            EngineChoice::All => {
                let mut engines = vec![JsEngine::Node, JsEngine::Bun];
                // The module graph is files that a browser page does not load.
                let browsers = match self.output {
                    OutputForm::Single => &[JsEngine::Chromium, JsEngine::SpiderMonkey][..],
                    OutputForm::Graph => &[],
                };
                for &browser in browsers {
                    let (var, _) = browser.location();
                    let binary = browser.binary();
                    if binary.exists() || std::env::var_os("CI").is_some() {
                        engines.push(browser);
                    } else {
                        eprintln!(
                            "note: {} not run: `{}` not found (install Debian's package, or set \
                             `{var}`)",
                            browser.name(),
                            binary.display()
                        );
                    }
                }
                Some(NodeTools::find(&engines)?)
            }
        };
        let runner = Runner {
            engines,
            node,
            options: crate::Options {
                reify: self.reify,
                memory_access: self.memory_access,
                inline_accesses: self.inline_accesses,
            },
            output: self.output,
            opts: &self,
        };
        let mut total = Tally::default();
        for path in &self.files {
            let tally = runner.run_file(path);
            total.passed += tally.passed;
            total.failed += tally.failed;
            total.skipped += tally.skipped;
        }
        if self.json {
            let totals = serde_json::json!({
                "passed": total.passed,
                "failed": total.failed,
                "skipped": total.skipped,
            });
            println!("{totals}");
        } else {
            println!(
                "{} passed, {} failed, {} skipped",
                total.passed, total.failed, total.skipped
            );
        }
        Ok(if total.failed > 0 {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        })
    }
}

/// The engines of one run, built once: compiling is most of a script's run time.
struct Engines {
    /// Component model on: the native runs and the re-wrapped lowered components.
    component: Engine,
    /// Component model off: the lowered core modules, as a core-only embedder runs them.
    core: Engine,
    /// Whether the JavaScript engines run the outputs too: not when a script's `;;!` lines
    /// turn on a feature that V8 and JavaScriptCore lack ([`javascript_lacks`]).
    javascript: bool,
}

/// Whether V8 and JavaScriptCore lack feature `name` of a `;;!` line (wide arithmetic,
/// custom page sizes, stack switching, shared-everything threads).
fn javascript_lacks(name: &str) -> bool {
    matches!(
        name,
        "wide_arithmetic" | "custom_page_sizes" | "stack_switching" | "shared_everything_threads"
    )
}

impl Engines {
    /// The engines, with the wasm features of a script's `;;!` lines (see [`features`]) set
    /// on top of the usual ones. Errors: a feature this build cannot set (the message names
    /// it), or an engine that cannot be created.
    fn new(backtrace: bool, features: &[(String, bool)]) -> anyhow::Result<Engines> {
        let config = |component_model: bool| -> anyhow::Result<Config> {
            let mut config = Self::config(component_model, backtrace);
            for (name, on) in features {
                set_feature(&mut config, name, *on)?;
            }
            Ok(config)
        };
        let component = Engine::new(&config(true)?)
            .map_err(anyhow::Error::from)
            .context("failed to create the component engine")?;
        let core = Engine::new(&config(false)?)
            .map_err(anyhow::Error::from)
            .context("failed to create the core engine")?;
        let javascript = !features
            .iter()
            .any(|(name, on)| *on && javascript_lacks(name));
        Ok(Engines {
            component,
            core,
            javascript,
        })
    }

    /// [`crate::run::config`], with or without the component model, and with backtraces of
    /// up to 32 frames when asked for, else of the innermost frame only (which names the
    /// output's trap function at a limit of the lowering, [`limit_trap`]).
    fn config(component_model: bool, backtrace: bool) -> Config {
        let mut config = crate::run::config();
        config
            .wasm_component_model(component_model)
            .wasm_component_model_map(component_model)
            .wasm_backtrace_max_frames(NonZeroUsize::new(if backtrace { 32 } else { 1 }));
        config
    }
}

/// The features a script sets in its leading `;;!` lines, as wasmtime's test harness reads
/// them (`;;! multi_memory = true`): `(name, value)` in order. Lines after the first that
/// does not start with `;;!` are not read. Errors: a line that is not `name = true|false`.
fn features(text: &str) -> Result<Vec<(String, bool)>, String> {
    text.lines()
        .take_while(|line| line.starts_with(";;!"))
        .map(|line| {
            let setting = line[3..].trim();
            let (name, value) = setting
                .split_once('=')
                .ok_or_else(|| format!("`;;!` line `{setting}` is not `name = true|false`"))?;
            let value = match value.trim() {
                "true" => true,
                "false" => false,
                other => {
                    return Err(format!(
                        "`;;!` line `{setting}`: `{other}` is not `true` or `false`"
                    ));
                }
            };
            Ok((name.trim().to_string(), value))
        })
        .collect()
}

/// The features that need wasmtime's concurrency support (its component-model async
/// runtime) in the engine: the async ABI, its built-ins, stackful lifts, threading and error
/// contexts. A script that turns one on runs natively with `call_async` under
/// `run_concurrent`, as wasmtime's own harness runs it.
fn needs_concurrency(name: &str) -> bool {
    matches!(
        name,
        "component_model_async"
            | "component_model_async_builtins"
            | "component_model_more_async_builtins"
            | "component_model_async_stackful"
            | "component_model_threading"
            | "component_model_error_context"
    )
}

/// Sets feature `name` of a `;;!` line or a `-W` option (wasmtime's test-config names, or
/// its command line's with `-` for `_`) on `config`; turning on one that
/// [`needs_concurrency`] also turns on the engine's concurrency support.
/// Errors: an unknown name.
fn set_feature(config: &mut Config, name: &str, on: bool) -> anyhow::Result<()> {
    let name = name.replace('-', "_");
    if on && needs_concurrency(&name) {
        config.concurrency_support(true);
    }
    match name.as_str() {
        "memory64" => config.wasm_memory64(on),
        "custom_page_sizes" => config.wasm_custom_page_sizes(on),
        "multi_memory" => config.wasm_multi_memory(on),
        "threads" => config.wasm_threads(on),
        "shared_everything_threads" => config.wasm_shared_everything_threads(on),
        "gc" | "gc_types" => config.wasm_gc(on),
        "function_references" => config.wasm_function_references(on),
        "reference_types" => config.wasm_reference_types(on),
        "simd" => config.wasm_simd(on),
        "relaxed_simd" => config.wasm_relaxed_simd(on),
        "tail_call" => config.wasm_tail_call(on),
        "extended_const" => config.wasm_extended_const(on),
        "wide_arithmetic" => config.wasm_wide_arithmetic(on),
        "exceptions" => config.wasm_exceptions(on),
        "legacy_exceptions" => {
            #[expect(
                deprecated,
                reason = "wasmtime's own test scripts set it, so it is read"
            )]
            let _ = config.wasm_legacy_exceptions(on);
            config
        }
        "stack_switching" => config.wasm_stack_switching(on),
        "component_model_gc" => config.wasm_component_model_gc(on),
        "component_model_error_context" => config.wasm_component_model_error_context(on),
        "component_model_async" => config.wasm_component_model_async(on),
        // wasmtime 48 calls the built-ins beyond the async ABI's core "more async built-ins";
        // its test configuration still reads the older name.
        "component_model_async_builtins" | "component_model_more_async_builtins" => {
            config.wasm_component_model_more_async_builtins(on)
        }
        "component_model_async_stackful" => config.wasm_component_model_async_stackful(on),
        "component_model_threading" => config.wasm_component_model_threading(on),
        "component_model_map" => config.wasm_component_model_map(on),
        "component_model_memory64" => config.wasm_component_model_memory64(on),
        "component_model_fixed_length_lists" => config.wasm_component_model_fixed_length_lists(on),
        "component_model_implements" => config.wasm_component_model_implements(on),
        "nan_canonicalization" => config.cranelift_nan_canonicalization(on),
        // Tells wasmtime's harness that a test needs much memory; nothing to set here.
        "hogs_memory" => config,
        other => anyhow::bail!("unknown wasm feature `{other}`"),
    };
    Ok(())
}

/// What the runner counts.
#[derive(Default)]
struct Tally {
    passed: usize,
    failed: usize,
    skipped: usize,
}

/// The verdict on one assertion.
enum Status {
    Pass,
    Fail(String),
    Skip(String),
}

/// An assertion's verdict with what was seen on the way (printed with `--verbose`, and with
/// failures).
struct Outcome {
    status: Status,
    notes: Vec<String>,
}

impl Outcome {
    fn pass() -> Outcome {
        Outcome {
            status: Status::Pass,
            notes: Vec::new(),
        }
    }

    fn fail(msg: impl Into<String>) -> Outcome {
        Outcome {
            status: Status::Fail(msg.into()),
            notes: Vec::new(),
        }
    }

    fn skip(reason: impl Into<String>) -> Outcome {
        Outcome {
            status: Status::Skip(reason.into()),
            notes: Vec::new(),
        }
    }

    fn note(mut self, note: impl Into<String>) -> Outcome {
        self.notes.push(note.into());
        self
    }
}

/// Why a side was not run; `reason` is the aggregated skip reason.
#[derive(Clone)]
struct NotRun {
    reason: String,
    detail: String,
}

impl NotRun {
    fn native(detail: impl Into<String>) -> NotRun {
        NotRun {
            reason: NATIVE_FAILS.to_string(),
            detail: detail.into(),
        }
    }

    fn outcome(&self) -> Outcome {
        Outcome::skip(&self.reason).note(&self.detail)
    }
}

/// The lowering of one component, shared by all its instances.
enum Lowered {
    /// The lowering reported an unsupported feature.
    Skip(String),
    /// The lowering (or re-wrapping, or compiling its output) failed.
    Fail(String),
    Ready {
        component: component::Component,
        /// `None` when the core module has imports: only the re-wrapped component runs.
        core: Option<CoreProgram>,
        /// The jco-transpiled component (when V8 runs too and there are no imports), or why
        /// transpiling failed.
        node: Option<Result<PathBuf, String>>,
        /// The lowered core module's file, for the JavaScript engines' core path (when they
        /// run, the output is the single module and it has no imports).
        js_core: Option<PathBuf>,
    },
}

/// A component definition: the native compilation and the lowering.
struct Def {
    native: Result<component::Component, NotRun>,
    lowered: Lowered,
}

/// A component instance in its own store.
struct CompInst {
    store: Store<()>,
    component: component::Component,
    instance: component::Instance,
}

/// What the core side runs: the single module or the module graph, compiled.
#[derive(Clone)]
enum CoreProgram {
    Single(wasmtime::Module),
    Graph(Rc<(crate::module_graph::ModuleGraph, Vec<wasmtime::Module>)>),
}

/// An instance of a lowered core module or module graph.
struct CoreInst {
    store: Store<()>,
    instance: CoreExports,
}

enum CoreExports {
    Single(wasmtime::Instance),
    Graph(crate::module_graph::GraphInstance),
}

impl CoreInst {
    fn get_func(&mut self, name: &str) -> Option<wasmtime::Func> {
        match &self.instance {
            CoreExports::Single(i) => i.get_func(&mut self.store, name),
            CoreExports::Graph(g) => g.get_func(name),
        }
    }
}

/// The lowered side of a live instance.
enum LoweredInst {
    Skip(String),
    Fail(String),
    Ready {
        wrapped: CompInst,
        core: Option<CoreInst>,
        node: Option<NodeInst>,
        /// The lowered core module run with plain `WebAssembly` by the JavaScript engines.
        js_core: Option<NodeInst>,
    },
}

/// A live instance of the script.
struct Inst {
    native: Result<CompInst, NotRun>,
    lowered: LoweredInst,
}

/// The lowered side of one instantiation attempt.
enum LoweredAttempt {
    Skip(String),
    Fail(String),
    Ran {
        wrapped: anyhow::Result<CompInst>,
        core: Option<anyhow::Result<CoreInst>>,
        /// `Err` when the JavaScript engines could not run it (or disagree); `Ok(Err(trap))`
        /// when instantiation trapped.
        node: Option<Result<Result<NodeInst, String>, String>>,
        /// The core path on the JavaScript engines, likewise.
        js_core: Option<Result<Result<NodeInst, String>, String>>,
    },
}

/// The result of an invocation: values or a trap.
type CallResult = anyhow::Result<Vec<Val>>;

/// What an invocation assertion expects.
enum Expect<'a, 'b> {
    Return(&'b [WastRet<'a>]),
    Trap(&'a str),
    Succeed,
}

struct Runner<'o> {
    engines: Engines,
    /// The JavaScript engines and jco, when the lowered output also runs on V8 or
    /// JavaScriptCore.
    node: Option<NodeTools>,
    options: crate::Options,
    output: OutputForm,
    opts: &'o WastOpts,
}

impl Runner<'_> {
    /// Runs one script and prints its report; never fails (a script that cannot be read or
    /// parsed counts as one failure).
    fn run_file(&self, path: &Path) -> Tally {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => return self.file_error(path, &format!("failed to read the script: {e}")),
        };
        // A script's `;;!` lines turn features on (or off) for its engines, after the
        // command line's `-W` options.
        let features = match features(&text) {
            Ok(f) => f,
            Err(e) => return self.file_error(path, &e),
        };
        let file_engines;
        let engines = if features.is_empty() {
            &self.engines
        } else {
            let all = self
                .opts
                .features
                .iter()
                .cloned()
                .chain(features)
                .collect::<Vec<_>>();
            file_engines = match Engines::new(self.opts.backtrace, &all) {
                Ok(e) => e,
                Err(e) => return self.file_error(path, &format!("{e:#}")),
            };
            &file_engines
        };
        let new_script =
            || -> anyhow::Result<Script<'_, '_>> { Script::new(self, engines, path, &text) };
        let mut script = match new_script() {
            Ok(script) => script,
            Err(e) => return self.file_error(path, &format!("{e:#}")),
        };
        let whole = ParseBuffer::new(&text).and_then(|buf| {
            let wast = parser::parse::<Wast<'_>>(&buf)?;
            wast.directives
                .into_iter()
                .for_each(|d| script.directive(d));
            Ok(())
        });
        if let Err(mut whole_err) = whole {
            // Newer text syntax than this `wast` reads: parse form by form, so that only the
            // directives it cannot read (and what depends on them) are skipped. Each form is
            // parsed in a copy of the script blanked outside it, so spans stay valid. A script
            // that is not a sequence of balanced forms is broken, not newer: it fails.
            let forms = match top_level_forms(&text) {
                Ok(forms) if !forms.is_empty() => forms,
                _ => {
                    whole_err.set_path(path);
                    whole_err.set_text(&text);
                    let msg = format!("failed to parse the script: {whole_err}");
                    return self.file_error(path, &msg);
                }
            };
            script = match new_script() {
                Ok(script) => script,
                Err(e) => return self.file_error(path, &format!("{e:#}")),
            };
            for form in forms {
                let masked = blank_outside(&text, form.clone());
                let parsed = ParseBuffer::new(&masked).and_then(|buf| {
                    let wast = parser::parse::<Wast<'_>>(&buf)?;
                    wast.directives
                        .into_iter()
                        .for_each(|d| script.directive(d));
                    Ok(())
                });
                if let Err(mut e) = parsed {
                    e.set_path(path);
                    e.set_text(&text);
                    script.unreadable(&text[form.clone()], Span::from_offset(form.start + 1), &e);
                }
            }
        }
        script.finish()
    }

    fn file_error(&self, path: &Path, msg: &str) -> Tally {
        // A parse error quotes a line of the script, which may be huge or binary.
        let msg = crate::error::printable(msg);
        if self.opts.json {
            let report = serde_json::json!({
                "file": path.display().to_string(),
                "passed": 0,
                "failed": 1,
                "skipped": 0,
                "skips": [],
                "failures": [msg],
            });
            println!("{report}");
        } else {
            println!("  {}: {msg}", path.display());
            println!("FAIL {} (0 passed, 1 failed, 0 skipped)", path.display());
        }
        Tally {
            passed: 0,
            failed: 1,
            skipped: 0,
        }
    }

    /// Compiles `bytes` natively and lowers them, with `engines`.
    fn define(&self, engines: &Engines, bytes: &[u8]) -> Def {
        match component::Component::new(&engines.component, bytes) {
            Ok(c) => Def {
                native: Ok(c),
                lowered: self.lower(engines, bytes),
            },
            Err(e) => Def {
                native: Err(NotRun::native(format!("native compilation failed: {e:#}"))),
                lowered: Lowered::Skip(NATIVE_FAILS.to_string()),
            },
        }
    }

    /// Lowers, re-wraps and compiles a component, with `engines`.
    fn lower(&self, engines: &Engines, bytes: &[u8]) -> Lowered {
        let classify = |e: anyhow::Error| match crate::find_unsupported(&e) {
            Some(u) => Lowered::Skip(u.to_string()),
            None => Lowered::Fail(format!("{e:#}")),
        };
        let core_bytes = match crate::lower(bytes, &self.options) {
            Ok(core) => core,
            Err(e) => return classify(e.context("failed to lower the component")),
        };
        let wrapped = match crate::rewrap(&core_bytes) {
            Ok(w) => w,
            Err(e) => return classify(e.context("failed to re-wrap the lowered module")),
        };
        let component = match component::Component::new(&engines.component, &wrapped) {
            Ok(c) => c,
            Err(e) => {
                return Lowered::Fail(format!("the re-wrapped component does not compile: {e:#}"));
            }
        };
        let module = match wasmtime::Module::new(&engines.core, &core_bytes) {
            Ok(m) => m,
            Err(e) => {
                return Lowered::Fail(format!(
                    "the lowered module does not compile without the component model: {e:#}"
                ));
            }
        };
        let has_imports = module.imports().len() > 0;
        let graph = match self.output {
            OutputForm::Single => None,
            OutputForm::Graph => {
                let graph = match crate::module_graph::lower_graph(bytes, self.options.reify) {
                    Ok(g) => g,
                    Err(e) => return classify(e.context("failed to lower into a module graph")),
                };
                match crate::module_graph::compile(&engines.core, &graph) {
                    Ok(modules) => Some(Rc::new((graph, modules))),
                    Err(e) => return Lowered::Fail(format!("{e:#}")),
                }
            }
        };
        let core = match &graph {
            _ if has_imports => None,
            Some(graph) => Some(CoreProgram::Graph(graph.clone())),
            None => Some(CoreProgram::Single(module)),
        };
        let node = match &self.node {
            Some(tools) if !has_imports && engines.javascript => Some(
                tools
                    .transpile(&wrapped, graph.as_ref().map(|g| &g.0))
                    .map_err(|e| format!("{e:#}")),
            ),
            _ => None,
        };
        let js_core = match &self.node {
            Some(tools) if !has_imports && engines.javascript && graph.is_none() => {
                match tools.write_core(&core_bytes) {
                    Ok(path) => Some(path),
                    Err(e) => return Lowered::Fail(format!("{e:#}")),
                }
            }
            _ => None,
        };
        Lowered::Ready {
            component,
            core,
            node,
            js_core,
        }
    }
}

/// The state of one script: its definitions, instances and report.
struct Script<'r, 'o> {
    runner: &'r Runner<'o>,
    /// The engines of this script: the runner's, or its own when it sets features.
    engines: &'r Engines,
    path: &'r Path,
    text: &'r str,
    defs: HashMap<String, Rc<Def>>,
    last_def: Option<Rc<Def>>,
    instances: Vec<Inst>,
    names: HashMap<String, usize>,
    current: Option<usize>,
    native_linker: component::Linker<()>,
    lowered_linker: component::Linker<()>,
    tally: Tally,
    failures: Vec<String>,
    skip_reasons: Vec<(String, usize)>,
}

/// A linker with the host that wasmtime's own wast harness links into every component test
/// ([`spectest`]: `host-return-two`, the `host` instance with `resource1`, …), on which
/// `register` may shadow names.
fn spectest_linker(engine: &Engine) -> anyhow::Result<component::Linker<()>> {
    let mut linker = component::Linker::new(engine);
    linker.allow_shadowing(true);
    spectest::link(&mut linker).context("failed to link the spectest host")?;
    Ok(linker)
}

impl<'r, 'o> Script<'r, 'o> {
    /// A script with the spectest host linked for the native and the re-wrapped lowered
    /// components. Errors: the host does not link (an internal error).
    fn new(
        runner: &'r Runner<'o>,
        engines: &'r Engines,
        path: &'r Path,
        text: &'r str,
    ) -> anyhow::Result<Self> {
        Ok(Script {
            runner,
            engines,
            path,
            text,
            defs: HashMap::new(),
            last_def: None,
            instances: Vec::new(),
            names: HashMap::new(),
            current: None,
            native_linker: spectest_linker(&engines.component)?,
            lowered_linker: spectest_linker(&engines.component)?,
            tally: Tally::default(),
            failures: Vec::new(),
            skip_reasons: Vec::new(),
        })
    }

    fn engines(&self) -> &'r Engines {
        self.engines
    }

    fn location(&self, span: Span) -> String {
        let (line, col) = span.linecol_in(self.text);
        format!("{}:{}:{}", self.path.display(), line + 1, col + 1)
    }

    /// Prints a non-assertion directive with `--verbose`.
    fn trace(&self, span: Span, what: &str) {
        if self.runner.opts.verbose {
            println!("  {} {what}", self.location(span));
        }
    }

    /// Counts and reports an assertion.
    fn record(&mut self, span: Span, what: &str, outcome: Outcome) {
        let location = self.location(span);
        let notes = outcome.notes.iter().fold(String::new(), |mut s, n| {
            let _ = write!(s, "\n      {n}");
            s
        });
        match outcome.status {
            Status::Pass => {
                self.tally.passed += 1;
                if self.runner.opts.verbose {
                    println!("  {location} {what}: pass{notes}");
                }
            }
            Status::Skip(reason) => {
                self.tally.skipped += 1;
                if self.runner.opts.verbose {
                    println!("  {location} {what}: skipped ({reason}){notes}");
                }
                match self.skip_reasons.iter_mut().find(|(r, _)| *r == reason) {
                    Some((_, n)) => *n += 1,
                    None => self.skip_reasons.push((reason, 1)),
                }
            }
            Status::Fail(msg) => {
                self.tally.failed += 1;
                let line = format!("  {location} {what}: FAILED: {msg}{notes}");
                if self.runner.opts.verbose {
                    println!("{line}");
                }
                self.failures.push(line);
            }
        }
    }

    fn finish(self) -> Tally {
        if self.runner.opts.json {
            let skips: Vec<_> = self
                .skip_reasons
                .iter()
                .map(|(reason, count)| serde_json::json!({ "reason": reason, "count": count }))
                .collect();
            let report = serde_json::json!({
                "file": self.path.display().to_string(),
                "passed": self.tally.passed,
                "failed": self.tally.failed,
                "skipped": self.tally.skipped,
                "skips": skips,
                "failures": self.failures,
            });
            println!("{report}");
            return self.tally;
        }
        if !self.runner.opts.verbose {
            for line in &self.failures {
                println!("{line}");
            }
        }
        let t = &self.tally;
        let verdict = if t.failed > 0 { "FAIL" } else { "PASS" };
        let failed = if t.failed > 0 {
            format!(", {} failed", t.failed)
        } else {
            String::new()
        };
        let reasons = self
            .skip_reasons
            .iter()
            .map(|(reason, n)| format!("{n}: {reason}"))
            .collect::<Vec<_>>()
            .join("; ");
        let reasons = if reasons.is_empty() {
            reasons
        } else {
            format!(" [{reasons}]")
        };
        println!(
            "{verdict} {} ({} passed{failed}, {} skipped){reasons}",
            self.path.display(),
            t.passed,
            t.skipped
        );
        self.tally
    }

    fn directive(&mut self, directive: WastDirective<'_>) {
        let span = directive.span();
        match directive {
            WastDirective::Module(mut wat) => {
                let name = wat.name().map(|id| id.name().to_string());
                let what = format!(
                    "component{}",
                    name.as_deref()
                        .map(|n| format!(" ${n}"))
                        .unwrap_or_default()
                );
                let def = Rc::new(self.define(&mut wat));
                let inst = self.instantiate_def(&def);
                self.trace(span, &format!("{what}: {}", describe(&inst)));
                self.push_instance(name, inst);
            }
            WastDirective::ModuleDefinition(mut wat) => {
                let name = wat.name().map(|id| id.name().to_string());
                let def = Rc::new(self.define(&mut wat));
                let state = match (&def.native, &def.lowered) {
                    (Err(e), _) => format!("{} ({})", e.reason, e.detail),
                    (Ok(_), Lowered::Skip(r)) => format!("lowering skipped: {r}"),
                    (Ok(_), Lowered::Fail(m)) => format!("lowering failed: {m}"),
                    (Ok(_), Lowered::Ready { core, .. }) => {
                        format!(
                            "lowered{}",
                            if core.is_some() {
                                ""
                            } else {
                                " (core module has imports)"
                            }
                        )
                    }
                };
                let label = name
                    .as_deref()
                    .map(|n| format!(" ${n}"))
                    .unwrap_or_default();
                self.trace(span, &format!("component definition{label}: {state}"));
                if let Some(name) = name {
                    self.defs.insert(name, def.clone());
                }
                self.last_def = Some(def);
            }
            WastDirective::ModuleInstance {
                instance, module, ..
            } => {
                let def = match module {
                    Some(id) => self.defs.get(id.name()).cloned(),
                    None => self.last_def.clone(),
                };
                let inst = match def {
                    Some(def) => self.instantiate_def(&def),
                    None => Inst {
                        native: Err(NotRun::native("no such component definition")),
                        lowered: LoweredInst::Skip(NATIVE_FAILS.to_string()),
                    },
                };
                let name = instance.map(|id| id.name().to_string());
                let label = name
                    .as_deref()
                    .map(|n| format!(" ${n}"))
                    .unwrap_or_default();
                self.trace(
                    span,
                    &format!("component instance{label}: {}", describe(&inst)),
                );
                self.push_instance(name, inst);
            }
            WastDirective::Register { name, module, .. } => {
                let note = self.register(name, module.map(|id| id.name()));
                self.trace(span, &format!("register {name:?}: {note}"));
            }
            WastDirective::Invoke(invoke) => {
                let what = format!("invoke {:?}", invoke.name);
                let outcome = self.assert_invoke(&invoke, Expect::Succeed);
                self.record(span, &what, outcome);
            }
            WastDirective::AssertReturn { exec, results, .. } => {
                let (what, outcome) = match exec {
                    WastExecute::Invoke(invoke) => (
                        format!("assert_return {:?}", invoke.name),
                        self.assert_invoke(&invoke, Expect::Return(&results)),
                    ),
                    WastExecute::Wat(wat) => (
                        "assert_return (component)".to_string(),
                        self.assert_instantiation(wat, None),
                    ),
                    WastExecute::Get { .. } => (
                        "assert_return (get)".to_string(),
                        Outcome::skip("`get` of a component export is not supported by the runner"),
                    ),
                };
                self.record(span, &what, outcome);
            }
            WastDirective::AssertTrap { exec, message, .. } => {
                let (what, outcome) = match exec {
                    WastExecute::Invoke(invoke) => (
                        format!("assert_trap {:?}", invoke.name),
                        self.assert_invoke(&invoke, Expect::Trap(message)),
                    ),
                    WastExecute::Wat(wat) => (
                        "assert_trap (component)".to_string(),
                        self.assert_instantiation(wat, Some(message)),
                    ),
                    WastExecute::Get { .. } => (
                        "assert_trap (get)".to_string(),
                        Outcome::skip("`get` of a component export is not supported by the runner"),
                    ),
                };
                self.record(span, &what, outcome);
            }
            WastDirective::AssertInvalid {
                module, message, ..
            } => {
                let outcome = self.assert_rejected(module, message);
                self.record(span, "assert_invalid", outcome);
            }
            WastDirective::AssertMalformed {
                module, message, ..
            } => {
                let outcome = self.assert_rejected(module, message);
                self.record(span, "assert_malformed", outcome);
            }
            WastDirective::AssertUnlinkable {
                module, message, ..
            } => {
                let outcome = self.assert_unlinkable(module, message);
                self.record(span, "assert_unlinkable", outcome);
            }
            other => {
                let what = match other {
                    WastDirective::Thread(_) | WastDirective::Wait { .. } => "thread",
                    WastDirective::AssertException { .. } => "assert_exception",
                    WastDirective::AssertSuspension { .. } => "assert_suspension",
                    WastDirective::AssertExhaustion { .. } => "assert_exhaustion",
                    WastDirective::AssertInvalidCustom { .. } => "assert_invalid_custom",
                    WastDirective::AssertMalformedCustom { .. } => "assert_malformed_custom",
                    _ => "directive",
                };
                let reason = format!("`{what}` is not supported by the runner");
                self.record(span, what, Outcome::skip(reason));
            }
        }
    }

    /// Handles a top-level form that does not parse: a definition or an instance becomes a
    /// placeholder whose assertions are skipped; an assertion is counted as skipped.
    fn unreadable(&mut self, form: &str, span: Span, err: &wast::Error) {
        let detail = err.to_string();
        let not_run = NotRun {
            reason: UNREADABLE.to_string(),
            detail: detail.clone(),
        };
        let mut words = form.trim_start_matches('(').split_whitespace();
        let head = words.next().unwrap_or_default();
        let second = words.next().unwrap_or_default();
        let id = |w: &str| {
            w.strip_prefix('$')
                .map(|n| n.trim_end_matches(')').to_string())
        };
        match (head, second) {
            ("component" | "module", "definition") => {
                let def = Rc::new(Def {
                    native: Err(not_run),
                    lowered: Lowered::Skip(UNREADABLE.into()),
                });
                if let Some(name) = words.next().and_then(id) {
                    self.defs.insert(name, def.clone());
                }
                self.last_def = Some(def);
                self.trace(span, &format!("{head} definition: {UNREADABLE}"));
            }
            ("component" | "module", _) => {
                let inst = Inst {
                    native: Err(not_run),
                    lowered: LoweredInst::Skip(UNREADABLE.into()),
                };
                self.push_instance(id(second), inst);
                self.trace(span, &format!("{head}: {UNREADABLE}"));
            }
            (h, _) if h.starts_with("assert_") || h == "invoke" => {
                self.record(span, h, Outcome::skip(UNREADABLE).note(detail));
            }
            (h, _) => self.trace(span, &format!("{h}: {UNREADABLE}")),
        }
    }

    fn push_instance(&mut self, name: Option<String>, inst: Inst) {
        let index = self.instances.len();
        self.instances.push(inst);
        if let Some(name) = name {
            self.names.insert(name, index);
        }
        self.current = Some(index);
    }

    /// Encodes a component of the script and defines it; core modules are not run.
    fn define(&self, wat: &mut QuoteWat<'_>) -> Def {
        if matches!(
            wat,
            QuoteWat::QuoteModule(..) | QuoteWat::Wat(Wat::Module(_))
        ) {
            let reason = "core module directives are not run by the component runner";
            return Def {
                native: Err(NotRun {
                    reason: reason.to_string(),
                    detail: String::new(),
                }),
                lowered: Lowered::Skip(reason.to_string()),
            };
        }
        match wat.encode() {
            Ok(bytes) => self.runner.define(self.engines, &bytes),
            Err(e) => Def {
                native: Err(NotRun::native(format!(
                    "failed to encode the component: {e}"
                ))),
                lowered: Lowered::Skip(NATIVE_FAILS.to_string()),
            },
        }
    }

    /// Instantiates a definition natively and, if that did not fail to compile, lowered.
    fn attempt(&self, def: &Def) -> (Result<anyhow::Result<CompInst>, NotRun>, LoweredAttempt) {
        let native = match &def.native {
            Ok(c) => c,
            Err(e) => return (Err(e.clone()), LoweredAttempt::Skip(e.reason.clone())),
        };
        let native = Ok(instantiate_component(
            &self.engines().component,
            &self.native_linker,
            native,
        ));
        let lowered = match &def.lowered {
            Lowered::Skip(r) => LoweredAttempt::Skip(r.clone()),
            Lowered::Fail(m) => LoweredAttempt::Fail(m.clone()),
            Lowered::Ready {
                component,
                core,
                node,
                js_core,
            } => LoweredAttempt::Ran {
                wrapped: instantiate_component(
                    &self.engines().component,
                    &self.lowered_linker,
                    component,
                ),
                core: core
                    .as_ref()
                    .map(|m| instantiate_core(&self.engines().core, m)),
                node: node.as_ref().map(|module| {
                    let module = module.clone()?;
                    let tools = self.runner.node.as_ref().expect("node side is configured");
                    tools.instantiate(&module).map_err(|e| format!("{e:#}"))
                }),
                js_core: js_core.as_ref().map(|wasm| {
                    let tools = self.runner.node.as_ref().expect("node side is configured");
                    tools.instantiate_core(wasm).map_err(|e| format!("{e:#}"))
                }),
            },
        };
        (native, lowered)
    }

    fn instantiate_def(&self, def: &Def) -> Inst {
        let (native, lowered) = self.attempt(def);
        let native = match native {
            Err(e) => {
                return Inst {
                    native: Err(e),
                    lowered: LoweredInst::Skip(NATIVE_FAILS.to_string()),
                };
            }
            Ok(Err(trap)) => {
                let e = NotRun::native(format!("native instantiation trapped: {trap:#}"));
                return Inst {
                    native: Err(e),
                    lowered: LoweredInst::Skip(NATIVE_FAILS.to_string()),
                };
            }
            Ok(Ok(i)) => i,
        };
        let lowered = match lowered {
            LoweredAttempt::Skip(r) => LoweredInst::Skip(r),
            LoweredAttempt::Fail(m) => LoweredInst::Fail(m),
            LoweredAttempt::Ran {
                wrapped: Err(e), ..
            } => LoweredInst::Fail(format!(
                "instantiating the re-wrapped component trapped, natively it did not: {e:#}"
            )),
            LoweredAttempt::Ran {
                core: Some(Err(e)), ..
            } => LoweredInst::Fail(format!(
                "instantiating the lowered core module trapped, natively it did not: {e:#}"
            )),
            LoweredAttempt::Ran {
                node: Some(Err(e)), ..
            } => match node::unsupported_by_jco(&e) {
                Some(reason) => LoweredInst::Skip(reason),
                None => LoweredInst::Fail(format!("js: {e}")),
            },
            LoweredAttempt::Ran {
                node: Some(Ok(Err(trap))),
                ..
            } => LoweredInst::Fail(format!(
                "instantiating the transpiled component in JavaScript trapped, natively it did not: \
                 {trap}"
            )),
            LoweredAttempt::Ran {
                js_core: Some(Err(e)),
                ..
            } => LoweredInst::Fail(format!("js core: {e}")),
            LoweredAttempt::Ran {
                js_core: Some(Ok(Err(trap))),
                ..
            } => LoweredInst::Fail(format!(
                "instantiating the lowered core module in JavaScript trapped, natively it did \
                 not: {trap}"
            )),
            LoweredAttempt::Ran {
                wrapped: Ok(wrapped),
                core,
                node,
                js_core,
            } => LoweredInst::Ready {
                wrapped,
                core: core.and_then(Result::ok),
                node: node.and_then(Result::ok).and_then(Result::ok),
                js_core: js_core.and_then(Result::ok).and_then(Result::ok),
            },
        };
        Inst {
            native: Ok(native),
            lowered,
        }
    }

    /// `assert_trap (component …)` (with `Some(message)`) or `assert_return (component …)`.
    fn assert_instantiation(&self, wat: Wat<'_>, trap: Option<&str>) -> Outcome {
        let def = self.define(&mut QuoteWat::Wat(wat));
        let (native, lowered) = self.attempt(&def);
        let native = match native {
            Err(e) => return e.outcome(),
            Ok(n) => n,
        };
        let mut notes = Vec::new();
        match (&native, trap) {
            (Err(e), Some(msg)) => {
                if let Err(m) = trap_matches(e, msg) {
                    return Outcome::skip(NATIVE_FAILS).note(m);
                }
                notes.push(format!("native trap: {e:#}"));
            }
            (Ok(_), None) => {}
            (Ok(_), Some(_)) => {
                return Outcome::skip(NATIVE_FAILS).note("native instantiation did not trap");
            }
            (Err(e), None) => {
                return Outcome::skip(NATIVE_FAILS)
                    .note(format!("native instantiation trapped: {e:#}"));
            }
        }
        let expect_trap = trap.is_some();
        let outcome = match lowered {
            LoweredAttempt::Skip(r) => Outcome::skip(r),
            LoweredAttempt::Fail(m) => Outcome::fail(m),
            LoweredAttempt::Ran {
                wrapped,
                core,
                node,
                js_core,
            } => {
                let mut failures = Vec::new();
                if let Some(Err(e)) = &js_core {
                    failures.push(format!("js core: {e}"));
                }
                let mut check = |side: &str, result: Result<(), anyhow::Error>| match result {
                    Err(e) if expect_trap => notes.push(format!("{side} trap: {e:#}")),
                    Ok(()) if !expect_trap => {}
                    Err(e) => failures.push(format!("{side}: instantiation trapped: {e:#}")),
                    Ok(()) => failures.push(format!("{side}: instantiation did not trap")),
                };
                check("re-wrapped", wrapped.map(drop));
                let mut graph_checked = false;
                if let Some(core) = core {
                    check("core", core.map(drop));
                    graph_checked = true;
                }
                match js_core {
                    None => {}
                    Some(Err(_)) => {} // counted below
                    Some(Ok(result)) => {
                        check("js core", result.map(drop).map_err(|t| anyhow::anyhow!(t)));
                    }
                }
                match node {
                    None => {}
                    Some(Err(e)) => match node::unsupported_by_jco(&e) {
                        Some(reason) => notes.push(reason),
                        None => failures.push(format!("js: {e}")),
                    },
                    Some(Ok(result)) => {
                        check("js", result.map(drop).map_err(|t| anyhow::anyhow!(t)));
                        graph_checked = true;
                    }
                }
                if !failures.is_empty() {
                    Outcome::fail(failures.join("; "))
                } else if self.runner.output == OutputForm::Graph && !graph_checked {
                    Outcome::skip(GRAPH_UNCHECKED)
                } else {
                    Outcome::pass()
                }
            }
        };
        Outcome {
            notes: [notes, outcome.notes].concat(),
            ..outcome
        }
    }

    /// `assert_invalid` / `assert_malformed`: wasmtime and the lowering must both refuse.
    fn assert_rejected(&self, mut module: QuoteWat<'_>, message: &str) -> Outcome {
        let bytes = match module.encode() {
            Ok(b) => b,
            Err(e) => return Outcome::pass().note(format!("the text does not encode: {e}")),
        };
        let native = match &module {
            QuoteWat::QuoteModule(..) | QuoteWat::Wat(Wat::Module(_)) => {
                wasmtime::Module::new(&self.engines().component, &bytes).map(drop)
            }
            _ => component::Component::new(&self.engines().component, &bytes).map(drop),
        };
        let native = match native {
            Ok(()) => {
                return Outcome::skip(NATIVE_FAILS)
                    .note(format!("wasmtime accepts the input (expected {message:?})"));
            }
            Err(e) => format!("wasmtime: {e:#}"),
        };
        match crate::lower(&bytes, &self.runner.options) {
            Ok(_) => Outcome::fail("the lowering accepts the input").note(native),
            Err(e) => match crate::find_unsupported(&e) {
                Some(u) => Outcome::skip(u.to_string()).note(native),
                None => Outcome::pass()
                    .note(native)
                    .note(format!("lowering: {e:#}")),
            },
        }
    }

    /// `assert_unlinkable`: natively the component compiles but does not instantiate, with an
    /// error that contains `message` (an import the linker lacks or has with another type);
    /// lowered, the re-wrapped component must fail the same way, its error containing
    /// `message` too. The core side runs only
    /// outputs without imports, which an unlinkable component does not lower to, and the
    /// JavaScript side needs components without imports.
    fn assert_unlinkable(&self, wat: Wat<'_>, message: &str) -> Outcome {
        let def = self.define(&mut QuoteWat::Wat(wat));
        let (native, lowered) = self.attempt(&def);
        let native = match native {
            Err(e) => return e.outcome(),
            Ok(Ok(_)) => {
                return Outcome::skip(NATIVE_FAILS).note("the component links natively");
            }
            Ok(Err(e)) => e,
        };
        let native_note = format!("native: {native:#}");
        if let Err(m) = trap_matches(&native, message) {
            return Outcome::skip(NATIVE_FAILS).note(m);
        }
        match lowered {
            LoweredAttempt::Skip(r) => Outcome::skip(r),
            LoweredAttempt::Fail(m) => Outcome::fail(m),
            LoweredAttempt::Ran { wrapped: Ok(_), .. } => Outcome::fail(
                "the re-wrapped lowered component instantiated; natively it does not link",
            )
            .note(native_note),
            // The lowering keeps the component's imports, so the re-wrapped component fails
            // for the same import.
            LoweredAttempt::Ran {
                wrapped: Err(e), ..
            } => match trap_matches(&e, message) {
                Ok(()) => Outcome::pass()
                    .note(native_note)
                    .note(format!("re-wrapped: {e:#}")),
                Err(m) => Outcome::fail(format!("re-wrapped: {m}")).note(native_note),
            },
        }
    }

    /// Reflects an instance's exported core modules and resources into the linkers under
    /// `name`, so that later components can import them.
    fn register(&mut self, name: &str, module: Option<&str>) -> String {
        let index = match module {
            Some(m) => self.names.get(m).copied(),
            None => self.current,
        };
        let Some(inst) = index.and_then(|i| self.instances.get_mut(i)) else {
            return "no such instance".to_string();
        };
        let engine = &self.engines.component;
        let mut notes = Vec::new();
        if let Ok(native) = &mut inst.native
            && let Err(e) = reflect(engine, &mut self.native_linker, name, native)
        {
            notes.push(format!("native: {e:#}"));
        }
        if let LoweredInst::Ready { wrapped, .. } = &mut inst.lowered
            && let Err(e) = reflect(engine, &mut self.lowered_linker, name, wrapped)
        {
            notes.push(format!("lowered: {e:#}"));
        }
        if notes.is_empty() {
            "registered".to_string()
        } else {
            notes.join("; ")
        }
    }

    /// `assert_return`, `assert_trap` and bare `invoke` of a component function.
    fn assert_invoke(&mut self, invoke: &WastInvoke<'_>, expect: Expect<'_, '_>) -> Outcome {
        let index = match invoke.module {
            Some(id) => self.names.get(id.name()).copied(),
            None => self.current,
        };
        let Some(inst) = index.and_then(|i| self.instances.get_mut(i)) else {
            return Outcome::skip(NATIVE_FAILS).note("no such instance");
        };
        let native = match &mut inst.native {
            Ok(n) => n,
            Err(e) => return e.outcome(),
        };
        let args = match invoke
            .args
            .iter()
            .map(values::arg)
            .collect::<Result<Vec<_>, _>>()
        {
            Ok(args) => args,
            Err(m) => return Outcome::skip(NATIVE_FAILS).note(m),
        };
        let Some(func) = native.instance.get_func(&mut native.store, invoke.name) else {
            return Outcome::skip(NATIVE_FAILS)
                .note(format!("no function export `{}`", invoke.name));
        };
        let ty = func.ty(&native.store);
        let param_types = ty.params().map(|(_, t)| t).collect::<Vec<_>>();
        let result_types = ty.results().collect::<Vec<_>>();
        let native_result = call_component(&mut native.store, func, &args, result_types.len());
        // When the native run does not satisfy the script the assertion is skipped, but the
        // lowered sides still make the call, so that their state keeps following the native
        // one, and must still agree with it.
        let native_check = expect.check(&native_result);
        let (wrapped, core, node, js_core) = match &mut inst.lowered {
            // A lowering that was skipped checks nothing; the reason says whether the native
            // run satisfied the script, so the counts show what the lowering leaves out.
            LoweredInst::Skip(r) => {
                return match native_check {
                    Err(m) => Outcome::skip(NATIVE_FAILS).note(m),
                    Ok(()) => Outcome::skip(r.clone()),
                };
            }
            LoweredInst::Fail(m) => return Outcome::fail(m.clone()),
            LoweredInst::Ready {
                wrapped,
                core,
                node,
                js_core,
            } => (wrapped, core, node, js_core),
        };
        let mut outcome = Outcome::pass();
        let mut failures = Vec::new();
        // Whether a side that runs the module graph made the call (`--output graph`).
        let mut graph_checked = false;
        match wrapped.instance.get_func(&mut wrapped.store, invoke.name) {
            None => failures.push(format!(
                "the re-wrapped component has no export `{}`",
                invoke.name
            )),
            Some(func) => {
                let result = call_component(&mut wrapped.store, func, &args, result_types.len());
                compare(
                    "re-wrapped",
                    &native_result,
                    &result,
                    &mut outcome.notes,
                    &mut failures,
                );
            }
        }
        let sig = FlatSig::new(&param_types, &result_types);
        let mut side = CoreSide {
            name: invoke.name,
            sig: sig.as_ref(),
            native: &native_result,
            notes: &mut outcome.notes,
            failures: &mut failures,
        };
        graph_checked |= side.check("core", core, |inst, sig| {
            call_core(inst, invoke.name, sig, &args)
        });
        // The same core module on the JavaScript engines, with plain `WebAssembly`. A
        // JavaScript number need not keep a NaN's payload (V8 quiets it, JavaScriptCore makes
        // it canonical), so such a call cannot be made as the script says.
        if js_core.is_some()
            && sig.as_ref().is_some_and(|sig| {
                sig.lower_args(&args)
                    .is_ok_and(|flat| flat.iter().any(FlatVal::is_nan_with_payload))
            })
        {
            *js_core = None;
            side.notes.push(
                "js core: a NaN argument with a payload cannot cross a JavaScript number; the \
                 core instance is no longer checked"
                    .to_string(),
            );
        }
        side.check("js core", js_core, |inst, sig| {
            let flat_args = sig.lower_args(&args)?;
            let flat = inst
                .call_core(invoke.name, &flat_args, &sig.flat_results)
                .map_err(|e| format!("{e:#}"))?;
            Ok(match flat {
                Err(trap) => Err(anyhow::anyhow!("{trap}")),
                Ok(flat) => sig
                    .lift_results(&flat)
                    .map_err(|trap| anyhow::anyhow!("canonical ABI trap: {trap}")),
            })
        });
        let mut jco_deviation = None;
        if let Some(n) = node.as_mut() {
            match n.call(invoke.name, &param_types, &args, &result_types) {
                Err(e) if e.downcast_ref::<node::NotRepresentable>().is_some() => {
                    // The call cannot be made as the script says, so the JavaScript instance's
                    // state may differ from here on.
                    outcome.notes.push(format!(
                        "js: {e}; the JavaScript instance is no longer checked"
                    ));
                    *node = None;
                }
                Err(e) => {
                    failures.push(format!("js: {e:#}"));
                    *node = None;
                }
                Ok(result) => {
                    graph_checked = true;
                    let mut node_failures = Vec::new();
                    compare(
                        "js",
                        &native_result,
                        &result,
                        &mut outcome.notes,
                        &mut node_failures,
                    );
                    if !node_failures.is_empty()
                        && let Some(deviation) =
                            node::jco_lifting_deviation(&native_result, &result)
                    {
                        jco_deviation = Some(deviation);
                        outcome.notes.extend(node_failures);
                    } else {
                        failures.extend(node_failures);
                    }
                    if result.is_err() {
                        // jco does not keep a trapped instance from being entered again.
                        *node = None;
                    }
                }
            }
        }
        if failures.is_empty()
            && native_check.is_ok()
            && let Some(deviation) = jco_deviation
        {
            return Outcome {
                status: Status::Skip(deviation),
                notes: outcome.notes,
            };
        }
        // The first limit, when every failure is a trap at one.
        let at_limit = failures
            .iter()
            .map(|f| f.split_once(AT_LIMIT).map(|(_, rest)| rest))
            .collect::<Option<Vec<_>>>()
            .and_then(|l| {
                l.first()
                    .map(|rest| rest.split(' ').next().unwrap_or("").to_string())
            });
        if let Some(limit) = at_limit {
            let reason = format!("{AT_LIMIT}`{limit}`");
            outcome.notes.extend(failures);
            // Counted where the native run's failure to satisfy the script puts it.
            outcome.status = match native_check {
                Ok(()) => Status::Skip(reason.clone()),
                Err(m) => {
                    outcome.notes.push(m);
                    Status::Skip(NATIVE_FAILS.into())
                }
            };
            // The lowered instance trapped where the native one went on: what follows on it
            // is skipped with the same reason.
            inst.lowered = LoweredInst::Skip(reason);
        } else if !failures.is_empty() {
            outcome.status = Status::Fail(failures.join("; "));
        } else if let Err(m) = native_check {
            return Outcome::skip(NATIVE_FAILS).note(m);
        } else if self.runner.output == OutputForm::Graph && !graph_checked {
            outcome.status = Status::Skip(GRAPH_UNCHECKED.into());
        }
        outcome
    }
}

impl Expect<'_, '_> {
    /// Checks the native result against the script.
    fn check(&self, result: &CallResult) -> Result<(), String> {
        match (self, result) {
            (Expect::Return(expected), Ok(actual)) => {
                if expected.len() != actual.len() {
                    return Err(format!(
                        "expected {} results, got {actual:?}",
                        expected.len()
                    ));
                }
                expected
                    .iter()
                    .zip(actual)
                    .try_for_each(|(e, a)| values::matches_ret(e, a))
            }
            (Expect::Trap(msg), Err(e)) => trap_matches(e, msg),
            (Expect::Succeed, Ok(_)) => Ok(()),
            (Expect::Trap(msg), Ok(v)) => Err(format!("expected a trap ({msg:?}), got {v:?}")),
            (_, Err(e)) => Err(format!("native call trapped: {e:#}")),
        }
    }
}

/// Whether a trap has the script's message; wasmtime words a few traps differently from the
/// specification's reference interpreter.
/// What a call on a lowered core module (on wasmtime's core API or a JavaScript engine) is
/// checked against, and where its findings go.
struct CoreSide<'a> {
    /// The function called.
    name: &'a str,
    /// Its flat signature, when every parameter and result is scalar.
    sig: Option<&'a FlatSig>,
    /// The native result.
    native: &'a CallResult,
    notes: &'a mut Vec<String>,
    failures: &'a mut Vec<String>,
}

impl CoreSide<'_> {
    /// Calls the function on the core instance in `slot` (`side` names it in messages) with
    /// `call` and compares the result with the native one; returns whether it did. The
    /// instance is no longer checked (`slot` emptied) after a call it cannot make (a
    /// non-scalar signature), a broken export (a failure), or a trap: a component instance
    /// that trapped cannot be entered again, and a bare core module has no such state.
    fn check<T>(
        &mut self,
        side: &str,
        slot: &mut Option<T>,
        call: impl FnOnce(&mut T, &FlatSig) -> Result<CallResult, String>,
    ) -> bool {
        let Some(inst) = slot.as_mut() else {
            return false;
        };
        let Some(sig) = self.sig else {
            *slot = None;
            self.notes.push(format!(
                "{side}: `{}` is not scalar; the core instance is no longer checked",
                self.name
            ));
            return false;
        };
        match call(inst, sig) {
            Err(m) => {
                self.failures.push(format!("{side}: {m}"));
                *slot = None;
                false
            }
            Ok(result) => {
                compare(side, self.native, &result, self.notes, self.failures);
                if result.is_err() {
                    *slot = None;
                }
                true
            }
        }
    }
}

fn trap_matches(trap: &anyhow::Error, expected: &str) -> Result<(), String> {
    let actual = format!("{trap:?}");
    let aliases = ["cannot write", "cannot read"];
    if actual.contains(expected)
        || aliases
            .iter()
            .any(|a| expected.contains(a) && actual.contains(a))
    {
        Ok(())
    } else {
        Err(format!("expected a trap with {expected:?}, got: {trap:#}"))
    }
}

/// How a failure names a trap at a documented limit of the lowering ([`limit_trap`]); an
/// assertion whose every failure is one is a skip with that reason.
const AT_LIMIT: &str = "trapped at a limit of the lowering: ";

/// The limit of the lowering that `trap` stopped at, when it went through one of the output's
/// functions for them (`gc-lower:trap:unsupported-…`, named in the backtrace): where
/// wasmtime goes on (a task that would outlive the call that started it), the output traps
/// there by design.
fn limit_trap(trap: &anyhow::Error) -> Option<String> {
    // Anywhere in the text: the JavaScript engines' stack traces name the function too, in
    // their own format (`at gc-lower:trap:unsupported-… (wasm://…)`).
    const PREFIX: &str = "gc-lower:trap:unsupported-";
    let text = format!("{trap:?}");
    let start = text.find(PREFIX)? + "gc-lower:trap:".len();
    Some(
        text[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect(),
    )
}

/// The reason of a trap of the lowered output on wasmtime, in kebab case (as
/// `crate::assemble::trap_reason` names wasmtime's traps), from wasmtime's text of the error
/// (`{error:#}`, with its backtrace): the `{reason}` of the output's `gc-lower:trap:{reason}`
/// function when the trap is in one (the backtrace's innermost frame); else the reason that a
/// trap inside one of the reified-state helpers (`gc-lower:i32.load`, `gc-lower:table.get`,
/// …) stands for: its bound checks (`unreachable`) and its array's own (`out of bounds array
/// access`) are the native out-of-bounds traps of the memory or table, a null closure is an
/// uninitialized element and a failed cast of one an indirect call type mismatch; else the
/// trap's own message (`wasm trap: …`). `None` when the text holds no wasm trap.
pub fn output_trap_reason(text: &str) -> Option<String> {
    // The innermost frame's line (`0: 0x… - module!function: …`), when there is a backtrace.
    let frame = text
        .lines()
        .find(|l| l.trim_start().starts_with("0:"))
        .unwrap_or(text);
    const TRAP: &str = "!gc-lower:trap:";
    if let Some(start) = frame.find(TRAP) {
        // The function's whole name, up to the `:` after it.
        let reason: String = frame[start + TRAP.len()..]
            .chars()
            .take_while(|c| *c != ':' && !c.is_whitespace())
            .collect();
        if !reason.is_empty() {
            return Some(reason);
        }
    }
    const CODE: &str = "wasm trap: ";
    let code = text.rfind(CODE).map(|i| {
        let rest = &text[i + CODE.len()..];
        kebab(rest.lines().next().unwrap_or(rest))
    })?;
    // The innermost frame's function, `gc-lower:{op}…` for a helper.
    let helper = frame
        .find("!gc-lower:")
        .map(|i| &frame[i + "!gc-lower:".len()..]);
    let is_helper = helper.is_some_and(|op| {
        ["i32.", "i64.", "f32.", "f64.", "v128.", "memory.", "table."]
            .iter()
            .any(|p| op.starts_with(p))
    });
    if !is_helper {
        return Some(code);
    }
    use wasmtime::Trap as T;
    let is = |t: T| code == kebab(&t.to_string());
    let stands_for = if is(T::UnreachableCodeReached) || is(T::ArrayOutOfBounds) {
        if helper.is_some_and(|op| op.starts_with("table.")) {
            T::TableOutOfBounds
        } else {
            T::MemoryOutOfBounds
        }
    } else if is(T::NullReference) {
        T::IndirectCallToNull
    } else if is(T::CastFailure) {
        T::BadSignature
    } else {
        return Some(code);
    };
    Some(kebab(&stands_for.to_string()))
}

/// [`output_trap_reason`] of a lowered side's error, or its root cause's message in kebab case
/// when it is not a wasm trap.
fn lowered_trap_reason(trap: &anyhow::Error) -> String {
    output_trap_reason(&format!("{trap:#}")).unwrap_or_else(|| {
        // The runner's own lifting of a core side's results (`canonical ABI trap: invalid
        // variant discriminant 5`), without the value at fault.
        let message = trap.root_cause().to_string();
        let message = message
            .strip_prefix("canonical ABI trap: ")
            .unwrap_or(&message);
        without_numbers(&kebab(message))
    })
}

/// Whether the native trap `native` has the lowered output's trap `reason`
/// ([`lowered_trap_reason`]).
fn native_trap_has(native: &anyhow::Error, reason: &str) -> bool {
    native_trap_says(&native.root_cause().to_string(), reason)
}

/// Whether wasmtime's text of a native trap (`{error:#}`, or its message) says `reason`, a
/// lowered trap's ([`output_trap_reason`]): its message (from its last `wasm trap: ` on, so
/// not the backtrace's function names), in kebab case, holds the reason's words as whole
/// words (also with the message's numbers left out: wasmtime's messages carry the index or
/// value at fault), or one of the listed aliases (`TRAP_ALIASES`) of it.
pub fn native_trap_says(native: &str, reason: &str) -> bool {
    // The message alone: not the backtrace's function names or the contexts before it.
    let message = native.rfind("wasm trap: ").map_or(native, |i| &native[i..]);
    let text = kebab(message);
    // Whole words: `-phrase-` in `-text-`, the text also without its numbers.
    let words = |t: &str| format!("-{t}-");
    let says = |phrase: &str| {
        let phrase = words(phrase);
        words(&text).contains(&phrase) || words(&without_numbers(&text)).contains(&phrase)
    };
    says(reason)
        || TRAP_ALIASES
            .iter()
            .filter(|(lowered, _)| *lowered == reason)
            .any(|(_, native)| says(native))
}

/// Lowered trap reasons (kebab case) that wasmtime words otherwise, each with a phrase of
/// wasmtime's message for the same fault (kebab case). The output's bound checks see one
/// memory or table; wasmtime's host code words a bad pointer by what it was reading.
const TRAP_ALIASES: &[(&str, &str)] = &[
    // An inline access past a reified memory or table is the array's own check.
    ("out-of-bounds-array-access", "out-of-bounds-memory-access"),
    (
        "out-of-bounds-array-access",
        "undefined-element-out-of-bounds-table-access",
    ),
    // A null closure called from a reified table.
    ("null-reference", "uninitialized-element"),
    // wasmtime's stream and future copies and its realloc check (`futures_and_streams.rs`).
    ("out-of-bounds-memory-access", "pointer-out-of-bounds"),
    ("out-of-bounds-memory-access", "out-of-bounds-of-memory"),
    ("out-of-bounds-memory-access", "beyond-end-of-memory"),
    // wasmtime's `waitable-set.drop` of a set with members: the set's handle still has
    // children in its resource table.
    (
        "cannot-drop-waitable-set-with-members",
        "resource-has-children",
    ),
    (
        "handle-is-not-a-waitable-set",
        "handle-is-not-an-waitable-set",
    ),
    // The runner's own lifting of a core side's variant (`wast/abi.rs`), and wasmtime's.
    ("invalid-variant-discriminant", "discriminant-out-of-range"),
    // Rust's `Utf8Error` in wasmtime's lifting of a string.
    ("invalid-utf-8", "invalid-utf-8-sequence"),
    ("invalid-utf-8", "incomplete-utf-8-byte-sequence"),
    // An exception out of an export called by the host: wasmtime hands it to the host, the
    // output's entry traps as FACT's adapters do between components.
    (
        "uncaught-exception-propagated-out-of-component",
        "thrown-wasm-exception",
    ),
];

/// A kebab-case text without its words that are numbers.
fn without_numbers(kebab: &str) -> String {
    kebab
        .split('-')
        .filter(|w| !w.chars().all(|c| c.is_ascii_digit()))
        .collect::<Vec<_>>()
        .join("-")
}

/// Compares a lowered side's outcome with the native one.
fn compare(
    side: &str,
    native: &CallResult,
    lowered: &CallResult,
    notes: &mut Vec<String>,
    failures: &mut Vec<String>,
) {
    match (native, lowered) {
        (Ok(n), Ok(l)) if values::same_results(n, l) => {}
        (Ok(n), Ok(l)) => failures.push(format!("{side}: returned {l:?}, natively {n:?}")),
        // A trap at a limit of the lowering only matches a native trap by chance.
        (Err(n), Err(l)) => match limit_trap(l) {
            Some(limit) => failures.push(format!(
                "{side}: {AT_LIMIT}{limit} ({l:#}), natively trapped ({n:#})"
            )),
            None => {
                let native = format!("native trap: {n:#}");
                if !notes.contains(&native) {
                    notes.push(native);
                }
                notes.push(format!("{side} trap: {l:#}"));
                // The JavaScript engines name their traps in their own words.
                if !side.starts_with("js") {
                    let reason = lowered_trap_reason(l);
                    if !native_trap_has(n, &reason) {
                        failures.push(format!(
                            "{side}: trapped with `{reason}`, natively with `{}`",
                            kebab(&n.root_cause().to_string())
                        ));
                    }
                }
            }
        },
        (Ok(n), Err(l)) => match limit_trap(l) {
            Some(limit) => failures.push(format!(
                "{side}: {AT_LIMIT}{limit} ({l:#}), natively returned {n:?}"
            )),
            None => failures.push(format!("{side}: trapped ({l:#}), natively returned {n:?}")),
        },
        (Err(n), Ok(l)) => {
            failures.push(format!("{side}: returned {l:?}, natively trapped ({n:#})"))
        }
    }
}

fn call_component(
    store: &mut Store<()>,
    func: component::Func,
    args: &[Val],
    results: usize,
) -> CallResult {
    let mut out = vec![Val::Bool(false); results];
    // wasmtime's async runtime asserts its own invariants, and some scripts break them: its
    // panic is a native failure of this call, not the end of the run.
    crate::error::contain_panic("wasmtime's component runtime", || {
        if store.engine().get_concurrency_support() {
            // As wasmtime's harness: the call runs to completion under its event loop,
            // which traps when every task is blocked and nothing can wake one.
            futures::executor::block_on(func.call_async(&mut *store, args, &mut out))?;
        } else {
            func.call(&mut *store, args, &mut out)?;
        }
        Ok(())
    })?;
    Ok(out)
}

fn instantiate_component(
    engine: &Engine,
    linker: &component::Linker<()>,
    component: &component::Component,
) -> anyhow::Result<CompInst> {
    let mut store = Store::new(engine, ());
    let instance = crate::error::contain_panic("wasmtime's component runtime", || {
        Ok(if engine.get_concurrency_support() {
            futures::executor::block_on(linker.instantiate_async(&mut store, component))?
        } else {
            linker.instantiate(&mut store, component)?
        })
    })?;
    Ok(CompInst {
        store,
        component: component.clone(),
        instance,
    })
}

/// Instantiates a lowered core module with no imports, and runs `_initialize` if it exports
/// one (as the re-wrapped component does); or instantiates a module graph with no host.
fn instantiate_core(engine: &Engine, program: &CoreProgram) -> anyhow::Result<CoreInst> {
    let mut store = Store::new(engine, ());
    match program {
        CoreProgram::Single(module) => {
            let instance = wasmtime::Instance::new(&mut store, module, &[])?;
            if let Some(init) = instance.get_func(&mut store, "_initialize") {
                init.call(&mut store, &[], &mut [])?;
            }
            Ok(CoreInst {
                store,
                instance: CoreExports::Single(instance),
            })
        }
        CoreProgram::Graph(graph) => {
            let (graph, modules) = &**graph;
            let linker = wasmtime::Linker::new(engine);
            let instance = crate::module_graph::instantiate(&mut store, graph, modules, &linker)?;
            Ok(CoreInst {
                store,
                instance: CoreExports::Graph(instance),
            })
        }
    }
}

/// Calls the guest-ABI export `name` of a lowered core module with scalar arguments, lifts
/// the results and runs `cabi_post_{name}`. The outer error is a broken export (a failure);
/// the inner one a trap.
fn call_core(
    core: &mut CoreInst,
    name: &str,
    sig: &FlatSig,
    args: &[Val],
) -> Result<CallResult, String> {
    let func = core
        .get_func(name)
        .ok_or_else(|| format!("the lowered module has no export `{name}`"))?;
    let post = core.get_func(&format!("cabi_post_{name}"));
    let store = &mut core.store;
    let ty = func.ty(&*store);
    let params = ty.params().map(|t| flat_type(&t)).collect::<Vec<_>>();
    let results = ty.results().map(|t| flat_type(&t)).collect::<Vec<_>>();
    if params
        .iter()
        .copied()
        .ne(sig.flat_params.iter().map(|t| Some(*t)))
        || results
            .iter()
            .copied()
            .ne(sig.flat_results.iter().map(|t| Some(*t)))
    {
        return Err(format!(
            "export `{name}` has type {ty}, the canonical ABI says {:?} -> {:?}",
            sig.flat_params, sig.flat_results
        ));
    }
    let flat_args = sig.lower_args(args)?;
    let core_args = flat_args.iter().map(|v| core_val(*v)).collect::<Vec<_>>();
    let mut core_results = vec![wasmtime::Val::I32(0); sig.flat_results.len()];
    if let Err(trap) = func.call(&mut *store, &core_args, &mut core_results) {
        return Ok(Err(trap.into()));
    }
    let flat_results = core_results
        .iter()
        .map(flat_val)
        .collect::<Result<Vec<_>, _>>()?;
    let vals = match sig.lift_results(&flat_results) {
        Ok(v) => v,
        Err(trap) => return Ok(Err(anyhow::anyhow!("canonical ABI trap: {trap}"))),
    };
    if let Some(post) = post
        && let Err(trap) = post.call(&mut *store, &core_results, &mut [])
    {
        let trap = anyhow::Error::from(trap);
        return Ok(Err(trap.context(format!("`cabi_post_{name}` trapped"))));
    }
    Ok(Ok(vals))
}

fn flat_type(ty: &wasmtime::ValType) -> Option<FlatType> {
    match ty {
        wasmtime::ValType::I32 => Some(FlatType::I32),
        wasmtime::ValType::I64 => Some(FlatType::I64),
        wasmtime::ValType::F32 => Some(FlatType::F32),
        wasmtime::ValType::F64 => Some(FlatType::F64),
        _ => None,
    }
}

fn core_val(v: FlatVal) -> wasmtime::Val {
    match v {
        FlatVal::I32(x) => wasmtime::Val::I32(x),
        FlatVal::I64(x) => wasmtime::Val::I64(x),
        FlatVal::F32(x) => wasmtime::Val::F32(x),
        FlatVal::F64(x) => wasmtime::Val::F64(x),
    }
}

fn flat_val(v: &wasmtime::Val) -> Result<FlatVal, String> {
    Ok(match v {
        wasmtime::Val::I32(x) => FlatVal::I32(*x),
        wasmtime::Val::I64(x) => FlatVal::I64(*x),
        wasmtime::Val::F32(x) => FlatVal::F32(*x),
        wasmtime::Val::F64(x) => FlatVal::F64(*x),
        other => return Err(format!("non-numeric core result {other:?}")),
    })
}

/// Defines an instance's exported core modules and resources in `linker` under `name`.
fn reflect(
    engine: &Engine,
    linker: &mut component::Linker<()>,
    name: &str,
    inst: &mut CompInst,
) -> anyhow::Result<()> {
    let ty = inst.component.component_type();
    let mut target = linker.instance(name)?;
    for (export, item) in ty.exports(engine) {
        match item.ty {
            component::types::ComponentItem::Module(_) => {
                if let Some(module) = inst.instance.get_module(&mut inst.store, export) {
                    target.module(export, &module)?;
                }
            }
            component::types::ComponentItem::Resource(_) => {
                if let Some(resource) = inst.instance.get_resource(&mut inst.store, export) {
                    target.resource(export, resource, |_, _| Ok(()))?;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// A one-line state of a fresh instance, for `--verbose`.
fn describe(inst: &Inst) -> String {
    let native = match &inst.native {
        Ok(_) => "instantiated natively".to_string(),
        Err(e) => return format!("{} ({})", e.reason, e.detail),
    };
    let lowered = match &inst.lowered {
        LoweredInst::Skip(r) => format!("lowered: skipped ({r})"),
        LoweredInst::Fail(m) => format!("lowered: FAILED ({m})"),
        LoweredInst::Ready { core, node, .. } => {
            let mut sides = vec!["re-wrapped"];
            if core.is_some() {
                sides.push("core");
            }
            if node.is_some() {
                sides.push("js");
            }
            format!("lowered: instantiated ({})", sides.join(", "))
        }
    };
    format!("{native}; {lowered}")
}

/// Byte ranges of the top-level parenthesized forms of a script, skipping comments and
/// strings.
///
/// Errors: the byte offset of a form, string or block comment left open at the end of the
/// script, or of a `)` that closes nothing.
fn top_level_forms(text: &str) -> Result<Vec<std::ops::Range<usize>>, usize> {
    let bytes = text.as_bytes();
    let mut forms = Vec::new();
    let (mut i, mut depth, mut start) = (0, 0usize, 0);
    while i < bytes.len() {
        match bytes[i] {
            b';' if bytes.get(i + 1) == Some(&b';') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'(' if bytes.get(i + 1) == Some(&b';') => {
                let open = i;
                let mut nest = 0usize;
                while i < bytes.len() {
                    if bytes[i] == b'(' && bytes.get(i + 1) == Some(&b';') {
                        nest += 1;
                        i += 2;
                    } else if bytes[i] == b';' && bytes.get(i + 1) == Some(&b')') {
                        nest -= 1;
                        i += 2;
                        if nest == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
                if nest > 0 {
                    return Err(open);
                }
                continue;
            }
            b'"' => {
                let open = i;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                if i >= bytes.len() {
                    return Err(open);
                }
            }
            b'(' => {
                if depth == 0 {
                    start = i;
                }
                depth += 1;
            }
            b')' if depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    forms.push(start..i + 1);
                }
            }
            b')' => return Err(i),
            _ => {}
        }
        i += 1;
    }
    if depth > 0 {
        return Err(start);
    }
    Ok(forms)
}

/// A copy of `text` with everything outside `keep` blanked (newlines kept), so that byte
/// offsets and line numbers of the form are those of the script.
fn blank_outside(text: &str, keep: std::ops::Range<usize>) -> String {
    let blank = |s: &str| {
        s.chars()
            .flat_map(|c| {
                let (fill, n) = if c == '\n' {
                    ('\n', 1)
                } else {
                    (' ', c.len_utf8())
                };
                std::iter::repeat_n(fill, n)
            })
            .collect::<String>()
    };
    let mut out = blank(&text[..keep.start]);
    out.push_str(&text[keep.clone()]);
    out.push_str(&blank(&text[keep.end..]));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The trap of calling `f` of a core module whose functions are `funcs` (wat), with the
    /// backtrace the runner's engines keep (the innermost frame).
    fn core_trap(funcs: &str) -> anyhow::Error {
        let engine = Engine::new(&Engines::config(false, false)).expect("engine");
        let module =
            wasmtime::Module::new(&engine, format!("(module (memory 1) {funcs})")).expect("module");
        let mut store = Store::new(&engine, ());
        let instance = wasmtime::Instance::new(&mut store, &module, &[]).expect("instance");
        let f = instance
            .get_typed_func::<(), ()>(&mut store, "f")
            .expect("f");
        anyhow::Error::from(f.call(&mut store, ()).expect_err("f traps"))
    }

    #[test]
    fn lowered_trap_reasons_name_the_native_trap() {
        let oob = anyhow::Error::from(wasmtime::Trap::MemoryOutOfBounds);
        // A canonical ABI trap names its reason in its function.
        let named = core_trap(
            r#"(func $gc-lower:trap:out-of-bounds-memory-access unreachable)
               (func (export "f") call $gc-lower:trap:out-of-bounds-memory-access)"#,
        );
        assert_eq!(lowered_trap_reason(&named), "out-of-bounds-memory-access");
        assert!(native_trap_has(&oob, &lowered_trap_reason(&named)));
        // A helper's bound check is the access's.
        let helper = core_trap(r#"(func $gc-lower:i32.load (export "f") unreachable)"#);
        assert_eq!(lowered_trap_reason(&helper), "out-of-bounds-memory-access");
        let table = core_trap(r#"(func $gc-lower:table.get<externref> (export "f") unreachable)"#);
        assert_eq!(
            lowered_trap_reason(&table),
            "undefined-element-out-of-bounds-table-access"
        );
        // The program's own `unreachable` is not an out-of-bounds access.
        let program = core_trap(r#"(func $m0!f (export "f") unreachable)"#);
        assert_eq!(
            lowered_trap_reason(&program),
            "wasm-unreachable-instruction-executed"
        );
        assert!(!native_trap_has(&oob, &lowered_trap_reason(&program)));
        let real_oob = core_trap(r#"(func (export "f") (drop (i32.load (i32.const -1))))"#);
        assert!(native_trap_has(&real_oob, "out-of-bounds-memory-access"));
        // wasmtime's wording, numbers and a listed alias.
        let message = anyhow::anyhow!("discriminant 5 out of range [0..2)");
        assert!(native_trap_has(&message, "discriminant-out-of-range"));
        assert!(!native_trap_has(&message, "invalid-utf-8"));
        let utf8 = anyhow::anyhow!("incomplete utf-8 byte sequence from index 0");
        assert!(native_trap_has(&utf8, "invalid-utf-8"));
        let utf16 = anyhow::anyhow!("invalid utf16 encoding");
        assert!(!native_trap_has(&utf16, "invalid-utf-8"));
        // Only the message counts, as whole words: not a function named in the backtrace.
        assert!(!native_trap_says(
            "error while executing at wasm backtrace:\n    0: 0x1 - m!null_reference_check: \
             wasm trap: integer divide by zero",
            "null-reference"
        ));
        assert!(!native_trap_says(
            "wasm trap: out of bounds memory access",
            "bound"
        ));
        assert_eq!(
            kebab("wasm trap: cannot have concurrent operations active on a future/stream"),
            "cannot-have-concurrent-operations-active-on-a-future-or-stream"
        );
    }

    #[test]
    fn forms_skip_comments_and_strings() {
        let text = ";; (not a form\n(a \"b)\" (; ) ;) (c)) (; (x) ;)\n(d)";
        let forms = top_level_forms(text)
            .expect("balanced forms")
            .into_iter()
            .map(|r| &text[r])
            .collect::<Vec<_>>();
        assert_eq!(forms, ["(a \"b)\" (; ) ;) (c))", "(d)"]);
        // Unbalanced scripts are errors at the open form, string or comment.
        assert_eq!(top_level_forms("(a) (component"), Err(4));
        assert_eq!(top_level_forms("(a))"), Err(3));
        assert_eq!(top_level_forms("(a \"b)"), Err(3));
        assert_eq!(top_level_forms("(a) (; x"), Err(4));
        let blanked = blank_outside("é(x)\n(y)", 2..5);
        assert_eq!(blanked, "  (x)\n   ");
    }

    /// The runner counts one verdict per assertion; an assertion that the native run fails,
    /// and a directive that the parser cannot read, are skipped, never failed.
    #[test]
    fn runner_counts_assertions() -> anyhow::Result<()> {
        let script = r#"
            (component
              (core module $m (func (export "add") (param i32 i32) (result i32)
                (i32.add (local.get 0) (local.get 1))))
              (core instance $i (instantiate $m))
              (func (export "add") (param "a" u32) (param "b" u32) (result u32)
                (canon lift (core func $i "add"))))
            (assert_return (invoke "add" (u32.const 1) (u32.const 2)) (u32.const 3))
            (assert_return (invoke "add" (u32.const 1) (u32.const 2)) (u32.const 4))
            (invoke "add" (u32.const 0) (u32.const 0))
            (assert_invalid (component (core func (canon lower (func 9)))) "unknown function")
            (assert_frobnicated (invoke "add"))
        "#;
        let mut file = tempfile::Builder::new().suffix(".wast").tempfile()?;
        std::io::Write::write_all(&mut file, script.as_bytes())?;
        let opts = WastOpts {
            files: vec![file.path().to_path_buf()],
            reify: crate::ReifyMode::Auto,
            memory_access: Default::default(),
            inline_accesses: Default::default(),
            verbose: true,
            json: false,
            backtrace: false,
            engine: EngineChoice::Wasmtime,
            output: OutputForm::Single,
            features: Vec::new(),
        };
        let runner = Runner {
            engines: Engines::new(false, &[])?,
            node: None,
            options: crate::Options::default(),
            output: OutputForm::Single,
            opts: &opts,
        };
        let tally = runner.run_file(file.path());
        assert_eq!(tally.failed, 0);
        assert_eq!(tally.passed + tally.skipped, 5);
        // The wrong expectation and the unreadable directive at least.
        assert!(tally.skipped >= 2);
        Ok(())
    }

    #[test]
    fn feature_lines() {
        assert_eq!(
            features(";;! multi_memory = true\n;;!gc=false\n;; comment\n;;! simd = true\n"),
            Ok(vec![
                ("multi_memory".to_string(), true),
                ("gc".to_string(), false)
            ])
        );
        assert_eq!(features("(component)\n;;! gc = true"), Ok(Vec::new()));
        assert!(features(";;! gc").is_err());
        assert!(features(";;! gc = 1").is_err());
        let mut config = crate::run::config();
        assert!(set_feature(&mut config, "wide_arithmetic", true).is_ok());
        assert!(set_feature(&mut config, "no_such_feature", true).is_err());
        // The async ABI needs, and turns on, wasmtime's concurrency support (off by default).
        assert!(!Engine::new(&config).unwrap().get_concurrency_support());
        assert!(set_feature(&mut config, "component-model-async", true).is_ok());
        assert!(Engine::new(&config).unwrap().get_concurrency_support());
        assert_eq!(
            parse_feature("component-model-async"),
            Ok(("component_model_async".to_string(), true))
        );
        assert_eq!(
            parse_feature("exceptions=n"),
            Ok(("exceptions".to_string(), false))
        );
        assert!(parse_feature("exceptions=maybe").is_err());
        assert!(parse_feature("no-such-feature").is_err());
        assert!(javascript_lacks("wide_arithmetic") && !javascript_lacks("gc"));
    }
}
