// Small uint8 image operations used by the loaders: channel conversion, resizing, inversion and the
// MNIST-style normalisation (fit the ink into a 20×20 box, centre its mass in a 28×28 frame).
import { checkInt } from '../errors.js';

/** An interleaved uint8 image, height×width×channels. */
export interface Image {
  width: number;
  height: number;
  channels: number;
  data: Uint8Array;
}

/**
 * Converts to 1 (grey, BT.601 luma) or 3 (RGB) channels. Alpha (2- or 4-channel input) is composited over
 * `background` (0 = black, the MNIST convention of light ink on a dark ground).
 */
export function toChannels(img: Image, channels: 1 | 3, background = 0): Image {
  const { width, height, data } = img;
  const cin = img.channels;
  if (cin === channels) return img;
  const n = width * height;
  const out = new Uint8Array(n * channels);
  const hasAlpha = cin === 2 || cin === 4;
  for (let i = 0; i < n; i++) {
    const p = i * cin;
    let r: number, g: number, b: number;
    if (cin <= 2) r = g = b = data[p]; else { r = data[p]; g = data[p + 1]; b = data[p + 2]; }
    if (hasAlpha) {
      const a = data[p + cin - 1] / 255;
      r = r * a + background * (1 - a); g = g * a + background * (1 - a); b = b * a + background * (1 - a);
    }
    if (channels === 1) out[i] = Math.round(0.299 * r + 0.587 * g + 0.114 * b);
    else { out[i * 3] = Math.round(r); out[i * 3 + 1] = Math.round(g); out[i * 3 + 2] = Math.round(b); }
  }
  return { width, height, channels, data: out };
}

/**
 * Resizes to height×width. Enlarging uses bilinear interpolation (pixel centres aligned, edges clamped);
 * shrinking averages the covered source area (box filter), which does not alias the way bilinear does.
 */
export function resize(img: Image, height: number, width: number): Image {
  checkInt('height', height, 1, 1 << 16);
  checkInt('width', width, 1, 1 << 16);
  if (img.height === height && img.width === width) return img;
  const c = img.channels;
  const out = new Uint8Array(height * width * c);
  const rows = axisWeights(img.height, height), cols = axisWeights(img.width, width);
  const acc = new Float64Array(c);
  for (let y = 0; y < height; y++) {
    const ry = rows[y];
    for (let x = 0; x < width; x++) {
      const rx = cols[x];
      acc.fill(0);
      for (let a = 0; a < ry.idx.length; a++) {
        for (let b = 0; b < rx.idx.length; b++) {
          const w = ry.w[a] * rx.w[b];
          const p = (ry.idx[a] * img.width + rx.idx[b]) * c;
          for (let k = 0; k < c; k++) acc[k] += w * img.data[p + k];
        }
      }
      const o = (y * width + x) * c;
      for (let k = 0; k < c; k++) out[o + k] = Math.min(255, Math.max(0, Math.round(acc[k])));
    }
  }
  return { width, height, channels: c, data: out };
}

interface Taps { idx: number[]; w: number[] }
function axisWeights(src: number, dst: number): Taps[] {
  const out: Taps[] = [];
  const scale = src / dst;
  for (let i = 0; i < dst; i++) {
    if (dst >= src) {
      // bilinear: source coordinate of this pixel's centre
      const s = Math.min(Math.max((i + 0.5) * scale - 0.5, 0), src - 1);
      const i0 = Math.floor(s), i1 = Math.min(i0 + 1, src - 1), f = s - i0;
      out.push(f === 0 || i0 === i1 ? { idx: [i0], w: [1] } : { idx: [i0, i1], w: [1 - f, f] });
    } else {
      // area: overlap of [i·scale, (i+1)·scale) with each source pixel
      const a = i * scale, b = (i + 1) * scale;
      const idx: number[] = [], w: number[] = [];
      for (let j = Math.floor(a); j < Math.min(Math.ceil(b), src); j++) {
        const ov = Math.min(b, j + 1) - Math.max(a, j);
        if (ov > 0) { idx.push(j); w.push(ov / scale); }
      }
      out.push({ idx, w });
    }
  }
  return out;
}

export function invert(img: Image): Image {
  const data = new Uint8Array(img.data.length);
  for (let i = 0; i < data.length; i++) data[i] = 255 - img.data[i];
  return { ...img, data };
}

/**
 * MNIST-style framing of a one-channel image of light ink on a dark ground: crop to the ink's bounding box,
 * scale it (keeping aspect) to fit a box×box square, and place it in a size×size frame with the centre of
 * mass at the frame's centre (as the MNIST images were made: 20×20 box, 28×28 frame).
 */
export function centreLikeMnist(img: Image, size = 28, box = 20): Image {
  if (img.channels !== 1) throw new RangeError('centreLikeMnist needs a one-channel image');
  const { width: w, height: h, data } = img;
  let x0 = w, y0 = h, x1 = -1, y1 = -1;
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    if (data[y * w + x] > 0) { if (x < x0) x0 = x; if (x > x1) x1 = x; if (y < y0) y0 = y; if (y > y1) y1 = y; }
  }
  const out = new Uint8Array(size * size);
  if (x1 < 0) return { width: size, height: size, channels: 1, data: out };
  const cw = x1 - x0 + 1, ch = y1 - y0 + 1;
  const crop = new Uint8Array(cw * ch);
  for (let y = 0; y < ch; y++) crop.set(data.subarray((y0 + y) * w + x0, (y0 + y) * w + x0 + cw), y * cw);
  const s = box / Math.max(cw, ch);
  const nw = Math.max(1, Math.round(cw * s)), nh = Math.max(1, Math.round(ch * s));
  const fitted = resize({ width: cw, height: ch, channels: 1, data: crop }, nh, nw);
  let m = 0, mx = 0, my = 0;
  for (let y = 0; y < nh; y++) for (let x = 0; x < nw; x++) {
    const v = fitted.data[y * nw + x]; m += v; mx += v * x; my += v * y;
  }
  const cx = m > 0 ? mx / m : (nw - 1) / 2, cy = m > 0 ? my / m : (nh - 1) / 2;
  const ox = Math.round((size - 1) / 2 - cx), oy = Math.round((size - 1) / 2 - cy);
  for (let y = 0; y < nh; y++) for (let x = 0; x < nw; x++) {
    const ty = y + oy, tx = x + ox;
    if (ty >= 0 && ty < size && tx >= 0 && tx < size) out[ty * size + tx] = fitted.data[y * nw + x];
  }
  return { width: size, height: size, channels: 1, data: out };
}
