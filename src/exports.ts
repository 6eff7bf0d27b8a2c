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

  // gemm_s8.ts
  gemm_s8_packed_size(k: I, n: I): I;
  gemm_s8_pack(k: I, n: I, b: P, ldb: I, bias: P, zpA: I, out: P): void;
  gemm_s8_ref(m: I, k: I, n: I, a: P, lda: I, zpA: I, b: P, ldb: I, bias: P, c: P, ldc: I,
              mode: I, scale: P, zp: I, qmin: I, qmax: I): void;
  gemm_s8(m: I, k: I, n: I, a: P, lda: I, packed: P, c: P, ldc: I, mode: I, scale: P, zp: I, qmin: I, qmax: I): void;
}
