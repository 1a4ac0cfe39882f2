//! The input's WIT world as the output's `component-type` custom section, which
//! `wit-component` reads to re-wrap the output into a component of the same type: decoded with
//! wit-component (its panics contained), root type exports turned into imports (a WIT world
//! cannot export a type), and checked to merge with the world of the guest core ABI.

use anyhow::Context as _;
use wasmtime_environ::component::StringEncoding;

use super::COMPONENT_TYPE_SECTION;
use crate::error::not_yet;

/// Encodes the component's WIT world as a `component-type` custom section.
pub(super) fn component_type(
    component: &[u8],
    encoding: StringEncoding,
) -> anyhow::Result<(String, Vec<u8>)> {
    let as_imports = type_exports_as_imports(component)?;
    // wit-parser's decoder panics on some valid components (an exported component type
    // holding an instance type with a resource): contain it.
    let decoded = crate::error::contain_panic("wit-parser's decoder", || {
        wit_component::decode(as_imports.as_deref().unwrap_or(component))
            .map_err(|err| not_yet(format!("component types that WIT cannot describe: {err:#}")))
    })?;
    let wit_component::DecodedWasm::Component(resolve, world) = decoded else {
        anyhow::bail!("input is a WIT package, not a component");
    };
    check_mergeable(&resolve, world)?;
    let encoding = match encoding {
        StringEncoding::Utf8 => wit_component::StringEncoding::UTF8,
        StringEncoding::Utf16 => wit_component::StringEncoding::UTF16,
        StringEncoding::CompactUtf16 => wit_component::StringEncoding::CompactUTF16,
    };
    let data = wit_component::metadata::encode(&resolve, world, encoding, None)
        .context("failed to encode the component's WIT world")?;
    Ok((COMPONENT_TYPE_SECTION.to_string(), data))
}

/// The component with every type that its root exports turned into an import of the same
/// name and bound (`(export "t" (type $t))` becomes `(import "t" (type (eq $t)))`), or `None`
/// when the root exports no type.
///
/// A WIT world cannot export a type; it imports the types its exported functions use, which is
/// how wit-component encodes them. Both forms add one type to the type index space at the same
/// position, so the rest of the component is copied unchanged. The re-wrapped component
/// therefore imports these types instead of exporting them; its functions are the same.
fn type_exports_as_imports(component: &[u8]) -> anyhow::Result<Option<Vec<u8>>> {
    use wasm_encoder::reencode::{ReencodeComponent as _, RoundtripReencoder};
    use wasm_encoder::{ComponentExportSection, ComponentImportSection, ComponentTypeRef};
    use wasmtime_environ::wasmparser::{self as wp, ComponentExternalKind, Payload};

    let mut out = wasm_encoder::Component::new();
    let mut changed = false;
    let mut depth = 0usize;
    for payload in wp::Parser::new(0).parse_all(component) {
        let payload = payload?;
        let top = depth == 0;
        match &payload {
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
            Payload::End(_) => {
                depth = depth.saturating_sub(1);
                continue;
            }
            _ => {}
        }
        if !top || matches!(payload, Payload::Version { .. }) {
            continue;
        }
        let Payload::ComponentExportSection(reader) = &payload else {
            if let Some((id, range)) = payload.as_section() {
                out.section(&wasm_encoder::RawSection {
                    id,
                    data: &component[range],
                });
            }
            continue;
        };
        // Consecutive exports of one kind stay together, in order.
        let mut exports = ComponentExportSection::new();
        let mut imports = ComponentImportSection::new();
        for export in reader.clone() {
            let export = export?;
            if export.kind == ComponentExternalKind::Type {
                if !exports.is_empty() {
                    out.section(&exports);
                    exports = ComponentExportSection::new();
                }
                let bounds = match export.ty {
                    Some(ty) => RoundtripReencoder
                        .component_type_ref(ty)
                        .map_err(|err| anyhow::anyhow!("{err}"))?,
                    None => ComponentTypeRef::Type(wasm_encoder::TypeBounds::Eq(export.index)),
                };
                imports.import(export.name, bounds);
                changed = true;
            } else {
                if !imports.is_empty() {
                    out.section(&imports);
                    imports = ComponentImportSection::new();
                }
                RoundtripReencoder
                    .parse_component_export(&mut exports, export)
                    .map_err(|err| anyhow::anyhow!("{err}"))?;
            }
        }
        if !imports.is_empty() {
            out.section(&imports);
        }
        if !exports.is_empty() {
            out.section(&exports);
        }
    }
    Ok(changed.then(|| out.finish()))
}

