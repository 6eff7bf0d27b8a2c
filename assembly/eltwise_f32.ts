// f32 elementwise kernels for training: arithmetic, broadcast over channels, activations and their
// gradients, dropout with an in-WASM counter-based RNG, reductions, argmax, fake quantisation (QAT) with its
// straight-through-estimator gradient and min/max observers.
//
// Every exported kernel has a `*_ref` twin (plain scalar loops, every build). The fast path does exactly the
// same IEEE operations per element (no FMA, no reassociation), so fast and ref agree bit for bit, except the
// reductions flagged "order" below (sums: lanes are added in another order; f64 accumulators keep it tight).
//
// Broadcast layout (outer, c, inner): a tensor of outer·c·inner floats whose middle axis is the channel.
//   per-channel vector over the last dim ("bias add" on [M×N]):  outer = M, c = N, inner = 1
//   over the first dim (weights [Cout×…]):                        outer = 1, c = Cout, inner = rest
//   NCHW activations:                                             outer = N, c = C, inner = H·W
// Elementwise kernels accept y == x (in place); other overlaps are undefined.

// ---------------------------------------------------------------------------------------------------------
// Binary same-shape ops: y = a (op) b. op 0 add, 1 sub, 2 mul.

// @ts-ignore: decorator
@inline function bin1(op: i32, a: f32, b: f32): f32 {
  return op == 0 ? a + b : op == 1 ? a - b : a * b;
}
// @ts-ignore: decorator
@inline function bin4(op: i32, a: v128, b: v128): v128 {
  return op == 0 ? f32x4.add(a, b) : op == 1 ? f32x4.sub(a, b) : f32x4.mul(a, b);
}

// @ts-ignore: decorator
@inline function binary(op: i32, a: usize, b: usize, y: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 16 <= n; i += 16) {
      let o = <usize>i << 2;
      let r0 = bin4(op, v128.load(a + o), v128.load(b + o));
      let r1 = bin4(op, v128.load(a + o, 16), v128.load(b + o, 16));
      let r2 = bin4(op, v128.load(a + o, 32), v128.load(b + o, 32));
      let r3 = bin4(op, v128.load(a + o, 48), v128.load(b + o, 48));
      v128.store(y + o, r0); v128.store(y + o, r1, 16); v128.store(y + o, r2, 32); v128.store(y + o, r3, 48);
    }
    for (; i + 4 <= n; i += 4) {
      let o = <usize>i << 2;
      v128.store(y + o, bin4(op, v128.load(a + o), v128.load(b + o)));
    }
  }
  for (; i < n; i++) {
    let o = <usize>i << 2;
    store<f32>(y + o, bin1(op, load<f32>(a + o), load<f32>(b + o)));
  }
}

// @ts-ignore: decorator
@inline function binaryRef(op: i32, a: usize, b: usize, y: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    let o = <usize>i << 2;
    store<f32>(y + o, bin1(op, load<f32>(a + o), load<f32>(b + o)));
  }
}

export function add_f32(a: usize, b: usize, y: usize, n: i32): void { binary(0, a, b, y, n); }
export function sub_f32(a: usize, b: usize, y: usize, n: i32): void { binary(1, a, b, y, n); }
export function mul_f32(a: usize, b: usize, y: usize, n: i32): void { binary(2, a, b, y, n); }
export function add_f32_ref(a: usize, b: usize, y: usize, n: i32): void { binaryRef(0, a, b, y, n); }
export function sub_f32_ref(a: usize, b: usize, y: usize, n: i32): void { binaryRef(1, a, b, y, n); }
export function mul_f32_ref(a: usize, b: usize, y: usize, n: i32): void { binaryRef(2, a, b, y, n); }

// ---------------------------------------------------------------------------------------------------------
// Channel broadcast: y[o,j,i] = x[o,j,i] (op) v[j]. op 0 add (bias), 2 mul (per-channel scale).

// @ts-ignore: decorator
@inline function bcast(op: i32, x: usize, v: usize, y: usize, outer: i32, c: i32, inner: i32): void {
  if (ASC_FEATURE_SIMD) {
    if (inner == 1) {
      for (let o = 0; o < outer; o++) {
        let row = <usize>o * c << 2;
        let j = 0;
        for (; j + 4 <= c; j += 4) {
          let q = <usize>j << 2;
          v128.store(y + row + q, bin4(op, v128.load(x + row + q), v128.load(v + q)));
        }
        for (; j < c; j++) {
          let q = <usize>j << 2;
          store<f32>(y + row + q, bin1(op, load<f32>(x + row + q), load<f32>(v + q)));
        }
      }
      return;
    }
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < c; j++) {
        let base = (<usize>o * c + j) * inner << 2;
        let s = load<f32>(v + (<usize>j << 2));
        let vs = f32x4.splat(s);
        let i = 0;
        for (; i + 4 <= inner; i += 4) {
          let q = base + (<usize>i << 2);
          v128.store(y + q, bin4(op, v128.load(x + q), vs));
        }
        for (; i < inner; i++) {
          let q = base + (<usize>i << 2);
          store<f32>(y + q, bin1(op, load<f32>(x + q), s));
        }
      }
    }
  } else {
    bcastRef(op, x, v, y, outer, c, inner);
  }
}

// @ts-ignore: decorator
@inline function bcastRef(op: i32, x: usize, v: usize, y: usize, outer: i32, c: i32, inner: i32): void {
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < c; j++) {
      let s = load<f32>(v + (<usize>j << 2));
      let base = (<usize>o * c + j) * inner << 2;
      for (let i = 0; i < inner; i++) {
        let q = base + (<usize>i << 2);
        store<f32>(y + q, bin1(op, load<f32>(x + q), s));
      }
    }
  }
}

