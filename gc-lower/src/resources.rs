//! Resources in wasm: handle tables, borrow scopes and the resource built-ins.
//!
//! wasmtime keeps one handle table per component instance and a stack of call scopes in the
//! host (`runtime/vm/component/resources.rs`). The lowered module keeps them in GC state: a
//! global per component instance holding its [`runtime_structs::HANDLE_TABLE`], and eight
//! globals for the borrow scopes (wasmtime's per-task `CallContext`s: a pool of scopes, the
//! stack of active ones, the lenders). The operations are written once in `resources.wat` (a
//! [`Template`]); this file binds it to the component and builds the trampolines:
//!
//! | trampoline                | core type              | does                               |
//! |---------------------------|------------------------|------------------------------------|
//! | `ResourceNew`             | `(rep) -> handle`      | may-leave check, own handle        |
//! | `ResourceRep`             | `(handle) -> rep`      | type-checked lookup                |
//! | `ResourceDrop`            | `(handle)`             | may-leave check, remove, destructor|
//! | `ResourceTransferOwn`     | `(h, src, dst) -> h`   | move an own handle between tables  |
//! | `ResourceTransferBorrow`  | `(h, src, dst) -> h`   | lend, then a borrow handle or rep  |
//! | `EnterSyncCall`           | `(i32, i32, i32)`      | push a scope                       |
//! | `ExitSyncCall`            | `()`                   | check and pop the scope            |
//!
//! At the host boundary (host adapters, [`crate::exchange`]) each resource of an imported or
//! exported interface has one more table index, past the component's own: the host's table.
//! FACT's transfers into and out of it become the guest core ABI's intrinsics:
//!
//! | transfer                    | exported resource (the guest defines it) | imported resource |
//! |-----------------------------|------------------------------------------|-------------------|
//! | own, guest → host           | remove, `[resource-new]r(rep)`           | remove; the rep is the host's handle (`give-host`: a limit while a host call borrows it) |
//! | own, host → guest           | `[resource-rep]r`, `[resource-drop]r` without running the destructor, insert | insert the host's handle as the rep |
//! | borrow, guest → host        | not supported (rejected when lowering)   | lend; the host's handle |
//! | borrow, host → guest        | the rep arrives (the wrapper defines `r`): lower-borrow | the host's borrow handle as the rep: lower-borrow |
//!
//! Dropping an own handle of an imported resource calls `[resource-drop]r` with the host's
//! handle; the exported destructor `iface#[dtor]r` runs the component's destructor.
//!
//! The output holds each own handle of an imported resource as the host's own handle in the
//! re-wrapped component's table, which a borrow passed to the host borrows directly: wasmtime
//! counts that lend until the host's call returns, also for a borrow that a component
//! received as a borrow and passed on, which natively lends nothing. So the output counts its
//! own lends of the host's own handles where a host call may go on (`lend-to-host`, ended
//! with the call's borrow scope; a borrow handle the host lent in is marked by
//! `lend-from-host` and lends nothing, as in wasmtime), and a drop of a handle lent to a host call that goes on is made when the last
//! such call ends (`drop-host`); the guest's handle is gone at once, as natively, and the
//! host sees the drop when its call has returned. Passing such a handle to the host as an
//! own meanwhile, which wasmtime refuses, traps at a limit (`give-host`,
//! `gc-lower:trap:unsupported-own-handle-to-the-host-while-a-host-call-borrows-it`), where
//! natively it moves.
//!
//! A borrow of an imported resource that the host passes to an export is a borrow handle in
//! the output's own table of the re-wrapped component, which the guest core ABI requires the
//! output to drop before the export returns. The output records each such handle among the
//! lenders of the call's borrow scope (`lend-from-host`), and drops it with `[resource-drop]r`
//! when the scope is validated (`exit-sync-call`, or the task's `task.return` or
//! `task.cancel`), after checking that the guest dropped its borrows.

use std::sync::OnceLock;

use anyhow::{Context as _, Result};
use runtime_structs::{HANDLE_TABLE, HANDLES};
use wasm_encoder as we;
use wasmtime_environ::component::{
    GlobalInitializer, ResourceIndex, RuntimeComponentInstanceIndex, TypeResourceTable,
    TypeResourceTableIndex,
};

use crate::assemble::Lowerer;
use crate::error::not_yet;
use crate::host::ResourceIntrinsic;
use crate::layout::Binding;
use crate::layout::{OutFunc, OutGlobal};
use crate::template::Template;

