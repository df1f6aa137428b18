/** Embedded mode's back end (no REDIS_URL): the in-process worker pool, sessions in memory. */
import type { ServerConfig } from '../config'
import type { ModelFiles } from '../../src/datasets/model-files'
import type { PoolFaults } from '../pool/faults'
import { poolFromConfig } from '../pool/from-config'
import type { PoolOptions } from '../pool/pool-options'
import { SessionStore, sessionLimits } from '../sessions/session-store'
import type { Evaluation, Sessions } from './contract'

export function embeddedBackend(
  config: Omit<ServerConfig, 'port' | 'host'>,
  files: Map<string, ModelFiles>,
  extras: { log?: PoolOptions['log']; observer?: PoolOptions['observer']; faults?: PoolFaults; plans?: PoolOptions['plans']; now: () => number },
): { evaluation: Evaluation; sessions: Sessions } {
  const { now, ...poolExtras } = extras
  const pool = poolFromConfig(config, files, poolExtras)
  const sessions = new SessionStore({
    ...sessionLimits(config),
    onDrop: (id) => pool.dropSession(id),
    now,
  })
  return { evaluation: pool, sessions }
}
