// A standalone .wasm for hosts without JavaScript (wasm3, WAMR, wabt's interpreter): the scalar build with a
// .qwm model (and optionally an int8 input batch) embedded as an active data segment. Made by rewriting the
// module's binary — no external tool:
//   * memory section: the initial memory grows to hold the payload beyond the build's own initial pages (so it
//     overlaps none of the build's data segments), plus a 32-byte descriptor in its last bytes;
//   * data section: two active segments, the payload (model bytes, then input codes) and the descriptor
//     ("QWMBNDL1" · u32 payload offset · u32 model bytes · u32 input bytes · u32 samples · u32 CRC-32 of the
//     24 bytes before · u32 0);
//   * start section: qwm_embed_init, which copies the payload out of the heap's way before anything else runs
//     (assembly/qwm_run.ts explains why the copy is needed: AssemblyScript's heap takes all of the initial memory);
//   * export section: only the runner's API, qwm_main first (wabt's `wasm-interp --run-all-exports` calls the
//     argument-free exports in order: qwm_main, then the queries).
// qwm_main() loads the embedded model, runs the embedded input and returns FNV-1a 32 of the output codes >>> 1
// (bundleChecksum computes the same in JS) or a negative error code (QWM_WASM_ERRORS); qwm_out(i) is output code i.
import { QwasmError, checkInt, describe } from '../errors.js';
import { crc32 } from '../util/crc32.js';
import { decodeQwm } from './qwm.js';
import { walkGraph } from './graph.js';
import { quantizeInput } from './runner.js';

/** Error codes of assembly/qwm_run.ts (qwm_load / qwm_run / qwm_main return them). */
export const QWM_WASM_ERRORS: Readonly<Record<number, string>> = Object.freeze({
  [-1]: 'bad pointer, length or sample count',
  [-2]: 'not a .qwm file (bad magic)',
  [-3]: 'unsupported format version',
  [-4]: 'bad header (flags, file length, node count, meta length or reserved bytes)',
  [-5]: 'CRC-32 mismatch',
  [-6]: 'truncated: a field runs past the node area',
  [-7]: 'a field outside its allowed range',
  [-8]: 'activation shapes do not chain (or exceed a reader limit)',
  [-9]: 'bad weight tensor coding',
  [-10]: 'node counts disagree with the nodes (or trailing bytes)',
  [-11]: 'out of memory (the host refused to grow memory)',
  [-12]: 'no model loaded',
  [-13]: 'no embedded model, or a bad bundle descriptor',
});

/** "code (message)" for a qwm_run.ts return value. */
export function qwmWasmError(code: number): string {
  return `${code} (${QWM_WASM_ERRORS[code] ?? 'unknown error'})`;
}

export interface BundleOptions {
  /**
   * Input batch run by qwm_main: int8 codes (already quantised with the model's input parameters) or f32 values
   * (normalised NHWC, quantised here exactly as Int8Model.predict does). n × h × w × c values.
   */
  input?: Int8Array | Float32Array;
  /**
   * Maximum memory pages (64 KiB) written into the module: a device's memory budget. A model or batch that does not
   * fit then makes qwm_main / qwm_load / qwm_run return −11 (out of memory) instead of growing. (The kernels'
   * small scratch buffers come from the allocator, which traps if even they do not fit.) Default: no maximum.
   */
  maxPages?: number;
}

export interface WasmBundle {
  wasm: Uint8Array;
  /** Samples in the embedded input (0 without one). */
  samples: number;
  /** The embedded input codes (empty without one). */
  inputCodes: Int8Array;
  /** Where the payload sits in linear memory, and the bundle's initial memory pages. */
  payloadOffset: number;
  pages: number;
}

const PAGE = 65536;
const DESCRIPTOR = 32;
/** Room left above the build's initial memory for the heap's first bookkeeping (qwm_embed_init checks it). */
const HEAP_ROOM = 4096;
const EXPORTS = ['qwm_main', 'qwm_out_count', 'qwm_input_size', 'qwm_output_size', 'qwm_error_offset', 'qwm_input_scale', 'qwm_input_zp',
  'qwm_output_scale', 'qwm_output_zp', 'qwm_out', 'qwm_load', 'qwm_run', 'qwm_run_f32', 'qwm_work_bytes', 'qwm_model_bytes', 'qw_alloc', 'qw_free'];

