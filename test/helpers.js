// Shared test helpers: a seeded RNG (tests are reproducible), the builds this engine can run, and `needs`:
// tests that need an engine or data from outside npm skip loudly without it.
import { init, detect } from '../dist/index.js';
import { FASHION_MNIST_DEBIAN_DIR, DIGITS_CSV_PATHS } from '../dist/data/sources.js';
import { CHROMIUM, FIREFOX, WEBKIT, webkitAvailable } from './browsers.js';
import { spawnSync } from 'node:child_process';
import { accessSync, constants as fsConstants, existsSync } from 'node:fs';
import { delimiter, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

export function rng(seed = 1) {
  let s = seed >>> 0 || 1;
  const next = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s; };
  return {
    u32: next,
    int: (lo, hi) => lo + (next() % (hi - lo + 1)),       // inclusive
    float: () => next() / 4294967296,
    i8: (n, lo = -128, hi = 127) => Int8Array.from({ length: n }, () => lo + (next() % (hi - lo + 1))),
    f32: (n, scale = 1) => Float32Array.from({ length: n }, () => (next() / 4294967296 * 2 - 1) * scale),
  };
}

let cache = null;
/** Loaded Qwasm instances for every build this engine runs correctly (scalar, simd; relaxed if it passes its probe). */
export async function builds() {
  if (cache) return cache;
  const s = await detect();
  const names = ['scalar', ...(s.simd ? ['simd'] : []), ...(s.relaxed ? ['relaxed'] : [])];
  cache = await Promise.all(names.map((build) => init({ build })));
  return cache;
}

export function eq(a, b) {
  if (a.length !== b.length) return `length ${a.length} != ${b.length}`;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return `first difference at ${i}: ${a[i]} != ${b[i]}`;
  return null;
}

// ---------------------------------------------------------------------------------------------------------
// Things outside npm that some tests need: engines (wabt, Chromium, Firefox, WebKitGTK, Debian's PyTorch) and Debian data files.
// Present → those tests run. Missing → they are skipped with one loud line per test file (printed at the end,
// after uvu's summary), so a contributor without them (macOS, another distro) still gets a green `npm test`.
// QWASM_REQUIRE_ENGINES=1 (.ci/run sets it) turns every missing one into a failing test instead.

const onPath = (cmd) => (process.env.PATH ?? '').split(delimiter).some((d) => {
  if (!d) return false;
  try { accessSync(join(d, cmd), fsConstants.X_OK); return true; } catch { return false; }
});
const npmHas = (pkg) => { try { createRequire(import.meta.url).resolve(pkg); return true; } catch { return false; } };
const pythonHas = (mods) => spawnSync(PYTHON, ['-c', mods.map((m) => `import ${m}`).join('; ')], { stdio: 'ignore', timeout: 60000 }).status === 0;

/** The Python that tests comparing against PyTorch run (Debian's, where python3-torch installs). */
export const PYTHON = process.env.QWASM_PYTHON ?? '/usr/bin/python3';

