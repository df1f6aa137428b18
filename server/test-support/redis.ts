/**
 * A real redis-server (Debian's package) for the distributed-mode tests: one per test file, on a
 * free loopback port, with persistence off (`--save '' --appendonly no`, no dump file: evaluation
 * keys never reach disk), stopped after. No mock stands in for Redis.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, connect, type Socket } from 'node:net'
import { connect as connectTls } from 'node:tls'
import type { TestCertificates } from './tls'
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

const resp = (...args: string[]) => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`

/**
 * The process id of the redis-server answering on `port` (INFO server over a raw socket, after
 * AUTH when a password is set; no client library involved in the harness): undefined while
 * nothing answers, -1 for a server that refuses the password. Telling the server apart by its pid
 * matters: a port found free may be taken by another test file's Redis before this one binds it.
 */
function serverPid(port: number, tls: boolean, password: string | undefined): Promise<number | undefined> {
  return new Promise((resolve) => {
    // the harness only asks who answers: it does not check the certificate here
    const sock: Socket = tls ? connectTls({ port, host: '127.0.0.1', rejectUnauthorized: false }) : connect(port, '127.0.0.1')
    let got = ''
    const done = (pid: number | undefined) => {
      sock.destroy()
      resolve(pid)
    }
    sock.setTimeout(500, () => done(undefined))
    sock.once('error', () => done(undefined))
    sock.on(tls ? 'secureConnect' : 'connect', () => sock.write((password ? resp('AUTH', password) : '') + resp('INFO', 'server')))
    sock.on('data', (d) => {
      got += d.toString()
      const pid = /process_id:(\d+)/.exec(got)?.[1]
      if (pid) done(Number(pid))
      else if (/^-(NOAUTH|WRONGPASS)/m.test(got)) done(-1)
    })
  })
}

/**
 * A Redis for one test file. With `password`, the server requires it (`--requirepass`) and
 * `url` carries it (`redis://:password@127.0.0.1:port`). With `tls`, it listens for TLS only,
 * with that certificate, and `url` is `rediss://`.
 */
class PortTaken extends Error {}

export async function startRedis(options: { password?: string; tls?: TestCertificates } = {}): Promise<TestRedis> {
  const { tls } = options
  let port = await freePort()
  const listen = () =>
    tls
      ? ['--port', '0', '--tls-port', String(port), '--tls-cert-file', tls.certFile, '--tls-key-file', tls.keyFile, '--tls-ca-cert-file', tls.caFile, '--tls-auth-clients', 'no']
      : ['--port', String(port)]
  // its working directory is a fresh temp dir, removed at stop: were anything written, it goes with it
  const dir = mkdtempSync(join(tmpdir(), 'blindfold-redis-'))
  let child: ChildProcess | undefined

  async function start(): Promise<void> {
    // SIGKILLed with this process however it ends (reaper.ts)
    const p = reap(spawn(
      'redis-server',
      [...listen(), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--protected-mode', 'yes', '--loglevel', 'warning', ...(options.password ? ['--requirepass', options.password] : [])],
      { stdio: ['ignore', 'ignore', 'pipe'], detached: false },
    ))
    child = p
    let stderr = ''
    p.stderr!.on('data', (d) => (stderr += d.toString()))
    const end = Date.now() + 10_000
    for (;;) {
      const pid = await serverPid(port, tls !== undefined, options.password)
      if (pid === p.pid) return
      if (pid !== undefined) throw new PortTaken(`port ${port} is held by another redis-server`)
      if (p.exitCode !== null) {
        const why = `redis-server exited (${p.exitCode}): ${stderr.slice(0, 500)}`
        throw /in use/i.test(stderr) ? new PortTaken(why) : new Error(why)
      }
      if (Date.now() > end) throw new Error('redis-server did not answer within 10 s')
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

  // a port taken between freePort() and the bind: another port (a restart keeps the first one)
  for (let tries = 1; ; tries++) {
    try {
      await start()
      break
    } catch (e) {
      await kill()
      if (!(e instanceof PortTaken) || tries >= 5) throw e
      port = await freePort()
    }
  }
  const url = `${tls ? 'rediss' : 'redis'}://${options.password ? `:${encodeURIComponent(options.password)}@` : ''}127.0.0.1:${port}`
  return {
    port,
    url,
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
