/**
 * The built site as the real server sends it: a script with its precompressed copies
 * (scripts/tools/precompress.ts) goes out as Brotli or gzip to a client that accepts it, byte for
 * byte the script once decoded, and as the plain file to a client that accepts neither.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { brotliDecompressSync, gunzipSync } from 'node:zlib'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { precompressDir } from '../../scripts/tools/precompress'
import { buildApp } from '../app'
import { randomModel } from '../test-support/models'

const SCRIPT = 'assets/index-Ab12.js'
let dir: string
let app: FastifyInstance
let port: number

/** One GET on loopback, the body as sent (no decoding). */
function get(path: string, acceptEncoding?: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const headers = acceptEncoding === undefined ? {} : { 'accept-encoding': acceptEncoding }
    request({ host: '127.0.0.1', port, path, headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }))
      res.on('error', reject)
    })
      .on('error', reject)
      .end()
  })
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'blindfold-site-'))
  mkdirSync(join(dir, 'assets'))
  writeFileSync(join(dir, 'index.html'), '<!doctype html><html lang="en"><title>Blindfold</title><script type="module" src="/assets/index-Ab12.js"></script></html>\n')
  const lines = Array.from({ length: 400 }, (_, i) => `export const value${i} = ${i * 7} + ${JSON.stringify('text '.repeat(i % 9))}.length\n`)
  writeFileSync(join(dir, SCRIPT), lines.join(''))
  await precompressDir(dir)
  const m = await randomModel('random-cnn', 8, 1)
  app = await buildApp({ models: new Map([[m.manifest.name, m]]), poolSize: 1, rateLimitMax: 0, staticDir: dir })
  await app.listen({ port: 0, host: '127.0.0.1' })
  port = (app.server.address() as AddressInfo).port
})

afterAll(async () => {
  await app?.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('precompressed static files', () => {
  it('writes smaller Brotli and gzip copies beside the script', () => {
    const plain = readFileSync(join(dir, SCRIPT))
    expect(readFileSync(join(dir, `${SCRIPT}.br`)).length).toBeLessThan(plain.length / 3)
    expect(readFileSync(join(dir, `${SCRIPT}.gz`)).length).toBeLessThan(plain.length / 3)
    // the page is under a kilobyte: not worth a copy
    expect(existsSync(join(dir, 'index.html.br'))).toBe(false)
  })

  it('sends Brotli to a client that accepts it, the same bytes once decoded, cached as an immutable asset', async () => {
    const res = await get(`/${SCRIPT}`, 'gzip, deflate, br')
    expect(res.status).toBe(200)
    expect(res.headers['content-encoding']).toBe('br')
    expect(res.headers['content-type']).toMatch(/^(text|application)\/javascript/)
    expect(res.headers.vary).toMatch(/accept-encoding/i)
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable')
    expect(brotliDecompressSync(res.body).equals(readFileSync(join(dir, SCRIPT)))).toBe(true)
  })

  it('sends gzip to a client that accepts only gzip, the same bytes once decoded', async () => {
    const res = await get(`/${SCRIPT}`, 'gzip')
    expect(res.status).toBe(200)
    expect(res.headers['content-encoding']).toBe('gzip')
    expect(gunzipSync(res.body).equals(readFileSync(join(dir, SCRIPT)))).toBe(true)
  })

  it('sends the plain file when no encoding is accepted', async () => {
    for (const accept of [undefined, 'identity']) {
      const res = await get(`/${SCRIPT}`, accept)
      expect(res.status).toBe(200)
      expect(res.headers['content-encoding']).toBeUndefined()
      expect(res.body.equals(readFileSync(join(dir, SCRIPT)))).toBe(true)
    }
  })

  it('still serves the page and answers 404 for an asset it does not have', async () => {
    const page = await get('/', 'br')
    expect(page.status).toBe(200)
    expect(page.body.toString()).toContain('<title>Blindfold</title>')
    expect(page.headers['cache-control']).toBe('no-cache')
    expect((await get('/assets/missing-Zz99.js', 'gzip, br')).status).toBe(404)
  })
})
