//! Host functions through a separate exchange memory, with FACT adapters (ARCHITECTURE.md §5); and
//! every host function that passes resource handles, stream or future ends or error contexts,
//! every `async` callback lift exported
//! (FACT's sync-to-async adapter runs its task until it returns), and every host import
//! lowered `async` (FACT's async-to-sync adapter makes the host's call the subtask's first
//! run: the exchange module calls the host's `async` lowering, and a call that has not
//! returned at once goes on as a task of the scheduler, or is waited for inside the call;
//! where the values do not pass through unchanged, the host's sync lowering is called; with
//! one, every export goes through its entry, which records in `may-block` whether the host's
//! task may block, as wasmtime requires of a wait for the host and of a sync lowering of an
//! `async` host function).
//!
//! The host reads and writes the values of strings, lists and spilled parameters or results in
//! the one linear memory that the output exports as `memory`. When every host function names the
//! same memory, realloc and string encoding, and that memory stays a native linear memory,
//! [`crate::host`] hands that memory to the host directly, with no copy. Otherwise — a module
//! instantiated twice exporting functions over its memory, two components each exporting over
//! their own memory, a reified memory — this phase treats the host as one more component whose
//! memory is a separate *exchange memory*, and lets wasmtime-environ's FACT compile the adapters
//! between the two, exactly as it does between two components:
//!
//! ```text
//! host ──► entry "export{k}" ──► FACT "export{k}" ──► the lifted core function (its own memory)
//!             (enter, return area)   (copies params in, results out, calls post-return)
//! guest ──► entry "import{t}" ──► FACT "import{t}" ──► host import (through `call{i}` when it
//!             (mark … release)       (copies params out, results in)     returns through memory)
//! ```
//!
//! Three generated core modules are added to the translation (before its types are finished:
//! the component is translated once), instantiated after every other instance, in this order:
//!
//! - the *exchange module*: the exchange memory (exported `memory`), a bump `cabi_realloc`,
//!   `mark`/`release` (bump pointer save and restore around an import call), `enter`/`leave`
//!   (export call depth; the bump pointer resets when the outermost export's post-return runs),
//!   `post{k}` (post-return of export `k`), `call{i}` (host import `i` called with a return
//!   area, for imports that return more than one flat value), and for an import lowered
//!   `async`, `acall{i}` (the host's `async` lowering of import `i`, imported as
//!   `[async-lower]name`, called and waited for in `$await` with the `$root` waitable
//!   intrinsics), for a deferred one also `hstart{i}` and `hfinish{i}`; with either, or with
//!   a stream or future bridged to or from the host (`crate::host::HostTransmit`), the
//!   host's pending work: `host-pending`, `host-wait`, `host-cancel` and the entries'
//!   accessors (see `AsyncCall` and `EXCHANGE_AWAIT`); for the bridges, `hs-new`,
//!   `hs-copy`, `hs-cancel`, `hs-drop`, `hs-alloc` and `hs-free` (see `host_transmits_wat`);
//! - the FACT adapter module, one adapter per adapted export and per adapted lowering;
//! - the *entry module*: the functions the host and the guest call.
//!
//! The host side of every adapter is one extra component instance (never entered by guest code)
//! with UTF-8 strings. Functions that pass resource handles are always adapted: the host side's
//! function type is a copy whose handles live in the host's table of each resource (an index past
//! the component's tables), and FACT's transfers into and out of those tables become the guest
//! core ABI's resource intrinsics (see `resources.rs`); error contexts move into and out of the
//! host side's table the same way, made again on the other side from their debug message
//! (`error_context.rs`). Host imports reach the host through an extra `LowerImport` trampoline
//! with the host side's options, so [`crate::host::HostInterface::import_of`] knows it.
//!
//! Known imprecision: the adapter instances are created after every other instance, so a start
//! function that calls an adapted host import during instantiation traps (the adapter's instance
//! does not exist yet); wit-component-made components do not do that.

use anyhow::{Context as _, Result, bail};
use hashbrown::HashMap;
use std::fmt::Write as _;
use wasmtime_environ::component::{
    Adapter, AdapterOptions, CanonicalOptions, CanonicalOptionsDataModel, ComponentTypes, CoreDef,
    CoreExport, DataModel, ExportItem, GlobalInitializer, InstantiateModule, InterfaceType,
    LinearMemoryOptions, OptionsIndex, RuntimeComponentInstanceIndex, RuntimeInstanceIndex,
    RuntimeMemoryIndex, RuntimeReallocIndex, Trampoline, TypeErrorContextTable, TypeFuncIndex,
    TypeFutureTable, TypeResourceTable, TypeResourceTableIndex, TypeStreamTable, TypeTupleIndex,
    dfg,
};
use wasmtime_environ::fact;
use wasmtime_environ::wasmparser::{FuncType, ValType};
use wasmtime_environ::{EntityIndex, IndexType, Limits, Memory, MemoryIndex};

use crate::error::not_yet;
use crate::front::Extension;
use crate::host::{ExchangePlan, HOST_ENCODING, HostInterface, HostLowering, TransmitTable};

/// Why the host functions cannot use the guest's memory in place, so that they go through
/// the exchange memory; see [`exchange_reason`]. Function names are core import or export
/// names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExchangeReason {
    /// This function passes resource handles, stream or future ends or error contexts, which
    /// always go through adapters.
    Handles(String),
    /// The memory this function uses is not a core export (not expected from a validated
    /// component).
    UnresolvedMemory(String),
    /// The memory this function uses belongs to this static module, which is reified.
    ReifiedMemory(String, wasmtime_environ::StaticModuleIndex),
    /// These two functions use different memories.
    SeveralMemories(String, String),
    /// These two functions use different string encodings.
    Encodings(String, String),
    /// These two functions use different realloc functions.
    Reallocs(String, String),
    /// This export is an `async` callback lift: the host's sync call reaches it through
    /// FACT's sync-to-async adapter, which runs the task until it returns.
    AsyncLift(String),
    /// This import is lowered `async`: FACT's async-to-sync adapter calls the host as the
    /// first (and only) run of the subtask (through the host's `async` lowering, waited for,
    /// or its sync one).
    AsyncLower(String),
}

/// Why the host functions of `host` cannot share the guest's memory directly, if they cannot:
/// some passes resource handles or stream or future ends, some export is an `async` callback
/// lift, some import is lowered `async`, they name different
/// memories (resolved to their defining instances), reallocs or string encodings, or that
/// memory's module is reified in `reified`.
/// `None`: the host uses the guest's memory in place (or no value crosses through memory).
pub fn exchange_reason(
    modules: &wasmtime_environ::PrimaryMap<
        wasmtime_environ::StaticModuleIndex,
        wasmtime_environ::ModuleTranslation<'_>,
    >,
    graph: &multi_instance::InstanceGraph,
    host: &HostInterface,
    reified: &wasmtime_environ::SecondaryMap<wasmtime_environ::StaticModuleIndex, bool>,
) -> Option<ExchangeReason> {
    // Handles always go through adapters, even when no value crosses through memory.
    let export = host.exports.iter().find(|e| e.has_handles);
    let import = host
        .imports
        .iter()
        .find(|i| i.has_handles && !i.lowerings.is_empty());
    if let Some(name) = export
        .map(|e| e.name.clone())
        .or_else(|| import.map(|i| i.name.clone()))
    {
        return Some(ExchangeReason::Handles(name));
    }
    if let Some(e) = host.exports.iter().find(|e| e.async_lift) {
        return Some(ExchangeReason::AsyncLift(e.name.clone()));
    }
    if let Some(i) = host
        .imports
        .iter()
        .find(|i| i.lowerings.iter().any(|l| l.async_))
    {
        return Some(ExchangeReason::AsyncLower(i.name.clone()));
    }
    let resolve = |def: &CoreDef| match def {
        CoreDef::Export(e) => graph.resolve(modules, e).ok(),
        _ => None,
    };
    let first = host.memory_users.first()?;
    let Some(memory) = resolve(&first.memory) else {
        return Some(ExchangeReason::UnresolvedMemory(first.name.clone()));
    };
    let module = graph.instances[memory.0].module;
    if reified[module] {
        return Some(ExchangeReason::ReifiedMemory(first.name.clone(), module));
    }
    host.memory_users.iter().find_map(|user| {
        let pair = || (first.name.clone(), user.name.clone());
        if resolve(&user.memory) != Some(memory) {
            let (a, b) = pair();
            Some(ExchangeReason::SeveralMemories(a, b))
        } else if user.encoding != first.encoding {
            let (a, b) = pair();
            Some(ExchangeReason::Encodings(a, b))
        } else if user.realloc.as_ref().map(resolve) != first.realloc.as_ref().map(resolve) {
            let (a, b) = pair();
            Some(ExchangeReason::Reallocs(a, b))
        } else {
            None
        }
    })
}

