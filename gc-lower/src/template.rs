//! Wasm templates: built-ins written once in `.wat` and specialized into the output.
//!
//! Some built-ins that wasmtime implements in the host (string transcoders, resource handle
//! tables) are written in wasm here, as small template modules. A template is parsed once; each
//! use *binds* its free parts to the output and copies the functions it needs:
//!
//! - template memory `i` becomes [`Binding::memories`]`[i]`: a native memory keeps its
//!   instructions with the index renumbered; the loads and stores of a reified memory become
//!   calls of the bounds-checked runtime helpers on the box, reached through the owning
//!   instance's vmctx global, and its `memory.copy` the runtime's (`array.copy` between two
//!   boxes). They are not emitted inline, as a reified module's loops are: an inline loop first
//!   extends the array to the whole memory, and a transcoder that did so would make every
//!   string crossing allocate its memories whole (and trap on V8 past 1 GiB); a memory that
//!   the module-graph form's trampolines module reaches late ([`StateTarget::Late`]) has its
//!   loads, stores and `memory.copy` as calls of the accessor instance's functions;
//! - the template's struct and array types (declared first, in the order of
//!   [`Binding::types`]) become those runtime-structs types; function types are interned;
//! - imported functions become [`Binding::imports`], globals [`Binding::globals`];
//! - calls between template functions call the specialization of the callee under the same
//!   binding;
//! - a function exported as `trap:{reason}` (its body `unreachable`) is
//!   [`Lowerer::trap_func`]`(reason)`, so that a trap in a template names its reason in the
//!   backtrace.
//!
//! Specializations are memoized per (template, binding key, function).

use anyhow::{Context as _, Result, anyhow, bail};
use hashbrown::HashMap;
use runtime_structs::Helper;
use wasm_encoder as we;
use wasm_encoder::reencode::{self, Reencode};
use wasmtime_environ::wasmparser as wp;

use crate::assemble::Lowerer;
use crate::code::{Sink, load_kind, store_kind};
use crate::layout::{Binding, OutFunc, OutType, StateTarget};

/// A parsed template module.
pub struct Template {
    /// Template name, for function names in the output.
    pub name: &'static str,
    /// The composite type of each type index.
    types: Vec<wp::CompositeInnerType>,
    /// Type index of each function, imports first.
    funcs: Vec<u32>,
    /// Number of imported functions.
    num_imported_funcs: u32,
    /// Code of each defined function.
    bodies: Vec<wp::FunctionBody<'static>>,
    /// Exported function index by name.
    exports: HashMap<&'static str, u32>,
}

impl Template {
    /// The template in `cell`, parsed from `wat` (named `name`) on first use. Templates are
    /// part of gc-lower's source (`include_str!` of a `.wat` file beside their user), so one
    /// that does not parse is a bug that every test using it shows, and panics.
    pub fn cached(
        cell: &'static std::sync::OnceLock<Template>,
        name: &'static str,
        wat: &'static str,
    ) -> &'static Template {
        cell.get_or_init(|| {
            Template::parse(name, wat)
                .unwrap_or_else(|e| panic!("template `{name}` is not a valid template: {e:#}"))
        })
    }

    /// Parses template `wat`; `name` is used in messages and output function names.
    ///
    /// Errors: the template does not parse or uses something templates cannot (a table, a
    /// start function, data or element segments).
    pub fn parse(name: &'static str, wat: &'static str) -> Result<Template> {
        let bytes: &'static [u8] = Box::leak(
            wat::parse_str(wat)
                .with_context(|| format!("template `{name}` does not parse"))?
                .into_boxed_slice(),
        );
        let mut template = Template {
            name,
            types: Vec::new(),
            funcs: Vec::new(),
            num_imported_funcs: 0,
            bodies: Vec::new(),
            exports: HashMap::new(),
        };
        for payload in wp::Parser::new(0).parse_all(bytes) {
            match payload? {
                wp::Payload::TypeSection(reader) => {
                    for group in reader {
                        for ty in group?.into_types() {
                            template.types.push(ty.composite_type.inner);
                        }
                    }
                }
                wp::Payload::ImportSection(reader) => {
                    for import in reader.into_imports() {
                        match import?.ty {
                            wp::TypeRef::Func(ty) => {
                                template.funcs.push(ty);
                                template.num_imported_funcs += 1;
                            }
                            wp::TypeRef::Global(_) => {}
                            other => bail!("template `{name}` imports {other:?}"),
                        }
                    }
                }
                wp::Payload::FunctionSection(reader) => {
                    for f in reader {
                        template.funcs.push(f?);
                    }
                }
                wp::Payload::CodeSectionEntry(body) => template.bodies.push(body),
                wp::Payload::ExportSection(reader) => {
                    for export in reader {
                        let export = export?;
                        template.exports.insert(export.name, export.index);
                    }
                }
                wp::Payload::TableSection(_)
                | wp::Payload::StartSection { .. }
                | wp::Payload::ElementSection(_)
                | wp::Payload::DataSection(_)
                | wp::Payload::GlobalSection(_) => {
                    bail!(
                        "template `{name}` may only declare types, imports, memories and functions"
                    )
                }
                _ => {}
            }
        }
        Ok(template)
    }

    /// The index of exported function `name`.
    pub fn export(&self, name: &str) -> Result<u32> {
        self.exports
            .get(name)
            .copied()
            .with_context(|| format!("internal: template `{}` exports no `{name}`", self.name))
    }

    fn export_name(&self, f: u32) -> Option<&'static str> {
        self.exports
            .iter()
            .find(|(_, index)| **index == f)
            .map(|(name, _)| *name)
    }
}

