//! Loads and stores on reified memories: how the rewriter emits them.
//!
//! A reified memory is a box around an array of `i32` words, four bytes of the memory per
//! element (`runtime_structs::MEMBOX`, `runtime_structs::words`); its logical size
//! is the box's page count. The array holds the memory's bytes up to the highest address
//! accessed so far (the rest is zero) and may be shorter or longer than the logical size; the
//! box's *bound* is the smaller of the two, the end of what an access may read and write in
//! the array directly (past it, the helpers extend the array). Two emitters exist, chosen by
//! [`MemoryAccess`]:
//!
//! - [`MemoryAccess::Inline`] (the default) emits inline the loads and stores whose innermost
//!   loop makes no call (and grows no memory), directly or in a loop inside it: the loops where
//!   memory accesses are the work. For each memory such an access touches, the function keeps
//!   the word array and the bound in bytes (an `i64`) in locals, and emits the bounds check and
//!   the element accesses inline:
//!
//!   ```wat
//!   ;; (i32.load offset=4 (local.get $p)) becomes
//!   (local.set $ea (i64.add (i64.extend_i32_u (local.get $p)) (i64.const 4)))
//!   (if (i64.gt_u (i64.add (local.get $ea) (i64.const 4)) (local.get $bound))
//!     (then unreachable))
//!   (local.set $a (i32.wrap_i64 (local.get $ea)))
//!   (if (result i32) (i32.and (local.get $a) (i32.const 3))
//!     (then ...)   ;; unaligned: two elements, shifted and or-ed (`runtime_structs::words`)
//!     (else (array.get $words (local.get $words) (i32.shr_u (local.get $a) (i32.const 2)))))
//!   ```
//!
//!   The address is computed in `i64`, so `addr + offset` never wraps; the whole access is
//!   checked before any byte is written, so a partly out-of-bounds store writes nothing. The
//!   locals come from `gc-lower:memory.whole`, which first extends the memory's array to the
//!   whole memory, so the bound is the memory's size and the check is exactly core wasm's.
//!   A memory's locals are loaded right before each outermost loop that accesses it inline
//!   (directly or in a loop inside it; a loop leaves the other memories' arrays as they are),
//!   and inside such a loop reloaded after everything that may replace the array or change
//!   the size:
//!   calls (direct, indirect, through a closure), `memory.grow`, and the targets of exception
//!   handlers (a callee that grew the memory may have thrown). Helpers cannot replace an array
//!   that holds the whole memory. Outside those loops the locals are dead, so nothing there
//!   reloads them: an inline access runs only inside such a loop, which was entered through a
//!   reload, and everything since then that may have replaced the array was followed by one.
//!
//!   An access past the bound inside the loop could instead extend the array itself, keeping
//!   the memory lazy in loops too; that slow path is a call inside the loop, and with it the
//!   loop kernels ran up to 1.3 times slower on wasmtime and up to 2 times slower on V8
//!   (BENCHMARKS.md), so a loop pays once, on entry, for the whole memory.
//!
//!   Every other access calls the helpers below, with the box from the function's local:
//!   outside loops an access runs at most once per call of the function, and in a loop that
//!   calls, the calls cost as much as the helper's. The inline form is 40–120 bytes of code
//!   with its reloads where a helper call is about 10: inlining everything in loops made the
//!   componentize-py app's output 1.5 times larger and three times slower to compile on
//!   wasmtime (BENCHMARKS.md).
//! - [`MemoryAccess::Helper`] calls one helper of `runtime_structs::helpers` per access, which
//!   reloads the box and the array each time. It is kept to measure against.
//!
//! Every built-in that reads a reified memory reads the same `(array (mut i32))`: the helpers
//! and this emitter through the sequences of `runtime_structs::words`, the transcoders through
//! this rewriter (they are written with core loads and stores), `memory_copy.wat` with its own
//! byte accessors. The representation changes in `runtime_structs` and `memory_copy.wat`.

use std::collections::{BTreeSet, HashMap, HashSet};

use runtime_structs::words::{StoreValue, convert_store_value, push_load, push_store};
use runtime_structs::{LoadKind, StoreKind, WORDS, ref_non_null};
use wasm_encoder as we;
use wasmtime_environ::wasmparser as wp;

use crate::code::{Scratch, Sink, load_kind, store_kind};
use crate::layout::OutFunc;

