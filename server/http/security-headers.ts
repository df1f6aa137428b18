/**
 * Headers on every response. The CSP fits the Vite build: module scripts from
 * our origin only (no inline script), WASM compilation for SEAL
 * ('wasm-unsafe-eval', not 'unsafe-eval': node-seal has no eval/new Function),
 * blob: workers and images, and fetches to our own API only.
 */
import type { FastifyInstance, FastifyReply } from 'fastify'
import { headers } from '../../src/api/wire'

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

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  // the page may use the camera ("Take a photo" for photo models) and nothing else of the device
  'permissions-policy': 'camera=(self), microphone=(), geolocation=(), payment=(), usb=()',
}

/**
 * Sets the security headers, and `Cache-Control: no-store` unless the answer set its own
 * caching (only the static SPA files do): API answers (session ids, errors) and health
 * answers must never be kept by a browser or a shared cache.
 */
export function applySecurityHeaders(reply: FastifyReply): void {
  reply.headers(SECURITY_HEADERS)
  if (!reply.hasHeader('cache-control') && !reply.raw.hasHeader('cache-control')) reply.header('cache-control', 'no-store')
}

/** Every answer that goes through Fastify's hooks; the few that do not (framework-errors.ts) call applySecurityHeaders themselves. */
export function securityHeaders(app: FastifyInstance): void {
  app.addHook('onSend', async (_request, reply, payload) => {
    applySecurityHeaders(reply)
    return payload
  })
}

/**
 * CORS only when an origin is configured: otherwise the browser's same-origin rule stands.
 * Two hooks so that the headers are set before the rate limit (a cross-origin page can then
 * read its 429) while preflights are answered after it (they are charged like any request).
 */
export function cors(origin: string | undefined) {
  return {
    headers: async (request: { headers: Record<string, unknown> }, reply: FastifyReply) => {
      if (!origin || request.headers.origin !== origin) return
      reply.header('access-control-allow-origin', origin)
      reply.header('vary', 'Origin')
      reply.header('access-control-expose-headers', `${headers.serverMs}, ${headers.serverWorkers}, retry-after`)
    },
    preflight: async (request: { method: string; headers: Record<string, unknown> }, reply: FastifyReply) => {
      if (!origin || request.headers.origin !== origin || request.method !== 'OPTIONS') return
      reply.header('access-control-allow-methods', 'GET, POST, DELETE')
      // the request id a classification may carry (progress and cancel, routes/jobs.ts)
      reply.header('access-control-allow-headers', `content-type, ${headers.requestId}`)
      reply.header('access-control-max-age', '600')
      return reply.code(204).send()
    },
  }
}
