// An experiment, not part of gc-lower: what the read-modify-write of each `i32.store8` costs a
// loop of byte stores on a reified memory (read its word, mask the byte in, write the word
// back; the next store reads the word just written), and whether keeping the word in a local
// gets that time back. Measured Dec 7 2026 (BENCHMARKS.md, "Tried and not kept: versioned
// loops of eight accesses, a word cache for byte stores"); not kept.
//
//   target/debug/gc-lower benches/workloads/memory.wat --reify all -t -o /tmp/memory.all.wat
//   tests/node/node_modules/.bin/node benches/experiments/store8-word-cache.mjs /tmp/memory.all.wat
//   tests/node/node_modules/@oven/bun-linux-x64/bin/bun benches/experiments/store8-word-cache.mjs /tmp/memory.all.wat
//
// From the lowered text it takes the `bytes` kernel's function and edits its unchecked loop
// version (the loop under the entry test's `if`, before its `else`) three ways, each
// assembled with Binaryen (installed by `npm ci --prefix tests/node`):
// - `plain`: unchanged, as gc-lower emits it;
// - `cache`: the store keeps the last word it wrote, and its index, in two locals, and reads
//   the word from the local instead of the array when the index is the same (write-through:
//   the array is still written at every store, so loads and traps see what they would);
// - `no-rmw`: the store does not read its word at all (wrong results: an upper bound of what
//   any scheme that avoids the read could gain).
// Beside them, the kernel on a linear memory (`linear`, the graph's form). Each module gets an
// exported `dst-checksum` that reads the destination's words from the memory's array, so the
// script checks that `cache` writes what `plain` writes (and that `no-rmw` does not). Each
// module is instantiated on the engine running the script; the time is the best over 12
// rounds of 20 calls of `bytes()`, every variant in each round, and the ratio is against
// `linear`. Any text the edits expect and do not find stops the script with an error.
import { readFileSync } from 'node:fs';

// Binaryen from tests/node, an ES module with top-level await.
const { default: binaryen } = await import(
  new URL('../../tests/node/node_modules/binaryen/index.js', import.meta.url)
);

const path = process.argv[2];
if (!path) {
  console.error('usage: store8-word-cache.mjs LOWERED.wat (gc-lower benches/workloads/memory.wat --reify all -t)');
  process.exit(1);
}
const text = readFileSync(path, 'utf8');

function need(value, what) {
  if (value === undefined || value === null || value === -1) throw new Error(`not found: ${what}`);
  return value;
}
// The text of the function that starts at `start`, up to the next function.
function funcAt(start) {
  const end = text.indexOf('\n  (func ', start + 1);
  return [start, end === -1 ? text.lastIndexOf('\n)') : end];
}

// The function that the `bytes` export's wrapper calls.
const wrapperName = need(text.match(/\(export "bytes" \(func (\$[^)\s]+)\)\)/)?.[1], 'the `bytes` export');
const [ws, we] = funcAt(need(text.indexOf(`(func ${wrapperName} `), 'the export wrapper'));
const callee = need(text.slice(ws, we).match(/\bcall (\$\S+)/)?.[1], 'the wrapper\'s call');
const [start, end] = funcAt(need(text.indexOf(`(func ${callee} `), 'the kernel\'s function'));
const original = text.slice(start, end);

// The memory's box: the vmctx field the function loads at entry, and the instance global.
const [, vmctxType, memField] = need(original.match(/struct\.get (\$\S+:vmctx) (\$memory\d+)/), 'the box load');
const instance = need(
  text.match(new RegExp(`\\(global (\\$instance\\d+) [^\\n]*\\(ref null \\$${vmctxType.slice(1)}\\)`))?.[1],
  'the instance global',
);

// The unchecked loop version: from the entry test's `if` to its `else`.
const loopStart = need(original.search(/\n( +)if ;; label = @1\n\1  loop/), 'the unchecked loop');
const indent = original.slice(loopStart + 1).match(/^ */)[0];
const loopEnd = need(original.indexOf(`\n${indent}else\n`, loopStart), 'the checked version');

// The store's read of its word: the array and the index pushed for `array.set`, then the
// same two for the `array.get` that reads the old word.
const rmw = /( +)local\.get (\d+)\n +local\.get (\d+)\n +local\.get \2\n +local\.get \3\n +array\.get \$gc-lower:words\n/g;
function storeRead(f) {
  rmw.lastIndex = 0;
  const matches = [...f.matchAll(rmw)].filter((m) => m.index > loopStart && m.index < loopEnd);
  if (matches.length !== 1) throw new Error(`expected one store in the unchecked loop, found ${matches.length}`);
  return matches[0];
}

function replaceOnce(f, from, to, what) {
  const at = need(f.indexOf(from), what);
  return f.slice(0, at) + to + f.slice(at + from.length);
}

