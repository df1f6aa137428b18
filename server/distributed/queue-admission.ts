/**
 * QUEUE_MAX in distributed mode, counted atomically across API replicas: a job first holds a
 * place (redisKeys.admitting, a sorted set of job ids by Redis time), then the jobs waiting in
 * BullMQ's list and the places held are counted in one transaction, so replicas admitting at
 * once see each other instead of each reading the same free places. The place is given back once
 * the job waits in the queue (where it counts as waiting), or was refused; one held by a replica
 * that died on the way in lapses after ADMIT_HOLD_MS.
 */
import type { Redis } from 'ioredis'
import { HttpError } from '../http/http-error'
import { redisKeys, storeUnavailable } from './redis-keys'

/** How long an admission may hold its place before it lapses (longer than writing a request container takes). */
const ADMIT_HOLD_MS = 30_000

/** Holds a place for `jobId`, or throws 503 overloaded (holding none) when the waiting jobs and held places exceed `queueMax`. */
export async function admitToQueue(redis: Redis, waitList: string, jobId: string, queueMax: number): Promise<void> {
  const [seconds, micros] = await redis.time()
  const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000)
  const counted = await redis
    .multi()
    .zremrangebyscore(redisKeys.admitting, '-inf', now - ADMIT_HOLD_MS)
    .zadd(redisKeys.admitting, now, jobId)
    .zcard(redisKeys.admitting)
    .llen(waitList)
    .exec()
  if (!counted || counted.some(([e]) => e)) throw storeUnavailable()
  const held = Number(counted[2][1])
  const waiting = Number(counted[3][1])
  if (waiting + held > queueMax) {
    leaveAdmission(redis, jobId)
    throw new HttpError(503, 'overloaded', 'all evaluators are busy and the queue is full', { 'retry-after': '2' })
  }
}

/** Gives the place back (the job waits in the queue now, or never will). */
export function leaveAdmission(redis: Redis, jobId: string): void {
  void redis.zrem(redisKeys.admitting, jobId).catch(() => {})
}
