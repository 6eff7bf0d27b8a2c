// Seeded batching: uint8 NHWC images → float32 NHWC batches ((x/255 − mean) / std per channel) written into a
// caller-provided Float32Array (e.g. a view of WASM memory), labels into an Int32Array. No allocation per
// batch. Augmentation (training only): random shifts of ±k pixels with zero fill (= random crops of a
// zero-padded image), random crops to a smaller size, random horizontal flips (off by default); for photos,
// random-resized crops (resampled bilinearly) and light colour jitter, computed from the uint8 images per batch.
// Everything random is a function of (seed, epoch, position in the epoch), so a run resumed with seek()
// reproduces the same batches.
import { QwasmError, checkInt, describe } from '../errors.js';
import type { Dataset, Normalization } from './dataset.js';
import { Rng, hash32 } from '../util/rng.js';

export interface BatchOptions {
  batchSize: number;
  /** Shuffle each epoch (default true). */
  shuffle?: boolean;
  seed?: number;
  /** Skip the last batch of an epoch when it is smaller than batchSize (default false). */
  dropLast?: boolean;
  /** Normalisation (default: the dataset's); `false` gives x/255 only. */
  norm?: Normalization | false;
  /** Iterate over these image indices only (a subset without a copy). */
  indices?: ArrayLike<number>;
  /** Random shift of up to ±shift pixels in each direction, zero (raw 0) fill. Default 0. */
  shift?: number;
  /** Output size smaller than the image: a random crop (or a centred one with randomCrop: false). */
  crop?: readonly [number, number];
  randomCrop?: boolean;
  /**
   * Random horizontal flips (probability 0.5). Default false. Refused for datasets whose flipSafe is false
   * (digits: a flipped 2 is no 2) unless 'force'.
   */
  flip?: boolean | 'force';
  /** Raw pixel value (0..255) that shifts bring in (default 0, the background of MNIST-like data). */
  fill?: number;
  /**
   * Random-resized crop (photos; Inception-style): a random box of `scale` × the image area and aspect `ratio`
   * (defaults [0.35, 1] and [3/4, 4/3]) resampled bilinearly to the output size. true = the defaults.
   */
  resizedCrop?: boolean | { scale?: readonly [number, number]; ratio?: readonly [number, number] };
  /** Colour jitter: brightness, contrast and saturation factors drawn from [1 − j, 1 + j] (e.g. 0.1). Default 0. */
  jitter?: number;
}

export class BatchIterator {
  readonly dataset: Dataset;
  readonly batchSize: number;
  readonly outHeight: number;
  readonly outWidth: number;
  readonly channels: number;
  /** Floats per sample: outHeight × outWidth × channels. */
  readonly sampleSize: number;
  private readonly order: Int32Array;
  private readonly base: Int32Array;
  private readonly lut: Float32Array;
  private readonly shuffle: boolean;
  private readonly dropLast: boolean;
  private readonly seed: number;
  private readonly shift: number;
  private readonly flip: boolean;
  private readonly randomCrop: boolean;
  private readonly fill: number;
  private readonly rrc: { scale: readonly [number, number]; ratio: readonly [number, number] } | null;
  private readonly jitter: number;
  private readonly mean: Float32Array;
  private readonly invStd: Float32Array;
  private readonly rng = new Rng(0);
  private epochNo = 0;
  private pos = 0;

