//! The component model's async ABI for tasks that finish without blocking: `async` function
//! types, callback-lifted exports, `async` lowers, `task.return` and `context.get`/`set`.
//!
//! With concurrency support on, FACT's adapters between components call wasmtime's task
//! built-ins (`wasmtime-environ` `fact/trampoline.rs`; wasmtime
//! `runtime/component/concurrent.rs` implements them). For an adapter named `adapterN`:
//!
//! | import or export of the adapter module | core type | here |
//! |---|---|---|
//! | `[prepare-call]adapterN` | `(start, return, caller, callee, result type, callee async, encoding, result count, params..)` | stores the caller's flat params and the callee's result type |
//! | `[start-call]adapterN`, sync lower | `(callee, param count) -> results` | runs the callee task to its end, returns what `task.return` gave |
//! | `[start-call]adapterN`, async lower | `(callee, params, results, flags) -> status` | runs the callee task to its end, `RETURNED` (2) |
//! | export `[async-start]adapterN` | `(caller params) -> callee params` | lifts the parameters |
//! | export `[async-return]adapterN` | `(callee results[, ret ptr]) -> caller results` | lowers the results |
//! | export `[adapter-callee]adapterN` | the callee's core type | the lifted core function |
//!
//! wasmtime passes the three exported functions as `funcref`s; the output knows each
//! adapter's at lowering time and calls them directly, so the `funcref` parameters are not
//! read. `task.return` calls the `[async-return]` function of the adapter whose callee is the
//! current task (a `br_table` over the adapters whose callee has the `task.return`'s type).
//!
//! Tasks nest: each runs to its end inside the call that started it, so the current task's
//! state is a handful of globals (`TaskGlobals`), saved in locals by the start-call
//! functions and on a stack by `enter-sync-call`/`exit-sync-call`; a lift the host calls
//! directly starts a task of its own (`export_task`), and the instantiation routine runs start
//! functions in a task that may not block, as wasmtime does. What needs a task to wait is not
//! lowered: the waitable-set, subtask, stream, future, yield and backpressure built-ins are
//! rejected by name when lowering (`crate::front`). At run time, where wasmtime would let a
//! task outlive the call that started it, the output traps in a function naming the limit:
//! `gc-lower:trap:unsupported-task-continues-after-return` (a callback returns `YIELD` after
//! `task.return`; wasmtime would return to the caller and run the rest later) and
//! `gc-lower:trap:unsupported-subtask-not-returned` (inside an `async`-lowered call's first
//! run, a `YIELD` or a call that starts a task: wasmtime suspends the callee there and gives
//! the async caller `STARTED` and a subtask handle). A callback's `YIELD` before
//! `task.return` otherwise calls it again with no event, as wasmtime does when no other task
//! can run; `WAIT` names a waitable set, which no task can create here, so it traps as
//! wasmtime does for an unknown handle, and so do unknown codes.
//!
//! FACT's async adapters leave exceptions to the host, which ends the call; the start-call
//! functions and `task.return` catch an exception that would leave the callee or the
//! adapter's functions and trap (`Trap::UncaughtException`), as FACT's sync adapters do. A
//! sync-lifted callee's post-return runs with its instance's may-leave flag cleared, as
//! wasmtime's `call_post_return` does.

use anyhow::{Context as _, Result, bail};
use hashbrown::HashMap;
use wasm_encoder as we;
use wasmtime_environ::StaticModuleIndex;
use wasmtime_environ::component::{
    CoreDef, GlobalInitializer, OptionsIndex, RuntimeCallbackIndex, RuntimeInstanceIndex,
    RuntimeMemoryIndex, RuntimePostReturnIndex, Trampoline, TrampolineIndex, TypeTupleIndex,
};
use wasmtime_environ::wasmparser::{Operator, TypeRef};

use crate::assemble::{Lowerer, StateKind};
use crate::host::memory_def;
use crate::layout::{OutFunc, OutGlobal, OutType};

/// The callback codes of the canonical ABI (`CanonicalABI.md`, `CallbackCode`), low 4 bits.
const CALLBACK_EXIT: i32 = 0;
const CALLBACK_YIELD: i32 = 1;
/// The trap reason when wasmtime would give an `async` caller `STARTED` and a subtask.
const NOT_FINISHED: &str = "unsupported-subtask-not-returned";
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
    context: [OutGlobal; 2],
    /// The adapter whose callee is the current task, if it was started by a start-call
    /// built-in (its index in [`TaskState::adapters`]), else -1: only such a task may call
    /// `task.return`.
    adapter: OutGlobal,
    /// Whether the current task has called `task.return` (`i32`, 0 or 1).
    returned: OutGlobal,
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
    /// one, a start-call or a `YIELD` suspends the callee in wasmtime, and the async caller
    /// gets `STARTED` and a subtask, which is not lowered (`unsupported-subtask-not-returned`).
    async_depth: OutGlobal,
    /// The stack of tasks suspended by sync-to-sync calls (`(ref HANDLES)`, four `i32`s each:
    /// the two context slots, `adapter` and `returned`) and its depth in elements.
    stack: OutGlobal,
    depth: OutGlobal,
}

