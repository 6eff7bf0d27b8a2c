// Headless browsers for the tests and benchmarks that run qwasm in a page (test/browser.test.js,
// test/threads-browsers.test.js, test/relaxed-chromium.test.js, bench/*-chromium.js): serves the repository over
// HTTP on 127.0.0.1 (random port), launches an ENGINE with a fresh, empty profile — Debian's Chromium through
// playwright-core, or Debian's Firefox ESR through puppeteer-core (WebDriver BiDi: playwright-core drives only its
// own patched Firefox builds) — and opens pages in it through one small interface (goto / evaluate / waitFor),
// so a test's page logic is written once for every engine. The default page imports dist/index.js and
// test/wire.js, exposed as window.qwasm and window.wire.
import { createServer } from 'node:http';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
/** $env if set, else the first of `names` in /usr/bin, then on PATH (else /usr/bin/names[0], reported as missing). */
function findBinary(env, names) {
  if (process.env[env]) return process.env[env];
  for (const dir of ['/usr/bin', ...(process.env.PATH ?? '').split(delimiter)]) {
    for (const name of names) if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return `/usr/bin/${names[0]}`;
}
export const CHROMIUM = findBinary('QWASM_CHROMIUM', ['chromium', 'chromium-browser']);
export const FIREFOX = findBinary('QWASM_FIREFOX', ['firefox-esr', 'firefox']);
/** WebKitGTK's MiniBrowser (Debian: webkit2gtk-driver pulls it in), which WebKitWebDriver launches. */
function findMiniBrowser() {
  if (process.env.QWASM_WEBKIT) return process.env.QWASM_WEBKIT;
  const ls = (d) => { try { return readdirSync(d); } catch { return []; } };
  for (const lib of ['/usr/lib', '/usr/libexec']) {
    for (const d of [lib, ...ls(lib).map((x) => join(lib, x))]) {
      for (const w of ls(d).filter((x) => x.startsWith('webkit2gtk-4.'))) if (existsSync(join(d, w, 'MiniBrowser'))) return join(d, w, 'MiniBrowser');
    }
  }
  return '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';
}
export const WEBKIT = findMiniBrowser();
export const WEBKIT_DRIVER = findBinary('QWASM_WEBKIT_DRIVER', ['WebKitWebDriver']);
/** WebKitGTK has no headless mode: without a display it runs under xvfb-run. */
export const webkitAvailable = () => existsSync(WEBKIT) && existsSync(WEBKIT_DRIVER) &&
  (!!process.env.DISPLAY || (process.env.PATH ?? '').split(delimiter).some((d) => d && existsSync(join(d, 'xvfb-run'))));
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];

const MIME = {
  '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8', '.wasm': 'application/wasm',
  '.html': 'text/html; charset=utf-8', '.json': 'application/json; charset=utf-8', '.map': 'application/json; charset=utf-8',
  '.ts': 'text/plain; charset=utf-8', '.css': 'text/css; charset=utf-8',
};

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>qwasm</title>
<script type="module">
  import * as qwasm from '/dist/index.js';
  import * as wire from '/test/wire.js';
  window.qwasm = qwasm;
  window.wire = wire;
  window.qwasmReady = true;
