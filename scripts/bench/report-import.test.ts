/** The import section renders each `npm run bench:import` result: its row, its command and its phases. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { renderImport, type ImportBench } from './report-import'

const root = mkdtempSync(join(tmpdir(), 'blindfold-report-import-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

describe('renderImport', () => {
  it('renders nothing without results, and a row, the command and the phases of each result', () => {
    expect(renderImport(root)).toEqual([])
    const result: ImportBench = {
      date: new Date(Date.UTC(2030, 0, 2, 3, 4, 5)).toISOString(),
      machine: 'Some CPU, 2 cores, 8 GB, Node v24.0.0',
      command: 'MODELS_DIR=/tmp/x npm run model:import -- net.onnx --name net',
      model: 'net',
      onnx: 'net.onnx',
      loadAverage: { before: [0.75, 1, 1.25], after: [1.5, 1.25, 1] },
      wallSeconds: 45.3,
      cpuSeconds: { user: 48.9, system: 1.2 },
      importerSeconds: 44.2,
      phases: { 'read and translate': 0.2, 'export and seal': 3 },
    }
    mkdirSync(join(root, 'docs/benchmarks/import'), { recursive: true })
    writeFileSync(join(root, 'docs/benchmarks/import/net.json'), JSON.stringify(result))
    const text = renderImport(root).join('\n')
    expect(text).toContain(`| [import/net.json](benchmarks/import/net.json) | net | ${result.date.slice(0, 10)} | Some CPU, 2 cores | 45.3 s | 48.9 s + 1.2 s | 44.2 s | 0.75 / 1.00 / 1.25 | 1.50 / 1.25 / 1.00 |`)
    expect(text).toContain('net: `MODELS_DIR=/tmp/x npm run model:import -- net.onnx --name net`. Phases: read and translate 0.2 s, export and seal 3.0 s.')
  })
})
