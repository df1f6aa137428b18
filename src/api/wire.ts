/**
 * HTTP wire types shared by the browser and the server: one place for paths,
 * versions, headers and JSON shapes. Binary bodies (keys, ciphertexts) are
 * the containers of src/he/wire.ts, sent as application/octet-stream.
 */
import type { PublicModel } from '../he/public-model'
export { WIRE_FORMAT_VERSION } from '../he/wire'

export const API_PREFIX = '/api/v1'
export const BINARY = 'application/octet-stream'

export const paths = {
  models: `${API_PREFIX}/models`,
  sessions: `${API_PREFIX}/sessions`,
  session: (id: string) => `${API_PREFIX}/sessions/${encodeURIComponent(id)}`,
  classify: (id: string) => `${API_PREFIX}/sessions/${encodeURIComponent(id)}/classify`,
  /** GET: the progress of one classification (JobProgress); DELETE: cancel it (204) */
  job: (id: string, requestId: string) => `${API_PREFIX}/sessions/${encodeURIComponent(id)}/jobs/${encodeURIComponent(requestId)}`,
  /** the OpenAPI 3.1 document of this API, generated from the route schemas */
  openapi: `${API_PREFIX}/openapi.json`,
  health: '/healthz',
  ready: '/readyz',
} as const

/** Response headers the browser reads to show per-stage timings. */
export const headers = {
  /** milliseconds the server spent evaluating the network on ciphertexts */
  serverMs: 'x-blindfold-server-ms',
  /** how many worker threads shared this image (1, or more for a split model on an idle server) */
  serverWorkers: 'x-blindfold-server-workers',
  /**
   * request header of a classification: an id the client chose (REQUEST_ID_PATTERN) under which
   * it can follow the job's progress and cancel it (paths.job) while the POST is open. Unique
   * per session among live jobs (else 409 request_id_in_use); malformed: 400 bad_request
   */
  requestId: 'x-blindfold-request-id',
} as const

/** what a client-chosen request id may be: 16 to 64 of A-Z a-z 0-9 _ - (a random UUID fits) */
export const REQUEST_ID_PATTERN = /^[A-Za-z0-9_-]{16,64}$/

/**
 * One classification as the server sees it, for the client's progress display
 * (GET paths.job). Progress is real: `done` counts the plan's stages (a linear
 * layer run or an activation) the evaluator has finished on this image, as the
 * worker reports them. A finished job's last state answers for 60 s after its POST ended.
 */
export interface JobProgress {
  requestId: string
  /**
   * queued: waiting for a worker (or its body still arriving); running: on a worker;
   * done: answered; failed: answered with an error; cancelled: by DELETE or by the client closing the POST
   */
  state: 'queued' | 'running' | 'done' | 'failed' | 'cancelled'
  /** while queued in the pool: how many jobs are ahead of this one (absent while its body is still arriving) */
  queuePosition?: number
  /** stages finished; total once done */
  done: number
  total: number
  /** while running: name of the stage running now, as the server names the plan's stages (e.g. "conv2", "poly1", "pool1+dense1") */
  stage?: string
}

/**
 * What a model costs on this server (published with each model in GET /models). Byte sizes are
 * the medians of the last 50 the server accepted or sent for this model (what clients really
 * send); before the first, the exact size of packed evaluation keys, of a seeded, uncompressed
 * request and of the packed response the server writes.
 */
export interface ModelCost {
  /** bytes of one evaluation-key upload */
  evaluationKeyBytes: number | null
  /** bytes of one classification request and its response */
  requestBytes: number | null
  responseBytes: number | null
  /** median worker time (ms) of the last 50 classifications on this server, and how many that is; null before the first */
  serverMs: { median: number; samples: number } | null
  /** which byte sizes are medians of what this server saw; the others are the plan's sizes */
  measured: { evaluationKeys: boolean; request: boolean; response: boolean }
}

/** The largest bodies this server accepts for a model (larger: 413 body_too_large). */
export interface ModelLimits {
  evaluationKeyBytes: number
  requestBytes: number
}

export interface ModelsResponse {
  /** ready: a server worker has built the model (false while it is still encoding the weights) */
  models: Array<PublicModel & { cost: ModelCost; limits: ModelLimits; ready: boolean }>
}

export interface SessionCreated {
  sessionId: string
  model: string
  /** ISO time; the TTL slides with each use */
  expiresAt: string
}

/** Codes the browser acts on; every 4xx/5xx body is an ApiError. */
export type ApiErrorCode =
  | 'unknown_session'
  | 'unknown_model'
  | 'unsupported_media_type'
  | 'body_too_large'
  | 'rate_limited'
  | 'overloaded'
  | 'model_loading'
  | 'timeout'
  | 'worker_crashed'
  | 'cancelled'
  | 'unknown_job'
  | 'request_id_in_use'
  | 'not_found'
  | 'internal'
  // plus every engine code of src/he/errors.ts (bad_container, wrong_level, ...)
  | (string & {})

export interface ApiError {
  error: { code: ApiErrorCode; message: string }
}
