// f32 losses for training: softmax cross-entropy (fused forward + gradient, label smoothing), softmax,
// log-softmax (+ backward), knowledge-distillation KL with temperature, MSE; plus vectorised exp and log.
//
// exp / log. WebAssembly has no SIMD transcendental, so both are written here twice with the same IEEE
// operation sequence (no FMA): `exp4`/`log4` on f32x4 and `exp1`/`log1` on f32, which give identical bits.
//   exp: x = k·ln2 + r, k = roundHalfEven(x·log2e) (by adding and subtracting 1.5·2^23), r = (x − k·ln2hi) − k·ln2lo (Cody–Waite, ln2hi has 15
//        significant bits so k·ln2hi is exact), e^r by its degree-7 Taylor polynomial on |r| ≤ 0.347
//        (truncation < 6e-9), scaled by 2^k as 2^⌊k/2⌋·2^(k−⌊k/2⌋) so both factors stay normal. Inputs are
//        clamped to [−104, 89]: results below 2^−126 are gradual subnormals, exp(x) = 0 for x < −103.97,
//        +Inf for x > 88.7228, NaN → NaN. Measured over 2·10⁶ points of [−87, 88]: ≤ 1.19 ulp, relative
//        error ≤ 1.0e-7 (test/loss_f32.test.js checks ≤ 1.5 ulp).
//   log: x = m·2^e with m in [√½, √2) (subnormals rescaled by 2^23 first), f = m − 1, s = f/(2+f),
//        log m = f − s·(f − R), R = s²·(2/3 + s²(2/5 + s²(2/7 + s²·2/9))) (atanh series, truncation < 3e-9),
//        log x = e·ln2hi + (log m + e·ln2lo). log(0) = −Inf, log(x<0) = NaN, log(+Inf) = +Inf.
//        Measured over 2·10⁶ points of [2^−126, 2^127] and [0.5, 2]: ≤ 0.92 ulp of the result, relative error
//        ≤ 8.3e-8 (the test checks ≤ 1.5 ulp).
//
// Every loss has a `*_ref` twin (plain loops over exp1/log1). Row sums are added in another order by the fast
// paths (4 lanes), so fast vs ref agree to a few ulp, not bit for bit; the losses are returned as f64, the
// mean over rows accumulated in f64.
// Rows are logits [m×n] row-major (n classes). Gradient outputs may be 0 (not computed).

const LOG2E: f32 = 1.44269504088896341;
const LN2HI: f32 = 0.693145751953125;       // 0x3f317200
const LN2LO: f32 = 1.42860682030941723e-6;  // ln 2 − LN2HI
const MAGIC: f32 = 12582912.0;              // 1.5·2^23: v + MAGIC rounds v to an integer (|v| < 2^22)
const MAGIC_BITS: i32 = 0x4b400000;
const XMIN: f32 = -104.0;
const XMAX: f32 = 89.0;
const C2: f32 = 0.5;
const C3: f32 = 0.166666666666666667;
const C4: f32 = 0.0416666666666666667;
const C5: f32 = 0.00833333333333333333;
const C6: f32 = 0.00138888888888888889;
const C7: f32 = 0.000198412698412698413;

// @ts-ignore: decorator
@inline function exp1(x: f32): f32 {
  if (x != x) return x;
  let xc = min<f32>(max<f32>(x, XMIN), XMAX);
  let t = xc * LOG2E + MAGIC;                  // rounds xc·log2e to an integer, ties to even
  let kf = t - MAGIC;
  let r = (xc - kf * LN2HI) - kf * LN2LO;
  let p = C7;
  p = p * r + C6; p = p * r + C5; p = p * r + C4; p = p * r + C3; p = p * r + C2; p = p * r + 1; p = p * r + 1;
  let k = reinterpret<i32>(t) - MAGIC_BITS;
  let k1 = k >> 1, k2 = k - k1;
  return (p * reinterpret<f32>((k1 + 127) << 23)) * reinterpret<f32>((k2 + 127) << 23);
}