export function add_bcast_f32(x: usize, v: usize, y: usize, outer: i32, c: i32, inner: i32): void { bcast(0, x, v, y, outer, c, inner); }
export function mul_bcast_f32(x: usize, v: usize, y: usize, outer: i32, c: i32, inner: i32): void { bcast(2, x, v, y, outer, c, inner); }
export function add_bcast_f32_ref(x: usize, v: usize, y: usize, outer: i32, c: i32, inner: i32): void { bcastRef(0, x, v, y, outer, c, inner); }
export function mul_bcast_f32_ref(x: usize, v: usize, y: usize, outer: i32, c: i32, inner: i32): void { bcastRef(2, x, v, y, outer, c, inner); }

// Channel sum (bias gradient): out[j] (+)= Σ_o Σ_i x[o,j,i]; accumulate != 0 adds to out.
// inner == 1 ([M×N] → [N]): rows are added in order in both paths (bit-exact). inner > 1: "order" (the fast
// path keeps 4 lane partial sums per channel).
export function sum_bcast_f32(x: usize, out: usize, outer: i32, c: i32, inner: i32, accumulate: i32): void {
  if (ASC_FEATURE_SIMD) {
    if (inner == 1) {
      let j = 0;
      for (; j + 8 <= c; j += 8) {
        let q = <usize>j << 2;
        let s0 = accumulate ? v128.load(out + q) : f32x4.splat(0);
        let s1 = accumulate ? v128.load(out + q, 16) : f32x4.splat(0);
        let p = x + q;
        let rs = <usize>c << 2;
        for (let o = 0; o < outer; o++) {
          s0 = f32x4.add(s0, v128.load(p));
          s1 = f32x4.add(s1, v128.load(p, 16));
          p += rs;
        }
        v128.store(out + q, s0); v128.store(out + q, s1, 16);
      }
      for (; j + 4 <= c; j += 4) {
        let q = <usize>j << 2;
        let s0 = accumulate ? v128.load(out + q) : f32x4.splat(0);
        let p = x + q;
        let rs = <usize>c << 2;
        for (let o = 0; o < outer; o++) { s0 = f32x4.add(s0, v128.load(p)); p += rs; }
        v128.store(out + q, s0);
      }
      for (; j < c; j++) {
        let q = <usize>j << 2;
        let s: f32 = accumulate ? load<f32>(out + q) : 0;
        for (let o = 0; o < outer; o++) s += load<f32>(x + ((<usize>o * c) << 2) + q);
        store<f32>(out + q, s);
      }
      return;
    }
    for (let j = 0; j < c; j++) {
      let acc = f32x4.splat(0);
      let s: f32 = 0;
      for (let o = 0; o < outer; o++) {
        let base = x + ((<usize>o * c + j) * inner << 2);
        let i = 0;
        for (; i + 4 <= inner; i += 4) acc = f32x4.add(acc, v128.load(base + (<usize>i << 2)));
        for (; i < inner; i++) s += load<f32>(base + (<usize>i << 2));
      }
      let t = (f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1)) +
              (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3)) + s;
      let q = out + (<usize>j << 2);
      store<f32>(q, accumulate ? load<f32>(q) + t : t);
    }
  } else {
    sum_bcast_f32_ref(x, out, outer, c, inner, accumulate);
  }
}

export function sum_bcast_f32_ref(x: usize, out: usize, outer: i32, c: i32, inner: i32, accumulate: i32): void {
  for (let j = 0; j < c; j++) {
    let q = out + (<usize>j << 2);
    let s: f32 = accumulate ? load<f32>(q) : 0;
    if (inner == 1) {
      for (let o = 0; o < outer; o++) s += load<f32>(x + ((<usize>o * c + j) << 2));
    } else {
      let t: f32 = 0;
      for (let o = 0; o < outer; o++) {
        let base = x + ((<usize>o * c + j) * inner << 2);
        for (let i = 0; i < inner; i++) t += load<f32>(base + (<usize>i << 2));
      }
      s += t;
    }
    store<f32>(q, s);
  }
}

// ---------------------------------------------------------------------------------------------------------
// axpy: y += alpha·x.  scale: y = alpha·x (gradient scaling, in place allowed).  fill, copy.

// y = y + alpha·x (acc) or alpha·x (not acc; y may alias x), 16 floats per step in the fast path.
// @ts-ignore: decorator
@inline function axpyOrScale(acc: bool, fast: bool, alpha: f32, x: usize, y: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    if (fast) {
      let va = f32x4.splat(alpha);
      for (; i + 16 <= n; i += 16) {
        let o = <usize>i << 2;
        let r0 = f32x4.mul(va, v128.load(x + o)), r1 = f32x4.mul(va, v128.load(x + o, 16));
        let r2 = f32x4.mul(va, v128.load(x + o, 32)), r3 = f32x4.mul(va, v128.load(x + o, 48));
        if (acc) {
          r0 = f32x4.add(v128.load(y + o), r0); r1 = f32x4.add(v128.load(y + o, 16), r1);
          r2 = f32x4.add(v128.load(y + o, 32), r2); r3 = f32x4.add(v128.load(y + o, 48), r3);
        }
        v128.store(y + o, r0); v128.store(y + o, r1, 16); v128.store(y + o, r2, 32); v128.store(y + o, r3, 48);
      }
      for (; i + 4 <= n; i += 4) {
        let o = <usize>i << 2;
        let r = f32x4.mul(va, v128.load(x + o));
        v128.store(y + o, acc ? f32x4.add(v128.load(y + o), r) : r);
      }
    }
  }
  for (; i < n; i++) {
    let o = <usize>i << 2;
    let r = alpha * load<f32>(x + o);
    store<f32>(y + o, acc ? load<f32>(y + o) + r : r);
  }
}

