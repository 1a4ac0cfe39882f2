//! The component model's async ABI: `async` function types, callback-lifted exports, `async`
//! lowers, `task.return`, `context.get`/`set`, waitable sets, `waitable.join`, `subtask.drop`,
//! `subtask.cancel`, `task.cancel`, `backpressure.inc`/`dec` and deferred starts, and
//! `thread.yield`, and the borrow scope of each task.
//! Streams and futures, whose ends are waitables too, are in `crate::transmit`.
//!
//! With concurrency support on, FACT's adapters between components call wasmtime's task
//! built-ins (`wasmtime-environ` `fact/trampoline.rs`; wasmtime
//! `runtime/component/concurrent.rs` implements them). For an adapter named `adapterN`:
//!
//! | import or export of the adapter module | core type | here |
//! |---|---|---|
//! | `[prepare-call]adapterN` | `(start, return, caller, callee, result type, callee async, encoding, result count, params..)` | stores the caller's flat params and the callee's result type |
//! | `[start-call]adapterN`, sync lower | `(callee, param count) -> results` | runs the callee task until it returns, returns what `task.return` gave |
//! | `[start-call]adapterN`, async lower | `(callee, params, results, flags) -> status` | runs the callee task's first call: `RETURNED` (2), or `STARTED` (1), or `STARTING` (0) when its start is deferred, and a subtask handle above it |
//! | export `[async-start]adapterN` | `(caller params) -> callee params` | lifts the parameters |
//! | export `[async-return]adapterN` | `(callee results[, ret ptr]) -> caller results` | lowers the results |
//! | export `[adapter-callee]adapterN` | the callee's core type | the lifted core function |
//!
//! wasmtime passes the three exported functions as `funcref`s; the output knows each
//! adapter's at lowering time and calls them directly, so the `funcref` parameters are not
//! read. `task.return` calls the `[async-return]` function of the adapter whose callee is the
//! current task (a `br_table` over the adapters whose callee has the `task.return`'s type).
//!
//! The task that a start-call runs has its state in a handful of globals (`TaskGlobals`),
//! saved in locals by the start-call functions and on a stack by
//! `enter-sync-call`/`exit-sync-call`; a lift the host calls directly starts a task of its
//! own (`export_task`), and the instantiation routine runs start functions in a task that may
//! not block, as wasmtime does. A callback task that returns `YIELD` or `WAIT` from its first
//! run goes on later: it gets a record in the scheduler (`tasks.wat`, a [`Template`]), which
//! keeps the part of its state a later step needs, and its async caller gets `STARTED` and a
//! subtask handle in its instance's handle table (shared with resources and waitable sets, as
//! wasmtime's is). The scheduler runs queued tasks, one callback call per step, whenever
//! something blocks: a `waitable-set.wait`, or a sync lower whose callee has not returned.
//! As in wasmtime, each event for a set that tasks wait on wakes one of them (the one made
//! first, where wasmtime takes the least task id of its store-wide table) and queues it with
//! high priority from then; woken tasks and deferred starts run first, then yielded ones, each
//! in the order they were queued (wasmtime's high- and low-priority work queues), and a task
//! of an instance with a call on the stack waits until the instance is left (wasmtime's
//! `do_not_enter`). The queue is a binary heap, so a step costs the logarithm of the tasks
//! queued, not a pass over them. `task.return` of a task that went on gives its subtask the
//! `RETURNED` event. A set's events are delivered in handle order (wasmtime orders them by
//! its store-wide task table, which can differ once handles are reused, as can the order of
//! task ids and of the tasks made here). Nothing runnable while something blocks is
//! wasmtime's deadlock trap.
//!
//! There is no stack switching, so a task that blocks holds the wasm stack: where wasmtime
//! would suspend a stack, the output traps in a function naming the limit.
//! `gc-lower:trap:unsupported-subtask-not-returned`: inside an `async`-lowered call's first
//! run, a call that starts a task, a `waitable-set.wait`, a `thread.yield` or a sync stream
//! or future read or write that waits (wasmtime suspends the callee there and gives the async caller
//! `STARTED`); `gc-lower:trap:unsupported-wait-under-a-blocked-task`:
//! nothing can run while a task blocked in a loop below this one might (wasmtime would resume
//! that task on its own fiber); `gc-lower:trap:unsupported-wait-after-return-over-a-sync-caller`:
//! nothing can run while a task that called `task.return` in the call that started it, a sync
//! one, waits (wasmtime would resume its caller, or return to the host);
//! `gc-lower:trap:unsupported-start-in-an-entered-instance`: a
//! sync caller's call into an instance that has a call on the stack (wasmtime defers its
//! start until the instance is left, suspending the caller);
//! `gc-lower:trap:unsupported-deferred-start-of-a-sync-lift`: an async caller's call of a sync
//! lift whose start wasmtime defers;
//! `gc-lower:trap:unsupported-cancel-of-a-task-waiting-below`: `subtask.cancel` of a task in
//! a cancellable wait or yield below the canceller on the stack (wasmtime resumes its fiber
//! before `subtask.cancel` returns).
//!
//! Each task has a borrow scope of its own (wasmtime's per-task `CallContext`, in
//! `resources.wat`): the borrow handles lowered into the task and the own handles lent to
//! them. The start-call makes it the innermost scope; a task that goes on past its first run
//! takes it off the stack into its record (word 16), and its runs put it back while its
//! callback runs. `task.return` and `task.cancel` check that its borrows were dropped and end
//! its lends (wasmtime's `task_complete`); the scope is freed when the task exits.
//!
//! Starts are deferred as wasmtime defers them (`GuestCall::is_ready`): an async call of a
//! callback lift into an instance that is entered (a call of it is on the stack) or has
//! backpressure (`backpressure.inc`/`dec`, a counter per instance) gets `STARTING` and a
//! subtask; its record (status 5) keeps the caller's flat parameters, and the scheduler
//! starts it, as a start-call would have, once the instance is free; its caller then gets
//! `STARTED` or `RETURNED`. `subtask.cancel` of a call that has not started gives
//! `CANCELLED_BEFORE_STARTED` at once. A sync caller waits out backpressure running queued
//! tasks.
//!
//! Threads are rejected by name when lowering (`crate::front`), as are streams and futures
//! whose items hold borrows (`crate::payload`).
//!
//! Cancellation follows wasmtime's `subtask_cancel` and `task_cancel`: `subtask.cancel` of a
//! task that has not resolved marks its record (word 14); a task waiting in its callback loop
//! on a set with no event gets `TASK_CANCELLED` at once, the canceller yielding meanwhile,
//! one that yielded or whose set has an event in its next callback call (before the set's
//! event), one running further down the stack when it next waits (or at a cancellable
//! `waitable-set.wait`/`poll` or `thread.yield`); `task.cancel` resolves its
//! subtask with `CANCELLED_BEFORE_RETURNED`.
//!
//! FACT's async adapters leave exceptions to the host, which ends the call; the start-call
//! functions and `task.return` catch an exception that would leave the callee or the
//! adapter's functions and trap (`Trap::UncaughtException`), as FACT's sync adapters do. A
//! sync-lifted callee's post-return runs with its instance's may-leave flag cleared, as
//! wasmtime's `call_post_return` does.

use std::sync::OnceLock;

use anyhow::{Context as _, Result, bail};
use hashbrown::HashMap;
use wasm_encoder as we;
use wasmtime_environ::StaticModuleIndex;
use wasmtime_environ::component::{
    CoreDef, CoreExport, ExportItem, GlobalInitializer, OptionsIndex, RuntimeCallbackIndex,
    RuntimeComponentInstanceIndex, RuntimeInstanceIndex, RuntimeMemoryIndex,
    RuntimePostReturnIndex, Trampoline, TrampolineIndex, TypeTupleIndex,
};
use wasmtime_environ::wasmparser::{Operator, TypeRef};
use wasmtime_environ::{EntityIndex, Trap};

use crate::assemble::{Lowerer, StateKind, trap_reason};
use crate::host::memory_def;
use crate::layout::{Binding, OutFunc, OutGlobal, OutType};
use crate::template::Template;

/// The callback codes of the canonical ABI (`CanonicalABI.md`, `CallbackCode`), low 4 bits.
const CALLBACK_EXIT: i32 = 0;
/// The trap reason when wasmtime would give an `async` caller `STARTED` and a subtask.
pub(crate) const NOT_FINISHED: &str = "unsupported-subtask-not-returned";
/// The subtask status `RETURNED` (`CanonicalABI.md`, `Subtask.State`).
const STATUS_RETURNED: i32 = 2;
/// The number of fixed parameters of `[prepare-call]` (two functions, six `i32`s) before the
/// caller's own.
const PREPARE_FIXED_PARAMS: usize = 8;
/// `[prepare-call]`'s result-count parameter for async callers (wasmtime-environ
/// `PREPARE_ASYNC_WITH_RESULT`, `PREPARE_ASYNC_NO_RESULT`): at least this value.
const PREPARE_ASYNC_MIN: u32 = u32::MAX - 1;

/// The current task's state, in globals made once.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TaskGlobals {
    /// Whether the current task may block (wasmtime's `task_may_block`, FACT's
    /// `CoreDef::TaskMayBlock`): `i32`, 1 for the host's calls.
    pub(crate) may_block: OutGlobal,
    /// The two `context.get`/`set` slots of the current task (`i32` each).
    pub(crate) context: [OutGlobal; 2],
    /// The adapter whose callee is the current task, if it was started by a start-call
    /// built-in (its index in [`TaskState::adapters`]), else -1: only such a task may call
    /// `task.return`.
    adapter: OutGlobal,
    /// Whether the current task has called `task.return` (`i32`, 0 or 1).
    returned: OutGlobal,
    /// The scheduler record of the current task (`tasks.wat`), or -1 while it runs the call
    /// that started it.
    current: OutGlobal,
    /// The result type and string encoding the caller expects ([`result_key`]), which
    /// `task.return` must have.
    result_type: OutGlobal,
    /// From `[prepare-call]` to its start-call: the result key the caller expects.
    pending_result_type: OutGlobal,
    /// From `[prepare-call]` to its start-call: the adapter (its index in
    /// [`TaskState::adapters`]).
    pending_adapter: OutGlobal,
    /// From `[prepare-call]` to its start-call: whether the callee's type is `async`.
    callee_async: OutGlobal,
    /// The context slots of the last export task the host called, kept for its post-return.
    post_return_context: [OutGlobal; 2],
    /// How many `async`-lowered calls are running their callee's first call (`i32`): inside
    /// one, a start-call or a wait suspends the callee's stack in wasmtime, and the async
    /// caller goes on with `STARTED`, which needs stack switching
    /// (`unsupported-subtask-not-returned`).
    pub(crate) async_depth: OutGlobal,
    /// The stack of tasks suspended by sync-to-sync calls (`(ref HANDLES)`, the
    /// [`TaskGlobals::stacked`] `i32`s of each) and its depth in elements.
    stack: OutGlobal,
    depth: OutGlobal,
}

impl TaskGlobals {
    /// The current task's state that `enter-sync-call` pushes on the task stack (`stack`'s
    /// elements per task) and `exit-sync-call` pops: the sync callee changes nothing else
    /// (FACT saves and restores `may_block` itself).
    fn stacked(&self) -> [OutGlobal; 5] {
        [
            self.context[0],
            self.context[1],
            self.adapter,
            self.returned,
            self.current,
        ]
    }

    /// The current task's state that a switch to another task saves and restores.
    fn switched(&self) -> [OutGlobal; 8] {
        [
            self.context[0],
            self.context[1],
            self.adapter,
            self.returned,
            self.may_block,
            self.result_type,
            self.async_depth,
            self.current,
        ]
    }

    /// The task state a scheduler record keeps while its task is suspended, with the record
    /// words that hold it (`tasks.wat`): what a callback task's next step needs back.
    fn recorded(&self) -> [(i32, OutGlobal); 4] {
        [
            (9, self.context[0]),
            (10, self.context[1]),
            (11, self.returned),
            (12, self.result_type),
        ]
    }
}

/// Opens an exception barrier around code that leaves nothing on the stack, as FACT's
/// `enter_exception_barrier`: `block block try_table (catch_all 0)`.
fn barrier_open(ins: &mut we::InstructionSink<'_>) {
    ins.block(we::BlockType::Empty)
        .block(we::BlockType::Empty)
        .try_table(we::BlockType::Empty, [we::Catch::All { label: 0 }]);
}

/// Closes a [`barrier_open`]: normal completion jumps past the landing pad, which calls
/// `uncaught` (the trap of an uncaught exception).
fn barrier_close(ins: &mut we::InstructionSink<'_>, uncaught: OutFunc) {
    ins.end().br(1).end().call(uncaught.0).unreachable().end();
}

/// Calls `trap` when the `i32` on the stack is not zero.
fn trap_if(ins: &mut we::InstructionSink<'_>, trap: OutFunc) {
    ins.if_(we::BlockType::Empty).call(trap.0).end();
}

/// Opens an `if` on the callback code in local `code` being `EXIT`; in it, traps with
/// `not_returned` unless the task has returned (`returned`), as an exiting task must have.
fn if_exit(
    ins: &mut we::InstructionSink<'_>,
    code: u32,
    returned: OutGlobal,
    not_returned: OutFunc,
) {
    ins.local_get(code)
        .i32_const(0xf)
        .i32_and()
        .i32_const(CALLBACK_EXIT)
        .i32_eq()
        .if_(we::BlockType::Empty);
    ins.global_get(returned.0).i32_eqz();
    trap_if(ins, not_returned);
}

/// Saves `globals` into the locals from `base` on.
fn save(ins: &mut we::InstructionSink<'_>, globals: &[OutGlobal], base: u32) {
    for (i, g) in globals.iter().enumerate() {
        ins.global_get(g.0).local_set(base + i as u32);
    }
}

/// Restores `globals` from the locals from `base` on ([`save`]).
fn restore(ins: &mut we::InstructionSink<'_>, globals: &[OutGlobal], base: u32) {
    for (i, g) in globals.iter().enumerate() {
        ins.local_get(base + i as u32).global_set(g.0);
    }
}

/// What the async ABI has made, once each.
#[derive(Default)]
pub(crate) struct TaskState {
    globals: Option<TaskGlobals>,
    /// Whether every adapter has been registered ([`Lowerer::register_adapters`]).
    registered: bool,
    /// Adapters by name, in the order first seen.
    adapters: Vec<Adapter>,
    /// The function made for each import of a per-adapter task built-in.
    imports: HashMap<(RuntimeInstanceIndex, usize), OutFunc>,
    by_name: HashMap<String, usize>,
    /// The scheduler's binding (`tasks.wat`), once made.
    scheduler: Option<Scheduler>,
    /// The streams' and futures' binding and sites (`crate::transmit`).
    pub(crate) transmits: crate::transmit::TransmitState,
    /// The error contexts' binding, once made (`crate::error_context`).
    pub(crate) error_contexts: Option<Binding>,
}

