/**
 * Connections are bounded per client address and in all, and idle or half-sent ones are closed:
 * real sockets from several loopback addresses (127.0.0.0/8 is all local on Linux), at small
 * caps. The socket's own address is what counts; a trusted proxy's is held only to the total.
 */
import { connect, type Socket } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { paths } from '../../src/api/wire'
import { startApp } from '../test-support/harness'

let capped: FastifyInstance // 5 per address, 9 in all, 127.0.0.3 a trusted proxy; long timeouts
let quick: FastifyInstance // short keep-alive and headers timeouts
const ports = { capped: 0, quick: 0 }
let sockets: Socket[] = []

const listen = async (app: FastifyInstance) => Number(new URL(await app.listen({ port: 0, host: '127.0.0.1' })).port)

beforeAll(async () => {
  ;({ app: capped } = await startApp({ connectionsPerClient: 5, connectionsMax: 9, trustProxy: '127.0.0.3', poolSize: 1 }))
  ;({ app: quick } = await startApp({ keepAliveTimeoutMs: 200, headersTimeoutMs: 500, poolSize: 1 }))
  ports.capped = await listen(capped)
  ports.quick = await listen(quick)
})
afterEach(() => {
  for (const s of sockets) s.destroy()
  sockets = []
})
afterAll(async () => {
  await capped?.close()
  await quick?.close()
})

/** A connected socket from `localAddress`. */
function open(port: number, localAddress: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, localAddress })
    sockets.push(s)
    s.once('connect', () => resolve(s))
    s.once('error', reject)
  })
}

/** Everything the server sends until it closes the connection. */
function untilClosed(s: Socket): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    s.on('data', (c) => chunks.push(c))
    s.on('error', () => {})
    s.once('close', () => resolve(Buffer.concat(chunks).toString('latin1')))
  })
}

/** The status of one GET over a fresh connection from `localAddress` (0: closed without an answer). */
async function get(port: number, localAddress: string, path: string = paths.health): Promise<number> {
  const s = await open(port, localAddress)
  const answer = untilClosed(s)
  s.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)
  const text = await answer
  return text.startsWith('HTTP/1.1 ') ? Number(text.split(' ')[1]) : 0
}

/** Open sockets that the server has counted: each has had an answer on a kept-alive connection. */
async function held(port: number, localAddress: string, count: number): Promise<Socket[]> {
  const out: Socket[] = []
  for (let i = 0; i < count; i++) {
    const s = await open(port, localAddress)
    await new Promise<void>((resolve) => {
      s.once('data', () => resolve())
      s.write(`GET ${paths.health} HTTP/1.1\r\nHost: x\r\n\r\n`)
    })
    out.push(s)
  }
  return out
}

describe('connections per client address and in all', () => {
  it('the sixth connection from one address is answered 503 too_many_connections and closed; another address is served', async () => {
    const five = await held(ports.capped, '127.0.0.1', 5)
    const sixth = await open(ports.capped, '127.0.0.1')
    const refused = await untilClosed(sixth)
    expect(refused.split(' ')[1]).toBe('503')
    expect(refused).toContain('"code":"too_many_connections"')
    expect(refused.toLowerCase()).toContain('retry-after: 1')
    expect(await get(ports.capped, '127.0.0.2')).toBe(200)
    // a closed connection gives its place back
    five[0].destroy()
    let status = 0
    for (let tries = 0; tries < 200 && status !== 200; tries++) status = await get(ports.capped, '127.0.0.1')
    expect(status).toBe(200)
  })

  it('a trusted proxy is held only to the total, which holds for everyone', async () => {
    await held(ports.capped, '127.0.0.3', 7) // over the per-address cap of 5
    await held(ports.capped, '127.0.0.4', 2) // 9 in all: the total
    const over = await open(ports.capped, '127.0.0.5').catch(() => undefined)
    // Node closes a connection over maxConnections at once, without an answer
    if (over) expect(await untilClosed(over)).toBe('')
  })
})

describe('idle connections do not stay', () => {
  it('a connection that sends nothing is closed after the headers timeout', async () => {
    const silent = await open(ports.quick, '127.0.0.6')
    const text = await untilClosed(silent)
    expect(text === '' || text.split(' ')[1] === '408').toBe(true)
  })

  it('a kept-alive connection is closed once idle, after its answer', async () => {
    const s = await open(ports.quick, '127.0.0.7')
    const all = untilClosed(s)
    s.write(`GET ${paths.health} HTTP/1.1\r\nHost: x\r\n\r\n`)
    const text = await all
    expect(text.split(' ')[1]).toBe('200')
    expect(text.toLowerCase()).toContain('keep-alive')
  })

  it('a request that arrived on a kept-alive connection while the event loop was busy past its idle timeout is answered, not reset', async () => {
    const s = await open(ports.quick, '127.0.0.8')
    const all = untilClosed(s)
    await new Promise<void>((resolve) => {
      s.once('data', () => resolve())
      s.write(`GET ${paths.health} HTTP/1.1\r\nHost: x\r\n\r\n`)
    })
    // the next request reaches the server's socket, then the loop (the server's as well: it runs in
    // this process) stays busy until the connection's idle timeout is overdue
    s.write(`GET ${paths.health} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)
    const busyUntil = Date.now() + quick.server.keepAliveTimeout + (quick.server.keepAliveTimeoutBuffer ?? 0) + 500
    while (Date.now() < busyUntil) {
      // busy: no timer and no read runs
    }
    const text = await all
    expect(text.match(/HTTP\/1\.1 200/g)).toHaveLength(2)
  })
})
