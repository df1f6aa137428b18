import { expect, test, type Page } from '@playwright/test'
import { writeBlank, writeDigits, writeHugePng, writeNotAnImage } from '../src/datasets/fixtures/digits'
import { openReady, settledResults } from './support/page'

async function classifyOne(page: Page, path: string, expectedCount: number) {
  await page.locator('input[type=file]').setInputFiles(path)
  const results = await settledResults(page, expectedCount)
  return results[results.length - 1]
}

test('a drawn "1" is classified as 1', async ({ page }) => {
  await openReady(page)
  const pad = page.getByTestId('drawpad')
  await pad.scrollIntoViewIfNeeded()
  const box = (await pad.boundingBox())!
  const at = (fx: number, fy: number) => [box.x + fx * box.width, box.y + fy * box.height] as const
  await page.mouse.move(...at(0.5, 0.15))
  await page.mouse.down()
  for (let i = 1; i <= 20; i++) await page.mouse.move(...at(0.5 - i * 0.002, 0.15 + i * 0.035))
  await page.mouse.up()
  await page.getByRole('button', { name: 'Classify drawing' }).click({ timeout: 10_000 })
  const [r] = await settledResults(page, 1)
  expect(r.status).toBe('done')
  expect(r.prediction).toBe('1')
})

test('a drawn "7" is classified as 7', async ({ page }) => {
  await openReady(page)
  const pad = page.getByTestId('drawpad')
  await pad.scrollIntoViewIfNeeded()
  const box = (await pad.boundingBox())!
  const at = (fx: number, fy: number) => [box.x + fx * box.width, box.y + fy * box.height] as const
  await page.mouse.move(...at(0.25, 0.2))
  await page.mouse.down()
  for (let i = 1; i <= 10; i++) await page.mouse.move(...at(0.25 + i * 0.05, 0.2))
  for (let i = 1; i <= 16; i++) await page.mouse.move(...at(0.75 - i * 0.017, 0.2 + i * 0.043))
  await page.mouse.up()
  await page.getByRole('button', { name: 'Classify drawing' }).click({ timeout: 10_000 })
  const [r] = await settledResults(page, 1)
  expect(r.prediction).toBe('7')
})

test('a non-image, a blank image, a 60-megapixel PNG and a stopped server each give a message, and the app keeps working', async ({ page, context }) => {
  const sent: string[] = []
  await context.route('**/api/**', async (route) => {
    sent.push(route.request().url())
    await route.continue()
  })
  await openReady(page)
  const { dir, files } = writeDigits(3)
  const classifyRequests = () => sent.filter((u) => u.includes('/classify')).length

  // not an image: refused before anything is sent
  let r = await classifyOne(page, writeNotAnImage(dir), 1)
  expect(r.status).toBe('error')
  expect(r.error).toMatch(/not an image/i)
  expect(classifyRequests()).toBe(0)

  // blank: refused before anything is sent
  r = await classifyOne(page, writeBlank(dir), 2)
  expect(r.status).toBe('error')
  expect(r.error).toMatch(/blank/i)
  expect(classifyRequests()).toBe(0)

  // 60 megapixels in a ~60 KB file: refused from its header, before decoding
  r = await classifyOne(page, writeHugePng(dir), 3)
  expect(r.status).toBe('error')
  expect(r.error).toMatch(/60 megapixels; the limit is 50/)
  expect(classifyRequests()).toBe(0)

  // still works
  r = await classifyOne(page, files[0].path, 4)
  expect(r.status).toBe('done')
  expect(Number(r.prediction)).toBe(files[0].label)

  // server unreachable: every API request fails at the network level
  const abort = (route: import('@playwright/test').Route) => route.abort('connectionrefused')
  await context.route('**/api/**', abort)
  r = await classifyOne(page, files[1].path, 5)
  expect(r.status).toBe('error')
  expect(r.error).toMatch(/cannot reach/i)
  await expect(page.getByTestId('error').last()).toBeVisible()

  // server back: classifying works again, without reloading
  await context.unroute('**/api/**', abort)
  r = await classifyOne(page, files[2].path, 6)
  expect(r.status).toBe('done')
  expect(Number(r.prediction)).toBe(files[2].label)
})

test('a page opened while the server is down says so, then recovers with "Try again"', async ({ page, context }) => {
  const abort = (route: import('@playwright/test').Route) => route.abort('connectionrefused')
  await context.route('**/api/**', abort)
  await page.goto('/')
  await expect(page.getByTestId('session')).toHaveAttribute('data-status', 'error')
  await expect(page.getByTestId('session').getByTestId('error')).toContainText(/cannot reach/i)
  await context.unroute('**/api/**', abort)
  await page.getByRole('button', { name: 'Try again' }).click()
  await expect(page.getByTestId('session')).toHaveAttribute('data-status', 'ready', { timeout: 120_000 })
})

test('when the server has forgotten the session, the worker re-uploads the keys and retries once', async ({ page, context }) => {
  const keyUploads: string[] = []
  let forgotten = false
  await context.route('**/api/**', async (route) => {
    const url = new URL(route.request().url())
    if (route.request().method() === 'POST' && url.pathname === '/api/v1/sessions') keyUploads.push(url.href)
    if (!forgotten && url.pathname.endsWith('/classify')) {
      forgotten = true
      // as a restarted server would answer
      return route.fulfill({ status: 404, contentType: 'application/json', body: JSON.stringify({ error: { code: 'unknown_session', message: 'unknown or expired session' } }) })
    }
    await route.continue()
  })
  await openReady(page)
  const { files } = writeDigits(1, 7)
  const r = await classifyOne(page, files[0].path, 1)
  expect(forgotten).toBe(true)
  expect(r.status).toBe('done')
  expect(Number(r.prediction)).toBe(files[0].label)
  expect(keyUploads).toHaveLength(2)
})

test('a crashed worker is restarted with new keys and the app keeps working', async ({ page }) => {
  await openReady(page)
  const fingerprint = page.getByTestId('session').locator('code')
  const before = await fingerprint.textContent()
  // the HE worker (the image worker runs beside it)
  const worker = page.workers().find((w) => w.url().includes('he.worker'))
  expect(worker).toBeTruthy()
  // an uncaught error in the worker reaches the page as the Worker's 'error' event, as a crash would
  await worker!.evaluate('setTimeout(() => { throw new Error("simulated crash") })')
  await expect(page.getByTestId('session')).toHaveAttribute('data-status', 'ready', { timeout: 120_000 })
  await expect(fingerprint).not.toHaveText(before ?? '', { timeout: 120_000 })
  const { files } = writeDigits(1, 11)
  const r = await classifyOne(page, files[0].path, 1)
  expect(r.status).toBe('done')
  expect(Number(r.prediction)).toBe(files[0].label)
})

test('for a photo model, a camera the browser cannot give says so and the page goes on', async ({ page }) => {
  await openReady(page)
  await page.getByTestId('model-picker').locator('input[type=radio][value="cifar10-cnn"]').check()
  await page.getByRole('button', { name: 'Take a photo' }).click()
  // headless Chromium here has no camera and grants no permission: either answer must read clearly
  await expect(page.getByTestId('camera-error')).toContainText(/denied|No camera/)
  await expect(page.getByRole('button', { name: 'Take a photo' })).toBeEnabled()
})