/// What the scheduler template (`tasks.wat`) is bound to.
#[derive(Clone)]
struct Scheduler {
    binding: Binding,
    /// `(record)`: one step of a suspended task, a dispatch over the adapters' resume
    /// functions, whose body [`Lowerer::finish_scheduler`] gives.
    resume: OutFunc,
    /// `(component instance) -> (ref HANDLE_TABLE)`.
    table_of: OutFunc,
    /// `() -> (i32)`: waits until a pending host call has resolved and ends it (1: its results
    /// delivered, or its cancellation), or 0 when none is pending; its body is
    /// [`Lowerer::finish_scheduler`]'s.
    host_step: OutFunc,
    /// `() -> ()`: ends the host calls that have resolved, without blocking; its body is
    /// [`Lowerer::finish_scheduler`]'s.
    host_poll: OutFunc,
    /// `(entry)`: ends the pending host call of the exchange module's `entry`, which has
    /// resolved, through its adapter's [`Lowerer::host_return`]; its body is
    /// [`Lowerer::finish_scheduler`]'s.
    host_deliver: OutFunc,
}

/// The scheduler template, parsed once.
fn scheduler_template() -> &'static Template {
    static TEMPLATE: OnceLock<Template> = OnceLock::new();
    Template::cached(&TEMPLATE, "tasks", include_str!("tasks.wat"))
}

/// The words of a scheduler record (`tasks.wat`) that the Rust side reads or writes.
const RECORD_STATUS: i32 = 0;
const RECORD_INSTANCE: i32 = 2;
const RECORD_SET: i32 = 3;
const RECORD_SUBTASK: i32 = 4;
const RECORD_CALLER: i32 = 5;
const RECORD_RETPTR: i32 = 6;
const RECORD_SYNC_WAITER: i32 = 8;
/// Cancellation of the record's task: bit 0 requested, bit 1 its `TASK_CANCELLED` event awaits
/// delivery (`tasks.wat`'s `request-cancel`).
const RECORD_CANCEL: i32 = 14;
/// [`RECORD_CANCEL`] of a task whose cancellation was requested, with no event to deliver.
const CANCEL_REQUESTED: i32 = 1;
const RECORD_WAKE_ON_CANCEL: i32 = 15;
/// The id of the task's borrow scope (`resources.wat`).
const RECORD_SCOPE: i32 = 16;
/// The first word of a deferred call's parameters.
const RECORD_PARAMS: i32 = 17;
/// The record status of a call whose start is deferred.
const STATUS_STARTING_RECORD: i32 = 5;
/// The word of a record after a deferred call's parameters: its stamp (`tasks.wat`).
const RECORD_STAMP: u32 = 31;

/// The record words that a flat value of type `t` takes: two for a 64-bit one.
fn value_words(t: we::ValType) -> u32 {
    match t {
        we::ValType::I64 | we::ValType::F64 => 2,
        _ => 1,
    }
}
/// The record status of a task that waited on a waitable set and was woken (`tasks.wat`).
const STATUS_WOKEN: i32 = 6;
/// The subtask state `CANCELLED_BEFORE_RETURNED` (`CanonicalABI.md`, `Subtask.State`).
const STATUS_RETURN_CANCELLED: i32 = 4;
/// The event code `TASK_CANCELLED` (`CanonicalABI.md`, `EventCode`).
const EVENT_CANCELLED: i32 = 6;
/// The status `BLOCKED` of an `async` built-in that has not finished.
const BLOCKED: i32 = -1;
/// What the current task waits on cancellably, in its record's word
/// [`RECORD_WAKE_ON_CANCEL`].
#[derive(Debug, Clone, Copy)]
enum WakeOn {
    /// Nothing: it does not wait cancellably.
    Nothing,
    /// A cancellable `thread.yield`.
    Yield,
    /// A cancellable `waitable-set.wait` on the set whose handle is in this local.
    Set(u32),
}

/// The trap reason when `subtask.cancel` meets a task that waits, cancellably, further down
/// the stack (wasmtime resumes that task's fiber before `subtask.cancel` returns).
const CANCEL_BELOW: &str = "unsupported-cancel-of-a-task-waiting-below";
/// The subtask status `STARTED` (`CanonicalABI.md`, `Subtask.State`).
const STATUS_STARTED: i32 = 1;

/// One FACT adapter that goes through `[prepare-call]`/`[start-call]`.
struct Adapter {
    /// The adapter module's instance.
    instance: RuntimeInstanceIndex,
    /// The adapter's name (`adapterN`).
    name: String,
    /// The caller's flat parameters, stored by `[prepare-call]`.
    pending: Vec<OutGlobal>,
    /// The caller's flat results of a sync lower, stored by `[async-return]`.
    results: Vec<OutGlobal>,
    /// The memory of the callee's lift (`PrepareCall`), which `task.return`'s must be.
    memory: Option<RuntimeMemoryIndex>,
    /// Whether the adapter is a sync lower's (it has a `[start-call]` of its own).
    sync: bool,
    /// `(record)`: one step of a suspended task whose callee is this adapter's callback
    /// lift, once made.
    resume: Option<OutFunc>,
    /// `(record)`: the deferred start of a call of this adapter's callback lift, once made.
    deferred_start: Option<OutFunc>,
    /// `(record, results' address)`: the return of a host function's call that this
    /// adapter's `async` lowering left pending ([`Lowerer::host_return`]), once made.
    host_return: Option<OutFunc>,
}

/// What a task runner needs for a host function's call through its `async` lowering
/// (`crate::exchange`'s deferred calls).
struct HostCall {
    /// `hstart{i}`: the lifted parameters and the results' block -> the host's status.
    start: OutFunc,
    /// `hfinish{i}`: the results' block -> the results, as the sync lift returns them.
    finish: OutFunc,
    /// `area-alloc`: a block for the results, when the function has any.
    area_alloc: Option<OutFunc>,
    /// `host-pending (status, record, block)`: the host's call goes on for the record.
    pending: OutFunc,
    /// `area-free (address)`: the results' block is free again once they are taken.
    area_free: OutFunc,
    alloc: OutFunc,
    set: OutFunc,
    subtask_new: OutFunc,
    /// The component instances of the adapter's caller and callee (the host side).
    caller: RuntimeComponentInstanceIndex,
    callee: RuntimeComponentInstanceIndex,
    caller_table: OutGlobal,
}

/// A task runner's record for a task that goes on past its first run (a callback task that
/// did not exit, a host call that did not return), in local `record`: made by
/// [`Lowerer::keep_task`].
struct KeepTask {
    /// The adapter.
    k: usize,
    /// The component instances of the adapter's callee and caller.
    callee: RuntimeComponentInstanceIndex,
    caller: RuntimeComponentInstanceIndex,
    /// The scheduler's `alloc` and `set`, the resources template's `detach-call`.
    alloc: OutFunc,
    set: OutFunc,
    detach: OutFunc,
    /// The local of the record.
    record: u32,
    /// The caller's return pointer global, if the caller passed one.
    retptr: Option<OutGlobal>,
}

impl KeepTask {
    /// The async caller goes on: a subtask for the record in the caller's table
    /// (`caller_table`, with the resources template's `subtask-new`), kept in the record,
    /// and `STARTED` with its handle into local `status`.
    fn started(
        &self,
        ins: &mut we::InstructionSink<'_>,
        caller_table: OutGlobal,
        subtask_new: OutFunc,
        status: u32,
    ) {
        ins.global_get(caller_table.0)
            .local_get(self.record)
            .call(subtask_new.0)
            .local_set(status);
        ins.local_get(self.record)
            .i32_const(RECORD_SUBTASK)
            .local_get(status)
            .call(self.set.0);
        ins.local_get(status)
            .i32_const(4)
            .i32_shl()
            .i32_const(STATUS_STARTED)
            .i32_or()
            .local_set(status);
    }
}

/// What a task runner needs to suspend a callback task after its first run.
struct Suspend {
    alloc: OutFunc,
    set: OutFunc,
    park: OutFunc,
    wait_task: OutFunc,
    forget: OutFunc,
    subtask_new: OutFunc,
    /// The component instances of the adapter's caller and callee.
    caller: RuntimeComponentInstanceIndex,
    callee: RuntimeComponentInstanceIndex,
    /// The caller's handle table, where an async caller's subtask goes.
    caller_table: OutGlobal,
}

/// What `task.return` does for one adapter: call its `[async-return]` function, with the
/// caller's return pointer appended when the function takes one, and store the caller's
/// results (a sync lower's) in these globals.
type ReturnBranch = (OutFunc, Option<OutGlobal>, Vec<OutGlobal>);

/// The `i32` type, as the encoder names it.
const I32: we::ValType = we::ValType::I32;

impl Lowerer<'_, '_> {
    /// A mutable `i32` global `task:{name}` of the async ABI's runtime, starting at `init`.
    pub(crate) fn task_int(&mut self, init: i32, name: &str) -> OutGlobal {
        self.add_global(
            we::GlobalType {
                val_type: I32,
                mutable: true,
                shared: false,
            },
            we::ConstExpr::i32_const(init),
            format!("task:{name}"),
        )
    }

    /// A mutable `(ref HANDLES)` global `task:{name}` of the async ABI's runtime, starting
    /// as an array of `len` zeros.
    pub(crate) fn task_array(&mut self, len: i32, name: &str) -> OutGlobal {
        let handles = runtime_structs::HANDLES;
        self.add_global(
            we::GlobalType {
                val_type: runtime_structs::ref_non_null(handles),
                mutable: true,
                shared: false,
            },
            we::ConstExpr::extended([
                we::Instruction::I32Const(len),
                we::Instruction::ArrayNewDefault(handles),
            ]),
            format!("task:{name}"),
        )
    }

    /// `() -> ()`: what the module-graph form runs once every core instance exists (its
    /// `start.wasm`'s start function calls it): calls from the host may block from then on.
    pub(crate) fn instantiated(&mut self) -> OutFunc {
        let g = self.task_globals();
        let ty = self.func_type(&[], &[]);
        let mut body = we::Function::new([]);
        body.instructions()
            .i32_const(1)
            .global_set(g.may_block.0)
            .end();
        self.add_func(ty, "instantiated".into(), body)
    }

    /// The task globals, made once.
    pub(crate) fn task_globals(&mut self) -> TaskGlobals {
        if let Some(g) = self.tasks.globals {
            return g;
        }
        // Start functions run in a task that may not block: the single module's `_initialize`
        // clears the flag around them; the module-graph form's core instances run theirs
        // before its last step sets it ([`Self::instantiated`]).
        let graph = self.settings.late.is_some();
        let may_block = self.task_int(if graph { 0 } else { 1 }, "may-block");
        let context = [self.task_int(0, "context0"), self.task_int(0, "context1")];
        let adapter = self.task_int(-1, "adapter");
        let returned = self.task_int(0, "returned");
        let current = self.task_int(-1, "current");
        let result_type = self.task_int(-1, "result-type");
        let pending_result_type = self.task_int(-1, "pending-result-type");
        let pending_adapter = self.task_int(-1, "pending-adapter");
        let callee_async = self.task_int(0, "callee-async");
        let async_depth = self.task_int(0, "async-depth");
        let post_return_context = [
            self.task_int(0, "post-return-context0"),
            self.task_int(0, "post-return-context1"),
        ];
        let depth = self.task_int(0, "depth");
        let stack = self.task_array(64, "stack");
        let g = TaskGlobals {
            may_block,
            context,
            adapter,
            returned,
            current,
            result_type,
            pending_result_type,
            pending_adapter,
            callee_async,
            async_depth,
            post_return_context,
            stack,
            depth,
        };
        self.tasks.globals = Some(g);
        g
    }

    /// FACT's `context.get`/`context.set` of `slot` (0 or 1), and the component's own
    /// `context.get i32`/`context.set i32`: `() -> i32` and `(i32)`.
    pub(crate) fn context_access(&mut self, slot: usize, set: bool) -> Result<OutFunc> {
        let g = self.task_globals().context[slot];
        let (ty, name) = if set {
            (self.func_type(&[I32], &[]), format!("context.set{slot}"))
        } else {
            (self.func_type(&[], &[I32]), format!("context.get{slot}"))
        };
        let mut body = we::Function::new([]);
        let mut ins = body.instructions();
        if set {
            ins.local_get(0).global_set(g.0);
        } else {
            ins.global_get(g.0);
        }
        ins.end();
        Ok(self.add_func(ty, name, body))
    }

    /// `enter-sync-call` with tasks: `enter` (the resource scope's), then the current task's
    /// state pushed and a fresh task's set (empty context, not started by an adapter).
    pub(crate) fn enter_sync_task(&mut self, enter: OutFunc) -> Result<OutFunc> {
        let g = self.task_globals();
        let grow = self.stack_grow()?;
        let ty = self.func_type(&[I32; 3], &[]);
        let mut body = we::Function::new([]);
        let mut ins = body.instructions();
        ins.local_get(0).local_get(1).local_get(2).call(enter.0);
        ins.call(grow.0);
        let saved = g.stacked();
        for (k, s) in saved.iter().enumerate() {
            ins.global_get(g.stack.0)
                .global_get(g.depth.0)
                .i32_const(k as i32)
                .i32_add()
                .global_get(s.0)
                .array_set(runtime_structs::HANDLES);
        }
        ins.global_get(g.depth.0)
            .i32_const(saved.len() as i32)
            .i32_add()
            .global_set(g.depth.0);
        for s in [g.context[0], g.context[1], g.returned] {
            ins.i32_const(0).global_set(s.0);
        }
        ins.i32_const(-1).global_set(g.current.0);
        ins.i32_const(-1).global_set(g.adapter.0).end();
        Ok(self.add_func(ty, "enter-sync-task".into(), body))
    }

    /// `exit-sync-call` with tasks: `exit`, then the caller's task state popped.
    pub(crate) fn exit_sync_task(&mut self, exit: OutFunc) -> Result<OutFunc> {
        let g = self.task_globals();
        let ty = self.func_type(&[], &[]);
        let mut body = we::Function::new([]);
        let mut ins = body.instructions();
        ins.call(exit.0);
        let saved = g.stacked();
        ins.global_get(g.depth.0)
            .i32_const(saved.len() as i32)
            .i32_sub()
            .global_set(g.depth.0);
        for (k, s) in saved.iter().enumerate() {
            ins.global_get(g.stack.0)
                .global_get(g.depth.0)
                .i32_const(k as i32)
                .i32_add()
                .array_get(runtime_structs::HANDLES)
                .global_set(s.0);
        }
        ins.end();
        Ok(self.add_func(ty, "exit-sync-task".into(), body))
    }

