//! Streams and futures between guest tasks: the `stream.*` and `future.*` built-ins and FACT's
//! `stream-transfer` and `future-transfer`.
//!
//! wasmtime implements them in its host (`runtime/component/concurrent/futures_and_streams.rs`,
//! which calls the two together a *transmit*). The output has them in wasm, written once in
//! `transmit.wat` (a [`Template`]) over the handle tables of `resources.wat` and the scheduler
//! of `tasks.wat`, and bound here:
//!
//! | built-in | core type | does |
//! |---|---|---|
//! | `stream.new`, `future.new` | `() -> i64` | both ends in the instance's table: `(writable << 32) \| readable` |
//! | `stream.write`, `stream.read` | `(end, ptr, count) -> i32` | items move when both sides are there, as many as the smaller side offers; else `BLOCKED` (async) or a wait (sync) |
//! | `future.write`, `future.read` | `(end, ptr) -> i32` | the same for one value |
//! | `{stream,future}.cancel-write`, `.cancel-read` | `(end) -> i32` | ends a pending operation |
//! | `{stream,future}.drop-writable`, `.drop-readable` | `(end)` | the other side learns of it |
//! | FACT's `stream-transfer`, `future-transfer` | `(end, src type, dst type) -> end` | moves a readable end between instances |
//!
//! A result is wasmtime's copy result, `count << 4 | status` (0 completed, 1 dropped,
//! 2 cancelled), or `BLOCKED` (`0xffff_ffff`). Each `read` and `write` built-in is a *site*:
//! the memory its items live in and their size. When items move, `copy` (a dispatch on the two
//! sites, made once every site is known) moves them: a future's value is loaded by the write
//! site and stored by the read site, a stream's items are copied between the two memories as
//! `memmove` does. Payloads that are numbers (or none) move as bytes, as
//! wasmtime's flat copy moves them; a `bool` or `char` is checked as wasmtime's lift checks it
//! (a `bool` arrives as 0 or 1, a `char` that is not a Unicode scalar value traps) and refused
//! between a read and a write of one component instance. Every other item (own handles,
//! strings, lists, records, variants, ...) moves through a copy generated per pair of a write
//! and a read site of the same shape ([`crate::payload`]), which the read site's copy
//! dispatches to on the write site: an own handle moves from the writer's handle table into
//! the reader's (lifted and lowered, as wasmtime's copy of values does, with the same traps),
//! and such items are refused within one instance too.
//!
//! A stream or future whose readable end crosses the host boundary in a host import's type,
//! and whose items hold no string, list or handle, is bridged
//! ([`crate::host::HostTransmit`]): one the guest passes out to a stream or future of the
//! output's own instance, whose readable end the host gets, one the host passes in by
//! reading it with the host's intrinsics. The guest's writes or reads go to the exchange
//! module's `hs-copy` through a site of the exchange memory, and their results come back as
//! the host gives them (`transmit.wat`'s `$host_copy` and `host-copied`).

use std::sync::OnceLock;

use anyhow::{Context as _, Result, bail};
use wasm_encoder as we;
use wasmtime_environ::Trap;
use wasmtime_environ::component::{
    InterfaceType, OptionsIndex, RuntimeComponentInstanceIndex, StringEncoding, Trampoline,
    TypeFutureTableIndex, TypeStreamTableIndex,
};

use crate::assemble::{Lowerer, trap_reason};
use crate::layout::{Binding, OutFunc, OutType, StateTarget};
use crate::template::Template;

/// The transmit template, parsed once.
fn template() -> &'static Template {
    static TEMPLATE: OnceLock<Template> = OnceLock::new();
    Template::cached(&TEMPLATE, "transmit", include_str!("transmit.wat"))
}

/// Which of the two a built-in operates on; the template's `$kind` (0, 1).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Future = 0,
    Stream = 1,
}

impl Kind {
    /// The kind of a host-side table type.
    fn of(table: crate::host::TransmitTable) -> Kind {
        match table {
            crate::host::TransmitTable::Future(_) => Kind::Future,
            crate::host::TransmitTable::Stream(_) => Kind::Stream,
        }
    }

    /// The built-ins' family, as the text format spells it.
    fn name(self) -> &'static str {
        match self {
            Kind::Future => "future",
            Kind::Stream => "stream",
        }
    }
}

/// What a built-in does; a read, cancel-read or drop-readable acts on side 0 (the readable
/// end), the others on side 1.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    New,
    Read,
    Write,
    CancelRead,
    CancelWrite,
    DropReadable,
    DropWritable,
    Transfer,
}

/// One argument of a built-in's call of its template function.
#[derive(Clone, Copy)]
enum Arg {
    Const(i32),
    /// The wrapper's parameter.
    Param(u32),
}

/// The `i32` type, as the encoder names it.
const I32: we::ValType = we::ValType::I32;

