// The qwasm checkpoint format, version 1 (all integers little-endian):
//
//   offset size
//   0      8    magic "QWCKPT\r\n" (51 57 43 4B 50 54 0D 0A: a text-mode transfer that rewrites line ends breaks it)
//   8      4    version (1)
//   12     4    header size (40)
//   16     4    tensor count
//   20     4    index size in bytes
//   24     4    metadata size in bytes
//   28     4    reserved (0)
//   32     8    total file size in bytes (u64)
//   40          index: per tensor, in order
//                 u16 name length, name (UTF-8, 1..1024 bytes), u8 dtype (1 f32, 2 i8, 3 i32, 4 u8),
//                 u8 rank (0..8), rank × u32 dims, u64 data offset (from the file start), u64 data size
//   40+index    metadata: UTF-8 JSON object
//   …           tensor data, each at a 64-byte-aligned offset, zero padding between
//   size−4 4    CRC-32 (IEEE) of bytes [0, size−4)
//
// decodeCheckpoint validates every field against the actual byte length before it trusts it (so a forged
// length cannot cause a huge allocation or an out-of-range read), checks the CRC, then that every tensor
// lies inside the data area, does not overlap another, is aligned, and has shape × dtype size = byte size.
import { QwasmError, toBytes } from '../errors.js';
import { crc32 } from '../util/crc32.js';

export const CHECKPOINT_MAGIC = Uint8Array.of(0x51, 0x57, 0x43, 0x4b, 0x50, 0x54, 0x0d, 0x0a);
export const CHECKPOINT_VERSION = 1;
const HEADER = 40;
const ALIGN = 64;
const MAX_NAME = 1024;
const MAX_RANK = 8;
const MIN_ENTRY = 2 + 1 + 1 + 1 + 8 + 8;

export type TensorDType = 'f32' | 'i8' | 'i32' | 'u8';
export type TensorData = Float32Array | Int8Array | Int32Array | Uint8Array;

export interface CheckpointTensor {
  /** Defaults to [data.length]. */
  shape?: readonly number[];
  data: TensorData;
}

/** Free-form JSON metadata; these fields are the conventional ones. */
export interface CheckpointMeta {
  model?: { name: string; config?: unknown };
  optimizer?: { name: string; config?: unknown };
  step?: number;
  epoch?: number;
  seed?: number;
  dataset?: unknown;
  [key: string]: unknown;
}

export interface Checkpoint {
  meta: CheckpointMeta;
  /** Named tensors (parameters, buffers, optimiser state), in insertion order. */
  tensors: Record<string, CheckpointTensor>;
}

/** A decoded tensor: shape always present, data a fresh copy. */
export interface LoadedTensor { dtype: TensorDType; shape: number[]; data: TensorData }
export interface LoadedCheckpoint { version: number; meta: CheckpointMeta; tensors: Record<string, LoadedTensor> }

export class CheckpointError extends QwasmError {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointError';
  }
}

const DTYPES: { code: number; dtype: TensorDType; size: number; ctor: Float32ArrayConstructor | Int8ArrayConstructor | Int32ArrayConstructor | Uint8ArrayConstructor }[] = [
  { code: 1, dtype: 'f32', size: 4, ctor: Float32Array },
  { code: 2, dtype: 'i8', size: 1, ctor: Int8Array },
  { code: 3, dtype: 'i32', size: 4, ctor: Int32Array },
  { code: 4, dtype: 'u8', size: 1, ctor: Uint8Array },
];

const LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const align = (n: number) => Math.ceil(n / ALIGN) * ALIGN;

function dtypeOf(data: unknown) {
  // Exact constructor match: Buffer (a Uint8Array subclass) counts as u8.
  for (const d of DTYPES) if (data instanceof d.ctor) return d;
  return null;
}

