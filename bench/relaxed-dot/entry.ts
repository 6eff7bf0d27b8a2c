// The relaxed module of run.js: gemm_s8 as the relaxed build compiles it (assembly/gemm_s8_vnni.ts where vnniDot()
// holds) and the portable two-dot experiment rdot_*. entry-simd.ts is the SIMD128 peer.
export { qw_alloc, qw_free } from '../../assembly/mem';
export { gemm_s8_packed_size, gemm_s8_pack, gemm_s8 } from '../../assembly/gemm_s8';
export { rdot_packed_size, rdot_pack, rdot_gemm } from './gemm_rdot';
export { vnniDot } from '../../assembly/gemm_s8_vnni';
