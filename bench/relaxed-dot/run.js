// Is a relaxed-dot int8 GEMM faster than the SIMD128 one, in an engine that computes relaxed SIMD correctly
// (Debian's Chromium)? Two modules: entry-simd.ts compiled for SIMD128 (its gemm_s8 is the simd build's kernel) and
// entry.ts with relaxed SIMD (its gemm_s8 is the relaxed build's: assembly/gemm_s8_vnni.ts, one dot per 16 MACs, where the
// engine's dot is u8 × s8; plus gemm_rdot.ts, the portable two-dot experiment). Checks every relaxed kernel
// against the SIMD128 one bit for bit on random and extreme shapes, then times them in turn (best of 5 × 150 ms).
//   node bench/relaxed-dot/run.js
import { chromium } from 'playwright-core';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const asc = join(dirname(require.resolve('assemblyscript/package.json')), 'bin/asc.js');
const compile = (entry, features, name) => {
  const out = join(here, name);
  execFileSync(process.execPath, [asc, join(here, entry), '-O3', '--runtime', 'minimal', '--use', 'abort=', '--noAssert',
    ...features.flatMap((f) => ['--enable', f]), '-o', out], { stdio: 'inherit' });
  return readFileSync(out).toString('base64');
};
const mods = { simd: compile('entry-simd.ts', ['simd'], 'rdot.simd.wasm'), relaxed: compile('entry.ts', ['simd', 'relaxed-simd'], 'rdot.wasm') };
const browser = await chromium.launch({ executablePath: process.env.QWASM_CHROMIUM || '/usr/bin/chromium', headless: true, args: ['--no-sandbox','--disable-gpu','--disable-quic','--no-first-run','--disable-background-networking','--disable-component-update','--disable-sync'] });
const page = await browser.newPage();
const out = await page.evaluate(async (mods) => {
  const load = async (b64) => (await WebAssembly.instantiate(Uint8Array.from(atob(b64), c => c.charCodeAt(0)), {})).instance.exports;
  const S = await load(mods.simd), R = await load(mods.relaxed);
  const res = [`relaxed build's gemm_s8 uses the one-dot kernel (vnniDot) = ${R.vnniDot()}`];
  // kernels: [name, module, packed size, pack, gemm]
  const kernels = [['simd', S, S.gemm_s8_packed_size, S.gemm_s8_pack, S.gemm_s8], ['relaxed gemm_s8', R, R.gemm_s8_packed_size, R.gemm_s8_pack, R.gemm_s8],
    ['two-dot rdot', R, R.rdot_packed_size, R.rdot_pack, R.rdot_gemm]];
  // sets A (m×k) and B (k×n) in module e, packs B for zpA; returns { a, p, c }
  const setup = (e, size, pack, m, k, n, A, B, zpA) => {
    const a = e.qw_alloc(m*k), b = e.qw_alloc(k*n), c = e.qw_alloc(m*n*4), p = e.qw_alloc(size(k, n));
    new Int8Array(e.memory.buffer, a, m*k).set(A); new Int8Array(e.memory.buffer, b, k*n).set(B);
    pack(k, n, b, n, 0, zpA, p);
    return { a, p, c };
  };
  let s = 12345; const r = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s; };
  // the last shape: extremes only (a ∈ {−128, 127}, w ∈ {−127, 127}), the worst case for the u8 offset encoding
  for (const [m,k,n,ext] of [[1,1,1],[3,5,7],[5,17,9],[13,33,31],[64,64,64],[7,130,19],[9,1031,17,1],[1,300,40]]) {
    const A = Int8Array.from({ length: m*k }, () => ext ? (r()&1 ? 127 : -128) : (r()%256)-128);
    const B = Int8Array.from({ length: k*n }, () => ext ? (r()&1 ? 127 : -127) : (r()%255)-127);
    const outs = kernels.map(([, e, size, pack, gemm]) => {
      const { a, p, c } = setup(e, size, pack, m, k, n, A, B, 3);
      gemm(m,k,n,a,k,p,c,n,0,0,0,0,0);
      return new Int32Array(e.memory.buffer, c, m*n).slice();
    });
    res.push(`${m}x${k}x${n} mismatches vs simd: ${kernels.slice(1).map(([name], i) => `${name} ${outs[i+1].filter((v, j) => v !== outs[0][j]).length}`).join(', ')}`);
  }
  for (const [m,k,n] of [[256,256,256],[512,512,512],[1024,1024,1024],[64,576,128],[1,1024,1024]]) {
    const A = new Int8Array(m*k).fill(-3), B = new Int8Array(k*n).fill(5);
    const runs = kernels.map(([, e, size, pack, gemm]) => { const { a, p, c } = setup(e, size, pack, m, k, n, A, B, 0); return () => gemm(m,k,n,a,k,p,c,n,0,0,0,0,0); });
    const best = runs.map(() => 1e9);
    for (let rep = 0; rep < 5; rep++) {
      runs.forEach((f, i) => { let t = performance.now(), it = 0; while (performance.now() - t < 150) { f(); it++; } best[i] = Math.min(best[i], (performance.now()-t)/it); });
    }
    const g = (t) => (2*m*k*n/t/1e6).toFixed(1);
    res.push(`${m}x${k}x${n}: ` + kernels.map(([name], i) => `${name} ${g(best[i])}` + (i ? ` (${(best[0]/best[i]).toFixed(2)}×)` : '')).join(', ') + ' GOPS');
  }
  return res;
}, mods);
console.log(out.join('\n'));
await browser.close();