/// The resources template, parsed once.
fn template() -> &'static Template {
    static TEMPLATE: OnceLock<Template> = OnceLock::new();
    Template::cached(&TEMPLATE, "resources", include_str!("resources.wat"))
}

/// `(ref $ty)`.
fn non_null(ty: u32) -> we::ValType {
    runtime_structs::ref_non_null(ty)
}

impl Lowerer<'_, '_> {
    /// The resource table types of the component and the component instance whose handle
    /// table holds each; `None` for abstract (type-only) tables.
    fn resource_tables(
        &self,
    ) -> Vec<(
        TypeResourceTableIndex,
        Option<RuntimeComponentInstanceIndex>,
    )> {
        (0..self.input.front.num_resource_tables)
            .map(|i| {
                let ty = TypeResourceTableIndex::from_u32(i as u32);
                let instance = match self.input.front.types[ty] {
                    TypeResourceTable::Concrete { instance, .. } => Some(instance),
                    TypeResourceTable::Abstract(_) => None,
                };
                (ty, instance)
            })
            .collect()
    }

    /// Whether the instance holding table `ty` defines the resource itself (wasmtime's
    /// `resource_owned_by_own_instance`): a borrow passed to it arrives as the rep.
    fn owns_resource(&self, ty: TypeResourceTableIndex) -> bool {
        let TypeResourceTable::Concrete {
            ty: resource,
            instance,
        } = self.input.front.types[ty]
        else {
            return false;
        };
        let component = &self.input.front.translation.component;
        component
            .defined_resource_index(resource)
            .is_some_and(|defined| component.defined_resource_instances[defined] == instance)
    }

    /// The global holding component instance `instance`'s handle table (a
    /// [`runtime_structs::HANDLE_TABLE`], shared by its resources, waitable sets and subtasks
    /// as wasmtime's `HandleTable` is), made on first use.
    pub(crate) fn handle_table(&mut self, instance: RuntimeComponentInstanceIndex) -> OutGlobal {
        if let Some(&g) = self.resources.tables.get(&instance) {
            return g;
        }
        let g = self.add_global(
            we::GlobalType {
                val_type: non_null(HANDLE_TABLE),
                mutable: false,
                shared: false,
            },
            we::ConstExpr::extended([
                we::Instruction::I32Const(64),
                we::Instruction::ArrayNewDefault(HANDLES),
                we::Instruction::I32Const(0),
                we::Instruction::I32Const(0),
                we::Instruction::StructNew(HANDLE_TABLE),
            ]),
            format!("resources:handles{}", instance.as_u32()),
        );
        self.resources.tables.insert(instance, g);
        g
    }

