// The V8 side of gc-lower's benchmarks: every workload of `benches/` as `jco transpile` of the
// original component ("native") against the module graph of `gc-lower graph` ("graph") and
// `jco transpile` of the lowered module re-wrapped into a component ("reify-all",
// "reify-auto"), on Node. The graph runs under jco's bindings of the "reify-auto" form (the
// same guest core ABI): their `instantiateCore` hands the lowered module's imports to the
// graph's JS loader (`{workload}.graph/loader.mjs`) instead.
//
//   cargo run --release -p benches --bin prepare-v8          # writes benches/v8/out/
//   npm ci --prefix tests/node --no-audit --no-fund          # Node 24 and jco
//   tests/node/node_modules/.bin/node benches/v8/run.mjs [--dir DIR] [--runs N] [--only WORKLOAD]
//
// Every form is transpiled with the flags the project's differential runner uses
// (`--multi-memory`, so jco leaves core modules as they are) plus `--instantiation async`, so
// the script can instantiate a form many times from core modules compiled once. Before any
// timing, each kernel's result in each form is checked against the result wasmtime's native
// component runtime gave (`workloads.json`, written by `prepare-v8`).
//
// A kernel is timed on one instance after its workload's setup calls: first warm-up calls for
// at least 500 ms (so V8 has tiered up), then N runs (default 11), each a batch of calls that
// lasts about 50 ms; the figure is the median over the runs of the time per call, in
// milliseconds. Instantiation is timed the same way (N runs of batches of `instantiate()`,
// with the core modules already compiled). Ratios are to the module graph and to the
// "native" (transpiled original) form. The tool is found in `GC_LOWER_JCO`, or else in `tests/node/node_modules/.bin/`.

import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';

// `reify-all-helper`: `--reify all` with one helper call per load and store (the emitter
// before the inline one), for comparison in the same run.
const FORMS = ['native', 'graph', 'reify-all', 'reify-auto', 'reify-all-helper'];

function options(argv) {
  const o = { dir: 'benches/v8/out', runs: 11, only: null };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[++i];
    if (value === undefined) throw new Error(`\`${flag}\` needs a value`);
    if (flag === '--dir') o.dir = value;
    else if (flag === '--runs') o.runs = Number(value);
    else if (flag === '--only') o.only = value;
    else throw new Error(`unknown option \`${flag}\``);
  }
  return o;
}

const opts = options(process.argv.slice(2));
const dir = resolve(opts.dir);
const jco = resolve(process.env.GC_LOWER_JCO ?? 'tests/node/node_modules/.bin/jco');
const manifest = JSON.parse(readFileSync(join(dir, 'workloads.json'), 'utf8'));

// `kebab-case` → `lowerCamelCase`, as jco names exports.
const camel = (name) => name.replace(/-([a-z0-9])/g, (_, c) => c.toUpperCase());

function transpile(workload, form) {
  const out = join(dir, 'js', `${workload}.${form}`);
  rmSync(out, { recursive: true, force: true });
  const input = form === 'graph' ? 'reify-auto' : form;
  execFileSync(process.execPath, [
    jco, 'transpile', join(dir, `${workload}.${input}.wasm`),
    '--name', 'component', '--no-typescript', '--quiet', '--multi-memory',
    '--instantiation', 'async', '-o', out,
  ], { stdio: ['ignore', 'ignore', 'inherit'] });
  return out;
}

