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
//! - [`MemoryAccess::FastPath`] (the default) emits loops as [`MemoryAccess::Inline`] does,
//!   and in a function with at most [`FAST_PATH_MAX_ACCESSES`] other loads and stores on
//!   reified memories (another limit, or none, with [`InlineAccesses`]), those as a fast
//!   path on a second pair of locals holding the word array (`(ref null $words)`, null until
//!   loaded) and the box's bound (`i64`, 0 until loaded), read from the box as they are,
//!   without extending the array:
//!
//!   ```wat
//!   ;; (i32.load offset=4 (local.get $p)), after a call: reload, then
//!   (local.set $fw (struct.get $membox $words (local.get $box)))
//!   (local.set $fb (struct.get $membox $bound (local.get $box)))
//!   (if (result i32) (i32.or (i64.gt_u (i64.add (local.tee $ea (i64.add (i64.extend_i32_u
//!                                        (local.get $p)) (i64.const 4))) (i64.const 4))
//!                                      (local.get $fb))
//!                            (i32.and (local.tee $a (i32.wrap_i64 (local.get $ea))) (i32.const 3)))
//!     (then (call $i32.load:past-bound (i32.const 0) (local.get $box) (local.get $ea))
//!           ;; the slow path may have swapped a longer array in: reload $fw, $fb
//!           ...)
//!     (else (array.get $words (local.get $fw) (i32.shr_u (local.get $a) (i32.const 2)))))
//!   ```
//!
//!   The slow path is the helper's own (it extends the array, or traps where core wasm
//!   traps, and handles any alignment). [`stale_fast_locals`] finds where the locals may be
//!   stale: at entry, and after whatever may swap a longer array into a box. Each fast path is
//!   50–70 bytes where a helper call is about 8, hence the limit (BENCHMARKS.md, "A fast path
//!   outside loops").
//! - [`MemoryAccess::Inline`] emits inline the loads and stores whose innermost
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
//!   whole memory, so the bound is the memory's size and the check is exactly core wasm's
//!   (called only when the box's bound is not the size already; otherwise the locals are
//!   read from the box inline: `fib` of the componentize-py app ran 10–17% faster on
//!   wasmtime, BENCHMARKS.md, "`memory.whole` only when needed").
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
//!   Each call-free loop holding such accesses (not inside another one), when it holds at
//!   most [`VERSIONED_MAX_ACCESSES`] of them, is emitted twice, chosen at its entry
//!   ([`Versioned`]): when every array it accesses holds exactly the whole
//!   memory (`array.len * 4` is the bound), a version without the check above, where the
//!   engine's own array bounds check is the memory's (`(array.get $words (local.get $words)
//!   (i32.shr_u (local.get $a) (i32.const 2)))` traps exactly when the access passes the
//!   memory's end; an address past 4 GiB takes its element index from the `i64`, past any
//!   array; a store writes its highest element first, so a partly out-of-bounds one writes
//!   nothing); otherwise the checked version. The array is longer than the memory when an
//!   access outside loops doubled it past the size (it grows geometrically up to the maximum,
//!   not the size, so that a memory grown in steps is not copied at each one). The memory
//!   kernels `sum-i32` and `sum-i64` ran 1.4–1.9 times faster on wasmtime; the second copies
//!   made the componentize-py app's `--reify all` output 2.4% larger and its `fib` 3% slower
//!   (BENCHMARKS.md, "Loops in two versions").
//!
//!   In the unchecked version, a 4- or 8-byte access whose address stays a multiple of 4
//!   through the loop, given some locals are at its entry ([`aligned_addresses`]: a pointer
//!   the loop steps by multiples of 4, a base plus a scaled index, an index shifted left by 2
//!   or more; the offset a multiple of 4 too), reads or writes its elements without testing
//!   the address's alignment; the entry test also asks those locals to be multiples of 4, so
//!   a loop over an unaligned pointer runs the checked version. `copy-words` ran 1.5 times
//!   faster on wasmtime and twice as fast on V8 (BENCHMARKS.md, "Aligned pointers in loops").
//!
//!   An access past the bound inside the loop could instead extend the array itself, keeping
//!   the memory lazy in loops too; that slow path is a call inside the loop, and with it the
//!   loop kernels ran up to 1.3 times slower on wasmtime and up to 2 times slower on V8
//!   (BENCHMARKS.md), so a loop pays once, on entry, for the whole memory.
//!
//!   Every other access calls the helpers, with the box from the function's local:
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

use runtime_structs::words::{
    Addr, StoreValue, convert_store_value, push_load, push_load_aligned, push_store,
    push_store_aligned,
};
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
    /// Inline bounds check and element accesses on the word array kept in a local, in loops
    /// that make no call; helper calls elsewhere (the default before
    /// [`MemoryAccess::FastPath`], kept for comparison).
    Inline,
    /// One helper call per access, and per `call_indirect` table lookup (the emitter before
    /// the inline one, kept for comparison).
    Helper,
    /// Inline in every loop, whether it calls or not (the inline emitter before it kept to
    /// loops without calls, kept for comparison).
    InlineAllLoops,
    /// As [`MemoryAccess::Inline`] in loops without calls; in functions with at most
    /// [`FAST_PATH_MAX_ACCESSES`] other loads and stores (or as [`InlineAccesses`] says),
    /// those inline too, as a fast path on the word array and bound the function keeps in
    /// locals (loaded where a call or a bulk operation may have replaced them), with the slow
    /// path (past the bound, or unaligned) a call of the helper's.
    #[default]
    FastPath,
}

impl MemoryAccess {
    /// Whether some loads and stores are emitted inline, and `call_indirect` reads its table
    /// inline.
    pub fn inlines(self) -> bool {
        matches!(
            self,
            MemoryAccess::Inline | MemoryAccess::InlineAllLoops | MemoryAccess::FastPath
        )
    }
}

/// The most loads and stores outside call-free loops that a function may have for
/// [`MemoryAccess::FastPath`] to emit them as fast paths; a function with more calls the
/// helpers for all of them ([`InlineAccesses`] sets another limit). Each fast path is 50–70
/// bytes where a helper call is about 8: on the componentize-py app, against helpers only,
/// every function having them made the output 79% larger, those with at most 8 made it 6%
/// larger and `sum` 15% faster on wasmtime (BENCHMARKS.md, "A fast path outside loops").
pub const FAST_PATH_MAX_ACCESSES: usize = 8;

/// Which functions [`MemoryAccess::FastPath`] gives fast paths: those with at most so many
/// loads and stores on reified memories outside call-free loops, or all of them
/// (`gc-lower --inline-accesses N|all`; the default, [`FAST_PATH_MAX_ACCESSES`], suits
/// wasmtime). A function past the limit calls the helpers for every such access.
///
/// The best limit depends on the engine. On the componentize-py app's `--reify all` output
/// (BENCHMARKS.md, "Fast paths in every function on V8 and JavaScriptCore"), fast paths in
/// every function made the output 67% larger than with the default limit and every call
/// faster on V8 and JavaScriptCore (`fib` 1.4–1.5 and 1.2–1.3 times; V8 inlines no helper
/// call in large functions, its inlining budget spent first); on wasmtime, whose collector
/// puts a read barrier on every reload of the array after a call, `fib` got 1.4 times slower
/// and the compile 3.5 times longer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InlineAccesses {
    /// Functions with at most this many such accesses.
    AtMost(usize),
    /// Every function.
    All,
}

impl InlineAccesses {
    /// Whether a function with `n` such accesses gets fast paths.
    pub fn admits(self, n: usize) -> bool {
        match self {
            InlineAccesses::AtMost(max) => n <= max,
            InlineAccesses::All => true,
        }
    }
}

