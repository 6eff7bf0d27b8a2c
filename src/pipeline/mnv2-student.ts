// The MobileNetV2 pipeline's variant (d): the int8 student. Per split: the teacher's layers up to `studentCut`
// (truncated), narrowed to each `studentKeep` fraction by filter L1 norm (src/transfer/student.ts), at input
// `studentSize` px (the teacher's images resized; the teacher reads the student's batch resized back to its own
// size, ResizedInput), BN re-estimated, a linear probe for its head, then QAT int8 + distillation from the
// split's final teacher (compressModel 'joint') on the labelled training images and, when there is one, the
// unlabelled transfer set (mnv2-transfer-set.ts) labelled by the teacher's own predictions (its soft outputs
// are the distillation targets) → an int8 .qwm scored on the int8 kernels. Which candidate ships is chosen on
// validation; test indices only score.
import type { Module } from '../nn/module.js';
import type { Linear } from '../nn/layers.js';
import { createDataset, type Dataset } from '../data/dataset.js';
import { resize } from '../data/image.js';
import { extractFeatures } from '../transfer/features.js';
import { buildStudent, recalibrateBatchNorm, ResizedInput } from '../transfer/student.js';
import { evalForward } from '../train/eval-loop.js';
import { argmaxRows } from '../kernels/eltwise_f32.js';
import { compressModel, type CompressResult } from './compress-model.js';
import { loadTransferSet, type TransferSet } from './mnv2-transfer-set.js';
import { TEACHER_SOURCE, catDatasets, flipped, probeHead, rowsOf, topIndex, withFlips, type CacheResult, type TeacherSetup } from './mnv2-teacher.js';
import { poolScore, pct, pctCi, type Score, type SplitRow } from './mnv2-score.js';
import { since, type Mnv2Context } from './mnv2-context.js';
import { droppedText } from './mnv2-settings.js';
import { QwasmError } from '../errors.js';
import type { GraphMeta } from '../deploy/graph.js';

/** The final teacher of each split (features or fine-tuned), loaded into the teacher model on demand. */
export interface FinalTeacher { kind: 'features' | 'finetune'; score: Score; load(k: number): void }

export interface StudentResult {
  score: Score;
  keep: number;
  /** The student's input size (px). */
  size: number;
  candidates: { keep: number; val: number }[];
  params: number;
  bytes: number;
  seconds: number;
  splits: number;
  transfer: string | null;
  details: Record<string, unknown>;
  /** Split 1's chosen student (the one saved and timed); the caller disposes it. */
  first: CompressResult | null;
}

/**
 * The student's input px: `studentSize`, or the teacher's own. Smaller inputs buy speed at a price in accuracy
 * (on Tux Paint every student below the teacher's 96 px scored 65–70 % against 73–76 % at 96 px); the default
 * student gets its speed from depth instead (`studentDrop`: residual blocks left out) — docs/PIPELINE-MOBILENETV2.md.
 */
export const studentInputSize = (s: { studentSize: number; inputSize: number }): number => s.studentSize || s.inputSize;

/** Every image of `ds` resized bilinearly to size × size. */
export function resizeImages(ds: Dataset, size: number): Dataset {
  if (ds.height === size && ds.width === size) return ds;
  const per = ds.height * ds.width * ds.channels, out = new Uint8Array(ds.length * size * size * ds.channels);
  for (let i = 0; i < ds.length; i++) {
    const img = { width: ds.width, height: ds.height, channels: ds.channels, data: ds.images.subarray(i * per, (i + 1) * per) };
    out.set(resize(img, size, size).data, i * size * size * ds.channels);
  }
  return createDataset({ ...ds, images: out, height: size, width: size });
}

/** The model's predicted class of each image of `ds` at `indices` (eval mode, no graph). */
function predictions(model: Module, ds: Dataset, indices: ArrayLike<number>): Int32Array {
  const out = new Int32Array(indices.length), E = model.engine;
  let o = 0;
  const predPtr = E.rt.alloc(256 * 4);
  try {
    evalForward(E, [model], ds, { batchSize: 64, indices }, (x, _ys, nb) => {
      const y = model.forward(x);
      argmaxRows(E.rt, y.ptr, nb, y.shape[1], predPtr);
      out.set(E.rt.i32(predPtr, nb), o);
      o += nb;
    });
  } finally { E.rt.free(predPtr); }
  return out;
}

/** The student's training images: the labelled pool (+ flips), then the transfer set (+ flips), at the teacher's size. */
interface StudentData { images: Dataset; labelled: number; transferIdx: Int32Array; transfer: TransferSet | null }

