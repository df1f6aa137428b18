/** The public description carries the manifest's geometry as copies, never the manifest's own objects. */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { migrateManifest } from '../model/manifest'
import { publicModel } from './public-model'

const stored = JSON.parse(readFileSync(new URL('../../server/models/fashion-cnn/manifest.json', import.meta.url), 'utf8'))

describe('publicModel', () => {
  it("publishes fashion-cnn's input.frame with the geometry, as a copy", () => {
    const m = migrateManifest(stored)
    const pub = publicModel(m)
    expect(pub.input.frame).toEqual({ fit: 28, centre: 'box' })
    expect(pub.input.frame).not.toBe(m.input.frame)
  })
})
