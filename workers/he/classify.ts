/**
 * One image, end to end inside the worker: normalise, encrypt, send the
 * ciphertext, follow the server's progress, decrypt the answer. Only the class
 * probabilities go back to the page; the secret key never leaves this worker.
 */
import type { ClassifiedImage, OnServerProgress, OnStage } from '../../src/api/he-worker-types'
import { headers, paths, type JobProgress } from '../../src/api/wire'
import { sampleWire } from '../../src/api/wire-sample'
import { argmax, normalise } from '../../src/model/forward'
import { prefixOf, sha256Hex } from './digest'
import { CANCELLED, errorOf, expectOk, HttpError, json, type Exchange } from './http'
import { loggedSend } from './request-log'
import { current, reupload } from './session'
import type { KeyOwner } from '../../src/he/key-owner'

/** how often the card's progress is refreshed while the server computes */
const POLL_MS = 400

/** classifications in flight, by their request id, so the page can cancel one */
const inFlight = new Map<string, AbortController>()

export function softmax(logits: ArrayLike<number>): number[] {
  let max = -Infinity
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i])
  const exps = Array.from(logits, (v) => Math.exp(v - max))
  const sum = exps.reduce((a, b) => a + b, 0)
  return exps.map((e) => e / sum)
}

/**
 * Stops a classification: before it is sent nothing leaves; once sent the
 * request is aborted (the server stops when the connection closes) and the
 * job is cancelled by id as well, in case a proxy keeps the connection open.
 */
export function cancelClassification(requestId: string): void {
  inFlight.get(requestId)?.abort()
}

/** owners whose decryption chain is built */
const chained = new WeakSet<KeyOwner>()

/**
 * Builds the owner's decryption chain unless it is built: what that took, or undefined when
 * nothing was built here. A failure is left to the decryption, which tries again and reports it.
 */
function prepareDecryption(owner: KeyOwner): number | undefined {
  if (chained.has(owner)) return undefined
  try {
    const { ms } = owner.prepareDecryption()
    chained.add(owner)
    return ms
  } catch {
    return undefined
  }
}

interface Job {
  model: string
  requestId: string
  signal: AbortSignal
  onStage?: OnStage
  onProgress?: OnServerProgress
}

/** Polls the job's progress until `stop` resolves; a failed poll only skips one update. */
function followProgress(job: Job, sessionId: string, stop: Promise<unknown>): void {
  let stopped = false
  void stop.finally(() => (stopped = true))
  const poll = async () => {
    while (!stopped) {
      await new Promise((r) => setTimeout(r, POLL_MS))
      if (stopped) return
      const x = await loggedSend('progress poll (no body)', { method: 'GET', url: paths.job(sessionId, job.requestId), signal: job.signal }, job.model).catch(() => undefined)
      if (stopped || !x || x.status !== 200) continue
      const p = json<JobProgress>(x)
      job.onProgress?.({ state: p.state, queuePosition: p.queuePosition, done: p.done, total: p.total, stage: p.stage })
    }
  }
  void poll()
}

/** `sha256`: the body's, hex (the request log lists its prefix) */
async function post(job: Job, sessionId: string, body: Uint8Array, sha256: string, maxResponseBytes: number): Promise<Exchange> {
  job.onStage?.('sending')
  const exchange = loggedSend(
    'ciphertext',
    {
      method: 'POST',
      url: paths.classify(sessionId),
      body,
      headers: { [headers.requestId]: job.requestId },
      signal: job.signal,
      // error bodies are small JSON; an answer is at most what the plan's response can be
      maxResponseBytes,
      onUploaded: () => job.onStage?.('computing'),
    },
    job.model,
    prefixOf(sha256),
  )
  followProgress(job, sessionId, exchange.catch(() => undefined))
  try {
    return await exchange
  } catch (e) {
    if (e instanceof HttpError && e.code === CANCELLED) {
      // the closed connection already stops the server; the explicit cancel covers proxies that keep it open
      void loggedSend('cancel (no body)', { method: 'DELETE', url: paths.job(sessionId, job.requestId) }, job.model).catch(() => undefined)
    }
    throw e
  }
}

export async function classifyPixels(
  modelName: string,
  pixels: Uint8Array,
  requestId: string,
  onStage?: OnStage,
  onProgress?: OnServerProgress,
): Promise<ClassifiedImage> {
  const { owner, info } = current(modelName)
  const { height, width, channels } = owner.model.input
  if (pixels.length !== height * width * channels) {
    throw new Error(`Expected ${height * width * channels} input values for ${modelName}, got ${pixels.length}.`)
  }
  const controller = new AbortController()
  inFlight.set(requestId, controller)
  const job: Job = { model: modelName, requestId, signal: controller.signal, onStage, onProgress }
  try {
    onStage?.('encrypting')
    let t = performance.now()
    const request = owner.encrypt(normalise(pixels, owner.model))
    const encryptMs = performance.now() - t
    if (controller.signal.aborted) throw new HttpError(0, CANCELLED, 'Cancelled.')
    // hashed once: the request log lists its prefix, "what the server sees" shows it whole
    const sentSha256 = await sha256Hex(request)

    const sending = post(job, info.sessionId, request, sentSha256, owner.maxResponseBytes)
    // the request is on its way: the session's first answer needs the decryption chain, built now
    // while the server computes (a no-op once built)
    const chainMs = prepareDecryption(owner)
    let x = await sending
    if (x.status === 404 && errorOf(x).code === 'unknown_session') {
      // the server lost our keys (restart or expiry): upload them again, retry once
      const again = await reupload(modelName)
      x = await post(job, again.sessionId, request, sentSha256, owner.maxResponseBytes)
    }
    expectOk(x)
    onStage?.('decrypting')
    const answer = new Uint8Array(x.body)
    // the answer's bytes as they arrived, sampled before decryption reads them
    const received = sampleWire(answer, await sha256Hex(answer))
    t = performance.now()
    const logits = owner.decrypt(answer)
    const decryptMs = performance.now() - t
    // the server's own compute time, else (no or bad header) the wait for the answer
    const serverHeader = x.header(headers.serverMs)
    const serverMs = serverHeader !== null && Number.isFinite(Number(serverHeader)) ? Number(serverHeader) : x.waitMs
    const workersHeader = Number(x.header(headers.serverWorkers))
    // Chromium reports upload completion late (progress events are batched), so
    // the upload is what remains of the time to the first response byte once
    // the server's own compute time is taken out.
    const uploadMs = Math.max(0, x.uploadMs + x.waitMs - serverMs)
    return {
      prediction: argmax(logits),
      probabilities: softmax(logits),
      timings: { encryptMs, uploadMs, serverMs, downloadMs: x.downloadMs, decryptMs, ...(chainMs === undefined ? {} : { chainMs }) },
      serverWorkers: Number.isInteger(workersHeader) && workersHeader > 0 ? workersHeader : 1,
      bytesSent: request.byteLength,
      bytesReceived: x.body.byteLength,
      wire: { sent: sampleWire(request, sentSha256), received },
    }
  } finally {
    inFlight.delete(requestId)
  }
}
