/**
 * Starts the API server as a child process for the scripts that drive a browser against it
 * (bench:e2e, screenshots, audit:lighthouse), and stops it with everything it started.
 */
import { spawn } from 'node:child_process'
import { createServer } from 'node:net'

export function startServer(command: string, port: number): { stopServer: () => void } {
  // its own process group, so that stopping it stops the node under the shell too
  const server = spawn(command, {
    shell: true,
    detached: true,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  const stopServer = () => {
    try {
      if (server.pid) process.kill(-server.pid, 'SIGTERM')
    } catch {
      // already gone
    }
  }
  return { stopServer }
}

/** Polls GET `path` (/readyz by default) until it answers 200; throws when `timeoutMs` passes first. */
export async function waitReady(base: string, timeoutMs: number, path = '/readyz'): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${base}${path}`)).ok) return
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250))
  }
  throw new Error('server did not become ready')
}

/** A loopback port that nothing listens on at the time of asking. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address()
      const port = typeof address === 'object' && address ? address.port : 0
      probe.close(() => resolve(port))
    })
  })
}
