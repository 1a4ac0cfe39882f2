//! Differential tests of the helpers: the same operations on a native linear memory/table
//! module and on a Wasm GC module that holds a membox/tablebox in a global and calls the helpers,
//! run in wasmtime with the same arguments; results and trap/no-trap outcomes must agree, and so
//! must the memories' and tables' contents afterwards.
//!
//! Both modules export the same wrappers (see [`Op`]), one per instruction, memory/table and
//! static offset. Every trap on the GC side must be `unreachable` (the helpers check before they
//! touch anything).

use std::collections::HashMap;
use std::sync::OnceLock;

use runtime_structs::{
    ARRAY_GRANULE, BYTES, CLOSURE, FUNCS, Helper, LoadKind, MEMBOX, NUM_TYPES, PAGE_SIZE,
    StoreKind, TableKind, WORDS, all_helpers, field, helper, ref_null,
};
use wasm_encoder::{
    CodeSection, ConstExpr, DataCountSection, DataSection, ElementSection, Elements, ExportKind,
    ExportSection, FunctionSection, GlobalSection, GlobalType, HeapType, MemArg, MemorySection,
    MemoryType, Module, RefType, StartSection, TableSection, TableType, TypeSection, ValType,
};
use wasmtime::{
    Collector, Config, Engine, Func, Instance, Store, StoreLimits, StoreLimitsBuilder, Trap, Val,
};

/// Memory 0: 1 page, at most 3. Memory 1: 2 pages, no maximum.
const MEMS: [(u32, Option<u32>); 2] = [(1, Some(3)), (2, None)];
/// Table 0: 3 elements, at most 6. Table 1: 2 elements, no maximum.
const TABLES: [(u32, Option<u32>); 2] = [(3, Some(6)), (2, None)];
/// Static memarg offsets the wrappers use.
const OFFSETS: [u32; 4] = [0, 3, 65535, 0xffff_ffff];
/// Functions `f0..f3` return `100 + k`; the source table/segment holds them and a null (id 4).
const NUM_IDS: u32 = 5;

fn data_segments() -> [Vec<u8>; 2] {
    [
        (0..37u32).map(|i| (i * 7 + 1) as u8).collect(),
        (0..300u32).map(|i| (i * 13 + 5) as u8).collect(),
    ]
}

/// One exported wrapper, identical in name and signature in both modules.
#[derive(Clone, Copy, Debug)]
enum Op {
    Load(LoadKind, u32, u32),
    Store(StoreKind, u32, u32),
    Size(u32),
    Grow(u32),
    Fill(u32),
    Copy(u32, u32),
    Init(u32, u32),
    DataDrop(u32),
    Hash(u32),
    TGet(u32),
    TCall(u32),
    TSet(u32),
    TSize(u32),
    TGrow(u32),
    TFill(u32),
    TCopy(u32, u32),
    TInit(u32),
    ElemDrop,
}

fn ops() -> Vec<Op> {
    let mut ops = Vec::new();
    for m in 0..2 {
        for o in 0..OFFSETS.len() as u32 {
            ops.extend(LoadKind::ALL.map(|k| Op::Load(k, m, o)));
            ops.extend(StoreKind::ALL.map(|k| Op::Store(k, m, o)));
        }
        ops.extend([Op::Size(m), Op::Grow(m), Op::Fill(m), Op::Hash(m)]);
        ops.extend([Op::Copy(m, 0), Op::Copy(m, 1)]);
        ops.extend([Op::Init(m, 0), Op::Init(m, 1), Op::DataDrop(m)]);
    }
    for t in 0..2 {
        ops.extend([
            Op::TGet(t),
            Op::TCall(t),
            Op::TSet(t),
            Op::TSize(t),
            Op::TGrow(t),
            Op::TFill(t),
            Op::TInit(t),
            Op::TCopy(t, 0),
            Op::TCopy(t, 1),
        ]);
    }
    ops.push(Op::ElemDrop);
    ops
}

impl Op {
    fn name(self) -> String {
        match self {
            Op::Load(k, m, o) => format!("{}.m{m}.o{o}", k.name()),
            Op::Store(k, m, o) => format!("{}.m{m}.o{o}", k.name()),
            Op::Size(m) => format!("size{m}"),
            Op::Grow(m) => format!("grow{m}"),
            Op::Fill(m) => format!("fill{m}"),
            Op::Copy(d, s) => format!("copy{d}{s}"),
            Op::Init(m, seg) => format!("init{m}.{seg}"),
            // `DataDrop(x)` drops data segment `x`.
            Op::DataDrop(seg) => format!("data_drop{seg}"),
            Op::Hash(m) => format!("hash{m}"),
            Op::TGet(t) => format!("tget{t}"),
            Op::TCall(t) => format!("tcall{t}"),
            Op::TSet(t) => format!("tset{t}"),
            Op::TSize(t) => format!("tsize{t}"),
            Op::TGrow(t) => format!("tgrow{t}"),
            Op::TFill(t) => format!("tfill{t}"),
            Op::TCopy(d, s) => format!("tcopy{d}{s}"),
            Op::TInit(t) => format!("tinit{t}"),
            Op::ElemDrop => "elem_drop".to_string(),
        }
    }

    fn sig(self) -> (Vec<ValType>, Vec<ValType>) {
        use ValType::{I32, I64};
        match self {
            Op::Load(k, ..) => (vec![I32], vec![k.value_type()]),
            Op::Store(k, ..) => (vec![I32, k.value_type()], vec![]),
            Op::Size(_) | Op::TSize(_) => (vec![], vec![I32]),
            Op::Grow(_) | Op::TGet(_) | Op::TCall(_) => (vec![I32], vec![I32]),
            Op::Fill(_) | Op::Copy(..) | Op::Init(..) | Op::TFill(_) | Op::TCopy(..) => {
                (vec![I32, I32, I32], vec![])
            }
            Op::TInit(_) => (vec![I32, I32, I32], vec![]),
            Op::DataDrop(_) | Op::ElemDrop => (vec![], vec![]),
            Op::Hash(_) => (vec![], vec![I64]),
            Op::TSet(_) => (vec![I32, I32], vec![]),
            Op::TGrow(_) => (vec![I32, I32], vec![I32]),
        }
    }
}

fn memarg(offset: u32, width: u32, memory_index: u32) -> MemArg {
    MemArg {
        offset: u64::from(offset),
        align: width.trailing_zeros(),
        memory_index,
    }
}

