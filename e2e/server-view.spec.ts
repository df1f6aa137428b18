/**
 * "What the server sees": a result card opens a view of the model input that stayed in the tab,
 * the ciphertext that was sent for it and the encrypted answer that came back. What the view
 * shows (hash, size, hex, noise pixels) is checked against the request and response bodies the
 * browser really sent and received, as Playwright captured them on the wire.
 */
import { createHash } from 'node:crypto'
import AxeBuilder from '@axe-core/playwright'
import { expect, test, type Page } from '@playwright/test'
import { hexRows, WINDOW_SIDE } from '../src/api/wire-sample'
import { captureApiRequests } from './support/page'

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')
const isClassify = (method: string, url: string) => method === 'POST' && new URL(url).pathname.endsWith('/classify')

/** The RGBA pixels of the canvas `selector` finds, read in the page (kept as source: the Node test project has no DOM types). */
async function rgbaOf(page: Page, selector: string): Promise<number[]> {
  return (await page.evaluate(`(() => {
    const c = document.querySelector(${JSON.stringify(selector)});
    return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data);
  })()`)) as number[]
}

/** The grey levels the panel's noise image shows (its opaque pixels), read back from its canvas. */
async function drawnBytes(page: Page, panel: string): Promise<number[]> {
  const rgba = await rgbaOf(page, `[data-testid="${panel}"] canvas`)
  const grey: number[] = []
  for (let i = 0; i < rgba.length; i += 4) if (rgba[i + 3] === 255) grey.push(rgba[i])
  return grey
}

/** The panel shows the SHA-256, size, first bytes and a window of exactly `body`. */
async function showsBody(page: Page, panelId: string, body: Buffer): Promise<void> {
  const panel = page.getByTestId(panelId)
  await expect(panel.getByTestId('sha256')).toHaveText(sha256(body))
  await expect(panel).toHaveAttribute('data-sha256', sha256(body))
  await expect(panel).toHaveAttribute('data-bytes', String(body.length))
  await expect(panel.getByTestId('hex')).toHaveText(hexRows(body.subarray(0, 64)).join('\n'))
  const grey = await drawnBytes(page, panelId)
  const n = Math.min(body.length, WINDOW_SIDE * WINDOW_SIDE)
  expect(grey).toHaveLength(n)
  const offset = Math.floor((body.length - n) / 2)
  expect(grey).toEqual([...body.subarray(offset, offset + n)])
}

test('a result card shows the ciphertext sent and the answer received, hashed as they crossed the wire', async ({ page, context }) => {
  // request bodies as the route sees them leave (request events carry none for the worker's POSTs)
  const captured = await captureApiRequests(context)
  const received: Array<Promise<Buffer>> = []
  context.on('response', (r) => {
    if (isClassify(r.request().method(), r.url())) received.push(r.body())
  })

  await page.goto('/?model=mnist-cnn')
  await expect(page.getByTestId('session')).toHaveAttribute('data-status', 'ready', { timeout: 120_000 })
  await page.getByTestId('examples').getByTestId('example').first().click()
  const card = page.getByTestId('result')
  await expect(card).toHaveAttribute('data-status', 'done', { timeout: 120_000 })
  const sent = captured.filter((c) => isClassify(c.method, c.url)).map((c) => c.body)
  expect(sent).toHaveLength(1)
  expect(received).toHaveLength(1)
  const request = sent[0]
  const response = await received[0]
  expect(request.length).toBeGreaterThan(WINDOW_SIDE * WINDOW_SIDE)

  const toggle = card.getByTestId('server-view-toggle')
  await expect(toggle).toHaveAttribute('aria-expanded', 'false')
  await expect(card.getByTestId('server-view')).toHaveCount(0)
  await toggle.click()
  await expect(toggle).toHaveAttribute('aria-expanded', 'true')
  const view = card.getByTestId('server-view')
  await expect(view).toBeVisible()
  await expect(toggle).toHaveAttribute('aria-controls', (await view.getAttribute('id'))!)

  await showsBody(page, 'wire-sent', request)
  await showsBody(page, 'wire-received', response)
  // the privacy inspector lists the same request by the first 16 digits of the same hash
  await expect(page.getByTestId('request-row').filter({ hasText: 'ciphertext' })).toContainText(sha256(request).slice(0, 16))

  // the input shown is the card's own model input, enlarged, with a text alternative
  const input = view.getByTestId('wire-input').locator('canvas')
  await expect(input).toHaveAttribute('aria-label', /28 by 28 model input/)
  expect(await rgbaOf(page, '[data-testid="wire-input"] canvas')).toEqual(await rgbaOf(page, '[data-testid="result"] .card-head canvas'))
  for (const image of await view.locator('canvas').all()) await expect(image).toHaveAttribute('aria-label', /\w/)

  const { violations } = await new AxeBuilder({ page }).include('[data-testid="result"]').analyze()
  expect(violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id)).toEqual([])

  // on a phone: nothing scrolls sideways, the toggle is a full touch target
  await page.setViewportSize({ width: 360, height: 740 })
  await expect(view.getByTestId('wire-sent')).toBeVisible()
  expect((await page.evaluate('document.documentElement.scrollWidth')) as number).toBeLessThanOrEqual(360)
  expect((await toggle.boundingBox())!.height).toBeGreaterThanOrEqual(44)

  await toggle.click()
  await expect(toggle).toHaveAttribute('aria-expanded', 'false')
  await expect(card.getByTestId('server-view')).toHaveCount(0)
})
