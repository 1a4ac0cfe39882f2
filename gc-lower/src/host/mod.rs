//! The host interface of the lowered module: which functions it imports from the host and
//! exports to it, under which names, with which core types (ARCHITECTURE.md §5).
//!
//! The output core module speaks the component model's *guest core ABI*, with the names that
//! wit-component's legacy mangling expects from a wit-bindgen-made core module, and it embeds the
//! input's WIT world in a `component-type` custom section. `wit-component` (see
//! [`crate::rewrap`]) therefore turns the output back into a component with the same component
//! type as the input:
//!
//! | component item                                   | core item of the output              |
//! |--------------------------------------------------|--------------------------------------|
//! | imported function `f`                            | import `"$root" "f"`                 |
//! | function `f` of imported instance `ns:pkg/i@1.0.0` (or plain `host`) | import `"ns:pkg/i@1.0.0" "f"` |
//! | exported function `f`                            | export `"f"`                         |
//! | function `f` of exported instance `ns:pkg/i`     | export `"ns:pkg/i#f"`                |
//! | `post-return` of an exported function `e`        | export `"cabi_post_e"`               |
//!
//! For example the component
//!
//! ```wat
//! (component
//!   (import "tick" (func $tick (result u64)))
//!   (core func $tick (canon lower (func $tick)))
//!   (core module $M
//!     (import "" "tick" (func (result i64)))
//!     (func (export "add") (param i32 i32) (result i32)
//!       (i32.add (local.get 0) (local.get 1))))
//!   (core instance $m (instantiate $M (with "" (instance (export "tick" (func $tick))))))
//!   (func $add (param "a" u32) (param "b" u32) (result u32) (canon lift (core func $m "add")))
//!   (instance $i (export "add" (func $add)))
//!   (export "ns:pkg/math" (instance $i)))
//! ```
//!
//! has the host interface
//!
//! ```wat
//! (import "$root" "tick" (func (result i64)))             ;; lowered by trampoline 0
//! (export "ns:pkg/math#add" (func (param i32 i32) (result i32)))
//! (@custom "component-type:gc-lower" ...)                 ;; the input's WIT world
//! ```
//!
//! Core types follow the canonical ABI's `flatten_functype` (`CanonicalABI.md`): records and
//! tuples flatten field by field, variants (options, results, enums) to an `i32` discriminant
//! followed by the join of their cases' payloads, strings and lists to a (pointer, length) pair;
//! more than `MAX_FLAT_PARAMS` (16) flat parameters become one pointer, more than
//! `MAX_FLAT_RESULTS` (1) flat result a returned pointer (exports) or a trailing return-area
//! pointer parameter (imports).
//!
//! Values behind those pointers live in the memory that the function's canonical options name.
//! When every host function that uses memory names the same memory, realloc and string
//! encoding, and that memory stays a native linear memory (its module instantiated once,
//! sharing no state with a reified module; `--reify all` keeps that module native), the output
//! exports that memory as `memory` and the realloc as `cabi_realloc`, and the host reads and
//! writes them directly, with no copy ([`HostInterface::memory_users`]). Otherwise every such
//! function goes through FACT adapters and a separate exchange memory ([`crate::exchange`]).
//!
//! Resource types of imported and exported interfaces cross the boundary with the guest core
//! ABI's intrinsics ([`HostInterface::resource_imports`], `iface#[dtor]r` exports); functions
//! that pass handles always go through host adapters ([`crate::exchange`]). At the root of the
//! world a resource type is either an interface's, named again by a world-level `use`
//! (`(import "r" (type (eq $r)))`, or a root type export of it), which is that interface's
//! resource with that interface's intrinsics; or a resource the world declares itself
//! (`resource r;`, an `(import "r" (type (sub resource)))`), imported from the host, whose
//! intrinsic is `"$root" "[resource-drop]r"`:
//!
//! | component item                                   | core item of the output              |
//! |--------------------------------------------------|--------------------------------------|
//! | resource `r` of imported instance `ns:pkg/i`     | import `"ns:pkg/i" "[resource-drop]r"` |
//! | resource `r` of exported instance `ns:pkg/i`     | imports `"[export]ns:pkg/i" "[resource-new]r"`, `…-rep]r`, `…-drop]r`; export `"ns:pkg/i#[dtor]r"` |
//! | resource `r` imported at the root                | import `"$root" "[resource-drop]r"`  |
//! | `error-context` in a host function's type        | imports `"$root" "[error-context-new-utf8]"`, `…-debug-message-utf8]`, `"[error-context-drop]"` |
//! | host function `f` of `ns:pkg/i` lowered `async`   | import `"ns:pkg/i" "f"` and, where [`crate::exchange`] calls it, `"ns:pkg/i" "[async-lower]f"` |
//! | either of those two, or a bridged stream or future | imports `"$root" "[waitable-set-new]"`, `"[waitable-join]"`, `"[waitable-set-wait]"`, `"[subtask-drop]"`, `"[waitable-set-poll]"`, `"[thread-yield]"`, `"[subtask-cancel]"` ([`WaitIntrinsic`]) |
//! | stream or future type bridged to or from the host ([`HostTransmit`], `N` its place in the first import's type that holds it) | imports `"ns:pkg/i" "[stream-new-N]f"`, `"[async-lower][stream-write-N]f"`, … (or `future`) of that import `f` |
//!
//! This module finds the imports and exports; `flat.rs` flattens their function types
//! (canonical ABI) and `wit.rs` writes the WIT world.
//!
//! Known limits of this stage, reported as [`crate::error::not_yet`]: a resource type that the
//! component defines and exports at its root rather than in an exported interface (a WIT world
//! cannot export a resource type, so wit-component cannot re-wrap it),
//! stackful async lifts, instances nested in instances and core modules or components crossing
//! the root. Stream and future ends in a host import's type whose items hold no string, list,
//! map or handle are bridged ([`HostTransmit`]); any other end that would cross traps at a
//! named limit ([`crate::exchange`]). An imported instance that holds only types is not imported back
//! by wit-component (it prunes imports that no core import uses), so such a component's
//! re-wrapped type lacks that import.

use anyhow::Context as _;
use hashbrown::HashMap;
use wasmtime_environ::EntityIndex;
use wasmtime_environ::component::{
    CanonicalOptionsDataModel, Component, ComponentTranslation, ComponentTypes, CoreDef, Export,
    GlobalInitializer, InterfaceType, LoweredIndex, NameMapNoIntern, OptionsIndex, ResourceIndex,
    RuntimeInstanceIndex, RuntimeMemoryIndex, RuntimePostReturnIndex, RuntimeReallocIndex,
    StringEncoding, Trampoline, TrampolineIndex, TypeComponentInstanceIndex, TypeDef,
    TypeFuncIndex, TypeResourceTable, TypeResourceTableIndex,
};
use wasmtime_environ::wasmparser::{FuncType, ValType};

use crate::error::not_yet;

mod flat;
mod wit;

use flat::{Direction, flatten_func};
use wit::component_type;

/// Module name of the core imports of world-level functions (wit-component's legacy mangling).
pub const ROOT_IMPORT_MODULE: &str = "$root";
/// Name of the custom section that holds the input's WIT world.
pub const COMPONENT_TYPE_SECTION: &str = "component-type:gc-lower";

/// The host interface of the lowered module: its imports, its exports and the custom section
/// that describes its component type.
#[derive(Debug, Clone)]
pub struct HostInterface {
    /// Functions the output imports from the host, one per function the component imports, in
    /// the component's import order (functions of an imported instance in the instance type's
    /// export order). `(module, name)` pairs are unique, as wit-component requires.
    pub imports: Vec<HostImport>,
    /// Functions the output exports, one per lifted function the component exports, in the
    /// component's export order.
    pub exports: Vec<HostExport>,
    /// The `component-type:…` custom section: (name, data).
    pub component_type: (String, Vec<u8>),
    /// Every host function whose core signature passes values through linear memory, with the
    /// memory and realloc its canonical options name. The output exports that memory as
    /// `memory` and that realloc as `cabi_realloc`, so all of them must name the same ones.
    /// With host adapters (see [`crate::exchange`]) the one user is the exchange memory.
    pub memory_users: Vec<MemoryUser>,
    /// The `LowerImport` trampolines that host adapters replace, with the function the guest
    /// calls instead (see [`crate::exchange`]).
    pub adapted_lowerings: HashMap<TrampolineIndex, CoreDef>,
    /// The resource and error-context transfer trampolines of host adapters, which move
    /// handles into and out of the host's tables (see [`crate::exchange`]).
    pub host_transfers: Vec<TrampolineIndex>,
    /// The exchange module's instance, when host adapters are in use.
    pub exchange: Option<wasmtime_environ::component::RuntimeInstanceIndex>,
    /// The host side's component instance of the host adapters, when they are in use: the
    /// stream and future tables of this instance are the host's ([`crate::transmit`]).
    pub host_instance: Option<wasmtime_environ::component::RuntimeComponentInstanceIndex>,
    /// The resource types of interfaces the component imports or exports and those it
    /// imports at its root, once each.
    pub resources: Vec<HostResource>,
    /// The guest core ABI's resource intrinsics the output imports, after
    /// [`HostInterface::imports`] in the function index space (see
    /// [`HostInterface::core_imports`]).
    pub resource_imports: Vec<ResourceImport>,
    /// Whether some host function passes error contexts (an export, or an import that the
    /// component lowers):
    /// the output then imports the guest core ABI's error-context intrinsics
    /// ([`ErrorContextIntrinsic`]) after the resource intrinsics.
    pub error_context_imports: bool,
    /// The host's `async` lowerings of host imports that the exchange module calls
    /// (`[async-lower]{name}`, [`AsyncHostLowering`]), after the error-context intrinsics
    /// in the function index space; the waitable intrinsics ([`WaitIntrinsic`]), if any,
    /// follow them.
    pub async_lowerings: Vec<AsyncHostLowering>,
    /// The trampolines through which the exchange module calls the waitable intrinsics, in
    /// [`WaitIntrinsic::ALL`] order: empty unless there are
    /// [`HostInterface::async_lowerings`] or [`HostInterface::host_transmits`].
    pub wait_trampolines: Vec<TrampolineIndex>,
    /// The stream and future types whose readable ends cross the boundary and that the
    /// output bridges: passed to the host (to streams and futures of the output's own
    /// instance), or passed in by the host (read with the host's intrinsics); their
    /// intrinsics follow the waitable ones.
    pub host_transmits: Vec<HostTransmit>,
}

