//! The instantiation routine and the host exports of the output.
//!
//! The routine (exported as `_initialize`, which wit-component runs when the re-wrapped
//! component is instantiated) replays the component's core instantiations in initializer
//! order; see [`crate::assemble`] for what each step does.

use hashbrown::HashMap;

use anyhow::{Result, bail};
use runtime_structs::{FUNCS, Helper, TableKind};
use wasm_encoder as we;
use wasmtime_environ::component::CoreDef;
use wasmtime_environ::component::RuntimeInstanceIndex;
use wasmtime_environ::wasmparser as wp;

use crate::assemble::{Lowerer, ref_null};
use crate::code::VmctxSource;
use crate::code::{ConstructorScope, Sink};
use crate::error::not_yet;
use crate::host::ExportItem;
use crate::layout::{
    FuncTarget, GlobalSlot, GlobalTarget, ImportedFunc, InstanceSlot, MemSlot, OutFunc, OutType,
    StateTarget, TabSlot, TagSlot,
};

/// The longest period of the instantiation patterns that become loops: a loop's iteration
/// builds up to this many instances (an exporter and its importers, say).
const MAX_LOOP_PERIOD: usize = 8;

/// Where iteration `T` (local 0 of the routine) of a loop that builds instances finds an
/// instance's vmctx.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LoopSlot {
    /// The same instance in every iteration.
    Fixed(RuntimeInstanceIndex),
    /// Element `base + stride * T` of an instance array.
    Strided {
        global: crate::layout::OutGlobal,
        ty: OutType,
        base: u32,
        stride: u32,
    },
}

/// One of the instances that each iteration of a loop builds: its constructor (shared by the
/// iterations), its own slot and its constructor's sources.
#[derive(Debug, Clone, PartialEq, Eq)]
struct LoopMember {
    /// The member's instance in the first iteration.
    first: RuntimeInstanceIndex,
    constructor: crate::layout::OutFunc,
    own: LoopSlot,
    sources: Vec<LoopSlot>,
}

/// A loop that builds `iterations × members.len()` consecutive instances, in initializer
/// order: iteration `T` builds each member in turn.
#[derive(Debug)]
struct InstanceLoop {
    members: Vec<LoopMember>,
    iterations: u32,
}

/// A reified instance's constructor, and the instances whose vmctxs its caller passes, in
/// parameter order.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Constructor {
    func: crate::layout::OutFunc,
    sources: Vec<RuntimeInstanceIndex>,
}

impl Lowerer<'_, '_> {
    /// Builds the instantiation routine and the exports.
    pub fn instantiate_and_export(&mut self) -> Result<()> {
        // The instances are instantiated in parts of about `PART_SIZE` bytes of code, each
        // its own function called in turn: engines compile many small functions faster (and
        // in parallel) than one long one. wasmtime started 8 192 instances about twice as fast
        // with parts of 4 KiB as with parts of 32 KiB.
        const PART_SIZE: usize = 4 * 1024;
        let ty = self.func_type(&[], &[]);
        let mut parts = Vec::new();
        let mut out = Sink::default();
        let instances: Vec<_> = self.input.graph.instances.keys().collect();
        let mut constructors = HashMap::new();
        let mut k = 0;
        while k < instances.len() {
            let i = instances[k];
            let m = self.input.graph.instances[i].module;
            if !self.layouts[m].reified {
                self.instantiate_native(i, &mut out)?;
                k += 1;
            } else {
                // Instances that repeat a pattern (a module instantiated again and again,
                // or an exporter and its importers) are built in a loop; others one by one.
                match self.plan_loop(&instances[k..], &mut constructors)? {
                    Some(plan) => {
                        k += plan.iterations as usize * plan.members.len();
                        self.build_loop(&plan, &mut out)?;
                    }
                    None => {
                        let constructor = self.memo_constructor(i, &mut constructors)?;
                        self.build_instance(i, &constructor, &mut out)?;
                        k += 1;
                    }
                }
            }
            if out.0.len() >= PART_SIZE || (k == instances.len() && !parts.is_empty()) {
                let mut part = std::mem::take(&mut out);
                part.push(we::Instruction::End);
                let mut body = we::Function::new([(1, we::ValType::I32)]);
                body.raw(part.0);
                let name = format!("_initialize.part{}", parts.len());
                parts.push(self.add_func(ty, name, body));
            }
        }
        // Start functions run in a task that may not block, as wasmtime's do (the async ABI's
        // flag is 1 for the host's calls otherwise).
        let may_block = self
            .input
            .front
            .uses_async
            .then(|| self.task_globals().may_block);
        let mut init = Sink::default();
        if let Some(g) = may_block {
            init.push(we::Instruction::I32Const(0));
            init.push(we::Instruction::GlobalSet(g.0));
        }
        init.0.extend(std::mem::take(&mut out.0));
        for part in parts {
            init.push(we::Instruction::Call(part.0));
        }
        if let Some(g) = may_block {
            init.push(we::Instruction::I32Const(1));
            init.push(we::Instruction::GlobalSet(g.0));
        }
        init.push(we::Instruction::End);
        let mut body = we::Function::new([(1, we::ValType::I32)]);
        body.raw(init.0);
        let init = self.add_func(ty, "_initialize".into(), body);
        self.out
            .exports
            .push(("_initialize".into(), we::ExportKind::Func, init.0));

        let host_memory = self.host_memory()?;
        let host = self.input.host;
        for (name, item) in host.export_items() {
            let (kind, index) = match item {
                ExportItem::Func(def) => {
                    let f = match self.host_export_wrapper(&name, def)? {
                        Some(wrapper) => wrapper,
                        None => {
                            let target = self.resolve_func(def)?;
                            self.plain_func(target)?
                        }
                    };
                    (we::ExportKind::Func, f.0)
                }
                // The destructors of exported resources, run when the host drops a handle.
                ExportItem::ResourceDtor(k) => match self.resource_dtor_export(k)? {
                    Some(f) => (we::ExportKind::Func, f.0),
                    None => continue,
                },
                ExportItem::Memory(_) => {
                    let (memory, _) = host_memory.expect("a host function uses a memory");
                    (we::ExportKind::Memory, memory)
                }
                ExportItem::Realloc(_) => {
                    let (_, realloc) = host_memory.expect("a host function uses a memory");
                    let target = realloc.expect("a host function has a realloc");
                    (we::ExportKind::Func, self.plain_func(target)?.0)
                }
            };
            self.out.exports.push((name, kind, index));
        }
        Ok(())
    }

