/**
 * Sessions in Redis (distributed mode), so that any API replica finds a session another made,
 * with the same rules as the in-memory SessionStore (server/sessions/session-store.ts):
 * - the key container is stored as one binary string, PEXPIRE'd with the session's TTL, which
 *   slides with each use (touch); Redis drops expired data itself, the index is swept lazily;
 * - per client (count and bytes): the client's own least recently used sessions make room;
 * - in all (bytes, count as a backstop): when full, a new session takes the place of idle
 *   sessions, then of the least recently used sessions of clients over their fair share (the
 *   capacity divided by the clients holding sessions); else 503 sessions_full with Retry-After.
 * Every rule runs in one Lua script (atomic across replicas), on Redis's own clock (TIME), so
 * replicas need not agree on time. Persistence of this data is the Redis operator's choice:
 * run it with `--save '' --appendonly no` (the test harness does) so keys never reach disk.
 *
 * Layout under `bf:`: sess:ID (hash model/owner/queries), keys:ID (binary), exp (zset ID ->
 * expiry ms), own:OWNER (zset, the owner's sessions by last use, a counter `seq`: least recent first),
 * idx:bytes / idx:owner (hashes ID -> bytes / owner, outliving sess:ID for the sweep), total.
 *
 * A Session answered here has empty `keys`: the keys stay in Redis and the evaluator fetches
 * them itself. They are stored MACed with the job key (stored-keys.ts), so that a replaced key
 * container is refused by the evaluator rather than evaluated. `queries` is read at touch and
 * each change is forwarded to Redis (HINCRBY): two replicas racing on the last query of a budget
 * may both pass (documented limit).
 */
import type { Redis } from 'ioredis'
import { HttpError } from '../http/http-error'
import type { Sessions } from '../backend/contract'
import type { Session, SessionStoreOptions } from '../sessions/session-store'
import type { JobMac } from './job-mac'
import { connection, failFast, mapRedisError, SESSION_PREFIX } from './redis-keys'
import { sealKeys } from './stored-keys'

const PRELUDE = `
local P = '${SESSION_PREFIX}'
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function drop(id)
  local b = redis.call('HGET', P..'idx:bytes', id)
  if not b then return 0 end
  local o = redis.call('HGET', P..'idx:owner', id)
  redis.call('DECRBY', P..'total', b)
  redis.call('HDEL', P..'idx:bytes', id)
  redis.call('HDEL', P..'idx:owner', id)
  redis.call('ZREM', P..'exp', id)
  if o then redis.call('ZREM', P..'own:'..o, id) end
  redis.call('DEL', P..'sess:'..id, P..'keys:'..id)
  return 1
end
local function sweep(now)
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', P..'exp', '-inf', now)) do drop(id) end
end
`

/**
 * ARGV: owner, bytes, maxSessions, maxBytes, perClientSessions, perClientBytes, ttlMs, idleMs,
 * commit, then (commit = 1) id, model, keys. Answers {'too_large'}, {'full', retryAfterSeconds}
 * or {'ok', expiresAt}. The in-memory store's rules (server/sessions/session-store.ts): the
 * owner's own quota first; when full, idle sessions, then those of clients over their share.
 */