fn native_load(s: &mut wasm_encoder::InstructionSink<'_>, k: LoadKind, m: MemArg) {
    match k {
        LoadKind::I32Load => {
            s.i32_load(m);
        }
        LoadKind::I64Load => {
            s.i64_load(m);
        }
        LoadKind::F32Load => {
            s.f32_load(m);
        }
        LoadKind::F64Load => {
            s.f64_load(m);
        }
        LoadKind::I32Load8S => {
            s.i32_load8_s(m);
        }
        LoadKind::I32Load8U => {
            s.i32_load8_u(m);
        }
        LoadKind::I32Load16S => {
            s.i32_load16_s(m);
        }
        LoadKind::I32Load16U => {
            s.i32_load16_u(m);
        }
        LoadKind::I64Load8S => {
            s.i64_load8_s(m);
        }
        LoadKind::I64Load8U => {
            s.i64_load8_u(m);
        }
        LoadKind::I64Load16S => {
            s.i64_load16_s(m);
        }
        LoadKind::I64Load16U => {
            s.i64_load16_u(m);
        }
        LoadKind::I64Load32S => {
            s.i64_load32_s(m);
        }
        LoadKind::I64Load32U => {
            s.i64_load32_u(m);
        }
    }
}

fn native_store(s: &mut wasm_encoder::InstructionSink<'_>, k: StoreKind, m: MemArg) {
    match k {
        StoreKind::I32Store => {
            s.i32_store(m);
        }
        StoreKind::I64Store => {
            s.i64_store(m);
        }
        StoreKind::F32Store => {
            s.f32_store(m);
        }
        StoreKind::F64Store => {
            s.f64_store(m);
        }
        StoreKind::I32Store8 => {
            s.i32_store8(m);
        }
        StoreKind::I32Store16 => {
            s.i32_store16(m);
        }
        StoreKind::I64Store8 => {
            s.i64_store8(m);
        }
        StoreKind::I64Store16 => {
            s.i64_store16(m);
        }
        StoreKind::I64Store32 => {
            s.i64_store32(m);
        }
    }
}

/// Collects a module's functions: types, function entries, bodies and exports.
struct Funcs {
    types: TypeSection,
    num_types: u32,
    functions: FunctionSection,
    code: CodeSection,
    exports: ExportSection,
    num_funcs: u32,
}

impl Funcs {
    fn new(types: TypeSection, num_types: u32) -> Funcs {
        Funcs {
            types,
            num_types,
            functions: FunctionSection::new(),
            code: CodeSection::new(),
            exports: ExportSection::new(),
            num_funcs: 0,
        }
    }

    fn func_type(&mut self, params: &[ValType], results: &[ValType]) -> u32 {
        self.types
            .ty()
            .function(params.iter().copied(), results.iter().copied());
        self.num_types += 1;
        self.num_types - 1
    }

    /// Adds a function; returns its index.
    fn add(
        &mut self,
        params: &[ValType],
        results: &[ValType],
        body: &wasm_encoder::Function,
    ) -> u32 {
        let ty = self.func_type(params, results);
        self.functions.function(ty);
        self.code.function(body);
        self.num_funcs += 1;
        self.num_funcs - 1
    }

    fn export(&mut self, name: &str, index: u32) {
        self.exports.export(name, ExportKind::Func, index);
    }
}

/// Adds `f0..f3` (type `id_type`, returning `100 + k`).
fn add_id_funcs(funcs: &mut Funcs) {
    for k in 0..4 {
        let mut f = wasm_encoder::Function::new([]);
        f.instructions().i32_const(100 + k).end();
        funcs.add(&[], &[ValType::I32], &f);
    }
}

