/**
 * The one-word flag that stops a running classification. A worker evaluates an image in
 * synchronous WASM and reads no message until it is done, so the pool cannot *tell* it to
 * stop; instead both threads share this Int32Array (its SharedArrayBuffer travels in the job
 * message, shared, not copied) and the evaluator reads it between stages (Atomics.load).
 */

export type CancelFlag = Int32Array

export function newCancelFlag(): CancelFlag {
  return new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT))
}

/** The flag over a job message's buffer (worker side). */
export function cancelFlagOf(buffer: SharedArrayBuffer): CancelFlag {
  return new Int32Array(buffer)
}

/** Pool side: every thread reading this flag stops at its next check; one sleeping on it wakes. */
export function raise(flag: CancelFlag): void {
  Atomics.store(flag, 0, 1)
  Atomics.notify(flag, 0)
}

export function isRaised(flag: CancelFlag): boolean {
  return Atomics.load(flag, 0) !== 0
}

/** Blocks this (worker) thread for up to `ms`, or until the flag is raised (the pool's stage-delay test hook). */
export function sleepUnlessRaised(flag: CancelFlag, ms: number): void {
  if (!isRaised(flag)) Atomics.wait(flag, 0, 0, ms)
}
