/**
 * verify-deployment against the real Fastify app serving a small built site
 * on loopback: the release as built passes; a served copy with one byte
 * changed, or with an extra script, fails naming the file.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../server/app'
import { randomModel } from '../../server/test-support/models'
import { buildHashOf, computeManifest, MANIFEST_FILE, sha256Hex, writeManifest } from './build-manifest'
import { htmlReferences, scriptReferences, verifyDeployment } from './verify-deployment'

const WORKER = 'assets/he.worker-Ab12.js'
const WASM = 'assets/seal_throws-Cd34.wasm'

/** A dist/ shaped like Vite's: index.html -> entry script -> worker -> wasm, plus CSS and an image. */
function fakeDist(): string {
  const dir = mkdtempSync(join(tmpdir(), 'blindfold-dist-'))
  mkdirSync(join(dir, 'assets'))
  writeFileSync(
    join(dir, 'index.html'),
    `<!doctype html><html><head><title>Blindfold</title>
    <script type="module" crossorigin src="/assets/index-Ef56.js"></script>
    <link rel="stylesheet" crossorigin href="/assets/index-Gh78.css"></head>
    <body><div id="root"></div><noscript>needs JavaScript</noscript></body></html>\n`,
  )
  writeFileSync(join(dir, 'assets/index-Ef56.js'), `const w=new Worker(new URL("/${WORKER}",import.meta.url),{type:"module"});console.log(w)\n`)
  writeFileSync(join(dir, WORKER), `const wasm="/${WASM}";fetch(wasm).then(r=>r.arrayBuffer())\n`)
  writeFileSync(join(dir, WASM), Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 131 + 7) & 255)))
  writeFileSync(join(dir, 'assets/index-Gh78.css'), 'body{margin:0}\n')
  writeFileSync(join(dir, 'assets/logo-Ij90.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>\n')
  return dir
}

/** The real server app (one worker thread, a small random model) serving `staticDir` on 127.0.0.1. */
async function serve(staticDir: string): Promise<{ app: FastifyInstance; url: string }> {
  const m = await randomModel('random-cnn', 8, 1)
  const app = await buildApp({ models: new Map([[m.manifest.name, m]]), poolSize: 1, rateLimitMax: 0, staticDir })
  await app.listen({ port: 0, host: '127.0.0.1' })
  return { app, url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/` }
}

const dirs: string[] = []
const apps: FastifyInstance[] = []
let release: string

beforeAll(async () => {
  release = fakeDist()
  dirs.push(release)
  await writeManifest(release)
})

afterAll(async () => {
  for (const app of apps) await app.close()
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

/** A served copy of the release with `change` applied (the manifest copied as is). */
function tampered(change: (dir: string) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'blindfold-served-'))
  dirs.push(dir)
  cpSync(release, dir, { recursive: true })
  change(dir)
  return dir
}

describe('build manifest', () => {
  it('hashes every file but itself, and buildHash is the SHA-256 of the sorted "path sha256" lines', async () => {
    const m = await computeManifest(release)
    expect(Object.keys(m.files)).toEqual(['assets/he.worker-Ab12.js', 'assets/index-Ef56.js', 'assets/index-Gh78.css', 'assets/logo-Ij90.svg', 'assets/seal_throws-Cd34.wasm', 'index.html'])
    expect(m.files[WASM]).toBe(sha256Hex(readFileSync(join(release, WASM))))
    const lines = Object.entries(m.files).map(([p, h]) => `${p} ${h}\n`).join('')
    expect(m.buildHash).toBe(sha256Hex(lines))
    expect(buildHashOf(m.files)).toBe(m.buildHash)
    expect(JSON.parse(readFileSync(join(release, MANIFEST_FILE), 'utf8'))).toEqual(m)
  })

  it('finds the URLs a page and its scripts load', () => {
    const { urls, inlineScripts } = htmlReferences(readFileSync(join(release, 'index.html'), 'utf8') + '<script>fetch("/x")</script>')
    expect(urls).toEqual(['/assets/index-Ef56.js', '/assets/index-Gh78.css'])
    expect(inlineScripts).toBe(1)
    expect(scriptReferences(readFileSync(join(release, 'assets/index-Ef56.js'), 'utf8'))).toEqual([WORKER])
  })
})

describe('verify:deployment against the Fastify app on loopback', () => {
  it('passes when the server serves the release', async () => {
    const { app, url } = await serve(release)
    apps.push(app)
    const v = await verifyDeployment(url, release)
    expect(v.problems).toEqual([])
    expect(v.ok).toBe(true)
    // index.html twice (/ and /index.html) and the five assets
    expect(v.checked).toBe(7)
  })

  it('fails naming the file when one served byte differs (the served manifest still claims the release hash)', async () => {
    const served = tampered((dir) => {
      const wasm = readFileSync(join(dir, WASM))
      wasm[100] ^= 1
      writeFileSync(join(dir, WASM), wasm)
    })
    const { app, url } = await serve(served)
    apps.push(app)
    const v = await verifyDeployment(url, release)
    expect(v.ok).toBe(false)
    expect(v.problems).toHaveLength(1)
    expect(v.problems[0]).toMatch(new RegExp(`^${WASM.replace(/[.]/g, '\\.')}: served content differs`))
  })

  it('fails on a changed worker, an extra script, and a served manifest that reports another hash', async () => {
    const served = tampered((dir) => {
      writeFileSync(join(dir, WORKER), readFileSync(join(dir, WORKER), 'utf8').replace('arrayBuffer', 'arrayBuffer).then(()=>fetch("/assets/exfil-Zz.js")'))
      writeFileSync(join(dir, 'assets/exfil-Zz.js'), 'navigator.sendBeacon("/collect", "image")\n')
      writeFileSync(join(dir, 'index.html'), readFileSync(join(dir, 'index.html'), 'utf8').replace('</head>', '<script src="/assets/exfil-Zz.js"></script><script>1</script></head>'))
      const m = JSON.parse(readFileSync(join(dir, MANIFEST_FILE), 'utf8'))
      writeFileSync(join(dir, MANIFEST_FILE), JSON.stringify({ ...m, buildHash: '0'.repeat(64) }))
    })
    const { app, url } = await serve(served)
    apps.push(app)
    const v = await verifyDeployment(url, release)
    expect(v.ok).toBe(false)
    const text = v.problems.join('\n')
    expect(text).toContain('index.html: served content differs')
    expect(text).toContain(`${WORKER}: served content differs`)
    expect(text).toContain('index.html: loads /assets/exfil-Zz.js, which is not in the release')
    expect(text).toContain(`${WORKER}: loads /assets/exfil-Zz.js, which is not in the release`)
    expect(text).toContain('index.html: 1 inline script(s)')
    expect(text).toContain(`${MANIFEST_FILE}: the server reports buildHash ${'0'.repeat(64)}`)
  })

  it('fails when the local dist no longer matches its manifest', async () => {
    const stale = tampered((dir) => writeFileSync(join(dir, 'assets/index-Gh78.css'), 'body{margin:1px}\n'))
    const { app, url } = await serve(release)
    apps.push(app)
    const v = await verifyDeployment(url, stale)
    expect(v.ok).toBe(false)
    expect(v.problems.join('\n')).toContain('does not match the files in')
  })
})