</script>
`;

/** URL prefix under which every file is served cross-origin isolated (COOP same-origin + COEP require-corp). */
export const ISOLATED = '/__coi__';
const ISOLATION_HEADERS = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };

/**
 * Serves ROOT (read-only, no directory listings) plus the test page at /__qwasm__/page.html; `mounts` maps
 * more URL prefixes to directories ({ '/out/': '/tmp/x' }: /out/a.qwm → /tmp/x/a.qwm). The same files under
 * ISOLATED (/__coi__/dist/index.js …) come with the headers that make a page crossOriginIsolated
 * (SharedArrayBuffer, hence threads: docs/BROWSER.md).
 */
export function startServer({ mounts = {} } = {}) {
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname.startsWith(ISOLATED + '/')) {
      url.pathname = url.pathname.slice(ISOLATED.length);
      for (const [k, v] of Object.entries(ISOLATION_HEADERS)) res.setHeader(k, v);
    }
    if (url.pathname === '/__qwasm__/page.html') {
      res.writeHead(200, { 'content-type': MIME['.html'], 'cache-control': 'no-store' });
      res.end(PAGE);
      return;
    }
    if (url.pathname === '/favicon.ico') { res.writeHead(204); res.end(); return; }
    const pathname = decodeURIComponent(url.pathname);
    const prefix = Object.keys(mounts).find((p) => pathname.startsWith(p));
    const base = prefix ? resolve(mounts[prefix]) : ROOT;
    const file = resolve(base, '.' + (prefix ? pathname.slice(prefix.length - 1) : pathname));
    if (req.method !== 'GET' || !(file + sep).startsWith(base + sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
    createReadStream(file).pipe(res);
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      ok({ origin: `http://127.0.0.1:${port}`, close: () => new Promise((done) => server.close(done)) });
    });
  });
}

