//! Error contexts: the component model's `error-context` values and their built-ins
//! (`error-context.new`, `error-context.debug-message`, `error-context.drop`) and FACT's
//! `error-context-transfer`, in wasm (`error_context.wat`).
//!
//! wasmtime keeps an error context's debug message in its store and a reference count of the
//! handles to it across component instances (`futures_and_streams.rs`); a handle is a slot of
//! the instance's handle table, shared with resources and the async ABI's waitables, so the
//! handles are numbered as wasmtime numbers them. Here the message is a GC byte array held in
//! a registry of the output, and the handles are slots of the tables that `crate::resources`
//! keeps.
//!
//! The built-ins take their options' string encoding: the message is kept in UTF-8, lifted
//! from UTF-8, UTF-16 or latin1+UTF-16 as wasmtime's `WasmStr` lifts a string and lowered
//! into any of them as its `lower_string` lowers one, with the same `realloc` calls (a
//! message of more than 2^31 - 1 bytes in UTF-8 traps, where wasmtime would keep it). Streams
//! and futures carry them through the copies of `crate::payload`.
//!
//! At the host boundary (`crate::host`, `crate::exchange`), FACT's transfer into the host
//! adapters' host side makes a host error context with the same message through the guest
//! core ABI's `[error-context-new-utf8]`, once per error context (its host handle is kept
//! beside the rep and dropped with it), and lends it to the host (one more count) until the
//! host's call is over: wasmtime reads the handle after the component's code has run on (an
//! `async` export's `task.return`), so it must not go before. The exchange module settles an
//! import's loans as it returns and an export's when the host next calls an export (its
//! post-return may not call the host's `error-context.drop`), through the host side's
//! `error-context.drop` trampoline ([`crate::exchange`]). A transfer out of the host side
//! makes a new error context of the output from `[error-context-debug-message-utf8]`, which
//! keeps the host's handle until it goes. The host's error context thus lives as long as
//! the component holds it, as it does natively (or, for one an export returned, until the
//! host's next export call); two host values of one error context become two of the
//! output's, which no built-in tells apart.

use std::sync::OnceLock;

use anyhow::{Context as _, Result};
use wasm_encoder as we;
use wasmtime_environ::component::{
    OptionsIndex, RuntimeComponentInstanceIndex, StringEncoding, Trampoline, TrampolineIndex,
    TypeComponentLocalErrorContextTableIndex,
};

use crate::assemble::Lowerer;
use crate::host::ErrorContextIntrinsic;
use crate::layout::{Binding, OutFunc, OutType, StateTarget};
use crate::template::Template;

const I32: we::ValType = we::ValType::I32;

/// The error-context template, with the shared UTF-8 check and UTF-16 decoding spliced in,
/// parsed once.
fn template() -> &'static Template {
    static TEXT: OnceLock<String> = OnceLock::new();
    static TEMPLATE: OnceLock<Template> = OnceLock::new();
    let text = TEXT.get_or_init(|| {
        include_str!("error_context.wat")
            .replace(";; UTF8_CHECK", crate::payload::UTF8_CHECK)
            .replace(";; UTF16_DECODE", crate::payload::UTF16_DECODE)
    });
    Template::cached(&TEMPLATE, "error-context", text)
}

impl Lowerer<'_, '_> {
    /// The error-context template's binding without memory or `realloc`: the scheduler's
    /// `table-of`, `instance-of` (error-context table type -> component instance), the
    /// resources template's slot operations, and the registry's globals, made once.
    fn error_context_binding(&mut self) -> Result<Binding> {
        if let Some(b) = &self.tasks.error_contexts {
            return Ok(b.clone());
        }
        let table_of = self.scheduler_table_of()?;
        // `instance-of (ty)`: a chain of comparisons with the error-context table types.
        let types = &self.input.front.types;
        let instances: Vec<i32> = (0..self.input.front.num_error_context_tables)
            .map(|i| {
                types[TypeComponentLocalErrorContextTableIndex::from_u32(i as u32)]
                    .instance
                    .as_u32() as i32
            })
            .collect();
        let ty = self.func_type(&[I32], &[I32]);
        let mut body = we::Function::new([]);
        let mut ins = body.instructions();
        for (ty, instance) in instances.iter().enumerate() {
            ins.local_get(0)
                .i32_const(ty as i32)
                .i32_eq()
                .if_(we::BlockType::Empty)
                .i32_const(*instance)
                .return_()
                .end();
        }
        ins.unreachable().end();
        let instance_of = self.add_func(ty, "error-context:instance-of".into(), body);
        let mut imports = vec![table_of, instance_of];
        for op in ["slot", "word", "insert", "remove"] {
            imports.push(self.resource_op(op)?);
        }
        imports.extend(self.host_error_context_ops()?);
        let externs = runtime_structs::EXTERNS;
        let messages = self.add_global(
            we::GlobalType {
                val_type: runtime_structs::ref_non_null(externs),
                mutable: true,
                shared: false,
            },
            we::ConstExpr::extended([
                we::Instruction::I32Const(0),
                we::Instruction::ArrayNewDefault(externs),
            ]),
            "error-context:messages".into(),
        );
        let counts = self.task_array(0, "error-context-counts");
        let num = self.task_int(0, "error-context-reps");
        let free = self.task_int(-1, "free-error-context-rep");
        let host_handles = self.task_array(0, "error-context-host-handles");
        let lent_reps = self.task_array(0, "error-context-lent-reps");
        let binding = Binding {
            memories: Vec::new(),
            types: vec![
                runtime_structs::HANDLES,
                runtime_structs::HANDLE_TABLE,
                runtime_structs::BYTES,
                externs,
            ],
            imports,
            globals: vec![
                messages.0,
                counts.0,
                num.0,
                free.0,
                host_handles.0,
                lent_reps.0,
            ],
        };
        self.tasks.error_contexts = Some(binding.clone());
        Ok(binding)
    }