/// Adds the exchange module, the FACT adapters and the entry module for every host function
/// of `host` that passes values through memory or passes resource handles (see the module
/// docs). `host` is the host interface of `ext`'s translation as the translator left it, and
/// `graph` its instance graph, which gains the three added instances. Add the returned plan to
/// the host interface with [`HostInterface::adapt`].
///
/// Errors: internal errors only (FACT imports this phase does not expect).
pub fn add_host_adapters(
    ext: &mut Extension<'_, '_>,
    host: &HostInterface,
    graph: &mut multi_instance::InstanceGraph,
) -> Result<ExchangePlan> {
    let component = &mut ext.translation.component;
    let host_instance =
        RuntimeComponentInstanceIndex::from_u32(component.num_runtime_component_instances);
    component.num_runtime_component_instances += 1;
    // The three added instances, in order.
    let exchange = RuntimeInstanceIndex::from_u32(component.num_runtime_instances);
    let fact_instance = RuntimeInstanceIndex::from_u32(exchange.as_u32() + 1);
    let entry = RuntimeInstanceIndex::from_u32(exchange.as_u32() + 2);

    // The exchange memory and realloc as runtime items, and the host side's options.
    let memory_index = RuntimeMemoryIndex::from_u32(component.num_runtime_memories);
    component.num_runtime_memories += 1;
    component
        .initializers
        .push(GlobalInitializer::ExtractMemory(
            wasmtime_environ::component::ExtractMemory {
                index: memory_index,
                export: export_of(exchange, "memory"),
            },
        ));
    let memory = CoreDef::Export(export_of(exchange, "memory"));
    let realloc_index = RuntimeReallocIndex::from_u32(component.num_runtime_reallocs);
    component.num_runtime_reallocs += 1;
    let realloc = func_export(exchange, "cabi_realloc");
    // Extracted once the exchange module is instantiated.
    let extract_realloc =
        GlobalInitializer::ExtractRealloc(wasmtime_environ::component::ExtractRealloc {
            index: realloc_index,
            def: realloc.clone(),
        });

    // Every adapted function's options: the guest side's comes from the component, the host
    // side's is new.
    // With an async lowering of a host import, every export goes through its entry, which
    // records whether the host's task may block: wasmtime checks that for a sync lowering of
    // an `async` host function, and only an `async` function may be lowered async (the
    // validator's rule).
    let types = crate::front::component_types(ext.types);
    let async_lowers = host
        .imports
        .iter()
        .any(|i| i.lowerings.iter().any(|l| l.async_));
    let adapted_exports: Vec<usize> = (0..host.exports.len())
        .filter(|&k| {
            let e = &host.exports[k];
            e.uses_memory || e.has_handles || e.async_lift || async_lowers
        })
        .collect();
    let adapted_imports: Vec<usize> = (0..host.imports.len())
        .filter(|&i| {
            let import = &host.imports[i];
            (import.uses_memory || import.has_handles || import.lowerings.iter().any(|l| l.async_))
                && !import.lowerings.is_empty()
        })
        .collect();
    // What the adapters read of the component's own types, read before FACT borrows the
    // types builder: each adapted export's lowered core type and the canonical ABI of its
    // results, and those of each adapted import.
    let results_abi = |ty: TypeFuncIndex| types[types[ty].results].abi.clone();
    let export_lowered = adapted_exports
        .iter()
        .map(|&k| crate::host::lowered_core_type(types, host.exports[k].component_ty))
        .collect::<Result<Vec<_>>>()?;
    let export_results = adapted_exports
        .iter()
        .map(|&k| results_abi(host.exports[k].component_ty))
        .collect::<Vec<_>>();
    // Whether each adapted export's type is `async` (the host's task may block).
    let export_async = adapted_exports
        .iter()
        .map(|&k| types[host.exports[k].component_ty].async_)
        .collect::<Vec<_>>();
    // The guest side's core type of each adapted import's async lowerings.
    let import_async_tys = adapted_imports
        .iter()
        .map(|&i| {
            let import = &host.imports[i];
            import
                .lowerings
                .iter()
                .any(|l| l.async_)
                .then(|| crate::host::async_lowered_core_type(types, import.component_ty))
                .transpose()
        })
        .collect::<Result<Vec<_>>>()?;
    let import_results = adapted_imports
        .iter()
        .map(|&i| results_abi(host.imports[i].component_ty))
        .collect::<Vec<_>>();
    // How each adapted import lowered `async` calls the host's `async` lowering, where the
    // exchange module can pass its values through.
    let import_async_calls = adapted_imports
        .iter()
        .map(|&i| async_call(types, &host.imports[i]))
        .collect::<Result<Vec<_>>>()?;
    // The host side's function types: resource handles in the host's tables.
    let mut host_ty = |ty, import| {
        HostTypes {
            host,
            builder: &mut *ext.types,
            import,
            instance: host_instance,
        }
        .func(ty)
    };
    let export_host_tys = adapted_exports
        .iter()
        .map(|&k| host_ty(host.exports[k].component_ty, false))
        .collect::<Result<Vec<_>>>()?;
    let import_host_tys = adapted_imports
        .iter()
        .map(|&i| host_ty(host.imports[i].component_ty, true))
        .collect::<Result<Vec<_>>>()?;
    let component = &mut ext.translation.component;
    // `core_type` of the host side's `CanonicalOptions` and of added trampolines is not read
    // by gc-lower; FACT reads the adapters' core types, interned below.
    let Some(core_type) = adapted_exports
        .iter()
        .map(|&k| host.exports[k].options)
        .chain(
            adapted_imports
                .iter()
                .map(|&i| host.imports[i].lowerings[0].options),
        )
        .map(|o| component.options[o].core_type)
        .next()
    else {
        bail!("internal error: no host function to adapt");
    };
    let host_options: OptionsIndex = component.options.push(CanonicalOptions {
        instance: host_instance,
        string_encoding: HOST_ENCODING,
        callback: None,
        post_return: None,
        async_: false,
        cancellable: false,
        core_type,
        data_model: CanonicalOptionsDataModel::LinearMemory(LinearMemoryOptions {
            memory: Some(memory_index),
            realloc: Some(realloc_index),
        }),
    });
    let exchange_memory_ty = Memory {
        idx_type: IndexType::I32,
        limits: Limits { min: 1, max: None },
        shared: false,
        page_size_log2: 16,
    };
    let host_realloc = to_dfg(&realloc)?;
    let host_side = |core_type| AdapterOptions {
        instance: host_instance,
        ancestors: Vec::new(),
        string_encoding: HOST_ENCODING,
        callback: None,
        post_return: None,
        async_: false,
        cancellable: false,
        core_type,
        data_model: DataModel::LinearMemory {
            memory: Some((
                to_dfg_export(&export_of::<MemoryIndex>(exchange, "memory")),
                exchange_memory_ty,
            )),
            realloc: Some(host_realloc.clone()),
        },
    };

    // The host-side lowerings of adapted imports.
    let mut plan = ExchangePlan {
        exchange,
        host_instance,
        memory: memory.clone(),
        realloc: realloc.clone(),
        host_lowerings: Vec::new(),
        lowerings: HashMap::new(),
        exports: HashMap::new(),
        host_transfers: Vec::new(),
        async_lowerings: Vec::new(),
        wait_trampolines: Vec::new(),
        host_transmits: Vec::new(),
    };
    let mut exchange_imports = Vec::new(); // (wat import, arg)
    // With error contexts at the boundary, the host side's `error-context.drop` settles what
    // was lent to the host once its call is over (`crate::error_context`).
    let settle = if host.error_context_imports {
        let ty = ext
            .types
            .add_error_context_table_type(TypeErrorContextTable {
                instance: host_instance,
            });
        let t = ext
            .translation
            .trampolines
            .push(Trampoline::ErrorContextDrop {
                instance: host_instance,
                ty,
            });
        ext.translation.component.trampolines.push(core_type);
        Some(t)
    } else {
        None
    };
    let component = &mut ext.translation.component;
    let mut exchange_funcs = String::new();
    if let Some(t) = settle {
        exchange_imports.push((
            "(import \"host\" \"settle\" (func $settle (param i32)))\n".to_string(),
            t,
        ));
        exchange_funcs.push_str(EXCHANGE_LENT);
    }
    // The stream and future types whose readable ends cross the boundary in host imports'
    // types, to be bridged (`crate::transmit`): those the guest passes to the host
    // (parameters) and those the host passes in (results), each with the first import and
    // the position among its ends where it appears. Read before FACT borrows the types.
    let types = crate::front::component_types(ext.types);
    let mut places: Vec<(TransmitTable, bool, usize, u32)> = Vec::new();
    for (&i, &host_ty) in adapted_imports.iter().zip(&import_host_tys) {
        for (table, n, from_host) in host_transmit_places(types, host_ty) {
            if !places.iter().any(|p| p.0 == table && p.1 == from_host) {
                places.push((table, from_host, i, n));
            }
        }
    }
    // The host side's options of the host's `async` lowerings and intrinsics (made with the
    // first that needs them), and the size of a deferred call's results block
    // (`EXCHANGE_AWAIT`'s `area-alloc`).
    let mut host_async_options = None;
    let mut async_options = |component: &mut wasmtime_environ::component::Component| {
        *host_async_options.get_or_insert_with(|| {
            let mut options = component.options[host_options].clone();
            options.async_ = true;
            component.options.push(options)
        })
    };
    let mut area_size = 8;
    for (((&i, &host_ty), results), async_call) in adapted_imports
        .iter()
        .zip(&import_host_tys)
        .zip(&import_results)
        .zip(&import_async_calls)
    {
        let import = &host.imports[i];
        let lowered = import.lowerings[0].lowered;
        let trampoline = ext.translation.trampolines.push(Trampoline::LowerImport {
            index: lowered,
            lower_ty: host_ty,
            options: host_options,
        });
        component.trampolines.push(core_type);
        if let Some(call) = async_call {
            // The guest's `async` lowerings call the host's `async` lowering
            // (`acall{i}`), so that a host function that returns at once never blocks.
            let options = async_options(component);
            let t = ext.translation.trampolines.push(Trampoline::LowerImport {
                index: lowered,
                lower_ty: host_ty,
                options,
            });
            component.trampolines.push(core_type);
            plan.async_lowerings.push(crate::host::AsyncHostLowering {
                import: i,
                name: format!("[async-lower]{}", import.name),
                ty: call.ty.clone(),
                trampoline: t,
                deferred: call.deferred,
            });
            exchange_imports.push((
                format!(
                    "(import \"host\" \"async{i}\" (func $async{i} {}))\n",
                    sig(call.ty.params(), call.ty.results())
                ),
                t,
            ));
            exchange_funcs.push_str(&call.wat(i, results)?);
            if call.deferred {
                area_size = area_size.max(results.size32.next_multiple_of(8));
            }
        }
        plan.host_lowerings.push((
            i,
            HostLowering {
                trampoline,
                lowered,
                options: host_options,
                async_: false,
            },
        ));
        if import.return_area {
            // The host returns through a return area: `call{i}` allocates it and returns it.
            let params = import.ty.params();
            let args = &params[..params.len() - 1];
            exchange_imports.push((
                format!(
                    "(import \"host\" \"f{i}\" (func $host{i} {}))\n",
                    sig(params, &[])
                ),
                trampoline,
            ));
            writeln!(
                exchange_funcs,
                "(func (export \"call{i}\") {} (local $area i32)\n  \
                 (local.set $area (call $cabi_realloc (i32.const 0) (i32.const 0) \
                 (i32.const {}) (i32.const {})))\n  \
                 (call $host{i} {} (local.get $area)) (local.get $area))",
                sig(args, &[ValType::I32]),
                results.align32,
                results.size32,
                local_gets(args.len()),
            )?;
        }
    }
    // The host's subtasks (calls that go on) and copies (of bridged ends) are waited for with
    // the host's waitable intrinsics, also when the guest lowers every host import sync.
    let host_waits = !plan.async_lowerings.is_empty() || !places.is_empty();
    if host_waits {
        // The waitable intrinsics with which `$await` waits for a host subtask.
        let waits = [
            Trampoline::WaitableSetNew {
                instance: host_instance,
            },
            Trampoline::WaitableJoin {
                instance: host_instance,
            },
            Trampoline::WaitableSetWait {
                instance: host_instance,
                options: host_options,
            },
            Trampoline::SubtaskDrop {
                instance: host_instance,
            },
            Trampoline::WaitableSetPoll {
                instance: host_instance,
                options: host_options,
            },
            Trampoline::ThreadYield {
                instance: host_instance,
                cancellable: false,
            },
            Trampoline::SubtaskCancel {
                instance: host_instance,
                async_: false,
            },
        ];
        for (wait, intrinsic) in waits.into_iter().zip(crate::host::WaitIntrinsic::ALL) {
            let t = ext.translation.trampolines.push(wait);
            ext.translation.component.trampolines.push(core_type);
            plan.wait_trampolines.push(t);
            let ty = intrinsic.ty();
            let name = intrinsic.name().trim_matches(|c| c == '[' || c == ']');
            exchange_imports.push((
                format!(
                    "(import \"host\" \"{name}\" (func ${name} {}))\n",
                    sig(ty.params(), ty.results())
                ),
                t,
            ));
        }
        exchange_funcs.push_str(
            &EXCHANGE_AWAIT.replace("(i32.const AREA)", &format!("(i32.const {area_size})")),
        );
        // The bridged types, with the intrinsics the exchange module calls for them.
        let options = async_options(&mut ext.translation.component);
        for (k, (table, from_host, i, n)) in places.into_iter().enumerate() {
            let import = &host.imports[i];
            let mut transmit = crate::host::HostTransmit {
                table,
                module: import.module.clone(),
                func: import.name.clone(),
                index: n,
                from_host,
                options,
                trampolines: Vec::new(),
            };
            for &intrinsic in transmit.intrinsics() {
                let t = transmit_trampoline(host_instance, table, intrinsic, options);
                let t = ext.translation.trampolines.push(t);
                ext.translation.component.trampolines.push(core_type);
                transmit.trampolines.push(t);
                let ty = transmit.intrinsic_ty(intrinsic);
                exchange_imports.push((
                    format!(
                        "(import \"host\" \"{op}{k}\" (func ${op}{k} {}))\n",
                        sig(ty.params(), ty.results()),
                        op = intrinsic.op(),
                    ),
                    t,
                ));
            }
            plan.host_transmits.push(transmit);
        }
        if !plan.host_transmits.is_empty() {
            exchange_funcs.push_str(&host_transmits_wat(&plan.host_transmits));
        }
    }
    for &k in &adapted_exports {
        let export = &host.exports[k];
        writeln!(
            exchange_funcs,
            "(func (export \"post{k}\") {} (call $leave))",
            sig(export.ty.results(), &[])
        )?;
    }

    // The exchange module; its types section starts with the host side's core type of every
    // adapter (the lowered type of each export, the lifted type of each import), which
    // translating it interns for FACT.
    let mut wat = String::from("(module\n");
    for lowered in &export_lowered {
        writeln!(
            wat,
            "(type (func {}))",
            sig(lowered.params(), lowered.results())
        )?;
    }
    for &i in &adapted_imports {
        let import = &host.imports[i];
        let lifted = if import.return_area {
            let params = import.ty.params();
            sig(&params[..params.len() - 1], &[ValType::I32])
        } else {
            sig(import.ty.params(), import.ty.results())
        };
        writeln!(wat, "(type (func {lifted}))")?;
    }
    for (line, _) in &exchange_imports {
        wat.push_str(line);
    }
    let mut runtime = EXCHANGE_RUNTIME.replace(
        ";; SETTLE",
        if settle.is_some() {
            "(if (i32.eqz (global.get $depth)) (then (call $settle (i32.const 0))))"
        } else {
            ""
        },
    );
    if host_waits {
        // The host calls' entries and results stay below `$floor` (`EXCHANGE_AWAIT`).
        runtime = runtime
            .replace(
                EXCHANGE_RELEASE,
                "(func (export \"release\") (param i32) (global.set $bump (select (local.get 0) \
                 (global.get $floor) (i32.gt_u (local.get 0) (global.get $floor)))))",
            )
            .replace(EXCHANGE_RESET, "(global.set $bump (global.get $floor))");
    }
    wat.push_str(&runtime);
    wat.push_str(&exchange_funcs);
    wat.push_str(")\n");
    let exchange_args = exchange_imports
        .iter()
        .map(|(_, t)| CoreDef::Trampoline(*t))
        .collect();
    let pushed = instantiate(ext, graph, &wat, exchange_args, host_instance)?;
    debug_assert_eq!(pushed, exchange);
    let exchange_module = ext.modules.last().expect("just added").1;
    let host_core_types: Vec<_> = exchange_module
        .module
        .types
        .values()
        .take(adapted_exports.len() + adapted_imports.len())
        .map(|t| t.unwrap_module_type_index())
        .collect();
    let (export_core_types, import_core_types) = host_core_types.split_at(adapted_exports.len());
    ext.translation.component.initializers.push(extract_realloc);

    // The FACT adapters.
    let component = &ext.translation.component;
    // Each extracted callback, by what it extracts: an async lift's adapter names its
    // callback, and FACT's start-call import names it again.
    let callbacks: HashMap<CoreDef, wasmtime_environ::component::RuntimeCallbackIndex> = component
        .initializers
        .iter()
        .filter_map(|init| match init {
            GlobalInitializer::ExtractCallback(c) => Some((c.def.clone(), c.index)),
            _ => None,
        })
        .collect();
    let guest_side = |options: OptionsIndex, post_return: Option<&CoreDef>| -> Result<_> {
        let opts = &component.options[options];
        // An async callback lift's callback, as FACT names it.
        let callback = match opts.callback {
            None => None,
            Some(index) => {
                let def = callbacks
                    .iter()
                    .find(|(_, i)| **i == index)
                    .map(|(def, _)| def)
                    .context("internal error: a callback that is never extracted")?;
                Some(to_dfg(def)?)
            }
        };
        let CanonicalOptionsDataModel::LinearMemory(linear) = opts.data_model else {
            bail!("internal error: the GC data model at the host boundary");
        };
        let memory = match linear.memory {
            None => None,
            Some(m) => {
                let CoreDef::Export(e) = crate::host::memory_def(component, m)? else {
                    bail!("internal error: a memory that is not an export");
                };
                let (instance, index) = graph.resolve(ext.modules, &e)?;
                let EntityIndex::Memory(index) = index else {
                    bail!("internal error: memory option names no memory");
                };
                let module = &ext.modules[graph.instances[instance].module].module;
                let ty = module.memories[index];
                let e = e.map_index(|i| match i {
                    EntityIndex::Memory(m) => m,
                    _ => MemoryIndex::from_u32(0),
                });
                Some((to_dfg_export(&e), ty))
            }
        };
        let realloc = match linear.realloc {
            None => None,
            Some(r) => Some(to_dfg(&crate::host::realloc_def(component, r)?)?),
        };
        Ok(AdapterOptions {
            instance: opts.instance,
            ancestors: Vec::new(),
            string_encoding: opts.string_encoding,
            callback,
            post_return: post_return.map(to_dfg).transpose()?,
            async_: opts.async_,
            cancellable: false,
            core_type: opts.core_type,
            data_model: DataModel::LinearMemory { memory, realloc },
        })
    };
    let mut fact_module =
        fact::Module::new(ext.types, ext.tunables, crate::front::input_features());
    let mut entry_imports = String::new();
    let mut entry_funcs = String::new();
    for (((((&k, &core_type), &host_ty), lowered), results), &async_) in adapted_exports
        .iter()
        .zip(export_core_types)
        .zip(&export_host_tys)
        .zip(&export_lowered)
        .zip(&export_results)
        .zip(&export_async)
    {
        let export = &host.exports[k];
        let may_block = i32::from(async_);
        let name = format!("export{k}");
        fact_module.adapt(
            &name,
            &Adapter {
                lift_ty: export.component_ty,
                lift_options: guest_side(export.options, export.post_return.as_ref())?,
                lower_ty: host_ty,
                lower_options: host_side(core_type),
                func: to_dfg(&export.func)?,
            },
        );
        writeln!(
            entry_imports,
            "(import \"fact\" \"{name}\" (func ${name} {}))",
            sig(lowered.params(), lowered.results())
        )?;
        let args = local_gets(export.ty.params().len());
        if lowered.params().len() > export.ty.params().len() {
            // More than one flat result: the host gets a return area in the exchange memory.
            writeln!(
                entry_funcs,
                "(func (export \"{name}\") {} (local $area i32) (call $enter (i32.const {may_block}))\n  \
                 (local.set $area (call $cabi_realloc (i32.const 0) (i32.const 0) (i32.const {}) \
                 (i32.const {})))\n  (call ${name} {args} (local.get $area)) (local.get $area))",
                sig(export.ty.params(), export.ty.results()),
                results.align32,
                results.size32,
            )?;
        } else {
            writeln!(
                entry_funcs,
                "(func (export \"{name}\") {} (call $enter (i32.const {may_block})) (call ${name} {args}))",
                sig(export.ty.params(), export.ty.results()),
            )?;
        }
    }
    for ((((&i, &(_, host_lowering)), &core_type), &host_ty), async_ty) in adapted_imports
        .iter()
        .zip(&plan.host_lowerings)
        .zip(import_core_types)
        .zip(&import_host_tys)
        .zip(&import_async_tys)
    {
        let import = &host.imports[i];
        let sync_callee = if import.return_area {
            func_export(exchange, &format!("call{i}"))
        } else {
            CoreDef::Trampoline(host_lowering.trampoline)
        };
        // The host's `async` lowering through `acall{i}`, if the exchange module calls it.
        let async_callee = plan
            .async_lowerings
            .iter()
            .any(|l| l.import == i)
            .then(|| func_export(exchange, &format!("acall{i}")));
        for lowering in &import.lowerings {
            let name = format!("import{}", lowering.trampoline.as_u32());
            let callee = match &async_callee {
                Some(callee) if lowering.async_ => callee,
                _ => &sync_callee,
            };
            fact_module.adapt(
                &name,
                &Adapter {
                    lift_ty: host_ty,
                    lift_options: host_side(core_type),
                    lower_ty: match ext.translation.trampolines[lowering.trampoline] {
                        Trampoline::LowerImport { lower_ty, .. } => lower_ty,
                        _ => bail!("internal error: a host lowering that is not `LowerImport`"),
                    },
                    lower_options: guest_side(lowering.options, None)?,
                    func: to_dfg(callee)?,
                },
            );
            // An async lowering's core type is not the sync one the host side has.
            let guest_ty = if lowering.async_ {
                async_ty
                    .clone()
                    .context("internal error: an async lowering without its core type")?
            } else {
                import.ty.clone()
            };
            let ty = sig(guest_ty.params(), guest_ty.results());
            let args = local_gets(guest_ty.params().len());
            writeln!(
                entry_imports,
                "(import \"fact\" \"{name}\" (func ${name} {ty}))"
            )?;
            // The exchange memory's allocations of this call end with it: an async lowering's
            // callee is the host's sync lowering, or its async one waited for, which returns
            // before its first run ends. A sync lowering of the host's `async` function
            // blocks, which only a task that may block may do; an async one blocks (in
            // `$await`) only when the host's function has not returned at once.
            let check = if lowering.async_ && async_callee.is_none() {
                "(if (i32.eqz (call $may-block))\n    \
                 (then (call $gc-lower:trap:unsupported-async-lower-of-the-host-in-a-sync-task)))\n  "
            } else {
                ""
            };
            // What was lent to the host for this call is settled once it returns.
            let (lent_local, lent, release) = if settle.is_some() {
                (
                    "(local $lent i32) ",
                    "(local.set $lent (call $lent))\n  ",
                    "(call $release (local.get $m)) (call $settle (local.get $lent))",
                )
            } else {
                ("", "", "(call $release (local.get $m))")
            };
            let body = match guest_ty.results() {
                [] => format!("(call ${name} {args}) {release}"),
                [_] => format!(
                    "(local.set $r (call ${name} {args}))\n  \
                     {release} (local.get $r)"
                ),
                _ => bail!("internal error: a lowered import with several results"),
            };
            let result_local = match guest_ty.results() {
                [r] => format!("(local $r {r})"),
                _ => String::new(),
            };
            writeln!(
                entry_funcs,
                "(func (export \"{name}\") {ty} (local $m i32) {lent_local}{result_local}\n  \
                 {check}{lent}(local.set $m (call $mark))\n  {body})"
            )?;
            plan.lowerings
                .insert(lowering.trampoline, func_export(entry, &name));
        }
    }
    let fact_bytes = fact_module.encode();
    let mut fact_args = Vec::new();
    let mut memories: HashMap<CoreDef, RuntimeMemoryIndex> = HashMap::new();
    for init in &ext.translation.component.initializers {
        if let GlobalInitializer::ExtractMemory(m) = init {
            memories.insert(
                CoreDef::Export(m.export.clone().map_index(EntityIndex::Memory)),
                m.index,
            );
        }
    }
    // The runtime memory and callback that a FACT import names (a transcoder's memories, an
    // async lift's memory and callback).
    let memory_of = |def: &dfg::CoreDef| -> Result<RuntimeMemoryIndex> {
        memories
            .get(&from_dfg(def)?)
            .copied()
            .context("internal error: a memory that FACT names is never extracted")
    };
    let callback_of = |def: &dfg::CoreDef| -> Result<_> {
        callbacks
            .get(&from_dfg(def)?)
            .copied()
            .context("internal error: an async lift's callback is never extracted")
    };
    for import in fact_module.imports() {
        let def = match import {
            fact::Import::CoreDef(def) => from_dfg(def)?,
            fact::Import::Transcode {
                op,
                from,
                from64,
                to,
                to64,
            } => {
                let t = ext.translation.trampolines.push(Trampoline::Transcoder {
                    op: *op,
                    from: memory_of(from)?,
                    from64: *from64,
                    to: memory_of(to)?,
                    to64: *to64,
                });
                ext.translation.component.trampolines.push(core_type);
                CoreDef::Trampoline(t)
            }
            fact::Import::Trap => trampoline(ext.translation, Trampoline::Trap, core_type),
            fact::Import::ResourceTransferOwn | fact::Import::ResourceTransferBorrow => {
                let t = match import {
                    fact::Import::ResourceTransferOwn => Trampoline::ResourceTransferOwn,
                    _ => Trampoline::ResourceTransferBorrow,
                };
                let def = trampoline(ext.translation, t, core_type);
                if let CoreDef::Trampoline(t) = def {
                    plan.host_transfers.push(t);
                }
                def
            }
            fact::Import::EnterSyncCall => {
                trampoline(ext.translation, Trampoline::EnterSyncCall, core_type)
            }
            fact::Import::ExitSyncCall => {
                trampoline(ext.translation, Trampoline::ExitSyncCall, core_type)
            }
            // The context slots, saved and cleared around realloc with the async ABI.
            fact::Import::UnsafeIntrinsic(intrinsic) => CoreDef::UnsafeIntrinsic(*intrinsic),
            // A sync call of an async callback lift: the call's setup and its run.
            fact::Import::PrepareCall { memory } => {
                let memory = memory.as_ref().map(memory_of).transpose()?;
                trampoline(
                    ext.translation,
                    Trampoline::PrepareCall { memory },
                    core_type,
                )
            }
            fact::Import::SyncStartCall { callback } => {
                let callback = callback.as_ref().map(callback_of).transpose()?;
                trampoline(
                    ext.translation,
                    Trampoline::SyncStartCall { callback },
                    core_type,
                )
            }
            // An async lowering of a host import: the subtask's start.
            fact::Import::AsyncStartCall {
                callback,
                post_return,
            } => {
                let callback = callback.as_ref().map(callback_of).transpose()?;
                if post_return.is_some() {
                    bail!("internal error: a host lowering's callee with a post-return");
                }
                trampoline(
                    ext.translation,
                    Trampoline::AsyncStartCall {
                        callback,
                        post_return: None,
                    },
                    core_type,
                )
            }
            // A stream or future end crossing the host boundary: lifted from the guest's table
            // with wasmtime's checks, then a limit of the lowering (`crate::transmit`).
            fact::Import::FutureTransfer => {
                trampoline(ext.translation, Trampoline::FutureTransfer, core_type)
            }
            fact::Import::StreamTransfer => {
                trampoline(ext.translation, Trampoline::StreamTransfer, core_type)
            }
            // An error context crossing the host boundary: made again on the other side
            // from its debug message (`crate::error_context`).
            fact::Import::ErrorContextTransfer => {
                let def = trampoline(ext.translation, Trampoline::ErrorContextTransfer, core_type);
                if let CoreDef::Trampoline(t) = def {
                    plan.host_transfers.push(t);
                }
                def
            }
        };
        fact_args.push(def);
    }
    drop(fact_module);
    let pushed = instantiate_bytes(ext, graph, fact_bytes, fact_args, host_instance)?;
    debug_assert_eq!(pushed, fact_instance);

    // The entry module.
    let mut wat = String::from("(module\n");
    wat.push_str(ENTRY_IMPORTS);
    wat.push_str(&entry_imports);
    if settle.is_some() {
        wat.push_str("(import \"exchange\" \"lent\" (func $lent (result i32)))\n");
        wat.push_str("(import \"settle\" \"settle\" (func $settle (param i32)))\n");
    }
    wat.push_str(ENTRY_LIMIT);
    wat.push_str(&entry_funcs);
    wat.push_str(")\n");
    let mut entry_args: Vec<CoreDef> = ["cabi_realloc", "mark", "release", "enter", "may-block"]
        .iter()
        .map(|name| func_export(exchange, name))
        .collect();
    for &k in &adapted_exports {
        entry_args.push(func_export(fact_instance, &format!("export{k}")));
    }
    for &i in &adapted_imports {
        for lowering in &host.imports[i].lowerings {
            entry_args.push(func_export(
                fact_instance,
                &format!("import{}", lowering.trampoline.as_u32()),
            ));
        }
    }
    if let Some(t) = settle {
        entry_args.push(func_export(exchange, "lent"));
        entry_args.push(CoreDef::Trampoline(t));
    }
    let pushed = instantiate(ext, graph, &wat, entry_args, host_instance)?;
    debug_assert_eq!(pushed, entry);
    for &k in &adapted_exports {
        plan.exports.insert(
            k,
            (
                func_export(entry, &format!("export{k}")),
                func_export(exchange, &format!("post{k}")),
            ),
        );
    }
    Ok(plan)
}

