/**
 * Following and cancelling a classification by the request id its POST was sent with:
 * GET answers its JobProgress, DELETE cancels it.
 */
import { Type } from '@sinclair/typebox'
import { headers, type JobProgress } from '../../src/api/wire'
import { errorResponses, NoContent, RequestIdSchema, SessionIdSchema } from './common.schema'
import type { Equal } from './type-equal'

export const JobProgressSchema = Type.Object(
  {
    requestId: RequestIdSchema,
    state: Type.Union([Type.Literal('queued'), Type.Literal('running'), Type.Literal('done'), Type.Literal('failed'), Type.Literal('cancelled')], {
      description:
        'queued: waiting for a worker (or its body still arriving); running: on a worker; done / failed: its POST was answered; cancelled: by DELETE or by the client closing its POST',
    }),
    queuePosition: Type.Optional(Type.Integer({ minimum: 0, description: 'while queued in the pool: jobs ahead of it (absent while its body is still arriving)' })),
    done: Type.Integer({ minimum: 0, description: 'stages of the plan finished on this image (linear layer runs and activations), as the worker reports them; = total once done' }),
    total: Type.Integer({ minimum: 0, description: 'stages of the plan' }),
    stage: Type.Optional(Type.String({ description: 'while running: the stage running now, e.g. conv1, poly1, pool1+dense1' })),
  },
  { $id: 'JobProgress', description: 'One classification as the server sees it' },
)
export const typeCheckJobProgress: Equal<typeof JobProgressSchema.static, JobProgress> = true

const params = Type.Object({
  id: SessionIdSchema,
  requestId: Type.String({ ...RequestIdSchema, description: `the ${headers.requestId} the classification was sent with` }),
})

export const jobProgress = {
  summary: 'Progress of a classification',
  description:
    'Of a classification sent with this request id: queued (and its queue position), running (stages done, the stage running now), then how it ended, for 60 s after its POST ended. Meant to be polled (every few hundred ms); costs 1 rate-limit point like any GET and does not extend the session.',
  params,
  response: { 200: Type.Ref(JobProgressSchema), ...errorResponses(400, 404, 413, 414, 429) },
}

export const cancelJob = {
  summary: 'Cancel a classification',
  description:
    "A queued job leaves the queue, a running one stops at its worker's next check; its POST answers 409 cancelled and the query is given back. A job that already ended stays as it ended (204 all the same).",
  params,
  response: { 204: NoContent('cancelled (or already ended)'), ...errorResponses(400, 404, 413, 414, 429) },
}
