/**
 * A model imported from ONNX, in the page. The spec starts its own server (server/main.ts on a
 * free loopback port, serving the built page) on a models folder that holds the digit model and
 * a fixture imported by the importer with `--samples`; a person picks the imported model with
 * its radio, clicks one of its examples and drops a picture. Each card's class is the one ONNX
 * Runtime gives on the original .onnx file for the input the page sent (read back from the
 * card's preview), and its name is the class name given at import.
 */
import { rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { PNG } from 'pngjs'
import { expect, test } from '@playwright/test'
import { importFixture, ortClasses, writePictureFolder, type ImportedFixture } from '../scripts/training/onnx/imported-fixture'
import { sampleImages } from '../scripts/training/onnx/reference-check'
import { startApiReplica, type ServiceProcess } from '../server/test-support/processes'
import { freePort } from '../server/test-support/redis'
import { dropFiles, selectModel, settledResults } from './support/page'

const NAME = 'imported-rgb'
const CLASSES = ['cat', 'dog', 'bird']
const DIST = fileURLToPath(new URL('../dist', import.meta.url))

let imported: ImportedFixture
let server: ServiceProcess
let base: string
let pictures: string

test.beforeAll(async () => {
  pictures = writePictureFolder(CLASSES, 8)
  imported = await importFixture('rgb-stride2-bn-pow-two-dense', { name: NAME, classes: CLASSES, preprocess: 'photo', shipped: ['mnist-cnn'], samples: pictures, encryptedImages: 1 })
  const port = await freePort()
  server = await startApiReplica(port, { MODELS_DIR: imported.dir, POOL_SIZE: '1', STATIC_DIR: DIST }, 180_000)
  base = `http://127.0.0.1:${port}`
})

test.afterAll(async () => {
  await server?.stop()
  imported?.remove()
  if (pictures) rmSync(pictures, { recursive: true, force: true })
})

/** an 8x8 picture enlarged four times (each pixel a 4x4 block), so the page's area-averaging gives the 8x8 back */
function enlarged(rgb: Uint8Array, side: number, by: number): Buffer {
  const png = new PNG({ width: side * by, height: side * by })
  for (let y = 0; y < side * by; y++)
    for (let x = 0; x < side * by; x++) {
      const i = Math.floor(y / by) * side + Math.floor(x / by)
      png.data.set([rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2], 255], 4 * (y * side * by + x))
    }
  return PNG.sync.write(png)
}

test('an imported model is picked in the page and classifies an example and a dropped picture as ONNX Runtime does', async ({ page }) => {
  const { manifest } = imported.model
  await page.goto(`${base}/`)
  await expect(page.getByTestId('model-picker').locator(`input[type=radio][value="${NAME}"]`)).toBeVisible({ timeout: 60_000 })
  await selectModel(page, NAME)

  // one of the pictures given with --samples, as "try an example"
  const examples = page.getByTestId('examples').getByTestId('example')
  await expect(examples).toHaveCount(2 * CLASSES.length)
  await examples.nth(2).click()
  let [card] = await settledResults(page, 1)
  expect(card.status).toBe('done')
  expect(card.model).toBe(NAME)
  expect(card.frame).toHaveLength(8 * 8 * 3)
  let [expected] = await ortClasses(imported.onnx, manifest, [card.frame!])
  expect(Number(card.prediction)).toBe(expected)
  const first = page.getByTestId('result').first()
  await expect(first).toHaveAttribute('data-truth', '1')
  await expect(first.locator('.prediction strong')).toHaveText(CLASSES[expected])

  // a dropped picture, four times the model's size
  const [rgb] = sampleImages(manifest, 1, 21)
  await dropFiles(page, [{ name: 'picture.png', mimeType: 'image/png', bytes: enlarged(rgb, 8, 4) }])
  const results = await settledResults(page, 2)
  card = results.find((r) => r.name === 'picture.png')!
  expect(card.status).toBe('done')
  expect(card.model).toBe(NAME)
  expect(card.frame).toEqual(Array.from(rgb))
  ;[expected] = await ortClasses(imported.onnx, manifest, [rgb])
  expect(Number(card.prediction)).toBe(expected)
  await expect(page.locator('[data-testid="result"]', { hasText: 'picture.png' }).locator('.prediction strong')).toHaveText(CLASSES[expected])
})
