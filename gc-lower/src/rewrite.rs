//! Rewrite: reencode the code of each static module, once.
//!
//! Unreified modules are only renumbered into the output's index spaces ([`crate::layout::Renumber`]).
//! In a reified module every function gets the vmctx as an extra, last parameter
//! (`(ref null $vmctx_M)`, local index `n` = number of original parameters; declared locals
//! move up by one), and every instruction that touches instance state goes through it:
//!
//! ```wat
//! ;; input (module instantiated twice)        ;; output
//! (i32.load offset=4 (local.get 0))          ;; bounds check against the size in a local,
//!                                            ;; then `array.get` of the word array in a
//!                                            ;; local (see `memory_access`)
//! (global.get $g)                            (struct.get $vmctx 3 (local.get $vmctx))
//! (call $f (local.get 0))                    (call $f (local.get 0) (local.get $vmctx))
//! (call_indirect (type $t) (local.get 1))    ;; closure = table element, checked non-null
//!                                            (call_indirect $closures (type $entry_t) ...
//!                                              (struct.get $closure 1 c) (struct.get $closure 0 c))
//! ```
//!
//! - loads and stores are emitted by [`crate::memory_access`]: inline, on the word array and
//!   the size that the function keeps in locals (or, with `MemoryAccess::Helper`, as calls to
//!   the helpers of `runtime-structs`);
//! - the other memory and table instructions call the runtime helpers of `runtime-structs`
//!   with the box from the vmctx pushed after the original operands;
//! - `memory.init` checks through a helper, makes the segment's bytes an array with
//!   `array.new_data` and writes them through another; `data.drop`
//!   zeroes the instance's segment length (in the vmctx's array of lengths), `elem.drop` nulls its materialized segment;
//! - globals are vmctx fields, or boxes when mutable and shared, or the output's own global
//!   when every instance imports the same one;
//! - `call_indirect` calls the closure's function, a slot of the output's closure table of
//!   entry thunks, with `call_indirect` at the entry type `(params.., anyref)` of the expected
//!   type, which mirrors that type's rec group (`crate::assemble`, "Function types"): the
//!   signature check fails (a trap, as in core wasm) exactly when the callee's type is not a
//!   subtype of the expected one; a null element traps when the closure is read; `ref.func`
//!   builds a closure. Through a static table (`crate::module_info::ModuleInfo::static_tables`)
//!   it is a plain `call_indirect` of the output table that stands for it, with the caller's
//!   vmctx as the last argument.
//!
//! Exception handling that names no tag (`try_table` with `catch_all`, `throw_ref`, as in
//! FACT's exception barrier) passes through. A reified module's tags carry the identity of
//! the instance that defines them, since tags are generative: `throw` and the `try_table`s
//! that catch them are rewritten by [`crate::exceptions`]'s rules. (The legacy instructions,
//! `try`, `catch`, `delegate`, `rethrow`, fail validation, which does not enable them.)
//!
//! Known imprecisions: some trap messages differ from core wasm: an access past a reified
//! memory or table traps in the array's own check (`out of bounds array access`) or in a
//! helper (`unreachable` in `gc-lower:i32.load`, …), a null or mistyped closure with `null
//! reference` or `cast failure` (the runner, `crate::wast`, reads them as the core traps they
//! stand for; an inline access's own bound check calls
//! `gc-lower:trap:out-of-bounds-memory-access`); SIMD
//! memory access is reported as unsupported (unreified modules keep it). Atomics on a native memory (an unreified
//! module's, or one every instance of a reified module reaches directly) pass through; on a
//! reified memory they are its plain accesses with core wasm's alignment checks
//! ([`crate::atomics`]): memories are never shared, so they are single-threaded.

use anyhow::{Context, Result, anyhow, bail};
use runtime_structs::{CLOSURE, Helper, TableKind, field};
use wasm_encoder as we;
use wasm_encoder::reencode::{self, Reencode};
use wasmtime_environ::StaticModuleIndex;
use wasmtime_environ::wasmparser as wp;

use crate::assemble::{Lowerer, ref_null, trap_reason};
use crate::atomics::{AtomicFuncs, atomic_access};
use crate::code::{Scratch, Sink, VmctxSource, load_kind, store_kind};
use crate::error::not_yet;
use crate::exceptions::{Blocks, Clause, Wrapped};
use crate::layout::Binding;
use crate::layout::slot;
use crate::layout::{
    FuncTarget, GlobalSlot, ImportedFunc, MemSlot, OutFunc, OutType, StateTarget, TabSlot, TagSlot,
};
use crate::memory_access::{InlineMemories, fast_store_kind, scan_body};
use crate::template::Template;

/// The vmctx field holding the data segment lengths, for an instruction that names a segment.
fn data_lengths(v: &crate::layout::Vmctx) -> Result<u32> {
    v.datas
        .ok_or_else(|| anyhow!("data segment instruction in a module without data segments"))
}

/// The memories that a memory instruction touches (none for other instructions).
fn memories_of(op: &wp::Operator<'_>) -> [Option<u32>; 2] {
    use wp::Operator as O;
    let memarg = load_kind(op)
        .map(|(_, m)| m)
        .or_else(|| store_kind(op).map(|(_, m)| m));
    if let Some(memarg) = memarg.or_else(|| atomic_access(op).map(|(_, m)| m)) {
        return [Some(memarg.memory), None];
    }
    match *op {
        O::MemorySize { mem }
        | O::MemoryGrow { mem }
        | O::MemoryFill { mem }
        | O::MemoryInit { mem, .. } => [Some(mem), None],
        O::MemoryCopy { dst_mem, src_mem } => [Some(dst_mem), Some(src_mem)],
        _ => [None, None],
    }
}

/// The context of one piece of code being rewritten.
pub struct CodeCx {
    /// The module.
    pub module: StaticModuleIndex,
    /// Where the vmctx comes from, for reified code.
    pub vmctx: Option<VmctxSource>,
    /// The instance, when the code runs for one known instance (instantiation routine).
    pub instance: Option<wasmtime_environ::component::RuntimeInstanceIndex>,
    /// Number of parameters of the original function (locals at or above move up by one).
    pub num_params: u32,
    /// Scratch locals.
    pub scratch: Scratch,
    /// The inline memory-access emitter of this function, when it loads from or stores to a
    /// reified memory and an inlining [`crate::memory_access::MemoryAccess`] is chosen.
    pub memories: Option<InlineMemories>,
    /// The vmctx fields this function reads into locals at entry (see
    /// [`crate::layout::Vmctx::fixed_reference`]): (field, local). `None` where no entry code
    /// can be added (constant expressions), so every read goes to the vmctx.
    pub fixed: Option<Vec<(u32, u32)>>,
    /// The blocks open in reified code, for the `try_table`s that catch tags
    /// ([`crate::exceptions`]).
    pub blocks: Blocks,
    /// Where the last label-opening instruction rewritten began, when blocks were added
    /// before it (a `try_table` that catches tags), for its label's name.
    pub label_at: Option<usize>,
}

impl CodeCx {
    /// Pushes field `field` of the vmctx `v`: from the local it was loaded into at entry when
    /// it never changes after instantiation, else from the vmctx.
    pub fn push_field(&mut self, out: &mut Sink, v: &crate::layout::Vmctx, field: u32) {
        if let Some(local) = self.fixed_local(v, field) {
            out.push(we::Instruction::LocalGet(local));
            return;
        }
        self.vmctx.expect("reified code has a vmctx").push(out);
        out.push(we::Instruction::StructGet {
            struct_type_index: v.ty.0,
            field_index: field,
        });
    }

