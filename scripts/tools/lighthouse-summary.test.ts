import { describe, expect, it } from 'vitest'
import { medianRun, summarise, type Lhr } from './lighthouse-summary'

/** A Lighthouse result cut down to the fields the summary reads. */
function lhr(performance: number, cls: number): Lhr {
  return {
    lighthouseVersion: '12.8.2',
    fetchTime: new Date(0).toISOString(),
    configSettings: { formFactor: 'mobile', throttlingMethod: 'simulate' },
    categories: {
      performance: { title: 'Performance', score: performance, auditRefs: [{ id: 'cumulative-layout-shift', weight: 25 }, { id: 'first-contentful-paint', weight: 10 }, { id: 'diagnostics', weight: 0 }] },
      accessibility: { title: 'Accessibility', score: 1, auditRefs: [{ id: 'color-contrast', weight: 7 }] },
    },
    audits: {
      'cumulative-layout-shift': { id: 'cumulative-layout-shift', title: 'Cumulative Layout Shift', score: cls < 0.1 ? 1 : 0.2, numericValue: cls, numericUnit: 'unitless', displayValue: String(cls) },
      'first-contentful-paint': { id: 'first-contentful-paint', title: 'First Contentful Paint', score: 1, numericValue: 812.3456, numericUnit: 'millisecond', displayValue: '0.8 s' },
      diagnostics: { id: 'diagnostics', title: 'Diagnostics', score: 0 },
      'color-contrast': { id: 'color-contrast', title: 'Contrast', score: 1 },
    },
  }
}

describe('the Lighthouse summary', () => {
  it('keeps scores as 0..100, the key metrics rounded, and the weighted audits that did not pass', () => {
    const run = summarise(lhr(0.655, 0.61))
    expect(run.scores).toEqual({ performance: 66, accessibility: 100 })
    expect(run.audits['first-contentful-paint']).toEqual({ title: 'First Contentful Paint', score: 1, numericValue: 812.346, numericUnit: 'millisecond', displayValue: '0.8 s' })
    expect(run.failing).toEqual({ performance: ['cumulative-layout-shift'], accessibility: [] })
    expect(run.audits.diagnostics).toBeUndefined()
    expect(run.formFactor).toBe('mobile')
  })

  it('picks the run with the median performance score', () => {
    const runs = [0.9, 0.7, 0.8].map((p) => summarise(lhr(p, 0.01)))
    expect(medianRun(runs).scores.performance).toBe(80)
    expect(medianRun(runs.slice(0, 2)).scores.performance).toBe(70)
    expect(() => medianRun([])).toThrow()
  })
})