// @ts-ignore: decorator
@inline function exp4(x: v128): v128 {
  // pmin/pmax: one instruction each; equal to min/max here (NaN is restored below, the bounds are not ±0)
  let xc = f32x4.pmin(f32x4.pmax(x, f32x4.splat(XMIN)), f32x4.splat(XMAX));
  let t = f32x4.add(f32x4.mul(xc, f32x4.splat(LOG2E)), f32x4.splat(MAGIC));
  let kf = f32x4.sub(t, f32x4.splat(MAGIC));
  let r = f32x4.sub(f32x4.sub(xc, f32x4.mul(kf, f32x4.splat(LN2HI))), f32x4.mul(kf, f32x4.splat(LN2LO)));
  let p = f32x4.splat(C7);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(C6));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(C5));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(C4));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(C3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(C2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1));
  let k = i32x4.sub(t, i32x4.splat(MAGIC_BITS));
  let k1 = i32x4.shr_s(k, 1), k2 = i32x4.sub(k, k1);
  let b = i32x4.splat(127);
  let y = f32x4.mul(f32x4.mul(p, i32x4.shl(i32x4.add(k1, b), 23)), i32x4.shl(i32x4.add(k2, b), 23));
  return v128.bitselect(x, y, f32x4.ne(x, x)); // NaN in, NaN out
}

const SQRTH_BITS: i32 = 0x3f3504f3;  // √½
const L3: f32 = 0.666666666666666667;
const L5: f32 = 0.4;
const L7: f32 = 0.285714285714285714;
const L9: f32 = 0.222222222222222222;
const TWO23: f32 = 8388608.0;

// @ts-ignore: decorator
@inline function log1(x: f32): f32 {
  if (!(x > 0)) return x == 0 ? -Infinity : NaN;   // also NaN → NaN
  if (x == Infinity) return x;
  let bits = reinterpret<i32>(x);
  let eadj = 0;
  if (bits < 0x00800000) { bits = reinterpret<i32>(x * TWO23); eadj = -23; }
  let ix = bits - SQRTH_BITS;
  let e = (ix >> 23) + eadj;
  let m = reinterpret<f32>((ix & 0x007fffff) + SQRTH_BITS);
  let f = m - 1;
  let s = f / (f + 2);
  let z = s * s;
  let R = z * (L3 + z * (L5 + z * (L7 + z * L9)));
  let lm = f - s * (f - R);
  let ef = <f32>e;
  return ef * LN2HI + (lm + ef * LN2LO);
}

// @ts-ignore: decorator
@inline function log4(x: v128): v128 {
  let sub = f32x4.lt(x, f32x4.splat(1.17549435e-38));
  let xs = v128.bitselect(f32x4.mul(x, f32x4.splat(TWO23)), x, sub);
  let eadj = v128.and(sub, i32x4.splat(-23));
  let ix = i32x4.sub(xs, i32x4.splat(SQRTH_BITS));
  let e = i32x4.add(i32x4.shr_s(ix, 23), eadj);
  let m = i32x4.add(v128.and(ix, i32x4.splat(0x007fffff)), i32x4.splat(SQRTH_BITS));
  let f = f32x4.sub(m, f32x4.splat(1));
  let s = f32x4.div(f, f32x4.add(f, f32x4.splat(2)));
  let z = f32x4.mul(s, s);
  let R = f32x4.mul(z, f32x4.add(f32x4.splat(L3), f32x4.mul(z, f32x4.add(f32x4.splat(L5),
          f32x4.mul(z, f32x4.add(f32x4.splat(L7), f32x4.mul(z, f32x4.splat(L9))))))));
  let lm = f32x4.sub(f, f32x4.mul(s, f32x4.sub(f, R)));
  let ef = f32x4.convert_i32x4_s(e);
  let y = f32x4.add(f32x4.mul(ef, f32x4.splat(LN2HI)), f32x4.add(lm, f32x4.mul(ef, f32x4.splat(LN2LO))));
  y = v128.bitselect(f32x4.splat(NaN), y, v128.not(f32x4.ge(x, f32x4.splat(0))));
  y = v128.bitselect(f32x4.splat(-Infinity), y, f32x4.eq(x, f32x4.splat(0)));
  return v128.bitselect(x, y, f32x4.eq(x, f32x4.splat(Infinity)));
}

// The elementwise exp / log loop. `isLog` and `simd` are constants after inlining: each export keeps its own
// loop (f32x4 while 4 remain in the fast SIMD path, then f32; the _ref twins f32 only).
// @ts-ignore: decorator
@inline function expLogMap(isLog: bool, simd: bool, x: usize, y: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD && simd) {
    for (; i + 4 <= n; i += 4) {
      let o = <usize>i << 2;
      if (isLog) v128.store(y + o, log4(v128.load(x + o)));
      else v128.store(y + o, exp4(v128.load(x + o)));
    }
  }
  for (; i < n; i++) {
    let o = <usize>i << 2;
    if (isLog) store<f32>(y + o, log1(load<f32>(x + o)));
    else store<f32>(y + o, exp1(load<f32>(x + o)));
  }
}

