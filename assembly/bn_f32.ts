// f32 batch normalisation over the channel (last) axis of x[M][C]: NHWC BatchNorm2d with M = N·H·W
// (also BatchNorm1d on [N][C]). Statistics are per channel over the M rows.
//   training forward: mean = Σx / M; var = Σ(x - mean)² / M (biased, two passes: no E[x²] - E[x]²
//     cancellation); invstd = 1 / sqrt(var + eps); y = (x - mean)·(γ·invstd) + β. Writes mean and invstd
//     (for the backward) and, when runMean/runVar are given (non-zero), updates them PyTorch-style:
//     run = (1 - momentum)·run + momentum·stat, with the unbiased variance var·M/(M-1) for runVar.
//   eval forward: the same affine map with runMean / runVar; optionally writes mean / invstd of those
//     running statistics so the same backward can be used (training = 0).
//   backward (training = 1, statistics from the batch): with x̂ = (x - mean)·invstd,
//     dβ = Σdy, dγ = Σ dy·x̂, dx = γ·invstd·(dy - dβ/M - x̂·dγ/M);
//   backward (training = 0, frozen statistics): dγ, dβ as above, dx = γ·invstd·dy.
// γ (gamma) / β (beta) pointers may be 0: γ = 1, β = 0 (no affine). dgamma / dbeta may be 0 (not computed).
// `acc` of the backward: 0 overwrites dx / dγ / dβ, 1 accumulates into them, other values scale first.
// Sums: the reference uses f64 accumulators; the fast path adds f32x4 block sums (64 rows) into f64 totals.

// @ts-ignore: decorator
@inline function f(p: usize, i: usize): f32 { return load<f32>(p + (i << 2)); }
// @ts-ignore: decorator
@inline function fset(p: usize, i: usize, v: f32): void { store<f32>(p + (i << 2), v); }
// @ts-ignore: decorator
@inline function d(p: usize, i: usize): f64 { return load<f64>(p + (i << 3)); }
// @ts-ignore: decorator
@inline function dset(p: usize, i: usize, v: f64): void { store<f64>(p + (i << 3), v); }
// @ts-ignore: decorator
@inline function acc1(p: usize, i: usize, v: f32, a: f32): void { fset(p, i, a == 0 ? v : a * f(p, i) + v); }

const BLOCK: i32 = 64;

// Per-channel statistics of the batch: mean (f32) and biased variance (f64) into meanOut / varOut.
function statsRef(m: i32, c: i32, x: usize, meanOut: usize, varOut: usize): void {
  for (let ch = 0; ch < c; ch++) {
    let s: f64 = 0;
    for (let r = 0; r < m; r++) s += <f64>f(x, <usize>r * c + ch);
    let mean = <f32>(s / <f64>m);
    let q: f64 = 0;
    for (let r = 0; r < m; r++) { let t = <f64>(f(x, <usize>r * c + ch) - mean); q += t * t; }
    fset(meanOut, ch, mean);
    dset(varOut, ch, q / <f64>m);
  }
}

