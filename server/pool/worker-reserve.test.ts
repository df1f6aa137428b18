/**
 * The worker kept for other clients (worker-reserve.ts), on an injected clock: a client alone
 * takes every worker; one holding all but one worker waits for the last while another client was
 * served within the window, and takes it once the window has passed.
 */
import { describe, expect, it } from 'vitest'
import { until } from '../test-support/harness'
import { WorkerReserve } from './worker-reserve'

function clock() {
  let t = 1_000
  return { now: () => t, advance: (ms: number) => void (t += ms) }
}

describe('WorkerReserve', () => {
  it('lets a client alone take every worker', () => {
    const c = clock()
    const reserve = new WorkerReserve(() => {}, 30_000, c.now)
    reserve.served('a')
    expect(reserve.waitFor('a', 2, 2)).toBe(0)
    expect(reserve.waitFor('a', 8, 8)).toBe(0)
  })

  it('keeps the last worker while another client was served within the window', () => {
    const c = clock()
    const reserve = new WorkerReserve(() => {}, 30_000, c.now)
    reserve.served('b')
    c.advance(10_000)
    reserve.served('a')
    expect(reserve.waitFor('a', 1, 2)).toBe(0)
    expect(reserve.waitFor('a', 2, 2)).toBe(20_000)
    expect(reserve.waitFor('a', 3, 4)).toBe(0)
    expect(reserve.waitFor('a', 4, 4)).toBe(20_000)
    // the other client may take the last worker too, against A, which was served just now
    expect(reserve.waitFor('b', 2, 2)).toBe(30_000)
    c.advance(20_000)
    expect(reserve.waitFor('a', 2, 2)).toBe(0)
  })

  it('finds the newest other client however often one client is served', () => {
    const c = clock()
    const reserve = new WorkerReserve(() => {}, 30_000, c.now)
    reserve.served('b')
    c.advance(1_000)
    reserve.served('c')
    for (let i = 0; i < 5; i++) {
      c.advance(1_000)
      reserve.served('a')
    }
    expect(reserve.waitFor('a', 2, 2)).toBe(30_000 - 5_000)
    expect(reserve.waitFor('c', 2, 2)).toBe(30_000)
  })

  it('never holds back the only worker', () => {
    const c = clock()
    const reserve = new WorkerReserve(() => {}, 30_000, c.now)
    reserve.served('b')
    reserve.served('a')
    expect(reserve.waitFor('a', 1, 1)).toBe(0)
  })

  it('calls back when a held-back worker may be taken', async () => {
    let woken = 0
    const reserve = new WorkerReserve(() => woken++, 50)
    reserve.served('b')
    reserve.served('a')
    expect(reserve.holdsBack('a', 2, 2, false)).toBe(true)
    expect(woken).toBe(0)
    expect(reserve.holdsBack('a', 2, 2)).toBe(true)
    expect(reserve.holdsBack('a', 2, 2)).toBe(true)
    await until(() => woken > 0, 'the wake-up')
    expect(woken).toBe(1)
    expect(reserve.holdsBack('a', 2, 2)).toBe(false)
    reserve.close()
  })
})
