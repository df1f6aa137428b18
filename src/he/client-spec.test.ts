/**
 * The published client description against the plan it is derived from: the
 * input rule, expanded as a client would, must put every logical element in
 * exactly the (ciphertext, slot) of plan.input, with the value the official
 * client (KeyOwner.layout: im2col + plan) puts there, for the shipped model and
 * for random geometries of both packings.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { convShape, im2col } from '../model/geometry'
import { firstConvGeometry } from '../model/forward'
import { migrateManifest, type HeParams, type InputSpec, type LayerGeometry, type ModelManifest } from '../model/manifest'
import { publicModel } from './public-model'
import { clientSpec, expandInputRule, inputValues, layoutInput } from './client-spec'
import { ciphertextSizes } from './object-sizes'
import { derivePlan } from './plan'
import { DEFAULT_HE_PARAMS } from './params'
import type { EvaluationPlan } from './evaluation-plan'
import { galoisElement } from './rotation-search'
import { ComprMode, SEAL_HEADER_SIZE, SEAL_MAGIC, SEAL_VERSION_MAJOR } from './seal-header'
import { ContainerKind, WIRE_FORMAT_VERSION } from './wire'

type Geometry = { input: InputSpec; layers: LayerGeometry[]; he: HeParams }

const shipped = migrateManifest(JSON.parse(readFileSync(new URL('../../server/models/mnist-cnn/manifest.json', import.meta.url), 'utf8')))

/** What KeyOwner.layout computes (im2col for 'patches', the image repeated for 'image'), without SEAL. */
function officialVectors(m: Geometry, plan: EvaluationPlan, normalised: ArrayLike<number>): Float64Array[] {
  const g = firstConvGeometry(m)
  let values: ArrayLike<number> = normalised
  if (plan.input.packing === 'patches') {
    const { positions, taps } = convShape(g)
    const patches = new Float64Array(positions * taps)
    im2col(normalised, g, patches, 0, 0)
    values = patches
  }
  const vectors = Array.from({ length: plan.input.ciphertexts }, () => new Float64Array(plan.slots))
  for (let i = 0; i < plan.input.ct.length; i++) vectors[plan.input.ct[i]][plan.input.slot[i]] = values[i % values.length]
  return vectors
}

/** Checks a geometry: rule vs plan layout, values vs the official layout, and the rest of the description. */
function checkAgainstPlan(m: Geometry, seed: number) {
  const plan = derivePlan(m)
  const spec = clientSpec(m, plan)
  const { ct, slot } = expandInputRule(spec.input)
  expect(spec.input.ciphertexts).toBe(plan.input.ciphertexts)
  expect(spec.input.packing).toBe(plan.input.packing)
  expect(ct.length).toBe(plan.input.ct.length)
  expect(Array.from(ct)).toEqual(Array.from(plan.input.ct))
  expect(Array.from(slot)).toEqual(Array.from(plan.input.slot))
  for (let i = 0; i < slot.length; i++) expect(slot[i] < plan.slots && ct[i] < plan.input.ciphertexts).toBe(true)

  const area = m.input.height * m.input.width
  let state = seed >>> 0 || 1
  const pixels = Uint8Array.from({ length: area }, () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) >>> 24))
  const normalised = Float64Array.from(pixels, (p) => (p / 255 - spec.normalisation.mean[0]) / spec.normalisation.std[0])
  const mine = layoutInput(spec, normalised)
  const theirs = officialVectors(m, plan, normalised)
  expect(mine.length).toBe(theirs.length)
  mine.forEach((v, c) => expect(Array.from(v)).toEqual(Array.from(theirs[c])))
  expect(inputValues(spec.input, normalised).length).toBe(spec.input.elements)

  expect(spec.encoding.slots).toBe(plan.slots)
  expect(spec.encoding.scale).toBe(2 ** m.he.scaleBits)
  expect(spec.keys.sections.map((s) => s.sealObject)).toEqual(['RelinKeys', 'GaloisKeys'])
  expect(spec.keys.sections[1].rotationSteps).toEqual(plan.rotationSteps)
  expect(spec.keys.sections[1].galoisElements).toEqual(plan.rotationSteps.map((s) => galoisElement(s, m.he.polyModulusDegree)))
  expect(spec.request.sections).toBe(plan.input.ciphertexts)
  expect(spec.response.sections).toBe(plan.outputCiphertexts)
  expect(spec.response.logits.slot).toEqual(plan.outputSlots)
  expect(spec.response.logits.slot.length).toBe((m.layers.at(-1) as { units: number }).units)
  for (const c of spec.response.logits.ciphertext) expect(c).toBeLessThan(plan.outputCiphertexts)
  expect(spec.depth).toBe(plan.depth)
  return spec
}

