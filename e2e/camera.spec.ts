/**
 * "Take a photo" with Chromium's fake camera playing a file: an official
 * CIFAR-10 test image, enlarged and framed as a camera would see it. This
 * file launches its own browser (the fake-camera flags apply to a launch).
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, test } from '@playwright/test'
import { imageAt, loadSplit } from '../src/datasets'
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './support/chromium'
import { openReady, selectModel, settledResults } from './support/page'
import { enlarge, y4mFromRgb } from '../src/datasets/fixtures/photos'
import { plaintextPrediction } from './support/plaintext'

const INDEX = 3
const official = imageAt(loadSplit('cifar10', 'test'), INDEX)

/** 640x480 frames: the image enlarged to 480x480 in the middle, mid-gray bars either side (what a centre crop removes). */
function cameraFrame(): Uint8Array {
  const side = 480
  const big = enlarge({ width: 32, height: 32, channels: 3, data: official }, side, side).data
  const frame = new Uint8Array(640 * 480 * 3).fill(128)
  for (let y = 0; y < side; y++) frame.set(big.subarray(y * side * 3, (y + 1) * side * 3), (y * 640 + 80) * 3)
  return frame
}

const video = join(mkdtempSync(join(tmpdir(), 'blindfold-camera-')), 'camera.y4m')
writeFileSync(video, y4mFromRgb(640, 480, cameraFrame(), 10))

test.use({
  launchOptions: {
    executablePath: CHROMIUM_PATH,
    args: [...CHROMIUM_ARGS, '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${video}`],
  },
  permissions: ['camera'],
})

test('a photo from the camera is classified as the plaintext model classifies the image it shows', async ({ page }) => {
  test.setTimeout(600_000)
  await openReady(page)
  // digits have no camera button: it belongs to photo models
  await expect(page.getByRole('button', { name: 'Take a photo' })).toHaveCount(0)
  await selectModel(page, 'cifar10-cnn')
  await page.getByRole('button', { name: 'Take a photo' }).click()
  await expect(page.getByTestId('camera')).toHaveAttribute('data-status', 'live')
  // wait for frames before capturing (the fake device needs a moment to start)
  await expect.poll(() => page.locator('video').evaluate((v) => (v as unknown as { videoWidth: number }).videoWidth)).toBeGreaterThan(0)
  await page.getByRole('button', { name: 'Capture' }).click()
  const [result] = await settledResults(page, 1)
  expect(result.name).toBe('camera photo 1')
  expect(result.status).toBe('done')
  expect(Number(result.prediction)).toBe(await plaintextPrediction('cifar10-cnn', official))
  // the camera is off once the shot is taken
  await expect(page.getByTestId('camera')).toHaveAttribute('data-status', 'off')
})
