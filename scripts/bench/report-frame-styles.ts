/**
 * The section of docs/benchmarks.md for `npm run bench:frame-styles`: per result file, how many
 * official test images saved in each style the page's digit or garment preprocessing leaves
 * right, and how often its answer is the plaintext model's answer on the official image.
 */
import { join, relative } from 'node:path'
import { cell, code, day, fmtPct, link, shortMachine, table } from './report-format'
import { RESULTS_DIR, listJson, readJson } from './result-files'

/** The file scripts/bench/frame-styles.ts writes. */
export interface FrameStyleResult {
  date: string
  machine: string
  command: string
  model: string
  contentHash: string
  testIndices: string
  styles: Record<string, { n: number; plaintextOriginalsCorrect: number; appCorrect: number; agreement: number }>
}

export function renderFrameStyles(root: string): string[] {
  const files = listJson(join(root, RESULTS_DIR, 'frame-styles'))
  if (files.length === 0) return []
  const rows: string[][] = []
  for (const path of files) {
    const j = readJson<FrameStyleResult>(path)
    for (const [style, r] of Object.entries(j.styles)) {
      rows.push([link(relative(root, path)), cell(j.model), day(j.date), cell(shortMachine(j.machine)), cell(style), String(r.n), fmtPct(r.plaintextOriginalsCorrect / r.n), fmtPct(r.appCorrect / r.n), fmtPct(r.agreement / r.n)])
    }
  }
  return [
    '## Digits and garments saved as files',
    '',
    "`npm run bench:frame-styles`: official test images saved as people save them (at the data set's own 28x28, enlarged on paper, on tinted or unevenly lit paper, on a sheet lying on a desk, on a ruled page, on a transparent sheet), decoded and preprocessed as the page does, classified by the plaintext model; agreement is with the plaintext model on the official image.",
    '',
    table(
      ['result', 'model', 'date', 'machine', 'style', 'images', 'plaintext, official images', 'through the page', 'agreement'],
      rows,
      ['---', '---', '---', '---', '---', '---:', '---:', '---:', '---:'],
    ),
    '',
    'Commands:',
    '',
    ...files.map((p) => `- ${relative(root, p).split('/').pop()}: ${code(readJson<FrameStyleResult>(p).command)}`),
    '',
  ]
}
