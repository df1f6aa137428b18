// Serves the built SPA (dist/) when present; unknown non-API GETs fall back to index.html.
import type { FastifyInstance } from 'fastify'
import fastifyStatic from '@fastify/static'
import { existsSync } from 'node:fs'
import { join, relative, sep } from 'node:path'
import { API_PREFIX } from '../../src/api/wire'
import { HttpError } from './http-error'

export async function staticSite(app: FastifyInstance, dir: string | undefined): Promise<void> {
  const site = dir && existsSync(join(dir, 'index.html')) ? dir : undefined
  if (site) {
    await app.register(fastifyStatic, {
      root: site,
      wildcard: false,
      // the build writes .br and .gz copies beside each compressible file (scripts/tools/precompress.ts):
      // sent as is to a client that accepts them, so no response is compressed per request
      preCompressed: true,
      // Cache-Control is set here alone: the plugin's own (max-age=0) would override setHeaders
      cacheControl: false,
      setHeaders: (res, path) => {
        res.setHeader('vary', 'accept-encoding')
        // hashed asset names never change content; the page and the manifest are revalidated each time
        res.setHeader('cache-control', relative(site, path).startsWith(`assets${sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache')
      },
    })
  }
  app.setNotFoundHandler((request, reply) => {
    if (site && request.method === 'GET' && !request.url.startsWith(API_PREFIX) && !request.url.startsWith('/assets/')) {
      return reply.type('text/html').sendFile('index.html')
    }
    // the message never quotes the URL: it may be long or hold a session id
    throw new HttpError(404, 'not_found', 'no such route')
  })
}
