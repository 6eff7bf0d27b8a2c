// Batch-1 latency of the MobileNetV2 pipeline's int8 student (its .qwm on qwasm's int8 kernels) vs the float
// teacher (nsfwjs' MobileNetV2 cut at block_13_expand_relu + GlobalAvgPool + Linear, on the f32 engine), in the
// same process, interleaved rounds (median of round medians): a loaded machine slows both alike — but the f32
// teacher more than the int8 student (measured), so report the load with the figure. The teacher's head
// weights do not change its time: it is re-imported, not read from the report.
//   node bench/mnv2-student-speed.mjs [--student qwasm-report-mobilenetv2/student-int8.qwm] [--input-size 96]
//        [--cut block_13_expand_relu] [--rounds 15] [--runs 30] [--threads N] [--build auto|scalar|simd|relaxed]
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { init, Engine, importTfjs } from '../dist/index.js';
import { decodeQwm } from '../dist/deploy/qwm.js';
import { Int8Model } from '../dist/deploy/int8-model.js';
import { floatProbe, int8Probe, measureLatencies } from '../dist/pipeline/measure.js';

const { values: v } = parseArgs({ options: {
  student: { type: 'string', default: 'qwasm-report-mobilenetv2/student-int8.qwm' }, 'input-size': { type: 'string', default: '96' },
  cut: { type: 'string', default: 'block_13_expand_relu' }, rounds: { type: 'string', default: '15' }, runs: { type: 'string', default: '30' },
  threads: { type: 'string' }, build: { type: 'string', default: 'auto' },
} });
const S = Number(v['input-size']);
const q = await init({ build: v.build, ...(v.threads ? { threads: Number(v.threads) } : {}) });
const graph = decodeQwm(readFileSync(v.student), v.student);
const student = Int8Model.fromGraph(q.rt, graph);
const teacher = importTfjs(new Engine(q.rt), 'nsfwjs:mobilenet_v2', { cut: v.cut, classes: graph.classes, inputSize: S }).model;
teacher.eval();
const load0 = loadavg();
const [t, s] = measureLatencies([floatProbe(teacher, [S, S, 3]), int8Probe(student)], Number(v.rounds), Number(v.runs));
console.log(`CPU: ${cpus()[0]?.model ?? '?'}; build ${q.rt.build}; ${q.rt.threads} thread(s); load ${load0.map((x) => x.toFixed(2)).join(' / ')} → ${loadavg().map((x) => x.toFixed(2)).join(' / ')}`);
console.log(`teacher f32 ${S}×${S}: ${t.toFixed(3)} ms; student int8 ${graph.inputShape.join('×')} (${v.student}): ${s.toFixed(3)} ms; ${(t / s).toFixed(2)}× faster`);
student.dispose(); teacher.dispose();
