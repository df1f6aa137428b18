// A worker thread that exposes the HE worker's real API object as he.worker.ts does, over
// comlink's Node adapter (workerData.guarded false: plain comlink expose(), the test's control).
// Besides comlink, it answers { probe: true } with what a pollution would have changed here.
import { parentPort, workerData } from 'node:worker_threads'
import { register } from 'tsx/esm/api'

register()
const { expose } = await import('comlink')
const nodeEndpoint = (await import('comlink/dist/umd/node-adapter.js')).default
const { exposeApi } = await import('../expose-api.ts')
const { api } = await import('../he/api.ts')

const endpoint = nodeEndpoint(parentPort)
if (workerData.guarded) exposeApi(api, endpoint)
else expose(api, endpoint)

parentPort.on('message', (m) => {
  if (m?.probe !== true) return
  parentPort.postMessage({
    probeAnswer: {
      objectPolluted: Object.prototype.polluted ?? null,
      functionPolluted: Function.prototype.polluted ?? null,
      apiKeys: Object.keys(api).sort(),
      cancelIsOriginal: typeof api.cancel === 'function' && api.cancel.length === 1,
    },
  })
})
