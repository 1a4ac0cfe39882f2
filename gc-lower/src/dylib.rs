//! The dylib generator path: an interpreter built as a shared library plus a WIT world
//! become a component, which gc-lower then lowers like any other.
//!
//! Two steps, each a thin layer over the wasm-tools library that does the work:
//!
//! - [`bindings`] (`gc-lower dylib WIT --world W`): `wit-dylib` generates a shared library in
//!   the [dynamic-linking convention] (a `dylink.0` section; `env.memory`,
//!   `env.__indirect_function_table`, `env.__stack_pointer`, `env.__memory_base` and
//!   `env.__table_base` imported) that implements world `W` in terms of the `wit_dylib_*`
//!   functions of `wit_dylib.h`: exports push their arguments into an interpreter context and
//!   call `wit_dylib_export_call`; imports are reachable through function pointers in the
//!   type metadata that `wit_dylib_initialize` receives. The world is embedded as a
//!   `component-type` section (UTF-8 strings, the only encoding the generated code speaks).
//! - [`link`] (`gc-lower link LIB...`): wit-component's [`Linker`] (the library behind
//!   `wasm-tools component link`) links the interpreter, the bindings and whatever else they
//!   need (a libc) into one component: an extra main module owns the memory, the table and
//!   `__stack_pointer`, and every library is instantiated once against it.
//!
//! Before linking, [`check_wit_dylib_symbols`] makes sure some library exports every
//! `wit_dylib_*` function another one imports, with the same type, so a missing interpreter
//! entry point is reported by name instead of as a generic unresolved symbol (or, with stubs,
//! a trap at run time). Every library is validated first: the linker assumes valid input.
//!
//! [dynamic-linking convention]: https://github.com/WebAssembly/tool-conventions/blob/main/DynamicLinking.md

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use wasmtime_environ::wasmparser::{self as wp, Payload, TypeRef};
use wit_component::Linker;
use wit_parser::Resolve;

/// The prefix of the functions an interpreter implements for `wit-dylib` bindings
/// (`wit_dylib.h`).
pub const WIT_DYLIB_PREFIX: &str = "wit_dylib_";

/// Generates the bindings shared library for world `world` (a name, or `None` when the
/// package has exactly one world) of the WIT package at `wit` (a `.wit` file or a directory
/// with a `deps/` folder, as `wit_parser::Resolve::push_path` reads them).
///
/// The result is a core module in the dynamic-linking convention with the world embedded as
/// a `component-type` custom section; it is validated before it is returned.
pub fn bindings(
    wit: &Path,
    world: Option<&str>,
    opts: &mut wit_dylib::DylibOpts,
) -> Result<Vec<u8>> {
    let mut resolve = Resolve::default();
    let (package, _) = resolve
        .push_path(wit)
        .with_context(|| format!("failed to parse the WIT package at `{}`", wit.display()))?;
    let world = resolve
        .select_world(&[package], world)
        .with_context(|| format!("failed to select a world of `{}`", wit.display()))?;
    let mut wasm = wit_dylib::create(&resolve, world, Some(opts));
    opts.async_.ensure_all_used()?;
    wit_component::embed_component_metadata(
        &mut wasm,
        &resolve,
        world,
        wit_component::StringEncoding::UTF8,
    )
    .context("failed to embed the world into the bindings")?;
    validate_library("the generated bindings", &wasm)?;
    Ok(wasm)
}

/// One shared library to link: its name (what other libraries' `dylink.0` "needed" entries
/// call it, such as `libc.so`) and its bytes.
#[derive(Debug, Clone)]
pub struct Library {
    /// The library's name.
    pub name: String,
    /// The core module, in the dynamic-linking convention.
    pub bytes: Vec<u8>,
}

/// Options of [`link`], as wit-component's [`Linker`] offers them.
#[derive(Debug, Clone, Default)]
pub struct LinkOptions {
    /// Adapters `(name, module)` for core imports of that module name, such as
    /// `wasi_snapshot_preview1` for a libc built for WASI preview 1.
    pub adapters: Vec<(String, Vec<u8>)>,
    /// Size in bytes of the stack the main module allocates (the linker's default if `None`).
    pub stack_size: Option<u32>,
    /// Generate trapping stubs for functions no library exports (other than `wit_dylib_*`,
    /// which [`check_wit_dylib_symbols`] requires).
    pub stub_missing_functions: bool,
    /// Link wit-component's own `libdl.so` (`dlopen`/`dlsym` over the libraries marked
    /// `dl_openable`).
    pub use_built_in_libdl: bool,
    /// Names of libraries whose exports `dlsym` can find.
    pub dl_openable: Vec<String>,
}

