/**
 * The two readers of the architecture string agree: the PyTorch trainer's parse_arch
 * (scripts/training/blindfold_train/arch.py, plain Python, no torch needed) and
 * src/model/arch-string.ts read every string into the same layers and refuse the same strings.
 */
import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { parseArch } from '../../src/model/arch-string'

const ACCEPTED = [
  'c5s1p0-20,poly,spool2,dense80,bilinear',
  'c4s2p1-64,poly,c3s2p1-128,poly,c3s1p1-128,poly,pool2,dense',
  'c5s1p0-40,square,pool2,dense',
  'c5s1p0-16,poly,pool2,c3s2p1-32,square,spool2,dense64,poly,dense',
  ' c5s2p0-28 , poly,dense160,bilinear ',
  'c4s2p1-64,poly,dw3s2p1,poly,pw128,poly,dw3s1p1,pw128,poly,pool2,dense',
  'c3s1p1-6g3,poly,c3s2p1-12g2,square,pw24g4,dense',
]
const REFUSED = [
  'c5s1p0-16,relu,dense',
  'c5s1p0-16,poly,maxpool2,dense',
  'c5s1p0-16,tanh,dense',
  'c5s1p0-16,poly',
  'c5s1p0-16,poly,dense20',
  'c5s1p0-16,poly,dense30,bilinear',
  'c5s1p0-16,poly,bilinear',
  '',
  'dw3s1p1,poly,dense',
  'c3s1p1-8,poly,dw3s1p1-8,dense',
]

/** parse_arch of each string: its layers, or {error} with the message it exits with. */
function python(archs: string[]): unknown[] {
  const program = `
import json, sys
from blindfold_train.arch import parse_arch
out = []
for a in json.loads(sys.argv[1]):
    try:
        out.append(parse_arch(a))
    except SystemExit as e:
        out.append({'error': str(e)})
print(json.dumps(out))
`
  const stdout = execFileSync('python3', ['-c', program, JSON.stringify(archs)], { cwd: 'scripts/training', encoding: 'utf8', env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } })
  return JSON.parse(stdout) as unknown[]
}

const hasPython = (() => {
  try {
    execFileSync('python3', ['--version'])
    return true
  } catch {
    return false
  }
})()

describe.skipIf(!hasPython)('the Python and TypeScript architecture readers', () => {
  it('read the same layers', () => {
    const fromPython = python(ACCEPTED)
    ACCEPTED.forEach((arch, i) => {
      const ts = parseArch(arch).map((layer) => {
        const { packing: _, ...rest } = layer as typeof layer & { packing?: string }
        return rest
      })
      expect(fromPython[i], arch).toEqual(ts)
    })
  })

  it('refuse the same strings', () => {
    const fromPython = python(REFUSED)
    REFUSED.forEach((arch, i) => {
      expect(fromPython[i], arch).toHaveProperty('error')
      expect(() => parseArch(arch), arch).toThrow()
    })
    // the teacher-only tokens and unknown tokens are refused with the same words
    expect(fromPython.slice(0, 3)).toEqual(REFUSED.slice(0, 3).map((arch) => ({ error: (() => { try { parseArch(arch) } catch (e) { return (e as Error).message } })() })))
  })
})