fn body(
    locals: &[ValType],
    emit: impl FnOnce(&mut wasm_encoder::InstructionSink<'_>),
) -> wasm_encoder::Function {
    let mut f = wasm_encoder::Function::new_with_locals_types(locals.iter().copied());
    let mut sink = f.instructions();
    emit(&mut sink);
    sink.end();
    f
}

/// FNV-1a over the bytes `0 .. len` where `byte(i)` is pushed by `get` with `i` in local 0;
/// locals: 0 = i, 1 = h, 2 = len (set by `len`).
fn hash_loop(
    s: &mut wasm_encoder::InstructionSink<'_>,
    len: impl FnOnce(&mut wasm_encoder::InstructionSink<'_>),
    get: impl FnOnce(&mut wasm_encoder::InstructionSink<'_>),
) {
    len(s);
    s.local_set(2)
        .i64_const(0xcbf2_9ce4_8422_2325_u64 as i64)
        .local_set(1)
        .block(wasm_encoder::BlockType::Empty)
        .loop_(wasm_encoder::BlockType::Empty)
        .local_get(0)
        .local_get(2)
        .i32_ge_u()
        .br_if(1)
        .local_get(1);
    get(s);
    s.i64_extend_i32_u()
        .i64_xor()
        .i64_const(0x100_0000_01b3)
        .i64_mul()
        .local_set(1)
        .local_get(0)
        .i32_const(1)
        .i32_add()
        .local_set(0)
        .br(0)
        .end()
        .end()
        .local_get(1);
}

const HASH_LOCALS: [ValType; 3] = [ValType::I32, ValType::I64, ValType::I32];

fn native_module() -> Vec<u8> {
    let mut types = TypeSection::new();
    types.ty().function([], [ValType::I32]);
    let id_type = 0;
    let mut funcs = Funcs::new(types, 1);
    add_id_funcs(&mut funcs);
    for op in ops() {
        let (params, results) = op.sig();
        let f = match op {
            Op::Load(k, m, o) => body(&[], |s| {
                s.local_get(0);
                native_load(s, k, memarg(OFFSETS[o as usize], k.width(), m));
            }),
            Op::Store(k, m, o) => body(&[], |s| {
                s.local_get(0).local_get(1);
                native_store(s, k, memarg(OFFSETS[o as usize], k.width(), m));
            }),
            Op::Size(m) => body(&[], |s| {
                s.memory_size(m);
            }),
            Op::Grow(m) => body(&[], |s| {
                s.local_get(0).memory_grow(m);
            }),
            Op::Fill(m) => body(&[], |s| {
                s.local_get(0).local_get(1).local_get(2).memory_fill(m);
            }),
            Op::Copy(d, src) => body(&[], |s| {
                s.local_get(0).local_get(1).local_get(2).memory_copy(d, src);
            }),
            Op::Init(m, seg) => body(&[], |s| {
                s.local_get(0).local_get(1).local_get(2).memory_init(m, seg);
            }),
            Op::DataDrop(seg) => body(&[], |s| {
                s.data_drop(seg);
            }),
            Op::Hash(m) => body(&HASH_LOCALS, |s| {
                hash_loop(
                    s,
                    |s| {
                        s.memory_size(m).i32_const(16).i32_shl();
                    },
                    |s| {
                        s.local_get(0).i32_load8_u(memarg(0, 1, m));
                    },
                );
            }),
            Op::TGet(t) => body(&[], |s| {
                s.local_get(0).table_get(t).ref_is_null();
            }),
            Op::TCall(t) => body(&[], |s| {
                s.local_get(0).call_indirect(t, id_type);
            }),
            Op::TSet(t) => body(&[], |s| {
                s.local_get(0).local_get(1).table_get(2).table_set(t);
            }),
            Op::TSize(t) => body(&[], |s| {
                s.table_size(t);
            }),
            Op::TGrow(t) => body(&[], |s| {
                s.local_get(0).table_get(2).local_get(1).table_grow(t);
            }),
            Op::TFill(t) => body(&[], |s| {
                s.local_get(0)
                    .local_get(1)
                    .table_get(2)
                    .local_get(2)
                    .table_fill(t);
            }),
            Op::TCopy(d, src) => body(&[], |s| {
                s.local_get(0).local_get(1).local_get(2).table_copy(d, src);
            }),
            // Element segment 1 is the passive one.
            Op::TInit(t) => body(&[], |s| {
                s.local_get(0).local_get(1).local_get(2).table_init(t, 1);
            }),
            Op::ElemDrop => body(&[], |s| {
                s.elem_drop(1);
            }),
        };
        let index = funcs.add(&params, &results, &f);
        funcs.export(&op.name(), index);
    }

    let mut tables = TableSection::new();
    for (min, max) in TABLES.into_iter().chain([(NUM_IDS, Some(NUM_IDS))]) {
        tables.table(TableType {
            element_type: RefType::FUNCREF,
            table64: false,
            minimum: u64::from(min),
            maximum: max.map(u64::from),
            shared: false,
        });
    }
    let mut memories = MemorySection::new();
    for (min, max) in MEMS {
        memories.memory(MemoryType {
            minimum: u64::from(min),
            maximum: max.map(u64::from),
            memory64: false,
            shared: false,
            page_size_log2: None,
        });
    }
    let refs: Vec<ConstExpr> = (0..4)
        .map(ConstExpr::ref_func)
        .chain([ConstExpr::ref_null(HeapType::FUNC)])
        .collect();
    let mut elements = ElementSection::new();
    elements.active(
        Some(2),
        &ConstExpr::i32_const(0),
        Elements::Expressions(RefType::FUNCREF, refs.clone().into()),
    );
    elements.passive(Elements::Expressions(RefType::FUNCREF, refs.into()));
    let mut data = DataSection::new();
    for seg in data_segments() {
        data.passive(seg);
    }

    let mut module = Module::new();
    module
        .section(&funcs.types)
        .section(&funcs.functions)
        .section(&tables)
        .section(&memories)
        .section(&funcs.exports)
        .section(&elements)
        .section(&DataCountSection { count: 2 })
        .section(&funcs.code)
        .section(&data);
    module.finish()
}

/// Globals of the GC module.
const G_MEM: [u32; 2] = [0, 1];
const G_TAB: [u32; 2] = [2, 3];
const G_SRC: u32 = 4;
const G_ESEG: u32 = 5;
const G_DLEN: [u32; 2] = [6, 7];

fn gc_module() -> Vec<u8> {
    use ValType::I32;
    let mut types = TypeSection::new();
    types.ty().rec(runtime_structs::rec_group());
    types.ty().function([], [I32]);
    let id_type = NUM_TYPES;
    let mut funcs = Funcs::new(types, NUM_TYPES + 1);
    add_id_funcs(&mut funcs);
    let helpers = all_helpers();
    let first = funcs.num_funcs;
    let helper_index: HashMap<Helper, u32> = (first..)
        .zip(helpers.iter().copied())
        .map(|(i, h)| (h, i))
        .collect();
    for &h in &helpers {
        let hf = helper(h, |callee| helper_index[&callee]);
        let index = funcs.add(&hf.params, &hf.results, &hf.body);
        assert_eq!(index, helper_index[&h]);
    }
    let call = |s: &mut wasm_encoder::InstructionSink<'_>, h: Helper| {
        s.call(helper_index[&h]);
    };
    // `src[id]`: the closure with id `local(id)`.
    let src = |s: &mut wasm_encoder::InstructionSink<'_>, id: u32| {
        s.global_get(G_SRC).local_get(id).array_get(FUNCS);
    };
    for op in ops() {
        let (params, results) = op.sig();
        let f = match op {
            Op::Load(k, m, o) => body(&[], |s| {
                s.local_get(0)
                    .global_get(G_MEM[m as usize])
                    .i64_const(i64::from(OFFSETS[o as usize]));
                call(s, Helper::Load(k));
            }),
            Op::Store(k, m, o) => body(&[], |s| {
                s.local_get(0)
                    .local_get(1)
                    .global_get(G_MEM[m as usize])
                    .i64_const(i64::from(OFFSETS[o as usize]));
                call(s, Helper::Store(k));
            }),
            Op::Size(m) => body(&[], |s| {
                s.global_get(G_MEM[m as usize]);
                call(s, Helper::MemorySize);
            }),
            Op::Grow(m) => body(&[], |s| {
                s.local_get(0).global_get(G_MEM[m as usize]);
                call(s, Helper::MemoryGrow);
            }),
            Op::Fill(m) => body(&[], |s| {
                s.local_get(0)
                    .local_get(1)
                    .local_get(2)
                    .global_get(G_MEM[m as usize]);
                call(s, Helper::MemoryFill);
            }),
            Op::Copy(d, src_mem) => body(&[], |s| {
                s.local_get(0)
                    .local_get(1)
                    .local_get(2)
                    .global_get(G_MEM[d as usize])
                    .global_get(G_MEM[src_mem as usize]);
                call(s, Helper::MemoryCopy);
            }),
            Op::Init(m, seg) => body(&[], |s| {
                s.local_get(0)
                    .local_get(1)
                    .local_get(2)
                    .global_get(G_MEM[m as usize])
                    .global_get(G_DLEN[seg as usize]);
                call(s, Helper::MemoryInitCheck);
                s.array_new_data(BYTES, seg);
                call(s, Helper::MemoryInitWrite);
            }),
            Op::DataDrop(seg) => body(&[], |s| {
                s.i32_const(0).global_set(G_DLEN[seg as usize]);
            }),
            Op::Hash(m) => body(
                &[HASH_LOCALS.as_slice(), &[ref_null(WORDS)]].concat(),
                |s| {
                    hash_loop(
                        s,
                        |s| {
                            s.global_get(G_MEM[m as usize])
                                .struct_get(MEMBOX, field::MEMBOX_WORDS)
                                .local_set(3)
                                .global_get(G_MEM[m as usize])
                                .struct_get(MEMBOX, field::MEMBOX_PAGES)
                                .i32_const(16)
                                .i32_shl();
                        },
                        // Byte `i` is byte `i & 3` of element `i >> 2`; bytes past the
                        // array are zero.
                        |s| {
                            s.local_get(0)
                                .i32_const(2)
                                .i32_shr_u()
                                .local_get(3)
                                .array_len()
                                .i32_lt_u()
                                .if_(wasm_encoder::BlockType::Result(I32))
                                .local_get(3)
                                .local_get(0)
                                .i32_const(2)
                                .i32_shr_u()
                                .array_get(WORDS)
                                .local_get(0)
                                .i32_const(3)
                                .i32_shl()
                                .i32_shr_u()
                                .i32_const(0xff)
                                .i32_and()
                                .else_()
                                .i32_const(0)
                                .end();
                        },
                    );
                },
            ),
            Op::TGet(t) => body(&[], |s| {
                s.local_get(0).global_get(G_TAB[t as usize]);
                call(s, Helper::TableGet(TableKind::Func));
                s.ref_is_null();
            }),
            Op::TCall(t) => body(&[], |s| {
                s.local_get(0).global_get(G_TAB[t as usize]);
                call(s, Helper::TableGetForCall);
                // The closure's function is a slot of table 0 (as in gc-lower's closure table).
                s.struct_get(CLOSURE, field::CLOSURE_FUNC)
                    .call_indirect(0, id_type);
            }),
            Op::TSet(t) => body(&[], |s| {
                s.local_get(0);
                src(s, 1);
                s.global_get(G_TAB[t as usize]);
                call(s, Helper::TableSet(TableKind::Func));
            }),
            Op::TSize(t) => body(&[], |s| {
                s.global_get(G_TAB[t as usize]);
                call(s, Helper::TableSize(TableKind::Func));
            }),
            Op::TGrow(t) => body(&[], |s| {
                src(s, 0);
                s.local_get(1).global_get(G_TAB[t as usize]);
                call(s, Helper::TableGrow(TableKind::Func));
            }),
            Op::TFill(t) => body(&[], |s| {
                s.local_get(0);
                src(s, 1);
                s.local_get(2).global_get(G_TAB[t as usize]);
                call(s, Helper::TableFill(TableKind::Func));
            }),
            Op::TCopy(d, src_tab) => body(&[], |s| {
                s.local_get(0)
                    .local_get(1)
                    .local_get(2)
                    .global_get(G_TAB[d as usize])
                    .global_get(G_TAB[src_tab as usize]);
                call(s, Helper::TableCopy(TableKind::Func));
            }),
            Op::TInit(t) => body(&[], |s| {
                s.local_get(0)
                    .local_get(1)
                    .local_get(2)
                    .global_get(G_TAB[t as usize])
                    .global_get(G_ESEG);
                call(s, Helper::TableInit(TableKind::Func));
            }),
            Op::ElemDrop => body(&[], |s| {
                s.ref_null(HeapType::Concrete(FUNCS)).global_set(G_ESEG);
            }),
        };
        let index = funcs.add(&params, &results, &f);
        funcs.export(&op.name(), index);
    }

    // GC-only checks of the memory invariants.
    for (m, global) in G_MEM.into_iter().enumerate() {
        // 1 when every byte past the logical size is zero (element by element: the size is a
        // whole number of elements).
        let f = body(&[ValType::I32, ref_null(WORDS)], |s| {
            s.global_get(global)
                .struct_get(MEMBOX, field::MEMBOX_WORDS)
                .local_set(1)
                .global_get(global)
                .struct_get(MEMBOX, field::MEMBOX_PAGES)
                .i32_const(14)
                .i32_shl()
                .local_set(0)
                .block(wasm_encoder::BlockType::Empty)
                .loop_(wasm_encoder::BlockType::Empty)
                .local_get(0)
                .local_get(1)
                .array_len()
                .i32_ge_u()
                .br_if(1)
                .local_get(1)
                .local_get(0)
                .array_get(WORDS)
                .if_(wasm_encoder::BlockType::Empty)
                .i32_const(0)
                .return_()
                .end()
                .local_get(0)
                .i32_const(1)
                .i32_add()
                .local_set(0)
                .br(0)
                .end()
                .end()
                .i32_const(1);
        });
        let index = funcs.add(&[], &[I32], &f);
        funcs.export(&format!("tail_zero{m}"), index);
        let f = body(&[], |s| {
            s.global_get(global)
                .struct_get(MEMBOX, field::MEMBOX_WORDS)
                .array_len()
                .i32_const(2)
                .i32_shl();
        });
        let index = funcs.add(&[], &[I32], &f);
        funcs.export(&format!("bytes_len{m}"), index);
        let f = body(&[], |s| {
            s.global_get(global).struct_get(MEMBOX, field::MEMBOX_BOUND);
        });
        let index = funcs.add(&[], &[ValType::I64], &f);
        funcs.export(&format!("bound{m}"), index);
    }

    // The instantiation routine: boxes, the source closures, the materialized segment.
    let closures = |s: &mut wasm_encoder::InstructionSink<'_>| {
        for k in 0..4 {
            s.i32_const(k).ref_null(HeapType::ANY).struct_new(CLOSURE);
        }
        s.ref_null(HeapType::Concrete(CLOSURE))
            .array_new_fixed(FUNCS, NUM_IDS);
    };
    let init = body(&[], |s| {
        for (m, (min, max)) in MEMS.into_iter().enumerate() {
            s.i32_const(min as i32)
                .i32_const(max.unwrap_or(65536) as i32);
            call(s, Helper::MemoryNew);
            s.global_set(G_MEM[m]);
        }
        for (t, (min, max)) in TABLES.into_iter().enumerate() {
            s.ref_null(HeapType::Concrete(CLOSURE))
                .i32_const(min as i32)
                .i32_const(max.unwrap_or(u32::MAX) as i32);
            call(s, Helper::TableNew(TableKind::Func));
            s.global_set(G_TAB[t]);
        }
        closures(s);
        s.global_set(G_SRC);
        closures(s);
        s.global_set(G_ESEG);
        for (seg, bytes) in data_segments().iter().enumerate() {
            s.i32_const(bytes.len() as i32).global_set(G_DLEN[seg]);
        }
    });
    let init_index = funcs.add(&[], &[], &init);

    let mut globals = GlobalSection::new();
    let mutable = |val_type| GlobalType {
        val_type,
        mutable: true,
        shared: false,
    };
    for ty in [
        MEMBOX,
        MEMBOX,
        runtime_structs::TABLEBOX,
        runtime_structs::TABLEBOX,
        FUNCS,
        FUNCS,
    ] {
        globals.global(
            mutable(ref_null(ty)),
            &ConstExpr::ref_null(HeapType::Concrete(ty)),
        );
    }
    for _ in 0..2 {
        globals.global(mutable(I32), &ConstExpr::i32_const(0));
    }
    // The closure table: slot `k` holds function `k`.
    let mut tables = TableSection::new();
    tables.table(TableType {
        element_type: RefType::FUNCREF,
        table64: false,
        minimum: 4,
        maximum: Some(4),
        shared: false,
    });
    let mut elements = ElementSection::new();
    elements.active(
        Some(0),
        &ConstExpr::i32_const(0),
        Elements::Functions([0, 1, 2, 3].as_slice().into()),
    );
    let mut data = DataSection::new();
    for seg in data_segments() {
        data.passive(seg);
    }

    let mut module = Module::new();
    module
        .section(&funcs.types)
        .section(&funcs.functions)
        .section(&tables)
        .section(&globals)
        .section(&funcs.exports)
        .section(&StartSection {
            function_index: init_index,
        })
        .section(&elements)
        .section(&DataCountSection { count: 2 })
        .section(&funcs.code)
        .section(&data);
    module.finish()
}