describe('client description', () => {
  it('matches the plan of the shipped model, and carries its numbers', () => {
    const spec = checkAgainstPlan(shipped, 7)
    expect(spec.input).toMatchObject({ packing: 'image', ciphertexts: 1, copies: 5, blockSize: 784, blocks: 5, blocksPerCiphertext: 5 })
    expect(spec.normalisation).toMatchObject({ formula: '(pixel[c]/255 - mean[c])/std[c]', mean: shipped.input.mean, std: shipped.input.std, channels: 1, preprocess: 'ink-on-background' })
    expect(spec.keys.sections[1].rotationSteps).toEqual(shipped.plan.rotationSteps)
    expect(spec.response.logits).toEqual({ ciphertext: Array(10).fill(0), slot: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] })
    expect(spec.request.uncompressedBytes).toEqual(ciphertextSizes(8192, 4))
    // q0 of 50 bits at scale 2^33: 6 low bits dropped, 44 kept (packed-ciphertext.ts)
    expect(spec.response.packed).toMatchObject({ modulusBits: 50, polyModulusDegree: 8192, droppedBits: 6, bitsPerCoefficient: 44, bytes: 12 + (2 * 8192 * 44) / 8, maxBytes: 12 + (2 * 8192 * 50) / 8 })
  })

  it('states the wire constants the engine checks', () => {
    const spec = clientSpec(shipped)
    expect(spec.container.version).toBe(WIRE_FORMAT_VERSION)
    expect([spec.keys.containerKind, spec.request.containerKind, spec.response.containerKind]).toEqual([
      ContainerKind.evaluationKeys,
      ContainerKind.request,
      ContainerKind.response,
    ])
    expect(spec.sealObject).toMatchObject({ magic: SEAL_MAGIC, headerSize: SEAL_HEADER_SIZE, versionMajor: SEAL_VERSION_MAJOR })
    expect(spec.sealObject.compression).toEqual([ComprMode.none, ComprMode.zstd])
  })

  it('is published with the model, depends on geometry only, and names no weight', () => {
    const published = publicModel(shipped)
    expect(published.client).toEqual(clientSpec(shipped))
    expect(JSON.stringify(published)).not.toMatch(/weights|bias|sha256|tensors/)
    // the same geometry with other weight files and hashes: the same description
    const other: ModelManifest = { ...shipped, weights: { ...shipped.weights, sha256: 'x', byteLength: 1 }, contentHash: 'y' }
    expect(publicModel(other).client).toEqual(published.client)
    // each call gets its own copy (the cache is not shared by reference)
    publicModel(shipped).client.response.logits.slot[0] = 99
    expect(publicModel(shipped).client.response.logits.slot[0]).toBe(0)
  })

  it('matches the plan for random geometries of both packings', () => {
    let state = 12345
    const rand = (n: number) => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) >>> 8) % n
    const checked = { image: 0, patches: 0 }
    for (let trial = 0; trial < 60; trial++) {
      const packing = trial % 2 === 0 ? 'image' : 'patches'
      const height = 6 + rand(30)
      const width = 6 + rand(30)
      const kernel = 1 + rand(Math.min(7, height, width))
      const stride = packing === 'image' ? 1 : 1 + rand(3)
      const padding = packing === 'image' ? 0 : rand(Math.min(3, kernel))
      const filters = 1 + rand(70)
      const units = 2 + rand(20)
      const polyModulusDegree = [4096, 8192, 16384][rand(3)]
      const m: Geometry = {
        input: { height, width, channels: 1, mean: [0.1 + rand(50) / 100], std: [0.2 + rand(50) / 100], preprocess: 'ink-on-background' },
        layers: [{ type: 'conv2d', kernel, stride, padding, filters, packing }, { type: 'square' }, { type: 'dense', units }],
        he: { ...DEFAULT_HE_PARAMS, polyModulusDegree },
      }
      try {
        derivePlan(m)
      } catch {
        expect(() => clientSpec(m)).toThrow()
        continue // a geometry the plan refuses (does not fit the slots): no description either
      }
      checkAgainstPlan(m, trial + 1)
      checked[packing]++
    }
    expect(checked.image).toBeGreaterThan(10)
    expect(checked.patches).toBeGreaterThan(10)
  })

  it('spans several ciphertexts when the patches do not fit one', () => {
    // 64x64 image, 5x5 stride 1: 3600 positions, 25 taps, one tap per 4096-slot ciphertext
    const m: Geometry = {
      input: { height: 64, width: 64, channels: 1, mean: [0.5], std: [0.25], preprocess: 'ink-on-background' },
      layers: [{ type: 'conv2d', kernel: 5, stride: 1, padding: 1, filters: 4, packing: 'patches' }, { type: 'square' }, { type: 'dense', units: 3 }],
      he: DEFAULT_HE_PARAMS,
    }
    const spec = checkAgainstPlan(m, 3)
    expect(spec.input).toMatchObject({ packing: 'patches', ciphertexts: 25, blocksPerCiphertext: 1, padValue: 0 })
  })
})