/// A `read` or `write` built-in: which kind, the calling component instance, the memory its
/// items live in (none for a payload-less type), and their layout.
#[derive(Clone)]
struct Site {
    kind: Kind,
    instance: u32,
    memory: Option<StateTarget>,
    payload: Payload,
    /// Its canonical options (the reader's `realloc` and string encoding).
    options: OptionsIndex,
    /// Whether it is a `write` (else a `read`).
    write: bool,
}

/// How one item of a stream or future is laid out and copied.
#[derive(Clone, Copy)]
struct Payload {
    /// Its size in bytes.
    size: u32,
    /// The template's `$check`: 0 for a number (any bits are a value, copied as they are),
    /// 1 for a `bool`, 2 for a `char` (lifted and lowered again, and refused within one
    /// component instance, as wasmtime does), 3 for any other item ([`Payload::generic`]).
    check: u32,
    /// For `$check` 3, an item that is neither a number, a `bool` nor a `char` (own handles,
    /// and values that are not flat; see [`crate::payload`]): its type and alignment in bytes.
    generic: Option<(InterfaceType, u32)>,
}

/// A write site and a read site whose items go through the generated copy
/// ([`Lowerer::meeting`]): the writer's and the reader's item types, memories and string
/// encodings.
#[derive(Clone, Copy)]
struct Meeting {
    from: InterfaceType,
    to: InterfaceType,
    src: StateTarget,
    dst: StateTarget,
    /// The writer's and the reader's string encodings.
    encoding: crate::payload::Encodings,
}

/// What the transmit template is bound to, and the sites, made once.
#[derive(Default)]
pub(crate) struct TransmitState {
    binding: Option<Binding>,
    /// `(write site, write ptr, read site, read ptr, count)`: moves items, a dispatch whose
    /// body [`Lowerer::finish_transmits`] gives.
    copy: Option<OutFunc>,
    sites: Vec<Site>,
    /// The copy templates' transfers, by [`ItemTransfer`], made once.
    item_transfers: [Option<OutFunc>; 4],
    /// `(k) -> site`: the read site of bridged stream `k`, a lookup whose body
    /// [`Lowerer::finish_transmits`] gives.
    host_site: Option<OutFunc>,
}

/// The body of `(key) -> value` for the pairs of `keys` and `values`: -1 for any other key.
fn lookup(keys: Vec<i32>, values: Vec<i32>) -> we::Function {
    let mut body = we::Function::new([]);
    let mut ins = body.instructions();
    for (key, value) in keys.into_iter().zip(values) {
        ins.local_get(0)
            .i32_const(key)
            .i32_eq()
            .if_(we::BlockType::Empty)
            .i32_const(value)
            .return_()
            .end();
    }
    ins.i32_const(-1).end();
    body
}

/// A transfer that a copy template imports after `transfer-own`, in the template's order:
/// what moves an item's handle from the writer's table into the reader's.
#[derive(Clone, Copy)]
enum ItemTransfer {
    /// `error-context-transfer` (`crate::error_context`).
    ErrorContext = 0,
    /// FACT's `future-transfer` of a readable future end.
    Future = 1,
    /// FACT's `stream-transfer` of a readable stream end.
    Stream = 2,
    /// A function that traps, bound in place of a transfer the copy's items never call.
    Never = 3,
}

