/**
 * Schema pieces every route shares: the error body, the error answers a route may give (with
 * the codes each status carries), binary bodies, and the x-blindfold-request-id format.
 * Schemas with an `$id` are registered once (api-description.ts) and appear once in the
 * OpenAPI document's components; routes refer to them with Type.Ref.
 */
import { Type, type TSchema } from '@sinclair/typebox'
import { BINARY, REQUEST_ID_PATTERN, type ApiError } from '../../src/api/wire'
import { MAX_MESSAGE_CHARS } from '../http/http-error'
import type { Equal } from './type-equal'

export const ApiErrorSchema = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: 'machine-readable; the codes each status carries are listed with the status' }),
      message: Type.String({ maxLength: MAX_MESSAGE_CHARS, description: 'for people; never quotes the URL or long client input' }),
    }),
  },
  { $id: 'ApiError', description: 'The body of every error answer' },
)
export const typeCheckApiError: Equal<typeof ApiErrorSchema.static, ApiError> = true

/** What each status means across the API. */
const ERROR_CODES = {
  400: 'bad_request (a missing or malformed parameter, header or request id), bad_url, empty_body, or an engine code about the body: bad_container, bad_seal_header, unsupported_compression, bad_compression, bad_packing, wrong_object_size, not_ntt_form, unsupported_version, wrong_kind, seal_rejected, wrong_ciphertext_count, wrong_level, wrong_scale, wrong_size, transparent_ciphertext, missing_rotation_step, unexpected_rotation_step, missing_relin_key, invalid_parameters, insecure_parameters, parameters_mismatch',
  404: 'unknown_session, unknown_model, unknown_job or not_found',
  409: 'cancelled (DELETE on the job, or the client closed its POST) or request_id_in_use (this session has a live classification under that x-blindfold-request-id)',
  413: 'body_too_large (above the route or model limit, or a body where the route takes none)',
  414: 'uri_too_long (a path parameter longer than any valid one)',
  415: 'unsupported_media_type (the body is not application/octet-stream)',
  429: 'rate_limited (cost-weighted, per client) or query_budget_exhausted; Retry-After says how long to wait when waiting helps',
  500: 'worker_crashed, internal or model_mismatch',
  502: "integrity_failed (distributed mode: a job, its request container, the session's stored keys or the evaluation's answer did not verify against the key the API replicas and evaluators share: something changed them in Redis; nothing was answered from them)",
  503: 'overloaded, sessions_full, not_ready, model_loading (no worker has built the model yet) or store_unavailable (distributed mode: Redis unreachable); Retry-After',
  504: 'timeout',
} as const
export type ErrorStatus = keyof typeof ERROR_CODES

const retryAfter = { 'retry-after': { type: 'string', description: 'seconds to wait before trying again' } }

/** The error answers of a route, each an ApiError with the codes its status carries. */
export function errorResponses<S extends ErrorStatus>(...statuses: S[]): Record<S, TSchema> {
  const out = {} as Record<S, TSchema>
  for (const status of statuses) {
    out[status] = Type.Unsafe({
      description: `ApiError: ${ERROR_CODES[status]}`,
      ...(status === 429 || status === 503 ? { headers: retryAfter } : {}),
      content: { 'application/json': { schema: Type.Ref(ApiErrorSchema) } },
    })
  }
  return out
}

/**
 * A binary body. Fastify validates the parsed Buffer against it, which is not a JSON string,
 * so it has no `type` (nor `format`, which Ajv's strict mode wants typed); the OpenAPI document
 * gets `type: string, format: binary` (api-description.ts).
 */
export function binaryBody(description: string) {
  return { content: { [BINARY]: { schema: Type.Unsafe<Buffer>({ description }) } } }
}

/** A binary answer: the route sends a Buffer, which Fastify does not serialise. */
export function binaryAnswer(description: string, headers: Record<string, { type: 'string'; description: string }> = {}) {
  return Type.Unsafe<Buffer>({
    description,
    ...(Object.keys(headers).length > 0 ? { headers } : {}),
    content: { [BINARY]: { schema: { type: 'string', format: 'binary' } } },
  })
}

/** An answer without a body (204). */
export const NoContent = (description: string) => Type.Unsafe<undefined>({ type: 'null', description })

export const RequestIdSchema = Type.String({
  pattern: REQUEST_ID_PATTERN.source,
  description: '16 to 64 of A-Z a-z 0-9 _ - chosen by the client (a random UUID fits)',
})

/** A path's session id (as POST /sessions answered it). */
export const SessionIdSchema = Type.String({ description: 'sessionId of POST /api/v1/sessions' })
