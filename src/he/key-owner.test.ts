/**
 * KeyOwner's two contexts: keys and encryption on SEAL's top two levels only,
 * decryption on the whole chain built later (context.ts says why). The round
 * trip through an evaluator is in engine.test.ts; here: that the split changes
 * no object the server sees, that the chain is built once, and that every
 * handle of both contexts is freed.
 */
import SEAL from 'node-seal'
import { beforeAll, expect, it } from 'vitest'
import { loadModelDir, MODELS_DIR } from '../datasets/model-files'
import { publicModel, type PublicModel } from './public-model'
import { createHeContext, type Seal } from './context'
import { KeyOwner } from './key-owner'

let seal: Seal
let model: PublicModel

beforeAll(async () => {
  seal = await SEAL()
  model = publicModel((await loadModelDir(`${MODELS_DIR}/mnist-cnn`)).manifest)
})

it('a context without the chain has the top level of the full one: same parms id, so keys and ciphertexts pass between them', () => {
  const top = createHeContext(seal, model.he, { chain: false })
  const full = createHeContext(seal, model.he)
  try {
    expect(top.levels).toHaveLength(1)
    expect(full.levels).toHaveLength(model.he.coeffModulusBits.length - 1)
    expect(Array.from(top.levels[0].parmsId.values() as ArrayLike<bigint>)).toEqual(Array.from(full.levels[0].parmsId.values() as ArrayLike<bigint>))
  } finally {
    top.dispose()
    full.dispose()
  }
})

it('builds the decryption chain once, on demand', async () => {
  const owner = await KeyOwner.create(model, seal)
  try {
    const first = owner.prepareDecryption()
    expect(first.he.levels).toHaveLength(model.he.coeffModulusBits.length - 1)
    expect(owner.prepareDecryption()).toBe(first)
  } finally {
    owner.dispose()
  }
})

it('frees both contexts: RSS stays flat over 40 key owners made, used to decrypt and disposed', async () => {
  const rssMB = () => {
    ;(globalThis as { gc?: () => void }).gc?.()
    return process.memoryUsage().rss / 2 ** 20
  }
  const cycle = async () => {
    const owner = await KeyOwner.create(model, seal)
    try {
      // the chain (prepareDecryption) is what this exercises; the encryption uses the top-level context
      owner.prepareDecryption()
      expect(owner.encrypt(new Float64Array(model.input.height * model.input.width)).byteLength).toBeGreaterThan(0)
    } finally {
      owner.dispose()
    }
  }
  // the WASM heap grows to its working size and never shrinks; the process's other heaps take a few more cycles to settle
  for (let i = 0; i < 10; i++) await cycle()
  // RSS after every cycle: garbage the collector has not yet returned (each cycle drops megabytes of
  // key bytes) lifts single readings, a leak lifts all of them, so growth compares the lowest of the
  // first readings with the lowest of the last
  const readings: number[] = []
  for (let i = 0; i < 40; i++) {
    await cycle()
    readings.push(rssMB())
  }
  const growth = Math.min(...readings.slice(-3)) - Math.min(...readings.slice(0, 3))
  console.log(`key owners: RSS growth over 40 create/prepare/dispose cycles ${growth.toFixed(1)} MB (readings ${readings.map((r) => r.toFixed(0)).join(' ')})`)
  // a leaked key owner (its chain of NTT tables and its keys) is well over ten MB a cycle, a leaked chain
  // alone a few: 40 cycles of either pass this bound, which the heaps' settling alone stays under
  expect(growth).toBeLessThan(64)
})
