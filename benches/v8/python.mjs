// Run time of the componentize-py app (`tests/python/app`), or with `--app js` of the
// componentize-js app (`tests/js/app`), on V8: `jco transpile` of the
// original component ("native") against the module graph ("graph") and the lowered module
// re-wrapped ("reify-all", "reify-auto"; "reify-all-helper": `--reify all` with a helper call per
// load and store, the emitter before the inline one; "reify-all-inline": `--reify all
// --inline-accesses all`, fast paths in every function), with jco's WASI shim
// (`@bytecodealliance/preview2-shim`).
//
//   cargo run --release -p benches --bin prepare-v8          # writes benches/v8/out/{python,js}-app.*
//   tests/node/node_modules/.bin/node benches/v8/python.mjs [--app python|js] [--dir DIR] [--runs N]
//
// Transpiling, instantiation (WASI imports from the shim), checking and timing follow
// `run.mjs`: every form's result of each call must equal the original's on V8 (the lowered
// outputs are checked against wasmtime by `gc-lower/tests/componentize_{py,js}.rs`); per call, warm-up
// for at least 500 ms, then N runs (default 11) of ~50 ms batches, median time per call. Before
// any of that, each form runs every call in turn for `--warmup` seconds (default 2), so that the
// engine's optimizing compiler has reached the functions of the calls measured first (a large
// output is still being compiled half a second after it is first called).
//
//   node benches/v8/python.mjs --dir DIR --profile fib [--forms graph,reify-all] [--secs 8]
//
// `--profile CALL` (a call's first word: greet, sum, describe, parse, fib) instead makes that call
// again and again for `--secs` seconds per form under V8's sampling profiler (`node:inspector`,
// started after transpiling and instantiating) and prints, per function, its self time in
// microseconds per call in each form, sorted by how much more the last form spends there than
// the first. Names are the name section's, with the shared-library prefix (`libpython3.14.so!`)
// dropped so that the forms' functions line up; entry thunks read `entry:NAME`.

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { createRequire } from 'node:module';
import { Session } from 'node:inspector/promises';

const FORMS = ['native', 'graph', 'reify-all', 'reify-auto', 'reify-all-helper', 'reify-all-inline'];

const args = process.argv.slice(2);
const opt = (flag, dflt) => {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : dflt;
};
const dir = resolve(opt('--dir', 'benches/v8/out'));
const runs = Number(opt('--runs', 11));
const app = `${opt('--app', 'python')}-app`;
if (!['python-app', 'js-app'].includes(app)) throw new Error(`--app: python or js, not ${app}`);
const jco = resolve(process.env.GC_LOWER_JCO ?? 'tests/node/node_modules/.bin/jco');

// jco's WASI shim, from the packages `npm ci --prefix tests/node` installs.
const shimPath = createRequire(resolve('tests/node/package.json')).resolve('@bytecodealliance/preview2-shim');
const shim = await import(pathToFileURL(shimPath).href);

const camel = (name) => name.replace(/-([a-z0-9])/g, (_, c) => c.toUpperCase());

// `wasi:cli/terminal-input` → shim.cli.terminalInput, for every import jco asks for.
const wasi = new Proxy({}, {
  get(_, key) {
    const m = /^wasi:([a-z-]+)\/([a-z-]+)$/.exec(key);
    const value = m && shim[camel(m[1])]?.[camel(m[2])];
    if (!value) throw new Error(`no WASI shim for \`${String(key)}\``);
    return value;
  },
});

function transpile(form) {
  const out = join(dir, 'js', `${app}.${form}`);
  rmSync(out, { recursive: true, force: true });
  const input = form === 'graph' ? 'reify-auto' : form;
  const file = join(dir, `${app}.${input}.wasm`);
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`prepare-v8 ${dir}\` again`);
  execFileSync(process.execPath, [
    jco, 'transpile', join(dir, `${app}.${input}.wasm`),
    '--name', 'component', '--no-typescript', '--quiet', '--multi-memory',
    '--instantiation', 'async', '-o', out,
  ], { stdio: ['ignore', 'ignore', 'inherit'] });
  return out;
}

async function load(out, graphDir) {
  const mod = await import(pathToFileURL(join(out, 'component.js')).href);
  const getCoreModule = (path) => new WebAssembly.Module(readFileSync(join(out, path)));
  let instantiateCore = WebAssembly.instantiate;
  if (graphDir) {
    const { instantiateGraph } = await import(pathToFileURL(join(graphDir, 'loader.mjs')).href);
    const graph = JSON.parse(readFileSync(join(graphDir, 'graph.json'), 'utf8'));
    instantiateCore = async (module, imports) => {
      if (!WebAssembly.Module.exports(module).some((e) => e.name === '_initialize')) {
        return WebAssembly.instantiate(module, imports);
      }
      const compile = (f) => new WebAssembly.Module(readFileSync(join(graphDir, f)));
      const exports = await instantiateGraph(graph, compile, imports);
      return { exports: { ...exports, _initialize() {} } };
    };
  }
  return mod.instantiate(getCoreModule, wasi, instantiateCore);
}

const items = Array.from({ length: 100 }, (_, i) => ({ name: `item-${(i * 37) % 100}`, count: (i * 7919) % 50 }));
// The JavaScript app gets non-negative numbers: componentize-js 0.23.0 aborts when an export
// returns a negative `s64` (the same numbers as `benches/benches/js.rs`).
const numbers = Int32Array.from({ length: 10000 }, (_, i) =>
  app === 'js-app' ? ((i * 2654435761) >>> 0) >>> 1 : (i * 2654435761) | 0);
