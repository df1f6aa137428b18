/**
 * A page opened while the server is still starting: /readyz answers 503 a few times (intercepted
 * here), the page says the server is loading its models, and goes on by itself once it is ready.
 */
import { expect, test } from '@playwright/test'
import { paths } from '../src/api/wire'

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