/// How loads and stores on reified memories are emitted; also whether `call_indirect` reads
/// the table's element inline ([`MemoryAccess::Inline`]) or through a helper.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "runtime", derive(clap::ValueEnum))]
pub enum MemoryAccess {
    /// Inline bounds check and element accesses on the word array kept in a local.
    #[default]
    Inline,
    /// One helper call per access, and per `call_indirect` table lookup (the emitter before
    /// the inline one, kept for comparison).
    Helper,
    /// Inline in every loop, whether it calls or not (the inline emitter before it kept to
    /// loops without calls, kept for comparison).
    InlineAllLoops,
}

impl MemoryAccess {
    /// Whether some loads and stores are emitted inline, and `call_indirect` reads its table
    /// inline.
    pub fn inlines(self) -> bool {
        matches!(self, MemoryAccess::Inline | MemoryAccess::InlineAllLoops)
    }
}

/// The cached backing of one reified memory in a function.
#[derive(Debug, Clone, Copy)]
struct Cached {
    /// Local holding the memory's box, loaded from the vmctx at function entry (the box of an
    /// instance's memory never changes; a longer array is swapped in inside it).
    membox: u32,
    /// Local `(ref $words)`: the word array.
    words: u32,
    /// Local `i64`: the box's bound (`runtime_structs::field::MEMBOX_BOUND`), in bytes.
    bound: u32,
}

/// The inline emitter's state for one function: the cached memories and scratch locals.
pub struct InlineMemories {
    /// By memory index of the module; `None` for memories the function does not load from or
    /// store to, and for memories reached natively.
    cached: Vec<Option<Cached>>,
    /// Operator positions after which the cache is reloaded (exception handler targets).
    reload_after: HashSet<usize>,
    /// Operator positions before which part of the cache is loaded: the `loop` instructions of
    /// the outermost loops holding an inline access, each with its entry of `loop_memories`.
    reload_before: HashMap<usize, usize>,
    /// By operator position: the outermost loop holding an inline access that the point right
    /// after the operator lies inside (where that loop's memories are live), as an index of
    /// `loop_memories`.
    live_after: Vec<Option<usize>>,
    /// By outermost loop holding an inline access: the memories accessed inline in it.
    loop_memories: Vec<Vec<u32>>,
    /// The positions of the loads and stores emitted inline.
    inline_at: HashSet<usize>,
    /// The position of the operator being rewritten.
    pos: usize,
    /// `i64`: the effective address.
    ea64: u32,
    /// `i32`: the effective address, once checked.
    ea: u32,
    /// `i32`: the value being stored.
    v32: u32,
    /// `i64`: the value being stored.
    v64: u32,
    /// `gc-lower:memory.whole`, which extends a memory's array to the whole memory.
    whole: OutFunc,
}

/// What a pre-scan of a function body found: which loads and stores are emitted inline, and
/// where exception handlers land.
pub struct BodyScan {
    /// Memory indices of the module, reified, that the body loads from or stores to inline.
    pub accessed: HashSet<u32>,
    /// Operator positions after which execution may resume from an exception handler: the
    /// `end` of a block (or the `loop` instruction of a loop) that a `try_table` catch clause
    /// targets, and legacy `catch`/`catch_all`.
    pub reload_after: HashSet<usize>,
    /// The positions of the `loop` instructions of the outermost loops that hold a load or
    /// store emitted inline (directly or in a loop inside them), each with its index in
    /// `loop_memories`.
    pub reload_before: HashMap<usize, usize>,
    /// By operator position: the outermost loop holding a load or store emitted inline that
    /// the point right after the operator lies inside, as an index of `loop_memories`.
    pub live_after: Vec<Option<usize>>,
    /// By outermost loop holding an inline access: the memories it (or a loop inside it)
    /// accesses inline, in increasing order. Only these are loaded before it and reloaded in
    /// it, so a loop never extends the array of a memory it does not touch.
    pub loop_memories: Vec<Vec<u32>>,
    /// The positions of the loads and stores emitted inline: those whose innermost loop makes
    /// no call and grows no memory, directly or in a loop inside it.
    pub inline_at: HashSet<usize>,
}

