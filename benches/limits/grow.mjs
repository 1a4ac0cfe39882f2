// Grows the reified memory of `grow.wat` (lowered) and reports how far it got:
//   gc-lower benches/limits/grow.wat -o /tmp/grow.wasm
//   node benches/limits/grow.mjs /tmp/grow.wasm [STEP]   (or: bun benches/limits/grow.mjs …)
// grows in steps of STEP pages (default 1 024), writing the last word after each step, until
// memory.grow returns -1 or something traps; prints the last size reached and how it ended.
//   node benches/limits/grow.mjs /tmp/grow.wasm --ends PAGES
// grows once to PAGES pages, then writes and reads back a word at the start and one at the end.
const fs = (typeof Bun !== 'undefined') ? require('fs') : await import('fs');
const bytes = fs.readFileSync(process.argv[2]);
const { instance } = await WebAssembly.instantiate(bytes, {});
instance.exports._initialize();
const { grow, poke, peek } = instance.exports;

function pokePeek(addr, value) {
  poke(addr, value);
  return peek(addr) === value;
}

if (process.argv[3] === '--ends') {
  const target = Number(process.argv[4]);
  let end;
  try {
    const r = grow(target - 1);
    if (r === -1) end = `memory.grow(${target - 1}) returned -1`;
    else if (!pokePeek(16, 1)) end = 'read back at the start differs';
    else if (!pokePeek(target * 65536 - 4, 2)) end = 'read back at the end differs';
    else end = 'both ends written and read back';
  } catch (e) { end = `trap: ${e.message}`; }
  console.log(`${target} pages (${(target / 16384).toFixed(2)} GiB); ${end}`);
} else {
  const step = Number(process.argv[3] || 1024);
  let pages = 1, end = 'reached 65536 pages';
  try {
    while (pages < 65536) {
      const d = Math.min(step, 65536 - pages);
      const r = grow(d);
      if (r === -1) { end = `memory.grow(${d}) returned -1`; break; }
      pages += d;
      if (!pokePeek(pages * 65536 - 4, pages)) { end = 'read back differs'; break; }
    }
  } catch (e) { end = `trap: ${e.message}`; }
  console.log(`${pages} pages (${(pages / 16384).toFixed(2)} GiB); ${end}`);
}
