/**
 * Phone first: at 360 x 740 the first screen holds the model choice, the example gallery,
 * "Choose images" and "Take a photo", nothing scrolls sideways, and what a thumb must hit there
 * is at least 44 px tall; results come before the keys and the privacy inspector.
 */
import { expect, test, type Locator } from '@playwright/test'

const SCREEN = { width: 360, height: 740 }

async function onFirstScreen(what: Locator, name: string): Promise<void> {
  const box = await what.boundingBox()
  expect(box, `${name} is laid out`).not.toBeNull()
  expect(box!.y, `${name} starts on the first screen`).toBeGreaterThanOrEqual(0)
  expect(box!.y + box!.height, `${name} ends on the first screen`).toBeLessThanOrEqual(SCREEN.height)
  expect(box!.x + box!.width, `${name} fits the width`).toBeLessThanOrEqual(SCREEN.width)
}

test('at 360 px the first screen holds the model choice, the examples and both image actions', async ({ page }) => {
  await page.setViewportSize(SCREEN)
  // a photo model: it has the camera action
  await page.goto('/?model=cifar10-cnn')
  await expect(page.getByTestId('examples').getByTestId('example')).toHaveCount(12)
  await onFirstScreen(page.getByTestId('model-picker'), 'the model choice')
  await onFirstScreen(page.getByTestId('examples'), 'the example gallery')
  await onFirstScreen(page.getByText('Choose images…'), '"Choose images"')
  const camera = page.getByRole('button', { name: 'Take a photo' })
  await onFirstScreen(camera, '"Take a photo"')
  expect((await page.evaluate('document.documentElement.scrollWidth')) as number).toBeLessThanOrEqual(SCREEN.width)

  // touch targets on the first screen
  for (const target of [camera, page.getByText('Choose images…'), page.getByTestId('example').first(), page.getByTestId('model-picker').locator('label').first()]) {
    expect((await target.boundingBox())!.height).toBeGreaterThanOrEqual(44)
  }

  // results come next; the keys and the privacy inspector after them
  const top = async (l: Locator) => (await l.boundingBox())!.y
  const results = await top(page.locator('#results'))
  expect(results).toBeGreaterThan(await top(page.getByTestId('dropzone')))
  expect(await top(page.getByTestId('session'))).toBeGreaterThan(results)
  expect(await top(page.getByRole('heading', { name: /privacy/i }).first())).toBeGreaterThan(results)
})
