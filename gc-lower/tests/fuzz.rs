//! Fuzz targets for the lowering, in the style of wasm-tools' `fuzz/src/*.rs`: each target is
//! a function of its input, and the `smoke_*` tests run a few hundred inputs from a fixed seed.
//!
//! - [`validity`]: every entry point — `gc_lower::lower` in both reify modes, the module-graph
//!   form (`lower_graph`), the host interface's WIT decoding, and the WIT world embedded in a
//!   lowered module — returns instead of panicking; every output validates; input that
//!   wasmparser rejects is rejected. Inputs: random bytes, wasm-smith modules wrapped into
//!   components, and the components of `tests/*.wast` and `examples/` with a core module
//!   mutated by wasm-mutate, bytes overwritten or the end cut off.
//! - [`differential`]: a wasm-smith module instantiated two or three times in a component,
//!   with its scalar function exports lifted, behaves the same natively and lowered (the same
//!   results, or traps for the same reason on wasmtime: `gc_lower::wast::output_trap_reason`) —
//!   re-wrapped into a component and as a bare core module, in both reify modes, on wasmtime
//!   (half the modules with GC types: instantiated once, `--reify auto` alone);
//!   one case in eight (`GC_LOWER_FUZZ_V8=N`: one in N, `0`: none) also runs its bare
//!   lowerings on V8 with plain `WebAssembly` in Node, against the same native results.
//! - [`differential_loops`]: the same comparison on generated modules of call-free loops over a
//!   memory ([`loop_module`]), where the lowering emits each loop in two versions.
//! - [`corpus`]: the minimized reproductions in `tests/fuzz-corpus/` through [`validity`].
//!
//! Longer or different campaigns: `GC_LOWER_FUZZ_ITERS=5000 GC_LOWER_FUZZ_SEED=7 cargo test
//! -p gc-lower --test fuzz -- --nocapture` (add a test name, `smoke_validity`,
//! `smoke_differential` or `smoke_loops`, to run one target). A failing case writes its input into
//! `GC_LOWER_FUZZ_DUMP` (default: cargo's temporary directory for tests) and names the seed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use arbitrary::Unstructured;
use gc_lower::memory_access::InlineAccesses;
use gc_lower::{Options, ReifyMode};
use wasm_encoder::{
    ComponentBuilder, ComponentExportKind, ComponentValType, ExportKind, PrimitiveValType,
};
use wasmtime::component::{self, Val};
use wasmtime::{Engine, Store};
use wasmtime_environ::wasmparser::types::EntityType;
use wasmtime_environ::wasmparser::{self, CompositeInnerType, Validator, WasmFeatures};

// Only the Node tools of the shared helpers are used here.
#[allow(dead_code)]
mod common;

/// Fixed seed of the smoke tests.
const SMOKE_SEED: u64 = 0x6763_2d6c_6f77_6572;
/// Fuel that wasm-smith's `ensure_termination` gives each core instance: loops and calls
/// draw from it, so every call terminates.
const FUEL: u32 = 1_000;
/// How many times each export of each instance is called.
const ROUNDS: usize = 3;
/// One differential case in this many also runs its bare lowerings on V8, unless
/// `GC_LOWER_FUZZ_V8` says otherwise (`0`: none).
const V8_SAMPLE: u64 = 8;

/// SplitMix64: a small deterministic generator for the fuzzers' input bytes and arguments.
struct Rng(u64);

impl Rng {
    fn pick<'a>(&mut self, options: &[&'a str]) -> &'a str {
        options[self.below(options.len() as u64) as usize]
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => v.parse().ok(),
    }
}

fn iterations(default: u64) -> u64 {
    env_u64("GC_LOWER_FUZZ_ITERS").unwrap_or(default)
}

fn base_seed() -> u64 {
    env_u64("GC_LOWER_FUZZ_SEED").unwrap_or(SMOKE_SEED)
}

/// Writes a failing input where it can be inspected, and returns the path.
fn dump(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::var_os("GC_LOWER_FUZZ_DUMP")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join(name);
    let _ = std::fs::write(&path, bytes);
    path
}

// ---------------------------------------------------------------------------------------------
// Target 1: validity. Every entry point returns `Ok` or `Err` on any input, never panics;
// what it returns validates; input that wasmparser rejects is rejected.

/// An entry point of gc-lower that the validity target drives.
#[derive(Clone, Copy)]
enum Entry {
    /// `gc_lower::lower` in one reify mode.
    Lower(ReifyMode),
    /// `gc_lower::module_graph::lower_graph`, the module-graph form.
    Graph,
    /// The host interface: the component's WIT world, decoded and re-encoded.
    HostInterface,
    /// The WIT world embedded in a lowered module, decoded as a host binding does.
    OutputWit,
}

impl std::fmt::Display for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Entry::Lower(reify) => write!(f, "`lower` (reify {reify:?})"),
            Entry::Graph => f.write_str("`lower_graph`"),
            Entry::HostInterface => f.write_str("the host interface"),
            Entry::OutputWit => f.write_str("the lowered module's WIT decoding"),
        }
    }
}

/// What the entry points did with one input.
#[derive(Debug, Default, Clone, Copy)]
struct Validity {
    /// Whether wasmparser (with gc-lower's input features) accepts the input.
    valid: bool,
    /// Lowerings (of the two reify modes) that succeeded.
    lowered: usize,
    /// Whether the module-graph form succeeded.
    graph: bool,
}

/// Saves `bytes` for inspection and fails the test, naming `origin`.
fn fail_validity(origin: &str, bytes: &[u8], msg: &str) -> ! {
    let name: String = origin
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let path = dump(&format!("validity-{name}.wasm"), bytes);
    panic!(
        "validity: {msg}\ninput: {origin}, saved at {}",
        path.display()
    );
}

/// Runs `f`, an entry point on `bytes`; a panic fails the test naming `origin` and `entry`.
fn no_panic<T>(origin: &str, entry: Entry, bytes: &[u8], f: impl FnOnce() -> T) -> T {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("no message");
        fail_validity(origin, bytes, &format!("{entry} panicked: {message}"))
    })
}

/// Drives every entry point on `bytes` (from `origin`, which a failure names) and asserts
/// the validity properties.
fn validity(origin: &str, bytes: &[u8]) -> Validity {
    let valid = Validator::new_with_features(gc_lower::front::input_features())
        .validate_all(bytes)
        .is_ok();
    let fail = |msg: String| -> ! { fail_validity(origin, bytes, &msg) };
    let mut result = Validity {
        valid,
        ..Validity::default()
    };

    for reify in [ReifyMode::Auto, ReifyMode::All] {
        let entry = Entry::Lower(reify);
        let Ok(out) = no_panic(origin, entry, bytes, || {
            gc_lower::lower(
                bytes,
                &Options {
                    reify,
                    ..Default::default()
                },
            )
        }) else {
            continue;
        };
        if !valid {
            fail(format!("{entry} accepted input that wasmparser rejects"));
        }
        if let Err(e) = gc_lower::validate_output(&out) {
            fail(format!("{entry}: the output does not validate: {e:#}"));
        }
        if let Err(e) = no_panic(origin, Entry::OutputWit, bytes, || {
            wit_component::metadata::decode(&out)
        }) {
            fail(format!(
                "{entry}: the output's WIT world does not decode: {e:#}"
            ));
        }
        result.lowered += 1;
    }

    if let Ok(graph) = no_panic(origin, Entry::Graph, bytes, || {
        gc_lower::module_graph::lower_graph(bytes, gc_lower::ReifyMode::Auto)
    }) {
        if !valid {
            fail("`lower_graph` accepted input that wasmparser rejects".into());
        }
        let features = gc_lower::front::input_features() | gc_lower::output_features();
        for (name, module) in &graph.modules {
            if let Err(e) = Validator::new_with_features(features).validate_all(module) {
                fail(format!("`lower_graph`: `{name}` does not validate: {e:#}"));
            }
        }
        result.graph = true;
    }

    let scope = wasmtime_environ::ScopeVec::new();
    let host = no_panic(origin, Entry::HostInterface, bytes, || {
        let front = gc_lower::front::translate(bytes, &scope)?;
        gc_lower::host::host_interface(
            bytes,
            &front.translation,
            &front.types,
            front.num_resource_tables,
        )
    });
    if host.is_ok() && !valid {
        fail("the host interface accepted input that wasmparser rejects".into());
    }
    result
}

