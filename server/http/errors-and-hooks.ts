/**
 * What every answer goes through: binary-only parsers, security headers, errors in the API
 * format (each 4xx/5xx counted once by its code), and connection handling at shutdown.
 */
import type { FastifyInstance } from 'fastify'
import type { Metrics } from '../metrics/metrics'
import { binaryOnlyParsers, closeOnUnreadBody } from './body-policy'
import { toApiError } from './http-error'
import { securityHeaders } from './security-headers'

export function errorsAndHooks(app: FastifyInstance, metrics: Metrics): void {
  // in-flight answers during shutdown end their keep-alive connection, so close() need not
  // wait out the keep-alive timeout (idle connections Fastify closes itself)
  let closing = false
  app.addHook('preClose', async () => {
    closing = true
  })
  app.addHook('onSend', async (request, reply, payload) => {
    if (closing) reply.header('connection', 'close')
    else await closeOnUnreadBody(request, reply)
    return payload
  })

  // every 4xx/5xx answered through the hooks is counted once, by its API error code: the error
  // handler's by the code it maps to, any other (readyz's 503) by the code in its JSON body
  const counted = new WeakSet<object>()
  app.addHook('onSend', async (request, reply, payload) => {
    if (reply.statusCode >= 400 && !counted.has(request)) {
      counted.add(request)
      metrics.rejected(errorCodeIn(payload))
    }
    return payload
  })
  app.setErrorHandler((error, request, reply) => {
    const mapped = toApiError(error)
    if (!counted.has(request)) {
      counted.add(request)
      metrics.rejected(mapped.body.error.code)
    }
    if (mapped.statusCode >= 500) request.log.error({ code: mapped.body.error.code, err: (error as Error)?.message }, 'request failed')
    else request.log.info({ code: mapped.body.error.code }, 'request refused')
    reply.code(mapped.statusCode).headers(mapped.headers).type('application/json').send(mapped.body)
  })

  binaryOnlyParsers(app)
  securityHeaders(app)
}

/** The API error code in an error answer's JSON body (`{ error: { code } }`), if any. */
function errorCodeIn(payload: unknown): string | undefined {
  if (typeof payload !== 'string' || payload.length > 4096) return undefined
  try {
    const code = (JSON.parse(payload) as { error?: { code?: unknown } } | null)?.error?.code
    return typeof code === 'string' ? code : undefined
  } catch {
    return undefined
  }
}