    /// The local holding field `field` of `v`, loaded at entry, when the field never changes
    /// after instantiation and entry code can be added; allocated on first use.
    pub fn fixed_local(&mut self, v: &crate::layout::Vmctx, field: u32) -> Option<u32> {
        let fixed = self.fixed.as_mut()?;
        let ty = v.fixed_reference(field)?;
        if let Some((_, local)) = fixed.iter().find(|(f, _)| *f == field) {
            return Some(*local);
        }
        let local = self.scratch.fresh(ty);
        fixed.push((field, local));
        Some(local)
    }

    /// The entry code that loads the fixed fields into their locals.
    fn load_fixed(&self, vmctx_type: OutType) -> Sink {
        let mut out = Sink::default();
        for &(field, local) in self.fixed.iter().flatten() {
            self.vmctx.expect("reified code has a vmctx").push(&mut out);
            out.push(we::Instruction::StructGet {
                struct_type_index: vmctx_type.0,
                field_index: field,
            });
            out.push(we::Instruction::LocalSet(local));
        }
        out
    }
}

impl<'a, 'data> Lowerer<'a, 'data> {
    /// `array.new_elem $ty $e` (`(offset, n) -> array`) or, with `init`, `array.init_elem $ty
    /// $e` (`(array, dst, offset, n)`) in reified module `m`, whose element segment `e` is an
    /// array in its vmctx (null once dropped: no elements): a bounds check of the segment
    /// (`out of bounds table access`), after the destination's (`out of bounds array
    /// access`) and its null check for `init`, then `array.new_default` and `array.copy`
    /// from the segment's array, as wasmtime 48 orders them (`translate_array_new_entity`,
    /// `translate_entity_copy`).
    ///
    /// Errors: [`not_yet`] for an array type with immutable or non-nullable elements, which
    /// cannot be filled from the segment's array after it is made.
    fn array_from_elem(
        &mut self,
        cx: &mut CodeCx,
        out: &mut Sink,
        m: StaticModuleIndex,
        ty: u32,
        e: u32,
        init: bool,
    ) -> Result<()> {
        use we::Instruction as I;
        let fillable = match self.input.infos[m].types.get(ty as usize) {
            Some(wp::CompositeInnerType::Array(at)) => {
                at.0.mutable
                    && matches!(at.0.element_type, wp::StorageType::Val(wp::ValType::Ref(r)) if r.is_nullable())
            }
            _ => false,
        };
        if !fillable {
            return Err(not_yet(
                "`array.new_elem` into arrays of immutable or non-nullable elements in core \
                 modules whose state is reified",
            ));
        }
        let array_ty = slot(&self.layouts[m].types, "type", ty)?.0;
        let seg_ty = self.element_kind(m, e)?.array();
        let table_oob = self.trap_func(&trap_reason(wasmtime_environ::Trap::TableOutOfBounds));
        let array_oob = self.trap_func(&trap_reason(wasmtime_environ::Trap::ArrayOutOfBounds));
        let v = self.layouts[m]
            .vmctx
            .as_ref()
            .expect("reified module has a vmctx");
        let field = slot(&v.elems, "element segment", e)?;
        let i32_ = we::ValType::I32;
        let (n, off) = (cx.scratch.fresh(i32_), cx.scratch.fresh(i32_));
        let seg = cx.scratch.fresh(ref_null(crate::layout::OutType(seg_ty)));
        let array = cx.scratch.fresh(ref_null(crate::layout::OutType(array_ty)));
        out.push(I::LocalSet(n));
        out.push(I::LocalSet(off));
        let dst = if init {
            let dst = cx.scratch.fresh(i32_);
            out.push(I::LocalSet(dst));
            out.push(I::LocalSet(array));
            // `dst + n` past the array (a null array traps in `array.len`).
            out.extend([
                I::LocalGet(dst),
                I::I64ExtendI32U,
                I::LocalGet(n),
                I::I64ExtendI32U,
                I::I64Add,
                I::LocalGet(array),
                I::ArrayLen,
                I::I64ExtendI32U,
                I::I64GtU,
                I::If(we::BlockType::Empty),
                I::Call(array_oob.0),
                I::End,
            ]);
            Some(dst)
        } else {
            None
        };
        cx.push_field(out, v, field);
        out.push(I::LocalSet(seg));
        // `offset + n` past the segment (a dropped one has no elements).
        out.extend([
            I::LocalGet(off),
            I::I64ExtendI32U,
            I::LocalGet(n),
            I::I64ExtendI32U,
            I::I64Add,
            I::LocalGet(seg),
            I::RefIsNull,
            I::If(we::BlockType::Result(we::ValType::I32)),
            I::I32Const(0),
            I::Else,
            I::LocalGet(seg),
            I::ArrayLen,
            I::End,
            I::I64ExtendI32U,
            I::I64GtU,
            I::If(we::BlockType::Empty),
            I::Call(table_oob.0),
            I::End,
        ]);
        if !init {
            out.extend([
                I::LocalGet(n),
                I::ArrayNewDefault(array_ty),
                I::LocalSet(array),
            ]);
        }
        out.extend([
            I::LocalGet(n),
            I::If(we::BlockType::Empty),
            I::LocalGet(array),
            match dst {
                Some(d) => I::LocalGet(d),
                None => I::I32Const(0),
            },
            I::LocalGet(seg),
            I::LocalGet(off),
            I::LocalGet(n),
            I::ArrayCopy {
                array_type_index_dst: array_ty,
                array_type_index_src: seg_ty,
            },
            I::End,
        ]);
        if !init {
            out.extend([I::LocalGet(array), I::RefAsNonNull]);
        }
        Ok(())
    }

    /// The function a `memory.copy` calls when a side is a memory box, given each side as its
    /// native output memory, or `None` for a box: [`Helper::MemoryCopy`], `(d i32, s i32, n
    /// i32, dst-box, src-box)`, between two boxes; `memory_copy.wat`, `(d i32, s i32,
    /// n i32, box)`, between a box and a native memory. `None` when both sides are native (the
    /// instruction stays, renumbered). Like the helpers, these extend a box's word array only
    /// over the range copied. The caller pushes the boxes, destination first.
    pub fn memory_copy_func(
        &mut self,
        dst_native: Option<u32>,
        src_native: Option<u32>,
    ) -> Result<Option<OutFunc>> {
        Ok(Some(match (dst_native, src_native) {
            (None, None) => self.helper(Helper::MemoryCopy),
            (Some(x), None) => self.mixed_memory_copy(x, true)?,
            (None, Some(x)) => self.mixed_memory_copy(x, false)?,
            (Some(_), Some(_)) => return Ok(None),
        }))
    }

    /// `memory.copy` between native memory `native` and a memory box (`memory_copy.wat`):
    /// `(d i32, s i32, n i32, box (ref null $membox))`, copying `n` bytes from `s` to `d` where
    /// the destination is the native memory when `native_is_dst`, else the box.
    fn mixed_memory_copy(&mut self, native: u32, native_is_dst: bool) -> Result<OutFunc> {
        static TEMPLATE: std::sync::OnceLock<Template> = std::sync::OnceLock::new();
        let template = Template::cached(&TEMPLATE, "memory.copy", include_str!("memory_copy.wat"));
        let binding = Binding {
            memories: vec![StateTarget::Native(native)],
            types: vec![
                runtime_structs::WORDS,
                runtime_structs::MEMBOX,
                runtime_structs::SPARSE,
            ],
            imports: vec![self.helper(Helper::MemoryTouch)],
            globals: Vec::new(),
        };
        let f = template.export(if native_is_dst {
            "to-native"
        } else {
            "from-native"
        })?;
        self.template_func(template, &binding, f)
    }

