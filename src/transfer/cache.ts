// Frozen-prefix caching: when the first L top-level layers of a Sequential are frozen (no trainable parameter,
// BatchNorm on running statistics), their output is a fixed function of the image — computed ONCE per image
// here (eval mode, no graph), not once per epoch, and the rest of the network trains on the cached maps.
//
// Storage: uint8, per-channel affine (lo_c + q·scale_c, values outside [lo_c, hi_c] clipped). The ranges come
// either from the statistics the network already carries — `bnRanges`: a prefix ending in a BatchNorm2d outputs
// β_c ± k·|γ_c| on the data its running statistics saw, so no target image (and no test image of a
// cross-validation fold) decides the quantisation — or, for any other prefix, from the `rangeFrom` set. Such a cache IS a Dataset: its normalisation
// (x/255 − mean_c) / std_c with std_c = 1 / (255·scale_c), mean_c = −lo_c·std_c turns q back into the
// dequantised activation, so fit(), evaluate(), compressModel() and distillation run on it unchanged (no shifts,
// flips or crops: they would move features, not pixels). One byte per activation: at 96 px MobileNetV2's
// block_10 output (6×6×96) is 3.4 KB per image, at 224 px (14×14×96) 18.8 KB; f32 would be 4×.
// What caching gives up: per-epoch augmentation of the frozen part (every epoch sees the same maps).
import type { Module } from '../nn/module.js';
import { BatchNorm2d, Sequential } from '../nn/layers.js';
import { createDataset, type Dataset } from '../data/dataset.js';
import { evalForward } from '../train/eval-loop.js';
import { checkFinite, checkInt, describe, QwasmError } from '../errors.js';

export interface CacheProgress { done: number; total: number; seconds: number }

export interface CachePrefixOptions {
  batchSize?: number;
  /** Name of the set (key of `sets`) whose per-channel ranges quantise every set (default: the first). */
  rangeFrom?: string;
  /** Per-channel ranges given up front (e.g. `bnRanges`): then no set's values choose the quantisation. */
  ranges?: { lo: Float32Array; hi: Float32Array };
  onProgress?: (p: CacheProgress) => void;
}

export interface PrefixCache {
  /** The cached maps of each set, as uint8 Datasets ([h, w, c] of the prefix output; labels kept). */
  sets: Record<string, Dataset>;
  /** Layers [0, upTo) were run. */
  upTo: number;
  /** [h, w, c] of one cached map. */
  shape: [number, number, number];
  storage: 'uint8';
  bytesPerImage: number;
  /** Largest |dequantised − f32| over the `rangeFrom` set (half a quantisation step, or clipping). */
  maxAbsError: number;
  /** Fraction of all cached values outside their channel's range (clipped); 0 when the ranges come from a set. */
  clippedFraction: number;
  /** Where the ranges came from: 'given' (`ranges`) or the name of the set. */
  rangeSource: string;
  /** Images run through the prefix, and the wall time. */
  images: number;
  seconds: number;
}

/** Leading top-level layers of the Sequential without a trainable parameter (frozen or parameter-free). */
export function frozenPrefixLength(model: Sequential): number {
  if (!(model instanceof Sequential)) throw new TypeError(`model must be a Sequential, got ${describe(model)}`);
  let n = 0;
  for (const l of model.layers) {
    if (l.namedParameters().some(([, p]) => p.tensor.requiresGrad)) break;
    n++;
  }
  return n;
}

