/**
 * The OpenAPI document the server generates from its route schemas, on the app built with the
 * shipped models: it is valid OpenAPI 3.1 (checked against the specification's own JSON schema,
 * vendored in fixtures/), every route Fastify registered is in it with its request and response
 * schemas, each shared schema is one component, and what GET /models answers is exactly what
 * the code built (the serialiser drops nothing) and validates against the document.
 */
import { readFileSync } from 'node:fs'
import type { FastifyInstance } from 'fastify'
import { Ajv2020 } from 'ajv/dist/2020.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BINARY, paths, type ModelsResponse } from '../../src/api/wire'
import { publicModel } from '../../src/he/public-model'
import { buildApp } from '../app'
import { loadModels } from '../../src/datasets/model-files'
import { sharedSchemas } from './api-description'

type Operation = {
  parameters?: Array<{ name: string; in: string; required?: boolean; schema?: object }>
  requestBody?: { required?: boolean; content: Record<string, { schema: { type?: string; format?: string } }> }
  responses: Record<string, { description: string; content?: Record<string, { schema: { $ref?: string } }> }>
}
type Document = { openapi: string; info: object; paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, object> } }

let app: FastifyInstance
let doc: Document

beforeAll(async () => {
  app = await buildApp({ models: await loadModels(), poolSize: 1, rateLimitMax: 0 })
  const r = await app.inject({ method: 'GET', url: paths.openapi })
  expect(r.statusCode).toBe(200)
  doc = r.json() as Document
})
afterAll(async () => {
  await app?.close()
})

/** Every (method, path) Fastify registered, from printRoutes' tree; HEAD is Fastify's copy of each GET. */
function registeredRoutes(tree: string): Array<{ method: string; path: string }> {
  const routes: Array<{ method: string; path: string }> = []
  const stack: string[] = []
  for (const line of tree.split('\n')) {
    const m = /^([│ ]*)[├└]── (\S+)(?: \(([A-Z, ]+)\))?/.exec(line)
    if (!m) continue
    const depth = m[1].length / 4
    stack.length = depth
    const path = (depth > 0 ? stack[depth - 1] : '') + m[2]
    stack.push(path)
    for (const method of (m[3] ?? '').split(', ').filter((x) => x && x !== 'HEAD')) routes.push({ method, path })
  }
  return routes
}

/**
 * The specification's schema of an OpenAPI 3.1 document. Its `$dynamicRef: "#meta"` lets a
 * stricter dialect schema extend it; alone it means `$defs/schema` (an object or a boolean),
 * which is written as a plain $ref here because Ajv resolves this $dynamicRef to the root.
 */
function openapiValidator() {
  const text = readFileSync(new URL('./fixtures/openapi-3.1.schema.json', import.meta.url), 'utf8')
  const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true })
  return ajv.compile(JSON.parse(text.replaceAll('"$dynamicRef": "#meta"', '"$ref": "#/$defs/schema"')) as object)
}