  constructor(ds: Dataset, opts: BatchOptions) {
    this.dataset = ds;
    this.batchSize = checkInt('batchSize', opts.batchSize, 1);
    this.shuffle = opts.shuffle ?? true;
    this.dropLast = opts.dropLast ?? false;
    this.seed = checkInt('seed', opts.seed ?? 0, 0, 0xffffffff);
    this.shift = checkInt('shift', opts.shift ?? 0, 0, Math.max(ds.height, ds.width));
    this.fill = checkInt('fill', opts.fill ?? 0, 0, 255);
    if (opts.flip && !ds.flipSafe && opts.flip !== 'force') {
      throw new QwasmError(`flip: horizontal flips change the class of ${ds.name} images; pass flip: 'force' to flip anyway`);
    }
    this.flip = !!opts.flip;
    const [oh, ow] = opts.crop ?? [ds.height, ds.width];
    this.outHeight = checkInt('crop[0]', oh, 1, ds.height);
    this.outWidth = checkInt('crop[1]', ow, 1, ds.width);
    this.randomCrop = opts.randomCrop ?? true;
    if (opts.resizedCrop) {
      const o = opts.resizedCrop === true ? {} : opts.resizedCrop;
      const scale = o.scale ?? [0.35, 1], ratio = o.ratio ?? [3 / 4, 4 / 3];
      if (!(scale[0] > 0 && scale[0] <= scale[1] && scale[1] <= 1)) throw new RangeError(`resizedCrop.scale must satisfy 0 < lo ≤ hi ≤ 1, got [${scale}]`);
      if (!(ratio[0] > 0 && ratio[0] <= ratio[1])) throw new RangeError(`resizedCrop.ratio must satisfy 0 < lo ≤ hi, got [${ratio}]`);
      this.rrc = { scale: [scale[0], scale[1]], ratio: [ratio[0], ratio[1]] };
    } else this.rrc = null;
    this.jitter = opts.jitter ?? 0;
    if (!(this.jitter >= 0 && this.jitter < 1)) throw new RangeError(`jitter must be in [0, 1), got ${opts.jitter}`);
    this.channels = ds.channels;
    this.sampleSize = this.outHeight * this.outWidth * this.channels;
    if (opts.indices) {
      this.base = new Int32Array(opts.indices.length);
      for (let i = 0; i < this.base.length; i++) {
        const j = opts.indices[i];
        if (!Number.isInteger(j) || j < 0 || j >= ds.length) throw new RangeError(`indices[${i}] = ${j} is outside [0, ${ds.length})`);
        this.base[i] = j;
      }
    } else {
      this.base = new Int32Array(ds.length);
      for (let i = 0; i < ds.length; i++) this.base[i] = i;
    }
    this.order = new Int32Array(this.base.length);
    const norm = opts.norm === false ? { mean: new Array(ds.channels).fill(0), std: new Array(ds.channels).fill(1) } : opts.norm ?? ds.norm;
    if (norm.mean.length !== ds.channels || norm.std.length !== ds.channels) throw new RangeError(`norm needs ${ds.channels} mean and std values`);
    this.mean = Float32Array.from(norm.mean, (m) => m * 255);
    this.invStd = Float32Array.from(norm.std, (v) => 1 / (v * 255));
    this.lut = new Float32Array(256 * ds.channels);
    for (let c = 0; c < ds.channels; c++) {
      if (!(norm.std[c] > 0)) throw new RangeError(`norm.std[${c}] must be positive, got ${norm.std[c]}`);
      for (let v = 0; v < 256; v++) this.lut[c * 256 + v] = (v / 255 - norm.mean[c]) / norm.std[c];
    }
    this.seek(0, 0);
  }

  /** Samples per epoch. */
  get size(): number { return this.base.length; }
  get batchesPerEpoch(): number {
    return this.dropLast ? Math.floor(this.size / this.batchSize) : Math.ceil(this.size / this.batchSize);
  }
  get epoch(): number { return this.epochNo; }
  /** Samples of the current epoch already produced. */
  get position(): number { return this.pos; }
  /** The sample order of the current epoch (dataset indices; do not modify). */
  get epochOrder(): Int32Array { return this.order; }

  /** Starts epoch `epoch` (its own seeded order) at sample `position` (a multiple of batchSize to resume). */
  seek(epoch: number, position = 0): void {
    checkInt('epoch', epoch, 0);
    checkInt('position', position, 0, this.size);
    this.order.set(this.base);
    if (this.shuffle) new Rng(hash32(this.seed, epoch, 0x5eed)).shuffle(this.order);
    this.epochNo = epoch;
    this.pos = position;
  }

  /** Moves to the start of the next epoch. */
  nextEpoch(): void { this.seek(this.epochNo + 1, 0); }

