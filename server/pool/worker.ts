/**
 * One pool worker: its own SEAL instance and one ModelEvaluator per model,
 * each built (its weights encoded) when the pool orders it, one at a time, so
 * the pool serves a model as soon as one worker has built it (build-order.ts).
 * Jobs arrive one at a time (the pool never sends a second before the first
 * answers). Classification is synchronous WASM: the pool stops a job past its
 * deadline through the job's cancel flag, and terminates this thread only if it
 * does not answer within a grace period after that (pool/deadlines.ts). A job
 * may be one part of an image shared with other workers (split-job.ts).
 *
 * After answering, the worker retires (exits, and the pool starts a fresh one)
 * when its WASM heap has passed the configured bound (a WASM heap never
 * shrinks) or when SEAL failed with anything but its own C++ exception: a
 * trap or abort may leave the heap in a state no later job should meet.
 *
 * A classification reports each finished stage (`progress`, posted at once: the
 * pool hears it while this thread computes on) and stops early, answering
 * `cancelled`, once the pool raises the job's shared cancel flag (cancel-flag.ts).
 */
import { parentPort, workerData } from 'node:worker_threads'
import { BlindfoldError, isClientFault, isSealException, sealMessage } from '../../src/he/errors'
import { loadSeal } from '../../src/he/context'
import { ModelEvaluator } from '../../src/he/evaluator'
import type { EvaluationControl } from '../../src/he/evaluation-job'
import { readWeights, type ModelManifest } from '../../src/model/manifest'
import { cancelFlagOf, isRaised, newCancelFlag, sleepUnlessRaised } from './cancel-flag'
import { KeyCache } from './key-cache'
import { runSplitPart, type SplitLink } from './split-job'
import type { FromWorker, Retirement, ToWorker, WorkerInit } from './messages'
import { Wasm, wasmHeapBytes, watchWasmHeap } from './wasm-heap'

/** room above the loaded models' heap: a full key cache of the largest models' loaded keys and a job */
const AUTO_HEAP_HEADROOM_BYTES = 1024 * 1024 * 1024

const port = parentPort
if (!port) throw new Error('server/pool/worker.ts must run as a worker thread')
const send = (m: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer)

