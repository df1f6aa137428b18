/**
 * TLS to Redis (`rediss://` and REDIS_TLS_CA): a real redis-server listening for TLS only, with a
 * certificate from a throwaway CA, and a password. The connection check every distributed
 * process makes at start succeeds with the CA and stops with a clear reason without it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rmSync } from 'node:fs'
import { startRedis, type TestRedis } from '../test-support/redis'
import { makeCertificates, type TestCertificates } from '../test-support/tls'
import { checkRedis, connection } from './redis-keys'

let certs: TestCertificates
let redis: TestRedis
const saved = process.env.REDIS_TLS_CA

beforeAll(async () => {
  certs = makeCertificates()
  redis = await startRedis({ password: 'a password over tls', tls: certs })
}, 60_000)

afterAll(async () => {
  if (saved === undefined) delete process.env.REDIS_TLS_CA
  else process.env.REDIS_TLS_CA = saved
  await redis?.stop()
  if (certs) rmSync(certs.dir, { recursive: true, force: true })
})

describe('Redis over TLS (rediss://, REDIS_TLS_CA)', () => {
  it('connects with the CA of REDIS_TLS_CA, and refuses a certificate it cannot verify', async () => {
    expect(redis.url.startsWith('rediss://')).toBe(true)
    delete process.env.REDIS_TLS_CA
    await expect(checkRedis(redis.url)).rejects.toThrow(/REDIS_URL: Redis cannot be used: .*(certificate|self.signed)/i)
    process.env.REDIS_TLS_CA = certs.caFile
    await checkRedis(redis.url)
    const r = connection(redis.url, { maxRetriesPerRequest: 1 })
    try {
      expect(await r.set('bf:tls-check', 'ok')).toBe('OK')
      expect(await r.get('bf:tls-check')).toBe('ok')
    } finally {
      r.disconnect()
    }
  }, 60_000)
})
