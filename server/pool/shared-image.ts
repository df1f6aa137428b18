/**
 * The pool's side of one image shared by several idle workers (the workers' side is
 * split-job.ts): each part gets its number and MessagePorts to the others, and the image
 * settles once every part has answered (or its worker died).
 */
import { MessageChannel } from 'node:worker_threads'
import { BlindfoldError, type ErrorCode } from '../../src/he/errors'
import { HttpError } from '../http/http-error'
import { jobMessage, type Job, type JobResult } from './job'
import type { FromWorker } from './messages'
import type { Slot } from './worker-slot'

/** Hands one image to `slots`: part 0 leads, the others reach it through their own channel. Returns the key transfers it made. */
export function startSharedImage(slots: Slot[], job: Job): number {
  const parts = slots.length
  job.split = { parts, pending: parts }
  const channels = slots.slice(1).map(() => new MessageChannel())
  let keyTransfers = 0
  slots.forEach((slot, part) => {
    slot.job = job
    slot.splitPart = part
    const withKeys = !slot.cached.has(job.session)
    if (withKeys) keyTransfers++
    const ports = part === 0 ? channels.map((c) => c.port1) : [channels[part - 1].port2]
    const request = new Uint8Array(job.request!)
    // an injected crash hits the last part (the lead is left waiting for its share), a trap the lead
    const fault = job.fault && {
      ...job.fault,
      crash: job.fault.crash && part === parts - 1,
      trap: job.fault.trap && part === 0,
    }
    const msg = jobMessage(job, withKeys, request, { split: { part, parts, ports }, ...(fault ? { fault } : {}) })
    slot.worker.postMessage(msg, [request.buffer as ArrayBuffer, ...ports])
  })
  return keyTransfers
}

export type PartAnswer = Extract<FromWorker, { type: 'done' | 'failed' }> | { type: 'exit'; e: Error }

/** How a shared image ended, once its last part has answered. */
export type SharedOutcome = { ok: true; result: JobResult } | { ok: false; e: Error }

/**
 * A part answered (or its worker died). Undefined while parts are still out; then the image's
 * outcome: the most telling failure of any part, else the lead's response.
 */
export function partAnswered(job: Job, m: PartAnswer): SharedOutcome | undefined {
  const split = job.split!
  split.pending--
  if (m.type === 'done') {
    if (m.response) {
      split.response = m.response
      split.ms = m.ms
    }
  } else {
    const e =
      m.type === 'exit' ? m.e : m.clientFault ? new BlindfoldError(m.code as ErrorCode, m.message) : new HttpError(500, m.code, 'the model evaluation failed on the server')
    // a dead worker explains the others' failures (theirs only say that a peer stopped, code internal)
    const rank = m.type === 'exit' ? 2 : m.code === 'internal' ? 0 : 1
    if (!split.error || rank > split.error.rank) split.error = { rank, e }
  }
  if (split.pending > 0) return undefined
  if (split.error) return { ok: false, e: split.error.e }
  if (!split.response) return { ok: false, e: new HttpError(500, 'internal', 'no part of the shared image answered') }
  return { ok: true, result: { response: split.response, ms: split.ms!, parts: split.parts } }
}