/// The components of the project's `.wast` tests and examples: the seeds that the validity
/// target mutates. Assertions' components are included, invalid ones too.
fn seeds() -> &'static [(String, Vec<u8>)] {
    static SEEDS: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut files: Vec<PathBuf> = ["tests", "examples"]
            .iter()
            .flat_map(|dir| std::fs::read_dir(root.join(dir)).expect("seed directory"))
            .map(|entry| entry.expect("seed directory entry").path())
            .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("wast" | "wat")))
            .collect();
        files.sort();
        let mut seeds = Vec::new();
        for file in files {
            let text = std::fs::read_to_string(&file).expect("seed file");
            let stem = file.file_name().unwrap().to_string_lossy().into_owned();
            if file.extension().is_some_and(|e| e == "wat") {
                if let Ok(bytes) = wat::parse_str(&text) {
                    seeds.push((stem, bytes));
                }
                continue;
            }
            let Ok(buf) = wast::parser::ParseBuffer::new(&text) else {
                continue;
            };
            let Ok(script) = wast::parser::parse::<wast::Wast>(&buf) else {
                continue;
            };
            for (k, directive) in script.directives.into_iter().enumerate() {
                use wast::WastDirective as D;
                let mut m = match directive {
                    D::Module(m)
                    | D::ModuleDefinition(m)
                    | D::AssertMalformed { module: m, .. }
                    | D::AssertInvalid { module: m, .. } => m,
                    D::AssertUnlinkable { module, .. } => wast::QuoteWat::Wat(module),
                    _ => continue,
                };
                if let Ok(bytes) = m.encode()
                    && bytes.get(4..8) == Some(b"\x0d\0\x01\0")
                {
                    seeds.push((format!("{stem}#{k}"), bytes));
                }
            }
        }
        seeds
    })
}

/// The top-level sections of a component binary: (offset of the section's id, range of the
/// payload).
fn sections(component: &[u8]) -> Vec<(usize, std::ops::Range<usize>)> {
    let mut out = Vec::new();
    let mut at = 8;
    while at < component.len() {
        let start = at;
        at += 1;
        let (mut size, mut shift) = (0usize, 0);
        loop {
            let Some(&b) = component.get(at) else {
                return out;
            };
            at += 1;
            size |= usize::from(b & 0x7f) << shift;
            shift += 7;
            if b & 0x80 == 0 || shift > 28 {
                break;
            }
        }
        let Some(end) = at.checked_add(size).filter(|&e| e <= component.len()) else {
            return out;
        };
        out.push((start, at..end));
        at = end;
    }
    out
}

/// `component` with the payload of the top-level section at `start` (its id), whose payload
/// is `range`, replaced by `payload`.
fn splice(
    component: &[u8],
    start: usize,
    range: std::ops::Range<usize>,
    payload: &[u8],
) -> Vec<u8> {
    let mut out = component[..=start].to_vec();
    let mut n = payload.len();
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        out.push(if n == 0 { b } else { b | 0x80 });
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(payload);
    out.extend_from_slice(&component[range.end..]);
    out
}

/// `component` with one of its top-level core modules mutated by wasm-mutate, or `None` when
/// it has none or wasm-mutate cannot mutate it.
fn mutate_module(component: &[u8], rng: &mut Rng) -> Option<Vec<u8>> {
    let modules: Vec<_> = sections(component)
        .into_iter()
        .filter(|(start, _)| component[*start] == 1)
        .collect();
    if modules.is_empty() {
        return None;
    }
    let (start, range) = modules[rng.below(modules.len() as u64) as usize].clone();
    let module = &component[range.clone()];
    let mut mutate = wasm_mutate::WasmMutate::default();
    mutate
        .seed(rng.next())
        .fuel(1_000)
        .preserve_semantics(rng.below(2) == 0);
    let mutated = mutate.run(module).ok()?.find_map(Result::ok)?;
    Some(splice(component, start, range, &mutated))
}

/// Overwrites 1 to 4 random bytes of `bytes` (past the header, if any is left).
fn flip_bytes(bytes: &mut [u8], rng: &mut Rng) {
    if bytes.len() <= 8 {
        return;
    }
    for _ in 0..1 + rng.below(4) {
        let at = 8 + rng.below(bytes.len() as u64 - 8) as usize;
        bytes[at] = rng.next() as u8;
    }
}

/// The input of the validity target for iteration `seed`, and where it comes from:
/// random bytes, wasm-smith modules wrapped into components, the project's own components
/// (the [`seeds`]) with a core module mutated by wasm-mutate, and byte-level mutations of
/// both.
fn validity_input(seed: u64) -> (String, Vec<u8>) {
    let mut rng = Rng(seed);
    let origin = |what: &str| format!("{what} (seed {seed:#x})");
    let kind = rng.below(8);
    if kind == 0 {
        let len = rng.below(256) as usize;
        let mut bytes = b"\0asm\x0d\0\x01\0".to_vec();
        bytes.extend(rng.bytes(len));
        return (origin("random bytes"), bytes);
    }
    if kind <= 2 {
        let data = rng.bytes(2048);
        let mut u = Unstructured::new(&data);
        let config = wasm_smith::Config {
            max_imports: 0,
            max_funcs: 8,
            max_instructions: 40,
            max_memories: 2,
            max_tables: 2,
            max_memory32_bytes: 4 << 16,
            max_memory64_bytes: 4 << 16,
            memory_max_size_required: true,
            max_table_elements: 100,
            table_max_size_required: true,
            export_everything: true,
            ..wasm_smith::Config::default()
        };
        let Ok(module) = wasm_smith::Module::new(config, &mut u) else {
            return (origin("no wasm-smith module"), Vec::new());
        };
        let instances = &INSTANCES[..2 + rng.below(2) as usize];
        let Ok((mut component, _)) = wrap(&module.to_bytes(), instances, &mut rng) else {
            return (origin("no wasm-smith component"), Vec::new());
        };
        if kind == 2 {
            flip_bytes(&mut component, &mut rng);
            return (origin("wasm-smith component, bytes flipped"), component);
        }
        return (origin("wasm-smith component"), component);
    }
    let seeds = seeds();
    let (name, component) = &seeds[rng.below(seeds.len() as u64) as usize];
    let mut bytes = component.clone();
    match kind {
        3..=5 => {
            for _ in 0..1 + rng.below(2) {
                if let Some(mutated) = mutate_module(&bytes, &mut rng) {
                    bytes = mutated;
                }
            }
            (origin(&format!("{name}, modules mutated")), bytes)
        }
        6 => {
            flip_bytes(&mut bytes, &mut rng);
            (origin(&format!("{name}, bytes flipped")), bytes)
        }
        _ => {
            bytes.truncate(rng.below(bytes.len() as u64 + 1) as usize);
            (origin(&format!("{name}, truncated")), bytes)
        }
    }
}

