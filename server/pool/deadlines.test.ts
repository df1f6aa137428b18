import { describe, expect, it } from 'vitest'
import { DEADLINE_FACTOR, Deadlines } from './deadlines'

describe('Deadlines', () => {
  it('gives the floor until a model has been measured, and to a model that is fast', () => {
    const d = new Deadlines(1000)
    expect(d.evaluationMs('m')).toBe(1000)
    d.record('m', 10)
    expect(d.evaluationMs('m')).toBe(1000)
    expect(d.graceMs('m')).toBe(1000)
  })

  it('grows with the median of the measured times of that model only', () => {
    const d = new Deadlines(1000)
    for (const ms of [400, 500, 100_000]) d.record('slow', ms)
    expect(d.evaluationMs('slow')).toBe(DEADLINE_FACTOR * 500)
    expect(d.graceMs('slow')).toBe(DEADLINE_FACTOR * 500)
    expect(d.evaluationMs('other')).toBe(1000)
  })

  it('lengthens the deadline of a model whose jobs are cut off at it', () => {
    const d = new Deadlines(1000)
    d.cutOff('m', d.evaluationMs('m'))
    expect(d.evaluationMs('m')).toBe(DEADLINE_FACTOR * 1000)
  })
})