    /// The export of lifted function `f` (defined by `def`) when the host calls it directly:
    /// `f` in a task of its own, as wasmtime starts one for each call from the host (empty context, not started
    /// by an adapter, allowed to block when the function's type is `async`), with the state
    /// of the task it interrupts saved and restored around it.
    ///
    /// With `post_return`, the task's context slots at its return are kept for the export's
    /// post-return ([`Self::export_post_return`]), which wasmtime runs in the same task.
    pub(crate) fn export_task(
        &mut self,
        f: OutFunc,
        def: &CoreDef,
        may_block: bool,
        post_return: bool,
    ) -> Result<OutFunc> {
        let g = self.task_globals();
        // The lift's instance is entered while it runs, as wasmtime enters it for a sync
        // lift the host calls.
        let entered = match self.component_instance_of(def) {
            Some(ci) => Some((
                ci.as_u32() as i32,
                self.scheduler_op("enter")?,
                self.scheduler_op("exit")?,
            )),
            None => None,
        };
        let ty = self.out_func_type(f);
        let (params, results) = self.func_type_of(ty);
        let saved = g.switched();
        let base = params.len() as u32;
        let mut locals = vec![(saved.len() as u32, I32)];
        locals.extend(results.iter().map(|t| (1, *t)));
        let mut body = we::Function::new(locals);
        let mut ins = body.instructions();
        save(&mut ins, &saved, base);
        for s in [g.context[0], g.context[1], g.returned] {
            ins.i32_const(0).global_set(s.0);
        }
        ins.i32_const(-1).global_set(g.adapter.0);
        ins.i32_const(-1).global_set(g.current.0);
        ins.i32_const(0).global_set(g.async_depth.0);
        ins.i32_const(may_block as i32).global_set(g.may_block.0);
        if let Some((ci, enter, _)) = entered {
            ins.i32_const(ci).call(enter.0);
        }
        for p in 0..base {
            ins.local_get(p);
        }
        ins.call(f.0);
        if let Some((ci, _, exit)) = entered {
            ins.i32_const(ci).call(exit.0);
        }
        let results_base = base + saved.len() as u32;
        for r in (0..results.len() as u32).rev() {
            ins.local_set(results_base + r);
        }
        if post_return {
            for (kept, slot) in g.post_return_context.iter().zip(g.context) {
                ins.global_get(slot.0).global_set(kept.0);
            }
        }
        restore(&mut ins, &saved, base);
        for r in 0..results.len() as u32 {
            ins.local_get(results_base + r);
        }
        ins.end();
        let name = format!("task:{}", self.func_name(f));
        Ok(self.add_func(ty, name, body))
    }

    /// The export of post-return function `f`, of a lift that the host calls directly: `f`
    /// with the lifting instance's may-leave flag (`flags`) cleared, as wasmtime's
    /// `post_return` clears it, and with `task` (the async ABI in use, the lift wrapped by
    /// [`Self::export_task`]) the context slots its export's task had when it returned.
    pub(crate) fn export_post_return(
        &mut self,
        f: OutFunc,
        flags: OutGlobal,
        task: bool,
    ) -> Result<OutFunc> {
        let ty = self.out_func_type(f);
        let (params, _) = self.func_type_of(ty);
        let base = params.len() as u32;
        let g = task.then(|| self.task_globals());
        let saved = g.map(|g| g.switched());
        let flag = base + saved.map_or(0, |s| s.len() as u32);
        let mut body = we::Function::new([(flag - base + 1, I32)]);
        let mut ins = body.instructions();
        if let (Some(g), Some(saved)) = (g, &saved) {
            save(&mut ins, saved, base);
            for (kept, slot) in g.post_return_context.iter().zip(g.context) {
                ins.global_get(kept.0).global_set(slot.0);
            }
        }
        ins.global_get(flags.0)
            .local_set(flag)
            .i32_const(0)
            .global_set(flags.0);
        for p in 0..base {
            ins.local_get(p);
        }
        ins.call(f.0);
        ins.local_get(flag).global_set(flags.0);
        if let Some(saved) = &saved {
            restore(&mut ins, saved, base);
        }
        ins.end();
        let name = format!("post-return:{}", self.func_name(f));
        Ok(self.add_func(ty, name, body))
    }

    /// `()`: doubles the task stack when fewer than one task's elements
    /// ([`TaskGlobals::stacked`]) are free.
    fn stack_grow(&mut self) -> Result<OutFunc> {
        let g = self.task_globals();
        let ty = self.func_type(&[], &[]);
        let handles = runtime_structs::HANDLES;
        let mut body = we::Function::new([(
            1,
            we::ValType::Ref(we::RefType {
                nullable: false,
                heap_type: we::HeapType::Concrete(handles),
            }),
        )]);
        let mut ins = body.instructions();
        ins.global_get(g.depth.0)
            .i32_const(g.stacked().len() as i32)
            .i32_add()
            .global_get(g.stack.0)
            .array_len()
            .i32_gt_u()
            .if_(we::BlockType::Empty)
            .global_get(g.stack.0)
            .array_len()
            .i32_const(2)
            .i32_mul()
            .array_new_default(handles)
            .local_tee(0)
            .i32_const(0)
            .global_get(g.stack.0)
            .i32_const(0)
            .global_get(g.depth.0)
            .array_copy(handles, handles)
            .local_get(0)
            .global_set(g.stack.0)
            .end()
            .end();
        Ok(self.add_func(ty, "task-stack-grow".into(), body))
    }

    /// The users of trampoline `t`: each core instance that imports it, with the position of
    /// the import.
    fn trampoline_users(&self, t: TrampolineIndex) -> Vec<(RuntimeInstanceIndex, usize)> {
        let mut users = Vec::new();
        for (instance, inst) in self.input.graph.instances.iter() {
            for (pos, arg) in inst.args.iter().enumerate() {
                if matches!(arg, CoreDef::Trampoline(u) if *u == t) {
                    users.push((instance, pos));
                }
            }
        }
        users
    }

    /// The adapter that import `pos` of adapter-module instance `instance` belongs to (its
    /// name, past the import's `[...]` prefix) and the import's output type (the module's
    /// type in its form).
    fn import_of_adapter(
        &mut self,
        instance: RuntimeInstanceIndex,
        pos: usize,
    ) -> Result<(String, OutType)> {
        let m = self.input.graph.instances[instance].module;
        let import = &self.input.infos[m].imports[pos];
        let TypeRef::Func(ty) = import.ty else {
            bail!("internal: a task built-in imported as a non-function");
        };
        let adapter = import
            .name
            .split_once(']')
            .map(|(_, n)| n.to_string())
            .with_context(|| format!("internal: task built-in imported as `{}`", import.name))?;
        if self.settings.late.is_some() {
            // The module-graph form lays no module out; the adapter module is as it was.
            let ty = self.form_type(m, ty, crate::assemble::TypeForm::PLAIN)?;
            return Ok((adapter, ty));
        }
        Ok((adapter, self.layouts[m].types[ty as usize]))
    }

    /// The function that traps for an exception that would leave a call between components
    /// (FACT's `Trap::UncaughtException`).
    fn uncaught_exception(&mut self) -> OutFunc {
        let reason = trap_reason(Trap::UncaughtException);
        self.trap_func(&reason)
    }

    /// The output type of trampoline `t`: the type of the first module that imports it, in
    /// the unreified form (a built-in's core signature has only numbers, so every form has
    /// its parameters; the unreified form gives the type the identity that every importer's
    /// unreified code checks it against, also when the type shares a rec group with struct
    /// types, which a reified form mirrors into another group).
    pub(crate) fn trampoline_type(&mut self, t: TrampolineIndex) -> Result<OutType> {
        let users = self.trampoline_users(t);
        let &(instance, pos) = users
            .first()
            .with_context(|| format!("internal: built-in {} is never imported", t.as_u32()))?;
        let m = self.input.graph.instances[instance].module;
        let TypeRef::Func(ty) = self.input.infos[m].imports[pos].ty else {
            bail!(
                "internal: built-in {} imported as a non-function",
                t.as_u32()
            );
        };
        self.form_type(m, ty, crate::assemble::TypeForm::PLAIN)
    }

    /// The function that import `pos` of `instance` resolves to when it is one of the
    /// per-adapter task built-ins (`PrepareCall`, `SyncStartCall`, `AsyncStartCall`): FACT
    /// shares one trampoline between adapters, each of which gets its own function here.
    /// `None` for every other import.
    pub(crate) fn adapter_import(
        &mut self,
        instance: RuntimeInstanceIndex,
        pos: usize,
    ) -> Result<Option<OutFunc>> {
        let CoreDef::Trampoline(t) = self.input.graph.instances[instance].args[pos] else {
            return Ok(None);
        };
        if let Some(&f) = self.tasks.imports.get(&(instance, pos)) {
            return Ok(Some(f));
        }
        let f = match &self.input.front.translation.trampolines[t] {
            Trampoline::PrepareCall { .. } => self.prepare_call(instance, pos)?,
            Trampoline::SyncStartCall { callback } => {
                let callback = *callback;
                self.start_call(instance, pos, callback, None, true)?
            }
            Trampoline::AsyncStartCall {
                callback,
                post_return,
            } => {
                let (callback, post_return) = (*callback, *post_return);
                self.start_call(instance, pos, callback, post_return, false)?
            }
            _ => return Ok(None),
        };
        self.tasks.imports.insert((instance, pos), f);
        Ok(Some(f))
    }