#[test]
fn smoke_validity() {
    let seed = base_seed();
    let n = iterations(500);
    let mut total = (0, 0, 0, 0);
    for i in 0..n {
        let (origin, bytes) = validity_input(seed.wrapping_add(i));
        let v = validity(&origin, &bytes);
        total.0 += usize::from(v.valid);
        total.1 += usize::from(v.lowered > 0);
        total.2 += usize::from(v.graph);
        total.3 += 1;
    }
    println!(
        "validity: {} inputs, {} valid, {} lowered, {} in module-graph form ({} seeds)",
        total.3,
        total.0,
        total.1,
        total.2,
        seeds().len()
    );
    assert!(total.1 > 0, "no input lowered: the generators are broken");
}

/// The minimized reproductions in `tests/fuzz-corpus/` (`.wasm` or `.wat`), run through
/// every entry point: each once made an entry point panic or misbehave.
#[test]
fn corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fuzz-corpus");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/fuzz-corpus")
        .map(|entry| entry.expect("corpus entry").path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("wasm" | "wat")))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "the corpus is empty");
    for file in files {
        let bytes = if file.extension().is_some_and(|e| e == "wat") {
            wat::parse_file(&file).expect("corpus .wat files parse")
        } else {
            std::fs::read(&file).expect("corpus file")
        };
        validity(&file.display().to_string(), &bytes);
    }
}

// ---------------------------------------------------------------------------------------------
// Target 2: differential execution, native against lowered.

/// The component type of one lifted parameter or result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    S32,
    U32,
    S64,
    U64,
    F32,
    F64,
}

impl Ty {
    fn primitive(self) -> ComponentValType {
        ComponentValType::Primitive(match self {
            Ty::S32 => PrimitiveValType::S32,
            Ty::U32 => PrimitiveValType::U32,
            Ty::S64 => PrimitiveValType::S64,
            Ty::U64 => PrimitiveValType::U64,
            Ty::F32 => PrimitiveValType::F32,
            Ty::F64 => PrimitiveValType::F64,
        })
    }

    fn wat(self) -> &'static str {
        match self {
            Ty::S32 => "s32",
            Ty::U32 => "u32",
            Ty::S64 => "s64",
            Ty::U64 => "u64",
            Ty::F32 => "f32",
            Ty::F64 => "f64",
        }
    }

    /// A component type for a core value type, signed or not at random.
    fn of(ty: wasmparser::ValType, rng: &mut Rng) -> Option<Ty> {
        let signed = rng.below(2) == 0;
        Some(match ty {
            wasmparser::ValType::I32 if signed => Ty::S32,
            wasmparser::ValType::I32 => Ty::U32,
            wasmparser::ValType::I64 if signed => Ty::S64,
            wasmparser::ValType::I64 => Ty::U64,
            wasmparser::ValType::F32 => Ty::F32,
            wasmparser::ValType::F64 => Ty::F64,
            _ => return None,
        })
    }

    /// A deterministic argument, biased towards edge values.
    fn arg(self, rng: &mut Rng) -> Val {
        let r = rng.next();
        let pick = rng.below(8);
        let small = (r % 17) as i64 - 8;
        match self {
            Ty::S32 => Val::S32(match pick {
                0 => i32::MIN,
                1 => i32::MAX,
                2..=4 => small as i32,
                _ => r as i32,
            }),
            Ty::U32 => Val::U32(match pick {
                0 => u32::MAX,
                1 => 0x8000_0000,
                2..=4 => small.unsigned_abs() as u32,
                _ => r as u32,
            }),
            Ty::S64 => Val::S64(match pick {
                0 => i64::MIN,
                1 => i64::MAX,
                2..=4 => small,
                _ => r as i64,
            }),
            Ty::U64 => Val::U64(match pick {
                0 => u64::MAX,
                1 => 1 << 63,
                2..=4 => small.unsigned_abs(),
                _ => r,
            }),
            Ty::F32 => Val::Float32(match pick {
                0 => f32::NAN,
                1 => f32::INFINITY,
                2 => -0.0,
                3 | 4 => small as f32,
                _ => f32::from_bits(r as u32),
            }),
            Ty::F64 => Val::Float64(match pick {
                0 => f64::NAN,
                1 => f64::NEG_INFINITY,
                2 => -0.0,
                3 | 4 => small as f64,
                _ => f64::from_bits(r),
            }),
        }
    }

    fn to_core(self, v: &Val) -> wasmtime::Val {
        match (self, v) {
            (Ty::S32, Val::S32(x)) => wasmtime::Val::I32(*x),
            (Ty::U32, Val::U32(x)) => wasmtime::Val::I32(*x as i32),
            (Ty::S64, Val::S64(x)) => wasmtime::Val::I64(*x),
            (Ty::U64, Val::U64(x)) => wasmtime::Val::I64(*x as i64),
            (Ty::F32, Val::Float32(x)) => wasmtime::Val::F32(x.to_bits()),
            (Ty::F64, Val::Float64(x)) => wasmtime::Val::F64(x.to_bits()),
            _ => panic!("argument {v:?} does not have type {self:?}"),
        }
    }

    /// The core value type of the lifted type, as the V8 driver names it.
    fn core_name(self) -> &'static str {
        match self {
            Ty::S32 | Ty::U32 => "i32",
            Ty::S64 | Ty::U64 => "i64",
            Ty::F32 => "f32",
            Ty::F64 => "f64",
        }
    }

    /// The core value `v` (of type [`Ty::core_name`]) as the V8 driver's decimal string: the
    /// integer, or a float's bits.
    fn core_text(v: &wasmtime::Val) -> String {
        match v {
            wasmtime::Val::I32(x) => x.to_string(),
            wasmtime::Val::I64(x) => x.to_string(),
            wasmtime::Val::F32(bits) => bits.to_string(),
            wasmtime::Val::F64(bits) => bits.to_string(),
            other => panic!("no scalar core value: {other:?}"),
        }
    }

    /// The inverse of [`Ty::core_text`], lifted: `None` when `text` does not parse.
    fn lift_core_text(self, text: &str) -> Option<Val> {
        let core = match self.core_name() {
            "i32" => wasmtime::Val::I32(text.parse().ok()?),
            "i64" => wasmtime::Val::I64(text.parse().ok()?),
            "f32" => wasmtime::Val::F32(text.parse().ok()?),
            _ => wasmtime::Val::F64(text.parse().ok()?),
        };
        self.lift_core(&core)
    }

    /// The argument `v` with any NaN made the canonical quiet NaN: JavaScript numbers need
    /// not keep a NaN's payload, so the V8 sample passes only canonical NaNs.
    fn canonical_nan(v: Val) -> Val {
        match v {
            Val::Float32(x) if x.is_nan() => Val::Float32(f32::NAN),
            Val::Float64(x) if x.is_nan() => Val::Float64(f64::NAN),
            v => v,
        }
    }

    fn lift_core(self, v: &wasmtime::Val) -> Option<Val> {
        Some(match (self, v) {
            (Ty::S32, wasmtime::Val::I32(x)) => Val::S32(*x),
            (Ty::U32, wasmtime::Val::I32(x)) => Val::U32(*x as u32),
            (Ty::S64, wasmtime::Val::I64(x)) => Val::S64(*x),
            (Ty::U64, wasmtime::Val::I64(x)) => Val::U64(*x as u64),
            (Ty::F32, wasmtime::Val::F32(x)) => Val::Float32(f32::from_bits(*x)),
            (Ty::F64, wasmtime::Val::F64(x)) => Val::Float64(f64::from_bits(*x)),
            _ => return None,
        })
    }
}

