/**
 * npm run bench:import -- [--onnx FILE] [--name NAME] [--classes a,b,...] [--preprocess photo|ink-on-background] [--label LABEL] [--out DIR]
 *
 * Times `npm run model:import` as a model owner runs it (default: the CIFAR-sized three-conv
 * fixture, whose whole import, seal and ORT check the target bounds), into a fresh
 * MODELS_DIR that is removed afterwards: the wall time from the spawn to the exit, the CPU
 * seconds of the command and everything it started (user and system, from this process's
 * reaped-children times), the load average before and after, and the importer's own phases
 * (the `phases:` line it prints). Writes <out>/<label>.json (default label: the model name);
 * `npm run bench:report` renders docs/benchmarks/import/ in docs/benchmarks.md.
 */
import { execFileSync, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { helpIfAsked } from '../help'
import type { ImportBench } from './report-import'

helpIfAsked(import.meta.url)
const { values: args } = parseArgs({
  options: {
    onnx: { type: 'string', default: 'scripts/training/onnx/fixtures/cifar-three-convs.onnx' },
    name: { type: 'string', default: 'cifar-three-convs' },
    classes: { type: 'string', default: 'a,b,c,d,e,f,g,h,i,j' },
    preprocess: { type: 'string', default: 'photo' },
    label: { type: 'string' },
    out: { type: 'string', default: 'docs/benchmarks/import' },
  },
})

const TICK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100

/** User and system CPU seconds of this process's reaped children (Linux /proc: fields cutime, cstime). */
function childCpuSeconds(): { user: number; system: number } {
  const stat = readFileSync('/proc/self/stat', 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // fields from the state (field 3) on: cutime is field 16, cstime field 17
  return { user: Number(fields[13]) / TICK, system: Number(fields[14]) / TICK }
}

const importArgs = [args.onnx, '--name', args.name, '--classes', args.classes, '--preprocess', args.preprocess]
const modelsDir = mkdtempSync(join(tmpdir(), 'blindfold-bench-import-'))
const command = `MODELS_DIR=${modelsDir.replace(/-[^-/]+$/, '-XXXX')} npm run model:import -- ${importArgs.join(' ')}`
const loadBefore = loadavg()
const cpuBefore = childCpuSeconds()
const started = performance.now()
let output = ''
const code = await new Promise<number | null>((resolve, reject) => {
  const child = spawn('npm', ['run', 'model:import', '--', ...importArgs], { env: { ...process.env, MODELS_DIR: modelsDir }, stdio: ['ignore', 'pipe', 'pipe'] })
  for (const stream of [child.stdout, child.stderr]) {
    stream.on('data', (d: Buffer) => {
      output += d.toString()
      process.stdout.write(d)
    })
  }
  child.on('error', reject)
  child.on('exit', resolve)
})
const wallSeconds = (performance.now() - started) / 1000
const cpuAfter = childCpuSeconds()
const loadAfter = loadavg()
rmSync(modelsDir, { recursive: true, force: true })
if (code !== 0) throw new Error(`model:import exited with ${code}`)

const phases = Object.fromEntries(
  [...(/^phases: (.*)$/m.exec(output)?.[1] ?? '').matchAll(/([^,]+?) ([\d.]+) s(?:, |$)/g)].map((m) => [m[1].trim(), Number(m[2])]),
)
const importerSeconds = Number(/^wrote .* in ([\d.]+) s/m.exec(output)?.[1])
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d
const result: ImportBench = {
  date: new Date().toISOString(),
  machine: `${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GB, Node ${process.version}`,
  command,
  model: args.name,
  onnx: args.onnx,
  loadAverage: { before: loadBefore.map((v) => round(v)), after: loadAfter.map((v) => round(v)) },
  wallSeconds: round(wallSeconds, 1),
  cpuSeconds: { user: round(cpuAfter.user - cpuBefore.user, 1), system: round(cpuAfter.system - cpuBefore.system, 1) },
  importerSeconds: Number.isFinite(importerSeconds) ? importerSeconds : undefined,
  phases,
  figures: /^ONNX Runtime vs manifest.*$/m.exec(output)?.[0],
}
mkdirSync(args.out, { recursive: true })
const file = join(args.out, `${args.label ?? args.name}.json`)
writeFileSync(file, JSON.stringify(result, null, 2) + '\n')
console.log(`wall ${result.wallSeconds} s, CPU ${result.cpuSeconds.user} s user + ${result.cpuSeconds.system} s system, load ${loadBefore.map((v) => v.toFixed(2)).join(' ')} -> ${loadAfter.map((v) => v.toFixed(2)).join(' ')}; wrote ${file}`)
