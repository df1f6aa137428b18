/**
 * `npm run bench:abuse`: attacks on availability against a real embedded server (mnist-cnn,
 * the default limits unless stated), from loopback addresses 127.0.0.x, while a legitimate
 * client from its own address classifies MNIST digits and measures its answers and latency:
 * - connections: thousands of idle sockets from 4 addresses (per-address cap, idle timeouts);
 * - bodies: concurrent uploads declaring more than the model accepts, or naming no model,
 *   refused from their headers (the process's RSS before and after);
 * - sessions: 16 addresses uploading 4 key sets each into a store sized for 48 of them, then a
 *   new client asking for a session.
 * Attackers, client and server run in this one process (one event loop), so the latencies
 * include the attack traffic's handling. Every loop is bounded; the server stops at the end.
 * Writes docs/benchmarks/abuse/embedded.json.
 * The worker-kill attack (CIFAR-10 images past their deadline) needs cifar10-cnn and is not run here.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { connect, type Socket } from 'node:net'
import { cpus, totalmem } from 'node:os'
import { performance } from 'node:perf_hooks'
import { buildApp } from '../../server/app'
import { loadModels } from '../../src/datasets/model-files'
import { BINARY, paths, type SessionCreated } from '../../src/api/wire'
import { loadMnistSplit } from '../../src/datasets'
import { KeyOwner } from '../../src/he/key-owner'
import { publicModel } from '../../src/he/public-model'
import { argmax, forward, normalise } from '../../src/model/forward'

const OUT = 'docs/benchmarks/abuse/embedded.json'
const LEGIT = '127.0.0.10'
const IMAGES_PER_PHASE = 8

const all = await loadModels(process.env.MODELS_DIR || undefined)
const model = all.get('mnist-cnn')
if (!model) throw new Error('bench:abuse needs server/models/mnist-cnn')
const owner = await KeyOwner.create(publicModel(model.manifest))
const keyBytes = owner.evaluationKeys.byteLength
const app = await buildApp({ models: new Map([['mnist-cnn', model]]), poolSize: 2, sessionMaxBytes: 48 * keyBytes })
await app.blindfold.evaluation.ready
const port = Number(new URL(await app.listen({ port: 0, host: '127.0.0.1' })).port)

interface Answer {
  status: number
  body: Buffer
  ms: number
}

/** One request on its own connection from `localAddress`; status 0 when the connection failed. */
function send(method: string, path: string, localAddress: string, body?: Uint8Array): Promise<Answer> {
  const started = performance.now()
  return new Promise((resolve) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, method, path, localAddress, agent: false, headers: body ? { 'content-type': BINARY, 'content-length': body.byteLength } : {} },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), ms: performance.now() - started }))
        res.on('error', () => resolve({ status: 0, body: Buffer.alloc(0), ms: performance.now() - started }))
      },
    )
    req.on('error', () => resolve({ status: 0, body: Buffer.alloc(0), ms: performance.now() - started }))
    req.end(body ? Buffer.from(body.buffer, body.byteOffset, body.byteLength) : undefined)
  })
}

const mnist = loadMnistSplit('test')
let nextImage = 0
let legitSession = ''

async function legitSessionId(): Promise<string> {
  const r = await send('POST', `${paths.sessions}?model=mnist-cnn`, LEGIT, owner.evaluationKeys)
  if (r.status !== 201) throw new Error(`legitimate client: session ${r.status} ${r.body.toString().slice(0, 200)}`)
  return (JSON.parse(r.body.toString()) as SessionCreated).sessionId
}

/** The legitimate client's answers while `during` runs (at least IMAGES_PER_PHASE images). */
async function legit(during: Promise<unknown> = Promise.resolve()): Promise<{ answered: number; correct: number; sent: number; medianMs: number; statuses: number[] }> {
  let over = false
  void during.finally(() => (over = true))
  const ms: number[] = []
  const statuses: number[] = []
  let correct = 0
  for (let k = 0; k < IMAGES_PER_PHASE * 4 && (k < IMAGES_PER_PHASE || !over); k++) {
    const i = nextImage++ % 10_000
    const x = normalise(mnist.images.subarray(i * 784, (i + 1) * 784), model!.manifest)
    const r = await send('POST', paths.classify(legitSession), LEGIT, owner.encrypt(x))
    statuses.push(r.status)
    if (r.status !== 200) continue
    ms.push(r.ms)
    if (argmax(owner.decrypt(new Uint8Array(r.body))) === argmax(forward(model!.manifest, model!.weights, x))) correct++
  }
  await during
  ms.sort((a, b) => a - b)
  return { sent: statuses.length, answered: ms.length, correct, medianMs: ms.length ? Math.round(ms[ms.length >> 1]) : NaN, statuses: [...new Set(statuses)] }
}

