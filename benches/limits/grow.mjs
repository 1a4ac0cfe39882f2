// Grows the reified memory of `grow.wat` (lowered) in steps of STEP pages until memory.grow
// returns -1 or traps; prints the last size reached and how it ended:
//   gc-lower benches/limits/grow.wat -o /tmp/grow.wasm
//   node benches/limits/grow.mjs /tmp/grow.wasm [STEP]   (or: bun benches/limits/grow.mjs …)
const fs = (typeof Bun !== 'undefined') ? require('fs') : await import('fs');
const bytes = fs.readFileSync(process.argv[2]);
const step = Number(process.argv[3] || 1024);
const { instance } = await WebAssembly.instantiate(bytes, {});
instance.exports._initialize();
let pages = 1, end = 'reached 65536 pages';
try {
  while (pages < 65536) {
    const d = Math.min(step, 65536 - pages);
    const r = instance.exports.grow(d);
    if (r === -1) { end = `memory.grow(${d}) returned -1`; break; }
    pages += d;
    instance.exports.poke(pages * 65536 - 4, pages);
    if (instance.exports.peek(pages * 65536 - 4) !== pages) { end = 'read back differs'; break; }
  }
} catch (e) { end = `trap: ${e.message}`; }
console.log(`${pages} pages (${(pages / 16384).toFixed(2)} GiB); ${end}`);
