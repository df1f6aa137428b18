/**
 * Everything the page and its worker send, not only what goes to the API:
 * every request stays on the page's origin, only the evaluation keys and
 * ciphertexts carry a body, and no body or URL carries the image, the model
 * input or the decrypted answer (binary or text). Decrypted results never go
 * back to the server.
 */
import { readFileSync } from 'node:fs'
import { expect, test } from '@playwright/test'
import { writeDigits } from '../src/datasets/fixtures/digits'
import { fileNeedles, findLeaks, inputNeedles, probabilityNeedles } from './support/needles'
import { digitsNormalisation, openReady, settledResults, type Captured } from './support/page'
import { paths } from '../src/api/wire'

const COUNT = 3

test('only keys and ciphertexts leave the page, to its own origin; no decrypted result is ever sent', async ({ page, context }) => {
  const all: Captured[] = []
  await context.route('**/*', async (route) => {
    const r = route.request()
    all.push({ method: r.method(), url: r.url(), body: r.postDataBuffer() ?? Buffer.alloc(0) })
    await route.continue()
  })
  await openReady(page)
  const { files } = writeDigits(COUNT, 100)
  await page.locator('input[type=file]').setInputFiles(files.map((f) => f.path))
  const results = await settledResults(page, COUNT)
  expect(results.every((r) => r.status === 'done')).toBe(true)

  const origin = new URL(page.url()).origin
  expect(all.filter((c) => new URL(c.url).origin !== origin).map((c) => c.url)).toEqual([])
  // a job's id is the random request id the page chose for an image (the progress polls name it)
  const route = (c: Captured) => `${c.method} ${new URL(c.url).pathname.replace(/sessions\/[^/]+/, 'sessions/:id').replace(/jobs\/[^/]+/, 'jobs/:job').replace(/models\/[^/]+\/samples(\/[^/]+)?$/, (_, file) => `models/:name/samples${file ? '/:file' : ''}`)}`
  const allowed = new Set([
    'GET /',
    'GET /build-manifest.json',
    `GET ${paths.models}`,
    `GET ${paths.ready}`,
    // the example gallery: the list and the sample images (public files of the server)
    `GET ${paths.models}/:name/samples`,
    `GET ${paths.models}/:name/samples/:file`,
    `POST ${paths.sessions}`,
    `POST ${paths.sessions}/:id/classify`,
    `DELETE ${paths.sessions}/:id`,
    `GET ${paths.sessions}/:id/jobs/:job`,
    `DELETE ${paths.sessions}/:id/jobs/:job`,
  ])
  expect(all.map(route).filter((r) => !allowed.has(r) && !/^GET \/assets\/[\w.-]+$/.test(r))).toEqual([])
  const withBody = all.filter((c) => c.body.length > 0)
  expect(new Set(withBody.map(route))).toEqual(new Set([`POST ${paths.sessions}`, `POST ${paths.sessions}/:id/classify`]))
  expect(withBody.filter((c) => c.url.endsWith('/classify'))).toHaveLength(COUNT)

  const { mean, std } = await digitsNormalisation(page)
  const needles = results.flatMap((r, i) => [
    ...fileNeedles(readFileSync(files[i].path), `#${files[i].index}`),
    ...(r.frame ? inputNeedles(r.frame, mean, std, `#${files[i].index}`) : []),
    ...(r.probabilities ? probabilityNeedles(r.probabilities, `#${files[i].index}`) : []),
  ])
  expect(needles.filter((n) => n.what.includes('probabilities as JSON'))).toHaveLength(COUNT)
  const haystacks = [...all.map((c) => c.body), ...all.map((c) => Buffer.from(c.url))]
  expect(findLeaks(haystacks, needles)).toEqual([])
})
