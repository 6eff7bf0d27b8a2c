// Knowledge distillation (Hinton, Vinyals & Dean 2015) and hint (feature) losses (FitNets, Romero et al.
// 2015) as a LossHook for fit(): the teacher runs on the same (augmented) batch in eval mode without a graph;
// the objective is (1 − α)·CE(student, labels) + α·T²·KL(softmax(teacher/T) ‖ softmax(student/T))
// + Σ wₕ·MSE(adapterₕ(student tapₕ), teacher tapₕ). ops.distillKL already carries the T² factor (it keeps the
// soft-target gradients on the scale of the hard-target ones as T changes). A hint adapter is a learned
// linear map over the last (channel) dimension — a 1×1 convolution on NHWC activations — from the student's
// width to the teacher's, trained with the student: its parameters go to fit through `extraParameters`.
//
//   const kd = new Distiller(student, teacher, { temperature: 20, alpha: 0.7, hints: [{ student: '2', teacher: '2' }] });
//   fit(student, train, { epochs, batchSize, lr, ...kd.fitOptions() });   // extraLoss, extraParameters, taskWeight
//   kd.dispose();                                                        // removes the taps, frees the adapters
import type { Engine, Tensor } from '../autograd/tensor.js';
import * as ops from '../autograd/ops.js';
import { Module, type ParamInfo } from '../nn/module.js';
import { tapModules, type ModuleTaps } from '../nn/layers.js';
import { InitRng } from '../util/rng.js';
import { defaultBias, defaultWeight } from '../nn/init.js';
import type { LossHook } from '../train/trainer.js';
import { evalForward } from '../train/eval-loop.js';
import type { Dataset } from '../data/dataset.js';
import { argmaxRows } from '../kernels/eltwise_f32.js';
import { QwasmError, checkInt, describe } from '../errors.js';

/** One hint: match the student's sub-module output to the teacher's (names as in Module.modules()). */
export interface HintSpec {
  /** student sub-module whose output is adapted (e.g. '2', 'layers.2', '4.body.1') */
  student: string;
  /** teacher sub-module whose output is the target */
  teacher: string;
  /** weight of this hint's MSE in the objective (default 1) */
  weight?: number;
}

export interface DistillOptions {
  /** softmax temperature T > 0 (Hinton: 20 on MNIST) */
  temperature: number;
  /** weight α ∈ [0, 1] of the soft-target term; the hard-label term gets 1 − α (fit's taskWeight) */
  alpha: number;
  hints?: HintSpec[];
  /** input [height, width, channels] of one example, to size the hint adapters (default [28, 28, 1]) */
  inputShape?: [number, number, number];
  /** seed of the adapters' initialisation (default 1) */
  seed?: number;
}

export interface DistillLossOptions extends DistillOptions {
  teacher: Module;
  /** needed only with hints (their taps sit on the student's sub-modules) */
  student?: Module;
}

/** The hook plus what fit needs to use it: `fit(m, ds, { ...opts, extraLoss: h, taskWeight: h.taskWeight, extraParameters: h.extraParameters })`. */
export type DistillHook = LossHook & {
  readonly distiller: Distiller;
  readonly taskWeight: number;
  readonly extraParameters: [string, ParamInfo][];
};

/** Linear map of the last dimension (a 1×1 convolution on NHWC), student width → teacher width. */
export class HintAdapter extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  constructor(engine: Engine, readonly inFeatures: number, readonly outFeatures: number, rng: InitRng) {
    super(engine);
    this.weight = this.param('weight', [inFeatures, outFeatures], defaultWeight(rng, inFeatures * outFeatures, inFeatures), true);
    this.bias = this.param('bias', [outFeatures], defaultBias(rng, outFeatures, inFeatures), false);
  }
  forward(x: Tensor): Tensor {
    const c = x.shape[x.shape.length - 1];
    if (c !== this.inFeatures) throw new QwasmError(`hint adapter expects ${this.inFeatures} channels (last dimension), got shape [${x.shape}]`);
    return ops.linear(x.shape.length === 2 ? x : x.reshape([x.size / c, c]), this.weight, this.bias);
  }
  config() { return { type: 'HintAdapter', in: this.inFeatures, out: this.outFeatures }; }
}

class AdapterSet extends Module {
  add(name: string, m: HintAdapter): HintAdapter { return this.child(name, m); }
  forward(): Tensor { throw new QwasmError('the hint adapters are applied by the Distiller hook, not called as a model'); }
  config() { return { type: 'HintAdapters', adapters: this.children().map(([, m]) => m.config()) }; }
}

function checkModule(name: string, m: unknown): Module {
  if (!(m instanceof Module)) throw new TypeError(`${name} must be a Module, got ${describe(m)}`);
  return m;
}

/** Validates temperature and alpha (shared by Distiller and evaluateDistillation). */
function checkTemperature(t: unknown): number {
  if (typeof t !== 'number' || !Number.isFinite(t) || !(t > 0)) throw new RangeError(`temperature must be a positive finite number, got ${describe(t)}`);
  return t;
}

