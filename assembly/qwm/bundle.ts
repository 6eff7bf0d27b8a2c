// Bundles: a .wasm holding this build, a model and an optional input, runnable with no host at all
// (src/deploy/wasm-bundle.ts writes them; layout in assembly/qwm_run.ts's header, "Bundles").
import { E_EMBED, E_NOMEM, NO_OUTPUT } from './format';
import { R_RESULT, R_ROM, memoryEnd, region } from './regions';
import { crc32 } from './crc';
import { classes, inC, inH, inW, qwm_load, qwm_run } from '../qwm_run';

// ---------------------------------------------------------------------------------------------- bundles
export let embedState: i32 = 0;          // 0: not a bundle, 1: payload copied, < 0: error code
export let embModel: usize = 0, embModelLen: u32 = 0, embInput: usize = 0, embInputLen: u32 = 0, embSamples: i32 = 0;
export let resCount: i32 = 0;
export let resPtr: usize = 0;

// The bundle's start function (see the file header). Harmless anywhere else: without the descriptor it does nothing.
export function qwm_embed_init(): void {
  if (embedState != 0) return;
  let end = memoryEnd();
  if (end < 64) return;
  let d = <usize>(end - 32);
  if (load<u32>(d) != 0x424d5751 || load<u32>(d, 4) != 0x314c444e) return;      // "QWMBNDL1"
  let off = load<u32>(d, 8), mlen = load<u32>(d, 12), ilen = load<u32>(d, 16), n = load<u32>(d, 20);
  // the payload must lie above the heap's first bookkeeping (TLSF root and first block headers at __heap_base)
  if (crc32(d, 24) != load<u32>(d, 24) || mlen == 0 || <u64>off < <u64>__heap_base + 4096 || <u64>off + mlen + ilen > <u64>d
      || n > 0x7fffffff) {
    embedState = E_EMBED;
    return;
  }
  let total = <u64>mlen + ilen;
  let dst = region(R_ROM, total);                // initialises TLSF first, then grows beyond its pool
  if (dst == 0) { embedState = E_NOMEM; return; }
  let src = <usize>off;
  let i: usize = 0;
  for (; i + 8 <= <usize>total; i += 8) store<u64>(dst + i, load<u64>(src + i));
  for (; i < <usize>total; i++) store<u8>(dst + i, load<u8>(src + i));
  embModel = dst; embModelLen = mlen;
  embInput = dst + mlen; embInputLen = ilen; embSamples = <i32>n;
  embedState = 1;
}

// Loads the embedded model and runs the embedded input: FNV-1a 32 of the n × classes output codes, shifted right
// by one (so it is never negative), or a negative error code. Without an embedded input: 0 after a good load.
export function qwm_main(): i32 {
  resCount = 0;
  if (embedState <= 0) return embedState == 0 ? E_EMBED : embedState;
  let e = qwm_load(embModel, embModelLen);
  if (e != 0) return e;
  if (embInputLen == 0) return 0;
  let per = inH * inW * inC;
  if (embSamples < 1 || <u64>embSamples * per != <u64>embInputLen) return E_EMBED;
  let m = <u64>embSamples * classes;
  let out = region(R_RESULT, m);
  if (out == 0) return E_NOMEM;
  e = qwm_run(embInput, embSamples, out);
  if (e != 0) return e;
  resPtr = out; resCount = <i32>m;
  let h: u32 = 0x811c9dc5;
  for (let i: usize = 0; i < <usize>m; i++) h = (h ^ <u32>load<u8>(out + i)) * 0x01000193;
  return <i32>(h >>> 1);
}

// Output code i of the last qwm_main run (sample i / classes, class i % classes), or -1000 when there is none.
export function qwm_out(i: i32): i32 {
  if (i < 0 || i >= resCount) return NO_OUTPUT;
  return <i32>load<i8>(resPtr + <usize>i);
}

export function qwm_out_count(): i32 { return resCount; }
