/** Product screenshots for docs/ (run with SCREENSHOTS=1; not part of the normal suite). */
import { expect, test } from '@playwright/test'
import { writeDigits, writeNotAnImage } from './support/digits'
import { openReady, settledResults } from './support/page'

test.skip(!process.env.SCREENSHOTS, 'set SCREENSHOTS=1 to write docs/screenshot*.png')

for (const [name, viewport] of [
  ['docs/screenshot.png', { width: 1366, height: 1000 }],
  ['docs/screenshot-phone.png', { width: 390, height: 844 }],
] as const) {
  test(`screenshot ${name}`, async ({ page }) => {
    await page.setViewportSize(viewport)
    await openReady(page)
    const { dir, files } = writeDigits(5, 20)
    await page.locator('input[type=file]').setInputFiles([...files.map((f) => f.path), writeNotAnImage(dir)])
    await settledResults(page, 6)
    await expect(page.getByTestId('result').first()).toBeVisible()
    await page.screenshot({ path: name, fullPage: true })
  })
}