/// Scans a function body for its memory accesses and exception handler targets; with
/// `all_loops`, every load and store in a loop is to be inline, not only those in loops without
/// calls. `reified(m)` says whether memory `m` of the module is reified: accesses to the others
/// stay native instructions and hold no cache.
pub fn scan_body(
    body: &wp::FunctionBody<'_>,
    all_loops: bool,
    reified: impl Fn(u32) -> bool,
) -> anyhow::Result<BodyScan> {
    use wp::Operator as O;
    let mut reload_after = HashSet::new();
    // Per open block: (position of its opening operator, is a loop, targeted by a catch).
    let mut frames: Vec<(usize, bool, bool)> = vec![(usize::MAX, false, false)];
    // Per loop met so far: whether it (or a loop inside it) calls or grows memory, the loop
    // it is in and its `loop` instruction's position; the open loops, innermost last; the
    // loads and stores in loops: (position, memory, loop); by operator position, the
    // outermost loop open right after it.
    let mut loop_calls: Vec<bool> = Vec::new();
    let mut loop_parent: Vec<Option<usize>> = Vec::new();
    let mut loop_start: Vec<usize> = Vec::new();
    let mut open_loops: Vec<usize> = Vec::new();
    let mut in_loop_accesses: Vec<(usize, u32, usize)> = Vec::new();
    let mut outermost_after: Vec<Option<usize>> = Vec::new();
    let mut reader = body.get_operators_reader()?;
    let mut i = 0usize;
    while !reader.eof() {
        let op = reader.read()?;
        let memarg = load_kind(&op)
            .map(|(_, m)| m)
            .or_else(|| store_kind(&op).map(|(_, m)| m));
        if let (Some(memarg), Some(&l)) = (memarg, open_loops.last())
            && reified(memarg.memory)
        {
            in_loop_accesses.push((i, memarg.memory, l));
        }
        match op {
            O::Call { .. }
            | O::CallIndirect { .. }
            | O::CallRef { .. }
            | O::ReturnCall { .. }
            | O::ReturnCallIndirect { .. }
            | O::ReturnCallRef { .. }
            | O::MemoryGrow { .. } => {
                if let Some(&l) = open_loops.last() {
                    loop_calls[l] = true;
                }
            }
            _ => {}
        }
        match op {
            O::Block { .. } | O::If { .. } | O::Try { .. } => frames.push((i, false, false)),
            O::Loop { .. } => {
                frames.push((i, true, false));
                loop_parent.push(open_loops.last().copied());
                loop_start.push(i);
                open_loops.push(loop_calls.len());
                loop_calls.push(false);
            }
            O::TryTable { try_table } => {
                for catch in &try_table.catches {
                    let label = match *catch {
                        wp::Catch::One { label, .. }
                        | wp::Catch::OneRef { label, .. }
                        | wp::Catch::All { label }
                        | wp::Catch::AllRef { label } => label as usize,
                    };
                    if label + 1 < frames.len() {
                        let n = frames.len() - 1 - label;
                        let (start, is_loop, _) = frames[n];
                        if is_loop {
                            reload_after.insert(start);
                        } else {
                            frames[n].2 = true;
                        }
                    }
                }
                frames.push((i, false, false));
            }
            O::Catch { .. } | O::CatchAll => {
                reload_after.insert(i);
            }
            O::End | O::Delegate { .. } => match frames.pop() {
                Some((_, true, _)) => {
                    let done = open_loops.pop().expect("a loop is open");
                    if let (true, Some(&outer)) = (loop_calls[done], open_loops.last()) {
                        loop_calls[outer] = true;
                    }
                }
                Some((_, false, true)) => {
                    reload_after.insert(i);
                }
                _ => {}
            },
            _ => {}
        }
        outermost_after.push(open_loops.first().copied());
        i += 1;
    }
    let mut accessed = HashSet::new();
    let mut inline_at = HashSet::new();
    // By outermost loop: the memories accessed inline in it, directly or in a loop inside it.
    let mut memories: HashMap<usize, BTreeSet<u32>> = HashMap::new();
    for (pos, memory, l) in in_loop_accesses {
        if all_loops || !loop_calls[l] {
            accessed.insert(memory);
            inline_at.insert(pos);
            let mut outermost = l;
            while let Some(k) = loop_parent[outermost] {
                outermost = k;
            }
            memories.entry(outermost).or_default().insert(memory);
        }
    }
    // Number the outermost loops holding inline accesses in the order they start.
    let mut holding: Vec<usize> = memories.keys().copied().collect();
    holding.sort_unstable();
    let index: HashMap<usize, usize> = holding.iter().enumerate().map(|(k, &l)| (l, k)).collect();
    let reload_before = holding
        .iter()
        .enumerate()
        .map(|(k, &l)| (loop_start[l], k))
        .collect();
    let live_after = outermost_after
        .into_iter()
        .map(|l| l.and_then(|l| index.get(&l).copied()))
        .collect();
    let loop_memories = holding
        .iter()
        .map(|l| memories[l].iter().copied().collect())
        .collect();
    Ok(BodyScan {
        accessed,
        reload_after,
        reload_before,
        live_after,
        loop_memories,
        inline_at,
    })
}

