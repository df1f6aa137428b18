/**
 * One image, end to end inside the worker: normalise, encrypt, send the
 * ciphertext, decrypt the answer. Only the class probabilities go back to
 * the page; the secret key never leaves this worker.
 */
import type { ClassifyResult, ClassifyStage } from '../../src/api/he-worker-types'
import { headers, paths } from '../../src/api/wire'
import { argmax, normalise } from '../../src/model/forward'
import { errorOf, expectOk, type Exchange } from './http'
import { loggedSend } from './request-log'
import { current, reupload } from './session'

export type OnStage = (stage: ClassifyStage) => void

export function softmax(logits: ArrayLike<number>): number[] {
  let max = -Infinity
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i])
  const exps = Array.from(logits, (v) => Math.exp(v - max))
  const sum = exps.reduce((a, b) => a + b, 0)
  return exps.map((e) => e / sum)
}

function post(sessionId: string, body: Uint8Array, maxResponseBytes: number, onStage?: OnStage): Promise<Exchange> {
  onStage?.('sending')
  return loggedSend('ciphertext', {
    method: 'POST',
    url: paths.classify(sessionId),
    body,
    // error bodies are small JSON; an answer is at most what the plan's response can be
    maxResponseBytes,
    onUploaded: () => onStage?.('computing'),
  })
}

export async function classifyPixels(pixels: Uint8Array, onStage?: OnStage): Promise<ClassifyResult> {
  const { owner, info } = current()
  if (pixels.length !== owner.model.input.height * owner.model.input.width) {
    throw new Error(`Expected ${owner.model.input.height * owner.model.input.width} pixels, got ${pixels.length}.`)
  }
  onStage?.('encrypting')
  let t = performance.now()
  const request = owner.encrypt(normalise(pixels, owner.model))
  const encryptMs = performance.now() - t

  let x = await post(info.sessionId, request, owner.maxResponseBytes, onStage)
  if (x.status === 404 && errorOf(x).code === 'unknown_session') {
    // the server lost our keys (restart or expiry): upload them again, retry once
    const again = await reupload()
    x = await post(again.sessionId, request, owner.maxResponseBytes, onStage)
  }
  expectOk(x)
  onStage?.('decrypting')
  t = performance.now()
  const logits = owner.decrypt(new Uint8Array(x.body))
  const decryptMs = performance.now() - t
  const probabilities = softmax(logits)
  // the server's own compute time, else (no or bad header) the wait for the answer
  const serverHeader = x.header(headers.serverMs)
  const serverMs = serverHeader !== null && Number.isFinite(Number(serverHeader)) ? Number(serverHeader) : x.waitMs
  // Chromium reports upload completion late (progress events are batched), so
  // the upload is what remains of the time to the first response byte once
  // the server's own compute time is taken out.
  const uploadMs = Math.max(0, x.uploadMs + x.waitMs - serverMs)
  return {
    prediction: argmax(logits),
    probabilities,
    timings: {
      encryptMs,
      uploadMs,
      serverMs,
      downloadMs: x.downloadMs,
      decryptMs,
    },
    bytesSent: request.byteLength,
    bytesReceived: x.body.byteLength,
  }
}