    /// The template's `host-drop`, `lent` and `set-lent`: the host's `[error-context-drop]`
    /// and the exchange module's count of reps lent to the host when error contexts cross
    /// the host boundary, else functions that are never called (no rep then has a host
    /// handle or is lent).
    fn host_error_context_ops(&mut self) -> Result<[OutFunc; 3]> {
        let host = &self.input.host;
        if let (Some(drop), Some(exchange)) = (
            host.error_context_import(ErrorContextIntrinsic::Drop),
            host.exchange,
        ) {
            let mut ops = [OutFunc(drop); 3];
            for (k, name) in [(1, "lent"), (2, "set-lent")] {
                let def = crate::exchange::func_export(exchange, name);
                let target = self.resolve_func(&def)?;
                ops[k] = self.plain_func(target)?;
            }
            return Ok(ops);
        }
        let mut never = |params: &[we::ValType], results: &[we::ValType], name: &str| {
            let ty = self.func_type(params, results);
            let mut body = we::Function::new([]);
            body.instructions().unreachable().end();
            self.add_func(ty, format!("error-context:no-host-{name}"), body)
        };
        Ok([
            never(&[I32], &[], "drop"),
            never(&[], &[I32], "lent"),
            never(&[I32], &[], "set-lent"),
        ])
    }

    /// The error-context template's binding at the host boundary: memory 0 the exchange
    /// memory, `realloc` its bump allocator and the host's intrinsics.
    fn host_error_context_binding(&mut self) -> Result<Binding> {
        let mut binding = self.error_context_binding()?;
        let host = &self.input.host;
        let user = host
            .memory_users
            .first()
            .context("internal: error contexts at the host boundary without the exchange memory")?
            .clone();
        let intrinsic = |i| {
            host.error_context_import(i)
                .map(OutFunc)
                .context("internal: an error-context intrinsic is not imported")
        };
        let (new, debug_message) = (
            intrinsic(ErrorContextIntrinsic::New)?,
            intrinsic(ErrorContextIntrinsic::DebugMessage)?,
        );
        let realloc = user
            .realloc
            .as_ref()
            .context("internal: the exchange memory without its realloc")?;
        let target = self.resolve_func(realloc)?;
        let realloc = self.plain_func(target)?;
        binding.memories.push(self.resolve_memory(&user.memory)?);
        binding.imports.extend([realloc, new, debug_message]);
        Ok(binding)
    }

    /// FACT's `error-context-transfer` in the host adapters, `(handle, src table type, dst
    /// table type) -> handle`: into the host side's table, the host error context that stands
    /// for the output's (made with the host's `[error-context-new-utf8]` from the message,
    /// once per error context, dropped with it), lent to the host until its call is over
    /// ([`Lowerer::error_context_builtin`]'s settle); out of it, a new error context of the
    /// output with the host error context's message (`[error-context-debug-message-utf8]`
    /// into the exchange memory), which keeps the host's handle while it lives. Traps as
    /// `transfer` does for a handle that is not an error context.
    fn host_error_context_transfer(&mut self) -> Result<OutFunc> {
        let binding = self.host_error_context_binding()?;
        let host_instance = self
            .input
            .host
            .host_instance
            .context("internal: error contexts at the host boundary without host adapters")?;
        let template = template();
        let f = template.export("host-transfer")?;
        let f = self.template_func(template, &binding, f)?;
        let ty = self.func_type(&[I32; 3], &[I32]);
        let mut body = we::Function::new([]);
        body.instructions()
            .local_get(0)
            .local_get(1)
            .local_get(2)
            .i32_const(host_instance.as_u32() as i32)
            .call(f.0)
            .end();
        Ok(self.add_func(ty, "error-context-transfer:host".into(), body))
    }

    /// `(mark)`: the host's call that began when the exchange module's count of lent reps was
    /// `mark` is over; releases what was lent to it since.
    fn host_error_context_settle(&mut self) -> Result<OutFunc> {
        // No memory: the exchange module that calls it is made before its memory is known.
        let binding = self.error_context_binding()?;
        let template = template();
        let f = template.export("host-settle")?;
        self.template_func(template, &binding, f)
    }

