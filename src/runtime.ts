// Loads one of the three builds (relaxed → simd → scalar, by feature detection, or as forced) and owns the
// linear memory: allocation, freeing and fresh typed-array views. Views are never cached: any kernel call may
// grow memory, which detaches every earlier view.
// The builds import nothing and export plain functions (no AssemblyScript runtime, no optional arguments), so
// they are instantiated with WebAssembly.instantiate directly: no loader, no bare-specifier import, which lets
// a browser import dist/index.js as it is (docs/BROWSER.md). In Node the .wasm is read from disk; elsewhere it
// is fetched from `new URL('../build/qwasm.<build>.wasm', import.meta.url)` or taken from init({ wasm }).
import { relaxedWorks, simdWorks } from './probes.js';
import { QwasmError, describe } from './errors.js';
import type { KernelExports } from './exports.js';

export type BuildName = 'scalar' | 'simd' | 'relaxed';
export const BUILDS: readonly BuildName[] = ['scalar', 'simd', 'relaxed'];

export interface InitOptions {
  /** 'auto' (default) picks relaxed → simd → scalar; env QWASM_BUILD overrides 'auto'. */
  build?: 'auto' | BuildName;
  /**
   * The build's module instead of build/qwasm.<build>.wasm next to dist/: its bytes, a compiled module, a fetch
   * Response (or a promise of one), or a URL / URL string to fetch (e.g. a bundler's asset URL). Name the build
   * it holds in `build` ('auto' assumes the one this engine would choose).
   */
  wasm?: BufferSource | WebAssembly.Module | Response | Promise<Response> | URL | string;
  /**
   * Threads for batch-parallel int8 inference and data-parallel training (docs/THREADS.md): default every core
   * where threads can work — Node (worker_threads), or a browser's dedicated Worker in a cross-origin-isolated
   * page (Web Workers + SharedArrayBuffer) — else 1, silently, with the reason in `threadsReason` (e.g. the
   * browser main thread, which may not block); env QWASM_THREADS overrides the default. 1 keeps the
   * single-thread path. Each worker has its own instance; Node starts them on first use, a browser in init().
   */
  threads?: number;
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

// One literal `new URL('…', import.meta.url)` per build: the form bundlers (webpack 5, Vite, Parcel) recognise
// and copy as an asset; a template string would hide the files from them.
const BUILD_URLS: Record<BuildName, () => URL> = {
  scalar: () => new URL('../build/qwasm.scalar.wasm', import.meta.url),
  simd: () => new URL('../build/qwasm.simd.wasm', import.meta.url),
  relaxed: () => new URL('../build/qwasm.relaxed.wasm', import.meta.url),
};

export function buildUrl(build: BuildName): URL {
  return BUILD_URLS[build]();
}

async function readBuild(build: BuildName): Promise<BufferSource> {
  return await readUrl(buildUrl(build), "run 'npm run build' first; ");
}

async function readUrl(url: URL, hint = ''): Promise<BufferSource> {
  if (isNode && url.protocol === 'file:') {
    const { readFile } = await import('node:fs/promises');
    try {
      return await readFile(url);
    } catch (e) {
      throw new QwasmError(`cannot read ${url.pathname}: ${hint}${(e as Error).message}`);
    }
  }
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new QwasmError(`cannot fetch ${url} (${(e as Error).message}): serve build/ next to dist/, or pass init({ wasm })`);
  }
  return await responseBytes(res, String(url));
}

async function responseBytes(res: Response, what: string): Promise<ArrayBuffer> {
  if (!res.ok) throw new QwasmError(`cannot fetch ${what}: HTTP ${res.status}`);
  return await res.arrayBuffer();
}

const isResponse = (v: unknown): v is Response => typeof Response !== 'undefined' && v instanceof Response;

/** init({ wasm }) → bytes or a compiled module. */
async function resolveSource(wasm: NonNullable<InitOptions['wasm']>): Promise<BufferSource | WebAssembly.Module> {
  if (wasm instanceof WebAssembly.Module || wasm instanceof ArrayBuffer || ArrayBuffer.isView(wasm)) return wasm;
  if (typeof wasm === 'string' || wasm instanceof URL) {
    let url: URL;
    try {
      url = new URL(wasm, (globalThis as { location?: { href: string } }).location?.href);
    } catch {
      throw new TypeError(`wasm must be a URL, bytes, a WebAssembly.Module or a Response; cannot parse ${JSON.stringify(String(wasm))} as a URL`);
    }
    return await readUrl(url);
  }
  let res: unknown;
  try {
    res = await wasm;
  } catch (e) {
    throw new QwasmError(`wasm: the promise given was rejected (${(e as Error)?.message ?? e})`);
  }
  if (isResponse(res)) return await responseBytes(res, res.url || 'the wasm Response');
  throw new TypeError(`wasm must be a URL, bytes, a WebAssembly.Module or a Response, got ${describe(wasm)}`);
}

