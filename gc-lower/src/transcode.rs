//! String transcoders in wasm: the `Trampoline::Transcoder` built-ins that FACT adapter modules
//! import to copy strings between two memories (wasmtime-environ `component::Transcode`).
//!
//! wasmtime implements them as host libcalls. The lowered module has no such host, so they are
//! written once in wasm (`transcode.wat`, a [`Template`]) over two memories: memory 0 is the
//! source and memory 1 the destination. Each transcoder the component needs is the template's
//! function specialized for its pair of memories (native or reified); specializations are
//! shared between transcoders over the same pair.

use std::sync::OnceLock;

use anyhow::{Result, bail};
use wasmtime_environ::component::Transcode;

use crate::assemble::Lowerer;
use crate::layout::Binding;
use crate::layout::{OutFunc, StateTarget};
use crate::template::Template;

/// The transcoder template, parsed once.
fn template() -> &'static Template {
    static TEMPLATE: OnceLock<Template> = OnceLock::new();
    Template::cached(&TEMPLATE, "transcode", include_str!("transcode.wat"))
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
        let template = template();
        let f = template.export(op.desc())?;
        let binding = Binding {
            memories: vec![from, to],
            types: Vec::new(),
            imports: Vec::new(),
            globals: Vec::new(),
        };
        self.template_func(template, &binding, f)
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
        if template().export(op.desc()).is_err() {
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
        use wasmtime_environ::wasmparser as wp;
        wp::Validator::new_with_features(wp::WasmFeatures::default())
            .validate_all(&bytes)
            .expect("template validates");
        check_template().expect("every transcoder is in the template");
    }
}
