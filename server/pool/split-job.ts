/**
 * Worker side of one image evaluated by several pool workers at once (the
 * pool sends each its part number and MessagePorts to the others). The parts
 * first swap the rotated copies of the stage's inputs that each made for the
 * others (src/he/baby-exchange.ts), through the lead. Every
 * part computes its share of a linear stage (src/he/stage-share.ts); the
 * followers send theirs to the lead (part 0), which adds them, folds, adds the
 * bias and squares, then sends the result back for the next stage. The lead
 * answers the pool with the response; followers answer without one.
 *
 * Ciphertexts cross threads uncompressed (in-process, compressing them would
 * cost more time than it saves). A part that fails
 * closes its ports, so its peers stop waiting and fail too; at the end the
 * lead sends `end` and each follower closes its channel.
 *
 * Cancellation: every part reads the same cancel flag (EvaluationControl.cancelled), so
 * each stops at its next check; one that is waiting on a peer instead sees that peer
 * close its ports, and answers `cancelled` too rather than a peer failure.
 */
import type { MessagePort } from 'node:worker_threads'
import type { BabyRef, BabyWork } from '../../src/he/baby-exchange'
import type { BabyNodes, ModelEvaluator } from '../../src/he/evaluator'
import type { EvaluationControl, EvaluationJob, LoadedKeys, Share } from '../../src/he/evaluation-job'
import { BlindfoldError } from '../../src/he/errors'

export interface SplitLink {
  part: number
  parts: number
  /** lead: ports[q - 1] reaches part q; follower: ports[0] reaches the lead */
  ports: MessagePort[]
}

/** What peers send: a share (follower -> lead), the next stage's input, or the end (lead -> followers). */
type PeerMessage =
  | { kind: 'babies'; cts: Uint8Array[] }
  | { kind: 'share'; outputs: number[]; cts: Uint8Array[] }
  | { kind: 'stage'; stage: number; cts: Uint8Array[] }
  | { kind: 'end' }

/** Messages of one port in order; waiting on a port that closed with nothing queued throws. */
function inbox(port: MessagePort): () => Promise<PeerMessage> {
  const queued: PeerMessage[] = []
  let waiting: { resolve(m: PeerMessage): void; reject(e: Error): void } | undefined
  let closed = false
  port.on('message', (m: PeerMessage) => {
    if (waiting) {
      const w = waiting
      waiting = undefined
      w.resolve(m)
    } else queued.push(m)
  })
  port.on('close', () => {
    closed = true
    waiting?.reject(new BlindfoldError('internal', 'a worker sharing this image stopped'))
    waiting = undefined
  })
  return () => {
    const m = queued.shift()
    if (m) return Promise.resolve(m)
    if (closed) return Promise.reject(new BlindfoldError('internal', 'a worker sharing this image stopped'))
    return new Promise((resolve, reject) => (waiting = { resolve, reject }))
  }
}

const buffers = (cts: Uint8Array[]) => cts.map((c) => c.buffer as ArrayBuffer)

/**
 * Gives the other parts the rotated copies this part made for them and takes the ones it lacks
 * (baby-exchange.ts), through the lead: a follower sends its copies up and receives what it
 * needs; the lead receives every follower's, then sends each follower what it needs, its own
 * copies and the other followers'.
 */
async function swapBabies(evaluator: ModelEvaluator, job: EvaluationJob, babies: BabyNodes, work: BabyWork, link: SplitLink, next: Array<() => Promise<PeerMessage>>): Promise<void> {
  const expect = async (receive: () => Promise<PeerMessage>) => {
    const m = await receive()
    if (m.kind !== 'babies') throw new BlindfoldError('internal', 'split: expected baby steps')
    return m.cts
  }
  const mine = work.parts[link.part]
  if (link.part > 0) {
    const cts = evaluator.saveBabies(babies, mine.up)
    link.ports[0].postMessage({ kind: 'babies', cts } satisfies PeerMessage, buffers(cts))
    evaluator.loadBabies(job, babies, mine.needs, await expect(next[0]))
    return
  }
  // every follower's copies by node, kept as bytes for the followers that need them too
  const received = new Map<string, Uint8Array>()
  const key = (r: BabyRef) => `${r.input}:${r.node}`
  for (let q = 1; q < link.parts; q++) {
    const cts = await expect(next[q - 1])
    work.parts[q].up.forEach((r, i) => received.set(key(r), cts[i]))
  }
  evaluator.loadBabies(job, babies, mine.needs, mine.needs.map((r) => received.get(key(r))!))
  for (let q = 1; q < link.parts; q++) {
    // each port gets its own bytes: a transferred buffer is gone from this thread
    const cts = work.parts[q].needs.map((r) => (work.supplier(r) === 0 ? evaluator.saveBabies(babies, [r])[0] : received.get(key(r))!.slice()))
    link.ports[q - 1].postMessage({ kind: 'babies', cts } satisfies PeerMessage, buffers(cts))
  }
}

/** Runs this worker's part of one image; the lead returns the response container. */
export async function runSplitPart(
  evaluator: ModelEvaluator,
  keys: LoadedKeys,
  request: Uint8Array,
  link: SplitLink,
  options: { logitNoiseStd?: number } & EvaluationControl,
): Promise<Uint8Array | undefined> {
  const next = link.ports.map(inbox)
  const job = evaluator.startJob(request, options)
  let ended = false
  try {
    while (!job.done) {
      const babies = evaluator.computeBabies(job, keys, link.part, link.parts)
      const work = evaluator.babyWorkOf(job, link.parts)
      if (work.shared) await swapBabies(evaluator, job, babies, work, link, next)
      const share = evaluator.computeShare(job, keys, link.part, link.parts, babies)
      if (link.part > 0) {
        const cts = evaluator.saveCiphertexts([...share.values()])
        link.ports[0].postMessage({ kind: 'share', outputs: [...share.keys()], cts } satisfies PeerMessage, buffers(cts))
        const m = await next[0]()
        if (m.kind === 'end') {
          ended = true
          return undefined
        }
        if (m.kind !== 'stage') throw new BlindfoldError('internal', 'split: expected the next stage')
        evaluator.adopt(job, evaluator.loadCiphertexts(job, m.cts), m.stage)
        continue
      }
      const shares: Share[] = [share]
      for (const receive of next) {
        const m = await receive()
        if (m.kind !== 'share') throw new BlindfoldError('internal', 'split: expected a share')
        const loaded = evaluator.loadCiphertexts(job, m.cts)
        shares.push(new Map(m.outputs.map((b, i) => [b, loaded[i]])))
      }
      evaluator.combine(job, keys, shares)
      if (job.done) break
      for (const port of link.ports) {
        // each port gets its own bytes: a transferred buffer is gone from this thread
        const cts = evaluator.saveCiphertexts(job.current)
        port.postMessage({ kind: 'stage', stage: job.stage, cts } satisfies PeerMessage, buffers(cts))
      }
    }
    const response = evaluator.respond(job, options)
    // the followers close the channels once they read this (closing here could overtake it)
    for (const port of link.ports) port.postMessage({ kind: 'end' } satisfies PeerMessage)
    ended = true
    return response
  } catch (e) {
    // a peer that stopped because of the cancel flag: this part was cancelled as well
    job.checkCancelled()
    throw e
  } finally {
    job.dispose()
    // a follower always closes; the lead only on failure, which stops its waiting peers
    if (link.part > 0 || !ended) for (const port of link.ports) port.close()
  }
}