/// A core function export that the wrapper lifts from both instances.
#[derive(Debug, Clone)]
struct Lifted {
    core_name: String,
    params: Vec<Ty>,
    result: Option<Ty>,
}

/// The names of the instances of the wrapped module (the first two or all three), and the
/// prefixes of their lifted exports.
const INSTANCES: [&str; 3] = ["a", "b", "c"];

fn export_name(instance: &str, k: usize) -> String {
    format!("{instance}-f{k}")
}

/// Wraps a core module with no imports into a component that instantiates it two or three
/// times and lifts
/// every function export with at most 16 scalar parameters and at most one scalar result,
/// from each instance, as `a-f{k}`, `b-f{k}` and so on (instances named `instance_names`).
fn wrap(
    module: &[u8],
    instance_names: &[&str],
    rng: &mut Rng,
) -> anyhow::Result<(Vec<u8>, Vec<Lifted>)> {
    let types = Validator::new_with_features(WasmFeatures::all()).validate_all(module)?;
    let types = types.as_ref();
    let mut lifted = Vec::new();
    for (name, entity) in types.core_exports().into_iter().flatten() {
        let (EntityType::Func(id) | EntityType::FuncExact(id)) = entity else {
            continue;
        };
        let CompositeInnerType::Func(f) = &types[id].composite_type.inner else {
            continue;
        };
        // `canon lift` names a final function type of its own rec group; a function of a
        // type in a larger group, non-final or with a supertype cannot be lifted.
        let sub = &types[id];
        let group = types.rec_group_id_of(id);
        if !sub.is_final
            || sub.supertype_idx.is_some()
            || types.rec_group_elements(group).len() != 1
        {
            continue;
        }
        if f.params().len() > 16 || f.results().len() > 1 {
            continue;
        }
        let params = f.params().iter().map(|t| Ty::of(*t, rng)).collect();
        let result = f.results().first().map(|t| Ty::of(*t, rng));
        let (Some(params), Some(result)) = (params, result.map_or(Some(None), |r| r.map(Some)))
        else {
            continue;
        };
        lifted.push(Lifted {
            core_name: name.to_string(),
            params,
            result,
        });
    }

    let mut b = ComponentBuilder::default();
    let m = b.core_module_raw(Some("M"), module);
    let no_args: [(&str, wasm_encoder::ModuleArg); 0] = [];
    let instances: Vec<_> = instance_names
        .iter()
        .map(|name| b.core_instantiate(Some(name), m, no_args))
        .collect();
    for (prefix, instance) in instance_names.iter().zip(instances) {
        for (k, l) in lifted.iter().enumerate() {
            let core = b.core_alias_export(None, instance, &l.core_name, ExportKind::Func);
            let names: Vec<String> = (0..l.params.len()).map(|i| format!("p{i}")).collect();
            let (ty, mut enc) = b.type_function(None);
            enc.params(
                names
                    .iter()
                    .map(String::as_str)
                    .zip(l.params.iter().map(|t| t.primitive())),
            );
            enc.result(l.result.map(Ty::primitive));
            let func = b.lift_func(None, core, ty, []);
            b.export(
                export_name(prefix, k),
                ComponentExportKind::Func,
                func,
                None,
            );
        }
    }
    Ok((b.finish(), lifted))
}

/// The wasm-smith configuration of the differential target: scalar-only code with the state
/// that gc-lower reifies (memories, tables of `funcref`, globals) and no proposal beyond
/// reference types, bulk memory and extended constants (`differential` turns some on).
fn differential_config() -> wasm_smith::Config {
    wasm_smith::Config {
        max_imports: 0,
        min_types: 2,
        min_funcs: 3,
        max_funcs: 10,
        max_exports: 12,
        max_types: 12,
        max_globals: 8,
        max_instructions: 60,
        max_memories: 2,
        max_memory32_bytes: 4 << 16,
        memory_max_size_required: true,
        max_tables: 2,
        max_table_elements: 100,
        table_max_size_required: true,
        max_data_segments: 4,
        max_element_segments: 4,
        max_elements: 16,
        max_tags: 0,
        bulk_memory_enabled: true,
        reference_types_enabled: true,
        extended_const_enabled: true,
        saturating_float_to_int_enabled: true,
        sign_extension_ops_enabled: true,
        canonicalize_nans: true,
        multi_value_enabled: false,
        memory64_enabled: false,
        threads_enabled: false,
        shared_everything_threads_enabled: false,
        simd_enabled: false,
        relaxed_simd_enabled: false,
        gc_enabled: false,
        custom_descriptors_enabled: false,
        exceptions_enabled: false,
        tail_call_enabled: false,
        wide_arithmetic_enabled: false,
        custom_page_sizes_enabled: false,
        ..wasm_smith::Config::default()
    }
}

/// The engines: the component model on for native and re-wrapped runs, off for the bare
/// lowered module. Configured like `gc-lower wast`.
struct Engines {
    component: Engine,
    core: Engine,
}

fn engines() -> &'static Engines {
    static ENGINES: OnceLock<Engines> = OnceLock::new();
    ENGINES.get_or_init(|| {
        let config = |component_model: bool| {
            let mut config = gc_lower::run::config();
            config
                .wasm_component_model(component_model)
                .wasm_component_model_map(component_model);
            config
        };
        Engines {
            component: Engine::new(&config(true)).expect("failed to create the component engine"),
            core: Engine::new(&config(false)).expect("failed to create the core engine"),
        }
    })
}

/// One way to run the case: natively, or lowered (re-wrapped or bare).
enum Side {
    Component {
        store: Store<()>,
        instance: component::Instance,
    },
    Core {
        store: Store<()>,
        instance: wasmtime::Instance,
    },
}

/// The outcome of one call: its result, or a trap.
type Outcome = Result<Option<Val>, String>;

impl Side {
    fn component(bytes: &[u8]) -> anyhow::Result<anyhow::Result<Side>> {
        let engine = &engines().component;
        let component = component::Component::new(engine, bytes)?;
        let mut store = Store::new(engine, ());
        Ok(component::Linker::new(engine)
            .instantiate(&mut store, &component)
            .map(|instance| Side::Component { store, instance })
            .map_err(anyhow::Error::from))
    }

