/**
 * Answers that Fastify and Node produce before any route or hook runs, in the API's error
 * format with the security headers:
 * - `frameworkErrors`: a URL that is not valid percent-encoding (FST_ERR_BAD_URL), a path
 *   parameter over maxParamLength (FST_ERR_MAX_PARAM_LENGTH, 414), an async constraint failure.
 *   These replies skip every hook (no onSend: headers are set here) and read no body; they are
 *   not rate-limited because a 429 would cost the server exactly as much as this answer.
 * - `clientErrorHandler`: what Node's HTTP parser refuses (headers over the size limit, request
 *   timeout, malformed HTTP), written straight to the socket, which is then closed.
 * Neither ever quotes the URL.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import type { Socket } from 'node:net'
import { STATUS_CODES } from 'node:http'
import { declaresBody } from './body-policy'
import { apiError, toApiError } from './http-error'
import { applySecurityHeaders, SECURITY_HEADERS } from './security-headers'

export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const mapped = toApiError(error)
  request.log.info({ code: mapped.body.error.code }, 'request refused before routing')
  applySecurityHeaders(reply)
  if (declaresBody(request.headers)) reply.header('connection', 'close')
  reply.code(mapped.statusCode).headers(mapped.headers).type('application/json').send(mapped.body)
}

/** `onAnswer` (metrics) is told the code of every answer actually written. */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket, onAnswer?: (code: string) => void): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return
  const [status, code, message] =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'request_timeout', 'the request did not arrive in time']
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'headers_too_large', 'the request line and headers exceed the size limit']
        : [400, 'bad_request', 'malformed HTTP request']
  if (writeRawError(socket, status, code, message)) onAnswer?.(code)
  socket.destroy(error)
}

/** An API error written straight to a socket (no request, or none Fastify will answer), with the security headers; whether it was written. */
export function writeRawError(socket: Socket, status: number, code: string, message: string, extra: Record<string, string> = {}): boolean {
  if (!socket.writable) return false
  const body = JSON.stringify(apiError(code, message))
  const headers = {
    ...SECURITY_HEADERS,
    'cache-control': 'no-store',
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    ...extra,
    connection: 'close',
  }
  const head = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')
  socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${head}\r\n${body}`)
  return true
}
