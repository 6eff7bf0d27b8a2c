// Headless Chromium harness shared by test/relaxed-chromium.test.js and bench/relaxed-chromium.js:
// serves the repository over HTTP on 127.0.0.1 (random port), launches Debian's Chromium through
// playwright-core with a fresh, empty profile, and opens a page that imports dist/index.js
// and test/wire.js, exposed as window.qwasm and window.wire.
import { createServer } from 'node:http';
import { existsSync, mkdtempSync, rmSync, statSync, createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
// Debian's /usr/bin/chromium unless QWASM_CHROMIUM says otherwise; else the first chromium on PATH.
function findChromium() {
  if (process.env.QWASM_CHROMIUM) return process.env.QWASM_CHROMIUM;
  if (existsSync('/usr/bin/chromium')) return '/usr/bin/chromium';
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    for (const name of ['chromium', 'chromium-browser']) if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return '/usr/bin/chromium';
}
export const CHROMIUM = findChromium();
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
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

/**
 * Launches headless Chromium with an empty temporary profile and opens the qwasm page (or `path`, served with
 * `mounts` as in startServer), then waits for the page to set window.qwasmReady.
 * Returns { page, errors (page errors / console errors seen so far), close() }.
 */
export async function openQwasmPage({ extraArgs = [], path = '/__qwasm__/page.html', mounts = {} } = {}) {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: install it (Debian: apt-get install chromium; .ci/run does) ` +
      'or point QWASM_CHROMIUM at a Chromium/Chrome binary');
  }
  if (!existsSync(join(ROOT, 'dist', 'index.js')) || !existsSync(join(ROOT, 'build', 'qwasm.relaxed.wasm'))) {
    throw new Error("dist/ or build/ is missing: run 'npm run build' first");
  }
  let chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch (e) {
    throw new Error(`playwright-core is not installed (npm ci installs it as a devDependency): ${e.message}`);
  }
  const server = await startServer({ mounts });
  const profile = mkdtempSync(join(tmpdir(), 'qwasm-chromium-'));
  let context;
  const cleanup = async () => {
    try { if (context) await context.close(); } finally {
      await server.close();
      rmSync(profile, { recursive: true, force: true });
    }
  };
  try {
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: [...ARGS, ...extraArgs], timeout: 30000 });
    const page = context.pages()[0] ?? await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
    page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
    page.on('response', (r) => { if (r.status() >= 400) errors.push(`HTTP ${r.status()} for ${r.url()}`); });
    await page.goto(`${server.origin}${path}`);
    try {
      await page.waitForFunction(() => window.qwasmReady === true, null, { timeout: 15000 });
    } catch (e) {
      throw new Error(`the page ${path} did not load: ${errors.join('; ') || e.message}`);
    }
    const version = context.browser()?.version() ?? (await page.evaluate(() => navigator.userAgent));
    return { page, errors, version, close: cleanup };
  } catch (e) {
    await cleanup();
    throw e;
  }
}