export function axpy_f32(alpha: f32, x: usize, y: usize, n: i32): void { axpyOrScale(true, true, alpha, x, y, n); }
export function axpy_f32_ref(alpha: f32, x: usize, y: usize, n: i32): void { axpyOrScale(true, false, alpha, x, y, n); }
export function scale_f32(alpha: f32, x: usize, y: usize, n: i32): void { axpyOrScale(false, true, alpha, x, y, n); }
export function scale_f32_ref(alpha: f32, x: usize, y: usize, n: i32): void { axpyOrScale(false, false, alpha, x, y, n); }

export function fill_f32(y: usize, value: f32, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    let v = f32x4.splat(value);
    for (; i + 16 <= n; i += 16) {
      let o = y + (<usize>i << 2);
      v128.store(o, v); v128.store(o, v, 16); v128.store(o, v, 32); v128.store(o, v, 48);
    }
    for (; i + 4 <= n; i += 4) v128.store(y + (<usize>i << 2), v);
  }
  for (; i < n; i++) store<f32>(y + (<usize>i << 2), value);
}

export function fill_f32_ref(y: usize, value: f32, n: i32): void {
  for (let i = 0; i < n; i++) store<f32>(y + (<usize>i << 2), value);
}

export function copy_f32(x: usize, y: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 16 <= n; i += 16) {
      let o = <usize>i << 2;
      let r0 = v128.load(x + o), r1 = v128.load(x + o, 16), r2 = v128.load(x + o, 32), r3 = v128.load(x + o, 48);
      v128.store(y + o, r0); v128.store(y + o, r1, 16); v128.store(y + o, r2, 32); v128.store(y + o, r3, 48);
    }
    for (; i + 4 <= n; i += 4) v128.store(y + (<usize>i << 2), v128.load(x + (<usize>i << 2)));
  }
  for (; i < n; i++) store<f32>(y + (<usize>i << 2), load<f32>(x + (<usize>i << 2)));
}

export function copy_f32_ref(x: usize, y: usize, n: i32): void {
  for (let i = 0; i < n; i++) store<f32>(y + (<usize>i << 2), load<f32>(x + (<usize>i << 2)));
}

// ---------------------------------------------------------------------------------------------------------
// Activations. kind 0 relu, 1 relu6, 2 leaky relu (negative slope alpha).
// Backward: t is the forward input x or the forward output y (same mask for relu and relu6, and for leaky
// when alpha > 0): dx (+)= dy · f'(t), f' as PyTorch (relu: t > 0; relu6: 0 < t < 6; leaky: t > 0 ? 1 : alpha).

// @ts-ignore: decorator
@inline function act1(kind: i32, x: f32, alpha: f32): f32 {
  if (kind == 0) return max<f32>(x, 0);
  if (kind == 1) return min<f32>(max<f32>(x, 0), 6);
  return x > 0 ? x : x * alpha;
}
// @ts-ignore: decorator
@inline function act4(kind: i32, x: v128, alpha: v128): v128 {
  let z = f32x4.splat(0);
  if (kind == 0) return f32x4.max(x, z);
  if (kind == 1) return f32x4.min(f32x4.max(x, z), f32x4.splat(6));
  return v128.bitselect(x, f32x4.mul(x, alpha), f32x4.gt(x, z));
}
// @ts-ignore: decorator
@inline function dact1(kind: i32, t: f32, dy: f32, alpha: f32): f32 {
  if (kind == 0) return t > 0 ? dy : 0;
  if (kind == 1) return t > 0 && t < 6 ? dy : 0;
  return t > 0 ? dy : dy * alpha;
}
// @ts-ignore: decorator
@inline function dact4(kind: i32, t: v128, dy: v128, alpha: v128): v128 {
  let z = f32x4.splat(0);
  if (kind == 0) return v128.and(dy, f32x4.gt(t, z));
  if (kind == 1) return v128.and(dy, v128.and(f32x4.gt(t, z), f32x4.lt(t, f32x4.splat(6))));
  return v128.bitselect(dy, f32x4.mul(dy, alpha), f32x4.gt(t, z));
}

// @ts-ignore: decorator
@inline function actFwd(kind: i32, x: usize, y: usize, n: i32, alpha: f32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    let va = f32x4.splat(alpha);
    for (; i + 16 <= n; i += 16) {
      let o = <usize>i << 2;
      let r0 = act4(kind, v128.load(x + o), va), r1 = act4(kind, v128.load(x + o, 16), va);
      let r2 = act4(kind, v128.load(x + o, 32), va), r3 = act4(kind, v128.load(x + o, 48), va);
      v128.store(y + o, r0); v128.store(y + o, r1, 16); v128.store(y + o, r2, 32); v128.store(y + o, r3, 48);
    }
    for (; i + 4 <= n; i += 4) {
      let o = <usize>i << 2;
      v128.store(y + o, act4(kind, v128.load(x + o), va));
    }
  }
  for (; i < n; i++) {
    let o = <usize>i << 2;
    store<f32>(y + o, act1(kind, load<f32>(x + o), alpha));
  }
}

