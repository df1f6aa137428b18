// The bookkeeping of followed classifications: one live job per (session, id), final states kept for a while and bounded.
import { describe, expect, it } from 'vitest'
import { HttpError } from '../http/http-error'
import { JobRegistry } from './job-registry'

const stages = ['conv1', 'square1', 'dense1']

describe('JobRegistry', () => {
  it('keeps one live job per session and id; a finished one\'s id may be reused', () => {
    const jobs = new JobRegistry({ keepMs: 1000, maxFinished: 10 })
    const a = jobs.open('s1', 'id', 'req-1', stages)
    expect(() => jobs.open('s1', 'id', 'req-2', stages)).toThrow(HttpError)
    expect(jobs.open('s2', 'id', 'req-3', stages)).not.toBe(a)
    expect(jobs.find('s1', 'id')).toBe(a)
    jobs.finish(a, 'done')
    expect(a.done).toBe(3)
    const again = jobs.open('s1', 'id', 'req-4', stages)
    expect(jobs.find('s1', 'id')).toBe(again)
    expect(jobs.size).toEqual({ live: 2, finished: 0 })
  })

  it('answers a final state for keepMs, then forgets it; the first end wins', () => {
    let now = 0
    const jobs = new JobRegistry({ keepMs: 1000, maxFinished: 10, now: () => now })
    const a = jobs.open('s', 'a', 'r', stages)
    jobs.finish(a, 'cancelled')
    jobs.finish(a, 'failed')
    expect(a.final?.state).toBe('cancelled')
    now = 999
    expect(jobs.find('s', 'a')).toBe(a)
    now = 1000
    expect(jobs.find('s', 'a')).toBeUndefined()
  })

  it('keeps at most maxFinished final states, forgetting the oldest', () => {
    const jobs = new JobRegistry({ keepMs: 60_000, maxFinished: 3 })
    for (let i = 0; i < 5; i++) jobs.finish(jobs.open('s', `job${i}`, `r${i}`, stages), 'done')
    expect(jobs.size).toEqual({ live: 0, finished: 3 })
    expect(jobs.find('s', 'job1')).toBeUndefined()
    expect(jobs.find('s', 'job2')?.requestId).toBe('job2')
  })
})
