/**
 * Model folders are written into a hidden sibling and renamed into place when complete: a writer
 * killed half-way (a real child process, SIGKILL) leaves nothing the loader serves, the next
 * writer of the same folder clears what it left, and a failed write changes nothing at the target.
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { loadModels } from '../../src/datasets/model-files'
import { partialFolder, writeModelFolder } from './model-folder'
import { writeSealedModel } from '../../src/datasets/test-support/sealed-model'

const root = mkdtempSync(join(tmpdir(), 'blindfold-model-folder-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))
const WRITER = new URL('./test-support/interrupted-writer.ts', import.meta.url).pathname

/** Starts the writer of `target`, waits until it has written its partial folder, kills it; returns that folder. */
async function killedHalfWay(target: string): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, target], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  const partial = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /written (\S+)/.exec(out)
      if (m) resolve(m[1])
    })
    child.on('exit', (code) => reject(new Error(`the writer exited (${code}) before writing: ${out}`)))
  })
  const exited = new Promise((resolve) => child.on('exit', resolve))
  child.kill('SIGKILL')
  await exited
  return partial
}

describe('writing a model folder', () => {
  it('leaves no served folder when the writer is killed half-way, and the next writer clears its leftovers', async () => {
    await writeSealedModel(join(root, 'served'), 'served')
    const target = join(root, 'interrupted')
    const partial = await killedHalfWay(target)
    expect(partial).toMatch(/\/\.interrupted\.partial-\d+$/)
    expect(existsSync(join(partial, 'manifest.json'))).toBe(true)
    expect(existsSync(target)).toBe(false)
    const warnings: string[] = []
    const models = await loadModels(root, (line) => warnings.push(line))
    expect([...models.keys()]).toEqual(['served'])
    expect(warnings).toEqual([])

    await writeModelFolder(target, {}, (dir) => writeSealedModel(dir, 'interrupted'))
    expect(readdirSync(root).sort()).toEqual(['interrupted', 'served'])
    expect([...(await loadModels(root)).keys()]).toEqual(['interrupted', 'served'])
  })

  it('changes nothing at the target when the write fails, and replaces a folder only when asked', async () => {
    const target = join(root, 'kept')
    await writeSealedModel(target, 'kept')
    const before = readFileSync(join(target, 'manifest.json'), 'utf8')
    await expect(writeModelFolder(target, { replace: true }, async (dir) => {
      writeFileSync(join(dir, 'weights.bin'), 'half')
      throw new Error('the check failed')
    })).rejects.toThrow('the check failed')
    expect(readFileSync(join(target, 'manifest.json'), 'utf8')).toBe(before)
    expect(existsSync(partialFolder(target))).toBe(false)

    await expect(writeModelFolder(target, {}, (dir) => writeSealedModel(dir, 'replacement'))).rejects.toThrow(/exists; pass --force/)
    expect(readFileSync(join(target, 'manifest.json'), 'utf8')).toBe(before)

    writeFileSync(join(target, 'accuracy.json'), '{}')
    await writeModelFolder(target, { replace: true, keepFromOld: true }, async (dir) => {
      await writeSealedModel(dir, 'replacement')
      writeFileSync(join(dir, 'train.log'), 'new run\n')
    })
    expect(readdirSync(target).sort()).toEqual(['accuracy.json', 'manifest.json', 'train.log', 'weights.bin'])
    expect(JSON.parse(readFileSync(join(target, 'manifest.json'), 'utf8')).name).toBe('replacement')
    expect(readdirSync(root).filter((n) => n.startsWith('.'))).toEqual([])
  })
})
