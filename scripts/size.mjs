#!/usr/bin/env node
// Bundled size of the deployment entry `qwasm/runtime` (dist/runtime-entry.js): esbuild, minified ESM for the
// browser (node:* imports — used only when running under Node — left external), plus each wasm build, raw and
// gzipped; the full entry (dist/index.js) is bundled the same way for comparison.
// usage: node scripts/size.mjs [--json]   (after `node scripts/build.mjs`; esbuild is a devDependency)
import { readFileSync, readdirSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
let esbuild;
try { esbuild = await import('esbuild'); } catch { console.error('size.mjs needs esbuild: npm i -D esbuild'); process.exit(1); }

const gz = (b) => gzipSync(b, { level: 9 }).length;

async function bundle(entry) {
  const r = await esbuild.build({
    entryPoints: [join(root, entry)], bundle: true, minify: true, format: 'esm', platform: 'browser', target: 'es2022',
    write: false, external: ['node:*'], metafile: true, logLevel: 'silent',
  });
  const js = r.outputFiles[0].contents;
  return { entry, js: js.length, gzip: gz(js), modules: Object.keys(r.metafile.inputs).map((f) => f.replace(/^.*?dist\//, 'dist/')) };
}

const runtime = await bundle('dist/runtime-entry.js');
const full = await bundle('dist/index.js');
const wasm = readdirSync(join(root, 'build')).filter((f) => f.endsWith('.wasm')).sort().map((f) => {
  const b = readFileSync(join(root, 'build', f));
  return { file: `build/${f}`, bytes: b.length, gzip: gz(b) };
});
if (process.argv.includes('--json')) {
  console.log(JSON.stringify({ runtime, full: { js: full.js, gzip: full.gzip }, wasm }, null, 1));
} else {
  const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
  console.log(`qwasm/runtime (dist/runtime-entry.js): ${runtime.js} B JS (${kb(runtime.js)}), ${runtime.gzip} B gzip (${kb(runtime.gzip)}), ${runtime.modules.length} modules`);
  console.log(`  for comparison, the full entry (dist/index.js): ${full.js} B JS, ${full.gzip} B gzip`);
  for (const w of wasm) console.log(`${w.file}: ${w.bytes} B (${kb(w.bytes)}), ${w.gzip} B gzip (${kb(w.gzip)})`);
  console.log(`runtime JS + one wasm build, gzipped: ${runtime.gzip + Math.max(...wasm.map((w) => w.gzip))} B at most`);
}