/// A stream or future table type of the host side (`crate::exchange`'s copies of host types).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransmitTable {
    /// A future type.
    Future(wasmtime_environ::component::TypeFutureTableIndex),
    /// A stream type.
    Stream(wasmtime_environ::component::TypeStreamTableIndex),
}

impl TransmitTable {
    /// The transmit template's `$kind`: 0 a future, 1 a stream.
    pub fn kind(self) -> u32 {
        match self {
            TransmitTable::Future(_) => 0,
            TransmitTable::Stream(_) => 1,
        }
    }

    /// The table type's index (in the index space of its kind).
    pub fn index(self) -> u32 {
        match self {
            TransmitTable::Future(t) => t.as_u32(),
            TransmitTable::Stream(t) => t.as_u32(),
        }
    }

    /// The intrinsics' family, as wit-component spells it.
    fn family(self) -> &'static str {
        match self {
            TransmitTable::Future(_) => "future",
            TransmitTable::Stream(_) => "stream",
        }
    }
}

/// A stream or future type whose readable ends cross the host boundary, one way, bridged by
/// the output (see `crate::transmit`). To the host (a host function's parameter): the output
/// makes a stream or future of its own (re-wrapped) instance for each such end
/// (`[stream-new-N]f`), passes its readable end to the host, and writes what the guest writes
/// to its writable end (`[async-lower][stream-write-N]f`). From the host (a host function's
/// result): the output reads the end the host gives it (`[async-lower][stream-read-N]f`)
/// when the guest reads. wit-component names the intrinsics after a function `f` of import
/// module `module` whose type holds the type, `N` being its place among the function type's
/// futures and streams (wit-parser's `find_futures_and_streams`); any such function names
/// the same type.
#[derive(Debug, Clone)]
pub struct HostTransmit {
    /// The host side's table type.
    pub table: TransmitTable,
    /// The import module of the function that names the intrinsics.
    pub module: String,
    /// That function's name.
    pub func: String,
    /// `N`: the type's place among that function type's futures and streams.
    pub index: u32,
    /// Whether the host passes the ends in (and the output reads them), else the guest
    /// passes them out.
    pub from_host: bool,
    /// The host side's `async` canonical options (the exchange memory), which the bridge's
    /// reads and writes use.
    pub options: wasmtime_environ::component::OptionsIndex,
    /// The trampolines through which the exchange module calls the intrinsics, in
    /// [`HostTransmit::intrinsics`] order.
    pub trampolines: Vec<TrampolineIndex>,
}

impl HostTransmit {
    /// The intrinsics the output imports for this type.
    pub fn intrinsics(&self) -> &'static [TransmitIntrinsic] {
        match self.from_host {
            false => &TransmitIntrinsic::TO_HOST,
            true => &TransmitIntrinsic::FROM_HOST,
        }
    }

    /// The core import name of `intrinsic` for this type.
    pub fn import_name(&self, intrinsic: TransmitIntrinsic) -> String {
        let (prefix, op) = match intrinsic {
            TransmitIntrinsic::New => ("", "new"),
            TransmitIntrinsic::Write => ("[async-lower]", "write"),
            TransmitIntrinsic::CancelWrite => ("", "cancel-write"),
            TransmitIntrinsic::DropWritable => ("", "drop-writable"),
            TransmitIntrinsic::Read => ("[async-lower]", "read"),
            TransmitIntrinsic::CancelRead => ("", "cancel-read"),
            TransmitIntrinsic::DropReadable => ("", "drop-readable"),
        };
        let family = self.table.family();
        format!("{prefix}[{family}-{op}-{}]{}", self.index, self.func)
    }

    /// The core type of `intrinsic` for this type: a stream's read and write take a count
    /// too.
    pub fn intrinsic_ty(&self, intrinsic: TransmitIntrinsic) -> FuncType {
        let copy = match self.table {
            TransmitTable::Future(_) => vec![ValType::I32; 2],
            TransmitTable::Stream(_) => vec![ValType::I32; 3],
        };
        match intrinsic {
            TransmitIntrinsic::New => FuncType::new([], [ValType::I64]),
            TransmitIntrinsic::Write | TransmitIntrinsic::Read => {
                FuncType::new(copy, [ValType::I32])
            }
            TransmitIntrinsic::CancelWrite | TransmitIntrinsic::CancelRead => {
                FuncType::new([ValType::I32], [ValType::I32])
            }
            TransmitIntrinsic::DropWritable | TransmitIntrinsic::DropReadable => {
                FuncType::new([ValType::I32], [])
            }
        }
    }
}

/// An intrinsic of the guest core ABI for a stream or future type that the output bridges
/// to the host ([`HostTransmit`]) (`CanonicalABI.md`, `canon stream.*`, `canon future.*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransmitIntrinsic {
    /// `[stream-new-N]f: () -> (ends i64)`: `writable << 32 | readable`.
    New,
    /// `[async-lower][stream-write-N]f: (writable i32, ptr i32, count i32) -> (result
    /// i32)` (a future's without the count): the copy result (`count << 4 | status`), or
    /// `BLOCKED` and a `STREAM_WRITE` (`FUTURE_WRITE`) event later.
    Write,
    /// `[stream-cancel-write-N]f: (writable i32) -> (result i32)`: ends a pending write,
    /// waiting for it (only a task that may block may call it).
    CancelWrite,
    /// `[stream-drop-writable-N]f: (writable i32)`.
    DropWritable,
    /// `[async-lower][stream-read-N]f: (readable i32, ptr i32, count i32) -> (result i32)`
    /// (a future's without the count): the copy result, or `BLOCKED` and a `STREAM_READ`
    /// (`FUTURE_READ`) event later.
    Read,
    /// `[stream-cancel-read-N]f: (readable i32) -> (result i32)`: ends a pending read,
    /// waiting for it.
    CancelRead,
    /// `[stream-drop-readable-N]f: (readable i32)`.
    DropReadable,
}

impl TransmitIntrinsic {
    /// The intrinsics of a type bridged to the host, in import order.
    pub const TO_HOST: [TransmitIntrinsic; 4] = [
        TransmitIntrinsic::New,
        TransmitIntrinsic::Write,
        TransmitIntrinsic::CancelWrite,
        TransmitIntrinsic::DropWritable,
    ];
    /// The intrinsics of a type read from the host, in import order.
    pub const FROM_HOST: [TransmitIntrinsic; 3] = [
        TransmitIntrinsic::Read,
        TransmitIntrinsic::CancelRead,
        TransmitIntrinsic::DropReadable,
    ];

    /// The exchange module's name for it (`${op}{k}` for bridged type `k`).
    pub fn op(self) -> &'static str {
        match self {
            TransmitIntrinsic::New => "new",
            TransmitIntrinsic::Write => "write",
            TransmitIntrinsic::CancelWrite => "cancel-write",
            TransmitIntrinsic::DropWritable => "drop-writable",
            TransmitIntrinsic::Read => "read",
            TransmitIntrinsic::CancelRead => "cancel-read",
            TransmitIntrinsic::DropReadable => "drop-readable",
        }
    }
}

/// An `async` lowering of a host import with the host side's options, which the output
/// imports as `{module}` `[async-lower]{name}` (wit-component's name): the exchange module
/// calls it so that a host function that returns at once does not block the guest's task
/// ([`crate::exchange`]).
#[derive(Debug, Clone)]
pub struct AsyncHostLowering {
    /// The host import (an index in [`HostInterface::imports`]).
    pub import: usize,
    /// The core import name, `[async-lower]{name}`.
    pub name: String,
    /// Its core type (canonical ABI `flatten_functype` with `async`, `lower`).
    pub ty: FuncType,
    /// The `LowerImport` trampoline through which the exchange module calls it.
    pub trampoline: TrampolineIndex,
    /// Whether a guest's `async` call of it goes on while the host's has not returned: the
    /// exchange module exports `hstart{import}` and `hfinish{import}` for the scheduler
    /// (`crate::tasks`), else `acall{import}` waits for the host inside the call.
    pub deferred: bool,
}

/// A waitable intrinsic of the guest core ABI, imported from [`ROOT_IMPORT_MODULE`] when the
/// output makes `async` lowerings of host imports: the exchange module waits on a host
/// subtask, polls for it, yields to the host and cancels the subtask with them
/// (`CanonicalABI.md`, `canon waitable-set.*`, `canon thread.yield`, `canon subtask.drop`,
/// `canon subtask.cancel`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitIntrinsic {
    /// `[waitable-set-new]: () -> (set i32)`.
    SetNew,
    /// `[waitable-join]: (waitable i32, set i32)`.
    Join,
    /// `[waitable-set-wait]: (set i32, event pointer i32) -> (event code i32)`; the waitable
    /// and the payload are stored at the pointer, in the exported `memory`.
    SetWait,
    /// `[subtask-drop]: (subtask i32)`.
    SubtaskDrop,
    /// `[waitable-set-poll]: (set i32, event pointer i32) -> (event code i32)`, as
    /// `[waitable-set-wait]` without blocking (`EVENT_NONE`, 0, when no event has come).
    SetPoll,
    /// `[thread-yield]: () -> (cancelled i32)`: lets the host's other work go on.
    Yield,
    /// `[subtask-cancel]: (subtask i32) -> (state i32)`: cancels the subtask and waits until
    /// it has resolved (its state, `RETURNED` or `CANCELLED_BEFORE_RETURNED`); only a task
    /// that may block may call it.
    Cancel,
}

impl WaitIntrinsic {
    /// Every intrinsic, in import order.
    pub const ALL: [WaitIntrinsic; 7] = [
        WaitIntrinsic::SetNew,
        WaitIntrinsic::Join,
        WaitIntrinsic::SetWait,
        WaitIntrinsic::SubtaskDrop,
        WaitIntrinsic::SetPoll,
        WaitIntrinsic::Yield,
        WaitIntrinsic::Cancel,
    ];

