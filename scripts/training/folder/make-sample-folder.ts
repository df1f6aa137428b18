/**
 * npm run train:sample-folder -- --out DIR
 *     [--classes airplane,cat,ship] [--per-class 200] [--split train|test] [--side 96] [--format jpeg|png|mixed]
 *
 * Writes a folder of CIFAR-10 photos in the ImageFolder layout (./sample-folder.ts): the
 * first N images of each class, enlarged and saved as files, to try
 * `npm run train:torch -- --data DIR` on (needs `npm run datasets:fetch` once).
 */
import { parseArgs } from 'node:util'
import { helpIfAsked } from '../../help'
import { writeCifarFolder } from './sample-folder'

helpIfAsked(import.meta.url)
const { values } = parseArgs({
  options: {
    out: { type: 'string' }, classes: { type: 'string', default: 'airplane,cat,ship' }, 'per-class': { type: 'string', default: '200' },
    split: { type: 'string', default: 'train' }, side: { type: 'string', default: '96' }, format: { type: 'string', default: 'jpeg' },
  },
})
if (!values.out) throw new Error('usage: npm run train:sample-folder -- --out DIR [--classes a,b,c] [--per-class N] [--split train|test] [--side PX] [--format jpeg|png|mixed]')
const split = values.split === 'test' ? 'test' : 'train'
const format = values.format as 'jpeg' | 'png' | 'mixed'
const written = writeCifarFolder(values.out, { classes: values.classes.split(','), perClass: Number(values['per-class']), split, side: Number(values.side), format })
for (const [name, files] of Object.entries(written)) console.log(`${values.out}/${name}: ${files.length} ${format} files`)