// ------------------------------------------------------------------------------------------------ LEB128

function readU32(b: Uint8Array, p: number): [number, number] {
  let v = 0, shift = 0;
  for (let i = 0; i < 5; i++) {
    if (p >= b.length) throw new QwasmError(`wasm: truncated LEB128 at byte ${p}`);
    const x = b[p++];
    v += (x & 0x7f) * 2 ** shift;
    if (!(x & 0x80)) return [v, p];
    shift += 7;
  }
  throw new QwasmError(`wasm: LEB128 longer than 5 bytes at byte ${p}`);
}

function u32leb(v: number): number[] {
  const out: number[] = [];
  do { let x = v & 0x7f; v = Math.floor(v / 128); if (v) x |= 0x80; out.push(x); } while (v);
  return out;
}

function i32leb(v: number): number[] {
  const out: number[] = [];
  for (;;) {
    const x = v & 0x7f;
    v >>= 7;
    if ((v === 0 && !(x & 0x40)) || (v === -1 && (x & 0x40))) { out.push(x); return out; }
    out.push(x | 0x80);
  }
}

function name(b: Uint8Array, p: number): [string, number] {
  const [len, q] = readU32(b, p);
  return [new TextDecoder().decode(b.subarray(q, q + len)), q + len];
}

const concat = (parts: (Uint8Array | number[])[]): Uint8Array => {
  const total = parts.reduce((a, x) => a + x.length, 0), out = new Uint8Array(total);
  let o = 0;
  for (const x of parts) { out.set(x, o); o += x.length; }
  return out;
};
const section = (id: number, body: Uint8Array) => concat([[id], u32leb(body.length), body]);

interface Section { id: number; body: Uint8Array }

function sections(wasm: Uint8Array): Section[] {
  if (wasm.length < 8 || wasm[0] !== 0 || wasm[1] !== 0x61 || wasm[2] !== 0x73 || wasm[3] !== 0x6d || wasm[4] !== 1 || wasm[5] || wasm[6] || wasm[7]) {
    throw new QwasmError('wasm: not a WebAssembly version 1 binary');
  }
  const out: Section[] = [];
  let p = 8;
  while (p < wasm.length) {
    const id = wasm[p];
    const [size, q] = readU32(wasm, p + 1);
    if (q + size > wasm.length) throw new QwasmError(`wasm: section ${id} at byte ${p} runs past the end`);
    out.push({ id, body: wasm.subarray(q, q + size) });
    p = q + size;
  }
  return out;
}

// ------------------------------------------------------------------------------------------------ bundling

/** FNV-1a 32 of the output codes, >>> 1: what a bundle's qwm_main returns for these outputs. */
export function bundleChecksum(codes: Int8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < codes.length; i++) h = Math.imul(h ^ (codes[i] & 0xff), 0x01000193) >>> 0;
  return h >>> 1;
}

/**
 * The scalar build (`build/qwasm.scalar.wasm`'s bytes) with `qwm` embedded: a module that runs the model with no
 * JavaScript (see the file header). The model is validated first (decodeQwm: a bad file is a QwasmError here,
 * not in the device).
 */
