//! The helpers validate on their own, after exactly the rec group, with the features the output
//! of gc-lower uses, and they are self-contained: no calls, globals, tables, memories or
//! function references.

use runtime_structs::{NUM_TYPES, all_helpers, helper, rec_group};
use wasm_encoder::{CodeSection, FunctionSection, Module, NameMap, NameSection, TypeSection};
use wasmparser::{Operator, Parser, Payload, Validator, WasmFeatures};

fn helpers_module() -> Vec<u8> {
    let mut types = TypeSection::new();
    types.ty().rec(rec_group());
    let mut functions = FunctionSection::new();
    let mut code = CodeSection::new();
    let mut names = NameMap::new();
    for (index, h) in all_helpers().into_iter().enumerate() {
        let f = helper(h);
        types.ty().func_type(&f.func_type());
        functions.function(NUM_TYPES + index as u32);
        code.function(&f.body);
        names.append(index as u32, &f.name);
    }
    let mut name_section = NameSection::new();
    name_section.functions(&names);
    let mut module = Module::new();
    module
        .section(&types)
        .section(&functions)
        .section(&code)
        .section(&name_section);
    module.finish()
}

#[test]
fn helpers_validate() {
    let features = WasmFeatures::MVP
        | WasmFeatures::GC
        | WasmFeatures::REFERENCE_TYPES
        | WasmFeatures::MULTI_VALUE
        | WasmFeatures::BULK_MEMORY
        // Non-nullable references (`(ref $bytes)`) need it besides GC.
        | WasmFeatures::FUNCTION_REFERENCES;
    let bytes = helpers_module();
    if let Err(e) = Validator::new_with_features(features).validate_all(&bytes) {
        panic!("helpers do not validate: {e}");
    }
}

#[test]
fn helpers_are_self_contained() {
    for payload in Parser::new(0).parse_all(&helpers_module()) {
        let Payload::CodeSectionEntry(body) = payload.expect("parse helpers module") else {
            continue;
        };
        let mut reader = body.get_operators_reader().expect("operators");
        while !reader.eof() {
            let op = reader.read().expect("operator");
            assert!(
                !matches!(
                    op,
                    Operator::Call { .. }
                        | Operator::ReturnCall { .. }
                        | Operator::CallIndirect { .. }
                        | Operator::ReturnCallIndirect { .. }
                        | Operator::CallRef { .. }
                        | Operator::ReturnCallRef { .. }
                        | Operator::RefFunc { .. }
                        | Operator::GlobalGet { .. }
                        | Operator::GlobalSet { .. }
                        | Operator::TableGet { .. }
                        | Operator::TableSet { .. }
                        | Operator::MemorySize { .. }
                        | Operator::I32Load { .. }
                ),
                "helper uses {op:?}"
            );
        }
    }
}

#[test]
fn names_are_distinct() {
    let mut names: Vec<String> = all_helpers().into_iter().map(|h| helper(h).name).collect();
    assert!(names.iter().all(|n| n.starts_with("gc-lower:")));
    assert!(names.contains(&"gc-lower:i32.load8_u".to_string()));
    let len = names.len();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), len);
}
