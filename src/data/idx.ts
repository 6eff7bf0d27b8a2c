// IDX files (the MNIST container): magic 00 00 <type> <ndim>, ndim big-endian u32 dims, then the data
// (big-endian for multi-byte types). Optionally gzipped (detected by content, not by name).
import { QwasmError, toBytes } from '../errors.js';
import { createDataset, type Dataset, type Normalization } from './dataset.js';
import { exists, path, readMaybeGz } from '../util/node.js';

export type IdxDType = 'u8' | 'i8' | 'i16' | 'i32' | 'f32' | 'f64';
const CODES: Record<number, [IdxDType, number]> = {
  0x08: ['u8', 1], 0x09: ['i8', 1], 0x0b: ['i16', 2], 0x0c: ['i32', 4], 0x0d: ['f32', 4], 0x0e: ['f64', 8],
};

export interface IdxArray {
  dtype: IdxDType;
  dims: number[];
  data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

/** Parses an IDX file's bytes. u8 / i8 data is a view into `bytes` (no copy). */
export function parseIdx(input: Uint8Array | ArrayBuffer, what = 'IDX data'): IdxArray {
  const bytes = toBytes(what, input);
  if (bytes.length < 4) throw new QwasmError(`${what}: ${bytes.length} bytes, too short for an IDX header`);
  if (bytes[0] !== 0 || bytes[1] !== 0) throw new QwasmError(`${what}: not an IDX file (magic must start with 00 00)`);
  const code = CODES[bytes[2]];
  if (!code) throw new QwasmError(`${what}: unknown IDX type code 0x${bytes[2].toString(16)}`);
  const ndim = bytes[3];
  if (ndim < 1) throw new QwasmError(`${what}: IDX with 0 dimensions`);
  const head = 4 + 4 * ndim;
  if (bytes.length < head) throw new QwasmError(`${what}: truncated IDX header (${ndim} dims need ${head} bytes)`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  let count = 1;
  for (let i = 0; i < ndim; i++) { const d = dv.getUint32(4 + 4 * i, false); dims.push(d); count *= d; }
  const [dtype, size] = code;
  const expected = head + count * size;
  if (bytes.length !== expected) {
    throw new QwasmError(`${what}: dims [${dims.join(', ')}] of ${dtype} need ${expected} bytes, file has ${bytes.length}`
      + (bytes.length < expected ? ' (truncated)' : ''));
  }
  let data: IdxArray['data'];
  if (dtype === 'u8') data = new Uint8Array(bytes.buffer, bytes.byteOffset + head, count);
  else if (dtype === 'i8') data = new Int8Array(bytes.buffer, bytes.byteOffset + head, count);
  else {
    const ctor = { i16: Int16Array, i32: Int32Array, f32: Float32Array, f64: Float64Array }[dtype];
    const out = new ctor(count);
    for (let i = 0; i < count; i++) {
      const o = head + i * size;
      out[i] = dtype === 'i16' ? dv.getInt16(o, false) : dtype === 'i32' ? dv.getInt32(o, false)
        : dtype === 'f32' ? dv.getFloat32(o, false) : dv.getFloat64(o, false);
    }
    data = out;
  }
  return { dtype, dims, data };
}

/** Encodes u8 data with the given dims as an IDX file (type 0x08). */
export function encodeIdx(data: Uint8Array, dims: readonly number[]): Uint8Array {
  if (dims.length < 1 || dims.length > 255) throw new RangeError('dims must have 1..255 entries');
  const count = dims.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new RangeError(`dims [${dims.join(', ')}] hold ${count} values, data has ${data.length}`);
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  const dv = new DataView(out.buffer);
  out[2] = 0x08; out[3] = dims.length;
  dims.forEach((d, i) => dv.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}

export interface IdxDatasetOptions {
  name?: string;
  classes?: readonly string[];
  norm?: Normalization;
  flipSafe?: boolean;
}

/** A Dataset from an IDX image file (N×H×W or N×H×W×C, u8) and an IDX label file (N, u8). Either may be gzipped. */
export function loadIdxDataset(imagesFile: string, labelsFile: string, opts: IdxDatasetOptions = {}): Dataset {
  for (const f of [imagesFile, labelsFile]) if (!exists(f)) throw new QwasmError(`IDX file not found: ${f}`);
  const img = parseIdx(readMaybeGz(imagesFile), imagesFile);
  const lab = parseIdx(readMaybeGz(labelsFile), labelsFile);
  if (img.dtype !== 'u8' || (img.dims.length !== 3 && img.dims.length !== 4)) {
    throw new QwasmError(`${imagesFile}: images must be u8 with dims N×H×W or N×H×W×C, got ${img.dtype} [${img.dims.join(', ')}]`);
  }
  if (lab.dtype !== 'u8' || lab.dims.length !== 1) {
    throw new QwasmError(`${labelsFile}: labels must be u8 with one dim, got ${lab.dtype} [${lab.dims.join(', ')}]`);
  }
  if (lab.dims[0] !== img.dims[0]) throw new QwasmError(`${labelsFile} has ${lab.dims[0]} labels for ${img.dims[0]} images`);
  const labels = lab.data as Uint8Array;
  let maxLabel = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] > maxLabel) maxLabel = labels[i];
  const classes = opts.classes ?? Array.from({ length: maxLabel + 1 }, (_, i) => String(i));
  return createDataset({
    name: opts.name ?? path().basename(imagesFile), images: img.data as Uint8Array, labels,
    height: img.dims[1], width: img.dims[2], channels: img.dims[3] ?? 1, classes, norm: opts.norm, flipSafe: opts.flipSafe,
  });
}

/** Finds `<stem>` or `<stem>.gz` (also `stem` with '-idx3-ubyte' spelt '.idx3-ubyte') in a directory. */
export function findIdx(dir: string, stems: readonly string[]): string | null {
  for (const stem of stems) {
    for (const name of [stem, stem.replace(/-idx(\d)-ubyte$/, '.idx$1-ubyte')]) {
      for (const f of [name, `${name}.gz`]) {
        const p = path().join(dir, f);
        if (exists(p)) return p;
      }
    }
  }
  return null;
}

/** The four standard MNIST-layout files (train/t10k images/labels) in `dir`, or null when any is missing. */
export function findIdxSplits(dir: string): { trainImages: string; trainLabels: string; testImages: string; testLabels: string } | null {
  const trainImages = findIdx(dir, ['train-images-idx3-ubyte']);
  const trainLabels = findIdx(dir, ['train-labels-idx1-ubyte']);
  const testImages = findIdx(dir, ['t10k-images-idx3-ubyte', 'test-images-idx3-ubyte']);
  const testLabels = findIdx(dir, ['t10k-labels-idx1-ubyte', 'test-labels-idx1-ubyte']);
  if (!trainImages || !trainLabels || !testImages || !testLabels) return null;
  return { trainImages, trainLabels, testImages, testLabels };
}
