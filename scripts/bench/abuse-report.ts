/**
 * The "Availability under abuse" section of docs/benchmarks.md, from the bench:abuse results in
 * docs/benchmarks/abuse/: per result file, one row for the legitimate client at idle and one per
 * attack (its answers and median latency, and what the server did), every figure read from the file.
 */
import { join, relative } from 'node:path'
import { cell, code, day, fmtMs, link, table } from './report-format'
import { RESULTS_DIR, listJson, readJson } from './result-files'

interface LegitFigures {
  sent: number
  answered: number
  correct: number
  medianMs: number
  statuses: number[]
}

interface AbuseResult {
  date: string
  machine: string
  command: string
  note?: string
  server: Record<string, unknown>
  idle: LegitFigures
  [phase: string]: unknown
}

interface Phase {
  attack: string
  legit: LegitFigures
  medianVsIdle: number
  [figure: string]: unknown
}

function isPhase(v: unknown): v is Phase {
  return typeof v === 'object' && v !== null && 'legit' in v && 'medianVsIdle' in v && 'attack' in v
}

/** A value of a result, short: numbers and strings as they are, lists joined, objects as key: value. */
function brief(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(brief).join(', ')}]`
  if (typeof v === 'object' && v !== null) return `{${Object.entries(v).map(([k, x]) => `${k}: ${brief(x)}`).join(', ')}}`
  return String(v)
}

const answers = (l: LegitFigures) => `${l.answered} of ${l.sent} (${l.correct} right)`

export function renderAbuse(root: string): string[] {
  const files = listJson(join(root, RESULTS_DIR, 'abuse'))
  if (files.length === 0) return []
  const out: string[] = [
    '## Availability under abuse',
    '',
    'Attacks on availability from loopback addresses 127.0.0.x while a legitimate client from another address classifies MNIST digits one at a time (`npm run bench:abuse`, `bench:abuse:worker-kill`, `bench:abuse:distributed`). Targets: the legitimate client gets at least 95% of its answers with a median at most 3 times its idle median, and no worker is replaced because of a deadline; with two replicas one address gets at most 10% over its limit.',
    '',
  ]
  for (const path of files) {
    const file = relative(root, path)
    const j = readJson<AbuseResult>(path)
    out.push(`### ${file.split('/').pop()!.replace(/\.json$/, '')}`, '')
    out.push(`${cell(j.machine)}, ${day(j.date)}: ${code(j.command)}. Server: ${cell(brief(j.server))}. Result: ${link(file)}`, '')
    if (j.note) out.push(`${cell(j.note)}.`.replace(/\.\.$/, '.'), '')
    const rows = [['idle', '', answers(j.idle), fmtMs(j.idle.medianMs), '1', '']]
    for (const [name, v] of Object.entries(j)) {
      if (!isPhase(v)) continue
      const { attack, legit, medianVsIdle, ...rest } = v
      rows.push([name, cell(attack), answers(legit), fmtMs(legit.medianMs), String(medianVsIdle), cell(brief(rest))])
    }
    out.push(table(['phase', 'attack', 'legitimate answers', 'legitimate median', 'vs idle', 'what the server did'], rows, ['---', '---', '---:', '---:', '---:', '---']), '')
    const others = Object.entries(j).filter(([name, v]) => !isPhase(v) && name !== 'idle' && name !== 'server' && typeof v === 'object' && v !== null)
    if (others.length > 0) out.push(...others.map(([name, v]) => `- ${name}: ${cell(brief(v))}`), '')
  }
  return out
}