impl Default for InlineAccesses {
    fn default() -> Self {
        InlineAccesses::AtMost(FAST_PATH_MAX_ACCESSES)
    }
}

impl std::fmt::Display for InlineAccesses {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InlineAccesses::AtMost(n) => write!(f, "{n}"),
            InlineAccesses::All => f.write_str("all"),
        }
    }
}

impl std::str::FromStr for InlineAccesses {
    type Err = String;

    /// `all`, or a number of accesses (`0`: no fast paths outside loops).
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "all" {
            return Ok(InlineAccesses::All);
        }
        s.parse()
            .map(InlineAccesses::AtMost)
            .map_err(|_| format!("expected a number of loads and stores or `all`, not `{s}`"))
    }
}

/// The most loads and stores inline in a loop (loops inside it included) for it to be
/// emitted in two versions ([`Versioned`]): the loops where the bounds checks are much of the
/// work. On the componentize-py app's `--reify all` output, versioning every call-free loop
/// made it 7.9% larger and its wasmtime compile 18% longer, for no change in its run time;
/// with at most 4 accesses, 2.4% larger, and the memory kernels (1–3 accesses per loop) gain
/// the same (BENCHMARKS.md, "Loops in two versions").
pub const VERSIONED_MAX_ACCESSES: usize = 4;

/// The cached backing of one reified memory in a function.
#[derive(Debug, Clone, Copy)]
struct Cached {
    /// Local holding the memory's box, loaded from the vmctx at function entry (the box of an
    /// instance's memory never changes; a longer array is swapped in inside it).
    membox: u32,
    /// For accesses inline in loops: the word array (local `(ref $words)`) and the bound in
    /// bytes (local `i64`, `runtime_structs::field::MEMBOX_BOUND`), loaded before the loop by
    /// `gc-lower:memory.whole`.
    looped: Option<(u32, u32)>,
    /// For fast-path accesses ([`MemoryAccess::FastPath`]): the word array (local
    /// `(ref null $words)`, null until first loaded) and the box's bound (local `i64`, 0 until
    /// first loaded, so that an access before any load takes the slow path), read from the box
    /// as they are.
    fast: Option<(u32, u32)>,
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
    /// The positions of the loads and stores emitted as a fast path, each with whether the
    /// memory's fast-path locals are reloaded from the box before it.
    fast_at: HashMap<usize, bool>,
    /// The position of the operator being rewritten.
    pos: usize,
    /// `i64`: the effective address.
    ea64: u32,
    /// `i32`: the effective address, once checked.
    ea: u32,
    /// `i32`: the element index of an access that checks no bound of its own.
    index: u32,
    /// The loops emitted twice, by the position of their `loop` instruction.
    versioned: HashMap<usize, Versioned>,
    /// The accesses of versioned loops whose address is aligned in the unchecked version
    /// ([`aligned_addresses`]).
    aligned_at: HashSet<usize>,
    /// Whether the accesses being emitted are in the version of a loop whose arrays hold
    /// exactly the whole memory ([`Versioned`]): they leave the bounds check to the engine.
    unchecked: bool,
    /// `i32`: the value being stored.
    v32: u32,
    /// `i64`: the value being stored.
    v64: u32,
    /// `gc-lower:memory.whole`, which extends a memory's array to the whole memory; `None`
    /// when no memory is accessed inline in a loop.
    whole: Option<OutFunc>,
    /// `gc-lower:trap:out-of-bounds-memory-access`, where an inline access past the memory
    /// traps (so the trap is named as wasmtime names the native one); `None` when no memory
    /// is accessed inline in a loop.
    out_of_bounds: Option<OutFunc>,
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
    /// With [`MemoryAccess::FastPath`], the positions of the other loads and stores on reified
    /// memories, each with whether its memory's fast-path locals may be stale there (see
    /// [`stale_fast_locals`]) and so are reloaded from the box before it.
    pub fast_at: HashMap<usize, bool>,
    /// The memories of `fast_at`'s accesses.
    pub fast_memories: BTreeSet<u32>,
    /// The loops emitted twice ([`Versioned`]), by the position of their `loop` instruction.
    pub versioned: HashMap<usize, Versioned>,
    /// The positions of the 4- and 8-byte accesses inline in versioned loops whose address is
    /// a multiple of 4 in the unchecked version ([`aligned_addresses`]).
    pub aligned_at: HashSet<usize>,
}

/// A loop emitted in two versions, chosen at its entry: when the word array of every memory
/// it accesses inline holds exactly the whole memory (its length in bytes is the bound, which
/// after `gc-lower:memory.whole` is the size), a version whose accesses check no bound of
/// their own — the engine's array bounds check is then exactly core wasm's; otherwise the
/// checked one. Such a loop makes no call and grows no memory, directly or in a loop inside
/// it (nothing in it can replace an array), is not inside a loop of that kind (that one is
/// versioned), holds at most [`VERSIONED_MAX_ACCESSES`] inline loads and stores, and holds
/// nothing whose branch depths the copy would have to renumber beyond plain branches
/// (`br_table`, casts that branch, exception handling).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    /// The position of the loop's `end`.
    pub end: usize,
    /// The memories accessed inline in the loop, in increasing order.
    pub memories: Vec<u32>,
    /// The `i32` locals (of the input function) that address the loop's aligned accesses
    /// ([`aligned_addresses`]), in increasing order: the unchecked version is chosen only
    /// when each is a multiple of 4 at the loop's entry, and every write in the loop keeps it
    /// one.
    pub aligned: Vec<u32>,
}

