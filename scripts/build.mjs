// Builds the three WASM modules (scalar / simd / relaxed) from assembly/ with asc, optimises each with
// binaryen's wasm-opt (the one shipped in the `binaryen` npm package: the `wasm-opt` npm package cannot
// download its binary offline), checks each validates with exactly the features it claims, then
// writes src/exports.ts from assembly/ (scripts/wasm-api.mjs) and compiles src/ with tsc into dist/.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const bin = (pkg, rel) => join(dirname(require.resolve(`${pkg}/package.json`)), rel);
const asc = bin('assemblyscript', 'bin/asc.js');
const wasmOpt = bin('binaryen', 'bin/wasm-opt');
const tsc = bin('typescript', 'bin/tsc');

const targets = {
  scalar: ['--disable-simd', '--disable-bulk-memory'],
  simd: ['--enable-simd'],
  relaxed: ['--enable-simd', '--enable-relaxed-simd'],
};
const only = process.argv.slice(2).filter((a) => a in targets);
const run = (cmd, args) => execFileSync(process.execPath, [cmd, ...args], { cwd: root, stdio: 'inherit' });

// One build at a time per checkout (parallel `npm test` runs would otherwise interleave writes): a lock
// directory, taken with mkdir (atomic), stale after 10 minutes. Each .wasm is written under a temporary
// name and renamed into place, so a reader never sees a half-written module.
const lock = join(root, 'build', '.lock');
mkdirSync(join(root, 'build'), { recursive: true });
const t0 = Date.now();
for (;;) {
  try { mkdirSync(lock); break; } catch (e) {
    if (e.code !== 'EEXIST') throw e;
    if (Date.now() - statSync(lock).mtimeMs > 600_000) { rmSync(lock, { recursive: true, force: true }); continue; }
    if (Date.now() - t0 > 900_000) throw new Error(`build lock ${lock} held for 15 minutes`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);
  }
}
try {
  for (const [name, feats] of Object.entries(targets)) {
    if (only.length && !only.includes(name)) continue;
    const out = join(root, 'build', `qwasm.${name}.wasm`), tmp = `${out}.${process.pid}.tmp`;
    run(asc, ['--config', 'asconfig.json', '--target', name, '--outFile', tmp]);
    // wasm-opt with only this build's features: it fails loudly if asc emitted an instruction outside them
    // (e.g. a SIMD op leaking into the scalar build).
    run(wasmOpt, [tmp, '-O3', '--mvp-features', '--enable-sign-ext', '--enable-nontrapping-float-to-int',
      '--enable-mutable-globals', ...feats, '-o', tmp]);
    renameSync(tmp, out);
    console.log(`built build/qwasm.${name}.wasm (${statSync(out).size} bytes)`);
  }
  // src/exports.ts (the TS type of every build's exports) is generated from the AssemblyScript sources
  run(join(root, 'scripts', 'wasm-api.mjs'), []);
  if (!process.argv.includes('--wasm-only')) {
    run(tsc, ['-p', 'tsconfig.json']);
    console.log('built dist/ from src/');
  }
} finally {
  rmSync(lock, { recursive: true, force: true });
}
