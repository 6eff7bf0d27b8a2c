// onnxruntime-web with a wasm thread pool of a given size, one module instance per size. ORT-web's pool is global to
// its module instance, and a session's intraOpNumThreads = 1 does NOT keep its kernels off a larger pool (measured
// 2026-12-05, AMD EPYC: with numThreads = 2 the "1 thread" QLinearMatMul 512³ ran at 148 GOPS vs 80 with a pool of 1).
// So each thread count gets its own instance — a file URL with a query string is a separate ES module — and
// 1-thread and N-thread sessions can still run in one process, interleaved.
import path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const instances = new Map();

/** The onnxruntime-web module whose pool has `threads` threads (Tensors must come from the same instance). */
export async function ortWithPool(threads = 1) {
  if (instances.has(threads)) return instances.get(threads);
  const main = require.resolve('onnxruntime-web');               // dist/ort.node.min.js: plain (non-JSEP) SIMD wasm
  const o = threads === 1 ? await import('onnxruntime-web') : await import(`${pathToFileURL(main).href}?threads=${threads}`);
  o.env.wasm.numThreads = threads;
  o.env.wasm.wasmPaths = path.dirname(main) + path.sep;          // node_modules/onnxruntime-web/dist/
  o.env.logLevel = 'error';
  instances.set(threads, o);
  return o;
}
