// Loads one of the three builds (relaxed → simd → scalar, by feature detection, or as forced) through
// @assemblyscript/loader and owns the linear memory: allocation, freeing and fresh typed-array views.
// Views are never cached: any kernel call may grow memory, which detaches every earlier view.
import { instantiate } from '@assemblyscript/loader';
import { relaxedWorks, simdWorks } from './probes.js';
import { QwasmError } from './errors.js';
import type { KernelExports } from './exports.js';

export type BuildName = 'scalar' | 'simd' | 'relaxed';
export const BUILDS: readonly BuildName[] = ['scalar', 'simd', 'relaxed'];

export interface InitOptions {
  /** 'auto' (default) picks relaxed → simd → scalar; env QWASM_BUILD overrides 'auto'. */
  build?: 'auto' | BuildName;
  /** The module's bytes or a compiled module, instead of reading build/qwasm.<build>.wasm. */
  wasm?: BufferSource | WebAssembly.Module;
}

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

let relaxedFlagTried = false;
// Node 20 ships relaxed SIMD behind a flag; turning it on before anything compiles is allowed.
async function enableRelaxedInNode(): Promise<void> {
  if (relaxedFlagTried || !isNode) return;
  relaxedFlagTried = true;
  try {
    const v8 = await import('node:v8');
    v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  } catch { /* not allowed here: the probe will say no */ }
}

export interface EngineSupport { simd: boolean; relaxed: boolean }

export async function detect(): Promise<EngineSupport> {
  await enableRelaxedInNode();
  const simd = simdWorks();
  return { simd, relaxed: simd && relaxedWorks() };
}

export async function chooseBuild(requested: 'auto' | BuildName = 'auto'): Promise<BuildName> {
  let want = requested;
  const env = isNode ? process.env.QWASM_BUILD : undefined;
  if (want === 'auto' && env) {
    if (!(BUILDS as readonly string[]).includes(env)) throw new QwasmError(`QWASM_BUILD must be one of ${BUILDS.join(', ')}, got '${env}'`);
    want = env as BuildName;
  }
  const s = await detect();
  if (want === 'auto') return s.relaxed ? 'relaxed' : s.simd ? 'simd' : 'scalar';
  if (!(BUILDS as readonly string[]).includes(want)) throw new QwasmError(`build must be 'auto' or one of ${BUILDS.join(', ')}, got '${want}'`);
  if (want === 'simd' && !s.simd) throw new QwasmError('build "simd" requested but this engine does not run WebAssembly SIMD128');
  if (want === 'relaxed' && !s.relaxed) {
    throw new QwasmError('build "relaxed" requested but this engine either lacks relaxed SIMD or computes ' +
      'i32x4.relaxed_dot_i8x16_i7x16_add_s wrongly for in-range inputs (Node 20 with the flag does); use Chromium or build "simd"');
  }
  return want;
}

export function buildUrl(build: BuildName): URL {
  return new URL(`../build/qwasm.${build}.wasm`, import.meta.url);
}

async function readBuild(build: BuildName): Promise<BufferSource> {
  const url = buildUrl(build);
  if (isNode && url.protocol === 'file:') {
    const { readFile } = await import('node:fs/promises');
    try {
      return await readFile(url);
    } catch (e) {
      throw new QwasmError(`cannot read ${url.pathname}: run 'npm run build' first (${(e as Error).message})`);
    }
  }
  const res = await fetch(url);
  if (!res.ok) throw new QwasmError(`cannot fetch ${url}: HTTP ${res.status}`);
  return await res.arrayBuffer();
}

export class Runtime {
  readonly build: BuildName;
  readonly exports: KernelExports;
  readonly memory: WebAssembly.Memory;

  constructor(build: BuildName, exports: KernelExports) {
    this.build = build;
    this.exports = exports;
    this.memory = exports.memory;
  }

  /** Allocates `bytes` (16-byte aligned). Throws when linear memory cannot grow that far. */
  alloc(bytes: number): number {
    if (!Number.isInteger(bytes) || bytes < 0 || bytes > 0x7fff0000) throw new QwasmError(`cannot allocate ${bytes} bytes`);
    let p: number;
    try {
      p = this.exports.qw_alloc(Math.max(bytes, 1)) >>> 0;
    } catch (e) {
      throw new QwasmError(`out of WASM memory allocating ${bytes} bytes (${(e as Error).message})`);
    }
    return p;
  }

  free(ptr: number): void {
    if (ptr) this.exports.qw_free(ptr);
  }

  /** Copies a typed array into freshly allocated memory and returns its pointer. */
  put(src: ArrayBufferView): number {
    const p = this.alloc(src.byteLength);
    this.u8(p, src.byteLength).set(new Uint8Array(src.buffer, src.byteOffset, src.byteLength));
    return p;
  }

  u8(ptr: number, n: number): Uint8Array { return new Uint8Array(this.memory.buffer, ptr, n); }
  i8(ptr: number, n: number): Int8Array { return new Int8Array(this.memory.buffer, ptr, n); }
  i16(ptr: number, n: number): Int16Array { return new Int16Array(this.memory.buffer, ptr, n); }
  i32(ptr: number, n: number): Int32Array { return new Int32Array(this.memory.buffer, ptr, n); }
  f32(ptr: number, n: number): Float32Array { return new Float32Array(this.memory.buffer, ptr, n); }

  /** Runs fn with an allocator whose blocks are all freed afterwards, even when fn throws. */
  scoped<T>(fn: (s: Scope) => T): T {
    const s = new Scope(this);
    try {
      return fn(s);
    } finally {
      s.release();
    }
  }

  memoryBytes(): number { return this.memory.buffer.byteLength; }
}

export class Scope {
  private ptrs: number[] = [];
  constructor(readonly rt: Runtime) {}
  alloc(bytes: number): number { const p = this.rt.alloc(bytes); this.ptrs.push(p); return p; }
  put(src: ArrayBufferView): number { const p = this.rt.put(src); this.ptrs.push(p); return p; }
  release(): void { for (const p of this.ptrs) this.rt.free(p); this.ptrs.length = 0; }
}

export async function loadRuntime(opts: InitOptions = {}): Promise<Runtime> {
  const build = await chooseBuild(opts.build ?? 'auto');
  const source = opts.wasm ?? (await readBuild(build));
  const { exports } = await instantiate<Record<string, unknown>>(source as BufferSource, {});
  return new Runtime(build, exports as unknown as KernelExports);
}
