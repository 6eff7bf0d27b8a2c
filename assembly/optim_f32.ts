// f32 optimiser steps, in place over one parameter buffer p[n] with its gradient g[n] (g is not modified),
// following PyTorch's single-tensor formulas (torch.optim.SGD / Adam / AdamW, maximize = False,
// amsgrad = False). Scalars that depend on the step count (bias corrections, AdamW's 1 − lr·wd) are computed
// by the host in f64 and passed as f32; β1, β2 and dampening arrive as f64 so that 1 − β etc. are formed in
// f64 and then rounded, as PyTorch forms them from Python floats before its f32 tensor ops. The results equal
// a JS transcription of those ops in f32 bit for bit (test/optim_f32.test.js; PyTorch's own CPU kernels may
// use FMA, so they can differ from both by an ulp).
// gscale multiplies the gradient first (d = g·gscale when gscale != 1): clipping by global norm fused into the
// step instead of a separate pass over every gradient (same bits as scaling the gradient first).
// mask (u8[n], or 0 for none): where mask[i] == 0 the parameter is set to 0 after the step, so pruned
// weights stay exactly zero (their optimiser state is updated normally and never used).
// Fast and `*_ref` paths perform the same IEEE operations per element (no FMA) and agree bit for bit.

// The gradient a step starts from, d = g·gscale + wd·p, on 4 lanes and on one element.
// @ts-ignore: decorator
@inline function grad4(g: usize, o: usize, vp: v128, gscale: f32, vgs: v128, wd: f32, vwd: v128): v128 {
  let d = v128.load(g + o);
  if (gscale != 1) d = f32x4.mul(d, vgs);
  if (wd != 0) d = f32x4.add(d, f32x4.mul(vwd, vp));
  return d;
}
// @ts-ignore: decorator
@inline function grad1(g: usize, o: usize, vp: f32, gscale: f32, wd: f32): f32 {
  let d = load<f32>(g + o);
  if (gscale != 1) d = d * gscale;
  if (wd != 0) d = d + wd * vp;
  return d;
}

// Stores the stepped parameters, zeroed where mask[i] == 0 (4 lanes from element i / one element).
// @ts-ignore: decorator
@inline function storeMasked4(p: usize, o: usize, vp: v128, mask: usize, i: i32, z8: v128): void {
  if (mask) vp = v128.and(vp, i32x4.ne(i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(v128.load32_zero(mask + i))), z8));
  v128.store(p + o, vp);
}
// @ts-ignore: decorator
@inline function storeMasked1(p: usize, o: usize, vp: f32, mask: usize, i: i32): void {
  if (mask) { if (!load<u8>(mask + i)) vp = 0; }
  store<f32>(p + o, vp);
}

// ---------------------------------------------------------------------------------------------------------
// SGD:   d = g·gscale + wd·p                            (wd != 0)
//        buf = first ? d : momentum·buf + (1 − dampening)·d        (momentum != 0)
//        d = nesterov ? d + momentum·buf : buf
//        p = p − lr·d
// buf may be 0 when momentum == 0. first != 0 on the first step (PyTorch clones d into a fresh buffer).

// @ts-ignore: decorator
@inline function sgdBody(fast: bool, p: usize, g: usize, buf: usize, mask: usize, n: i32, lr: f32, momentum: f32,
                         dampening: f64, wd: f32, nesterov: i32, first: i32, gscale: f32): void {
  let damp1 = <f32>(1 - dampening);
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    if (fast) {
      let vgs = f32x4.splat(gscale), vwd = f32x4.splat(wd), z8 = i32x4.splat(0);   // grad4, storeMasked4
      let vlr = f32x4.splat(lr), vm = f32x4.splat(momentum), vd1 = f32x4.splat(damp1);
      for (; i + 4 <= n; i += 4) {
        let o = <usize>i << 2;
        let vp = v128.load(p + o);
        let d = grad4(g, o, vp, gscale, vgs, wd, vwd);
        if (momentum != 0) {
          let b = first ? d : f32x4.add(f32x4.mul(vm, v128.load(buf + o)), f32x4.mul(vd1, d));
          v128.store(buf + o, b);
          d = nesterov ? f32x4.add(d, f32x4.mul(vm, b)) : b;
        }
        vp = f32x4.sub(vp, f32x4.mul(vlr, d));
        storeMasked4(p, o, vp, mask, i, z8);
      }
    }
  }
  for (; i < n; i++) {
    let o = <usize>i << 2;
    let vp = load<f32>(p + o);
    let d = grad1(g, o, vp, gscale, wd);
    if (momentum != 0) {
      let b = first ? d : momentum * load<f32>(buf + o) + damp1 * d;
      store<f32>(buf + o, b);
      d = nesterov ? d + momentum * b : b;
    }
    vp = vp - lr * d;
    storeMasked1(p, o, vp, mask, i);
  }
}