function studentData(ctx: Mnv2Context, t: TeacherSetup, cache: CacheResult): StudentData {
  const { s } = ctx;
  const transfer = loadTransferSet({ target: s.target, source: s.transferSet, size: s.inputSize, norm: t.target.pool.norm, pool: t.target.pool, shots: s.shots, max: s.transferMax, seed: s.seed });
  if (!transfer) return { images: cache.imageSet, labelled: cache.imageSet.length, transferIdx: new Int32Array(0), transfer: null };
  const tr = s.flipCopies ? catDatasets(transfer.images, flipped(transfer.images)) : transfer.images;
  const images = catDatasets(cache.imageSet, createDataset({ ...tr, classes: cache.imageSet.classes }));
  const labelled = cache.imageSet.length;
  return { images, labelled, transferIdx: Int32Array.from({ length: tr.length }, (_, i) => labelled + i), transfer };
}

/** The teacher's top-level module of each Keras residual block to drop ('block_2' → the module of `block_2_add`). */
function droppedBlocks(t: TeacherSetup, blocks: string[]): string[] {
  return blocks.map((b) => {
    if (t.imp.layerNames[`${b}_add`] === undefined) throw new QwasmError(`the student cannot drop ${b}: it is not a residual block of the imported ${TEACHER_SOURCE} (those with a ${b}_add layer)`);
    return String(topIndex(t.imp, `${b}_add`));
  });
}

/** What the student's .qwm records for `qwasm run`: class names, the input normalisation, photo decoding, its origin. */
function studentMeta(s: Mnv2Context['s'], t: TeacherSetup): GraphMeta {
  const { norm } = t.target.pool;
  return {
    labels: [...t.target.classes], mean: [...norm.mean], std: [...norm.std], ...(t.target.preprocess ? { preprocess: t.target.preprocess } : {}),
    source: TEACHER_SOURCE, dataset: s.target, method: `qwasm pipeline --source mobilenetv2 student (${s.studentCut}${droppedText(s)})`,
  };
}

interface Candidate { keep: number; r: CompressResult; val: number; probeVal: number }

/** One candidate width on split k: build, BN, linear probe, then QAT + distillation. */
async function trainCandidate(ctx: Mnv2Context, t: TeacherSetup, k: number, keep: number, data: { R: number; images: Dataset; train: Int32Array; labelledTrain: Int32Array; labelled: number; teacher: Module }, nStudent: number): Promise<Candidate> {
  const { s, engine } = ctx, { R } = data, sp = t.target.splits[k];
  const st = buildStudent(t.teacher, { upTo: topIndex(t.imp, s.studentCut) + 1, drop: droppedBlocks(t, s.studentDrop), classes: t.C, keep, channelMultiple: s.studentMultiple, input: [R, R, 3], seed: s.seed + k });
  try {
    // BN statistics of the narrowed trunk re-estimated on the training images, then its head a linear probe on
    // its own features of the labelled images (epoch chosen on validation) before QAT + distillation (LP-FT)
    recalibrateBatchNorm(st.model, data.images, { indices: data.train, batchSize: s.batch });
    const sf = extractFeatures(st.model, data.images, { batchSize: 64, indices: Int32Array.from({ length: data.labelled }, (_, i) => i) });
    const lp = probeHead(engine, rowsOf(sf, data.labelledTrain), rowsOf(sf, sp.val), { epochs: s.headEpochs, batch: s.batch, lr: s.headLr, seed: s.seed + k });
    const sh = st.model.layers[st.model.layers.length - 1] as Linear;
    sh.weight.write(lp.head.weight.toArray()); sh.bias!.write(lp.head.bias!.toArray());
    lp.head.dispose();
    const ts = performance.now();
    const r = await compressModel(st.model, data.images, {
      method: 'joint', teacher: data.teacher, epochs: s.studentEpochs, batchSize: s.batch, lr: s.studentLr, seed: s.seed + k, indices: data.train, shift: Math.max(1, Math.round(R / 24)),
      distill: { temperature: s.temperature, alpha: s.alpha },
      convert: { meta: studentMeta(s, t) },
      ...(s.sparsity > 0 ? { prune: { sparsity: s.sparsity, structure: 'channel' as const, schedule: 'polynomial' as const } } : {}),
      onProgress: (p) => { if (p.phase === 'train') ctx.progress(p.step, p.totalSteps, { split: `${k + 1}/${nStudent}`, keep: String(keep), epoch: `${p.epoch + 1}`, loss: p.loss.toFixed(3), 'img/s': p.imagesPerSecond.toFixed(1) }, since(ts)); },
    });
    return { keep, r, val: r.int8.evaluate(data.images, { indices: sp.val }).accuracy, probeVal: lp.val };
  } finally { st.model.dispose(); }
}

const disposeResult = (r: CompressResult) => { r.int8.dispose(); r.quantized.dispose?.(); r.floatModel.dispose(); };

