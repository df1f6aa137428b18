/**
 * Waits while the server says it is still starting (GET /readyz answers 503 until a worker has
 * built its first model), retrying with a growing pause. Any other answer, or none, ends the wait: the
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

/** A listed model the server is still building (the list's `ready` flag; a server without it serves every model it lists). */
export function stillLoading(model: { ready?: boolean }): boolean {
  return model.ready === false
}

/**
 * While the server lists a model it is still building, asks for the list again with a growing
 * pause and hands each answer to `onList`, until every model is served. A failed ask ends the
 * polling: the list the page holds stays as it was.
 */
export async function whileModelsLoad<M extends { ready?: boolean }>(
  list: M[],
  refresh: () => Promise<M[]>,
  onList: (list: M[]) => void,
  { firstPauseMs = 1000, maxPauseMs = 5000 }: Pick<ReadyWaitOptions, 'firstPauseMs' | 'maxPauseMs'> = {},
): Promise<void> {
  for (let pause = firstPauseMs; list.some(stillLoading); pause = Math.min(pause * 2, maxPauseMs)) {
    await new Promise((resolve) => setTimeout(resolve, pause))
    try {
      list = await refresh()
    } catch {
      return
    }
    onList(list)
  }
}
