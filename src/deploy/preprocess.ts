// Photo preprocessing a browser (or any JS host) can do without sharp, matching what src/data/photos.ts does
// in Node: the caller decodes the photo (createImageBitmap with imageOrientation 'from-image', or an <img>),
// draws the centre square of the shorter side scaled to the model's input on a canvas (centreCropBox), reads
// the RGBA pixels back (getImageData), and rgbaToRgb composites alpha and drops it; QwmModel.normalize (or
// predict / classify on the Uint8Array) then applies the model's recorded normalisation (meta mean / std).
// The canvas resamples with its own filter (bilinear-ish, not sharp's Lanczos-3): expect pixel values within
// a few levels of the Node path, not identical.
import { QwasmError, checkInt, describe } from '../errors.js';

/** The source rectangle of a width×height photo that becomes the model's square input: the centred square. */
export function centreCropBox(width: number, height: number): { sx: number; sy: number; sw: number; sh: number } {
  checkInt('width', width, 1);
  checkInt('height', height, 1);
  const s = Math.min(width, height);
  return { sx: (width - s) / 2, sy: (height - s) / 2, sw: s, sh: s };
}

/** RGBA pixels (ImageData.data) → RGB, transparent pixels composited over `background` (default white). */
export function rgbaToRgb(rgba: Uint8Array | Uint8ClampedArray, background: number | readonly [number, number, number] = 255): Uint8Array {
  if (!(rgba instanceof Uint8Array) && !(rgba instanceof Uint8ClampedArray)) throw new TypeError(`rgba must be a Uint8Array or Uint8ClampedArray, got ${describe(rgba)}`);
  if (rgba.length % 4) throw new QwasmError(`rgba has ${rgba.length} bytes, not a multiple of 4`);
  const bg = typeof background === 'number' ? [background, background, background] : background;
  const n = rgba.length / 4, out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const a = rgba[i * 4 + 3];
    for (let c = 0; c < 3; c++) {
      const v = rgba[i * 4 + c];
      out[i * 3 + c] = a === 255 ? v : Math.round((v * a + bg[c] * (255 - a)) / 255);
    }
  }
  return out;
}
