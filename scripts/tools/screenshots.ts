/**
 * npm run screenshots [-- --out-dir docs --port 8383]
 *
 * The product screenshots of the docs (screenshot.png at a desktop width, screenshot-phone.png at
 * a phone's): starts the server on its own port (after `npm run build`, which the npm script
 * runs), opens the page in Debian's Chromium as the e2e suite does (e2e/support/chromium.ts),
 * classifies five MNIST test digits and one file that is not an image, and writes each page
 * once every result has settled. Not part of `npm test`.
 */
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { chromium, type Browser } from '@playwright/test'
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../e2e/support/chromium'
import { writeDigits, writeNotAnImage } from '../../src/datasets/fixtures/digits'
import { helpIfAsked } from '../help'
import { startServer } from '../server-process'

helpIfAsked(import.meta.url)
const { values: args } = parseArgs({
  options: {
    'out-dir': { type: 'string', default: 'docs' },
    port: { type: 'string', default: '8383' },
  },
})

const SHOTS = [
  { file: 'screenshot.png', viewport: { width: 1366, height: 1000 } },
  { file: 'screenshot-phone.png', viewport: { width: 390, height: 844 } },
]
const DIGITS = 5
const port = Number(args.port)
const base = `http://127.0.0.1:${port}`
const command = process.env.E2E_SERVER_CMD ?? 'node --import tsx server/main.ts'

async function waitReady(deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${base}/readyz?all=true`)).ok) return
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250))
  }
  throw new Error('server did not become ready')
}

async function shoot(browser: Browser, file: string, viewport: { width: number; height: number }): Promise<void> {
  const context = await browser.newContext({ viewport })
  try {
    const page = await context.newPage()
    await page.goto(base)
    await page.locator('[data-testid="session"][data-status="ready"]').waitFor({ timeout: 120_000 })
    const { dir, files } = writeDigits(DIGITS, 20)
    await page.locator('input[type=file]').setInputFiles([...files.map((f) => f.path), writeNotAnImage(dir)])
    const expected = DIGITS + 1
    const results = '[data-testid="result"]'
    const pending = `${results}:not([data-status="done"]):not([data-status="error"]):not([data-status="cancelled"])`
    // locators, not page functions: the page's CSP allows no evaluated strings
    await page.locator(results).nth(expected - 1).waitFor({ timeout: 60_000 })
    await page.locator(pending).first().waitFor({ state: 'detached', timeout: 600_000 })
    const path = join(args['out-dir']!, file)
    await page.screenshot({ path, fullPage: true })
    console.log(`wrote ${path} (${viewport.width}x${viewport.height})`)
  } finally {
    await context.close()
  }
}

const { stopServer } = startServer(command, port)
try {
  await waitReady(Date.now() + 300_000)
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS })
  try {
    for (const { file, viewport } of SHOTS) await shoot(browser, file, viewport)
  } finally {
    await browser.close()
  }
} finally {
  stopServer()
}
