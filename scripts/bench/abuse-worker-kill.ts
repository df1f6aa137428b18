/**
 * `npm run bench:abuse:worker-kill`: the worker-kill attack against an embedded server run as
 * its own process (server/main.ts, the shipped cifar10-cnn and mnist-cnn, default limits, one
 * worker per core). One address sends CIFAR-10 images within its rate limit (a burst at once,
 * then one every 2 s) while a legitimate MNIST client from another address measures its
 * answers and latency; the server's worker replacements (GET /metrics, by reason) and its RSS
 * are read before, during and after. Writes docs/benchmarks/abuse/worker-kill.json.
 * Heavy: each worker builds cifar10-cnn (gigabytes, tens of seconds) before the server is ready.
 */
import { performance } from 'node:perf_hooks'
import { parse, sample } from '../../server/test-support/prometheus'
import { modelsDirWith, startApiReplica } from '../../server/test-support/processes'
import { freePort } from '../../server/test-support/redis'
import { imageAt, loadCifar10Split } from '../../src/datasets'
import { loadModels } from '../../src/datasets/model-files'
import { KeyOwner } from '../../src/he/key-owner'
import { publicModel } from '../../src/he/public-model'
import { normalise } from '../../src/model/forward'
import { imageFlood, LegitClient, loadAverageNow, machine, openSessionOnceBuilt, ratio, rssMiB, send, writeResult } from './abuse-client'

const OUT = 'docs/benchmarks/abuse/worker-kill.json'
const LEGIT = '127.0.0.10'
const ATTACKER = '127.0.0.20'
const BURST = 34
const EVERY_MS = 2000
const ATTACK_MS = Number(process.env.ATTACK_SECONDS ?? 90) * 1000
const POOL_SIZE = '2'
const REASONS = ['crash', 'timeout', 'heap_limit', 'seal_fault'] as const

const all = await loadModels()
const mnist = all.get('mnist-cnn')
const cifar = all.get('cifar10-cnn')
if (!mnist || !cifar) throw new Error('bench:abuse:worker-kill needs server/models/mnist-cnn and cifar10-cnn')

const models = modelsDirWith(['cifar10-cnn', 'mnist-cnn'])
const port = await freePort()
const startedAt = performance.now()
// RATE_LIMIT_MAX '' = the default limit (the test starter turns it off otherwise)
const server = await startApiReplica(port, { MODELS_DIR: models.dir, POOL_SIZE, RATE_LIMIT_MAX: '' }, 600_000)
const readyS = Math.round((performance.now() - startedAt) / 1000)
const pid = server.child.pid!

async function restarts(): Promise<Record<string, number>> {
  const r = await send(port, 'GET', '/metrics', '127.0.0.1')
  const samples = parse(r.body.toString())
  return Object.fromEntries(REASONS.map((reason) => [reason, sample(samples, 'blindfold_worker_restarts_total', { reason }) ?? 0]))
}

const mnistOwner = await KeyOwner.create(publicModel(mnist.manifest))
const cifarOwner = await KeyOwner.create(publicModel(cifar.manifest))
try {
  // the attacker's session, once every worker has built cifar10-cnn (the server is ready with its first model)
  const attackSession = await openSessionOnceBuilt(port, 'cifar10-cnn', ATTACKER, cifarOwner.evaluationKeys, 600_000 - (performance.now() - startedAt))
  const modelsReadyS = Math.round((performance.now() - startedAt) / 1000)
  const client = new LegitClient([port], LEGIT, mnist, mnistOwner)
  await client.open()
  // one CIFAR-10 image the attacker sends again and again
  const image = cifarOwner.encrypt(normalise(imageAt(loadCifar10Split('test'), 0), cifar.manifest))
  const rssIdle = await rssMiB(pid)
  const loadBefore = loadAverageNow()
  const restartsBefore = await restarts()
  const idle = await client.measure(Promise.resolve(), 6)

  const rss: number[] = []
  const tick = async () => {
    const m = await rssMiB(pid)
    if (m !== undefined) rss.push(m)
  }
  const attack = imageFlood({ ports: [port], address: ATTACKER, session: attackSession, image, burst: BURST, everyMs: EVERY_MS, attackMs: ATTACK_MS, tick })
  const during = await client.measure(attack, 8, 400)
  const attacker = await attack
  const restartsAfter = await restarts()
  const after = await client.measure(Promise.resolve(), 4)
  const rssAfter = await rssMiB(pid)
  const caused = Object.fromEntries(REASONS.map((r) => [r, restartsAfter[r] - restartsBefore[r]]))

  const result = {
    date: new Date().toISOString(),
    machine: machine(),
    command: 'npm run bench:abuse:worker-kill',
    note: 'the server runs as its own process (server/main.ts); the attacker and the legitimate client share the bench process. loadAverage says how busy the machine was while this ran.',
    loadAverage: { before: loadBefore, after: loadAverageNow() },
    server: { mode: 'embedded', models: ['cifar10-cnn', 'mnist-cnn'], poolSize: Number(POOL_SIZE), limits: 'defaults', readySeconds: readyS, cifarReadySeconds: modelsReadyS },
    idle,
    workerKill: {
      attack: `one address: ${BURST} CIFAR-10 classifications at once, then one every ${EVERY_MS / 1000} s for ${ATTACK_MS / 1000} s`,
      attacker,
      workerRestarts: { causedByAttack: caused, byDeadline: caused.timeout },
      rssMiB: { idle: rssIdle, duringMin: Math.min(...rss), duringMax: Math.max(...rss), after: rssAfter },
      legit: during,
      answeredShare: Math.round((during.answered / during.sent) * 1000) / 1000,
      medianVsIdle: ratio(during, idle),
      legitAfter: after,
    },
    targets: { answeredShareAtLeast: 0.95, medianVsIdleAtMost: 3, workerRestartsByDeadline: 0 },
  }
  writeResult(OUT, result)
} finally {
  mnistOwner.dispose()
  cifarOwner.dispose()
  await server.stop()
  models.remove()
}
