/**
 * One image split across workers: each "worker" is its own ModelEvaluator in
 * its own SEAL instance, and shares and combined stages travel between them as
 * bytes, as they do between pool threads. The split answer must equal the
 * plaintext reference as closely as the whole evaluation does, for splits by
 * output ciphertext and by giant-step range, 2 and 3 parts.
 */
import SEAL from 'node-seal'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { forward } from '../model/forward'
import type { LayerGeometry, ModelManifest, Weights } from '../model/manifest'
import { publicModel } from './public-model'
import { randomModel, SMALL_DEEP_NET } from './random-model'
import { ModelEvaluator } from './evaluator'
import type { EvaluationJob, LoadedKeys, Share } from './evaluation-job'
import { KeyOwner } from './key-owner'
import { FOUR_LEVELS_8192 } from './params'
import type { EvaluationPlan } from './evaluation-plan'
import { rotationPath, stageShare } from './stage-share'

describe('stageShare', () => {
  it('splits by output when there are enough outputs, else by contiguous giant ranges covering every step once', () => {
    expect(stageShare({ giant: 8, output: { ciphertexts: 2 } }, 1, 2)).toEqual({ outputs: [1], from: 0, to: 8 })
    const parts = [0, 1, 2].map((q) => stageShare({ giant: 32, output: { ciphertexts: 1 } }, q, 3))
    expect(parts.map((p) => [p.from, p.to])).toEqual([[0, 10], [10, 21], [21, 32]])
    expect(stageShare({ giant: 1, output: { ciphertexts: 1 } }, 0, 2).outputs).toEqual([])
  })
  it('makes a shift of whole giant steps from the keys, exactly', () => {
    expect(rotationPath(16, 256, [1, 16, 256, 1024], 8192)).toEqual([1024, 1024, 1024, 1024])
    // 48 = 28 + 16 + 4 x 1 is longer than three giant steps
    expect(rotationPath(3, 16, [1, 16, 28], 4096)).toEqual([16, 16, 16])
    expect(rotationPath(0, 256, [1, 256], 8192)).toEqual([])
  })
})

interface Worker {
  evaluator: ModelEvaluator
  keys: LoadedKeys
}

/** Stages whose parts swapped rotated copies, over every classifySplit so far. */
let babiesSwapped = 0

/** Runs one image on `workers.length` evaluators the way the pool does, through bytes. */
function classifySplit(workers: Worker[], request: Uint8Array): Uint8Array {
  const parts = workers.length
  const jobs = workers.map((w) => w.evaluator.startJob(request))
  try {
    const lead = workers[0].evaluator
    while (!jobs[0].done) {
      // each part rotates its branches of the baby steps, then takes the copies it lacks from the part that made them
      const work = lead.babyWorkOf(jobs[0], parts)
      const babies = workers.map((w, q) => w.evaluator.computeBabies(jobs[q], w.keys, q, parts))
      if (work.shared) babiesSwapped += 1
      workers.forEach((w, q) => {
        const { needs } = work.parts[q]
        const bytes = needs.map((r) => workers[work.supplier(r)].evaluator.saveBabies(babies[work.supplier(r)], [r])[0])
        w.evaluator.loadBabies(jobs[q], babies[q], needs, bytes)
      })
      const shares: Share[] = workers.map((w, q) => {
        const share = w.evaluator.computeShare(jobs[q], w.keys, q, parts, babies[q])
        if (q === 0) return share
        // to the lead worker as bytes
        const bytes = w.evaluator.saveCiphertexts([...share.values()])
        const loaded = lead.loadCiphertexts(jobs[0], bytes)
        return new Map([...share.keys()].map((b, i) => [b, loaded[i]]))
      })
      lead.combine(jobs[0], workers[0].keys, shares)
      if (jobs[0].done) break
      const bytes = lead.saveCiphertexts(jobs[0].current)
      for (let q = 1; q < parts; q++) workers[q].evaluator.adopt(jobs[q], workers[q].evaluator.loadCiphertexts(jobs[q], bytes), jobs[0].stage)
    }
    return lead.respond(jobs[0])
  } finally {
    jobs.forEach((j: EvaluationJob) => j.dispose())
  }
}

