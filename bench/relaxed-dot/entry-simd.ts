// The SIMD128 module of run.js (compiled without relaxed SIMD): gemm_s8 as the simd build has it.
export { qw_alloc, qw_free } from '../../assembly/mem';
export { gemm_s8_packed_size, gemm_s8_pack, gemm_s8 } from '../../assembly/gemm_s8';
