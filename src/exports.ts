// The raw exports of every build (pointer-level API). Pointers are byte offsets into `memory`.
// Each kernel family's section lists its exports; the AssemblyScript side is assembly/<family>.ts.
type P = number;
type I = number;

export interface KernelExports {
  memory: WebAssembly.Memory;
  qw_alloc(size: I): P;
  qw_free(ptr: P): void;
  qw_memory_bytes(): I;
  requant_row(acc: P, scale: P, n: I, zp: I, qmin: I, qmax: I, out: P): void;
  /** f32 → int8 codes with quantizeInput's rule (round half to even, saturate; NaN → code 0, as in JS). */
  quantize_f32_s8(x: P, n: I, scale: number, zp: I, out: P): void;

  // gemm_s8.ts
  gemm_s8_packed_size(k: I, n: I): I;
  gemm_s8_pack(k: I, n: I, b: P, ldb: I, bias: P, zpA: I, out: P): void;
  gemm_s8_ref(m: I, k: I, n: I, a: P, lda: I, zpA: I, b: P, ldb: I, bias: P, c: P, ldc: I,
              mode: I, scale: P, zp: I, qmin: I, qmax: I): void;
  gemm_s8(m: I, k: I, n: I, a: P, lda: I, packed: P, c: P, ldc: I, mode: I, scale: P, zp: I, qmin: I, qmax: I): void;

  // gemm_f32.ts (C = alpha·op(A)·op(B) + beta·C + bias; trans flags 0/1; bias f32[N] or 0)
  gemm_f32_ref(m: I, k: I, n: I, alpha: number, a: P, lda: I, transA: I, b: P, ldb: I, transB: I,
               beta: number, c: P, ldc: I, bias: P): void;
  gemm_f32(m: I, k: I, n: I, alpha: number, a: P, lda: I, transA: I, b: P, ldb: I, transB: I,
           beta: number, c: P, ldc: I, bias: P): void;
  gemm_f32_packed_size(k: I, n: I): I;
  gemm_f32_pack(k: I, n: I, b: P, ldb: I, transB: I, out: P): void;
  gemm_f32_packed(m: I, k: I, n: I, alpha: number, a: P, lda: I, transA: I, packed: P,
                  beta: number, c: P, ldc: I, bias: P): void;
  // end gemm_f32.ts

  // selftest.ts (host-free self-tests: inputs generated inside WASM, FNV-1a hash of the output returned)
  selftest_gemm_s8(m: I, k: I, n: I, seed: I, mode: I): I;
  selftest_gemm_s8_suite(): I;
  selftest_conv2d_s8(n: I, h: I, w: I, c: I, oc: I, kh: I, kw: I, groups: I, sh: I, sw: I, pt: I, pl: I, dh: I, dw: I,
                     seed: I, mode: I): I;
  selftest_conv2d_s8_suite(): I;

  // sparse.ts (formats built by src/kernels/sparse.ts; idx16 = 1: u16 indices, else u32)
  sparse_f32_ref(m: I, k: I, n: I, x: P, ldx: I, w: P, mask: P, bias: P, y: P, ldy: I): void;
  sparse_s8_ref(m: I, k: I, n: I, x: P, ldx: I, zpA: I, w: P, mask: P, bias: P, y: P, ldy: I,
                mode: I, scale: P, zp: I, qmin: I, qmax: I): void;
  sparse_f32_csr(m: I, k: I, n: I, x: P, ldx: I, cstart: P, idx: P, idx16: I, vals: P, bias: P, y: P, ldy: I): void;
  sparse_f32_rows(m: I, k: I, n: I, g: I, x: P, ldx: I, gstart: P, idx: P, idx16: I, vals: P, bias: P, y: P, ldy: I): void;
  sparse_f32_steps(m: I, k: I, n: I, x: P, ldx: I, qstart: P, kst: P, steps: P, bias: P, y: P, ldy: I): void;
  sparse_s8_steps(m: I, k: I, n: I, x: P, ldx: I, qstart: P, kst: P, steps: P, qbias: P, y: P, ldy: I,
                  mode: I, scale: P, zp: I, qmin: I, qmax: I): void;
  sparse_s8_rows(m: I, k: I, n: I, g: I, x: P, ldx: I, gstart: P, pidx: P, idx16: I, consec: I, wts: P, gbias: P, y: P, ldy: I,
                 mode: I, scale: P, zp: I, qmin: I, qmax: I): void;
  sparse_s8_pairs(m: I, k: I, n: I, x: P, ldx: I, cstart: P, pidx: P, idx16: I, wpair: P, cbias: P, y: P, ldy: I,
                  mode: I, scale: P, zp: I, qmin: I, qmax: I): void;
  // end sparse.ts