  /**
   * Writes the next batch (up to batchSize samples, NHWC float32) into x and its labels into y, and returns
   * how many samples it wrote: 0 at the end of the epoch (call nextEpoch()).
   */
  next(x: Float32Array, y: Int32Array): number {
    if (!(x instanceof Float32Array)) throw new TypeError(`x must be a Float32Array, got ${describe(x)}`);
    if (!(y instanceof Int32Array)) throw new TypeError(`y must be an Int32Array, got ${describe(y)}`);
    const left = this.size - this.pos;
    let count = Math.min(this.batchSize, left);
    if (count <= 0 || (this.dropLast && count < this.batchSize)) return 0;
    if (x.length < count * this.sampleSize) throw new RangeError(`x must hold ${count} × ${this.sampleSize} floats, has ${x.length}`);
    if (y.length < count) throw new RangeError(`y must hold ${count} labels, has ${y.length}`);
    for (let i = 0; i < count; i++) {
      const p = this.pos + i;
      const j = this.order[p];
      this.writeSample(j, p, x, i * this.sampleSize);
      y[i] = this.dataset.labels[j];
    }
    this.pos += count;
    return count;
  }

  /** Writes image `index` without augmentation (centre crop) into x at `offset` — for evaluation or inspection. */
  writeImage(index: number, x: Float32Array, offset = 0): void {
    checkInt('index', index, 0, this.dataset.length - 1);
    if (offset < 0 || x.length - offset < this.sampleSize) throw new RangeError(`x must hold ${this.sampleSize} floats from offset ${offset}`);
    this.render(index, x, offset, (this.dataset.height - this.outHeight) >> 1, (this.dataset.width - this.outWidth) >> 1, false);
  }

  private writeSample(index: number, position: number, x: Float32Array, offset: number): void {
    const ds = this.dataset;
    let oy = (ds.height - this.outHeight) >> 1, ox = (ds.width - this.outWidth) >> 1;
    let flip = false;
    if (this.rrc || this.jitter > 0) {
      const r = this.rng.reseed(hash32(this.seed, this.epochNo, position, 0xa07));
      this.renderAugmented(index, x, offset, r);
      return;
    }
    const augment = this.shift > 0 || this.flip || (this.randomCrop && (this.outHeight < ds.height || this.outWidth < ds.width));
    if (augment) {
      const r = this.rng.reseed(hash32(this.seed, this.epochNo, position, 0xa06));
      if (this.randomCrop) { oy = r.int(ds.height - this.outHeight + 1); ox = r.int(ds.width - this.outWidth + 1); }
      if (this.shift > 0) { oy -= r.int(2 * this.shift + 1) - this.shift; ox -= r.int(2 * this.shift + 1) - this.shift; }
      if (this.flip) flip = (r.u32() & 1) === 1;
    }
    this.render(index, x, offset, oy, ox, flip);
  }