/** name → what it is, how to tell it is there, how to install it. */
export const EXTERNAL = {
  wabt: { what: "wabt's wasm-interp and spectest-interp", available: () => onPath('wasm-interp') && onPath('spectest-interp'), install: 'apt-get install wabt' },
  chromium: { what: `Chromium (${CHROMIUM})`, available: () => existsSync(CHROMIUM), install: 'apt-get install chromium, or set QWASM_CHROMIUM to a Chromium/Chrome binary' },
  webkit: { what: `WebKitGTK (${WEBKIT}, WebKitWebDriver, xvfb-run)`, available: webkitAvailable, install: 'apt-get install webkit2gtk-driver xvfb (or set QWASM_WEBKIT to a MiniBrowser)' },
  firefox: { what: `Firefox (${FIREFOX}) driven by puppeteer-core`, available: () => existsSync(FIREFOX) && npmHas('puppeteer-core'), install: 'apt-get install firefox-esr (or set QWASM_FIREFOX) and npm ci (puppeteer-core)' },
  torch: { what: `PyTorch + torchvision for ${PYTHON}`, available: () => pythonHas(['torch', 'torchvision']), install: 'apt-get install python3-torch python3-torchvision' },
  'fashion-mnist': { what: `Fashion-MNIST IDX files (${FASHION_MNIST_DEBIAN_DIR})`, available: () => existsSync(join(FASHION_MNIST_DEBIAN_DIR, 'train-images-idx3-ubyte.gz')), install: 'apt-get install dataset-fashion-mnist' },
  digits: { what: "the UCI digits (python3-sklearn's digits.csv.gz)", available: () => [process.env.QWASM_DIGITS_CSV, ...DIGITS_CSV_PATHS].some((p) => p && existsSync(p)), install: 'apt-get install python3-sklearn, or set QWASM_DIGITS_CSV (.ci/run unpacks just that file)' },
  'tuxpaint-stamps': { what: 'Tux Paint stamps (/usr/share/tuxpaint/stamps)', available: () => existsSync('/usr/share/tuxpaint/stamps'), install: 'apt-get install tuxpaint-stamps-default' },
  sharp: { what: 'sharp (JPEG / PNG / WebP decoding, an optional dependency)', available: () => npmHas('sharp'), install: 'npm install sharp' },
  nsfwjs: { what: "nsfwjs's bundled Keras models", available: () => npmHas('nsfwjs') && npmHas('@tensorflow/tfjs-layers'), install: 'npm install nsfwjs @tensorflow/tfjs-layers' },
};

const checked = new Map();
const skipped = new Map();   // "file: name" → [install, count]
process.on('exit', () => {
  for (const [where, [install, n]] of skipped) {
    console.warn(`\x1b[1;33m⚠ SKIPPED ${n} test${n > 1 ? 's' : ''} of ${where} not found — ${install} (QWASM_REQUIRE_ENGINES=1 makes this a failure)\x1b[0m`);
  }
});

/**
 * `suite` (uvu's `test`) for tests that need every one of `names` (keys of EXTERNAL): returns `suite` itself when
 * they are there, else a function with the same signature that skips (or, under QWASM_REQUIRE_ENGINES=1, fails) them.
 *   const withWabt = needs(test, 'wabt');  withWabt('runs under wasm-interp', () => …);
 */
export function needs(suite, ...names) {
  for (const name of names) {
    if (!EXTERNAL[name]) throw new TypeError(`needs: unknown external '${name}' (known: ${Object.keys(EXTERNAL).join(', ')})`);
    if (!checked.has(name)) checked.set(name, EXTERNAL[name].available());
  }
  const missing = names.find((name) => !checked.get(name));
  if (missing === undefined) return suite;
  const ext = EXTERNAL[missing];
  const file = relative(process.cwd(), fileURLToPath(callerFile()));
  // the wrappers keep `.skip`, so needs(needs(test, 'a'), 'b') works whichever is missing
  const wrap = (fn) => Object.assign(fn, { skip: (...args) => suite.skip(...args) });
  if (process.env.QWASM_REQUIRE_ENGINES === '1') {
    return wrap((title) => suite(title, () => { throw new Error(`${ext.what} not found — ${ext.install} (QWASM_REQUIRE_ENGINES=1: a missing engine fails)`); }));
  }
  return wrap((title, fn) => {
    const key = `${file}: ${ext.what}`, s = skipped.get(key);
    skipped.set(key, [ext.install, (s?.[1] ?? 0) + 1]);
    suite.skip(title, fn);
  });
}

/** The test file that called needs() (the first stack frame outside this file). */
function callerFile() {
  const self = import.meta.url;
  for (const line of (new Error().stack ?? '').split('\n').slice(1)) {
    const m = line.match(/(file:\/\/[^\s)]+?):\d+:\d+/);
    if (m && m[1] !== self) return m[1];
  }
  return self;
}
