/**
 * One pool worker: its own SEAL instance and one ModelEvaluator per model.
 * Jobs arrive one at a time (the pool never sends a second before the first
 * answers); classification is synchronous WASM, so a stuck job can only be
 * stopped by terminating this thread, which the pool does.
 *
 * After answering, the worker retires (exits, and the pool starts a fresh one)
 * when its WASM heap has passed the configured bound (a WASM heap never
 * shrinks) or when SEAL failed with anything but its own C++ exception: a
 * trap or abort may leave the heap in a state no later job should meet.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { BlindfoldError, isClientFault, isSealException, sealMessage } from '../../src/he/errors'
import { loadSeal } from '../../src/he/context'
import { ModelEvaluator } from '../../src/he/evaluator'
import { readWeights, type ModelManifest } from '../../src/model/manifest'
import { KeyCache } from './key-cache'
import type { FromWorker, Retirement, ToWorker, WorkerInit } from './messages'
import { Wasm, wasmHeapBytes, watchWasmHeap } from './wasm-heap'

const port = parentPort
if (!port) throw new Error('server/pool/worker.ts must run as a worker thread')
const send = (m: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer)

async function main(init: WorkerInit): Promise<void> {
  watchWasmHeap()
  const seal = await loadSeal()
  const evaluators = new Map<string, ModelEvaluator>()
  for (const { manifest, weightBytes } of init.models) {
    const m = manifest as ModelManifest
    evaluators.set(m.name, await ModelEvaluator.create(m, readWeights(m, weightBytes), seal))
  }
  const cache = new KeyCache(init.keyCache)
  const heapRetirement = (): Retirement | undefined =>
    init.heapLimitBytes > 0 && wasmHeapBytes() > init.heapLimitBytes ? 'heap_limit' : undefined

  port!.on('message', (msg: ToWorker) => {
    if (msg.type === 'drop') return cache.drop(msg.session)
    // what an abort in WASM looks like from outside: the thread dies mid-job
    if (msg.crash) process.exit(70)
    const started = performance.now()
    let retire: Retirement | undefined
    try {
      // test hook: what a trap inside SEAL throws (unreachable, out-of-bounds access)
      if (msg.trap) throw new Wasm.RuntimeError('unreachable (injected by the pool test hook)')
      const evaluator = evaluators.get(msg.model)
      if (!evaluator) throw new BlindfoldError('internal', `worker has no model ${msg.model}`)
      let keys = cache.get(msg.session)
      if (!keys) {
        if (!msg.keys) return send({ type: 'need_keys', id: msg.id })
        keys = evaluator.loadKeys(msg.keys)
        cache.set(msg.session, keys)
      }
      if (msg.op === 'validate') {
        retire = heapRetirement()
        return send({ type: 'done', id: msg.id, ms: performance.now() - started, cached: cache.sessions(), retire })
      }
      const response = evaluator.classify(keys, msg.request!, { logitNoiseStd: init.logitNoiseStd })
      retire = heapRetirement()
      send({ type: 'done', id: msg.id, response, ms: performance.now() - started, cached: cache.sessions(), retire }, [response.buffer as ArrayBuffer])
    } catch (e) {
      retire = heapRetirement()
      const cached = cache.sessions()
      if (e instanceof BlindfoldError) {
        send({ type: 'failed', id: msg.id, code: e.code, message: e.message, clientFault: isClientFault(e.code), cached, retire })
      } else if (isSealException(e)) {
        // SEAL refused the bytes with a C++ exception past our own checks; its heap is intact
        send({ type: 'failed', id: msg.id, code: 'seal_rejected', message: sealMessage(e), clientFault: true, cached, retire })
      } else {
        // a trap, an abort or a JS error inside the evaluation: this thread's SEAL is suspect
        retire = 'seal_fault'
        const message = e instanceof Error ? `${e.name}: ${e.message}` : sealMessage(e)
        send({ type: 'failed', id: msg.id, code: 'seal_fault', message, clientFault: false, cached: [], retire })
      }
    } finally {
      if (retire) setImmediate(() => process.exit(0)) // after the answer is posted
    }
  })
  send({ type: 'ready' })
}

main(workerData as WorkerInit).catch((e) => {
  send({ type: 'init_error', message: e instanceof Error ? e.message : sealMessage(e) })
  process.exitCode = 1
  port.close()
})