/** Serialises a checkpoint to bytes. */
export function encodeCheckpoint(ckpt: Checkpoint): Uint8Array {
  if (!LITTLE) throw new CheckpointError('checkpoints need a little-endian platform');
  if (!ckpt || typeof ckpt !== 'object' || !ckpt.tensors || typeof ckpt.tensors !== 'object') {
    throw new TypeError('checkpoint must be { meta, tensors }');
  }
  const metaJson = JSON.stringify(ckpt.meta ?? {});
  if (typeof metaJson !== 'string' || !metaJson.startsWith('{')) throw new TypeError('checkpoint meta must be a JSON object');
  const meta = new TextEncoder().encode(metaJson);
  const enc = new TextEncoder();
  const entries = Object.entries(ckpt.tensors).map(([name, t]) => {
    const nameBytes = enc.encode(name);
    if (nameBytes.length < 1 || nameBytes.length > MAX_NAME) throw new RangeError(`tensor name ${JSON.stringify(name)} must be 1..${MAX_NAME} UTF-8 bytes`);
    if (name === '__proto__') throw new RangeError('tensor name "__proto__" is not allowed');
    const d = t && dtypeOf(t.data);
    if (!d) throw new TypeError(`tensor ${name}: data must be a Float32Array, Int8Array, Int32Array or Uint8Array`);
    const shape = t.shape ? [...t.shape] : [t.data.length];
    if (shape.length > MAX_RANK) throw new RangeError(`tensor ${name}: rank ${shape.length} > ${MAX_RANK}`);
    let count = 1;
    for (const s of shape) {
      if (!Number.isInteger(s) || s < 0 || s > 0xffffffff) throw new RangeError(`tensor ${name}: bad dim ${s}`);
      count *= s;
    }
    if (count !== t.data.length) throw new RangeError(`tensor ${name}: shape [${shape.join(', ')}] holds ${count} values, data has ${t.data.length}`);
    return { name, nameBytes, d, shape, data: t.data };
  });
  const indexSize = entries.reduce((s, e) => s + 2 + e.nameBytes.length + 2 + 4 * e.shape.length + 16, 0);
  let off = align(HEADER + indexSize + meta.length);
  const offsets = entries.map((e) => { const o = off; off = align(o + e.data.byteLength); return o; });
  const dataEnd = entries.length ? offsets[offsets.length - 1] + entries[entries.length - 1].data.byteLength : HEADER + indexSize + meta.length;
  const total = dataEnd + 4;
  if (total > 2 ** 53) throw new RangeError('checkpoint too large');
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  out.set(CHECKPOINT_MAGIC, 0);
  dv.setUint32(8, CHECKPOINT_VERSION, true);
  dv.setUint32(12, HEADER, true);
  dv.setUint32(16, entries.length, true);
  dv.setUint32(20, indexSize, true);
  dv.setUint32(24, meta.length, true);
  dv.setUint32(28, 0, true);
  setU64(dv, 32, total);
  let p = HEADER;
  entries.forEach((e, i) => {
    dv.setUint16(p, e.nameBytes.length, true); p += 2;
    out.set(e.nameBytes, p); p += e.nameBytes.length;
    out[p++] = e.d.code;
    out[p++] = e.shape.length;
    for (const s of e.shape) { dv.setUint32(p, s, true); p += 4; }
    setU64(dv, p, offsets[i]); p += 8;
    setU64(dv, p, e.data.byteLength); p += 8;
    out.set(new Uint8Array(e.data.buffer, e.data.byteOffset, e.data.byteLength), offsets[i]);
  });
  out.set(meta, HEADER + indexSize);
  dv.setUint32(total - 4, crc32(out, 0, 0, total - 4), true);
  return out;
}

function setU64(dv: DataView, at: number, v: number): void {
  dv.setUint32(at, v % 4294967296, true);
  dv.setUint32(at + 4, Math.floor(v / 4294967296), true);
}