// Elementwise y = exp(x), y = log(x) (in place allowed).
export function exp_f32(x: usize, y: usize, n: i32): void { expLogMap(false, true, x, y, n); }
export function exp_f32_ref(x: usize, y: usize, n: i32): void { expLogMap(false, false, x, y, n); }
export function log_f32(x: usize, y: usize, n: i32): void { expLogMap(true, true, x, y, n); }
export function log_f32_ref(x: usize, y: usize, n: i32): void { expLogMap(true, false, x, y, n); }

// ---------------------------------------------------------------------------------------------------------
// Row helpers (fast: SIMD with a scalar tail; ref: plain loops). `sc` divides the row first (temperature):
// z_j = x_j / sc (sc = 1 → z = x exactly).

// @ts-ignore: decorator
@inline function hsum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}
// @ts-ignore: decorator
@inline function hmax(v: v128): f32 {
  return max<f32>(max<f32>(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1)),
                  max<f32>(f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3)));
}

function rowMax(row: usize, n: i32, sc: f32): f32 {
  let j = 0;
  let m: f32 = -Infinity;
  if (ASC_FEATURE_SIMD) {
    let v = f32x4.splat(-Infinity);
    for (; j + 4 <= n; j += 4) v = f32x4.max(v, v128.load(row + (<usize>j << 2)));
    m = hmax(v);
  }
  for (; j < n; j++) m = max<f32>(m, load<f32>(row + (<usize>j << 2)));
  return m / sc;   // max(x)/sc = max(x/sc) for sc > 0 (division is monotonic)
}

// Σ exp(x_j/sc − mx); if e != 0, also stores each exp(x_j/sc − mx) there.
function rowSumExp(row: usize, n: i32, sc: f32, mx: f32, e: usize): f32 {
  let j = 0;
  let s: f32 = 0;
  if (ASC_FEATURE_SIMD) {
    let vm = f32x4.splat(mx), vsc = f32x4.splat(sc);
    let acc = f32x4.splat(0);
    for (; j + 4 <= n; j += 4) {
      let o = <usize>j << 2;
      let t = exp4(f32x4.sub(f32x4.div(v128.load(row + o), vsc), vm));
      if (e) v128.store(e + o, t);
      acc = f32x4.add(acc, t);
    }
    s = hsum(acc);
  }
  for (; j < n; j++) {
    let o = <usize>j << 2;
    let t = exp1(load<f32>(row + o) / sc - mx);
    if (e) store<f32>(e + o, t);
    s += t;
  }
  return s;
}

function rowMaxRef(row: usize, n: i32, sc: f32): f32 {
  let m: f32 = -Infinity;
  for (let j = 0; j < n; j++) m = max<f32>(m, load<f32>(row + (<usize>j << 2)));
  return m / sc;
}

function rowSumExpRef(row: usize, n: i32, sc: f32, mx: f32, e: usize): f32 {
  let s: f32 = 0;
  for (let j = 0; j < n; j++) {
    let o = <usize>j << 2;
    let t = exp1(load<f32>(row + o) / sc - mx);
    if (e) store<f32>(e + o, t);
    s += t;
  }
  return s;
}

// Σ_j x_j
function rowSum(row: usize, n: i32): f32 {
  let j = 0;
  let s: f32 = 0;
  if (ASC_FEATURE_SIMD) {
    let acc = f32x4.splat(0);
    for (; j + 4 <= n; j += 4) acc = f32x4.add(acc, v128.load(row + (<usize>j << 2)));
    s = hsum(acc);
  }
  for (; j < n; j++) s += load<f32>(row + (<usize>j << 2));
  return s;
}
function rowSumRef(row: usize, n: i32): f32 {
  let s: f32 = 0;
  for (let j = 0; j < n; j++) s += load<f32>(row + (<usize>j << 2));
  return s;
}

