/**
 * The main views pass axe-core with no serious or critical violation, work at
 * 360 px without sideways scrolling, and the model picker is keyboard-operable.
 */
import AxeBuilder from '@axe-core/playwright'
import { expect, test, type Page } from '@playwright/test'
import { writeDigits } from '../src/datasets/fixtures/digits'
import { openReady, selectModel, settledResults } from './support/page'

async function seriousViolations(page: Page): Promise<string[]> {
  const { violations } = await new AxeBuilder({ page }).analyze()
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)
}

test('no serious or critical axe violation: start, a result, another model', async ({ page }) => {
  await openReady(page)
  expect(await seriousViolations(page)).toEqual([])
  const { files } = writeDigits(2)
  await page.locator('input[type=file]').setInputFiles(files.map((f) => f.path))
  await settledResults(page, 2)
  expect(await seriousViolations(page)).toEqual([])
  await selectModel(page, 'fashion-cnn')
  expect(await seriousViolations(page)).toEqual([])
})

test('at 360 px wide nothing scrolls sideways, with results on the page', async ({ page }) => {
  await page.setViewportSize({ width: 360, height: 740 })
  await openReady(page)
  const { files } = writeDigits(2)
  await page.locator('input[type=file]').setInputFiles(files.map((f) => f.path))
  await settledResults(page, 2)
  const width = (await page.evaluate('document.documentElement.scrollWidth')) as number
  expect(width).toBeLessThanOrEqual(360)
})

test('the model picker works from the keyboard', async ({ page }) => {
  await openReady(page)
  const picker = page.getByTestId('model-picker')
  await picker.locator('input[type=radio]:checked').focus()
  const before = await picker.locator('input[type=radio]:checked').getAttribute('value')
  await page.keyboard.press('ArrowUp')
  const after = await picker.locator('input[type=radio]:checked').getAttribute('value')
  expect(after).not.toBe(before)
  await expect(page.getByTestId('session')).toHaveAttribute('data-model', after!)
  await expect(page.getByTestId('session')).toHaveAttribute('data-status', 'ready', { timeout: 240_000 })
})
