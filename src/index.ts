// Public entry: `const q = await init({ build: 'auto' })`.
import { loadRuntime, type InitOptions } from './runtime.js';
import { Qwasm } from './qwasm.js';

export async function init(opts: InitOptions = {}): Promise<Qwasm> {
  return new Qwasm(await loadRuntime(opts));
}

export { Qwasm } from './qwasm.js';
export { Runtime, Scope, detect, chooseBuild, BUILDS, type BuildName, type InitOptions, type EngineSupport } from './runtime.js';
export { QwasmError } from './errors.js';
export { resolveRequant, activationRange, requantize, type RequantParams, type Activation } from './quant.js';
export { PackedGemmS8, type GemmS8Options } from './kernels/gemm_s8.js';
export type { KernelExports } from './exports.js';
