/**
 * HTTP wire types shared by the browser and the server: one place for paths,
 * versions, headers and JSON shapes. Binary bodies (keys, ciphertexts) are
 * the containers of src/he/wire.ts, sent as application/octet-stream.
 */
import type { PublicModel } from '../model/manifest'
export { WIRE_FORMAT_VERSION } from '../he/wire'

export const API_PREFIX = '/api/v1'
export const BINARY = 'application/octet-stream'

export const paths = {
  models: `${API_PREFIX}/models`,
  sessions: `${API_PREFIX}/sessions`,
  session: (id: string) => `${API_PREFIX}/sessions/${encodeURIComponent(id)}`,
  classify: (id: string) => `${API_PREFIX}/sessions/${encodeURIComponent(id)}/classify`,
  health: '/healthz',
  ready: '/readyz',
} as const

/** Response headers the browser reads to show per-stage timings. */
export const headers = {
  /** milliseconds the server spent evaluating the network on ciphertexts */
  serverMs: 'x-blindfold-server-ms',
  /** how many worker threads shared this image (1, or more for a split model on an idle server) */
  serverWorkers: 'x-blindfold-server-workers',
} as const

export interface ModelsResponse {
  models: PublicModel[]
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
  | 'timeout'
  | 'worker_crashed'
  | 'not_found'
  | 'internal'
  // plus every engine code of src/he/errors.ts (bad_container, wrong_level, ...)
  | (string & {})

export interface ApiError {
  error: { code: ApiErrorCode; message: string }
}