    /// Registers every adapter that goes through `[prepare-call]`, with its pending-parameter
    /// and result globals, before any of the task built-ins is made: `task.return` dispatches
    /// over all of them, and is imported by instances made before the adapters'.
    fn register_adapters(&mut self) -> Result<()> {
        if self.tasks.registered {
            return Ok(());
        }
        self.tasks.registered = true;
        // Each import of a `[prepare-call]` (with its memory) and of a sync `[start-call]`
        // (`None`).
        let mut imports = Vec::new();
        for (instance, inst) in self.input.graph.instances.iter() {
            for (pos, arg) in inst.args.iter().enumerate() {
                let CoreDef::Trampoline(t) = arg else {
                    continue;
                };
                match &self.input.front.translation.trampolines[*t] {
                    Trampoline::PrepareCall { memory } => {
                        imports.push((instance, pos, Some(*memory)))
                    }
                    Trampoline::SyncStartCall { .. } => imports.push((instance, pos, None)),
                    _ => {}
                }
            }
        }
        for (instance, pos, prepare) in imports {
            let (name, ty) = self.import_of_adapter(instance, pos)?;
            let k = self.adapter(instance, &name)?;
            let (params, results) = self.func_type_of(ty);
            let (globals, what) = match prepare {
                Some(memory) => {
                    self.tasks.adapters[k].memory = memory;
                    if params.len() < PREPARE_FIXED_PARAMS {
                        bail!(
                            "internal: `[prepare-call]{name}` has {} parameters",
                            params.len()
                        );
                    }
                    (params[PREPARE_FIXED_PARAMS..].to_vec(), "param")
                }
                _ => (results, "result"),
            };
            let globals: Vec<OutGlobal> = globals
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    self.add_global(
                        we::GlobalType {
                            val_type: *t,
                            mutable: true,
                            shared: false,
                        },
                        zero(*t),
                        format!("task:{name}:{what}{i}"),
                    )
                })
                .collect();
            match what {
                "param" => self.tasks.adapters[k].pending = globals,
                _ => {
                    self.tasks.adapters[k].results = globals;
                    self.tasks.adapters[k].sync = true;
                }
            }
        }
        Ok(())
    }

    /// Whether runtime memories `a` and `b` are the same memory (two extractions of one
    /// export, or of one memory through imports).
    fn same_memory(&mut self, a: RuntimeMemoryIndex, b: RuntimeMemoryIndex) -> Result<bool> {
        if a == b {
            return Ok(true);
        }
        let component = &self.input.front.translation.component;
        let (a, b) = (memory_def(component, a)?, memory_def(component, b)?);
        Ok(self.defining_instance(&a, StateKind::Memory, false)?
            == self.defining_instance(&b, StateKind::Memory, false)?)
    }

    /// The adapter named `name` of `instance`, registered on first use.
    fn adapter(&mut self, instance: RuntimeInstanceIndex, name: &str) -> Result<usize> {
        if let Some(&k) = self.tasks.by_name.get(name) {
            if self.tasks.adapters[k].instance != instance {
                bail!("internal: adapter `{name}` in two instances");
            }
            return Ok(k);
        }
        let k = self.tasks.adapters.len();
        self.tasks.adapters.push(Adapter {
            instance,
            name: name.to_string(),
            pending: Vec::new(),
            results: Vec::new(),
            memory: None,
            sync: false,
            resume: None,
            deferred_start: None,
            host_return: None,
        });
        self.tasks.by_name.insert(name.to_string(), k);
        Ok(k)
    }

    /// The function index of the export `name` of adapter module `m`.
    ///
    /// Errors: internal, when `m` does not export `name`.
    fn adapter_module_export(&self, m: StaticModuleIndex, name: &str) -> Result<u32> {
        self.input.infos[m]
            .exports
            .iter()
            .find(|e| e.name == name)
            .map(|e| e.index)
            .with_context(|| format!("internal: the adapter module exports no `{name}`"))
    }

    /// The function that adapter `k`'s module exports as `[{what}]adapterN`, callable
    /// without a vmctx.
    fn adapter_export(&mut self, k: usize, what: &str) -> Result<OutFunc> {
        let a = &self.tasks.adapters[k];
        let (instance, export) = (a.instance, format!("[{what}]{}", a.name));
        let m = self.input.graph.instances[instance].module;
        // Checked here for its message; `resolve_func` finds it again.
        self.adapter_module_export(m, &export)?;
        let def = CoreDef::Export(CoreExport {
            instance,
            item: ExportItem::Name(export),
        });
        let target = self.resolve_func(&def)?;
        self.plain_func(target)
    }

    /// `PrepareCall`: stores the caller's parameters and the callee's result type and
    /// asyncness; a sync caller of an `async` callee must be allowed to block.
    fn prepare_call(&mut self, instance: RuntimeInstanceIndex, pos: usize) -> Result<OutFunc> {
        self.register_adapters()?;
        let (name, ty) = self.import_of_adapter(instance, pos)?;
        let k = self.adapter(instance, &name)?;
        let pending = self.tasks.adapters[k].pending.clone();
        let g = self.task_globals();
        let cannot_block = self.trap_func(&trap_reason(Trap::CannotBlockSyncTask));
        let not_finished = self.trap_func(NOT_FINISHED);
        let mut body = we::Function::new([]);
        let mut ins = body.instructions();
        // A sync caller (a result count below the async flags) of an async-typed callee.
        ins.local_get(7)
            .i32_const(PREPARE_ASYNC_MIN as i32)
            .i32_lt_u()
            .local_get(5)
            .i32_and()
            .global_get(g.may_block.0)
            .i32_eqz()
            .i32_and();
        trap_if(&mut ins, cannot_block);
        // Inside an `async`-lowered call's first run, wasmtime suspends the callee here and
        // its async caller goes on with `STARTED`.
        ins.global_get(g.async_depth.0);
        trap_if(&mut ins, not_finished);
        // The result key: the type, and the lift's string encoding above it.
        ins.local_get(4)
            .local_get(6)
            .i32_const(RESULT_TYPE_BITS as i32)
            .i32_shl()
            .i32_or()
            .global_set(g.pending_result_type.0);
        ins.i32_const(k as i32).global_set(g.pending_adapter.0);
        ins.local_get(5).global_set(g.callee_async.0);
        for (i, p) in pending.iter().enumerate() {
            ins.local_get((PREPARE_FIXED_PARAMS + i) as u32)
                .global_set(p.0);
        }
        ins.end();
        Ok(self.add_func(ty, format!("prepare-call:{name}"), body))
    }

    /// The callback of a callback lift, callable without a vmctx.
    fn callback(&mut self, index: RuntimeCallbackIndex) -> Result<OutFunc> {
        let def = self.extracted("callback", |init| match init {
            GlobalInitializer::ExtractCallback(c) if c.index == index => Some(c.def.clone()),
            _ => None,
        })?;
        let target = self.resolve_func(&def)?;
        self.plain_func(target)
    }

    /// A post-return function, callable without a vmctx.
    fn post_return(&mut self, index: RuntimePostReturnIndex) -> Result<OutFunc> {
        let def = self.extracted("post-return function", |init| match init {
            GlobalInitializer::ExtractPostReturn(p) if p.index == index => Some(p.def.clone()),
            _ => None,
        })?;
        let target = self.resolve_func(&def)?;
        self.plain_func(target)
    }

    /// The flags global of the component instance that adapter `k`'s callee belongs to (the
    /// instance whose lift it is), which may not leave while the lift's post-return runs, as
    /// wasmtime's `call_post_return` sets; `None` when the callee is not a core instance's
    /// function.
    fn callee_flags(&mut self, k: usize) -> Result<Option<OutGlobal>> {
        Ok(self.callee_instance(k)?.map(|ci| self.flags_global(ci)))
    }

    /// The component instance of adapter `k`'s callee (the instance whose lift it is);
    /// `None` when the callee is not a core instance's function.
    fn callee_instance(&self, k: usize) -> Result<Option<RuntimeComponentInstanceIndex>> {
        let a = &self.tasks.adapters[k];
        let (instance, export) = (a.instance, format!("[adapter-callee]{}", a.name));
        let m = self.input.graph.instances[instance].module;
        let f = self.adapter_module_export(m, &export)?;
        let Some(&pos) = self.input.infos[m].import_position.funcs.get(f as usize) else {
            return Ok(None);
        };
        Ok(self.component_instance_of(&self.input.graph.instances[instance].args[pos]))
    }

    /// The definition that the component's initializer matched by `extract` extracts (a
    /// callback, a post-return function).
    fn extracted(
        &self,
        what: &str,
        extract: impl Fn(&GlobalInitializer) -> Option<CoreDef>,
    ) -> Result<CoreDef> {
        self.input
            .front
            .translation
            .component
            .initializers
            .iter()
            .find_map(extract)
            .with_context(|| format!("internal: a {what} that is never extracted"))
    }

    /// `SyncStartCall` (`sync: true`) and `AsyncStartCall`, for import `pos` of adapter
    /// instance `instance`. A sync lower's start-call is its adapter's own; an async
    /// lower's is shared by the adapters of the module with the same callback and
    /// post-return, so it runs the adapter that `[prepare-call]` named (a `br_table` over the
    /// module's async adapters; see [`Self::task_runner`]).
    fn start_call(
        &mut self,
        instance: RuntimeInstanceIndex,
        pos: usize,
        callback: Option<RuntimeCallbackIndex>,
        post_return: Option<RuntimePostReturnIndex>,
        sync: bool,
    ) -> Result<OutFunc> {
        self.register_adapters()?;
        let (name, ty) = self.import_of_adapter(instance, pos)?;
        let (_, results) = self.func_type_of(ty);
        let mut body = we::Function::new([]);
        if sync {
            let k = self.adapter(instance, &name)?;
            let runner = self.task_runner(k, callback, post_return, Some(&results))?;
            body.instructions().call(runner.0).end();
            return Ok(self.add_func(ty, format!("start-call:sync:{name}"), body));
        }
        let g = self.task_globals();
        let invalid = self.trap_func("invalid-start-call");
        let n = self.tasks.adapters.len() as u32;
        let m = self.input.graph.instances[instance].module;
        let import = self.input.infos[m]
            .import_position
            .funcs
            .iter()
            .position(|&p| p == pos)
            .context("internal: a start-call imported as a non-function")?
            as u32;
        let mut runners = Vec::new();
        for k in 0..n as usize {
            let a = &self.tasks.adapters[k];
            let runs_here = a.instance == instance
                && !a.sync
                && self.adapter_calls(m, &a.name)?.contains(&import);
            runners.push(if runs_here {
                Some(self.task_runner(k, callback, post_return, None)?)
            } else {
                None
            });
        }
        let mut ins = body.instructions();
        // block $n ... block $0 (br_table) end: adapter k's call follows the k-th `end`.
        for _ in 0..=n {
            ins.block(we::BlockType::Empty);
        }
        ins.global_get(g.pending_adapter.0)
            .br_table((0..n).collect::<Vec<_>>(), n);
        ins.end();
        for runner in &runners {
            match runner {
                Some(r) => ins.call(r.0).return_(),
                None => ins.call(invalid.0),
            };
            ins.end();
        }
        ins.call(invalid.0).unreachable().end();
        Ok(self.add_func(ty, format!("start-call:async:{name}"), body))
    }

    /// The functions that adapter module `m`'s export `name` (an adapter's entry) calls.
    ///
    /// Errors: internal, when `m` does not export `name` or its body does not read.
    fn adapter_calls(&self, m: StaticModuleIndex, name: &str) -> Result<Vec<u32>> {
        let info = &self.input.infos[m];
        let func = self.adapter_module_export(m, name)?;
        let body = func
            .checked_sub(info.num_imported_funcs)
            .and_then(|d| info.bodies.get(d as usize))
            .with_context(|| format!("internal: adapter `{name}` is not defined"))?;
        let mut calls = Vec::new();
        for op in body.get_operators_reader()? {
            if let Operator::Call { function_index } = op? {
                calls.push(function_index);
            }
        }
        Ok(calls)
    }

    /// Runs the callee task of adapter `k` that `[prepare-call]` described (see the module
    /// documentation): `() -> results` for a sync lower (`results`, the caller's flat
    /// results), which waits for the callee to return; `() -> i32` (the subtask status) for
    /// an async lower, which returns after the callee's first call, leaving a callback task
    /// that goes on to the scheduler.
    fn task_runner(
        &mut self,
        k: usize,
        callback: Option<RuntimeCallbackIndex>,
        post_return: Option<RuntimePostReturnIndex>,
        sync_results: Option<&[we::ValType]>,
    ) -> Result<OutFunc> {
        let sync = sync_results.is_some();
        let name = self.tasks.adapters[k].name.clone();
        let pending = self.tasks.adapters[k].pending.clone();
        let g = self.task_globals();
        let start = self.adapter_export(k, "async-start")?;
        let ret = self.adapter_export(k, "async-return")?;
        let callee = self.adapter_export(k, "adapter-callee")?;
        let callback_index = callback;
        let callback = callback.map(|c| self.callback(c)).transpose()?;
        let post_return = match post_return {
            Some(p) => Some((self.post_return(p)?, self.callee_flags(k)?)),
            None => None,
        };
        let (start_params, _) = self.func_type_of(self.out_func_type(start));
        let (ret_params, ret_results) = self.func_type_of(self.out_func_type(ret));
        let (_, callee_results) = self.func_type_of(self.out_func_type(callee));
        let results = sync_results.map(<[_]>::to_vec).unwrap_or(vec![I32]);
        let ty = self.func_type(&[], &results);
        if start_params.len() > pending.len() {
            bail!("internal: `[async-start]{name}` takes more than the caller's parameters");
        }
        if sync && results != ret_results {
            bail!("internal: `[start-call]{name}` and `[async-return]{name}` differ in results");
        }
        let stored = self.tasks.adapters[k].results.clone();
        let not_returned = self.trap_func(&trap_reason(Trap::NoAsyncResult));
        let uncaught = self.uncaught_exception();
        // The callee task's borrow scope (wasmtime's per-task `CallContext`): the borrows
        // its parameters lend live in it until the task returns. A task that ends in its
        // first call ends its scope with `exit-sync-call`'s (which also ends the borrows the
        // host lent into it, when the caller is the host); one that goes on takes its scope
        // off the stack into its record, and puts it back while it runs.
        let enter = self.resource_op("enter-call")?;
        let exit = self.exit_sync_call()?;
        let detach = self.resource_op("detach-call")?;
        // The callee's instance is entered while its first call runs. A call into an instance
        // that is entered already (a call of it is on the stack) or has backpressure starts
        // later (wasmtime's `GuestCall::is_ready`): an async caller's call of a callback lift
        // is deferred (`STARTING` and a subtask), a sync caller runs queued tasks until the
        // backpressure is gone. The limits: a sync caller into an entered instance, and an
        // async caller's deferred call of a sync lift.
        let callee_ci = self.callee_instance(k)?;
        let entered = match callee_ci {
            Some(ci) => Some((
                ci.as_u32() as i32,
                self.scheduler_op("enter")?,
                self.scheduler_op("exit")?,
                self.scheduler_op("is-entered")?,
            )),
            None => None,
        };
        let free = self.scheduler_op("free")?;
        let drain = self.scheduler_op("drain")?;
        let reentered = self.trap_func("unsupported-start-in-an-entered-instance");
        let deferred_sync_lift = self.trap_func("unsupported-deferred-start-of-a-sync-lift");
        // What a task that goes on past its first run needs: its record, and the return
        // pointer its `task.return` uses (the caller's last flat parameter, when an `i32`).
        let retptr = pending
            .last()
            .copied()
            .filter(|p| self.out.globals[p.0 as usize].0.val_type == I32);
        let suspend = match (callback, callback_index) {
            (Some(cb), Some(_)) => {
                let caller = self.adapter_caller(k)?;
                let callee_instance = callee_ci.with_context(|| {
                    format!("internal: callback adapter `{name}` has no callee instance")
                })?;
                self.resume_task(k, cb, callee_instance, retptr)?;
                Some(Suspend {
                    alloc: self.scheduler_op("alloc")?,
                    set: self.scheduler_op("set")?,
                    park: self.scheduler_op("park")?,
                    wait_task: self.scheduler_op("wait-task")?,
                    forget: self.scheduler_op("forget")?,
                    subtask_new: self.resource_op("subtask-new")?,
                    caller,
                    callee: callee_instance,
                    caller_table: self.handle_table(caller),
                })
            }
            _ => None,
        };

        // A host function's call through its `async` lowering that may go on after this
        // run: `hstart{i}` in place of the callee (its status), `hfinish{i}` for the
        // results once the host's call has returned, now or later ([`Self::host_return`]).
        let host = match (callback, sync) {
            (None, false) => match self.host_call(k)? {
                Some(i) => Some(self.host_call_ops(k, i)?),
                None => None,
            },
            _ => None,
        };
        // Locals: the saved task state, the callback code, a saved flag, the task's record,
        // the subtask status, then the callee's results.
        let saved_len = g.switched().len() as u32;
        let mut locals: Vec<(u32, we::ValType)> = vec![(saved_len + 4, I32)];
        let params_len = 0;
        let flag = params_len + saved_len + 1;
        let record = params_len + saved_len + 2;
        let status = params_len + saved_len + 3;
        let results_base = params_len + saved_len + 4;
        for t in &callee_results {
            locals.push((1, *t));
        }
        // The caller's parameters (and return pointer), kept while earlier calls start or a
        // sync caller waits for backpressure; the ones `[async-start]` takes are what a
        // deferred call keeps.
        let kept_base = results_base + callee_results.len() as u32;
        let all_pending: Vec<(OutGlobal, we::ValType)> = pending
            .iter()
            .map(|p| (*p, self.out.globals[p.0 as usize].0.val_type))
            .collect();
        let kept = all_pending[..start_params.len()].to_vec();
        for (_, t) in &all_pending {
            locals.push((1, *t));
        }
        // The host's status of a host function's call, and its results' block.
        let host_status = kept_base + all_pending.len() as u32;
        let host_area = host_status + 1;
        locals.push((2, I32));
        let deferral = match (&suspend, sync) {
            (Some(_), false) => Some(self.deferral(k, &kept, retptr)?),
            _ => None,
        };
        let mut body = we::Function::new(locals);
        let mut ins = body.instructions();
        let saved = g.switched();
        save(&mut ins, &saved, params_len);
        // FACT's async adapters leave exceptions to the host, which ends the call: one that
        // would leave the callee or its adapters here traps instead of reaching the caller.
        barrier_open(&mut ins);
        let code = params_len + saved_len;
        ins.i32_const(0).global_set(g.context[0].0);
        ins.i32_const(0).global_set(g.context[1].0);
        ins.i32_const(0).global_set(g.returned.0);
        ins.i32_const(-1).global_set(g.current.0);
        ins.i32_const(STATUS_RETURNED).local_set(status);
        ins.global_get(g.pending_result_type.0)
            .global_set(g.result_type.0);
        ins.call(enter.0);
        // The parameters are lifted in the callee's task, which may block when the callee is
        // async (callback lifts always are).
        if callback.is_some() {
            ins.i32_const(1).global_set(g.may_block.0);
            ins.i32_const(k as i32).global_set(g.adapter.0);
        } else {
            ins.global_get(g.callee_async.0).global_set(g.may_block.0);
            ins.i32_const(-1).global_set(g.adapter.0);
        }
        if !sync {
            ins.global_get(g.async_depth.0)
                .i32_const(1)
                .i32_add()
                .global_set(g.async_depth.0);
        }
        // Whether the call starts now; a deferred one is done in the `then` arm. Calls that
        // wait to start into the callee's instance start first (`drain`), the caller's
        // parameters kept meanwhile.
        if let Some((ci, _, _, is_entered)) = entered {
            if sync {
                ins.i32_const(ci).call(is_entered.0);
                trap_if(&mut ins, reentered);
            }
            for (i, (p, _)) in all_pending.iter().enumerate() {
                ins.global_get(p.0).local_set(kept_base + i as u32);
            }
            ins.i32_const(ci).call(drain.0);
            if sync {
                // Backpressure: other tasks run until it is gone, the caller's `returned` and
                // `current` back meanwhile (the scheduler's deadlock check reads them).
                let block = self.scheduler_op("block")?;
                let step = self.scheduler_op("blocked-step")?;
                let at = |x: OutGlobal| {
                    params_len + saved.iter().position(|s| *s == x).expect("switched") as u32
                };
                let (returned_at, current_at) = (at(g.returned), at(g.current));
                ins.block(we::BlockType::Empty).loop_(we::BlockType::Empty);
                ins.i32_const(ci).call(free.0).br_if(1);
                ins.local_get(returned_at).global_set(g.returned.0);
                ins.local_get(current_at).global_set(g.current.0);
                ins.i32_const(1).call(block.0).call(step.0);
                ins.i32_const(0).global_set(g.returned.0);
                ins.i32_const(-1).global_set(g.current.0);
                ins.i32_const(-1).call(block.0);
                ins.i32_const(ci).call(drain.0).br(0);
                ins.end().end();
            }
            for (i, (p, _)) in all_pending.iter().enumerate() {
                ins.local_get(kept_base + i as u32).global_set(p.0);
            }
            match (&deferral, sync) {
                (Some(d), _) => {
                    ins.i32_const(ci).call(free.0).i32_eqz();
                    ins.if_(we::BlockType::Empty);
                    ins.call(d.0).local_set(status);
                    ins.else_();
                }
                (None, true) => {}
                (None, false) => {
                    ins.i32_const(ci).call(is_entered.0);
                    trap_if(&mut ins, reentered);
                    ins.i32_const(ci).call(free.0).i32_eqz();
                    trap_if(&mut ins, deferred_sync_lift);
                }
            }
        }
        for p in &pending[..start_params.len()] {
            ins.global_get(p.0);
        }
        if let Some((ci, enter, _, _)) = entered {
            ins.i32_const(ci).call(enter.0);
        }
        ins.call(start.0);
        match &host {
            Some(h) => {
                match h.area_alloc {
                    Some(alloc) => ins.call(alloc.0),
                    None => ins.i32_const(0),
                };
                ins.local_tee(host_area)
                    .call(h.start.0)
                    .local_set(host_status)
            }
            None => ins.call(callee.0),
        };
        if let Some((ci, _, exit, _)) = entered {
            ins.i32_const(ci).call(exit.0);
        }
        if let Some(h) = &host {
            // Returned at once: its results, as the callee's. Else the caller goes on with
            // `STARTED` and a subtask, the task's record kept until the host's call returns.
            ins.local_get(host_status)
                .i32_const(0xf)
                .i32_and()
                .i32_const(STATUS_RETURNED)
                .i32_ne()
                .if_(we::BlockType::Empty);
            let keep = KeepTask {
                k,
                callee: h.callee,
                caller: h.caller,
                alloc: h.alloc,
                set: h.set,
                detach,
                record,
                retptr,
            };
            self.keep_task(&mut ins, &keep);
            keep.started(&mut ins, h.caller_table, h.subtask_new, status);
            ins.local_get(host_status)
                .local_get(record)
                .local_get(host_area)
                .call(h.pending.0);
            ins.else_();
            ins.local_get(host_area).call(h.finish.0);
        }
        match callback {
            Some(_) => {
                let Some(sp) = &suspend else {
                    bail!("internal: a callback lift without its callback index");
                };
                ins.local_set(code);
                // `EXIT`: the task ended in its first run.
                if_exit(&mut ins, code, g.returned, not_returned);
                ins.call(exit.0);
                ins.else_();
                // Else the task goes on: a record, queued as the code says, which keeps the
                // task's scope.
                let keep = KeepTask {
                    k,
                    callee: sp.callee,
                    caller: sp.caller,
                    alloc: sp.alloc,
                    set: sp.set,
                    detach,
                    record,
                    retptr,
                };
                self.keep_task(&mut ins, &keep);
                ins.local_get(record).local_get(code).call(sp.park.0);
                ins.global_get(g.returned.0).i32_eqz();
                ins.if_(we::BlockType::Empty);
                if sync {
                    // The sync caller blocks until the callee returns, running other tasks, in
                    // its own state (the callee's is in its record).
                    ins.local_get(record)
                        .i32_const(RECORD_SYNC_WAITER)
                        .i32_const(1)
                        .call(sp.set.0);
                    restore(&mut ins, &saved, params_len);
                    ins.local_get(record).call(sp.wait_task.0);
                    ins.local_get(record).call(sp.forget.0);
                } else {
                    // The async caller goes on with `STARTED` and a subtask.
                    keep.started(&mut ins, sp.caller_table, sp.subtask_new, status);
                }
                ins.end();
                ins.end();
            }
            None => {
                // A sync lift: its results go to the caller, then its post-return runs.
                for i in (0..callee_results.len() as u32).rev() {
                    ins.local_set(results_base + i);
                }
                ins.call(exit.0);
                ins.i32_const(1).global_set(g.returned.0);
                for i in 0..callee_results.len() as u32 {
                    ins.local_get(results_base + i);
                }
                if ret_params.len() == callee_results.len() + 1 {
                    let retptr = pending.last().context("internal: no return pointer")?;
                    ins.global_get(retptr.0);
                }
                ins.call(ret.0);
                for s in stored.iter().rev() {
                    ins.global_set(s.0);
                }
                if let Some(h) = &host {
                    ins.local_get(host_area).call(h.area_free.0);
                    ins.end();
                }
                if let Some((pr, flags)) = post_return {
                    if let Some(flags) = flags {
                        ins.global_get(flags.0)
                            .local_set(flag)
                            .i32_const(0)
                            .global_set(flags.0);
                    }
                    for i in 0..callee_results.len() as u32 {
                        ins.local_get(results_base + i);
                    }
                    ins.call(pr.0);
                    if let Some(flags) = flags {
                        ins.local_get(flag).global_set(flags.0);
                    }
                }
            }
        }
        if deferral.is_some() && entered.is_some() {
            ins.end();
        }
        barrier_close(&mut ins, uncaught);
        restore(&mut ins, &saved, params_len);
        if sync {
            for s in &stored {
                ins.global_get(s.0);
            }
        } else {
            ins.local_get(status);
        }
        ins.end();
        Ok(self.add_func(ty, format!("run-task:{name}"), body))
    }

    /// A new record for the task of `keep` (in its local), which keeps the task's borrow
    /// scope (taken off the stack), its state ([`TaskGlobals::recorded`]) and the caller's
    /// return pointer.
    fn keep_task(&mut self, ins: &mut we::InstructionSink<'_>, keep: &KeepTask) {
        let g = self.task_globals();
        let record = keep.record;
        ins.i32_const(keep.k as i32)
            .i32_const(keep.callee.as_u32() as i32)
            .i32_const(keep.caller.as_u32() as i32)
            .call(keep.alloc.0)
            .local_set(record);
        ins.local_get(record)
            .i32_const(RECORD_SCOPE)
            .call(keep.detach.0)
            .call(keep.set.0);
        for (word, global) in g.recorded() {
            ins.local_get(record)
                .i32_const(word)
                .global_get(global.0)
                .call(keep.set.0);
        }
        if let Some(p) = keep.retptr {
            ins.local_get(record)
                .i32_const(RECORD_RETPTR)
                .global_get(p.0)
                .call(keep.set.0);
        }
    }

    /// The host import `i` whose deferred calls adapter `k` makes: its callee is the exchange
    /// module's `acall{i}` for a host `async` lowering that is deferred
    /// ([`crate::host::AsyncHostLowering::deferred`]).
    fn host_call(&self, k: usize) -> Result<Option<usize>> {
        let Some(exchange) = self.input.host.exchange else {
            return Ok(None);
        };
        let a = &self.tasks.adapters[k];
        let m = self.input.graph.instances[a.instance].module;
        let f = self.adapter_module_export(m, &format!("[adapter-callee]{}", a.name))?;
        let Some(&pos) = self.input.infos[m].import_position.funcs.get(f as usize) else {
            return Ok(None);
        };
        let arg = &self.input.graph.instances[a.instance].args[pos];
        Ok(self
            .input
            .host
            .async_lowerings
            .iter()
            .filter(|l| l.deferred)
            .map(|l| l.import)
            .find(|i| *arg == crate::exchange::func_export(exchange, &format!("acall{i}"))))
    }

    /// The exchange module's function `name`.
    fn exchange_func(&mut self, exchange: RuntimeInstanceIndex, name: &str) -> Result<OutFunc> {
        let target = self.resolve_func(&crate::exchange::func_export(exchange, name))?;
        self.plain_func(target)
    }

    /// What adapter `k`'s runner needs for the deferred calls of host import `i`, with its
    /// [`Self::host_return`] made.
    fn host_call_ops(&mut self, k: usize, i: usize) -> Result<HostCall> {
        let exchange = self
            .input
            .host
            .exchange
            .context("internal: a host call without the exchange module")?;
        // The caller is the guest whose lowering the adapter is (`import{t}`, named by its
        // trampoline), not the entry module's instance that calls the adapter for it.
        let name = &self.tasks.adapters[k].name;
        let options = self.input.host.imports[i]
            .lowerings
            .iter()
            .find(|l| l.async_ && format!("import{}", l.trampoline.as_u32()) == *name)
            .map(|l| l.options)
            .with_context(|| format!("internal: host call adapter `{name}` has no lowering"))?;
        let caller = self.input.front.translation.component.options[options].instance;
        let callee = self
            .callee_instance(k)?
            .context("internal: a host call without the host side's instance")?;
        let finish = self.exchange_func(exchange, &format!("hfinish{i}"))?;
        let has_results = !self.func_type_of(self.out_func_type(finish)).1.is_empty();
        let area_alloc = match has_results {
            true => Some(self.exchange_func(exchange, "area-alloc")?),
            false => None,
        };
        let ops = HostCall {
            start: self.exchange_func(exchange, &format!("hstart{i}"))?,
            finish,
            area_alloc,
            pending: self.exchange_func(exchange, "host-pending")?,
            area_free: self.exchange_func(exchange, "area-free")?,
            alloc: self.scheduler_op("alloc")?,
            set: self.scheduler_op("set")?,
            subtask_new: self.resource_op("subtask-new")?,
            caller,
            callee,
            caller_table: self.handle_table(caller),
        };
        self.host_return(k, ops.finish, ops.area_free)?;
        Ok(ops)
    }

    /// `(record, area, cancelled)`: the end of adapter `k`'s host call that went on past its
    /// first run, once the host's call has resolved (the scheduler's `host-step`, or
    /// `subtask.cancel`): in the task's state (as a callback's run is, [`Self::begin_run`]),
    /// its results from `finish` (`hfinish{i}` of the address `area`) to the caller as
    /// `task.return` gives them and the caller's subtask `RETURNED`, or when `cancelled` (the
    /// host's subtask `CANCELLED_BEFORE_RETURNED`) no results and the subtask
    /// `CANCELLED_BEFORE_RETURNED`, as `task.cancel` resolves it; then the task ends.
    fn host_return(&mut self, k: usize, finish: OutFunc, area_free: OutFunc) -> Result<OutFunc> {
        if let Some(f) = self.tasks.adapters[k].host_return {
            return Ok(f);
        }
        let g = self.task_globals();
        let get = self.scheduler_op("get")?;
        let exited = self.scheduler_op("exited")?;
        let attach = self.resource_op("attach-call")?;
        let exit_scope = self.exit_sync_call()?;
        let uncaught = self.uncaught_exception();
        let ret = self.adapter_export(k, "async-return")?;
        let (ret_params, _) = self.func_type_of(self.out_func_type(ret));
        let (_, results) = self.func_type_of(self.out_func_type(finish));
        let retptr = self.tasks.adapters[k]
            .pending
            .last()
            .copied()
            .filter(|p| self.out.globals[p.0 as usize].0.val_type == I32);
        let mut saved = g.switched().to_vec();
        saved.extend(retptr);
        // Locals: the record, the address and whether it was cancelled, the saved task
        // state, the subtask handle, the results.
        let base = 3;
        let handle = base + saved.len() as u32;
        let results_base = handle + 1;
        let mut locals = vec![(saved.len() as u32 + 1, I32)];
        locals.extend(results.iter().map(|t| (1, *t)));
        let mut body = we::Function::new(locals);
        let mut ins = body.instructions();
        save(&mut ins, &saved, base);
        self.begin_run(&mut ins, k, retptr)?;
        ins.local_get(0)
            .i32_const(RECORD_SCOPE)
            .call(get.0)
            .call(attach.0);
        barrier_open(&mut ins);
        ins.i32_const(1).global_set(g.returned.0);
        ins.local_get(2).if_(we::BlockType::Empty);
        self.resolve_subtask(&mut ins, handle, STATUS_RETURN_CANCELLED)?;
        ins.else_();
        ins.local_get(1).call(finish.0);
        for i in (0..results.len() as u32).rev() {
            ins.local_set(results_base + i);
        }
        self.resolve_subtask(&mut ins, handle, STATUS_RETURNED)?;
        for i in 0..results.len() as u32 {
            ins.local_get(results_base + i);
        }
        if ret_params.len() == results.len() + 1 {
            let p = retptr.context("internal: a host call's return without its pointer")?;
            ins.global_get(p.0);
        }
        ins.call(ret.0);
        ins.end();
        ins.local_get(1).call(area_free.0);
        barrier_close(&mut ins, uncaught);
        ins.call(exit_scope.0);
        ins.local_get(0).call(exited.0);
        restore(&mut ins, &saved, base);
        ins.end();
        let ty = self.func_type(&[I32, I32, I32], &[]);
        let name = format!("host-return:{}", self.tasks.adapters[k].name);
        let f = self.add_func(ty, name, body);
        self.tasks.adapters[k].host_return = Some(f);
        Ok(f)
    }

    /// `TaskReturn`: checks that the current task was started by an adapter, has not
    /// returned, and that `results` and the string encoding of `options` are what its caller
    /// expects and the memory of `options` (if any) its lift's, as wasmtime does
    /// (`task_return`, `Trap::TaskReturnInvalid`); then calls that adapter's `[async-return]`
    /// function with the values (and the caller's return pointer, when the caller passed one).
    pub(crate) fn task_return(
        &mut self,
        instance: RuntimeComponentInstanceIndex,
        results: TypeTupleIndex,
        options: OptionsIndex,
        ty: OutType,
    ) -> Result<OutFunc> {
        self.register_adapters()?;
        let g = self.task_globals();
        let (params, _) = self.func_type_of(ty);
        let invalid = self.trap_func(&trap_reason(Trap::TaskReturnInvalid));
        let twice = self.trap_func(&trap_reason(Trap::TaskCancelOrReturnTwice));
        let opts = &self.input.front.translation.component.options[options];
        let (memory, encoding) = (opts.memory(), opts.string_encoding);
        let expected = result_key(results.as_u32(), encoding as u8 as i32)?;
        // One branch per adapter whose `[async-return]` takes these values.
        let mut branches: Vec<Option<ReturnBranch>> = Vec::new();
        for k in 0..self.tasks.adapters.len() {
            let lift_memory = self.tasks.adapters[k].memory;
            let same_memory = match (memory, lift_memory) {
                (None, _) => true,
                (Some(_), None) => false,
                (Some(a), Some(b)) => self.same_memory(a, b)?,
            };
            if !same_memory {
                branches.push(None);
                continue;
            }
            let ret = self.adapter_export(k, "async-return")?;
            let (ret_params, _) = self.func_type_of(self.out_func_type(ret));
            let a = &self.tasks.adapters[k];
            let branch = if ret_params == params {
                Some((ret, None, a.results.clone()))
            } else if ret_params.len() == params.len() + 1
                && ret_params[..params.len()] == params[..]
            {
                a.pending.last().map(|p| (ret, Some(*p), a.results.clone()))
            } else {
                None
            };
            branches.push(branch);
        }
        let uncaught = self.uncaught_exception();
        let validate = self.resource_op("validate-scope")?;
        let handle = params.len() as u32;
        let mut body = we::Function::new([(1, I32)]);
        let mut ins = body.instructions();
        self.may_leave(&mut ins, instance);
        ins.global_get(g.returned.0);
        trap_if(&mut ins, twice);
        ins.global_get(g.adapter.0)
            .i32_const(0)
            .i32_lt_s()
            .global_get(g.result_type.0)
            .i32_const(expected)
            .i32_ne()
            .i32_or();
        trap_if(&mut ins, invalid);
        ins.i32_const(1).global_set(g.returned.0);
        ins.i32_const(1).global_set(g.may_block.0);
        // A task that went on past its first run: its subtask, if the caller has one, has
        // returned, an event for the caller.
        ins.global_get(g.current.0)
            .i32_const(0)
            .i32_ge_s()
            .if_(we::BlockType::Empty);
        self.resolve_subtask(&mut ins, handle, STATUS_RETURNED)?;
        ins.end();
        // The return function calls the caller's realloc; as in the start-calls.
        barrier_open(&mut ins);
        // block $k ... block $0 (br_table) end: adapter k's code follows the k-th `end`.
        let n = branches.len() as u32;
        ins.block(we::BlockType::Empty);
        for _ in 0..n {
            ins.block(we::BlockType::Empty);
        }
        ins.global_get(g.adapter.0)
            .br_table((0..n).collect::<Vec<_>>(), n);
        ins.end();
        for (k, branch) in branches.iter().enumerate() {
            match branch {
                Some((ret, retptr, stored)) => {
                    for i in 0..params.len() as u32 {
                        ins.local_get(i);
                    }
                    if let Some(p) = retptr {
                        ins.global_get(p.0);
                    }
                    ins.call(ret.0);
                    for s in stored.iter().rev() {
                        ins.global_set(s.0);
                    }
                }
                None => {
                    ins.call(invalid.0);
                }
            }
            ins.br(n - k as u32 - 1);
            ins.end();
        }
        barrier_close(&mut ins, uncaught);
        // Once the results are lifted (wasmtime's `task_complete`): the task's borrows must
        // have been dropped, and its lends end (its scope is the innermost while it runs).
        ins.call(validate.0);
        ins.end();
        Ok(self.add_func(ty, format!("task.return{}", results.as_u32()), body))
    }
}

