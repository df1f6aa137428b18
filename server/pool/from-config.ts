/**
 * The one place a WorkerPool is made from the server configuration: the embedded app's back
 * end (server/backend/embedded.ts) and the distributed evaluator (server/distributed/evaluator.ts).
 */
import type { ServerConfig } from '../config'
import type { ModelFiles } from '../../src/datasets/model-files'
import type { PoolFaults } from './faults'
import { WorkerPool } from './pool'
import type { PoolOptions } from './pool-options'

export type PoolConfig = Pick<
  ServerConfig,
  'poolSize' | 'queueMax' | 'requestTimeoutMs' | 'queueWaitMs' | 'workerKeyCache' | 'workerHeapLimitMb' | 'logitNoiseStd' | 'splitImages'
>

export function poolFromConfig(
  config: PoolConfig,
  models: Map<string, ModelFiles>,
  extras: { log?: PoolOptions['log']; observer?: PoolOptions['observer']; faults?: PoolFaults; plans?: PoolOptions['plans'] } = {},
): WorkerPool {
  return new WorkerPool({
    models,
    size: config.poolSize,
    queueMax: config.queueMax,
    timeoutMs: config.requestTimeoutMs,
    queueWaitMs: config.queueWaitMs,
    keyCache: config.workerKeyCache,
    heapLimitBytes: config.workerHeapLimitMb * 1024 * 1024,
    logitNoiseStd: config.logitNoiseStd,
    // an idle pool shares each image among its idle workers (latency); under load each keeps one (throughput)
    shareImages: config.splitImages === 'auto',
    ...extras,
  })
}