    /// Creates the globals and lookup functions the resources template needs, once.
    fn resource_binding(&mut self) -> Result<Binding> {
        if let Some(binding) = &self.resources.resource_binding {
            return Ok(binding.clone());
        }
        let handles = |len: i32| {
            we::ConstExpr::extended([
                we::Instruction::I32Const(len),
                we::Instruction::ArrayNewDefault(HANDLES),
            ])
        };
        let array_global = we::GlobalType {
            val_type: non_null(HANDLES),
            mutable: true,
            shared: false,
        };
        let i32_global = we::GlobalType {
            val_type: we::ValType::I32,
            mutable: true,
            shared: false,
        };
        let scopes = self.add_global(array_global, handles(16), "resources:scopes".into());
        let depth = self.add_global(
            i32_global,
            we::ConstExpr::i32_const(0),
            "resources:depth".into(),
        );
        let lenders = self.add_global(array_global, handles(16), "resources:lenders".into());
        let num_lenders = self.add_global(
            i32_global,
            we::ConstExpr::i32_const(0),
            "resources:num-lenders".into(),
        );
        let stack = self.add_global(array_global, handles(16), "resources:scope-stack".into());
        let num_scopes = self.add_global(
            i32_global,
            we::ConstExpr::i32_const(0),
            "resources:num-scopes".into(),
        );
        let free_scope = self.add_global(
            i32_global,
            we::ConstExpr::i32_const(-1),
            "resources:free-scope".into(),
        );
        let free_lender = self.add_global(
            i32_global,
            we::ConstExpr::i32_const(-1),
            "resources:free-lender".into(),
        );
        let host_lent = self.add_global(array_global, handles(16), "resources:host-lent".into());

        // One handle table per component instance that holds a resource table.
        let resource_tables = self.resource_tables();
        let mut table_of = Vec::new();
        for &(ty, instance) in &resource_tables {
            let Some(instance) = instance else { continue };
            table_of.push((ty, self.handle_table(instance)));
        }

        // `table-for (ty) -> (ref $table)` and `owns (ty) -> i32`: chains of comparisons with
        // the component's resource table types.
        let ty = self.func_type(&[we::ValType::I32], &[non_null(HANDLE_TABLE)]);
        let mut body = we::Function::new([]);
        {
            let mut ins = body.instructions();
            for (ty, global) in &table_of {
                ins.local_get(0)
                    .i32_const(ty.as_u32() as i32)
                    .i32_eq()
                    .if_(we::BlockType::Empty)
                    .global_get(global.0)
                    .return_()
                    .end();
            }
            ins.unreachable().end();
        }
        let table_for = self.add_func(ty, "resources:table-for".into(), body);
        let ty = self.func_type(&[we::ValType::I32], &[we::ValType::I32]);
        let mut body = we::Function::new([]);
        {
            let mut ins = body.instructions();
            // The host "defines" every resource of its own table: a borrow passed to the host
            // arrives as the rep (for an imported resource, the host's handle).
            let owned: Vec<TypeResourceTableIndex> = self
                .input
                .host
                .resources
                .iter()
                .map(|r| r.host_table)
                .chain(
                    resource_tables
                        .iter()
                        .map(|&(ty, _)| ty)
                        .filter(|&ty| self.owns_resource(ty)),
                )
                .collect();
            for ty in owned {
                ins.local_get(0)
                    .i32_const(ty.as_u32() as i32)
                    .i32_eq()
                    .if_(we::BlockType::Empty)
                    .i32_const(1)
                    .return_()
                    .end();
            }
            ins.i32_const(0).end();
        }
        let owns = self.add_func(ty, "resources:owns".into(), body);

        // `stream-delivered`, defined by the transmit template once every built-in is known.
        let ty = self.func_type(&[we::ValType::I32; 3], &[we::ValType::I32]);
        let stream_delivered = self.reserve_func(ty, "resources:stream-delivered".into());
        self.resources.stream_delivered = Some(stream_delivered);

        // `host-lend-end (k, handle)`: `[resource-drop]` of the host's imported resource `k`.
        let ty = self.func_type(&[we::ValType::I32; 2], &[]);
        let mut body = we::Function::new([]);
        {
            let mut ins = body.instructions();
            for k in 0..self.input.host.resources.len() {
                if self.input.host.resources[k].exported {
                    continue;
                }
                let Some(drop) = self.input.host.resource_import(k, ResourceIntrinsic::Drop) else {
                    continue;
                };
                ins.local_get(0)
                    .i32_const(k as i32)
                    .i32_eq()
                    .if_(we::BlockType::Empty)
                    .local_get(1)
                    .call(drop)
                    .return_()
                    .end();
            }
            ins.unreachable().end();
        }
        let host_lend_end = self.add_func(ty, "resources:host-lend-end".into(), body);

        // `wake (table, set, head)`, defined by the scheduler template once every built-in is
        // known.
        let ty = self.func_type(
            &[non_null(HANDLE_TABLE), we::ValType::I32, we::ValType::I32],
            &[],
        );
        let wake = self.reserve_func(ty, "resources:wake".into());
        self.resources.wake = Some(wake);

        let binding = Binding {
            memories: Vec::new(),
            types: vec![HANDLES, HANDLE_TABLE],
            imports: vec![table_for, owns, stream_delivered, host_lend_end, wake],
            globals: vec![
                scopes.0,
                depth.0,
                lenders.0,
                num_lenders.0,
                stack.0,
                num_scopes.0,
                free_scope.0,
                free_lender.0,
                host_lent.0,
            ],
        };
        self.resources.resource_binding = Some(binding.clone());
        Ok(binding)
    }

    /// Function `name` of the resources template, bound to this output.
    pub(crate) fn resource_op(&mut self, name: &str) -> Result<OutFunc> {
        let binding = self.resource_binding()?;
        let template = template();
        let f = template.export(name)?;
        self.template_func(template, &binding, f)
    }

    /// Pushes a trap unless component instance `instance` may leave (its flags global).
    fn check_may_leave(
        &mut self,
        ins: &mut we::InstructionSink<'_>,
        instance: RuntimeComponentInstanceIndex,
    ) {
        let flags = self.flags_global(instance);
        let trap = self.trap_func(crate::assemble::CANNOT_LEAVE);
        ins.global_get(flags.0)
            .i32_eqz()
            .if_(we::BlockType::Empty)
            .call(trap.0)
            .end();
    }

