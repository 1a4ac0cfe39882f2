// A componentize-js app for gc-lower's tests: the WIT world of the Python app
// (`tests/python/app/app.wit`) implemented in JavaScript, so that one list of calls
// exercises two interpreters (StarlingMonkey's SpiderMonkey here, CPython there). Each app is
// compared only with itself run natively, so the two need not agree outside the tested
// calls: here `describe` orders names by UTF-16 code unit (Python: by code point), `parse`
// takes optionally signed ASCII digits only (Python's `int` also takes `1_000` and other
// digits) and returns an error for a number outside `s64`.

export function greet(name) {
  return `Hello, ${name}! (${[...name].length} chars)`;
}

export function sum(xs) {
  let total = 0n;
  for (const x of xs) total += BigInt(x);
  return total;
}

export function describe(items) {
  return [...items]
    .sort((a, b) => a.count - b.count || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((i) => `${i.name} x${i.count}`);
}

export function parse(text) {
  if (!/^[+-]?[0-9]+$/.test(text.trim())) {
    throw `invalid literal for an integer: '${text}'`;
  }
  const n = BigInt(text.trim());
  if (n !== BigInt.asIntN(64, n)) throw `out of range: '${text}'`;
  return n;
}

export function fib(n) {
  let [a, b] = [0n, 1n];
  for (let i = 0; i < n; i++) [a, b] = [b, BigInt.asUintN(64, a + b)];
  return a;
}
