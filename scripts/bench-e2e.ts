/**
 * End-to-end browser benchmark: starts the server, drives headless Chromium
 * through the built app and measures
 *   - cold start: navigation start -> session ready (SEAL load, keygen, key upload), fresh context each run
 *   - drop to answer: the file input's change event -> the result marked done, keys already uploaded
 * npm run bench:e2e -- [--out FILE] [--images N] [--cold-runs N] [--port N]
 */
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { chromium } from '@playwright/test'
import { writeDigits } from '../e2e/support/digits'
import { ANSWER_TIMING_HOOKS, READ_ANSWER_TIMES, RESET_DONE } from '../e2e/support/in-page'

const { values: args } = parseArgs({
  options: {
    out: { type: 'string', default: 'bench-e2e.json' },
    images: { type: 'string', default: '20' },
    'cold-runs': { type: 'string', default: '3' },
    port: { type: 'string', default: '8282' },
  },
})
const images = Number(args.images)
const coldRuns = Number(args['cold-runs'])
const port = Number(args.port)
const base = `http://127.0.0.1:${port}`
const command = process.env.E2E_SERVER_CMD ?? 'node --import tsx server/main.ts'

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length ? (s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN
}
const round = (x: number) => Math.round(x * 10) / 10

async function waitHealthy(deadline: number) {
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${base}/healthz`)).ok) return
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250))
  }
  throw new Error('server did not become healthy')
}

// its own process group, so that stopping it stops the node under the shell too
const server = spawn(command, {
  shell: true,
  detached: true,
  env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
  stdio: ['ignore', 'ignore', 'inherit'],
})
const stopServer = () => {
  try {
    if (server.pid) process.kill(-server.pid, 'SIGTERM')
  } catch {
    // already gone
  }
}
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
})
try {
  await waitHealthy(Date.now() + 120_000)

  const cold: number[] = []
  for (let i = 0; i < coldRuns; i++) {
    const context = await browser.newContext()
    const page = await context.newPage()
    await page.goto(base)
    await page.locator('[data-testid="session"][data-status="ready"]').waitFor({ timeout: 180_000 })
    // performance.now() counts from navigation start
    cold.push(await page.evaluate(() => performance.now()))
    await context.close()
  }

  const context = await browser.newContext()
  const page = await context.newPage()
  await page.addInitScript({ content: ANSWER_TIMING_HOOKS })
  await page.goto(base)
  await page.locator('[data-testid="session"][data-status="ready"]').waitFor({ timeout: 180_000 })
  const { files } = writeDigits(images, 100)
  const answer: number[] = []
  const stages: Array<Record<string, number>> = []
  let correct = 0
  for (let i = 0; i < files.length; i++) {
    await page.evaluate(RESET_DONE)
    await page.locator('input[type=file]').setInputFiles(files[i].path)
    const card = page.locator('[data-testid="result"]').first()
    await page.locator('[data-testid="result"][data-status="done"]').nth(i).waitFor({ timeout: 120_000 })
    const [changeAt, doneAt] = (await page.evaluate(READ_ANSWER_TIMES)) as [number, number]
    answer.push(doneAt - changeAt)
    stages.push(JSON.parse((await card.getAttribute('data-timings')) ?? '{}'))
    if (Number(await card.getAttribute('data-prediction')) === files[i].label) correct++
  }
  await context.close()

  const stageMedians = Object.fromEntries(Object.keys(stages[0] ?? {}).map((k) => [k, round(median(stages.map((s) => s[k])))]))
  const result = {
    date: new Date().toISOString(),
    server: command,
    chromium: browser.version(),
    coldStart: { runs: cold.map(round), medianMs: round(median(cold)) },
    dropToAnswer: { images, runs: answer.map(round), medianMs: round(median(answer)), correct },
    stageMedians,
  }
  writeFileSync(args.out!, JSON.stringify(result, null, 2) + '\n')
  console.table({
    'cold start (nav -> keys ready)': { median_ms: result.coldStart.medianMs, runs: cold.length },
    'drop -> answer': { median_ms: result.dropToAnswer.medianMs, runs: answer.length },
    ...Object.fromEntries(Object.entries(stageMedians).map(([k, v]) => [`  ${k}`, { median_ms: v, runs: stages.length }])),
  })
  console.log(`accuracy on the benchmark images: ${correct}/${images}; written to ${args.out}`)
} finally {
  await browser.close()
  stopServer()
}
