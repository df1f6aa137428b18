/**
 * Following and stopping a classification while its POST is open.
 *
 * - A client may name a classification with the x-blindfold-request-id header
 *   (REQUEST_ID_PATTERN); GET paths.job(session, requestId) then answers its JobProgress
 *   (queued and where, running and how far, then how it ended for JOB_KEEP_MS), DELETE
 *   cancels it: 204, the worker stops at its next check, the POST answers 409 cancelled and
 *   the query is given back.
 * - A client that closes the connection before its answer (a browser's AbortController)
 *   cancels the work too, named or not: nobody would read the answer.
 *
 * The header is read in the classify route's onRequest hook, before the body: a bad id is
 * refused without reading it, and the job can be polled while its body is still arriving.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { headers, paths, REQUEST_ID_PATTERN, type JobProgress } from '../../src/api/wire'
import { HttpError } from '../http/http-error'
import type { TrackedJob } from '../sessions/job-registry'
import { cancelJob, jobProgress } from './jobs.schema'

/** how long a finished job's final state answers GET */
export const JOB_KEEP_MS = 60_000
/** final states kept in all (the oldest go first) */
export const JOB_KEEP_MAX = 4096

const jobPattern = `${paths.sessions}/:id/jobs/:requestId`
const badRequestId = () => new HttpError(400, 'bad_request', `${headers.requestId} must be 16 to 64 of A-Z a-z 0-9 _ -`)
const unknownJob = () => new HttpError(404, 'unknown_job', 'no such classification in this session (unknown, or ended more than a minute ago)')

/** One classification request, from its headers to its answer. */
export interface Classification {
  /** what GET/DELETE find it by, when the client named it */
  readonly tracked?: TrackedJob
  /** DELETE cancelled it, or the client went away: it must give no answer and count no query */
  stopped(): boolean
}

const classifications = new WeakMap<FastifyRequest, Classification>()

/** The classification the classify route's onRequest hook (trackClassification) opened for this request. */
export function classificationOf(request: FastifyRequest): Classification {
  const c = classifications.get(request)
  if (!c) throw new HttpError(500, 'internal', 'classification not tracked')
  return c
}

/**
 * The classify route's onRequest hook: reads the request id (400 if malformed, 409 if this
 * session already runs a job under it), registers the job, and stops the work if the
 * connection closes before the answer.
 */
export function trackClassification(app: FastifyInstance) {
  const { jobs, evaluation: pool, sessions, models } = app.blindfold
  return async (request: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply): Promise<void> => {
    const requestId = request.headers[headers.requestId]
    let tracked: TrackedJob | undefined
    if (requestId !== undefined) {
      if (typeof requestId !== 'string' || !REQUEST_ID_PATTERN.test(requestId)) throw badRequestId()
      // an unknown session is answered 404 by the route; nothing to follow
      const session = await sessions.peek(request.params.id)
      if (session) tracked = jobs.open(session.id, requestId, request.id, models.get(session.model)!.stageNames)
    }
    let abandoned = false
    classifications.set(request, { tracked, stopped: () => abandoned || tracked?.cancelRequested === true })
    reply.raw.on('close', () => {
      // closed before an answer was sent: the client went away (inject() never sets writableFinished)
      if (!reply.sent && !reply.raw.writableFinished) {
        abandoned = true
        pool.cancel(request.id)
      }
      // the route settles a job it submitted; this catches every other end (refused early, aborted upload)
      if (tracked) jobs.finish(tracked, abandoned || tracked.cancelRequested ? 'cancelled' : 'failed')
    })
  }
}

/** The client's view of a tracked job now. */
async function progressOf(job: TrackedJob, app: FastifyInstance): Promise<JobProgress> {
  const base = { requestId: job.requestId, total: job.stages.length }
  if (job.final) return { ...base, state: job.final.state, done: job.done }
  if (job.cancelRequested) return { ...base, state: 'cancelled', done: job.done }
  const now = await app.blindfold.evaluation.progress(job.poolKey)
  // not in the pool yet: its body is still arriving
  if (!now) return { ...base, state: 'queued', done: 0 }
  if (now.state === 'queued') return { ...base, state: 'queued', queuePosition: now.queuePosition, done: 0 }
  return { ...base, state: 'running', done: now.done, ...(now.done < job.stages.length ? { stage: now.stage ?? job.stages[now.done] } : {}) }
}

export async function jobRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const { jobs, evaluation: pool } = app.blindfold
  // the schema has checked the request id's format (400 bad_request)
  const find = (params: { id: string; requestId: string }) => {
    const job = jobs.find(params.id, params.requestId)
    if (!job) throw unknownJob()
    return job
  }

  // polled every few hundred ms while an image is evaluated: costs 1 point like any GET, reads no session
  app.get(jobPattern, { schema: jobProgress }, async (request): Promise<JobProgress> => progressOf(find(request.params), fastify))

  app.delete(jobPattern, { schema: cancelJob }, async (request, reply) => {
    const job = find(request.params)
    // a job that already ended stays as it ended
    if (!job.final) {
      job.cancelRequested = true
      pool.cancel(job.poolKey) // false while its body is still arriving: the route then refuses to start it
    }
    return reply.code(204).send()
  })
}