  // conv_s8.ts / pool_s8.ts / add_s8.ts (int8 CNN; scale of conv_s8_pack / conv2d_s8_ref: f32[OC])
  conv_s8_packed_size(oc: I, kh: I, kw: I, cg: I, groups: I): I;
  conv_s8_pack(oc: I, kh: I, kw: I, cg: I, groups: I, w: P, bias: P, zpIn: I, scale: P, out: P): void;
  conv2d_s8_ref(n: I, h: I, w: I, c: I, x: P, zpIn: I, oc: I, kh: I, kw: I, groups: I, wts: P, bias: P,
                sh: I, sw: I, pt: I, pl: I, dh: I, dw: I, oh: I, ow: I, y: P, scale: P, zpOut: I, qmin: I, qmax: I): void;
  conv_s8(packed: P, n: I, h: I, w: I, c: I, x: P, zpIn: I, oc: I, kh: I, kw: I, groups: I,
          sh: I, sw: I, pt: I, pl: I, dh: I, dw: I, oh: I, ow: I, y: P, zpOut: I, qmin: I, qmax: I): void;
  /** Rows p0 … p0+rows−1 of an ungrouped conv's [N·OH·OW × KH·KW·C] int8 patch matrix (OHWI k order; padding = zpIn). */
  im2col_s8(p0: I, rows: I, h: I, w: I, c: I, x: P, zpIn: I, kh: I, kw: I,
            sh: I, sw: I, pt: I, pl: I, dh: I, dw: I, oh: I, ow: I, a: P): void;
  max_pool_s8_ref(n: I, h: I, w: I, c: I, x: P, kh: I, kw: I, sh: I, sw: I, pt: I, pl: I, oh: I, ow: I, y: P, qmin: I, qmax: I): void;
  max_pool_s8(n: I, h: I, w: I, c: I, x: P, kh: I, kw: I, sh: I, sw: I, pt: I, pl: I, oh: I, ow: I, y: P, qmin: I, qmax: I): void;
  avg_pool_s8_ref(n: I, h: I, w: I, c: I, x: P, zpIn: I, kh: I, kw: I, sh: I, sw: I, pt: I, pl: I, oh: I, ow: I, y: P,
                  ratio: number, zpOut: I, qmin: I, qmax: I): void;
  avg_pool_s8(n: I, h: I, w: I, c: I, x: P, zpIn: I, kh: I, kw: I, sh: I, sw: I, pt: I, pl: I, oh: I, ow: I, y: P,
              ratio: number, zpOut: I, qmin: I, qmax: I): void;
  global_avg_pool_s8_ref(n: I, h: I, w: I, c: I, x: P, zpIn: I, y: P, ratio: number, zpOut: I, qmin: I, qmax: I): void;
  global_avg_pool_s8(n: I, h: I, w: I, c: I, x: P, zpIn: I, y: P, ratio: number, zpOut: I, qmin: I, qmax: I): void;
  add_s8_ref(len: I, a: P, za: I, ma: number, b: P, zb: I, mb: number, y: P, zo: I, qmin: I, qmax: I): void;
  add_s8(len: I, a: P, za: I, ma: number, b: P, zb: I, mb: number, y: P, zo: I, qmin: I, qmax: I): void;
  // end int8 CNN