// y_j = e_j · k  (k = gscale/(m·s)); then y[label] −= k_label, y_j −= k_smooth (smoothing spread).
// @ts-ignore: decorator
@inline function scaleRow(e: usize, n: i32, k: f32, fast: bool): void {
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    if (fast) {
      let vk = f32x4.splat(k);
      for (; j + 4 <= n; j += 4) { let o = <usize>j << 2; v128.store(e + o, f32x4.mul(v128.load(e + o), vk)); }
    }
  }
  for (; j < n; j++) { let o = <usize>j << 2; store<f32>(e + o, load<f32>(e + o) * k); }
}
// @ts-ignore: decorator
@inline function subRow(e: usize, n: i32, k: f32, fast: bool): void {
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    if (fast) {
      let vk = f32x4.splat(k);
      for (; j + 4 <= n; j += 4) { let o = <usize>j << 2; v128.store(e + o, f32x4.sub(v128.load(e + o), vk)); }
    }
  }
  for (; j < n; j++) { let o = <usize>j << 2; store<f32>(e + o, load<f32>(e + o) - k); }
}

// ---------------------------------------------------------------------------------------------------------
// Softmax cross-entropy with integer labels (int32[m], each in [0, n)) and label smoothing eps (PyTorch's
// label_smoothing: target = (1 − eps)·onehot + eps/n). Returns the mean loss over the m rows:
//   loss_i = log Σ exp(x − mx) + (1 − eps)(mx − x_label) + (eps/n) Σ_j (mx − x_j)
// If dlogits != 0 also writes dlogits = gscale · (softmax(x) − target) / m (gscale: upstream gradient).
// dlogits may alias logits.

// @ts-ignore: decorator
@inline function xent(fast: bool, logits: usize, labels: usize, m: i32, n: i32, eps: f32, dlogits: usize, gscale: f32): f64 {
  let total: f64 = 0;
  let inv = gscale / <f32>m;
  let epsn = eps / <f32>n;
  for (let i = 0; i < m; i++) {
    let row = logits + (<usize>i * n << 2);
    let lab = load<i32>(labels + (<usize>i << 2));
    let xl = load<f32>(row + (<usize>lab << 2));
    let mx = fast ? rowMax(row, n, 1) : rowMaxRef(row, n, 1);
    let d = dlogits ? dlogits + (<usize>i * n << 2) : 0;
    let sx: f32 = 0;
    if (eps != 0) sx = fast ? rowSum(row, n) : rowSumRef(row, n);   // before d (may alias the logits) is written
    let s = fast ? rowSumExp(row, n, 1, mx, d) : rowSumExpRef(row, n, 1, mx, d);
    let li = log1(s) + (1 - eps) * (mx - xl);
    if (eps != 0) li += epsn * (<f32>n * mx - sx);
    total += <f64>li;
    if (d) {
      scaleRow(d, n, inv / s, fast);
      if (eps != 0) subRow(d, n, inv * epsn, fast);
      let q = d + (<usize>lab << 2);
      store<f32>(q, load<f32>(q) - inv * (1 - eps));
    }
  }
  return total / <f64>m;
}

export function xent_f32(logits: usize, labels: usize, m: i32, n: i32, eps: f32, dlogits: usize, gscale: f32): f64 {
  return xent(true, logits, labels, m, n, eps, dlogits, gscale);
}
export function xent_f32_ref(logits: usize, labels: usize, m: i32, n: i32, eps: f32, dlogits: usize, gscale: f32): f64 {
  return xent(false, logits, labels, m, n, eps, dlogits, gscale);
}

// Softmax / log-softmax of each row (y may alias x).
// @ts-ignore: decorator
@inline function softmaxRows(fast: bool, logMode: bool, x: usize, y: usize, m: i32, n: i32): void {
  for (let i = 0; i < m; i++) {
    let row = x + (<usize>i * n << 2);
    let out = y + (<usize>i * n << 2);
    let mx = fast ? rowMax(row, n, 1) : rowMaxRef(row, n, 1);
    if (logMode) {
      let lse = log1(fast ? rowSumExp(row, n, 1, mx, 0) : rowSumExpRef(row, n, 1, mx, 0));
      let j = 0;
      if (ASC_FEATURE_SIMD) {
        if (fast) {
          let vm = f32x4.splat(mx), vl = f32x4.splat(lse);
          for (; j + 4 <= n; j += 4) {
            let o = <usize>j << 2;
            v128.store(out + o, f32x4.sub(f32x4.sub(v128.load(row + o), vm), vl));
          }
        }
      }
      for (; j < n; j++) { let o = <usize>j << 2; store<f32>(out + o, (load<f32>(row + o) - mx) - lse); }
    } else {
      let s = fast ? rowSumExp(row, n, 1, mx, out) : rowSumExpRef(row, n, 1, mx, out);
      let j = 0;
      if (ASC_FEATURE_SIMD) {
        if (fast) {
          let vs = f32x4.splat(s);
          for (; j + 4 <= n; j += 4) { let o = <usize>j << 2; v128.store(out + o, f32x4.div(v128.load(out + o), vs)); }
        }
      }
      for (; j < n; j++) { let o = <usize>j << 2; store<f32>(out + o, load<f32>(out + o) / s); }
    }
  }
}

