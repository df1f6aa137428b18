/**
 * npm run bench:first-answers -- [--models mnist-cnn,fashion-cnn] [--pools 2] [--later 4] [--gap-ms 2000]
 *     [--contend-ms 0] [--thread] [--out FILE]
 *
 * Where a page's first answers spend their extra server time: a fresh pool's and a fresh
 * session's first images against later ones. Real pool worker threads (two, a 2-core
 * machine's pool; each builds the listed models only), keys and images made in this
 * process before any clock starts, and nothing else computing here while a job runs, so the
 * browser's share of the cores is out of the picture unless --contend-ms asks for it.
 *
 * For each of --pools fresh pools, for each model, sessions in this order:
 *   - fresh: the pool's first session of the model, its first image sent the moment its keys are accepted
 *   - again: a second session, the same way (the workers have evaluated the model before)
 *   - settled: a session whose first image goes --gap-ms after its keys were accepted
 *   - contended (with --contend-ms N): as "again", with a thread spinning N ms from the send,
 *     as the browser's decryption chain does during a session's first answer
 * each followed by --later images one after another. Per image: the wall time from submit to
 * answer, the worker's own time, the workers that shared it, the queue wait, whether keys were
 * sent with it, and each stage's time from the progress reports; the load average before and after.
 *
 * With --thread, first: in this process's main thread, which has not evaluated before, each model in
 * turn (--models' order) is built and evaluates its images one after another; per image the
 * thread's own CPU time (Linux /proc/thread-self/stat, 10 ms ticks) and wall time, and each
 * stage's time, so a thread's first evaluation can be told from its later ones even on a busy machine.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { availableParallelism, cpus, loadavg } from 'node:os'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { Worker } from 'node:worker_threads'
import { WorkerPool } from '../../server/pool/pool'
import { loadModels } from '../../src/datasets/model-files'
import { imageAt, loadSplit } from '../../src/datasets'
import { loadSeal } from '../../src/he/context'
import { ModelEvaluator } from '../../src/he/evaluator'
import { KeyOwner } from '../../src/he/key-owner'
import { publicModel } from '../../src/he/public-model'
import { normalise } from '../../src/model/forward'
import type { ModelManifest } from '../../src/model/manifest'
import { helpIfAsked } from '../help'
helpIfAsked(import.meta.url)

const { values: args } = parseArgs({
  options: {
    models: { type: 'string', default: 'mnist-cnn,fashion-cnn' },
    pools: { type: 'string', default: '2' },
    later: { type: 'string', default: '4' },
    'gap-ms': { type: 'string', default: '2000' },
    'contend-ms': { type: 'string', default: '0' },
    thread: { type: 'boolean', default: false },
    out: { type: 'string' },
  },
})
const names = args.models!.split(',').filter(Boolean)
const later = Number(args.later)
const gapMs = Number(args['gap-ms'])
const contendMs = Number(args['contend-ms'])
const round = (x: number) => Math.round(x * 10) / 10
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

interface ImageRecord {
  wallMs: number
  workerMs: number
  parts: number
  queueWaitMs: number
  keysSent: boolean
  /** ms from submit to each progress report, in order */
  stagesAt: number[]
}

/** A thread that keeps one core busy for `ms`: the browser's decryption chain, as far as the server's cores are concerned. */
function spin(ms: number): Promise<void> {
  const w = new Worker(`const end = performance.now() + ${ms}; while (performance.now() < end);`, { eval: true })
  return new Promise((resolve) => w.once('exit', () => resolve()))
}

const all = await loadModels()
const files = new Map([...all].filter(([name]) => names.includes(name)))
for (const n of names) if (!files.has(n)) throw new Error(`no model ${n} (have ${[...all.keys()].join(', ')})`)

// keys and requests made once, before any pool exists: the client's SEAL work is never timed
const owners = new Map<string, KeyOwner>()
const requests = new Map<string, Uint8Array[]>()
for (const [name, f] of files) {
  const manifest = f.manifest as ModelManifest
  // the model's own test split, as npm run bench reads it
  const split = loadSplit(manifest.dataset ?? 'mnist', 'test')
  const images = Array.from({ length: 1 + later }, (_, i) => imageAt(split, 100 + i))
  // one owner per session kind: a session's keys are its own
  for (const kind of ['fresh', 'again', 'settled', 'contended']) {
    const owner = await KeyOwner.create(publicModel(manifest))
    owners.set(`${name}/${kind}`, owner)
    requests.set(`${name}/${kind}`, images.map((img) => owner.encrypt(normalise(img, manifest))))
  }
}

let lastDispatch: { queueWaitMs: number; keysSent: boolean } | undefined
const observer = {
  dispatched: (e: { op: string; queueWaitMs: number; keysSent: boolean }) => {
    if (e.op === 'classify') lastDispatch = { queueWaitMs: e.queueWaitMs, keysSent: e.keysSent }
  },
}