/// Fails with `not_yet` when wit-component could not take the world back in.
///
/// `ComponentEncoder` merges the embedded world into its own, copying world-level items; the
/// copy (wit-parser's `Cloner`) panics when a world-level function or type refers to a type of
/// an interface directly rather than through a world-level `use` alias. Components made by
/// wit-component never do (they import such a type at the root), but a hand-written one may:
/// its root function can use a type exported by an imported instance.
fn check_mergeable(
    resolve: &wit_parser::Resolve,
    world: wit_parser::WorldId,
) -> anyhow::Result<()> {
    use wit_parser::{TypeOwner, WorldItem, WorldKey};
    let w = &resolve.worlds[world];
    for (key, item) in w.imports.iter().chain(w.exports.iter()) {
        let WorldKey::Name(name) = key else { continue };
        let (owner, tys): (TypeOwner, Vec<wit_parser::Type>) = match item {
            WorldItem::Function(func) => (TypeOwner::World(world), func_types(func)),
            WorldItem::Type { id, .. } => {
                (TypeOwner::World(world), vec![wit_parser::Type::Id(*id)])
            }
            WorldItem::Interface { id, .. } => {
                let interface = &resolve.interfaces[*id];
                if interface.name.is_some() {
                    continue;
                }
                let types = interface.types.values().map(|id| wit_parser::Type::Id(*id));
                let funcs = interface.functions.values().flat_map(func_types);
                (TypeOwner::Interface(*id), types.chain(funcs).collect())
            }
        };
        let mut seen = hashbrown::HashSet::new();
        for ty in tys {
            if let Some(foreign) = foreign_type(resolve, owner, ty, &mut seen) {
                let ty_name = resolve.types[foreign]
                    .name
                    .as_deref()
                    .unwrap_or("<anonymous>");
                return Err(not_yet(format!(
                    "component types that WIT cannot describe: `{name}` uses type `{ty_name}` \
                     of an interface without importing it at the root"
                )));
            }
        }
    }
    Ok(())
}

/// The parameter and result types of `func`.
fn func_types(func: &wit_parser::Function) -> Vec<wit_parser::Type> {
    let params = func.params.iter().map(|p| p.ty);
    params.chain(func.result).collect()
}

/// Finds a type reachable from `ty` that wit-parser's `Cloner` would copy although it is not
/// owned by `owner` (see [`check_mergeable`]).
fn foreign_type(
    resolve: &wit_parser::Resolve,
    owner: wit_parser::TypeOwner,
    ty: wit_parser::Type,
    seen: &mut hashbrown::HashSet<wit_parser::TypeId>,
) -> Option<wit_parser::TypeId> {
    use wit_parser::{Handle, Type, TypeDefKind, TypeOwner};
    let Type::Id(id) = ty else { return None };
    if !seen.insert(id) {
        return None;
    }
    let def = &resolve.types[id];
    if def.owner != TypeOwner::None && def.owner != owner {
        return Some(id);
    }
    let mut walk = |ty: &Type| foreign_type(resolve, owner, *ty, seen);
    match &def.kind {
        // An alias of another owner's type is left as-is (a `use`).
        TypeDefKind::Type(Type::Id(target)) if resolve.types[*target].owner != owner => None,
        TypeDefKind::Type(ty)
        | TypeDefKind::Option(ty)
        | TypeDefKind::List(ty)
        | TypeDefKind::FixedLengthList(ty, _) => walk(ty),
        TypeDefKind::Handle(Handle::Own(target) | Handle::Borrow(target)) => {
            walk(&Type::Id(*target))
        }
        TypeDefKind::Map(k, v) => walk(k).or_else(|| walk(v)),
        TypeDefKind::Tuple(t) => t.types.iter().find_map(walk),
        TypeDefKind::Record(r) => r.fields.iter().find_map(|f| walk(&f.ty)),
        TypeDefKind::Variant(v) => v.cases.iter().filter_map(|c| c.ty.as_ref()).find_map(walk),
        TypeDefKind::Result(r) => r.ok.iter().chain(r.err.iter()).find_map(walk),
        TypeDefKind::Future(t) | TypeDefKind::Stream(t) => t.as_ref().and_then(walk),
        TypeDefKind::Resource
        | TypeDefKind::Flags(_)
        | TypeDefKind::Enum(_)
        | TypeDefKind::Unknown => None,
    }
}
