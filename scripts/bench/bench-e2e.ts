/**
 * End-to-end browser benchmark: starts the server, drives headless Chromium
 * through the built app and measures, per model:
 *   - cold start: navigation start -> the first model's keys ready (SEAL load, keygen, upload), fresh context each run
 *   - switch: picking another model -> its keys ready (keygen and upload of that model's keys)
 *   - drop to answer: the file input's change event -> the result marked done, keys already uploaded
 * Every time is read in the page (in-page.ts hooks), not by Playwright's waits, which lag behind large uploads.
 *   - accuracy of the app on official test images rendered as user files (digits on paper, garments on
 *     white, photos at several sizes and formats) against the plaintext model on the same originals
 *   - main-thread long tasks (over 50 ms, the browser's Long Tasks API) while a model's images are
 *     decoded, preprocessed and classified: whether the page stays responsive is a timing, so it is
 *     measured here rather than asserted in the e2e tests
 * npm run bench:e2e -- [--out FILE] [--models a,b] [--images N] [--cifar-images N] [--cold-runs N] [--port N]
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { chromium, type Page } from '@playwright/test'
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../e2e/support/chromium'
import { writeDigits } from '../../src/datasets/fixtures/digits'
import {
  ANSWER_TIMING_HOOKS,
  LONG_TASK_OBSERVER,
  READ_ANSWER_TIMES,
  READ_FIRST_READY,
  READ_LONG_TASKS,
  READ_SWITCH_TIMES,
  RESET_DONE,
  RESET_LONG_TASKS,
  SWITCH_TIMING_HOOKS,
} from '../../e2e/support/in-page'
import { cifarPhoto, garmentOnWhite } from '../../src/datasets/fixtures/photos'
import { plaintextPrediction } from '../../e2e/support/plaintext'
import { userFiles, type UserFile } from '../../e2e/support/user-files'
import { imageAt, loadSplit } from '../../src/datasets'
import { helpIfAsked } from '../help'
import { startServer } from '../server-process'
helpIfAsked(import.meta.url)

const { values: args } = parseArgs({
  options: {
    out: { type: 'string', default: 'bench-e2e.json' },
    models: { type: 'string', default: 'mnist-cnn,fashion-cnn,cifar10-cnn' },
    images: { type: 'string', default: '100' },
    'cifar-images': { type: 'string', default: '30' },
    'cold-runs': { type: 'string', default: '3' },
    port: { type: 'string', default: '8282' },
  },
})
const models = args.models!.split(',')
const coldRuns = Number(args['cold-runs'])
const port = Number(args.port)
const base = `http://127.0.0.1:${port}`
const command = process.env.E2E_SERVER_CMD ?? 'node --import tsx server/main.ts'

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length ? (s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN
}
const round = (x: number) => Math.round(x * 10) / 10

async function waitReady(deadline: number) {
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${base}/readyz?all=true`)).ok) return
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250))
  }
  throw new Error('server did not become ready')
}

/** The benchmark's images of one model, as user files, from test index 100 on (the e2e specs use the first ones). */
async function filesFor(page: Page, model: string, count: number): Promise<UserFile[]> {
  const indices = Array.from({ length: count }, (_, i) => 100 + i)
  if (model === 'fashion-cnn')
    return userFiles(page, model, 'fashion-mnist', indices, [{ side: 112, format: 'png' }, { side: 300, format: 'jpeg' }, { side: 200, format: 'webp' }], garmentOnWhite)
  if (model === 'cifar10-cnn')
    return userFiles(page, model, 'cifar10', indices, [{ side: 64, format: 'png' }, { side: 256, format: 'jpeg' }, { side: 500, format: 'webp' }], cifarPhoto)
  // digits: the e2e suite's four styles (white on black, ink on white or tinted paper, transparent)
  const split = loadSplit('mnist', 'test')
  const { files } = writeDigits(count, 100)
  return Promise.all(
    files.map(async (f) => ({
      name: f.path.split('/').pop()!,
      mimeType: f.path.endsWith('.png') ? 'image/png' : 'image/jpeg',
      bytes: readFileSync(f.path),
      label: f.label,
      expected: await plaintextPrediction(model, imageAt(split, f.index)),
    })),
  )
}

/**
 * Picks a model and waits for its keys: the time from the pick to the page showing them ready (both
 * read in the page, SWITCH_TIMING_HOOKS), and the worker's own account of it (SessionPanel's data-timings).
 */
