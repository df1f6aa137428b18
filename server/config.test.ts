import { describe, expect, it } from 'vitest'
import { configFromEnv, DEFAULTS } from './config'

describe('configFromEnv', () => {
  it('has safe defaults: quotas on, query budgets off, no proxy trusted', () => {
    const c = configFromEnv({})
    expect(c).toMatchObject({
      sessionsPerClient: 4,
      sessionBytesPerClient: 64 * 1024 * 1024,
      rateLimitMax: 1200,
      rateLimitWindowSeconds: 60,
      rateCostKeys: 50,
      rateCostClassify: 10,
      maxQueriesPerSession: 0,
      maxQueriesPerClient: 0,
      workerHeapLimitMb: 0,
      logitNoiseStd: 0,
      trustProxy: false,
      metricsAllow: [], // loopback only
      splitImages: 'auto',
    })
    expect(configFromEnv({ SPLIT_IMAGES: 'off' }).splitImages).toBe('off')
    expect(() => configFromEnv({ SPLIT_IMAGES: 'always' })).toThrow(/auto or off/)
    expect(c.poolSize).toBeGreaterThanOrEqual(1)
    // the store is sized by bytes; the count is a backstop
    expect(DEFAULTS.sessionMax).toBe(4096)
    expect(DEFAULTS.sessionMaxBytes).toBe(512 * 1024 * 1024)
    expect(c).toMatchObject({ sessionIdleSeconds: 300, connectionsMax: 2048, connectionsPerClient: 32, keepAliveTimeoutMs: 10_000, headersTimeoutMs: 10_000 })
    // the queue wait is bounded on its own, apart from the evaluation deadline's floor
    expect(c.queueWaitMs).toBe(DEFAULTS.queueWaitMs)
    expect(configFromEnv({ QUEUE_WAIT_MS: '5000' }).queueWaitMs).toBe(5000)
    expect(() => configFromEnv({ QUEUE_WAIT_MS: '0' })).toThrow(/QUEUE_WAIT_MS/)
  })

  it('reads the new knobs', () => {
    const c = configFromEnv({
      SESSIONS_PER_CLIENT: '2',
      SESSION_BYTES_PER_CLIENT: '1000000',
      RATE_LIMIT_WINDOW_SECONDS: '10',
      RATE_COST_KEYS: '100',
      RATE_COST_CLASSIFY: '5',
      RATE_LIMIT_CLIENTS: '50',
      MAX_QUERIES_PER_SESSION: '100',
      MAX_QUERIES_PER_CLIENT: '1000',
      QUERY_WINDOW_SECONDS: '3600',
      WORKER_HEAP_LIMIT_MB: '256',
      LOGIT_NOISE_STD: '0.05',
      TRUST_PROXY: '10.0.0.0/8, 127.0.0.1',
      SESSION_IDLE_SECONDS: '120',
      CONNECTIONS_MAX: '500',
      CONNECTIONS_PER_CLIENT: '8',
      KEEP_ALIVE_TIMEOUT_MS: '2000',
      HEADERS_TIMEOUT_MS: '3000',
    })
    expect(c).toMatchObject({
      sessionIdleSeconds: 120,
      connectionsMax: 500,
      connectionsPerClient: 8,
      keepAliveTimeoutMs: 2000,
      headersTimeoutMs: 3000,
      sessionsPerClient: 2,
      sessionBytesPerClient: 1_000_000,
      rateLimitWindowSeconds: 10,
      rateCostKeys: 100,
      rateCostClassify: 5,
      rateLimitClients: 50,
      maxQueriesPerSession: 100,
      maxQueriesPerClient: 1000,
      queryWindowSeconds: 3600,
      workerHeapLimitMb: 256,
      logitNoiseStd: 0.05,
      trustProxy: '10.0.0.0/8, 127.0.0.1',
    })
    expect(configFromEnv({ TRUST_PROXY: '1' }).trustProxy).toBe(true)
    expect(configFromEnv({ TRUST_PROXY: '0' }).trustProxy).toBe(false)
  })

  it('refuses values that would silently weaken a limit', () => {
    expect(() => configFromEnv({ WORKER_HEAP_LIMIT_MB: '32' })).toThrow(/0 \(automatic\) or an integer >= 64/)
    expect(() => configFromEnv({ LOGIT_NOISE_STD: '-1' })).toThrow(/>= 0/)
    expect(() => configFromEnv({ LOGIT_NOISE_STD: 'lots' })).toThrow()
    expect(() => configFromEnv({ SESSIONS_PER_CLIENT: '0' })).toThrow()
    expect(() => configFromEnv({ MAX_QUERIES_PER_CLIENT: '1.5' })).toThrow()
    expect(() => configFromEnv({ RATE_LIMIT_WINDOW: '1 minute' })).toThrow(/RATE_LIMIT_WINDOW_SECONDS/)
  })

  it('reads METRICS_ALLOW: loopback by default, none, or addresses and CIDRs checked at startup', () => {
    expect(configFromEnv({ METRICS_ALLOW: 'loopback' }).metricsAllow).toEqual([])
    expect(configFromEnv({ METRICS_ALLOW: 'none' }).metricsAllow).toBe(false)
    expect(configFromEnv({ METRICS_ALLOW: ' 10.0.0.0/8, 192.0.2.7 ,2001:db8::/32,loopback' }).metricsAllow).toEqual([
      '10.0.0.0/8',
      '192.0.2.7',
      '2001:db8::/32',
    ])
    for (const bad of ['10.0.0.0/33', 'prometheus.local', '10.0.0.1/8/1', '2001:db8::/129', 'none,10.0.0.1', '10.0.0.0/x']) {
      expect(() => configFromEnv({ METRICS_ALLOW: bad }), bad).toThrow(/METRICS_ALLOW/)
    }
  })
})
