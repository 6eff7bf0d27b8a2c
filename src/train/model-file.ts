// Saving and restoring a float model (+ optional optimiser state) as a checkpoint: the architecture is
// recorded as {name, options} of a built-in model, the tensors by their dotted names ("param:" / "opt:").
import type { Engine } from '../autograd/tensor.js';
import type { Module } from '../nn/module.js';
import { buildModel, type ModelOptions } from '../nn/models.js';
import { buildLayers, describeLayers, type LayerSpec } from '../nn/layer-spec.js';
import type { Optimizer } from '../optim/optimizer.js';
import { saveCheckpoint, loadCheckpoint, decodeCheckpoint, type Checkpoint, type CheckpointMeta, type LoadedCheckpoint } from '../checkpoint/index.js';
import { QwasmError } from '../errors.js';

/**
 * name / options rebuild a built-in model; `layers` (describeLayers(model), src/nn/layer-spec.ts), when present,
 * describes any other architecture (an imported ONNX model, a factorised one) and is what loadModelCheckpoint rebuilds.
 * checkpointOf / saveModel record the saved model's own layer tree whenever rec.layers is set, so a record
 * reused after changing the architecture (factorize, channel pruning) still describes the tensors saved.
 */
export interface ModelRecord { name: string; options: ModelOptions; layers?: LayerSpec }

export function checkpointOf(model: Module, rec: ModelRecord, meta: CheckpointMeta = {}, opt?: Optimizer): Checkpoint {
  const tensors: Checkpoint['tensors'] = {};
  for (const [n, t] of Object.entries(model.stateDict())) tensors[`param:${n}`] = t;
  if (opt) for (const [n, t] of Object.entries(opt.stateDict())) tensors[`opt:${n}`] = t;
  return {
    meta: { ...meta, model: { name: rec.name, config: rec.options, ...(rec.layers ? { layers: describeLayers(model) } : {}) }, ...(opt ? { optimizer: { name: opt.spec.kind, config: opt.spec } } : {}) },
    tensors,
  };
}

export function saveModel(file: string, model: Module, rec: ModelRecord, meta: CheckpointMeta = {}, opt?: Optimizer): number {
  return saveCheckpoint(file, checkpointOf(model, rec, meta, opt));
}

export interface LoadedModel { model: Module; record: ModelRecord; meta: CheckpointMeta; optimizerState: Record<string, { shape: number[]; data: Float32Array }> }

/** Loads a model checkpoint (.qck, saved by saveModel): rebuilds the architecture and loads its tensors. */
export function loadModelCheckpoint(engine: Engine, file: string): LoadedModel {
  return modelFromCheckpoint(engine, loadCheckpoint(file), file);
}

/** loadModelCheckpoint from the bytes of a checkpoint (a Buffer / Uint8Array at any offset, or an ArrayBuffer). */
export function loadModelBytes(engine: Engine, bytes: Uint8Array | ArrayBuffer, what = 'checkpoint'): LoadedModel {
  return modelFromCheckpoint(engine, decodeCheckpoint(bytes, what), what);
}

function modelFromCheckpoint(engine: Engine, ck: LoadedCheckpoint, file: string): LoadedModel {
  const m = ck.meta.model;
  if (!m || typeof m.name !== 'string') throw new QwasmError(`${file}: checkpoint has no model description (meta.model.name)`);
  const record: ModelRecord = { name: m.name, options: (m.config ?? {}) as ModelOptions };
  const layers = (m as { layers?: unknown }).layers;
  if (layers !== undefined) record.layers = layers as LayerSpec;
  let model: Module;
  if (record.layers) {
    try { model = buildLayers(engine, record.layers, 'meta.model.layers'); } catch (e) { throw new QwasmError(`${file}: ${(e as Error).message}`); }
  } else model = buildModel(engine, record.name, record.options);
  const params: Record<string, { shape: number[]; data: Float32Array }> = {};
  const optimizerState: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const [k, t] of Object.entries(ck.tensors)) {
    if (!(t.data instanceof Float32Array)) throw new QwasmError(`${file}: tensor '${k}' is ${t.dtype}, expected f32`);
    if (k.startsWith('param:')) params[k.slice(6)] = { shape: t.shape, data: t.data };
    else if (k.startsWith('opt:')) optimizerState[k.slice(4)] = { shape: t.shape, data: t.data };
  }
  try {
    model.loadStateDict(params);
  } catch (e) {
    model.dispose();
    throw new QwasmError(`${file}: ${(e as Error).message}`);
  }
  return { model, record, meta: ck.meta, optimizerState };
}

/** @deprecated the old name of loadModelCheckpoint, kept for code written against qwasm 0.1 (docs/API.md: Deprecated names). */
export const loadModel = loadModelCheckpoint;
