import { readFileSync } from 'node:fs'
import { expect, test } from '@playwright/test'
import { writeDigits } from '../src/datasets/fixtures/digits'
import { LONG_TASK_OBSERVER, READ_LONG_TASKS, RESET_LONG_TASKS } from './support/in-page'
import { fileNeedles, findLeaks, inputNeedles, probabilityNeedles } from './support/needles'
import { captureApiRequests, digitsNormalisation, dropFiles, openReady, settledResults } from './support/page'
import { paths } from '../src/api/wire'

const COUNT = 40

test('classifies official MNIST digits supplied as people supply them, leaking nothing', async ({ page, context }) => {
  const captured = await captureApiRequests(context)
  const seenByPage: string[] = []
  page.on('request', (r) => seenByPage.push(`${r.method()} ${new URL(r.url()).pathname}`))
  await page.addInitScript({ content: LONG_TASK_OBSERVER })
  await openReady(page)
  await page.evaluate(RESET_LONG_TASKS)

  const { files } = writeDigits(COUNT)
  // most through the file picker, the last four dropped on the drop zone
  const picked = files.slice(0, COUNT - 4)
  const dropped = files.slice(COUNT - 4)
  await page.locator('input[type=file]').setInputFiles(picked.map((f) => f.path))
  await dropFiles(
    page,
    dropped.map((f) => ({ name: f.path.split('/').pop()!, mimeType: f.path.endsWith('.png') ? 'image/png' : 'image/jpeg', bytes: readFileSync(f.path) })),
  )
  const results = await settledResults(page, COUNT)

  const longTasks = (await page.evaluate(READ_LONG_TASKS)) as number[]
  const byStyle = new Map<string, { ok: number; n: number }>()
  let correct = 0
  results.forEach((r, i) => {
    const f = files[i]
    expect(r.name).toContain(`mnist-${f.index}-`)
    const ok = r.status === 'done' && Number(r.prediction) === f.label
    if (ok) correct++
    const s = byStyle.get(f.style) ?? { ok: 0, n: 0 }
    byStyle.set(f.style, { ok: s.ok + (ok ? 1 : 0), n: s.n + 1 })
    if (!ok) console.log(`miss: #${f.index} (${f.style}) label ${f.label} got ${r.prediction ?? r.error}`)
  })
  console.log(`accuracy ${correct}/${COUNT}`, Object.fromEntries(byStyle), `long tasks: ${JSON.stringify(longTasks)}`)
  expect(correct / COUNT).toBeGreaterThanOrEqual(0.95)

  // long tasks are logged above, not asserted: a timing, measured by npm run bench:e2e (see models.spec.ts)

  // what left the browser: keys once, then one ciphertext per image
  const posts = captured.filter((c) => c.method === 'POST')
  expect(posts.filter((c) => c.url.includes('/classify'))).toHaveLength(COUNT)
  expect(posts.filter((c) => new URL(c.url).pathname === paths.sessions)).toHaveLength(1)
  const bodies = captured.map((c) => c.body)
  const { mean, std } = await digitsNormalisation(page)
  const needles = results.flatMap((r, i) => [
    ...fileNeedles(readFileSync(files[i].path), `#${files[i].index}`),
    ...(r.frame ? inputNeedles(r.frame, mean, std, `#${files[i].index}`) : []),
    ...(r.probabilities ? probabilityNeedles(r.probabilities, `#${files[i].index}`) : []),
  ])
  expect(needles.length).toBeGreaterThan(COUNT * 10)
  expect(findLeaks(bodies, needles)).toEqual([])

  // Playwright sees the worker's requests as page requests too (recorded for the report)
  console.log(`page.on('request') saw ${seenByPage.filter((s) => s.includes('/classify')).length} classify requests of ${COUNT}`)
})