    /// What the host calls as export `name`, the lifted function `def`, when it is more than
    /// that function; `None` when it is the function itself. With the async ABI, a lift the host calls
    /// directly starts a task of its own ([`Self::export_task`]; through host adapters, FACT's
    /// `enter-sync-call` does, or for an async callback lift its `[start-call]`). The
    /// post-return of a lift the host calls directly runs with the lifting instance's may-leave
    /// flag cleared, as wasmtime's `post_return` runs it ([`Self::export_post_return`]). Both
    /// output forms export the same functions.
    pub(crate) fn host_export_wrapper(
        &mut self,
        name: &str,
        def: &CoreDef,
    ) -> Result<Option<OutFunc>> {
        let host = self.input.host;
        let uses_async = self.input.front.uses_async;
        let direct = || host.exports.iter().filter(|e| !e.adapted);
        // (may block, keeps its context for a post-return) of a lift in a task of its own;
        // else the lifting instance of a post-return.
        let task = direct().find(|e| uses_async && e.name == name).map(|e| {
            let may_block = self.input.front.types[e.component_ty].async_;
            (may_block, e.post_return.is_some())
        });
        let post_return = direct()
            .find(|e| e.post_return.is_some() && e.post_return_name() == name)
            .map(|e| self.input.front.translation.component.options[e.options].instance);
        if let Some((may_block, post)) = task {
            let target = self.resolve_func(def)?;
            let f = self.plain_func(target)?;
            return Ok(Some(self.export_task(f, def, may_block, post)?));
        }
        if let Some(instance) = post_return {
            let target = self.resolve_func(def)?;
            let f = self.plain_func(target)?;
            let flags = self.flags_global(instance);
            return Ok(Some(self.export_post_return(f, flags, uses_async)?));
        }
        Ok(None)
    }

    /// The memory through which host functions pass strings, lists and spilled flat values
    /// (exported as `memory`), and their realloc (exported as `cabi_realloc`), if any function
    /// passes values so: the guest's own memory, or the exchange module's when the exchange
    /// phase added adapters (ARCHITECTURE.md §5).
    ///
    /// The host reads and writes that memory directly, without a copy, so every such function
    /// must name the same memory and realloc, and the memory must be a native linear memory.
    /// Errors: they name different ones, or a reified memory ([`not_yet`]).
    fn host_memory(&mut self) -> Result<Option<(u32, Option<FuncTarget>)>> {
        let users = &self.input.host.memory_users;
        let Some(first) = users.first() else {
            return Ok(None);
        };
        let memory = self.resolve_memory(&first.memory)?;
        for user in &users[1..] {
            if self.resolve_memory(&user.memory)? != memory {
                return Err(not_yet(format!(
                    "host functions that pass values through different memories (`{}` and `{}`): \
                     copying through an exchange memory",
                    first.name, user.name
                )));
            }
        }
        let StateTarget::Native(memory) = memory else {
            return Err(not_yet(format!(
                "host functions that pass values through a reified memory (`{}`): copying \
                 through an exchange memory",
                first.name
            )));
        };
        let mut realloc: Option<(FuncTarget, &str)> = None;
        for user in users {
            let Some(def) = &user.realloc else { continue };
            let target = self.resolve_func(def)?;
            match realloc {
                None => realloc = Some((target, &user.name)),
                Some((first, first_name)) if first != target => {
                    return Err(not_yet(format!(
                        "host functions with different realloc functions (`{first_name}` and \
                         `{}`)",
                        user.name
                    )));
                }
                Some(_) => {}
            }
        }
        Ok(Some((memory, realloc.map(|(target, _)| target))))
    }

    fn instantiate_native(&mut self, i: RuntimeInstanceIndex, out: &mut Sink) -> Result<()> {
        use we::Instruction as I;
        let m = self.input.graph.instances[i].module;
        let elements = self.input.infos[m].elements.clone();
        for (e, seg) in elements.iter().enumerate() {
            if let wp::ElementKind::Active {
                table_index,
                offset_expr,
            } = &seg.kind
            {
                let n = element_count(seg);
                let table = self.layouts[m].tables[table_index.unwrap_or(0) as usize];
                let offset = self.native_const_expr(m, offset_expr)?;
                emit_const(out, &offset);
                out.push(I::I32Const(0));
                out.push(I::I32Const(n as i32));
                let seg_out = self.layouts[m].elem_base + e as u32;
                out.push(I::TableInit {
                    elem_index: seg_out,
                    table,
                });
                out.push(I::ElemDrop(seg_out));
            }
        }
        let datas = self.input.infos[m].datas.clone();
        for (d, seg) in datas.iter().enumerate() {
            if let wp::DataKind::Active {
                memory_index,
                offset_expr,
            } = &seg.kind
            {
                let seg_out = self.layouts[m].data_base + d as u32;
                if self.out.active_datas.contains_key(&seg_out) {
                    continue; // applied when the output is instantiated
                }
                let mem = self.layouts[m].memories[*memory_index as usize];
                let offset = self.native_const_expr(m, offset_expr)?;
                emit_const(out, &offset);
                out.push(I::I32Const(0));
                out.push(I::I32Const(seg.data.len() as i32));
                out.push(I::MemoryInit {
                    mem,
                    data_index: seg_out,
                });
                out.push(I::DataDrop(seg_out));
            }
        }
        if let Some(start) = self.input.infos[m].start {
            let target = self.module_func(m, None, start)?;
            self.emit_call(out, target, false);
        }
        Ok(())
    }

