// What the TF.js importer (import.ts) and its per-class table (keras-kinds.ts) share: a Keras layer as read from
// the topology (KLayer), the value flowing between layers (Val), errors naming the layer, and KerasContext, the
// part of the importer a per-class converter may use.
import type { Engine } from '../autograd/tensor.js';
import type { Module } from '../nn/module.js';
import type { InitRng } from '../util/rng.js';
import { describe } from '../errors.js';
import { TfjsImportError } from './artifacts.js';

export interface KLayer { name: string; cls: string; config: Record<string, unknown>; inputs: string[] }

/** NHWC like qwasm: a map (with a pending ZeroPadding2D to fold into the next conv) or [batch, k] features. */
export type Val =
  | { name: string; kind: 'map'; h: number; w: number; c: number; pad: [number, number, number, number] | null }
  | { name: string; kind: 'flat'; k: number };

/** What one Keras layer becomes: the modules (in order, maybe none) and the value it outputs. */
export interface Converted { modules: Module[]; out: Val }

/** The importer as a per-class converter sees it (src/tfjs/import.ts implements it). */
export interface KerasContext {
  readonly E: Engine;
  /** Initial weights of new layers (overwritten by the manifest's weights) and Dropout seeds. */
  readonly rng: InitRng;
  /** The model's output layer and the layer the model is cut after (or null). */
  readonly output: string;
  readonly cut: string | null;
  /** Set when the output's softmax is dropped (qwasm models output logits). */
  droppedActivation: string | null;
  /** A weight of the layer ('kernel', 'bias', …), checked against `shape`. */
  weight(l: KLayer, what: string, shape?: number[]): Float32Array;
}

/** The graph is not a chain with residual joins: the importer then builds a Graph instead. */
export class NotAChain extends TfjsImportError {}

export function fail(l: KLayer, msg: string): never {
  throw new TfjsImportError(`Keras layer '${l.name}' (${l.cls}): ${msg}`);
}

export const pair = (v: unknown, l: KLayer, what: string): [number, number] => {
  const a = typeof v === 'number' ? [v, v] : v;
  if (!Array.isArray(a) || a.length !== 2 || !a.every((x) => Number.isInteger(x) && x >= 0)) fail(l, `${what} must be two integers, got ${describe(v)}`);
  return [a[0], a[1]];
};

export function show(v: Val): string { return v.kind === 'map' ? `a ${v.h}×${v.w}×${v.c} map` : `[batch, ${v.k}]`; }