    /// `resource.new` of table `ty`, called by `instance`: `(rep i32) -> i32`.
    pub fn resource_new(
        &mut self,
        instance: RuntimeComponentInstanceIndex,
        ty: TypeResourceTableIndex,
    ) -> Result<OutFunc> {
        let new = self.resource_op("new")?;
        let sig = self.func_type(&[we::ValType::I32], &[we::ValType::I32]);
        let mut body = we::Function::new([]);
        let mut ins = body.instructions();
        self.check_may_leave(&mut ins, instance);
        ins.i32_const(ty.as_u32() as i32)
            .local_get(0)
            .call(new.0)
            .end();
        Ok(self.add_func(sig, format!("resource.new{}", ty.as_u32()), body))
    }

    /// `resource.rep` of table `ty`: `(handle i32) -> i32`.
    pub fn resource_rep(&mut self, ty: TypeResourceTableIndex) -> Result<OutFunc> {
        let rep = self.resource_op("rep")?;
        let sig = self.func_type(&[we::ValType::I32], &[we::ValType::I32]);
        let mut body = we::Function::new([]);
        body.instructions()
            .i32_const(ty.as_u32() as i32)
            .local_get(0)
            .call(rep.0)
            .end();
        Ok(self.add_func(sig, format!("resource.rep{}", ty.as_u32()), body))
    }

    /// `resource.drop` of table `ty`, called by `instance`: `(handle i32)`; runs the
    /// resource's destructor when an own handle is dropped.
    pub fn resource_drop(
        &mut self,
        instance: RuntimeComponentInstanceIndex,
        ty: TypeResourceTableIndex,
    ) -> Result<OutFunc> {
        let drop = self.resource_op("drop")?;
        let TypeResourceTable::Concrete { ty: resource, .. } = self.input.front.types[ty] else {
            anyhow::bail!("internal: resource.drop of an abstract resource table");
        };
        let dtor = match self
            .input
            .front
            .translation
            .component
            .defined_resource_index(resource)
        {
            Some(_) => self.resource_dtor(resource)?,
            // An own handle of a host resource holds the host's handle as its rep.
            None => {
                let Some(k) = self.input.host.host_resource(resource) else {
                    return Err(not_yet(
                        "handles of an imported resource type that the world does not name",
                    ));
                };
                let drop = self
                    .input
                    .host
                    .resource_import(k, ResourceIntrinsic::Drop)
                    .context("internal: an imported resource without `[resource-drop]`")?;
                if self.host_calls_go_on() {
                    // `[resource-drop]r` of the host's handle, once no host call that goes
                    // on borrows it (`drop-host`).
                    let drop_host = self.resource_op("drop-host")?;
                    let sig = self.func_type(&[we::ValType::I32], &[]);
                    let mut body = we::Function::new([]);
                    body.instructions()
                        .i32_const(k as i32)
                        .local_get(0)
                        .call(drop_host.0)
                        .end();
                    Some(self.add_func(sig, format!("resources:drop-host{k}"), body))
                } else {
                    Some(OutFunc(drop))
                }
            }
        };
        let sig = self.func_type(&[we::ValType::I32], &[]);
        let mut body = we::Function::new([(1, we::ValType::I64)]);
        let mut ins = body.instructions();
        self.check_may_leave(&mut ins, instance);
        ins.i32_const(ty.as_u32() as i32)
            .local_get(0)
            .call(drop.0)
            .local_set(1);
        if let Some(dtor) = dtor {
            ins.local_get(1)
                .i64_const(1)
                .i64_and()
                .i32_wrap_i64()
                .if_(we::BlockType::Empty)
                .local_get(1)
                .i64_const(1)
                .i64_shr_u()
                .i32_wrap_i64()
                .call(dtor.0)
                .end();
        }
        ins.end();
        Ok(self.add_func(sig, format!("resource.drop{}", ty.as_u32()), body))
    }