export function sgd_f32(p: usize, g: usize, buf: usize, mask: usize, n: i32, lr: f32, momentum: f32, dampening: f64,
                        wd: f32, nesterov: i32, first: i32, gscale: f32): void {
  sgdBody(true, p, g, buf, mask, n, lr, momentum, dampening, wd, nesterov, first, gscale);
}
export function sgd_f32_ref(p: usize, g: usize, buf: usize, mask: usize, n: i32, lr: f32, momentum: f32, dampening: f64,
                            wd: f32, nesterov: i32, first: i32, gscale: f32): void {
  sgdBody(false, p, g, buf, mask, n, lr, momentum, dampening, wd, nesterov, first, gscale);
}

// ---------------------------------------------------------------------------------------------------------
// Adam / AdamW (PyTorch):
//   d = g·gscale + wd·p               (Adam's coupled L2 weight decay; pass wd = 0 for AdamW)
//   p = p · decay                     (AdamW's decoupled decay, decay = 1 − lr·weight_decay; 1 for Adam)
//   m = lerp(m, d, 1 − β1)            (PyTorch's lerp: w < 0.5 ? m + w(d − m) : d − (d − m)(1 − w))
//   v = β2·v + (1 − β2)·d²
//   p = p − stepSize · m / (√v / bc2sqrt + eps)
// with stepSize = lr / (1 − β1^t), bc2sqrt = √(1 − β2^t) for step t ≥ 1 (computed by the host).

// @ts-ignore: decorator
@inline function adamBody(fast: bool, p: usize, g: usize, m: usize, v: usize, mask: usize, n: i32, beta1: f64, beta2: f64,
                          eps: f32, wd: f32, decay: f32, stepSize: f32, bc2sqrt: f32, gscale: f32): void {
  let w = <f32>(1 - beta1);            // Python-float arithmetic, then f32 (as PyTorch)
  let w1: f32 = 1 - w;                 // lerp's (1 − weight), in f32
  let lowW = w < 0.5;
  let b2 = <f32>beta2, b2c = <f32>(1 - beta2);
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    if (fast) {
      let vgs = f32x4.splat(gscale), vwd = f32x4.splat(wd), z8 = i32x4.splat(0);   // grad4, storeMasked4
      let vw = f32x4.splat(w), vw1 = f32x4.splat(w1), vb2 = f32x4.splat(b2), vb2c = f32x4.splat(b2c);
      let ve = f32x4.splat(eps), vdec = f32x4.splat(decay), vss = f32x4.splat(stepSize), vbc = f32x4.splat(bc2sqrt);
      for (; i + 4 <= n; i += 4) {
        let o = <usize>i << 2;
        let vp = v128.load(p + o);
        let d = grad4(g, o, vp, gscale, vgs, wd, vwd);
        if (decay != 1) vp = f32x4.mul(vp, vdec);
        let vm = v128.load(m + o);
        let diff = f32x4.sub(d, vm);
        vm = lowW ? f32x4.add(vm, f32x4.mul(vw, diff)) : f32x4.sub(d, f32x4.mul(diff, vw1));
        let vv = f32x4.add(f32x4.mul(v128.load(v + o), vb2), f32x4.mul(f32x4.mul(d, d), vb2c));
        v128.store(m + o, vm); v128.store(v + o, vv);
        let den = f32x4.add(f32x4.div(f32x4.sqrt(vv), vbc), ve);
        vp = f32x4.sub(vp, f32x4.mul(vss, f32x4.div(vm, den)));
        storeMasked4(p, o, vp, mask, i, z8);
      }
    }
  }
  for (; i < n; i++) {
    let o = <usize>i << 2;
    let vp = load<f32>(p + o);
    let d = grad1(g, o, vp, gscale, wd);
    if (decay != 1) vp = vp * decay;
    let vm = load<f32>(m + o);
    let diff = d - vm;
    vm = lowW ? vm + w * diff : d - diff * w1;
    let vv = load<f32>(v + o) * b2 + (d * d) * b2c;
    store<f32>(m + o, vm); store<f32>(v + o, vv);
    let den = sqrt<f32>(vv) / bc2sqrt + eps;
    vp = vp - stepSize * (vm / den);
    storeMasked1(p, o, vp, mask, i);
  }
}

export function adam_f32(p: usize, g: usize, m: usize, v: usize, mask: usize, n: i32, beta1: f64, beta2: f64, eps: f32,
                         wd: f32, decay: f32, stepSize: f32, bc2sqrt: f32, gscale: f32): void {
  adamBody(true, p, g, m, v, mask, n, beta1, beta2, eps, wd, decay, stepSize, bc2sqrt, gscale);
}
export function adam_f32_ref(p: usize, g: usize, m: usize, v: usize, mask: usize, n: i32, beta1: f64, beta2: f64, eps: f32,
                             wd: f32, decay: f32, stepSize: f32, bc2sqrt: f32, gscale: f32): void {
  adamBody(false, p, g, m, v, mask, n, beta1, beta2, eps, wd, decay, stepSize, bc2sqrt, gscale);
}
