/**
 * `npm run bench:abuse:distributed`: the availability attacks against distributed mode, each
 * part a real process: a redis-server (persistence off), two evaluators (one worker each) and two
 * API replicas (server/main.ts with REDIS_URL, default limits, mnist-cnn, a session store sized
 * for 48 key sets). Attackers send from loopback addresses 127.0.0.x to both replicas in turn,
 * while a legitimate MNIST client from its own address does the same and measures its answers
 * and latency:
 * - connections: thousands of idle sockets from 4 addresses, split over the replicas;
 * - bodies: uploads declaring more than the model accepts, or naming no model;
 * - queue: 8 addresses keeping 12 classifications each in flight (QUEUE_MAX against BullMQ's
 *   waiting count across replicas; the longest wait list seen);
 * - sessions: 16 addresses uploading 4 key sets each, then a new client asking for a session;
 * - limits across replicas: one address sends GET /models (1 point each) to both replicas in
 *   turn, as fast as it can, within one rate-limit window: how many were answered against the limit.
 * Writes docs/benchmarks/abuse/distributed.json.
 */
import { connect, type Socket } from 'node:net'
import { loadavg } from 'node:os'
import { performance } from 'node:perf_hooks'
import { Redis } from 'ioredis'
import { DEFAULTS } from '../../server/config'
import { QUEUE_NAME } from '../../server/distributed/redis-keys'
import { modelsDirWith, startApiReplica, startEvaluator, type ServiceProcess } from '../../server/test-support/processes'
import { freePort, startRedis } from '../../server/test-support/redis'
import { paths } from '../../src/api/wire'
import { imageAt, loadMnistSplit } from '../../src/datasets'
import { loadModels } from '../../src/datasets/model-files'
import { KeyOwner } from '../../src/he/key-owner'
import { publicModel } from '../../src/he/public-model'
import { normalise } from '../../src/model/forward'
import { bodyFlood, LegitClient, machine, openSession, ratio, rssMiB, send, sleep, writeResult } from './abuse-client'

const OUT = 'docs/benchmarks/abuse/distributed.json'
const LEGIT = '127.0.0.10'
const IMAGES_PER_PHASE = 8
const QUEUE_SECONDS = 40

const model = (await loadModels()).get('mnist-cnn')
if (!model) throw new Error('bench:abuse:distributed needs server/models/mnist-cnn')
const owner = await KeyOwner.create(publicModel(model.manifest))
const keyBytes = owner.evaluationKeys.byteLength
const sessionMaxBytes = 48 * keyBytes

// the machine's load average (1, 5, 15 min) around the run: other work on it shows in the latencies
const loadAround = (): number[] => loadavg().map((l) => Math.round(l * 100) / 100)
const loadBefore = loadAround()
const redis = await startRedis()
const models = modelsDirWith(['mnist-cnn'])
const services: ServiceProcess[] = []
const ports: number[] = []
const stopAll = async () => {
  for (const s of services.reverse()) await s.stop().catch(() => {})
  await redis.stop()
  models.remove()
}