    /// Encodes the bodies of every defined function of module `m`.
    pub fn rewrite_module(&mut self, m: StaticModuleIndex) -> Result<()> {
        let bodies = self.input.infos[m].bodies.clone();
        let nimp = self.input.infos[m].num_imported_funcs;
        for (i, body) in bodies.into_iter().enumerate() {
            let f = nimp + i as u32;
            let (encoded, labels) = self.rewrite_function(m, f, &body).map_err(|e| {
                e.context(format!(
                    "failed to rewrite function {f} of core module {}",
                    m.as_u32()
                ))
            })?;
            let slot = self.layouts[m].func_base + i as u32 - self.out.num_imported_funcs;
            self.out.funcs[slot as usize].body = Some(encoded);
            self.out.funcs[slot as usize].labels = labels;
        }
        Ok(())
    }

    /// Rewrites function `f` of module `m`: its encoded body, and its label names
    /// ([`crate::names::output_labels`]).
    fn rewrite_function(
        &mut self,
        m: StaticModuleIndex,
        f: u32,
        body: &wp::FunctionBody<'_>,
    ) -> Result<(we::Function, Vec<(u32, String)>)> {
        let reified = self.layouts[m].reified;
        let num_params = self.input.infos[m].func_type(f)?.params().len() as u32;
        let mut locals = Vec::new();
        let mut num_locals = num_params;
        for l in body.get_locals_reader()? {
            let (count, ty) = l?;
            let ty = self.renumber(m).val_type(ty).map_err(|e| match e {
                reencode::Error::UserError(what) => not_yet(format!(
                    "local of type `{}` in a reified module ({what})",
                    crate::module_info::type_text(ty)
                )),
                e => anyhow!("{e}"),
            })?;
            locals.push((count, ty));
            num_locals += count;
        }
        let vmctx = reified.then_some(VmctxSource::Local(num_params));
        let base = num_locals + u32::from(reified);
        let mut cx = CodeCx {
            module: m,
            vmctx,
            instance: None,
            num_params,
            scratch: Scratch::new(base),
            memories: None,
            fixed: reified.then(Vec::new),
            blocks: Blocks::default(),
            label_at: None,
        };
        let ops = body
            .get_operators_reader()?
            .into_iter()
            .collect::<Result<Vec<_>, _>>()?;
        let mut out = Sink::default();
        if reified && self.settings.memory_access.inlines() {
            let v = self.layouts[m]
                .vmctx
                .as_ref()
                .expect("reified module has a vmctx");
            let (access, limit) = (self.settings.memory_access, self.settings.inline_accesses);
            let scan = scan_body(&ops, access, limit, |m| {
                matches!(v.memories.get(m as usize), Some(MemSlot::Field(_)))
            })?;
            // The box of each memory accessed inline, loaded at entry.
            let boxes: Vec<_> = v
                .memories
                .iter()
                .enumerate()
                .map(|(i, slot)| match slot {
                    MemSlot::Field(f)
                        if scan.accessed.contains(&(i as u32))
                            || scan.fast_memories.contains(&(i as u32)) =>
                    {
                        cx.fixed_local(v, *f)
                    }
                    _ => None,
                })
                .collect();
            cx.memories = InlineMemories::new(&boxes, scan, &mut cx.scratch, || {
                (
                    self.helper(Helper::MemoryWhole),
                    self.trap_func(&crate::assemble::trap_reason(
                        wasmtime_environ::Trap::MemoryOutOfBounds,
                    )),
                )
            });
        }
        // Where the rewrite of each label-opening instruction went, when the input names
        // labels of this function.
        let label_names = self
            .input
            .names
            .get(&m)
            .and_then(|n| n.labels.get(&f))
            .cloned();
        let mut emitted = Vec::new();
        let mut i = 0usize;
        while i < ops.len() {
            if let Some(mems) = &mut cx.memories {
                mems.at(i);
                mems.load_before(i, &mut out);
            }
            if let Some(v) = cx.memories.as_ref().and_then(|mems| mems.versioned(i)) {
                // Two versions of the loop, the unchecked one first (`Versioned`); each is the
                // loop inside one more block, whose type is the loop's.
                if let Some(mems) = &cx.memories {
                    mems.push_exact(&mut out, &v.memories);
                    let aligned: Vec<u32> = v.aligned.iter().map(|&l| shift(&cx, l)).collect();
                    mems.push_aligned(&mut out, &aligned);
                }
                let we::Instruction::Loop(ty) = self.renumbered(m, &ops[i])? else {
                    bail!("internal error: a versioned loop does not start with `loop`");
                };
                out.push(we::Instruction::If(ty));
                // The `if` is one more block around the loop, which `escape_depth` counts in
                // the branches leaving it; `cx.blocks` counts it too, so that a `try_table`
                // around the loop tells its own label from the ones outside it.
                cx.blocks.open(None);
                for unchecked in [true, false] {
                    if let Some(mems) = &mut cx.memories {
                        mems.set_unchecked(unchecked);
                    }
                    let mut depth = 0;
                    for (k, op) in ops.iter().enumerate().take(v.end + 1).skip(i) {
                        let op = crate::memory_access::escape_depth(op, &mut depth);
                        if let Some(mems) = &mut cx.memories {
                            mems.at(k);
                        }
                        let start = out.0.len();
                        self.rewrite_op(&mut cx, &op, &mut out)?;
                        // Label names go to the first version.
                        let start = cx.label_at.take().unwrap_or(start);
                        if unchecked && label_names.is_some() && crate::names::opens_label(&op) {
                            emitted.push(start..out.0.len());
                        }
                    }
                    if unchecked {
                        out.push(we::Instruction::Else);
                    }
                }
                // The checked pass ran last: the emitter is back to checking.
                cx.blocks.close();
                out.push(we::Instruction::End);
                i = v.end + 1;
                continue;
            }
            let op = &ops[i];
            let start = out.0.len();
            self.rewrite_op(&mut cx, op, &mut out)?;
            let start = cx.label_at.take().unwrap_or(start);
            if label_names.is_some() && crate::names::opens_label(op) {
                emitted.push(start..out.0.len());
            }
            if let Some(mems) = &cx.memories
                && mems.reload_after(i)
            {
                mems.reload_if_live(&mut out);
            }
            i += 1;
        }
        locals.extend(cx.scratch.types().map(|t| (1, t)));
        let mut func = we::Function::new(locals);
        let prefix = match &self.layouts[m].vmctx {
            Some(v) => cx.load_fixed(v.ty).0,
            None => Vec::new(),
        };
        // Only a function with label names is read back (as one body: prefix, then code).
        let labels = match label_names {
            Some(names) => {
                let shift = prefix.len();
                let emitted: Vec<_> = emitted
                    .into_iter()
                    .map(|r| r.start + shift..r.end + shift)
                    .collect();
                let whole = [prefix.as_slice(), &out.0].concat();
                crate::names::output_labels(&names, &emitted, &whole)
            }
            None => Vec::new(),
        };
        func.raw(prefix);
        func.raw(out.0);
        Ok((func, labels))
    }

