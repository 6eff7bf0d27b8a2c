// Is a relaxed-dot int8 GEMM faster than the shipped SIMD128 one, in an engine that computes relaxed SIMD
// correctly (Debian's Chromium)? Compiles gemm_rdot.ts (two dots per 16 MACs, portable) and gemm_rdot1.ts (one
// dot, exact only with vpdpbusd semantics: see its header) with the shipped kernel into one module, checks all
// agree bit for bit on random and extreme shapes, then times them in turn.   node bench/relaxed-dot/run.js
import { chromium } from 'playwright-core';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const asc = join(dirname(require.resolve('assemblyscript/package.json')), 'bin/asc.js');
const wasmPath = join(here, 'rdot.wasm');
execFileSync(process.execPath, [asc, join(here, 'entry.ts'), '-O3', '--runtime', 'minimal', '--use', 'abort=', '--noAssert',
  '--enable', 'simd', '--enable', 'relaxed-simd', '-o', wasmPath], { stdio: 'inherit' });
const b64 = readFileSync(wasmPath).toString('base64');
const browser = await chromium.launch({ executablePath: process.env.QWASM_CHROMIUM || '/usr/bin/chromium', headless: true, args: ['--no-sandbox','--disable-gpu','--disable-quic','--no-first-run','--disable-background-networking','--disable-component-update','--disable-sync'] });
const page = await browser.newPage();
const out = await page.evaluate(async (b64) => {
  const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
  const { instance } = await WebAssembly.instantiate(bytes, {});
  const e = instance.exports;
  const res = [`rdot1_probe (u8 x s8 exact, vpdpbusd semantics) = ${e.rdot1_probe()}`];
  // correctness: random
  let s = 12345; const r = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s; };
  // the last shape: extremes only (a ∈ {−128, 127}, w ∈ {−127, 127}), the worst case for the u8 offset encoding
  for (const [m,k,n,ext] of [[1,1,1],[3,5,7],[5,17,9],[13,33,31],[64,64,64],[7,130,19],[9,1031,17,1]]) {
    const a = e.qw_alloc(m*k), b = e.qw_alloc(k*n), c1 = e.qw_alloc(m*n*4), c2 = e.qw_alloc(m*n*4);
    const A = new Int8Array(e.memory.buffer, a, m*k); for (let i=0;i<A.length;i++) A[i] = ext ? (r()&1 ? 127 : -128) : (r()%256)-128;
    const B = new Int8Array(e.memory.buffer, b, k*n); for (let i=0;i<B.length;i++) B[i] = ext ? (r()&1 ? 127 : -127) : (r()%255)-127;
    const p1 = e.qw_alloc(e.gemm_s8_packed_size(k,n)); e.gemm_s8_pack(k,n,b,n,0,3,p1);
    const p2 = e.qw_alloc(e.rdot_packed_size(k,n)); e.rdot_pack(k,n,b,n,0,3,p2);
    const c3 = e.qw_alloc(m*n*4), p3 = e.qw_alloc(e.rdot1_packed_size(k,n)); e.rdot1_pack(k,n,b,n,0,3,p3);
    e.gemm_s8(m,k,n,a,k,p1,c1,n,0,0,0,0,0); e.rdot_gemm(m,k,n,a,k,p2,c2,n,0,0,0,0,0); e.rdot1_gemm(m,k,n,a,k,p3,c3,n,0,0,0,0,0);
    const X = new Int32Array(e.memory.buffer, c1, m*n), Y = new Int32Array(e.memory.buffer, c2, m*n), Z = new Int32Array(e.memory.buffer, c3, m*n);
    let bad = 0, bad1 = 0; for (let i=0;i<X.length;i++) { if (X[i]!==Y[i]) bad++; if (X[i]!==Z[i]) bad1++; }
    res.push(`${m}x${k}x${n} mismatches vs simd: rdot=${bad} rdot1=${bad1}`);
  }
  for (const [m,k,n] of [[256,256,256],[512,512,512],[1024,1024,1024],[64,576,128]]) {
    const a = e.qw_alloc(m*k), b = e.qw_alloc(k*n), c = e.qw_alloc(m*n*4);
    new Int8Array(e.memory.buffer, a, m*k).fill(-3); new Int8Array(e.memory.buffer, b, k*n).fill(5);
    const p1 = e.qw_alloc(e.gemm_s8_packed_size(k,n)); e.gemm_s8_pack(k,n,b,n,0,0,p1);
    const p2 = e.qw_alloc(e.rdot_packed_size(k,n)); e.rdot_pack(k,n,b,n,0,0,p2);
    const p3 = e.qw_alloc(e.rdot1_packed_size(k,n)); e.rdot1_pack(k,n,b,n,0,0,p3);
    let best1 = 1e9, best2 = 1e9, best3 = 1e9;
    for (let rep = 0; rep < 5; rep++) {
      let t = performance.now(), it = 0; while (performance.now() - t < 150) { e.gemm_s8(m,k,n,a,k,p1,c,n,0,0,0,0,0); it++; } best1 = Math.min(best1, (performance.now()-t)/it);
      t = performance.now(); it = 0; while (performance.now() - t < 150) { e.rdot_gemm(m,k,n,a,k,p2,c,n,0,0,0,0,0); it++; } best2 = Math.min(best2, (performance.now()-t)/it);
      t = performance.now(); it = 0; while (performance.now() - t < 150) { e.rdot1_gemm(m,k,n,a,k,p3,c,n,0,0,0,0,0); it++; } best3 = Math.min(best3, (performance.now()-t)/it);
    }
    const g = (t) => (2*m*k*n/t/1e6).toFixed(1);
    res.push(`${m}x${k}x${n}: simd ${g(best1)} rdot ${g(best2)} rdot1 ${g(best3)} GOPS (rdot/simd ${(best1/best2).toFixed(2)}, rdot1/simd ${(best1/best3).toFixed(2)})`);
  }
  return res;
}, b64);
console.log(out.join('\n'));
await browser.close();