async function selectAndWait(page: Page, model: string): Promise<{ ms: number; parts: Record<string, number> }> {
  const radio = page.locator(`[data-testid="model-picker"] input[type=radio][value="${model}"]`)
  // the model the page opened with: its keys were made at load (the cold start measures that)
  const opened = await radio.isChecked()
  await radio.check()
  const session = page.locator(`[data-testid="session"][data-model="${model}"][data-status="ready"]`)
  await session.waitFor({ timeout: 300_000 })
  if (opened) return { ms: 0, parts: {} }
  const seen = (await page.evaluate(READ_SWITCH_TIMES)) as { model: string; pickedAt: number; readyAt?: number } | undefined
  if (seen?.model !== model || seen.readyAt === undefined) throw new Error(`the page recorded no switch to ${model}: ${JSON.stringify(seen)}`)
  const ms = round(seen.readyAt - seen.pickedAt)
  const parts = JSON.parse((await session.getAttribute('data-timings')) ?? '{}') as Record<string, number>
  return { ms, parts: Object.fromEntries(Object.entries(parts).map(([k, v]) => [k, round(v)])) }
}

const { stopServer } = startServer(command, port)
const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS })
try {
  await waitReady(Date.now() + 300_000)

  const cold: number[] = []
  for (let i = 0; i < coldRuns; i++) {
    const context = await browser.newContext()
    const page = await context.newPage()
    await page.addInitScript({ content: SWITCH_TIMING_HOOKS })
    await page.goto(base)
    await page.locator('[data-testid="session"][data-status="ready"]').waitFor({ timeout: 180_000 })
    // performance.now() counts from navigation start
    cold.push((await page.evaluate(READ_FIRST_READY)) as number)
    await context.close()
  }

  const context = await browser.newContext()
  const page = await context.newPage()
  await page.addInitScript({ content: ANSWER_TIMING_HOOKS + SWITCH_TIMING_HOOKS + LONG_TASK_OBSERVER })
  await page.goto(base)
  await page.locator('[data-testid="session"][data-status="ready"]').waitFor({ timeout: 180_000 })
  const perModel: Record<string, unknown> = {}
  for (const model of models) {
    const { ms: switchMs, parts: switchParts } = await selectAndWait(page, model)
    const files = await filesFor(page, model, Number(model === 'cifar10-cnn' ? args['cifar-images'] : args.images))
    const answer: number[] = []
    const stages: Array<Record<string, number>> = []
    let correct = 0
    let plaintextCorrect = 0
    let agree = 0
    const before = await page.locator('[data-testid="result"]').count()
    await page.evaluate(RESET_LONG_TASKS)
    for (const [i, f] of files.entries()) {
      await page.evaluate(RESET_DONE)
      await page.locator('input[type=file]').setInputFiles({ name: f.name, mimeType: f.mimeType, buffer: f.bytes })
      const card = page.locator('[data-testid="result"]').first()
      await page.locator('[data-testid="result"][data-status="done"], [data-testid="result"][data-status="error"]').nth(before + i).waitFor({ timeout: 300_000 })
      const [changeAt, doneAt] = (await page.evaluate(READ_ANSWER_TIMES)) as [number, number]
      answer.push(doneAt - changeAt)
      stages.push(JSON.parse((await card.getAttribute('data-timings')) ?? '{}'))
      const prediction = Number(await card.getAttribute('data-prediction') ?? NaN)
      if (prediction === f.label) correct++
      if (f.expected === f.label) plaintextCorrect++
      if (prediction === f.expected) agree++
    }
    const longTasks = (await page.evaluate(READ_LONG_TASKS)) as number[]
    const stageMedians = Object.fromEntries(Object.keys(stages[0] ?? {}).map((k) => [k, round(median(stages.map((s) => s[k])))]))
    perModel[model] = {
      switchToReadyMs: switchMs,
      // 0 and {} for the model the page opened with (its keys were made at load: the cold start)
      switchParts,
      // firstMs: the first image after the switch (it also builds the decryption context, under the server's time)
      dropToAnswer: { images: files.length, firstMs: round(answer[0] ?? NaN), medianMs: round(median(answer)), p95Ms: round([...answer].sort((a, b) => a - b)[Math.floor(answer.length * 0.95)] ?? NaN) },
      appAccuracy: correct / files.length,
      plaintextAccuracyOnSameImages: plaintextCorrect / files.length,
      agreementWithPlaintext: agree / files.length,
      stageMedians,
      // the duration (ms) of every main-thread task over 50 ms while this model's images were handled, one at a time
      mainThreadLongTasks: longTasks,
    }
    console.log(model, JSON.stringify(perModel[model]))
  }
  await context.close()

  const result = {
    date: new Date().toISOString(),
    server: command,
    chromium: browser.version(),
    coldStart: { runs: cold.map(round), medianMs: round(median(cold)) },
    models: perModel,
  }
  writeFileSync(args.out!, JSON.stringify(result, null, 2) + '\n')
  console.log(`cold start median ${result.coldStart.medianMs} ms; written to ${args.out}`)
} finally {
  await browser.close()
  stopServer()
}