// @ts-ignore: decorator
@inline function actBwd(kind: i32, t: usize, dy: usize, dx: usize, n: i32, alpha: f32, accumulate: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    let va = f32x4.splat(alpha);
    if (accumulate) {
      for (; i + 4 <= n; i += 4) {
        let o = <usize>i << 2;
        v128.store(dx + o, f32x4.add(v128.load(dx + o), dact4(kind, v128.load(t + o), v128.load(dy + o), va)));
      }
    } else {
      for (; i + 16 <= n; i += 16) {
        let o = <usize>i << 2;
        let r0 = dact4(kind, v128.load(t + o), v128.load(dy + o), va);
        let r1 = dact4(kind, v128.load(t + o, 16), v128.load(dy + o, 16), va);
        let r2 = dact4(kind, v128.load(t + o, 32), v128.load(dy + o, 32), va);
        let r3 = dact4(kind, v128.load(t + o, 48), v128.load(dy + o, 48), va);
        v128.store(dx + o, r0); v128.store(dx + o, r1, 16); v128.store(dx + o, r2, 32); v128.store(dx + o, r3, 48);
      }
      for (; i + 4 <= n; i += 4) {
        let o = <usize>i << 2;
        v128.store(dx + o, dact4(kind, v128.load(t + o), v128.load(dy + o), va));
      }
    }
  }
  for (; i < n; i++) {
    let o = <usize>i << 2;
    let g = dact1(kind, load<f32>(t + o), load<f32>(dy + o), alpha);
    store<f32>(dx + o, accumulate ? load<f32>(dx + o) + g : g);
  }
}

// Dispatch on kind outside the loops: each kind gets its own specialised loop.
export function act_f32_fwd(kind: i32, x: usize, y: usize, n: i32, alpha: f32): void {
  if (kind == 0) actFwd(0, x, y, n, alpha);
  else if (kind == 1) actFwd(1, x, y, n, alpha);
  else actFwd(2, x, y, n, alpha);
}

export function act_f32_fwd_ref(kind: i32, x: usize, y: usize, n: i32, alpha: f32): void {
  for (let i = 0; i < n; i++) {
    let o = <usize>i << 2;
    store<f32>(y + o, act1(kind, load<f32>(x + o), alpha));
  }
}

export function act_f32_bwd(kind: i32, t: usize, dy: usize, dx: usize, n: i32, alpha: f32, accumulate: i32): void {
  if (kind == 0) actBwd(0, t, dy, dx, n, alpha, accumulate);
  else if (kind == 1) actBwd(1, t, dy, dx, n, alpha, accumulate);
  else actBwd(2, t, dy, dx, n, alpha, accumulate);
}

export function act_f32_bwd_ref(kind: i32, t: usize, dy: usize, dx: usize, n: i32, alpha: f32, accumulate: i32): void {
  for (let i = 0; i < n; i++) {
    let o = <usize>i << 2;
    let g = dact1(kind, load<f32>(t + o), load<f32>(dy + o), alpha);
    store<f32>(dx + o, accumulate ? load<f32>(dx + o) + g : g);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Masks (u8, 0 = drop/pruned, anything else = keep).
// mul_mask: y = mask ? x·scale : 0. Dropout backward (scale 1/(1−p)), pruning (scale 1), in place allowed.

export function mul_mask_f32(x: usize, mask: usize, y: usize, n: i32, scale: f32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    let vs = f32x4.splat(scale);
    let z = i8x16.splat(0);
    for (; i + 16 <= n; i += 16) {
      let o = <usize>i << 2;
      let m8 = i8x16.ne(v128.load(mask + i), z);
      let lo = i16x8.extend_low_i8x16_s(m8), hi = i16x8.extend_high_i8x16_s(m8);
      let r0 = v128.and(f32x4.mul(v128.load(x + o), vs), i32x4.extend_low_i16x8_s(lo));
      let r1 = v128.and(f32x4.mul(v128.load(x + o, 16), vs), i32x4.extend_high_i16x8_s(lo));
      let r2 = v128.and(f32x4.mul(v128.load(x + o, 32), vs), i32x4.extend_low_i16x8_s(hi));
      let r3 = v128.and(f32x4.mul(v128.load(x + o, 48), vs), i32x4.extend_high_i16x8_s(hi));
      v128.store(y + o, r0); v128.store(y + o, r1, 16); v128.store(y + o, r2, 32); v128.store(y + o, r3, 48);
    }
  }
  for (; i < n; i++) {
    let o = <usize>i << 2;
    store<f32>(y + o, load<u8>(mask + i) ? load<f32>(x + o) * scale : 0);
  }
}

export function mul_mask_f32_ref(x: usize, mask: usize, y: usize, n: i32, scale: f32): void {
  for (let i = 0; i < n; i++) {
    let o = <usize>i << 2;
    store<f32>(y + o, load<u8>(mask + i) ? load<f32>(x + o) * scale : 0);
  }
}

// Dropout RNG: counter-based, so element i's draw does not depend on the others and the SIMD path computes
// 4 draws at once with the same bits as the scalar path. h(i) = mix(mix(i + k1) ^ k2) with the keys derived
// from the 32-bit seed, mix = a 32-bit integer finaliser (xor-shift / multiply). Element i is kept when
// (h >>> 8) >= thr, thr = round(p · 2^24): keep probability 1 − thr/2^24.

// @ts-ignore: decorator
@inline function mix1(x: u32): u32 {
  x ^= x >>> 16; x *= 0x7feb352d; x ^= x >>> 15; x *= 0x846ca68b; x ^= x >>> 16;
  return x;
}
// @ts-ignore: decorator
@inline function mix4(x: v128): v128 {
  x = v128.xor(x, i32x4.shr_u(x, 16)); x = i32x4.mul(x, i32x4.splat(0x7feb352d));
  x = v128.xor(x, i32x4.shr_u(x, 15)); x = i32x4.mul(x, i32x4.splat(<i32>0x846ca68b));
  return v128.xor(x, i32x4.shr_u(x, 16));
}
// @ts-ignore: decorator
@inline function key1(seed: u32): u32 { return mix1(seed ^ 0x9e3779b9); }
// @ts-ignore: decorator
@inline function key2(seed: u32): u32 { return mix1(seed + 0x632be5ab); }
// @ts-ignore: decorator
@inline function keep1(i: i32, k1: u32, k2: u32, thr: u32): bool {
  return (mix1(mix1(<u32>i + k1) ^ k2) >>> 8) >= thr;
}
// @ts-ignore: decorator
@inline function keep4(vi: v128, k1: v128, k2: v128, thr: v128): v128 {
  return i32x4.ge_s(i32x4.shr_u(mix4(v128.xor(mix4(i32x4.add(vi, k1)), k2)), 8), thr);
}

// Dropout forward: writes mask[i] ∈ {0, 1} and y = mask ? x / (1 − p) : 0 (y = 0 everywhere when p = 1).
// p in [0, 1]; seed any 32-bit value (use a fresh one per step).
export function dropout_f32(x: usize, y: usize, mask: usize, n: i32, p: f32, seed: u32): void {
  let thr = <u32>nearest<f64>(<f64>p * 16777216.0);
  let scale: f32 = p < 1 ? <f32>(1.0 / (1.0 - <f64>p)) : 0;
  let k1 = key1(seed), k2 = key2(seed);
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    let vk1 = i32x4.splat(k1), vk2 = i32x4.splat(k2), vt = i32x4.splat(thr), vs = f32x4.splat(scale);
    let one = i8x16.splat(1);
    let vi = i32x4(0, 1, 2, 3);
    let four = i32x4.splat(4);
    for (; i + 16 <= n; i += 16) {
      let m0 = keep4(vi, vk1, vk2, vt); vi = i32x4.add(vi, four);
      let m1 = keep4(vi, vk1, vk2, vt); vi = i32x4.add(vi, four);
      let m2 = keep4(vi, vk1, vk2, vt); vi = i32x4.add(vi, four);
      let m3 = keep4(vi, vk1, vk2, vt); vi = i32x4.add(vi, four);
      v128.store(mask + i, v128.and(i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(m0, m1), i16x8.narrow_i32x4_s(m2, m3)), one));
      let o = <usize>i << 2;
      let r0 = v128.and(f32x4.mul(v128.load(x + o), vs), m0);
      let r1 = v128.and(f32x4.mul(v128.load(x + o, 16), vs), m1);
      let r2 = v128.and(f32x4.mul(v128.load(x + o, 32), vs), m2);
      let r3 = v128.and(f32x4.mul(v128.load(x + o, 48), vs), m3);
      v128.store(y + o, r0); v128.store(y + o, r1, 16); v128.store(y + o, r2, 32); v128.store(y + o, r3, 48);
    }
  }
  for (; i < n; i++) {
    let k = keep1(i, k1, k2, thr);
    store<u8>(mask + i, k ? 1 : 0);
    let o = <usize>i << 2;
    store<f32>(y + o, k ? load<f32>(x + o) * scale : 0);
  }
}

