/**
 * "Try an example": every model's sample images are on the page; one click classifies one like a
 * dropped file, and its card shows the prediction beside the true label. The sample files come
 * with cache headers that let the browser keep them.
 */
import { expect, test } from '@playwright/test'
import { samplePaths } from '../src/api/samples'
import type { ModelsResponse } from '../src/api/wire'
import { paths } from '../src/api/wire'

for (const model of ['mnist-cnn', 'fashion-cnn', 'cifar10-cnn']) {
  test(`an example of ${model} is classified in one click, its card showing the prediction and the true label`, async ({ page }) => {
    const { models } = (await (await page.request.get(paths.models)).json()) as ModelsResponse
    const classes = models.find((m) => m.name === model)!.classes
    const firstImage = page.waitForResponse((r) => r.url().includes(`${samplePaths.list(model)}/`))
    await page.goto(`/?model=${model}`)
    const examples = page.getByTestId('examples').getByTestId('example')
    await expect(examples).toHaveCount(12)
    const labels = await examples.evaluateAll((buttons) => buttons.map((b) => Number(b.getAttribute('data-label'))))
    expect(new Set(labels).size).toBe(classes.length)
    expect((await firstImage).headers()['cache-control']).toContain('immutable')
    await expect(page.getByTestId('session')).toHaveAttribute('data-status', 'ready', { timeout: 240_000 })

    const pick = examples.nth(3)
    const label = (await pick.getAttribute('data-label'))!
    await pick.click()
    const card = page.getByTestId('result')
    await expect(card).toHaveCount(1)
    await expect(card).toHaveAttribute('data-status', 'done', { timeout: 240_000 })
    await expect(card).toHaveAttribute('data-truth', label)
    const prediction = Number(await card.getAttribute('data-prediction'))
    expect(prediction).toBeGreaterThanOrEqual(0)
    await expect(card.locator('.prediction strong')).toHaveText(classes[prediction])
    await expect(card.getByTestId('truth')).toContainText(classes[Number(label)])
    await expect(card.getByTestId('truth')).toHaveAttribute('data-label', label)
  })
}
