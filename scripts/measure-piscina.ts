/**
 * Why server/pool/pool.ts is not built on piscina (issue 10 asks for a library pool unless a
 * measurement shows what the library cannot do). Two things the pool needs, measured on
 * piscina itself with simulated jobs (no SEAL, so the figures are about dispatch, not crypto):
 *
 * 1. Key affinity. Loading a session's evaluation keys into a worker's SEAL instance costs more
 *    than evaluating an MNIST image, so an idle worker should take the oldest job whose keys it
 *    already holds. piscina's balancer is asked about the head task only and can take it or
 *    refuse it (a refusal stops dispatch until the next worker event); its TaskQueue.shift() is not
 *    told which worker asks. The same trace runs three ways: piscina's default balancer, piscina
 *    with the best balancer it allows (an idle worker holding the head task's keys, else any idle
 *    worker), and the dispatch rule of pool.ts (re-run here on plain worker_threads with the
 *    same simulated workers). Reported: key loads and wall time.
 * 2. Cancelling a running job. piscina's only way is the task's AbortSignal, which terminates the
 *    thread that runs it; pool.ts sets a shared cancel flag that the worker checks between
 *    layers, so the worker, its SEAL instance and its cached keys survive. Reported: the thread
 *    ids before and after an abort.
 *
 *   npm install --no-save piscina@5.3.2 && node --import tsx scripts/measure-piscina.ts
 *
 * piscina is not a dependency of the project; this script is the evidence for not making it one.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { Worker } from 'node:worker_threads'
import { takeFor } from '../server/pool/dispatch-rule'

const THREADS = 2
const CACHE = 2 // sessions whose keys one worker keeps (the pool's default WORKER_KEY_CACHE is larger; small here so the trace needs choices)
const LOAD_MS = 120 // simulated key load
const EVAL_MS = 40 // simulated evaluation
const SESSIONS = 6
const IMAGES = 6 // per session, all submitted at once, sessions interleaved as concurrent clients would

// One simulated worker for both pools: an LRU of loaded sessions, sleeps for the load and the evaluation.
const WORKER = `
import { parentPort, threadId, workerData } from 'node:worker_threads'
const cache = []
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
function job({ session, cache: size, loadMs, evalMs }) {
  const at = cache.indexOf(session)
  const loaded = at < 0
  if (loaded) { sleep(loadMs); if (cache.length >= size) cache.shift() } else cache.splice(at, 1)
  cache.push(session)
  sleep(evalMs)
  return { threadId, loaded, cached: [...cache] }
}
export default job
if (workerData?.raw) parentPort.on('message', (t) => parentPort.postMessage(job(t)))
`

interface Result {
  threadId: number
  loaded: boolean
  cached: string[]
}
interface Outcome {
  keyLoads: number
  wallMs: number
}

const trace = Array.from({ length: IMAGES }, (_, i) => Array.from({ length: SESSIONS }, (_, s) => `s${(s + i) % SESSIONS}`)).flat()
const task = (session: string) => ({ session, cache: CACHE, loadMs: LOAD_MS, evalMs: EVAL_MS })

type PiscinaCtor = new (options: object) => {
  run(task: unknown, options?: { signal?: AbortSignal }): Promise<Result>
  threads: Worker[]
  destroy(): Promise<void>
}
/** the PiscinaWorker shape the balancer sees (piscina/dist/worker_pool) */
interface BalancedWorker {
  id: number
  currentUsage: number
  isRunningAbortableTask: boolean
}

async function piscinaRun(Piscina: PiscinaCtor, file: string, affinity: boolean): Promise<Outcome> {
  const holds = new Map<number, Set<string>>() // worker id -> sessions (from each result, as pool.ts tracks it)
  const pool = new Piscina({
    filename: file,
    minThreads: THREADS,
    maxThreads: THREADS,
    idleTimeout: Infinity,
    ...(affinity
      ? {
          loadBalancer: (t: { task?: { session: string } } & Record<string, unknown>, workers: BalancedWorker[]) => {
            const idle = workers.filter((w) => w.currentUsage === 0)
            const session = (t as unknown as { task: { session: string } }).task?.session
            return idle.find((w) => holds.get(w.id)?.has(session)) ?? idle[0] ?? null
          },
        }
      : {}),
  })
  await new Promise((r) => setTimeout(r, 500)) // both threads started, so neither the first tasks nor the clock wait on a spawn
  const t0 = performance.now()
  const results = await Promise.all(
    trace.map(async (session) => {
      const r = await pool.run(task(session))
      holds.set(r.threadId, new Set(r.cached))
      return r
    }),
  )
  const wallMs = performance.now() - t0
  await pool.destroy()
  return { keyLoads: results.filter((r) => r.loaded).length, wallMs }
}

