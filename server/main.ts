// Entry point: env config, models from server/models, the SPA from dist/, listen, graceful shutdown.
import { fileURLToPath } from 'node:url'
import { buildApp } from './app'
import { configFromEnv } from './config'
import { loadModels } from '../src/datasets/model-files'
import { loggerOptions } from './http/logging'
import { checkRedis } from './distributed/redis-keys'

const config = configFromEnv()
const modelsDir = process.env.MODELS_DIR || undefined
const models = await loadModels(modelsDir)
if (models.size === 0) throw new Error('no models under server/models (set MODELS_DIR)')
// distributed mode: a wrong password or TLS setting stops the start with its reason, not a replica never ready
if (config.redisUrl) await checkRedis(config.redisUrl)
const { port, host, ...rest } = config
const app = await buildApp({
  ...rest,
  models,
  modelsDir,
  logger: loggerOptions(config.logLevel),
  staticDir: process.env.STATIC_DIR || fileURLToPath(new URL('../dist', import.meta.url)),
})

if (config.trustProxy === true) {
  app.log.warn('TRUST_PROXY trusts every hop: unless the proxy overwrites X-Forwarded-For, clients choose their own address and quotas; list the proxy addresses instead')
}

let stopping = false
async function shutdown(signal: string): Promise<void> {
  if (stopping) return
  stopping = true
  app.log.info({ signal }, 'shutting down: no new connections, finishing in-flight requests')
  // a stuck shutdown must not hang the orchestrator forever: in-flight requests had their queue
  // wait and at least the deadline floor (a slow model's deadline is longer; it is cut off then)
  setTimeout(() => process.exit(1), config.queueWaitMs + config.requestTimeoutMs + 5000).unref()
  try {
    await app.close() // stops listening, waits for in-flight requests, then closes the pool (onClose)
    process.exit(0)
  } catch (e) {
    app.log.error({ err: (e as Error).message }, 'shutdown failed')
    process.exit(1)
  }
}
process.on('SIGTERM', () => void shutdown('SIGTERM'))
process.on('SIGINT', () => void shutdown('SIGINT'))

await app.listen({ port, host })
app.blindfold.evaluation.ready.then(
  () =>
    config.redisUrl
      ? app.log.info({ models: [...models.keys()] }, 'distributed mode: Redis reached, evaluation by the evaluator processes')
      : app.log.info({ workers: config.poolSize, models: [...models.keys()] }, 'workers ready'),
  (e: Error) => app.log.error({ err: e.message }, 'workers failed to start'),
)
