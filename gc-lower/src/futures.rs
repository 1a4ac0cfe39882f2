//! Futures between guest tasks: the `future.*` built-ins and FACT's `future-transfer`.
//!
//! wasmtime implements them in its host (`runtime/component/concurrent/futures_and_streams.rs`).
//! The output has them in wasm, written once in `futures.wat` (a [`Template`]) over the handle
//! tables of `resources.wat` and the scheduler of `tasks.wat`, and bound here:
//!
//! | built-in | core type | does |
//! |---|---|---|
//! | `future.new` | `() -> i64` | both ends in the instance's table: `(writable << 32) \| readable` |
//! | `future.write`, `future.read` | `(end, ptr) -> i32` | the value moves when both sides are there; else `BLOCKED` (async) or a wait (sync) |
//! | `future.cancel-write`, `future.cancel-read` | `(end) -> i32` | ends a pending operation |
//! | `future.drop-writable`, `future.drop-readable` | `(end)` | the other side learns of it |
//! | FACT's `future-transfer` | `(end, src type, dst type) -> end` | moves a readable end between instances |
//!
//! Each `future.write` and `future.read` built-in is a *site*: the memory its values live in
//! and their size. When a value moves, the write site loads it and the read site stores it
//! (`copy`, a dispatch on the two sites, made once every site is known). Only payloads that
//! are numbers (or none) are lowered, which a byte copy moves as wasmtime's lift and lower do;
//! other payload types are rejected by name when lowering.

use std::sync::OnceLock;

use anyhow::Result;
use wasm_encoder as we;
use wasmtime_environ::component::{
    InterfaceType, OptionsIndex, RuntimeComponentInstanceIndex, Trampoline, TypeFutureTableIndex,
};

use crate::assemble::Lowerer;
use crate::error::not_yet;
use crate::layout::{Binding, OutFunc, OutType, StateTarget};
use crate::template::Template;

/// The futures template, parsed once.
fn template() -> &'static Template {
    static TEMPLATE: OnceLock<Template> = OnceLock::new();
    Template::cached(&TEMPLATE, "futures", include_str!("futures.wat"))
}

/// A future built-in's wrapper: the calling component instance (none for FACT's transfer),
/// its name, the template function it calls with `consts` before its own parameters,
/// whether it may block, and the site's bounds check with the value size.
struct BuiltinCall {
    instance: Option<RuntimeComponentInstanceIndex>,
    name: String,
    op: OutFunc,
    consts: Vec<i32>,
    blocks: bool,
    check: Option<(OutFunc, u32)>,
}

/// The `i32` type, as the encoder names it.
const I32: we::ValType = we::ValType::I32;

/// A `future.write` or `future.read` built-in: the memory its values live in (none for a
/// payload-less future) and their size in bytes.
#[derive(Clone)]
struct Site {
    memory: Option<StateTarget>,
    size: u32,
}

/// What the futures template is bound to, and the sites, made once.
#[derive(Default)]
pub(crate) struct FutureState {
    binding: Option<Binding>,
    /// `(write site, write ptr, read site, read ptr)`: moves a value, a dispatch whose body
    /// [`Lowerer::finish_futures`] gives.
    copy: Option<OutFunc>,
    sites: Vec<Site>,
}

