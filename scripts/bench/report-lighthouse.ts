/** The Lighthouse section of docs/benchmarks.md: one row per form factor of each `npm run audit:lighthouse` result. */
import { join, relative } from 'node:path'
import { cell, code, day, fmtMs, link, shortMachine, table } from './report-format'
import { RESULTS_DIR, listJson, readJson } from './result-files'

interface Audit {
  numericValue?: number
}

interface Run {
  scores: Record<string, number | null>
  audits: Record<string, Audit | undefined>
}

/** The summary file scripts/tools/lighthouse.ts writes (only the fields shown here). */
export interface LighthouseResult {
  date: string
  machine: string
  command: string
  /** what was audited, where the command alone does not say */
  note?: string
  lighthouseVersion: string
  browser?: string
  runs: number
  mobile?: { performanceScores: (number | null)[]; median: Run }
  desktop?: { performanceScores: (number | null)[]; median: Run }
}

const score = (x: number | null | undefined) => (x === null || x === undefined ? '' : String(x))
const metric = (run: Run, id: string) => {
  const v = run.audits[id]?.numericValue
  return v === undefined ? '' : fmtMs(v)
}

export function renderLighthouse(root: string): string[] {
  const files = listJson(join(root, RESULTS_DIR, 'lighthouse'))
  if (files.length === 0) return []
  const rows: string[][] = []
  for (const path of files) {
    const file = relative(root, path)
    const j = readJson<LighthouseResult>(path)
    for (const form of ['mobile', 'desktop'] as const) {
      const r = j[form]
      if (!r) continue
      const m = r.median
      const cls = m.audits['cumulative-layout-shift']?.numericValue
      rows.push([
        link(file),
        day(j.date),
        cell(shortMachine(j.machine)),
        form,
        `${score(m.scores.performance)} (runs: ${r.performanceScores.map(score).join(', ')})`,
        score(m.scores.accessibility),
        score(m.scores['best-practices']),
        metric(m, 'first-contentful-paint'),
        metric(m, 'largest-contentful-paint'),
        metric(m, 'total-blocking-time'),
        cls === undefined ? '' : cls.toFixed(3),
      ])
    }
  }
  return [
    '## Lighthouse',
    '',
    '`npm run audit:lighthouse`: Lighthouse on the built app served by the real server on loopback, Debian\'s Chromium headless; "mobile" is Lighthouse\'s simulated phone (slow 4G, 4x CPU slowdown), "desktop" its desktop preset. Each row is the run with the median performance score; the scores of every run follow it.',
    '',
    table(
      ['result', 'date', 'machine', 'form factor', 'performance', 'accessibility', 'best practices', 'first contentful paint', 'largest contentful paint', 'total blocking time', 'cumulative layout shift'],
      rows,
      ['---', '---', '---', '---', '---:', '---:', '---:', '---:', '---:', '---:', '---:'],
    ),
    '',
    'Commands:',
    '',
    ...files.map((p) => {
      const j = readJson<LighthouseResult>(p)
      return `- ${relative(root, p).split('/').pop()}: ${code(j.command)} (Lighthouse ${j.lighthouseVersion})${j.note ? `. ${cell(j.note)}` : ''}`
    }),
    '',
  ]
}
