// Plain SVG charts for the HTML report (inline, no scripts, no external files): line charts for training
// curves and labelled scatter plots for accuracy vs bytes / latency. Axes get "nice" ticks; a log axis gets
// decade ticks with 2× and 5× marks.
import { describe } from '../errors.js';

export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22', '#393b79', '#ad494a', '#637939'];

export const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const W = 640, H = 360, M = { l: 62, r: 16, t: 34, b: 46 };
const fmtNum = (v: number): string => {
  const a = Math.abs(v);
  if (a >= 1e6) return `${+(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e3) return `${+(v / 1e3).toPrecision(3)}k`;
  return `${+v.toPrecision(3)}`;
};

/** ~n round tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, n = 5): number[] {
  if (!(hi > lo)) { const d = Math.abs(lo) * 0.1 || 1; lo -= d; hi += d; }
  const raw = (hi - lo) / n, mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(+v.toPrecision(12));
  return out;
}

function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const f of [1, 2, 5]) { const v = f * 10 ** e; if (v >= lo * 0.999 && v <= hi * 1.001) out.push(v); }
  }
  // within about a decade there are too few 1-2-5 marks: use round linear steps instead
  return out.length >= 3 ? out : niceTicks(lo, hi, 4).filter((t) => t > 0 && t >= lo && t <= hi);
}

interface Axis { lo: number; hi: number; log: boolean; ticks: number[]; map: (v: number) => number }

function axis(values: number[], from: number, to: number, log: boolean, pad = 0.05, fixed?: [number, number]): Axis {
  const vs = values.filter((v) => Number.isFinite(v) && (!log || v > 0));
  let lo = fixed ? fixed[0] : Math.min(...vs), hi = fixed ? fixed[1] : Math.max(...vs);
  if (!vs.length && !fixed) { lo = log ? 1 : 0; hi = log ? 10 : 1; }
  if (log) {
    if (!(hi > lo)) { lo /= 2; hi *= 2; }
    const l0 = Math.log10(lo), l1 = Math.log10(hi), p = (l1 - l0) * pad;
    lo = 10 ** (l0 - p); hi = 10 ** (l1 + p);
    return { lo, hi, log, ticks: logTicks(lo, hi), map: (v) => from + ((Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * (to - from) };
  }
  if (!fixed) { const p = (hi - lo || Math.abs(hi) || 1) * pad; lo -= p; hi += p; }
  const ticks = niceTicks(lo, hi).filter((t) => t >= lo && t <= hi);
  return { lo, hi, log, ticks, map: (v) => from + ((v - lo) / (hi - lo)) * (to - from) };
}

function frame(title: string, xl: string, yl: string, x: Axis, y: Axis, xFmt: (v: number) => string, yFmt: (v: number) => string): string[] {
  const p: string[] = [];
  p.push(`<rect x="${M.l}" y="${M.t}" width="${W - M.l - M.r}" height="${H - M.t - M.b}" fill="#fff" stroke="#999"/>`);
  for (const t of x.ticks) {
    const px = x.map(t).toFixed(1);
    p.push(`<line x1="${px}" y1="${M.t}" x2="${px}" y2="${H - M.b}" stroke="#eee"/>`, `<text x="${px}" y="${H - M.b + 16}" text-anchor="middle">${esc(xFmt(t))}</text>`);
  }
  for (const t of y.ticks) {
    const py = y.map(t).toFixed(1);
    p.push(`<line x1="${M.l}" y1="${py}" x2="${W - M.r}" y2="${py}" stroke="#eee"/>`, `<text x="${M.l - 6}" y="${py}" text-anchor="end" dominant-baseline="middle">${esc(yFmt(t))}</text>`);
  }
  p.push(`<text x="${W / 2}" y="18" text-anchor="middle" font-weight="bold">${esc(title)}</text>`);
  p.push(`<text x="${(M.l + W - M.r) / 2}" y="${H - 8}" text-anchor="middle">${esc(xl)}</text>`);
  p.push(`<text transform="translate(16 ${(M.t + H - M.b) / 2}) rotate(-90)" text-anchor="middle">${esc(yl)}</text>`);
  return p;
}

const open = (title: string) => `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="sans-serif" font-size="11" role="img" aria-label="${esc(title)}">`;

export interface Series { name: string; points: [number, number][]; color?: string; dashed?: boolean }

/** A line chart of several series (points with non-finite values are skipped). */
export function lineChart(o: { title: string; xLabel: string; yLabel: string; series: Series[]; yFormat?: (v: number) => string; yRange?: [number, number] }): string {
  if (!o || !Array.isArray(o.series)) throw new TypeError(`lineChart needs { series: [...] }, got ${describe(o)}`);
  const pts = o.series.flatMap((s) => s.points.filter(([a, b]) => Number.isFinite(a) && Number.isFinite(b)));
  const x = axis(pts.map((p) => p[0]), M.l, W - M.r, false, 0.02);
  const y = axis(pts.map((p) => p[1]), H - M.b, M.t, false, 0.05, o.yRange);
  const p = frame(o.title, o.xLabel, o.yLabel, x, y, fmtNum, o.yFormat ?? fmtNum);
  o.series.forEach((s, i) => {
    const c = s.color ?? PALETTE[i % PALETTE.length];
    const ok = s.points.filter(([a, b]) => Number.isFinite(a) && Number.isFinite(b));
    if (!ok.length) return;
    const d = ok.map(([a, b], k) => `${k ? 'L' : 'M'}${x.map(a).toFixed(1)},${y.map(b).toFixed(1)}`).join(' ');
    p.push(`<path d="${d}" fill="none" stroke="${c}" stroke-width="1.8"${s.dashed ? ' stroke-dasharray="5 3"' : ''}><title>${esc(s.name)}</title></path>`);
    for (const [a, b] of ok) p.push(`<circle cx="${x.map(a).toFixed(1)}" cy="${y.map(b).toFixed(1)}" r="2.2" fill="${c}"/>`);
  });
  // legend
  const lx = W - M.r - 210;
  o.series.forEach((s, i) => {
    const c = s.color ?? PALETTE[i % PALETTE.length], ly = M.t + 10 + i * 14;
    p.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 18}" y2="${ly}" stroke="${c}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>`, `<text x="${lx + 22}" y="${ly}" dominant-baseline="middle">${esc(s.name)}</text>`);
  });
  return `${open(o.title)}${p.join('')}</svg>`;
}

