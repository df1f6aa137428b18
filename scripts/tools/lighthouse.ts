/**
 * npm run audit:lighthouse [-- --runs 3 --out docs/benchmarks/lighthouse/NAME.json --port N --full-dir DIR]
 *
 * Lighthouse on the built app (`npm run build`, which the npm script runs first) served by the
 * real server: starts `node --import tsx server/main.ts` (or E2E_SERVER_CMD) on a free loopback
 * port, waits until every model is served (/readyz?all=true), then runs the Lighthouse CLI with
 * Debian's Chromium (CHROME_PATH, the e2e suite's flags plus headless) `--runs` times on the
 * simulated mobile device and `--runs` times with the desktop preset. Writes, per form factor, the run with the median performance
 * score (scores, metrics, the audits that did not pass; see lighthouse-summary.ts) and every
 * run's scores, with the machine, date, Lighthouse and browser versions and the command.
 * `--full-dir` also keeps each run's whole Lighthouse JSON report there.
 */
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { cpus, tmpdir, totalmem } from 'node:os'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { parseArgs } from 'node:util'
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../e2e/support/chromium'
import { helpIfAsked } from '../help'
import { freePort, startServer, waitReady } from '../server-process'
import { medianRun, summarise, type Lhr, type LighthouseRun } from './lighthouse-summary'

helpIfAsked(import.meta.url)
const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    out: { type: 'string', default: 'docs/benchmarks/lighthouse/latest.json' },
    port: { type: 'string' },
    'full-dir': { type: 'string' },
  },
})

const FORM_FACTORS = [
  { name: 'mobile', flags: [] as string[] },
  { name: 'desktop', flags: ['--preset=desktop'] },
]
const CATEGORIES = 'performance,accessibility,best-practices,seo'
const runs = Math.max(1, Number(args.runs))
const cli = createRequire(import.meta.url).resolve('lighthouse/cli/index.js')
const command = process.env.E2E_SERVER_CMD ?? 'node --import tsx server/main.ts'
const run = promisify(execFile)

async function lighthouse(url: string, flags: string[], reportPath: string): Promise<Lhr> {
  const chromeFlags = ['--headless=new', ...CHROMIUM_ARGS].join(' ')
  await run(
    process.execPath,
    [cli, url, '--quiet', '--output=json', `--output-path=${reportPath}`, `--only-categories=${CATEGORIES}`, `--chrome-flags=${chromeFlags}`, ...flags],
    { env: { ...process.env, CHROME_PATH: CHROMIUM_PATH }, maxBuffer: 64 * 2 ** 20 },
  )
  return JSON.parse(readFileSync(reportPath, 'utf8')) as Lhr
}

/** Lighthouse now and then aborts a run (NO_FCP on a busy machine): such a run is tried again, twice at most. */
async function withRetries<T>(attempt: () => Promise<T>, what: string): Promise<T> {
  for (let tries = 1; ; tries++) {
    try {
      return await attempt()
    } catch (err) {
      if (tries === 3) throw err
      console.log(`${what} failed (${String((err as { stderr?: string }).stderr ?? err).trim().split('\n')[0]}); trying again`)
    }
  }
}

const port = args.port ? Number(args.port) : await freePort()
const base = `http://127.0.0.1:${port}`
const scratch = mkdtempSync(join(tmpdir(), 'lighthouse-'))
const { stopServer } = startServer(command, port)
try {
  // every model built: a server still building its models would share the CPU with the audited page
  await waitReady(base, 300_000, '/readyz?all=true')
  const result: Record<string, unknown> = {
    tool: 'lighthouse',
    date: new Date().toISOString(),
    machine: `${cpus()[0]?.model ?? 'unknown'}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB`,
    command: ['npm run audit:lighthouse', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' '),
    url: `${base}/`,
    runs,
  }
  for (const { name, flags } of FORM_FACTORS) {
    const summaries: LighthouseRun[] = []
    for (let i = 0; i < runs; i++) {
      const reportPath = join(args['full-dir'] ?? scratch, `${name}-${i + 1}.json`)
      mkdirSync(dirname(reportPath), { recursive: true })
      const lhr = await withRetries(() => lighthouse(`${base}/`, flags, reportPath), `${name} run ${i + 1}`)
      result.lighthouseVersion = lhr.lighthouseVersion
      result.browser = lhr.environment?.hostUserAgent ?? lhr.userAgent
      const summary = summarise(lhr)
      summaries.push(summary)
      console.log(`${name} run ${i + 1}: ${Object.entries(summary.scores).map(([k, v]) => `${k} ${v}`).join(', ')}`)
    }
    result[name] = { performanceScores: summaries.map((s) => s.scores.performance), median: medianRun(summaries) }
  }
  mkdirSync(dirname(args.out!), { recursive: true })
  writeFileSync(args.out!, `${JSON.stringify(result, null, 2)}\n`)
  console.log(`wrote ${args.out}`)
} finally {
  stopServer()
  rmSync(scratch, { recursive: true, force: true })
}