async function classify(pool: WorkerPool, session: string, model: string, request: Uint8Array, keys: Uint8Array, contend = 0): Promise<ImageRecord> {
  const stagesAt: number[] = []
  lastDispatch = undefined
  const started = performance.now()
  const spinning = contend > 0 ? spin(contend) : undefined
  const r = await pool.classify(session, model, keys, request, undefined, { onProgress: () => stagesAt.push(round(performance.now() - started)) })
  const wallMs = performance.now() - started
  await spinning
  const d = lastDispatch as { queueWaitMs: number; keysSent: boolean } | undefined
  return { wallMs: round(wallMs), workerMs: round(r.ms), parts: r.parts, queueWaitMs: round(d?.queueWaitMs ?? NaN), keysSent: d?.keysSent ?? false, stagesAt }
}

/** This thread's CPU time so far (user + system), in ms. */
function threadCpuMs(): number {
  const fields = readFileSync('/proc/thread-self/stat', 'utf8').split(') ')[1].split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 10
}

/** Each model built and evaluated in this thread, in turn: per image its CPU and wall time and stage times. */
async function threadEvaluations(): Promise<Record<string, { loadKeys: { cpuMs: number; wallMs: number }; images: Array<{ cpuMs: number; wallMs: number; stageMs: number[] }> }>> {
  const seal = await loadSeal()
  const out: Awaited<ReturnType<typeof threadEvaluations>> = {}
  for (const name of names) {
    const f = files.get(name)!
    const evaluator = await ModelEvaluator.create(f.manifest as ModelManifest, f.weights, seal)
    const owner = owners.get(`${name}/fresh`)!
    try {
      let cpu = threadCpuMs()
      let t = performance.now()
      const keys = evaluator.loadKeys(owner.evaluationKeys)
      try {
        const loadKeys = { cpuMs: threadCpuMs() - cpu, wallMs: round(performance.now() - t) }
        const images = requests.get(`${name}/fresh`)!.map((request) => {
          const stageMs: number[] = []
          cpu = threadCpuMs()
          t = performance.now()
          evaluator.classify(keys, request, { stageMs })
          return { cpuMs: threadCpuMs() - cpu, wallMs: round(performance.now() - t), stageMs: stageMs.map(round) }
        })
        out[name] = { loadKeys, images }
        console.log(name, 'in this thread:', images.map((i) => `cpu ${i.cpuMs} wall ${i.wallMs}`).join(' | '), `load ${loadavg()[0].toFixed(2)}`)
      } finally {
        keys.dispose()
      }
    } finally {
      evaluator.dispose()
    }
  }
  return out
}

const loadBefore = loadavg()
const thread = args.thread ? await threadEvaluations() : undefined
/** per settled session: ms from its keys accepted to the other worker done loading them ahead */
const aheadMs: number[] = []
const runs: Array<Record<string, Record<string, ImageRecord[]>>> = []
for (let p = 0; p < Number(args.pools); p++) {
  const pool = new WorkerPool({ models: files, size: 2, queueMax: 32, timeoutMs: 60_000, keyCache: 8, shareImages: true, observer })
  await pool.ready
  const perModel: Record<string, Record<string, ImageRecord[]>> = {}
  for (const model of names) {
    const sessions: Record<string, ImageRecord[]> = {}
    const kinds = ['fresh', 'again', 'settled', ...(contendMs > 0 ? ['contended'] : [])]
    for (const kind of kinds) {
      // nothing left running from the session before (its keys loaded ahead, its last image)
      while (pool.busyWorkers().length > 0) await sleep(20)
      await sleep(300)
      const owner = owners.get(`${model}/${kind}`)!
      const reqs = requests.get(`${model}/${kind}`)!
      const session = `${model}-${kind}-${p}`
      await pool.validateKeys(session, model, owner.evaluationKeys)
      if (kind === 'settled') {
        // how long the other worker takes to load the keys ahead (key-warm.ts), then the rest of the gap
        const accepted = performance.now()
        while (pool.busyWorkers().length > 0) await sleep(5)
        aheadMs.push(round(performance.now() - accepted))
        await sleep(Math.max(0, gapMs - (performance.now() - accepted)))
      }
      const records: ImageRecord[] = []
      for (const [i, req] of reqs.entries()) records.push(await classify(pool, session, model, req, owner.evaluationKeys, kind === 'contended' && i === 0 ? contendMs : 0))
      sessions[kind] = records
      console.log(model, `pool ${p}`, kind, records.map((r) => `${r.workerMs}ms/${r.parts}p${r.keysSent ? '+keys' : ''}`).join(' '), `load ${loadavg()[0].toFixed(2)}`)
      pool.dropSession(session)
    }
    perModel[model] = sessions
  }
  runs.push(perModel)
  await pool.close()
}
for (const o of owners.values()) o.dispose()

const result = {
  date: new Date().toISOString(),
  machine: `${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} cores, Node ${process.version}`,
  command: ['npm run bench:first-answers --', ...process.argv.slice(2)].join(' '),
  loadAverage: { before: loadBefore.map(round), after: loadavg().map(round) },
  ...(thread ? { thread } : {}),
  aheadMs,
  runs,
}
if (args.out) writeFileSync(args.out, JSON.stringify(result, null, 2) + '\n')
console.log(JSON.stringify({ loadAverage: result.loadAverage, aheadMs }))
