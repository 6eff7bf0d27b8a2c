// The QAT plan's vocabulary: the units prepareQAT compiles a module tree into (src/quant/qat.ts runs them with
// fake quantisation, src/deploy lowers each to int8 graph nodes), and the registry aspect through which each
// layer kind says which unit it becomes (src/quant/qat-kinds.ts registers the built-in kinds).
import type { Tensor } from '../autograd/tensor.js';
import type { Module } from '../nn/module.js';
import type { AvgPool2d, BatchNorm2d, Conv2d, Linear, MaxPool2d } from '../nn/layers.js';
import { LayerAspect, type PointwiseInfo } from '../nn/registry.js';
import type { ActQuant, WeightQuant } from './qat.js';

export type FusedActivation = 'none' | 'relu' | 'relu6';

export interface ConvUnit { kind: 'conv'; name: string; conv: Conv2d; bn: BatchNorm2d | null; act: FusedActivation; wq: WeightQuant; out: ActQuant }
export interface LinearUnit { kind: 'linear'; name: string; linear: Linear; act: FusedActivation; wq: WeightQuant; out: ActQuant }
/** Low-rank factorised linear: y = act((x·P)·Q + b), the intermediate t = x·P quantised by `mid`. */
export interface LowRankUnit {
  kind: 'lowrank'; name: string; module: Module; p: Tensor; q: Tensor; bias: Tensor | null; act: FusedActivation;
  wqP: WeightQuant; wqQ: WeightQuant; mid: ActQuant; out: ActQuant;
}
export interface PoolUnit { kind: 'maxpool' | 'avgpool'; name: string; module: MaxPool2d | AvgPool2d; out: ActQuant | null }
export interface GapUnit { kind: 'gap'; name: string; out: ActQuant }
export interface ActUnit { kind: 'act'; name: string; act: FusedActivation; out: ActQuant }
/** An element-wise activation registered with `pointwise` (src/nn/registry.ts): its float forward, quantised output. */
export interface PointwiseUnit { kind: 'pointwise'; name: string; type: string; module: Module; fn: PointwiseInfo; out: ActQuant }
export interface PassUnit { kind: 'flatten' | 'dropout'; name: string; module: Module }
export interface ResidualUnit { kind: 'residual'; name: string; body: Unit[]; shortcut: Unit[] | null; act: FusedActivation; out: ActQuant }
/**
 * One step of a Graph (src/nn/graph.ts) as QAT runs it: `inputs` index earlier steps (−1: the graph's input); a
 * chain step runs its units on its one input, a merge step adds two inputs or concatenates them on the channel
 * axis and fake-quantises the result (`out`; an add's observer sees the sum as a residual join's does).
 */
export interface GraphStep { name: string; inputs: number[]; units?: Unit[]; merge?: 'add' | 'concat'; out?: ActQuant }
/** A Graph: its live steps (the ones its output reads) in order; the output is the last step's value. */
export interface GraphUnit { kind: 'graph'; name: string; steps: GraphStep[] }
export type Unit = ConvUnit | LinearUnit | LowRankUnit | PoolUnit | GapUnit | ActUnit | PointwiseUnit | PassUnit | ResidualUnit | GraphUnit;

/** The unit lists nested in a unit (a residual's body and shortcut, a graph's chain steps). */
export function childUnits(u: Unit): Unit[][] {
  if (u.kind === 'residual') return u.shortcut ? [u.body, u.shortcut] : [u.body];
  if (u.kind === 'graph') return u.steps.flatMap((s) => (s.units ? [s.units] : []));
  return [];
}

/** What a kind's QAT compiler gets: the module, its neighbours in the list, and the quantiser factories. */
export interface QatCompileContext {
  readonly name: string;
  readonly module: Module;
  /** The module after this one in the same list (a candidate for fusion), if any. */
  next(): Module | undefined;
  /** Fuses the next module into this unit (it gets no unit of its own). */
  take(): void;
  /** Fuses a following ReLU / ReLU6 (taking it) and says which; 'none' when the next module is not one. */
  fuseActivation(): FusedActivation;
  /** A per-tensor activation quantiser / a per-output-channel weight quantiser (in plan order). */
  actQuant(name: string): ActQuant;
  weightQuant(name: string, channels: number): WeightQuant;
  /** The units of a child module tree. */
  compile(m: Module, name: string): Unit[];
}

/** Per layer type: the unit(s) a module of that kind becomes. Kinds with `pointwise` need no entry. */
export const qatCompilers = new LayerAspect<(c: QatCompileContext) => Unit | Unit[]>('QAT compiler');