/// A compared value: floats by their bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum V {
    I32(i32),
    I64(i64),
    F32(u32),
    F64(u64),
}

impl V {
    fn val(self) -> Val {
        match self {
            V::I32(x) => Val::I32(x),
            V::I64(x) => Val::I64(x),
            V::F32(x) => Val::F32(x),
            V::F64(x) => Val::F64(x),
        }
    }

    fn from_val(v: &Val) -> V {
        match v {
            Val::I32(x) => V::I32(*x),
            Val::I64(x) => V::I64(*x),
            Val::F32(x) => V::F32(*x),
            Val::F64(x) => V::F64(*x),
            other => panic!("unexpected result {other:?}"),
        }
    }
}

/// `Err(())` for a trap.
type Outcome = Result<Vec<V>, ()>;

struct Side {
    store: Store<StoreLimits>,
    instance: Instance,
    funcs: HashMap<String, Func>,
    gc: bool,
}

impl Side {
    fn new(engine: &Engine, module: &wasmtime::Module, gc: bool) -> Side {
        let limits = if gc {
            StoreLimits::default()
        } else {
            // The limits the helpers impose (one GC array per memory, 10M table elements).
            StoreLimitsBuilder::new()
                .memory_size(u32::MAX as usize)
                .table_elements(runtime_structs::MAX_TABLE_ELEMENTS as usize)
                .build()
        };
        let mut store = Store::new(engine, limits);
        store.limiter(|limits| limits);
        let instance = Instance::new(&mut store, module, &[]).expect("instantiate test module");
        Side {
            store,
            instance,
            funcs: HashMap::new(),
            gc,
        }
    }

