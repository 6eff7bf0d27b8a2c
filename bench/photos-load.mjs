// Photo folders at scale: makes a folder of N JPEG photos of mixed sizes from the Tux Paint stamps (random
// scale so the longer side is 200–1200 px, random crops of 60–100 % per side, 1 in 5 with an EXIF orientation
// tag; class = the stamps' top folder), then loads it into a 96 px and a 224 px dataset with loadPhotoFolder
// (sharp): time, images/s, resident memory and the dataset's bytes. Also allocates the uint8 array that 10 000
// photos at 224 px need, to show it fits.
// usage: node bench/photos-load.mjs [--count 1000] [--dir /tmp/qwasm-photos-1000] [--keep]
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { execSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { loadPhotoFolder } from '../dist/data/photos.js';
import { Rng } from '../dist/util/rng.js';

const { values: o } = parseArgs({ options: { count: { type: 'string', default: '1000' }, dir: { type: 'string', default: '/tmp/qwasm-photos-1000' }, keep: { type: 'boolean', default: false } } });
const N = Number(o.count), root = '/usr/share/tuxpaint/stamps';
const sharp = createRequire(import.meta.url)('sharp');
const cpu = execSync("lscpu | grep 'Model name' | sed 's/.*: *//'").toString().trim();
console.log(`${new Date().toISOString().slice(0, 10)}, ${cpu}, ${execSync('nproc').toString().trim()} cores, node ${process.version}, sharp ${sharp.versions.sharp} (libvips ${sharp.versions.vips}, ${sharp.concurrency()} libvips threads)`);

if (!existsSync(o.dir) || readdirSync(o.dir).length === 0) {
  const pngs = readdirSync(root, { recursive: true }).map(String).filter((f) => f.endsWith('.png') && !f.includes('/tux/')).sort();
  const r = new Rng(7);
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const f = pngs[i % pngs.length], cls = f.split('/')[0];
    const meta = await sharp(join(root, f)).metadata();
    const long = 200 + r.int(1001), s = long / Math.max(meta.width, meta.height);
    const w = Math.max(8, Math.round(meta.width * s)), h = Math.max(8, Math.round(meta.height * s));
    const cw = Math.max(8, Math.round(w * (0.6 + 0.4 * r.float()))), ch = Math.max(8, Math.round(h * (0.6 + 0.4 * r.float())));
    mkdirSync(join(o.dir, cls), { recursive: true });
    let p = sharp(join(root, f)).resize(w, h).flatten({ background: '#ffffff' })
      .extract({ left: r.int(w - cw + 1), top: r.int(h - ch + 1), width: cw, height: ch }).jpeg({ quality: 85 });
    if (i % 5 === 0) p = p.withMetadata({ orientation: 1 + r.int(8) });
    await p.toFile(join(o.dir, cls, `${String(i).padStart(4, '0')}.jpg`));
  }
  console.log(`made ${N} JPEGs in ${o.dir} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
}
const files = readdirSync(o.dir, { recursive: true }).map(String).filter((f) => f.endsWith('.jpg'));
const dims = await Promise.all(files.slice(0, 200).map((f) => sharp(join(o.dir, f)).metadata()));
const px = dims.map((d) => d.width * d.height).sort((a, b) => a - b);
console.log(`${files.length} JPEGs, ${readdirSync(o.dir).length} classes; sizes of the first 200: √(w·h) ${Math.round(Math.sqrt(px[0]))}..${Math.round(Math.sqrt(px[px.length - 1]))} px, median ${Math.round(Math.sqrt(px[px.length >> 1]))} px`);

const mb = (b) => (b / 2 ** 20).toFixed(0);
for (const size of [96, 224]) {
  global.gc?.();
  const before = process.memoryUsage();
  let peak = before.rss;
  const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 50);
  const t0 = performance.now();
  const ds = await loadPhotoFolder(o.dir, { size });
  const s = (performance.now() - t0) / 1000;
  clearInterval(timer);
  peak = Math.max(peak, process.memoryUsage().rss);
  console.log(`${size} px: ${ds.length} photos in ${s.toFixed(1)} s (${(ds.length / s).toFixed(0)} photos/s); dataset ${mb(ds.images.byteLength)} MiB uint8 (${size * size * 3} B each); RSS ${mb(before.rss)} → peak ${mb(peak)} MiB`);
}

// 10 000 photos at 224 px: one uint8 array of 10 000 × 150 528 B
const bytes = 10000 * 224 * 224 * 3;
const t0 = performance.now();
const big = new Uint8Array(bytes);
for (let i = 0; i < bytes; i += 4096) big[i] = 1; // touch every page: real resident memory
console.log(`10 000 × 224 px: new Uint8Array(${bytes}) = ${(bytes / 1e9).toFixed(2)} GB (${mb(bytes)} MiB) allocated and touched in ${((performance.now() - t0) / 1000).toFixed(1)} s; RSS now ${mb(process.memoryUsage().rss)} MiB; machine: ${execSync("free -g | awk '/Mem:/{print $2\" GiB total, \"$7\" GiB available\"}'").toString().trim()}`);
if (!o.keep) rmSync(o.dir, { recursive: true, force: true });

