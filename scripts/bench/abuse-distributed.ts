/**
 * `npm run bench:abuse:distributed`: the availability attacks against distributed mode, each
 * part a real process: a redis-server (persistence off), two evaluators (one worker each, their
 * own GET /metrics) and two API replicas (server/main.ts with REDIS_URL, default limits,
 * mnist-cnn and cifar10-cnn, a session store sized for 48 MNIST key sets). Attackers send from
 * loopback addresses 127.0.0.x to both replicas in turn, while a legitimate MNIST client from its
 * own address does the same and measures its answers and latency:
 * - worker kill: one address sends CIFAR-10 images within its rate limit (a burst at once, then
 *   one every 2 s); the evaluators' worker replacements and the jobs their pools cut off at a
 *   deadline;
 * - connections: thousands of idle sockets from 4 addresses, split over the replicas;
 * - bodies: uploads declaring more than the model accepts, or naming no model;
 * - queue: 8 addresses keeping 12 classifications each in flight (QUEUE_MAX against BullMQ's
 *   waiting count across replicas; the longest wait list seen);
 * - sessions: 16 addresses uploading 4 key sets each, then a new client asking for a session;
 * - limits across replicas: one address sends GET /models (1 point each) to both replicas in
 *   turn, as fast as it can, within one rate-limit window: how many were answered against the limit.
 * Writes docs/benchmarks/abuse/distributed.json; ABUSE_PHASES (names, comma-separated) runs
 * only those phases and writes to the system's temp folder instead. Heavy: each evaluator builds
 * cifar10-cnn (gigabytes, tens of seconds) before the attacks start.
 */
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { Redis } from 'ioredis'
import { DEFAULTS } from '../../server/config'
import { QUEUE_NAME } from '../../server/distributed/redis-keys'
import { modelsDirWith, startApiReplica, startEvaluator, type ServiceProcess } from '../../server/test-support/processes'
import { parse, sample } from '../../server/test-support/prometheus'
import { freePort, startRedis } from '../../server/test-support/redis'
import { paths } from '../../src/api/wire'
import { imageAt, loadCifar10Split, loadMnistSplit } from '../../src/datasets'
import { loadModels } from '../../src/datasets/model-files'
import { KeyOwner } from '../../src/he/key-owner'
import { publicModel } from '../../src/he/public-model'
import { normalise } from '../../src/model/forward'
import { bodyFlood, imageFlood, LegitClient, loadAverageNow, machine, openSession, openSessionOnceBuilt, ratio, rssMiB, send, sleep, writeResult } from './abuse-client'

const PHASES = ['workerKill', 'connections', 'bodies', 'queue', 'sessions', 'limitAcrossReplicas'] as const
const chosen = process.env.ABUSE_PHASES ? process.env.ABUSE_PHASES.split(',') : [...PHASES]
const unknownPhase = chosen.find((p) => !(PHASES as readonly string[]).includes(p))
if (unknownPhase) throw new Error(`ABUSE_PHASES: no phase ${unknownPhase} (${PHASES.join(', ')})`)
const runs = (phase: (typeof PHASES)[number]) => chosen.includes(phase)
const OUT = chosen.length === PHASES.length ? 'docs/benchmarks/abuse/distributed.json' : join(tmpdir(), 'abuse-distributed.json')
const LEGIT = '127.0.0.10'
const ATTACKER = '127.0.0.20'
const IMAGES_PER_PHASE = 8
const QUEUE_SECONDS = 40
const BURST = 34
const EVERY_MS = 2000
const ATTACK_MS = Number(process.env.ATTACK_SECONDS ?? 90) * 1000
const REASONS = ['crash', 'timeout', 'heap_limit', 'seal_fault'] as const

const all = await loadModels()
const model = all.get('mnist-cnn')
const cifar = all.get('cifar10-cnn')
if (!model || !cifar) throw new Error('bench:abuse:distributed needs server/models/mnist-cnn and cifar10-cnn')
const owner = await KeyOwner.create(publicModel(model.manifest))
const cifarOwner = await KeyOwner.create(publicModel(cifar.manifest))
const keyBytes = owner.evaluationKeys.byteLength
const sessionMaxBytes = 48 * keyBytes