/** Runs layers [0, upTo) of `model` over `ds` in eval mode: f32 maps, count × (h·w·c), and their shape. */
export function prefixOutputs(model: Sequential, upTo: number, ds: Dataset, batchSize = 32, onBatch?: (n: number) => void): { data: Float32Array; shape: [number, number, number] } {
  let data: Float32Array | null = null, shape: [number, number, number] = [0, 0, 0], count = 0;
  evalForward(model.engine, [model], ds, { batchSize }, (x, _ys, nb, it) => {
    for (let i = 0; i < upTo; i++) x = model.layers[i].forward(x);
    if (x.shape.length !== 4) throw new QwasmError(`the prefix output is [${x.shape}], not an [n, h, w, c] map`);
    if (!data) { shape = [x.shape[1], x.shape[2], x.shape[3]]; data = new Float32Array(it.size * (x.size / nb)); }
    data.set(x.data(), count * (x.size / nb));
    count += nb;
    onBatch?.(nb);
  });
  return { data: data ?? new Float32Array(0), shape };
}

/**
 * Computes layers [0, upTo) of the model once for every image of every set and returns the maps as uint8
 * Datasets (see the file header). Every layer of the prefix must be frozen: no trainable parameter (their
 * BatchNorm2d run in eval mode here, i.e. on running statistics, which a frozen BN also uses in training).
 */
export function cachePrefix(model: Sequential, upTo: number, sets: Record<string, Dataset>, o: CachePrefixOptions = {}): PrefixCache {
  if (!(model instanceof Sequential)) throw new TypeError(`model must be a Sequential, got ${describe(model)}`);
  checkInt('upTo', upTo, 1, model.layers.length - 1);
  const names = Object.keys(sets);
  if (!names.length) throw new QwasmError('cachePrefix: no dataset to cache');
  for (let i = 0; i < upTo; i++) {
    const l = model.layers[i];
    if (l.namedParameters().some(([, p]) => p.tensor.requiresGrad)) throw new QwasmError(`cachePrefix: layer ${i} of the prefix has trainable parameters (freeze it first)`);
    for (const [, m] of l.modules()) if (m instanceof BatchNorm2d && !m.frozen) m.frozen = true;
  }
  const rangeFrom = o.rangeFrom ?? names[0];
  if (!sets[rangeFrom]) throw new QwasmError(`cachePrefix: rangeFrom '${rangeFrom}' is not one of ${names.join(', ')}`);
  const total = names.reduce((a, k) => a + sets[k].length, 0);
  const t0 = performance.now();
  let done = 0;
  const raw: Record<string, { data: Float32Array; shape: [number, number, number] }> = {};
  for (const k of [rangeFrom, ...names.filter((n) => n !== rangeFrom)]) {
    raw[k] = prefixOutputs(model, upTo, sets[k], o.batchSize ?? 32, (nb) => {
      done += nb;
      o.onProgress?.({ done, total, seconds: (performance.now() - t0) / 1000 });
    });
  }
  const shape = raw[rangeFrom].shape, C = shape[2];
  const { lo, hi } = o.ranges ? checkRanges(o.ranges, C) : setRanges(raw[rangeFrom].data, C);
  const scale = new Float32Array(C);
  for (let c = 0; c < C; c++) scale[c] = hi[c] > lo[c] ? (hi[c] - lo[c]) / 255 : 1e-6;
  const std = Array.from(scale, (s) => 1 / (255 * s));
  const norm = { mean: Array.from(lo, (l, c) => -l * std[c]), std };
  let maxAbsError = 0, clipped = 0;
  const out: Record<string, Dataset> = {};
  for (const k of names) {
    const { data, shape: sh } = raw[k];
    if (sh[0] !== shape[0] || sh[1] !== shape[1] || sh[2] !== C) throw new QwasmError(`cachePrefix: set '${k}' gives [${sh}] maps, '${rangeFrom}' [${shape}] (same image size needed)`);
    const q = new Uint8Array(data.length);
    for (let i = 0; i < data.length; i++) {
      const c = i % C;
      const v = Math.round((data[i] - lo[c]) / scale[c]);
      if (v < 0 || v > 255) clipped++;
      q[i] = v < 0 ? 0 : v > 255 ? 255 : v;
      if (k === rangeFrom) { const e = Math.abs(lo[c] + q[i] * scale[c] - data[i]); if (e > maxAbsError) maxAbsError = e; }
    }
    const ds = sets[k];
    out[k] = createDataset({ name: `${ds.name}@prefix${upTo}`, images: q, labels: ds.labels, height: shape[0], width: shape[1], channels: C, classes: ds.classes, norm });
  }
  return { sets: out, upTo, shape, storage: 'uint8', bytesPerImage: shape[0] * shape[1] * C, maxAbsError,
    clippedFraction: clipped / Math.max(1, total * shape[0] * shape[1] * C), rangeSource: o.ranges ? 'given' : rangeFrom, images: total, seconds: (performance.now() - t0) / 1000 };
}