/// Links `libraries` into a component with wit-component's [`Linker`], after
/// [`check_wit_dylib_symbols`]. The component is validated.
pub fn link(libraries: &[Library], options: &LinkOptions) -> Result<Vec<u8>> {
    if libraries.is_empty() {
        bail!("no libraries to link");
    }
    for lib in libraries {
        validate_library(&format!("`{}`", lib.name), &lib.bytes)?;
    }
    for name in &options.dl_openable {
        if !libraries.iter().any(|l| &l.name == name) {
            bail!("`--dl-openable {name}` names no library being linked");
        }
    }
    check_wit_dylib_symbols(libraries)?;
    let mut linker = Linker::default()
        .validate(true)
        .stub_missing_functions(options.stub_missing_functions)
        .use_built_in_libdl(options.use_built_in_libdl);
    if let Some(size) = options.stack_size {
        linker = linker.stack_size(size);
    }
    for lib in libraries {
        let dl_openable = options.dl_openable.contains(&lib.name);
        linker = linker.library(&lib.name, &lib.bytes, dl_openable)?;
    }
    for (name, module) in &options.adapters {
        linker = linker.adapter(name, module)?;
    }
    linker
        .encode()
        .context("failed to link the libraries into a component")
}

/// A core function type, printed as `(i32, i32) -> i32`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Signature(wp::FuncType);

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |tys: &[wp::ValType]| {
            tys.iter()
                .map(|t| t.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        write!(
            f,
            "({}) -> ({})",
            list(self.0.params()),
            list(self.0.results())
        )
    }
}

/// The `env` function imports and the function exports of one library.
#[derive(Default)]
struct Symbols {
    imports: BTreeMap<String, Signature>,
    exports: BTreeMap<String, Signature>,
}

