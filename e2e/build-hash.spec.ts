/**
 * The privacy inspector shows the build hash the server reports, and it is
 * the one `npm run build` wrote into dist/build-manifest.json.
 */
import { readFileSync } from 'node:fs'
import { expect, test } from '@playwright/test'

test('the privacy inspector shows the buildHash of dist/build-manifest.json', async ({ page }) => {
  const manifest = JSON.parse(readFileSync('dist/build-manifest.json', 'utf8')) as { buildHash: string; files: Record<string, string> }
  expect(manifest.buildHash).toMatch(/^[0-9a-f]{64}$/)
  // the worker and the WASM are part of what the hash covers
  expect(Object.keys(manifest.files).some((f) => /he\.worker-.*\.js$/.test(f))).toBe(true)
  expect(Object.keys(manifest.files).some((f) => f.endsWith('.wasm'))).toBe(true)

  await page.goto('/')
  const shown = page.getByTestId('build-hash')
  await expect(shown).toHaveAttribute('data-status', 'ok')
  await expect(shown).toHaveText(manifest.buildHash)
  // and how to check it for real, against this page's own origin
  await expect(page.getByText(`npm run verify:deployment -- ${new URL(page.url()).origin}/`)).toBeVisible()
})
