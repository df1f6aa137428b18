// The page's polling of a model list that names models the server is still building.
import { describe, expect, it } from 'vitest'
import { stillLoading, whileModelsLoad } from './server-ready'

describe('whileModelsLoad', () => {
  it('asks again until every model is served, handing each list on', async () => {
    const lists = [
      [{ name: 'a', ready: true }, { name: 'b', ready: false }],
      [{ name: 'a', ready: true }, { name: 'b', ready: false }],
      [{ name: 'a', ready: true }, { name: 'b', ready: true }],
    ]
    let asked = 0
    const seen: boolean[][] = []
    await whileModelsLoad(lists[0], async () => lists[++asked], (l) => seen.push(l.map((m) => !stillLoading(m))), { firstPauseMs: 1, maxPauseMs: 2 })
    expect(asked).toBe(2)
    expect(seen).toEqual([[true, false], [true, true]])
  })

  it('does not ask when every model is served, or when the list has no flag', async () => {
    let asked = 0
    await whileModelsLoad([{ name: 'a', ready: true }, { name: 'b' }], async () => (asked++, []), () => {}, { firstPauseMs: 1 })
    expect(asked).toBe(0)
  })

  it('stops at a failed ask, keeping the last list', async () => {
    const seen: unknown[] = []
    await whileModelsLoad([{ name: 'b', ready: false }], () => Promise.reject(new Error('offline')), (l) => seen.push(l), { firstPauseMs: 1 })
    expect(seen).toEqual([])
  })
})