/// Adds trampoline `t` (see `add_host_adapters` on `core_type`).
fn trampoline(
    translation: &mut wasmtime_environ::component::ComponentTranslation,
    t: Trampoline,
    core_type: wasmtime_environ::ModuleInternedTypeIndex,
) -> CoreDef {
    let t = translation.trampolines.push(t);
    translation.component.trampolines.push(core_type);
    CoreDef::Trampoline(t)
}

/// Copies component types for the host side of host adapters: every resource handle is in
/// the host's table of its resource ([`crate::host::HostResource::host_table`]). The copies
/// are added to the builder they are read from.
struct HostTypes<'a> {
    host: &'a HostInterface,
    builder: &'a mut wasmtime_environ::component::ComponentTypesBuilder,
    /// Copying a host import's type: a borrow of an exported resource cannot be passed.
    import: bool,
    /// The host side's component instance, whose stream and future tables the copies name.
    instance: RuntimeComponentInstanceIndex,
}

impl HostTypes<'_> {
    /// The component types read so far (the copies are added to the same builder).
    fn types(&mut self) -> &ComponentTypes {
        crate::front::component_types(self.builder)
    }

    fn func(&mut self, ty: TypeFuncIndex) -> Result<TypeFuncIndex> {
        let mut func = self.types()[ty].clone();
        func.params = self.tuple(func.params)?;
        func.results = self.tuple(func.results)?;
        Ok(self.builder.add_func_type(func))
    }

    fn tuple(&mut self, i: TypeTupleIndex) -> Result<TypeTupleIndex> {
        let mut tuple = self.types()[i].clone();
        for ty in tuple.types.iter_mut() {
            *ty = self.ty(ty)?;
        }
        Ok(self.builder.add_tuple_type(tuple))
    }

    fn ty(&mut self, ty: &InterfaceType) -> Result<InterfaceType> {
        Ok(match *ty {
            InterfaceType::Own(t) => InterfaceType::Own(self.table(t, false)?),
            InterfaceType::Borrow(t) => InterfaceType::Borrow(self.table(t, true)?),
            InterfaceType::Record(i) => {
                let mut record = self.types()[i].clone();
                for field in record.fields.iter_mut() {
                    field.ty = self.ty(&field.ty)?;
                }
                InterfaceType::Record(self.builder.add_record_type(record))
            }
            InterfaceType::Tuple(i) => InterfaceType::Tuple(self.tuple(i)?),
            InterfaceType::Variant(i) => {
                let mut variant = self.types()[i].clone();
                for case in variant.cases.values_mut().flatten() {
                    *case = self.ty(case)?;
                }
                InterfaceType::Variant(self.builder.add_variant_type(variant))
            }
            InterfaceType::Option(i) => {
                let mut option = self.types()[i].clone();
                option.ty = self.ty(&option.ty)?;
                InterfaceType::Option(self.builder.add_option_type(option))
            }
            InterfaceType::Result(i) => {
                let mut result = self.types()[i].clone();
                if let Some(ok) = &mut result.ok {
                    *ok = self.ty(ok)?;
                }
                if let Some(err) = &mut result.err {
                    *err = self.ty(err)?;
                }
                InterfaceType::Result(self.builder.add_result_type(result))
            }
            InterfaceType::List(i) => {
                let mut list = self.types()[i].clone();
                list.element = self.ty(&list.element)?;
                InterfaceType::List(self.builder.add_list_type(list))
            }
            InterfaceType::Map(i) => {
                let mut map = self.types()[i].clone();
                map.key = self.ty(&map.key)?;
                map.value = self.ty(&map.value)?;
                InterfaceType::Map(self.builder.add_map_type(map))
            }
            InterfaceType::FixedLengthList(i) => {
                let mut list = self.types()[i].clone();
                list.element = self.ty(&list.element)?;
                InterfaceType::FixedLengthList(self.builder.add_fixed_length_list_type(list))
            }
            // Stream and future ends are in the host side's tables, so that FACT's transfer
            // says which way an end crosses.
            InterfaceType::Future(t) => {
                let ty = self.types()[t].ty;
                InterfaceType::Future(self.builder.add_future_table_type(TypeFutureTable {
                    ty,
                    instance: self.instance,
                }))
            }
            InterfaceType::Stream(t) => {
                let ty = self.types()[t].ty;
                InterfaceType::Stream(self.builder.add_stream_table_type(TypeStreamTable {
                    ty,
                    instance: self.instance,
                }))
            }
            // Error contexts too: FACT's transfer into or out of the host side's table is
            // where an error context becomes the host's or one of the output's.
            InterfaceType::ErrorContext(_) => InterfaceType::ErrorContext(
                self.builder
                    .add_error_context_table_type(TypeErrorContextTable {
                        instance: self.instance,
                    }),
            ),
            other => other,
        })
    }

    fn table(&mut self, t: TypeResourceTableIndex, borrow: bool) -> Result<TypeResourceTableIndex> {
        let TypeResourceTable::Concrete { ty: resource, .. } = self.types()[t] else {
            bail!("internal error: a handle of an abstract resource type at the host boundary");
        };
        let Some(k) = self.host.host_resource(resource) else {
            return Err(not_yet(
                "handles at the host boundary of a resource type that the world does not name",
            ));
        };
        let resource = &self.host.resources[k];
        if borrow && self.import && resource.exported {
            return Err(not_yet(format!(
                "borrows of resource `{}`, which the component exports, passed to a host import",
                resource.name
            )));
        }
        Ok(resource.host_table)
    }
}