export interface DistillStats {
  /** T²·KL of the last step (batch mean) */
  kd: number;
  /** each hint's MSE at the last step */
  hints: number[];
}

export class Distiller {
  readonly temperature: number;
  readonly alpha: number;
  readonly hints: readonly Required<Pick<HintSpec, 'student' | 'teacher' | 'weight'>>[];
  /** the hint adapters (parameters named 'hint0.weight', …) */
  readonly adapters: Module;
  /** losses of the last step (monitoring) */
  readonly last: DistillStats = { kd: NaN, hints: [] };
  private readonly engine: Engine;
  private readonly sTaps: ModuleTaps | null;
  private readonly tTaps: ModuleTaps | null;
  private readonly adapterList: HintAdapter[] = [];
  private disposed = false;

  /** student may be null when there are no hints (the hook then needs nothing from the student but its logits). */
  constructor(readonly student: Module | null, readonly teacher: Module, o: DistillOptions) {
    checkModule('teacher', teacher);
    if (student !== null) checkModule('student', student);
    if (student === teacher) throw new RangeError('teacher and student must be different modules');
    if (!o || typeof o !== 'object') throw new TypeError(`distillation options must be an object, got ${describe(o)}`);
    this.temperature = checkTemperature(o.temperature);
    if (typeof o.alpha !== 'number' || !(o.alpha >= 0 && o.alpha <= 1)) throw new RangeError(`alpha must be in [0, 1], got ${describe(o.alpha)}`);
    this.alpha = o.alpha;
    this.engine = teacher.engine;
    if (student && student.engine !== this.engine) throw new RangeError('teacher and student must share one Engine (the teacher\'s temporaries are freed with the step)');
    const hints = o.hints ?? [];
    if (!Array.isArray(hints)) throw new TypeError(`hints must be an array, got ${describe(hints)}`);
    this.hints = hints.map((h, i) => {
      if (!h || typeof h.student !== 'string' || typeof h.teacher !== 'string') throw new TypeError(`hints[${i}] must be { student: string, teacher: string, weight? }, got ${describe(h)}`);
      const weight = h.weight ?? 1;
      if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) throw new RangeError(`hints[${i}].weight must be a finite number ≥ 0, got ${describe(weight)}`);
      return { student: h.student, teacher: h.teacher, weight };
    });
    if (this.hints.length && !student) throw new RangeError('hints need the student module (their taps sit on its sub-modules): use new Distiller(student, teacher, options)');
    this.adapters = new AdapterSet(this.engine);
    if (!this.hints.length) { this.sTaps = this.tTaps = null; return; }