async function main(init: WorkerInit): Promise<void> {
  watchWasmHeap()
  const seal = await loadSeal()
  const evaluators = new Map<string, ModelEvaluator>()
  const sources = new Map(init.models.map((m) => [(m.manifest as ModelManifest).name, m]))
  // every model in this one heap: each is checked against what the ones built before it took
  let weightBytes = 0
  const cache = new KeyCache(init.keyCache)
  // automatic bound: what the models built so far took (a CIFAR-10 net's diagonals are GBs) plus room for keys and work
  let heapBound = init.heapLimitBytes > 0 ? init.heapLimitBytes : wasmHeapBytes() + AUTO_HEAP_HEADROOM_BYTES
  const heapRetirement = (): Retirement | undefined => (wasmHeapBytes() > heapBound ? 'heap_limit' : undefined)

  /** Encodes one model's weights on the pool's order; the thread takes no message until it is done. */
  const build = async (name: string) => {
    const source = sources.get(name)
    if (!source) throw new Error(`the pool ordered a build of model ${name}, which this worker was not given`)
    const manifest = source.manifest as ModelManifest
    // injected by a test: this build waits until the test raises the gate (a model that stays loading)
    if (init.holdBuild?.model === name) Atomics.wait(cancelFlagOf(init.holdBuild.gate), 0, 0)
    const before = wasmHeapBytes()
    const started = performance.now()
    const evaluator = await ModelEvaluator.create(manifest, readWeights(manifest, source.weightBytes), seal, weightBytes)
    evaluators.set(name, evaluator)
    weightBytes += evaluator.encodedWeightBytes
    const heapBytes = wasmHeapBytes()
    if (init.heapLimitBytes <= 0) heapBound = heapBytes + AUTO_HEAP_HEADROOM_BYTES
    send({ type: 'built', model: name, buildMs: performance.now() - started, heapGrowthBytes: heapBytes - before, heapBytes })
  }

  /** Answers a failed job; returns whether this thread must retire. */
  const answerFailure = (id: number, e: unknown): Retirement | undefined => {
    let retire = heapRetirement()
    const cached = cache.sessions()
    if (e instanceof BlindfoldError) {
      send({ type: 'failed', id, code: e.code, message: e.message, clientFault: isClientFault(e.code), cached, retire })
    } else if (isSealException(e)) {
      // SEAL refused the bytes with a C++ exception past our own checks; its heap is intact
      send({ type: 'failed', id, code: 'seal_rejected', message: sealMessage(e), clientFault: true, cached, retire })
    } else {
      // a trap, an abort or a JS error inside the evaluation: this thread's SEAL is suspect
      retire = 'seal_fault'
      const message = e instanceof Error ? `${e.name}: ${e.message}` : sealMessage(e)
      send({ type: 'failed', id, code: 'seal_fault', message, clientFault: false, cached: [], retire })
    }
    return retire
  }
  /** The job's model and the session's loaded keys (from the cache, or from the keys the job carries); undefined: keys needed. */
  const prepare = (msg: Extract<ToWorker, { type: 'job' }>) => {
    const evaluator = evaluators.get(msg.model)
    if (!evaluator) throw new BlindfoldError('internal', `worker has no model ${msg.model}`)
    let keys = cache.get(msg.session)
    if (!keys) {
      if (!msg.keys) return undefined
      keys = evaluator.loadKeys(msg.keys)
      cache.set(msg.session, keys)
    }
    return { evaluator, keys }
  }
  /** What the pool watches and stops of a classification: progress messages (if `reports`) and the cancel flag. */
  const controlOf = (msg: Extract<ToWorker, { type: 'job' }>, evaluator: ModelEvaluator, reports: boolean): EvaluationControl => {
    const flag = msg.cancel ? cancelFlagOf(msg.cancel) : undefined
    const delayMs = msg.fault?.stageDelayMs ?? 0
    return {
      cancelled: flag ? () => isRaised(flag) : undefined,
      onStage: (done, total) => {
        if (reports) send({ type: 'progress', id: msg.id, done, total, stage: evaluator.stageNames[done] })
        // injected by a test: a slow stage, which a cancel cuts short
        if (delayMs > 0) sleepUnlessRaised(flag ?? newCancelFlag(), delayMs)
      },
    }
  }
  /** Faults a test injected into this job (PoolOptions.faults); production jobs carry none. */
  const injectFault = (msg: Extract<ToWorker, { type: 'job' }>) => {
    // a stuck thread: busy for stuckMs, deaf to the cancel flag and to messages
    const stuckUntil = performance.now() + (msg.fault?.stuckMs ?? 0)
    while (performance.now() < stuckUntil);
    // what a trap inside SEAL throws (unreachable, out-of-bounds access)
    if (msg.fault?.trap) throw new Wasm.RuntimeError('unreachable (injected by a test)')
  }
  const exitAfterAnswer = (retire: Retirement | undefined) => {
    if (retire) setImmediate(() => process.exit(0)) // after the answer is posted
  }

  // one image shared with other workers awaits their messages: drops wait until it ends
  let splitRunning = false
  const deferredDrops: string[] = []
  const runSplit = async (msg: Extract<ToWorker, { type: 'job' }>, link: SplitLink) => {
    const started = performance.now()
    let retire: Retirement | undefined
    try {
      injectFault(msg)
      const ready = prepare(msg)
      // the pool sends keys to every part it does not believe holds them; a miss here is a pool bug
      if (!ready) throw new BlindfoldError('internal', 'a shared image arrived without the session keys')
      const { evaluator, keys } = ready
      // the lead speaks for the image: only it reports progress
      const control = controlOf(msg, evaluator, link.part === 0)
      const response = await runSplitPart(evaluator, keys, msg.request!, link, { logitNoiseStd: init.logitNoiseStd, ...control })
      retire = heapRetirement()
      send({ type: 'done', id: msg.id, response, ms: performance.now() - started, cached: cache.sessions(), retire }, response ? [response.buffer as ArrayBuffer] : [])
    } catch (e) {
      // also when it failed before runSplitPart could close them: the peers must stop waiting
      for (const p of link.ports) p.close()
      retire = answerFailure(msg.id, e)
    } finally {
      splitRunning = false
      for (const session of deferredDrops.splice(0)) cache.drop(session)
      exitAfterAnswer(retire)
    }
  }

  port!.on('message', (msg: ToWorker) => {
    if (msg.type === 'build') {
      build(msg.model).catch(failStart)
      return
    }
    if (msg.type === 'drop') {
      if (splitRunning) deferredDrops.push(msg.session)
      else cache.drop(msg.session)
      return
    }
    // injected by a test: what an abort in WASM looks like from outside, the thread dies mid-job
    if (msg.fault?.crash) process.exit(70)
    if (msg.split) {
      splitRunning = true
      void runSplit(msg, msg.split)
      return
    }
    const started = performance.now()
    let retire: Retirement | undefined
    try {
      injectFault(msg)
      const ready = prepare(msg)
      if (!ready) return send({ type: 'need_keys', id: msg.id })
      const { evaluator, keys } = ready
      if (msg.op === 'validate') {
        retire = heapRetirement()
        return send({ type: 'done', id: msg.id, ms: performance.now() - started, cached: cache.sessions(), retire })
      }
      const response = evaluator.classify(keys, msg.request!, { logitNoiseStd: init.logitNoiseStd, ...controlOf(msg, evaluator, true) })
      retire = heapRetirement()
      send({ type: 'done', id: msg.id, response, ms: performance.now() - started, cached: cache.sessions(), retire }, [response.buffer as ArrayBuffer])
    } catch (e) {
      retire = answerFailure(msg.id, e)
    } finally {
      exitAfterAnswer(retire)
    }
  })
  send({ type: 'loaded' })
}

/** SEAL did not load or a model did not build: the pool hears why, and the thread ends. */
function failStart(e: unknown): void {
  send({ type: 'init_error', message: e instanceof Error ? e.message : sealMessage(e) })
  process.exitCode = 1
  port!.close()
}

main(workerData as WorkerInit).catch(failStart)