    /// [`Self::instance_constructor`], computed once per instance.
    fn memo_constructor(
        &mut self,
        i: RuntimeInstanceIndex,
        memo: &mut HashMap<RuntimeInstanceIndex, Constructor>,
    ) -> Result<Constructor> {
        if let Some(c) = memo.get(&i) {
            return Ok(c.clone());
        }
        let c = self.instance_constructor(i)?;
        memo.insert(i, c.clone());
        Ok(c)
    }

    /// The loop that builds the instances at the start of `instances`, if they repeat a
    /// pattern at least twice: for the period (1 to [`MAX_LOOP_PERIOD`]) that covers the
    /// most instances, each member of every iteration has the first iteration's module and
    /// constructor, its own slot steps through an instance array, and each source is the
    /// same instance or steps through an array. `None` when no period repeats.
    fn plan_loop(
        &mut self,
        instances: &[RuntimeInstanceIndex],
        memo: &mut HashMap<RuntimeInstanceIndex, Constructor>,
    ) -> Result<Option<InstanceLoop>> {
        let mut best: Option<InstanceLoop> = None;
        for period in 1..=MAX_LOOP_PERIOD.min(instances.len() / 2) {
            let first = &instances[..period];
            let last = first[period - 1];
            let m = self.input.graph.instances[last].module;
            // An imported start function may differ from instance to instance, where the
            // constructor does not show it.
            let imported_start = self.input.infos[m]
                .start
                .is_some_and(|f| f < self.input.infos[m].num_imported_funcs);
            if !self.layouts[m].reified
                || imported_start
                || !matches!(self.instance_slot(last), InstanceSlot::Array { .. })
            {
                break; // every longer period has this member too
            }
            let mut members: Option<Vec<LoopMember>> = None;
            let mut iterations = 1;
            'iterations: while (iterations + 1) * period <= instances.len() {
                let next = &instances[iterations * period..(iterations + 1) * period];
                let mut these = Vec::with_capacity(period);
                for (&a, &b) in first.iter().zip(next) {
                    if self.input.graph.instances[a].module != self.input.graph.instances[b].module
                    {
                        break 'iterations;
                    }
                    let (ca, cb) = (
                        self.memo_constructor(a, memo)?,
                        self.memo_constructor(b, memo)?,
                    );
                    if ca.func != cb.func {
                        break 'iterations;
                    }
                    let t = iterations as u32;
                    let own = match self.loop_slot(a, b, t) {
                        Some(own @ LoopSlot::Strided { .. }) => own,
                        _ => break 'iterations,
                    };
                    let Some(sources) = ca
                        .sources
                        .iter()
                        .zip(&cb.sources)
                        .map(|(&sa, &sb)| self.loop_slot(sa, sb, t))
                        .collect::<Option<Vec<_>>>()
                    else {
                        break 'iterations;
                    };
                    these.push(LoopMember {
                        first: a,
                        constructor: ca.func,
                        own,
                        sources,
                    });
                }
                if members.as_ref().is_some_and(|m| *m != these) {
                    break;
                }
                members = Some(these);
                iterations += 1;
            }
            let Some(members) = members else { continue };
            let covered = iterations * period;
            if best
                .as_ref()
                .is_none_or(|b| covered > b.iterations as usize * b.members.len())
            {
                best = Some(InstanceLoop {
                    members,
                    iterations: iterations as u32,
                });
            }
        }
        Ok(best)
    }

    /// How instance `b`, in iteration `t` of a loop, follows from instance `a` in its first
    /// iteration: the same instance, or elements of one instance array `stride` apart per
    /// iteration. `None` when neither.
    fn loop_slot(
        &self,
        a: RuntimeInstanceIndex,
        b: RuntimeInstanceIndex,
        t: u32,
    ) -> Option<LoopSlot> {
        if a == b {
            return Some(LoopSlot::Fixed(a));
        }
        match (self.instance_slot_of(a)?, self.instance_slot_of(b)?) {
            (
                InstanceSlot::Array {
                    global,
                    ty,
                    index: ia,
                },
                InstanceSlot::Array {
                    global: gb,
                    index: ib,
                    ..
                },
            ) if global == gb && ib > ia && (ib - ia) % t == 0 => Some(LoopSlot::Strided {
                global,
                ty,
                base: ia,
                stride: (ib - ia) / t,
            }),
            _ => None,
        }
    }

    /// Emits the building of one reified instance `i` with its `constructor`: its vmctx from
    /// the constructor (passed the vmctxs of its sources) into its slot, then its start
    /// function.
    fn build_instance(
        &mut self,
        i: RuntimeInstanceIndex,
        constructor: &Constructor,
        out: &mut Sink,
    ) -> Result<()> {
        use we::Instruction as I;
        let m = self.input.graph.instances[i].module;
        let push_sources = |out: &mut Sink| {
            for &source in &constructor.sources {
                for instruction in self.instance_slot(source).push_vmctx() {
                    out.push(instruction);
                }
            }
        };
        match self.instance_slot(i) {
            InstanceSlot::Global(g) => {
                push_sources(out);
                out.push(I::Call(constructor.func.0));
                out.push(I::GlobalSet(g.0));
            }
            InstanceSlot::Array { global, ty, index } => {
                out.push(I::GlobalGet(global.0));
                out.push(I::I32Const(index as i32));
                push_sources(out);
                out.push(I::Call(constructor.func.0));
                out.push(I::ArraySet(ty.0));
            }
        }
        // The start function runs once the instance's slot is set, as anything it calls may
        // reach the instance through it.
        if let Some(start) = self.input.infos[m].start {
            let target = self.module_func(m, Some(i), start)?;
            self.emit_call(out, target, false);
        }
        Ok(())
    }

    /// Emits `plan` as a loop over its iterations, counted in local 0 of the routine: each
    /// member gets its vmctx from its constructor and then runs its start function, as
    /// [`Self::build_instance`] does.
    fn build_loop(&mut self, plan: &InstanceLoop, out: &mut Sink) -> Result<()> {
        use we::Instruction as I;
        const T: u32 = 0;
        let mut starts = Vec::with_capacity(plan.members.len());
        for member in &plan.members {
            let m = self.input.graph.instances[member.first].module;
            starts.push(match self.input.infos[m].start {
                Some(start) => Some(self.module_func(m, Some(member.first), start)?),
                None => None,
            });
        }
        let push = |out: &mut Sink, slot: LoopSlot| match slot {
            LoopSlot::Fixed(instance) => {
                for instruction in self.instance_slot(instance).push_vmctx() {
                    out.push(instruction);
                }
            }
            LoopSlot::Strided {
                global,
                ty,
                base,
                stride,
            } => {
                out.push(I::GlobalGet(global.0));
                push_index(out, base, stride);
                out.push(I::ArrayGet(ty.0));
            }
        };
        fn push_index(out: &mut Sink, base: u32, stride: u32) {
            out.push(I::LocalGet(T));
            if stride != 1 {
                out.push(I::I32Const(stride as i32));
                out.push(I::I32Mul);
            }
            if base != 0 {
                out.push(I::I32Const(base as i32));
                out.push(I::I32Add);
            }
        }
        out.push(I::I32Const(0));
        out.push(I::LocalSet(T));
        out.push(I::Loop(we::BlockType::Empty));
        for (member, start) in plan.members.iter().zip(starts) {
            let LoopSlot::Strided {
                global,
                ty,
                base,
                stride,
            } = member.own
            else {
                bail!("internal: a loop member outside an instance array");
            };
            out.push(I::GlobalGet(global.0));
            push_index(out, base, stride);
            for &source in &member.sources {
                push(out, source);
            }
            out.push(I::Call(member.constructor.0));
            out.push(I::ArraySet(ty.0));
            match start {
                Some(FuncTarget::Reified { func, .. }) => {
                    push(out, member.own);
                    out.push(I::Call(func.0));
                }
                Some(FuncTarget::Plain(func)) => out.push(I::Call(func.0)),
                None => {}
            }
        }
        out.push(I::LocalGet(T));
        out.push(I::I32Const(1));
        out.push(I::I32Add);
        out.push(I::LocalTee(T));
        out.push(I::I32Const(plan.iterations as i32));
        out.push(I::I32Ne);
        out.push(I::BrIf(0));
        out.push(I::End);
        Ok(())
    }

    /// Where instance `instance`'s vmctx is kept, if it is reified.
    fn instance_slot_of(&self, instance: RuntimeInstanceIndex) -> Option<InstanceSlot> {
        self.instance_slots[instance]
    }

    /// The constructor of reified instance `i`: a function `[(ref null $vmctx_s)...] ->
    /// [(ref null $vmctx)]` that creates the instance's vmctx, fills it from its imports and
    /// its definitions, and applies its element and data segments; the start function is left
    /// to the caller.
    ///
    /// The body names no instance: its own vmctx is a local, and the vmctxs of the instances
    /// it imports from are parameters (`sources`, in order), which the caller passes. So
    /// instances of one module share one function whenever their imports have the same
    /// shape, wherever they come from: a component that instantiates a module thousands of
    /// times, each instance bound to its own exporter, costs one constructor and a call per
    /// instance.
    fn instance_constructor(&mut self, i: RuntimeInstanceIndex) -> Result<Constructor> {
        // A first pass finds the instances the body reads, which become the parameters and
        // so come before the locals; the second emits the body with its final locals.
        let (_, sources) = self.constructor_body(i, Vec::new())?;
        let (body, again) = self.constructor_body(i, sources.clone())?;
        if again != sources {
            bail!("internal: a constructor read other instances in its second pass");
        }
        let params: Vec<OutType> = sources.iter().map(|&s| self.vmctx_type(s)).collect();
        let key = (params, body.0);
        if let Some(&func) = self.made.constructors.get(&key) {
            return Ok(Constructor { func, sources });
        }
        let vmctx_ref = |ty: OutType| {
            we::ValType::Ref(we::RefType {
                nullable: true,
                heap_type: we::HeapType::Concrete(ty.0),
            })
        };
        let param_types: Vec<_> = key.0.iter().map(|&t| vmctx_ref(t)).collect();
        let own = vmctx_ref(self.vmctx_type(i));
        let ty = self.func_type(&param_types, &[own]);
        let mut function = we::Function::new([
            (1, ref_null(OutType(FUNCS))),
            (1, own),
            (1, we::ValType::I32),
        ]);
        function.raw(key.1.iter().copied());
        let m = self.input.graph.instances[i].module;
        let n = self.made.constructors_of.entry(m).or_default();
        *n += 1;
        let name = match *n {
            1 => format!("m{}:new", m.as_u32()),
            n => format!("m{}:new.{n}", m.as_u32()),
        };
        let func = self.add_func(ty, name, function);
        self.made.constructors.insert(key, func);
        Ok(Constructor { func, sources })
    }

    /// The vmctx struct type of reified instance `i`'s module.
    fn vmctx_type(&self, i: RuntimeInstanceIndex) -> OutType {
        let m = self.input.graph.instances[i].module;
        self.layouts[m]
            .vmctx
            .as_ref()
            .expect("reified module has a vmctx")
            .ty
    }

    /// Emits instance `i`'s constructor body with `sources` as its first parameters, then
    /// its element-array, vmctx and loop-counter locals; returns the body and the instances
    /// it read (`sources` and any it found beyond them, which then have no parameter yet).
    fn constructor_body(
        &mut self,
        i: RuntimeInstanceIndex,
        sources: Vec<RuntimeInstanceIndex>,
    ) -> Result<(Sink, Vec<RuntimeInstanceIndex>)> {
        let params = sources.len() as u32;
        let (arr, vmctx, counter) = (params, params + 1, params + 2);
        let mut body = Sink::default();
        let scope = ConstructorScope {
            sink: &body as *const Sink as usize,
            own: i,
            own_local: vmctx,
            sources: std::cell::RefCell::new(sources),
        };
        let previous = self.constructor_scope.replace(scope);
        let result = self.instantiate_reified(i, arr, vmctx, counter, &mut body);
        let scope =
            std::mem::replace(&mut self.constructor_scope, previous).expect("the scope set above");
        result?;
        body.push(we::Instruction::LocalGet(vmctx));
        body.push(we::Instruction::End);
        Ok((body, scope.sources.into_inner()))
    }

    /// Emits the body of instance `i`'s constructor (see [`Self::instance_constructor`]), with
    /// local `arr` for element arrays, local `v` for the vmctx and `i32` local `counter` for
    /// the loops that build element arrays.
    fn instantiate_reified(
        &mut self,
        i: RuntimeInstanceIndex,
        arr: u32,
        v_local: u32,
        counter: u32,
        out: &mut Sink,
    ) -> Result<()> {
        use we::Instruction as I;
        let m = self.input.graph.instances[i].module;
        let own = crate::code::VmctxSource::Local(v_local);
        let v = self.layouts[m]
            .vmctx
            .as_ref()
            .expect("reified module has a vmctx");
        let vty = v.ty;
        let mem_fields = v.memories.clone();
        let tab_fields = v.tables.clone();
        let global_slots = v.globals.clone();
        let func_slots = v.imported_funcs.clone();
        let tag_slots = v.tags.clone();
        let data_lengths = v.datas.map(|field| (field, v.data_lengths));
        let data_init = v.data_init;
        let elem_fields = v.elems.clone();
        let args = self.input.graph.instances[i].args.clone();

        out.push(I::StructNewDefault(vty.0));
        out.push(I::LocalSet(v_local));
        let set = |out: &mut Sink, field_index: u32| {
            out.push(I::StructSet {
                struct_type_index: vty.0,
                field_index,
            });
        };
        let g = v_local;

        // Memories.
        let info = &self.input.infos[m];
        let nimp_mem = info.num_imported_memories as usize;
        let memories = info.memories.clone();
        let mem_pos = info.import_position.memories.clone();
        for (mi, mt) in memories.iter().enumerate() {
            let MemSlot::Field(field) = mem_fields[mi] else {
                continue; // reached directly; its field stays null
            };
            out.push(I::LocalGet(g));
            if mi < nimp_mem {
                let StateTarget::Boxed { instance, field } =
                    self.resolve_memory(&args[mem_pos[mi]])?
                else {
                    bail!("internal: reified instance imports an unreified memory");
                };
                self.push_field(out, instance, field);
            } else {
                let max = mt.maximum.unwrap_or(65536).min(65536);
                out.push(I::I32Const(mt.initial as i32));
                out.push(I::I32Const(max as i32));
                out.push(I::Call(self.helper(Helper::MemoryNew).0));
            }
            set(out, field);
        }

        // Tables.
        let info = &self.input.infos[m];
        let nimp_tab = info.num_imported_tables as usize;
        let tables = info.tables.clone();
        let table_inits = info.table_inits.clone();
        let tab_pos = info.import_position.tables.clone();
        for (ti, tt) in tables.iter().enumerate() {
            let TabSlot::Field(field) = tab_fields[ti] else {
                continue; // one output table for every instance; its field stays null
            };
            out.push(I::LocalGet(g));
            if ti < nimp_tab {
                let StateTarget::Boxed { instance, field } =
                    self.resolve_table(&args[tab_pos[ti]])?
                else {
                    bail!("internal: reified instance imports an unreified table");
                };
                self.push_field(out, instance, field);
            } else {
                let kind = self.table_kind(m, ti as u32)?;
                match &table_inits[ti - nimp_tab] {
                    // Tables come before globals here: an initializer reading one is named.
                    Some(init) if reads_global(init)? => {
                        return Err(not_yet(
                            "table initializer expressions that read a global in reified \
                             modules",
                        ));
                    }
                    Some(init) => self.reified_const_expr(m, i, own, init, out)?,
                    None => out.push(match kind.elem() {
                        we::ValType::Ref(r) => I::RefNull(r.heap_type),
                        other => bail!("internal: table elements of type `{other:?}`"),
                    }),
                }
                out.push(I::I32Const(tt.initial as i32));
                out.push(I::I32Const(
                    tt.maximum
                        .map_or(-1, |x| x.min(u32::MAX as u64) as u32 as i32),
                ));
                out.push(I::Call(self.helper(Helper::TableNew(kind)).0));
            }
            set(out, field);
        }

        // Globals.
        let info = &self.input.infos[m];
        let nimp_glob = info.num_imported_globals as usize;
        let glob_pos = info.import_position.globals.clone();
        let defined = info.defined_globals.clone();
        for (gi, slot) in global_slots.iter().enumerate() {
            if gi < nimp_glob {
                let target = self.resolve_global(&args[glob_pos[gi]])?;
                match (*slot, target) {
                    (GlobalSlot::Static(_), _) => {}
                    (GlobalSlot::Value(f), t) => {
                        out.push(I::LocalGet(g));
                        self.push_global_value(out, t);
                        set(out, f);
                    }
                    (
                        GlobalSlot::Boxed { field: f, .. },
                        GlobalTarget::Field {
                            instance,
                            field,
                            boxed: true,
                        },
                    ) => {
                        out.push(I::LocalGet(g));
                        self.push_field(out, instance, field);
                        set(out, f);
                    }
                    (GlobalSlot::Boxed { .. }, _) => {
                        bail!("internal: mutable global import without a box to share")
                    }
                }
            } else {
                let init = &defined[gi - nimp_glob].init;
                out.push(I::LocalGet(g));
                self.reified_const_expr(m, i, own, init, out)?;
                match *slot {
                    GlobalSlot::Value(f) => set(out, f),
                    GlobalSlot::Boxed { field: f, box_ty } => {
                        out.push(I::StructNew(box_ty.0));
                        set(out, f);
                    }
                    GlobalSlot::Static(_) => bail!("internal: defined global bound statically"),
                }
            }
        }

        // Imports bound per instance.
        let func_pos = self.input.infos[m].import_position.funcs.clone();
        for (fi, slot) in func_slots.iter().enumerate() {
            if let ImportedFunc::Dynamic(f) = slot {
                out.push(I::LocalGet(g));
                let target = self.resolve_func(&args[func_pos[fi]])?;
                self.emit_closure(out, target)?;
                set(out, *f);
            }
        }

        // Imported tags: the identity of the instance that defines each (`TagSlot`).
        let tag_pos = self.input.infos[m].import_position.tags.clone();
        for (ti, slot) in tag_slots.iter().enumerate() {
            if let TagSlot::Field { field, .. } = *slot {
                out.push(I::LocalGet(g));
                let (definer, _, _) = self.defining_instance(
                    &args[tag_pos[ti]],
                    crate::assemble::StateKind::Tag,
                    false,
                )?;
                self.push_instance_vmctx(out, definer);
                set(out, field);
            }
        }

        // Element segments: materialize, then apply the active ones.
        let elements = self.input.infos[m].elements.clone();
        for (e, seg) in elements.iter().enumerate() {
            match &seg.kind {
                wp::ElementKind::Declared => {}
                wp::ElementKind::Passive => {
                    out.push(I::LocalGet(g));
                    let kind = self.element_kind(m, e as u32)?;
                    self.materialize(i, seg, kind, own, (arr, counter), out)?;
                    set(out, elem_fields[e]);
                }
                wp::ElementKind::Active {
                    table_index,
                    offset_expr,
                } => {
                    let t = table_index.unwrap_or(0);
                    let TabSlot::Field(field) = tab_fields[t as usize] else {
                        continue; // applied by the output's own segment
                    };
                    let n = element_count(seg);
                    let kind = self.table_kind(m, t)?;
                    self.reified_const_expr(m, i, own, offset_expr, out)?;
                    out.push(I::I32Const(0));
                    out.push(I::I32Const(n as i32));
                    out.push(I::LocalGet(g));
                    out.push(I::StructGet {
                        struct_type_index: vty.0,
                        field_index: field,
                    });
                    // In the table's kind: its element type may be a supertype of the
                    // segment's, and arrays of the two are distinct types.
                    self.materialize(i, seg, kind, own, (arr, counter), out)?;
                    out.push(I::Call(self.helper(Helper::TableInit(kind)).0));
                }
            }
        }

        // Data segments: the lengths (a passive segment's, 0 for an active one), then apply the
        // active ones.
        let datas = self.input.infos[m].datas.clone();
        if let Some((field, segment)) = data_lengths {
            out.push(I::LocalGet(g));
            out.push(I::I32Const(0));
            out.push(I::I32Const(datas.len() as i32));
            out.push(I::ArrayNewData {
                array_type_index: runtime_structs::HANDLES,
                array_data_index: segment,
            });
            set(out, field);
        }
        if let Some(f) = data_init {
            out.push(I::LocalGet(g));
            out.push(I::Call(f.0));
        }
        for (d, seg) in datas.iter().enumerate() {
            if data_init.is_some() {
                break; // applied in a loop
            }
            let len = seg.data.len() as i32;
            match &seg.kind {
                wp::DataKind::Passive => {}
                wp::DataKind::Active {
                    memory_index,
                    offset_expr,
                } => {
                    self.reified_const_expr(m, i, own, offset_expr, out)?;
                    out.push(I::I32Const(0));
                    out.push(I::I32Const(len));
                    let data_index = self.layouts[m].data_base + d as u32;
                    let field = match mem_fields[*memory_index as usize] {
                        MemSlot::Field(field) => field,
                        MemSlot::Native(mem) => {
                            // The output segment stays passive: other instances apply it too.
                            out.push(I::MemoryInit { mem, data_index });
                            continue;
                        }
                    };
                    out.push(I::LocalGet(g));
                    out.push(I::StructGet {
                        struct_type_index: vty.0,
                        field_index: field,
                    });
                    out.push(I::I32Const(len));
                    out.push(I::Call(self.helper(Helper::MemoryInitCheck).0));
                    out.push(I::ArrayNewData {
                        array_type_index: runtime_structs::BYTES,
                        array_data_index: data_index,
                    });
                    out.push(I::Call(self.helper(Helper::MemoryInitWrite).0));
                }
            }
        }

        Ok(())
    }

    /// Pushes the vmctx of reified instance `instance`: from its slot, or, in the body of a
    /// constructor, from the constructor's local (its own instance) or a parameter (any
    /// other, which becomes one of its sources).
    pub(crate) fn push_instance_vmctx(&self, out: &mut Sink, instance: RuntimeInstanceIndex) {
        if let Some(scope) = &self.constructor_scope
            && scope.sink == out as *const Sink as usize
        {
            if instance == scope.own {
                out.push(we::Instruction::LocalGet(scope.own_local));
                return;
            }
            let mut sources = scope.sources.borrow_mut();
            let p = match sources.iter().position(|&s| s == instance) {
                Some(p) => p,
                None => {
                    sources.push(instance);
                    sources.len() - 1
                }
            };
            out.push(we::Instruction::LocalGet(p as u32));
            return;
        }
        for instruction in self.instance_slot(instance).push_vmctx() {
            out.push(instruction);
        }
    }

    /// Where reified instance `instance`'s vmctx is kept.
    pub(crate) fn instance_slot(&self, instance: RuntimeInstanceIndex) -> InstanceSlot {
        self.instance_slots[instance].expect("reified instance has a slot")
    }

    /// Pushes field `field` of `instance`'s vmctx.
    pub(crate) fn push_field(&self, out: &mut Sink, instance: RuntimeInstanceIndex, field: u32) {
        let m = self.input.graph.instances[instance].module;
        let vty = self.layouts[m]
            .vmctx
            .as_ref()
            .expect("reified module has a vmctx")
            .ty;
        self.push_instance_vmctx(out, instance);
        out.push(we::Instruction::StructGet {
            struct_type_index: vty.0,
            field_index: field,
        });
    }

    fn push_global_value(&self, out: &mut Sink, target: GlobalTarget) {
        match target {
            GlobalTarget::Native(og) => out.push(we::Instruction::GlobalGet(og.0)),
            GlobalTarget::Field {
                instance,
                field,
                boxed,
            } => {
                self.push_field(out, instance, field);
                if boxed {
                    // The box type follows from the exporter's slot.
                    let m = self.input.graph.instances[instance].module;
                    let v = self.layouts[m]
                        .vmctx
                        .as_ref()
                        .expect("reified module has a vmctx");
                    let box_ty = v
                        .globals
                        .iter()
                        .find_map(|s| match s {
                            GlobalSlot::Boxed { field: f, box_ty } if *f == field => Some(*box_ty),
                            _ => None,
                        })
                        .expect("boxed global slot");
                    out.push(we::Instruction::StructGet {
                        struct_type_index: box_ty.0,
                        field_index: runtime_structs::field::BOX_VALUE,
                    });
                }
            }
        }
    }

    /// Pushes a new element array holding the elements of segment `seg` of `instance`: a
    /// `(ref $funcs)` of closures, or for segments of other reference types an array of
    /// `kind` (the segment's, or the table's it initializes: [`Lowerer::ref_kind`]) of its
    /// constant expressions' values, evaluated with `vmctx` as the instance's; `arr` and
    /// `counter` are scratch locals (an element array, an `i32`).
    fn materialize(
        &mut self,
        instance: RuntimeInstanceIndex,
        seg: &wp::Element<'_>,
        kind: TableKind,
        vmctx: VmctxSource,
        (arr, counter): (u32, u32),
        out: &mut Sink,
    ) -> Result<()> {
        use we::Instruction as I;
        let m = self.input.graph.instances[instance].module;
        let n = element_count(seg);
        if let wp::ElementItems::Expressions(ty, items) = &seg.items
            && !ty.is_func_ref()
        {
            // Of other types than `funcref`: nulls are the array's default; anything else
            // (`ref.i31`, `struct.new`, `global.get` of a global set before the segments, ...)
            // is each item's constant expression, evaluated in order into `array.new_fixed`.
            let mut all_null = true;
            for e in items.clone() {
                let mut ops = e?.get_operators_reader();
                while !ops.eof() {
                    if !matches!(
                        ops.read()?,
                        wp::Operator::RefNull { .. } | wp::Operator::End
                    ) {
                        all_null = false;
                    }
                }
            }
            if all_null {
                out.push(I::I32Const(n as i32));
                out.push(I::ArrayNewDefault(kind.array()));
                return Ok(());
            }
            if n > MAX_ARRAY_NEW_FIXED {
                return Err(not_yet(format!(
                    "element segments of more than {MAX_ARRAY_NEW_FIXED} expressions of type \
                     `{ty}` in a reified module"
                )));
            }
            for e in items.clone() {
                self.reified_const_expr(m, instance, vmctx, &e?, out)?;
            }
            out.push(I::ArrayNewFixed {
                array_type_index: kind.array(),
                array_size: n,
            });
            return Ok(());
        }
        out.push(I::I32Const(n as i32));
        out.push(I::ArrayNewDefault(FUNCS));
        out.push(I::LocalSet(arr));
        let mut items: Vec<Option<u32>> = Vec::new();
        match &seg.items {
            wp::ElementItems::Functions(r) => {
                for f in r.clone() {
                    items.push(Some(f?));
                }
            }
            wp::ElementItems::Expressions(_, r) => {
                for e in r.clone() {
                    let e = e?;
                    let mut ops = e.get_operators_reader();
                    let mut item = None;
                    while !ops.eof() {
                        match ops.read()? {
                            wp::Operator::RefFunc { function_index } => item = Some(function_index),
                            wp::Operator::RefNull { .. } | wp::Operator::End => {}
                            other => {
                                return Err(not_yet(format!(
                                    "element expression `{other:?}` in a reified module"
                                )));
                            }
                        }
                    }
                    items.push(item);
                }
            }
        }
        // Each element's closure: its slot in the closure table and where its vmctx comes
        // from, or the vmctx field that holds it (an import bound per instance).
        let mut closures = Vec::new();
        for (k, item) in items.into_iter().enumerate() {
            let Some(f) = item else { continue };
            let nimp = self.input.infos[m].num_imported_funcs;
            let v = self.layouts[m]
                .vmctx
                .as_ref()
                .expect("reified module has a vmctx");
            let target = match (f < nimp).then(|| v.imported_funcs[f as usize]) {
                Some(ImportedFunc::Dynamic(field)) => {
                    closures.push((k as u32, ElementClosure::Field(field)));
                    continue;
                }
                Some(ImportedFunc::Static(target)) => target,
                None => self.module_func(m, Some(instance), f)?,
            };
            let slot = self.closure_slot(target)?;
            let ctx = target.instance();
            closures.push((k as u32, ElementClosure::New { slot, ctx }));
        }
        let mut at = 0;
        while at < closures.len() {
            let run = closure_run(&closures[at..]);
            let (k, closure) = closures[at];
            match closure {
                ElementClosure::New { slot, ctx } if run >= MIN_ELEMENT_LOOP => {
                    // for c in 0..run: arr[k + c] = closure(slot + c, ctx)
                    out.push(I::I32Const(0));
                    out.push(I::LocalSet(counter));
                    out.push(I::Loop(we::BlockType::Empty));
                    out.push(I::LocalGet(arr));
                    out.push(I::LocalGet(counter));
                    out.push(I::I32Const(k as i32));
                    out.push(I::I32Add);
                    out.push(I::LocalGet(counter));
                    out.push(I::I32Const(slot as i32));
                    out.push(I::I32Add);
                    self.push_closure_ctx(out, ctx);
                    out.push(I::StructNew(runtime_structs::CLOSURE));
                    out.push(I::ArraySet(FUNCS));
                    out.push(I::LocalGet(counter));
                    out.push(I::I32Const(1));
                    out.push(I::I32Add);
                    out.push(I::LocalTee(counter));
                    out.push(I::I32Const(run as i32));
                    out.push(I::I32LtU);
                    out.push(I::BrIf(0));
                    out.push(I::End);
                    at += run;
                }
                _ => {
                    out.push(I::LocalGet(arr));
                    out.push(I::I32Const(k as i32));
                    match closure {
                        ElementClosure::Field(field) => self.push_field(out, instance, field),
                        ElementClosure::New { slot, ctx } => {
                            out.push(I::I32Const(slot as i32));
                            self.push_closure_ctx(out, ctx);
                            out.push(I::StructNew(runtime_structs::CLOSURE));
                        }
                    }
                    out.push(I::ArraySet(FUNCS));
                    at += 1;
                }
            }
        }
        out.push(I::LocalGet(arr));
        Ok(())
    }
}

