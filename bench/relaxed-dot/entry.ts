export { qw_alloc, qw_free } from '../../assembly/mem';
export { gemm_s8_packed_size, gemm_s8_pack, gemm_s8 } from '../../assembly/gemm_s8';
export { rdot_packed_size, rdot_pack, rdot_gemm } from './gemm_rdot';
export { rdot1_probe, rdot1_packed_size, rdot1_pack, rdot1_gemm } from './gemm_rdot1';