/// Scans a function body (its operators, `ops`) for its memory accesses and exception handler
/// targets, for emitter `access`: with [`MemoryAccess::InlineAllLoops`], every load and store
/// in a loop is to be inline, not only those in loops without calls; with
/// [`MemoryAccess::FastPath`], every other access is a fast path when `inline_accesses` admits
/// their number. `reified(m)` says whether memory `m` of the module is reified: accesses to
/// the others stay native instructions and hold no cache.
pub fn scan_body(
    ops: &[wp::Operator<'_>],
    access: MemoryAccess,
    inline_accesses: InlineAccesses,
    reified: impl Fn(u32) -> bool,
) -> anyhow::Result<BodyScan> {
    let all_loops = access == MemoryAccess::InlineAllLoops;
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
    let mut loop_end: Vec<usize> = Vec::new();
    // Per loop: whether it holds an operator that keeps it from being versioned.
    let mut loop_unversionable: Vec<bool> = Vec::new();
    let mut open_loops: Vec<usize> = Vec::new();
    let mut in_loop_accesses: Vec<(usize, u32, usize)> = Vec::new();
    let mut outermost_after: Vec<Option<usize>> = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        let memarg = access_memarg(op);
        if let (Some(memarg), Some(&l)) = (memarg, open_loops.last())
            && reified(memarg.memory)
        {
            in_loop_accesses.push((i, memarg.memory, l));
        }
        if calls_or_grows(op)
            && let Some(&l) = open_loops.last()
        {
            loop_calls[l] = true;
        }
        if !copyable(op) {
            for &l in &open_loops {
                loop_unversionable[l] = true;
            }
        }
        match op {
            O::Block { .. } | O::If { .. } | O::Try { .. } => frames.push((i, false, false)),
            O::Loop { .. } => {
                frames.push((i, true, false));
                loop_parent.push(open_loops.last().copied());
                loop_start.push(i);
                loop_end.push(usize::MAX);
                loop_unversionable.push(false);
                open_loops.push(loop_calls.len());
                loop_calls.push(false);
            }
            O::TryTable { try_table } => {
                for catch in &try_table.catches {
                    let label = catch_label(catch) as usize;
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
                    loop_end[done] = i;
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
    }
    let mut accessed = HashSet::new();
    let mut inline_at = HashSet::new();
    // By outermost loop: the memories accessed inline in it, directly or in a loop inside it;
    // by call-free loop, the same.
    let mut memories: HashMap<usize, BTreeSet<u32>> = HashMap::new();
    let mut free_memories: HashMap<usize, BTreeSet<u32>> = HashMap::new();
    let mut free_count: HashMap<usize, usize> = HashMap::new();
    for (pos, memory, l) in in_loop_accesses {
        if all_loops || !loop_calls[l] {
            accessed.insert(memory);
            inline_at.insert(pos);
            let mut outermost = l;
            loop {
                if !loop_calls[outermost] {
                    free_memories.entry(outermost).or_default().insert(memory);
                    *free_count.entry(outermost).or_default() += 1;
                }
                match loop_parent[outermost] {
                    Some(k) => outermost = k,
                    None => break,
                }
            }
            memories.entry(outermost).or_default().insert(memory);
        }
    }
    // The call-free loops not inside another one, with few accesses, where no exception
    // handler resumes.
    let mut aligned_at = HashSet::new();
    let versioned = free_memories
        .into_iter()
        .filter(|&(l, _)| {
            loop_parent[l].is_none_or(|p| loop_calls[p])
                && free_count[&l] <= VERSIONED_MAX_ACCESSES
                && !loop_unversionable[l]
                && !reload_after
                    .iter()
                    .any(|&r| (loop_start[l]..=loop_end[l]).contains(&r))
        })
        .map(|(l, m)| {
            let (aligned, at) = aligned_addresses(ops, loop_start[l], loop_end[l], &inline_at);
            aligned_at.extend(at);
            let v = Versioned {
                end: loop_end[l],
                memories: m.into_iter().collect(),
                aligned,
            };
            (loop_start[l], v)
        })
        .collect();
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
    let (mut fast_at, mut fast_memories) = if access == MemoryAccess::FastPath {
        stale_fast_locals(ops, &inline_at, &reified)?
    } else {
        Default::default()
    };
    if !inline_accesses.admits(fast_at.len()) {
        fast_at.clear();
        fast_memories.clear();
    }
    Ok(BodyScan {
        accessed,
        reload_after,
        reload_before,
        live_after,
        loop_memories,
        inline_at,
        fast_at,
        fast_memories,
        versioned,
        aligned_at,
    })
}

/// The `i32` locals that keep a versioned loop's addresses aligned, and the accesses that use
/// them: of the inline loads and stores of `inline_at` in the loop (`start..=end`, positions of
/// its `loop` and `end`), those 4 or 8 bytes wide whose offset is a multiple of 4 and whose
/// address is a multiple of 4 whenever some locals are (`aligned_expr`: a local, a constant,
/// a shift left by 2 or more, a product or mask by a constant, and sums and differences of
/// these), when every write of each such local in the loop is such an expression of such
/// locals. When each of them is a multiple of 4 at the loop's entry, each is one at every
/// point of the loop (2^32 is a multiple of 4 too), so these accesses are aligned: the
/// unchecked version reads and writes their elements without testing the alignment.
///
/// Returns the locals to test at the entry, in increasing order, and the accesses' positions.
pub fn aligned_addresses(
    ops: &[wp::Operator<'_>],
    start: usize,
    end: usize,
    inline_at: &HashSet<usize>,
) -> (Vec<u32>, Vec<usize>) {
    use wp::Operator as O;
    let body = start + 1..end;
    // By local written in the loop: what each write's alignment depends on (`None`: unknown).
    let mut writes: HashMap<u32, Vec<Option<BTreeSet<u32>>>> = HashMap::new();
    for k in body.clone() {
        if let O::LocalSet { local_index: l } | O::LocalTee { local_index: l } = ops[k] {
            let value = k
                .checked_sub(1)
                .filter(|v| body.contains(v))
                .and_then(|v| aligned_expr(ops, start + 1, v, 0));
            writes.entry(l).or_default().push(value);
        }
    }
    // The locals that stay aligned: to a fixed point, drop those with a write that may not be.
    let mut kept: BTreeSet<u32> = writes.keys().copied().collect();
    loop {
        let next: BTreeSet<u32> = kept
            .iter()
            .copied()
            .filter(|l| {
                writes[l].iter().all(|w| {
                    w.as_ref().is_some_and(|deps| {
                        deps.iter()
                            .all(|d| kept.contains(d) || !writes.contains_key(d))
                    })
                })
            })
            .collect();
        if next.len() == kept.len() {
            break;
        }
        kept = next;
    }
    let stays = |l: &u32| !writes.contains_key(l) || kept.contains(l);
    let mut locals = BTreeSet::new();
    let mut at = Vec::new();
    for p in body.clone() {
        if !inline_at.contains(&p) {
            continue;
        }
        let (width, memarg, is_store) = match (load_kind(&ops[p]), store_kind(&ops[p])) {
            (Some((kind, m)), _) => (kind.width(), m, false),
            (_, Some((kind, m))) => (kind.width(), m, true),
            _ => continue,
        };
        if width < 4 || memarg.offset % 4 != 0 {
            continue;
        }
        let address = if is_store {
            value_start(ops, start + 1, p).and_then(|v| v.checked_sub(1))
        } else {
            p.checked_sub(1)
        };
        let Some(deps) = address
            .filter(|a| body.contains(a))
            .and_then(|a| aligned_expr(ops, start + 1, a, 0))
        else {
            continue;
        };
        if deps.iter().all(stays) {
            locals.extend(deps);
            at.push(p);
        }
    }
    // A written local's alignment rests on the locals its writes read: test those too.
    let mut pending: Vec<u32> = locals.iter().copied().collect();
    while let Some(l) = pending.pop() {
        for deps in writes.get(&l).into_iter().flatten().flatten() {
            for &d in deps {
                if locals.insert(d) {
                    pending.push(d);
                }
            }
        }
    }
    (locals.into_iter().collect(), at)
}

/// The locals whose being multiples of 4 makes the `i32` value that the expression ending at
/// position `a` leaves a multiple of 4 (no local: always), for expressions of: `local.get`,
/// `local.tee` of such an expression, a constant, `i32.shl` by a constant of 2 or more, `i32.mul` or `i32.and` with a constant
/// that is a multiple of 4 (as the second operand), `i32.add` and `i32.sub` of two such
/// expressions; `None` for anything else, or past `from`, or nested deeper than 8.
fn aligned_expr(
    ops: &[wp::Operator<'_>],
    from: usize,
    a: usize,
    depth: u32,
) -> Option<BTreeSet<u32>> {
    use wp::Operator as O;
    if depth > 8 || a < from {
        return None;
    }
    let constant = |k: usize| match ops.get(k) {
        Some(O::I32Const { value }) if k >= from => Some(*value),
        _ => None,
    };
    match ops[a] {
        O::LocalGet { local_index } => Some(BTreeSet::from([local_index])),
        O::LocalTee { .. } => aligned_expr(ops, from, a.checked_sub(1)?, depth + 1),
        O::I32Const { value } => (value % 4 == 0).then(BTreeSet::new),
        O::I32Shl => {
            let shift = constant(a.checked_sub(1)?)? & 31;
            (shift >= 2).then(BTreeSet::new)
        }
        O::I32Mul | O::I32And => {
            let c = constant(a.checked_sub(1)?)?;
            (c % 4 == 0).then(BTreeSet::new)
        }
        O::I32Add | O::I32Sub => {
            let right = value_start(ops, from, a)?;
            let mut deps = aligned_expr(ops, from, a - 1, depth + 1)?;
            deps.extend(aligned_expr(ops, from, right.checked_sub(1)?, depth + 1)?);
            Some(deps)
        }
        _ => None,
    }
}

/// Where the expression that computes the one value on the stack right before position `p`
/// starts, following operators back to `from` at the earliest; `None` when an operator on
/// the way has no fixed arity (a call, a block, a branch) or pushes more than is needed.
fn value_start(ops: &[wp::Operator<'_>], from: usize, p: usize) -> Option<usize> {
    /// Arity of the operators that need no module context; `None` for the others.
    struct NoContext;
    impl wp::ModuleArity for NoContext {
        fn sub_type_at(&self, _: u32) -> Option<&wp::SubType> {
            None
        }
        fn tag_type_arity(&self, _: u32) -> Option<(u32, u32)> {
            None
        }
        fn type_index_of_function(&self, _: u32) -> Option<u32> {
            None
        }
        fn func_type_of_cont_type(&self, _: &wp::ContType) -> Option<&wp::FuncType> {
            None
        }
        fn sub_type_of_ref_type(&self, _: &wp::RefType) -> Option<&wp::SubType> {
            None
        }
        fn control_stack_height(&self) -> u32 {
            0
        }
        fn label_block(&self, _: u32) -> Option<(wp::BlockType, wp::FrameKind)> {
            None
        }
    }
    let mut need = 1u32;
    for k in (from..p).rev() {
        let (pops, pushes) = ops[k].operator_arity(&NoContext)?;
        need = need.checked_sub(pushes)? + pops;
        if need == 0 {
            return Some(k);
        }
    }
    None
}

/// Whether a loop holding `op` may be emitted twice with the branches that leave it
/// renumbered by [`escape_depth`]: `op` names no label, or names it as a plain branch does.
fn copyable(op: &wp::Operator<'_>) -> bool {
    use wp::Operator as O;
    !matches!(
        op,
        O::BrTable { .. }
            | O::BrOnCast { .. }
            | O::BrOnCastFail { .. }
            | O::TryTable { .. }
            | O::Try { .. }
            | O::Catch { .. }
            | O::CatchAll
            | O::Delegate { .. }
            | O::Rethrow { .. }
    )
}

/// `op` as it reads inside one more enclosing block, when it is `depth` blocks deep in the
/// region that block wraps: a branch that names one label (`br`, `br_if`, `br_on_null`,
/// `br_on_non_null`, `br_on_cast`, `br_on_cast_fail`; [`crate::code::map_branch_depth`]) and
/// leaves the region targets one label further out. Tracks `depth` across `op`.
pub fn escape_depth<'a>(op: &wp::Operator<'a>, depth: &mut u32) -> wp::Operator<'a> {
    use wp::Operator as O;
    let out = |d: u32| if d >= *depth { d + 1 } else { d };
    let shifted = crate::code::map_branch_depth(op, out);
    match op {
        O::Block { .. } | O::Loop { .. } | O::If { .. } => *depth += 1,
        O::End => *depth = depth.saturating_sub(1),
        _ => {}
    }
    shifted
}

/// Whether `op` calls a function (tail calls included) or grows a memory: what may replace a
/// memory's array or change its size.
fn calls_or_grows(op: &wp::Operator<'_>) -> bool {
    use wp::Operator as O;
    matches!(
        op,
        O::Call { .. }
            | O::CallIndirect { .. }
            | O::CallRef { .. }
            | O::ReturnCall { .. }
            | O::ReturnCallIndirect { .. }
            | O::ReturnCallRef { .. }
            | O::MemoryGrow { .. }
    )
}

/// The label a `try_table` catch clause branches to.
fn catch_label(catch: &wp::Catch) -> u32 {
    match *catch {
        wp::Catch::One { label, .. }
        | wp::Catch::OneRef { label, .. }
        | wp::Catch::All { label }
        | wp::Catch::AllRef { label } => label,
    }
}

/// The memarg of a load or store; `None` for any other operator.
fn access_memarg(op: &wp::Operator<'_>) -> Option<wp::MemArg> {
    load_kind(op)
        .map(|(_, m)| m)
        .or_else(|| store_kind(op).map(|(_, m)| m))
}

/// The memories whose fast-path locals hold the box's current array and bound at a point of
/// the body; `None` where the point is unreachable (every memory counts as fresh there).
type Fresh = Option<BTreeSet<u32>>;

/// Where two paths meet: fresh only what is fresh on both.
fn meet(a: Fresh, b: &Fresh) -> Fresh {
    match (a, b) {
        (None, b) => b.clone(),
        (a, None) => a,
        (Some(a), Some(b)) => Some(a.intersection(b).copied().collect()),
    }
}

/// One open block of [`stale_fast_locals`]'s walk.
struct FreshFrame {
    is_loop: bool,
    /// What reaches the block's end by branches (and, for `try`, from its body and catches).
    at_end: Fresh,
    /// An `if`'s state at entry while its `else` has not been met (the implicit `else`).
    else_entry: Option<Fresh>,
}

/// The loads and stores of `body` on reified memories that are not in `inline_at` (the fast
/// path's), each with whether the function's copy of its memory's array and bound may be stale
/// right before it: at entry nothing is loaded; after a call, `memory.grow`, `memory.fill`,
/// `memory.copy`, `memory.init` or an atomic access (whose helpers may swap a longer array
/// into a box), at a
/// loop's head (conservatively: a loop's accesses are fast-path ones only when it calls), and
/// where an exception handler resumes, every memory is stale; after an access, its memory is
/// fresh (the slow path reloads). Where paths meet, a memory is fresh only if it is on all.
/// Also returns the memories these accesses touch.
pub fn stale_fast_locals(
    ops: &[wp::Operator<'_>],
    inline_at: &HashSet<usize>,
    reified: &impl Fn(u32) -> bool,
) -> anyhow::Result<(HashMap<usize, bool>, BTreeSet<u32>)> {
    use wp::Operator as O;
    let mut fast_at = HashMap::new();
    let mut memories = BTreeSet::new();
    let mut frames = vec![FreshFrame {
        is_loop: false,
        at_end: None,
        else_entry: None,
    }];
    let mut fresh: Fresh = Some(BTreeSet::new());
    let stale = |f: &Fresh| f.as_ref().map(|_| BTreeSet::new());
    // What a branch to `depth` carries to its target.
    fn branch(frames: &mut [FreshFrame], depth: u32, fresh: &Fresh) {
        let n = frames.len();
        if let Some(frame) = (depth as usize)
            .checked_add(1)
            .and_then(|d| n.checked_sub(d))
        {
            let frame = &mut frames[frame];
            if !frame.is_loop {
                frame.at_end = meet(frame.at_end.take(), fresh);
            }
        }
    }
    for (i, op) in ops.iter().enumerate() {
        let memarg = access_memarg(op);
        if let Some(memarg) = memarg
            && reified(memarg.memory)
            && !inline_at.contains(&i)
        {
            let is_fresh = fresh.as_ref().is_none_or(|f| f.contains(&memarg.memory));
            fast_at.insert(i, !is_fresh);
            memories.insert(memarg.memory);
            if let Some(f) = &mut fresh {
                f.insert(memarg.memory);
            }
        }
        // A call (a tail call ends the path below), `memory.grow`, or a bulk operation whose
        // helper may extend an array.
        if calls_or_grows(op)
            || matches!(
                op,
                O::MemoryFill { .. } | O::MemoryCopy { .. } | O::MemoryInit { .. }
            )
            || crate::atomics::atomic_access(op).is_some()
        {
            fresh = stale(&fresh);
        }
        match *op {
            O::Block { .. } | O::Try { .. } => frames.push(FreshFrame {
                is_loop: false,
                at_end: None,
                else_entry: None,
            }),
            O::TryTable { ref try_table } => {
                for catch in &try_table.catches {
                    let label = catch_label(catch);
                    branch(&mut frames, label, &Some(BTreeSet::new()));
                }
                frames.push(FreshFrame {
                    is_loop: false,
                    at_end: None,
                    else_entry: None,
                });
            }
            O::If { .. } => frames.push(FreshFrame {
                is_loop: false,
                at_end: None,
                else_entry: Some(fresh.clone()),
            }),
            O::Loop { .. } => {
                fresh = Some(BTreeSet::new());
                frames.push(FreshFrame {
                    is_loop: true,
                    at_end: None,
                    else_entry: None,
                });
            }
            O::Else => {
                if let Some(frame) = frames.last_mut() {
                    frame.at_end = meet(frame.at_end.take(), &fresh);
                    fresh = frame.else_entry.take().unwrap_or(None);
                }
            }
            O::Catch { .. } | O::CatchAll => {
                if let Some(frame) = frames.last_mut() {
                    frame.at_end = meet(frame.at_end.take(), &fresh);
                }
                fresh = Some(BTreeSet::new());
            }
            O::End | O::Delegate { .. } => {
                if let Some(frame) = frames.pop() {
                    fresh = meet(fresh, &frame.at_end);
                    if let Some(entry) = frame.else_entry {
                        fresh = meet(fresh, &entry);
                    }
                }
            }
            O::Br { relative_depth } => {
                branch(&mut frames, relative_depth, &fresh);
                fresh = None;
            }
            O::BrIf { relative_depth }
            | O::BrOnNull { relative_depth }
            | O::BrOnNonNull { relative_depth }
            | O::BrOnCast { relative_depth, .. }
            | O::BrOnCastFail { relative_depth, .. } => {
                branch(&mut frames, relative_depth, &fresh);
            }
            O::BrTable { ref targets } => {
                for target in targets.targets() {
                    branch(&mut frames, target?, &fresh);
                }
                branch(&mut frames, targets.default(), &fresh);
                fresh = None;
            }
            O::Return
            | O::Unreachable
            | O::Throw { .. }
            | O::ThrowRef
            | O::Rethrow { .. }
            | O::ReturnCall { .. }
            | O::ReturnCallIndirect { .. }
            | O::ReturnCallRef { .. } => fresh = None,
            _ => {}
        }
    }
    Ok((fast_at, memories))
}

impl InlineMemories {
    /// The emitter for a function whose memory `i` has its box in local `boxes[i]` when it is
    /// reified and the function loads from or stores to it inline (`None` otherwise).
    /// Allocates the locals in `scratch`; `loop_funcs` gives `gc-lower:memory.whole` and
    /// `gc-lower:trap:out-of-bounds-memory-access`, asked for only when some memory is
    /// accessed inline in a loop.
    pub fn new(
        boxes: &[Option<u32>],
        scan: BodyScan,
        scratch: &mut Scratch,
        loop_funcs: impl FnOnce() -> (OutFunc, OutFunc),
    ) -> Option<InlineMemories> {
        let mut cached = vec![None; boxes.len()];
        let mut any = false;
        for (i, b) in boxes.iter().enumerate() {
            let Some(membox) = *b else { continue };
            let looped = scan.accessed.contains(&(i as u32)).then(|| {
                (
                    scratch.fresh(ref_non_null(WORDS)),
                    scratch.fresh(we::ValType::I64),
                )
            });
            let fast = scan.fast_memories.contains(&(i as u32)).then(|| {
                (
                    scratch.fresh(we::ValType::Ref(we::RefType {
                        nullable: true,
                        heap_type: we::HeapType::Concrete(WORDS),
                    })),
                    scratch.fresh(we::ValType::I64),
                )
            });
            if looped.is_some() || fast.is_some() {
                cached[i] = Some(Cached {
                    membox,
                    looped,
                    fast,
                });
                any = true;
            }
        }
        if !any {
            return None;
        }
        let (whole, out_of_bounds) = match (!scan.accessed.is_empty()).then(loop_funcs) {
            Some((whole, out_of_bounds)) => (Some(whole), Some(out_of_bounds)),
            None => (None, None),
        };
        Some(InlineMemories {
            cached,
            reload_after: scan.reload_after,
            reload_before: scan.reload_before,
            live_after: scan.live_after,
            loop_memories: scan.loop_memories,
            inline_at: scan.inline_at,
            fast_at: scan.fast_at,
            pos: 0,
            ea64: scratch.fresh(we::ValType::I64),
            ea: scratch.fresh(we::ValType::I32),
            index: scratch.fresh(we::ValType::I32),
            versioned: scan.versioned,
            aligned_at: scan.aligned_at,
            unchecked: false,
            v32: scratch.fresh(we::ValType::I32),
            v64: scratch.fresh(we::ValType::I64),
            whole,
            out_of_bounds,
        })
    }

    /// Whether the load or store being rewritten, on memory `mem`, is emitted as a fast path
    /// (its slow path is then the helper's `…:past-bound` function, which the caller passes).
    pub fn fast(&self, mem: u32) -> bool {
        matches!(self.cached.get(mem as usize), Some(Some(c)) if c.fast.is_some())
            && self.fast_at.contains_key(&self.pos)
    }

    /// Whether the load or store being rewritten, on memory `mem`, is emitted inline.
    pub fn handles(&self, mem: u32) -> bool {
        matches!(self.cached.get(mem as usize), Some(Some(c)) if c.looped.is_some())
            && self.inline_at.contains(&self.pos)
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

    /// The loop that the operator at position `i` opens, when it is emitted twice.
    pub fn versioned(&self, i: usize) -> Option<Versioned> {
        self.versioned.get(&i).cloned()
    }

    /// Pushes whether the word array of each of `memories` holds exactly the whole memory:
    /// its length in bytes is the bound in the loop's locals (the size, once
    /// `gc-lower:memory.whole` has run).
    pub fn push_exact(&self, out: &mut Sink, memories: &[u32]) {
        use we::Instruction as I;
        for (k, c) in memories
            .iter()
            .filter_map(|&m| self.cached[m as usize])
            .enumerate()
        {
            let (words, bound) = c.looped.expect("memory is accessed inline in a loop");
            out.push(I::LocalGet(words));
            out.push(I::ArrayLen);
            out.push(I::I64ExtendI32U);
            out.push(I::I64Const(2));
            out.push(I::I64Shl);
            out.push(I::LocalGet(bound));
            out.push(I::I64Eq);
            if k > 0 {
                out.push(I::I32And);
            }
        }
    }

    /// Pushes whether each of `locals` (output locals, `i32`) is a multiple of 4, and-ed with
    /// the condition on the stack ([`Versioned::aligned`]).
    pub fn push_aligned(&self, out: &mut Sink, locals: &[u32]) {
        use we::Instruction as I;
        let Some((first, rest)) = locals.split_first() else {
            return;
        };
        out.push(I::LocalGet(*first));
        for &l in rest {
            out.push(I::LocalGet(l));
            out.push(I::I32Or);
        }
        out.push(I::I32Const(3));
        out.push(I::I32And);
        out.push(I::I32Eqz);
        out.push(I::I32And);
    }

    /// Whether the access being rewritten is one of a loop's unchecked version whose address
    /// is known to be aligned.
    fn aligned(&self) -> bool {
        self.unchecked && self.aligned_at.contains(&self.pos)
    }

    /// Sets whether the accesses emitted next are in the unchecked version of a loop.
    pub fn set_unchecked(&mut self, unchecked: bool) {
        self.unchecked = unchecked;
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
    /// size). When the box's bound already is the size, the array holds the whole memory, so
    /// `memory.whole` is called only when they differ; either way the array is then read from
    /// the box, where `memory.whole` leaves the array it returns:
    ///
    /// ```wat
    /// (if (i64.ne (local.tee $bound (struct.get $membox $bound (local.get $box)))
    ///             (i64.shl (i64.extend_i32_u (struct.get $membox $pages (local.get $box)))
    ///                      (i64.const 16)))
    ///   (then (call $gc-lower:memory.whole (local.get $box))
    ///         (local.set $bound) (drop)))
    /// (local.set $words (struct.get $membox $words (local.get $box)))
    /// ```
    ///
    /// Reading the array once after the `if`, rather than taking it as the `if`'s result from
    /// either arm, lets Cranelift see that every access in a loop reads the same array's
    /// length: with the array from an `if` result, wasmtime reloaded the length and redid its
    /// element-offset checks at every access of an unchecked loop version (`sum-i32` 1.37–1.39
    /// times slower, `fnv1a` 1.27; BENCHMARKS.md, "One array after the loop-entry test").
    fn reload(&self, out: &mut Sink, memories: &[u32]) {
        use we::Instruction as I;
        let field = |field_index| I::StructGet {
            struct_type_index: runtime_structs::MEMBOX,
            field_index,
        };
        for c in memories.iter().filter_map(|&m| self.cached[m as usize]) {
            let (words, bound) = c.looped.expect("memory is accessed inline in a loop");
            out.push(I::LocalGet(c.membox));
            out.push(field(runtime_structs::field::MEMBOX_BOUND));
            out.push(I::LocalTee(bound));
            out.push(I::LocalGet(c.membox));
            out.push(field(runtime_structs::field::MEMBOX_PAGES));
            out.push(I::I64ExtendI32U);
            out.push(I::I64Const(i64::from(
                runtime_structs::helpers::PAGE_SIZE.trailing_zeros(),
            )));
            out.push(I::I64Shl);
            out.push(I::I64Ne);
            out.push(I::If(we::BlockType::Empty));
            out.push(I::LocalGet(c.membox));
            out.push(I::Call(
                self.whole.expect("a loop accesses memory inline").0,
            ));
            out.push(I::LocalSet(bound));
            out.push(I::Drop);
            out.push(I::End);
            out.push(I::LocalGet(c.membox));
            out.push(field(runtime_structs::field::MEMBOX_WORDS));
            out.push(I::LocalSet(words));
        }
    }

    /// Consumes the i32 address on the stack, leaves `addr + offset` (in `i64`, so it never
    /// wraps) in `ea64`, and pushes whether `width` bytes there end past the bound in local
    /// `bound`.
    fn push_past_bound(&self, out: &mut Sink, bound: u32, offset: u64, width: u32) {
        use we::Instruction as I;
        out.push(I::I64ExtendI32U);
        if offset != 0 {
            out.push(I::I64Const(offset as i64));
            out.push(I::I64Add);
        }
        out.push(I::LocalTee(self.ea64));
        if width == 1 {
            // `ea + 1 > bound` is `ea >= bound`.
            out.push(I::LocalGet(bound));
            out.push(I::I64GeU);
        } else {
            out.push(I::I64Const(i64::from(width)));
            out.push(I::I64Add);
            out.push(I::LocalGet(bound));
            out.push(I::I64GtU);
        }
    }

    /// Consumes the i32 address on the stack, traps unless `width` bytes at `addr + offset`
    /// lie inside memory `c` (its bound is its size: the array holds the whole memory), and
    /// returns where the effective address is. In a loop's unchecked version (the array holds
    /// exactly the whole memory) it checks nothing: an element index past the array's end
    /// traps in the engine, and an address past 4 GiB gets an element index past any array:
    /// `(addr >> 2) + offset / 4` for an offset that is a multiple of 4, otherwise from
    /// `addr + offset` computed in `i64`.
    fn check(&self, out: &mut Sink, bound: u32, offset: u64, width: u32) -> Addr {
        use we::Instruction as I;
        if self.unchecked {
            if offset == 0 {
                out.push(I::LocalSet(self.ea));
                return Addr::from(self.ea);
            }
            if offset.is_multiple_of(4) {
                // The element is `(addr >> 2) + offset / 4`, below 2^31 (each term is below
                // 2^30), and past any array (at least 2^30) when `addr + offset` passes 4 GiB;
                // `addr` and `addr + offset` share their low two bits, all that the byte
                // address is read for here.
                out.push(I::LocalTee(self.ea));
                out.push(I::I32Const(2));
                out.push(I::I32ShrU);
                out.push(I::I32Const((offset / 4) as i32));
                out.push(I::I32Add);
                out.push(I::LocalSet(self.index));
                return Addr {
                    byte: self.ea,
                    index: Some(self.index),
                };
            }
            out.push(I::I64ExtendI32U);
            out.push(I::I64Const(offset as i64));
            out.push(I::I64Add);
            out.push(I::LocalTee(self.ea64));
            out.push(I::I32WrapI64);
            out.push(I::LocalSet(self.ea));
            out.push(I::LocalGet(self.ea64));
            out.push(I::I64Const(2));
            out.push(I::I64ShrU);
            out.push(I::I32WrapI64);
            out.push(I::LocalSet(self.index));
            return Addr {
                byte: self.ea,
                index: Some(self.index),
            };
        }
        self.push_past_bound(out, bound, offset, width);
        out.push(I::If(we::BlockType::Empty));
        out.push(I::Call(
            self.out_of_bounds.expect("a loop accesses memory inline").0,
        ));
        out.push(I::Unreachable);
        out.push(I::End);
        out.push(I::LocalGet(self.ea64));
        out.push(I::I32WrapI64);
        out.push(I::LocalSet(self.ea));
        Addr::from(self.ea)
    }

    /// Emits a load of `kind` (the address on the stack), inline in a loop.
    pub fn load(&self, out: &mut Sink, kind: LoadKind, memarg: wp::MemArg) {
        let c = self.cached[memarg.memory as usize].expect("memory is cached");
        let (words, bound) = c.looped.expect("memory is accessed inline in a loop");
        let addr = self.check(out, bound, memarg.offset, kind.width());
        let sink = &mut we::InstructionSink::new(&mut out.0);
        if self.aligned() {
            push_load_aligned(sink, kind, words, addr);
        } else {
            push_load(sink, kind, words, addr);
        }
    }

    /// Emits a store of `kind` (the address and the value on the stack), inline in a loop.
    pub fn store(&self, out: &mut Sink, kind: StoreKind, memarg: wp::MemArg) {
        let c = self.cached[memarg.memory as usize].expect("memory is cached");
        let (words, bound) = c.looped.expect("memory is accessed inline in a loop");
        let value = self.store_value(out, kind);
        let addr = self.check(out, bound, memarg.offset, kind.width());
        let sink = &mut we::InstructionSink::new(&mut out.0);
        if self.aligned() {
            push_store_aligned(sink, kind, words, addr, value);
        } else {
            push_store(sink, kind, words, addr, value);
        }
    }

    /// Moves the value of store `kind` from the stack to `v32` (stores of up to 4 bytes, as
    /// its low bytes) or `v64`.
    fn store_value(&self, out: &mut Sink, kind: StoreKind) -> StoreValue {
        let value = if convert_store_value(&mut we::InstructionSink::new(&mut out.0), kind) {
            StoreValue::I64(self.v64)
        } else {
            StoreValue::I32(self.v32)
        };
        out.push(we::Instruction::LocalSet(match value {
            StoreValue::I32(l) | StoreValue::I64(l) => l,
        }));
        value
    }

    /// Reloads memory `c`'s fast-path locals from its box when the scan found them possibly
    /// stale before the current access, keeping the access's address (on the stack) aside in
    /// `ea` meanwhile.
    fn reload_fast_if_stale(&self, out: &mut Sink, c: Cached) {
        if self.fast_at.get(&self.pos) == Some(&true) {
            out.push(we::Instruction::LocalSet(self.ea));
            self.reload_fast(out, c);
            out.push(we::Instruction::LocalGet(self.ea));
        }
    }

    /// Loads memory `c`'s fast-path locals from its box: the array and the bound as they are.
    fn reload_fast(&self, out: &mut Sink, c: Cached) {
        use we::Instruction as I;
        let (words, bound) = c.fast.expect("memory has a fast path");
        out.push(I::LocalGet(c.membox));
        out.push(I::StructGet {
            struct_type_index: runtime_structs::MEMBOX,
            field_index: runtime_structs::field::MEMBOX_WORDS,
        });
        out.push(I::LocalSet(words));
        out.push(I::LocalGet(c.membox));
        out.push(I::StructGet {
            struct_type_index: runtime_structs::MEMBOX,
            field_index: runtime_structs::field::MEMBOX_BOUND,
        });
        out.push(I::LocalSet(bound));
    }

    /// Consumes the i32 address on the stack, leaves `addr + offset` in `ea64` (and, for
    /// accesses wider than a byte, its low 32 bits in `ea`), and pushes whether the access
    /// must take the slow path: it ends past the bound in local `bound`, or (wider than a byte)
    /// its address is not a multiple of its width (of 4 for 8 bytes).
    fn fast_check(&self, out: &mut Sink, bound: u32, offset: u64, width: u32) {
        use we::Instruction as I;
        self.push_past_bound(out, bound, offset, width);
        if width > 1 {
            out.push(I::LocalGet(self.ea64));
            out.push(I::I32WrapI64);
            out.push(I::LocalTee(self.ea));
            out.push(I::I32Const(width.min(4) as i32 - 1));
            out.push(I::I32And);
            out.push(I::I32Or);
        }
    }

    /// Leaves the checked address's low 32 bits in `ea` for a one-byte access (wider ones
    /// set it in [`InlineMemories::fast_check`]).
    fn fast_ea(&self, out: &mut Sink, width: u32) {
        if width == 1 {
            out.push(we::Instruction::LocalGet(self.ea64));
            out.push(we::Instruction::I32WrapI64);
            out.push(we::Instruction::LocalSet(self.ea));
        }
    }

    /// Emits a load of `kind` (the address on the stack) as a fast path: an aligned access
    /// below the bound reads the array in the local; any other calls `slow`
    /// (`gc-lower:<load>:past-bound`, which extends the array or traps where core wasm traps,
    /// and handles any alignment) with the effective address as its offset, then reloads the
    /// locals (the array may have been replaced by a longer one).
    pub fn fast_load(&self, out: &mut Sink, kind: LoadKind, memarg: wp::MemArg, slow: OutFunc) {
        let c = self.cached[memarg.memory as usize].expect("memory is cached");
        let access = FastAccess {
            c,
            offset: memarg.offset,
            width: kind.width(),
            ty: we::BlockType::Result(kind.value_type()),
            value: None,
            slow,
        };
        self.fast_access(out, access, |s, words, ea| {
            push_load_aligned(s, kind, words, ea)
        });
    }

    /// Emits a store of `kind` (the address and the value on the stack) as a fast path, as
    /// [`InlineMemories::fast_load`]. `slow` is the `…:past-bound` helper of
    /// [`fast_store_kind`]`(kind)`, which stores the value as converted for the fast path.
    pub fn fast_store(&self, out: &mut Sink, kind: StoreKind, memarg: wp::MemArg, slow: OutFunc) {
        let c = self.cached[memarg.memory as usize].expect("memory is cached");
        let value = self.store_value(out, kind);
        let access = FastAccess {
            c,
            offset: memarg.offset,
            width: kind.width(),
            ty: we::BlockType::Empty,
            value: Some(match value {
                StoreValue::I32(l) | StoreValue::I64(l) => l,
            }),
            slow,
        };
        self.fast_access(out, access, |s, words, ea| {
            push_store_aligned(s, kind, words, ea, value)
        });
    }

    /// Emits `access` (its address on the stack): reloads the locals when stale, checks, and
    /// either calls the slow path (with `i32.const 0`, the stored value if any, the box and
    /// the effective address as its offset) and reloads, or runs `fast` on the word array's
    /// local and the address's.
    fn fast_access(
        &self,
        out: &mut Sink,
        access: FastAccess,
        fast: impl FnOnce(&mut we::InstructionSink<'_>, u32, u32),
    ) {
        use we::Instruction as I;
        let FastAccess {
            c,
            offset,
            width,
            ty,
            value,
            slow,
        } = access;
        let (words, bound) = c.fast.expect("memory has a fast path");
        self.reload_fast_if_stale(out, c);
        self.fast_check(out, bound, offset, width);
        out.push(I::If(ty));
        out.push(I::I32Const(0));
        if let Some(v) = value {
            out.push(I::LocalGet(v));
        }
        out.push(I::LocalGet(c.membox));
        out.push(I::LocalGet(self.ea64));
        out.push(I::Call(slow.0));
        self.reload_fast(out, c);
        out.push(I::Else);
        self.fast_ea(out, width);
        fast(&mut we::InstructionSink::new(&mut out.0), words, self.ea);
        out.push(I::End);
    }
}

/// One fast-path access for [`InlineMemories::fast_access`].
struct FastAccess {
    /// The memory.
    c: Cached,
    /// The memarg's offset.
    offset: u64,
    /// The access's width in bytes.
    width: u32,
    /// The type of the `if` around the two paths: the load's result, or empty for a store.
    ty: we::BlockType,
    /// For a store, the local holding its converted value.
    value: Option<u32>,
    /// The slow path's helper.
    slow: OutFunc,
}

/// The store whose slow path a fast-path store of `kind` calls: the same bytes, from the value
/// as [`convert_store_value`] leaves it (an i32 for stores of up to 4 bytes, an i64 for 8).
pub fn fast_store_kind(kind: StoreKind) -> StoreKind {
    match kind {
        StoreKind::I32Store | StoreKind::F32Store | StoreKind::I64Store32 => StoreKind::I32Store,
        StoreKind::I32Store8 | StoreKind::I64Store8 => StoreKind::I32Store8,
        StoreKind::I32Store16 | StoreKind::I64Store16 => StoreKind::I32Store16,
        StoreKind::I64Store | StoreKind::F64Store => StoreKind::I64Store,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scan of the first function of `wat`, with memory 2 native.
    fn scan(wat: &str) -> BodyScan {
        scan_with(wat, MemoryAccess::Inline, InlineAccesses::default(), |m| {
            m != 2
        })
    }

    /// The scan of the first function of `wat` for emitter `access` and limit `limit`, with
    /// the memories for which `reified` holds reified.
    fn scan_with(
        wat: &str,
        access: MemoryAccess,
        limit: InlineAccesses,
        reified: impl Fn(u32) -> bool,
    ) -> BodyScan {
        let bytes = wat::parse_str(wat).expect("valid text");
        let body = wp::Parser::new(0)
            .parse_all(&bytes)
            .find_map(|p| match p.expect("valid module") {
                wp::Payload::CodeSectionEntry(body) => Some(body),
                _ => None,
            })
            .expect("a function");
        let ops = body
            .get_operators_reader()
            .and_then(|r| r.into_iter().collect::<Result<Vec<_>, _>>())
            .expect("valid body");
        scan_body(&ops, access, limit, reified).expect("scan")
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
    /// A call-free loop with few accesses, not inside another one, is versioned with the
    /// memories it (and a loop inside it) accesses; not a loop that calls (its call-free inner
    /// loop is), one with more than `VERSIONED_MAX_ACCESSES` accesses, nor one holding a
    /// `br_table`.
    #[test]
    fn versioned_loops() {
        let s = scan(
            r#"(module
                (memory 1) (memory 1)
                (func $f (param i32)
                  (loop                                      ;; 0: versioned, memories 0, 1
                    (drop (i32.load 0 (local.get 0)))
                    (loop (drop (i32.load 1 (local.get 0)))))
                  (loop                                      ;; calls: its inner loop is
                    (call $f (i32.const 0))
                    (loop (drop (i32.load 1 (local.get 0)))))
                  (loop                                      ;; five accesses
                    (drop (i32.load 0 (local.get 0))) (drop (i32.load 0 (local.get 0)))
                    (drop (i32.load 0 (local.get 0))) (drop (i32.load 0 (local.get 0)))
                    (drop (i32.load 0 (local.get 0))))
                  (block (loop                               ;; br_table
                    (drop (i32.load 0 (local.get 0)))
                    (br_table 0 1 (local.get 0))))))"#,
        );
        let mut v: Vec<_> = s.versioned.into_iter().collect();
        v.sort_unstable_by_key(|(start, _)| *start);
        assert_eq!(v.len(), 2, "{v:?}");
        assert_eq!(v[0].0, 0);
        assert_eq!(v[0].1.memories, vec![0, 1]);
        assert_eq!(v[1].1.memories, vec![1]);
        assert!(v[0].1.end < v[1].0);
    }

    /// A versioned loop's aligned accesses: 4- and 8-byte ones at an offset that is a
    /// multiple of 4, addressed by a local that every write in the loop steps by a multiple
    /// of 4 (a store's address found back past its value's expression).
    #[test]
    fn aligned_addresses_in_versioned_loops() {
        let s = scan(
            r#"(module
                (memory 1)
                (func (param i32 i32 i32)
                  (loop                                                  ;; 0
                    (drop (i32.load (local.get 0)))                      ;; 2: aligned
                    (i32.store offset=6 (local.get 0) (i32.const 1))     ;; 6: offset 6
                    (i64.store (local.get 1)                             ;; 10: steps by 2
                      (i64.load offset=8 (local.get 2)))                 ;; 9: aligned
                    (local.set 0 (i32.sub (local.get 0) (i32.const 4)))
                    (local.set 1 (i32.add (local.get 1) (i32.const 2)))
                    (br_if 0 (local.get 2)))
                  (loop                                                  ;; 22
                    (drop (i32.load16_u (local.get 0)))                  ;; 2 bytes
                    (drop (i32.load (local.tee 0 (local.get 1))))        ;; 1 steps by 2
                    (local.set 1 (i32.add (local.get 1) (i32.const 2))))
                  (loop                                                  ;; 35
                    (i32.store (i32.shl (local.get 0) (i32.const 2))     ;; 45: always
                      (i32.load (i32.add (local.get 1)                   ;; 44: as 1 (and 2)
                        (i32.mul (local.get 0) (i32.const 8)))))
                    (local.set 0 (i32.add (local.get 0) (i32.const 1)))
                    (local.set 1 (i32.sub (local.tee 1 (local.get 2)) (i32.const 4))))))"#,
        );
        assert_eq!(s.versioned[&0].aligned, vec![0, 2]);
        assert_eq!(s.versioned[&22].aligned, Vec::<u32>::new());
        assert_eq!(s.versioned[&35].aligned, vec![1, 2]);
        assert_eq!(s.aligned_at, HashSet::from([2, 9, 44, 45]));
    }

    /// A branch that leaves the copied region targets one label further out; one that stays
    /// inside it does not change.
    #[test]
    fn escape_depth_renumbers_branches_that_leave() {
        use wp::Operator as O;
        let mut depth = 0;
        let ops = [
            O::Loop {
                blockty: wp::BlockType::Empty,
            },
            O::Br { relative_depth: 0 },
            O::BrIf { relative_depth: 1 },
            O::Block {
                blockty: wp::BlockType::Empty,
            },
            O::BrOnNull { relative_depth: 1 },
            O::BrOnNonNull { relative_depth: 2 },
            O::End,
            O::End,
        ];
        let out: Vec<_> = ops.iter().map(|op| escape_depth(op, &mut depth)).collect();
        assert!(matches!(out[1], O::Br { relative_depth: 0 }));
        assert!(matches!(out[2], O::BrIf { relative_depth: 2 }));
        assert!(matches!(out[4], O::BrOnNull { relative_depth: 1 }));
        assert!(matches!(out[5], O::BrOnNonNull { relative_depth: 3 }));
        assert_eq!(depth, 0);
    }

    /// The fast-path locals are reloaded before an access only where something may have
    /// swapped the array since the last access on every path: at entry, after a call, after
    /// an `if` one of whose arms calls, at a loop's head; not after an `if` whose arms both
    /// access. (Eight accesses: the limit.)
    #[test]
    fn fast_path_reloads_where_the_array_may_have_changed() {
        let s = fast_path_scan(InlineAccesses::default());
        let mut reloads: Vec<_> = s.fast_at.iter().map(|(&p, &r)| (p, r)).collect();
        reloads.sort_unstable();
        let reloads: Vec<bool> = reloads.into_iter().map(|(_, r)| r).collect();
        assert_eq!(
            reloads,
            vec![true, true, false, true, false, false, false, true]
        );
        assert_eq!(s.fast_memories, BTreeSet::from([0]));
        assert!(
            s.inline_at.is_empty(),
            "the loop calls, so nothing is inline in it"
        );
    }

    /// `--inline-accesses`: the eight accesses of the function above get fast paths under a
    /// limit of 8 (the default) and `all`, none under 7; the option's text parses both ways.
    #[test]
    fn inline_accesses_limits_the_functions_with_fast_paths() {
        let count = |limit| {
            let s = fast_path_scan(limit);
            (s.fast_at.len(), s.fast_memories.len())
        };
        assert_eq!(count(InlineAccesses::default()), (8, 1));
        assert_eq!(count(InlineAccesses::All), (8, 1));
        assert_eq!(count(InlineAccesses::AtMost(7)), (0, 0));
        assert_eq!("all".parse(), Ok(InlineAccesses::All));
        assert_eq!("32".parse(), Ok(InlineAccesses::AtMost(32)));
        assert!("-1".parse::<InlineAccesses>().unwrap_err().contains("`-1`"));
        assert_eq!(InlineAccesses::default().to_string(), "8");
    }

    /// The scan of the function of `fast_path_reloads_where_the_array_may_have_changed` (eight
    /// accesses outside loops that call nothing) with fast paths admitted by `limit`.
    fn fast_path_scan(limit: InlineAccesses) -> BodyScan {
        scan_with(
            r#"(module
                (memory 1)
                (func $f (param i32)
                  (drop (i32.load (local.get 0)))            ;; entry: reload
                  (call $f (i32.const 0))
                  (drop (i32.load (local.get 0)))            ;; after a call: reload
                  (if (local.get 0)
                    (then (call $f (i32.const 0)))
                    (else (drop (i32.load (local.get 0)))))  ;; fresh in this arm
                  (drop (i32.load (local.get 0)))            ;; one arm called: reload
                  (if (local.get 0)
                    (then (drop (i32.load (local.get 0))))   ;; fresh
                    (else (drop (i32.load (local.get 0)))))  ;; fresh
                  (drop (i32.load (local.get 0)))            ;; both arms fresh
                  (loop (drop (i32.load (local.get 0))) (call $f (i32.const 0)))))"#,
            MemoryAccess::FastPath,
            limit,
            |_| true,
        )
    }
}
