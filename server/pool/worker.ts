/**
 * One pool worker: its own SEAL instance and one ModelEvaluator per model.
 * Jobs arrive one at a time (the pool never sends a second before the first
 * answers); classification is synchronous WASM, so a stuck job can only be
 * stopped by terminating this thread, which the pool does.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { BlindfoldError, isClientFault, sealMessage } from '../../src/he/errors'
import { loadSeal } from '../../src/he/context'
import { ModelEvaluator } from '../../src/he/evaluator'
import { readWeights, type ModelManifest } from '../../src/model/manifest'
import { KeyCache } from './key-cache'
import type { FromWorker, ToWorker, WorkerInit } from './messages'

const port = parentPort
if (!port) throw new Error('server/pool/worker.ts must run as a worker thread')
const send = (m: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer)

async function main(init: WorkerInit): Promise<void> {
  const seal = await loadSeal()
  const evaluators = new Map<string, ModelEvaluator>()
  for (const { manifest, weightBytes } of init.models) {
    const m = manifest as ModelManifest
    evaluators.set(m.name, await ModelEvaluator.create(m, readWeights(m, weightBytes), seal))
  }
  const cache = new KeyCache(init.keyCache)

  port!.on('message', (msg: ToWorker) => {
    if (msg.type === 'drop') return cache.drop(msg.session)
    // what an abort in WASM looks like from outside: the thread dies mid-job
    if (msg.crash) process.exit(70)
    const started = performance.now()
    try {
      const evaluator = evaluators.get(msg.model)
      if (!evaluator) throw new BlindfoldError('internal', `worker has no model ${msg.model}`)
      let keys = cache.get(msg.session)
      if (!keys) {
        if (!msg.keys) return send({ type: 'need_keys', id: msg.id })
        keys = evaluator.loadKeys(msg.keys)
        cache.set(msg.session, keys)
      }
      if (msg.op === 'validate') return send({ type: 'done', id: msg.id, ms: performance.now() - started, cached: cache.sessions() })
      const response = evaluator.classify(keys, msg.request!)
      send({ type: 'done', id: msg.id, response, ms: performance.now() - started, cached: cache.sessions() }, [response.buffer as ArrayBuffer])
    } catch (e) {
      if (e instanceof BlindfoldError) {
        send({ type: 'failed', id: msg.id, code: e.code, message: e.message, clientFault: isClientFault(e.code), cached: cache.sessions() })
      } else if (e instanceof Error) {
        send({ type: 'failed', id: msg.id, code: 'internal', message: e.message, clientFault: false, cached: cache.sessions() })
      } else {
        // a C++ exception (WebAssembly.Exception) SEAL threw past our own checks
        send({ type: 'failed', id: msg.id, code: 'seal_rejected', message: sealMessage(e), clientFault: true, cached: cache.sessions() })
      }
    }
  })
  send({ type: 'ready' })
}

main(workerData as WorkerInit).catch((e) => {
  send({ type: 'init_error', message: e instanceof Error ? e.message : sealMessage(e) })
  process.exitCode = 1
  port.close()
})
