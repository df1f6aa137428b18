/** Where a labelled benchmark result goes, and the fields every such result opens with. */
import { mkdirSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { join } from 'node:path'

/** `<out>/<date>-<label>.json` (the folder made), with the result's date and a line naming this machine. */
export function labelledResult(out: string, label: string): { file: string; date: string; machine: string } {
  const date = new Date().toISOString()
  mkdirSync(out, { recursive: true })
  const machine = `${cpus()[0]?.model ?? 'unknown'}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB`
  return { file: join(out, `${date.slice(0, 10)}-${label}.json`), date, machine }
}
