/**
 * Memory over repeated encrypted inferences, in one process (client and server SEAL
 * instances, as src/he/memory.test.ts runs them): RSS, V8's external memory and the
 * WASM linear memory that SEAL allocates from. A WASM heap never shrinks, and it
 * grows when a leak outruns its free space; RSS also moves as pages of that heap are
 * first touched and as request buffers come and go, which is why the test's RSS
 * bound is loose and this script exists to tell the two apart.
 *
 *   npm run bench:memory -- [--model cifar10-cnn] [--inferences 48] [--reload-keys]
 *
 * --reload-keys: load the session's keys again (and free the old ones) before every inference.
 */
import { parseArgs } from 'node:util'
import { watchWasmHeap, wasmHeapBytes } from '../../server/pool/wasm-heap'
import { helpIfAsked } from '../help'
helpIfAsked(import.meta.url)

// before SEAL loads: the heap is found by watching WebAssembly.instantiate
watchWasmHeap()
const { default: SEAL } = await import('node-seal')
const { loadModelDir, MODELS_DIR } = await import('../../src/datasets/model-files')
const { imageAt, loadSplit } = await import('../../src/datasets')
const { normalise } = await import('../../src/model/forward')
const { publicModel } = await import('../../src/he/public-model')
const { ModelEvaluator } = await import('../../src/he/evaluator')
const { KeyOwner } = await import('../../src/he/key-owner')

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: 'cifar10-cnn' },
    inferences: { type: 'string', default: '48' },
    'reload-keys': { type: 'boolean', default: false },
  },
})
const count = Number(args.inferences)
const { manifest, weights } = await loadModelDir(`${MODELS_DIR}/${args.model}`)
const owner = await KeyOwner.create(publicModel(manifest), await SEAL())
const evaluator = await ModelEvaluator.create(manifest, weights, await SEAL())
const test = loadSplit(manifest.dataset ?? 'mnist', 'test')

const MB = 2 ** 20
function report(i: number) {
  ;(globalThis as { gc?: () => void }).gc?.()
  const m = process.memoryUsage()
  const f = (b: number) => (b / MB).toFixed(0).padStart(5)
  console.log(`${String(i).padStart(4)}  rss ${f(m.rss)}  external ${f(m.external)}  arrayBuffers ${f(m.arrayBuffers)}  wasm ${f(wasmHeapBytes())} MB`)
}

let keys = evaluator.loadKeys(owner.evaluationKeys)
try {
  console.log(`${args.model}: ${count} inferences${args['reload-keys'] ? ', keys reloaded before each' : ', one key set'} (${new Date().toISOString()})`)
  report(0)
  for (let i = 1; i <= count; i++) {
    if (args['reload-keys']) {
      keys.dispose()
      keys = evaluator.loadKeys(owner.evaluationKeys)
    }
    owner.decrypt(evaluator.classify(keys, owner.encrypt(normalise(imageAt(test, i), manifest))))
    if (i <= 4 || i % 4 === 0 || i === count) report(i)
  }
} finally {
  keys.dispose()
  evaluator.dispose()
  owner.dispose()
}
