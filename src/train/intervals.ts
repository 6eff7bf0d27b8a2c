// 95 % intervals for the accuracies the reports print: the Wilson score interval of one accuracy measured on n
// test images (a binomial proportion; unlike the normal approximation it stays inside [0, 1] and is sane at
// 0 or n correct), and the spread of a figure over seeds (mean, sample sd, min, max and a Student-t interval of
// the mean).
import { checkInt, checkFinite, QwasmError } from '../errors.js';

export interface Interval { lo: number; hi: number }

/** Wilson score interval of `correct` successes in `n` trials (z = 1.96: 95 %). */
export function wilson(correct: number, n: number, z = 1.96): Interval {
  checkInt('n', n, 1); checkInt('correct', correct, 0, n); checkFinite('z', z);
  const p = correct / n, z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n);
  return { lo: Math.max(0, centre - half), hi: Math.min(1, centre + half) };
}

// two-sided 97.5 % quantiles of Student's t for 1..30 degrees of freedom (then 1.96)
const T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];

/** The 97.5 % quantile of Student's t with `df` degrees of freedom (a 95 % two-sided interval). */
export const tQuantile975 = (df: number): number => (checkInt('df', df, 1) <= 30 ? T975[df - 1] : 1.96);

/** A figure over seeds: mean, sample sd (0 for one value), min, max, and the 95 % t-interval of the mean (n ≥ 2). */
export interface Spread { n: number; mean: number; sd: number; min: number; max: number; ci: Interval | null }

export function spread(xs: readonly number[]): Spread {
  if (!xs.length) throw new QwasmError('spread of no values');
  for (const x of xs) checkFinite('value', x);
  const n = xs.length, mean = xs.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  const half = n > 1 ? (tQuantile975(n - 1) * sd) / Math.sqrt(n) : NaN;
  return { n, mean, sd, min: Math.min(...xs), max: Math.max(...xs), ci: n > 1 ? { lo: mean - half, hi: mean + half } : null };
}
