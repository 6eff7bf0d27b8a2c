// Activation planning of the pure-WASM runner, done once at load from the node records.
import { K_DAG, K_FLATTEN, K_LOWRANK, K_RESIDUAL, OP_CHAIN } from './format';
import { DAG_E, DAG_S, DAG_STEPS, DAG_TABLE, STEP_BYTES, S_COUNT, S_E, S_EBEF, S_ELEMS, S_OP, S_S0, S_S1, S_SBEF, S_SS,
  getPtr } from './record';
import { F_KIND, F_OC, F_OH, F_OW, LOWRANK_RANK, RES_BODY, RES_BODY_E, RES_BODY_S, RES_BODY_S0,
  RES_BODY_S1, RES_HAS_SHORTCUT, RES_SC_E, RES_SC_S, RES_SC_S0, RES_SC_S1, RES_SHORTCUT, getf, setf } from './record';
import { nodeRecord } from './reader';

// ---------------------------------------------------------------------------------------------- execution
// Activation memory: every node list (the top level, each residual body and shortcut) owns a frame of two slots
// and alternates its outputs between them — a node reads its input from one slot (or from the list's input) and
// writes the other, so a chain needs only its two largest alternating activations, not all of them. Flatten is
// free (the NHWC rows already are the flattened layout). A residual's body runs in a frame above its list's,
// its shortcut in a frame above the body's (the body's output must live until the join), and the join writes
// the list's next slot; a low-rank layer's middle activation sits just above the frame. Slot sizes are planned
// once at load (per sample; stored as u32: E < 2^25 · 65 even at the deepest nesting); a run of n samples needs at
// most n·E + 16·S bytes (E elements, S buffers, each 16-byte aligned).
export let topS0: u64 = 0, topS1: u64 = 0, topE: u64 = 0, topS: u64 = 0;
export let pS0: u64 = 0, pS1: u64 = 0, pE: u64 = 0, pS: u64 = 0;   // planList's results
export let planIdx: i32 = 0;

export function planList(count: i32): void {
  let s0: u64 = 0, s1: u64 = 0, childE: u64 = 0, childS: u64 = 0;
  let slot = -1;
  for (let i = 0; i < count; i++) {
    let r = nodeRecord(planIdx++);
    let kind = getf(r, F_KIND);
    if (kind == K_FLATTEN) continue;
    if (kind == K_RESIDUAL) {
      planList(getf(r, RES_BODY));
      let bE = pE, bS = pS;
      setf(r, RES_BODY_S0, <i32>pS0); setf(r, RES_BODY_S1, <i32>pS1); setf(r, RES_BODY_E, <i32>pE); setf(r, RES_BODY_S, <i32>pS);
      let sE: u64 = 0, sS: u64 = 0;
      if (getf(r, RES_HAS_SHORTCUT) != 0) {
        planList(getf(r, RES_SHORTCUT));
        sE = pE; sS = pS;
        setf(r, RES_SC_S0, <i32>pS0); setf(r, RES_SC_S1, <i32>pS1); setf(r, RES_SC_E, <i32>pE); setf(r, RES_SC_S, <i32>pS);
      }
      if (bE + sE > childE) childE = bE + sE;
      if (bS + sS > childS) childS = bS + sS;
    } else if (kind == K_DAG) {
      // every step's output keeps its own region of the DAG's frame (any later step may read it): each chain's
      // frame, then each merge's buffer (the last step's output goes to the list's slot instead)
      let steps = getf(r, DAG_STEPS), table = getPtr(r, DAG_TABLE);
      let eb: u64 = 0, sb: u64 = 0;
      for (let i = 0; i < steps; i++) {
        let st = table + <usize>i * STEP_BYTES;
        setf(st, S_EBEF, <i32><u32>eb); setf(st, S_SBEF, <i32><u32>sb);
        if (getf(st, S_OP) == OP_CHAIN) {
          planList(getf(st, S_COUNT));
          setf(st, S_S0, <i32>pS0); setf(st, S_S1, <i32>pS1); setf(st, S_E, <i32>pE); setf(st, S_SS, <i32>pS);
          eb += pE; sb += pS;
        } else if (i < steps - 1) { eb += <u64><u32>getf(st, S_ELEMS); sb += 1; }
      }
      setf(r, DAG_E, <i32><u32>eb); setf(r, DAG_S, <i32><u32>sb);
      if (eb > childE) childE = eb;
      if (sb > childS) childS = sb;
    } else if (kind == K_LOWRANK) {
      if (<u64>getf(r, LOWRANK_RANK) > childE) childE = <u64>getf(r, LOWRANK_RANK);
      if (childS < 1) childS = 1;
    }
    let elems = <u64>getf(r, F_OH) * <u64>getf(r, F_OW) * <u64>getf(r, F_OC);
    slot = slot == 0 ? 1 : 0;
    if (slot == 0) { if (elems > s0) s0 = elems; } else if (elems > s1) s1 = elems;
  }
  pS0 = s0; pS1 = s1; pE = s0 + s1 + childE; pS = 2 + childS;
}

// bytes a frame of (E, S) takes for n samples
// @ts-ignore: decorator
@inline export function frameBytes(n: i32, e: u64, s: u64): u64 { return <u64>n * e + 16 * s; }