/// The shortest run of elements that [`Lowerer::materialize`] builds in a loop rather than
/// element by element. A segment is usually a run: its functions get consecutive closure
/// slots when the segment is the first to name them (the componentize-py app's CPython
/// table: 4 955 elements, once 1.4 MB of straight-line machine code on wasmtime).
const MIN_ELEMENT_LOOP: usize = 4;

/// The closure an element of a materialized segment holds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ElementClosure {
    /// A new closure of the function in closure-table slot `slot`, with the vmctx of
    /// instance `ctx` (none for an unreified function).
    New {
        slot: u32,
        ctx: Option<RuntimeInstanceIndex>,
    },
    /// The closure in this vmctx field (an import bound per instance).
    Field(u32),
}

/// How many of `closures` (element index and closure, in element order) from the first on
/// form a run that one loop builds: consecutive elements with consecutive slots and one
/// vmctx. At least 1.
fn closure_run(closures: &[(u32, ElementClosure)]) -> usize {
    let (k0, first) = closures[0];
    let ElementClosure::New { slot: s0, ctx } = first else {
        return 1;
    };
    closures
        .iter()
        .enumerate()
        .take_while(|&(c, &(k, closure))| {
            let c = c as u32;
            k == k0 + c && closure == ElementClosure::New { slot: s0 + c, ctx }
        })
        .count()
}

fn element_count(seg: &wp::Element<'_>) -> u32 {
    match &seg.items {
        wp::ElementItems::Functions(r) => r.count(),
        wp::ElementItems::Expressions(_, r) => r.count(),
    }
}

/// Emits the instructions of a constant expression (without its `end`).
fn emit_const(out: &mut Sink, e: &we::ConstExpr) {
    let mut bytes = Vec::new();
    we::Encode::encode(e, &mut bytes);
    // A `ConstExpr` encodes as its instructions followed by `end` (0x0b).
    bytes.pop();
    out.0.extend_from_slice(&bytes);
}

/// The most operands `array.new_fixed` takes (the validators' shared limit).
const MAX_ARRAY_NEW_FIXED: u32 = 10_000;

/// Whether constant expression `e` reads a global.
fn reads_global(e: &wp::ConstExpr<'_>) -> Result<bool> {
    let mut ops = e.get_operators_reader();
    while !ops.eof() {
        if let wp::Operator::GlobalGet { .. } = ops.read()? {
            return Ok(true);
        }
    }
    Ok(false)
}
