/**
 * What travels through the BullMQ queue between an API replica and an evaluator. Job data and
 * results are JSON in Redis, so they hold only names and timings; the binary containers stay
 * binary beside the job, under redisKeys.request (in) and redisKeys.result (out). Evaluation
 * keys never ride in a job: the evaluator reads them from Redis by session id. Finished jobs
 * are removed after a minute.
 */
import { UnrecoverableError } from 'bullmq'
import { HttpError, toApiError } from '../http-error'

export type EvalJobName = 'validate' | 'classify'

export interface EvalJobData {
  session: string
  model: string
}

export interface EvalJobResult {
  ms: number
  parts: number
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
 * it; a server fault (5xx: a crashed worker) may be retried on another attempt.
 */
export function jobError(e: unknown): Error {
  const m = toApiError(e)
  const reason = TAG + JSON.stringify({ s: m.statusCode, c: m.body.error.code, m: m.body.error.message, h: m.headers })
  return m.statusCode < 500 ? new UnrecoverableError(reason) : new Error(reason)
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
