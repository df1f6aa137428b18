/**
 * `npm run model:seal` as a model owner runs it, on an exported model of the
 * trainer's shape (manifest + weights.bin, no HE parameters or plan yet): in a
 * child process, as the command line does. Parameters come from the depth or
 * from `--he`, and SEAL's tc128 check refuses a chain too long for its ring.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { sha256Hex, type ModelManifest } from '../../src/model/manifest'
import { randomModelFiles } from '../../src/he/random-model'

const run = promisify(execFile)
const dirs: string[] = []
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })))

/** A five-level image-packed network, exported without HE parameters or plan. */
async function exported(): Promise<string> {
  const { manifest, weightBytes } = randomModelFiles({
    input: { height: 12, width: 12, channels: 1 },
    layers: [
      { type: 'conv2d', kernel: 3, stride: 1, padding: 0, filters: 4, packing: 'image' },
      { type: 'poly' },
      { type: 'conv2d', kernel: 3, stride: 2, padding: 1, filters: 6 },
      { type: 'square' },
      { type: 'dense', units: 10 },
    ],
    he: { scheme: 'ckks', polyModulusDegree: 16384, coeffModulusBits: [60, 40, 40, 40, 40, 40, 60], scaleBits: 40, securityLevel: 'tc128' },
  })
  const dir = mkdtempSync(join(tmpdir(), 'blindfold-seal-'))
  dirs.push(dir)
  const stored: Partial<ModelManifest> = { ...manifest, plan: { rotationSteps: [] }, contentHash: '' }
  delete stored.he
  stored.weights = { ...manifest.weights, sha256: await sha256Hex(weightBytes) }
  writeFileSync(join(dir, 'weights.bin'), weightBytes)
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(stored))
  return dir
}

const seal = (dir: string, ...args: string[]) =>
  run(process.execPath, ['--import', 'tsx', 'scripts/training/seal-model.ts', dir, '--dataset', 'fashion-mnist', ...args], { cwd: process.cwd() })
const sealed = (dir: string) => JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as ModelManifest

describe('npm run model:seal', () => {
  it('picks N = 16384 for five levels by default, and the named parameters with --he', async () => {
    const dir = await exported()
    await seal(dir)
    expect(sealed(dir).he.polyModulusDegree).toBe(16384)
    const { stdout } = await seal(dir, '--he', '8192:38,28x5,40:28')
    const m = sealed(dir)
    expect(m.he).toMatchObject({ polyModulusDegree: 8192, coeffModulusBits: [38, 28, 28, 28, 28, 28, 40], scaleBits: 28 })
    expect(m.plan.rotationSteps.length).toBeGreaterThan(0)
    expect(m.contentHash).toMatch(/^[0-9a-f]{64}$/)
    expect(stdout).toContain('depth 5, N = 8192, q = [38,28,28,28,28,28,40]')
  }, 120_000)

  it('refuses a chain SEAL does not accept at 128-bit security, or one too short for the network', async () => {
    const dir = await exported()
    await expect(seal(dir, '--he', '8192:39,28x5,40:28')).rejects.toThrow(/219 modulus bits at 128-bit security \(max 218\)/)
    await expect(seal(dir, '--he', '8192:50,33x3,60:33')).rejects.toThrow(/needs 5 levels, the modulus chain offers 3/)
  }, 120_000)
})