export interface ScatterPoint { label: string; x: number; y: number; color?: string; shape?: 'circle' | 'square' }

/** A labelled scatter plot (each point carries its label and a tooltip). */
export function scatterChart(o: { title: string; xLabel: string; yLabel: string; points: ScatterPoint[]; logX?: boolean; xFormat?: (v: number) => string; yFormat?: (v: number) => string }): string {
  if (!o || !Array.isArray(o.points)) throw new TypeError(`scatterChart needs { points: [...] }, got ${describe(o)}`);
  const ok = o.points.filter((q) => Number.isFinite(q.x) && Number.isFinite(q.y) && (!o.logX || q.x > 0));
  const x = axis(ok.map((q) => q.x), M.l, W - M.r, !!o.logX, 0.08);
  const y = axis(ok.map((q) => q.y), H - M.b, M.t, false, 0.08);
  const p = frame(o.title, o.xLabel, o.yLabel, x, y, o.xFormat ?? fmtNum, o.yFormat ?? fmtNum);
  ok.forEach((q, i) => {
    const c = q.color ?? PALETTE[i % PALETTE.length], px = x.map(q.x), py = y.map(q.y);
    const tip = `<title>${esc(`${q.label}: ${fmtNum(q.x)}, ${fmtNum(q.y)}`)}</title>`;
    p.push(q.shape === 'square'
      ? `<rect x="${(px - 4).toFixed(1)}" y="${(py - 4).toFixed(1)}" width="8" height="8" fill="${c}">${tip}</rect>`
      : `<circle cx="${px.toFixed(1)}" cy="${py.toFixed(1)}" r="4.5" fill="${c}">${tip}</circle>`);
    const right = px < W - M.r - 150;
    p.push(`<text x="${(px + (right ? 7 : -7)).toFixed(1)}" y="${(py - 6).toFixed(1)}" text-anchor="${right ? 'start' : 'end'}" fill="${c}" font-size="10">${esc(q.label)}</text>`);
  });
  return `${open(o.title)}${p.join('')}</svg>`;
}
