/**
 * The preprocessing steps published in `client.normalisation.steps` name the rule and the
 * numbers pipeline.ts uses for each kind of model.
 */
import { describe, expect, it } from 'vitest'
import { DEFAULT_FRAME, type InputSpec } from '../model/manifest'
import { TRAINING_TONES } from './exposure'
import { TRIM } from './fashion-frame'
import { MIN_CONTRAST } from './ink'
import { BBOX_THRESHOLD, FRAME_SCALE_SLACK } from './mnist-frame'
import { MIN_CROP } from './photo-frame'
import { PLAIN_TOLERANCE } from './plain-margins'
import { preprocessSteps } from './preprocess-rule'
import { RULING_MIN_COVERAGE } from './ruled-lines'
import { STRAIGHTEN_MIN_DEGREES } from './straighten'
import { GARMENT_SHEET_MAX_MARKS, SHEET_EDGE_TOLERANCE, SHEET_MAX_MARKS, SHEET_MIN_PAPER_EDGE, SHEET_MIN_STEP, SURFACE_MIN_BORDER } from './sheet'

const base = { height: 28, width: 28, channels: 1 as const, mean: [0], std: [1] }

describe('preprocessSteps', () => {
  it('digits: opacity as ink, the ink threshold, the fit and the centre of mass', () => {
    const text = preprocessSteps({ ...base, preprocess: 'ink-on-background' } satisfies InputSpec).join('\n')
    expect(text).toContain('alpha < 128')
    expect(text).toContain(`contrast < ${MIN_CONTRAST}`)
    expect(text).toContain(`ink >= ${BBOX_THRESHOLD}`)
    expect(text).toContain(`longest side is ${DEFAULT_FRAME.fit} px`)
    expect(text).toContain('centre of mass')
    expect(text).toContain('(28 / 2, 28 / 2)')
    expect(text).toContain(`${DEFAULT_FRAME.fit - FRAME_SCALE_SLACK} to ${DEFAULT_FRAME.fit} px, it is already in the frame`)
    expect(text).not.toContain('Sharpen')
    expect(text).toContain(`at least ${SURFACE_MIN_BORDER * 100}% of the border pixels are not light`)
    expect(text).toContain(`is >= ${SHEET_MIN_STEP}`)
    expect(text).toContain(`to ${SHEET_MAX_MARKS} |F|`)
    expect(text).toContain(`|grey - P| <= ${SHEET_EDGE_TOLERANCE} at ${SHEET_MIN_PAPER_EDGE} |E|`)
    expect(text).toContain(`Upright: on a sheet with |a| >= ${STRAIGHTEN_MIN_DEGREES} degree`)
    expect(text).toContain(`at least two lines with m = half the largest n of any offset at that tilt and s = ${RULING_MIN_COVERAGE}`)
  })

  it('garments: over white, a sheet that the garment may cover more of, the trim, sharpening after scaling, the box centred', () => {
    const steps = preprocessSteps({ ...base, preprocess: 'ink-on-background', frame: { fit: 28, centre: 'box' } })
    const text = steps.join('\n')
    expect(steps[0]).toContain('Composite over white')
    expect(text).toContain(`${TRIM * 100}%`)
    expect(text).toContain('leaving out specks: 8-connected groups of such pixels numbering fewer than max(1, floor(L^2 / (4 * 28^2)))')
    expect(text).toContain('longest side is 28 px')
    expect(steps.findIndex((s) => s.startsWith('Scale'))).toBeLessThan(steps.findIndex((s) => s.startsWith('Sharpen')))
    expect(text).toContain("ceil((28 - width') / 2)")
    expect(text).toContain(`${28 - FRAME_SCALE_SLACK} to 28 px, it is already in the frame`)
    expect(text).toContain('not cropped, scaled or sharpened')
    expect(text).not.toContain('centre of mass')
    expect(steps[1]).toContain('Sheet on a desk')
    expect(steps[1]).toContain(`to ${GARMENT_SHEET_MAX_MARKS} |F|`)
    expect(steps[1]).toContain(`|grey - P| <= ${SHEET_EDGE_TOLERANCE} at ${SHEET_MIN_PAPER_EDGE} |E|`)
    expect(text).toContain(`Upright: on a sheet with |a| >= ${STRAIGHTEN_MIN_DEGREES} degree`)
    expect(text).not.toContain('Ruling')
  })

  it('photos: over white, the plain margins peeled, the crop around what is left, the resampling, the exposure levels, RGB or grey', () => {
    const rgb = preprocessSteps({ ...base, height: 32, width: 32, channels: 3, preprocess: 'photo' })
    expect(rgb[0]).toContain('Composite over white')
    expect(rgb.join('\n')).toContain('floor((W - w) / 2)')
    expect(rgb.join('\n')).toContain(`within ${PLAIN_TOLERANCE}`)
    expect(rgb.join('\n')).toContain('bw * 32 / 32')
    expect(rgb.join('\n')).toContain(`${MIN_CROP} * h`)
    expect(rgb.join('\n')).toContain(`0 < white < ${TRAINING_TONES.white.lo}, hi = white -> to_hi = ${TRAINING_TONES.white.typical}`)
    expect(rgb.join('\n')).toContain(`255 > black > ${TRAINING_TONES.black.hi}, lo = black -> to_lo = ${TRAINING_TONES.black.typical}`)
    expect(rgb.at(-1)).toBe('Keep R, G, B.')
    expect(preprocessSteps({ ...base, preprocess: 'photo' }).at(-1)).toContain('0.299 R')
  })
})
