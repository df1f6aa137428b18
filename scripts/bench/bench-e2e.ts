/**
 * End-to-end browser benchmark: starts the server, drives headless Chromium
 * through the built app and measures, per model:
 *   - cold start: navigation start -> the first model's keys ready (SEAL load, keygen, upload), fresh context each run,
 *     with the worker's account of it and when the page first showed each session status
 *   - switch: picking another model -> its keys ready (keygen and upload of that model's keys)
 *   - example to answer: a click on an example of the gallery -> its result marked done, the first click
 *     right after the model's keys are ready (as a visitor would), then one after another
 *   - drop to answer: the file input's change event -> the result marked done, keys already uploaded
 * Every time is read in the page (in-page.ts hooks), not by Playwright's waits, which lag behind large uploads.
 *   - accuracy of the app on official test images rendered as user files (digits on paper, garments on
 *     white, photos at several sizes and formats) against the plaintext model on the same originals
 *   - main-thread long tasks (over 50 ms, the browser's Long Tasks API) while a model's images are
 *     decoded, preprocessed and classified: whether the page stays responsive is a timing, so it is
 *     measured here rather than asserted in the e2e tests
 *   - with --folder DIR --folder-model NAME: the app's accuracy on the test split of a folder of
 *     labelled images (the ImageFolder layout) against the plaintext model's (e2e-folder.ts); the
 *     split is the trainer's for --folder-seed and --folder-test-fraction (the trainer's defaults)
 * Measured on a settled server: once every model is served, the bench waits until every pool worker has
 * built every model (bench-e2e-settle.ts), as a visitor of a running server finds it; --fresh-server
 * measures at once instead, while the last workers may still be building the largest model.
 * npm run bench:e2e -- [--out FILE] [--models a,b] [--images N] [--cifar-images N] [--cold-runs N] [--example-clicks N] [--port N] [--fresh-server]
 *     [--folder DIR --folder-model NAME [--folder-seed S] [--folder-test-fraction F] [--folder-limit N]]
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { availableParallelism, cpus, loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import { chromium, type Locator, type Page } from '@playwright/test'
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../e2e/support/chromium'
import { writeDigits } from '../../src/datasets/fixtures/digits'
import {
  ANSWER_TIMING_HOOKS,
  EXAMPLE_TIMING_HOOKS,
  LONG_TASK_OBSERVER,
  READ_ANSWER_TIMES,
  READ_EXAMPLE_TIMES,
  READ_FIRST_READY,
  READ_LONG_TASKS,
  READ_SESSION_STATUS_TIMES,
  READ_SWITCH_TIMES,
  RESET_DONE,
  RESET_LONG_TASKS,
  SWITCH_TIMING_HOOKS,
} from '../../e2e/support/in-page'
import { cifarPhoto, garmentOnWhite } from '../../src/datasets/fixtures/photos'
import { plaintextPrediction } from '../../e2e/support/plaintext'
import { userFiles, type UserFile } from '../../e2e/support/user-files'
import { imageAt, loadSplit } from '../../src/datasets'
import { paths, type ModelsResponse } from '../../src/api/wire'
import { helpIfAsked } from '../help'
import { classifyFolder } from './e2e-folder'
import { startServer } from '../server-process'
import { settlePool } from './bench-e2e-settle'
import { configFromEnv } from '../../server/config'
helpIfAsked(import.meta.url)

const { values: args } = parseArgs({
  options: {
    out: { type: 'string', default: 'bench-e2e.json' },
    models: { type: 'string', default: 'mnist-cnn,fashion-cnn,cifar10-cnn' },
    images: { type: 'string', default: '100' },
    'cifar-images': { type: 'string', default: '30' },
    'cold-runs': { type: 'string', default: '3' },
    'example-clicks': { type: 'string', default: '4' },
    port: { type: 'string', default: '8282' },
    'fresh-server': { type: 'boolean', default: false },
    folder: { type: 'string' },
    'folder-model': { type: 'string' },
    'folder-seed': { type: 'string', default: '1' },
    'folder-test-fraction': { type: 'string', default: '0.2' },
    'folder-limit': { type: 'string' },
  },
})
if (args.folder && !args['folder-model']) {
  console.error('bench:e2e: --folder needs --folder-model NAME (the model to classify it with)')
  process.exit(2)
}
const models = args.models!.split(',').filter(Boolean)
const coldRuns = Number(args['cold-runs'])
const exampleClicks = Number(args['example-clicks'])
const port = Number(args.port)
const base = `http://127.0.0.1:${port}`
const command = process.env.E2E_SERVER_CMD ?? 'node --import tsx server/main.ts'

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length ? (s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN
}
const round = (x: number) => Math.round(x * 10) / 10
/** each key's median over the records that have it */
const medians = (records: Array<Record<string, number>>) =>
  Object.fromEntries([...new Set(records.flatMap(Object.keys))].map((k) => [k, round(median(records.flatMap((r) => (r[k] === undefined ? [] : [r[k]]))))]))

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

