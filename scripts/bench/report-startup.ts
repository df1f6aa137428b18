/** The start-up section of docs/benchmarks.md: one row per `npm run bench:startup` result. */
import { join, relative } from 'node:path'
import { cell, code, day, fmtBytes, fmtMs, link, shortMachine, table } from './report-format'
import { RESULTS_DIR, listJson, readJson } from './result-files'

/** What scripts/bench/startup.ts writes (the fields shown here). */
export interface StartupResult {
  date: string
  /** absent in results written before the bench named its machine */
  machine?: string
  command: string
  cores: number
  loadAverage: { before: number[]; after: number[] }
  firstReadyzMs: number | null
  firstModelServedMs: number | null
  everyModelServedMs: number | null
  servedAtMs: Record<string, number>
  builds: { threadId: number; model: string; buildMs: number; heapGrowthBytes: number }[]
}

const orNot = (ms: number | null) => (ms === null ? 'not within the timeout' : fmtMs(ms))

/** Per model: when it was first served, and the longest build and largest heap growth any worker logged for it. */
function perModel(r: StartupResult): string {
  return Object.entries(r.servedAtMs)
    .sort((a, b) => a[1] - b[1])
    .map(([model, at]) => {
      const builds = r.builds.filter((b) => b.model === model)
      if (builds.length === 0) return `${model} ${fmtMs(at)}`
      const buildMs = Math.max(...builds.map((b) => b.buildMs))
      const heap = Math.max(...builds.map((b) => b.heapGrowthBytes))
      return `${model} ${fmtMs(at)} (built in ${fmtMs(buildMs)}, +${fmtBytes(heap)} a worker)`
    })
    .join('; ')
}

export function renderStartup(root: string): string[] {
  // the folder also holds the per-image and build-profile runs its decision record cites
  const results = listJson(join(root, RESULTS_DIR, 'startup'))
    .map((path) => ({ path, r: readJson<StartupResult>(path) }))
    .filter(({ r }) => r.servedAtMs !== undefined)
  if (results.length === 0) return []
  const rows = results.map(({ path, r }) => {
    return [
      link(relative(root, path)),
      day(r.date),
      cell(r.machine ? shortMachine(r.machine) : `${r.cores} cores (model not recorded)`),
      r.loadAverage.before[0].toFixed(2),
      orNot(r.firstModelServedMs),
      orNot(r.everyModelServedMs),
      cell(perModel(r)),
      code(r.command),
    ]
  })
  return [
    '## Start-up',
    '',
    '`npm run bench:startup`: the API server as `npm run dev:api` starts it (no build), from the spawn to the first model its model list flags ready and to every model ready; a model is served once one pool worker has encoded its weights. Per model: when it was first served, the longest time a worker took to build it and the most a worker\'s SEAL heap grew by for it. Load: the 1-minute load average before the run.',
    '',
    table(
      ['result', 'date', 'machine', 'load', 'first model served', 'every model served', 'per model', 'command'],
      rows,
      ['---', '---', '---', '---:', '---:', '---:', '---', '---'],
    ),
    '',
  ]
}