// the machine's load average (1, 5, 15 min) around the run: other work on it shows in the latencies
const loadBefore = loadAverageNow()
const redis = await startRedis()
const models = modelsDirWith(['cifar10-cnn', 'mnist-cnn'])
const services: ServiceProcess[] = []
const ports: number[] = []
const stopAll = async () => {
  for (const s of services.reverse()) await s.stop().catch(() => {})
  await redis.stop()
  models.remove()
}

try {
  const metricsPorts = [await freePort(), await freePort()]
  const evaluators = await Promise.all(metricsPorts.map((p) => startEvaluator({ REDIS_URL: redis.url, MODELS_DIR: models.dir, POOL_SIZE: '1', METRICS_PORT: String(p) }, 600_000)))
  services.push(...evaluators)
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
  const watcher = new Redis(redis.url)

  /** Worker replacements by reason, both evaluators together (their GET /metrics). */
  async function restarts(): Promise<Record<string, number>> {
    const totals: Record<string, number> = Object.fromEntries(REASONS.map((r) => [r, 0]))
    for (const p of metricsPorts) {
      const samples = parse((await send(p, 'GET', '/metrics', '127.0.0.1')).body.toString())
      for (const reason of REASONS) totals[reason] += sample(samples, 'blindfold_worker_restarts_total', { reason }) ?? 0
    }
    return totals
  }
  /** Jobs the evaluators' pools cut off at their evaluation deadline so far (their logs). */
  const deadlineCuts = () => evaluators.reduce((n, e) => n + e.output().split('past its deadline').length - 1, 0)

  /** Until no job runs or waits in the shared queue (a flood's last jobs finish or are cancelled), at most a minute. */
  async function drained(): Promise<void> {
    const end = performance.now() + 60_000
    const busy = async () => (await Promise.all(['active', 'wait'].map((k) => watcher.llen(`bull:${QUEUE_NAME}:${k}`)))).some((n) => n > 0) || (await watcher.zcard(`bull:${QUEUE_NAME}:prioritized`)) > 0
    while (performance.now() < end && (await busy())) await sleep(500)
  }

  /** One address sends CIFAR-10 images to both replicas within its rate limit while the legitimate client measures. */
  async function workerKill() {
    const session = await openSessionOnceBuilt(ports[0], 'cifar10-cnn', ATTACKER, cifarOwner.evaluationKeys, 600_000)
    const image = cifarOwner.encrypt(normalise(imageAt(loadCifar10Split('test'), 0), cifar!.manifest))
    const restartsBefore = await restarts()
    const cutsBefore = deadlineCuts()
    const attack = imageFlood({ ports, address: ATTACKER, session, image, burst: BURST, everyMs: EVERY_MS, attackMs: ATTACK_MS })
    const during = await client.measure(attack, IMAGES_PER_PHASE, 400)
    const attacker = await attack
    const restartsAfter = await restarts()
    const cuts = deadlineCuts() - cutsBefore
    await send(ports[0], 'DELETE', paths.session(session), ATTACKER)
    await drained()
    const caused = Object.fromEntries(REASONS.map((r) => [r, restartsAfter[r] - restartsBefore[r]]))
    return {
      attack: `one address: ${BURST} CIFAR-10 classifications at once, then one every ${EVERY_MS / 1000} s for ${ATTACK_MS / 1000} s, over both replicas`,
      attacker,
      workerRestarts: { causedByAttack: caused, byDeadline: caused.timeout },
      jobsCutOffAtDeadline: cuts,
      evaluatorsRunning: evaluators.filter((e) => e.child.exitCode === null && e.child.signalCode === null).length,
      legit: during,
      answeredShare: Math.round((during.answered / during.sent) * 1000) / 1000,
      medianVsIdle: ratio(during, idle),
    }
  }

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

  /** Both evaluators have built `name` (their pools log each model a worker built). */
  async function built(name: string): Promise<void> {
    const end = performance.now() + 600_000
    const done = () => evaluators.every((e) => e.output().split('\n').some((l) => l.includes('pool worker built a model') && l.includes(`"model":"${name}"`)))
    while (!done()) {
      if (performance.now() > end) throw new Error(`the evaluators did not build ${name} within 10 minutes`)
      await sleep(1000)
    }
  }

  async function connections() {
    const flood = connectionFlood(['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'], 2500)
    const during = await legit(flood)
    return {
      attack: '2,500 idle sockets from each of 4 addresses, half to each replica, held 12 s (the headers timeout is 10 s); sockets the servers closed counted at 3 s and 12 s',
      ...(await flood),
      legit: during,
      medianVsIdle: ratio(during, idle),
    }
  }

  async function bodies() {
    const rssBefore = await rss()
    const floods = Promise.all([bodyFlood(ports, 40, 'mnist-cnn', 47 * 1024 * 1024), bodyFlood(ports, 40, 'no-such-model', 47 * 1024 * 1024)])
    const during = await legit(floods)
    const [oversize, unknown] = await floods
    return {
      attack: '40 uploads declaring 47 MB for mnist-cnn and 40 for an unknown model, 1 MB of each sent, over both replicas',
      statuses: { oversize: [...new Set(oversize)], unknownModel: [...new Set(unknown)] },
      replicaRssMiB: { before: rssBefore, after: await rss() },
      legit: during,
      medianVsIdle: ratio(during, idle),
    }
  }

  async function queue() {
    const flood = queueFlood(12)
    const during = await legit(flood)
    return {
      attack: `8 addresses keeping 12 MNIST classifications each in flight for ${QUEUE_SECONDS} s over both replicas (a refused one is sent again after 0.5 s)`,
      ...(await flood),
      legit: during,
      medianVsIdle: ratio(during, idle),
    }
  }

  async function sessions() {
    const lockOut = sessionLockOut()
    const during = await legit(lockOut)
    return { attack: '16 addresses x 4 key uploads into a store sized for 48 MNIST key sets, over both replicas, then a new client', ...(await lockOut), legit: during, medianVsIdle: ratio(during, idle) }
  }

  async function limitAcrossReplicas() {
    return { attack: 'one address: GET /models (1 point each) to both replicas in turn, 8 at a time, within one rate-limit window', ...(await acrossReplicas(2 * DEFAULTS.rateLimitMax)) }
  }

  await built('cifar10-cnn')
  await client.open()
  const idle = await legit()
  const run = { workerKill, connections, bodies, queue, sessions, limitAcrossReplicas }
  const phases: Record<string, unknown> = {}
  // in this order: the session lock-out fills the store last but for the limits, which need no session
  for (const name of PHASES) if (runs(name)) phases[name] = await run[name]()
  await watcher.quit()

  const result = {
    date: new Date().toISOString(),
    machine: machine(),
    command: `${chosen.length === PHASES.length ? '' : `ABUSE_PHASES=${chosen.join(',')} `}npm run bench:abuse:distributed`,
    note: 'every server part is its own process (redis-server, 2 evaluators with 1 worker each, 2 API replicas); attackers and the legitimate client share the bench process. loadAverage says how busy the machine was while this ran.',
    server: { mode: 'distributed', replicas: 2, evaluators: 2, workersPerEvaluator: 1, models: ['cifar10-cnn', 'mnist-cnn'], sessionMaxBytes, keyBytes, queueMax: DEFAULTS.queueMax, otherLimits: 'defaults' },
    idle,
    ...phases,
    loadAverage: { before: loadBefore, after: loadAverageNow() },
    targets: { answeredShareAtLeast: 0.95, medianVsIdleAtMost: 3, workerRestartsByDeadline: 0, overLimitAtMost: 0.1 },
  }
  writeResult(OUT, result)
} finally {
  owner.dispose()
  cifarOwner.dispose()
  await stopAll()
}