fn symbols(bytes: &[u8]) -> Result<Symbols> {
    let mut types = Vec::new();
    let mut funcs = Vec::new();
    let mut out = Symbols::default();
    let func_type = |types: &[wp::FuncType], index: u32| {
        usize::try_from(index)
            .ok()
            .and_then(|i| types.get(i))
            .cloned()
            .context("function type index out of bounds")
    };
    for payload in wp::Parser::new(0).parse_all(bytes) {
        match payload? {
            Payload::TypeSection(reader) => {
                for ty in reader.into_iter_err_on_gc_types() {
                    types.push(ty?);
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import?;
                    if let TypeRef::Func(ty) = import.ty {
                        let sig = func_type(&types, ty)?;
                        funcs.push(sig.clone());
                        if import.module == "env" {
                            out.imports.insert(import.name.to_string(), Signature(sig));
                        }
                    }
                }
            }
            Payload::FunctionSection(reader) => {
                for ty in reader {
                    funcs.push(func_type(&types, ty?)?);
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export?;
                    if export.kind == wp::ExternalKind::Func {
                        let sig = usize::try_from(export.index)
                            .ok()
                            .and_then(|i| funcs.get(i))
                            .context("exported function index out of bounds")?;
                        out.exports
                            .insert(export.name.to_string(), Signature(sig.clone()));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Checks that every `wit_dylib_*` function that one of `libraries` imports from `env` is
/// exported by another with the same type; the error names each missing or mismatched
/// function and who imports it.
pub fn check_wit_dylib_symbols(libraries: &[Library]) -> Result<()> {
    let symbols = libraries
        .iter()
        .map(|lib| {
            symbols(&lib.bytes)
                .with_context(|| format!("failed to read the symbols of `{}`", lib.name))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut missing: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut mismatched = Vec::new();
    for (lib, syms) in libraries.iter().zip(&symbols) {
        for (name, sig) in &syms.imports {
            if !name.starts_with(WIT_DYLIB_PREFIX) {
                continue;
            }
            let exporters: Vec<_> = libraries
                .iter()
                .zip(&symbols)
                .filter_map(|(l, s)| Some((l, s.exports.get(name)?)))
                .collect();
            if exporters.is_empty() {
                missing.entry(&lib.name).or_default().push(name);
            } else if !exporters.iter().any(|(_, s)| *s == sig) {
                let (exporter, found) = exporters[0];
                mismatched.push(format!(
                    "`{}` imports `{name}` as `{sig}`, but `{}` exports it as `{found}`",
                    lib.name, exporter.name
                ));
            }
        }
    }
    if missing.is_empty() && mismatched.is_empty() {
        return Ok(());
    }
    let mut msg = String::new();
    for (importer, names) in &missing {
        let names = names
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ");
        msg.push_str(&format!(
            "\n  `{importer}` imports {names}, which no library exports"
        ));
    }
    for m in &mismatched {
        msg.push_str(&format!("\n  {m}"));
    }
    bail!("the interpreter does not implement the `wit_dylib_*` interface the bindings use:{msg}")
}

fn validate_library(what: &str, bytes: &[u8]) -> Result<()> {
    wp::Validator::new_with_features(wp::WasmFeatures::all())
        .validate_all(bytes)
        .with_context(|| format!("{what} is not a valid core module"))?;
    Ok(())
}

/// What a subcommand produced and where it goes (`None`: standard output).
pub struct Output {
    /// The output path.
    pub path: Option<PathBuf>,
    /// The bytes to write.
    pub bytes: Vec<u8>,
}

/// Options of `gc-lower dylib`.
#[cfg(feature = "runtime")]
#[derive(clap::Args)]
// wit-dylib's flattened options already use the group name `DylibOpts`.
#[group(id = "gc-lower-dylib")]
pub struct DylibOpts {
    /// The WIT package: a `.wit` file, or a directory of them (with a `deps/` folder).
    pub wit: PathBuf,
    /// The world to generate bindings for (may be omitted when the package has one).
    #[arg(short, long)]
    pub world: Option<String>,
    /// Where to write the bindings library; `-` (the default) writes standard output.
    #[arg(short, long, value_name = "OUT")]
    pub output: Option<PathBuf>,
    /// wit-dylib's own options (`--interpreter`, `--async`).
    #[command(flatten)]
    pub generator: wit_dylib::DylibOpts,
}

#[cfg(feature = "runtime")]
impl DylibOpts {
    /// Generates the bindings library.
    pub fn run(mut self) -> Result<Output> {
        let bytes = bindings(&self.wit, self.world.as_deref(), &mut self.generator)?;
        Ok(Output {
            path: self.output,
            bytes,
        })
    }
}

/// Options of `gc-lower link`.
#[cfg(feature = "runtime")]
#[derive(clap::Args)]
pub struct LinkOpts {
    /// The shared libraries to link (interpreter, bindings, libc, ...). A library is named by
    /// its file name, which is what `dylink.0` "needed" entries refer to.
    #[arg(required = true, value_name = "LIB")]
    pub libraries: Vec<PathBuf>,
    /// Where to write the component; `-` (the default) writes standard output.
    #[arg(short, long, value_name = "OUT")]
    pub output: Option<PathBuf>,
    /// An adapter for core imports of module NAME, such as
    /// `wasi_snapshot_preview1=wasi_snapshot_preview1.reactor.wasm`.
    #[arg(long, value_name = "NAME=MODULE")]
    pub adapt: Vec<String>,
    /// Size in bytes of the stack the linked component allocates.
    #[arg(long, value_name = "BYTES")]
    pub stack_size: Option<u32>,
    /// Generate trapping stubs for functions no library exports (except `wit_dylib_*`).
    #[arg(long)]
    pub stub_missing_functions: bool,
    /// Link wit-component's built-in `libdl.so` for `dlopen`/`dlsym`.
    #[arg(long)]
    pub use_built_in_libdl: bool,
    /// A library (by file name) whose exports `dlsym` can find; may be repeated.
    #[arg(long, value_name = "NAME")]
    pub dl_openable: Vec<String>,
}

#[cfg(feature = "runtime")]
impl LinkOpts {
    /// Links the libraries into a component.
    pub fn run(self) -> Result<Output> {
        let libraries = self
            .libraries
            .iter()
            .map(|path| {
                let name = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .with_context(|| format!("`{}` has no file name", path.display()))?;
                Ok(Library {
                    name: name.to_string(),
                    bytes: read_module(path)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let adapters = self
            .adapt
            .iter()
            .map(|spec| {
                let (name, path) = spec.split_once('=').with_context(|| {
                    format!("`--adapt {spec}` is not of the form `NAME=MODULE`")
                })?;
                Ok((name.to_string(), read_module(Path::new(path))?))
            })
            .collect::<Result<Vec<_>>>()?;
        let options = LinkOptions {
            adapters,
            stack_size: self.stack_size,
            stub_missing_functions: self.stub_missing_functions,
            use_built_in_libdl: self.use_built_in_libdl,
            dl_openable: self.dl_openable,
        };
        Ok(Output {
            path: self.output,
            bytes: link(&libraries, &options)?,
        })
    }
}

/// Reads a core module (binary or text).
#[cfg(feature = "runtime")]
fn read_module(path: &Path) -> Result<Vec<u8>> {
    let bytes =
        std::fs::read(path).with_context(|| format!("failed to read `{}`", path.display()))?;
    let bytes = wat::parse_bytes(&bytes)
        .with_context(|| format!("failed to parse `{}` as WebAssembly text", path.display()))?;
    Ok(bytes.into_owned())
}
