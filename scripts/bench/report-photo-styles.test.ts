import { describe, expect, it } from 'vitest'
import { isPhotoStyleExperiment, renderPhotoStyleExperiment, type PhotoStyleExperiment } from './report-photo-styles'

const experiment: PhotoStyleExperiment = {
  what: 'A model trained one way | another way.',
  date: new Date(Date.UTC(2026, 0, 2, 3, 4, 5)).toISOString(),
  machine: 'Some CPU, 2 cores, 8 GiB',
  commands: ['npm run train:torch -- --exposure 0.5'],
  accuracy: [
    { model: 'a 1.0.0', testAccuracy: 0.8135, testImages: 10000, source: 'its manifest' },
    { model: 'b', testAccuracy: 0.82, testImages: 10000, source: 'train.log' },
  ],
  photoStyles: {
    columns: [
      { label: 'a, k x 100', results: ['docs/benchmarks/photo-styles/a.json', 'docs/benchmarks/photo-styles/a2.json'] },
      { label: 'b, k x 100', results: [] },
    ],
    rows: [
      { style: 'originals', n: 100, right: [84, 85] },
      { style: 'over-2x', n: 100, right: [null, 70] },
    ],
  },
}

describe('photo-style experiments in the report', () => {
  it('are told apart from bench results and sets of runs', () => {
    expect(isPhotoStyleExperiment(experiment)).toBe(true)
    expect(isPhotoStyleExperiment({ what: 'x', runs: [] })).toBe(false)
  })

  it('render the accuracy of each model and the pictures right per style and column', () => {
    const text = renderPhotoStyleExperiment(experiment).join('\n')
    // the day of the measurement, without its time
    expect(text).toContain(`A model trained one way \\| another way. Measured ${experiment.date.slice(0, 10)} on Some CPU, 2 cores.`)
    expect(text).not.toContain('T03:04')
    expect(text).toContain('- `npm run train:torch -- --exposure 0.5`')
    expect(text).toContain('| a 1.0.0 | 81.35% of 10,000 | its manifest |')
    expect(text).toContain('| style | a, k x 100 | b, k x 100 |\n| --- | ---: | ---: |')
    expect(text).toContain('| originals | 84 / 100 | 85 / 100 |')
    expect(text).toContain('| over-2x |  | 70 / 100 |')
    expect(text).toContain('- a, k x 100: [photo-styles/a.json](benchmarks/photo-styles/a.json), [photo-styles/a2.json](benchmarks/photo-styles/a2.json)')
    expect(text).not.toContain('- b, k x 100:')
  })
})