    fn call(&mut self, name: &str, args: &[V]) -> Outcome {
        let func = match self.funcs.get(name) {
            Some(f) => *f,
            None => {
                let f = self
                    .instance
                    .get_func(&mut self.store, name)
                    .unwrap_or_else(|| panic!("no export `{name}`"));
                self.funcs.insert(name.to_string(), f);
                f
            }
        };
        let args: Vec<Val> = args.iter().map(|a| a.val()).collect();
        let mut results = vec![Val::I32(0); func.ty(&self.store).results().len()];
        match func.call(&mut self.store, &args, &mut results) {
            Ok(()) => Ok(results.iter().map(V::from_val).collect()),
            Err(e) => {
                let trap = e.downcast_ref::<Trap>().copied();
                if self.gc {
                    // The helpers trap with `unreachable`, but for a call of a null table
                    // element, which `Helper::TableGetForCall` reads as `null reference`.
                    let null_call = name.starts_with("tcall") && trap == Some(Trap::NullReference);
                    assert!(
                        trap == Some(Trap::UnreachableCodeReached) || null_call,
                        "gc-side `{name}{args:?}` trapped other than with `unreachable`: {e:?}"
                    );
                } else {
                    assert!(
                        trap.is_some(),
                        "native `{name}` failed without a trap: {e:?}"
                    );
                }
                Err(())
            }
        }
    }
}

fn engine_and_modules() -> &'static (Engine, wasmtime::Module, wasmtime::Module) {
    static CELL: OnceLock<(Engine, wasmtime::Module, wasmtime::Module)> = OnceLock::new();
    CELL.get_or_init(|| {
        let mut config = Config::new();
        config
            .wasm_gc(true)
            .wasm_function_references(true)
            .collector(Collector::DeferredReferenceCounting);
        let engine = Engine::new(&config).expect("engine");
        let native = wasmtime::Module::new(&engine, native_module()).expect("native module");
        let gc = wasmtime::Module::new(&engine, gc_module()).expect("gc module");
        (engine, native, gc)
    })
}

/// The two instances, driven in lockstep.
struct Pair {
    native: Side,
    gc: Side,
    log: Vec<String>,
    /// How many operations succeeded and trapped, by export name without its digits.
    counts: HashMap<String, [u32; 2]>,
}

impl Pair {
    fn new() -> Pair {
        let (engine, native, gc) = engine_and_modules();
        Pair {
            native: Side::new(engine, native, false),
            gc: Side::new(engine, gc, true),
            log: Vec::new(),
            counts: HashMap::new(),
        }
    }