impl Lowerer<'_, '_> {
    /// The transmit template's binding, made once.
    fn transmit_binding(&mut self) -> Result<Binding> {
        if let Some(b) = &self.tasks.transmits.binding {
            return Ok(b.clone());
        }
        let table_of = self.scheduler_table_of()?;
        // `transmit-instance (ty, kind)`: chains of comparisons with the future table types,
        // then the stream table types; -1 for the tables of the host adapters' host side.
        let types = &self.input.front.types;
        let host = self.input.host.host_instance;
        let instance = |i: wasmtime_environ::component::RuntimeComponentInstanceIndex| {
            if Some(i) == host {
                -1
            } else {
                i.as_u32() as i32
            }
        };
        let futures: Vec<i32> = (0..self.input.front.num_future_tables)
            .map(|i| instance(types[TypeFutureTableIndex::from_u32(i as u32)].instance))
            .collect();
        let streams: Vec<i32> = (0..self.input.front.num_stream_tables)
            .map(|i| instance(types[TypeStreamTableIndex::from_u32(i as u32)].instance))
            .collect();
        let ty = self.func_type(&[I32, I32], &[I32]);
        let mut body = we::Function::new([]);
        let mut ins = body.instructions();
        for (kind, instances) in [(Kind::Future, &futures), (Kind::Stream, &streams)] {
            for (ty, instance) in instances.iter().enumerate() {
                ins.local_get(1)
                    .i32_const(kind as i32)
                    .i32_eq()
                    .local_get(0)
                    .i32_const(ty as i32)
                    .i32_eq()
                    .i32_and()
                    .if_(we::BlockType::Empty)
                    .i32_const(*instance)
                    .return_()
                    .end();
            }
        }
        ins.unreachable().end();
        let transmit_instance = self.add_func(ty, "transmit:instance".into(), body);
        let ty = self.func_type(&[I32; 5], &[]);
        let copy = self.reserve_func(ty, "transmit:copy".into());
        let mut imports = vec![table_of, transmit_instance, copy];
        for op in [
            "transmit-slot",
            "slot",
            "word",
            "set-waitable-word",
            "mark-ready",
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
        imports.push(self.add_func(ty, "transmit:before-wait".into(), body));
        imports.extend(self.host_transmit_imports()?);
        let records = self.task_array(16 * 16, "transmit-records");
        let num = self.task_int(0, "num-transmits");
        let free = self.task_int(-1, "free-transmit");
        let binding = Binding {
            memories: Vec::new(),
            types: vec![runtime_structs::HANDLES, runtime_structs::HANDLE_TABLE],
            imports,
            globals: vec![records.0, num.0, free.0],
        };
        self.tasks.transmits.binding = Some(binding.clone());
        self.tasks.transmits.copy = Some(copy);
        Ok(binding)
    }

    /// The transmit template's imports for the streams and futures bridged to the host
    /// ([`crate::host::HostTransmit`]): `host-transmit (host-side table type, kind, from the
    /// host) -> k` (-1 for a type that is not bridged that way), `host-site (k) -> site` (a
    /// site of the exchange memory, registered in [`Lowerer::finish_transmits`]), `host-size
    /// (k) -> bytes` (an item's), `host-kind (k) -> kind`, then the exchange module's
    /// `hs-new`, `hs-copy`, `hs-cancel`, `hs-drop`, `hs-alloc` and `hs-free`; without
    /// bridged types, functions that are never called.
    fn host_transmit_imports(&mut self) -> Result<Vec<OutFunc>> {
        let transmits = self.input.host.host_transmits.clone();
        let ty = self.func_type(&[I32; 3], &[I32]);
        let mut body = we::Function::new([]);
        let mut ins = body.instructions();
        for (k, transmit) in transmits.iter().enumerate() {
            ins.local_get(0)
                .i32_const(transmit.table.index() as i32)
                .i32_eq()
                .local_get(1)
                .i32_const(transmit.table.kind() as i32)
                .i32_eq()
                .i32_and()
                .local_get(2)
                .i32_const(transmit.from_host as i32)
                .i32_eq()
                .i32_and()
                .if_(we::BlockType::Empty)
                .i32_const(k as i32)
                .return_()
                .end();
        }
        ins.i32_const(-1).end();
        let host_transmit = self.add_func(ty, "transmit:host-transmit".into(), body);
        // The sites are made once every memory is laid out (`finish_transmits`).
        let ty = self.func_type(&[I32], &[I32]);
        let host_site = self.reserve_func(ty, "transmit:host-site".into());
        self.tasks.transmits.host_site = Some(host_site);
        let mut sizes = Vec::new();
        for transmit in &transmits {
            let kind = Kind::of(transmit.table);
            sizes.push(self.payload(kind, transmit.table.index())?.size as i32);
        }
        let keys: Vec<i32> = (0..transmits.len() as i32).collect();
        let host_size = lookup(keys.clone(), sizes);
        let host_size = self.add_func(ty, "transmit:host-size".into(), host_size);
        let kinds = transmits.iter().map(|t| t.table.kind() as i32).collect();
        let host_kind = self.add_func(ty, "transmit:host-kind".into(), lookup(keys, kinds));
        let mut imports = vec![host_transmit, host_site, host_size, host_kind];
        let exchange = self.input.host.exchange.filter(|_| !transmits.is_empty());
        let signatures: [(&str, &[we::ValType], &[we::ValType]); 6] = [
            ("hs-new", &[I32], &[we::ValType::I64]),
            ("hs-copy", &[I32; 5], &[I32]),
            ("hs-cancel", &[I32; 3], &[I32]),
            ("hs-drop", &[I32; 2], &[]),
            ("hs-alloc", &[I32], &[I32]),
            ("hs-free", &[I32], &[]),
        ];
        for (name, params, results) in signatures {
            let f = match exchange {
                Some(exchange) => {
                    let target =
                        self.resolve_func(&crate::exchange::func_export(exchange, name))?;
                    self.plain_func(target)?
                }
                None => {
                    let ty = self.func_type(params, results);
                    let mut body = we::Function::new([]);
                    body.instructions().unreachable().end();
                    self.add_func(ty, format!("transmit:{name}"), body)
                }
            };
            imports.push(f);
        }
        Ok(imports)
    }

    /// The transmit template's `host-copied (x, result)`: the host's copy result of a pending
    /// read or write of bridged record `x`, given to the guest's end.
    pub(crate) fn transmit_host_copied(&mut self) -> Result<OutFunc> {
        self.transmit_op("host-copied", &[])
    }

    /// Function `name` of the transmit template, bound to this output, with `memories` as its
    /// memories 0 and 1.
    fn transmit_op(&mut self, name: &str, memories: &[StateTarget]) -> Result<OutFunc> {
        let mut binding = self.transmit_binding()?;
        binding.memories.extend_from_slice(memories);
        let template = template();
        let f = template.export(name)?;
        self.template_func(template, &binding, f)
    }

    /// The layout of one item of future or stream type `ty` (a `TypeFutureTableIndex` or
    /// `TypeStreamTableIndex` by `kind`).
    ///
    /// Errors: [`NotYet`](crate::NotYet) for a payload that the generated copy does not
    /// support ([`crate::payload::check_supported`]).
    fn payload(&self, kind: Kind, ty: u32) -> Result<Payload> {
        let types = &self.input.front.types;
        let payload = match kind {
            Kind::Future => types[types[TypeFutureTableIndex::from_u32(ty)].ty].payload,
            Kind::Stream => types[types[TypeStreamTableIndex::from_u32(ty)].ty].payload,
        };
        if let Some(t) = payload
            && crate::payload::is_generic(payload)
        {
            crate::payload::check_supported(types, t, StringEncoding::Utf8)?;
            let abi = types.canonical_abi(&t);
            return Ok(Payload {
                size: abi.size32,
                check: 3,
                generic: Some((t, abi.align32)),
            });
        }
        let (size, check) = match payload {
            None => (0, 0),
            Some(InterfaceType::S8 | InterfaceType::U8) => (1, 0),
            Some(InterfaceType::S16 | InterfaceType::U16) => (2, 0),
            Some(InterfaceType::S32 | InterfaceType::U32 | InterfaceType::Float32) => (4, 0),
            Some(InterfaceType::S64 | InterfaceType::U64 | InterfaceType::Float64) => (8, 0),
            Some(InterfaceType::Bool) => (1, 1),
            Some(InterfaceType::Char) => (4, 2),
            Some(_) => bail!(
                "internal: a {} payload that is neither flat nor generic",
                kind.name()
            ),
        };
        Ok(Payload {
            size,
            check,
            generic: None,
        })
    }

    /// A new site for a `read` or `write` of `kind` and type `ty` with canonical options
    /// `options`: its index, and what it is.
    fn transmit_site(
        &mut self,
        kind: Kind,
        instance: u32,
        ty: u32,
        options: OptionsIndex,
        write: bool,
    ) -> Result<(i32, Site)> {
        let payload = self.payload(kind, ty)?;
        let size = payload.size;
        if let Some((t, _)) = payload.generic {
            let encoding = self.input.front.translation.component.options[options].string_encoding;
            crate::payload::check_supported(&self.input.front.types, t, encoding)?;
        }
        let memory = match self.input.front.translation.component.options[options].memory() {
            Some(m) if size > 0 => Some(self.resolve_memory(&crate::host::memory_def(
                &self.input.front.translation.component,
                m,
            )?)?),
            Some(_) => None,
            None if size > 0 => {
                anyhow::bail!(
                    "internal: a stream or future read or write of values without a memory"
                )
            }
            None => None,
        };
        let site = Site {
            kind,
            instance,
            memory,
            payload,
            options,
            write,
        };
        self.tasks.transmits.sites.push(site.clone());
        Ok(((self.tasks.transmits.sites.len() - 1) as i32, site))
    }

    /// The function of a stream or future built-in `t` (see the module documentation) with
    /// core type `ty`; `None` for other trampolines.
    pub(crate) fn transmit_builtin(
        &mut self,
        t: &Trampoline,
        ty: OutType,
    ) -> Result<Option<OutFunc>> {
        use Kind::{Future, Stream};
        // (kind, operation, calling instance, type, canonical options, `async`).
        let (kind, op, instance, type_index, options, async_) = match *t {
            Trampoline::FutureNew { instance, ty } => {
                (Future, Op::New, Some(instance), ty.as_u32(), None, false)
            }
            Trampoline::StreamNew { instance, ty } => {
                (Stream, Op::New, Some(instance), ty.as_u32(), None, false)
            }
            Trampoline::FutureRead {
                instance,
                ty,
                options,
            } => (
                Future,
                Op::Read,
                Some(instance),
                ty.as_u32(),
                Some(options),
                false,
            ),
            Trampoline::StreamRead {
                instance,
                ty,
                options,
            } => (
                Stream,
                Op::Read,
                Some(instance),
                ty.as_u32(),
                Some(options),
                false,
            ),
            Trampoline::FutureWrite {
                instance,
                ty,
                options,
            } => (
                Future,
                Op::Write,
                Some(instance),
                ty.as_u32(),
                Some(options),
                false,
            ),
            Trampoline::StreamWrite {
                instance,
                ty,
                options,
            } => (
                Stream,
                Op::Write,
                Some(instance),
                ty.as_u32(),
                Some(options),
                false,
            ),
            Trampoline::FutureCancelRead {
                instance,
                ty,
                async_,
            } => (
                Future,
                Op::CancelRead,
                Some(instance),
                ty.as_u32(),
                None,
                async_,
            ),
            Trampoline::StreamCancelRead {
                instance,
                ty,
                async_,
            } => (
                Stream,
                Op::CancelRead,
                Some(instance),
                ty.as_u32(),
                None,
                async_,
            ),
            Trampoline::FutureCancelWrite {
                instance,
                ty,
                async_,
            } => (
                Future,
                Op::CancelWrite,
                Some(instance),
                ty.as_u32(),
                None,
                async_,
            ),
            Trampoline::StreamCancelWrite {
                instance,
                ty,
                async_,
            } => (
                Stream,
                Op::CancelWrite,
                Some(instance),
                ty.as_u32(),
                None,
                async_,
            ),
            Trampoline::FutureDropReadable { instance, ty } => (
                Future,
                Op::DropReadable,
                Some(instance),
                ty.as_u32(),
                None,
                false,
            ),
            Trampoline::StreamDropReadable { instance, ty } => (
                Stream,
                Op::DropReadable,
                Some(instance),
                ty.as_u32(),
                None,
                false,
            ),
            Trampoline::FutureDropWritable { instance, ty } => (
                Future,
                Op::DropWritable,
                Some(instance),
                ty.as_u32(),
                None,
                false,
            ),
            Trampoline::StreamDropWritable { instance, ty } => (
                Stream,
                Op::DropWritable,
                Some(instance),
                ty.as_u32(),
                None,
                false,
            ),
            Trampoline::FutureTransfer => (Future, Op::Transfer, None, 0, None, false),
            Trampoline::StreamTransfer => (Stream, Op::Transfer, None, 0, None, false),
            _ => return Ok(None),
        };
        let async_ = match options {
            Some(o) => self.input.front.translation.component.options[o].async_,
            None => async_,
        };
        let k = kind as i32;
        let i = instance.map_or(0, |i| i.as_u32() as i32);
        let ty_ = type_index as i32;
        let side = matches!(op, Op::Write | Op::CancelWrite | Op::DropWritable) as i32;
        let size = match op {
            Op::Transfer => 0,
            _ => self.payload(kind, type_index)?.size,
        };
        // The count of a read or write: a stream's third parameter, a future's one value.
        let count = match kind {
            Future => Arg::Const(1),
            Stream => Arg::Param(2),
        };
        use Arg::{Const, Param};
        // (template function, its arguments, whether the built-in may block, the site's
        // bounds check).
        let mut check = None;
        let (name, args, blocks) = match op {
            Op::New => (
                "new",
                vec![Const(i), Const(ty_), Const(k), Const(size as i32)],
                false,
            ),
            Op::Read | Op::Write => {
                let options = options.expect("a read or write has options");
                let write = op == Op::Write;
                let (site, info) =
                    self.transmit_site(kind, i as u32, type_index, options, write)?;
                if let Some(m) = info.memory {
                    check = Some(self.transmit_op("check", &[m])?);
                }
                let args = vec![
                    Const(i),
                    Const(ty_),
                    Const(k),
                    Const(site),
                    Const(async_ as i32),
                    Const(side),
                    Param(0),
                    Param(1),
                    count,
                ];
                ("copy-op", args, !async_)
            }
            Op::CancelRead | Op::CancelWrite => {
                let args = vec![
                    Const(i),
                    Const(ty_),
                    Const(k),
                    Const(async_ as i32),
                    Const(side),
                    Param(0),
                ];
                ("cancel", args, !async_)
            }
            Op::DropReadable | Op::DropWritable => (
                "drop",
                vec![Const(i), Const(ty_), Const(k), Const(side), Param(0)],
                false,
            ),
            Op::Transfer => (
                "transfer",
                vec![Param(0), Param(1), Param(2), Const(k)],
                false,
            ),
        };
        let func = self.transmit_op(name, &[])?;
        let g = self.task_globals();
        let cannot_block = self.trap_func(&trap_reason(Trap::CannotBlockSyncTask));
        let too_big = self.trap_func(&trap_reason(Trap::StreamOpTooBig));
        let mut body = we::Function::new([]);
        let mut ins = body.instructions();
        if let Some(instance) = instance {
            self.may_leave(&mut ins, instance);
        }
        if let (Stream, Op::Read | Op::Write) = (kind, op) {
            // wasmtime's `ItemCount::new`.
            ins.local_get(2)
                .i32_const(1 << 28)
                .i32_ge_u()
                .if_(we::BlockType::Empty)
                .call(too_big.0)
                .end();
        }
        if blocks {
            // A sync read, write or cancel may block: only in a task that may.
            ins.global_get(g.may_block.0)
                .i32_eqz()
                .if_(we::BlockType::Empty)
                .call(cannot_block.0)
                .end();
        }
        let push = |ins: &mut we::InstructionSink<'_>, arg: Arg| match arg {
            Const(c) => {
                ins.i32_const(c);
            }
            Param(p) => {
                ins.local_get(p);
            }
        };
        if let Some(check) = check {
            ins.local_get(1).i32_const(size as i32);
            push(&mut ins, count);
            ins.call(check.0);
        }
        for arg in args {
            push(&mut ins, arg);
        }
        ins.call(func.0).end();
        let name = match op {
            Op::New => "new",
            Op::Read => "read",
            Op::Write => "write",
            Op::CancelRead => "cancel-read",
            Op::CancelWrite => "cancel-write",
            Op::DropReadable => "drop-readable",
            Op::DropWritable => "drop-writable",
            Op::Transfer => "transfer",
        };
        let name = match instance {
            Some(i) => format!("{}.{name}{}", kind.name(), i.as_u32()),
            None => format!("{}-{name}", kind.name()),
        };
        Ok(Some(self.add_func(ty, name, body)))
    }

