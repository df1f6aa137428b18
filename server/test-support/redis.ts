/**
 * A real redis-server (Debian's package) for the distributed-mode tests: one per test file, on a
 * free loopback port, with persistence off (`--save '' --appendonly no`, no dump file: evaluation
 * keys never reach disk), stopped after. No mock stands in for Redis.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { reap } from './reaper'

export interface TestRedis {
  readonly port: number
  readonly url: string
  /** SIGKILLs the server and starts a fresh, empty one on the same port (fault tests) */
  restart(): Promise<void>
  /** kills the server (SIGKILL: nothing to flush) without starting it again */
  kill(): Promise<void>
  /** starts it again after kill() */
  start(): Promise<void>
  stop(): Promise<void>
}

/** A port the kernel says is free now (bound on loopback, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })
}

/** One RESP PING over a raw socket: true on +PONG (no client library involved in the harness). */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1')
    let got = ''
    const done = (ok: boolean) => {
      sock.destroy()
      resolve(ok)
    }
    sock.setTimeout(500, () => done(false))
    sock.once('error', () => done(false))
    sock.on('connect', () => sock.write('PING\r\n'))
    sock.on('data', (d) => {
      got += d.toString()
      if (got.includes('\r\n')) done(got.startsWith('+PONG'))
    })
  })
}

export async function startRedis(): Promise<TestRedis> {
  const port = await freePort()
  // its working directory is a fresh temp dir, removed at stop: were anything written, it goes with it
  const dir = mkdtempSync(join(tmpdir(), 'blindfold-redis-'))
  let child: ChildProcess | undefined

  async function start(): Promise<void> {
    // SIGKILLed with this process however it ends (reaper.ts)
    const p = reap(spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--protected-mode', 'yes', '--loglevel', 'warning'],
      { stdio: ['ignore', 'ignore', 'pipe'], detached: false },
    ))
    child = p
    let stderr = ''
    p.stderr!.on('data', (d) => (stderr += d.toString()))
    const end = Date.now() + 10_000
    while (!(await ping(port))) {
      if (p.exitCode !== null) throw new Error(`redis-server exited (${p.exitCode}): ${stderr.slice(0, 500)}`)
      if (Date.now() > end) throw new Error('redis-server did not answer PING within 10 s')
      await new Promise((r) => setTimeout(r, 25))
    }
  }

  async function kill(): Promise<void> {
    const p = child
    child = undefined
    if (!p || p.exitCode !== null) return
    const exited = new Promise((r) => p.once('exit', r))
    p.kill('SIGKILL')
    await exited
  }

  await start()
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    start,
    kill,
    async restart() {
      await kill()
      await start()
    },
    async stop() {
      await kill()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
