/**
 * How long Chromium takes to upload a key-sized body from a Web Worker with XMLHttpRequest,
 * as an ArrayBuffer and as a Blob, with and without DevTools watching, and whether a busy
 * worker thread holds the upload back. Why workers/he/http.ts sends a Blob, and why the
 * browser benchmark reads its times in the page (bench-e2e.ts).
 *
 *   npm run bench:upload -- [--mb 38] [--runs 3]
 *
 * "plain": Debian's Chromium started headless on its own, as a user's browser runs (no
 * DevTools protocol client); the page reports its own times to this script's server.
 * "playwright": the same page driven by Playwright (which follows every request, as the
 * e2e suite and bench:e2e do). "busy": the worker spins for 2 s right after send(), as
 * building a SEAL context would.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { chromium } from '@playwright/test'
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../e2e/support/chromium'
import { helpIfAsked } from '../help'
helpIfAsked(import.meta.url)

const { values: args } = parseArgs({ options: { mb: { type: 'string', default: '38' }, runs: { type: 'string', default: '3' } } })
const bytes = Math.round(Number(args.mb) * 1e6)
const runs = Number(args.runs)

// the worker: one upload per message, its time from send() to the response
const WORKER = `
onmessage = ({ data: { url, mode, busyMs, bytes } }) => {
  const body = new Uint8Array(bytes)
  for (let i = 0; i < bytes; i += 4096) body[i] = i & 255
  const xhr = new XMLHttpRequest()
  xhr.open('POST', url)
  const t0 = performance.now()
  xhr.onload = () => postMessage({ ms: performance.now() - t0, received: Number(xhr.responseText) })
  xhr.onerror = () => postMessage({ error: 'network error' })
  xhr.send(mode === 'blob' ? new Blob([body]) : body)
  const end = performance.now() + busyMs
  while (performance.now() < end) {}
}`
const CASES = [
  { mode: 'buffer', busyMs: 0 },
  { mode: 'blob', busyMs: 0 },
  { mode: 'buffer', busyMs: 2000 },
  { mode: 'blob', busyMs: 2000 },
]
const page = (origin: string, report: boolean) => `<!doctype html><script>
window.runCases = async () => {
  const out = []
  const src = URL.createObjectURL(new Blob([${JSON.stringify(WORKER)}]))
  for (let r = 0; r < ${runs}; r++) for (const c of ${JSON.stringify(CASES)}) {
    const w = new Worker(src)
    const res = await new Promise((resolve) => { w.onmessage = (e) => resolve(e.data); w.postMessage({ ...c, url: '${origin}/upload', bytes: ${bytes} }) })
    w.terminate()
    out.push({ ...c, ...res })
  }
  ${report ? `await fetch('/report', { method: 'PUT', body: JSON.stringify(out) })` : ''}
  return out
}
${report ? 'runCases()' : ''}
</script>`

type Row = { mode: string; busyMs: number; ms?: number; received?: number; error?: string }
let reported: (rows: Row[]) => void = () => undefined
const server = createServer((req, res) => {
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  if (req.method === 'GET') {
    res.setHeader('content-type', 'text/html')
    return res.end(page(origin, req.url === '/plain'))
  }
  const chunks: Buffer[] = []
  let received = 0
  req.on('data', (c: Buffer) => {
    received += c.length
    if (req.url === '/report') chunks.push(c)
  })
  req.on('end', () => {
    res.end(String(received))
    if (req.url === '/report') reported(JSON.parse(Buffer.concat(chunks).toString()) as Row[])
  })
})
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

function summarise(label: string, rows: Row[]) {
  for (const c of CASES) {
    const mine = rows.filter((r) => r.mode === c.mode && r.busyMs === c.busyMs)
    const bad = mine.filter((r) => r.error || r.received !== bytes)
    if (bad.length) throw new Error(`${label} ${c.mode}: ${JSON.stringify(bad)}`)
    console.log(`${label.padEnd(10)} ${c.mode.padEnd(6)} busy ${String(c.busyMs).padStart(4)} ms: ${mine.map((r) => Math.round(r.ms!)).join(', ')} ms`)
  }
}

const profile = mkdtempSync(join(tmpdir(), 'measure-upload-'))
try {
  // plain Chromium: no DevTools client at all
  const plain = new Promise<Row[]>((resolve) => (reported = resolve))
  const browser = spawn(CHROMIUM_PATH, [...CHROMIUM_ARGS, '--headless', `--user-data-dir=${profile}`, `${origin}/plain`], { stdio: 'ignore' })
  try {
    summarise('plain', await plain)
  } finally {
    browser.kill()
  }
  const pw = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS })
  try {
    const p = await pw.newPage()
    await p.goto(`${origin}/playwright`)
    summarise('playwright', (await p.evaluate('runCases()')) as Row[])
  } finally {
    await pw.close()
  }
} finally {
  server.close()
  rmSync(profile, { recursive: true, force: true })
}
console.log(`${(bytes / 1e6).toFixed(1)} MB per upload, ${new Date().toISOString()}`)