impl TaskGlobals {
    /// The current task's state that `enter-sync-call` pushes on the task stack (`stack`'s
    /// elements per task) and `exit-sync-call` pops: the sync callee changes nothing else
    /// (FACT saves and restores `may_block` itself).
    fn stacked(&self) -> [OutGlobal; 4] {
        [
            self.context[0],
            self.context[1],
            self.adapter,
            self.returned,
        ]
    }

    /// The current task's state that a switch to another task saves and restores.
    fn switched(&self) -> [OutGlobal; 7] {
        [
            self.context[0],
            self.context[1],
            self.adapter,
            self.returned,
            self.may_block,
            self.result_type,
            self.async_depth,
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
}

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
}

/// What `task.return` does for one adapter: call its `[async-return]` function, with the
/// caller's return pointer appended when the function takes one, and store the caller's
/// results (a sync lower's) in these globals.
type ReturnBranch = (OutFunc, Option<OutGlobal>, Vec<OutGlobal>);

/// The `i32` type, as the encoder names it.
const I32: we::ValType = we::ValType::I32;

impl Lowerer<'_, '_> {
    /// The task globals, made once.
    pub(crate) fn task_globals(&mut self) -> TaskGlobals {
        if let Some(g) = self.tasks.globals {
            return g;
        }
        let int = |lw: &mut Self, init: i32, name: &str| {
            lw.add_global(
                we::GlobalType {
                    val_type: I32,
                    mutable: true,
                    shared: false,
                },
                we::ConstExpr::i32_const(init),
                format!("task:{name}"),
            )
        };
        let may_block = int(self, 1, "may-block");
        let context = [int(self, 0, "context0"), int(self, 0, "context1")];
        let adapter = int(self, -1, "adapter");
        let returned = int(self, 0, "returned");
        let result_type = int(self, -1, "result-type");
        let pending_result_type = int(self, -1, "pending-result-type");
        let pending_adapter = int(self, -1, "pending-adapter");
        let callee_async = int(self, 0, "callee-async");
        let async_depth = int(self, 0, "async-depth");
        let post_return_context = [
            int(self, 0, "post-return-context0"),
            int(self, 0, "post-return-context1"),
        ];
        let depth = int(self, 0, "depth");
        let handles = OutType(runtime_structs::HANDLES);
        let stack = self.add_global(
            we::GlobalType {
                val_type: we::ValType::Ref(we::RefType {
                    nullable: false,
                    heap_type: we::HeapType::Concrete(handles.0),
                }),
                mutable: true,
                shared: false,
            },
            we::ConstExpr::extended([
                we::Instruction::I32Const(64),
                we::Instruction::ArrayNewDefault(handles.0),
            ]),
            "task:stack".into(),
        );
        let g = TaskGlobals {
            may_block,
            context,
            adapter,
            returned,
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

    /// The export of lifted function `f` when the host calls it directly: `f` in a task of its
    /// own, as wasmtime starts one for each call from the host (empty context, not started
    /// by an adapter, allowed to block when the function's type is `async`), with the state
    /// of the task it interrupts saved and restored around it.
    ///
    /// With `post_return`, the task's context slots at its return are kept for the export's
    /// post-return ([`Self::export_post_return`]), which wasmtime runs in the same task.
    pub(crate) fn export_task(
        &mut self,
        f: OutFunc,
        may_block: bool,
        post_return: bool,
    ) -> Result<OutFunc> {
        let g = self.task_globals();
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
        ins.i32_const(0).global_set(g.async_depth.0);
        ins.i32_const(may_block as i32).global_set(g.may_block.0);
        for p in 0..base {
            ins.local_get(p);
        }
        ins.call(f.0);
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

    /// `()`: doubles the task stack when fewer than four elements are free.
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
            .i32_const(4)
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
        &self,
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
        Ok((adapter, self.layouts[m].types[ty as usize]))
    }

    /// The function that traps for an exception that would leave a call between components
    /// (FACT's `Trap::UncaughtException`).
    fn uncaught_exception(&mut self) -> OutFunc {
        let reason = crate::assemble::trap_reason(wasmtime_environ::Trap::UncaughtException);
        self.trap_func(&reason)
    }

    /// The output type of trampoline `t`: the type of the first module that imports it, in
    /// that module's form.
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
        Ok(self.layouts[m].types[ty as usize])
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
        });
        self.tasks.by_name.insert(name.to_string(), k);
        Ok(k)
    }

