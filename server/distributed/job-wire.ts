/**
 * What travels through the BullMQ queue between an API replica and an evaluator. Job data and
 * results are JSON in Redis, so they hold only names, hashes, MACs and timings; the binary
 * containers stay binary beside the job, under redisKeys.request (in) and redisKeys.result
 * (out). Evaluation keys never ride in a job: the evaluator reads them from Redis by session id,
 * which rides sealed. Everything read back from Redis is checked against the job key (job-mac.ts)
 * before it is used. Finished jobs are removed by the replica that asked, and expire by time.
 */
import { UnrecoverableError } from 'bullmq'
import { HttpError, toApiError } from '../http/http-error'
import { integrityFailed, sha256, type JobMac } from './job-mac'

export type EvalJobName = 'validate' | 'classify'

export interface EvalJobData {
  /** the session id, sealed to this job (JobMac.seal): no bearer token in the clear */
  session: string
  model: string
  /** SHA-256 of the request container (a validation: of the uploaded key container) */
  requestHash: string
  /** HMAC over job id, op, session, model and requestHash */
  mac: string
}

export interface EvalJobResult {
  ms: number
  parts: number
  /** HMAC over job id, op, the request hash and these timings */
  mac: string
}

/** What an evaluator reads from a job once it verified. */
export interface OpenedJob {
  session: string
  model: string
  requestHash: string
}

/** The data of a job that binds `container` (request, or keys to validate) to `session` and `model`. */
export function sealJob(mac: JobMac, jobId: string, op: EvalJobName, session: string, model: string, container: Uint8Array): EvalJobData {
  const requestHash = sha256(container)
  return { session: mac.seal(session, jobId), model, requestHash, mac: mac.mac('job', jobId, op, session, model, requestHash) }
}

/** The job's session, model and request hash; throws integrity_failed for a job the API did not make. */
export function openJob(mac: JobMac, jobId: string, op: string, data: Partial<EvalJobData>): OpenedJob {
  const session = mac.open(data?.session, jobId)
  const { model, requestHash } = data ?? {}
  if (session === undefined || typeof model !== 'string' || typeof requestHash !== 'string' || !mac.verify(data.mac, 'job', jobId, op, session, model, requestHash)) {
    throw integrityFailed('the job')
  }
  return { session, model, requestHash }
}

/** Throws integrity_failed unless `container` is the one the job was made for. */
export function checkContainer(job: OpenedJob, container: Uint8Array, what: string): void {
  if (sha256(container) !== job.requestHash) throw integrityFailed(what)
}

/** The job's return value, its timings bound to the job and its request. */
export function sealResult(mac: JobMac, jobId: string, op: EvalJobName, requestHash: string, ms: number, parts: number): EvalJobResult {
  return { ms, parts, mac: mac.mac('result', jobId, op, requestHash, String(ms), String(parts)) }
}

/** Throws integrity_failed unless `r` is what an evaluator answered for this job. */
export function checkResult(mac: JobMac, jobId: string, op: EvalJobName, data: EvalJobData, r: Partial<EvalJobResult> | undefined): EvalJobResult {
  if (!r || typeof r.ms !== 'number' || typeof r.parts !== 'number' || !mac.verify(r.mac, 'result', jobId, op, data.requestHash, String(r.ms), String(r.parts))) {
    throw integrityFailed("the evaluation's answer")
  }
  return r as EvalJobResult
}

const RESPONSE_MAC_BYTES = 43

/** The response container as stored under redisKeys.result: its MAC (over job id and hash), then the bytes. */
export function sealResponse(mac: JobMac, jobId: string, response: Uint8Array): Buffer {
  const tag = Buffer.from(mac.mac('response', jobId, sha256(response)))
  return Buffer.concat([tag, response])
}

/** The response container of a stored record; throws integrity_failed for one the evaluator did not write for this job. */
export function openResponse(mac: JobMac, jobId: string, stored: Buffer): Uint8Array {
  const response = stored.subarray(RESPONSE_MAC_BYTES)
  if (!mac.verify(stored.subarray(0, RESPONSE_MAC_BYTES).toString(), 'response', jobId, sha256(response))) throw integrityFailed("the evaluation's response")
  return new Uint8Array(response.buffer, response.byteOffset, response.byteLength)
}

/** A cancel flag's value: only a replica holding the job key can raise one. */
export function cancelFlag(mac: JobMac, jobId: string): string {
  return mac.mac('cancel', jobId)
}

/** the progress an evaluator reports (job.updateProgress), as WorkerPool's onProgress gives it */
export interface EvalProgress {
  done: number
  total: number
  stage?: string
}

const TAG = 'blindfold:'

/**
 * The error an evaluator's processor throws for `e`: its API status, code and message ride in
 * the failure reason. A client fault (4xx, a cancel) is unrecoverable, so BullMQ does not retry
 * it, nor a job past its deadline (504: a rerun would take as long) or one that did not verify
 * (502: it never will); a server fault (a crashed worker) may be retried on another attempt.
 */
export function jobError(e: unknown): Error {
  const m = toApiError(e)
  const reason = TAG + JSON.stringify({ s: m.statusCode, c: m.body.error.code, m: m.body.error.message, h: m.headers })
  const final = m.statusCode < 500 || m.statusCode === 502 || m.statusCode === 504
  return final ? new UnrecoverableError(reason) : new Error(reason)
}

/** The HttpError an API replica answers for a job's failure reason. */
export function errorOfReason(reason: string | undefined): HttpError {
  if (reason?.startsWith(TAG)) {
    try {
      const { s, c, m, h } = JSON.parse(reason.slice(TAG.length)) as { s: number; c: string; m: string; h: Record<string, string> }
      return new HttpError(s, c, m, h)
    } catch {
      // fall through
    }
  }
  // a stalled job past its retries (its evaluators died), or anything else BullMQ itself says
  return new HttpError(500, 'worker_crashed', 'the evaluator running this request failed; retry')
}