/** Parses and fully validates checkpoint bytes; throws a CheckpointError naming the first problem. */
export function decodeCheckpoint(input: Uint8Array | ArrayBuffer, what = 'checkpoint'): LoadedCheckpoint {
  const fail = (msg: string): never => { throw new CheckpointError(`${what}: ${msg}`); };
  const bytes = toBytes('checkpoint bytes', input);
  const n = bytes.length;
  if (n < HEADER + 4) fail(`truncated or not a checkpoint (${n} bytes, the header alone is ${HEADER})`);
  for (let i = 0; i < 8; i++) if (bytes[i] !== CHECKPOINT_MAGIC[i]) fail('not a qwasm checkpoint (bad magic)');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint32(8, true);
  if (version !== CHECKPOINT_VERSION) fail(`unsupported version ${version} (this build reads version ${CHECKPOINT_VERSION})`);
  if (dv.getUint32(12, true) !== HEADER) fail(`bad header size ${dv.getUint32(12, true)}`);
  const total = getU64(dv, 32);
  if (total === null) fail('corrupt total size');
  if (total !== n) fail(total! > n ? `truncated: the header says ${total} bytes, only ${n} present` : `the header says ${total} bytes but there are ${n} (trailing data or a corrupt header)`);
  const stored = dv.getUint32(n - 4, true);
  if (crc32(bytes, 0, 0, n - 4) !== stored) fail('checksum mismatch (the file is corrupt)');
  // The CRC matches, but nothing below trusts a field until it is checked against n.
  const count = dv.getUint32(16, true), indexSize = dv.getUint32(20, true), metaSize = dv.getUint32(24, true);
  if (dv.getUint32(28, true) !== 0) fail('reserved header field is not 0');
  if (indexSize > n - HEADER - 4 || metaSize > n - HEADER - 4 - indexSize) fail(`index (${indexSize}) and metadata (${metaSize}) sizes exceed the file`);
  if (count > Math.floor(indexSize / MIN_ENTRY)) fail(`${count} tensors cannot fit in an index of ${indexSize} bytes`);
  const indexEnd = HEADER + indexSize, metaEnd = indexEnd + metaSize, dataLimit = n - 4;
  const dec = new TextDecoder('utf-8', { fatal: true });
  const seen = new Set<string>();
  const list: { name: string; d: typeof DTYPES[number]; shape: number[]; offset: number; size: number }[] = [];
  let p = HEADER;
  const need = (k: number, field: string) => { if (p + k > indexEnd) fail(`index entry ${list.length}: ${field} runs past the index`); };
  for (let i = 0; i < count; i++) {
    need(2, 'name length');
    const nameLen = dv.getUint16(p, true); p += 2;
    if (nameLen < 1 || nameLen > MAX_NAME) fail(`index entry ${i}: name length ${nameLen} outside [1, ${MAX_NAME}]`);
    need(nameLen, 'name');
    let name = '';
    try { name = dec.decode(bytes.subarray(p, p + nameLen)); } catch { fail(`index entry ${i}: name is not valid UTF-8`); }
    p += nameLen;
    if (name === '__proto__') fail(`index entry ${i}: tensor name "__proto__" is not allowed`);
    if (seen.has(name)) fail(`duplicate tensor name ${JSON.stringify(name)}`);
    seen.add(name);
    need(2, 'dtype and rank');
    const code = bytes[p++], rank = bytes[p++];
    const d = DTYPES.find((x) => x.code === code);
    if (!d) fail(`tensor ${JSON.stringify(name)}: unknown dtype code ${code}`);
    if (rank > MAX_RANK) fail(`tensor ${JSON.stringify(name)}: rank ${rank} > ${MAX_RANK}`);
    need(4 * rank + 16, 'dims and data location');
    const shape: number[] = [];
    for (let k = 0; k < rank; k++) { shape.push(dv.getUint32(p, true)); p += 4; }
    const offset = getU64(dv, p), size = getU64(dv, p + 8);
    p += 16;
    if (offset === null || size === null) fail(`tensor ${JSON.stringify(name)}: corrupt data location`);
    if (offset! < metaEnd || offset! > dataLimit || size! > dataLimit - offset!) {
      fail(`tensor ${JSON.stringify(name)}: data [${offset}, ${offset! + size!}) outside the data area [${metaEnd}, ${dataLimit})`);
    }
    if (offset! % d!.size !== 0) fail(`tensor ${JSON.stringify(name)}: offset ${offset} not aligned to ${d!.size}`);
    let elems = 1;
    for (const s of shape) elems *= s; // each dim < 2^32, rank ≤ 8: may exceed 2^53 only when it cannot match size
    if (elems * d!.size !== size) fail(`tensor ${JSON.stringify(name)}: shape [${shape.join(', ')}] × ${d!.dtype} = ${elems * d!.size} bytes, but ${size} stored`);
    list.push({ name, d: d!, shape, offset: offset!, size: size! });
  }
  if (p !== indexEnd) fail(`index has ${indexEnd - p} unexplained bytes after the last entry`);
  const sorted = [...list].sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1], b = sorted[i];
    if (a.offset + a.size > b.offset) fail(`tensors ${JSON.stringify(a.name)} and ${JSON.stringify(b.name)} overlap`);
  }
  let meta: unknown;
  try { meta = JSON.parse(dec.decode(bytes.subarray(indexEnd, metaEnd))); } catch (e) { fail(`metadata is not valid UTF-8 JSON (${(e as Error).message})`); }
  if (!meta || typeof meta !== 'object' || Array.isArray(meta)) fail('metadata is not a JSON object');
  const tensors: Record<string, LoadedTensor> = {};
  for (const t of list) {
    const copy = new Uint8Array(t.size); // a fresh, aligned copy (Buffer#slice would be a view)
    copy.set(bytes.subarray(t.offset, t.offset + t.size));
    tensors[t.name] = { dtype: t.d.dtype, shape: t.shape, data: new t.d.ctor(copy.buffer, 0, t.size / t.d.size) };
  }
  return { version, meta: meta as CheckpointMeta, tensors };
}

function getU64(dv: DataView, at: number): number | null {
  const lo = dv.getUint32(at, true), hi = dv.getUint32(at + 4, true);
  if (hi >= 1 << 21) return null; // ≥ 2^53
  return hi * 4294967296 + lo;
}
