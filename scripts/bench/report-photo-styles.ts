/**
 * An experiment measured on photos as people take them (`npm run bench:photo-styles`) rather than
 * by `npm run bench`: models side by side, their plaintext accuracy on the whole test set and,
 * per style, how many of the styled test pictures each model gets right through the page's
 * preprocessing. Rendered into the report's experiments section.
 */
import { cell, code, day, fmtInt, fmtPct, link, shortMachine, table } from './report-format'

export interface PhotoStyleExperiment {
  what: string
  date: string
  machine: string
  commands?: string[]
  /** each model's plaintext accuracy on the whole official test set */
  accuracy: Array<{ model: string; testAccuracy: number; testImages: number; source: string }>
  photoStyles: {
    /** one per model and picture set: what it shows, and the result files its figures come from */
    columns: Array<{ label: string; results: string[] }>
    /** per style, the pictures right in each column (null: not measured), of `n` */
    rows: Array<{ style: string; n: number; right: Array<number | null> }>
  }
}

export function isPhotoStyleExperiment(j: object): j is PhotoStyleExperiment {
  return 'photoStyles' in j
}

export function renderPhotoStyleExperiment(j: PhotoStyleExperiment): string[] {
  const out = [`${cell(j.what)} Measured ${day(j.date)} on ${cell(shortMachine(j.machine))}.`, '']
  if (j.commands) out.push(...j.commands.map((c) => `- ${code(c)}`), '')
  out.push(table(['model', 'plaintext accuracy, full test set', 'from'], j.accuracy.map((a) => [cell(a.model), `${fmtPct(a.testAccuracy)} of ${fmtInt(a.testImages)}`, cell(a.source)]), ['---', '---:', '---']), '')
  const { columns, rows } = j.photoStyles
  const head = ['style', ...columns.map((c) => cell(c.label))]
  out.push(table(head, rows.map((r) => [cell(r.style), ...r.right.map((x) => (x === null ? '' : `${x} / ${r.n}`))]), ['---', ...columns.map(() => '---:')]), '')
  const sources = columns.filter((c) => c.results.length).map((c) => `- ${cell(c.label)}: ${c.results.map(link).join(', ')}`)
  if (sources.length) out.push(...sources, '')
  return out
}