    /// Runs `name(args)` on both sides; panics with the history when they disagree.
    fn run(&mut self, name: &str, args: &[V]) {
        let _ = self.outcome(name, args);
    }

    /// [`Pair::run`], returning the common outcome.
    fn outcome(&mut self, name: &str, args: &[V]) -> Outcome {
        let native = self.native.call(name, args);
        let gc = self.gc.call(name, args);
        self.log.push(format!("{name}{args:?} -> {native:?}"));
        let kind: String = name.chars().filter(|c| !c.is_ascii_digit()).collect();
        self.counts.entry(kind).or_default()[usize::from(native.is_err())] += 1;
        if native != gc {
            let start = self.log.len().saturating_sub(30);
            panic!(
                "`{name}{args:?}`: native {native:?}, gc {gc:?}\nlast operations:\n{}",
                self.log[start..].join("\n")
            );
        }
        native
    }

    fn run_i32(&mut self, name: &str, args: &[V]) -> u32 {
        match self.outcome(name, args).as_deref() {
            Ok([V::I32(x)]) => *x as u32,
            other => panic!("`{name}` returned {other:?}"),
        }
    }

    fn mem_bytes(&mut self, m: u32) -> u64 {
        u64::from(self.run_i32(&format!("size{m}"), &[])) * u64::from(PAGE_SIZE)
    }

    fn table_size(&mut self, t: u32) -> u32 {
        self.run_i32(&format!("tsize{t}"), &[])
    }

    /// Compares the whole state: memory sizes and contents, table sizes and elements, and checks
    /// the GC side's zero tail.
    fn compare_state(&mut self) {
        for m in 0..2 {
            self.mem_bytes(m);
            self.run(&format!("hash{m}"), &[]);
            let tail = self.gc.call(&format!("tail_zero{m}"), &[]);
            assert_eq!(
                tail,
                Ok(vec![V::I32(1)]),
                "bytes past memory {m}'s size are not zero"
            );
            let len = self.gc.call(&format!("bytes_len{m}"), &[]);
            let Ok([V::I32(len)]) = len.as_deref() else {
                panic!("bytes_len{m}: {len:?}");
            };
            let len = u64::from(*len as u32);
            assert_eq!(
                len % u64::from(ARRAY_GRANULE),
                0,
                "memory {m}'s array is whole granules"
            );
            let bound = self.gc.call(&format!("bound{m}"), &[]);
            assert_eq!(
                bound,
                Ok(vec![V::I64(len.min(self.mem_bytes(m)) as i64)]),
                "memory {m}'s bound is min(array length, size)"
            );
        }
        for t in 0..2 {
            let size = self.table_size(t);
            for i in 0..=size {
                self.run(&format!("tget{t}"), &[V::I32(i as i32)]);
                self.run(&format!("tcall{t}"), &[V::I32(i as i32)]);
            }
        }
    }
}

/// A small xorshift PRNG, so every run sees the same sequences.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    /// An i32 operand that is likely to hit the edge: `target + small`, a value below `limit`,
    /// a small value, or anything.
    fn near(&mut self, target: i64, limit: u64) -> i32 {
        match self.below(8) {
            0..=3 => (target + self.below(7) as i64 - 3) as i32,
            4 | 5 => self.below(limit.max(1)) as i32,
            6 => self.below(4) as i32,
            _ => self.next() as i32,
        }
    }

    fn value(&mut self, ty: ValType) -> V {
        match ty {
            ValType::I32 => V::I32(self.next() as i32),
            ValType::I64 => V::I64(self.next() as i64),
            // Include NaNs with payloads: the bits must survive.
            ValType::F32 => V::F32(self.next() as u32),
            ValType::F64 => V::F64(self.next()),
            other => panic!("no values of {other:?}"),
        }
    }

    fn length(&mut self, limit: u64) -> u64 {
        match self.below(6) {
            0 => 0,
            1 => 1,
            2 | 3 => self.below(64),
            4 => self.below(limit.max(1) + 1),
            _ => self.next() & 0xffff_ffff,
        }
    }
}

const MEM_GROW_DELTAS: [u32; 9] = [0, 1, 1, 2, 3, 65535, 65536, 0x7fff_ffff, 0xffff_ffff];
const TABLE_GROW_DELTAS: [u32; 8] = [0, 1, 2, 3, 10_000_000, 0x7fff_ffff, 0xffff_ffff, 1];

