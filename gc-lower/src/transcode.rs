//! String transcoders in wasm: the `Trampoline::Transcoder` built-ins that FACT adapter modules
//! import to copy strings between two memories (wasmtime-environ `component::Transcode`).
//!
//! wasmtime implements them as host libcalls. The lowered module has no such host, so they are
//! written once in wasm (`transcode.wat`), over two memories: memory 0 is the source and memory
//! 1 the destination. For each transcoder the component needs, the template function and the
//! helpers it calls are specialized for that pair of memories: a native memory keeps its
//! instructions with the memory index renumbered, a reified memory's loads and stores become
//! calls of the bounds-checked helpers on the memory's box, reached through the owning
//! instance's vmctx global. Specializations are shared between transcoders over the same pair.

use std::sync::OnceLock;

use anyhow::{Context as _, Result, anyhow, bail};
use hashbrown::HashMap;
use runtime_structs::Helper;
use wasm_encoder as we;
use wasm_encoder::reencode::{self, Reencode, RoundtripReencoder};
use wasmtime_environ::component::Transcode;
use wasmtime_environ::wasmparser as wp;

use crate::fuse::{Lowerer, OutFunc, StateTarget};
use crate::rewrite::{Sink, load_kind, store_kind};

/// The template module, parsed once.
struct Template {
    /// Function types by type index: (params, results).
    types: Vec<(Vec<we::ValType>, Vec<we::ValType>)>,
    /// Type index of each function.
    funcs: Vec<u32>,
    /// Code of each function.
    bodies: Vec<wp::FunctionBody<'static>>,
    /// Exported function index by name (`Transcode::desc`).
    exports: HashMap<&'static str, u32>,
}

fn template() -> &'static Template {
    static TEMPLATE: OnceLock<Template> = OnceLock::new();
    TEMPLATE.get_or_init(|| parse_template().expect("transcode.wat is a valid template"))
}

fn parse_template() -> Result<Template> {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    let bytes: &'static [u8] = BYTES.get_or_init(|| {
        wat::parse_str(include_str!("transcode.wat")).expect("transcode.wat parses")
    });
    let mut template = Template {
        types: Vec::new(),
        funcs: Vec::new(),
        bodies: Vec::new(),
        exports: HashMap::new(),
    };
    let mut reencoder = RoundtripReencoder;
    for payload in wp::Parser::new(0).parse_all(bytes) {
        match payload? {
            wp::Payload::TypeSection(reader) => {
                for ty in reader.into_iter_err_on_gc_types() {
                    let ty = ty?;
                    let mut map = |tys: &[wp::ValType]| -> Result<Vec<we::ValType>> {
                        tys.iter()
                            .map(|t| reencoder.val_type(*t).map_err(|e| anyhow!("{e}")))
                            .collect()
                    };
                    template.types.push((map(ty.params())?, map(ty.results())?));
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
            _ => {}
        }
    }
    Ok(template)
}

/// Renumbers the two template memories to native output memories.
struct NativeMemories([Option<u32>; 2]);

impl Reencode for NativeMemories {
    type Error = &'static str;

    fn memory_index(&mut self, memory: u32) -> Result<u32, reencode::Error<Self::Error>> {
        self.0[memory as usize].ok_or(reencode::Error::UserError("reified memory"))
    }
}

impl Lowerer<'_, '_> {
    /// The output function implementing transcoder `op` from memory `from` to memory `to`,
    /// with the core type FACT imports it with (`fact::transcode::Transcoder::ty`, 32-bit).
    pub fn transcoder(
        &mut self,
        op: Transcode,
        from: StateTarget,
        to: StateTarget,
    ) -> Result<OutFunc> {
        let name = op.desc();
        let f = *template()
            .exports
            .get(name)
            .with_context(|| format!("internal: no transcoder `{name}`"))?;
        self.specialize_transcoder(f, [from, to])
    }

    fn specialize_transcoder(&mut self, f: u32, memories: [StateTarget; 2]) -> Result<OutFunc> {
        if let Some(out) = self.transcoders.get(&(f, memories)) {
            return Ok(*out);
        }
        let template = template();
        let mut native = NativeMemories([None; 2]);
        for (slot, memory) in native.0.iter_mut().zip(memories) {
            if let StateTarget::Native(index) = memory {
                *slot = Some(index);
            }
        }
        let body = &template.bodies[f as usize];
        let mut locals = Vec::new();
        for local in body.get_locals_reader()? {
            let (count, ty) = local?;
            locals.push((
                count,
                RoundtripReencoder
                    .val_type(ty)
                    .map_err(|e| anyhow!("{e}"))?,
            ));
        }
        let mut out = Sink::default();
        let mut reader = body.get_operators_reader()?;
        while !reader.eof() {
            let op = reader.read()?;
            if let wp::Operator::Call { function_index } = op {
                let callee = self.specialize_transcoder(function_index, memories)?;
                out.push(we::Instruction::Call(callee.0));
                continue;
            }
            let access = load_kind(&op)
                .map(|(kind, memarg)| (Helper::Load(kind), memarg))
                .or_else(|| store_kind(&op).map(|(kind, memarg)| (Helper::Store(kind), memarg)));
            if let Some((helper, memarg)) = access
                && let StateTarget::Boxed { instance, field } = memories[memarg.memory as usize]
            {
                // `(addr [value] membox offset) -> [value]`, as in reified modules.
                self.push_field(&mut out, instance, field);
                out.push(we::Instruction::I64Const(memarg.offset as i64));
                out.push(we::Instruction::Call(self.helper(helper).0));
                continue;
            }
            let ins = native.instruction(op.clone()).map_err(|e| match e {
                reencode::Error::UserError(what) => {
                    anyhow!("internal: transcoder instruction `{op:?}` on a {what}")
                }
                e => anyhow!("internal: transcoder instruction `{op:?}`: {e}"),
            })?;
            out.push(ins);
        }
        let (params, results) = &template.types[template.funcs[f as usize] as usize];
        let ty = self.func_type(params, results);
        let mut func = we::Function::new(locals);
        func.raw(out.0);
        let name = template
            .exports
            .iter()
            .find(|(_, index)| **index == f)
            .map_or_else(
                || format!("transcode:helper{f}"),
                |(name, _)| format!("transcode:{name}"),
            );
        let out = self.add_func(ty, name, func);
        self.transcoders.insert((f, memories), out);
        Ok(out)
    }
}

/// Fails unless every transcoder of `Transcode` has a template function.
pub fn check_template() -> Result<()> {
    use wasmtime_environ::component::FixedEncoding as E;
    let all = [
        Transcode::Copy(E::Utf8),
        Transcode::Copy(E::Utf16),
        Transcode::Copy(E::Latin1),
        Transcode::Latin1ToUtf16,
        Transcode::Latin1ToUtf8,
        Transcode::Utf16ToCompactProbablyUtf16,
        Transcode::Utf16ToCompactUtf16,
        Transcode::Utf16ToLatin1,
        Transcode::Utf16ToUtf8,
        Transcode::Utf8ToCompactUtf16,
        Transcode::Utf8ToLatin1,
        Transcode::Utf8ToUtf16,
    ];
    for op in all {
        if !template().exports.contains_key(op.desc()) {
            bail!("no transcoder `{}`", op.desc());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_validates_and_covers_every_transcoder() {
        let bytes = wat::parse_str(include_str!("transcode.wat")).expect("template parses");
        wp::Validator::new_with_features(wp::WasmFeatures::default())
            .validate_all(&bytes)
            .expect("template validates");
        check_template().expect("every transcoder is in the template");
    }
}
