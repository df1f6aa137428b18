/**
 * One evaluator slot kept free for the other clients in distributed mode: the rule of
 * server/pool/worker-reserve.ts across every evaluator sharing the queue. A classification may
 * take the last free slot only when no other client has been served within the window; a client
 * alone on the server still gets every slot. Why: docs/decisions/evaluator-kept-for-others.md.
 *
 * Shared state in Redis, read and written by one Lua script per step on Redis's own clock:
 * - each evaluator registers its slots (its pool's workers) under an id that lapses unless
 *   renewed, so a dead evaluator's slots stop counting;
 * - a job's client is the client whose in-flight jobs hold it (queue-admission.ts counts them at
 *   admission), so neither the job's data nor the API replicas change; a job no client holds
 *   (a key validation, a lapsed count) is never held back;
 * - each client's running classifications (job ids by lapse time), and the last two clients
 *   served with when.
 * A held-back job has already been taken from BullMQ's queue (evaluators pull, they cannot pick):
 * while another client's job waits, it goes back to the queue behind every such job (a larger
 * BullMQ priority number), so the slot takes theirs; while none waits, the evaluator keeps it
 * until the window ends or a job arrives (evaluator.ts).
 */
import { PRIORITY_LIMIT } from 'bullmq'
import type { Redis } from 'ioredis'
import { randomUUID } from 'node:crypto'
import { RECENT_CLIENT_MS } from '../pool/worker-reserve'
import { redisKeys, SESSION_PREFIX as P, type QueueJobKeys } from './redis-keys'

const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`

/** ARGV: evaluator id, its slots, lapseMs (0: it leaves). Drops lapsed evaluators. */
const REGISTER = `${NOW}
local evaluators, slots = '${redisKeys.evaluators}', '${redisKeys.evaluatorSlots}'
for _, id in ipairs(redis.call('ZRANGEBYSCORE', evaluators, '-inf', now)) do redis.call('HDEL', slots, id) end
redis.call('ZREMRANGEBYSCORE', evaluators, '-inf', now)
if tonumber(ARGV[3]) == 0 then
  redis.call('ZREM', evaluators, ARGV[1])
  redis.call('HDEL', slots, ARGV[1])
  return 0
end
redis.call('ZADD', evaluators, now + tonumber(ARGV[3]), ARGV[1])
redis.call('HSET', slots, ARGV[1], ARGV[2])
return 0
`

/**
 * ARGV: jobId, windowMs, lifetimeMs, BullMQ's wait key, its prioritized key, its job key prefix.
 * Answers {0, client} when the job may run now (it then counts as its client's running job until
 * done, or lifetimeMs), {ms, client, requeueAt} when it is held back for about ms (requeueAt: 0
 * when no other client's job waits, else the BullMQ priority that puts it back behind every one
 * of them), {0, ''} for a job no client holds.
 */
const TAKE = `${NOW}
local jobId, windowMs, lifetimeMs, wait, prioritized, prefix = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], ARGV[5], ARGV[6]
local clients = redis.call('ZRANGE', '${redisKeys.inFlightClients}', 0, -1)
local client = nil
for _, c in ipairs(clients) do
  if c ~= '' and redis.call('ZSCORE', '${P}inflight:' .. c, jobId) then
    client = c
    break
  end
end
if client == nil then return {0, ''} end
local evaluators, slotsOf = '${redisKeys.evaluators}', '${redisKeys.evaluatorSlots}'
local slots = 0
for _, id in ipairs(redis.call('ZRANGEBYSCORE', evaluators, now, '+inf')) do
  slots = slots + (tonumber(redis.call('HGET', slotsOf, id)) or 0)
