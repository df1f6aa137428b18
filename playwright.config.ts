import { defineConfig, devices } from '@playwright/test'
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './e2e/support/chromium'

const port = Number(process.env.E2E_PORT ?? 8181)
// The real API by default; E2E_SERVER_CMD can point at another server command
const command = process.env.E2E_SERVER_CMD ?? 'node --import tsx server/main.ts'

export default defineConfig({
  testDir: 'e2e',
  // keygen + a ~5 MB key upload + SEAL on 2 shared cores: seconds, not milliseconds
  timeout: 240_000,
  expect: { timeout: 60_000 },
  workers: 1,
  fullyParallel: false,
  retries: process.env.CI ? 1 : 0,
  reporter: process.env.CI ? [['list'], ['html', { open: 'never' }]] : 'list',
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    trace: 'on-first-retry',
    ...devices['Desktop Chrome'],
    launchOptions: { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS },
  },
  webServer: {
    command,
    // all=true: every model is served (plain /readyz is 200 from the first, smallest model on)
    url: `http://127.0.0.1:${port}/readyz?all=true`,
    env: { PORT: String(port), HOST: '127.0.0.1' },
    reuseExistingServer: !process.env.CI,
    timeout: 300_000,
    stdout: 'ignore',
    stderr: 'pipe',
  },
})