    fn renumbered<'o>(
        &self,
        m: StaticModuleIndex,
        op: &wp::Operator<'o>,
    ) -> Result<we::Instruction<'o>> {
        let ins = self
            .renumber(m)
            .instruction(op.clone())
            .map_err(|e| match e {
                reencode::Error::UserError(what) if self.layouts[m].reified => {
                    not_yet(format!("instruction `{op:?}` in a reified module ({what})"))
                }
                e => anyhow!("failed to renumber `{op:?}`: {e}"),
            })?;
        Ok(ins)
    }

    /// Rewrites one operator into `out`.
    pub fn rewrite_op(
        &mut self,
        cx: &mut CodeCx,
        op: &wp::Operator<'_>,
        out: &mut Sink,
    ) -> Result<()> {
        use we::Instruction as I;
        use wp::Operator as O;
        let m = cx.module;
        let Some(vmctx) = cx.vmctx else {
            // Unreified code: renumber, and bind calls to reified functions.
            match *op {
                O::Call { function_index } | O::ReturnCall { function_index } => {
                    let target = self.module_func(m, None, function_index)?;
                    let tail = matches!(op, O::ReturnCall { .. });
                    self.emit_call(out, target, tail);
                }
                O::RefFunc { function_index } => {
                    let target = self.module_func(m, None, function_index)?;
                    let f = self.plain_func(target)?;
                    self.out.declared.insert(f.0);
                    out.push(I::RefFunc(f.0));
                }
                _ => out.push(self.renumbered(m, op)?),
            }
            return Ok(());
        };
        if let Some(done) = self.rewrite_exception_op(cx, op, out)? {
            return done;
        }
        let shifted;
        let op = if cx.blocks.any_wrapped() {
            shifted = cx.blocks.shift(op);
            &shifted
        } else {
            op
        };
        let v = self.layouts[m]
            .vmctx
            .as_ref()
            .expect("reified module has a vmctx");
        let vty = v.ty;
        let touched = memories_of(op);
        for i in touched.iter().flatten() {
            slot(&v.memories, "memory", *i)?;
        }
        let native = |i: &u32| matches!(v.memories[*i as usize], MemSlot::Native(_));
        if touched[0].is_some() && touched.iter().flatten().all(native) {
            if matches!(op, O::MemoryInit { .. }) {
                return Err(not_yet(
                    "`memory.init` on an imported memory in a module instantiated more than once",
                ));
            }
            out.push(self.renumbered(m, op)?);
            return Ok(());
        }
        if let O::MemoryCopy { dst_mem, src_mem } = *op {
            // At least one side is boxed (both native returned above).
            let native = |i: u32| match v.memories[i as usize] {
                MemSlot::Native(x) => Some(x),
                MemSlot::Field(_) => None,
            };
            let (dst, src) = (native(dst_mem), native(src_mem));
            for i in [dst_mem, src_mem] {
                if let MemSlot::Field(field) = v.memories[i as usize] {
                    cx.push_field(out, v, field);
                }
            }
            let f = self
                .memory_copy_func(dst, src)?
                .context("internal error: a copy between native memories reached the boxed path")?;
            out.push(I::Call(f.0));
            return Ok(());
        }
        let mem_field = |i: u32| -> Result<u32> {
            match slot(&v.memories, "memory", i)? {
                MemSlot::Field(field) => Ok(field),
                MemSlot::Native(_) => {
                    bail!("internal error: native memory {i} reached the boxed path")
                }
            }
        };
        let tab_field = |i: u32| slot(&v.tables, "table", i)?.field();
        if let Some((kind, memarg)) = load_kind(op) {
            if let Some(mems) = cx.memories.as_ref().filter(|c| c.handles(memarg.memory)) {
                mems.load(out, kind, memarg);
                return Ok(());
            }
            if let Some(mems) = cx.memories.as_ref().filter(|c| c.fast(memarg.memory)) {
                let slow = self.helper(Helper::LoadPastBound(kind));
                mems.fast_load(out, kind, memarg, slow);
                return Ok(());
            }
            cx.push_field(out, v, mem_field(memarg.memory)?);
            out.push(I::I64Const(memarg.offset as i64));
            out.push(I::Call(self.helper(Helper::Load(kind)).0));
            return Ok(());
        }
        if let Some((kind, memarg)) = store_kind(op) {
            if let Some(mems) = cx.memories.as_ref().filter(|c| c.handles(memarg.memory)) {
                mems.store(out, kind, memarg);
                return Ok(());
            }
            if let Some(mems) = cx.memories.as_ref().filter(|c| c.fast(memarg.memory)) {
                let slow = self.helper(Helper::StorePastBound(fast_store_kind(kind)));
                mems.fast_store(out, kind, memarg, slow);
                return Ok(());
            }
            cx.push_field(out, v, mem_field(memarg.memory)?);
            out.push(I::I64Const(memarg.offset as i64));
            out.push(I::Call(self.helper(Helper::Store(kind)).0));
            return Ok(());
        }
        if let Some((atomic, memarg)) = atomic_access(op) {
            let mut push_box = Sink::default();
            cx.push_field(&mut push_box, v, mem_field(memarg.memory)?);
            let (load, store) = atomic.helpers();
            let (unaligned, out_of_bounds, wait) = atomic.traps();
            use wasmtime_environ::Trap;
            let mut trap =
                |needed: bool, trap: Trap| needed.then(|| self.trap_func(&trap_reason(trap)));
            let unaligned = trap(unaligned, Trap::HeapMisaligned);
            let out_of_bounds = trap(out_of_bounds, Trap::MemoryOutOfBounds);
            let wait_non_shared = trap(wait, Trap::AtomicWaitNonSharedMemory);
            let funcs = AtomicFuncs {
                load: load.map(|h| self.helper(h)),
                store: store.map(|h| self.helper(h)),
                unaligned,
                out_of_bounds,
                wait_non_shared,
            };
            crate::atomics::emit(out, atomic, memarg, &push_box, &funcs, &mut cx.scratch);
            return Ok(());
        }
        match *op {
            O::LocalGet { local_index } => out.push(I::LocalGet(shift(cx, local_index))),
            O::LocalSet { local_index } => out.push(I::LocalSet(shift(cx, local_index))),
            O::LocalTee { local_index } => out.push(I::LocalTee(shift(cx, local_index))),
            O::MemorySize { mem } => {
                cx.push_field(out, v, mem_field(mem)?);
                out.push(I::Call(self.helper(Helper::MemorySize).0));
            }
            O::MemoryGrow { mem } => {
                cx.push_field(out, v, mem_field(mem)?);
                out.push(I::Call(self.helper(Helper::MemoryGrow).0));
                reload(cx, out);
            }
            O::MemoryFill { mem } => {
                cx.push_field(out, v, mem_field(mem)?);
                out.push(I::Call(self.helper(Helper::MemoryFill).0));
            }
            O::MemoryInit { data_index, mem } => {
                cx.push_field(out, v, mem_field(mem)?);
                cx.push_field(out, v, data_lengths(v)?);
                out.push(I::I32Const(data_index as i32));
                out.push(I::ArrayGet(runtime_structs::HANDLES));
                out.push(I::Call(self.helper(Helper::MemoryInitCheck).0));
                out.push(I::ArrayNewData {
                    array_type_index: runtime_structs::BYTES,
                    array_data_index: self.layouts[m].data_base + data_index,
                });
                out.push(I::Call(self.helper(Helper::MemoryInitWrite).0));
            }
            O::DataDrop { data_index } => {
                cx.push_field(out, v, data_lengths(v)?);
                out.push(I::I32Const(data_index as i32));
                out.push(I::I32Const(0));
                out.push(I::ArraySet(runtime_structs::HANDLES));
            }
            O::TableGet { table } => {
                let kind = self.table_kind(m, table)?;
                cx.push_field(out, v, tab_field(table)?);
                out.push(I::Call(self.helper(Helper::TableGet(kind)).0));
            }
            O::TableSet { table } => {
                let kind = self.table_kind(m, table)?;
                cx.push_field(out, v, tab_field(table)?);
                out.push(I::Call(self.helper(Helper::TableSet(kind)).0));
            }
            O::TableSize { table } => match slot(&v.tables, "table", table)? {
                TabSlot::Static(x) => out.push(I::TableSize(x)),
                TabSlot::Field(f) => {
                    let kind = self.table_kind(m, table)?;
                    cx.push_field(out, v, f);
                    out.push(I::Call(self.helper(Helper::TableSize(kind)).0));
                }
            },
            O::TableGrow { table } => {
                let kind = self.table_kind(m, table)?;
                cx.push_field(out, v, tab_field(table)?);
                out.push(I::Call(self.helper(Helper::TableGrow(kind)).0));
            }
            O::TableFill { table } => {
                let kind = self.table_kind(m, table)?;
                cx.push_field(out, v, tab_field(table)?);
                out.push(I::Call(self.helper(Helper::TableFill(kind)).0));
            }
            O::TableCopy {
                dst_table,
                src_table,
            } => {
                // Validation makes the source's element type a subtype of the destination's:
                // between distinct kinds, a helper that copies from one array type into the
                // other.
                let helper = Helper::table_copy(
                    self.table_kind(m, dst_table)?,
                    self.table_kind(m, src_table)?,
                );
                cx.push_field(out, v, tab_field(dst_table)?);
                cx.push_field(out, v, tab_field(src_table)?);
                out.push(I::Call(self.helper(helper).0));
            }
            O::ArrayNewElem {
                array_type_index,
                array_elem_index,
            } => {
                self.array_from_elem(cx, out, m, array_type_index, array_elem_index, false)?;
            }
            O::ArrayInitElem {
                array_type_index,
                array_elem_index,
            } => {
                self.array_from_elem(cx, out, m, array_type_index, array_elem_index, true)?;
            }
            O::TableInit { elem_index, table } => {
                let helper = Helper::table_init(
                    self.table_kind(m, table)?,
                    self.element_kind(m, elem_index)?,
                );
                cx.push_field(out, v, tab_field(table)?);
                cx.push_field(out, v, slot(&v.elems, "element segment", elem_index)?);
                out.push(I::Call(self.helper(helper).0));
            }
            O::ElemDrop { elem_index } => {
                let kind = self.element_kind(m, elem_index)?;
                vmctx.push(out);
                out.push(I::RefNull(we::HeapType::Concrete(kind.array())));
                out.push(I::StructSet {
                    struct_type_index: vty.0,
                    field_index: slot(&v.elems, "element segment", elem_index)?,
                });
            }
            O::GlobalGet { global_index } => match slot(&v.globals, "global", global_index)? {
                GlobalSlot::Static(g) => out.push(I::GlobalGet(g.0)),
                GlobalSlot::Value(f) => cx.push_field(out, v, f),
                GlobalSlot::Boxed { field: f, box_ty } => {
                    cx.push_field(out, v, f);
                    out.push(I::StructGet {
                        struct_type_index: box_ty.0,
                        field_index: field::BOX_VALUE,
                    });
                }
            },
            O::GlobalSet { global_index } => {
                let global_slot = slot(&v.globals, "global", global_index)?;
                let ty = self.reified_global_type(
                    m,
                    &slot(&self.input.infos[m].globals, "global", global_index)?,
                )?;
                match global_slot {
                    GlobalSlot::Static(g) => out.push(I::GlobalSet(g.0)),
                    GlobalSlot::Value(f) => {
                        let tmp = cx.scratch.get(ty);
                        out.push(I::LocalSet(tmp));
                        vmctx.push(out);
                        out.push(I::LocalGet(tmp));
                        out.push(I::StructSet {
                            struct_type_index: vty.0,
                            field_index: f,
                        });
                    }
                    GlobalSlot::Boxed { field: f, box_ty } => {
                        let tmp = cx.scratch.get(ty);
                        out.push(I::LocalSet(tmp));
                        cx.push_field(out, v, f);
                        out.push(I::LocalGet(tmp));
                        out.push(I::StructSet {
                            struct_type_index: box_ty.0,
                            field_index: field::BOX_VALUE,
                        });
                    }
                }
            }
            O::Call { function_index } | O::ReturnCall { function_index } => {
                let tail = matches!(op, O::ReturnCall { .. });
                let nimp = self.input.infos[m].num_imported_funcs;
                if function_index >= nimp {
                    let func = OutFunc(self.layouts[m].func_base + function_index - nimp);
                    vmctx.push(out);
                    out.push(if tail {
                        I::ReturnCall(func.0)
                    } else {
                        I::Call(func.0)
                    });
                } else {
                    match slot(&v.imported_funcs, "imported function", function_index)? {
                        ImportedFunc::Static(target) => self.emit_call(out, target, tail),
                        ImportedFunc::Dynamic(f) => {
                            let ty = slot(&self.input.infos[m].funcs, "function", function_index)?;
                            cx.push_field(out, v, f);
                            self.emit_closure_call(cx, out, m, ty, tail)?;
                        }
                    }
                }
                if !tail {
                    reload(cx, out);
                }
            }
            O::CallIndirect {
                type_index,
                table_index,
            }
            | O::ReturnCallIndirect {
                type_index,
                table_index,
            } => {
                let tail = matches!(op, O::ReturnCallIndirect { .. });
                if let TabSlot::Field(f) = slot(&v.tables, "table", table_index)?
                    && let kind = self.table_kind(m, table_index)?
                    && kind != TableKind::Func
                {
                    // Only a table of `nullfuncref` (`nullref` here) is of another kind: its
                    // elements are null, so the call traps, past its bounds as `table.get`
                    // does, else as a call of a null element.
                    if let we::ValType::Ref(we::RefType {
                        heap_type:
                            we::HeapType::Abstract {
                                ty: we::AbstractHeapType::None,
                                ..
                            },
                        ..
                    }) = kind.elem()
                    {
                        cx.push_field(out, v, f);
                        out.push(I::Call(self.helper(Helper::TableGet(kind)).0));
                        out.push(I::Drop);
                        let trap = trap_reason(wasmtime_environ::Trap::IndirectCallToNull);
                        out.push(I::Call(self.trap_func(&trap).0));
                        out.push(I::Unreachable);
                        return Ok(());
                    }
                    return Err(not_yet(format!(
                        "`call_indirect` through a table of `{}` in a reified module",
                        crate::module_info::type_text(wp::ValType::Ref(
                            self.input.infos[m].table_type(table_index)?
                        ))
                    )));
                }
                if let TabSlot::Static(table) = slot(&v.tables, "table", table_index)? {
                    // The table holds this module's functions, each to be called with the
                    // caller's own vmctx (see `ModuleInfo::static_tables`), in types that
                    // mirror the module's: `call_indirect` checks the index, null and
                    // signature as core wasm does.
                    let entry = self.static_call_type(m, type_index)?;
                    let index = cx.scratch.get(we::ValType::I32);
                    out.push(I::LocalSet(index));
                    vmctx.push(out);
                    out.push(I::LocalGet(index));
                    out.push(call_indirect(entry, table, tail));
                    if !tail {
                        reload(cx, out);
                    }
                    return Ok(());
                }
                if self.settings.memory_access.inlines() {
                    // The element, inline: the array is exactly the table's size, so
                    // `array.get` traps where `call_indirect` does, and a null element traps
                    // when the closure is read.
                    let index = cx.scratch.get(we::ValType::I32);
                    out.push(I::LocalSet(index));
                    cx.push_field(out, v, tab_field(table_index)?);
                    out.push(I::StructGet {
                        struct_type_index: runtime_structs::TABLEBOX,
                        field_index: field::TABLEBOX_ELEMS,
                    });
                    out.push(I::LocalGet(index));
                    out.push(I::ArrayGet(runtime_structs::FUNCS));
                } else {
                    cx.push_field(out, v, tab_field(table_index)?);
                    out.push(I::Call(self.helper(Helper::TableGetForCall).0));
                }
                self.emit_closure_call(cx, out, m, type_index, tail)?;
                if !tail {
                    reload(cx, out);
                }
            }
            O::RefFunc { function_index } => {
                let nimp = self.input.infos[m].num_imported_funcs;
                if function_index >= nimp {
                    let func = OutFunc(self.layouts[m].func_base + function_index - nimp);
                    let instance = self.input.graph.instances_of[m][0];
                    let target = FuncTarget::Reified { func, instance };
                    let slot = self.closure_slot(target)?;
                    let mut make = Sink::default();
                    make.push(I::I32Const(slot as i32));
                    vmctx.push(&mut make);
                    make.push(I::StructNew(CLOSURE));
                    if self.input.graph.instances_of[m].len() == 1 {
                        // One instance, so one vmctx: the closure is made once.
                        self.cached_closure(out, target, make);
                    } else {
                        out.0.extend(make.0);
                    }
                } else {
                    match slot(&v.imported_funcs, "imported function", function_index)? {
                        // Every instance of this module imports the same function of an
                        // instance made before it: one closure serves them all.
                        ImportedFunc::Static(target) => {
                            let mut make = Sink::default();
                            self.emit_closure(&mut make, target)?;
                            self.cached_closure(out, target, make);
                        }
                        // The field is set at instantiation; `ref.func` is non-null.
                        ImportedFunc::Dynamic(f) => {
                            cx.push_field(out, v, f);
                            out.push(I::RefAsNonNull);
                        }
                    }
                }
            }
            // A typed function reference is a closure: called as `call_indirect` calls one,
            // whose signature check cannot fail here (validation typed the reference), and
            // null traps where the closure is read.
            O::CallRef { type_index } | O::ReturnCallRef { type_index } => {
                let tail = matches!(op, O::ReturnCallRef { .. });
                self.emit_closure_call(cx, out, m, type_index, tail)?;
                if !tail {
                    reload(cx, out);
                }
            }
            O::RefTestNonNull { hty } | O::RefTestNullable { hty }
                if self.func_type_of_heap(m, hty).is_some() =>
            {
                let t = self.func_type_of_heap(m, hty).expect("a function type");
                let nullable = matches!(op, O::RefTestNullable { .. });
                self.emit_closure_test(cx, out, m, t, nullable)?;
            }
            O::RefCastNonNull { hty } | O::RefCastNullable { hty }
                if self.func_type_of_heap(m, hty).is_some() =>
            {
                let t = self.func_type_of_heap(m, hty).expect("a function type");
                let nullable = matches!(op, O::RefCastNullable { .. });
                // The test leaves the closure in its scratch local.
                let c = cx.scratch.get(ref_null(OutType(CLOSURE)));
                self.emit_closure_test(cx, out, m, t, nullable)?;
                out.push(I::I32Eqz);
                out.push(I::If(we::BlockType::Empty));
                let trap = self.trap_func(&trap_reason(wasmtime_environ::Trap::CastFailure));
                out.push(I::Call(trap.0));
                out.push(I::End);
                out.push(I::LocalGet(c));
                if !nullable {
                    out.push(I::RefAsNonNull);
                }
            }
            O::BrOnCast {
                relative_depth,
                from_ref_type,
                to_ref_type,
            }
            | O::BrOnCastFail {
                relative_depth,
                from_ref_type,
                to_ref_type,
            } if self.func_type_of_heap(m, to_ref_type.heap_type()).is_some() => {
                let t = self
                    .func_type_of_heap(m, to_ref_type.heap_type())
                    .expect("a function type");
                let on_success = matches!(op, O::BrOnCast { .. });
                self.emit_closure_branch(
                    cx,
                    out,
                    (m, t),
                    relative_depth,
                    on_success,
                    (from_ref_type.is_nullable(), to_ref_type.is_nullable()),
                )?;
            }
            _ => out.push(self.renumbered(m, op)?),
        }
        Ok(())
    }

    /// Emits a direct call of `target` (arguments on the stack).
    pub fn emit_call(&self, out: &mut Sink, target: FuncTarget, tail: bool) {
        use we::Instruction as I;
        let func = match target {
            FuncTarget::Plain(f) => f,
            FuncTarget::Reified { func, instance } => {
                self.push_instance_vmctx(out, instance);
                func
            }
        };
        out.push(if tail {
            I::ReturnCall(func.0)
        } else {
            I::Call(func.0)
        });
    }

    /// Rewrites what exception handling in reified code changes ([`crate::exceptions`]):
    /// block structure (tracked in `cx.blocks`), `throw`, `try_table`, `br_table` inside a
    /// wrapped `try_table`, and the legacy instructions (rejected).
    /// `None` when `op` is left to the rest of [`Self::rewrite_op`] (after it opened a block).
    fn rewrite_exception_op(
        &mut self,
        cx: &mut CodeCx,
        op: &wp::Operator<'_>,
        out: &mut Sink,
    ) -> Result<Option<Result<()>>> {
        use we::Instruction as I;
        use wp::Operator as O;
        let m = cx.module;
        let slots = || {
            self.layouts[m]
                .vmctx
                .as_ref()
                .map(|v| v.tags.clone())
                .unwrap_or_default()
        };
        let slot = |tags: &[TagSlot], t: u32| {
            tags.get(t as usize)
                .copied()
                .ok_or_else(|| anyhow!("tag {t} out of range"))
        };
        match op {
            O::Block { .. } | O::Loop { .. } | O::If { .. } => cx.blocks.open(None),
            O::Try { .. }
            | O::Catch { .. }
            | O::CatchAll
            | O::Delegate { .. }
            | O::Rethrow { .. } => {
                return Err(not_yet(
                    "legacy exception handling (`try`, `catch`, `delegate`, `rethrow`) in a \
                     module instantiated more than once (a reified module)",
                ));
            }
            O::End => {
                if let Some(wrapped) = cx.blocks.close() {
                    self.close_try(cx, out, &wrapped);
                    return Ok(Some(Ok(())));
                }
            }
            O::Throw { tag_index } => {
                let s = slot(&slots(), *tag_index)?;
                self.push_identity(cx, out, s);
                out.push(I::Throw(s.tag()));
                return Ok(Some(Ok(())));
            }
            O::BrTable { targets } if cx.blocks.any_wrapped() => {
                let (list, default) = cx.blocks.shift_table(targets)?;
                out.push(I::BrTable(list.into(), default));
                return Ok(Some(Ok(())));
            }
            O::TryTable { .. } => {
                let O::TryTable { try_table } = cx.blocks.shift(op) else {
                    unreachable!("shift keeps the operator")
                };
                let tags = slots();
                let clauses = try_table
                    .catches
                    .iter()
                    .map(|c| {
                        Ok(match *c {
                            wp::Catch::One { tag, label } => Clause::Tag {
                                slot: slot(&tags, tag)?,
                                with_ref: false,
                                label,
                            },
                            wp::Catch::OneRef { tag, label } => Clause::Tag {
                                slot: slot(&tags, tag)?,
                                with_ref: true,
                                label,
                            },
                            wp::Catch::All { label } => Clause::All { label },
                            wp::Catch::AllRef { label } => Clause::AllRef { label },
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                if !clauses.iter().any(|c| matches!(c, Clause::Tag { .. })) {
                    cx.blocks.open(None);
                    out.push(self.renumbered(m, &O::TryTable { try_table })?);
                    return Ok(Some(Ok(())));
                }
                let I::Block(ty) = self.renumbered(
                    m,
                    &O::Block {
                        blockty: try_table.ty,
                    },
                )?
                else {
                    bail!("internal error: a block renumbered to another instruction");
                };
                let wrapped = self.open_try(cx, out, ty, clauses);
                cx.blocks.open(Some(wrapped));
                return Ok(Some(Ok(())));
            }
            _ => {}
        }
        Ok(None)
    }

    /// Opens a `try_table` of block type `ty` with `clauses`, in blocks that its handlers end
    /// ([`crate::exceptions`]): the block the normal exit leaves through, then one per output
    /// tag its clauses catch (the first such clause's innermost), each receiving what the
    /// output tag carries and the `exnref`. A tag clause after another of the same output tag
    /// is left out of the `try_table` (the engine would never reach it): the first one's
    /// handler checks it. [`Self::close_try`] emits the `end`.
    fn open_try(
        &mut self,
        cx: &mut CodeCx,
        out: &mut Sink,
        ty: we::BlockType,
        clauses: Vec<Clause>,
    ) -> Wrapped {
        use we::Instruction as I;
        let params = match ty {
            we::BlockType::FunctionType(t) => self.func_type_of(OutType(t)).0,
            _ => Vec::new(),
        };
        let wrapped = Wrapped { clauses };
        let starts = wrapped.handler_starts();
        out.push(I::Block(ty));
        for &j in starts.iter().rev() {
            let Clause::Tag { slot, .. } = wrapped.clauses[j] else {
                unreachable!("a handler starts at a tag clause")
            };
            let mut caught = self.tag_params(slot);
            caught.push(we::ValType::EXNREF);
            let block = self.func_type(&params, &caught);
            out.push(I::Block(we::BlockType::FunctionType(block.0)));
        }
        let wrappers = wrapped.wrappers();
        let catches: Vec<we::Catch> = (0..)
            .zip(&wrapped.clauses)
            .filter_map(|(j, c)| match *c {
                Clause::Tag { slot, .. } => {
                    let handler = starts.iter().position(|&s| s == j)?;
                    Some(we::Catch::OneRef {
                        tag: slot.tag(),
                        label: handler as u32,
                    })
                }
                Clause::All { label } => Some(we::Catch::All {
                    label: label + wrappers,
                }),
                Clause::AllRef { label } => Some(we::Catch::AllRef {
                    label: label + wrappers,
                }),
            })
            .collect();
        cx.label_at = Some(out.0.len());
        out.push(I::TryTable(ty, catches.into()));
        wrapped
    }

    /// Emits the `end` of a `try_table` opened by [`Self::open_try`]: the normal exit past the
    /// handlers, then each handler, which goes through the clauses from its own on, in order,
    /// as the engine would have: a clause of its output tag whose identity is the exception's
    /// takes it (to the clause's label, with the `exnref` for `catch_ref`), a `catch_all` or
    /// `catch_all_ref` takes it, and when none does, `throw_ref` passes the exception on.
    /// Linear in the clauses, whatever their number.
    fn close_try(&mut self, cx: &mut CodeCx, out: &mut Sink, wrapped: &Wrapped) {
        use we::Instruction as I;
        let starts = wrapped.handler_starts();
        let n = starts.len() as u32;
        out.push(I::End);
        out.push(I::Br(n));
        for (i, &j) in (0..).zip(&starts) {
            out.push(I::End);
            // Inside the blocks of the handlers after this one and the exit's.
            let depth = n - i;
            let Clause::Tag { slot: first, .. } = wrapped.clauses[j] else {
                unreachable!("a handler starts at a tag clause")
            };
            // [params.., identity, exnref], each into a local: each clause's branch pushes
            // them again (a `br_if` would leave its label's types on the stack, which may be
            // wider than the next clause's label takes).
            let exn = cx.scratch.get(we::ValType::EXNREF);
            let identity = cx.scratch.get(crate::assemble::ref_null_eq());
            out.push(I::LocalSet(exn));
            out.push(I::LocalSet(identity));
            let mut params = self.tag_params(first);
            params.pop();
            let values: Vec<u32> = params.iter().map(|&t| cx.scratch.fresh(t)).collect();
            for &l in values.iter().rev() {
                out.push(I::LocalSet(l));
            }
            let mut taken = false;
            for c in &wrapped.clauses[j..] {
                match *c {
                    Clause::Tag {
                        slot,
                        with_ref,
                        label,
                    } if slot.tag() == first.tag() => {
                        out.push(I::LocalGet(identity));
                        self.push_identity(cx, out, slot);
                        out.push(I::RefEq);
                        out.push(I::If(we::BlockType::Empty));
                        for &l in &values {
                            out.push(I::LocalGet(l));
                        }
                        if with_ref {
                            out.push(I::LocalGet(exn));
                            out.push(I::RefAsNonNull);
                        }
                        // One more block: the `if`.
                        out.push(I::Br(label + depth + 1));
                        out.push(I::End);
                    }
                    Clause::Tag { .. } => {}
                    Clause::All { label } => {
                        out.push(I::Br(label + depth));
                        taken = true;
                        break;
                    }
                    Clause::AllRef { label } => {
                        out.push(I::LocalGet(exn));
                        out.push(I::RefAsNonNull);
                        out.push(I::Br(label + depth));
                        taken = true;
                        break;
                    }
                }
            }
            if !taken {
                out.push(I::LocalGet(exn));
                out.push(I::ThrowRef);
            }
        }
        out.push(I::End);
    }

    /// The parameters of tag `slot`'s output tag: the tag's own, then the identity.
    fn tag_params(&self, slot: TagSlot) -> Vec<we::ValType> {
        let ty = self.out.tags[slot.tag() as usize].func_type_idx;
        self.func_type_of(OutType(ty)).0
    }

    /// Pushes the identity of tag `slot` in the instance whose code this is.
    fn push_identity(&self, cx: &mut CodeCx, out: &mut Sink, slot: TagSlot) {
        match slot {
            TagSlot::Own { .. } => cx.vmctx.expect("reified code has a vmctx").push(out),
            TagSlot::Field { field, .. } => {
                let v = self.layouts[cx.module]
                    .vmctx
                    .as_ref()
                    .expect("reified module has a vmctx");
                cx.push_field(out, v, field);
            }
        }
    }

    /// Calls the closure on top of the stack (below it: the arguments) with the entry type of
    /// module type `ty`.
    fn emit_closure_call(
        &mut self,
        cx: &mut CodeCx,
        out: &mut Sink,
        m: StaticModuleIndex,
        ty: u32,
        tail: bool,
    ) -> Result<()> {
        use we::Instruction as I;
        let entry = self.entry_type(m, ty)?;
        let tmp = cx.scratch.get(ref_null(OutType(CLOSURE)));
        out.push(I::LocalTee(tmp));
        out.push(I::StructGet {
            struct_type_index: CLOSURE,
            field_index: field::CLOSURE_CTX,
        });
        out.push(I::LocalGet(tmp));
        out.push(I::StructGet {
            struct_type_index: CLOSURE,
            field_index: field::CLOSURE_FUNC,
        });
        // `call_indirect`'s signature check is the cast's: it fails exactly when the thunk's
        // type is not a subtype of the entry type.
        let (table, _) = self.closure_table();
        out.push(call_indirect(entry, table, tail));
        Ok(())
    }

    /// Module `m`'s function type that `hty` names, if it names one (a typed function
    /// reference's heap type).
    fn func_type_of_heap(&self, m: StaticModuleIndex, hty: wp::HeapType) -> Option<u32> {
        let wp::HeapType::Concrete(i) = hty else {
            return None;
        };
        let i = i.as_module_index()?;
        matches!(
            self.input.infos[m].types.get(i as usize),
            Some(wp::CompositeInnerType::Func(_))
        )
        .then_some(i)
    }

    /// `(ref null $closure) -> i32`: whether the closure's function is of module `m`'s
    /// function type `t` or a subtype (`ref.test` of its entry thunk, from the closure table,
    /// against `t`'s entry type: what `call_indirect` checks); a null closure passes when
    /// `nullable`. Leaves the closure in the shared scratch local of `(ref null $closure)`.
    fn emit_closure_test(
        &mut self,
        cx: &mut CodeCx,
        out: &mut Sink,
        m: StaticModuleIndex,
        t: u32,
        nullable: bool,
    ) -> Result<()> {
        use we::Instruction as I;
        let entry = self.entry_type(m, t)?;
        let (table, _) = self.closure_table();
        let c = cx.scratch.get(ref_null(OutType(CLOSURE)));
        out.push(I::LocalTee(c));
        out.push(I::RefIsNull);
        out.push(I::If(we::BlockType::Result(we::ValType::I32)));
        out.push(I::I32Const(i32::from(nullable)));
        out.push(I::Else);
        out.push(I::LocalGet(c));
        out.push(I::StructGet {
            struct_type_index: CLOSURE,
            field_index: field::CLOSURE_FUNC,
        });
        out.push(I::TableGet(table));
        out.push(I::RefTestNonNull(we::HeapType::Concrete(entry.0)));
        out.push(I::End);
        Ok(())
    }

    /// `br_on_cast` (`on_success`) or `br_on_cast_fail` to module `m`'s function type `t`, of a
    /// closure (on the stack, above the label's other values) whose static type's nullability
    /// is `nullable.0`, to a type whose is `nullable.1`. Branches to `depth` with the types the
    /// input has there, and leaves what it leaves: `br_on_cast` branches with the target type
    /// and goes on with the source's less the target's (non-null when the target is nullable),
    /// `br_on_cast_fail` the other way around. No block is opened around the branch, which
    /// must reach the label's values under the reference:
    ///
    /// - when the branch carries a non-null reference whatever the source (`br_on_cast` to a
    ///   non-null type, `br_on_cast_fail` to a nullable one), the closure or null, as the test
    ///   says, then `br_on_non_null`;
    /// - otherwise the closure, the test, then `br_if`; the closure that stays is non-null (a
    ///   null one takes the branch).
    fn emit_closure_branch(
        &mut self,
        cx: &mut CodeCx,
        out: &mut Sink,
        (m, t): (StaticModuleIndex, u32),
        depth: u32,
        on_success: bool,
        (source_nullable, target_nullable): (bool, bool),
    ) -> Result<()> {
        use we::Instruction as I;
        let c = cx.scratch.get(ref_null(OutType(CLOSURE)));
        out.push(I::LocalSet(c));
        // Whether the branch happens exactly for non-null closures that pass (`br_on_cast` to
        // a non-null type) or fail (`br_on_cast_fail` to a nullable one) the test.
        if on_success != target_nullable {
            out.push(I::LocalGet(c));
            self.emit_closure_test(cx, out, m, t, target_nullable)?;
            out.push(I::If(we::BlockType::Result(ref_null(OutType(CLOSURE)))));
            if on_success {
                out.push(I::LocalGet(c));
            } else {
                out.push(I::RefNull(we::HeapType::Concrete(CLOSURE)));
            }
            out.push(I::Else);
            if on_success {
                out.push(I::RefNull(we::HeapType::Concrete(CLOSURE)));
            } else {
                out.push(I::LocalGet(c));
            }
            out.push(I::End);
            out.push(I::BrOnNonNull(depth));
            // What goes on: the source's type less a non-null target (`br_on_cast`), or the
            // nullable target (`br_on_cast_fail`).
            out.push(I::LocalGet(c));
            if on_success && !source_nullable {
                out.push(I::RefAsNonNull);
            }
        } else {
            // The branch carries the source's nullability (`br_on_cast_fail` to a non-null
            // type) or the nullable target's (`br_on_cast` to a nullable type): the closure as
            // it is, non-null when the source is.
            out.push(I::LocalGet(c));
            if !source_nullable {
                out.push(I::RefAsNonNull);
            }
            out.push(I::LocalGet(c));
            self.emit_closure_test(cx, out, m, t, target_nullable)?;
            if !on_success {
                out.push(I::I32Eqz);
            }
            out.push(I::BrIf(depth));
            // Not taken: the closure passed a non-null test (`br_on_cast_fail`) or failed a
            // nullable one (`br_on_cast`), so it is not null.
            out.push(I::RefAsNonNull);
        }
        Ok(())
    }

    /// Rewrites a constant expression of reified module `m` for instance `instance`, whose
    /// vmctx comes from `vmctx` (the local of the instance's constructor).
    pub fn reified_const_expr(
        &mut self,
        m: StaticModuleIndex,
        instance: wasmtime_environ::component::RuntimeInstanceIndex,
        vmctx: VmctxSource,
        e: &wp::ConstExpr<'_>,
        out: &mut Sink,
    ) -> Result<()> {
        let mut reader = e.get_operators_reader();
        let mut cx = CodeCx {
            module: m,
            vmctx: Some(vmctx),
            instance: Some(instance),
            num_params: u32::MAX,
            scratch: Scratch::new(u32::MAX),
            memories: None,
            fixed: None,
            blocks: Blocks::default(),
            label_at: None,
        };
        while !reader.eof() {
            let op = reader.read()?;
            match op {
                wp::Operator::End => {}
                wp::Operator::RefFunc { function_index } => {
                    let target = self.module_func(m, Some(instance), function_index)?;
                    self.emit_closure(out, target)?;
                }
                wp::Operator::GlobalGet { .. } => self.rewrite_op(&mut cx, &op, out)?,
                op => out.push(self.renumbered(m, &op)?),
            }
        }
        if !cx.scratch.is_empty() {
            bail!("internal: constant expression needed a scratch local");
        }
        Ok(())
    }
}

/// `call_indirect` (or `return_call_indirect` when `tail`) of output type `ty` through output
/// table `table`.
fn call_indirect(ty: OutType, table: u32, tail: bool) -> we::Instruction<'static> {
    let (type_index, table_index) = (ty.0, table);
    if tail {
        we::Instruction::ReturnCallIndirect {
            type_index,
            table_index,
        }
    } else {
        we::Instruction::CallIndirect {
            type_index,
            table_index,
        }
    }
}

/// Reloads the inline emitter's cached memories after something that may have replaced their
/// arrays or changed their sizes: a call or `memory.grow`.
fn reload(cx: &CodeCx, out: &mut Sink) {
    if let Some(mems) = &cx.memories {
        mems.reload_if_live(out);
    }
}

fn shift(cx: &CodeCx, local: u32) -> u32 {
    if local >= cx.num_params {
        local + 1
    } else {
        local
    }
}
