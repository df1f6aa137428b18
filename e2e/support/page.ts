/** Page helpers shared by the specs. */
import { expect, type BrowserContext, type Page } from '@playwright/test'
import { dataTransferOf, READ_RESULTS } from './in-page'
import { paths } from '../../src/api/wire'

/** The digit model's normalisation as the server publishes it (the page classifies with that model). */
export async function digitsNormalisation(page: Page): Promise<{ mean: number; std: number }> {
  const { models } = (await (await page.request.get(paths.models)).json()) as { models: Array<{ name: string; input: { mean: number[]; std: number[] } }> }
  const digits = models.find((m) => m.name === 'mnist-cnn')
  if (!digits) throw new Error('the server offers no mnist-cnn')
  return { mean: digits.input.mean[0], std: digits.input.std[0] }
}

export async function openReady(page: Page): Promise<void> {
  await page.goto('/')
  await expect(page.getByTestId('session')).toHaveAttribute('data-status', 'ready', { timeout: 120_000 })
}

/** Waits until every result has settled and returns them in submission order. */
export async function settledResults(page: Page, expected: number) {
  const results = page.getByTestId('result')
  await expect(results).toHaveCount(expected)
  await expect(page.locator('[data-testid="result"]:not([data-status="done"]):not([data-status="error"])')).toHaveCount(0, { timeout: 600_000 })
  return (await page.evaluate(READ_RESULTS)) as Array<{
    name: string
    status: string | null
    prediction: string | null
    probabilities: number[] | null
    error: string | null
    frame: number[] | null
  }>
}
/** Drops files on the drop zone the way a browser does (a DataTransfer with File objects). */
export async function dropFiles(page: Page, files: Array<{ name: string; mimeType: string; bytes: Buffer }>) {
  const payload = files.map((f) => ({ name: f.name, type: f.mimeType, b64: f.bytes.toString('base64') }))
  const dt = await page.evaluateHandle(dataTransferOf(payload))
  await page.getByTestId('dropzone').dispatchEvent('drop', { dataTransfer: dt })
}

export interface Captured {
  method: string
  url: string
  body: Buffer
}

/** Records the body of every request under /api (including the worker's) before it leaves. */
export async function captureApiRequests(context: BrowserContext): Promise<Captured[]> {
  const captured: Captured[] = []
  await context.route('**/api/**', async (route) => {
    const r = route.request()
    captured.push({ method: r.method(), url: r.url(), body: r.postDataBuffer() ?? Buffer.alloc(0) })
    await route.continue()
  })
  return captured
}