/// One random operation, with operands near the current bounds.
fn random_op(pair: &mut Pair, rng: &mut Rng) {
    let m = rng.below(2) as u32;
    let t = rng.below(2) as u32;
    let size = pair.mem_bytes(m);
    match rng.below(20) {
        0..=5 => {
            let k = rng.pick(&LoadKind::ALL);
            let o = rng.below(OFFSETS.len() as u64) as u32;
            let edge = size as i64 - i64::from(OFFSETS[o as usize]) - i64::from(k.width());
            let addr = rng.near(edge, size);
            pair.run(&Op::Load(k, m, o).name(), &[V::I32(addr)]);
        }
        6..=11 => {
            let k = rng.pick(&StoreKind::ALL);
            let o = rng.below(OFFSETS.len() as u64) as u32;
            let edge = size as i64 - i64::from(OFFSETS[o as usize]) - i64::from(k.width());
            let addr = rng.near(edge, size);
            let value = rng.value(k.value_type());
            pair.run(&Op::Store(k, m, o).name(), &[V::I32(addr), value]);
        }
        12 => {
            // Keep memory 1 small: only failing grows once it has 24 pages.
            let mut delta = rng.pick(&MEM_GROW_DELTAS);
            if m == 1 && size >= 24 * u64::from(PAGE_SIZE) && delta <= 3 {
                delta = 0;
            }
            pair.run(&format!("grow{m}"), &[V::I32(delta as i32)]);
        }
        13 => {
            let n = rng.length(size);
            let d = rng.near(size as i64 - n as i64, size);
            let val = rng.next() as i32;
            pair.run(
                &format!("fill{m}"),
                &[V::I32(d), V::I32(val), V::I32(n as i32)],
            );
        }
        14 => {
            let src = rng.below(2) as u32;
            let src_size = pair.mem_bytes(src);
            let n = rng.length(size.min(src_size));
            let d = rng.near(size as i64 - n as i64, size);
            let s = rng.near(src_size as i64 - n as i64, src_size);
            pair.run(
                &format!("copy{m}{src}"),
                &[V::I32(d), V::I32(s), V::I32(n as i32)],
            );
        }
        15 => match rng.below(12) {
            0 => {
                let seg = rng.below(2) as u32;
                pair.run(&format!("data_drop{seg}"), &[]);
            }
            _ => {
                let seg = rng.below(2) as u32;
                let seg_len = data_segments()[seg as usize].len() as u64;
                let n = rng.length(seg_len);
                let d = rng.near(size as i64 - n as i64, size);
                let s = rng.near(seg_len as i64 - n as i64, seg_len);
                pair.run(
                    &format!("init{m}.{seg}"),
                    &[V::I32(d), V::I32(s), V::I32(n as i32)],
                );
            }
        },
        16 => {
            let size = u64::from(pair.table_size(t));
            let i = rng.near(size as i64, size);
            let id = rng.below(u64::from(NUM_IDS)) as i32;
            match rng.below(4) {
                0 => pair.run(&format!("tget{t}"), &[V::I32(i)]),
                1 => pair.run(&format!("tcall{t}"), &[V::I32(i)]),
                _ => pair.run(&format!("tset{t}"), &[V::I32(i), V::I32(id)]),
            };
        }
        17 => {
            let id = rng.below(u64::from(NUM_IDS)) as i32;
            let delta = rng.pick(&TABLE_GROW_DELTAS);
            pair.run(&format!("tgrow{t}"), &[V::I32(id), V::I32(delta as i32)]);
        }
        18 => {
            let size = u64::from(pair.table_size(t));
            let n = rng.length(size);
            let i = rng.near(size as i64 - n as i64, size);
            let id = rng.below(u64::from(NUM_IDS)) as i32;
            pair.run(
                &format!("tfill{t}"),
                &[V::I32(i), V::I32(id), V::I32(n as i32)],
            );
        }
        _ => {
            let size = u64::from(pair.table_size(t));
            if rng.below(2) == 0 {
                let src = rng.below(2) as u32;
                let src_size = u64::from(pair.table_size(src));
                let n = rng.length(size.min(src_size));
                let d = rng.near(size as i64 - n as i64, size);
                let s = rng.near(src_size as i64 - n as i64, src_size);
                pair.run(
                    &format!("tcopy{t}{src}"),
                    &[V::I32(d), V::I32(s), V::I32(n as i32)],
                );
            } else if rng.below(10) == 0 {
                pair.run("elem_drop", &[]);
            } else {
                let seg_len = u64::from(NUM_IDS);
                let n = rng.length(seg_len);
                let d = rng.near(size as i64 - n as i64, size);
                let s = rng.near(seg_len as i64 - n as i64, seg_len);
                pair.run(
                    &format!("tinit{t}"),
                    &[V::I32(d), V::I32(s), V::I32(n as i32)],
                );
            }
        }
    }
}

#[test]
fn random_sequences() {
    let mut counts: HashMap<String, [u32; 2]> = HashMap::new();
    for seed in 1..=20u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let mut pair = Pair::new();
        // Put some data in the memories first, so loads and copies see non-zero bytes.
        for m in 0..2 {
            pair.run(&format!("init{m}.1"), &[V::I32(7), V::I32(0), V::I32(300)]);
        }
        for step in 0..500 {
            random_op(&mut pair, &mut rng);
            if step % 25 == 24 {
                pair.compare_state();
            }
        }
        pair.compare_state();
        for (kind, [ok, trap]) in pair.counts {
            let total = counts.entry(kind).or_default();
            total[0] += ok;
            total[1] += trap;
        }
    }
    // The operands must reach both sides of the bounds for every kind of operation.
    let mut kinds: Vec<_> = counts.into_iter().collect();
    kinds.sort();
    for (kind, [ok, trap]) in &kinds {
        if std::env::var_os("SHOW_COUNTS").is_some() {
            println!("{kind:>20}: {ok:>5} ok {trap:>5} trapped");
        }
        let can_trap = ![
            "size",
            "hash",
            "tsize",
            "grow",
            "tgrow",
            "data_drop",
            "elem_drop",
        ]
        .contains(&kind.as_str());
        assert!(*ok > 0, "no `{kind}` succeeded");
        assert!(!can_trap || *trap > 0, "no `{kind}` trapped");
    }
}

/// Every load and store kind at every offset, at each address around the last in-bounds one
/// and at the far end of the address space.
#[test]
fn loads_and_stores_at_the_edges() {
    let mut pair = Pair::new();
    pair.run("init0.1", &[V::I32(65536 - 300), V::I32(0), V::I32(300)]);
    pair.run("init1.0", &[V::I32(2 * 65536 - 37), V::I32(0), V::I32(37)]);
    let mut rng = Rng(0x1234_5678);
    for m in 0..2 {
        let size = pair.mem_bytes(m) as i64;
        for o in 0..OFFSETS.len() as u32 {
            let offset = i64::from(OFFSETS[o as usize]);
            for k in LoadKind::ALL {
                let edge = size - offset - i64::from(k.width());
                for addr in (edge - 9..=edge + 2).chain([-1, -8, 0]) {
                    pair.run(&Op::Load(k, m, o).name(), &[V::I32(addr as i32)]);
                }
            }
            for k in StoreKind::ALL {
                let edge = size - offset - i64::from(k.width());
                for addr in (edge - 9..=edge + 2).chain([-1, -8, 0]) {
                    let value = rng.value(k.value_type());
                    pair.run(&Op::Store(k, m, o).name(), &[V::I32(addr as i32), value]);
                }
            }
            pair.compare_state();
        }
    }
}