impl InlineMemories {
    /// The emitter for a function whose memory `i` has its box in local `boxes[i]` when it is
    /// reified and the function loads from or stores to it in a loop (`None` otherwise).
    /// Allocates the locals in `scratch`; `whole` gives `gc-lower:memory.whole`, asked for only
    /// when some memory is cached.
    pub fn new(
        boxes: &[Option<u32>],
        scan: BodyScan,
        scratch: &mut Scratch,
        whole: impl FnOnce() -> OutFunc,
    ) -> Option<InlineMemories> {
        let mut cached = vec![None; boxes.len()];
        let mut any = false;
        for (i, b) in boxes.iter().enumerate() {
            if let (Some(membox), true) = (b, scan.accessed.contains(&(i as u32))) {
                cached[i] = Some(Cached {
                    membox: *membox,
                    words: scratch.fresh(ref_non_null(WORDS)),
                    bound: scratch.fresh(we::ValType::I64),
                });
                any = true;
            }
        }
        if !any {
            return None;
        }
        Some(InlineMemories {
            cached,
            reload_after: scan.reload_after,
            reload_before: scan.reload_before,
            live_after: scan.live_after,
            loop_memories: scan.loop_memories,
            inline_at: scan.inline_at,
            pos: 0,
            ea64: scratch.fresh(we::ValType::I64),
            ea: scratch.fresh(we::ValType::I32),
            v32: scratch.fresh(we::ValType::I32),
            v64: scratch.fresh(we::ValType::I64),
            whole: whole(),
        })
    }

    /// Whether the load or store being rewritten, on memory `mem`, is emitted inline.
    pub fn handles(&self, mem: u32) -> bool {
        matches!(self.cached.get(mem as usize), Some(Some(_))) && self.inline_at.contains(&self.pos)
    }

    /// Whether the cache must be reloaded after the operator at position `i` (an exception
    /// handler's target), whatever the operator.
    pub fn reload_after(&self, i: usize) -> bool {
        self.reload_after.contains(&i)
    }

    /// Loads, before the operator at position `i`, the cache of the memories accessed inline
    /// in the loop it opens when it is the `loop` of an outermost loop that holds an inline
    /// access.
    pub fn load_before(&self, i: usize, out: &mut Sink) {
        if let Some(&l) = self.reload_before.get(&i) {
            self.reload(out, &self.loop_memories[l]);
        }
    }

    /// Notes that the operator at position `pos` is being rewritten.
    pub fn at(&mut self, pos: usize) {
        self.pos = pos;
    }

    /// Reloads the cache of the memories accessed inline in the loop that the point after the
    /// current operator lies inside, when that is a loop holding an inline access. Elsewhere
    /// no inline access can follow before the load at the next such loop's entry, and inside
    /// it no other memory is accessed inline.
    pub fn reload_if_live(&self, out: &mut Sink) {
        if let Some(Some(l)) = self.live_after.get(self.pos) {
            self.reload(out, &self.loop_memories[*l]);
        }
    }

    /// (Re)loads the word array and bound of each memory of `memories` (all cached), once
    /// `gc-lower:memory.whole` has made the array hold the whole memory (so the bound is the
    /// size).
    fn reload(&self, out: &mut Sink, memories: &[u32]) {
        use we::Instruction as I;
        for c in memories.iter().filter_map(|&m| self.cached[m as usize]) {
            out.push(I::LocalGet(c.membox));
            out.push(I::Call(self.whole.0));
            out.push(I::LocalSet(c.bound));
            out.push(I::LocalSet(c.words));
        }
    }