describe('the generated OpenAPI document', () => {
  it('is valid OpenAPI 3.1', () => {
    expect(doc.openapi).toBe('3.1.0')
    const validate = openapiValidator()
    expect(validate(doc), JSON.stringify(validate.errors?.slice(0, 5))).toBe(true)
    // and the check is not vacuous
    expect(validate({ ...doc, info: undefined })).toBe(false)
    expect(validate({ ...doc, paths: { ...doc.paths, [paths.models]: { fetch: {} } } })).toBe(false)
  })

  it('has every registered route, with its request and response schemas', () => {
    const routes = registeredRoutes(app.printRoutes({ commonPrefix: false }))
    // the API, the probes and the metrics at least
    for (const p of [paths.models, paths.sessions, paths.openapi, paths.health, paths.ready, '/metrics']) expect(routes.map((r) => r.path)).toContain(p)
    expect(routes.length).toBeGreaterThanOrEqual(10)
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`))
    expect(documented.sort()).toEqual(routes.map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, '{$1}')}`).sort())

    for (const { method, path } of routes) {
      const op = doc.paths[path.replace(/:(\w+)/g, '{$1}')][method.toLowerCase()]
      const where = `${method} ${path}`
      // request: every path parameter, with a schema; a body exactly where the route reads one, as binary
      for (const name of [...path.matchAll(/:(\w+)/g)].map((m) => m[1])) {
        const param = op.parameters?.find((p) => p.in === 'path' && p.name === name)
        expect(param?.schema, `${where}: path parameter ${name}`).toBeDefined()
        expect(param?.required).toBe(true)
      }
      if (method === 'POST') {
        expect(op.requestBody?.required, where).toBe(true)
        expect(op.requestBody?.content[BINARY].schema, where).toMatchObject({ type: 'string', format: 'binary' })
      } else {
        expect(op.requestBody, where).toBeUndefined()
      }
      // responses: a success with its body's schema (none for 204), and the errors as ApiError
      const statuses = Object.keys(op.responses)
      const success = statuses.filter((s) => s.startsWith('2'))
      expect(success.length, where).toBeGreaterThan(0)
      for (const s of success) {
        const r = op.responses[s]
        expect(r.description, `${where} ${s}`).toBeTruthy()
        if (s === '204') expect(r.content).toBeUndefined()
        else expect(Object.values(r.content ?? {}).length, `${where} ${s}`).toBeGreaterThan(0)
      }
      const errors = statuses.filter((s) => /^[45]/.test(s))
      expect(errors, where).toContain('413') // a body where the route takes none, or too large
      for (const s of errors.filter((s) => !(path === paths.ready && s === '503'))) {
        expect(op.responses[s].content?.['application/json'].schema.$ref, `${where} ${s}`).toBe('#/components/schemas/ApiError')
      }
    }
    // the query and header parameters the routes read
    const create = doc.paths[paths.sessions].post.parameters ?? []
    expect(create.find((p) => p.name === 'model')).toMatchObject({ in: 'query', required: true })
    const classify = doc.paths[`${paths.sessions}/{id}/classify`].post.parameters ?? []
    expect(classify.find((p) => p.name === 'x-blindfold-request-id')).toMatchObject({ in: 'header', required: false })
    // the routes that reach an evaluation declare distributed mode's refusal of what Redis changed
    for (const op of [doc.paths[paths.sessions].post, doc.paths[`${paths.sessions}/{id}/classify`].post]) {
      expect(op.responses['502'].description).toContain('integrity_failed')
    }
  })

  it('holds each shared schema once, as a named component', () => {
    expect(Object.keys(doc.components.schemas).sort()).toEqual(sharedSchemas.map((s) => s.$id).sort())
    const text = JSON.stringify(doc)
    expect(text).not.toMatch(/def-\d/)
    for (const ref of text.matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)) expect(doc.components.schemas[ref[1]], ref[1]).toBeDefined()
  })
})

describe('GET /models against the document', () => {
  it('answers exactly what the code built, valid against ModelsResponse', async () => {
    const body = (await app.inject({ method: 'GET', url: paths.models })).json() as ModelsResponse
    // the serialiser keeps every field: a field the schema lacks would vanish here
    const built = [...app.blindfold.models.values()].map((m) => ({
      ...publicModel(m.manifest),
      cost: app.blindfold.costs.cost(m.manifest.name),
      limits: { evaluationKeyBytes: m.limits.keys, requestBytes: m.limits.request },
    }))
    // readiness moves while the workers build the models: only its type is fixed here
    expect(body.models).toEqual(JSON.parse(JSON.stringify(built)).map((m: object) => ({ ...m, ready: expect.any(Boolean) })))
    expect(body.models.map((m) => m.name).sort()).toEqual(['cifar10-cnn', 'fashion-cnn', 'mnist-cnn'])

    const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true })
    ajv.addSchema(doc, 'api')
    const validate = ajv.getSchema('api#/components/schemas/ModelsResponse')!
    expect(validate(body), JSON.stringify(validate.errors)).toBe(true)
    const broken = structuredClone(body) as unknown as { models: Array<{ client: { normalisation: Record<string, unknown> } }> }
    delete broken.models[0].client.normalisation.mean
    expect(validate(broken)).toBe(false)
  })
})

describe('schema refusals keep the API error format', () => {
  it('a missing model parameter -> 400 bad_request', async () => {
    const r = await app.inject({ method: 'POST', url: paths.sessions, headers: { 'content-type': BINARY }, payload: Buffer.from('x') })
    expect(r.statusCode).toBe(400)
    expect(r.json()).toEqual({ error: { code: 'bad_request', message: expect.stringContaining('model') } })
  })

  it('a malformed request id in a job path -> 400 bad_request', async () => {
    const r = await app.inject({ method: 'GET', url: paths.job('some-session', 'short') })
    expect(r.statusCode).toBe(400)
    expect(r.json().error.code).toBe('bad_request')
  })
})