impl Lowerer<'_, '_> {
    /// The futures template's binding, made once.
    fn future_binding(&mut self) -> Result<Binding> {
        if let Some(b) = &self.tasks.futures.binding {
            return Ok(b.clone());
        }
        let table_of = self.scheduler_table_of()?;
        // `future-instance`: a chain of comparisons with the future table types.
        let n = self.input.front.num_future_tables;
        let instances: Vec<u32> = (0..n)
            .map(|i| {
                let ty = TypeFutureTableIndex::from_u32(i as u32);
                self.input.front.types[ty].instance.as_u32()
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
                .i32_const(*instance as i32)
                .return_()
                .end();
        }
        ins.unreachable().end();
        let future_instance = self.add_func(ty, "future:instance".into(), body);
        let ty = self.func_type(&[I32; 4], &[]);
        let copy = self.reserve_func(ty, "future:copy".into());
        let mut imports = vec![table_of, future_instance, copy];
        for op in [
            "future-slot",
            "slot",
            "word",
            "set-word",
            "insert",
            "remove",
            "end-has-event",
            "take-end-event",
        ] {
            imports.push(self.resource_op(op)?);
        }
        imports.push(self.scheduler_op("blocked-step")?);
        imports.push(self.scheduler_op("block")?);
        // `before-wait`: a sync read or write that waits inside an `async`-lowered callee's
        // first call is the limit (wasmtime suspends the callee there).
        let g = self.task_globals();
        let not_finished = self.trap_func(crate::tasks::NOT_FINISHED);
        let ty = self.func_type(&[], &[]);
        let mut body = we::Function::new([]);
        body.instructions()
            .global_get(g.async_depth.0)
            .if_(we::BlockType::Empty)
            .call(not_finished.0)
            .end()
            .end();
        imports.push(self.add_func(ty, "future:before-wait".into(), body));
        let records = self.task_array(16 * 16, "future-records");
        let num = self.task_int(0, "num-futures");
        let free = self.task_int(-1, "free-future");
        let binding = Binding {
            memories: Vec::new(),
            types: vec![runtime_structs::HANDLES, runtime_structs::HANDLE_TABLE],
            imports,
            globals: vec![records.0, num.0, free.0],
        };
        self.tasks.futures.binding = Some(binding.clone());
        self.tasks.futures.copy = Some(copy);
        Ok(binding)
    }

    /// Function `name` of the futures template, bound to this output, with `memory` as its
    /// memory 0 when given.
    fn future_op(&mut self, name: &str, memory: Option<StateTarget>) -> Result<OutFunc> {
        let mut binding = self.future_binding()?;
        binding.memories.extend(memory);
        let template = template();
        let f = template.export(name)?;
        self.template_func(template, &binding, f)
    }

    /// The size in bytes of future type `ty`'s values.
    ///
    /// Errors: [`NotYet`](crate::NotYet) for a payload that is not a number (one that holds
    /// pointers or handles, or that wasmtime lifts and lowers value by value).
    fn future_payload_size(&self, ty: TypeFutureTableIndex) -> Result<u32> {
        let types = &self.input.front.types;
        let payload = types[types[ty].ty].payload;
        Ok(match payload {
            None => 0,
            Some(InterfaceType::S8 | InterfaceType::U8) => 1,
            Some(InterfaceType::S16 | InterfaceType::U16) => 2,
            Some(InterfaceType::S32 | InterfaceType::U32 | InterfaceType::Float32) => 4,
            Some(InterfaceType::S64 | InterfaceType::U64 | InterfaceType::Float64) => 8,
            Some(_) => return Err(not_yet("futures whose payload is not a number")),
        })
    }

    /// A new site for `future.write`/`future.read` of type `ty` with canonical options
    /// `options`: its index, and what it is.
    fn future_site(
        &mut self,
        ty: TypeFutureTableIndex,
        options: OptionsIndex,
    ) -> Result<(i32, Site)> {
        let size = self.future_payload_size(ty)?;
        let memory = match self.input.front.translation.component.options[options].memory() {
            Some(m) if size > 0 => Some(self.resolve_memory(&crate::host::memory_def(
                &self.input.front.translation.component,
                m,
            )?)?),
            Some(_) => None,
            None if size > 0 => {
                anyhow::bail!("internal: a future read or write of values without a memory")
            }
            None => None,
        };
        let site = Site { memory, size };
        self.tasks.futures.sites.push(site.clone());
        Ok(((self.tasks.futures.sites.len() - 1) as i32, site))
    }

    /// The function of a future built-in `t` (see the module documentation) with core type
    /// `ty`; `None` for other trampolines.
    pub(crate) fn future_builtin(
        &mut self,
        t: &Trampoline,
        ty: OutType,
    ) -> Result<Option<OutFunc>> {
        let g = self.task_globals();
        let cannot_block = self.trap_func("cannot-block-sync-task");
        // (instance, type, the template function, its leading constant arguments, whether it
        // may block, the site's bounds check).
        let BuiltinCall {
            instance,
            name,
            op,
            consts,
            blocks,
            check,
        } = match t {
            Trampoline::FutureNew { instance, ty } => {
                self.future_payload_size(*ty)?;
                let op = self.future_op("new", None)?;
                let consts = vec![instance.as_u32() as i32, ty.as_u32() as i32];
                BuiltinCall {
                    instance: Some(*instance),
                    name: "future.new".into(),
                    op,
                    consts,
                    blocks: false,
                    check: None,
                }
            }
            Trampoline::FutureRead {
                instance,
                ty,
                options,
            }
            | Trampoline::FutureWrite {
                instance,
                ty,
                options,
            } => {
                let read = matches!(t, Trampoline::FutureRead { .. });
                let async_ = self.input.front.translation.component.options[*options].async_;
                let (site, info) = self.future_site(*ty, *options)?;
                let op = self.future_op(if read { "read" } else { "write" }, None)?;
                let check = match info.memory {
                    Some(m) => Some((self.future_op("check", Some(m))?, info.size)),
                    None => None,
                };
                let consts = vec![
                    instance.as_u32() as i32,
                    ty.as_u32() as i32,
                    site,
                    async_ as i32,
                ];
                let name = if read { "future.read" } else { "future.write" };
                BuiltinCall {
                    instance: Some(*instance),
                    name: name.into(),
                    op,
                    consts,
                    blocks: !async_,
                    check,
                }
            }
            Trampoline::FutureCancelRead {
                instance,
                ty,
                async_,
            }
            | Trampoline::FutureCancelWrite {
                instance,
                ty,
                async_,
            } => {
                let read = matches!(t, Trampoline::FutureCancelRead { .. });
                self.future_payload_size(*ty)?;
                let op = self.future_op(if read { "cancel-read" } else { "cancel-write" }, None)?;
                let consts = vec![instance.as_u32() as i32, ty.as_u32() as i32, *async_ as i32];
                let name = if read {
                    "future.cancel-read"
                } else {
                    "future.cancel-write"
                };
                BuiltinCall {
                    instance: Some(*instance),
                    name: name.into(),
                    op,
                    consts,
                    blocks: !*async_,
                    check: None,
                }
            }
            Trampoline::FutureDropReadable { instance, ty }
            | Trampoline::FutureDropWritable { instance, ty } => {
                let read = matches!(t, Trampoline::FutureDropReadable { .. });
                self.future_payload_size(*ty)?;
                let op = self.future_op(
                    if read {
                        "drop-readable"
                    } else {
                        "drop-writable"
                    },
                    None,
                )?;
                let consts = vec![instance.as_u32() as i32, ty.as_u32() as i32];
                let name = if read {
                    "future.drop-readable"
                } else {
                    "future.drop-writable"
                };
                BuiltinCall {
                    instance: Some(*instance),
                    name: name.into(),
                    op,
                    consts,
                    blocks: false,
                    check: None,
                }
            }
            Trampoline::FutureTransfer => {
                let op = self.future_op("transfer", None)?;
                BuiltinCall {
                    instance: None,
                    name: "future-transfer".into(),
                    op,
                    consts: Vec::new(),
                    blocks: false,
                    check: None,
                }
            }
            _ => return Ok(None),
        };
        let (params, _) = self.func_type_of(ty);
        let mut body = we::Function::new([]);
        let mut ins = body.instructions();
        if let Some(instance) = instance {
            self.may_leave(&mut ins, instance);
        }
        if blocks {
            // A sync read, write or cancel may block: only in a task that may.
            ins.global_get(g.may_block.0)
                .i32_eqz()
                .if_(we::BlockType::Empty)
                .call(cannot_block.0)
                .end();
        }
        if let Some((check, size)) = check {
            ins.local_get(1).i32_const(size as i32).call(check.0);
        }
        for c in &consts {
            ins.i32_const(*c);
        }
        for p in 0..params.len() as u32 {
            ins.local_get(p);
        }
        ins.call(op.0).end();
        let name = match instance {
            Some(i) => format!("{name}{}", i.as_u32()),
            None => name,
        };
        Ok(Some(self.add_func(ty, name, body)))
    }

    /// Gives `copy` its body once every site is known: the write site loads the value, the
    /// read site stores it (`br_table`s on the two sites).
    pub(crate) fn finish_futures(&mut self) -> Result<()> {
        let Some(copy) = self.tasks.futures.copy else {
            return Ok(());
        };
        let sites = self.tasks.futures.sites.clone();
        let mut loads = Vec::new();
        let mut stores = Vec::new();
        for site in &sites {
            match site.memory {
                Some(m) => {
                    loads.push(Some((self.future_op("load", Some(m))?, site.size)));
                    stores.push(Some((self.future_op("store", Some(m))?, site.size)));
                }
                None => {
                    loads.push(None);
                    stores.push(None);
                }
            }
        }
        let n = sites.len() as u32;
        // Params: write site, write ptr, read site, read ptr; local 4: the value.
        let mut body = we::Function::new([(1, we::ValType::I64)]);
        let mut ins = body.instructions();
        for (site_param, ptr_param, ops) in [(0u32, 1u32, &loads), (2, 3, &stores)] {
            ins.block(we::BlockType::Empty);
            for _ in 0..n {
                ins.block(we::BlockType::Empty);
            }
            ins.local_get(site_param)
                .br_table((0..n).collect::<Vec<_>>(), n);
            ins.end();
            for (k, op) in ops.iter().enumerate() {
                if let Some((f, size)) = op {
                    ins.local_get(ptr_param).i32_const(*size as i32);
                    if site_param == 0 {
                        ins.call(f.0).local_set(4);
                    } else {
                        ins.local_get(4).call(f.0);
                    }
                }
                ins.br(n - k as u32 - 1);
                ins.end();
            }
        }
        ins.end();
        self.define_func(copy, body);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn template_parses() {
        let _ = super::template();
    }
}
