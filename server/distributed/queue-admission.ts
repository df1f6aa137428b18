/**
 * Admission to the shared queue in distributed mode, counted atomically across API replicas by
 * Lua scripts on Redis's own clock:
 * - QUEUE_MAX: a job first holds a place (redisKeys.admitting, job ids by time), counted with the
 *   jobs waiting in BullMQ (its wait list and its prioritized set) in the same script, so replicas
 *   admitting at once see each other instead of each reading the same free places. A place
 *   stops counting once its job is in the queue (where it counts as waiting), and is given back
 *   then, or once refused; one held by a replica that died on the way in lapses after ADMIT_HOLD_MS.
 * - Turns: the same script counts the job as its client's (redisKeys.inFlight: the client's jobs
 *   waiting or running), and that count is the job's BullMQ priority, so a client with nothing in
 *   flight goes ahead of every other client's backlog. The job leaves its client's count when its
 *   POST ends (leaveShare), or, for a replica that died, at a lapse time past its longest wait.
 * - Places: when the queue is full, the same script gives a newcomer the place of the waiting job
 *   that would run last of the client holding the most places, if that client holds at least two
 *   more than the newcomer. The job is then flagged (a MAC only the replicas can make) and
 *   removed with BullMQ's own remove, which refuses a job an evaluator has taken; its replica
 *   answers 503 overloaded.
 * Why: docs/decisions/per-client-queue-share.md.
 */
import { PRIORITY_LIMIT, type Queue } from 'bullmq'
import type { Redis } from 'ioredis'
import { HttpError } from '../http/http-error'
import type { JobMac } from './job-mac'
import { redisKeys, SESSION_PREFIX as P, storeUnavailable, type QueueJobKeys } from './redis-keys'

/** How long an admission may hold its place before it lapses (longer than writing a request container takes). */
const ADMIT_HOLD_MS = 30_000
/** How long a displacement flag waits for the displaced job's replica to read it. */
const DISPLACED_FLAG_MS = 10 * 60_000

/** The clock and lapse sweep every script starts with. */
const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`

/**
 * ARGV: wait key, prioritized key, job hash prefix, jobId, queueMax, holdMs, client, lifetimeMs, displace (1: a
 * full queue gives the newcomer the place of a job of the client holding the most). Answers {0}
 * when refused (nothing held), else {1, the client's jobs in flight with this one} and, when it
 * took another job's place, that job's id and client: that job is off its client's count
 * already, so no second newcomer picks it, and the newcomer's place is held before the job is
 * removed, so no other admission takes the place between the two.
 */
const ADMIT = `${NOW}
local wait, prioritized, jobPrefix, jobId, queueMax, holdMs, client, lifetimeMs, displace = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7], tonumber(ARGV[8]), ARGV[9]
local admitting = '${redisKeys.admitting}'
local index = '${redisKeys.inFlightClients}'
redis.call('ZREMRANGEBYSCORE', admitting, '-inf', now - holdMs)
-- a place counts until its job is in the queue: from BullMQ's add on, the job counts there (while
-- it waits) until its replica gives the place back, and must not count twice meanwhile
local held = 0
for _, id in ipairs(redis.call('ZRANGE', admitting, 0, -1)) do
  if redis.call('EXISTS', jobPrefix .. id) == 0 then held = held + 1 end
end
local victim, holder = nil, nil
if redis.call('LLEN', wait) + redis.call('ZCARD', prioritized) + held >= queueMax then
  if displace ~= '1' then return {0} end
  -- of the client with the most jobs waiting, the one BullMQ would run last
  redis.call('ZREMRANGEBYSCORE', index, '-inf', now)
  local mine, most = 0, 0
  for _, c in ipairs(redis.call('ZRANGE', index, 0, -1)) do
    local theirs = '${P}inflight:' .. c
    redis.call('ZREMRANGEBYSCORE', theirs, '-inf', now)
    local n, last, lastScore = 0, nil, -1
    for _, id in ipairs(redis.call('ZRANGE', theirs, 0, -1)) do
      local s = redis.call('ZSCORE', prioritized, id)
      if s then
        n = n + 1
        s = tonumber(s)
        if s > lastScore then last, lastScore = id, s end
      end
    end
    if c == client then mine = n end
    if n > most then most, holder, victim = n, c, last end
  end
  if victim == nil or most < mine + 2 then return {0} end
  local theirs = '${P}inflight:' .. holder
  redis.call('ZREM', theirs, victim)
  if redis.call('ZCARD', theirs) == 0 then redis.call('ZREM', index, holder) end