// Column sums Σ_r g(row r) into tot (f64[c]) where the f32x4 block sum of `which`:
//   0: x;  1: (x - mean)²;  2: dy;  3: dy·(x - mean)  (the last two also fill tot2 with kind 3's partner)
// Two outputs are computed at once for kinds 2/3 (tot = Σdy, tot2 = Σdy·(x - mean)).
function sumsFast(m: i32, c: i32, x: usize, dy: usize, mean: usize, kind: i32, tot: usize, tot2: usize): void {
  let blk = heap.alloc((<usize>c << 2) + 16);
  let blk2 = heap.alloc((<usize>c << 2) + 16);
  for (let j = 0; j < c; j++) { dset(tot, j, 0); if (kind == 2) dset(tot2, j, 0); }
  for (let r0 = 0; r0 < m; r0 += BLOCK) {
    let r1 = min(m, r0 + BLOCK);
    for (let j = 0; j < c; j++) { fset(blk, j, 0); fset(blk2, j, 0); }
    for (let r = r0; r < r1; r++) {
      let xr = x + ((<usize>r * c) << 2);
      let gr = dy + ((<usize>r * c) << 2);
      let j = 0;
      if (ASC_FEATURE_SIMD) {
        for (; j + 4 <= c; j += 4) {
          let o = <usize>j << 2;
          if (kind == 0) {
            v128.store(blk + o, f32x4.add(v128.load(blk + o), v128.load(xr + o)));
          } else if (kind == 1) {
            let t = f32x4.sub(v128.load(xr + o), v128.load(mean + o));
            v128.store(blk + o, f32x4.add(v128.load(blk + o), f32x4.mul(t, t)));
          } else {
            let g = v128.load(gr + o);
            let t = f32x4.sub(v128.load(xr + o), v128.load(mean + o));
            v128.store(blk + o, f32x4.add(v128.load(blk + o), g));
            v128.store(blk2 + o, f32x4.add(v128.load(blk2 + o), f32x4.mul(g, t)));
          }
        }
      }
      for (; j < c; j++) {
        if (kind == 0) fset(blk, j, f(blk, j) + f(xr, j));
        else if (kind == 1) { let t = f(xr, j) - f(mean, j); fset(blk, j, f(blk, j) + t * t); }
        else {
          let g = f(gr, j), t = f(xr, j) - f(mean, j);
          fset(blk, j, f(blk, j) + g);
          fset(blk2, j, f(blk2, j) + g * t);
        }
      }
    }
    for (let j = 0; j < c; j++) {
      dset(tot, j, d(tot, j) + <f64>f(blk, j));
      if (kind == 2) dset(tot2, j, d(tot2, j) + <f64>f(blk2, j));
    }
  }
  heap.free(blk2);
  heap.free(blk);
}

// y = (x - mean)·scale + shift per channel, scale / shift / mean: f32[c] (16-byte padded).
function affineFast(m: i32, c: i32, x: usize, mean: usize, scale: usize, shift: usize, y: usize): void {
  for (let r = 0; r < m; r++) {
    let xr = x + ((<usize>r * c) << 2), yr = y + ((<usize>r * c) << 2);
    let j = 0;
    if (ASC_FEATURE_SIMD) {
      for (; j + 4 <= c; j += 4) {
        let o = <usize>j << 2;
        let t = f32x4.sub(v128.load(xr + o), v128.load(mean + o));
        v128.store(yr + o, f32x4.add(f32x4.mul(t, v128.load(scale + o)), v128.load(shift + o)));
      }
    }
    for (; j < c; j++) fset(yr, j, (f(xr, j) - f(mean, j)) * f(scale, j) + f(shift, j));
  }
}

function updateRunning(c: i32, m: i32, mean: usize, varD: usize, runMean: usize, runVar: usize, momentum: f32): void {
  if (runMean) {
    for (let j = 0; j < c; j++) fset(runMean, j, (1 - momentum) * f(runMean, j) + momentum * f(mean, j));
  }
  if (runVar) {
    let corr: f64 = m > 1 ? <f64>m / <f64>(m - 1) : 1;
    for (let j = 0; j < c; j++) {
      fset(runVar, j, (1 - momentum) * f(runVar, j) + momentum * <f32>(d(varD, j) * corr));
    }
  }
}

// ---------------------------------------------------------------------------------------------------------