/// The exchange module's fixed part: memory, bump allocator, marks and call depth.
const EXCHANGE_RUNTIME: &str = r#"
  (memory (export "memory") 1)
  ;; The bump pointer (bytes); 0 is never handed out.
  (global $bump (mut i32) (i32.const 8))
  ;; How many host calls of adapted exports are running.
  (global $depth (mut i32) (i32.const 0))
  ;; Canonical ABI `realloc` over a bump allocator: grows the memory as needed, never frees
  ;; (`release` and `leave` do); traps when the memory cannot grow.
  (func $cabi_realloc (export "cabi_realloc")
    (param $old i32) (param $old_size i32) (param $align i32) (param $new_size i32) (result i32)
    (local $p i32) (local $end i64)
    (if (i32.and (i32.ne (local.get $old) (i32.const 0))
                 (i32.le_u (local.get $new_size) (local.get $old_size)))
      (then (return (local.get $old))))
    (local.set $p (i32.and
      (i32.add (global.get $bump) (i32.sub (local.get $align) (i32.const 1)))
      (i32.sub (i32.const 0) (local.get $align))))
    (local.set $end (i64.add (i64.extend_i32_u (local.get $p))
                             (i64.extend_i32_u (local.get $new_size))))
    (if (i64.gt_u (local.get $end) (i64.shl (i64.extend_i32_u (memory.size)) (i64.const 16)))
      (then
        (if (i32.eq (memory.grow (i32.wrap_i64 (i64.shr_u
              (i64.sub (i64.add (local.get $end) (i64.const 0xffff))
                       (i64.shl (i64.extend_i32_u (memory.size)) (i64.const 16)))
              (i64.const 16))))
            (i32.const -1))
          (then unreachable))))
    (if (i32.ne (local.get $old) (i32.const 0))
      (then (memory.copy (local.get $p) (local.get $old) (local.get $old_size))))
    (global.set $bump (i32.wrap_i64 (local.get $end)))
    (local.get $p))
  (func (export "mark") (result i32) (global.get $bump))
  (func (export "release") (param i32) (global.set $bump (local.get 0)))
  ;; Whether the host's task of the running export may block (the export's type is `async`),
  ;; as wasmtime's `may_block` is for a task that has not returned; 0 outside exports (start
  ;; functions, and destructors the host calls, which run in a task that may not block).
  (global $may-block (mut i32) (i32.const 0))
  (func (export "enter") (param $may-block i32)
    ;; SETTLE
    (global.set $may-block (local.get $may-block))
    (global.set $depth (i32.add (global.get $depth) (i32.const 1))))
  (func (export "may-block") (result i32) (global.get $may-block))
  (func $leave
    (global.set $depth (i32.sub (global.get $depth) (i32.const 1)))
    (if (i32.eqz (global.get $depth))
      (then (global.set $bump (i32.const 8)) (global.set $may-block (i32.const 0)))))
