// Pino options: request id, method, route pattern, status, timing. Never URLs (they hold session ids), bodies or keys.
import type { FastifyServerOptions } from 'fastify'

export function loggerOptions(level: string): FastifyServerOptions['logger'] {
  return {
    level,
    serializers: {
      req(req: { method?: string; routeOptions?: { url?: string } }) {
        return { method: req.method, route: req.routeOptions?.url ?? 'unmatched' }
      },
      res(res: { statusCode?: number }) {
        return { statusCode: res.statusCode }
      },
    },
  }
}