// Named locals after the function's last declaration: their indices follow the others'.
function addLocals(f, decls) {
  const lines = f.split('\n');
  const last = need(lines.findLastIndex((l) => /^\s*\(local /.test(l)), 'the locals');
  lines[last] += ' ' + decls;
  return lines.join('\n');
}

const variants = {
  plain: original,
  cache: (() => {
    const m = storeRead(original);
    const [ind, arr, idx] = [m[1], m[2], m[3]];
    const read = [
      `local.get ${arr}`, `local.get ${idx}`,
      `local.get ${idx}`, 'local.get $ci', 'i32.eq', 'if (result i32)',
      '  local.get $cw', 'else', `  local.get ${arr}`, `  local.get ${idx}`,
      '  array.get $gc-lower:words', 'end',
    ].map((l) => ind + l + '\n').join('');
    let f = original.slice(0, m.index) + read + original.slice(m.index + m[0].length);
    const set = need(f.indexOf(`\n${ind}array.set $gc-lower:words\n`, m.index), 'the store\'s array.set');
    f = f.slice(0, set) + `\n${ind}local.tee $cw\n${ind}array.set $gc-lower:words\n${ind}local.get ${idx}\n${ind}local.set $ci\n` +
      f.slice(set + `\n${ind}array.set $gc-lower:words\n`.length);
    // No word is cached at the loop's entry (no index is -1).
    f = replaceOnce(f, `\n${indent}if ;; label = @1\n${indent}  loop`,
      `\n${indent}if ;; label = @1\n${indent}  i32.const -1\n${indent}  local.set $ci\n${indent}  loop`, 'the loop entry');
    return addLocals(f, '(local $ci i32) (local $cw i32)');
  })(),
  'no-rmw': (() => {
    const m = storeRead(original);
    return original.slice(0, m.index) + `${m[1]}local.get ${m[2]}\n${m[1]}local.get ${m[3]}\n${m[1]}i32.const 0\n` +
      original.slice(m.index + m[0].length);
  })(),
};

// A checksum of the destination's words (1 MiB at 0x100000), read from the memory's array.
const checksum = `
  (func (export "dst-checksum") (result i32)
    (local $w (ref $gc-lower:words)) (local $i i32) (local $s i32)
    (local.set $w (struct.get $gc-lower:membox $words
      (struct.get ${vmctxType} ${memField} (global.get ${instance}))))
    (local.set $i (i32.const 262144))
    (loop $l
      (local.set $s (i32.add (i32.mul (local.get $s) (i32.const 31))
        (array.get $gc-lower:words (local.get $w) (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 524288))))
    (local.get $s))`;
const withFunc = (f) => text.slice(0, start) + f + checksum + text.slice(end);

const linear = `(module
  (memory 32)
  (func (export "bytes") (result i32)
    (local $p i32) (local $b i32) (local $s i32)
    (loop $l
      (local.set $b (i32.load8_u (local.get $p)))
      (i32.store8 offset=0x100000 (local.get $p) (i32.xor (local.get $b) (i32.const 0x5a)))
      (local.set $s (i32.add (local.get $s) (local.get $b)))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $p) (i32.const 0x100000))))
    (local.get $s)))`;

function assemble(name, wat) {
  const module = binaryen.parseText(wat);
  module.setFeatures(binaryen.Features.All);
  if (!module.validate()) throw new Error(`variant ${name} does not validate`);
  const bytes = module.emitBinary();
  module.dispose();
  return bytes;
}

const exports = {};
for (const [name, wat] of [['linear', linear], ...Object.entries(variants).map(([n, f]) => [n, withFunc(f)])]) {
  const { instance: inst } = await WebAssembly.instantiate(assemble(name, wat), {});
  const e = inst.exports;
  e._initialize?.();
  e.init?.(7);
  exports[name] = e;
}
// `cache` writes what `plain` writes; `no-rmw` does not (the checksum sees the stores).
const sums = {};
for (const name of ['plain', 'cache', 'no-rmw']) {
  const result = exports[name].bytes();
  sums[name] = exports[name]['dst-checksum']();
  if (name !== 'plain' && result !== exports.plain.bytes()) throw new Error(`${name}: another result`);
}
if (sums.cache !== sums.plain) throw new Error('the cache variant writes other bytes');
if (sums['no-rmw'] === sums.plain) throw new Error('the checksum does not see the stores');

const best = {};
for (let round = 0; round < 15; round++) {
  for (const [name, e] of Object.entries(exports)) {
    const t0 = performance.now();
    for (let i = 0; i < 20; i++) e.bytes();
    const ms = (performance.now() - t0) / 20;
    if (round >= 3) best[name] = Math.min(best[name] ?? Infinity, ms);
  }
}
for (const [name, ms] of Object.entries(best)) {
  console.log(`${name.padEnd(7)} ${ms.toFixed(3)} ms  ${(ms / best.linear).toFixed(2)}x`);
}
