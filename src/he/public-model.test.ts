/**
 * The public description carries the manifest's geometry as copies, never the manifest's own objects,
 * and is the same whether the caller hands in the plan it derived or leaves it to be derived here.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { migrateManifest } from '../model/manifest'
import { derivePlan } from './plan'
import { publicModel } from './public-model'

const stored = JSON.parse(readFileSync(new URL('../../server/models/fashion-cnn/manifest.json', import.meta.url), 'utf8'))

describe('publicModel', () => {
  it("publishes fashion-cnn's input.frame with the geometry, as a copy", () => {
    const m = migrateManifest(stored)
    const pub = publicModel(m)
    expect(pub.input.frame).toEqual({ fit: 28, centre: 'box' })
    expect(pub.input.frame).not.toBe(m.input.frame)
  })

  it('describes a model the same with the plan the server derived at start as without it', () => {
    for (const name of ['mnist-cnn', 'fashion-cnn', 'cifar10-cnn']) {
      const m = migrateManifest(JSON.parse(readFileSync(new URL(`../../server/models/${name}/manifest.json`, import.meta.url), 'utf8')))
      expect(publicModel(m, derivePlan(m))).toEqual(publicModel(m))
    }
  })
})
