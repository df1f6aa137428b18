// Errors the routes throw on purpose, and the mapping of every other failure to an ApiError body.
import { BlindfoldError, isClientFault } from '../../src/he/errors'
import type { ApiError } from '../../src/api/wire'

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

/** Longest message an error body carries: messages must never relay long client input. */
export const MAX_MESSAGE_CHARS = 200

/**
 * Fastify's own error codes mapped to the API's codes, with our own messages: several of
 * Fastify's messages quote the request URL.
 */
const FASTIFY_CODES: Record<string, [number, string, string]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: [413, 'body_too_large', 'the body is larger than this route accepts'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, 'unsupported_media_type', 'this route accepts no body of this media type'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, 'bad_request', 'the body length differs from Content-Length'],
  FST_ERR_BAD_URL: [400, 'bad_url', 'the URL is not valid percent-encoded UTF-8'],
  FST_ERR_MAX_PARAM_LENGTH: [414, 'uri_too_long', 'a path parameter is longer than any valid one'],
  FST_ERR_ASYNC_CONSTRAINT: [500, 'internal', 'internal server error'],
}

export interface MappedError {
  statusCode: number
  body: ApiError
  headers: Record<string, string>
}

export function apiError(code: string, message: string): ApiError {
  const bounded = message.length > MAX_MESSAGE_CHARS ? `${message.slice(0, MAX_MESSAGE_CHARS - 3)}...` : message
  return { error: { code, message: bounded } }
}

export function toApiError(e: unknown): MappedError {
  if (e instanceof HttpError) return { statusCode: e.statusCode, body: apiError(e.code, e.message), headers: e.headers }
  if (e instanceof BlindfoldError) {
    return { statusCode: isClientFault(e.code) ? 400 : 500, body: apiError(e.code, e.message), headers: {} }
  }
  const err = e as { code?: unknown; statusCode?: unknown; message?: unknown }
  const known = typeof err?.code === 'string' ? FASTIFY_CODES[err.code] : undefined
  if (known) return { statusCode: known[0], body: apiError(known[1], known[2]), headers: {} }
  if (err?.statusCode === 429) return { statusCode: 429, body: apiError('rate_limited', 'too many requests'), headers: {} }
  const status = typeof err?.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500
  // never echo an unknown message of Fastify or Node: it may quote the URL or internals
  return { statusCode: status, body: status === 500 ? apiError('internal', 'internal server error') : apiError('bad_request', 'the request is malformed'), headers: {} }
}