describe('one image across several evaluators', () => {
  let manifest: ModelManifest
  let weights: Weights
  let owner: KeyOwner
  const workers: Worker[] = []

  beforeAll(async () => {
    ;({ manifest, weights } = randomModel({ ...SMALL_DEEP_NET, seed: 7 }))
    owner = await KeyOwner.create(publicModel(manifest), await SEAL())
    for (let q = 0; q < 3; q++) {
      const evaluator = await ModelEvaluator.create(manifest, weights, await SEAL())
      workers.push({ evaluator, keys: evaluator.loadKeys(owner.evaluationKeys) })
    }
  })

  afterAll(() => {
    for (const w of workers) {
      w.keys.dispose()
      w.evaluator.dispose()
    }
    owner?.dispose()
  })

  it('splits the stages both ways', () => {
    const linear = workers[0].evaluator.plan.stages.filter((s) => s.kind === 'linear')
    expect(linear[0].kind === 'linear' && linear[0].output.ciphertexts).toBeGreaterThanOrEqual(2)
    expect(linear.slice(1).every((s) => s.kind === 'linear' && s.output.ciphertexts === 1 && s.giant >= 3)).toBe(true)
  })

  for (const parts of [2, 3]) {
    it(`${parts} parts give the whole evaluation's logits, swapping the baby steps they share`, () => {
      const x = Float32Array.from({ length: 16 * 16 * 3 }, (_, i) => Math.sin(i * 0.37 + parts))
      const reference = forward(manifest, weights, x)
      const request = owner.encrypt(x)
      const whole = owner.decrypt(workers[0].evaluator.classify(workers[0].keys, request))
      const swapped = babiesSwapped
      const split = owner.decrypt(classifySplit(workers.slice(0, parts), request))
      expect(babiesSwapped).toBeGreaterThan(swapped)
      const scale = Math.max(1, ...reference.map(Math.abs))
      for (let o = 0; o < reference.length; o++) {
        expect(Math.abs(split[o] - reference[o]) / scale).toBeLessThan(1e-3)
        expect(Math.abs(split[o] - whole[o]) / scale).toBeLessThan(1e-3)
      }
    })
  }
})

/** Two evaluators share each of `images` images of a 12x12 net: the logits match the plaintext reference. */
async function splitMatchesPlaintext(layers: LayerGeometry[], seed: number, images: number, check: (plan: EvaluationPlan) => void): Promise<void> {
  const { manifest, weights } = randomModel({ input: { height: 12, width: 12, channels: 1 }, layers, he: FOUR_LEVELS_8192, seed })
  const owner = await KeyOwner.create(publicModel(manifest), await SEAL())
  const workers: Worker[] = []
  try {
    for (let q = 0; q < 2; q++) {
      const evaluator = await ModelEvaluator.create(manifest, weights, await SEAL())
      workers.push({ evaluator, keys: evaluator.loadKeys(owner.evaluationKeys) })
    }
    check(workers[0].evaluator.plan)
    for (let k = 0; k < images; k++) {
      const x = Float32Array.from({ length: 144 }, (_, i) => Math.cos(i * 0.21 + k))
      const reference = forward(manifest, weights, x)
      const split = owner.decrypt(classifySplit(workers, owner.encrypt(x)))
      const scale = Math.max(1, ...reference.map(Math.abs))
      for (let o = 0; o < reference.length; o++) expect(Math.abs(split[o] - reference[o]) / scale).toBeLessThan(1e-3)
    }
  } finally {
    for (const w of workers) {
      w.keys.dispose()
      w.evaluator.dispose()
    }
    owner.dispose()
  }
}

const convPolyPool = (stagger: boolean, filters: number): LayerGeometry[] => [
  { type: 'conv2d', kernel: 3, stride: 1, padding: 0, filters, packing: 'image' },
  { type: 'poly' },
  { type: 'avgpool2d', size: 2, stagger },
  { type: 'dense', units: 40 },
  { type: 'bilinear', units: 10 },
]

describe('a bilinear read-out across several evaluators', () => {
  it('2 parts give the plaintext logits: the product and its fold run once, on the combined stage', async () => {
    await splitMatchesPlaintext(convPolyPool(false, 6), 5, 1, (plan) => expect(plan.stages.at(-1)?.kind).toBe('product'))
  })
})

describe('a gathered staggered pool across several evaluators', () => {
  it('2 parts give the plaintext logits: the lead gathers once and its parts share the one ciphertext it made', async () => {
    await splitMatchesPlaintext(convPolyPool(true, 8), 9, 2, (plan) => {
      const dense = plan.stages[2]
      expect(dense.kind === 'linear' && dense.gather && dense.input.ciphertexts).toBe(1)
    })
  })
})