    const inputShape = o.inputShape ?? [28, 28, 1];
    if (!Array.isArray(inputShape) || inputShape.length !== 3) throw new TypeError(`inputShape must be [height, width, channels], got ${describe(inputShape)}`);
    inputShape.forEach((d, i) => checkInt(`inputShape[${i}]`, d, 1, 1 << 16));
    const sNames = this.hints.map((h) => h.student), tNames = this.hints.map((h) => h.teacher);
    // size the adapters from one probe example (eval mode, no graph)
    const sShapes = this.probe(student!, sNames, inputShape), tShapes = this.probe(teacher, tNames, inputShape);
    const rng = new InitRng(o.seed ?? 1);
    this.hints.forEach((h, i) => {
      const s = sShapes[i], t = tShapes[i];
      if (s.length !== t.length || s.slice(0, -1).some((d, k) => d !== t[k])) {
        throw new RangeError(`hints[${i}]: student '${h.student}' output [${s}] and teacher '${h.teacher}' output [${t}] must agree in every dimension but the last`);
      }
      this.adapterList.push((this.adapters as AdapterSet).add(`hint${i}`, new HintAdapter(this.engine, s[s.length - 1], t[t.length - 1], rng)));
    });
    this.sTaps = tapModules(student!, sNames);
    try { this.tTaps = tapModules(teacher, tNames); } catch (err) { this.sTaps.remove(); throw err; }
  }

  private probe(m: Module, names: string[], input: number[]): number[][] {
    const e = this.engine, clean = e.live === 0;
    const taps = tapModules(m, names);
    const was = m.training;
    m.eval();
    try {
      e.noGrad(() => m.forward(e.empty([1, ...input])));
      return names.map((n) => {
        const y = taps.outputs.get(n);
        if (!y) throw new RangeError(`sub-module '${n}' did not run in a forward pass`);
        return [...y.shape];
      });
    } finally {
      taps.remove();
      m.train(was);
      if (clean) e.endStep();
    }
  }

  /** The LossHook for fit's `extraLoss` (returns [KD term, α] and [hint MSE, weight] pairs). */
  readonly hook: LossHook = ({ x, logits }) => {
    if (this.disposed) throw new QwasmError('this Distiller was disposed');
    if (x.engine !== this.engine) throw new RangeError('the batch is on another Engine than the teacher');
    const e = this.engine, T = this.temperature;
    const wasTraining = this.teacher.training;
    if (wasTraining) this.teacher.eval();
    let tLogits: Tensor;
    try { tLogits = e.noGrad(() => this.teacher.forward(x)); } finally { if (wasTraining) this.teacher.train(true); }
    if (tLogits.size !== logits.size) throw new RangeError(`teacher logits [${tLogits.shape}] do not match student logits [${logits.shape}]`);
    const kd = ops.distillKL(logits, tLogits, T);
    this.last.kd = kd.item();
    const terms: [Tensor, number][] = [[kd, this.alpha]];
    this.last.hints = [];
    this.hints.forEach((h, i) => {
      const s = this.sTaps!.outputs.get(h.student), t = this.tTaps!.outputs.get(h.teacher);
      if (!s) throw new QwasmError(`hint ${i}: student sub-module '${h.student}' did not run in this forward pass`);
      if (!t) throw new QwasmError(`hint ${i}: teacher sub-module '${h.teacher}' did not run in this forward pass`);
      const a = this.adapterList[i].forward(s);
      if (a.size !== t.size) throw new RangeError(`hint ${i}: adapted student output has ${a.size} values, teacher '${h.teacher}' output [${t.shape}] has ${t.size}`);
      const l = ops.mse(a, t);
      this.last.hints.push(l.item());
      terms.push([l, h.weight]);
    });
    this.sTaps?.outputs.clear();
    this.tTaps?.outputs.clear();
    return terms;
  };

  /** Hint adapter parameters, named 'distill.hint0.weight' …, for fit's `extraParameters`. */
  namedParameters(): [string, ParamInfo][] { return this.adapters.namedParameters('distill.'); }
  parameters(): Tensor[] { return this.adapters.parameters(); }

  /** Spread into fit's options: { extraLoss, extraParameters, taskWeight: 1 − α }. */
  fitOptions(): { extraLoss: LossHook; extraParameters: [string, ParamInfo][]; taskWeight: number } {
    return { extraLoss: this.hook, extraParameters: this.namedParameters(), taskWeight: 1 - this.alpha };
  }

  /** Removes the forward taps and frees the adapters (teacher and student are left untouched). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.sTaps?.remove();
    this.tTaps?.remove();
    this.adapters.dispose();
  }
}

/** Hinton KD as a LossHook: (1 − α)·CE + α·T²·KL once fit gets `taskWeight: hook.taskWeight` (see DistillHook). */
export function distillationLoss(o: DistillLossOptions): DistillHook {
  if (!o || typeof o !== 'object') throw new TypeError(`distillation options must be an object, got ${describe(o)}`);
  const d = new Distiller(o.student ?? null, o.teacher, o);
  const hook: LossHook = (ctx) => d.hook(ctx);
  return Object.assign(hook, { distiller: d, taskWeight: 1 - d.alpha, extraParameters: d.namedParameters() });
}

export interface DistillEval {
  /** mean T²·KL(teacher_T ‖ student_T) over the examples */
  kd: number;
  /** fraction of examples where student and teacher predict the same class */
  agreement: number;
  count: number;
}

/** Mean distillation loss and top-1 agreement of student and teacher on a dataset (both in eval mode, no graph). */
export function evaluateDistillation(student: Module, teacher: Module, ds: Dataset, o: { temperature: number; batchSize?: number; indices?: ArrayLike<number> }): DistillEval {
  checkModule('student', student); checkModule('teacher', teacher);
  const T = checkTemperature(o?.temperature);
  const bs = checkInt('batchSize', o.batchSize ?? 250, 1, 65536);
  const e = student.engine, rt = e.rt;
  if (teacher.engine !== e) throw new RangeError('teacher and student must share one Engine');
  const pA = rt.alloc(bs * 4), pB = rt.alloc(bs * 4);
  let kd = 0, agree = 0, count = 0;
  try {
    evalForward(e, [student, teacher], ds, { batchSize: bs, indices: o.indices }, (x, _ys, nb) => {
      const s = student.forward(x), t = teacher.forward(x);
      if (s.size !== t.size) throw new RangeError(`teacher logits [${t.shape}] do not match student logits [${s.shape}]`);
      kd += ops.distillKL(s, t, T).item() * nb;
      const n = s.shape[1];
      argmaxRows(rt, s.ptr, nb, n, pA);
      argmaxRows(rt, t.ptr, nb, n, pB);
      const a = rt.i32(pA, nb), b = rt.i32(pB, nb);
      for (let i = 0; i < nb; i++) if (a[i] === b[i]) agree++;
      count += nb;
    });
  } finally {
    rt.free(pA); rt.free(pB);
  }
  return { kd: kd / Math.max(1, count), agreement: agree / Math.max(1, count), count };
}