    /// The core import name.
    pub fn name(self) -> &'static str {
        match self {
            WaitIntrinsic::SetNew => "[waitable-set-new]",
            WaitIntrinsic::Join => "[waitable-join]",
            WaitIntrinsic::SetWait => "[waitable-set-wait]",
            WaitIntrinsic::SubtaskDrop => "[subtask-drop]",
            WaitIntrinsic::SetPoll => "[waitable-set-poll]",
            WaitIntrinsic::Yield => "[thread-yield]",
            WaitIntrinsic::Cancel => "[subtask-cancel]",
        }
    }

    /// The core type.
    pub fn ty(self) -> FuncType {
        match self {
            WaitIntrinsic::SetNew => FuncType::new([], [ValType::I32]),
            WaitIntrinsic::Join => FuncType::new([ValType::I32, ValType::I32], []),
            WaitIntrinsic::SetWait => FuncType::new([ValType::I32, ValType::I32], [ValType::I32]),
            WaitIntrinsic::SubtaskDrop => FuncType::new([ValType::I32], []),
            WaitIntrinsic::SetPoll => FuncType::new([ValType::I32, ValType::I32], [ValType::I32]),
            WaitIntrinsic::Yield => FuncType::new([], [ValType::I32]),
            WaitIntrinsic::Cancel => FuncType::new([ValType::I32], [ValType::I32]),
        }
    }
}

/// A resource type of an imported or exported interface, or one the world declares at its
/// root (imported from the host).
#[derive(Debug, Clone)]
pub struct HostResource {
    /// The interface's name (`ns:pkg/iface@1.0.0`), or [`ROOT_IMPORT_MODULE`] for a resource
    /// declared at the root of the world.
    pub interface: String,
    /// The resource's name in the interface.
    pub name: String,
    /// The resource.
    pub resource: ResourceIndex,
    /// Whether the component defines the resource (and exports it); otherwise the host does.
    pub exported: bool,
    /// The resource table index that stands for the host's handle table in host adapters
    /// (past the component's own resource tables; see [`crate::exchange`]).
    pub host_table: TypeResourceTableIndex,
}

/// A resource intrinsic of the guest core ABI (wit-component's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceIntrinsic {
    /// `[resource-new]r: (rep i32) -> (handle i32)`, for an exported resource.
    New,
    /// `[resource-rep]r: (handle i32) -> (rep i32)`, for an exported resource.
    Rep,
    /// `[resource-drop]r: (handle i32)`; for an exported resource its destructor export
    /// `[dtor]r` runs.
    Drop,
}

/// A core import of a resource intrinsic: `"[export]iface" "[resource-new]r"` for an exported
/// resource, `"iface" "[resource-drop]r"` for an imported one (`"$root" "[resource-drop]r"`
/// for one the world declares).
#[derive(Debug, Clone)]
pub struct ResourceImport {
    /// Core module name.
    pub module: String,
    /// Core field name.
    pub name: String,
    /// Index in [`HostInterface::resources`].
    pub resource: usize,
    /// Which intrinsic.
    pub intrinsic: ResourceIntrinsic,
}

impl ResourceIntrinsic {
    /// The core type: `(i32) -> i32` for new and rep, `(i32)` for drop.
    pub fn ty(self) -> FuncType {
        match self {
            ResourceIntrinsic::New | ResourceIntrinsic::Rep => {
                FuncType::new([ValType::I32], [ValType::I32])
            }
            ResourceIntrinsic::Drop => FuncType::new([ValType::I32], []),
        }
    }
}

/// An error-context intrinsic of the guest core ABI, imported from [`ROOT_IMPORT_MODULE`]
/// (wit-component's names; `canon error-context.new` and the others with the output's
/// `memory`, `cabi_realloc` and UTF-8). The host adapters make a host error context from one
/// of the output's with `New`, and one of the output's from a host error context with
/// `DebugMessage` ([`crate::exchange`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorContextIntrinsic {
    /// `[error-context-new-utf8]: (ptr i32, len i32) -> (handle i32)`: a host error context
    /// whose debug message is the `len` bytes of UTF-8 at `ptr`.
    New,
    /// `[error-context-debug-message-utf8]: (handle i32, ret i32)`: the debug message of host
    /// error context `handle`, allocated with `cabi_realloc`, its pointer and length (bytes)
    /// stored at `ret`.
    DebugMessage,
    /// `[error-context-drop]: (handle i32)`.
    Drop,
}

impl ErrorContextIntrinsic {
    /// The three, in the order the output imports them.
    pub const ALL: [ErrorContextIntrinsic; 3] = [
        ErrorContextIntrinsic::New,
        ErrorContextIntrinsic::DebugMessage,
        ErrorContextIntrinsic::Drop,
    ];

    /// The core import name.
    pub fn name(self) -> &'static str {
        match self {
            ErrorContextIntrinsic::New => "[error-context-new-utf8]",
            ErrorContextIntrinsic::DebugMessage => "[error-context-debug-message-utf8]",
            ErrorContextIntrinsic::Drop => "[error-context-drop]",
        }
    }

    /// The core type.
    pub fn ty(self) -> FuncType {
        match self {
            ErrorContextIntrinsic::New => {
                FuncType::new([ValType::I32, ValType::I32], [ValType::I32])
            }
            ErrorContextIntrinsic::DebugMessage => FuncType::new([ValType::I32, ValType::I32], []),
            ErrorContextIntrinsic::Drop => FuncType::new([ValType::I32], []),
        }
    }
}