export function softmax_f32(x: usize, y: usize, m: i32, n: i32): void { softmaxRows(true, false, x, y, m, n); }
export function softmax_f32_ref(x: usize, y: usize, m: i32, n: i32): void { softmaxRows(false, false, x, y, m, n); }
export function log_softmax_f32_fwd(x: usize, y: usize, m: i32, n: i32): void { softmaxRows(true, true, x, y, m, n); }
export function log_softmax_f32_fwd_ref(x: usize, y: usize, m: i32, n: i32): void { softmaxRows(false, true, x, y, m, n); }

// Log-softmax backward from its output y: dx = dy − exp(y) · Σ_j dy_j (dx may alias dy).
// @ts-ignore: decorator
@inline function logSoftmaxBwd(fast: bool, y: usize, dy: usize, dx: usize, m: i32, n: i32): void {
  for (let i = 0; i < m; i++) {
    let off = <usize>i * n << 2;
    let sg = fast ? rowSum(dy + off, n) : rowSumRef(dy + off, n);
    let j = 0;
    if (ASC_FEATURE_SIMD) {
      if (fast) {
        let vs = f32x4.splat(sg);
        for (; j + 4 <= n; j += 4) {
          let o = off + (<usize>j << 2);
          v128.store(dx + o, f32x4.sub(v128.load(dy + o), f32x4.mul(exp4(v128.load(y + o)), vs)));
        }
      }
    }
    for (; j < n; j++) {
      let o = off + (<usize>j << 2);
      store<f32>(dx + o, load<f32>(dy + o) - exp1(load<f32>(y + o)) * sg);
    }
  }
}
export function log_softmax_f32_bwd(y: usize, dy: usize, dx: usize, m: i32, n: i32): void { logSoftmaxBwd(true, y, dy, dx, m, n); }
export function log_softmax_f32_bwd_ref(y: usize, dy: usize, dx: usize, m: i32, n: i32): void { logSoftmaxBwd(false, y, dy, dx, m, n); }

// ---------------------------------------------------------------------------------------------------------
// Knowledge distillation (Hinton et al.): with temperature T, p = softmax(student/T), q = softmax(teacher/T),
//   loss = T² · (1/m) Σ_i Σ_j q_ij (log q_ij − log p_ij)        (= T² · KLDivLoss(reduction='batchmean'))
//   dstudent (+)= gscale · (T/m) · (p − q)      (when dstudent != 0; accumulate != 0 adds to it, e.g. onto the
//                                                  cross-entropy gradient of the same logits; may alias student)
// log q − log p = (t_j − s_j) + C with t = teacher/T, s = student/T, C = (mxs − mxt) + (log Ss − log St), so
// identical rows give exactly 0. Terms with q_ij = 0 (underflow) contribute 0.