export function dropout_f32_ref(x: usize, y: usize, mask: usize, n: i32, p: f32, seed: u32): void {
  let thr = <u32>nearest<f64>(<f64>p * 16777216.0);
  let scale: f32 = p < 1 ? <f32>(1.0 / (1.0 - <f64>p)) : 0;
  let k1 = key1(seed), k2 = key2(seed);
  for (let i = 0; i < n; i++) {
    let k = keep1(i, k1, k2, thr);
    store<u8>(mask + i, k ? 1 : 0);
    let o = <usize>i << 2;
    store<f32>(y + o, k ? load<f32>(x + o) * scale : 0);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Reductions. sum and sum of squares accumulate in f64 ("order": the fast path keeps 4 f64 lanes);
// max and the min/max observers are exact in any order.

// Σ x (sq = false) or Σ x² (sq = true) in f64; fast: 4 f64 lanes then the tail, ref: in order.
// @ts-ignore: decorator
@inline function sumPow(x: usize, n: i32, sq: bool, fast: bool): f64 {
  let i = 0;
  let s: f64 = 0;
  if (ASC_FEATURE_SIMD) {
    if (fast) {
      let a0 = f64x2.splat(0), a1 = f64x2.splat(0);
      for (; i + 4 <= n; i += 4) {
        let v = v128.load(x + (<usize>i << 2));
        let l = f64x2.promote_low_f32x4(v), h = f64x2.promote_low_f32x4(f32x4.shuffle(v, v, 2, 3, 2, 3));
        a0 = f64x2.add(a0, sq ? f64x2.mul(l, l) : l);
        a1 = f64x2.add(a1, sq ? f64x2.mul(h, h) : h);
      }
      a0 = f64x2.add(a0, a1);
      s = f64x2.extract_lane(a0, 0) + f64x2.extract_lane(a0, 1);
    }
  }
  for (; i < n; i++) { let v = <f64>load<f32>(x + (<usize>i << 2)); s += sq ? v * v : v; }
  return s;
}

export function sum_f32(x: usize, n: i32): f64 { return sumPow(x, n, false, true); }
export function sum_f32_ref(x: usize, n: i32): f64 { return sumPow(x, n, false, false); }
export function sumsq_f32(x: usize, n: i32): f64 { return sumPow(x, n, true, true); }
export function sumsq_f32_ref(x: usize, n: i32): f64 { return sumPow(x, n, true, false); }

export function max_f32(x: usize, n: i32): f32 {
  let i = 0;
  let m: f32 = -Infinity;
  if (ASC_FEATURE_SIMD) {
    let v = f32x4.splat(-Infinity);
    for (; i + 4 <= n; i += 4) v = f32x4.max(v, v128.load(x + (<usize>i << 2)));
    m = max<f32>(max<f32>(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1)),
                 max<f32>(f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3)));
  }
  for (; i < n; i++) m = max<f32>(m, load<f32>(x + (<usize>i << 2)));
  return m;
}