end
local running = '${P}running:' .. client
redis.call('ZREMRANGEBYSCORE', running, '-inf', now)
local served = '${redisKeys.served}'
-- a job run again after its evaluator died is not counted twice
local others = redis.call('ZCARD', running) - (redis.call('ZSCORE', running, jobId) and 1 or 0)
if slots >= 2 and others + 1 >= slots then
  local latest = redis.call('ZREVRANGE', served, 0, 1, 'WITHSCORES')
  for i = 1, #latest, 2 do
    if latest[i] ~= client then
      local held = tonumber(latest[i + 1]) + windowMs - now
      if held > 0 then
        -- other clients' waiting jobs: the held job goes back behind all of them (they come first: this
        -- client holds a slot already), or waits here for one when there is none
        local waiting, behind = false, 1
        for _, c in ipairs(clients) do
          if c ~= client then
            for _, id in ipairs(redis.call('ZRANGE', '${P}inflight:' .. c, 0, -1)) do
              local s = redis.call('ZSCORE', prioritized, id)
              if s then
                waiting, behind = true, math.max(behind, math.floor(tonumber(s) / 0x100000000) + 1)
              elseif redis.call('LPOS', wait, id) then
                waiting = true
              end
            end
          end
        end
        if not waiting then return {held, client, 0} end
        return {held, client, math.max(behind, tonumber(redis.call('HGET', prefix .. jobId, 'priority')) or 0)}
      end
      break
    end
  end
end
redis.call('ZADD', running, now + lifetimeMs, jobId)
redis.call('PEXPIREAT', running, tonumber(redis.call('ZRANGE', running, -1, -1, 'WITHSCORES')[2]))
redis.call('ZADD', served, now, client)
redis.call('ZREMRANGEBYRANK', served, 0, -3)
redis.call('PEXPIRE', served, windowMs)
return {0, client}
`

/** ARGV: client, jobId. The job no longer runs. */
const DONE = `
redis.call('ZREM', '${P}running:' .. ARGV[1], ARGV[2])
return 0
`

interface Scripts {
  bfReserveRegister(id: string, slots: number, lapseMs: number): Promise<number>
  bfReserveTake(...args: (string | number)[]): Promise<[number, string, number?]>
  bfReserveDone(client: string, jobId: string): Promise<number>
}

function scripted(redis: Redis): Redis & Scripts {
  if (!('bfReserveTake' in redis)) {
    redis.defineCommand('bfReserveRegister', { numberOfKeys: 0, lua: REGISTER })
    redis.defineCommand('bfReserveTake', { numberOfKeys: 0, lua: TAKE })
    redis.defineCommand('bfReserveDone', { numberOfKeys: 0, lua: DONE })
  }
  return redis as Redis & Scripts
}

export interface Turn {
  /** the job's client ('' when no client holds it) */
  client: string
  /** 0: it may run now and counts as running; else about how long it is held back */
  heldMs: number
  /**
   * held back: 0 when no other client's job waits (it waits for one on this evaluator), else the
   * BullMQ priority that puts it back in the queue behind every other client's waiting job
   */
  requeueAt: number
}

/** One evaluator's side of the rule: its registered slots, and its jobs' turns. */
export class EvaluatorReserve {
  readonly id = randomUUID()

  /** `lapseMs`: how long this evaluator's slots count without a renewal; `windowMs`: how recent a served client counts */
  constructor(
    private readonly redis: Redis,
    private readonly queue: QueueJobKeys,
    private readonly slots: number,
    private readonly lapseMs: number,
    private readonly windowMs = RECENT_CLIENT_MS,
  ) {}

  /** Registers this evaluator's slots, or renews them (call more often than `lapseMs`). */
  async register(): Promise<void> {
    await scripted(this.redis).bfReserveRegister(this.id, this.slots, this.lapseMs)
  }

  /** Its slots stop counting now. */
  async leave(): Promise<void> {
    await scripted(this.redis).bfReserveRegister(this.id, this.slots, 0)
  }

  /** Whether the classification `jobId` may run now; if so it counts as its client's until done() or `lifetimeMs`. */
  async take(jobId: string, lifetimeMs: number): Promise<Turn> {
    const { wait, prioritized, '': prefix } = this.queue
    const [heldMs, client, requeueAt] = await scripted(this.redis).bfReserveTake(jobId, this.windowMs, Math.ceil(lifetimeMs), wait, prioritized, prefix)
    return { heldMs: Number(heldMs), client: String(client), requeueAt: Math.min(Number(requeueAt ?? 0), PRIORITY_LIMIT) }
  }

  /** The job taken for `client` no longer runs. */
  async done(client: string, jobId: string): Promise<void> {
    if (client) await scripted(this.redis).bfReserveDone(client, jobId)
  }
}