const ADD = `${PRELUDE}
local owner, bytes = ARGV[1], tonumber(ARGV[2])
local maxS, maxB, perS, perB, ttl, idle = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
if bytes > perB or bytes > maxB then return {'too_large'} end
local now = now_ms()
sweep(now)
local size = redis.call('ZCARD', P..'exp')
local total = tonumber(redis.call('GET', P..'total') or '0')
local victims, taken, freed = {}, {}, 0
local function sizeOf(id) return tonumber(redis.call('HGET', P..'idx:bytes', id) or '0') end
local own = redis.call('ZRANGE', P..'own:'..owner, 0, -1)
local ownCount, ownBytes = #own, 0
for _, id in ipairs(own) do ownBytes = ownBytes + sizeOf(id) end
for _, id in ipairs(own) do
  if ownCount + 1 <= perS and ownBytes + bytes <= perB then break end
  local b = sizeOf(id)
  victims[#victims + 1] = id
  taken[id] = true
  freed = freed + b
  ownCount = ownCount - 1
  ownBytes = ownBytes - b
end
local function fits() return size - #victims + 1 <= maxS and total - freed + bytes <= maxB end
if not fits() then
  -- every live session, least recently used first (the expiry slides by one TTL from last use)
  local all = redis.call('ZRANGE', P..'exp', 0, -1, 'WITHSCORES')
  local ids, owners, sizes, exps, count, held, clients = {}, {}, {}, {}, {}, {}, 0
  for i = 1, #all, 2 do
    local id = all[i]
    local o = redis.call('HGET', P..'idx:owner', id) or ''
    ids[#ids + 1] = id
    owners[id], sizes[id], exps[id] = o, sizeOf(id), tonumber(all[i + 1])
    if not taken[id] then
      if not count[o] then count[o], held[o], clients = 0, 0, clients + 1 end
      count[o] = count[o] + 1
      held[o] = held[o] + sizes[id]
    end
  end
  if not count[owner] or count[owner] == 0 then clients = clients + 1 end
  local function take(id)
    local o = owners[id]
    victims[#victims + 1] = id
    taken[id] = true
    freed = freed + sizes[id]
    count[o] = count[o] - 1
    held[o] = held[o] - sizes[id]
  end
  for _, id in ipairs(ids) do
    if fits() then break end
    if not taken[id] and now - (exps[id] - ttl) >= idle then take(id) end
  end
  local shareS, shareB = math.max(1, math.floor(maxS / clients)), math.floor(maxB / clients)
  local function overShare(o)
    local c, b = count[o], held[o]
    if o == owner then c, b = c + 1, b + bytes end
    return c > 1 and (c > shareS or b > shareB)
  end
  for _, id in ipairs(ids) do
    if fits() then break end
    if not taken[id] and overShare(owners[id]) then take(id) end
  end
end
if not fits() then
  -- seconds until the first session expires or may be taken as idle, if nobody uses it
  local first = redis.call('ZRANGE', P..'exp', 0, 0, 'WITHSCORES')
  local ms = ttl
  if first[2] then ms = math.min(tonumber(first[2]), tonumber(first[2]) - ttl + idle) - now end
  return {'full', math.max(1, math.ceil(ms / 1000))}
end
if ARGV[9] ~= '1' then return {'ok', 0} end
for _, id in ipairs(victims) do drop(id) end
local id, model = ARGV[10], ARGV[11]
local exp = now + ttl
redis.call('SET', P..'keys:'..id, ARGV[12], 'PX', ttl)
redis.call('HSET', P..'sess:'..id, 'model', model, 'owner', owner, 'queries', 0)
redis.call('PEXPIRE', P..'sess:'..id, ttl)
redis.call('ZADD', P..'exp', exp, id)
redis.call('ZADD', P..'own:'..owner, redis.call('INCR', P..'seq'), id)
redis.call('HSET', P..'idx:bytes', id, bytes)
redis.call('HSET', P..'idx:owner', id, owner)
redis.call('INCRBY', P..'total', bytes)
return {'ok', exp}
`

/** ARGV: id, ttlMs, slide (1: extend the TTL). Answers nil or {model, owner, queries, expiresAt}. */
const TOUCH = `${PRELUDE}
local id = ARGV[1]
local now = now_ms()
local exp = redis.call('ZSCORE', P..'exp', id)
if not exp then return false end
local h = redis.call('HMGET', P..'sess:'..id, 'model', 'owner', 'queries')
if tonumber(exp) <= now or not h[1] then drop(id) return false end
if ARGV[3] == '1' then
  local ttl = tonumber(ARGV[2])
  exp = now + ttl
  redis.call('ZADD', P..'exp', exp, id)
  redis.call('ZADD', P..'own:'..h[2], redis.call('INCR', P..'seq'), id)
  redis.call('PEXPIRE', P..'sess:'..id, ttl)
  redis.call('PEXPIRE', P..'keys:'..id, ttl)
end
return {h[1], h[2], h[3] or '0', tostring(exp)}
`

const DELETE = `${PRELUDE}
return drop(ARGV[1])
`

/** ARGV: id, delta. Only on a live session: a HINCRBY on an expired one would recreate it without TTL. */
const QUERIES = `
local k = '${SESSION_PREFIX}sess:'..ARGV[1]
if redis.call('EXISTS', k) == 1 then return redis.call('HINCRBY', k, 'queries', ARGV[2]) end
return false
`

/** Sweeps, then answers {sessions, totalBytes}. */
const STATS = `${PRELUDE}
sweep(now_ms())
return {redis.call('ZCARD', P..'exp'), tonumber(redis.call('GET', P..'total') or '0')}
`

type Scripts = {
  bfAdd(...args: (string | number | Buffer)[]): Promise<[string, number?]>
  bfTouch(id: string, ttl: number, slide: number): Promise<[string, string, string, string] | null>
  bfDelete(id: string): Promise<number>
  bfStats(): Promise<[number, number]>
  bfQueries(id: string, delta: number): Promise<number | null>
}