    fn core(bytes: &[u8]) -> anyhow::Result<anyhow::Result<Side>> {
        let engine = &engines().core;
        let module = wasmtime::Module::new(engine, bytes)?;
        let mut store = Store::new(engine, ());
        Ok((|| {
            let instance = wasmtime::Instance::new(&mut store, &module, &[])?;
            let init = instance
                .get_func(&mut store, "_initialize")
                .ok_or_else(|| anyhow::anyhow!("the lowered module exports no `_initialize`"))?;
            init.call(&mut store, &[], &mut [])?;
            Ok(instance)
        })()
        .map(|instance| Side::Core { store, instance }))
    }

    /// Calls `name`; the outer error is a broken export, the inner one a trap.
    fn call(&mut self, name: &str, l: &Lifted, args: &[Val]) -> Result<Outcome, String> {
        match self {
            Side::Component { store, instance } => {
                let func = instance
                    .get_func(&mut *store, name)
                    .ok_or_else(|| format!("no export `{name}`"))?;
                let mut results = vec![Val::Bool(false); usize::from(l.result.is_some())];
                Ok(match func.call(&mut *store, args, &mut results) {
                    Ok(()) => Ok(results.pop()),
                    Err(trap) => Err(format!("{trap:#}")),
                })
            }
            Side::Core { store, instance } => {
                let func = instance
                    .get_func(&mut *store, name)
                    .ok_or_else(|| format!("no core export `{name}`"))?;
                let core_args: Vec<_> = l
                    .params
                    .iter()
                    .zip(args)
                    .map(|(t, v)| t.to_core(v))
                    .collect();
                let mut results = vec![wasmtime::Val::I32(0); usize::from(l.result.is_some())];
                if let Err(trap) = func.call(&mut *store, &core_args, &mut results) {
                    return Ok(Err(format!("{trap:#}")));
                }
                let result = match (l.result, results.first()) {
                    (Some(ty), Some(v)) => Some(
                        ty.lift_core(v)
                            .ok_or_else(|| format!("`{name}` returned {v:?}, not {ty:?}"))?,
                    ),
                    _ => None,
                };
                if let Some(post) = instance.get_func(&mut *store, &format!("cabi_post_{name}"))
                    && let Err(trap) = post.call(&mut *store, &results, &mut [])
                {
                    return Ok(Err(format!("`cabi_post_{name}` trapped: {trap:#}")));
                }
                Ok(Ok(result))
            }
        }
    }
}

/// Whether trap message `msg` is wasmtime's or V8's for an allocation past its limits (a GC
/// array too large, the GC heap full), which another engine's limits need not reproduce.
fn engine_limit(msg: &str) -> bool {
    [
        "allocation size too large",
        "GC heap out of memory",
        "requested new array is too large",
        "Out of memory",
    ]
    .iter()
    .any(|m| msg.contains(m))
}

/// Whether a lowered side's result `b` on wasmtime agrees with the native `a`: the values
/// alike ([`same_value`]), or both traps, the lowered one for the native trap's reason
/// (`gc_lower::wast::output_trap_reason`, `native_trap_says`). A lowered error that is no wasm
/// trap passes when the native one is the same error (an uncaught exception: `thrown Wasm
/// exception`, the message after the backtrace) or it is the GC heap running full
/// ([`engine_limit`]; an allocation too large is a wasm trap, compared by its reason).
fn same(a: &Outcome, b: &Outcome) -> bool {
    // The error's message: its last line from its last `: ` on (after the backtrace's frame).
    let message = |e: &str| {
        let line = e.lines().last().unwrap_or(e);
        line.rsplit(": ").next().unwrap_or(line).to_string()
    };
    match (a, b) {
        (Err(native), Err(lowered)) => match gc_lower::wast::output_trap_reason(lowered) {
            Some(reason) => gc_lower::wast::native_trap_says(native, &reason),
            None => {
                engine_limit(lowered)
                    || (gc_lower::wast::output_trap_reason(native).is_none()
                        && message(native) == message(lowered))
            }
        },
        _ => same_value(a, b),
    }
}

/// Whether a lowered side's result `b` on a JavaScript engine agrees with the native `a`: the
/// values alike, or both traps (the engines word their traps themselves).
fn same_on_js(a: &Outcome, b: &Outcome) -> bool {
    matches!((a, b), (Err(_), Err(_))) || same_value(a, b)
}