"#;

/// How the exchange module's `acall{i}` calls the host's `async` lowering of an import in
/// place of its sync one: with the host side's lifted parameters as they are (at most 4 flat
/// values, or a pointer to more than 16) or stored into a block (5 to 16 flat values, which
/// the `async` lowering spills), and the results the host stores returned as the sync lift
/// returns them.
struct AsyncCall {
    /// The core type of the host's `async` lowering.
    ty: FuncType,
    /// The parameters that the sync lift passes flat and the `async` lowering spills.
    spill: Option<Spill>,
    /// What `acall{i}` returns.
    result: AsyncResult,
    /// Whether the guest's call goes on while the host's has not returned: the scheduler
    /// calls `hstart{i}` in place of `acall{i}`, and `hfinish{i}` once the host's call has
    /// returned (`crate::tasks`). Not with error contexts in the
    /// function's type, whose lends to the host end with the call, nor with strings, lists
    /// or maps in its results, which the host allocates when it returns.
    deferred: bool,
}

/// Parameters passed flat to the sync lift (5 to 16 flat values) and spilled by the `async`
/// lowering: stored into a block laid out as the parameters' tuple (`CanonicalABI.md`,
/// `lower_flat_values` with more than `MAX_FLAT_ASYNC_PARAMS` values), one store per flat
/// value.
struct Spill {
    /// The flat parameters, as the sync lift passes them.
    flat: Vec<ValType>,
    /// Per flat parameter: the store instruction and the offset in the block (bytes).
    stores: Vec<(&'static str, u32)>,
    /// The tuple's size and alignment (bytes).
    size: u32,
    align: u32,
}

impl Spill {
    /// The spill of parameters of types `params`, when each flat value is stored on its own
    /// in the tuple's layout: scalars, strings and lists (pointer and length), enums, flags
    /// of one flat value, handles, stream and future ends, error contexts. `None` for any
    /// other type (records, variants, ... whose flat values and layout differ).
    fn of(types: &ComponentTypes, params: &[InterfaceType]) -> Option<Spill> {
        let by_size = |size: u32| match size {
            1 => Some("i32.store8"),
            2 => Some("i32.store16"),
            4 => Some("i32.store"),
            _ => None,
        };
        let mut spill = Spill {
            flat: Vec::new(),
            stores: Vec::new(),
            size: 0,
            align: 1,
        };
        for ty in params {
            let abi = types.canonical_abi(ty);
            let at = spill.size.next_multiple_of(abi.align32);
            let (stores, flat): (&[(&str, u32)], &[ValType]) = match ty {
                InterfaceType::Bool | InterfaceType::U8 | InterfaceType::S8 => {
                    (&[("i32.store8", 0)], &[ValType::I32])
                }
                InterfaceType::U16 | InterfaceType::S16 => (&[("i32.store16", 0)], &[ValType::I32]),
                InterfaceType::U32
                | InterfaceType::S32
                | InterfaceType::Char
                | InterfaceType::Own(_)
                | InterfaceType::Borrow(_)
                | InterfaceType::Future(_)
                | InterfaceType::Stream(_)
                | InterfaceType::ErrorContext(_) => (&[("i32.store", 0)], &[ValType::I32]),
                InterfaceType::U64 | InterfaceType::S64 => (&[("i64.store", 0)], &[ValType::I64]),
                InterfaceType::Float32 => (&[("f32.store", 0)], &[ValType::F32]),
                InterfaceType::Float64 => (&[("f64.store", 0)], &[ValType::F64]),
                InterfaceType::String | InterfaceType::List(_) => (
                    &[("i32.store", 0), ("i32.store", 4)],
                    &[ValType::I32, ValType::I32],
                ),
                InterfaceType::Enum(_) | InterfaceType::Flags(_) => {
                    spill.stores.push((by_size(abi.size32)?, at));
                    spill.flat.push(ValType::I32);
                    (&[], &[])
                }
                _ => return None,
            };
            spill
                .stores
                .extend(stores.iter().map(|&(store, offset)| (store, at + offset)));
            spill.flat.extend_from_slice(flat);
            spill.size = at + abi.size32;
            spill.align = spill.align.max(abi.align32);
        }
        spill.size = spill.size.next_multiple_of(spill.align);
        Some(spill)
    }

