/**
 * GET /metrics: the Prometheus text exposition (server/metrics/metrics.ts). Counts are operational data,
 * not for the public: only loopback clients and the addresses METRICS_ALLOW names get them;
 * anyone else gets the same 404 not_found as an unknown route (and is charged like one).
 * METRICS_ALLOW=none registers no route at all.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { BlockList, isIPv4, isIPv6 } from 'node:net'
import { Type } from '@sinclair/typebox'
import { HttpError } from '../http/http-error'
import { errorResponses } from './common.schema'

export const METRICS_PATH = '/metrics'

/** Headers a proxy adds: when request.ip did not come from them, the proxy is not trusted (TRUST_PROXY). */
const PROXY_HEADERS = ['forwarded', 'x-forwarded-for', 'x-real-ip'] as const

/**
 * Whether a request may read the metrics: request.ip (which honours TRUST_PROXY) is loopback or
 * in `allow`. A request carrying a proxy header that was not honoured (request.ip is the peer
 * itself) is refused even from loopback: it came through a proxy on this host that TRUST_PROXY
 * does not name, so its real client is unknown and probably public. With TRUST_PROXY trusting
 * every hop (`trustEveryHop`) any client can write its own address into X-Forwarded-For: only
 * requests without proxy headers, from an allowed peer, are accepted then.
 */
export function metricsAccess(
  allow: readonly string[],
  { trustEveryHop = false }: { trustEveryHop?: boolean } = {},
): (request: Pick<FastifyRequest, 'ip' | 'headers' | 'socket'>) => boolean {
  const list = new BlockList()
  list.addSubnet('127.0.0.0', 8, 'ipv4')
  list.addAddress('::1', 'ipv6')
  for (const entry of allow) {
    const [address, bits] = entry.split('/')
    const family = isIPv6(address) ? 'ipv6' : 'ipv4'
    if (bits === undefined) list.addAddress(address, family)
    else list.addSubnet(address, Number(bits), family)
  }
  return (request) => {
    const ip = normalise(request.ip)
    if (!ip) return false
    const proxied = PROXY_HEADERS.some((h) => request.headers[h] !== undefined)
    if (proxied && (trustEveryHop || request.ip === request.socket?.remoteAddress)) return false
    return list.check(ip, isIPv4(ip) ? 'ipv4' : 'ipv6')
  }
}

/** An IPv4 address for an IPv4-mapped IPv6 one, without a zone index; undefined if not an address. */
function normalise(ip: string | undefined): string | undefined {
  if (!ip) return undefined
  const address = ip.split('%')[0]
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  if (mapped && isIPv4(mapped[1])) return mapped[1]
  return isIPv4(address) || isIPv6(address) ? address : undefined
}

const scrape = {
  summary: 'Prometheus metrics',
  description:
    'The Prometheus text exposition: requests, refusals by error code, queue, sessions, pool and evaluation times. Only loopback clients and the addresses METRICS_ALLOW names get it; anyone else gets 404 not_found, as for an unknown route. Absent when METRICS_ALLOW=none.',
  response: {
    200: Type.Unsafe<string>({
      description: 'the exposition (text/plain; version=0.0.4)',
      content: { 'text/plain': { schema: { type: 'string' } } },
    }),
    ...errorResponses(404, 413, 429),
  },
}

export async function metricsRoutes(app: FastifyInstance, options: { allowed: (request: FastifyRequest) => boolean }): Promise<void> {
  const { metrics } = app.blindfold
  // no `cost`: a refused client is charged 1 point like any unknown route; app.ts exempts allowed scrapes
  app.get(METRICS_PATH, { schema: scrape }, async (request, reply) => {
    // the API's answer for an unknown route (static-site.ts), nothing about the metrics
    if (!options.allowed(request)) throw new HttpError(404, 'not_found', 'no such route')
    const { contentType, body } = await metrics.exposition()
    return reply.type(contentType).header('cache-control', 'no-store').send(body)
  })
}
