/**
 * Worker side of one image evaluated by several pool workers at once (the
 * pool sends each its part number and MessagePorts to the others). Every
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
import type { ModelEvaluator } from '../../src/he/evaluator'
import type { EvaluationControl, LoadedKeys, Share } from '../../src/he/evaluation-job'
import { BlindfoldError } from '../../src/he/errors'

export interface SplitLink {
  part: number
  parts: number
  /** lead: ports[q - 1] reaches part q; follower: ports[0] reaches the lead */
  ports: MessagePort[]
}

/** What peers send: a share (follower -> lead), the next stage's input, or the end (lead -> followers). */
type PeerMessage = { kind: 'share'; outputs: number[]; cts: Uint8Array[] } | { kind: 'stage'; stage: number; cts: Uint8Array[] } | { kind: 'end' }

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
      const share = evaluator.computeShare(job, keys, link.part, link.parts)
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