export function max_f32_ref(x: usize, n: i32): f32 {
  let m: f32 = -Infinity;
  for (let i = 0; i < n; i++) m = max<f32>(m, load<f32>(x + (<usize>i << 2)));
  return m;
}

// Min/max observer over the whole tensor: out[0] = min, out[1] = max (accumulate != 0: merged with out).
export function minmax_f32(x: usize, n: i32, out: usize, accumulate: i32): void {
  let lo: f32 = accumulate ? load<f32>(out) : Infinity;
  let hi: f32 = accumulate ? load<f32>(out, 4) : -Infinity;
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    let vl = f32x4.splat(lo), vh = f32x4.splat(hi);
    for (; i + 4 <= n; i += 4) {
      let v = v128.load(x + (<usize>i << 2));
      vl = f32x4.min(vl, v); vh = f32x4.max(vh, v);
    }
    lo = min<f32>(min<f32>(f32x4.extract_lane(vl, 0), f32x4.extract_lane(vl, 1)),
                  min<f32>(f32x4.extract_lane(vl, 2), f32x4.extract_lane(vl, 3)));
    hi = max<f32>(max<f32>(f32x4.extract_lane(vh, 0), f32x4.extract_lane(vh, 1)),
                  max<f32>(f32x4.extract_lane(vh, 2), f32x4.extract_lane(vh, 3)));
  }
  for (; i < n; i++) { let v = load<f32>(x + (<usize>i << 2)); lo = min<f32>(lo, v); hi = max<f32>(hi, v); }
  store<f32>(out, lo); store<f32>(out, hi, 4);
}

export function minmax_f32_ref(x: usize, n: i32, out: usize, accumulate: i32): void {
  let lo: f32 = accumulate ? load<f32>(out) : Infinity;
  let hi: f32 = accumulate ? load<f32>(out, 4) : -Infinity;
  for (let i = 0; i < n; i++) { let v = load<f32>(x + (<usize>i << 2)); lo = min<f32>(lo, v); hi = max<f32>(hi, v); }
  store<f32>(out, lo); store<f32>(out, hi, 4);
}

// Per-channel min/max observer: mins[j], maxs[j] over x[o,j,i] (accumulate != 0: merged).
export function minmax_channel_f32(x: usize, outer: i32, c: i32, inner: i32, mins: usize, maxs: usize, accumulate: i32): void {
  if (ASC_FEATURE_SIMD) {
    if (inner == 1) {
      let j = 0;
      let rs = <usize>c << 2;
      for (; j + 4 <= c; j += 4) {
        let q = <usize>j << 2;
        let vl = accumulate ? v128.load(mins + q) : f32x4.splat(Infinity);
        let vh = accumulate ? v128.load(maxs + q) : f32x4.splat(-Infinity);
        let p = x + q;
        for (let o = 0; o < outer; o++) { let v = v128.load(p); vl = f32x4.min(vl, v); vh = f32x4.max(vh, v); p += rs; }
        v128.store(mins + q, vl); v128.store(maxs + q, vh);
      }
      for (; j < c; j++) {
        let q = <usize>j << 2;
        let lo: f32 = accumulate ? load<f32>(mins + q) : Infinity;
        let hi: f32 = accumulate ? load<f32>(maxs + q) : -Infinity;
        for (let o = 0; o < outer; o++) { let v = load<f32>(x + <usize>o * rs + q); lo = min<f32>(lo, v); hi = max<f32>(hi, v); }
        store<f32>(mins + q, lo); store<f32>(maxs + q, hi);
      }
      return;
    }
    for (let j = 0; j < c; j++) {
      let q = <usize>j << 2;
      let lo: f32 = accumulate ? load<f32>(mins + q) : Infinity;
      let hi: f32 = accumulate ? load<f32>(maxs + q) : -Infinity;
      let vl = f32x4.splat(lo), vh = f32x4.splat(hi);
      for (let o = 0; o < outer; o++) {
        let base = x + ((<usize>o * c + j) * inner << 2);
        let i = 0;
        for (; i + 4 <= inner; i += 4) { let v = v128.load(base + (<usize>i << 2)); vl = f32x4.min(vl, v); vh = f32x4.max(vh, v); }
        for (; i < inner; i++) { let v = load<f32>(base + (<usize>i << 2)); lo = min<f32>(lo, v); hi = max<f32>(hi, v); }
      }
      lo = min<f32>(min<f32>(min<f32>(f32x4.extract_lane(vl, 0), f32x4.extract_lane(vl, 1)),
                             min<f32>(f32x4.extract_lane(vl, 2), f32x4.extract_lane(vl, 3))), lo);
      hi = max<f32>(max<f32>(max<f32>(f32x4.extract_lane(vh, 0), f32x4.extract_lane(vh, 1)),
                             max<f32>(f32x4.extract_lane(vh, 2), f32x4.extract_lane(vh, 3))), hi);
      store<f32>(mins + q, lo); store<f32>(maxs + q, hi);
    }
  } else {
    minmax_channel_f32_ref(x, outer, c, inner, mins, maxs, accumulate);
  }
}