// @ts-ignore: decorator
@inline function klDistill(fast: bool, student: usize, teacher: usize, m: i32, n: i32, T: f32, ds: usize, gscale: f32, accumulate: i32): f64 {
  let total: f64 = 0;
  let g = gscale * T / <f32>m;
  for (let i = 0; i < m; i++) {
    let off = <usize>i * n << 2;
    let rs = student + off, rt = teacher + off;
    let mxs = fast ? rowMax(rs, n, T) : rowMaxRef(rs, n, T);
    let mxt = fast ? rowMax(rt, n, T) : rowMaxRef(rt, n, T);
    let ss = fast ? rowSumExp(rs, n, T, mxs, 0) : rowSumExpRef(rs, n, T, mxs, 0);
    let st = fast ? rowSumExp(rt, n, T, mxt, 0) : rowSumExpRef(rt, n, T, mxt, 0);
    let C = (mxs - mxt) + (log1(ss) - log1(st));
    let is: f32 = 1 / ss, it: f32 = 1 / st;
    let row: f32 = 0;
    let j = 0;
    if (ASC_FEATURE_SIMD) {
      if (fast) {
        let vT = f32x4.splat(T), vms = f32x4.splat(mxs), vmt = f32x4.splat(mxt), vC = f32x4.splat(C);
        let vis = f32x4.splat(is), vit = f32x4.splat(it), vg = f32x4.splat(g);
        let acc = f32x4.splat(0);
        for (; j + 4 <= n; j += 4) {
          let o = <usize>j << 2;
          let s = f32x4.div(v128.load(rs + o), vT), t = f32x4.div(v128.load(rt + o), vT);
          let q = f32x4.mul(exp4(f32x4.sub(t, vmt)), vit);
          acc = f32x4.add(acc, f32x4.mul(q, f32x4.add(f32x4.sub(t, s), vC)));
          if (ds) {
            let p = f32x4.mul(exp4(f32x4.sub(s, vms)), vis);
            let gv = f32x4.mul(vg, f32x4.sub(p, q));
            v128.store(ds + off + o, accumulate ? f32x4.add(v128.load(ds + off + o), gv) : gv);
          }
        }
        row = hsum(acc);
      }
    }
    for (; j < n; j++) {
      let o = <usize>j << 2;
      let s = load<f32>(rs + o) / T, t = load<f32>(rt + o) / T;
      let q = exp1(t - mxt) * it;
      row += q * ((t - s) + C);
      if (ds) {
        let p = exp1(s - mxs) * is;
        let gv = g * (p - q);
        store<f32>(ds + off + o, accumulate ? load<f32>(ds + off + o) + gv : gv);
      }
    }
    total += <f64>row;
  }
  return total * <f64>T * <f64>T / <f64>m;
}

export function kl_distill_f32(student: usize, teacher: usize, m: i32, n: i32, T: f32, dstudent: usize, gscale: f32, accumulate: i32): f64 {
  return klDistill(true, student, teacher, m, n, T, dstudent, gscale, accumulate);
}
export function kl_distill_f32_ref(student: usize, teacher: usize, m: i32, n: i32, T: f32, dstudent: usize, gscale: f32, accumulate: i32): f64 {
  return klDistill(false, student, teacher, m, n, T, dstudent, gscale, accumulate);
}

// ---------------------------------------------------------------------------------------------------------
// Mean squared error: loss = (1/n) Σ (a − b)² (f64 accumulation); if da != 0, da (+)= gscale · 2(a − b)/n
// (accumulate != 0 adds to da; da may alias a).
export function mse_f32(a: usize, b: usize, n: i32, da: usize, gscale: f32, accumulate: i32): f64 {
  let k = gscale * 2 / <f32>n;
  let i = 0;
  let s: f64 = 0;
  if (ASC_FEATURE_SIMD) {
    let vk = f32x4.splat(k);
    let a0 = f64x2.splat(0), a1 = f64x2.splat(0);
    for (; i + 4 <= n; i += 4) {
      let o = <usize>i << 2;
      let d = f32x4.sub(v128.load(a + o), v128.load(b + o));
      let l = f64x2.promote_low_f32x4(d), h = f64x2.promote_low_f32x4(f32x4.shuffle(d, d, 2, 3, 2, 3));
      a0 = f64x2.add(a0, f64x2.mul(l, l)); a1 = f64x2.add(a1, f64x2.mul(h, h));
      if (da) { let gv = f32x4.mul(vk, d); v128.store(da + o, accumulate ? f32x4.add(v128.load(da + o), gv) : gv); }
    }
    a0 = f64x2.add(a0, a1);
    s = f64x2.extract_lane(a0, 0) + f64x2.extract_lane(a0, 1);
  }
  for (; i < n; i++) {
    let o = <usize>i << 2;
    let d = load<f32>(a + o) - load<f32>(b + o);
    s += <f64>d * <f64>d;
    if (da) { let gv = k * d; store<f32>(da + o, accumulate ? load<f32>(da + o) + gv : gv); }
  }
  return s / <f64>n;
}

export function mse_f32_ref(a: usize, b: usize, n: i32, da: usize, gscale: f32, accumulate: i32): f64 {
  let k = gscale * 2 / <f32>n;
  let s: f64 = 0;
  for (let i = 0; i < n; i++) {
    let o = <usize>i << 2;
    let d = load<f32>(a + o) - load<f32>(b + o);
    s += <f64>d * <f64>d;
    if (da) { let gv = k * d; store<f32>(da + o, accumulate ? load<f32>(da + o) + gv : gv); }
  }
  return s / <f64>n;
}
