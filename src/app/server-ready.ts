/**
 * Waits while the server says it is still starting (GET /readyz answers 503 while its workers
 * load the models), retrying with a growing pause. Any other answer, or none, ends the wait: the
 * model list then reports what is wrong the way it always does.
 */
import { paths } from '../api/wire'

export interface ReadyWaitOptions {
  /** called before each pause with the server's own reason */
  onWaiting(message: string): void
  /** the first pause, doubled each time up to `maxPauseMs` */
  firstPauseMs?: number
  maxPauseMs?: number
}

export async function untilServerReady({ onWaiting, firstPauseMs = 500, maxPauseMs = 5000 }: ReadyWaitOptions): Promise<void> {
  for (let pause = firstPauseMs; ; pause = Math.min(pause * 2, maxPauseMs)) {
    let answer: Response
    try {
      answer = await fetch(paths.ready, { cache: 'no-store' })
    } catch {
      return
    }
    if (answer.status !== 503) return
    const body = (await answer.json().catch(() => undefined)) as { error?: { message?: string } } | undefined
    onWaiting(body?.error?.message ?? 'the server is starting')
    await new Promise((resolve) => setTimeout(resolve, pause))
  }
}
