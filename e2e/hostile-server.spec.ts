/**
 * The worker holds the secret key, so it treats the server's answers as
 * untrusted bytes: an oversized answer is not read, a malformed one never
 * reaches SEAL, and either way the card says what went wrong and the next
 * image is classified normally.
 */
import { expect, test, type Page, type Route } from '@playwright/test'
import { writeDigits } from '../src/datasets/fixtures/digits'
import { openReady, settledResults } from './support/page'

async function classifyOne(page: Page, path: string, expectedCount: number) {
  await page.locator('input[type=file]').setInputFiles(path)
  const results = await settledResults(page, expectedCount)
  return results[results.length - 1]
}

test('a server answering with oversized or malformed bytes gets an error card, and the app goes on', async ({ page, context }) => {
  await openReady(page)
  const { files } = writeDigits(3)

  // 8 MB of noise where an encrypted answer of 90 KB belongs
  const oversized = async (route: Route) => route.fulfill({ status: 200, contentType: 'application/octet-stream', body: Buffer.alloc(8 * 2 ** 20, 7) })
  await context.route('**/classify', oversized)
  let r = await classifyOne(page, files[0].path, 1)
  expect(r.status).toBe('error')
  expect(r.error).toMatch(/larger than this model's answers can be/)
  await context.unroute('**/classify', oversized)

  // a small body that is not a response container
  const malformed = async (route: Route) => route.fulfill({ status: 200, contentType: 'application/octet-stream', body: Buffer.from('BLFD\u0001\u0003\u0001\u0000garbage') })
  await context.route('**/classify', malformed)
  r = await classifyOne(page, files[1].path, 2)
  expect(r.status).toBe('error')
  expect(r.error).toMatch(/container|truncated/i)
  await context.unroute('**/classify', malformed)

  // the real server again: right answer
  r = await classifyOne(page, files[2].path, 3)
  expect(r.status).toBe('done')
  expect(Number(r.prediction)).toBe(files[2].label)
})

test('a model list whose rotation steps its geometry does not need: keys are made and sent, then the session is deleted and nothing is encrypted', async ({ page, context }) => {
  // the real list, with the digit model's last rotation step dropped
  await context.route('**/api/v1/models', async (route) => {
    const listed = await route.fetch()
    const body = (await listed.json()) as { models: Array<{ name: string; plan: { rotationSteps: number[] } }> }
    for (const m of body.models) if (m.name === 'mnist-cnn') m.plan.rotationSteps = m.plan.rotationSteps.slice(0, -1)
    await route.fulfill({ response: listed, json: body })
  })
  // the real server would refuse keys lacking a step; a hostile one takes them
  await context.route('**/api/v1/sessions?model=*', (route) =>
    route.fulfill({ status: 201, json: { sessionId: 'hostile-session', model: 'mnist-cnn', expiresAt: new Date(Date.now() + 3_600_000).toISOString() } }),
  )
  const deleted = page.waitForRequest((r) => r.method() === 'DELETE' && r.url().endsWith('/sessions/hostile-session'))
  const classified: string[] = []
  page.on('request', (r) => {
    if (r.url().includes('/classify')) classified.push(r.url())
  })
  await page.goto('/')
  const session = page.getByTestId('session')
  await expect(session).toHaveAttribute('data-status', 'error', { timeout: 120_000 })
  await expect(page.getByTestId('error')).toContainText('rotation steps differ')
  await deleted
  // an image given now is not encrypted under the mismatched plan
  const { files } = writeDigits(1)
  await page.locator('input[type=file]').setInputFiles(files[0].path)
  await expect(page.getByTestId('result')).toHaveAttribute('data-status', 'error', { timeout: 120_000 })
  expect(classified).toEqual([])
})
