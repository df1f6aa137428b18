/**
 * How many pool workers the importer's encrypted check starts: one per image, up to the cores
 * idle now, and always one. (The check itself runs in every encrypted import of
 * import-model.test.ts.)
 */
import { describe, expect, it } from 'vitest'
import { checkWorkers } from './encrypted-check'

describe('workers of the encrypted check', () => {
  it('starts one per image up to the idle cores, and at least one', () => {
    expect(checkWorkers(4, 2, 0)).toBe(2)
    expect(checkWorkers(1, 16, 0)).toBe(1)
    expect(checkWorkers(4, 16, 0.3)).toBe(4)
    expect(checkWorkers(4, 2, 1.2)).toBe(1)
    expect(checkWorkers(4, 2, 11)).toBe(1)
  })
})
