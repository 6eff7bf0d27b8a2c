// A dataset from a folder with one sub-folder per class (class names = sub-folder names, sorted), holding
// PNG or Netpbm (PGM / PPM / PBM / PNM) images, converted to grey or RGB and resized to one size.
import { QwasmError, toBytes } from '../errors.js';
import { createDataset, type Dataset, type Normalization } from './dataset.js';
import { centreLikeMnist, invert, resize, toChannels, type Image } from './image.js';
import { fs, path } from '../util/node.js';
import { decodePng, isPng } from './png.js';
import { decodePnm, isPnm } from './pnm.js';

export const IMAGE_EXTENSIONS = ['.png', '.pgm', '.ppm', '.pbm', '.pnm'];

/** Decodes PNG or Netpbm bytes (chosen by content). */
export function decodeImage(input: Uint8Array | ArrayBuffer, what = 'image'): Image {
  const bytes = toBytes(what, input);
  if (isPng(bytes)) return decodePng(bytes, what);
  if (isPnm(bytes)) return decodePnm(bytes, what);
  throw new QwasmError(`${what}: not a PNG or Netpbm (PGM/PPM) image`);
}

export interface ImageFolderOptions {
  /** Output size: one number (square) or [height, width]. Without it every image must have the same size. */
  size?: number | readonly [number, number];
  /** 1 = grey (default), 3 = RGB. */
  channels?: 1 | 3;
  /** 255 − v, e.g. for dark ink on a light ground when the model expects MNIST's light-on-dark. */
  invert?: boolean;
  /** MNIST-style framing (one channel only): ink fitted into a 20×20 box, centre of mass centred. */
  centre?: boolean;
  /** Only these classes, in this order (default: every sub-folder, sorted). */
  classes?: readonly string[];
  name?: string;
  norm?: Normalization;
  flipSafe?: boolean;
  /** Background for transparent pixels (0..255; default 0, or 255 with invert). */
  background?: number;
}

export function listClassFolders(dir: string): string[] {
  return fs().readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
}

/** The image files (by extension, sorted) directly inside `dir`. */
export function listImageFiles(dir: string): string[] {
  return fs().readdirSync(dir).filter((f) => IMAGE_EXTENSIONS.includes(path().extname(f).toLowerCase())).sort().map((f) => path().join(dir, f));
}

export function loadImageFolder(dir: string, opts: ImageFolderOptions = {}): Dataset {
  if (!fs().existsSync(dir) || !fs().statSync(dir).isDirectory()) throw new QwasmError(`image folder not found: ${dir}`);
  const classes = opts.classes ? [...opts.classes] : listClassFolders(dir);
  if (classes.length === 0) throw new QwasmError(`${dir}: no class sub-folders (expected ${dir}/<class>/<image>.png)`);
  const files: { file: string; label: number }[] = [];
  classes.forEach((cls, label) => {
    const sub = path().join(dir, cls);
    if (!fs().existsSync(sub)) throw new QwasmError(`${dir}: no sub-folder for class ${JSON.stringify(cls)}`);
    const found = listImageFiles(sub);
    // an empty class would still be a class (an output no example teaches): refuse it
    if (found.length === 0) throw new QwasmError(`${sub}: the class folder '${cls}' holds no images (${IMAGE_EXTENSIONS.join(' ')}); add images or remove the folder`);
    for (const file of found) files.push({ file, label });
  });
  if (files.length === 0) throw new QwasmError(`${dir}: no images (${IMAGE_EXTENSIONS.join(' ')}) in the class sub-folders`);
  return loadImageFiles(files, classes, { ...opts, name: opts.name ?? path().basename(dir) });
}

/** The class list of a dataset without labels (every label 0): what `loadUnlabelledFolder` returns. */
export const UNLABELLED = ['(unlabelled)'] as const;

/**
 * A folder of images with no class sub-folders (domain adaptation's unlabelled target): every image file directly
 * inside `dir`, classes = UNLABELLED, every label 0.
 */
export function loadUnlabelledFolder(dir: string, opts: Omit<ImageFolderOptions, 'classes'> = {}): Dataset {
  if (!fs().existsSync(dir) || !fs().statSync(dir).isDirectory()) throw new QwasmError(`image folder not found: ${dir}`);
  const files = listImageFiles(dir).map((file) => ({ file, label: 0 }));
  if (files.length === 0) throw new QwasmError(`${dir}: no images (${IMAGE_EXTENSIONS.join(' ')}) in the folder`);
  return loadImageFiles(files, UNLABELLED, { ...opts, name: opts.name ?? path().basename(dir) });
}

/** Decodes, converts and resizes a list of labelled image files into one Dataset. */
export function loadImageFiles(files: readonly { file: string; label: number }[], classes: readonly string[], opts: ImageFolderOptions = {}): Dataset {
  const channels = opts.channels ?? 1;
  if (channels !== 1 && channels !== 3) throw new RangeError(`channels must be 1 or 3, got ${channels}`);
  if (opts.centre && channels !== 1) throw new RangeError('centre needs channels: 1');
  const size = typeof opts.size === 'number' ? [opts.size, opts.size] : opts.size;
  const background = opts.background ?? (opts.invert ? 255 : 0);
  const items: { label: number; img: Image }[] = [];
  let h = size?.[0] ?? (opts.centre ? 28 : 0), w = size?.[1] ?? (opts.centre ? 28 : 0);
  const fixed = h > 0 && w > 0;
  for (const { file, label } of files) {
    let img = toChannels(decodeImage(fs().readFileSync(file), file), channels, background);
    if (opts.invert) img = invert(img);
    if (opts.centre) img = centreLikeMnist(img, Math.max(h, w), Math.round((Math.max(h, w) * 20) / 28));
    if (fixed) img = resize(img, h, w);
    else if (!h) { h = img.height; w = img.width; }
    if (img.height !== h || img.width !== w) {
      throw new QwasmError(`${file} is ${img.width}×${img.height}, the first image was ${w}×${h}: the images of a folder dataset must all have one size (resize them; the API's loadImageFolder(dir, { size }) does it on load)`);
    }
    items.push({ label, img });
  }
  if (items.length === 0) throw new QwasmError('no images to load');
  const per = h * w * channels;
  const images = new Uint8Array(items.length * per);
  const labels = classes.length <= 256 ? new Uint8Array(items.length) : new Int32Array(items.length);
  items.forEach((it, i) => { images.set(it.img.data, i * per); labels[i] = it.label; });
  return createDataset({
    name: opts.name ?? 'images', images, labels, height: h, width: w, channels, classes,
    norm: opts.norm, flipSafe: opts.flipSafe,
  });
}