/// Renumbers what a template body refers to, except calls and reified memory accesses.
struct Remap<'b> {
    binding: &'b Binding,
    /// Output type of each template type index.
    types: Vec<u32>,
}

impl Reencode for Remap<'_> {
    type Error = &'static str;

    fn memory_index(&mut self, memory: u32) -> Result<u32, reencode::Error<Self::Error>> {
        match self.binding.memories.get(memory as usize) {
            Some(StateTarget::Native(index)) => Ok(*index),
            _ => Err(reencode::Error::UserError("reified memory")),
        }
    }

    fn type_index(&mut self, ty: u32) -> Result<u32, reencode::Error<Self::Error>> {
        self.types
            .get(ty as usize)
            .copied()
            .ok_or(reencode::Error::UserError("type"))
    }

    fn global_index(&mut self, global: u32) -> Result<u32, reencode::Error<Self::Error>> {
        self.binding
            .globals
            .get(global as usize)
            .copied()
            .ok_or(reencode::Error::UserError("global"))
    }
}

impl Lowerer<'_, '_> {
    /// The output function for function `f` of `template` under `binding`.
    pub fn template_func(
        &mut self,
        template: &'static Template,
        binding: &Binding,
        f: u32,
    ) -> Result<OutFunc> {
        // A template function exported as `trap:{reason}` is the trap function of that reason,
        // shared by every template and trampoline.
        if let Some(reason) = template
            .export_name(f)
            .and_then(|name| name.strip_prefix("trap:"))
        {
            return Ok(self.trap_func(reason));
        }
        let memo = (template.name, binding.clone(), f);
        if let Some(out) = self.made.template_funcs.get(&memo) {
            return Ok(*out);
        }
        if f < template.num_imported_funcs {
            return binding
                .imports
                .get(f as usize)
                .copied()
                .with_context(|| format!("internal: template import {f} is unbound"));
        }
        let types = self.template_types(template, binding)?;
        let mut remap = Remap { binding, types };
        let body = &template.bodies[(f - template.num_imported_funcs) as usize];
        let mut locals = Vec::new();
        for local in body.get_locals_reader()? {
            let (count, ty) = local?;
            locals.push((count, remap.val_type(ty).map_err(|e| anyhow!("{e}"))?));
        }
        let mut out = Sink::default();
        let mut reader = body.get_operators_reader()?;
        while !reader.eof() {
            let op = reader.read()?;
            if let wp::Operator::Call { function_index } = op {
                let callee = self.template_func(template, binding, function_index)?;
                out.push(we::Instruction::Call(callee.0));
                continue;
            }
            if let wp::Operator::MemoryCopy { dst_mem, src_mem } = op {
                let late = |m: u32| match binding.memories.get(m as usize) {
                    Some(StateTarget::Late(x)) => Some(*x),
                    _ => None,
                };
                match (late(dst_mem), late(src_mem)) {
                    (Some(dst), Some(src)) => {
                        out.push(we::Instruction::Call(self.late_copy(dst, src).0));
                        continue;
                    }
                    (None, None) => {}
                    _ => bail!("internal: `memory.copy` between a late memory and another"),
                }
                // Each side as its native memory (`Some`) or a box (`None`), when bound.
                let side = |m: u32| match binding.memories.get(m as usize)? {
                    StateTarget::Native(x) => Some(Some(*x)),
                    StateTarget::Boxed { .. } => Some(None),
                    StateTarget::Late(_) => None,
                };
                // As in reified modules; between native memories, the instruction as it is.
                if let (Some(dst), Some(src)) = (side(dst_mem), side(src_mem))
                    && let Some(call) = self.memory_copy_func(dst, src)?
                {
                    for m in [dst_mem, src_mem] {
                        if let Some(StateTarget::Boxed { instance, field }) =
                            binding.memories.get(m as usize).copied()
                        {
                            self.push_field(&mut out, instance, field);
                        }
                    }
                    out.push(we::Instruction::Call(call.0));
                    continue;
                }
            }
            let access = load_kind(&op)
                .map(|(kind, memarg)| (Helper::Load(kind), memarg))
                .or_else(|| store_kind(&op).map(|(kind, memarg)| (Helper::Store(kind), memarg)));
            if let Some((helper, memarg)) = access
                && let Some(StateTarget::Late(m)) = binding.memories.get(memarg.memory as usize)
            {
                // `(addr [value] offset) -> [value]`, through the accessor instance.
                out.push(we::Instruction::I64Const(memarg.offset as i64));
                out.push(we::Instruction::Call(self.late_access(*m, helper)?.0));
                continue;
            }
            if let Some((helper, memarg)) = access
                && let Some(StateTarget::Boxed { instance, field }) =
                    binding.memories.get(memarg.memory as usize).copied()
            {
                // `(addr [value] membox offset) -> [value]`, as in reified modules.
                self.push_field(&mut out, instance, field);
                out.push(we::Instruction::I64Const(memarg.offset as i64));
                out.push(we::Instruction::Call(self.helper(helper).0));
                continue;
            }
            let ins = remap.instruction(op.clone()).map_err(|e| {
                anyhow!(
                    "internal: template `{}` instruction `{op:?}`: {e}",
                    template.name
                )
            })?;
            out.push(ins);
        }
        let ty = remap.types[template.funcs[f as usize] as usize];
        let mut func = we::Function::new(locals);
        func.raw(out.0);
        let name = match template.export_name(f) {
            Some(export) => format!("{}:{export}", template.name),
            None => format!("{}:func{f}", template.name),
        };
        let out = self.add_func(OutType(ty), name, func);
        self.made.template_funcs.insert(memo, out);
        Ok(out)
    }

    /// The output type of every template type: the bound struct and array types first, then
    /// the interned function types.
    fn template_types(&mut self, template: &Template, binding: &Binding) -> Result<Vec<u32>> {
        let mut types = Vec::with_capacity(template.types.len());
        for (i, ty) in template.types.iter().enumerate() {
            match ty {
                wp::CompositeInnerType::Func(_) => types.push(u32::MAX),
                _ => types.push(*binding.types.get(i).with_context(|| {
                    format!("internal: template `{}` type {i} is unbound", template.name)
                })?),
            }
        }
        for (i, ty) in template.types.iter().enumerate() {
            if let wp::CompositeInnerType::Func(ft) = ty {
                let mut remap = Remap {
                    binding,
                    types: types.clone(),
                };
                let mut map = |tys: &[wp::ValType]| -> Result<Vec<we::ValType>> {
                    tys.iter()
                        .map(|t| remap.val_type(*t).map_err(|e| anyhow!("{e}")))
                        .collect()
                };
                let (params, results) = (map(ft.params())?, map(ft.results())?);
                types[i] = self.func_type(&params, &results).0;
            }
        }
        Ok(types)
    }
}
