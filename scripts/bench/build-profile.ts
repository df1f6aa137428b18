/**
 * One model's evaluator built in this one thread, as a pool worker builds it, with the CPU time
 * of the SEAL calls a build makes (encode, switching down, shrinking, and key generation, which a
 * build should not need: the key sizes it accepts are a closed form) counted apart from the rest
 * (the context, the plan, filling the diagonals). CPU time, not wall time, so that a machine
 * shared with other work still gives comparable figures; run with `node --cpu-prof` for the
 * rest's breakdown.
 *
 *   npm run bench:build-profile -- [--model cifar10-cnn] [--cwd DIR] [--label after] [--out docs/benchmarks/startup]
 *
 * --cwd: build with the sources of another checkout (a worktree of an earlier commit), to
 * compare in the same hour. Writes <out>/<date>-<label>.json when --label is given.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { availableParallelism, loadavg } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { helpIfAsked } from '../help'
helpIfAsked(import.meta.url)

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: 'cifar10-cnn' },
    cwd: { type: 'string', default: '.' },
    label: { type: 'string' },
    out: { type: 'string', default: 'docs/benchmarks/startup' },
  },
})
const root = resolve(args.cwd)
const from = (path: string) => import(pathToFileURL(join(root, path)).href)
const { loadSeal } = await from('src/he/context.ts')
const { loadModelDir } = await from('src/datasets/model-files.ts')
const { ModelEvaluator } = await from('src/he/evaluator.ts')

const cpuMs = () => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}
const seal = await loadSeal()
const calls: Record<string, { cpuMs: number; count: number }> = {}
/** Counts the CPU time of every call of `cls.prototype[method]`. */
function count(cls: { prototype: Record<string, unknown> }, method: string, label: string): void {
  const original = cls.prototype[method] as ((...a: unknown[]) => unknown) | undefined
  if (!original) return
  cls.prototype[method] = function (this: unknown, ...a: unknown[]) {
    const started = cpuMs()
    try {
      return original.apply(this, a)
    } finally {
      const c = (calls[label] ??= { cpuMs: 0, count: 0 })
      c.cpuMs += cpuMs() - started
      c.count++
    }
  }
}
count(seal.CKKSEncoder, 'encode', 'encode')
count(seal.Evaluator, 'plainModSwitchToInplace', 'switch down')
count(seal.Plaintext, 'shrinkToFit', 'shrink')
for (const m of ['createRelinKeysSerializable', 'createRelinKeys', 'createGaloisKeysSerializableWithSteps', 'createGaloisKeysWithSteps']) count(seal.KeyGenerator, m, 'keys generated')

const loadBefore = loadavg()
const { manifest, weights } = await loadModelDir(join(root, 'server/models', args.model))
const wallStart = performance.now()
const cpuStart = cpuMs()
const evaluator = await ModelEvaluator.create(manifest, weights, seal)
const buildCpuMs = cpuMs() - cpuStart
const buildWallMs = performance.now() - wallStart
evaluator.dispose()

const round = (x: number) => Math.round(x)
const counted = Object.values(calls).reduce((a, c) => a + c.cpuMs, 0)
const phases = { ...Object.fromEntries(Object.entries(calls).map(([k, c]) => [k, { cpuMs: round(c.cpuMs), count: c.count }])), rest: { cpuMs: round(buildCpuMs - counted) } }
console.log(`${args.model} (${root}): build ${round(buildCpuMs)} ms CPU, ${round(buildWallMs)} ms wall`)
for (const [k, v] of Object.entries(phases)) console.log(`  ${k.padEnd(20)} ${String(v.cpuMs).padStart(7)} ms CPU${'count' in v ? `  x${v.count}` : ''}`)

if (args.label) {
  const date = new Date().toISOString()
  const result = {
    date,
    command: `npm run bench:build-profile -- ${process.argv.slice(2).join(' ')}`.trim(),
    cores: availableParallelism(),
    loadAverage: { before: loadBefore, after: loadavg() },
    model: args.model,
    buildCpuMs: round(buildCpuMs),
    buildWallMs: round(buildWallMs),
    phases,
  }
  mkdirSync(args.out, { recursive: true })
  const file = join(args.out, `${date.slice(0, 10)}-${args.label}.json`)
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`)
  console.log(`wrote ${file}`)
}