/** Compiles (if needed) and instantiates a build; every export is used as it is (see the header). */
export async function instantiateBuild(source: BufferSource | WebAssembly.Module): Promise<{ exports: KernelExports; module: WebAssembly.Module }> {
  let instance: WebAssembly.Instance, module: WebAssembly.Module;
  try {
    if (source instanceof WebAssembly.Module) {
      module = source;
      instance = await WebAssembly.instantiate(source, {});
    } else ({ module, instance } = await WebAssembly.instantiate(source, {}));
  } catch (e) {
    throw new QwasmError(`cannot instantiate the wasm module: ${(e as Error).message}`);
  }
  let ex = instance.exports as Record<string, unknown>;
  if (!(ex.memory instanceof WebAssembly.Memory) || typeof ex.qw_alloc !== 'function') {
    throw new QwasmError('the wasm module is not a qwasm build (no memory / qw_alloc export)');
  }
  // An exported AssemblyScript function with optional parameters makes asc export __setArgumentsLength, which
  // must be told each call's argument count (what @assemblyscript/loader did): wrap the functions then.
  const argc = ex.__argumentsLength, setFn = ex.__setArgumentsLength;
  const setArgc = argc instanceof WebAssembly.Global ? (n: number) => { argc.value = n; }
    : typeof setFn === 'function' ? setFn as (n: number) => void : null;
  if (setArgc) {
    const wrapped: Record<string, unknown> = {};
    for (const [name, f] of Object.entries(ex)) {
      wrapped[name] = typeof f === 'function' && f !== setFn
        ? (...args: unknown[]) => { setArgc(args.length); return (f as (...a: unknown[]) => unknown)(...args); }
        : f;
    }
    ex = wrapped;
  }
  return { exports: ex as unknown as KernelExports, module };
}

export class Runtime {
  readonly build: BuildName;
  readonly exports: KernelExports;
  readonly memory: WebAssembly.Memory;
  /** Threads the parallel paths may use (1: none); `threading` holds what the worker pool needs. */
  readonly threads: number;
  readonly threading: Threading | null;
  /**
   * Why `threads` is 1 (a sentence: asked for, one core, not cross-origin isolated, the browser main thread …),
   * else null. Updated if a main thread's Web Workers fail to start on the first predictAsync.
   */
  threadsReason: string | null;
  /** The worker pool (src/threads/pool.ts), created on first parallel call (Node) or by init() (Web Workers). */
  pool: unknown = null;

  constructor(build: BuildName, exports: KernelExports, threading: Threading | null = null, threadsReason: string | null = null) {
    this.build = build;
    this.exports = exports;
    this.memory = exports.memory;
    this.threading = threading;
    this.threads = threading?.blocking ? threading.threads : 1;
    this.threadsReason = this.threads > 1 ? null : threadsReason ?? 'one thread';
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
  /** Zeroes `bytes` bytes at ptr (through a byte view: V8 fills those with memset, ~20× a Float32Array fill). */
  zero(ptr: number, bytes: number): void { new Uint8Array(this.memory.buffer, ptr, bytes).fill(0); }

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

/** What a worker pool needs: the thread count, the compiled module (each worker instantiates it) and the kind of workers. */
export interface Threading {
  threads: number; module: WebAssembly.Module; build: BuildName;
  /** Node's worker_threads API, or 'web' for Web Workers (src/threads/transport-browser.ts). */
  workers: typeof import('node:worker_threads') | 'web';
  /**
   * Whether this thread may block in Atomics.wait: then the synchronous APIs split work over `threads` (this
   * thread and threads − 1 workers). A browser main thread may not: its `threads` workers serve only the
   * asynchronous calls (Int8Runner.predictAsync, fitAsync), and the synchronous ones run on this thread alone.
   */
  blocking: boolean;
  /** Runtimes of the shipped build files share one pool per build and thread count; a custom init({ wasm }) gets its own (null). */
  shareKey: string | null;
  /** The count was asked for (init({ threads }), QWASM_THREADS): workers that fail to start are then an error, not a fallback to 1. */
  asked: boolean;
}

type ThreadChoice = { threads: number; workers: Threading['workers'] | null; reason: string | null; blocking: boolean; asked?: boolean };

const ONE = (reason: string): ThreadChoice => ({ threads: 1, workers: null, reason, blocking: true });

/** Whether this thread may block in Atomics.wait (a browser's main thread may not: it throws a TypeError). */
function canBlock(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0); // value differs: returns at once where allowed
    return true;
  } catch {
    return false;
  }
}

