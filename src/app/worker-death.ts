/**
 * A worker's death as a promise. On an uncaught error or an unreadable
 * message the worker is terminated, `onDeath` hears why, and the promise
 * rejects with that message, so every call raced against it fails instead of
 * waiting forever on a dead worker. Both bridges (HE and image) use it.
 */
export interface DeathMessages {
  /** an uncaught error in the worker; `detail` is the browser's message, possibly empty */
  crashed(detail: string): string
  /** a message the page could not deserialise */
  unreadable: string
}

export function watchDeath(worker: Worker, messages: DeathMessages, onDeath: (message: string) => void): Promise<never> {
  let fail: (e: Error) => void = () => undefined
  const dead = new Promise<never>((_, reject) => (fail = reject))
  dead.catch(() => undefined)
  const die = (message: string) => {
    worker.terminate()
    fail(new Error(message))
    onDeath(message)
  }
  worker.addEventListener('error', (e) => die(messages.crashed(e.message ?? '')))
  worker.addEventListener('messageerror', () => die(messages.unreadable))
  return dead
}
