/**
 * Every request the worker makes is recorded here and forwarded to the page,
 * so the privacy inspector shows exactly what left the browser.
 */
import type { RequestCarries, RequestRecord, WorkerEvent } from '../../src/api/he-worker-types'
import { sha256Prefix } from './digest'
import { send, type Exchange, type SendOptions } from './http'

type Listener = (e: WorkerEvent) => void

let listener: Listener | undefined
let nextId = 1

export function setListener(l: Listener | undefined): void {
  listener = l
}

/** send(), recorded: the body's digest is taken before it leaves. */
/** `digest`: the body's sha256Prefix when the caller already has it (tens of MB of keys are not hashed twice). */
export async function loggedSend(carries: RequestCarries, o: SendOptions, model?: string, digest?: string): Promise<Exchange> {
  digest ??= o.body ? await sha256Prefix(o.body) : undefined
  const record: RequestRecord = {
    id: nextId++,
    at: Date.now(),
    method: o.method,
    path: new URL(o.url, self.location.href).pathname,
    carries,
    model,
    bytesSent: o.body?.byteLength ?? 0,
    bytesReceived: 0,
    sha256Prefix: digest ?? null,
    status: 'network error',
    ms: 0,
  }
  const started = performance.now()
  try {
    const x = await send(o)
    record.status = x.status
    record.bytesReceived = x.body?.byteLength ?? 0
    return x
  } finally {
    record.ms = performance.now() - started
    // a listener on a dead page must not fail the request
    Promise.resolve()
      .then(() => listener?.({ type: 'request', record }))
      .catch(() => undefined)
  }
}