export function batchnorm_f32_fwd_train_ref(m: i32, c: i32, x: usize, gamma: usize, beta: usize, y: usize,
                                     mean: usize, invstd: usize, runMean: usize, runVar: usize,
                                     momentum: f32, eps: f32): void {
  let varD = heap.alloc(<usize>c << 3);
  statsRef(m, c, x, mean, varD);
  for (let ch = 0; ch < c; ch++) {
    let is = <f32>(1.0 / Math.sqrt(d(varD, ch) + <f64>eps));
    fset(invstd, ch, is);
    let mu = f(mean, ch);
    let sc: f32 = (gamma ? f(gamma, ch) : 1) * is;
    let sh: f32 = beta ? f(beta, ch) : 0;
    for (let r = 0; r < m; r++) {
      let i = <usize>r * c + ch;
      fset(y, i, (f(x, i) - mu) * sc + sh);
    }
  }
  updateRunning(c, m, mean, varD, runMean, runVar, momentum);
  heap.free(varD);
}

export function batchnorm_f32_fwd_train(m: i32, c: i32, x: usize, gamma: usize, beta: usize, y: usize,
                                 mean: usize, invstd: usize, runMean: usize, runVar: usize,
                                 momentum: f32, eps: f32): void {
  let cb = (<usize>c << 2) + 16;
  let tot = heap.alloc(<usize>c << 3);
  let mu = heap.alloc(cb), sc = heap.alloc(cb), sh = heap.alloc(cb);
  sumsFast(m, c, x, 0, 0, 0, tot, 0);
  for (let j = 0; j < c; j++) fset(mu, j, <f32>(d(tot, j) / <f64>m));
  sumsFast(m, c, x, 0, mu, 1, tot, 0);
  for (let j = 0; j < c; j++) {
    let v = d(tot, j) / <f64>m;
    dset(tot, j, v);
    let is = <f32>(1.0 / Math.sqrt(v + <f64>eps));
    fset(invstd, j, is);
    fset(mean, j, f(mu, j));
    fset(sc, j, (gamma ? f(gamma, j) : 1) * is);
    fset(sh, j, beta ? f(beta, j) : 0);
  }
  affineFast(m, c, x, mu, sc, sh, y);
  updateRunning(c, m, mu, tot, runMean, runVar, momentum);
  heap.free(sh); heap.free(sc); heap.free(mu);
  heap.free(tot);
}

export function batchnorm_f32_fwd_eval_ref(m: i32, c: i32, x: usize, gamma: usize, beta: usize, y: usize,
                                    runMean: usize, runVar: usize, eps: f32, mean: usize, invstd: usize): void {
  for (let ch = 0; ch < c; ch++) {
    let is = <f32>(1.0 / Math.sqrt(<f64>f(runVar, ch) + <f64>eps));
    let mu = f(runMean, ch);
    if (mean) fset(mean, ch, mu);
    if (invstd) fset(invstd, ch, is);
    let sc: f32 = (gamma ? f(gamma, ch) : 1) * is;
    let sh: f32 = beta ? f(beta, ch) : 0;
    for (let r = 0; r < m; r++) {
      let i = <usize>r * c + ch;
      fset(y, i, (f(x, i) - mu) * sc + sh);
    }
  }
}

export function batchnorm_f32_fwd_eval(m: i32, c: i32, x: usize, gamma: usize, beta: usize, y: usize,
                                runMean: usize, runVar: usize, eps: f32, mean: usize, invstd: usize): void {
  let cb = (<usize>c << 2) + 16;
  let mu = heap.alloc(cb), sc = heap.alloc(cb), sh = heap.alloc(cb);
  for (let j = 0; j < c; j++) {
    let is = <f32>(1.0 / Math.sqrt(<f64>f(runVar, j) + <f64>eps));
    fset(mu, j, f(runMean, j));
    if (mean) fset(mean, j, f(runMean, j));
    if (invstd) fset(invstd, j, is);
    fset(sc, j, (gamma ? f(gamma, j) : 1) * is);
    fset(sh, j, beta ? f(beta, j) : 0);
  }
  affineFast(m, c, x, mu, sc, sh, y);
  heap.free(sh); heap.free(sc); heap.free(mu);
}

