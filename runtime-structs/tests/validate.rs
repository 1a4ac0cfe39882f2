//! The helpers validate on their own, after exactly the rec group, with the features the output
//! of gc-lower uses, and they are self-contained: no globals, tables, memories or function
//! references, and no calls but a load's or store's call of its slow path.

use runtime_structs::{NUM_TYPES, all_helpers, helper, rec_group};
use wasm_encoder::{CodeSection, FunctionSection, Module, NameMap, NameSection, TypeSection};
use wasmparser::{Operator, Parser, Payload, Validator, WasmFeatures};

fn helpers_module() -> Vec<u8> {
    let mut types = TypeSection::new();
    types.ty().rec(rec_group());
    let mut functions = FunctionSection::new();
    let mut code = CodeSection::new();
    let mut names = NameMap::new();
    let helpers = all_helpers();
    let index_of = |callee| helpers.iter().position(|&h| h == callee).unwrap() as u32;
    for (index, &h) in helpers.iter().enumerate() {
        let f = helper(h, index_of);
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
    let helpers = all_helpers();
    let module = helpers_module();
    let bodies = Parser::new(0).parse_all(&module).filter_map(|payload| {
        match payload.expect("parse helpers module") {
            Payload::CodeSectionEntry(body) => Some(body),
            _ => None,
        }
    });
    let mut calls = 0;
    for (h, body) in helpers.iter().zip(bodies) {
        let mut reader = body.get_operators_reader().expect("operators");
        while !reader.eof() {
            let op = reader.read().expect("operator");
            if let Operator::Call { function_index } = op {
                let callee = h
                    .callee()
                    .unwrap_or_else(|| panic!("{h:?} calls a function"));
                assert_eq!(helpers[function_index as usize], callee, "{h:?}'s call");
                assert_eq!(callee.callee(), None, "a slow path calls nothing");
                calls += 1;
                continue;
            }
            assert!(
                !matches!(
                    op,
                    Operator::ReturnCall { .. }
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
    assert!(calls > 0, "loads and stores call their slow paths");
}

#[test]
fn names_are_distinct() {
    let mut names: Vec<String> = all_helpers()
        .into_iter()
        .map(|h| helper(h, |_| 0).name)
        .collect();
    assert!(names.iter().all(|n| n.starts_with("gc-lower:")));
    assert!(names.contains(&"gc-lower:i32.load8_u".to_string()));
    let len = names.len();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), len);
}
