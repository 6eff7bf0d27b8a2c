// A generic, JSON description of a module tree (types, hyper-parameters and child names), and the module tree
// rebuilt from it. Checkpoints of built-in models record {name, options}; a model that no built-in name
// describes — an imported ONNX model, a factorised or channel-pruned one — records its layers instead
// (ModelRecord.layers in src/train/model-file.ts), so loadCheckpoint can rebuild it and load its tensors.
// Child names are kept (factorize() splices convs in as '3a', '3b'), so the state-dict keys match.
// How each kind is described and built is its entry in the layer registry (src/nn/registry.ts); importing
// this file registers the built-in kinds.
import type { Engine } from '../autograd/tensor.js';
import type { Module } from './module.js';
import './layers.js';
import './lowrank-linear.js';
import './hardswish.js';
import './activations.js';
import './graph.js';
import { buildModule, describeModule, type LayerSpec } from './registry.js';

export type { LayerSpec };

/** The description of a module tree built from registered layer kinds. */
export function describeLayers(m: Module): LayerSpec { return describeModule(m); }

/** Rebuilds the module tree a LayerSpec describes (fresh weights: load the state dict after). */
export function buildLayers(engine: Engine, spec: unknown, where = 'layers'): Module { return buildModule(engine, spec, where); }
