import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import { fmtBytes, fmtMs, fmtPct, table } from './report-format'
import { renderFloor } from './report-floor'
import type { BenchResult } from './result-files'
import { README_FILE, REPORT_FILE, ROOT, TABLE_BEGIN, TABLE_END, renderModelTable, renderReport, withModelTable } from './report'

const read = (path: string) => readFileSync(join(ROOT, path), 'utf8')

function markdownFiles(): string[] {
  const docs: string[] = []
  const walk = (dir: string) => {
    for (const d of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
      const path = `${dir}/${d.name}`
      if (d.isDirectory()) walk(path)
      else if (d.name.endsWith('.md')) docs.push(path)
    }
  }
  walk('docs')
  return [README_FILE, 'server/README.md', ...docs.sort()]
}

describe('bench:report', () => {
  it('docs/benchmarks.md is what the report renders (run `npm run bench:report` after adding a result)', () => {
    expect(read(REPORT_FILE)).toBe(renderReport())
  })

  it("README's model table is what the report renders", () => {
    const readme = read(README_FILE)
    expect(readme).toContain(TABLE_BEGIN)
    expect(readme).toContain(TABLE_END)
    expect(readme).toBe(withModelTable(readme, renderModelTable()))
  })

  it('renders the same text twice (no clock, sorted inputs)', () => {
    expect(renderReport()).toBe(renderReport())
    expect(renderModelTable()).toBe(renderModelTable())
  })

  it('has one row per shipped model in the README table', () => {
    const shipped = readdirSync(join(ROOT, 'server/models')).filter((m) => !m.startsWith('.') && existsSync(join(ROOT, 'server/models', m, 'manifest.json')))
    const table = renderModelTable()
    for (const name of shipped) expect(table).toContain(`\`${name}\``)
    expect(table.split('\n')).toHaveLength(2 + shipped.length)
  })
})

describe('report formatting', () => {
  it('writes sizes in decimal units, times in ms or s, and percentages with two decimals', () => {
    expect(fmtBytes(90_136)).toBe('90 kB')
    expect(fmtBytes(38_271_842)).toBe('38.27 MB')
    expect(fmtMs(421.6)).toBe('422 ms')
    expect(fmtMs(7781.35)).toBe('7.78 s')
    expect(fmtPct(0.9202)).toBe('92.02%')
  })

  it('renders a markdown table with its alignment row', () => {
    expect(table(['a', 'b'], [['1', '2']], ['---', '---:'])).toBe('| a | b |\n| --- | ---: |\n| 1 | 2 |')
  })
})

describe('cost floor table', () => {
  const level = (n: number) => ({ 0: n })
  const none = {}
  const result = (date: string, floor?: BenchResult['floor']) =>
    ({ file: `docs/benchmarks/x/${date}.json`, r: { model: 'x@1.0.0', date, machine: 'CPU, 2 cores, 8 GB', images: 4, threads: 1, command: 'npm run bench', loadAverage: { before: [1, 2, 3], after: [1.5, 2, 3] }, floor } as BenchResult })
  const floor: BenchResult['floor'] = {
    stages: [
      {
        stage: 'conv2d',
        counts: { rotations: { 0: 3, 1: 12 }, plainProducts: level(20), squares: none, products: none, relinearisations: none, rescales: level(1), additions: { 0: 19, 1: 12 }, plainAdditions: { 1: 1 } },
        floorMs: 40,
        measuredMs: 52,
        ratio: 1.3,
      },
    ],
    total: { floorMs: 40, measuredMs: 52, ratio: 1.3 },
  }

  it("renders the latest result's floor per stage, with counts by level, and nothing without one", () => {
    const text = renderFloor([result('day-2', floor), result('day-1', { ...floor, total: { ...floor.total, ratio: 9 } }), result('day-3')]).join('\n')
    expect(text).toContain('| conv2d | 15 (L0: 3, L1: 12) | 20 (L0) | 0 | 0 | 1 (L0) | 32 | 40.0 ms | 52.0 ms | 1.30 |')
    expect(text).toContain('| **total** |  |  |  |  |  |  | 40.0 ms | 52.0 ms | **1.30** |')
    expect(text).toContain('load average 1.0 / 2.0 / 3.0')
    expect(renderFloor([result('day-3')])).toEqual([])
  })
})

describe('documentation links', () => {
  it('every relative link in README.md, server/README.md and docs/**/*.md names an existing file', () => {
    const broken: string[] = []
    for (const file of markdownFiles()) {
      // drop fenced code blocks and inline code: paths there are commands, not links
      const text = read(file).replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '')
      for (const m of text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
        const target = m[1]
        if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) continue
        const path = decodeURI(target.split('#')[0])
        const resolved = join(dirname(join(ROOT, file)), path)
        if (!existsSync(resolved)) broken.push(`${file}: ${target} (${relative(ROOT, resolved)})`)
      }
    }
    expect(broken).toEqual([])
  })
})