try {
  for (let k = 0; k < 2; k++) services.push(await startEvaluator({ REDIS_URL: redis.url, MODELS_DIR: models.dir, POOL_SIZE: '1' }))
  for (let k = 0; k < 2; k++) {
    const port = await freePort()
    // RATE_LIMIT_MAX '' = the default limit (the test starter turns it off otherwise)
    services.push(await startApiReplica(port, { REDIS_URL: redis.url, MODELS_DIR: models.dir, RATE_LIMIT_MAX: '', SESSION_MAX_BYTES: String(sessionMaxBytes) }, 120_000))
    ports.push(port)
  }
  const replicaPids = services.slice(2).map((s) => s.child.pid!)
  const rss = async () => Promise.all(replicaPids.map(rssMiB))
  const client = new LegitClient(ports, LEGIT, model, owner)
  const legit = (during?: Promise<unknown>) => client.measure(during, IMAGES_PER_PHASE)

  /** Idle sockets from each address, split over the replicas, held 12 s; what the server did with them. */
  async function connectionFlood(addresses: string[], count: number) {
    const sockets: Socket[] = []
    let refused = 0
    let closed = 0
    for (const localAddress of addresses) {
      for (let k = 0; k < count; k++) {
        const s = connect({ host: '127.0.0.1', port: ports[k % 2], localAddress })
        s.on('error', () => {})
        s.on('data', (d: Buffer) => {
          if (d.toString('latin1').includes('too_many_connections')) refused++
        })
        s.on('close', () => closed++)
        sockets.push(s)
      }
    }
    await sleep(3000)
    const closedAt3s = closed
    await sleep(9000)
    const closedAt12s = closed
    for (const s of sockets) s.destroy()
    return { opened: sockets.length, refusedWithAnswer: refused, closedByServerAt3s: closedAt3s, closedByServerAt12s: closedAt12s }
  }

  /** 8 addresses, each keeping `inFlight` classifications running for QUEUE_SECONDS; the longest BullMQ wait list seen. */
  async function queueFlood(inFlight: number) {
    const watcher = new Redis(redis.url)
    const statuses: Record<string, number> = {}
    let longestWait = 0
    const end = performance.now() + QUEUE_SECONDS * 1000
    const mnist = loadMnistSplit('test')
    const image = owner.encrypt(normalise(imageAt(mnist, 0), model!.manifest))
    const watching = (async () => {
      while (performance.now() < end) {
        // jobs waiting: BullMQ's wait list and its prioritized set (each job's priority is its client's turn)
        const [wait, prioritized] = await Promise.all([watcher.llen(`bull:${QUEUE_NAME}:wait`), watcher.zcard(`bull:${QUEUE_NAME}:prioritized`)])
        longestWait = Math.max(longestWait, wait + prioritized)
        await sleep(200)
      }
    })()
    await Promise.all(
      Array.from({ length: 8 }, async (_, a) => {
        const address = `127.0.0.${80 + a}`
        const session = await openSession(ports[a % 2], 'mnist-cnn', address, owner.evaluationKeys)
        await Promise.all(
          Array.from({ length: inFlight }, async (_, k) => {
            while (performance.now() < end) {
              const r = await send(ports[(a + k) % 2], 'POST', paths.classify(session), address, image)
              statuses[r.status] = (statuses[r.status] ?? 0) + 1
              // a refused request is sent again after a pause, as a client honouring Retry-After would not even do
              if (r.status !== 200) await sleep(500)
            }
          }),
        )
      }),
    )
    await watching
    await watcher.quit()
    return { statuses, longestWaitList: longestWait }
  }

  async function sessionLockOut() {
    const uploads: Record<string, number> = {}
    await Promise.all(
      Array.from({ length: 16 }, async (_, a) => {
        for (let k = 0; k < 4; k++) {
          const r = await send(ports[(a + k) % 2], 'POST', `${paths.sessions}?model=mnist-cnn`, `127.0.0.${60 + a}`, owner.evaluationKeys)
          uploads[r.status] = (uploads[r.status] ?? 0) + 1
        }
      }),
    )
    const newClient = await send(ports[1], 'POST', `${paths.sessions}?model=mnist-cnn`, '127.0.0.99', owner.evaluationKeys)
    return { uploads, newClient: { status: newClient.status, ms: Math.round(newClient.ms) } }
  }

  /** One address, GET /models to both replicas in turn, 8 at a time, for up to 20 s (well inside one window). */
  async function acrossReplicas(total: number) {
    const address = '127.0.0.30'
    const statuses: Record<string, number> = {}
    let next = 0
    const started = performance.now()
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < total && performance.now() - started < 20_000) {
          const r = await send(ports[next++ % 2], 'GET', paths.models, address)
          statuses[r.status] = (statuses[r.status] ?? 0) + 1
        }
      }),
    )
    const answered = statuses[200] ?? 0
    return { sent: next, statuses, seconds: Math.round((performance.now() - started) / 100) / 10, answered, limit: DEFAULTS.rateLimitMax, overLimit: Math.round((answered / DEFAULTS.rateLimitMax - 1) * 1000) / 1000 }
  }

  await client.open()
  const idle = await legit()

  const flood = connectionFlood(['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'], 2500)
  const duringConnections = await legit(flood)
  const connections = await flood

  const rssBefore = await rss()
  const bodies = Promise.all([bodyFlood(ports, 40, 'mnist-cnn', 47 * 1024 * 1024), bodyFlood(ports, 40, 'no-such-model', 47 * 1024 * 1024)])
  const duringBodies = await legit(bodies)
  const [oversize, unknown] = await bodies
  const rssAfter = await rss()

  const queue = queueFlood(12)
  const duringQueue = await legit(queue)
  const queued = await queue

  const lockOut = sessionLockOut()
  const duringSessions = await legit(lockOut)
  const sessions = await lockOut

  const limits = await acrossReplicas(2 * DEFAULTS.rateLimitMax)

  const result = {
    date: new Date().toISOString(),
    machine: machine(),
    command: 'npm run bench:abuse:distributed',
    note: 'every server part is its own process (redis-server, 2 evaluators with 1 worker each, 2 API replicas); attackers and the legitimate client share the bench process. The machine was shared with other work while this ran, so latencies are noisy.',
    server: { mode: 'distributed', replicas: 2, evaluators: 2, workersPerEvaluator: 1, model: 'mnist-cnn', sessionMaxBytes, keyBytes, queueMax: DEFAULTS.queueMax, otherLimits: 'defaults' },
    idle,
    connections: {
      attack: '2,500 idle sockets from each of 4 addresses, half to each replica, held 12 s (the headers timeout is 10 s); sockets the servers closed counted at 3 s and 12 s',
      ...connections,
      legit: duringConnections,
      medianVsIdle: ratio(duringConnections, idle),
    },
    bodies: {
      attack: '40 uploads declaring 47 MB for mnist-cnn and 40 for an unknown model, 1 MB of each sent, over both replicas',
      statuses: { oversize: [...new Set(oversize)], unknownModel: [...new Set(unknown)] },
      replicaRssMiB: { before: rssBefore, after: rssAfter },
      legit: duringBodies,
      medianVsIdle: ratio(duringBodies, idle),
    },
    queue: {
      attack: `8 addresses keeping 12 MNIST classifications each in flight for ${QUEUE_SECONDS} s over both replicas (a refused one is sent again after 0.5 s)`,
      ...queued,
      legit: duringQueue,
      medianVsIdle: ratio(duringQueue, idle),
    },
    sessions: { attack: '16 addresses x 4 key uploads into a store sized for 48 key sets, over both replicas, then a new client', ...sessions, legit: duringSessions, medianVsIdle: ratio(duringSessions, idle) },
    limitAcrossReplicas: { attack: 'one address: GET /models (1 point each) to both replicas in turn, 8 at a time, within one rate-limit window', ...limits },
    loadAverage: { before: loadBefore, after: loadAround() },
    targets: { answeredShareAtLeast: 0.95, medianVsIdleAtMost: 3, overLimitAtMost: 0.1 },
  }
  writeResult(OUT, result)
} finally {
  owner.dispose()
  await stopAll()
}