// Long (~125 lines): a single pass over the module's sections (read, patch the data segment and memory limits,
// re-emit) whose offsets depend on each other.
export function bundleWasm(scalarWasm: Uint8Array, qwm: Uint8Array, opts: BundleOptions = {}): WasmBundle {
  if (!(scalarWasm instanceof Uint8Array)) throw new TypeError(`scalarWasm must be a Uint8Array, got ${describe(scalarWasm)}`);
  if (!(qwm instanceof Uint8Array)) throw new TypeError(`qwm must be a Uint8Array, got ${describe(qwm)}`);
  if (!opts || typeof opts !== 'object') throw new TypeError(`opts must be an object, got ${describe(opts)}`);
  const graph = decodeQwm(qwm, 'bundleWasm: qwm');
  // lookup-table nodes (element-wise activations such as HardSwish) run in JS (Int8Runner) but not yet in
  // assembly/qwm_run.ts, which would reject them at load time on the device: refuse here, naming the node
  walkGraph(graph.nodes, (n) => {
    if (n.kind === 'lut') throw new QwasmError(`bundleWasm: node '${n.name}' (${n.op}, an int8 lookup table) is not supported by the pure-WASM runner yet; run this model with the JS runtime (qwasm/runtime)`);
  });
  const per = graph.inputShape[0] * graph.inputShape[1] * graph.inputShape[2];
  let codes: Int8Array = new Int8Array(0);
  if (opts.input !== undefined) {
    const x = opts.input;
    if (!(x instanceof Int8Array) && !(x instanceof Float32Array)) throw new TypeError(`opts.input must be an Int8Array (codes) or a Float32Array, got ${describe(x)}`);
    if (x.length === 0 || x.length % per !== 0) throw new RangeError(`opts.input must hold n × ${graph.inputShape.join('×')} = n × ${per} values, got ${x.length}`);
    codes = x instanceof Int8Array ? x.slice() : quantizeInput(x, graph.input);
  }
  const samples = codes.length / per;

  const secs = sections(scalarWasm);
  const one = (id: number) => secs.filter((s) => s.id === id);
  if (one(8).length) throw new QwasmError('bundleWasm: the build already has a start section');
  // imported functions come first in the function index space
  let importedFuncs = 0;
  for (const s of one(2)) {
    let [n, p] = readU32(s.body, 0);
    for (; n > 0; n--) {
      [, p] = name(s.body, p); [, p] = name(s.body, p);
      const kind = s.body[p++];
      if (kind === 0) { importedFuncs++; [, p] = readU32(s.body, p); }
      else throw new QwasmError('bundleWasm: the build imports something other than functions (it should import nothing)');
    }
  }
  // exports by name
  const exportSec = one(7)[0];
  if (!exportSec) throw new QwasmError('bundleWasm: the build has no export section');
  const exports = new Map<string, { kind: number; index: number }>();
  {
    let [n, p] = readU32(exportSec.body, 0);
    for (; n > 0; n--) {
      let nm: string;
      [nm, p] = name(exportSec.body, p);
      const kind = exportSec.body[p++];
      let index: number;
      [index, p] = readU32(exportSec.body, p);
      exports.set(nm, { kind, index });
    }
  }
  for (const nm of [...EXPORTS, 'qwm_embed_init']) {
    if (exports.get(nm)?.kind !== 0) throw new QwasmError(`bundleWasm: the build does not export function ${nm} (not a qwasm scalar build with assembly/qwm_run.ts?)`);
  }
  const mem = [...exports.entries()].find(([, e]) => e.kind === 2);
  if (!mem) throw new QwasmError('bundleWasm: the build exports no memory');
  // qwm_embed_init must be [] → [] to be a start function
  const init = exports.get('qwm_embed_init')!.index;
  {
    const fs = one(3)[0], ts = one(1)[0];
    if (!fs || !ts) throw new QwasmError('bundleWasm: the build has no function or type section');
    let [nf, p] = readU32(fs.body, 0);
    const local = init - importedFuncs;
    if (local < 0 || local >= nf) throw new QwasmError('bundleWasm: qwm_embed_init is not a defined function');
    let typeIdx = 0;
    for (let i = 0; i <= local; i++) [typeIdx, p] = readU32(fs.body, p);
    let [nt, q] = readU32(ts.body, 0);
    if (typeIdx >= nt) throw new QwasmError('bundleWasm: bad type index');
    for (let i = 0; i < typeIdx; i++) {
      if (ts.body[q++] !== 0x60) throw new QwasmError('bundleWasm: unexpected type form');
      let c: number;
      [c, q] = readU32(ts.body, q); q += c;
      [c, q] = readU32(ts.body, q); q += c;
    }
    const [params, q1] = readU32(ts.body, q + 1);
    const [results] = readU32(ts.body, q1 + params);
    if (ts.body[q] !== 0x60 || params !== 0 || results !== 0) throw new QwasmError('bundleWasm: qwm_embed_init is not a function of no arguments and no result');
  }
  // memory: one, min pages (and maybe max)
  const memSec = one(5)[0];
  if (!memSec) throw new QwasmError('bundleWasm: the build has no memory section');
  let [nMem, mp] = readU32(memSec.body, 0);
  if (nMem !== 1) throw new QwasmError(`bundleWasm: the build has ${nMem} memories, expected 1`);
  const flags = memSec.body[mp++];
  if (flags > 1) throw new QwasmError(`bundleWasm: unsupported memory limits flags ${flags}`);
  let minPages: number, maxPages: number | null = null;
  [minPages, mp] = readU32(memSec.body, mp);
  if (flags === 1) [maxPages] = readU32(memSec.body, mp);

  const payloadOffset = minPages * PAGE + HEAP_ROOM;
  const payloadBytes = qwm.length + codes.length;
  const pages = Math.ceil((payloadOffset + payloadBytes + DESCRIPTOR) / PAGE);
  if (pages > 65536) throw new QwasmError(`bundleWasm: model and input need ${pages} pages of memory (wasm32 holds 65536)`);
  if (maxPages !== null && maxPages < pages) maxPages = pages;
  if (opts.maxPages !== undefined) {
    checkInt('opts.maxPages', opts.maxPages, pages, 65536);
    maxPages = opts.maxPages;
  }
  const memBody = concat([[1, maxPages === null ? 0 : 1], u32leb(pages), maxPages === null ? [] : u32leb(maxPages)]);

  const desc = new Uint8Array(DESCRIPTOR), dv = new DataView(desc.buffer);
  desc.set([0x51, 0x57, 0x4d, 0x42, 0x4e, 0x44, 0x4c, 0x31]); // "QWMBNDL1"
  dv.setUint32(8, payloadOffset, true);
  dv.setUint32(12, qwm.length, true);
  dv.setUint32(16, codes.length, true);
  dv.setUint32(20, samples, true);
  dv.setUint32(24, crc32(desc, 0, 0, 24), true);
  const segment = (offset: number, bytes: Uint8Array) => concat([[0, 0x41], i32leb(offset | 0), [0x0b], u32leb(bytes.length), bytes]);
  const newSegs = [segment(payloadOffset, concat([qwm, new Uint8Array(codes.buffer, codes.byteOffset, codes.length)])),
    segment(pages * PAGE - DESCRIPTOR, desc)];

  const exportBody = concat([u32leb(EXPORTS.length + 1),
    ...EXPORTS.map((nm) => concat([u32leb(new TextEncoder().encode(nm).length), new TextEncoder().encode(nm), [0], u32leb(exports.get(nm)!.index)])),
    concat([u32leb(new TextEncoder().encode(mem[0]).length), new TextEncoder().encode(mem[0]), [2], u32leb(mem[1].index)])]);

  const out: Uint8Array[] = [scalarWasm.subarray(0, 8)];
  let dataDone = false;
  for (const s of secs) {
    if (s.id === 5) out.push(section(5, memBody));
    else if (s.id === 7) { out.push(section(7, exportBody)); out.push(section(8, new Uint8Array(u32leb(init)))); }
    else if (s.id === 12) { const [n] = readU32(s.body, 0); out.push(section(12, new Uint8Array(u32leb(n + newSegs.length)))); }
    else if (s.id === 11) {
      const [n, p] = readU32(s.body, 0);
      out.push(section(11, concat([u32leb(n + newSegs.length), s.body.subarray(p), ...newSegs])));
      dataDone = true;
    } else out.push(section(s.id, s.body));
  }
  // a build without a data section: ours goes last (after the code section; custom sections may sit anywhere)
  if (!dataDone) out.push(section(11, concat([u32leb(newSegs.length), ...newSegs])));
  return { wasm: concat(out), samples, inputCodes: codes, payloadOffset, pages };
}
