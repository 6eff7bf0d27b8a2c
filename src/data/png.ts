// A small PNG decoder (node:zlib inflates the image data): colour types grey, RGB, palette, grey+alpha and
// RGBA; bit depths 1/2/4/8 (grey, palette) and 8/16 (others; 16-bit keeps the high byte); no interlacing.
// Every chunk's CRC is checked and the inflated size is bounded by the header, so a forged file fails
// with a QwasmError instead of allocating or reading out of range.
import { QwasmError, toBytes } from '../errors.js';
import { crc32 } from '../util/crc32.js';
import type { Image } from './image.js';
import { zlib } from '../util/node.js';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** Largest decoded image accepted (pixels): guards against forged dimensions. */
export const PNG_MAX_PIXELS = 1 << 26;

export function isPng(input: Uint8Array | ArrayBuffer): boolean {
  const bytes = toBytes('bytes', input);
  return bytes.length >= 8 && SIGNATURE.every((b, i) => bytes[i] === b);
}

/** Decodes a PNG to interleaved uint8 (channels: 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA; palette → 3 or 4). */
// Long (~100 lines): a format decoder read top to bottom like the PNG spec (chunks, inflate, unfilter, expand).
export function decodePng(input: Uint8Array | ArrayBuffer, what = 'PNG'): Image {
  const bytes = toBytes(what, input);
  const fail = (msg: string): never => { throw new QwasmError(`${what}: ${msg}`); };
  if (!isPng(bytes)) fail('not a PNG file (bad signature)');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 8;
  let width = 0, height = 0, depth = 0, ctype = -1;
  let palette: Uint8Array | null = null, trns: Uint8Array | null = null;
  const idat: Uint8Array[] = [];
  let sawEnd = false;
  while (pos < bytes.length) {
    if (pos + 12 > bytes.length) fail(`truncated chunk header at byte ${pos}`);
    const len = dv.getUint32(pos, false);
    const type = String.fromCharCode(bytes[pos + 4], bytes[pos + 5], bytes[pos + 6], bytes[pos + 7]);
    if (len > bytes.length - pos - 12) fail(`chunk ${JSON.stringify(type)} at byte ${pos} claims ${len} bytes past the end of the file`);
    const body = bytes.subarray(pos + 8, pos + 8 + len);
    if (crc32(bytes, 0, pos + 4, pos + 8 + len) !== dv.getUint32(pos + 8 + len, false)) fail(`chunk ${JSON.stringify(type)} has a bad CRC`);
    pos += 12 + len;
    if (type === 'IHDR') {
      if (len !== 13) fail('IHDR must be 13 bytes');
      const h = new DataView(body.buffer, body.byteOffset, 13);
      width = h.getUint32(0, false); height = h.getUint32(4, false); depth = body[8]; ctype = body[9];
      if (body[10] !== 0 || body[11] !== 0) fail('unknown compression or filter method');
      if (body[12] !== 0) fail('interlaced (Adam7) PNGs are not supported; re-save without interlacing');
    } else if (type === 'PLTE') palette = body;
    else if (type === 'tRNS') trns = body;
    else if (type === 'IDAT') idat.push(body);
    else if (type === 'IEND') { sawEnd = true; break; }
    else if (!(type.charCodeAt(0) & 0x20)) fail(`unknown critical chunk ${JSON.stringify(type)}`);
  }
  if (ctype < 0) fail('missing IHDR');
  if (!sawEnd) fail('missing IEND (truncated file?)');
  if (width < 1 || height < 1 || width * height > PNG_MAX_PIXELS) fail(`unsupported size ${width}×${height}`);
  const chans = ({ 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 } as Record<number, number>)[ctype];
  if (!chans) fail(`unknown colour type ${ctype}`);
  const okDepth = ctype === 0 ? [1, 2, 4, 8, 16] : ctype === 3 ? [1, 2, 4, 8] : [8, 16];
  if (!okDepth.includes(depth)) fail(`bit depth ${depth} is invalid for colour type ${ctype}`);
  if (ctype === 3 && (!palette || palette.length % 3 !== 0 || palette.length === 0)) fail('palette image without a valid PLTE chunk');
  if (idat.length === 0) fail('no IDAT chunk');
  const bitsPerPixel = chans * depth;
  const stride = Math.ceil((width * bitsPerPixel) / 8);
  const bpp = Math.max(1, bitsPerPixel >> 3);
  const expected = height * (stride + 1);
  let raw: Uint8Array;
  try {
    raw = zlib().inflateSync(concat(idat), { maxOutputLength: expected + 1 });
  } catch (e) {
    return fail(`cannot inflate image data (${(e as Error).message})`);
  }
  if (raw.length !== expected) fail(`image data inflates to ${raw.length} bytes, expected ${expected}`);
  // Unfilter in place, row by row.
  const rows = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)];
    const src = y * (stride + 1) + 1, o = y * stride, up = o - stride;
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? rows[o + i - bpp] : 0;
      const b = y > 0 ? rows[up + i] : 0;
      const c = i >= bpp && y > 0 ? rows[up + i - bpp] : 0;
      let v = raw[src + i];
      if (f === 1) v += a;
      else if (f === 2) v += b;
      else if (f === 3) v += (a + b) >> 1;
      else if (f === 4) {
        const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else if (f !== 0) fail(`unknown filter type ${f} in row ${y}`);
      rows[o + i] = v & 0xff;
    }
  }
  // Expand to 8-bit samples.
  const n = width * height;
  const samples = new Uint8Array(n * chans);
  for (let y = 0; y < height; y++) {
    const o = y * stride;
    for (let x = 0; x < width * chans; x++) {
      let v: number;
      if (depth === 8) v = rows[o + x];
      else if (depth === 16) v = rows[o + 2 * x];
      else {
        const bit = x * depth, byte = rows[o + (bit >> 3)];
        v = (byte >> (8 - depth - (bit & 7))) & ((1 << depth) - 1);
        if (ctype === 0) v = Math.round((v * 255) / ((1 << depth) - 1));
      }
      samples[y * width * chans + x] = v;
    }
  }
  if (ctype !== 3) return { width, height, channels: chans, data: samples };
  const pal = palette!;
  const entries = pal.length / 3;
  const alpha = trns && trns.length > 0;
  const out = new Uint8Array(n * (alpha ? 4 : 3));
  for (let i = 0; i < n; i++) {
    const k = samples[i];
    if (k >= entries) fail(`palette index ${k} out of range (${entries} entries)`);
    const o = i * (alpha ? 4 : 3);
    out[o] = pal[3 * k]; out[o + 1] = pal[3 * k + 1]; out[o + 2] = pal[3 * k + 2];
    if (alpha) out[o + 3] = k < trns!.length ? trns![k] : 255;
  }
  return { width, height, channels: alpha ? 4 : 3, data: out };
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}
