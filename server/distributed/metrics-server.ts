/**
 * An evaluator's own GET /metrics (it runs no Fastify app): the Prometheus text of its Metrics
 * registry on METRICS_PORT, bound to METRICS_HOST (loopback unless set: bind it to the private
 * address your Prometheus scrapes, never a public one). Anything else answers 404. Each
 * evaluator is its own scrape target; Prometheus tells them apart by `instance`.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Metrics } from '../metrics/metrics'

export async function serveMetrics(metrics: Metrics, port: number, host = '127.0.0.1'): Promise<{ server: Server; port: number }> {
  const server = createServer((request, response) => {
    if (request.method !== 'GET' || request.url !== '/metrics') {
      response.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'not_found', message: 'no such route' } }))
      return
    }
    metrics.exposition().then(
      ({ contentType, body }) => response.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' }).end(body),
      () => response.writeHead(500).end(),
    )
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => resolve())
  })
  return { server, port: (server.address() as AddressInfo).port }
}
