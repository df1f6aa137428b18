/**
 * Listing a folder of models: a folder with no finished manifest (none, one cut short, one not
 * sealed yet) is skipped with one warning line naming it and the other models load; hidden
 * folders (a writer's unfinished `.NAME.partial-PID`) are skipped without a word; a finished
 * model whose weights do not match its manifest still stops the load.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { loadModels, unfinishedModelDir } from './model-files'
import { writeSealedModel as sealed } from './test-support/sealed-model'

const roots: string[] = []
afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })))
const freshRoot = () => {
  const r = mkdtempSync(join(tmpdir(), 'blindfold-models-'))
  roots.push(r)
  return r
}

describe('loadModels', () => {
  it('skips folders without a finished manifest with one warning line each, and loads the others', async () => {
    const root = freshRoot()
    await sealed(join(root, 'alpha'), 'alpha')
    await sealed(join(root, 'omega'), 'omega')
    mkdirSync(join(root, 'no-manifest'))
    writeFileSync(join(root, 'no-manifest', 'weights.bin'), 'x')
    await sealed(join(root, 'cut-short'), 'cut-short')
    const whole = readFileSync(join(root, 'cut-short', 'manifest.json'), 'utf8')
    writeFileSync(join(root, 'cut-short', 'manifest.json'), whole.slice(0, whole.length / 2))
    await sealed(join(root, 'unsealed'), 'unsealed')
    const m = JSON.parse(readFileSync(join(root, 'unsealed', 'manifest.json'), 'utf8'))
    writeFileSync(join(root, 'unsealed', 'manifest.json'), JSON.stringify({ ...m, contentHash: '' }))
    await sealed(join(root, '.beta.partial-12345'), 'beta')
    writeFileSync(join(root, 'README.txt'), 'not a model')

    const warnings: string[] = []
    const models = await loadModels(root, (line) => warnings.push(line))
    expect([...models.keys()]).toEqual(['alpha', 'omega'])
    expect(warnings).toEqual([
      `skipping model folder ${join(root, 'cut-short')}: manifest.json is incomplete (not valid JSON)`,
      `skipping model folder ${join(root, 'no-manifest')}: no manifest.json`,
      `skipping model folder ${join(root, 'unsealed')}: manifest.json is not sealed yet (no content hash; run npm run model:seal)`,
    ])
    expect(unfinishedModelDir(join(root, 'alpha'))).toBeUndefined()
  })

  it('still refuses a finished model whose weights do not match it', async () => {
    const root = freshRoot()
    await sealed(join(root, 'alpha'), 'alpha')
    await sealed(join(root, 'tampered'), 'tampered')
    const bytes = readFileSync(join(root, 'tampered', 'weights.bin'))
    bytes[0] ^= 1
    writeFileSync(join(root, 'tampered', 'weights.bin'), bytes)
    await expect(loadModels(root, () => {})).rejects.toThrow(/tampered: weights do not match their sha256/)
  })
})
