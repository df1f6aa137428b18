/**
 * runSplitPart's messages between the parts of one image, over real MessagePorts (the ports the
 * pool gives its threads), with each part's evaluator in its own SEAL instance in this thread:
 * three parts, so a follower's baby steps reach another follower through the lead. The answer
 * must be the plaintext model's.
 */
import SEAL from 'node-seal'
import { MessageChannel, type MessagePort } from 'node:worker_threads'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { forward } from '../../src/model/forward'
import { ModelEvaluator } from '../../src/he/evaluator'
import { EvaluationJob, type LoadedKeys } from '../../src/he/evaluation-job'
import { KeyOwner } from '../../src/he/key-owner'
import { publicModel } from '../../src/he/public-model'
import { randomModel, SMALL_DEEP_NET } from '../../src/he/random-model'
import { runSplitPart, type SplitLink } from './split-job'

const PARTS = 3
const { manifest, weights } = randomModel({ ...SMALL_DEEP_NET, seed: 23 })

describe('one image in three parts over MessagePorts', () => {
  let owner: KeyOwner
  const parts: Array<{ evaluator: ModelEvaluator; keys: LoadedKeys }> = []

  beforeAll(async () => {
    owner = await KeyOwner.create(publicModel(manifest), await SEAL())
    for (let q = 0; q < PARTS; q++) {
      const evaluator = await ModelEvaluator.create(manifest, weights, await SEAL())
      parts.push({ evaluator, keys: evaluator.loadKeys(owner.evaluationKeys) })
    }
  })

  afterAll(() => {
    for (const p of parts) {
      p.keys.dispose()
      p.evaluator.dispose()
    }
    owner?.dispose()
  })

  it('swaps baby steps through the lead and answers like the plaintext model', async () => {
    const lead = parts[0].evaluator
    // a stage whose third part needs copies that only the second makes: the lead forwards them
    const forwarded = lead.plan.stages.some((s, stage) => {
      if (s.kind !== 'linear') return false
      const work = lead.babyWorkOf(Object.assign(new EvaluationJob(), { stage }), PARTS)
      return work.shared && work.parts[2].needs.some((r) => work.supplier(r) === 1)
    })
    expect(forwarded).toBe(true)
    const x = Float32Array.from({ length: 16 * 16 * 3 }, (_, i) => Math.sin(i * 0.29))
    const reference = forward(manifest, weights, x)
    const request = owner.encrypt(x)
    const channels = Array.from({ length: PARTS - 1 }, () => new MessageChannel())
    const links: SplitLink[] = [
      { part: 0, parts: PARTS, ports: channels.map((c) => c.port1) },
      ...channels.map((c, i): SplitLink => ({ part: i + 1, parts: PARTS, ports: [c.port2 as MessagePort] })),
    ]
    const answers = await Promise.all(parts.map((p, q) => runSplitPart(p.evaluator, p.keys, request, links[q], {})))
    expect(answers.slice(1)).toEqual([undefined, undefined])
    const logits = owner.decrypt(answers[0]!)
    const scale = Math.max(1, ...reference.map(Math.abs))
    for (let o = 0; o < reference.length; o++) expect(Math.abs(logits[o] - reference[o]) / scale).toBeLessThan(1e-3)
  })
})
