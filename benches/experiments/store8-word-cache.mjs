// An experiment, not part of gc-lower: does a loop of byte stores on a reified memory pay for
// the chain through memory that each `i32.store8` makes (read its word, mask, write the word
// back, and the next store reads the word just written)? Measured Dec 7 2026 (BENCHMARKS.md,
// "Tried and not kept: a word cache for byte stores"); not kept.
//
//   target/debug/gc-lower benches/workloads/memory.wat --reify all -t -o /tmp/memory.all.wat
//   tests/node/node_modules/.bin/node benches/experiments/store8-word-cache.mjs /tmp/memory.all.wat
//   tests/node/node_modules/@oven/bun-linux-x64/bin/bun benches/experiments/store8-word-cache.mjs /tmp/memory.all.wat
//
// From the lowered text it takes the `bytes` kernel's function and edits its unchecked loop
// version (the first `loop` after the entry test) three ways, each assembled with Binaryen:
// - `plain`: unchanged, as gc-lower emits it;
// - `cache`: the store keeps the last word it wrote, and its index, in two locals, and reads
//   the word from the local instead of the array when the index is the same (write-through:
//   the array is still written at every store, so loads and traps see what they would);
// - `no-rmw`: the store does not read its word at all (wrong results: an upper bound of what
//   any scheme that avoids the read could gain).
// Beside them, the kernel on a linear memory (`linear`, the graph's form). Each module is
// instantiated on the engine running the script; the time is the best over 12 rounds of 20
// calls of `bytes()`, every variant in each round, and the ratio is against `linear`.
import { readFileSync } from 'node:fs';

// Binaryen from tests/node (`npm ci --prefix tests/node`), an ES module with top-level await.
const { default: binaryen } = await import(
  new URL('../../tests/node/node_modules/binaryen/index.js', import.meta.url)
);

const path = process.argv[2];
if (!path) {
  console.error('usage: store8-word-cache.mjs LOWERED.wat (gc-lower benches/workloads/memory.wat --reify all -t)');
  process.exit(1);
}
const text = readFileSync(path, 'utf8');

// The function the `bytes` export's wrapper calls.
const wrapper = text.match(/\(export "bytes" \(func (\$[^)\s]+)\)\)/)?.[1];
if (!wrapper) throw new Error('no `bytes` export');
const wrapperBody = text.slice(text.indexOf(`(func ${wrapper} `));
const callee = wrapperBody.match(/call (\$\S+)/)[1];
const start = text.indexOf(`(func ${callee} `);
const end = text.indexOf('\n  (func ', start + 1);
const original = text.slice(start, end);

function edit(name, f) {
  const changed = f(original);
  if (changed === original) throw new Error(`variant ${name} changed nothing`);
  return text.slice(0, start) + changed + text.slice(end);
}

// The store's read of its word in the unchecked loop: the array and the index pushed for
// `array.set`, then the same two for the `array.get` that reads the old word.
const rmw = /( +)local\.get (\d+)\n +local\.get (\d+)\n +local\.get \2\n +local\.get \3\n +array\.get \$gc-lower:words\n/;
const locals = original.match(/\(local (\(ref null \$gc-lower:membox\)[^\n]*)\)\n/);
const numbered = original.match(/\(param [^\n]*/)[0].split('(param').length - 1 +
  [...original.matchAll(/\(local \$\S+ \S+\)/g)].length +
  locals[1].replace(/\([^)]*\)/g, 'r').trim().split(/\s+/).length;
const [ci, cw] = [numbered, numbered + 1];

const variants = {
  plain: text,
  cache: edit('cache', (f) => {
    f = f.replace(locals[0], `(local ${locals[1]} i32 i32)\n`);
    f = f.replace(/( +)if ;; label = @1\n( +)loop/, `$1if ;; label = @1\n$2i32.const -1\n$2local.set ${ci}\n$2loop`);
    const m = f.match(rmw);
    const [ind, arr, idx] = [m[1], m[2], m[3]];
    const replacement = [
      `local.get ${arr}`, `local.get ${idx}`,
      `local.get ${idx}`, `local.get ${ci}`, 'i32.eq', 'if (result i32)',
      `  local.get ${cw}`, 'else', `  local.get ${arr}`, `  local.get ${idx}`,
      '  array.get $gc-lower:words', 'end',
    ].map((l) => ind + l + '\n').join('');
    const at = f.indexOf(m[0]);
    f = f.slice(0, at) + replacement + f.slice(at + m[0].length);
    const set = f.indexOf('array.set $gc-lower:words\n', at);
    return f.slice(0, set) + `local.tee ${cw}\n${ind}array.set $gc-lower:words\n${ind}local.get ${idx}\n${ind}local.set ${ci}\n` +
      f.slice(set + 'array.set $gc-lower:words\n'.length);
  }),
  'no-rmw': edit('no-rmw', (f) => f.replace(rmw, '$1local.get $2\n$1local.get $3\n$1i32.const 0\n')),
};

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
for (const [name, wat] of [['linear', linear], ...Object.entries(variants)]) {
  const { instance } = await WebAssembly.instantiate(assemble(name, wat), {});
  const e = instance.exports;
  e._initialize?.();
  e.init?.(7);
  exports[name] = e;
}
// The variants that keep the semantics agree with the unchanged output.
const expected = exports.plain.bytes();
if (exports.cache.bytes() !== expected) throw new Error('the cache variant computes another sum');

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