/// The scheduler and the waitable built-ins: the records of suspended callback tasks, the
/// loops that run them while something blocks, waitable sets and subtasks (see `tasks.wat`).
impl Lowerer<'_, '_> {
    /// The scheduler's globals, `table-of` and reserved `resume`, made once.
    fn scheduler(&mut self) -> Result<Scheduler> {
        if let Some(s) = &self.tasks.scheduler {
            return Ok(s.clone());
        }
        let handles = runtime_structs::HANDLES;
        let records = self.task_array(16 * 32, "records");
        let num = self.task_int(0, "num-records");
        let free = self.task_int(-1, "free-record");
        let seq = self.task_int(0, "seq");
        let loops = self.task_int(0, "loops");
        let heap = self.task_array(16 * 2, "heap");
        let heap_len = self.task_int(0, "heap-len");
        let aside = self.task_array(16 * 2, "aside");
        let stamps = self.task_int(0, "stamps");
        // `table-of`: a chain of comparisons with the component instances.
        let n = self
            .input
            .front
            .translation
            .component
            .num_runtime_component_instances;
        let tables: Vec<OutGlobal> = (0..n)
            .map(|i| self.handle_table(RuntimeComponentInstanceIndex::from_u32(i)))
            .collect();
        let ty = self.func_type(
            &[I32],
            &[runtime_structs::ref_non_null(runtime_structs::HANDLE_TABLE)],
        );
        let mut body = we::Function::new([]);
        let mut ins = body.instructions();
        for (i, t) in tables.iter().enumerate() {
            ins.local_get(0)
                .i32_const(i as i32)
                .i32_eq()
                .if_(we::BlockType::Empty)
                .global_get(t.0)
                .return_()
                .end();
        }
        ins.unreachable().end();
        let table_of = self.add_func(ty, "task:table-of".into(), body);
        let entered = self.task_array(n.max(1) as i32, "entered");
        let backpressure = self.task_array(n.max(1) as i32, "backpressure");
        let starting = self.task_array(n.max(1) as i32, "starting");
        let ty = self.func_type(&[I32], &[]);
        let resume = self.reserve_func(ty, "task:resume".into());
        let ty = self.func_type(&[], &[I32]);
        let host_step = self.reserve_func(ty, "task:host-step".into());
        let ty = self.func_type(&[], &[]);
        let host_poll = self.reserve_func(ty, "task:host-poll".into());
        let ty = self.func_type(&[I32], &[]);
        let host_deliver = self.reserve_func(ty, "task:host-deliver".into());
        let g = self.task_globals();
        let imports = vec![
            table_of,
            resume,
            self.resource_op("has-event")?,
            self.resource_op("waiters")?,
            self.resource_op("set-slot")?,
            self.resource_op("add-waiter")?,
            self.resource_op("remove-waiter")?,
            host_step,
            host_poll,
        ];
        let binding = Binding {
            memories: Vec::new(),
            types: vec![handles, runtime_structs::HANDLE_TABLE],
            imports,
            globals: vec![
                records.0,
                num.0,
                free.0,
                seq.0,
                loops.0,
                entered.0,
                backpressure.0,
                starting.0,
                g.returned.0,
                g.current.0,
                heap.0,
                heap_len.0,
                aside.0,
                stamps.0,
            ],
        };
        let s = Scheduler {
            binding,
            resume,
            table_of,
            host_step,
            host_poll,
            host_deliver,
        };
        self.tasks.scheduler = Some(s.clone());
        Ok(s)
    }

