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
