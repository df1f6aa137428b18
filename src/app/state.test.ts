import { describe, expect, it } from 'vitest'
import { initialState, reducer, type Item, type State } from './state'

const item = (status: Item['status']): Item => ({ id: 1, requestId: 'r', name: 'x.png', model: 'mnist-cnn', status })
const withItem = (status: Item['status']): State => reducer(initialState, { type: 'add', item: item(status) })
const progress = { state: 'running' as const, done: 2, total: 7 }

describe('reducer: stage and progress news', () => {
  it('moves a running card through its stages and shows the server progress', () => {
    let s = reducer(withItem('sending'), { type: 'stage', id: 1, status: 'computing' })
    s = reducer(s, { type: 'server-progress', id: 1, server: progress })
    expect(s.items[0]).toMatchObject({ status: 'computing', server: progress })
  })

  it('never reopens a settled card: a late stage or progress after done, error or cancel is dropped', () => {
    for (const settled of ['done', 'error', 'cancelled'] as const) {
      let s = reducer(withItem('decrypting'), { type: 'update', id: 1, patch: { status: settled, error: settled === 'error' ? 'bad' : undefined } })
      s = reducer(s, { type: 'stage', id: 1, status: 'decrypting' })
      s = reducer(s, { type: 'server-progress', id: 1, server: progress })
      expect(s.items[0].status).toBe(settled)
      expect(s.items[0].server).toBeUndefined()
    }
  })
})