    /// The block allocated and the flat parameters (locals `0..`) stored into it: its
    /// address in local `$spill`.
    fn wat(&self) -> String {
        let mut wat = format!(
            "(local.set $spill (call $cabi_realloc (i32.const 0) (i32.const 0) (i32.const {}) \
             (i32.const {})))\n  ",
            self.align, self.size
        );
        for (k, (store, offset)) in self.stores.iter().enumerate() {
            wat.push_str(&format!(
                "({store} offset={offset} (local.get $spill) (local.get {k}))\n  "
            ));
        }
        wat
    }
}

/// What `acall{i}` returns of the results the host stored at its pointer.
enum AsyncResult {
    /// No results.
    None,
    /// More than one flat result: the pointer to them, as the sync lift returns them.
    Area,
    /// One flat result, loaded with this instruction.
    Load(&'static str),
}

/// How the exchange module calls the host's `async` lowering of `import`, if the component
/// lowers it `async` and its values pass through unchanged or are spilled one by one: the
/// parameters flat (at most 4) or spilled (more than 16) in both core types, or 5 to 16
/// flat values of the types [`Spill::of`] takes; and no result, more than one flat result
/// (returned through their area), or one flat result of a scalar, enum, flags or handle
/// type. Otherwise (5 to 16 flat parameters with a record, variant, `option`, tuple, ...
/// among them; one flat result of such an aggregate) the host's sync lowering is called,
/// as for a sync lowering.
///
/// Errors: as [`crate::host::async_lowered_core_type`].
fn async_call(
    types: &ComponentTypes,
    import: &crate::host::HostImport,
) -> Result<Option<AsyncCall>> {
    if !import.lowerings.iter().any(|l| l.async_) {
        return Ok(None);
    }
    let ty = crate::host::async_lowered_core_type(types, import.component_ty)?;
    let results = &types[types[import.component_ty].results].types;
    let lifted = match import.return_area {
        true => &import.ty.params()[..import.ty.params().len() - 1],
        false => import.ty.params(),
    };
    let passed = match results.is_empty() {
        true => ty.params(),
        false => &ty.params()[..ty.params().len() - 1],
    };
    let spill = match lifted == passed {
        true => None,
        false => {
            let params = &types[types[import.component_ty].params].types;
            match Spill::of(types, params) {
                Some(spill) if spill.flat == lifted && passed == [ValType::I32] => Some(spill),
                _ => return Ok(None),
            }
        }
    };
    let result = match results.first() {
        None => AsyncResult::None,
        Some(_) if import.return_area => AsyncResult::Area,
        Some(ty) => {
            let by_size = |size: u32| match size {
                1 => Some("i32.load8_u"),
                2 => Some("i32.load16_u"),
                4 => Some("i32.load"),
                _ => None,
            };
            let load = match ty {
                InterfaceType::Bool | InterfaceType::U8 => Some("i32.load8_u"),
                InterfaceType::S8 => Some("i32.load8_s"),
                InterfaceType::U16 => Some("i32.load16_u"),
                InterfaceType::S16 => Some("i32.load16_s"),
                InterfaceType::U32
                | InterfaceType::S32
                | InterfaceType::Char
                | InterfaceType::Own(_)
                | InterfaceType::Borrow(_)
                | InterfaceType::Future(_)
                | InterfaceType::Stream(_)
                | InterfaceType::ErrorContext(_) => Some("i32.load"),
                InterfaceType::U64 | InterfaceType::S64 => Some("i64.load"),
                InterfaceType::Float32 => Some("f32.load"),
                InterfaceType::Float64 => Some("f64.load"),
                InterfaceType::Enum(e) => by_size(types[*e].abi.size32),
                InterfaceType::Flags(f) => by_size(types[*f].abi.size32),
                _ => None,
            };
            match load {
                Some(load) => AsyncResult::Load(load),
                None => return Ok(None),
            }
        }
    };
    // Error contexts lent to the host are settled as the import returns
    // (`crate::error_context`); strings and lists in the results are allocated by the host
    // when its call returns, wherever the output's code is then, so such calls are waited
    // for inside the call. A borrow lent to the host stays lent in the task's scope, kept in
    // its record until the host's call has returned; stream and future ends move to the host
    // for good (a call that reads a stream the guest writes goes on while the guest writes).
    let deferred = !import.has_error_contexts
        && !crate::host::results_hold_memory(types, import.component_ty)?;
    Ok(Some(AsyncCall {
        ty,
        spill,
        result,
        deferred,
    }))
}

impl AsyncCall {
    /// The exchange module's `acall{i}` for host import `i`, whose results have the
    /// canonical ABI `results`: the host side's lifted core type, calling the host's `async`
    /// lowering `$async{i}` and waiting for it in `$await` when it has not returned at once.
    fn wat(
        &self,
        i: usize,
        results: &wasmtime_environ::component::CanonicalAbiInfo,
    ) -> Result<String> {
        let has_results = !matches!(self.result, AsyncResult::None);
        let params = match (&self.spill, has_results) {
            (Some(spill), _) => &spill.flat[..],
            (None, true) => &self.ty.params()[..self.ty.params().len() - 1],
            (None, false) => self.ty.params(),
        };
        // The arguments of the `async` lowering before the results' block: the parameters,
        // or the block they are spilled to.
        let (spill, args) = match &self.spill {
            Some(spill) => (spill.wat(), "(local.get $spill)".to_string()),
            None => (String::new(), local_gets(params.len())),
        };
        let (result_ty, area, ret) = match self.result {
            AsyncResult::None => (Vec::new(), "", String::new()),
            AsyncResult::Area => (
                vec![ValType::I32],
                " (local.get $area)",
                " (local.get $area)".into(),
            ),
            AsyncResult::Load(load) => {
                let ty = match load {
                    "i64.load" => ValType::I64,
                    "f32.load" => ValType::F32,
                    "f64.load" => ValType::F64,
                    _ => ValType::I32,
                };
                (
                    vec![ty],
                    " (local.get $area)",
                    format!(" ({load} (local.get $area))"),
                )
            }
        };
        let alloc = match has_results {
            true => format!(
                "(local.set $area (call $cabi_realloc (i32.const 0) (i32.const 0) \
                 (i32.const {}) (i32.const {})))\n  ",
                results.align32, results.size32
            ),
            false => String::new(),
        };
        let mut wat = String::new();
        writeln!(
            wat,
            "(func (export \"acall{i}\") {} (local $area i32) (local $spill i32)\n  {alloc}\
             {spill}(call $await (call $async{i} {args}{area})){ret})",
            sig(params, &result_ty),
        )?;
        if self.deferred {
            // The call's start with its results' block last (from `area-alloc`, kept until
            // `area-free`; 0 without results), its status returned; and the results as
            // `acall{i}` returns them, from that block.
            let mut start_params = params.to_vec();
            start_params.push(ValType::I32);
            writeln!(
                wat,
                "(func (export \"hstart{i}\") {} (local $spill i32)\n  \
                 {spill}(call $async{i} {args}{}))",
                sig(&start_params, &[ValType::I32]),
                match has_results {
                    true => format!(" (local.get {})", params.len()),
                    false => String::new(),
                },
            )?;
            writeln!(
                wat,
                "(func (export \"hfinish{i}\") (param $area i32) {}{ret})",
                sig(&[], &result_ty),
            )?;
        }
        Ok(wat)
    }
}

/// The exchange module's host calls, with the host's `async` lowerings (`CanonicalABI.md`:
/// a lowering returns `state | subtask << 4`, `RETURNED` is 2; `waitable-set.wait` stores
/// the waitable and the payload at the pointer and returns the event code, `SUBTASK` 1 with
/// the subtask's state as payload; `subtask.cancel` returns the state once the subtask has
/// resolved, else `BLOCKED`).
///
/// Each host subtask that has not returned at once is tracked in an entry of 16 bytes in the
/// exchange memory (the host's handle, the task record whose call it is or -1, the address
/// of its results, and its state once it has resolved: 0 while it has not, else `RETURNED`
/// 2 or `CANCELLED_BEFORE_RETURNED` 4) and joined to the one waitable set of the output's
/// host instance. `$host-event` waits on that set for one event (the event at address 0,
/// below the bump allocator's first byte) and marks the entry of a subtask that resolved.
/// So a wait for one subtask keeps the events of the others:
///
/// - `$await` (`acall{i}`): waits, inside the call, until its subtask has returned;
/// - `host-pending` (`hstart{i}` returned `STARTED`): tracks the subtask for a task record of
///   the scheduler (`crate::tasks`), whose caller goes on;
/// - `host-wait`, when no task can run: waits until a tracked call of a record has resolved,
///   and gives its entry, or -1 when none is pending;
/// - `host-poll`, when a task yields: the events that have come, without blocking, after a
///   `[thread-yield]` to the host; then `host-resolved` gives each entry of a record whose
///   call has resolved, or -1;
/// - `host-cancel` (`subtask.cancel` of a record's call): cancels the host's subtask
///   unless it has resolved (`[subtask-cancel]`, which waits until it has, so only a task
///   that may block may call it) and gives its entry; an async cancel of a call that the
///   host cancelled gets -1 (`BLOCKED`), as natively, and the entry is delivered later.
///
/// An entry given is read with `entry-record`, `entry-area` and `entry-state`, then freed
/// with `entry-done`.
///
/// A deferred call's results go to a block of the largest results' size (`area-alloc`,
/// `area-free`: a free list, so that the blocks in use are as many as the calls pending at
/// once). The blocks and the entries stay in the bump allocator's memory: while any is in
/// use, `release` and the end of the outermost export do not move the bump pointer below
/// `$floor`, the end of what was allocated when the last block or entry array was made.
/// The results of a deferred call hold no string or list (`AsyncCall::deferred`), so the
/// host allocates nothing for them.
///
/// Waiting blocks the host's task, which only a task that may block may do (`may-block`);
/// elsewhere it traps at a limit of the lowering, where wasmtime would let the guest go on.
const EXCHANGE_AWAIT: &str = r#"
  (global $host-set (mut i32) (i32.const 0))
  (global $calls (mut i32) (i32.const 0))
  (global $num-calls (mut i32) (i32.const 0))
  (global $cap-calls (mut i32) (i32.const 0))
  (global $used-calls (mut i32) (i32.const 0))
  (global $deferred (mut i32) (i32.const 0))
  (global $floor (mut i32) (i32.const 8))
  (global $free-areas (mut i32) (i32.const 0))
  (global $areas-out (mut i32) (i32.const 0))
  (func $gc-lower:trap:unsupported-async-lower-of-the-host-in-a-sync-task unreachable)
  (func $gc-lower:trap:unsupported-wait-for-the-host-in-a-sync-task unreachable)
  (func $gc-lower:trap:unsupported-cancel-of-a-host-call-in-a-sync-task unreachable)
  (func $entry (param $e i32) (result i32)
    (i32.add (global.get $calls) (i32.shl (local.get $e) (i32.const 4))))
  ;; A new entry for host subtask $h, joined to the host set: its index.
  (func $track (param $h i32) (param $record i32) (param $area i32) (result i32)
    (local $e i32) (local $new i32)
    (block $found
      (loop $each
        (br_if $found (i32.ge_u (local.get $e) (global.get $num-calls)))
        (br_if $found (i32.eqz (i32.load (call $entry (local.get $e)))))
        (local.set $e (i32.add (local.get $e) (i32.const 1)))
        (br $each)))
    (if (i32.eq (local.get $e) (global.get $num-calls))
      (then
        (if (i32.eq (global.get $num-calls) (global.get $cap-calls))
          (then
            (global.set $cap-calls (select (i32.shl (global.get $cap-calls) (i32.const 1))
              (i32.const 8) (global.get $cap-calls)))
            (local.set $new (call $cabi_realloc (i32.const 0) (i32.const 0) (i32.const 4)
              (i32.shl (global.get $cap-calls) (i32.const 4))))
            (if (global.get $num-calls)
              (then (memory.copy (local.get $new) (global.get $calls)
                (i32.shl (global.get $num-calls) (i32.const 4)))))
            (global.set $calls (local.get $new))
            (global.set $floor (global.get $bump))))
        (global.set $num-calls (i32.add (global.get $num-calls) (i32.const 1)))))
    (global.set $used-calls (i32.add (global.get $used-calls) (i32.const 1)))
    (i32.store (call $entry (local.get $e)) (local.get $h))
    (i32.store offset=4 (call $entry (local.get $e)) (local.get $record))
    (i32.store offset=8 (call $entry (local.get $e)) (local.get $area))
    (i32.store offset=12 (call $entry (local.get $e)) (i32.const 0))
    (if (i32.eqz (global.get $host-set))
      (then (global.set $host-set (call $waitable-set-new))))
    (call $waitable-join (local.get $h) (global.get $host-set))
    (local.get $e))
  ;; Entry $e is done with: its subtask dropped (a stream write's end out of the host set),
  ;; the entry free.
  (func $untrack (param $e i32)
    (if (i32.lt_s (i32.load offset=4 (call $entry (local.get $e))) (i32.const -1))
      (then (call $waitable-join (i32.load (call $entry (local.get $e))) (i32.const 0)))
      (else (call $subtask-drop (i32.load (call $entry (local.get $e))))))
    (i32.store (call $entry (local.get $e)) (i32.const 0))
    (global.set $used-calls (i32.sub (global.get $used-calls) (i32.const 1)))
    (call $maybe-reset))
  ;; With no entry and no block in use, the allocator's memory is all free again.
  (func $maybe-reset
    (if (i32.eqz (i32.or (global.get $used-calls) (global.get $areas-out)))
      (then
        (global.set $calls (i32.const 0))
        (global.set $num-calls (i32.const 0))
        (global.set $cap-calls (i32.const 0))
        (global.set $free-areas (i32.const 0))
        (global.set $floor (i32.const 8)))))
  ;; A block of AREA bytes (8-aligned) for a deferred call's results: from the free list,
  ;; else new, below `$floor` from then on.
  (func $area-alloc (export "area-alloc") (result i32) (local $p i32)
    (global.set $areas-out (i32.add (global.get $areas-out) (i32.const 1)))
    (if (global.get $free-areas)
      (then
        (local.set $p (global.get $free-areas))
        (global.set $free-areas (i32.load (local.get $p)))
        (return (local.get $p))))
    (local.set $p (call $cabi_realloc (i32.const 0) (i32.const 0) (i32.const 8)
      (i32.const AREA)))
    (global.set $floor (global.get $bump))
    (local.get $p))
  ;; Block `p` (0: none) is free again.
  (func (export "area-free") (param $p i32)
    (if (i32.eqz (local.get $p)) (then (return)))
    (i32.store (local.get $p) (global.get $free-areas))
    (global.set $free-areas (local.get $p))
    (global.set $areas-out (i32.sub (global.get $areas-out) (i32.const 1)))
    (call $maybe-reset))
  ;; One event of the host set: a subtask that resolved marks its entry.
  (func $host-event
    (if (i32.eqz (global.get $may-block))
      (then (call $gc-lower:trap:unsupported-wait-for-the-host-in-a-sync-task)))
    (call $mark (call $waitable-set-wait (global.get $host-set) (i32.const 0))))
  ;; The event of code `code` at address 0: a subtask that resolved (state `RETURNED` or
  ;; past it) marks its entry with that state; a stream's or future's read or write
  ;; (`STREAM_READ` 2 to `FUTURE_WRITE` 5) marks its entry resolved (1) with the copy result
  ;; in its third word.
  (func $mark (param $code i32) (local $e i32)
    (if (i32.and (i32.ge_u (local.get $code) (i32.const 2)) (i32.le_u (local.get $code) (i32.const 5)))
      (then
        (block $found
          (loop $each
            (if (i32.ge_u (local.get $e) (global.get $num-calls)) (then (return)))
            (br_if $found (i32.eq (i32.load (call $entry (local.get $e)))
              (i32.load (i32.const 0))))
            (local.set $e (i32.add (local.get $e) (i32.const 1)))
            (br $each)))
        (i32.store offset=8 (call $entry (local.get $e)) (i32.load (i32.const 4)))
        (i32.store offset=12 (call $entry (local.get $e)) (i32.const 1))
        (return)))
    (if (i32.ne (local.get $code) (i32.const 1)) (then (return)))
    (if (i32.lt_u (i32.load (i32.const 4)) (i32.const 2)) (then (return)))
    (block $found
      (loop $each
        (if (i32.ge_u (local.get $e) (global.get $num-calls)) (then (return)))
        (br_if $found (i32.eq (i32.load (call $entry (local.get $e))) (i32.load (i32.const 0))))
        (local.set $e (i32.add (local.get $e) (i32.const 1)))
        (br $each)))
    (i32.store offset=12 (call $entry (local.get $e)) (i32.load (i32.const 4))))
  ;; Waits for the subtask of `status` unless it has returned, then drops it.
  (func $await (param $status i32) (local $e i32)
    (if (i32.eq (i32.and (local.get $status) (i32.const 0xf)) (i32.const 2))
      (then (return)))
    (if (i32.eqz (global.get $may-block))
      (then (call $gc-lower:trap:unsupported-async-lower-of-the-host-in-a-sync-task)))
    (local.set $e (call $track (i32.shr_u (local.get $status) (i32.const 4)) (i32.const -1)
      (i32.const 0)))
    (block $done
      (loop $wait
        (br_if $done (i32.load offset=12 (call $entry (local.get $e))))
        (call $host-event)
        (br $wait)))
    (call $untrack (local.get $e)))
  ;; The host's subtask of `status` (a deferred call's, its results to block `area`) goes on
  ;; for task record `record`.
  (func (export "host-pending") (param $status i32) (param $record i32) (param $area i32)
    (drop (call $track (i32.shr_u (local.get $status) (i32.const 4)) (local.get $record)
      (local.get $area)))
    (global.set $deferred (i32.add (global.get $deferred) (i32.const 1))))
  ;; Entry `e`'s task record, results block and resolved state.
  (func (export "entry-record") (param $e i32) (result i32)
    (i32.load offset=4 (call $entry (local.get $e))))
  (func (export "entry-area") (param $e i32) (result i32)
    (i32.load offset=8 (call $entry (local.get $e))))
  (func (export "entry-state") (param $e i32) (result i32)
    (i32.load offset=12 (call $entry (local.get $e))))
  ;; Entry `e` of a deferred call is done with: its subtask dropped, the entry free.
  (func (export "entry-done") (param $e i32)
    (call $untrack (local.get $e))
    (global.set $deferred (i32.sub (global.get $deferred) (i32.const 1))))
  ;; The entry of a deferred call (or a stream write) that has resolved; -1 when none has.
  (func $resolved (export "host-resolved") (result i32) (local $e i32)
    (block $none
      (loop $each
        (br_if $none (i32.ge_u (local.get $e) (global.get $num-calls)))
        (if (i32.and (i32.ne (i32.load (call $entry (local.get $e))) (i32.const 0))
              (i32.and (i32.ne (i32.load offset=4 (call $entry (local.get $e))) (i32.const -1))
                (i32.ne (i32.load offset=12 (call $entry (local.get $e))) (i32.const 0))))
          (then (return (local.get $e))))
        (local.set $e (i32.add (local.get $e) (i32.const 1)))
        (br $each)))
    (i32.const -1))
  ;; -1 when no deferred call is pending; else waits until one has resolved and gives its
  ;; entry (`$resolved`).
  (func (export "host-wait") (result i32) (local $e i32)
    (if (i32.eqz (global.get $deferred)) (then (return (i32.const -1))))
    (loop $wait
      (local.set $e (call $resolved))
      (if (i32.ge_s (local.get $e) (i32.const 0)) (then (return (local.get $e))))
      (call $host-event)
      (br $wait))
    unreachable)
  ;; As `host-wait` without blocking, for every deferred call: a task that may block first
  ;; yields to the host once (so that the host's calls go on, as they do natively when a
  ;; task yields), then the events that have come are taken; `host-resolved` then gives
  ;; each call that has resolved.
  (func (export "host-poll") (local $code i32)
    (if (i32.eqz (global.get $deferred)) (then (return)))
    (if (global.get $may-block) (then (drop (call $thread-yield))))
    (block $none
      (loop $each
        (local.set $code (call $waitable-set-poll (global.get $host-set) (i32.const 0)))
        (br_if $none (i32.eqz (local.get $code)))
        (call $mark (local.get $code))
        (br $each))))
  ;; `subtask.cancel` of the deferred call of task record `record`: its entry, the host's
  ;; subtask resolved (cancelled in the host and waited for, unless it had resolved). An
  ;; async cancel of a call that the host cancelled gets -1 (`BLOCKED`) as natively, where
  ;; the host's subtask is still running: its entry is delivered as others are.
  (func (export "host-cancel") (param $record i32) (param $sync i32) (result i32)
    (local $e i32) (local $state i32)
    (block $found
      (loop $each
        (if (i32.ge_u (local.get $e) (global.get $num-calls)) (then (unreachable)))
        (br_if $found (i32.and (i32.ne (i32.load (call $entry (local.get $e))) (i32.const 0))
          (i32.eq (i32.load offset=4 (call $entry (local.get $e))) (local.get $record))))
        (local.set $e (i32.add (local.get $e) (i32.const 1)))
        (br $each)))
    (if (i32.load offset=12 (call $entry (local.get $e))) (then (return (local.get $e))))
    (if (i32.eqz (global.get $may-block))
      (then (call $gc-lower:trap:unsupported-cancel-of-a-host-call-in-a-sync-task)))
    ;; A waitable in a set cannot be waited for synchronously: it leaves the host set.
    (call $waitable-join (i32.load (call $entry (local.get $e))) (i32.const 0))
    (local.set $state (call $subtask-cancel (i32.load (call $entry (local.get $e)))))
    (i32.store offset=12 (call $entry (local.get $e)) (local.get $state))
    (if (i32.and (i32.eqz (local.get $sync)) (i32.eq (local.get $state) (i32.const 4)))
      (then (return (i32.const -1))))
    (local.get $e))
"#;

/// The stream and future tables of host-side function type `ty` whose items the bridges copy
/// ([`crate::host::plain_type`], or none), each with its place `N` among the type's futures
/// and streams in wit-parser's order (`find_futures_and_streams`: parameters then results,
/// depth first, an end after its payload's), and whether it is in the results (the host
/// passes its ends in).
fn host_transmit_places(
    types: &ComponentTypes,
    ty: TypeFuncIndex,
) -> Vec<(TransmitTable, u32, bool)> {
    fn walk(
        types: &ComponentTypes,
        ty: &InterfaceType,
        n: &mut u32,
        found: &mut Vec<(TransmitTable, u32)>,
    ) {
        let mut each = |tys: &mut dyn Iterator<Item = &InterfaceType>, n: &mut u32| {
            for t in tys {
                walk(types, t, n, found);
            }
        };
        let (table, payload) = match *ty {
            InterfaceType::Record(i) => {
                return each(&mut types[i].fields.iter().map(|f| &f.ty), n);
            }
            InterfaceType::Tuple(i) => return each(&mut types[i].types.iter(), n),
            InterfaceType::Variant(i) => return each(&mut types[i].cases.values().flatten(), n),
            InterfaceType::Option(i) => return each(&mut std::iter::once(&types[i].ty), n),
            InterfaceType::List(i) => return each(&mut std::iter::once(&types[i].element), n),
            InterfaceType::FixedLengthList(i) => {
                return each(&mut std::iter::once(&types[i].element), n);
            }
            InterfaceType::Map(i) => {
                return each(&mut [&types[i].key, &types[i].value].into_iter(), n);
            }
            InterfaceType::Result(i) => {
                return each(&mut types[i].ok.iter().chain(types[i].err.iter()), n);
            }
            InterfaceType::Future(t) => (TransmitTable::Future(t), types[types[t].ty].payload),
            InterfaceType::Stream(t) => (TransmitTable::Stream(t), types[types[t].ty].payload),
            _ => return,
        };
        // Ends in the payload count, but they are not the host side's copies (`HostTypes`
        // copies no payload), and a payload that holds them is not plain.
        for t in payload.iter() {
            walk(types, t, n, &mut Vec::new());
        }
        if payload.is_none_or(|p| crate::host::plain_type(types, &p)) {
            found.push((table, *n));
        }
        *n += 1;
    }
    let mut params = Vec::new();
    let mut n = 0;
    for t in &types[types[ty].params].types {
        walk(types, t, &mut n, &mut params);
    }
    let mut results = Vec::new();
    for t in &types[types[ty].results].types {
        walk(types, t, &mut n, &mut results);
    }
    let params = params.into_iter().map(|(t, n)| (t, n, false));
    params
        .chain(results.into_iter().map(|(t, n)| (t, n, true)))
        .collect()
}

/// The trampoline of bridged `table`'s `intrinsic` in the host side's instance `instance`,
/// with the host side's `async` options `options` for a read or write.
fn transmit_trampoline(
    instance: RuntimeComponentInstanceIndex,
    table: TransmitTable,
    intrinsic: crate::host::TransmitIntrinsic,
    options: OptionsIndex,
) -> Trampoline {
    use crate::host::TransmitIntrinsic as I;
    match table {
        TransmitTable::Stream(ty) => match intrinsic {
            I::New => Trampoline::StreamNew { instance, ty },
            I::Write => Trampoline::StreamWrite {
                instance,
                ty,
                options,
            },
            I::CancelWrite => Trampoline::StreamCancelWrite {
                instance,
                ty,
                async_: false,
            },
            I::DropWritable => Trampoline::StreamDropWritable { instance, ty },
            I::Read => Trampoline::StreamRead {
                instance,
                ty,
                options,
            },
            I::CancelRead => Trampoline::StreamCancelRead {
                instance,
                ty,
                async_: false,
            },
            I::DropReadable => Trampoline::StreamDropReadable { instance, ty },
        },
        TransmitTable::Future(ty) => match intrinsic {
            I::New => Trampoline::FutureNew { instance, ty },
            I::Write => Trampoline::FutureWrite {
                instance,
                ty,
                options,
            },
            I::CancelWrite => Trampoline::FutureCancelWrite {
                instance,
                ty,
                async_: false,
            },
            I::DropWritable => Trampoline::FutureDropWritable { instance, ty },
            I::Read => Trampoline::FutureRead {
                instance,
                ty,
                options,
            },
            I::CancelRead => Trampoline::FutureCancelRead {
                instance,
                ty,
                async_: false,
            },
            I::DropReadable => Trampoline::FutureDropReadable { instance, ty },
        },
    }
}

/// The exchange module's reads and writes of the host's streams and futures that the output
/// bridges ([`crate::host::HostTransmit`], `crate::transmit`), `transmits` by their index
/// `k`: `hs-new (k) -> ends`, `hs-copy (k, x, end, ptr, count) -> result` (a write to the
/// host, or a read from it; a future's without the count), `hs-cancel (k, end, stream) ->
/// result`,
/// `hs-drop (k, end)`, and `hs-alloc (bytes) -> ptr` / `hs-free (ptr)` for the blocks the
/// items are copied through. A copy that the host has not made at once (`BLOCKED`) is tracked
/// in an entry of `EXCHANGE_AWAIT` whose record is `-2 - x` (`x` the transmit record), joined
/// to the host set while it is pending; its `STREAM_READ`, `STREAM_WRITE`, `FUTURE_READ` or
/// `FUTURE_WRITE` event marks it with the copy result (in the entry's third word), and
/// `host-resolved` gives it as it gives a host call that has resolved.
fn host_transmits_wat(transmits: &[crate::host::HostTransmit]) -> String {
    use crate::host::TransmitIntrinsic as S;
    // A dispatch on `k` to the intrinsic that type `k` has of `ops` (a future's copy without
    // the count).
    let dispatch = |name: &str, params: &str, result: &str, ops: [S; 2], args: &str| {
        let mut wat = format!("(func ${name} {params} {result}\n");
        for (k, transmit) in transmits.iter().enumerate() {
            let Some(op) = ops.iter().find(|op| transmit.intrinsics().contains(op)) else {
                continue;
            };
            let args = match transmit.table {
                TransmitTable::Future(_) => args.replace(" (local.get $n)", ""),
                TransmitTable::Stream(_) => args.to_string(),
            };
            wat.push_str(&format!(
                "  (if (i32.eq (local.get $k) (i32.const {k})) (then (return (call ${}{k} {args}))))\n",
                op.op()
            ));
        }
        wat.push_str("  unreachable)\n");
        wat
    };
    let mut wat = String::new();
    wat.push_str(&dispatch(
        "hs-new",
        "(export \"hs-new\") (param $k i32)",
        "(result i64)",
        [S::New, S::New],
        "",
    ));
    wat.push_str(&dispatch(
        "hs-copy-raw",
        "(param $k i32) (param $h i32) (param $p i32) (param $n i32)",
        "(result i32)",
        [S::Write, S::Read],
        "(local.get $h) (local.get $p) (local.get $n)",
    ));
    wat.push_str(&dispatch(
        "hs-cancel-raw",
        "(param $k i32) (param $h i32)",
        "(result i32)",
        [S::CancelWrite, S::CancelRead],
        "(local.get $h)",
    ));
    wat.push_str(&dispatch(
        "hs-drop",
        "(export \"hs-drop\") (param $k i32) (param $h i32)",
        "",
        [S::DropWritable, S::DropReadable],
        "(local.get $h)",
    ));
    wat.push_str(EXCHANGE_STREAMS);
    wat
}

/// The fixed part of [`host_transmits_wat`].
const EXCHANGE_STREAMS: &str = r#"
  (func $gc-lower:trap:unsupported-cancel-of-a-host-stream-copy-in-a-sync-task unreachable)
  (func (export "hs-copy") (param $k i32) (param $x i32) (param $h i32) (param $p i32)
    (param $n i32) (result i32) (local $r i32)
    (local.set $r (call $hs-copy-raw (local.get $k) (local.get $h) (local.get $p) (local.get $n)))
    (if (i32.eq (local.get $r) (i32.const -1))
      (then
        (drop (call $track (local.get $h) (i32.sub (i32.const -2) (local.get $x)) (i32.const 0)))
        (global.set $deferred (i32.add (global.get $deferred) (i32.const 1)))))
    (local.get $r))
  ;; The pending copy of end `h` of bridged type `k` ended: its copy result, the event's
  ;; when it has come (a stream's completed copy reported as cancelled, `$stream`, as
  ;; wasmtime's cancel of a copy whose event awaits), else the host's cancel's (which waits,
  ;; so only a task that may block may make it).
  (func (export "hs-cancel") (param $k i32) (param $h i32) (param $stream i32) (result i32)
    (local $e i32) (local $r i32)
    (block $found
      (loop $each
        (if (i32.ge_u (local.get $e) (global.get $num-calls)) (then (unreachable)))
        (br_if $found (i32.eq (i32.load (call $entry (local.get $e))) (local.get $h)))
        (local.set $e (i32.add (local.get $e) (i32.const 1)))
        (br $each)))
    (if (i32.load offset=12 (call $entry (local.get $e)))
      (then
        (local.set $r (i32.load offset=8 (call $entry (local.get $e))))
        (if (i32.and (local.get $stream) (i32.eqz (i32.and (local.get $r) (i32.const 0xf))))
          (then (local.set $r (i32.or (local.get $r) (i32.const 2))))))
      (else
        (if (i32.eqz (global.get $may-block))
          (then (call $gc-lower:trap:unsupported-cancel-of-a-host-stream-copy-in-a-sync-task)))
        (call $waitable-join (local.get $h) (i32.const 0))
        (local.set $r (call $hs-cancel-raw (local.get $k) (local.get $h)))))
    (call $untrack (local.get $e))
    (global.set $deferred (i32.sub (global.get $deferred) (i32.const 1)))
    (local.get $r))
  ;; A block of `bytes` bytes (8-aligned) for a bridged stream's items, below `$floor` until
  ;; `hs-free`.
  (func (export "hs-alloc") (param $bytes i32) (result i32) (local $p i32)
    (global.set $areas-out (i32.add (global.get $areas-out) (i32.const 1)))
    (local.set $p (call $cabi_realloc (i32.const 0) (i32.const 0) (i32.const 8)
      (local.get $bytes)))
    (global.set $floor (global.get $bump))
    (local.get $p))
  (func (export "hs-free") (param $p i32)
    (if (i32.eqz (local.get $p)) (then (return)))
    (global.set $areas-out (i32.sub (global.get $areas-out) (i32.const 1)))
    (call $maybe-reset))
"#;

/// `EXCHANGE_RUNTIME`'s `release` and the bump pointer's reset at the end of the outermost
/// export, which `EXCHANGE_AWAIT` keeps above its `$floor`.
const EXCHANGE_RELEASE: &str =
    r#"(func (export "release") (param i32) (global.set $bump (local.get 0)))"#;
const EXCHANGE_RESET: &str = "(global.set $bump (i32.const 8))";

/// The exchange module's count of error contexts lent to the host, with error contexts at
/// the boundary (`error_context.wat`'s `lent-reps`): each host call's are settled once it is
/// over, an import's as it returns, an export's when the host next calls an export (`enter`
/// at depth 0; a post-return may not call the host's `error-context.drop`).
const EXCHANGE_LENT: &str = r#"
  (global $lent (mut i32) (i32.const 0))
  (func (export "lent") (result i32) (global.get $lent))
  (func (export "set-lent") (param i32) (global.set $lent (local.get 0)))
"#;

/// The entry module's imports from the exchange module, in the order of its arguments.
const ENTRY_IMPORTS: &str = r#"
  (import "exchange" "cabi_realloc" (func $cabi_realloc (param i32 i32 i32 i32) (result i32)))
  (import "exchange" "mark" (func $mark (result i32)))
  (import "exchange" "release" (func $release (param i32)))
  (import "exchange" "enter" (func $enter (param i32)))
  (import "exchange" "may-block" (func $may-block (result i32)))
"#;

/// The entry module's function that traps at a limit: an async lowering of a host function of
/// an `async` type that is called through the host's sync lowering ([`async_call`] is `None`)
/// where the host's task may not block (wasmtime does not allow that sync lowering there,
/// where the guest's async lowering would not block). `EXCHANGE_AWAIT` has its own, for a
/// wait on the host's subtask there.
const ENTRY_LIMIT: &str = r#"
  (func $gc-lower:trap:unsupported-async-lower-of-the-host-in-a-sync-task unreachable)
"#;

/// `(local.get 0) … (local.get n-1)` in wat.
fn local_gets(n: usize) -> String {
    (0..n)
        .map(|p| format!("(local.get {p})"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `(param …) (result …)` in wat.
fn sig(params: &[ValType], results: &[ValType]) -> String {
    let list = |kind: &str, tys: &[ValType]| {
        if tys.is_empty() {
            String::new()
        } else {
            let names: Vec<String> = tys.iter().map(|t| t.to_string()).collect();
            format!("({kind} {})", names.join(" "))
        }
    };
    format!("{} {}", list("param", params), list("result", results))
}

/// Adds the module `wat` and instantiates it after every other instance.
fn instantiate(
    ext: &mut Extension<'_, '_>,
    graph: &mut multi_instance::InstanceGraph,
    wat: &str,
    args: Vec<CoreDef>,
    instance: RuntimeComponentInstanceIndex,
) -> Result<RuntimeInstanceIndex> {
    let bytes = wat::parse_str(wat).context("internal error: a generated module does not parse")?;
    instantiate_bytes(ext, graph, bytes, args, instance)
}

/// Adds the module `bytes` and instantiates it after every other instance, in the translation
/// and in `graph`.
fn instantiate_bytes(
    ext: &mut Extension<'_, '_>,
    graph: &mut multi_instance::InstanceGraph,
    bytes: Vec<u8>,
    args: Vec<CoreDef>,
    instance: RuntimeComponentInstanceIndex,
) -> Result<RuntimeInstanceIndex> {
    let module = ext.add_module(bytes)?;
    let component = &mut ext.translation.component;
    let index = RuntimeInstanceIndex::from_u32(component.num_runtime_instances);
    component.num_runtime_instances += 1;
    component
        .initializers
        .push(GlobalInitializer::InstantiateModule(
            InstantiateModule::Static(module, args.clone().into_boxed_slice()),
            Some(instance),
        ));
    let added = graph.add_instance(ext.modules, module, args, Some(instance))?;
    anyhow::ensure!(
        added == index,
        "internal error: the instance graph and the translation disagree on instance indices"
    );
    Ok(index)
}

/// The item `name` exported by `instance`.
fn export_of<T>(instance: RuntimeInstanceIndex, name: &str) -> CoreExport<T> {
    CoreExport {
        instance,
        item: ExportItem::Name(name.to_string()),
    }
}

/// The function `name` exported by `instance`.
pub(crate) fn func_export(instance: RuntimeInstanceIndex, name: &str) -> CoreDef {
    CoreDef::Export(CoreExport {
        instance,
        item: ExportItem::Name(name.to_string()),
    })
}

/// A runtime export as FACT's (dfg) export: the runtime instance index is kept as the dfg
/// instance id, and [`from_dfg`] reads it back.
fn to_dfg_export<T: Clone>(e: &CoreExport<T>) -> dfg::CoreExport<T> {
    dfg::CoreExport {
        instance: dfg::InstanceId::from_u32(e.instance.as_u32()),
        item: e.item.clone(),
    }
}

/// A runtime definition as FACT's (dfg) definition; see [`to_dfg_export`].
fn to_dfg(def: &CoreDef) -> Result<dfg::CoreDef> {
    Ok(match def {
        CoreDef::Export(e) => dfg::CoreDef::Export(to_dfg_export(e)),
        CoreDef::InstanceFlags(i) => dfg::CoreDef::InstanceFlags(*i),
        CoreDef::Trampoline(t) => dfg::CoreDef::Trampoline(*t),
        _ => bail!("internal error: a host function is an unexpected definition"),
    })
}

/// The inverse of [`to_dfg`].
fn from_dfg(def: &dfg::CoreDef) -> Result<CoreDef> {
    Ok(match def {
        dfg::CoreDef::Export(e) => CoreDef::Export(CoreExport {
            instance: RuntimeInstanceIndex::from_u32(e.instance.as_u32()),
            item: e.item.clone(),
        }),
        dfg::CoreDef::InstanceFlags(i) => CoreDef::InstanceFlags(*i),
        dfg::CoreDef::Trampoline(t) => CoreDef::Trampoline(*t),
        // With the async ABI (`crate::tasks`), FACT's sync adapters read the task's may-block
        // flag and save and clear its context slots around realloc.
        dfg::CoreDef::TaskMayBlock => CoreDef::TaskMayBlock,
        dfg::CoreDef::UnsafeIntrinsic(_, i) => CoreDef::UnsafeIntrinsic(*i),
        _ => bail!("internal error: a host adapter imports an unexpected definition"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exchange_runtime_is_valid_wat() {
        let wat = format!("(module {EXCHANGE_RUNTIME})");
        let bytes = wat::parse_str(&wat).unwrap();
        wasmtime_environ::wasmparser::Validator::new()
            .validate_all(&bytes)
            .unwrap();
    }
}