    /// `(handle, src table type, dst table type) -> handle`: a new handle in the destination
    /// instance's table to the error context that `handle` names in the source's, whose
    /// handle stays (FACT's `error-context-transfer` without the may-leave check); for
    /// error contexts that streams and futures carry (`crate::payload`). Traps as wasmtime's
    /// `error_context_rep` does for a handle that is not an error context.
    pub(crate) fn error_context_transfer(&mut self) -> Result<OutFunc> {
        let binding = self.error_context_binding()?;
        let template = template();
        let f = template.export("transfer")?;
        self.template_func(template, &binding, f)
    }

    /// The memory of canonical options `options`.
    fn error_context_memory(&mut self, options: OptionsIndex) -> Result<StateTarget> {
        let component = &self.input.front.translation.component;
        let opts = &component.options[options];
        let memory = opts
            .memory()
            .context("internal: an error-context built-in without a memory")?;
        let def = crate::host::memory_def(component, memory)?;
        self.resolve_memory(&def)
    }

    /// The error-context built-ins, of core type `ty`: `error-context.new` (`(ptr, len) ->
    /// handle`: the debug message at `ptr`, `len` bytes of UTF-8 or latin1 or code units of
    /// UTF-16 (latin1+UTF-16: UTF-16 when bit 31 is set) as the options say, lifted with
    /// wasmtime's checks),
    /// `error-context.debug-message` (`(handle, ptr)`: the message lowered as a string with
    /// the options' `realloc`, its pointer and length stored at `ptr`), `error-context.drop`
    /// (`(handle)`), each after the may-leave check, and FACT's `error-context-transfer`
    /// (`(handle, src table type, dst table type) -> handle`); `None` for other trampolines.
    /// Traps as wasmtime's host does: an unknown handle, a handle that is not an error
    /// context, a message out of bounds, misaligned (UTF-16, latin1+UTF-16: to 2), not UTF-8
    /// or with an unpaired surrogate, a `realloc` result misaligned or out of bounds, `ptr`
    /// out of bounds.
    pub(crate) fn error_context_builtin(
        &mut self,
        t_index: TrampolineIndex,
        t: &Trampoline,
        ty: OutType,
    ) -> Result<Option<OutFunc>> {
        let mut binding = self.error_context_binding()?;
        // The template function of a built-in whose options name `encoding`.
        let encoded = |op: &'static str, encoding: StringEncoding| match encoding {
            StringEncoding::Utf8 => op.to_string(),
            StringEncoding::Utf16 => format!("{op}-utf16"),
            StringEncoding::CompactUtf16 => format!("{op}-compact"),
        };
        let encoding = |options: &OptionsIndex| {
            self.input.front.translation.component.options[*options].string_encoding
        };
        // (instance, template function, number of parameters, name)
        let (instance, function, op, params): (
            Option<RuntimeComponentInstanceIndex>,
            String,
            &str,
            u32,
        ) = match t {
            Trampoline::ErrorContextNew {
                instance, options, ..
            } => {
                let function = encoded("new", encoding(options));
                binding.memories.push(self.error_context_memory(*options)?);
                (Some(*instance), function, "new", 2)
            }
            Trampoline::ErrorContextDebugMessage {
                instance, options, ..
            } => {
                let function = encoded("debug-message", encoding(options));
                binding.memories.push(self.error_context_memory(*options)?);
                let realloc = self.options_realloc(*instance, *options)?;
                binding.imports.push(realloc);
                (Some(*instance), function, "debug-message", 2)
            }
            // The host side's drop is its settle (`crate::exchange`): the host's call is over.
            Trampoline::ErrorContextDrop { instance, .. }
                if Some(*instance) == self.input.host.host_instance =>
            {
                return self.host_error_context_settle().map(Some);
            }
            Trampoline::ErrorContextDrop { instance, .. } => {
                (Some(*instance), "drop".into(), "drop", 1)
            }
            Trampoline::ErrorContextTransfer
                if self.input.host.host_transfers.contains(&t_index) =>
            {
                return self.host_error_context_transfer().map(Some);
            }
            Trampoline::ErrorContextTransfer => (None, "transfer".into(), "transfer", 3),
            _ => return Ok(None),
        };
        let template = template();
        let f = template.export(&function)?;
        let f = self.template_func(template, &binding, f)?;
        let mut body = we::Function::new([]);
        let mut ins = body.instructions();
        if let Some(instance) = instance {
            self.may_leave(&mut ins, instance);
            let table = self.handle_table(instance);
            ins.global_get(table.0);
        }
        for p in 0..params {
            ins.local_get(p);
        }
        ins.call(f.0).end();
        let name = match instance {
            Some(i) => format!("error-context.{op}{}", i.as_u32()),
            None => "error-context-transfer".to_string(),
        };
        Ok(Some(self.add_func(ty, name, body)))
    }
}