const CALLS = [
  ['greet', (m) => m.greet('wörld, a string that crosses the boundary')],
  ['sum (10 000 s32)', (m) => m.sum(numbers)],
  ['describe (100 records)', (m) => m.describe(items)],
  ['parse', (m) => m.parse('-12345678901')],
  ['fib (2000 loop iterations)', (m) => m.fib(2000)],
];

const show = (v) => JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? x.toString() : x));

async function measure(f) {
  let calls = 0;
  const warm = performance.now();
  while (calls < 5 || performance.now() - warm < 500) {
    f();
    calls++;
  }
  const perCall = (performance.now() - warm) / calls;
  const batch = Math.max(1, Math.round(50 / perCall));
  const times = [];
  for (let r = 0; r < runs; r++) {
    const t = performance.now();
    for (let i = 0; i < batch; i++) f();
    times.push((performance.now() - t) / batch);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}

const fmt = (ms) => (ms >= 1 ? ms.toFixed(2) : ms >= 0.01 ? ms.toFixed(4) : ms.toExponential(2));
const ratio = (x, base) => `${(x / base).toFixed(2)}×`;

if (args.includes('--profile')) {
  await profile(opt('--profile'), opt('--forms', 'graph,reify-all').split(','), Number(opt('--secs', 8)));
  process.exit(0);
}

// `--profile`: self time per function and call, per form (see the header).
async function profile(callName, forms, secs) {
  const found = CALLS.find(([name]) => name.split(' ')[0] === callName);
  if (!found) throw new Error(`--profile: one of ${CALLS.map(([n]) => n.split(' ')[0]).join(', ')}`);
  const [name, call] = found;
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  const perForm = [];
  for (const form of forms) {
    if (!FORMS.includes(form)) throw new Error(`--forms: each of ${FORMS.join(', ')}`);
    const instance = await load(transpile(form), form === 'graph' ? join(dir, `${app}.graph`) : null);
    call(instance);
    await session.post('Profiler.start');
    const start = performance.now();
    let calls = 0;
    while (performance.now() - start < secs * 1000) {
      call(instance);
      calls++;
    }
    const msPerCall = (performance.now() - start) / calls;
    const { profile: p } = await session.post('Profiler.stop');
    const node = new Map(p.nodes.map((n) => [n.id, n]));
    const self = new Map();
    let total = 0;
    p.samples.forEach((id, i) => {
      const key = (node.get(id).callFrame.functionName || '(anonymous)')
        .replace(/^gc-lower:entry:(?:[\w.-]+\.so!)?/, 'entry:')
        .replace(/^[\w.-]+\.so!/, '');
      const dt = p.timeDeltas[i] ?? 0;
      self.set(key, (self.get(key) ?? 0) + dt);
      total += dt;
    });
    for (const [key, t] of self) self.set(key, (t / total) * msPerCall * 1000);
    perForm.push(self);
    console.log(`${form}: ${name}, ${fmt(msPerCall)} ms per call (${calls} calls in ${secs} s)`);
  }
  const first = perForm[0];
  const last = perForm[perForm.length - 1];
  const keys = [...new Set(perForm.flatMap((m) => [...m.keys()]))];
  keys.sort((a, b) => ((last.get(b) ?? 0) - (first.get(b) ?? 0)) - ((last.get(a) ?? 0) - (first.get(a) ?? 0)));
  console.log();
  console.log(`| function | ${forms.map((f) => `${f} (µs per call)`).join(' | ')} |`);
  console.log(`|---|${forms.map(() => '---:').join('|')}|`);
  for (const key of keys.slice(0, 30)) {
    console.log(`| \`${key}\` | ${perForm.map((m) => (m.get(key) ?? 0).toFixed(0)).join(' | ')} |`);
  }
}

const instances = {};
for (const form of FORMS) {
  instances[form] = await load(transpile(form), form === 'graph' ? join(dir, `${app}.graph`) : null);
}
// Every call of every form in turn, before anything is measured (see the header).
const warmup = Number(opt('--warmup', 2));
for (const form of FORMS) {
  const start = performance.now();
  while (performance.now() - start < warmup * 1000) {
    for (const [, call] of CALLS) call(instances[form]);
  }
}
// Bun answers `process.version` and `process.versions.v8` with Node's, so name it itself.
const engine = typeof Bun !== 'undefined'
  ? `bun ${Bun.version} (JavaScriptCore)`
  : `node ${process.version} (V8 ${process.versions.v8})`;
console.log(`${engine}, ${runs} runs per figure, ms per call (median)`);
console.log();
console.log('| call | native (ms) | graph (ms) | reify-all (ms) | reify-auto (ms) | reify-all-helper (ms) | reify-all-inline (ms) | all / graph | auto / graph | all-helper / graph | all-inline / graph | auto / native |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const [name, call] of CALLS) {
  const expected = show(call(instances.native));
  const t = {};
  for (const form of FORMS) {
    const got = show(call(instances[form]));
    if (got !== expected) throw new Error(`${name}/${form}: ${got}, the original gave ${expected}`);
    t[form] = await measure(() => call(instances[form]));
  }
  console.log(`| ${name} | ${fmt(t.native)} | ${fmt(t.graph)} | ${fmt(t['reify-all'])} | ${fmt(t['reify-auto'])} | ${fmt(t['reify-all-helper'])} | ${fmt(t['reify-all-inline'])} | ${ratio(t['reify-all'], t.graph)} | ${ratio(t['reify-auto'], t.graph)} | ${ratio(t['reify-all-helper'], t.graph)} | ${ratio(t['reify-all-inline'], t.graph)} | ${ratio(t['reify-auto'], t.native)} |`);
}