/// A new memory has an empty array, growing it allocates nothing, and an access extends the
/// array only as far as the access's granule (geometrically after that); the bytes never
/// written read as zero, and zero-length bulk operations extend nothing.
#[test]
fn arrays_hold_what_was_accessed() {
    let mut pair = Pair::new();
    let page = PAGE_SIZE as i32;
    let granule = ARRAY_GRANULE as i32;
    let len = |pair: &mut Pair, m: u32| pair.gc.call(&format!("bytes_len{m}"), &[]);
    for m in 0..2 {
        assert_eq!(len(&mut pair, m), Ok(vec![V::I32(0)]));
    }
    pair.run("grow1", &[V::I32(100)]);
    assert_eq!(len(&mut pair, 1), Ok(vec![V::I32(0)]));
    let size = 102 * page;
    pair.run("fill1", &[V::I32(size), V::I32(7), V::I32(0)]);
    pair.run("copy11", &[V::I32(size), V::I32(size), V::I32(0)]);
    pair.run("copy01", &[V::I32(0), V::I32(size), V::I32(0)]);
    pair.run("init1.0", &[V::I32(size), V::I32(0), V::I32(0)]);
    assert_eq!(len(&mut pair, 1), Ok(vec![V::I32(0)]));
    // The first access reaches into the second granule of page 1: the array ends there.
    pair.run("i32.load.m1.o0", &[V::I32(page + granule + 8)]);
    assert_eq!(len(&mut pair, 1), Ok(vec![V::I32(page + 2 * granule)]));
    // Past it, the array doubles while that covers the access ...
    pair.run("i64.store.m1.o0", &[V::I32(page + 3 * granule), V::I64(-1)]);
    assert_eq!(len(&mut pair, 1), Ok(vec![V::I32(2 * page + 4 * granule)]));
    // ... and ends at the access's granule when doubling does not.
    pair.run("i32.store.m1.o0", &[V::I32(90 * page + 8), V::I32(7)]);
    assert_eq!(len(&mut pair, 1), Ok(vec![V::I32(90 * page + granule)]));
    // Out of bounds: traps and allocates nothing.
    pair.run("i32.load.m1.o0", &[V::I32(102 * page - 3)]);
    assert_eq!(len(&mut pair, 1), Ok(vec![V::I32(90 * page + granule)]));
    // Doubling gives headroom past the size (102 pages), for a memory grown page by page.
    pair.run("i32.load.m1.o0", &[V::I32(102 * page - 4)]);
    assert_eq!(
        len(&mut pair, 1),
        Ok(vec![V::I32(180 * page + 2 * granule)])
    );
    pair.compare_state();
}

#[test]
fn bulk_operations_at_the_edges() {
    let mut pair = Pair::new();
    let page = 65536;
    // Zero-length and one-past-the-end bulk operations, and grows past the maximum.
    for m in 0..2 {
        let size = pair.mem_bytes(m) as i32;
        for (d, n) in [
            (size, 0),
            (size + 1, 0),
            (size - 1, 1),
            (size - 1, 2),
            (0, size),
            (1, size),
            (-1, 2),
        ] {
            pair.run(&format!("fill{m}"), &[V::I32(d), V::I32(0x5a), V::I32(n)]);
            for src in 0..2 {
                pair.run(&format!("copy{m}{src}"), &[V::I32(d), V::I32(0), V::I32(n)]);
                pair.run(&format!("copy{m}{src}"), &[V::I32(0), V::I32(d), V::I32(n)]);
            }
        }
        for (d, s, n) in [
            (size, 37, 0),
            (size, 38, 0),
            (size - 37, 0, 37),
            (size - 36, 0, 37),
            (0, 1, 37),
            (0, 0, -1),
        ] {
            pair.run(&format!("init{m}.0"), &[V::I32(d), V::I32(s), V::I32(n)]);
        }
        // Overlapping copies within one memory, both directions.
        pair.run(
            &format!("init{m}.1"),
            &[V::I32(100), V::I32(0), V::I32(300)],
        );
        pair.run(
            &format!("copy{m}{m}"),
            &[V::I32(150), V::I32(100), V::I32(300)],
        );
        pair.run(
            &format!("copy{m}{m}"),
            &[V::I32(90), V::I32(150), V::I32(300)],
        );
        pair.compare_state();
    }
    // Memory 0 has a maximum of 3 pages.
    for delta in [4, 3, 2, 0, 1, 1, 0, -1] {
        pair.run("grow0", &[V::I32(delta)]);
    }
    pair.compare_state();
    // Memory 1 grows geometrically: after growing page by page the array is longer than needed,
    // and the bytes past the size stay zero.
    pair.run("fill1", &[V::I32(0), V::I32(0xff), V::I32(2 * page)]);
    for _ in 0..5 {
        pair.run("grow1", &[V::I32(1)]);
        let size = pair.mem_bytes(1) as i32;
        pair.run("fill1", &[V::I32(size - 16), V::I32(0x77), V::I32(16)]);
        pair.compare_state();
    }
    assert_eq!(
        pair.gc.call("bytes_len1", &[]),
        Ok(vec![V::I32(8 * page)]),
        "memory 1's array grows geometrically: 2, 4, 8 pages"
    );
    // Data drop: afterwards only zero-length inits at offset 0 succeed.
    pair.run("data_drop0", &[]);
    for (s, n) in [(0, 0), (1, 0), (0, 1)] {
        pair.run("init0.0", &[V::I32(0), V::I32(s), V::I32(n)]);
    }

    for t in 0..2 {
        let size = pair.table_size(t) as i32;
        for (d, n) in [
            (size, 0),
            (size + 1, 0),
            (size - 1, 1),
            (size - 1, 2),
            (-1, 2),
        ] {
            pair.run(&format!("tfill{t}"), &[V::I32(d), V::I32(2), V::I32(n)]);
            for src in 0..2 {
                pair.run(
                    &format!("tcopy{t}{src}"),
                    &[V::I32(d), V::I32(0), V::I32(n)],
                );
                pair.run(
                    &format!("tcopy{t}{src}"),
                    &[V::I32(0), V::I32(d), V::I32(n)],
                );
            }
            pair.run(&format!("tinit{t}"), &[V::I32(d), V::I32(0), V::I32(n)]);
        }
        for (d, s, n) in [(0, 5, 0), (0, 6, 0), (0, 4, 1), (0, 4, 2), (0, 0, size)] {
            pair.run(&format!("tinit{t}"), &[V::I32(d), V::I32(s), V::I32(n)]);
        }
        pair.compare_state();
    }
    // Table 0 has a maximum of 6 elements; table 1 none (10M elements in practice).
    for delta in [4, 3, 1, 0, 1, -1] {
        pair.run("tgrow0", &[V::I32(3), V::I32(delta)]);
    }
    for delta in [10_000_000 - 1, 10_000_000, 5, -1, 0] {
        pair.run("tgrow1", &[V::I32(1), V::I32(delta)]);
    }
    pair.run("tcopy11", &[V::I32(1), V::I32(0), V::I32(6)]);
    pair.run("tcopy11", &[V::I32(0), V::I32(2), V::I32(6)]);
    pair.compare_state();
    pair.run("elem_drop", &[]);
    for (s, n) in [(0, 0), (1, 0), (0, 1)] {
        pair.run("tinit0", &[V::I32(0), V::I32(s), V::I32(n)]);
    }
    pair.compare_state();
}
