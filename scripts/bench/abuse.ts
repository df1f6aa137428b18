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
 * The worker-kill attack (CIFAR-10 images) is `npm run bench:abuse:worker-kill`, distributed mode
 * `npm run bench:abuse:distributed`.
 */
import { connect, type Socket } from 'node:net'
import { buildApp } from '../../server/app'
import { loadModels } from '../../src/datasets/model-files'
import { paths } from '../../src/api/wire'
import { KeyOwner } from '../../src/he/key-owner'
import { publicModel } from '../../src/he/public-model'
import { bodyFlood as bodyFloodOn, LegitClient, loadAverageNow, machine, ratio, send as sendFrom, writeResult } from './abuse-client'

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

const send = (method: string, path: string, localAddress: string, body?: Uint8Array) => sendFrom(port, method, path, localAddress, body)
const client = new LegitClient([port], LEGIT, model, owner)
const legit = (during?: Promise<unknown>) => client.measure(during, IMAGES_PER_PHASE)

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

const bodyFlood = (count: number, name: string, declared: number) => bodyFloodOn([port], count, name, declared)

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
  const legitKept = (await app.blindfold.sessions.peek(client.sessionId)) !== undefined
  return { uploads, newClient: { status: newClient.status, ms: Math.round(newClient.ms) }, legitKept }
}

const rss = () => Math.round(process.memoryUsage().rss / 2 ** 20)

try {
  const loadBefore = loadAverageNow()
  await client.open()
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
    machine: machine(),
    command: 'npm run bench:abuse',
    note: 'attackers, the legitimate client and the server share one Node process (one event loop): latencies include the attack traffic handled in it. loadAverage says how busy the machine was while this ran.',
    loadAverage: { before: loadBefore, after: loadAverageNow() },
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
  writeResult(OUT, result)
} finally {
  owner.dispose()
  await app.close()
}