    /// The destructor of the component-defined resource `resource`, with its original
    /// signature `(rep i32)`, if it has one.
    fn resource_dtor(&mut self, resource: ResourceIndex) -> Result<Option<OutFunc>> {
        let component = &self.input.front.translation.component;
        let defined = component
            .defined_resource_index(resource)
            .context("internal: the destructor of an imported resource")?;
        let dtor = component
            .initializers
            .iter()
            .find_map(|init| match init {
                GlobalInitializer::Resource(r) if r.index == defined => Some(r.dtor.clone()),
                _ => None,
            })
            .context("internal: a defined resource without its initializer")?;
        match dtor {
            Some(def) => {
                let target = self.resolve_func(&def)?;
                Ok(Some(self.plain_func(target)?))
            }
            None => Ok(None),
        }
    }

    /// Whether some host call may go on while the guest runs (a deferred `async` lowering,
    /// [`crate::host::AsyncHostLowering::deferred`]): only then can the guest drop or pass on
    /// a host's handle that a host call borrows, so only then does the output count its lends
    /// to the host (`lend-to-host`, `drop-host`, `give-host`).
    fn host_calls_go_on(&self) -> bool {
        self.input.host.async_lowerings.iter().any(|l| l.deferred)
    }

    /// The global that is 1 while an own handle moves from the host's table into the guest's:
    /// the `[resource-drop]r` that takes it out of the host's table must not run the
    /// destructor.
    fn moving_from_host(&mut self) -> OutGlobal {
        if let Some(g) = self.resources.moving_from_host {
            return g;
        }
        let g = self.add_global(
            we::GlobalType {
                val_type: we::ValType::I32,
                mutable: true,
                shared: false,
            },
            we::ConstExpr::i32_const(0),
            "resources:moving-from-host".into(),
        );
        self.resources.moving_from_host = Some(g);
        g
    }

    /// The export `iface#[dtor]r` of exported resource `k` (an index in
    /// [`crate::host::HostInterface::resources`]): `(rep i32)`, runs the component's destructor
    /// unless the handle is moving into the guest. `None` when the resource has no destructor.
    pub fn resource_dtor_export(&mut self, k: usize) -> Result<Option<OutFunc>> {
        let resource = self.input.host.resources[k].resource;
        let Some(dtor) = self.resource_dtor(resource)? else {
            return Ok(None);
        };
        let moving = self.moving_from_host();
        let sig = self.func_type(&[we::ValType::I32], &[]);
        let mut body = we::Function::new([]);
        body.instructions()
            .global_get(moving.0)
            .if_(we::BlockType::Empty)
            .return_()
            .end()
            .local_get(0)
            .call(dtor.0)
            .end();
        let name = format!("[dtor]{}", self.input.host.resources[k].name);
        Ok(Some(self.add_func(sig, name, body)))
    }

    /// FACT's `resource-transfer-own` / `resource-transfer-borrow`: `(h, src, dst) -> h`.
    pub fn resource_transfer(&mut self, borrow: bool) -> Result<OutFunc> {
        self.resource_op(if borrow {
            "transfer-borrow"
        } else {
            "transfer-own"
        })
    }

