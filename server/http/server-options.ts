/** The Fastify instance's own options: request ids, proxies, body, time and connection limits, framework errors. */
import type { FastifyHttpOptions, FastifyServerOptions } from 'fastify'
import type { Server } from 'node:http'
import { randomUUID } from 'node:crypto'
import type { ServerConfig } from '../config'
import type { Metrics } from '../metrics/metrics'
import { DEFAULT_BODY_LIMIT } from './body-policy'
import { connectionTimeouts } from './connection-limits'
import { clientErrorHandler, frameworkErrors } from './framework-errors'
import { toApiError } from './http-error'

/** a client trickling its request (slowloris) is cut off; the largest key set still uploads at a modest rate within it */
const REQUEST_TIMEOUT_MS = 120_000

export function serverOptions(config: Pick<ServerConfig, 'trustProxy' | 'keepAliveTimeoutMs' | 'headersTimeoutMs'>, logger: FastifyServerOptions['logger'], metrics: Metrics): FastifyHttpOptions<Server> {
  return {
    logger: logger ?? false,
    genReqId: () => randomUUID(),
    trustProxy: config.trustProxy,
    // only the two binary routes take a body, each with its own limit (body-policy.ts)
    bodyLimit: DEFAULT_BODY_LIMIT,
    requestTimeout: REQUEST_TIMEOUT_MS,
    // idle and half-sent connections are closed (connection-limits.ts)
    ...connectionTimeouts(config),
    // errors raised before routing and by Node's parser, in the API format (framework-errors.ts)
    frameworkErrors: (error, request, reply) => {
      metrics.rejected(toApiError(error).body.error.code)
      frameworkErrors(error, request, reply)
    },
    clientErrorHandler: (error, socket) => clientErrorHandler(error, socket, (code) => metrics.rejected(code)),
  }
}