export function batchnorm_f32_bwd_ref(m: i32, c: i32, x: usize, dy: usize, mean: usize, invstd: usize, gamma: usize,
                               dx: usize, dgamma: usize, dbeta: usize, training: i32, acc: f32): void {
  for (let ch = 0; ch < c; ch++) {
    let mu = f(mean, ch), is = f(invstd, ch);
    let sdy: f64 = 0, sdyx: f64 = 0;
    for (let r = 0; r < m; r++) {
      let i = <usize>r * c + ch;
      let g = <f64>f(dy, i);
      sdy += g;
      sdyx += g * <f64>(f(x, i) - mu);
    }
    let dg = <f32>(sdyx * <f64>is);
    let sc: f32 = (gamma ? f(gamma, ch) : 1) * is;
    let kb: f32 = training ? <f32>(<f64>sc * <f64>is * <f64>is * sdyx / <f64>m) : 0;
    let kc: f32 = training ? <f32>(<f64>sc * sdy / <f64>m) : 0;
    for (let r = 0; r < m; r++) {
      let i = <usize>r * c + ch;
      acc1(dx, i, sc * f(dy, i) - kb * (f(x, i) - mu) - kc, acc);
    }
    if (dgamma) acc1(dgamma, ch, dg, acc);
    if (dbeta) acc1(dbeta, ch, <f32>sdy, acc);
  }
}

export function batchnorm_f32_bwd(m: i32, c: i32, x: usize, dy: usize, mean: usize, invstd: usize, gamma: usize,
                           dx: usize, dgamma: usize, dbeta: usize, training: i32, acc: f32): void {
  let cb = (<usize>c << 2) + 16;
  let t1 = heap.alloc(<usize>c << 3), t2 = heap.alloc(<usize>c << 3);
  let mu = heap.alloc(cb), va = heap.alloc(cb), vb = heap.alloc(cb), vc = heap.alloc(cb);
  for (let j = 0; j < c; j++) fset(mu, j, f(mean, j));
  sumsFast(m, c, x, dy, mu, 2, t1, t2);
  for (let j = 0; j < c; j++) {
    let is = f(invstd, j);
    let sdy = d(t1, j), sdyx = d(t2, j);
    let sc: f32 = (gamma ? f(gamma, j) : 1) * is;
    fset(va, j, sc);
    fset(vb, j, training ? <f32>(<f64>sc * <f64>is * <f64>is * sdyx / <f64>m) : 0);
    fset(vc, j, training ? <f32>(<f64>sc * sdy / <f64>m) : 0);
    if (dgamma) acc1(dgamma, j, <f32>(sdyx * <f64>is), acc);
    if (dbeta) acc1(dbeta, j, <f32>sdy, acc);
  }
  // dx = a·dy - b·(x - mean) - c   (then β-accumulated)
  for (let r = 0; r < m; r++) {
    let o0 = (<usize>r * c) << 2;
    let xr = x + o0, gr = dy + o0, dr = dx + o0;
    let j = 0;
    if (ASC_FEATURE_SIMD) {
      let vacc = f32x4.splat(acc);
      for (; j + 4 <= c; j += 4) {
        let o = <usize>j << 2;
        let t = f32x4.sub(v128.load(xr + o), v128.load(mu + o));
        let v = f32x4.sub(f32x4.sub(f32x4.mul(v128.load(va + o), v128.load(gr + o)), f32x4.mul(v128.load(vb + o), t)),
                          v128.load(vc + o));
        if (acc == 0) v128.store(dr + o, v);
        else v128.store(dr + o, f32x4.add(f32x4.mul(vacc, v128.load(dr + o)), v));
      }
    }
    for (; j < c; j++) acc1(dr, j, f(va, j) * f(gr, j) - f(vb, j) * (f(xr, j) - f(mu, j)) - f(vc, j), acc);
  }
  heap.free(vc); heap.free(vb); heap.free(va); heap.free(mu);
  heap.free(t2); heap.free(t1);
}