end
redis.call('ZADD', admitting, now, jobId)
local own = '${P}inflight:' .. client
redis.call('ZREMRANGEBYSCORE', own, '-inf', now)
redis.call('ZADD', own, now + lifetimeMs, jobId)
local latest = tonumber(redis.call('ZRANGE', own, -1, -1, 'WITHSCORES')[2])
-- counted before the expiry is set: a lifetime shorter than this script's run puts the expiry in
-- the past, which deletes the count at once, and the job is admitted all the same
local r = {1, redis.call('ZCARD', own)}
redis.call('PEXPIREAT', own, latest)
redis.call('ZADD', index, latest, client)
if victim then r[3], r[4] = victim, holder end
return r
`

/** ARGV: client, jobId. Takes the job off its client's count. */
const LEAVE = `
local own = '${P}inflight:' .. ARGV[1]
redis.call('ZREM', own, ARGV[2])
if redis.call('ZCARD', own) == 0 then redis.call('ZREM', '${redisKeys.inFlightClients}', ARGV[1]) end
return 0
`

interface Scripts {
  bfQueueAdmit(...args: (string | number)[]): Promise<(string | number)[]>
  bfQueueLeave(client: string, jobId: string): Promise<number>
}

function scripted(redis: Redis): Redis & Scripts {
  if (!('bfQueueAdmit' in redis)) {
    redis.defineCommand('bfQueueAdmit', { numberOfKeys: 0, lua: ADMIT })
    redis.defineCommand('bfQueueLeave', { numberOfKeys: 0, lua: LEAVE })
  }
  return redis as Redis & Scripts
}

/** The answer to a newcomer refused by a full queue, and to a job whose place a newcomer took. */
export function queueFull(displaced = false): HttpError {
  const message = displaced ? 'the queue is full and this client holds more of it than others' : 'all evaluators are busy and the queue is full'
  return new HttpError(503, 'overloaded', message, { 'retry-after': '2' })
}

interface Admitted {
  /** its BullMQ priority: the client's jobs in flight, this one included */
  priority: number
  /** the waiting job whose place it took, and that job's client */
  displaced?: { jobId: string; client: string }
}

async function admit(redis: Redis, queue: QueueJobKeys, jobId: string, queueMax: number, client: string, lifetimeMs: number, displace: boolean): Promise<Admitted> {
  const r = await scripted(redis)
    .bfQueueAdmit(queue.wait, queue.prioritized, queue[''], jobId, queueMax, ADMIT_HOLD_MS, client, Math.ceil(lifetimeMs), displace ? 1 : 0)
    .catch(() => {
      throw storeUnavailable()
    })
  if (Number(r[0]) !== 1) throw queueFull()
  const inFlight = Number(r[1])
  return { priority: Math.min(inFlight, PRIORITY_LIMIT), ...(r[2] === undefined ? {} : { displaced: { jobId: String(r[2]), client: String(r[3]) } }) }
}

/**
 * Holds a place for `jobId` and counts it as `client`'s (until leaveShare, or `lifetimeMs`):
 * answers its BullMQ priority, the client's jobs in flight. Throws 503 overloaded (holding
 * nothing) when the waiting jobs and held places reach `queueMax`.
 */
export async function admitToQueue(redis: Redis, queue: QueueJobKeys, jobId: string, queueMax: number, client = '', lifetimeMs = ADMIT_HOLD_MS): Promise<number> {
  return (await admit(redis, queue, jobId, queueMax, client, lifetimeMs, false)).priority
}

/** Gives the place back (the job waits in the queue now, or never will). */
export function leaveAdmission(redis: Redis, jobId: string): void {
  void redis.zrem(redisKeys.admitting, jobId).catch(() => {})
}

/** Takes the job off its client's count (its POST ended). */
export async function leaveShare(redis: Redis, client: string, jobId: string): Promise<void> {
  await scripted(redis).bfQueueLeave(client, jobId)
}

/**
 * The shared queue as one API replica sees it: admission with the per-client turns and
 * displacement above, the waiting count and a waiting job's place.
 */
export class SharedQueue {
  constructor(
    private readonly redis: Redis,
    private readonly queue: Pick<Queue, 'keys' | 'remove'>,
    private readonly jobMac: JobMac,
    private readonly queueMax: number,
  ) {}

  /**
   * Admits `jobId` of `client` (its BullMQ priority), in a full queue in the place of a job of a
   * client holding more of it; else throws 503 overloaded. The place is held until leavePlace.
   */
  async admit(jobId: string, client: string, lifetimeMs: number): Promise<number> {
    const { priority, displaced } = await admit(this.redis, this.waiting, jobId, this.queueMax, client, lifetimeMs, true)
    // Redis failing between the two leaves the queue one over QUEUE_MAX until a job leaves it
    if (displaced) await this.displace(displaced.jobId).catch(() => {})
    return priority
  }

  leavePlace(jobId: string): void {
    leaveAdmission(this.redis, jobId)
  }

  /** Takes the job off its client's count; a failure (Redis down) leaves it to lapse. */
  async leave(client: string, jobId: string): Promise<void> {
    await leaveShare(this.redis, client, jobId).catch(() => {})
  }

  /** Whether a job Redis no longer holds was displaced by a newcomer (its flag verifies). */
  async wasDisplaced(jobId: string): Promise<boolean> {
    const flag = await this.redis.get(redisKeys.displaced(jobId)).catch(() => null)
    return flag !== null && this.jobMac.verify(flag, 'displaced', jobId)
  }

  /** Jobs waiting for an evaluator, every replica's. */
  async depth(): Promise<number> {
    const [[, wait], [, prioritized]] = (await this.redis.multi().llen(this.waiting.wait).zcard(this.waiting.prioritized).exec()) as [[Error | null, number], [Error | null, number]]
    return Number(wait) + Number(prioritized)
  }

  /**
   * Jobs ahead of this one in the shared queue, every replica's: BullMQ's workers take the wait
   * list first (jobs pushed on the left, taken from the right), then the prioritized set by
   * score. A job found there is placed by where it is, even before its replica has heard back
   * from the add; one not found counts every waiting job as ahead while still on its way in, and
   * 0 once it no longer waits. 0 when Redis does not answer.
   */
  async jobsAhead(jobId: string, enqueued: boolean): Promise<number> {
    try {
      const { wait, prioritized } = this.waiting
      const [[, length], [, at], [, rank], [, scored]] = (await this.redis.multi().llen(wait).lpos(wait, jobId).zrank(prioritized, jobId).zcard(prioritized).exec()) as [
        [Error | null, number],
        [Error | null, number | null],
        [Error | null, number | null],
        [Error | null, number],
      ]
      if (typeof at === 'number') return Math.max(0, length - 1 - at)
      if (typeof rank === 'number') return length + rank
      return enqueued ? 0 : Number(length) + Number(scored)
    } catch {
      return 0
    }
  }

  private get waiting(): QueueJobKeys {
    return { wait: this.queue.keys.wait, prioritized: this.queue.keys.prioritized, '': this.queue.keys[''] }
  }

  /** Flags and removes the job whose place a newcomer took (its replica answers 503 overloaded). */
  private async displace(jobId: string): Promise<void> {
    const flag = redisKeys.displaced(jobId)
    await this.redis.set(flag, this.jobMac.mac('displaced', jobId), 'PX', DISPLACED_FLAG_MS)
    // BullMQ's remove answers 0 for a job an evaluator took meanwhile: it runs, and its place is free all the same
    if ((await this.queue.remove(jobId, { removeChildren: false })) !== 1) await this.redis.del(flag)
  }
}
