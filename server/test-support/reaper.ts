/**
 * Child processes of the test harness (redis-server, evaluators, API replicas) die with the
 * test process, however it ends: a normal exit, a signal (vitest killed by `timeout`, Ctrl-C),
 * or its parent gone (vitest's fork loses its IPC channel when the main vitest process dies).
 * Each spawned child is registered here and SIGKILLed on any of those; a child that exited is
 * forgotten. Node children are also started with `--import die-with-parent.mjs`, which covers
 * the one case no handler here can: this process SIGKILLed itself.
 */
import type { ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const children = new Set<ChildProcess>()
let installed = false

/** the `--import` preload that ends a Node child once its parent is gone */
export const DIE_WITH_PARENT = fileURLToPath(new URL('./die-with-parent.mjs', import.meta.url))

function killAll(): void {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      try {
        c.kill('SIGKILL')
      } catch {
        // already gone
      }
    }
  }
  children.clear()
}

function install(): void {
  if (installed) return
  installed = true
  process.on('exit', killAll)
  // the parent (vitest's main process) died: this fork is next
  process.on('disconnect', killAll)
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killAll()
      // then as the signal would have done without a handler
      process.kill(process.pid, signal)
    })
  }
}

/** Registers a spawned child: SIGKILLed if this process ends before it does. */
export function reap<T extends ChildProcess>(child: T): T {
  install()
  children.add(child)
  child.once('exit', () => children.delete(child))
  return child
}