    /// The function that adapter `k`'s module exports as `[{what}]adapterN`, callable
    /// without a vmctx.
    fn adapter_export(&mut self, k: usize, what: &str) -> Result<OutFunc> {
        let a = &self.tasks.adapters[k];
        let (instance, export) = (a.instance, format!("[{what}]{}", a.name));
        let m = self.input.graph.instances[instance].module;
        let index = self.input.infos[m]
            .exports
            .iter()
            .find(|e| e.name == export)
            .map(|e| e.index)
            .with_context(|| format!("internal: the adapter module exports no `{export}`"))?;
        let target = self.func_of_instance(instance, index)?;
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
        let cannot_block = self.trap_func("cannot-block-sync-task");
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
        let a = &self.tasks.adapters[k];
        let (instance, export) = (a.instance, format!("[adapter-callee]{}", a.name));
        let m = self.input.graph.instances[instance].module;
        let info = &self.input.infos[m];
        let f = info
            .exports
            .iter()
            .find(|e| e.name == export)
            .map(|e| e.index)
            .with_context(|| format!("internal: the adapter module exports no `{export}`"))?;
        let Some(&pos) = info.import_position.funcs.get(f as usize) else {
            return Ok(None);
        };
        let ci = match &self.input.graph.instances[instance].args[pos] {
            CoreDef::Export(e) => self.input.graph.instances[e.instance].component_instance,
            _ => None,
        };
        Ok(ci.map(|ci| self.flags_global(ci)))
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
        let func = info
            .exports
            .iter()
            .find(|e| e.name == name)
            .map(|e| e.index)
            .with_context(|| format!("internal: the adapter module exports no `{name}`"))?;
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

    /// Runs the callee task of adapter `k` that `[prepare-call]` described, to its end (see
    /// the module documentation): `() -> results` for a sync lower (`results`, the caller's
    /// flat results), `() -> i32` (the subtask status) for an async lower.
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
        let not_returned = self.trap_func("task-exited-without-return");
        let continues = self.trap_func("unsupported-task-continues-after-return");
        let not_finished = self.trap_func(NOT_FINISHED);
        let bad_code = self.trap_func("unknown-handle-index");
        let uncaught = self.uncaught_exception();

        // Locals: the saved task state, the callback code, a saved flag, then the callee's
        // results.
        let saved_len = g.switched().len() as u32;
        let mut locals: Vec<(u32, we::ValType)> = vec![(saved_len + 2, I32)];
        let params_len = 0;
        let flag = params_len + saved_len + 1;
        let results_base = params_len + saved_len + 2;
        for t in &callee_results {
            locals.push((1, *t));
        }
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
        ins.global_get(g.pending_result_type.0)
            .global_set(g.result_type.0);
        for p in &pending[..start_params.len()] {
            ins.global_get(p.0);
        }
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
        ins.call(start.0).call(callee.0);
        match callback {
            Some(cb) => {
                ins.local_set(code);
                ins.loop_(we::BlockType::Empty);
                ins.local_get(code)
                    .i32_const(0xf)
                    .i32_and()
                    .i32_const(CALLBACK_YIELD)
                    .i32_eq()
                    .if_(we::BlockType::Empty);
                // YIELD after `task.return`: the caller would run first.
                ins.global_get(g.returned.0);
                trap_if(&mut ins, continues);
                ins.global_get(g.async_depth.0);
                trap_if(&mut ins, not_finished);
                ins.i32_const(0)
                    .i32_const(0)
                    .i32_const(0)
                    .call(cb.0)
                    .local_set(code)
                    .br(1)
                    .end();
                ins.end();
                // EXIT, else an unknown waitable set.
                ins.local_get(code)
                    .i32_const(0xf)
                    .i32_and()
                    .i32_const(CALLBACK_EXIT)
                    .i32_ne();
                trap_if(&mut ins, bad_code);
                ins.global_get(g.returned.0).i32_eqz();
                trap_if(&mut ins, not_returned);
            }
            None => {
                // A sync lift: its results go to the caller, then its post-return runs.
                for i in (0..callee_results.len() as u32).rev() {
                    ins.local_set(results_base + i);
                }
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
        barrier_close(&mut ins, uncaught);
        restore(&mut ins, &saved, params_len);
        if sync {
            for s in &stored {
                ins.global_get(s.0);
            }
        } else {
            ins.i32_const(STATUS_RETURNED);
        }
        ins.end();
        Ok(self.add_func(ty, format!("run-task:{name}"), body))
    }

    /// `TaskReturn`: checks that the current task was started by an adapter, has not
    /// returned, and that `results` and the string encoding of `options` are what its caller
    /// expects and the memory of `options` (if any) its lift's, as wasmtime does
    /// (`task_return`, `Trap::TaskReturnInvalid`); then calls that adapter's `[async-return]`
    /// function with the values (and the caller's return pointer, when the caller passed one).
    pub(crate) fn task_return(
        &mut self,
        results: TypeTupleIndex,
        options: OptionsIndex,
        ty: OutType,
    ) -> Result<OutFunc> {
        self.register_adapters()?;
        let g = self.task_globals();
        let (params, _) = self.func_type_of(ty);
        let invalid = self.trap_func("invalid-task-return");
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
        let mut body = we::Function::new([]);
        let mut ins = body.instructions();
        ins.global_get(g.adapter.0)
            .i32_const(0)
            .i32_lt_s()
            .global_get(g.returned.0)
            .i32_or()
            .global_get(g.result_type.0)
            .i32_const(expected)
            .i32_ne()
            .i32_or();
        trap_if(&mut ins, invalid);
        ins.i32_const(1).global_set(g.returned.0);
        ins.i32_const(1).global_set(g.may_block.0);
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
        ins.end();
        Ok(self.add_func(ty, format!("task.return{}", results.as_u32()), body))
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
