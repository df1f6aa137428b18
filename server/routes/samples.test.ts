/**
 * The sample images route: listing, serving with cache headers, and refusing every name that is
 * not a listed sample (dot segments, encoded slashes, other files of the model folder).
 */
import { createHash } from 'node:crypto'
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { PNG } from 'pngjs'
import { samplePaths, SAMPLE_FILE_PATTERN, type SampleList } from '../../src/api/samples'
import { paths, type ModelsResponse } from '../../src/api/wire'
import { MODELS_DIR } from '../../src/datasets/model-files'
import { errorCode, startApp } from '../test-support/harness'
import { readSamples } from './sample-catalog'

let app: FastifyInstance
let names: string[]

beforeAll(async () => {
  ;({ app } = await startApp())
  names = [...app.blindfold.models.keys()]
})
afterAll(async () => {
  await app?.close()
})

const list = async (name: string) => {
  const r = await app.inject({ method: 'GET', url: samplePaths.list(name) })
  expect(r.statusCode).toBe(200)
  return r.json() as SampleList
}

describe('GET /api/v1/models/{name}/samples', () => {
  it('lists a dozen labelled test images of every shipped model, with the data set and its licence', async () => {
    for (const name of names.filter((n) => ['mnist-cnn', 'fashion-cnn'].includes(n))) {
      const samples = await list(name)
      expect(samples.model).toBe(name)
      expect(samples.samples.length).toBeGreaterThanOrEqual(10)
      expect(samples.license).not.toBe('')
      expect(samples.source).not.toBe('')
      const classes = app.blindfold.models.get(name)!.manifest.classes.length
      expect(new Set(samples.samples.map((s) => s.label)).size).toBe(classes)
      for (const s of samples.samples) {
        expect(s.file).toMatch(SAMPLE_FILE_PATTERN)
        expect(s.url).toBe(samplePaths.file(name, s.file))
      }
    }
  })

  it('names the data sets and licences of the shipped samples', async () => {
    if (names.includes('mnist-cnn')) expect((await list('mnist-cnn')).license).toContain('CC BY-SA 3.0')
    if (names.includes('fashion-cnn')) expect((await list('fashion-cnn')).license).toContain('MIT')
  })

  it('answers 404 unknown_model for a model it does not serve', async () => {
    const r = await app.inject({ method: 'GET', url: samplePaths.list('no-such-model') })
    expect(r.statusCode).toBe(404)
    expect(errorCode(r)).toBe('unknown_model')
  })

  it('leaves the model list and its content hashes as they are', async () => {
    const models = (await app.inject({ method: 'GET', url: paths.models })).json() as ModelsResponse
    for (const m of models.models) {
      const stored = JSON.parse(readFileSync(join(MODELS_DIR, m.name, 'manifest.json'), 'utf8')) as { contentHash: string }
      expect(m.contentHash).toBe(stored.contentHash)
    }
  })
})

describe('GET /api/v1/models/{name}/samples/{file}', () => {
  it('serves each listed sample as a PNG whose hash its name holds, cacheable for good', async () => {
    const name = names[0]
    for (const s of (await list(name)).samples) {
      const r = await app.inject({ method: 'GET', url: s.url })
      expect(r.statusCode).toBe(200)
      expect(r.headers['content-type']).toBe('image/png')
      expect(r.headers['cache-control']).toBe('public, max-age=31536000, immutable')
      const digest = createHash('sha256').update(r.rawPayload).digest('hex')
      expect(r.headers.etag).toBe(`"${digest}"`)
      expect(s.file.endsWith(`-${digest.slice(0, 12)}.png`)).toBe(true)
      const png = PNG.sync.read(r.rawPayload)
      const input = app.blindfold.models.get(name)!.manifest.input
      expect([png.width, png.height]).toEqual([input.width, input.height])
      const again = await app.inject({ method: 'GET', url: s.url, headers: { 'if-none-match': r.headers.etag as string } })
      expect(again.statusCode).toBe(304)
      expect(again.rawPayload.length).toBe(0)
    }
  })

  it('refuses names that are not sample file names with 400, and never answers another file', async () => {
    const base = `/api/v1/models/${names[0]}/samples/`
    for (const file of ['..%2fmanifest.json', '..%2f..%2f' + names[0] + '%2fweights.bin', '%2e%2e%2fmanifest.json', '..%5cmanifest.json', 'index.json', 'README.md', '0-1e0fdbfc7dfa.png%00.json', '.png']) {
      const r = await app.inject({ method: 'GET', url: base + file })
      expect(r.statusCode, file).toBe(400)
      expect(errorCode(r), file).toBe('bad_request')
    }
  })

  it('answers 404 for dot segments in the path and for well-formed names it does not list', async () => {
    for (const url of [`/api/v1/models/${names[0]}/samples/../manifest.json`, `/api/v1/models/${names[0]}/samples/0-000000000000.png`, `/api/v1/models/${names[0]}/../../package.json`]) {
      const r = await app.inject({ method: 'GET', url })
      expect(r.statusCode, url).toBe(404)
      expect(r.headers['content-type']).toContain('application/json')
    }
    const r = await app.inject({ method: 'GET', url: samplePaths.file('no-such-model', '0-000000000000.png') })
    expect(errorCode(r)).toBe('unknown_model')
  })

  it('is described in the OpenAPI document', async () => {
    const doc = (await app.inject({ method: 'GET', url: paths.openapi })).json() as { paths: Record<string, unknown>; components: { schemas: Record<string, unknown> } }
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/v1/models/{name}/samples', '/api/v1/models/{name}/samples/{file}']))
    expect(doc.components.schemas.SampleList).toBeDefined()
  })
})

describe('reading a samples folder', () => {
  const png = () => {
    const p = new PNG({ width: 2, height: 2 })
    p.data.fill(255)
    return PNG.sync.write(p)
  }
  const folder = (samples: Array<{ file: string; label: number }>, bytes = png()) => {
    const dir = mkdtempSync(join(tmpdir(), 'samples-'))
    mkdirSync(join(dir, 'samples'))
    for (const s of samples) writeFileSync(join(dir, 'samples', s.file), bytes)
    writeFileSync(join(dir, 'samples', 'index.json'), JSON.stringify({ dataset: 'd', source: 's', license: 'l', samples }))
    return dir
  }
  const hashed = (slug: string) => `${slug}-${createHash('sha256').update(png()).digest('hex').slice(0, 12)}.png`

  it('reads a good folder, and none as an empty list', () => {
    expect(readSamples(folder([{ file: hashed('cat'), label: 3 }]), 'm', 10).list.samples).toEqual([{ file: hashed('cat'), url: samplePaths.file('m', hashed('cat')), label: 3 }])
    expect(readSamples(mkdtempSync(join(tmpdir(), 'none-')), 'm', 10).list.samples).toEqual([])
  })
  it('refuses a file whose name does not hold its hash, a bad name, or a label the model lacks', () => {
    expect(() => readSamples(folder([{ file: 'cat-000000000000.png', label: 3 }]), 'm', 10)).toThrow(/content hash/)
    expect(() => readSamples(folder([{ file: '../cat.png', label: 3 }]), 'm', 10)).toThrow(/bad file name/)
    expect(() => readSamples(folder([{ file: hashed('cat'), label: 10 }]), 'm', 10)).toThrow(/label 10/)
  })
})
