/**
 * Bodies are read only where a route needs one, and never before the client is known to be
 * within its rate limit. Fastify's default parsers (JSON, text) are removed: the only parser is
 * application/octet-stream, for the two binary routes, each with its own bodyLimit; the global
 * bodyLimit is tiny. Everything else is refused from the headers, before a byte of the body:
 * - an unmatched route with any method but GET/HEAD: 404 at once (the not-found handler would
 *   otherwise let Fastify parse the body first);
 * - a route that takes no body, but the request declares one: 413;
 * - a binary route, with another media type: 415.
 * A binary route whose limit depends on what the request names (a model, a session's model)
 * looks that up in its preParsing hook (limitedByTarget), still before a byte of the body:
 * an unknown target is refused there, a Content-Length above its limit is 413, and a chunked
 * body is counted as it streams and cut at that limit, not at the route's (largest) one.
 * An error answered while the client may still be sending its body closes the connection, so
 * the rest of that body is never read.
 */
import { Transform, type TransformCallback } from 'node:stream'
import type { FastifyInstance, FastifyReply, FastifyRequest, RequestPayload } from 'fastify'
import { BINARY } from '../../src/api/wire'
import { HttpError } from './http-error'

/** Global bodyLimit: larger than any body a non-binary route could need, which is none. */
export const DEFAULT_BODY_LIMIT = 1024

export function declaresBody(headers: FastifyRequest['headers']): boolean {
  const length = headers['content-length']
  return headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')
}

/** Parsers only; call before routes are declared. */
export function binaryOnlyParsers(app: FastifyInstance): void {
  app.removeAllContentTypeParsers()
  // raw bytes, bounded by the route's bodyLimit as they arrive (and by Content-Length before)
  app.addContentTypeParser(BINARY, { parseAs: 'buffer' }, (_req, body, done) => done(null, body))
}

/** The onRequest hook that refuses bodies where none belong (see the file comment). */
export async function refuseUnwantedBodies(request: FastifyRequest): Promise<void> {
  if (request.is404) {
    if (request.method !== 'GET' && request.method !== 'HEAD') throw new HttpError(404, 'not_found', `no such route for ${request.method}`)
    if (declaresBody(request.headers)) throw new HttpError(404, 'not_found', 'no such route')
    return
  }
  const binary = request.routeOptions.config.binaryBody === true
  if (!binary) {
    if (declaresBody(request.headers)) throw new HttpError(413, 'body_too_large', 'this route takes no body')
    return
  }
  const type = (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase()
  if (type !== BINARY) {
    throw new HttpError(415, 'unsupported_media_type', `expected ${BINARY}, got ${type.slice(0, 60) || 'no content type'}`)
  }
}

/** onSend: an error answer to a request whose body was not read to the end ends the connection. */
export async function closeOnUnreadBody(request: FastifyRequest, reply: { statusCode: number; header(k: string, v: string): unknown }): Promise<void> {
  if (reply.statusCode >= 400 && declaresBody(request.headers) && request.raw.complete !== true) reply.header('connection', 'close')
}

const tooLarge = (limit: number, what: string) => new HttpError(413, 'body_too_large', `the body is larger than ${what} accepts (${limit} bytes)`)

/**
 * A route's preParsing hook holding its body to the limit of what the request names:
 * `limitOf` answers that limit and what it belongs to, or throws (unknown model or session).
 */
export function limitedByTarget(limitOf: (request: FastifyRequest) => Promise<{ limit: number; what: string }>) {
  return async (request: FastifyRequest, _reply: FastifyReply, payload: RequestPayload): Promise<RequestPayload> => {
    const { limit, what } = await limitOf(request)
    const declared = Number(request.headers['content-length'])
    if (declared > limit) throw tooLarge(limit, what)
    return cappedStream(payload, limit, what)
  }
}

/** The body passed through, failing with 413 once more than `limit` bytes have arrived. */
function cappedStream(payload: RequestPayload, limit: number, what: string): RequestPayload {
  let received = 0
  const capped = new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback) {
      received += chunk.byteLength
      ;(capped as unknown as { receivedEncodedLength: number }).receivedEncodedLength = received
      if (received > limit) {
        payload.unpipe(capped)
        done(tooLarge(limit, what))
        return
      }
      done(null, chunk)
    },
  })
  payload.on('error', (e) => capped.destroy(e))
  return payload.pipe(capped) as unknown as RequestPayload
}
