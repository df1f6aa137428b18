/** Page helpers shared by the specs. */
import { expect, type BrowserContext, type Page } from '@playwright/test'
import { dataTransferOf, READ_RESULTS } from './in-page'
import { paths } from '../../src/api/wire'

/** The digit model's normalisation as the server publishes it (the page opens with that model). */
export async function digitsNormalisation(page: Page): Promise<{ mean: number; std: number }> {
  const { mean, std } = await normalisationOf(page, 'mnist-cnn')
  return { mean: mean[0], std: std[0] }
}

export async function openReady(page: Page): Promise<void> {
  await page.goto('/')
  await expect(page.getByTestId('session')).toHaveAttribute('data-status', 'ready', { timeout: 120_000 })
}

/** The normalisation of a model as the server publishes it (per channel). */
export async function normalisationOf(page: Page, model: string): Promise<{ mean: number[]; std: number[] }> {
  const { models } = (await (await page.request.get(paths.models)).json()) as { models: Array<{ name: string; input: { mean: number[]; std: number[] } }> }
  const m = models.find((x) => x.name === model)
  if (!m) throw new Error(`the server offers no ${model}`)
  return { mean: m.input.mean, std: m.input.std }
}

/** Picks a model with its radio, as a person would, and waits until its keys are ready. */
export async function selectModel(page: Page, model: string): Promise<void> {
  await page.getByTestId('model-picker').locator(`input[type=radio][value="${model}"]`).check()
  const session = page.getByTestId('session')
  await expect(session).toHaveAttribute('data-model', model)
  await expect(session).toHaveAttribute('data-status', 'ready', { timeout: 240_000 })
}

/** Waits until every result has settled and returns them in submission order. */
export async function settledResults(page: Page, expected: number) {
  const results = page.getByTestId('result')
  await expect(results).toHaveCount(expected)
  await expect(page.locator('[data-testid="result"]:not([data-status="done"]):not([data-status="error"]):not([data-status="cancelled"])')).toHaveCount(0, {
    timeout: 600_000,
  })
  return (await page.evaluate(READ_RESULTS)) as Array<{
    name: string
    model: string | null
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