    /// Consumes the i32 address on the stack, traps unless `width` bytes at `addr + offset`
    /// lie inside memory `c` (its bound is its size: the array holds the whole memory), and
    /// leaves the effective address in `self.ea`.
    fn check(&self, out: &mut Sink, c: Cached, offset: u64, width: u32) {
        use we::Instruction as I;
        out.push(I::I64ExtendI32U);
        if offset != 0 {
            out.push(I::I64Const(offset as i64));
            out.push(I::I64Add);
        }
        out.push(I::LocalTee(self.ea64));
        out.push(I::I64Const(i64::from(width)));
        out.push(I::I64Add);
        out.push(I::LocalGet(c.bound));
        out.push(I::I64GtU);
        out.push(I::If(we::BlockType::Empty));
        out.push(I::Unreachable);
        out.push(I::End);
        out.push(I::LocalGet(self.ea64));
        out.push(I::I32WrapI64);
        out.push(I::LocalSet(self.ea));
    }

    /// Emits a load of `kind` (the address on the stack).
    pub fn load(&self, out: &mut Sink, kind: LoadKind, memarg: wp::MemArg) {
        let c = self.cached[memarg.memory as usize].expect("memory is cached");
        self.check(out, c, memarg.offset, kind.width());
        push_load(
            &mut we::InstructionSink::new(&mut out.0),
            kind,
            c.words,
            self.ea,
        );
    }

    /// Emits a store of `kind` (the address and the value on the stack).
    pub fn store(&self, out: &mut Sink, kind: StoreKind, memarg: wp::MemArg) {
        use we::Instruction as I;
        let c = self.cached[memarg.memory as usize].expect("memory is cached");
        // The value, in `v32` (stores of up to 4 bytes) or `v64`.
        let value = if convert_store_value(&mut we::InstructionSink::new(&mut out.0), kind) {
            StoreValue::I64(self.v64)
        } else {
            StoreValue::I32(self.v32)
        };
        out.push(I::LocalSet(match value {
            StoreValue::I32(l) | StoreValue::I64(l) => l,
        }));
        self.check(out, c, memarg.offset, kind.width());
        push_store(
            &mut we::InstructionSink::new(&mut out.0),
            kind,
            c.words,
            self.ea,
            value,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scan of the first function of `wat`, with memory 2 native.
    fn scan(wat: &str) -> BodyScan {
        let bytes = wat::parse_str(wat).expect("valid text");
        for payload in wp::Parser::new(0).parse_all(&bytes) {
            if let wp::Payload::CodeSectionEntry(body) = payload.expect("valid module") {
                return scan_body(&body, false, |m| m != 2).expect("scan");
            }
        }
        panic!("no function");
    }

    /// Each outermost loop loads only the memories it accesses inline, a loop that calls holds
    /// no inline access, and accesses to a native memory hold no cache.
    #[test]
    fn loops_load_the_memories_they_access() {
        let s = scan(
            r#"(module
                (memory 1) (memory 1) (memory 1)
                (func $f (param i32)
                  (loop                                  ;; 0: memory 0, and 1 in a loop inside
                    (drop (i32.load 0 (local.get 0)))
                    (loop (drop (i32.load 1 (local.get 0)))))
                  (loop (drop (i32.load 1 (local.get 0))) (call $f (i32.const 0)))
                  (loop (drop (i32.load 2 (local.get 0))))  ;; native memory: nothing cached
                  (loop (i32.store8 1 (local.get 0) (i32.const 1)))))"#,
        );
        assert_eq!(s.loop_memories, vec![vec![0, 1], vec![1]]);
        assert_eq!(s.accessed, HashSet::from([0, 1]));
        assert_eq!(s.inline_at.len(), 3, "{:?}", s.inline_at);
        let mut starts: Vec<_> = s.reload_before.iter().map(|(&p, &l)| (p, l)).collect();
        starts.sort_unstable();
        assert_eq!(
            starts.iter().map(|&(_, l)| l).collect::<Vec<_>>(),
            vec![0, 1]
        );
        // Inside the first loop the first set is live; between the loops nothing is.
        let (first, _) = starts[0];
        assert_eq!(s.live_after[first], Some(0));
        assert!(s.live_after.contains(&None));
        assert_eq!(*s.live_after.last().expect("ops"), None);
    }
}