export function minmax_channel_f32_ref(x: usize, outer: i32, c: i32, inner: i32, mins: usize, maxs: usize, accumulate: i32): void {
  for (let j = 0; j < c; j++) {
    let q = <usize>j << 2;
    let lo: f32 = accumulate ? load<f32>(mins + q) : Infinity;
    let hi: f32 = accumulate ? load<f32>(maxs + q) : -Infinity;
    for (let o = 0; o < outer; o++) {
      let base = x + ((<usize>o * c + j) * inner << 2);
      for (let i = 0; i < inner; i++) { let v = load<f32>(base + (<usize>i << 2)); lo = min<f32>(lo, v); hi = max<f32>(hi, v); }
    }
    store<f32>(mins + q, lo); store<f32>(maxs + q, hi);
  }
}

// Argmax of each row of x[m×n] into out (int32[m]): the first index of the row maximum (NaN never wins unless
// it is the first element, as in the reference loop).
export function argmax_rows_f32(x: usize, m: i32, n: i32, out: usize): void {
  if (ASC_FEATURE_SIMD) {
    for (let r = 0; r < m; r++) {
      let row = x + (<usize>r * n << 2);
      let best = rowArgmax(row, n);
      store<i32>(out + (<usize>r << 2), best);
    }
  } else {
    argmax_rows_f32_ref(x, m, n, out);
  }
}

function rowArgmax(row: usize, n: i32): i32 {
  let j = 0;
  let mx: f32 = -Infinity;
  let v = f32x4.splat(-Infinity);
  for (; j + 4 <= n; j += 4) v = f32x4.max(v, v128.load(row + (<usize>j << 2)));
  mx = max<f32>(max<f32>(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1)),
                max<f32>(f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3)));
  for (; j < n; j++) mx = max<f32>(mx, load<f32>(row + (<usize>j << 2)));
  let t = load<f32>(row);
  if (mx == mx && t == t) {                      // no NaN anywhere: first index equal to the maximum
    for (let k = 0; k < n; k++) if (load<f32>(row + (<usize>k << 2)) == mx) return k;
  }
  return rowArgmaxRef(row, n);
}

function rowArgmaxRef(row: usize, n: i32): i32 {
  let best = load<f32>(row);
  let bi = 0;
  for (let k = 1; k < n; k++) {
    let v = load<f32>(row + (<usize>k << 2));
    if (v > best) { best = v; bi = k; }
  }
  return bi;
}

export function argmax_rows_f32_ref(x: usize, m: i32, n: i32, out: usize): void {
  for (let r = 0; r < m; r++) store<i32>(out + (<usize>r << 2), rowArgmaxRef(x + (<usize>r * n << 2), n));
}

// ---------------------------------------------------------------------------------------------------------
// Fake quantisation (QAT), as PyTorch's fake_quantize_per_{tensor,channel}_affine except that x is divided by
// the scale (x / s, correctly rounded) rather than multiplied by a rounded 1/s:
//   t = roundHalfEven(x / s);  q = clamp(t + zp, qmin, qmax);  y = (q − zp) · s
// computed as y = clamp(t, qmin − zp, qmax − zp) · s (identical: the bounds are integers).
// Backward (straight-through estimator): dx (+)= dy where qmin ≤ t + zp ≤ qmax, else 0.
// Per tensor: one scale s and zero point zp. Per channel: symmetric (zp 0), scales[j] over the channel
// axis of the (outer, c, inner) layout.

// @ts-ignore: decorator
@inline function fq1(x: f32, s: f32, lo: f32, hi: f32): f32 {
  let t = nearest<f32>(x / s);
  t = t < lo ? lo : t;          // = f32x4.pmax(t, lo)
  t = hi < t ? hi : t;          // = f32x4.pmin(t, hi)
  return t * s;
}
// @ts-ignore: decorator
@inline function fq4(x: v128, s: v128, lo: v128, hi: v128): v128 {
  return f32x4.mul(f32x4.pmin(f32x4.pmax(f32x4.nearest(f32x4.div(x, s)), lo), hi), s);
}
// @ts-ignore: decorator
@inline function ste1(x: f32, dy: f32, s: f32, lo: f32, hi: f32): f32 {
  let t = nearest<f32>(x / s);
  return t >= lo && t <= hi ? dy : 0;
}
// @ts-ignore: decorator
@inline function ste4(x: v128, dy: v128, s: v128, lo: v128, hi: v128): v128 {
  let t = f32x4.nearest(f32x4.div(x, s));
  return v128.and(dy, v128.and(f32x4.ge(t, lo), f32x4.le(t, hi)));
}

export function fake_quant_f32_fwd(x: usize, y: usize, n: i32, scale: f32, zp: i32, qmin: i32, qmax: i32): void {
  fqTensor(false, true, x, 0, y, n, scale, zp, qmin, qmax, 0);
}

export function fake_quant_f32_fwd_ref(x: usize, y: usize, n: i32, scale: f32, zp: i32, qmin: i32, qmax: i32): void {
  fqTensor(false, false, x, 0, y, n, scale, zp, qmin, qmax, 0);
}

export function fake_quant_f32_bwd(x: usize, dy: usize, dx: usize, n: i32, scale: f32, zp: i32, qmin: i32, qmax: i32, accumulate: i32): void {
  fqTensor(true, true, x, dy, dx, n, scale, zp, qmin, qmax, accumulate);
}

export function fake_quant_f32_bwd_ref(x: usize, dy: usize, dx: usize, n: i32, scale: f32, zp: i32, qmin: i32, qmax: i32, accumulate: i32): void {
  fqTensor(true, false, x, dy, dx, n, scale, zp, qmin, qmax, accumulate);
}

