/**
 * Headers on every response. The CSP fits the Vite build: module scripts from
 * our origin only (no inline script), WASM compilation for SEAL
 * ('wasm-unsafe-eval', not 'unsafe-eval': node-seal has no eval/new Function),
 * blob: workers and images, and fetches to our own API only.
 */
import type { FastifyInstance } from 'fastify'

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "worker-src 'self' blob:",
  "img-src 'self' blob: data:",
  "style-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "object-src 'none'",
].join('; ')

export function securityHeaders(app: FastifyInstance): void {
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('content-security-policy', CONTENT_SECURITY_POLICY)
    reply.header('x-content-type-options', 'nosniff')
    reply.header('referrer-policy', 'no-referrer')
    reply.header('x-frame-options', 'DENY')
    reply.header('cross-origin-opener-policy', 'same-origin')
    return payload
  })
}

/** CORS only when an origin is configured: otherwise the browser's same-origin rule stands. */
export function cors(app: FastifyInstance, origin: string | undefined): void {
  if (!origin) return
  app.addHook('onRequest', async (request, reply) => {
    if (request.headers.origin !== origin) return
    reply.header('access-control-allow-origin', origin)
    reply.header('vary', 'Origin')
    reply.header('access-control-expose-headers', 'x-blindfold-server-ms, retry-after')
    if (request.method === 'OPTIONS') {
      reply.header('access-control-allow-methods', 'GET, POST, DELETE')
      reply.header('access-control-allow-headers', 'content-type')
      reply.header('access-control-max-age', '600')
      return reply.code(204).send()
    }
  })
}
