// RGB photo datasets from class folders of JPEG / PNG / WebP files, decoded with sharp (libvips; an optional
// dependency, loaded on first use): EXIF orientation applied, transparency composited over a background, any
// colour space (CMYK, grey, 16-bit) converted to 8-bit sRGB, the shorter side resized to the output size and
// the centre cropped square (sharp's fit 'cover', Lanczos-3). Images are held as one compact uint8 NHWC array
// (size² × 3 bytes each: 150 528 B at 224 px), normalised to float only per batch (src/data/batch.ts).
// The runtime entry (qwasm/runtime) does not use this file: in a browser the caller decodes with
// createImageBitmap / canvas (see centreCropBox and rgbaToRgb in src/deploy/preprocess.ts).
import { QwasmError, checkInt } from '../errors.js';
import { createDataset, type Dataset, type Normalization } from './dataset.js';
import { fs, path } from '../util/node.js';

export const PHOTO_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp'];

/** How a photo becomes model input; recorded in checkpoints and .qwm meta (`preprocess`). */
export interface PhotoPreprocess {
  /** Output height = width. */
  size: number;
  resize: 'shorter-side';
  crop: 'centre';
  /** Background (0..255 RGB) transparent pixels are composited over. */
  background: [number, number, number];
}

// sharp's types are not a dependency of the build: the few calls used here
interface SharpChain {
  rotate(): SharpChain;
  flatten(o: { background: { r: number; g: number; b: number } }): SharpChain;
  toColourspace(s: string): SharpChain;
  removeAlpha(): SharpChain;
  resize(w: number, h: number, o: { fit: string; position: string }): SharpChain;
  raw(o?: { depth?: string }): SharpChain;
  toBuffer(o: { resolveWithObject: true }): Promise<{ data: Uint8Array; info: { width: number; height: number; channels: number } }>;
}
type SharpFn = ((input: Uint8Array | string, o?: Record<string, unknown>) => SharpChain) & { concurrency?(n?: number): number };

let sharpFn: SharpFn | null = null;

/** The sharp module, or an error with the one line that fixes it. */
export async function loadSharp(): Promise<SharpFn> {
  if (sharpFn) return sharpFn;
  try {
    const name = 'sharp'; // a variable: bundlers leave the import alone (the runtime never reaches it)
    const m = (await import(name)) as { default?: SharpFn };
    sharpFn = (m.default ?? m) as SharpFn;
  } catch {
    throw new QwasmError('decoding JPEG / PNG / WebP photos needs sharp: npm install sharp');
  }
  return sharpFn;
}

export interface DecodePhotoOptions {
  /** Background for transparent pixels: one grey value or [r, g, b] (default white, 255). */
  background?: number | readonly [number, number, number];
  /** Name for error messages (default: the file name, or 'image'). */
  what?: string;
}

function backgroundOf(b: DecodePhotoOptions['background']): [number, number, number] {
  const v = b === undefined ? [255, 255, 255] : typeof b === 'number' ? [b, b, b] : [...b];
  if (v.length !== 3 || v.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) throw new RangeError(`background must be 0..255 or [r, g, b], got ${JSON.stringify(b)}`);
  return v as [number, number, number];
}

/**
 * A photo (file path or encoded bytes) as size×size×3 uint8 RGB: EXIF-oriented, alpha over the background,
 * shorter side resized to `size`, centre cropped. A corrupt, truncated or unsupported file throws naming it.
 */
export async function decodePhoto(input: string | Uint8Array, size: number, opts: DecodePhotoOptions = {}): Promise<Uint8Array> {
  checkInt('size', size, 1, 1 << 14);
  const what = opts.what ?? (typeof input === 'string' ? input : 'image');
  const [r, g, b] = backgroundOf(opts.background);
  const sharp = await loadSharp();
  let out: Awaited<ReturnType<SharpChain['toBuffer']>>;
  try {
    // failOn 'warning' (sharp's default, spelled out): a truncated JPEG is an error, not a grey bottom half
    out = await sharp(input, { failOn: 'warning', limitInputPixels: 1 << 28 })
      .rotate()
      .flatten({ background: { r, g, b } })
      .toColourspace('srgb')
      .resize(size, size, { fit: 'cover', position: 'centre' })
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw new QwasmError(`${what}: cannot decode as a photo (${(e as Error).message.split('\n')[0]})`);
  }
  const { data, info } = out;
  if (info.width !== size || info.height !== size) throw new QwasmError(`${what}: decoded to ${info.width}×${info.height}, expected ${size}×${size}`);
  if (info.channels === 3) return new Uint8Array(data.buffer, data.byteOffset, data.length);
  // grey input can stay one band in libvips: widen; anything else is unexpected
  if (info.channels === 1) {
    const rgb = new Uint8Array(size * size * 3);
    for (let i = 0; i < size * size; i++) rgb[i * 3] = rgb[i * 3 + 1] = rgb[i * 3 + 2] = data[i];
    return rgb;
  }
  throw new QwasmError(`${what}: decoded to ${info.channels} channels, expected 3 (RGB)`);
}

