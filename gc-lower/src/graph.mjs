// The loader of gc-lower's module-graph form (`gc-lower graph`), for any JavaScript engine
// with Wasm GC (V8: Node >= 22, Chrome >= 119).
//
//   import { instantiateGraph, loadGraph } from './loader.mjs';
//   const exports = await loadGraph(new URL('./', import.meta.url), imports);
//
// `imports` holds the host's functions under the guest core ABI's names, `imports[module][name]`
// (what the single-module output imports); the result holds the guest core ABI exports
// (`iface#f`, `cabi_post_iface#f`, `memory`, `cabi_realloc`, `iface#[dtor]r`). `graph.json`'s
// format is documented in gc-lower's `src/module_graph.rs`.

/// Instantiates the graph described by `graph` (parsed `graph.json`). `getModule(file)` returns
/// a `WebAssembly.Module` (or a promise of one) for a module file; each file is compiled once.
export async function instantiateGraph(graph, getModule, imports = {}) {
  if (graph.format !== 'gc-lower-graph') throw new Error('not a gc-lower module graph');
  const modules = new Map();
  const instances = [];
  const lookup = (from) => {
    const instance = instances[from.instance];
    if (!instance) throw new Error(`graph: instance ${from.instance} does not exist yet`);
    const item = instance.exports[from.export];
    if (item === undefined) throw new Error(`graph: instance ${from.instance} has no export \`${from.export}\``);
    return item;
  };
  for (const step of graph.steps) {
    if (step.instantiate !== undefined) {
      const file = graph.modules[step.instantiate];
      let module = modules.get(file);
      if (!module) {
        module = await getModule(file);
        modules.set(file, module);
      }
      const args = {};
      for (const imp of step.imports) {
        let item;
        if (imp.from === 'host') {
          item = imports[imp.module]?.[imp.name];
          if (item === undefined) throw new Error(`graph: the host does not provide \`${imp.module}\` \`${imp.name}\``);
        } else {
          item = lookup(imp.from);
        }
        (args[imp.module] ??= {})[imp.name] = item;
      }
      instances.push(await WebAssembly.instantiate(module, args));
    } else if (step.late !== undefined) {
      instances[0].exports.late.set(step.late, lookup(step.from));
    } else {
      throw new Error(`graph: unknown step ${JSON.stringify(step)}`);
    }
  }
  const exports = {};
  for (const e of graph.exports) exports[e.name] = lookup(e.from);
  return exports;
}

/// Reads `graph.json` and the module files from `base` (a directory URL) with `fetch`, or
/// with `node:fs` for `file:` URLs, and instantiates the graph.
export async function loadGraph(base, imports = {}) {
  const read = async (name) => {
    const url = new URL(name, base);
    if (url.protocol === 'file:') {
      const { readFile } = await import('node:fs/promises');
      return readFile(url);
    }
    const response = await fetch(url);
    if (!response.ok) throw new Error(`graph: failed to fetch ${url}`);
    return new Uint8Array(await response.arrayBuffer());
  };
  const graph = JSON.parse(new TextDecoder().decode(await read('graph.json')));
  return instantiateGraph(graph, async (file) => WebAssembly.compile(await read(file)), imports);
}
