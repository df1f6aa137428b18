/**
 * A page opened while the server is still starting: /readyz answers 503 a few times (intercepted
 * here), the page says the server is loading its models, and goes on by itself once it is ready.
 * A model the server is still building (the list's ready flag, intercepted here) is shown as
 * loading and offered once the server serves it, while the built ones work.
 */
import { expect, test } from '@playwright/test'
import { paths, type ModelsResponse } from '../src/api/wire'

test('while /readyz answers 503 the page says the server is loading, then carries on by itself', async ({ page }) => {
  let refused = 0
  await page.route(`**${paths.ready}`, async (route) => {
    if (refused < 3) {
      refused++
      await route.fulfill({ status: 503, json: { ready: false, error: { code: 'not_ready', message: 'workers are loading the models' } } })
    } else await route.continue()
  })
  await page.goto('/')
  const warmup = page.getByTestId('warmup')
  await expect(warmup).toContainText('loading its models')
  await expect(warmup).toContainText('workers are loading the models')
  await expect(page.getByTestId('session')).toHaveAttribute('data-status', 'ready', { timeout: 120_000 })
  await expect(warmup).toHaveCount(0)
  expect(refused).toBe(3)
})

test('a model the server is still building is shown as loading, and becomes selectable by itself', async ({ page, context }) => {
  // the first two model lists (the page's first, then its first poll) say only mnist-cnn is built
  let held = 2
  await context.route(`**${paths.models}`, async (route) => {
    const response = await route.fetch()
    const body = (await response.json()) as ModelsResponse
    if (held > 0) {
      held--
      for (const m of body.models) if (m.name !== 'mnist-cnn') m.ready = false
    }
    await route.fulfill({ response, json: body })
  })
  await page.goto('/')
  const loading = page.locator('[data-testid^="model-option-"][data-loading]')
  await expect(loading.first()).toContainText('loading…')
  await expect(loading.first().locator('input')).toBeDisabled()
  // the page does not wait for them: the built model gets its keys
  await expect(page.getByTestId('session')).toHaveAttribute('data-status', 'ready', { timeout: 120_000 })
  // the page asks again by itself, and the models are offered once the server serves them
  await expect(loading).toHaveCount(0)
  await expect(page.locator('[data-testid^="model-option-"] input:disabled')).toHaveCount(0)
})