  // conv_f32.ts / pool_f32.ts / bn_f32.ts (f32 training kernels; desc = int32 descriptor, see the .ts files)
  conv2d_f32_fwd_ref(desc: P, x: P, w: P, bias: P, y: P): void;
  conv2d_f32_fwd(desc: P, x: P, w: P, bias: P, y: P): void;
  conv2d_f32_bwd_data_ref(desc: P, dy: P, w: P, dx: P, beta: number): void;
  conv2d_f32_bwd_data(desc: P, dy: P, w: P, dx: P, beta: number): void;
  conv2d_f32_bwd_filter_ref(desc: P, x: P, dy: P, dw: P, db: P, beta: number): void;
  conv2d_f32_bwd_filter(desc: P, x: P, dy: P, dw: P, db: P, beta: number): void;
  maxpool2d_f32_fwd_ref(desc: P, x: P, y: P, idx: P): void;
  maxpool2d_f32_fwd(desc: P, x: P, y: P, idx: P): void;
  maxpool2d_f32_bwd_ref(count: I, dy: P, idx: P, dxCount: I, dx: P, beta: number): void;
  maxpool2d_f32_bwd(count: I, dy: P, idx: P, dxCount: I, dx: P, beta: number): void;
  avgpool2d_f32_fwd_ref(desc: P, x: P, y: P): void;
  avgpool2d_f32_fwd(desc: P, x: P, y: P): void;
  avgpool2d_f32_bwd_ref(desc: P, dy: P, dx: P, beta: number): void;
  avgpool2d_f32_bwd(desc: P, dy: P, dx: P, beta: number): void;
  gavgpool_f32_fwd_ref(n: I, hw: I, c: I, x: P, y: P): void;
  gavgpool_f32_fwd(n: I, hw: I, c: I, x: P, y: P): void;
  gavgpool_f32_bwd_ref(n: I, hw: I, c: I, dy: P, dx: P, beta: number): void;
  gavgpool_f32_bwd(n: I, hw: I, c: I, dy: P, dx: P, beta: number): void;
  bn_f32_fwd_train_ref(m: I, c: I, x: P, gamma: P, beta: P, y: P, mean: P, invstd: P, runMean: P, runVar: P,
                       momentum: number, eps: number): void;
  bn_f32_fwd_train(m: I, c: I, x: P, gamma: P, beta: P, y: P, mean: P, invstd: P, runMean: P, runVar: P,
                   momentum: number, eps: number): void;
  bn_f32_fwd_eval_ref(m: I, c: I, x: P, gamma: P, beta: P, y: P, runMean: P, runVar: P, eps: number, mean: P, invstd: P): void;
  bn_f32_fwd_eval(m: I, c: I, x: P, gamma: P, beta: P, y: P, runMean: P, runVar: P, eps: number, mean: P, invstd: P): void;
  bn_f32_bwd_ref(m: I, c: I, x: P, dy: P, mean: P, invstd: P, gamma: P, dx: P, dgamma: P, dbeta: P, training: I, acc: number): void;
  bn_f32_bwd(m: I, c: I, x: P, dy: P, mean: P, invstd: P, gamma: P, dx: P, dgamma: P, dbeta: P, training: I, acc: number): void;
  // end f32 conv / pool / batch-norm

