// One export of lowered modules, run as plain core modules (no component bindings), timed
// side by side: for the async ABI's workloads (`benches/workloads/stream.wat`), whose lowered
// module needs no bindings at all (it has no imports, and the export takes and returns
// scalars). With `--jco DIR`, also the original transpiled by jco with JSPI (its export is
// then an async function, each call awaited):
//
//   target/debug/gc-lower benches/workloads/stream.wat --reify all -o /tmp/stream.all.wasm
//   target/debug/gc-lower benches/workloads/stream.wat --reify auto -o /tmp/stream.auto.wasm
//   WAST_STRICT_COMPONENT_INDICES=0 tests/node/node_modules/.bin/jco transpile \
//       benches/workloads/stream.wat -o /tmp/stream.jco --multi-memory \
//       --instantiation async --async-mode jspi --async-exports stream
//   target/debug/gc-lower graph benches/workloads/stream.wat -o /tmp/stream.graph
//   tests/node/node_modules/.bin/node benches/v8/core.mjs --export stream [--runs N] \
//       [--jco /tmp/stream.jco] /tmp/stream.graph /tmp/stream.all.wasm /tmp/stream.auto.wasm
//
// A FILE that is a directory holding `graph.json` is a module graph, instantiated by its own
// `loader.mjs` with no host imports.
//
// `--arg N` passes the integer N to every call (`fanout.wat`'s `fanout`: `--arg 1000`).
//
// Runs with plain `WebAssembly`, so Bun (JavaScriptCore) runs the lowered modules too. Each
// file is instantiated once and its `_initialize` run; every form's export must return the
// same result. Then: warm-up calls for at least 500 ms per file, then N runs (default 11), the
// files interleaved run by run, each run a batch of calls lasting about 50 ms; the figure is
// the median over the runs of the time per call, in milliseconds.

import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';

function options(argv) {
  const o = { runs: 11, exp: null, jco: null, args: [], files: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--runs') o.runs = Number(argv[++i]);
    else if (a === '--export') o.exp = argv[++i];
    else if (a === '--jco') o.jco = argv[++i];
    else if (a === '--arg') o.args.push(Number(argv[++i]));
    else if (a.startsWith('--')) throw new Error(`unknown option \`${a}\``);
    else o.files.push(a);
  }
  if (!o.exp || o.files.length === 0) {
    throw new Error('usage: core.mjs --export NAME [--arg N]... [--runs N] [--jco DIR] FILE...');
  }
  return o;
}

// Calls `f`, awaiting its result when it is a promise (jco's async exports).
const call = async (f) => {
  const v = f();
  return v instanceof Promise ? await v : v;
};

const opts = options(process.argv.slice(2));
const forms = [];
if (opts.jco) {
  const dir = resolve(opts.jco);
  const bindings = await import(pathToFileURL(join(dir, `${opts.exp}.js`)).href);
  const compile = async (p) => WebAssembly.compile(await readFile(join(dir, p)));
  const instance = await bindings.instantiate(compile);
  const g = instance[opts.exp.replace(/-([a-z0-9])/g, (_, c) => c.toUpperCase())];
  const f = () => g(...opts.args);
  forms.push({ file: `${opts.jco} (jco, JSPI)`, f, result: await call(f), times: [] });
}
for (const file of opts.files) {
  let exports;
  if (existsSync(join(file, 'graph.json'))) {
    // A module graph (`gc-lower graph`), instantiated by its own loader.
    const { instantiateGraph } = await import(pathToFileURL(resolve(file, 'loader.mjs')).href);
    const graph = JSON.parse(readFileSync(join(file, 'graph.json'), 'utf8'));
    exports = await instantiateGraph(graph, (f) => new WebAssembly.Module(readFileSync(join(file, f))), {});
  } else {
    const module = new WebAssembly.Module(readFileSync(file));
    exports = new WebAssembly.Instance(module, {}).exports;
    exports._initialize();
  }
  const g = exports[opts.exp];
  if (typeof g !== 'function') throw new Error(`${file} has no export \`${opts.exp}\``);
  const f = () => g(...opts.args);
  forms.push({ file, f, result: f(), times: [] });
}
for (const form of forms) {
  if (form.result !== forms[0].result) {
    throw new Error(`${form.file} returned ${form.result}, ${forms[0].file} ${forms[0].result}`);
  }
  const start = performance.now();
  let calls = 0;
  while (performance.now() - start < 500) {
    await call(form.f);
    calls++;
  }
  form.batch = Math.max(1, Math.round((50 * calls) / (performance.now() - start)));
}
for (let run = 0; run < opts.runs; run++) {
  for (const form of forms) {
    const start = performance.now();
    for (let i = 0; i < form.batch; i++) await call(form.f);
    form.times.push((performance.now() - start) / form.batch);
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log('| file | result | ms per call |');
console.log('|---|---:|---:|');
for (const form of forms) {
  console.log(`| ${form.file} | ${form.result} | ${median(form.times).toFixed(4)} |`);
}