/// Whether two results are the same values: floats by bits, any NaN equal to any NaN.
fn same_value(a: &Outcome, b: &Outcome) -> bool {
    match (a, b) {
        (Ok(Some(Val::Float32(x))), Ok(Some(Val::Float32(y)))) => {
            (x.is_nan() && y.is_nan()) || x.to_bits() == y.to_bits()
        }
        (Ok(Some(Val::Float64(x))), Ok(Some(Val::Float64(y)))) => {
            (x.is_nan() && y.is_nan()) || x.to_bits() == y.to_bits()
        }
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// What became of one differential case.
enum Case {
    /// Every side ran every call (up to the first trap) and agreed.
    Ran(Ran),
    /// wasm-smith could not build a module from the input bytes.
    NoModule,
    /// `lower` reported an unsupported feature.
    Unsupported(String),
}

/// What a case that ran did.
#[derive(Default)]
struct Ran {
    /// The lifted exports of each instance.
    exports: usize,
    /// Calls made on each side.
    calls: usize,
    /// Whether instantiation trapped.
    instantiation_trapped: bool,
    /// Whether a call trapped.
    call_trapped: bool,
    /// Whether the bare lowerings also ran on V8.
    on_v8: bool,
}

/// One planned call: the export, its lifted signature and the arguments.
struct Call {
    name: String,
    lifted: usize,
    args: Vec<Val>,
}

/// Generates a module from `seed`, wraps it into a component instantiating it two or three
/// times and
/// asserts that the native component and its lowerings (`auto` and `all`, each re-wrapped
/// and bare) instantiate alike and return the same results for the same calls.
fn differential(seed: u64) -> Case {
    let mut rng = Rng(seed);
    let len = 1024 + rng.below(3072) as usize;
    let data = rng.bytes(len);
    let mut u = Unstructured::new(&data);
    let mut config = differential_config();
    config.export_everything = rng.below(4) != 0;
    config.disallow_traps = rng.below(2) == 0;
    // Without reference types more signatures are scalar, hence liftable.
    config.reference_types_enabled = rng.below(3) != 0;
    // A quarter of the modules have GC types in rec groups (struct, array and function types
    // with subtyping) and the GC instructions over them.
    config.gc_enabled = config.reference_types_enabled && rng.below(4) == 0;
    // A quarter have tags and the exception-handling instructions (`throw`, `try_table`,
    // `throw_ref`): reified, each tag carries its instance's identity.
    config.exceptions_enabled = rng.below(4) == 0;
    config.max_tags = if config.exceptions_enabled { 3 } else { 0 };
    // An eighth have the threads proposal's atomic instructions (on a reified memory, its
    // plain accesses with core wasm's alignment checks); wasm-smith makes a quarter of their
    // memories shared, which gc-lower names as unsupported.
    config.threads_enabled = rng.below(8) == 0;
    let gc = config.gc_enabled;
    let Ok(mut module) = wasm_smith::Module::new(config, &mut u) else {
        return Case::NoModule;
    };
    module
        .ensure_termination(FUEL)
        .expect("wasm-smith generated every function body itself");
    // Half the modules with GC types are instantiated once and lowered with `--reify auto`
    // alone, where they stay unreified modules and keep every type; reified, their function
    // references (also in struct and array fields) are closures.
    let once = gc && rng.below(2) == 0;
    compare(seed, &module.to_bytes(), &mut rng, once)
}

/// Wraps `module` (valid, with no imports) into a component instantiating it two or three
/// times (once, `once`) and asserts that the native component and its lowerings (`auto` and
/// `all`, `auto` alone when `once`; each re-wrapped and bare) instantiate alike and return the
/// same results for the same calls, with arguments drawn from `rng` (`seed` names the case in
/// a failure).
fn compare(seed: u64, module: &[u8], rng: &mut Rng, once: bool) -> Case {
    let instances = if once {
        &INSTANCES[..1]
    } else {
        &INSTANCES[..2 + rng.below(2) as usize]
    };
    let modes: &[ReifyMode] = if once {
        &[ReifyMode::Auto]
    } else {
        &[ReifyMode::Auto, ReifyMode::All]
    };
    let (component, lifted) = wrap(module, instances, rng).expect("the module is valid");
    let fail = |msg: String| -> ! {
        let path = dump(&format!("differential-{seed:#x}.wasm"), &component);
        panic!(
            "differential case {seed:#x}: {msg}\ncomponent: {}\n{}",
            path.display(),
            wasmprinter::print_bytes(&component).unwrap_or_default()
        );
    };

    let mut cores = Vec::new();
    let mut sides = vec![(
        "native".to_string(),
        Side::component(&component)
            .unwrap_or_else(|e| fail(format!("native compilation failed: {e:#}"))),
    )];
    // Odd seeds give every function of the `--reify all` lowering fast paths outside loops
    // (`--inline-accesses all`), even ones keep the default limit.
    let inline_accesses = if seed % 2 == 1 {
        InlineAccesses::All
    } else {
        InlineAccesses::default()
    };
    for &reify in modes {
        let core = match gc_lower::lower(
            &component,
            &Options {
                reify,
                inline_accesses,
                ..Default::default()
            },
        ) {
            Ok(core) => core,
            Err(e) => match gc_lower::find_unsupported(&e) {
                Some(u) => return Case::Unsupported(u.to_string()),
                None => fail(format!("lowering (reify {reify:?}) failed: {e:#}")),
            },
        };
        let wrapped = gc_lower::rewrap(&core)
            .unwrap_or_else(|e| fail(format!("re-wrapping (reify {reify:?}) failed: {e:#}")));
        sides.push((
            format!("lowered {reify:?}, re-wrapped"),
            Side::component(&wrapped).unwrap_or_else(|e| {
                fail(format!(
                    "compiling the re-wrapped lowering (reify {reify:?}) failed: {e:#}"
                ))
            }),
        ));
        sides.push((
            format!("lowered {reify:?}, bare"),
            Side::core(&core).unwrap_or_else(|e| {
                fail(format!(
                    "compiling the lowered module (reify {reify:?}) failed: {e:#}"
                ))
            }),
        ));
        cores.push((reify, core));
    }

    let native_trapped = sides[0].1.is_err();
    let as_outcome = |side: &anyhow::Result<Side>| -> Outcome {
        match side {
            Ok(_) => Ok(None),
            Err(e) => Err(format!("{e:#}")),
        }
    };
    for (name, side) in &sides[1..] {
        if !same(&as_outcome(&sides[0].1), &as_outcome(side)) {
            fail(format!(
                "instantiation: native {}, {name} {}",
                describe_instantiation(&sides[0].1),
                describe_instantiation(side)
            ));
        }
    }
    let v8_sample = env_u64("GC_LOWER_FUZZ_V8").unwrap_or(V8_SAMPLE);
    let on_v8 = v8_sample != 0 && seed.is_multiple_of(v8_sample);
    let mut ran = Ran {
        exports: lifted.len(),
        instantiation_trapped: native_trapped,
        on_v8,
        ..Ran::default()
    };
    if native_trapped {
        // An allocation past wasmtime's limits need not fail on V8, whose limits differ.
        let limit = sides[0]
            .1
            .as_ref()
            .err()
            .is_some_and(|e| engine_limit(&format!("{e:#}")));
        if on_v8 && !limit {
            for (reify, core) in &cores {
                match run_on_v8(core, &lifted, &[]) {
                    Ok(V8Run::InstantiationTrapped(_)) => {}
                    other => fail(format!(
                        "instantiation: native {}, lowered {reify:?} on V8 {other:?}",
                        describe_instantiation(&sides[0].1)
                    )),
                }
            }
        }
        return Case::Ran(ran);
    }

    let mut calls = Vec::new();
    for _ in 0..ROUNDS {
        for (k, l) in lifted.iter().enumerate() {
            for instance in instances {
                calls.push(Call {
                    name: export_name(instance, k),
                    lifted: k,
                    args: l
                        .params
                        .iter()
                        .map(|t| t.arg(rng))
                        .map(|v| if on_v8 { Ty::canonical_nan(v) } else { v })
                        .collect(),
                });
            }
        }
    }

    let mut expected: Vec<Outcome> = Vec::new();
    for (side_name, side) in &mut sides {
        let side = side.as_mut().expect("every side instantiated");
        for (i, call) in calls.iter().enumerate() {
            let outcome = side
                .call(&call.name, &lifted[call.lifted], &call.args)
                .unwrap_or_else(|e| fail(format!("{side_name}: {e}")));
            let trapped = outcome.is_err();
            if side_name == "native" {
                expected.push(outcome);
                ran.calls += 1;
                ran.call_trapped |= trapped;
            } else if !same(&expected[i], &outcome) {
                fail(format!(
                    "call #{i} `{}`({:?}) [core `{}` {}]: native {:?}, {side_name} {:?}",
                    call.name,
                    call.args,
                    lifted[call.lifted].core_name,
                    signature(&lifted[call.lifted]),
                    expected[i],
                    outcome
                ));
            }
            if trapped {
                break;
            }
        }
    }
    if on_v8 {
        let made = &calls[..expected.len()];
        for (reify, core) in &cores {
            let outcomes = match run_on_v8(core, &lifted, made) {
                Ok(V8Run::Calls(outcomes)) => outcomes,
                // As above, the other way around: V8's limits are lower in places.
                Ok(V8Run::InstantiationTrapped(trap)) if engine_limit(&trap) => continue,
                Ok(V8Run::InstantiationTrapped(trap)) => fail(format!(
                    "instantiation: native instantiated, lowered {reify:?} on V8 trapped ({trap})"
                )),
                Err(e) => fail(format!("lowered {reify:?} on V8: {e}")),
            };
            for (i, call) in made.iter().enumerate() {
                let Some(outcome) = outcomes.get(i) else {
                    fail(format!(
                        "lowered {reify:?} on V8 stopped after {} of {} calls",
                        outcomes.len(),
                        made.len()
                    ));
                };
                if matches!(&expected[i], Err(e) if engine_limit(e))
                    || matches!(outcome, Err(e) if engine_limit(e))
                {
                    // As at instantiation: V8's allocation limits are not wasmtime's.
                    break;
                }
                if !same_on_js(&expected[i], outcome) {
                    fail(format!(
                        "call #{i} `{}`({:?}) [core `{}` {}]: native {:?}, lowered {reify:?} on \
                         V8 {:?}",
                        call.name,
                        call.args,
                        lifted[call.lifted].core_name,
                        signature(&lifted[call.lifted]),
                        expected[i],
                        outcome
                    ));
                }
            }
        }
    }
    Case::Ran(ran)
}

/// Runs a lowered core module with plain `WebAssembly` in Node, through the `wast` runner's
/// core logic ([`gc_lower::wast::CORE_LOGIC`]): instantiates it, calls `_initialize`, then
/// makes the calls of a JSON plan file in order (each followed by its `cabi_post_*` export, if
/// any) up to the first that throws, and prints what happened as JSON. Arguments and results
/// are decimal strings: integers, and floats as their bits.
const V8_PLAN: &str = r#"
import { readFileSync } from 'node:fs';
const [wasmFile, planFile] = process.argv.slice(2);
const plan = JSON.parse(readFileSync(planFile, 'utf8'));
// A module that does not compile is a failure of the lowering, not a trap: it throws here.
const core = coreInstance(readFileSync(wasmFile));
if (core.first.trap) {
  console.log(JSON.stringify({ instantiation: core.first.trap }));
  process.exit(0);
}
const calls = [];
for (const { name, args, result } of plan) {
  const answer = core.call({ call: name, args, results: result ? [result] : [] });
  if (answer.error) throw new Error(answer.error);
  if (answer.trap !== undefined) {
    calls.push({ trap: answer.trap });
    break;
  }
  calls.push({ ok: result ? answer.ok[0][1] : null });
}
console.log(JSON.stringify({ calls }));
"#;

/// What a lowered module did on V8.
#[derive(Debug)]
enum V8Run {
    /// Instantiation or `_initialize` threw.
    InstantiationTrapped(String),
    /// The outcome of each call made, up to the first trap.
    Calls(Vec<Outcome>),
}

/// Runs `calls` on the lowered module `core` on V8 ([`V8_PLAN`]). Errors: Node failed (the
/// module did not compile, say) or answered with something that is not an outcome.
fn run_on_v8(core: &[u8], lifted: &[Lifted], calls: &[Call]) -> Result<V8Run, String> {
    let (node, _) = common::node_tools();
    let dir = tempfile::tempdir().expect("failed to create a temporary directory");
    let path = |name: &str| dir.path().join(name);
    std::fs::write(
        path("driver.mjs"),
        format!("{}{V8_PLAN}", gc_lower::wast::CORE_LOGIC),
    )
    .expect("failed to write the driver");
    std::fs::write(path("lowered.wasm"), core).expect("failed to write the lowered module");
    let plan: Vec<serde_json::Value> = calls
        .iter()
        .map(|call| {
            let l = &lifted[call.lifted];
            let args: Vec<_> = l
                .params
                .iter()
                .zip(&call.args)
                .map(|(t, v)| serde_json::json!([t.core_name(), Ty::core_text(&t.to_core(v))]))
                .collect();
            serde_json::json!({
                "name": call.name,
                "args": args,
                "result": l.result.map(Ty::core_name),
            })
        })
        .collect();
    std::fs::write(
        path("plan.json"),
        serde_json::to_vec(&plan).expect("the plan serializes"),
    )
    .expect("failed to write the plan");
    let output = std::process::Command::new(&node)
        .arg(path("driver.mjs"))
        .arg(path("lowered.wasm"))
        .arg(path("plan.json"))
        .output()
        .expect("failed to run node");
    if !output.status.success() {
        return Err(format!(
            "node failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let answer: serde_json::Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("the V8 driver printed no JSON: {e}"))?;
    if let Some(trap) = answer.get("instantiation") {
        return Ok(V8Run::InstantiationTrapped(trap.to_string()));
    }
    let outcomes = answer["calls"]
        .as_array()
        .ok_or_else(|| format!("the V8 driver reported no calls: {answer}"))?
        .iter()
        .zip(calls)
        .map(|(outcome, call)| {
            if let Some(trap) = outcome.get("trap") {
                return Ok(Err(trap.to_string()));
            }
            let result = lifted[call.lifted].result;
            Ok(Ok(match (result, &outcome["ok"]) {
                (None, serde_json::Value::Null) => None,
                (Some(ty), serde_json::Value::String(text)) => Some(
                    ty.lift_core_text(text)
                        .ok_or_else(|| format!("V8 returned `{text}`, not a {ty:?}"))?,
                ),
                (_, other) => {
                    return Err(format!("unexpected V8 outcome {other} for `{}`", call.name));
                }
            }))
        })
        .collect::<Result<Vec<Outcome>, String>>()?;
    Ok(V8Run::Calls(outcomes))
}

fn describe_instantiation(side: &anyhow::Result<Side>) -> String {
    match side {
        Ok(_) => "instantiated".to_string(),
        Err(e) => format!("trapped ({e:#})"),
    }
}

fn signature(l: &Lifted) -> String {
    let params: Vec<_> = l.params.iter().map(|t| t.wat()).collect();
    format!(
        "({}) -> {}",
        params.join(", "),
        l.result.map_or("()", Ty::wat)
    )
}

#[test]
fn smoke_differential() {
    let seed = base_seed();
    let n = iterations(100);
    let (mut ran, mut no_module) = (0, 0);
    let mut total = Ran::default();
    let (mut instantiation_traps, mut call_traps, mut on_v8) = (0, 0, 0);
    let mut unsupported: BTreeMap<String, usize> = BTreeMap::new();
    for i in 0..n {
        match differential(seed.wrapping_add(i)) {
            Case::Ran(r) => {
                ran += 1;
                total.exports += r.exports;
                total.calls += r.calls;
                instantiation_traps += usize::from(r.instantiation_trapped);
                on_v8 += usize::from(r.on_v8);
                call_traps += usize::from(r.call_trapped);
            }
            Case::NoModule => no_module += 1,
            Case::Unsupported(why) => *unsupported.entry(why).or_default() += 1,
        }
    }
    println!(
        "differential: {n} cases, {ran} ran ({} lifted exports per instance, {} calls per \
         side; {instantiation_traps} trapped in instantiation, {call_traps} in a call; \
         {on_v8} also on V8), {no_module} without a module",
        total.exports, total.calls
    );
    for (why, count) in &unsupported {
        println!("  unsupported x{count}: {why}");
    }
    assert!(ran > n / 2, "too few cases ran: {ran} of {n}");
    let v8_sample = env_u64("GC_LOWER_FUZZ_V8").unwrap_or(V8_SAMPLE);
    if v8_sample != 0 && n >= 4 * v8_sample {
        assert!(
            on_v8 > 0,
            "no case of {n} ran on V8 (one in {v8_sample} should)"
        );
    }
}

/// A module of call-free loops over a reified memory, from `seed`: each `k{j}(p, q, n)`
/// (`p` and `q` masked into the memory, fewer than 32 iterations) makes one to six loads
/// and stores of every width and type per iteration, at addresses built from `p`, `q` and
/// the iteration count the way compilers build them (a pointer, a pointer plus a constant
/// or a scaled index, a scaled index alone), with offsets aligned or not, while the pointers
/// step by multiples of 4 or not (up or down), or are written out of step; it folds what it
/// loads into an `i64` that it returns. `peek` loads outside any loop (extending the word
/// array past the size, which sends loops to their checked version) and `grow` grows the
/// memory. This is what the loop versions rest on (`gc_lower::memory_access`, `Versioned`
/// and `aligned_addresses`): whether a loop's version without bounds or alignment tests
/// runs must not change a result or a trap.
fn loop_module(seed: u64) -> String {
    let mut rng = Rng(seed ^ 0x6c6f_6f70);
    let mut kernels = String::new();
    let count = 2 + seed % 2;
    for k in 0..count {
        let mut body = String::new();
        let accesses = 1 + (seed >> (4 * k)) % 6;
        for _ in 0..accesses {
            let address = rng.pick(&[
                "(local.get $p)",
                "(local.get $p)",
                "(local.get $q)",
                "(i32.add (local.get $p) (i32.shl (local.get $i) (i32.const 2)))",
                "(i32.add (local.get $p) (i32.shl (local.get $i) (i32.const 1)))",
                "(i32.add (local.get $q) (i32.const 4))",
                "(i32.sub (local.get $q) (i32.const 6))",
                "(i32.shl (local.get $i) (i32.const 3))",
                "(i32.mul (local.get $i) (i32.const 4))",
                "(i32.mul (local.get $i) (i32.const 6))",
                "(i32.and (local.get $p) (i32.const -4))",
            ]);
            let offset = rng.pick(&["0", "0", "0", "1", "2", "3", "4", "8", "12", "100"]);
            if rng.below(2) == 0 {
                let (load, widen) = match rng.below(7) {
                    0 => ("i32.load", "(i64.extend_i32_u"),
                    1 => ("i64.load", ""),
                    2 => ("f32.load", "(i64.extend_i32_u (i32.reinterpret_f32"),
                    3 => ("f64.load", "(i64.reinterpret_f64"),
                    4 => ("i32.load8_u", "(i64.extend_i32_u"),
                    5 => ("i32.load16_s", "(i64.extend_i32_s"),
                    _ => ("i64.load32_u", ""),
                };
                let close = ")".repeat(widen.matches('(').count());
                body += &format!(
                    "(local.set $acc (i64.add (i64.mul (local.get $acc) (i64.const 31)) \
                     {widen} ({load} offset={offset} {address}){close}))\n"
                );
            } else {
                let (store, value) = match rng.below(7) {
                    0 => ("i32.store", "(i32.wrap_i64 (local.get $acc))"),
                    1 => ("i64.store", "(local.get $acc)"),
                    2 => (
                        "f32.store",
                        "(f32.reinterpret_i32 (i32.wrap_i64 (local.get $acc)))",
                    ),
                    3 => ("f64.store", "(f64.reinterpret_i64 (local.get $acc))"),
                    4 => ("i32.store8", "(i32.wrap_i64 (local.get $acc))"),
                    5 => ("i32.store16", "(i32.wrap_i64 (local.get $acc))"),
                    _ => ("i64.store32", "(local.get $acc)"),
                };
                body += &format!(
                    "({store} offset={offset} {address} {value})\n\
                     (local.set $acc (i64.add (local.get $acc) (i64.const 0x9e3779b97f4a7c15)))\n"
                );
            }
        }
        body += rng.pick(&[
            "(local.set $p (i32.add (local.get $p) (i32.const 4)))",
            "(local.set $p (i32.add (i32.const 8) (local.get $p)))",
            "(local.set $p (i32.sub (local.get $p) (i32.const 4)))",
            "(local.set $p (i32.add (local.get $p) (i32.const 2)))",
            "(local.set $p (i32.add (local.get $p) (i32.const 1)))",
            "(local.set $p (i32.add (local.get $p) (i32.const 12)))",
        ]);
        body += rng.pick(&[
            "(local.set $q (i32.add (local.get $q) (i32.const 4)))",
            "(local.set $q (i32.sub (local.get $q) (i32.const 8)))",
            "(local.set $q (i32.add (local.get $p) (i32.const 16)))",
            "(local.set $q (i32.add (local.get $p) (i32.const 3)))",
            "(local.set $q (i32.or (local.get $q) (i32.const 1)))",
            "",
        ]);
        // Mostly in the first page; sometimes up to its end or past it (a trap, which ends
        // the case's calls), or in a page `grow` may have added.
        let mask_p = rng.pick(&["0x7fff", "0x7ffc", "0x7ff8", "0x7ffc", "0xfffc", "0x1fffc"]);
        let mask_q = rng.pick(&["0x7fff", "0x7ffc", "0x7ff0", "0xfff0"]);
        let acc = rng.next() as i64;
        kernels += &format!(
            "(func (export \"k{k}\") (param $p i32) (param $q i32) (param $n i32) (result i64)
               (local $acc i64) (local $i i32)
               (local.set $acc (i64.const {acc}))
               (local.set $p (i32.and (local.get $p) (i32.const {mask_p})))
               (local.set $q (i32.and (local.get $q) (i32.const {mask_q})))
               (local.set $n (i32.and (local.get $n) (i32.const 31)))
               (block $out
                 (loop $l
                   (br_if $out (i32.eqz (local.get $n)))
                   {body}
                   (local.set $i (i32.add (local.get $i) (i32.const 1)))
                   (local.set $n (i32.sub (local.get $n) (i32.const 1)))
                   (br $l)))
               (local.get $acc))\n"
        );
    }
    let data: String = rng.bytes(64).iter().map(|b| format!("\\{b:02x}")).collect();
    let at = rng.below(0xffc0);
    format!(
        "(module
           (memory 1 3)
           (data (i32.const 0) \"{data}\")
           (data (i32.const {at}) \"{data}\")
           (func (export \"peek\") (param $a i32) (result i32)
             (i32.load (i32.and (local.get $a) (i32.const 0xfffc))))
           (func (export \"grow\") (result i32) (memory.grow (i32.const 1)))
           {kernels})"
    )
}

/// [`loop_module`] from `seed`, compared natively and lowered ([`compare`]).
fn differential_loops(seed: u64) -> Case {
    let text = loop_module(seed);
    let module = wat::parse_str(&text)
        .unwrap_or_else(|e| panic!("loop case {seed:#x} is not valid text: {e}\n{text}"));
    compare(seed, &module, &mut Rng(seed), false)
}

/// [`differential_loops`] from the smoke seed on (`GC_LOWER_FUZZ_ITERS` cases, 100 by
/// default); not every case may trap in a call, or the kernels would test little.
#[test]
fn smoke_loops() {
    let seed = base_seed();
    let n = iterations(100);
    let (mut ran, mut calls, mut call_traps) = (0, 0, 0);
    for i in 0..n {
        match differential_loops(seed.wrapping_add(i)) {
            Case::Ran(r) => {
                ran += 1;
                calls += r.calls;
                call_traps += usize::from(r.call_trapped);
            }
            Case::NoModule => unreachable!("the loop cases are text"),
            Case::Unsupported(why) => {
                panic!("loop case {:#x}: unsupported: {why}", seed.wrapping_add(i))
            }
        }
    }
    println!("loops: {n} cases, {ran} ran ({calls} calls per side, {call_traps} trapped)");
    assert!(
        call_traps < ran,
        "every loop case trapped: the kernels reach too little of the memory"
    );
}