export interface PhotoFolderOptions extends DecodePhotoOptions {
  /** Output height = width (e.g. the model's input size: 96, 128, 224). */
  size: number;
  /** Only these classes, in this order (default: every sub-folder, sorted). */
  classes?: readonly string[];
  /** Normalisation recorded on the dataset (default: ImageNet mean / std). */
  norm?: Normalization;
  /** Also take photos from nested folders of a class folder (default true). */
  recursive?: boolean;
  /** What to do with a file that does not decode: 'error' (default, names the file) or 'skip' (listed in skipped). */
  onBadFile?: 'error' | 'skip';
  /** Photos decoded at once (default 4). */
  concurrency?: number;
  name?: string;
  /** Called after each photo with (done, total). */
  onProgress?: (done: number, total: number) => void;
}

export interface PhotoDataset extends Dataset {
  preprocess: PhotoPreprocess;
  /** Files that did not decode (onBadFile 'skip'), with the reason. */
  skipped: { file: string; error: string }[];
  /** Source file of each image. */
  files: string[];
}

export const IMAGENET_NORM: Normalization = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

function listPhotos(dir: string, recursive: boolean): string[] {
  const out: string[] = [];
  for (const e of fs().readdirSync(dir, { withFileTypes: true })) {
    const p = path().join(dir, e.name);
    if (e.isDirectory()) { if (recursive) out.push(...listPhotos(p, true)); } else if (PHOTO_EXTENSIONS.includes(path().extname(e.name).toLowerCase())) out.push(p);
  }
  return out.sort();
}

/**
 * Loads `dir`/<class>/…/<photo> into a uint8 RGB dataset of size×size photos (class names = sub-folder names).
 * Memory: N × size² × 3 bytes, allocated once (10 000 photos at 224 px: 1.5 GB).
 */
export async function loadPhotoFolder(dir: string, opts: PhotoFolderOptions): Promise<PhotoDataset> {
  const size = checkInt('size', opts.size, 1, 1 << 14);
  if (!fs().existsSync(dir) || !fs().statSync(dir).isDirectory()) throw new QwasmError(`photo folder not found: ${dir}`);
  const classes = opts.classes ? [...opts.classes] : fs().readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  if (!classes.length) throw new QwasmError(`${dir}: no class sub-folders (expected ${dir}/<class>/<photo>.jpg)`);
  const files: string[] = [], fileLabels: number[] = [];
  classes.forEach((cls, label) => {
    const sub = path().join(dir, cls);
    if (!fs().existsSync(sub)) throw new QwasmError(`${dir}: no sub-folder for class ${JSON.stringify(cls)}`);
    for (const f of listPhotos(sub, opts.recursive ?? true)) { files.push(f); fileLabels.push(label); }
  });
  if (!files.length) throw new QwasmError(`${dir}: no photos (${PHOTO_EXTENSIONS.join(' ')}) in the class sub-folders`);
  await loadSharp(); // the missing-package line before any work
  const per = size * size * 3;
  let images = new Uint8Array(files.length * per);
  const ok = new Uint8Array(files.length);
  const skipped: { file: string; error: string }[] = [];
  const conc = checkInt('concurrency', opts.concurrency ?? 4, 1, 64);
  let next = 0, done = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= files.length) return;
      try {
        images.set(await decodePhoto(files[i], size, { background: opts.background }), i * per);
        ok[i] = 1;
      } catch (e) {
        if (opts.onBadFile !== 'skip') throw e;
        skipped.push({ file: files[i], error: (e as Error).message });
      }
      opts.onProgress?.(++done, files.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(conc, files.length) }, worker));
  let kept = files.map((_, i) => i);
  if (skipped.length) {
    kept = kept.filter((i) => ok[i]);
    if (!kept.length) throw new QwasmError(`${dir}: none of the ${files.length} photos decoded (first: ${skipped[0].error})`);
    const compact = new Uint8Array(kept.length * per);
    kept.forEach((src, j) => compact.set(images.subarray(src * per, (src + 1) * per), j * per));
    images = compact;
  }
  const labels = classes.length <= 256 ? new Uint8Array(kept.length) : new Int32Array(kept.length);
  kept.forEach((src, j) => { labels[j] = fileLabels[src]; });
  const ds = createDataset({
    name: opts.name ?? path().basename(dir), images, labels, height: size, width: size, channels: 3, classes,
    norm: opts.norm ?? IMAGENET_NORM, flipSafe: true,
  });
  return { ...ds, preprocess: { size, resize: 'shorter-side', crop: 'centre', background: backgroundOf(opts.background) }, skipped, files: kept.map((i) => files[i]) };
}