/** The dispatch rule of WorkerPool.dispatch() (server/pool/dispatch-rule.ts): key affinity, bounded. */
async function poolRuleRun(file: string): Promise<Outcome> {
  const workers = await Promise.all(
    Array.from({ length: THREADS }, async () => {
      const worker = new Worker(file, { workerData: { raw: true } })
      await new Promise((r) => worker.once('online', r))
      return { worker, busy: false, cached: new Set<string>() }
    }),
  )
  const queue = trace.map((session, i) => ({ session, i, passedOver: 0 }))
  let keyLoads = 0
  const t0 = performance.now()
  await new Promise<void>((done) => {
    let left = queue.length
    const dispatch = () => {
      for (const w of workers) {
        if (w.busy || queue.length === 0) continue
        const at = takeFor(
          queue,
          (session) => w.cached.has(session),
          (session) => workers.some((o) => o !== w && !o.busy && o.cached.has(session)),
        )
        if (at < 0) continue
        const [job] = queue.splice(at, 1)
        w.busy = true
        w.worker.once('message', (r: Result) => {
          if (r.loaded) keyLoads++
          w.cached = new Set(r.cached)
          w.busy = false
          if (--left === 0) done()
          else dispatch()
        })
        w.worker.postMessage(task(job.session))
      }
    }
    dispatch()
  })
  const wallMs = performance.now() - t0
  await Promise.all(workers.map((w) => w.worker.terminate()))
  return { keyLoads, wallMs }
}

async function abortRunning(Piscina: PiscinaCtor, file: string): Promise<{ before: number[]; after: number[]; rejectedWith: string }> {
  const pool = new Piscina({ filename: file, minThreads: 1, maxThreads: 1, idleTimeout: Infinity })
  const first = await pool.run(task('a'))
  const controller = new AbortController()
  const running = pool.run({ ...task('b'), evalMs: 2000 }, { signal: controller.signal })
  await new Promise((r) => setTimeout(r, 300)) // the task is running now
  controller.abort()
  const rejectedWith = await running.then(
    () => 'resolved',
    (e: Error) => e.name,
  )
  const next = await pool.run(task('a'))
  await pool.destroy()
  return { before: [first.threadId], after: [next.threadId], rejectedWith }
}

const dir = mkdtempSync(join(tmpdir(), 'measure-piscina-'))
try {
  const file = join(dir, 'worker.mjs')
  writeFileSync(file, WORKER)
  const spec = 'piscina'
  const mod = (await import(spec).catch(() => {
    throw new Error('piscina is not installed: npm install --no-save piscina@5.3.2')
  })) as { Piscina: PiscinaCtor; version?: string }
  const version = (Piscina: PiscinaCtor & { version?: string }) => Piscina.version
  const round = (o: Outcome) => ({ keyLoads: o.keyLoads, wallMs: Math.round(o.wallMs) })
  const report = {
    piscina: version(mod.Piscina),
    node: process.version,
    setup: { threads: THREADS, keyCachePerWorker: CACHE, loadMs: LOAD_MS, evalMs: EVAL_MS, sessions: SESSIONS, imagesPerSession: IMAGES, jobs: trace.length },
    lowerBoundKeyLoads: SESSIONS,
    affinity: {
      piscinaDefault: round(await piscinaRun(mod.Piscina, file, false)),
      piscinaAffinityBalancer: round(await piscinaRun(mod.Piscina, file, true)),
      poolRule: round(await poolRuleRun(file)),
    },
    abortRunningTask: await abortRunning(mod.Piscina, file),
  }
  console.log(JSON.stringify(report, null, 2))
} finally {
  rmSync(dir, { recursive: true, force: true })
}