    /// The scheduler's `table-of`: `(component instance) -> (ref HANDLE_TABLE)`.
    pub(crate) fn scheduler_table_of(&mut self) -> Result<OutFunc> {
        Ok(self.scheduler()?.table_of)
    }

    /// Function `name` of the scheduler template, bound to this output.
    pub(crate) fn scheduler_op(&mut self, name: &str) -> Result<OutFunc> {
        let binding = self.scheduler()?.binding;
        let template = scheduler_template();
        let f = template.export(name)?;
        self.template_func(template, &binding, f)
    }

    /// Gives the scheduler's `resume` its body, once every adapter's resume function is made:
    /// a `br_table` on the record's adapter, then its deferred start for a record that is
    /// starting, else its resume function.
    pub(crate) fn finish_scheduler(&mut self) -> Result<()> {
        if let Some(wake) = self.resources.wake {
            let mut body = we::Function::new([]);
            let mut ins = body.instructions();
            // Without a scheduler no record waits on a set, and no list has a first record.
            if self.tasks.scheduler.is_some() {
                let f = self.scheduler_op("wake")?;
                ins.local_get(0).local_get(1).local_get(2).call(f.0);
            }
            ins.end();
            self.define_func(wake, body);
        }
        let Some(s) = self.tasks.scheduler.clone() else {
            return Ok(());
        };
        let get = self.scheduler_op("get")?;
        // `host-deliver`: the entry's record, results block and state, the entry freed, then
        // the record's adapter's `host-return`.
        // `host-step`: the exchange module's `host-wait` gives the entry of a pending host
        // call that has resolved (-1: none pending), delivered.
        // `host-poll`: the exchange module's `host-poll` (one yield to the host and the events
        // that have come), then every call that has resolved (`host-resolved`) delivered.
        let host_returns: Vec<(usize, OutFunc)> = self
            .tasks
            .adapters
            .iter()
            .enumerate()
            .filter_map(|(k, a)| a.host_return.map(|f| (k, f)))
            .collect();
        let mut step = we::Function::new([(1, I32)]);
        let mut poll = we::Function::new([(1, I32)]);
        let mut deliver = we::Function::new([(3, I32)]);
        let host_transmits = !self.input.host.host_transmits.is_empty();
        match self.input.host.exchange {
            Some(exchange) if !host_returns.is_empty() || host_transmits => {
                let wait = self.exchange_func(exchange, "host-wait")?;
                let poll_host = self.exchange_func(exchange, "host-poll")?;
                let resolved = self.exchange_func(exchange, "host-resolved")?;
                let entry_record = self.exchange_func(exchange, "entry-record")?;
                let entry_area = self.exchange_func(exchange, "entry-area")?;
                let entry_state = self.exchange_func(exchange, "entry-state")?;
                let entry_done = self.exchange_func(exchange, "entry-done")?;
                let (record, area, cancelled) = (1, 2, 3);
                let copied = match host_transmits {
                    true => Some(self.transmit_host_copied()?),
                    false => None,
                };
                let mut ins = deliver.instructions();
                ins.local_get(0).call(entry_record.0).local_set(record);
                ins.local_get(0).call(entry_area.0).local_set(area);
                if let Some(copied) = copied {
                    // A write to a bridged stream (record `-2 - x`): its copy result, in the
                    // entry's third word, to the transmit's writer.
                    ins.local_get(record)
                        .i32_const(-1)
                        .i32_lt_s()
                        .if_(we::BlockType::Empty);
                    ins.local_get(0).call(entry_done.0);
                    ins.i32_const(-2)
                        .local_get(record)
                        .i32_sub()
                        .local_get(area)
                        .call(copied.0)
                        .return_();
                    ins.end();
                }
                ins.local_get(0)
                    .call(entry_state.0)
                    .i32_const(STATUS_RETURN_CANCELLED)
                    .i32_eq()
                    .local_set(cancelled);
                ins.local_get(0).call(entry_done.0);
                for &(k, f) in &host_returns {
                    ins.local_get(record)
                        .i32_const(1)
                        .call(get.0)
                        .i32_const(k as i32)
                        .i32_eq()
                        .if_(we::BlockType::Empty)
                        .local_get(record)
                        .local_get(area)
                        .local_get(cancelled)
                        .call(f.0)
                        .return_()
                        .end();
                }
                ins.unreachable().end();
                let mut ins = step.instructions();
                ins.call(wait.0).local_tee(0).i32_const(-1).i32_eq();
                ins.if_(we::BlockType::Empty).i32_const(0).return_().end();
                ins.local_get(0).call(s.host_deliver.0).i32_const(1).end();
                let mut ins = poll.instructions();
                ins.call(poll_host.0);
                ins.loop_(we::BlockType::Empty);
                ins.call(resolved.0).local_tee(0).i32_const(0).i32_lt_s();
                ins.if_(we::BlockType::Empty).return_().end();
                ins.local_get(0).call(s.host_deliver.0).br(0);
                ins.end().end();
            }
            _ => {
                step.instructions().i32_const(0).end();
                poll.instructions().end();
                deliver.instructions().unreachable().end();
            }
        }
        self.define_func(s.host_deliver, deliver);
        self.define_func(s.host_step, step);
        self.define_func(s.host_poll, poll);
        let resumes: Vec<Option<OutFunc>> = self.tasks.adapters.iter().map(|a| a.resume).collect();
        let starts: Vec<Option<OutFunc>> = self
            .tasks
            .adapters
            .iter()
            .map(|a| a.deferred_start)
            .collect();
        let n = resumes.len() as u32;
        let mut body = we::Function::new([]);
        let mut ins = body.instructions();
        for _ in 0..=n {
            ins.block(we::BlockType::Empty);
        }
        ins.local_get(0)
            .i32_const(1)
            .call(get.0)
            .br_table((0..n).collect::<Vec<_>>(), n);
        ins.end();
        for (r, start) in resumes.iter().zip(&starts) {
            if let Some(start) = start {
                ins.local_get(0)
                    .i32_const(RECORD_STATUS)
                    .call(get.0)
                    .i32_const(STATUS_STARTING_RECORD)
                    .i32_eq()
                    .if_(we::BlockType::Empty)
                    .local_get(0)
                    .call(start.0)
                    .return_()
                    .end();
            }
            match r {
                Some(r) => ins.local_get(0).call(r.0).return_(),
                None => ins.unreachable(),
            };
            ins.end();
        }
        ins.unreachable().end();
        self.define_func(s.resume, body);
        Ok(())
    }

    /// The component instance whose core instance defines `def`.
    fn component_instance_of(&self, def: &CoreDef) -> Option<RuntimeComponentInstanceIndex> {
        match def {
            CoreDef::Export(e) => self.input.graph.instances[e.instance].component_instance,
            _ => None,
        }
    }

    /// The component instance of adapter `k`'s caller: the one whose core instance imports
    /// the adapter's entry.
    ///
    /// Errors: internal, when no component instance's core instance does.
    fn adapter_caller(&self, k: usize) -> Result<RuntimeComponentInstanceIndex> {
        let a = &self.tasks.adapters[k];
        let m = self.input.graph.instances[a.instance].module;
        let entry = self.adapter_module_export(m, &a.name)?;
        let mut caller = None;
        for inst in self.input.graph.instances.values() {
            for arg in &inst.args {
                let CoreDef::Export(e) = arg else { continue };
                let is_entry = e.instance == a.instance
                    && match &e.item {
                        ExportItem::Name(n) => *n == a.name,
                        ExportItem::Index(EntityIndex::Function(f)) => f.as_u32() == entry,
                        ExportItem::Index(_) => false,
                    };
                if is_entry {
                    caller = caller.or(inst.component_instance);
                }
            }
        }
        caller.with_context(|| format!("internal: adapter `{}` has no caller instance", a.name))
    }

    /// `(record)`: one step of a suspended task whose callee is adapter `k`'s callback lift
    /// (`cb`, in component instance `callee`): restores the task, delivers its event (its
    /// cancellation; else a woken task's, taken from its set; none for a yielded one) to its
    /// callback, then
    /// ends the task (`EXIT`, which must follow `task.return`) or queues it again, as
    /// wasmtime's `handle_callback_code` does.
    fn resume_task(
        &mut self,
        k: usize,
        cb: OutFunc,
        callee: RuntimeComponentInstanceIndex,
        retptr: Option<OutGlobal>,
    ) -> Result<OutFunc> {
        if let Some(f) = self.tasks.adapters[k].resume {
            return Ok(f);
        }
        let g = self.task_globals();
        let get = self.scheduler_op("get")?;
        let set = self.scheduler_op("set")?;
        let take = self.resource_op("take-event")?;
        let take_cancel = self.scheduler_op("take-cancel")?;
        let enter = self.scheduler_op("enter")?;
        let exit = self.scheduler_op("exit")?;
        let attach = self.resource_op("attach-call")?;
        let table = self.handle_table(callee);
        let uncaught = self.uncaught_exception();
        // Locals: the record, the saved task state (with the return pointer global, which
        // the start-calls of the adapter read), the event.
        let mut saved = g.switched().to_vec();
        saved.extend(retptr);
        let base = 1;
        let code = base + saved.len() as u32;
        let (index, payload) = (code + 1, code + 2);
        let mut body = we::Function::new([(saved.len() as u32 + 3, I32)]);
        let mut ins = body.instructions();
        save(&mut ins, &saved, base);
        self.begin_run(&mut ins, k, retptr)?;
        // A requested cancellation first (`TASK_CANCELLED`, as wasmtime's `get_event` takes
        // the task's own event before its set's); then a woken task's event; a yielded one
        // gets `EVENT_NONE` (the zeroed locals).
        ins.local_get(0)
            .call(take_cancel.0)
            .if_(we::BlockType::Empty)
            .i32_const(EVENT_CANCELLED)
            .local_set(code)
            .else_()
            .local_get(0)
            .i32_const(RECORD_STATUS)
            .call(get.0)
            .i32_const(STATUS_WOKEN)
            .i32_eq()
            .if_(we::BlockType::Empty)
            .global_get(table.0)
            .local_get(0)
            .i32_const(RECORD_SET)
            .call(get.0)
            .call(take.0)
            .local_set(payload)
            .local_set(index)
            .local_set(code)
            .end()
            .end();
        ins.local_get(0)
            .i32_const(RECORD_STATUS)
            .i32_const(1)
            .call(set.0);
        // The task's borrow scope is the innermost while its callback runs.
        ins.local_get(0)
            .i32_const(RECORD_SCOPE)
            .call(get.0)
            .call(attach.0);
        barrier_open(&mut ins);
        ins.i32_const(callee.as_u32() as i32).call(enter.0);
        ins.local_get(code)
            .local_get(index)
            .local_get(payload)
            .call(cb.0)
            .local_set(code);
        ins.i32_const(callee.as_u32() as i32).call(exit.0);
        barrier_close(&mut ins, uncaught);
        self.end_of_run(&mut ins, code)?;
        restore(&mut ins, &saved, base);
        ins.end();
        let ty = self.func_type(&[I32], &[]);
        let name = format!("resume:{}", self.tasks.adapters[k].name);
        let f = self.add_func(ty, name, body);
        self.tasks.adapters[k].resume = Some(f);
        Ok(f)
    }

