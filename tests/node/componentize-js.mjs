// Builds the componentize-js app of `tests/js/app`: `node componentize-js.mjs OUT.wasm` writes
// the component to OUT.wasm. componentize-js is pinned in this directory's package.json.
// Features the app does not use (random numbers, clocks, HTTP) are left out; standard output
// and error stay, so an uncaught exception is reported there.
import { componentize } from '@bytecodealliance/componentize-js';
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const out = process.argv[2];
if (!out) throw new Error('usage: node componentize-js.mjs OUT.wasm');
const { component } = await componentize({
  sourcePath: here('../js/app/app.js'),
  // The WIT text rather than its path: the splicer runs sandboxed and sees no directory above
  // the source's.
  witWorld: await readFile(here('../python/app/app.wit'), 'utf8'),
  worldName: 'app',
  disableFeatures: ['random', 'clocks', 'http', 'fetch-event'],
});
await writeFile(out, component);