    /// The same for host adapters: transfers into or out of a host table (see the module docs)
    /// use the guest core ABI's intrinsics, others are [`Lowerer::resource_transfer`]'s.
    pub fn host_resource_transfer(&mut self, borrow: bool) -> Result<OutFunc> {
        let op = self.resource_transfer(borrow)?;
        let drop = self.resource_op("drop")?;
        let new = self.resource_op("new")?;
        let lower_borrow = self.resource_op("lower-borrow")?;
        let lift_borrow = self.trap_func("cannot-lift-own-resource-from-a-borrow");
        // Only an own handle of an exported resource moving in needs the flag.
        let exported = self.input.host.resources.iter().any(|r| r.exported);
        let moving = (!borrow && exported).then(|| self.moving_from_host());
        let lend_from_host = self.resource_op("lend-from-host")?;
        // Lends to host calls counted only where a host call may go on.
        let counted = if self.host_calls_go_on() {
            Some((
                self.resource_op("lend-to-host")?,
                self.resource_op("give-host")?,
            ))
        } else {
            None
        };
        // A borrow the host lends is dropped with its resource's `[resource-drop]`.
        if borrow {
            for (k, resource) in self.input.host.resources.iter().enumerate() {
                if !resource.exported
                    && self
                        .input
                        .host
                        .resource_import(k, ResourceIntrinsic::Drop)
                        .is_none()
                {
                    anyhow::bail!("internal: an imported resource without `[resource-drop]`");
                }
            }
        }
        let (h, src, dst, removed, rep) = (0, 1, 2, 3, 4);
        let sig = self.func_type(&[we::ValType::I32; 3], &[we::ValType::I32]);
        let mut body = we::Function::new([(1, we::ValType::I64), (1, we::ValType::I32)]);
        let mut ins = body.instructions();
        for (k, resource) in self.input.host.resources.iter().enumerate() {
            let host = resource.host_table.as_u32() as i32;
            let intrinsic = |i| {
                self.input
                    .host
                    .resource_import(k, i)
                    .context("internal: a resource intrinsic is not imported")
            };
            // Guest to host.
            ins.local_get(dst)
                .i32_const(host)
                .i32_eq()
                .if_(we::BlockType::Empty);
            if borrow {
                ins.local_get(h).local_get(src).local_get(dst).call(op.0);
                if let (false, Some((lend_to_host, _))) = (resource.exported, counted) {
                    // The host's handle is lent to the call until its scope ends.
                    ins.local_set(rep)
                        .i32_const(k as i32)
                        .local_get(rep)
                        .call(lend_to_host.0)
                        .local_get(rep);
                }
                ins.return_();
            } else {
                // Lift the own handle: remove it (no destructor), trap on a borrow.
                ins.local_get(src)
                    .local_get(h)
                    .call(drop.0)
                    .local_tee(removed)
                    .i64_eqz()
                    .if_(we::BlockType::Empty)
                    .call(lift_borrow.0)
                    .end()
                    .local_get(removed)
                    .i64_const(1)
                    .i64_shr_u()
                    .i32_wrap_i64();
                if resource.exported {
                    ins.call(intrinsic(ResourceIntrinsic::New)?);
                } else if let Some((_, give_host)) = counted {
                    // The host's handle itself, unless a host call borrows it.
                    ins.local_tee(rep).call(give_host.0).local_get(rep);
                }
                ins.return_();
            }
            ins.end();
            // Host to guest.
            ins.local_get(src)
                .i32_const(host)
                .i32_eq()
                .if_(we::BlockType::Empty);
            if borrow {
                // The host's borrow handle of an imported resource ends with the call.
                if !resource.exported {
                    ins.i32_const(k as i32).local_get(h).call(lend_from_host.0);
                }
                ins.local_get(h)
                    .local_get(dst)
                    .call(lower_borrow.0)
                    .return_();
            } else {
                if resource.exported {
                    let moving = moving.context("internal: no moving-from-host flag")?;
                    ins.local_get(h)
                        .call(intrinsic(ResourceIntrinsic::Rep)?)
                        .local_set(rep)
                        .i32_const(1)
                        .global_set(moving.0)
                        .local_get(h)
                        .call(intrinsic(ResourceIntrinsic::Drop)?)
                        .i32_const(0)
                        .global_set(moving.0);
                } else {
                    ins.local_get(h).local_set(rep);
                }
                ins.local_get(dst).local_get(rep).call(new.0).return_();
            }
            ins.end();
        }
        ins.local_get(h)
            .local_get(src)
            .local_get(dst)
            .call(op.0)
            .end();
        let name = if borrow {
            "host-transfer-borrow"
        } else {
            "host-transfer-own"
        };
        Ok(self.add_func(sig, name.into(), body))
    }

    /// FACT's `enter-sync-call`: `(caller, callee async, callee)`, pushes a scope.
    pub fn enter_sync_call(&mut self) -> Result<OutFunc> {
        let enter = self.resource_op("enter-call")?;
        let sig = self.func_type(&[we::ValType::I32; 3], &[]);
        let mut body = we::Function::new([]);
        body.instructions().call(enter.0).end();
        Ok(self.add_func(sig, "enter-sync-call".into(), body))
    }

    /// FACT's `exit-sync-call`: `()`, validates the innermost scope (its borrows dropped, its
    /// lends ended, the host's borrow handles lent to the call dropped) and pops it.
    pub fn exit_sync_call(&mut self) -> Result<OutFunc> {
        self.resource_op("exit-call")
    }
}

/// Fails unless the template parses and has every operation.
pub fn check_template() -> Result<()> {
    for name in [
        "new",
        "rep",
        "drop",
        "transfer-own",
        "transfer-borrow",
        "lower-borrow",
        "enter-call",
        "exit-call",
        "attach-call",
        "detach-call",
        "validate-scope",
        "lend-from-host",
        "lend-to-host",
        "drop-host",
        "give-host",
    ] {
        template().export(name)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn template_has_every_operation() {
        super::check_template().expect("resources.wat has every operation");
    }
}
