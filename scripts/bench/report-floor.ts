/** The cost-floor table of a shipped model in docs/benchmarks.md: the plan's operations per stage, their floor at the machine's unit prices, the measured time. */
import { cell, code, day, fmtInt, link, shortMachine, table } from './report-format'
import type { BenchResult, FloorStage } from './result-files'

const ms = (x: number) => (x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(x >= 100 ? 0 : 1)} ms`)
const sum = (byLevel: Record<string, number>) => Object.values(byLevel).reduce((a, b) => a + b, 0)
/** `n (l0: a, l1: b)`: a count with its split by level, where it spans more than one */
function byLevel(counts: Record<string, number>): string {
  const levels = Object.keys(counts).sort((a, b) => Number(a) - Number(b))
  if (levels.length === 0) return '0'
  const n = fmtInt(sum(counts))
  return levels.length === 1 ? `${n} (L${levels[0]})` : `${n} (${levels.map((l) => `L${l}: ${fmtInt(counts[l])}`).join(', ')})`
}

function stageRow(s: FloorStage): string[] {
  const c = s.counts
  return [
    cell(s.stage),
    byLevel(c.rotations),
    byLevel(c.plainProducts),
    byLevel({ ...merge(c.squares, c.products) }),
    byLevel(c.relinearisations),
    byLevel(c.rescales),
    fmtInt(sum(c.additions) + sum(c.plainAdditions)),
    ms(s.floorMs),
    ms(s.measuredMs),
    s.ratio.toFixed(2),
  ]
}

function merge(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out = { ...a }
  for (const [k, v] of Object.entries(b)) out[k] = (out[k] ?? 0) + v
  return out
}

/** The floor section of one model, from its latest result with a floor (none: no lines). */
export function renderFloor(results: Array<{ file: string; r: BenchResult }>): string[] {
  const withFloor = results.filter((x) => x.r.floor).sort((a, b) => (a.r.date < b.r.date ? 1 : a.r.date > b.r.date ? -1 : 0))
  const latest = withFloor[0]
  if (!latest) return []
  const { r, file } = latest
  const f = r.floor!
  const load = r.loadAverage ? `load average ${r.loadAverage.before.map((x) => x.toFixed(1)).join(' / ')} (1 / 5 / 15 min) before, ${r.loadAverage.after.map((x) => x.toFixed(1)).join(' / ')} after` : 'load average not recorded'
  return [
    `Cost floor (${cell(r.model)}, ${day(r.date)}, ${cell(shortMachine(r.machine))}, ${fmtInt(r.images)} images on ${r.threads} thread(s), ${load}): each stage's SEAL operations, counted from the plan (\`src/he/op-counts.ts\`; L = level, 0 the top of the chain), priced at unit prices sampled per level at the model's parameters just before each image; each image's time is divided by the floor at its own prices, and the table holds the medians over the images (so on a machine whose load moves, measured / floor is not the ratio of the two medians beside it). ${code(r.command)}, ${link(file)}.`,
    '',
    table(
      ['stage', 'rotations', 'plaintext products', 'ciphertext products', 'relinearisations', 'rescales', 'additions', 'floor', 'measured', 'measured / floor'],
      [...f.stages.map(stageRow), ['**total**', '', '', '', '', '', '', ms(f.total.floorMs), ms(f.total.measuredMs), `**${f.total.ratio.toFixed(2)}**`]],
      ['---', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:'],
    ),
    '',
  ]
}
