// Errors the routes throw on purpose, and the mapping of every other failure to an ApiError body.
import { BlindfoldError, isClientFault } from '../src/he/errors'
import type { ApiError } from '../src/api/wire'

export class HttpError extends Error {
  readonly statusCode: number
  readonly code: string
  readonly headers: Record<string, string>
  constructor(statusCode: number, code: string, message: string, headers: Record<string, string> = {}) {
    super(message)
    this.name = 'HttpError'
    this.statusCode = statusCode
    this.code = code
    this.headers = headers
  }
}

/** Fastify's own error codes (body parsing, limits) mapped to the API's codes. */
const FASTIFY_CODES: Record<string, [number, string]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: [413, 'body_too_large'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, 'unsupported_media_type'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, 'bad_request'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'bad_request'],
  FST_ERR_CTP_INVALID_JSON_BODY: [400, 'bad_request'],
}

export interface MappedError {
  statusCode: number
  body: ApiError
  headers: Record<string, string>
}

export function toApiError(e: unknown): MappedError {
  const body = (code: string, message: string): ApiError => ({ error: { code, message } })
  if (e instanceof HttpError) return { statusCode: e.statusCode, body: body(e.code, e.message), headers: e.headers }
  if (e instanceof BlindfoldError) {
    return { statusCode: isClientFault(e.code) ? 400 : 500, body: body(e.code, e.message), headers: {} }
  }
  const err = e as { code?: unknown; statusCode?: unknown; message?: unknown }
  const known = typeof err?.code === 'string' ? FASTIFY_CODES[err.code] : undefined
  if (known) return { statusCode: known[0], body: body(known[1], String(err.message)), headers: {} }
  if (err?.statusCode === 429) return { statusCode: 429, body: body('rate_limited', String(err.message ?? 'too many requests')), headers: {} }
  const status = typeof err?.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500
  // never echo an unknown 5xx message: it may carry internals
  return { statusCode: status, body: body(status === 500 ? 'internal' : 'bad_request', status === 500 ? 'internal server error' : String(err?.message)), headers: {} }
}