  // eltwise_f32.ts / loss_f32.ts / optim_f32.ts (f32 training: every fast kernel X also has X_ref with the same signature)
  f32_add(a: P, b: P, y: P, n: I): void; f32_add_ref(a: P, b: P, y: P, n: I): void;
  f32_sub(a: P, b: P, y: P, n: I): void; f32_sub_ref(a: P, b: P, y: P, n: I): void;
  f32_mul(a: P, b: P, y: P, n: I): void; f32_mul_ref(a: P, b: P, y: P, n: I): void;
  f32_add_bcast(x: P, v: P, y: P, outer: I, c: I, inner: I): void; f32_add_bcast_ref(x: P, v: P, y: P, outer: I, c: I, inner: I): void;
  f32_mul_bcast(x: P, v: P, y: P, outer: I, c: I, inner: I): void; f32_mul_bcast_ref(x: P, v: P, y: P, outer: I, c: I, inner: I): void;
  f32_sum_bcast(x: P, out: P, outer: I, c: I, inner: I, accumulate: I): void; f32_sum_bcast_ref(x: P, out: P, outer: I, c: I, inner: I, accumulate: I): void;
  f32_axpy(alpha: number, x: P, y: P, n: I): void; f32_axpy_ref(alpha: number, x: P, y: P, n: I): void;
  f32_scale(alpha: number, x: P, y: P, n: I): void; f32_scale_ref(alpha: number, x: P, y: P, n: I): void;
  f32_fill(y: P, value: number, n: I): void; f32_fill_ref(y: P, value: number, n: I): void;
  f32_copy(x: P, y: P, n: I): void; f32_copy_ref(x: P, y: P, n: I): void;
  f32_act(kind: I, x: P, y: P, n: I, alpha: number): void; f32_act_ref(kind: I, x: P, y: P, n: I, alpha: number): void;
  f32_act_bwd(kind: I, t: P, dy: P, dx: P, n: I, alpha: number, accumulate: I): void;
  f32_act_bwd_ref(kind: I, t: P, dy: P, dx: P, n: I, alpha: number, accumulate: I): void;
  f32_mul_mask(x: P, mask: P, y: P, n: I, scale: number): void; f32_mul_mask_ref(x: P, mask: P, y: P, n: I, scale: number): void;
  f32_dropout(x: P, y: P, mask: P, n: I, p: number, seed: I): void; f32_dropout_ref(x: P, y: P, mask: P, n: I, p: number, seed: I): void;
  f32_sum(x: P, n: I): number; f32_sum_ref(x: P, n: I): number;
  f32_sumsq(x: P, n: I): number; f32_sumsq_ref(x: P, n: I): number;
  f32_max(x: P, n: I): number; f32_max_ref(x: P, n: I): number;
  f32_minmax(x: P, n: I, out: P, accumulate: I): void; f32_minmax_ref(x: P, n: I, out: P, accumulate: I): void;
  f32_minmax_channel(x: P, outer: I, c: I, inner: I, mins: P, maxs: P, accumulate: I): void;
  f32_minmax_channel_ref(x: P, outer: I, c: I, inner: I, mins: P, maxs: P, accumulate: I): void;
  f32_argmax_rows(x: P, m: I, n: I, out: P): void; f32_argmax_rows_ref(x: P, m: I, n: I, out: P): void;
  f32_fq(x: P, y: P, n: I, scale: number, zp: I, qmin: I, qmax: I): void; f32_fq_ref(x: P, y: P, n: I, scale: number, zp: I, qmin: I, qmax: I): void;
  f32_fq_bwd(x: P, dy: P, dx: P, n: I, scale: number, zp: I, qmin: I, qmax: I, accumulate: I): void;
  f32_fq_bwd_ref(x: P, dy: P, dx: P, n: I, scale: number, zp: I, qmin: I, qmax: I, accumulate: I): void;
  f32_fq_channel(x: P, y: P, outer: I, c: I, inner: I, scales: P, qmin: I, qmax: I): void;
  f32_fq_channel_ref(x: P, y: P, outer: I, c: I, inner: I, scales: P, qmin: I, qmax: I): void;
  f32_fq_channel_bwd(x: P, dy: P, dx: P, outer: I, c: I, inner: I, scales: P, qmin: I, qmax: I, accumulate: I): void;
  f32_fq_channel_bwd_ref(x: P, dy: P, dx: P, outer: I, c: I, inner: I, scales: P, qmin: I, qmax: I, accumulate: I): void;
  f32_exp(x: P, y: P, n: I): void; f32_exp_ref(x: P, y: P, n: I): void;
  f32_log(x: P, y: P, n: I): void; f32_log_ref(x: P, y: P, n: I): void;
  f32_xent(logits: P, labels: P, m: I, n: I, eps: number, dlogits: P, gscale: number): number;
  f32_xent_ref(logits: P, labels: P, m: I, n: I, eps: number, dlogits: P, gscale: number): number;
  f32_softmax(x: P, y: P, m: I, n: I): void; f32_softmax_ref(x: P, y: P, m: I, n: I): void;
  f32_log_softmax(x: P, y: P, m: I, n: I): void; f32_log_softmax_ref(x: P, y: P, m: I, n: I): void;
  f32_log_softmax_bwd(y: P, dy: P, dx: P, m: I, n: I): void; f32_log_softmax_bwd_ref(y: P, dy: P, dx: P, m: I, n: I): void;
  f32_kl_distill(student: P, teacher: P, m: I, n: I, T: number, dstudent: P, gscale: number, accumulate: I): number;
  f32_kl_distill_ref(student: P, teacher: P, m: I, n: I, T: number, dstudent: P, gscale: number, accumulate: I): number;
  f32_mse(a: P, b: P, n: I, da: P, gscale: number, accumulate: I): number;
  f32_mse_ref(a: P, b: P, n: I, da: P, gscale: number, accumulate: I): number;
  f32_sgd(p: P, g: P, buf: P, mask: P, n: I, lr: number, momentum: number, dampening: number, wd: number, nesterov: I, first: I,
          gscale: number): void;
  f32_sgd_ref(p: P, g: P, buf: P, mask: P, n: I, lr: number, momentum: number, dampening: number, wd: number, nesterov: I, first: I,
              gscale: number): void;
  f32_adam(p: P, g: P, m: P, v: P, mask: P, n: I, beta1: number, beta2: number, eps: number, wd: number, decay: number,
           stepSize: number, bc2sqrt: number, gscale: number): void;
  f32_adam_ref(p: P, g: P, m: P, v: P, mask: P, n: I, beta1: number, beta2: number, eps: number, wd: number, decay: number,
               stepSize: number, bc2sqrt: number, gscale: number): void;
  // end f32 training eltwise / loss / optim

  // hardswish_f32.ts (forward / backward, each with its _ref twin)
  hardswish_f32_fwd(x: P, y: P, n: I): void; hardswish_f32_fwd_ref(x: P, y: P, n: I): void;
  hardswish_f32_bwd(x: P, dy: P, dx: P, n: I, accumulate: I): void; hardswish_f32_bwd_ref(x: P, dy: P, dx: P, n: I, accumulate: I): void;
  // lut_s8.ts: y[i] = table[x[i] + 128]
  lut_s8(x: P, table: P, y: P, n: I): void; lut_s8_ref(x: P, table: P, y: P, n: I): void;
}
