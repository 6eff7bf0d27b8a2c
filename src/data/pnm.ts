// Netpbm images: P2/P5 (grey) and P3/P6 (RGB), ASCII or binary, maxval up to 65535 (scaled to 0..255),
// comments allowed in the header. P1/P4 (bitmaps) are accepted too (1 = black, so they map to 0).
import { QwasmError, toBytes } from '../errors.js';
import type { Image } from './image.js';
import { PNG_MAX_PIXELS } from './png.js';

export function isPnm(input: Uint8Array | ArrayBuffer): boolean {
  const bytes = toBytes('bytes', input);
  return bytes.length >= 2 && bytes[0] === 0x50 && bytes[1] >= 0x31 && bytes[1] <= 0x36;
}

export function decodePnm(input: Uint8Array | ArrayBuffer, what = 'PNM'): Image {
  const bytes = toBytes(what, input);
  const fail = (msg: string): never => { throw new QwasmError(`${what}: ${msg}`); };
  if (!isPnm(bytes)) fail('not a Netpbm file (expected P1..P6)');
  const kind = bytes[1] - 0x30;
  let pos = 2;
  const isSpace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0b || c === 0x0c;
  const token = (): number => {
    for (;;) {
      while (pos < bytes.length && isSpace(bytes[pos])) pos++;
      if (pos < bytes.length && bytes[pos] === 0x23) { while (pos < bytes.length && bytes[pos] !== 0x0a) pos++; continue; }
      break;
    }
    let v = 0, digits = 0;
    while (pos < bytes.length && bytes[pos] >= 0x30 && bytes[pos] <= 0x39) {
      v = v * 10 + (bytes[pos++] - 0x30);
      if (++digits > 9) fail('number too long in header or data');
    }
    if (digits === 0) fail(pos >= bytes.length ? 'truncated' : `unexpected byte 0x${bytes[pos].toString(16)} at ${pos}`);
    return v;
  };
  const width = token(), height = token();
  const maxval = kind === 1 || kind === 4 ? 1 : token();
  if (width < 1 || height < 1 || width * height > PNG_MAX_PIXELS) fail(`unsupported size ${width}×${height}`);
  if (maxval < 1 || maxval > 65535) fail(`maxval ${maxval} outside [1, 65535]`);
  const chans = kind === 3 || kind === 6 ? 3 : 1;
  const n = width * height * chans;
  const out = new Uint8Array(n);
  const scale = (v: number) => (v > maxval ? fail(`sample ${v} exceeds maxval ${maxval}`) : Math.round((v * 255) / maxval));
  if (kind === 1 || kind === 2 || kind === 3) {
    for (let i = 0; i < n; i++) {
      if (kind === 1) {
        while (pos < bytes.length && (isSpace(bytes[pos]) || bytes[pos] === 0x23)) {
          if (bytes[pos] === 0x23) while (pos < bytes.length && bytes[pos] !== 0x0a) pos++; else pos++;
        }
        if (pos >= bytes.length) fail('truncated');
        const c = bytes[pos++];
        if (c !== 0x30 && c !== 0x31) fail(`bad bitmap sample at ${pos - 1}`);
        out[i] = c === 0x31 ? 0 : 255;
      } else out[i] = scale(token());
    }
    return { width, height, channels: chans, data: out };
  }
  if (pos >= bytes.length || !isSpace(bytes[pos])) fail('missing whitespace after the header');
  pos++;
  if (kind === 4) {
    const stride = Math.ceil(width / 8);
    if (bytes.length - pos < stride * height) fail(`truncated: ${stride * height} data bytes needed, ${bytes.length - pos} present`);
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
      out[y * width + x] = (bytes[pos + y * stride + (x >> 3)] >> (7 - (x & 7))) & 1 ? 0 : 255;
    }
    return { width, height, channels: 1, data: out };
  }
  const size = maxval > 255 ? 2 : 1;
  if (bytes.length - pos < n * size) fail(`truncated: ${n * size} data bytes needed, ${bytes.length - pos} present`);
  for (let i = 0; i < n; i++) {
    const v = size === 1 ? bytes[pos + i] : (bytes[pos + 2 * i] << 8) | bytes[pos + 2 * i + 1];
    out[i] = scale(v);
  }
  return { width, height, channels: chans, data: out };
}