    /// Before a run of the task whose record is local 0 (a task of adapter `k`): the task's
    /// state from its record into the current task's globals (the return pointer into
    /// `retptr`), the task the current one, allowed to block, not inside an async lower.
    fn begin_run(
        &mut self,
        ins: &mut we::InstructionSink<'_>,
        k: usize,
        retptr: Option<OutGlobal>,
    ) -> Result<()> {
        let g = self.task_globals();
        let get = self.scheduler_op("get")?;
        for (word, global) in g.recorded() {
            ins.local_get(0)
                .i32_const(word)
                .call(get.0)
                .global_set(global.0);
        }
        ins.i32_const(k as i32).global_set(g.adapter.0);
        ins.i32_const(1).global_set(g.may_block.0);
        ins.i32_const(0).global_set(g.async_depth.0);
        ins.local_get(0).global_set(g.current.0);
        if let Some(p) = retptr {
            ins.local_get(0)
                .i32_const(RECORD_RETPTR)
                .call(get.0)
                .global_set(p.0);
        }
        Ok(())
    }

    /// After a callback call of the task whose record is local 0 returned the code in local
    /// `code`: the task's state back into its record; then `EXIT` (after `task.return`, else
    /// the trap) ends the task and frees its scope, and any other code takes the scope off
    /// the stack and queues the task as the code says.
    fn end_of_run(&mut self, ins: &mut we::InstructionSink<'_>, code: u32) -> Result<()> {
        let g = self.task_globals();
        let set = self.scheduler_op("set")?;
        let park = self.scheduler_op("park")?;
        let exited = self.scheduler_op("exited")?;
        let detach = self.resource_op("detach-call")?;
        let exit_scope = self.exit_sync_call()?;
        let not_returned = self.trap_func(&trap_reason(Trap::NoAsyncResult));
        for (word, global) in g.recorded() {
            ins.local_get(0)
                .i32_const(word)
                .global_get(global.0)
                .call(set.0);
        }
        if_exit(ins, code, g.returned, not_returned);
        ins.call(exit_scope.0);
        ins.local_get(0).call(exited.0);
        ins.else_();
        ins.call(detach.0).drop();
        ins.local_get(0).local_get(code).call(park.0);
        ins.end();
        Ok(())
    }

    /// `() -> status`: defers the call that adapter `k`'s runner is starting, whose callee
    /// instance may not be entered now (wasmtime queues it in the instance's `pending`): a
    /// record in state starting that keeps the task's state, its return pointer, the
    /// caller's parameters `kept` (words 17 to 30, two per 64-bit value) and the task's borrow
    /// scope, a subtask in the caller's table, and `STARTING` with its handle. The scheduler
    /// starts it ([`Self::deferred_start`]) once the instance is not entered and has no
    /// backpressure.
    fn deferral(
        &mut self,
        k: usize,
        kept: &[(OutGlobal, we::ValType)],
        retptr: Option<OutGlobal>,
    ) -> Result<OutFunc> {
        let g = self.task_globals();
        let words: u32 = kept.iter().map(|(_, t)| value_words(*t)).sum();
        if RECORD_PARAMS as u32 + words > RECORD_STAMP {
            bail!(
                "internal: the parameters of `{}` do not fit a task record",
                self.tasks.adapters[k].name
            );
        }
        let caller = self.adapter_caller(k)?;
        let callee = self
            .callee_instance(k)?
            .context("internal: a deferred call without a callee instance")?;
        let alloc = self.scheduler_op("alloc")?;
        let set = self.scheduler_op("set")?;
        let defer = self.scheduler_op("defer")?;
        let detach = self.resource_op("detach-call")?;
        let subtask_new = self.resource_op("subtask-new-starting")?;
        let caller_table = self.handle_table(caller);
        let (record, handle) = (0, 1);
        let mut body = we::Function::new([(2, I32)]);
        let mut ins = body.instructions();
        ins.i32_const(k as i32)
            .i32_const(callee.as_u32() as i32)
            .i32_const(caller.as_u32() as i32)
            .call(alloc.0)
            .local_set(record);
        for (word, global) in g.recorded() {
            ins.local_get(record)
                .i32_const(word)
                .global_get(global.0)
                .call(set.0);
        }
        if let Some(p) = retptr {
            ins.local_get(record)
                .i32_const(RECORD_RETPTR)
                .global_get(p.0)
                .call(set.0);
        }
        let mut word = RECORD_PARAMS;
        for (p, t) in kept {
            for half in 0..value_words(*t) {
                ins.local_get(record).i32_const(word).global_get(p.0);
                match t {
                    we::ValType::I32 => {}
                    we::ValType::F32 => {
                        ins.i32_reinterpret_f32();
                    }
                    we::ValType::I64 | we::ValType::F64 => {
                        if *t == we::ValType::F64 {
                            ins.i64_reinterpret_f64();
                        }
                        ins.i64_const(32 * half as i64).i64_shr_u().i32_wrap_i64();
                    }
                    _ => bail!("internal: a flat parameter of type {t:?}"),
                }
                ins.call(set.0);
                word += 1;
            }
        }
        ins.local_get(record)
            .i32_const(RECORD_SCOPE)
            .call(detach.0)
            .call(set.0);
        ins.global_get(caller_table.0)
            .local_get(record)
            .call(subtask_new.0)
            .local_set(handle);
        ins.local_get(record)
            .i32_const(RECORD_SUBTASK)
            .local_get(handle)
            .call(set.0);
        ins.local_get(record).call(defer.0);
        // `STARTING` (0) with the subtask's handle above it.
        ins.local_get(handle).i32_const(4).i32_shl().end();
        let ty = self.func_type(&[], &[I32]);
        let name = format!("defer:{}", self.tasks.adapters[k].name);
        let f = self.add_func(ty, name, body);
        self.deferred_start(k, kept, retptr)?;
        Ok(f)
    }

    /// `(record)`: starts the deferred call of record `record` (adapter `k`'s callback lift,
    /// see [`Self::deferral`]) as a start-call would have: its task state and the caller's
    /// parameters restored, its scope the innermost, the parameters lifted and the callee's
    /// first call made (its subtask `STARTED` in between, until a `task.return`); then the
    /// task ends (`EXIT`) or is queued as its code says.
    fn deferred_start(
        &mut self,
        k: usize,
        kept: &[(OutGlobal, we::ValType)],
        retptr: Option<OutGlobal>,
    ) -> Result<OutFunc> {
        if let Some(f) = self.tasks.adapters[k].deferred_start {
            return Ok(f);
        }
        let g = self.task_globals();
        let callee_ci = self
            .callee_instance(k)?
            .context("internal: a deferred call without a callee instance")?;
        let start = self.adapter_export(k, "async-start")?;
        let callee = self.adapter_export(k, "adapter-callee")?;
        let get = self.scheduler_op("get")?;
        let set = self.scheduler_op("set")?;
        let enter = self.scheduler_op("enter")?;
        let exit = self.scheduler_op("exit")?;
        let attach = self.resource_op("attach-call")?;
        let started = self.scheduler_op("started")?;
        let uncaught = self.uncaught_exception();
        // Locals: the record, the saved task state, the parameter globals' values, the
        // code, a scratch handle.
        let mut saved = g.switched().to_vec();
        saved.extend(retptr);
        let base = 1;
        let mut locals = vec![(saved.len() as u32, I32)];
        for (_, t) in kept {
            locals.push((1, *t));
        }
        locals.push((2, I32));
        let kept_base = base + saved.len() as u32;
        let code = kept_base + kept.len() as u32;
        let handle = code + 1;
        let mut body = we::Function::new(locals);
        let mut ins = body.instructions();
        save(&mut ins, &saved, base);
        for (i, (p, _)) in kept.iter().enumerate() {
            ins.global_get(p.0).local_set(kept_base + i as u32);
        }
        self.begin_run(&mut ins, k, retptr)?;
        let mut word = RECORD_PARAMS;
        for (p, t) in kept {
            match t {
                we::ValType::I32 | we::ValType::F32 => {
                    ins.local_get(0).i32_const(word).call(get.0);
                    if *t == we::ValType::F32 {
                        ins.f32_reinterpret_i32();
                    }
                    word += 1;
                }
                _ => {
                    ins.local_get(0)
                        .i32_const(word)
                        .call(get.0)
                        .i64_extend_i32_u();
                    ins.local_get(0)
                        .i32_const(word + 1)
                        .call(get.0)
                        .i64_extend_i32_u()
                        .i64_const(32)
                        .i64_shl()
                        .i64_or();
                    if *t == we::ValType::F64 {
                        ins.f64_reinterpret_i64();
                    }
                    word += 2;
                }
            }
            ins.global_set(p.0);
        }
        ins.local_get(0)
            .i32_const(RECORD_STATUS)
            .i32_const(1)
            .call(set.0);
        ins.local_get(0).call(started.0);
        ins.local_get(0)
            .i32_const(RECORD_SCOPE)
            .call(get.0)
            .call(attach.0);
        barrier_open(&mut ins);
        ins.i32_const(callee_ci.as_u32() as i32).call(enter.0);
        for (p, _) in kept {
            ins.global_get(p.0);
        }
        ins.call(start.0);
        // The parameters are lifted: `STARTED` for the caller (wasmtime sets it there; a
        // `task.return` in the first call makes it `RETURNED`).
        self.resolve_subtask(&mut ins, handle, STATUS_STARTED)?;
        ins.call(callee.0).local_set(code);
        ins.i32_const(callee_ci.as_u32() as i32).call(exit.0);
        barrier_close(&mut ins, uncaught);
        self.end_of_run(&mut ins, code)?;
        restore(&mut ins, &saved, base);
        for (i, (p, _)) in kept.iter().enumerate() {
            ins.local_get(kept_base + i as u32).global_set(p.0);
        }
        ins.end();
        let ty = self.func_type(&[I32], &[]);
        let name = format!("start:{}", self.tasks.adapters[k].name);
        let f = self.add_func(ty, name, body);
        self.tasks.adapters[k].deferred_start = Some(f);
        Ok(f)
    }

    /// `backpressure.inc` (`delta` 1) and `backpressure.dec` (-1) of component instance
    /// `instance`: `() -> ()`, after the may-leave check; the counter stays in 0..=0xffff,
    /// else wasmtime's `BackpressureOverflow` trap. Calls into the instance wait to start
    /// while it is above 0.
    pub(crate) fn backpressure(
        &mut self,
        instance: RuntimeComponentInstanceIndex,
        delta: i32,
        ty: OutType,
    ) -> Result<OutFunc> {
        let add = self.scheduler_op("backpressure-add")?;
        let mut body = we::Function::new([]);
        let mut ins = body.instructions();
        self.may_leave(&mut ins, instance);
        ins.i32_const(instance.as_u32() as i32)
            .i32_const(delta)
            .call(add.0)
            .end();
        let name = if delta > 0 {
            "backpressure.inc"
        } else {
            "backpressure.dec"
        };
        Ok(self.add_func(ty, format!("{name}{}", instance.as_u32()), body))
    }

    /// Pushes a trap unless component instance `instance` may leave, as wasmtime checks
    /// before each async built-in.
    pub(crate) fn may_leave(
        &mut self,
        ins: &mut we::InstructionSink<'_>,
        instance: RuntimeComponentInstanceIndex,
    ) {
        let flags = self.flags_global(instance);
        let trap = self.trap_func(crate::assemble::CANNOT_LEAVE);
        ins.global_get(flags.0).i32_eqz();
        trap_if(ins, trap);
    }

    /// A built-in of component instance `instance` that calls resources-template operation
    /// `op` with the instance's handle table and its own parameters, after the may-leave
    /// check; `then`, when given, is called with `op`'s results (`subtask.drop` forgets the
    /// record).
    fn table_builtin(
        &mut self,
        instance: RuntimeComponentInstanceIndex,
        op: &str,
        ty: OutType,
        then: Option<OutFunc>,
    ) -> Result<OutFunc> {
        let f = self.resource_op(op)?;
        let table = self.handle_table(instance);
        let (params, _) = self.func_type_of(ty);
        let mut body = we::Function::new([]);
        let mut ins = body.instructions();
        self.may_leave(&mut ins, instance);
        ins.global_get(table.0);
        for p in 0..params.len() as u32 {
            ins.local_get(p);
        }
        ins.call(f.0);
        if let Some(then) = then {
            ins.call(then.0);
        }
        ins.end();
        Ok(self.add_func(ty, format!("{op}{}", instance.as_u32()), body))
    }

    /// The handle-table built-ins of the async ABI: `waitable-set.new` (`() -> i32`),
    /// `waitable-set.drop` (`(set)`; traps while a task waits on the set or a waitable is in
    /// it), `waitable.join` (`(waitable, set)`) and `subtask.drop` (`(subtask)`; traps unless
    /// it has resolved and its event was delivered); `None` for other trampolines.
    pub(crate) fn waitable_builtin(
        &mut self,
        t: &Trampoline,
        ty: OutType,
    ) -> Result<Option<OutFunc>> {
        let (instance, op, then) = match t {
            Trampoline::WaitableSetNew { instance } => (*instance, "waitable-set-new", None),
            Trampoline::WaitableSetDrop { instance } => (*instance, "waitable-set-drop", None),
            Trampoline::WaitableJoin { instance } => (*instance, "waitable-join", None),
            Trampoline::SubtaskDrop { instance } => (
                *instance,
                "subtask-drop",
                Some(self.scheduler_op("forget")?),
            ),
            _ => return Ok(None),
        };
        self.table_builtin(instance, op, ty, then).map(Some)
    }

    /// Marks the current task (when it has a record) as waiting cancellably on the stack, or
    /// no longer ([`WakeOn`]): `subtask.cancel` of it meanwhile is the limit
    /// [`CANCEL_BELOW`] (unless the set it waits on has an event).
    fn wake_on_cancel(&mut self, ins: &mut we::InstructionSink<'_>, on: WakeOn) -> Result<()> {
        let g = self.task_globals();
        let set = self.scheduler_op("set")?;
        ins.global_get(g.current.0)
            .i32_const(0)
            .i32_ge_s()
            .if_(we::BlockType::Empty)
            .global_get(g.current.0)
            .i32_const(RECORD_WAKE_ON_CANCEL);
        match on {
            WakeOn::Nothing => ins.i32_const(0),
            WakeOn::Yield => ins.i32_const(-1),
            WakeOn::Set(local) => ins.local_get(local),
        };
        ins.call(set.0).end();
        Ok(())
    }

