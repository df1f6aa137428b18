// Stage names for progress reports, from the public geometry of the shipped models.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import type { ModelManifest } from '../model/manifest'
import { derivePlan } from './plan'
import { layerNames, stageNames } from './stage-names'

const manifest = (name: string) => JSON.parse(readFileSync(`server/models/${name}/manifest.json`, 'utf8')) as ModelManifest

describe('stage names', () => {
  it('name each layer by its kind and rank', () => {
    expect(layerNames([{ type: 'conv2d' }, { type: 'poly' }, { type: 'conv2d' }, { type: 'avgpool2d' }, { type: 'dense' }])).toEqual(['conv1', 'poly1', 'conv2', 'pool1', 'dense1'])
  })

  it.each([
    ['mnist-cnn', ['conv1', 'poly1', 'pool1+dense1']],
    ['fashion-cnn', ['conv1', 'poly1', 'pool1+dense1', 'bilinear1']],
    ['cifar10-cnn', ['conv1', 'poly1', 'conv2', 'poly2', 'conv3', 'poly3', 'pool1+dense1']],
  ])('name every stage of %s, a linear one by the layers it composes', (name, expected) => {
    const m = manifest(name)
    expect(stageNames(m.layers, derivePlan(m))).toEqual(expected)
  })
})