/** Per-channel [min, max] of NHWC-ordered values with C channels (a channel never seen: [0, 0]). */
function setRanges(r: Float32Array, C: number): { lo: Float32Array; hi: Float32Array } {
  const lo = new Float32Array(C).fill(Infinity), hi = new Float32Array(C).fill(-Infinity);
  for (let i = 0; i < r.length; i++) { const c = i % C, v = r[i]; if (v < lo[c]) lo[c] = v; if (v > hi[c]) hi[c] = v; }
  for (let c = 0; c < C; c++) if (!Number.isFinite(lo[c])) { lo[c] = 0; hi[c] = 0; }
  return { lo, hi };
}

function checkRanges(r: { lo: Float32Array; hi: Float32Array }, C: number): { lo: Float32Array; hi: Float32Array } {
  if (r.lo.length !== C || r.hi.length !== C) throw new QwasmError(`cachePrefix: ranges have ${r.lo.length} / ${r.hi.length} channels, the prefix output ${C}`);
  for (let c = 0; c < C; c++) {
    if (!(Number.isFinite(r.lo[c]) && Number.isFinite(r.hi[c]) && r.lo[c] <= r.hi[c])) throw new QwasmError(`cachePrefix: ranges of channel ${c} are [${r.lo[c]}, ${r.hi[c]}]`);
  }
  return r;
}

/**
 * Ranges for a prefix whose last top-level layer (index upTo − 1) is a BatchNorm2d: β_c ± k·|γ_c|, i.e. k standard
 * deviations of its output on the data its running statistics were estimated on (ImageNet for a pretrained
 * network). Data-free: the target's images — and the test folds among them — play no part.
 */
export function bnRanges(model: Sequential, upTo: number, k = 6): { lo: Float32Array; hi: Float32Array } {
  if (!(model instanceof Sequential)) throw new TypeError(`model must be a Sequential, got ${describe(model)}`);
  checkInt('upTo', upTo, 1, model.layers.length);
  checkFinite('k', k);
  const bn = model.layers[upTo - 1];
  if (!(bn instanceof BatchNorm2d)) throw new QwasmError(`bnRanges: layer ${upTo - 1} is ${describe(bn)}, not a BatchNorm2d`);
  const g = bn.gamma.toArray(), b = bn.beta.toArray();
  const lo = new Float32Array(bn.channels), hi = new Float32Array(bn.channels);
  for (let c = 0; c < bn.channels; c++) { const w = k * Math.abs(g[c]); lo[c] = b[c] - w; hi[c] = b[c] + w; }
  return { lo, hi };
}

/**
 * The layers [from, end) of `model` as a Sequential sharing its modules (no copy): what trains on a prefix
 * cache. Training it trains `model`. Never dispose the view (it would free the model's tensors).
 */
export function suffixView(model: Sequential, from: number): Sequential {
  if (!(model instanceof Sequential)) throw new TypeError(`model must be a Sequential, got ${describe(model)}`);
  checkInt('from', from, 0, model.layers.length - 1);
  const kids = model.children().slice(from) as [string, Module][];
  const view = new Sequential(model.engine, kids.map(([n, m]) => [n, m] as [string, Module]));
  view.training = model.training;
  view.dispose = () => { throw new QwasmError('suffixView: a view shares the model\'s tensors; dispose the model instead'); };
  return view;
}