    /// A copy template's `(handle, src table type, dst table type) -> handle` transfer
    /// `which`; made once.
    fn item_transfer(&mut self, which: ItemTransfer) -> Result<OutFunc> {
        if let Some(f) = self.tasks.transmits.item_transfers[which as usize] {
            return Ok(f);
        }
        let ty = self.func_type(&[I32; 3], &[I32]);
        let f = match which {
            ItemTransfer::ErrorContext => self.error_context_transfer()?,
            ItemTransfer::Future => self
                .transmit_builtin(&Trampoline::FutureTransfer, ty)?
                .context("internal: no future transfer")?,
            ItemTransfer::Stream => self
                .transmit_builtin(&Trampoline::StreamTransfer, ty)?
                .context("internal: no stream transfer")?,
            ItemTransfer::Never => {
                let mut body = we::Function::new([]);
                body.instructions().unreachable().end();
                self.add_func(ty, "transfer:never".into(), body)
            }
        };
        self.tasks.transmits.item_transfers[which as usize] = Some(f);
        Ok(f)
    }

    /// The copy of items for `meeting`, a write site and a read site (both of `kind`) whose
    /// items have the same shape and are not flat ([`Lowerer::meeting`]): the generated
    /// template's (`crate::payload`) `copy-stream` or `copy-future`, bound to the two sites'
    /// memories, `realloc` (the reader's, [`Lowerer::payload_realloc`]), the resources
    /// template's `transfer-own` and, for error contexts and future and stream ends, their
    /// templates' `transfer`.
    fn generic_copy(&mut self, meeting: Meeting, kind: Kind, realloc: OutFunc) -> Result<OutFunc> {
        let Meeting {
            from,
            to,
            src,
            dst,
            encoding,
        } = meeting;
        let types = &self.input.front.types;
        let copy = crate::payload::copy_template(types, from, to, encoding)?;
        let template = crate::payload::template(copy.text)?;
        // The imports after `transfer-own` that the copy calls; one it does not call is
        // bound to a function that traps, when a later one is called.
        let mut imports = vec![realloc, self.resource_op("transfer-own")?];
        let needed = [
            (copy.error_contexts, ItemTransfer::ErrorContext),
            (copy.futures, ItemTransfer::Future),
            (copy.streams, ItemTransfer::Stream),
        ];
        let last = needed.iter().rposition(|&(n, _)| n).map_or(0, |p| p + 1);
        for &(called, which) in needed.iter().take(last) {
            let which = if called { which } else { ItemTransfer::Never };
            imports.push(self.item_transfer(which)?);
        }
        let binding = Binding {
            memories: vec![src, dst],
            types: Vec::new(),
            imports,
            globals: Vec::new(),
        };
        let name = match kind {
            Kind::Stream => "copy-stream",
            Kind::Future => "copy-future",
        };
        let f = template.export(name)?;
        self.template_func(template, &binding, f)
    }