/** Waits for the page's first model's keys; on a timeout, says what the page showed instead. */
async function firstModelReady(page: Page): Promise<void> {
  const session = page.locator('[data-testid="session"]')
  try {
    await session.and(page.locator('[data-status="ready"]')).waitFor({ timeout: 180_000 })
  } catch (e) {
    const shown = (await page.locator('main, body').first().innerText({ timeout: 1000 }).catch(() => 'nothing')).slice(0, 400)
    throw new Error(`the first model's keys were not ready: the page shows ${JSON.stringify(shown)} (${(e as Error).message.split('\n')[0]})`)
  }
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

/** A result card's stage timings and sizes (its data-timings), with the session's decryption chain (chainMs) apart: one image has it. */
async function cardTimings(card: Locator): Promise<{ stages: Record<string, number>; chainMs?: number; serverWorkers: number }> {
  const { chainMs, ...stages } = JSON.parse((await card.getAttribute('data-timings')) ?? '{}') as Record<string, number>
  // how many server workers shared the image (1: it ran on one core)
  const serverWorkers = Number((await card.getAttribute('data-server-workers')) ?? NaN)
  return { stages, chainMs, serverWorkers }
}

/**
 * Clicks `clicks` examples of the gallery in turn (the model's keys ready), each once its previous
 * answer is in: the time from the click to its card done, read in the page, and the card's own timings.
 */
async function clickExamples(page: Page, clicks: number) {
  const examples = page.getByTestId('examples').getByTestId('example')
  await examples.first().waitFor({ timeout: 60_000 })
  const count = await examples.count()
  const settled = page.locator('[data-testid="result"][data-status="done"], [data-testid="result"][data-status="error"]')
  const before = await settled.count()
  const answers: number[] = []
  const overServer: number[] = []
  const stages: Array<Record<string, number>> = []
  const each: Array<{ ms: number; serverMs: number; serverWorkers: number }> = []
  let correct = 0
  let chain: number | undefined
  for (let i = 0; i < clicks; i++) {
    await page.evaluate(RESET_DONE)
    const example = examples.nth(i % count)
    const label = Number(await example.getAttribute('data-label'))
    await example.click()
    await settled.nth(before + i).waitFor({ timeout: 300_000 })
    const [clickAt, doneAt] = (await page.evaluate(READ_EXAMPLE_TIMES)) as [number, number]
    const card = page.locator('[data-testid="result"]').first()
    if ((await card.getAttribute('data-status')) !== 'done') throw new Error(`example ${i} of the gallery failed: ${await card.textContent()}`)
    const { stages: timings, chainMs, serverWorkers } = await cardTimings(card)
    stages.push(timings)
    each.push({ ms: round(doneAt - clickAt), serverMs: round(timings.serverMs), serverWorkers })
    chain ??= chainMs
    answers.push(doneAt - clickAt)
    overServer.push(doneAt - clickAt - timings.serverMs)
    if (Number(await card.getAttribute('data-prediction')) === label) correct++
  }
  return {
    clicks,
    // the first click after the keys are ready: the session's first answer, which also builds the
    // decryption chain while the server computes (chainMs, what that took)
    firstMs: round(answers[0]),
    ...(chain === undefined ? {} : { chainMs: round(chain) }),
    medianMs: round(median(answers)),
    maxMs: round(Math.max(...answers)),
    // click to answer less the server's compute time for that image
    overServerMedianMs: round(median(overServer)),
    overServerMaxMs: round(Math.max(...overServer)),
    correct,
    stageMedians: medians(stages),
    // every click in order: click to answer, the server's compute time, and the workers that shared it
    each,
  }
}

const { stopServer } = startServer(command, port)
const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS })
try {
  await waitReady(Date.now() + 300_000)
  // the server started above reads the same environment: its pool shares an image among all its workers once it is settled
  const { poolSize } = configFromEnv()
  const settled = args['fresh-server'] || poolSize < 2 ? undefined : await settlePool(base, models[0], poolSize, 600_000)

  const loadBefore = loadavg()
  const modelVersions = Object.fromEntries(
    ((await (await fetch(base + paths.models)).json()) as ModelsResponse).models.filter((m) => models.includes(m.name)).map((m) => [m.name, m.version]),
  )
  const cold: number[] = []
  const coldParts: Array<Record<string, number>> = []
  const coldStatusAt: Array<Record<string, number>> = []
  for (let i = 0; i < coldRuns; i++) {
    const context = await browser.newContext()
    const page = await context.newPage()
    await page.addInitScript({ content: SWITCH_TIMING_HOOKS })
    await page.goto(base)
    await firstModelReady(page)
    // performance.now() counts from navigation start
    cold.push((await page.evaluate(READ_FIRST_READY)) as number)
    coldParts.push(JSON.parse((await page.locator('[data-testid="session"]').getAttribute('data-timings')) ?? '{}'))
    coldStatusAt.push((await page.evaluate(READ_SESSION_STATUS_TIMES)) as Record<string, number>)
    await context.close()
  }

  const context = await browser.newContext()
  const page = await context.newPage()
  await page.addInitScript({ content: ANSWER_TIMING_HOOKS + SWITCH_TIMING_HOOKS + EXAMPLE_TIMING_HOOKS + LONG_TASK_OBSERVER })
  await page.goto(base)
  await firstModelReady(page)
  const perModel: Record<string, unknown> = {}
  for (const model of models) {
    const { ms: switchMs, parts: switchParts } = await selectAndWait(page, model)
    const exampleToAnswer = exampleClicks > 0 ? await clickExamples(page, exampleClicks) : undefined
    const files = await filesFor(page, model, Number(model === 'cifar10-cnn' ? args['cifar-images'] : args.images))
    const answer: number[] = []
    const stages: Array<Record<string, number>> = []
    const workersSeen: number[] = []
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
      const timed = await cardTimings(card)
      stages.push(timed.stages)
      workersSeen.push(timed.serverWorkers)
      const prediction = Number(await card.getAttribute('data-prediction') ?? NaN)
      if (prediction === f.label) correct++
      if (f.expected === f.label) plaintextCorrect++
      if (prediction === f.expected) agree++
    }
    const longTasks = (await page.evaluate(READ_LONG_TASKS)) as number[]
    const stageMedians = medians(stages)
    perModel[model] = {
      switchToReadyMs: switchMs,
      // 0 and {} for the model the page opened with (its keys were made at load: the cold start)
      switchParts,
      exampleToAnswer,
      // firstMs: the first dropped image (when no example came before it, the session's first answer, which also builds the decryption chain while the server computes)
      dropToAnswer: { images: files.length, firstMs: round(answer[0] ?? NaN), medianMs: round(median(answer)), p95Ms: round([...answer].sort((a, b) => a - b)[Math.floor(answer.length * 0.95)] ?? NaN) },
      // the server workers that shared each dropped image, in order (1: it ran on one core)
      dropServerWorkers: workersSeen,
      appAccuracy: correct / files.length,
      plaintextAccuracyOnSameImages: plaintextCorrect / files.length,
      agreementWithPlaintext: agree / files.length,
      stageMedians,
      // the duration (ms) of every main-thread task over 50 ms while this model's images were handled, one at a time
      mainThreadLongTasks: longTasks,
    }
    console.log(model, JSON.stringify(perModel[model]))
  }
  let folder: Awaited<ReturnType<typeof classifyFolder>> | undefined
  if (args.folder) {
    await selectAndWait(page, args['folder-model']!)
    const limit = args['folder-limit'] === undefined ? undefined : Number(args['folder-limit'])
    folder = await classifyFolder(page, args['folder-model']!, args.folder, { seed: Number(args['folder-seed']), testFraction: Number(args['folder-test-fraction']), limit })
    console.log('folder', JSON.stringify(folder))
  }
  await context.close()

  const result = {
    date: new Date().toISOString(),
    machine: `${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} cores, Node ${process.version}`,
    command: ['npm run bench:e2e --', ...process.argv.slice(2)].join(' '),
    // os.loadavg() before and after: the machine is shared, and the times move with its load
    loadAverage: { before: loadBefore.map(round), after: loadavg().map(round) },
    modelVersions,
    server: command,
    chromium: browser.version(),
    // how long after every model was served the pool took to share an image among its workers (absent: --fresh-server)
    ...(settled ? { serverSettle: settled } : { freshServer: true }),
    coldStart: {
      runs: cold.map(round),
      medianMs: round(median(cold)),
      // medians over the runs: the worker's account of the first model's session (SessionPanel's
      // data-timings), and when the page first showed each session status (ms from navigation start)
      parts: medians(coldParts),
      statusAt: medians(coldStatusAt),
    },
    models: perModel,
    ...(folder ? { folder } : {}),
  }
  writeFileSync(args.out!, JSON.stringify(result, null, 2) + '\n')
  console.log(`cold start median ${result.coldStart.medianMs} ms; written to ${args.out}`)
} finally {
  await browser.close()
  stopServer()
}