/** A page in either engine: the calls the tests make, with one signature. */
class Page {
  constructor(raw, kind) { this.raw = raw; this.kind = kind; }
  goto(url) { return this.raw.goto(url); }
  url() { return this.raw.url(); }
  /** fn(arg) in the page (arg and result: structured-cloneable JSON-like data; typed arrays through test/wire.js). */
  evaluate(fn, arg) { return this.raw.evaluate(fn, arg); }
  /** Resolves once fn() is truthy in the page; rejects after timeoutMs. */
  waitFor(fn, timeoutMs) {
    return this.kind === 'playwright' ? this.raw.waitForFunction(fn, null, { timeout: timeoutMs }) : this.raw.waitForFunction(fn, { timeout: timeoutMs, polling: 100 });
  }
  /** Makes this the visible tab (a background tab's timers are throttled: Firefox runs them about once a second). */
  bringToFront() { return this.raw.bringToFront(); }
  close() { return this.raw.close(); }
  /** Collects the page's errors, failed requests and HTTP errors into `errors`. */
  watch(errors) {
    const raw = this.raw;
    raw.on('pageerror', (err) => errors.push(`page error: ${err.message}`));
    raw.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
    raw.on('requestfailed', (r) => errors.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
    raw.on('response', (r) => { if (r.status() >= 400) errors.push(`HTTP ${r.status()} for ${r.url()}`); });
  }
}

/**
 * WebKitGTK through WebKitWebDriver (W3C WebDriver "classic": HTTP commands, no events). Commands are serialised
 * (one window is current at a time); a page is a window. No error events: watch() records nothing, so the tests'
 * "no page errors" checks see none there — their results are still compared.
 */
class WebDriver {
  constructor(base, id) { this.base = base; this.id = id; this.chain = Promise.resolve(); this.current = null; }
  static async call(base, method, path, body) {
    const r = await fetch(base + path, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    const j = await r.json();
    if (j.value?.error) throw new Error(`WebDriver ${method} ${path}: ${j.value.error}: ${j.value.message}`);
    return j.value;
  }
  /** Runs cmd (HTTP calls) with window `handle` current, after every command queued before it. */
  on(handle, cmd) {
    const run = this.chain.then(async () => {
      if (handle && handle !== this.current) { await this.send('POST', '/window', { handle }); this.current = handle; }
      return cmd();
    });
    this.chain = run.catch(() => undefined);
    return run;
  }
  send(method, path, body) { return WebDriver.call(this.base, method, `/session/${this.id}${path}`, body); }
}

class WebDriverPage {
  constructor(driver, handle) { this.driver = driver; this.handle = handle; this.href = 'about:blank'; }
  goto(url) { this.href = url; return this.driver.on(this.handle, () => this.driver.send('POST', '/url', { url })); }
  url() { return this.href; }
  async evaluate(fn, arg) {
    const script = `const done = arguments[arguments.length - 1];
      Promise.resolve().then(() => (0, eval)('(' + arguments[0] + ')')(arguments[1]))
        .then((v) => done({ ok: v === undefined ? null : v }), (e) => done({ error: String(e && e.stack || e) }));`;
    const r = await this.driver.on(this.handle, () => this.driver.send('POST', '/execute/async', { script, args: [fn.toString(), arg ?? null] }));
    if (r?.error !== undefined) throw new Error(`in WebKit: ${r.error}`);
    return r.ok;
  }
  async waitFor(fn, timeoutMs) {
    const t0 = Date.now();
    while (!(await this.evaluate(fn))) {
      if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${fn}`);
      await new Promise((ok) => setTimeout(ok, 100));
    }
  }
  bringToFront() { return this.driver.on(this.handle, async () => undefined); }
  close() { return this.driver.on(this.handle, () => this.driver.send('DELETE', '/window')).then(() => { this.driver.current = null; }); }
  watch() { /* WebDriver classic has no page events */ }
}

async function importDriver(pkg, engine) {
  try {
    return await import(pkg);
  } catch (e) {
    throw new Error(`${pkg} is not installed (npm ci installs it as a devDependency; it drives ${engine}): ${e.message}`);
  }
}

/** The engines: how to find and launch each (a launch resolves to { newPage(), version, close() }). */
export const ENGINES = {
  chromium: {
    label: 'Chromium', binary: CHROMIUM, env: 'QWASM_CHROMIUM', install: 'Debian: apt-get install chromium; .ci/run does',
    async launch({ extraArgs, profile }) {
      const { chromium } = await importDriver('playwright-core', 'Chromium');
      const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS, ...extraArgs], timeout: 30000 });
      let first = context.pages()[0] ?? null;
      return {
        newPage: async () => { const p = first ?? await context.newPage(); first = null; return new Page(p, 'playwright'); },
        version: context.browser()?.version() ?? null,
        close: () => context.close(),
      };
    },
  },
  firefox: {
    label: 'Firefox', binary: FIREFOX, env: 'QWASM_FIREFOX', install: 'Debian: apt-get install firefox-esr; .ci/run does',
    async launch({ extraArgs, profile }) {
      const { default: puppeteer } = await importDriver('puppeteer-core', 'Firefox');
      const browser = await puppeteer.launch({ browser: 'firefox', executablePath: FIREFOX, headless: true, userDataDir: profile, args: extraArgs, timeout: 60000,
        // no network beyond the test server: no updates, telemetry or remote settings
        extraPrefsFirefox: { 'app.update.enabled': false, 'datareporting.policy.dataSubmissionEnabled': false, 'toolkit.telemetry.enabled': false } });
      return {
        newPage: async () => new Page(await browser.newPage(), 'puppeteer'),
        version: await browser.version(),
        close: () => browser.close(),
      };
    },
  },
  webkit: {
    label: 'WebKitGTK', binary: WEBKIT, env: 'QWASM_WEBKIT', install: 'Debian: apt-get install webkit2gtk-driver xvfb',
    async launch({ extraArgs, env }) {
      if (!existsSync(WEBKIT_DRIVER)) throw new Error(`WebKitWebDriver not found at ${WEBKIT_DRIVER}: apt-get install webkit2gtk-driver`);
      const port = 20000 + Math.floor(Math.random() * 20000), base = `http://127.0.0.1:${port}`;
      const cmd = process.env.DISPLAY ? [WEBKIT_DRIVER, `--port=${port}`] : ['xvfb-run', '-a', WEBKIT_DRIVER, `--port=${port}`];
      // JavaScriptCore gates SharedArrayBuffer behind this option in WebKitGTK (Safari turns it on for
      // cross-origin-isolated pages itself)
      const proc = spawn(cmd[0], cmd.slice(1), { stdio: 'ignore', detached: true, env: { ...process.env, JSC_useSharedArrayBuffer: '1', ...env } });
      const kill = () => { try { process.kill(-proc.pid); } catch { /* gone */ } };
      try {
        for (let i = 0; ; i++) {
          try { await fetch(`${base}/status`); break; } catch (e) { if (i > 150) throw new Error(`WebKitWebDriver did not start: ${e.message}`); }
          await new Promise((ok) => setTimeout(ok, 200));
        }
        const sess = await WebDriver.call(base, 'POST', '/session', { capabilities: { alwaysMatch: { browserName: 'MiniBrowser',
          'webkitgtk:browserOptions': { binary: WEBKIT, args: ['--automation', ...extraArgs] } } } });
        const driver = new WebDriver(base, sess.sessionId);
        await driver.send('POST', '/timeouts', { script: 30 * 60_000, pageLoad: 60_000 });
        let first = await driver.send('GET', '/window');
        return {
          newPage: async () => {
            const handle = first ?? (await driver.on(null, () => driver.send('POST', '/window/new', { type: 'tab' }))).handle;
            first = null;
            return new WebDriverPage(driver, handle);
          },
          version: `${sess.capabilities?.browserName ?? 'MiniBrowser'} ${sess.capabilities?.browserVersion ?? ''}`.trim(),
          close: async () => { try { await driver.on(null, () => driver.send('DELETE', '')); } finally { kill(); } },
        };
      } catch (e) {
        kill();
        throw e;
      }
    },
  },
};

/**
 * Launches `engine` headless with an empty temporary profile and a server of the repository (startServer's
 * `mounts`; `env`: more environment variables for WebKitGTK's processes). Returns { engine, label, version, origin, errors (page errors, console errors, failed requests seen
 * so far, in every page), open(path, { ready }), close() }; open() resolves to a Page once the page has set
 * window.qwasmReady (ready: false: once it loaded), and fails with the page's window.qwasmError if it sets one.
 */
export async function openBrowser({ engine = 'chromium', extraArgs = [], mounts = {}, env = {} } = {}) {
  const e = ENGINES[engine];
  if (!e) throw new TypeError(`unknown browser engine '${engine}' (known: ${Object.keys(ENGINES).join(', ')})`);
  if (!existsSync(e.binary)) throw new Error(`${e.label} not found at ${e.binary}: install it (${e.install}) or point ${e.env} at its binary`);
  if (!existsSync(join(ROOT, 'dist', 'index.js')) || !existsSync(join(ROOT, 'build', 'qwasm.relaxed.wasm'))) {
    throw new Error("dist/ or build/ is missing: run 'npm run build' first");
  }
  const server = await startServer({ mounts });
  const profile = mkdtempSync(join(tmpdir(), `qwasm-${engine}-`));
  let browser = null;
  const close = async () => {
    try { if (browser) await browser.close(); } finally {
      await server.close();
      rmSync(profile, { recursive: true, force: true });
    }
  };
  try {
    browser = await e.launch({ extraArgs, profile, env });
  } catch (err) {
    await close();
    throw err;
  }
  const errors = [];
  const session = { engine, label: e.label, version: browser.version, origin: server.origin, errors, open: null, close };
  session.open = async (path, { ready = true, timeoutMs = 30000 } = {}) => {
    const page = await browser.newPage();
    page.watch(errors);
    await page.goto(`${server.origin}${path}`);
    session.version ??= await page.evaluate(() => navigator.userAgent);   // a persistent Chromium context does not say
    if (!ready) return page;
    try {
      await page.waitFor(() => window.qwasmReady === true || typeof window.qwasmError === 'string', timeoutMs);
    } catch (err) {
      throw new Error(`${path} did not load in ${e.label}: ${errors.join('; ') || err.message}`);
    }
    const failed = await page.evaluate(() => window.qwasmError);
    if (failed) throw new Error(`${path} failed in ${e.label}: ${failed}; ${errors.join('; ')}`);
    return page;
  };
  return session;
}

/** openBrowser, then open(path) (default: the page with window.qwasm and window.wire). Returns { page, errors, version, session, close }. */
export async function openQwasmPage({ engine = 'chromium', extraArgs = [], path = '/__qwasm__/page.html', mounts = {} } = {}) {
  const session = await openBrowser({ engine, extraArgs, mounts });
  try {
    const page = await session.open(path);
    return { page, errors: session.errors, version: session.version, session, close: session.close };
  } catch (err) {
    await session.close();
    throw err;
  }
}
