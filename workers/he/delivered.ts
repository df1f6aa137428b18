/**
 * Progress callbacks whose delivery the worker can wait for.
 *
 * comlink sends the calls of a proxied callback on that callback's own
 * MessagePort and a method's result on the worker's port, and two ports are
 * not ordered with each other: the page could see "failed" and then a late
 * "decrypting", and a card stuck in a stage that is over. (CI saw exactly
 * that.) Calls on one port do arrive in order, and a proxied call's promise
 * settles only once the page has run it, so waiting for the last call means
 * every earlier one has been handled too.
 */
export interface Delivered<A extends unknown[]> {
  /** calls the page's callback (a no-op when there is none); never throws */
  call: (...args: A) => void
  /** resolves once every call made so far has run on the page (or failed to) */
  flushed(): Promise<void>
}

export function delivered<A extends unknown[]>(callback?: (...args: A) => unknown): Delivered<A> {
  let last: Promise<unknown> = Promise.resolve()
  return {
    call: (...args) => {
      if (!callback) return
      // a page that has gone away cannot be told; the work itself goes on
      try {
        last = Promise.resolve(callback(...args)).catch(() => undefined)
      } catch {
        // a callback that throws at once has nothing left to deliver
      }
    },
    flushed: () => last.then(() => undefined),
  }
}

/** Settles like `work`, but only after each callback's calls have reached the page. */
export async function afterDelivery<T>(work: Promise<T>, ...callbacks: Array<{ flushed(): Promise<void> }>): Promise<T> {
  try {
    return await work
  } finally {
    await Promise.all(callbacks.map((c) => c.flushed()))
  }
}
