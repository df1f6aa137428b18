/** The import section of docs/benchmarks.md: `npm run bench:import` results under docs/benchmarks/import/. */
import { join, relative } from 'node:path'
import { cell, code, day, link, shortMachine, table } from './report-format'
import { RESULTS_DIR, listJson, readJson } from './result-files'

/** What `npm run bench:import` writes (scripts/bench/import.ts). */
export interface ImportBench {
  date: string
  machine: string
  command: string
  model: string
  onnx: string
  /** os.loadavg() before and after the run */
  loadAverage: { before: number[]; after: number[] }
  /** from the spawn of `npm run model:import` to its exit */
  wallSeconds: number
  /** CPU time of the command and every process it started */
  cpuSeconds: { user: number; system: number }
  /** the total the importer prints (`wrote ... in X s`): the wall time less Node's and npm's start */
  importerSeconds?: number
  /** the importer's own phases in seconds, in order */
  phases: Record<string, number>
  /** the importer's line of figures against ONNX Runtime */
  figures?: string
}

const seconds = (s: number | undefined) => (s === undefined ? '' : `${s.toFixed(1)} s`)
const loads = (l: number[]) => l.map((v) => v.toFixed(2)).join(' / ')

export function renderImport(root: string): string[] {
  const files = listJson(join(root, RESULTS_DIR, 'import'))
  if (files.length === 0) return []
  const out: string[] = [
    '## Importing a model',
    '',
    '`npm run bench:import`: one `npm run model:import` (translate, export, seal, the check against ONNX Runtime in plaintext and under encryption, the rename into place) timed from spawn to exit, with the CPU time of everything it started and the load average (1 / 5 / 15 minutes) before and after. Guide: [your-own-model.md](your-own-model.md).',
    '',
  ]
  const results = files.map((path) => ({ file: relative(root, path), j: readJson<ImportBench>(path) }))
  out.push(
    table(
      ['result', 'model', 'date', 'machine', 'wall', 'CPU user + system', 'importer total', 'load before', 'load after'],
      results.map(({ file, j }) => [link(file), cell(j.model), day(j.date), cell(shortMachine(j.machine)), seconds(j.wallSeconds), `${seconds(j.cpuSeconds.user)} + ${seconds(j.cpuSeconds.system)}`, seconds(j.importerSeconds), loads(j.loadAverage.before), loads(j.loadAverage.after)]),
      ['---', '---', '---', '---', '---:', '---:', '---:', '---:', '---:'],
    ),
    '',
  )
  for (const { file, j } of results) {
    const phases = Object.entries(j.phases)
    out.push(`${file.split('/').pop()!.replace(/\.json$/, '')}: ${code(j.command)}.${phases.length ? ` Phases: ${phases.map(([what, s]) => `${what} ${seconds(s)}`).join(', ')}.` : ''}${j.figures ? ` ${j.figures}.` : ''}`, '')
  }
  return out
}