// Per-tensor fake quantisation over n floats, forward (y = fq(x)) or backward (y = dx (+)= ste(x, dy)), on the
// integer grid [qmin − zp, qmax − zp]. `bwd` and `simd` are constants after inlining: the fast paths run f32x4
// while 4 remain, then f32; the _ref twins (simd = false) one plain f32 loop.
// @ts-ignore: decorator
@inline function fqTensor(bwd: bool, simd: bool, x: usize, dy: usize, y: usize, n: i32, scale: f32, zp: i32, qmin: i32, qmax: i32, accumulate: i32): void {
  let lo = <f32>(qmin - zp), hi = <f32>(qmax - zp);
  let i = 0;
  if (ASC_FEATURE_SIMD && simd) {
    let vs = f32x4.splat(scale), vl = f32x4.splat(lo), vh = f32x4.splat(hi);
    for (; i + 4 <= n; i += 4) fqOut4(bwd, x, dy, y, <usize>i << 2, vs, vl, vh, accumulate);
  }
  for (; i < n; i++) fqOut1(bwd, x, dy, y, <usize>i << 2, scale, lo, hi, accumulate);
}

// Per-channel fake quantisation, forward (y = fq(x)) and backward (dx (+)= ste(x, dy)): one walk over
// [outer][c][inner] for both, specialised at compile time (bwd is a constant after inlining).
// @ts-ignore: decorator
@inline function fqOut4(bwd: bool, x: usize, dy: usize, y: usize, q: usize, s: v128, vl: v128, vh: v128, accumulate: i32): void {
  if (!bwd) { v128.store(y + q, fq4(v128.load(x + q), s, vl, vh)); return; }
  let g = ste4(v128.load(x + q), v128.load(dy + q), s, vl, vh);
  v128.store(y + q, accumulate ? f32x4.add(v128.load(y + q), g) : g);
}

// @ts-ignore: decorator
@inline function fqOut1(bwd: bool, x: usize, dy: usize, y: usize, q: usize, s: f32, lo: f32, hi: f32, accumulate: i32): void {
  if (!bwd) { store<f32>(y + q, fq1(load<f32>(x + q), s, lo, hi)); return; }
  let g = ste1(load<f32>(x + q), load<f32>(dy + q), s, lo, hi);
  store<f32>(y + q, accumulate ? load<f32>(y + q) + g : g);
}

// @ts-ignore: decorator
@inline function fqChannelRef(bwd: bool, x: usize, dy: usize, y: usize, outer: i32, c: i32, inner: i32, scales: usize,
                              qmin: i32, qmax: i32, accumulate: i32): void {
  let lo = <f32>qmin, hi = <f32>qmax;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < c; j++) {
      let s = load<f32>(scales + (<usize>j << 2));
      let base = (<usize>o * c + j) * inner << 2;
      for (let i = 0; i < inner; i++) fqOut1(bwd, x, dy, y, base + (<usize>i << 2), s, lo, hi, accumulate);
    }
  }
}

// @ts-ignore: decorator
@inline function fqChannel(bwd: bool, x: usize, dy: usize, y: usize, outer: i32, c: i32, inner: i32, scales: usize,
                           qmin: i32, qmax: i32, accumulate: i32): void {
  if (ASC_FEATURE_SIMD) {
    let lo = <f32>qmin, hi = <f32>qmax;
    let vl = f32x4.splat(lo), vh = f32x4.splat(hi);
    for (let o = 0; o < outer; o++) {
      if (inner == 1) {
        let row = <usize>o * c << 2;
        let j = 0;
        for (; j + 4 <= c; j += 4) fqOut4(bwd, x, dy, y, row + (<usize>j << 2), v128.load(scales + (<usize>j << 2)), vl, vh, accumulate);
        for (; j < c; j++) fqOut1(bwd, x, dy, y, row + (<usize>j << 2), load<f32>(scales + (<usize>j << 2)), lo, hi, accumulate);
      } else {
        for (let j = 0; j < c; j++) {
          let s = load<f32>(scales + (<usize>j << 2));
          let vs = f32x4.splat(s);
          let base = (<usize>o * c + j) * inner << 2;
          let i = 0;
          for (; i + 4 <= inner; i += 4) fqOut4(bwd, x, dy, y, base + (<usize>i << 2), vs, vl, vh, accumulate);
          for (; i < inner; i++) fqOut1(bwd, x, dy, y, base + (<usize>i << 2), s, lo, hi, accumulate);
        }
      }
    }
  } else {
    fqChannelRef(bwd, x, dy, y, outer, c, inner, scales, qmin, qmax, accumulate);
  }
}

export function fake_quant_channel_f32_fwd(x: usize, y: usize, outer: i32, c: i32, inner: i32, scales: usize, qmin: i32, qmax: i32): void {
  fqChannel(false, x, 0, y, outer, c, inner, scales, qmin, qmax, 0);
}

export function fake_quant_channel_f32_fwd_ref(x: usize, y: usize, outer: i32, c: i32, inner: i32, scales: usize, qmin: i32, qmax: i32): void {
  fqChannelRef(false, x, 0, y, outer, c, inner, scales, qmin, qmax, 0);
}

export function fake_quant_channel_f32_bwd(x: usize, dy: usize, dx: usize, outer: i32, c: i32, inner: i32, scales: usize,
                                           qmin: i32, qmax: i32, accumulate: i32): void {
  fqChannel(true, x, dy, dx, outer, c, inner, scales, qmin, qmax, accumulate);
}

export function fake_quant_channel_f32_bwd_ref(x: usize, dy: usize, dx: usize, outer: i32, c: i32, inner: i32, scales: usize,
                                               qmin: i32, qmax: i32, accumulate: i32): void {
  fqChannelRef(true, x, dy, dx, outer, c, inner, scales, qmin, qmax, accumulate);
}
