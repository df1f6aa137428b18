/** The manifest reader's check of `input`, on the shipped fashion-cnn manifest and variations of it. */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { checkInputSpec, migrateManifest, type InputSpec } from './manifest'

const stored = JSON.parse(readFileSync(new URL('../../server/models/fashion-cnn/manifest.json', import.meta.url), 'utf8'))
const withInput = (input: Record<string, unknown>) => ({ ...stored, input: { ...stored.input, ...input } })

describe('input.frame', () => {
  it('ships on fashion-cnn as Fashion-MNIST framing', () => {
    const m = migrateManifest(stored)
    expect(m.input.frame).toEqual({ fit: 28, centre: 'box' })
  })

  it('is optional: absent, an ink-on-background model gets the digit rule', () => {
    const { frame: _f, ...input } = stored.input
    expect(() => migrateManifest({ ...stored, input })).not.toThrow()
  })

  it.each([
    [{ frame: { fit: 0, centre: 'box' } }, /fit must be a whole number of pixels from 1 to 28/],
    [{ frame: { fit: 29, centre: 'box' } }, /fit must be/],
    [{ frame: { fit: 20.5, centre: 'mass' } }, /fit must be/],
    [{ frame: { fit: 20, centre: 'middle' } }, /centre must be mass or box/],
    [{ frame: { fit: 20, centre: 'mass', sharpen: true } }, /unknown fields: sharpen/],
    [{ frame: 'box' }, /must be an object/],
    [{ frame: { fit: 28, centre: 'box' }, preprocess: 'photo', channels: 3, mean: [0, 0, 0], std: [1, 1, 1] }, /ink-on-background models only/],
    [{ preprocess: 'sketch' }, /preprocess must be one of ink-on-background, photo/],
  ])('refuses %j', (input, message) => {
    expect(() => migrateManifest(withInput(input))).toThrow(message)
  })

  it('checks an input on its own too', () => {
    const input: InputSpec = { height: 32, width: 32, channels: 3, mean: [0, 0, 0], std: [1, 1, 1], preprocess: 'photo' }
    expect(() => checkInputSpec(input)).not.toThrow()
  })
})
