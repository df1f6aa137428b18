/**
 * Every model the page offers, with official test images as people hand them
 * over: garments photographed on white, photos upscaled and saved as PNG,
 * JPEG and WebP at several sizes. The app must answer what the plaintext model
 * answers for the same 28x28 / 32x32 input, show the server's progress, cancel,
 * keep each model's keys and results, and send no plaintext.
 */
import { expect, test, type Page } from '@playwright/test'
import { LONG_TASK_OBSERVER, PROGRESS_OBSERVER, READ_LONG_TASKS, READ_PROGRESS, RESET_LONG_TASKS } from './support/in-page'
import { fileNeedles, findLeaks, inputNeedles, probabilityNeedles } from './support/needles'
import { captureApiRequests, dropFiles, normalisationOf, openReady, selectModel, settledResults } from './support/page'
import { cifarPhoto, garmentOnWhite } from '../src/datasets/fixtures/photos'
import { userFiles, type UserFile } from './support/user-files'
import { paths } from '../src/api/wire'

/** Share of results that gave the plaintext model's class, logged with the misses. */
function agreement(results: Awaited<ReturnType<typeof settledResults>>, files: UserFile[], label: string): number {
  let same = 0
  results.forEach((r, i) => {
    expect(r.name).toBe(files[i].name)
    if (r.status === 'done' && Number(r.prediction) === files[i].expected) same++
    else console.log(`${label} differs: ${files[i].name} plaintext ${files[i].expected}, app ${r.prediction ?? r.error}`)
  })
  console.log(`${label}: ${same}/${files.length} as the plaintext model`)
  return same / files.length
}

async function leaksIn(page: Page, captured: Array<{ body: Buffer }>, model: string, results: Awaited<ReturnType<typeof settledResults>>, files: UserFile[]) {
  const { mean, std } = await normalisationOf(page, model)
  const needles = results.flatMap((r, i) => [
    ...fileNeedles(files[i].bytes, files[i].name),
    ...(r.frame ? inputNeedles(r.frame, mean, std, files[i].name) : []),
    ...(r.probabilities ? probabilityNeedles(r.probabilities, files[i].name) : []),
  ])
  expect(needles.length).toBeGreaterThan(files.length * 10)
  return findLeaks(captured.map((c) => c.body), needles)
}

test('clothing: garments on white answer as the plaintext model; switching models keeps keys and results', async ({ page, context }) => {
  const captured = await captureApiRequests(context)
  await openReady(page)
  await selectModel(page, 'fashion-cnn')
  const files = await userFiles(
    page,
    'fashion-cnn',
    'fashion-mnist',
    Array.from({ length: 12 }, (_, i) => i * 7),
    [
      { side: 112, format: 'png' },
      { side: 300, format: 'jpeg' },
      { side: 200, format: 'webp' },
    ],
    garmentOnWhite,
  )
  await dropFiles(page, files)
  const results = (await settledResults(page, files.length)).filter((r) => r.model === 'fashion-cnn')
  expect(results.every((r) => r.frame?.length === 28 * 28)).toBe(true)
  expect(agreement(results, files, 'fashion-cnn')).toBeGreaterThanOrEqual(0.8)

  // back to digits: its keys were kept (no new upload), the clothing results stay on the page
  const uploadsBefore = captured.filter((c) => c.method === 'POST' && new URL(c.url).pathname === paths.sessions).length
  await selectModel(page, 'mnist-cnn')
  await expect(page.locator('[data-testid="result"][data-model="fashion-cnn"]')).toHaveCount(files.length)
  await selectModel(page, 'fashion-cnn')
  expect(captured.filter((c) => c.method === 'POST' && new URL(c.url).pathname === paths.sessions).length).toBe(uploadsBefore)
  expect(uploadsBefore).toBe(2) // one per model used
  expect(await leaksIn(page, captured, 'fashion-cnn', results, files)).toEqual([])
})

test('photos (CIFAR-10): PNG, JPEG and WebP at several sizes answer as the plaintext model, with server progress, cancel, no plaintext sent', async ({ page, context }) => {
  test.setTimeout(600_000)
  const captured = await captureApiRequests(context)
  await page.addInitScript({ content: PROGRESS_OBSERVER })
  await page.addInitScript({ content: LONG_TASK_OBSERVER })
  await openReady(page)
  await selectModel(page, 'cifar10-cnn')
  const files = await userFiles(
    page,
    'cifar10-cnn',
    'cifar10',
    [0, 1, 2, 3, 4, 5],
    [
      { side: 64, format: 'png' },
      { side: 256, format: 'jpeg' },
      { side: 500, format: 'webp' },
    ],
    cifarPhoto,
  )
  await page.evaluate(RESET_LONG_TASKS)
  await dropFiles(page, files)
  const results = await settledResults(page, files.length)
  // Main-thread long tasks are logged, not asserted: they are a timing, and with the server evaluating
  // CIFAR-10 on every core of a small machine a short task can pass the long-task threshold. The
  // end-to-end benchmark measures them (mainThreadLongTasks).
  console.log(`long tasks while decoding and classifying the photos: ${JSON.stringify(await page.evaluate(READ_LONG_TASKS))}`)
  expect(results.every((r) => r.frame?.length === 32 * 32 * 3)).toBe(true)
  expect(agreement(results, files, 'cifar10-cnn')).toBeGreaterThanOrEqual(4 / 6)
  expect(await leaksIn(page, captured, 'cifar10-cnn', results, files)).toEqual([])

  // the server's own progress reached the cards: several steps seen, ending at the plan's last
  const progress = (await page.evaluate(READ_PROGRESS)) as Record<string, { done: number[]; total: number }>
  console.log('progress seen', JSON.stringify(progress))
  const seen = Object.values(progress)
  expect(seen.length).toBeGreaterThan(0)
  expect(Math.max(...seen.map((p) => new Set(p.done).size))).toBeGreaterThanOrEqual(2)
  for (const p of seen) {
    expect(p.total).toBeGreaterThan(1)
    expect(p.done).toEqual([...p.done].sort((a, b) => a - b))
  }

  // cancel: the first of two fresh photos is stopped while the server computes; the second still answers
  const more = await userFiles(page, 'cifar10-cnn', 'cifar10', [10, 11], [{ side: 128, format: 'png' }], cifarPhoto)
  await dropFiles(page, more)
  const first = page.locator('[data-testid="result"]', { hasText: more[0].name })
  await expect(first).toHaveAttribute('data-server-total', /\d+/, { timeout: 120_000 })
  await first.getByRole('button', { name: `Cancel ${more[0].name}` }).click()
  await expect(first).toHaveAttribute('data-status', 'cancelled')
  const second = page.locator('[data-testid="result"]', { hasText: more[1].name })
  await expect(second).toHaveAttribute('data-status', 'done', { timeout: 300_000 })
  const cancelledPost = captured.filter((c) => c.method === 'DELETE' && c.url.includes('/jobs/'))
  expect(cancelledPost.length).toBe(1)
})