/**
 * Which student ships (on validation): the narrowest whose int8 validation accuracy is within 2 points of the
 * final teacher's on this split; none is: the most accurate (ties: the narrower).
 */
export function chooseStudent(cands: { keep: number; val: number }[], teacherVal: number): number {
  const order = cands.map((_, i) => i).sort((a, b) => cands[a].keep - cands[b].keep);
  let bi = order.find((i) => cands[i].val >= teacherVal - 0.02 - 1e-12) ?? -1;
  if (bi < 0) { bi = order[0]; for (const i of order) if (cands[i].val > cands[bi].val) bi = i; }
  return bi;
}

/** Step 6, variant (d): the int8 student on the first `studentSplits` splits. */
export function studentStep(ctx: Mnv2Context, t: TeacherSetup, cache: CacheResult, final: FinalTeacher, available: number): Promise<StudentResult> {
  const { s } = ctx, { target, N, L, cacheAt } = t;
  const nStudent = Math.min(s.studentSplits === 0 ? target.splits.length : s.studentSplits, target.splits.length, available);
  if (topIndex(t.imp, s.studentCut) + 1 > L) throw new QwasmError(`the student cut ${s.studentCut} is above the teacher's frozen prefix (${cacheAt}): pick an earlier layer`);
  const R = studentInputSize(s);
  return ctx.stage('student', async (ts) => {
    const sd = studentData(ctx, t, cache);
    const imagesR = resizeImages(sd.images, R);
    const teacherIn: Module = R === s.inputSize ? t.teacher : new ResizedInput(t.teacher, s.inputSize);
    const per: SplitRow[] = [];
    const candVals = s.studentKeep.map(() => [] as number[]);
    const chosenPerSplit: { split: string; keep: number; val: number; floatProbeVal: number; teacherVal: number; pseudoLabels?: number[] }[] = [];
    let first: CompressResult | null = null;
    try {
      for (let k = 0; k < nStudent; k++) {
        const sp = target.splits[k];
        final.load(k);
        t.teacher.eval();
        // the transfer images carry the split's teacher's predictions as labels (its soft outputs are the KD targets)
        const labels = new Uint8Array(imagesR.labels);
        let counts: number[] | undefined;
        if (sd.transferIdx.length) {
          const pl = predictions(t.teacher, sd.images, sd.transferIdx);
          counts = target.classes.map(() => 0);
          sd.transferIdx.forEach((j, i) => { labels[j] = pl[i]; counts![pl[i]]++; });
        }
        const labelledTrain = withFlips(sp.train, N, s.flipCopies);
        const data = { R, images: createDataset({ ...imagesR, labels }), labelledTrain, train: Int32Array.from([...labelledTrain, ...sd.transferIdx]), labelled: sd.labelled, teacher: teacherIn };
        const cands: Candidate[] = [];
        try {
          for (const keep of s.studentKeep) cands.push(await trainCandidate(ctx, t, k, keep, data, nStudent));
          cands.forEach((c, i) => candVals[i].push(c.val));
          const teacherVal = final.score.perSplit[k].val;
          const win = cands[chooseStudent(cands, teacherVal)];
          chosenPerSplit.push({ split: sp.name, keep: win.keep, val: win.val, floatProbeVal: win.probeVal, teacherVal, ...(counts ? { pseudoLabels: counts } : {}) });
          const te = win.r.int8.evaluate(data.images, { indices: sp.test });
          per.push({ split: sp.name, correct: Math.round(te.accuracy * te.count), count: te.count, val: win.val, testIdx: sp.test });
          if (k === 0) first = win.r;
        } finally { for (const c of cands) if (c.r !== first) disposeResult(c.r); }
      }
    } catch (e) { if (first) disposeResult(first); throw e; }
    const score = poolScore(per);
    const w = first as CompressResult | null;
    const res: StudentResult = {
      score, keep: chosenPerSplit[0].keep, size: R, splits: nStudent, transfer: sd.transfer?.what ?? null, first: w, seconds: since(ts),
      candidates: s.studentKeep.map((keep, i) => ({ keep, val: candVals[i].reduce((a, b) => a + b, 0) / Math.max(1, candVals[i].length) })),
      params: w ? w.floatModel.numParameters() : 0, bytes: w ? w.int8.bytes() : 0,
      details: { channels: w?.history.channels ? { paramsBefore: w.history.channels.paramsBefore, paramsAfter: w.history.channels.paramsAfter } : null, layers: w?.int8.layers().length ?? 0, chosenPerSplit, inputSize: R, transferImages: sd.transferIdx.length },
    };
    return [res, `int8 ${pctCi(score)} over ${score.splits} split(s); keep ${res.keep}, ${R} px, ${res.params} parameters, ${res.bytes} B .qwm${sd.transfer ? `; transfer set ${sd.transferIdx.length} images` : ''}`];
  });
}
