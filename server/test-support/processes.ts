/**
 * Real evaluator (server/distributed/evaluator.ts) and API replica (server/main.ts) processes
 * for the distributed-mode tests,
 * and a models directory holding only the models a test needs (each evaluator worker builds
 * every model it finds: one N = 8192 model keeps start-up to seconds).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { MODELS_DIR } from '../../src/datasets/model-files'
import { DIE_WITH_PARENT, reap } from './reaper'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

/** A temp directory of symlinks to these models under server/models; remove() deletes it. */
export function modelsDirWith(names: string[]): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'blindfold-models-'))
  for (const n of names) symlinkSync(join(MODELS_DIR, n), join(dir, n))
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

export interface ServiceProcess {
  readonly child: ChildProcess
  /** everything it wrote, for assertions and for failure messages */
  output(): string
  /** resolves with the exit signal or code */
  readonly exited: Promise<string>
  stop(): Promise<void>
}

/**
 * Spawns `node --import tsx SCRIPT` from the repository root, killed with this process however it
 * ends (reaper.ts: never an orphan), and waits until `ready(output)` holds.
 */
async function startNodeService(
  what: string,
  script: string,
  env: Record<string, string>,
  ready: (output: string) => boolean | Promise<boolean>,
  readyWithinMs: number,
): Promise<ServiceProcess> {
  const child = reap(
    spawn(process.execPath, ['--import', DIE_WITH_PARENT, '--import', 'tsx', script], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: false,
    }),
  )
  let out = ''
  child.stdout!.on('data', (d) => (out += d.toString()))
  child.stderr!.on('data', (d) => (out += d.toString()))
  const exited = new Promise<string>((r) => child.once('exit', (code, signal) => r(signal ?? String(code))))
  const end = Date.now() + readyWithinMs
  while (!(await ready(out))) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what} exited before ready: ${out.slice(-2000)}`)
    if (Date.now() > end) {
      child.kill('SIGKILL')
      throw new Error(`${what} not ready within ${readyWithinMs} ms: ${out.slice(-2000)}`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  return {
    child,
    output: () => out,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
    },
  }
}

/** An evaluator process (server/distributed/evaluator.ts), ready once it logs "evaluator ready". */
/** The job key the tests' API replicas and evaluators share (JOB_MAC_KEY; a real deployment's is random). */
export const TEST_JOB_MAC_KEY = 'test-only job key shared by replicas and evaluators'

export function startEvaluator(env: Record<string, string>, readyWithinMs = 120_000): Promise<ServiceProcess> {
  return startNodeService('evaluator', 'server/distributed/evaluator.ts', { POOL_SIZE: '1', JOB_MAC_KEY: TEST_JOB_MAC_KEY, ...env }, (out) => out.includes('"evaluator ready"'), readyWithinMs)
}

/** An API replica as its own process (server/main.ts), listening on loopback `port`; ready once GET /readyz answers 200. */
export function startApiReplica(port: number, env: Record<string, string>, readyWithinMs = 60_000): Promise<ServiceProcess> {
  const replicaEnv = { PORT: String(port), HOST: '127.0.0.1', RATE_LIMIT_MAX: '0', STATIC_DIR: join(tmpdir(), 'blindfold-no-spa'), LOG_LEVEL: 'warn', JOB_MAC_KEY: TEST_JOB_MAC_KEY, ...env }
  const ready = () => fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(5000) }).then((r) => r.ok, () => false)
  return startNodeService('API replica', 'server/main.ts', replicaEnv, ready, readyWithinMs)
}