    /// How write site `writer` and read site `reader` (of `kind`) meet when their items go
    /// through the generated copy: both generic, of the same shape, with memories; `None`
    /// when they cannot.
    fn meeting(&self, writer: &Site, reader: &Site, kind: Kind) -> Option<Meeting> {
        let (Some((from, _)), Some((to, _))) = (writer.payload.generic, reader.payload.generic)
        else {
            return None;
        };
        let (Some(src), Some(dst)) = (writer.memory, reader.memory) else {
            return None;
        };
        let options = &self.input.front.translation.component.options;
        let encoding = crate::payload::Encodings {
            src: options[writer.options].string_encoding,
            dst: options[reader.options].string_encoding,
        };
        (writer.write
            && !reader.write
            && writer.kind == kind
            && crate::payload::same_shape(&self.input.front.types, from, to))
        .then_some(Meeting {
            from,
            to,
            src,
            dst,
            encoding,
        })
    }

    /// The reader's `realloc` for read site `reader` ([`Lowerer::options_realloc`]).
    fn payload_realloc(&mut self, reader: &Site) -> Result<OutFunc> {
        self.options_realloc(
            RuntimeComponentInstanceIndex::from_u32(reader.instance),
            reader.options,
        )
    }

    /// The `realloc (old ptr, old size, align, new size) -> ptr` of canonical options
    /// `options` of component instance `instance`, called as wasmtime's host calls it
    /// (`LowerContext::realloc`): with the current task's context slots zeroed and the
    /// instance's may-leave flag cleared meanwhile. Options without one get a function
    /// that is never called.
    pub(crate) fn options_realloc(
        &mut self,
        instance: RuntimeComponentInstanceIndex,
        options: OptionsIndex,
    ) -> Result<OutFunc> {
        let ty = self.func_type(&[I32; 4], &[I32]);
        let component = &self.input.front.translation.component;
        let realloc = match component.options[options].data_model {
            wasmtime_environ::component::CanonicalOptionsDataModel::LinearMemory(m) => m.realloc,
            wasmtime_environ::component::CanonicalOptionsDataModel::Gc {} => None,
        };
        let realloc = realloc
            .map(|r| crate::host::realloc_def(component, r))
            .transpose()?;
        let mut body = we::Function::new([(3, I32)]);
        let mut ins = body.instructions();
        match realloc {
            None => {
                ins.unreachable();
            }
            Some(def) => {
                let target = self.resolve_func(&def)?;
                let f = self.plain_func(target)?;
                let g = self.task_globals();
                let flags = self.flags_global(instance);
                let (saved_flags, saved) = (4, 5);
                ins.global_get(flags.0).local_set(saved_flags);
                ins.i32_const(0).global_set(flags.0);
                for (k, slot) in g.context.iter().enumerate() {
                    ins.global_get(slot.0)
                        .local_set(saved + k as u32)
                        .i32_const(0)
                        .global_set(slot.0);
                }
                for p in 0..4 {
                    ins.local_get(p);
                }
                ins.call(f.0);
                for (k, slot) in g.context.iter().enumerate() {
                    ins.local_get(saved + k as u32).global_set(slot.0);
                }
                ins.local_get(saved_flags).global_set(flags.0);
            }
        }
        ins.end();
        Ok(self.add_func(ty, "transmit:realloc".into(), body))
    }