/** Opens `count` idle sockets from each address and holds them past the headers timeout; what the server kept. */
async function connectionFlood(
  addresses: string[],
  count: number,
): Promise<{ opened: number; refused: number; serverOpenAt3s: number; serverOpenAt12s: number; closedByServer: number }> {
  const sockets: Socket[] = []
  let refused = 0
  let closedByServer = 0
  for (const localAddress of addresses) {
    for (let k = 0; k < count; k++) {
      const s = connect({ host: '127.0.0.1', port, localAddress })
      s.on('error', () => {})
      s.on('data', (d: Buffer) => {
        if (d.toString('latin1').includes('too_many_connections')) refused++
      })
      s.on('close', () => closedByServer++)
      sockets.push(s)
    }
  }
  const serverOpen = () => new Promise<number>((resolve) => app.server.getConnections((_e, n) => resolve(n)))
  await new Promise((r) => setTimeout(r, 3000))
  const serverOpenAt3s = await serverOpen()
  await new Promise((r) => setTimeout(r, 9000))
  const serverOpenAt12s = await serverOpen()
  for (const s of sockets) s.destroy()
  return { opened: sockets.length, refused, serverOpenAt3s, serverOpenAt12s, closedByServer }
}

/** Concurrent uploads declaring `declared` bytes, each sending its first megabyte only. */
function bodyFlood(count: number, model: string, declared: number): Promise<number[]> {
  const start = Buffer.alloc(1024 * 1024, 0x42)
  return Promise.all(
    Array.from({ length: count }, (_, k) => {
      return new Promise<number>((resolve) => {
        const s = connect({ host: '127.0.0.1', port, localAddress: `127.0.0.${40 + (k % 8)}` })
        let text = ''
        s.on('data', (d: Buffer) => (text += d.toString('latin1')))
        s.on('error', () => {})
        s.on('close', () => resolve(Number(text.split(' ')[1]) || 0))
        s.write(`POST ${paths.sessions}?model=${model} HTTP/1.1\r\nHost: x\r\nContent-Type: ${BINARY}\r\nContent-Length: ${declared}\r\n\r\n`)
        s.write(start)
        setTimeout(() => s.destroy(), 20_000)
      })
    }),
  )
}

async function sessionLockOut(): Promise<{ uploads: Record<string, number>; newClient: { status: number; ms: number }; legitKept: boolean }> {
  const uploads: Record<string, number> = {}
  await Promise.all(
    Array.from({ length: 16 }, async (_, a) => {
      for (let k = 0; k < 4; k++) {
        const r = await send('POST', `${paths.sessions}?model=mnist-cnn`, `127.0.0.${60 + a}`, owner.evaluationKeys)
        uploads[r.status] = (uploads[r.status] ?? 0) + 1
      }
    }),
  )
  const newClient = await send('POST', `${paths.sessions}?model=mnist-cnn`, '127.0.0.99', owner.evaluationKeys)
  const legitKept = (await app.blindfold.sessions.peek(legitSession)) !== undefined
  return { uploads, newClient: { status: newClient.status, ms: Math.round(newClient.ms) }, legitKept }
}

const rss = () => Math.round(process.memoryUsage().rss / 2 ** 20)
const ratio = (phase: { medianMs: number }, idle: { medianMs: number }) => Math.round((phase.medianMs / idle.medianMs) * 100) / 100

try {
  legitSession = await legitSessionId()
  const idle = await legit()
  const flood = connectionFlood(['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'], 2500)
  const duringConnections = await legit(flood)
  const connections = await flood
  const rssBefore = rss()
  const bodies = Promise.all([bodyFlood(40, 'mnist-cnn', 47 * 1024 * 1024), bodyFlood(40, 'no-such-model', 47 * 1024 * 1024)])
  const duringBodies = await legit(bodies)
  const [oversize, unknown] = await bodies
  const rssAfter = rss()
  const lockOut = sessionLockOut()
  const duringSessions = await legit(lockOut)
  const sessions = await lockOut
  const result = {
    date: new Date().toISOString(),
    machine: `${cpus()[0]?.model ?? 'unknown'}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB`,
    command: 'npm run bench:abuse',
    note: 'attackers, the legitimate client and the server share one Node process (one event loop): latencies include the attack traffic handled in it',
    server: { mode: 'embedded', model: 'mnist-cnn', poolSize: 2, sessionMaxBytes: 48 * keyBytes, keyBytes, otherLimits: 'defaults' },
    idle,
    connections: { attack: '2,500 idle sockets from each of 4 addresses, held 12 s (the headers timeout is 10 s); server-side open connections counted at 3 s and 12 s', ...connections, legit: duringConnections, medianVsIdle: ratio(duringConnections, idle) },
    bodies: {
      attack: '40 uploads declaring 47 MB for mnist-cnn and 40 for an unknown model, 1 MB of each sent',
      statuses: { oversize: [...new Set(oversize)], unknownModel: [...new Set(unknown)] },
      rssMiB: { before: rssBefore, after: rssAfter },
      legit: duringBodies,
      medianVsIdle: ratio(duringBodies, idle),
    },
    sessions: { attack: '16 addresses x 4 key uploads into a store sized for 48 key sets, then a new client', ...sessions, legit: duringSessions, medianVsIdle: ratio(duringSessions, idle) },
  }
  mkdirSync('docs/benchmarks/abuse', { recursive: true })
  writeFileSync(OUT, JSON.stringify(result, null, 2) + '\n')
  console.log(JSON.stringify(result, null, 2))
} finally {
  owner.dispose()
  await app.close()
}
