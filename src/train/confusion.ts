// What a confusion matrix (evaluate()'s counts [true class × predicted class]) says beyond the accuracy. On a
// target with unequal class sizes a model can score well by predicting the largest class (domain adaptation
// between sketches and photos does exactly that), so the adaptation report prints the balanced accuracy — the
// mean recall of the classes that have test images — and the share of the most predicted class beside it.
import { QwasmError } from '../errors.js';

/** The number of classes of a square confusion matrix. */
function sideOf(confusion: Int32Array): number {
  const k = Math.round(Math.sqrt(confusion.length));
  if (k * k !== confusion.length || k < 1) throw new QwasmError(`a confusion matrix must be square, got ${confusion.length} counts`);
  return k;
}

/** Element-wise sum of confusion matrices of the same classes (e.g. the folds or seeds of one method). */
export function sumConfusions(ms: readonly Int32Array[]): Int32Array {
  if (!ms.length) throw new QwasmError('no confusion matrix to sum');
  const out = new Int32Array(ms[0].length);
  for (const m of ms) {
    if (m.length !== out.length) throw new QwasmError(`confusion matrices of different class counts (${sideOf(m)} and ${sideOf(out)})`);
    for (let i = 0; i < m.length; i++) out[i] += m[i];
  }
  return out;
}

/** Mean per-class recall over the classes with at least one true image (macro recall; 1/k for a constant guess). */
export function balancedAccuracy(confusion: Int32Array): number {
  const k = sideOf(confusion);
  let sum = 0, present = 0;
  for (let t = 0; t < k; t++) {
    let n = 0;
    for (let p = 0; p < k; p++) n += confusion[t * k + p];
    if (n) { sum += confusion[t * k + t] / n; present++; }
  }
  if (!present) throw new QwasmError('balanced accuracy of an empty confusion matrix');
  return sum / present;
}

/** The class predicted most often and the share of all predictions it took. */
export function mostPredicted(confusion: Int32Array): { index: number; share: number } {
  const k = sideOf(confusion);
  const col = new Float64Array(k);
  let total = 0;
  for (let t = 0; t < k; t++) for (let p = 0; p < k; p++) { col[p] += confusion[t * k + p]; total += confusion[t * k + p]; }
  if (!total) throw new QwasmError('most predicted class of an empty confusion matrix');
  let index = 0;
  for (let p = 1; p < k; p++) if (col[p] > col[index]) index = p;
  return { index, share: col[index] / total };
}
