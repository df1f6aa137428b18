/**
 * What each SEAL operation costs at every level of one model's modulus chain,
 * on this machine: the unit prices behind a plan's stage times (a stage is
 * rotations + plaintext products + additions + one rescale; see
 * src/he/plan.ts and src/he/op-counts.ts). Used to weigh layouts before
 * building them (how many plaintext products a rotation is worth at each
 * level); `npm run bench` measures the same prices for its floor.
 *
 *   npm run bench:op-costs -- [--model fashion-cnn] [--repeat 30]
 *
 * Medians of `repeat` runs on one thread (products and additions: 3x as many),
 * measured by unit-prices.ts. Every handle is freed before it exits.
 */
import { parseArgs } from 'node:util'
import { loadSeal } from '../../src/he/context'
import { loadModelDir, MODELS_DIR } from '../../src/datasets/model-files'
import { measureUnitPrices } from './unit-prices'
import { helpIfAsked } from '../help'
helpIfAsked(import.meta.url)

const { values: args } = parseArgs({ options: { model: { type: 'string', default: 'fashion-cnn' }, repeat: { type: 'string', default: '30' } } })
const { manifest } = await loadModelDir(`${MODELS_DIR}/${args.model}`)
const prices = measureUnitPrices(await loadSeal(), manifest.he, Number(args.repeat))
const ms = (x: number, digits: number) => +x.toFixed(digits)
console.log(`${manifest.name}@${manifest.version}: N = ${manifest.he.polyModulusDegree}, q = [${manifest.he.coeffModulusBits}] bits; medians, one thread`)
console.table(
  prices.map((p) => ({
    level: p.level,
    primes: p.primes,
    'rotate ms': ms(p.rotate, 2),
    'plaintext product ms': ms(p.plainProduct, 3),
    'add ms': ms(p.add, 3),
    'add plaintext ms': ms(p.addPlain, 3),
    // the last level has no prime left to drop
    'rescale ms': p.level < prices.length - 1 ? ms(p.rescale, 2) : '-',
    'square ms': ms(p.square, 2),
    'ciphertext product ms': ms(p.product, 2),
    'relinearise ms': ms(p.relinearise, 2),
  })),
)