    /// Gives the functions reserved before every built-in was known their bodies: `copy`
    /// (`br_table`s on the write site, then the read site: a future's value is loaded by the
    /// one and stored by the other, a stream's items copied between their memories) and the
    /// resources template's `stream-delivered`.
    pub(crate) fn finish_transmits(&mut self) -> Result<()> {
        // The sites of the streams and futures bridged to the host, in the exchange memory:
        // where a write to the host is read from, where a read from it is written to.
        if let Some(host_site) = self.tasks.transmits.host_site {
            let mut sites = Vec::new();
            if let Some(host) = self.input.host.host_instance {
                for transmit in self.input.host.host_transmits.clone() {
                    let (site, _) = self.transmit_site(
                        Kind::of(transmit.table),
                        host.as_u32(),
                        transmit.table.index(),
                        transmit.options,
                        transmit.from_host,
                    )?;
                    sites.push(site);
                }
            }
            let body = lookup((0..sites.len() as i32).collect(), sites);
            self.define_func(host_site, body);
        }
        if let Some(delivered) = self.resources.stream_delivered {
            let mut body = we::Function::new([]);
            let mut ins = body.instructions();
            if self.tasks.transmits.binding.is_some() {
                let f = self.transmit_op("delivered", &[])?;
                ins.local_get(0).local_get(1).local_get(2).call(f.0);
            } else {
                // No stream was made: no slot is a stream end.
                ins.unreachable();
            }
            ins.end();
            self.define_func(delivered, body);
        }
        let Some(copy) = self.tasks.transmits.copy else {
            return Ok(());
        };
        let sites = self.tasks.transmits.sites.clone();
        // The distinct memories of stream sites: a write site sets local 6 to its memory's
        // place here, and a read site's copy dispatches on it.
        let mut memories: Vec<StateTarget> = Vec::new();
        for site in &sites {
            let copied = site.kind == Kind::Stream || site.payload.generic.is_some();
            if let (true, Some(m)) = (copied, site.memory)
                && !memories.contains(&m)
            {
                memories.push(m);
            }
        }
        /// What a site does on each side of the copy; a read site's `Option<u32>` is its
        /// component instance when its payload is a `bool` or `char` (checked), a future write
        /// site's is its instance.
        enum Step {
            None,
            /// A future's value: load or store (the template function).
            Value(OutFunc, Payload, Option<u32>),
            /// A write site's stream memory, by its place in `memories`, and its instance.
            Source(u32, u32),
            /// A read site's stream copies, one per source memory.
            Items(Vec<OutFunc>, Payload, Option<u32>),
            /// Items that are not flat ([`crate::payload`]): the copy from each write site
            /// whose items have their shape, and the read site's instance.
            Generic(Vec<(u32, OutFunc)>, u32),
        }
        let mut loads = Vec::new();
        let mut stores = Vec::new();
        for site in &sites {
            let checked = (site.payload.check != 0).then_some(site.instance);
            match (site.kind, site.memory) {
                (_, None) => {
                    loads.push(Step::None);
                    stores.push(Step::None);
                }
                (kind, Some(m)) if site.payload.generic.is_some() => {
                    let place = memories.iter().position(|x| *x == m).expect("collected") as u32;
                    loads.push(Step::Source(place, site.instance));
                    // One `realloc` wrapper for the read site, made only if a copy needs it.
                    let mut realloc = None;
                    let mut copies = Vec::new();
                    for (w, writer) in sites.iter().enumerate() {
                        let Some(meeting) = self.meeting(writer, site, kind) else {
                            continue;
                        };
                        let r = match realloc {
                            Some(r) => r,
                            None => *realloc.insert(self.payload_realloc(site)?),
                        };
                        copies.push((w as u32, self.generic_copy(meeting, kind, r)?));
                    }
                    stores.push(Step::Generic(copies, site.instance));
                }
                (Kind::Future, Some(m)) => {
                    let load = self.transmit_op("load", &[m])?;
                    loads.push(Step::Value(load, site.payload, Some(site.instance)));
                    let store = match checked {
                        Some(_) => "store-checked",
                        None => "store",
                    };
                    let store = self.transmit_op(store, &[m])?;
                    stores.push(Step::Value(store, site.payload, checked));
                }
                (Kind::Stream, Some(m)) => {
                    let place = memories.iter().position(|x| *x == m).expect("collected") as u32;
                    loads.push(Step::Source(place, site.instance));
                    let copy = match checked {
                        Some(_) => "copy-checked",
                        None => "copy-items",
                    };
                    let mut copies = Vec::new();
                    for src in memories.clone() {
                        copies.push(self.transmit_op(copy, &[src, m])?);
                    }
                    stores.push(Step::Items(copies, site.payload, checked));
                }
            }
        }
        let n = sites.len() as u32;
        // Params: write site, write ptr, read site, read ptr, count; local 5: a future's
        // value; local 6: the write site's stream memory; local 7: its component instance.
        let mut body = we::Function::new([(1, we::ValType::I64), (2, I32)]);
        let mut ins = body.instructions();
        for (site_param, steps) in [(0u32, &loads), (2, &stores)] {
            ins.block(we::BlockType::Empty);
            for _ in 0..n {
                ins.block(we::BlockType::Empty);
            }
            ins.local_get(site_param)
                .br_table((0..n).collect::<Vec<_>>(), n);
            ins.end();
            for (k, step) in steps.iter().enumerate() {
                // Whether the write site's instance is this read site's (`$intra`).
                let intra = |ins: &mut we::InstructionSink<'_>, instance: u32| {
                    ins.local_get(7).i32_const(instance as i32).i32_eq();
                };
                match step {
                    Step::None => {}
                    Step::Generic(copies, instance) => {
                        // Dispatch on the write site; a site of another shape never meets
                        // this one.
                        ins.block(we::BlockType::Empty);
                        for (w, f) in copies {
                            ins.local_get(0)
                                .i32_const(*w as i32)
                                .i32_eq()
                                .if_(we::BlockType::Empty);
                            ins.local_get(1).local_get(3);
                            if sites[k].kind == Kind::Stream {
                                ins.local_get(4);
                            }
                            intra(&mut ins, *instance);
                            ins.call(f.0).br(1).end();
                        }
                        ins.unreachable().end();
                    }
                    Step::Value(f, payload, instance) if site_param == 0 => {
                        ins.local_get(1)
                            .i32_const(payload.size as i32)
                            .call(f.0)
                            .local_set(5);
                        if let Some(instance) = instance {
                            ins.i32_const(*instance as i32).local_set(7);
                        }
                    }
                    Step::Value(f, payload, checked) => {
                        ins.local_get(3).i32_const(payload.size as i32).local_get(5);
                        if let Some(instance) = checked {
                            intra(&mut ins, *instance);
                            ins.i32_const(payload.check as i32);
                        }
                        ins.call(f.0);
                    }
                    Step::Source(place, instance) => {
                        ins.i32_const(*place as i32).local_set(6);
                        ins.i32_const(*instance as i32).local_set(7);
                    }
                    Step::Items(copies, payload, checked) => {
                        let m = copies.len() as u32;
                        ins.block(we::BlockType::Empty);
                        for _ in 0..m {
                            ins.block(we::BlockType::Empty);
                        }
                        ins.local_get(6).br_table((0..m).collect::<Vec<_>>(), m);
                        ins.end();
                        for (j, f) in copies.iter().enumerate() {
                            ins.local_get(1)
                                .local_get(3)
                                .local_get(4)
                                .i32_const(payload.size as i32);
                            if let Some(instance) = checked {
                                intra(&mut ins, *instance);
                            }
                            ins.call(f.0).br(m - j as u32 - 1);
                            ins.end();
                        }
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