/** Threads in a browser (or another engine with Web Workers): a dedicated Worker of a cross-origin-isolated page. */
function webThreads(want: number | undefined): ThreadChoice {
  const g = globalThis as { Worker?: unknown; crossOriginIsolated?: boolean; navigator?: { hardwareConcurrency?: number } };
  if (typeof g.Worker !== 'function') return ONE('no Web Workers here');
  if (g.crossOriginIsolated === true && (typeof SharedArrayBuffer !== 'function' || typeof Atomics !== 'object')) {
    // WebKitGTK 2.50 isolates the page but keeps SharedArrayBuffer off unless JavaScriptCore is told otherwise
    return ONE('the page is cross-origin isolated but this engine gives it no SharedArrayBuffer (WebKitGTK: run it with ' +
      'the environment variable JSC_useSharedArrayBuffer=1; docs/BROWSER.md)');
  }
  if (typeof SharedArrayBuffer !== 'function' || typeof Atomics !== 'object' || g.crossOriginIsolated === false) {
    return ONE('the page is not cross-origin isolated, so it has no SharedArrayBuffer: serve it with the headers ' +
      'Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp (docs/BROWSER.md)');
  }
  const cores = Math.max(1, Math.floor(g.navigator?.hardwareConcurrency ?? 1));
  const threads = want ?? cores;
  if (threads < 2) return ONE('one core (navigator.hardwareConcurrency)');
  if (!canBlock()) {
    const main = 'the browser main thread may not block (Atomics.wait), which the synchronous APIs need, so they run on 1 thread here';
    if (typeof (Atomics as { waitAsync?: unknown }).waitAsync !== 'function') return ONE(`${main}; run qwasm in a dedicated Worker to use threads (docs/BROWSER.md)`);
    return { threads, workers: 'web', blocking: false,
      reason: `${main}; predictAsync / predictCodesAsync / fitAsync use ${threads} Web Workers, or run qwasm in a dedicated Worker (docs/BROWSER.md)` };
  }
  return { threads, workers: 'web', reason: null, blocking: true };
}

/**
 * The thread count init() settles on: `threads` if given (an integer ≥ 1), else QWASM_THREADS, else every core;
 * 1 where threads cannot work (`reason` says why: docs/THREADS.md). Node: worker_threads; elsewhere Web Workers.
 */
export async function resolveThreads(threads: number | undefined): Promise<ThreadChoice> {
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1 && threads <= 256)) {
    throw new RangeError(`threads must be an integer in [1, 256], got ${describe(threads)}`);
  }
  let want = threads;
  const env = isNode ? process.env.QWASM_THREADS : undefined;
  if (want === undefined && env) {
    const v = Number(env);
    if (!(Number.isInteger(v) && v >= 1 && v <= 256)) throw new QwasmError(`QWASM_THREADS must be an integer in [1, 256], got '${env}'`);
    want = v;
  }
  if (want === 1) return ONE(threads === 1 ? 'threads: 1 was asked' : 'QWASM_THREADS=1');
  if (!isNode) return { ...webThreads(want), asked: want !== undefined };
  if (typeof SharedArrayBuffer !== 'function' || typeof Atomics !== 'object') return ONE('no SharedArrayBuffer in this Node');
  try {
    const [workers, os] = await Promise.all([import('node:worker_threads'), import('node:os')]);
    const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
    const n = Math.max(1, want ?? cores);
    return n > 1 ? { threads: n, workers, reason: null, blocking: true, asked: want !== undefined } : ONE('one core (os.availableParallelism)');
  } catch (e) {
    return ONE(`worker_threads cannot be loaded (${(e as Error).message})`);
  }
}

export async function loadRuntime(opts: InitOptions = {}): Promise<Runtime> {
  const build = await chooseBuild(opts.build ?? 'auto');
  const t = await resolveThreads(opts.threads);
  const source = opts.wasm !== undefined ? await resolveSource(opts.wasm) : await readBuild(build);
  const { exports, module } = await instantiateBuild(source);
  const shareKey = opts.wasm === undefined ? `${build}:${t.threads}` : null;
  const threading = t.threads > 1 && t.workers ? { threads: t.threads, module, build, workers: t.workers, blocking: t.blocking, shareKey, asked: !!t.asked } : null;
  return new Runtime(build, exports, threading, t.reason);
}
