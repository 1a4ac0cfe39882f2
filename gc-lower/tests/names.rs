//! The output's name and `producers` sections: the input's function and local names under a
//! module label, wasmtime backtraces that name the original functions and the reasons of
//! canonical ABI traps, merged producers, and malformed names or DWARF in the input.

use std::path::{Path, PathBuf};
use std::process::Command;

use gc_lower::{Options, ReifyMode};
use wasmtime::{Engine, Instance, Module, Store, WasmBacktrace, WasmBacktraceDetails};
use wasmtime_environ::wasmparser::{KnownCustom, Name, Parser, Payload};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the gc-lower crate lives in the workspace root")
        .to_path_buf()
}

fn component(file: &str) -> Vec<u8> {
    wat::parse_file(repo_root().join("tests/names").join(file)).expect("test component parses")
}

const MODES: [ReifyMode; 2] = [ReifyMode::Auto, ReifyMode::All];

/// `input` lowered with `--reify reify`; panics if the lowering fails.
fn lowered(input: &[u8], reify: ReifyMode) -> Vec<u8> {
    gc_lower::lower(
        input,
        &Options {
            reify,
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| panic!("{reify:?}: the input does not lower: {e:#}"))
}

/// The function names and the local names (by function name) of `module`'s name section.
fn names(module: &[u8]) -> (Vec<String>, Vec<(String, Vec<String>)>) {
    let mut funcs = Vec::new();
    let mut by_index = std::collections::HashMap::new();
    let mut locals = Vec::new();
    for payload in Parser::new(0).parse_all(module) {
        let Payload::CustomSection(section) = payload.expect("output parses") else {
            continue;
        };
        let KnownCustom::Name(reader) = section.as_known() else {
            continue;
        };
        for subsection in reader {
            match subsection.expect("output name section parses") {
                Name::Function(map) => {
                    for naming in map {
                        let naming = naming.expect("function name parses");
                        funcs.push(naming.name.to_string());
                        by_index.insert(naming.index, naming.name.to_string());
                    }
                }
                Name::Local(map) => {
                    for func in map {
                        let func = func.expect("local names parse");
                        let names = func
                            .names
                            .into_iter()
                            .map(|n| n.expect("local name parses").name.to_string())
                            .collect();
                        locals.push((by_index[&func.index].clone(), names));
                    }
                }
                _ => {}
            }
        }
    }
    (funcs, locals)
}

fn engine() -> Engine {
    let mut config = gc_lower::run::config();
    config.wasm_backtrace_details(WasmBacktraceDetails::Enable);
    Engine::new(&config).expect("failed to create the engine")
}

/// Calls export `name` of the lowered `module` (after `_initialize`), which must trap, and
/// returns the function names of the trap's backtrace, innermost first.
fn trap_frames(engine: &Engine, module: &[u8], name: &str) -> Vec<String> {
    let module = Module::new(engine, module).expect("output compiles");
    let mut store = Store::new(engine, ());
    let instance = Instance::new(&mut store, &module, &[]).expect("output instantiates");
    instance
        .get_typed_func::<(), ()>(&mut store, "_initialize")
        .expect("output exports `_initialize`")
        .call(&mut store, ())
        .expect("initialization succeeds");
    let run = instance
        .get_typed_func::<(), i32>(&mut store, name)
        .expect("output exports the function");
    let err = run.call(&mut store, ()).expect_err("the function traps");
    let trace = err
        .downcast_ref::<WasmBacktrace>()
        .expect("the trap has a backtrace");
    trace
        .frames()
        .iter()
        .map(|f| f.func_name().unwrap_or("<unnamed>").to_string())
        .collect()
}

#[test]
fn name_section_carries_the_input_names() {
    let input = component("traps.wat");
    for reify in MODES {
        let output = lowered(&input, reify);
        let (funcs, locals) = names(&output);
        for name in [
            "Twice!twice_fail",
            "Twice!twice_middle",
            "Once!once_fail",
            "Once!once_middle",
        ] {
            assert!(
                funcs.iter().any(|f| f == name),
                "{reify:?}: `{name}` is not in {funcs:?}"
            );
        }
        // gc-lower's own functions say so.
        assert!(
            funcs.iter().any(|f| f == "gc-lower:_initialize"),
            "{funcs:?}"
        );
        // `$Twice` is reified in both modes: its vmctx parameter comes between `addr` and
        // `scratch`; `$Once` only with `--reify all`.
        let twice_fail = locals.iter().find(|(f, _)| f == "Twice!twice_fail");
        assert_eq!(
            twice_fail.map(|(_, l)| l.as_slice()),
            Some(&["addr".to_string(), "vmctx".into(), "scratch".into()][..]),
            "{reify:?}: {locals:?}"
        );
        let once_fail = locals.iter().find(|(f, _)| f == "Once!once_fail");
        assert_eq!(
            once_fail.is_some(),
            reify == ReifyMode::All,
            "{reify:?}: {locals:?}"
        );
    }
}

#[test]
fn wasmtime_backtrace_names_the_original_functions() {
    let engine = engine();
    let input = component("traps.wat");
    for reify in MODES {
        let output = lowered(&input, reify);
        for (export, fail, middle) in [
            ("twice-run", "Twice!twice_fail", "Twice!twice_middle"),
            ("once-run", "Once!once_fail", "Once!once_middle"),
        ] {
            let frames = trap_frames(&engine, &output, export);
            assert_eq!(
                frames.get(..2),
                Some(&[fail.to_string(), middle.to_string()][..]),
                "{reify:?} `{export}`: {frames:?}"
            );
        }
    }
}

#[test]
fn producers_are_merged_and_name_gc_lower() {
    let input = component("traps.wat");
    for reify in MODES {
        let output = lowered(&input, reify);
        let producers = wasm_metadata::Producers::from_wasm(&output)
            .expect("output parses")
            .expect("output has a producers section");
        let field = |name: &str| -> Vec<(String, String)> {
            producers
                .get(name)
                .map(|f| f.iter().map(|(n, v)| (n.clone(), v.clone())).collect())
                .unwrap_or_default()
        };
        let pair = |n: &str, v: &str| (n.to_string(), v.to_string());
        assert_eq!(field("language"), [pair("C11", ""), pair("Rust", "")]);
        assert_eq!(
            field("processed-by"),
            [
                pair("clang", "19.1.0"),
                pair("rustc", "1.90.0"),
                pair("gc-lower", env!("CARGO_PKG_VERSION"))
            ]
        );
        assert_eq!(field("sdk"), [pair("wasi-sdk", "27")]);
    }
}

#[test]
fn malformed_names_are_ignored_and_dwarf_is_dropped_with_a_warning() {
    let input = component("malformed.wat");
    for reify in MODES {
        let output = lowered(&input, reify);
        let (funcs, _) = names(&output);
        assert!(funcs.iter().any(|f| f == "module0!ok"), "{funcs:?}");
        assert!(funcs.iter().any(|f| f == "m0:f1"), "{funcs:?}");
        let has_dwarf = Parser::new(0)
            .parse_all(&output)
            .any(|p| matches!(p, Ok(Payload::CustomSection(s)) if s.name().starts_with(".debug_")));
        assert!(!has_dwarf, "{reify:?}: the output keeps DWARF");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_gc-lower"))
        .args(["tests/names/malformed.wat", "-o", "-"])
        .current_dir(repo_root())
        .output()
        .expect("failed to run `gc-lower`");
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.contains("DWARF")).collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(
        warnings[0].contains("`module0`") && warnings[0].contains(".debug_info"),
        "{stderr}"
    );
}

/// Canonical ABI traps, each in a component of `tests/names/trap-reasons.wat`: natively
/// wasmtime's message gives the reason; lowered, the first frame of the backtrace names it.
#[test]
fn canonical_abi_traps_name_their_reason() {
    use wasmtime::component::{Component, Linker};
    let input = component("trap-reasons.wat");
    let cases = [
        (
            "invalid-utf8",
            "invalid utf8 encoding",
            "invalid-utf8-encoding",
        ),
        (
            "leave",
            "cannot leave component instance",
            "cannot-leave-component-instance",
        ),
        (
            "bogus-handle",
            "unknown handle index 77",
            "unknown-handle-index",
        ),
        (
            "enter-child",
            "cannot enter component instance",
            "cannot-enter-component-instance",
        ),
    ];

    let native = Engine::new(&gc_lower::run::config()).expect("failed to create the engine");
    let original = Component::new(&native, &input).expect("the component compiles");
    for (export, message, _) in cases {
        // A trap poisons the instance: a new one for each export.
        let mut store = Store::new(&native, ());
        let instance = Linker::new(&native)
            .instantiate(&mut store, &original)
            .expect("the component instantiates");
        let func = instance
            .get_typed_func::<(), (u32,)>(&mut store, export)
            .expect("the component exports the function");
        let err = func.call(&mut store, ()).expect_err("the function traps");
        assert!(
            format!("{err:?}").contains(message),
            "native `{export}`: {err:?}"
        );
    }

    let engine = engine();
    for reify in MODES {
        let output = lowered(&input, reify);
        for (export, _, reason) in cases {
            let frames = trap_frames(&engine, &output, export);
            assert_eq!(
                frames.first().map(String::as_str),
                Some(format!("gc-lower:trap:{reason}").as_str()),
                "{reify:?} `{export}`: {frames:?}"
            );
        }
    }
}

/// Names by subsection kind.
type ItemNames = std::collections::BTreeMap<&'static str, Vec<String>>;
/// Field names by the name of their type.
type FieldNames = std::collections::BTreeMap<String, Vec<String>>;

/// The names of `module`'s name section other than functions and locals: each subsection by
/// its kind (`type`, `table`, `memory`, `global`, `elem`, `data`, `tag`), and the field names
/// by the name of their type. Asserts every map is in increasing index order.
fn item_names(module: &[u8]) -> (ItemNames, FieldNames) {
    let mut items = ItemNames::new();
    let mut type_names = std::collections::HashMap::new();
    let mut fields = Vec::new();
    for payload in Parser::new(0).parse_all(module) {
        let Payload::CustomSection(section) = payload.expect("output parses") else {
            continue;
        };
        let KnownCustom::Name(reader) = section.as_known() else {
            continue;
        };
        for subsection in reader {
            let (kind, map) = match subsection.expect("output name section parses") {
                Name::Type(map) => ("type", map),
                Name::Table(map) => ("table", map),
                Name::Memory(map) => ("memory", map),
                Name::Global(map) => ("global", map),
                Name::Element(map) => ("elem", map),
                Name::Data(map) => ("data", map),
                Name::Tag(map) => ("tag", map),
                Name::Field(map) => {
                    for ty in map {
                        let ty = ty.expect("field names parse");
                        let names: Vec<String> = ty
                            .names
                            .into_iter()
                            .map(|n| n.expect("field name parses").name.to_string())
                            .collect();
                        fields.push((ty.index, names));
                    }
                    continue;
                }
                _ => continue,
            };
            let mut last = None;
            for naming in map {
                let naming = naming.expect("name parses");
                assert!(
                    last.is_none_or(|l| l < naming.index),
                    "{kind} names out of order at {}",
                    naming.index
                );
                last = Some(naming.index);
                if kind == "type" {
                    type_names.insert(naming.index, naming.name.to_string());
                }
                items.entry(kind).or_default().push(naming.name.to_string());
            }
        }
    }
    let fields = fields
        .into_iter()
        .map(|(ty, names)| {
            let ty = type_names
                .get(&ty)
                .cloned()
                .unwrap_or_else(|| format!("type {ty}"));
            (ty, names)
        })
        .collect();
    (items, fields)
}

#[test]
fn state_names_reach_the_output() {
    let input = component("state.wat");
    for reify in MODES {
        let output = lowered(&input, reify);
        let (items, fields) = item_names(&output);
        let has = |kind: &str, name: &str| {
            assert!(
                items.get(kind).is_some_and(|n| n.iter().any(|x| x == name)),
                "{reify:?}: no {kind} named `{name}` in {:?}",
                items.get(kind)
            );
        };
        let has_fields = |ty: &str, names: &[&str]| {
            let got = fields
                .get(ty)
                .unwrap_or_else(|| panic!("{reify:?}: no field names for `{ty}` in {fields:?}"));
            for name in names {
                assert!(
                    got.iter().any(|g| g == name),
                    "{reify:?}: `{ty}` has no field `{name}`: {got:?}"
                );
            }
        };
        // The input's type names and gc-lower's own types.
        has("type", "Shared!unary");
        has("type", "gc-lower:membox");
        has_fields("gc-lower:membox", &["words", "pages", "max_pages"]);
        // A reified module's state: fields of its vmctx, named as in the input; a static
        // table is an output table of its own.
        has("type", "Shared:vmctx");
        has_fields("Shared:vmctx", &["heap", "slots", "counter", "init"]);
        has("table", "Shared!callbacks");
        has("table", "Single!handlers");
        has("data", "Shared!greeting");
        has("data", "Single!banner");
        match reify {
            ReifyMode::Auto => {
                // An unreified module's state keeps the output's own index spaces.
                has("memory", "Single!arena");
                has("global", "Single!limit");
                has("elem", "Single!handlers_init");
            }
            ReifyMode::All => {
                has("type", "Single:vmctx");
                has_fields("Single:vmctx", &["arena", "handlers_init"]);
            }
        }
    }
}

/// Two core modules named alike (`libc`, as in a component composed of two components that
/// each hold one) get distinct labels, `libc#0` and `libc#1`, so no two of their functions
/// share a name; `--plan` uses the same labels.
#[test]
fn modules_named_alike_get_distinct_labels() {
    let input = component("duplicate-labels.wat");
    for mode in MODES {
        let out = lowered(&input, mode);
        let (funcs, _) = names(&out);
        for name in ["libc#0!get", "libc#1!run"] {
            assert!(
                funcs.iter().any(|f| f == name),
                "{mode:?}: no `{name}` in {funcs:?}"
            );
        }
        assert!(
            !funcs.iter().any(|f| f.starts_with("libc!")),
            "{mode:?}: an ambiguous label in {funcs:?}"
        );
    }
    let plan = gc_lower::plan::plan(&input, ReifyMode::Auto).expect("plans");
    let labels: Vec<&str> = plan.modules.iter().map(|m| m.label.as_str()).collect();
    assert_eq!(labels, ["libc#0", "libc#1"]);
}

/// The text of function `name` in `wasmprinter`'s printing of `module`: from its `(func $name`
/// line to the next function.
fn func_text(module: &[u8], name: &str) -> String {
    let text = wasmprinter::print_bytes(module).expect("output prints");
    let start = text
        .find(&format!("(func ${name} "))
        .unwrap_or_else(|| panic!("no function `{name}` in the output"));
    let end = text[start + 1..]
        .find("(func ")
        .map_or(text.len(), |e| start + 1 + e);
    text[start..end].to_string()
}

#[test]
fn labels_name_the_same_blocks() {
    let input = component("labels.wat");
    for reify in MODES {
        let output = lowered(&input, reify);
        // wasmprinter prints a label's name where its block opens and in each branch that
        // targets it, so a name on the wrong block shows here.
        let sum = func_text(&output, "Twice!sum");
        for expected in [
            "block $done",
            "loop $next",
            "if $odd",
            "block $unused",
            "br_if $done",
            "br $next",
        ] {
            assert!(
                sum.contains(expected),
                "{reify:?}: no `{expected}` in\n{sum}"
            );
        }
        let fill = func_text(&output, "Once!fill");
        for expected in ["block $stop", "loop $again", "br_if $stop", "br $again"] {
            assert!(
                fill.contains(expected),
                "{reify:?}: no `{expected}` in\n{fill}"
            );
        }
    }
}