    /// `thread.yield`: `() -> i32`, 1 when the task was cancelled (with `cancellable`, a
    /// `TASK_CANCELLED` event awaiting the task is taken instead of yielding). A task that
    /// may not block goes on at once, as in wasmtime, which has no other thread of the
    /// instance to run; inside an `async`-lowered callee's first call it is the limit; else
    /// the queued tasks that wasmtime runs before the yielding one comes back run first.
    pub(crate) fn thread_yield(
        &mut self,
        instance: RuntimeComponentInstanceIndex,
        cancellable: bool,
        ty: OutType,
    ) -> Result<OutFunc> {
        let g = self.task_globals();
        let run = self.scheduler_op("yield")?;
        let take_cancel = self.scheduler_op("take-cancel")?;
        let not_finished = self.trap_func(NOT_FINISHED);
        let mut body = we::Function::new([]);
        let mut ins = body.instructions();
        self.may_leave(&mut ins, instance);
        ins.global_get(g.may_block.0).if_(we::BlockType::Empty);
        if cancellable {
            ins.global_get(g.current.0)
                .call(take_cancel.0)
                .if_(we::BlockType::Empty)
                .i32_const(1)
                .return_()
                .end();
        }
        ins.global_get(g.async_depth.0);
        trap_if(&mut ins, not_finished);
        if cancellable {
            self.wake_on_cancel(&mut ins, WakeOn::Yield)?;
        }
        ins.call(run.0);
        if cancellable {
            self.wake_on_cancel(&mut ins, WakeOn::Nothing)?;
            ins.global_get(g.current.0).call(take_cancel.0).return_();
        }
        ins.end();
        ins.i32_const(0).end();
        Ok(self.add_func(ty, format!("thread.yield{}", instance.as_u32()), body))
    }

    /// `waitable-set.wait` (`wait`) and `waitable-set.poll`: `(set, ptr) -> event code`, the
    /// event's waitable and payload written at `ptr` in the options' memory. A wait runs
    /// queued tasks until the set has an event; it traps in a task that may not block, and
    /// at a limit inside an `async`-lowered callee's first run (wasmtime suspends that
    /// callee's stack). With `cancellable` options, a `TASK_CANCELLED` event awaiting the
    /// task comes first (waitable 0, payload 0), as in wasmtime's `get_event`.
    pub(crate) fn waitable_set_check(
        &mut self,
        instance: RuntimeComponentInstanceIndex,
        options: OptionsIndex,
        wait: bool,
        ty: OutType,
    ) -> Result<OutFunc> {
        let g = self.task_globals();
        let table = self.handle_table(instance);
        let opts = &self.input.front.translation.component.options[options];
        let (async_, cancellable) = (opts.async_, opts.cancellable);
        let memory = opts
            .memory()
            .context("internal: a waitable-set built-in without a memory")?;
        let memory = self.resolve_memory(&crate::host::memory_def(
            &self.input.front.translation.component,
            memory,
        )?)?;
        let mut binding = self.scheduler()?.binding;
        binding.memories = vec![memory];
        let template = scheduler_template();
        let store = self.template_func(template, &binding, template.export("store-event")?)?;
        let wait_set = self.scheduler_op("wait-set")?;
        let take_cancel = self.scheduler_op("take-cancel")?;
        let set_slot = self.resource_op("set-slot")?;
        let take = self.resource_op("take-event")?;
        let cannot_block = self.trap_func(&trap_reason(Trap::CannotBlockSyncTask));
        let not_finished = self.trap_func(NOT_FINISHED);
        let mut body = we::Function::new([(3, I32)]);
        let mut ins = body.instructions();
        let (index, payload, code) = (2, 3, 4);
        self.may_leave(&mut ins, instance);
        if wait && !async_ {
            ins.global_get(g.may_block.0).i32_eqz();
            trap_if(&mut ins, cannot_block);
        }
        ins.global_get(table.0).local_get(0).call(set_slot.0).drop();
        if cancellable {
            ins.global_get(g.current.0)
                .call(take_cancel.0)
                .if_(we::BlockType::Empty)
                .local_get(1)
                .i32_const(0)
                .i32_const(0)
                .call(store.0)
                .i32_const(EVENT_CANCELLED)
                .return_()
                .end();
        }
        if wait {
            ins.global_get(g.async_depth.0);
            trap_if(&mut ins, not_finished);
            if cancellable {
                self.wake_on_cancel(&mut ins, WakeOn::Set(0))?;
            }
            ins.global_get(table.0).local_get(0).call(wait_set.0);
            if cancellable {
                self.wake_on_cancel(&mut ins, WakeOn::Nothing)?;
            }
        }
        // (code, index, payload): the payload and index are stored, the code returned.
        ins.global_get(table.0)
            .local_get(0)
            .call(take.0)
            .local_set(payload)
            .local_set(index)
            .local_set(code);
        ins.local_get(1)
            .local_get(index)
            .local_get(payload)
            .call(store.0);
        ins.local_get(code).end();
        let name = if wait {
            "waitable-set.wait"
        } else {
            "waitable-set.poll"
        };
        Ok(self.add_func(ty, format!("{name}{}", instance.as_u32()), body))
    }

    /// Emits: the current task (which has a record) has resolved with subtask state
    /// `status`: its subtask, if its caller holds one, gets the event. `handle` is an `i32`
    /// local for the subtask handle.
    fn resolve_subtask(
        &mut self,
        ins: &mut we::InstructionSink<'_>,
        handle: u32,
        status: i32,
    ) -> Result<()> {
        let g = self.task_globals();
        let get = self.scheduler_op("get")?;
        let table_of = self.scheduler()?.table_of;
        let resolve = self.resource_op("subtask-resolve")?;
        ins.global_get(g.current.0)
            .i32_const(RECORD_SUBTASK)
            .call(get.0)
            .local_tee(handle)
            .if_(we::BlockType::Empty)
            .global_get(g.current.0)
            .i32_const(RECORD_CALLER)
            .call(get.0)
            .call(table_of.0)
            .local_get(handle)
            .i32_const(status)
            .call(resolve.0)
            .end();
        Ok(())
    }

    /// `task.cancel`: `() -> ()`. Traps unless cancellation of the current task was requested
    /// (`subtask.cancel` of it; only a task that went on past its first run can be, its
    /// caller holding a subtask) and unless it has neither returned nor cancelled; then the
    /// task resolves without a result: its subtask gets `CANCELLED_BEFORE_RETURNED`
    /// (wasmtime's `task_cancel`).
    pub(crate) fn task_cancel(
        &mut self,
        instance: RuntimeComponentInstanceIndex,
        ty: OutType,
    ) -> Result<OutFunc> {
        let g = self.task_globals();
        let requested = self.scheduler_op("cancel-requested")?;
        let not_cancelled = self.trap_func(&trap_reason(Trap::TaskCancelNotCancelled));
        let twice = self.trap_func(&trap_reason(Trap::TaskCancelOrReturnTwice));
        let validate = self.resource_op("validate-scope")?;
        let handle = 0;
        let mut body = we::Function::new([(1, I32)]);
        let mut ins = body.instructions();
        self.may_leave(&mut ins, instance);
        ins.global_get(g.current.0).call(requested.0).i32_eqz();
        trap_if(&mut ins, not_cancelled);
        ins.global_get(g.returned.0);
        trap_if(&mut ins, twice);
        // As `task.return`: the task's borrows dropped, its lends ended.
        ins.call(validate.0);
        ins.i32_const(1).global_set(g.returned.0);
        ins.i32_const(1).global_set(g.may_block.0);
        self.resolve_subtask(&mut ins, handle, STATUS_RETURN_CANCELLED)?;
        ins.end();
        Ok(self.add_func(ty, format!("task.cancel{}", instance.as_u32()), body))
    }

    /// `subtask.cancel`: `(subtask) -> status` (wasmtime's `subtask_cancel`). A call that has
    /// not started is cancelled at once: `CANCELLED_BEFORE_STARTED`, with no event. A subtask
    /// that has resolved gives its state (`RETURNED`), taking its event, and traps when its
    /// event was delivered already. Else the callee's cancellation is requested: a callee waiting
    /// in its callback loop on a set that has no event gets `TASK_CANCELLED` at once (the
    /// canceller yields, as in wasmtime), one that yielded or whose set has an event gets it
    /// in its next callback call, one that runs further down the stack when it next waits.
    /// If the callee then has resolved, its state (`RETURNED` or `CANCELLED_BEFORE_RETURNED`)
    /// is the result; else `async` gives `BLOCKED`, and the sync form runs queued tasks until
    /// it resolves. The sync form traps
    /// in a task that may not block and for a subtask in a waitable set. Limits: inside an
    /// `async`-lowered callee's first run where wasmtime suspends ([`NOT_FINISHED`]), and a
    /// callee that waits cancellably further down the stack ([`CANCEL_BELOW`]).
    pub(crate) fn subtask_cancel(
        &mut self,
        instance: RuntimeComponentInstanceIndex,
        async_: bool,
        ty: OutType,
    ) -> Result<OutFunc> {
        let g = self.task_globals();
        let table = self.handle_table(instance);
        let cancel_task = self.resource_op("subtask-cancel-task")?;
        let resolved = self.resource_op("subtask-resolved")?;
        let take = self.resource_op("subtask-take")?;
        let request = self.scheduler_op("request-cancel")?;
        let run = self.scheduler_op("yield")?;
        let wait_task = self.scheduler_op("wait-task")?;
        let cannot_block = self.trap_func(&trap_reason(Trap::CannotBlockSyncTask));
        let not_finished = self.trap_func(NOT_FINISHED);
        let below = self.trap_func(CANCEL_BELOW);
        let get = self.scheduler_op("get")?;
        let exited = self.scheduler_op("exited")?;
        let start_cancelled = self.resource_op("subtask-start-cancelled")?;
        let started = self.scheduler_op("started")?;
        let attach = self.resource_op("attach-call")?;
        let exit_scope = self.exit_sync_call()?;
        let (record, wake) = (1, 2);
        let mut body = we::Function::new([(2, I32)]);
        let mut ins = body.instructions();
        self.may_leave(&mut ins, instance);
        if !async_ {
            ins.global_get(g.may_block.0).i32_eqz();
            trap_if(&mut ins, cannot_block);
        }
        ins.global_get(table.0)
            .local_get(0)
            .i32_const(!async_ as i32)
            .call(cancel_task.0)
            .local_tee(record)
            .i32_const(0)
            .i32_ge_s()
            .if_(we::BlockType::Empty);
        {
            // A call that has not started is cancelled at once: `CANCELLED_BEFORE_STARTED`
            // (3), the result, and no event (wasmtime's
            // `cancel_guest_subtask_without_lowered_parameters`); its scope is freed.
            ins.local_get(record)
                .i32_const(RECORD_STATUS)
                .call(get.0)
                .i32_const(STATUS_STARTING_RECORD)
                .i32_eq()
                .if_(we::BlockType::Empty);
            ins.global_get(table.0).local_get(0).call(start_cancelled.0);
            ins.local_get(record).call(started.0);
            ins.local_get(record)
                .i32_const(RECORD_SCOPE)
                .call(get.0)
                .call(attach.0)
                .call(exit_scope.0);
            ins.local_get(record).call(exited.0);
            ins.i32_const(3).return_();
            ins.end();
            // A host function's call that went on (the only records of the host side's
            // instance) is cancelled in the host (the exchange module's `host-cancel`, which
            // gives its entry once the host's subtask has resolved, or -1 while an async
            // cancel goes on), and ended as it resolved (`host-deliver`). A second cancel
            // while its record lasts traps, as wasmtime's of a host task does
            // (`CalleeDone { cancelled: true }`); once its event has been delivered, the
            // record is gone and the second cancel gets its state.
            let host = match (self.input.host.host_instance, self.input.host.exchange) {
                (Some(host), Some(exchange))
                    if self.input.host.async_lowerings.iter().any(|l| l.deferred) =>
                {
                    Some((
                        host,
                        self.exchange_func(exchange, "host-cancel")?,
                        self.scheduler()?.host_deliver,
                    ))
                }
                _ => None,
            };
            if let Some((host, host_cancel, host_deliver)) = host {
                let requested = self.scheduler_op("cancel-requested")?;
                let set = self.scheduler_op("set")?;
                let twice = self.trap_func(&trap_reason(Trap::SubtaskCancelAfterTerminal));
                ins.local_get(record)
                    .i32_const(RECORD_INSTANCE)
                    .call(get.0)
                    .i32_const(host.as_u32() as i32)
                    .i32_eq()
                    .if_(we::BlockType::Empty);
                ins.local_get(record).call(requested.0);
                trap_if(&mut ins, twice);
                ins.local_get(record)
                    .i32_const(RECORD_CANCEL)
                    .i32_const(CANCEL_REQUESTED)
                    .call(set.0);
                ins.local_get(record)
                    .i32_const(!async_ as i32)
                    .call(host_cancel.0)
                    .local_tee(wake)
                    .i32_const(0)
                    .i32_lt_s()
                    .if_(we::BlockType::Empty)
                    .i32_const(BLOCKED)
                    .return_()
                    .end();
                ins.local_get(wake).call(host_deliver.0);
                ins.else_();
            }
            // `request-cancel`: 1 wakes the callee now, 2 is the limit.
            ins.local_get(record).call(request.0).local_tee(wake);
            ins.i32_const(2).i32_eq();
            trap_if(&mut ins, below);
            ins.local_get(wake)
                .i32_const(1)
                .i32_eq()
                .if_(we::BlockType::Empty);
            ins.global_get(g.async_depth.0);
            trap_if(&mut ins, not_finished);
            ins.call(run.0);
            ins.end();
            ins.global_get(table.0)
                .local_get(0)
                .call(resolved.0)
                .i32_eqz()
                .if_(we::BlockType::Empty);
            if async_ {
                ins.i32_const(BLOCKED).return_();
            } else {
                ins.global_get(g.async_depth.0);
                trap_if(&mut ins, not_finished);
                ins.local_get(record).call(wait_task.0);
            }
            ins.end();
            if host.is_some() {
                ins.end();
            }
        }
        ins.end();
        ins.global_get(table.0).local_get(0).call(take.0).end();
        let name = format!("subtask.cancel{}", instance.as_u32());
        Ok(self.add_func(ty, name, body))
    }
}

/// How many low bits of a result key ([`result_key`]) hold the result type.
const RESULT_TYPE_BITS: u32 = 24;

/// The key under which a task's expected result type and string encoding are kept: the
/// `TypeTupleIndex` in the low [`RESULT_TYPE_BITS`] bits, the encoding (its `u8`, as FACT
/// passes it to `[prepare-call]`) above.
///
/// Errors: [`NotYet`](crate::NotYet) for a component with more result types than fit.
fn result_key(ty: u32, encoding: i32) -> Result<i32> {
    if ty >= 1 << RESULT_TYPE_BITS {
        return Err(crate::error::not_yet(format!(
            "async components with more than {} result types",
            1u32 << RESULT_TYPE_BITS
        )));
    }
    Ok(ty as i32 | (encoding << RESULT_TYPE_BITS))
}

/// The zero of a numeric or nullable reference type, as a constant expression.
fn zero(t: we::ValType) -> we::ConstExpr {
    match t {
        we::ValType::I32 => we::ConstExpr::i32_const(0),
        we::ValType::I64 => we::ConstExpr::i64_const(0),
        we::ValType::F32 => we::ConstExpr::f32_const(0.0.into()),
        we::ValType::F64 => we::ConstExpr::f64_const(0.0.into()),
        we::ValType::V128 => we::ConstExpr::v128_const(0),
        we::ValType::Ref(r) => we::ConstExpr::ref_null(r.heap_type),
    }
}
