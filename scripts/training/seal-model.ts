/**
 * npm run model:seal -- DIR --dataset mnist|fashion-mnist|cifar10 [--packing image|patches] [--he N:BITS:SCALE]
 *
 * Finishes a model exported by `npm run train:torch` (train:tfjs seals its own): the packing,
 * HE parameters (e.g. `--he 8192:38,28,28,28,28,28,40:28`: ring degree, every prime's bits with
 * the special prime last, scale bits), plan and content hash; see ./seal.ts.
 */
import { parseArgs } from 'node:util'
import { helpIfAsked } from '../help'
import { sealModel } from './seal'

const USAGE = 'usage: npm run model:seal -- DIR --dataset mnist|fashion-mnist|cifar10 [--packing image|patches] [--he N:BITS:SCALE]'
helpIfAsked(import.meta.url)
const { positionals, values } = parseArgs({ allowPositionals: true, options: { packing: { type: 'string' }, dataset: { type: 'string' }, he: { type: 'string' } } })
const dir = positionals[0]
if (!dir || !values.dataset) throw new Error(USAGE)
console.log(await sealModel(dir, { dataset: values.dataset, packing: values.packing as 'image' | 'patches' | undefined, he: values.he }))