  /**
   * Random-resized crop (a box of the image resampled bilinearly to the output size; the whole image without
   * resizedCrop), optional flip, then colour jitter (brightness, contrast about the mean grey, saturation about
   * each pixel's grey) in 0..255 units, clamped, and the normalisation.
   */
  private renderAugmented(index: number, out: Float32Array, offset: number, r: Rng): void {
    const ds = this.dataset, C = this.channels, H = ds.height, W = ds.width, oh = this.outHeight, ow = this.outWidth;
    const img = ds.images, base = index * H * W * C;
    let bx = 0, by = 0, bw = W, bh = H;
    if (this.rrc) {
      const { scale, ratio } = this.rrc;
      for (let t = 0; t < 10; t++) {
        const area = H * W * (scale[0] + r.float() * (scale[1] - scale[0]));
        const ar = Math.exp(Math.log(ratio[0]) + r.float() * (Math.log(ratio[1]) - Math.log(ratio[0])));
        const w = Math.round(Math.sqrt(area * ar)), h = Math.round(Math.sqrt(area / ar));
        if (w >= 1 && h >= 1 && w <= W && h <= H) { bw = w; bh = h; bx = r.int(W - w + 1); by = r.int(H - h + 1); break; }
      }
    }
    const flip = this.flip && (r.u32() & 1) === 1;
    const sy = bh / oh, sx = bw / ow;
    for (let y = 0; y < oh; y++) {
      const fy = Math.min(Math.max(by + (y + 0.5) * sy - 0.5, 0), H - 1);
      const y0 = Math.floor(fy), y1 = Math.min(y0 + 1, H - 1), wy = fy - y0;
      for (let x = 0; x < ow; x++) {
        const fx = Math.min(Math.max(bx + ((flip ? ow - 1 - x : x) + 0.5) * sx - 0.5, 0), W - 1);
        const x0 = Math.floor(fx), x1 = Math.min(x0 + 1, W - 1), wx = fx - x0;
        const o = offset + (y * ow + x) * C;
        const p00 = base + (y0 * W + x0) * C, p01 = base + (y0 * W + x1) * C, p10 = base + (y1 * W + x0) * C, p11 = base + (y1 * W + x1) * C;
        for (let c = 0; c < C; c++) {
          const top = img[p00 + c] + (img[p01 + c] - img[p00 + c]) * wx, bot = img[p10 + c] + (img[p11 + c] - img[p10 + c]) * wx;
          out[o + c] = top + (bot - top) * wy;
        }
      }
    }
    const n = oh * ow;
    if (this.jitter > 0) {
      const j = this.jitter, f = () => 1 - j + 2 * j * r.float();
      const bright = f(), contrast = f(), sat = f();
      let grey = 0;
      for (let i = 0; i < n; i++) grey += C === 3 ? 0.299 * out[offset + i * 3] + 0.587 * out[offset + i * 3 + 1] + 0.114 * out[offset + i * 3 + 2] : out[offset + i * C];
      grey = (grey / n) * bright;
      for (let i = 0; i < n; i++) {
        const o = offset + i * C;
        for (let c = 0; c < C; c++) out[o + c] = (out[o + c] * bright - grey) * contrast + grey;
        if (C === 3) {
          const g = 0.299 * out[o] + 0.587 * out[o + 1] + 0.114 * out[o + 2];
          for (let c = 0; c < 3; c++) out[o + c] = g + (out[o + c] - g) * sat;
        }
      }
    }
    for (let i = 0; i < n; i++) {
      const o = offset + i * C;
      for (let c = 0; c < C; c++) out[o + c] = (Math.min(255, Math.max(0, out[o + c])) - this.mean[c]) * this.invStd[c];
    }
  }

  /** out(y, x) = image(y + oy, x' + ox) with x' = flip ? W'−1−x : x; outside the image: the fill value. */
  private render(index: number, out: Float32Array, offset: number, oy: number, ox: number, flip: boolean): void {
    const ds = this.dataset, C = this.channels, H = ds.height, W = ds.width, oh = this.outHeight, ow = this.outWidth;
    const img = ds.images, lut = this.lut, base = index * H * W * C;
    if (!flip && oy === 0 && ox === 0 && oh === H && ow === W) {
      const n = H * W * C;
      if (C === 1) for (let i = 0; i < n; i++) out[offset + i] = lut[img[base + i]];
      else for (let i = 0; i < n; i++) out[offset + i] = lut[(i % C) * 256 + img[base + i]];
      return;
    }
    for (let y = 0; y < oh; y++) {
      const sy = y + oy;
      const rowOut = offset + y * ow * C;
      for (let x = 0; x < ow; x++) {
        const sx = (flip ? ow - 1 - x : x) + ox;
        const o = rowOut + x * C;
        if (sy < 0 || sy >= H || sx < 0 || sx >= W) {
          for (let c = 0; c < C; c++) out[o + c] = lut[c * 256 + this.fill];
        } else {
          const s = base + (sy * W + sx) * C;
          for (let c = 0; c < C; c++) out[o + c] = lut[c * 256 + img[s + c]];
        }
      }
    }
  }
}

/** Shorthand for new BatchIterator(ds, opts). */
export function batches(ds: Dataset, opts: BatchOptions): BatchIterator {
  return new BatchIterator(ds, opts);
}
