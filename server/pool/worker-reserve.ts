/**
 * One worker kept free for the other clients: a client may take the last worker left only when
 * no other client has been served for a while. Turns (dispatch-rule.ts) let a newcomer go ahead
 * of a backlog, but a running job is not pre-empted, so without this one client sending long
 * evaluations (CIFAR-10 images) keeps every worker busy and another client's short job waits for
 * one of them to finish. Keeping the last worker for a client seen recently bounds that wait to
 * nothing while the other clients come back; a client alone on the server still gets every
 * worker. Why: docs/decisions/per-client-queue-share.md.
 */
import { performance } from 'node:perf_hooks'

/**
 * How long a client served once keeps a worker free for itself against another client's extra
 * jobs: about the pause between two images a person drops, so an interactive client finds a worker.
 */
export const RECENT_CLIENT_MS = 30_000

interface Served {
  client: string
  at: number
}

export class WorkerReserve {
  /** the last two distinct clients served, newest first: enough to find the newest client other than any one */
  private latest: Served[] = []
  private wake: { at: number; timer: ReturnType<typeof setTimeout> } | undefined

  /** `onExpiry`: called when a worker held back may be taken (the pool dispatches again) */
  constructor(
    private readonly onExpiry: () => void,
    private readonly windowMs = RECENT_CLIENT_MS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** A job of `client` was handed to a worker. */
  served(client: string): void {
    const at = this.now()
    this.latest = [{ client, at }, ...this.latest.filter((s) => s.client !== client)].slice(0, 2)
  }

  /**
   * Milliseconds before `client` may take a worker that would make it hold `wouldHold` of the
   * `workers` serving its model (0: it may now): a client may hold all of several workers only
   * when every other client was last served longer than the window ago.
   */
  waitFor(client: string, wouldHold: number, workers: number): number {
    if (workers < 2 || wouldHold < workers) return 0
    const other = this.latest.find((s) => s.client !== client)
    if (other === undefined) return 0
    return Math.max(0, other.at + this.windowMs - this.now())
  }

  /** Whether the worker `client` would take now is held back for others; with `wake`, onExpiry follows when it no longer is. */
  holdsBack(client: string, wouldHold: number, workers: number, wake = true): boolean {
    const ms = this.waitFor(client, wouldHold, workers)
    if (ms <= 0) return false
    if (!wake) return true
    const at = this.now() + ms
    if (this.wake === undefined || at < this.wake.at) {
      if (this.wake) clearTimeout(this.wake.timer)
      const timer = setTimeout(() => {
        this.wake = undefined
        this.onExpiry()
      }, ms + 1)
      timer.unref?.()
      this.wake = { at, timer }
    }
    return true
  }

  close(): void {
    if (this.wake) clearTimeout(this.wake.timer)
    this.wake = undefined
  }
}