// Imports a transpiled form; returns a function that instantiates it (core modules compiled
// once, on first use). With `graphDir`, the lowered core module (the one exporting
// `_initialize`) is replaced by the module graph in `graphDir`.
async function load(out, graphDir) {
  const mod = await import(pathToFileURL(join(out, 'component.js')).href);
  const compiled = new Map();
  const compile = (path) => {
    if (!compiled.has(path)) compiled.set(path, new WebAssembly.Module(readFileSync(path)));
    return compiled.get(path);
  };
  const getCoreModule = (path) => compile(join(out, path));
  let instantiateCore = WebAssembly.instantiate;
  if (graphDir) {
    const { instantiateGraph } = await import(pathToFileURL(join(graphDir, 'loader.mjs')).href);
    const graph = JSON.parse(readFileSync(join(graphDir, 'graph.json'), 'utf8'));
    instantiateCore = async (module, imports) => {
      if (!WebAssembly.Module.exports(module).some((e) => e.name === '_initialize')) {
        return WebAssembly.instantiate(module, imports);
      }
      const exports = await instantiateGraph(graph, (f) => compile(join(graphDir, f)), imports);
      return { exports: { ...exports, _initialize() {} } };
    };
  }
  const instantiate = () => mod.instantiate(getCoreModule, {}, instantiateCore);
  await instantiate();
  return instantiate;
}

function invoke(instance, k) {
  const f = instance[camel(k.export)];
  if (typeof f !== 'function') throw new Error(`no export \`${k.export}\``);
  return k.sig.startsWith('()') ? f() : f(k.arg);
}

// Median over `runs` batches of the time per call of `f` (ms), after a warm-up.
async function measure(f, runs) {
  let calls = 0;
  const warm = performance.now();
  while (calls < 5 || performance.now() - warm < 500) {
    await f();
    calls++;
  }
  const perCall = (performance.now() - warm) / calls;
  const batch = Math.max(1, Math.round(50 / perCall));
  const times = [];
  for (let r = 0; r < runs; r++) {
    const t = performance.now();
    for (let i = 0; i < batch; i++) await f();
    times.push((performance.now() - t) / batch);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}

const fmt = (ms) => (ms >= 1 ? ms.toFixed(2) : ms >= 0.01 ? ms.toFixed(4) : ms.toExponential(2));
const ratio = (x, base) => `${(x / base).toFixed(2)}×`;

// Bun answers `process.version` and `process.versions.v8` with Node's, so name it itself.
const engine = typeof Bun !== 'undefined'
  ? `bun ${Bun.version} (JavaScriptCore)`
  : `node ${process.version} (V8 ${process.versions.v8})`;
console.log(`${engine}, ${opts.runs} runs per figure, ms per call (median)`);
console.log();
console.log('| workload | kernel | native (ms) | graph (ms) | reify-all (ms) | reify-auto (ms) | reify-all-helper (ms) | all / graph | auto / graph | all-helper / graph | graph / native | auto / native |');
console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const w of manifest) {
  if (opts.only && w.name !== opts.only) continue;
  const forms = {};
  for (const form of FORMS) {
    const graphDir = form === 'graph' ? join(dir, `${w.name}.graph`) : null;
    forms[form] = await load(transpile(w.name, form), graphDir);
  }
  const rows = [];
  for (const k of w.kernels) {
    const t = {};
    for (const form of FORMS) {
      const instance = await forms[form]();
      for (const s of w.setup) invoke(instance, s);
      // A function without a result counts as returning 0, as in `prepare-v8`.
      const got = String(invoke(instance, k) ?? 0);
      if (got !== k.expected) {
        throw new Error(`${w.name}/${k.name}/${form}: ${got}, wasmtime's native runtime gave ${k.expected}`);
      }
      t[form] = await measure(() => invoke(instance, k), opts.runs);
    }
    rows.push([k.name, t]);
  }
  const t = {};
  for (const form of FORMS) t[form] = await measure(forms[form], opts.runs);
  rows.push(['instantiate', t]);
  for (const [name, t] of rows) {
    console.log(`| ${w.name} | ${name} | ${fmt(t.native)} | ${fmt(t.graph)} | ${fmt(t['reify-all'])} | ${fmt(t['reify-auto'])} | ${fmt(t['reify-all-helper'])} | ${ratio(t['reify-all'], t.graph)} | ${ratio(t['reify-auto'], t.graph)} | ${ratio(t['reify-all-helper'], t.graph)} | ${ratio(t.graph, t.native)} | ${ratio(t['reify-auto'], t.native)} |`);
  }
}