/// What one export of the output to the host is made from: the guest core ABI's exports, the
/// same in both output forms ([`HostInterface::export_items`]).
#[derive(Debug, Clone, Copy)]
pub enum ExportItem<'a> {
    /// A core function of the component: a lifted function, or its post-return.
    Func(&'a CoreDef),
    /// The destructor of exported resource `k` of [`HostInterface::resources`], which gc-lower
    /// makes (none when the resource has no destructor).
    ResourceDtor(usize),
    /// The memory the host functions pass values through (a core export of a memory).
    Memory(&'a CoreDef),
    /// The realloc of those functions.
    Realloc(&'a CoreDef),
}

/// A host function whose values cross the boundary through linear memory (strings, lists, more
/// than 16 flat parameters or more than one flat result).
#[derive(Debug, Clone)]
pub struct MemoryUser {
    /// The core import or export name, for messages.
    pub name: String,
    /// The `memory` option: a core export of a memory.
    pub memory: CoreDef,
    /// The `realloc` option, if the options have one.
    pub realloc: Option<CoreDef>,
    /// The `string-encoding` option.
    pub encoding: StringEncoding,
}

impl HostInterface {
    /// The output's exports to the host, by name, in the order both output forms export them:
    /// each lifted function and its post-return (`cabi_post_{name}`), the destructors of
    /// exported resources (`{interface}#[dtor]{name}`), then the memory of the host functions
    /// that pass values through one (`memory`) and the first realloc among them
    /// (`cabi_realloc`). Every such function must name the same memory and realloc; each
    /// output form checks that in its own terms.
    pub fn export_items(&self) -> Vec<(String, ExportItem<'_>)> {
        let mut items = Vec::new();
        for export in &self.exports {
            items.push((export.name.clone(), ExportItem::Func(&export.func)));
            if let Some(post) = &export.post_return {
                items.push((export.post_return_name(), ExportItem::Func(post)));
            }
        }
        for (k, resource) in self.resources.iter().enumerate() {
            if resource.exported {
                let name = format!("{}#[dtor]{}", resource.interface, resource.name);
                items.push((name, ExportItem::ResourceDtor(k)));
            }
        }
        if let Some(first) = self.memory_users.first() {
            items.push(("memory".into(), ExportItem::Memory(&first.memory)));
            if let Some(realloc) = self.memory_users.iter().find_map(|u| u.realloc.as_ref()) {
                items.push(("cabi_realloc".into(), ExportItem::Realloc(realloc)));
            }
        }
        items
    }

    /// Every core import of the output, in function index order: the host functions, the
    /// resource intrinsics, the error-context intrinsics, the host's `async` lowerings, the
    /// waitable intrinsics, then the bridged streams' intrinsics, as (module, name, core
    /// type).
    pub fn core_imports(&self) -> Vec<(String, String, FuncType)> {
        let functions = self
            .imports
            .iter()
            .map(|i| (i.module.as_str(), i.name.as_str(), i.ty.clone()));
        let intrinsics = self
            .resource_imports
            .iter()
            .map(|i| (i.module.as_str(), i.name.as_str(), i.intrinsic.ty()));
        let error_contexts = ErrorContextIntrinsic::ALL
            .iter()
            .filter(|_| self.error_context_imports)
            .map(|i| (ROOT_IMPORT_MODULE, i.name(), i.ty()));
        let async_lowerings = self.async_lowerings.iter().map(|l| {
            (
                self.imports[l.import].module.as_str(),
                l.name.as_str(),
                l.ty.clone(),
            )
        });
        let waits = WaitIntrinsic::ALL
            .iter()
            .filter(|_| !self.wait_trampolines.is_empty())
            .map(|i| (ROOT_IMPORT_MODULE, i.name(), i.ty()));
        let mut all: Vec<(String, String, FuncType)> = functions
            .chain(intrinsics)
            .chain(error_contexts)
            .chain(async_lowerings)
            .chain(waits)
            .map(|(m, n, t)| (m.to_string(), n.to_string(), t))
            .collect();
        for s in &self.host_transmits {
            for &i in s.intrinsics() {
                all.push((s.module.clone(), s.import_name(i), s.intrinsic_ty(i)));
            }
        }
        all
    }

    /// The number of core imports before the host's `async` lowerings.
    fn before_async_lowerings(&self) -> usize {
        let error_contexts = if self.error_context_imports {
            ErrorContextIntrinsic::ALL.len()
        } else {
            0
        };
        self.imports.len() + self.resource_imports.len() + error_contexts
    }

    /// The function index of the import that trampoline `t` stands for, when it is one the
    /// exchange phase added to reach the host: a host `async` lowering
    /// ([`HostInterface::async_lowerings`]) or a waitable intrinsic
    /// ([`HostInterface::wait_trampolines`]).
    pub fn async_import_of(&self, t: TrampolineIndex) -> Option<u32> {
        let base = self.before_async_lowerings();
        if let Some(k) = self.async_lowerings.iter().position(|l| l.trampoline == t) {
            return Some((base + k) as u32);
        }
        let base = base + self.async_lowerings.len();
        if let Some(k) = self.wait_trampolines.iter().position(|&w| w == t) {
            return Some((base + k) as u32);
        }
        let base = base + self.wait_trampolines.len();
        let k = self
            .host_transmits
            .iter()
            .flat_map(|s| &s.trampolines)
            .position(|&w| w == t)?;
        Some((base + k) as u32)
    }

    /// The function index of the import of `intrinsic`, if the output imports it.
    pub fn error_context_import(&self, intrinsic: ErrorContextIntrinsic) -> Option<u32> {
        let position = ErrorContextIntrinsic::ALL
            .iter()
            .position(|i| *i == intrinsic)?;
        self.error_context_imports
            .then(|| (self.imports.len() + self.resource_imports.len() + position) as u32)
    }

    /// The function index of the import of `intrinsic` for resource `resource` (an index in
    /// [`HostInterface::resources`]), if the output imports it.
    pub fn resource_import(&self, resource: usize, intrinsic: ResourceIntrinsic) -> Option<u32> {
        self.resource_imports
            .iter()
            .position(|i| i.resource == resource && i.intrinsic == intrinsic)
            .map(|p| (self.imports.len() + p) as u32)
    }

    /// The index in [`HostInterface::resources`] of `resource`, if it crosses the boundary.
    pub fn host_resource(&self, resource: ResourceIndex) -> Option<usize> {
        self.resources.iter().position(|r| r.resource == resource)
    }

    /// Returns the index in [`HostInterface::imports`] of the host import that the
    /// `LowerImport` trampoline `trampoline` lowers, if it is one.
    pub fn import_of(&self, trampoline: TrampolineIndex) -> Option<usize> {
        self.imports
            .iter()
            .position(|import| import.lowerings.iter().any(|l| l.trampoline == trampoline))
    }
}

/// A function the output imports from the host.
#[derive(Debug, Clone)]
pub struct HostImport {
    /// Core module name: [`ROOT_IMPORT_MODULE`] for a world-level function, else the name
    /// under which the component imports the instance (`ns:pkg/iface@1.0.0`, `host`).
    pub module: String,
    /// Core field name: the function's name in the component or in its instance.
    pub name: String,
    /// Core type, the component function type flattened in the lower direction: strings and
    /// lists as (pointer, length) `i32` pairs, more than 16 flat parameters as one pointer to
    /// them, more than one flat result as a trailing `i32` parameter (the return area pointer).
    pub ty: FuncType,
    /// The component function type of the import.
    pub component_ty: TypeFuncIndex,
    /// Whether values cross through linear memory (strings, lists, spilled values).
    pub uses_memory: bool,
    /// Whether resource handles, stream and future ends or error contexts cross (then the
    /// function always goes through host adapters).
    pub has_handles: bool,
    /// Whether error contexts cross.
    pub has_error_contexts: bool,
    /// Whether the results go through a return area (more than one flat result): then
    /// [`HostImport::ty`] ends with the return-area pointer and has no results.
    pub return_area: bool,
    /// Every `LowerImport` trampoline that lowers this function; empty when the component
    /// imports the function but never lowers it (the output still imports it so that the
    /// re-wrapped component keeps the import).
    pub lowerings: Vec<HostLowering>,
    /// Whether the guest calls it through host adapters and the exchange memory
    /// ([`crate::exchange`]).
    pub adapted: bool,
}

/// One `canon lower` of a host import (a `Trampoline::LowerImport`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostLowering {
    /// The trampoline in [`ComponentTranslation::trampolines`].
    pub trampoline: TrampolineIndex,
    /// The lowering's index (`GlobalInitializer::LowerImport`'s `index`).
    pub lowered: LoweredIndex,
    /// The canonical options of the lowering.
    pub options: OptionsIndex,
    /// Whether the lowering is `async` (the guest gets a status and, once the call has
    /// returned, its results in memory); such a lowering goes through the host adapters,
    /// whose host side is a sync lift calling the host's `async` lowering
    /// ([`AsyncHostLowering`]) or its sync one ([`crate::exchange`]).
    pub async_: bool,
}

/// A function the output exports to the host.
#[derive(Debug, Clone)]
pub struct HostExport {
    /// Core export name: `f` for a world-level function, `ns:pkg/iface@1.0.0#f` (or `name#f`)
    /// for a function of an exported instance.
    pub name: String,
    /// Core type, the component function type flattened in the lift direction: strings and
    /// lists as (pointer, length) `i32` pairs, more than 16 flat parameters as one pointer to
    /// them, more than one flat result as one `i32` result (the pointer to them).
    pub ty: FuncType,
    /// The component function type of the export.
    pub component_ty: TypeFuncIndex,
    /// Whether values cross through linear memory (strings, lists, spilled values).
    pub uses_memory: bool,
    /// Whether resource handles, stream and future ends or error contexts cross (then the
    /// function always goes through host adapters).
    pub has_handles: bool,
    /// Whether error contexts cross.
    pub has_error_contexts: bool,
    /// The lifted core function.
    pub func: CoreDef,
    /// The canonical options of the lift.
    pub options: OptionsIndex,
    /// The post-return function, exported as [`HostExport::post_return_name`]; its core type
    /// takes the flat results of [`HostExport::ty`] and returns nothing.
    pub post_return: Option<CoreDef>,
    /// Whether the host calls it through host adapters and the exchange memory
    /// ([`crate::exchange`]).
    pub adapted: bool,
    /// Whether it is an `async` lift with a callback: the host calls it synchronously, through
    /// FACT's sync-to-async adapter (so it is always adapted), and the call returns when the
    /// task returns, as wasmtime's sync lower of an async lift does.
    pub async_lift: bool,
}

impl HostExport {
    /// The core export name of the post-return function: `cabi_post_<name>`.
    pub fn post_return_name(&self) -> String {
        format!("cabi_post_{}", self.name)
    }
}

/// Computes the host interface of the component `component` (binary), translated into
/// `translation` and `types` by wasmtime-environ's `component::Translator` (the types may be
/// the builder's, not yet finished: the core module types are not read).
///
/// When the host functions go through an exchange memory, [`crate::exchange::add_host_adapters`]
/// extends the translation and [`HostInterface::adapt`] adds what it added.
///
/// Errors: [`crate::error::not_yet`] for everything this stage does not support (see the
/// module docs), e.g. `not supported yet: resources at the host boundary`.
pub fn host_interface(
    component: &[u8],
    translation: &ComponentTranslation,
    types: &ComponentTypes,
    num_resource_tables: usize,
) -> anyhow::Result<HostInterface> {
    let mut memory_users = Vec::new();
    let mut found = Vec::new();
    let imports = imports(translation, types, &mut memory_users, &mut found)
        .context("failed to compute the host imports")?;
    let exports = exports(translation, types, &mut memory_users, &mut found)
        .context("failed to compute the host exports")?;
    let (resources, resource_imports) =
        host_resources(&translation.component, types, num_resource_tables, found)?;
    let component_type = component_type(component, encoding_of(&memory_users))?;
    let error_context_imports = imports
        .iter()
        .any(|i| i.has_error_contexts && !i.lowerings.is_empty())
        || exports.iter().any(|e| e.has_error_contexts);
    Ok(HostInterface {
        imports,
        exports,
        component_type,
        memory_users,
        adapted_lowerings: HashMap::new(),
        host_transfers: Vec::new(),
        exchange: None,
        host_instance: None,
        resources,
        resource_imports,
        error_context_imports,
        async_lowerings: Vec::new(),
        wait_trampolines: Vec::new(),
        host_transmits: Vec::new(),
    })
}

/// The string encoding of the host's memory users: that of the first (with different
/// encodings the host functions are adapted, see [`crate::exchange`]), UTF-8 when there is none.
fn encoding_of(memory_users: &[MemoryUser]) -> StringEncoding {
    memory_users
        .first()
        .map_or(StringEncoding::Utf8, |user| user.encoding)
}

impl HostInterface {
    /// Routes the adapted host functions through the host adapters that
    /// [`crate::exchange::add_host_adapters`] added (`plan`): the adapted imports gain the
    /// host side's lowering, the adapted exports become the entry module's functions, and the
    /// one memory user is the exchange memory. `component` (binary) is the input, whose WIT
    /// world is encoded again when the string encoding changes.
    ///
    /// Errors: those of [`host_interface`]'s `component-type` section.
    pub fn adapt(&mut self, component: &[u8], plan: ExchangePlan) -> anyhow::Result<()> {
        for &(i, lowering) in &plan.host_lowerings {
            self.imports[i].lowerings.push(lowering);
            self.imports[i].adapted = true;
        }
        for (&k, (func, post_return)) in &plan.exports {
            self.exports[k].func = func.clone();
            self.exports[k].post_return = Some(post_return.clone());
            self.exports[k].adapted = true;
        }
        let encoding = encoding_of(&self.memory_users);
        self.memory_users = vec![MemoryUser {
            name: "the exchange memory".into(),
            memory: plan.memory,
            realloc: Some(plan.realloc),
            encoding: HOST_ENCODING,
        }];
        if encoding != HOST_ENCODING {
            self.component_type = component_type(component, HOST_ENCODING)?;
        }
        self.adapted_lowerings = plan.lowerings;
        self.host_transfers = plan.host_transfers;
        self.async_lowerings = plan.async_lowerings;
        self.wait_trampolines = plan.wait_trampolines;
        self.host_transmits = plan.host_transmits;
        self.exchange = Some(plan.exchange);
        self.host_instance = Some(plan.host_instance);
        Ok(())
    }
}

/// The resource types found in imported and exported interfaces and imported at the root, as
/// (interface or [`ROOT_IMPORT_MODULE`], name, table), made into [`HostResource`]s (one per
/// resource, named by where it is found first) and the intrinsics the output imports for them:
/// new, rep and drop for an exported resource, drop for an imported one.
fn host_resources(
    component: &Component,
    types: &ComponentTypes,
    num_resource_tables: usize,
    found: Vec<(String, String, TypeResourceTableIndex)>,
) -> anyhow::Result<(Vec<HostResource>, Vec<ResourceImport>)> {
    let mut resources: Vec<HostResource> = Vec::new();
    let mut intrinsics = Vec::new();
    for (interface, name, table) in found {
        let TypeResourceTable::Concrete { ty: resource, .. } = types[table] else {
            anyhow::bail!("resource `{name}` of `{interface}` has no concrete type");
        };
        if resources.iter().any(|r| r.resource == resource) {
            continue;
        }
        let exported = component.defined_resource_index(resource).is_some();
        let index = resources.len();
        let list: &[ResourceIntrinsic] = if exported {
            &[
                ResourceIntrinsic::New,
                ResourceIntrinsic::Rep,
                ResourceIntrinsic::Drop,
            ]
        } else {
            &[ResourceIntrinsic::Drop]
        };
        for &intrinsic in list {
            let verb = match intrinsic {
                ResourceIntrinsic::New => "new",
                ResourceIntrinsic::Rep => "rep",
                ResourceIntrinsic::Drop => "drop",
            };
            intrinsics.push(ResourceImport {
                module: if exported {
                    format!("[export]{interface}")
                } else {
                    interface.clone()
                },
                name: format!("[resource-{verb}]{name}"),
                resource: index,
                intrinsic,
            });
        }
        resources.push(HostResource {
            host_table: TypeResourceTableIndex::from_u32((num_resource_tables + index) as u32),
            interface,
            name,
            resource,
            exported,
        });
    }
    Ok((resources, intrinsics))
}

/// Lists the imported functions and attaches each `LowerImport` trampoline to its function.
fn imports(
    translation: &ComponentTranslation,
    types: &ComponentTypes,
    memory_users: &mut Vec<MemoryUser>,
    found: &mut Vec<(String, String, TypeResourceTableIndex)>,
) -> anyhow::Result<Vec<HostImport>> {
    let component = &translation.component;
    let mut imports = Vec::new();
    // (import name, function name within the instance or "") -> index in `imports`
    let mut by_path: HashMap<(String, String), usize> = HashMap::new();
    for (_, (import_name, ext)) in component.import_types.iter() {
        match ext.ty {
            TypeDef::ComponentFunc(ty) => {
                by_path.insert((import_name.clone(), String::new()), imports.len());
                imports.push(host_import(
                    types,
                    ROOT_IMPORT_MODULE.to_string(),
                    import_name.clone(),
                    ty,
                )?);
            }
            TypeDef::ComponentInstance(instance) => {
                for (func_name, ty) in instance_funcs(types, instance, import_name, found)? {
                    by_path.insert((import_name.clone(), func_name.clone()), imports.len());
                    imports.push(host_import(types, import_name.clone(), func_name, ty)?);
                }
            }
            TypeDef::Interface(_) => {}
            // Either a world-level `use` of an imported interface's resource, which imports
            // that same resource at the root (`(import "r" (type (eq $r)))`, found again here
            // after its interface), or a resource the world itself declares (`resource r;`),
            // whose intrinsics are `$root` imports. `host_resources` keeps the first.
            TypeDef::Resource(table) => {
                found.push((ROOT_IMPORT_MODULE.to_string(), import_name.clone(), table));
            }
            TypeDef::Module(_) => {
                return Err(not_yet(format!(
                    "core module `{import_name}` imported by the root component"
                )));
            }
            TypeDef::Component(_) => {
                return Err(not_yet(format!(
                    "component `{import_name}` imported by the root component"
                )));
            }
            TypeDef::CoreFunc(_) => {
                return Err(not_yet(format!(
                    "core function `{import_name}` imported by the root component"
                )));
            }
        }
    }

    let trampolines: HashMap<LoweredIndex, (TrampolineIndex, OptionsIndex)> = translation
        .trampolines
        .iter()
        .filter_map(|(trampoline, t)| match t {
            Trampoline::LowerImport { index, options, .. } => {
                Some((*index, (trampoline, *options)))
            }
            _ => None,
        })
        .collect();
    for init in &component.initializers {
        let GlobalInitializer::LowerImport { index, import } = init else {
            continue;
        };
        let (import_index, path) = &component.imports[*import];
        let import_name = &component.import_types[*import_index].0;
        let key = match path.as_slice() {
            [] => (import_name.clone(), String::new()),
            [func] => (import_name.clone(), func.clone()),
            _ => {
                return Err(not_yet(format!(
                    "functions of instances nested in imported instance `{import_name}`"
                )));
            }
        };
        let Some(&position) = by_path.get(&key) else {
            anyhow::bail!(
                "lowered import `{}` is not an imported function",
                path.join("/")
            );
        };
        let Some(&(trampoline, options)) = trampolines.get(index) else {
            anyhow::bail!("lowered import {} has no trampoline", index.as_u32());
        };
        let import = &imports[position];
        // An async lowering passes its results (and more than 4 flat parameters) through
        // memory; the host's side of it is a sync lift ([`crate::exchange`]).
        let uses_memory = if component.options[options].async_ {
            flat::flatten_async_lower(types, import.component_ty)?
                .1
                .memory
        } else {
            import.uses_memory
        };
        if uses_memory {
            let user = memory_user(translation, &import.name, options)?;
            memory_users.push(user);
        }
        imports[position].lowerings.push(HostLowering {
            trampoline,
            lowered: *index,
            options,
            async_: component.options[options].async_,
        });
    }
    Ok(imports)
}

/// The host import `module` `name` of component function type `ty`, not lowered yet.
fn host_import(
    types: &ComponentTypes,
    module: String,
    name: String,
    ty: TypeFuncIndex,
) -> anyhow::Result<HostImport> {
    let (flat, uses) = flatten_func(types, ty, Direction::Lower)?;
    let (lifted, _) = flatten_func(types, ty, Direction::Lift)?;
    Ok(HostImport {
        module,
        name,
        return_area: lifted.results() != flat.results(),
        ty: flat,
        component_ty: ty,
        uses_memory: uses.memory,
        has_handles: uses.handles,
        has_error_contexts: uses.error_contexts,
        lowerings: Vec::new(),
        adapted: false,
    })
}

/// The core type of the component function type `ty` in the lower direction (canonical ABI
/// `flatten_functype` for `lower`): more than one flat result becomes a trailing return-area
/// pointer parameter.
///
/// Errors: as [`host_interface`], for types this stage does not support.
pub fn lowered_core_type(types: &ComponentTypes, ty: TypeFuncIndex) -> anyhow::Result<FuncType> {
    Ok(flatten_func(types, ty, Direction::Lower)?.0)
}

/// The core type of an `async` lowering of the component function type `ty` (canonical ABI
/// `flatten_functype` with `async`, `lower`): at most 4 flat parameters (else one pointer to
/// them), a trailing pointer to where the results go when there are any, an `i32` status.
///
/// Errors: as [`host_interface`], for types this stage does not support.
pub fn async_lowered_core_type(
    types: &ComponentTypes,
    ty: TypeFuncIndex,
) -> anyhow::Result<FuncType> {
    Ok(flat::flatten_async_lower(types, ty)?.0)
}

/// Whether the values of `ty` hold no string, list, map, resource handle, stream or future
/// end or error context: the items that the output's bridges to the host's streams and
/// futures copy (`crate::transmit`), which need neither an allocation nor a handle table.
pub fn plain_type(types: &ComponentTypes, ty: &InterfaceType) -> bool {
    let mut uses = flat::Uses::default();
    flat::check_type(types, ty, &mut uses).is_ok() && !uses.memory && !uses.handles
}

/// Whether the results of the component function type `ty` hold a string, a list or a map.
///
/// Errors: as [`host_interface`], for types this stage does not support.
pub fn results_hold_memory(types: &ComponentTypes, ty: TypeFuncIndex) -> anyhow::Result<bool> {
    flat::results_hold_memory(types, ty)
}

/// The functions of the imported instance type `instance`, by name, in export order.
fn instance_funcs(
    types: &ComponentTypes,
    instance: TypeComponentInstanceIndex,
    import_name: &str,
    found: &mut Vec<(String, String, TypeResourceTableIndex)>,
) -> anyhow::Result<Vec<(String, TypeFuncIndex)>> {
    let mut funcs = Vec::new();
    for (name, ext) in &types[instance].exports {
        match ext.ty {
            TypeDef::ComponentFunc(ty) => funcs.push((name.clone(), ty)),
            TypeDef::Interface(_) => {}
            TypeDef::Resource(table) => {
                found.push((import_name.to_string(), name.clone(), table));
            }
            TypeDef::ComponentInstance(_) => {
                return Err(not_yet(format!(
                    "instance `{name}` nested in imported instance `{import_name}`"
                )));
            }
            TypeDef::Module(_) | TypeDef::Component(_) | TypeDef::CoreFunc(_) => {
                return Err(not_yet(format!(
                    "`{name}` of imported instance `{import_name}`, which is not a function"
                )));
            }
        }
    }
    Ok(funcs)
}

/// Lists the exported lifted functions with their post-return functions.
fn exports(
    translation: &ComponentTranslation,
    types: &ComponentTypes,
    memory_users: &mut Vec<MemoryUser>,
    found: &mut Vec<(String, String, TypeResourceTableIndex)>,
) -> anyhow::Result<Vec<HostExport>> {
    let component = &translation.component;
    let post_returns: HashMap<RuntimePostReturnIndex, &CoreDef> = component
        .initializers
        .iter()
        .filter_map(|init| match init {
            GlobalInitializer::ExtractPostReturn(p) => Some((p.index, &p.def)),
            _ => None,
        })
        .collect();
    let mut lifted = |name: String, ty: TypeFuncIndex, func: &CoreDef, options: OptionsIndex| {
        let opts = &component.options[options];
        if opts.async_ && opts.callback.is_none() {
            return Err(not_yet("stackful async lifts at the host boundary"));
        }
        // A callback lift: the host's view is the sync lift of its (`async`) type.
        let async_lift = opts.async_;
        let (flat, uses) = flatten_func(types, ty, Direction::Lift)?;
        // The host's sync view of an async lift may need memory (several flat results) that
        // the lift does not; its values cross through the exchange memory in any case.
        if uses.memory && !async_lift {
            memory_users.push(memory_user(translation, &name, options)?);
        }
        let post_return = match opts.post_return {
            None => None,
            Some(index) => match post_returns.get(&index) {
                Some(def) => Some((*def).clone()),
                None => anyhow::bail!("post-return of `{name}` is never extracted"),
            },
        };
        Ok(HostExport {
            name,
            ty: flat,
            component_ty: ty,
            uses_memory: uses.memory,
            has_handles: uses.handles,
            has_error_contexts: uses.error_contexts,
            func: func.clone(),
            options,
            post_return,
            adapted: false,
            async_lift,
        })
    };

    let mut exports = Vec::new();
    let mut root_resources = Vec::new();
    for (name, (index, _)) in component.exports.raw_iter() {
        let name: &str = name;
        match &component.export_items[*index] {
            Export::LiftedFunction { ty, func, options } => {
                exports.push(lifted(name.to_string(), *ty, func, *options)?);
            }
            Export::Instance {
                ty,
                exports: members,
            } => {
                // The instance type lists the members in declaration order; `members` may not.
                for member in types[*ty].exports.keys() {
                    let Some((index, _)) = members.get(member, &NameMapNoIntern) else {
                        anyhow::bail!("exported instance `{name}` lacks its member `{member}`");
                    };
                    match &component.export_items[*index] {
                        Export::LiftedFunction { ty, func, options } => {
                            exports.push(lifted(format!("{name}#{member}"), *ty, func, *options)?);
                        }
                        Export::Type(TypeDef::Resource(table)) => {
                            found.push((name.to_string(), member.clone(), *table));
                        }
                        Export::Type(_) => {}
                        Export::Instance { .. } => {
                            return Err(not_yet(format!(
                                "instance `{member}` nested in exported instance `{name}`"
                            )));
                        }
                        Export::ModuleStatic { .. } | Export::ModuleImport { .. } => {
                            return Err(not_yet(format!(
                                "core module `{member}` exported by instance `{name}`"
                            )));
                        }
                    }
                }
            }
            Export::Type(TypeDef::Resource(table)) => root_resources.push((name, *table)),
            Export::Type(_) => {}
            Export::ModuleStatic { .. } | Export::ModuleImport { .. } => {
                return Err(not_yet(format!(
                    "core module `{name}` exported by the root component"
                )));
            }
        }
    }
    // A resource type exported at the root is fine when it is one the world imports (through
    // an interface or declared at its root) or an exported interface's: the export only names
    // it again, and becomes an import of the world (`type_exports_as_imports`). A resource the
    // component defines and exports only at its root has no WIT form: a world's own resource
    // types are imported, and an exported resource belongs to an exported interface.
    for (name, table) in root_resources {
        let TypeResourceTable::Concrete { ty: resource, .. } = types[table] else {
            anyhow::bail!("resource `{name}` exported at the root has no concrete type");
        };
        let named_elsewhere = found.iter().any(|(_, _, t)| {
            matches!(types[*t], TypeResourceTable::Concrete { ty, .. } if ty == resource)
        });
        if !named_elsewhere {
            return Err(not_yet(format!(
                "resource `{name}` defined by the component and exported at the root of the \
                 world, outside an interface (a WIT world cannot export a resource type)"
            )));
        }
    }
    Ok(exports)
}

/// The [`MemoryUser`] for the host function `name` whose canonical options are `options`.
fn memory_user(
    translation: &ComponentTranslation,
    name: &str,
    options: OptionsIndex,
) -> anyhow::Result<MemoryUser> {
    let component = &translation.component;
    let opts = &component.options[options];
    let CanonicalOptionsDataModel::LinearMemory(linear) = opts.data_model else {
        return Err(not_yet(format!(
            "the GC data model at the host boundary (`{name}`)"
        )));
    };
    let Some(memory) = linear.memory else {
        anyhow::bail!("`{name}` passes values through memory but its options name none");
    };
    let memory = memory_def(&translation.component, memory)?;
    let realloc = linear
        .realloc
        .map(|index| realloc_def(component, index))
        .transpose()?;
    Ok(MemoryUser {
        name: name.to_string(),
        memory,
        realloc,
        encoding: opts.string_encoding,
    })
}

/// The function that runtime realloc `index` (a canonical option's realloc) is extracted from.
pub fn realloc_def(component: &Component, index: RuntimeReallocIndex) -> anyhow::Result<CoreDef> {
    component
        .initializers
        .iter()
        .find_map(|init| match init {
            GlobalInitializer::ExtractRealloc(e) if e.index == index => Some(e.def.clone()),
            _ => None,
        })
        .with_context(|| format!("runtime realloc {} is never extracted", index.as_u32()))
}

/// The core export that runtime memory `index` (a canonical option's or a transcoder's memory)
/// is extracted from, as a [`CoreDef`].
pub fn memory_def(component: &Component, index: RuntimeMemoryIndex) -> anyhow::Result<CoreDef> {
    component
        .initializers
        .iter()
        .find_map(|init| match init {
            GlobalInitializer::ExtractMemory(e) if e.index == index => Some(CoreDef::Export(
                e.export.clone().map_index(EntityIndex::Memory),
            )),
            _ => None,
        })
        .with_context(|| format!("runtime memory {} is never extracted", index.as_u32()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_encoder::{
        CodeSection, CustomSection, EntityType, ExportKind, ExportSection, Function,
        FunctionSection, ImportSection, Instruction, Module, TypeSection,
    };
    use wasmtime_environ::component::{ComponentTypesBuilder, Translator};
    use wasmtime_environ::wasmparser::{Validator, WasmFeatures};
    use wasmtime_environ::{ScopeVec, Tunables};

    /// Translates `bytes` the way the front end does.
    fn translate_for_tests(bytes: &[u8]) -> (ComponentTranslation, ComponentTypes) {
        let mut tunables = Tunables::default_host();
        tunables.concurrency_support = false;
        let mut validator = Validator::new_with_features(WasmFeatures::default());
        let mut types = ComponentTypesBuilder::new(&validator);
        let scope = ScopeVec::new();
        let (translation, _modules) =
            Translator::new(&tunables, &mut validator, &mut types, &scope)
                .translate(bytes)
                .expect("test component translates");
        let (types, _) = types.finish(&translation.component);
        (translation, types)
    }

    fn interface_of(
        wat: &str,
    ) -> anyhow::Result<(HostInterface, ComponentTranslation, ComponentTypes)> {
        let bytes = wat::parse_str(wat).expect("test component parses");
        let (translation, types) = translate_for_tests(&bytes);
        let host = host_interface(&bytes, &translation, &types, 0)?;
        Ok((host, translation, types))
    }

    fn val_type(ty: &ValType) -> wasm_encoder::ValType {
        match ty {
            ValType::I32 => wasm_encoder::ValType::I32,
            ValType::I64 => wasm_encoder::ValType::I64,
            ValType::F32 => wasm_encoder::ValType::F32,
            ValType::F64 => wasm_encoder::ValType::F64,
            other => panic!("unexpected flat type {other:?}"),
        }
    }

    /// A core module with the host interface and no code: every export traps.
    fn stub_module(host: &HostInterface) -> Vec<u8> {
        let mut types = TypeSection::new();
        let mut imports = ImportSection::new();
        let mut funcs = FunctionSection::new();
        let mut exports = ExportSection::new();
        let mut code = CodeSection::new();
        let mut add_type = |ty: &FuncType| {
            let index = types.len();
            types.ty().function(
                ty.params().iter().map(val_type),
                ty.results().iter().map(val_type),
            );
            index
        };
        for import in &host.imports {
            let ty = add_type(&import.ty);
            imports.import(&import.module, &import.name, EntityType::Function(ty));
        }
        let mut func_index = imports.len();
        let mut define = |name: &str, ty: u32| {
            funcs.function(ty);
            let mut body = Function::new([]);
            body.instruction(&Instruction::Unreachable);
            body.instruction(&Instruction::End);
            code.function(&body);
            exports.export(name, ExportKind::Func, func_index);
            func_index += 1;
        };
        for export in &host.exports {
            let ty = add_type(&export.ty);
            define(&export.name, ty);
            if export.post_return.is_some() {
                let post = FuncType::new(export.ty.results().iter().copied(), []);
                let ty = add_type(&post);
                define(&export.post_return_name(), ty);
            }
        }
        let mut module = Module::new();
        module.section(&types);
        module.section(&imports);
        module.section(&funcs);
        module.section(&exports);
        module.section(&code);
        module.section(&CustomSection {
            name: host.component_type.0.as_str().into(),
            data: host.component_type.1.as_slice().into(),
        });
        module.finish()
    }

    /// The component's WIT world, printed with every package it refers to.
    fn wit_of(component: &[u8]) -> String {
        let decoded = wit_component::decode(component).expect("component decodes as WIT");
        let resolve = decoded.resolve();
        let main = decoded.package();
        let nested: Vec<_> = resolve
            .packages
            .iter()
            .map(|(id, _)| id)
            .filter(|id| *id != main)
            .collect();
        let mut printer = wit_component::WitPrinter::default();
        printer.print(resolve, main, &nested).expect("WIT prints");
        sort_world_items(&printer.output.to_string())
    }

    /// Sorts the items of `world … { … }` blocks: wit-component lists a world's functions
    /// before its interfaces, an order that the component type does not depend on. Every
    /// world item of the test components prints on one line.
    fn sort_world_items(wit: &str) -> String {
        let mut out = Vec::new();
        let mut items: Option<Vec<&str>> = None;
        for line in wit.lines() {
            match &mut items {
                None => {
                    out.push(line.to_string());
                    if line.trim_start().starts_with("world ") {
                        items = Some(Vec::new());
                    }
                }
                Some(block) if line.trim() == "}" => {
                    block.sort_unstable();
                    out.extend(block.drain(..).map(str::to_string));
                    out.push(line.to_string());
                    items = None;
                }
                Some(block) => {
                    if !line.trim().is_empty() {
                        block.push(line);
                    }
                }
            }
        }
        out.join("\n")
    }

    /// Checks that the stub module of `wat`'s host interface re-wraps into a component with
    /// the same WIT world, and that every flat type agrees with wasmtime's core types.
    fn round_trip(wat: &str) -> HostInterface {
        let bytes = wat::parse_str(wat).expect("test component parses");
        let (translation, types) = translate_for_tests(&bytes);
        let host = host_interface(&bytes, &translation, &types, 0).expect("host interface");
        let core_ty = |options: OptionsIndex| {
            let ty = types[translation.component.options[options].core_type].unwrap_func();
            let conv = |t: &wasmtime_environ::WasmValType| match t {
                wasmtime_environ::WasmValType::I32 => ValType::I32,
                wasmtime_environ::WasmValType::I64 => ValType::I64,
                wasmtime_environ::WasmValType::F32 => ValType::F32,
                wasmtime_environ::WasmValType::F64 => ValType::F64,
                other => panic!("unexpected core type {other:?}"),
            };
            FuncType::new(ty.params().iter().map(conv), ty.results().iter().map(conv))
        };
        for import in &host.imports {
            for lowering in &import.lowerings {
                let expected = if lowering.async_ {
                    async_lowered_core_type(&types, import.component_ty).unwrap()
                } else {
                    import.ty.clone()
                };
                assert_eq!(
                    core_ty(lowering.options),
                    expected,
                    "import `{}`",
                    import.name
                );
            }
        }
        for export in &host.exports {
            assert_eq!(
                core_ty(export.options),
                export.ty,
                "export `{}`",
                export.name
            );
        }
        let stub = stub_module(&host);
        Validator::new()
            .validate_all(&stub)
            .expect("stub module validates");
        let rewrapped = crate::rewrap(&stub).expect("stub module re-wraps");
        assert_eq!(wit_of(&rewrapped), wit_of(&bytes));
        host
    }

    fn names(host: &HostInterface) -> (Vec<(String, String)>, Vec<String>) {
        (
            host.imports
                .iter()
                .map(|i| (i.module.clone(), i.name.clone()))
                .collect(),
            host.exports.iter().map(|e| e.name.clone()).collect(),
        )
    }

    #[test]
    fn root_function_exports() {
        let host = round_trip(
            r#"(component
              (core module $M
                (global $g (mut i32) (i32.const 0))
                (func (export "bump") (result i32)
                  (global.set $g (i32.add (global.get $g) (i32.const 1)))
                  (global.get $g))
                (func (export "poke") (param i32 i64))
                (func (export "mix") (param f32 f64 i32) (result f64) unreachable))
              (core instance $a (instantiate $M))
              (core instance $b (instantiate $M))
              (func (export "bump-a") (result u32) (canon lift (core func $a "bump")))
              (func (export "bump-b") (result u32) (canon lift (core func $b "bump")))
              (func (export "poke-a") (param "addr" u32) (param "val" s64)
                (canon lift (core func $a "poke")))
              (func (export "mix") (param "a" f32) (param "b" f64) (param "c" char) (result f64)
                (canon lift (core func $b "mix")))
            )"#,
        );
        let (imports, exports) = names(&host);
        assert!(imports.is_empty());
        assert_eq!(exports, ["bump-a", "bump-b", "poke-a", "mix"]);
        assert_eq!(host.exports[0].ty, FuncType::new([], [ValType::I32]));
        assert_eq!(
            host.exports[2].ty,
            FuncType::new([ValType::I32, ValType::I64], [])
        );
        assert_eq!(
            host.exports[3].ty,
            FuncType::new([ValType::F32, ValType::F64, ValType::I32], [ValType::F64])
        );
        assert!(host.component_type.0.starts_with("component-type"));
    }

    /// The core type of an `async` lowering of a host import is wasmtime's: more than four
    /// flat parameters become a pointer, a result a trailing pointer, the result a status.
    #[test]
    fn async_lowerings_have_the_async_core_type() {
        let bytes = wat::parse_str(
            r#"(component
              (import "five" (func $five async (param "a" u32) (param "b" u32) (param "c" u32)
                (param "d" u32) (param "e" u32) (result u32)))
              (import "four" (func $four async (param "a" u64) (param "b" f32) (param "c" u32)
                (param "d" u32)))
              (core module $Memory (memory (export "mem") 1))
              (core instance $memory (instantiate $Memory))
              (core func $five (canon lower (func $five) async (memory $memory "mem")))
              (core func $four (canon lower (func $four) async))
              (core module $M
                (import "" "five" (func (param i32 i32) (result i32)))
                (import "" "four" (func (param i64 f32 i32 i32) (result i32))))
              (core instance (instantiate $M (with "" (instance
                (export "five" (func $five)) (export "four" (func $four))))))
            )"#,
        )
        .expect("test component parses");
        let mut tunables = Tunables::default_host();
        tunables.concurrency_support = true;
        let mut validator =
            Validator::new_with_features(WasmFeatures::default() | WasmFeatures::CM_ASYNC);
        let mut builder = ComponentTypesBuilder::new(&validator);
        let scope = ScopeVec::new();
        let (translation, _modules) =
            Translator::new(&tunables, &mut validator, &mut builder, &scope)
                .translate(&bytes)
                .expect("test component translates");
        let (types, _) = builder.finish(&translation.component);
        let host = host_interface(&bytes, &translation, &types, 0).expect("host interface");
        let expected = [
            FuncType::new([ValType::I32, ValType::I32], [ValType::I32]),
            FuncType::new(
                [ValType::I64, ValType::F32, ValType::I32, ValType::I32],
                [ValType::I32],
            ),
        ];
        for (import, expected) in host.imports.iter().zip(expected) {
            let [lowering] = import.lowerings[..] else {
                panic!("`{}` is lowered once", import.name);
            };
            assert!(lowering.async_);
            let ty = async_lowered_core_type(&types, import.component_ty).unwrap();
            assert_eq!(ty, expected, "import `{}`", import.name);
            // wasmtime-environ's own core type of the lowering.
            let core =
                types[translation.component.options[lowering.options].core_type].unwrap_func();
            assert_eq!(core.params().len(), ty.params().len(), "`{}`", import.name);
            assert_eq!(core.results().len(), 1, "`{}`", import.name);
        }
    }

    #[test]
    fn exported_interfaces() {
        let host = round_trip(
            r#"(component
              (core module $M
                (func (export "add") (param i32 i32) (result i32)
                  (i32.add (local.get 0) (local.get 1)))
                (func (export "neg") (param f32) (result f32) (f32.neg (local.get 0))))
              (core instance $m (instantiate $M))
              (func $add (param "a" u32) (param "b" u32) (result u32)
                (canon lift (core func $m "add")))
              (func $neg (param "x" f32) (result f32) (canon lift (core func $m "neg")))
              (instance $math (export "add" (func $add)) (export "neg" (func $neg)))
              (instance $v (export "neg" (func $neg)))
              (export "ns:pkg/math" (instance $math))
              (export "ns:pkg/versioned@1.0.0" (instance $v))
              (export "top" (func $add))
            )"#,
        );
        let (_, exports) = names(&host);
        assert_eq!(
            exports,
            [
                "ns:pkg/math#add",
                "ns:pkg/math#neg",
                "ns:pkg/versioned@1.0.0#neg",
                "top"
            ]
        );
    }

    #[test]
    fn imported_interfaces_and_root_functions() {
        let host = round_trip(
            r#"(component
              (import "ns:pkg/host@1.0.0" (instance $h
                (export "log" (func (param "x" u32)))
                (export "now" (func (result u64)))))
              (import "tick" (func $tick (result s32)))
              (import "unused" (func (param "x" bool)))
              (core func $log (canon lower (func $h "log")))
              (core func $tick (canon lower (func $tick)))
              (core func $tick2 (canon lower (func $tick) string-encoding=utf16))
              (core module $M
                (import "" "log" (func $log (param i32)))
                (import "" "tick" (func $tick (result i32)))
                (import "" "tick2" (func $tick2 (result i32)))
                (func (export "run") (result i32)
                  (call $log (i32.const 1))
                  (i32.add (call $tick) (call $tick2))))
              (core instance $m (instantiate $M (with "" (instance
                (export "log" (func $log))
                (export "tick" (func $tick))
                (export "tick2" (func $tick2))))))
              (func (export "run") (result s32) (canon lift (core func $m "run")))
            )"#,
        );
        let (imports, exports) = names(&host);
        let pair = |m: &str, n: &str| (m.to_string(), n.to_string());
        assert_eq!(
            imports,
            [
                pair("ns:pkg/host@1.0.0", "log"),
                pair("ns:pkg/host@1.0.0", "now"),
                pair("$root", "tick"),
                pair("$root", "unused"),
            ]
        );
        assert_eq!(exports, ["run"]);
        assert_eq!(host.imports[0].lowerings.len(), 1);
        assert!(host.imports[1].lowerings.is_empty());
        assert_eq!(host.imports[2].lowerings.len(), 2);
        assert_eq!(host.imports[1].ty, FuncType::new([], [ValType::I64]));
        let trampoline = host.imports[2].lowerings[1].trampoline;
        assert_eq!(host.import_of(trampoline), Some(2));
    }

    #[test]
    fn plain_named_instance_import() {
        let host = round_trip(
            r#"(component
              (import "host" (instance $h (export "get" (func (result u32)))))
              (core func $get (canon lower (func $h "get")))
              (core module $M
                (import "" "get" (func $get (result i32)))
                (func (export "run") (result i32) (call $get)))
              (core instance $m (instantiate $M (with "" (instance (export "get" (func $get))))))
              (func (export "run") (result u32) (canon lift (core func $m "run")))
            )"#,
        );
        assert_eq!(host.imports[0].module, "host");
        assert_eq!(host.imports[0].name, "get");
    }

    #[test]
    fn post_return() {
        let host = round_trip(
            r#"(component
              (core module $M
                (func (export "f") (param i32) (result i64) (i64.extend_i32_u (local.get 0)))
                (func (export "f-post") (param i64)))
              (core instance $m (instantiate $M))
              (func $f (param "x" u8) (result u64)
                (canon lift (core func $m "f") (post-return (func $m "f-post"))))
              (export "f" (func $f))
              (instance $i (export "g" (func $f)))
              (export "ns:pkg/iface" (instance $i))
            )"#,
        );
        assert!(host.exports.iter().all(|e| e.post_return.is_some()));
        let posts: Vec<_> = host
            .exports
            .iter()
            .map(HostExport::post_return_name)
            .collect();
        assert_eq!(posts, ["cabi_post_f", "cabi_post_ns:pkg/iface#g"]);
    }

    #[test]
    fn variants_flatten_with_joined_payloads() {
        let host = round_trip(
            r#"(component
              (import "ns:pkg/types" (instance $t
                (type $e (enum "a" "b" "c"))
                (export "e" (type (eq $e)))
                (type $fl (flags "x" "y"))
                (export "fl" (type (eq $fl)))))
              (alias export $t "e" (type $e))
              (alias export $t "fl" (type $fl))
              (import "e" (type $e2 (eq $e)))
              (import "fl" (type $fl2 (eq $fl)))
              (core module $M
                (func (export "f")
                  (param i32 i64 i32 i32 i32 f64 i32 i32 i32 i64) (result i32) unreachable))
              (core instance $m (instantiate $M))
              (func (export "f")
                (param "a" (option u64))
                (param "b" (result f32 (error u32)))
                (param "c" (tuple u8 f64))
                (param "d" $e2)
                (param "e" $fl2)
                (param "g" (result u32 (error f64)))
                (result bool)
                (canon lift (core func $m "f")))
            )"#,
        );
        use ValType::*;
        assert_eq!(
            host.exports[0].ty,
            FuncType::new([I32, I64, I32, I32, I32, F64, I32, I32, I32, I64], [I32])
        );
    }

    #[test]
    fn interface_type_used_without_root_import_is_rejected() {
        let message = not_yet_message(
            r#"(component
              (import "ns:pkg/types" (instance $t
                (type $e (enum "a" "b"))
                (export "e" (type (eq $e)))))
              (alias export $t "e" (type $e))
              (core module $M (func (export "f") (param i32) unreachable))
              (core instance $m (instantiate $M))
              (func (export "f") (param "x" $e) (canon lift (core func $m "f")))
            )"#,
        );
        assert!(
            message.contains("component types that WIT cannot describe"),
            "{message}"
        );
    }

    fn not_yet_message(wat: &str) -> String {
        let err = interface_of(wat).err().expect("host interface is rejected");
        let unsupported = crate::find_unsupported(&err).expect("error is an `Unsupported`");
        assert!(unsupported.planned);
        unsupported.to_string()
    }

    #[test]
    fn strings_pass_through_the_lifting_memory() {
        let (host, ..) = interface_of(
            r#"(component
              (import "log" (func $log (param "msg" string) (result string)))
              (core module $M
                (memory (export "memory") 1)
                (func (export "realloc") (param i32 i32 i32 i32) (result i32) unreachable)
                (func (export "greet") (param i32 i32) (result i32) unreachable))
              (core instance $m (instantiate $M))
              (core func $log (canon lower (func $log)
                (memory $m "memory") (realloc (func $m "realloc"))))
              (core module $N (import "" "log" (func (param i32 i32 i32))))
              (core instance (instantiate $N (with "" (instance (export "log" (func $log))))))
              (func (export "greet") (param "name" string) (result string)
                (canon lift (core func $m "greet")
                  (memory $m "memory") (realloc (func $m "realloc"))))
            )"#,
        )
        .expect("strings at the host boundary are supported");
        use ValType::*;
        // Lower: the string result goes to a return area whose pointer is the last parameter.
        assert_eq!(host.imports[0].ty, FuncType::new([I32, I32, I32], []));
        // Lift: one pointer to the (pointer, length) pair of the result.
        assert_eq!(host.exports[0].ty, FuncType::new([I32, I32], [I32]));
        let names: Vec<_> = host.memory_users.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(names, ["log", "greet"]);
        assert!(host.memory_users.iter().all(|u| u.realloc.is_some()));
    }

    #[test]
    fn spilled_flat_values_use_memory() {
        let params = (0..17)
            .map(|i| format!("(param \"p{i}\" u32)"))
            .collect::<String>();
        let (host, ..) = interface_of(&format!(
            r#"(component
              (core module $M
                (memory (export "memory") 1)
                (func (export "realloc") (param i32 i32 i32 i32) (result i32) unreachable)
                (func (export "f") (param i32) (result i32) unreachable))
              (core instance $m (instantiate $M))
              (func (export "f") {params} (result (tuple u32 u32))
                (canon lift (core func $m "f") (memory $m "memory") (realloc (func $m "realloc"))))
            )"#
        ))
        .expect("spilled parameters and results are supported");
        use ValType::*;
        assert_eq!(host.exports[0].ty, FuncType::new([I32], [I32]));
        assert_eq!(host.memory_users.len(), 1);
    }

    #[test]
    fn root_type_exports_become_imports_of_the_world() {
        let (host, ..) = interface_of(
            r#"(component
              (core module $M (func (export "f") (param i32) (result i32) unreachable))
              (core instance $m (instantiate $M))
              (type $e (enum "a" "b"))
              (export $e2 "e" (type $e))
              (func (export "f") (param "x" $e2) (result $e2) (canon lift (core func $m "f")))
            )"#,
        )
        .expect("a root type export is described as a world-level type");
        assert_eq!(host.exports[0].name, "f");
        assert!(host.memory_users.is_empty());
    }

    fn intrinsics(host: &HostInterface) -> Vec<(String, String)> {
        host.resource_imports
            .iter()
            .map(|i| (i.module.clone(), i.name.clone()))
            .collect()
    }

    /// The instance import of `ns:host/things` with its resource `thing`, aliased as `$thing'`.
    const THINGS: &str = r#"
      (import "ns:host/things" (instance $things
        (export "thing" (type $thing (sub resource)))
        (export "[method]thing.get" (func (param "self" (borrow $thing)) (result u32)))))
      (alias export $things "thing" (type $thing'))"#;

    #[test]
    fn root_use_of_an_interface_resource_is_that_resource() {
        let host = round_trip(&format!(
            r#"(component {THINGS}
              (import "thing" (type $thing (eq $thing')))
              (import "make" (func $make (param "x" u32) (result (own $thing))))
              (core func $make (canon lower (func $make)))
              (core module $M
                (import "" "make" (func (param i32) (result i32)))
                (func (export "check") (param i32) (result i32) unreachable))
              (core instance $m (instantiate $M (with "" (instance (export "make" (func $make))))))
              (func (export "check") (param "t" (borrow $thing)) (result u32)
                (canon lift (core func $m "check")))
            )"#
        ));
        assert_eq!(host.resources.len(), 1);
        assert_eq!(host.resources[0].interface, "ns:host/things");
        assert_eq!(
            intrinsics(&host),
            [("ns:host/things".into(), "[resource-drop]thing".into())]
        );
        assert_eq!(host.imports[1].name, "make");
        assert!(host.imports[1].has_handles && host.exports[0].has_handles);
    }

    #[test]
    fn root_type_export_of_an_interface_resource_is_that_resource() {
        let (host, ..) = interface_of(&format!(
            r#"(component {THINGS}
              (core module $M (func (export "check") (param i32) (result i32) unreachable))
              (core instance $m (instantiate $M))
              (export $thing "thing" (type $thing'))
              (func (export "check") (param "t" (borrow $thing)) (result u32)
                (canon lift (core func $m "check")))
            )"#
        ))
        .expect("a root export of an imported resource names that resource");
        assert_eq!(
            intrinsics(&host),
            [("ns:host/things".into(), "[resource-drop]thing".into())]
        );
    }

    #[test]
    fn resources_declared_by_the_world_have_root_intrinsics() {
        let host = round_trip(
            r#"(component
              (import "r" (type $r (sub resource)))
              (import "[constructor]r" (func $new (result (own $r))))
              (core func $new (canon lower (func $new)))
              (core module $M
                (import "" "new" (func (result i32)))
                (func (export "f") (param i32) (result i32) unreachable))
              (core instance $m (instantiate $M (with "" (instance (export "new" (func $new))))))
              (func (export "f") (param "x" (borrow $r)) (result u32) (canon lift (core func $m "f")))
            )"#,
        );
        assert_eq!(host.resources.len(), 1);
        assert!(!host.resources[0].exported);
        assert_eq!(
            intrinsics(&host),
            [("$root".into(), "[resource-drop]r".into())]
        );
        assert_eq!(host.imports[0].module, "$root");
        assert_eq!(host.imports[0].name, "[constructor]r");
    }

    #[test]
    fn resources_defined_and_exported_at_the_root_are_rejected() {
        let message = not_yet_message(
            r#"(component
              (type $r (resource (rep i32)))
              (core func $new (canon resource.new $r))
              (core module $M (func (export "f") (result i32) unreachable))
              (core instance $m (instantiate $M))
              (export $r2 "r" (type $r))
              (func (export "f") (result (own $r2)) (canon lift (core func $m "f")))
            )"#,
        );
        assert!(
            message.contains("defined by the component and exported at the root of the world"),
            "{message}"
        );
    }

    #[test]
    fn exported_core_module_is_rejected() {
        let message = not_yet_message(
            r#"(component
              (core module $M)
              (export "m" (core module $M))
            )"#,
        );
        assert!(message.contains("core module `m`"), "{message}");
    }
}

/// The string encoding of the host side of every adapter.
pub const HOST_ENCODING: StringEncoding = StringEncoding::Utf8;

/// What [`crate::exchange::add_host_adapters`] added, for the host interface to use.
#[derive(Debug, Clone)]
pub struct ExchangePlan {
    /// The exchange module's instance.
    pub exchange: RuntimeInstanceIndex,
    /// The host side's component instance.
    pub host_instance: wasmtime_environ::component::RuntimeComponentInstanceIndex,
    /// The exchange memory, exported as `memory`.
    pub memory: CoreDef,
    /// The exchange memory's bump allocator, exported as `cabi_realloc`.
    pub realloc: CoreDef,
    /// For an adapted host import (its index in [`HostInterface::imports`]), the lowering with
    /// the host side's options through which the adapters call it.
    pub host_lowerings: Vec<(usize, HostLowering)>,
    /// For each adapted `LowerImport` trampoline of the component, the function the guest calls
    /// instead.
    pub lowerings: HashMap<TrampolineIndex, CoreDef>,
    /// For each adapted export (its index in [`HostInterface::exports`]), the function the host
    /// calls and its post-return.
    pub exports: HashMap<usize, (CoreDef, CoreDef)>,
    /// The resource and error-context transfer trampolines of the host adapters: only these
    /// can name a host table.
    pub host_transfers: Vec<TrampolineIndex>,
    /// The host's `async` lowerings that the exchange module calls.
    pub async_lowerings: Vec<AsyncHostLowering>,
    /// The trampolines of the waitable intrinsics the exchange module calls.
    pub wait_trampolines: Vec<TrampolineIndex>,
    /// The stream and future types bridged to the host.
    pub host_transmits: Vec<HostTransmit>,
}