export type RedisSessionOptions = Omit<SessionStoreOptions, 'onDrop' | 'now'> & {
  redisUrl: string
  /** the key shared with the evaluators: binds each stored key container to its session and model */
  jobMac: JobMac
}

export class RedisSessionStore implements Sessions {
  private readonly redis: Redis & Scripts
  private counts = { size: 0, bytes: 0 }
  private readonly refresher: NodeJS.Timeout
  /** settles once Redis answered (requests before fail fast with 503) */
  readonly ready: Promise<void>

  constructor(private readonly options: RedisSessionOptions) {
    // errors surface per command as 503 (mapRedisError)
    const redis = connection(options.redisUrl, failFast)
    redis.defineCommand('bfAdd', { numberOfKeys: 0, lua: ADD })
    redis.defineCommand('bfTouch', { numberOfKeys: 0, lua: TOUCH })
    redis.defineCommand('bfDelete', { numberOfKeys: 0, lua: DELETE })
    redis.defineCommand('bfStats', { numberOfKeys: 0, lua: STATS })
    redis.defineCommand('bfQueries', { numberOfKeys: 0, lua: QUERIES })
    this.redis = redis as Redis & Scripts
    this.ready = new Promise<void>((resolve) => redis.once('ready', () => resolve()))
    // metrics read size/totalBytes synchronously: counted every few seconds (this also sweeps)
    this.refresher = setInterval(() => void this.refresh(), Math.min(options.ttlMs, 5000))
    this.refresher.unref()
  }

  get size(): number {
    return this.counts.size
  }
  get totalBytes(): number {
    return this.counts.bytes
  }

  async refresh(): Promise<void> {
    try {
      const [size, bytes] = await this.redis.bfStats()
      this.counts = { size: Number(size), bytes: Number(bytes) }
    } catch {
      // Redis down: keep the last counts
    }
  }

  async admit(owner: string, bytes: number): Promise<void> {
    await this.run(owner, bytes, [])
  }

  async add(id: string, model: string, keys: Uint8Array, owner: string): Promise<Session> {
    const expiresAt = await this.run(owner, keys.byteLength, [id, model, sealKeys(this.options.jobMac, id, model, keys)])
    void this.refresh()
    return this.sessionOf(id, model, owner, 0, expiresAt)
  }

  peek(id: string): Promise<Session | undefined> {
    return this.lookup(id, false)
  }

  touch(id: string): Promise<Session | undefined> {
    return this.lookup(id, true)
  }

  async delete(id: string): Promise<boolean> {
    const n = await this.redis.bfDelete(id).catch(mapRedisError)
    return n === 1
  }

  async close(): Promise<void> {
    clearInterval(this.refresher)
    // sessions outlive this replica: they belong to the cluster, not to one API process
    await this.redis.quit().catch(() => this.redis.disconnect())
  }

  /** The admission script: evicts (when committing) and stores, or throws the refusal. */
  private async run(owner: string, bytes: number, commit: (string | Buffer)[]): Promise<number> {
    const o = this.options
    // Lua reads numbers as doubles: "never idle" is a bound no session reaches
    const idleMs = o.idleMs ?? Number.MAX_SAFE_INTEGER
    const r = await this.redis
      .bfAdd(owner, bytes, o.maxSessions, o.maxBytes, o.perClientSessions, o.perClientBytes, o.ttlMs, idleMs, commit.length > 0 ? 1 : 0, ...commit)
      .catch(mapRedisError)
    if (r[0] === 'too_large') throw new HttpError(413, 'body_too_large', 'the keys exceed what one client may store')
    if (r[0] === 'full') {
      throw new HttpError(503, 'sessions_full', 'the server holds as many sessions as it can: try again later', { 'retry-after': String(r[1]) })
    }
    return Number(r[1])
  }

  private async lookup(id: string, slide: boolean): Promise<Session | undefined> {
    const r = await this.redis.bfTouch(id, this.options.ttlMs, slide ? 1 : 0).catch(mapRedisError)
    if (!r) return undefined
    const [model, owner, queries, expiresAt] = r
    return this.sessionOf(id, model, owner, Number(queries), Number(expiresAt))
  }

  private sessionOf(id: string, model: string, owner: string, queries: number, expiresAt: number): Session {
    const redis = this.redis
    let q = queries
    return {
      id,
      model,
      owner,
      keys: new Uint8Array(0),
      expiresAt,
      get queries() {
        return q
      },
      set queries(v: number) {
        const delta = v - q
        q = v
        // best effort: a lost increment only loosens the per-session budget
        if (delta !== 0) void redis.bfQueries(id, delta).catch(() => {})
      },
    }
  }
}
